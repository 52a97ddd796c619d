"""EventBridge: rules, patterns and test events refused as EventBridge refuses them, before moto
sees them (emulator/gateway/fallback_checks_services.py has the checks of targets' input and of
PutPermission's policy). moto stored event patterns with match types that do not exist, cron
expressions of any number of fields and role ARNs of any text, TestEventPattern matched
patterns and events that are not JSON, and API destinations were made for connections that
do not exist.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import orjson

from emulator.errors import AwsError
from emulator.gateway.fallback_checks import _on, moto_backend

if TYPE_CHECKING:
    from emulator.context import RequestContext

# The content filters of event patterns (EventBridge user guide, "Content filtering").
_MATCH_TYPES = frozenset({"prefix", "suffix", "anything-but", "numeric", "exists", "cidr", "equals-ignore-case", "wildcard"})
_NUMERIC_OPERATORS = frozenset({"<", "<=", "=", ">", ">="})
_ARN = re.compile(r"arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:(\d{12})?:.+")
# The fields every event has (TestEventPattern's Event: "The event, in JSON format, to test
# against the event pattern", which must be an event as EventBridge delivers them).
_EVENT_FIELDS = ("id", "account", "source", "time", "region", "resources", "detail-type")


def _pattern_error(reason: str) -> AwsError:
    return AwsError("InvalidEventPatternException", f"Event pattern is not valid. Reason: {reason}", 400)


def _filters(values: list[Any]) -> None:
    """The array of a pattern's field: values to match, or content filters (an object of one
    match type)."""
    for value in values:
        if not isinstance(value, dict):
            continue
        for kind, argument in value.items():
            if kind not in _MATCH_TYPES:
                raise _pattern_error(f"Unrecognized match type {kind}")
            if kind == "numeric":
                _numeric(argument)


def _numeric(argument: Any) -> None:
    """``{"numeric": [">", 0, "<=", 5]}``: pairs of a comparison and a number."""
    if not isinstance(argument, list) or not argument or len(argument) % 2:
        raise _pattern_error("Value of numeric must be an array of operators and numbers")
    for operator, number in zip(argument[::2], argument[1::2], strict=True):
        if operator not in _NUMERIC_OPERATORS:
            raise _pattern_error(f"Unrecognized numeric range operator: {operator}")
        if isinstance(number, bool) or not isinstance(number, int | float):
            raise _pattern_error(f"Value of {operator} must be numeric")


def _walk(pattern: dict[str, Any]) -> None:
    for key, value in pattern.items():
        if key == "$or" and isinstance(value, list):
            for branch in value:
                if isinstance(branch, dict):
                    _walk(branch)
        elif isinstance(value, dict):
            _walk(value)
        elif isinstance(value, list):
            _filters(value)


def check_pattern(text: Any) -> None:
    """An event pattern: a JSON object whose leaves are arrays of values and content filters
    (moto checks the leaves' kind: here, the filters)."""
    if not isinstance(text, str) or not text:
        return
    try:
        pattern = orjson.loads(text)
    except orjson.JSONDecodeError:
        raise _pattern_error("Invalid JSON") from None
    if not isinstance(pattern, dict):
        raise _pattern_error("Filter is not an object")
    _walk(pattern)


@_on("events", "PutRule", "CreateArchive", "UpdateArchive", "TestEventPattern")
def _events_pattern(ctx: RequestContext) -> None:
    check_pattern(ctx.params.get("EventPattern"))


@_on("events", "PutRule")
def _events_rule(ctx: RequestContext) -> None:
    """A cron expression has six fields (minutes, hours, day of month, month, day of week,
    year); a role is named by its ARN."""
    schedule = ctx.params.get("ScheduleExpression")
    if isinstance(schedule, str) and schedule.startswith("cron(") and schedule.endswith(")") and len(schedule[5:-1].split()) != 6:
        raise AwsError("ValidationException", "Parameter ScheduleExpression is not valid.", 400)
    role = ctx.params.get("RoleArn")
    if isinstance(role, str) and _ARN.fullmatch(role) is None:
        raise AwsError("ValidationException", f"Parameter {role} is not valid. Reason: Provided Arn is not in correct format.", 400)


@_on("events", "PutTargets")
def _events_target_arns(ctx: RequestContext) -> None:
    """A target's dead-letter queue and role are named by their ARNs (the target's own ARN:
    moto checks it, with this wording)."""
    for target in ctx.params.get("Targets") or []:
        if not isinstance(target, dict):
            continue
        for arn in ((target.get("DeadLetterConfig") or {}).get("Arn"), target.get("RoleArn")):
            if isinstance(arn, str) and _ARN.fullmatch(arn) is None:
                raise AwsError("ValidationException", f"Parameter {arn} is not valid. Reason: Provided Arn is not in correct format.", 400)


@_on("events", "TestEventPattern")
def _events_test_event(ctx: RequestContext) -> None:
    """The event tested is a JSON object with the fields every event has."""
    text = ctx.params.get("Event")
    if not isinstance(text, str):
        return
    try:
        event = orjson.loads(text)
    except orjson.JSONDecodeError:
        raise AwsError("ValidationException", "Parameter Event is not valid.", 400) from None
    if not isinstance(event, dict):
        raise AwsError("ValidationException", "Parameter Event is not valid.", 400)
    missing = [name for name in _EVENT_FIELDS if name not in event]
    if missing:
        raise AwsError("ValidationException", f"Parameter Event is not valid. Reason: Provided Event is missing required fields: [{', '.join(missing)}]", 400)


@_on("events", "ListRuleNamesByTarget")
def _events_target_arn(ctx: RequestContext) -> None:
    """The target is named by its ARN (moto listed no rule for any text)."""
    arn = ctx.params.get("TargetArn")
    if isinstance(arn, str) and _ARN.fullmatch(arn) is None:
        raise AwsError("ValidationException", f"Parameter {arn} is not valid. Reason: Provided Arn is not in correct format.", 400)


_CONNECTION_ARN = re.compile(r"arn:aws[a-z-]*:events:([a-z0-9-]+):(\d{12}):connection/([^/]+)/.+")


@_on("events", "CreateApiDestination", "UpdateApiDestination")
def _events_api_destination_connection(ctx: RequestContext) -> None:
    """An API destination's connection exists: EventBridge answers ``ResourceNotFoundException:
    Connection '<name>' does not exist.`` (moto's wording where it checks; it created the
    destination)."""
    arn = ctx.params.get("ConnectionArn")
    match = _CONNECTION_ARN.fullmatch(arn) if isinstance(arn, str) else None
    if match is None:
        return
    connections = getattr(moto_backend(ctx, "events", match.group(1), match.group(2)), "connections", None)
    if isinstance(connections, dict) and match.group(3) not in connections:
        raise AwsError("ResourceNotFoundException", f"Connection '{match.group(3)}' does not exist.", 400)
