"""UpdateItem semantics found by a randomized differential run against dynalite (whose
messages come from tests run against DynamoDB): invalid DELETE paths, operand order,
key paths read by SET operands, unused placeholders, and index key types."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

K = {"pk": {"S": "a"}, "sk": {"S": "1"}}
ITEM = {**K, "s": {"S": "str"}, "n": {"N": "5"}, "ss": {"SS": ["a", "b"]}, "m": {"M": {"ss": {"SS": ["k"]}}}}
BAD_PATH = ("ValidationException", "The document path provided in the update expression is invalid for update")


def _err(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    return exc.value.response["Error"]["Code"], exc.value.response["Error"]["Message"]


def _update_error(ddb: Any, table: str, **kwargs: Any) -> tuple[str, str]:
    with pytest.raises(ClientError) as exc:
        ddb.update_item(TableName=table, **kwargs)
    return _err(exc)


def _get(ddb: Any, table: str, key: dict = K) -> dict | None:
    return ddb.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")


def test_delete_below_a_scalar_or_missing_parent_is_refused(ddb: Any, table: str) -> None:
    ddb.put_item(TableName=table, Item=ITEM)
    values = {":v": {"SS": ["a"]}}
    for path in ("s.x", "n[0]", "ss.x", "nope.x", "m.nope.x"):
        got = _update_error(ddb, table, Key=K, UpdateExpression=f"DELETE {path} :v", ExpressionAttributeValues=values)
        assert got == BAD_PATH, path
    assert _get(ddb, table) == ITEM
    # A missing set under a valid parent is still a no-op, and a set emptied by DELETE goes away.
    ddb.update_item(TableName=table, Key=K, UpdateExpression="DELETE nope :v, m.nope :v, m.ss :k", ExpressionAttributeValues={**values, ":k": {"SS": ["k"]}})
    assert _get(ddb, table) == {**ITEM, "m": {"M": {}}}


def test_invalid_delete_path_does_not_create_the_item(ddb: Any, table: str) -> None:
    key = {"pk": {"S": "new"}, "sk": {"S": "1"}}
    got = _update_error(ddb, table, Key=key, UpdateExpression="DELETE m.x :v", ExpressionAttributeValues={":v": {"NS": ["1"]}})
    assert got == BAD_PATH
    assert _get(ddb, table, key) is None


def test_operands_are_type_checked_left_to_right(ddb: Any, table: str) -> None:
    ddb.put_item(TableName=table, Item=ITEM)
    bad_type = ("ValidationException", "An operand in the update expression has an incorrect data type")
    missing = ("ValidationException", "The provided expression refers to an attribute that does not exist in the item")
    assert _update_error(ddb, table, Key=K, UpdateExpression="SET x = list_append(ss, nope)") == bad_type
    assert _update_error(ddb, table, Key=K, UpdateExpression="SET x = list_append(nope, ss)") == missing
    assert _update_error(ddb, table, Key=K, UpdateExpression="SET x = s + nope") == bad_type
    assert _update_error(ddb, table, Key=K, UpdateExpression="SET x = nope - s") == missing


def test_set_operand_reading_into_a_key_attribute_is_refused(ddb: Any, table: str) -> None:
    ddb.put_item(TableName=table, Item=ITEM)
    scalars = "Key attributes must be scalars; list random access '[]' and map lookup '.' are not allowed: Key: "
    assert _update_error(ddb, table, Key=K, UpdateExpression="SET x = pk[0]") == ("ValidationException", scalars + "pk")
    got = _update_error(ddb, table, Key=K, UpdateExpression="SET x = if_not_exists(sk.y, :v)", ExpressionAttributeValues={":v": {"S": "v"}})
    assert got == ("ValidationException", scalars + "sk")
    assert _get(ddb, table) == ITEM


def test_unused_placeholders_are_reported_before_key_updates(ddb: Any, table: str) -> None:
    got = _update_error(
        ddb, table, Key=K, UpdateExpression="SET pk = :v", ExpressionAttributeValues={":v": {"S": "b"}}, ExpressionAttributeNames={"#unused": "x"}
    )
    assert got == ("ValidationException", "Value provided in ExpressionAttributeNames unused in expressions: keys: {#unused}")


@pytest.fixture
def gsi_table(make_table: Callable[..., str]) -> str:
    return make_table(
        range=("sk", "S"),
        extra_attrs={"gk": "S", "gn": "N"},
        GlobalSecondaryIndexes=[
            {
                "IndexName": "gsi1",
                "KeySchema": [{"AttributeName": "gk", "KeyType": "HASH"}, {"AttributeName": "gn", "KeyType": "RANGE"}],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    )


def _mismatch(name: str, expected: str, actual: str) -> tuple[str, str]:
    return ("ValidationException", f"One or more parameter values were invalid: Type mismatch for Index Key {name} Expected: {expected} Actual: {actual} IndexName: gsi1")


@pytest.mark.parametrize(
    ("expression", "values", "expected"),
    [
        ("SET gk = :v", {":v": {"N": "1"}}, _mismatch("gk", "S", "N")),
        ("SET gn = list_append(:v, l)", {":v": {"L": []}}, _mismatch("gn", "N", "L")),
        ("SET gk = gn + :v", {":v": {"N": "1"}}, _mismatch("gk", "S", "N")),
        ("SET gk = if_not_exists(gk, :v)", {":v": {"BOOL": True}}, _mismatch("gk", "S", "BOOL")),
        ("ADD gk :v", {":v": {"N": "1"}}, _mismatch("gk", "S", "N")),
        ("DELETE gn :v", {":v": {"NS": ["1"]}}, _mismatch("gn", "N", "NS")),
    ],
)
def test_index_key_types_known_from_the_request_are_checked_first(
    ddb: Any, gsi_table: str, expression: str, values: dict, expected: tuple[str, str]
) -> None:
    ddb.put_item(TableName=gsi_table, Item={**K, "gk": {"S": "g"}, "gn": {"N": "1"}})
    # The check needs no item: it comes before a condition that fails.
    got = _update_error(
        ddb, gsi_table, Key=K, UpdateExpression=expression, ExpressionAttributeValues=values, ConditionExpression="attribute_not_exists(pk)"
    )
    assert got == expected
    assert _get(ddb, gsi_table) == {**K, "gk": {"S": "g"}, "gn": {"N": "1"}}


def test_index_key_set_from_the_item_is_checked_after_reading_it(ddb: Any, gsi_table: str) -> None:
    ddb.put_item(TableName=gsi_table, Item={**K, "gk": {"S": "g"}, "n": {"N": "2"}, "s": {"S": "t"}})
    got = _update_error(ddb, gsi_table, Key=K, UpdateExpression="SET gk = n")
    assert got == ("ValidationException", "The update expression attempted to update the secondary index key to unsupported type")
    # Values of the right type still go through, statically or not.
    ddb.update_item(TableName=gsi_table, Key=K, UpdateExpression="SET gk = s, gn = if_not_exists(gn, n)")
    ddb.update_item(TableName=gsi_table, Key=K, UpdateExpression="ADD gn :one", ExpressionAttributeValues={":one": {"N": "1"}})
    assert _get(ddb, gsi_table) == {**K, "gk": {"S": "t"}, "gn": {"N": "3"}, "n": {"N": "2"}, "s": {"S": "t"}}


def test_first_failing_action_in_textual_order_is_reported(ddb: Any, table: str) -> None:
    """dynalite applies the actions as written and reports the first that fails, whatever
    the clause (here a REMOVE below a number before a DELETE of a set from a number)."""
    ddb.put_item(TableName=table, Item=ITEM)
    got = _update_error(ddb, table, Key=K, UpdateExpression="REMOVE n.x DELETE s :v", ExpressionAttributeValues={":v": {"SS": ["a"]}})
    assert got == BAD_PATH
    got = _update_error(ddb, table, Key=K, UpdateExpression="DELETE s :v REMOVE n.x", ExpressionAttributeValues={":v": {"SS": ["a"]}})
    assert got == ("ValidationException", "An operand in the update expression has an incorrect data type")
    got = _update_error(ddb, table, Key=K, UpdateExpression="ADD ss :n SET m.a.b = :n", ExpressionAttributeValues={":n": {"N": "1"}})
    assert got == ("ValidationException", "An operand in the update expression has an incorrect data type")
    got = _update_error(ddb, table, Key=K, UpdateExpression="SET m.a.b = :n ADD ss :n", ExpressionAttributeValues={":n": {"N": "1"}})
    assert got == BAD_PATH
    assert _get(ddb, table) == ITEM
