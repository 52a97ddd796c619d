"""Query and Scan: key-ordered range scans over the storage, with filters,
projections, Select, Limit, 1 MB pages and LastEvaluatedKey."""

from __future__ import annotations

import zlib
from collections.abc import Iterator, Sequence
from typing import Any

import orjson

from emulator.dynamodb import expressions as ex
from emulator.dynamodb import keys as keycodec
from emulator.dynamodb.core import (
    Capacity,
    Item,
    _key_value_problem,
    check_return_consumed,
    loads,
    raw_item,
    read_units,
)
from emulator.dynamodb.items import ItemOps
from emulator.dynamodb.storage.base import Row
from emulator.dynamodb.tables import Index, Table, invalid, params_invalid
from emulator.dynamodb.types import type_of, validate_value
from emulator.errors import AwsError

PAGE_BYTES = 1024 * 1024
SELECTS = ("ALL_ATTRIBUTES", "ALL_PROJECTED_ATTRIBUTES", "SPECIFIC_ATTRIBUTES", "COUNT")


def _check_limit(limit: Any) -> int | None:
    if limit is None:
        return None
    if not isinstance(limit, int) or limit < 1:
        raise invalid(f"1 validation error detected: Value '{limit}' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1")
    return limit


def range_bounds(op: str | None, values: list[dict[str, Any]]) -> tuple[bytes | None, bytes | None]:
    """[lo, hi) over encoded sort keys for a sort-key condition. Encodings are prefix
    free, so every index sort key that starts with enc(v) belongs to value v."""
    if op is None:
        return None, None
    if op == "begins_with":
        prefix = keycodec.encode_prefix(values[0])
        return (prefix or None), keycodec.successor(prefix) if prefix else None
    e = keycodec.encode_key_value(values[0])
    if op == "=":
        return e, keycodec.successor(e)
    if op == "<":
        return None, e
    if op == "<=":
        return None, keycodec.successor(e)
    if op == ">":
        return keycodec.successor(e) or b"\xff" * 8, None
    if op == ">=":
        return e, None
    if op == "BETWEEN":
        return e, keycodec.successor(keycodec.encode_key_value(values[1]))
    raise invalid(f"Unsupported key condition operator: {op}")


# Words of the ExclusiveStartKey value errors DynamoDB does not prefix with "The provided
# starting key is invalid: " (numbers and sets; dynalite's list, plus this emulator's number text).
_UNPREFIXED_VALUE_ERRORS = ("contains duplicates", "number set", "numeric value", "significant digits", "number with magnitude", "into a number")


class ReadOps(ItemOps):
    # ----------------------------------------------------------- helpers
    def _select(self, params: dict[str, Any], idx: Index | None, proj: Any) -> str:
        select = params.get("Select")
        if select is None:
            if proj is not None:
                return "SPECIFIC_ATTRIBUTES"
            return "ALL_PROJECTED_ATTRIBUTES" if idx is not None else "ALL_ATTRIBUTES"
        if select not in SELECTS:
            raise invalid(
                f"1 validation error detected: Value '{select}' at 'select' failed to satisfy constraint: Member must satisfy enum value set: [SPECIFIC_ATTRIBUTES, COUNT, ALL_ATTRIBUTES, ALL_PROJECTED_ATTRIBUTES]"
            )
        which = "ProjectionExpression" if params.get("ProjectionExpression") is not None else "AttributesToGet"
        if proj is not None and select != "SPECIFIC_ATTRIBUTES":
            raise invalid(f"Cannot specify the {which} when choosing to get {select}")
        if select == "SPECIFIC_ATTRIBUTES" and proj is None:
            raise invalid("Must specify the AttributesToGet or ProjectionExpression when choosing to get SPECIFIC_ATTRIBUTES")
        if select == "ALL_PROJECTED_ATTRIBUTES" and idx is None:
            raise invalid("ALL_PROJECTED_ATTRIBUTES can be used only when Querying using an IndexName")
        if select == "ALL_ATTRIBUTES" and idx is not None and idx.kind == "GSI" and idx.projection_type != "ALL":
            raise params_invalid(f"Select type ALL_ATTRIBUTES is not supported for global secondary index {idx.name} because its projection type is not ALL")
        return str(select)

    def _index_for(self, table: Table, params: dict[str, Any]) -> Index | None:
        name = params.get("IndexName")
        if name is None:
            return None
        idx = table.index(name)
        if params.get("ConsistentRead") and idx.kind == "GSI":
            raise invalid("Consistent reads are not supported on global secondary indexes")
        return idx

    def _start_key(self, table: Table, idx: Index | None, esk: Any, query: bool) -> tuple[bytes, bytes]:
        """(pk, sk) row key of ExclusiveStartKey in the table or index, refused in DynamoDB's
        words (as dynalite copied them): a Query's, or an index's, key with the wrong
        attributes is just "invalid"; a Scan of the table names the schema mismatch."""
        prefix = "The provided starting key is invalid"
        if not isinstance(esk, dict):
            raise invalid(f"{prefix}: The provided key element does not match the schema")
        for av in esk.values():
            try:
                validate_value(av)
            except AwsError as exc:
                # Number and set troubles keep their own text; the others are prefixed.
                if any(word in exc.message for word in _UNPREFIXED_VALUE_ERRORS):
                    raise
                raise invalid(f"{prefix}: {exc.message}") from exc
        base_names = set(table.key_names)
        names = base_names | ({n for n in (idx.hash_key, idx.range_key) if n} if idx is not None else set())
        if len(esk) != len(names):
            raise invalid(prefix if query or idx is not None else f"{prefix}: The provided key element does not match the schema")
        if query or idx is not None:
            for name, typ in ((idx.hash_key, idx.hash_type), (idx.range_key, idx.range_type)) if idx is not None else ((table.hash_key, table.hash_type), (table.range_key, table.range_type)):
                if name is None:
                    continue
                if name not in esk:
                    raise invalid(prefix)
                if type_of(esk[name]) != typ:
                    raise invalid("The provided key element does not match the schema")
                _key_value_problem(name, esk[name], typ)  # unprefixed too
        try:
            base = self.key_from_key(table, {n: esk[n] for n in base_names if n in esk})
        except AwsError as exc:
            raise invalid(f"{prefix}: {exc.message}") from exc
        except (ValueError, TypeError) as exc:  # a value no key can hold: never a 500
            raise invalid(f"{prefix}: The provided key element does not match the schema") from exc
        if idx is None:
            if set(esk) != base_names:
                raise invalid(f"{prefix}: The provided key element does not match the schema")
            return base.pk, base.sk
        if set(esk) != names:
            raise invalid(prefix)
        rk = self.index_row_key(table, idx, esk, base)
        if rk is None:
            raise invalid(prefix)
        return rk

    def _last_key(self, table: Table, idx: Index | None, item: Item) -> Item:
        names = list(table.key_names)
        if idx is not None:
            names += [n for n in (idx.hash_key, idx.range_key) if n and n not in names]
        return {n: item[n] for n in names if n in item}

    @staticmethod
    def _fetch_base(idx: Index | None, filt: Any, proj: Any, select: str) -> bool:
        """Whether each item read from an LSI is completed from the base table: its
        projection lacks what the request needs (to return, or to filter on)."""
        return (
            idx is not None
            and idx.kind == "LSI"
            and idx.projected is not None
            and (
                select == "ALL_ATTRIBUTES"
                or (filt is not None and not filt.top_level_names <= idx.projected)
                or (proj is not None and not set(proj.top_level_names) <= idx.projected)
            )
        )

    def _passthrough(self, idx: Index | None, filt: Any, proj: Any, select: str, raw: bool) -> bool:
        """Whole items out, nothing to evaluate: with ``raw`` they go out as stored (see raw_item)."""
        return raw and filt is None and select in ("ALL_ATTRIBUTES", "ALL_PROJECTED_ATTRIBUTES") and not self._fetch_base(idx, filt, proj, select)

    def _collect(
        self,
        table: Table,
        idx: Index | None,
        rows: Iterator[Row],
        params: dict[str, Any],
        filt: Any,
        proj: Any,
        select: str,
        segment: tuple[int, int] | None = None,
        raw: bool = False,
        pages: Iterator[Sequence[tuple[bytes, bytes, int]]] | None = None,
    ) -> dict[str, Any]:
        """``pages``: instead of ``rows``, a Query's rows as ``storage.query_pages`` gives
        them, only where ``_passthrough`` (each stored item goes out as it is)."""
        limit = _check_limit(params.get("Limit"))
        consistent = bool(params.get("ConsistentRead"))
        rcc = check_return_consumed(params.get("ReturnConsumedCapacity"))
        fetch_base = self._fetch_base(idx, filt, proj, select)
        items: list[Any] = []
        scanned = count = size = 0
        fetched_size = 0  # bytes of the base-table items fetched (fetch_base)
        last: Item | None = None
        last_data = b""
        stopped = False
        passthrough = self._passthrough(idx, filt, proj, select, raw)
        if pages is not None:
            # The common Query page: no object per row, and each stored item's JSON
            # inserted as it is (``raw_item``, inlined); every row scanned counts.
            append = items.append
            for page in pages:
                for _sk, data, row_size in page:
                    scanned += 1
                    size += row_size
                    append(orjson.Fragment(data) if data[:1] == b"{" else loads(data))
                    if (limit is not None and scanned >= limit) or size >= PAGE_BYTES:
                        stopped = True
                        last_data = data
                        break
                if stopped:
                    break
            count = scanned
        for row in rows:
            if segment is not None and zlib.crc32(row.pk) % segment[1] != segment[0]:
                continue
            if passthrough:
                scanned += 1
                count += 1
                size += row.size
                last_data = row.data
                items.append(raw_item(row.data))
                if (limit is not None and scanned >= limit) or size >= PAGE_BYTES:
                    stopped = True
                    break
                continue
            item = loads(row.data)
            scanned += 1
            size += row.size
            last = item
            full = item
            if fetch_base:
                fetched, fsize = self.get_item_sized(table, self.key_from_key(table, {n: item[n] for n in table.key_names}))
                if fetched is not None:
                    full = fetched
                    fetched_size += fsize
            if filt is None or filt.evaluate(full):
                count += 1
                if select == "SPECIFIC_ATTRIBUTES":
                    items.append(proj.apply(full))
                elif select == "ALL_ATTRIBUTES":
                    items.append(full)
                elif select == "ALL_PROJECTED_ATTRIBUTES":
                    items.append(item)
            if (limit is not None and scanned >= limit) or size >= PAGE_BYTES:
                stopped = True
                break
        out: dict[str, Any] = {"Count": count, "ScannedCount": scanned}
        if select != "COUNT":
            out["Items"] = items
        if passthrough and stopped:
            last = loads(last_data)  # only the last item's key attributes are needed
        if stopped and last is not None:
            out["LastEvaluatedKey"] = self._last_key(table, idx, last)
        cap = Capacity(table.name)
        cap.add_read(idx, read_units(size, consistent))
        if fetched_size:
            # An LSI's fetches read each whole item from the table, charged to the
            # table besides the index's read (the items' sizes summed, as a Query's are).
            cap.read = read_units(fetched_size, consistent)
        if rcc:
            out["ConsumedCapacity"] = cap.render(rcc)
        return out

    # -------------------------------------------------------------- Query
    def query(self, params: dict[str, Any], raw: bool = False) -> dict[str, Any]:
        """``raw``: whole items may come out as stored JSON (``raw_item``), for callers that
        encode the output with orjson; else every item is a dict."""
        table = self.table(params.get("TableName"))
        idx = self._index_for(table, params)
        hash_key, hash_type = (idx.hash_key, idx.hash_type) if idx else (table.hash_key, table.hash_type)
        range_key, range_type = (idx.range_key, idx.range_type) if idx else (table.range_key, table.range_type)
        ctx = self.context(params)
        ex.check_no_mixing(
            params, ("AttributesToGet", "QueryFilter", "ConditionalOperator", "KeyConditions"), ("ProjectionExpression", "FilterExpression", "KeyConditionExpression")
        )
        if params.get("KeyConditionExpression") is not None:
            kc = ex.compile_key_condition(params["KeyConditionExpression"], ctx, hash_key, range_key, hash_type=hash_type, range_type=range_type)
        elif params.get("KeyConditions") is not None:
            kc = ex.key_condition_from_legacy(params["KeyConditions"], hash_key, range_key, hash_type=hash_type, range_type=range_type)
        else:
            raise invalid("Either the KeyConditions or KeyConditionExpression parameter must be specified in the request.")
        filt = None
        if params.get("FilterExpression") is not None:
            filt = ex.compile_condition(params["FilterExpression"], ctx, "FilterExpression")
        elif params.get("QueryFilter"):
            filt = ex.condition_from_filter(params["QueryFilter"], params.get("ConditionalOperator"))
        proj = self.projection(params, ctx)
        ctx.finish(("FilterExpression", "KeyConditionExpression"))
        select = self._select(params, idx, proj)
        _check_limit(params.get("Limit"))
        if type_of(kc.hash_value) != hash_type:
            raise params_invalid("Condition parameter type does not match schema type")
        for v in kc.range_values:
            if type_of(v) != range_type:
                raise params_invalid("Condition parameter type does not match schema type")
        if kc.range_op == "begins_with" and range_type == "N":
            raise invalid("Invalid KeyConditionExpression: Incorrect operand type for operator or function; operator or function: begins_with, operand type: N")
        if idx is None:
            # An empty S or B is no key value: refused as PutItem refuses it (a begins_with
            # prefix may be empty).
            _key_value_problem(hash_key, kc.hash_value, hash_type)
            if kc.range_op != "begins_with" and range_key is not None and range_type is not None:
                for v in kc.range_values:
                    _key_value_problem(range_key, v, range_type)
        pk = keycodec.encode_key_value(kc.hash_value)
        lo, hi = range_bounds(kc.range_op, list(kc.range_values))
        forward = params.get("ScanIndexForward", True) is not False
        after = None
        if params.get("ExclusiveStartKey") is not None:
            spk, after = self._start_key(table, idx, params["ExclusiveStartKey"], query=True)
            if not kc.range_matches(params["ExclusiveStartKey"].get(range_key) if range_key else None):
                raise invalid("The provided starting key does not match the range key predicate")
            if spk != pk:
                raise invalid("The provided starting key is outside query boundaries based on provided conditions")
        if proj is not None:
            self.check_key_paths(table, proj.paths)
        if filt is not None:
            # A Query's filter may not name the key attributes of the table or index queried.
            names = filt.top_level_names
            for key_name in (hash_key, range_key):
                if key_name is not None and key_name in names:
                    which = "Filter Expression" if params.get("FilterExpression") is not None else "QueryFilter"
                    raise invalid(f"{which} can only contain non-primary key attributes: Primary key attribute: {key_name}")
            self.check_key_paths(table, ex.condition_paths(filt.ast))
        limit = params.get("Limit")
        first_page = limit if isinstance(limit, int) and not isinstance(limit, bool) and limit > 0 else None
        if self._passthrough(idx, filt, proj, select, raw):
            pages = self.storage.query_pages(table.table_id, idx.index_id if idx else 0, pk, lo, hi, forward, after, first_page=first_page)
            return self._collect(table, idx, iter(()), params, filt, proj, select, raw=raw, pages=pages)
        rows = self.storage.query(table.table_id, idx.index_id if idx else 0, pk, lo, hi, forward, after, first_page=first_page)
        return self._collect(table, idx, rows, params, filt, proj, select, raw=raw)

    # --------------------------------------------------------------- Scan
    def scan(self, params: dict[str, Any], raw: bool = False) -> dict[str, Any]:
        """``raw``: as for ``query``."""
        table = self.table(params.get("TableName"))
        idx = self._index_for(table, params)
        ctx = self.context(params)
        ex.check_no_mixing(params, ("AttributesToGet", "ScanFilter", "ConditionalOperator"), ("ProjectionExpression", "FilterExpression"))
        filt = None
        if params.get("FilterExpression") is not None:
            filt = ex.compile_condition(params["FilterExpression"], ctx, "FilterExpression")
        elif params.get("ScanFilter"):
            filt = ex.condition_from_filter(params["ScanFilter"], params.get("ConditionalOperator"))
        proj = self.projection(params, ctx)
        ctx.finish(("FilterExpression",))
        select = self._select(params, idx, proj)
        _check_limit(params.get("Limit"))
        segment = params.get("Segment")
        total = params.get("TotalSegments")
        seg: tuple[int, int] | None = None
        if segment is not None or total is not None:
            if total is None:
                raise invalid("The TotalSegments parameter is required but was not present in the request when Segment parameter is present")
            if segment is None:
                raise invalid("The Segment parameter is required but was not present in the request when parameter TotalSegments is present")
            if not isinstance(total, int) or total < 1 or total > 1000000:
                raise invalid(f"1 validation error detected: Value '{total}' at 'totalSegments' failed to satisfy constraint: Member must have value less than or equal to 1000000")
            if not isinstance(segment, int) or segment < 0:
                raise invalid(f"1 validation error detected: Value '{segment}' at 'segment' failed to satisfy constraint: Member must have value greater than or equal to 0")
            if segment >= total:
                raise invalid(f"The Segment parameter is zero-based and must be less than parameter TotalSegments: Segment: {segment} is not less than TotalSegments: {total}")
            seg = (segment, total)
        if proj is not None:
            self.check_key_paths(table, proj.paths)
        if filt is not None:
            self.check_key_paths(table, ex.condition_paths(filt.ast))
        after = None
        if params.get("ExclusiveStartKey") is not None:
            after = self._start_key(table, idx, params["ExclusiveStartKey"], query=False)
            if seg is not None and zlib.crc32(after[0]) % seg[1] != seg[0]:
                # The key belongs to another segment (the partition of _collect's filter).
                raise invalid(
                    "The provided starting key is invalid: Invalid ExclusiveStartKey. Please use ExclusiveStartKey with correct Segment. "
                    f"TotalSegments: {seg[1]} Segment: {seg[0]}"
                )
        rows = self.storage.scan(table.table_id, idx.index_id if idx else 0, after)
        return self._collect(table, idx, rows, params, filt, proj, select, seg, raw=raw)
