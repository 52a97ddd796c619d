"""CloudWatch (smithy-rpc-v2-cbor, awsJson 1.0 with query mode, and query): operations only.

One implementation serves all three protocols; the protocol layer turns these
dicts into the wire format. Metric storage, metric math, alarms and dashboards
live in emulator.monitoring. Metrics and alarms are regional (the request's
region, ``ctx.region``); dashboards are global, as on AWS.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from emulator.context import RequestContext
from emulator.errors import AwsError
from emulator.handlers.base import operation
from emulator.handlers.cloudwatch_insights import InsightRuleOperations
from emulator.handlers.cloudwatch_mutes import MuteQueryOperations
from emulator.handlers.cloudwatch_streams import AnomalyStreamOperations
from emulator.handlers.cloudwatch_widgets import WidgetImageOperations
from emulator.handlers.monitoring import MonitoringHandler
from emulator.monitoring import query as mquery
from emulator.monitoring.metrics import (
    MAX_MAGNITUDE,
    MIN_MAGNITUDE,
    UNITS,
    Datum,
    norm_dims,
)

if TYPE_CHECKING:
    from emulator.runtime import Runtime


def invalid(message: str) -> AwsError:
    return AwsError("InvalidParameterValue", message, 400)


def missing(message: str) -> AwsError:
    return AwsError("MissingParameter", message, 400)


def combination(message: str) -> AwsError:
    return AwsError("InvalidParameterCombination", message, 400)


def _check_value(v: Any, where: str | Callable[[], str]) -> float:
    # ``where`` may be a callable: the parameter path is only built when there is an error to report
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise invalid(f"The value {v} for parameter {where() if callable(where) else where} is invalid.")
    f = float(v)
    if f != 0 and not MIN_MAGNITUDE <= abs(f) <= MAX_MAGNITUDE:  # also rejects NaN and the infinities
        # A non-finite value named as the SDKs send it (and Java prints it): NaN, Infinity, -Infinity.
        text = v if math.isfinite(f) else "NaN" if math.isnan(f) else "Infinity" if f > 0 else "-Infinity"
        raise invalid(f"The value {text} for parameter {where() if callable(where) else where} is invalid.")
    return f


class CloudWatchHandler(InsightRuleOperations, AnomalyStreamOperations, MuteQueryOperations, WidgetImageOperations, MonitoringHandler):
    service = "cloudwatch"

    def __init__(self, runtime: Runtime) -> None:
        super().__init__(runtime)
        self.store = self.monitoring.metrics
        self.alarms = self.monitoring.alarms
        self.dashboards = self.monitoring.dashboards
        self.insight_rules = self.monitoring.insight_rules

    def health(self) -> dict[str, Any]:
        return {"state": "running", **self.monitoring.health()}

    async def reset(self) -> None:
        # Sync on the event loop on purpose: no CloudWatch operation can interleave (see Monitoring.reset_cloudwatch).
        self.monitoring.reset_cloudwatch()

    # ------------------------------------------------------------ metrics
    @operation("PutMetricData")
    def put_metric_data(self, ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
        ns = p.get("Namespace")
        if not ns:
            raise missing("The parameter Namespace is required.")
        if ns.startswith("AWS/") or ":" in ns or len(ns) > 255:
            raise invalid(f"The value {ns} for parameter Namespace is invalid.")
        items = p.get("MetricData") or []
        if not items and not p.get("EntityMetricData"):
            raise missing("The parameter MetricData is required.")
        if len(items) > 1000:
            raise invalid("The collection MetricData must not have a size greater than 1000.")
        now = time.time()
        data = []
        for i, d in enumerate(items, 1):
            data.append(self._datum(ns, d, "MetricData.member.", i, now, ctx.region))
        for e, entity in enumerate(p.get("EntityMetricData") or [], 1):
            for i, d in enumerate(entity.get("MetricData") or [], 1):
                data.append(self._datum(ns, d, f"EntityMetricData.member.{e}.MetricData.member.", i, now, ctx.region))
        self.store.put(data)
        return {}

    def _datum(self, ns: str, d: dict[str, Any], prefix: str, index: int, now: float, region: str) -> Datum:
        name = d.get("MetricName")
        where = f"{prefix}{index}"
        if not name:
            raise missing(f"The parameter {where}.MetricName is required.")
        if len(name) > 255:
            raise invalid(f"The value {name} for parameter {where}.MetricName is invalid.")
        dims = d.get("Dimensions") or []
        if len(dims) > 30:
            raise invalid(f"The collection {where}.Dimensions must not have a size greater than 30.")
        seen = set()
        for j, dim in enumerate(dims, 1):
            dname, dvalue = dim.get("Name"), dim.get("Value")
            if not dname:
                raise missing(f"The parameter {where}.Dimensions.member.{j}.Name is required.")
            if dvalue is None or dvalue == "":
                raise missing(f"The parameter {where}.Dimensions.member.{j}.Value is required.")
            if len(dname) > 255 or not dname.isprintable() or dname.startswith(":") or dname.isspace():
                raise invalid(f"The value {dname} for parameter {where}.Dimensions.member.{j}.Name is invalid.")
            if len(dvalue) > 1024:
                raise invalid(f"The value {dvalue} for parameter {where}.Dimensions.member.{j}.Value is invalid.")
            if dname in seen:
                raise invalid(f"The value {dname} for parameter {where}.Dimensions.member.{j}.Name is duplicated.")
            seen.add(dname)
        unit = d.get("Unit")
        if unit is not None and unit not in UNITS:
            raise invalid(f"The value {unit} for parameter {where}.Unit is invalid.")
        res = d.get("StorageResolution", 60)
        if res not in (1, 60):
            raise invalid(f"The value {res} for parameter {where}.StorageResolution is invalid.")
        ts_dt = d.get("Timestamp")
        ts = ts_dt.timestamp() if ts_dt is not None else now
        if ts < now - 14 * 86400:
            raise invalid(f"The parameter {where}.Timestamp must specify a time no more than two weeks in the past.")
        if ts > now + 2 * 3600:
            raise invalid(f"The parameter {where}.Timestamp must specify a time no more than two hours in the future.")
        has_value, has_stats, has_values = "Value" in d and d["Value"] is not None, bool(d.get("StatisticValues")), d.get("Values") is not None
        if has_value and has_stats:
            raise combination(f"The parameters {where}.Value and {where}.StatisticValues are mutually exclusive and you have specified both.")
        if has_value and has_values:
            raise combination(f"The parameters {where}.Value and {where}.Values are mutually exclusive and you have specified both.")
        if has_stats and has_values:
            raise combination(f"The parameters {where}.StatisticValues and {where}.Values are mutually exclusive and you have specified both.")
        dims_t = norm_dims(dims)
        if has_value:
            v = _check_value(d["Value"], lambda: f"{where}.Value")
            return Datum(ns, name, dims_t, ts, v, 1.0, v, v, None, unit, res, 0, region)
        if has_stats:
            sv = d["StatisticValues"]
            for key in ("SampleCount", "Sum", "Minimum", "Maximum"):
                if sv.get(key) is None:
                    raise missing(f"The parameter {where}.StatisticValues.{key} is required.")
            count = _check_value(sv["SampleCount"], f"{where}.StatisticValues.SampleCount")
            if count <= 0:
                raise invalid(f"The value {sv['SampleCount']} for parameter {where}.StatisticValues.SampleCount is invalid.")
            lo = _check_value(sv["Minimum"], f"{where}.StatisticValues.Minimum")
            hi = _check_value(sv["Maximum"], f"{where}.StatisticValues.Maximum")
            if lo > hi:
                raise invalid(f"The parameter {where}.StatisticValues.Maximum must be greater than {where}.StatisticValues.Minimum.")
            total = _check_value(sv["Sum"], f"{where}.StatisticValues.Sum")
            # a set whose values are all equal is as good as values for percentiles
            return Datum(ns, name, dims_t, ts, total, count, lo, hi, None, unit, res, 0 if lo == hi else 1, region)
        if has_values:
            values = d.get("Values") or []
            counts = d.get("Counts")
            if len(values) > 150:
                raise invalid(f"The collection {where}.Values must not have a size greater than 150.")
            if counts is not None and len(counts) != len(values):
                raise invalid(f"The parameters {where}.Values and {where}.Counts must be of the same size.")
            if not values:
                raise missing(f"The parameter {where}.Values is required.")
            vals = [_check_value(v, f"{where}.Values.member.{k}") for k, v in enumerate(values, 1)]
            cnts = [_check_value(c, f"{where}.Counts.member.{k}") for k, c in enumerate(counts or [1.0] * len(vals), 1)]
            merged: dict[float, float] = {}
            for v, c in zip(vals, cnts, strict=True):
                if c < 0:
                    raise invalid(f"The value {c} for parameter {where}.Counts is invalid.")
                merged[v] = merged.get(v, 0.0) + c
            total = sum(v * c for v, c in merged.items())
            count = sum(merged.values())
            flat = [x for pair in merged.items() for x in pair]
            return Datum(ns, name, dims_t, ts, total, count, min(merged), max(merged), flat, unit, res, 0, region)
        raise combination(f"At least one of the parameters {where}.Value, {where}.StatisticValues, or {where}.Values must be specified.")

    @operation("GetMetricStatistics")
    async def get_metric_statistics(self, ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
        for key in ("Namespace", "MetricName", "StartTime", "EndTime", "Period"):
            if p.get(key) is None:
                raise missing(f"The parameter {key} is required.")
        stats = p.get("Statistics") or []
        ext = p.get("ExtendedStatistics") or []
        if not stats and not ext:
            raise missing("Either the parameter Statistics or ExtendedStatistics is required.")
        if stats and ext:
            raise combination("The parameters Statistics and ExtendedStatistics are mutually exclusive and you have specified both.")
        for s in stats:
            if s not in mquery.STANDARD:
                raise invalid(f"The value {s} for parameter Statistics is invalid.")
        for s in ext:
            if not mquery.is_extended(s):
                raise invalid(f"The value {s} for parameter ExtendedStatistics is not supported.")
        period = int(p["Period"])
        if not mquery.valid_period(period):
            raise invalid("The parameter Period must be a multiple of 60." if period > 60 else f"The value {period} for parameter Period is invalid.")
        start, end = p["StartTime"].timestamp(), p["EndTime"].timestamp()
        if start >= end:
            raise invalid("The parameter StartTime must be less than the parameter EndTime.")
        requested = math.ceil((end - mquery.align(start, period)) / period)
        if requested > 1440:
            raise combination(
                f"You have requested up to {requested} datapoints, which exceeds the limit of 1440. You may reduce the datapoints requested by increasing Period, or decreasing the time range."
            )
        unit = p.get("Unit")
        if unit is not None and unit not in UNITS:
            raise invalid(f"The value {unit} for parameter Unit is invalid.")
        dims = norm_dims(p.get("Dimensions"))
        points = await asyncio.get_running_loop().run_in_executor(
            None, mquery.statistics_datapoints, self.store, p["Namespace"], p["MetricName"], dims, start, end, period, stats, ext, unit, ctx.region
        )
        return {"Label": p["MetricName"], "Datapoints": points}

    @operation("GetMetricData")
    async def get_metric_data(self, ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
        if p.get("StartTime") is None or p.get("EndTime") is None:
            raise missing("The parameters StartTime and EndTime are required.")
        if p.get("ScanBy") not in (None, "TimestampDescending", "TimestampAscending"):
            raise invalid(f"The value {p['ScanBy']} for parameter ScanBy is invalid.")
        return await asyncio.get_running_loop().run_in_executor(None, mquery.get_metric_data, self.store, p, ctx.region, self.monitoring.anomaly)

    @operation("ListMetrics")
    def list_metrics(self, ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
        filters = []
        for i, f in enumerate(p.get("Dimensions") or [], 1):
            if not f.get("Name"):
                raise missing(f"The parameter Dimensions.member.{i}.Name is required.")
            filters.append((f["Name"], f.get("Value")))
        if len(filters) > 10:
            raise invalid("The collection Dimensions must not have a size greater than 10.")
        recent = p.get("RecentlyActive")
        if recent is not None and recent != "PT3H":
            raise invalid(f"The value {recent} for parameter RecentlyActive is invalid.")
        now = time.time()
        # ListMetrics shows metrics that received data in the last two weeks
        since = now - 3 * 3600 if recent else now - 14 * 86400
        after = 0
        if p.get("NextToken"):
            after = mquery.token_int(p["NextToken"], "after")
        rows = self.store.list_metrics(p.get("Namespace"), p.get("MetricName"), filters, since, after, 501, ctx.region)
        out: dict[str, Any] = {"Metrics": [r.to_api() for r in rows[:500]]}
        if len(rows) > 500:
            out["NextToken"] = mquery.encode_token({"after": rows[499].id})
        return out

    # ------------------------------------------------------------ alarms
    @operation("PutMetricAlarm")
    def put_metric_alarm(self, ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
        self.alarms.put_metric_alarm(p, ctx.region)
        self.alarm_band_model(p, ctx.region)
        return {}

    @operation("PutCompositeAlarm")
    def put_composite_alarm(self, ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
        self.alarms.put_composite_alarm(p, ctx.region)
        return {}

    @operation("DescribeAlarms")
    def describe_alarms(self, ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
        return self.alarms.describe(p, ctx.region)

    @operation("DescribeAlarmsForMetric")
    def describe_alarms_for_metric(self, ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
        if not p.get("MetricName") or not p.get("Namespace"):
            raise missing("The parameters MetricName and Namespace are required.")
        return {"MetricAlarms": self.alarms.describe_for_metric(p, ctx.region)}

    @operation("DeleteAlarms")
    def delete_alarms(self, ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
        names = p.get("AlarmNames") or []
        if len(names) > 100:
            raise invalid("The collection AlarmNames must not have a size greater than 100.")
        self.alarms.delete(names, ctx.region)
        return {}

    @operation("SetAlarmState")
    def set_alarm_state(self, ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
        if not p.get("StateReason"):
            raise missing("The parameter StateReason is required.")
        self.alarms.set_state(p.get("AlarmName", ""), p.get("StateValue", ""), p["StateReason"], p.get("StateReasonData"), ctx.region)
        return {}

    @operation("DescribeAlarmHistory")
    def describe_alarm_history(self, ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
        if p.get("HistoryItemType") not in (None, "ConfigurationUpdate", "StateUpdate", "Action", "AlarmContributorStateUpdate", "AlarmContributorAction"):
            raise invalid(f"The value {p['HistoryItemType']} for parameter HistoryItemType is invalid.")
        return self.alarms.history(p, ctx.region)

    @operation("EnableAlarmActions")
    def enable_alarm_actions(self, ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
        self.alarms.set_actions_enabled(p.get("AlarmNames") or [], True, ctx.region)
        return {}

    @operation("DisableAlarmActions")
    def disable_alarm_actions(self, ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
        self.alarms.set_actions_enabled(p.get("AlarmNames") or [], False, ctx.region)
        return {}

    # ------------------------------------------------------------ tags
    @operation("TagResource")
    def tag_resource(self, ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
        tags = {t["Key"]: t["Value"] for t in p.get("Tags") or []}
        if self.insight_rule_tags(p.get("ResourceARN", ""), ctx.region, add=tags) is not None:
            return {}
        if self.metric_stream_tags(p.get("ResourceARN", ""), ctx.region, add=tags) is not None:
            return {}
        if self.mute_query_tags(p.get("ResourceARN", ""), ctx.region, add=tags) is not None:
            return {}
        dashboard = self.dashboards.name_from_arn(p.get("ResourceARN", ""))
        if dashboard is not None:
            self.dashboards.set_tags(dashboard, {**self.dashboards.tags_for(dashboard), **tags})
            return {}
        self.alarms.tag(p.get("ResourceARN", ""), tags, ctx.region)
        return {}

    @operation("UntagResource")
    def untag_resource(self, ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
        keys = p.get("TagKeys") or []
        if self.insight_rule_tags(p.get("ResourceARN", ""), ctx.region, remove=keys) is not None:
            return {}
        if self.metric_stream_tags(p.get("ResourceARN", ""), ctx.region, remove=keys) is not None:
            return {}
        if self.mute_query_tags(p.get("ResourceARN", ""), ctx.region, remove=keys) is not None:
            return {}
        dashboard = self.dashboards.name_from_arn(p.get("ResourceARN", ""))
        if dashboard is not None:
            self.dashboards.set_tags(dashboard, {k: v for k, v in self.dashboards.tags_for(dashboard).items() if k not in keys})
            return {}
        self.alarms.untag(p.get("ResourceARN", ""), keys, ctx.region)
        return {}

    @operation("ListTagsForResource")
    def list_tags_for_resource(self, ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
        rule_tags = self.insight_rule_tags(p.get("ResourceARN", ""), ctx.region)
        if rule_tags is None:
            rule_tags = self.metric_stream_tags(p.get("ResourceARN", ""), ctx.region)
        if rule_tags is None:
            rule_tags = self.mute_query_tags(p.get("ResourceARN", ""), ctx.region)
        if rule_tags is not None:
            return {"Tags": [{"Key": k, "Value": v} for k, v in rule_tags.items()]}
        dashboard = self.dashboards.name_from_arn(p.get("ResourceARN", ""))
        tags = self.dashboards.tags_for(dashboard) if dashboard is not None else self.alarms.tags_for(p.get("ResourceARN", ""), ctx.region)
        return {"Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}

    # ------------------------------------------------------------ dashboards
    @operation("PutDashboard")
    def put_dashboard(self, ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
        if not p.get("DashboardName"):
            raise AwsError("InvalidParameterInput", "The parameter DashboardName is required.", 400)
        if p.get("DashboardBody") is None:
            raise AwsError("InvalidParameterInput", "The parameter DashboardBody is required.", 400)
        tags = {t["Key"]: t["Value"] for t in p.get("Tags") or []}
        return {"DashboardValidationMessages": self.dashboards.put(p["DashboardName"], p["DashboardBody"], tags)}

    @operation("GetDashboard")
    def get_dashboard(self, ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
        if not p.get("DashboardName"):
            raise invalid("The parameter DashboardName is required.")
        return self.dashboards.get(p["DashboardName"])

    @operation("ListDashboards")
    def list_dashboards(self, ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
        return self.dashboards.list_entries(p.get("DashboardNamePrefix"), p.get("NextToken"))

    @operation("DeleteDashboards")
    def delete_dashboards(self, ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
        self.dashboards.delete(p.get("DashboardNames") or [])
        return {}
