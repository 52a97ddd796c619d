"""A small, cheap HTTP/1.1 load generator for AWS-style endpoints.

Requests are signed *up front* (by botocore, exactly as boto3 would send them) and
replayed as raw bytes over keep-alive connections, one request in flight per
connection, so the generator spends its CPU on sockets, not on signing or HTTP
client machinery (aiohttp/httpx would cost more than the server under test).

Reusable pieces:

* :func:`capture` -- the exact bytes boto3 would send for a list of calls, taken
  from botocore's ``before-send`` hook (any service, any protocol, signed).
* :func:`run` -- replay them against ``host:port`` for a while; returns a :class:`Result`.
* ``python -m bench.loadgen FILE --host H --port P`` -- the same from a pickle of
  ``list[bytes]`` written by :func:`save`, so the generator can be pinned to its own
  core (``taskset -c 1``) apart from the process that prepared the requests.

Signatures are valid for 15 minutes (SigV4 clock skew), so capture shortly before a run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import pickle
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any


# --------------------------------------------------------------------------- capture
class _Stop(Exception):
    pass


class _Raw:
    """Just enough of urllib3's response for botocore to parse a canned body."""

    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, *args: Any, **kwargs: Any) -> Iterable[bytes]:
        yield self._body

    def read(self, *args: Any, **kwargs: Any) -> bytes:
        return self._body


def to_bytes(method: str, url: str, headers: Any, body: bytes | None) -> bytes:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    body = body or b""
    lines = [f"{method} {target} HTTP/1.1", f"Host: {parts.netloc}"]
    for name, value in headers.items():
        if name.lower() in ("host", "content-length", "connection", "transfer-encoding"):
            continue
        lines.append(f"{name}: {value.decode() if isinstance(value, bytes) else value}")
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def capture(client: Any, calls: Sequence[tuple[str, dict[str, Any]]], canned_body: bytes = b"{}") -> list[bytes]:
    """Sign ``calls`` ([(OperationName, params)]) with ``client`` and return the raw requests.

    Nothing is sent: botocore's ``before-send`` hook hands over the prepared request
    and answers with a canned 200 so that the client does not retry or fail.
    """
    from botocore.awsrequest import AWSResponse

    captured: list[bytes] = []

    def hook(request: Any, **_: Any) -> AWSResponse:
        body = request.body
        if hasattr(body, "read"):
            body = body.read()
        if isinstance(body, str):
            body = body.encode()
        captured.append(to_bytes(request.method, request.url, request.headers, body))
        return AWSResponse(request.url, 200, {"content-type": "application/x-amz-json-1.0"}, _Raw(canned_body))

    events = client.meta.events
    events.register_first("before-send", hook, unique_id="bench-capture")
    try:
        for op, params in calls:
            try:
                client._make_api_call(op, params)
            except Exception:  # noqa: BLE001, S110 - the canned answer may not parse for every operation; the request was captured
                pass
    finally:
        events.unregister("before-send", unique_id="bench-capture")
    return captured


def save(requests: list[bytes], path: str | Path) -> None:
    with open(path, "wb") as fh:
        pickle.dump(requests, fh)


def load(path: str | Path) -> list[bytes]:
    with open(path, "rb") as fh:
        data: list[bytes] = pickle.load(fh)
    return data


# --------------------------------------------------------------------------- replay
@dataclass
class Result:
    name: str
    connections: int
    seconds: float
    requests: int
    ops_per_s: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    non_2xx: int
    errors: int
    statuses: dict[str, int]
    total_requests: int = 0  # including the warm-up
    server_cpu_s: float | None = None  # CPU seconds the server spent over the whole run, when known
    server_sys_s: float | None = None  # the part of server_cpu_s spent in the kernel (system time)

    @property
    def cpu_us_per_request(self) -> float | None:
        if self.server_cpu_s is None or not self.total_requests:
            return None
        return self.server_cpu_s / self.total_requests * 1e6

    def line(self) -> str:
        return (
            f"{self.name}: {self.ops_per_s:,.0f} ops/s  p50 {self.p50_ms:.2f} ms  p99 {self.p99_ms:.2f} ms  "
            f"({self.requests} requests, {self.connections} conns, {self.seconds:.1f} s, non-2xx {self.non_2xx}, errors {self.errors})"
            + (f"  server CPU {self.cpu_us_per_request:.1f} us/request" if self.cpu_us_per_request is not None else "")
            + (f" ({self.server_sys_s / self.total_requests * 1e6:.1f} in the kernel)" if self.server_sys_s is not None and self.total_requests else "")
        )


class _Shared:
    def __init__(self, requests: Sequence[bytes], record_after: float, stop_at: float) -> None:
        self.requests = requests
        self.record_after = record_after
        self.stop_at = stop_at
        self.latencies: list[int] = []
        self.statuses: dict[int, int] = {}
        self.errors = 0
        self.done = 0


class _Conn(asyncio.Protocol):
    def __init__(self, shared: _Shared, offset: int, step: int, finished: asyncio.Future[None]) -> None:
        self.s = shared
        self.i = offset
        self.step = step
        self.finished = finished
        self.buf = bytearray()
        self.transport: asyncio.Transport | None = None
        self.sent_at = 0
        self.need: int | None = None  # total bytes of the current response once headers are read
        self.status = 0
        self.chunked = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's TCPTransport is not an asyncio.Transport subclass
        self._send()

    def _send(self) -> None:
        reqs = self.s.requests
        self.sent_at = time.perf_counter_ns()
        assert self.transport is not None
        self.transport.write(reqs[self.i % len(reqs)])
        self.i += self.step

    def data_received(self, data: bytes) -> None:
        buf = self.buf
        buf += data
        while True:
            if self.need is None:
                end = buf.find(b"\r\n\r\n")
                if end < 0:
                    return
                head = bytes(buf[:end]).lower()
                self.status = int(head[9:12])
                pos = head.find(b"\r\ncontent-length:")
                if pos >= 0:
                    stop = head.find(b"\r\n", pos + 2)
                    length = int(head[pos + 17 : stop if stop >= 0 else None])
                    self.need = end + 4 + length
                    self.chunked = False
                elif b"\r\ntransfer-encoding: chunked" in head:
                    self.chunked = True
                    self.need = -1
                else:
                    self.need = end + 4  # no body (e.g. 204)
            if self.chunked:
                term = buf.find(b"\r\n0\r\n\r\n")
                if term < 0:
                    return
                size = term + 7
            else:
                assert self.need is not None
                if len(buf) < self.need:
                    return
                size = self.need
            del buf[:size]
            self.need = None
            self._complete()
            if buf:
                continue
            return

    def _complete(self) -> None:
        now = time.perf_counter_ns()
        s = self.s
        if now >= s.record_after:
            s.latencies.append(now - self.sent_at)
            s.statuses[self.status] = s.statuses.get(self.status, 0) + 1
        s.done += 1
        if now >= s.stop_at:
            assert self.transport is not None
            self.transport.close()
            return
        self._send()

    def connection_lost(self, exc: Exception | None) -> None:
        if exc is not None or time.perf_counter_ns() < self.s.stop_at:
            self.s.errors += 1
        if not self.finished.done():
            self.finished.set_result(None)


class ReconnectingConn(_Conn):
    """A connection reopened when the server closes it after a response.

    moto server (werkzeug) answers every request with ``Connection: close``; an SDK then
    opens a new connection for the next request, and so does this one. The time to
    connect counts in that request's latency."""

    host = "127.0.0.1"
    port = 0

    def __init__(self, *args: Any, reopened_at: int | None = None) -> None:
        super().__init__(*args)
        self.closing = False
        self.reopened_at = reopened_at

    def data_received(self, data: bytes) -> None:
        if b"\r\nconnection: close" in data[:4096].lower():
            self.closing = True
        super().data_received(data)

    def _send(self) -> None:
        if self.closing:
            return  # the server is closing this connection: send on a new one
        super()._send()
        if self.reopened_at is not None:
            self.sent_at, self.reopened_at = self.reopened_at, None

    def connection_lost(self, exc: Exception | None) -> None:
        if self.closing and exc is None and not self.buf and time.perf_counter_ns() < self.s.stop_at:
            asyncio.get_running_loop().create_task(self._reopen())
            return
        super().connection_lost(exc)

    async def _reopen(self) -> None:
        loop = asyncio.get_running_loop()
        since = time.perf_counter_ns()
        try:
            await loop.create_connection(lambda: ReconnectingConn(self.s, self.i, self.step, self.finished, reopened_at=since), self.host, self.port)
        except OSError:
            self.s.errors += 1
            if not self.finished.done():
                self.finished.set_result(None)


def _pct(sorted_ns: list[int], q: float) -> float:
    if not sorted_ns:
        return 0.0
    k = min(len(sorted_ns) - 1, max(0, round(q * (len(sorted_ns) - 1))))
    return sorted_ns[k] / 1e6


async def _run(host: str, port: int, requests: Sequence[bytes], connections: int, seconds: float, warmup: float, conn: type[_Conn] = _Conn) -> _Shared:
    loop = asyncio.get_running_loop()
    if issubclass(conn, ReconnectingConn):
        ReconnectingConn.host, ReconnectingConn.port = host, port
    start = time.perf_counter_ns()
    shared = _Shared(requests, start + int(warmup * 1e9), start + int((warmup + seconds) * 1e9))
    waits = []
    for c in range(connections):
        fut: asyncio.Future[None] = loop.create_future()
        await loop.create_connection(lambda c=c, fut=fut: conn(shared, c, connections, fut), host, port)  # type: ignore[misc]
        waits.append(fut)
    await asyncio.wait_for(asyncio.gather(*waits), timeout=warmup + seconds + 60)
    return shared


def run(
    host: str, port: int, requests: Sequence[bytes], *, connections: int = 32, seconds: float = 10.0, warmup: float = 2.0, name: str = "run", reconnect: bool = False
) -> Result:
    """Replay ``requests`` round-robin on ``connections`` keep-alive connections
    (``reconnect``: reopened when the server closes them, see ReconnectingConn)."""
    if not requests:
        raise ValueError("no requests to send")
    try:
        import uvloop

        runner: Any = uvloop.run
    except ImportError:  # pragma: no cover
        runner = asyncio.run
    shared = runner(_run(host, port, requests, connections, seconds, warmup, ReconnectingConn if reconnect else _Conn))
    lat = sorted(shared.latencies)
    non_2xx = sum(n for status, n in shared.statuses.items() if not 200 <= status < 300)
    return Result(
        name=name,
        connections=connections,
        seconds=seconds,
        requests=len(lat),
        ops_per_s=len(lat) / seconds,
        p50_ms=_pct(lat, 0.50),
        p90_ms=_pct(lat, 0.90),
        p99_ms=_pct(lat, 0.99),
        max_ms=lat[-1] / 1e6 if lat else 0.0,
        non_2xx=non_2xx,
        errors=shared.errors,
        statuses={str(k): v for k, v in sorted(shared.statuses.items())},
        total_requests=shared.done,
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="replay pre-signed raw HTTP requests and report ops/s and latency")
    p.add_argument("requests_file", help="pickle of list[bytes] (bench.loadgen.save)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("-c", "--connections", type=int, default=32)
    p.add_argument("-d", "--seconds", type=float, default=10.0)
    p.add_argument("--warmup", type=float, default=2.0)
    p.add_argument("--name", default="run")
    p.add_argument("--json", action="store_true", help="print the Result as JSON")
    p.add_argument("--reconnect", action="store_true", help="reopen connections the server closes (moto server)")
    args = p.parse_args(argv)
    result = run(args.host, args.port, load(args.requests_file), connections=args.connections, seconds=args.seconds, warmup=args.warmup, name=args.name, reconnect=args.reconnect)
    print(json.dumps(asdict(result)) if args.json else result.line())
    return 0


if __name__ == "__main__":
    sys.exit(main())
