"""The access log: one JSON line per request, written off the request path."""

from __future__ import annotations

import fcntl
import itertools
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

if TYPE_CHECKING:
    from emulator.settings import Settings

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

    def __init__(self, path: Path, rotation: Rotation | None = None) -> None:
        self.path = path
        self.rotation = rotation  # size-capped rotation (settings log_max_bytes, log_backups)
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
        append_file(self.path, "".join(lines).encode(), 0o644, self.rotation)


@dataclass(frozen=True, slots=True)
class Rotation:
    """Size-capped rotation of an append-only log, as logrotate's ``size`` and Python's
    RotatingFileHandler do it: when a write would take the file past ``max_bytes``,
    ``X.(n-1)`` becomes ``X.n`` ... ``X`` becomes ``X.1`` (the oldest beyond ``backups``
    is dropped) and the write starts a new ``X``. ``max_bytes`` 0 never rotates;
    ``backups`` 0 keeps no old file (the full one is dropped)."""

    max_bytes: int
    backups: int

    def __post_init__(self) -> None:
        if self.max_bytes < 0 or self.backups < 0:
            raise ValueError(f"log rotation limits must be >= 0 (max_bytes={self.max_bytes}, backups={self.backups})")

    @classmethod
    def from_settings(cls, settings: Settings) -> Rotation:
        return cls(settings.log_max_bytes, settings.log_backups)


_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_APPEND


def _open(path: Path, mode: int) -> int:
    try:
        return os.open(path, _FLAGS, mode)
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        return os.open(path, _FLAGS, mode)


def append_file(path: Path, data: bytes, mode: int, rotation: Rotation | None = None) -> None:
    """Append ``data`` to ``path``, created with ``mode`` (and its folder) when missing;
    rotated first (``rotation``) when ``data`` would take it past the size limit.

    The folder is made only when the open fails: a mkdir per batch cost more than the write.
    The size check is one fstat of the descriptor already open; ``data`` is written whole
    to one file (a batch larger than the limit fills a fresh file on its own)."""
    fd = _open(path, mode)
    if rotation is not None and rotation.max_bytes and data:
        fd = _room(path, fd, len(data), mode, rotation)
    try:
        view = memoryview(data)
        while view:  # O_APPEND: each write lands at the end, whoever else appends
            view = view[os.write(fd, view):]
    finally:
        os.close(fd)


def _room(path: Path, fd: int, length: int, mode: int, rotation: Rotation) -> int:
    """A descriptor of ``path`` with room for ``length`` more bytes (an empty file has room for
    any): ``fd`` itself, or, past the limit, the new file after a rotation (``fd`` is closed).

    Several processes may append to one file (two servers with one data dir, replicas of a
    role on one volume). A rotation holds an exclusive flock on the file it renames, and
    rotates only if ``path`` still names that file and it is still too full: a process that
    waited on the lock finds the file rotated already and writes to the new one. A process
    that opened the file just before a rotation writes its batch to ``X.1``: lines move
    to the backups whole, none is lost (but for the oldest backup, dropped by design).
    Writers that check one file at the same moment may each add their batch: across processes
    the limit can be passed by a batch per other writer (an exact cap would need a lock per
    write, a syscall per batch more)."""
    for _ in range(8):  # another round only when other processes filled the new file meanwhile
        try:
            held = os.fstat(fd)
        except OSError:
            os.close(fd)
            raise
        if not held.st_size or held.st_size + length <= rotation.max_bytes:
            return fd
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                current: os.stat_result | None = os.stat(path)
            except FileNotFoundError:
                current = None
            # Still the file we opened (else another process rotated it: write to the new one),
            # and still full (fstat again: it may have been written to while we waited)?
            same = current is not None and (current.st_ino, current.st_dev) == (held.st_ino, held.st_dev)
            if same and os.fstat(fd).st_size + length > rotation.max_bytes:
                _shift(path, rotation.backups)
        finally:
            os.close(fd)  # releases the lock
        fd = _open(path, mode)
    return fd


def _shift(path: Path, backups: int) -> None:
    """``X.(n-1)`` -> ``X.n`` ... ``X`` -> ``X.1``; the rename onto ``X.<backups>`` drops the oldest."""
    if backups == 0:
        os.unlink(path)
        return
    name = str(path)
    for n in range(backups - 1, 0, -1):
        try:
            os.replace(f"{name}.{n}", f"{name}.{n + 1}")
        except FileNotFoundError:
            pass
    os.replace(name, f"{name}.1")
