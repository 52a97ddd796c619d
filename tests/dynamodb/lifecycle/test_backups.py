"""On-demand backups through the wire: create, describe, list (filters, paging), delete, restore."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError


def scan_all(ddb: Any, name: str, **kwargs: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    kwargs = {"TableName": name, **kwargs}
    while True:
        page = ddb.scan(**kwargs)
        items.extend(page["Items"])
        if "LastEvaluatedKey" not in page:
            return sorted(items, key=lambda i: (i["pk"]["S"], i.get("sk", {}).get("S", "")))
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def gsi_table(make_table: Callable[..., str]) -> str:
    return make_table(
        range=("sk", "S"),
        extra_attrs={"g": "S"},
        GlobalSecondaryIndexes=[{"IndexName": "by-g", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}], "Projection": {"ProjectionType": "ALL"}}],
    )


def test_backup_is_a_snapshot_and_restores(ddb: Any, make_table: Callable[..., str], new_name: Callable[..., str]) -> None:
    name = gsi_table(make_table)
    for i in range(30):
        ddb.put_item(TableName=name, Item={"pk": {"S": f"p{i % 3}"}, "sk": {"S": f"s{i:02d}"}, "g": {"S": f"g{i % 5}"}, "n": {"N": str(i)}})
    before = scan_all(ddb, name)
    details = ddb.create_backup(TableName=name, BackupName="snap-1")["BackupDetails"]
    assert details["BackupStatus"] in ("AVAILABLE", "CREATING")
    assert details["BackupType"] == "USER"
    assert details["BackupArn"].startswith(ddb.describe_table(TableName=name)["Table"]["TableArn"] + "/backup/")
    # Writes after the backup are not in it.
    ddb.put_item(TableName=name, Item={"pk": {"S": "later"}, "sk": {"S": "x"}})
    ddb.delete_item(TableName=name, Key={"pk": {"S": "p0"}, "sk": {"S": "s00"}})
    target = new_name("restored")
    out = ddb.restore_table_from_backup(TargetTableName=target, BackupArn=details["BackupArn"])
    try:
        desc = out["TableDescription"]
        assert desc["TableName"] == target
        assert desc["RestoreSummary"]["SourceBackupArn"] == details["BackupArn"]
        ddb.get_waiter("table_exists").wait(TableName=target, WaiterConfig={"Delay": 1})
        summary = ddb.describe_table(TableName=target)["Table"]["RestoreSummary"]
        assert summary["SourceBackupArn"] == details["BackupArn"] and summary["RestoreInProgress"] is False
        assert scan_all(ddb, target) == before
        # The GSI was rebuilt.
        got = ddb.query(TableName=target, IndexName="by-g", KeyConditionExpression="g = :g", ExpressionAttributeValues={":g": {"S": "g1"}})
        assert got["Count"] == 6
        described = ddb.describe_backup(BackupArn=details["BackupArn"])["BackupDescription"]
        assert described["BackupDetails"]["BackupName"] == "snap-1"
        assert described["SourceTableDetails"]["TableName"] == name
        assert described["SourceTableDetails"]["ItemCount"] == 30
        assert described["SourceTableFeatureDetails"]["GlobalSecondaryIndexes"][0]["IndexName"] == "by-g"
        with pytest.raises(ClientError) as err:
            ddb.restore_table_from_backup(TargetTableName=target, BackupArn=details["BackupArn"])
        assert err.value.response["Error"]["Code"] == "TableAlreadyExistsException"
    finally:
        ddb.delete_table(TableName=target)


def test_restore_overrides(ddb: Any, make_table: Callable[..., str], new_name: Callable[..., str]) -> None:
    name = gsi_table(make_table)
    ddb.put_item(TableName=name, Item={"pk": {"S": "a"}, "sk": {"S": "1"}, "g": {"S": "x"}})
    arn = ddb.create_backup(TableName=name, BackupName="ovr")["BackupDetails"]["BackupArn"]
    target = new_name("ovr")
    ddb.restore_table_from_backup(
        TargetTableName=target,
        BackupArn=arn,
        BillingModeOverride="PROVISIONED",
        ProvisionedThroughputOverride={"ReadCapacityUnits": 7, "WriteCapacityUnits": 3},
        GlobalSecondaryIndexOverride=[],
        LocalSecondaryIndexOverride=[
            {"IndexName": "lsi-g", "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "g", "KeyType": "RANGE"}], "Projection": {"ProjectionType": "KEYS_ONLY"}}
        ],
    )
    try:
        table = ddb.describe_table(TableName=target)["Table"]
        assert table["ProvisionedThroughput"]["ReadCapacityUnits"] == 7
        assert "GlobalSecondaryIndexes" not in table
        assert [i["IndexName"] for i in table["LocalSecondaryIndexes"]] == ["lsi-g"]
        got = ddb.query(TableName=target, IndexName="lsi-g", KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "a"}})
        assert got["Count"] == 1
    finally:
        ddb.delete_table(TableName=target)


def test_list_filters_paging_and_delete(ddb: Any, make_table: Callable[..., str]) -> None:
    a = make_table()
    b = make_table()
    start = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=2)
    arns_a = [ddb.create_backup(TableName=a, BackupName=f"a-{i}")["BackupDetails"]["BackupArn"] for i in range(3)]
    arn_b = ddb.create_backup(TableName=b, BackupName="b-0")["BackupDetails"]["BackupArn"]
    listed = ddb.list_backups(TableName=a)["BackupSummaries"]
    assert [s["BackupArn"] for s in listed] == arns_a
    assert all(s["TableName"] == a and s["BackupStatus"] == "AVAILABLE" for s in listed)
    # Paging.
    page1 = ddb.list_backups(TableName=a, Limit=2)
    assert [s["BackupArn"] for s in page1["BackupSummaries"]] == arns_a[:2]
    page2 = ddb.list_backups(TableName=a, Limit=2, ExclusiveStartBackupArn=page1["LastEvaluatedBackupArn"])
    assert [s["BackupArn"] for s in page2["BackupSummaries"]] == arns_a[2:]
    assert "LastEvaluatedBackupArn" not in page2
    # Time range and type filters.
    future = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    assert ddb.list_backups(TableName=b, TimeRangeLowerBound=start, TimeRangeUpperBound=future)["BackupSummaries"][0]["BackupArn"] == arn_b
    assert ddb.list_backups(TableName=b, TimeRangeLowerBound=future)["BackupSummaries"] == []
    assert ddb.list_backups(TableName=b, BackupType="SYSTEM")["BackupSummaries"] == []
    assert len(ddb.list_backups(TableName=b, BackupType="USER")["BackupSummaries"]) == 1
    # Delete.
    deleted = ddb.delete_backup(BackupArn=arns_a[0])["BackupDescription"]
    assert deleted["BackupDetails"]["BackupStatus"] == "DELETED"
    assert [s["BackupArn"] for s in ddb.list_backups(TableName=a)["BackupSummaries"]] == arns_a[1:]
    for call in (lambda: ddb.describe_backup(BackupArn=arns_a[0]), lambda: ddb.delete_backup(BackupArn=arns_a[0])):
        with pytest.raises(ClientError) as err:
            call()
        assert err.value.response["Error"]["Code"] == "BackupNotFoundException"


def test_backup_errors(ddb: Any) -> None:
    with pytest.raises(ClientError) as err:
        ddb.create_backup(TableName="no-such-table-abc", BackupName="x-1")
    assert err.value.response["Error"]["Code"] == "TableNotFoundException"


def test_backup_during_writes_is_consistent(ddb: Any, aws_client: Callable[..., Any], make_table: Callable[..., str], new_name: Callable[..., str]) -> None:
    """Writes go on while CreateBackup runs; the backup holds every write acknowledged
    before it was asked for, and the sequential writes it holds form a prefix."""
    import threading
    import time

    name = make_table()
    for i in range(200):
        ddb.put_item(TableName=name, Item={"pk": {"S": f"base{i}"}})
    stop = threading.Event()
    acked: list[int] = []

    def writer() -> None:
        client = aws_client("dynamodb")
        i = 0
        while not stop.is_set():
            client.put_item(TableName=name, Item={"pk": {"S": f"live{i:06d}"}})
            acked.append(i)
            i += 1

    t = threading.Thread(target=writer)
    t.start()
    try:
        while len(acked) < 20:
            time.sleep(0.01)
        acked_before = len(acked)
        arn = ddb.create_backup(TableName=name, BackupName="during")["BackupDetails"]["BackupArn"]
    finally:
        stop.set()
        t.join(10)
    target = new_name("during")
    ddb.restore_table_from_backup(TargetTableName=target, BackupArn=arn)
    try:
        keys = {i["pk"]["S"] for i in scan_all(ddb, target)}
        assert {f"base{i}" for i in range(200)} <= keys
        live = sorted(int(k[4:]) for k in keys if k.startswith("live"))
        assert live == list(range(len(live)))
        assert len(live) >= acked_before
    finally:
        ddb.delete_table(TableName=target)
