"""A whole response in one socket write, under uvicorn's httptools protocol.

Through the ASGI interface a response is two messages, ``http.response.start`` and
``http.response.body``, and uvicorn writes each to the socket as it comes (uvloop's
``transport.write`` tries the socket at once): two ``write`` system calls and two TCP
segments per response, each one of them also handled by the client's kernel. For an
answer that is whole in memory (every AWS response but the streams), this writes the
status line, headers and body with one ``transport.write`` and then does what
uvicorn's ``RequestResponseCycle.send`` does at the end of a response (mark it
complete, wake the cycle, arm keep-alive or start a pipelined request).

Measured (`python -m bench.gateway_bench`, bench/RESULTS.md, gateway sixth round): the
chain's CPU per request went from ~95 to ~83 µs, its kernel share from ~24 to ~18 µs.

It reads and sets uvicorn's private request-cycle attributes, as uvicorn 0.55 (the version
installed here) has them. tests/test_uvicorn_send.py checks, under the installed uvicorn,
that the path is taken and that clients get the same HTTP as from uvicorn's own. Anything
it does not recognise -- another server, uvicorn's h11 protocol, a cycle without one of the
attributes, a HEAD request, uvicorn's own access log on, a paused writer, a header uvicorn
would refuse -- takes the standard ASGI path, which answers exactly as before.

Responses finished in one pass of the event loop are written together, at the start of
the next pass, as Redis writes its replies before it goes back to waiting on sockets.
Each write to a local client's socket wakes the client's process; a client that went to
sleep after its previous answer costs the server's CPU an inter-processor wake-up (in a
virtual machine, an exit to the hypervisor). Written one by one as each task finishes,
nearly every answer paid one; written in a burst, the first wakes the client and the
others find it running. Measured (bench/RESULTS.md, gateway twelfth round): the chain's
kernel time per request ~20 -> ~9 µs, its ops/s +25-30 %. A response waits at most for the
other tasks of its pass (each a few tens of µs of CPU); when no other request is in hand
(one client at a time) it is written at once. The pass's answers are written
in the order they were finished; a pipelined next request starts once its predecessor is
written (``on_response`` runs after the write), and a graceful shutdown writes what waits
before it closes connections (``HttpToolsProtocol.shutdown`` below). Answers released by
DynamoDB's fsync thread (a slow disk) go at once (``coalesce=False``): they leave in one
burst anyway, and delaying them kept their clients' next writes out of the next group
commit (PutItem cost ~4 % more CPU when they waited). Those released by an fsync run on
the loop (a fast disk) leave in the same pass as the rest, and are written together with them.
"""

from __future__ import annotations

import asyncio
import logging
import re
import threading
from typing import Any

import orjson

try:  # the httptools protocol is optional in uvicorn
    from uvicorn.protocols.http import httptools_impl as _impl

    _CYCLE: Any = _impl.RequestResponseCycle
    _STATUS_LINE: dict[int, bytes] = _impl.STATUS_LINE
    _PROTOCOL: Any = _impl.HttpToolsProtocol
except (ImportError, AttributeError):  # pragma: no cover - uvicorn without httptools, or a layout this does not know
    _CYCLE = None
    _STATUS_LINE = {}
    _PROTOCOL = None

log = logging.getLogger("emulator")

_ATTRIBUTES = (
    "response_started", "response_complete", "disconnected", "flow", "access_log", "scope", "default_headers",
    "keep_alive", "waiting_for_100_continue", "transport", "message_event", "on_response",
)
# The header block as uvicorn accepts it (its HEADER_RE for names, HEADER_VALUE_RE for
# values): one fullmatch instead of two searches per header. A value holding CR LF would
# read as two good lines, so the line count is checked too.
_HEADER_BLOCK = re.compile(rb'(?:[^\x00-\x1f\x7f()<>@,;:\[\]={} \t\\"]+: [^\x00-\x08\x0a-\x1f\x7f]*\r\n)*')

# Bodies up to this size are joined to the head (one buffer: uvloop's quickest write).
_JOIN_LIMIT = 64 * 1024

_known: dict[type, bool] = {}
_defaults: tuple[Any, bytes] = (None, b"")


def _recognised(cycle: Any) -> bool:
    kind = type(cycle)
    ok = _known.get(kind)
    if ok is None:
        ok = _known[kind] = kind is _CYCLE and all(hasattr(cycle, name) for name in _ATTRIBUTES)
    return ok


def _default_block(default_headers: list[tuple[bytes, bytes]]) -> bytes:
    # uvicorn swaps in a new list (a new Date header) once a second: the block is built once per list.
    global _defaults
    cached, block = _defaults
    if cached is not default_headers:
        block = b"".join(b"%s: %s\r\n" % (name, value) for name, value in default_headers)
        _defaults = (default_headers, block)
    return block


def send_whole(send: Any, status: int, headers: dict[str, str], body: bytes, coalesce: bool = True) -> bool:
    """Write the response in one go if ``send`` is uvicorn's httptools cycle in a state
    this knows; False (nothing done) otherwise: then send it through ``send``.
    ``coalesce``: with the other answers of this loop pass (else now)."""
    cycle = getattr(send, "__self__", None)
    if cycle is None or not _recognised(cycle):
        return False
    if cycle.response_started or cycle.disconnected or cycle.access_log or cycle.flow.write_paused or cycle.scope["method"] == "HEAD":
        return False
    line = _STATUS_LINE.get(status)
    if line is None or "content-length" in headers or "transfer-encoding" in headers or "connection" in headers:
        return False
    try:
        block = "".join([f"{name}: {value}\r\n" for name, value in headers.items()]).encode("latin-1")
    except UnicodeEncodeError:
        return False  # the standard path raises about it, as before
    if block.count(b"\n") != len(headers) or _HEADER_BLOCK.fullmatch(block) is None:
        return False
    keep_alive = cycle.keep_alive
    cycle.response_started = True
    cycle.waiting_for_100_continue = False
    head = (line, _default_block(cycle.default_headers), block, b"content-length: %d\r\n" % len(body), b"\r\n" if keep_alive else b"connection: close\r\n\r\n")
    # Complete for uvicorn from here on (its cycle checks this when the app returns).
    cycle.response_complete = True
    cycle.message_event.set()
    if coalesce and keep_alive and len(body) <= _JOIN_LIMIT and _others_running(cycle):
        pending = _local.__dict__.get("pending")
        if pending is None:
            pending = _local.pending = []
        if not pending:
            asyncio.get_running_loop().call_soon(flush)
        # on_response now: uvicorn swaps it for a no-op once the app returns.
        pending.append((cycle.transport, b"".join((*head, body)), cycle.on_response))
        return True
    if len(body) <= _JOIN_LIMIT:
        cycle.transport.write(b"".join((*head, body)))
    else:  # no copy of a large body: uvloop hands both buffers to one writev
        cycle.transport.writelines((b"".join(head), body))
    if not keep_alive:
        cycle.transport.close()
    cycle.on_response()
    return True


def _others_running(cycle: Any) -> bool:
    """Whether the server has other requests in hand (uvicorn's set of running ASGI tasks,
    shared by its connections): only then can answers be written together. A lone request
    (one client at a time) is answered at once, without waiting a loop pass for nothing."""
    tasks = getattr(getattr(cycle.on_response, "__self__", None), "tasks", None)
    return tasks is None or len(tasks) > 1


# Per thread, as an event loop is: the answers of the running pass, in the order finished.
_local = threading.local()


def flush() -> None:
    """Write the answers waiting in this thread's loop, then let each connection go on
    (keep-alive timer, a pipelined request). Scheduled by the first answer of a pass."""
    pending = _local.__dict__.get("pending")
    if not pending:
        return
    _local.pending = []
    for transport, data, on_response in pending:
        try:
            if not transport.is_closing():  # else the client left meanwhile: nobody to answer
                transport.write(data)
            on_response()
        except Exception:  # one broken connection does not keep the others' answers
            log.debug("writing a response failed", exc_info=True)


try:  # HTTP/2 needs the h2 library (a dependency; without it, HTTP/1.1 only)
    from emulator import http2 as _http2
except ImportError:  # pragma: no cover
    _http2 = None  # type: ignore[assignment]

if _PROTOCOL is not None:

    class HttpToolsProtocol(_PROTOCOL):  # type: ignore[misc, valid-type]
        """uvicorn's httptools protocol, writing the answers that wait before a graceful
        shutdown closes its connection (uvicorn closes a connection whose response is complete).

        It also serves HTTP/2 on the same port (emulator/http2.py): a connection that opens
        with the HTTP/2 preface (h2c with prior knowledge, as the JS SDK's HTTP/2 handler
        does), or over TLS one that chose "h2" by ALPN, is handed to an HTTP/2 protocol
        object. An HTTP/1.1 connection pays one look at its first bytes."""

        # Read by uvicorn's Config.load for the TLS context it builds from --tls-cert/--tls-key
        # (a uvicorn that does not read it offers no ALPN: TLS clients then keep to HTTP/1.1).
        alpn_protocols = _http2.ALPN_PROTOCOLS if _http2 is not None else None
        _sniffing = _http2 is not None
        _preface_seen = b""
        # The request head's limits (emulator/cli.py sets them from the settings): its size, and
        # how long it may take to arrive. uvicorn has neither: it parsed a head of any size before
        # the app's 431 could refuse it, and a head that stopped half-way held its connection
        # open for good (any byte cancels uvicorn's keep-alive timer). Counted only while a head is
        # incomplete after a read: the usual request, whole in one read, pays one test.
        max_head_bytes = 64 * 1024
        head_timeout = 60.0
        _in_head = False
        _head_bytes = 0
        _head_timer: Any = None

        def on_message_begin(self) -> None:
            self._in_head = True
            self._head_bytes = 0
            super().on_message_begin()

        def on_headers_complete(self) -> None:
            self._in_head = False
            if self._head_timer is not None:
                self._head_timer.cancel()
                self._head_timer = None
            super().on_headers_complete()

        def _head_guard(self, size: int) -> None:
            """After a read that left a request head incomplete: refuse one past the size limit
            (431, the connection closed), time one that does not finish (closed)."""
            self._head_bytes += size
            if self._head_bytes > self.max_head_bytes:
                body = orjson.dumps({"__type": "RequestHeaderFieldsTooLarge", "message": f"Request headers exceed the limit of {self.max_head_bytes} bytes"})
                self.transport.write(b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: application/json\r\ncontent-length: %d\r\n"
                                     b"connection: close\r\n\r\n%s" % (len(body), body))
                self.transport.close()
                self._in_head = False
            elif self._head_timer is None:
                self._head_timer = self.loop.call_later(self.head_timeout, self._head_expired)

        def _head_expired(self) -> None:
            self._head_timer = None
            if self._in_head and not self.transport.is_closing():
                self.transport.close()  # as a load balancer drops a client that never finished its request

        def connection_lost(self, exc: Exception | None) -> None:
            if self._head_timer is not None:
                self._head_timer.cancel()
                self._head_timer = None
            super().connection_lost(exc)

        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            if not self._sniffing:
                return
            ssl_object = transport.get_extra_info("ssl_object")
            if ssl_object is not None:
                # Over TLS, ALPN decided: "h2" or HTTP/1.1 (no preface to look for).
                self._sniffing = False
                if ssl_object.selected_alpn_protocol() == "h2":
                    self._to_http2(b"")

        def data_received(self, data: bytes) -> None:
            if self._sniffing:
                data = self._preface_seen + data
                size = min(len(data), len(_http2.PREFACE))
                if data[:size] == _http2.PREFACE[:size]:
                    if size < len(_http2.PREFACE):
                        self._preface_seen = data  # a prefix of it so far: undecided
                    else:
                        self._sniffing = False
                        self._to_http2(data)
                    return
                self._sniffing = False
                self._preface_seen = b""
            super().data_received(data)
            if self._in_head and self.parser is not None and not self.transport.is_closing():
                self._head_guard(len(data))

        def _to_http2(self, data: bytes) -> None:
            # uvicorn's protocol leaves the connection: its server-state entry (replaced
            # by the HTTP/2 one, which implements shutdown()) and its keep-alive timer.
            self.connections.discard(self)
            self._unset_keepalive_if_required()
            protocol = _http2.H2Protocol(self)
            self.transport.set_protocol(protocol)
            protocol.connection_made(self.transport)
            self.parser = None
            if data:
                protocol.data_received(data)

        def shutdown(self) -> None:
            flush()
            super().shutdown()

    HTTP_PROTOCOL: Any = HttpToolsProtocol
else:  # pragma: no cover - uvicorn without httptools
    HTTP_PROTOCOL = "httptools"
