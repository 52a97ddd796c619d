"""Overview: service health and live gauges (CPU, RAM, GPU, VRAM, requests/s)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from emulator.console import html as h
from emulator.console import system
from emulator.protocols.base import Response

if TYPE_CHECKING:
    from emulator.console.core import Call, Console

SERVICE_PAGES = {"dynamodb": "/dynamodb", "ec2": "/compute", "bedrock": "/bedrock", "bedrock-runtime": "/playground", "cloudwatch": "/cloudwatch", "logs": "/logs", "iam": "/keys"}


def _gauge(key: str, label: str) -> h.Markup:
    return h.Markup(
        f'<div class="gauge card" data-gauge="{h.esc(key)}"><div class="gauge-label">{h.esc(label)}</div>'
        f'<div class="gauge-value" id="g-{h.esc(key)}">–</div><div class="bar"><div class="fill" id="b-{h.esc(key)}"></div></div>'
        f'<div class="spark" id="s-{h.esc(key)}"></div></div>'
    )


def _summary(info: dict[str, Any]) -> str:
    return ", ".join(f"{k}: {v}" for k, v in info.items() if k not in ("mode", "state") and not isinstance(v, dict | list))[:200]


def register(console: Console) -> None:
    @console.page("GET", "/")
    async def overview(c: Console, call: Call) -> Response:
        health = c.runtime.health()
        from emulator.settings import ALL_SERVICES

        rows = []
        services = health.get("services", {})
        for name in sorted(set(ALL_SERVICES) | set(services)):
            info = services.get(name)
            page = SERVICE_PAGES.get(name)
            label = h.link(name, h.url(page)) if page else name
            if info is None:
                rows.append((label, h.badge("not available", "muted"), "served by the fallback if at all", ""))
            else:
                rows.append((label, h.state_badge(info.get("state", "running")), info.get("mode", "native"), info.get("error") or _summary(info)))
        gauges = h.join(
            _gauge(k, label)
            for k, label in (("cpu", "CPU"), ("ram", "RAM"), ("gpu", "GPU"), ("vram", "VRAM"), ("rps", "Requests/s"))
        )
        fb = health.get("fallback", {})
        body = h.Markup(
            f'<section class="gauges" id="gauges">{gauges}</section>'
            f'<p class="muted" id="gpu-note"></p>'
            f'<section class="card"><h2>Services</h2>{h.table(["Service", "State", "Mode", "Details"], rows, cls="services")}'
            f'<p class="muted">Version {h.esc(health.get("version"))} · region {h.esc(health.get("region"))} · up '
            f'{h.esc(int(health.get("uptime_seconds", 0)))} s · fallback: {h.esc("on (" + str(fb.get("provider")) + ")" if fb.get("enabled") else "off")}</p></section>'
        )
        return c.html(call, "Overview", body, active="overview", scripts=("chart.js", "overview.js"))

    @console.page("GET", "/api/stats")
    async def stats(c: Console, call: Call) -> Response:
        return c.json(system.snapshot(c.counter.rate()))

    @console.page("GET", "/api/health")
    async def health(c: Console, call: Call) -> Response:
        return c.json(c.runtime.health())
