"""CloudWatch Logs (awsJson 1.1): operations only; storage and queries live in emulator.monitoring.

Everything is regional: each operation acts on the request's region (``ctx.region``).
PutLogEvents with the header ``x-amzn-logs-format: json/emf`` also stores the metrics of the
accepted events' embedded metric format documents (emulator.monitoring.emf) in that region.
Export tasks (emulator.monitoring.logs_exports) run on the server's loop from this handler's
start: ``logs_export_delay`` (setting, or EMULATOR_LOGS_EXPORT_DELAY; seconds, default 0) is how
long a new task stays PENDING.

StartLiveTail (emulator.monitoring.logs_live_tail) answers an event stream; its sessions
poll the store every ``logs_live_tail_interval`` seconds (default 1, as AWS sends updates)
and end after ``logs_live_tail_timeout`` seconds (default 10800: AWS's three hours). Its
endpoint has the host prefix ``stream-``, which SDKs prepend to a custom endpoint's host
as well (stream-127.0.0.1): clients of the emulator turn host prefix injection off
(``AWS_DISABLE_HOST_PREFIX_INJECTION=true``, or botocore's ``inject_host_prefix=False``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from emulator.context import RequestContext
from emulator.errors import AwsError
from emulator.handlers.base import operation
from emulator.handlers.logs_indexes import LogsIndexesMixin
from emulator.handlers.logs_kms import LogsKmsMixin
from emulator.handlers.logs_protection import LogsProtectionMixin
from emulator.handlers.logs_transformers import TransformerOperations
from emulator.handlers.monitoring import MonitoringHandler
from emulator.monitoring import emf
from emulator.monitoring.logs_api import token_int
from emulator.monitoring.logs_destinations import LogsDestinations
from emulator.monitoring.logs_exports import LogsExports
from emulator.monitoring.logs_kms import check_key
from emulator.monitoring.logs_live_tail import SESSION_SECONDS, LiveTail
from emulator.monitoring.logs_policies import LogsPolicies
from emulator.monitoring.logstore import invalid
from emulator.monitoring.query import encode_token
from emulator.monitoring.service import setting

if TYPE_CHECKING:
    from emulator.runtime import Runtime


def _tags(value: Any, name: str = "tags") -> dict[str, str]:
    tags = dict(value or {})
    if len(tags) > 50:
        raise invalid(f"1 validation error detected: Value at '{name}' failed to satisfy constraint: Member must have length less than or equal to 50")
    for k in tags:
        if k.lower().startswith("aws:"):
            raise invalid("Tag keys prefixed with aws: are reserved.")
    return tags


def _page(items: list[dict[str, Any]], p: dict[str, Any], key: str, hi: int = 50, limit_key: str = "limit", token_key: str = "nextToken") -> dict[str, Any]:
    """One page of ``items`` (``limit``/``nextToken``, the offset in the token)."""
    limit = int(p.get(limit_key) or hi)
    if not 1 <= limit <= hi:
        raise invalid(f"1 validation error detected: Value '{limit}' at '{limit_key}' failed to satisfy constraint: Member must have value between 1 and {hi}")
    start = token_int(p[token_key], "o") if p.get(token_key) else 0
    out: dict[str, Any] = {key: items[start : start + limit]}
    if start + limit < len(items):
        out[token_key] = encode_token({"o": start + limit})
    return out


class LogsHandler(TransformerOperations, LogsIndexesMixin, LogsKmsMixin, LogsProtectionMixin, MonitoringHandler):
    service = "logs"

    def __init__(self, runtime: Runtime) -> None:
        super().__init__(runtime)
        self.store = self.monitoring.logs
        self.api = self.monitoring.logs_api
        self.filters = self.monitoring.metric_filters
        self.subs = self.monitoring.log_subscriptions
        self.policies = LogsPolicies(self.store)
        self.destinations = LogsDestinations(self.store)
        self.subs.destination_target = self.destinations.target
        self.exports = LogsExports(self.store, runtime.fallback, float(setting(runtime.settings.extra, "logs_export_delay", 0.0)))
        extra = runtime.settings.extra
        self.live_tail = LiveTail(self.store, float(setting(extra, "logs_live_tail_interval", 1.0)), float(setting(extra, "logs_live_tail_timeout", float(SESSION_SECONDS))))
        # What data protection masks on reads it masks on these too (emulator.monitoring.logs_protection).
        self.live_tail.protection = self.subs.protection = self.exports.protection = self.protection

    async def start(self) -> None:
        await super().start()
        self.exports.start()  # the tasks a stopped server left PENDING or RUNNING run again

    async def stop(self) -> None:
        await self.exports.stop()
        await super().stop()

    def health(self) -> dict[str, Any]:
        return {**super().health(), "live_tail": self.live_tail.health()}

    async def reset(self) -> None:
        # Sync on the event loop on purpose: no Logs operation or audit write can interleave (see Monitoring.reset_logs).
        # Subscriptions first: the groups' ids are reused once the store is empty.
        self.subs.reset()
        self.live_tail.reset()
        self.transformers.reset()
        self.policies.reset()
        self.indexes.reset()
        self.kms.reset()
        self.exports.reset()
        self.destinations.reset()
        self.monitoring.reset_logs()

    # ------------------------------------------------------------ groups
    @operation("CreateLogGroup")
    def create_log_group(self, ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
        cls = p.get("logGroupClass")
        if cls is not None and cls not in ("STANDARD", "INFREQUENT_ACCESS", "DELIVERY"):
            raise invalid(f"1 validation error detected: Value '{cls}' at 'logGroupClass' failed to satisfy constraint: Member must satisfy enum value set: [STANDARD, INFREQUENT_ACCESS, DELIVERY]")
        kms = check_key(p["kmsKeyId"]) if p.get("kmsKeyId") is not None else None  # the same rule as AssociateKmsKey's
        self.store.create_group(p.get("logGroupName", ""), kms, _tags(p.get("tags")), cls, ctx.region)
        if p.get("deletionProtectionEnabled"):
            self.indexes.set_protection({"logGroupIdentifier": p["logGroupName"], "deletionProtectionEnabled": True}, ctx.region)
        return {}

    @operation("DeleteLogGroup")
    def delete_log_group(self, ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
        group = self.store.get_group(p.get("logGroupName", ""), ctx.region)
        self.check_deletable(group)
        self.subs.forget_group(group.region, group.name)
        self.store.delete_group(group.name, ctx.region)
        self.transformers.forget(group.region, group.name)  # a group made again starts without one
        self.subs.clamp()
        return {}

    @operation("ListLogGroups")
    def list_log_groups(self, ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
        return self.api.list_log_groups(p, ctx.region)

    @operation("DescribeLogGroups")
    def describe_log_groups(self, ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
        return self.api.describe_log_groups(p, ctx.region)

    @operation("PutRetentionPolicy")
    def put_retention_policy(self, ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
        if p.get("retentionInDays") is None:
            raise invalid("1 validation error detected: Value null at 'retentionInDays' failed to satisfy constraint: Member must not be null")
        self.store.set_retention(p.get("logGroupName", ""), int(p["retentionInDays"]), ctx.region)
        return {}

    @operation("DeleteRetentionPolicy")
    def delete_retention_policy(self, ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
        self.store.set_retention(p.get("logGroupName", ""), None, ctx.region)
        return {}

    # ------------------------------------------------------------ tags
    @operation("TagLogGroup")
    def tag_log_group(self, ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
        group = self.store.get_group(p.get("logGroupName", ""), ctx.region)
        self.store.set_tags(group.name, _tags({**group.tags, **_tags(p.get("tags"))}), ctx.region)
        return {}

    @operation("UntagLogGroup")
    def untag_log_group(self, ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
        group = self.store.get_group(p.get("logGroupName", ""), ctx.region)
        self.store.set_tags(group.name, {k: v for k, v in group.tags.items() if k not in (p.get("tags") or [])}, ctx.region)
        return {}

    @operation("ListTagsLogGroup")
    def list_tags_log_group(self, ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
        return {"tags": self.store.get_group(p.get("logGroupName", ""), ctx.region).tags}

    def _group_from_arn(self, arn: str, region: str) -> str:
        if not arn.startswith("arn:aws:logs:") or ":log-group:" not in arn:
            raise invalid(f"Invalid resource arn: {arn}" if arn else "resourceArn is required")
        return self.store.name_from_arn(arn, region)  # another region's group is not found here

    @operation("TagResource")
    def tag_resource(self, ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
        arn = p.get("resourceArn", "")
        if ":destination:" in arn:
            self.destinations.set_tags(arn, _tags({**self.destinations.tags(arn, ctx.region), **_tags(p.get("tags"))}), ctx.region)
            return {}
        group = self.store.get_group(self._group_from_arn(p.get("resourceArn", ""), ctx.region), ctx.region)
        self.store.set_tags(group.name, _tags({**group.tags, **_tags(p.get("tags"))}), ctx.region)
        return {}

    @operation("UntagResource")
    def untag_resource(self, ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
        arn = p.get("resourceArn", "")
        if ":destination:" in arn:
            tags = self.destinations.tags(arn, ctx.region)
            self.destinations.set_tags(arn, {k: v for k, v in tags.items() if k not in (p.get("tagKeys") or [])}, ctx.region)
            return {}
        group = self.store.get_group(self._group_from_arn(p.get("resourceArn", ""), ctx.region), ctx.region)
        self.store.set_tags(group.name, {k: v for k, v in group.tags.items() if k not in (p.get("tagKeys") or [])}, ctx.region)
        return {}

    @operation("ListTagsForResource")
    def list_tags_for_resource(self, ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
        if ":destination:" in p.get("resourceArn", ""):
            return {"tags": self.destinations.tags(p["resourceArn"], ctx.region)}
        return {"tags": self.store.get_group(self._group_from_arn(p.get("resourceArn", ""), ctx.region), ctx.region).tags}

    # ------------------------------------------------------------ streams and events
    @operation("CreateLogStream")
    def create_log_stream(self, ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
        self.store.create_stream(p.get("logGroupName", ""), p.get("logStreamName", ""), ctx.region)
        return {}

    @operation("DeleteLogStream")
    def delete_log_stream(self, ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
        self.store.delete_stream(p.get("logGroupName", ""), p.get("logStreamName", ""), ctx.region)
        self.subs.clamp()
        return {}

    @operation("DescribeLogStreams")
    def describe_log_streams(self, ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
        return self.api.describe_log_streams(p, ctx.region)

    @operation("PutLogEvents")
    def put_log_events(self, ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
        p = self.transformed(ctx, p)  # the group's transformer, before anything stores or reads them
        events = p.get("logEvents") or []
        out = self.store.put_events(p.get("logGroupName", ""), p.get("logStreamName", ""), events, ctx.region)
        rejected = out.get("rejectedLogEventsInfo", {})
        first = max(rejected.get("tooOldLogEventEndIndex", 0), rejected.get("expiredLogEventEndIndex", 0))
        accepted = events[first : rejected.get("tooNewLogEventStartIndex", len(events))]
        self.filters.apply(self.store.get_group(p.get("logGroupName", ""), ctx.region), accepted)
        if emf.HEADER in ctx.request.headers:  # embedded metric format: only when asked for (emulator.monitoring.emf)
            self._emf(ctx, accepted)
        return out

    def _emf(self, ctx: RequestContext, events: list[dict[str, Any]]) -> None:
        """The metrics of the EMF documents among the accepted events, stored as PutMetricData's are."""
        if emf.requested(ctx.request.headers.get(emf.HEADER)):
            self.monitoring.metrics.put(emf.extract(events, ctx.region))

    # ------------------------------------------------------------ metric filters
    @operation("PutMetricFilter")
    def put_metric_filter(self, ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
        self.filters.put(p.get("logGroupName", ""), p.get("filterName", ""), p.get("filterPattern", ""), p.get("metricTransformations") or [], ctx.region)
        return {}

    @operation("DeleteMetricFilter")
    def delete_metric_filter(self, ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
        self.filters.delete(p.get("logGroupName", ""), p.get("filterName", ""), ctx.region)
        return {}

    @operation("DescribeMetricFilters")
    def describe_metric_filters(self, ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
        items = self.filters.describe(p, ctx.region)
        limit = int(p.get("limit") or 50)
        if not 1 <= limit <= 50:
            raise invalid(f"1 validation error detected: Value '{limit}' at 'limit' failed to satisfy constraint: Member must have value between 1 and 50")
        start = token_int(p["nextToken"], "o") if p.get("nextToken") else 0
        out: dict[str, Any] = {"metricFilters": items[start : start + limit]}
        if start + limit < len(items):
            out["nextToken"] = encode_token({"o": start + limit})
        return out

    @operation("TestMetricFilter")
    def test_metric_filter(self, ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
        messages = p.get("logEventMessages") or []
        if not messages or len(messages) > 50:
            raise invalid("1 validation error detected: Value at 'logEventMessages' failed to satisfy constraint: Member must have length between 1 and 50")
        return {"matches": self.filters.test(p.get("filterPattern", ""), messages)}

    # ------------------------------------------------------------ subscription filters
    @operation("PutSubscriptionFilter")
    async def put_subscription_filter(self, ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
        await self.subs.put(p, ctx.region)
        return {}

    @operation("DescribeSubscriptionFilters")
    def describe_subscription_filters(self, ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
        items = self.subs.describe(p, ctx.region)
        return _page(items, p, "subscriptionFilters")

    @operation("DeleteSubscriptionFilter")
    def delete_subscription_filter(self, ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
        self.subs.delete(p, ctx.region)
        return {}

    # ------------------------------------------------------------ destinations
    @operation("PutDestination")
    def put_destination(self, ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
        _tags(p.get("tags"))
        return self.destinations.put(p, ctx.region)

    @operation("PutDestinationPolicy")
    def put_destination_policy(self, ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
        self.destinations.put_policy(p, ctx.region)
        return {}

    @operation("DescribeDestinations")
    def describe_destinations(self, ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
        return self.destinations.describe(p, ctx.region)

    @operation("DeleteDestination")
    def delete_destination(self, ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
        self.destinations.delete(p, ctx.region)
        return {}

    # ------------------------------------------------------------ export tasks
    @operation("CreateExportTask")
    async def create_export_task(self, ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
        return await self.exports.create(p, ctx.region)

    @operation("DescribeExportTasks")
    def describe_export_tasks(self, ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
        return self.exports.describe(p, ctx.region)

    @operation("CancelExportTask")
    def cancel_export_task(self, ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
        self.exports.cancel(p, ctx.region)
        return {}

    # ------------------------------------------------------------ resource policies
    @operation("PutResourcePolicy")
    def put_resource_policy(self, ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
        return self.policies.put_policy(p, ctx.region)

    @operation("DescribeResourcePolicies")
    def describe_resource_policies(self, ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
        return self.policies.describe_policies(p, ctx.region)

    @operation("DeleteResourcePolicy")
    def delete_resource_policy(self, ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
        self.policies.delete_policy(p, ctx.region)
        return {}

    # ------------------------------------------------------------ query definitions
    @operation("PutQueryDefinition")
    def put_query_definition(self, ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
        return {"queryDefinitionId": self.policies.put_query_definition(p, ctx.region)}

    @operation("DescribeQueryDefinitions")
    def describe_query_definitions(self, ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
        return self.policies.describe_query_definitions(p, ctx.region)

    @operation("DeleteQueryDefinition")
    def delete_query_definition(self, ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
        self.policies.delete_query_definition(p, ctx.region)
        return {"success": True}

    @operation("GetLogEvents")
    def get_log_events(self, ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
        self.check_unmask(ctx, p)
        return self.api.get_log_events(p, ctx.region)

    @operation("StartLiveTail")
    def start_live_tail(self, ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
        return self.live_tail.start(p, ctx.region, ctx.account_id, ctx.request_id)

    @operation("FilterLogEvents")
    def filter_log_events(self, ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
        self.check_unmask(ctx, p)
        return self.api.filter_log_events(p, ctx.region)

    # ------------------------------------------------------------ Insights
    @operation("StartQuery")
    def start_query(self, ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
        if p.get("queryLanguage") not in (None, "CWLI"):
            raise AwsError("InvalidParameterException", f"Query language {p['queryLanguage']} is not supported by this emulator; use CWLI.", 400)
        self.check_unmask(ctx, p)
        return self.api.start_query(p, ctx.region)

    @operation("GetQueryResults")
    def get_query_results(self, ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
        return self.api.get_query_results(p, ctx.region)

    @operation("StopQuery")
    def stop_query(self, ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
        return self.api.stop_query(p, ctx.region)

    @operation("ListLogGroupsForQuery")
    def list_log_groups_for_query(self, ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
        return self.api.list_log_groups_for_query(p, ctx.region)

    @operation("GetLogRecord")
    def get_log_record(self, ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
        self.check_unmask(ctx, p)
        return self.api.get_log_record(p, ctx.region)

    @operation("GetLogGroupFields")
    def get_log_group_fields(self, ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
        return self.api.get_log_group_fields(p, ctx.region)

    @operation("DescribeQueries")
    def describe_queries(self, ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
        return self.api.describe_queries(p, ctx.region)
