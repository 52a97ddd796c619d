"""The access log: one JSON line per request, written off the request path."""

from __future__ import annotations

import itertools
import os
import secrets
from pathlib import Path
from typing import Any

import orjson

# Request ids: UUID-shaped like AWS's x-amzn-RequestId, unique per server process
# (a random 78-bit prefix) and across its requests (a 48-bit counter from a random
# start). uuid.uuid4() costs an os.urandom call and a UUID object per request; this
# is one format call, which matters at tens of thousands of requests a second.
_PREFIX = secrets.token_hex(8)
_RID_PREFIX = f"{_PREFIX[:8]}-{_PREFIX[8:12]}-4{_PREFIX[13:16]}-{0x8000 | secrets.randbits(14):04x}-"
_counter = itertools.count(secrets.randbits(47))


def new_request_id() -> str:
    return f"{_RID_PREFIX}{next(_counter) & 0xFFFFFFFFFFFF:012x}"


class AccessLog:
    """One JSON line per request, written in the request recorder's batches
    (emulator/gateway/recorder.py)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._middles: dict[tuple[Any, ...], str] = {}

    def consume(self, records: list[Any]) -> None:
        """A batch of answered requests from the recorder: (ctx, response, seconds, epoch)."""
        if not records:
            return
        # The fields between the request id and the latency repeat from call to call: their
        # JSON is cached (bounded), so a line is one dict lookup and one string format.
        middles = self._middles
        lines = []
        for ctx, response, elapsed, epoch in records:
            principal = ctx.principal
            request = ctx.request
            operation = ctx.operation
            key = principal.access_key_id if principal is not None else None
            op = operation.name if operation is not None else None
            mkey = (request.client_ip, request.method, request.path, ctx.service_name, op, key, response.status)
            middle = middles.get(mkey)
            if middle is None:
                if len(middles) >= 4096:
                    middles.clear()
                middle = middles[mkey] = orjson.dumps(
                    {"client_ip": request.client_ip, "method": request.method, "path": request.path, "service": ctx.service_name, "operation": op, "access_key_id": key, "status": response.status}
                ).decode()[1:-1]
            latency = int(elapsed * 1_000_000 + 0.5) / 1000
            lines.append(f'{{"time":{float(epoch)!r},"request_id":{orjson.dumps(ctx.request_id).decode()},{middle},"latency_ms":{latency!r},"native":{"true" if ctx.native else "false"}}}\n')
        append_file(self.path, "".join(lines).encode(), 0o644)


def append_file(path: Path, data: bytes, mode: int) -> None:
    """Append ``data`` to ``path``, created with ``mode`` (and its folder) when missing.
    The folder is made only when the open fails: a mkdir per batch cost more than the write."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, mode)
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, mode)
    with os.fdopen(fd, "ab") as fh:
        fh.write(data)
