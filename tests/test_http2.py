"""HTTP/2 on the emulator's port (emulator/http2.py): h2c with prior knowledge, as the JS
SDK's NodeHttp2Handler speaks it, and h2 over TLS chosen by ALPN. A client on the ``h2``
library over a plain socket sends SigV4-signed requests; its own h2 state machine fails
the test if the server breaks HTTP/2's rules (flow control, frame size, stream states)."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h2.config
import h2.connection
import h2.errors
import h2.events
import h2.settings
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from emulator.testing.server import EmulatorServer, TlsEmulatorServer


@dataclass
class Answer:
    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    body: bytearray = field(default_factory=bytearray)
    ended: bool = False
    informational: list[int] = field(default_factory=list)
    reset: int | None = None


class H2Client:
    """A blocking HTTP/2 client: requests on streams of one connection, answers read
    as frames come (DATA acknowledged as read, so the server's window reopens)."""

    def __init__(self, port: int, context: ssl.SSLContext | None = None, preface_parts: int = 1, window: int | None = None) -> None:
        sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        if context is not None:
            sock = context.wrap_socket(sock, server_hostname="127.0.0.1")
            assert sock.selected_alpn_protocol() == "h2"
        self.sock = sock
        self.authority = f"127.0.0.1:{port}"
        self.scheme = "https" if context is not None else "http"
        self.conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding=None))
        if window is not None:  # a small receive window per stream: the server must keep to it
            self.conn.local_settings = h2.settings.Settings(client=True, initial_values={h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: window})
        self.conn.initiate_connection()
        data = self.conn.data_to_send()
        if preface_parts > 1:  # the preface in pieces: the server must wait for all of it
            self.sock.sendall(data[:3])
            time.sleep(0.2)
            self.sock.sendall(data[3:10])
            time.sleep(0.2)
            data = data[10:]
        self.sock.sendall(data)
        self.answers: dict[int, Answer] = {}
        self.window_updates = 0  # WINDOW_UPDATEs the server sent
        self.server_settings: dict[int, int] = {}
        self.goaway = False
        self._partial = b""

    def close(self) -> None:
        self.sock.close()

    def start(self, method: str, path: str, headers: dict[str, str], body: bytes = b"", end: bool = True) -> int:
        stream_id: int = self.conn.get_next_available_stream_id()
        fields = [(b":method", method.encode()), (b":scheme", self.scheme.encode()), (b":authority", self.authority.encode()), (b":path", path.encode())]
        fields += [(k.lower().encode(), v.encode()) for k, v in headers.items() if k.lower() != "host"]
        self.answers[stream_id] = Answer()
        self.conn.send_headers(stream_id, fields, end_stream=end and not body)
        self._write()
        view = memoryview(body)
        while view:
            window = self.conn.local_flow_control_window(stream_id)
            if window <= 0:
                self._read_once()  # wait for the server's WINDOW_UPDATE
                continue
            step = min(len(view), window, self.conn.max_outbound_frame_size)
            self.conn.send_data(stream_id, view[:step].tobytes(), end_stream=end and step == len(view))
            view = view[step:]
            self._write()
        return stream_id

    def wait(self, stream_id: int) -> Answer:
        answer = self.answers[stream_id]
        while not answer.ended and answer.reset is None:
            self._read_once()
        return answer

    def request(self, method: str, path: str, headers: dict[str, str], body: bytes = b"") -> Answer:
        return self.wait(self.start(method, path, headers, body))

    def _write(self) -> None:
        data = self.conn.data_to_send()
        if data:
            self.sock.sendall(data)

    def _without_goaway(self, data: bytes) -> bytes:
        """The frames in ``data`` but GOAWAY, which sets ``goaway``: RFC 9113 (6.8) lets
        the streams up to its last stream id complete, the h2 library takes no frame after it."""
        buffer = self._partial + data
        kept = []
        while len(buffer) >= 9:
            end = 9 + int.from_bytes(buffer[:3], "big")
            if len(buffer) < end:
                break
            if buffer[3] == 0x7:  # GOAWAY
                self.goaway = True
            else:
                kept.append(buffer[:end])
            buffer = buffer[end:]
        self._partial = buffer
        return b"".join(kept)

    def _read_once(self) -> None:
        data = self.sock.recv(1 << 20)
        if not data:
            raise ConnectionError("the server closed the connection")
        for event in self.conn.receive_data(self._without_goaway(data)):
            if isinstance(event, h2.events.ResponseReceived):
                answer = self.answers[event.stream_id]  # type: ignore[index]
                for name, value in event.headers or ():
                    if name == b":status":
                        answer.status = int(value)
                    else:
                        answer.headers[bytes(name).decode()] = bytes(value).decode()
            elif isinstance(event, h2.events.InformationalResponseReceived):
                self.answers[event.stream_id].informational.append(int(dict(event.headers or ())[b":status"]))  # type: ignore[index]
            elif isinstance(event, h2.events.DataReceived):
                self.answers[event.stream_id].body += event.data  # type: ignore[index, operator]
                self.conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)  # type: ignore[arg-type]
            elif isinstance(event, h2.events.StreamEnded):
                self.answers[event.stream_id].ended = True  # type: ignore[index]
            elif isinstance(event, h2.events.StreamReset):
                self.answers[event.stream_id].reset = int(event.error_code)  # type: ignore[index, arg-type]
            elif isinstance(event, h2.events.WindowUpdated):
                self.window_updates += 1
            elif isinstance(event, h2.events.RemoteSettingsChanged):
                self.server_settings.update({int(k): v.new_value for k, v in event.changed_settings.items()})
        self._write()


def signed(server: EmulatorServer, method: str, path: str, service: str, body: bytes = b"", headers: dict[str, str] | None = None, access_key: str | None = None) -> dict[str, str]:
    """The headers of a SigV4-signed request (botocore's signer), for ``server``."""
    request = AWSRequest(method=method, url=server.endpoint + path, data=body, headers=dict(headers or {}))
    request.headers["X-Amz-Content-SHA256"] = hashlib.sha256(body).hexdigest()
    SigV4Auth(Credentials(access_key or server.access_key, server.secret_key), service, server.region).add_auth(request)
    return {k: v for k, v in request.headers.items()}


def dynamodb(server: EmulatorServer, client: H2Client, action: str, params: dict[str, Any], access_key: str | None = None) -> Answer:
    body = json.dumps(params).encode()
    headers = signed(server, "POST", "/", "dynamodb", body, {"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": f"DynamoDB_20120810.{action}"}, access_key)
    return client.request("POST", "/", headers, body)


@pytest.fixture
def h2c(emulator: EmulatorServer) -> Iterator[H2Client]:
    client = H2Client(emulator.port)
    yield client
    client.close()


def test_signed_requests_over_h2c(emulator: EmulatorServer, h2c: H2Client) -> None:
    body = b"Action=GetCallerIdentity&Version=2011-06-15"
    headers = signed(emulator, "POST", "/", "sts", body, {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    answer = h2c.request("POST", "/", headers, body)
    assert answer.status == 200, answer.body
    assert b"<Account>000000000000</Account>" in answer.body
    assert answer.headers["x-amzn-requestid"]
    assert not {"connection", "keep-alive", "transfer-encoding"} & set(answer.headers)
    # The server's SETTINGS: a bound on concurrent streams.
    assert h2c.server_settings[h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS] == 100

    table = f"h2-{time.time_ns()}"
    answer = dynamodb(emulator, h2c, "CreateTable", {
        "TableName": table, "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
    })
    assert answer.status == 200, answer.body
    answer = dynamodb(emulator, h2c, "ListTables", {})
    assert answer.status == 200 and table in json.loads(answer.body)["TableNames"]
    item = {"pk": {"S": "k1"}, "n": {"N": "42"}, "s": {"S": "ü" * 10}}
    assert dynamodb(emulator, h2c, "PutItem", {"TableName": table, "Item": item}).status == 200
    answer = dynamodb(emulator, h2c, "GetItem", {"TableName": table, "Key": {"pk": {"S": "k1"}}, "ConsistentRead": True})
    assert answer.status == 200 and json.loads(answer.body) == {"Item": item}
    # The same item through boto3 (HTTP/1.1): one server, one table.
    got = emulator.client("dynamodb").get_item(TableName=table, Key={"pk": {"S": "k1"}}, ConsistentRead=True)
    assert got["Item"] == item


def test_error_answer(emulator: EmulatorServer, h2c: H2Client) -> None:
    answer = dynamodb(emulator, h2c, "ListTables", {}, access_key="AKIAUNKNOWNKEY000000")
    assert answer.status == 400
    error = json.loads(answer.body)
    assert error["__type"].endswith("UnrecognizedClientException")
    assert error["message"] == "The security token included in the request is invalid."
    # The connection goes on after an error answer.
    assert dynamodb(emulator, h2c, "ListTables", {}).status == 200


def test_concurrent_streams_on_one_connection(emulator: EmulatorServer, h2c: H2Client) -> None:
    table = f"h2c-{time.time_ns()}"
    emulator.client("dynamodb").create_table(
        TableName=table, BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
    )
    streams = []
    for i in range(20):  # every request sent before any answer is read
        body = json.dumps({"TableName": table, "Item": {"pk": {"S": f"k{i}"}, "i": {"N": str(i)}}}).encode()
        headers = signed(emulator, "POST", "/", "dynamodb", body, {"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": "DynamoDB_20120810.PutItem"})
        streams.append(h2c.start("POST", "/", headers, body))
    assert len(set(streams)) == 20
    ids = {h2c.wait(stream).headers["x-amzn-requestid"] for stream in streams}
    assert all(h2c.answers[stream].status == 200 for stream in streams)
    assert len(ids) == 20
    got = emulator.client("dynamodb").scan(TableName=table, ConsistentRead=True)["Items"]
    assert sorted(int(item["i"]["N"]) for item in got) == list(range(20))


@pytest.fixture
def bucket(emulator: EmulatorServer) -> str:
    name = f"h2-{time.time_ns()}"
    emulator.client("s3").create_bucket(Bucket=name)
    return name


def test_large_response_needs_window_updates(emulator: EmulatorServer, h2c: H2Client, bucket: str) -> None:
    # Larger than the client's default windows (64 KiB per stream and connection): the
    # server must stop and wait for the client's WINDOW_UPDATEs.
    data = os.urandom(3 * 1024 * 1024 + 17)
    emulator.client("s3").put_object(Bucket=bucket, Key="big.bin", Body=data)
    path = f"/{bucket}/big.bin"
    answer = h2c.request("GET", path, signed(emulator, "GET", path, "s3"))
    assert answer.status == 200
    assert int(answer.headers["content-length"]) == len(data)
    assert hashlib.sha256(answer.body).digest() == hashlib.sha256(data).digest()
    # Two at once on the connection, sharing its window.
    first, second = (h2c.start("GET", path, signed(emulator, "GET", path, "s3")) for _ in range(2))
    assert bytes(h2c.wait(first).body) == data and bytes(h2c.wait(second).body) == data


def test_large_request_body(emulator: EmulatorServer, h2c: H2Client, bucket: str) -> None:
    data = os.urandom(5 * 1024 * 1024 + 3)
    path = f"/{bucket}/up.bin"
    headers = signed(emulator, "PUT", path, "s3", data, {"Content-Length": str(len(data)), "Content-Type": "application/octet-stream"})
    before = h2c.window_updates
    answer = h2c.request("PUT", path, headers, data)
    assert answer.status == 200, answer.body
    assert answer.headers["etag"] == f'"{hashlib.md5(data).hexdigest()}"'
    # More than the connection's window: sent as the server handed windows back.
    assert h2c.window_updates > before
    assert emulator.client("s3").get_object(Bucket=bucket, Key="up.bin")["Body"].read() == data


def test_preface_in_pieces_and_head(emulator: EmulatorServer, bucket: str) -> None:
    client = H2Client(emulator.port, preface_parts=3)
    try:
        emulator.client("s3").put_object(Bucket=bucket, Key="k", Body=b"hello")
        path = f"/{bucket}/k"
        answer = client.request("HEAD", path, signed(emulator, "HEAD", path, "s3"))
        assert answer.status == 200 and answer.headers["content-length"] == "5" and answer.body == b""
        answer = client.request("GET", path + "?x-id=GetObject", signed(emulator, "GET", path + "?x-id=GetObject", "s3"))
        assert answer.status == 200 and answer.body == b"hello"
    finally:
        client.close()


def _http1(port: int, pieces: list[bytes]) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        for piece in pieces:
            sock.sendall(piece)
            time.sleep(0.1)
        data = b""
        while b"\r\n\r\n" not in data:
            data += sock.recv(65536)
        head, _, body = data.partition(b"\r\n\r\n")
        length = int(next(line.split(b":")[1] for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")))
        while len(body) < length:
            body += sock.recv(65536)
        return head + b"\r\n\r\n" + body


def test_http1_unchanged(emulator: EmulatorServer) -> None:
    request = b"GET /_emulator/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    for pieces in ([request], [request[:1], request[1:]], [b"P", b"OST /_emulator/health HTTP/1.1\r\nHost: x\r\ncontent-length: 0\r\n\r\n"]):
        answer = _http1(emulator.port, pieces)
        assert answer.startswith(b"HTTP/1.1 "), answer[:100]
        if pieces[0] != b"P":
            assert answer.startswith(b"HTTP/1.1 200 ") and b'"services"' in answer
    # A broken preface is HTTP/1.1 garbage, answered as uvicorn does.
    assert _http1(emulator.port, [b"PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n"]).startswith(b"HTTP/1.1 400 ")


@pytest.fixture(scope="module")
def tls_server() -> Iterator[TlsEmulatorServer]:
    with TlsEmulatorServer() as server:
        yield server


def test_h2_over_tls_by_alpn(tls_server: TlsEmulatorServer) -> None:
    context = ssl.create_default_context(cafile=str(tls_server.cert))
    context.set_alpn_protocols(["h2", "http/1.1"])
    client = H2Client(tls_server.port, context)
    try:
        body = b"Action=GetCallerIdentity&Version=2011-06-15"
        headers = signed(tls_server, "POST", "/", "sts", body, {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
        answer = client.request("POST", "/", headers, body)
        assert answer.status == 200 and b"<Account>000000000000</Account>" in answer.body
    finally:
        client.close()
    # A client that offers only HTTP/1.1 is served HTTP/1.1 there.
    context = ssl.create_default_context(cafile=str(tls_server.cert))
    context.set_alpn_protocols(["http/1.1"])
    with socket.create_connection(("127.0.0.1", tls_server.port), timeout=10) as raw, context.wrap_socket(raw, server_hostname="127.0.0.1") as sock:
        assert sock.selected_alpn_protocol() == "http/1.1"
        sock.sendall(b"GET /_emulator/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert sock.recv(65536).startswith(b"HTTP/1.1 200 ")


# --- the protocol's edges, with an app of the test's own (tests/http2_app.py) -------------


def _serve_app() -> tuple[subprocess.Popen[bytes], int]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = subprocess.Popen([sys.executable, str(Path(__file__).with_name("http2_app.py")), str(port)])
    deadline = time.time() + 20
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc, port
        except OSError:
            assert proc.poll() is None and time.time() < deadline, "the test server did not start"
            time.sleep(0.05)


@pytest.fixture(scope="module")
def edge_port() -> Iterator[int]:
    proc, port = _serve_app()
    try:
        yield port
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.fixture
def edge(edge_port: int) -> Iterator[H2Client]:
    client = H2Client(edge_port)
    yield client
    client.close()


def test_scope(edge: H2Client) -> None:
    answer = edge.request("POST", "/echo/a%20b%2Fc?x=1&y=%20", {"cookie": "a=1", "x-Custom": "v"}, b"the body")
    assert answer.status == 200
    info = json.loads(answer.body)
    assert info["http_version"] == "2" and info["method"] == "POST" and info["scheme"] == "http" and info["root_path"] == ""
    assert info["path"] == "/echo/a b/c" and info["raw_path"] == "/echo/a%20b%2Fc" and info["query_string"] == "x=1&y=%20"
    assert info["body"] == "the body" and info["client"] and info["server"]
    # No pseudo-headers; host from :authority; names lower-case.
    assert info["headers"][0] == ["host", edge.authority]
    assert sorted(info["headers"][1:]) == [["cookie", "a=1"], ["x-custom", "v"]]
    # Connection-specific headers the app set are not sent; names go lower-case.
    assert "connection" not in answer.headers and answer.headers["x-upper"] == "1"
    assert answer.headers["content-type"] == "text/plain"


def test_expect_100_continue(edge: H2Client) -> None:
    stream = edge.start("PUT", "/echo", {"expect": "100-continue"}, end=False)
    answer = edge.answers[stream]
    while not answer.informational:  # the body waits for the server's go-ahead
        edge._read_once()
    assert answer.informational == [100] and answer.status == 0
    edge.conn.send_data(stream, b"after the 100", end_stream=True)
    edge._write()
    answer = edge.wait(stream)
    assert answer.status == 200 and json.loads(answer.body)["body"] == "after the 100"


def test_send_whole_declines_http2(edge: H2Client) -> None:
    answer = edge.request("GET", "/send-whole", {})
    assert answer.status == 200 and json.loads(answer.body) is False


def test_app_errors(edge: H2Client) -> None:
    answer = edge.request("GET", "/boom", {})
    assert answer.status == 500 and answer.body == b"Internal Server Error"
    answer = edge.request("GET", "/boom-after", {})
    assert answer.status == 200 and answer.body == b"part"
    assert not answer.ended and answer.reset == h2.errors.ErrorCodes.INTERNAL_ERROR
    # The connection goes on.
    assert edge.request("GET", "/echo", {}).status == 200


def test_client_reset_is_a_disconnect(edge: H2Client) -> None:
    edge.request("GET", "/seen", {})  # clear
    stream = edge.start("GET", "/watch", {})
    answer = edge.answers[stream]
    while answer.body != b"part":
        edge._read_once()
    edge.conn.reset_stream(stream, h2.errors.ErrorCodes.CANCEL)
    edge._write()
    deadline = time.time() + 10
    while (seen := json.loads(edge.request("GET", "/seen", {}).body)) == [] and time.time() < deadline:
        time.sleep(0.05)
    assert seen == ["http.disconnect"]
    assert answer.body == b"part"  # what the app sent after the reset was dropped


def test_streams_run_concurrently(edge: H2Client) -> None:
    started = time.monotonic()
    streams = [edge.start("GET", "/slow", {}) for _ in range(4)]
    assert all(edge.wait(stream).status == 200 for stream in streams)
    assert time.monotonic() - started < 3.5  # one second each, at once: not one after another


def test_idle_connection_is_closed(edge_port: int) -> None:
    client = H2Client(edge_port)
    try:
        assert client.request("GET", "/echo", {}).status == 200
        started = time.monotonic()
        with pytest.raises(ConnectionError):  # the app's keep-alive timeout (2 s): GOAWAY, then closed
            while True:
                client._read_once()
        assert client.goaway and 1.5 < time.monotonic() - started < 10
    finally:
        client.close()


def test_small_client_window(edge_port: int) -> None:
    client = H2Client(edge_port, window=1000)
    try:
        body = os.urandom(150_000).hex().encode()
        answer = client.request("POST", "/echo", {}, body)
        assert answer.status == 200 and json.loads(answer.body)["body"] == body.decode()
    finally:
        client.close()


def test_graceful_shutdown() -> None:
    proc, port = _serve_app()
    try:
        client = H2Client(port)
        stream = client.start("GET", "/slow", {})
        time.sleep(0.3)
        proc.send_signal(signal.SIGTERM)
        while not client.goaway:  # at once: no new streams
            client._read_once()
        answer = client.answers[stream]
        assert answer.status == 0  # the app is still at work
        answer = client.wait(stream)  # then the stream in hand is answered in full
        assert answer.status == 200 and answer.ended
        with pytest.raises(ConnectionError):  # and the connection closed
            while True:
                client._read_once()
        client.close()
        proc.wait(10)  # uvicorn ends by raising the signal it caught again
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
