"""CloudWatch Logs export tasks (CreateExportTask, DescribeExportTasks, CancelExportTask):
a log group's events written, for real, into an S3 bucket of this endpoint (moto's S3).

A task is regional and kept in the log store's database (table ``export_task``, created
here: opening an older ``logs.db`` adds it, and opening it again changes nothing).

CreateExportTask checks the request, the group and the one-active-task limit, then writes
AWS's permission check object, ``<prefix>/aws-logs-write-test`` ("Permission Check
Successful"), which is also how a missing bucket is refused (AWS's "The given bucket does not
exist. Please make sure the bucket is valid."). The export itself runs off the request path,
as an asyncio task of the server's loop: PENDING (``logs_export_delay`` seconds, setting or
``EMULATOR_LOGS_EXPORT_DELAY``, default 0: AWS too takes a while to start one), RUNNING, then
COMPLETED, FAILED or CANCELLED. Each log stream with events in the range (``from`` and ``to``
both inclusive, as the API reference words them: events "earlier than" ``from`` or "later than"
``to`` are not exported) becomes ``<prefix>/<taskId>/<logStreamName>/000000.gz`` (then
000001.gz ... past OBJECT_BYTES of text), gzip text with one event a line,
``<ISO 8601 timestamp, milliseconds, Z> <message>``, as AWS's exported objects are. Events
are read a batch at a time in a worker thread and put through moto's S3 backend holding its
locks (``fallback.change``), so a put is on disk (moto's snapshot) before the next is made.

Cancel: a PENDING task is CANCELLED at once; a RUNNING one becomes PENDING_CANCEL and is
CANCELLED before its next object (objects already written stay, as on AWS).

Restarts: a task found PENDING or RUNNING when the server starts is run again from the
start. Its object keys depend only on the task and the events, so the second run overwrites
what the first had written with the same content, and the task completes as if never
interrupted (marking it FAILED would leave the user a partial export to redo by hand). A
PENDING_CANCEL task is CANCELLED."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import logging
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from emulator.errors import AwsError
from emulator.monitoring.logs_requests import page
from emulator.monitoring.logstore import LogStore, invalid, not_found
from emulator.monitoring.query import encode_token

log = logging.getLogger("emulator.monitoring.logs_exports")

DEFAULT_PREFIX = "exportedlogs"
WRITE_TEST_BODY = b"Permission Check Successful"
OBJECT_BYTES = 64 * 1024 * 1024  # text per object before the next one (000001.gz, ...)
READ_BATCH = 5000  # events read at a time
ACTIVE = ("PENDING", "RUNNING", "PENDING_CANCEL")
STATUSES = ("CANCELLED", "COMPLETED", "FAILED", "PENDING", "PENDING_CANCEL", "RUNNING")
MESSAGES = {
    "PENDING": "Pending",
    "RUNNING": "Started successfully",
    "PENDING_CANCEL": "Pending cancel",
    "CANCELLED": "Cancelled by user",
    "COMPLETED": "Completed successfully",
}
NO_BUCKET = "The given bucket does not exist. Please make sure the bucket is valid."

SCHEMA = """
    CREATE TABLE IF NOT EXISTS export_task (
        id TEXT PRIMARY KEY, region TEXT NOT NULL, name TEXT, grp TEXT NOT NULL, stream_prefix TEXT,
        from_ts INTEGER NOT NULL, to_ts INTEGER NOT NULL, destination TEXT NOT NULL, prefix TEXT NOT NULL,
        status TEXT NOT NULL, message TEXT NOT NULL, created INTEGER NOT NULL, completed INTEGER);
    CREATE INDEX IF NOT EXISTS export_task_region ON export_task(region, created);
"""
_COLUMNS = "id, region, name, grp, stream_prefix, from_ts, to_ts, destination, prefix, status, message, created, completed"


def iso(ts: int) -> str:
    """An event's timestamp as AWS writes it in exported objects: 2024-01-02T03:04:05.678Z."""
    return datetime.fromtimestamp(ts / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts % 1000:03d}Z"


def object_key(prefix: str, task_id: str, stream: str, n: int) -> str:
    return f"{prefix.rstrip('/')}/{task_id}/{stream}/{n:06d}.gz"


def _describe(row: tuple[Any, ...]) -> dict[str, Any]:
    tid, _region, name, grp, _sp, from_ts, to_ts, dest, prefix, status, message, created, completed = row
    out: dict[str, Any] = {"taskId": tid}
    if name:
        out["taskName"] = name
    out.update({"logGroupName": grp, "from": from_ts, "to": to_ts, "destination": dest, "destinationPrefix": prefix,
                "status": {"code": status, "message": message}, "executionInfo": {"creationTime": created}})
    if completed is not None:
        out["executionInfo"]["completionTime"] = completed
    return out


class LogsExports:
    def __init__(self, store: LogStore, fallback: Any, delay: float = 0.0) -> None:
        self.store = store
        self.fallback = fallback
        # Data protection (emulator.monitoring.logs_protection, set by the Logs handler): exported
        # events are masked as GetLogEvents shows them.
        self.protection: Any = None
        self.delay = delay
        self._lock = threading.Lock()  # the check of the limit and the insert, together
        self._tasks: dict[str, asyncio.Task[None]] = {}
        with store.lock:
            store.db.executescript(SCHEMA)

    # ------------------------------------------------------------ lifecycle
    def start(self) -> None:
        """On the server's loop: PENDING_CANCEL tasks are CANCELLED, PENDING and RUNNING ones run
        again from the start (see the module docstring)."""
        with self.store.lock:
            self.store.db.execute("UPDATE export_task SET status='CANCELLED', message=?, completed=? WHERE status='PENDING_CANCEL'",
                                  (MESSAGES["CANCELLED"], self.store.now_ms()))
            rows = self.store.db.execute("SELECT id FROM export_task WHERE status IN ('PENDING', 'RUNNING') ORDER BY created").fetchall()
        for (tid,) in rows:
            log.info("export task %s resumed after a restart", tid)
            self._spawn(tid)

    async def stop(self) -> None:
        """Server shutdown: the running exports stop where they are; their tasks stay active in
        the database and run again on the next start."""
        tasks = list(self._tasks.values())
        for t in tasks:
            t.cancel()
        for t in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        self._tasks.clear()

    def reset(self) -> None:
        for t in self._tasks.values():
            t.cancel()
        self._tasks.clear()
        with self.store.lock:
            self.store.db.execute("DELETE FROM export_task")

    def _spawn(self, tid: str) -> None:
        task = asyncio.get_running_loop().create_task(self._run(tid), name=f"logs-export-{tid}")
        self._tasks[tid] = task
        task.add_done_callback(lambda _t: self._tasks.pop(tid, None) if self._tasks.get(tid) is _t else None)

    # ------------------------------------------------------------ the API
    async def create(self, p: dict[str, Any], region: str) -> dict[str, Any]:
        start, end = p.get("from"), p.get("to")
        if start is None or end is None:
            raise invalid(f"1 validation error detected: Value null at '{'from' if start is None else 'to'}' failed to satisfy constraint: Member must not be null")
        start, end = int(start), int(end)
        group = self.store.get_group(p.get("logGroupName", ""), region)
        if start > end:
            # The reference also says ``to`` must not be earlier than the group's creation; not
            # enforced: events may carry timestamps from before it (PutLogEvents takes 14 days back)
            raise invalid(
                f"Specified time range of '{start}' and '{end}' is not valid. Please make sure the values are within "
                "the retention period of the log group and from value is less than the to values"
            )
        bucket = p.get("destination") or ""
        prefix = p.get("destinationPrefix") or DEFAULT_PREFIX
        stream_prefix = p.get("logStreamNamePrefix") or None
        self._check_limit(region)
        await self._write_test(bucket, prefix)
        tid = str(uuid.uuid4())
        with self._lock:
            self._check_limit(region)  # another request made one while the bucket was checked
            with self.store.lock:
                self.store.db.execute(
                    f"INSERT INTO export_task({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    (tid, region, p.get("taskName") or None, group.name, stream_prefix, start, end, bucket, prefix,
                     "PENDING", MESSAGES["PENDING"], self.store.now_ms(), None),
                )
        self._spawn(tid)
        return {"taskId": tid}

    def _check_limit(self, region: str) -> None:
        # "Each account can only have one active (RUNNING or PENDING) export task at a time",
        # of a region: each region's endpoint serves its own tasks, as on AWS
        with self.store.lock:
            active = self.store.db.execute(
                "SELECT 1 FROM export_task WHERE region=? AND status IN ('PENDING', 'RUNNING', 'PENDING_CANCEL') LIMIT 1", (region,)
            ).fetchone()
        if active is not None:
            raise AwsError("LimitExceededException", "Resource limit exceeded.", 400)

    def describe(self, p: dict[str, Any], region: str) -> dict[str, Any]:
        code = p.get("statusCode")
        if code is not None and code not in STATUSES:
            raise invalid(f"1 validation error detected: Value '{code}' at 'statusCode' failed to satisfy constraint: Member must satisfy enum value set: [{', '.join(STATUSES)}]")
        limit, offset = page(p, "limit", 50, 50)
        sql = f"SELECT {_COLUMNS} FROM export_task WHERE region=?"
        args: list[Any] = [region]
        if p.get("taskId"):
            sql += " AND id=?"
            args.append(p["taskId"])
        if code:
            sql += " AND status=?"
            args.append(code)
        sql += " ORDER BY created DESC, id LIMIT ? OFFSET ?"  # the newest first
        args += [limit + 1, offset]
        with self.store.lock:
            rows = self.store.db.execute(sql, args).fetchall()
        out: dict[str, Any] = {"exportTasks": [_describe(r) for r in rows[:limit]]}
        if len(rows) > limit:
            out["nextToken"] = encode_token({"o": offset + limit})
        return out

    def cancel(self, p: dict[str, Any], region: str) -> None:
        tid = p.get("taskId") or ""
        with self.store.lock:
            row = self.store.db.execute("SELECT status FROM export_task WHERE region=? AND id=?", (region, tid)).fetchone()
            if row is None:
                raise not_found("The specified export task does not exist.")
            if row[0] not in ("PENDING", "RUNNING"):
                raise AwsError("InvalidOperationException", "The specified export task has already finished", 400)
            if row[0] == "PENDING":
                self._finish(tid, "CANCELLED")
            else:
                self._set(tid, "PENDING_CANCEL")  # the runner stops before its next object
        if row[0] == "PENDING":
            task = self._tasks.pop(tid, None)
            if task is not None:
                task.cancel()

    # ------------------------------------------------------------ state
    def _status(self, tid: str) -> str | None:
        with self.store.lock:
            row = self.store.db.execute("SELECT status FROM export_task WHERE id=?", (tid,)).fetchone()
        return None if row is None else str(row[0])

    def _set(self, tid: str, status: str, only_from: tuple[str, ...] = ACTIVE) -> bool:
        with self.store.lock:
            marks = ",".join("?" * len(only_from))
            return bool(self.store.db.execute(
                f"UPDATE export_task SET status=?, message=? WHERE id=? AND status IN ({marks})", (status, MESSAGES[status], tid, *only_from)
            ).rowcount)

    def _finish(self, tid: str, status: str, message: str | None = None) -> None:
        with self.store.lock:
            self.store.db.execute(
                "UPDATE export_task SET status=?, message=?, completed=? WHERE id=? AND status IN ('PENDING', 'RUNNING', 'PENDING_CANCEL')",
                (status, message or MESSAGES[status], self.store.now_ms(), tid),
            )

    # ------------------------------------------------------------ S3 (moto's, holding its locks)
    def _s3(self) -> Any:
        if self.fallback is None or not self.fallback.supports("s3"):
            raise invalid(NO_BUCKET)
        return self.fallback.backend("s3", "global")

    async def _write_test(self, bucket: str, prefix: str) -> None:
        backend = self._s3()

        def put() -> bool:
            if backend.buckets.get(bucket) is None:
                return False
            backend.put_object(bucket, f"{prefix.rstrip('/')}/aws-logs-write-test", WRITE_TEST_BODY)
            return True

        if not await self.fallback.change("s3", put):
            raise invalid(NO_BUCKET)

    async def _write(self, bucket: str, key: str, body: bytes) -> None:
        backend = self._s3()

        def put() -> bool:
            if backend.buckets.get(bucket) is None:
                return False
            backend.put_object(bucket, key, body)
            return True

        if not await self.fallback.change("s3", put):
            raise RuntimeError(NO_BUCKET)

    # ------------------------------------------------------------ the export
    def _read(self, sid: int, start: int, end: int, after: tuple[int, int] | None,
              mask: Callable[[str, int], str] | None = None) -> tuple[bytes, tuple[int, int] | None]:
        """In a worker thread: the next object's gzip body from ``after`` on, and where the one
        after it starts (None: the stream's events in the range are all in this one)."""
        text = bytearray()
        pos = after
        while True:
            rows = self.store.stream_events(sid, pos, None, start, end + 1, READ_BATCH, False)  # end is exclusive there
            for eid, ts, ingest, message in rows:
                if mask is not None:
                    message = mask(message, ingest)
                text += f"{iso(ts)} {message}\n".encode()
                pos = (ts, eid)
            if len(rows) < READ_BATCH:
                return (gzip.compress(bytes(text), compresslevel=6) if text else b""), None
            if len(text) >= OBJECT_BYTES:
                return gzip.compress(bytes(text), compresslevel=6), pos

    async def _run(self, tid: str) -> None:
        try:
            if self.delay > 0:
                await asyncio.sleep(self.delay)
            if not self._set(tid, "RUNNING", ("PENDING", "RUNNING")):
                if self._status(tid) == "PENDING_CANCEL":
                    self._finish(tid, "CANCELLED")
                return
            with self.store.lock:
                row = self.store.db.execute(f"SELECT {_COLUMNS} FROM export_task WHERE id=?", (tid,)).fetchone()
            _tid, region, _name, grp, stream_prefix, start, end, bucket, prefix, *_rest = row
            try:
                group = self.store.get_group(grp, region)
            except AwsError as exc:  # deleted since: nothing to read
                self._finish(tid, "FAILED", exc.message)
                return
            start = max(start, self.store.cutoff_ms(group))  # past the retention: gone
            streams = sorted((name, sid) for sid, name in self.store.stream_names(group.id).items() if not stream_prefix or name.startswith(stream_prefix))
            mask = self.protection.masker(group) if self.protection is not None else None
            for name, sid in streams:
                after: tuple[int, int] | None = None
                n = 0
                while True:
                    if self._status(tid) != "RUNNING":
                        self._finish(tid, "CANCELLED")
                        return
                    body, after = await asyncio.to_thread(self._read, sid, start, end, after, mask)
                    if body:
                        await self._write(bucket, object_key(prefix, tid, name, n), body)
                        n += 1
                    if after is None:
                        break
            if self._status(tid) == "PENDING_CANCEL":
                self._finish(tid, "CANCELLED")
            else:
                self._finish(tid, "COMPLETED")
        except asyncio.CancelledError:
            raise  # shutdown (resumed on the next start), reset, or a PENDING task cancelled
        except Exception as exc:  # noqa: BLE001 - the bucket deleted meanwhile, the store closed
            log.warning("export task %s failed: %s", tid, exc)
            self._finish(tid, "FAILED", str(exc) or type(exc).__name__)
