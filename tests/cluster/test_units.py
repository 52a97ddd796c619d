"""Unit tests of the cluster pieces: the internal credential, discovery, the HTTP client."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest

from emulator.cluster import internal
from emulator.cluster.discovery import (
    Discovery,
    MemoryRegistry,
    RedisRegistry,
    parse_peers,
)
from emulator.cluster.httpclient import HttpPool, UpstreamError
from emulator.context import Principal

SECRET = b"s3cret"
ALICE = Principal("AKIAALICE", "alice", "arn:aws:iam::000000000000:user/alice", "000000000000", False)


def test_internal_credential_round_trip_and_tampering() -> None:
    headers = internal.sign(SECRET, "POST", "/", "a=1", b"body", ALICE, "10.1.2.3")
    principal, ip = internal.verify(SECRET, "POST", "/", "a=1", b"body", headers)
    assert principal == ALICE and ip == "10.1.2.3"
    for args in (("POST", "/", "a=1", b"other"), ("POST", "/x", "a=1", b"body"), ("GET", "/", "a=1", b"body"), ("POST", "/", "a=2", b"body")):
        with pytest.raises(internal.InternalAuthError):
            internal.verify(SECRET, *args, headers)
    with pytest.raises(internal.InternalAuthError):
        internal.verify(b"another", "POST", "/", "a=1", b"body", headers)
    # Claiming to be root with alice's signature fails: the principal is signed.
    forged = {**headers, internal.PRINCIPAL_HEADER: internal.encode_principal(Principal("AKIAROOT", "root", "arn", "000000000000", True))}
    with pytest.raises(internal.InternalAuthError):
        internal.verify(SECRET, "POST", "/", "a=1", b"body", forged)
    stale = {**headers, internal.TIME_HEADER: str(int(time.time()) - 3600)}
    with pytest.raises(internal.InternalAuthError, match="expired"):
        internal.verify(SECRET, "POST", "/", "a=1", b"body", stale)
    with pytest.raises(internal.InternalAuthError, match="missing"):
        internal.verify(SECRET, "POST", "/", "", b"", {})


def test_secret_file_is_created_once(tmp_path: Path) -> None:
    first = internal.load_secret(None, tmp_path)
    assert first == internal.load_secret(None, tmp_path) and len(first) == 64
    assert (tmp_path / "cluster.key").stat().st_mode & 0o777 == 0o600
    assert internal.load_secret("configured", tmp_path) == b"configured"


def test_parse_peers() -> None:
    assert parse_peers(["dynamodb=http://h:1/", "compute = http://c:2"]) == [("dynamodb", "http://h:1"), ("compute", "http://c:2")]
    for bad in ("dynamodb", "nosuchrole=http://h:1", "dynamodb=h:1"):
        with pytest.raises(ValueError):
            parse_peers([bad])


def test_registration_expiry_and_mark_down(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [1000.0]
    monkeypatch.setattr(time, "time", lambda: now[0])
    d = Discovery(["dynamodb=http://static:1"], MemoryRegistry())
    d.register({"role": "compute", "url": "http://c:2/", "instance_id": "c1"}, interval=1.0)
    assert d.candidates("compute") == ["http://c:2"]
    assert d.candidates("dynamodb") == ["http://static:1"]
    d.register({"role": "compute", "url": "http://c:3", "instance_id": "c2"}, interval=1.0)
    d.mark_down("http://c:2", "refused")
    assert d.candidates("compute") == ["http://c:3"]  # taken out while another is healthy
    d.mark_down("http://c:3", "refused")
    # Every instance down: all are tried (a stale verdict must not refuse service; a dead one fails at connect).
    assert sorted(d.candidates("compute")) == ["http://c:2", "http://c:3"]
    d.register({"role": "compute", "url": "http://c:2", "instance_id": "c1"}, interval=1.0)  # a heartbeat brings it back
    assert d.candidates("compute") == ["http://c:2"]
    d.mark_up("http://c:3")  # and so does a successful forwarded request
    assert sorted(d.candidates("compute")) == ["http://c:2", "http://c:3"]
    # An instance that says it is leaving (farewell heartbeat) is not tried, even as the last one.
    d.register({"role": "compute", "url": "http://c:2", "instance_id": "c1", "healthy": False}, interval=1.0)
    d.register({"role": "compute", "url": "http://c:3", "instance_id": "c2", "healthy": False}, interval=1.0)
    assert d.candidates("compute") == []
    d.register({"role": "compute", "url": "http://c:2", "instance_id": "c1"}, interval=1.0)
    d.register({"role": "compute", "url": "http://c:3", "instance_id": "c2"}, interval=1.0)
    now[0] += 2.0  # within 3 missed heartbeats
    d._refresh()
    assert sorted(d.candidates("compute")) == ["http://c:2", "http://c:3"]
    now[0] += 2.0
    d._refresh()
    assert d.candidates("compute") == []  # both missed three heartbeats: gone
    assert d.candidates("dynamodb") == ["http://static:1"]  # static entries never expire
    with pytest.raises(ValueError):
        d.register({"role": "gateway", "url": "http://g:1"}, 1.0)


def test_round_robin_over_healthy_instances() -> None:
    d = Discovery(["dynamodb=http://a:1", "dynamodb=http://b:1"], MemoryRegistry())
    firsts = {d.candidates("dynamodb")[0] for _ in range(4)}
    assert firsts == {"http://a:1", "http://b:1"}


def test_health_checks_take_out_and_bring_back(monkeypatch: pytest.MonkeyPatch) -> None:
    import emulator.cluster.discovery as disc

    up = {"http://a:1": True, "http://b:1": True}
    monkeypatch.setattr(disc, "probe", lambda url, timeout=2.0: (up[url], "" if up[url] else "refused", False))
    d = Discovery(["monitoring=http://a:1", "monitoring=http://b:1"], MemoryRegistry())
    up["http://a:1"] = False
    d.check_all()
    assert d.candidates("monitoring") == ["http://b:1"]
    assert {i["url"]: i["error"] for i in d.health()["instances"]}["http://a:1"] == "refused"
    up["http://a:1"] = True
    d.check_all()
    assert sorted(d.candidates("monitoring")) == ["http://a:1", "http://b:1"]


def test_redis_registry_is_shared_between_gateways() -> None:
    registry = RedisRegistry("redis://127.0.0.1:6379/15")
    try:
        registry.client.ping()
    except Exception as exc:  # noqa: BLE001
        pytest.skip(f"no Redis on 127.0.0.1:6379: {exc}")
    for key in registry.client.scan_iter(match="emulator:cluster:instance:*"):
        registry.client.delete(key)
    one = Discovery([], registry)
    two = Discovery([], RedisRegistry("redis://127.0.0.1:6379/15"))
    one.register({"role": "dynamodb", "url": "http://d:9", "instance_id": "d1"}, interval=0.2)
    two._refresh()  # the other gateway sees it through Redis
    assert two.candidates("dynamodb") == ["http://d:9"]
    time.sleep(0.7)  # Redis expires the key after 3 missed heartbeats (0.6 s)
    assert registry.entries() == []
    two._refresh()
    assert two.candidates("dynamodb") == []


async def _server(handler: Any) -> tuple[asyncio.AbstractServer, str]:
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    return server, f"http://127.0.0.1:{port}"


def test_http_pool_reuses_connections_and_streams_chunks() -> None:
    connections = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(writer)
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(next(h for h in head.split(b"\r\n") if h.lower().startswith(b"content-length")).split(b":")[1])
            body = await reader.readexactly(length)
            if head.startswith(b"GET /stream"):
                writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\ncontent-type: text/event-stream\r\n\r\n")
                for part in (b"data: 1\n\n", b"data: 2\n\n"):
                    writer.write(f"{len(part):x}\r\n".encode() + part + b"\r\n")
                    await writer.drain()
                writer.write(b"0\r\n\r\n")
            else:
                writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\nx-echo: yes\r\n\r\n" % len(body) + body)
            await writer.drain()

    async def run() -> None:
        server, url = await _server(handler)
        pool = HttpPool()
        try:
            for n in range(3):
                resp = await pool.request(url, "POST", "/echo", {"host": "x"}, b"hello%d" % n)
                assert resp.status == 200 and resp.body == b"hello%d" % n and ("x-echo", "yes") in resp.headers
            streamed = await pool.request(url, "GET", "/stream", {}, b"")
            assert streamed.stream is not None and dict(streamed.headers)["content-type"] == "text/event-stream"
            chunks = [c async for c in streamed.stream]
            assert chunks == [b"data: 1\n\n", b"data: 2\n\n"]
            again = await pool.request(url, "POST", "/echo", {}, b"after")
            assert again.body == b"after"
            assert len(connections) == 1  # one keep-alive connection for all five requests
        finally:
            pool.close()
            server.close()
        with pytest.raises(UpstreamError):
            await HttpPool(connect_timeout=1).request(url, "GET", "/", {}, b"")  # closed server: refused

    asyncio.run(run())


@pytest.mark.parametrize(("args", "message"), [
    (["--role", "dynamodb"], "needs gateway_url"),
    (["--role", "gateway", "--peer", "dynamodb"], "bad peer"),
])
def test_serve_refuses_an_incomplete_role_configuration(tmp_path: Path, args: list[str], message: str) -> None:
    import subprocess
    import sys

    cmd = [sys.executable, "-m", "emulator", "serve", "--data-dir", str(tmp_path), "--port", "1", *args]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 2 and message in result.stderr, result.stderr


def test_http_pool_timeout_is_not_a_dead_instance() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1 << 16)
        await asyncio.sleep(5)

    async def run() -> None:
        server, url = await _server(silent)
        try:
            with pytest.raises(UpstreamError) as err:
                await HttpPool(read_timeout=0.3).request(url, "POST", "/", {}, b"x")
            assert err.value.timeout and err.value.sent
        finally:
            server.close()

    asyncio.run(run())


def test_gateway_health_lists_the_roles_services(monkeypatch: pytest.MonkeyPatch) -> None:
    """The gateway's /_emulator/health (and the console's overview, which reads the same
    Runtime.health) lists each service a role serves, in the state the role reports, or
    unavailable when no instance of the role is healthy; the fallback's list keeps only moto's."""
    import types

    import emulator.cluster.discovery as disc
    from emulator.cluster.forward import Forwarder

    reports = {
        "http://ddb:1": {"dynamodb": {"mode": "native", "state": "running", "tables": 3}, "dynamodbstreams": {"mode": "native", "state": "running"}},
        "http://mon:1": {"cloudwatch": {"mode": "native", "state": "failed", "error": "boom"}, "logs": {"mode": "native", "state": "running"}},
    }
    up = {"http://ddb:1": True, "http://mon:1": True}
    monkeypatch.setattr(disc, "probe", lambda url, timeout=2.0: (up[url], "" if up[url] else "refused", False, reports[url]))
    d = Discovery(["dynamodb=http://ddb:1", "monitoring=http://mon:1"], MemoryRegistry())
    d.check_all()
    runtime: Any = types.SimpleNamespace(handlers={"iam": object()})
    fwd = Forwarder(runtime, d, SECRET, 5.0)
    own = {"services": {"iam": {"mode": "native", "state": "running"}}, "fallback": {"services": ["dynamodb", "ec2", "sqs"]}}
    health = fwd.with_services(own)
    services = health["services"]
    assert services["iam"] == {"mode": "native", "state": "running"}
    assert services["dynamodb"] == {"mode": "remote", "role": "dynamodb", "instances": 1, "state": "running", "tables": 3}
    assert services["cloudwatch"]["state"] == "failed" and services["cloudwatch"]["error"] == "boom"
    # No compute instance known: its services are listed, unavailable.
    assert {s: services[s]["state"] for s in ("ec2", "bedrock", "bedrock-runtime")} == dict.fromkeys(("ec2", "bedrock", "bedrock-runtime"), "unavailable")
    assert health["fallback"]["services"] == ["sqs"]
    up["http://mon:1"] = False
    d.check_all()
    logs = fwd.services_health()["logs"]
    assert logs["state"] == "unavailable" and logs["instances"] == 0 and "monitoring role" in logs["error"]
    # A role registered by heartbeat, not checked yet: what its heartbeat lists.
    d.register({"role": "compute", "url": "http://gpu:1", "instance_id": "c1", "healthy": True, "services": ["ec2", "bedrock", "bedrock-runtime"]}, 2.0)
    assert fwd.services_health()["ec2"]["state"] == "running"


def test_audit_batches_go_to_the_monitoring_role_in_a_cluster_gateway(tmp_path: Path) -> None:
    """A cluster gateway has no log store: the audit log's CloudWatch Logs copy (/emulator/audit)
    is queued with the gateway's telemetry and shipped in batches to the monitoring role."""
    import types

    import orjson

    from emulator.cluster.role import TelemetrySink
    from emulator.context import RequestContext
    from emulator.gateway.audit import AUDIT_GROUP, AuditLog
    from emulator.protocols.base import Request, Response

    posted: list[tuple[str, bytes]] = []

    class Client:
        def post(self, path: str, body: bytes, *args: Any, **kwargs: Any) -> int:
            posted.append((path, body))
            return 1

    runtime: Any = types.SimpleNamespace(settings=types.SimpleNamespace(region="us-east-1", telemetry=False, data_dir=tmp_path,
                                                                      log_max_bytes=0, log_backups=0), components={})
    sink = TelemetrySink(runtime, Client(), 60.0, 0.0, skip_forwarded=True)  # type: ignore[arg-type]
    runtime.components["cluster_logs"] = sink.remote_logs
    audit = AuditLog(tmp_path / "audit.log", runtime)
    ctx = RequestContext(request_id="r1", request=Request("GET", "/", "/", "", {}, b"", "10.0.0.9"))
    ctx.principal = ALICE
    audit.consume([(ctx, Response(200, {}, b""), 0.001, 1_700_000_000.0)])
    assert not posted  # off the request path: shipped with the next flush
    sink.flush()
    (path, body), = posted
    assert path == "/_emulator/cluster/telemetry"
    (group, _stream, lines, _region), = orjson.loads(body)["logs"]
    assert group == AUDIT_GROUP and lines[0][0] == 1_700_000_000_000
    assert orjson.loads(lines[0][1])["user"] == "alice"
    assert (tmp_path / "audit.log").read_text().count("\n") == 1
