"""CloudWatch anomaly detection (PutAnomalyDetector, DescribeAnomalyDetectors,
DeleteAnomalyDetector) and metric streams (PutMetricStream, GetMetricStream,
ListMetricStreams, DeleteMetricStream, StartMetricStreams, StopMetricStreams), mixed into
CloudWatchHandler; the engines are emulator.monitoring.anomaly and .metric_streams. Both are
regional: each operation works on the request's region (``ctx.region``)."""

from __future__ import annotations

from typing import Any

from emulator.context import RequestContext
from emulator.handlers.base import operation
from emulator.monitoring import mathexpr
from emulator.monitoring.anomaly import AnomalyDetectors
from emulator.monitoring.metric_streams import MetricStreams


class AnomalyStreamOperations:
    monitoring: Any

    @property
    def anomaly(self) -> AnomalyDetectors:
        detectors: AnomalyDetectors = self.monitoring.anomaly
        return detectors

    @property
    def streams(self) -> MetricStreams:
        streams: MetricStreams = self.monitoring.streams
        return streams

    # ------------------------------------------------------------ anomaly detection
    @operation("PutAnomalyDetector")
    def put_anomaly_detector(self, ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
        return {"AnomalyDetectorId": self.anomaly.put(p, ctx.region)}

    @operation("DescribeAnomalyDetectors")
    def describe_anomaly_detectors(self, ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
        return self.anomaly.describe(p, ctx.region)

    @operation("DeleteAnomalyDetector")
    def delete_anomaly_detector(self, ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
        self.anomaly.delete(p, ctx.region)
        return {}

    def alarm_band_model(self, p: dict[str, Any], region: str) -> None:
        """An alarm on ANOMALY_DETECTION_BAND(m1, ...) of a metric creates that metric's
        anomaly detection model when it has none, as creating such an alarm does on AWS."""
        band_id = p.get("ThresholdMetricId")
        if not band_id or not p.get("Metrics"):
            return
        queries = {q.get("Id"): q for q in p["Metrics"]}
        node = mathexpr.check(queries[band_id]["Expression"])
        target = queries.get(node[2][0][1]) if node[0] == "call" and node[2] and node[2][0][0] == "id" else None
        if target is None:
            return
        if "MetricStat" in target:
            ms = target["MetricStat"]
            metric = ms["Metric"]
            definition = {"Namespace": metric["Namespace"], "MetricName": metric["MetricName"], "Dimensions": metric.get("Dimensions") or [], "Stat": ms["Stat"]}
            self.anomaly.ensure("SINGLE_METRIC", self.anomaly.single_definition(definition, ""), region)

    # ------------------------------------------------------------ metric streams
    @operation("PutMetricStream")
    async def put_metric_stream(self, ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
        firehose = p.get("FirehoseArn") or ""
        present = bool(firehose) and await self.streams.firehose_exists(firehose)
        return {"Arn": self.streams.put(p, ctx.region, lambda _arn: present)}

    @operation("GetMetricStream")
    def get_metric_stream(self, ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
        return self.streams.get(p.get("Name"), ctx.region)

    @operation("ListMetricStreams")
    def list_metric_streams(self, ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
        return self.streams.list_streams(p, ctx.region)

    @operation("DeleteMetricStream")
    def delete_metric_stream(self, ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
        self.streams.delete(p.get("Name"), ctx.region)
        return {}

    @operation("StartMetricStreams")
    def start_metric_streams(self, ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
        self.streams.set_state(p.get("Names"), "running", ctx.region)
        return {}

    @operation("StopMetricStreams")
    def stop_metric_streams(self, ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
        self.streams.set_state(p.get("Names"), "stopped", ctx.region)
        return {}

    def metric_stream_tags(self, arn: str, region: str, add: dict[str, str] | None = None, remove: list[str] | None = None) -> dict[str, str] | None:
        """TagResource/UntagResource/ListTagsForResource of a metric stream ARN: its tags after
        the change; None when ``arn`` is not a metric stream's."""
        name = self.streams.name_from_arn(arn, region)
        if name is None:
            return None
        tags = self.streams.tags_for(name, region)
        if add is not None or remove is not None:
            tags = {k: v for k, v in {**tags, **(add or {})}.items() if k not in (remove or [])}
            self.streams.set_tags(name, tags, region)
        return tags
