"""DynamoDB Contributor Insights (API Reference: UpdateContributorInsights,
DescribeContributorInsights, ListContributorInsights; Developer Guide, "Using CloudWatch
Contributor Insights for DynamoDB").

Enabling insights on a table (or a GSI) creates CloudWatch managed rules
(emulator.monitoring.insight_rules), as on AWS:

- ``DynamoDBContributorInsights-PKC-<table>-<epoch ms>``: most accessed partition keys;
- ``...-PKT-...``: most throttled partition keys;
- ``...-SKC-...`` / ``...-SKT-...``: the same by partition and sort key, where there is one.

ContributorInsightsMode THROTTLED_KEYS makes only the throttled-keys rules. The data plane
feeds them: each item read or written adds its key with the capacity units consumed (a
request over several items shares its units evenly among them), and each request the
capacity limiter refuses adds its keys to the throttled-keys rules. Query counts the
partition key of its key condition; Scan and PartiQL are attributed to no key. A write of a
whole item (PutItem, BatchWriteItem's PutRequest, TransactWriteItems' Put) also counts on the
GSIs whose keys the item has.

The state (status, mode, last update) is kept with the rules, in the monitoring state
database, through a backend (``InsightsBackend``):

- one process: ``LocalRules``, the CloudWatch engine of this process (``insight_rules``);
- a cluster (``--role dynamodb``): emulator/cluster/insights.py ``RemoteInsightRules``
  (``insight_rules_remote``). The control operations are calls to the monitoring role,
  which runs the same functions below (``apply_update``, ``read_state``, ``read_states``) on
  its rules; the data plane counts here exactly as in one process, into a buffer that a
  thread ships in batches (every ``telemetry_flush`` seconds) to the monitoring role, whose
  answers carry the enabled rules back. So a report shows a contribution once its batch
  arrived (at most ``telemetry_flush`` seconds later than in one process).

Without either (``--services`` without cloudwatch) UpdateContributorInsights answers a ValidationException.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import time
from typing import Any, Protocol

from emulator.errors import AwsError
from emulator.monitoring.insight_rules import DDB_TEMPLATE, InsightRules
from emulator.monitoring.query import decode_token, encode_token

log = logging.getLogger("emulator.dynamodb")

MODES = ("ACCESSED_AND_THROTTLED_KEYS", "THROTTLED_KEYS")
_EQUALS = re.compile(r"(#?[A-Za-z0-9_.\-]+)\s*=\s*(:[A-Za-z0-9_]+)|(:[A-Za-z0-9_]+)\s*=\s*(#?[A-Za-z0-9_.\-]+)")
_NO_TARGETS: dict[tuple[str, str], list[tuple[str, str, str, str]]] = {}


def validation(message: str) -> AwsError:
    return AwsError("ValidationException", message, 400)


State = tuple[str, str, str, float, list[str]]  # (table id, status, mode, updated, rule names)
Summary = tuple[str, str, str, str, str]  # (table, index, table id, status, mode)


class InsightsBackend(Protocol):
    """Where the managed rules and the insights state live (see the module docstring)."""

    # (region, table) -> [(index or "", kind, rule name, table id)]: mutated in place, never replaced.
    dynamodb_targets: dict[tuple[str, str], list[tuple[str, str, str, str]]]

    def record(self, region: str, rule: str, keys: tuple[str, ...], value: float, ts: float | None = None) -> None: ...

    def reset_dynamodb(self) -> None: ...

    def update_state(self, region: str, table: str, index: str, table_id: str, arn: str, kinds: list[str] | None, mode: str, now: float) -> None: ...

    def state(self, region: str, table: str, index: str, arn: str) -> State | None: ...

    def states(self, region: str) -> list[Summary]: ...


# ---------------------------------------------------------------- on the CloudWatch engine
def apply_update(rules: InsightRules, region: str, table: str, index: str, table_id: str, arn: str, kinds: list[str] | None, mode: str, now: float) -> None:
    """Enable the managed rules of ``kinds`` (None: disable) of a table or GSI, and keep its state."""
    if kinds is not None:
        wanted = {f"{DDB_TEMPLATE}-{k}" for k in kinds}
        # Rules of a mode no longer asked for go; those of an earlier table of this name too (enable_managed)
        for name, template, _state in rules.managed_rules(region, arn):
            if template not in wanted:
                rules.delete_insight_rule(region, name)
        for template in sorted(wanted):
            rules.enable_managed(region, arn, template, table_id)
        status = "ENABLED"
    else:
        rules.delete_managed(region, arn)
        status = "DISABLED"
    rules.db.execute(
        "INSERT OR REPLACE INTO dynamodb_insights(region, table_name, index_name, table_id, status, mode, updated) VALUES (?,?,?,?,?,?,?)",
        (region, table, index, table_id, status, mode, now),
    )


def read_state(rules: InsightRules, region: str, table: str, index: str, arn: str) -> State | None:
    """The state of a table's or index's insights (None: never enabled), with its rules' names."""
    rows = rules.db.query("SELECT table_id, status, mode, updated FROM dynamodb_insights WHERE region=? AND table_name=? AND index_name=?", (region, table, index))
    if not rows:
        return None
    table_id, status, mode, updated = rows[0]
    names = [name for name, _t, _s in rules.managed_rules(region, arn)] if status == "ENABLED" else []
    return str(table_id), str(status), str(mode), float(updated), names


def read_states(rules: InsightRules, region: str) -> list[Summary]:
    rows = rules.db.query("SELECT table_name, index_name, table_id, status, mode FROM dynamodb_insights WHERE region=? ORDER BY table_name, index_name", (region,))
    return [(str(t), str(i), str(tid), str(s), str(m)) for t, i, tid, s, m in rows]


class LocalRules:
    """``InsightsBackend`` over the CloudWatch engine of this process."""

    def __init__(self, rules: InsightRules) -> None:
        self.rules = rules
        self.dynamodb_targets = rules.dynamodb_targets

    def record(self, region: str, rule: str, keys: tuple[str, ...], value: float, ts: float | None = None) -> None:
        self.rules.record(region, rule, keys, value, ts)

    def reset_dynamodb(self) -> None:
        self.rules.reset_dynamodb()

    def update_state(self, region: str, table: str, index: str, table_id: str, arn: str, kinds: list[str] | None, mode: str, now: float) -> None:
        apply_update(self.rules, region, table, index, table_id, arn, kinds, mode, now)

    def state(self, region: str, table: str, index: str, arn: str) -> State | None:
        return read_state(self.rules, region, table, index, arn)

    def states(self, region: str) -> list[Summary]:
        return read_states(self.rules, region)


class ContributorInsights:
    def __init__(self, engine: Any, components: dict[str, Any]) -> None:
        self.engine = engine
        self.components = components
        # ``record`` of the backend: what the data plane calls (the engine's own in one process).
        self.rules: InsightsBackend | InsightRules | None = None
        self.backend: InsightsBackend | None = None
        # The enabled managed rules by (region, table): the one check of the data plane. An
        # empty dict until a backend is attached; then the backend's own (kept current by it).
        self.targets = _NO_TARGETS

    def attach(self) -> InsightsBackend | None:
        if self.backend is None:
            rules = self.components.get("insight_rules")
            if isinstance(rules, InsightRules):
                self.backend = LocalRules(rules)
                self.rules = rules
                self.targets = rules.dynamodb_targets
            else:
                remote = self.components.get("insight_rules_remote")  # a cluster's dynamodb role
                if remote is not None:
                    self.backend = self.rules = remote
                    self.targets = remote.dynamodb_targets
        return self.backend

    def reset(self) -> None:
        backend = self.attach()
        if backend is not None:
            backend.reset_dynamodb()

    def _rules(self) -> InsightsBackend:
        rules = self.attach()
        if rules is None:
            # Not a server fault (never a 500): this topology has no CloudWatch beside DynamoDB
            # (``--services`` without cloudwatch; a cluster's dynamodb role has the monitoring role's).
            raise AwsError("ValidationException", "Contributor Insights needs CloudWatch, which this server does not run "
                           "(serve cloudwatch with dynamodb, or run a cluster with a monitoring role).", 400)
        return rules

    # ------------------------------------------------------------ operations
    def _resource(self, params: dict[str, Any], region: str) -> tuple[Any, str, Any, str]:
        """(table, index name or "", the keyed table or index, its ARN)."""
        table = self.engine.table(params.get("TableName"), "tableName", region)
        index = params.get("IndexName") or ""
        if not index:
            return table, "", table, table.arn
        found = table.gsis.get(index)
        if found is None:
            raise AwsError("ResourceNotFoundException", f"Requested resource not found: Index: {index} not found for table: {table.name}", 400)
        return table, index, found, f"{table.arn}/index/{index}"

    def update(self, params: dict[str, Any], region: str) -> dict[str, Any]:
        rules = self._rules()
        action = params.get("ContributorInsightsAction")
        if action not in ("ENABLE", "DISABLE"):
            raise validation(
                f"1 validation error detected: Value '{action}' at 'contributorInsightsAction' failed to satisfy constraint: Member must satisfy enum value set: [ENABLE, DISABLE]"
            )
        mode = params.get("ContributorInsightsMode") or MODES[0]
        if mode not in MODES:
            raise validation(
                f"1 validation error detected: Value '{mode}' at 'contributorInsightsMode' failed to satisfy constraint: Member must satisfy enum value set: [{', '.join(MODES)}]"
            )
        table, index, keyed, arn = self._resource(params, region)
        kinds: list[str] | None = None
        if action == "ENABLE":
            kinds = ["PKT", "SKT"] if mode == "THROTTLED_KEYS" else ["PKC", "PKT", "SKC", "SKT"]
            if not keyed.range_key:
                kinds = [k for k in kinds if not k.startswith("SK")]
            shown = "ENABLING"
        else:
            shown = "DISABLING"
        rules.update_state(region, table.name, index, table.table_uuid, arn, kinds, mode, time.time())
        out: dict[str, Any] = {"TableName": table.name, "ContributorInsightsStatus": shown, "ContributorInsightsMode": mode}
        if index:
            out["IndexName"] = index
        return out

    def describe(self, params: dict[str, Any], region: str) -> dict[str, Any]:
        table, index, _keyed, arn = self._resource(params, region)
        out: dict[str, Any] = {"TableName": table.name}
        if index:
            out["IndexName"] = index
        backend = self.attach()
        state = None if backend is None else backend.state(region, table.name, index, arn)
        if state is None or state[0] != table.table_uuid:  # never enabled (or only on an earlier table of the same name)
            out["ContributorInsightsStatus"] = "DISABLED"
            return out
        _table_id, status, mode, updated, names = state
        out["ContributorInsightsStatus"] = status
        out["LastUpdateDateTime"] = round(updated, 3)
        if status == "ENABLED":
            out["ContributorInsightsRuleList"] = names
            out["ContributorInsightsMode"] = mode
        return out

    def list_summaries(self, params: dict[str, Any], region: str) -> dict[str, Any]:
        limit = params.get("MaxResults")
        if limit is None or limit == 0:
            limit = 100
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 100:
            raise validation(f"1 validation error detected: Value '{limit}' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 100")
        only = None
        if params.get("TableName"):
            only = self.engine.table(params["TableName"], "tableName", region)
        start = 0
        if params.get("NextToken"):
            try:
                start = int(decode_token(str(params["NextToken"])).get("start", 0))
            except (AwsError, TypeError, ValueError):
                raise validation("Invalid NextToken") from None
        backend = self.attach()
        rows = [] if backend is None else backend.states(region)
        summaries = []
        for table_name, index, table_id, status, mode in rows:
            table = self.engine.tables.get((region, table_name))
            if table is None or table.table_uuid != table_id or (only is not None and table is not only):
                continue  # the table is gone (or made again): its insights went with it
            if index and index not in table.gsis:
                continue
            entry: dict[str, Any] = {"TableName": table_name, "ContributorInsightsStatus": status}
            if index:
                entry["IndexName"] = index
            if status == "ENABLED":
                entry["ContributorInsightsMode"] = mode
            summaries.append(entry)
        out: dict[str, Any] = {"ContributorInsightsSummaries": summaries[start : start + limit]}
        if len(summaries) > start + limit:
            out["NextToken"] = encode_token({"start": start + limit})
        return out

    # ------------------------------------------------------------ data plane
    def observe(self, operation: str | None, params: dict[str, Any], consumed: dict[str, Any] | None, region: str) -> None:
        """A request that succeeded: its keys count on the accessed-keys rules of its tables.
        Called only while some rule is enabled (``targets`` not empty)."""
        try:
            per_table = consumed.get("tables") if isinstance(consumed, dict) else None
            if not isinstance(per_table, dict) or not any((region, name) in self.targets for name in per_table):
                return  # none of the request's tables has insights: its keys are not even looked at
            for name, accesses in _accesses(operation, params).items():
                targets = self.targets.get((region, name))
                if not targets or not accesses:
                    continue
                units = per_table.get(name)
                total = float(units.get("read", 0.0)) + float(units.get("write", 0.0)) if isinstance(units, dict) else 0.0
                self._count(region, name, targets, accesses, "C", total / len(accesses))
        except Exception:  # insights never fail a request that succeeded
            log.exception("Contributor Insights failed to count a %s request", operation)

    def throttled(self, operation: str, params: dict[str, Any], region: str) -> None:
        """A request the capacity limiter refused: its keys count on the throttled-keys rules."""
        if not self.targets:
            return
        try:
            for name, accesses in _accesses(operation, params).items():
                targets = self.targets.get((region, name))
                if targets and accesses:
                    self._count(region, name, targets, accesses, "T", 1.0)
        except Exception:
            log.exception("Contributor Insights failed to count a throttled %s request", operation)

    def _count(self, region: str, name: str, targets: list[tuple[str, str, str, str]], accesses: list[tuple[str, dict[str, Any], bool]], suffix: str, value: float) -> None:
        table = self.engine.tables.get((region, name))
        rules = self.rules
        if table is None or rules is None:
            return
        for index, kind, rule, table_id in targets:
            if not kind.endswith(suffix) or table_id != table.table_uuid:
                continue
            keyed = table if not index else table.gsis.get(index)
            if keyed is None:
                continue
            for accessed_index, attrs, whole_item in accesses:
                # An index rule counts the reads of that index, and the writes of whole items (which carry the index's keys)
                if accessed_index != index and not (index and whole_item):
                    continue
                pk = _text(attrs.get(keyed.hash_key))
                if pk is None:
                    continue
                if kind.startswith("SK"):
                    sk = _text(attrs.get(keyed.range_key)) if keyed.range_key else None
                    if sk is None:
                        continue
                    rules.record(region, rule, (pk, sk), value)
                else:
                    rules.record(region, rule, (pk,), value)


def _table_name(ref: Any) -> str:
    if isinstance(ref, str) and ref.startswith("arn:") and ":table/" in ref:
        return ref.split(":table/", 1)[1].split("/", 1)[0]
    return ref if isinstance(ref, str) else ""


def _accesses(operation: str | None, params: dict[str, Any]) -> dict[str, list[tuple[str, dict[str, Any], bool]]]:
    """The items a request names, by table: (index or "", attributes with the key, a whole item?)."""
    out: dict[str, list[tuple[str, dict[str, Any], bool]]] = {}

    def add(table: Any, index: str, attrs: Any, whole: bool = False) -> None:
        if isinstance(attrs, dict):
            out.setdefault(_table_name(table), []).append((index, attrs, whole))

    if operation == "PutItem":
        add(params.get("TableName"), "", params.get("Item"), True)
    elif operation in ("GetItem", "UpdateItem", "DeleteItem"):
        add(params.get("TableName"), "", params.get("Key"))
    elif operation == "Query":
        add(params.get("TableName"), params.get("IndexName") or "", _key_condition(params))
    elif operation == "BatchGetItem":
        for table, request in (params.get("RequestItems") or {}).items():
            for key in (request or {}).get("Keys") or []:
                add(table, "", key)
    elif operation == "BatchWriteItem":
        for table, requests in (params.get("RequestItems") or {}).items():
            for request in requests or []:
                if "PutRequest" in request:
                    add(table, "", (request["PutRequest"] or {}).get("Item"), True)
                elif "DeleteRequest" in request:
                    add(table, "", (request["DeleteRequest"] or {}).get("Key"))
    elif operation in ("TransactGetItems", "TransactWriteItems"):
        for item in params.get("TransactItems") or []:
            for kind, body in (item or {}).items():
                if isinstance(body, dict):
                    if kind == "Put":
                        add(body.get("TableName"), "", body.get("Item"), True)
                    else:
                        add(body.get("TableName"), "", body.get("Key"))
    return out


def _key_condition(params: dict[str, Any]) -> dict[str, Any]:
    """The attributes a Query's key condition fixes with ``=`` (its partition key, maybe its sort key)."""
    found: dict[str, Any] = {}
    legacy = params.get("KeyConditions")
    if isinstance(legacy, dict):
        for attr, cond in legacy.items():
            values = (cond or {}).get("AttributeValueList") or []
            if (cond or {}).get("ComparisonOperator") == "EQ" and values:
                found[attr] = values[0]
        return found
    expression = params.get("KeyConditionExpression")
    if not isinstance(expression, str):
        return found
    names = params.get("ExpressionAttributeNames") or {}
    values = params.get("ExpressionAttributeValues") or {}
    for m in _EQUALS.finditer(expression):
        name, placeholder = (m.group(1), m.group(2)) if m.group(1) else (m.group(4), m.group(3))
        attr = names.get(name) if name.startswith("#") else name
        if attr is not None and placeholder in values:
            found[attr] = values[placeholder]
    return found


def _text(value: Any) -> str | None:
    """A key attribute value as a contributor key: a string, a number as written, binary in base64."""
    if not isinstance(value, dict) or len(value) != 1:
        return None
    kind, v = next(iter(value.items()))
    if kind == "B":
        return base64.b64encode(v).decode() if isinstance(v, bytes | bytearray) else str(v)
    if kind in ("S", "N"):
        return str(v)
    return json.dumps(value, sort_keys=True, default=str)
