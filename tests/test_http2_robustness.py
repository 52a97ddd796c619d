"""Bad input on the HTTP/2 entry point (emulator/http2.py): never a 5xx, never a traceback in
the server's log, and the server still answers signed requests on new connections (HTTP/1.1
and HTTP/2) after each case. Frames are built by hand (hyperframe, hpack) so that they can
break the rules the h2 library's client would keep."""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import hpack
import pytest
from hyperframe.frame import (
    ContinuationFrame,
    DataFrame,
    Frame,
    GoAwayFrame,
    HeadersFrame,
    PingFrame,
    PriorityFrame,
    RstStreamFrame,
    SettingsFrame,
    WindowUpdateFrame,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_http2 import H2Client, signed

from emulator.testing.raw import signed as signed_http1
from emulator.testing.server import EmulatorServer

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
FORM = "application/x-www-form-urlencoded; charset=utf-8"
STS_BODY = b"Action=GetCallerIdentity&Version=2011-06-15"
# What the server's log must never show.
BAD_LOG = (b"Traceback", b"unhandled error", b"Exception in callback", b"Exception in ASGI application")

PROTOCOL_ERROR, REFUSED_STREAM, CANCEL = 0x1, 0x7, 0x8


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    with EmulatorServer() as srv:
        yield srv


@dataclass
class Seen:
    """What the server sent on a raw connection."""

    statuses: dict[int, list[int]] = field(default_factory=dict)
    resets: dict[int, int] = field(default_factory=dict)
    goaway: int | None = None
    closed: bool = False
    data: dict[int, int] = field(default_factory=dict)


class Raw:
    """An HTTP/2 connection of hand-made frames: sends anything, decodes what comes back."""

    def __init__(self, port: int, settings_frame: SettingsFrame | None = None, rcvbuf: int | None = None) -> None:
        self.sock = socket.socket()
        if rcvbuf is not None:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(10)
        self.sock.connect(("127.0.0.1", port))
        self.port = port
        self.encoder = hpack.Encoder()
        self.decoder = hpack.Decoder()
        self.decoder.max_header_list_size = 1 << 24
        self.decoder.max_allowed_table_size = (settings_frame.settings.get(SettingsFrame.HEADER_TABLE_SIZE, 4096) if settings_frame else 4096)
        self.seen = Seen()
        self._buffer = b""
        self._ends: set[int] = set()
        self.send(PREFACE + (settings_frame or SettingsFrame(0)).serialize())

    def send(self, data: bytes) -> None:
        try:
            self.sock.sendall(data)
        except OSError:  # the server may close while a flood is still being written
            self.seen.closed = True

    def frames(self, *frames: Frame) -> None:
        self.send(b"".join(f.serialize() for f in frames))

    def block(self, fields: list[tuple[bytes, bytes]]) -> bytes:
        return bytes(self.encoder.encode(fields))

    def headers(self, stream_id: int, fields: list[tuple[bytes, bytes]], end: bool = True) -> None:
        frame = HeadersFrame(stream_id, self.block(fields), flags=["END_HEADERS", *(["END_STREAM"] if end else [])])
        self.frames(frame)

    def request(self, stream_id: int, method: str = "GET", path: str = "/_emulator/health", extra: list[tuple[bytes, bytes]] | None = None, end: bool = True) -> None:
        self.headers(stream_id, [(b":method", method.encode()), (b":scheme", b"http"), (b":authority", f"127.0.0.1:{self.port}".encode()), (b":path", path.encode()), *(extra or [])], end)

    def read(self, seconds: float = 1.0, until: int | None = None) -> Seen:
        """Frames for ``seconds`` (or until stream ``until`` ends), or until the server closes."""
        deadline = time.monotonic() + seconds
        while not self.seen.closed and time.monotonic() < deadline:
            if until is not None and (until in self.seen.resets or self._ended(until)):
                break
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                data = self.sock.recv(1 << 20)
            except TimeoutError:
                break
            except OSError:
                data = b""
            if not data:
                self.seen.closed = True
                break
            self._parse(data)
        return self.seen



    def _ended(self, stream_id: int) -> bool:
        return stream_id in self._ends

    def _parse(self, data: bytes) -> None:
        buffer = self._buffer + data
        while len(buffer) >= 9:
            length = int.from_bytes(buffer[:3], "big")
            if len(buffer) < 9 + length:
                break
            kind, flags, stream_id = buffer[3], buffer[4], int.from_bytes(buffer[5:9], "big") & 0x7FFFFFFF
            payload = buffer[9 : 9 + length]
            buffer = buffer[9 + length :]
            if kind == 0x1:  # HEADERS: the server neither pads nor sends priority
                for name, value in self.decoder.decode(payload, raw=True):
                    if name == b":status":
                        self.seen.statuses.setdefault(stream_id, []).append(int(value))
                if flags & 0x1:
                    self._ends.add(stream_id)
            elif kind == 0x0:
                self.seen.data[stream_id] = self.seen.data.get(stream_id, 0) + length
                if flags & 0x1:
                    self._ends.add(stream_id)
            elif kind == 0x3:
                self.seen.resets[stream_id] = int.from_bytes(payload[:4], "big")
            elif kind == 0x7:
                self.seen.goaway = int.from_bytes(payload[4:8], "big")
            elif kind == 0x6 and not flags & 0x1:  # answer the server's PINGs, as a client must
                self.send(PingFrame(0, payload, flags=["ACK"]).serialize())
            elif kind == 0x4 and not flags & 0x1:
                self.send(SettingsFrame(0, flags=["ACK"]).serialize())
        self._buffer = buffer

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def raw(server: EmulatorServer) -> Iterator[Raw]:
    conn = Raw(server.port)
    yield conn
    conn.close()


def _log_size(server: EmulatorServer) -> int:
    return server.log_path.stat().st_size


def healthy(server: EmulatorServer, log_from: int, *seen: Seen) -> None:
    """Nothing answered 5xx; a signed request on a new connection works over HTTP/1.1 and
    HTTP/2; the server's log has no traceback since ``log_from``."""
    for one in seen:
        for stream_id, statuses in one.statuses.items():
            assert all(status < 500 for status in statuses), (stream_id, statuses)
    resp = signed_http1(server, "POST", "/", service="sts", headers={"content-type": FORM}, body=STS_BODY)
    assert resp.status == 200, resp.body[:300]
    client = H2Client(server.port)
    try:
        answer = client.request("POST", "/", signed(server, "POST", "/", "sts", STS_BODY, {"Content-Type": FORM}), STS_BODY)
        assert answer.status == 200 and b"<Account>" in answer.body, answer.body[:300]
    finally:
        client.close()
    time.sleep(0.05)  # what the server logs as a connection goes
    with open(server.log_path, "rb") as log:
        log.seek(log_from)
        text = log.read()
    for bad in BAD_LOG:
        assert bad not in text, text.decode(errors="replace")[-3000:]


def _health_fields(port: int) -> list[tuple[bytes, bytes]]:
    return [(b":method", b"GET"), (b":scheme", b"http"), (b":authority", f"127.0.0.1:{port}".encode()), (b":path", b"/_emulator/health")]


# ------------------------------------------------------------------ frames that break the rules


def test_garbage_after_preface(server: EmulatorServer, raw: Raw) -> None:
    start = _log_size(server)
    raw.send(b"\x00\x00\x08\x06\x00\x00\x00\x00\x01" + b"\xff" * 40)  # PING on stream 1
    seen = raw.read(3)
    assert seen.goaway == PROTOCOL_ERROR and seen.closed
    healthy(server, start, seen)


def test_truncated_frame_then_close(server: EmulatorServer, raw: Raw) -> None:
    start = _log_size(server)
    raw.request(1)
    frame = HeadersFrame(3, raw.block(_health_fields(server.port)), flags=["END_HEADERS", "END_STREAM"]).serialize()
    raw.send(frame[: len(frame) // 2])
    seen = raw.read(1, until=1)
    raw.close()
    # Stream 1 is answered while the truncated frame waits for the rest. Once, in a full-suite
    # run, the connection ended with GOAWAY PROTOCOL_ERROR before that answer (not reproduced
    # in 20 runs since): either way the server must stay healthy for the next connections.
    assert seen.statuses.get(1) == [200] or seen.goaway is not None, seen
    healthy(server, start, seen)


def test_oversized_frame(server: EmulatorServer, raw: Raw) -> None:
    start = _log_size(server)
    raw.request(1, "POST", end=False)
    raw.frames(DataFrame(1, b"x" * 20000))  # above the default max frame size (16 KiB)
    seen = raw.read(3)
    assert seen.goaway is not None and seen.closed
    healthy(server, start, seen)


@pytest.mark.parametrize(
    "fields",
    [
        [(b":method", b"GET"), (b":scheme", b"http")],  # no :path
        [(b":scheme", b"http"), (b":path", b"/")],  # no :method
        [(b":method", b"GET"), (b":path", b"/")],  # no :scheme
        [(b":method", b"GET"), (b":scheme", b"http"), (b":path", b"")],  # empty :path
        [(b":method", b"GET"), (b":scheme", b"http"), (b":path", b"/"), (b":path", b"/x")],  # twice
        [(b":method", b"GET"), (b":scheme", b"http"), (b":path", b"/"), (b":bogus", b"1")],
        [(b":method", b"GET"), (b":scheme", b"http"), (b"x-a", b"1"), (b":path", b"/")],  # pseudo after regular
        [(b":method", b"GET"), (b":scheme", b"http"), (b":path", b"/"), (b"X-Upper", b"1")],
        [(b":method", b"GET"), (b":scheme", b"http"), (b":path", b"/"), (b"connection", b"keep-alive")],
        [(b":method", b"GET"), (b":scheme", b"http"), (b":path", b"/"), (b"transfer-encoding", b"chunked")],
        [(b":method", b"GET"), (b":scheme", b"http"), (b":path", b"/"), (b"te", b"gzip")],
        [(b":method", b"GET"), (b":scheme", b"http"), (b":path", b"/"), (b"x-a", b"a\r\nb: c")],
        [(b":method", b"GET"), (b":scheme", b"http"), (b":path", b"/"), (b"x a", b"1")],
        [(b":method", b"G ET"), (b":scheme", b"http"), (b":path", b"/")],
        [(b":method", b"GET"), (b":scheme", b"http"), (b":path", b"no-slash")],
        [(b":method", b"CONNECT"), (b":authority", b"example.com:443")],
        [(b":method", b"GET"), (b":scheme", b"http"), (b":path", b"/"), (b"", b"empty name")],
        [(b":method", b"GET"), (b":scheme", b"http"), (b":path", b"/"), (b"x-a", b" padded ")],
    ],
)
def test_bad_headers(server: EmulatorServer, raw: Raw, fields: list[tuple[bytes, bytes]]) -> None:
    start = _log_size(server)
    raw.headers(1, fields)
    raw.request(3)  # a good stream after it, on the same connection
    seen = raw.read(3, until=3)
    # Malformed: a stream error (RFC 9113 8.1.1), the connection's other streams go on.
    assert 1 not in seen.statuses and seen.resets.get(1) == PROTOCOL_ERROR, seen
    assert seen.goaway is None and seen.statuses.get(3) == [200], seen
    healthy(server, start, seen)


def test_continuation_flood(server: EmulatorServer, raw: Raw) -> None:
    start = _log_size(server)
    raw.frames(HeadersFrame(1, raw.block(_health_fields(server.port)), flags=["END_STREAM"]))
    junk = raw.block([(b"x-junk", b"v" * 8000)])
    for _ in range(200):
        raw.frames(ContinuationFrame(1, junk))
        if raw.seen.closed:
            break
    seen = raw.read(3)
    # GOAWAY, then closed (the GOAWAY may be lost: the rest of the flood meets a closed socket).
    assert seen.closed
    assert 1 not in seen.statuses
    healthy(server, start, seen)


def test_huge_header_list(server: EmulatorServer, raw: Raw) -> None:
    """Under the frame size and CONTINUATION limits, but above the header list size the server
    advertises."""
    start = _log_size(server)
    fields = _health_fields(server.port) + [(f"x-h{i}".encode(), b"v" * 4000) for i in range(40)]
    block = raw.block(fields)
    pieces = [block[i : i + 16384] for i in range(0, len(block), 16384)]
    frames: list[Frame] = [HeadersFrame(1, pieces[0], flags=["END_STREAM"])]
    frames += [ContinuationFrame(1, piece) for piece in pieces[1:-1]]
    frames.append(ContinuationFrame(1, pieces[-1], flags=["END_HEADERS"]))
    raw.frames(*frames)
    seen = raw.read(3)
    assert 1 not in seen.statuses or seen.statuses[1][-1] < 500
    healthy(server, start, seen)


def test_body_beyond_the_window(server: EmulatorServer, raw: Raw) -> None:
    start = _log_size(server)
    raw.request(1, "PUT", "/h2-window-bucket/k", end=False)
    chunk = b"x" * 16384
    for _ in range((5 << 20) // len(chunk)):  # the connection's window is 4 MiB
        raw.frames(DataFrame(1, chunk))
        if raw.seen.closed:
            break
    seen = raw.read(3)
    # FLOW_CONTROL_ERROR, or (the app answered early and its stream's DATA is acknowledged
    # as it comes) an answer: either way within bounds, and the server goes on.
    assert seen.goaway == 0x3 or 1 in seen.statuses or seen.closed, seen
    healthy(server, start, seen)


def test_data_on_idle_and_closed_streams(server: EmulatorServer, raw: Raw) -> None:
    start = _log_size(server)
    raw.request(1)
    seen = raw.read(3, until=1)
    assert seen.statuses.get(1) == [200]
    raw.frames(DataFrame(1, b"late", flags=["END_STREAM"]))  # closed
    raw.frames(DataFrame(1, b"later"))
    seen = raw.read(1)
    raw2 = Raw(server.port)
    try:
        raw2.frames(DataFrame(5, b"idle"))  # a stream never opened
        seen2 = raw2.read(3)
        assert seen2.goaway == PROTOCOL_ERROR
    finally:
        raw2.close()
    healthy(server, start, seen, seen2)


def test_rst_stream_flood(server: EmulatorServer, raw: Raw) -> None:
    """Rapid reset: streams opened and reset at once, many more than the concurrent limit."""
    start = _log_size(server)
    fields = _health_fields(server.port)
    for batch in range(20):
        frames: list[Frame] = []
        for i in range(50):
            stream_id = 1 + 2 * (batch * 50 + i)
            frames += [HeadersFrame(stream_id, raw.block(fields), flags=["END_HEADERS", "END_STREAM"]), RstStreamFrame(stream_id, error_code=CANCEL)]
        raw.frames(*frames)
        if raw.seen.closed:
            break
    seen = raw.read(2)
    # Streams whose app still runs count against the limit (the rest are refused): the
    # connection stays usable.
    assert not seen.closed and seen.goaway is None
    raw.request(2001)
    assert raw.read(5, until=2001).statuses.get(2001) == [200]
    raw.frames(RstStreamFrame(4001, error_code=CANCEL))  # on an idle stream (h2 lets it pass)
    seen = raw.read(0.5)
    healthy(server, start, seen)


def test_ping_flood_unread(server: EmulatorServer) -> None:
    """PINGs sent much faster than their ACKs are read: the server stops reading from the
    client (its sends block) rather than buffer the ACKs without end."""
    start = _log_size(server)
    raw = Raw(server.port, rcvbuf=4096)
    blocked = False
    try:
        ping = PingFrame(0, b"12345678").serialize() * 1000
        raw.sock.settimeout(2)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                raw.sock.sendall(ping)
            except TimeoutError:
                blocked = True
                break
    finally:
        raw.close()
    assert blocked
    healthy(server, start)


def test_settings_extreme(server: EmulatorServer) -> None:
    start = _log_size(server)
    seen = []
    raws = []
    for values in (
        {SettingsFrame.INITIAL_WINDOW_SIZE: 2**31},  # above the maximum: FLOW_CONTROL_ERROR
        {SettingsFrame.MAX_FRAME_SIZE: 16383},  # below the minimum
        {SettingsFrame.MAX_FRAME_SIZE: 2**24},  # above the maximum
        {SettingsFrame.ENABLE_PUSH: 2},
        {SettingsFrame.HEADER_TABLE_SIZE: 2**32 - 1, SettingsFrame.MAX_CONCURRENT_STREAMS: 0, SettingsFrame.MAX_HEADER_LIST_SIZE: 1},
        {0x99: 12345},  # unknown: ignored
    ):
        raw = Raw(server.port, SettingsFrame(0, settings=values))
        raws.append(raw)
        try:
            raw.request(1)
            seen.append(raw.read(3, until=1))
        finally:
            raw.close()
    assert seen[0].goaway is not None and seen[1].goaway is not None and seen[2].goaway is not None
    assert seen[5].statuses.get(1) == [200]
    # A client allowing a 4 GiB HPACK table: the server's encoder keeps a small one.
    assert seen[4].statuses.get(1) == [200] and raws[4].decoder.header_table_size <= 4096
    healthy(server, start, *seen)


def test_zero_window_then_window_update(server: EmulatorServer) -> None:
    start = _log_size(server)
    raw = Raw(server.port, SettingsFrame(0, settings={SettingsFrame.INITIAL_WINDOW_SIZE: 0}))
    try:
        raw.request(1)
        seen = raw.read(1)
        assert seen.statuses.get(1) == [200] and not seen.data.get(1)  # headers, no DATA yet
        raw.frames(WindowUpdateFrame(1, window_increment=100))
        seen = raw.read(2)
        assert 0 < seen.data.get(1, 0) <= 100
        raw.frames(WindowUpdateFrame(1, window_increment=1 << 20))
        seen = raw.read(3, until=1)
        assert 1 in raw._ends
        # A SETTINGS change that opens the window of streams waiting on it works too.
        raw.request(3)
        raw.read(1)
        raw.frames(SettingsFrame(0, settings={SettingsFrame.INITIAL_WINDOW_SIZE: 65535}))
        seen = raw.read(3, until=3)
        assert 3 in raw._ends
    finally:
        raw.close()
    healthy(server, start, seen)


def test_window_update_overflow(server: EmulatorServer) -> None:
    start = _log_size(server)
    seen = []
    for stream_id in (0, 1):
        raw = Raw(server.port)
        try:
            if stream_id:
                raw.request(1, "POST", end=False)
            raw.frames(WindowUpdateFrame(stream_id, window_increment=2**31 - 1), WindowUpdateFrame(stream_id, window_increment=2**31 - 1))
            raw.frames(WindowUpdateFrame(0, window_increment=0) if stream_id else RstStreamFrame(3, error_code=0))
            seen.append(raw.read(3))
        finally:
            raw.close()
    assert seen[0].goaway is not None  # the connection's window: FLOW_CONTROL_ERROR
    assert seen[1].resets.get(1) is not None or seen[1].goaway is not None
    healthy(server, start, *seen)


def test_priority_frames(server: EmulatorServer, raw: Raw) -> None:
    start = _log_size(server)
    raw.frames(PriorityFrame(3, depends_on=1, stream_weight=200), PriorityFrame(5, depends_on=0, exclusive=True))
    raw.request(1)
    raw.frames(PriorityFrame(1, depends_on=7, stream_weight=1))
    seen = raw.read(3, until=1)
    assert seen.statuses.get(1) == [200]
    raw.frames(PriorityFrame(9, depends_on=9))  # depends on itself: a stream error
    seen = raw.read(1)
    healthy(server, start, seen)


def test_streams_beyond_the_limit(server: EmulatorServer, raw: Raw) -> None:
    start = _log_size(server)
    path = "/_emulator/health"
    for i in range(150):  # requests whose bodies never end: they stay open
        raw.request(1 + 2 * i, "POST", path, end=False)
    seen = raw.read(3)
    # The streams past the advertised 100 are refused (the client may retry them); the
    # connection and its first 100 streams go on.
    assert sorted(seen.resets) == [1 + 2 * i for i in range(100, 150)], seen.resets
    assert set(seen.resets.values()) == {REFUSED_STREAM} and seen.goaway is None
    healthy(server, start, seen)


def test_client_stops_reading_large_object(server: EmulatorServer) -> None:
    start = _log_size(server)
    s3 = server.client("s3")
    s3.create_bucket(Bucket="h2-robust-big")
    s3.put_object(Bucket="h2-robust-big", Key="big", Body=os.urandom(8 << 20))
    path = "/h2-robust-big/big"
    raw = Raw(server.port, SettingsFrame(0, settings={SettingsFrame.INITIAL_WINDOW_SIZE: 2**31 - 1}), rcvbuf=4096)
    try:
        raw.frames(WindowUpdateFrame(0, window_increment=2**31 - 1 - 65535))
        headers = signed(server, "GET", path, "s3")
        raw.request(1, "GET", path, [(k.lower().encode(), v.encode()) for k, v in headers.items()])
        time.sleep(2)  # not read: the server's socket buffer fills
        healthy(server, start)
    finally:
        raw.close()  # abrupt close with the answer half sent
    healthy(server, start)


def test_abrupt_close_mid_stream(server: EmulatorServer) -> None:
    start = _log_size(server)
    for cut in range(6):
        raw = Raw(server.port)
        raw.request(1, "PUT", "/h2-robust-abrupt/k", [(b"content-length", b"100000")], end=False)
        raw.frames(DataFrame(1, b"x" * 1000 * cut))
        if cut % 2:
            raw.request(3)
        raw.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")  # RST on close
        raw.close()
    healthy(server, start)


def test_content_length_disagrees(server: EmulatorServer, raw: Raw) -> None:
    start = _log_size(server)
    body = json.dumps({}).encode()
    headers = signed(server, "POST", "/", "dynamodb", body, {"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": "DynamoDB_20120810.ListTables"})
    fields = [(k.lower().encode(), v.encode()) for k, v in headers.items() if k.lower() != "content-length"]
    raw.request(1, "POST", "/", [*fields, (b"content-length", b"100")], end=False)
    raw.frames(DataFrame(1, body, flags=["END_STREAM"]))  # fewer bytes than announced
    raw.request(3, "POST", "/", [*fields, (b"content-length", b"1")], end=False)
    raw.frames(DataFrame(3, body, flags=["END_STREAM"]))  # more
    seen = raw.read(3)
    # Malformed (RFC 9113 8.1.1): each stream reset, the connection goes on.
    for stream_id in (1, 3):
        assert stream_id not in seen.statuses and seen.resets.get(stream_id) == PROTOCOL_ERROR, seen
    assert seen.goaway is None
    raw.request(5)
    assert raw.read(3, until=5).statuses.get(5) == [200]
    healthy(server, start, seen)


def test_goaway_with_error_then_more(server: EmulatorServer, raw: Raw) -> None:
    start = _log_size(server)
    raw.request(1, "POST", end=False)
    frame = GoAwayFrame(0, last_stream_id=0, error_code=PROTOCOL_ERROR)
    raw.frames(frame, DataFrame(1, b"after"), frame)
    seen = raw.read(2)
    healthy(server, start, seen)


# ------------------------------------------------------------------ random input

_KINDS = st.sampled_from([0x0, 0x1, 0x2, 0x3, 0x4, 0x5, 0x6, 0x7, 0x8, 0x9, 0xA, 0xFF])


@st.composite
def _frames(draw: st.DrawFn) -> bytes:
    """Frames of any kind with random flags, stream ids and payloads; some of them well-formed."""
    out = []
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(_KINDS)
        flags = draw(st.integers(0, 255))
        stream_id = draw(st.sampled_from([0, 1, 3, 2, 0x7FFFFFFF, draw(st.integers(0, 2**31 - 1))]))
        payload = draw(st.binary(max_size=64))
        length = len(payload) if draw(st.booleans()) else draw(st.integers(0, 2**24 - 1))
        out.append(length.to_bytes(3, "big") + bytes([kind, flags]) + stream_id.to_bytes(4, "big") + payload)
    return b"".join(out)


_NAMES = st.one_of(
    st.sampled_from([b":method", b":path", b":scheme", b":authority", b":status", b"content-length", b"te", b"connection", b"host", b"x-amz-target", b"content-type", b"expect", b"cookie"]),
    st.binary(max_size=12),
)
_VALUES = st.one_of(st.sampled_from([b"GET", b"POST", b"/", b"*", b"http", b"-1", b"100-continue", b"trailers", b""]), st.binary(max_size=24))


def test_fuzz_random_frames(server: EmulatorServer) -> None:
    start = _log_size(server)
    seen: list[Seen] = []

    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
    @given(data=st.one_of(st.binary(max_size=300), _frames()))
    def run(data: bytes) -> None:
        raw = Raw(server.port)
        try:
            raw.send(data)
            raw.request(0x7FFFFFFF)
            seen.append(raw.read(0.15))
        finally:
            raw.close()

    run()
    healthy(server, start, *seen)


def test_fuzz_random_headers(server: EmulatorServer) -> None:
    start = _log_size(server)
    seen: list[Seen] = []

    @settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
    @given(
        fields=st.lists(st.tuples(_NAMES, _VALUES), max_size=8),
        base=st.booleans(),
        body=st.one_of(st.none(), st.binary(max_size=100)),
    )
    def run(fields: list[tuple[bytes, bytes]], base: bool, body: bytes | None) -> None:
        raw = Raw(server.port)
        try:
            block = (_health_fields(server.port) if base else []) + fields
            raw.headers(1, block, end=body is None)
            if body is not None:
                raw.frames(DataFrame(1, body, flags=["END_STREAM"]))
            seen.append(raw.read(2, until=1))
        finally:
            raw.close()

    run()
    healthy(server, start, *seen)
