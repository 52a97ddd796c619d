"""Unit tests with an injected clock: iterator expiry, 24-hour retention, trim horizon, PITR replay."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from emulator.dynamodb.engine import DynamoDBEngine
from emulator.dynamodb.lifecycle import Lifecycle
from emulator.dynamodb.storage.sqlite import SqliteStorage
from emulator.errors import AwsError


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def env(tmp_path: Path) -> Iterator[tuple[DynamoDBEngine, Lifecycle, Clock]]:
    engine = DynamoDBEngine(SqliteStorage(tmp_path / "db.sqlite3"))
    lc = Lifecycle(engine, SimpleNamespace(extra={}, data_dir=tmp_path))
    clock = Clock()
    lc.clock = clock
    engine.open()
    lc.pitr.load()
    engine.create_table(
        {
            "TableName": "tab1",
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
            "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
            "BillingMode": "PAY_PER_REQUEST",
            "StreamSpecification": {"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"},
        }
    )
    yield engine, lc, clock
    engine.close()


def put(engine: DynamoDBEngine, key: str, value: str = "v") -> None:
    engine.put_item({"TableName": "tab1", "Item": {"pk": {"S": key}, "v": {"S": value}}})


def stream_arn(lc: Lifecycle) -> str:
    arn = lc.streams.arn(lc.engine.table("tab1"))
    assert arn is not None
    return arn


def iterator(lc: Lifecycle, kind: str = "TRIM_HORIZON", **kw: Any) -> str:
    arn = stream_arn(lc)
    shard = lc.streams.describe_stream({"StreamArn": arn})["StreamDescription"]["Shards"][0]["ShardId"]
    return str(lc.streams.get_shard_iterator({"StreamArn": arn, "ShardId": shard, "ShardIteratorType": kind, **kw})["ShardIterator"])


def codes(fn: Any) -> str:
    with pytest.raises(AwsError) as err:
        fn()
    return err.value.code


def test_iterator_expires_after_15_minutes(env: tuple[DynamoDBEngine, Lifecycle, Clock]) -> None:
    engine, lc, clock = env
    put(engine, "a")
    it = iterator(lc)
    clock.now += 14 * 60
    assert len(lc.streams.get_records({"ShardIterator": it})["Records"]) == 1
    clock.now += 2 * 60
    assert codes(lambda: lc.streams.get_records({"ShardIterator": it})) == "ExpiredIteratorException"


def test_retention_trims_and_reports_trimmed_access(env: tuple[DynamoDBEngine, Lifecycle, Clock]) -> None:
    engine, lc, clock = env
    put(engine, "old1")
    put(engine, "old2")
    old_it = iterator(lc)
    first = lc.streams.get_records({"ShardIterator": old_it})["Records"][0]["dynamodb"]["SequenceNumber"]
    clock.now += 20 * 3600
    put(engine, "new")
    clock.now += 5 * 3600  # old records are now 25 h old, "new" is 5 h old
    lc.streams.housekeeping()
    assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in lc.streams.get_records({"ShardIterator": iterator(lc)})["Records"]] == ["new"]
    kinds = ("AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER")
    for kind in kinds:
        assert codes(lambda kind=kind: iterator(lc, kind, SequenceNumber=first)) == "TrimmedDataAccessException"
    # An iterator issued before the trim (and still fresh) now points below the horizon.
    stale = lc.streams._iterator(stream_arn(lc), "s", 0)
    assert codes(lambda: lc.streams.get_records({"ShardIterator": stale})) == "TrimmedDataAccessException"


def test_disabled_stream_forgotten_after_24_hours(env: tuple[DynamoDBEngine, Lifecycle, Clock]) -> None:
    engine, lc, clock = env
    put(engine, "a")
    arn = stream_arn(lc)
    engine.update_table({"TableName": "tab1", "StreamSpecification": {"StreamEnabled": False}})
    assert lc.streams.describe_stream({"StreamArn": arn})["StreamDescription"]["StreamStatus"] == "DISABLED"
    clock.now += 25 * 3600
    lc.streams.housekeeping()
    assert codes(lambda: lc.streams.describe_stream({"StreamArn": arn})) == "ResourceNotFoundException"


def test_pitr_replay_with_clock(env: tuple[DynamoDBEngine, Lifecycle, Clock]) -> None:
    engine, lc, clock = env
    put(engine, "a", "0")
    lc.pitr.update_continuous_backups({"TableName": "tab1", "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True}})
    start = clock.now
    clock.now += 10
    put(engine, "a", "1")
    clock.now += 10
    engine.delete_item({"TableName": "tab1", "Key": {"pk": {"S": "a"}}})
    put(engine, "b", "2")
    table = engine.table("tab1")

    def state(at: float) -> list[tuple[bytes, bytes]]:
        return [(pk, sk) for pk, sk, _ in lc.pitr.state_at(table, at)]

    assert len(state(start)) == 1
    assert len(state(start + 10)) == 1
    assert len(state(start + 20)) == 1 and state(start + 20) != state(start)
    assert codes(lambda: lc.pitr.resolve_time(table, start - 100, False)) == "InvalidRestoreTimeException"
    assert codes(lambda: lc.pitr.resolve_time(table, clock.now + 100, False)) == "InvalidRestoreTimeException"


def test_pitr_history_leaving_the_window_is_folded_into_the_base(env: tuple[DynamoDBEngine, Lifecycle, Clock]) -> None:
    engine, lc, clock = env
    lc.pitr.update_continuous_backups({"TableName": "tab1", "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True, "RecoveryPeriodInDays": 1}})
    put(engine, "a", "1")
    put(engine, "b", "1")
    clock.now += 3600
    engine.delete_item({"TableName": "tab1", "Key": {"pk": {"S": "b"}}})
    put(engine, "a", "2")
    mid = clock.now
    clock.now += 3600
    put(engine, "c", "3")
    table = engine.table("tab1")
    before = {at: list(lc.pitr.state_at(table, at)) for at in (mid, clock.now)}
    clock.now = mid + 86400 + 1800  # the first hour's versions and "mid" left the 1-day window
    lc.pitr.housekeeping()
    cfg = lc.pitr.enabled[table.table_uuid]
    assert cfg["since"] == clock.now - 86400
    assert lc.pitr.describe_for(table)["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]["EarliestRestorableDateTime"] == round(clock.now - 86400, 3)
    # Folding changed nothing about the states still inside the window.
    assert list(lc.pitr.state_at(table, mid + 3600)) == before[mid + 3600]
    assert len(list(lc.storage.history_rows(table.table_uuid, clock.now))) == 1  # only "c" is left as history
    assert codes(lambda: lc.pitr.resolve_time(table, mid, False)) == "InvalidRestoreTimeException"


def test_deleting_a_pitr_table_leaves_a_system_backup(env: tuple[DynamoDBEngine, Lifecycle, Clock]) -> None:
    engine, lc, clock = env
    put(engine, "a", "0")
    lc.pitr.update_continuous_backups({"TableName": "tab1", "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True}})
    put(engine, "b", "1")
    engine.delete_item({"TableName": "tab1", "Key": {"pk": {"S": "a"}}})
    engine.delete_table({"TableName": "tab1"})
    lc.pitr.housekeeping()
    assert lc.pitr.enabled == {}
    assert lc.backups.list_backups({"BackupType": "USER"})["BackupSummaries"] == []
    (summary,) = lc.backups.list_backups({"BackupType": "SYSTEM"})["BackupSummaries"]
    assert summary["BackupName"] == "tab1$DeletedTableBackup" and summary["TableName"] == "tab1"
    desc = lc.backups.describe_backup({"BackupArn": summary["BackupArn"]})["BackupDescription"]
    assert desc["SourceTableDetails"]["ItemCount"] == 1
    rows = list(lc.storage.file_snapshot_rows(lc.backups.path(lc.storage.meta_get("backup", summary["BackupArn"]) or {})))
    assert len(rows) == 1
    clock.now += 36 * 86400
    lc.backups.housekeeping()
    assert lc.backups.list_backups({})["BackupSummaries"] == []


def test_incremental_export_lines(env: tuple[DynamoDBEngine, Lifecycle, Clock]) -> None:
    import orjson

    engine, lc, clock = env
    put(engine, "keep", "0")
    put(engine, "gone", "0")
    lc.pitr.update_continuous_backups({"TableName": "tab1", "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True}})
    start = clock.now
    clock.now += 60
    put(engine, "keep", "1")
    engine.delete_item({"TableName": "tab1", "Key": {"pk": {"S": "gone"}}})
    put(engine, "new", "2")
    put(engine, "temp", "x")
    engine.delete_item({"TableName": "tab1", "Key": {"pk": {"S": "temp"}}})  # born and gone inside the period
    clock.now += 60
    table = engine.table("tab1")
    lines = [orjson.loads(line) for line in lc.exports._incremental_lines(table, {"from": start, "to": clock.now, "view": "NEW_AND_OLD_IMAGES"})]
    by_key = {rec["Keys"]["pk"]["S"]: rec for rec in lines}
    assert set(by_key) == {"keep", "gone", "new"}
    assert by_key["keep"]["OldImage"]["v"] == {"S": "0"} and by_key["keep"]["NewImage"]["v"] == {"S": "1"}
    assert "NewImage" not in by_key["gone"] and by_key["gone"]["OldImage"]["v"] == {"S": "0"}
    assert "OldImage" not in by_key["new"]
    assert int(by_key["new"]["Metadata"]["WriteTimestampMicros"]["N"]) == int((start + 60) * 1_000_000)
