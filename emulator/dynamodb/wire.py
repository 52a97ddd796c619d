"""JSON-type checks of AttributeValues, answered as DynamoDB's front end does.

The gateway validates every shape except the AttributeValue union; a value of
the wrong JSON type inside one (``{"S": 5}``, ``{"BOOL": "yes"}``, ``{"M": []}``)
is a SerializationException in DynamoDB, not a ValidationException. One
checker per input shape is compiled once and cached; it descends only into the
members that can hold AttributeValues.

A PutItem whose Item is the only such member skips this walk when
``types.prepared_item`` takes the item: that one walk makes the same checks as this
one and ``types.validate_item``, and hands the item here whenever anything is off.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from botocore.model import Shape

from emulator.errors import AwsError

Checker = Callable[[Any], None]
# Keyed by shape name: names are unique within DynamoDB's model, and stable.
_CACHE: dict[str, Checker | None] = {}
_BUILDING: set[str] = set()


def _token(value: Any) -> str:
    # Jackson's token names, which DynamoDB's messages use.
    if isinstance(value, bool):
        return "TRUE_VALUE" if value else "FALSE_VALUE"
    if isinstance(value, int | float):
        return "NUMBER_VALUE"
    if isinstance(value, str):
        return "STRING_VALUE"
    if isinstance(value, list):
        return "START_ARRAY"
    if isinstance(value, dict):
        return "START_OBJECT"
    return "VALUE_NULL"


def _fail(value: Any, target: str) -> AwsError:
    if isinstance(value, dict):
        return AwsError("SerializationException", "Start of structure or map found where not expected.", 400)
    if isinstance(value, list):
        return AwsError("SerializationException", "Start of list found where not expected", 400)
    return AwsError("SerializationException", f"{_token(value)} cannot be converted to {target}", 400)


def check_attribute_value(av: Any) -> None:
    if type(av) is dict and len(av) == 1 and type(av.get("S")) is str:
        return  # the commonest value (a string key): what the loop below finds
    if not isinstance(av, dict):
        raise _fail(av, "AttributeValue")
    for kind, value in av.items():
        if value is None:
            continue
        if kind in ("S", "N"):
            if not isinstance(value, str):
                raise _fail(value, "String")
        elif kind in ("BOOL", "NULL"):
            if not isinstance(value, bool):
                raise _fail(value, "Boolean")
        elif kind in ("SS", "NS", "BS"):
            if not isinstance(value, list):
                raise _fail(value, "List")
            for element in value:
                if kind != "BS" and not isinstance(element, str):
                    raise _fail(element, "String")
        elif kind == "M":
            if not isinstance(value, dict):
                raise _fail(value, "Map")
            for child in value.values():
                check_attribute_value(child)
        elif kind == "L":
            if not isinstance(value, list):
                raise _fail(value, "List")
            for child in value:
                check_attribute_value(child)


def compile_checker(shape: Shape | None) -> Checker | None:
    """A function checking every AttributeValue below ``shape`` (None: there is none)."""
    if shape is None:
        return None
    key = shape.name
    if key in _CACHE:
        return _CACHE[key]
    if shape.name == "AttributeValue":
        return check_attribute_value
    if key in _BUILDING:
        return None
    _BUILDING.add(key)
    try:
        checker = _build(shape)
    finally:
        _BUILDING.discard(key)
    _CACHE[key] = checker
    return checker


def _build(shape: Shape) -> Checker | None:
    t = shape.type_name
    if t == "structure":
        members = [(name, c) for name, m in shape.members.items() if (c := compile_checker(m)) is not None]
        if not members:
            return None

        def check_structure(value: Any) -> None:
            if isinstance(value, dict):
                for name, c in members:
                    v = value.get(name)
                    if v is not None:
                        c(v)

        return check_structure
    if t == "list":
        inner = compile_checker(shape.member)
        if inner is None:
            return None
        element = inner

        def check_list(value: Any) -> None:
            if isinstance(value, list):
                for v in value:
                    element(v)

        return check_list
    if t == "map":
        inner = compile_checker(shape.value)
        if inner is None:
            return None
        entry = inner

        def check_map(value: Any) -> None:
            if isinstance(value, dict):
                for v in value.values():
                    entry(v)

        return check_map
    return None


_MEMBERS: dict[str, tuple[str, ...]] = {}


def value_members(shape: Shape) -> tuple[str, ...]:
    """The members of an input structure that can hold AttributeValues (PutItem's Item,
    Expected and ExpressionAttributeValues), from the model; cached per shape."""
    members = _MEMBERS.get(shape.name)
    if members is None:
        members = _MEMBERS[shape.name] = tuple(name for name, m in shape.members.items() if compile_checker(m) is not None)
    return members
