"""The shared core of the DynamoDB engine: table cache, keys, the write path
(base row + index rows + write hooks in one storage transaction) and
consumed-capacity accounting."""

from __future__ import annotations

import asyncio
import logging
import math
import os
import pickle
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, NoReturn

import orjson

from emulator.dynamodb import keys as keycodec
from emulator.dynamodb.storage.base import Storage, TableCache, TableKey
from emulator.dynamodb.tables import (
    Index,
    Table,
    check_table_name,
    invalid,
    params_invalid,
)
from emulator.dynamodb.types import item_size, type_of, validate_value
from emulator.dynamodb.vector_store import VectorCache, maintain
from emulator.errors import AwsError
from emulator.threads import shorten_switch_interval

log = logging.getLogger("emulator.dynamodb")

Item = dict[str, Any]
# Called inside the write transaction with (table, old item or None, new item or None).
WriteHook = Callable[[Table, Item | None, Item | None], None]

MAX_ITEM_SIZE = 400 * 1024
MAX_HASH_KEY = 2048
MAX_RANGE_KEY = 1024
ITEM_COLLECTION_LIMIT = 10 * 1024**3
# An fsync of the WAL measured under this runs on the event loop itself. On a local
# SSD an fsync is short, and the hand-off to the fsync thread and back (waking the thread,
# the GIL passed both ways, the loop woken again) costs more CPU than the loop waits for
# it: with this and the one-pass wait of ``_flush``, PutItem from 16 clients took 186 ->
# 151 µs of server CPU (bench/RESULTS.md, "DynamoDB, durable writes"). A slower disk, or a
# slow spell of this one, moves the fsyncs to the thread, where the loop keeps serving
# while the disk works; measured there too, they come back once the disk is fast again.
INLINE_SYNC_SECONDS = 0.0005  # EngineCore.inline_sync_seconds


def not_found(message: str = "Requested resource not found") -> AwsError:
    return AwsError("ResourceNotFoundException", message, 400)


def dumps(item: Item) -> bytes:
    """The stored form of an item (or a stream/history record).

    JSON (orjson) when the value holds only what JSON can hold exactly: dicts, lists, str,
    bool, None -- every item without B or BS attributes (numbers are kept as text). Those
    bytes are also the item as the JSON protocol sends it, so reads can put them into a
    response unparsed (``raw_item``). Anything else (bytes: B and BS values) is pickled;
    pickle keeps bytes as bytes, and the data file is only ever written by us. The first
    byte tells the two apart: ``{`` for JSON, 0x80 for pickle (rows written before JSON was
    used are all pickles).
    """
    try:
        return orjson.dumps(item)
    except TypeError:  # bytes (B, BS), or anything else JSON cannot carry
        return pickle.dumps(item, protocol=5)


def loads(data: bytes) -> Item:
    if data[:1] == b"{":
        json_item: Item = orjson.loads(data)
        return json_item
    item: Item = pickle.loads(data)
    return item


def raw_item(data: bytes) -> Item | orjson.Fragment:
    """A stored item as output: the stored JSON itself when it is JSON (orjson embeds a
    Fragment as it is, so the item is neither decoded nor encoded again), else the item."""
    return orjson.Fragment(data) if data[:1] == b"{" else loads(data)


@dataclass
class ItemKey:
    pk: bytes
    sk: bytes
    item: Item  # the key attributes only


def _key_value_problem(name: str, av: Any, typ: str) -> None:
    if typ == "S" and av["S"] == "":
        raise invalid(f"One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty string value. Key: {name}")
    if typ == "B" and len(av["B"]) == 0:
        raise invalid(f"One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty binary value. Key: {name}")


def _raw_len(av: dict[str, Any], typ: str) -> int:
    if typ == "S":
        return len(av["S"].encode("utf-8"))
    if typ == "B":
        return len(av["B"])
    return 0


def _index_key_too_large(idx: Index, name: str, limit: int) -> AwsError:
    """The table key's message for an index key value over its limit, naming the index and attribute."""
    if limit == MAX_HASH_KEY:
        return params_invalid(f"Size of hashkey has exceeded the maximum size limit of{MAX_HASH_KEY} bytes IndexName: {idx.name}, IndexKey: {name}")
    return params_invalid(f"Aggregated size of all range keys has exceeded the size limit of {MAX_RANGE_KEY} bytes IndexName: {idx.name}, IndexKey: {name}")


# The region the request being served was signed for (its SigV4 credential scope), set by
# the handlers around each call: tables are regional, as on AWS, so every lookup by name is
# in this region. Callers in the process that set none get the engine's own region.
REGION: ContextVar[str | None] = ContextVar("dynamodb_region", default=None)


def split_table_arn(arn: str) -> tuple[str, str, str] | None:
    """(region, account, table name) of a table ARN or of an ARN under a table
    (``.../table/T/index/I``, ``/stream/...``, ``/backup/...``); None if it is none."""
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or parts[2] != "dynamodb" or not parts[5].startswith("table/"):
        return None
    name = parts[5][6:].split("/", 1)[0]
    return (parts[3], parts[4], name) if name else None


def table_key(ref: Any, region: str, cross_region: bool = False) -> TableKey | None:
    """The cache key (region, name) of the table a request names in ``region``: a name is
    one of ``region``'s tables; a table ARN names its own region's, which must be ``region``
    (a table of another region is not visible from this one, as on AWS) unless
    ``cross_region`` (RestoreTableToPointInTime's SourceTableArn). None: no table."""
    if not isinstance(ref, str):
        return None
    if not ref.startswith("arn:"):
        return region, ref
    found = split_table_arn(ref)
    if found is None or (found[0] != region and not cross_region):
        return None
    return found[0], found[2]


def ref_name(ref: Any) -> Any:
    """The table name in a reference (a name or a table ARN), for messages and validation."""
    if isinstance(ref, str) and ref.startswith("arn:"):
        found = split_table_arn(ref)
        return found[2] if found is not None else ref.split(":table/", 1)[-1].split("/", 1)[0]
    return ref


# Every Capacity made while a list is set here is recorded in it: the handler
# reports what a request consumed to the gateway's capacity limiter and telemetry.
USAGE: ContextVar[list[Capacity] | None] = ContextVar("dynamodb_usage", default=None)


@dataclass
class Capacity:
    """Capacity units consumed by one request on one table."""

    table: str
    read: float = 0.0
    write: float = 0.0
    indexes: dict[str, tuple[str, float, float]] = field(default_factory=dict)  # name -> (kind, read, write)
    # Vector index name -> VectorWriteRequestBytes (the vectors written to or removed from it).
    vectors: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        usage = USAGE.get()
        if usage is not None:
            usage.append(self)

    @property
    def read_total(self) -> float:
        return self.read + sum(r for _, r, _ in self.indexes.values())

    @property
    def write_total(self) -> float:
        return self.write + sum(w for _, _, w in self.indexes.values())

    def add_index(self, index: Index, read: float = 0.0, write: float = 0.0) -> None:
        kind, r, w = self.indexes.get(index.name, (index.kind, 0.0, 0.0))
        self.indexes[index.name] = (kind, r + read, w + write)

    def add_read(self, index: Index | None, units: float) -> None:
        """Read units of a Query, Scan or GetItem: the table's, or the index's it read."""
        if index is None:
            self.read += units
        else:
            self.add_index(index, read=units)

    def merge(self, other: Capacity) -> None:
        self.read += other.read
        self.write += other.write
        for name, (kind, r, w) in other.indexes.items():
            _k0, r0, w0 = self.indexes.get(name, (kind, 0.0, 0.0))
            self.indexes[name] = (kind, r0 + r, w0 + w)
        for name, size in other.vectors.items():
            self.vectors[name] = self.vectors.get(name, 0.0) + size

    def render(self, mode: str | None) -> dict[str, Any] | None:
        if mode not in ("TOTAL", "INDEXES"):
            return None
        index_total = sum(r + w for _, r, w in self.indexes.values())
        out: dict[str, Any] = {"TableName": self.table, "CapacityUnits": self.read + self.write + index_total}
        r_total = self.read + sum(r for _, r, _ in self.indexes.values())
        w_total = self.write + sum(w for _, _, w in self.indexes.values())
        if r_total:
            out["ReadCapacityUnits"] = r_total
        if w_total:
            out["WriteCapacityUnits"] = w_total
        if mode == "INDEXES":
            out["Table"] = _units(self.read, self.write)
            gsis = {n: _units(r, w) for n, (k, r, w) in self.indexes.items() if k == "GSI"}
            lsis = {n: _units(r, w) for n, (k, r, w) in self.indexes.items() if k == "LSI"}
            if gsis:
                out["GlobalSecondaryIndexes"] = gsis
            if lsis:
                out["LocalSecondaryIndexes"] = lsis
            if self.vectors:
                out["VectorIndexes"] = {n: {"VectorWriteRequestBytes": b} for n, b in self.vectors.items()}
        return out


def _units(read: float, write: float) -> dict[str, float]:
    out = {"CapacityUnits": read + write}
    if read:
        out["ReadCapacityUnits"] = read
    if write:
        out["WriteCapacityUnits"] = write
    return out


def read_units(size: int, consistent: bool) -> float:
    """Reads are billed per 4 KB (rounded up); eventually consistent reads cost half."""
    units = float(max(1, math.ceil(size / 4096)))
    return units if consistent else units / 2


def write_units(size: int) -> float:
    """Writes are billed per 1 KB (rounded up), at least one unit."""
    return float(max(1, math.ceil(size / 1024)))


def check_return_consumed(mode: Any) -> str | None:
    if mode is None or mode == "NONE":
        return None
    if mode not in ("TOTAL", "INDEXES"):
        raise invalid(
            f"1 validation error detected: Value '{mode}' at 'returnConsumedCapacity' failed to satisfy constraint: Member must satisfy enum value set: [INDEXES, TOTAL, NONE]"
        )
    return str(mode)


class EngineCore:
    def __init__(self, storage: Storage, region: str = "us-east-1", account_id: str = "000000000000") -> None:
        self.storage = storage
        self.region = region
        self.account_id = account_id
        self.tables: dict[TableKey, Table] = {}
        self.write_hooks: list[WriteHook] = []
        self._flush_scheduled = False
        self._flush_waited = False
        self._waiters: list[asyncio.Future[bool]] = []
        # Durable SQLite: the COMMIT itself runs on the loop (no fsync, ~30 us) and the
        # fsync of the WAL runs after it: on the loop when the disk is fast (under
        # INLINE_SYNC_SECONDS), else on this one thread (it releases the GIL), so the
        # loop keeps serving while a slow disk works. A request is answered once an
        # fsync that started after its commit (or read) has finished. Every fsync
        # covers all the groups committed before it: one fsync per disk round trip,
        # however many requests arrive meanwhile.
        self._offload = bool(getattr(storage, "own_sync", False))
        # An fsync measured under this runs on the loop (0: always on the thread).
        self.inline_sync_seconds = INLINE_SYNC_SECONDS if getattr(storage, "sync_may_run_inline", False) else 0.0
        self._sync_seconds = 0.0  # the recent fsyncs' duration: up at once, down gradually
        self._executor: ThreadPoolExecutor | None = None
        self._syncing = False
        self._sync_waiters: list[asyncio.Future[bool]] = []
        limit = os.environ.get("EMULATOR_DYNAMODB_ITEM_COLLECTION_LIMIT")
        self.item_collection_limit = int(limit) if limit else ITEM_COLLECTION_LIMIT
        # The matrices SearchVectors compares against (emulator/dynamodb/vector_store.py).
        self.vector_cache = VectorCache()

    # -------------------------------------------------------- group commit
    def begin_group(self) -> None:
        """Let the next writes on the event loop join one group commit (one fsync for
        all requests handled in the same loop iteration). Only call from the loop."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        self.storage.begin_group()
        if self.storage.group_open and not self._flush_scheduled:
            self._flush_scheduled = True
            loop.call_soon(self._flush)

    @property
    def settled(self) -> bool:
        """True when ``durable()`` would return False at once (no group open, no fsync
        running or awaited): a read then need not make and await its coroutine."""
        return not (self.storage.group_open or self._syncing or self._sync_waiters)

    async def durable(self) -> bool:
        """Wait until everything this request may have written or read is committed;
        True if an fsync on the worker thread released it (the answer is then best
        written at once: emulator/uvicorn_send.py), False if it did not wait or was
        released on the loop (a group commit, an fsync run there).

        No answer leaves before the data it reflects is durable, so a crash can
        lose only writes that were never acknowledged, and no reader sees them."""
        if self.storage.group_open:
            loop = asyncio.get_running_loop()
            waiter: asyncio.Future[bool] = loop.create_future()
            self._waiters.append(waiter)
            if not self._flush_scheduled:
                self._flush_scheduled = True
                loop.call_soon(self._flush)
            return await waiter
        if self._syncing or self._sync_waiters:
            # Committed but maybe not yet on disk: wait for the next fsync.
            waiter = asyncio.get_running_loop().create_future()
            self._sync_waiters.append(waiter)
            return await waiter
        return False

    def _flush(self) -> None:
        if not self._flush_waited:
            # One loop pass more: requests whose tasks were scheduled in the same pass as
            # the group's first writer reach their writes and join this commit, instead of
            # each cohort of a busy server paying an fsync of its own. Only once, so a
            # group waits one pass at most.
            self._flush_waited = True
            asyncio.get_running_loop().call_soon(self._flush)
            return
        self._flush_waited = False
        self._flush_scheduled = False
        waiters, self._waiters = self._waiters, []
        try:
            self.storage.commit_group(sync=not self._offload)
        except Exception:
            log.exception("DynamoDB group commit failed")
            self._finish(waiters, False, False)
            return
        if not self._offload:
            self._finish(waiters, True, False)
            return
        self._sync_waiters += waiters
        if self._syncing:
            return  # the thread's fsync in flight ends, then one covers these
        if self._sync_seconds < self.inline_sync_seconds:
            batch, self._sync_waiters = self._sync_waiters, []
            ok, seconds = self._sync()
            self._note_sync(seconds)
            self._finish(batch, ok, False)
            return
        self._start_sync()

    def _start_sync(self) -> None:
        batch, self._sync_waiters = self._sync_waiters, []
        self._syncing = True
        if self._executor is None:
            self._executor = ThreadPoolExecutor(1, thread_name_prefix="ddb-fsync")
            # When the fsync returns, its thread needs the GIL back from the busy event loop.
            shorten_switch_interval()
        task = asyncio.get_running_loop().run_in_executor(self._executor, self._sync)
        task.add_done_callback(lambda t: self._synced(batch, *t.result()))

    def _sync(self) -> tuple[bool, float]:
        """fsync what is committed; (whether it succeeded, how long it took)."""
        start = time.perf_counter()
        try:
            self.storage.sync_wal()
        except Exception:
            log.exception("DynamoDB WAL fsync failed")
            return False, time.perf_counter() - start
        return True, time.perf_counter() - start

    def _note_sync(self, seconds: float) -> None:
        # One slow fsync sends the next ones to the thread at once; fast ones bring them
        # back to the loop gradually (a 5 ms stall: after ~8 fast fsyncs).
        previous = self._sync_seconds
        self._sync_seconds = seconds if seconds > previous else 0.75 * previous + 0.25 * seconds

    def _synced(self, batch: list[asyncio.Future[bool]], ok: bool, seconds: float) -> None:
        self._syncing = False
        self._note_sync(seconds)
        self._finish(batch, ok, True)
        if self._sync_waiters:
            self._start_sync()

    @staticmethod
    def _finish(waiters: list[asyncio.Future[bool]], ok: bool, offloaded: bool) -> None:
        for w in waiters:
            if not w.done():
                if ok:
                    w.set_result(offloaded)
                else:
                    w.set_exception(AwsError("InternalServerError", "Internal server error", 500))

    # ---------------------------------------------------------- lifecycle
    def open(self) -> None:
        self.storage.open()
        # A dict that also follows tables other processes sharing the storage change.
        self.tables = TableCache(self.storage, lambda row: Table.from_meta(row.table_id, row.meta, row.region))

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True)  # an fsync in flight ends first
            self._executor = None
        self.storage.commit_group()
        self.storage.close()

    def health(self) -> dict[str, Any]:
        out: dict[str, Any] = {"state": "running", "storage": self.storage.name, "tables": len(self.tables)}
        if self._offload:
            # Where acknowledged writes are made durable, and how long that takes lately.
            on_loop = self._sync_seconds < self.inline_sync_seconds
            out["durability"] = {"fsync": "event loop" if on_loop else "worker thread", "recent_fsync_ms": round(self._sync_seconds * 1000, 3)}
        return out

    # ------------------------------------------------------------- tables
    def current_region(self) -> str:
        """The region of the request being served (the engine's own outside of one)."""
        return REGION.get() or self.region

    def find_table(self, ref: Any, region: str | None = None, cross_region: bool = False) -> Table | None:
        """The table ``ref`` (a name or a table ARN) names in ``region`` (default: the
        request's; see ``table_key``), or None. One dict lookup."""
        if region is None:
            region = REGION.get()
            if region is None:
                # Not serving a request (a caller in the process): an ARN names its own region.
                region, cross_region = self.region, True
        key = table_key(ref, region, cross_region)
        return None if key is None else self.tables.get(key)

    def table(self, name: Any, member: str = "tableName", region: str | None = None) -> Table:
        """The table a data-plane request names (a name or a table ARN) in ``region``
        (default: the request's)."""
        if type(name) is str and region is None and not name.startswith("arn:"):
            # The hot path (every item operation): one dict lookup.
            table = self.tables.get((REGION.get() or self.region, name))
        else:
            table = self.find_table(name, region)
        if table is None:
            check_table_name(ref_name(name), member)
            raise not_found()
        return table

    def save_table(self, table: Table) -> None:
        self.storage.update_table(table.table_id, table.to_meta())

    # --------------------------------------------------------------- keys
    def key_from_item(self, table: Table, item: Item) -> ItemKey:
        parts: list[bytes] = []
        key_item: Item = {}
        for name, typ, limit in ((table.hash_key, table.hash_type, MAX_HASH_KEY), (table.range_key, table.range_type, MAX_RANGE_KEY)):
            if name is None or typ is None:
                parts.append(b"")
                continue
            av = item.get(name)
            if av is None:
                raise params_invalid(f"Missing the key {name} in the item")
            if typ == "S" and type(av) is dict and len(av) == 1 and type(text := av.get("S")) is str and text:
                # The common string key: its UTF-8 made once, for the size limit and the
                # encoding (the checks below, on this value, come to the same).
                raw = text.encode("utf-8")
                if len(raw) > limit:
                    self._check_key_size(name, av, typ, limit, name == table.hash_key)
                parts.append(keycodec.encode_bytes(raw))
                key_item[name] = av
                continue
            actual = type_of(av)
            if actual != typ:
                raise params_invalid(f"Type mismatch for key {name} expected: {typ} actual: {actual}")
            _key_value_problem(name, av, typ)
            self._check_key_size(name, av, typ, limit, name == table.hash_key)
            parts.append(keycodec.encode_key_value(av))
            key_item[name] = av
        return ItemKey(parts[0], parts[1], key_item)

    @staticmethod
    def _schema_mismatch(key: Any) -> NoReturn:
        # DynamoDB judges the values (a number it cannot read, an empty set) before the schema.
        for av in key.values() if isinstance(key, dict) else ():
            validate_value(av)
        raise invalid("The provided key element does not match the schema")

    def key_from_key(self, table: Table, key: Any) -> ItemKey:
        names = table.key_names
        if not isinstance(key, dict) or len(key) != len(names):
            self._schema_mismatch(key)
        for n in names:
            if n not in key:
                self._schema_mismatch(key)
        parts: list[bytes] = []
        for name, typ, limit in ((table.hash_key, table.hash_type, MAX_HASH_KEY), (table.range_key, table.range_type, MAX_RANGE_KEY)):
            if name is None or typ is None:
                parts.append(b"")
                continue
            av = key[name]
            if typ == "S" and type(av) is dict and len(av) == 1 and type(text := av.get("S")) is str and text:
                # The common string key (GetItem, DeleteItem, ...): its UTF-8 made once, for
                # the size limit and the encoding; the checks below come to the same on it.
                raw = text.encode("utf-8")
                if len(raw) > limit:
                    self._check_key_size(name, av, typ, limit, name == table.hash_key)
                parts.append(keycodec.encode_bytes(raw))
                continue
            validate_value(av)  # a malformed number is refused as such, as are 39 significant digits
            if type_of(av) != typ or not isinstance(av[typ], str | bytes):
                raise invalid("The provided key element does not match the schema")
            _key_value_problem(name, av, typ)
            self._check_key_size(name, av, typ, limit, name == table.hash_key)
            try:
                parts.append(keycodec.encode_key_value(av))
            except ValueError as exc:
                raise invalid("The provided key element does not match the schema") from exc
        return ItemKey(parts[0], parts[1], {n: key[n] for n in names})

    @staticmethod
    def _check_key_size(name: str, av: dict[str, Any], typ: str, limit: int, is_hash: bool) -> None:
        if _raw_len(av, typ) > limit:
            if is_hash:
                raise params_invalid(f"Size of hashkey has exceeded the maximum size limit of{MAX_HASH_KEY} bytes")
            raise params_invalid(f"Aggregated size of all range keys has exceeded the size limit of {MAX_RANGE_KEY} bytes")

    def check_index_keys(self, table: Table, item: Item) -> None:
        """Index key attributes present in an item must have the index's key type, and
        their values the key size limits (2048 bytes for a partition key, 1024 for a sort
        key, counted as for the table's key: UTF-8 bytes of an S, bytes of a B; an N never
        comes near them). Absent ones are fine (the item is not in that index)."""
        for idx in table.indexes:
            for name, typ, limit in ((idx.hash_key, idx.hash_type, MAX_HASH_KEY), (idx.range_key, idx.range_type, MAX_RANGE_KEY)):
                if name is None:
                    continue
                av = item.get(name)
                if av is None:
                    continue
                actual = type_of(av)
                if actual != typ:
                    raise params_invalid(f"Type mismatch for Index Key {name} Expected: {typ} Actual: {actual} IndexName: {idx.name}")
                if (typ == "S" and av["S"] == "") or (typ == "B" and len(av["B"]) == 0):
                    raise invalid(
                        "One or more parameter values are not valid. A value specified for a secondary index key is not supported. "
                        f"The AttributeValue for a key attribute cannot contain an empty {'string' if typ == 'S' else 'binary'} value. IndexName: {idx.name}, IndexKey: {name}"
                    )
                if typ != "N" and len(av[typ]) * 4 > limit and _raw_len(av, typ) > limit:
                    # (A character is at most 4 bytes of UTF-8: a short string is not measured.)
                    raise _index_key_too_large(idx, name, limit)

    def index_row_key(self, table: Table, idx: Index, item: Item, base: ItemKey | tuple[bytes, bytes]) -> tuple[bytes, bytes] | None:
        """(pk, sk) of the item's row in an index, or None when the item is not in it (sparse)."""
        hv = item.get(idx.hash_key)
        if hv is None or type_of(hv) != idx.hash_type:
            return None
        sk = b""
        if idx.range_key is not None:
            rv = item.get(idx.range_key)
            if rv is None or type_of(rv) != idx.range_type:
                return None
            sk = keycodec.encode_key_value(rv)
        bpk, bsk = (base.pk, base.sk) if isinstance(base, ItemKey) else base
        return keycodec.encode_key_value(hv), sk + bpk + bsk

    @staticmethod
    def project(idx: Index, item: Item) -> Item:
        if idx.projected is None:
            return item
        return {k: v for k, v in item.items() if k in idx.projected}

    def check_item_size(self, item: Item) -> int:
        return self.check_size(item_size(item))

    @staticmethod
    def check_size(size: int) -> int:
        if size > MAX_ITEM_SIZE:
            raise invalid("Item size has exceeded the maximum allowed size")
        return size

    # ------------------------------------------------------------ reading
    def get_item_raw(self, table: Table, key: ItemKey) -> Item | None:
        data = self.storage.get(table.table_id, 0, key.pk, key.sk)
        return None if data is None else loads(data)

    def get_item_sized(self, table: Table, key: ItemKey) -> tuple[Item | None, int]:
        """The item (None when missing) and its size as DynamoDB counts it (0 when missing)."""
        item, size = self.read_item(table, key)
        return item, size

    def read_item(self, table: Table, key: ItemKey, proj: Any = None, raw: bool = False) -> tuple[Any, int]:
        """The item as a read answers it (None when missing) and its stored size (0 when
        missing): projected by ``proj`` when given; else, with ``raw``, as ``raw_item`` gives it."""
        row = self.storage.get_sized(table.table_id, 0, key.pk, key.sk)
        if row is None:
            return None, 0
        data, size = row
        if raw and proj is None and size is not None:
            return raw_item(data), size
        item = loads(data)
        if size is None:
            size = item_size(item)
        return (proj.apply(item) if proj is not None else item), size

    # ------------------------------------------------------------ writing
    def write(
        self,
        table: Table,
        key: ItemKey,
        old: Item | None,
        new: Item | None,
        capacity: Capacity | None = None,
        factor: float = 1.0,
        new_size: int | None = None,
        old_size: int | None = None,
        replicate: bool = True,
    ) -> None:
        """Replace ``old`` by ``new`` (None: delete) in the base table and every
        index, and (``replicate``) in every other replica of a global table. Must run
        inside ``storage.transaction()``."""
        st = self.storage
        tid = table.table_id
        if new is None:
            new_size = 0
            if old is not None:
                st.delete(tid, 0, key.pk, key.sk)
        else:
            if new_size is None:
                new_size = item_size(new)
            st.put(tid, 0, key.pk, key.sk, dumps(new), new_size)
        if capacity is not None:
            if old is None:
                old_size = 0
            elif old_size is None:
                old_size = item_size(old)
            capacity.write += write_units(max(old_size, new_size)) * factor
        for idx in table.indexes:
            okey = self.index_row_key(table, idx, old, key) if old is not None else None
            nkey = self.index_row_key(table, idx, new, key) if new is not None else None
            if okey is None and nkey is None:
                continue
            oproj = self.project(idx, old) if okey is not None and old is not None else None
            nproj = self.project(idx, new) if nkey is not None and new is not None else None
            units = 0.0
            if okey is not None and okey != nkey:
                st.delete(tid, idx.index_id, okey[0], okey[1])
                units += write_units(item_size(oproj or {}))
            if nkey is not None and nproj is not None:
                if okey == nkey and oproj == nproj:
                    continue
                size = item_size(nproj)
                st.put(tid, idx.index_id, nkey[0], nkey[1], dumps(nproj), size)
                units += write_units(max(size, item_size(oproj) if okey == nkey and oproj is not None else 0))
            if capacity is not None and units:
                capacity.add_index(idx, write=units * factor)
        if table.vectors:  # a table without vector indexes pays this one check
            maintain(st, self.vector_cache, table, key.pk, key.sk, old, new, dumps, capacity)
        if new is not None and table.lsis:
            size = st.partition_size(tid, [0, *(i.index_id for i in table.lsis.values())], key.pk)
            if size > self.item_collection_limit:
                raise AwsError("ItemCollectionSizeLimitExceededException", "Item collection size limit exceeded.", 400)
        for hook in self.write_hooks:
            hook(table, old, new)
        if table.replicas and replicate:  # a plain table pays this one check
            self.replicate(table, key, new)

    def replicate(self, table: Table, key: ItemKey, new: Item | None) -> None:
        """Apply a change made to ``table`` to the other replicas of its global table, in
        the same storage transaction (so every replica commits it or none does: an
        acknowledged write is in every region, as in AWS's multi-Region strong consistency
        mode). Each replica's own indexes, stream and Kinesis destinations see it as a
        write of that table (the hooks run there too). Conditions were evaluated where the
        write was made; capacity is the writer's."""
        for region, entry in table.replicas.items():
            if region == table.region or entry.get("status") == "DELETING":
                continue
            replica = self.tables.get((region, table.name))
            # A table of the same name made in that region after its replica left is not one.
            if replica is None or table.region not in replica.replicas:
                continue
            old = self.get_item_raw(replica, key)
            if old is None and new is None:
                continue
            self.write(replica, key, old, new, replicate=False)

    def item_collection_metrics(self, table: Table, key: ItemKey) -> dict[str, Any] | None:
        """Only tables with local secondary indexes have item collections worth reporting."""
        if not table.lsis:
            return None
        size = self.storage.partition_size(table.table_id, [0, *(i.index_id for i in table.lsis.values())], key.pk)
        gb = size / 1024**3
        low = math.floor(gb)
        return {"ItemCollectionKey": {table.hash_key: key.item[table.hash_key]}, "SizeEstimateRangeGB": [float(low), float(low + 1)]}
