"""Moving a monitoring database written before CloudWatch and Logs were regional to the
regional layout: each table that lacks a ``region`` column is rebuilt with one, its rows in
the given region under the same ids. Used by the metric store, the log store and the state
database, each in one transaction of its own: a crash leaves the old layout, migrated again
on the next open."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager


def columns(db: sqlite3.Connection, table: str) -> list[str]:
    return [row[1] for row in db.execute(f"PRAGMA table_info({table})")]  # internal table names, never input


def unregioned(db: sqlite3.Connection, *tables: str) -> bool:
    """Whether one of ``tables`` exists without a region column (only then is a write
    transaction opened)."""
    return any((have := columns(db, table)) and "region" not in have for table in tables)


@contextmanager
def migration(db: sqlite3.Connection) -> Iterator[None]:
    """One write transaction (the connection is in autocommit mode)."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise


def regionalize(db: sqlite3.Connection, table: str, create: str, kept: str, region: str) -> None:
    """Rebuild ``table`` (created by ``create``) with its rows' ``kept`` columns and ``region``,
    if it exists without a region column."""
    have = columns(db, table)
    if not have or "region" in have:
        return
    db.execute(f"ALTER TABLE {table} RENAME TO {table}_unregioned")
    db.execute(create)
    db.execute(f"INSERT INTO {table}(region, {kept}) SELECT ?, {kept} FROM {table}_unregioned", (region,))
    db.execute(f"DROP TABLE {table}_unregioned")
