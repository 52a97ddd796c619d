"""HTTP/2 on the emulator's one port: h2c with prior knowledge, and h2 over TLS by ALPN.

The AWS SDK for JavaScript v3 sends Bedrock Runtime and Kinesis calls through an
HTTP/2-only handler (``NodeHttp2Handler``): against ``http://`` it opens the connection
with the HTTP/2 preface, which uvicorn's HTTP/1.1 parser refuses. emulator/uvicorn_send.py's
``HttpToolsProtocol`` looks at the first bytes of each connection (or at the protocol TLS
negotiated) and hands an HTTP/2 connection to ``H2Protocol`` here, which runs the same ASGI
app as uvicorn does, once per stream, concurrently.

The ASGI side follows uvicorn's HTTP/1.1 cycle where HTTP/2 allows: the same scope (with
``http_version`` "2"), ``receive()`` gives the body and then waits until the stream or the
connection ends (the app's streaming path watches it for ``http.disconnect``), ``send()``
after the client left is dropped silently, an app error answers 500 before the response
started. Past that, HTTP/2's own rules: connection-specific headers are not sent, the
response's DATA respects the client's flow-control windows and frame size, an error after
the response started resets the stream, a client's graceful GOAWAY lets the streams in hand
finish (then the connection is closed).

The request body is acknowledged (its flow-control window reopened) as the app takes it,
so a client never has more than a window's worth of body waiting in the server.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any, cast
from urllib.parse import unquote

import h2.config
import h2.connection
import h2.events
import h2.exceptions
import h2.settings
from h2.errors import ErrorCodes
from hpack.exceptions import HPACKError
from hyperframe.frame import (
    DataFrame,
    Frame,
    GoAwayFrame,
    HeadersFrame,
    WindowUpdateFrame,
)

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
# Offered over TLS, in the server's order of preference.
ALPN_PROTOCOLS = ["h2", "http/1.1"]

MAX_CONCURRENT_STREAMS = 100
# Request bodies (S3 uploads) arrive in windows of this size per stream, and of
# CONNECTION_WINDOW for all of a connection's streams together: larger than HTTP/2's
# default (64 KiB) so an upload does not stop for a WINDOW_UPDATE every 64 KiB, bounded
# because that much of each body may wait in memory for the app to take it.
STREAM_WINDOW = 1 << 20
CONNECTION_WINDOW = 4 << 20
# The header block of one request, decoded (RFC 9113 6.5.2; HTTP/1.1 requests have the
# same bound in gateway/tls.py's guard).
MAX_HEADER_LIST_SIZE = 64 * 1024
# The HPACK table the server's encoder keeps for a connection: a client may allow up to
# 4 GiB (SETTINGS_HEADER_TABLE_SIZE), RFC 7541 (4.2) lets the encoder use less.
MAX_ENCODER_TABLE = 4096

# Hop-by-hop headers an HTTP/1.1 app may set; HTTP/2 forbids them (RFC 9113 8.2.2).
_DROPPED = frozenset((b"connection", b"keep-alive", b"proxy-connection", b"transfer-encoding", b"upgrade"))

_SERVER_ERROR = [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", b"21")]

log = logging.getLogger("uvicorn.error")

Message = dict[str, Any]


class _Stream:
    """One request: its ASGI scope, the request body as it comes, the response's state."""

    __slots__ = (
        "body_given",
        "chunks",
        "closed",
        "expect_continue",
        "head",
        "more_body",
        "protocol",
        "reset",
        "response_complete",
        "response_started",
        "scope",
        "stream_id",
        "unacked",
        "wake",
        "window",
    )

    def __init__(self, protocol: H2Protocol, stream_id: int, scope: dict[str, Any]) -> None:
        self.protocol = protocol
        self.stream_id = stream_id
        self.scope = scope
        self.chunks: deque[bytes] = deque()
        self.unacked = 0  # flow-controlled bytes received and not yet given to the app
        # Whether more request body may come: gateway/tls.py's guard reads it as it reads
        # uvicorn's cycle (False: the first receive() cannot wait, nothing to time).
        self.more_body = True
        self.body_given = False  # the last http.request message went to the app
        self.closed = False  # the response is complete, or the stream or connection is gone
        self.reset = False  # reset (by either side) or the connection is gone: nothing more is sent
        self.response_started = False
        self.response_complete = False
        self.head = scope["method"] == "HEAD"
        # The client waits for a 100 (Continue) before it sends the body: sent, as uvicorn
        # does, when the app first asks for the body.
        self.expect_continue = False
        self.wake = asyncio.Event()  # request body, its end, or the stream's end
        self.window = asyncio.Event()  # the flow-control window opened, or the stream ended

    def gone(self) -> None:
        self.closed = self.reset = True
        self.wake.set()
        self.window.set()

    async def receive(self) -> Message:
        while True:
            if self.chunks:
                chunks = self.chunks
                body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
                chunks.clear()
                self.protocol.acknowledge(self.stream_id, self.unacked)
                self.unacked = 0
                if not self.more_body:
                    self.body_given = True
                return {"type": "http.request", "body": body, "more_body": self.more_body}
            if self.closed:
                return {"type": "http.disconnect"}
            if not self.more_body and not self.body_given:
                self.body_given = True
                return {"type": "http.request", "body": b"", "more_body": False}
            if self.expect_continue:
                self.expect_continue = False
                if not self.response_started and not self.reset:
                    try:
                        self.protocol.conn.send_headers(self.stream_id, [(b":status", b"100")])
                    except h2.exceptions.ProtocolError:  # the stream or the connection ended meanwhile
                        self.gone()
                        continue
                    self.protocol.schedule_flush()
            self.wake.clear()
            await self.wake.wait()

    async def send(self, message: Message) -> None:
        kind = message["type"]
        protocol = self.protocol
        if kind == "http.response.start":
            if self.response_started:
                raise RuntimeError(f"Unexpected ASGI message '{kind}' sent, after response already started.")
            self.response_started = True
            if self.reset:
                return  # the client is gone: as uvicorn, the answer is dropped
            headers = [(b":status", b"%d" % message["status"]), *protocol.server_state.default_headers]
            for name, value in message.get("headers", ()):
                name = bytes(name).lower()
                if name not in _DROPPED:
                    headers.append((name, bytes(value)))
            try:
                protocol.conn.send_headers(self.stream_id, headers)
            except h2.exceptions.ProtocolError:  # the stream or the connection ended meanwhile
                self.gone()
                return
            protocol.schedule_flush()
        elif kind == "http.response.body":
            if not self.response_started:
                raise RuntimeError(f"Expected ASGI message 'http.response.start', but got '{kind}'.")
            if self.response_complete:
                raise RuntimeError(f"Unexpected ASGI message '{kind}' sent, after response already completed.")
            more = bool(message.get("more_body", False))
            if not more:
                self.response_complete = True
            if not self.reset:
                await protocol.send_data(self, b"" if self.head else message.get("body", b""), not more)
            if not more:
                self.closed = True
                self.wake.set()
        else:
            raise RuntimeError(f"Unexpected ASGI message '{kind}' sent.")


class _Settings(h2.settings.Settings):
    """The server's settings as sent, but h2 does not enforce MAX_CONCURRENT_STREAMS itself:
    it would end the whole connection for one stream too many; ``H2Protocol._request``
    refuses that stream instead (RFC 9113 5.1.2: a stream error), and counts streams whose
    app still runs after a reset too (h2 counts only open ones), which bounds a client that
    opens and resets streams without end."""

    @property
    def max_concurrent_streams(self) -> int:
        return 2**31

    @max_concurrent_streams.setter
    def max_concurrent_streams(self, value: int) -> None:
        self[h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS] = value


# The ProtocolError classes h2 raises for a malformed request (RFC 9113 8.1.1: a stream
# error), as opposed to its subclasses for errors of the connection (flow control, frame
# size, too many CONTINUATIONs...).
_MALFORMED = (h2.exceptions.ProtocolError, h2.exceptions.InvalidBodyLengthError)
# The header block could not be decoded: the HPACK state is lost, a connection error.
_UNDECODABLE = (HPACKError, IndexError, TypeError, UnicodeDecodeError)


class _Connection(h2.connection.H2Connection):
    """h2's connection, with two changes.

    A client's graceful GOAWAY (NO_ERROR) does not end it. RFC 9113 (6.8): GOAWAY stops
    new streams; the streams up to its last stream id complete. h2 instead takes no frame
    after any GOAWAY. A client sends one while its streams are still being answered: the JS
    SDK closes the HTTP/2 session of an event stream (``session.close()``) as soon as the
    response headers come, then reads the events: ending the connection there would cut
    the event stream short.

    A malformed request (bad or missing pseudo-headers, upper-case or connection-specific
    header names, a content-length its body does not match) resets its stream with
    PROTOCOL_ERROR (RFC 9113 8.1.1) where h2 ends the connection, and its other streams."""

    def _receive_frame(self, frame: Frame) -> list[h2.events.Event]:
        try:
            return cast(list[h2.events.Event], super()._receive_frame(frame))
        except h2.exceptions.ProtocolError as exc:
            stream = self.streams.get(frame.stream_id)
            if (
                type(exc) not in _MALFORMED
                or not isinstance(frame, (HeadersFrame, DataFrame))
                or stream is None
                or stream.closed
                or isinstance(exc.__context__, _UNDECODABLE)
                or self.state_machine.state is h2.connection.ConnectionState.CLOSED
            ):
                raise
            # h2 raised after the header block was decoded (HPACK state intact) and the
            # stream's state moved: the stream alone can be reset.
            frames: list[Frame] = list(stream.reset_stream(ErrorCodes.PROTOCOL_ERROR))
            if isinstance(frame, DataFrame):  # the connection's window the DATA took is handed back
                increment = self._inbound_flow_control_window_manager.process_bytes(frame.flow_controlled_length)
                if increment:
                    frames.append(WindowUpdateFrame(0, window_increment=increment))
            self._prepare_for_sending(frames)
            return [h2.events.StreamReset(stream_id=frame.stream_id, error_code=ErrorCodes.PROTOCOL_ERROR, remote_reset=False)]

    def _receive_goaway_frame(self, frame: GoAwayFrame) -> tuple[list[Any], list[h2.events.Event]]:
        if frame.error_code != ErrorCodes.NO_ERROR:
            return cast(tuple[list[Any], list[h2.events.Event]], super()._receive_goaway_frame(frame))
        event = h2.events.ConnectionTerminated()
        event.error_code = ErrorCodes.NO_ERROR
        event.last_stream_id = frame.last_stream_id
        event.additional_data = frame.additional_data or None
        return [], [event]


LINGER_SECONDS = 2.0


class H2Protocol(asyncio.Protocol):
    """An HTTP/2 server connection, taken over from uvicorn's HTTP/1.1 protocol object
    ``source`` (its configuration, server state and transport)."""

    def __init__(self, source: Any) -> None:
        self.config = source.config
        self.app = source.app
        self.loop: asyncio.AbstractEventLoop = source.loop
        self.server_state = source.server_state
        self.connections: set[Any] = source.server_state.connections
        self.tasks: set[asyncio.Task[None]] = source.server_state.tasks
        self.app_state: dict[str, Any] = source.app_state
        self.root_path: str = source.root_path
        self.asgi_version: str = source.asgi_version
        self.limit_concurrency: int | None = source.limit_concurrency
        self.timeout_keep_alive: float = source.timeout_keep_alive
        self.server = source.server
        self.client = source.client
        self.scheme = source.scheme
        self.transport: asyncio.Transport = source.transport
        self.conn = _Connection(h2.config.H2Configuration(client_side=False, header_encoding=None))
        self.conn.local_settings = _Settings(
            client=False,
            initial_values={
                h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS: MAX_CONCURRENT_STREAMS,
                h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: STREAM_WINDOW,
                h2.settings.SettingCodes.MAX_HEADER_LIST_SIZE: MAX_HEADER_LIST_SIZE,
            },
        )
        self.conn.decoder.max_header_list_size = MAX_HEADER_LIST_SIZE
        self.streams: dict[int, _Stream] = {}
        self.flush_scheduled = False
        self.writable = asyncio.Event()
        self.writable.set()
        self.closing = False  # GOAWAY sent for a graceful shutdown: no new streams
        self.client_done = False  # the client's graceful GOAWAY: closed once its streams are answered
        self.lost = False
        self.reading_paused = False
        self.lingering = False  # GOAWAY sent on an error: what the client still sends is dropped
        self.idle_timer: asyncio.TimerHandle | None = None

    # ------------------------------------------------------------ transport side
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        self.connections.add(self)
        self.conn.initiate_connection()
        self.conn.increment_flow_control_window(CONNECTION_WINDOW - 65535)
        self.flush()
        self._arm_idle_timer()

    def data_received(self, data: bytes) -> None:
        if self.lost or self.lingering or self.transport.is_closing():
            return  # what comes after the connection failed is not read
        try:
            going_on = self._handle(self.conn.receive_data(data))
        except h2.exceptions.ProtocolError:
            # h2 has queued its GOAWAY: send it and end the connection. Its streams end
            # now: their apps must not write to a connection h2 has closed.
            self._fail()
            return
        except Exception as exc:  # noqa: BLE001 - a client's bytes must not reach asyncio's handler
            # Not one of h2's errors for bad input: a defect here or in h2, but the
            # connection is all it may cost.
            log.warning("HTTP/2 connection from %s ended on an unexpected error: %r", self.client, exc)
            try:
                self.conn.close_connection(ErrorCodes.INTERNAL_ERROR)
            except h2.exceptions.ProtocolError:
                pass
            self._fail()
            return
        if going_on:
            self.flush()
            if not self.writable.is_set() and not self.transport.is_closing():
                # The client does not read what is sent (answers, PING and SETTINGS
                # acknowledgements): no more is read from it until it does, so that what
                # waits to be sent stays bounded.
                self.transport.pause_reading()
                self.reading_paused = True

    def _handle(self, events: list[h2.events.Event]) -> bool:
        """The events of one read; False if the connection was closed."""
        streams = self.streams
        for event in events:
            if isinstance(event, h2.events.DataReceived):
                stream = streams.get(event.stream_id)  # type: ignore[arg-type]
                if stream is None or stream.closed:  # nobody reads it any more
                    self.acknowledge(event.stream_id, event.flow_controlled_length)  # type: ignore[arg-type]
                else:
                    stream.chunks.append(event.data)  # type: ignore[arg-type]
                    stream.unacked += event.flow_controlled_length  # type: ignore[operator]
                    stream.wake.set()
            elif isinstance(event, h2.events.RequestReceived):
                self._request(event)
            elif isinstance(event, h2.events.StreamEnded):
                stream = streams.get(event.stream_id)  # type: ignore[arg-type]
                if stream is not None:
                    stream.more_body = False
                    stream.wake.set()
            elif isinstance(event, h2.events.StreamReset):
                stream = streams.get(event.stream_id)  # type: ignore[arg-type]
                if stream is not None:
                    stream.gone()
            elif isinstance(event, h2.events.WindowUpdated):
                if event.stream_id:
                    stream = streams.get(event.stream_id)
                    if stream is not None:
                        stream.window.set()
                else:
                    self._open_windows()
            elif isinstance(event, h2.events.RemoteSettingsChanged):
                if h2.settings.SettingCodes.INITIAL_WINDOW_SIZE in event.changed_settings:
                    self._open_windows()
                if h2.settings.SettingCodes.HEADER_TABLE_SIZE in event.changed_settings:
                    encoder = self.conn.encoder
                    encoder.header_table_size = min(encoder.header_table_size, MAX_ENCODER_TABLE)
            elif isinstance(event, h2.events.ConnectionTerminated):
                if event.error_code == ErrorCodes.NO_ERROR:
                    # Graceful (_Connection): the streams in hand are answered, then the
                    # connection is closed, as the client's side expects.
                    self.client_done = True
                    if not streams:
                        self.flush()
                        self.transport.close()
                        return False
                    continue
                # An error: h2 sends nothing more on this connection.
                self._fail()
                return False
        return True

    def _fail(self) -> None:
        for stream in list(self.streams.values()):
            stream.gone()
        self.flush()
        self._linger()

    def _linger(self) -> None:
        """Close after a GOAWAY without losing it. A socket closed with bytes of the client
        still unread answers with a reset, and a reset makes the client's kernel drop what
        it had not yet read, the GOAWAY included (RFC 9113 6.8 asks that it be read). So,
        as web servers' "lingering close": end the sending side, drop what still comes, and
        close when the client does or after LINGER_SECONDS."""
        transport = self.transport
        if self.lost or transport.is_closing():
            return
        if not transport.can_write_eof():
            transport.close()
            return
        self.lingering = True
        self._cancel_idle_timer()
        transport.write_eof()
        if self.reading_paused:
            self.reading_paused = False
            transport.resume_reading()
        self.loop.call_later(LINGER_SECONDS, transport.close)

    def eof_received(self) -> None:
        pass  # the transport closes itself (and ends a lingering close)

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        self.connections.discard(self)
        self._cancel_idle_timer()
        for stream in self.streams.values():
            stream.gone()
        self.writable.set()

    def pause_writing(self) -> None:
        self.writable.clear()

    def resume_writing(self) -> None:
        self.writable.set()
        if self.reading_paused:
            self.reading_paused = False
            if not self.transport.is_closing():
                self.transport.resume_reading()

    def shutdown(self) -> None:
        """uvicorn's graceful shutdown: GOAWAY (no new streams), then close once the
        streams in hand are answered. h2 would take no frame once it sent a GOAWAY, so
        this one is written past it, and the streams in hand go on."""
        if self.lingering:
            self.transport.close()  # the server stops: no more waiting for the client
            return
        if self.closing or self.lost:
            return
        self.closing = True
        self.flush()
        frame = GoAwayFrame(0)
        frame.last_stream_id = self.conn.highest_inbound_stream_id
        self.transport.write(frame.serialize())
        if not self.streams:
            self.transport.close()

    # ------------------------------------------------------------------ writing
    def flush(self) -> None:
        self.flush_scheduled = False
        data = self.conn.data_to_send()
        if data and not self.lost and not self.lingering:
            self.transport.write(data)

    def schedule_flush(self) -> None:
        """The frames of one pass of the event loop (every stream's) go in one write."""
        if not self.flush_scheduled:
            self.flush_scheduled = True
            self.loop.call_soon(self.flush)

    def acknowledge(self, stream_id: int, size: int) -> None:
        if size and not self.lost:
            try:
                self.conn.acknowledge_received_data(size, stream_id)
            except h2.exceptions.ProtocolError:  # the connection is closing
                return
            self.schedule_flush()

    def _open_windows(self) -> None:
        for stream in self.streams.values():
            stream.window.set()

    async def send_data(self, stream: _Stream, body: bytes, end: bool) -> None:
        """``body`` as DATA frames within the client's flow-control windows and frame size,
        END_STREAM with the last if ``end``; what is left is dropped if the stream ends."""
        conn = self.conn
        stream_id = stream.stream_id
        view = memoryview(body)
        size = len(view)
        offset = 0
        while True:
            if not self.writable.is_set():  # the transport's buffer is full
                await self.writable.wait()
            if stream.reset:
                return
            try:
                if offset == size:
                    if end:
                        conn.end_stream(stream_id)
                        self.schedule_flush()
                    return
                window = conn.local_flow_control_window(stream_id)
            except h2.exceptions.ProtocolError:  # the stream or the connection ended meanwhile
                stream.gone()
                return
            if window <= 0:
                self.flush()  # what was queued must leave for a WINDOW_UPDATE to come
                stream.window.clear()
                await stream.window.wait()
                continue
            step = min(size - offset, window, conn.max_outbound_frame_size)
            last = end and offset + step == size
            try:
                conn.send_data(stream_id, view[offset : offset + step], end_stream=last)
            except h2.exceptions.ProtocolError:
                stream.gone()
                return
            offset += step
            self.schedule_flush()
            if last:
                return

    # ------------------------------------------------------------------ streams
    def _request(self, event: h2.events.RequestReceived) -> None:
        stream_id = cast(int, event.stream_id)
        if self.closing or len(self.streams) >= MAX_CONCURRENT_STREAMS:
            # Shutting down, or more streams than advertised (counting those reset whose
            # app still runs): refused, the client may retry it (RFC 9113 8.7).
            try:
                self.conn.reset_stream(stream_id, ErrorCodes.REFUSED_STREAM)
            except h2.exceptions.ProtocolError:  # reset by the client in the same read
                pass
            return
        method = path = authority = b""
        headers: list[tuple[bytes, bytes]] = []
        has_host = expect_continue = False
        for name, value in cast(Iterable[tuple[bytes, bytes]], event.headers or ()):
            if name[:1] == b":":
                if name == b":method":
                    method = value
                elif name == b":path":
                    path = value
                elif name == b":authority":
                    authority = value
            else:
                if name == b"host":
                    has_host = True
                elif name == b"expect" and value.lower() == b"100-continue":
                    expect_continue = True
                headers.append((name, value))
        if not method or not path:  # CONNECT (no :path): not served here
            self.conn.reset_stream(stream_id, ErrorCodes.PROTOCOL_ERROR)
            return
        if authority and not has_host:
            headers.insert(0, (b"host", authority))
        raw_path, _, query = path.partition(b"?")
        text = raw_path.decode("latin-1")
        if "%" in text:
            text = unquote(text)
        scope: dict[str, Any] = {
            "type": "http",
            "asgi": {"version": self.asgi_version, "spec_version": "2.3"},
            "http_version": "2",
            "server": self.server,
            "client": self.client,
            "scheme": self.scheme,
            "method": method.decode("ascii", "replace"),
            "root_path": self.root_path,
            "path": self.root_path + text,
            "raw_path": self.root_path.encode("ascii") + raw_path,
            "query_string": query,
            "headers": headers,
            "state": self.app_state.copy(),
        }
        stream = self.streams[stream_id] = _Stream(self, stream_id, scope)
        stream.expect_continue = expect_continue and not event.stream_ended
        self._cancel_idle_timer()
        app: Callable[..., Any] = self.app
        limit = self.limit_concurrency
        if limit is not None and (len(self.connections) >= limit or len(self.tasks) >= limit):
            from uvicorn.protocols.http.flow_control import service_unavailable

            app = service_unavailable
            log.warning("Exceeded concurrency limit.")
        if getattr(self.config, "reset_contextvars", False):
            task = self.loop.create_task(self._run(stream, app), context=contextvars.Context())
        else:
            task = self.loop.create_task(self._run(stream, app))
        task.add_done_callback(self.tasks.discard)
        self.tasks.add(task)

    async def _run(self, stream: _Stream, app: Callable[..., Any]) -> None:
        try:
            result = await app(stream.scope, stream.receive, stream.send)
        except BaseException as exc:  # as uvicorn: logged, answered if it can be
            log.error("Exception in ASGI application\n", exc_info=exc)
            if not stream.response_started:
                await self._server_error(stream)
            else:
                self._reset(stream, ErrorCodes.INTERNAL_ERROR)
        else:
            if result is not None:
                log.error("ASGI callable should return None, but returned '%s'.", result)
            if not stream.response_started and not stream.reset:
                log.error("ASGI callable returned without starting response.")
                await self._server_error(stream)
            elif not stream.response_complete and not stream.reset:
                log.error("ASGI callable returned without completing response.")
                self._reset(stream, ErrorCodes.INTERNAL_ERROR)
        finally:
            self._finished(stream)

    async def _server_error(self, stream: _Stream) -> None:
        try:
            await stream.send({"type": "http.response.start", "status": 500, "headers": _SERVER_ERROR})
            await stream.send({"type": "http.response.body", "body": b"Internal Server Error"})
        except (h2.exceptions.H2Error, RuntimeError):  # the stream or the connection failed meanwhile
            self._reset(stream, ErrorCodes.INTERNAL_ERROR)

    def _reset(self, stream: _Stream, code: ErrorCodes) -> None:
        if not stream.reset and not self.lost:
            try:
                self.conn.reset_stream(stream.stream_id, code)
            except h2.exceptions.ProtocolError:  # closed meanwhile
                pass
            self.schedule_flush()
        stream.gone()

    def _finished(self, stream: _Stream) -> None:
        self.streams.pop(stream.stream_id, None)
        self.server_state.total_requests += 1  # as uvicorn counts them (--limit-max-requests)
        if not stream.reset and stream.more_body and not self.lost:
            # Answered before the whole request came: the client may stop sending it
            # (RFC 9113 8.1: RST_STREAM with NO_ERROR after a complete response).
            self._reset(stream, ErrorCodes.NO_ERROR)
        # Body the app did not take still holds the connection's window.
        self.acknowledge(stream.stream_id, stream.unacked)
        stream.unacked = 0
        stream.chunks.clear()
        stream.gone()
        if not self.streams:
            if self.closing or self.client_done:
                self.flush()
                self.transport.close()
            else:
                self._arm_idle_timer()

    # ------------------------------------------------------------- idle connections
    def _arm_idle_timer(self) -> None:
        if self.idle_timer is None and not self.lost and not self.lingering:
            self.idle_timer = self.loop.call_later(self.timeout_keep_alive, self._idle)

    def _cancel_idle_timer(self) -> None:
        if self.idle_timer is not None:
            self.idle_timer.cancel()
            self.idle_timer = None

    def _idle(self) -> None:
        # As uvicorn closes an idle HTTP/1.1 keep-alive connection; a GOAWAY says so first.
        self.idle_timer = None
        if self.streams or self.lost:
            return
        try:
            self.conn.close_connection()
        except h2.exceptions.ProtocolError:
            pass
        self.flush()
        self.transport.close()
