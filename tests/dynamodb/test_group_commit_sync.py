"""Durable group commit (engine + SQLite storage).

The engine COMMITs a group on the loop and fdatasyncs the WAL: on the loop when fsyncs
measure fast, else on its own thread; no answer (write or read) may be released before
an fsync that started after it. The thread-path tests hold the fsync on an Event to
observe exactly that ordering.
"""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from emulator.dynamodb.engine import DynamoDBEngine
from emulator.dynamodb.storage.sqlite import SqliteStorage

R = "us-east-1"  # the region of the tables made here

TABLE = {
    "TableName": "tbl",
    "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
    "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
    "BillingMode": "PAY_PER_REQUEST",
}


class GatedSync:
    """Replaces SqliteStorage.sync_wal: counts calls, and blocks each until released."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.calls = 0
        self.entered = threading.Semaphore(0)
        self.gate = threading.Semaphore(0)

    def __call__(self) -> None:
        self.calls += 1
        self.entered.release()
        assert self.gate.acquire(timeout=10), "test never released the fsync"
        self.real()


def make_engine(tmp_path: Path, synchronous: str = "FULL", thread: bool = False) -> DynamoDBEngine:
    """``thread``: every fsync on the engine's thread, as on a slow disk."""
    engine = DynamoDBEngine(SqliteStorage(tmp_path / "db.sqlite3", synchronous))
    if thread:
        engine.inline_sync_seconds = 0.0
    engine.open()
    engine.create_table(dict(TABLE))
    return engine


async def write(engine: DynamoDBEngine, pk: str) -> None:
    engine.begin_group()
    engine.put_item({"TableName": "tbl", "Item": {"pk": {"S": pk}}})
    await engine.durable()


async def read(engine: DynamoDBEngine, pk: str) -> dict[str, Any]:
    out = engine.get_item({"TableName": "tbl", "Key": {"pk": {"S": pk}}})
    await engine.durable()
    return out


async def wait_thread(sem: threading.Semaphore) -> None:
    assert await asyncio.to_thread(sem.acquire, True, 10)


def test_full_means_normal_plus_own_wal_sync(tmp_path: Path) -> None:
    st = SqliteStorage(tmp_path / "a.sqlite3", "FULL")
    st.open()
    try:
        assert st.own_sync
        assert st.conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL: commits do not fsync ...
        calls: list[int] = []
        real = st.sync_wal

        def counted() -> None:
            calls.append(1)
            real()

        st.sync_wal = counted  # type: ignore[method-assign]
        tid = st.create_table(R, "x", {})  # ... so a transaction outside a group syncs itself
        assert calls == [1]
        st.begin_group()
        st.put(tid, 0, b"a", b"", b"1", 1)
        st.commit_group(sync=False)
        assert calls == [1]
        st.begin_group()
        st.put(tid, 0, b"b", b"", b"2", 1)
        st.commit_group()  # the default syncs
        assert calls == [1, 1]
        st.sync_wal()
    finally:
        st.close()
    normal = SqliteStorage(tmp_path / "b.sqlite3", "NORMAL")
    normal.open()
    try:
        assert not normal.own_sync
        normal.sync_wal()  # a no-op
    finally:
        normal.close()


def test_writes_are_acknowledged_only_after_their_fsync(tmp_path: Path) -> None:
    engine = make_engine(tmp_path, thread=True)
    gate = GatedSync(engine.storage.sync_wal)
    engine.storage.sync_wal = gate  # type: ignore[method-assign]

    async def main() -> None:
        first = asyncio.ensure_future(write(engine, "a"))
        await wait_thread(gate.entered)  # the first group's fsync is running
        second = [asyncio.ensure_future(write(engine, f"b{i}")) for i in range(5)]
        await asyncio.sleep(0.05)
        # The loop kept serving: the later writes are committed (visible) but not acknowledged.
        assert engine.get_item({"TableName": "tbl", "Key": {"pk": {"S": "b3"}}})["Item"] == {"pk": {"S": "b3"}}
        assert not engine.storage.group_open
        assert not first.done() and not any(w.done() for w in second)
        gate.gate.release()
        await first
        assert not any(w.done() for w in second)  # their commit came after that fsync started
        await wait_thread(gate.entered)  # one more fsync covers all five
        gate.gate.release()
        await asyncio.gather(*second)
        assert gate.calls == 2

    try:
        asyncio.run(main())
    finally:
        engine.close()


def test_a_read_waits_for_an_fsync_in_flight(tmp_path: Path) -> None:
    engine = make_engine(tmp_path, thread=True)
    gate = GatedSync(engine.storage.sync_wal)
    engine.storage.sync_wal = gate  # type: ignore[method-assign]

    async def main() -> None:
        w = asyncio.ensure_future(write(engine, "a"))
        await wait_thread(gate.entered)
        r = asyncio.ensure_future(read(engine, "a"))  # sees the committed, not yet durable item
        await asyncio.sleep(0.05)
        assert not r.done()
        gate.gate.release()
        await w
        await asyncio.sleep(0.05)
        assert not r.done()  # it needs an fsync that started after it read
        await wait_thread(gate.entered)
        gate.gate.release()
        assert (await r)["Item"] == {"pk": {"S": "a"}}
        # Nothing pending: a read answers at once, without an fsync.
        assert (await read(engine, "a"))["Item"] == {"pk": {"S": "a"}}
        assert gate.calls == 2

    try:
        asyncio.run(main())
    finally:
        engine.close()


@pytest.mark.parametrize("thread", [False, True])
def test_a_failed_fsync_fails_the_requests(tmp_path: Path, thread: bool) -> None:
    engine = make_engine(tmp_path, thread=thread)

    def broken() -> None:
        raise OSError("disk gone")

    engine.storage.sync_wal = broken  # type: ignore[method-assign]

    async def main() -> None:
        with pytest.raises(Exception) as info:
            await write(engine, "a")
        assert getattr(info.value, "code", None) == "InternalServerError"

    try:
        asyncio.run(main())
    finally:
        engine.storage.sync_wal = lambda: None  # type: ignore[method-assign]
        engine.close()


@pytest.mark.parametrize("synchronous", ["FULL", "NORMAL"])
def test_acknowledged_writes_survive_reopen(tmp_path: Path, synchronous: str) -> None:
    engine = make_engine(tmp_path, synchronous)

    async def main() -> None:
        await asyncio.gather(*(write(engine, f"k{i}") for i in range(50)))

    asyncio.run(main())
    engine.close()
    again = DynamoDBEngine(SqliteStorage(tmp_path / "db.sqlite3", synchronous))
    again.open()
    try:
        for i in range(50):
            assert again.get_item({"TableName": "tbl", "Key": {"pk": {"S": f"k{i}"}}})["Item"] == {"pk": {"S": f"k{i}"}}
    finally:
        again.close()


class TimedSync:
    """Replaces SqliteStorage.sync_wal: records the thread of each call and can be slow."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.threads: list[int] = []
        self.delays: list[float] = []  # seconds to sleep in the next calls, in order

    def __call__(self) -> None:
        self.threads.append(threading.get_ident())
        if self.delays:
            time.sleep(self.delays.pop(0))
        self.real()


def test_fast_fsyncs_run_on_the_loop_and_a_slow_one_moves_them_to_the_thread(tmp_path: Path) -> None:
    engine = make_engine(tmp_path)
    # No real fsync: the durations are the test's own. On a loaded machine (the PostgreSQL
    # pass of `make test`, once) a real one took more than the 0.5 ms limit and kept the thread.
    sync = TimedSync(lambda: None)
    engine.storage.sync_wal = sync  # type: ignore[method-assign]
    loop_thread = threading.get_ident()

    async def main() -> None:
        await write(engine, "a")
        assert sync.threads == [loop_thread]  # a fast disk: no hand-off to the thread
        assert engine.health()["durability"]["fsync"] == "event loop"
        assert (await read(engine, "a"))["Item"] == {"pk": {"S": "a"}}
        sync.delays = [0.01]  # a slow spell: 10 ms, 20 times the limit
        await write(engine, "b")
        await write(engine, "c")
        assert sync.threads[1] == loop_thread and sync.threads[2] != loop_thread
        assert engine.health()["durability"]["fsync"] == "worker thread"
        assert engine.health()["durability"]["recent_fsync_ms"] > 1  # the slow one, decaying
        # Fast fsyncs (on the thread, measured there) bring them back to the loop.
        for i in range(40):
            await write(engine, f"k{i}")
        assert sync.threads[-1] == loop_thread
        for pk in ("b", "c", "k39"):
            assert (await read(engine, pk))["Item"] == {"pk": {"S": pk}}

    try:
        asyncio.run(main())
    finally:
        engine.close()


@pytest.mark.parametrize("thread", [False, True])
def test_a_group_waits_one_loop_pass_for_the_writes_scheduled_beside_its_first(tmp_path: Path, thread: bool) -> None:
    engine = make_engine(tmp_path, thread=thread)
    sync = TimedSync(engine.storage.sync_wal)
    engine.storage.sync_wal = sync  # type: ignore[method-assign]

    async def later(pk: str) -> None:
        await asyncio.sleep(0)  # its write comes one loop pass after the first one's
        await write(engine, pk)

    async def main() -> None:
        await asyncio.gather(write(engine, "a"), later("b"))
        assert len(sync.threads) == 1  # one commit, one fsync for both
        await asyncio.gather(write(engine, "c"), later("d"), asyncio.sleep(0.05))
        assert len(sync.threads) == 2
        for pk in "abcd":
            assert (await read(engine, pk))["Item"] == {"pk": {"S": pk}}

    try:
        asyncio.run(main())
    finally:
        engine.close()
