"""PostgreSQL storage: the same rows as SQLite, shared by any number of emulator processes.

Selected with ``emulator serve --storage postgresql://user@host:5432/db`` (settings.storage).
Query parameters the emulator reads (and strips before handing the rest to libpq):

* ``pool_min`` / ``pool_max`` (default 1 / 10): psycopg_pool ConnectionPool bounds;
* ``schema``: keep the tables in this schema (created if missing) instead of ``public``;
* ``listen`` (default 1): LISTEN for catalog changes of other processes; ``0`` for poolers
  that cannot LISTEN (PgBouncer in transaction mode): the catalog version is then polled;
* ``lock_timeout`` (default 10s, a PostgreSQL interval): how long a write waits for
  another process's transaction on the same item before it is refused.

Concurrency (docs/postgresql.md has the long version). Connections run READ COMMITTED.
The engine reads an item and then writes it inside ``transaction()``; every ``get`` made
inside a transaction first takes a transaction-scoped advisory lock on the item's key
(and a shared lock on its table), so two processes can never both pass a condition on
the same item: the second waits, then reads what the first committed. Locks on keys
that do not exist yet work too (they lock the key, not a row). A multi-item transaction
takes its locks in request order; PostgreSQL breaks the rare deadlock between two of
them by failing one, which answers ``TransactionConflictException``.

Table metadata: each change bumps one catalog version and NOTIFYs it; every process
LISTENs, so its engine's table cache (storage.base.TableCache) re-reads the catalog
on the next request, and also on a miss. A write to a table another process deleted
finds the table gone under its lock and answers ``ResourceNotFoundException``.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import orjson
import psycopg
from psycopg import errors as pgerrors
from psycopg import sql
from psycopg_pool import ConnectionPool, PoolTimeout

from emulator.dynamodb.storage.base import (
    DEFAULT_REGION,
    PAGE,
    LifecycleStorage,
    PolicyRow,
    Storage,
    TableRow,
)
from emulator.errors import AwsError

log = logging.getLogger("emulator.dynamodb.postgres")

# Advisory lock namespaces (two-int4 form: (namespace, id)); item locks use the
# single-bigint form, a separate key space in pg_locks.
TABLE_LOCK = 1684172897  # b"ddba"
STREAM_LOCK = 1684172898
SETUP_LOCK = 1684172899
POLICY_LOCK = 1684172900


_SCHEMA = """
CREATE TABLE IF NOT EXISTS ddb_catalog (
    id integer PRIMARY KEY CHECK (id = 1),
    version bigint NOT NULL
);
INSERT INTO ddb_catalog (id, version) VALUES (1, 0) ON CONFLICT DO NOTHING;
CREATE TABLE IF NOT EXISTS ddb_tables (
    id serial PRIMARY KEY,
    region text COLLATE "C" NOT NULL,
    name text COLLATE "C" NOT NULL,
    meta bytea NOT NULL,
    CONSTRAINT ddb_tables_region_name_key UNIQUE (region, name)
);
CREATE TABLE IF NOT EXISTS ddb_items (
    tid integer NOT NULL,
    idx integer NOT NULL,
    pk bytea NOT NULL,
    sk bytea NOT NULL,
    data bytea NOT NULL,
    size integer NOT NULL DEFAULT 0,
    PRIMARY KEY (tid, idx, pk, sk)
);
CREATE TABLE IF NOT EXISTS ddb_meta (
    kind text COLLATE "C" NOT NULL,
    key text COLLATE "C" NOT NULL,
    meta bytea NOT NULL,
    PRIMARY KEY (kind, key)
);
CREATE TABLE IF NOT EXISTS ddb_stream_records (
    seq bigserial PRIMARY KEY,
    stream text NOT NULL,
    created double precision NOT NULL,
    data bytea NOT NULL
);
CREATE INDEX IF NOT EXISTS ddb_stream_records_by_stream ON ddb_stream_records (stream, seq);
CREATE INDEX IF NOT EXISTS ddb_stream_records_by_time ON ddb_stream_records (created);
CREATE TABLE IF NOT EXISTS ddb_snapshots (
    sid text NOT NULL,
    pk bytea NOT NULL,
    sk bytea NOT NULL,
    data bytea NOT NULL,
    size integer NOT NULL DEFAULT 0,
    PRIMARY KEY (sid, pk, sk)
);
CREATE TABLE IF NOT EXISTS ddb_history (
    seq bigserial PRIMARY KEY,
    key text NOT NULL,
    ts double precision NOT NULL,
    pk bytea NOT NULL,
    sk bytea NOT NULL,
    data bytea
);
CREATE INDEX IF NOT EXISTS ddb_history_by_key ON ddb_history (key, seq);
CREATE TABLE IF NOT EXISTS ddb_policies (
    arn text COLLATE "C" PRIMARY KEY,
    tid integer NOT NULL,
    policy text NOT NULL,
    revision text NOT NULL
);
CREATE INDEX IF NOT EXISTS ddb_policies_by_table ON ddb_policies (tid);
CREATE TABLE IF NOT EXISTS ddb_tokens (
    token text COLLATE "C" PRIMARY KEY,
    expires double precision NOT NULL,
    fingerprint bytea NOT NULL,
    answer bytea NOT NULL
);
CREATE TABLE IF NOT EXISTS ddb_flush (
    id text PRIMARY KEY,
    n bigint NOT NULL
);
"""

# What reset() empties: every table above but ddb_catalog (the version only grows) and
# ddb_flush (the durability barriers of running processes, not account data).
_RESET_TABLES = ("ddb_items", "ddb_tables", "ddb_policies", "ddb_tokens", "ddb_meta", "ddb_stream_records", "ddb_snapshots", "ddb_history")

# A schema made before tables were regional has ``ddb_tables`` with a unique ``name`` and no
# ``region``: add the column (each table's region is the one in its stored ARN) and make
# (region, name) the unique key instead. In the setup transaction, under the setup lock;
# the catalog version moves, so running processes reload their table caches.
_MIGRATE_REGIONS = f"""
DO $$
BEGIN
    IF NOT EXISTS (
        SELECT 1 FROM pg_attribute
        WHERE attrelid = 'ddb_tables'::regclass AND attname = 'region' AND NOT attisdropped
    ) THEN
        ALTER TABLE ddb_tables ADD COLUMN region text COLLATE "C";
        UPDATE ddb_tables SET region = COALESCE(
            NULLIF(split_part(convert_from(meta, 'UTF8')::jsonb ->> 'arn', ':', 4), ''), '{DEFAULT_REGION}');
        ALTER TABLE ddb_tables ALTER COLUMN region SET NOT NULL;
        ALTER TABLE ddb_tables DROP CONSTRAINT IF EXISTS ddb_tables_name_key;
        ALTER TABLE ddb_tables ADD CONSTRAINT ddb_tables_region_name_key UNIQUE (region, name);
        UPDATE ddb_catalog SET version = version + 1 WHERE id = 1;
    END IF;
END $$;
"""

# Lock the item (and share-lock its table), then read it: one round trip. Each statement
# of a VOLATILE plpgsql function takes a fresh snapshot under READ COMMITTED, so the
# SELECT after the lock sees what the previous holder committed.
_LOCK_GET = f"""
CREATE OR REPLACE FUNCTION ddb_lock_get(p_tid integer, p_idx integer, p_pk bytea, p_sk bytea, p_key bigint)
RETURNS bytea LANGUAGE plpgsql VOLATILE SET search_path FROM CURRENT AS $$
DECLARE r bytea;
BEGIN
    PERFORM pg_advisory_xact_lock_shared({TABLE_LOCK}, p_tid);
    PERFORM pg_advisory_xact_lock(p_key);
    PERFORM 1 FROM ddb_tables WHERE id = p_tid;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'table % does not exist', p_tid USING ERRCODE = 'P0002';
    END IF;
    SELECT data INTO r FROM ddb_items WHERE tid = p_tid AND idx = p_idx AND pk = p_pk AND sk = p_sk;
    RETURN r;
END $$;
"""


def item_lock_key(table_id: int, index_id: int, pk: bytes, sk: bytes) -> int:
    """The advisory-lock key of one item: a signed 64-bit hash (collisions only serialize)."""
    h = hashlib.blake2b(digest_size=8)
    h.update(table_id.to_bytes(4, "big", signed=True) + index_id.to_bytes(4, "big", signed=True))
    h.update(len(pk).to_bytes(4, "big") + pk + sk)
    return int.from_bytes(h.digest(), "big", signed=True)


def _int4(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=4).digest(), "big", signed=True)


def parse_spec(spec: str) -> tuple[str, dict[str, str]]:
    """Split a postgresql:// URL into (libpq conninfo, the emulator's own options)."""
    parts = urlsplit(spec)
    ours: dict[str, str] = {}
    rest: list[tuple[str, str]] = []
    for k, v in parse_qsl(parts.query, keep_blank_values=True):
        if k in ("pool_min", "pool_max", "schema", "listen", "lock_timeout"):
            ours[k] = v
        else:
            rest.append((k, v))
    conninfo = urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(rest), parts.fragment))
    return conninfo, ours


def redacted(spec: str) -> str:
    """The URL without its password (for messages and logs)."""
    parts = urlsplit(spec)
    if parts.password is None:
        return spec
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def conflict() -> AwsError:
    return AwsError("TransactionConflictException", "Transaction is ongoing for the item", 400)


@contextmanager
def _mapped() -> Iterator[None]:
    """PostgreSQL errors as AWS errors (the engine and the protocol layer know only AwsError)."""
    try:
        yield
    except (pgerrors.DeadlockDetected, pgerrors.SerializationFailure, pgerrors.LockNotAvailable) as exc:
        log.info("DynamoDB write conflict on PostgreSQL: %s", exc)
        raise conflict() from exc
    except pgerrors.NoDataFound as exc:  # ddb_lock_get: the table was deleted by another process
        raise AwsError("ResourceNotFoundException", "Requested resource not found", 400) from exc
    except pgerrors.ProgramLimitExceeded as exc:
        # B-tree index rows are limited to ~2.7 kB: an incompressible key near DynamoDB's
        # own limits (2 KB partition + 1 KB sort key) does not fit (docs/postgresql.md).
        raise AwsError(
            "ValidationException",
            "One or more parameter values were invalid: the item's key is too large for this emulator's PostgreSQL storage "
            "(index rows are limited to 2704 bytes; see docs/postgresql.md)",
            400,
        ) from exc
    except psycopg.OperationalError as exc:
        log.error("PostgreSQL storage unavailable: %s", exc)
        raise AwsError("InternalServerError", "Internal server error", 500) from exc


class PostgresStorage(Storage, LifecycleStorage):
    name = "postgresql"
    shared = True
    param_mark = "%s"
    scan_page = PAGE * 4

    def __init__(self, spec: str) -> None:
        self.spec = spec
        self.conninfo, opts = parse_spec(spec)
        self.pool_min = int(opts.get("pool_min", "1"))
        self.pool_max = max(self.pool_min, int(opts.get("pool_max", "10")))
        self.schema = opts.get("schema") or None
        self.listen = opts.get("listen", "1") not in ("0", "false", "no", "off")
        self.lock_timeout = opts.get("lock_timeout", "10s")
        self.channel = f"ddb_catalog_{self.schema or 'public'}"[:63]
        self._pool: ConnectionPool | None = None
        self._local = threading.local()
        # Catalog version as last heard (NOTIFY) or read; see catalog_version().
        self._hint = 0
        self._hint_at = 0.0
        self._listening = False
        self._stop = threading.Event()
        self._listener: threading.Thread | None = None
        # Group commit (see begin_group): the loop thread's transactions commit without
        # waiting for the WAL flush; one synchronous "barrier" commit flushes them all.
        self._glock = threading.RLock()
        self._group_open = False
        self._group_thread = 0
        self._unflushed = False
        self._token = secrets.token_hex(8)

    # ------------------------------------------------------------ lifecycle
    def _configure(self, conn: psycopg.Connection[Any]) -> None:
        if self.schema:
            conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(self.schema)))
        conn.execute("SELECT set_config('lock_timeout', %s, false)", (self.lock_timeout,))

    def open(self) -> None:
        if self._pool is not None:
            return
        try:
            self._setup()
            self._open_pool()
        except (psycopg.OperationalError, PoolTimeout) as exc:
            raise RuntimeError(f"cannot use the PostgreSQL storage at {redacted(self.spec)}: {exc}".strip()) from exc

    def _setup(self) -> None:
        # Create the schema once, under a session advisory lock: concurrent
        # CREATE ... IF NOT EXISTS from two starting processes can still collide.
        with psycopg.connect(self.conninfo, autocommit=True) as conn:
            conn.execute("SELECT pg_advisory_lock(%s, 0)", (SETUP_LOCK,))
            try:
                if self.schema:
                    conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(self.schema)))
                self._configure(conn)
                with conn.transaction():
                    conn.execute(_SCHEMA)
                    conn.execute(_MIGRATE_REGIONS)
                conn.execute(_LOCK_GET)
            finally:
                conn.execute("SELECT pg_advisory_unlock(%s, 0)", (SETUP_LOCK,))

    def _open_pool(self) -> None:
        pool = ConnectionPool(
            self.conninfo,
            min_size=self.pool_min,
            max_size=self.pool_max,
            kwargs={"autocommit": True},
            configure=self._configure,
            name="emulator-dynamodb",
            open=False,
        )
        pool.open(wait=True, timeout=30.0)
        self._pool = pool
        self._stop.clear()
        self.catalog_version(fresh=True)
        if self.listen:
            self._listener = threading.Thread(target=self._listen_loop, name="ddb-catalog-listener", daemon=True)
            self._listener.start()

    def close(self) -> None:
        if self._pool is not None:
            self.commit_group()
            try:
                self._write("DELETE FROM ddb_flush WHERE id = %s", (self._token,))
            except AwsError:
                pass  # the database is gone: nothing to tidy
        self._stop.set()
        if self._listener is not None:
            self._listener.join(timeout=5)
            self._listener = None
        if self._pool is not None:
            self._pool.close()
            self._pool = None

    @property
    def pool(self) -> ConnectionPool:
        if self._pool is None:
            raise RuntimeError("storage is not open")
        return self._pool

    # ------------------------------------------------------- catalog version
    def catalog_version(self, fresh: bool = False) -> int:
        """Bumped by every create/update/delete of a table, in any process. Without
        ``fresh`` this is what LISTEN last heard (no round trip); without a working
        listener it is polled at most once a second."""
        if fresh or not self._listening and time.monotonic() - self._hint_at > 1.0:
            with self._conn() as conn, _mapped():
                row = conn.execute("SELECT version FROM ddb_catalog WHERE id = 1").fetchone()
            self._hint = max(self._hint, int(row[0]) if row else 0)
            self._hint_at = time.monotonic()
        return self._hint

    def _listen_loop(self) -> None:
        while not self._stop.is_set():
            try:
                with psycopg.connect(self.conninfo, autocommit=True) as conn:
                    conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self.channel)))
                    self._listening = True
                    # Whatever changed while we were not listening.
                    self.catalog_version(fresh=True)
                    while not self._stop.is_set():
                        for note in conn.notifies(timeout=0.25):
                            try:
                                self._hint = max(self._hint, int(note.payload))
                            except ValueError:
                                pass
            except (psycopg.Error, AwsError, OSError) as exc:  # the database went away: poll until it is back
                self._listening = False
                if not self._stop.is_set():
                    log.warning("catalog listener lost its connection (%s); reconnecting", exc)
                    self._stop.wait(1.0)
        self._listening = False

    def _bump(self, conn: psycopg.Connection[Any]) -> None:
        row = conn.execute("UPDATE ddb_catalog SET version = version + 1 WHERE id = 1 RETURNING version").fetchone()
        version = int(row[0]) if row else 0
        conn.execute("SELECT pg_notify(%s, %s)", (self.channel, str(version)))

    # ---------------------------------------------------------- connections
    @contextmanager
    def _conn(self) -> Iterator[psycopg.Connection[Any]]:
        """The thread's transaction connection, or one from the pool for one statement."""
        tx = getattr(self._local, "conn", None)
        if tx is not None:
            yield tx
            return
        with self.pool.connection() as conn:
            yield conn

    def _fetch(self, query: str, params: Any = (), one: bool = False) -> Any:
        """Run a read. Outside a transaction a dropped connection is retried once
        (reads are idempotent and the pool replaces broken connections)."""
        in_tx = getattr(self._local, "conn", None) is not None
        for attempt in (0, 1):
            try:
                with self._conn() as conn, _mapped():
                    cur = conn.execute(query, params, binary=True)
                    return cur.fetchone() if one else cur.fetchall()
            except AwsError as err:
                cause = err.__cause__
                # Only a lost connection (no SQLSTATE) is worth a second try.
                if in_tx or attempt or not isinstance(cause, psycopg.OperationalError) or cause.sqlstate is not None:
                    raise
        raise AssertionError("unreachable")

    def _select(self, sql: str, params: Sequence[Any]) -> list[Any]:
        return list(self._fetch(sql, params))

    def _write(self, query: str, params: Any = ()) -> int:
        """One write statement: in the open transaction, else on its own (autocommit)."""
        with self._conn() as conn, _mapped():
            return conn.execute(query, params).rowcount

    @contextmanager
    def transaction(self) -> Iterator[None]:
        local = self._local
        if getattr(local, "conn", None) is not None:
            local.depth += 1
            try:
                yield
            finally:
                local.depth -= 1
            return
        if self._group_open and self._group_thread != threading.get_ident():
            # Another thread's caller expects durability when we return, and the
            # barrier is cheap: make the open group durable first.
            self.commit_group()
        # Decided under the lock, held to the commit in a group: a barrier running in
        # another thread must not close the group before our commit counts in it.
        self._glock.acquire()
        group = self._group_open and self._group_thread == threading.get_ident()
        if not group:
            self._glock.release()
        try:
            conn = self._begin(group)
            local.conn, local.depth = conn, 1
            try:
                try:
                    yield
                except BaseException:
                    local.conn = None
                    try:
                        conn.execute("ROLLBACK")
                    except psycopg.Error:
                        pass  # a broken connection: the pool discards it
                    raise
                local.conn = None
                with _mapped():
                    conn.execute("COMMIT")
                if group:
                    self._unflushed = True
            finally:
                local.conn = None
                self.pool.putconn(conn)
        finally:
            if group:
                self._glock.release()

    # ---- group commit. The handler opens a group before each write and waits for
    # commit_group() (scheduled once per event-loop iteration) before it answers. In a
    # group, transactions commit with synchronous_commit=off: their locks go at once,
    # so no lock is held across requests, and other processes see the write at once.
    # A barrier (sync_wal, run by the engine off the event loop) then commits one tiny
    # synchronous transaction; WAL is flushed in order, so its flush makes every earlier
    # commit durable: one fsync per disk round trip instead of one per request. (Another process may read a write a few ms before it
    # is durable; this process answers nothing before it is.)
    @property
    def group_open(self) -> bool:
        return self._group_open

    def begin_group(self) -> None:
        with self._glock:
            if not self._group_open and getattr(self._local, "conn", None) is None:
                self._group_open = True
                self._group_thread = threading.get_ident()

    # The engine runs sync_wal() (the barrier) in a worker thread, so the event loop
    # keeps serving while PostgreSQL flushes; commit_group(sync=False) only closes the group.
    own_sync = True

    def commit_group(self, sync: bool = True) -> None:
        with self._glock:
            if not self._group_open:
                return
            self._group_open = False
            if sync:
                self.sync_wal()

    def sync_wal(self) -> None:
        """Make every commit made so far durable: one synchronous commit of a tiny
        write, whose WAL flush covers every earlier (asynchronous) commit."""
        with self._glock:
            if not self._unflushed:
                return
            self._unflushed = False
        try:
            with self.pool.connection() as conn, _mapped():
                conn.execute("INSERT INTO ddb_flush (id, n) VALUES (%s, 1) ON CONFLICT (id) DO UPDATE SET n = ddb_flush.n + 1", (self._token,))
        except BaseException:
            self._unflushed = True  # still owed: the next barrier must not be skipped
            raise

    def _begin(self, group: bool = False) -> psycopg.Connection[Any]:
        for attempt in (0, 1):
            conn = self.pool.getconn()
            try:
                conn.execute("BEGIN; SET LOCAL synchronous_commit TO off" if group else "BEGIN")
                return conn
            except psycopg.OperationalError as exc:  # a stale pooled connection: safe to retry
                self.pool.putconn(conn)
                if attempt:
                    log.error("PostgreSQL storage unavailable: %s", exc)
                    raise AwsError("InternalServerError", "Internal server error", 500) from exc
        raise AssertionError("unreachable")

    # -------------------------------------------------------------- tables
    def list_tables(self) -> list[TableRow]:
        rows = self._fetch('SELECT id, name, meta, region FROM ddb_tables ORDER BY region COLLATE "C", name COLLATE "C"')
        return [TableRow(int(r[0]), r[1], orjson.loads(r[2]), r[3]) for r in rows]

    def create_table(self, region: str, name: str, meta: dict[str, Any]) -> int:
        with self.transaction(), self._conn() as conn, _mapped():
            row = conn.execute(
                "INSERT INTO ddb_tables (region, name, meta) VALUES (%s, %s, %s) ON CONFLICT (region, name) DO NOTHING RETURNING id",
                (region, name, orjson.dumps(meta)),
            ).fetchone()
            if row is None:
                raise KeyError((region, name))
            self._bump(conn)
            return int(row[0])

    def update_table(self, table_id: int, meta: dict[str, Any]) -> None:
        with self.transaction(), self._conn() as conn, _mapped():
            # Wait for other processes' writes in flight on the table, and hold theirs
            # back until the new metadata is committed.
            conn.execute("SELECT pg_advisory_xact_lock(%s, %s)", (TABLE_LOCK, table_id))
            conn.execute("UPDATE ddb_tables SET meta = %s WHERE id = %s", (orjson.dumps(meta), table_id))
            self._bump(conn)

    def delete_table(self, table_id: int) -> None:
        with self.transaction(), self._conn() as conn, _mapped():
            conn.execute("SELECT pg_advisory_xact_lock(%s, %s)", (TABLE_LOCK, table_id))
            conn.execute("DELETE FROM ddb_items WHERE tid = %s", (table_id,))
            conn.execute("DELETE FROM ddb_policies WHERE tid = %s", (table_id,))
            conn.execute("DELETE FROM ddb_tables WHERE id = %s", (table_id,))
            self._bump(conn)

    def reset(self) -> None:
        with self.transaction(), self._conn() as conn, _mapped():
            # As delete_table does for one table: wait for other processes' writes in flight
            # on any table (they hold its lock shared), and hold new ones back until commit;
            # they then find their table gone (ddb_lock_get) instead of leaving rows behind.
            conn.execute("SELECT pg_advisory_xact_lock(%s, id) FROM ddb_tables ORDER BY id", (TABLE_LOCK,))
            # DELETE, not TRUNCATE: on the test-sized data a reset meets (4 tables of 50 items)
            # the whole reset took ~1.5 ms with DELETE and ~12 ms with TRUNCATE, which also
            # swaps files and locks out every reader. The serials go on: ids are never reused.
            for name in _RESET_TABLES:
                conn.execute(sql.SQL("DELETE FROM {}").format(sql.Identifier(name)))
            self._bump(conn)  # other processes' table caches reload (and find none)

    # ------------------------------------------------ resource-based policies
    def policy_get(self, arn: str) -> PolicyRow | None:
        if getattr(self._local, "conn", None) is not None:
            # In a transaction: hold the ARN until it ends, so that another process's
            # conditional update (ExpectedRevisionId) waits and then reads what we wrote.
            self._write("SELECT pg_advisory_xact_lock(%s, %s)", (POLICY_LOCK, _int4(arn)))
        row = self._fetch("SELECT tid, arn, policy, revision FROM ddb_policies WHERE arn = %s", (arn,), one=True)
        return None if row is None else PolicyRow(int(row[0]), row[1], row[2], row[3])

    def policy_put(self, table_id: int, arn: str, policy: str, revision: str) -> None:
        with self.transaction(), self._conn() as conn, _mapped():
            conn.execute("SELECT pg_advisory_xact_lock(%s, %s)", (POLICY_LOCK, _int4(arn)))
            # Shared: waits for a DeleteTable of another process (exclusive), which then
            # took the table and its policies away: no policy outlives its table.
            conn.execute("SELECT pg_advisory_xact_lock_shared(%s, %s)", (TABLE_LOCK, table_id))
            if conn.execute("SELECT 1 FROM ddb_tables WHERE id = %s", (table_id,)).fetchone() is None:
                raise AwsError("ResourceNotFoundException", "Requested resource not found", 400)
            conn.execute(
                "INSERT INTO ddb_policies (arn, tid, policy, revision) VALUES (%s, %s, %s, %s) "
                "ON CONFLICT (arn) DO UPDATE SET tid = EXCLUDED.tid, policy = EXCLUDED.policy, revision = EXCLUDED.revision",
                (arn, table_id, policy, revision),
            )
            self._bump(conn)

    def policy_delete(self, arn: str) -> bool:
        with self.transaction(), self._conn() as conn, _mapped():
            conn.execute("SELECT pg_advisory_xact_lock(%s, %s)", (POLICY_LOCK, _int4(arn)))
            found = conn.execute("DELETE FROM ddb_policies WHERE arn = %s", (arn,)).rowcount > 0
            if found:
                self._bump(conn)
            return found

    def policy_list(self) -> list[PolicyRow]:
        rows = self._fetch('SELECT tid, arn, policy, revision FROM ddb_policies ORDER BY arn COLLATE "C"')
        return [PolicyRow(int(r[0]), r[1], r[2], r[3]) for r in rows]

    # --------------------------------------------------- idempotency tokens
    def token_get(self, token: str, now: float) -> tuple[float, bytes, bytes] | None:
        row = self._fetch("SELECT expires, fingerprint, answer FROM ddb_tokens WHERE token = %s AND expires > %s", (token, now), one=True)
        return None if row is None else (float(row[0]), bytes(row[1]), bytes(row[2]))

    def token_put(self, token: str, fingerprint: bytes, answer: bytes, expires: float, now: float) -> bool:
        # An upsert that replaces only an expired token. Another process inserting the same
        # token in a transaction still open makes this wait for its end (the primary key),
        # then see its row: exactly one of two concurrent requests keeps the token.
        return (
            self._write(
                "INSERT INTO ddb_tokens (token, expires, fingerprint, answer) VALUES (%s, %s, %s, %s) "
                "ON CONFLICT (token) DO UPDATE SET expires = EXCLUDED.expires, fingerprint = EXCLUDED.fingerprint, answer = EXCLUDED.answer "
                "WHERE ddb_tokens.expires <= %s",
                (token, expires, fingerprint, answer, now),
            )
            > 0
        )

    # No index on ``expires`` (see SqliteStorage.token_purge): the purge scans the table.
    def token_purge(self, now: float, limit: int) -> int:
        return self._write(
            "DELETE FROM ddb_tokens WHERE token IN (SELECT token FROM ddb_tokens WHERE expires <= %s LIMIT %s)", (now, limit)
        )

    def token_horizon(self) -> float | None:
        row = self._fetch("SELECT MAX(expires) FROM ddb_tokens", one=True)
        return None if row is None or row[0] is None else float(row[0])

    # ---------------------------------------------------------------- rows
    def get(self, table_id: int, index_id: int, pk: bytes, sk: bytes) -> bytes | None:
        if getattr(self._local, "conn", None) is not None:
            # Inside a write transaction: lock the key first (see the module docstring).
            row = self._fetch("SELECT ddb_lock_get(%s, %s, %s, %s, %s)", (table_id, index_id, pk, sk, item_lock_key(table_id, index_id, pk, sk)), one=True)
        else:
            row = self._fetch("SELECT data FROM ddb_items WHERE tid = %s AND idx = %s AND pk = %s AND sk = %s", (table_id, index_id, pk, sk), one=True)
        return None if row is None or row[0] is None else bytes(row[0])

    def put(self, table_id: int, index_id: int, pk: bytes, sk: bytes, data: bytes, size: int = 0) -> None:
        self._write(
            "INSERT INTO ddb_items (tid, idx, pk, sk, data, size) VALUES (%s, %s, %s, %s, %s, %s) "
            "ON CONFLICT (tid, idx, pk, sk) DO UPDATE SET data = EXCLUDED.data, size = EXCLUDED.size",
            (table_id, index_id, pk, sk, data, size),
        )

    def delete(self, table_id: int, index_id: int, pk: bytes, sk: bytes) -> bool:
        return self._write("DELETE FROM ddb_items WHERE tid = %s AND idx = %s AND pk = %s AND sk = %s", (table_id, index_id, pk, sk)) > 0

    def delete_index(self, table_id: int, index_id: int) -> None:
        self._write("DELETE FROM ddb_items WHERE tid = %s AND idx = %s", (table_id, index_id))

    def partition_size(self, table_id: int, index_ids: list[int], pk: bytes) -> int:
        row = self._fetch("SELECT COALESCE(SUM(size), 0) FROM ddb_items WHERE tid = %s AND idx = ANY(%s) AND pk = %s", (table_id, list(index_ids), pk), one=True)
        return int(row[0])

    def count(self, table_id: int, index_id: int) -> tuple[int, int]:
        row = self._fetch("SELECT COUNT(*), COALESCE(SUM(size), 0) FROM ddb_items WHERE tid = %s AND idx = %s", (table_id, index_id), one=True)
        return int(row[0]), int(row[1])

    # ------------------------------------------------------------ lifecycle
    def meta_put(self, kind: str, key: str, meta: dict[str, Any]) -> None:
        self._write(
            "INSERT INTO ddb_meta (kind, key, meta) VALUES (%s, %s, %s) ON CONFLICT (kind, key) DO UPDATE SET meta = EXCLUDED.meta",
            (kind, key, orjson.dumps(meta)),
        )

    def meta_get(self, kind: str, key: str) -> dict[str, Any] | None:
        row = self._fetch("SELECT meta FROM ddb_meta WHERE kind = %s AND key = %s", (kind, key), one=True)
        return None if row is None else dict(orjson.loads(row[0]))

    def meta_list(self, kind: str) -> list[tuple[str, dict[str, Any]]]:
        rows = self._fetch("SELECT key, meta FROM ddb_meta WHERE kind = %s ORDER BY key", (kind,))
        return [(r[0], dict(orjson.loads(r[1]))) for r in rows]

    def meta_delete(self, kind: str, key: str) -> None:
        self._write("DELETE FROM ddb_meta WHERE kind = %s AND key = %s", (kind, key))

    def stream_append(self, stream: str, created: float, data: bytes) -> int:
        with self.transaction(), self._conn() as conn, _mapped():
            # Sequence numbers must grow in commit order for readers that resume after
            # the last one they saw: appends to one stream serialize until commit.
            conn.execute("SELECT pg_advisory_xact_lock(%s, %s)", (STREAM_LOCK, _int4(stream)))
            row = conn.execute("INSERT INTO ddb_stream_records (stream, created, data) VALUES (%s, %s, %s) RETURNING seq", (stream, created, data)).fetchone()
            return int(row[0]) if row else 0

    def stream_read(self, stream: str, after: int, limit: int) -> list[tuple[int, float, bytes]]:
        rows = self._fetch("SELECT seq, created, data FROM ddb_stream_records WHERE stream = %s AND seq > %s ORDER BY seq LIMIT %s", (stream, after, limit))
        return [(int(r[0]), float(r[1]), bytes(r[2])) for r in rows]

    def stream_bounds(self, stream: str) -> tuple[int | None, int | None]:
        row = self._fetch("SELECT MIN(seq), MAX(seq) FROM ddb_stream_records WHERE stream = %s", (stream,), one=True)
        if row is None:
            return None, None
        return (None if row[0] is None else int(row[0]), None if row[1] is None else int(row[1]))

    def stream_trim(self, stream: str, upto: int) -> int:
        return self._write("DELETE FROM ddb_stream_records WHERE stream = %s AND seq <= %s", (stream, upto))

    def snapshot_table(self, sid: str, table_id: int) -> tuple[int, int]:
        # One INSERT ... SELECT: a consistent copy, whatever writes come after it.
        with self.transaction(), self._conn() as conn, _mapped():
            conn.execute(
                "INSERT INTO ddb_snapshots (sid, pk, sk, data, size) SELECT %s, pk, sk, data, size FROM ddb_items WHERE tid = %s AND idx = 0 "
                "ON CONFLICT (sid, pk, sk) DO UPDATE SET data = EXCLUDED.data, size = EXCLUDED.size",
                (sid, table_id),
            )
            row = conn.execute("SELECT COUNT(*), COALESCE(SUM(size), 0) FROM ddb_snapshots WHERE sid = %s", (sid,)).fetchone()
        return (int(row[0]), int(row[1])) if row else (0, 0)

    def snapshot_delete(self, sid: str) -> None:
        self._write("DELETE FROM ddb_snapshots WHERE sid = %s", (sid,))

    def history_append(self, key: str, ts: float, pk: bytes, sk: bytes, data: bytes | None) -> None:
        self._write("INSERT INTO ddb_history (key, ts, pk, sk, data) VALUES (%s, %s, %s, %s, %s)", (key, ts, pk, sk, data))

    def history_delete(self, key: str) -> None:
        self._write("DELETE FROM ddb_history WHERE key = %s", (key,))


# ------------------------------------------------------------------ test databases
@contextmanager
def scratch_database(url: str, prefix: str = "emulator_test") -> Iterator[str]:
    """Create a database of its own on the server of ``url`` (any database there that
    we may connect to), yield its URL, and drop it afterwards (tests, benchmarks)."""
    import secrets

    conninfo, _opts = parse_spec(url)
    name = f"{prefix}_{secrets.token_hex(6)}"
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    parts = urlsplit(url)
    try:
        yield urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))
    finally:
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
