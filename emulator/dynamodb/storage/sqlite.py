"""SQLite storage: one file in the data dir, WAL, ``synchronous=FULL`` by default.

Rows live in one WITHOUT ROWID table whose primary key is
``(tid, idx, pk, sk)``: a clustered B-tree, so a partition's items are
contiguous and in sort-key order, and a Query is an index range scan.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson

from emulator.dynamodb.storage.base import (
    PAGE,
    LifecycleStorage,
    PolicyRow,
    Storage,
    TableRow,
    region_of_arn,
)
from emulator.errors import AwsError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS ddb_tables (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    region TEXT NOT NULL,
    name TEXT NOT NULL,
    meta BLOB NOT NULL,
    UNIQUE (region, name)
);
CREATE TABLE IF NOT EXISTS ddb_items (
    tid INTEGER NOT NULL,
    idx INTEGER NOT NULL,
    pk BLOB NOT NULL,
    sk BLOB NOT NULL,
    data BLOB NOT NULL,
    size INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (tid, idx, pk, sk)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS ddb_policies (
    arn TEXT PRIMARY KEY,
    tid INTEGER NOT NULL,
    policy TEXT NOT NULL,
    revision TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS ddb_policies_by_table ON ddb_policies (tid);
CREATE TABLE IF NOT EXISTS ddb_tokens (
    token TEXT PRIMARY KEY,
    expires REAL NOT NULL,
    fingerprint BLOB NOT NULL,
    answer BLOB NOT NULL
) WITHOUT ROWID;
"""

# Side tables of the data lifecycle (streams, backups, PITR): see LifecycleStorage.
_LIFECYCLE_SCHEMA = """
CREATE TABLE IF NOT EXISTS ddb_meta (
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    meta BLOB NOT NULL,
    PRIMARY KEY (kind, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS ddb_stream_records (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    stream TEXT NOT NULL,
    created REAL NOT NULL,
    data BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS ddb_stream_records_by_stream ON ddb_stream_records (stream, seq);
CREATE TABLE IF NOT EXISTS ddb_snapshots (
    sid TEXT NOT NULL,
    pk BLOB NOT NULL,
    sk BLOB NOT NULL,
    data BLOB NOT NULL,
    size INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (sid, pk, sk)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS ddb_history (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL,
    ts REAL NOT NULL,
    pk BLOB NOT NULL,
    sk BLOB NOT NULL,
    data BLOB
);
CREATE INDEX IF NOT EXISTS ddb_history_by_key ON ddb_history (key, seq);
"""

# Every table of both schemas above: what reset() empties.
_RESET_TABLES = ("ddb_items", "ddb_tables", "ddb_policies", "ddb_tokens", "ddb_meta", "ddb_stream_records", "ddb_snapshots", "ddb_history")


# Items live inside the primary key's B-tree (WITHOUT ROWID), where SQLite keeps at most
# ~(page size - 12) * 64/255 - 23 bytes of a row in the page and moves the rest to overflow
# pages: ~1,000 bytes with SQLite's default 4 KiB pages, so a 1 KB item already took an extra
# overflow page to read and to write. 16 KiB pages keep rows of up to ~4 KB (one DynamoDB read
# unit) in place. `python -m bench.sqlite_layout` (this storage class alone, CPU per operation):
# 1.1 KB items, 4 KiB -> 16 KiB pages: a 20-item range read 65 -> 48 us, a point read 7.8 ->
# 6.0 us, an overwrite 17 -> 13 us; 3 KB items (which 8 KiB pages still spill) 70 -> 62, 8.2 ->
# 6.6 and 18 -> 14 us; 200-byte items the same with any page size.
PAGE_SIZE = 16384

# An upsert, not INSERT OR REPLACE: REPLACE deletes the old row and inserts the new one (two
# B-tree edits, often a page rebalance with ~1 KB rows); an upsert rewrites the row in place.
# In process, PutItem overwriting 1 KB items took 212-287 us with REPLACE and 197-202 us as an
# upsert (bench/RESULTS.md, DynamoDB, storage round). SQLite has upserts since 3.24 (2018);
# older libraries keep REPLACE.
_PUT_ITEM = (
    "INSERT INTO ddb_items (tid, idx, pk, sk, data, size) VALUES (?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (tid, idx, pk, sk) DO UPDATE SET data = excluded.data, size = excluded.size"
    if sqlite3.sqlite_version_info >= (3, 24)
    else "INSERT OR REPLACE INTO ddb_items (tid, idx, pk, sk, data, size) VALUES (?, ?, ?, ?, ?, ?)"
)


def _migrate_regions(conn: sqlite3.Connection) -> None:
    """Give a data file written before tables were regional (``ddb_tables`` with a unique
    ``name`` and no ``region``) the current layout: each table's region is the one in its
    stored ARN. Ids stay (items, indexes and policies refer to them), and so does the
    AUTOINCREMENT counter, so that ids are still never reused. One transaction: a crash
    leaves the old layout, migrated again on the next open."""
    columns = [row[1] for row in conn.execute("PRAGMA table_info(ddb_tables)")]
    if not columns or "region" in columns:
        return  # a new file (the schema creates the table) or already migrated
    conn.execute("BEGIN IMMEDIATE")
    try:
        rows = conn.execute("SELECT id, name, meta FROM ddb_tables").fetchall()
        seq = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'ddb_tables'").fetchone()
        conn.execute("ALTER TABLE ddb_tables RENAME TO ddb_tables_unregioned")
        conn.execute(
            "CREATE TABLE ddb_tables (id INTEGER PRIMARY KEY AUTOINCREMENT, region TEXT NOT NULL, name TEXT NOT NULL, meta BLOB NOT NULL, UNIQUE (region, name))"
        )
        for table_id, name, meta in rows:
            try:
                arn = orjson.loads(meta).get("arn")
            except (orjson.JSONDecodeError, AttributeError):
                arn = None
            conn.execute("INSERT INTO ddb_tables (id, region, name, meta) VALUES (?, ?, ?, ?)", (table_id, region_of_arn(arn), name, meta))
        conn.execute("DROP TABLE ddb_tables_unregioned")
        if seq is not None:
            conn.execute("UPDATE sqlite_sequence SET seq = MAX(seq, ?) WHERE name = 'ddb_tables'", (seq[0],))
            if conn.execute("SELECT changes()").fetchone()[0] == 0:
                conn.execute("INSERT INTO sqlite_sequence (name, seq) VALUES ('ddb_tables', ?)", (seq[0],))
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


class SqliteStorage(Storage, LifecycleStorage):
    name = "sqlite"
    snapshot_in_thread = True
    blobs_are_bytes = True  # sqlite3 returns BLOB columns as bytes
    param_mark = "?"
    scan_page = PAGE

    def __init__(self, path: Path | str, synchronous: str = "FULL") -> None:
        self.path = str(path)
        self.synchronous = "NORMAL" if str(synchronous).upper() == "NORMAL" else "FULL"
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.RLock()
        self._depth = 0
        # Group commit: an outer transaction that several requests' writes join
        # (as savepoints) and that one COMMIT (one fsync) makes durable together.
        self._group_open = False
        self._group_thread = 0
        # synchronous=FULL is implemented as NORMAL plus our own fdatasync of the WAL
        # after each commit: the same durability (a commit is acknowledged only once
        # its WAL frames are on disk; checkpoints sync as under FULL, see
        # https://www.sqlite.org/pragma.html#pragma_synchronous), but the engine can
        # run the fsync on another thread while the next group is written
        # (commit_group(sync=False) + sync_wal()).
        self.own_sync = self.synchronous == "FULL" and self.path != ":memory:" and not self.path.startswith("file:")
        self._wal_fd: int | None = None
        self._wal_lock = threading.Lock()

    # ------------------------------------------------------------ lifecycle
    def open(self) -> None:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, cached_statements=256)
        # Takes effect only while the file is new (in WAL mode a page size is fixed for good).
        conn.execute(f"PRAGMA page_size={PAGE_SIZE}")
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA synchronous={'NORMAL' if self.own_sync else self.synchronous}")
        conn.execute("PRAGMA foreign_keys=OFF")
        conn.execute("PRAGMA cache_size=-65536")  # 64 MiB page cache
        _migrate_regions(conn)
        conn.executescript(_SCHEMA)
        conn.executescript(_LIFECYCLE_SCHEMA)
        self._conn = conn

    def close(self) -> None:
        if self._conn is not None:
            with self._lock:
                self.commit_group()
                self._conn.close()
                self._conn = None
            with self._wal_lock:
                if self._wal_fd is not None:
                    os.close(self._wal_fd)
                    self._wal_fd = None

    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None:
            raise RuntimeError("storage is not open")
        return self._conn

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield
                finally:
                    self._depth -= 1
                return
            conn = self.conn
            if self._group_open and self._group_thread != threading.get_ident():
                # Another thread's caller expects durability when we return: make
                # the open group durable first, then run a transaction of its own.
                self.commit_group()
            if self._group_open:
                conn.execute("SAVEPOINT w")
                self._depth = 1
                try:
                    yield
                except BaseException:
                    self._depth = 0
                    conn.execute("ROLLBACK TO w")
                    conn.execute("RELEASE w")
                    raise
                self._depth = 0
                conn.execute("RELEASE w")
                return
            conn.execute("BEGIN IMMEDIATE")
            self._depth = 1
            try:
                yield
            except BaseException:
                self._depth = 0
                conn.execute("ROLLBACK")
                raise
            self._depth = 0
            conn.execute("COMMIT")
            if self.own_sync:
                self.sync_wal()

    @property
    def group_open(self) -> bool:
        return self._group_open

    def begin_group(self) -> None:
        with self._lock:
            if not self._group_open and not self._depth:
                self.conn.execute("BEGIN IMMEDIATE")
                self._group_open = True
                self._group_thread = threading.get_ident()

    def commit_group(self, sync: bool = True) -> None:
        """COMMIT the open group. ``sync=False``: the caller runs sync_wal() before it
        acknowledges anything the group wrote (the engine does, off the event loop)."""
        with self._lock:
            if not self._group_open:
                return
            self._group_open = False
            try:
                self.conn.execute("COMMIT")
            except BaseException:
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
                raise
        if sync and self.own_sync:
            self.sync_wal()

    # The engine may run sync_wal() on its event loop when it measures it fast: a local
    # fdatasync, unlike PostgreSQL's barrier (a network round trip).
    sync_may_run_inline = True

    def sync_wal(self) -> None:
        """fdatasync the WAL file: everything committed before the call is durable after it.
        Thread-safe and lock-free with respect to the connection."""
        if not self.own_sync:
            return
        path = self.path + "-wal"
        with self._wal_lock:
            try:
                ino = os.stat(path).st_ino
            except FileNotFoundError:
                return  # no WAL: nothing committed since the last checkpoint reset it
            fd = self._wal_fd
            if fd is None or os.fstat(fd).st_ino != ino:  # first use, or SQLite made a new WAL file
                if fd is not None:
                    os.close(fd)
                fd = self._wal_fd = os.open(path, os.O_RDONLY)
            os.fdatasync(fd)

    # -------------------------------------------------------------- tables
    def list_tables(self) -> list[TableRow]:
        with self._lock:
            rows = self.conn.execute("SELECT id, name, meta, region FROM ddb_tables ORDER BY region, name").fetchall()
        return [TableRow(r[0], r[1], orjson.loads(r[2]), r[3]) for r in rows]

    def create_table(self, region: str, name: str, meta: dict[str, Any]) -> int:
        with self.transaction():
            try:
                cur = self.conn.execute("INSERT INTO ddb_tables (region, name, meta) VALUES (?, ?, ?)", (region, name, orjson.dumps(meta)))
            except sqlite3.IntegrityError as exc:
                raise KeyError((region, name)) from exc
            return int(cur.lastrowid or 0)

    def update_table(self, table_id: int, meta: dict[str, Any]) -> None:
        with self.transaction():
            self.conn.execute("UPDATE ddb_tables SET meta = ? WHERE id = ?", (orjson.dumps(meta), table_id))

    def delete_table(self, table_id: int) -> None:
        with self.transaction():
            self.conn.execute("DELETE FROM ddb_items WHERE tid = ?", (table_id,))
            self.conn.execute("DELETE FROM ddb_policies WHERE tid = ?", (table_id,))
            self.conn.execute("DELETE FROM ddb_tables WHERE id = ?", (table_id,))

    def reset(self) -> None:
        # An unqualified DELETE empties a table without visiting its rows; the freed pages
        # go to the file's free list and are reused, so repeated resets do not grow the file.
        # AUTOINCREMENT (sqlite_sequence) is left alone: table ids and stream sequence
        # numbers keep growing, so nothing still holding an old id reaches a new table.
        with self.transaction():
            for name in _RESET_TABLES:
                self.conn.execute(f"DELETE FROM {name}")

    # ------------------------------------------------ resource-based policies
    # One connection, one writer at a time (BEGIN IMMEDIATE): a read-check-write inside
    # transaction() is atomic without further locks.
    def policy_get(self, arn: str) -> PolicyRow | None:
        with self._lock:
            row = self.conn.execute("SELECT tid, arn, policy, revision FROM ddb_policies WHERE arn = ?", (arn,)).fetchone()
        return None if row is None else PolicyRow(int(row[0]), row[1], row[2], row[3])

    def policy_put(self, table_id: int, arn: str, policy: str, revision: str) -> None:
        with self.transaction():
            if self.conn.execute("SELECT 1 FROM ddb_tables WHERE id = ?", (table_id,)).fetchone() is None:
                raise AwsError("ResourceNotFoundException", "Requested resource not found", 400)
            self.conn.execute(
                "INSERT INTO ddb_policies (arn, tid, policy, revision) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (arn) DO UPDATE SET tid = excluded.tid, policy = excluded.policy, revision = excluded.revision"
                if sqlite3.sqlite_version_info >= (3, 24)
                else "INSERT OR REPLACE INTO ddb_policies (arn, tid, policy, revision) VALUES (?, ?, ?, ?)",
                (arn, table_id, policy, revision),
            )

    def policy_delete(self, arn: str) -> bool:
        with self.transaction():
            return self.conn.execute("DELETE FROM ddb_policies WHERE arn = ?", (arn,)).rowcount > 0

    def policy_list(self) -> list[PolicyRow]:
        with self._lock:
            rows = self.conn.execute("SELECT tid, arn, policy, revision FROM ddb_policies ORDER BY arn").fetchall()
        return [PolicyRow(int(r[0]), r[1], r[2], r[3]) for r in rows]

    # --------------------------------------------------- idempotency tokens
    def token_get(self, token: str, now: float) -> tuple[float, bytes, bytes] | None:
        with self._lock:
            row = self.conn.execute("SELECT expires, fingerprint, answer FROM ddb_tokens WHERE token = ? AND expires > ?", (token, now)).fetchone()
        return None if row is None else (float(row[0]), bytes(row[1]), bytes(row[2]))

    def token_put(self, token: str, fingerprint: bytes, answer: bytes, expires: float, now: float) -> bool:
        with self.transaction():
            if sqlite3.sqlite_version_info >= (3, 24):
                # One statement: an upsert that replaces only an expired token (no change,
                # rowcount 0, when a live one is kept).
                cur = self.conn.execute(
                    "INSERT INTO ddb_tokens (token, expires, fingerprint, answer) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT (token) DO UPDATE SET expires = excluded.expires, fingerprint = excluded.fingerprint, answer = excluded.answer "
                    "WHERE ddb_tokens.expires <= ?",
                    (token, expires, fingerprint, answer, now),
                )
                return cur.rowcount > 0
            # One connection, one writer (BEGIN IMMEDIATE): the check and the write are atomic.
            if self.conn.execute("SELECT 1 FROM ddb_tokens WHERE token = ? AND expires > ?", (token, now)).fetchone() is not None:
                return False
            self.conn.execute("INSERT OR REPLACE INTO ddb_tokens (token, expires, fingerprint, answer) VALUES (?, ?, ?, ?)", (token, expires, fingerprint, answer))
            return True

    # No index on ``expires``: every TransactWriteItems from boto3 carries a token, and an
    # index is one more B-tree page dirtied per commit; the purge (a housekeeping pass every
    # ttl_interval, off the request path) scans the table, which holds ~10 minutes of tokens.
    def token_purge(self, now: float, limit: int) -> int:
        with self.transaction():
            cur = self.conn.execute(
                "DELETE FROM ddb_tokens WHERE token IN (SELECT token FROM ddb_tokens WHERE expires <= ? LIMIT ?)", (now, limit)
            )
            return cur.rowcount

    def token_horizon(self) -> float | None:
        with self._lock:
            row = self.conn.execute("SELECT MAX(expires) FROM ddb_tokens").fetchone()
        return None if row is None or row[0] is None else float(row[0])

    # ---------------------------------------------------------------- rows
    def _select(self, sql: str, params: Sequence[Any]) -> list[Any]:
        with self._lock:
            return self.conn.execute(sql, params).fetchall()

    def get(self, table_id: int, index_id: int, pk: bytes, sk: bytes) -> bytes | None:
        with self._lock:
            row = self.conn.execute(
                "SELECT data FROM ddb_items WHERE tid = ? AND idx = ? AND pk = ? AND sk = ?", (table_id, index_id, pk, sk)
            ).fetchone()
        return None if row is None else bytes(row[0])

    def get_sized(self, table_id: int, index_id: int, pk: bytes, sk: bytes) -> tuple[bytes, int | None] | None:
        with self._lock:
            row = self.conn.execute(
                "SELECT data, size FROM ddb_items WHERE tid = ? AND idx = ? AND pk = ? AND sk = ?", (table_id, index_id, pk, sk)
            ).fetchone()
        return None if row is None else (row[0], row[1])  # a BLOB is bytes already

    def put(self, table_id: int, index_id: int, pk: bytes, sk: bytes, data: bytes, size: int = 0) -> None:
        with self.transaction():
            self.conn.execute(_PUT_ITEM, (table_id, index_id, pk, sk, data, size))

    def delete(self, table_id: int, index_id: int, pk: bytes, sk: bytes) -> bool:
        with self.transaction():
            cur = self.conn.execute("DELETE FROM ddb_items WHERE tid = ? AND idx = ? AND pk = ? AND sk = ?", (table_id, index_id, pk, sk))
            return cur.rowcount > 0

    def delete_index(self, table_id: int, index_id: int) -> None:
        with self.transaction():
            self.conn.execute("DELETE FROM ddb_items WHERE tid = ? AND idx = ?", (table_id, index_id))

    def partition_size(self, table_id: int, index_ids: list[int], pk: bytes) -> int:
        total = 0
        with self._lock:
            for index_id in index_ids:
                row = self.conn.execute(
                    "SELECT COALESCE(SUM(size), 0) FROM ddb_items WHERE tid = ? AND idx = ? AND pk = ?", (table_id, index_id, pk)
                ).fetchone()
                total += int(row[0])
        return total

    def count(self, table_id: int, index_id: int) -> tuple[int, int]:
        with self._lock:
            row = self.conn.execute("SELECT COUNT(*), COALESCE(SUM(size), 0) FROM ddb_items WHERE tid = ? AND idx = ?", (table_id, index_id)).fetchone()
        return int(row[0]), int(row[1])

    # ------------------------------------------------------------ lifecycle
    def meta_put(self, kind: str, key: str, meta: dict[str, Any]) -> None:
        with self.transaction():
            self.conn.execute("INSERT OR REPLACE INTO ddb_meta (kind, key, meta) VALUES (?, ?, ?)", (kind, key, orjson.dumps(meta)))

    def meta_get(self, kind: str, key: str) -> dict[str, Any] | None:
        with self._lock:
            row = self.conn.execute("SELECT meta FROM ddb_meta WHERE kind = ? AND key = ?", (kind, key)).fetchone()
        return None if row is None else dict(orjson.loads(row[0]))

    def meta_list(self, kind: str) -> list[tuple[str, dict[str, Any]]]:
        with self._lock:
            rows = self.conn.execute("SELECT key, meta FROM ddb_meta WHERE kind = ? ORDER BY key", (kind,)).fetchall()
        return [(r[0], dict(orjson.loads(r[1]))) for r in rows]

    def meta_delete(self, kind: str, key: str) -> None:
        with self.transaction():
            self.conn.execute("DELETE FROM ddb_meta WHERE kind = ? AND key = ?", (kind, key))

    def stream_append(self, stream: str, created: float, data: bytes) -> int:
        with self.transaction():
            cur = self.conn.execute("INSERT INTO ddb_stream_records (stream, created, data) VALUES (?, ?, ?)", (stream, created, data))
            return int(cur.lastrowid or 0)

    def stream_read(self, stream: str, after: int, limit: int) -> list[tuple[int, float, bytes]]:
        with self._lock:
            rows = self.conn.execute(
                "SELECT seq, created, data FROM ddb_stream_records WHERE stream = ? AND seq > ? ORDER BY seq LIMIT ?", (stream, after, limit)
            ).fetchall()
        return [(int(r[0]), float(r[1]), bytes(r[2])) for r in rows]

    def stream_bounds(self, stream: str) -> tuple[int | None, int | None]:
        with self._lock:
            row = self.conn.execute("SELECT MIN(seq), MAX(seq) FROM ddb_stream_records WHERE stream = ?", (stream,)).fetchone()
        return (row[0], row[1]) if row else (None, None)

    def stream_trim(self, stream: str, upto: int) -> int:
        with self.transaction():
            cur = self.conn.execute("DELETE FROM ddb_stream_records WHERE stream = ? AND seq <= ?", (stream, upto))
            return cur.rowcount

    def snapshot_table(self, sid: str, table_id: int) -> tuple[int, int]:
        # One INSERT ... SELECT: a consistent copy, whatever writes come after it.
        with self.transaction():
            self.conn.execute(
                "INSERT OR REPLACE INTO ddb_snapshots (sid, pk, sk, data, size) SELECT ?, pk, sk, data, size FROM ddb_items WHERE tid = ? AND idx = 0",
                (sid, table_id),
            )
            row = self.conn.execute("SELECT COUNT(*), COALESCE(SUM(size), 0) FROM ddb_snapshots WHERE sid = ?", (sid,)).fetchone()
        return int(row[0]), int(row[1])

    def snapshot_to_file(self, table_id: int, path: str) -> tuple[int, int]:
        # A separate connection reads one WAL snapshot of the committed data (readers
        # never block the writer) and writes only the attached snapshot file.
        tmp = str(path) + ".tmp"
        Path(tmp).unlink(missing_ok=True)
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        try:
            conn.execute("ATTACH DATABASE ? AS snap", (tmp,))
            conn.execute("CREATE TABLE snap.rows (pk BLOB NOT NULL, sk BLOB NOT NULL, data BLOB NOT NULL, size INTEGER NOT NULL, PRIMARY KEY (pk, sk)) WITHOUT ROWID")
            conn.execute("BEGIN")
            conn.execute("INSERT INTO snap.rows SELECT pk, sk, data, size FROM main.ddb_items WHERE tid = ? AND idx = 0 ORDER BY pk, sk", (table_id,))
            row = conn.execute("SELECT COUNT(*), COALESCE(SUM(size), 0) FROM snap.rows").fetchone()
            conn.execute("COMMIT")
            conn.execute("DETACH DATABASE snap")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            conn.close()
            Path(tmp).unlink(missing_ok=True)
            raise
        conn.close()
        Path(tmp).replace(path)
        return int(row[0]), int(row[1])

    def snapshot_delete(self, sid: str) -> None:
        with self.transaction():
            self.conn.execute("DELETE FROM ddb_snapshots WHERE sid = ?", (sid,))

    def history_append(self, key: str, ts: float, pk: bytes, sk: bytes, data: bytes | None) -> None:
        with self.transaction():
            self.conn.execute("INSERT INTO ddb_history (key, ts, pk, sk, data) VALUES (?, ?, ?, ?, ?)", (key, ts, pk, sk, data))

    def history_compact(self, key: str, sid: str, before: float) -> int:
        with self.transaction():
            rows = self.conn.execute("SELECT seq, pk, sk, data FROM ddb_history WHERE key = ? AND ts < ? ORDER BY seq", (key, before)).fetchall()
            for _seq, pk, sk, data in rows:
                if data is None:
                    self.conn.execute("DELETE FROM ddb_snapshots WHERE sid = ? AND pk = ? AND sk = ?", (sid, pk, sk))
                else:
                    self.conn.execute("INSERT OR REPLACE INTO ddb_snapshots (sid, pk, sk, data, size) VALUES (?, ?, ?, ?, ?)", (sid, pk, sk, data, len(data)))
            if rows:
                self.conn.execute("DELETE FROM ddb_history WHERE key = ? AND seq <= ?", (key, rows[-1][0]))
        return len(rows)

    def history_delete(self, key: str) -> None:
        with self.transaction():
            self.conn.execute("DELETE FROM ddb_history WHERE key = ?", (key,))
