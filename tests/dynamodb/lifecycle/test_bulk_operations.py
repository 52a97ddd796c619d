"""Bulk operations over the wire: StartBulkPutItems reads S3 (moto's, through boto3's s3
client) into an existing table; DescribeBulkOperation, ListBulkOperations, CancelBulkOperation;
ClientToken idempotency; error output; regions; an operation surviving kill -9."""

from __future__ import annotations

import gzip
import json
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from emulator.testing.server import EmulatorServer

from ..conftest import unique
from .conftest import read_all

TERMINAL = ("COMPLETED", "COMPLETED_WITH_ERRORS", "CANCELLED", "FAILED")


def lines(items: list[dict[str, Any]]) -> bytes:
    return b"".join(json.dumps({"Item": item}).encode() + b"\n" for item in items)


def wait(ddb: Any, arn: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.time() + timeout
    while True:
        desc: dict[str, Any] = ddb.describe_bulk_operation(BulkOperationArn=arn)["BulkOperationDescription"]
        if desc["BulkOperationStatus"] in TERMINAL or time.time() > deadline:
            return desc
        time.sleep(0.1)


def bucket(s3: Any) -> str:
    name = f"bulk-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    return name


def scan(ddb: Any, name: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"TableName": name}
    while True:
        page = ddb.scan(**kwargs)
        out.extend(page["Items"])
        if "LastEvaluatedKey" not in page:
            return out
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def start(ddb: Any, table: str, src: str, prefix: str = "", out: str | None = None, **kwargs: Any) -> dict[str, Any]:
    source: dict[str, Any] = {"S3Bucket": src, "InputFormat": "DYNAMODB_JSON"}
    if prefix:
        source["S3KeyPrefix"] = prefix
    source.update(kwargs.pop("source", {}))
    desc: dict[str, Any] = ddb.start_bulk_put_items(
        TableName=table,
        InputS3Configuration=source,
        OutputS3Configuration=kwargs.pop("output", None) or {"S3Bucket": out or src, "S3KeyPrefix": "bulk-out", "OutputType": ["ERROR"]},
        **kwargs,
    )["BulkOperationDescription"]
    return desc


@pytest.fixture(scope="module")
def s3(aws_client: Callable[..., Any]) -> Any:
    return aws_client("s3")


def test_bulk_put_writes_every_item_through_the_engine(ddb: Any, s3: Any, streams: Any, make_table: Callable[..., str]) -> None:
    name = make_table(
        range=("sk", "N"),
        extra_attrs={"g": "S"},
        GlobalSecondaryIndexes=[{"IndexName": "by-g", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}], "Projection": {"ProjectionType": "ALL"}}],
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    ddb.put_item(TableName=name, Item={"pk": {"S": "p0"}, "sk": {"N": "0"}, "old": {"BOOL": True}})  # replaced by the load
    src = bucket(s3)
    first = [{"pk": {"S": f"p{i % 3}"}, "sk": {"N": str(i)}, "g": {"S": f"g{i % 2}"}, "b": {"B": "AAEC"}} for i in range(700)]
    second = [{"pk": {"S": "q"}, "sk": {"N": str(i)}, "m": {"M": {"l": {"L": [{"N": "1.5"}, {"SS": ["a", "b"]}]}}}} for i in range(50)]
    s3.put_object(Bucket=src, Key="in/part-1.json", Body=lines(first))
    body = gzip.compress(lines(second))
    s3.put_object(Bucket=src, Key="in/sub/part-2.json.gz", Body=body)
    s3.put_object(Bucket=src, Key="other/ignored.json", Body=lines([{"pk": {"S": "nope"}, "sk": {"N": "1"}}]))
    desc = start(ddb, name, src, "in/part-1", ClientToken="t-" + uuid.uuid4().hex)
    assert desc["BulkOperationStatus"] == "IN_PROGRESS"
    assert desc["BulkOperationArn"].startswith(ddb.describe_table(TableName=name)["Table"]["TableArn"] + "/bulk-operation/")
    assert desc["PerformanceTier"] == "STANDARD"
    done = wait(ddb, desc["BulkOperationArn"])
    assert done["BulkOperationStatus"] == "COMPLETED", done
    assert done["ProcessedItemCount"] == 700 and done["FailedItemCount"] == 0
    assert done["TotalInputBytes"] == done["ProcessedInputBytes"] == len(lines(first))
    assert done["EndTime"] >= done["StartTime"]
    assert done["TableDetails"] == [{"TableName": ddb.describe_table(TableName=name)["Table"]["TableArn"], "TableId": ddb.describe_table(TableName=name)["Table"]["TableId"]}]
    usage = done["BulkOperationUsage"][0]
    assert usage["Table"]["BulkPutBytes"] > 0 and usage["GlobalSecondaryIndexes"]["by-g"]["BulkPutBytes"] > 0
    assert usage["BulkPutBytes"] == usage["Table"]["BulkPutBytes"] + usage["GlobalSecondaryIndexes"]["by-g"]["BulkPutBytes"]
    items = scan(ddb, name)
    assert len(items) == 700
    assert {"pk": {"S": "p0"}, "sk": {"N": "0"}, "g": {"S": "g0"}, "b": {"B": b"\x00\x01\x02"}} in items
    assert ddb.query(TableName=name, IndexName="by-g", KeyConditionExpression="g = :g", ExpressionAttributeValues={":g": {"S": "g1"}}, Select="COUNT")["Count"] == 350
    stream = ddb.describe_table(TableName=name)["Table"]["LatestStreamArn"]
    records = read_all(streams, stream)
    assert sum(1 for r in records if r["eventName"] == "INSERT") == 700  # the put above and 699 new ones
    assert any(r["eventName"] == "MODIFY" and r["dynamodb"]["Keys"] == {"pk": {"S": "p0"}, "sk": {"N": "0"}} for r in records)

    # A gzip object under a prefix that is a folder.
    gz = start(ddb, name, src, "in/sub/", source={"InputCompressionType": "GZIP"})
    done = wait(ddb, gz["BulkOperationArn"])
    assert done["BulkOperationStatus"] == "COMPLETED", done
    assert done["ProcessedItemCount"] == 50 and done["ProcessedInputBytes"] == len(body)
    item = ddb.get_item(TableName=name, Key={"pk": {"S": "q"}, "sk": {"N": "7"}})["Item"]
    assert item["m"] == {"M": {"l": {"L": [{"N": "1.5"}, {"SS": ["a", "b"]}]}}}


def test_invalid_records_are_counted_and_reported(ddb: Any, s3: Any, make_table: Callable[..., str]) -> None:
    name = make_table()
    src, out = bucket(s3), bucket(s3)
    body = b"\n".join(
        [
            json.dumps({"Item": {"pk": {"S": "ok1"}}}).encode(),
            b"{not json",
            json.dumps({"Item": {"other": {"S": "no key"}}}).encode(),
            json.dumps({"Item": {"pk": {"N": "1"}}}).encode(),  # the key's type is S
            b"",
            json.dumps({"Item": {"pk": {"S": "ok2"}, "big": {"S": "x" * 500_000}}}).encode(),  # over 400 KB
            json.dumps({"Item": {"pk": {"S": "ok3"}}}).encode(),
        ]
    )
    s3.put_object(Bucket=src, Key="data.json", Body=body)
    desc = start(ddb, name, src, out=out, output={"S3Bucket": out, "S3KeyPrefix": "reports/", "OutputType": ["ERROR"]})
    done = wait(ddb, desc["BulkOperationArn"])
    assert done["BulkOperationStatus"] == "COMPLETED_WITH_ERRORS", done
    assert done["ProcessedItemCount"] == 6 and done["FailedItemCount"] == 4
    assert sorted(i["pk"]["S"] for i in scan(ddb, name)) == ["ok1", "ok3"]
    op_id = desc["BulkOperationArn"].rsplit("/", 1)[1]
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=out)["Contents"]]
    assert keys and all(k.startswith(f"reports/AWSDynamoDB/{op_id}/errors/") for k in keys)
    reports = [json.loads(line) for k in keys for line in s3.get_object(Bucket=out, Key=k)["Body"].read().splitlines()]
    assert sorted(r["LineNumber"] for r in reports) == [2, 3, 4, 6]
    assert all(r["S3Bucket"] == src and r["S3Key"] == "data.json" and r["ErrorMessage"] for r in reports)
    assert next(r for r in reports if r["LineNumber"] == 3)["Record"] == json.dumps({"Item": {"other": {"S": "no key"}}})

    # Without ERROR among the output types nothing is written, the counts are the same.
    quiet = bucket(s3)
    desc = start(ddb, name, src, output={"S3Bucket": quiet, "OutputType": ["CONDITION_CHECK_FAILURE"]})
    done = wait(ddb, desc["BulkOperationArn"])
    assert done["BulkOperationStatus"] == "COMPLETED_WITH_ERRORS" and done["FailedItemCount"] == 4
    assert s3.list_objects_v2(Bucket=quiet)["KeyCount"] == 0


def test_client_token_and_errors(ddb: Any, s3: Any, make_table: Callable[..., str], aws_client: Callable[..., Any]) -> None:
    name = make_table()
    src = bucket(s3)
    s3.put_object(Bucket=src, Key="a.json", Body=lines([{"pk": {"S": "a"}}]))
    token = "tok-" + uuid.uuid4().hex
    first = start(ddb, name, src, ClientToken=token)
    again = start(ddb, name, src, ClientToken=token)
    assert again["BulkOperationArn"] == first["BulkOperationArn"] and again["ClientToken"] == token
    with pytest.raises(ClientError) as err:
        start(ddb, name, src, ClientToken=token, MaxWriteRequestUnits=2048)
    assert err.value.response["Error"]["Code"] == "IdempotentParameterMismatchException"
    with pytest.raises(ClientError) as err:
        start(ddb, unique("missing"), src)
    assert err.value.response["Error"]["Code"] == "ResourceNotFoundException"
    for source in ({"InputFormat": "ION"}, {"InputCompressionType": "ZSTD"}):
        with pytest.raises(ClientError) as err:
            start(ddb, name, src, source=source)
        assert err.value.response["Error"]["Code"] == "ValidationException"
    raw = aws_client("dynamodb", config=Config(parameter_validation=False))
    for kwargs in ({"MaxWriteRequestUnits": 10}, {"PerformanceTier": "FAST"}, {"source": {"InputFormat": "CSV"}}, {"output": {"S3Bucket": src, "OutputType": ["EVERYTHING"]}}):
        with pytest.raises(ClientError) as err:
            start(raw, name, src, **kwargs)
        assert err.value.response["Error"]["Code"] == "ValidationException", kwargs
    arn = first["BulkOperationArn"]
    for call in (ddb.describe_bulk_operation, ddb.cancel_bulk_operation):
        with pytest.raises(ClientError) as err:
            call(BulkOperationArn=arn[:-3] + "000")
        assert err.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert wait(ddb, arn)["BulkOperationStatus"] == "COMPLETED"
    with pytest.raises(ClientError) as err:
        ddb.cancel_bulk_operation(BulkOperationArn=arn)  # nothing left to cancel
    assert err.value.response["Error"]["Code"] == "ValidationException"
    # No objects under the prefix: the operation fails, as it is accepted before reading.
    empty = start(ddb, name, src, "nothing-here/")
    failed = wait(ddb, empty["BulkOperationArn"])
    assert failed["BulkOperationStatus"] == "FAILED" and failed["FailureCode"] and "nothing-here/" in failed["FailureMessage"]


def test_cancel_a_running_operation(ddb: Any, s3: Any, make_table: Callable[..., str]) -> None:
    name = make_table()
    src = bucket(s3)
    # 1 KB items at 1,024 write request units per second: about 4 seconds of work.
    items = [{"pk": {"S": f"k{i:05d}"}, "pad": {"S": "x" * 900}} for i in range(4096)]
    s3.put_object(Bucket=src, Key="big.json", Body=lines(items))
    desc = start(ddb, name, src, MaxWriteRequestUnits=1024, PerformanceTier="ACCELERATED")
    assert desc["MaxWriteRequestUnits"] == 1024 and desc["PerformanceTier"] == "ACCELERATED"
    arn = desc["BulkOperationArn"]
    deadline = time.time() + 20
    while ddb.describe_bulk_operation(BulkOperationArn=arn)["BulkOperationDescription"]["ProcessedItemCount"] == 0 and time.time() < deadline:
        time.sleep(0.05)
    out = ddb.cancel_bulk_operation(BulkOperationArn=arn)
    assert out == {"BulkOperationArn": arn, "BulkOperationStatus": "CANCELLING", "ResponseMetadata": out["ResponseMetadata"]}
    try:  # again: still CANCELLING, or refused once the worker has ended it
        assert ddb.cancel_bulk_operation(BulkOperationArn=arn)["BulkOperationStatus"] == "CANCELLING"
    except ClientError as exc:
        assert exc.response["Error"]["Code"] == "ValidationException"
        assert ddb.describe_bulk_operation(BulkOperationArn=arn)["BulkOperationDescription"]["BulkOperationStatus"] == "CANCELLED"
    done = wait(ddb, arn)
    assert done["BulkOperationStatus"] == "CANCELLED", done
    assert done["FailureCode"] and done["FailureMessage"] and "EndTime" in done
    assert 0 < done["ProcessedItemCount"] < 4096
    # What was written stays, and is exactly what the counts say.
    assert len(scan(ddb, name)) == done["ProcessedItemCount"]
    time.sleep(0.5)
    assert len(scan(ddb, name)) == done["ProcessedItemCount"]


def test_list_pages_newest_first_and_regions(ddb: Any, s3: Any, make_table: Callable[..., str], aws_client: Callable[..., Any]) -> None:
    name = make_table()
    src = bucket(s3)
    s3.put_object(Bucket=src, Key="a.json", Body=lines([{"pk": {"S": "a"}}]))
    arns = [start(ddb, name, src)["BulkOperationArn"] for _ in range(3)]
    seen: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"MaxResults": 1}
    for _ in range(10):
        page = ddb.list_bulk_operations(**kwargs)
        assert len(page["BulkOperationsSummaryList"]) <= 1
        seen.extend(page["BulkOperationsSummaryList"])
        if "NextToken" not in page:
            break
        kwargs["NextToken"] = page["NextToken"]
    mine = [s["BulkOperationArn"] for s in seen if s["BulkOperationArn"] in arns]
    assert mine == list(reversed(arns))
    assert all({"BulkOperationArn", "BulkOperationStatus", "StartTime"} <= set(s) for s in seen)
    assert ddb.list_bulk_operations()["BulkOperationsSummaryList"][0]["BulkOperationArn"] == arns[-1]
    with pytest.raises(ClientError) as err:
        ddb.list_bulk_operations(NextToken="00112233445566ff")
    assert err.value.response["Error"]["Code"] == "ValidationException"
    # Bulk operations are regional, as their tables.
    west = aws_client("dynamodb", region_name="eu-west-1")
    assert all(s["BulkOperationArn"] not in arns for s in west.list_bulk_operations()["BulkOperationsSummaryList"])
    with pytest.raises(ClientError) as err:
        west.describe_bulk_operation(BulkOperationArn=arns[0])
    assert err.value.response["Error"]["Code"] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as err:
        start(west, name, src)  # no such table in eu-west-1
    assert err.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert f":{ddb.meta.region_name}:" in arns[0]


def test_operation_survives_kill_9(tmp_path: Path) -> None:
    server = EmulatorServer(data_dir=tmp_path).start()
    try:
        ddb, s3 = server.client("dynamodb"), server.client("s3")
        ddb.create_table(TableName="bulk", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}], AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
        s3.create_bucket(Bucket="in-bucket")
        items = [{"pk": {"S": f"k{i:05d}"}, "pad": {"S": "x" * 900}} for i in range(5000)]
        s3.put_object(Bucket="in-bucket", Key="big.json", Body=lines(items))
        arn = start(ddb, "bulk", "in-bucket", MaxWriteRequestUnits=1024)["BulkOperationArn"]
        deadline = time.time() + 20
        while ddb.describe_bulk_operation(BulkOperationArn=arn)["BulkOperationDescription"]["ProcessedItemCount"] < 500 and time.time() < deadline:
            time.sleep(0.05)
        server.kill()
    finally:
        server.stop()
    server = EmulatorServer(data_dir=tmp_path).start()
    try:
        ddb = server.client("dynamodb")
        done = wait(ddb, arn)
        assert done["BulkOperationStatus"] == "COMPLETED", done
        assert done["ProcessedItemCount"] == 5000 and done["FailedItemCount"] == 0
        assert done["ProcessedInputBytes"] == done["TotalInputBytes"]
        assert len(scan(ddb, "bulk")) == 5000
        assert [s["BulkOperationArn"] for s in ddb.list_bulk_operations()["BulkOperationsSummaryList"]] == [arn]
    finally:
        server.cleanup()


def test_table_deleted_while_running_fails_the_operation(ddb: Any, s3: Any, make_table: Callable[..., str]) -> None:
    name = make_table()
    src = bucket(s3)
    s3.put_object(Bucket=src, Key="big.json", Body=lines([{"pk": {"S": f"k{i:05d}"}, "pad": {"S": "x" * 900}} for i in range(4096)]))
    arn = start(ddb, name, src, MaxWriteRequestUnits=1024)["BulkOperationArn"]
    deadline = time.time() + 20
    while ddb.describe_bulk_operation(BulkOperationArn=arn)["BulkOperationDescription"]["ProcessedItemCount"] == 0 and time.time() < deadline:
        time.sleep(0.05)
    ddb.delete_table(TableName=name)
    done = wait(ddb, arn)
    assert done["BulkOperationStatus"] == "FAILED", done
    assert done["FailureCode"] == "ResourceNotFound" and name in done["FailureMessage"]
    assert 0 < done["ProcessedItemCount"] < 4096


def test_import_table_reads_the_same_s3(ddb: Any, s3: Any) -> None:
    """ImportTable and StartBulkPutItems share the S3 reader and the DYNAMODB_JSON parser:
    an import reads a bucket of this server's S3 too."""
    src = bucket(s3)
    s3.put_object(Bucket=src, Key="exp/data/1.json.gz", Body=gzip.compress(lines([{"pk": {"S": f"i{i}"}} for i in range(30)]) + b"{broken\n"))
    name = unique("imp")
    out = ddb.import_table(
        S3BucketSource={"S3Bucket": src, "S3KeyPrefix": "exp/"},
        InputFormat="DYNAMODB_JSON",
        InputCompressionType="GZIP",
        TableCreationParameters={"TableName": name, "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}], "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}], "BillingMode": "PAY_PER_REQUEST"},
    )
    arn = out["ImportTableDescription"]["ImportArn"]
    deadline = time.time() + 30
    while (desc := ddb.describe_import(ImportArn=arn)["ImportTableDescription"])["ImportStatus"] == "IN_PROGRESS" and time.time() < deadline:
        time.sleep(0.1)
    assert desc["ImportStatus"] == "COMPLETED", desc
    assert desc["ImportedItemCount"] == 30 and desc["ErrorCount"] == 1 and desc["ProcessedItemCount"] == 31
    assert len(scan(ddb, name)) == 30
    ddb.delete_table(TableName=name)


def test_items_the_engine_refuses_while_writing_are_left_out(tmp_path: Path) -> None:
    """An item collection over its size limit fails only the items that overflow it: the batch
    is done again one item per transaction."""
    with EmulatorServer(data_dir=tmp_path, env={"EMULATOR_DYNAMODB_ITEM_COLLECTION_LIMIT": "5000"}) as server:
        ddb, s3 = server.client("dynamodb"), server.client("s3")
        ddb.create_table(
            TableName="lsi",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in ("pk", "sk", "l")],
            LocalSecondaryIndexes=[{"IndexName": "by-l", "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "l", "KeyType": "RANGE"}], "Projection": {"ProjectionType": "KEYS_ONLY"}}],
            BillingMode="PAY_PER_REQUEST",
        )
        s3.create_bucket(Bucket="in-bucket")
        crowded = [{"pk": {"S": "full"}, "sk": {"S": f"{i:03d}"}, "l": {"S": "x"}, "pad": {"S": "y" * 1000}} for i in range(10)]
        spread = [{"pk": {"S": f"p{i}"}, "sk": {"S": "0"}, "l": {"S": "x"}} for i in range(20)]
        s3.put_object(Bucket="in-bucket", Key="in.json", Body=lines(crowded + spread))
        desc = start(ddb, "lsi", "in-bucket", output={"S3Bucket": "in-bucket", "S3KeyPrefix": "out", "OutputType": ["ERROR"]})
        done = wait(ddb, desc["BulkOperationArn"])
        assert done["BulkOperationStatus"] == "COMPLETED_WITH_ERRORS", done
        stored = scan(ddb, "lsi")
        crowded_stored = [i for i in stored if i["pk"]["S"] == "full"]
        assert 0 < len(crowded_stored) < 10 and len(stored) == len(crowded_stored) + 20
        assert done["ProcessedItemCount"] == 30 and done["FailedItemCount"] == 10 - len(crowded_stored)
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket="in-bucket", Prefix="out/")["Contents"]]
        reports = [json.loads(line) for k in keys for line in s3.get_object(Bucket="in-bucket", Key=k)["Body"].read().splitlines()]
        assert len(reports) == done["FailedItemCount"] and all(r["ErrorCode"] == "ItemCollectionSizeLimitExceededException" for r in reports)


def test_reset_stops_and_forgets_running_operations(ddb: Any, s3: Any, make_table: Callable[..., str], emulator: EmulatorServer) -> None:
    name = make_table()
    src = bucket(s3)
    s3.put_object(Bucket=src, Key="big.json", Body=lines([{"pk": {"S": f"k{i:05d}"}, "pad": {"S": "x" * 900}} for i in range(4096)]))
    arn = start(ddb, name, src, MaxWriteRequestUnits=1024)["BulkOperationArn"]
    emulator.reset(["dynamodb"])
    assert ddb.list_bulk_operations()["BulkOperationsSummaryList"] == []
    with pytest.raises(ClientError) as err:
        ddb.describe_bulk_operation(BulkOperationArn=arn)
    assert err.value.response["Error"]["Code"] == "ResourceNotFoundException"
    make_table(TableName=name)  # a new table of the same name: nothing of the old operation lands in it
    time.sleep(1.0)
    assert scan(ddb, name) == []


def test_kinesis_destinations_see_the_items(ddb: Any, s3: Any, make_table: Callable[..., str], aws_client: Callable[..., Any]) -> None:
    kinesis = aws_client("kinesis")
    stream = unique("bulk-stream")
    kinesis.create_stream(StreamName=stream, ShardCount=1)
    stream_arn = kinesis.describe_stream_summary(StreamName=stream)["StreamDescriptionSummary"]["StreamARN"]
    name = make_table()
    ddb.enable_kinesis_streaming_destination(TableName=name, StreamArn=stream_arn)
    deadline = time.time() + 15
    while ddb.describe_kinesis_streaming_destination(TableName=name)["KinesisDataStreamDestinations"][0]["DestinationStatus"] != "ACTIVE" and time.time() < deadline:
        time.sleep(0.1)
    src = bucket(s3)
    s3.put_object(Bucket=src, Key="in.json", Body=lines([{"pk": {"S": f"k{i}"}} for i in range(40)]))
    assert wait(ddb, start(ddb, name, src)["BulkOperationArn"])["BulkOperationStatus"] == "COMPLETED"
    shard = kinesis.list_shards(StreamName=stream)["Shards"][0]["ShardId"]
    keys: set[str] = set()
    deadline = time.time() + 15
    while len(keys) < 40 and time.time() < deadline:
        it = kinesis.get_shard_iterator(StreamName=stream, ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        for rec in kinesis.get_records(ShardIterator=it, Limit=1000)["Records"]:
            data = json.loads(rec["Data"])
            assert data["eventName"] == "INSERT" and data["tableName"] == name
            keys.add(data["dynamodb"]["Keys"]["pk"]["S"])
        time.sleep(0.2)
    assert keys == {f"k{i}" for i in range(40)}
