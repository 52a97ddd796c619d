"""The access log: one JSON line per request, written off the request path."""

from __future__ import annotations

import itertools
import os
import secrets
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

if TYPE_CHECKING:
    from emulator.context import RequestContext


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
    """One JSON line per request. In a server it consumes the request recorder's batches
    (emulator/gateway/recorder.py); used directly, ``record`` buffers one tuple and ``flush``
    (or a full buffer) writes them."""

    def __init__(self, path: Path) -> None:
        self.path = path
        # (epoch seconds, request id, client ip, method, path, service, operation,
        #  access key id, status, seconds, native)
        self._buffer: list[tuple[float, str, str, str, str, str | None, str | None, str | None, int, float, bool]] = []
        self._middles: dict[tuple[Any, ...], str] = {}

    def record(self, ctx: RequestContext, status: int, elapsed: float) -> None:
        principal = ctx.principal
        request = ctx.request
        operation = ctx.operation
        buf = self._buffer
        buf.append(
            (
                time.time(),
                ctx.request_id,
                request.client_ip,
                request.method,
                request.path,
                ctx.service_name,
                operation.name if operation is not None else None,
                principal.access_key_id if principal is not None else None,
                status,
                elapsed,
                ctx.native,
            )
        )
        if len(buf) >= 5000:
            self.flush()

    def consume(self, records: list[Any]) -> None:
        """A batch of answered requests from the recorder: (ctx, response, seconds, epoch)."""
        entries: list[Any] = []
        add = entries.append
        for ctx, response, elapsed, epoch in records:
            principal = ctx.principal
            request = ctx.request
            operation = ctx.operation
            add((epoch, ctx.request_id, request.client_ip, request.method, request.path, ctx.service_name, operation.name if operation is not None else None, principal.access_key_id if principal is not None else None, response.status, elapsed, ctx.native))
        self._write(entries)

    def flush(self) -> None:
        entries, self._buffer = self._buffer, []
        self._write(entries)

    def _write(self, entries: list[Any]) -> None:
        if not entries:
            return
        # The fields between the request id and the latency repeat from call to call: their
        # JSON is cached (bounded), so a line is one dict lookup and one string format.
        middles = self._middles
        lines = []
        for t, rid, ip, method, path, service, op, key, status, elapsed, native in entries:
            mkey = (ip, method, path, service, op, key, status)
            middle = middles.get(mkey)
            if middle is None:
                if len(middles) >= 4096:
                    middles.clear()
                middle = middles[mkey] = orjson.dumps({"client_ip": ip, "method": method, "path": path, "service": service, "operation": op, "access_key_id": key, "status": status}).decode()[1:-1]
            latency = int(elapsed * 1_000_000 + 0.5) / 1000
            lines.append(f'{{"time":{float(t)!r},"request_id":{orjson.dumps(rid).decode()},{middle},"latency_ms":{latency!r},"native":{"true" if native else "false"}}}\n')
        data = "".join(lines).encode()
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        except FileNotFoundError:  # the folder first (not per batch: a mkdir cost more than the write)
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        with os.fdopen(fd, "ab") as fh:
            fh.write(data)
