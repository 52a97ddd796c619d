"""The entry point of a server that ``EmulatorServer`` starts: ``emulator serve`` that dies
with the process that started it (``python -m emulator.testing.child serve ...``).

A killed pytest (SIGTERM, SIGKILL, pytest-timeout's thread method, a CI cancel) runs no
fixture teardown, and the server, in a session of its own so that Ctrl-C reaches pytest
alone, would outlive it with its port and temporary directories. So, when
``EMULATOR_PARENT_PID`` names the parent:

- on Linux the kernel sends SIGTERM when the parent dies (``prctl(PR_SET_PDEATHSIG)``), if
  the parent started the server from its main thread (``EMULATOR_PARENT_DEATHSIG``: the
  signal comes when the starting thread ends);
- everywhere, a thread checks every second that the parent is still there, and sends the
  server SIGTERM otherwise (a graceful shutdown, as ``stop()`` does);
- a server left by its parent removes the directories named in ``EMULATOR_ORPHAN_CLEANUP``
  (``os.pathsep``-separated: the temporary data dir, the plugin's models dir) as it exits.
  A server stopped by its parent leaves them to the parent, which may start it again.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import sys
import threading
import time
from types import FrameType

PARENT_ENV = "EMULATOR_PARENT_PID"
CLEANUP_ENV = "EMULATOR_ORPHAN_CLEANUP"
DEATHSIG_ENV = "EMULATOR_PARENT_DEATHSIG"
_PR_SET_PDEATHSIG = 1
_GRACE = 30.0  # seconds a graceful shutdown may take before the watcher ends the process


def _orphaned(parent: int) -> bool:
    return os.getppid() != parent


def _cleanup() -> None:
    for directory in filter(None, os.environ.get(CLEANUP_ENV, "").split(os.pathsep)):
        shutil.rmtree(directory, ignore_errors=True)


def _set_pdeathsig() -> None:
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
    except (OSError, AttributeError):  # pragma: no cover - the watcher still covers it
        pass


def _watch(parent: int) -> None:
    while not _orphaned(parent):
        time.sleep(1.0)
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(_GRACE)
    _cleanup()  # the graceful shutdown hangs: end it
    os._exit(1)


def _terminate(signum: int, frame: FrameType | None) -> None:
    # SIGTERM before uvicorn installs its handlers (or re-raised by uvicorn after its shutdown).
    sys.exit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    parent = int(os.environ.get(PARENT_ENV) or 0)
    if parent:
        signal.signal(signal.SIGTERM, _terminate)
        if os.environ.get(DEATHSIG_ENV):
            _set_pdeathsig()
        threading.Thread(target=_watch, args=(parent,), name="emulator-parent-watch", daemon=True).start()
    try:
        from emulator.cli import main as cli_main

        return cli_main(sys.argv[1:] if argv is None else argv)
    finally:
        if parent and _orphaned(parent):
            _cleanup()


if __name__ == "__main__":
    sys.exit(main())
