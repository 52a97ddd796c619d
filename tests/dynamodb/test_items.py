"""PutItem, GetItem, UpdateItem, DeleteItem: values, ReturnValues, conditions, legacy parameters."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from botocore.exceptions import ClientError


def _err(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    return exc.value.response["Error"]["Code"], exc.value.response["Error"]["Message"]


K = {"pk": {"S": "a"}, "sk": {"S": "1"}}


def test_all_types_round_trip(ddb: Any, table: str) -> None:
    item = {
        **K,
        "s": {"S": "héllo"},
        "n": {"N": "-0012.3400"},
        "b": {"B": b"\xff\x00"},
        "bool": {"BOOL": False},
        "null": {"NULL": True},
        "ss": {"SS": ["x", "y"]},
        "ns": {"NS": ["1", "2.50"]},
        "bs": {"BS": [b"a", b"b"]},
        "l": {"L": [{"S": "x"}, {"N": "1"}]},
        "m": {"M": {"inner": {"M": {"deep": {"S": "v"}}}}},
    }
    ddb.put_item(TableName=table, Item=item)
    got = ddb.get_item(TableName=table, Key=K, ConsistentRead=True)["Item"]
    assert got["n"] == {"N": "-12.34"}
    assert sorted(got["ns"]["NS"]) == ["1", "2.5"]
    assert got["b"] == {"B": b"\xff\x00"}
    assert got["m"] == item["m"]
    assert got["l"] == item["l"]
    assert got["null"] == {"NULL": True}


def test_get_missing_and_projection(ddb: Any, table: str) -> None:
    assert "Item" not in ddb.get_item(TableName=table, Key=K)
    ddb.put_item(TableName=table, Item={**K, "a": {"S": "1"}, "m": {"M": {"x": {"N": "1"}, "y": {"N": "2"}}}})
    got = ddb.get_item(TableName=table, Key=K, ProjectionExpression="#a, m.y", ExpressionAttributeNames={"#a": "a"})["Item"]
    assert got == {"a": {"S": "1"}, "m": {"M": {"y": {"N": "2"}}}}
    got = ddb.get_item(TableName=table, Key=K, AttributesToGet=["a"])["Item"]
    assert got == {"a": {"S": "1"}}


def test_put_return_values_and_conditions(ddb: Any, table: str) -> None:
    assert "Attributes" not in ddb.put_item(TableName=table, Item={**K, "v": {"N": "1"}}, ReturnValues="ALL_OLD")
    out = ddb.put_item(TableName=table, Item={**K, "v": {"N": "2"}}, ReturnValues="ALL_OLD")
    assert out["Attributes"]["v"] == {"N": "1"}
    with pytest.raises(ClientError) as exc:
        ddb.put_item(TableName=table, Item=K, ConditionExpression="attribute_not_exists(pk)")
    assert _err(exc) == ("ConditionalCheckFailedException", "The conditional request failed")
    assert "Item" not in exc.value.response
    with pytest.raises(ClientError) as exc:
        ddb.put_item(
            TableName=table,
            Item=K,
            ConditionExpression="v = :one",
            ExpressionAttributeValues={":one": {"N": "1"}},
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    assert exc.value.response["Item"]["v"] == {"N": "2"}
    # The failed write changed nothing.
    assert ddb.get_item(TableName=table, Key=K)["Item"]["v"] == {"N": "2"}
    with pytest.raises(ClientError) as exc:
        ddb.put_item(TableName=table, Item=K, ReturnValues="ALL_NEW")
    assert _err(exc) == ("ValidationException", "Return values set to invalid value")


def test_legacy_expected(ddb: Any, table: str) -> None:
    ddb.put_item(TableName=table, Item={**K, "v": {"N": "1"}})
    ddb.put_item(TableName=table, Item={**K, "v": {"N": "2"}}, Expected={"v": {"Value": {"N": "1"}}})
    with pytest.raises(ClientError) as exc:
        ddb.put_item(TableName=table, Item=K, Expected={"v": {"Value": {"N": "1"}}})
    assert _err(exc)[0] == "ConditionalCheckFailedException"
    ddb.put_item(TableName=table, Item=K, Expected={"zzz": {"Exists": False}})
    with pytest.raises(ClientError) as exc:
        ddb.put_item(TableName=table, Item=K, Expected={"v": {"Exists": False}}, ConditionExpression="attribute_exists(pk)")
    assert _err(exc)[0] == "ValidationException"
    assert "Can not use both expression and non-expression parameters" in _err(exc)[1]


def test_update_expression_actions_and_return_values(ddb: Any, table: str) -> None:
    out = ddb.update_item(
        TableName=table,
        Key=K,
        UpdateExpression="SET c = if_not_exists(c, :zero) + :one, l = list_append(if_not_exists(l, :empty), :l) ADD tags :t",
        ExpressionAttributeValues={":zero": {"N": "0"}, ":one": {"N": "1"}, ":empty": {"L": []}, ":l": {"L": [{"S": "x"}]}, ":t": {"SS": ["a"]}},
        ReturnValues="ALL_NEW",
    )
    assert out["Attributes"]["c"] == {"N": "1"}
    assert out["Attributes"]["l"] == {"L": [{"S": "x"}]}
    out = ddb.update_item(
        TableName=table, Key=K, UpdateExpression="SET c = c + :one", ExpressionAttributeValues={":one": {"N": "1"}}, ReturnValues="UPDATED_OLD"
    )
    assert out["Attributes"] == {"c": {"N": "1"}}
    out = ddb.update_item(
        TableName=table, Key=K, UpdateExpression="REMOVE l DELETE tags :t", ExpressionAttributeValues={":t": {"SS": ["a"]}}, ReturnValues="UPDATED_NEW"
    )
    assert "Attributes" not in out
    item = ddb.get_item(TableName=table, Key=K)["Item"]
    assert item == {**K, "c": {"N": "2"}}
    out = ddb.update_item(TableName=table, Key=K, UpdateExpression="SET d = :d", ExpressionAttributeValues={":d": {"S": "x"}}, ReturnValues="ALL_OLD")
    assert out["Attributes"] == item


def test_update_creates_item_and_refuses_key_changes(ddb: Any, table: str) -> None:
    ddb.update_item(TableName=table, Key=K)
    assert ddb.get_item(TableName=table, Key=K)["Item"] == K
    with pytest.raises(ClientError) as exc:
        ddb.update_item(TableName=table, Key=K, UpdateExpression="SET pk = :v", ExpressionAttributeValues={":v": {"S": "b"}})
    assert _err(exc) == ("ValidationException", "One or more parameter values were invalid: Cannot update attribute pk. This attribute is part of the key")


def test_update_condition_and_legacy_attribute_updates(ddb: Any, table: str) -> None:
    ddb.put_item(TableName=table, Item={**K, "v": {"N": "5"}})
    with pytest.raises(ClientError) as exc:
        ddb.update_item(
            TableName=table,
            Key=K,
            UpdateExpression="SET v = :n",
            ConditionExpression="v > :min",
            ExpressionAttributeValues={":n": {"N": "1"}, ":min": {"N": "10"}},
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    assert _err(exc)[0] == "ConditionalCheckFailedException"
    assert exc.value.response["Item"]["v"] == {"N": "5"}
    ddb.update_item(
        TableName=table,
        Key=K,
        AttributeUpdates={"v": {"Action": "ADD", "Value": {"N": "3"}}, "w": {"Action": "PUT", "Value": {"S": "x"}}},
        Expected={"v": {"ComparisonOperator": "GE", "AttributeValueList": [{"N": "5"}]}},
    )
    item = ddb.get_item(TableName=table, Key=K)["Item"]
    assert item["v"] == {"N": "8"} and item["w"] == {"S": "x"}
    ddb.update_item(TableName=table, Key=K, AttributeUpdates={"w": {"Action": "DELETE"}})
    assert "w" not in ddb.get_item(TableName=table, Key=K)["Item"]


def test_delete_item(ddb: Any, table: str) -> None:
    ddb.put_item(TableName=table, Item={**K, "v": {"N": "1"}})
    with pytest.raises(ClientError) as exc:
        ddb.delete_item(TableName=table, Key=K, ConditionExpression="v = :two", ExpressionAttributeValues={":two": {"N": "2"}})
    assert _err(exc)[0] == "ConditionalCheckFailedException"
    out = ddb.delete_item(TableName=table, Key=K, ReturnValues="ALL_OLD")
    assert out["Attributes"]["v"] == {"N": "1"}
    assert "Item" not in ddb.get_item(TableName=table, Key=K)
    assert "Attributes" not in ddb.delete_item(TableName=table, Key=K, ReturnValues="ALL_OLD")


def test_unused_and_undefined_placeholders(ddb: Any, table: str) -> None:
    with pytest.raises(ClientError) as exc:
        ddb.put_item(TableName=table, Item=K, ConditionExpression="attribute_not_exists(pk)", ExpressionAttributeValues={":x": {"S": "1"}})
    assert _err(exc) == ("ValidationException", "Value provided in ExpressionAttributeValues unused in expressions: keys: {:x}")
    with pytest.raises(ClientError) as exc:
        ddb.put_item(TableName=table, Item=K, ConditionExpression="a = :nope")
    assert _err(exc)[0] == "ValidationException"
    assert "attribute value: :nope" in _err(exc)[1]
    assert "Item" not in ddb.get_item(TableName=table, Key=K)


def test_resource_api(aws_resource: Any, table: str) -> None:
    from decimal import Decimal

    t = aws_resource("dynamodb").Table(table)
    t.put_item(Item={"pk": "r", "sk": "1", "price": Decimal("9.99"), "tags": {"a", "b"}, "doc": {"k": [1, "two"]}})
    got = t.get_item(Key={"pk": "r", "sk": "1"})["Item"]
    assert got["price"] == Decimal("9.99")
    assert got["tags"] == {"a", "b"}
    assert got["doc"] == {"k": [Decimal(1), "two"]}


def test_legacy_and_expression_parameters_never_mix(ddb: Any, table: str) -> None:
    # Any legacy parameter beside any expression is refused, naming them all (not only
    # Expected beside ConditionExpression or AttributeUpdates beside UpdateExpression).
    ddb.put_item(TableName=table, Item={**K, "v": {"N": "1"}})
    with pytest.raises(ClientError) as exc:
        ddb.update_item(
            TableName=table, Key=K, Expected={"v": {"Value": {"N": "1"}}}, UpdateExpression="SET w = :w", ExpressionAttributeValues={":w": {"N": "2"}}
        )
    assert _err(exc) == (
        "ValidationException",
        "Can not use both expression and non-expression parameters in the same request: Non-expression parameters: {Expected} Expression parameters: {UpdateExpression}",
    )
    with pytest.raises(ClientError) as exc:
        ddb.update_item(
            TableName=table,
            Key=K,
            AttributeUpdates={"w": {"Action": "PUT", "Value": {"N": "2"}}},
            ConditionExpression="v = :one",
            ExpressionAttributeValues={":one": {"N": "1"}},
        )
    assert _err(exc)[1].endswith("Non-expression parameters: {AttributeUpdates} Expression parameters: {ConditionExpression}")
    with pytest.raises(ClientError) as exc:
        ddb.update_item(
            TableName=table,
            Key=K,
            AttributeUpdates={"w": {"Action": "PUT", "Value": {"N": "2"}}},
            Expected={"v": {"Value": {"N": "1"}}},
            UpdateExpression="SET w = :one",
            ConditionExpression="v = :one",
            ExpressionAttributeValues={":one": {"N": "1"}},
        )
    assert _err(exc)[1].endswith("Non-expression parameters: {AttributeUpdates, Expected} Expression parameters: {UpdateExpression, ConditionExpression}")
    # Nothing was written.
    assert ddb.get_item(TableName=table, Key=K)["Item"] == {**K, "v": {"N": "1"}}


def test_placeholders_without_expressions(ddb: Any, table: str) -> None:
    # Values name the operation's expressions that would use them; names don't.
    with pytest.raises(ClientError) as exc:
        ddb.put_item(TableName=table, Item=K, ExpressionAttributeValues={":v": {"N": "1"}})
    assert _err(exc) == ("ValidationException", "ExpressionAttributeValues can only be specified when using expressions: ConditionExpression is null")
    with pytest.raises(ClientError) as exc:
        ddb.delete_item(TableName=table, Key=K, Expected={"v": {"Exists": False}}, ExpressionAttributeValues={":v": {"N": "1"}})
    assert _err(exc) == ("ValidationException", "ExpressionAttributeValues can only be specified when using expressions: ConditionExpression is null")
    with pytest.raises(ClientError) as exc:
        ddb.update_item(TableName=table, Key=K, AttributeUpdates={"w": {"Action": "PUT", "Value": {"N": "2"}}}, ExpressionAttributeValues={":v": {"N": "1"}})
    assert _err(exc) == (
        "ValidationException",
        "ExpressionAttributeValues can only be specified when using expressions: UpdateExpression and ConditionExpression are null",
    )
    with pytest.raises(ClientError) as exc:
        ddb.update_item(TableName=table, Key=K, ExpressionAttributeNames={"#v": "v"}, ExpressionAttributeValues={":v": {"N": "1"}})
    assert _err(exc) == ("ValidationException", "ExpressionAttributeNames can only be specified when using expressions")
    assert "Item" not in ddb.get_item(TableName=table, Key=K)


def test_condition_operands_must_be_distinct(ddb: Any, table: str) -> None:
    ddb.put_item(TableName=table, Item={**K, "n": {"N": "1"}, "s": {"S": "x"}, "l": {"L": [{"N": "1"}]}, "m": {"M": {"a": {"N": "1"}}}})

    def refused(cond: str, names: dict[str, str] | None = None) -> str:
        extra: dict[str, Any] = {"ExpressionAttributeNames": names} if names else {}
        with pytest.raises(ClientError) as exc:
            ddb.delete_item(TableName=table, Key=K, ConditionExpression=cond, **extra)
        code, message = _err(exc)
        assert code == "ValidationException"
        return message

    prefix = "Invalid ConditionExpression: The first operand must be distinct from the remaining operands for this operator or function; "
    assert refused("n = n") == prefix + "operator: =, first operand: [n]"
    assert refused("n <> n") == prefix + "operator: <>, first operand: [n]"
    assert refused("#n < n", {"#n": "n"}) == prefix + "operator: <, first operand: [n]"
    assert refused("m.a >= m.a") == prefix + "operator: >=, first operand: [m, a]"
    assert refused("l[0] = l[0]") == prefix + "operator: =, first operand: [l, [0]]"
    assert refused("begins_with(s, s)") == prefix + "operator: begins_with, first operand: [s]"
    assert refused("contains(l, l)") == prefix + "operator: contains, first operand: [l]"
    # Different paths, or a path and a value, are fine.
    with pytest.raises(ClientError) as exc:
        ddb.delete_item(TableName=table, Key=K, ConditionExpression="m.a = n AND n < s")
    assert _err(exc)[0] == "ConditionalCheckFailedException"
    assert "Item" in ddb.get_item(TableName=table, Key=K)


def test_paths_into_key_attributes_refused(ddb: Any, make_table: Any) -> None:
    name = make_table(
        range=("sk", "S"),
        extra_attrs={"g": "S"},
        GlobalSecondaryIndexes=[{"IndexName": "by-g", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}], "Projection": {"ProjectionType": "ALL"}}],
    )
    ddb.put_item(TableName=name, Item={**K, "g": {"S": "x"}, "m": {"M": {"a": {"N": "1"}}}})
    message = "Key attributes must be scalars; list random access '[]' and map lookup '.' are not allowed: "
    with pytest.raises(ClientError) as exc:
        ddb.get_item(TableName=name, Key=K, ProjectionExpression="m, pk.x")
    assert _err(exc) == ("ValidationException", message + "Key: pk")
    with pytest.raises(ClientError) as exc:
        ddb.get_item(TableName=name, Key=K, ProjectionExpression="sk[0]")
    assert _err(exc) == ("ValidationException", message + "Key: sk")
    with pytest.raises(ClientError) as exc:
        ddb.batch_get_item(RequestItems={name: {"Keys": [K], "ProjectionExpression": "g.y"}})
    assert _err(exc) == ("ValidationException", message + "IndexKey: g")
    with pytest.raises(ClientError) as exc:
        ddb.update_item(TableName=name, Key=K, UpdateExpression="REMOVE g.y")
    assert _err(exc) == ("ValidationException", message + "IndexKey: g")
    # Paths into other attributes are fine.
    assert ddb.get_item(TableName=name, Key=K, ProjectionExpression="m.a, g")["Item"] == {"m": {"M": {"a": {"N": "1"}}}, "g": {"S": "x"}}


def test_null_members_of_an_attribute_value_are_unset(emulator: Any, ddb: Any, table: str) -> None:
    """JSON nulls beside an AttributeValue's one type (SDKs that write unset members as null)
    are unset members: {"S": "x", "SS": null} is {"S": "x"}, in items, keys and expression
    values, at any depth. A null written before the type's member was taken for the type (a
    500); the engine's side: test_engine_robustness.py."""
    from emulator.testing.raw import signed

    def call(target: str, body: dict[str, Any]) -> Any:
        resp = signed(emulator, "POST", "/", service="dynamodb", headers={"content-type": "application/x-amz-json-1.0", "x-amz-target": f"DynamoDB_20120810.{target}"}, body=orjson.dumps(body))
        assert resp.status == 200, resp.body
        return resp.json()

    item = {"pk": {"SS": None, "S": "nulls"}, "sk": {"N": None, "S": "1"}, "m": {"BOOL": None, "M": {"a": {"M": None, "L": [{"S": None, "N": "1"}]}}}}
    call("PutItem", {"TableName": table, "Item": item, "ConditionExpression": "attribute_not_exists(pk) AND :v = :v", "ExpressionAttributeValues": {":v": {"M": None, "SS": None, "N": "1"}}})
    got = call("GetItem", {"TableName": table, "Key": {"pk": {"NS": None, "S": "nulls"}, "sk": {"S": "1"}}})["Item"]
    assert got == {"pk": {"S": "nulls"}, "sk": {"S": "1"}, "m": {"M": {"a": {"L": [{"N": "1"}]}}}}
    out = call("UpdateItem", {"TableName": table, "Key": {"pk": {"S": "nulls"}, "sk": {"S": "1"}}, "UpdateExpression": "SET n = :n", "ExpressionAttributeValues": {":n": {"L": None, "N": "5"}}, "ReturnValues": "UPDATED_NEW"})
    assert out["Attributes"] == {"n": {"N": "5"}}
    assert ddb.get_item(TableName=table, Key={"pk": {"S": "nulls"}, "sk": {"S": "1"}})["Item"]["n"] == {"N": "5"}
