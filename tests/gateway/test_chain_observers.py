"""The chain's per-request bookkeeping: audit log, access log, header/body guard.

These parts were reworked to cost little on the request path (bench/RESULTS.md,
gateway overhead): the audit and access logs format the request recorder's batches
with cached pieces, the guard's slow-body timeout is one sweeper per loop. These tests pin
down that nothing was lost: every call is still written, field for field as before.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emulator.context import Principal, RequestContext
from emulator.gateway.access_log import AccessLog
from emulator.gateway.audit import AUDIT_GROUP, AuditLog, _LineWriter, format_entry
from emulator.gateway.recorder import Recorder
from emulator.gateway.tls import guard
from emulator.monitoring.logstore import LogStore
from emulator.protocols.base import Request, Response
from emulator.testing.server import EmulatorServer

ROOT = Principal("AKIAROOT", "root", "arn:aws:iam::000000000000:root", "000000000000", True)
ALICE = Principal("AKIAALICE", "alice", "arn:aws:iam::000000000000:user/alice", "000000000000", False)


def _ctx(principal: Principal | None = ROOT, authz: dict[str, Any] | None = None, request_id: str = "rid-1") -> RequestContext:
    from emulator import services

    request = Request("POST", "/", "/", "", {}, b"{}", "10.0.0.7", request_id=request_id)
    ctx = RequestContext(request_id=request_id, request=request)
    ctx.principal = principal
    ctx.service_name = "dynamodb"
    ctx.operation = services.operation_model("dynamodb", "DescribeLimits")
    if authz is not None:
        ctx.telemetry["authz"] = authz
    return ctx


# ------------------------------------------------------------------ audit log
texts = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
entries = st.tuples(
    st.floats(min_value=1e9, max_value=4e9),
    texts,
    st.sampled_from([ROOT, ALICE]),
    texts,
    st.one_of(st.none(), texts),
    st.one_of(st.none(), texts),
    st.one_of(
        st.none(),
        st.fixed_dictionaries(
            {"action": texts, "resource": texts, "decision": st.sampled_from(["allow", "implicit_deny", "explicit_deny"])},
            optional={"throttled": st.booleans()},
        ),
    ),
    st.sampled_from([200, 400, 403, 429, 500]),
    st.floats(min_value=0, max_value=100),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(entries, min_size=1, max_size=4))
def test_fast_audit_line_is_the_record(batch: list[Any]) -> None:
    writer = _LineWriter()
    for entry in batch + batch:  # the second pass hits the cached middle part
        assert json.loads(writer.line(entry)) == format_entry(entry)


def test_audit_line_with_unhashable_values() -> None:
    entry = (1.0, "r", ALICE, "", "s", "Op", {"action": "s:Op", "resource": ["arn:a", "arn:b"], "decision": "allow"}, 200, 0.001)
    assert json.loads(_LineWriter().line(entry))["resource"] == ["arn:a", "arn:b"]


def test_format_entry_fields() -> None:
    record = format_entry((1764870000.25, "r", ALICE, "1.2.3.4", "iam", "CreateUser", {"action": "iam:CreateUser", "resource": "arn:x", "decision": "implicit_deny"}, 400, 0.0123456))
    assert record["time"] == "2025-12-04T17:40:00.250Z"
    assert record["latency_ms"] == 12.346
    assert (record["decision"], record["throttled"], record["user"]) == ("implicit_deny", False, "alice")
    # No decision recorded (e.g. an error before authorization): root is allowed, others by status.
    assert format_entry((0.0, "r", ALICE, "", None, None, None, 500, 0.0))["decision"] == "unknown"
    assert format_entry((0.0, "r", ROOT, "", None, None, None, 500, 0.0))["decision"] == "allow"


def _records(*ctxs: RequestContext, status: int = 200) -> list[Any]:
    """What the request recorder hands its consumers: (ctx, response, seconds, epoch)."""
    return [(ctx, Response(status), 0.001, time.time()) for ctx in ctxs]


def test_audit_writes_every_authenticated_call(tmp_path: Path) -> None:
    audit = AuditLog(tmp_path / "audit.log")
    calls = [_ctx(authz={"action": "dynamodb:DescribeLimits", "resource": "*", "decision": "allow"}, request_id=f"r{i}") for i in range(3)]
    audit.consume(_records(*calls) + _records(_ctx(principal=None), status=403))  # unauthenticated: not audited
    lines = [json.loads(line) for line in (tmp_path / "audit.log").read_text().splitlines()]
    assert [r["request_id"] for r in lines] == ["r0", "r1", "r2"]
    assert lines[0]["action"] == "dynamodb:DescribeLimits" and lines[0]["operation"] == "DescribeLimits"
    assert lines[0]["source_ip"] == "10.0.0.7"
    assert (tmp_path / "audit.log").stat().st_mode & 0o777 == 0o600
    assert audit.health()["records"] == 3


def test_audit_is_written_by_the_recorders_batches(tmp_path: Path) -> None:
    audit = AuditLog(tmp_path / "audit.log")
    recorder = Recorder(0.02)
    recorder.consumers.append(audit)

    async def calls() -> None:
        recorder.start()
        recorder.add(_ctx(), Response(200), 0.001)
        assert not (tmp_path / "audit.log").exists()  # nothing written on the request path
        for _ in range(100):
            await asyncio.sleep(0.01)
            if (tmp_path / "audit.log").exists():
                break
        assert (tmp_path / "audit.log").exists()
        recorder.stop()

    asyncio.run(calls())
    assert len((tmp_path / "audit.log").read_text().splitlines()) == 1


def test_audit_reaches_cloudwatch_logs_with_each_batch(tmp_path: Path) -> None:
    store = LogStore(tmp_path / "logs.db", "us-east-1", "000000000000")
    audit = AuditLog(tmp_path / "audit.log", SimpleNamespace(components={"logs": store}))
    records = _records(*[_ctx(request_id=f"r{i}") for i in range(3)])
    audit.consume(records)
    group = store.get_group(AUDIT_GROUP)
    got = [(ts, message) for _id, _sid, ts, _ingest, message in store.group_events(group.id, None, None)]
    assert [json.loads(m)["request_id"] for _, m in got] == ["r0", "r1", "r2"]
    assert [ts for ts, _ in got] == [int(r[3] * 1000) for r in records]  # each call's own time
    assert [m for _, m in got] == (tmp_path / "audit.log").read_text().splitlines()


def test_audit_shutdown_flushes_through_the_wire(tmp_path: Path) -> None:
    # Request records handed over once an hour: only the shutdown flush can write the call.
    config = tmp_path / "emulator.toml"
    config.write_text("records_flush_seconds = 3600\n")
    server = EmulatorServer(data_dir=tmp_path / "data", extra_args=["--config", str(config), "--services", "dynamodb"]).start()
    try:
        server.client("dynamodb").describe_limits()
        time.sleep(0.3)
        path = server.data_dir / "audit.log"
        assert not path.exists() or "DescribeLimits" not in path.read_text()
    finally:
        server.stop()
    records = [json.loads(line) for line in (server.data_dir / "audit.log").read_text().splitlines()]
    found = [r for r in records if r["operation"] == "DescribeLimits"]
    assert len(found) == 1
    assert found[0]["action"] == "dynamodb:DescribeLimits" and found[0]["decision"] == "allow" and found[0]["status"] == 200


# ------------------------------------------------------------------ access log
def test_access_log_writes_each_batch(tmp_path: Path) -> None:
    log = AccessLog(tmp_path / "access.log")
    log.consume([(_ctx(request_id="a1"), Response(200), 0.0015, time.time()), (_ctx(principal=None, request_id="a2"), Response(403), 0.0004, time.time())])
    lines = [json.loads(line) for line in (tmp_path / "access.log").read_text().splitlines()]
    assert [r["request_id"] for r in lines] == ["a1", "a2"]
    assert lines[0] | {"time": 0} == {
        "time": 0,
        "request_id": "a1",
        "client_ip": "10.0.0.7",
        "method": "POST",
        "path": "/",
        "service": "dynamodb",
        "operation": "DescribeLimits",
        "access_key_id": "AKIAROOT",
        "status": 200,
        "latency_ms": 1.5,
        "native": True,
    }
    assert lines[1]["access_key_id"] is None and lines[1]["status"] == 403
    assert abs(lines[0]["time"] - time.time()) < 60


# ------------------------------------------------------------------ guard
def test_guard_sweeper_is_not_created_per_request() -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "http.response.start", "status": 200, "headers": []})

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def run() -> tuple[int, float]:
        g = guard(app, body_timeout=5.0)  # one sweep a second
        tasks = set()
        started = time.monotonic()
        for _ in range(200):
            await asyncio.get_running_loop().create_task(g({"type": "http", "headers": []}, receive, send))
            tasks |= {t for t in asyncio.all_tasks() if "_sweep" in repr(t.get_coro())}
        return len(tasks), time.monotonic() - started

    sweepers, elapsed = asyncio.run(run())
    # An idle sweeper ends after a sweep and the next request starts one: at most one a second.
    assert 1 <= sweepers <= 2 + int(elapsed)
    assert len(sent) == 200 and all(m["status"] == 200 for m in sent)


def test_guard_times_out_only_the_slow_request() -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "http.response.start", "status": 200, "headers": []})

    def receiver(delay: float) -> Any:
        async def receive() -> dict[str, Any]:
            await asyncio.sleep(delay)
            return {"type": "http.request", "body": b"", "more_body": False}

        return receive

    async def run() -> list[int]:
        g = guard(app, body_timeout=0.1)
        statuses: dict[str, int] = {}

        def sender(name: str) -> Any:
            async def send(message: dict[str, Any]) -> None:
                if message["type"] == "http.response.start":
                    statuses[name] = message["status"]

            return send

        started = time.monotonic()
        await asyncio.gather(
            g({"type": "http", "headers": []}, receiver(5.0), sender("slow")),
            g({"type": "http", "headers": []}, receiver(0.01), sender("fast")),
            g({"type": "http", "headers": []}, receiver(0.05), sender("medium")),
        )
        assert time.monotonic() - started < 2.0  # cut well before the slow client's 5 s
        return [statuses["slow"], statuses["fast"], statuses["medium"]]

    assert asyncio.run(run()) == [408, 200, 200]


def test_guard_header_limit() -> None:
    sent: list[dict[str, Any]] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:  # pragma: no cover - must not be reached
        raise AssertionError

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def receive() -> dict[str, Any]:  # pragma: no cover
        return {"type": "http.request", "body": b""}

    asyncio.run(guard(app, max_header_bytes=100)({"type": "http", "headers": [(b"x-big", b"a" * 200)]}, receive, send))
    assert sent[0]["status"] == 431


@pytest.mark.parametrize("path", ["/_emulator/late-route", "/_emulator/late-route/x"])
def test_routes_added_after_first_request_are_served(tmp_path: Path, path: str) -> None:
    from emulator.app import create_app
    from emulator.handlers.base import Route
    from emulator.runtime import Runtime
    from emulator.settings import load_settings

    app = create_app(Runtime(load_settings({"data_dir": str(tmp_path), "services": ["dynamodb"]})))
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def late(request: Request, ctx: RequestContext) -> Response:
        return Response(200, {"content-type": "text/plain"}, b"late")

    scope = {"type": "http", "method": "GET", "path": path, "raw_path": path.encode(), "query_string": b"", "headers": [(b"host", b"x")]}

    async def run() -> None:
        await app(scope, receive, send)  # no such route yet: an AWS-style error
        assert sent[0]["status"] >= 400
        sent.clear()
        app.runtime.routes.append(Route("/_emulator/late-route", late, ("GET",)))
        await app(scope, receive, send)
        assert sent[0]["status"] == 200 and sent[1]["body"] == b"late"
        app.runtime.recorder.stop()  # hands the calls to the audit and access logs

    asyncio.run(run())
