"""The app tests/test_uvicorn_send.py serves: ``python tests/uvicorn_send_app.py PORT``.

Every request is answered with its path as the body: paths under ``/std`` through
plain ASGI messages (``/std/outcomes``: what send_whole returned since the last
such call, as JSON), every other path through send_whole, falling back to the
plain messages where it declines. ``/bad-header`` carries a header value with CR LF; ``/big`` answers 1 MiB;
paths under ``/now`` are written at once (not with the other answers of their loop pass);
``/shutdown-connection`` starts a graceful shutdown of its connection while its answer
waits to be written (as uvicorn does to every connection when the server stops)."""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

import uvicorn

from emulator import uvicorn_send
from emulator.uvicorn_send import HTTP_PROTOCOL, send_whole

outcomes: list[bool] = []


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body"):
        pass
    path = scope["path"]
    body = path.encode()
    if path.startswith("/big"):
        body = bytes(range(256)) * 4096  # 1 MiB: written without joining it to the head
    if path == "/std/outcomes":
        body = json.dumps(outcomes).encode()
        outcomes.clear()
    headers = {"content-type": "text/plain", "x-path": path}
    if path == "/bad-header":
        headers["x-bad"] = "a\r\nx-injected: 1"
    if not path.startswith("/std"):
        protocol = send.__self__.on_response.__self__  # the cycle's protocol
        blocker = asyncio.get_running_loop().create_future()
        if path == "/shutdown-connection":
            protocol.tasks.add(blocker)  # as if another request were in hand: the answer waits for the pass
        try:
            taken = send_whole(send, 200, headers, body, coalesce=not path.startswith("/now"))
        finally:
            protocol.tasks.discard(blocker)
        outcomes.append(taken)
        if taken:
            if path == "/shutdown-connection":
                assert uvicorn_send._local.pending, "the answer was written at once"
                protocol.shutdown()
            return
    raw = [(k.encode(), v.encode()) for k, v in headers.items()] + [(b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": raw})
    await send({"type": "http.response.body", "body": body})


if __name__ == "__main__":
    # As `emulator serve` runs it: uvloop, its httptools protocol, no uvicorn access log.
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), loop="uvloop", http=HTTP_PROTOCOL, log_level="warning", access_log=False, lifespan="off")
