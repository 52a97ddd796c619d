"""Point-in-time recovery through the wire: the restored table is the table as it was at that second."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from .test_backups import scan_all


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def tick() -> dt.datetime:
    """Sleep past the next whole second and return a time strictly between writes
    (restore times travel with one-second precision)."""
    time.sleep(1.1)
    t = now()
    time.sleep(1.1)
    return t


def values(ddb: Any, name: str) -> dict[str, str]:
    return {i["pk"]["S"]: i["v"]["S"] for i in scan_all(ddb, name)}


def test_continuous_backups_settings(ddb: Any, make_table: Callable[..., str]) -> None:
    name = make_table()
    desc = ddb.describe_continuous_backups(TableName=name)["ContinuousBackupsDescription"]
    assert desc["ContinuousBackupsStatus"] == "ENABLED"
    assert desc["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "DISABLED"
    out = ddb.update_continuous_backups(TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True})
    pitr = out["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]
    assert pitr["PointInTimeRecoveryStatus"] == "ENABLED"
    assert pitr["RecoveryPeriodInDays"] == 35
    assert pitr["EarliestRestorableDateTime"] <= pitr["LatestRestorableDateTime"]
    ddb.update_continuous_backups(TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True, "RecoveryPeriodInDays": 7})
    pitr = ddb.describe_continuous_backups(TableName=name)["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]
    assert pitr["RecoveryPeriodInDays"] == 7
    ddb.update_continuous_backups(TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": False})
    pitr = ddb.describe_continuous_backups(TableName=name)["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]
    assert pitr == {"PointInTimeRecoveryStatus": "DISABLED"}
    with pytest.raises(ClientError) as err:
        ddb.describe_continuous_backups(TableName="no-such-table-pitr")
    assert err.value.response["Error"]["Code"] == "TableNotFoundException"


def test_restore_at_several_points(ddb: Any, make_table: Callable[..., str], new_name: Callable[..., str]) -> None:
    name = make_table()
    ddb.put_item(TableName=name, Item={"pk": {"S": "base"}, "v": {"S": "0"}})  # before PITR: in the base snapshot
    ddb.update_continuous_backups(TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True})
    ddb.put_item(TableName=name, Item={"pk": {"S": "a"}, "v": {"S": "1"}})
    ddb.put_item(TableName=name, Item={"pk": {"S": "b"}, "v": {"S": "1"}})
    t1 = tick()
    ddb.put_item(TableName=name, Item={"pk": {"S": "a"}, "v": {"S": "2"}})  # overwrite
    ddb.delete_item(TableName=name, Key={"pk": {"S": "b"}})
    ddb.delete_item(TableName=name, Key={"pk": {"S": "base"}})
    t2 = tick()
    ddb.update_item(TableName=name, Key={"pk": {"S": "c"}}, UpdateExpression="SET v = :v", ExpressionAttributeValues={":v": {"S": "3"}})
    ddb.put_item(TableName=name, Item={"pk": {"S": "b"}, "v": {"S": "3"}})
    expected = {
        t1: {"base": "0", "a": "1", "b": "1"},
        t2: {"a": "2"},
    }
    targets = []
    try:
        for at, want in expected.items():
            target = new_name("pitr")
            targets.append(target)
            out = ddb.restore_table_to_point_in_time(SourceTableName=name, TargetTableName=target, RestoreDateTime=at)
            assert out["TableDescription"]["RestoreSummary"]["SourceTableArn"].endswith("/" + name)
            assert values(ddb, target) == want
        latest = new_name("pitr")
        targets.append(latest)
        arn = ddb.describe_table(TableName=name)["Table"]["TableArn"]
        ddb.restore_table_to_point_in_time(SourceTableArn=arn, TargetTableName=latest, UseLatestRestorableTime=True)
        assert values(ddb, latest) == {"a": "2", "b": "3", "c": "3"}
        # Outside the window.
        with pytest.raises(ClientError) as err:
            ddb.restore_table_to_point_in_time(SourceTableName=name, TargetTableName=new_name("pitr"), RestoreDateTime=now() - dt.timedelta(days=2))
        assert err.value.response["Error"]["Code"] == "InvalidRestoreTimeException"
        with pytest.raises(ClientError) as err:
            ddb.restore_table_to_point_in_time(SourceTableName=name, TargetTableName=latest, UseLatestRestorableTime=True)
        assert err.value.response["Error"]["Code"] == "TableAlreadyExistsException"
    finally:
        for target in targets:
            ddb.delete_table(TableName=target)


def test_restore_needs_pitr(ddb: Any, make_table: Callable[..., str], new_name: Callable[..., str]) -> None:
    name = make_table()
    with pytest.raises(ClientError) as err:
        ddb.restore_table_to_point_in_time(SourceTableName=name, TargetTableName=new_name(), UseLatestRestorableTime=True)
    assert err.value.response["Error"]["Code"] == "PointInTimeRecoveryUnavailableException"
    with pytest.raises(ClientError) as err:
        ddb.restore_table_to_point_in_time(SourceTableName="no-such-source-t", TargetTableName=new_name(), UseLatestRestorableTime=True)
    assert err.value.response["Error"]["Code"] == "SourceTableNotFoundException"
