"""The audit log: one JSON line per authenticated call, allowed or denied.

Written to ``<data_dir>/audit.log`` (mode 0600; rotated by size like the access log,
settings log_max_bytes and log_backups) and, when the monitoring
service is running (in a cluster: the monitoring role) and the setting ``audit_to_logs`` is on
(the default), to the CloudWatch Logs group ``/emulator/audit``. Records
who (key, user, source IP), what (action, resource), the authorization
decision and the HTTP status; never secrets, signatures or request bodies.

It is a consumer of the request recorder (emulator/gateway/recorder.py): it gets
the answered requests in batches, off the request path, and formats and writes each
batch at once.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from emulator.gateway.access_log import Rotation, append_file

if TYPE_CHECKING:
    from emulator.context import Principal

log = logging.getLogger("emulator.audit")

AUDIT_GROUP = "/emulator/audit"


# One answered call: (epoch seconds, request id, principal, source ip, service,
# operation, authz decision dict or None, HTTP status, seconds), formatted in the
# recorder's batches, off the request path.
_Entry = tuple[float, str, "Principal", str, "str | None", "str | None", "dict[str, Any] | None", int, float]


def _iso_ms(epoch: float, _cache: dict[int, str] = {}) -> str:  # noqa: B006 - a deliberate per-second memo
    whole, frac = divmod(int(epoch * 1000), 1000)
    prefix = _cache.get(whole)
    if prefix is None:
        if len(_cache) > 64:
            _cache.clear()
        prefix = _cache[whole] = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole))
    return f"{prefix}.{frac:03d}Z"


def format_entry(entry: _Entry) -> dict[str, Any]:
    """The JSON record of one buffered call (the audit log's line format)."""
    epoch, request_id, principal, source_ip, service, operation, authz, status, elapsed = entry
    authz = authz or {}
    decision = authz.get("decision")
    if decision is None:
        decision = "allow" if principal.is_root or status < 400 else "unknown"
    return {
        "time": _iso_ms(epoch),
        "request_id": request_id,
        "access_key_id": principal.access_key_id,
        "user": principal.user_name,
        "principal_arn": principal.arn,
        "source_ip": source_ip,
        "service": service,
        "operation": operation,
        "action": authz.get("action"),
        "resource": authz.get("resource"),
        "decision": decision,
        "throttled": bool(authz.get("throttled")),
        "status": status,
        # round(x, 3) goes through a correctly rounded decimal conversion (~1 µs); this is exact enough.
        "latency_ms": int(elapsed * 1_000_000 + 0.5) / 1000,
    }


_EMPTY: dict[str, Any] = {}


class _LineWriter:
    """Serializes buffered calls to JSON lines, field for field equal to ``format_entry``'s.

    Calls under load mostly repeat the same caller, operation, decision and status:
    the JSON of those fields is cached (bounded), so a line costs a key tuple, a
    dict lookup and one string format instead of a 14-key dict and orjson."""

    def __init__(self) -> None:
        self._middle: dict[tuple[Any, ...], str] = {}
        # A batch holds ~15 calls per millisecond: the time text of the last one is reused.
        self._ms = -1
        self._iso = ""

    def line(self, entry: _Entry) -> str:
        epoch, request_id, principal, source_ip, service, operation, authz, status, elapsed = entry
        if authz is None:
            authz = _EMPTY
        key = (principal.access_key_id, principal.user_name, principal.arn, principal.is_root, source_ip, service, operation, status, authz.get("action"), authz.get("resource"), authz.get("decision"), authz.get("throttled"))
        try:
            middle = self._middle.get(key)
        except TypeError:  # an unhashable value (a list of resources): no cache for this one
            return orjson.dumps(format_entry(entry)).decode()
        if middle is None:
            full = format_entry(entry)
            del full["time"], full["request_id"], full["latency_ms"]
            middle = orjson.dumps(full).decode()[1:-1]
            if len(self._middle) >= 4096:
                self._middle.clear()
            self._middle[key] = middle
        latency = int(elapsed * 1_000_000 + 0.5) / 1000
        ms = int(epoch * 1000)
        if ms != self._ms:
            self._ms, self._iso = ms, _iso_ms(epoch)
        return f'{{"time":"{self._iso}","request_id":{orjson.dumps(request_id).decode()},{middle},"latency_ms":{latency!r}}}'


class AuditLog:
    def __init__(self, path: Path, runtime: Any = None, rotation: Rotation | None = None) -> None:
        self.path = Path(path)
        self.runtime = runtime
        settings = getattr(runtime, "settings", None)
        if rotation is None and settings is not None:
            rotation = Rotation.from_settings(settings)
        self.rotation = rotation  # size-capped rotation; None: the file grows unbounded
        self._stream = f"{os.getpid()}-{int(time.time())}"
        self._written = 0
        self._writer = _LineWriter()

    def consume(self, records: list[Any]) -> None:
        """A batch of answered requests from the recorder: (ctx, response, seconds, epoch)."""
        entries: list[_Entry] = []
        add = entries.append
        for ctx, response, elapsed, epoch in records:
            principal = ctx.principal
            if principal is None:
                continue  # unauthenticated: the access log has it
            operation = ctx.operation
            add((epoch, ctx.request_id, principal, ctx.request.client_ip, ctx.service_name, operation.name if operation is not None else None, ctx.telemetry.get("authz"), response.status, elapsed))
        if entries:  # the recorder hands over one batch at a time
            self._written += len(entries)
            self._write(entries)

    @property
    def records(self) -> int:
        """Calls written since start."""
        return self._written

    def _write(self, entries: list[_Entry]) -> None:
        line = self._writer.line
        lines = [line(e) for e in entries]
        try:
            append_file(self.path, ("\n".join(lines) + "\n").encode(), 0o600, self.rotation)
        except OSError:
            log.exception("cannot write the audit log")
        self._to_cloudwatch(entries, lines)

    def _to_cloudwatch(self, entries: list[_Entry], lines: list[str]) -> None:
        """Forward the batch to CloudWatch Logs through the monitoring service's log store, if
        running; each line with its call's time. Batch by batch (the recorder's, 20 ms): the
        insert runs on the event loop, and holding a second's worth of lines for one insert
        stalled it far longer under load (bench/RESULTS.md, gateway sixth round)."""
        if self.runtime is None or not getattr(getattr(self.runtime, "settings", None), "audit_to_logs", True):
            return  # the setting audit_to_logs (EMULATOR_AUDIT_TO_LOGS): the file only
        components = self.runtime.components
        logs = components.get("logs")
        if logs is None:
            # A cluster gateway: the monitoring role has the log store; the batch is shipped to
            # it with the gateway's telemetry (emulator/cluster/role.py TelemetrySink, off the
            # request path, best effort: kept in a bounded backlog while the role is down).
            logs = components.get("cluster_logs")
            if logs is None:
                return
        try:
            # put_many creates the group and stream on first use.
            logs.put_many(AUDIT_GROUP, self._stream, [(int(e[0] * 1000), text) for e, text in zip(entries, lines)])
        except Exception:  # the audit file has it; CloudWatch is best effort
            log.debug("audit forwarding to CloudWatch Logs failed", exc_info=True)

    def health(self) -> dict[str, Any]:
        return {"records": self.records, "path": str(self.path)}
