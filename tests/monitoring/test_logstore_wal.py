"""CloudWatch Logs storage under steady writes: the WAL is checkpointed off the writers'
path and still starts over, so it stays bounded while the writes never pause."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from emulator.monitoring.logstore import LogStore


def test_wal_stays_bounded_under_steady_writes(tmp_path: Path) -> None:
    store = LogStore(tmp_path / "logs.db", "us-east-1", "000000000000")
    line = "x" * 400
    written = 0
    stop = threading.Event()

    def writer() -> None:
        nonlocal written
        while not stop.is_set():
            store.put_many("/emulator/audit", "s1", [(int(time.time() * 1000), line)] * 256)
            written += 256 * len(line)
            time.sleep(0.002)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        sizes = []
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline:
            time.sleep(0.2)
            store.checkpoint()  # the monitoring thread's job, every second in a server
            sizes.append((tmp_path / "logs.db-wal").stat().st_size)
    finally:
        stop.set()
        thread.join()
    events = store.db.execute("SELECT COUNT(*) FROM event").fetchone()[0]
    store.close()
    assert events * len(line) == written  # every line stored
    # Without restarts the WAL held every byte written (it grew ~8 MB a second in a server);
    # restarted, it holds a few checkpoint intervals' worth at most.
    assert written > 4 * 1024 * 1024
    assert max(sizes) < written / 3, (max(sizes), written)
