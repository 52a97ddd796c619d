"""A moto package's snapshot on disk: one SQLite database, ``<data_dir>/fallback/<package>.db``
(emulator/gateway/fallback_state.py).

It holds the package's *skeleton* (its pickled state, leaves as references) and its *leaves*
(emulator/gateway/fallback_leaves.py), one row each. A snapshot is one transaction: the new and
changed leaves upserted, those no longer referenced deleted, the skeleton replaced. WAL journal,
``synchronous=FULL``: a commit is on disk (the WAL fsynced) before it returns, and a ``kill -9``
at any point leaves the last committed snapshot, whole (SQLite's atomic commit), never a mix of
two.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterable, Iterator
from pathlib import Path

SUFFIX = ".db"
FORMAT = 2

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS skeleton (id INTEGER PRIMARY KEY CHECK (id = 0), data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS leaves (id INTEGER PRIMARY KEY, data BLOB NOT NULL, refs TEXT, blobs TEXT);
CREATE TABLE IF NOT EXISTS strings (sid INTEGER NOT NULL, value TEXT NOT NULL, PRIMARY KEY (sid, value)) WITHOUT ROWID;
"""


class StoreError(Exception):
    """Not a snapshot database of this package (another file, another format)."""


def _text(values: Iterable[object]) -> str | None:
    joined = " ".join(str(v) for v in values)
    return joined or None


class PackageStore:
    """The database of one package. Used under FallbackState's snapshot mutex only."""

    def __init__(self, path: Path, package: str) -> None:
        self.path = path
        self.package = package
        created = not path.exists()
        if created:
            for stale in files(path)[1:]:  # a WAL without its database would be replayed into the new one
                with contextlib.suppress(FileNotFoundError):
                    stale.unlink()
        self.conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        try:
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.execute("PRAGMA synchronous=FULL")
            self.conn.executescript(_SCHEMA)
            found = dict(self.conn.execute("SELECT name, value FROM meta").fetchall())
            if not found:
                self.conn.executemany("INSERT INTO meta (name, value) VALUES (?, ?)", [("format", str(FORMAT)), ("package", package)])
            elif found.get("format") != str(FORMAT) or found.get("package") != package:
                raise StoreError(f"not a format-{FORMAT} snapshot of {package} (format {found.get('format')}, package {found.get('package')})")
        except BaseException:
            self.conn.close()
            raise
        if created:
            fsync_dir(path.parent)  # the new file's name is on disk too
        try:
            self.inode = os.stat(path).st_ino  # what the housekeeping checks the path still names
        except OSError:
            self.inode = 0

    def close(self) -> None:
        self.conn.close()  # the last connection: SQLite checkpoints the WAL and deletes it

    # -- reading --

    def skeleton(self) -> bytes | None:
        row = self.conn.execute("SELECT data FROM skeleton WHERE id = 0").fetchone()
        return bytes(row[0]) if row is not None else None

    def leaf(self, lid: int) -> bytes | None:
        row = self.conn.execute("SELECT data FROM leaves WHERE id = ?", (lid,)).fetchone()
        return bytes(row[0]) if row is not None else None

    def leaves(self, lids: list[int]) -> dict[int, bytes]:
        found: dict[int, bytes] = {}
        for start in range(0, len(lids), 500):
            chunk = lids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            found.update((int(lid), bytes(data)) for lid, data in self.conn.execute(f"SELECT id, data FROM leaves WHERE id IN ({marks})", chunk))
        return found

    def meta(self) -> Iterator[tuple[int, tuple[int, ...], tuple[str, ...]]]:
        """Each leaf's references to other leaves and the S3 bodies it names (those with any)."""
        for lid, refs, blobs in self.conn.execute("SELECT id, refs, blobs FROM leaves WHERE refs IS NOT NULL OR blobs IS NOT NULL"):
            yield int(lid), tuple(int(r) for r in refs.split()) if refs else (), tuple(blobs.split()) if blobs else ()

    def strings(self, sid: int) -> list[str | None]:
        return [_decode(row[0]) for row in self.conn.execute("SELECT value FROM strings WHERE sid = ?", (sid,))]

    def ids(self) -> set[int]:
        return {int(row[0]) for row in self.conn.execute("SELECT id FROM leaves")}

    # -- writing --

    def commit(
        self,
        skeleton: bytes,
        upserts: Iterable[tuple[int, bytes, tuple[int, ...], tuple[str, ...]]],
        deleted: Iterable[int],
        everything: bool = False,
        strings: Iterable[tuple[int, set[str | None], set[str | None]]] = (),
        sets_deleted: Iterable[int] = (),
    ) -> None:
        """One snapshot, in one transaction. ``everything``: the upserts (and ``strings``) are
        all there is (the other rows go). ``strings``: per string set, the strings added and
        removed."""
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            if everything:
                conn.execute("DELETE FROM leaves")
                conn.execute("DELETE FROM strings")
            for sid, added, removed in strings:
                conn.executemany("INSERT OR IGNORE INTO strings (sid, value) VALUES (?, ?)", ((sid, _encode(value)) for value in added))
                conn.executemany("DELETE FROM strings WHERE sid = ? AND value = ?", ((sid, _encode(value)) for value in removed))
            conn.executemany("DELETE FROM strings WHERE sid = ?", ((sid,) for sid in sets_deleted))
            conn.executemany(
                "INSERT INTO leaves (id, data, refs, blobs) VALUES (?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET data = excluded.data, refs = excluded.refs, blobs = excluded.blobs",
                ((lid, data, _text(refs), _text(blobs)) for lid, data, refs, blobs in upserts),
            )
            if not everything:
                conn.executemany("DELETE FROM leaves WHERE id = ?", ((lid,) for lid in deleted))
            conn.execute("INSERT INTO skeleton (id, data) VALUES (0, ?) ON CONFLICT (id) DO UPDATE SET data = excluded.data", (skeleton,))
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def delete(self, lids: Iterable[int]) -> None:
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.executemany("DELETE FROM leaves WHERE id = ?", ((lid,) for lid in lids))
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise


def _encode(value: str | None) -> str:
    """A string set's member as a row: ``s<string>``, or ``n`` for None."""
    return "n" if value is None else "s" + value


def _decode(value: str) -> str | None:
    return None if value == "n" else value[1:]


def files(path: Path) -> list[Path]:
    """A database's files: itself, its WAL and its shared-memory index."""
    return [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]


def fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
