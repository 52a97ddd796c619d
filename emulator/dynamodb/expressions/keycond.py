"""Key conditions of Query: what the storage engine needs to find the partition and range.

DynamoDB only accepts an equality on the partition key, optionally AND-ed with a
single condition on the sort key (=, <, <=, >, >=, BETWEEN, begins_with)
(https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Query.KeyConditionExpressions.html).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from emulator.dynamodb import types
from emulator.errors import AwsError

from .ast import And, Between, Call, Compare, Cond, Const, In, Not, Or, Path

AV = dict[str, Any]

RANGE_OPERATORS = ("=", "<", "<=", ">", ">=", "BETWEEN", "begins_with")
_FLIPPED = {"=": "=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}


def _invalid(message: str) -> AwsError:
    return AwsError("ValidationException", message, 400)


@dataclass
class KeyCondition:
    hash_key: str
    hash_value: AV
    range_key: str | None = None
    range_op: str | None = None
    range_values: list[AV] = field(default_factory=list)

    def range_matches(self, value: AV | None) -> bool:
        """Whether a sort-key value satisfies the range condition (True when there is none)."""
        if self.range_op is None:
            return True
        if value is None:
            return False
        if self.range_op == "begins_with":
            prefix = self.range_values[0]
            kind = types.type_of(value)
            if kind != types.type_of(prefix):
                return False
            if kind == "S":
                return bool(value["S"].startswith(prefix["S"]))
            if kind == "B":
                return types.as_bytes(value["B"]).startswith(types.as_bytes(prefix["B"]))
            return False
        if self.range_op == "BETWEEN":
            low = types.compare(value, self.range_values[0])
            high = types.compare(value, self.range_values[1])
            return low is not None and high is not None and low >= 0 and high <= 0
        order = types.compare(value, self.range_values[0])
        if order is None:
            return False
        return {"=": order == 0, "<": order < 0, "<=": order <= 0, ">": order > 0, ">=": order >= 0}[self.range_op]

    def evaluate(self, item: dict[str, AV] | None) -> bool:
        if not item or self.hash_key not in item or not types.equals(item[self.hash_key], self.hash_value):
            return False
        return self.range_key is None or self.range_matches(item.get(self.range_key))


def _flatten(node: Cond) -> list[Cond]:
    if isinstance(node, And):
        return _flatten(node.left) + _flatten(node.right)
    if isinstance(node, Or):
        raise _invalid("Invalid operator used in KeyConditionExpression: OR")
    if isinstance(node, Not):
        raise _invalid("Invalid operator used in KeyConditionExpression: NOT")
    if isinstance(node, In):
        raise _invalid("Invalid operator used in KeyConditionExpression: IN")
    return [node]


def _key_name(operand: Any) -> str | None:
    if isinstance(operand, Path):
        if len(operand.elements) != 1:
            raise _invalid("KeyConditionExpressions cannot have conditions on nested attributes")
        return str(operand.elements[0])
    return None


def _nested(operand: Any) -> None:
    # A function used as an operand (size(...)) is a nested operation; AWS names it so.
    if isinstance(operand, Call):
        raise _invalid("KeyConditionExpressions cannot contain nested operations")


def _one_key(operands: tuple[Any, ...]) -> str:
    """The single key attribute a term constrains, with AWS's texts (DynamoDB's, as copied by
    dynalite's convertKeyCondition) for a term naming none or several."""
    name: str | None = None
    for operand in operands:
        _nested(operand)
        if isinstance(operand, Path):
            if name is not None:
                raise _invalid("Invalid condition in KeyConditionExpression: Multiple attribute names used in one condition")
            name = _key_name(operand)
    if name is None:
        raise _invalid("Invalid condition in KeyConditionExpression: No key attribute specified")
    return name


def _term(node: Cond) -> tuple[str, str, list[AV]]:
    """(attribute, operator, values) of one key condition term."""
    if isinstance(node, Compare):
        if node.op == "<>":
            raise _invalid("Invalid operator used in KeyConditionExpression: <>")
        left, right, op = node.left, node.right, node.op
        name = _one_key((left, right))
        if not isinstance(left, Path):
            right, op = left, _FLIPPED[op]
        if not isinstance(right, Const):
            raise _invalid("Query key condition not supported")
        return name, op, [right.value]
    if isinstance(node, Between):
        if not isinstance(node.subject, Path):
            _nested(node.subject)
            raise _invalid("Invalid condition in KeyConditionExpression: BETWEEN operator must have the key attribute as its first operand")
        name = _one_key((node.subject, node.low, node.high))
        if not isinstance(node.low, Const) or not isinstance(node.high, Const):
            raise _invalid("Query key condition not supported")
        return name, "BETWEEN", [node.low.value, node.high.value]
    if isinstance(node, Call):
        if node.name == "size":
            raise _invalid("KeyConditionExpressions cannot contain nested operations")
        if node.name != "begins_with":
            raise _invalid(f"Invalid operator used in KeyConditionExpression: {node.name}")
        if not isinstance(node.args[0], Path):
            _nested(node.args[0])
            raise _invalid("Invalid condition in KeyConditionExpression: begins_with operator must have the key attribute as its first operand")
        name = _one_key(node.args)
        if not isinstance(node.args[1], Const):
            raise _invalid("Query key condition not supported")
        return name, "begins_with", [node.args[1].value]
    raise _invalid("Query key condition not supported")


def build_key_condition(
    terms: list[tuple[str, str, list[AV]]],
    hash_key: str,
    range_key: str | None,
    *,
    hash_type: str | None = None,
    range_type: str | None = None,
) -> KeyCondition:
    by_name: dict[str, tuple[str, list[AV]]] = {}
    for name, op, values in terms:
        if name in by_name:
            raise _invalid("KeyConditionExpressions must only contain one condition per key")
        by_name[name] = (op, values)
    if hash_key not in by_name:
        raise _invalid(f"Query condition missed key schema element: {hash_key}")
    for name in by_name:
        if name not in (hash_key, range_key):
            raise _invalid(f"Query condition missed key schema element: {range_key or hash_key}")
    hash_op, hash_values = by_name[hash_key]
    if hash_op != "=":
        raise _invalid("Query key condition not supported")
    _check_type(hash_values, hash_type)
    condition = KeyCondition(hash_key, hash_values[0], range_key)
    if range_key is not None and range_key in by_name:
        range_op, range_values = by_name[range_key]
        _check_type(range_values, range_type)
        condition.range_op = range_op
        condition.range_values = range_values
    return condition


def _check_type(values: list[AV], schema_type: str | None) -> None:
    if schema_type is None:
        return
    for value in values:
        if types.type_of(value) != schema_type:
            raise _invalid("One or more parameter values were invalid: Condition parameter type does not match schema type")


def key_condition_from_ast(
    node: Cond,
    hash_key: str,
    range_key: str | None,
    *,
    hash_type: str | None = None,
    range_type: str | None = None,
) -> KeyCondition:
    terms = [_term(term) for term in _flatten(node)]
    return build_key_condition(terms, hash_key, range_key, hash_type=hash_type, range_type=range_type)
