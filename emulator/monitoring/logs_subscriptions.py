"""CloudWatch Logs subscription filters (PutSubscriptionFilter, DescribeSubscriptionFilters,
DeleteSubscriptionFilter), delivered for real.

A filter belongs to a log group (so to its region) and is kept in the log store's database
(table ``subscription_filter``, created here: opening an older ``logs.db`` adds it, and
opening it again changes nothing). At most two filters per group, as on AWS.

Delivery runs off the request path. The log store's ``on_events`` consumer (chained by the
monitoring service) only marks the group as having new events and wakes a worker thread;
the worker reads the events stored since the filter's cursor (the newest event id it has
handled), keeps those matching the filter pattern (emulator.monitoring.filterpattern, the
engine of metric filters and FilterLogEvents), and sends them per log stream in AWS's
format: gzip-compressed JSON ``{"messageType": "DATA_MESSAGE", "owner", "logGroup",
"logStream", "subscriptionFilters": [name], "logEvents": [{"id", "timestamp", "message"}]}``.
Reading the stored rows (rather than the callback's arguments) gives the stream names and
event ids, and makes delivery durable: the cursor is saved once the destination holds the
events, so a restart sends what the last run left undelivered (at least once, as on AWS).

Destinations: Kinesis Data Streams and Kinesis Data Firehose, served in process by moto
(records put through its backends, holding its locks, as metric streams and DynamoDB's Kinesis
destinations do); on PutSubscriptionFilter a CONTROL_MESSAGE test record is put, which is also
how a missing destination is refused. Lambda: the function must exist in moto; each delivery
invokes it asynchronously through moto with ``{"awslogs": {"data": base64(gzip(json))}}``.
moto runs functions in Docker only, so where that is unavailable the invoke fails: the failure
is logged and the events are dropped, as AWS drops events it cannot deliver. A destination that
disappears later is handled the same way (logged, dropped). A CloudWatch Logs destination
(``arn:aws:logs:REGION:ACCOUNT:destination:NAME``, emulator.monitoring.logs_destinations), in
the group's region, needs no role: its target (Kinesis or Firehose) gets the test record and
the events, looked up through ``destination_target`` at each delivery, so a destination
deleted later drops them (logged) and one pointed elsewhere delivers there.
"""

from __future__ import annotations

import asyncio
import base64
import gzip
import hashlib
import logging
import re
import sqlite3
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from emulator.errors import AwsError
from emulator.monitoring.filterpattern import Matcher, compile_pattern
from emulator.monitoring.logstore import LogStore, invalid, not_found

log = logging.getLogger("emulator.monitoring.logs_subscriptions")

MAX_PER_GROUP = 2
READ_WINDOW = 20_000  # event ids read at a time
READ_BATCH = 5000  # matching events sent at a time
PENDING_BYTES = 4 * 1024 * 1024  # ... or this much of their messages
PAYLOAD_BYTES = 900_000  # uncompressed JSON per record: below Kinesis's 1 MiB and Firehose's 1,000 KiB
BATCH_RECORDS = 500  # PutRecords / PutRecordBatch limit
GATHER = 1.0  # seconds the worker waits after a wake-up, gathering more events (AWS too delivers within about a second)
RETRY = 2.0  # seconds before a delivery that failed for a transient reason is tried again
NAME_RE = re.compile(r"^[^:*]{1,512}$")
KINESIS_ARN = re.compile(r"^arn:aws[a-z-]*:kinesis:([a-z0-9-]+):(\d{12}):stream/([A-Za-z0-9_.-]{1,128})$")
FIREHOSE_ARN = re.compile(r"^arn:aws[a-z-]*:firehose:([a-z0-9-]+):(\d{12}):deliverystream/([A-Za-z0-9_.-]{1,64})$")
LAMBDA_ARN = re.compile(r"^arn:aws[a-z-]*:lambda:([a-z0-9-]+):(\d{12}):function:([A-Za-z0-9_-]{1,64})(:[A-Za-z0-9$_-]+)?$")
DESTINATION_ARN = re.compile(r"^arn:aws[a-z-]*:logs:([a-z0-9-]+):(\d{12}):destination:([^:*]{1,512})$")
ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::(\d{12}):role/[\w+=,.@/-]{1,512}$")
SERVICE = {"kinesis": "kinesis", "firehose": "firehose", "lambda": "lambda"}

SCHEMA = """
    CREATE TABLE IF NOT EXISTS subscription_filter (
        gid INTEGER NOT NULL, region TEXT NOT NULL, grp TEXT NOT NULL, name TEXT NOT NULL, pattern TEXT NOT NULL,
        destination TEXT NOT NULL, role TEXT, distribution TEXT NOT NULL, created INTEGER NOT NULL,
        cursor INTEGER NOT NULL, PRIMARY KEY (gid, name));
"""


def migrate(store: LogStore) -> None:
    """Add the table to a ``logs.db`` of an earlier layout (idempotent), and drop filters whose
    group is gone (a group deleted by a crashed run, or ids reused after a reset)."""
    with store.lock:
        store.db.executescript(SCHEMA)
        store.db.execute(
            "DELETE FROM subscription_filter WHERE NOT EXISTS "
            "(SELECT 1 FROM grp WHERE grp.id = subscription_filter.gid AND grp.region = subscription_filter.region AND grp.name = subscription_filter.grp)"
        )


@dataclass
class Sub:
    gid: int
    region: str
    group: str
    name: str
    pattern: str
    matcher: Matcher
    destination: str
    role: str | None
    distribution: str
    created: int
    cursor: int

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "filterName": self.name,
            "logGroupName": self.group,
            "filterPattern": self.pattern,
            "destinationArn": self.destination,
            "distribution": self.distribution,
            "applyOnTransformedLogs": False,
            "creationTime": self.created,
        }
        if self.role:
            out["roleArn"] = self.role
        return out


def _kind(arn: str) -> str | None:
    for kind, pattern in (("kinesis", KINESIS_ARN), ("firehose", FIREHOSE_ARN), ("lambda", LAMBDA_ARN), ("destination", DESTINATION_ARN)):
        if pattern.match(arn):
            return kind
    return None


def _gzip_json(doc: dict[str, Any]) -> bytes:
    return gzip.compress(orjson.dumps(doc))


class LogSubscriptions:
    def __init__(self, store: LogStore, account_id: str) -> None:
        self.store = store
        self.account_id = account_id
        # Data protection (emulator.monitoring.logs_protection, set by the Logs handler): the
        # destination gets the events masked as GetLogEvents shows them, and the filter pattern
        # sees the masked text.
        self.protection: Any = None
        self._lock = threading.Lock()
        self._subs: dict[tuple[str, str], list[Sub]] = {}
        self._dirty: set[tuple[str, str]] = set()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._read_db: sqlite3.Connection | None = None
        self._fallback: Any = None
        self._loop: Callable[[], asyncio.AbstractEventLoop | None] = lambda: None
        self.delivered = 0  # records put into destinations
        self.dropped = 0  # events matched but undeliverable (destination gone, invoke failed)
        # a CloudWatch Logs destination's ARN -> its target's, None when there is no such destination
        self.destination_target: Callable[[str], str | None] = lambda _arn: None
        migrate(store)
        self._load()

    def _load(self) -> None:
        with self.store.lock:
            rows = self.store.db.execute(
                "SELECT gid, region, grp, name, pattern, destination, role, distribution, created, cursor FROM subscription_filter ORDER BY name"
            ).fetchall()
        subs: dict[tuple[str, str], list[Sub]] = {}
        for gid, region, grp, name, pattern, dest, role, dist, created, cursor in rows:
            subs.setdefault((region, grp), []).append(Sub(gid, region, grp, name, pattern, compile_pattern(pattern, background=True), dest, role, dist, created, cursor))
        with self._lock:
            self._subs = subs
            self._dirty = set(subs)  # what the last run left undelivered goes out now
        if subs:
            self._wake.set()

    # ------------------------------------------------------------ running
    def bind(self, fallback: Any, loop: Callable[[], asyncio.AbstractEventLoop | None]) -> None:
        """Deliver into moto (``fallback``: emulator.gateway.fallback.MotoFallback) through the
        server's event loop (``loop()``), from the worker thread."""
        self._fallback = fallback
        self._loop = loop
        if self._subs:
            self._start_worker()

    def _start_worker(self) -> None:
        # started with the first filter: a server without subscriptions runs no thread for them
        with self._lock:
            if self._thread is not None or self._fallback is None or self._stop.is_set():
                return
            self._thread = threading.Thread(target=self._run, name="logs-subscriptions", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    def on_events(self, region: str, group: str, events: list[tuple[int, str]]) -> None:
        """The log store's consumer: a set lookup, never I/O (it runs inside PutLogEvents and
        the audit log's writes)."""
        key = (region, group)
        if key in self._subs:
            with self._lock:
                self._dirty.add(key)
            self._wake.set()

    def _run(self) -> None:
        try:
            self._loop_forever()
        finally:
            if self._read_db is not None:
                self._read_db.close()
                self._read_db = None

    def _loop_forever(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(5.0)
            # Gather what arrives meanwhile: one delivery (a moto write, a snapshot of its state)
            # for many PutLogEvents batches rather than one each: each delivery takes moto's
            # state lock, which a steady writer's PutLogEvents would otherwise meet every batch.
            if self._stop.wait(GATHER):
                return
            self._wake.clear()
            with self._lock:
                dirty, self._dirty = self._dirty, set()
            failed: set[tuple[str, str]] = set()
            for key in dirty:
                with self._lock:
                    subs = list(self._subs.get(key, []))
                for sub in subs:
                    try:
                        self.deliver(sub)
                    except Exception:  # transient (the loop not running yet, moto busy): tried again
                        log.warning("subscription filter %s of %s (%s): delivery failed; retried in %s s", sub.name, sub.group, sub.region, RETRY, exc_info=True)
                        failed.add(key)
            if failed:
                with self._lock:
                    self._dirty |= failed
                if self._stop.wait(RETRY):
                    return
                self._wake.set()

    # ------------------------------------------------------------ the API
    async def _change(self, service: str, fn: Callable[[], Any], write: bool = True) -> Any:
        if self._fallback is None or not self._fallback.supports(service):
            raise invalid("Could not deliver test message to specified destination. Check if the destination is valid.")
        return await self._fallback.change(service, fn, write=write)

    async def put(self, p: dict[str, Any], region: str) -> None:
        group = self.store.get_group(p.get("logGroupName", ""), region)
        name = p.get("filterName") or ""
        if not NAME_RE.match(name):
            raise invalid(f"1 validation error detected: Value '{name}' at 'filterName' failed to satisfy constraint: Member must satisfy regular expression pattern: [^:*]*")
        pattern = p.get("filterPattern")
        if pattern is None:
            raise invalid("1 validation error detected: Value null at 'filterPattern' failed to satisfy constraint: Member must not be null")
        if len(pattern) > 1024:
            raise invalid("1 validation error detected: Value at 'filterPattern' failed to satisfy constraint: Member must have length less than or equal to 1024")
        matcher = compile_pattern(pattern, background=True)  # InvalidParameterException on a bad pattern
        distribution = p.get("distribution") or "ByLogStream"
        if distribution not in ("Random", "ByLogStream"):
            raise invalid(f"1 validation error detected: Value '{distribution}' at 'distribution' failed to satisfy constraint: Member must satisfy enum value set: [Random, ByLogStream]")
        dest = p.get("destinationArn") or ""
        role = p.get("roleArn") or None
        kind = _kind(dest)
        if role is not None and ROLE_ARN.match(role) is None:
            raise invalid(f"Invalid role ARN: {role}")
        dm = DESTINATION_ARN.match(dest)
        if dm is not None and dm.group(1) != group.region:  # a destination serves its own region's log groups
            raise invalid("Could not deliver test message to specified destination. Check if the destination is valid.")
        if kind in ("kinesis", "firehose") and role is None:
            # AWS assumes the role to put the records: without one the test message cannot be delivered
            raise invalid(f"Could not deliver test message to specified {'Kinesis stream' if kind == 'kinesis' else 'Firehose stream'}. A roleArn is required for this destination.")
        with self._lock:
            existing = {s.name: s for s in self._subs.get((group.region, group.name), [])}
        if name not in existing and len(existing) >= MAX_PER_GROUP:
            raise AwsError("LimitExceededException", "Resource limit exceeded.", 400)
        await self._check_destination(kind, dest)
        if self.store.get_group(group.name, region).id != group.id:  # deleted and made again while moto was asked
            raise not_found("The specified log group does not exist.")
        old = existing.get(name)
        with self.store.lock:
            # an update keeps the filter's position; a new filter sends the events stored from now on
            cursor = old.cursor if old else int(self.store.db.execute("SELECT COALESCE(MAX(id), 0) FROM event").fetchone()[0])
            created = old.created if old else self.store.now_ms()
            count = self.store.db.execute("SELECT COUNT(*) FROM subscription_filter WHERE gid=? AND name != ?", (group.id, name)).fetchone()[0]
            if count >= MAX_PER_GROUP:  # another request added one meanwhile
                raise AwsError("LimitExceededException", "Resource limit exceeded.", 400)
            self.store.db.execute(
                "INSERT OR REPLACE INTO subscription_filter(gid, region, grp, name, pattern, destination, role, distribution, created, cursor) VALUES (?,?,?,?,?,?,?,?,?,?)",
                (group.id, group.region, group.name, name, pattern, dest, role, distribution, created, cursor),
            )
        sub = Sub(group.id, group.region, group.name, name, pattern, matcher, dest, role, distribution, created, cursor)
        with self._lock:
            subs = [s for s in self._subs.get((group.region, group.name), []) if s.name != name] + [sub]
            self._subs[(group.region, group.name)] = sorted(subs, key=lambda s: s.name)
        self._start_worker()

    async def _check_destination(self, kind: str | None, dest: str) -> None:
        """The destination exists in this account; Kinesis and Firehose get AWS's test record (a
        CloudWatch Logs destination: its target does)."""
        if kind == "destination":
            target = self.destination_target(dest)
            kind, dest = (_kind(target), target) if target is not None else (None, dest)
            if kind not in ("kinesis", "firehose"):
                raise invalid("Could not deliver test message to specified destination. Check if the destination is valid.")
        m = KINESIS_ARN.match(dest) or FIREHOSE_ARN.match(dest) or LAMBDA_ARN.match(dest)
        if kind is None or m is None or m.group(2) != self.account_id:
            raise invalid("Could not deliver test message to specified destination. Check if the destination is valid.")
        if kind == "lambda":
            def look() -> bool:
                try:
                    self._fallback.backend("lambda", m.group(1)).get_function(dest)
                except Exception:  # noqa: BLE001 - moto's ResourceNotFound or an unknown qualifier
                    return False
                return True

            if not await self._change("lambda", look, write=False):
                raise invalid("Could not execute the lambda function. Make sure you have given CloudWatch Logs permission to execute your function.")
            return
        label = "Kinesis stream" if kind == "kinesis" else "Firehose"
        control = {
            "messageType": "CONTROL_MESSAGE",
            "owner": "CloudwatchLogs",
            "logGroup": "",
            "logStream": "",
            "subscriptionFilters": [],
            "logEvents": [{"id": "", "timestamp": self.store.now_ms(), "message": f"CWL CONTROL MESSAGE: Checking health of destination {label}."}],
        }
        data = _gzip_json(control)
        if not await self._change(kind, lambda: self._put_records(kind, dest, [(uuid.uuid4().hex, data)])):
            raise invalid(
                f"Could not deliver test message to specified {'Kinesis stream' if kind == 'kinesis' else 'Firehose stream'}. "
                f"Check if the given {'kinesis stream' if kind == 'kinesis' else 'Firehose stream'} is in ACTIVE state."
            )

    def describe(self, p: dict[str, Any], region: str) -> list[dict[str, Any]]:
        group = self.store.get_group(p.get("logGroupName", ""), region)
        prefix = p.get("filterNamePrefix") or ""
        with self._lock:
            subs = list(self._subs.get((group.region, group.name), []))
        return [s.describe() for s in subs if s.name.startswith(prefix)]

    def delete(self, p: dict[str, Any], region: str) -> None:
        group = self.store.get_group(p.get("logGroupName", ""), region)
        name = p.get("filterName") or ""
        with self.store.lock:
            deleted = self.store.db.execute("DELETE FROM subscription_filter WHERE gid=? AND name=?", (group.id, name)).rowcount
        if not deleted:
            raise not_found("The specified subscription filter does not exist.")
        with self._lock:
            left = [s for s in self._subs.get((group.region, group.name), []) if s.name != name]
            if left:
                self._subs[(group.region, group.name)] = left
            else:
                self._subs.pop((group.region, group.name), None)

    def forget_group(self, region: str, group_name: str) -> None:
        """DeleteLogGroup: its filters go with it (group ids are reused by SQLite)."""
        with self._lock:
            subs = self._subs.pop((region, group_name), [])
        with self.store.lock:
            for s in subs:
                self.store.db.execute("DELETE FROM subscription_filter WHERE gid=? AND name=?", (s.gid, s.name))

    def clamp(self) -> None:
        """After events were deleted (DeleteLogStream, DeleteLogGroup): SQLite hands out the ids
        above the highest left again, so no cursor may point past it, or new events would be
        taken as sent."""
        with self.store.lock:
            top = int(self.store.db.execute("SELECT COALESCE(MAX(id), 0) FROM event").fetchone()[0])
            with self._lock:
                for subs in self._subs.values():
                    for s in subs:
                        if s.cursor > top:
                            s.cursor = top
                            self.store.db.execute("UPDATE subscription_filter SET cursor=? WHERE gid=? AND name=?", (top, s.gid, s.name))

    def reset(self) -> None:
        with self._lock:
            self._subs.clear()
            self._dirty.clear()
        with self.store.lock:
            self.store.db.execute("DELETE FROM subscription_filter")

    # ------------------------------------------------------------ delivery
    def _reader(self) -> sqlite3.Connection | None:
        """The worker's own connection: in WAL mode its reads never wait for, nor hold up, the
        writers (PutLogEvents, the audit log). None for an in-memory store (tests)."""
        if self._read_db is None and self.store.path != ":memory:":
            self._read_db = sqlite3.connect(self.store.path, check_same_thread=False, isolation_level=None)
        return self._read_db

    def _query(self, sql: str, args: tuple[Any, ...]) -> list[Any]:
        reader = self._reader()
        if reader is None:
            with self.store.lock:
                return self.store.db.execute(sql, args).fetchall()
        return reader.execute(sql, args).fetchall()

    def deliver(self, sub: Sub) -> int:
        """Send the filter's new matching events; returns the records put.

        The events after the cursor are read by id range, a window at a time (``+gid``: the
        rowid range, not the group index, which would visit every event of a big group), so
        that each read is short and the cursor moves past other groups' events too."""
        sent = 0
        top = int(self._query("SELECT COALESCE(MAX(id), 0) FROM event", ())[0][0])
        upto = min(sub.cursor, top)
        pending: dict[int, list[dict[str, Any]]] = {}
        count = size = 0
        mask = self._masker(sub)
        while upto < top:
            hi = min(upto + READ_WINDOW, top)
            rows = self._query("SELECT id, sid, ts, ingest, message FROM event WHERE id > ? AND id <= ? AND +gid = ? ORDER BY id", (upto, hi, sub.gid))
            for eid, sid, ts, ingest, message in rows:
                if mask is not None:
                    message = mask(message, ingest)
                if sub.matcher(message):
                    pending.setdefault(sid, []).append({"id": f"{ts}{eid:020d}", "timestamp": ts, "message": message})
                    count += 1
                    size += len(message)
            upto = hi
            if count >= READ_BATCH or size >= PENDING_BYTES:
                sent += self._send(sub, pending)
                self._advance(sub, upto)
                pending, count, size = {}, 0, 0
        if pending:
            sent += self._send(sub, pending)
        if upto != sub.cursor:
            self._advance(sub, upto)
        return sent

    def _masker(self, sub: Sub) -> Callable[[str, int], str] | None:
        if self.protection is None:
            return None
        try:
            group = self.store.get_group(sub.group, sub.region)
        except AwsError:  # deleted meanwhile: nothing of it is read
            return None
        return self.protection.masker(group) if group.id == sub.gid else None

    def _advance(self, sub: Sub, cursor: int) -> None:
        with self._lock:
            current = next((s for s in self._subs.get((sub.region, sub.group), []) if s.name == sub.name), None)
        if current is None or current.gid != sub.gid:
            return  # deleted meanwhile
        current.cursor = sub.cursor = cursor
        with self.store.lock:
            self.store.db.execute("UPDATE subscription_filter SET cursor=? WHERE gid=? AND name=?", (cursor, sub.gid, sub.name))

    def _payloads(self, sub: Sub, by_stream: dict[int, list[dict[str, Any]]]) -> list[tuple[str, bytes]]:
        """(partition key, gzip JSON) per log stream, split below the destinations' record size."""
        names = self.store.stream_names(sub.gid)
        out: list[tuple[str, bytes]] = []
        for sid, events in by_stream.items():
            stream = names.get(sid, "")
            chunk: list[dict[str, Any]] = []
            size = 0
            for e in events:
                n = len(e["message"].encode()) + 80
                if chunk and size + n > PAYLOAD_BYTES:
                    out.append(self._payload(sub, stream, chunk))
                    chunk, size = [], 0
                chunk.append(e)
                size += n
            if chunk:
                out.append(self._payload(sub, stream, chunk))
        return out

    def _payload(self, sub: Sub, stream: str, events: list[dict[str, Any]]) -> tuple[str, bytes]:
        doc = {
            "messageType": "DATA_MESSAGE",
            "owner": self.account_id,
            "logGroup": sub.group,
            "logStream": stream,
            "subscriptionFilters": [sub.name],
            "logEvents": events,
        }
        # ByLogStream: one stream's events keep to one shard, in order; Random spreads them
        key = hashlib.md5(stream.encode()).hexdigest() if sub.distribution == "ByLogStream" else uuid.uuid4().hex
        return key, _gzip_json(doc)

    def _send(self, sub: Sub, by_stream: dict[int, list[dict[str, Any]]]) -> int:
        payloads = self._payloads(sub, by_stream)
        kind, target = _kind(sub.destination), sub.destination
        if kind == "destination":
            found = self.destination_target(target)
            kind, target = (_kind(found), found) if found is not None else (None, target)
            if kind is None:  # the destination was deleted: its filters stop delivering
                self.dropped += sum(len(v) for v in by_stream.values())
                log.warning("subscription filter %s of %s (%s): destination %s no longer exists; events dropped", sub.name, sub.group, sub.region, sub.destination)
                return 0
        loop = self._loop()
        if loop is None or not loop.is_running() or self._fallback is None:
            raise RuntimeError("the server's event loop is not running")
        if kind in ("kinesis", "firehose"):
            fn: Callable[[], bool] = lambda: self._put_records(kind, target, payloads)
        elif kind == "lambda":
            fn = lambda: self._invoke(sub.destination, payloads)
        else:
            return 0
        ok = asyncio.run_coroutine_threadsafe(self._fallback.change(SERVICE[kind], fn), loop).result(timeout=60)
        if not ok:
            # AWS drops what it cannot deliver; the filter stays and later events are tried again
            events = sum(len(v) for v in by_stream.values())
            self.dropped += events
            log.warning("subscription filter %s of %s (%s): %d events dropped, destination %s unreachable", sub.name, sub.group, sub.region, events, target)
            return 0
        self.delivered += len(payloads)
        return len(payloads)

    def _put_records(self, kind: str, arn: str, payloads: list[tuple[str, bytes]]) -> bool:
        """In a worker thread holding moto's locks; False when the destination does not exist."""
        m = KINESIS_ARN.match(arn) or FIREHOSE_ARN.match(arn)
        assert m is not None
        backend = self._fallback.backend(kind, m.group(1))
        if kind == "kinesis":
            stream = backend.streams.get(m.group(3))
            if stream is None or stream.arn != arn:
                return False
            for i in range(0, len(payloads), BATCH_RECORDS):
                backend.put_records(arn, None, [{"PartitionKey": k, "Data": d} for k, d in payloads[i : i + BATCH_RECORDS]])
            return True
        stream = backend.delivery_streams.get(m.group(3))
        if stream is None or getattr(stream, "delivery_stream_arn", arn) != arn:
            return False
        for i in range(0, len(payloads), BATCH_RECORDS):
            backend.put_record_batch(m.group(3), [{"Data": d} for _k, d in payloads[i : i + BATCH_RECORDS]])
        return True

    def _invoke(self, arn: str, payloads: list[tuple[str, bytes]]) -> bool:
        """An asynchronous (Event) invoke per payload, as AWS invokes a subscribed function."""
        m = LAMBDA_ARN.match(arn)
        assert m is not None
        backend = self._fallback.backend("lambda", m.group(1))
        ok = True
        for _key, data in payloads:
            body = orjson.dumps({"awslogs": {"data": base64.b64encode(data).decode()}}).decode()
            try:
                headers: dict[str, str] = {}
                backend.invoke(arn, None, body, {"x-amz-invocation-type": "Event"}, headers)
                if headers.get("x-amz-function-error"):
                    raise RuntimeError(f"the function answered an error ({headers['x-amz-function-error']})")
            except Exception as exc:  # noqa: BLE001 - no Docker for moto, or the function failed: logged, dropped
                log.warning("subscription delivery to Lambda function %s failed: %s", arn, exc)
                ok = False
        return ok

