"""Contributor Insights rules (CloudWatch API Reference: PutInsightRule, GetInsightRuleReport,
PutManagedInsightRules & co.; User Guide, "Using Contributor Insights to analyze high-cardinality data").

Rules are regional, kept in ``monitoring.db`` with their tags. Evaluation happens at ingest
time: every batch of log events written to a log group (PutLogEvents, and the emulator's own
groups) goes through the enabled rules of the group's region whose LogGroupNames match, and
each contributing event adds to a per-minute counter of its contributor (count, sum, min,
max). Reports read those counters. Why at ingest rather than by scanning the log group
at report time:

- it is AWS's behaviour: a rule sees the events ingested while it is enabled, not the
  group's history, and a report costs the same whatever the log volume;
- DynamoDB's managed rules have no log group at all: their contributors come from the
  data plane (emulator.dynamodb.insights), and they land in the same counters.

Counters from logs are written before PutLogEvents answers (durable as the events);
DynamoDB's are buffered and written by the monitoring thread's flush (every
``telemetry_flush`` seconds), as request metrics are; a report writes what is buffered first.
"""

from __future__ import annotations

import json
import math
import re
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from emulator.errors import AwsError
from emulator.monitoring import resource_tags
from emulator.monitoring.insight_syntax import SCHEMA_NAME, CompiledRule, compile_rule
from emulator.monitoring.query import decode_token, encode_token
from emulator.monitoring.resource_tags import invalid, missing
from emulator.monitoring.statedb import StateDB

MAX_RULES = 100  # Contributor Insights quota: rules per account and region
MAX_CONTRIBUTORS = 100
METRICS = ("UniqueContributors", "MaxContributorValue", "SampleCount", "Sum", "Minimum", "Maximum", "Average")
RETENTION_SECONDS = 15 * 86400  # how long counters are kept (a report reaches back 15 days)
K = TypeVar("K")  # a counter's key (fold)
_NAME_RE = re.compile(r"^[\x20-\x7E]{1,128}$")
DDB_TEMPLATE = "DynamoDBContributorInsights"
# Managed rule templates of a DynamoDB table or GSI: accessed/throttled partition keys, and
# accessed/throttled partition+sort keys (these two only where there is a sort key).
DDB_KINDS = ("PKC", "PKT", "SKC", "SKT")

_SCHEMA = """
    CREATE TABLE IF NOT EXISTS insight_rule (
        region TEXT NOT NULL, name TEXT NOT NULL, state TEXT NOT NULL, definition TEXT NOT NULL,
        managed INTEGER NOT NULL DEFAULT 0, template TEXT, resource_arn TEXT, resource_id TEXT,
        tags BLOB NOT NULL, created REAL NOT NULL, PRIMARY KEY (region, name));
    CREATE TABLE IF NOT EXISTS insight_point (
        region TEXT NOT NULL, rule TEXT NOT NULL, minute INTEGER NOT NULL, keys TEXT NOT NULL,
        count REAL NOT NULL, sum REAL NOT NULL, min REAL NOT NULL, max REAL NOT NULL,
        PRIMARY KEY (region, rule, minute, keys));
    CREATE INDEX IF NOT EXISTS insight_point_minute ON insight_point(minute);
    CREATE TABLE IF NOT EXISTS dynamodb_insights (
        region TEXT NOT NULL, table_name TEXT NOT NULL, index_name TEXT NOT NULL, table_id TEXT NOT NULL,
        status TEXT NOT NULL, mode TEXT NOT NULL, updated REAL NOT NULL, PRIMARY KEY (region, table_name, index_name));
"""


def not_found(name: str) -> AwsError:
    return AwsError("ResourceNotFoundException", f"Rule {name} does not exist.", 404)


class InsightRules:
    def __init__(self, db: StateDB, region: str, account_id: str) -> None:
        self.db = db
        self.region = region
        self.account_id = account_id
        with db.lock:
            db.db.executescript(_SCHEMA)
        self._lock = threading.Lock()
        # (region, rule) -> {(minute, keys): [count, sum, min, max]}: DynamoDB's contributions not yet written
        self._pending: dict[tuple[str, str], dict[tuple[int, tuple[str, ...]], list[float]]] = {}
        # region -> enabled log rules, compiled; rebuilt after any change
        self._log_rules: dict[str, list[tuple[str, CompiledRule]]] = {}
        # (region, table) -> [(index or "", kind, rule name, table id)] of the enabled DynamoDB managed
        # rules. Mutated in place, never replaced: the DynamoDB data plane holds it and tests its truth.
        self.dynamodb_targets: dict[tuple[str, str], list[tuple[str, str, str, str]]] = {}
        self._reload()

    # ------------------------------------------------------------ caches
    def _reload(self) -> None:
        rows = self.db.query("SELECT region, name, definition, managed, template, resource_arn, resource_id FROM insight_rule WHERE state='ENABLED'")
        log_rules: dict[str, list[tuple[str, CompiledRule]]] = {}
        targets: dict[tuple[str, str], list[tuple[str, str, str, str]]] = {}
        for region, name, definition, managed, template, arn, resource_id in rows:
            if managed:
                parsed = _ddb_template(template or "", arn or "")
                if parsed is not None:
                    table, index, kind = parsed
                    targets.setdefault((region, table), []).append((index, kind, name, resource_id or ""))
                continue
            try:
                log_rules.setdefault(region, []).append((name, compile_rule(definition, region, self.account_id)))
            except AwsError:  # stored before a stricter check: it matches nothing
                continue
        with self._lock:
            self._log_rules = log_rules
            self.dynamodb_targets.clear()
            self.dynamodb_targets.update(targets)

    def reset(self) -> None:
        """Forget every rule and its data (POST /_emulator/reset of CloudWatch)."""
        with self._lock:
            self._pending.clear()
        # DynamoDB's insights state (emulator.dynamodb.insights) goes with its managed rules
        self.db.clear("insight_rule", "insight_point", "dynamodb_insights")
        self._reload()

    def reset_dynamodb(self) -> None:
        """Forget DynamoDB's managed rules and insights state (POST /_emulator/reset of DynamoDB: its tables are gone)."""
        with self.db.lock:
            for region, name in self.db.query("SELECT region, name FROM insight_rule WHERE managed=1 AND template LIKE ?", (DDB_TEMPLATE + "-%",)):
                self._drop(region, name)
            self.db.execute("DELETE FROM dynamodb_insights")
        self._reload()

    def count(self) -> int:
        return int(self.db.query("SELECT COUNT(*) FROM insight_rule")[0][0])

    # ------------------------------------------------------------ rules
    def arn(self, name: str, region: str) -> str:
        return f"arn:aws:cloudwatch:{region}:{self.account_id}:insight-rule/{name}"

    def _row(self, name: str, region: str) -> tuple[Any, ...] | None:
        rows = self.db.query(
            "SELECT name, state, definition, managed, template, resource_arn, resource_id, tags FROM insight_rule WHERE region=? AND name=?", (region, name)
        )
        return tuple(rows[0]) if rows else None

    @staticmethod
    def check_name(name: Any, param: str = "RuleName") -> str:
        if not name:
            raise missing(f"The parameter {param} is required.")
        if not isinstance(name, str) or not _NAME_RE.match(name):
            raise invalid(f"The value {name} for parameter {param} is invalid.")
        return name

    def put(self, p: dict[str, Any], region: str) -> None:
        name = self.check_name(p.get("RuleName"))
        definition = p.get("RuleDefinition")
        if not definition:
            raise missing("The parameter RuleDefinition is required.")
        if not isinstance(definition, str) or len(definition) > 8192 or not definition.isascii():
            raise invalid("The value for parameter RuleDefinition is invalid: at most 8192 ASCII characters.")
        state = p.get("RuleState") or "ENABLED"
        if state not in ("ENABLED", "DISABLED"):
            raise invalid(f"The value {state} for parameter RuleState is invalid.")
        compile_rule(definition, region, self.account_id)
        tags = resource_tags.parse_tags(p.get("Tags"), limit=None)
        with self.db.lock:
            old = self._row(name, region)
            if old is not None and old[3]:
                raise invalid(f"The rule {name} is a managed rule: it cannot be changed with PutInsightRule.")
            if old is None and self._count(region) >= MAX_RULES:
                raise AwsError("LimitExceededException", f"The maximum number of Contributor Insights rules ({MAX_RULES}) in this Region has been reached.", 400)
            if old is None:
                self.db.execute(
                    "INSERT INTO insight_rule(region, name, state, definition, managed, tags, created) VALUES (?,?,?,?,0,?,?)",
                    (region, name, state, definition, json.dumps(tags), time.time()),
                )
            else:
                # An update keeps the rule's tags; Tags count when the rule is created (as PutDashboard's)
                self.db.execute("UPDATE insight_rule SET state=?, definition=? WHERE region=? AND name=?", (state, definition, region, name))
        self._reload()

    def _count(self, region: str) -> int:
        return int(self.db.query("SELECT COUNT(*) FROM insight_rule WHERE region=?", (region,))[0][0])

    def describe(self, p: dict[str, Any], region: str) -> dict[str, Any]:
        limit = resource_tags.page_size(p, "MaxResults", 500)
        after = ""
        if p.get("NextToken"):
            after = str(decode_token(p["NextToken"]).get("after", ""))
        size = limit or 500
        rows = self.db.query(
            "SELECT name, state, definition, managed FROM insight_rule WHERE region=? AND name > ? ORDER BY name LIMIT ?", (region, after, size + 1)
        )
        out: dict[str, Any] = {
            "InsightRules": [
                {"Name": n, "State": s, "Schema": f"{SCHEMA_NAME}/1", "Definition": d, "ManagedRule": bool(m), "ApplyOnTransformedLogs": False}
                for n, s, d, m in rows[:size]
            ]
        }
        if len(rows) > size:
            out["NextToken"] = encode_token({"after": rows[size - 1][0]})
        return out

    @staticmethod
    def _names(p: dict[str, Any]) -> list[str]:
        names = p.get("RuleNames")
        if not names:
            raise missing("The parameter RuleNames is required.")
        return [InsightRules.check_name(n, "RuleNames") for n in names]

    def _each(self, p: dict[str, Any], region: str, act: Callable[[str], Any]) -> list[dict[str, str]]:
        """``act`` on each rule the request names (Delete/Enable/DisableInsightRules); the
        names of unknown rules come back as Failures, as on AWS."""
        names = self._names(p)
        failures = []
        with self.db.lock:
            for name in names:
                if self._row(name, region) is None:
                    failures.append(_failure(name))
                    continue
                act(name)
        self._reload()
        return failures

    def delete(self, p: dict[str, Any], region: str) -> list[dict[str, str]]:
        return self._each(p, region, lambda name: self._drop(region, name))

    def _drop(self, region: str, name: str) -> None:
        # "If you create a rule, delete it, and then re-create it with the same name, historical data ... might not be available": here it is not.
        self.db.execute("DELETE FROM insight_rule WHERE region=? AND name=?", (region, name))
        self.db.execute("DELETE FROM insight_point WHERE region=? AND rule=?", (region, name))
        with self._lock:
            self._pending.pop((region, name), None)

    def set_state(self, p: dict[str, Any], state: str, region: str) -> list[dict[str, str]]:
        return self._each(p, region, lambda name: self.db.execute("UPDATE insight_rule SET state=? WHERE region=? AND name=?", (state, region, name)))

    # ------------------------------------------------------------ tags (TagResource & co. with a rule ARN)
    def name_from_arn(self, arn: str, region: str) -> str | None:
        """The rule an ARN names (None when it is no insight-rule ARN); ResourceNotFoundException when there is none."""
        return resource_tags.key_from_arn(arn, ":insight-rule/", lambda name: self.arn(name, region), lambda name: self._row(name, region) is not None)

    def tags_for(self, name: str, region: str) -> dict[str, str]:
        return resource_tags.read_tags(self.db, "insight_rule", "name", region, name)

    def set_tags(self, name: str, tags: dict[str, str], region: str) -> None:
        # limit=None: a rule's tags are not counted here (PutInsightRule's Tags are not either)
        resource_tags.write_tags(self.db, "insight_rule", "name", region, name, tags, limit=None)

    # ------------------------------------------------------------ managed rules
    def templates_for(self, arn: str, dynamodb: Any) -> list[str]:
        """The managed rule templates a resource has: a DynamoDB table's or GSI's (see DDB_KINDS)."""
        found = _ddb_resource(arn)
        if found is None or dynamodb is None:
            return []
        region, table_name, index = found
        table = dynamodb.tables.get((region, table_name)) if hasattr(dynamodb, "tables") else None
        if table is None or table.arn != arn.split("/index/", 1)[0]:
            return []
        keyed: Any = table
        if index:
            keyed = table.gsis.get(index)
            if keyed is None:
                return []
        kinds = DDB_KINDS if keyed.range_key else DDB_KINDS[:2]
        return [f"{DDB_TEMPLATE}-{k}" for k in kinds]

    def list_managed(self, p: dict[str, Any], region: str, dynamodb: Any) -> dict[str, Any]:
        arn = p.get("ResourceARN")
        if not arn:
            raise missing("The parameter ResourceARN is required.")
        if not isinstance(arn, str) or not arn.startswith("arn:") or len(arn.split(":", 5)) < 6:
            raise invalid(f"The value {arn} for parameter ResourceARN is invalid.")
        limit = resource_tags.page_size(p, "MaxResults", 500)
        start = 0
        if p.get("NextToken"):
            start = int(decode_token(p["NextToken"]).get("start", 0))
        rules = {t: (n, s) for n, s, t in self.db.query(
            "SELECT name, state, template FROM insight_rule WHERE region=? AND managed=1 AND resource_arn=?", (region, arn))}
        entries = []
        for template in self.templates_for(arn, dynamodb) if arn.split(":", 5)[3] == region else []:
            entry: dict[str, Any] = {"TemplateName": template, "ResourceARN": arn}
            if template in rules:
                entry["RuleState"] = {"RuleName": rules[template][0], "State": rules[template][1]}
            entries.append(entry)
        size = limit or 500
        out: dict[str, Any] = {"ManagedRules": entries[start : start + size]}
        if len(entries) > start + size:
            out["NextToken"] = encode_token({"start": start + size})
        return out

    def put_managed(self, p: dict[str, Any], region: str, dynamodb: Any) -> list[dict[str, str]]:
        rules = p.get("ManagedRules")
        if not rules:
            raise missing("The parameter ManagedRules is required.")
        failures = []
        for i, rule in enumerate(rules, 1):
            template, arn = rule.get("TemplateName"), rule.get("ResourceARN")
            if not template or not arn:
                raise missing(f"The parameters ManagedRules.member.{i}.TemplateName and ManagedRules.member.{i}.ResourceARN are required.")
            if template not in self.templates_for(arn, dynamodb) or arn.split(":", 5)[3] != region:
                failures.append({
                    "FailureResource": arn, "ExceptionType": "InvalidParameterValueException", "FailureCode": "InvalidParameterValue",
                    "FailureDescription": f"The template {template} is not available for the resource {arn}.",
                })
                continue
            table = dynamodb.tables[(region, _ddb_resource(arn)[1])]  # type: ignore[index]
            self.enable_managed(region, arn, template, table.table_uuid, resource_tags.parse_tags(rule.get("Tags"), limit=None))
        return failures

    def enable_managed(self, region: str, arn: str, template: str, resource_id: str, tags: dict[str, str] | None = None) -> str:
        """Create (or enable again) the managed rule of ``template`` for ``arn``; returns its name.
        A rule of an earlier table of the same name (another ``resource_id``) is replaced."""
        kind = template.rsplit("-", 1)[1]
        with self.db.lock:
            rows = self.db.query(
                "SELECT name, resource_id FROM insight_rule WHERE region=? AND managed=1 AND resource_arn=? AND template=?", (region, arn, template)
            )
            if rows and rows[0][1] == resource_id:
                name = str(rows[0][0])
                self.db.execute("UPDATE insight_rule SET state='ENABLED' WHERE region=? AND name=?", (region, name))
            else:
                for old, _rid in rows:
                    self._drop(region, old)
                name = _ddb_rule_name(kind, arn)
                self.db.execute(
                    "INSERT OR REPLACE INTO insight_rule(region, name, state, definition, managed, template, resource_arn, resource_id, tags, created) "
                    "VALUES (?,?,?,?,1,?,?,?,?,?)",
                    (region, name, "ENABLED", _ddb_definition(kind, arn), template, arn, resource_id, json.dumps(tags or {}), time.time()),
                )
        self._reload()
        return name

    def delete_managed(self, region: str, arn: str) -> None:
        """Delete the managed rules of a resource (and their data)."""
        with self.db.lock:
            for (name,) in self.db.query("SELECT name FROM insight_rule WHERE region=? AND managed=1 AND resource_arn=?", (region, arn)):
                self._drop(region, name)
        self._reload()

    def delete_insight_rule(self, region: str, name: str) -> None:
        with self.db.lock:
            self._drop(region, name)
        self._reload()

    def managed_rules(self, region: str, arn: str) -> list[tuple[str, str, str]]:
        """(name, template, state) of the managed rules of a resource."""
        return [(n, t, s) for n, t, s in self.db.query(
            "SELECT name, template, state FROM insight_rule WHERE region=? AND managed=1 AND resource_arn=? ORDER BY name", (region, arn))]

    # ------------------------------------------------------------ ingest
    def on_log_events(self, region: str, group: str, events: Iterable[tuple[int, str]]) -> None:
        """Evaluate the enabled rules of ``region`` whose log groups match ``group`` over
        (timestamp ms, message) events; the counters are written before returning."""
        rules = self._log_rules.get(region)
        if not rules:
            return
        matching = [(name, rule) for name, rule in rules if rule.applies_to(group)]
        if not matching:
            return
        counters: dict[tuple[str, str], dict[tuple[int, tuple[str, ...]], list[float]]] = {}
        for ts, message in events:
            minute = int(ts // 60000) * 60
            for name, rule in matching:
                found = rule.match(message)
                if found is not None:
                    _add(counters.setdefault((region, name), {}), minute, found[0], found[1])
        if counters:
            self._write(counters)

    def record(self, region: str, rule: str, keys: tuple[str, ...], value: float, ts: float | None = None) -> None:
        """One contribution of a managed rule (DynamoDB's data plane), buffered until the next flush."""
        minute = int((time.time() if ts is None else ts) // 60) * 60
        with self._lock:
            _add(self._pending.setdefault((region, rule), {}), minute, keys, value)

    def merge(self, rows: Iterable[tuple[str, str, int, tuple[str, ...], float, float, float, float]]) -> None:
        """Contributions a cluster's dynamodb role aggregated as ``record`` does and shipped
        (emulator/cluster/insights.py): (region, rule, minute, keys, count, sum, min, max) each,
        buffered with this process's own until the next flush."""
        with self._lock:
            for region, rule, minute, keys, count, total, lo, hi in rows:
                fold(self._pending.setdefault((region, rule), {}), (minute, keys), count, total, lo, hi)

    def flush(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, {}
        if pending:
            # Only rules that still exist: one deleted since its contributions were buffered gets none.
            live = {(r, n) for r, n in self.db.query("SELECT region, name FROM insight_rule")}
            self._write({k: v for k, v in pending.items() if k in live})

    def _write(self, counters: dict[tuple[str, str], dict[tuple[int, tuple[str, ...]], list[float]]]) -> None:
        rows = [
            (region, rule, minute, json.dumps(list(keys)), c, s, lo, hi)
            for (region, rule), points in counters.items()
            for (minute, keys), (c, s, lo, hi) in points.items()
        ]
        if rows:
            self.db.executemany(
                "INSERT INTO insight_point(region, rule, minute, keys, count, sum, min, max) VALUES (?,?,?,?,?,?,?,?) "
                "ON CONFLICT(region, rule, minute, keys) DO UPDATE SET count=count+excluded.count, sum=sum+excluded.sum, "
                "min=MIN(min, excluded.min), max=MAX(max, excluded.max)",
                rows,
            )

    def purge(self) -> None:
        """Drop counters past the retention (the monitoring thread's housekeeping)."""
        self.db.execute("DELETE FROM insight_point WHERE minute < ?", (int(time.time() - RETENTION_SECONDS),))

    # ------------------------------------------------------------ reports
    def report(self, p: dict[str, Any], region: str) -> dict[str, Any]:
        name = self.check_name(p.get("RuleName"))
        for key in ("StartTime", "EndTime", "Period"):
            if p.get(key) is None:
                raise missing(f"The parameter {key} is required.")
        period = p["Period"]
        if isinstance(period, bool) or not isinstance(period, int) or period < 60 or period % 60:
            raise invalid(f"The value {period} for parameter Period is invalid: it must be a multiple of 60 seconds.")
        start, end = _epoch(p["StartTime"]), _epoch(p["EndTime"])
        if start >= end:
            raise invalid("The parameter StartTime must be less than the parameter EndTime.")
        top = p.get("MaxContributorCount")
        if top is None:
            top = 10
        if isinstance(top, bool) or not isinstance(top, int) or not 1 <= top <= MAX_CONTRIBUTORS:
            raise invalid(f"The value {top} for parameter MaxContributorCount is invalid: the range is 1 to {MAX_CONTRIBUTORS}.")
        metrics = p.get("Metrics") or []
        for m in metrics:
            if m not in METRICS:
                raise invalid(f"The value {m} for parameter Metrics is invalid: valid values are {', '.join(METRICS)}.")
        order = p.get("OrderBy") or "Sum"
        if order not in ("Sum", "Maximum"):
            raise invalid(f"The value {order} for parameter OrderBy is invalid: valid values are Sum and Maximum.")
        first = int(start // period) * period
        if math.ceil((end - first) / period) > 1440:
            raise invalid("The time range and Period would make more than 1440 datapoints: increase Period or narrow the time range.")
        row = self._row(name, region)
        if row is None:
            raise not_found(name)
        self.flush()
        definition = _loads(row[2])
        points = self.db.query(
            "SELECT minute, keys, count, sum, min, max FROM insight_point WHERE region=? AND rule=? AND minute >= ? AND minute < ?",
            (region, name, first, end),
        )
        per_key: dict[str, dict[int, float]] = {}
        per_period: dict[int, list[float]] = {}  # period -> [count, sum, min, max]
        period_keys: dict[int, dict[str, float]] = {}
        total = 0.0
        for minute, keys, count, total_sum, lo, hi in points:
            bucket = first + (minute - first) // period * period
            per_key.setdefault(keys, {}).setdefault(bucket, 0.0)
            per_key[keys][bucket] += total_sum
            contrib = period_keys.setdefault(bucket, {})
            contrib[keys] = contrib.get(keys, 0.0) + total_sum
            fold(per_period, bucket, count, total_sum, lo, hi)
            total += total_sum
        ranked = sorted(
            per_key.items(),
            key=lambda kv: (-(sum(kv[1].values()) if order == "Sum" else max(kv[1].values())), kv[0]),
        )[:top]
        contributors = [
            {
                "Keys": json.loads(keys),
                "ApproximateAggregateValue": sum(series.values()) if order == "Sum" else max(series.values()),
                "Datapoints": [{"Timestamp": float(t), "ApproximateValue": v} for t, v in sorted(series.items())],
            }
            for keys, series in ranked
        ]
        datapoints = []
        if metrics:
            for bucket in sorted(per_period):
                count, total_sum, lo, hi = per_period[bucket]
                values = {
                    "UniqueContributors": float(len(period_keys[bucket])),
                    "MaxContributorValue": max(period_keys[bucket].values()),
                    "SampleCount": count,
                    "Sum": total_sum,
                    "Minimum": lo,
                    "Maximum": hi,
                    "Average": total_sum / count if count else 0.0,
                }
                datapoints.append({"Timestamp": float(bucket), **{m: values[m] for m in metrics}})
        contribution = definition.get("Contribution") if isinstance(definition, dict) else None
        labels = contribution.get("Keys") if isinstance(contribution, dict) else None
        return {
            "KeyLabels": [str(k) for k in labels] if isinstance(labels, list) else [],
            "AggregationStatistic": str(definition.get("AggregateOn", "Count")) if isinstance(definition, dict) else "Count",
            "AggregateValue": total,
            "ApproximateUniqueCount": len(per_key),
            "Contributors": contributors,
            "MetricDatapoints": datapoints,
        }


def fold(points: dict[K, list[float]], point: K, count: float, total: float, lo: float, hi: float) -> None:
    """Add an aggregate (count, sum, min, max) into the counter of ``point``: a (minute, keys)
    of the per-minute counters, here and in a cluster's dynamodb role
    (emulator/cluster/insights.py), or a report's period."""
    cur = points.get(point)
    if cur is None:
        points[point] = [count, total, lo, hi]
    else:
        cur[0] += count
        cur[1] += total
        cur[2] = min(cur[2], lo)
        cur[3] = max(cur[3], hi)


def _add(points: dict[tuple[int, tuple[str, ...]], list[float]], minute: int, keys: tuple[str, ...], value: float) -> None:
    fold(points, (minute, keys), 1.0, value, value, value)


def _epoch(v: Any) -> float:
    return float(v.timestamp()) if hasattr(v, "timestamp") else float(v)


def _loads(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return {}


def _failure(name: str) -> dict[str, str]:
    return {
        "FailureResource": name, "ExceptionType": "ResourceNotFoundException", "FailureCode": "ResourceNotFound",
        "FailureDescription": f"Rule {name} does not exist.",
    }


# ------------------------------------------------------------ DynamoDB's managed rules
def _ddb_resource(arn: str) -> tuple[str, str, str] | None:
    """(region, table, index or "") of a DynamoDB table or index ARN."""
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or parts[2] != "dynamodb" or not parts[5].startswith("table/"):
        return None
    rest = parts[5][6:].split("/")
    if len(rest) == 1 and rest[0]:
        return parts[3], rest[0], ""
    if len(rest) == 3 and rest[0] and rest[1] == "index" and rest[2]:
        return parts[3], rest[0], rest[2]
    return None


def _ddb_template(template: str, arn: str) -> tuple[str, str, str] | None:
    """(table, index, kind) of a DynamoDB managed rule."""
    found = _ddb_resource(arn)
    if found is None or not template.startswith(DDB_TEMPLATE + "-"):
        return None
    kind = template.rsplit("-", 1)[1]
    return (found[1], found[2], kind) if kind in DDB_KINDS else None


def _ddb_rule_name(kind: str, arn: str) -> str:
    """DynamoDBContributorInsights-<kind>-<table>[/index/<index>]-<epoch ms>, within 128 characters."""
    resource = arn.split(":table/", 1)[1]
    suffix = f"-{int(time.time() * 1000)}"
    prefix = f"{DDB_TEMPLATE}-{kind}-"
    return prefix + resource[: 128 - len(prefix) - len(suffix)] + suffix


def _ddb_definition(kind: str, arn: str) -> str:
    """The body DescribeInsightRules shows for a DynamoDB managed rule: contributors are the
    accessed (Sum of consumed capacity units) or throttled (Count of refused requests) keys."""
    accessed = kind.endswith("C")
    body: dict[str, Any] = {
        "Schema": {"Name": SCHEMA_NAME, "Version": 1},
        "AggregateOn": "Sum" if accessed else "Count",
        "Contribution": {"Filters": [], "Keys": ["$.PartitionKey", "$.SortKey"] if kind.startswith("SK") else ["$.PartitionKey"]},
        "LogFormat": "JSON",
        "DataSource": {"Service": "DynamoDB", "ResourceARN": arn, "Events": "ConsumedCapacity" if accessed else "Throttled"},
    }
    if accessed:
        body["Contribution"]["ValueOf"] = "$.ConsumedCapacityUnits"
    return json.dumps(body, separators=(",", ":"))
