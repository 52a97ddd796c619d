"""Metric and composite alarms: storage, the evaluator and actions.

The evaluator follows the User Guide, "Evaluating an alarm": for the last
EvaluationPeriods complete periods it classifies each datapoint as breaching,
not breaching or missing (TreatMissingData decides what missing means), and
goes to ALARM when at least DatapointsToAlarm are breaching. ``clock`` is
injectable so that tests drive transitions with fake time.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import math
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import orjson

from emulator.errors import AwsError
from emulator.monitoring import metrics_insights
from emulator.monitoring import query as mquery
from emulator.monitoring.alarm_actions import AlarmActions, iso
from emulator.monitoring.alarm_rules import eval_rule, parse_rule, rule_alarms
from emulator.monitoring.metrics import MetricStore, norm_dims
from emulator.monitoring.statedb import StateDB

log = logging.getLogger("emulator.monitoring.alarms")

STATES = ("OK", "ALARM", "INSUFFICIENT_DATA")
OPERATORS = {
    "GreaterThanOrEqualToThreshold": (lambda v, t: v >= t, "greater than or equal to"),
    "GreaterThanThreshold": (lambda v, t: v > t, "greater than"),
    "LessThanThreshold": (lambda v, t: v < t, "less than"),
    "LessThanOrEqualToThreshold": (lambda v, t: v <= t, "less than or equal to"),
}
ANOMALY_OPERATORS = ("LessThanLowerOrGreaterThanUpperThreshold", "LessThanLowerThreshold", "GreaterThanUpperThreshold")


def _band_check(op: str, upper: dict[float, float], lower: dict[float, float]) -> tuple[Callable[[float, float], bool], str]:
    """The breach test of an anomaly band comparison operator at a period, and its words."""
    if op == "GreaterThanUpperThreshold":
        return (lambda t, v: v > upper[t]), "greater than the upper threshold of"
    if op == "LessThanLowerThreshold":
        return (lambda t, v: v < lower[t]), "less than the lower threshold of"
    return (lambda t, v: v > upper[t] or v < lower[t]), "outside"


def _bad(message: str, code: str = "ValidationError") -> AwsError:
    return AwsError(code, message, 400)


def _alarm_period(period: int) -> bool:
    """An alarm's Period: "Valid values are 10, 20, 30, and any multiple of 60" (1 and 5, valid for reads, are not)."""
    return period in (10, 20, 30) or (period >= 60 and period % 60 == 0)


# ------------------------------------------------------------------ the manager
class AlarmManager:
    """The alarms of every region. CloudWatch alarms are regional (ARN
    arn:aws:cloudwatch:REGION:ACCOUNT:alarm:NAME): each region has its own names, composite
    rules that refer to its own alarms, its own history, evaluated on its own metrics. Each
    operation takes the request's region (None: ``region``, the default region); the
    alarms of one region live in a RegionAlarms."""

    def __init__(
        self,
        db: StateDB,
        store: MetricStore,
        region: str,
        account_id: str,
        clock: Callable[[], float] = time.time,
        components: dict[str, Any] | None = None,
        webhooks: dict[str, str] | None = None,
    ) -> None:
        self.db = db
        self.store = store
        self.region = region
        self.account_id = account_id
        self.clock = clock
        self.components = components if components is not None else {}
        self.webhooks = webhooks or {}
        self.lock = threading.RLock()  # one for every region: evaluation and the API meet here
        self._regions: dict[str, RegionAlarms] = {}
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="alarm-actions")
        self.sent: list[dict[str, Any]] = []  # the last notifications, for health/debugging
        # Bumped by reset(): an action queued before it is not run, and one running records no history.
        self._generation = 0
        for row_region, name, kind, body in db.query("SELECT region, name, kind, body FROM alarm"):
            regional = self.in_region(row_region, create=True)
            regional.alarms[name] = orjson.loads(body)
            regional.kinds[name] = kind

    def in_region(self, region: str | None, create: bool = False) -> RegionAlarms:
        """The alarms of ``region``. A region is kept once an alarm is created in it
        (``create``); until then reads get an empty one, so that calls naming any region
        do not pile up state."""
        region = region or self.region
        regional = self._regions.get(region)
        if regional is None:
            if not create:
                return RegionAlarms(self, region)
            with self.lock:
                regional = self._regions.setdefault(region, RegionAlarms(self, region))
        return regional

    @property
    def alarms(self) -> dict[str, dict[str, Any]]:
        """The default region's alarms by name."""
        return self.in_region(None).alarms

    def count(self) -> int:
        """Alarms in every region (the usage ledger's alarm-months)."""
        with self.lock:
            return sum(len(r.alarms) for r in self._regions.values())

    def close(self) -> None:
        self._pool.shutdown(wait=True)

    def reset(self) -> None:
        """Forget every alarm (metric and composite) of every region and its history (POST
        /_emulator/reset). Under the lock, so that an evaluation in progress finds its alarm
        gone and stops."""
        with self.lock:
            self._generation += 1
            for regional in self._regions.values():
                regional.alarms.clear()
                regional.kinds.clear()
            self.sent.clear()
            self.db.clear("alarm", "alarm_history")

    def purge_history(self, now: float | None = None) -> int:
        """CloudWatch keeps alarm history for 30 days."""
        now = self.clock() if now is None else now
        return int(self.db.execute("DELETE FROM alarm_history WHERE ts < ?", (now - 30 * 86400,)).rowcount)

    def evaluate_all(self, now: float | None = None) -> None:
        with self.lock:
            regions = list(self._regions.values())
        for regional in regions:
            regional.evaluate_all(now)

    # ------------------------------------------------------------ the API, in the request's region
    def arn(self, name: str, region: str | None = None) -> str:
        return self.in_region(region).arn(name)

    def put_metric_alarm(self, p: dict[str, Any], region: str | None = None) -> None:
        self.in_region(region, create=True).put_metric_alarm(p)

    def put_composite_alarm(self, p: dict[str, Any], region: str | None = None) -> None:
        self.in_region(region, create=True).put_composite_alarm(p)

    def describe(self, p: dict[str, Any], region: str | None = None) -> dict[str, Any]:
        return self.in_region(region).describe(p)

    def describe_for_metric(self, p: dict[str, Any], region: str | None = None) -> list[dict[str, Any]]:
        return self.in_region(region).describe_for_metric(p)

    def delete(self, names: list[str], region: str | None = None) -> None:
        self.in_region(region).delete(names)

    def set_actions_enabled(self, names: list[str], enabled: bool, region: str | None = None) -> None:
        self.in_region(region).set_actions_enabled(names, enabled)

    def history(self, p: dict[str, Any], region: str | None = None) -> dict[str, Any]:
        return self.in_region(region).history(p)

    def tags_for(self, arn: str, region: str | None = None) -> dict[str, str]:
        return self.in_region(region).tags_for(arn)

    def tag(self, arn: str, tags: dict[str, str], region: str | None = None) -> None:
        self.in_region(region).tag(arn, tags)

    def untag(self, arn: str, keys: list[str], region: str | None = None) -> None:
        self.in_region(region).untag(arn, keys)

    def set_state(self, name: str, state: str, reason: str, reason_data: str | None, region: str | None = None) -> None:
        self.in_region(region).set_state(name, state, reason, reason_data)

    def _notification(self, name: str, old_state: str, now: float, region: str | None = None) -> dict[str, Any]:
        return self.in_region(region)._notification(name, old_state, now)

    def _run_action(self, name: str, kind: str, action: str, message: dict[str, Any], generation: int | None = None, region: str | None = None) -> None:
        self.in_region(region)._run_action(name, kind, action, message, generation)


class RegionAlarms(AlarmActions):
    """The alarms of one region; the database, metric store, lock and actions pool are the manager's."""

    def __init__(self, manager: AlarmManager, region: str) -> None:
        self.manager = manager
        self.db = manager.db
        self.store = manager.store
        self.region = region
        self.account_id = manager.account_id
        self.components = manager.components
        self.webhooks = manager.webhooks
        self.lock = manager.lock
        self._pool = manager._pool
        self.sent = manager.sent
        self.alarms: dict[str, dict[str, Any]] = {}
        self.kinds: dict[str, str] = {}

    def clock(self) -> float:
        return self.manager.clock()

    def arn(self, name: str) -> str:
        return f"arn:aws:cloudwatch:{self.region}:{self.account_id}:alarm:{name}"

    def _save(self, name: str) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO alarm(region, name, kind, body) VALUES (?,?,?,?)",
            (self.region, name, self.kinds[name], orjson.dumps(self.alarms[name], default=str)),
        )

    def _history(self, name: str, kind: str, type_: str, summary: str, data: dict[str, Any] | str, ts: float | None = None) -> None:
        text = data if isinstance(data, str) else json.dumps(data)
        self.db.execute(
            "INSERT INTO alarm_history(region, name, kind, ts, type, summary, data) VALUES (?,?,?,?,?,?,?)",
            (self.region, name, kind, self.clock() if ts is None else ts, type_, summary, text),
        )

    # ------------------------------------------------------------ validation helpers
    def _check_actions(self, params: dict[str, Any]) -> None:
        for key in ("AlarmActions", "OKActions", "InsufficientDataActions"):
            actions = params.get(key) or []
            if len(actions) > 5:
                raise _bad(f"The collection {key} must not have a size greater than 5.")
            for a in actions:
                if not (a.startswith(("arn:", "http://", "https://"))):
                    raise _bad(f"Invalid arn syntax: {a}")

    def _tags(self, tags: list[dict[str, str]] | None) -> dict[str, str]:
        return {t["Key"]: t["Value"] for t in (tags or [])}

    # ------------------------------------------------------------ metric alarms
    def put_metric_alarm(self, p: dict[str, Any]) -> None:
        name = p.get("AlarmName") or ""
        if not name or len(name) > 255:
            raise _bad("The parameter AlarmName is required and must be 1 to 255 characters long.")
        n = int(p.get("EvaluationPeriods") or 0)
        if n < 1:
            raise _bad("The parameter EvaluationPeriods must be greater than or equal to 1.")
        m = int(p.get("DatapointsToAlarm") or n)
        if m < 1 or m > n:
            raise _bad("DatapointsToAlarm must be greater than or equal to 1 and less than or equal to EvaluationPeriods.")
        op = p.get("ComparisonOperator")
        band_id = p.get("ThresholdMetricId")
        if op not in OPERATORS and op not in ANOMALY_OPERATORS:
            raise _bad(f"Invalid value {op} for parameter ComparisonOperator.")
        if op in ANOMALY_OPERATORS:
            # An alarm on an anomaly detection band: the band (ThresholdMetricId) is the threshold.
            if not band_id:
                raise _bad(f"ThresholdMetricId must be specified for the comparison operator {op}.", "MissingParameter")
            if p.get("Threshold") is not None:
                raise _bad("Threshold must not be specified for an alarm based on an anomaly detection model.", "InvalidParameterCombination")
        elif band_id:
            raise _bad(f"ThresholdMetricId can be used only with the comparison operators {', '.join(ANOMALY_OPERATORS)}.", "InvalidParameterCombination")
        elif p.get("Threshold") is None:
            raise _bad("Threshold must be specified for a static threshold alarm.", "MissingParameter")
        treat = p.get("TreatMissingData", "missing")
        if treat not in ("breaching", "notBreaching", "ignore", "missing"):
            raise _bad(f"Invalid value {treat} for parameter TreatMissingData. Valid values: breaching, notBreaching, ignore, missing")
        metrics = p.get("Metrics")
        if metrics:
            if p.get("MetricName") or p.get("Namespace") or p.get("Statistic") or p.get("ExtendedStatistic"):
                raise _bad("Metrics list and single metric parameters (MetricName, Namespace, Statistic, ...) are mutually exclusive.", "InvalidParameterCombination")
            queries = mquery.prepare(metrics)
            if band_id:
                band = next((q for q in queries if q.id == band_id), None)
                if band is None or not mquery.anomaly_band(band):
                    raise _bad(f"ThresholdMetricId {band_id} must be the Id of an ANOMALY_DETECTION_BAND expression of the metrics list.")
            # the band named by ThresholdMetricId may return data too (the console and Terraform set it)
            if sum(1 for q in queries if q.return_data and q.id != band_id) != 1:
                raise _bad("Exactly one element of the metrics list should return data.")
            period = max(q.period for q in queries)
            if not _alarm_period(period):
                raise _bad("The Period of the metrics list must be set, and be 10, 20, 30 or a multiple of 60.")
        else:
            if band_id:
                raise _bad("An alarm based on an anomaly detection model must use the Metrics list.", "MissingParameter")
            if not p.get("MetricName") or not p.get("Namespace"):
                raise _bad("The parameters MetricName and Namespace are required for a single-metric alarm.", "MissingParameter")
            stat, ext = p.get("Statistic"), p.get("ExtendedStatistic")
            if bool(stat) == bool(ext):
                raise _bad("Exactly one of Statistic or ExtendedStatistic must be specified.", "InvalidParameterCombination")
            if ext and not mquery.valid_stat(ext):
                raise _bad(f"The value {ext} for parameter ExtendedStatistic is not supported.", "InvalidParameterValue")
            period = int(p.get("Period") or 0)
            if not _alarm_period(period):
                raise _bad("The parameter Period must be 10, 20, 30 or a multiple of 60.", "InvalidParameterValue")
        if period * n > 7 * 86400:
            raise _bad("The evaluation period (Period * EvaluationPeriods) must not exceed one week (604800 seconds).")
        if period < 3600 and period * n > 86400:
            # PutMetricAlarm, Period: "For alarms with a period of less than one hour (3,600 seconds), the total evaluation period can't be longer than one day"
            raise _bad("The evaluation period (Period * EvaluationPeriods) must not exceed one day (86400 seconds) for a Period of less than one hour.")
        if metrics and metrics_insights.count_queries([q.node for q in queries]) and period * n > metrics_insights.ALARM_RANGE:
            # GetMetricData: "For alarm condition evaluations, Metrics Insights queries can query only the most recent three hours of metric data."
            raise _bad("An alarm on a Metrics Insights query can evaluate only the most recent three hours: Period * EvaluationPeriods must not exceed 10800 seconds.")
        self._check_actions(p)
        now = self.clock()
        with self.lock:
            old = self.alarms.get(name)
            if old is not None and self.kinds.get(name) != "MetricAlarm":
                raise _bad(f"An alarm named {name} already exists as a composite alarm.", "ResourceConflict")
            body = self._configuration(name, p, old, now) | {
                "MetricName": p.get("MetricName"),
                "Namespace": p.get("Namespace"),
                "Statistic": p.get("Statistic"),
                "ExtendedStatistic": p.get("ExtendedStatistic"),
                "Dimensions": p.get("Dimensions") or [],
                "Period": p.get("Period"),
                "Unit": p.get("Unit"),
                "EvaluationPeriods": n,
                "DatapointsToAlarm": p.get("DatapointsToAlarm"),
                "Threshold": float(p["Threshold"]) if p.get("Threshold") is not None else None,
                "ThresholdMetricId": band_id,
                "ComparisonOperator": op,
                "TreatMissingData": p.get("TreatMissingData"),
                "EvaluateLowSampleCountPercentile": p.get("EvaluateLowSampleCountPercentile"),
                "Metrics": metrics,
            }
            if old and old.get("StateReasonData"):
                body["StateReasonData"] = old["StateReasonData"]
            self._store(name, "MetricAlarm", body)
            self._history(name, "MetricAlarm", "ConfigurationUpdate", f'Alarm "{name}" {"updated" if old else "created"}', {"version": "1.0", "type": "Update" if old else "Create", "updatedAlarm": self.public(name)})

    def put_composite_alarm(self, p: dict[str, Any]) -> None:
        name = p.get("AlarmName") or ""
        if not name:
            raise _bad("The parameter AlarmName is required.", "MissingParameter")
        rule_text = p.get("AlarmRule") or ""
        if not rule_text:
            raise _bad("The parameter AlarmRule is required.", "MissingParameter")
        rule = parse_rule(rule_text)
        refs = rule_alarms(rule)
        with self.lock:
            missing = sorted({r for r in refs if r not in self.alarms})
            if missing:
                raise _bad(f"Could not save the composite alarm as alarms [{', '.join(missing)}] in the alarm rule do not exist")
            if name in refs or self._reaches(refs, name):
                raise _bad("The alarm rule creates a cycle between composite alarms.")
            self._check_actions(p)
            old = self.alarms.get(name)
            if old is not None and self.kinds.get(name) != "CompositeAlarm":
                raise _bad(f"An alarm named {name} already exists as a metric alarm.", "ResourceConflict")
            now = self.clock()
            body = self._configuration(name, p, old, now) | {
                "AlarmRule": rule_text,
                "ActionsSuppressor": p.get("ActionsSuppressor"),
                "ActionsSuppressorWaitPeriod": p.get("ActionsSuppressorWaitPeriod"),
                "ActionsSuppressorExtensionPeriod": p.get("ActionsSuppressorExtensionPeriod"),
            }
            self._store(name, "CompositeAlarm", body)
            self._history(name, "CompositeAlarm", "ConfigurationUpdate", f'Alarm "{name}" {"updated" if old else "created"}', {"version": "1.0", "type": "Update" if old else "Create"})
        self.evaluate_composites()

    def _configuration(self, name: str, p: dict[str, Any], old: dict[str, Any] | None, now: float) -> dict[str, Any]:
        """The fields every alarm kind has: the request's settings and tags, and the
        state an update keeps (PutMetricAlarm/PutCompositeAlarm leave the state as it is)."""
        return {
            "AlarmName": name,
            "AlarmArn": self.arn(name),
            "AlarmDescription": p.get("AlarmDescription"),
            "AlarmConfigurationUpdatedTimestamp": now,
            "ActionsEnabled": p.get("ActionsEnabled", True),
            "OKActions": p.get("OKActions") or [],
            "AlarmActions": p.get("AlarmActions") or [],
            "InsufficientDataActions": p.get("InsufficientDataActions") or [],
            "StateValue": old["StateValue"] if old else "INSUFFICIENT_DATA",
            "StateReason": old["StateReason"] if old else "Unchecked: Initial alarm creation",
            "StateUpdatedTimestamp": old["StateUpdatedTimestamp"] if old else now,
            "StateTransitionedTimestamp": old.get("StateTransitionedTimestamp", now) if old else now,
            # "If you are using this operation to update an existing alarm, any tags you specify in this parameter are ignored."
            "_tags": old.get("_tags", {}) if old else self._tags(p.get("Tags")),
        }

    def _store(self, name: str, kind: str, body: dict[str, Any]) -> None:
        self.alarms[name] = {k: v for k, v in body.items() if v is not None}
        self.kinds[name] = kind
        self._save(name)

    def _reaches(self, refs: list[str], target: str) -> bool:
        stack, seen = list(refs), set()
        while stack:
            name = stack.pop()
            if name == target:
                return True
            if name in seen:
                continue
            seen.add(name)
            alarm = self.alarms.get(name)
            if alarm and self.kinds.get(name) == "CompositeAlarm":
                stack.extend(rule_alarms(parse_rule(alarm["AlarmRule"])))
        return False

    # ------------------------------------------------------------ reads
    def public(self, name: str) -> dict[str, Any]:
        alarm = self.alarms[name]
        out = {k: v for k, v in alarm.items() if not k.startswith("_")}
        if self.kinds[name] == "MetricAlarm":
            out.setdefault("Dimensions", [])
            out["EvaluationState"] = alarm.get("_evaluation_state") if alarm.get("_evaluation_state") else None
            if out["EvaluationState"] is None:
                del out["EvaluationState"]
        return out

    def describe(self, p: dict[str, Any]) -> dict[str, Any]:
        names = p.get("AlarmNames")
        prefix = p.get("AlarmNamePrefix")
        if names and prefix:
            raise _bad("AlarmNames and AlarmNamePrefix are mutually exclusive.", "InvalidParameterCombination")
        types = p.get("AlarmTypes") or ["MetricAlarm"]
        children_of, parents_of = p.get("ChildrenOfAlarmName"), p.get("ParentsOfAlarmName")
        state, action_prefix = p.get("StateValue"), p.get("ActionPrefix")
        limit = int(p.get("MaxRecords") or 50)
        if limit < 1 or limit > 100:
            raise _bad("The parameter MaxRecords must be between 1 and 100.", "InvalidParameterValue")
        with self.lock:
            selected: list[str] = []
            allowed: set[str] | None = None
            if children_of:
                parent = self.alarms.get(children_of)
                allowed = set(rule_alarms(parse_rule(parent["AlarmRule"]))) if parent and "AlarmRule" in parent else set()
                types = ["MetricAlarm", "CompositeAlarm"] if not p.get("AlarmTypes") else types
            if parents_of:
                allowed = {n for n, a in self.alarms.items() if "AlarmRule" in a and parents_of in rule_alarms(parse_rule(a["AlarmRule"]))}
                types = ["CompositeAlarm"] if not p.get("AlarmTypes") else types
            for name in sorted(self.alarms):
                alarm = self.alarms[name]
                if self.kinds[name] not in types:
                    continue
                if names and name not in names:
                    continue
                if prefix and not name.startswith(prefix):
                    continue
                if allowed is not None and name not in allowed:
                    continue
                if state and alarm["StateValue"] != state:
                    continue
                if action_prefix and not any(a.startswith(action_prefix) for k in ("AlarmActions", "OKActions", "InsufficientDataActions") for a in alarm.get(k, [])):
                    continue
                selected.append(name)
            start = 0
            if p.get("NextToken"):
                start = mquery.token_int(p["NextToken"], "o")
            page = selected[start : start + limit]
            out: dict[str, Any] = {
                "MetricAlarms": [self.public(n) for n in page if self.kinds[n] == "MetricAlarm"],
                "CompositeAlarms": [self.public(n) for n in page if self.kinds[n] == "CompositeAlarm"],
            }
            if start + limit < len(selected):
                out["NextToken"] = mquery.encode_token({"o": start + limit})
            return out

    def describe_for_metric(self, p: dict[str, Any]) -> list[dict[str, Any]]:
        dims = norm_dims(p.get("Dimensions"))
        out = []
        with self.lock:
            for name in sorted(self.alarms):
                a = self.alarms[name]
                if self.kinds[name] != "MetricAlarm":
                    continue
                matches = []
                if a.get("Metrics"):
                    for q in a["Metrics"]:
                        metric = (q.get("MetricStat") or {}).get("Metric")
                        if metric:
                            ms = q["MetricStat"]
                            matches.append((metric.get("Namespace"), metric.get("MetricName"), norm_dims(metric.get("Dimensions")), ms.get("Stat"), ms.get("Period"), ms.get("Unit")))
                else:
                    matches.append((a.get("Namespace"), a.get("MetricName"), norm_dims(a.get("Dimensions")), a.get("Statistic") or a.get("ExtendedStatistic"), a.get("Period"), a.get("Unit")))
                for ns, mname, mdims, stat, period, unit in matches:
                    if ns != p.get("Namespace") or mname != p.get("MetricName"):
                        continue
                    if p.get("Dimensions") is not None and mdims != dims:
                        continue
                    if (p.get("Statistic") or p.get("ExtendedStatistic")) and stat != (p.get("Statistic") or p.get("ExtendedStatistic")):
                        continue
                    if p.get("Period") and period != p.get("Period"):
                        continue
                    if p.get("Unit") and unit != p.get("Unit"):
                        continue
                    out.append(self.public(name))
                    break
        return out

    def delete(self, names: list[str]) -> None:
        with self.lock:
            missing = [n for n in dict.fromkeys(names) if n not in self.alarms]
            found = [n for n in dict.fromkeys(names) if n in self.alarms]
            for name in found:
                for other, alarm in self.alarms.items():
                    if other not in names and "AlarmRule" in alarm and name in rule_alarms(parse_rule(alarm["AlarmRule"])):
                        raise AwsError("ResourceConflict", f"Alarm {name} is referenced by the composite alarm {other}; delete the composite alarm first.", 409)
            # "If you specify any incorrect alarm names, the alarms you specify with correct names are still deleted."
            for name in found:
                del self.alarms[name]
                kind = self.kinds.pop(name)
                self.db.execute("DELETE FROM alarm WHERE region=? AND name=?", (self.region, name))
                self._history(name, kind, "ConfigurationUpdate", f'Alarm "{name}" deleted', {"version": "1.0", "type": "Delete"})
            if missing:
                raise AwsError("ResourceNotFound", f"{len(missing)} of the alarms specified for deletion were not found: {', '.join(missing)}", 404)

    def set_actions_enabled(self, names: list[str], enabled: bool) -> None:
        with self.lock:
            for name in names:
                if name in self.alarms:
                    self.alarms[name]["ActionsEnabled"] = enabled
                    self._save(name)

    def history(self, p: dict[str, Any]) -> dict[str, Any]:
        sql = "SELECT id, name, kind, ts, type, summary, data FROM alarm_history WHERE region=?"
        args: list[Any] = [self.region]
        if p.get("AlarmName"):
            sql += " AND name=?"
            args.append(p["AlarmName"])
        if p.get("HistoryItemType"):
            sql += " AND type=?"
            args.append(p["HistoryItemType"])
        if p.get("StartDate"):
            sql += " AND ts>=?"
            args.append(p["StartDate"].timestamp())
        if p.get("EndDate"):
            sql += " AND ts<=?"
            args.append(p["EndDate"].timestamp())
        types = p.get("AlarmTypes") or ["MetricAlarm"]  # "If you omit this parameter, only metric alarms are returned."
        sql += " AND kind IN ({})".format(",".join("?" * len(types)))
        args.extend(types)
        sql += " ORDER BY ts %s, id %s" % (("ASC", "ASC") if p.get("ScanBy") == "TimestampAscending" else ("DESC", "DESC"))
        rows = self.db.query(sql, args)
        limit = int(p.get("MaxRecords") or 100)
        start = mquery.token_int(p["NextToken"], "o") if p.get("NextToken") else 0
        page = rows[start : start + limit]
        out: dict[str, Any] = {
            "AlarmHistoryItems": [
                {"AlarmName": r[1], "AlarmType": r[2], "Timestamp": r[3], "HistoryItemType": r[4], "HistorySummary": r[5], "HistoryData": r[6]} for r in page
            ]
        }
        if start + limit < len(rows):
            out["NextToken"] = mquery.encode_token({"o": start + limit})
        return out

    # ------------------------------------------------------------ tags
    def tags_for(self, arn: str) -> dict[str, str]:
        name = self._name_from_arn(arn)
        return dict(self.alarms[name].get("_tags", {}))

    def tag(self, arn: str, tags: dict[str, str]) -> None:
        with self.lock:
            name = self._name_from_arn(arn)
            self.alarms[name]["_tags"] = {**self.alarms[name].get("_tags", {}), **tags}
            self._save(name)

    def untag(self, arn: str, keys: list[str]) -> None:
        with self.lock:
            name = self._name_from_arn(arn)
            self.alarms[name]["_tags"] = {k: v for k, v in self.alarms[name].get("_tags", {}).items() if k not in keys}
            self._save(name)

    def _name_from_arn(self, arn: str) -> str:
        prefix = f"arn:aws:cloudwatch:{self.region}:{self.account_id}:alarm:"
        if not arn.startswith("arn:aws:cloudwatch:") or ":alarm:" not in arn:
            raise AwsError("InvalidParameterValue", f"Invalid resource ARN {arn}", 400)
        name = arn.split(":alarm:", 1)[1]
        if not arn.startswith(prefix) or name not in self.alarms:
            raise AwsError("ResourceNotFoundException", f"Resource {arn} does not exist.", 404)
        return name

    # ------------------------------------------------------------ state changes
    def set_state(self, name: str, state: str, reason: str, reason_data: str | None) -> None:
        if state not in STATES:
            raise _bad(f"Invalid value {state} for parameter StateValue.", "InvalidParameterValue")
        if reason_data is not None:
            try:
                json.loads(reason_data)
            except ValueError as exc:
                raise AwsError("InvalidFormat", "StateReasonData is not valid JSON", 400) from exc
        with self.lock:
            if name not in self.alarms:
                raise AwsError("ResourceNotFound", f"Alarm {name} not found", 404)
            self._transition(name, state, reason, reason_data, force=True)
        self.evaluate_composites()

    def _transition(self, name: str, state: str, reason: str, reason_data: str | None, force: bool = False) -> bool:
        alarm = self.alarms[name]
        old_state = alarm["StateValue"]
        now = self.clock()
        if old_state == state and not force:
            return False
        old_reason = alarm.get("StateReason")
        previous = self._event_state(name)  # for the EventBridge event (emulator.monitoring.alarm_events)
        alarm["StateValue"] = state
        alarm["StateReason"] = reason
        if reason_data is not None:
            alarm["StateReasonData"] = reason_data
        else:
            alarm.pop("StateReasonData", None)
        alarm["StateUpdatedTimestamp"] = now
        if old_state != state:
            alarm["StateTransitionedTimestamp"] = now
        kind = self.kinds[name]
        self._save(name)
        self._history(
            name,
            kind,
            "StateUpdate",
            f"Alarm updated from {old_state} to {state}",
            {"version": "1.0", "oldState": {"stateValue": old_state, "stateReason": old_reason}, "newState": {"stateValue": state, "stateReason": reason, **({"stateReasonData": json.loads(reason_data)} if reason_data else {})}},
            now,
        )
        if old_state != state:
            self._state_change_event(name, previous, now)
        if old_state != state and alarm.get("ActionsEnabled", True):
            key = {"ALARM": "AlarmActions", "OK": "OKActions", "INSUFFICIENT_DATA": "InsufficientDataActions"}[state]
            if self._mute(name, kind, alarm.get(key, []), old_state, now):  # an active alarm mute rule holds them back
                return True
            for action in alarm.get(key, []):
                message = self._notification(name, old_state, now)
                self._pool.submit(self._run_action, name, kind, action, message, self.manager._generation)
        return True

    # ------------------------------------------------------------ evaluation
    def evaluate_all(self, now: float | None = None) -> None:
        now = self.clock() if now is None else now
        with self.lock:
            names = [n for n, k in self.kinds.items() if k == "MetricAlarm"]
        for name in names:
            try:
                self.evaluate(name, now)
            except Exception:  # one bad alarm must not stop the others
                log.exception("alarm %s evaluation failed", name)
        self.evaluate_composites()
        self.release_muted()  # actions held back by a mute that has ended since

    def evaluate(self, name: str, now: float) -> None:
        with self.lock:
            alarm = self.alarms.get(name)
            if alarm is None:
                return
            alarm = dict(alarm)
        n = int(alarm["EvaluationPeriods"])
        m = int(alarm.get("DatapointsToAlarm") or n)
        if alarm.get("Metrics"):
            queries = mquery.prepare(alarm["Metrics"])
            period = max(q.period for q in queries)
        else:
            period = int(alarm["Period"])
        end = math.floor(now / period) * period  # only complete periods are evaluated
        start = end - n * period
        band_id = alarm.get("ThresholdMetricId")
        upper: dict[float, float] = {}
        lower: dict[float, float] = {}
        if band_id:
            # the band is evaluated whether or not it has ReturnData; the other returned query is the value
            queries = [dataclasses.replace(q, return_data=q.return_data or q.id == band_id) for q in queries]
            results = mquery.evaluate(self.store, queries, start, end, self.region, self.components.get("anomaly_detectors"))
            series = next((items[0].series for q, items in results if q.id != band_id and items), {})
            band = next((items for q, items in results if q.id == band_id), [])
            if len(band) == 2:
                upper, lower = band[0].series, band[1].series
            stat_label = None
        elif alarm.get("Metrics"):
            results = mquery.evaluate(self.store, queries, start, end, self.region, self.components.get("anomaly_detectors"))
            series = results[0][1][0].series if results and results[0][1] else {}
            contributors = [x.series for x in results[0][1]] if results else []  # a Metrics Insights query with GROUP BY: several
            stat_label = None
        else:
            stat_label = str(alarm.get("Statistic") or alarm.get("ExtendedStatistic"))
            series = mquery.stat_series(
                self.store, alarm["Namespace"], alarm["MetricName"], norm_dims(alarm.get("Dimensions")), stat_label, period, start, end, alarm.get("Unit"), self.region
            )
        op = alarm["ComparisonOperator"]
        if band_id:
            # A value outside the band at its period breaches; a period the model has no band for
            # (too little history) counts as missing, as there is nothing to compare with.
            series = {t: v for t, v in series.items() if t in upper and t in lower}
            check, words = _band_check(op, upper, lower)
            threshold = math.nan
        else:
            static, words = OPERATORS[op]
            threshold = float(alarm["Threshold"])

            def check(t: float, v: float) -> bool:
                return bool(static(v, threshold))

        if not band_id and alarm.get("Metrics") and len(contributors) > 1:
            series = metrics_insights.contributor(contributors, [start + i * period for i in range(n)], check, m)  # ALARM when any contributor is
        treat = alarm.get("TreatMissingData", "missing")
        slots = [start + i * period for i in range(n)]
        classes = []
        for t in slots:
            v = series.get(t)
            if v is None or (isinstance(v, float) and math.isnan(v)):
                classes.append("B" if treat == "breaching" else "G" if treat == "notBreaching" else "M")
            else:
                classes.append("B" if check(t, v) else "G")
        present = [(t, series[t]) for t in slots if t in series]
        breaching = classes.count("B")
        if all(c == "M" for c in classes):
            if treat == "ignore":
                return
            new_state = "INSUFFICIENT_DATA"
            reason = f"Insufficient Data: {n} datapoint{'s were' if n != 1 else ' was'} unknown."
        elif not present and treat in ("breaching", "notBreaching"):
            # AWS's wording when every datapoint is missing and TreatMissingData decides.
            new_state = "ALARM" if breaching >= m else "OK"
            periods = f"{n} period{'s' if n != 1 else ''} and {n} missing datapoint{'s were' if n != 1 else ' was'}"
            reason = f"Threshold Crossed: no datapoints were received for {periods} treated as [{'Breaching' if treat == 'breaching' else 'NonBreaching'}]."
        elif breaching >= m:
            new_state = "ALARM"
            transition = "OK -> ALARM" if alarm["StateValue"] != "ALARM" else "ALARM"
            reason = self._band_reason(present, n, words, m, transition, upper, lower) if band_id else self._reason(present, n, words, threshold, m, transition)
        else:
            new_state = "OK"
            reason = self._band_reason(present, n, "not " + words, m, "ALARM -> OK", upper, lower, ok=True) if band_id else self._reason(present, n, "not " + words, threshold, m, "ALARM -> OK", ok=True)
        limits = (
            {"recentUpperThresholds": [upper[t] for t, _ in present], "recentLowerThresholds": [lower[t] for t, _ in present]} if band_id else {"threshold": threshold}
        )
        reason_data = json.dumps(
            {
                "version": "1.0",
                "queryDate": iso(now),
                "startDate": iso(start),
                **({"statistic": stat_label} if stat_label else {}),
                "period": period,
                "recentDatapoints": [v for _, v in present],
                **limits,
                "evaluatedDatapoints": [{"timestamp": iso(t), "value": v} for t, v in reversed(present)],
            }
        )
        with self.lock:
            if name not in self.alarms:
                return
            if self.alarms[name]["StateValue"] != new_state:
                self._transition(name, new_state, reason, reason_data)

    @staticmethod
    def _reason(present: Sequence[tuple[float, float]], n: int, words: str, threshold: float, m: int, transition: str, ok: bool = False) -> str:
        shown = ", ".join(f"{v} ({dt.datetime.fromtimestamp(t, dt.UTC).strftime('%d/%m/%y %H:%M:%S')})" for t, v in reversed(present))
        if ok:
            return f"Threshold Crossed: {len(present)} datapoint{'s' if len(present) != 1 else ''} [{shown}] {'were' if len(present) != 1 else 'was'} {words} the threshold ({threshold})."
        return f"Threshold Crossed: {m} out of the last {n} datapoints [{shown}] {'were' if m != 1 else 'was'} {words} the threshold ({threshold}) (minimum {m} datapoint{'s' if m != 1 else ''} for {transition} transition)."

    @staticmethod
    def _band_reason(
        present: Sequence[tuple[float, float]], n: int, words: str, m: int, transition: str, upper: dict[float, float], lower: dict[float, float], ok: bool = False
    ) -> str:
        shown = ", ".join(f"{v} ({dt.datetime.fromtimestamp(t, dt.UTC).strftime('%d/%m/%y %H:%M:%S')})" for t, v in reversed(present))
        bands = f"upper thresholds [{', '.join(str(upper[t]) for t, _ in reversed(present))}] and lower thresholds [{', '.join(str(lower[t]) for t, _ in reversed(present))}]"
        if ok:
            return f"Thresholds Crossed: {len(present)} datapoint{'s' if len(present) != 1 else ''} [{shown}] {'were' if len(present) != 1 else 'was'} {words} the band ({bands})."
        return f"Thresholds Crossed: {m} out of the last {n} datapoints [{shown}] {'were' if m != 1 else 'was'} {words} the band ({bands}) (minimum {m} datapoint{'s' if m != 1 else ''} for {transition} transition)."

    def evaluate_composites(self) -> None:
        # iterate until stable so that composites of composites settle in one pass
        for _ in range(10):
            changed = False
            with self.lock:
                states = {n: a["StateValue"] for n, a in self.alarms.items()}
                for name in sorted(self.alarms):
                    if self.kinds[name] != "CompositeAlarm":
                        continue
                    alarm = self.alarms[name]
                    rule = parse_rule(alarm["AlarmRule"])
                    new_state = "ALARM" if eval_rule(rule, states) else "OK"
                    if alarm["StateValue"] != new_state:
                        refs = [r for r in rule_alarms(rule) if r in self.alarms]
                        # The alarms that brought the change: to ALARM, those of the rule in ALARM; to
                        # OK, those not in ALARM (all of the rule's when none is). The reason names the
                        # latest of them to change, as CloudWatch words it ("arn:...:alarm:x
                        # transitioned to ALARM at Thursday 04 June, 2020 22:57:27").
                        causes = [r for r in refs if (states.get(r) == "ALARM") == (new_state == "ALARM")] or refs
                        triggering = [{"arn": self.arn(r), "state": {"value": states.get(r), "timestamp": iso(self.alarms[r]["StateUpdatedTimestamp"])}} for r in causes]
                        if causes:
                            last = max(causes, key=lambda r: self.alarms[r]["StateUpdatedTimestamp"])
                            at = dt.datetime.fromtimestamp(self.alarms[last]["StateUpdatedTimestamp"], dt.UTC).strftime("%A %d %B, %Y %H:%M:%S")
                            reason = f"{self.arn(last)} transitioned to {states.get(last)} at {at}"
                        else:  # a rule of constants (TRUE, FALSE) names no alarm
                            reason = "arn:aws:cloudwatch alarm rule evaluated to " + ("TRUE" if new_state == "ALARM" else "FALSE")
                        changed = self._transition(name, new_state, reason, json.dumps({"triggeringAlarms": triggering})) or changed
                        states[name] = new_state
            if not changed:
                return
