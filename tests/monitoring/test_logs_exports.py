"""CloudWatch Logs export tasks through the wire: CreateExportTask writes a log group's events
into a bucket of this endpoint's S3 (read back with boto3), DescribeExportTasks shows the
task's progress, CancelExportTask stops it; the limit, the errors, and a restart."""

from __future__ import annotations

import asyncio
import gzip
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from emulator.testing.server import EmulatorServer

from .conftest import wait_for

DELAY = "2.5"  # seconds a new task stays PENDING on this module's server: long enough for a
# loaded CI machine to make the calls that must find it PENDING (1.0 was not, once)


@pytest.fixture(scope="module")
def srv() -> Iterator[EmulatorServer]:
    with EmulatorServer(env={"EMULATOR_LOGS_EXPORT_DELAY": DELAY}) as server:
        yield server


@pytest.fixture()
def logs(srv: EmulatorServer) -> Any:
    return srv.client("logs")


@pytest.fixture()
def s3(srv: EmulatorServer) -> Any:
    return srv.client("s3")


def _code(err: pytest.ExceptionInfo[ClientError]) -> str:
    return str(err.value.response["Error"]["Code"])


def _message(err: pytest.ExceptionInfo[ClientError]) -> str:
    return str(err.value.response["Error"]["Message"])


def _bucket(s3: Any) -> str:
    name = f"exp-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    return name


def _iso(ts: int) -> str:
    return datetime.fromtimestamp(ts / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts % 1000:03d}Z"


def _group(logs: Any, streams: dict[str, list[tuple[int, str]]]) -> str:
    name = f"/export/{uuid.uuid4().hex[:8]}"
    logs.create_log_group(logGroupName=name)
    for stream, events in streams.items():
        logs.create_log_stream(logGroupName=name, logStreamName=stream)
        if events:
            logs.put_log_events(logGroupName=name, logStreamName=stream, logEvents=[{"timestamp": t, "message": m} for t, m in events])
    return name


def _task(logs: Any, tid: str) -> dict[str, Any]:
    [task] = logs.describe_export_tasks(taskId=tid)["exportTasks"]
    return dict(task)


def _finished(logs: Any, tid: str, timeout: float = 20.0) -> dict[str, Any]:
    task = wait_for(lambda: (t := _task(logs, tid))["status"]["code"] in ("COMPLETED", "FAILED", "CANCELLED") and t, timeout=timeout)
    assert task, _task(logs, tid)
    return dict(task)


def _objects(s3: Any, bucket: str) -> dict[str, bytes]:
    out = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for obj in page.get("Contents", []):
            out[obj["Key"]] = s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
    return out


def _lines(body: bytes) -> list[str]:
    return gzip.decompress(body).decode().splitlines()


def test_export_of_several_streams(logs: Any, s3: Any) -> None:
    now = int(time.time() * 1000) - 60_000
    streams = {
        "web-1": [(now, "GET /"), (now + 10, "GET /health"), (now + 20, "POST /login")],
        "web-2": [(now + 5, "line with spaces  and\ttabs"), (now + 15, '{"json": "message"}')],
        "empty": [],
    }
    group = _group(logs, streams)
    bucket = _bucket(s3)
    tid = logs.create_export_task(taskName="nightly", logGroupName=group, fromTime=now, to=now + 60_000, destination=bucket)["taskId"]
    pending = _task(logs, tid)
    # off the request path: a new task is PENDING first (for this server's 1 s)
    assert pending["status"] == {"code": "PENDING", "message": "Pending"}
    assert pending["taskName"] == "nightly" and pending["logGroupName"] == group and pending["destination"] == bucket
    assert pending["destinationPrefix"] == "exportedlogs" and pending["from"] == now and pending["to"] == now + 60_000
    assert "completionTime" not in pending["executionInfo"] and pending["executionInfo"]["creationTime"] > 0
    done = _finished(logs, tid)
    assert done["status"] == {"code": "COMPLETED", "message": "Completed successfully"}
    assert done["executionInfo"]["completionTime"] >= done["executionInfo"]["creationTime"]
    objects = _objects(s3, bucket)
    assert set(objects) == {"exportedlogs/aws-logs-write-test", f"exportedlogs/{tid}/web-1/000000.gz", f"exportedlogs/{tid}/web-2/000000.gz"}
    assert objects["exportedlogs/aws-logs-write-test"] == b"Permission Check Successful"
    for stream in ("web-1", "web-2"):
        assert _lines(objects[f"exportedlogs/{tid}/{stream}/000000.gz"]) == [f"{_iso(t)} {m}" for t, m in streams[stream]]
    assert _iso(now).endswith("Z") and _lines(objects[f"exportedlogs/{tid}/web-1/000000.gz"])[0].startswith(_iso(now) + " GET")


def test_time_range_and_stream_prefix(logs: Any, s3: Any) -> None:
    t0 = int(time.time() * 1000) - 100_000
    group = _group(logs, {
        "app-a": [(t0, "a0"), (t0 + 1000, "a1"), (t0 + 2000, "a2"), (t0 + 3000, "a3")],
        "app-b": [(t0 + 1500, "b1")],
        "app-c": [(t0 + 5000, "c-late")],
        "sys": [(t0 + 1500, "sys1")],
    })
    bucket = _bucket(s3)
    tid = logs.create_export_task(logGroupName=group, logStreamNamePrefix="app-", fromTime=t0 + 1000, to=t0 + 2000, destination=bucket,
                                  destinationPrefix="cw/archive")["taskId"]
    task = _finished(logs, tid)
    assert task["status"]["code"] == "COMPLETED" and task["destinationPrefix"] == "cw/archive" and "taskName" not in task
    objects = _objects(s3, bucket)
    # both ends of the range are exported; a stream with nothing in it gets no object
    assert set(objects) == {"cw/archive/aws-logs-write-test", f"cw/archive/{tid}/app-a/000000.gz", f"cw/archive/{tid}/app-b/000000.gz"}
    assert _lines(objects[f"cw/archive/{tid}/app-a/000000.gz"]) == [f"{_iso(t0 + 1000)} a1", f"{_iso(t0 + 2000)} a2"]
    assert _lines(objects[f"cw/archive/{tid}/app-b/000000.gz"]) == [f"{_iso(t0 + 1500)} b1"]


def test_limit_cancel_and_describe(srv: EmulatorServer, logs: Any, s3: Any) -> None:
    now = int(time.time() * 1000)
    group = _group(logs, {"s": [(now - 1000, "x")]})
    bucket = _bucket(s3)
    first = logs.create_export_task(logGroupName=group, fromTime=now - 10_000, to=now, destination=bucket)["taskId"]
    # one active (PENDING or RUNNING) task at a time
    with pytest.raises(ClientError) as err:
        logs.create_export_task(logGroupName=group, fromTime=now - 10_000, to=now, destination=bucket)
    assert _code(err) == "LimitExceededException" and _message(err) == "Resource limit exceeded."
    assert [t["taskId"] for t in logs.describe_export_tasks(statusCode="PENDING")["exportTasks"]] == [first]
    logs.cancel_export_task(taskId=first)
    cancelled = _task(logs, first)
    assert cancelled["status"] == {"code": "CANCELLED", "message": "Cancelled by user"} and cancelled["executionInfo"]["completionTime"] > 0
    time.sleep(float(DELAY) + 0.5)  # past the PENDING time: a cancelled task never runs
    assert _task(logs, first)["status"]["code"] == "CANCELLED"
    assert not any(k.startswith(f"exportedlogs/{first}/") for k in _objects(s3, bucket))
    with pytest.raises(ClientError) as err:
        logs.cancel_export_task(taskId=first)
    assert _code(err) == "InvalidOperationException" and _message(err) == "The specified export task has already finished"
    with pytest.raises(ClientError) as err:
        logs.cancel_export_task(taskId=str(uuid.uuid4()))
    assert _code(err) == "ResourceNotFoundException" and _message(err) == "The specified export task does not exist."
    # the slot is free again
    second = logs.create_export_task(logGroupName=group, fromTime=now - 10_000, to=now, destination=bucket)["taskId"]
    assert _finished(logs, second)["status"]["code"] == "COMPLETED"
    # filters and paging: the newest first
    ids = [t["taskId"] for t in logs.describe_export_tasks()["exportTasks"]]
    assert ids.index(second) < ids.index(first)
    assert [t["taskId"] for t in logs.describe_export_tasks(statusCode="CANCELLED")["exportTasks"]][:1] == [first]
    assert second in [t["taskId"] for t in logs.describe_export_tasks(statusCode="COMPLETED")["exportTasks"]]
    assert logs.describe_export_tasks(taskId=str(uuid.uuid4()))["exportTasks"] == []
    page = logs.describe_export_tasks(limit=1)
    assert len(page["exportTasks"]) == 1 and page["nextToken"]
    rest = logs.describe_export_tasks(limit=50, nextToken=page["nextToken"])["exportTasks"]
    assert [t["taskId"] for t in page["exportTasks"] + rest] == ids
    # tasks are regional: another region's endpoint neither shows nor counts them
    assert srv.client("logs", region_name="eu-west-1").describe_export_tasks()["exportTasks"] == []


def test_errors(logs: Any, s3: Any) -> None:
    now = int(time.time() * 1000)
    group = _group(logs, {"s": [(now - 1000, "x")]})
    bucket = _bucket(s3)
    with pytest.raises(ClientError) as err:
        logs.create_export_task(logGroupName="/no/such/group", fromTime=now - 1000, to=now, destination=bucket)
    assert _code(err) == "ResourceNotFoundException" and _message(err) == "The specified log group does not exist."
    with pytest.raises(ClientError) as err:
        logs.create_export_task(logGroupName=group, fromTime=now, to=now - 1000, destination=bucket)
    assert _code(err) == "InvalidParameterException" and "is not valid" in _message(err)
    missing = f"exp-missing-{uuid.uuid4().hex[:8]}"
    with pytest.raises(ClientError) as err:
        logs.create_export_task(logGroupName=group, fromTime=now - 1000, to=now, destination=missing)
    assert _code(err) == "InvalidParameterException" and _message(err) == "The given bucket does not exist. Please make sure the bucket is valid."
    with pytest.raises(ClientError) as err:
        logs.describe_export_tasks(nextToken="garbage")
    assert _code(err) == "InvalidParameterException"
    # none of the refused requests made a task (or took the one active slot)
    assert not [t for t in logs.describe_export_tasks()["exportTasks"] if t["logGroupName"] == group]
    tid = logs.create_export_task(logGroupName=group, fromTime=now - 1000, to=now, destination=bucket)["taskId"]
    assert _finished(logs, tid)["status"]["code"] == "COMPLETED"


def test_reset_forgets_tasks(srv: EmulatorServer, logs: Any, s3: Any) -> None:
    now = int(time.time() * 1000)
    group = _group(logs, {"s": [(now - 1000, "x")]})
    bucket = _bucket(s3)
    logs.create_export_task(logGroupName=group, fromTime=now - 1000, to=now, destination=bucket)
    srv.reset(["logs"])
    assert logs.describe_export_tasks()["exportTasks"] == []
    group = _group(logs, {"s": [(now - 1000, "x")]})  # the active slot went with the task
    tid = logs.create_export_task(logGroupName=group, fromTime=now - 1000, to=now, destination=bucket)["taskId"]
    assert _finished(logs, tid)["status"]["code"] == "COMPLETED"


def test_a_task_survives_a_restart() -> None:
    """A task still PENDING when the server stops runs when it starts again, and completes."""
    with EmulatorServer(env={"EMULATOR_LOGS_EXPORT_DELAY": "2"}) as server:
        logs, s3 = server.client("logs"), server.client("s3")
        now = int(time.time() * 1000)
        group = _group(logs, {"s1": [(now - 2000, "before the restart"), (now - 1000, "and another")]})
        bucket = _bucket(s3)
        tid = logs.create_export_task(logGroupName=group, fromTime=now - 5000, to=now, destination=bucket)["taskId"]
        server.stop()
        server.start()
        logs, s3 = server.client("logs"), server.client("s3")
        assert _task(logs, tid)["status"]["code"] in ("PENDING", "RUNNING", "COMPLETED")
        assert _finished(logs, tid)["status"]["code"] == "COMPLETED"
        body = _objects(s3, bucket)[f"exportedlogs/{tid}/s1/000000.gz"]
        assert _lines(body) == [f"{_iso(now - 2000)} before the restart", f"{_iso(now - 1000)} and another"]


def _held(store: Any) -> Any:
    """LogsExports whose S3 writes wait for ``gate`` and are recorded (no bucket check): the
    states between them can be seen."""
    from emulator.monitoring.logs_exports import LogsExports

    class Held(LogsExports):
        def __init__(self) -> None:
            super().__init__(store, None)
            self.gate = asyncio.Event()
            self.written: list[str] = []

        async def _write_test(self, bucket: str, prefix: str) -> None:
            return None

        async def _write(self, bucket: str, key: str, body: bytes) -> None:
            await self.gate.wait()
            self.written.append(key)

    return Held()


def _store(tmp_path: Path, now: int) -> Any:
    from emulator.monitoring.logstore import LogStore

    store = LogStore(tmp_path / "logs.db", "us-east-1", "123456789012")
    store.create_group("/g")
    for name in ("a", "b", "c"):
        store.create_stream("/g", name)
        store.put_events("/g", name, [{"timestamp": now - 1000, "message": name}])
    return store


async def _until(exports: Any, tid: str, region: str, code: str) -> dict[str, Any]:
    for _ in range(200):
        task = exports.describe({"taskId": tid}, region)["exportTasks"][0]
        if task["status"]["code"] == code:
            break
        await asyncio.sleep(0.01)
    return dict(task)


def test_running_then_cancelled_between_objects(tmp_path: Path) -> None:
    """RUNNING is observable, and a cancel while RUNNING passes through PENDING_CANCEL and stops
    the export before its next object (the S3 write is held here to see it)."""
    now = int(time.time() * 1000)
    store = _store(tmp_path, now)

    async def scenario() -> None:
        exports = _held(store)
        tid = (await exports.create({"logGroupName": "/g", "from": now - 5000, "to": now, "destination": "b"}, "us-east-1"))["taskId"]
        assert (await _until(exports, tid, "us-east-1", "RUNNING"))["status"] == {"code": "RUNNING", "message": "Started successfully"}
        exports.cancel({"taskId": tid}, "us-east-1")
        assert exports.describe({"taskId": tid}, "us-east-1")["exportTasks"][0]["status"]["code"] == "PENDING_CANCEL"
        exports.gate.set()  # the object in flight is written; the next is not
        task = await _until(exports, tid, "us-east-1", "CANCELLED")
        assert task["status"]["code"] == "CANCELLED" and task["executionInfo"]["completionTime"] > 0
        assert exports.written == [f"exportedlogs/{tid}/a/000000.gz"]
        await exports.stop()

    asyncio.run(scenario())
    store.close()


def test_start_resumes_running_tasks(tmp_path: Path) -> None:
    """What a stopped server left: RUNNING runs again from the start and completes; PENDING_CANCEL
    is CANCELLED."""
    now = int(time.time() * 1000)
    store = _store(tmp_path, now)

    async def scenario() -> None:
        first = _held(store)
        tid = (await first.create({"logGroupName": "/g", "from": now - 5000, "to": now, "destination": "b"}, "us-east-1"))["taskId"]
        await _until(first, tid, "us-east-1", "RUNNING")
        await first.stop()  # shutdown in the middle of the first object
        assert first.describe({"taskId": tid}, "us-east-1")["exportTasks"][0]["status"]["code"] == "RUNNING"
        with store.lock:
            store.db.execute("UPDATE export_task SET region='eu-west-1', status='PENDING_CANCEL' WHERE id=?", (tid,))
        other = (await first.create({"logGroupName": "/g", "from": now - 5000, "to": now, "destination": "b"}, "us-east-1"))["taskId"]
        await _until(first, other, "us-east-1", "RUNNING")
        await first.stop()
        second = _held(store)
        second.gate.set()
        second.start()
        assert (await _until(second, other, "us-east-1", "COMPLETED"))["status"]["code"] == "COMPLETED"
        assert second.written == [f"exportedlogs/{other}/{s}/000000.gz" for s in ("a", "b", "c")]
        assert second.describe({"taskId": tid}, "eu-west-1")["exportTasks"][0]["status"]["code"] == "CANCELLED"
        await second.stop()

    asyncio.run(scenario())
    store.close()


def test_schema_added_to_an_older_database_idempotently(tmp_path: Path) -> None:
    import sqlite3

    from emulator.monitoring.logs_destinations import LogsDestinations
    from emulator.monitoring.logs_exports import LogsExports
    from emulator.monitoring.logstore import LogStore

    path = tmp_path / "logs.db"
    LogStore(path, "us-east-1", "123456789012").close()
    for _ in range(2):
        store = LogStore(path, "us-east-1", "123456789012")
        LogsExports(store, None)
        LogsDestinations(store)
        store.close()
    tables = {r[0] for r in sqlite3.connect(path).execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"export_task", "log_destination", "grp"} <= tables
