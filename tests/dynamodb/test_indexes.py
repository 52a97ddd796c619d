"""Global and local secondary indexes: maintenance, projections, sparse, queries, errors."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError


def _err(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    return exc.value.response["Error"]["Code"], exc.value.response["Error"]["Message"]


@pytest.fixture
def indexed(make_table: Any) -> str:
    return make_table(
        range=("sk", "S"),
        extra_attrs={"score": "N", "owner": "S", "when": "S"},
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by-owner",
                "KeySchema": [{"AttributeName": "owner", "KeyType": "HASH"}, {"AttributeName": "score", "KeyType": "RANGE"}],
                "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["title"]},
            },
            {
                "IndexName": "by-score",
                "KeySchema": [{"AttributeName": "score", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            },
        ],
        LocalSecondaryIndexes=[
            {
                "IndexName": "by-when",
                "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "when", "KeyType": "RANGE"}],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            }
        ],
    )


def _put(ddb: Any, table: str, sk: str, **attrs: Any) -> None:
    item = {"pk": {"S": "p"}, "sk": {"S": sk}}
    for k, v in attrs.items():
        item[k] = {"N": str(v)} if isinstance(v, int) else {"S": v}
    ddb.put_item(TableName=table, Item=item)


def test_gsi_maintenance_projection_and_sparseness(ddb: Any, indexed: str) -> None:
    _put(ddb, indexed, "1", owner="ann", score=5, title="t1", body="b1")
    _put(ddb, indexed, "2", owner="ann", score=3, title="t2", body="b2")
    _put(ddb, indexed, "3", owner="bob", score=5)
    _put(ddb, indexed, "4", title="no owner: not in by-owner")
    out = ddb.query(TableName=indexed, IndexName="by-owner", KeyConditionExpression="#o = :o", ExpressionAttributeNames={"#o": "owner"}, ExpressionAttributeValues={":o": {"S": "ann"}})
    assert [i["sk"]["S"] for i in out["Items"]] == ["2", "1"]  # ordered by score
    assert out["Items"][1] == {"pk": {"S": "p"}, "sk": {"S": "1"}, "owner": {"S": "ann"}, "score": {"N": "5"}, "title": {"S": "t1"}}
    # Non-unique GSI keys: two items with score 5.
    out = ddb.query(TableName=indexed, IndexName="by-score", KeyConditionExpression="score = :s", ExpressionAttributeValues={":s": {"N": "5"}})
    assert sorted(i["sk"]["S"] for i in out["Items"]) == ["1", "3"]
    assert set(out["Items"][0]) == {"pk", "sk", "score"}
    # Changing the index key moves the item; removing it takes it out.
    ddb.update_item(TableName=indexed, Key={"pk": {"S": "p"}, "sk": {"S": "1"}}, UpdateExpression="SET score = :s", ExpressionAttributeValues={":s": {"N": "9"}})
    out = ddb.query(TableName=indexed, IndexName="by-score", KeyConditionExpression="score = :s", ExpressionAttributeValues={":s": {"N": "5"}})
    assert [i["sk"]["S"] for i in out["Items"]] == ["3"]
    ddb.update_item(TableName=indexed, Key={"pk": {"S": "p"}, "sk": {"S": "3"}}, UpdateExpression="REMOVE score")
    ddb.delete_item(TableName=indexed, Key={"pk": {"S": "p"}, "sk": {"S": "2"}})
    assert ddb.scan(TableName=indexed, IndexName="by-score")["Count"] == 1
    assert ddb.scan(TableName=indexed, IndexName="by-owner")["Count"] == 1


def test_gsi_pagination_keys(ddb: Any, indexed: str) -> None:
    for i in range(5):
        _put(ddb, indexed, f"s{i}", owner="same", score=7)
    start: dict[str, Any] = {}
    seen = []
    while True:
        out = ddb.query(
            TableName=indexed, IndexName="by-owner", KeyConditionExpression="#o = :o", ExpressionAttributeNames={"#o": "owner"},
            ExpressionAttributeValues={":o": {"S": "same"}}, Limit=2, **start,
        )
        seen += [i["sk"]["S"] for i in out["Items"]]
        if "LastEvaluatedKey" not in out:
            break
        assert set(out["LastEvaluatedKey"]) == {"pk", "sk", "owner", "score"}
        start = {"ExclusiveStartKey": out["LastEvaluatedKey"]}
    assert sorted(seen) == [f"s{i}" for i in range(5)]


def test_lsi_query_fetches_unprojected_attributes(ddb: Any, indexed: str) -> None:
    _put(ddb, indexed, "a", when="2024-03", body="x")
    _put(ddb, indexed, "b", when="2024-01", body="y")
    _put(ddb, indexed, "c", body="not in the LSI")
    out = ddb.query(TableName=indexed, IndexName="by-when", KeyConditionExpression="pk = :p AND #w > :w", ExpressionAttributeNames={"#w": "when"}, ExpressionAttributeValues={":p": {"S": "p"}, ":w": {"S": "2024"}})
    assert [i["sk"]["S"] for i in out["Items"]] == ["b", "a"]
    assert "body" not in out["Items"][0]
    out = ddb.query(
        TableName=indexed, IndexName="by-when", KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "p"}}, Select="ALL_ATTRIBUTES", ConsistentRead=True
    )
    assert [i["body"]["S"] for i in out["Items"]] == ["y", "x"]


def test_index_errors(ddb: Any, indexed: str) -> None:
    with pytest.raises(ClientError) as exc:
        ddb.query(TableName=indexed, IndexName="by-score", KeyConditionExpression="score = :s", ExpressionAttributeValues={":s": {"N": "5"}}, ConsistentRead=True)
    assert _err(exc) == ("ValidationException", "Consistent reads are not supported on global secondary indexes")
    with pytest.raises(ClientError) as exc:
        ddb.query(TableName=indexed, IndexName="by-score", KeyConditionExpression="score = :s", ExpressionAttributeValues={":s": {"N": "5"}}, Select="ALL_ATTRIBUTES")
    assert _err(exc)[0] == "ValidationException"
    assert "projection type is not ALL" in _err(exc)[1]
    with pytest.raises(ClientError) as exc:
        ddb.put_item(TableName=indexed, Item={"pk": {"S": "p"}, "sk": {"S": "x"}, "score": {"S": "not a number"}})
    assert _err(exc) == ("ValidationException", "One or more parameter values were invalid: Type mismatch for Index Key score Expected: N Actual: S IndexName: by-owner")
    with pytest.raises(ClientError) as exc:
        ddb.put_item(TableName=indexed, Item={"pk": {"S": "p"}, "sk": {"S": "x"}, "owner": {"S": ""}})
    assert _err(exc)[0] == "ValidationException"
    assert "IndexName: by-owner, IndexKey: owner" in _err(exc)[1]
    assert "Item" not in ddb.get_item(TableName=indexed, Key={"pk": {"S": "p"}, "sk": {"S": "x"}})


def test_lsi_needs_range_key(ddb: Any, new_name: Any) -> None:
    with pytest.raises(ClientError) as exc:
        ddb.create_table(
            TableName=new_name(),
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "x", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
            LocalSecondaryIndexes=[
                {"IndexName": "lsi", "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "x", "KeyType": "RANGE"}], "Projection": {"ProjectionType": "ALL"}}
            ],
        )
    assert _err(exc)[0] == "ValidationException"
    assert "does not have a range key" in _err(exc)[1]


def test_lsi_filter_on_unprojected_attribute_keeps_the_projection(ddb: Any, indexed: str) -> None:
    _put(ddb, indexed, "a", when="1", body="keep")
    _put(ddb, indexed, "b", when="2", body="drop")
    out = ddb.query(
        TableName=indexed, IndexName="by-when", KeyConditionExpression="pk = :p", FilterExpression="body = :k",
        ExpressionAttributeValues={":p": {"S": "p"}, ":k": {"S": "keep"}},
    )
    assert out["Items"] == [{"pk": {"S": "p"}, "sk": {"S": "a"}, "when": {"S": "1"}}]
    assert (out["Count"], out["ScannedCount"]) == (1, 2)
