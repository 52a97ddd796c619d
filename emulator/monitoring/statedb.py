"""Small persistent state of CloudWatch (alarms, history, dashboards) and the
usage ledger, in ``monitoring.db`` in the data dir.

Alarms and their history are regional (a ``region`` column); dashboards are global, as
on AWS (arn:aws:cloudwatch::ACCOUNT:dashboard/NAME). A file written before alarms had a
region is migrated on open: its alarms and history belong to ``default_region``."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any

_ALARM_TABLE = """
    CREATE TABLE IF NOT EXISTS alarm (
        region TEXT NOT NULL, name TEXT NOT NULL, kind TEXT NOT NULL, body BLOB NOT NULL, PRIMARY KEY (region, name));
"""


class StateDB:
    def __init__(self, path: Path | str, default_region: str = "us-east-1") -> None:
        self.path = str(path)
        self.lock = threading.RLock()
        self.db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self._migrate(default_region)
        self.db.executescript(
            _ALARM_TABLE
            + """
            CREATE TABLE IF NOT EXISTS alarm_history (
                id INTEGER PRIMARY KEY, region TEXT NOT NULL, name TEXT NOT NULL, kind TEXT NOT NULL, ts REAL NOT NULL,
                type TEXT NOT NULL, summary TEXT NOT NULL, data TEXT NOT NULL);
            CREATE INDEX IF NOT EXISTS alarm_history_ts ON alarm_history(ts);
            CREATE TABLE IF NOT EXISTS dashboard (name TEXT PRIMARY KEY, body TEXT NOT NULL, modified REAL NOT NULL);
            CREATE TABLE IF NOT EXISTS dashboard_tag (name TEXT PRIMARY KEY, tags BLOB NOT NULL);
            CREATE TABLE IF NOT EXISTS usage (
                month TEXT NOT NULL, principal TEXT NOT NULL, service TEXT NOT NULL, item TEXT NOT NULL,
                quantity REAL NOT NULL, PRIMARY KEY (month, principal, service, item));
            """
        )
        # Anomaly detectors (emulator.monitoring.anomaly) and metric streams
        # (emulator.monitoring.metric_streams): regional, their definition as a JSON body.
        self.db.executescript(
            """
            CREATE TABLE IF NOT EXISTS anomaly_detector (region TEXT NOT NULL, id TEXT NOT NULL, body BLOB NOT NULL, PRIMARY KEY (region, id));
            CREATE TABLE IF NOT EXISTS metric_stream (region TEXT NOT NULL, name TEXT NOT NULL, body BLOB NOT NULL, PRIMARY KEY (region, name));
            """
        )

    def _columns(self, table: str) -> list[str]:
        return [row[1] for row in self.db.execute(f"PRAGMA table_info({table})")]  # internal table names, never input

    def _migrate(self, region: str) -> None:
        """Tables of the layout without regions get one; their rows belong to ``region``. One
        transaction: a crash leaves the old layout, migrated again on the next open."""
        alarm, history = self._columns("alarm"), self._columns("alarm_history")
        if (not alarm or "region" in alarm) and (not history or "region" in history):
            return
        self.db.execute("BEGIN IMMEDIATE")
        try:
            if alarm and "region" not in alarm:
                self.db.execute("ALTER TABLE alarm RENAME TO alarm_unregioned")
                self.db.execute(_ALARM_TABLE)
                self.db.execute("INSERT INTO alarm(region, name, kind, body) SELECT ?, name, kind, body FROM alarm_unregioned", (region,))
                self.db.execute("DROP TABLE alarm_unregioned")
            if history and "region" not in history:
                # ADD COLUMN must have a constant default: '' first, then the region itself.
                self.db.execute("ALTER TABLE alarm_history ADD COLUMN region TEXT NOT NULL DEFAULT ''")
                self.db.execute("UPDATE alarm_history SET region=?", (region,))
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise

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
