"""The narrow storage interface under the DynamoDB engine.

A storage engine knows nothing about DynamoDB documents: it keeps table
metadata (an opaque JSON-able dict per table) and rows of opaque bytes under a
binary key ``(table_id, index_id, pk, sk)``, ordered bytewise. Index 0 is the
base table; every secondary index gets its own id. The document logic
(emulator/dynamodb/engine.py) encodes keys with emulator/dynamodb/keys.py, so
a Query is a ``range`` call and never a table scan.

Writes happen inside ``transaction()``: everything done in it commits or rolls
back together (nested calls join the outer transaction). Hooks that must be
atomic with an item change (stream records, later) run inside the same
transaction.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

# Rows fetched per statement while iterating a range.
PAGE = 256


@dataclass
class TableRow:
    table_id: int
    name: str
    meta: dict[str, Any]
    # Tables are regional, as on AWS: a name is unique within its region only.
    region: str


# The region of a table whose stored metadata names none (data written before tables had
# a region column and without an ARN in their metadata; the engine always writes one).
DEFAULT_REGION = "us-east-1"


def region_of_arn(arn: Any, default: str = DEFAULT_REGION) -> str:
    """The region of an ARN (``arn:partition:service:region:account:resource``)."""
    if isinstance(arn, str):
        parts = arn.split(":", 4)
        if len(parts) == 5 and parts[0] == "arn" and parts[3]:
            return parts[3]
    return default


@dataclass
class PolicyRow:
    """A resource-based policy (emulator/dynamodb/policies.py) of a table or of its stream:
    ``arn`` is the resource it is attached to, ``table_id`` the table it goes away with."""

    table_id: int
    arn: str
    policy: str
    revision: str


@dataclass(slots=True)
class Row:
    pk: bytes
    sk: bytes
    data: bytes
    size: int = 0


class Storage(ABC):
    """Abstract storage; implementations: SqliteStorage (and later PostgreSQL)."""

    name: str = ""
    # The SQL driver's parameter mark: "?" (sqlite3) or "%s" (psycopg).
    param_mark: str = "?"
    # Rows read per statement by ``scan`` (a full-index read favours larger pages).
    scan_page: int = PAGE
    # True when other emulator processes may use the same storage at once (PostgreSQL):
    # the engine's table cache then follows catalog_version() (see TableCache).
    shared: bool = False
    # True when the driver hands BLOB columns back as ``bytes`` already (sqlite3; psycopg
    # gives memoryviews): rows are then yielded without copying them to bytes.
    blobs_are_bytes: bool = False

    def catalog_version(self, fresh: bool = False) -> int:
        """A number that changes whenever any process creates, updates or deletes a
        table; ``fresh``: ask the database now. Single-process storages: always 0."""
        return 0

    @abstractmethod
    def open(self) -> None: ...

    @abstractmethod
    def _select(self, sql: str, params: Sequence[Any]) -> list[Any]:
        """Run one read statement (with ``param_mark`` placeholders) and return all its rows."""

    @abstractmethod
    def close(self) -> None: ...

    # ---- table metadata
    @abstractmethod
    def list_tables(self) -> list[TableRow]:
        """Every table of every region, ordered by (region, name)."""

    @abstractmethod
    def create_table(self, region: str, name: str, meta: dict[str, Any]) -> int:
        """Insert a table of ``region``; returns its id. Raises KeyError if the region
        already has a table of that name (the same name in another region is another table)."""

    @abstractmethod
    def update_table(self, table_id: int, meta: dict[str, Any]) -> None: ...

    @abstractmethod
    def delete_table(self, table_id: int) -> None:
        """Delete the table's metadata, all its rows (every index) and its resource-based
        policies (the table's and its streams')."""

    @abstractmethod
    def reset(self) -> None:
        """Delete every table, every row, every resource-based policy, every idempotency
        token and every lifecycle record (stream records, snapshots, history, metadata
        records): the store as a new account finds it, in one transaction (POST
        /_emulator/reset). Ids are not reused afterwards: a task still holding an old
        table id must not write into a new table."""

    # ---- resource-based policies (one per table or stream ARN). A change is a catalog
    # change: shared storages bump catalog_version(), so other processes reload them.
    @abstractmethod
    def policy_get(self, arn: str) -> PolicyRow | None:
        """The policy attached to ``arn``. Inside a transaction, shared storages also lock
        ``arn`` until it ends, so a read-check-write (ExpectedRevisionId) is atomic."""

    @abstractmethod
    def policy_put(self, table_id: int, arn: str, policy: str, revision: str) -> None:
        """Attach (or replace) the policy of ``arn``, a resource of table ``table_id``.
        Raises AwsError ResourceNotFoundException when the table no longer exists."""

    @abstractmethod
    def policy_delete(self, arn: str) -> bool:
        """Detach the policy of ``arn``; True if there was one."""

    @abstractmethod
    def policy_list(self) -> list[PolicyRow]:
        """Every policy, ordered by ARN."""

    # ---- idempotency tokens (ClientRequestToken of TransactWriteItems and PartiQL's
    # ExecuteTransaction): what the engine must still know after a restart, so that a
    # retry whose first answer was lost is not applied twice. Times are wall-clock
    # seconds (time.time()): they outlive the process.
    @abstractmethod
    def token_get(self, token: str, now: float) -> tuple[float, bytes, bytes] | None:
        """(expires, fingerprint, answer) of ``token`` when it is kept and not expired at
        ``now`` (``expires > now``), else None."""

    @abstractmethod
    def token_put(self, token: str, fingerprint: bytes, answer: bytes, expires: float, now: float) -> bool:
        """Keep ``token`` (its request's fingerprint and its answer) until ``expires``: one
        row write that joins the open ``transaction()``, so the token commits or rolls back
        with the writes it answers for. An expired token of that name is replaced. False,
        and nothing written, when an unexpired one is kept already (another request, maybe
        of another process, committed it first)."""

    @abstractmethod
    def token_purge(self, now: float, limit: int) -> int:
        """Forget up to ``limit`` tokens expired at ``now``; returns how many went."""

    @abstractmethod
    def token_horizon(self) -> float | None:
        """The latest expiry of any kept token (None: none kept). Until then a token
        missing from an engine's memory may still be in the storage (written before a
        restart)."""

    # ---- rows
    @abstractmethod
    def get(self, table_id: int, index_id: int, pk: bytes, sk: bytes) -> bytes | None: ...

    def get_sized(self, table_id: int, index_id: int, pk: bytes, sk: bytes) -> tuple[bytes, int | None] | None:
        """A row and the item size stored with it by ``put`` (None: not known here; the
        engine then computes it). Saves walking the item to meter its capacity."""
        data = self.get(table_id, index_id, pk, sk)
        return None if data is None else (data, None)

    @abstractmethod
    def put(self, table_id: int, index_id: int, pk: bytes, sk: bytes, data: bytes, size: int = 0) -> None:
        """Insert or replace a row."""

    @abstractmethod
    def delete(self, table_id: int, index_id: int, pk: bytes, sk: bytes) -> bool:
        """Delete a row; True if it existed."""

    def query(
        self,
        table_id: int,
        index_id: int,
        pk: bytes,
        lo: bytes | None = None,
        hi: bytes | None = None,
        forward: bool = True,
        after: bytes | None = None,
        first_page: int | None = None,
    ) -> Iterator[Row]:
        """Rows of one partition with ``lo <= sk < hi`` (None: unbounded), in sk order
        (descending when not ``forward``), starting strictly after sk ``after`` in
        that direction."""
        for rows in self.query_pages(table_id, index_id, pk, lo, hi, forward, after, first_page):
            for sk, data, size in rows:
                yield Row(pk, sk, data, size)

    def query_pages(
        self,
        table_id: int,
        index_id: int,
        pk: bytes,
        lo: bytes | None = None,
        hi: bytes | None = None,
        forward: bool = True,
        after: bytes | None = None,
        first_page: int | None = None,
    ) -> Iterator[Sequence[tuple[bytes, bytes, int]]]:
        """``query``'s rows as (sk, data, size), a statement's worth at a time: a Query page
        that sends the stored items as they are needs no object per row."""
        mark = self.param_mark
        base = f"SELECT sk, data, size FROM ddb_items WHERE tid = {mark} AND idx = {mark} AND pk = {mark}"
        args: list[Any] = [table_id, index_id, pk]
        if lo is not None:
            base += f" AND sk >= {mark}"
            args.append(lo)
        if hi is not None:
            base += f" AND sk < {mark}"
            args.append(hi)
        order = " ORDER BY sk" if forward else " ORDER BY sk DESC"
        cursor_cond = f" AND sk > {mark}" if forward else f" AND sk < {mark}"
        last = after
        # The caller's hint (a Query's Limit): a 20-item page need not read 256 rows.
        page = max(1, min(PAGE, first_page)) if first_page else PAGE
        while True:
            # LIMIT as a parameter: one prepared statement whatever the page size.
            sql = base + (cursor_cond if last is not None else "") + order + f" LIMIT {mark}"
            rows = self._select(sql, [*args, *([last] if last is not None else []), page])
            yield rows if self.blobs_are_bytes else [(bytes(sk), bytes(data), size) for sk, data, size in rows]
            if len(rows) < page:
                return
            page = PAGE
            last = bytes(rows[-1][0])

    def scan(self, table_id: int, index_id: int, after: tuple[bytes, bytes] | None = None) -> Iterator[Row]:
        """All rows of one index in (pk, sk) order, strictly after ``after``."""
        mark = self.param_mark
        yield from self._keyset(f"SELECT pk, sk, data, size FROM ddb_items WHERE tid = {mark} AND idx = {mark}", [table_id, index_id], after, self.scan_page)

    def _keyset(self, base: str, args: list[Any], after: tuple[bytes, bytes] | None, page: int) -> Iterator[Row]:
        """The rows ``base`` selects (pk, sk, data, size) in (pk, sk) order, strictly
        after ``after``, read ``page`` rows per statement (keyset pagination)."""
        mark = self.param_mark
        last = after
        while True:
            if last is None:
                sql, params = base, args
            else:
                sql, params = base + f" AND (pk, sk) > ({mark}, {mark})", [*args, last[0], last[1]]
            rows = self._select(sql + f" ORDER BY pk, sk LIMIT {page}", params)
            for pk, sk, data, size in rows:
                yield Row(bytes(pk), bytes(sk), bytes(data), size)
            if len(rows) < page:
                return
            last = (bytes(rows[-1][0]), bytes(rows[-1][1]))

    @abstractmethod
    def delete_index(self, table_id: int, index_id: int) -> None:
        """Delete every row of one index."""

    @abstractmethod
    def partition_size(self, table_id: int, index_ids: list[int], pk: bytes) -> int:
        """Sum of row sizes of one partition key over the given indexes (the base table
        and its LSIs make an item collection)."""

    @abstractmethod
    def count(self, table_id: int, index_id: int) -> tuple[int, int]:
        """(row count, total size) of one index."""

    @abstractmethod
    def transaction(self) -> AbstractContextManager[None]:
        """Atomic unit of work; nested calls join the outermost one."""

    # ---- group commit (optional): transactions made while a group is open are
    # atomic on their own (savepoints) but become durable only at commit_group().
    @property
    def group_open(self) -> bool:
        return False

    def begin_group(self) -> None:
        """Open a group (no-op for engines without group commit)."""

    def commit_group(self, sync: bool = True) -> None:
        """Make every transaction of the open group durable with one commit
        (``sync=False``, where ``own_sync``: durable only after ``sync_wal()``)."""

    # Storages that flush their log themselves (``own_sync``) let the engine run the
    # flush off the event loop; see SqliteStorage. ``sync_may_run_inline``: the flush is
    # local and short enough, when measured so, to run on the loop itself (EngineCore).
    own_sync = False
    sync_may_run_inline = False

    def sync_wal(self) -> None:
        """Make every commit made so far durable (only where ``own_sync``)."""


class LifecycleStorage(ABC):
    """Side tables for the data lifecycle (emulator/dynamodb/lifecycle/): small
    metadata records, stream records, item snapshots (backups, PITR bases) and
    item-version history (PITR). Every write joins the open ``transaction()``, so a
    stream record or history row commits or rolls back with its item change."""

    # ---- metadata records (streams, backups, PITR settings, exports, imports)
    @abstractmethod
    def meta_put(self, kind: str, key: str, meta: dict[str, Any]) -> None: ...

    @abstractmethod
    def meta_get(self, kind: str, key: str) -> dict[str, Any] | None: ...

    @abstractmethod
    def meta_list(self, kind: str) -> list[tuple[str, dict[str, Any]]]:
        """Every record of one kind, ordered by key."""

    @abstractmethod
    def meta_delete(self, kind: str, key: str) -> None: ...

    # ---- stream records: one global, increasing sequence
    @abstractmethod
    def stream_append(self, stream: str, created: float, data: bytes) -> int:
        """Append a record; returns its sequence number (increasing in commit order)."""

    @abstractmethod
    def stream_read(self, stream: str, after: int, limit: int) -> list[tuple[int, float, bytes]]:
        """Up to ``limit`` records of one stream with sequence > ``after``, in order."""

    @abstractmethod
    def stream_bounds(self, stream: str) -> tuple[int | None, int | None]:
        """(first, last) sequence number kept for one stream."""

    @abstractmethod
    def stream_trim(self, stream: str, upto: int) -> int:
        """Delete the records of one stream with sequence <= ``upto``; returns how many."""

    # ---- snapshots: copies of a table's base rows taken in one statement
    @abstractmethod
    def snapshot_table(self, sid: str, table_id: int) -> tuple[int, int]:
        """Copy every base-table row into snapshot ``sid``; returns (rows, bytes)."""

    def snapshot_rows(self, sid: str) -> Iterator[Row]:
        mark = self.param_mark
        yield from self._keyset(f"SELECT pk, sk, data, size FROM ddb_snapshots WHERE sid = {mark}", [sid], None, PAGE * 4)

    # True when snapshot_to_file may run in a worker thread without blocking writers
    # (SQLite: a separate connection reading a WAL snapshot).
    snapshot_in_thread: bool = False

    def snapshot_to_file(self, table_id: int, path: str) -> tuple[int, int]:
        """Copy the table's base rows, as of one instant, into a new SQLite file at
        ``path``; returns (rows, bytes). This default copies through a snapshot
        (``snapshot_table``); engines may override it with a copy that does not block writers."""
        import sqlite3
        from pathlib import Path

        sid = f"file:{path}"
        count, size = self.snapshot_table(sid, table_id)
        tmp = str(path) + ".tmp"
        Path(tmp).unlink(missing_ok=True)
        conn = sqlite3.connect(tmp)
        try:
            conn.execute("CREATE TABLE rows (pk BLOB NOT NULL, sk BLOB NOT NULL, data BLOB NOT NULL, size INTEGER NOT NULL, PRIMARY KEY (pk, sk)) WITHOUT ROWID")
            conn.executemany("INSERT INTO rows VALUES (?, ?, ?, ?)", ((r.pk, r.sk, r.data, r.size) for r in self.snapshot_rows(sid)))
            conn.commit()
        finally:
            conn.close()
            self.snapshot_delete(sid)
        Path(tmp).replace(path)
        return count, size

    def file_snapshot_rows(self, path: str) -> Iterator[Row]:
        """The rows of a file written by ``snapshot_to_file``, in (pk, sk) order."""
        import sqlite3

        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
        try:
            cur = conn.execute("SELECT pk, sk, data, size FROM rows ORDER BY pk, sk")
            while True:
                rows = cur.fetchmany(1024)
                if not rows:
                    return
                for pk, sk, data, size in rows:
                    yield Row(bytes(pk), bytes(sk), bytes(data), size)
        finally:
            conn.close()

    @abstractmethod
    def snapshot_delete(self, sid: str) -> None: ...

    # ---- item-version history (point-in-time recovery)
    @abstractmethod
    def history_append(self, key: str, ts: float, pk: bytes, sk: bytes, data: bytes | None) -> None:
        """Record the item ``(pk, sk)`` of history ``key`` as ``data`` (None: deleted) at ``ts``."""

    def history_rows(self, key: str, until: float) -> Iterator[tuple[float, bytes, bytes, bytes | None]]:
        """Versions with ts <= ``until`` in commit order."""
        mark = self.param_mark
        sql = f"SELECT seq, ts, pk, sk, data FROM ddb_history WHERE key = {mark} AND seq > {mark} ORDER BY seq LIMIT {mark}"
        last = 0
        page = PAGE * 4
        while True:
            rows = self._select(sql, (key, last, page))
            for seq, ts, pk, sk, data in rows:
                last = int(seq)
                if ts <= until:
                    yield float(ts), bytes(pk), bytes(sk), None if data is None else bytes(data)
            if len(rows) < page:
                return

    @abstractmethod
    def history_delete(self, key: str) -> None: ...

    def history_compact(self, key: str, sid: str, before: float) -> int:
        """Fold the versions of history ``key`` older than ``before`` into snapshot ``sid``
        (the base moves forward in time) and drop them; returns how many were folded.
        Engines that do not override it keep the whole history (restores stay exact:
        base + every version up to T), so 0 is a correct answer."""
        return 0

    if TYPE_CHECKING:  # every LifecycleStorage is also a Storage
        param_mark: str

        def transaction(self) -> AbstractContextManager[None]: ...

        def _select(self, sql: str, params: Sequence[Any]) -> list[Any]: ...

        def _keyset(self, base: str, args: list[Any], after: tuple[bytes, bytes] | None, page: int) -> Iterator[Row]: ...


V = TypeVar("V")

# A table's key in the engine's cache: (region, name). Tables are regional, as on AWS.
TableKey = tuple[str, str]


class TableCache(dict[TableKey, V]):
    """The engine's per-process table cache ((region, name) -> table), kept in step with a
    storage that other processes share (``Storage.shared``): it re-reads the catalog
    when ``catalog_version()`` moved (another process created, changed or deleted a
    table) and, on a miss, asks the database whether it did. For a storage that is
    not shared it is a plain dict. A lookup is one dict lookup, whatever the number of
    regions and tables."""

    def __init__(self, storage: Storage, build: Callable[[TableRow], V]) -> None:
        super().__init__()
        self._storage = storage
        self._build = build
        self._version = -1
        if storage.shared:
            self.reload()
        else:
            super().update(((row.region, row.name), build(row)) for row in storage.list_tables())

    def reload(self) -> None:
        # The version first: a change racing the read leaves it behind, so the
        # next lookup reloads again rather than missing the change.
        self._version = self._storage.catalog_version(fresh=True)
        rows = self._storage.list_tables()
        super().clear()
        super().update(((row.region, row.name), self._build(row)) for row in rows)

    def _sync(self, missing: bool = False) -> None:
        if self._storage.shared and self._storage.catalog_version(fresh=missing) != self._version:
            self.reload()

    def get(self, key: TableKey, default: Any = None) -> Any:  # type: ignore[override]
        self._sync()
        value = super().get(key)
        if value is None and self._storage.shared:
            self._sync(missing=True)
            value = super().get(key)
        return default if value is None else value

    def __contains__(self, key: object) -> bool:
        return isinstance(key, tuple) and self.get(key) is not None  # type: ignore[arg-type]

    def __getitem__(self, key: TableKey) -> V:
        value = self.get(key)
        if value is None:
            raise KeyError(key)
        return value  # type: ignore[no-any-return]

    def __iter__(self) -> Iterator[TableKey]:
        self._sync()
        return super().__iter__()

    def __len__(self) -> int:
        self._sync()
        return super().__len__()

    def names(self, region: str) -> list[str]:
        """The names of ``region``'s tables, sorted (ListTables)."""
        return sorted(name for r, name in self if r == region)
