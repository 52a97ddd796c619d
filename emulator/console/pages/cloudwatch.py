"""CloudWatch: metric explorer with graphs, dashboards from PutDashboard bodies, alarms."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from emulator.console import html as h
from emulator.errors import AwsError
from emulator.protocols.base import Response

if TYPE_CHECKING:
    from emulator.console.core import Call, Console

RANGES = {"15m": 900, "1h": 3600, "3h": 3 * 3600, "12h": 12 * 3600, "1d": 86400, "3d": 3 * 86400, "1w": 7 * 86400}
MAX_ALARMS = 1000  # alarms the overview lists (DescribeAlarms pages of 100)
STATS = ("Average", "Sum", "Minimum", "Maximum", "SampleCount", "p50", "p90", "p99")


def auto_period(seconds: int) -> int:
    # About 60-360 points a graph, on CloudWatch's usual period steps.
    for period in (60, 300, 900, 3600, 21600, 86400):
        if seconds / period <= 360:
            return period
    return 86400


def parse_dims(text: str) -> list[dict[str, str]]:
    if not text:
        return []
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise AwsError("InvalidParameterValue", "dims is not valid JSON", 400) from exc
    if isinstance(data, dict):
        return [{"Name": str(k), "Value": str(v)} for k, v in data.items()]
    if not isinstance(data, list) or not all(isinstance(d, dict) and "Name" in d and "Value" in d for d in data):
        raise AwsError("InvalidParameterValue", "dims must be a list of {Name, Value}", 400)
    return [{"Name": str(d["Name"]), "Value": str(d["Value"])} for d in data]


def widget_metrics(props: dict[str, Any]) -> list[dict[str, Any]]:
    """A metric widget's ``metrics`` array -> [{ns, name, dims, stat, period, label}], with the ``"..."`` / ``"."`` shorthands."""
    out: list[dict[str, Any]] = []
    prev: list[Any] = []
    for entry in props.get("metrics", []) or []:
        if not isinstance(entry, list):
            continue
        opts = entry[-1] if entry and isinstance(entry[-1], dict) else {}
        parts = [p for p in entry if not isinstance(p, dict)]
        if parts and parts[0] == "...":
            parts = prev[:] if len(parts) == 1 else prev[: len(prev) - (len(parts) - 1)] + parts[1:]
        else:
            parts = [prev[i] if p == "." and i < len(prev) else p for i, p in enumerate(parts)]
        prev = parts
        if len(parts) < 2 or "expression" in opts:
            continue
        dims = [{"Name": str(parts[i]), "Value": str(parts[i + 1])} for i in range(2, len(parts) - 1, 2)]
        out.append(
            {
                "namespace": str(parts[0]),
                "name": str(parts[1]),
                "dims": dims,
                "stat": opts.get("stat", props.get("stat", "Average")),
                "period": int(opts.get("period", props.get("period", 300))),
                "label": opts.get("label") or f"{parts[1]} {' '.join(d['Value'] for d in dims)}".strip(),
            }
        )
    return out


def _range_links(call: Call, path: str, current: str) -> h.Markup:
    params = {k: v[0] for k, v in call.request.query.items()}
    links = []
    for key in RANGES:
        params["range"] = key
        links.append(h.link(key, h.url(path, **params), "chip active" if key == current else "chip"))
    return h.Markup(f'<div class="ranges" id="ranges">{h.join(links)}</div>')


def register(console: Console) -> None:
    @console.page("GET", "/cloudwatch")
    async def overview(c: Console, call: Call) -> Response:
        if not c.available("cloudwatch"):
            return c.html(call, "CloudWatch", h.unavailable("cloudwatch"), active="cloudwatch")
        ns = call.q("namespace")
        errors: list[str] = []
        metrics: list[dict[str, Any]] = []
        try:
            params: dict[str, Any] = {"Namespace": ns} if ns else {}
            token = None
            for _ in range(10):
                if token:
                    params["NextToken"] = token
                res = await c.invoke(call, "cloudwatch", "ListMetrics", params)
                metrics.extend(res.get("Metrics", []))
                token = res.get("NextToken")
                if not token or len(metrics) >= 2000:
                    break
        except AwsError as err:
            errors.append(f"ListMetrics: {err.code}: {err.message}")
        namespaces = sorted({m.get("Namespace", "") for m in metrics})
        needle = call.q("q").strip().lower()
        rows = []
        for m in sorted(metrics, key=lambda m: (m.get("Namespace", ""), m.get("MetricName", ""))):
            if needle and needle not in (m.get("MetricName", "") + " " + " ".join(str(d.get("Value", "")) for d in m.get("Dimensions", []) or [])).lower():
                continue
            dims = m.get("Dimensions", []) or []
            href = h.url("/cloudwatch/graph", namespace=m.get("Namespace"), name=m.get("MetricName"), dims=json.dumps(dims), range="3h")
            rows.append((m.get("Namespace"), h.link(m.get("MetricName"), href, "metric-link"), ", ".join(f"{d['Name']}={d['Value']}" for d in dims)))
        dashboards: list[dict[str, Any]] = []
        try:
            dashboards = (await c.invoke(call, "cloudwatch", "ListDashboards", {})).get("DashboardEntries", [])
        except AwsError as err:
            errors.append(f"ListDashboards: {err.code}: {err.message}")
        alarms: list[dict[str, Any]] = []
        more_alarms = False
        try:
            # DescribeAlarms answers at most 100 a page (MaxRecords): every page, up to MAX_ALARMS.
            alarm_params: dict[str, Any] = {"AlarmTypes": ["MetricAlarm", "CompositeAlarm"], "MaxRecords": 100}
            while True:
                res = await c.invoke(call, "cloudwatch", "DescribeAlarms", alarm_params)
                alarms += list(res.get("MetricAlarms", [])) + list(res.get("CompositeAlarms", []))
                if not res.get("NextToken"):
                    break
                if len(alarms) >= MAX_ALARMS:
                    more_alarms = True
                    break
                alarm_params["NextToken"] = res["NextToken"]
        except AwsError as err:
            errors.append(f"DescribeAlarms: {err.code}: {err.message}")
        ns_opts = '<option value="">all</option>' + "".join(f'<option{" selected" if n == ns else ""}>{h.esc(n)}</option>' for n in namespaces)
        alarm_rows = [
            (h.link(a.get("AlarmName"), h.url("/cloudwatch/alarm", name=a.get("AlarmName"))), h.state_badge(a.get("StateValue")),
             a.get("MetricName", "composite" if "AlarmRule" in a else ""), a.get("StateReason", ""), h.when(a.get("StateUpdatedTimestamp")))
            for a in alarms
        ]
        dash_rows = [(h.link(d.get("DashboardName"), h.url("/cloudwatch/dashboard", name=d.get("DashboardName"))), h.when(d.get("LastModified")), d.get("Size", "")) for d in dashboards]
        body = h.Markup(
            "".join(str(h.error_box(e)) for e in errors)
            + f'<section class="card"><h2>Alarms ({len(alarms)}{"+" if more_alarms else ""})</h2>{h.table(["Alarm", "State", "Metric", "Reason", "Updated"], alarm_rows, "No alarms.", cls="alarms")}'
            + (f'<p class="muted" id="more-alarms">More alarms exist than the first {len(alarms)} shown here: list them all with DescribeAlarms '
               f'({h.link("API explorer", h.url("/api", service="cloudwatch", operation="DescribeAlarms"))}).</p>' if more_alarms else "")
            + "</section>"
            + f'<section class="card"><h2>Dashboards</h2>{h.table(["Dashboard", "Last modified", "Size"], dash_rows, "No dashboards.", cls="dashboards")}</section>'
            + f'<section class="card"><h2>Metrics</h2><form method="get" class="row" action="{h.esc(h.url("/cloudwatch"))}">'
            f'<label>Namespace<select name="namespace">{ns_opts}</select></label>'
            f'<label>Metric or dimension contains<input name="q" value="{h.esc(call.q("q"))}"></label><button type="submit">Filter</button></form>'
            + h.table(["Namespace", "Metric", "Dimensions"], rows, "No metrics yet.", cls="metrics")
            + "</section>"
        )
        return c.html(call, "CloudWatch", body, active="cloudwatch")

    @console.page("GET", "/cloudwatch/graph")
    async def graph(c: Console, call: Call) -> Response:
        ns, name = call.q("namespace"), call.q("name")
        title = f"{ns} · {name}"
        if not c.available("cloudwatch"):
            return c.html(call, title, h.unavailable("cloudwatch"), active="cloudwatch")
        rng = call.q("range", "3h") if call.q("range", "3h") in RANGES else "3h"
        stat = call.q("stat", "Average")
        dims = parse_dims(call.q("dims"))
        stat_opts = "".join(f'<option{" selected" if s == stat else ""}>{h.esc(s)}</option>' for s in STATS)
        spec = {"namespace": ns, "name": name, "dims": dims, "stat": stat, "label": name}
        body = h.Markup(
            f'<section class="card"><p class="muted">{h.esc(", ".join(d["Name"] + "=" + d["Value"] for d in dims) or "no dimensions")}</p>'
            f"{_range_links(call, '/cloudwatch/graph', rng)}"
            f'<form method="get" class="row" action="{h.esc(h.url("/cloudwatch/graph"))}"><input type="hidden" name="namespace" value="{h.esc(ns)}">'
            f'<input type="hidden" name="name" value="{h.esc(name)}"><input type="hidden" name="dims" value="{h.esc(call.q("dims"))}">'
            f'<input type="hidden" name="range" value="{h.esc(rng)}"><label>Statistic<select name="stat">{stat_opts}</select></label>'
            f'<label>Period (s)<input name="period" type="number" min="1" value="{h.esc(call.q("period"))}" placeholder="auto"></label><button type="submit">Apply</button></form>'
            f'<div class="chart big" data-chart="{h.esc(json.dumps({"range": rng, "period": call.q("period"), "metrics": [spec]}))}"></div></section>'
        )
        return c.html(call, title, body, active="cloudwatch", scripts=("chart.js",))

    @console.page("GET", "/api/metric-data")
    async def metric_data(c: Console, call: Call) -> Response:
        if not c.available("cloudwatch"):
            return c.json({"code": "ServiceUnavailable", "message": "cloudwatch is not available"}, 503)
        try:
            seconds = RANGES.get(call.q("range", "3h"), 3 * 3600)
            period = int(call.q("period") or 0) or auto_period(seconds)
            end = datetime.now(UTC)
            start = end - timedelta(seconds=seconds)
            stat = call.q("stat", "Average")
            query = {
                "Id": "m0",
                "MetricStat": {"Metric": {"Namespace": call.q("namespace"), "MetricName": call.q("name"), "Dimensions": parse_dims(call.q("dims"))}, "Period": period, "Stat": stat},
                "ReturnData": True,
            }
            if call.q("label"):
                query["Label"] = call.q("label")
            res = await c.invoke(call, "cloudwatch", "GetMetricData", {"MetricDataQueries": [query], "StartTime": start, "EndTime": end, "ScanBy": "TimestampAscending"})
        except (AwsError, ValueError) as err:
            if isinstance(err, AwsError):
                return c.json({"code": err.code, "message": err.message}, err.status)
            return c.json({"code": "InvalidParameterValue", "message": "period must be an integer"}, 400)
        result = (res.get("MetricDataResults") or [{}])[0]
        points = sorted(zip((_ms(t) for t in result.get("Timestamps", [])), result.get("Values", [])))
        return c.json({"label": result.get("Label") or call.q("name"), "period": period, "start": _ms(start), "end": _ms(end), "points": points})

    @console.page("GET", "/cloudwatch/dashboard")
    async def dashboard(c: Console, call: Call) -> Response:
        name = call.q("name")
        title = f"Dashboard {name}"
        if not c.available("cloudwatch"):
            return c.html(call, title, h.unavailable("cloudwatch"), active="cloudwatch")
        try:
            res = await c.invoke(call, "cloudwatch", "GetDashboard", {"DashboardName": name})
            dash = json.loads(res.get("DashboardBody") or "{}")
        except AwsError as err:
            return c.html(call, title, h.error_box(f"{err.code}: {err.message}"), active="cloudwatch", status=404)
        except json.JSONDecodeError:
            return c.html(call, title, h.error_box("The dashboard body is not valid JSON."), active="cloudwatch")
        rng = call.q("range", "3h") if call.q("range", "3h") in RANGES else "3h"
        cards = []
        for widget in dash.get("widgets", []) if isinstance(dash, dict) else []:
            if not isinstance(widget, dict):
                continue
            props = widget.get("properties") or {}
            width = max(1, min(24, int(widget.get("width", 6) or 6)))
            style = f"w{(width + 5) // 6 * 6}"  # a 24-column grid snapped to quarters
            kind = widget.get("type")
            if kind == "metric":
                spec = {"range": rng, "metrics": widget_metrics(props), "period": props.get("period", "")}
                inner = f'<div class="chart" data-chart="{h.esc(json.dumps(spec))}"></div>'
            elif kind == "text":
                inner = f'<pre class="text-widget">{h.esc(props.get("markdown", ""))}</pre>'
            elif kind == "alarm":
                inner = "<ul>" + "".join(f"<li>{h.esc(a)}</li>" for a in props.get("alarms", [])) + "</ul>"
            else:
                inner = f'<p class="muted">Widget type {h.esc(kind)} is shown as its definition:</p>{h.pretty_json(props)}'
            cards.append(f'<div class="widget card {style}"><h3>{h.esc(props.get("title", kind or ""))}</h3>{inner}</div>')
        body = h.Markup(_range_links(call, "/cloudwatch/dashboard", rng) + f'<div class="dashboard">{"".join(cards) or "<p>This dashboard has no widgets.</p>"}</div>')
        return c.html(call, title, body, active="cloudwatch", scripts=("chart.js",))

    @console.page("GET", "/cloudwatch/alarm")
    async def alarm(c: Console, call: Call) -> Response:
        name = call.q("name")
        title = f"Alarm {name}"
        if not c.available("cloudwatch"):
            return c.html(call, title, h.unavailable("cloudwatch"), active="cloudwatch")
        try:
            res = await c.invoke(call, "cloudwatch", "DescribeAlarms", {"AlarmNames": [name], "AlarmTypes": ["MetricAlarm", "CompositeAlarm"]})
            found = list(res.get("MetricAlarms", [])) + list(res.get("CompositeAlarms", []))
            if not found:
                raise AwsError("ResourceNotFound", f"Alarm {name} does not exist.", 404)
            history = (await c.invoke(call, "cloudwatch", "DescribeAlarmHistory", {"AlarmName": name, "MaxRecords": 100})).get("AlarmHistoryItems", [])
        except AwsError as err:
            return c.html(call, title, h.error_box(f"{err.code}: {err.message}"), active="cloudwatch", status=404)
        a = found[0]
        info = h.kv_table(
            [
                ("State", h.state_badge(a.get("StateValue"))),
                ("Description", a.get("AlarmDescription", "")),
                ("Reason", a.get("StateReason", "")),
                ("Metric", f"{a.get('Namespace', '')} {a.get('MetricName', '')}".strip() or a.get("AlarmRule", "")),
                ("Dimensions", ", ".join(f"{d.get('Name', '')}={d.get('Value', '')}" for d in a.get("Dimensions", []) or [])),
                ("Condition", f"{a.get('Statistic') or a.get('ExtendedStatistic') or ''} {a.get('ComparisonOperator', '')} {a.get('Threshold', '')} for {a.get('EvaluationPeriods', '')} x {a.get('Period', '')} s"),
                ("Actions enabled", a.get("ActionsEnabled")),
                ("Alarm actions", ", ".join(a.get("AlarmActions", []))),
            ]
        )
        chart = ""
        if a.get("MetricName"):
            spec = {"range": "3h", "metrics": [{"namespace": a.get("Namespace"), "name": a.get("MetricName"), "dims": a.get("Dimensions", []), "stat": a.get("Statistic") or a.get("ExtendedStatistic") or "Average", "period": a.get("Period"), "label": a.get("MetricName")}], "threshold": a.get("Threshold")}
            chart = f'<div class="chart" data-chart="{h.esc(json.dumps(spec, default=str))}"></div>'
        rows = [(h.when(i.get("Timestamp")), i.get("HistoryItemType"), i.get("HistorySummary")) for i in history]
        body = h.Markup(f'<section class="card"><h2>Details</h2>{info}{chart}</section><section class="card"><h2>History</h2>{h.table(["Time", "Type", "Summary"], rows, "No history.", cls="history")}</section>')
        return c.html(call, title, body, active="cloudwatch", scripts=("chart.js",))


def _ms(value: Any) -> int:
    if isinstance(value, datetime):
        return int(value.timestamp() * 1000)
    if isinstance(value, int | float):
        return int(value * 1000) if value < 1e11 else int(value)
    return int(datetime.fromisoformat(str(value)).timestamp() * 1000)
