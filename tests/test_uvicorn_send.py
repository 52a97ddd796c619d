"""emulator/uvicorn_send.py under a real uvicorn (httptools, uvloop) on a real socket:
the one-write path is taken where it should be, and what reaches the client is the
same HTTP as uvicorn's own two-message path (keep-alive, pipelining, Connection: close,
HEAD, refused headers)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from emulator.uvicorn_send import send_whole


@pytest.fixture(scope="module")
def served() -> Iterator[int]:
    """uvicorn_send_app.py served by uvicorn in its own process: in this one, pytest (9)
    attaches its log handlers to uvicorn's access logger, which turns uvicorn's access
    log on (and the one-write path off, as it should)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = subprocess.Popen([sys.executable, str(Path(__file__).with_name("uvicorn_send_app.py")), str(port)])
    try:
        deadline = time.time() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert proc.poll() is None and time.time() < deadline, "the test server did not start"
                time.sleep(0.05)
        yield port
    finally:
        proc.terminate()
        proc.wait(10)


def _outcomes(port: int) -> list[bool]:
    """What send_whole returned for each request since the last call (the app keeps them)."""
    ((_, _, body),), _ = _exchange(port, _get("/std/outcomes"), 1)
    return list(json.loads(body))


def _exchange(port: int, data: bytes, responses: int) -> tuple[list[tuple[str, dict[str, str], bytes]], bool]:
    """Send ``data``; read ``responses`` answers; also whether the server then closed."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(data)
        buf = b""
        out = []
        while len(out) < responses:
            while b"\r\n\r\n" not in buf:
                chunk = s.recv(65536)
                assert chunk, f"connection closed after {len(out)} responses: {buf!r}"
                buf += chunk
            head, _, buf = buf.partition(b"\r\n\r\n")
            status, *lines = head.decode("latin-1").split("\r\n")
            headers: dict[str, str] = {}
            for line in lines:
                name, _, value = line.partition(": ")
                assert name.lower() not in headers, f"header {name} twice"
                headers[name.lower()] = value
            size = int(headers.get("content-length", "0")) if "HEAD" not in data.decode("latin-1").split(" ", 1)[0] else 0
            while len(buf) < size:
                chunk = s.recv(65536)
                assert chunk
                buf += chunk
            out.append((status, headers, buf[:size]))
            buf = buf[size:]
        s.settimeout(0.5)
        try:
            closed = s.recv(1) == b""
        except TimeoutError:
            closed = False
    return out, closed


def _get(path: str, extra: str = "", method: str = "GET") -> bytes:
    return f"{method} {path} HTTP/1.1\r\nhost: x\r\n{extra}\r\n".encode()


def test_one_write_answers_as_uvicorn_does(served: int) -> None:
    port = served
    _outcomes(port)
    (fast,), _ = _exchange(port, _get("/fast"), 1)
    assert _outcomes(port) == [True]  # the one-write path ran under this uvicorn
    (std,), _ = _exchange(port, _get("/std"), 1)
    assert fast[0] == std[0] == "HTTP/1.1 200 OK"
    assert fast[2] == b"/fast" and std[2] == b"/std"
    # The same headers, uvicorn's own (date, server) included.
    assert set(fast[1]) == set(std[1]) == {"date", "server", "content-type", "x-path", "content-length"}
    assert fast[1]["content-length"] == "5" and fast[1]["server"] == std[1]["server"]


def test_keep_alive_and_pipelined_requests(served: int) -> None:
    port = served
    _outcomes(port)
    answers, closed = _exchange(port, _get("/a") + _get("/bb") + _get("/ccc"), 3)
    assert [body for _, _, body in answers] == [b"/a", b"/bb", b"/ccc"]
    assert _outcomes(port) == [True, True, True]
    assert not closed  # kept alive


def test_answers_written_at_once_and_with_their_pass_keep_their_order(served: int) -> None:
    port = served
    _outcomes(port)
    answers, closed = _exchange(port, _get("/a") + _get("/now-b") + _get("/c") + _get("/now-d"), 4)
    assert [body for _, _, body in answers] == [b"/a", b"/now-b", b"/c", b"/now-d"]
    assert _outcomes(port) == [True] * 4 and not closed


def test_large_body_then_the_next_request(served: int) -> None:
    port = served
    _outcomes(port)
    (big, small), closed = _exchange(port, _get("/big") + _get("/after"), 2)
    assert big[2] == bytes(range(256)) * 4096 and big[1]["content-length"] == str(1024 * 1024)
    assert small[2] == b"/after" and not closed
    assert _outcomes(port) == [True, True]


def test_connection_close(served: int) -> None:
    port = served
    _outcomes(port)
    (answer,), closed = _exchange(port, _get("/bye", "connection: close\r\n"), 1)
    assert _outcomes(port) == [True]
    assert answer[1]["connection"] == "close" and answer[2] == b"/bye"
    assert closed


def test_answers_of_one_pass_reach_every_client(served: int) -> None:
    # Many connections at once: their answers are finished in the same loop passes and
    # written together; each client gets its own, whole.
    port = served
    _outcomes(port)
    socks = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(24)]
    try:
        for round_ in range(3):
            for i, s in enumerate(socks):
                s.sendall(_get(f"/c{i}-{round_}"))
            for i, s in enumerate(socks):
                want = f"/c{i}-{round_}".encode()
                buf = b""
                while not buf.endswith(want):
                    chunk = s.recv(65536)
                    assert chunk, f"connection {i} closed"
                    buf += chunk
                assert buf.startswith(b"HTTP/1.1 200 OK\r\n") and f"content-length: {len(want)}\r\n".encode() in buf
    finally:
        for s in socks:
            s.close()
    assert _outcomes(port) == [True] * 72


def test_graceful_shutdown_writes_the_waiting_answer(served: int) -> None:
    # The answer waits for the end of the loop pass when the connection is shut down
    # (uvicorn closes a connection whose response is complete): it still goes out first.
    port = served
    _outcomes(port)
    (answer,), closed = _exchange(port, _get("/shutdown-connection"), 1)
    assert answer[0] == "HTTP/1.1 200 OK" and answer[2] == b"/shutdown-connection"
    assert closed
    assert _outcomes(port) == [True]


def test_head_and_refused_headers_take_the_standard_path(served: int) -> None:
    port = served
    _outcomes(port)
    (head,), _ = _exchange(port, _get("/head", method="HEAD"), 1)
    assert head[0] == "HTTP/1.1 200 OK" and head[1]["content-length"] == "5"
    # A header value with CR LF: uvicorn refuses it (and closes); send_whole declines it
    # rather than write it.
    _, closed = _exchange(port, _get("/bad-header"), 0)
    assert _outcomes(port) == [False, False]
    assert closed


def test_outside_uvicorn_it_declines() -> None:
    async def send(message: dict[str, Any]) -> None:  # pragma: no cover - not called
        raise AssertionError

    assert send_whole(send, 200, {}, b"{}") is False
