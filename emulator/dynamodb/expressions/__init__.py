"""DynamoDB's expression language as a pure library: parse -> resolve placeholders -> evaluate.

Every kind (condition, filter, key condition, update, projection) shares one
tokenizer and one path/operand grammar (parser.py). Parsing is cached by text;
resolution binds ExpressionAttributeNames/Values through an ExpressionContext
that remembers which placeholders the request's expressions used, so
``ctx.finish()`` can report the unused ones as DynamoDB does
(https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.html).
"""

from __future__ import annotations

from emulator.dynamodb import types
from emulator.errors import AwsError

from .ast import Arith, Call, Const, Operand, Path, UpdateAst, ValueRef, invalid
from .condition import Condition, condition_paths
from .context import ExpressionContext, resolve_condition, resolve_operand, resolve_path
from .keycond import KeyCondition, key_condition_from_ast
from .legacy import (
    check_no_mixing,
    condition_from_expected,
    condition_from_filter,
    key_condition_from_legacy,
    projection_from_attributes,
    update_from_attribute_updates,
)
from .parser import ALL_FUNCTIONS, parse_condition, parse_projection, parse_update
from .paths import Elements, check_update_paths, get_path
from .projection import Projection
from .reserved import RESERVED_WORDS
from .update import Update

__all__ = [
    "RESERVED_WORDS",
    "Condition",
    "ExpressionContext",
    "KeyCondition",
    "Projection",
    "Update",
    "check_no_mixing",
    "compile_condition",
    "compile_key_condition",
    "compile_projection",
    "compile_update",
    "condition_from_expected",
    "condition_from_filter",
    "condition_paths",
    "get_path",
    "key_condition_from_legacy",
    "projection_from_attributes",
    "update_from_attribute_updates",
]


def compile_condition(text: str, ctx: ExpressionContext, kind: str = "ConditionExpression") -> Condition:
    """A ConditionExpression or FilterExpression (``kind`` names it in error messages)."""
    node = resolve_condition(parse_condition(text, kind), ctx, kind)
    ctx.compiled += 1
    ctx.compiled_with_values += 1
    return Condition(node)


def compile_key_condition(
    text: str,
    ctx: ExpressionContext,
    hash_key: str,
    range_key: str | None,
    *,
    hash_type: str | None = None,
    range_type: str | None = None,
) -> KeyCondition:
    """A Query's KeyConditionExpression against the key schema of the table or index queried.

    ``hash_type``/``range_type`` ("S", "N", "B"), when given, make values of another type fail as DynamoDB does.
    """
    kind = "KeyConditionExpression"
    node = resolve_condition(parse_condition(text, kind), ctx, kind)
    ctx.compiled += 1
    ctx.compiled_with_values += 1
    return key_condition_from_ast(node, hash_key, range_key, hash_type=hash_type, range_type=range_type)


# The ADD and DELETE clauses name operand types in full ("operator: ADD, operand type: MAP").
_LONG_TYPE_NAMES = {
    "S": "STRING",
    "N": "NUMBER",
    "B": "BINARY",
    "BOOL": "BOOLEAN",
    "NULL": "NULL",
    "M": "MAP",
    "L": "LIST",
    "SS": "STRING_SET",
    "NS": "NUMBER_SET",
    "BS": "BINARY_SET",
}


def _placeholders(node: Path | Operand, prefix: str) -> list[str]:
    """The name (``#``) or value (``:``) placeholders of a path or operand, in textual order."""
    if isinstance(node, Path):
        return [e for e in node.elements if isinstance(e, str) and e.startswith(prefix)]
    if isinstance(node, ValueRef):
        return [node.name] if prefix == ":" else []
    if isinstance(node, Call):
        return [p for arg in node.args for p in _placeholders(arg, prefix)]
    if isinstance(node, Arith):
        return _placeholders(node.left, prefix) + _placeholders(node.right, prefix)
    return []


def _value_type(node: Operand, ctx: ExpressionContext) -> str | None:
    return types.type_of(ctx.values[node.name]) if isinstance(node, ValueRef) else None


def _function_error(node: Operand, ctx: ExpressionContext, kind: str) -> AwsError | None:
    """The first mistake in the operands of an update's functions and arithmetic, innermost
    first (once every placeholder is known to be defined)."""
    if isinstance(node, Call):
        for arg in node.args:
            error = _function_error(arg, ctx, kind)
            if error is not None:
                return error
        arity, needs_path = ALL_FUNCTIONS[node.name]
        if len(node.args) != arity:
            return invalid(kind, f"Incorrect number of operands for operator or function; operator or function: {node.name}, number of operands: {len(node.args)}")
        if needs_path and not isinstance(node.args[0], Path):
            return invalid(kind, f"Operator or function requires a document path; operator or function: {node.name}")
        if node.name == "list_append":
            for arg in node.args:
                found = _value_type(arg, ctx)
                if found is not None and found != "L":
                    return invalid(kind, f"Incorrect operand type for operator or function; operator or function: {node.name}, operand type: {found}")
    elif isinstance(node, Arith):
        for side in (node.left, node.right):
            error = _function_error(side, ctx, kind)
            if error is not None:
                return error
        for side in (node.left, node.right):
            found = _value_type(side, ctx)
            if found is not None and found != "N":
                return invalid(kind, f"Incorrect operand type for operator or function; operator or function: {node.op}, operand type: {found}")
    return None


def _check_operand_type(kind: str, clause: str, value: types.AttributeValue) -> None:
    """ADD's and DELETE's operand: "The ADD action supports only number and set data types.",
    "The DELETE action only supports set data types."."""
    found = types.type_of(value)
    if found not in types.SET_TYPES and (clause == "DELETE" or found != "N"):
        raise invalid(kind, f"Incorrect operand type for operator or function; operator: {clause}, operand type: {_LONG_TYPE_NAMES[found]}")


def compile_update(text: str, ctx: ExpressionContext) -> Update:
    """An UpdateExpression.

    DynamoDB reports one mistake however many the expression has: a syntax error, else (from
    the parser) a reserved word, an unknown or misused function, a repeated clause; else an
    undefined name placeholder, an undefined value placeholder, overlapping paths, conflicting
    paths, an ADD/DELETE operand of the wrong type, a function's or arithmetic's operands; the
    first of a kind in textual order, whichever clause holds it. (dynalite's order, which its
    author checked against DynamoDB.) A valid expression is compiled in one pass; only one
    that fails is checked again in that order (``_first_update_error``), which costs as much
    again as compiling it.
    """
    kind = "UpdateExpression"
    ast = parse_update(text)
    try:
        sets = [(resolve_path(path, ctx, kind).elements, resolve_operand(operand, ctx, kind)) for path, operand in ast.set]
        removes = [resolve_path(path, ctx, kind).elements for path in ast.remove]
        adds: list[tuple[Elements, types.AttributeValue]] = []
        for path, operand in ast.add:
            value = resolve_operand(operand, ctx, kind)
            assert isinstance(value, Const)
            _check_operand_type(kind, "ADD", value.value)
            adds.append((resolve_path(path, ctx, kind).elements, value.value))
        deletes: list[tuple[Elements, types.AttributeValue]] = []
        for path, operand in ast.delete:
            value = resolve_operand(operand, ctx, kind)
            assert isinstance(value, Const)
            _check_operand_type(kind, "DELETE", value.value)
            deletes.append((resolve_path(path, ctx, kind).elements, value.value))
        for _, operand in ast.set:
            if not isinstance(operand, (Path, ValueRef)):  # a function or arithmetic
                error = _function_error(operand, ctx, kind)
                if error is not None:
                    raise error
        update = Update(sets, removes, adds, deletes, kind=kind, clauses=ast.clauses)  # overlaps, conflicts
    except AwsError:
        _first_update_error(ast, ctx, kind)
        raise
    ctx.compiled += 1
    ctx.compiled_with_values += 1
    return update


def _first_update_error(ast: UpdateAst, ctx: ExpressionContext, kind: str) -> None:
    """Raise the mistake of ``ast`` that DynamoDB reports (see compile_update), checking each
    kind in its order over the actions in textual order. Returns if it finds none (the
    caller's error then stands)."""
    pairs = {"SET": ast.set, "ADD": ast.add, "DELETE": ast.delete}
    actions: list[tuple[str, Path, Operand | None]] = []
    for clause in ast.clauses:
        if clause == "REMOVE":
            actions.extend((clause, path, None) for path in ast.remove)
        else:
            actions.extend((clause, path, operand) for path, operand in pairs[clause])
    for prefix, lookup in (("#", ctx.name), (":", ctx.value)):
        for _, path, operand in actions:
            for placeholder in _placeholders(path, prefix) + (_placeholders(operand, prefix) if operand is not None else []):
                lookup(placeholder, kind)
    targets = [resolve_path(path, ctx, kind).elements for _, path, _ in actions]
    check_update_paths(targets, kind)
    for clause, _, operand in actions:
        if clause in ("ADD", "DELETE"):
            assert isinstance(operand, ValueRef)
            _check_operand_type(kind, clause, ctx.values[operand.name])
    for clause, _, operand in actions:
        if clause == "SET":
            assert operand is not None
            error = _function_error(operand, ctx, kind)
            if error is not None:
                raise error


def compile_projection(text: str, ctx: ExpressionContext) -> Projection:
    kind = "ProjectionExpression"
    paths = [resolve_path(path, ctx, kind).elements for path in parse_projection(text)]
    ctx.compiled += 1
    return Projection(paths, kind=kind)


# Re-exported for callers that build trees by hand (e.g. the storage engine's tests).
__all__ += ["Const", "Path"]
