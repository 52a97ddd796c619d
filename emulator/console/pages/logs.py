"""CloudWatch Logs: log groups, filter with the filter-pattern syntax, live tail."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from emulator.console import html as h
from emulator.errors import AwsError
from emulator.protocols.base import Response

if TYPE_CHECKING:
    from emulator.console.core import Call, Console

RANGES = {"5m": 300, "1h": 3600, "12h": 43200, "1d": 86400, "1w": 604800, "all": 0}
MAX_EVENTS = 500


def _fmt_ms(ms: Any) -> str:
    try:
        return datetime.fromtimestamp(int(ms) / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
    except (TypeError, ValueError, OverflowError):
        return ""


async def filter_events(c: Console, call: Call, group: str, pattern: str, start_ms: int | None, limit: int = MAX_EVENTS, stream_prefix: str = "") -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    params: dict[str, Any] = {"logGroupName": group, "limit": min(limit, 10000)}
    if pattern:
        params["filterPattern"] = pattern
    if stream_prefix:
        params["logStreamNamePrefix"] = stream_prefix
    if start_ms:
        params["startTime"] = start_ms
    for _ in range(20):
        res = await c.invoke(call, "logs", "FilterLogEvents", params)
        events.extend(res.get("events", []))
        token = res.get("nextToken")
        if not token or len(events) >= limit:
            break
        params["nextToken"] = token
    events.sort(key=lambda e: (e.get("timestamp", 0), e.get("eventId", "")))
    return events[-limit:]


def register(console: Console) -> None:
    @console.page("GET", "/logs")
    async def groups(c: Console, call: Call) -> Response:
        if not c.available("logs"):
            return c.html(call, "Logs", h.unavailable("logs"), active="logs")
        rows = []
        error = ""
        try:
            params: dict[str, Any] = {"limit": 50}
            for _ in range(20):
                res = await c.invoke(call, "logs", "DescribeLogGroups", params)
                for g in res.get("logGroups", []):
                    rows.append((h.link(g.get("logGroupName"), h.url("/logs/group", name=g.get("logGroupName"))), _fmt_ms(g.get("creationTime")), g.get("retentionInDays", "never expire"), g.get("storedBytes", 0)))
                if not res.get("nextToken"):
                    break
                params["nextToken"] = res["nextToken"]
        except AwsError as err:
            error = f"{err.code}: {err.message}"
        body = h.Markup((h.error_box(error) if error else "") + f'<section class="card"><h2>Log groups</h2>{h.table(["Log group", "Created", "Retention (days)", "Stored bytes"], rows, "No log groups.", cls="log-groups")}</section>')
        return c.html(call, "Logs", body, active="logs")

    @console.page("GET", "/logs/group")
    async def group(c: Console, call: Call) -> Response:
        name = call.q("name")
        title = f"Log group {name}"
        if not c.available("logs"):
            return c.html(call, title, h.unavailable("logs"), active="logs")
        pattern = call.q("pattern")
        rng = call.q("range", "1h") if call.q("range", "1h") in RANGES else "1h"
        start = int((time.time() - RANGES[rng]) * 1000) if RANGES[rng] else None
        error = ""
        events: list[dict[str, Any]] = []
        try:
            events = await filter_events(c, call, name, pattern, start, stream_prefix=call.q("stream"))
        except AwsError as err:
            error = f"{err.code}: {err.message}"
        lines = "".join(
            f'<div class="log-line"><span class="ts">{h.esc(_fmt_ms(e.get("timestamp")))}</span><span class="stream">{h.esc(e.get("logStreamName", ""))}</span>'
            f'<span class="msg">{h.esc(e.get("message", ""))}</span></div>'
            for e in events
        )
        last = max((int(e.get("timestamp", 0)) for e in events), default=int(time.time() * 1000))
        range_opts = "".join(f'<option{" selected" if r == rng else ""}>{h.esc(r)}</option>' for r in RANGES)
        body = h.Markup(
            f'<section class="card"><form method="get" class="row" id="filter-form" action="{h.esc(h.url("/logs/group"))}">'
            f'<input type="hidden" name="name" value="{h.esc(name)}">'
            f'<label class="wide">Filter pattern<input name="pattern" id="pattern" value="{h.esc(pattern)}" placeholder="ERROR -DEBUG, {{ $.level = &quot;error&quot; }}, [ip, user, ...]"></label>'
            f'<label>Stream prefix<input name="stream" id="stream" value="{h.esc(call.q("stream"))}"></label>'
            f'<label>Range<select name="range">{range_opts}</select></label><button type="submit">Filter</button>'
            f'<button type="button" id="tail-toggle" data-group="{h.esc(name)}" data-since="{last + 1}">Start live tail</button></form>'
            + (h.error_box(error) if error else "")
            + f'<p class="muted" id="tail-status">{len(events)} event(s).</p><div class="log-view" id="log-view">{lines}</div></section>'
        )
        return c.html(call, title, body, active="logs", scripts=("logs.js",))

    @console.page("GET", "/api/logs")
    async def api_logs(c: Console, call: Call) -> Response:
        """Events since ``since`` (ms): the live tail polls this every couple of seconds."""
        if not c.available("logs"):
            return c.json({"code": "ServiceUnavailable", "message": "logs is not available"}, 503)
        try:
            since = int(call.q("since") or 0)
        except ValueError:
            return c.json({"code": "InvalidParameterException", "message": "since must be epoch milliseconds"}, 400)
        try:
            events = await filter_events(c, call, call.q("group"), call.q("pattern"), since or int(time.time() * 1000) - 60_000, 1000, call.q("stream"))
        except AwsError as err:
            return c.json({"code": err.code, "message": err.message}, err.status)
        return c.json(
            {
                "events": [{"time": _fmt_ms(e.get("timestamp")), "timestamp": e.get("timestamp"), "stream": e.get("logStreamName", ""), "message": e.get("message", ""), "id": e.get("eventId", "")} for e in events],
                "now": int(time.time() * 1000),
            }
        )
