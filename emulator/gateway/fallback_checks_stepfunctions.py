"""Step Functions: state machine definitions in Amazon States Language, checked as AWS checks
them before it creates or updates a state machine (moto stores any text, and the mistake shows
only when the machine is deployed to AWS), and ValidateStateMachineDefinition, which moto does
not implement, answered here with the same checks.

AWS refuses a definition with ``InvalidDefinition: Invalid State Machine Definition: '<CODE>:
<message> at <location>, ...'`` (every problem, comma-separated), and ValidateStateMachineDefinition
returns each problem as a diagnostic (``code``, ``message``, ``location``). The codes are those
the API reference lists (ValidateStateMachineDefinitionDiagnostic): INVALID_JSON_DESCRIPTION,
MISSING_DESCRIPTION, SCHEMA_VALIDATION_FAILED, MISSING_TRANSITION_TARGET, MISSING_END_STATE.
The messages follow AWS's where they are known (``These fields are required: [Resource]``,
``Missing 'Next' target: X``, ``State "X" is not reachable.``); AWS says that their wording may
change, and that only ``result`` is to be relied on.

Only what the States Language requires whatever the query language (JSONPath or JSONata) is
checked: a check never refuses a definition that AWS accepts.

moto's backend (which does not run state machines) hands out no task tokens and no history
pages: SendTask* and GetExecutionHistory's nextToken get AWS's ``InvalidToken``, and tagging a
state machine or activity that does not exist ``ResourceNotFound``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson

from emulator.errors import AwsError
from emulator.gateway.fallback_checks import _on, answers, moto_backend

if TYPE_CHECKING:
    from emulator.context import RequestContext

_TYPES = ("Choice", "Fail", "Map", "Parallel", "Pass", "Succeed", "Task", "Wait")
# The states that go on to another (Next) or end the execution (End: true).
_TRANSITIONING = frozenset({"Map", "Parallel", "Pass", "Task", "Wait"})
_MAX_RESULTS = 100


@dataclass(frozen=True)
class Diagnostic:
    code: str
    message: str
    location: str | None

    def text(self) -> str:
        return f"{self.code}: {self.message}" + (f" at {self.location}" if self.location else "")


def diagnose(definition: Any) -> list[Diagnostic]:
    """The problems of a state machine definition (JSON text): none for a valid one."""
    if not isinstance(definition, str) or not definition.strip():
        return [Diagnostic("MISSING_DESCRIPTION", "Received a null or empty workflow input.", None)]
    try:
        document = orjson.loads(definition)
    except orjson.JSONDecodeError as exc:
        return [Diagnostic("INVALID_JSON_DESCRIPTION", f"{exc.msg} at (line {exc.lineno}, column {exc.colno})", None)]
    found: list[Diagnostic] = []
    _machine(document, "", found)
    return found


def _schema(message: str, location: str) -> Diagnostic:
    return Diagnostic("SCHEMA_VALIDATION_FAILED", message, location or "/")


def _required(node: dict[str, Any], names: tuple[str, ...], location: str, found: list[Diagnostic]) -> bool:
    missing = [name for name in names if name not in node]
    if missing:
        found.append(_schema(f"These fields are required: [{', '.join(missing)}]", location))
    return not missing


def _machine(document: Any, where: str, found: list[Diagnostic]) -> None:
    """A (sub-)machine: the definition, a Parallel state's branch, a Map state's processor."""
    if not isinstance(document, dict):
        found.append(_schema("Expected value of type: OBJECT", where))
        return
    if not _required(document, ("StartAt", "States"), where, found):
        return
    start, states = document["StartAt"], document["States"]
    if not isinstance(start, str):
        found.append(_schema("The value for the field 'StartAt' must be a STRING", f"{where}/StartAt"))
    if not isinstance(states, dict):
        found.append(_schema("The value for the field 'States' must be an OBJECT", f"{where}/States"))
        return
    if not isinstance(start, str):
        return
    if start not in states:
        found.append(Diagnostic("MISSING_TRANSITION_TARGET", f"Missing 'Next' target: {start}", f"{where}/StartAt"))
    targets: dict[str, list[str]] = {}
    terminal = open_ended = False
    before = len(found)
    for name, state in states.items():
        at = f"{where}/States/{name}"
        if not isinstance(state, dict):
            found.append(_schema("Expected value of type: OBJECT", at))
            continue
        nexts, ends, lacks = _state(state, at, states, found)
        targets[name] = nexts
        terminal = terminal or ends
        open_ended = open_ended or lacks
    # No state ends the execution (none has End, none is a Succeed or Fail state), and none is
    # wrong otherwise (a state without its transition says more).
    endless = bool(states) and not terminal and not open_ended and len(found) == before
    if start in states:
        seen = {start}
        todo = [start]
        while todo:
            for target in targets.get(todo.pop(), []):
                if target in states and target not in seen:
                    seen.add(target)
                    todo.append(target)
        for name in states:
            if name not in seen:
                found.append(Diagnostic("MISSING_TRANSITION_TARGET", f'State "{name}" is not reachable.', f"{where}/States/{name}"))
    if endless:
        found.append(Diagnostic("MISSING_END_STATE", "Workflow has no terminal state.", where or "/"))


def _state(state: dict[str, Any], at: str, states: dict[str, Any], found: list[Diagnostic]) -> tuple[list[str], bool, bool]:
    """Check one state; returns (the states it may go on to, whether it ends the execution,
    whether it lacks its transition)."""
    # A state of no known type still leads where its Next says (its followers are reachable).
    following = [state["Next"]] if isinstance(state.get("Next"), str) and state["Next"] in states else []
    if not _required(state, ("Type",), at, found):
        return following, False, False
    kind = state["Type"]
    if kind not in _TYPES:
        found.append(_schema(f"The value for the field 'Type' must be one of [{', '.join(_TYPES)}]", f"{at}/Type"))
        return following, False, False
    nexts: list[str] = []

    def target(value: Any, where: str) -> None:
        if not isinstance(value, str):
            found.append(_schema("Expected value of type: STRING", where))
        elif value not in states:
            found.append(Diagnostic("MISSING_TRANSITION_TARGET", f"Missing 'Next' target: {value}", where))
        else:
            nexts.append(value)

    ends = kind in ("Succeed", "Fail")
    lacks = False
    if kind in _TRANSITIONING:
        has_next, has_end = "Next" in state, state.get("End") is True
        if has_next and has_end:
            found.append(_schema("Only one of these fields is allowed: [End, Next]", at))
        elif not has_next and not has_end:
            found.append(_schema("Exactly one of these fields is required: [End, Next]", at))
            lacks = True
        if has_next:
            target(state["Next"], f"{at}/Next")
        ends = has_end
    if kind == "Task":
        if _required(state, ("Resource",), at, found) and not isinstance(state["Resource"], str):
            found.append(_schema("The value for the field 'Resource' must be a STRING", f"{at}/Resource"))
    elif kind == "Choice":
        if _required(state, ("Choices",), at, found):
            choices = state["Choices"]
            if not isinstance(choices, list) or not choices:
                found.append(_schema("The field 'Choices' must be a non-empty ARRAY", f"{at}/Choices"))
            else:
                for i, rule in enumerate(choices):
                    where = f"{at}/Choices[{i}]"
                    if not isinstance(rule, dict):
                        found.append(_schema("Expected value of type: OBJECT", where))
                    elif _required(rule, ("Next",), where, found):
                        target(rule["Next"], f"{where}/Next")
        if "Default" in state:
            target(state["Default"], f"{at}/Default")
    elif kind == "Parallel":
        if _required(state, ("Branches",), at, found):
            branches = state["Branches"]
            if not isinstance(branches, list) or not branches:
                found.append(_schema("The field 'Branches' must be a non-empty ARRAY", f"{at}/Branches"))
            else:
                for i, branch in enumerate(branches):
                    _machine(branch, f"{at}/Branches[{i}]", found)
    elif kind == "Map":
        field = "ItemProcessor" if "ItemProcessor" in state or "Iterator" not in state else "Iterator"
        if _required(state, (field,), at, found):
            _machine(state[field], f"{at}/{field}", found)
    catchers = state.get("Catch")
    if kind in ("Task", "Parallel", "Map") and isinstance(catchers, list):
        for i, catcher in enumerate(catchers):
            where = f"{at}/Catch[{i}]"
            if isinstance(catcher, dict) and _required(catcher, ("ErrorEquals", "Next"), where, found):
                target(catcher["Next"], f"{where}/Next")
    return nexts, ends, lacks


def _invalid(diagnostics: list[Diagnostic]) -> AwsError:
    return AwsError("InvalidDefinition", "Invalid State Machine Definition: '" + ", ".join(d.text() for d in diagnostics) + "'", 400)


@_on("stepfunctions", "CreateStateMachine", "UpdateStateMachine")
def _sfn_definition(ctx: RequestContext) -> None:
    """CreateStateMachine's definition, and UpdateStateMachine's when it has one."""
    definition = ctx.params.get("definition")
    if definition is None and ctx.operation_name == "UpdateStateMachine":
        return
    found = diagnose(definition)
    if found:
        raise _invalid(found)


@answers("stepfunctions", "ValidateStateMachineDefinition")
def _sfn_validate(ctx: RequestContext) -> dict[str, Any]:
    """ValidateStateMachineDefinition: ``result`` FAIL with a diagnostic (severity ERROR) for each
    problem, OK without; at most ``maxResults`` of them (0: the default, 100), ``truncated``
    when there were more. (Only errors are found here: ``severity`` WARNING adds none.)"""
    found = diagnose(ctx.params.get("definition"))
    limit = ctx.params.get("maxResults") or _MAX_RESULTS
    shown = [
        {"severity": "ERROR", "code": d.code, "message": d.message, **({"location": d.location} if d.location else {})}
        for d in found[:limit]
    ]
    return {"result": "FAIL" if found else "OK", "diagnostics": shown, "truncated": len(found) > limit}


# ------------------------------------------------------------------ the other members
_ROLE_ARN = re.compile(r"arn:aws[a-z-]*:iam::\d{12}:role/.+")
_LOG_GROUP_ARN = re.compile(r"arn:aws[a-z-]*:logs:[a-z0-9-]+:\d{12}:log-group:[^:]+(:\*)?")


_ALIAS_ARN = re.compile(r"arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:stateMachine:[^:]+:[^:]+")


@_on("stepfunctions", "DescribeStateMachineAlias", "UpdateStateMachineAlias", "DeleteStateMachineAlias")
def _sfn_alias_arn(ctx: RequestContext) -> None:
    arn = ctx.params.get("stateMachineAliasArn")
    if isinstance(arn, str) and _ALIAS_ARN.fullmatch(arn) is None:
        raise AwsError("InvalidArn", f"Invalid State Machine Alias Arn: '{arn}'", 400)


@_on("stepfunctions", "UpdateStateMachine")
def _sfn_update(ctx: RequestContext) -> None:
    """An update changes something (AWS: ``MissingRequiredParameter``), and its role is a role's
    ARN (``InvalidArn``, as CreateStateMachine: moto checks it there only)."""
    p = ctx.params
    if not any(p.get(name) is not None for name in ("definition", "roleArn", "loggingConfiguration", "tracingConfiguration", "encryptionConfiguration")):
        raise AwsError(
            "MissingRequiredParameter",
            "Either the definition, the role ARN, the LoggingConfiguration, the EncryptionConfiguration or the TracingConfiguration must be specified",
            400,
        )
    role = p.get("roleArn")
    if isinstance(role, str) and _ROLE_ARN.fullmatch(role) is None:
        raise AwsError("InvalidArn", f"Invalid Role Arn: '{role}'", 400)


@_on("stepfunctions", "CreateStateMachine", "UpdateStateMachine")
def _sfn_logging(ctx: RequestContext) -> None:
    """A logging level other than OFF logs to exactly one CloudWatch Logs log group, named by
    its ARN: ``InvalidLoggingConfiguration``."""
    config = ctx.params.get("loggingConfiguration")
    if not isinstance(config, dict):
        return
    destinations = config.get("destinations") or []
    if config.get("level", "OFF") != "OFF" and len(destinations) != 1:
        raise AwsError("InvalidLoggingConfiguration", "Invalid Logging Configuration: Must specify exactly one Log Destination.", 400)
    for destination in destinations:
        arn = ((destination or {}).get("cloudWatchLogsLogGroup") or {}).get("logGroupArn") if isinstance(destination, dict) else None
        if not isinstance(arn, str) or _LOG_GROUP_ARN.fullmatch(arn) is None:
            raise AwsError("InvalidLoggingConfiguration", f"Invalid Logging Configuration: Log Destination not a valid CloudWatch Logs log group ARN: {arn}", 400)


_RESOURCE_ARN = re.compile(r"arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:(stateMachine|activity|execution|express|mapRun|stateMachineAlias):.+")
_MAP_RUN_ARN = re.compile(r"arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:mapRun:.+")


@_on("stepfunctions", "TagResource", "UntagResource", "ListTagsForResource", "DescribeMapRun", "UpdateMapRun")
def _sfn_resource_arn(ctx: RequestContext) -> None:
    """A resource named by an ARN that is not one of Step Functions' resources: ``InvalidArn``."""
    arn = ctx.params.get("resourceArn", ctx.params.get("mapRunArn"))
    pattern = _MAP_RUN_ARN if "mapRunArn" in ctx.params else _RESOURCE_ARN
    if isinstance(arn, str) and pattern.fullmatch(arn) is None:
        raise AwsError("InvalidArn", f"Invalid Arn: 'Resource type not valid in this context: {arn}'", 400)


def _simulating() -> bool:
    """Whether moto runs state machines (its ``execute_state_machine`` setting: its parser's
    backend then hands out task tokens and pages histories). The emulator leaves it off."""
    from moto.core.config import default_user_config

    return bool(default_user_config.get("stepfunctions", {}).get("execute_state_machine", False))


@_on("stepfunctions", "SendTaskSuccess", "SendTaskFailure", "SendTaskHeartbeat")
def _sfn_task_token(ctx: RequestContext) -> None:
    """A task token is one an execution handed out (``.waitForTaskToken``, activities). moto's
    backend, which does not run state machines, hands out none, and answered every token with
    200: Step Functions answers a token it did not issue with ``InvalidToken``."""
    if isinstance(ctx.params.get("taskToken"), str) and not _simulating():
        raise AwsError("InvalidToken", "Invalid Token: 'Invalid token'", 400)


@_on("stepfunctions", "GetExecutionHistory")
def _sfn_history_token(ctx: RequestContext) -> None:
    """moto returns an execution's whole history at once and hands out no nextToken: any token
    is one Step Functions did not issue (``InvalidToken``)."""
    if ctx.params.get("nextToken") and not _simulating():
        raise AwsError("InvalidToken", "Invalid Token: 'Invalid token'", 400)


_TAGGABLE_ARN = re.compile(r"arn:aws[a-z-]*:states:([a-z0-9-]+):(\d{12}):(stateMachine|activity):([^:]+)")


@_on("stepfunctions", "TagResource", "UntagResource")
def _sfn_tagged_resource(ctx: RequestContext) -> None:
    """The state machine or activity tagged exists: Step Functions answers ``ResourceNotFound:
    Resource not found: '<arn>'`` (moto tagged the ARN of anything)."""
    arn = ctx.params.get("resourceArn")
    match = _TAGGABLE_ARN.fullmatch(arn) if isinstance(arn, str) else None
    if match is None:
        return
    backend = moto_backend(ctx, "stepfunctions", match.group(1), match.group(2))
    machines, activities = getattr(backend, "state_machines", None), getattr(backend, "activities", None)
    if not isinstance(machines, list) or not isinstance(activities, dict):
        return
    known = {getattr(m, "arn", None) for m in machines} if match.group(3) == "stateMachine" else set(activities)
    if arn not in known:
        raise AwsError("ResourceNotFound", f"Resource not found: '{arn}'", 400)
