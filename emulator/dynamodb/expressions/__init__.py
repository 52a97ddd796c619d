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

from .ast import Const, Path, invalid
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
from .parser import parse_condition, parse_projection, parse_update
from .paths import Elements, get_path
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


def compile_update(text: str, ctx: ExpressionContext) -> Update:
    kind = "UpdateExpression"
    ast = parse_update(text)
    sets = []
    for path, operand in ast.set:
        sets.append((resolve_path(path, ctx, kind).elements, resolve_operand(operand, ctx, kind)))
    removes = [resolve_path(path, ctx, kind).elements for path in ast.remove]
    adds: list[tuple[Elements, types.AttributeValue]] = []
    for path, operand in ast.add:
        value = resolve_operand(operand, ctx, kind)
        assert isinstance(value, Const)
        # "The ADD action supports only number and set data types."
        if types.type_of(value.value) != "N" and types.type_of(value.value) not in types.SET_TYPES:
            raise invalid(kind, f"Incorrect operand type for operator or function; operator: ADD, operand type: {_LONG_TYPE_NAMES[types.type_of(value.value)]}")
        adds.append((resolve_path(path, ctx, kind).elements, value.value))
    deletes: list[tuple[Elements, types.AttributeValue]] = []
    for path, operand in ast.delete:
        value = resolve_operand(operand, ctx, kind)
        assert isinstance(value, Const)
        # "The DELETE action only supports set data types."
        if types.type_of(value.value) not in types.SET_TYPES:
            raise invalid(kind, f"Incorrect operand type for operator or function; operator: DELETE, operand type: {_LONG_TYPE_NAMES[types.type_of(value.value)]}")
        deletes.append((resolve_path(path, ctx, kind).elements, value.value))
    ctx.compiled += 1
    ctx.compiled_with_values += 1
    return Update(sets, removes, adds, deletes, kind=kind)


def compile_projection(text: str, ctx: ExpressionContext) -> Projection:
    kind = "ProjectionExpression"
    paths = [resolve_path(path, ctx, kind).elements for path in parse_projection(text)]
    ctx.compiled += 1
    return Projection(paths, kind=kind)


# Re-exported for callers that build trees by hand (e.g. the storage engine's tests).
__all__ += ["Const", "Path"]
