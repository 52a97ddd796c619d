"""Kinesis Data Streams for DynamoDB: Enable/Disable/Describe/UpdateKinesisStreamingDestination,
and the JSON records a consumer reads from the Kinesis stream with boto3."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from emulator.testing import EmulatorServer

from ..postgres.pg import server_url, unavailable, with_schema

ActiveWait = Callable[..., None]


def _err(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    error = exc.value.response["Error"]
    return error["Code"], error.get("Message", "")


def _make_stream(kinesis: Any, name: str, shards: int = 2) -> str:
    kinesis.create_stream(StreamName=name, ShardCount=shards)
    return str(kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamARN"])


def _status(ddb: Any, table: str, arn: str) -> dict[str, Any]:
    dests = ddb.describe_kinesis_streaming_destination(TableName=table)["KinesisDataStreamDestinations"]
    found = [d for d in dests if d["StreamArn"] == arn]
    assert len(found) == 1, dests
    return dict(found[0])


def _wait_status(ddb: Any, table: str, arn: str, status: str, timeout: float = 15.0) -> dict[str, Any]:
    deadline = time.time() + timeout
    while True:
        dest = _status(ddb, table, arn)
        if dest["DestinationStatus"] == status or time.time() > deadline:
            assert dest["DestinationStatus"] == status, dest
            return dest
        time.sleep(0.1)


def _read(kinesis: Any, arn: str) -> list[dict[str, Any]]:
    """Every record of the stream, shard by shard (each shard in order), with its partition key."""
    out: list[dict[str, Any]] = []
    name = arn.rsplit("/", 1)[-1]
    for shard in kinesis.list_shards(StreamName=name)["Shards"]:
        it = kinesis.get_shard_iterator(StreamName=name, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        while it:
            page = kinesis.get_records(ShardIterator=it)
            for rec in page["Records"]:
                out.append({"partition": rec["PartitionKey"], "shard": shard["ShardId"], "seq": int(rec["SequenceNumber"]), **json.loads(rec["Data"])})
            if not page["Records"]:
                break
            it = page.get("NextShardIterator")
    return out


def _read_until(kinesis: Any, arn: str, count: int, timeout: float = 15.0) -> list[dict[str, Any]]:
    deadline = time.time() + timeout
    while True:
        records = _read(kinesis, arn)
        if len(records) >= count or time.time() > deadline:
            return records
        time.sleep(0.1)


def _by_time(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(records, key=lambda r: (r["dynamodb"]["ApproximateCreationDateTime"], r["seq"]))


@pytest.fixture
def kinesis(aws_client: Callable[..., Any]) -> Any:
    return aws_client("kinesis")


def _enable(ddb: Any, table: str, arn: str, **kwargs: Any) -> None:
    out = ddb.enable_kinesis_streaming_destination(TableName=table, StreamArn=arn, **kwargs)
    assert out["DestinationStatus"] == "ENABLING"
    assert out["TableName"] == table and out["StreamArn"] == arn
    _wait_status(ddb, table, arn, "ACTIVE")


# --------------------------------------------------------------------------- records
def test_records_of_every_write_path(ddb: Any, kinesis: Any, make_table: Callable[..., str]) -> None:
    table = make_table(range=("sk", "S"))
    arn = _make_stream(kinesis, "changes")
    _enable(ddb, table, arn)
    region = ddb.meta.region_name

    ddb.put_item(TableName=table, Item={"pk": {"S": "a"}, "sk": {"S": "1"}, "v": {"N": "1"}, "b": {"B": b"\x00\x01"}})
    ddb.update_item(TableName=table, Key={"pk": {"S": "a"}, "sk": {"S": "1"}}, UpdateExpression="SET v = :v", ExpressionAttributeValues={":v": {"N": "2"}})
    # Changes nothing: no record (as DynamoDB Streams).
    ddb.put_item(TableName=table, Item={"pk": {"S": "a"}, "sk": {"S": "1"}, "v": {"N": "2"}, "b": {"B": b"\x00\x01"}})
    with pytest.raises(ClientError):
        ddb.put_item(TableName=table, Item={"pk": {"S": "a"}, "sk": {"S": "1"}}, ConditionExpression="attribute_not_exists(pk)")
    ddb.delete_item(TableName=table, Key={"pk": {"S": "a"}, "sk": {"S": "1"}})
    ddb.batch_write_item(RequestItems={table: [{"PutRequest": {"Item": {"pk": {"S": f"b{i}"}, "sk": {"S": "x"}}}} for i in range(3)]})
    ddb.transact_write_items(
        TransactItems=[
            {"Put": {"TableName": table, "Item": {"pk": {"S": "t"}, "sk": {"S": "1"}}}},
            {"Delete": {"TableName": table, "Key": {"pk": {"S": "b0"}, "sk": {"S": "x"}}}},
        ]
    )
    ddb.execute_statement(Statement=f"INSERT INTO \"{table}\" VALUE {{'pk': 'p', 'sk': 'q', 'n': 5}}")
    ddb.execute_statement(Statement=f"UPDATE \"{table}\" SET n = 6 WHERE pk = 'p' AND sk = 'q'")

    records = _read_until(kinesis, arn, 10)
    assert len(records) == 10, [r["eventName"] for r in records]
    for rec in records:
        assert set(rec) == {"partition", "shard", "seq", "awsRegion", "eventID", "eventName", "userIdentity", "recordFormat", "tableName", "dynamodb", "eventSource"}
        assert rec["awsRegion"] == region
        assert rec["recordFormat"] == "application/json"
        assert rec["tableName"] == table
        assert rec["eventSource"] == "aws:dynamodb"
        assert rec["userIdentity"] is None
        assert rec["dynamodb"]["ApproximateCreationDateTimePrecision"] == "MILLISECOND"
        # Epoch milliseconds.
        assert abs(rec["dynamodb"]["ApproximateCreationDateTime"] - time.time() * 1000) < 120_000
        assert rec["dynamodb"]["SizeBytes"] > 0
    assert len({r["eventID"] for r in records}) == 10

    item_a = [r for r in records if r["dynamodb"]["Keys"] == {"pk": {"S": "a"}, "sk": {"S": "1"}}]
    # One item's changes: one partition key, one shard, in commit order.
    assert len({r["partition"] for r in item_a}) == 1 and len({r["shard"] for r in item_a}) == 1
    assert [r["eventName"] for r in sorted(item_a, key=lambda r: r["seq"])] == ["INSERT", "MODIFY", "REMOVE"]
    insert, modify, remove = sorted(item_a, key=lambda r: r["seq"])
    assert insert["dynamodb"]["NewImage"] == {"pk": {"S": "a"}, "sk": {"S": "1"}, "v": {"N": "1"}, "b": {"B": "AAE="}}
    assert "OldImage" not in insert["dynamodb"]
    assert modify["dynamodb"]["OldImage"]["v"] == {"N": "1"} and modify["dynamodb"]["NewImage"]["v"] == {"N": "2"}
    assert remove["dynamodb"]["OldImage"]["v"] == {"N": "2"} and "NewImage" not in remove["dynamodb"]

    names = sorted((r["eventName"], r["dynamodb"]["Keys"]["pk"]["S"]) for r in records if r["dynamodb"]["Keys"]["pk"]["S"] != "a")
    assert names == [("INSERT", "b0"), ("INSERT", "b1"), ("INSERT", "b2"), ("INSERT", "p"), ("INSERT", "t"), ("MODIFY", "p"), ("REMOVE", "b0")]
    # DescribeTable says nothing of Kinesis destinations (as on AWS).
    assert not [k for k in ddb.describe_table(TableName=table)["Table"] if "Kinesis" in k]


def test_microsecond_precision_and_update(ddb: Any, kinesis: Any, make_table: Callable[..., str]) -> None:
    table = make_table()
    arn = _make_stream(kinesis, "micro", shards=1)
    out = ddb.enable_kinesis_streaming_destination(
        TableName=table, StreamArn=arn, EnableKinesisStreamingConfiguration={"ApproximateCreationDateTimePrecision": "MICROSECOND"}
    )
    assert out["EnableKinesisStreamingConfiguration"] == {"ApproximateCreationDateTimePrecision": "MICROSECOND"}
    # Only an ACTIVE destination can be updated.
    with pytest.raises(ClientError) as exc:
        ddb.update_kinesis_streaming_destination(
            TableName=table, StreamArn=arn, UpdateKinesisStreamingConfiguration={"ApproximateCreationDateTimePrecision": "MILLISECOND"}
        )
    assert _err(exc)[0] == "ValidationException"
    dest = _wait_status(ddb, table, arn, "ACTIVE")
    assert dest["ApproximateCreationDateTimePrecision"] == "MICROSECOND"
    ddb.put_item(TableName=table, Item={"pk": {"S": "a"}})
    [rec] = _read_until(kinesis, arn, 1)
    assert rec["dynamodb"]["ApproximateCreationDateTimePrecision"] == "MICROSECOND"
    assert abs(rec["dynamodb"]["ApproximateCreationDateTime"] - time.time() * 1_000_000) < 120_000_000

    with pytest.raises(ClientError) as exc:
        ddb.update_kinesis_streaming_destination(
            TableName=table, StreamArn=arn, UpdateKinesisStreamingConfiguration={"ApproximateCreationDateTimePrecision": "MICROSECOND"}
        )
    code, message = _err(exc)
    assert code == "ValidationException" and "Precision is already set to the desired value of MICROSECOND" in message
    with pytest.raises(ClientError) as exc:
        ddb.update_kinesis_streaming_destination(TableName=table, StreamArn=arn)
    assert _err(exc) == (
        "ValidationException",
        "Streaming destination cannot be updated with given parameters: UpdateKinesisStreamingConfiguration cannot be null or contain only null values",
    )
    out = ddb.update_kinesis_streaming_destination(
        TableName=table, StreamArn=arn, UpdateKinesisStreamingConfiguration={"ApproximateCreationDateTimePrecision": "MILLISECOND"}
    )
    assert out["DestinationStatus"] == "UPDATING"
    assert out["UpdateKinesisStreamingConfiguration"] == {"ApproximateCreationDateTimePrecision": "MILLISECOND"}
    ddb.put_item(TableName=table, Item={"pk": {"S": "b"}})  # while UPDATING: streamed, new precision
    dest = _wait_status(ddb, table, arn, "ACTIVE")
    assert dest["ApproximateCreationDateTimePrecision"] == "MILLISECOND"
    records = _read_until(kinesis, arn, 2)
    assert [r["dynamodb"]["ApproximateCreationDateTimePrecision"] for r in records] == ["MICROSECOND", "MILLISECOND"]
    assert abs(records[1]["dynamodb"]["ApproximateCreationDateTime"] - time.time() * 1000) < 120_000


# --------------------------------------------------------------------------- lifecycle
def test_disable_and_enable_again(ddb: Any, kinesis: Any, make_table: Callable[..., str]) -> None:
    table = make_table()
    arn = _make_stream(kinesis, "onoff", shards=1)
    out = ddb.describe_kinesis_streaming_destination(TableName=table)
    out.pop("ResponseMetadata")
    assert out == {"TableName": table, "KinesisDataStreamDestinations": []}
    _enable(ddb, table, arn)
    ddb.put_item(TableName=table, Item={"pk": {"S": "on"}})
    out = ddb.disable_kinesis_streaming_destination(TableName=table, StreamArn=arn)
    assert out["DestinationStatus"] == "DISABLING"
    ddb.put_item(TableName=table, Item={"pk": {"S": "off"}})  # after the disable: not streamed
    # Disabling again is refused until it is enabled again.
    with pytest.raises(ClientError) as exc:
        ddb.disable_kinesis_streaming_destination(TableName=table, StreamArn=arn)
    assert _err(exc) == (
        "ValidationException",
        "Table is not in a valid state to disable Kinesis Streaming Destination:DisableKinesisStreamingDestination must be ACTIVE to perform DISABLE operation.",
    )
    dest = _wait_status(ddb, table, arn, "DISABLED")
    assert dest["ApproximateCreationDateTimePrecision"] == "MILLISECOND"
    _enable(ddb, table, arn)
    ddb.put_item(TableName=table, Item={"pk": {"S": "again"}})
    records = _read_until(kinesis, arn, 2)
    time.sleep(0.5)
    records = _read(kinesis, arn)
    assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in records] == ["on", "again"]
    assert len(ddb.describe_kinesis_streaming_destination(TableName=table)["KinesisDataStreamDestinations"]) == 1


def test_errors(ddb: Any, kinesis: Any, make_table: Callable[..., str]) -> None:
    table = make_table()
    arn = _make_stream(kinesis, "errs", shards=1)
    other = _make_stream(kinesis, "errs-other", shards=1)
    for call in (
        lambda: ddb.describe_kinesis_streaming_destination(TableName="no-such-table"),
        lambda: ddb.enable_kinesis_streaming_destination(TableName="no-such-table", StreamArn=arn),
        lambda: ddb.disable_kinesis_streaming_destination(TableName="no-such-table", StreamArn=arn),
        lambda: ddb.update_kinesis_streaming_destination(
            TableName="no-such-table", StreamArn=arn, UpdateKinesisStreamingConfiguration={"ApproximateCreationDateTimePrecision": "MICROSECOND"}
        ),
    ):
        with pytest.raises(ClientError) as exc:
            call()
        assert _err(exc) == ("ResourceNotFoundException", "Requested resource not found: Table: no-such-table not found")

    missing = arn.replace("stream/errs", "stream/does-not-exist")
    with pytest.raises(ClientError) as exc:
        ddb.enable_kinesis_streaming_destination(TableName=table, StreamArn=missing)
    assert _err(exc) == ("ValidationException", "User does not have a permission to use kinesis stream")
    with pytest.raises(ClientError) as exc:
        ddb.enable_kinesis_streaming_destination(TableName=table, StreamArn=arn, EnableKinesisStreamingConfiguration={"ApproximateCreationDateTimePrecision": "SECOND"})
    assert _err(exc)[0] == "ValidationException"
    assert ddb.describe_kinesis_streaming_destination(TableName=table)["KinesisDataStreamDestinations"] == []

    ddb.enable_kinesis_streaming_destination(TableName=table, StreamArn=arn)
    with pytest.raises(ClientError) as exc:
        ddb.enable_kinesis_streaming_destination(TableName=table, StreamArn=arn)
    assert _err(exc) == (
        "ValidationException",
        "Table is not in a valid state to enable Kinesis Streaming Destination:EnableKinesisStreamingDestination must be DISABLED or ENABLE_FAILED to perform ENABLE operation.",
    )
    # One destination per table at a time.
    with pytest.raises(ClientError) as exc:
        ddb.enable_kinesis_streaming_destination(TableName=table, StreamArn=other)
    assert _err(exc)[0] == "LimitExceededException"
    with pytest.raises(ClientError) as exc:
        ddb.update_kinesis_streaming_destination(
            TableName=table, StreamArn=other, UpdateKinesisStreamingConfiguration={"ApproximateCreationDateTimePrecision": "MICROSECOND"}
        )
    assert _err(exc) == (
        "ValidationException",
        f"Table is not in a valid state to enable Kinesis Streaming Destination: No streaming destination with streamArn: {other} found for table with tableName: {table}",
    )
    # By table ARN too.
    table_arn = ddb.describe_table(TableName=table)["Table"]["TableArn"]
    out = ddb.describe_kinesis_streaming_destination(TableName=table_arn)
    assert out["TableName"] == table and [d["StreamArn"] for d in out["KinesisDataStreamDestinations"]] == [arn]


def test_deleted_stream_fails_the_destination(ddb: Any, kinesis: Any, make_table: Callable[..., str]) -> None:
    table = make_table()
    arn = _make_stream(kinesis, "doomed", shards=1)
    _enable(ddb, table, arn)
    kinesis.delete_stream(StreamName="doomed")
    ddb.put_item(TableName=table, Item={"pk": {"S": "x"}})  # undeliverable: no 500, no crash
    dest = _wait_status(ddb, table, arn, "ENABLE_FAILED")
    assert "does not exist" in dest["DestinationStatusDescription"]
    ddb.put_item(TableName=table, Item={"pk": {"S": "y"}})
    assert ddb.get_item(TableName=table, Key={"pk": {"S": "y"}})["Item"]
    # A failed destination may be enabled again once its stream exists.
    arn2 = _make_stream(kinesis, "doomed", shards=1)
    assert arn2 == arn
    _enable(ddb, table, arn)
    ddb.put_item(TableName=table, Item={"pk": {"S": "z"}})
    records = _read_until(kinesis, arn, 1)
    assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in records] == ["z"]
    assert "DestinationStatusDescription" not in _status(ddb, table, arn)


def test_tables_without_destination_stream_nothing(ddb: Any, kinesis: Any, make_table: Callable[..., str]) -> None:
    streamed, quiet = make_table(), make_table()
    arn = _make_stream(kinesis, "one-table", shards=1)
    _enable(ddb, streamed, arn)
    ddb.put_item(TableName=quiet, Item={"pk": {"S": "q"}})
    ddb.put_item(TableName=streamed, Item={"pk": {"S": "s"}})
    records = _read_until(kinesis, arn, 1)
    time.sleep(0.3)
    assert [r["tableName"] for r in _read(kinesis, arn)] == [streamed]
    assert ddb.describe_kinesis_streaming_destination(TableName=quiet)["KinesisDataStreamDestinations"] == []
    assert records


def test_regions(aws_client: Callable[..., Any]) -> None:
    """A table streams into a Kinesis stream of its own region (and account) only; its
    records name the table's region."""
    ddb, kinesis = aws_client("dynamodb", region_name="us-west-2"), aws_client("kinesis", region_name="us-west-2")
    ddb.create_table(
        TableName="west",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    east = _make_stream(aws_client("kinesis", region_name="us-east-1"), "east-stream", shards=1)
    with pytest.raises(ClientError) as exc:
        ddb.enable_kinesis_streaming_destination(TableName="west", StreamArn=east)
    assert _err(exc) == ("ValidationException", "User does not have a permission to use kinesis stream")
    arn = _make_stream(kinesis, "west-stream", shards=1)
    assert ":us-west-2:" in arn
    _enable(ddb, "west", arn)
    ddb.put_item(TableName="west", Item={"pk": {"S": "w"}})
    [rec] = _read_until(kinesis, arn, 1)
    assert rec["awsRegion"] == "us-west-2" and rec["tableName"] == "west"


# ------------------------------------------------------------ restart, kill -9, TTL, ENABLING
def test_durable_delivery_restart_and_ttl(tmp_path: Path) -> None:
    env = {"EMULATOR_KINESIS_ACTIVATION_DELAY": "2", "EMULATOR_TTL_INTERVAL": "1"}
    server = EmulatorServer(data_dir=tmp_path, env=env).start()
    try:
        ddb, kinesis = server.client("dynamodb"), server.client("kinesis")
        ddb.create_table(
            TableName="kept",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        arn = _make_stream(kinesis, "kept-changes", shards=2)
        ddb.enable_kinesis_streaming_destination(TableName="kept", StreamArn=arn)
        ddb.put_item(TableName="kept", Item={"pk": {"S": "early"}})  # while ENABLING: not streamed
        assert _status(ddb, "kept", arn)["DestinationStatus"] == "ENABLING"
        _wait_status(ddb, "kept", arn, "ACTIVE")
        for i in range(40):
            ddb.put_item(TableName="kept", Item={"pk": {"S": f"k{i}"}, "n": {"N": str(i)}})
        server.kill()  # acknowledged: their records must reach the stream, now or after the restart
    finally:
        server.stop()
    server = EmulatorServer(data_dir=tmp_path, env=env).start()
    try:
        ddb, kinesis = server.client("dynamodb"), server.client("kinesis")
        assert _status(ddb, "kept", arn)["DestinationStatus"] == "ACTIVE"  # the destination survived
        records = _read_until(kinesis, arn, 40)
        keys = {r["dynamodb"]["Keys"]["pk"]["S"] for r in records}
        assert keys == {f"k{i}" for i in range(40)}  # each at least once; "early" never
        # TTL deletions carry the service's identity.
        ddb.update_time_to_live(TableName="kept", TimeToLiveSpecification={"Enabled": True, "AttributeName": "exp"})
        ddb.put_item(TableName="kept", Item={"pk": {"S": "ttl"}, "exp": {"N": str(int(time.time()) - 10)}})
        deadline = time.time() + 20
        removed: list[dict[str, Any]] = []
        while not removed and time.time() < deadline:
            removed = [r for r in _read(kinesis, arn) if r["eventName"] == "REMOVE"]
            time.sleep(0.2)
        assert len(removed) == 1
        assert removed[0]["userIdentity"] == {"type": "Service", "principalId": "dynamodb.amazonaws.com"}
        assert removed[0]["dynamodb"]["OldImage"]["pk"] == {"S": "ttl"}
    finally:
        server.stop()


# ------------------------------------------------------------------ in-process (in addition)
@pytest.fixture(params=["sqlite", "postgresql"])
def storage_spec(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A storage of its own: a SQLite file, or a schema of its own on the test PostgreSQL."""
    if request.param == "sqlite":
        yield str(tmp_path / "db.sqlite3")
        return
    reason = unavailable()
    if reason:
        pytest.skip(reason)
    url = with_schema(server_url(), "kinesis")
    try:
        yield url
    finally:
        import psycopg
        from psycopg import sql

        with psycopg.connect(server_url(), autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(url.rsplit("schema=", 1)[1])))


def test_outbox_survives_a_restart_and_is_delivered_after_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, storage_spec: str) -> None:
    """Records left undelivered by a run (the delivery task never ran: as after a kill -9
    right after the writes were acknowledged) are kept in the storage and delivered, in commit
    order, by the next run; once delivered, the outbox is empty. The destination survives too."""
    import asyncio
    from types import SimpleNamespace

    from emulator.dynamodb.engine import DynamoDBEngine
    from emulator.dynamodb.lifecycle import Lifecycle
    from emulator.dynamodb.lifecycle.kinesis import outbox
    from emulator.dynamodb.storage import open_storage
    from emulator.gateway.fallback import MotoFallback

    spec = storage_spec if storage_spec.startswith("postgresql://") else "sqlite:" + storage_spec

    for name in ("MOTO_ACCOUNT_ID", "MOTO_IAM_LOAD_MANAGED_POLICIES"):
        monkeypatch.setenv(name, "000000000000" if name == "MOTO_ACCOUNT_ID" else "false")
    fallback = MotoFallback("000000000000", None)
    fallback.reset({"kinesis"})
    stream = fallback.backend("kinesis", "us-east-1").create_stream("restart", 1)
    settings = SimpleNamespace(extra={"kinesis_activation_delay": 0}, data_dir=tmp_path)

    def run(lc: Lifecycle, fn: Any) -> Any:
        async def go() -> Any:
            lc.engine.begin_group()
            try:
                out = fn()
                return await out if asyncio.iscoroutine(out) else out
            finally:
                await lc.engine.durable()

        return asyncio.run(go())

    engine = DynamoDBEngine(open_storage(spec, tmp_path))
    lc = Lifecycle(engine, settings)
    lc.kinesis.fallback = fallback
    engine.open()
    lc.kinesis.load()
    engine.create_table(
        {
            "TableName": "tab",
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
            "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
            "BillingMode": "PAY_PER_REQUEST",
        }
    )
    run(lc, lambda: lc.kinesis.enable({"TableName": "tab", "StreamArn": stream.arn}))
    for i in range(5):
        engine.put_item({"TableName": "tab", "Item": {"pk": {"S": "same"}, "n": {"N": str(i)}}})
    uuid = engine.table("tab").table_uuid
    assert len(engine.storage.stream_read(outbox(uuid, stream.arn), 0, 100)) == 5  # type: ignore[attr-defined]
    engine.close()
    assert sum(len(shard.records) for shard in stream.shards.values()) == 0

    engine = DynamoDBEngine(open_storage(spec, tmp_path))
    lc = Lifecycle(engine, settings)
    lc.kinesis.fallback = fallback
    engine.open()
    lc.kinesis.load()
    described = run(lc, lambda: lc.kinesis.describe({"TableName": "tab"}))
    assert [d["DestinationStatus"] for d in described["KinesisDataStreamDestinations"]] == ["ACTIVE"]
    assert asyncio.run(lc.kinesis.deliver()) == 5
    assert asyncio.run(lc.kinesis.deliver()) == 0  # once
    assert engine.storage.stream_read(outbox(uuid, stream.arn), 0, 100) == []  # type: ignore[attr-defined]
    [shard] = stream.shards.values()
    images = [json.loads(rec.data)["dynamodb"]["NewImage"]["n"]["N"] for rec in shard.records.values()]
    assert images == ["0", "1", "2", "3", "4"]
    # A deleted table's destinations are forgotten once nothing of theirs is left to deliver.
    lc.kinesis.housekeeping()
    assert [key for key, _ in engine.storage.meta_list("kinesis")] == [uuid]  # type: ignore[attr-defined]
    engine.delete_table({"TableName": "tab"})
    lc.kinesis.housekeeping()
    assert engine.storage.meta_list("kinesis") == []  # type: ignore[attr-defined]
    assert uuid not in lc.kinesis.live
    engine.close()
    fallback.reset({"kinesis"})
