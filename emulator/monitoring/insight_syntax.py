"""Contributor Insights rule bodies (CloudWatch User Guide, "Contributor Insights rule syntax").

A rule body is JSON::

    {"Schema": {"Name": "CloudWatchLogRule", "Version": 1},
     "LogGroupNames": ["API-Gateway-Access-Logs*"], "LogGroupARNs": [...],
     "LogFormat": "JSON" | "CLF", "Fields": {"4": "IpAddress", ...},      # Fields: CLF only
     "Contribution": {"Keys": ["$.ip"], "ValueOf": "$.bytes",
                      "Filters": [{"Match": "$.method", "In": ["PUT"]}]},
     "AggregateOn": "Count" | "Sum"}

``compile_rule`` validates a body and returns a ``CompiledRule`` whose ``match`` turns one
log event message into (keys, value), or None when the event does not contribute.
"""

from __future__ import annotations

import fnmatch
import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from emulator.errors import AwsError
from emulator.monitoring.filterpattern import split_fields

SCHEMA_NAME = "CloudWatchLogRule"
MAX_KEYS = 4
MAX_FILTERS = 4
MAX_LOG_GROUPS = 20
STRING_OPERATORS = ("In", "NotIn", "StartsWith")
NUMBER_OPERATORS = ("GreaterThan", "LessThan", "EqualTo", "NotEqualTo")
OPERATORS = (*STRING_OPERATORS, *NUMBER_OPERATORS, "IsPresent")
_JSON_PATH = re.compile(r"^\$(\.[^.\[\]]+|\[\d+\])+$")
_PATH_PART = re.compile(r"\.([^.\[\]]+)|\[(\d+)\]")

_MISSING = object()


def bad(message: str) -> AwsError:
    return AwsError("InvalidParameterValue", f"The rule definition is invalid: {message}", 400)


@dataclass
class CompiledRule:
    log_groups: list[str]  # names, possibly with * wildcards
    log_format: str
    keys: list[str]
    value_of: str | None
    aggregate_on: str  # "Count" | "Sum"
    filters: list[tuple[str, str, Any]]  # (field, operator, operand)
    fields: dict[str, int]  # CLF: field name -> 1-based position

    def applies_to(self, group: str) -> bool:
        return any(fnmatch.fnmatchcase(group, pattern) for pattern in self.log_groups)

    def match(self, message: str) -> tuple[tuple[str, ...], float] | None:
        """(contributor keys, value) of one log event, or None when it does not count: a
        filter fails, a key is missing, or (Sum) the value is not a number."""
        get = self._getter(message)
        if get is None:
            return None
        for field, op, operand in self.filters:
            if not _passes(get(field), op, operand):
                return None
        keys = []
        for key in self.keys:
            v = get(key)
            if v is _MISSING or v is None:
                return None
            keys.append(_text(v))
        if self.aggregate_on == "Count":
            return tuple(keys), 1.0
        number = _number(get(self.value_of or ""))
        if number is None:
            return None
        return tuple(keys), number

    def _getter(self, message: str) -> Callable[[str], Any] | None:
        if self.log_format == "JSON":
            try:
                doc = json.loads(message)
            except ValueError:
                return None
            if not isinstance(doc, dict):
                return None
            return lambda path: _resolve(doc, path)
        parts = split_fields(message)
        positions = self.fields

        def get(name: str) -> Any:
            pos = positions.get(name)
            if pos is None or pos > len(parts):
                return _MISSING
            return parts[pos - 1]

        return get


def _resolve(doc: Any, path: str) -> Any:
    cur = doc
    for m in _PATH_PART.finditer(path[1:]):
        name, index = m.groups()
        if name is not None:
            if not isinstance(cur, dict) or name not in cur:
                return _MISSING
            cur = cur[name]
        else:
            i = int(index)
            if not isinstance(cur, list) or i >= len(cur):
                return _MISSING
            cur = cur[i]
    return cur


def _text(v: Any) -> str:
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, int | float):
        return str(v)
    return json.dumps(v, separators=(",", ":"), sort_keys=True)


def _number(v: Any) -> float | None:
    if v is _MISSING or v is None or isinstance(v, bool):
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _passes(v: Any, op: str, operand: Any) -> bool:
    if op == "IsPresent":
        return (v is not _MISSING) == bool(operand)
    if v is _MISSING or v is None:
        return False
    if op in STRING_OPERATORS:
        text = _text(v)
        if op == "In":
            return text in operand
        if op == "NotIn":
            return text not in operand
        return any(text.startswith(prefix) for prefix in operand)
    number = _number(v)
    if number is None:
        return False
    if op == "GreaterThan":
        return bool(number > operand)
    if op == "LessThan":
        return bool(number < operand)
    if op == "EqualTo":
        return bool(number == operand)
    return bool(number != operand)


def _field_ref(ref: Any, where: str, log_format: str, fields: dict[str, int]) -> str:
    if not isinstance(ref, str) or not ref:
        raise bad(f"{where} must be a non-empty string.")
    if log_format == "JSON":
        if not _JSON_PATH.match(ref):
            raise bad(f"{where} '{ref}' is not a JSON path such as $.field or $.field.subfield.")
    elif ref not in fields:
        raise bad(f"{where} '{ref}' is not one of the Fields of the rule.")
    return ref


def compile_rule(text: str, region: str, account_id: str) -> CompiledRule:
    """Validate a rule body (InvalidParameterValue with what is wrong) and compile it."""
    try:
        body = json.loads(text)
    except ValueError:
        raise bad("it is not valid JSON.") from None
    if not isinstance(body, dict):
        raise bad("it must be a JSON object.")
    schema = body.get("Schema")
    if not isinstance(schema, dict) or schema.get("Name") != SCHEMA_NAME or schema.get("Version") != 1:
        raise bad(f'Schema must be {{"Name": "{SCHEMA_NAME}", "Version": 1}}.')
    groups: list[str] = []
    names = body.get("LogGroupNames")
    arns = body.get("LogGroupARNs")
    if names is not None and (not isinstance(names, list) or not all(isinstance(n, str) and n for n in names)):
        raise bad("LogGroupNames must be an array of log group names.")
    if arns is not None and (not isinstance(arns, list) or not all(isinstance(a, str) and a for a in arns)):
        raise bad("LogGroupARNs must be an array of log group ARNs.")
    groups.extend(names or [])
    for arn in arns or []:
        parts = arn.split(":", 6)
        if len(parts) < 7 or parts[0] != "arn" or parts[2] != "logs" or parts[5] != "log-group":
            raise bad(f"'{arn}' in LogGroupARNs is not a log group ARN.")
        if parts[3] != region or parts[4] != account_id:
            raise bad(f"'{arn}' in LogGroupARNs is not a log group of this account and region.")
        groups.append(parts[6].removesuffix(":*"))
    if not groups:
        raise bad("LogGroupNames or LogGroupARNs must name at least one log group.")
    if len(groups) > MAX_LOG_GROUPS:
        raise bad(f"a rule can analyze at most {MAX_LOG_GROUPS} log groups.")
    log_format = body.get("LogFormat")
    if log_format not in ("JSON", "CLF"):
        raise bad("LogFormat must be JSON or CLF.")
    fields: dict[str, int] = {}
    raw_fields = body.get("Fields")
    if log_format == "CLF":
        if not isinstance(raw_fields, dict) or not raw_fields:
            raise bad("Fields is required with the CLF log format: an object of field position to field name.")
        for pos, name in raw_fields.items():
            if not str(pos).isdigit() or int(pos) < 1:
                raise bad(f"Fields position '{pos}' must be a positive integer.")
            if not isinstance(name, str) or not name:
                raise bad(f"Fields name at position {pos} must be a non-empty string.")
            if name in fields:
                raise bad(f"Fields name '{name}' is used twice.")
            fields[name] = int(pos)
    elif raw_fields is not None:
        raise bad("Fields is only valid with the CLF log format.")
    contribution = body.get("Contribution")
    if not isinstance(contribution, dict):
        raise bad("Contribution is required.")
    keys = contribution.get("Keys")
    if not isinstance(keys, list) or not 1 <= len(keys) <= MAX_KEYS:
        raise bad(f"Contribution.Keys must have 1 to {MAX_KEYS} items.")
    keys = [_field_ref(k, "Contribution.Keys", log_format, fields) for k in keys]
    aggregate_on = body.get("AggregateOn")
    if aggregate_on not in ("Count", "Sum"):
        raise bad("AggregateOn must be Count or Sum.")
    value_of = contribution.get("ValueOf")
    if aggregate_on == "Sum":
        if value_of is None:
            raise bad("Contribution.ValueOf is required when AggregateOn is Sum.")
        value_of = _field_ref(value_of, "Contribution.ValueOf", log_format, fields)
    elif value_of is not None:
        value_of = _field_ref(value_of, "Contribution.ValueOf", log_format, fields)
    raw_filters = contribution.get("Filters", [])
    if not isinstance(raw_filters, list) or len(raw_filters) > MAX_FILTERS:
        raise bad(f"Contribution.Filters must be an array of at most {MAX_FILTERS} filters.")
    filters: list[tuple[str, str, Any]] = []
    for i, f in enumerate(raw_filters, 1):
        where = f"Contribution.Filters[{i}]"
        if not isinstance(f, dict):
            raise bad(f"{where} must be an object.")
        match = _field_ref(f.get("Match"), f"{where}.Match", log_format, fields)
        ops = [k for k in f if k != "Match"]
        if len(ops) != 1 or ops[0] not in OPERATORS:
            raise bad(f"{where} must have Match and exactly one of {', '.join(OPERATORS)}.")
        op = ops[0]
        operand = f[op]
        if op in STRING_OPERATORS:
            if not isinstance(operand, list) or not operand or not all(isinstance(x, str | int | float) and not isinstance(x, bool) for x in operand):
                raise bad(f"{where}.{op} must be a non-empty array of strings or numbers.")
            operand = tuple(_text(x) for x in operand)
        elif op in NUMBER_OPERATORS:
            if isinstance(operand, bool) or not isinstance(operand, int | float):
                raise bad(f"{where}.{op} must be a number.")
            operand = float(operand)
        elif not isinstance(operand, bool):
            raise bad(f"{where}.IsPresent must be true or false.")
        filters.append((match, op, operand))
    known = {"Schema", "LogGroupNames", "LogGroupARNs", "LogFormat", "Fields", "Contribution", "AggregateOn"}
    extra = sorted(set(body) - known)
    if extra:
        raise bad(f"unknown field {extra[0]}.")
    return CompiledRule(groups, log_format, keys, value_of, aggregate_on, filters, fields)
