"""Create a table from a saved schema and fill it with saved items: the common
end of RestoreTableFromBackup, RestoreTableToPointInTime and ImportTable."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from emulator.dynamodb.core import ItemKey, dumps, loads, not_found
from emulator.dynamodb.tables import Table
from emulator.dynamodb.vector_schema import VectorIndex, parse_vector_index
from emulator.dynamodb.vector_store import index_item
from emulator.errors import AwsError

if TYPE_CHECKING:
    from emulator.dynamodb.lifecycle import Lifecycle

CHUNK = 2000  # items per transaction; the event loop runs other requests between chunks


async def created_table(engine: Any, create: dict[str, Any], region: str | None = None) -> Table:
    """The table ``create`` (CreateTable input) makes in ``region`` (default: the request's),
    once its creation is durable."""
    region = region or engine.current_region()
    engine.begin_group()
    try:
        engine.create_table(create, region)
        generation = engine.generation
    finally:
        await engine.durable()
    table: Table | None = engine.tables.get((region, create["TableName"]))
    if table is None or engine.generation != generation:
        raise not_found()  # a reset took the new table away meanwhile
    return table


def _index_spec(idx: Any, provisioned: bool) -> dict[str, Any]:
    spec: dict[str, Any] = {"IndexName": idx.name, "KeySchema": idx.key_schema(), "Projection": idx.projection()}
    if provisioned and idx.kind == "GSI":
        spec["ProvisionedThroughput"] = {"ReadCapacityUnits": max(1, idx.read_units), "WriteCapacityUnits": max(1, idx.write_units)}
    return spec


def vector_spec(vec: VectorIndex) -> dict[str, Any]:
    """The VectorIndex (CreateTable) / VectorIndexInfo (DescribeBackup) form of ``vec``."""
    spec: dict[str, Any] = {
        "IndexName": vec.name,
        "VectorAttribute": {"AttributeName": vec.attribute},
        "Dimensions": vec.dimensions,
        "DistanceFunction": vec.distance,
        "Projection": vec.projection(),
    }
    if vec.schema:
        spec["SearchSchema"] = [{"AttributeName": n, "SearchSchemaElementType": r} for n, r, _t in vec.schema]
    return spec


def _definition(vec: VectorIndex) -> tuple[Any, ...]:
    return (vec.attribute, vec.dimensions, vec.distance, [(n, r) for n, r, _t in vec.schema], vec.projection_type, sorted(vec.non_key_attributes))


def _vector_specs(src: Table, override: Any) -> list[dict[str, Any]]:
    """The vector indexes of the restored table: the source's (no override), or those the
    ``VectorIndexOverride`` lists, each of which must be one of the source's, unchanged
    ("The indexes provided must match existing vector indexes from the backup. You can
    choose to exclude some or all of the vector indexes"): an empty list excludes all."""
    if override is None:
        return [vector_spec(v) for v in src.vectors.values()]
    if not isinstance(override, list):
        raise AwsError("ValidationException", "1 validation error detected: Value at 'vectorIndexOverride' failed to satisfy constraint: Member must be a list", 400)
    out: list[dict[str, Any]] = []
    chosen: set[str] = set()
    for n, entry in enumerate(override, 1):
        name = entry.get("IndexName") if isinstance(entry, dict) else None
        source = src.vectors.get(name) if isinstance(name, str) else None
        if source is None:
            # Shape errors first (a missing member is answered as for CreateTable).
            parse_vector_index(entry, dict(src.attribute_definitions), src.key_names, {}, 0, f"vectorIndexOverride.{n}.member")
            raise AwsError(
                "ValidationException",
                f"One or more parameter values were invalid: VectorIndexOverride names vector index {name}, which the source table does not have. "
                f"Vector indexes of the source table: [{', '.join(src.vectors)}]",
                400,
            )
        if source.name in chosen:
            raise AwsError("ValidationException", f"One or more parameter values were invalid: Duplicate index name: {source.name}", 400)
        chosen.add(source.name)
        given = parse_vector_index(entry, dict(src.attribute_definitions), src.key_names, {}, 0, f"vectorIndexOverride.{n}.member")
        if _definition(given) != _definition(source):
            raise AwsError(
                "ValidationException",
                f"One or more parameter values were invalid: Vector index {name} in VectorIndexOverride does not match vector index {name} of the source table "
                "(VectorAttribute, Dimensions, DistanceFunction, SearchSchema and Projection must be the source's)",
                400,
            )
        out.append(vector_spec(source))
    return out


def create_params(meta: dict[str, Any], target: str, params: dict[str, Any]) -> dict[str, Any]:
    """CreateTable input for a restore of the table described by ``meta`` (its
    stored metadata) under the name ``target``, with the request's overrides."""
    src = Table.from_meta(0, meta)
    billing = params.get("BillingModeOverride") or src.billing_mode
    provisioned = billing == "PROVISIONED"
    out: dict[str, Any] = {"TableName": target, "KeySchema": src.key_schema(), "BillingMode": billing}
    if provisioned:
        pt = params.get("ProvisionedThroughputOverride")
        if pt is None:
            if src.billing_mode != "PROVISIONED":
                raise AwsError("ValidationException", "ProvisionedThroughputOverride is required when BillingModeOverride is PROVISIONED", 400)
            pt = {"ReadCapacityUnits": src.read_units, "WriteCapacityUnits": src.write_units}
        out["ProvisionedThroughput"] = pt
    gsis = params.get("GlobalSecondaryIndexOverride")
    if gsis is None:
        gsis = [_index_spec(i, provisioned) for i in src.gsis.values()]
    lsis = params.get("LocalSecondaryIndexOverride")
    if lsis is None:
        lsis = [_index_spec(i, provisioned) for i in src.lsis.values()]
    if gsis:
        out["GlobalSecondaryIndexes"] = gsis
    if lsis:
        out["LocalSecondaryIndexes"] = lsis
    vectors = _vector_specs(src, params.get("VectorIndexOverride"))
    if vectors:
        out["VectorIndexes"] = vectors
    # Attribute types come from the source table's definitions (index overrides
    # may only use attributes the source defined).
    used: list[str] = list(src.key_names)
    for spec in [*gsis, *lsis]:
        for element in spec.get("KeySchema") or []:
            name = element.get("AttributeName")
            if name not in used:
                used.append(name)
    for vspec in vectors:
        for element in vspec.get("SearchSchema") or []:
            if element["AttributeName"] not in used:
                used.append(element["AttributeName"])
    attrs = []
    for name in used:
        typ = src.attribute_definitions.get(name)
        if typ is None:
            raise AwsError("ValidationException", f"One or more parameter values were invalid: Some index key attributes are not defined in AttributeDefinitions. Keys: [{name}]", 400)
        attrs.append({"AttributeName": name, "AttributeType": typ})
    out["AttributeDefinitions"] = attrs
    if params.get("SSESpecificationOverride"):
        out["SSESpecification"] = params["SSESpecificationOverride"]
    return out


async def fill(lc: Lifecycle, table: Table, rows: Iterable[tuple[bytes, bytes, bytes]]) -> tuple[int, int]:
    """Write saved base rows ``(pk, sk, stored item: see core.dumps)`` into ``table`` (and its indexes)."""
    engine = lc.engine
    count = size = 0
    batch: list[tuple[bytes, bytes, bytes]] = []
    generation = engine.generation

    def flush() -> None:
        nonlocal count, size
        if engine.generation != generation:
            raise not_found()  # a reset between two chunks: the table is gone, write no rows for it
        # Vector indexes are filled as a backfill fills them: a saved item the index cannot
        # hold (written before the index existed, with another vector length) is left out
        # of it, where a write would refuse the item. The table's indexes are set aside only
        # within this synchronous chunk, so no other request sees the table without them.
        vectors = table.vectors
        with engine.storage.transaction():
            table.vectors = {}
            try:
                for pk, sk, data in batch:
                    item = loads(data)
                    engine.write(table, ItemKey(pk, sk, {}), None, item)
                    for vec in vectors.values():
                        index_item(engine.storage, table, vec, pk, sk, item, dumps)
                    count += 1
                    size += len(data)
            finally:
                table.vectors = vectors
        if vectors:
            engine.vector_cache.forget(table.table_id)
        batch.clear()

    for row in rows:
        batch.append(row)
        if len(batch) >= CHUNK:
            flush()
            await asyncio.sleep(0)
    if batch:
        flush()
    await engine.durable()
    return count, size


async def restore(lc: Lifecycle, meta: dict[str, Any], target: Any, params: dict[str, Any], rows: Iterable[tuple[bytes, bytes, bytes]], summary: dict[str, Any]) -> dict[str, Any]:
    """Restore into a new table ``target`` of the request's region."""
    engine = lc.engine
    region = engine.current_region()
    if isinstance(target, str) and (region, target) in engine.tables:
        raise AwsError("TableAlreadyExistsException", f"Table already exists: {target}", 400)
    create = create_params(meta, target, params)
    table = await created_table(engine, create, region)
    try:
        await fill(lc, table, rows)
    except BaseException:
        # A restore that cannot finish leaves no half-filled table behind.
        if engine.tables.get(table.key) is table:
            engine.storage.delete_table(table.table_id)
            engine.tables.pop(table.key, None)
        raise
    table.extra["restore_summary"] = summary
    engine.save_table(table)
    return {"TableDescription": engine.describe(table)}
