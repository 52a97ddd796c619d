"""CloudWatch GetMetricWidgetImage, mixed into CloudWatchHandler: the MetricWidget JSON
(API Reference, "GetMetricWidgetImage: Metric widget structure and syntax") turned into
GetMetricData queries, run by the same engine (emulator.monitoring.query, metric math
included) over the request's region, and drawn by emulator.monitoring.widget_image.

``OutputFormat`` ``png`` (the default) answers the image in ``MetricWidgetImage``, as
every SDK expects. ``image/png`` asks AWS for the PNG as the raw HTTP body; operations
here answer through the protocol serializers, which write the output shape, so that
value is refused with a ValidationError rather than answered in the wrong form.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import math
import re
import time
from dataclasses import dataclass, field
from typing import Any

from emulator.context import RequestContext
from emulator.errors import AwsError
from emulator.handlers.base import operation
from emulator.monitoring import query as mquery
from emulator.monitoring import widget_image as wi

MAX_METRICS = 100  # "As many as 100 metrics in the graph."
MAX_PAYLOAD = 100 * 1024  # "Up to 100 KB uncompressed payload."
MAX_SIZE = 2000
MAX_DATAPOINTS = 100800  # GetMetricData's, per series: a graph has no use for more points than that
_ID_RE = re.compile(r"^[a-z][a-zA-Z0-9_]*$")
_DURATION_RE = re.compile(r"^-P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$")
_TZ_RE = re.compile(r"^([+-])(\d{2})(\d{2})$")


def _widget_error(path: str, message: str) -> AwsError:
    # the JSON-schema wording CloudWatch's widget validation answers with (the dashboards' too)
    return AwsError("InvalidParameterValue", f"The field MetricWidget is invalid: {path} {message}".rstrip(), 400)


@dataclass
class _Row:
    """One entry of ``metrics``: a metric (``query`` has MetricStat) or an expression."""

    index: int
    query: dict[str, Any]
    color: wi.RGB | None
    right_axis: bool


@dataclass
class WidgetSpec:
    """A validated MetricWidget."""

    start: float
    end: float
    region: str
    rows: list[_Row] = field(default_factory=list)
    chart: wi.Chart | None = None


def parse_time(value: Any, now: float, path: str) -> float:
    """A relative ISO 8601 duration before now (``-PT3H``, ``-P7D``) or an absolute ISO 8601 time."""
    if not isinstance(value, str):
        raise _widget_error(path, "Should be string")
    m = _DURATION_RE.match(value)
    if m and any(m.groups()):
        weeks, days, hours, minutes, seconds = (float(g) if g else 0.0 for g in m.groups())
        return now - (weeks * 604800 + days * 86400 + hours * 3600 + minutes * 60 + seconds)
    try:
        when = dt.datetime.fromisoformat(value)
    except ValueError as exc:
        raise _widget_error(path, "Should be a relative ISO 8601 duration (-PT3H) or an ISO 8601 time") from exc
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when.timestamp()


def _int_in(value: Any, path: str, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _widget_error(path, "Should be integer")
    if value < lo:
        raise _widget_error(path, f"Should be >= {lo}")
    if value > hi:
        raise _widget_error(path, f"Should be <= {hi}")
    return value


def _number(value: Any, path: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _widget_error(path, "Should be number")
    return float(value)


def _string(value: Any, path: str) -> str:
    if not isinstance(value, str):
        raise _widget_error(path, "Should be string")
    return value


def _bool(value: Any, path: str) -> bool:
    if not isinstance(value, bool):
        raise _widget_error(path, "Should be boolean")
    return value


def _object(value: Any, path: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _widget_error(path, "Should be object")
    return value


def _color(value: Any, path: str) -> wi.RGB:
    try:
        return wi.hex_color(_string(value, path))
    except ValueError as exc:
        raise _widget_error(path, 'Should match pattern "^#([0-9a-fA-F]{3}){1,2}$"') from exc


def _one_of(value: Any, path: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise _widget_error(path, "Should be equal to one of the allowed values: " + ", ".join(allowed))
    return str(value)


def _period(value: Any, path: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not mquery.valid_period(value):
        raise _widget_error(path, "Should be 1, 5, 10, 20, 30, or any multiple of 60")
    return value


def expand_metrics(metrics: list[Any]) -> list[tuple[list[str], dict[str, Any], int]]:
    """The ``metrics`` arrays with the shorthand resolved: ``"."`` repeats the previous metric's
    item at that position, a leading ``"..."`` all its items but as many last ones as follow.
    Each row comes with its options and their position in the row as written."""
    out: list[tuple[list[str], dict[str, Any], int]] = []
    previous: list[str] = []
    for j, row in enumerate(metrics):
        path = f"/metrics/{j}"
        if not isinstance(row, list):
            raise _widget_error(path, "Should be array")
        if not row:
            raise _widget_error(path, "Should NOT have fewer than 1 items")
        options = row[-1] if isinstance(row[-1], dict) else {}
        items = row[:-1] if isinstance(row[-1], dict) else row
        for k, item in enumerate(items):
            if not isinstance(item, str):
                raise _widget_error(f"{path}/{k}", "Should be string")
        if items and items[0] == "...":
            rest = list(items[1:])
            if not previous or len(rest) > len(previous):
                raise _widget_error(f"{path}/0", "Should follow a metric with at least as many items to repeat")
            items = previous[: len(previous) - len(rest)] + rest
        resolved = []
        for k, item in enumerate(items):
            if item == ".":
                if k >= len(previous):
                    raise _widget_error(f"{path}/{k}", "Should follow a metric with an item at this position to repeat")
                item = previous[k]
            resolved.append(item)
        if resolved:
            previous = resolved
        out.append((resolved, options, len(row) - 1 if isinstance(row[-1], dict) else len(row)))
    return out


def range_period(start: float, end: float) -> int:
    """The period of one bucket covering all of [start, end) (``setPeriodToTimeRange``). The engine
    aligns a period that divides a day to multiples of itself, other periods to the minute: the
    period grows past such divisors until the bucket starting at the aligned start reaches ``end``."""
    period = max(60, math.ceil((end - start) / 60) * 60)
    while mquery.align(start, period) + period < end:
        period += 60
    return period


def parse_widget(text: str, now: float, region: str, account_id: str | None = None) -> WidgetSpec:
    """The MetricWidget JSON, validated, as the queries to run and the chart to draw them in."""
    try:
        widget = json.loads(text)
    except ValueError as exc:
        raise AwsError("InvalidParameterValue", "The field MetricWidget must be a valid JSON object", 400) from exc
    if not isinstance(widget, dict):
        raise _widget_error("", "Should be object")
    if "metrics" not in widget:
        raise _widget_error("", "Should have required property 'metrics'")
    metrics = widget["metrics"]
    if not isinstance(metrics, list):
        raise _widget_error("/metrics", "Should be array")
    if len(metrics) > MAX_METRICS:
        raise _widget_error("/metrics", f"Should NOT have more than {MAX_METRICS} items")
    width = _int_in(widget.get("width", 600), "/width", 1, MAX_SIZE)
    height = _int_in(widget.get("height", 400), "/height", 1, MAX_SIZE)
    view = _one_of(widget.get("view", "timeSeries"), "/view", wi.VIEWS)
    stacked = _bool(widget.get("stacked", False), "/stacked")
    default_stat = _string(widget.get("stat", "Average"), "/stat")
    if not mquery.valid_stat(default_stat):
        raise _widget_error("/stat", f"The statistic {default_stat} is not valid")
    default_period = _period(widget.get("period", 300), "/period")
    title = _string(widget.get("title", ""), "/title")
    widget_region = _string(widget.get("region", region), "/region")
    start = parse_time(widget.get("start", "-PT3H"), now, "/start")
    end = parse_time(widget["end"], now, "/end") if "end" in widget else now
    if start >= end:
        raise _widget_error("/start", "Should be before end")
    # bar, pie and single values of the whole time range rather than of its latest period
    whole_range = _bool(widget.get("setPeriodToTimeRange", False), "/setPeriodToTimeRange") and view != "timeSeries"
    if whole_range:
        default_period = range_period(start, end)
    legend = "bottom"
    if "legend" in widget:
        legend_spec = _object(widget["legend"], "/legend")
        legend = _one_of(legend_spec.get("position", "bottom"), "/legend/position", ("bottom", "right", "hidden"))
    offset = 0
    if "timezone" in widget:
        tz = _string(widget["timezone"], "/timezone")
        m = _TZ_RE.match(tz)
        if not m or int(m.group(2)) > 14 or int(m.group(3)) > 59:
            raise _widget_error("/timezone", 'Should match pattern "^[+-][0-9]{4}$"')
        offset = (1 if m.group(1) == "+" else -1) * (int(m.group(2)) * 3600 + int(m.group(3)) * 60)
    axes = {"left": wi.Axis(), "right": wi.Axis()}
    if "yAxis" in widget:
        for side, spec in _object(widget["yAxis"], "/yAxis").items():
            path = f"/yAxis/{side}"
            _one_of(side, "/yAxis", ("left", "right"))
            spec = _object(spec, path)
            axes[side] = wi.Axis(
                _number(spec["min"], f"{path}/min") if spec.get("min") is not None else None,
                _number(spec["max"], f"{path}/max") if spec.get("max") is not None else None,
                _string(spec.get("label", ""), f"{path}/label"),
            )
            if spec.get("showUnits") is not None:
                _bool(spec["showUnits"], f"{path}/showUnits")
    horizontal, vertical = _annotations(widget.get("annotations"), now)
    _same_account(widget, "", account_id)
    rows = _rows(expand_metrics(metrics), default_stat, default_period, widget_region, whole_range, account_id)
    for row in rows:
        period = row.query["MetricStat"]["Period"] if "MetricStat" in row.query else row.query.get("Period")
        requested = math.ceil((end - mquery.align(start, period)) / period) if period else 0
        if requested > MAX_DATAPOINTS:
            raise AwsError(
                "InvalidParameterValue",
                f"You have requested up to {requested} datapoints, which exceeds the limit of {MAX_DATAPOINTS}. "
                "You may reduce the datapoints requested by increasing Period, or decreasing the time range.",
                400,
            )
    chart = wi.Chart(
        width, height, start, end, view=view, stacked=stacked, title=title, legend=legend, left=axes["left"], right=axes["right"],
        horizontal=horizontal, vertical=vertical, tz_offset=offset,
    )
    return WidgetSpec(start, end, widget_region, rows, chart)


def _same_account(options: dict[str, Any], path: str, account_id: str | None) -> None:
    if "accountId" in options and account_id is not None and _string(options["accountId"], f"{path}/accountId") != account_id:
        # cross-account observability needs a monitoring account linked to source accounts: there is one account here
        raise _widget_error(f"{path}/accountId", f"Should be this account, {account_id}: cross-account metrics are not supported")


def _rows(
    expanded: list[tuple[list[str], dict[str, Any], int]], default_stat: str, default_period: int, region: str, whole_range: bool = False, account_id: str | None = None
) -> list[_Row]:
    explicit = {o["id"] for _, o, _ in expanded if isinstance(o.get("id"), str)}
    counters = {"m": 0, "e": 0}

    def auto_id(prefix: str) -> str:
        # the console's automatic ids (m1, m2, e1 ...), skipping those the widget names itself
        while True:
            counters[prefix] += 1
            candidate = f"{prefix}{counters[prefix]}"
            if candidate not in explicit:
                return candidate

    rows = []
    seen: set[str] = set()
    for j, (items, opts, at) in enumerate(expanded):
        path = f"/metrics/{j}"
        opath = f"{path}/{at}"
        if "id" in opts:
            qid = _string(opts["id"], f"{opath}/id")
            if not _ID_RE.match(qid):
                raise _widget_error(f"{opath}/id", 'Should match pattern "^[a-z][a-zA-Z0-9_]*$"')
            if qid in seen:
                raise _widget_error(f"{opath}/id", f"The id {qid} is duplicated")
        else:
            qid = auto_id("e" if "expression" in opts and not items else "m")
        seen.add(qid)
        _same_account(opts, opath, account_id)
        row_region = _string(opts.get("region", region), f"{opath}/region")
        if row_region != region:
            raise _widget_error(f"{opath}/region", f"Should be the widget's region {region}: metrics of several regions in one graph are not supported")
        query: dict[str, Any] = {"Id": qid, "ReturnData": _bool(opts.get("visible", True), f"{opath}/visible")}
        if "label" in opts:
            query["Label"] = _string(opts["label"], f"{opath}/label")
        if not items:
            if "expression" not in opts:
                raise _widget_error(opath, "Should have required property 'expression'")
            query["Expression"] = _string(opts["expression"], f"{opath}/expression")
            if "period" in opts:
                query["Period"] = _period(opts["period"], f"{opath}/period")
            if whole_range:
                query["Period"] = default_period
        else:
            if "expression" in opts:
                raise _widget_error(opath, "Should not have both a metric and an expression")
            if len(items) < 2 or len(items) % 2:
                raise _widget_error(path, "Should be [namespace, metric name, dimension name, dimension value, ..., {options}]")
            namespace, name = items[0], items[1]
            if not namespace or not name:
                raise _widget_error(path, "Should name a namespace and a metric")
            stat = _string(opts.get("stat", default_stat), f"{opath}/stat")
            if not mquery.valid_stat(stat):
                raise _widget_error(f"{opath}/stat", f"The statistic {stat} is not valid")
            period = _period(opts.get("period", default_period), f"{opath}/period")
            if whole_range:
                period = default_period
            dims = [{"Name": items[k], "Value": items[k + 1]} for k in range(2, len(items), 2)]
            query["MetricStat"] = {"Metric": {"Namespace": namespace, "MetricName": name, "Dimensions": dims}, "Period": period, "Stat": stat}
        color = _color(opts["color"], f"{opath}/color") if "color" in opts else None
        right = _one_of(opts.get("yAxis", "left"), f"{opath}/yAxis", ("left", "right")) == "right"
        rows.append(_Row(j, query, color, right))
    return rows


def _bands(spec: dict[str, Any], kind: str) -> list[tuple[str, dict[str, Any], dict[str, Any] | None]]:
    """The visible annotations of ``kind`` (horizontal, vertical): (path, the annotation, the
    object its band ends at, or None for a single line)."""
    out = []
    for i, item in enumerate(_list(spec.get(kind, []), f"/annotations/{kind}")):
        path = f"/annotations/{kind}/{i}"
        band = item if isinstance(item, list) else [item]
        if not 1 <= len(band) <= 2:
            raise _widget_error(path, "Should be an annotation or a band of two")
        first = _object(band[0], path if len(band) == 1 else f"{path}/0")
        if not _bool(first.get("visible", True), f"{path}/visible"):
            continue
        if "value" not in first:
            raise _widget_error(path, "Should have required property 'value'")
        out.append((path, first, _object(band[1], f"{path}/1") if len(band) == 2 else None))
    return out


def _annotations(spec: Any, now: float) -> tuple[list[wi.HAnnotation], list[wi.VAnnotation]]:
    if spec is None:
        return [], []
    spec = _object(spec, "/annotations")
    horizontal: list[wi.HAnnotation] = []
    vertical: list[wi.VAnnotation] = []
    default = wi.hex_color(wi.ANNOTATION)
    for path, first, end in _bands(spec, "horizontal"):
        to_value = _number(end.get("value"), f"{path}/1/value") if end is not None else None
        horizontal.append(
            wi.HAnnotation(
                _number(first["value"], f"{path}/value"), _string(first.get("label", ""), f"{path}/label"),
                _color(first["color"], f"{path}/color") if "color" in first else default,
                _fill(first.get("fill"), f"{path}/fill", ("above", "below", "none")), to_value,
                _one_of(first.get("yAxis", "left"), f"{path}/yAxis", ("left", "right")) == "right",
            )
        )
    for path, first, end in _bands(spec, "vertical"):
        to_time = parse_time(end.get("value"), now, f"{path}/1/value") if end is not None else None
        vertical.append(
            wi.VAnnotation(
                parse_time(first["value"], now, f"{path}/value"), _string(first.get("label", ""), f"{path}/label"),
                _color(first["color"], f"{path}/color") if "color" in first else default,
                _fill(first.get("fill"), f"{path}/fill", ("before", "after", "none")), to_time,
            )
        )
    return horizontal, vertical


def _list(value: Any, path: str) -> list[Any]:
    if not isinstance(value, list):
        raise _widget_error(path, "Should be array")
    return value


def _fill(value: Any, path: str, allowed: tuple[str, ...]) -> str | None:
    if value is None:
        return None
    fill = _one_of(value, path, allowed)
    return None if fill == "none" else fill


def fetch_series(store: Any, spec: WidgetSpec, detectors: Any = None) -> list[wi.Series]:
    """The widget's visible series, through the GetMetricData engine, coloured: a row's own
    colour, else the palette's next one."""
    if not any(r.query["ReturnData"] for r in spec.rows):
        return []
    try:
        prepared = mquery.prepare([r.query for r in spec.rows])
        results = mquery.evaluate(store, prepared, spec.start, spec.end, spec.region, detectors)
    except AwsError as exc:  # the engine's GetMetricData wording (ValidationError), as this operation's error
        raise AwsError("InvalidParameterValue", exc.message, 400) from exc
    by_id = {r.query["Id"]: r for r in spec.rows}
    # a period's bucket starts at or before ``start`` (aligned): a line graph draws only what is
    # inside its time axis; bar, pie and single values use the buckets as they are
    lower = spec.start if spec.chart is None or spec.chart.view == "timeSeries" else -math.inf
    out: list[wi.Series] = []
    for q, items in results:
        row = by_id[q.id]
        for item in items:
            points = sorted((t, v) for t, v in item.series.items() if math.isfinite(v) and lower <= t < spec.end)
            out.append(wi.Series(item.label, points, row.color or wi.palette_color(len(out)), row.right_axis))
    return out


class WidgetImageOperations:
    monitoring: Any
    store: Any

    @operation("GetMetricWidgetImage")
    async def get_metric_widget_image(self, ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
        text = p.get("MetricWidget")
        if text is None:
            raise AwsError("MissingParameter", "The parameter MetricWidget is required.", 400)
        output_format = p.get("OutputFormat") or "png"
        if output_format == "image/png":
            raise AwsError(
                "ValidationError",
                "The value image/png for parameter OutputFormat is not supported by this endpoint: it answers through the SDK protocols only. Use png.",
                400,
            )
        if output_format != "png":
            raise AwsError("InvalidParameterValue", f"The value {output_format} for parameter OutputFormat is invalid. Only PNG images are supported.", 400)
        if len(text.encode("utf-8")) > MAX_PAYLOAD:
            raise AwsError("InvalidParameterValue", f"The field MetricWidget must be smaller than {MAX_PAYLOAD} bytes", 400)
        spec = parse_widget(text, time.time(), ctx.region, ctx.account_id)
        loop = asyncio.get_running_loop()
        series = await loop.run_in_executor(None, fetch_series, self.store, spec, self.monitoring.anomaly)
        assert spec.chart is not None
        spec.chart.series = series
        image = await loop.run_in_executor(None, wi.render, spec.chart)
        return {"MetricWidgetImage": image}
