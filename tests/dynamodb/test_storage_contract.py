"""The storage contract every engine must keep, parametrized by engine.

PostgreSQL joins the ``engine`` parametrization when its Storage lands.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from emulator.dynamodb.storage import PolicyRow, Storage, open_storage
from emulator.errors import AwsError

R = "us-east-1"  # the region of the tables made here

ENGINES = ["sqlite", "postgres"]


@pytest.fixture(scope="module")
def postgres_database() -> Iterator[str]:
    """A scratch PostgreSQL database for this module (each test gets a schema in it)."""
    from .postgres.pg import scratch_url

    with scratch_url() as url:
        yield url


@pytest.fixture(params=ENGINES)
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Storage]:
    spec = request.param
    if spec == "postgres":
        from .postgres.pg import with_schema

        spec = with_schema(request.getfixturevalue("postgres_database"))
    st = open_storage(spec, tmp_path)
    st.open()
    try:
        yield st
    finally:
        st.close()


def test_table_metadata_crud(storage: Storage) -> None:
    tid = storage.create_table(R, "b", {"x": 1})
    tid2 = storage.create_table(R, "a", {"x": 2})
    assert tid != tid2
    with pytest.raises(KeyError):
        storage.create_table(R, "a", {})
    assert [(t.name, t.meta) for t in storage.list_tables()] == [("a", {"x": 2}), ("b", {"x": 1})]
    storage.update_table(tid, {"x": 3})
    assert {t.name: t.meta for t in storage.list_tables()}["b"] == {"x": 3}
    storage.put(tid, 0, b"p", b"s", b"data", 4)
    storage.delete_table(tid)
    assert [t.name for t in storage.list_tables()] == ["a"]
    assert storage.get(tid, 0, b"p", b"s") is None


def test_get_put_delete(storage: Storage) -> None:
    tid = storage.create_table(R, "t", {})
    assert storage.get(tid, 0, b"p", b"") is None
    storage.put(tid, 0, b"p", b"", b"one", 3)
    storage.put(tid, 0, b"p", b"", b"two", 3)
    assert storage.get(tid, 0, b"p", b"") == b"two"
    assert storage.get(tid, 1, b"p", b"") is None  # indexes are separate key spaces
    assert storage.delete(tid, 0, b"p", b"") is True
    assert storage.delete(tid, 0, b"p", b"") is False
    assert storage.get(tid, 0, b"p", b"") is None


def test_query_is_ordered_and_bounded(storage: Storage) -> None:
    tid = storage.create_table(R, "t", {})
    for i in range(600):  # more than one internal page
        storage.put(tid, 0, b"p", i.to_bytes(2, "big"), str(i).encode(), 1)
    storage.put(tid, 0, b"q", b"\x00\x05", b"other", 1)
    rows = list(storage.query(tid, 0, b"p"))
    assert [int.from_bytes(r.sk, "big") for r in rows] == list(range(600))
    rows = list(storage.query(tid, 0, b"p", lo=(10).to_bytes(2, "big"), hi=(20).to_bytes(2, "big")))
    assert [int.from_bytes(r.sk, "big") for r in rows] == list(range(10, 20))
    rows = list(storage.query(tid, 0, b"p", hi=(5).to_bytes(2, "big"), forward=False))
    assert [int.from_bytes(r.sk, "big") for r in rows] == [4, 3, 2, 1, 0]
    rows = list(storage.query(tid, 0, b"p", after=(597).to_bytes(2, "big")))
    assert [int.from_bytes(r.sk, "big") for r in rows] == [598, 599]
    rows = list(storage.query(tid, 0, b"p", forward=False, after=(2).to_bytes(2, "big")))
    assert [int.from_bytes(r.sk, "big") for r in rows] == [1, 0]


def test_scan_orders_by_pk_then_sk_and_resumes(storage: Storage) -> None:
    tid = storage.create_table(R, "t", {})
    keys = [(bytes([p]), bytes([s])) for p in (3, 1, 2) for s in (2, 1)]
    for pk, sk in keys:
        storage.put(tid, 0, pk, sk, pk + sk, 2)
    storage.put(tid, 1, b"\x00", b"", b"index row", 1)
    rows = [(r.pk, r.sk) for r in storage.scan(tid, 0)]
    assert rows == sorted(keys)
    rows = [(r.pk, r.sk) for r in storage.scan(tid, 0, after=(b"\x02", b"\x01"))]
    assert rows == sorted(keys)[3:]
    assert storage.count(tid, 0) == (6, 12)
    storage.delete_index(tid, 1)
    assert storage.count(tid, 1) == (0, 0)
    assert storage.partition_size(tid, [0], b"\x01") == 4


def test_transaction_is_atomic(storage: Storage) -> None:
    tid = storage.create_table(R, "t", {})
    with pytest.raises(RuntimeError), storage.transaction():
        storage.put(tid, 0, b"a", b"", b"1", 1)
        with storage.transaction():  # nested joins the outer one
            storage.put(tid, 0, b"b", b"", b"2", 1)
        raise RuntimeError("boom")
    assert storage.get(tid, 0, b"a", b"") is None
    assert storage.get(tid, 0, b"b", b"") is None
    with storage.transaction():
        storage.put(tid, 0, b"a", b"", b"1", 1)
        storage.put(tid, 0, b"b", b"", b"2", 1)
    assert storage.get(tid, 0, b"b", b"") == b"2"


def test_data_survives_reopen(storage: Storage, tmp_path: Path) -> None:
    tid = storage.create_table(R, "t", {"k": "v"})
    storage.put(tid, 0, b"p", b"s", b"payload", 7)
    storage.close()
    storage.open()
    assert storage.get(tid, 0, b"p", b"s") == b"payload"
    assert storage.list_tables()[0].meta == {"k": "v"}


def test_idempotency_tokens(storage: Storage) -> None:
    """ClientRequestTokens: kept with their fingerprint and answer until they expire (wall-
    clock seconds), written in the open transaction, never overwritten while valid."""
    now = 1_700_000_000.0
    assert storage.token_get("t1", now) is None
    assert storage.token_horizon() is None
    tid = storage.create_table(R, "t", {})
    with storage.transaction():
        storage.put(tid, 0, b"p", b"", b"item", 4)
        assert storage.token_put("t1", b"fp1", b'{"a":1}', now + 600, now) is True
    assert storage.token_get("t1", now) == (now + 600, b"fp1", b'{"a":1}')
    assert storage.token_get("t1", now + 599.5) == (now + 600, b"fp1", b'{"a":1}')
    assert storage.token_get("t1", now + 600) is None  # expired: valid while now < expires
    # A valid token is never replaced: the second request learns it came second.
    assert storage.token_put("t1", b"fp2", b"{}", now + 700, now + 100) is False
    assert storage.token_get("t1", now + 100) == (now + 600, b"fp1", b'{"a":1}')
    # An expired one is.
    assert storage.token_put("t1", b"fp2", b"\x80binary", now + 1300, now + 700) is True
    assert storage.token_get("t1", now + 700) == (now + 1300, b"fp2", b"\x80binary")
    # It commits or rolls back with the transaction's writes.
    with pytest.raises(RuntimeError), storage.transaction():
        storage.put(tid, 0, b"q", b"", b"item", 4)
        assert storage.token_put("t2", b"fp", b"{}", now + 600, now) is True
        raise RuntimeError("boom")
    assert storage.token_get("t2", now) is None and storage.get(tid, 0, b"q", b"") is None
    # And survives a reopen (a restart).
    storage.close()
    storage.open()
    assert storage.token_get("t1", now + 700) == (now + 1300, b"fp2", b"\x80binary")
    # Expired tokens go in bounded batches; valid ones stay.
    for i in range(5):
        assert storage.token_put(f"old{i}", b"fp", b"{}", now + i, now - 600)
    assert storage.token_horizon() == now + 1300
    assert storage.token_purge(now + 10, 3) == 3
    assert sum(storage.token_get(f"old{i}", now - 1) is not None for i in range(5)) == 2
    assert storage.token_purge(now + 10, 100) == 2
    assert storage.token_purge(now + 10, 100) == 0
    assert storage.token_get("t1", now + 700) is not None
    assert storage.token_horizon() == now + 1300
    assert storage.token_purge(now + 2000, 100) == 1
    assert storage.token_horizon() is None


def test_group_commit(storage: Storage) -> None:
    tid = storage.create_table(R, "t", {})
    storage.begin_group()
    with storage.transaction():
        storage.put(tid, 0, b"a", b"", b"1", 1)
    with pytest.raises(RuntimeError), storage.transaction():
        storage.put(tid, 0, b"b", b"", b"2", 1)
        raise RuntimeError("only this transaction rolls back")
    with storage.transaction():
        storage.put(tid, 0, b"c", b"", b"3", 1)
    storage.commit_group()
    assert not storage.group_open
    storage.close()
    storage.open()
    assert storage.get(tid, 0, b"a", b"") == b"1"
    assert storage.get(tid, 0, b"b", b"") is None
    assert storage.get(tid, 0, b"c", b"") == b"3"


def test_group_is_committed_before_another_threads_transaction(storage: Storage) -> None:
    import threading

    tid = storage.create_table(R, "t", {})
    storage.begin_group()
    with storage.transaction():
        storage.put(tid, 0, b"loop", b"", b"1", 1)

    def other() -> None:
        with storage.transaction():
            storage.put(tid, 0, b"thread", b"", b"2", 1)

    t = threading.Thread(target=other)
    t.start()
    t.join()
    assert not storage.group_open  # the thread's caller got durability: the group went first
    storage.commit_group()  # nothing left to do
    storage.close()
    storage.open()
    assert storage.get(tid, 0, b"loop", b"") == b"1"
    assert storage.get(tid, 0, b"thread", b"") == b"2"


def test_resource_policies(storage: Storage) -> None:
    """One policy per ARN (a table's or its stream's); replaced in place, rolled back with
    their transaction, kept across a reopen, gone with their table."""
    tid = storage.create_table(R, "t", {})
    other = storage.create_table(R, "u", {})
    arn = "arn:aws:dynamodb:us-east-1:000000000000:table/t"
    stream = arn + "/stream/2024-01-01T00:00:00.000"
    other_arn = "arn:aws:dynamodb:us-east-1:000000000000:table/u"
    assert storage.policy_get(arn) is None
    assert storage.policy_list() == []
    version = storage.catalog_version(fresh=True)
    storage.policy_put(tid, arn, '{"v": 1}', "1")
    if storage.shared:  # other processes' authorizers must notice
        assert storage.catalog_version(fresh=True) > version
    storage.policy_put(tid, stream, '{"s": 1}', "2")
    storage.policy_put(other, other_arn, "{}", "3")
    storage.policy_put(tid, arn, '{"v": 2}', "4")  # replaced
    assert storage.policy_get(arn) == PolicyRow(tid, arn, '{"v": 2}', "4")
    assert storage.policy_list() == [PolicyRow(tid, arn, '{"v": 2}', "4"), PolicyRow(tid, stream, '{"s": 1}', "2"), PolicyRow(other, other_arn, "{}", "3")]
    with pytest.raises(RuntimeError), storage.transaction():
        assert storage.policy_get(arn) is not None  # a read-check-write, as PutResourcePolicy does
        storage.policy_put(tid, arn, '{"v": 3}', "5")
        assert storage.policy_delete(stream) is True
        raise RuntimeError("rolled back")
    assert storage.policy_get(arn) == PolicyRow(tid, arn, '{"v": 2}', "4")
    assert storage.policy_get(stream) is not None
    with pytest.raises(AwsError) as info:
        storage.policy_put(10**6, arn + "x", "{}", "1")  # no such table
    assert info.value.code == "ResourceNotFoundException"
    assert storage.policy_get(arn + "x") is None
    storage.close()
    storage.open()
    assert storage.policy_get(stream) == PolicyRow(tid, stream, '{"s": 1}', "2")
    assert storage.policy_delete(stream) is True
    assert storage.policy_delete(stream) is False
    storage.policy_put(tid, stream, '{"s": 2}', "6")
    storage.delete_table(tid)  # takes its policies along, the table's and its stream's
    assert storage.policy_get(arn) is None
    assert storage.policy_get(stream) is None
    assert [p.arn for p in storage.policy_list()] == [other_arn]


def test_sqlite_query_and_scan_are_primary_key_range_searches(tmp_path: Path) -> None:
    """A Query is a range scan of one partition in key order, never a table scan."""
    from emulator.dynamodb.storage.sqlite import SqliteStorage

    st = SqliteStorage(tmp_path / "plan.sqlite3")
    st.open()
    try:
        statements: list[str] = []
        st.conn.set_trace_callback(statements.append)
        tid = st.create_table(R, "t", {})
        st.put(tid, 0, b"p", b"\x01", b"x", 1)
        list(st.query(tid, 0, b"p", lo=b"\x00", hi=b"\x02", forward=False, after=b"\x03"))
        list(st.scan(tid, 0, after=(b"a", b"b")))
        st.conn.set_trace_callback(None)
        selects = [s for s in statements if s.startswith("SELECT") and "ddb_items" in s]
        assert len(selects) == 2
        for sql in selects:
            # The trace shows bound values inline; plan the statement with its parameters instead.
            plan_sql = "EXPLAIN QUERY PLAN " + sql
            detail = " ".join(str(r[3]) for r in st.conn.execute(plan_sql).fetchall())
            assert "SEARCH ddb_items USING PRIMARY KEY (tid=? AND idx=?" in detail, detail
            assert "SCAN" not in detail
    finally:
        st.close()


def test_reset_forgets_everything_and_reuses_no_id(storage: Storage) -> None:
    from emulator.dynamodb.storage.base import LifecycleStorage

    assert isinstance(storage, LifecycleStorage)
    tid = storage.create_table(R, "t", {"x": 1})
    storage.create_table(R, "u", {})
    storage.put(tid, 0, b"p", b"s", b"item", 4)
    storage.put(tid, 1, b"i", b"s", b"index row", 9)
    storage.meta_put("backup", "arn", {"a": 1})
    seq = storage.stream_append("stream", 1.0, b"record")
    storage.snapshot_table("snap", tid)
    storage.history_append("hist", 1.0, b"p", b"s", b"version")
    storage.policy_put(tid, "arn:aws:dynamodb:us-east-1:000000000000:table/t", "{}", "1")
    assert storage.token_put("tok", b"fp", b"{}", 2e9, 1e9)
    version = storage.catalog_version(fresh=True)
    storage.reset()
    # Twice in a row (both DynamoDB handlers may reset), the second in a group commit.
    storage.begin_group()
    storage.reset()
    storage.commit_group()
    assert storage.list_tables() == []
    assert storage.get(tid, 0, b"p", b"s") is None
    assert storage.count(tid, 0) == (0, 0)
    assert storage.count(tid, 1) == (0, 0)
    assert storage.meta_list("backup") == []
    assert storage.stream_bounds("stream") == (None, None)
    assert list(storage.snapshot_rows("snap")) == []
    assert list(storage.history_rows("hist", 1e12)) == []
    assert storage.policy_list() == []
    assert storage.token_get("tok", 1e9) is None and storage.token_horizon() is None
    if storage.shared:  # other processes' table caches must notice
        assert storage.catalog_version(fresh=True) > version
    # Ids go on: a task still holding an old table id cannot reach a new table.
    assert storage.create_table(R, "t", {}) > tid
    assert storage.stream_append("stream", 2.0, b"record") > seq
    storage.close()
    storage.open()
    assert [t.name for t in storage.list_tables()] == ["t"]
    assert storage.get(tid, 0, b"p", b"s") is None


# ------------------------------------------------------------------ regions
OTHER = "eu-west-1"


def test_a_table_is_unique_per_region_and_name(storage: Storage) -> None:
    east = storage.create_table(R, "t", {"r": "east"})
    west = storage.create_table(OTHER, "t", {"r": "west"})  # the same name in another region: another table
    assert east != west
    with pytest.raises(KeyError):
        storage.create_table(OTHER, "t", {})
    with pytest.raises(KeyError):
        storage.create_table(R, "t", {})
    storage.create_table(OTHER, "a", {})
    # Ordered by (region, name); each row says its region.
    assert [(t.region, t.name, t.meta) for t in storage.list_tables()] == [
        (OTHER, "a", {}), (OTHER, "t", {"r": "west"}), (R, "t", {"r": "east"})]
    storage.put(east, 0, b"p", b"s", b"east item", 9)
    assert storage.get(west, 0, b"p", b"s") is None
    storage.delete_table(east)
    assert [(t.region, t.name) for t in storage.list_tables()] == [(OTHER, "a"), (OTHER, "t")]
    assert storage.create_table(R, "t", {}) > west  # the name is free again in its region only


_OLD_TABLES = [
    (3, "t", {"name": "t", "arn": "arn:aws:dynamodb:eu-west-1:000000000000:table/t"}),
    (5, "u", {"name": "u", "arn": "arn:aws:dynamodb:us-east-1:000000000000:table/u"}),
    (6, "v", {"x": 1}),  # no ARN: the default region
]


def _write_old_layout(spec: str, tmp_path: Path) -> None:
    """A store as the emulator wrote it before tables were regional: ``ddb_tables`` with a
    unique ``name`` and no ``region``; ids up to 9 were handed out."""
    import orjson

    if spec == "sqlite":
        import sqlite3

        conn = sqlite3.connect(tmp_path / "dynamodb.sqlite3")
        conn.executescript(
            "CREATE TABLE ddb_tables (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL UNIQUE, meta BLOB NOT NULL);"
            "CREATE TABLE ddb_items (tid INTEGER NOT NULL, idx INTEGER NOT NULL, pk BLOB NOT NULL, sk BLOB NOT NULL, data BLOB NOT NULL,"
            " size INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (tid, idx, pk, sk)) WITHOUT ROWID;"
        )
        conn.executemany("INSERT INTO ddb_tables (id, name, meta) VALUES (?, ?, ?)", [(i, n, orjson.dumps(m)) for i, n, m in _OLD_TABLES])
        conn.execute("UPDATE sqlite_sequence SET seq = 9 WHERE name = 'ddb_tables'")
        conn.execute("INSERT INTO ddb_items VALUES (3, 0, ?, ?, ?, 4)", (b"p", b"s", b"item"))
        conn.commit()
        conn.close()
        return
    import psycopg
    from psycopg import sql

    from emulator.dynamodb.storage.postgres import parse_spec

    conninfo, opts = parse_spec(spec)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(opts["schema"])))
        conn.execute(sql.SQL("SET search_path TO {}").format(sql.Identifier(opts["schema"])))
        conn.execute(
            "CREATE TABLE ddb_catalog (id integer PRIMARY KEY CHECK (id = 1), version bigint NOT NULL);"
            "INSERT INTO ddb_catalog VALUES (1, 4);"
            'CREATE TABLE ddb_tables (id serial PRIMARY KEY, name text COLLATE "C" NOT NULL UNIQUE, meta bytea NOT NULL);'
            "CREATE TABLE ddb_items (tid integer NOT NULL, idx integer NOT NULL, pk bytea NOT NULL, sk bytea NOT NULL, data bytea NOT NULL,"
            " size integer NOT NULL DEFAULT 0, PRIMARY KEY (tid, idx, pk, sk));"
        )
        for i, n, m in _OLD_TABLES:
            conn.execute("INSERT INTO ddb_tables (id, name, meta) VALUES (%s, %s, %s)", (i, n, orjson.dumps(m)))
        conn.execute("SELECT setval('ddb_tables_id_seq', 9)")
        conn.execute("INSERT INTO ddb_items VALUES (3, 0, %s, %s, %s, 4)", (b"p", b"s", b"item"))


@pytest.mark.parametrize("engine", ENGINES)
def test_a_store_written_before_tables_were_regional_is_migrated_on_open(engine: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    spec = "sqlite"
    if engine == "postgres":
        from .postgres.pg import with_schema

        spec = with_schema(request.getfixturevalue("postgres_database"), "old")
    _write_old_layout(spec, tmp_path)
    st = open_storage(spec, tmp_path)
    st.open()
    try:
        # Each table's region is the one in its stored ARN; ids, metadata and items stay.
        expected = [("eu-west-1", "t", 3), ("us-east-1", "u", 5), ("us-east-1", "v", 6)]
        assert [(t.region, t.name, t.table_id) for t in st.list_tables()] == expected
        assert st.list_tables()[0].meta == _OLD_TABLES[0][2]
        assert st.get(3, 0, b"p", b"s") == b"item"
        if st.shared:
            assert st.catalog_version(fresh=True) > 4  # running processes reload their caches
        # Now unique per (region, name), and ids still never reused.
        with pytest.raises(KeyError):
            st.create_table("eu-west-1", "t", {})
        new = st.create_table("us-east-1", "t", {})
        assert new > 9
        st.close()
        st.open()  # migrated once: opening again changes nothing
        assert [(t.region, t.name, t.table_id) for t in st.list_tables()] == sorted([*expected, ("us-east-1", "t", new)])
        assert st.get(3, 0, b"p", b"s") == b"item"
    finally:
        st.close()
