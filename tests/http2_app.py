"""The app tests/test_http2.py serves for HTTP/2's edges: ``python tests/http2_app.py PORT``.

As `emulator serve` runs an app (uvicorn, uvloop, emulator/uvicorn_send.py's protocol), with
a keep-alive timeout of 2 s.
paths under ``/echo``: the scope and the body as JSON; ``/boom``: raises before answering;
``/boom-after``: raises after part of its answer; ``/watch``: answers part, then waits on
receive() and records what it got (``/seen`` returns and clears the records); ``/slow``:
answers after a second; ``/send-whole``: what emulator/uvicorn_send.send_whole returned."""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

import uvicorn

from emulator.uvicorn_send import HTTP_PROTOCOL, send_whole

seen: list[str] = []


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    path = scope["path"]
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    if path == "/boom":
        raise RuntimeError("boom")
    if path == "/send-whole":
        taken = send_whole(send, 200, {"content-type": "text/plain"}, b"whole")
        body = json.dumps(taken).encode()
    elif path.startswith("/echo"):
        info = {k: scope[k] for k in ("http_version", "method", "scheme", "path", "root_path") if k in scope}
        info.update(raw_path=scope["raw_path"].decode(), query_string=scope["query_string"].decode(), body=body.decode(),
                    headers=[[k.decode(), v.decode()] for k, v in scope["headers"]], client=bool(scope["client"]), server=bool(scope["server"]))
        body = json.dumps(info).encode()
    elif path == "/seen":
        body = json.dumps(seen).encode()
        seen.clear()
    elif path == "/slow":
        await asyncio.sleep(1)
    headers = [(b"content-type", b"text/plain"), (b"Connection", b"keep-alive"), (b"X-Upper", b"1")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    if path in ("/boom-after", "/watch"):
        await send({"type": "http.response.body", "body": b"part", "more_body": True})
        if path == "/boom-after":
            raise RuntimeError("boom after the start")
        seen.append((await receive())["type"])
        await send({"type": "http.response.body", "body": b"dropped", "more_body": True})  # the client is gone: dropped
    await send({"type": "http.response.body", "body": body})


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), loop="uvloop", http=HTTP_PROTOCOL, log_level="warning", access_log=False, lifespan="off", timeout_graceful_shutdown=10, timeout_keep_alive=2)
