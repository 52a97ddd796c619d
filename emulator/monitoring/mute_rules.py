"""Alarm mute rules (CloudWatch API Reference: PutAlarmMuteRule, GetAlarmMuteRule,
ListAlarmMuteRules, DeleteAlarmMuteRule).

A rule mutes the actions of up to 100 alarms, named in its MuteTargets, while one of its
windows is open: a window opens at each time its schedule expression names (``cron(...)``,
recurring; ``at(...)``, once) in the rule's time zone and stays open for its Duration
(PT1M to P15D), between StartDate and ExpireDate when they are set. Muted alarms still
evaluate and change state; only their actions are held back (the check is
``AlarmActions._mute`` in emulator.monitoring.alarm_actions).

Rules are regional (ARN arn:aws:cloudwatch:REGION:ACCOUNT:alarm-mute-rule:NAME), kept in
``monitoring.db`` with their tags. The alarm evaluator asks ``muting`` on each state change
that has actions, so the rules live in memory too, compiled, with an index from alarm name
to the rules targeting it: an alarm no rule targets costs one dict lookup.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
import threading
import time
import zoneinfo
from collections.abc import Callable
from typing import Any

from emulator.errors import AwsError
from emulator.monitoring import resource_tags
from emulator.monitoring.query import decode_token, encode_token
from emulator.monitoring.resource_tags import invalid, missing
from emulator.monitoring.statedb import StateDB

# The API Reference documents LimitExceeded for PutAlarmMuteRule without giving the quota;
# this is the number of rules per account and Region the emulator allows.
MAX_RULES = 1000
MAX_TARGETS = 100
MIN_DURATION = 60
MAX_DURATION = 15 * 86400
STATUSES = ("SCHEDULED", "ACTIVE", "EXPIRED")

_SCHEMA = """
    CREATE TABLE IF NOT EXISTS alarm_mute_rule (
        region TEXT NOT NULL, name TEXT NOT NULL, body BLOB NOT NULL, tags BLOB NOT NULL, updated REAL NOT NULL,
        PRIMARY KEY (region, name));
"""
_DURATION = re.compile(r"^P(?!$)(?:(\d+)W)?(?:(\d+)D)?(?:T(?=\d)(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$")
_AT = re.compile(r"^at\((\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})\)$")
_CRON = re.compile(r"^cron\(([^()]*)\)$")
_MONTHS = {m: i for i, m in enumerate(("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"), 1)}
_DAYS = {d: i for i, d in enumerate(("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"))}
# (low, high, names) of cron's five fields: minutes, hours, day of month, month, day of week
# (0 and 7 are Sunday, as in cron)
_FIELDS: tuple[tuple[int, int, dict[str, int]], ...] = ((0, 59, {}), (0, 23, {}), (1, 31, {}), (1, 12, _MONTHS), (0, 7, _DAYS))


def not_found(name: str) -> AwsError:
    return AwsError(
        "ResourceNotFoundException", f"The alarm mute rule {name} does not exist.", 404, extra={"ResourceType": "AlarmMuteRule", "ResourceId": name}
    )


# ------------------------------------------------------------------ schedules
def parse_duration(text: Any) -> int:
    """Seconds of an ISO 8601 duration of weeks, days, hours, minutes and seconds."""
    m = _DURATION.match(text) if isinstance(text, str) else None
    if m is None:
        raise invalid(f"The value {text} for parameter Rule.Schedule.Duration is invalid. Use an ISO 8601 duration such as PT4H or P2DT12H.")
    weeks, days, hours, minutes, seconds = (int(g or 0) for g in m.groups())
    total = (((weeks * 7 + days) * 24 + hours) * 60 + minutes) * 60 + seconds
    if not MIN_DURATION <= total <= MAX_DURATION:
        raise invalid(f"The value {text} for parameter Rule.Schedule.Duration is invalid. The duration must be between PT1M and P15D.")
    return total


def _cron_field(text: str, index: int, expression: str) -> frozenset[int] | None:
    """The values a field allows; None for ``*`` (any). Only ``*``, ``-`` and ``,`` are
    supported (the API Reference: "The characters *, -, and , are supported in all fields")."""
    low, high, names = _FIELDS[index]
    if text == "*":
        return None
    values: set[int] = set()
    for part in text.split(","):
        bounds = part.split("-")
        if len(bounds) > 2 or not all(bounds):
            raise invalid(f"The value {expression} for parameter Rule.Schedule.Expression is invalid.")
        numbers = []
        for b in bounds:
            key = b.upper()
            if key in names:
                numbers.append(names[key])
            elif b.isdigit() and low <= int(b) <= high:
                numbers.append(int(b))
            else:
                raise invalid(f"The value {expression} for parameter Rule.Schedule.Expression is invalid.")
        first, last = numbers[0], numbers[-1]
        if first > last:
            raise invalid(f"The value {expression} for parameter Rule.Schedule.Expression is invalid.")
        values.update(range(first, last + 1))
    if index == 4 and 7 in values:
        values = (values - {7}) | {0}
    return frozenset(values)


@dataclasses.dataclass(frozen=True)
class Cron:
    minutes: frozenset[int] | None
    hours: frozenset[int] | None
    days: frozenset[int] | None
    months: frozenset[int] | None
    weekdays: frozenset[int] | None

    def day_matches(self, day: dt.date) -> bool:
        if self.months is not None and day.month not in self.months:
            return False
        dom = self.days is None or day.day in self.days
        dow = self.weekdays is None or (day.isoweekday() % 7) in self.weekdays
        # cron: when both day fields are restricted, a day matching either one matches
        if self.days is not None and self.weekdays is not None:
            return dom or dow
        return dom and dow

    def latest(self, now: dt.datetime, lookback_days: int) -> dt.datetime | None:
        """The latest time at or before ``now`` (aware, in the schedule's zone) the
        expression names, looking back ``lookback_days`` days at most."""
        hours = sorted(self.hours) if self.hours is not None else list(range(24))
        minutes = sorted(self.minutes) if self.minutes is not None else list(range(60))
        for back in range(lookback_days + 1):
            day = now.date() - dt.timedelta(days=back)
            if not self.day_matches(day):
                continue
            for hour in reversed(hours):
                if back == 0 and hour > now.hour:
                    continue
                for minute in reversed(minutes):
                    if back == 0 and hour == now.hour and minute > now.minute:
                        continue
                    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=now.tzinfo)
        return None


def parse_expression(text: Any, zone: dt.tzinfo) -> Cron | dt.datetime:
    """A ``cron(...)`` expression, or the time of an ``at(...)`` one (aware, in ``zone``)."""
    if not isinstance(text, str):
        raise invalid(f"The value {text} for parameter Rule.Schedule.Expression is invalid.")
    at = _AT.match(text)
    if at is not None:
        try:
            year, month, day, hour, minute = (int(g) for g in at.groups())
            return dt.datetime(year, month, day, hour, minute, tzinfo=zone)
        except ValueError as exc:
            raise invalid(f"The value {text} for parameter Rule.Schedule.Expression is invalid.") from exc
    cron = _CRON.match(text)
    if cron is None:
        raise invalid(f"The value {text} for parameter Rule.Schedule.Expression is invalid. Use cron(Minutes Hours Day-of-month Month Day-of-week) or at(yyyy-MM-ddThh:mm).")
    fields = cron.group(1).split()
    if len(fields) != 5:
        raise invalid(f"The value {text} for parameter Rule.Schedule.Expression is invalid. A cron expression has five fields.")
    return Cron(*(_cron_field(f, i, text) for i, f in enumerate(fields)))


def parse_zone(name: Any) -> dt.tzinfo:
    if name is None:
        return dt.UTC
    try:
        return zoneinfo.ZoneInfo(str(name))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise invalid(f"The value {name} for parameter Rule.Schedule.Timezone is invalid.") from exc


@dataclasses.dataclass(frozen=True)
class MuteRule:
    name: str
    body: dict[str, Any]  # the API's view: Description, Rule, MuteTargets, StartDate, ExpireDate (epoch seconds)
    schedule: Cron | dt.datetime
    zone: dt.tzinfo
    duration: int
    start: float | None
    expire: float | None
    targets: frozenset[str]
    updated: float

    @classmethod
    def compile(cls, name: str, body: dict[str, Any], updated: float) -> MuteRule:
        schedule = body["Rule"]["Schedule"]
        zone = parse_zone(schedule.get("Timezone"))
        return cls(
            name, body, parse_expression(schedule["Expression"], zone), zone, parse_duration(schedule["Duration"]),
            body.get("StartDate"), body.get("ExpireDate"), frozenset(body["MuteTargets"]["AlarmNames"]), updated,
        )

    @property
    def mute_type(self) -> str:
        return "RECURRING" if isinstance(self.schedule, Cron) else "ONE_TIME"

    def window(self, now: float) -> tuple[float, float] | None:
        """The window (start, end) open at ``now``, if any, before StartDate/ExpireDate."""
        if isinstance(self.schedule, Cron):
            # the latest opening before now is the one whose window reaches furthest
            opened = self.schedule.latest(dt.datetime.fromtimestamp(now, self.zone), self.duration // 86400 + 1)
            begin = opened.timestamp() if opened is not None else None
        else:
            begin = self.schedule.timestamp()
        if begin is None or not begin <= now < begin + self.duration:
            return None
        return begin, begin + self.duration

    def status(self, now: float) -> str:
        if self.expire is not None and now >= self.expire:
            return "EXPIRED"
        if isinstance(self.schedule, dt.datetime) and now >= self.schedule.timestamp() + self.duration:
            return "EXPIRED"  # a one-time window that has closed never opens again
        return "ACTIVE" if self.active(now) else "SCHEDULED"

    def active(self, now: float) -> bool:
        if self.start is not None and now < self.start:
            return False
        if self.expire is not None and now >= self.expire:
            return False
        return self.window(now) is not None


# ------------------------------------------------------------------ the rules
class MuteRules:
    def __init__(self, db: StateDB, account_id: str, clock: Callable[[], float] = time.time) -> None:
        self.db = db
        self.account_id = account_id
        self.clock = clock
        with db.lock:
            db.db.executescript(_SCHEMA)
        self._lock = threading.Lock()
        self._rules: dict[str, dict[str, MuteRule]] = {}  # region -> name -> rule
        self._targets: dict[tuple[str, str], set[str]] = {}  # (region, alarm) -> names of the rules targeting it
        for region, name, body, updated in db.query("SELECT region, name, body, updated FROM alarm_mute_rule"):
            try:
                self._index(region, MuteRule.compile(name, json.loads(body), updated))
            except (AwsError, KeyError, ValueError):  # unreadable: it mutes nothing
                continue

    def _index(self, region: str, rule: MuteRule) -> None:
        old = self._rules.setdefault(region, {}).get(rule.name)
        if old is not None:
            self._unindex(region, old)
        self._rules[region][rule.name] = rule
        for alarm in rule.targets:
            self._targets.setdefault((region, alarm), set()).add(rule.name)

    def _unindex(self, region: str, rule: MuteRule) -> None:
        self._rules.get(region, {}).pop(rule.name, None)
        for alarm in rule.targets:
            names = self._targets.get((region, alarm))
            if names is not None:
                names.discard(rule.name)
                if not names:
                    del self._targets[(region, alarm)]

    def reset(self) -> None:
        """Forget every rule of every region (POST /_emulator/reset of CloudWatch)."""
        with self._lock:
            self._rules.clear()
            self._targets.clear()
            self.db.clear("alarm_mute_rule")

    def count(self) -> int:
        with self._lock:
            return sum(len(r) for r in self._rules.values())

    def arn(self, name: str, region: str) -> str:
        return f"arn:aws:cloudwatch:{region}:{self.account_id}:alarm-mute-rule:{name}"

    # ------------------------------------------------------------ what the alarm evaluator asks
    def muting(self, region: str, alarm: str, now: float | None = None) -> str | None:
        """The name of an active rule muting ``alarm`` at ``now``; None when none does."""
        key = (region, alarm)
        if key not in self._targets:  # the common case, without the lock
            return None
        now = self.clock() if now is None else now
        with self._lock:
            rules = self._rules.get(region, {})
            names = sorted(self._targets.get(key, ()))
            found = [rules[n] for n in names if n in rules]
        for rule in found:
            if rule.active(now):
                return rule.name
        return None

    # ------------------------------------------------------------ the API
    def put(self, p: dict[str, Any], region: str, alarm_exists: Callable[[str], bool]) -> None:
        name = p.get("Name")
        if not name:
            raise missing("The parameter Name is required.")
        rule = p.get("Rule") or {}
        schedule = rule.get("Schedule") or {}
        if not schedule.get("Expression"):
            raise missing("The parameter Rule.Schedule.Expression is required.")
        if not schedule.get("Duration"):
            raise missing("The parameter Rule.Schedule.Duration is required.")
        targets = p.get("MuteTargets")
        if targets is None or targets.get("AlarmNames") is None:
            raise missing("The parameter MuteTargets.AlarmNames is required.")
        names = list(dict.fromkeys(targets["AlarmNames"]))
        if not names:
            raise invalid("The parameter MuteTargets.AlarmNames must name at least one alarm.")
        if len(names) > MAX_TARGETS:
            raise invalid(f"The collection MuteTargets.AlarmNames must not have a size greater than {MAX_TARGETS}.")
        # "The alarm names must match existing alarms in your Amazon Web Services account and region."
        unknown = [n for n in names if not alarm_exists(n)]
        if unknown:
            raise invalid(f"The alarms [{', '.join(unknown)}] in MuteTargets.AlarmNames do not exist.")
        start = _epoch(p.get("StartDate"))
        expire = _epoch(p.get("ExpireDate"))
        if start is not None and expire is not None and expire <= start:
            raise invalid("The parameter ExpireDate must be later than the parameter StartDate.")
        body: dict[str, Any] = {
            "Rule": {"Schedule": {k: schedule[k] for k in ("Expression", "Duration", "Timezone") if schedule.get(k) is not None}},
            "MuteTargets": {"AlarmNames": names},
        }
        if p.get("Description") is not None:
            body["Description"] = p["Description"]
        if start is not None:
            body["StartDate"] = start
        if expire is not None:
            body["ExpireDate"] = expire
        now = self.clock()
        compiled = MuteRule.compile(name, body, now)  # validates the schedule
        tags = resource_tags.parse_tags(p.get("Tags"))
        with self._lock:
            exists = name in self._rules.get(region, {})
            if not exists and len(self._rules.get(region, {})) >= MAX_RULES:
                raise AwsError("LimitExceeded", f"The quota of {MAX_RULES} alarm mute rules for this account and Region has been reached.", 400)
            if exists:
                # An update replaces the configuration and keeps the rule's tags (Tags count
                # when the rule is created, as for alarms; TagResource changes them after).
                self.db.execute("UPDATE alarm_mute_rule SET body=?, updated=? WHERE region=? AND name=?", (json.dumps(body), now, region, name))
            else:
                self.db.execute(
                    "INSERT INTO alarm_mute_rule(region, name, body, tags, updated) VALUES (?,?,?,?,?)",
                    (region, name, json.dumps(body), json.dumps(tags), now),
                )
            self._index(region, compiled)

    def _rule(self, name: Any, region: str) -> MuteRule:
        if not name:
            raise missing("The parameter AlarmMuteRuleName is required.")
        with self._lock:
            rule = self._rules.get(region, {}).get(name)
        if rule is None:
            raise not_found(str(name))
        return rule

    def get(self, name: Any, region: str) -> dict[str, Any]:
        rule = self._rule(name, region)
        now = self.clock()
        return {
            "Name": rule.name, "AlarmMuteRuleArn": self.arn(rule.name, region), **rule.body,
            "Status": rule.status(now), "LastUpdatedTimestamp": rule.updated, "MuteType": rule.mute_type,
        }

    def list_rules(self, p: dict[str, Any], region: str, alarm_exists: Callable[[str], bool]) -> dict[str, Any]:
        size = resource_tags.page_size(p, "MaxRecords", 100) or 50
        statuses = p.get("Statuses") or []
        for s in statuses:
            if s not in STATUSES:
                raise invalid(f"The value {s} for parameter Statuses is invalid.")
        alarm = p.get("AlarmName")
        if alarm is not None and not alarm_exists(alarm):
            raise AwsError("ResourceNotFoundException", f"The alarm {alarm} does not exist.", 404, extra={"ResourceType": "Alarm", "ResourceId": alarm})
        after = str(decode_token(p["NextToken"]).get("after", "")) if p.get("NextToken") else ""
        now = self.clock()
        with self._lock:
            rules = sorted(self._rules.get(region, {}).values(), key=lambda r: r.name)
        selected = []
        for rule in rules:
            if rule.name <= after or (alarm is not None and alarm not in rule.targets):
                continue
            status = rule.status(now)
            if statuses and status not in statuses:
                continue
            summary: dict[str, Any] = {
                "AlarmMuteRuleArn": self.arn(rule.name, region), "Status": status, "MuteType": rule.mute_type, "LastUpdatedTimestamp": rule.updated,
            }
            if rule.expire is not None:
                summary["ExpireDate"] = rule.expire
            selected.append((rule.name, summary))
            if len(selected) > size:
                break
        out: dict[str, Any] = {"AlarmMuteRuleSummaries": [s for _, s in selected[:size]]}
        if len(selected) > size:
            out["NextToken"] = encode_token({"after": selected[size - 1][0]})
        return out

    def delete(self, name: Any, region: str) -> None:
        """Idempotent: "If you delete a mute rule that does not exist, the operation succeeds"."""
        if not name:
            raise missing("The parameter AlarmMuteRuleName is required.")
        with self._lock:
            rule = self._rules.get(region, {}).get(name)
            self.db.execute("DELETE FROM alarm_mute_rule WHERE region=? AND name=?", (region, name))
            if rule is not None:
                self._unindex(region, rule)

    # ------------------------------------------------------------ tags (TagResource & co. with a rule ARN)
    def name_from_arn(self, arn: str, region: str) -> str | None:
        """The rule an ARN names (None when it is no alarm-mute-rule ARN); ResourceNotFoundException when there is none."""
        return resource_tags.key_from_arn(arn, ":alarm-mute-rule:", lambda name: self.arn(name, region), lambda name: self._known(name, region))

    def _known(self, name: str, region: str) -> bool:
        with self._lock:
            return name in self._rules.get(region, {})

    def tags_for(self, name: str, region: str) -> dict[str, str]:
        return resource_tags.read_tags(self.db, "alarm_mute_rule", "name", region, name)

    def set_tags(self, name: str, tags: dict[str, str], region: str) -> None:
        resource_tags.write_tags(self.db, "alarm_mute_rule", "name", region, name, tags)


def _epoch(v: Any) -> float | None:
    if v is None:
        return None
    return float(v.timestamp()) if hasattr(v, "timestamp") else float(v)
