"""Tables are regional, as on AWS: the same name in two regions is two independent tables,
and everything about a table (items, indexes, streams, backups, PITR, exports/imports, TTL,
tags, resource policies, PartiQL, transactions, capacity) lives in its region. A client's
region is its SigV4 credential scope; two boto3 clients of two regions against one server."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

WEST = "eu-west-1"


@pytest.fixture(scope="module")
def east(aws_client: Callable[..., Any]) -> Any:
    return aws_client("dynamodb")


@pytest.fixture(scope="module")
def west(aws_client: Callable[..., Any]) -> Any:
    return aws_client("dynamodb", region_name=WEST)


@pytest.fixture
def name() -> str:
    return f"reg-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def cleanup(east: Any, west: Any) -> Iterator[list[tuple[Any, str]]]:
    made: list[tuple[Any, str]] = []
    yield made
    for client, table in made:
        try:
            client.delete_table(TableName=table)
        except ClientError:
            pass


def create(client: Any, made: list[tuple[Any, str]], table: str, key_type: str = "S", **kwargs: Any) -> dict[str, Any]:
    kwargs.setdefault("BillingMode", "PAY_PER_REQUEST")
    out = client.create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": key_type}],
        **kwargs,
    )["TableDescription"]
    made.append((client, table))
    return dict(out)


def code(fn: Callable[[], Any]) -> str | None:
    try:
        fn()
    except ClientError as exc:
        return str(exc.response["Error"]["Code"])
    return None


def region_of(client: Any) -> str:
    return str(client.meta.region_name)


# ------------------------------------------------------------------ tables
def test_the_same_name_in_two_regions_is_two_independent_tables(east: Any, west: Any, name: str, cleanup: list[tuple[Any, str]]) -> None:
    e = create(east, cleanup, name, "S")
    w = create(west, cleanup, name, "N", StreamSpecification={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"})
    assert e["TableArn"] == f"arn:aws:dynamodb:{region_of(east)}:{e['TableArn'].split(':')[4]}:table/{name}"
    assert w["TableArn"] == e["TableArn"].replace(f":{region_of(east)}:", f":{WEST}:")
    assert e["TableId"] != w["TableId"]
    # Each region describes its own table.
    assert east.describe_table(TableName=name)["Table"]["AttributeDefinitions"] == [{"AttributeName": "pk", "AttributeType": "S"}]
    west_desc = west.describe_table(TableName=name)["Table"]
    assert west_desc["AttributeDefinitions"] == [{"AttributeName": "pk", "AttributeType": "N"}]
    assert west_desc["LatestStreamArn"].startswith(w["TableArn"] + "/stream/")
    assert "LatestStreamArn" not in east.describe_table(TableName=name)["Table"]
    # A second CreateTable of the name fails in its region only.
    assert code(lambda: create(east, [], name)) == "ResourceInUseException"
    # Items are the table's own.
    east.put_item(TableName=name, Item={"pk": {"S": "a"}, "v": {"S": "east"}})
    west.put_item(TableName=name, Item={"pk": {"N": "1"}, "v": {"S": "west"}})
    assert east.get_item(TableName=name, Key={"pk": {"S": "a"}})["Item"]["v"] == {"S": "east"}
    assert "Item" not in west.get_item(TableName=name, Key={"pk": {"N": "2"}})
    assert code(lambda: west.get_item(TableName=name, Key={"pk": {"S": "a"}})) == "ValidationException"  # west's key is a number
    assert [i["v"] for i in west.scan(TableName=name)["Items"]] == [{"S": "west"}]
    assert east.describe_table(TableName=name)["Table"]["ItemCount"] == 1
    # Deleting one leaves the other.
    west.delete_table(TableName=name)
    assert code(lambda: west.describe_table(TableName=name)) == "ResourceNotFoundException"
    assert code(lambda: west.put_item(TableName=name, Item={"pk": {"N": "1"}})) == "ResourceNotFoundException"
    assert east.get_item(TableName=name, Key={"pk": {"S": "a"}})["Item"]["v"] == {"S": "east"}
    # ... and the name is free again there only.
    create(west, cleanup, name, "S")
    assert "Item" not in west.get_item(TableName=name, Key={"pk": {"S": "a"}})


def test_a_table_only_in_another_region_is_not_found(east: Any, west: Any, name: str, cleanup: list[tuple[Any, str]]) -> None:
    create(west, cleanup, name)
    key = {"pk": {"S": "a"}}
    for call in (
        lambda: east.describe_table(TableName=name),
        lambda: east.put_item(TableName=name, Item=key),
        lambda: east.get_item(TableName=name, Key=key),
        lambda: east.query(TableName=name, KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "a"}}),
        lambda: east.scan(TableName=name),
        lambda: east.update_table(TableName=name, BillingMode="PROVISIONED", ProvisionedThroughput={"ReadCapacityUnits": 1, "WriteCapacityUnits": 1}),
        lambda: east.delete_table(TableName=name),
        lambda: east.update_time_to_live(TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": "exp"}),
        lambda: east.describe_time_to_live(TableName=name),
    ):
        assert code(call) == "ResourceNotFoundException"
    # The backup APIs say so their way (TableNotFoundException, as documented).
    assert code(lambda: east.describe_continuous_backups(TableName=name)) == "TableNotFoundException"
    assert code(lambda: east.create_backup(TableName=name, BackupName="bkp")) == "TableNotFoundException"
    assert west.describe_table(TableName=name)["Table"]["TableStatus"] == "ACTIVE"


def test_list_tables_lists_and_pages_the_callers_region(east: Any, west: Any, cleanup: list[tuple[Any, str]]) -> None:
    prefix = f"lst-{uuid.uuid4().hex[:6]}"
    west_only = [f"{prefix}-w{i}" for i in range(5)]
    both = f"{prefix}-both"
    for table in west_only:
        create(west, cleanup, table)
    create(west, cleanup, both)
    create(east, cleanup, both)

    def every(client: Any, limit: int) -> list[str]:
        names: list[str] = []
        kwargs: dict[str, Any] = {"Limit": limit}
        while True:
            page = client.list_tables(**kwargs)
            names += page["TableNames"]
            if "LastEvaluatedTableName" not in page:
                return names
            kwargs["ExclusiveStartTableName"] = page["LastEvaluatedTableName"]

    west_names = every(west, 2)
    assert west_names == sorted(set(west_names))  # in order, each once, across pages
    assert set(west_only) | {both} <= set(west_names)
    east_names = every(east, 3)
    assert both in east_names and not set(west_only) & set(east_names)
    # Paging starts after a name of the caller's region.
    page = west.list_tables(ExclusiveStartTableName=west_only[2], Limit=2)["TableNames"]
    assert page == [west_only[3], west_only[4]]


# ------------------------------------------------------------- table ARNs
def test_a_table_arn_names_its_region(east: Any, west: Any, name: str, cleanup: list[tuple[Any, str]]) -> None:
    east_arn = create(east, cleanup, name)["TableArn"]
    west_arn = create(west, cleanup, name)["TableArn"]
    # The data plane takes a table ARN for TableName: in the ARN's own region it is that table.
    west.put_item(TableName=west_arn, Item={"pk": {"S": "a"}, "v": {"S": "west"}})
    assert west.get_item(TableName=name, Key={"pk": {"S": "a"}})["Item"]["v"] == {"S": "west"}
    assert "Item" not in east.get_item(TableName=name, Key={"pk": {"S": "a"}})
    assert west.describe_table(TableName=west_arn)["Table"]["TableArn"] == west_arn
    # Another region's ARN names a table this region cannot see.
    assert code(lambda: east.get_item(TableName=west_arn, Key={"pk": {"S": "a"}})) == "ResourceNotFoundException"
    assert code(lambda: east.put_item(TableName=west_arn, Item={"pk": {"S": "b"}})) == "ResourceNotFoundException"
    assert code(lambda: east.describe_table(TableName=west_arn)) == "ResourceNotFoundException"
    assert code(lambda: west.delete_table(TableName=east_arn)) == "ResourceNotFoundException"
    # Tags: by ARN, of the ARN's table only, and from its region only.
    east.tag_resource(ResourceArn=east_arn, Tags=[{"Key": "side", "Value": "east"}])
    west.tag_resource(ResourceArn=west_arn, Tags=[{"Key": "side", "Value": "west"}])
    assert east.list_tags_of_resource(ResourceArn=east_arn)["Tags"] == [{"Key": "side", "Value": "east"}]
    assert west.list_tags_of_resource(ResourceArn=west_arn)["Tags"] == [{"Key": "side", "Value": "west"}]
    assert code(lambda: east.tag_resource(ResourceArn=west_arn, Tags=[{"Key": "k", "Value": "v"}])) == "ResourceNotFoundException"
    assert code(lambda: west.list_tags_of_resource(ResourceArn=east_arn)) == "ResourceNotFoundException"
    assert code(lambda: west.untag_resource(ResourceArn=east_arn, TagKeys=["side"])) == "ResourceNotFoundException"
    assert east.list_tags_of_resource(ResourceArn=east_arn)["Tags"] == [{"Key": "side", "Value": "east"}]


def test_resource_policies_are_per_regional_table(east: Any, west: Any, name: str, cleanup: list[tuple[Any, str]]) -> None:
    import json

    east_arn = create(east, cleanup, name)["TableArn"]
    west_arn = create(west, cleanup, name)["TableArn"]
    account = east_arn.split(":")[4]

    def doc(arn: str) -> str:
        return json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:root"}, "Action": "dynamodb:GetItem", "Resource": arn}]})

    east.put_resource_policy(ResourceArn=east_arn, Policy=doc(east_arn))
    assert json.loads(east.get_resource_policy(ResourceArn=east_arn)["Policy"])["Statement"][0]["Resource"] == east_arn
    assert code(lambda: west.get_resource_policy(ResourceArn=west_arn)) == "PolicyNotFoundException"
    # Another region's ARN: that table is not visible from here.
    assert code(lambda: west.get_resource_policy(ResourceArn=east_arn)) == "ResourceNotFoundException"
    assert code(lambda: west.put_resource_policy(ResourceArn=east_arn, Policy=doc(east_arn))) == "ResourceNotFoundException"
    assert code(lambda: west.delete_resource_policy(ResourceArn=east_arn)) == "ResourceNotFoundException"
    west.put_resource_policy(ResourceArn=west_arn, Policy=doc(west_arn))
    east.delete_resource_policy(ResourceArn=east_arn)
    assert json.loads(west.get_resource_policy(ResourceArn=west_arn)["Policy"])["Statement"][0]["Resource"] == west_arn
    # Deleting a table takes its own policy only.
    west.delete_table(TableName=name)
    create(west, cleanup, name)
    assert code(lambda: west.get_resource_policy(ResourceArn=west_arn)) == "PolicyNotFoundException"


# -------------------------------------------------------------- data plane
def test_batches_transactions_and_partiql_use_the_callers_region(east: Any, west: Any, name: str, cleanup: list[tuple[Any, str]]) -> None:
    create(east, cleanup, name)
    west_arn = create(west, cleanup, name)["TableArn"]
    west.batch_write_item(RequestItems={name: [{"PutRequest": {"Item": {"pk": {"S": f"b{i}"}}}} for i in range(3)]})
    west.transact_write_items(TransactItems=[{"Put": {"TableName": name, "Item": {"pk": {"S": "t"}}}}])
    west.execute_statement(Statement=f"INSERT INTO \"{name}\" VALUE {{'pk': 'q'}}")
    keys = [{"pk": {"S": k}} for k in ("b0", "b1", "b2", "t", "q")]
    assert len(west.batch_get_item(RequestItems={name: {"Keys": keys}})["Responses"][name]) == 5
    assert east.batch_get_item(RequestItems={name: {"Keys": keys}})["Responses"][name] == []
    got = west.transact_get_items(TransactItems=[{"Get": {"TableName": name, "Key": {"pk": {"S": "t"}}}}])["Responses"]
    assert got[0]["Item"] == {"pk": {"S": "t"}}
    assert "Item" not in east.transact_get_items(TransactItems=[{"Get": {"TableName": name, "Key": {"pk": {"S": "t"}}}}])["Responses"][0]
    assert len(west.execute_statement(Statement=f'SELECT * FROM "{name}"')["Items"]) == 5
    assert east.execute_statement(Statement=f'SELECT * FROM "{name}"')["Items"] == []
    assert east.scan(TableName=name)["Count"] == 0
    # A table of another region cannot take part: the whole transaction fails, nothing is written.
    assert code(lambda: east.transact_write_items(TransactItems=[
        {"Put": {"TableName": name, "Item": {"pk": {"S": "x"}}}},
        {"Put": {"TableName": west_arn, "Item": {"pk": {"S": "x"}}}},
    ])) == "ResourceNotFoundException"
    assert east.scan(TableName=name)["Count"] == 0
    assert code(lambda: east.batch_write_item(RequestItems={west_arn: [{"PutRequest": {"Item": {"pk": {"S": "y"}}}}]})) == "ResourceNotFoundException"
    # PartiQL names tables of the caller's region.
    other = f"{name}-west-only"
    create(west, cleanup, other)
    assert code(lambda: east.execute_statement(Statement=f'SELECT * FROM "{other}"')) == "ResourceNotFoundException"


def test_ttl_is_per_regional_table(east: Any, west: Any, name: str, cleanup: list[tuple[Any, str]]) -> None:
    create(east, cleanup, name)
    create(west, cleanup, name)
    east.update_time_to_live(TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": "exp"})
    assert east.describe_time_to_live(TableName=name)["TimeToLiveDescription"] == {"TimeToLiveStatus": "ENABLED", "AttributeName": "exp"}
    assert west.describe_time_to_live(TableName=name)["TimeToLiveDescription"] == {"TimeToLiveStatus": "DISABLED"}


# ----------------------------------------------------------------- streams
def test_streams_are_regional(aws_client: Callable[..., Any], east: Any, west: Any, name: str, cleanup: list[tuple[Any, str]]) -> None:
    spec = {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}
    east_arn = create(east, cleanup, name, StreamSpecification=spec)["LatestStreamArn"]
    west_arn = create(west, cleanup, name, StreamSpecification=spec)["LatestStreamArn"]
    assert f":{region_of(east)}:" in east_arn and f":{WEST}:" in west_arn
    east.put_item(TableName=name, Item={"pk": {"S": "a"}, "v": {"S": "east"}})
    west.put_item(TableName=name, Item={"pk": {"S": "a"}, "v": {"S": "west"}})
    east_streams = aws_client("dynamodbstreams")
    west_streams = aws_client("dynamodbstreams", region_name=WEST)
    listed = west_streams.list_streams(TableName=name)["Streams"]
    assert listed == [{"StreamArn": west_arn, "TableName": name, "StreamLabel": west_arn.rsplit("/", 1)[1]}]
    assert [s["StreamArn"] for s in east_streams.list_streams(TableName=name)["Streams"]] == [east_arn]
    all_west = [s["StreamArn"] for s in west_streams.list_streams()["Streams"]]
    assert west_arn in all_west and all(f":{WEST}:" in arn for arn in all_west)
    # Describe and read: the region's own stream; another region's is not found.
    assert code(lambda: east_streams.describe_stream(StreamArn=west_arn)) == "ResourceNotFoundException"
    desc = west_streams.describe_stream(StreamArn=west_arn)["StreamDescription"]
    assert desc["TableName"] == name and desc["StreamStatus"] == "ENABLED"
    shard = desc["Shards"][0]["ShardId"]
    assert code(lambda: east_streams.get_shard_iterator(StreamArn=west_arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")) == "ResourceNotFoundException"
    iterator = west_streams.get_shard_iterator(StreamArn=west_arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    assert code(lambda: east_streams.get_records(ShardIterator=iterator)) == "ResourceNotFoundException"
    records = west_streams.get_records(ShardIterator=iterator)["Records"]
    assert [(r["awsRegion"], r["dynamodb"]["NewImage"]["v"]) for r in records] == [(WEST, {"S": "west"})]
    # A table of the name only in the other region has no streams here.
    only = f"{name}-only"
    create(west, cleanup, only, StreamSpecification=spec)
    assert code(lambda: east_streams.list_streams(TableName=only)) == "ResourceNotFoundException"


# ------------------------------------------------------------ backups, PITR
def test_backups_are_regional(east: Any, west: Any, name: str, cleanup: list[tuple[Any, str]]) -> None:
    create(east, cleanup, name)
    create(west, cleanup, name)
    east.put_item(TableName=name, Item={"pk": {"S": "east"}})
    west.put_item(TableName=name, Item={"pk": {"S": "west"}})
    east_backup = east.create_backup(TableName=name, BackupName="bkp")["BackupDetails"]["BackupArn"]
    west_backup = west.create_backup(TableName=name, BackupName="bkp")["BackupDetails"]["BackupArn"]
    assert east_backup.startswith(f"arn:aws:dynamodb:{region_of(east)}:") and west_backup.startswith(f"arn:aws:dynamodb:{WEST}:")
    assert [b["BackupArn"] for b in west.list_backups(TableName=name)["BackupSummaries"]] == [west_backup]
    assert [b["BackupArn"] for b in east.list_backups(TableName=name)["BackupSummaries"]] == [east_backup]
    assert east_backup not in [b["BackupArn"] for b in west.list_backups()["BackupSummaries"]]
    assert code(lambda: west.describe_backup(BackupArn=east_backup)) == "BackupNotFoundException"
    assert code(lambda: west.delete_backup(BackupArn=east_backup)) == "BackupNotFoundException"
    # RestoreTableFromBackup restores a backup of the caller's region (into a table there).
    target = f"{name}-restored"
    assert code(lambda: west.restore_table_from_backup(TargetTableName=target, BackupArn=east_backup)) == "BackupNotFoundException"
    restored = west.restore_table_from_backup(TargetTableName=target, BackupArn=west_backup)["TableDescription"]
    cleanup.append((west, target))
    assert restored["TableArn"].startswith(f"arn:aws:dynamodb:{WEST}:")
    assert [i["pk"]["S"] for i in west.scan(TableName=target)["Items"]] == ["west"]
    assert code(lambda: east.describe_table(TableName=target)) == "ResourceNotFoundException"
    # The same target name is free in the other region.
    east.restore_table_from_backup(TargetTableName=target, BackupArn=east_backup)
    cleanup.append((east, target))
    assert [i["pk"]["S"] for i in east.scan(TableName=target)["Items"]] == ["east"]
    assert code(lambda: west.restore_table_from_backup(TargetTableName=target, BackupArn=west_backup)) == "TableAlreadyExistsException"
    east.delete_backup(BackupArn=east_backup)
    assert west.describe_backup(BackupArn=west_backup)["BackupDescription"]["BackupDetails"]["BackupStatus"] == "AVAILABLE"


def test_pitr_is_per_regional_table_and_restores_across_regions_by_arn(east: Any, west: Any, name: str, cleanup: list[tuple[Any, str]]) -> None:
    east_arn = create(east, cleanup, name)["TableArn"]
    create(west, cleanup, name)
    east.update_continuous_backups(TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True})
    east.put_item(TableName=name, Item={"pk": {"S": "east"}})
    west.put_item(TableName=name, Item={"pk": {"S": "west"}})
    pitr = "PointInTimeRecoveryDescription"
    assert east.describe_continuous_backups(TableName=name)["ContinuousBackupsDescription"][pitr]["PointInTimeRecoveryStatus"] == "ENABLED"
    assert west.describe_continuous_backups(TableName=name)["ContinuousBackupsDescription"][pitr]["PointInTimeRecoveryStatus"] == "DISABLED"
    target = f"{name}-pitr"
    # By name: the caller region's table (which has no PITR).
    assert code(lambda: west.restore_table_to_point_in_time(SourceTableName=name, TargetTableName=target, UseLatestRestorableTime=True)) == "PointInTimeRecoveryUnavailableException"
    # By ARN: the table of the ARN's region, restored into a new table of the caller's region.
    out = west.restore_table_to_point_in_time(SourceTableArn=east_arn, TargetTableName=target, UseLatestRestorableTime=True)["TableDescription"]
    cleanup.append((west, target))
    assert out["TableArn"].startswith(f"arn:aws:dynamodb:{WEST}:")
    assert out["RestoreSummary"]["SourceTableArn"] == east_arn
    assert [i["pk"]["S"] for i in west.scan(TableName=target)["Items"]] == ["east"]
    assert code(lambda: east.describe_table(TableName=target)) == "ResourceNotFoundException"
    missing = east_arn.replace(f"table/{name}", f"table/{name}-missing")
    assert code(lambda: west.restore_table_to_point_in_time(SourceTableArn=missing, TargetTableName=f"{target}2", UseLatestRestorableTime=True)) == "SourceTableNotFoundException"


# --------------------------------------------------------- export / import
def _wait(fn: Callable[[], dict[str, Any]], key: str) -> dict[str, Any]:
    deadline = time.time() + 30
    while True:
        out = fn()
        if out[key] != "IN_PROGRESS" or time.time() > deadline:
            return out
        time.sleep(0.1)


def test_exports_and_imports_are_regional(east: Any, west: Any, name: str, cleanup: list[tuple[Any, str]]) -> None:
    east_arn = create(east, cleanup, name)["TableArn"]
    west_arn = create(west, cleanup, name)["TableArn"]
    for client in (east, west):
        client.update_continuous_backups(TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True})
    east.put_item(TableName=name, Item={"pk": {"S": "east"}})
    # Another region's table ARN is not found from here.
    assert code(lambda: west.export_table_to_point_in_time(TableArn=east_arn, S3Bucket="region-bucket")) == "TableNotFoundException"
    export = east.export_table_to_point_in_time(TableArn=east_arn, S3Bucket="region-bucket", S3Prefix=name)["ExportDescription"]["ExportArn"]
    assert export.startswith(east_arn + "/export/")
    done = _wait(lambda: east.describe_export(ExportArn=export)["ExportDescription"], "ExportStatus")
    assert done["ExportStatus"] == "COMPLETED", done
    assert code(lambda: west.describe_export(ExportArn=export)) == "ExportNotFoundException"
    assert export not in [e["ExportArn"] for e in west.list_exports()["ExportSummaries"]]
    assert west.list_exports(TableArn=west_arn)["ExportSummaries"] == []
    # Import the export into a new table of the west region only.
    target = f"{name}-imp"
    imp = west.import_table(
        S3BucketSource={"S3Bucket": "region-bucket", "S3KeyPrefix": f"{name}/AWSDynamoDB/{export.rsplit('/', 1)[1]}/data/"},
        InputFormat="DYNAMODB_JSON",
        InputCompressionType="GZIP",
        TableCreationParameters={"TableName": target, "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
                                 "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}], "BillingMode": "PAY_PER_REQUEST"},
    )["ImportTableDescription"]
    cleanup.append((west, target))
    assert imp["TableArn"].startswith(f"arn:aws:dynamodb:{WEST}:")
    done = _wait(lambda: west.describe_import(ImportArn=imp["ImportArn"])["ImportTableDescription"], "ImportStatus")
    assert done["ImportStatus"] == "COMPLETED", done
    assert [i["pk"]["S"] for i in west.scan(TableName=target)["Items"]] == ["east"]
    assert code(lambda: east.describe_table(TableName=target)) == "ResourceNotFoundException"
    assert code(lambda: east.describe_import(ImportArn=imp["ImportArn"])) == "ImportNotFoundException"
    assert imp["ImportArn"] in [i["ImportArn"] for i in west.list_imports()["ImportSummaryList"]]
    assert imp["ImportArn"] not in [i["ImportArn"] for i in east.list_imports()["ImportSummaryList"]]


# ---------------------------------------------------------------- capacity
def test_the_capacity_limiter_keeps_tables_apart_by_region() -> None:
    from types import SimpleNamespace

    from emulator.gateway.ratelimit import CapacityLimiter

    provisioned = SimpleNamespace(billing_mode="PROVISIONED", read_units=1, write_units=1)
    on_demand = SimpleNamespace(billing_mode="PAY_PER_REQUEST", read_units=0, write_units=0)
    tables = {("us-east-1", "t"): provisioned, (WEST, "t"): on_demand}
    now = [0.0]
    limiter = CapacityLimiter(lambda: tables, burst_seconds=1, clock=lambda: now[0])
    put = {"TableName": "t", "Item": {}}
    limiter.charge("PutItem", put, {"write": 5.0}, True, region="us-east-1")
    with pytest.raises(Exception) as err:
        limiter.check("PutItem", put, "us-east-1")
    assert getattr(err.value, "code", None) == "ProvisionedThroughputExceededException"
    limiter.check("PutItem", put, WEST)  # the west table of the name is on-demand: never throttled
    limiter.check("PutItem", {"TableName": f"arn:aws:dynamodb:{WEST}:000000000000:table/t"}, "us-east-1")  # not this region's
    tables[(WEST, "t")] = provisioned
    limiter.check("PutItem", put, WEST)  # a bucket of its own, full
    assert limiter.health()["buckets"] == 2


@pytest.fixture(scope="module")
def burst_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from emulator.testing.plugin import storage_args
    from emulator.testing.server import EmulatorServer

    folder = tmp_path_factory.mktemp("regional-capacity")
    config = folder / "emulator.toml"
    config.write_text("[emulator]\ndynamodb_burst_seconds = 2\n")
    with storage_args() as args, EmulatorServer(data_dir=folder / "data", extra_args=[*args, "--services", "iam,dynamodb", "--config", str(config)]) as server:
        yield server


def test_provisioned_throughput_is_per_regional_table(burst_server: Any) -> None:
    from botocore.config import Config

    once = Config(retries={"total_max_attempts": 1})
    clients = [burst_server.client("dynamodb", config=once), burst_server.client("dynamodb", region_name=WEST, config=once)]
    for client in clients:
        client.create_table(TableName="cap", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                            ProvisionedThroughput={"ReadCapacityUnits": 1, "WriteCapacityUnits": 1})
    east_codes = [code(lambda i=i: clients[0].put_item(TableName="cap", Item={"pk": {"S": f"k{i}"}})) for i in range(8)]
    assert "ProvisionedThroughputExceededException" in east_codes, east_codes
    # The table of the same name in the other region has its own throughput, untouched.
    assert code(lambda: clients[1].put_item(TableName="cap", Item={"pk": {"S": "w"}})) is None


# ------------------------------------------------------------ old data files
def test_a_data_file_from_before_regional_tables_keeps_working(tmp_path: Any) -> None:
    """A data dir written when tables had no region column: each table comes back in the
    region of its ARN (the region its CreateTable was signed for), items and all."""
    import sqlite3

    from emulator.dynamodb.engine import DynamoDBEngine
    from emulator.dynamodb.storage import open_storage
    from emulator.testing.server import EmulatorServer

    data = tmp_path / "data"
    data.mkdir()
    engine = DynamoDBEngine(open_storage("sqlite", data))
    engine.open()
    engine.create_table({"TableName": "legacy", "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
                         "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}], "BillingMode": "PAY_PER_REQUEST"}, WEST)
    engine.put_item({"TableName": f"arn:aws:dynamodb:{WEST}:{engine.account_id}:table/legacy", "Item": {"pk": {"S": "kept"}}})
    engine.close()
    # Back to the layout of that time: a unique name, no region.
    conn = sqlite3.connect(data / "dynamodb.sqlite3")
    conn.executescript(
        "CREATE TABLE old_tables (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL UNIQUE, meta BLOB NOT NULL);"
        "INSERT INTO old_tables (id, name, meta) SELECT id, name, meta FROM ddb_tables;"
        "DROP TABLE ddb_tables; ALTER TABLE old_tables RENAME TO ddb_tables;"
    )
    conn.close()
    with EmulatorServer(data_dir=data, extra_args=["--services", "dynamodb"]) as server:
        west = server.client("dynamodb", region_name=WEST)
        east = server.client("dynamodb")
        assert west.get_item(TableName="legacy", Key={"pk": {"S": "kept"}})["Item"] == {"pk": {"S": "kept"}}
        assert "legacy" in west.list_tables()["TableNames"]
        assert code(lambda: east.describe_table(TableName="legacy")) == "ResourceNotFoundException"
        east.create_table(TableName="legacy", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                          AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
        assert east.scan(TableName="legacy")["Count"] == 0 and west.scan(TableName="legacy")["Count"] == 1
