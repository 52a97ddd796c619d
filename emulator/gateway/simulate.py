"""IAM's policy simulator (SimulatePrincipalPolicy, SimulateCustomPolicy) on the gateway's
own policy engine (emulator/gateway/policy.py): what it answers is what the authorizer
decides for the same policies, action, resource and context.

https://docs.aws.amazon.com/IAM/latest/APIReference/API_SimulatePrincipalPolicy.html
https://docs.aws.amazon.com/IAM/latest/APIReference/API_SimulateCustomPolicy.html

Each (action, resource) pair gets one EvaluationResult; with ResourceArns given, it also
carries the resource's ResourceSpecificResults entry, where AWS reports the missing
context values then. MatchedStatements name their policy (SourcePolicyId: the inline
policy's name, the managed policy's name, or ``PolicyInputList.<n>``), its type, and the
statement's position in the document (1-based line and column of its ``{``, and of the
character after its ``}``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from json.decoder import scanstring  # type: ignore[attr-defined]
from typing import Any

from emulator.errors import AwsError
from emulator.gateway.policy import DENY, Statement, parse_document

Position = tuple[int, int]  # (line, column), 1-based

_DECODER = json.JSONDecoder()


def invalid_input(message: str) -> AwsError:
    return AwsError("InvalidInput", message, 400)


@dataclass
class Source:
    """One policy document taking part in a simulation."""

    policy_id: str
    policy_type: str | None  # PolicySourceType: "user", "aws-managed", "user-managed", "role", ...; None for input policies
    statements: list[tuple[Statement, tuple[Position, Position] | None]]


def _ws(text: str, i: int) -> int:
    while i < len(text) and text[i] in " \t\r\n":
        i += 1
    return i


def statement_spans(text: str) -> list[tuple[int, int]] | None:
    """The (start, end) offsets of each statement object of a policy document, in order;
    None where they cannot be told (the document is not plain JSON text)."""
    try:
        i = _ws(text, 0)
        if text[i] != "{":
            return None
        i = _ws(text, i + 1)
        found: list[tuple[int, int]] | None = None
        while text[i] != "}":
            if text[i] != '"':
                return None
            key, i = scanstring(text, i + 1)
            i = _ws(text, i)
            if text[i] != ":":
                return None
            i = _ws(text, i + 1)
            if key == "Statement":
                if text[i] == "[":
                    spans = []
                    i = _ws(text, i + 1)
                    while text[i] != "]":
                        _, end = _DECODER.raw_decode(text, i)
                        spans.append((i, end))
                        i = _ws(text, end)
                        if text[i] == ",":
                            i = _ws(text, i + 1)
                    found = spans
                    i += 1
                else:
                    _, end = _DECODER.raw_decode(text, i)
                    found = [(i, end)]
                    i = end
            else:
                _, i = _DECODER.raw_decode(text, i)
            i = _ws(text, i)
            if text[i] == ",":
                i = _ws(text, i + 1)
        return found
    except (IndexError, ValueError):
        return None


def _position(text: str, offset: int) -> Position:
    line_start = text.rfind("\n", 0, offset) + 1
    return text.count("\n", 0, offset) + 1, offset - line_start + 1


def load_source(policy_id: str, policy_type: str | None, document: str) -> Source:
    """Parse a document for the simulator; a malformed one is InvalidInput."""
    try:
        statements = parse_document(document)
    except AwsError as exc:
        raise invalid_input(f"{exc.message} ({policy_id})") from exc
    spans = statement_spans(document)
    if spans is None or len(spans) != len(statements):
        return Source(policy_id, policy_type, [(s, None) for s in statements])
    return Source(policy_id, policy_type, [(s, (_position(document, a), _position(document, b))) for s, (a, b) in zip(statements, spans)])


_LIST_TYPES = frozenset({"stringList", "numericList", "booleanList", "ipList", "binaryList", "dateList"})


def context_from_entries(entries: list[dict[str, Any]] | None) -> dict[str, Any]:
    """ContextEntries -> the engine's request context (lower-cased keys; list types multi-valued)."""
    out: dict[str, Any] = {}
    for entry in entries or []:
        name = entry.get("ContextKeyName")
        if not isinstance(name, str) or not name:
            continue
        values = [str(v) for v in entry.get("ContextKeyValues") or []]
        kind = entry.get("ContextKeyType") or "string"
        if kind in _LIST_TYPES or len(values) > 1:
            out[name.lower()] = values
        elif values:
            out[name.lower()] = values[0]
    return out


def context_keys(sources: list[Source]) -> list[str]:
    """GetContextKeysFor*Policy: the condition keys the policies read (as first written, once each)."""
    seen: dict[str, str] = {}
    for source in sources:
        for statement, _ in source.statements:
            for cond in statement.conditions:
                seen.setdefault(cond.key, cond.name or cond.key)
    return list(seen.values())


def _matched(source: Source, span: tuple[Position, Position] | None) -> dict[str, Any]:
    out: dict[str, Any] = {"SourcePolicyId": source.policy_id}
    if source.policy_type is not None:
        out["SourcePolicyType"] = source.policy_type
    if span is not None:
        (l1, c1), (l2, c2) = span
        out["StartPosition"] = {"Line": l1, "Column": c1}
        out["EndPosition"] = {"Line": l2, "Column": c2}
    return out


def _decide(sources: list[Source], action: str, resource: str, context: dict[str, Any], variables: dict[str, Any]) -> tuple[str, list[dict[str, Any]], list[str]]:
    """(decision, matched statements, missing context keys) for one action on one resource."""
    allows: list[dict[str, Any]] = []
    denies: list[dict[str, Any]] = []
    missing: dict[str, None] = {}
    for source in sources:
        for statement, span in source.statements:
            if not statement.matches_action(action):
                continue
            unresolved = [n for n in statement.variable_names() if n not in context]
            if not statement.matches_resource(resource, variables):
                for name in unresolved:  # a policy variable without a value may be why
                    missing.setdefault(name)
                continue
            for cond in statement.conditions:
                if cond.key not in context:
                    missing.setdefault(cond.name or cond.key)
            for name in unresolved:
                missing.setdefault(name)
            if not statement.matches_conditions(context, variables):
                continue
            (denies if statement.effect == DENY else allows).append(_matched(source, span))
    if denies:
        return "explicitDeny", denies, list(missing)
    if allows:
        return "allowed", allows, list(missing)
    return "implicitDeny", [], list(missing)


def simulate(sources: list[Source], actions: list[str], resources: list[str] | None, context: dict[str, Any],
             boundary: list[Source] | None = None) -> list[dict[str, Any]]:
    """The EvaluationResults of a simulation (before pagination)."""
    # Never empty: the engine substitutes variables only when it is given some, and a variable
    # without a value must still resolve (to its default, or to nothing that matches).
    variables: dict[str, Any] = {k: v for k, v in context.items() if isinstance(v, str)} or {"": ""}
    results: list[dict[str, Any]] = []
    for action in actions:
        for resource in resources or ["*"]:
            decision, matched, missing = _decide(sources, action, resource, context, variables)
            result: dict[str, Any] = {"EvalActionName": action, "EvalResourceName": resource, "EvalDecision": decision, "MatchedStatements": matched}
            if boundary is not None:
                b_decision, b_matched, b_missing = _decide(boundary, action, resource, context, variables)
                result["PermissionsBoundaryDecisionDetail"] = {"AllowedByPermissionsBoundary": b_decision == "allowed"}
                missing = list(dict.fromkeys(missing + b_missing))
                if b_decision == "explicitDeny":
                    result["EvalDecision"] = "explicitDeny"
                    result["MatchedStatements"] = b_matched + (matched if decision == "explicitDeny" else [])
                elif b_decision == "implicitDeny" and decision == "allowed":
                    result["EvalDecision"] = "implicitDeny"
                    result["MatchedStatements"] = []
            if resources:
                specific: dict[str, Any] = {"EvalResourceName": resource, "EvalResourceDecision": result["EvalDecision"],
                                            "MatchedStatements": result["MatchedStatements"], "MissingContextValues": missing}
                if "PermissionsBoundaryDecisionDetail" in result:
                    specific["PermissionsBoundaryDecisionDetail"] = result["PermissionsBoundaryDecisionDetail"]
                result["MissingContextValues"] = []
                result["ResourceSpecificResults"] = [specific]
            else:
                result["MissingContextValues"] = missing
            results.append(result)
    return results

