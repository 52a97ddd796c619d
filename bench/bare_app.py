"""The baseline: a bare ASGI app answering ``{}`` under the same uvicorn settings as
``emulator serve`` (uvloop, httptools). What the full chain is compared against."""

from __future__ import annotations

import argparse
from typing import Any

_HEADERS = [(b"content-type", b"application/x-amz-json-1.0"), (b"content-length", b"2")]


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    more = True
    while more:  # drain the request body, as any real handler must
        message = await receive()
        more = message.get("more_body", False)
    await send({"type": "http.response.start", "status": 200, "headers": _HEADERS})
    await send({"type": "http.response.body", "body": b"{}"})


def main() -> None:
    import uvicorn

    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    args = p.parse_args()
    uvicorn.run(app, host="127.0.0.1", port=args.port, loop="uvloop", http="httptools", log_level="warning", access_log=False, lifespan="off", timeout_keep_alive=75)


if __name__ == "__main__":
    main()
