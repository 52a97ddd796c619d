"""``POST /_emulator/reset`` on DynamoDB and DynamoDB Streams: the account looks new.

A server of this module's own (the suite's shared server keeps other tests' tables), on the
storage the suite runs on (``EMULATOR_TEST_STORAGE``: SQLite, or a scratch PostgreSQL
database), with a TTL/housekeeping pass every 0.2 s, so that background work gets its
chance to bring back what a reset forgot.
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from emulator.testing.plugin import storage_args
from emulator.testing.server import EmulatorServer

SERVICES = ["dynamodb", "dynamodbstreams"]
TICK = 0.2  # seconds between two TTL/housekeeping passes


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    env = {"EMULATOR_SERVICES": ",".join(SERVICES), "EMULATOR_FALLBACK": "false", "EMULATOR_TTL_INTERVAL": str(TICK)}
    with storage_args() as args:
        srv = EmulatorServer(extra_args=args, env=env)
        srv.start()
        try:
            yield srv
        finally:
            srv.cleanup()


def reset(server: EmulatorServer, services: list[str] | None = None) -> dict[str, Any]:
    """The reset route's own answer ({"reset": [...], "seconds": ...})."""
    req = urllib.request.Request(
        server.endpoint + "/_emulator/reset",
        data=json.dumps({"services": services or SERVICES}).encode(),
        method="POST",
        headers={"authorization": f"Bearer {server.access_key}:{server.secret_key}", "content-type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=60) as resp:
        doc: dict[str, Any] = json.loads(resp.read())
    return doc


def code(err: pytest.ExceptionInfo[ClientError]) -> str:
    return str(err.value.response["Error"]["Code"])


def wait(fn: Any, key: str) -> dict[str, Any]:
    deadline = time.time() + 30
    while True:
        out: dict[str, Any] = fn()
        if out[key] != "IN_PROGRESS" or time.time() > deadline:
            return out
        time.sleep(0.05)


def create_full_table(ddb: Any, name: str) -> str:
    """A table with everything that hangs off one: GSI, LSI, stream, TTL, tags, PITR."""
    arn: str = ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in ("pk", "sk", "g", "l")],
        GlobalSecondaryIndexes=[{"IndexName": "by-g", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}], "Projection": {"ProjectionType": "ALL"}}],
        LocalSecondaryIndexes=[
            {"IndexName": "by-l", "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "l", "KeyType": "RANGE"}], "Projection": {"ProjectionType": "ALL"}}
        ],
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
        Tags=[{"Key": "team", "Value": "a"}],
        BillingMode="PAY_PER_REQUEST",
    )["TableDescription"]["TableArn"]
    ddb.update_time_to_live(TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": "exp"})
    ddb.update_continuous_backups(TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True})
    for i in range(5):
        ddb.put_item(TableName=name, Item={"pk": {"S": f"p{i}"}, "sk": {"S": "s"}, "g": {"S": "g"}, "l": {"S": f"l{i}"}, "exp": {"N": str(int(time.time()) + 3600)}})
    return arn


def put_request(table: str, pk: str) -> dict[str, Any]:
    return {"Put": {"TableName": table, "Item": {"pk": {"S": pk}, "sk": {"S": "s"}}}}


def test_reset_forgets_every_table_and_everything_about_it(server: EmulatorServer) -> None:
    ddb, streams = server.client("dynamodb"), server.client("dynamodbstreams")
    reset(server)
    arn = create_full_table(ddb, "orders")
    ddb.create_table(
        TableName="plain", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST",
    )
    backup_arn = ddb.create_backup(TableName="orders", BackupName="before-reset")["BackupDetails"]["BackupArn"]
    backups = Path(server.data_dir) / "dynamodb-backups"
    assert any(backups.iterdir())
    ddb.transact_write_items(TransactItems=[put_request("orders", "tx")], ClientRequestToken="token-1")
    ddb.execute_transaction(TransactStatements=[{"Statement": "INSERT INTO \"orders\" VALUE {'pk': 'pq', 'sk': 's'}"}], ClientRequestToken="token-2")
    export = ddb.export_table_to_point_in_time(TableArn=arn, S3Bucket="reset-bucket", S3Prefix="x")["ExportDescription"]
    assert wait(lambda: ddb.describe_export(ExportArn=export["ExportArn"])["ExportDescription"], "ExportStatus")["ExportStatus"] == "COMPLETED"
    export_id = export["ExportArn"].rsplit("/", 1)[1]
    # An import still running when the reset comes must not finish into the new account.
    imp = ddb.import_table(
        S3BucketSource={"S3Bucket": "reset-bucket", "S3KeyPrefix": f"x/AWSDynamoDB/{export_id}/data/"},
        InputFormat="DYNAMODB_JSON", InputCompressionType="GZIP",
        TableCreationParameters={
            "TableName": "imported", "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "S"}],
            "BillingMode": "PAY_PER_REQUEST",
        },
    )["ImportTableDescription"]
    stream_arn = ddb.describe_table(TableName="orders")["Table"]["LatestStreamArn"]
    assert streams.list_streams()["Streams"]
    assert sorted(ddb.list_tables()["TableNames"]) == ["imported", "orders", "plain"]

    assert reset(server)["reset"] == SERVICES

    assert ddb.list_tables()["TableNames"] == []
    for name in ("orders", "plain", "imported"):
        with pytest.raises(ClientError) as err:
            ddb.describe_table(TableName=name)
        assert code(err) == "ResourceNotFoundException"
    assert ddb.list_backups()["BackupSummaries"] == []
    with pytest.raises(ClientError) as err:
        ddb.describe_backup(BackupArn=backup_arn)
    assert code(err) == "BackupNotFoundException"
    assert not backups.exists() or not any(backups.iterdir())
    assert not list(Path(server.data_dir).glob(".dynamodb-backups.reset-*")), "backup files of the old account are gone"
    assert ddb.list_exports()["ExportSummaries"] == []
    assert ddb.list_imports()["ImportSummaryList"] == []
    with pytest.raises(ClientError) as err:
        ddb.describe_import(ImportArn=imp["ImportArn"])
    assert code(err) == "ImportNotFoundException"
    assert streams.list_streams()["Streams"] == []
    with pytest.raises(ClientError) as err:
        streams.describe_stream(StreamArn=stream_arn)
    assert code(err) == "ResourceNotFoundException"

    # The same name again: a new, empty table with none of the old one's settings.
    ddb.create_table(
        TableName="orders",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    desc = ddb.describe_table(TableName="orders")["Table"]
    assert desc["ItemCount"] == 0
    assert not {"GlobalSecondaryIndexes", "LocalSecondaryIndexes", "StreamSpecification", "LatestStreamArn"} & desc.keys()
    assert ddb.scan(TableName="orders")["Items"] == []
    assert ddb.list_tags_of_resource(ResourceArn=desc["TableArn"])["Tags"] == []
    assert ddb.describe_time_to_live(TableName="orders")["TimeToLiveDescription"]["TimeToLiveStatus"] == "DISABLED"
    pitr = ddb.describe_continuous_backups(TableName="orders")["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]
    assert pitr["PointInTimeRecoveryStatus"] == "DISABLED"
    # The old ClientRequestTokens are forgotten: other content under them is a new transaction,
    # not an IdempotentParameterMismatch (and not a replay that writes nothing).
    ddb.transact_write_items(TransactItems=[put_request("orders", "tx-new")], ClientRequestToken="token-1")
    ddb.execute_transaction(TransactStatements=[{"Statement": "INSERT INTO \"orders\" VALUE {'pk': 'pq-new', 'sk': 's'}"}], ClientRequestToken="token-2")
    assert sorted(i["pk"]["S"] for i in ddb.scan(TableName="orders")["Items"]) == ["pq-new", "tx-new"]

    # Background passes (TTL sweep, PITR and stream housekeeping) bring nothing back: a
    # forgotten PITR table would come back as a SYSTEM backup.
    time.sleep(TICK * 5)
    assert ddb.list_tables()["TableNames"] == ["orders"]
    assert ddb.list_backups()["BackupSummaries"] == []
    assert ddb.list_imports()["ImportSummaryList"] == []

    # And all of it is durable: a restart on the same data still shows the new account.
    server.stop()
    server.start()
    ddb, streams = server.client("dynamodb"), server.client("dynamodbstreams")
    assert ddb.list_tables()["TableNames"] == ["orders"]
    assert sorted(i["pk"]["S"] for i in ddb.scan(TableName="orders")["Items"]) == ["pq-new", "tx-new"]
    assert ddb.list_backups()["BackupSummaries"] == []
    assert ddb.list_exports()["ExportSummaries"] == []
    assert ddb.list_imports()["ImportSummaryList"] == []
    assert streams.list_streams()["Streams"] == []
    pitr = ddb.describe_continuous_backups(TableName="orders")["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]
    assert pitr["PointInTimeRecoveryStatus"] == "DISABLED"


def test_reset_twice_in_a_row_is_quick(server: EmulatorServer) -> None:
    ddb = server.client("dynamodb")
    reset(server)
    for i in range(4):
        create_full_table(ddb, f"table-{i}")
    first = reset(server)
    second = reset(server)  # nothing left to forget: no error
    print(f"reset of 4 tables: {first['seconds']} s; of none: {second['seconds']} s")
    assert ddb.list_tables()["TableNames"] == []
    # It runs before every test of a suite: tens of milliseconds, not seconds (generous
    # bounds for a loaded CI machine; the usual figure is a few milliseconds).
    assert first["seconds"] < 1.0, first
    assert second["seconds"] < 1.0, second


def test_streams_reset_alone_drops_records_and_keeps_tables(server: EmulatorServer) -> None:
    ddb, streams = server.client("dynamodb"), server.client("dynamodbstreams")
    reset(server)
    create_full_table(ddb, "kept")
    assert reset(server, ["dynamodbstreams"])["reset"] == ["dynamodbstreams"]
    assert ddb.list_tables()["TableNames"] == ["kept"]
    assert ddb.describe_table(TableName="kept")["Table"]["ItemCount"] == 5
    # The table's stream is still enabled, and holds only what was written since.
    stream_arn = ddb.describe_table(TableName="kept")["Table"]["LatestStreamArn"]
    assert [s["StreamArn"] for s in streams.list_streams()["Streams"]] == [stream_arn]
    ddb.put_item(TableName="kept", Item={"pk": {"S": "after"}, "sk": {"S": "s"}})
    shard = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"][0]["ShardId"]
    it = streams.get_shard_iterator(StreamArn=stream_arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    records = streams.get_records(ShardIterator=it)["Records"]
    assert [(r["eventName"], r["dynamodb"]["Keys"]["pk"]["S"]) for r in records] == [("INSERT", "after")]
