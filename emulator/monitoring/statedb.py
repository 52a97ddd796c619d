"""Small persistent state of CloudWatch (alarms, history, dashboards) and the
usage ledger, in ``monitoring.db`` in the data dir."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any


class StateDB:
    def __init__(self, path: Path | str) -> None:
        self.path = str(path)
        self.lock = threading.RLock()
        self.db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(
            """
            CREATE TABLE IF NOT EXISTS alarm (name TEXT PRIMARY KEY, kind TEXT NOT NULL, body BLOB NOT NULL);
            CREATE TABLE IF NOT EXISTS alarm_history (
                id INTEGER PRIMARY KEY, name TEXT NOT NULL, kind TEXT NOT NULL, ts REAL NOT NULL,
                type TEXT NOT NULL, summary TEXT NOT NULL, data TEXT NOT NULL);
            CREATE INDEX IF NOT EXISTS alarm_history_ts ON alarm_history(ts);
            CREATE TABLE IF NOT EXISTS dashboard (name TEXT PRIMARY KEY, body TEXT NOT NULL, modified REAL NOT NULL);
            CREATE TABLE IF NOT EXISTS dashboard_tag (name TEXT PRIMARY KEY, tags BLOB NOT NULL);
            CREATE TABLE IF NOT EXISTS usage (
                month TEXT NOT NULL, principal TEXT NOT NULL, service TEXT NOT NULL, item TEXT NOT NULL,
                quantity REAL NOT NULL, PRIMARY KEY (month, principal, service, item));
            """
        )

    def execute(self, sql: str, args: Any = ()) -> sqlite3.Cursor:
        with self.lock:
            return self.db.execute(sql, args)

    def query(self, sql: str, args: Any = ()) -> list[Any]:
        with self.lock:
            return self.db.execute(sql, args).fetchall()

    def executemany(self, sql: str, rows: list[Any]) -> None:
        with self.lock:
            self.db.execute("BEGIN")
            try:
                self.db.executemany(sql, rows)
                self.db.execute("COMMIT")
            except BaseException:
                self.db.execute("ROLLBACK")
                raise

    def clear(self, *tables: str) -> None:
        """Empty ``tables`` (names of this module's own schema) in one transaction: a reset.
        A DELETE without WHERE is SQLite's truncate optimization, fast whatever the size."""
        with self.lock:
            self.db.execute("BEGIN")
            try:
                for table in tables:
                    self.db.execute(f"DELETE FROM {table}")  # internal table names, never input
                self.db.execute("COMMIT")
            except BaseException:
                self.db.execute("ROLLBACK")
                raise

    def close(self) -> None:
        with self.lock:
            self.db.close()
