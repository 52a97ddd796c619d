"""Placeholder resolution: ExpressionAttributeNames / ExpressionAttributeValues.

One ``ExpressionContext`` serves every expression of a request, because
DynamoDB requires each supplied placeholder to be used by *some* expression of
the request and reports the unused ones together
(https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.ExpressionAttributeNames.html,
https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.ExpressionAttributeValues.html).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from emulator.dynamodb import types
from emulator.errors import AwsError

from .ast import (
    And,
    Arith,
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
    ValueRef,
    av_display,
    invalid,
    path_display,
)

# "The maximum length of any single expression attribute name or expression attribute value is 255 bytes."
MAX_PLACEHOLDER_BYTES = 255
# "The maximum length of all substitution variables in an expression is 2 MB."
MAX_SUBSTITUTION_BYTES = 2 * 1024 * 1024

_NAME_KEY = re.compile(r"#[A-Za-z0-9_]+")
_VALUE_KEY = re.compile(r":[A-Za-z0-9_]+")


def _invalid(message: str) -> AwsError:
    return AwsError("ValidationException", message, 400)


class ExpressionContext:
    """The placeholders of one request, and which of them its expressions used."""

    def __init__(self, names: dict[str, str] | None = None, values: dict[str, Any] | None = None) -> None:
        if names is not None and len(names) == 0:
            raise _invalid("ExpressionAttributeNames must not be empty")
        if values is not None and len(values) == 0:
            raise _invalid("ExpressionAttributeValues must not be empty")
        total = 0
        for key, name in (names or {}).items():
            if not isinstance(key, str) or not _NAME_KEY.fullmatch(key):
                raise _invalid(f'ExpressionAttributeNames contains invalid key: Syntax error; key: "{key}"')
            if len(key.encode("utf-8")) > MAX_PLACEHOLDER_BYTES:
                raise _invalid(f"ExpressionAttributeNames contains invalid key: The expression attribute name is too long; key: {key}")
            if not isinstance(name, str) or name == "":
                raise _invalid(f"ExpressionAttributeNames contains invalid value: Empty attribute name for key {key}")
            total += len(key.encode("utf-8")) + len(name.encode("utf-8"))
        for key, value in (values or {}).items():
            if not isinstance(key, str) or not _VALUE_KEY.fullmatch(key):
                raise _invalid(f'ExpressionAttributeValues contains invalid key: Syntax error; key: "{key}"')
            if len(key.encode("utf-8")) > MAX_PLACEHOLDER_BYTES:
                raise _invalid(f"ExpressionAttributeValues contains invalid key: The expression attribute value is too long; key: {key}")
            try:
                types.validate_value(value)
            except AwsError as exc:
                raise _invalid(f"ExpressionAttributeValues contains invalid value: {exc.message} for key {key}") from None
            total += len(key.encode("utf-8")) + types.value_size(value)
        if total > MAX_SUBSTITUTION_BYTES:
            raise _invalid(f"Expression attribute names and values have exceeded the maximum allowed size; size: {total}")
        self.names = names or {}
        self.values = values or {}
        self.used_names: set[str] = set()
        self.used_values: set[str] = set()
        self.compiled = 0
        # Compiled expressions that can use values: all but ProjectionExpression.
        self.compiled_with_values = 0

    def name(self, placeholder: str, kind: str) -> str:
        if placeholder not in self.names:
            raise invalid(kind, f"An expression attribute name used in the document path is not defined; attribute name: {placeholder}")
        self.used_names.add(placeholder)
        return self.names[placeholder]

    def value(self, placeholder: str, kind: str) -> dict[str, Any]:
        if placeholder not in self.values:
            raise invalid(kind, f"An expression attribute value used in expression is not defined; attribute value: {placeholder}")
        self.used_values.add(placeholder)
        return self.values[placeholder]

    def finish(self, expression_params: Sequence[str] | None = None) -> None:
        """Raise for placeholders no expression of the request used (call after compiling them all).

        ``expression_params`` names the operation's expressions that take values (e.g.
        ``("UpdateExpression", "ConditionExpression")``; never ProjectionExpression): when
        given, values without any of them are refused in DynamoDB's words, "...: UpdateExpression
        and ConditionExpression are null", even beside a ProjectionExpression.
        """
        if self.compiled == 0 and self.names:
            raise _invalid("ExpressionAttributeNames can only be specified when using expressions")
        if self.values and expression_params:
            if self.compiled_with_values == 0:
                params = list(expression_params)
                joined = params[0] if len(params) == 1 else ", ".join(params[:-1]) + " and " + params[-1]
                raise _invalid(f"ExpressionAttributeValues can only be specified when using expressions: {joined} {'is' if len(params) == 1 else 'are'} null")
        elif self.compiled == 0 and self.values:
            raise _invalid("ExpressionAttributeValues can only be specified when using expressions")
        unused_names = sorted(set(self.names) - self.used_names)
        if unused_names:
            raise _invalid(f"Value provided in ExpressionAttributeNames unused in expressions: keys: {{{', '.join(unused_names)}}}")
        unused_values = sorted(set(self.values) - self.used_values)
        if unused_values:
            raise _invalid(f"Value provided in ExpressionAttributeValues unused in expressions: keys: {{{', '.join(unused_values)}}}")


# --------------------------------------------------------------------------- resolution


def resolve_path(path: Path, ctx: ExpressionContext, kind: str) -> Path:
    return Path(tuple(ctx.name(e, kind) if isinstance(e, str) and e.startswith("#") else e for e in path.elements))


def _operand_type_error(kind: str, operator: str, av: dict[str, Any]) -> AwsError:
    return invalid(kind, f"Incorrect operand type for operator or function; operator or function: {operator}, operand type: {types.type_of(av)}")


def resolve_operand(node: Operand, ctx: ExpressionContext, kind: str) -> Operand:
    if isinstance(node, Path):
        return resolve_path(node, ctx, kind)
    if isinstance(node, ValueRef):
        return Const(ctx.value(node.name, kind))
    if isinstance(node, Const):
        return node
    if isinstance(node, Call):
        args = tuple(resolve_operand(a, ctx, kind) for a in node.args)
        _check_call_constants(node.name, args, kind)
        return Call(node.name, args)
    if isinstance(node, Arith):
        left, right = resolve_operand(node.left, ctx, kind), resolve_operand(node.right, ctx, kind)
        for side in (left, right):
            if isinstance(side, Const) and types.type_of(side.value) != "N":
                raise _operand_type_error(kind, node.op, side.value)
        return Arith(node.op, left, right)
    raise TypeError(f"unexpected operand {node!r}")


VALID_TYPE_NAMES = "{ B,NULL,SS,BOOL,L,BS,N,NS,S,M }"


# How DynamoDB names the type of an operand whose type is only known per item (a document path).
ANY_TYPE = "{NS,SS,L,BS,N,M,B,BOOL,NULL,S}"


def _static_type(node: Operand) -> str | None:
    """The type an operand has whatever the item: a literal's, or N for ``size()``; None for a path."""
    if isinstance(node, Const):
        return types.type_of(node.value)
    if isinstance(node, Call) and node.name == "size":
        return "N"
    return None


def _type_error(kind: str, operator: str, type_name: str) -> AwsError:
    return invalid(kind, f"Incorrect operand type for operator or function; operator or function: {operator}, operand type: {type_name}")


def _check_call_constants(name: str, args: tuple[Operand, ...], kind: str) -> None:
    """Static operand checks DynamoDB makes when an operand's type is known without the item
    (a literal value, or ``size()``, which is always a number)."""
    if name == "attribute_type":
        arg = args[1]
        # The type name must be a literal string: a path (whose type could be any) or size() is refused.
        static = _static_type(arg)
        if static != "S":
            raise _type_error(kind, name, static or ANY_TYPE)
        assert isinstance(arg, Const)
        if arg.value["S"] not in types.ALL_TYPES:
            raise invalid(kind, f"Invalid attribute type name found; type: {arg.value['S']}, valid types: {VALID_TYPE_NAMES}")
    elif name == "begins_with":
        for arg in args:
            static = _static_type(arg)
            if static is not None and static not in ("S", "B"):
                raise _type_error(kind, name, static)
    elif name == "list_append":
        for arg in args:
            if isinstance(arg, Const) and types.type_of(arg.value) != "L":
                raise _operand_type_error(kind, name, arg.value)


def _check_ordered_constant(op: str, node: Operand, kind: str) -> None:
    # <, <=, >, >= and BETWEEN are defined on strings, numbers and binaries only.
    if isinstance(node, Const) and types.type_of(node.value) not in types.SCALAR_TYPES:
        raise _operand_type_error(kind, op, node.value)


def _check_distinct(op: str, first: Operand, second: Operand, kind: str) -> None:
    # "a = a", "begins_with(a, #a)" with #a naming a: DynamoDB refuses a path compared with itself.
    if isinstance(first, Path) and first == second:
        raise invalid(kind, f"The first operand must be distinct from the remaining operands for this operator or function; operator: {op}, first operand: {path_display(first.elements)}")


def resolve_condition(node: Cond, ctx: ExpressionContext, kind: str) -> Cond:
    if isinstance(node, Compare):
        left, right = resolve_operand(node.left, ctx, kind), resolve_operand(node.right, ctx, kind)
        _check_distinct(node.op, left, right, kind)
        if node.op not in ("=", "<>"):
            _check_ordered_constant(node.op, left, kind)
            _check_ordered_constant(node.op, right, kind)
        return Compare(node.op, left, right)
    if isinstance(node, Between):
        subject = resolve_operand(node.subject, ctx, kind)
        low, high = resolve_operand(node.low, ctx, kind), resolve_operand(node.high, ctx, kind)
        for side in (subject, low, high):
            _check_ordered_constant("BETWEEN", side, kind)
        if isinstance(low, Const) and isinstance(high, Const):
            order = types.compare(low.value, high.value)
            if order is None:
                raise invalid(
                    kind,
                    f"The BETWEEN operator requires same data type for lower and upper bounds; lower bound operand: {av_display(low.value)}, upper bound operand: {av_display(high.value)}",
                )
            if order > 0:
                raise invalid(
                    kind,
                    f"The BETWEEN operator requires upper bound to be greater than or equal to lower bound; lower operand: {av_display(low.value)}, upper operand: {av_display(high.value)}",
                )
        return Between(subject, low, high)
    if isinstance(node, In):
        return In(resolve_operand(node.subject, ctx, kind), tuple(resolve_operand(o, ctx, kind) for o in node.options))
    if isinstance(node, And):
        return And(resolve_condition(node.left, ctx, kind), resolve_condition(node.right, ctx, kind))
    if isinstance(node, Or):
        return Or(resolve_condition(node.left, ctx, kind), resolve_condition(node.right, ctx, kind))
    if isinstance(node, Not):
        return Not(resolve_condition(node.operand, ctx, kind))
    if isinstance(node, Call):
        if len(node.args) == 2:
            _check_distinct(node.name, resolve_operand(node.args[0], ctx, kind), resolve_operand(node.args[1], ctx, kind), kind)
        resolved = resolve_operand(node, ctx, kind)
        assert isinstance(resolved, Call)
        return resolved
    if isinstance(node, TrueCond):
        return node
    raise TypeError(f"unexpected condition {node!r}")
