"""The baseline: a bare ASGI app answering ``{}`` under the same uvicorn settings as
``emulator serve`` (uvloop, httptools). What the full chain is compared against.

``--coalesce``: the same app answering through the emulator's own response writer
(emulator/uvicorn_send.py: one socket write per answer, the answers of one loop pass
written together) and its uvicorn protocol, so that the chain can also be compared with a
bare app that writes as the emulator does."""

from __future__ import annotations

import argparse
from typing import Any

_HEADERS = [(b"content-type", b"application/x-amz-json-1.0"), (b"content-length", b"2")]
_WHOLE = {"content-type": "application/x-amz-json-1.0"}


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    more = True
    while more:  # drain the request body, as any real handler must
        message = await receive()
        more = message.get("more_body", False)
    await send({"type": "http.response.start", "status": 200, "headers": _HEADERS})
    await send({"type": "http.response.body", "body": b"{}"})


async def coalescing_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    from emulator.uvicorn_send import send_whole

    if scope["type"] != "http":
        return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    if not send_whole(send, 200, dict(_WHOLE), b"{}"):
        await send({"type": "http.response.start", "status": 200, "headers": _HEADERS})
        await send({"type": "http.response.body", "body": b"{}"})


def main() -> None:
    import uvicorn

    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--coalesce", action="store_true", help="answer through the emulator's response writer (emulator/uvicorn_send.py)")
    args = p.parse_args()
    if args.coalesce:
        from emulator.uvicorn_send import HTTP_PROTOCOL

        uvicorn.run(coalescing_app, host="127.0.0.1", port=args.port, loop="uvloop", http=HTTP_PROTOCOL, log_level="warning", access_log=False, lifespan="off", timeout_keep_alive=75)
        return
    uvicorn.run(app, host="127.0.0.1", port=args.port, loop="uvloop", http="httptools", log_level="warning", access_log=False, lifespan="off", timeout_keep_alive=75)


if __name__ == "__main__":
    main()
