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


WINDOW_MS = 60_000  # the first backward window
WINDOW_PAGES = 5  # FilterLogEvents pages (10,000 events each) read from one window before it shrinks
MAX_CALLS = 60  # FilterLogEvents calls a page view may make


async def newest_events(c: Console, call: Call, group: str, pattern: str, start_ms: int | None, before_ms: int | None = None,
                        limit: int = MAX_EVENTS, stream_prefix: str = "") -> tuple[list[dict[str, Any]], bool]:
    """The newest ``limit`` matching events with a timestamp in [start_ms, before_ms) (no bound where
    None), in time order, and whether older matching events exist.

    FilterLogEvents reads forward only, so the range is read backward in time windows (each
    paged through in full, oldest-first): the first is the last minute, each next one ends where
    the last began and grows while the events are sparse, and one too full to page through
    shrinks. A first call finds the oldest matching event, which bounds the walk. Events with
    the oldest shown timestamp are all kept (a page cut inside one millisecond would hide the
    rest from the "older" page, which asks for events before it), so a few more than ``limit``
    may come back."""
    base: dict[str, Any] = {"logGroupName": group}
    if pattern:
        base["filterPattern"] = pattern
    if stream_prefix:
        base["logStreamNamePrefix"] = stream_prefix
    calls = 0

    async def read(lo: int | None, hi: int | None, pages: int, page_limit: int = 10_000) -> tuple[list[dict[str, Any]], bool]:
        """Events in [lo, hi), oldest first, and whether they are all there (within ``pages`` pages)."""
        nonlocal calls
        params = dict(base, limit=page_limit)
        if lo is not None:
            params["startTime"] = lo
        if hi is not None:
            params["endTime"] = hi - 1  # FilterLogEvents' endTime is inclusive
        got: list[dict[str, Any]] = []
        for _ in range(pages):
            calls += 1
            res = await c.invoke(call, "logs", "FilterLogEvents", params)
            got.extend(res.get("events", []))
            token = res.get("nextToken")
            if not token:
                return got, True
            params["nextToken"] = token
        return got, False

    first, _ = await read(start_ms, before_ms, 1, 1)
    if not first:
        return [], False
    floor = int(first[0].get("timestamp", 0))  # no matching event is older than this
    hi = before_ms
    top = hi if hi is not None else int(time.time() * 1000)
    width = WINDOW_MS
    chunks: list[list[dict[str, Any]]] = []
    total = 0
    reached_floor = False
    while calls < MAX_CALLS:
        lo = max(floor, top - width)
        got, complete = await read(lo, hi, WINDOW_PAGES)
        if not complete and top - lo > 1:
            width = max(1, (top - lo) // 16)  # too full: a narrower window ending at the same place
            continue
        chunks.append(got)
        total += len(got)
        if lo <= floor:
            reached_floor = True
            break
        if total >= limit:
            break
        hi = top = lo
        width = width * 8 if not got else width * 2
    events = [e for chunk in reversed(chunks) for e in chunk]
    events.sort(key=lambda e: (e.get("timestamp", 0), e.get("eventId", "")))
    if len(events) > limit:
        cut = events[-limit].get("timestamp", 0)
        kept = [e for e in events if e.get("timestamp", 0) >= cut]
        return kept, True
    return events, not reached_floor


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
        try:
            before = int(call.q("before")) if call.q("before") else None
        except ValueError:
            before = None
        error = ""
        events: list[dict[str, Any]] = []
        older = False
        try:
            events, older = await newest_events(c, call, name, pattern, start, before, stream_prefix=call.q("stream"))
        except AwsError as err:
            error = f"{err.code}: {err.message}"
        here = {"name": name, "pattern": pattern, "stream": call.q("stream"), "range": rng}
        notes: list[h.Markup] = []
        if older and events:
            notes.append(h.esc(f"Showing the newest {len(events)} events{' before ' + _fmt_ms(before) if before else ''}; older ones exist.")
                         + " " + h.link("Older events", h.url("/logs/group", **here, before=events[0].get("timestamp")), "older-link"))
        elif before:
            notes.append(h.esc(f"Events before {_fmt_ms(before)}."))
        if before:
            notes.append(h.link("Newest events", h.url("/logs/group", **here), "newest-link"))
        note = h.Markup(f'<p class="muted" id="older-note">{" ".join(notes)}</p>') if notes else ""
        lines = "".join(
            f'<div class="log-line"><span class="ts">{h.esc(_fmt_ms(e.get("timestamp")))}</span><span class="stream">{h.esc(e.get("logStreamName", ""))}</span>'
            f'<span class="msg">{h.esc(e.get("message", ""))}</span></div>'
            for e in events
        )
        last = max((int(e.get("timestamp", 0)) for e in events), default=int(time.time() * 1000))
        # The live tail follows the newest events: not offered while looking at older ones.
        tail = "" if before else f'<button type="button" id="tail-toggle" data-group="{h.esc(name)}" data-since="{last + 1}">Start live tail</button>'
        range_opts = "".join(f'<option{" selected" if r == rng else ""}>{h.esc(r)}</option>' for r in RANGES)
        body = h.Markup(
            f'<section class="card"><form method="get" class="row" id="filter-form" action="{h.esc(h.url("/logs/group"))}">'
            f'<input type="hidden" name="name" value="{h.esc(name)}">'
            f'<label class="wide">Filter pattern<input name="pattern" id="pattern" value="{h.esc(pattern)}" placeholder="ERROR -DEBUG, {{ $.level = &quot;error&quot; }}, [ip, user, ...]"></label>'
            f'<label>Stream prefix<input name="stream" id="stream" value="{h.esc(call.q("stream"))}"></label>'
            f'<label>Range<select name="range">{range_opts}</select></label><button type="submit">Filter</button>'
            + tail + "</form>"
            + (h.error_box(error) if error else "")
            + f'{note}<p class="muted" id="tail-status">{len(events)} event(s).</p><div class="log-view" id="log-view">{lines}</div></section>'
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
