"""Unit tests of the console's pure helpers (no server)."""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from emulator.console import ddbjson
from emulator.console import html as h
from emulator.console.pages.auth import _safe_next
from emulator.console.pages.cloudwatch import auto_period, parse_dims, widget_metrics
from emulator.console.pages.costs import charts_from, render_value
from emulator.console.pages.playground import converse_params, relay
from emulator.console.sessions import SessionStore
from emulator.context import Principal
from emulator.errors import AwsError


def run(coro: Any) -> Any:
    # In a fresh thread: Playwright's sync API (browser tests) keeps an event loop in this one.
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


def test_escape_and_markup() -> None:
    assert h.esc("<b>&\"'") == "&lt;b&gt;&amp;&quot;&#x27;"
    safe = h.link("<x>", "/a?b=1&c=2")
    assert safe == '<a href="/a?b=1&amp;c=2">&lt;x&gt;</a>'
    assert h.esc(safe) == safe  # not escaped twice
    assert isinstance(safe + "<i>", h.Markup)
    table = h.table(["a"], [["<script>"]])
    assert "<script>" not in table and "&lt;script&gt;" in table
    assert "colspan=\"2\"" in h.table(["a", "b"], [], "none")


def test_ddbjson_round_trip() -> None:
    item = ddbjson.parse_item('{"k": {"S": "a"}, "b": {"B": "aGk="}, "bs": {"BS": ["AA=="]}, "m": {"M": {"n": {"N": "1"}, "l": {"L": [{"NULL": true}]}}}}')
    assert item["b"] == {"B": b"hi"} and item["bs"] == {"BS": [b"\x00"]}
    assert item["m"]["M"]["l"]["L"][0] == {"NULL": True}
    assert ddbjson.to_json(item)["b"] == {"B": "aGk="}
    assert ddbjson.short({"S": "x" * 200}, 10) == "x" * 9 + "…"
    assert ddbjson.short({"BOOL": False}) == "false"
    for bad, message in (
        ("[1]", "must be a JSON object"),
        ("{}", "must be a JSON object"),
        ('{"a": {"S": "x", "N": "1"}}', "exactly one type key"),
        ('{"a": {"X": "1"}}', "unknown attribute type"),
        ('{"a": {"B": "***"}}', "not valid base64"),
        ('{"a": {"M": []}}', "M is an object"),
        ("{", "not valid JSON"),
    ):
        with pytest.raises(AwsError) as info:
            ddbjson.parse_item(bad)
        assert info.value.code == "ValidationException" and message in info.value.message, bad


def test_widget_metrics_shorthands() -> None:
    props = {
        "stat": "Sum",
        "period": 60,
        "metrics": [
            ["AWS/DynamoDB", "ConsumedReadCapacityUnits", "TableName", "a"],
            ["...", "b"],
            [".", "ConsumedWriteCapacityUnits", ".", "a", {"stat": "Maximum", "label": "writes"}],
            [{"expression": "m1+m2", "label": "total"}],
        ],
    }
    out = widget_metrics(props)
    assert [m["dims"][0]["Value"] for m in out] == ["a", "b", "a"]
    assert out[1]["name"] == "ConsumedReadCapacityUnits" and out[1]["stat"] == "Sum" and out[1]["period"] == 60
    assert out[2]["name"] == "ConsumedWriteCapacityUnits" and out[2]["stat"] == "Maximum" and out[2]["label"] == "writes"
    assert out[2]["namespace"] == "AWS/DynamoDB"


def test_parse_dims_and_period() -> None:
    assert parse_dims('[{"Name": "A", "Value": "1"}]') == [{"Name": "A", "Value": "1"}]
    assert parse_dims('{"A": 1}') == [{"Name": "A", "Value": "1"}]
    assert parse_dims("") == []
    with pytest.raises(AwsError):
        parse_dims("[1]")
    assert auto_period(3600) == 60
    assert auto_period(7 * 86400) == 3600


def test_safe_next() -> None:
    assert _safe_next("/dynamodb?x=1") == "/dynamodb?x=1"
    for bad in ("//evil.example", "http://evil.example", "\\\\evil", "/\\evil", ""):
        assert _safe_next(bad) == "/"


def test_sessions_expire_and_cap() -> None:
    store = SessionStore(idle_timeout=0.05, max_sessions=3)
    p = Principal("AKIA1", "alice", "arn:aws:iam::0:user/alice", "0")
    s = store.new(p)
    assert store.get(s.sid) is s and s.check_csrf(s.csrf) and not s.check_csrf("") and not s.check_csrf(None)
    time.sleep(0.06)
    assert store.get(s.sid) is None
    kept = store.new(p)
    for _ in range(5):
        store.new()
    assert len(store) == 3 and store.get(kept.sid) is kept  # anonymous sessions go first
    store.drop_key("AKIA1")
    assert store.get(kept.sid) is None


def test_converse_params() -> None:
    params = converse_params({"modelId": "m", "messages": [{"role": "user", "content": "hi"}], "system": " be brief ", "maxTokens": "8", "temperature": "0.5"})
    assert params == {"modelId": "m", "messages": [{"role": "user", "content": [{"text": "hi"}]}], "system": [{"text": "be brief"}], "inferenceConfig": {"maxTokens": 8, "temperature": 0.5}}
    for bad in ({"modelId": "", "messages": []}, {"modelId": "m", "messages": []}, {"modelId": "m", "messages": [{"role": "assistant", "content": "x"}]},
                {"modelId": "m", "messages": [{"role": "user", "content": "x"}], "maxTokens": "many"}):
        with pytest.raises(AwsError):
            converse_params(bad)


def test_relay_turns_events_into_sse() -> None:
    closed: list[bool] = []

    class Stream:
        def __init__(self, events: list[Any]) -> None:
            self.events = events

        def __aiter__(self) -> Any:
            return self._gen()

        async def _gen(self) -> Any:
            for e in self.events:
                if isinstance(e, Exception):
                    raise e
                yield e

        async def aclose(self) -> None:
            closed.append(True)

    async def collect(stream: Stream) -> list[bytes]:
        return [chunk async for chunk in relay(stream)]

    events = [{"messageStart": {"role": "assistant"}}, {"contentBlockDelta": {"delta": {"text": "Hel"}, "contentBlockIndex": 0}}, ("contentBlockDelta", {"delta": {"text": "lo"}}),
              {"messageStop": {"stopReason": "end_turn"}}, {"metadata": {"usage": {"inputTokens": 1, "outputTokens": 2}}}]
    out = run(collect(Stream(events)))
    assert out[0] == b'event: token\ndata: {"text":"Hel"}\n\n' and out[1] == b'event: token\ndata: {"text":"lo"}\n\n'
    assert out[2].startswith(b"event: stop") and out[3].startswith(b"event: metadata") and out[4].startswith(b"event: done")
    out = run(collect(Stream([{"contentBlockDelta": {"delta": {"text": "x"}}}, AwsError("ModelTimeoutException", "slow", 408)])))
    assert out[-1] == b'event: error\ndata: {"code":"ModelTimeoutException","message":"slow"}\n\n'
    assert closed == [True, True]


def test_cost_charts_from_report() -> None:
    report = {"month": "2026-12", "by_service": {"dynamodb": {"aws_usd": 1.5, "local_usd": 0.1}, "bedrock": {"aws_usd": 3.0, "local_usd": 0.2}}, "total": {"aws_usd": 4.5, "local_usd": 0.3}}
    charts = "".join(charts_from(report))
    assert "by_service · aws_usd" in charts and "bedrock" in charts and "width:100.0%" in charts
    assert "total" in charts
    html = render_value(report)
    assert "2026-12" in html and "dynamodb" in html
    assert render_value([{"a": 1}, {"b": "<x>"}]).count("<tr>") == 3 and "&lt;x&gt;" in render_value([{"b": "<x>"}])


def test_usage_report_rendering() -> None:
    from emulator.console.pages.costs import render_report, usd

    assert usd(0) == "$0.00" and usd(0.000054) == "$0.000054" and usd(1234.5) == "$1,234.50"
    report = {
        "month": "2026-12", "currency": "USD", "aws_cost_usd": 2.5, "local_cost_usd": 0.25, "savings_usd": 2.25,
        "by_service": {"bedrock": {"aws_cost_usd": 2.0, "local_cost_usd": 0.0, "items": {"output_tokens": {"quantity": 1000.0, "cost_usd": 2.0}}},
                       "local": {"aws_cost_usd": 0.0, "local_cost_usd": 0.25, "items": {"gpu_wh": {"quantity": 1.5, "cost_usd": 0.25}}}},
        "by_key": {"AKIA<b>": {"aws_cost_usd": 2.5, "services": {"bedrock": {"aws_cost_usd": 2.0}}}},
    }
    html = render_report(report)
    assert 'data-cost="aws_cost_usd">$2.50<' in html and "$2.25" in html
    assert "Local cost by service" in html and "output_tokens" in html and "1,000" in html
    assert "AKIA&lt;b&gt;" in html and "AKIA<b>" not in html


def test_when_formats_timestamps() -> None:
    from datetime import UTC, datetime

    assert h.when(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)) == "2026-01-02 03:04:05 UTC"
    assert h.when(1767323045.5) == "2026-01-02 03:04:05 UTC"
    assert h.when(1767323045500) == "2026-01-02 03:04:05 UTC"
    assert h.when("2026-01-02T03:04:05+00:00") == "2026-01-02 03:04:05 UTC"
    assert h.when(None) == "" and h.when("soon") == "soon"


def test_gpu_figures_from_nvml(monkeypatch: pytest.MonkeyPatch) -> None:
    """The NVML path (no GPU on CI machines): the gauges' numbers from pynvml's answers."""
    from types import SimpleNamespace

    from emulator.console import system

    fake = SimpleNamespace(
        nvmlDeviceGetCount=lambda: 1,
        nvmlDeviceGetHandleByIndex=lambda i: f"gpu{i}",
        nvmlDeviceGetMemoryInfo=lambda handle: SimpleNamespace(used=40 * 2**30, total=80 * 2**30),
        nvmlDeviceGetUtilizationRates=lambda handle: SimpleNamespace(gpu=73),
        nvmlDeviceGetName=lambda handle: b"NVIDIA H100",
    )
    monkeypatch.setattr(system, "_nvml_state", {"tried": True, "ok": True, "mod": fake})
    snap = system.snapshot(1.5)
    assert snap["gpus"] == [{"index": 0, "name": "NVIDIA H100", "util_percent": 73.0, "vram_used": 40 * 2**30, "vram_total": 80 * 2**30, "vram_percent": 50.0}]
    assert snap["gpu_percent"] == 73.0 and snap["vram_percent"] == 50.0 and snap["requests_per_second"] == 1.5
    monkeypatch.setattr(system, "_nvml_state", {"tried": True, "ok": False, "mod": None})
    assert system.snapshot(0)["gpus"] == [] and system.snapshot(0)["gpu_percent"] is None
