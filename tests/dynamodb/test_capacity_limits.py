"""Consumed capacity as AWS computes it, item/key limits and AWS's validation errors."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from emulator.testing import EmulatorServer


def _err(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    return exc.value.response["Error"]["Code"], exc.value.response["Error"]["Message"]


@pytest.fixture
def gsi_table(make_table: Any) -> str:
    return make_table(
        extra_attrs={"g": "S"},
        GlobalSecondaryIndexes=[{"IndexName": "gsi", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}], "Projection": {"ProjectionType": "ALL"}}],
    )


def test_write_and_read_units(ddb: Any, make_table: Any) -> None:
    name = make_table()
    out = ddb.put_item(TableName=name, Item={"pk": {"S": "a"}, "d": {"S": "x" * 1500}}, ReturnConsumedCapacity="TOTAL")
    assert out["ConsumedCapacity"]["TableName"] == name
    assert out["ConsumedCapacity"]["CapacityUnits"] == 2.0  # 1.5 KB -> 2 write units
    ddb.put_item(TableName=name, Item={"pk": {"S": "big"}, "d": {"S": "x" * 5000}})
    eventual = ddb.get_item(TableName=name, Key={"pk": {"S": "big"}}, ReturnConsumedCapacity="TOTAL")["ConsumedCapacity"]
    strong = ddb.get_item(TableName=name, Key={"pk": {"S": "big"}}, ConsistentRead=True, ReturnConsumedCapacity="TOTAL")["ConsumedCapacity"]
    assert (eventual["CapacityUnits"], strong["CapacityUnits"]) == (1.0, 2.0)  # 5 KB -> 2 read units, half when eventual
    missing = ddb.get_item(TableName=name, Key={"pk": {"S": "none"}}, ReturnConsumedCapacity="TOTAL")["ConsumedCapacity"]
    assert missing["CapacityUnits"] == 0.5
    assert "ConsumedCapacity" not in ddb.get_item(TableName=name, Key={"pk": {"S": "none"}})
    # Deleting the 5 KB item costs by its size.
    out = ddb.delete_item(TableName=name, Key={"pk": {"S": "big"}}, ReturnConsumedCapacity="TOTAL")
    assert out["ConsumedCapacity"]["CapacityUnits"] == 5.0


def test_index_write_units(ddb: Any, gsi_table: str) -> None:
    out = ddb.put_item(TableName=gsi_table, Item={"pk": {"S": "a"}, "g": {"S": "1"}}, ReturnConsumedCapacity="INDEXES")
    cc = out["ConsumedCapacity"]
    assert cc["CapacityUnits"] == 2.0
    assert cc["Table"]["CapacityUnits"] == 1.0
    assert cc["GlobalSecondaryIndexes"] == {"gsi": {"CapacityUnits": 1.0, "WriteCapacityUnits": 1.0}}
    # Changing the index key: delete the old index entry and put the new one.
    out = ddb.update_item(
        TableName=gsi_table, Key={"pk": {"S": "a"}}, UpdateExpression="SET g = :g", ExpressionAttributeValues={":g": {"S": "2"}}, ReturnConsumedCapacity="INDEXES"
    )
    assert out["ConsumedCapacity"]["GlobalSecondaryIndexes"]["gsi"]["CapacityUnits"] == 2.0
    # An item outside the index costs the table only.
    out = ddb.put_item(TableName=gsi_table, Item={"pk": {"S": "b"}}, ReturnConsumedCapacity="INDEXES")
    assert out["ConsumedCapacity"]["CapacityUnits"] == 1.0 and "GlobalSecondaryIndexes" not in out["ConsumedCapacity"]
    out = ddb.transact_write_items(TransactItems=[{"Put": {"TableName": gsi_table, "Item": {"pk": {"S": "c"}}}}], ReturnConsumedCapacity="TOTAL")
    assert out["ConsumedCapacity"][0]["CapacityUnits"] == 2.0


def test_strongly_consistent_read_units_are_doubles(ddb: Any, make_table: Any) -> None:
    """AWS sends every capacity figure as a double (1.0, never 1): code that checks
    the type or formats it ("%.1f" works either way, but json/str output does not)."""
    name = make_table()
    ddb.put_item(TableName=name, Item={"pk": {"S": "a"}})
    outs = [
        ddb.get_item(TableName=name, Key={"pk": {"S": "a"}}, ConsistentRead=True, ReturnConsumedCapacity="TOTAL"),
        ddb.scan(TableName=name, ConsistentRead=True, ReturnConsumedCapacity="TOTAL"),
        ddb.query(TableName=name, KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "a"}}, ConsistentRead=True, ReturnConsumedCapacity="TOTAL"),
    ]
    for out in outs:
        cc = out["ConsumedCapacity"]
        assert cc["ReadCapacityUnits"] == 1.0 and isinstance(cc["ReadCapacityUnits"], float), cc
        assert isinstance(cc["CapacityUnits"], float), cc


def test_query_units_sum_item_sizes(ddb: Any, make_table: Any) -> None:
    name = make_table(range=("sk", "N"))
    for i in range(10):
        ddb.put_item(TableName=name, Item={"pk": {"S": "p"}, "sk": {"N": str(i)}, "d": {"S": "x" * 1000}})
    out = ddb.query(TableName=name, KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "p"}}, ReturnConsumedCapacity="TOTAL")
    assert out["ConsumedCapacity"]["CapacityUnits"] == 1.5  # ~10 KB -> 3 units, halved


def test_item_size_limit(ddb: Any, make_table: Any) -> None:
    name = make_table()
    ddb.put_item(TableName=name, Item={"pk": {"S": "ok"}, "d": {"S": "x" * (400 * 1024 - 10)}})
    with pytest.raises(ClientError) as exc:
        ddb.put_item(TableName=name, Item={"pk": {"S": "big"}, "d": {"S": "x" * (400 * 1024)}})
    assert _err(exc) == ("ValidationException", "Item size has exceeded the maximum allowed size")
    with pytest.raises(ClientError) as exc:
        ddb.update_item(TableName=name, Key={"pk": {"S": "ok"}}, UpdateExpression="SET e = :e", ExpressionAttributeValues={":e": {"S": "y" * 100}})
    assert _err(exc) == ("ValidationException", "Item size to update has exceeded the maximum allowed size")


def test_key_errors(ddb: Any, make_table: Any) -> None:
    name = make_table(range=("sk", "S"))
    cases = [
        ({"pk": {"S": ""}, "sk": {"S": "a"}}, "One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty string value. Key: pk"),
        ({"pk": {"N": "1"}, "sk": {"S": "a"}}, "One or more parameter values were invalid: Type mismatch for key pk expected: S actual: N"),
        ({"sk": {"S": "a"}}, "One or more parameter values were invalid: Missing the key pk in the item"),
        ({"pk": {"S": "x" * 2049}, "sk": {"S": "a"}}, "One or more parameter values were invalid: Size of hashkey has exceeded the maximum size limit of2048 bytes"),
        ({"pk": {"S": "a"}, "sk": {"S": "x" * 1025}}, "One or more parameter values were invalid: Aggregated size of all range keys has exceeded the size limit of 1024 bytes"),
    ]
    for item, message in cases:
        with pytest.raises(ClientError) as exc:
            ddb.put_item(TableName=name, Item=item)
        assert _err(exc) == ("ValidationException", message)
    ddb.put_item(TableName=name, Item={"pk": {"S": "x" * 2048}, "sk": {"S": "y" * 1024}})
    for key in ({"pk": {"S": "a"}}, {"pk": {"S": "a"}, "sk": {"S": "a"}, "other": {"S": "b"}}, {"pk": {"S": "a"}, "sk": {"N": "1"}}):
        with pytest.raises(ClientError) as exc:
            ddb.get_item(TableName=name, Key=key)
        assert _err(exc) == ("ValidationException", "The provided key element does not match the schema")


def test_value_errors(ddb: Any, make_table: Any) -> None:
    name = make_table()
    with pytest.raises(ClientError) as exc:
        ddb.put_item(TableName=name, Item={"pk": {"S": "a"}, "s": {"SS": []}})
    assert _err(exc)[0] == "ValidationException"
    with pytest.raises(ClientError) as exc:
        ddb.put_item(TableName=name, Item={"pk": {"S": "a"}, "n": {"N": "not-a-number"}})
    assert _err(exc)[0] == "ValidationException"
    with pytest.raises(ClientError) as exc:
        ddb.put_item(TableName="no-such-table", Item={"pk": {"S": "a"}})
    assert _err(exc) == ("ResourceNotFoundException", "Requested resource not found")


def test_serialization_error(emulator: Any) -> None:
    import requests
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    body = b'{"TableName": "x", "Item": "not-a-map"}'
    req = AWSRequest(method="POST", url=emulator.endpoint + "/", data=body, headers={"X-Amz-Target": "DynamoDB_20120810.PutItem", "Content-Type": "application/x-amz-json-1.0"})
    SigV4Auth(Credentials(emulator.access_key, emulator.secret_key), "dynamodb", "us-east-1").add_auth(req)
    resp = requests.post(req.url, data=body, headers=dict(req.headers), timeout=10)
    assert resp.status_code == 400
    assert resp.json()["__type"].endswith("SerializationException")


def test_item_collection_size_limit(tmp_path: Any) -> None:
    with EmulatorServer(data_dir=tmp_path, env={"EMULATOR_DYNAMODB_ITEM_COLLECTION_LIMIT": "3000"}) as server:
        ddb = server.client("dynamodb")
        ddb.create_table(
            TableName="coll",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in ("pk", "sk", "l")],
            BillingMode="PAY_PER_REQUEST",
            LocalSecondaryIndexes=[
                {"IndexName": "lsi", "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "l", "KeyType": "RANGE"}], "Projection": {"ProjectionType": "ALL"}}
            ],
        )
        out = ddb.put_item(TableName="coll", Item={"pk": {"S": "p"}, "sk": {"S": "1"}, "l": {"S": "x" * 1000}}, ReturnItemCollectionMetrics="SIZE")
        assert out["ItemCollectionMetrics"]["ItemCollectionKey"] == {"pk": {"S": "p"}}
        with pytest.raises(ClientError) as exc:
            ddb.put_item(TableName="coll", Item={"pk": {"S": "p"}, "sk": {"S": "2"}, "l": {"S": "y" * 1000}})
        assert _err(exc)[0] == "ItemCollectionSizeLimitExceededException"
        assert "Item" not in ddb.get_item(TableName="coll", Key={"pk": {"S": "p"}, "sk": {"S": "2"}})
        ddb.put_item(TableName="coll", Item={"pk": {"S": "other"}, "sk": {"S": "2"}, "l": {"S": "y" * 1000}})


def test_attribute_value_json_types_are_serialization_errors(emulator: Any, make_table: Any) -> None:
    import json

    import requests
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    name = make_table()

    def send(item: Any) -> Any:
        body = json.dumps({"TableName": name, "Item": item}).encode()
        req = AWSRequest(method="POST", url=emulator.endpoint + "/", data=body, headers={"X-Amz-Target": "DynamoDB_20120810.PutItem", "Content-Type": "application/x-amz-json-1.0"})
        SigV4Auth(Credentials(emulator.access_key, emulator.secret_key), "dynamodb", "us-east-1").add_auth(req)
        return requests.post(req.url, data=body, headers=dict(req.headers), timeout=10)

    for bad in ({"pk": {"S": 5}}, {"pk": {"S": "a"}, "b": {"BOOL": "yes"}}, {"pk": {"S": "a"}, "m": {"M": {"x": {"L": {}}}}}):
        resp = send(bad)
        assert resp.status_code == 400
        assert resp.json()["__type"].endswith("SerializationException"), resp.text
    assert send({"pk": {"S": "a"}, "m": {"M": {"x": {"L": [{"N": "1"}]}}}}).status_code == 200


def test_index_key_size_limits(ddb: Any, make_table: Any) -> None:
    """A secondary index's key values have the table key's limits (2048 bytes for a partition
    key, 1024 for a sort key), on every write path; an item without them is not in the index."""
    name = make_table(
        range=("sk", "S"),
        extra_attrs={"gh": "S", "gr": "S", "lr": "B"},
        GlobalSecondaryIndexes=[
            {"IndexName": "gidx", "KeySchema": [{"AttributeName": "gh", "KeyType": "HASH"}, {"AttributeName": "gr", "KeyType": "RANGE"}], "Projection": {"ProjectionType": "ALL"}}
        ],
        LocalSecondaryIndexes=[
            {"IndexName": "lidx", "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "lr", "KeyType": "RANGE"}], "Projection": {"ProjectionType": "KEYS_ONLY"}}
        ],
    )
    hash_message = "One or more parameter values were invalid: Size of hashkey has exceeded the maximum size limit of2048 bytes IndexName: gidx, IndexKey: gh"
    range_message = "One or more parameter values were invalid: Aggregated size of all range keys has exceeded the size limit of 1024 bytes IndexName: {}, IndexKey: {}"
    too_big = [
        ({"gh": {"S": "h" * 2049}}, hash_message),
        ({"gh": {"S": "é" * 1025}}, hash_message),  # 1025 characters, 2050 bytes of UTF-8
        ({"gh": {"S": "h"}, "gr": {"S": "r" * 1025}}, range_message.format("gidx", "gr")),
        ({"lr": {"B": b"\x01" * 1025}}, range_message.format("lidx", "lr")),
    ]
    for i, (attrs, message) in enumerate(too_big):
        key = {"pk": {"S": "a"}, "sk": {"S": str(i)}}
        with pytest.raises(ClientError) as exc:
            ddb.put_item(TableName=name, Item={**key, **attrs})
        assert _err(exc) == ("ValidationException", message)
        names = {f"#a{j}": n for j, n in enumerate(attrs)}
        values = {f":a{j}": v for j, v in enumerate(attrs.values())}
        update = "SET " + ", ".join(f"#a{j} = :a{j}" for j in range(len(attrs)))
        with pytest.raises(ClientError) as exc:
            ddb.update_item(TableName=name, Key=key, UpdateExpression=update, ExpressionAttributeNames=names, ExpressionAttributeValues=values)
        assert _err(exc) == ("ValidationException", message)
        with pytest.raises(ClientError) as exc:
            ddb.batch_write_item(RequestItems={name: [{"PutRequest": {"Item": {**key, **attrs}}}]})
        assert _err(exc) == ("ValidationException", message)
        with pytest.raises(ClientError) as exc:
            ddb.transact_write_items(TransactItems=[{"Put": {"TableName": name, "Item": {**key, **attrs}}}])
        assert exc.value.response["Error"]["Code"] == "ValidationException"
        assert "Item" not in ddb.get_item(TableName=name, Key=key)
    # PartiQL's INSERT and UPDATE.
    with pytest.raises(ClientError) as exc:
        ddb.execute_statement(Statement=f"INSERT INTO \"{name}\" VALUE {{'pk': 'p', 'sk': '1', 'gh': ?}}", Parameters=[{"S": "h" * 2049}])
    assert _err(exc) == ("ValidationException", hash_message)
    ddb.put_item(TableName=name, Item={"pk": {"S": "p"}, "sk": {"S": "2"}})
    with pytest.raises(ClientError) as exc:
        ddb.execute_statement(Statement=f"UPDATE \"{name}\" SET gh = ? WHERE pk = 'p' AND sk = '2'", Parameters=[{"S": "h" * 2049}])
    assert _err(exc) == ("ValidationException", hash_message)
    # At the limits, and without index keys (sparse): written.
    at_limit = {"gh": {"S": "é" * 1024}, "gr": {"S": "r" * 1024}, "lr": {"B": b"\x01" * 1024}}
    ddb.put_item(TableName=name, Item={"pk": {"S": "ok"}, "sk": {"S": "1"}, **at_limit})
    ddb.put_item(TableName=name, Item={"pk": {"S": "ok"}, "sk": {"S": "2"}, "other": {"S": "x" * 5000}})
    found = ddb.query(TableName=name, IndexName="gidx", KeyConditionExpression="gh = :h", ExpressionAttributeValues={":h": {"S": "é" * 1024}})["Items"]
    assert [i["sk"]["S"] for i in found] == ["1"]
