"""PostgresStorage on its own: two storage objects on one schema stand for two processes."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from emulator.dynamodb.storage.base import TableCache, TableRow
from emulator.dynamodb.storage.postgres import (
    PostgresStorage,
    item_lock_key,
    parse_spec,
)
from emulator.errors import AwsError

from .pg import with_schema

R = "us-east-1"  # the region of the tables made here
OTHER = "eu-west-1"


@pytest.fixture
def pair(pg_url: str) -> Iterator[tuple[PostgresStorage, PostgresStorage]]:
    url = with_schema(pg_url, "pair")
    a, b = PostgresStorage(url), PostgresStorage(url)
    a.open()
    b.open()
    try:
        yield a, b
    finally:
        a.close()
        b.close()


def test_parse_spec_keeps_libpq_options_and_takes_ours() -> None:
    conninfo, opts = parse_spec("postgresql://u@h:5433/db?sslmode=disable&pool_max=4&schema=s1&listen=0&lock_timeout=2s")
    assert conninfo == "postgresql://u@h:5433/db?sslmode=disable"
    assert opts == {"pool_max": "4", "schema": "s1", "listen": "0", "lock_timeout": "2s"}
    st = PostgresStorage("postgresql://u@h/db?pool_min=2&pool_max=1")
    assert (st.pool_min, st.pool_max, st.listen) == (2, 2, True)


def test_item_lock_keys_are_64_bit_and_distinct() -> None:
    keys = {item_lock_key(t, i, pk, sk) for t in (1, 2) for i in (0, 1) for pk in (b"a", b"ab") for sk in (b"", b"b")}
    assert len(keys) == 16
    assert all(-(2**63) <= k < 2**63 for k in keys)
    assert item_lock_key(1, 0, b"a", b"b") != item_lock_key(1, 0, b"ab", b"")  # pk/sk boundary counts


def test_catalog_changes_reach_the_other_process(pair: tuple[PostgresStorage, PostgresStorage]) -> None:
    a, b = pair
    cache: TableCache[TableRow] = TableCache(b, lambda row: row)
    assert (R, "t") not in cache
    tid = a.create_table(R, "t", {"v": 1})
    assert cache[(R, "t")].table_id == tid  # a miss asks the database
    assert (OTHER, "t") not in cache  # tables are regional
    other = a.create_table(OTHER, "t", {"v": 9})
    assert cache[(OTHER, "t")].table_id == other != tid
    before = b.catalog_version()
    a.update_table(tid, {"v": 2})
    deadline = time.monotonic() + 5
    while b.catalog_version() == before:  # heard through LISTEN, no query
        assert time.monotonic() < deadline, "no NOTIFY reached the other storage"
        time.sleep(0.01)
    assert cache.get((R, "t")).meta == {"v": 2}
    assert cache.get((OTHER, "t")).meta == {"v": 9}
    a.delete_table(tid)
    deadline = time.monotonic() + 5
    while (R, "t") in list(cache):
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert cache.get((R, "t")) is None
    assert cache.names(OTHER) == ["t"] and cache.names(R) == []


def test_a_write_waits_for_the_other_processes_lock_then_sees_its_commit(pair: tuple[PostgresStorage, PostgresStorage]) -> None:
    a, b = pair
    tid = a.create_table(R, "t", {})
    a.put(tid, 0, b"k", b"", b"0", 1)
    locked, release = threading.Event(), threading.Event()
    seen: list[bytes | None] = []

    def holder() -> None:
        with a.transaction():
            assert a.get(tid, 0, b"k", b"") == b"0"
            locked.set()
            release.wait(5)
            a.put(tid, 0, b"k", b"", b"1", 1)

    t = threading.Thread(target=holder)
    t.start()
    assert locked.wait(5)

    def reader() -> None:
        with b.transaction():
            seen.append(b.get(tid, 0, b"k", b""))

    r = threading.Thread(target=reader)
    r.start()
    r.join(0.3)
    assert r.is_alive(), "the second transaction read the item while the first held it"
    assert b.get(tid, 0, b"k", b"") == b"0"  # plain reads never wait
    release.set()
    t.join(5)
    r.join(5)
    assert seen == [b"1"]


def test_absent_keys_are_locked_too(pair: tuple[PostgresStorage, PostgresStorage]) -> None:
    a, b = pair
    tid = a.create_table(R, "t", {})
    inside = threading.Event()
    order: list[str] = []

    def first() -> None:
        with a.transaction():
            assert a.get(tid, 0, b"new", b"") is None
            inside.set()
            time.sleep(0.2)
            a.put(tid, 0, b"new", b"", b"a", 1)
            order.append("a")

    t = threading.Thread(target=first)
    t.start()
    assert inside.wait(5)
    with b.transaction():
        got = b.get(tid, 0, b"new", b"")
        order.append("b")
    t.join(5)
    assert got == b"a" and order == ["a", "b"]


def test_writes_to_a_table_deleted_elsewhere_are_refused(pair: tuple[PostgresStorage, PostgresStorage]) -> None:
    a, b = pair
    tid = a.create_table(R, "t", {})
    a.delete_table(tid)
    with pytest.raises(AwsError) as exc, b.transaction():
        b.get(tid, 0, b"k", b"")
    assert exc.value.code == "ResourceNotFoundException"
    assert b.count(tid, 0) == (0, 0)


def test_lock_order_deadlock_is_a_transaction_conflict(pair: tuple[PostgresStorage, PostgresStorage]) -> None:
    a, b = pair
    tid = a.create_table(R, "t", {})
    both = threading.Barrier(2, timeout=5)
    errors: list[str] = []

    def run(st: PostgresStorage, first: bytes, second: bytes) -> None:
        try:
            with st.transaction():
                st.get(tid, 0, first, b"")
                both.wait()
                st.get(tid, 0, second, b"")
                st.put(tid, 0, second, b"", first, 1)
        except AwsError as err:
            errors.append(err.code)

    threads = [threading.Thread(target=run, args=(a, b"x", b"y")), threading.Thread(target=run, args=(b, b"y", b"x"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == ["TransactionConflictException"]  # PostgreSQL picked one victim
    assert len([r for r in a.scan(tid, 0)]) == 1  # the other committed


def test_stream_sequence_follows_commit_order(pair: tuple[PostgresStorage, PostgresStorage]) -> None:
    a, b = pair
    inside = threading.Event()
    seqs: dict[str, int] = {}

    def slow() -> None:
        with a.transaction():
            seqs["a"] = a.stream_append("s", 1.0, b"a")
            inside.set()
            time.sleep(0.2)

    t = threading.Thread(target=slow)
    t.start()
    assert inside.wait(5)
    seqs["b"] = b.stream_append("s", 2.0, b"b")  # waits for a's commit
    t.join(5)
    assert seqs["a"] < seqs["b"]
    assert [d for _, _, d in b.stream_read("s", 0, 10)] == [b"a", b"b"]
    assert b.stream_bounds("s") == (seqs["a"], seqs["b"])


def test_group_commits_are_made_durable_by_one_barrier(pair: tuple[PostgresStorage, PostgresStorage]) -> None:
    a, b = pair
    tid = a.create_table(R, "t", {})

    def barriers() -> int:
        row = b._fetch("SELECT n FROM ddb_flush WHERE id = %s", (a._token,), one=True)
        return 0 if row is None else int(row[0])

    a.begin_group()
    for i in range(3):
        with a.transaction():
            a.put(tid, 0, bytes([i]), b"", b"v", 1)
    assert b.count(tid, 0) == (3, 3)  # committed (locks released) before the barrier
    assert a.group_open and barriers() == 0
    a.commit_group(sync=False)
    assert not a.group_open and barriers() == 0
    a.sync_wal()
    assert barriers() == 1  # one flush for the three commits
    a.sync_wal()
    assert barriers() == 1  # nothing new: no barrier
    a.begin_group()
    with a.transaction():
        a.put(tid, 0, b"x", b"", b"v", 1)
    a.commit_group()  # sync=True: the barrier at once
    assert barriers() == 2
