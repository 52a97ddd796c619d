"""The one AST shared by every expression kind (condition, filter, key condition, update, projection).

Parsing produces *unresolved* trees: path elements that start with ``#`` are
ExpressionAttributeNames placeholders and operands are ``ValueRef(":v")``. These
are immutable and cached by expression text. Resolution (see context.py) turns
them into *resolved* trees, where every path element is a literal name or a list
index and every ``ValueRef`` became a ``Const`` holding the AttributeValue.
Legacy parameters (Expected, ScanFilter, AttributeUpdates, ...) are converted
straight into resolved trees.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

from emulator.errors import AwsError

PathElement = str | int


@dataclass(frozen=True, slots=True)
class Path:
    """A document path: ``a.b[1].c`` is ``("a", "b", 1, "c")``."""

    elements: tuple[PathElement, ...]


@dataclass(frozen=True, slots=True)
class ValueRef:
    """An ExpressionAttributeValues placeholder such as ``:v`` (unresolved trees only)."""

    name: str


@dataclass(frozen=True, slots=True, eq=False)
class Const:
    """A resolved AttributeValue operand."""

    value: dict[str, Any]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Const) and other.value == self.value

    def __hash__(self) -> int:
        return hash(repr(self.value))


@dataclass(frozen=True, slots=True)
class Call:
    """A function call: ``size(a)``, ``begins_with(a, :p)``, ``if_not_exists(a, :v)``, ..."""

    name: str
    args: tuple[Operand, ...]


@dataclass(frozen=True, slots=True)
class Arith:
    """``left + right`` or ``left - right`` (the SET action of update expressions only)."""

    op: str
    left: Operand
    right: Operand


Operand = Path | ValueRef | Const | Call | Arith


@dataclass(frozen=True, slots=True)
class Compare:
    op: str  # = <> < <= > >=
    left: Operand
    right: Operand


@dataclass(frozen=True, slots=True)
class Between:
    subject: Operand
    low: Operand
    high: Operand


@dataclass(frozen=True, slots=True)
class In:
    subject: Operand
    options: tuple[Operand, ...]


@dataclass(frozen=True, slots=True)
class And:
    left: Cond
    right: Cond


@dataclass(frozen=True, slots=True)
class Or:
    left: Cond
    right: Cond


@dataclass(frozen=True, slots=True)
class Not:
    operand: Cond


@dataclass(frozen=True, slots=True)
class TrueCond:
    """Always true (an empty legacy Expected/ScanFilter map)."""


# A function call used as a condition (attribute_exists, begins_with, ...) is a ``Call``.
Cond = Compare | Between | In | And | Or | Not | Call | TrueCond


@dataclass(frozen=True, slots=True)
class UpdateAst:
    """The four clauses of an update expression; each action is (path, operand)."""

    set: tuple[tuple[Path, Operand], ...] = ()
    remove: tuple[Path, ...] = ()
    add: tuple[tuple[Path, Operand], ...] = ()
    delete: tuple[tuple[Path, Operand], ...] = ()
    # The clauses in the order the text has them: DynamoDB reports the first of several
    # mistakes of a kind in textual order, whichever clause it is in.
    clauses: tuple[str, ...] = field(default=(), compare=False)


# --------------------------------------------------------------------------- printing


def _name_text(element: str) -> str:
    return element


def path_text(path: Path) -> str:
    """Expression text of an unresolved path (``a.#b[1]``)."""
    out = ""
    for i, element in enumerate(path.elements):
        if isinstance(element, int):
            out += f"[{element}]"
        else:
            out += ("." if i else "") + _name_text(element)
    return out


def path_display(elements: tuple[PathElement, ...]) -> str:
    """How DynamoDB shows a path in messages: ``[a, b, [1]]``."""
    return "[" + ", ".join(f"[{e}]" if isinstance(e, int) else e for e in elements) + "]"


def operand_text(node: Operand) -> str:
    if isinstance(node, Path):
        return path_text(node)
    if isinstance(node, ValueRef):
        return node.name
    if isinstance(node, Call):
        return f"{node.name}({', '.join(operand_text(a) for a in node.args)})"
    if isinstance(node, Arith):
        return f"{operand_text(node.left)} {node.op} {operand_text(node.right)}"
    raise TypeError("constants have no expression text")


def cond_text(node: Cond) -> str:
    """Expression text of an unresolved condition; fully parenthesized so it re-parses to the same tree."""
    if isinstance(node, Compare):
        return f"{operand_text(node.left)} {node.op} {operand_text(node.right)}"
    if isinstance(node, Between):
        return f"{operand_text(node.subject)} BETWEEN {operand_text(node.low)} AND {operand_text(node.high)}"
    if isinstance(node, In):
        return f"{operand_text(node.subject)} IN ({', '.join(operand_text(o) for o in node.options)})"
    if isinstance(node, And):
        return f"({cond_text(node.left)}) AND ({cond_text(node.right)})"
    if isinstance(node, Or):
        return f"({cond_text(node.left)}) OR ({cond_text(node.right)})"
    if isinstance(node, Not):
        return f"NOT ({cond_text(node.operand)})"
    if isinstance(node, Call):
        return operand_text(node)
    raise TypeError(f"no text for {node!r}")


def update_text(node: UpdateAst) -> str:
    parts = []
    if node.set:
        parts.append("SET " + ", ".join(f"{path_text(p)} = {operand_text(v)}" for p, v in node.set))
    if node.remove:
        parts.append("REMOVE " + ", ".join(path_text(p) for p in node.remove))
    if node.add:
        parts.append("ADD " + ", ".join(f"{path_text(p)} {operand_text(v)}" for p, v in node.add))
    if node.delete:
        parts.append("DELETE " + ", ".join(f"{path_text(p)} {operand_text(v)}" for p, v in node.delete))
    return " ".join(parts)


# --------------------------------------------------------------------------- shared helpers


def invalid(kind: str, message: str) -> AwsError:
    """``Invalid <Kind>: <message>`` as DynamoDB phrases expression errors."""
    return AwsError("ValidationException", f"Invalid {kind}: {message}", 400)


def av_display(av: dict[str, Any]) -> str:
    """DynamoDB's rendering of a value in messages: ``AttributeValue: {N:5}``."""
    ((kind, value),) = av.items()

    def text(v: Any) -> str:
        if isinstance(v, bytes | bytearray):
            return base64.b64encode(bytes(v)).decode()
        return str(v).lower() if isinstance(v, bool) else str(v)

    shown = "[" + ", ".join(text(v) for v in value) + "]" if isinstance(value, list) else text(value)
    return f"AttributeValue: {{{kind}:{shown}}}"
