"""Filter and condition semantics over the wire, for the cases a randomized differential run
against dynalite settled (see tests/dynamodb/unit/test_expr_semantics.py for the engine-level set)."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

ANY_TYPE = "{NS,SS,L,BS,N,M,B,BOOL,NULL,S}"


@pytest.fixture
def loaded(ddb: Any, make_table: Any) -> str:
    name = make_table()
    items = [
        {"pk": {"S": "falsy"}, "v": {"BOOL": False}, "s": {"S": ""}, "b": {"B": b""}},
        {"pk": {"S": "nested"}, "v": {"L": [{"N": "1"}, {"M": {}}]}, "m": {"M": {"x": {"N": "1"}}}},
        {"pk": {"S": "bytes"}, "v": {"B": b"\x80"}},
        {"pk": {"S": "sets"}, "v": {"BS": [b"\x01"]}, "w": {"BS": [b"\x02"]}},
    ]
    for item in items:
        ddb.put_item(TableName=name, Item=item)
    return name


def _scan(ddb: Any, table: str, expr: str, values: dict[str, Any] | None = None) -> list[str]:
    kwargs: dict[str, Any] = {"TableName": table, "FilterExpression": expr}
    if values:
        kwargs["ExpressionAttributeValues"] = values
    return sorted(i["pk"]["S"] for i in ddb.scan(**kwargs)["Items"])


def _scan_error(ddb: Any, table: str, expr: str, values: dict[str, Any] | None = None) -> str:
    kwargs: dict[str, Any] = {"TableName": table, "FilterExpression": expr}
    if values:
        kwargs["ExpressionAttributeValues"] = values
    with pytest.raises(ClientError) as info:
        ddb.scan(**kwargs)
    assert info.value.response["Error"]["Code"] == "ValidationException"
    return str(info.value.response["Error"]["Message"])


def test_attribute_type_name_must_be_a_literal(ddb: Any, loaded: str) -> None:
    assert _scan_error(ddb, loaded, "attribute_type(v, s)") == (
        f"Invalid FilterExpression: Incorrect operand type for operator or function; operator or function: attribute_type, operand type: {ANY_TYPE}"
    )
    assert _scan_error(ddb, loaded, "attribute_type(v, size(s))").endswith("operator or function: attribute_type, operand type: N")


def test_begins_with_refuses_size_in_a_condition(ddb: Any, loaded: str) -> None:
    with pytest.raises(ClientError) as info:
        ddb.put_item(
            TableName=loaded,
            Item={"pk": {"S": "falsy"}},
            ConditionExpression="begins_with(size(s), :p)",
            ExpressionAttributeValues={":p": {"S": "0"}},
        )
    assert info.value.response["Error"]["Code"] == "ValidationException"
    assert info.value.response["Error"]["Message"] == (
        "Invalid ConditionExpression: Incorrect operand type for operator or function; operator or function: begins_with, operand type: N"
    )
    # Nothing was written.
    assert ddb.get_item(TableName=loaded, Key={"pk": {"S": "falsy"}})["Item"]["v"] == {"BOOL": False}


def test_redundant_parentheses_are_reported_before_a_reserved_word(ddb: Any, loaded: str) -> None:
    assert _scan_error(ddb, loaded, "((v = status))") == "Invalid FilterExpression: The expression has redundant parentheses;"


def test_falsy_looking_values_match(ddb: Any, loaded: str) -> None:
    assert _scan(ddb, loaded, "attribute_type(v, :t)", {":t": {"S": "BOOL"}}) == ["falsy"]
    assert _scan(ddb, loaded, "v IN (:f)", {":f": {"BOOL": False}}) == ["falsy"]
    assert _scan(ddb, loaded, "size(s) = :z AND size(b) = :z", {":z": {"N": "0"}}) == ["falsy"]


def test_lists_and_maps_compare_deeply(ddb: Any, loaded: str) -> None:
    assert _scan(ddb, loaded, "v[1] IN (:a, :m)", {":a": {"N": "1"}, ":m": {"M": {}}}) == ["nested"]
    assert _scan(ddb, loaded, "m = :m", {":m": {"M": {"x": {"N": "1.0"}}}}) == ["nested"]


def test_missing_operands(ddb: Any, loaded: str) -> None:
    # Two missing operands are never equal or ordered, and <> between them holds.
    assert _scan(ddb, loaded, "absent = gone.x") == []
    assert _scan(ddb, loaded, "absent <= size(gone)") == []
    assert _scan(ddb, loaded, "absent <> gone.x") == ["bytes", "falsy", "nested", "sets"]


def test_binary_prefix_is_bytewise_and_sets_do_not_order(ddb: Any, loaded: str) -> None:
    assert _scan(ddb, loaded, "begins_with(v, :p)", {":p": {"B": b"\xff"}}) == []
    assert _scan(ddb, loaded, "begins_with(v, :p)", {":p": {"B": b"\x80"}}) == ["bytes"]
    assert _scan(ddb, loaded, "v < w OR v >= w") == []
