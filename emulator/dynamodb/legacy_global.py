"""Global tables version 2017.11.29 (CreateGlobalTable, DescribeGlobalTable,
ListGlobalTables, UpdateGlobalTable) on the replica machinery of emulator/dynamodb/replicas.py.

A legacy global table is made of tables the caller created beforehand, one per region, each
empty, with the same keys and indexes and a stream of new and old images; the operations
only join them into (or take them out of) one replica group. Each member records the
version and the creation time in its metadata (``extra["global_table"]``).

DescribeGlobalTableSettings / UpdateGlobalTableSettings read and change each member's
capacity, billing mode and table class through UpdateTable's own path (``legacy_settings_*``
here); their auto scaling settings are emulator/dynamodb/autoscaling.py's, which runs them."""

from __future__ import annotations

import copy
import time
from typing import Any

from emulator.dynamodb.replicas import REPLICA_VIEW_TYPE, ReplicaOps, replica_state
from emulator.dynamodb.tables import (
    TABLE_MAX_UNITS,
    Table,
    check_table_name,
    invalid,
    params_invalid,
)
from emulator.errors import AwsError

LEGACY_VERSION = "2017.11.29"


def _not_found(name: Any) -> AwsError:
    return AwsError("GlobalTableNotFoundException", f"Global table with name: '{name}' does not exist.", 400)


def _index_not_found(index: Any, name: str) -> AwsError:
    return AwsError("IndexNotFoundException", f"Requested resource not found: Index: {index} not found in global table {name}", 400)


class LegacyGlobalTables(ReplicaOps):
    def _legacy_arn(self, name: str) -> str:
        return f"arn:aws:dynamodb::{self.account_id}:global-table/{name}"

    def _legacy_group(self, name: Any) -> list[Table]:
        """The members of legacy global table ``name`` (the request's region's first), or []."""
        if not isinstance(name, str):
            return []
        here = self.tables.get((self.current_region(), name))
        if here is not None and here.extra.get("global_table", {}).get("version") == LEGACY_VERSION:
            return self.group_members(here) if here.replicas else [here]
        for table in list(self.tables.values()):
            if table.name == name and table.extra.get("global_table", {}).get("version") == LEGACY_VERSION:
                return self.group_members(table) if table.replicas else [table]
        return []

    def _legacy_description(self, members: list[Table]) -> dict[str, Any]:
        first = members[0]
        now = time.time()
        group = []
        for region, entry in sorted(first.replicas.items()):
            state = replica_state(entry, now)
            if state is not None:
                group.append({"RegionName": region, "ReplicaStatus": state})
        busy = any(g["ReplicaStatus"] != "ACTIVE" for g in group)
        info = first.extra.get("global_table", {})
        return {
            "ReplicationGroup": group,
            "GlobalTableArn": self._legacy_arn(first.name),
            "CreationDateTime": round(float(info.get("created", first.created)), 3),
            "GlobalTableStatus": "UPDATING" if busy else "ACTIVE",
            "GlobalTableName": first.name,
        }

    def _joinable(self, name: str, region: str, model: Table | None) -> Table:
        table = self.tables.get((region, name))
        if table is None:
            raise AwsError("TableNotFoundException", f"Table not found: {name} in region {region}", 400)
        if table.replicas:
            raise AwsError("GlobalTableAlreadyExistsException", "Global table with this name already exists", 400)
        if not (table.stream and table.stream.get("enabled") and table.stream.get("view_type") == REPLICA_VIEW_TYPE):
            raise params_invalid(f"Table: {name} in region {region} must have DynamoDB Streams enabled with StreamViewType NEW_AND_OLD_IMAGES")
        if self.storage.count(table.table_id, 0)[0]:
            raise params_invalid(f"Table: {name} in region {region} must be empty to become a replica of a global table")
        if model is not None and _shape(model) != _shape(table):
            raise params_invalid(f"Table: {name} in region {region} does not have the same key schema and indexes as the other replicas")
        return table

    def create_global_table(self, params: dict[str, Any]) -> dict[str, Any]:
        name = check_table_name(params.get("GlobalTableName"), "globalTableName")
        regions = [r.get("RegionName") for r in params.get("ReplicationGroup") or [] if isinstance(r, dict)]
        if not regions or any(not isinstance(r, str) for r in regions) or len(set(regions)) != len(regions):
            raise params_invalid("ReplicationGroup must name each region once")
        if self._legacy_group(name):
            raise AwsError("GlobalTableAlreadyExistsException", "Global table with this name already exists", 400)
        model: Table | None = None
        members: list[Table] = []
        for region in regions:
            table = self._joinable(name, str(region), model)
            model = model or table
            members.append(table)
        now = time.time()
        group = {t.region: {"status": "ACTIVE"} for t in members}
        try:
            with self.storage.transaction():
                for table in members:
                    table.replicas = copy.deepcopy(group)
                    table.extra["global_table"] = {"version": LEGACY_VERSION, "created": now}
                    self.save_table(table)
        except BaseException:
            self._reload(members)
            raise
        desc = self._legacy_description(members)
        desc["GlobalTableStatus"] = "CREATING"
        return {"GlobalTableDescription": desc}

    def describe_global_table(self, params: dict[str, Any]) -> dict[str, Any]:
        name = check_table_name(params.get("GlobalTableName"), "globalTableName")
        members = self._legacy_group(name)
        if not members:
            raise _not_found(name)
        return {"GlobalTableDescription": self._legacy_description(members)}

    def list_global_tables(self, params: dict[str, Any]) -> dict[str, Any]:
        limit = params.get("Limit", 100)
        if not isinstance(limit, int) or limit < 1:
            raise invalid(f"1 validation error detected: Value '{limit}' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1")
        region = params.get("RegionName")
        start = params.get("ExclusiveStartGlobalTableName")
        found: dict[str, list[dict[str, str]]] = {}
        now = time.time()
        for table in list(self.tables.values()):
            if table.extra.get("global_table", {}).get("version") != LEGACY_VERSION or table.name in found:
                continue
            regions = sorted(r for r, e in table.replicas.items() if replica_state(e, now) is not None)
            if region is not None and region not in regions:
                continue
            found[table.name] = [{"RegionName": r} for r in regions]
        names = sorted(n for n in found if start is None or n > start)
        out: dict[str, Any] = {"GlobalTables": [{"GlobalTableName": n, "ReplicationGroup": found[n]} for n in names[:limit]]}
        if len(names) > limit:
            out["LastEvaluatedGlobalTableName"] = names[limit - 1]
        return out

    def update_global_table(self, params: dict[str, Any]) -> dict[str, Any]:
        name = check_table_name(params.get("GlobalTableName"), "globalTableName")
        members = self._legacy_group(name)
        if not members:
            raise _not_found(name)
        updates = params.get("ReplicaUpdates") or []
        if len(updates) != 1 or not isinstance(updates[0], dict):
            raise params_invalid("Exactly one replica update is allowed per UpdateGlobalTable request")
        now = time.time()
        self._check_group_idle(members[0], now)
        update = updates[0]
        regions = {t.region: t for t in members}
        if update.get("Create") is not None:
            region = update["Create"].get("RegionName")
            if region in regions:
                raise AwsError("ReplicaAlreadyExistsException", f"Replica already exists in region {region}", 400)
            table = self._joinable(name, str(region), members[0])
            group = {r: dict(e) for r, e in members[0].replicas.items() if replica_state(e, now) is not None}
            group[table.region] = {"status": "CREATING", "until": now + self.replica_delay}
            info = dict(members[0].extra.get("global_table", {}))
            try:
                with self.storage.transaction():
                    for member in [*members, table]:
                        member.replicas = copy.deepcopy(group)
                        member.extra["global_table"] = dict(info)
                        self.save_table(member)
            except BaseException:
                self._reload([*members, table])
                raise
            members.append(table)
        elif update.get("Delete") is not None:
            region = update["Delete"].get("RegionName")
            leaving = regions.get(region)
            if leaving is None:
                raise AwsError("ReplicaNotFoundException", f"Replica not found in region {region}", 400)
            with self.storage.transaction():
                self.leave_group(leaving, drop=False, now=now)
                leaving.extra.pop("global_table", None)
                self.save_table(leaving)
            members = [m for m in members if m is not leaving]
            if not members:
                raise _not_found(name)
        else:
            raise params_invalid("A replica update must specify Create or Delete")
        return {"GlobalTableDescription": self._legacy_description(members)}


    # ------------------------------- settings (DescribeGlobalTableSettings, UpdateGlobalTableSettings)
    # The capacity part; the auto scaling part is emulator/dynamodb/autoscaling.py's.
    def legacy_settings_members(self, name: Any) -> list[Table]:
        name = check_table_name(name, "globalTableName")
        members = self._legacy_group(name)
        if not members:
            raise _not_found(name)
        return members

    def legacy_settings_plan(self, params: dict[str, Any]) -> tuple[list[Table], dict[str, dict[str, Any]], str]:
        """Check an UpdateGlobalTableSettings request (its auto scaling updates' targets too)
        and plan it: the members, the UpdateTable each one needs (by region), the billing mode
        the global table will have."""
        members = self.legacy_settings_members(params.get("GlobalTableName"))
        name = members[0].name
        self._check_group_idle(members[0], time.time())
        model = members[0]
        billing = params.get("GlobalTableBillingMode")
        if billing is not None and billing not in ("PROVISIONED", "PAY_PER_REQUEST"):
            raise invalid(
                f"1 validation error detected: Value '{billing}' at 'globalTableBillingMode' failed to satisfy constraint: Member must satisfy enum value set: [PROVISIONED, PAY_PER_REQUEST]"
            )
        target_billing = str(billing or model.billing_mode)
        wcu = params.get("GlobalTableProvisionedWriteCapacityUnits")
        gsi_updates = params.get("GlobalTableGlobalSecondaryIndexSettingsUpdate") or []
        replica_updates = params.get("ReplicaSettingsUpdate") or []
        gsi_write: dict[str, int] = {}
        for g in gsi_updates:
            index = g.get("IndexName") if isinstance(g, dict) else None
            if index not in model.gsis:
                raise _index_not_found(index, name)
            if index in gsi_write or any(x is not g and x.get("IndexName") == index for x in gsi_updates):
                raise params_invalid(f"Duplicate global secondary index settings update for index {index}")
            if g.get("ProvisionedWriteCapacityUnits") is not None:
                gsi_write[str(index)] = g["ProvisionedWriteCapacityUnits"]
        by_region = {m.region: m for m in members}
        replica_read: dict[str, int] = {}
        replica_gsi_read: dict[str, dict[str, int]] = {}
        replica_class: dict[str, str] = {}
        for r in replica_updates:
            region = r.get("RegionName") if isinstance(r, dict) else None
            if region not in by_region:
                raise AwsError("ReplicaNotFoundException", f"Replica not found in region {region}", 400)
            if region in replica_gsi_read:
                raise params_invalid(f"Duplicate replica settings update for region {region}")
            reads = replica_gsi_read.setdefault(str(region), {})
            if r.get("ReplicaProvisionedReadCapacityUnits") is not None:
                replica_read[str(region)] = r["ReplicaProvisionedReadCapacityUnits"]
            for g in r.get("ReplicaGlobalSecondaryIndexSettingsUpdate") or []:
                index = g.get("IndexName") if isinstance(g, dict) else None
                if index not in by_region[str(region)].gsis:
                    raise _index_not_found(index, name)
                if g.get("ProvisionedReadCapacityUnits") is not None:
                    reads[str(index)] = g["ProvisionedReadCapacityUnits"]
            klass = r.get("ReplicaTableClass")
            if klass is not None:
                if klass not in ("STANDARD", "STANDARD_INFREQUENT_ACCESS"):
                    raise invalid(
                        f"1 validation error detected: Value '{klass}' at 'replicaSettingsUpdate.member.replicaTableClass' failed to satisfy constraint: "
                        "Member must satisfy enum value set: [STANDARD_INFREQUENT_ACCESS, STANDARD]"
                    )
                replica_class[str(region)] = klass
        units = [wcu, *gsi_write.values(), *replica_read.values(), *(u for d in replica_gsi_read.values() for u in d.values())]
        for value in units:
            if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1 or value > TABLE_MAX_UNITS):
                raise params_invalid(f"Provisioned capacity units must be between 1 and {TABLE_MAX_UNITS}: {value}")
        if target_billing == "PAY_PER_REQUEST" and (wcu is not None or gsi_write or replica_read or any(replica_gsi_read.values())):
            raise params_invalid("Provisioned capacity units cannot be specified for a global table in PAY_PER_REQUEST billing mode")
        switching = billing == "PROVISIONED" and model.billing_mode != "PROVISIONED"
        if switching and wcu is None:
            raise params_invalid("GlobalTableProvisionedWriteCapacityUnits must be specified when GlobalTableBillingMode is PROVISIONED")
        per_region: dict[str, dict[str, Any]] = {}
        for m in members:
            p: dict[str, Any] = {"TableName": m.name}
            if billing is not None and billing != m.billing_mode:
                p["BillingMode"] = billing
            if target_billing == "PROVISIONED":
                # Switching from on-demand, what is not given takes the write capacity given.
                was = m.billing_mode == "PROVISIONED"
                w = wcu if wcu is not None else m.write_units
                rd = replica_read.get(m.region, m.read_units if was else w)
                if "BillingMode" in p or (rd, w) != (m.read_units, m.write_units):
                    p["ProvisionedThroughput"] = {"ReadCapacityUnits": rd, "WriteCapacityUnits": w}
                gsi_changes = []
                for idx in m.gsis.values():
                    gw = gsi_write.get(idx.name, idx.write_units if was else w)
                    gr = replica_gsi_read.get(m.region, {}).get(idx.name, idx.read_units if was else gw)
                    if "BillingMode" in p or (gr, gw) != (idx.read_units, idx.write_units):
                        gsi_changes.append({"Update": {"IndexName": idx.name, "ProvisionedThroughput": {"ReadCapacityUnits": gr, "WriteCapacityUnits": gw}}})
                if gsi_changes:
                    p["GlobalSecondaryIndexUpdates"] = gsi_changes
            if m.region in replica_class and replica_class[m.region] != m.table_class:
                p["TableClass"] = replica_class[m.region]
            if len(p) > 1:
                per_region[m.region] = p
        return members, per_region, target_billing

    def legacy_settings_apply(self, members: list[Table], per_region: dict[str, dict[str, Any]]) -> None:
        """The planned UpdateTable of each member, through UpdateTable's own path, in one transaction."""
        if not per_region:
            return
        try:
            with self.storage.transaction():
                for m in members:
                    if m.region in per_region:
                        self._update_one(m, per_region[m.region])  # type: ignore[attr-defined]
        except BaseException:
            self._reload(members)
            raise


def _shape(table: Table) -> Any:
    """What must be the same in every replica of a legacy global table."""
    return (
        table.key_schema(),
        {n: t for n, t in table.attribute_definitions.items()},
        sorted((i.name, tuple(map(str, i.key_schema())), i.projection_type) for i in table.gsis.values()),
        sorted((i.name, tuple(map(str, i.key_schema())), i.projection_type) for i in table.lsis.values()),
    )

