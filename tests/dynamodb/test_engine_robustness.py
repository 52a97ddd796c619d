"""Unit tests of the engine in-process: malformed input is an AwsError (a 4xx),
never another exception, and never reaches storage half-applied."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emulator.dynamodb.engine import DynamoDBEngine
from emulator.dynamodb.storage import open_storage
from emulator.errors import AwsError


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DynamoDBEngine]:
    path: Path = tmp_path_factory.mktemp("engine")
    e = DynamoDBEngine(open_storage("sqlite", path, "NORMAL"))
    e.open()
    e.create_table(
        {
            "TableName": "robust",
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "N"}, {"AttributeName": "g", "AttributeType": "B"}],
            "BillingMode": "PAY_PER_REQUEST",
            "GlobalSecondaryIndexes": [{"IndexName": "gsi", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}], "Projection": {"ProjectionType": "KEYS_ONLY"}}],
        }
    )
    yield e
    e.close()


# The gateway validates every shape but AttributeValue (tests/gateway): the engine
# gets well-typed parameters whose attribute values and expressions may be anything.
scalar = st.none() | st.booleans() | st.integers() | st.text(max_size=5) | st.binary(max_size=3)
junk = st.recursive(
    scalar,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(["S", "N", "B", "M", "L", "SS", "NS", "BS", "BOOL", "NULL"]), inner, max_size=2),
    max_leaves=6,
)
av = st.dictionaries(st.sampled_from(["S", "N", "B", "M", "L", "SS", "NS", "BS", "BOOL", "NULL"]), junk, max_size=2)
item = st.dictionaries(st.sampled_from(["pk", "sk", "g", "x", ""]), av, max_size=4)
text = st.sampled_from(
    ["pk = :v", "pk = :v AND sk > :w", "SET x = :v", "ADD x :v", "REMOVE pk", "attribute_exists(pk)", "x.y[1] = :v", "size(x) > :w", "sk BETWEEN :v AND :w", "begins_with(sk, :v)", "((", "", "SET #n = :v"]
)
request = st.fixed_dictionaries(
    {},
    optional={
        "Item": item,
        "Key": item,
        "ExclusiveStartKey": item,
        "KeyConditionExpression": text,
        "UpdateExpression": text,
        "ConditionExpression": text,
        "FilterExpression": text,
        "ExpressionAttributeValues": st.dictionaries(st.sampled_from([":v", ":w"]), av, min_size=1),
        "ExpressionAttributeNames": st.dictionaries(st.sampled_from(["#n"]), st.sampled_from(["x", "pk"]), min_size=1),
        "Limit": st.integers(min_value=1, max_value=5),
        "IndexName": st.sampled_from(["gsi", "nope"]),
        "Select": st.sampled_from(["ALL_ATTRIBUTES", "COUNT", "SPECIFIC_ATTRIBUTES", "ALL_PROJECTED_ATTRIBUTES"]),
        "ReturnValues": st.sampled_from(["NONE", "ALL_OLD", "UPDATED_NEW", "ALL_NEW"]),
        "RequestItems": st.fixed_dictionaries(
            {"robust": st.lists(item.map(lambda i: {"PutRequest": {"Item": i}}) | item.map(lambda i: {"DeleteRequest": {"Key": i}}), min_size=1, max_size=3)}
        ),
        "TransactItems": st.lists(item.map(lambda i: {"Put": {"TableName": "robust", "Item": i}}), min_size=1, max_size=3),
    },
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(op=st.sampled_from(["put_item", "get_item", "update_item", "delete_item", "query", "scan", "batch_write_item", "transact_write_items"]), params=request)
def test_malformed_input_is_an_aws_error(engine: DynamoDBEngine, op: str, params: dict[str, Any]) -> None:
    params = {"TableName": "robust", **params}
    before = engine.storage.count(engine.table("robust").table_id, 0)
    try:
        getattr(engine, op)(params)
    except AwsError as err:
        assert 400 <= err.status < 500
        assert engine.storage.count(engine.table("robust").table_id, 0) == before


def test_gsi_rows_follow_items(engine: DynamoDBEngine) -> None:
    table = engine.table("robust")
    gsi = table.gsis["gsi"]
    engine.put_item({"TableName": "robust", "Item": {"pk": {"S": "a"}, "sk": {"N": "1"}, "g": {"B": b"\x01"}}})
    assert engine.storage.count(table.table_id, gsi.index_id)[0] >= 1
    before = engine.storage.count(table.table_id, gsi.index_id)[0]
    engine.delete_item({"TableName": "robust", "Key": {"pk": {"S": "a"}, "sk": {"N": "1"}}})
    assert engine.storage.count(table.table_id, gsi.index_id)[0] == before - 1


def test_write_hooks_run_inside_the_transaction(engine: DynamoDBEngine) -> None:
    seen: list[tuple[Any, Any]] = []

    def hook(table: Any, old: Any, new: Any) -> None:
        seen.append((old, new))
        if new is not None and new.get("boom"):
            raise AwsError("ValidationException", "hook refused", 400)

    engine.write_hooks.append(hook)
    try:
        engine.put_item({"TableName": "robust", "Item": {"pk": {"S": "h"}, "sk": {"N": "1"}}})
        assert seen[-1] == (None, {"pk": {"S": "h"}, "sk": {"N": "1"}})
        with pytest.raises(AwsError):
            engine.put_item({"TableName": "robust", "Item": {"pk": {"S": "h"}, "sk": {"N": "1"}, "boom": {"BOOL": True}}})
        # The hook's failure rolled the item change back.
        assert engine.get_item({"TableName": "robust", "Key": {"pk": {"S": "h"}, "sk": {"N": "1"}}})["Item"] == {"pk": {"S": "h"}, "sk": {"N": "1"}}
    finally:
        engine.write_hooks.remove(hook)


def test_null_members_are_unset(engine: DynamoDBEngine) -> None:
    """In-process callers (the console's API explorer, job results) hand the engine parameters
    that the wire's decoder never saw: a null member beside a value's type is an unset one, as
    on the wire, not the value's type (it was taken for it: a TypeError in the size count)."""
    values = {":v": {"SS": None, "N": "1"}, ":s": {"M": None, "S": "s"}}  # the null first: type_of takes the first member
    engine.put_item({"TableName": "robust", "Item": {"pk": {"NS": None, "S": "nulls"}, "sk": {"N": "1"}, "x": {"M": None, "L": [{"BOOL": None, "S": "a"}]}},
                     "ConditionExpression": "attribute_not_exists(pk) AND :v = :v AND :s = :s", "ExpressionAttributeValues": values})
    got = engine.get_item({"TableName": "robust", "Key": {"pk": {"S": "nulls"}, "sk": {"N": "1"}}})["Item"]
    assert got == {"pk": {"S": "nulls"}, "sk": {"N": "1"}, "x": {"L": [{"S": "a"}]}}
