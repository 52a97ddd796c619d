"""The metric store: SQLite in the data dir (``metrics.db``), separate from DynamoDB's.

Layout:
- ``metric``: one row per (region, namespace, name, dimension set); dimension sets match
  exactly. CloudWatch is regional: the same metric in two regions is two metrics. A file
  written before metrics had a region is migrated on open: its rows belong to the
  store's default region (``settings.region``).
- ``dp``: one row per published datum (sum/count/min/max plus the value/count
  pairs for percentiles), indexed by (metric_id, ts) for range reads.

Ingest is batched (one ``executemany`` per PutMetricData call). Roll-ups follow
CloudWatch's retention schedule (User Guide, "Metrics retention"): sub-minute
data for 3 hours, 1-minute data for 15 days, 5-minute data for 63 days, 1-hour
data for 455 days; older data is aggregated to the next resolution, then dropped.
"""

from __future__ import annotations

import math
import sqlite3
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from emulator.monitoring.regional import migration, regionalize, unregioned
from emulator.monitoring.stats import Bucket

Dims = tuple[tuple[str, str], ...]

# resolution (seconds) -> how long data at that resolution is kept (seconds)
DEFAULT_RETENTION: dict[int, int] = {1: 3 * 3600, 60: 15 * 86400, 300: 63 * 86400, 3600: 455 * 86400}


@dataclass
class Datum:
    namespace: str
    name: str
    dims: Dims
    ts: float  # epoch seconds
    sum: float
    count: float
    min: float
    max: float
    values: list[float] | None = None  # flat [v, c, v, c, ...]
    unit: str | None = None
    resolution: int = 60
    kind: int = 0  # 0: values known, 1: statistic set
    region: str = ""  # "": the store's default region

    @classmethod
    def single(cls, namespace: str, name: str, dims: Dims, value: float, ts: float | None = None, unit: str | None = None, region: str = "") -> Datum:
        return cls(namespace, name, dims, time.time() if ts is None else ts, value, 1.0, value, value, None, unit, 60, 0, region)

    @classmethod
    def stats(
        cls, namespace: str, name: str, dims: Dims, s: float, c: float, lo: float, hi: float, ts: float | None = None, unit: str | None = None, region: str = ""
    ) -> Datum:
        return cls(namespace, name, dims, time.time() if ts is None else ts, s, c, lo, hi, None, unit, 60, 1, region)


@dataclass
class MetricRow:
    id: int
    namespace: str
    name: str
    dims: Dims
    last_ts: float
    region: str = ""

    def to_api(self) -> dict[str, Any]:
        return {"Namespace": self.namespace, "MetricName": self.name, "Dimensions": [{"Name": k, "Value": v} for k, v in self.dims]}


def dims_key(dims: Dims) -> str:
    return "\x1f".join(f"{k}\x1e{v}" for k, v in dims)


def norm_dims(dims: Iterable[dict[str, str]] | None) -> Dims:
    return tuple(sorted((d["Name"], d["Value"]) for d in (dims or [])))


# The units and value range of CloudWatch metrics (PutMetricData's, which EMF documents meet too).
UNITS = (
    "Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes", "Gigabytes", "Terabytes", "Bits", "Kilobits",
    "Megabits", "Gigabits", "Terabits", "Percent", "Count", "Bytes/Second", "Kilobytes/Second", "Megabytes/Second",
    "Gigabytes/Second", "Terabytes/Second", "Bits/Second", "Kilobits/Second", "Megabits/Second", "Gigabits/Second",
    "Terabits/Second", "Count/Second", "None",
)
# CloudWatch rejects values too small or too large (PutMetricData: "values outside this range are rejected")
MIN_MAGNITUDE = 8.515920e-109
MAX_MAGNITUDE = 1.174271e108


_METRIC_TABLE = """
    CREATE TABLE IF NOT EXISTS metric (
        id INTEGER PRIMARY KEY, region TEXT NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL,
        dkey TEXT NOT NULL, dims BLOB NOT NULL, last_ts REAL NOT NULL DEFAULT 0,
        UNIQUE(region, namespace, name, dkey));
"""


def _migrate(db: sqlite3.Connection, region: str) -> None:
    """A ``metric`` table of the layout without regions becomes the regional one; its rows
    (and so their datapoints, by the same ids) belong to ``region``."""
    if not unregioned(db, "metric"):
        return
    with migration(db):
        regionalize(db, "metric", _METRIC_TABLE, "id, namespace, name, dkey, dims, last_ts", region)


class MetricStore:
    def __init__(self, path: Path | str, retention: dict[int, int] | None = None, default_region: str = "us-east-1") -> None:
        self.path = str(path)
        self.retention = dict(retention or DEFAULT_RETENTION)
        # Where data without a region goes: the emulator's own metrics and rows of old files.
        self.default_region = default_region
        self._lock = threading.RLock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        # Metrics are telemetry: a lost last second on power loss is acceptable (NORMAL), a slow ingest is not.
        self._db.execute("PRAGMA synchronous=NORMAL")
        _migrate(self._db, default_region)
        self._db.executescript(
            _METRIC_TABLE
            + """
            CREATE TABLE IF NOT EXISTS dp (
                metric_id INTEGER NOT NULL, ts REAL NOT NULL, res INTEGER NOT NULL,
                sum REAL NOT NULL, cnt REAL NOT NULL, min REAL NOT NULL, max REAL NOT NULL,
                vals BLOB, unit TEXT, kind INTEGER NOT NULL DEFAULT 0);
            CREATE INDEX IF NOT EXISTS dp_metric_ts ON dp(metric_id, ts);
            """
        )
        self._ids: dict[tuple[str, str, str, str], int] = {}
        for mid, region, ns, name, dkey in self._db.execute("SELECT id, region, namespace, name, dkey FROM metric"):
            self._ids[(region, ns, name, dkey)] = mid

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # ------------------------------------------------------------ ingest
    def _metric_id(self, region: str, namespace: str, name: str, dims: Dims) -> int:
        key = (region, namespace, name, dims_key(dims))
        mid = self._ids.get(key)
        if mid is None:
            blob = orjson.dumps([list(d) for d in dims])
            cur = self._db.execute("INSERT OR IGNORE INTO metric(region, namespace, name, dkey, dims) VALUES (?,?,?,?,?)", (*key, blob))
            if cur.lastrowid and cur.rowcount:
                mid = int(cur.lastrowid)
            else:
                mid = int(self._db.execute("SELECT id FROM metric WHERE region=? AND namespace=? AND name=? AND dkey=?", key).fetchone()[0])
            self._ids[key] = mid
        return mid

    def put(self, data: Sequence[Datum]) -> None:
        if not data:
            return
        with self._lock:
            self._db.execute("BEGIN")
            try:
                rows = []
                last: dict[int, float] = {}
                default = self.default_region
                for d in data:
                    mid = self._metric_id(d.region or default, d.namespace, d.name, d.dims)
                    rows.append((mid, d.ts, d.resolution, d.sum, d.count, d.min, d.max, orjson.dumps(d.values) if d.values else None, d.unit, d.kind))
                    if d.ts > last.get(mid, 0.0):
                        last[mid] = d.ts
                self._db.executemany("INSERT INTO dp(metric_id, ts, res, sum, cnt, min, max, vals, unit, kind) VALUES (?,?,?,?,?,?,?,?,?,?)", rows)
                self._db.executemany("UPDATE metric SET last_ts=? WHERE id=? AND last_ts<?", [(ts, mid, ts) for mid, ts in last.items()])
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def reset(self) -> None:
        """Forget every metric and datapoint (POST /_emulator/reset). Under the lock, so a put
        in progress lands before (and is forgotten) or after, never half; the id cache goes
        too, or a put would point datapoints at a metric row that no longer exists."""
        with self._lock:
            self._db.execute("BEGIN")
            try:
                self._db.execute("DELETE FROM dp")  # no WHERE: SQLite's truncate, fast at any size
                self._db.execute("DELETE FROM metric")
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._ids.clear()

    # ------------------------------------------------------------ reads
    def find_id(self, namespace: str, name: str, dims: Dims, region: str | None = None) -> int | None:
        """The metric's id in ``region`` (None: the default region)."""
        return self._ids.get((region or self.default_region, namespace, name, dims_key(dims)))

    def list_metrics(
        self,
        namespace: str | None = None,
        name: str | None = None,
        dim_filters: Sequence[tuple[str, str | None]] = (),
        active_since: float | None = None,
        after_id: int = 0,
        limit: int | None = None,
        region: str | None = None,
    ) -> list[MetricRow]:
        """The metrics of ``region`` (None: the default region)."""
        region = region or self.default_region
        sql = "SELECT id, namespace, name, dims, last_ts FROM metric WHERE id > ? AND region = ?"
        args: list[Any] = [after_id, region]
        if namespace is not None:
            sql += " AND namespace = ?"
            args.append(namespace)
        if name is not None:
            sql += " AND name = ?"
            args.append(name)
        if active_since is not None:
            sql += " AND last_ts >= ?"
            args.append(active_since)
        sql += " ORDER BY id"
        out: list[MetricRow] = []
        with self._lock:
            cursor = self._db.execute(sql, args)
            for mid, ns, mname, blob, last_ts in cursor:
                dims: Dims = tuple((k, v) for k, v in orjson.loads(blob))
                if dim_filters:
                    dmap = dict(dims)
                    if not all(k in dmap and (v is None or dmap[k] == v) for k, v in dim_filters):
                        continue
                out.append(MetricRow(mid, ns, mname, dims, last_ts, region))
                if limit is not None and len(out) >= limit:
                    break
        return out

    def buckets(
        self,
        metric_id: int,
        start: float,
        end: float,
        period: int,
        unit: str | None = None,
        need_values: bool = False,
    ) -> dict[float, Bucket]:
        """Aggregate the datapoints in [start, end) into period buckets keyed by bucket start."""
        out: dict[float, Bucket] = {}
        unit_sql = " AND unit IS ?" if unit is not None else ""
        args: list[Any] = [metric_id, start, end]
        if unit is not None:
            args.append(unit)
        with self._lock:
            if not need_values:
                # the common case is aggregated by SQLite itself: one row per bucket
                sql = (
                    "SELECT CAST((ts - ?) / ? AS INTEGER) AS b, SUM(sum), SUM(cnt), MIN(min), MAX(max), MAX(unit) "
                    f"FROM dp WHERE metric_id=? AND ts>=? AND ts<?{unit_sql} GROUP BY b"
                )
                for b, s, c, lo, hi, u in self._db.execute(sql, [start, period, *args]):
                    out[start + b * period] = Bucket(s, c, lo, hi, None, u)
                return out
            sql = f"SELECT ts, sum, cnt, min, max, vals, unit, kind FROM dp WHERE metric_id=? AND ts>=? AND ts<?{unit_sql}"
            rows = self._db.execute(sql, args).fetchall()
        for ts, s, c, lo, hi, vals, u, kind in rows:
            key = start + math.floor((ts - start) / period) * period
            bucket = out.get(key)
            if bucket is None:
                bucket = out[key] = Bucket(unit=u)
            bucket.add(s, c, lo, hi, orjson.loads(vals) if vals else None, kind)
        return out

    # ------------------------------------------------------------ metric streams
    def last_row(self) -> int:
        """The newest datapoint row: a metric stream's starting point."""
        with self._lock:
            return int(self._db.execute("SELECT COALESCE(MAX(rowid), 0) FROM dp").fetchone()[0])

    def rows_after(self, after: int, upto: int, region: str, since: float, limit: int) -> list[tuple[Any, ...]]:
        """Datapoints stored after row ``after`` up to row ``upto`` (rowid order), of ``region``, with timestamps
        from ``since`` on, as published (resolution 1 or 60: a roll-up row is not new data):
        (rowid, namespace, name, dims blob, ts, sum, cnt, min, max, vals, unit, kind)."""
        with self._lock:
            return self._db.execute(
                "SELECT dp.rowid, m.namespace, m.name, m.dims, dp.ts, dp.sum, dp.cnt, dp.min, dp.max, dp.vals, dp.unit, dp.kind "
                "FROM dp JOIN metric m ON m.id = dp.metric_id WHERE dp.rowid > ? AND dp.rowid <= ? AND m.region = ? AND dp.ts >= ? AND dp.res <= 60 "
                "ORDER BY dp.rowid LIMIT ?",
                (after, upto, region, since, limit),
            ).fetchall()

    def count_datapoints(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM dp").fetchone()[0])

    def metric_count(self) -> int:
        return len(self._ids)

    def custom_metrics_sent(self, since: float) -> int:
        """Custom metrics with a datapoint sent since ``since`` (datapoint time): what CloudWatch
        bills, "prorated by the hour and metered only when you send metrics" (its pricing page).
        AWS services' own metrics (``AWS/``) are free and the emulator's (``Emulator/``) are
        not AWS's at all."""
        with self._lock:
            row = self._db.execute(
                "SELECT COUNT(*) FROM metric WHERE last_ts >= ? AND namespace NOT GLOB 'AWS/*' AND namespace NOT GLOB 'Emulator/*'", (since,)
            ).fetchone()
        return int(row[0])

    # ------------------------------------------------------------ roll-ups
    def rollup(self, now: float | None = None) -> int:
        """Aggregate data past its resolution's retention to the next one; drop data past the last. Returns rows touched."""
        now = time.time() if now is None else now
        touched = 0
        steps = sorted(self.retention.items())
        for i, (res, keep) in enumerate(steps):
            cutoff = now - keep
            if i + 1 < len(steps):
                touched += self._coarsen(res, steps[i + 1][0], cutoff)
            else:
                with self._lock:
                    touched += self._db.execute("DELETE FROM dp WHERE ts < ?", (cutoff,)).rowcount
        return touched

    def _coarsen(self, below: int, to: int, cutoff: float, chunk: int = 50_000) -> int:
        # in chunks, releasing the lock between them, so that ingest and reads are never held up for long;
        # a bucket split over two chunks is two rows, which every read aggregates anyway
        total = 0
        while True:
            done = self._coarsen_chunk(below, to, cutoff, chunk)
            total += done
            if done < chunk:
                return total

    def _coarsen_chunk(self, below: int, to: int, cutoff: float, chunk: int) -> int:
        with self._lock:
            rows = self._db.execute(
                "SELECT rowid, metric_id, ts, sum, cnt, min, max, vals, unit, kind FROM dp WHERE res <= ? AND res < ? AND ts < ? LIMIT ?",
                (below, to, cutoff, chunk),
            ).fetchall()
            if not rows:
                return 0
            groups: dict[tuple[int, float, str | None, int], Bucket] = {}
            for _, mid, ts, s, c, lo, hi, vals, unit, kind in rows:
                key = (mid, math.floor(ts / to) * to, unit, kind)
                bucket = groups.get(key)
                if bucket is None:
                    bucket = groups[key] = Bucket(unit=unit)
                bucket.add(s, c, lo, hi, orjson.loads(vals) if vals else None, kind)
            new_rows = []
            for (mid, ts, unit, kind), b in groups.items():
                flat: list[float] | None = None
                if kind == 0 and b.values:
                    flat = [x for pair in b.values.items() for x in pair]
                new_rows.append((mid, ts, to, b.sum, b.count, b.min, b.max, orjson.dumps(flat) if flat else None, unit, kind))
            self._db.execute("BEGIN")
            try:
                self._db.executemany("DELETE FROM dp WHERE rowid = ?", [(r[0],) for r in rows])
                self._db.executemany("INSERT INTO dp(metric_id, ts, res, sum, cnt, min, max, vals, unit, kind) VALUES (?,?,?,?,?,?,?,?,?,?)", new_rows)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            return len(rows)
