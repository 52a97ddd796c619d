"""Table metadata: the schema of a table and its indexes, validation of
CreateTable/UpdateTable input, and the TableDescription AWS returns.

The metadata is a plain JSON dict persisted by the storage engine; ``Table``
and ``Index`` are the in-memory views built from it once and cached.
"""

from __future__ import annotations

import datetime as dt
import re
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from emulator.dynamodb.storage.base import region_of_arn
from emulator.dynamodb.vector_schema import (
    VectorIndex,
    parse_projection,
    parse_vector_index,
)
from emulator.errors import AwsError

MAX_GSIS = 20
MAX_LSIS = 5
MAX_NON_KEY_ATTRIBUTES = 100
_NAME_RE = re.compile(r"^[a-zA-Z0-9_.-]+$")
KEY_TYPES = ("S", "N", "B")
# The per-table quotas DescribeLimits reports: neither a maximum on-demand throughput nor a
# warm throughput can go above them.
TABLE_MAX_UNITS = 40000
# The warm throughput DynamoDB shows for a table or index nobody pre-warmed: what a new
# table can serve at once (its initial partitions).
DEFAULT_WARM = {"read": 12000, "write": 4000}


def invalid(message: str) -> AwsError:
    return AwsError("ValidationException", message, 400)


def params_invalid(message: str) -> AwsError:
    return invalid("One or more parameter values were invalid: " + message)


def check_table_name(name: Any, member: str = "tableName") -> str:
    if not isinstance(name, str):
        raise invalid(f"1 validation error detected: Value null at '{member}' failed to satisfy constraint: Member must not be null")
    if len(name) < 3 or len(name) > 255:
        raise invalid(
            f"1 validation error detected: Value '{name}' at '{member}' failed to satisfy constraint: "
            + ("Member must have length greater than or equal to 3" if len(name) < 3 else "Member must have length less than or equal to 255")
        )
    if not _NAME_RE.match(name):
        raise invalid(
            f"1 validation error detected: Value '{name}' at '{member}' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+"
        )
    return name


def _wire_time(ts: float) -> float:
    """Timestamps leave as epoch seconds, the json protocol's wire form: orjson would
    write a datetime as an ISO string, which the JavaScript SDK refuses."""
    return round(float(ts), 3)


def _iso(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, tz=dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]


@dataclass
class Index:
    name: str
    index_id: int
    kind: str  # "GSI" | "LSI"
    hash_key: str
    hash_type: str
    range_key: str | None
    range_type: str | None
    projection_type: str  # ALL | KEYS_ONLY | INCLUDE
    non_key_attributes: list[str] = field(default_factory=list)
    read_units: int = 0
    write_units: int = 0
    status: str = "ACTIVE"
    # Attributes projected besides the index and table keys (None: all).
    projected: frozenset[str] | None = None
    # Maximum on-demand throughput ({"read", "write"}: units per second, -1 or absent: none)
    # and warm throughput ({"read", "write"}: absent, DEFAULT_WARM) of a GSI.
    on_demand: dict[str, int] = field(default_factory=dict)
    warm: dict[str, int] = field(default_factory=dict)

    def key_schema(self) -> list[dict[str, str]]:
        out = [{"AttributeName": self.hash_key, "KeyType": "HASH"}]
        if self.range_key:
            out.append({"AttributeName": self.range_key, "KeyType": "RANGE"})
        return out

    def projection(self) -> dict[str, Any]:
        out: dict[str, Any] = {"ProjectionType": self.projection_type}
        if self.projection_type == "INCLUDE":
            out["NonKeyAttributes"] = list(self.non_key_attributes)
        return out

    def to_meta(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "id": self.index_id,
            "kind": self.kind,
            "hash": [self.hash_key, self.hash_type],
            "range": [self.range_key, self.range_type] if self.range_key else None,
            "projection": self.projection_type,
            "non_key": self.non_key_attributes,
            "rcu": self.read_units,
            "wcu": self.write_units,
            "status": self.status,
            "od": self.on_demand,
            "warm": self.warm,
        }

    @classmethod
    def from_meta(cls, m: dict[str, Any]) -> Index:
        rng = m.get("range") or [None, None]
        idx = cls(m["name"], m["id"], m["kind"], m["hash"][0], m["hash"][1], rng[0], rng[1], m["projection"], list(m.get("non_key") or []), m.get("rcu", 0), m.get("wcu", 0), m.get("status", "ACTIVE"))
        idx.on_demand = dict(m.get("od") or {})
        idx.warm = dict(m.get("warm") or {})
        return idx


@dataclass
class Table:
    table_id: int
    name: str
    hash_key: str
    hash_type: str
    range_key: str | None
    range_type: str | None
    attribute_definitions: dict[str, str]
    created: float
    table_uuid: str
    arn: str
    billing_mode: str = "PROVISIONED"
    read_units: int = 0
    write_units: int = 0
    gsis: dict[str, Index] = field(default_factory=dict)
    lsis: dict[str, Index] = field(default_factory=dict)
    stream: dict[str, Any] | None = None  # {"enabled", "view_type", "label"}
    tags: dict[str, str] = field(default_factory=dict)
    ttl: dict[str, Any] = field(default_factory=dict)  # {"attribute", "enabled"}
    deletion_protection: bool = False
    table_class: str = "STANDARD"
    sse: dict[str, Any] | None = None
    next_index_id: int = 1
    billing_changed: float | None = None
    decreases: int = 0
    last_increase: float | None = None
    last_decrease: float | None = None
    status: str = "ACTIVE"
    extra: dict[str, Any] = field(default_factory=dict)
    # Tables are regional (as on AWS): the region is the one in the table's ARN, which is
    # what the storage keeps (data written before tables had a region column included).
    region: str = ""
    # The global table (version 2019.11.21) this table is a replica of: region -> that
    # replica's settings and state, the same map in every member (emulator/dynamodb/replicas.py).
    # Empty for a plain table: writes check it once to know there is nothing to replicate.
    replicas: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Maximum on-demand throughput and warm throughput of the table (as Index's).
    on_demand: dict[str, int] = field(default_factory=dict)
    warm: dict[str, int] = field(default_factory=dict)
    # Whether an on-demand maximum applies to this table or one of its GSIs (set by
    # ``finish``): the capacity limiter looks at nothing else for the other on-demand tables.
    max_limited: bool = False
    # Vector indexes (emulator/dynamodb/vector_schema.py): kept apart from ``indexes`` (GSIs and
    # LSIs), which Query, Scan and the key checks walk; their rows live under their own index id.
    vectors: dict[str, VectorIndex] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.region:
            self.region = region_of_arn(self.arn)

    # ----------------------------------------------------------- helpers
    @property
    def key(self) -> tuple[str, str]:
        """The table's key in the engine's table cache: (region, name)."""
        return self.region, self.name

    @property
    def indexes(self) -> list[Index]:
        return [*self.lsis.values(), *self.gsis.values()]

    @property
    def key_names(self) -> tuple[str, ...]:
        return (self.hash_key, self.range_key) if self.range_key else (self.hash_key,)

    def index(self, name: str) -> Index:
        idx = self.gsis.get(name) or self.lsis.get(name)
        if idx is None:
            raise invalid(f"The table does not have the specified index: {name}")
        return idx

    def key_schema(self) -> list[dict[str, str]]:
        out = [{"AttributeName": self.hash_key, "KeyType": "HASH"}]
        if self.range_key:
            out.append({"AttributeName": self.range_key, "KeyType": "RANGE"})
        return out

    def finish(self) -> Table:
        """Compute derived fields after loading or changing indexes."""
        keys = set(self.key_names)
        for idx in self.indexes:
            if idx.projection_type == "ALL":
                idx.projected = None
            else:
                base = keys | {idx.hash_key} | ({idx.range_key} if idx.range_key else set())
                idx.projected = frozenset(base | set(idx.non_key_attributes if idx.projection_type == "INCLUDE" else []))
        for vec in self.vectors.values():
            vec.finish(self.key_names)
        self.max_limited = self.billing_mode == "PAY_PER_REQUEST" and (
            self.max_units("read") > 0 or self.max_units("write") > 0 or any(self.index_max_units(i, k) > 0 for i in self.gsis for k in ("read", "write"))
        )
        return self

    def max_units(self, kind: str) -> int:
        """The table's maximum on-demand ``kind`` ("read"/"write") units per second; -1: none.
        A replica's own MaxReadRequestUnits override (its entry in the replica map) wins."""
        if kind == "read":
            override = (self.replicas.get(self.region) or {}).get("od_read")
            if override is not None:
                return int(override)
        return int(self.on_demand.get(kind, -1))

    def index_max_units(self, name: str, kind: str) -> int:
        idx = self.gsis.get(name)
        if idx is None:
            return -1
        if kind == "read":
            override = ((self.replicas.get(self.region) or {}).get("gsi_od") or {}).get(name)
            if override is not None:
                return int(override)
        return int(idx.on_demand.get(kind, -1))

    def to_meta(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "hash": [self.hash_key, self.hash_type],
            "range": [self.range_key, self.range_type] if self.range_key else None,
            "attrs": self.attribute_definitions,
            "created": self.created,
            "uuid": self.table_uuid,
            "arn": self.arn,
            "billing": self.billing_mode,
            "rcu": self.read_units,
            "wcu": self.write_units,
            "gsis": [i.to_meta() for i in self.gsis.values()],
            "lsis": [i.to_meta() for i in self.lsis.values()],
            "stream": self.stream,
            "tags": self.tags,
            "ttl": self.ttl,
            "deletion_protection": self.deletion_protection,
            "table_class": self.table_class,
            "sse": self.sse,
            "next_index_id": self.next_index_id,
            "billing_changed": self.billing_changed,
            "decreases": self.decreases,
            "last_increase": self.last_increase,
            "last_decrease": self.last_decrease,
            "extra": self.extra,
            "replicas": self.replicas,
            "od": self.on_demand,
            "warm": self.warm,
            **({"vectors": [v.to_meta() for v in self.vectors.values()]} if self.vectors else {}),
        }

    @classmethod
    def from_meta(cls, table_id: int, m: dict[str, Any], region: str = "") -> Table:
        """The table of stored metadata ``m``; ``region``: the storage row's (default: the
        region of the stored ARN, which is what the row holds too)."""
        rng = m.get("range") or [None, None]
        t = cls(
            table_id=table_id,
            name=m["name"],
            hash_key=m["hash"][0],
            hash_type=m["hash"][1],
            range_key=rng[0],
            range_type=rng[1],
            attribute_definitions=dict(m["attrs"]),
            created=m["created"],
            table_uuid=m["uuid"],
            arn=m["arn"],
            billing_mode=m.get("billing", "PROVISIONED"),
            read_units=m.get("rcu", 0),
            write_units=m.get("wcu", 0),
            gsis={i["name"]: Index.from_meta(i) for i in m.get("gsis", [])},
            lsis={i["name"]: Index.from_meta(i) for i in m.get("lsis", [])},
            stream=m.get("stream"),
            tags=dict(m.get("tags") or {}),
            ttl=dict(m.get("ttl") or {}),
            deletion_protection=bool(m.get("deletion_protection")),
            table_class=m.get("table_class", "STANDARD"),
            sse=m.get("sse"),
            next_index_id=m.get("next_index_id", 1),
            billing_changed=m.get("billing_changed"),
            decreases=m.get("decreases", 0),
            last_increase=m.get("last_increase"),
            last_decrease=m.get("last_decrease"),
            extra=dict(m.get("extra") or {}),
            region=region,
            replicas={r: dict(v) for r, v in (m.get("replicas") or {}).items()},
        )
        t.on_demand = dict(m.get("od") or {})
        t.warm = dict(m.get("warm") or {})
        t.vectors = {v["name"]: VectorIndex.from_meta(v) for v in m.get("vectors") or []}
        return t.finish()

    # -------------------------------------------------------- description
    def on_demand_description(self, od: dict[str, int]) -> dict[str, int] | None:
        """``OnDemandThroughput`` as DescribeTable shows it: on-demand tables only, -1 for no maximum."""
        if self.billing_mode != "PAY_PER_REQUEST":
            return None
        return {"MaxReadRequestUnits": int(od.get("read", -1)), "MaxWriteRequestUnits": int(od.get("write", -1))}

    def warm_description(self, warm: dict[str, int], rcu: int, wcu: int) -> dict[str, Any]:
        """``WarmThroughput``: what was set, else the default; never below the provisioned units."""
        return {
            "ReadUnitsPerSecond": max(int(warm.get("read", DEFAULT_WARM["read"])), rcu),
            "WriteUnitsPerSecond": max(int(warm.get("write", DEFAULT_WARM["write"])), wcu),
            "Status": "ACTIVE",
        }

    def _throughput(self, rcu: int, wcu: int) -> dict[str, Any]:
        out: dict[str, Any] = {"NumberOfDecreasesToday": self.decreases if rcu or wcu else 0, "ReadCapacityUnits": rcu, "WriteCapacityUnits": wcu}
        if self.last_increase and (rcu or wcu):
            out["LastIncreaseDateTime"] = _wire_time(self.last_increase)
        if self.last_decrease and (rcu or wcu):
            out["LastDecreaseDateTime"] = _wire_time(self.last_decrease)
        return out

    def describe(self, counts: dict[int, tuple[int, int]] | None = None, status: str | None = None) -> dict[str, Any]:
        counts = counts or {}
        item_count, size = counts.get(0, (0, 0))
        keys = {self.hash_key, *( [self.range_key] if self.range_key else [])}
        for idx in self.indexes:
            keys.add(idx.hash_key)
            if idx.range_key:
                keys.add(idx.range_key)
        for vec in self.vectors.values():
            keys.update(vec.schema_attributes)
        desc: dict[str, Any] = {
            "AttributeDefinitions": [{"AttributeName": n, "AttributeType": t} for n, t in self.attribute_definitions.items() if n in keys],
            "TableName": self.name,
            "KeySchema": self.key_schema(),
            "TableStatus": status or self.status,
            "CreationDateTime": _wire_time(self.created),
            "ProvisionedThroughput": self._throughput(self.read_units, self.write_units),
            "TableSizeBytes": size,
            "ItemCount": item_count,
            "TableArn": self.arn,
            "TableId": self.table_uuid,
            "DeletionProtectionEnabled": self.deletion_protection,
            "WarmThroughput": self.warm_description(self.warm, self.read_units, self.write_units),
        }
        od = self.on_demand_description(self.on_demand)
        if od is not None:
            desc["OnDemandThroughput"] = od
        if self.billing_mode == "PAY_PER_REQUEST" or self.billing_changed:
            summary: dict[str, Any] = {"BillingMode": self.billing_mode}
            if self.billing_changed and self.billing_mode == "PAY_PER_REQUEST":
                summary["LastUpdateToPayPerRequestDateTime"] = _wire_time(self.billing_changed)
            desc["BillingModeSummary"] = summary
        if self.lsis:
            desc["LocalSecondaryIndexes"] = [
                {
                    "IndexName": i.name,
                    "KeySchema": i.key_schema(),
                    "Projection": i.projection(),
                    "IndexSizeBytes": counts.get(i.index_id, (0, 0))[1],
                    "ItemCount": counts.get(i.index_id, (0, 0))[0],
                    "IndexArn": f"{self.arn}/index/{i.name}",
                }
                for i in self.lsis.values()
            ]
        if self.gsis:
            desc["GlobalSecondaryIndexes"] = [
                {
                    "IndexName": i.name,
                    "KeySchema": i.key_schema(),
                    "Projection": i.projection(),
                    "IndexStatus": i.status,
                    "ProvisionedThroughput": self._throughput(i.read_units, i.write_units),
                    "IndexSizeBytes": counts.get(i.index_id, (0, 0))[1],
                    "ItemCount": counts.get(i.index_id, (0, 0))[0],
                    "IndexArn": f"{self.arn}/index/{i.name}",
                    "WarmThroughput": self.warm_description(i.warm, i.read_units, i.write_units),
                    **({"OnDemandThroughput": od} if (od := self.on_demand_description(i.on_demand)) is not None else {}),
                }
                for i in self.gsis.values()
            ]
        if self.vectors:
            vector_status = "CREATING" if status == "CREATING" else None
            desc["VectorIndexes"] = [v.describe(self.arn, counts.get(v.index_id, (0, 0)), vector_status) for v in self.vectors.values()]
        if self.stream:
            desc["StreamSpecification"] = {"StreamEnabled": bool(self.stream.get("enabled"))}
            if self.stream.get("enabled"):
                desc["StreamSpecification"]["StreamViewType"] = self.stream["view_type"]
            if self.stream.get("label"):
                desc["LatestStreamLabel"] = self.stream["label"]
                desc["LatestStreamArn"] = f"{self.arn}/stream/{self.stream['label']}"
        if self.sse and self.sse.get("Enabled"):
            desc["SSEDescription"] = {
                "Status": "ENABLED",
                "SSEType": self.sse.get("SSEType", "KMS"),
                "KMSMasterKeyArn": self.sse.get("KMSMasterKeyArn") or f"arn:aws:kms:{self.arn.split(':')[3]}:{self.arn.split(':')[4]}:key/{self.table_uuid}",
            }
        if self.table_class != "STANDARD":
            desc["TableClassSummary"] = {"TableClass": self.table_class}
        if self.extra.get("restore_summary"):  # set by emulator/dynamodb/lifecycle/restore.py
            desc["RestoreSummary"] = {**self.extra["restore_summary"], "RestoreInProgress": False}
        return desc


# ----------------------------------------------------------------- parsing
def _parse_key_schema(schema: Any, attrs: dict[str, str], where: str) -> tuple[str, str, str | None, str | None]:
    if not isinstance(schema, list) or not schema:
        raise invalid(f"1 validation error detected: Value null at '{where}' failed to satisfy constraint: Member must not be null")
    if len(schema) > 2:
        raise invalid(f"1 validation error detected: Value '{schema}' at '{where}' failed to satisfy constraint: Member must have length less than or equal to 2")
    hash_name = range_name = None
    for element in schema:
        name, kind = element.get("AttributeName"), element.get("KeyType")
        if kind == "HASH":
            if hash_name is not None:
                raise invalid("Invalid KeySchema: The second KeySchemaElement is not a RANGE key type")
            hash_name = name
        elif kind == "RANGE":
            if range_name is not None:
                raise invalid("Invalid KeySchema: The second KeySchemaElement is not a RANGE key type")
            range_name = name
        else:
            raise invalid(f"1 validation error detected: Value '{kind}' at '{where}.1.member.keyType' failed to satisfy constraint: Member must satisfy enum value set: [HASH, RANGE]")
    if hash_name is None:
        raise invalid("Invalid KeySchema: The first KeySchemaElement is not a HASH key type")
    if schema[0].get("KeyType") != "HASH":
        raise invalid("Invalid KeySchema: The first KeySchemaElement is not a HASH key type")
    if range_name is not None and range_name == hash_name:
        raise invalid("Both the Hash Key and the Range Key element in the KeySchema have the same name")
    missing = [n for n in (hash_name, range_name) if n is not None and n not in attrs]
    if missing:
        raise params_invalid(
            f"Some index key attributes are not defined in AttributeDefinitions. Keys: [{', '.join(n for n in (hash_name, range_name) if n)}], AttributeDefinitions: [{', '.join(attrs)}]"
        )
    return hash_name, attrs[hash_name], range_name, attrs[range_name] if range_name else None


def _parse_attrs(defs: Any) -> dict[str, str]:
    if not isinstance(defs, list):
        raise invalid("1 validation error detected: Value null at 'attributeDefinitions' failed to satisfy constraint: Member must not be null")
    attrs: dict[str, str] = {}
    for d in defs:
        name, typ = d.get("AttributeName"), d.get("AttributeType")
        if typ not in KEY_TYPES:
            raise invalid(
                f"1 validation error detected: Value '{typ}' at 'attributeDefinitions.{len(attrs) + 1}.member.attributeType' failed to satisfy constraint: Member must satisfy enum value set: [B, N, S]"
            )
        if name in attrs:
            raise params_invalid("Cannot have two attributes with the same name")
        attrs[name] = typ
    return attrs


# Above this DynamoDB calls a capacity "out of bounds" (a ValidationException), whatever the account's quotas.
MAX_PROVISIONED_UNITS = 1_000_000_000_000


def _throughput(pt: Any, billing: str, what: str = "") -> tuple[int, int]:
    if billing == "PAY_PER_REQUEST":
        if pt is not None:
            raise params_invalid("Neither ReadCapacityUnits nor WriteCapacityUnits can be specified when BillingMode is PAY_PER_REQUEST")
        return 0, 0
    if pt is None:
        if what:
            raise params_invalid(f"ProvisionedThroughput is not specified for index: {what}")
        raise params_invalid("ReadCapacityUnits and WriteCapacityUnits must both be specified when BillingMode is PROVISIONED")
    r, w = pt.get("ReadCapacityUnits"), pt.get("WriteCapacityUnits")
    for n, v in (("readCapacityUnits", r), ("writeCapacityUnits", w)):
        if not isinstance(v, int) or v < 1:
            raise invalid(f"1 validation error detected: Value '{v}' at 'provisionedThroughput.{n}' failed to satisfy constraint: Member must have value greater than or equal to 1")
    for n, v in (("ReadCapacityUnits", r), ("WriteCapacityUnits", w)):
        if v > MAX_PROVISIONED_UNITS:
            raise invalid(f"Given value {v} for {n} is out of bounds")
    return int(r), int(w)


def _units_value(value: Any, member: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise invalid(f"1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: Member must be a number")
    return int(value)


def parse_on_demand(spec: Any, billing: str, current: dict[str, int], where: str = "onDemandThroughput") -> dict[str, int]:
    """``OnDemandThroughput`` ({MaxReadRequestUnits, MaxWriteRequestUnits}) merged into the
    ``current`` maximums: each at least 1, or -1 to remove the maximum; on-demand tables only."""
    if not isinstance(spec, dict):
        raise invalid(f"1 validation error detected: Value null at '{where}' failed to satisfy constraint: Member must not be null")
    if billing != "PAY_PER_REQUEST":
        raise params_invalid("OnDemandThroughput can only be specified when BillingMode is PAY_PER_REQUEST")
    out = dict(current)
    given = False
    for member, kind in (("MaxReadRequestUnits", "read"), ("MaxWriteRequestUnits", "write")):
        value = spec.get(member)
        if value is None:
            continue
        given = True
        units = _units_value(value, f"{where}.{member[0].lower()}{member[1:]}")
        if units == 0 or units < -1:
            raise params_invalid(f"{member} must be greater than or equal to 1, or -1 to remove the maximum: {units}")
        if units > TABLE_MAX_UNITS:
            raise params_invalid(f"{member} cannot be more than the per-table quota of {TABLE_MAX_UNITS}: {units}")
        if units == -1:
            out.pop(kind, None)
        else:
            out[kind] = units
    if not given:
        raise params_invalid("OnDemandThroughput must specify MaxReadRequestUnits, MaxWriteRequestUnits, or both")
    return out


def parse_warm(spec: Any, current: dict[str, int], rcu: int, wcu: int, where: str = "warmThroughput") -> dict[str, int]:
    """``WarmThroughput`` ({ReadUnitsPerSecond, WriteUnitsPerSecond}) merged into ``current``:
    warm throughput only grows (DynamoDB cannot give back partitions), up to the table quotas."""
    if not isinstance(spec, dict):
        raise invalid(f"1 validation error detected: Value null at '{where}' failed to satisfy constraint: Member must not be null")
    out = dict(current)
    given = False
    for member, kind, provisioned in (("ReadUnitsPerSecond", "read", rcu), ("WriteUnitsPerSecond", "write", wcu)):
        value = spec.get(member)
        if value is None:
            continue
        given = True
        units = _units_value(value, f"{where}.{member[0].lower()}{member[1:]}")
        if units < 1:
            raise invalid(f"1 validation error detected: Value '{units}' at '{where}.{member[0].lower()}{member[1:]}' failed to satisfy constraint: Member must have value greater than or equal to 1")
        now = max(int(current.get(kind, DEFAULT_WARM[kind])), provisioned)
        if units < now:
            raise params_invalid(f"Requested {member} {units} is lower than the current warm throughput {now}: warm throughput cannot be decreased")
        if units > TABLE_MAX_UNITS:
            raise params_invalid(f"Requested {member} {units} is more than the per-table quota of {TABLE_MAX_UNITS}")
        out[kind] = units
    if not given:
        raise params_invalid("WarmThroughput must specify ReadUnitsPerSecond, WriteUnitsPerSecond, or both")
    return out


def parse_index(
    spec: dict[str, Any], kind: str, attrs: dict[str, str], table: Table, billing: str, index_id: int
) -> Index:
    name = check_table_name(spec.get("IndexName"), "indexName")
    h, ht, r, rt = _parse_key_schema(spec.get("KeySchema"), attrs, "keySchema")
    ptype, non_key = parse_projection(spec.get("Projection"), name)
    rcu = wcu = 0
    on_demand: dict[str, int] = {}
    warm: dict[str, int] = {}
    if kind == "GSI":
        rcu, wcu = _throughput(spec.get("ProvisionedThroughput"), billing, name)
        if spec.get("OnDemandThroughput") is not None:
            on_demand = parse_on_demand(spec["OnDemandThroughput"], billing, {}, "globalSecondaryIndexes.member.onDemandThroughput")
        if spec.get("WarmThroughput") is not None:
            warm = parse_warm(spec["WarmThroughput"], {}, rcu, wcu, "globalSecondaryIndexes.member.warmThroughput")
    else:
        if table.range_key is None:
            raise params_invalid("Table KeySchema does not have a range key, which is required when specifying a LocalSecondaryIndex")
        if h != table.hash_key:
            raise params_invalid(
                f"Index KeySchema does not have the same leading hash key as table KeySchema for index: {name}. index hash key: {h}, table hash key: {table.hash_key}"
            )
        if r is None:
            raise params_invalid(f"Index KeySchema does not have a range key for index: {name}")
    idx = Index(name, index_id, kind, h, ht, r, rt, ptype, non_key, rcu, wcu)
    idx.on_demand, idx.warm = on_demand, warm
    return idx


def build_table(params: dict[str, Any], table_id: int, region: str, account: str) -> Table:
    """Validate CreateTable input and build the Table (table_id filled in later)."""
    name = check_table_name(params.get("TableName"))
    attrs = _parse_attrs(params.get("AttributeDefinitions"))
    billing = params.get("BillingMode") or "PROVISIONED"
    if billing not in ("PROVISIONED", "PAY_PER_REQUEST"):
        raise invalid(f"1 validation error detected: Value '{billing}' at 'billingMode' failed to satisfy constraint: Member must satisfy enum value set: [PROVISIONED, PAY_PER_REQUEST]")
    # DynamoDB judges the capacity before the key schema, and a key schema longer than the
    # definitions before which key lacks one.
    rcu, wcu = _throughput(params.get("ProvisionedThroughput"), billing)
    schema = params.get("KeySchema")
    if isinstance(schema, list) and len(schema) <= 2 and len(schema) > len(attrs):
        raise invalid("Invalid KeySchema: Some index key attribute have no definition")
    h, ht, r, rt = _parse_key_schema(schema, attrs, "keySchema")
    now = time.time()
    table = Table(
        table_id=table_id,
        name=name,
        hash_key=h,
        hash_type=ht,
        range_key=r,
        range_type=rt,
        attribute_definitions=attrs,
        created=now,
        table_uuid=str(uuid.uuid4()),
        arn=f"arn:aws:dynamodb:{region}:{account}:table/{name}",
        billing_mode=billing,
        read_units=rcu,
        write_units=wcu,
    )
    if "BillingMode" in params and billing == "PAY_PER_REQUEST":
        table.billing_changed = now
    lsis = params.get("LocalSecondaryIndexes") or []
    gsis = params.get("GlobalSecondaryIndexes") or []
    if params.get("LocalSecondaryIndexes") == [] or params.get("GlobalSecondaryIndexes") == []:
        which = "LocalSecondaryIndexes" if params.get("LocalSecondaryIndexes") == [] else "GlobalSecondaryIndexes"
        raise params_invalid(f"List of {which} is empty")
    if len(lsis) > MAX_LSIS:
        raise params_invalid(f"Number of LocalSecondaryIndexes exceeds per-table limit of {MAX_LSIS}")
    if len(gsis) > MAX_GSIS:
        raise params_invalid(f"GlobalSecondaryIndex count exceeds the per-table limit of {MAX_GSIS}")
    seen: set[str] = set()
    for kind, specs in (("LSI", lsis), ("GSI", gsis)):
        for spec in specs:
            idx = parse_index(spec, kind, attrs, table, billing, table.next_index_id)
            if idx.name in seen:
                raise params_invalid(f"Duplicate index name: {idx.name}")
            seen.add(idx.name)
            table.next_index_id += 1
            (table.lsis if kind == "LSI" else table.gsis)[idx.name] = idx
    vector_specs = params.get("VectorIndexes")
    if vector_specs is not None:
        if not isinstance(vector_specs, list) or not vector_specs:
            raise params_invalid("List of VectorIndexes is empty")
        for n, spec in enumerate(vector_specs, 1):
            vec = parse_vector_index(spec, attrs, table.key_names, table.vectors, table.next_index_id, f"vectorIndexes.{n}.member")
            if vec.name in seen:
                raise params_invalid(f"Duplicate index name: {vec.name}")
            seen.add(vec.name)
            table.next_index_id += 1
            table.vectors[vec.name] = vec
    non_key_total = sum(len(set(i.non_key_attributes)) for i in table.indexes)
    if non_key_total > MAX_NON_KEY_ATTRIBUTES:
        raise params_invalid(f"The number of projected attributes in all indexes exceeds the limit of {MAX_NON_KEY_ATTRIBUTES}, provided: {non_key_total}")
    used = {h, *( [r] if r else [])}
    for idx in table.indexes:
        used.add(idx.hash_key)
        if idx.range_key:
            used.add(idx.range_key)
    for vec in table.vectors.values():
        used.update(vec.schema_attributes)
    if set(attrs) != used:
        raise params_invalid("Number of attributes in KeySchema does not exactly match number of attributes defined in AttributeDefinitions")
    stream = params.get("StreamSpecification")
    if stream:
        table.stream = parse_stream(stream, None)
    sse = params.get("SSESpecification")
    if sse:
        table.sse = dict(sse)
    for tag in params.get("Tags") or []:
        table.tags[tag["Key"]] = tag["Value"]
    table.deletion_protection = bool(params.get("DeletionProtectionEnabled", False))
    table.table_class = params.get("TableClass") or "STANDARD"
    if params.get("OnDemandThroughput") is not None:
        table.on_demand = parse_on_demand(params["OnDemandThroughput"], billing, {})
    if params.get("WarmThroughput") is not None:
        table.warm = parse_warm(params["WarmThroughput"], {}, rcu, wcu)
    return table.finish()


def parse_stream(spec: dict[str, Any], current: dict[str, Any] | None) -> dict[str, Any]:
    enabled = spec.get("StreamEnabled")
    if enabled is None:
        raise invalid("1 validation error detected: Value null at 'streamSpecification.streamEnabled' failed to satisfy constraint: Member must not be null")
    view = spec.get("StreamViewType")
    if enabled:
        if view not in ("NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES", "KEYS_ONLY"):
            raise params_invalid("You must specify a StreamViewType when enabling a stream" if view is None else f"Unknown StreamViewType: {view}")
        if current and current.get("enabled"):
            raise params_invalid("Table already has an enabled stream")
        label = _iso(time.time())
        return {"enabled": True, "view_type": view, "label": label}
    if view is not None:
        raise params_invalid("StreamViewType must not be specified when stream is disabled")
    if not current or not current.get("enabled"):
        raise params_invalid("Table already has stream disabled")
    return {"enabled": False, "view_type": current.get("view_type"), "label": current.get("label")}
