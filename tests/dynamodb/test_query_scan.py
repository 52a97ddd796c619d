"""Query and Scan: key conditions in key order, filters, Select, Limit, pages, segments."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError


def _err(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    return exc.value.response["Error"]["Code"], exc.value.response["Error"]["Message"]


@pytest.fixture
def numbers(ddb: Any, make_table: Any) -> str:
    name = make_table(range=("n", "N"))
    values = ["-10", "-2.5", "0", "1", "1.5", "2", "10", "100", "1E+30"]
    with_batches = [{"PutRequest": {"Item": {"pk": {"S": "p"}, "n": {"N": v}, "odd": {"BOOL": i % 2 == 1}}}} for i, v in enumerate(values)]
    ddb.batch_write_item(RequestItems={name: with_batches})
    ddb.put_item(TableName=name, Item={"pk": {"S": "other"}, "n": {"N": "5"}})
    return name


def _ns(out: dict[str, Any]) -> list[str]:
    return [i["n"]["N"] for i in out["Items"]]


def _q(ddb: Any, table: str, cond: str, values: dict[str, Any], **kw: Any) -> dict[str, Any]:
    out: dict[str, Any] = ddb.query(TableName=table, KeyConditionExpression=cond, ExpressionAttributeValues=values, **kw)
    return out


P = {":p": {"S": "p"}}


def test_numeric_sort_key_order_and_conditions(ddb: Any, numbers: str) -> None:
    assert _ns(_q(ddb, numbers, "pk = :p", P)) == ["-10", "-2.5", "0", "1", "1.5", "2", "10", "100", "1000000000000000000000000000000"]
    assert _ns(_q(ddb, numbers, "pk = :p", P, ScanIndexForward=False))[:3] == ["1000000000000000000000000000000", "100", "10"]
    assert _ns(_q(ddb, numbers, "pk = :p AND n < :v", {**P, ":v": {"N": "1"}})) == ["-10", "-2.5", "0"]
    assert _ns(_q(ddb, numbers, "pk = :p AND n <= :v", {**P, ":v": {"N": "1.0"}})) == ["-10", "-2.5", "0", "1"]
    assert _ns(_q(ddb, numbers, "pk = :p AND n > :v", {**P, ":v": {"N": "2"}})) == ["10", "100", "1000000000000000000000000000000"]
    assert _ns(_q(ddb, numbers, "pk = :p AND n >= :v", {**P, ":v": {"N": "100"}})) == ["100", "1000000000000000000000000000000"]
    assert _ns(_q(ddb, numbers, "pk = :p AND n = :v", {**P, ":v": {"N": "1.50"}})) == ["1.5"]
    assert _ns(_q(ddb, numbers, "pk = :p AND n BETWEEN :a AND :b", {**P, ":a": {"N": "-3"}, ":b": {"N": "1.5"}})) == ["-2.5", "0", "1", "1.5"]
    assert _q(ddb, numbers, "pk = :p", {":p": {"S": "none"}})["Items"] == []


def test_string_sort_key_begins_with_and_between(ddb: Any, make_table: Any) -> None:
    name = make_table(range=("sk", "S"))
    for sk in ["a", "ab", "abc", "abd", "b", "ba", "a\u00e9", "A"]:
        ddb.put_item(TableName=name, Item={"pk": {"S": "x"}, "sk": {"S": sk}})
    out = _q(ddb, name, "pk = :p AND begins_with(sk, :b)", {":p": {"S": "x"}, ":b": {"S": "ab"}})
    assert [i["sk"]["S"] for i in out["Items"]] == ["ab", "abc", "abd"]
    out = _q(ddb, name, "pk = :p AND sk BETWEEN :a AND :b", {":p": {"S": "x"}, ":a": {"S": "abc"}, ":b": {"S": "b"}})
    assert [i["sk"]["S"] for i in out["Items"]] == ["abc", "abd", "a\u00e9", "b"]
    out = _q(ddb, name, "pk = :p", {":p": {"S": "x"}})
    assert [i["sk"]["S"] for i in out["Items"]] == sorted(["a", "ab", "abc", "abd", "b", "ba", "a\u00e9", "A"], key=lambda s: s.encode())


def test_binary_keys(ddb: Any, make_table: Any) -> None:
    name = make_table(hash=("pk", "B"), range=("sk", "B"))
    for sk in [b"\x00", b"\x00\x00", b"\x01", b"\xff", b"\x00\xff"]:
        ddb.put_item(TableName=name, Item={"pk": {"B": b"\x00k"}, "sk": {"B": sk}})
    out = _q(ddb, name, "pk = :p", {":p": {"B": b"\x00k"}})
    assert [i["sk"]["B"] for i in out["Items"]] == sorted([b"\x00", b"\x00\x00", b"\x01", b"\xff", b"\x00\xff"])
    out = _q(ddb, name, "pk = :p AND begins_with(sk, :b)", {":p": {"B": b"\x00k"}, ":b": {"B": b"\x00"}})
    assert [i["sk"]["B"] for i in out["Items"]] == [b"\x00", b"\x00\x00", b"\x00\xff"]


def test_filter_limit_and_pagination(ddb: Any, numbers: str) -> None:
    out = _q(ddb, numbers, "pk = :p", {**P, ":t": {"BOOL": True}}, FilterExpression="odd = :t")
    assert out["Count"] == 4 and out["ScannedCount"] == 9
    out = _q(ddb, numbers, "pk = :p", {**P, ":t": {"BOOL": True}}, FilterExpression="odd = :t", Limit=3)
    assert out["ScannedCount"] == 3 and out["Count"] == 1
    assert out["LastEvaluatedKey"] == {"pk": {"S": "p"}, "n": {"N": "0"}}
    seen: list[str] = []
    start: dict[str, Any] = {}
    pages = 0
    while True:
        out = _q(ddb, numbers, "pk = :p", P, Limit=2, ScanIndexForward=False, **start)
        pages += 1
        seen += _ns(out)
        if "LastEvaluatedKey" not in out:
            break
        start = {"ExclusiveStartKey": out["LastEvaluatedKey"]}
    assert pages == 5
    assert seen == _ns(_q(ddb, numbers, "pk = :p", P, ScanIndexForward=False))


def test_select_count_and_projection(ddb: Any, numbers: str) -> None:
    out = _q(ddb, numbers, "pk = :p", P, Select="COUNT")
    assert out["Count"] == 9 and "Items" not in out
    out = _q(ddb, numbers, "pk = :p", P, ProjectionExpression="n")
    assert out["Items"][0] == {"n": {"N": "-10"}}
    with pytest.raises(ClientError) as exc:
        _q(ddb, numbers, "pk = :p", P, Select="ALL_PROJECTED_ATTRIBUTES")
    assert _err(exc)[0] == "ValidationException"


def test_legacy_key_conditions_and_query_filter(ddb: Any, numbers: str) -> None:
    out = ddb.query(
        TableName=numbers,
        KeyConditions={"pk": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "p"}]}, "n": {"ComparisonOperator": "GT", "AttributeValueList": [{"N": "10"}]}},
        QueryFilter={"odd": {"ComparisonOperator": "EQ", "AttributeValueList": [{"BOOL": False}]}},
    )
    assert _ns(out) == ["1000000000000000000000000000000"]


def test_query_errors(ddb: Any, numbers: str) -> None:
    with pytest.raises(ClientError) as exc:
        _q(ddb, numbers, "pk = :p", {":p": {"N": "1"}})
    assert _err(exc) == ("ValidationException", "One or more parameter values were invalid: Condition parameter type does not match schema type")
    with pytest.raises(ClientError) as exc:
        ddb.query(TableName=numbers)
    assert _err(exc) == ("ValidationException", "Either the KeyConditions or KeyConditionExpression parameter must be specified in the request.")
    with pytest.raises(ClientError) as exc:
        _q(ddb, numbers, "pk = :p", P, IndexName="nope")
    assert _err(exc) == ("ValidationException", "The table does not have the specified index: nope")
    with pytest.raises(ClientError) as exc:
        _q(ddb, numbers, "pk = :p", P, ExclusiveStartKey={"pk": {"S": "p"}})
    assert _err(exc)[0] == "ValidationException"


def test_scan_segments_cover_the_table_once(ddb: Any, make_table: Any) -> None:
    name = make_table()
    for chunk in range(4):
        ddb.batch_write_item(RequestItems={name: [{"PutRequest": {"Item": {"pk": {"S": f"k{chunk * 25 + i}"}}}} for i in range(25)]})
    seen: list[str] = []
    for segment in range(3):
        start: dict[str, Any] = {}
        while True:
            out = ddb.scan(TableName=name, Segment=segment, TotalSegments=3, Limit=7, **start)
            seen += [i["pk"]["S"] for i in out["Items"]]
            if "LastEvaluatedKey" not in out:
                break
            start = {"ExclusiveStartKey": out["LastEvaluatedKey"]}
    assert sorted(seen) == sorted(f"k{i}" for i in range(100))
    with pytest.raises(ClientError) as exc:
        ddb.scan(TableName=name, Segment=3, TotalSegments=2)
    assert _err(exc)[0] == "ValidationException"
    out = ddb.scan(TableName=name, FilterExpression="begins_with(pk, :k)", ExpressionAttributeValues={":k": {"S": "k9"}})
    assert out["Count"] == 11 and out["ScannedCount"] == 100
    out = ddb.scan(TableName=name, ScanFilter={"pk": {"ComparisonOperator": "BEGINS_WITH", "AttributeValueList": [{"S": "k9"}]}}, Select="COUNT")
    assert out["Count"] == 11


def test_one_megabyte_pages(ddb: Any, make_table: Any) -> None:
    name = make_table(range=("sk", "N"))
    blob = "x" * 300_000
    for i in range(5):
        ddb.put_item(TableName=name, Item={"pk": {"S": "big"}, "sk": {"N": str(i)}, "data": {"S": blob}})
    out = _q(ddb, name, "pk = :p", {":p": {"S": "big"}})
    assert 3 <= out["Count"] < 5
    assert "LastEvaluatedKey" in out
    rest = _q(ddb, name, "pk = :p", {":p": {"S": "big"}}, ExclusiveStartKey=out["LastEvaluatedKey"])
    assert out["Count"] + rest["Count"] == 5
    out = ddb.scan(TableName=name)
    assert out["Count"] < 5 and "LastEvaluatedKey" in out


def test_boto3_paginators_and_batch_writer(ddb: Any, aws_resource: Any, make_table: Any) -> None:
    name = make_table(range=("sk", "N"))
    table = aws_resource("dynamodb").Table(name)
    with table.batch_writer() as writer:
        for i in range(60):
            writer.put_item(Item={"pk": "p" if i % 2 else "q", "sk": i, "v": i})
    pages = list(ddb.get_paginator("query").paginate(TableName=name, KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "p"}}, PaginationConfig={"PageSize": 7}))
    assert len(pages) == 5
    assert [int(i["sk"]["N"]) for p in pages for i in p["Items"]] == list(range(1, 60, 2))
    total = sum(p["Count"] for p in ddb.get_paginator("scan").paginate(TableName=name, PaginationConfig={"PageSize": 11}))
    assert total == 60
    from boto3.dynamodb.conditions import Attr, Key

    # (A Query's filter may not name key attributes.)
    got = table.query(KeyConditionExpression=Key("pk").eq("q") & Key("sk").between(10, 20), FilterExpression=Attr("v").gt(14))
    assert [int(i["sk"]) for i in got["Items"]] == [16, 18, 20]


def test_query_filter_cannot_name_key_attributes(ddb: Any, numbers: str) -> None:
    with pytest.raises(ClientError) as exc:
        _q(ddb, numbers, "pk = :p", {**P, ":n": {"N": "1"}}, FilterExpression="n = :n")
    assert _err(exc) == ("ValidationException", "Filter Expression can only contain non-primary key attributes: Primary key attribute: n")
    with pytest.raises(ClientError) as exc:
        _q(ddb, numbers, "pk = :p", P, FilterExpression="attribute_exists(pk)")
    assert _err(exc) == ("ValidationException", "Filter Expression can only contain non-primary key attributes: Primary key attribute: pk")
    with pytest.raises(ClientError) as exc:
        ddb.query(
            TableName=numbers,
            KeyConditions={"pk": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "p"}]}},
            QueryFilter={"n": {"ComparisonOperator": "GT", "AttributeValueList": [{"N": "1"}]}},
        )
    assert _err(exc) == ("ValidationException", "QueryFilter can only contain non-primary key attributes: Primary key attribute: n")
    # Scan filters may name them.
    assert ddb.scan(TableName=numbers, FilterExpression="n > :n", ExpressionAttributeValues={":n": {"N": "10"}})["Count"] == 2


def test_query_start_key_must_match_the_range_condition(ddb: Any, numbers: str) -> None:
    with pytest.raises(ClientError) as exc:
        _q(ddb, numbers, "pk = :p AND n < :n", {**P, ":n": {"N": "2"}}, ExclusiveStartKey={"pk": {"S": "p"}, "n": {"N": "5"}})
    assert _err(exc) == ("ValidationException", "The provided starting key does not match the range key predicate")
    with pytest.raises(ClientError) as exc:
        _q(ddb, numbers, "pk = :p AND n BETWEEN :a AND :b", {**P, ":a": {"N": "0"}, ":b": {"N": "2"}}, ExclusiveStartKey={"pk": {"S": "p"}, "n": {"N": "-2.5"}})
    assert _err(exc) == ("ValidationException", "The provided starting key does not match the range key predicate")
    out = _q(ddb, numbers, "pk = :p AND n < :n", {**P, ":n": {"N": "2"}}, ExclusiveStartKey={"pk": {"S": "p"}, "n": {"N": "0"}})
    assert _ns(out) == ["1", "1.5"]


def test_legacy_and_expression_parameters_never_mix(ddb: Any, numbers: str) -> None:
    prefix = "Can not use both expression and non-expression parameters in the same request: "
    with pytest.raises(ClientError) as exc:
        _q(ddb, numbers, "pk = :p", P, AttributesToGet=["n"])
    assert _err(exc) == ("ValidationException", prefix + "Non-expression parameters: {AttributesToGet} Expression parameters: {KeyConditionExpression}")
    with pytest.raises(ClientError) as exc:
        _q(ddb, numbers, "pk = :p", P, QueryFilter={"odd": {"ComparisonOperator": "EQ", "AttributeValueList": [{"BOOL": True}]}}, ProjectionExpression="n")
    assert _err(exc) == ("ValidationException", prefix + "Non-expression parameters: {QueryFilter} Expression parameters: {ProjectionExpression, KeyConditionExpression}")
    with pytest.raises(ClientError) as exc:
        ddb.scan(TableName=numbers, AttributesToGet=["n"], FilterExpression="odd = :t", ExpressionAttributeValues={":t": {"BOOL": True}})
    assert _err(exc) == ("ValidationException", prefix + "Non-expression parameters: {AttributesToGet} Expression parameters: {FilterExpression}")
    with pytest.raises(ClientError) as exc:
        ddb.scan(TableName=numbers, ProjectionExpression="n", ScanFilter={"odd": {"ComparisonOperator": "EQ", "AttributeValueList": [{"BOOL": True}]}})
    assert _err(exc) == ("ValidationException", prefix + "Non-expression parameters: {ScanFilter} Expression parameters: {ProjectionExpression}")
    # KeyConditions without a KeyConditionExpression may come with the other expressions.
    out = ddb.query(
        TableName=numbers,
        KeyConditions={"pk": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "p"}]}},
        FilterExpression="odd = :t",
        ProjectionExpression="n",
        ExpressionAttributeValues={":t": {"BOOL": True}},
    )
    assert _ns(out) == ["-2.5", "1", "2", "100"]
    # A ProjectionExpression takes no values.
    with pytest.raises(ClientError) as exc:
        ddb.scan(TableName=numbers, ProjectionExpression="n", ExpressionAttributeValues={":t": {"BOOL": True}})
    assert _err(exc) == ("ValidationException", "ExpressionAttributeValues can only be specified when using expressions: FilterExpression is null")
    with pytest.raises(ClientError) as exc:
        ddb.query(
            TableName=numbers,
            KeyConditions={"pk": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "p"}]}},
            ExpressionAttributeValues={":t": {"BOOL": True}},
        )
    assert _err(exc) == (
        "ValidationException",
        "ExpressionAttributeValues can only be specified when using expressions: FilterExpression and KeyConditionExpression are null",
    )


def test_filter_and_projection_paths_into_keys_refused(ddb: Any, numbers: str) -> None:
    message = "Key attributes must be scalars; list random access '[]' and map lookup '.' are not allowed: "
    with pytest.raises(ClientError) as exc:
        ddb.scan(TableName=numbers, FilterExpression="pk.x = :v", ExpressionAttributeValues={":v": {"S": "p"}})
    assert _err(exc) == ("ValidationException", message + "Key: pk")
    with pytest.raises(ClientError) as exc:
        _q(ddb, numbers, "pk = :p", P, ProjectionExpression="odd, n[0]")
    assert _err(exc) == ("ValidationException", message + "Key: n")


def test_empty_string_key_value_refused(ddb: Any, make_table: Any) -> None:
    """An empty S for the partition key, or in a comparison on the sort key, is no key value:
    refused with PutItem's wording. begins_with with an empty prefix is allowed."""
    name = make_table(hash=("id", "S"), range=("sk", "S"))
    ddb.put_item(TableName=name, Item={"id": {"S": "p"}, "sk": {"S": "x"}})
    with pytest.raises(ClientError) as exc:
        _q(ddb, name, "id = :p", {":p": {"S": ""}})
    assert _err(exc) == ("ValidationException", "One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty string value. Key: id")
    with pytest.raises(ClientError) as exc:
        _q(ddb, name, "id = :p AND sk > :s", {":p": {"S": "p"}, ":s": {"S": ""}})
    assert _err(exc) == ("ValidationException", "One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty string value. Key: sk")
    assert _q(ddb, name, "id = :p AND begins_with(sk, :s)", {":p": {"S": "p"}, ":s": {"S": ""}})["Count"] == 1
