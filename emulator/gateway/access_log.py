"""The access log: one JSON line per request, written off the request path."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import secrets
import time
from pathlib import Path
from typing import TYPE_CHECKING

import orjson

if TYPE_CHECKING:
    from emulator.context import RequestContext


# Request ids: UUID-shaped like AWS's x-amzn-RequestId, unique per server process
# (a random 64-bit prefix) and across its requests (a counter from a random start).
# uuid.uuid4() costs an os.urandom call and a UUID object per request; this is a
# format call, which matters at tens of thousands of requests a second.
_PREFIX = secrets.token_hex(8)
_RID_PREFIX = f"{_PREFIX[:8]}-{_PREFIX[8:12]}-4{_PREFIX[13:16]}-"
_counter = itertools.count(secrets.randbits(62))


def new_request_id() -> str:
    n = next(_counter)
    return f"{_RID_PREFIX}{(0x8000 | (n >> 48) & 0x3FFF):04x}-{n & 0xFFFFFFFFFFFF:012x}"


class AccessLog:
    def __init__(self, path: Path, flush_interval: float = 0.5) -> None:
        self.path = path
        self.flush_interval = flush_interval
        self._buffer: list[bytes] = []
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self.flush()

    def record(self, ctx: RequestContext, status: int, elapsed: float) -> None:
        principal = ctx.principal
        self._buffer.append(
            orjson.dumps(
                {
                    "time": time.time(),
                    "request_id": ctx.request_id,
                    "client_ip": ctx.request.client_ip,
                    "method": ctx.request.method,
                    "path": ctx.request.path,
                    "service": ctx.service_name,
                    "operation": ctx.operation_name,
                    "access_key_id": principal.access_key_id if principal else None,
                    "status": status,
                    "latency_ms": round(elapsed * 1000, 3),
                    "native": ctx.native,
                }
            )
            + b"\n"
        )
        if len(self._buffer) >= 1000:
            self.flush()

    def flush(self) -> None:
        if not self._buffer:
            return
        data = b"".join(self._buffer)
        self._buffer.clear()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "ab") as fh:
            fh.write(data)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.flush_interval)
            self.flush()
