"""Evaluation of condition and filter expressions over an item.

Semantics follow
https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.OperatorsAndFunctions.html:
a comparison whose operands are missing or of different types is simply false
(never an error), ``<>`` is the negation of ``=``, and the ordering comparators
only apply to strings, numbers and binaries.
"""

from __future__ import annotations

from typing import Any

from emulator.dynamodb import types

from .ast import (
    And,
    Between,
    Call,
    Compare,
    Cond,
    Const,
    In,
    Not,
    Operand,
    Or,
    Path,
    TrueCond,
)
from .paths import get_path

AV = dict[str, Any]
Item = dict[str, AV]


def operand_value(node: Operand, item: Item | None) -> AV | None:
    """The value of a (resolved) condition operand, None when it has none."""
    if isinstance(node, Path):
        return get_path(item, node.elements)
    if isinstance(node, Const):
        return node.value
    if isinstance(node, Call) and node.name == "size":
        return size_of(operand_value(node.args[0], item))
    return None


def size_of(value: AV | None) -> AV | None:
    """``size()``: string length, binary length, or element count; nothing for other types."""
    if value is None:
        return None
    kind = types.type_of(value)
    payload = value[kind]
    if kind == "S":
        return {"N": str(len(payload))}
    if kind == "B":
        return {"N": str(len(types.as_bytes(payload)))}
    if kind in ("SS", "NS", "BS", "L", "M"):
        return {"N": str(len(payload))}
    return None


def _ordered(op: str, left: AV | None, right: AV | None) -> bool:
    if left is None or right is None:
        return False
    order = types.compare(left, right)
    if order is None:
        return False
    if op == "<":
        return order < 0
    if op == "<=":
        return order <= 0
    if op == ">":
        return order > 0
    return order >= 0


def _equal(left: AV | None, right: AV | None) -> bool:
    return left is not None and right is not None and types.equals(left, right)


def _begins_with(value: AV | None, prefix: AV | None) -> bool:
    if value is None or prefix is None:
        return False
    kind = types.type_of(value)
    if kind != types.type_of(prefix):
        return False
    if kind == "S":
        return bool(value["S"].startswith(prefix["S"]))
    if kind == "B":
        return types.as_bytes(value["B"]).startswith(types.as_bytes(prefix["B"]))
    return False


def _contains(value: AV | None, needle: AV | None) -> bool:
    """Substring for S/B, membership for sets (element of the set's type) and lists."""
    if value is None or needle is None:
        return False
    kind = types.type_of(value)
    needle_kind = types.type_of(needle)
    if kind == "S":
        return needle_kind == "S" and needle["S"] in value["S"]
    if kind == "B":
        return needle_kind == "B" and types.as_bytes(needle["B"]) in types.as_bytes(value["B"])
    if kind in types.SET_TYPES:
        if types.SET_ELEMENT[kind] != needle_kind:
            return False
        return types.set_keys({kind: [needle[needle_kind]]}).issubset(types.set_keys(value))
    if kind == "L":
        return any(types.equals(element, needle) for element in value["L"])
    return False


def evaluate(node: Cond, item: Item | None) -> bool:
    if isinstance(node, And):
        return evaluate(node.left, item) and evaluate(node.right, item)
    if isinstance(node, Or):
        return evaluate(node.left, item) or evaluate(node.right, item)
    if isinstance(node, Not):
        return not evaluate(node.operand, item)
    if isinstance(node, Compare):
        left, right = operand_value(node.left, item), operand_value(node.right, item)
        if node.op == "=":
            return _equal(left, right)
        if node.op == "<>":
            return not _equal(left, right)
        return _ordered(node.op, left, right)
    if isinstance(node, Between):
        subject = operand_value(node.subject, item)
        return _ordered(">=", subject, operand_value(node.low, item)) and _ordered("<=", subject, operand_value(node.high, item))
    if isinstance(node, In):
        subject = operand_value(node.subject, item)
        return subject is not None and any(_equal(subject, operand_value(o, item)) for o in node.options)
    if isinstance(node, Call):
        args = node.args
        if node.name == "attribute_exists":
            return operand_value(args[0], item) is not None
        if node.name == "attribute_not_exists":
            return operand_value(args[0], item) is None
        if node.name == "attribute_type":
            value, wanted = operand_value(args[0], item), operand_value(args[1], item)
            return value is not None and wanted is not None and wanted.get("S") == types.type_of(value)
        if node.name == "begins_with":
            return _begins_with(operand_value(args[0], item), operand_value(args[1], item))
        if node.name == "contains":
            return _contains(operand_value(args[0], item), operand_value(args[1], item))
        return False
    if isinstance(node, TrueCond):
        return True
    raise TypeError(f"unexpected condition {node!r}")


def condition_paths(node: Cond) -> list[tuple[Any, ...]]:
    """Every document path a condition reads (used e.g. to decide what a filter needs)."""
    out: list[tuple[Any, ...]] = []

    def visit_operand(op: Operand) -> None:
        if isinstance(op, Path):
            out.append(op.elements)
        elif isinstance(op, Call):
            for arg in op.args:
                visit_operand(arg)

    def visit(cond: Cond) -> None:
        if isinstance(cond, And | Or):
            visit(cond.left)
            visit(cond.right)
        elif isinstance(cond, Not):
            visit(cond.operand)
        elif isinstance(cond, Compare):
            visit_operand(cond.left)
            visit_operand(cond.right)
        elif isinstance(cond, Between):
            for op in (cond.subject, cond.low, cond.high):
                visit_operand(op)
        elif isinstance(cond, In):
            visit_operand(cond.subject)
            for op in cond.options:
                visit_operand(op)
        elif isinstance(cond, Call):
            visit_operand(cond)

    visit(node)
    return out


class Condition:
    """A compiled (resolved) condition or filter."""

    __slots__ = ("ast",)

    def __init__(self, ast: Cond) -> None:
        self.ast = ast

    def evaluate(self, item: Item | None) -> bool:
        return evaluate(self.ast, item)

    @property
    def top_level_names(self) -> set[str]:
        return {str(p[0]) for p in condition_paths(self.ast)}

    def __repr__(self) -> str:
        return f"Condition({self.ast!r})"
