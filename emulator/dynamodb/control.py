"""Control plane: tables, indexes, tags, TTL, limits and endpoints."""

from __future__ import annotations

import time
from typing import Any

from emulator.dynamodb.core import (
    EngineCore,
    ItemKey,
    dumps,
    loads,
    not_found,
    ref_name,
    split_table_arn,
)
from emulator.dynamodb.policies import ResourcePolicies, check_policy, new_revision
from emulator.dynamodb.replicas import ReplicaOps
from emulator.dynamodb.storage.base import TableCache
from emulator.dynamodb.tables import (
    MAX_GSIS,
    Table,
    _parse_attrs,
    _throughput,
    build_table,
    check_table_name,
    invalid,
    params_invalid,
    parse_index,
    parse_on_demand,
    parse_stream,
    parse_warm,
)
from emulator.dynamodb.types import item_size
from emulator.dynamodb.vector_schema import VectorIndex, parse_vector_index
from emulator.dynamodb.vector_store import backfill as vector_backfill
from emulator.errors import AwsError


class ControlPlane(ReplicaOps, EngineCore):
    resource_policies: ResourcePolicies

    # ------------------------------------------------------------ helpers
    def _counts(self, table: Table) -> dict[int, tuple[int, int]]:
        out = {0: self.storage.count(table.table_id, 0)}
        for idx in table.indexes:
            out[idx.index_id] = self.storage.count(table.table_id, idx.index_id)
        for vec in table.vectors.values():
            out[vec.index_id] = self.storage.count(table.table_id, vec.index_id)
        return out

    def describe(self, table: Table, status: str | None = None) -> dict[str, Any]:
        desc = table.describe(self._counts(table), status)
        if table.replicas:
            self.describe_replicas(table, desc)
            if status is not None:
                desc["TableStatus"] = status
        return desc

    def _table_for_control(self, name: Any) -> Table:
        table = self.find_table(name)
        if table is None:
            name = ref_name(name)
            check_table_name(name)
            raise not_found(f"Requested resource not found: Table: {name} not found")
        return table

    # -------------------------------------------------------------- tables
    def create_table(self, params: dict[str, Any], region: str | None = None) -> dict[str, Any]:
        """A table of ``region`` (default: the request's): the same name may exist in other
        regions, each an independent table (as on AWS)."""
        table = build_table(params, 0, region or self.current_region(), self.account_id)
        text = params.get("ResourcePolicy")
        # Checked as PutResourcePolicy checks it, before anything is created.
        policy = check_policy(text, table.arn, "table", table.arn) if text is not None else None
        if table.key in self.tables:
            raise AwsError("ResourceInUseException", f"Table already exists: {table.name}", 400)
        try:
            with self.storage.transaction():  # the table and its policy, or neither
                table.table_id = self.storage.create_table(table.region, table.name, table.to_meta())
                if policy is not None:
                    self.storage.policy_put(table.table_id, table.arn, str(text), new_revision(None))
        except KeyError as exc:
            raise AwsError("ResourceInUseException", f"Table already exists: {table.name}", 400) from exc
        self.tables[table.key] = table
        if policy is not None:
            self.resource_policies.set(table.arn, policy)
        # Tables are usable at once; AWS reports CREATING in the CreateTable answer
        # and ACTIVE from DescribeTable on, which is what waiters expect.
        return {"TableDescription": self.describe(table, "CREATING")}

    def delete_table(self, params: dict[str, Any]) -> dict[str, Any]:
        table = self._table_for_control(params.get("TableName"))
        if table.deletion_protection:
            raise invalid("Resource cannot be deleted as it is currently protected against deletion. Disable deletion protection first.")
        desc = self.describe(table, "DELETING")
        if table.replicas:
            # A replica of a global table: this region's replica goes, the others stay
            # (and list it as DELETING for a while).
            self._check_group_idle(table, time.time())
            self.leave_group(table, drop=True)
        else:
            self.drop_table(table)  # its resource-based policies too
        if table.vectors:
            self.vector_cache.forget(table.table_id)
        return {"TableDescription": desc}

    def describe_table(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"Table": self.describe(self._table_for_control(params.get("TableName")))}

    def tables_size_bytes(self, limit: int = 100) -> float:
        """Total TableSizeBytes of (up to ``limit``) tables of every region: the account's
        storage, which the cost telemetry bills (emulator/monitoring)."""
        total = 0.0
        for table in list(self.tables.values())[:limit]:
            total += float(self.storage.count(table.table_id, 0)[1])
        return total

    def list_tables(self, params: dict[str, Any]) -> dict[str, Any]:
        limit = params.get("Limit", 100)
        if not isinstance(limit, int) or limit < 1 or limit > 100:
            raise invalid(
                f"1 validation error detected: Value '{limit}' at 'limit' failed to satisfy constraint: "
                + ("Member must have value greater than or equal to 1" if isinstance(limit, int) and limit < 1 else "Member must have value less than or equal to 100")
            )
        start = params.get("ExclusiveStartTableName")
        # The request's region only: tables are regional.
        region = self.current_region()
        names = self.tables.names(region) if isinstance(self.tables, TableCache) else sorted(n for r, n in self.tables if r == region)
        if start is not None:
            names = [n for n in names if n > start]
        out: dict[str, Any] = {"TableNames": names[:limit]}
        if len(names) > limit:
            out["LastEvaluatedTableName"] = names[limit - 1]
        return out

    def update_table(self, params: dict[str, Any]) -> dict[str, Any]:
        table = self._table_for_control(params.get("TableName"))
        if params.get("ReplicaUpdates") is not None:
            return self._update_replicas(table, params)
        shared = {k: params[k] for k in self._GROUP_SETTINGS if params.get(k) is not None}
        members = self.group_members(table) if table.replicas and shared else [table]
        if len(members) < 2:
            return self._update_one(table, params)
        # A global table's schema and capacity mode are the same in every replica: the
        # change is made in all of them, in one transaction.
        self._check_group_idle(table, time.time())
        try:
            with self.storage.transaction():
                out = self._update_one(table, params)
                for member in members[1:]:
                    self._update_one(member, {"TableName": member.name, **shared})
        except BaseException:
            self._reload(members)
            raise
        return out

    # UpdateTable members DynamoDB applies to every replica of a global table.
    # The maximum on-demand throughput and the warm throughput are too (a replica may only
    # override its MaxReadRequestUnits, through ReplicaUpdates).
    _GROUP_SETTINGS = (
        "AttributeDefinitions",
        "BillingMode",
        "ProvisionedThroughput",
        "GlobalSecondaryIndexUpdates",
        "OnDemandThroughput",
        "WarmThroughput",
        "VectorIndexUpdates",
    )

    def _update_one(self, table: Table, params: dict[str, Any]) -> dict[str, Any]:
        changed = False
        new_attrs = _parse_attrs(params["AttributeDefinitions"]) if params.get("AttributeDefinitions") is not None else {}
        billing = params.get("BillingMode")
        now = time.time()
        if billing is not None and billing not in ("PROVISIONED", "PAY_PER_REQUEST"):
            raise invalid(
                f"1 validation error detected: Value '{billing}' at 'billingMode' failed to satisfy constraint: Member must satisfy enum value set: [PROVISIONED, PAY_PER_REQUEST]"
            )
        target_billing = billing or table.billing_mode
        pt = params.get("ProvisionedThroughput")
        gsi_updates = params.get("GlobalSecondaryIndexUpdates") or []
        if billing == "PROVISIONED" and pt is None:
            raise params_invalid("ProvisionedThroughput must be specified when BillingMode is PROVISIONED")
        _check_gsi_updates(gsi_updates)
        if billing is not None and billing != table.billing_mode:
            changed = True
        if pt is not None:
            rcu, wcu = _throughput(pt, target_billing)
            if billing is None and target_billing == "PROVISIONED" and (rcu, wcu) == (table.read_units, table.write_units) and not gsi_updates:
                raise invalid(
                    "The provisioned throughput for the table will not change. The requested value equals the current value. "
                    f"Current ReadCapacityUnits provisioned for the table: {table.read_units}. Requested ReadCapacityUnits: {rcu}. "
                    f"Current WriteCapacityUnits provisioned for the table: {table.write_units}. Requested WriteCapacityUnits: {wcu}. "
                    "Refer to the Amazon DynamoDB Developer Guide for current limits and how to request higher limits."
                )
        creates = [u["Create"] for u in gsi_updates if u.get("Create")]
        deletes = [u["Delete"] for u in gsi_updates if u.get("Delete")]
        updates = [u["Update"] for u in gsi_updates if u.get("Update")]
        vector_plan = self._vector_plan(table, params.get("VectorIndexUpdates"), new_attrs)
        if len(creates) + len(deletes) + (1 if vector_plan else 0) > 1:
            raise AwsError("LimitExceededException", "Subscriber limit exceeded: Only 1 online index can be created or deleted simultaneously per table", 400)
        # Validate everything before changing anything.
        attrs = dict(table.attribute_definitions)
        for name, typ in new_attrs.items():
            if name in attrs and attrs[name] != typ:
                raise params_invalid(f"Cannot change the type of an existing attribute: {name}")
            attrs[name] = typ
        new_index = None
        for spec in creates:
            name = spec.get("IndexName")
            if name in table.gsis or name in table.lsis or name in table.vectors:
                raise invalid("Attempting to create an index which already exists")
            if len(table.gsis) >= MAX_GSIS:
                raise params_invalid(f"GlobalSecondaryIndex count exceeds the per-table limit of {MAX_GSIS}")
            new_index = parse_index(spec, "GSI", attrs, table, target_billing, table.next_index_id)
        for spec in deletes:
            if spec.get("IndexName") not in table.gsis:
                raise not_found(f"Requested resource not found: Index: {spec.get('IndexName')} not found")
        # The table's new maximum on-demand and warm throughput, and each updated GSI's.
        throughput: dict[str, Any] = {}
        if params.get("OnDemandThroughput") is not None:
            throughput["od"] = parse_on_demand(params["OnDemandThroughput"], target_billing, table.on_demand)
        if params.get("WarmThroughput") is not None:
            rcu, wcu = _throughput(pt, target_billing) if pt is not None else (table.read_units, table.write_units)
            throughput["warm"] = parse_warm(params["WarmThroughput"], table.warm, rcu, wcu)
        for spec in updates:
            name = spec.get("IndexName")
            if name not in table.gsis:
                raise not_found(f"Requested resource not found: Index: {name} not found")
            idx = table.gsis[name]
            od, warm = spec.get("OnDemandThroughput"), spec.get("WarmThroughput")
            if spec.get("ProvisionedThroughput") is not None or (od is None and warm is None):
                _throughput(spec.get("ProvisionedThroughput"), target_billing, name)
            if od is not None:
                throughput[f"od:{name}"] = parse_on_demand(od, target_billing, idx.on_demand, "globalSecondaryIndexUpdates.member.update.onDemandThroughput")
            if warm is not None:
                throughput[f"warm:{name}"] = parse_warm(warm, idx.warm, idx.read_units, idx.write_units, "globalSecondaryIndexUpdates.member.update.warmThroughput")
        stream = params.get("StreamSpecification")
        new_stream = parse_stream(stream, table.stream) if stream is not None else None
        if not any((changed, pt is not None, gsi_updates, vector_plan, stream is not None, params.get("SSESpecification"), params.get("TableClass"), "DeletionProtectionEnabled" in params, throughput)):
            raise invalid(
                "At least one of ProvisionedThroughput, BillingMode, UpdateStreamEnabled, GlobalSecondaryIndexUpdates or SSESpecification or ReplicaUpdates is required"
            )
        if billing == "PROVISIONED" and table.billing_mode != "PROVISIONED":
            # A maximum on-demand throughput means nothing to a provisioned table: it goes.
            throughput.setdefault("od", {})
            for name in table.gsis:
                throughput.setdefault(f"od:{name}", {})

        before = self.describe(table) if deletes or (vector_plan and vector_plan[0] == "Delete") else {}
        try:
            self._apply_update(table, params, billing, pt, updates, deletes, new_index, attrs, new_stream, now, throughput, vector_plan)
        except BaseException:
            # Storage rolled back: drop the half-changed in-memory view too.
            self._reload_table(table)
            raise
        desc = self.describe(self.tables[table.key])
        # The change is done at once (DescribeTable says ACTIVE from now on, which is
        # what waiters and polling loops expect), but the answer reads as AWS's does:
        # the table UPDATING, a new index CREATING (not yet backfilled, empty), a
        # deleted one still listed as DELETING.
        if changed or pt is not None or gsi_updates or vector_plan or stream is not None or throughput:
            desc["TableStatus"] = "UPDATING"
        if vector_plan:
            self._describe_vector_change(desc, before, vector_plan)
        gsis = desc.get("GlobalSecondaryIndexes", [])
        for gsi in gsis:
            if new_index is not None and gsi["IndexName"] == new_index.name:
                gsi.update(IndexStatus="CREATING", Backfilling=False, IndexSizeBytes=0, ItemCount=0)
            elif any(spec.get("IndexName") == gsi["IndexName"] for spec in updates):
                gsi["IndexStatus"] = "UPDATING"
        deleted = {spec.get("IndexName") for spec in deletes}
        for gsi in before.get("GlobalSecondaryIndexes", []):
            if gsi["IndexName"] in deleted:
                gsis.append({**gsi, "IndexStatus": "DELETING"})
        if gsis:
            desc["GlobalSecondaryIndexes"] = gsis
        return {"TableDescription": desc}

    # Members of UpdateTable besides the table's name that change something.
    _TABLE_CHANGES = (
        "AttributeDefinitions",
        "BillingMode",
        "ProvisionedThroughput",
        "GlobalSecondaryIndexUpdates",
        "StreamSpecification",
        "SSESpecification",
        "TableClass",
        "DeletionProtectionEnabled",
        "OnDemandThroughput",
        "WarmThroughput",
        "VectorIndexUpdates",
    )

    def _update_replicas(self, table: Table, params: dict[str, Any]) -> dict[str, Any]:
        """UpdateTable with ``ReplicaUpdates`` (global tables version 2019.11.21)."""
        others = [m for m in self._TABLE_CHANGES if params.get(m) is not None]
        if others:
            raise params_invalid(f"ReplicaUpdates cannot be combined with other table updates in the same request: {', '.join(others)}")
        self.replica_update(table, params["ReplicaUpdates"])
        current = self.tables.get(table.key)
        if current is None:  # the request's own region left (Delete of its replica)
            return {"TableDescription": table.describe({}, "DELETING")}
        return {"TableDescription": self.describe(current)}

    def _reload_table(self, table: Table) -> None:
        for row in self.storage.list_tables():
            if row.table_id == table.table_id:
                self.tables[table.key] = Table.from_meta(row.table_id, row.meta, row.region)

    def _apply_update(
        self,
        table: Table,
        params: dict[str, Any],
        billing: str | None,
        pt: dict[str, Any] | None,
        updates: list[dict[str, Any]],
        deletes: list[dict[str, Any]],
        new_index: Any,
        attrs: dict[str, str],
        new_stream: dict[str, Any] | None,
        now: float,
        throughput: dict[str, Any] | None = None,
        vector_plan: tuple[str, Any] | None = None,
    ) -> None:
        with self.storage.transaction():
            if vector_plan is not None:
                self._apply_vector_change(table, vector_plan, attrs)
            if billing is not None and billing != table.billing_mode:
                table.billing_mode = billing
                table.billing_changed = now
                if billing == "PAY_PER_REQUEST":
                    table.read_units = table.write_units = 0
                    for idx in table.gsis.values():
                        idx.read_units = idx.write_units = 0
            if pt is not None:
                rcu, wcu = _throughput(pt, table.billing_mode)
                if rcu > table.read_units or wcu > table.write_units:
                    table.last_increase = now
                if rcu < table.read_units or wcu < table.write_units:
                    table.last_decrease = now
                    table.decreases += 1
                table.read_units, table.write_units = rcu, wcu
            for spec in updates:
                idx = table.gsis[spec["IndexName"]]
                if spec.get("ProvisionedThroughput") is not None or table.billing_mode == "PAY_PER_REQUEST":
                    idx.read_units, idx.write_units = _throughput(spec.get("ProvisionedThroughput"), table.billing_mode, spec["IndexName"])
            for what, value in (throughput or {}).items():
                kind, _, index_name = what.partition(":")
                target: Any = table.gsis.get(index_name) if index_name else table
                if target is None:
                    continue
                if kind == "od":
                    target.on_demand = value
                else:
                    target.warm = value
            for spec in deletes:
                idx = table.gsis.pop(spec["IndexName"])
                self.storage.delete_index(table.table_id, idx.index_id)
            if new_index is not None:
                table.next_index_id += 1
                table.gsis[new_index.name] = new_index
                table.attribute_definitions = attrs
                table.finish()
                self._backfill(table, new_index.name)
            if new_stream is not None:
                table.stream = new_stream
            if params.get("SSESpecification"):
                table.sse = dict(params["SSESpecification"])
            if params.get("TableClass"):
                table.table_class = params["TableClass"]
            if "DeletionProtectionEnabled" in params:
                table.deletion_protection = bool(params["DeletionProtectionEnabled"])
            # Drop definitions no longer used by any key.
            used = set(table.key_names)
            for idx in table.indexes:
                used.update(n for n in (idx.hash_key, idx.range_key) if n)
            for vec in table.vectors.values():
                used.update(vec.schema_attributes)
            table.attribute_definitions = {n: t for n, t in {**table.attribute_definitions, **attrs}.items() if n in used}
            table.finish()
            self.save_table(table)

    def _backfill(self, table: Table, index_name: str) -> None:
        """Index every existing item into a new GSI (items whose key attributes
        have another type than the index's are skipped, as AWS's backfill does)."""
        idx = table.gsis[index_name]
        for row in list(self.storage.scan(table.table_id, 0)):
            item = loads(row.data)
            rk = self.index_row_key(table, idx, item, (row.pk, row.sk))
            if rk is None:
                continue
            proj = self.project(idx, item)
            self.storage.put(table.table_id, idx.index_id, rk[0], rk[1], dumps(proj), item_size(proj))

    # ------------------------------------------------------- vector indexes
    def _vector_plan(self, table: Table, spec: Any, new_attrs: dict[str, str]) -> tuple[str, Any] | None:
        """UpdateTable ``VectorIndexUpdates``, validated: ("Create", VectorIndex) or
        ("Delete", name); one index created or deleted per UpdateTable, as for GSIs."""
        if spec is None:
            return None
        if not isinstance(spec, list) or not spec:
            raise params_invalid("List of VectorIndexUpdates is empty")
        if len(spec) > 1:
            raise AwsError("LimitExceededException", "Subscriber limit exceeded: Only 1 online index can be created or deleted simultaneously per table", 400)
        update = spec[0] if isinstance(spec[0], dict) else {}
        create, delete = update.get("Create"), update.get("Delete")
        if (create is None) == (delete is None):
            raise params_invalid("One and only one of Create or Delete must be specified in a VectorIndexUpdate")
        if delete is not None:
            name = delete.get("IndexName") if isinstance(delete, dict) else None
            if not isinstance(name, str):
                raise invalid("1 validation error detected: Value null at 'vectorIndexUpdates.1.member.delete.indexName' failed to satisfy constraint: Member must not be null")
            if name not in table.vectors:
                raise not_found(f"Requested resource not found: Vector index: {name} not found")
            return "Delete", name
        attrs = dict(table.attribute_definitions)
        for name, typ in new_attrs.items():
            if name in attrs and attrs[name] != typ:
                raise params_invalid(f"Cannot change the type of an existing attribute: {name}")
            attrs[name] = typ
        name = create.get("IndexName") if isinstance(create, dict) else None
        if name in table.gsis or name in table.lsis or name in table.vectors:
            raise invalid("Attempting to create an index which already exists")
        vec = parse_vector_index(create, attrs, table.key_names, table.vectors, table.next_index_id, "vectorIndexUpdates.1.member.create")
        return "Create", vec

    def _apply_vector_change(self, table: Table, plan: tuple[str, Any], attrs: dict[str, str]) -> None:
        """Inside _apply_update's transaction: a new index is backfilled from every item at
        once (DescribeTable shows it ACTIVE from then on); a deleted one loses its rows."""
        action, what = plan
        if action == "Delete":
            vec = table.vectors.pop(what)
            self.storage.delete_index(table.table_id, vec.index_id)
            self.vector_cache.forget(table.table_id, vec.index_id)
            return
        new: VectorIndex = what
        table.next_index_id += 1
        table.vectors[new.name] = new
        for name in new.schema_attributes:
            table.attribute_definitions[name] = attrs[name]
        table.finish()
        self.vector_cache.forget(table.table_id, new.index_id)
        vector_backfill(self.storage, table, new, dumps, loads)

    @staticmethod
    def _describe_vector_change(desc: dict[str, Any], before: dict[str, Any], plan: tuple[str, Any]) -> None:
        """The UpdateTable answer, as AWS's reads: a new vector index CREATING (not yet
        backfilled, empty), a deleted one still listed as DELETING."""
        action, what = plan
        vectors: list[dict[str, Any]] = desc.get("VectorIndexes", [])
        if action == "Create":
            for entry in vectors:
                if entry["IndexName"] == what.name:
                    entry.update(IndexStatus="CREATING", Backfilling=False, IndexSizeBytes=0, ItemCount=0)
        else:
            for entry in before.get("VectorIndexes", []):
                if entry["IndexName"] == what:
                    vectors.append({**entry, "IndexStatus": "DELETING"})
        if vectors:
            desc["VectorIndexes"] = vectors

    # ---------------------------------------------------------------- tags
    @staticmethod
    def _check_table_arn(arn: Any) -> None:
        if not isinstance(arn, str) or not arn.startswith("arn:") or ":table/" not in arn:
            raise invalid(f"Invalid TableArn: Invalid ResourceArn provided as input {arn}")

    def _table_by_arn(self, arn: Any) -> Table:
        self._check_table_arn(arn)
        # The ARN's region must be the request's: another region's table is not visible here.
        table = self.find_table(arn) if split_table_arn(arn) is not None else None
        if table is None or (table.arn != arn and arn.split(":")[4] != self.account_id):
            raise not_found(f"Requested resource not found: ResourcArn: {arn} not found")
        return table

    def tag_resource(self, params: dict[str, Any]) -> dict[str, Any]:
        # An empty list is refused (in DynamoDB's words, typo included) before the table is looked up.
        self._check_table_arn(params.get("ResourceArn"))
        if params.get("Tags") == []:
            raise invalid("Atleast one Tag needs to be provided as Input.")
        table = self._table_by_arn(params.get("ResourceArn"))
        tags = params.get("Tags") or []
        merged = dict(table.tags)
        for tag in tags:
            key, value = tag.get("Key"), tag.get("Value")
            if not isinstance(key, str) or not 1 <= len(key) <= 128 or key.startswith("aws:"):
                raise invalid("One or more parameter values were invalid: Invalid tag key" if key and key.startswith("aws:") else f"Invalid tag key: {key}")
            if not isinstance(value, str) or len(value) > 256:
                raise invalid(f"Invalid tag value: {value}")
            merged[key] = value
        if len(merged) > 50:
            raise invalid("One or more parameter values were invalid: The number of tags exceeds the limit of 50")
        table.tags = merged
        self.save_table(table)
        return {}

    def untag_resource(self, params: dict[str, Any]) -> dict[str, Any]:
        self._check_table_arn(params.get("ResourceArn"))
        if params.get("TagKeys") == []:
            raise invalid("Atleast one Tag Key needs to be provided as Input.")
        table = self._table_by_arn(params.get("ResourceArn"))
        for key in params.get("TagKeys") or []:
            table.tags.pop(key, None)
        self.save_table(table)
        return {}

    def list_tags_of_resource(self, params: dict[str, Any]) -> dict[str, Any]:
        table = self._table_by_arn(params.get("ResourceArn"))
        items = sorted(table.tags.items())
        start = int(params["NextToken"]) if str(params.get("NextToken") or "").isdigit() else 0
        page = items[start : start + 100]
        out: dict[str, Any] = {"Tags": [{"Key": k, "Value": v} for k, v in page]}
        if start + 100 < len(items):
            out["NextToken"] = str(start + 100)
        return out

    # ----------------------------------------------------------------- TTL
    def update_time_to_live(self, params: dict[str, Any]) -> dict[str, Any]:
        table = self._table_for_control(params.get("TableName"))
        spec = params.get("TimeToLiveSpecification") or {}
        enabled = spec.get("Enabled")
        attr = spec.get("AttributeName")
        if not isinstance(attr, str) or not attr:
            raise invalid("1 validation error detected: Value null at 'timeToLiveSpecification.attributeName' failed to satisfy constraint: Member must not be null")
        currently = bool(table.ttl.get("enabled"))
        if enabled and currently:
            raise invalid("TimeToLive is already enabled")
        if not enabled and not currently:
            raise invalid("TimeToLive is already disabled")
        if not enabled and table.ttl.get("attribute") != attr:
            raise invalid("TimeToLive is active on a different AttributeName: current AttributeName is " + str(table.ttl.get("attribute")))
        # A global table's TTL setting is the same in every replica.
        with self.storage.transaction():
            for member in self.group_members(table) if table.replicas else [table]:
                member.ttl = {"enabled": bool(enabled), "attribute": attr}
                self.save_table(member)
        return {"TimeToLiveSpecification": {"Enabled": bool(enabled), "AttributeName": attr}}

    def describe_time_to_live(self, params: dict[str, Any]) -> dict[str, Any]:
        table = self._table_for_control(params.get("TableName"))
        if table.ttl.get("enabled"):
            return {"TimeToLiveDescription": {"TimeToLiveStatus": "ENABLED", "AttributeName": table.ttl["attribute"]}}
        return {"TimeToLiveDescription": {"TimeToLiveStatus": "DISABLED"}}

    # --------------------------------------------------------------- misc
    def describe_continuous_backups(self, params: dict[str, Any]) -> dict[str, Any]:
        name = params.get("TableName")
        if self.find_table(name) is None:
            check_table_name(ref_name(name))
            raise AwsError("TableNotFoundException", f"Table not found: {name}", 400)
        return {
            "ContinuousBackupsDescription": {
                "ContinuousBackupsStatus": "ENABLED",
                "PointInTimeRecoveryDescription": {"PointInTimeRecoveryStatus": "DISABLED"},
            }
        }

    def describe_limits(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "AccountMaxReadCapacityUnits": 80000,
            "AccountMaxWriteCapacityUnits": 80000,
            "TableMaxReadCapacityUnits": 40000,
            "TableMaxWriteCapacityUnits": 40000,
        }

    def key_for(self, table: Table, key: dict[str, Any]) -> ItemKey:
        return self.key_from_key(table, key)


def _check_gsi_updates(gsi_updates: list[Any]) -> None:
    """DynamoDB's checks of GlobalSecondaryIndexUpdates as a whole, before the limit of one
    index created or deleted at a time (texts as dynalite copied them from DynamoDB)."""
    seen: set[Any] = set()
    for update in gsi_updates:
        action = next((update.get(a) for a in ("Update", "Create", "Delete") if isinstance(update, dict) and update.get(a)), None)
        if action is None:
            raise params_invalid(
                "One of GlobalSecondaryIndexUpdate.Update, GlobalSecondaryIndexUpdate.Create, GlobalSecondaryIndexUpdate.Delete must not be null"
            )
        name = action.get("IndexName") if isinstance(action, dict) else None
        if name in seen:
            raise params_invalid(f"Only one global secondary index update per index is allowed simultaneously. Index: {name}")
        seen.add(name)
