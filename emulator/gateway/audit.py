"""The audit log: one JSON line per authenticated call, allowed or denied.

Written to ``<data_dir>/audit.log`` (mode 0600) and, when the monitoring
service is running, to the CloudWatch Logs group ``/emulator/audit``. Records
who (key, user, source IP), what (action, resource), the authorization
decision and the HTTP status; never secrets, signatures or request bodies.

It is a runtime observer: called after the response is sent, it only appends
to a buffer; a background task (or a full buffer) writes it out.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import os
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

if TYPE_CHECKING:
    from emulator.context import RequestContext
    from emulator.protocols.base import Response

log = logging.getLogger("emulator.audit")

AUDIT_GROUP = "/emulator/audit"


class AuditLog:
    def __init__(self, path: Path, runtime: Any = None, flush_interval: float = 0.25) -> None:
        self.path = Path(path)
        self.runtime = runtime
        self.flush_interval = flush_interval
        self._buffer: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._task: asyncio.Task[None] | None = None
        self._stream = f"{os.getpid()}-{int(time.time())}"
        self.records = 0
        atexit.register(self.flush)

    def __call__(self, ctx: RequestContext, response: Response, elapsed: float) -> None:
        principal = ctx.principal
        if principal is None:
            return  # unauthenticated: the access log has it
        authz = ctx.telemetry.get("authz") or {}
        decision = authz.get("decision")
        if decision is None:
            decision = "allow" if principal.is_root or response.status < 400 else "unknown"
        record = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + f".{int(time.time() * 1000) % 1000:03d}Z",
            "request_id": ctx.request_id,
            "access_key_id": principal.access_key_id,
            "user": principal.user_name,
            "principal_arn": principal.arn,
            "source_ip": ctx.request.client_ip,
            "service": ctx.service_name,
            "operation": ctx.operation_name,
            "action": authz.get("action"),
            "resource": authz.get("resource"),
            "decision": decision,
            "throttled": bool(authz.get("throttled")),
            "status": response.status,
            "latency_ms": round(elapsed * 1000, 3),
        }
        self.record(record)

    def record(self, record: dict[str, Any]) -> None:
        with self._lock:
            self._buffer.append(record)
            self.records += 1
            full = len(self._buffer) >= 500
        if full:
            self.flush()
        elif self._task is None:
            try:
                self._task = asyncio.get_running_loop().create_task(self._run())
            except RuntimeError:
                self.flush()  # no event loop (direct use): write at once

    def flush(self) -> None:
        with self._lock:
            records, self._buffer = self._buffer, []
        if not records:
            return
        data = b"".join(orjson.dumps(r) + b"\n" for r in records)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            with os.fdopen(fd, "ab") as fh:
                fh.write(data)
        except OSError:
            log.exception("cannot write the audit log")
        self._to_cloudwatch(records)

    def _to_cloudwatch(self, records: list[dict[str, Any]]) -> None:
        """Forward to CloudWatch Logs through the monitoring service's log store, if running."""
        logs = self.runtime.components.get("logs") if self.runtime is not None else None
        if logs is None:
            return
        now = int(time.time() * 1000)
        try:
            put_many = getattr(logs, "put_many", None)
            if put_many is not None:
                # put_many creates the group and stream on first use.
                put_many(AUDIT_GROUP, self._stream, [(now, orjson.dumps(r).decode()) for r in records])
            else:
                put = getattr(logs, "put", None)
                if put is not None:
                    for r in records:
                        put(AUDIT_GROUP, self._stream, orjson.dumps(r).decode(), now)
        except Exception:  # the audit file has it; CloudWatch is best effort
            log.debug("audit forwarding to CloudWatch Logs failed", exc_info=True)

    async def _run(self) -> None:
        try:
            while True:
                await asyncio.sleep(self.flush_interval)
                self.flush()
        except asyncio.CancelledError:
            self.flush()
            raise

    def health(self) -> dict[str, Any]:
        return {"records": self.records, "path": str(self.path)}
