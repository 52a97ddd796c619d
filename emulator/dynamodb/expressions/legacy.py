"""Legacy conditional parameters, converted into the same trees as expressions.

Expected, QueryFilter/ScanFilter, KeyConditions, AttributeUpdates and
AttributesToGet predate expressions
(https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/LegacyConditionalParameters.html).
Converting them keeps one evaluator for both.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from emulator.dynamodb import types
from emulator.errors import AwsError

from .ast import And, Between, Call, Compare, Cond, Const, In, Not, Or, Path, TrueCond
from .condition import Condition
from .keycond import KeyCondition, build_key_condition
from .paths import Elements
from .projection import Projection
from .update import Update

AV = dict[str, Any]

# Number of AttributeValueList entries each operator takes (None: one or more).
_ARITY: dict[str, int | None] = {
    "EQ": 1,
    "NE": 1,
    "LE": 1,
    "LT": 1,
    "GE": 1,
    "GT": 1,
    "NOT_NULL": 0,
    "NULL": 0,
    "CONTAINS": 1,
    "NOT_CONTAINS": 1,
    "BEGINS_WITH": 1,
    "IN": None,
    "BETWEEN": 2,
}
_COMPARATOR = {"EQ": "=", "NE": "<>", "LE": "<=", "LT": "<", "GE": ">=", "GT": ">"}
# Operators whose operands must be of these types ("ComparisonOperator LT is not valid for SS AttributeValue type").
_ALLOWED_TYPES: dict[str, frozenset[str]] = {
    "LE": types.SCALAR_TYPES,
    "LT": types.SCALAR_TYPES,
    "GE": types.SCALAR_TYPES,
    "GT": types.SCALAR_TYPES,
    "BETWEEN": types.SCALAR_TYPES,
    "CONTAINS": types.SCALAR_TYPES,
    "NOT_CONTAINS": types.SCALAR_TYPES,
    "BEGINS_WITH": frozenset({"S", "B"}),
    "IN": types.SCALAR_TYPES,
}
_KEY_RANGE_OPERATORS = {"EQ": "=", "LE": "<=", "LT": "<", "GE": ">=", "GT": ">", "BEGINS_WITH": "begins_with", "BETWEEN": "BETWEEN"}


def _invalid(message: str) -> AwsError:
    return AwsError("ValidationException", message, 400)


def _param_invalid(message: str) -> AwsError:
    return _invalid(f"One or more parameter values were invalid: {message}")


def _checked_values(operator: str, values: Any) -> list[AV]:
    if operator not in _ARITY:
        raise _invalid(
            f"1 validation error detected: Value '{operator}' at 'comparisonOperator' failed to satisfy constraint: "
            f"Member must satisfy enum value set: [{', '.join(_ARITY)}]"
        )
    values = list(values or [])
    arity = _ARITY[operator]
    if (arity is None and not values) or (arity is not None and len(values) != arity):
        raise _param_invalid(f"Invalid number of argument(s) for the {operator} ComparisonOperator")
    for value in values:
        types.validate_value(value)
    if len({types.type_of(value) for value in values}) > 1:
        raise _param_invalid("AttributeValues inside AttributeValueList must be of same type")
    allowed = _ALLOWED_TYPES.get(operator)
    if allowed is not None:
        for value in values:
            if types.type_of(value) not in allowed:
                raise _param_invalid(f"ComparisonOperator {operator} is not valid for {types.type_of(value)} AttributeValue type")
    if operator == "BETWEEN":
        order = types.compare(values[0], values[1])
        if order is None:
            raise _param_invalid("AttributeValues inside AttributeValueList must be of same type")
        if order > 0:
            raise _invalid("The BETWEEN condition was provided a range where the lower bound is greater than the upper bound")
    return values


def comparison(name: str, operator: str, values: Any) -> Cond:
    """One legacy ``{ComparisonOperator, AttributeValueList}`` on a top-level attribute."""
    checked = _checked_values(operator, values)
    path = Path((name,))
    consts = [Const(v) for v in checked]
    if operator in _COMPARATOR:
        return Compare(_COMPARATOR[operator], path, consts[0])
    if operator == "NOT_NULL":
        return Call("attribute_exists", (path,))
    if operator == "NULL":
        return Call("attribute_not_exists", (path,))
    if operator == "CONTAINS":
        return Call("contains", (path, consts[0]))
    if operator == "NOT_CONTAINS":
        # A missing attribute doesn't "not contain" anything: legacy NOT_CONTAINS is false then.
        return And(Call("attribute_exists", (path,)), Not(Call("contains", (path, consts[0]))))
    if operator == "BEGINS_WITH":
        return Call("begins_with", (path, consts[0]))
    if operator == "IN":
        return In(path, tuple(consts))
    return Between(path, consts[0], consts[1])


def _combine(conditions: list[Cond], conditional_operator: str | None) -> Cond:
    operator = (conditional_operator or "AND").upper()
    if operator not in ("AND", "OR"):
        raise _invalid(
            f"1 validation error detected: Value '{conditional_operator}' at 'conditionalOperator' failed to satisfy constraint: Member must satisfy enum value set: [AND, OR]"
        )
    if not conditions:
        return TrueCond()
    return _balanced(conditions, And if operator == "AND" else Or)


def _balanced(conditions: list[Cond], join: type[And | Or]) -> Cond:
    """Join conditions into a balanced tree: a legacy map may hold thousands of
    entries, and a left-deep chain that long would exhaust the evaluator's stack."""
    if len(conditions) == 1:
        return conditions[0]
    middle = len(conditions) // 2
    return join(_balanced(conditions[:middle], join), _balanced(conditions[middle:], join))


def _expected_entry(name: str, spec: dict[str, Any]) -> Cond:
    operator = spec.get("ComparisonOperator")
    has_value = spec.get("Value") is not None
    exists = spec.get("Exists")
    # The order of the checks and their texts are DynamoDB's (as dynalite copied them):
    # a Value beside a ComparisonOperator stands for a one-element AttributeValueList.
    if spec.get("AttributeValueList") is not None and has_value:
        raise _param_invalid(f"Value and AttributeValueList cannot be used together for Attribute: {name}")
    if operator is not None:
        if exists is not None:
            raise _param_invalid(f"Exists and ComparisonOperator cannot be used together for Attribute: {name}")
        if operator not in ("NULL", "NOT_NULL") and spec.get("AttributeValueList") is None and not has_value:
            raise _param_invalid(f"Value or AttributeValueList must be used with ComparisonOperator: {operator} for Attribute: {name}")
        return comparison(name, operator, [spec["Value"]] if has_value else spec.get("AttributeValueList"))
    if spec.get("AttributeValueList") is not None:
        raise _param_invalid(f"AttributeValueList can only be used with a ComparisonOperator for Attribute: {name}")
    if exists is None or exists:
        if not has_value:
            raise _param_invalid(f"Value must be provided when Exists is {'true' if exists else 'null'} for Attribute: {name}")
        types.validate_value(spec["Value"])
        return Compare("=", Path((name,)), Const(spec["Value"]))
    if has_value:
        raise _param_invalid(f"Value cannot be used when Exists is false for Attribute: {name}")
    return Call("attribute_not_exists", (Path((name,)),))


def condition_from_expected(expected: dict[str, Any] | None, conditional_operator: str | None = None) -> Condition:
    """``Expected`` (+ ``ConditionalOperator``) of PutItem/UpdateItem/DeleteItem."""
    return Condition(_combine([_expected_entry(n, s or {}) for n, s in (expected or {}).items()], conditional_operator))


def condition_from_filter(filter_map: dict[str, Any] | None, conditional_operator: str | None = None) -> Condition:
    """``QueryFilter`` / ``ScanFilter`` (+ ``ConditionalOperator``)."""
    conditions = []
    for name, spec in (filter_map or {}).items():
        spec = spec or {}
        if spec.get("ComparisonOperator") is None:
            raise _invalid(
                "1 validation error detected: Value null at 'comparisonOperator' failed to satisfy constraint: Member must not be null"
            )
        conditions.append(comparison(name, spec["ComparisonOperator"], spec.get("AttributeValueList")))
    return Condition(_combine(conditions, conditional_operator))


def key_condition_from_legacy(
    key_conditions: dict[str, Any],
    hash_key: str,
    range_key: str | None,
    *,
    hash_type: str | None = None,
    range_type: str | None = None,
) -> KeyCondition:
    """Query's ``KeyConditions``."""
    if not key_conditions or len(key_conditions) > 2:
        raise _invalid("Conditions can be of length 1 or 2 only")
    terms = []
    for name, spec in key_conditions.items():
        spec = spec or {}
        operator = spec.get("ComparisonOperator")
        values = _checked_values(operator or "", spec.get("AttributeValueList"))
        # DynamoDB names an operator no key can use before it objects to a non-EQ hash condition.
        if operator not in _KEY_RANGE_OPERATORS:
            raise _invalid("Attempted conditional constraint is not an indexable operation")
        if name == hash_key and operator != "EQ":
            raise _invalid("Query key condition not supported")
        terms.append((name, _KEY_RANGE_OPERATORS.get(operator or "", operator or ""), values))
    return build_key_condition(terms, hash_key, range_key, hash_type=hash_type, range_type=range_type)


def update_from_attribute_updates(attribute_updates: dict[str, Any]) -> Update:
    """UpdateItem's ``AttributeUpdates`` (PUT/ADD/DELETE actions on top-level attributes)."""
    sets: list[tuple[Elements, Any]] = []
    removes: list[Elements] = []
    adds: list[tuple[Elements, AV]] = []
    deletes: list[tuple[Elements, AV]] = []
    for name, spec in (attribute_updates or {}).items():
        spec = spec or {}
        action = (spec.get("Action") or "PUT").upper()
        value = spec.get("Value")
        if value is not None:
            types.validate_value(value)
        path: Elements = (name,)
        if action == "DELETE":
            if value is None:
                removes.append(path)
            elif types.type_of(value) not in types.SET_TYPES:
                raise _param_invalid(f"DELETE action with value is not supported for the type {types.type_of(value)}")
            else:
                deletes.append((path, value))
            continue
        if value is None:
            raise _param_invalid("Only DELETE action is allowed when no attribute value is specified")
        if action == "PUT":
            sets.append((path, Const(value)))
        elif action == "ADD":
            if types.type_of(value) not in ("N", "L") and types.type_of(value) not in types.SET_TYPES:
                raise _param_invalid(f"ADD action is not supported for the type {types.type_of(value)}")
            adds.append((path, value))
        else:
            raise _invalid(
                f"1 validation error detected: Value '{action}' at 'attributeUpdates.{name}.member.action' failed to satisfy constraint: Member must satisfy enum value set: [ADD, PUT, DELETE]"
            )
    return Update(sets, removes, adds, deletes, legacy=True, kind="AttributeUpdates")


def projection_from_attributes(names: list[str]) -> Projection:
    """``AttributesToGet``: literal top-level names (no paths, no placeholders)."""
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise _param_invalid(f"Duplicate value in attribute name: {name}")
        seen.add(name)
    return Projection([(name,) for name in names], kind="AttributesToGet")


def check_no_mixing(params: dict[str, Any], legacy: Sequence[str], expression: Sequence[str]) -> None:
    """Refuse requests that mix legacy and expression parameters, in DynamoDB's words.

    ``legacy`` and ``expression`` list all of the operation's parameters of each kind:
    DynamoDB refuses any legacy parameter beside any expression (AttributeUpdates beside
    a ConditionExpression too), naming all of both. Query's KeyConditions is the
    exception: without a KeyConditionExpression it may come with the other expressions.
    """
    used_expression = [name for name in expression if params.get(name) is not None]
    if not used_expression:
        return
    keyconditions_alone = params.get("KeyConditionExpression") is None
    used_legacy = [name for name in legacy if params.get(name) is not None and not (name == "KeyConditions" and keyconditions_alone)]
    if used_legacy:
        raise _invalid(
            "Can not use both expression and non-expression parameters in the same request: "
            f"Non-expression parameters: {{{', '.join(used_legacy)}}} Expression parameters: {{{', '.join(used_expression)}}}"
        )
