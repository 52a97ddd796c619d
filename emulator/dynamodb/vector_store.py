"""The rows of vector indexes and the per-process matrices searched over them.

A vector index keeps one row per indexed item in the items table, under the index's own
index id (as a GSI does): pk is the item's HASH search-schema value (key-encoded; empty
when the index has no HASH element), sk the item's base key. So the index is written by
``EngineCore.write`` in the item's own transaction, whatever wrote the item (Put, Update,
Delete, batches, transactions, PartiQL, TTL, replicas), survives restarts, and needs no
schema change on either storage engine.

A row holds the vector as float32 bytes ahead of the projected item, so building a
partition's matrix reads the vectors without decoding any item::

    b"V" | u32 dimensions | u32 filter length | f32 * dimensions | filters (JSON) | item (core.dumps)

Each process keeps, per partition, the matrix of its vectors (``VectorCache``): a write
that changes a row marks that row of the matrix stale, and the next search reads the
stale rows again from the storage (so a rolled-back write leaves nothing behind: the row
read is what the storage holds). A storage other processes share (PostgreSQL) may be
written by them at any time: there a kept matrix is used only while the partition's
fingerprint (row count and the sum of the rows' xmin, the transaction that last wrote
each) is the one it was read at; any write, from any process, changes it.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import orjson

from emulator.dynamodb import keys as keycodec
from emulator.dynamodb.storage.base import Storage
from emulator.dynamodb.types import item_size, type_of
from emulator.dynamodb.vector_schema import VectorIndex
from emulator.errors import AwsError

Item = dict[str, Any]
_HEADER = struct.Struct("<cII")
F32_MAX = float(np.finfo(np.float32).max)


def _params_invalid(message: str) -> AwsError:
    return AwsError("ValidationException", "One or more parameter values were invalid: " + message, 400)


def parse_vector(av: Any, dims: int) -> np.ndarray | None:
    """The float32 vector of a DynamoDB list of numbers with ``dims`` elements, or None when
    ``av`` is not one (another type, another length, a value outside float32's range)."""
    if not isinstance(av, dict) or "L" not in av or len(av) != 1:
        return None
    elements = av["L"]
    if not isinstance(elements, list) or len(elements) != dims:
        return None
    out = np.empty(dims, dtype=np.float32)
    try:
        for i, element in enumerate(elements):
            text = element["N"]
            value = float(text)
            if not math.isfinite(value) or abs(value) > F32_MAX:
                return None
            out[i] = value
    except (KeyError, TypeError, ValueError):
        return None
    return out


def _vector_problem(vec: VectorIndex, av: Any) -> AwsError:
    actual = type_of(av) if isinstance(av, dict) and len(av) == 1 else "unknown"
    detail = f"Actual: {actual}"
    if actual == "L":
        detail = f"Actual: L of {len(av['L'])} elements" if all(isinstance(e, dict) and "N" in e for e in av["L"]) else "Actual: L with non-number elements"
    return _params_invalid(
        f"Invalid vector for Vector Index attribute {vec.attribute} Expected: L of {vec.dimensions} numbers that fit a 32-bit float (f32) {detail} IndexName: {vec.name}"
    )


def check_item(vec: VectorIndex, item: Item) -> np.ndarray | None:
    """Validate what of ``item`` the index covers (as DynamoDB does on every write to a table
    with vector indexes) and return its vector (None: the item has no vector attribute)."""
    for name, _role, typ in vec.schema:
        av = item.get(name)
        if av is None:
            continue
        actual = type_of(av)
        if actual != typ:
            raise _params_invalid(f"Type mismatch for Index Key {name} Expected: {typ} Actual: {actual} IndexName: {vec.name}")
        if (typ == "S" and av["S"] == "") or (typ == "B" and len(av["B"]) == 0):
            raise AwsError(
                "ValidationException",
                "One or more parameter values are not valid. A value specified for a secondary index key is not supported. "
                f"The AttributeValue for a key attribute cannot contain an empty {'string' if typ == 'S' else 'binary'} value. IndexName: {vec.name}, IndexKey: {name}",
                400,
            )
    av = item.get(vec.attribute)
    if av is None:
        return None
    vector = parse_vector(av, vec.dimensions)
    if vector is None:
        raise _vector_problem(vec, av)
    return vector


def partition_key(vec: VectorIndex, item: Item) -> bytes | None:
    """The pk of ``item``'s row in the index, or None when the item is not in it: no vector
    attribute, or no HASH value where the index is partitioned (sparse, as GSIs are)."""
    if vec.attribute not in item:
        return None
    hash_key = vec.hash_key
    if hash_key is None:
        return b""
    av = item.get(hash_key[0])
    if av is None or type_of(av) != hash_key[1]:
        return None
    return keycodec.encode_key_value(av)


def filter_token(av: dict[str, Any]) -> str:
    """The form an INLINE_FILTER value is compared in: its key encoding (numbers equal
    whatever their spelling, as in key conditions)."""
    return keycodec.encode_key_value(av).hex()


def project(vec: VectorIndex, item: Item) -> Item:
    if vec.projected is None:
        return item
    return {k: v for k, v in item.items() if k in vec.projected}


def encode_row(vec: VectorIndex, vector: np.ndarray, item: Item, dumps: Any) -> tuple[bytes, int]:
    """(data, size) of an item's index row; ``dumps`` is core.dumps (the stored item form)."""
    filters = {name: filter_token(item[name]) for name, _typ in vec.filters if name in item and type_of(item[name]) in ("S", "N", "B")}
    fj = orjson.dumps(filters)
    proj = project(vec, item)
    data = _HEADER.pack(b"V", vec.dimensions, len(fj)) + vector.astype(np.float32).tobytes() + fj + dumps(proj)
    return data, item_size(proj)


def row_item_bytes(data: bytes) -> bytes:
    """The stored projected item of a row (core.loads / core.raw_item reads it)."""
    _tag, dims, flen = _HEADER.unpack_from(data, 0)
    return data[_HEADER.size + 4 * dims + flen :]


def maintain(
    storage: Storage, cache: VectorCache, table: Any, pk: bytes, sk: bytes, old: Item | None, new: Item | None, dumps: Any, capacity: Any = None
) -> None:
    """Replace ``old`` by ``new`` in every vector index of ``table`` (inside the write's
    transaction). Validates ``new`` first: a write DynamoDB would refuse fails here whole.
    ``capacity`` (core.Capacity) records the vector bytes written to or removed from each
    index (ConsumedCapacity's VectorWriteRequestBytes)."""
    checked: list[tuple[VectorIndex, np.ndarray | None]] = []
    if new is not None:
        checked = [(vec, check_item(vec, new)) for vec in table.vectors.values()]
    else:
        checked = [(vec, None) for vec in table.vectors.values()]
    base = pk + sk
    tid = table.table_id
    for vec, vector in checked:
        opk = partition_key(vec, old) if old is not None else None
        npk = partition_key(vec, new) if new is not None and vector is not None else None
        if opk is None and npk is None:
            continue
        if opk == npk and old is not None and new is not None and project(vec, old) == project(vec, new):
            continue  # nothing the index keeps changed: its matrix stays valid too
        if capacity is not None:
            capacity.vectors[vec.name] = capacity.vectors.get(vec.name, 0.0) + 4.0 * vec.dimensions
        if opk is not None and opk != npk:
            storage.delete(tid, vec.index_id, opk, base)
            cache.drop(tid, vec.index_id, opk, base)
        if npk is not None and vector is not None and new is not None:
            data, size = encode_row(vec, vector, new, dumps)
            storage.put(tid, vec.index_id, npk, base, data, size)
            cache.drop(tid, vec.index_id, npk, base)


def backfill(storage: Storage, table: Any, vec: VectorIndex, dumps: Any, loads: Any) -> int:
    """Index every existing item into a new vector index; items the index cannot hold
    (another type or length of vector, a search-schema value of another type) are skipped,
    as a GSI backfill skips items whose key attributes have another type. Returns how many
    items were indexed."""
    indexed = 0
    for row in list(storage.scan(table.table_id, 0)):
        if index_item(storage, table, vec, row.pk, row.sk, loads(row.data), dumps):
            indexed += 1
    return indexed


def index_item(storage: Storage, table: Any, vec: VectorIndex, pk: bytes, sk: bytes, item: Item, dumps: Any) -> bool:
    """Put the row of one existing item (base key ``pk``, ``sk``) into ``vec``, as a backfill
    does: an item the index cannot hold is skipped (False). Restores fill their indexes so."""
    try:
        vector = check_item(vec, item)
    except AwsError:
        return False
    npk = partition_key(vec, item) if vector is not None else None
    if npk is None or vector is None:
        return False
    data, size = encode_row(vec, vector, item, dumps)
    storage.put(table.table_id, vec.index_id, npk, pk + sk, data, size)
    return True


@dataclass
class Partition:
    """The vectors of one partition of one vector index, in sk order."""

    matrix: np.ndarray  # (n, dims) float32
    sks: list[bytes]
    filters: list[dict[str, str]]
    norms: np.ndarray | None = None  # lazily, for COSINE and EUCLIDEAN
    columns: dict[str, np.ndarray] = field(default_factory=dict)  # filter attribute -> tokens
    stale: set[bytes] = field(default_factory=set)  # sks written since the matrix was read
    fingerprint: tuple[int, int] | None = None  # shared storages: see _fingerprint

    def norm(self) -> np.ndarray:
        if self.norms is None:
            self.norms = np.linalg.norm(self.matrix.astype(np.float64), axis=1)
        return self.norms

    def column(self, name: str) -> np.ndarray:
        col = self.columns.get(name)
        if col is None:
            col = np.array([f.get(name, "") for f in self.filters], dtype=object)
            self.columns[name] = col
        return col


class VectorCache:
    """Per-process matrices of vector index partitions, keyed (table id, index id, pk).
    Table and index ids are never reused, so an entry can only be stale through a write,
    and every write drops the entries of the partitions it changes."""

    def __init__(self) -> None:
        self.parts: dict[tuple[int, int, bytes], Partition] = {}

    def drop(self, table_id: int, index_id: int, pk: bytes, sk: bytes | None = None) -> None:
        """Row ``sk`` of a partition changed (None: the whole partition may have)."""
        key = (table_id, index_id, pk)
        part = self.parts.get(key)
        if part is None:
            return
        if sk is None or len(part.stale) >= max(256, len(part.sks) // 4):
            del self.parts[key]  # reading it all again is cheaper than patching
        else:
            part.stale.add(sk)

    def forget(self, table_id: int, index_id: int | None = None) -> None:
        for key in [k for k in self.parts if k[0] == table_id and (index_id is None or k[1] == index_id)]:
            del self.parts[key]

    def clear(self) -> None:
        self.parts.clear()

    def partition(self, storage: Storage, table_id: int, index_id: int, pk: bytes, dims: int) -> Partition:
        key = (table_id, index_id, pk)
        found = self.parts.get(key)
        fingerprint = _fingerprint(storage, key) if storage.shared else None
        if found is not None and found.fingerprint != fingerprint:
            found = None  # written by some process since it was read
        if found is not None:
            if found.stale:
                self._refresh(storage, key, found, dims)
            return found
        sks: list[bytes] = []
        chunks: list[bytes] = []
        filters: list[dict[str, str]] = []
        width = 4 * dims
        for row in storage.query(table_id, index_id, pk):
            data = row.data
            _tag, row_dims, flen = _HEADER.unpack_from(data, 0)
            if row_dims != dims:  # cannot happen: an index's dimensions never change
                continue
            start = _HEADER.size
            chunks.append(data[start : start + width])
            fj = data[start + width : start + width + flen]
            filters.append(orjson.loads(fj) if flen > 2 else {})
            sks.append(row.sk)
        # A bytearray, so the matrix is writable (rows are patched in place by _refresh).
        matrix = np.frombuffer(bytearray(b"".join(chunks)), dtype=np.float32).reshape(len(sks), dims) if sks else np.zeros((0, dims), dtype=np.float32)
        part = Partition(matrix, sks, filters, fingerprint=fingerprint)
        if not storage.shared or fingerprint is not None:
            self.parts[key] = part
        return part

    @staticmethod
    def _refresh(storage: Storage, key: tuple[int, int, bytes], part: Partition, dims: int) -> None:
        """Read the stale rows of a cached partition again and patch its matrix."""
        table_id, index_id, pk = key
        position = {sk: i for i, sk in enumerate(part.sks)}
        removed: list[int] = []
        added: list[tuple[bytes, np.ndarray, dict[str, str]]] = []
        width = 4 * dims
        for sk in sorted(part.stale):
            data = storage.get(table_id, index_id, pk, sk)
            at = position.get(sk)
            if data is None:
                if at is not None:
                    removed.append(at)
                continue
            _tag, _dims, flen = _HEADER.unpack_from(data, 0)
            start = _HEADER.size
            vector = np.frombuffer(data[start : start + width], dtype=np.float32)
            filters = orjson.loads(data[start + width : start + width + flen]) if flen > 2 else {}
            if at is None:
                added.append((sk, vector, filters))
                continue
            part.matrix[at] = vector
            part.filters[at] = filters
            if part.norms is not None:
                part.norms[at] = float(np.linalg.norm(vector.astype(np.float64)))
        part.stale.clear()
        part.columns = {}
        if removed:
            part.matrix = np.delete(part.matrix, removed, axis=0)
            if part.norms is not None:
                part.norms = np.delete(part.norms, removed)
            gone = set(removed)
            part.sks = [sk for i, sk in enumerate(part.sks) if i not in gone]
            part.filters = [f for i, f in enumerate(part.filters) if i not in gone]
        if added:
            part.matrix = np.vstack([part.matrix, np.stack([v for _sk, v, _f in added])])
            if part.norms is not None:
                part.norms = np.concatenate([part.norms, np.linalg.norm(np.stack([v for _sk, v, _f in added]).astype(np.float64), axis=1)])
            part.sks += [sk for sk, _v, _f in added]
            part.filters += [f for _sk, _v, f in added]


def _fingerprint(storage: Storage, key: tuple[int, int, bytes]) -> tuple[int, int] | None:
    """(rows, sum of xmin) of a partition in PostgreSQL, None elsewhere. Every insert,
    update or delete, committed by any process (or made earlier in this one's open
    transaction), changes it: an update gives its row a newer xmin."""
    if storage.name != "postgresql":
        return None
    select = getattr(storage, "_select", None)
    if select is None:
        return None
    rows = select(
        "SELECT count(*), coalesce(sum(xmin::text::bigint), 0) FROM ddb_items WHERE tid = %s AND idx = %s AND pk = %s",
        list(key),
    )
    return (int(rows[0][0]), int(rows[0][1])) if rows else None
