"""A disk that fails under moto's snapshots (emulator/gateway/fallback_state.py): full, read-only,
an I/O error. A write whose snapshot could not be written is refused (NotSaved, answered 503),
never acknowledged; the last snapshot written stays where it is (not set aside as for a state
that cannot be pickled), so a restart loses nothing that was acknowledged; the failure shows
in ``failures()`` (/_emulator/health) until a snapshot is written again, which saves what moto
holds. Each case runs in a process of its own (moto's backends are process-wide); the failing
disk is simulated by making PackageStore.commit (or S3's body files) raise, as tests run as root
(chmod stops nothing)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

_SCRIPT = """
import asyncio, errno, json, logging, os, sqlite3, sys, time
os.environ["MOTO_ACCOUNT_ID"] = "000000000000"
from pathlib import Path
logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
from moto.sqs.models import sqs_backends
from moto.s3.models import s3_backends
from emulator.gateway import fallback_store, fallback_blobs
from emulator.gateway.fallback_state import FallbackState, NotSaved

directory, mode, step = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
state = FallbackState(directory)
state.start()
sqs = sqs_backends["000000000000"]["us-east-1"]
s3 = s3_backends["000000000000"]["aws"]
out = {}

def write(package, change):
    change()
    async def wait():
        await state.wait(state.mark([package]))
    try:
        asyncio.run(wait())
        return "acknowledged"
    except NotSaved as exc:
        return f"refused: {exc.package}: {exc.reason}"

if step == "write":
    out["first"] = write("sqs", lambda: sqs.create_queue("kept"))
    out["bucket"] = write("s3", lambda: (s3.create_bucket("bucket-b", "us-east-1"), s3.put_object("bucket-b", "kept", b"1")))
    real_commit, real_save = fallback_store.PackageStore.commit, fallback_blobs.Blobs.save
    if mode == "enospc":
        def broken(self, *args, **kwargs):
            raise OSError(errno.ENOSPC, "No space left on device")
        fallback_store.PackageStore.commit = broken
    elif mode == "sqlite-full":
        def broken(self, *args, **kwargs):
            raise sqlite3.OperationalError("database or disk is full")
        fallback_store.PackageStore.commit = broken
    elif mode == "readonly":
        def broken(self, *args, **kwargs):
            raise sqlite3.OperationalError("attempt to write a readonly database")
        fallback_store.PackageStore.commit = broken
    def blob_broken(self, key):  # S3's bodies are written while the snapshot is pickled
        raise OSError(errno.ENOSPC, "No space left on device", str(self.directory / "x.tmp"))
    fallback_blobs.Blobs.save = blob_broken
    out["failed"] = write("sqs", lambda: sqs.create_queue("refused"))
    out["again"] = write("sqs", lambda: sqs.create_queue("refused-too"))
    out["s3"] = write("s3", lambda: s3.put_object("bucket-b", "refused", b"2"))
    out["failures"] = state.failures()
    out["files"] = sorted(p.name for p in directory.iterdir())
    if sys.argv[4] == "recover":
        fallback_store.PackageStore.commit, fallback_blobs.Blobs.save = real_commit, real_save
        state.retry_failed()  # what the housekeeping does every few seconds
        deadline = time.monotonic() + 30
        while state.failures() and time.monotonic() < deadline:
            time.sleep(0.05)
        out["recovered"] = state.failures()
        out["after"] = write("sqs", lambda: sqs.create_queue("after"))
        state.stop()
    else:
        os._exit(0)  # a crash: nothing more written
else:
    out["queues"] = sorted(q.name for q in sqs.queues.values())
    out["keys"] = sorted(s3.buckets["bucket-b"].keys.keys()) if "bucket-b" in s3.buckets else None
    state.stop()
print(json.dumps(out))
"""


def _run(directory: Path, mode: str, step: str, then: str = "crash") -> dict:
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(_SCRIPT), str(directory), mode, step, then],
                          check=False, timeout=180, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.strip().splitlines()
    return {"log": done.stderr, **(json.loads(lines[-1]) if lines else {})}


@pytest.mark.parametrize("mode", ["enospc", "sqlite-full", "readonly"])
def test_a_failing_disk_refuses_writes_and_keeps_the_last_snapshot(tmp_path: Path, mode: str) -> None:
    directory = tmp_path / "fallback"
    written = _run(directory, mode, "write", "recover")
    assert written["first"] == "acknowledged"
    assert written["bucket"] == "acknowledged"
    for name in ("failed", "again"):
        assert written[name].startswith("refused: sqs: "), written
    assert written["s3"].startswith("refused: s3: ") and "No space left on device" in written["s3"], written
    assert set(written["failures"]) == {"sqs", "s3"}
    assert not [name for name in written["files"] if "stale" in name], written["files"]  # never set aside
    assert "sqs.db" in written["files"] and "s3.db" in written["files"]
    assert "cannot be saved" in written["log"] and "ERROR" in written["log"]
    # The disk is back: the housekeeping's retry writes what moto holds; the health is ok again.
    assert written["recovered"] == {}
    assert written["after"] == "acknowledged"
    loaded = _run(directory, mode, "read")
    # The refused queues were in moto's memory when the disk came back: saved then (as a
    # database whose commit failed may still hold the write); the acknowledged ones always.
    assert {"kept", "after"} <= set(loaded["queues"])
    assert "kept" in loaded["keys"]


def test_a_crash_while_the_disk_fails_keeps_what_was_acknowledged(tmp_path: Path) -> None:
    """The QA case: disk full, then a restart. Before, the snapshots were set aside (.stale-*)
    and S3 and SQS started empty; now the last good snapshot is loaded."""
    directory = tmp_path / "fallback"
    _run(directory, "enospc", "write", "crash")
    loaded = _run(directory, "enospc", "read")
    assert loaded["queues"] == ["kept"]
    assert loaded["keys"] == ["kept"]
    assert "set aside" not in loaded["log"]
