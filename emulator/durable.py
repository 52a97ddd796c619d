"""Small files written whole and durably: the JSON documents of the stores that keep few,
rarely changed records (inference profiles, guardrails, batch jobs, OpenAI files and batches).

``write_bytes`` replaces a file through a temporary one beside it, fsynced before the rename
and the directory fsynced after it: a reader sees the old file or the new one, never half of
one, and an answered write survives ``kill -9`` and a power cut. ``read_json`` gives the
document, or ``default`` when there is none (or it cannot be read: logged)."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
from pathlib import Path
from typing import Any

log = logging.getLogger("emulator")


def write_bytes(path: Path, data: bytes, mode: int = 0o600) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # One temporary name per process and thread: two writers never share one.
    tmp = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:  # the disk full, read-only...: no temporary file left behind; the old file stays
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise
    with contextlib.suppress(OSError):  # the rename itself, where the filesystem allows a directory fsync
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def write_json(path: Path, document: Any) -> None:
    write_bytes(path, json.dumps(document).encode("utf-8"))


def read_json(path: Path, default: Any, what: str = "it") -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return default
    except (OSError, ValueError):
        log.exception("cannot read %s; starting without %s", path, what)
        return default


class RecordFile:
    """A list of JSON records (dicts) kept in one file under ``key``: read on first use,
    written whole (``write_json``) on each change."""

    def __init__(self, path: Path, key: str) -> None:
        self.path = path
        self.key = key
        self._items: list[dict[str, Any]] | None = None

    def items(self) -> list[dict[str, Any]]:
        if self._items is None:
            self._items = list(read_json(self.path, {}, self.key).get(self.key, []))
        return self._items

    def save(self, items: list[dict[str, Any]] | None = None) -> None:
        """Write ``items`` (the records as they are now). When the write fails (raised), the
        records in memory are dropped and read again from the file on next use: a change
        made in place before the save (a record's tags) is not kept either."""
        items = self.items() if items is None else items
        try:
            write_json(self.path, {self.key: items})
        except BaseException:
            self._items = None
            raise
        self._items = items

    def clear(self) -> None:
        self._items = []
        self.path.unlink(missing_ok=True)
