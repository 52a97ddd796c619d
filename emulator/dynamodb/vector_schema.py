"""Vector indexes of a table: their definition (CreateTable ``VectorIndexes``, UpdateTable
``VectorIndexUpdates``), the stored metadata and the ``VectorIndexDescription`` DescribeTable
shows. The rows and the search live in vector_store.py and vectors.py.

Kept apart from tables.py (which imports it) so that it depends on nothing of the engine.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from emulator.errors import AwsError

# SearchVectorList holds at most 4096 elements: no index can have more dimensions than a
# search vector can carry.
MAX_DIMENSIONS = 4096
# Vector indexes a table may have (a per-table quota, as the 20 GSIs are).
MAX_VECTOR_INDEXES = 5
# NonKeyAttributeNameList: at most 20 names; the vector attribute and every INLINE_FILTER
# element count against the same projection budget (HASH elements do not).
MAX_PROJECTED = 20
DISTANCES = ("COSINE", "DOT_PRODUCT", "EUCLIDEAN")
ROLES = ("HASH", "INLINE_FILTER")
_NAME_RE = re.compile(r"^[a-zA-Z0-9_.-]+$")


def _invalid(message: str) -> AwsError:
    return AwsError("ValidationException", message, 400)


def _params_invalid(message: str) -> AwsError:
    return _invalid("One or more parameter values were invalid: " + message)


def parse_projection(p: Any, index_name: str) -> tuple[str, list[str]]:
    """An index's ``Projection`` (GSI, LSI or vector index), checked as DynamoDB checks it:
    (ProjectionType, NonKeyAttributes)."""
    if not isinstance(p, dict) or not p.get("ProjectionType"):
        raise _params_invalid(f"Unknown ProjectionType: null for index: {index_name}")
    ptype = p["ProjectionType"]
    non_key = p.get("NonKeyAttributes")
    if ptype not in ("ALL", "KEYS_ONLY", "INCLUDE"):
        raise _params_invalid(f"Unknown ProjectionType: {ptype}")
    if ptype != "INCLUDE" and non_key is not None:
        raise _params_invalid(f"ProjectionType is {ptype}, but NonKeyAttributes is specified")
    if ptype == "INCLUDE" and not non_key:
        raise _params_invalid("ProjectionType is INCLUDE, but NonKeyAttributes is not specified")
    return ptype, list(non_key or [])


def _constraint(value: Any, where: str, constraint: str) -> AwsError:
    shown = "null" if value is None else f"'{value}'"
    return _invalid(f"1 validation error detected: Value {shown} at '{where}' failed to satisfy constraint: {constraint}")


@dataclass
class VectorIndex:
    name: str
    index_id: int
    attribute: str
    dimensions: int
    distance: str  # COSINE | DOT_PRODUCT | EUCLIDEAN
    # The search schema as given: (attribute, HASH | INLINE_FILTER, S | N | B).
    schema: list[tuple[str, str, str]] = field(default_factory=list)
    projection_type: str = "ALL"
    non_key_attributes: list[str] = field(default_factory=list)
    status: str = "ACTIVE"
    # Attributes an index row keeps (None: all); set by ``finish``.
    projected: frozenset[str] | None = None

    @property
    def hash_key(self) -> tuple[str, str] | None:
        """(attribute, type) of the HASH element, which partitions the index."""
        for name, role, typ in self.schema:
            if role == "HASH":
                return name, typ
        return None

    @property
    def filters(self) -> list[tuple[str, str]]:
        """(attribute, type) of every INLINE_FILTER element."""
        return [(name, typ) for name, role, typ in self.schema if role == "INLINE_FILTER"]

    @property
    def schema_attributes(self) -> list[str]:
        return [name for name, _role, _typ in self.schema]

    def finish(self, table_keys: tuple[str, ...]) -> VectorIndex:
        if self.projection_type == "ALL":
            self.projected = None
        else:
            names = {*table_keys, self.attribute, *self.schema_attributes}
            if self.projection_type == "INCLUDE":
                names.update(self.non_key_attributes)
            self.projected = frozenset(names)
        return self

    def projection(self) -> dict[str, Any]:
        out: dict[str, Any] = {"ProjectionType": self.projection_type}
        if self.projection_type == "INCLUDE":
            out["NonKeyAttributes"] = list(self.non_key_attributes)
        return out

    def describe(self, table_arn: str, count: tuple[int, int], status: str | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {
            "IndexName": self.name,
            "VectorAttribute": {"AttributeName": self.attribute},
            "Dimensions": self.dimensions,
            "DistanceFunction": self.distance,
            "Projection": self.projection(),
            "IndexStatus": status or self.status,
            "IndexSizeBytes": count[1],
            "ItemCount": count[0],
            "IndexArn": f"{table_arn}/index/{self.name}",
        }
        if self.schema:
            out["SearchSchema"] = [{"AttributeName": n, "SearchSchemaElementType": r} for n, r, _t in self.schema]
        if out["IndexStatus"] == "CREATING":
            out["Backfilling"] = False
        return out

    def to_meta(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "id": self.index_id,
            "attribute": self.attribute,
            "dimensions": self.dimensions,
            "distance": self.distance,
            "schema": [list(e) for e in self.schema],
            "projection": self.projection_type,
            "non_key": self.non_key_attributes,
            "status": self.status,
        }

    @classmethod
    def from_meta(cls, m: dict[str, Any]) -> VectorIndex:
        return cls(
            m["name"],
            m["id"],
            m["attribute"],
            int(m["dimensions"]),
            m["distance"],
            [(str(e[0]), str(e[1]), str(e[2])) for e in m.get("schema") or []],
            m.get("projection", "ALL"),
            list(m.get("non_key") or []),
            m.get("status", "ACTIVE"),
        )


def parse_vector_index(
    spec: Any,
    attrs: dict[str, str],
    table_keys: tuple[str, ...],
    existing: dict[str, VectorIndex],
    index_id: int,
    where: str = "vectorIndexes.1.member",
) -> VectorIndex:
    """A VectorIndex (CreateTable) or CreateVectorIndexAction (UpdateTable), validated against
    the table's attribute definitions ``attrs`` and its other vector indexes ``existing``."""
    if not isinstance(spec, dict):
        raise _constraint(None, where, "Member must not be null")
    name = spec.get("IndexName")
    if not isinstance(name, str):
        raise _constraint(None, f"{where}.indexName", "Member must not be null")
    if len(name) < 3 or len(name) > 255:
        raise _constraint(name, f"{where}.indexName", "Member must have length greater than or equal to 3" if len(name) < 3 else "Member must have length less than or equal to 255")
    if not _NAME_RE.match(name):
        raise _constraint(name, f"{where}.indexName", "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+")
    va = spec.get("VectorAttribute")
    attribute = va.get("AttributeName") if isinstance(va, dict) else None
    if not isinstance(attribute, str):
        raise _constraint(None, f"{where}.vectorAttribute" + (".attributeName" if isinstance(va, dict) else ""), "Member must not be null")
    if not 1 <= len(attribute) <= 255:
        raise _constraint(attribute, f"{where}.vectorAttribute.attributeName", "Member must have length greater than or equal to 1" if not attribute else "Member must have length less than or equal to 255")
    dims = spec.get("Dimensions")
    if dims is None:
        raise _constraint(None, f"{where}.dimensions", "Member must not be null")
    if not isinstance(dims, int) or isinstance(dims, bool) or dims < 1:
        raise _constraint(dims, f"{where}.dimensions", "Member must have value greater than or equal to 1")
    if dims > MAX_DIMENSIONS:
        raise _params_invalid(f"Dimensions must be between 1 and {MAX_DIMENSIONS} for vector index: {name}, provided: {dims}")
    distance = spec.get("DistanceFunction")
    if distance is None:
        raise _constraint(None, f"{where}.distanceFunction", "Member must not be null")
    if distance not in DISTANCES:
        raise _constraint(distance, f"{where}.distanceFunction", "Member must satisfy enum value set: [COSINE, DOT_PRODUCT, EUCLIDEAN]")

    schema: list[tuple[str, str, str]] = []
    raw_schema = spec.get("SearchSchema")
    if raw_schema is not None:
        if not isinstance(raw_schema, list) or not raw_schema:
            raise _constraint("[]", f"{where}.searchSchema", "Member must have length greater than or equal to 1")
        for n, element in enumerate(raw_schema, 1):
            el_where = f"{where}.searchSchema.{n}.member"
            attr = element.get("AttributeName") if isinstance(element, dict) else None
            role = element.get("SearchSchemaElementType") if isinstance(element, dict) else None
            if not isinstance(attr, str) or not attr:
                raise _constraint(None, f"{el_where}.attributeName", "Member must not be null")
            if role is None:
                raise _constraint(None, f"{el_where}.searchSchemaElementType", "Member must not be null")
            if role not in ROLES:
                raise _constraint(role, f"{el_where}.searchSchemaElementType", "Member must satisfy enum value set: [HASH, INLINE_FILTER]")
            if any(attr == e[0] for e in schema):
                raise _params_invalid(f"Duplicate attribute in SearchSchema: {attr} for vector index: {name}")
            if role == "HASH" and any(e[1] == "HASH" for e in schema):
                raise _params_invalid(f"SearchSchema can have at most one HASH element for vector index: {name}")
            if attr == attribute:
                raise _params_invalid(f"The vector attribute {attribute} cannot be part of the SearchSchema of vector index: {name}")
            if attr not in attrs:
                raise _params_invalid(
                    f"Some index key attributes are not defined in AttributeDefinitions. Keys: [{', '.join(a for a in [*(e[0] for e in schema), attr])}], "
                    f"AttributeDefinitions: [{', '.join(attrs)}]"
                )
            schema.append((attr, role, attrs[attr]))
    if attribute in table_keys or attribute in attrs:
        raise _params_invalid(f"The vector attribute {attribute} of vector index {name} cannot be a key attribute: a vector is a list of numbers")

    ptype, non_key = parse_projection(spec.get("Projection"), name)
    budget = {*non_key, attribute, *(e[0] for e in schema if e[1] == "INLINE_FILTER")} - set(table_keys)
    if len(budget) > MAX_PROJECTED:
        raise _params_invalid(
            f"The number of projected non-key attributes of vector index {name} (the vector attribute and INLINE_FILTER elements included) exceeds the limit of {MAX_PROJECTED}, provided: {len(budget)}"
        )

    for other in existing.values():
        if other.name == name:
            raise _params_invalid(f"Duplicate index name: {name}")
        if other.attribute == attribute and other.dimensions != dims:
            raise _params_invalid(
                f"Vector indexes on the same vector attribute must have the same number of dimensions: index {other.name} indexes {attribute} with {other.dimensions} dimensions, "
                f"index {name} with {dims}"
            )
    if len(existing) >= MAX_VECTOR_INDEXES:
        raise _params_invalid(f"VectorIndex count exceeds the per-table limit of {MAX_VECTOR_INDEXES}")
    return VectorIndex(name, index_id, attribute, dims, distance, schema, ptype, non_key).finish(table_keys)
