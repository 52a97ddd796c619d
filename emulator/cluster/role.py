"""The role side of a cluster: what a dynamodb, compute or monitoring process adds.

- ``RoleGuard``: an ASGI layer that admits only requests carrying the internal
  credential (the gateway's, or another role's); ``/_emulator/health`` stays open.
- heartbeats: POST ``/_emulator/cluster/register`` to every gateway.
- remote telemetry: the dynamodb and compute roles have no metric store; their
  request telemetry is aggregated here exactly as in one process and shipped to the
  monitoring role (``/_emulator/cluster/telemetry`` through the gateway). CloudWatch's
  PutMetricData is not usable for this: like AWS it refuses ``AWS/`` namespaces,
  which only the services themselves publish.
- compute jobs write results through the gateway's DynamoDB API (internal credential).
"""

from __future__ import annotations

import asyncio
import http.client
import logging
import os
import socket
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import orjson

from emulator.cluster import internal
from emulator.context import Principal, RequestContext
from emulator.handlers.base import Route
from emulator.protocols.base import Request, Response

if TYPE_CHECKING:
    from emulator.runtime import Runtime

log = logging.getLogger("emulator.cluster")

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
TELEMETRY_PATH = "/_emulator/cluster/telemetry"


class RoleGuard:
    """Only the internal credential gets in (the role's port is not for clients)."""

    def __init__(self, app: Any, secret: bytes, max_body: int, on_start: Callable[[], None], on_stop: Callable[[], None],
                 admit: Callable[[dict[str, Any] | None], bytes | None] | None = None) -> None:
        self.app = app
        self.secret = secret
        # The dynamodb role: whether the gateway authorized the request with the policies in
        # force here (emulator/cluster/policies.py RolePolicies.admit); bytes: they are not.
        self.admit = admit
        self.max_body = max_body
        self.on_start = on_start
        self.on_stop = on_stop
        self.rejected = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, receive, self._lifespan_send(send))
            return
        if scope["type"] != "http" or scope["path"] == "/_emulator/health":
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                await _deny(send, 413, "RequestEntityTooLarge", "Request body exceeds the limit")
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        raw = scope.get("raw_path")
        path = raw.decode("latin-1") if raw else scope["path"]
        try:
            _principal, client_ip = internal.verify(self.secret, scope["method"], path, scope.get("query_string", b"").decode("latin-1"), body, headers)
        except internal.InternalAuthError as exc:
            self.rejected += 1
            await _deny(send, 403, "AccessDeniedException", f"This is an internal role port; send requests to the gateway ({exc}).")
            return
        if self.admit is not None:
            try:
                stale = self.admit(internal.decode_authz(headers.get(internal.PRINCIPAL_HEADER, "")))
            except internal.InternalAuthError:
                stale = None  # verify() decoded the same header: not reached
            if stale is None and path == internal.POLICIES_PATH:
                await send({"type": "http.response.start", "status": 204, "headers": [(internal.STALE_HEADER.encode(), b"0")]})
                await send({"type": "http.response.body", "body": b""})
                return
            if stale is not None:
                # Nothing runs: the gateway decides again with these policies and sends it again.
                await send({"type": "http.response.start", "status": internal.STALE_STATUS, "headers": [
                    (b"content-type", b"application/json"), (b"content-length", str(len(stale)).encode()), (internal.STALE_HEADER.encode(), b"1")]})
                await send({"type": "http.response.body", "body": stale})
                return
        if client_ip:
            scope = {**scope, "client": (client_ip, 0)}
        replayed = False

        async def replay() -> dict[str, Any]:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    def _lifespan_send(self, send: Send) -> Send:
        return lifespan_send(send, self.on_start, self.on_stop)


def lifespan_send(send: Send, on_start: Callable[[], Any], on_stop: Callable[[], Any]) -> Send:
    """``send`` for an ASGI lifespan scope that also runs ``on_start`` once the server has
    started and ``on_stop`` once it has shut down."""

    async def wrapped(message: dict[str, Any]) -> None:
        if message["type"] == "lifespan.startup.complete":
            on_start()
        elif message["type"] == "lifespan.shutdown.complete":
            on_stop()
        await send(message)

    return wrapped


async def _deny(send: Send, status: int, code: str, message: str) -> None:
    body = orjson.dumps({"__type": code, "message": message})
    await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def principal_from_headers(runtime: Runtime, ctx: RequestContext) -> bool:
    """The ``authenticator`` of a role: RoleGuard verified the credential, so the principal header is trusted."""
    try:
        principal, _ip = internal.decode_principal(ctx.request.headers.get(internal.PRINCIPAL_HEADER, ""))
    except internal.InternalAuthError:
        principal = None
    if principal is None:
        account = runtime.settings.account_id
        principal = Principal(runtime.root_key.access_key_id, "root", f"arn:aws:iam::{account}:root", account, True)
    ctx.principal = principal
    ctx.account_id = principal.account_id
    return True


class InternalClient:
    """Synchronous calls from a role to the gateway(s), signed with the internal credential."""

    def __init__(self, gateways: list[str] | Callable[[], list[str]], secret: bytes, timeout: float = 5.0) -> None:
        # A list of gateway URLs, or (in the gateway itself) a function giving monitoring instances.
        if callable(gateways):
            self._targets = gateways
        else:
            urls = [g.rstrip("/") for g in gateways]
            self._targets = lambda: urls
        self.secret = secret
        self.timeout = timeout

    @property
    def gateways(self) -> list[str]:
        return self._targets()

    def call(self, path: str, body: bytes) -> tuple[int, bytes]:
        """POST to the first gateway that answers; its (status, body), or (0, reason) when none did."""
        last = b""
        for base in self.gateways:
            parts = urlsplit(base)
            hdrs = {"content-type": "application/json", **internal.sign(self.secret, "POST", path, "", body, None)}
            conn_cls = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
            conn = conn_cls(parts.hostname or "127.0.0.1", parts.port, timeout=self.timeout)
            try:
                conn.request("POST", path, body, hdrs)
                resp = conn.getresponse()
                return resp.status, resp.read()
            except (OSError, http.client.HTTPException) as exc:
                last = f"{base}{path}: {exc}".encode()
            finally:
                conn.close()
        return 0, last

    def post(self, path: str, body: bytes, principal: Principal | None = None, headers: dict[str, str] | None = None, every: bool = False) -> int:
        """POST to a gateway (``every``: to each of them); returns how many accepted it."""
        ok = 0
        last_error = ""
        for base in self.gateways:
            parts = urlsplit(base)
            hdrs = {"content-type": "application/json", **(headers or {}), **internal.sign(self.secret, "POST", path, "", body, principal)}
            conn_cls = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
            conn = conn_cls(parts.hostname or "127.0.0.1", parts.port, timeout=self.timeout)
            try:
                conn.request("POST", path, body, hdrs)
                resp = conn.getresponse()
                data = resp.read()
                if resp.status == 200:
                    ok += 1
                    if not every:
                        return ok
                else:
                    last_error = f"{base}{path} answered {resp.status}: {data[:200]!r}"
            except (OSError, http.client.HTTPException) as exc:
                last_error = f"{base}{path}: {exc}"
            finally:
                conn.close()
        if not ok and last_error:
            log.debug("cluster: %s", last_error)
        return ok


class Heartbeat:
    def __init__(self, runtime: Runtime, client: InternalClient, role: str, url: str, interval: float) -> None:
        self.runtime = runtime
        self.client = client
        self.role = role
        self.url = url.rstrip("/")
        self.interval = interval
        self.instance_id = f"{role}-{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.sent = 0
        self.accepted = 0

    def beat(self, leaving: bool = False) -> bool:
        healthy = not self.runtime.handler_errors and not leaving
        doc = {"role": self.role, "url": self.url, "instance_id": self.instance_id, "healthy": healthy, "interval": self.interval,
               "services": sorted(self.runtime.handlers)}
        self.sent += 1
        ok = self.client.post("/_emulator/cluster/register", orjson.dumps(doc), every=True) > 0
        self.accepted += ok
        return ok

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="cluster-heartbeat", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Shutting down: say so, so that the gateways stop sending before the port closes."""
        self._stop.set()
        try:
            self.beat(leaving=True)
        except Exception:  # the gateway is gone too; its health checks will notice
            log.debug("cluster: farewell heartbeat failed", exc_info=True)

    def _run(self) -> None:
        # The server starts listening just after lifespan startup: the first beat waits a moment.
        self._stop.wait(min(0.3, self.interval))
        while not self._stop.is_set():
            try:
                self.beat()
            except Exception:
                log.exception("cluster heartbeat failed")
            self._stop.wait(self.interval)

    def health(self) -> dict[str, Any]:
        return {"role": self.role, "url": self.url, "instance_id": self.instance_id, "gateways": self.client.gateways,
                "heartbeats_sent": self.sent, "heartbeats_accepted": self.accepted}


# ---------------------------------------------------------------- telemetry
class RemoteMetricStore:
    """``MetricStore.put`` for a role without one: the data points travel to the monitoring role."""

    def __init__(self, sink: TelemetrySink) -> None:
        self.sink = sink

    def put(self, data: list[Any]) -> None:
        self.sink.metrics.extend(data)


class RemoteLedger:
    """``Ledger.add``/``flush`` for a role without one: usage rows travel to the monitoring role."""

    def __init__(self, sink: TelemetrySink) -> None:
        self.sink = sink
        self._pending: dict[tuple[float, str, str, str], float] = defaultdict(float)
        self._lock = threading.Lock()

    def add(self, ts: float, principal: str, service: str, item: str, quantity: float) -> None:
        # The host's energy is the monitoring role's to account (its own samples); counting it here
        # too would bill the same watts twice. GPU energy is the compute role's, which has the GPU.
        if service == "local" and item == "host_kwh":
            return
        if quantity:
            with self._lock:
                self._pending[(float(int(ts)), principal, service, item)] += quantity

    def flush(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, defaultdict(float)
        self.sink.usage.extend([ts, p, s, i, q] for (ts, p, s, i), q in pending.items())


class RemoteLogs:
    """``LogStore.put_many`` for a role without one: instance console output and the role's own log
    lines travel to the monitoring role's CloudWatch Logs."""

    def __init__(self, sink: TelemetrySink) -> None:
        self.sink = sink

    def put_many(self, group_name: str, stream_name: str, lines: list[tuple[int, str]], region: str | None = None) -> None:
        if lines:
            self.sink.logs.append([group_name, stream_name, [list(x) for x in lines], region])


class TelemetrySink:
    """Runs a Telemetry (emulator.monitoring.telemetry) whose outputs are shipped, not stored."""

    def __init__(self, runtime: Runtime, client: InternalClient, flush_interval: float, collect_interval: float, skip_forwarded: bool) -> None:
        from emulator.monitoring.telemetry import Telemetry

        self.runtime = runtime
        self.client = client
        self.metrics: list[Any] = []
        self.usage: list[list[Any]] = []
        self.logs: list[list[Any]] = []
        self.remote_logs = RemoteLogs(self)
        self.shipper: Any = None
        self.telemetry = Telemetry(RemoteMetricStore(self), RemoteLedger(self), runtime.settings.region)  # type: ignore[arg-type]
        self.flush_interval = flush_interval
        self.collect_interval = collect_interval
        self.skip_forwarded = skip_forwarded
        self.shipped = 0
        self.dropped = 0
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._last_collect = time.monotonic()

    def consume(self, records: list[Any]) -> None:
        """A batch from the request recorder, aggregated at once (see Telemetry.consume)."""
        # The gateway's own telemetry covers what it serves itself; forwarded calls are counted by their role.
        if self.skip_forwarded:
            records = [r for r in records if not r[0].telemetry.get("forwarded")]
        if records:
            self.telemetry.consume(records)

    def start(self) -> None:
        if self.runtime.settings.telemetry:
            # The process's own log lines go to /emulator/server, as in one process.
            from emulator.monitoring.telemetry import LogShipper

            self.shipper = LogShipper()
            logging.getLogger("emulator").addHandler(self.shipper)
        threading.Thread(target=self._run, name="cluster-telemetry", daemon=True).start()

    def stop(self) -> None:
        self._stop.set()
        if self.shipper is not None:
            logging.getLogger("emulator").removeHandler(self.shipper)
        self.flush()

    def _run(self) -> None:
        while not self._stop.wait(self.flush_interval):
            try:
                if self.collect_interval and time.monotonic() - self._last_collect >= self.collect_interval:
                    self._last_collect = time.monotonic()
                    self.telemetry.collect(str(self.runtime.settings.data_dir), self.runtime.components.get("compute"), self.remote_logs, {}, {})  # type: ignore[arg-type]
                self.flush()
            except Exception:
                log.exception("cluster telemetry failed")

    def flush(self) -> None:
        with self._lock:
            self.telemetry.flush()
            self.telemetry.ledger.flush()
            if self.shipper is not None:
                self.shipper.flush_to(self.remote_logs)
            metrics, self.metrics = self.metrics, []
            usage, self.usage = self.usage, []
            logs, self.logs = self.logs, []
            if not metrics and not usage and not logs:
                return
            doc = {"metrics": [_datum_doc(d) for d in metrics], "usage": usage, "logs": logs}
            if self.client.post(TELEMETRY_PATH, orjson.dumps(doc)):
                self.shipped += len(metrics)
            else:
                # Monitoring down: keep a bounded backlog, as the in-process buffer would.
                self.dropped += max(0, len(metrics) + len(self.metrics) - 50_000)
                self.metrics = (metrics + self.metrics)[-50_000:]
                self.usage = usage + self.usage
                self.logs = (logs + self.logs)[-1000:]

    def health(self) -> dict[str, Any]:
        return {"shipped_datapoints": self.shipped, "dropped_datapoints": self.dropped, "observed": self.telemetry.observed}


def _datum_doc(d: Any) -> list[Any]:
    return [d.namespace, d.name, [list(x) for x in d.dims], d.ts, d.sum, d.count, d.min, d.max, d.values, d.unit, d.resolution, d.kind, d.region]


def telemetry_route(runtime: Runtime) -> Route:
    """The monitoring role's ingest of other roles' telemetry (reached only with the internal credential)."""
    from emulator.monitoring.metrics import Datum

    async def ingest(request: Request, ctx: RequestContext) -> Response:
        monitoring = runtime.components.get("monitoring")
        if monitoring is None:
            return Response(503, {"content-type": "application/json"}, b'{"__type":"ServiceUnavailable","message":"monitoring is not running"}')
        try:
            doc = orjson.loads(request.body)
            # The region (13th, 4th) travels with each datapoint and log batch; "" or none: the default region.
            data = [Datum(ns, name, tuple((str(k), str(v)) for k, v in dims), float(ts), float(s), float(c), float(lo), float(hi), vals, unit, int(res), int(kind),
                          str(region[0] or "") if region else "")
                    for ns, name, dims, ts, s, c, lo, hi, vals, unit, res, kind, *region in doc.get("metrics", [])]
            usage = [(float(ts), str(p), str(s), str(i), float(q)) for ts, p, s, i, q in doc.get("usage", [])]
            logs = [(str(g), str(st), [(int(ts), str(line)) for ts, line in lines], str(r[0]) if r and r[0] else None) for g, st, lines, *r in doc.get("logs", [])]
        except (ValueError, TypeError) as exc:
            return Response(400, {"content-type": "application/json"}, orjson.dumps({"__type": "ValidationException", "message": str(exc)}))

        def store() -> None:
            if data:
                monitoring.metrics.put(data)
            for row in usage:
                monitoring.ledger.add(*row)
            monitoring.ledger.flush()
            for group, stream, lines, log_region in logs:
                monitoring.logs.put_many(group, stream, lines, log_region)

        await asyncio.get_running_loop().run_in_executor(None, store)
        return Response(200, {"content-type": "application/json"}, b'{"ok":true}')

    return Route(TELEMETRY_PATH, ingest, ("POST",), summary="telemetry from the other roles (internal credential)")


# ---------------------------------------------------------------- compute -> dynamodb
def dynamodb_client_factory(runtime: Runtime, gateways: list[str], secret: bytes) -> Callable[[str | None], Any]:
    """boto3 DynamoDB clients for compute jobs: through the gateway, authenticated as the account's root
    with the internal credential (the role's keys are not the gateway's)."""

    def make(region: str | None = None) -> Any:
        import boto3
        from botocore.config import Config

        account = runtime.settings.account_id
        principal = Principal(runtime.root_key.access_key_id, "root", f"arn:aws:iam::{account}:root", account, True)
        client = boto3.client("dynamodb", endpoint_url=gateways[0], region_name=region or runtime.settings.region,
                              aws_access_key_id=runtime.root_key.access_key_id, aws_secret_access_key=runtime.root_key.secret_access_key,
                              config=Config(retries={"max_attempts": 3, "mode": "standard"}))

        def add_credential(request: Any, **_: Any) -> None:
            parts = urlsplit(request.url)
            body = request.body or b""
            if isinstance(body, str):
                body = body.encode()
            elif not isinstance(body, bytes):
                body = body.read() if hasattr(body, "read") else bytes(body)
                request.body = body
            for k, v in internal.sign(secret, request.method, parts.path or "/", parts.query, body, principal).items():
                request.headers[k] = v

        client.meta.events.register_last("before-send.dynamodb", add_credential)
        return client

    return make
