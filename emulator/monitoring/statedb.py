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

from emulator.monitoring.regional import columns, migration, regionalize, unregioned

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

    def _migrate(self, region: str) -> None:
        """Tables of the layout without regions get one; their rows belong to ``region``."""
        if not unregioned(self.db, "alarm", "alarm_history"):
            return
        with migration(self.db):
            regionalize(self.db, "alarm", _ALARM_TABLE, "name, kind, body", region)
            history = columns(self.db, "alarm_history")
            if history and "region" not in history:
                # ADD COLUMN must have a constant default: '' first, then the region itself.
                self.db.execute("ALTER TABLE alarm_history ADD COLUMN region TEXT NOT NULL DEFAULT ''")
                self.db.execute("UPDATE alarm_history SET region=?", (region,))

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
