"""A tiny HTML toolkit: escaping, the page layout, tables, forms and badges.

Everything user-supplied goes through ``esc``; builders return ``Markup`` (a str
subclass) so already-safe fragments are not escaped twice.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

BASE = "/_emulator/console"

NAV: list[tuple[str, str, str]] = [
    ("overview", "Overview", "/"),
    ("dynamodb", "DynamoDB", "/dynamodb"),
    ("s3", "S3", "/s3"),
    ("sqs", "SQS", "/sqs"),
    ("compute", "Compute", "/compute"),
    ("playground", "Playground", "/playground"),
    ("bedrock", "Bedrock", "/bedrock"),
    ("cloudwatch", "CloudWatch", "/cloudwatch"),
    ("logs", "Logs", "/logs"),
    ("costs", "Costs", "/costs"),
    ("keys", "Keys & users", "/keys"),
    ("api", "API explorer", "/api"),
]


class Markup(str):
    """A string that is already safe HTML.

    Concatenation keeps it Markup: fragments are only ever joined with other
    fragments built from ``esc``-aped values (never with raw user input).
    """

    def __add__(self, other: str) -> Markup:
        return Markup(str.__add__(self, other))

    def __radd__(self, other: str) -> Markup:
        return Markup(str.__add__(other, self))


def esc(value: Any) -> Markup:
    if isinstance(value, Markup):
        return value
    if value is None:
        return Markup("")
    if isinstance(value, datetime):
        value = fmt_time(value)
    return Markup(html.escape(str(value), quote=True))


def fmt_time(value: datetime) -> str:
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%d %H:%M:%S UTC")


def when(value: Any) -> str:
    """A timestamp as handlers return it (datetime, epoch seconds or ISO text) -> readable UTC."""
    if isinstance(value, datetime):
        return fmt_time(value)
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 1e8:
        return fmt_time(datetime.fromtimestamp(value / 1000 if value > 1e11 else value, UTC))
    if isinstance(value, str) and value[:4].isdigit() and "T" in value:
        try:
            return fmt_time(datetime.fromisoformat(value))
        except ValueError:
            return value
    return "" if value is None else str(value)


def join(parts: Iterable[Any]) -> Markup:
    return Markup("".join(esc(p) for p in parts))


def url(path: str, **query: Any) -> str:
    q = {k: v for k, v in query.items() if v is not None and v != ""}
    return BASE + path + ("?" + urlencode(q) if q else "")


def link(text: Any, href: str, cls: str = "") -> Markup:
    c = f' class="{esc(cls)}"' if cls else ""
    return Markup(f'<a href="{esc(href)}"{c}>{esc(text)}</a>')


def table(headers: Sequence[Any], rows: Iterable[Sequence[Any]], empty: str = "Nothing here yet.", cls: str = "") -> Markup:
    body = "".join("<tr>" + "".join(f"<td>{esc(cell)}</td>" for cell in row) + "</tr>" for row in rows)
    if not body:
        body = f'<tr><td class="empty" colspan="{len(headers)}">{esc(empty)}</td></tr>'
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    return Markup(f'<table class="grid {esc(cls)}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>')


def kv_table(pairs: Iterable[tuple[Any, Any]]) -> Markup:
    rows = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in pairs)
    return Markup(f'<table class="kv">{rows}</table>')


def badge(text: Any, kind: str = "") -> Markup:
    return Markup(f'<span class="badge {esc(kind)}">{esc(text)}</span>')


STATE_KINDS = {
    "running": "ok", "ACTIVE": "ok", "OK": "ok", "Active": "ok", "available": "ok",
    "pending": "warn", "stopping": "warn", "shutting-down": "warn", "CREATING": "warn", "UPDATING": "warn",
    "DELETING": "warn", "INSUFFICIENT_DATA": "warn", "Inactive": "muted", "stopped": "muted", "terminated": "muted",
    "ALARM": "bad", "failed": "bad",
}


def state_badge(state: Any) -> Markup:
    return badge(state, STATE_KINDS.get(str(state), ""))


def csrf_field(token: str) -> Markup:
    return Markup(f'<input type="hidden" name="_csrf" value="{esc(token)}">')


def post_button(action: str, label: str, csrf: str, fields: dict[str, Any] | None = None, cls: str = "", confirm: str = "") -> Markup:
    hidden = "".join(f'<input type="hidden" name="{esc(k)}" value="{esc(v)}">' for k, v in (fields or {}).items())
    onsubmit = f' data-confirm="{esc(confirm)}"' if confirm else ""
    return Markup(
        f'<form method="post" action="{esc(action)}" class="inline"{onsubmit}>{csrf_field(csrf)}{hidden}'
        f'<button type="submit" class="{esc(cls)}">{esc(label)}</button></form>'
    )


def pretty_json(value: Any) -> Markup:
    return Markup(f"<pre class=\"json\">{esc(json.dumps(value, indent=2, default=str, ensure_ascii=False))}</pre>")


def unavailable(service: str, detail: str = "") -> Markup:
    extra = f"<p>{esc(detail)}</p>" if detail else ""
    return Markup(
        f'<div class="unavailable"><h2>Service not available</h2><p>The <code>{esc(service)}</code> service is not '
        f"served natively by this emulator right now, so this page has nothing to show. It starts working as soon as "
        f"the service is enabled.</p>{extra}</div>"
    )


def error_box(message: Any) -> Markup:
    return Markup(f'<div class="flash error">{esc(message)}</div>')


def layout(title: str, body: Any, *, active: str = "", user: str = "", csrf: str = "", flashes: Sequence[tuple[str, str]] = (), scripts: Sequence[str] = (),
           region: str = "", regions: Sequence[str] = (), here: str = "/") -> Markup:
    nav = ""
    if user:
        # The region every page shows and acts in (resources are regional, as on AWS).
        options = "".join(f'<option value="{esc(r)}"{" selected" if r == region else ""}>{esc(r)}</option>' for r in regions)
        switch = (
            f'<form method="post" action="{esc(BASE)}/region" class="region">{csrf_field(csrf)}<input type="hidden" name="next" value="{esc(here)}">'
            f'<label>Region <select name="region" id="region-select">{options}</select></label><button type="submit">Switch</button></form>'
        ) if regions else ""
        items = "".join(
            f'<a href="{esc(BASE + path)}" class="{"active" if key == active else ""}" data-nav="{esc(key)}">{esc(label)}</a>'
            for key, label, path in NAV
        )
        nav = (
            f'<nav class="side"><div class="brand">emulator<span>console</span></div>{switch}{items}'
            f'<form method="post" action="{esc(BASE)}/signout" class="signout">{csrf_field(csrf)}'
            f'<div class="who" title="signed-in principal">{esc(user)}</div><button type="submit">Sign out</button></form></nav>'
        )
    flash_html = "".join(f'<div class="flash {esc(kind)}">{esc(msg)}</div>' for kind, msg in flashes)
    script_tags = "".join(f'<script src="{esc(BASE)}/static/{esc(s)}" defer></script>' for s in ("console.js", *scripts))
    return Markup(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
        f'<meta name="viewport" content="width=device-width, initial-scale=1"><meta name="csrf-token" content="{esc(csrf)}">'
        f"<title>{esc(title)} · emulator console</title>"
        f'<link rel="icon" href="{esc(BASE)}/static/favicon.svg" type="image/svg+xml">'
        f'<link rel="stylesheet" href="{esc(BASE)}/static/console.css">{script_tags}</head>'
        f'<body class="{"app" if user else "bare"}">{nav}<main><h1>{esc(title)}</h1>{flash_html}{esc(body)}</main></body></html>'
    )
