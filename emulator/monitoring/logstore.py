"""The CloudWatch Logs store: log groups, streams and events in SQLite (``logs.db``).

Events are indexed by (stream, timestamp, id) for GetLogEvents and by
(group, timestamp, id) for FilterLogEvents and Logs Insights. Retention is
enforced both on reads (expired events are invisible at once) and by a purge
that deletes them (``purge()``, run by the monitoring scheduler).

Log groups are regional (arn:aws:logs:REGION:ACCOUNT:log-group:NAME): a group's name is
unique within its region, and every operation takes the request's region (None: the
store's default region, ``settings.region``, where the emulator's own groups live).
Streams, events and metric filters belong to a group by its id. A file written before
groups had a region is migrated on open: its groups belong to the default region.
"""

from __future__ import annotations

import functools
import logging
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from emulator.errors import AwsError
from emulator.monitoring.regional import migration, regionalize, unregioned

RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)
GROUP_RE = re.compile(r"^[\.\-_/#A-Za-z0-9]{1,512}$")
STREAM_RE = re.compile(r"^[^:*]{1,512}$")
EVENT_OVERHEAD = 26  # bytes AWS adds to each event when sizing a batch (PutLogEvents quotas)
MAX_BATCH_BYTES = 1_048_576
MAX_BATCH_EVENTS = 10_000
DAY_MS = 86_400_000
CHECKPOINT_SECONDS = 1.0  # the monitoring thread checkpoints the WAL this often

log = logging.getLogger("emulator.monitoring")

_CHUNK = 200  # rows per INSERT statement (5 parameters each; SQLite allows 32,766)


@functools.lru_cache(maxsize=64)
def _insert_sql(rows: int) -> str:
    return "INSERT INTO event(gid, sid, ts, ingest, message) VALUES " + ",".join(["(?,?,?,?,?)"] * rows)


def invalid(message: str) -> AwsError:
    return AwsError("InvalidParameterException", message, 400)


def not_found(message: str) -> AwsError:
    return AwsError("ResourceNotFoundException", message, 400)


@dataclass
class Group:
    id: int
    name: str
    created: int
    retention: int | None
    kms: str | None
    cls: str
    tags: dict[str, str] = field(default_factory=dict)
    protection: bool = False
    region: str = ""


_GROUP_TABLE = """
    CREATE TABLE IF NOT EXISTS grp (
        id INTEGER PRIMARY KEY, region TEXT NOT NULL, name TEXT NOT NULL, created INTEGER NOT NULL, retention INTEGER,
        kms TEXT, cls TEXT NOT NULL DEFAULT 'STANDARD', tags BLOB NOT NULL DEFAULT '{}', protection INTEGER NOT NULL DEFAULT 0,
        UNIQUE(region, name));
"""
_GROUP_COLUMNS = "id, name, created, retention, kms, cls, tags, protection, region"


def _migrate(db: sqlite3.Connection, region: str) -> None:
    """A ``grp`` table of the layout without regions becomes the regional one, its groups in
    ``region`` under the same ids (streams, events and filters refer to them)."""
    if not unregioned(db, "grp"):
        return
    with migration(db):
        regionalize(db, "grp", _GROUP_TABLE, "id, name, created, retention, kms, cls, tags, protection", region)


class LogStore:
    def __init__(self, path: Path | str, region: str, account_id: str, clock: Any = time.time) -> None:
        self.region = region
        self.account_id = account_id
        self.clock = clock
        self.lock = threading.RLock()
        self.db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        # No automatic checkpoint: it runs inside the COMMIT that crosses 1,000 WAL pages, on
        # the event loop (audit batches, PutLogEvents), and stalled it for 10-20 ms. The
        # monitoring thread calls checkpoint() every second on a connection of its own; a
        # write that finds none for CHECKPOINT_SECONDS * 30 (no monitoring thread) runs one.
        self.db.execute("PRAGMA wal_autocheckpoint=0")
        self.db.execute("PRAGMA journal_size_limit=67108864")  # a restarted WAL is cut back to 64 MiB
        self.path = str(path)
        self._ckpt_conn: sqlite3.Connection | None = None
        self._ckpt_lock = threading.Lock()
        self._ckpt_last = time.monotonic()
        _migrate(self.db, region)
        self.db.executescript(
            _GROUP_TABLE
            + """
            CREATE TABLE IF NOT EXISTS stream (
                id INTEGER PRIMARY KEY, gid INTEGER NOT NULL, name TEXT NOT NULL, created INTEGER NOT NULL,
                first_ts INTEGER, last_ts INTEGER, last_ingest INTEGER, stored INTEGER NOT NULL DEFAULT 0,
                UNIQUE(gid, name));
            CREATE TABLE IF NOT EXISTS event (
                id INTEGER PRIMARY KEY, gid INTEGER NOT NULL, sid INTEGER NOT NULL, ts INTEGER NOT NULL,
                ingest INTEGER NOT NULL, message TEXT NOT NULL);
            CREATE INDEX IF NOT EXISTS event_stream ON event(sid, ts, id);
            CREATE INDEX IF NOT EXISTS event_group ON event(gid, ts, id);
            CREATE TABLE IF NOT EXISTS metric_filter (
                gid INTEGER NOT NULL, name TEXT NOT NULL, pattern TEXT NOT NULL, transformations BLOB NOT NULL,
                created INTEGER NOT NULL, PRIMARY KEY (gid, name));
            """
        )
        self.ingested_bytes = 0  # since start, for the cost ledger
        # Called with (region, group name, [(timestamp ms, message)]) after events are stored:
        # Contributor Insights rules evaluate them (emulator.monitoring.insight_rules).
        self.on_events: Callable[[str, str, list[tuple[int, str]]], None] | None = None

    def now_ms(self) -> int:
        return int(self.clock() * 1000)

    # ------------------------------------------------------------ groups
    def group_arn(self, name: str, region: str | None = None) -> str:
        return f"arn:aws:logs:{region or self.region}:{self.account_id}:log-group:{name}"

    def _group_row(self, row: tuple[Any, ...]) -> Group:
        return Group(row[0], row[1], row[2], row[3], row[4], row[5], orjson.loads(row[6]), bool(row[7]), row[8])

    def get_group(self, name: str, region: str | None = None) -> Group:
        with self.lock:
            row = self.db.execute(f"SELECT {_GROUP_COLUMNS} FROM grp WHERE region=? AND name=?", (region or self.region, name)).fetchone()
        if row is None:
            raise not_found("The specified log group does not exist.")
        return self._group_row(row)

    def name_from_arn(self, arn: str, region: str | None = None) -> str:
        """The group name of a log group ARN (``...:log-group:NAME`` or ``...:log-group:NAME:*``).
        An endpoint serves its own region's groups only: an ARN of another region (or
        account) names a group that does not exist here."""
        name = arn.split(":log-group:", 1)[1].removesuffix(":*")
        parts = arn.split(":", 5)
        if len(parts) < 6 or parts[3] != (region or self.region) or parts[4] != self.account_id:
            raise not_found("The specified log group does not exist.")
        return name

    def resolve_group(self, params: dict[str, Any], name_key: str = "logGroupName", ident_key: str = "logGroupIdentifier", region: str | None = None) -> Group:
        name = params.get(name_key)
        ident = params.get(ident_key)
        if name and ident:
            raise invalid("LogGroup name and LogGroup ARN are mutually exclusive parameters.")
        if ident:
            name = self.name_from_arn(ident, region) if ident.startswith("arn:") and ":log-group:" in ident else ident
        if not name:
            raise invalid("Either logGroupName or logGroupIdentifier must be specified.")
        return self.get_group(name, region)

    def create_group(
        self, name: str, kms: str | None = None, tags: dict[str, str] | None = None, cls: str | None = None, region: str | None = None
    ) -> None:
        if not GROUP_RE.match(name or ""):
            raise invalid(f"1 validation error detected: Value '{name}' at 'logGroupName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_/#A-Za-z0-9]+")
        with self.lock:
            try:
                self.db.execute(
                    "INSERT INTO grp(region, name, created, kms, cls, tags) VALUES (?,?,?,?,?,?)",
                    (region or self.region, name, self.now_ms(), kms, cls or "STANDARD", orjson.dumps(tags or {})),
                )
            except sqlite3.IntegrityError as exc:
                raise AwsError("ResourceAlreadyExistsException", "The specified log group already exists", 400) from exc

    def reset(self) -> None:
        """Forget every log group, stream, event and metric filter (POST /_emulator/reset).
        DELETE without WHERE is SQLite's truncate: fast at any size. Under the lock, so that
        a put_many in progress (audit, server log, alarm actions) lands wholly before it."""
        with self.lock:
            self.db.execute("BEGIN")
            try:
                for table in ("event", "metric_filter", "stream", "grp"):
                    self.db.execute(f"DELETE FROM {table}")
                self.db.execute("COMMIT")
            except BaseException:
                self.db.execute("ROLLBACK")
                raise

    def delete_group(self, name: str, region: str | None = None) -> None:
        group = self.get_group(name, region)
        with self.lock:
            self.db.execute("BEGIN")
            self.db.execute("DELETE FROM event WHERE gid=?", (group.id,))
            self.db.execute("DELETE FROM metric_filter WHERE gid=?", (group.id,))
            self.db.execute("DELETE FROM stream WHERE gid=?", (group.id,))
            self.db.execute("DELETE FROM grp WHERE id=?", (group.id,))
            self.db.execute("COMMIT")

    def list_groups(
        self, prefix: str | None = None, pattern: str | None = None, cls: str | None = None, after: str = "", region: str | None = None
    ) -> Iterator[tuple[Group, int]]:
        sql = f"SELECT {_GROUP_COLUMNS} FROM grp WHERE region = ? AND name > ?"
        args: list[Any] = [region or self.region, after]
        if prefix:
            sql += " AND substr(name, 1, ?) = ?"
            args += [len(prefix), prefix]
        if cls:
            sql += " AND cls = ?"
            args.append(cls)
        sql += " ORDER BY name"
        with self.lock:
            rows = self.db.execute(sql, args).fetchall()
        for row in rows:
            g = self._group_row(row)
            if pattern and pattern.lower() not in g.name.lower():
                continue
            with self.lock:
                stored = self.db.execute("SELECT COALESCE(SUM(stored), 0) FROM stream WHERE gid=?", (g.id,)).fetchone()[0]
            yield g, int(stored)

    def set_retention(self, name: str, days: int | None, region: str | None = None) -> None:
        if days is not None and days not in RETENTION_DAYS:
            raise invalid(
                f"1 validation error detected: Value '{days}' at 'retentionInDays' failed to satisfy constraint: Member must satisfy enum value set: {list(RETENTION_DAYS)}"
            )
        group = self.get_group(name, region)
        with self.lock:
            self.db.execute("UPDATE grp SET retention=? WHERE id=?", (days, group.id))

    def set_tags(self, name: str, tags: dict[str, str], region: str | None = None) -> None:
        group = self.get_group(name, region)
        with self.lock:
            self.db.execute("UPDATE grp SET tags=? WHERE id=?", (orjson.dumps(tags), group.id))

    def cutoff_ms(self, group: Group) -> int:
        """Events older than this are past the group's retention and invisible."""
        return self.now_ms() - group.retention * DAY_MS if group.retention else -(2**62)

    # ------------------------------------------------------------ streams
    def create_stream(self, group_name: str, name: str, region: str | None = None) -> None:
        if not STREAM_RE.match(name or ""):
            raise invalid(f"1 validation error detected: Value '{name}' at 'logStreamName' failed to satisfy constraint: Member must satisfy regular expression pattern: [^:*]*")
        group = self.get_group(group_name, region)
        with self.lock:
            try:
                self.db.execute("INSERT INTO stream(gid, name, created) VALUES (?,?,?)", (group.id, name, self.now_ms()))
            except sqlite3.IntegrityError as exc:
                raise AwsError("ResourceAlreadyExistsException", "The specified log stream already exists", 400) from exc

    def stream_id(self, group: Group, name: str) -> int:
        with self.lock:
            row = self.db.execute("SELECT id FROM stream WHERE gid=? AND name=?", (group.id, name)).fetchone()
        if row is None:
            raise not_found("The specified log stream does not exist.")
        return int(row[0])

    def delete_stream(self, group_name: str, name: str, region: str | None = None) -> None:
        group = self.get_group(group_name, region)
        sid = self.stream_id(group, name)
        with self.lock:
            self.db.execute("BEGIN")
            self.db.execute("DELETE FROM event WHERE sid=?", (sid,))
            self.db.execute("DELETE FROM stream WHERE id=?", (sid,))
            self.db.execute("COMMIT")

    def list_streams(self, group: Group) -> list[dict[str, Any]]:
        with self.lock:
            rows = self.db.execute("SELECT name, created, first_ts, last_ts, last_ingest, stored FROM stream WHERE gid=?", (group.id,)).fetchall()
        out = []
        for name, created, first_ts, last_ts, last_ingest, stored in rows:
            item: dict[str, Any] = {
                "logStreamName": name,
                "creationTime": created,
                "arn": f"{self.group_arn(group.name, group.region)}:log-stream:{name}",
                "storedBytes": 0,  # deprecated by AWS: always 0
                "_stored": stored,
            }
            if first_ts is not None:
                item.update(firstEventTimestamp=first_ts, lastEventTimestamp=last_ts, lastIngestionTime=last_ingest, uploadSequenceToken=str(49600000000000000000000000000000000000000000000000000000 + (last_ingest or 0)))
            out.append(item)
        return out

    # ------------------------------------------------------------ events
    def put_events(self, group_name: str, stream_name: str, events: list[dict[str, Any]], region: str | None = None) -> dict[str, Any]:
        """PutLogEvents with AWS's batch rules (CloudWatch Logs API Reference, PutLogEvents)."""
        if not events:
            raise invalid("1 validation error detected: Value '[]' at 'logEvents' failed to satisfy constraint: Member must have length greater than or equal to 1")
        if len(events) > MAX_BATCH_EVENTS:
            raise invalid(f"1 validation error detected: Value at 'logEvents' failed to satisfy constraint: Member must have length less than or equal to {MAX_BATCH_EVENTS}")
        size = sum(len(e.get("message", "").encode()) + EVENT_OVERHEAD for e in events)
        if size > MAX_BATCH_BYTES:
            raise invalid(f"Upload too large: {size} bytes exceeds limit of {MAX_BATCH_BYTES}")
        group = self.get_group(group_name, region)
        sid = self.stream_id(group, stream_name)
        prev = None
        for e in events:
            ts = int(e["timestamp"])
            if prev is not None and ts < prev:
                raise invalid("Log events in a single PutLogEvents request must be in chronological order.")
            prev = ts
        now = self.now_ms()
        # Two limits in the past: 14 days for every group (tooOldLogEventEndIndex) and the
        # group's retention (expiredLogEventEndIndex). An event past both is too old: the
        # 14-day rule is checked first, so the expired ones are those within 14 days only.
        too_old_before = now - 14 * DAY_MS
        expired_before = max(too_old_before, self.cutoff_ms(group))
        too_new_after = now + 2 * 3600 * 1000
        # the 24-hour limit applies to the valid events only: too old, expired and too new ones are rejected, not counted
        valid = [int(e["timestamp"]) for e in events if expired_before <= int(e["timestamp"]) <= too_new_after]
        if valid and valid[-1] - valid[0] > DAY_MS:
            raise invalid("The batch of log events in a single PutLogEvents request cannot span more than 24 hours.")
        rejected: dict[str, int] = {}
        rows = []
        too_new_start = None
        too_old_end = None
        expired_end = None
        for i, e in enumerate(events):
            ts = int(e["timestamp"])
            if ts < too_old_before:
                too_old_end = i + 1  # exclusive end index of the too-old prefix
                continue
            if ts < expired_before:
                expired_end = i + 1  # exclusive end index of the expired prefix (after the too-old one)
                continue
            if ts > too_new_after:
                if too_new_start is None:
                    too_new_start = i
                continue
            message = e.get("message", "")
            rows.append((group.id, sid, ts, now, message))
        if too_old_end is not None:
            rejected["tooOldLogEventEndIndex"] = too_old_end
        if expired_end is not None:
            rejected["expiredLogEventEndIndex"] = expired_end
        if too_new_start is not None:
            rejected["tooNewLogEventStartIndex"] = too_new_start
        self._insert(sid, rows)
        if self.on_events is not None and rows:
            self.on_events(group.region, group.name, [(r[2], r[4]) for r in rows])
        out: dict[str, Any] = {"nextSequenceToken": str(49600000000000000000000000000000000000000000000000000000 + now)}
        if rejected:
            out["rejectedLogEventsInfo"] = rejected
        return out

    def checkpoint(self) -> None:
        """Copy the WAL into the database file: the bulk PASSIVE (never blocking a writer), the
        last frames under the store's lock, so that the WAL restarts."""
        with self._ckpt_lock:
            self._ckpt_last = time.monotonic()
            if self.path == ":memory:":
                return
            try:
                conn = self._ckpt_conn
                if conn is None:
                    conn = self._ckpt_conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
                # Twice: the second pass copies what was written during the first (tens of ms).
                conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                # The bulk is copied; now, with writers held off for the frames of the last
                # moments (a few ms), a RESTART checkpoint on the writers' connection makes the
                # next write start the WAL over. Without it, under steady writes (an audit
                # batch every 20 ms) the WAL never restarted and grew by ~8 MB a second.
                with self.lock:
                    self.db.execute("PRAGMA wal_checkpoint(RESTART)").fetchall()
            except sqlite3.Error:
                log.warning("CloudWatch Logs WAL checkpoint failed; retried later", exc_info=True)

    def _insert(self, sid: int, rows: list[tuple[int, int, int, int, str]]) -> None:
        if not rows:
            return
        if time.monotonic() - self._ckpt_last > CHECKPOINT_SECONDS * 30:
            self.checkpoint()
        stored = sum(len(r[4].encode()) + EVENT_OVERHEAD for r in rows)
        self.ingested_bytes += stored
        with self.lock:
            self.db.execute("BEGIN")
            try:
                # Multi-row INSERTs of up to _CHUNK rows: the sqlite3 module releases the GIL
                # around every statement it steps, i.e. per row with executemany, and each
                # release is a hand-off when another thread waits for the GIL.
                for i in range(0, len(rows), _CHUNK):
                    chunk = rows[i : i + _CHUNK]
                    self.db.execute(_insert_sql(len(chunk)), [v for row in chunk for v in row])
                lo = min(r[2] for r in rows)
                hi = max(r[2] for r in rows)
                self.db.execute(
                    "UPDATE stream SET first_ts = MIN(COALESCE(first_ts, ?), ?), last_ts = MAX(COALESCE(last_ts, ?), ?), last_ingest=?, stored = stored + ? WHERE id=?",
                    (lo, lo, hi, hi, rows[0][3], stored, sid),
                )
                self.db.execute("COMMIT")
            except BaseException:
                self.db.execute("ROLLBACK")
                raise

    def put(self, group: str, stream: str, message: str, timestamp_ms: int | None = None, region: str | None = None) -> None:
        """For other services: append one line, creating the group and stream as needed."""
        self.put_many(group, stream, [(self.now_ms() if timestamp_ms is None else timestamp_ms, message)], region)

    def put_many(self, group_name: str, stream_name: str, lines: list[tuple[int, str]], region: str | None = None) -> None:
        """For other services: append lines to a group of ``region`` (None: the default
        region, e.g. the audit log's and the server log's groups), created as needed."""
        if not lines:
            return
        # All under the (reentrant) lock: a reset between looking the group up and inserting
        # would leave events under a deleted group's id, which the next group created reuses.
        with self.lock:
            try:
                group = self.get_group(group_name, region)
            except AwsError:
                try:
                    self.create_group(group_name, region=region)
                except AwsError as exc:
                    if exc.code != "ResourceAlreadyExistsException":
                        raise
                group = self.get_group(group_name, region)
            try:
                sid = self.stream_id(group, stream_name)
            except AwsError:
                try:
                    self.create_stream(group_name, stream_name, region)
                except AwsError as exc:
                    if exc.code != "ResourceAlreadyExistsException":
                        raise
                sid = self.stream_id(group, stream_name)
            now = self.now_ms()
            self._insert(sid, [(group.id, sid, ts, now, msg) for ts, msg in lines])
            if self.on_events is not None:
                self.on_events(group.region, group.name, lines)

    def stream_events(self, sid: int, lo: tuple[int, int] | None, hi: tuple[int, int] | None, start: int | None, end: int | None, limit: int, backward: bool) -> list[tuple[int, int, int, str]]:
        """Events of a stream with (ts, id) strictly between lo and hi, in time order; (id, ts, ingest, message)."""
        sql = "SELECT id, ts, ingest, message FROM event WHERE sid=?"
        args: list[Any] = [sid]
        if lo is not None:
            sql += " AND (ts > ? OR (ts = ? AND id > ?))"
            args += [lo[0], lo[0], lo[1]]
        if hi is not None:
            sql += " AND (ts < ? OR (ts = ? AND id < ?))"
            args += [hi[0], hi[0], hi[1]]
        if start is not None:
            sql += " AND ts >= ?"
            args.append(start)
        if end is not None:
            sql += " AND ts < ?"
            args.append(end)
        sql += " ORDER BY ts DESC, id DESC" if backward else " ORDER BY ts, id"
        sql += " LIMIT ?"
        args.append(limit)
        with self.lock:
            rows = self.db.execute(sql, args).fetchall()
        if backward:
            rows.reverse()
        return rows

    def group_events(self, gid: int, start: int | None, end: int | None, after: tuple[int, int] | None = None, stream_ids: list[int] | None = None, batch: int = 5000) -> Iterator[tuple[int, int, int, int, str]]:
        """Every event of a group in time order: (id, sid, ts, ingest, message), read in batches."""
        pos = after
        while True:
            sql = "SELECT id, sid, ts, ingest, message FROM event WHERE gid=?"
            args: list[Any] = [gid]
            if pos is not None:
                sql += " AND (ts > ? OR (ts = ? AND id > ?))"
                args += [pos[0], pos[0], pos[1]]
            if start is not None:
                sql += " AND ts >= ?"
                args.append(start)
            if end is not None:
                sql += " AND ts <= ?"
                args.append(end)
            if stream_ids is not None:
                sql += " AND sid IN ({})".format(",".join("?" * len(stream_ids)))
                args += stream_ids
            sql += " ORDER BY ts, id LIMIT ?"
            args.append(batch)
            with self.lock:
                rows = self.db.execute(sql, args).fetchall()
            yield from rows
            if len(rows) < batch:
                return
            pos = (rows[-1][2], rows[-1][0])

    def stream_names(self, gid: int) -> dict[int, str]:
        with self.lock:
            return {sid: name for sid, name in self.db.execute("SELECT id, name FROM stream WHERE gid=?", (gid,))}

    def purge(self) -> int:
        """Delete events past their group's retention."""
        deleted = 0
        with self.lock:
            groups = self.db.execute("SELECT id, retention FROM grp WHERE retention IS NOT NULL").fetchall()
            for gid, days in groups:
                deleted += self.db.execute("DELETE FROM event WHERE gid=? AND ts < ?", (gid, self.now_ms() - days * DAY_MS)).rowcount
        return deleted

    def close(self) -> None:
        with self._ckpt_lock:
            if self._ckpt_conn is not None:
                self._ckpt_conn.close()
                self._ckpt_conn = None
        with self.lock:
            self.db.close()
