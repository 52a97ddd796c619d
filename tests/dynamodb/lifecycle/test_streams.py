"""DynamoDB Streams through the wire: records, view types, iterators, errors."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from .conftest import read_all


def stream_table(make_table: Callable[..., str], ddb: Any, view: str) -> tuple[str, str]:
    name = make_table(StreamSpecification={"StreamEnabled": True, "StreamViewType": view})
    arn = ddb.describe_table(TableName=name)["Table"]["LatestStreamArn"]
    return name, arn


def test_describe_table_shows_stream(ddb: Any, make_table: Callable[..., str]) -> None:
    name, arn = stream_table(make_table, ddb, "NEW_AND_OLD_IMAGES")
    table = ddb.describe_table(TableName=name)["Table"]
    assert table["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    assert arn.startswith(table["TableArn"] + "/stream/")
    assert arn.endswith(table["LatestStreamLabel"])


def test_insert_modify_remove_with_both_images(ddb: Any, streams: Any, make_table: Callable[..., str]) -> None:
    name, arn = stream_table(make_table, ddb, "NEW_AND_OLD_IMAGES")
    ddb.put_item(TableName=name, Item={"pk": {"S": "a"}, "v": {"N": "1"}})
    ddb.put_item(TableName=name, Item={"pk": {"S": "a"}, "v": {"N": "1"}})  # identical: no record
    ddb.update_item(TableName=name, Key={"pk": {"S": "a"}}, UpdateExpression="SET v = :v", ExpressionAttributeValues={":v": {"N": "2"}})
    ddb.delete_item(TableName=name, Key={"pk": {"S": "a"}})
    ddb.delete_item(TableName=name, Key={"pk": {"S": "missing"}})  # nothing deleted: no record
    records = read_all(streams, arn)
    assert [r["eventName"] for r in records] == ["INSERT", "MODIFY", "REMOVE"]
    ins, mod, rem = records
    for r in records:
        assert r["eventVersion"] == "1.1"
        assert r["eventSource"] == "aws:dynamodb"
        assert r["awsRegion"] == "us-east-1"
        assert len(r["eventID"]) >= 32
        d = r["dynamodb"]
        assert d["Keys"] == {"pk": {"S": "a"}}
        assert d["StreamViewType"] == "NEW_AND_OLD_IMAGES"
        assert d["SequenceNumber"].isdigit() and len(d["SequenceNumber"]) >= 21
        assert d["SizeBytes"] > 0
        assert "ApproximateCreationDateTime" in d
        assert "userIdentity" not in r
    assert ins["dynamodb"]["NewImage"] == {"pk": {"S": "a"}, "v": {"N": "1"}} and "OldImage" not in ins["dynamodb"]
    assert mod["dynamodb"]["OldImage"]["v"] == {"N": "1"} and mod["dynamodb"]["NewImage"]["v"] == {"N": "2"}
    assert rem["dynamodb"]["OldImage"]["v"] == {"N": "2"} and "NewImage" not in rem["dynamodb"]
    seqs = [int(r["dynamodb"]["SequenceNumber"]) for r in records]
    assert seqs == sorted(seqs) and len(set(seqs)) == 3


@pytest.mark.parametrize(
    ("view", "new", "old"),
    [("KEYS_ONLY", False, False), ("NEW_IMAGE", True, False), ("OLD_IMAGE", False, True), ("NEW_AND_OLD_IMAGES", True, True)],
)
def test_view_types(ddb: Any, streams: Any, make_table: Callable[..., str], view: str, new: bool, old: bool) -> None:
    name, arn = stream_table(make_table, ddb, view)
    ddb.put_item(TableName=name, Item={"pk": {"S": "k"}, "b": {"B": b"\x00\x01"}})
    ddb.put_item(TableName=name, Item={"pk": {"S": "k"}, "b": {"B": b"\x02"}})
    records = read_all(streams, arn)
    assert [r["eventName"] for r in records] == ["INSERT", "MODIFY"]
    mod = records[1]["dynamodb"]
    assert mod["Keys"] == {"pk": {"S": "k"}}
    assert ("NewImage" in mod) is new
    assert ("OldImage" in mod) is old
    if new:
        assert mod["NewImage"]["b"] == {"B": b"\x02"}
    if old:
        assert mod["OldImage"]["b"] == {"B": b"\x00\x01"}


def test_batch_and_transaction_writes_are_recorded(ddb: Any, streams: Any, make_table: Callable[..., str]) -> None:
    name, arn = stream_table(make_table, ddb, "KEYS_ONLY")
    ddb.batch_write_item(RequestItems={name: [{"PutRequest": {"Item": {"pk": {"S": f"b{i}"}}}} for i in range(5)]})
    ddb.transact_write_items(
        TransactItems=[{"Put": {"TableName": name, "Item": {"pk": {"S": "t1"}}}}, {"Delete": {"TableName": name, "Key": {"pk": {"S": "b0"}}}}]
    )
    with pytest.raises(ClientError):  # a cancelled transaction leaves no record
        ddb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": name, "Item": {"pk": {"S": "t2"}}}},
                {"ConditionCheck": {"TableName": name, "Key": {"pk": {"S": "nope"}}, "ConditionExpression": "attribute_exists(pk)"}},
            ]
        )
    records = read_all(streams, arn)
    keys = [(r["eventName"], r["dynamodb"]["Keys"]["pk"]["S"]) for r in records]
    assert sorted(keys[:5]) == [("INSERT", f"b{i}") for i in range(5)]
    assert sorted(keys[5:]) == [("INSERT", "t1"), ("REMOVE", "b0")]


def test_iterator_types(ddb: Any, streams: Any, make_table: Callable[..., str]) -> None:
    name, arn = stream_table(make_table, ddb, "KEYS_ONLY")
    for i in range(4):
        ddb.put_item(TableName=name, Item={"pk": {"S": f"k{i}"}})
    records = read_all(streams, arn)
    seqs = [r["dynamodb"]["SequenceNumber"] for r in records]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    at = read_all(streams, arn, "AT_SEQUENCE_NUMBER", SequenceNumber=seqs[1])
    assert [r["dynamodb"]["SequenceNumber"] for r in at] == seqs[1:]
    after = read_all(streams, arn, "AFTER_SEQUENCE_NUMBER", SequenceNumber=seqs[1])
    assert [r["dynamodb"]["SequenceNumber"] for r in after] == seqs[2:]
    latest = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="LATEST")["ShardIterator"]
    assert streams.get_records(ShardIterator=latest)["Records"] == []
    ddb.put_item(TableName=name, Item={"pk": {"S": "new"}})
    got = streams.get_records(ShardIterator=latest)["Records"]
    assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in got] == ["new"]
    # Limit pages, and NextShardIterator continues where the page stopped.
    it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    first = streams.get_records(ShardIterator=it, Limit=2)
    assert len(first["Records"]) == 2
    rest = streams.get_records(ShardIterator=first["NextShardIterator"])
    assert [r["dynamodb"]["SequenceNumber"] for r in first["Records"] + rest["Records"]][:4] == seqs


def test_list_and_describe_streams(ddb: Any, streams: Any, make_table: Callable[..., str]) -> None:
    name, arn = stream_table(make_table, ddb, "NEW_IMAGE")
    listed = streams.list_streams(TableName=name)["Streams"]
    assert listed == [{"StreamArn": arn, "TableName": name, "StreamLabel": arn.rsplit("/", 1)[1]}]
    assert any(s["StreamArn"] == arn for s in streams.list_streams()["Streams"])
    desc = streams.describe_stream(StreamArn=arn)["StreamDescription"]
    assert desc["StreamStatus"] == "ENABLED"
    assert desc["StreamViewType"] == "NEW_IMAGE"
    assert desc["TableName"] == name
    assert desc["KeySchema"] == [{"AttributeName": "pk", "KeyType": "HASH"}]
    assert len(desc["Shards"]) == 1 and "EndingSequenceNumber" not in desc["Shards"][0]["SequenceNumberRange"]


def test_disable_stream_closes_shard(ddb: Any, streams: Any, make_table: Callable[..., str]) -> None:
    name, arn = stream_table(make_table, ddb, "KEYS_ONLY")
    ddb.put_item(TableName=name, Item={"pk": {"S": "x"}})
    ddb.update_table(TableName=name, StreamSpecification={"StreamEnabled": False})
    ddb.put_item(TableName=name, Item={"pk": {"S": "y"}})  # not recorded: stream disabled
    desc = streams.describe_stream(StreamArn=arn)["StreamDescription"]
    assert desc["StreamStatus"] == "DISABLED"
    assert "EndingSequenceNumber" in desc["Shards"][0]["SequenceNumberRange"]
    it = streams.get_shard_iterator(StreamArn=arn, ShardId=desc["Shards"][0]["ShardId"], ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    page = streams.get_records(ShardIterator=it)
    assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in page["Records"]] == ["x"]
    assert "NextShardIterator" not in page
    # Re-enabling makes a new stream with a new label.
    ddb.update_table(TableName=name, StreamSpecification={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"})
    new_arn = ddb.describe_table(TableName=name)["Table"]["LatestStreamArn"]
    assert new_arn != arn
    assert {s["StreamArn"] for s in streams.list_streams(TableName=name)["Streams"]} == {arn, new_arn}


def test_deleted_table_stream_stays_readable(ddb: Any, streams: Any, new_name: Callable[..., str]) -> None:
    name = new_name()
    ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"},
    )
    arn = ddb.describe_table(TableName=name)["Table"]["LatestStreamArn"]
    ddb.put_item(TableName=name, Item={"pk": {"S": "x"}})
    ddb.delete_table(TableName=name)
    assert streams.describe_stream(StreamArn=arn)["StreamDescription"]["StreamStatus"] == "DISABLED"
    assert [r["eventName"] for r in read_all(streams, arn)] == ["INSERT"]


def test_errors(ddb: Any, streams: Any, make_table: Callable[..., str]) -> None:
    _name, arn = stream_table(make_table, ddb, "KEYS_ONLY")
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    with pytest.raises(ClientError) as err:
        streams.describe_stream(StreamArn=arn + "x")
    assert err.value.response["Error"]["Code"] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as err:
        streams.get_shard_iterator(StreamArn=arn, ShardId="shardId-00000000000000000000-00000000", ShardIteratorType="LATEST")
    assert err.value.response["Error"]["Code"] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as err:
        streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="AT_SEQUENCE_NUMBER")
    assert err.value.response["Error"]["Code"] == "ValidationException"
    with pytest.raises(ClientError) as err:
        streams.get_records(ShardIterator="garbage")
    assert err.value.response["Error"]["Code"] == "ValidationException"
    with pytest.raises(ClientError) as err:
        streams.list_streams(TableName="no-such-table-xyz")
    assert err.value.response["Error"]["Code"] == "ResourceNotFoundException"
