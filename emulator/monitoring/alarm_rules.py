"""Composite alarm rules (PutCompositeAlarm, AlarmRule): the parser and the evaluator."""

from __future__ import annotations

import re
from typing import Any

from emulator.errors import AwsError


def _bad(message: str) -> AwsError:
    return AwsError("ValidationError", message, 400)


_RULE_TOKEN = re.compile(r'\s*(?:(\()|(\))|(AND|OR|NOT|TRUE|FALSE)\b|(ALARM|OK|INSUFFICIENT_DATA)\s*\(\s*("(?:[^"\\]|\\.)*"|[^)]*?)\s*\))')


def parse_rule(rule: str) -> Any:
    """AlarmRule grammar: ALARM(x) | OK(x) | INSUFFICIENT_DATA(x) | TRUE | FALSE, AND/OR/NOT, parentheses."""
    if len(rule) > 10240:
        raise _bad("The AlarmRule must not be longer than 10240 characters.")
    try:
        return _parse_rule(rule)
    except RecursionError as exc:
        raise _bad("The AlarmRule is nested too deeply.") from exc


def _parse_rule(rule: str) -> Any:
    tokens: list[tuple[str, str]] = []
    pos = 0
    text = rule.strip()
    while pos < len(text):
        m = _RULE_TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise _bad(f"Unexpected token in AlarmRule at position {pos}: {text[pos:pos + 20]!r}")
        pos = m.end()
        if m.group(1):
            tokens.append(("(", ""))
        elif m.group(2):
            tokens.append((")", ""))
        elif m.group(3):
            tokens.append((m.group(3), ""))
        else:
            name = m.group(5).strip()
            if name.startswith('"'):
                name = name[1:-1].replace('\\"', '"')
            tokens.append(("STATE", f"{m.group(4)}\x00{name}"))
    i = 0

    def peek() -> str | None:
        return tokens[i][0] if i < len(tokens) else None

    def expr() -> Any:
        nonlocal i
        left = term()
        while peek() == "OR":
            i += 1
            left = ("OR", left, term())
        return left

    def term() -> Any:
        nonlocal i
        left = factor()
        while peek() == "AND":
            i += 1
            left = ("AND", left, factor())
        return left

    def factor() -> Any:
        nonlocal i
        if i >= len(tokens):
            raise _bad("Unexpected end of AlarmRule")
        kind, value = tokens[i]
        i += 1
        if kind == "NOT":
            return ("NOT", factor())
        if kind == "(":
            node = expr()
            if peek() != ")":
                raise _bad("Missing ')' in AlarmRule")
            i += 1
            return node
        if kind in ("TRUE", "FALSE"):
            return (kind,)
        if kind == "STATE":
            state, _, name = value.partition("\x00")
            return ("STATE", state, name)
        raise _bad(f"Unexpected token {kind} in AlarmRule")

    node = expr()
    if i != len(tokens):
        raise _bad("Unexpected trailing tokens in AlarmRule")
    return node


def rule_alarms(node: Any) -> list[str]:
    if node[0] == "STATE":
        return [node[2]]
    if node[0] in ("AND", "OR"):
        return rule_alarms(node[1]) + rule_alarms(node[2])
    if node[0] == "NOT":
        return rule_alarms(node[1])
    return []


def eval_rule(node: Any, states: dict[str, str]) -> bool:
    kind = node[0]
    if kind == "STATE":
        return states.get(node[2]) == node[1]
    if kind == "AND":
        return eval_rule(node[1], states) and eval_rule(node[2], states)
    if kind == "OR":
        return eval_rule(node[1], states) or eval_rule(node[2], states)
    if kind == "NOT":
        return not eval_rule(node[1], states)
    return kind == "TRUE"
