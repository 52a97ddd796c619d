"""What the server leaves of its upload spools (emulator/gateway/s3_stream.py, post_stream.py):
files open under ``<data_dir>/tmp`` (unlinked ones included, seen through /proc) and files left
in that directory. Shared by the large-upload tests."""

from __future__ import annotations

import os
import time
from pathlib import Path

from emulator.testing.server import EmulatorServer


def spool_handles(server: EmulatorServer) -> list[str]:
    """The server's open files in its upload spool directory (unlinked ones included)."""
    assert server.proc is not None
    spool = str(server.data_dir / "tmp")
    out = []
    for fd in Path(f"/proc/{server.proc.pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith(spool):
            out.append(target)
    return out


def no_spool_left(server: EmulatorServer, wait: float = 10.0) -> bool:
    """No spool file open in the server and none left in its directory, within ``wait`` seconds
    (an answer may be sent a moment before its spool is closed)."""
    deadline = time.time() + wait
    directory = server.data_dir / "tmp"
    while True:
        if not spool_handles(server) and (not directory.exists() or not any(directory.iterdir())):
            return True
        if time.time() >= deadline:
            return False
        time.sleep(0.1)
