"""SearchVectors: exact k-nearest-neighbour search over a vector index.

AWS's search is approximate; this one compares the search vector with every vector of
the index partition the condition selects (numpy, float32 matrices kept per process by
vector_store.VectorCache), so its results are the true nearest neighbours. Scores follow
the index's distance function: COSINE, 1 - cosine similarity (0 identical .. 2 opposite,
smallest first); EUCLIDEAN, the Euclidean distance (smallest first); DOT_PRODUCT, the dot
product (largest first).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from emulator.dynamodb.core import (
    EngineCore,
    check_return_consumed,
    loads,
    not_found,
    raw_item,
)
from emulator.dynamodb.expressions import ExpressionContext, compile_projection
from emulator.dynamodb.expressions.ast import And, Compare, Const, Path
from emulator.dynamodb.expressions.context import resolve_condition
from emulator.dynamodb.expressions.parser import parse_condition
from emulator.dynamodb.tables import check_table_name, invalid, params_invalid
from emulator.dynamodb.types import type_of
from emulator.dynamodb.vector_schema import MAX_DIMENSIONS, VectorIndex
from emulator.dynamodb.vector_store import F32_MAX, filter_token, row_item_bytes

KIND = "SearchConditionExpression"
# Candidates re-scored in float64 beyond TopK: the float32 matrix product ranks them, the
# exact arithmetic orders and scores what is returned.
_MARGIN = 16


def _search_vector(value: Any, vec: VectorIndex) -> np.ndarray:
    if not isinstance(value, list) or not value:
        raise invalid("1 validation error detected: Value '[]' at 'searchVector' failed to satisfy constraint: Member must have length greater than or equal to 1")
    if len(value) > MAX_DIMENSIONS:
        raise invalid(f"1 validation error detected: Value at 'searchVector' failed to satisfy constraint: Member must have length less than or equal to {MAX_DIMENSIONS}")
    out = np.empty(len(value), dtype=np.float64)
    for i, element in enumerate(value):
        if not isinstance(element, dict) or len(element) != 1 or "N" not in element:
            raise params_invalid(f"SearchVector must be a list of numbers: element {i} is of type {type_of(element) if isinstance(element, dict) and len(element) == 1 else 'unknown'}")
        try:
            number = float(element["N"])
        except (TypeError, ValueError):
            raise params_invalid(f"SearchVector element {i} is not a number: {element['N']}") from None
        if not np.isfinite(number) or abs(number) > F32_MAX:
            raise params_invalid(f"SearchVector element {i} does not fit a 32-bit float (f32): {element['N']}")
        out[i] = number
    if len(value) != vec.dimensions:
        raise params_invalid(f"The number of dimensions of SearchVector ({len(value)}) does not match the dimensions of vector index {vec.name} ({vec.dimensions})")
    # Search vectors are 32-bit floats, as the indexed vectors are.
    return out.astype(np.float32).astype(np.float64)


def _conditions(text: Any, ctx: ExpressionContext, vec: VectorIndex) -> dict[str, dict[str, Any]]:
    """attribute -> value of each ``attribute = :value`` of the SearchConditionExpression
    (equalities joined by AND, over search-schema attributes only)."""
    hash_key = vec.hash_key
    if text is None:
        if hash_key is not None:
            raise params_invalid(
                f"SearchConditionExpression is required: vector index {vec.name} has the HASH attribute {hash_key[0]}, whose value must be given with the = operator"
            )
        return {}
    if not isinstance(text, str) or not text.strip():
        raise invalid("Invalid SearchConditionExpression: The expression can not be empty;")
    node = resolve_condition(parse_condition(text, KIND), ctx, KIND)
    ctx.compiled += 1
    ctx.compiled_with_values += 1
    terms: list[Any] = []
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, And):
            stack += [current.right, current.left]
        else:
            terms.append(current)
    types = {name: typ for name, _role, typ in vec.schema}
    out: dict[str, dict[str, Any]] = {}
    for term in terms:
        if not isinstance(term, Compare) or term.op != "=":
            raise invalid(f"Invalid SearchConditionExpression: only equality conditions (=) on search schema attributes, joined by AND, are supported; vector index: {vec.name}")
        left, right = term.left, term.right
        if isinstance(left, Const) and isinstance(right, Path):
            left, right = right, left
        if not isinstance(left, Path) or not isinstance(right, Const):
            raise invalid("Invalid SearchConditionExpression: each condition must compare an attribute with a value: attribute = :value")
        if len(left.elements) != 1 or not isinstance(left.elements[0], str):
            raise invalid("Invalid SearchConditionExpression: only top-level attributes of the search schema can be referenced")
        name = left.elements[0]
        if name not in types:
            raise invalid(f"Invalid SearchConditionExpression: attribute {name} is not in the search schema of vector index {vec.name}")
        if name in out:
            raise invalid(f"Invalid SearchConditionExpression: attribute {name} is given more than once")
        if type_of(right.value) != types[name]:
            raise invalid(f"One or more parameter values were invalid: Condition parameter type does not match schema type for attribute {name}")
        out[name] = right.value
    if hash_key is not None and hash_key[0] not in out:
        raise params_invalid(f"SearchConditionExpression must give the HASH attribute {hash_key[0]} of vector index {vec.name} with the = operator")
    return out


def _scores(distance: str, matrix: np.ndarray, query: np.ndarray, norms: Any) -> np.ndarray:
    """The score of every row (float64), lower is better except for DOT_PRODUCT."""
    dots = matrix.astype(np.float64) @ query if matrix.shape[0] <= 256 else (matrix @ query.astype(np.float32)).astype(np.float64)
    if distance == "DOT_PRODUCT":
        return dots
    if distance == "COSINE":
        qn = float(np.linalg.norm(query))
        denom = norms * qn
        with np.errstate(divide="ignore", invalid="ignore"):
            sims = np.where(denom > 0, dots / np.where(denom > 0, denom, 1.0), 0.0)
        return np.asarray(1.0 - np.clip(sims, -1.0, 1.0))
    sq = np.einsum("ij,ij->i", matrix, matrix, dtype=np.float64) if norms is None else norms * norms
    return np.sqrt(np.maximum(sq - 2.0 * dots + float(query @ query), 0.0))


def _exact(distance: str, rows: np.ndarray, query: np.ndarray) -> np.ndarray:
    m = rows.astype(np.float64)
    if distance == "DOT_PRODUCT":
        return m @ query
    if distance == "EUCLIDEAN":
        return np.sqrt(((m - query) ** 2).sum(axis=1))
    norms = np.linalg.norm(m, axis=1) * float(np.linalg.norm(query))
    with np.errstate(divide="ignore", invalid="ignore"):
        sims = np.where(norms > 0, (m @ query) / np.where(norms > 0, norms, 1.0), 0.0)
    return np.asarray(1.0 - np.clip(sims, -1.0, 1.0))


def search_vectors(engine: EngineCore, params: dict[str, Any]) -> dict[str, Any]:
    table = engine.table(params.get("TableName"))
    name = params.get("IndexName")
    if not isinstance(name, str):
        raise invalid("1 validation error detected: Value null at 'indexName' failed to satisfy constraint: Member must not be null")
    check_table_name(name, "indexName")
    vec = table.vectors.get(name)
    if vec is None:
        raise not_found(f"Requested resource not found: Vector index: {name} not found for table: {table.name}")
    top_k = params.get("TopK")
    if top_k is None:
        raise invalid("1 validation error detected: Value null at 'topK' failed to satisfy constraint: Member must not be null")
    if not isinstance(top_k, int) or isinstance(top_k, bool) or top_k < 1:
        raise invalid(f"1 validation error detected: Value '{top_k}' at 'topK' failed to satisfy constraint: Member must have value greater than or equal to 1")
    if params.get("SearchVector") is None:
        raise invalid("1 validation error detected: Value null at 'searchVector' failed to satisfy constraint: Member must not be null")
    mode = check_return_consumed(params.get("ReturnConsumedCapacity"))
    query = _search_vector(params.get("SearchVector"), vec)
    ctx = ExpressionContext(params.get("ExpressionAttributeNames"), params.get("ExpressionAttributeValues"))
    conditions = _conditions(params.get("SearchConditionExpression"), ctx, vec)
    proj = compile_projection(params["ProjectionExpression"], ctx) if params.get("ProjectionExpression") is not None else None
    ctx.finish(("SearchConditionExpression",))

    hash_key = vec.hash_key
    pk = filter_token(conditions[hash_key[0]]) if hash_key is not None else ""
    part = engine.vector_cache.partition(engine.storage, table.table_id, vec.index_id, bytes.fromhex(pk), vec.dimensions)
    n = part.matrix.shape[0]
    results: list[dict[str, Any]] = []
    if n:
        candidates: np.ndarray | None = None
        for attr, value in conditions.items():
            if hash_key is not None and attr == hash_key[0]:
                continue
            mask = part.column(attr) == filter_token(value)
            candidates = mask if candidates is None else candidates & mask
        rows = np.arange(n) if candidates is None else np.flatnonzero(candidates)
        if rows.size:
            matrix = part.matrix if candidates is None else part.matrix[rows]
            norms = None
            if vec.distance != "DOT_PRODUCT":
                norms = part.norm() if candidates is None else part.norm()[rows]
            scores = _scores(vec.distance, matrix, query, norms)
            descending = vec.distance == "DOT_PRODUCT"
            keep = min(rows.size, top_k + _MARGIN)
            ranked = -scores if descending else scores
            pick = np.argpartition(ranked, keep - 1)[:keep] if keep < rows.size else np.arange(rows.size)
            exact = _exact(vec.distance, matrix[pick], query)
            # Most similar first; ties in sk order (the index's own order).
            order = np.lexsort((pick, -exact if descending else exact))[:top_k]
            for i in order:
                row_index = int(rows[pick[i]])
                data = engine.storage.get(table.table_id, vec.index_id, bytes.fromhex(pk), part.sks[row_index])
                if data is None:  # removed since the matrix was read
                    continue
                stored = row_item_bytes(data)
                item: Any = proj.apply(loads(stored)) if proj is not None else raw_item(stored)
                results.append({"Item": item, "Score": float(exact[i])})
    out: dict[str, Any] = {"SearchResults": results}
    if mode is not None:
        # What an exhaustive search reads: every vector of the partition searched.
        out["ConsumedCapacity"] = {"VectorSearchRequestBytes": float(n * vec.dimensions * 4)}
    return out
