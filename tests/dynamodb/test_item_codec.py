"""Stored item encoding (emulator/dynamodb/core.py dumps/loads/raw_item) and the reads that
send stored JSON out unparsed: every read gives the same answer with and without ``raw``,
for JSON rows, pickled rows (items with binary values) and rows written before items were
stored as JSON (all pickles)."""

from __future__ import annotations

import pickle
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from emulator.dynamodb.core import dumps, loads, raw_item
from emulator.dynamodb.engine import DynamoDBEngine
from emulator.dynamodb.storage import open_storage
from emulator.dynamodb.types import item_size
from emulator.protocols.json import dumps as wire_dumps

PLAIN = {
    "pk": {"S": "p"},
    "sk": {"S": "0001"},
    "n": {"N": "-12.5"},
    "flag": {"BOOL": False},
    "nothing": {"NULL": True},
    "m": {"M": {"é": {"S": "ünï"}, "l": {"L": [{"N": "1"}, {"SS": ["a", "b"]}]}}},
    "ns": {"NS": ["1", "2"]},
    "empty": {"S": ""},
}
BINARY = {"pk": {"S": "p"}, "sk": {"S": "0002"}, "b": {"B": b"\x00\xff"}, "bs": {"BS": [b"x", b"y"]}}


def test_items_without_bytes_are_stored_as_json_others_pickled() -> None:
    data = dumps(PLAIN)
    assert data[:1] == b"{" and orjson.loads(data) == PLAIN
    assert loads(data) == PLAIN
    assert isinstance(raw_item(data), orjson.Fragment)
    binary = dumps(BINARY)
    assert binary[:1] == b"\x80" and loads(binary) == BINARY
    assert raw_item(binary) == BINARY  # not JSON: decoded, bytes stay bytes
    legacy = pickle.dumps(PLAIN, protocol=5)  # rows written before JSON was used
    assert loads(legacy) == PLAIN and raw_item(legacy) == PLAIN
    # What JSON cannot carry exactly goes to pickle, not to a lossy JSON.
    assert dumps({"s": "\ud800"})[:1] == b"\x80"
    assert loads(dumps({"s": "\ud800"})) == {"s": "\ud800"}


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[DynamoDBEngine]:
    e = DynamoDBEngine(open_storage("sqlite", tmp_path, "NORMAL"))
    e.open()
    e.create_table(
        {
            "TableName": "codec",
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "S"}, {"AttributeName": "g", "AttributeType": "S"}],
            "BillingMode": "PAY_PER_REQUEST",
            "GlobalSecondaryIndexes": [{"IndexName": "gsi", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}], "Projection": {"ProjectionType": "ALL"}}],
        }
    )
    try:
        yield e
    finally:
        e.close()


def _wire(out: dict[str, Any]) -> Any:
    """What a client receives: the output as the JSON protocol encodes it."""
    return orjson.loads(wire_dumps(out))


def _seed(engine: DynamoDBEngine) -> list[dict[str, Any]]:
    items = []
    for i in range(12):
        item: dict[str, Any] = {**PLAIN, "sk": {"S": f"{i:04d}"}, "g": {"S": "G"}, "i": {"N": str(i)}}
        if i % 4 == 1:
            item["b"] = {"B": bytes([i, 0, 255])}
        items.append(item)
        engine.put_item({"TableName": "codec", "Item": item})
    # One row as an older version stored it: a pickle.
    table = engine.table("codec")
    key = engine.key_from_item(table, items[6])
    engine.storage.put(table.table_id, 0, key.pk, key.sk, pickle.dumps(items[6], protocol=5), item_size(items[6]))
    return items


@pytest.mark.parametrize(
    "params",
    [
        {"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "p"}}},
        {"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "p"}}, "Limit": 5, "ReturnConsumedCapacity": "TOTAL"},
        {"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "p"}}, "Limit": 7, "ScanIndexForward": False},
        {"KeyConditionExpression": "g = :g", "ExpressionAttributeValues": {":g": {"S": "G"}}, "IndexName": "gsi", "Limit": 4},
        {"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "p"}, ":i": {"N": "3"}}, "FilterExpression": "i > :i"},
        {"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "p"}}, "ProjectionExpression": "sk, b"},
        {"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "p"}}, "Select": "COUNT"},
    ],
)
def test_query_is_the_same_raw_or_not(engine: DynamoDBEngine, params: dict[str, Any]) -> None:
    _seed(engine)
    params = {"TableName": "codec", **params}
    raw, plain = engine.query(dict(params), raw=True), engine.query(dict(params))
    assert _wire(raw) == _wire(plain)
    if "Select" not in params:
        assert _wire(plain)["Items"]
    # Whole items, nothing to evaluate: the stored JSON goes out as it is (binary ones decoded).
    whole = not {"FilterExpression", "ProjectionExpression", "Select"} & set(params)
    assert any(isinstance(i, orjson.Fragment) for i in raw.get("Items", [])) == whole
    assert all(isinstance(i, dict) for i in plain.get("Items", []))


def test_query_pages_through_everything_raw(engine: DynamoDBEngine) -> None:
    items = _seed(engine)
    seen: list[Any] = []
    start: dict[str, Any] | None = None
    while True:
        params: dict[str, Any] = {"TableName": "codec", "KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "p"}}, "Limit": 5}
        if start:
            params["ExclusiveStartKey"] = start
        page = engine.query(params, raw=True)
        seen += _wire(page)["Items"]
        start = page.get("LastEvaluatedKey")
        if not start:
            break
    assert seen == _wire({"Items": items})["Items"]


def test_scan_and_get_item_are_the_same_raw_or_not(engine: DynamoDBEngine) -> None:
    items = _seed(engine)
    for params in ({"Limit": 5}, {}, {"Segment": 0, "TotalSegments": 2}):
        scan = {"TableName": "codec", **params}
        assert _wire(engine.scan(dict(scan), raw=True)) == _wire(engine.scan(dict(scan)))
    for item in items:
        get = {"TableName": "codec", "Key": {"pk": item["pk"], "sk": item["sk"]}, "ReturnConsumedCapacity": "TOTAL"}
        raw = engine.get_item(dict(get), raw=True)
        assert _wire(raw) == _wire(engine.get_item(dict(get)))
        assert _wire(raw)["Item"] == _wire({"i": item})["i"]
    missing = {"TableName": "codec", "Key": {"pk": {"S": "p"}, "sk": {"S": "nope"}}}
    assert engine.get_item(dict(missing), raw=True) == engine.get_item(dict(missing)) == {}


def test_batch_get_item_is_the_same_raw_or_not(engine: DynamoDBEngine) -> None:
    items = _seed(engine)
    keys = [{"pk": it["pk"], "sk": it["sk"]} for it in items] + [{"pk": {"S": "p"}, "sk": {"S": "missing"}}]
    for extra in ({}, {"ProjectionExpression": "sk, b"}, {"ConsistentRead": True}):
        params = {"RequestItems": {"codec": {"Keys": keys, **extra}}, "ReturnConsumedCapacity": "TOTAL"}
        raw, plain = engine.batch_get_item(dict(params), raw=True), engine.batch_get_item(dict(params))
        assert _wire(raw) == _wire(plain)
        assert len(_wire(raw)["Responses"]["codec"]) == len(items)
        assert any(isinstance(i, orjson.Fragment) for i in raw["Responses"]["codec"]) == (not extra.get("ProjectionExpression"))
    whole = _wire(engine.batch_get_item({"RequestItems": {"codec": {"Keys": keys}}}, raw=True))["Responses"]["codec"]
    assert sorted(whole, key=lambda i: i["sk"]["S"]) == _wire({"i": items})["i"]
