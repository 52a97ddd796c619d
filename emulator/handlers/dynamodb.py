"""DynamoDB's operations: thin wrappers over emulator.dynamodb.engine."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from emulator.context import RequestContext
from emulator.dynamodb.core import REGION, USAGE, Capacity
from emulator.dynamodb.engine import DynamoDBEngine
from emulator.dynamodb.insights import ContributorInsights
from emulator.dynamodb.policies import KeepsAccess
from emulator.dynamodb.storage import open_storage
from emulator.dynamodb.types import prepared_item
from emulator.dynamodb.wire import compile_checker, value_members
from emulator.errors import AwsError
from emulator.handlers.base import ServiceHandler, operation
from emulator.handlers.dynamodb_lifecycle import LifecycleOperations


class DynamoDBHandler(LifecycleOperations, ServiceHandler):
    service = "dynamodb"

    def __init__(self, runtime: Any) -> None:
        super().__init__(runtime)
        settings = runtime.settings
        storage = open_storage(settings.storage, settings.data_dir, settings.sqlite_synchronous)
        self.engine = DynamoDBEngine(storage, settings.region, settings.account_id)
        runtime.components["dynamodb"] = self.engine
        from emulator.dynamodb.lifecycle import Lifecycle  # streams, TTL, backups, PITR

        self.lifecycle = Lifecycle(self.engine, settings)
        self.lifecycle.kinesis.fallback = runtime.fallback  # Kinesis destinations deliver into moto's streams
        self.lifecycle.autoscaling.fallback = getattr(runtime, "fallback", None)  # Application Auto Scaling is moto's
        runtime.components["dynamodb_lifecycle"] = self.lifecycle
        self.engine.autoscaled = self._write_autoscaled
        self.insights = ContributorInsights(self.engine, runtime.components)

    def _write_autoscaled(self, region: str, name: str) -> bool:
        """Whether Application Auto Scaling (moto's, in this account) scales the table's
        write capacity: AWS adds a replica to a provisioned table only then."""
        fallback = getattr(self.runtime, "fallback", None)
        if fallback is None:
            return False
        try:
            backend = fallback.backend("applicationautoscaling", region)
        except (KeyError, ValueError, ImportError):  # no such region in moto: nothing is scaled there
            return False
        targets = getattr(backend, "targets", {}).get("dynamodb:table:WriteCapacityUnits", {})
        return f"table/{name}" in targets

    async def start(self) -> None:
        self.engine.open()
        self.insights.attach()  # the CloudWatch engine of this process, if it runs one
        capacity = self.runtime.components.get("dynamodb_capacity")
        if capacity is not None:
            capacity.on_throttle = self.insights.throttled
        await self.lifecycle.start()
        # Resource-based policies take part in authorization (emulator/gateway/authorize.py)
        # wherever signatures are checked, once the storage that keeps them is open.
        authorizer = self.runtime.components.get("authorizer")
        if authorizer is not None and hasattr(authorizer, "resource_policies") and self.runtime.settings.auth:
            authorizer.resource_policies = self.engine.resource_policies

    async def stop(self) -> None:
        authorizer = self.runtime.components.get("authorizer")
        if authorizer is not None and getattr(authorizer, "resource_policies", None) is self.engine.resource_policies:
            authorizer.resource_policies = None
        await self.lifecycle.stop()
        self.engine.close()

    async def reset(self) -> None:
        # Everything the engine and its lifecycle keep (emulator.dynamodb.lifecycle.Lifecycle.reset).
        await self.lifecycle.reset()
        self.engine.vector_cache.clear()  # the matrices of the vector indexes just forgotten
        self.insights.reset()  # the managed rules of the tables just forgotten
        # The gateway's provisioned-capacity buckets are kept by table name: a new table
        # of the same name must not inherit an old one's debt.
        capacity = self.runtime.components.get("dynamodb_capacity")
        if capacity is not None:
            capacity.reset()

    def health(self) -> dict[str, Any]:
        return self.engine.health()

    @staticmethod
    def _check_types(ctx: RequestContext, params: dict[str, Any]) -> None:
        if ctx.operation is not None:
            checker = compile_checker(ctx.operation.input_shape)
            if checker is not None:
                checker(params)

    # Every answer waits until what it wrote or read is durable (group commit:
    # the writes of one event-loop iteration share one COMMIT, one fsync).
    async def _write(self, ctx: RequestContext, fn: Callable[[dict[str, Any]], dict[str, Any]], params: dict[str, Any], checked: bool = False) -> dict[str, Any]:
        """``checked``: the caller has made ``_check_types``'s checks already."""
        if not checked:
            self._check_types(ctx, params)
        self.engine.begin_group()
        try:
            out = self._metered(ctx, fn, params)
            if self.insights.targets:  # Contributor Insights enabled on some table: the one check otherwise
                self.insights.observe(ctx.operation_name, params, ctx.telemetry.get("consumed_capacity"), ctx.region)
            return out
        finally:
            self.lifecycle.autoscaling.consumed(ctx.region, ctx.telemetry.get("consumed_capacity"))
            if await self.engine.durable():
                ctx.answer_at_once = True

    async def _read(self, ctx: RequestContext, fn: Callable[[dict[str, Any]], dict[str, Any]], params: dict[str, Any]) -> dict[str, Any]:
        self._check_types(ctx, params)
        try:
            out = self._metered(ctx, fn, params)
            if self.insights.targets:  # Contributor Insights enabled on some table: the one check otherwise
                self.insights.observe(ctx.operation_name, params, ctx.telemetry.get("consumed_capacity"), ctx.region)
        finally:
            # What was consumed is auto scaling's utilization (emulator/dynamodb/autoscaling.py).
            self.lifecycle.autoscaling.consumed(ctx.region, ctx.telemetry.get("consumed_capacity"))
        if not self.engine.settled and await self.engine.durable():
            ctx.answer_at_once = True
        return out

    # Items leave as stored (JSON, see emulator.dynamodb.core.raw_item) where the protocol
    # embeds pre-encoded JSON: a 20-item Query page is then neither decoded nor re-encoded.
    def _raw_get_item(self, params: dict[str, Any]) -> dict[str, Any]:
        return self.engine.get_item(params, raw=True)

    def _raw_query(self, params: dict[str, Any]) -> dict[str, Any]:
        return self.engine.query(params, raw=True)

    def _raw_scan(self, params: dict[str, Any]) -> dict[str, Any]:
        return self.engine.scan(params, raw=True)

    def _throughput(self, ctx: RequestContext) -> _Throughput | None:
        """The gateway's capacity limiter bound to this batch (None when none runs here)."""
        capacity = self.runtime.components.get("dynamodb_capacity")
        return None if capacity is None else _Throughput(capacity, ctx)

    @staticmethod
    def _metered(ctx: RequestContext, fn: Callable[[dict[str, Any]], dict[str, Any]], params: dict[str, Any]) -> dict[str, Any]:
        """Run ``fn`` and leave what it consumed in ``ctx.telemetry["consumed_capacity"]``
        ({"read", "write", "tables": {name: {"read", "write"}}}) for the gateway's
        capacity limiter and the metrics. Tables are regional: ``fn`` finds them in the
        request's region (``ctx.region``, from the SigV4 credential scope)."""
        usage: list[Capacity] = []
        token = USAGE.set(usage)
        region_token = REGION.set(ctx.region)
        try:
            return fn(params)
        finally:
            REGION.reset(region_token)
            USAGE.reset(token)
            if len(usage) == 1 and not usage[0].indexes:
                # One table, no index: what the loop below comes to, without it.
                cap = usage[0]
                read, write = 0.0 + cap.read, 0.0 + cap.write  # floats, as the sums below give
                ctx.telemetry["consumed_capacity"] = {"read": read, "write": write, "tables": {cap.table: {"read": read, "write": write}}, "indexes": {}}
            elif usage:
                tables: dict[str, dict[str, float]] = {}
                # What each index consumed: the limit of an on-demand GSI's maximum throughput.
                indexes: dict[str, dict[str, dict[str, float]]] = {}
                for cap in usage:
                    entry = tables.setdefault(cap.table, {"read": 0.0, "write": 0.0})
                    entry["read"] += cap.read_total
                    entry["write"] += cap.write_total
                    for name, (_kind, r, w) in cap.indexes.items():
                        used = indexes.setdefault(cap.table, {}).setdefault(name, {"read": 0.0, "write": 0.0})
                        used["read"] += r
                        used["write"] += w
                ctx.telemetry["consumed_capacity"] = {
                    "read": sum(t["read"] for t in tables.values()),
                    "write": sum(t["write"] for t in tables.values()),
                    "tables": tables,
                    "indexes": indexes,
                }

    # ------------------------------------------------------------ tables
    @operation("CreateTable")
    async def create_table(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return await self._write(ctx, lambda p: self.engine.create_table(p, ctx.region), params)

    @operation("DeleteTable")
    async def delete_table(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return await self._write(ctx, self.engine.delete_table, params)

    @operation("DescribeTable")
    async def describe_table(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return await self._read(ctx, self.engine.describe_table, params)

    @operation("ListTables")
    async def list_tables(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return await self._read(ctx, self.engine.list_tables, params)

    @operation("UpdateTable")
    async def update_table(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return await self._write(ctx, self.engine.update_table, params)

    # ------------------------------------------------------ vector search
    @operation("SearchVectors")
    async def search_vectors(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        from emulator.dynamodb.vectors import search_vectors

        return await self._read(ctx, lambda p: search_vectors(self.engine, p), params)

    # -------------------------------------------- global tables (2017.11.29)
    @operation("CreateGlobalTable")
    async def create_global_table(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return await self._write(ctx, self.engine.create_global_table, params)

    @operation("DescribeGlobalTable")
    async def describe_global_table(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return await self._read(ctx, self.engine.describe_global_table, params)

    @operation("ListGlobalTables")
    async def list_global_tables(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return await self._read(ctx, self.engine.list_global_tables, params)

    @operation("UpdateGlobalTable")
    async def update_global_table(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return await self._write(ctx, self.engine.update_global_table, params)

    # ------------- global table settings and replica auto scaling (emulator/dynamodb/autoscaling.py)
    @operation("DescribeGlobalTableSettings")
    async def describe_global_table_settings(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return await self._lifecycle(ctx, self.lifecycle.autoscaling.describe_global_table_settings, params)

    @operation("UpdateGlobalTableSettings")
    async def update_global_table_settings(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return await self._lifecycle(ctx, self.lifecycle.autoscaling.update_global_table_settings, params)

    @operation("DescribeTableReplicaAutoScaling")
    async def describe_table_replica_auto_scaling(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return await self._lifecycle(ctx, self.lifecycle.autoscaling.describe_table_replica_auto_scaling, params)

    @operation("UpdateTableReplicaAutoScaling")
    async def update_table_replica_auto_scaling(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return await self._lifecycle(ctx, self.lifecycle.autoscaling.update_table_replica_auto_scaling, params)

    @operation("DescribeLimits")
    async def describe_limits(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return await self._read(ctx, self.engine.describe_limits, params)

    @operation("DescribeEndpoints")
    def describe_endpoints(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        # Endpoint discovery must keep clients on this server, not send them to AWS.
        host = ctx.request.headers.get("host") or f"{self.runtime.settings.host}:{self.runtime.settings.port}"
        return {"Endpoints": [{"Address": host, "CachePeriodInMinutes": 1440}]}

    @operation("TagResource")
    async def tag_resource(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return await self._write(ctx, self.engine.tag_resource, params)

    @operation("UntagResource")
    async def untag_resource(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return await self._write(ctx, self.engine.untag_resource, params)

    @operation("ListTagsOfResource")
    async def list_tags_of_resource(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return await self._read(ctx, self.engine.list_tags_of_resource, params)

    @operation("UpdateTimeToLive")
    async def update_time_to_live(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return await self._write(ctx, self.engine.update_time_to_live, params)

    @operation("DescribeTimeToLive")
    async def describe_time_to_live(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return await self._read(ctx, self.engine.describe_time_to_live, params)

    # ---------------------------------------------- resource-based policies
    def _keeps_access(self, ctx: RequestContext) -> KeepsAccess | None:
        """Whether the caller would still be allowed dynamodb:PutResourcePolicy with a new
        policy in place (PutResourcePolicy's ConfirmRemoveSelfResourceAccess)."""
        remote = self.runtime.components.get("dynamodb_keeps_access")  # a cluster role: the gateway's answer (emulator/cluster/policies.py)
        if remote is not None:
            return remote(ctx)  # type: ignore[no-any-return]
        authorizer = self.runtime.components.get("authorizer")
        if authorizer is None or not self.runtime.settings.auth or ctx.principal is None:
            return None
        return lambda arn, policy: bool(authorizer.would_allow(ctx, [("dynamodb:PutResourcePolicy", arn)], {arn: policy}))

    @operation("PutResourcePolicy")
    async def put_resource_policy(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        keeps_access = self._keeps_access(ctx)
        return await self._write(ctx, lambda p: self.engine.put_resource_policy(p, keeps_access), params)

    @operation("GetResourcePolicy")
    async def get_resource_policy(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return await self._read(ctx, self.engine.get_resource_policy, params)

    @operation("DeleteResourcePolicy")
    async def delete_resource_policy(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return await self._write(ctx, self.engine.delete_resource_policy, params)

    # ------------------------------------------------ Contributor Insights
    def _insights(self, ctx: RequestContext, fn: Callable[[dict[str, Any], str], dict[str, Any]], params: dict[str, Any]) -> dict[str, Any]:
        self._check_types(ctx, params)
        return fn(params, ctx.region)

    @operation("UpdateContributorInsights")
    def update_contributor_insights(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self._insights(ctx, self.insights.update, params)

    @operation("DescribeContributorInsights")
    def describe_contributor_insights(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self._insights(ctx, self.insights.describe, params)

    @operation("ListContributorInsights")
    def list_contributor_insights(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self._insights(ctx, self.insights.list_summaries, params)

    @operation("DescribeContinuousBackups")
    async def describe_continuous_backups(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return await self._read(ctx, self.lifecycle.pitr.describe_continuous_backups, params)

    # ------------------------------------------------------------- items
    @operation("PutItem")
    async def put_item(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        ctx.telemetry["table"] = params.get("TableName")
        prepared = self._prepared_put(ctx, params)
        if prepared is None:
            return await self._write(ctx, self.engine.put_item, params)
        return await self._write(ctx, lambda p: self.engine.put_item(p, prepared), params, checked=True)

    @staticmethod
    def _prepared_put(ctx: RequestContext, params: dict[str, Any]) -> tuple[dict[str, Any], int] | None:
        """The common PutItem, whose Item is its only member holding AttributeValues: that
        item's JSON types (``_check_types``), DynamoDB's rules and its normalized copy and
        size in one walk (``types.prepared_item``). None: the separate checks run, each
        where it did, so every error and the one that wins stay as they were."""
        if ctx.operation is None:
            return None
        for name in value_members(ctx.operation.input_shape):
            if name != "Item" and params.get(name) is not None:
                return None
        return prepared_item(params.get("Item"))

    @operation("GetItem")
    async def get_item(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        ctx.telemetry["table"] = params.get("TableName")
        return await self._read(ctx, self.engine.get_item if not ctx.raw_json else self._raw_get_item, params)

    @operation("UpdateItem")
    async def update_item(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        ctx.telemetry["table"] = params.get("TableName")
        return await self._write(ctx, self.engine.update_item, params)

    @operation("DeleteItem")
    async def delete_item(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        ctx.telemetry["table"] = params.get("TableName")
        return await self._write(ctx, self.engine.delete_item, params)

    @operation("Query")
    async def query(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        ctx.telemetry["table"] = params.get("TableName")
        return await self._read(ctx, self.engine.query if not ctx.raw_json else self._raw_query, params)

    @operation("Scan")
    async def scan(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        ctx.telemetry["table"] = params.get("TableName")
        return await self._read(ctx, self.engine.scan if not ctx.raw_json else self._raw_scan, params)

    @operation("BatchGetItem")
    async def batch_get_item(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        throughput, raw = self._throughput(ctx), ctx.raw_json
        return await self._read(ctx, lambda p: self.engine.batch_get_item(p, raw=raw, throughput=throughput), params)

    @operation("BatchWriteItem")
    async def batch_write_item(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        throughput = self._throughput(ctx)
        return await self._write(ctx, lambda p: self.engine.batch_write_item(p, throughput=throughput), params)

    @operation("TransactGetItems")
    async def transact_get_items(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return await self._read(ctx, self.engine.transact_get_items, params)

    @operation("TransactWriteItems")
    async def transact_write_items(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return await self._write(ctx, self.engine.transact_write_items, params)


class _Throughput:
    """The capacity limiter (emulator/gateway/ratelimit.py) as one batch request sees it: its
    operation, parameters and region (emulator/dynamodb/batch.py, Throughput)."""

    def __init__(self, capacity: Any, ctx: RequestContext) -> None:
        self.capacity, self.operation, self.params, self.region = capacity, ctx.operation_name or "", ctx.params, ctx.region

    def allowance(self, table: str) -> float | None:
        units = self.capacity.allowance(self.operation, table, self.region)
        return None if units is None else float(units)

    def refuse(self, table: str) -> AwsError:
        error = self.capacity.refuse(self.operation, self.params, table, self.region)
        assert isinstance(error, AwsError)
        return error
