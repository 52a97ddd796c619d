"""Metric filters: log events matching a filter pattern become CloudWatch metrics
(Logs API Reference, PutMetricFilter; User Guide, "Creating metrics from log events using filters").

A filter belongs to a log group, so to the group's region, and its metrics are published
in that region."""

from __future__ import annotations

import re
import threading
import time
from typing import Any

import orjson

from emulator.errors import AwsError
from emulator.monitoring.filterpattern import (
    Extracted,
    Extractor,
    compile_extractor,
    split_fields,
)
from emulator.monitoring.logstore import Group, LogStore, invalid
from emulator.monitoring.metrics import Datum, MetricStore

MAX_FILTERS_PER_GROUP = 100
_NAME_RE = re.compile(r"^[^:*]{1,512}$")
_VALUE_RE = re.compile(r"^(\$\.[\w.\[\]\-@]+|\$[A-Za-z0-9_\-]+|-?\d+(\.\d+)?)$")


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


class MetricFilters:
    def __init__(self, store: LogStore, metrics: MetricStore | None) -> None:
        self.store = store
        self.metrics = metrics
        self._cache: dict[int, list[tuple[str, Extractor, list[dict[str, Any]]]]] = {}
        self._lock = threading.Lock()

    def reset(self) -> None:
        """Drop the compiled filters (the rows go with the log store's reset): group ids are
        reused once the tables are empty, and a new group must not inherit an old one's filters."""
        with self._lock:
            self._cache.clear()

    def _load(self, gid: int) -> list[tuple[str, Extractor, list[dict[str, Any]]]]:
        with self._lock:
            cached = self._cache.get(gid)
            if cached is not None:
                return cached
        with self.store.lock:
            rows = self.store.db.execute("SELECT name, pattern, transformations FROM metric_filter WHERE gid=? ORDER BY name", (gid,)).fetchall()
        loaded = [(name, compile_extractor(pattern, background=True), orjson.loads(tr)) for name, pattern, tr in rows]
        with self._lock:
            self._cache[gid] = loaded
        return loaded

    def put(self, group_name: str, name: str, pattern: str, transformations: list[dict[str, Any]], region: str | None = None) -> None:
        group = self.store.get_group(group_name, region)
        if not _NAME_RE.match(name or ""):
            raise invalid(f"1 validation error detected: Value '{name}' at 'filterName' failed to satisfy constraint: Member must satisfy regular expression pattern: [^:*]*")
        compile_extractor(pattern)  # InvalidParameterException on a bad pattern
        if len(transformations) != 1:
            raise invalid("Exactly one metric transformation must be specified.")
        for t in transformations:
            for key in ("metricName", "metricNamespace", "metricValue"):
                if not t.get(key):
                    raise invalid(f"1 validation error detected: Value null at 'metricTransformations.1.member.{key}' failed to satisfy constraint: Member must not be null")
            if not _VALUE_RE.match(str(t["metricValue"])):
                raise invalid(f"Invalid metric value: {t['metricValue']}")
            if t.get("dimensions") and t.get("defaultValue") is not None:
                raise invalid("Metric filters with dimensions cannot have a default value.")
            if len(t.get("dimensions") or {}) > 3:
                raise invalid("A metric filter can have at most 3 dimensions.")
        with self.store.lock:
            count = self.store.db.execute("SELECT COUNT(*) FROM metric_filter WHERE gid=? AND name != ?", (group.id, name)).fetchone()[0]
            if count >= MAX_FILTERS_PER_GROUP:
                raise AwsError("LimitExceededException", f"Resource limit exceeded: {MAX_FILTERS_PER_GROUP} metric filters per log group.", 400)
            self.store.db.execute(
                "INSERT OR REPLACE INTO metric_filter(gid, name, pattern, transformations, created) VALUES (?,?,?,?,?)",
                (group.id, name, pattern, orjson.dumps(transformations), int(time.time() * 1000)),
            )
        with self._lock:
            self._cache.pop(group.id, None)

    def delete(self, group_name: str, name: str, region: str | None = None) -> None:
        group = self.store.get_group(group_name, region)
        with self.store.lock:
            deleted = self.store.db.execute("DELETE FROM metric_filter WHERE gid=? AND name=?", (group.id, name)).rowcount
        if not deleted:
            raise AwsError("ResourceNotFoundException", "The specified metric filter does not exist.", 400)
        with self._lock:
            self._cache.pop(group.id, None)

    def count(self, gid: int) -> int:
        with self.store.lock:
            return int(self.store.db.execute("SELECT COUNT(*) FROM metric_filter WHERE gid=?", (gid,)).fetchone()[0])

    def describe(self, p: dict[str, Any], region: str | None = None) -> list[dict[str, Any]]:
        sql = "SELECT g.name, f.name, f.pattern, f.transformations, f.created FROM metric_filter f JOIN grp g ON g.id = f.gid WHERE g.region = ?"
        args: list[Any] = [region or self.store.region]
        if p.get("logGroupName"):
            group = self.store.get_group(p["logGroupName"], region)
            sql += " AND f.gid = ?"
            args.append(group.id)
        if p.get("filterNamePrefix"):
            if not p.get("logGroupName"):
                raise invalid("logGroupName is required when filterNamePrefix is given.")
            sql += " AND substr(f.name, 1, ?) = ?"
            args += [len(p["filterNamePrefix"]), p["filterNamePrefix"]]
        if bool(p.get("metricName")) != bool(p.get("metricNamespace")):
            raise invalid("metricName and metricNamespace must be specified together.")
        sql += " ORDER BY g.name, f.name"
        with self.store.lock:
            rows = self.store.db.execute(sql, args).fetchall()
        out = []
        for group, name, pattern, tr, created in rows:
            transformations = orjson.loads(tr)
            if p.get("metricName") and not any(t["metricName"] == p["metricName"] and t["metricNamespace"] == p["metricNamespace"] for t in transformations):
                continue
            out.append({"filterName": name, "filterPattern": pattern, "metricTransformations": transformations, "creationTime": created, "logGroupName": group, "applyOnTransformedLogs": False})
        return out

    def apply(self, group: Group, events: list[dict[str, Any]]) -> int:
        """Publish the metrics of the filters of ``group`` for the accepted events; returns datapoints published."""
        filters = self._load(group.id)
        if not filters or self.metrics is None:
            return 0
        data: list[Datum] = []
        for _name, extract, transformations in filters:
            for e in events:
                found = extract(e.get("message", ""))
                ts = int(e["timestamp"]) / 1000.0
                for t in transformations:
                    if found is None:
                        default = t.get("defaultValue")
                        if default is not None:
                            data.append(Datum.single(t["metricNamespace"], t["metricName"], (), float(default), ts, t.get("unit"), group.region))
                        continue
                    value = self._value(found, str(t["metricValue"]))
                    if value is None:
                        continue
                    dims = []
                    for dname, ref in (t.get("dimensions") or {}).items():
                        dvalue = found.resolve(ref) if str(ref).startswith("$") else ref
                        if dvalue is None or dvalue == "":
                            break
                        dims.append((dname, str(dvalue)[:1024]))
                    else:
                        data.append(Datum.single(t["metricNamespace"], t["metricName"], tuple(sorted(dims)), value, ts, t.get("unit"), group.region))
        self.metrics.put(data)
        return len(data)

    @staticmethod
    def _value(found: Extracted, ref: str) -> float | None:
        if ref.startswith("$"):
            return _number(found.resolve(ref))
        return _number(ref)

    @staticmethod
    def test(pattern: str, messages: list[str]) -> list[dict[str, Any]]:
        extract = compile_extractor(pattern)
        out = []
        for i, message in enumerate(messages, 1):
            found = extract(message)
            if found is None:
                continue
            values: dict[str, str] = {}
            if found.fields:
                values = {f"${k}": v for k, v in found.fields.items() if not k.isdigit()}
            elif pattern.strip().startswith("["):
                values = {f"${k}": v for k, v in enumerate(split_fields(message), 1)}
            out.append({"eventNumber": i, "eventMessage": message, "extractedValues": values})
        return out
