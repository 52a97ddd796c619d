"""Costs: the usage report (GET /_emulator/usage) with charts, and billing metrics over time."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import orjson

from emulator.console import html as h
from emulator.context import RequestContext
from emulator.errors import AwsError
from emulator.protocols.base import Request, Response

if TYPE_CHECKING:
    from emulator.console.core import Call, Console

USAGE_PATH = "/_emulator/usage"
# Reading costs needs this on AWS (Cost Explorer; no resource types: "*"), as GET /_emulator/usage does.
USAGE_ACTION = "ce:GetCostAndUsage"


def may_read_costs(c: Console, call: Call) -> str | None:
    """None when the signed-in principal may read the usage report (ce:GetCostAndUsage on "*",
    decided by the authorizer the API uses; the root user may); else the AccessDenied message."""
    principal = call.principal
    if not c.runtime.settings.auth or principal.is_root:
        return None
    authorizer = c.runtime.components.get("authorizer")
    if authorizer is None:  # no policies to evaluate: the root user only
        return f"User: {principal.arn} is not authorized to perform: {USAGE_ACTION}"
    decision = authorizer.check(principal, USAGE_ACTION, "*")
    if decision.allowed:
        return None
    from emulator.gateway.authorize import denied_message

    return str(denied_message(principal, decision))


async def usage_report(c: Console, call: Call) -> dict[str, Any] | None:
    """Call the monitoring service's usage route in-process (None when it isn't there)."""
    for route in c.runtime.routes:
        if USAGE_PATH.startswith(route.prefix) and route.prefix.startswith("/_emulator/usage") and (route.methods is None or "GET" in route.methods):
            request = Request("GET", USAGE_PATH, USAGE_PATH, call.request.query_string, {"accept": "application/json"}, b"", "127.0.0.1")
            ctx = RequestContext(request_id=call.ctx.request_id, request=request)
            ctx.principal = call.principal
            response = await route.handler(request, ctx)
            if response.status != 200:
                raise AwsError("UsageReportFailed", f"The usage report answered HTTP {response.status}: {response.body[:300].decode('utf-8', 'replace')}", 502)
            data = orjson.loads(response.body)
            return data if isinstance(data, dict) else {"report": data}
    return None


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def bar_chart(title: str, values: dict[str, float], fmt: Callable[[float], str] | None = None) -> h.Markup:
    fmt = fmt or _fmt
    top = max((abs(v) for v in values.values()), default=0) or 1
    rows = "".join(
        f'<div class="bar-row"><span class="bar-label">{h.esc(k)}</span><span class="bar-track"><span class="bar-fill" style="width:{100 * abs(v) / top:.1f}%"></span></span>'
        f'<span class="bar-value">{h.esc(fmt(v))}</span></div>'
        for k, v in sorted(values.items(), key=lambda kv: -abs(kv[1]))
    )
    return h.Markup(f'<div class="bars card"><h3>{h.esc(title)}</h3>{rows}</div>')


def _fmt(v: float) -> str:
    if abs(v) >= 100:
        return f"{v:,.2f}"
    return f"{v:.4f}".rstrip("0").rstrip(".") if v else "0"


def charts_from(report: Any, path: str = "") -> list[h.Markup]:
    """Every mapping of names to numbers in the report becomes a bar chart; nested mappings of
    mappings become one chart per numeric field (e.g. per service: aws_cost, local_cost)."""
    out: list[h.Markup] = []
    if not isinstance(report, dict):
        return out
    numbers = {str(k): float(v) for k, v in report.items() if _is_number(v)}
    if len(numbers) >= 2 and path:
        out.append(bar_chart(path, numbers))
    children = {k: v for k, v in report.items() if isinstance(v, dict)}
    if len(children) >= 2 and all(isinstance(v, dict) for v in children.values()):
        fields: dict[str, dict[str, float]] = {}
        for name, child in children.items():
            for field, value in child.items():
                if _is_number(value):
                    fields.setdefault(str(field), {})[str(name)] = float(value)
        for field, values in fields.items():
            if len(values) >= 2 and any(values.values()):
                out.append(bar_chart(f"{path or 'report'} · {field}", values))
    for key, child in children.items():
        out.extend(charts_from(child, f"{path}.{key}" if path else str(key)))
    return out[:12]


def render_value(value: Any, depth: int = 0) -> h.Markup:
    if isinstance(value, dict):
        if not value:
            return h.Markup('<span class="muted">none</span>')
        if depth >= 3:
            return h.pretty_json(value)
        rows = "".join(f"<tr><th>{h.esc(k)}</th><td>{render_value(v, depth + 1)}</td></tr>" for k, v in value.items())
        return h.Markup(f'<table class="kv nested">{rows}</table>')
    if isinstance(value, list):
        if value and all(isinstance(v, dict) for v in value):
            cols: list[str] = []
            for v in value:
                cols.extend(k for k in v if k not in cols)
            return h.table(cols, ([json.dumps(v.get(col), default=str) if isinstance(v.get(col), dict | list) else v.get(col, "") for col in cols] for v in value))
        return h.esc(", ".join(str(v) for v in value))
    if isinstance(value, float):
        return h.esc(_fmt(value))
    return h.esc(value)


def usd(value: Any) -> str:
    v = float(value or 0)
    if v < 0:
        return "-" + usd(-v)
    if v == 0:
        return "$0.00"
    if v < 0.01:
        return "$" + f"{v:.6f}".rstrip("0")
    return f"${v:,.2f}"


def _qty(value: Any) -> str:
    v = float(value or 0)
    return f"{v:,.0f}" if v == int(v) else f"{v:,.4f}".rstrip("0")


def render_report(report: dict[str, Any]) -> h.Markup:
    """The monitoring service's report: totals, charts by service and key, line items."""
    by_service: dict[str, Any] = report.get("by_service") or {}
    by_key: dict[str, Any] = report.get("by_key") or {}
    cards = "".join(
        f'<div class="gauge card"><div class="gauge-label">{h.esc(label)}</div><div class="gauge-value" data-cost="{h.esc(key)}">{h.esc(usd(report.get(key)))}</div>'
        f'<div class="muted">{h.esc(note)}</div></div>'
        for key, label, note in (
            ("aws_cost_usd", "Would cost on AWS", "list prices, this month"),
            ("local_cost_usd", "Cost here", "power x electricity price"),
            ("savings_usd", "Saved", "AWS minus local"),
        )
    )
    charts = [bar_chart("AWS cost by service", {k: float(v.get("aws_cost_usd", 0)) for k, v in by_service.items()}, usd)]
    local = {k: float(v.get("local_cost_usd", 0)) for k, v in by_service.items() if v.get("local_cost_usd")}
    if local:
        charts.append(bar_chart("Local cost by service", local, usd))
    if by_key:
        charts.append(bar_chart("AWS cost by access key", {k: float(v.get("aws_cost_usd", 0)) for k, v in by_key.items()}, usd))
    items = [
        (svc, item, _qty(entry.get("quantity")), usd(entry.get("cost_usd")))
        for svc, info in sorted(by_service.items())
        for item, entry in sorted((info.get("items") or {}).items())
    ]
    keys = [
        (key, usd(info.get("aws_cost_usd")), ", ".join(f"{svc} {usd(s.get('aws_cost_usd'))}" for svc, s in sorted((info.get("services") or {}).items())))
        for key, info in sorted(by_key.items(), key=lambda kv: -float(kv[1].get("aws_cost_usd", 0)))
    ]
    return h.Markup(
        f'<form method="get" class="row" action="{h.esc(h.url("/costs"))}"><label>Month<input type="month" name="month" value="{h.esc(report.get("month", ""))}"></label>'
        '<button type="submit">Show</button></form>'
        f'<section class="gauges costs-summary">{cards}</section>'
        f'<section class="charts">{"".join(charts)}</section>'
        f'<section class="card"><h2>Line items ({h.esc(report.get("month", ""))})</h2><div id="usage-report">'
        + h.table(["Service", "Item", "Quantity", "AWS cost"], items, "No usage recorded this month.", cls="usage-items")
        + "</div></section>"
        + f'<section class="card"><h2>By access key</h2>{h.table(["Access key", "AWS cost", "By service"], keys, "No usage recorded this month.", cls="usage-keys")}</section>'
    )


def register(console: Console) -> None:
    @console.page("GET", "/costs")
    async def costs(c: Console, call: Call) -> Response:
        parts: list[str] = []
        denied = may_read_costs(c, call)
        try:
            if denied is not None:
                raise AwsError("AccessDeniedException", denied, 403)
            report = await usage_report(c, call)
        except AwsError as err:
            report = None
            parts.append(h.error_box(f"{err.code}: {err.message}"))
        except ValueError:
            report = None
            parts.append(h.error_box("The usage report is not valid JSON."))
        if report is None and not parts:
            parts.append(h.unavailable("usage report", "GET /_emulator/usage is served by the monitoring service."))
        elif report is not None and isinstance(report.get("by_service"), dict):
            parts.append(render_report(report))
        elif report is not None:
            # A report shape this page does not know: show it generically rather than not at all.
            charts = charts_from(report)
            parts.append(f'<section class="charts">{"".join(charts)}</section>' if charts else "")
            parts.append(f'<section class="card"><h2>Usage report</h2><div id="usage-report">{render_value(report)}</div></section>')
        if c.available("cloudwatch"):
            try:
                res = await c.invoke(call, "cloudwatch", "ListMetrics", {"Namespace": "Emulator/Billing", "MetricName": "EstimatedCharges"})
                specs = [
                    {"namespace": "Emulator/Billing", "name": "EstimatedCharges", "dims": m.get("Dimensions", []), "stat": "Maximum",
                     "label": ", ".join(d["Value"] for d in m.get("Dimensions", [])) or "total"}
                    for m in res.get("Metrics", [])
                ]
                if specs:
                    spec = {"range": "1d", "metrics": specs[:10]}
                    parts.append(f'<section class="card"><h2>Estimated charges over the last day</h2><div class="chart" data-chart="{h.esc(json.dumps(spec))}"></div></section>')
            except AwsError:
                pass
        return c.html(call, "Costs", h.Markup("".join(str(p) for p in parts)), active="costs", scripts=("chart.js",))
