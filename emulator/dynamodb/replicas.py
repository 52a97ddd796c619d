"""Global tables (version 2019.11.21): replicas of a table in other regions.

A replica is the table of the same name in another region. Every member of a global table
keeps the same replica map in its metadata (``Table.replicas``: region -> that replica's
settings and state, its own region included), so each region describes the group alone and
the group survives restarts with the tables (both storage engines keep the metadata).
Item changes reach the other replicas inside the writer's own storage transaction
(``EngineCore.replicate``), through the one write path the engine has.

States change after ``replica_delay`` seconds, as AWS's take a while: a new replica is
CREATING (its table CREATING, the others UPDATING) until then, a removed one DELETING in
the others' ``Replicas`` (its table is gone at once). The map stores the time each state
ends, so the state is computed where it is read and needs no background task.
"""

from __future__ import annotations

import copy
import time
import uuid
from collections.abc import Callable
from typing import Any

from emulator.dynamodb.core import EngineCore, dumps, loads
from emulator.dynamodb.tables import (
    TABLE_MAX_UNITS,
    Table,
    _iso,
    invalid,
    params_invalid,
)
from emulator.dynamodb.types import item_size
from emulator.dynamodb.vector_store import backfill as vector_backfill
from emulator.errors import AwsError
from emulator.regions import REGION_RE

GLOBAL_TABLE_VERSION = "2019.11.21"
REPLICA_VIEW_TYPE = "NEW_AND_OLD_IMAGES"
_TABLE_CLASSES = ("STANDARD", "STANDARD_INFREQUENT_ACCESS")
# Whether the table's write capacity (``dynamodb:table:WriteCapacityUnits``) is under
# Application Auto Scaling in a region: (region, table name) -> bool. Set by the handler.
AutoScaled = Callable[[str, str], bool]


def replica_state(entry: dict[str, Any], now: float) -> str | None:
    """The ReplicaStatus a map entry stands for now; None once a DELETING one is gone."""
    status = str(entry.get("status") or "ACTIVE")
    if entry.get("until", 0.0) > now:
        return status
    return None if status == "DELETING" else "ACTIVE"


def in_use(name: str) -> AwsError:
    return AwsError("ResourceInUseException", f"Attempt to change a resource which is still in use: Table is being updated: {name}", 400)


class ReplicaOps(EngineCore):
    # Seconds a replica stays CREATING/UPDATING/DELETING (setting ``replica_activation_delay``).
    replica_delay: float = 0.5
    autoscaled: AutoScaled | None = None

    # ----------------------------------------------------------- reading
    def group_members(self, table: Table) -> list[Table]:
        """The tables of ``table``'s global table that exist now (``table`` first)."""
        out = [table]
        for region, entry in table.replicas.items():
            if region == table.region or entry.get("status") == "DELETING":
                continue
            other = self.tables.get((region, table.name))
            if other is not None and table.region in other.replicas:
                out.append(other)
        return out

    def describe_replicas(self, table: Table, desc: dict[str, Any], now: float | None = None) -> None:
        """Add ``GlobalTableVersion`` and ``Replicas`` (every other region of the global
        table, as DescribeTable lists them on AWS) to a TableDescription, and the status a
        change of the group gives the table itself."""
        if not table.replicas:
            return
        now = time.time() if now is None else now
        replicas: list[dict[str, Any]] = []
        busy = False
        for region, entry in sorted(table.replicas.items()):
            state = replica_state(entry, now)
            if region == table.region:
                if state == "CREATING":
                    desc["TableStatus"] = "CREATING"
                continue
            if state is None:
                continue
            busy = busy or state != "ACTIVE"
            replicas.append(self._replica_description(table, region, entry, state))
        if not replicas:
            return  # the last other replica is gone: a plain table again
        if busy and desc.get("TableStatus") == "ACTIVE":
            desc["TableStatus"] = "UPDATING"
        desc["GlobalTableVersion"] = str(table.extra.get("global_table", {}).get("version") or GLOBAL_TABLE_VERSION)
        desc["Replicas"] = replicas

    def _replica_description(self, table: Table, region: str, entry: dict[str, Any], state: str) -> dict[str, Any]:
        out: dict[str, Any] = {
            "RegionName": region,
            "ReplicaStatus": state,
            "ReplicaArn": f"arn:aws:dynamodb:{region}:{self.account_id}:table/{table.name}",
        }
        if state == "CREATING":
            out["ReplicaStatusPercentProgress"] = "0"
        if entry.get("kms"):
            out["KMSMasterKeyId"] = entry["kms"]
        if entry.get("rcu") is not None:
            out["ProvisionedThroughputOverride"] = {"ReadCapacityUnits": entry["rcu"]}
        if entry.get("od_read") is not None:
            out["OnDemandThroughputOverride"] = {"MaxReadRequestUnits": entry["od_read"]}
        gsi_rcu: dict[str, int] = entry.get("gsis") or {}
        gsi_od: dict[str, int] = entry.get("gsi_od") or {}
        if table.gsis and state != "DELETING":
            gsis = []
            for name in table.gsis:
                g: dict[str, Any] = {"IndexName": name}
                if gsi_rcu.get(name) is not None:
                    g["ProvisionedThroughputOverride"] = {"ReadCapacityUnits": gsi_rcu[name]}
                if gsi_od.get(name) is not None:
                    g["OnDemandThroughputOverride"] = {"MaxReadRequestUnits": gsi_od[name]}
                gsis.append(g)
            out["GlobalSecondaryIndexes"] = gsis
        out["ReplicaTableClassSummary"] = {"TableClass": entry.get("table_class") or table.table_class}
        return out

    # -------------------------------------------------------- validation
    def _check_settings(self, table: Table, spec: dict[str, Any], where: str) -> dict[str, Any]:
        """The replica settings of a Create/Update action (checked), as the map keeps them."""
        out: dict[str, Any] = {}
        kms = spec.get("KMSMasterKeyId")
        if kms is not None:
            if not isinstance(kms, str) or not kms:
                raise params_invalid(f"Invalid KMSMasterKeyId in {where}")
            out["kms"] = kms
        pt = spec.get("ProvisionedThroughputOverride")
        if pt is not None:
            if table.billing_mode != "PROVISIONED":
                raise params_invalid("ProvisionedThroughputOverride is not supported for tables with PAY_PER_REQUEST billing mode")
            rcu = pt.get("ReadCapacityUnits") if isinstance(pt, dict) else None
            if not isinstance(rcu, int) or isinstance(rcu, bool) or rcu < 1:
                raise invalid(
                    f"1 validation error detected: Value '{rcu}' at 'replicaUpdates.1.member.{where}.provisionedThroughputOverride.readCapacityUnits' "
                    "failed to satisfy constraint: Member must have value greater than or equal to 1"
                )
            out["rcu"] = rcu
        od = spec.get("OnDemandThroughputOverride")
        if od is not None:
            out["od_read"] = self._check_od_override(table, od, f"replicaUpdates.1.member.{where}.onDemandThroughputOverride")
        gsis = spec.get("GlobalSecondaryIndexes")
        if gsis is not None:
            overrides: dict[str, int] = {}
            od_overrides: dict[str, int] = {}
            for g in gsis:
                name = g.get("IndexName")
                if name not in table.gsis:
                    raise AwsError("ResourceNotFoundException", f"Requested resource not found: Index: {name} not found", 400)
                gpt = g.get("ProvisionedThroughputOverride")
                if gpt is not None:
                    if table.billing_mode != "PROVISIONED":
                        raise params_invalid("ProvisionedThroughputOverride is not supported for tables with PAY_PER_REQUEST billing mode")
                    rcu = gpt.get("ReadCapacityUnits")
                    if not isinstance(rcu, int) or isinstance(rcu, bool) or rcu < 1:
                        raise invalid(f"1 validation error detected: Value '{rcu}' at 'readCapacityUnits' failed to satisfy constraint: Member must have value greater than or equal to 1")
                    overrides[name] = rcu
                god = g.get("OnDemandThroughputOverride")
                if god is not None:
                    od_overrides[name] = self._check_od_override(table, god, "onDemandThroughputOverride")
            out["gsis"] = overrides
            if od_overrides:
                out["gsi_od"] = od_overrides
        klass = spec.get("TableClassOverride")
        if klass is not None:
            if klass not in _TABLE_CLASSES:
                raise invalid(
                    f"1 validation error detected: Value '{klass}' at 'replicaUpdates.1.member.{where}.tableClassOverride' failed to satisfy constraint: "
                    "Member must satisfy enum value set: [STANDARD_INFREQUENT_ACCESS, STANDARD]"
                )
            out["table_class"] = klass
        return out

    @staticmethod
    def _check_od_override(table: Table, spec: Any, where: str) -> int:
        """A replica's (or its GSI's) MaxReadRequestUnits override: the only member of
        OnDemandThroughputOverride (writes reach every replica, so their maximum is the
        table's); at least 1, or -1 for no maximum in that replica."""
        if table.billing_mode != "PAY_PER_REQUEST":
            raise params_invalid("OnDemandThroughputOverride is not supported for tables with PROVISIONED billing mode")
        value = spec.get("MaxReadRequestUnits") if isinstance(spec, dict) else None
        if not isinstance(value, int) or isinstance(value, bool):
            raise invalid(f"1 validation error detected: Value '{value}' at '{where}.maxReadRequestUnits' failed to satisfy constraint: Member must not be null")
        if value == 0 or value < -1:
            raise params_invalid(f"MaxReadRequestUnits must be greater than or equal to 1, or -1 to remove the maximum: {value}")
        if value > TABLE_MAX_UNITS:
            raise params_invalid(f"MaxReadRequestUnits cannot be more than the per-table quota of {TABLE_MAX_UNITS}: {value}")
        return value

    @staticmethod
    def _region_of(spec: Any, where: str) -> str:
        region = spec.get("RegionName") if isinstance(spec, dict) else None
        if not isinstance(region, str):
            raise invalid(f"1 validation error detected: Value null at 'replicaUpdates.1.member.{where}.regionName' failed to satisfy constraint: Member must not be null")
        if not REGION_RE.match(region):
            raise params_invalid(f"Invalid region name: {region}")
        return region

    def _check_group_idle(self, table: Table, now: float) -> None:
        """One change of a global table at a time: UpdateTable is refused while a replica
        is still being created, updated or deleted (the table is UPDATING meanwhile)."""
        for entry in table.replicas.values():
            state = replica_state(entry, now)
            if state is not None and state != "ACTIVE":
                raise in_use(table.name)

    # ----------------------------------------------------------- changes
    def replica_update(self, table: Table, updates: Any) -> None:
        """UpdateTable's ``ReplicaUpdates``: one Create, Update, Delete or Disassociate."""
        if not isinstance(updates, list) or not updates:
            raise invalid("1 validation error detected: Value '[]' at 'replicaUpdates' failed to satisfy constraint: Member must have length greater than or equal to 1")
        if len(updates) > 1:
            raise params_invalid("Only one replica update is allowed per UpdateTable request")
        update = updates[0] if isinstance(updates[0], dict) else {}
        actions = [k for k in ("Create", "Update", "Delete", "Disassociate") if update.get(k) is not None]
        if len(actions) != 1:
            raise params_invalid("Exactly one of Create, Update, Delete or Disassociate must be specified in a replica update")
        if table.extra.get("global_table"):
            raise params_invalid(f"Table {table.name} is a replica of a global table of version {table.extra['global_table'].get('version')}: use UpdateGlobalTable")
        now = time.time()
        self._check_group_idle(table, now)
        action = actions[0]
        if action == "Create":
            self._create_replica(table, update["Create"], now)
        elif action == "Update":
            self._update_replica(table, update["Update"], now)
        elif action == "Delete":
            region = self._region_of(update["Delete"], "delete")
            if region != table.region and (region not in table.replicas or replica_state(table.replicas[region], now) in (None, "DELETING")):
                raise params_invalid(f"Cannot delete replica in region {region}: the table {table.name} has no replica there")
            target = table if region == table.region else self.tables.get((region, table.name))
            if target is None:
                raise params_invalid(f"Cannot delete replica in region {region}: the table {table.name} has no replica there")
            if region == table.region and len(self.group_members(table)) < 2:
                raise params_invalid(f"Cannot delete replica in region {region}: the table {table.name} has no replica there")
            if target.deletion_protection:
                raise invalid("Resource cannot be deleted as it is currently protected against deletion. Disable deletion protection first.")
            self.leave_group(target, drop=True, now=now)
        else:
            if len(self.group_members(table)) < 2:
                raise params_invalid(f"Table {table.name} is not a replica of a global table")
            self.leave_group(table, drop=False, now=now)

    def _create_replica(self, table: Table, spec: Any, now: float) -> None:
        region = self._region_of(spec, "create")
        if region == table.region:
            raise params_invalid(f"Cannot add a replica of table {table.name} in the table's own region {region}")
        entry = table.replicas.get(region)
        if entry is not None and replica_state(entry, now) is not None and entry.get("status") != "DELETING":
            raise params_invalid(f"Table {table.name} already has a replica in region {region}")
        if (region, table.name) in self.tables:
            raise invalid(f"Failed to create a new replica of table with name: '{table.name}' because one or more replicas already existed as tables.")
        if table.billing_mode == "PROVISIONED" and not (self.autoscaled is not None and self.autoscaled(table.region, table.name)):
            raise params_invalid("Table write capacity should either be Pay-Per-Request or AutoScaled.")
        if table.stream and table.stream.get("enabled") and table.stream.get("view_type") != REPLICA_VIEW_TYPE:
            raise params_invalid(f"Table {table.name} has a stream of view type {table.stream.get('view_type')}: replicas require a stream of view type {REPLICA_VIEW_TYPE}")
        settings = self._check_settings(table, spec, "create")
        members = self.group_members(table)
        group = {r: dict(e) for r, e in table.replicas.items() if replica_state(e, now) is not None} or {table.region: {"status": "ACTIVE"}}
        group[region] = {"status": "CREATING", "until": now + self.replica_delay, **settings}
        replica = self._replica_table(table, region, settings, now)
        try:
            with self.storage.transaction():
                if not (table.stream and table.stream.get("enabled")):
                    # Replication needs the change log: DynamoDB turns the stream on
                    # (new and old images) when a table gets its first replica.
                    label = _iso(now)
                    for member in members:
                        member.stream = {"enabled": True, "view_type": REPLICA_VIEW_TYPE, "label": label}
                    replica.stream = {"enabled": True, "view_type": REPLICA_VIEW_TYPE, "label": label}
                replica.replicas = copy.deepcopy(group)
                replica.finish()  # its own MaxReadRequestUnits override may limit it
                replica.table_id = self.storage.create_table(region, replica.name, replica.to_meta())
                self._copy_items(table, replica)
                for member in members:
                    member.replicas = copy.deepcopy(group)
                    member.finish()
                    self.save_table(member)
        except KeyError as exc:
            self._reload(members)
            raise invalid(f"Failed to create a new replica of table with name: '{table.name}' because one or more replicas already existed as tables.") from exc
        except BaseException:
            self._reload(members)
            raise
        self.tables[replica.key] = replica

    def _replica_table(self, table: Table, region: str, settings: dict[str, Any], now: float) -> Table:
        """The new replica's table: the same schema, indexes, billing, stream and TTL in
        ``region``, with the replica's own overrides. Tags, deletion protection, backups and
        resource policies are each region's own (as on AWS)."""
        meta = copy.deepcopy(table.to_meta())
        meta.update(
            arn=f"arn:aws:dynamodb:{region}:{self.account_id}:table/{table.name}",
            uuid=str(uuid.uuid4()),
            created=now,
            tags={},
            deletion_protection=False,
            extra={},
            replicas={},
            billing_changed=None,
            decreases=0,
            last_increase=None,
            last_decrease=None,
        )
        replica = Table.from_meta(0, meta, region)
        if replica.stream and replica.stream.get("enabled"):
            replica.stream = {**replica.stream, "label": _iso(now)}
        self._apply_settings(replica, settings)
        return replica

    @staticmethod
    def _apply_settings(replica: Table, settings: dict[str, Any]) -> None:
        if settings.get("rcu") is not None:
            replica.read_units = settings["rcu"]
        for name, rcu in (settings.get("gsis") or {}).items():
            if name in replica.gsis:
                replica.gsis[name].read_units = rcu
        if settings.get("table_class"):
            replica.table_class = settings["table_class"]
        if settings.get("kms"):
            replica.sse = {"Enabled": True, "SSEType": "KMS", "KMSMasterKeyId": settings["kms"]}

    def _copy_items(self, source: Table, replica: Table) -> None:
        """Every item of ``source`` into the new replica and its indexes (no stream records:
        the replica's stream starts with the changes made after it was created)."""
        st = self.storage
        for row in list(st.scan(source.table_id, 0)):
            st.put(replica.table_id, 0, row.pk, row.sk, row.data, row.size or item_size(loads(row.data)))
            if not replica.indexes:
                continue
            item = loads(row.data)
            for idx in replica.indexes:
                rk = self.index_row_key(replica, idx, item, (row.pk, row.sk))
                if rk is not None:
                    proj = self.project(idx, item)
                    st.put(replica.table_id, idx.index_id, rk[0], rk[1], dumps(proj), item_size(proj))
        for vec in replica.vectors.values():  # vector indexes (emulator/dynamodb/vector_store.py)
            vector_backfill(st, replica, vec, dumps, loads)

    def _update_replica(self, table: Table, spec: Any, now: float) -> None:
        region = self._region_of(spec, "update")
        entry = table.replicas.get(region)
        target = self.tables.get((region, table.name))
        if entry is None or replica_state(entry, now) in (None, "DELETING") or target is None:
            raise params_invalid(f"Cannot update replica in region {region}: the table {table.name} has no replica there")
        settings = self._check_settings(table, spec, "update")
        members = self.group_members(table)
        group = {r: dict(e) for r, e in table.replicas.items() if replica_state(e, now) is not None}
        merged = {**group[region], **settings}
        if settings.get("gsis"):
            merged["gsis"] = {**(group[region].get("gsis") or {}), **settings["gsis"]}
        if settings.get("gsi_od"):
            merged["gsi_od"] = {**(group[region].get("gsi_od") or {}), **settings["gsi_od"]}
        merged.update(status="UPDATING", until=now + self.replica_delay)
        group[region] = merged
        try:
            with self.storage.transaction():
                self._apply_settings(target, settings)
                for member in members:
                    member.replicas = copy.deepcopy(group)
                    member.finish()  # the override changes what limits the target
                    self.save_table(member)
        except BaseException:
            self._reload(members)
            raise

    def leave_group(self, table: Table, drop: bool, now: float | None = None) -> None:
        """``table`` leaves its global table: deleted (``drop``: DeleteTable, or a replica
        Delete) or kept as a plain regional table (Disassociate). The others list it as
        DELETING for a while, then no more; the last one left is a plain table again."""
        now = time.time() if now is None else now
        members = self.group_members(table)
        others = [m for m in members if m is not table]
        group = {r: dict(e) for r, e in table.replicas.items() if r != table.region and replica_state(e, now) is not None}
        group[table.region] = {"status": "DELETING", "until": now + self.replica_delay}
        try:
            with self.storage.transaction():
                for member in others:
                    member.replicas = copy.deepcopy(group)
                    self.save_table(member)
                if drop:
                    self.drop_table(table)
                else:
                    table.replicas = {}
                    table.finish()  # its replica override no longer applies
                    self.save_table(table)
        except BaseException:
            self._reload(members)
            raise

    def drop_table(self, table: Table) -> None:
        """Delete a table, its items and its resource-based policies."""
        self.storage.delete_table(table.table_id)
        self.tables.pop(table.key, None)
        forget = getattr(getattr(self, "resource_policies", None), "forget_table", None)
        if forget is not None:
            forget(table.arn)

    def _reload(self, tables: list[Table]) -> None:
        """After a rolled-back change: the stored metadata of ``tables`` again."""
        ids = {t.table_id: t for t in tables}
        for row in self.storage.list_tables():
            if row.table_id in ids:
                self.tables[(row.region, row.name)] = Table.from_meta(row.table_id, row.meta, row.region)
