"""A small asyncio HTTP/1.1 client with a keep-alive pool, for gateway -> role forwarding.

httpx/aiohttp are not dependencies; forwarding needs only: one buffered request
body, a response that is either buffered (Content-Length) or streamed through
(chunked / read-to-close: event streams and server-sent events), and connection
reuse so that a forwarded GetItem costs no TCP handshake.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit

# Hop-by-hop headers (RFC 9110 section 7.6.1) and the framing headers this client sets itself.
HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade", "content-length", "expect"})
MAX_HEADER_BYTES = 256 * 1024


class UpstreamError(Exception):
    """The instance could not be reached, broke the connection or did not answer in time.

    ``sent``: the request may have reached the instance (so it must not be re-sent to
    another one: the operation may not be idempotent); ``timeout``: it did not answer in time.
    """

    def __init__(self, message: str, sent: bool = False, timeout: bool = False) -> None:
        super().__init__(message)
        self.sent = sent
        self.timeout = timeout


@dataclass
class UpstreamResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes = b""
    stream: AsyncIterator[bytes] | None = None
    meta: dict[str, str] = field(default_factory=dict)


class _Conn:
    __slots__ = ("reader", "reused", "writer")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.reused = False

    def close(self) -> None:
        with contextlib.suppress(Exception):  # already gone
            self.writer.close()


class HttpPool:
    def __init__(self, connect_timeout: float = 3.0, read_timeout: float = 300.0, max_idle: int = 64) -> None:
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.max_idle = max_idle
        self._idle: dict[tuple[str, int], list[_Conn]] = {}

    async def _connect(self, host: str, port: int) -> _Conn:
        idle = self._idle.get((host, port))
        while idle:
            conn = idle.pop()
            if not conn.reader.at_eof() and not conn.writer.is_closing():
                conn.reused = True
                return conn
            conn.close()
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port, limit=MAX_HEADER_BYTES), self.connect_timeout)
        except (TimeoutError, OSError) as exc:
            raise UpstreamError(f"cannot connect to {host}:{port}: {exc or type(exc).__name__}") from exc
        return _Conn(reader, writer)

    def _release(self, key: tuple[str, int], conn: _Conn) -> None:
        idle = self._idle.setdefault(key, [])
        if len(idle) < self.max_idle and not conn.writer.is_closing():
            idle.append(conn)
        else:
            conn.close()

    def close(self) -> None:
        for conns in self._idle.values():
            for conn in conns:
                conn.close()
        self._idle.clear()

    async def request(self, base_url: str, method: str, target: str, headers: dict[str, str], body: bytes) -> UpstreamResponse:
        url = urlsplit(base_url)
        host = url.hostname or "127.0.0.1"
        port = url.port or (443 if url.scheme == "https" else 80)
        key = (host, port)
        lines = [f"{method} {target} HTTP/1.1"]
        has_host = False
        for name, value in headers.items():
            if name in HOP_BY_HOP:
                continue
            has_host = has_host or name == "host"
            lines.append(f"{name}: {value}")
        if not has_host:
            lines.append(f"host: {host}:{port}")
        lines.append(f"content-length: {len(body)}")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        for attempt in (0, 1):
            conn = await self._connect(host, port)
            try:
                conn.writer.write(head + body if len(body) < 65536 else head)
                if len(body) >= 65536:
                    conn.writer.write(body)
                await conn.writer.drain()
                status_line = await asyncio.wait_for(conn.reader.readline(), self.read_timeout)
                if not status_line:
                    raise ConnectionResetError("connection closed before the response")
            except TimeoutError as exc:  # before OSError: TimeoutError is one, and a timed-out request is not retried
                conn.close()
                raise UpstreamError(f"{host}:{port}: no response in {self.read_timeout}s", sent=True, timeout=True) from exc
            except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as exc:
                conn.close()
                # A pooled connection the server closed while idle: retry once on a fresh one
                # (nothing of the response was read, so the request was not processed).
                if conn.reused and attempt == 0:
                    continue
                raise UpstreamError(f"{host}:{port}: {exc or type(exc).__name__}", sent=True) from exc
            return await self._read_response(key, conn, status_line, method)
        raise UpstreamError(f"{host}:{port}: unreachable")  # pragma: no cover - the loop returns or raises

    async def _read_response(self, key: tuple[str, int], conn: _Conn, status_line: bytes, method: str) -> UpstreamResponse:
        reader = conn.reader
        try:
            parts = status_line.decode("latin-1").split(" ", 2)
            status = int(parts[1])
            headers: list[tuple[str, str]] = []
            length: int | None = None
            chunked = False
            close = parts[0] == "HTTP/1.0"
            while True:
                line = await asyncio.wait_for(reader.readline(), self.read_timeout)
                if line in (b"\r\n", b"\n", b""):
                    break
                name, _, value = line.decode("latin-1").partition(":")
                name = name.strip().lower()
                value = value.strip()
                if name == "content-length":
                    length = int(value)
                elif name == "transfer-encoding":
                    chunked = "chunked" in value.lower()
                elif name == "connection":
                    close = close or value.lower() == "close"
                if name not in HOP_BY_HOP:
                    headers.append((name, value))
            if method == "HEAD" or status in (204, 304) or (100 <= status < 200):
                self._release(key, conn) if not close else conn.close()
                return UpstreamResponse(status, headers)
            if length is not None and not chunked:
                body = await asyncio.wait_for(reader.readexactly(length), self.read_timeout)
                if close:
                    conn.close()
                else:
                    self._release(key, conn)
                return UpstreamResponse(status, headers, body)
        except (TimeoutError, OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError, IndexError) as exc:
            conn.close()
            raise UpstreamError(f"bad response from {key[0]}:{key[1]}: {exc or type(exc).__name__}", sent=True,
                                timeout=isinstance(exc, TimeoutError)) from exc
        return UpstreamResponse(status, headers, stream=self._stream(key, conn, chunked, close))

    async def _stream(self, key: tuple[str, int], conn: _Conn, chunked: bool, close: bool) -> AsyncIterator[bytes]:
        """Pass a streamed body through chunk by chunk (LLM tokens arrive as they are made)."""
        reader = conn.reader
        done = False
        try:
            if chunked:
                while True:
                    size_line = await asyncio.wait_for(reader.readline(), self.read_timeout)
                    size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
                    if size == 0:
                        while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                            pass  # trailers
                        break
                    data = await asyncio.wait_for(reader.readexactly(size + 2), self.read_timeout)
                    yield data[:-2]
            else:
                close = True
                while True:
                    data = await asyncio.wait_for(reader.read(65536), self.read_timeout)
                    if not data:
                        break
                    yield data
            done = True
        finally:
            # A client that went away mid-stream leaves the connection in an unknown state.
            if done and not close:
                self._release(key, conn)
            else:
                conn.close()
