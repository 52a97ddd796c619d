"""Legacy conditional parameters converted into the expression AST."""

from __future__ import annotations

import pytest

from emulator.dynamodb.expressions import (
    check_no_mixing,
    condition_from_expected,
    condition_from_filter,
    key_condition_from_legacy,
    projection_from_attributes,
    update_from_attribute_updates,
)
from emulator.errors import AwsError


def N(x: str) -> dict:
    return {"N": x}


def S(x: str) -> dict:
    return {"S": x}


ITEM = {"a": N("5"), "s": S("hello"), "tags": {"SS": ["x", "y"]}, "l": {"L": [N("1"), S("z")]}}


def error(fn, *args) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(AwsError) as info:
        fn(*args)
    assert info.value.code == "ValidationException"
    return info.value.message


def flt(op: str, *values: dict, name: str = "a") -> bool:
    return condition_from_filter({name: {"ComparisonOperator": op, "AttributeValueList": list(values)}}).evaluate(ITEM)


# --------------------------------------------------------------------------- Expected


def test_expected_value_and_exists() -> None:
    assert condition_from_expected({"a": {"Value": N("5.0")}}).evaluate(ITEM)
    assert condition_from_expected({"a": {"Value": N("5"), "Exists": True}}).evaluate(ITEM)
    assert not condition_from_expected({"a": {"Value": N("6")}}).evaluate(ITEM)
    assert condition_from_expected({"zz": {"Exists": False}}).evaluate(ITEM)
    assert not condition_from_expected({"a": {"Exists": False}}).evaluate(ITEM)
    assert condition_from_expected({"zz": {"Exists": False}}).evaluate(None)
    assert condition_from_expected({}).evaluate(None)
    assert condition_from_expected(None).evaluate(ITEM)


def test_expected_conditional_operator() -> None:
    expected = {"a": {"Value": N("5")}, "s": {"Value": S("nope")}}
    assert not condition_from_expected(expected).evaluate(ITEM)
    assert not condition_from_expected(expected, "AND").evaluate(ITEM)
    assert condition_from_expected(expected, "OR").evaluate(ITEM)
    assert "conditionalOperator" in error(condition_from_expected, expected, "XOR")


def test_expected_errors() -> None:
    assert error(condition_from_expected, {"a": {"Exists": True}}) == (
        "One or more parameter values were invalid: Value must be provided when Exists is true for Attribute: a"
    )
    assert error(condition_from_expected, {"a": {"Exists": False, "Value": N("1")}}) == (
        "One or more parameter values were invalid: Value cannot be used when Exists is false for Attribute: a"
    )
    assert error(condition_from_expected, {"a": {"Value": N("1"), "ComparisonOperator": "EQ", "AttributeValueList": [N("1")]}}) == (
        "One or more parameter values were invalid: Value and AttributeValueList cannot be used together for Attribute: a"
    )
    assert error(condition_from_expected, {"a": {"ComparisonOperator": "EQ", "AttributeValueList": []}}) == (
        "One or more parameter values were invalid: Invalid number of argument(s) for the EQ ComparisonOperator"
    )
    assert error(condition_from_expected, {"a": {"ComparisonOperator": "NULL", "AttributeValueList": [N("1")]}}) == (
        "One or more parameter values were invalid: Invalid number of argument(s) for the NULL ComparisonOperator"
    )
    assert error(condition_from_expected, {"a": {"ComparisonOperator": "LT", "AttributeValueList": [{"SS": ["a"]}]}}) == (
        "One or more parameter values were invalid: ComparisonOperator LT is not valid for SS AttributeValue type"
    )
    assert "enum value set" in error(condition_from_expected, {"a": {"ComparisonOperator": "LIKE", "AttributeValueList": []}})


def test_expected_with_comparison_operator() -> None:
    expected = {"a": {"ComparisonOperator": "GT", "AttributeValueList": [N("4")]}, "s": {"ComparisonOperator": "NOT_NULL"}}
    assert condition_from_expected(expected).evaluate(ITEM)


# --------------------------------------------------------------------------- every ComparisonOperator


def test_all_comparison_operators() -> None:
    assert flt("EQ", N("5")) and not flt("EQ", S("5"))
    assert flt("NE", N("4")) and not flt("NE", N("5"))
    assert flt("NE", N("1"), name="zz")  # a missing attribute is "not equal"
    assert flt("LE", N("5")) and not flt("LE", N("4.9"))
    assert flt("LT", N("6")) and not flt("LT", N("5"))
    assert flt("GE", N("5")) and not flt("GE", N("6"))
    assert flt("GT", N("4")) and not flt("GT", S("4"))
    assert flt("NOT_NULL") and not flt("NOT_NULL", name="zz")
    assert flt("NULL", name="zz") and not flt("NULL")
    assert flt("CONTAINS", S("ell"), name="s") and flt("CONTAINS", S("x"), name="tags") and flt("CONTAINS", S("z"), name="l")
    assert not flt("CONTAINS", S("q"), name="tags")
    assert flt("NOT_CONTAINS", S("q"), name="tags") and not flt("NOT_CONTAINS", S("x"), name="tags")
    assert not flt("NOT_CONTAINS", S("q"), name="zz")  # missing attribute: false
    assert flt("BEGINS_WITH", S("he"), name="s") and not flt("BEGINS_WITH", S("lo"), name="s")
    assert flt("IN", N("1"), N("5")) and not flt("IN", N("1"), N("2"))
    assert flt("BETWEEN", N("5"), N("7")) and not flt("BETWEEN", N("6"), N("7"))


def test_many_legacy_conditions_do_not_exhaust_the_stack() -> None:
    conditions = {f"k{i}": {"ComparisonOperator": "NULL"} for i in range(5000)}
    assert condition_from_filter(conditions).evaluate(ITEM)
    assert condition_from_filter({**conditions, "a": {"ComparisonOperator": "NULL"}}, "OR").evaluate(ITEM)
    assert not condition_from_filter({**conditions, "a": {"ComparisonOperator": "NULL"}}, "AND").evaluate(ITEM)


def test_filter_errors() -> None:
    assert error(condition_from_filter, {"a": {"ComparisonOperator": "BETWEEN", "AttributeValueList": [N("7"), N("5")]}}) == (
        "The BETWEEN condition was provided a range where the lower bound is greater than the upper bound"
    )
    assert "must be of same type" in error(condition_from_filter, {"a": {"ComparisonOperator": "BETWEEN", "AttributeValueList": [N("1"), S("5")]}})
    assert "not valid for N AttributeValue type" in error(condition_from_filter, {"a": {"ComparisonOperator": "BEGINS_WITH", "AttributeValueList": [N("1")]}})
    assert "Invalid number of argument(s) for the IN ComparisonOperator" in error(condition_from_filter, {"a": {"ComparisonOperator": "IN", "AttributeValueList": []}})
    assert "must not be null" in error(condition_from_filter, {"a": {"AttributeValueList": [N("1")]}})
    assert "cannot be converted into a number" in error(condition_from_filter, {"a": {"ComparisonOperator": "EQ", "AttributeValueList": [N("x")]}})


# --------------------------------------------------------------------------- KeyConditions


def test_key_conditions() -> None:
    kc = key_condition_from_legacy(
        {"pk": {"ComparisonOperator": "EQ", "AttributeValueList": [S("p")]}, "sk": {"ComparisonOperator": "BEGINS_WITH", "AttributeValueList": [S("x")]}},
        "pk",
        "sk",
    )
    assert (kc.hash_value, kc.range_op, kc.range_values) == (S("p"), "begins_with", [S("x")])
    kc = key_condition_from_legacy({"pk": {"ComparisonOperator": "EQ", "AttributeValueList": [S("p")]}}, "pk", "sk")
    assert kc.range_op is None
    kc = key_condition_from_legacy(
        {"pk": {"ComparisonOperator": "EQ", "AttributeValueList": [S("p")]}, "sk": {"ComparisonOperator": "BETWEEN", "AttributeValueList": [N("1"), N("2")]}},
        "pk",
        "sk",
    )
    assert kc.range_op == "BETWEEN"


def test_key_conditions_errors() -> None:
    eq = {"ComparisonOperator": "EQ", "AttributeValueList": [S("p")]}
    assert error(key_condition_from_legacy, {"sk": eq}, "pk", "sk") == "Query condition missed key schema element: pk"
    assert error(key_condition_from_legacy, {"pk": {"ComparisonOperator": "GT", "AttributeValueList": [S("p")]}}, "pk", "sk") == (
        "Query key condition not supported"
    )
    assert error(key_condition_from_legacy, {"pk": eq, "sk": {"ComparisonOperator": "NE", "AttributeValueList": [S("p")]}}, "pk", "sk") == (
        "Attempted conditional constraint is not an indexable operation"
    )
    assert error(key_condition_from_legacy, {"pk": eq, "sk": eq, "x": eq}, "pk", "sk") == "Conditions can be of length 1 or 2 only"


# --------------------------------------------------------------------------- AttributeUpdates


def test_attribute_updates() -> None:
    update = update_from_attribute_updates(
        {
            "put": {"Action": "PUT", "Value": S("v")},
            "default": {"Value": N("1")},
            "gone": {"Action": "DELETE"},
            "n": {"Action": "ADD", "Value": N("2")},
            "tags": {"Action": "DELETE", "Value": {"SS": ["x"]}},
            "l": {"Action": "ADD", "Value": {"L": [S("new")]}},
        }
    )
    old = {"gone": S("g"), "n": N("1"), "tags": {"SS": ["x", "y"]}, "l": {"L": [S("old")]}}
    new = update.apply(old)
    assert new == {"put": S("v"), "default": N("1"), "n": N("3"), "tags": {"SS": ["y"]}, "l": {"L": [S("old"), S("new")]}}
    assert update.changed_attributes == {"put", "default", "gone", "n", "tags", "l"}
    assert update.updated_attributes(old, new, "old") == {"gone": S("g"), "n": N("1"), "tags": {"SS": ["x", "y"]}, "l": {"L": [S("old")]}}


def test_attribute_updates_errors() -> None:
    assert error(update_from_attribute_updates, {"a": {"Action": "PUT"}}) == (
        "One or more parameter values were invalid: Only DELETE action is allowed when no attribute value is specified"
    )
    assert error(update_from_attribute_updates, {"a": {"Action": "DELETE", "Value": N("1")}}) == (
        "One or more parameter values were invalid: DELETE action with value is not supported for the type N"
    )
    assert error(update_from_attribute_updates, {"a": {"Action": "ADD", "Value": S("1")}}) == (
        "One or more parameter values were invalid: ADD action is not supported for the type S"
    )
    update = update_from_attribute_updates({"a": {"Action": "ADD", "Value": N("1")}})
    with pytest.raises(AwsError) as info:
        update.apply({"a": S("x")})
    assert info.value.message == "Type mismatch for attribute to update"


# --------------------------------------------------------------------------- AttributesToGet / mixing


def test_projection_from_attributes() -> None:
    projection = projection_from_attributes(["a", "a.b"])
    assert projection.apply({"a": N("1"), "a.b": N("2"), "c": N("3")}) == {"a": N("1"), "a.b": N("2")}
    assert projection.top_level_names == {"a", "a.b"}
    assert error(projection_from_attributes, ["a", "a"]) == "One or more parameter values were invalid: Duplicate value in attribute name: a"


def test_check_no_mixing() -> None:
    check_no_mixing({"Expected": None, "ConditionExpression": "a = :v"}, ["Expected"], ["ConditionExpression"])
    check_no_mixing({"Expected": {}}, ["Expected"], ["ConditionExpression"])
    assert error(check_no_mixing, {"Expected": {}, "ConditionExpression": "x"}, ["Expected"], ["ConditionExpression"]) == (
        "Can not use both expression and non-expression parameters in the same request: "
        "Non-expression parameters: {Expected} Expression parameters: {ConditionExpression}"
    )
    assert error(
        check_no_mixing,
        {"AttributesToGet": ["a"], "ScanFilter": {}, "FilterExpression": "x", "ProjectionExpression": "a"},
        ["AttributesToGet", "ScanFilter"],
        ["ProjectionExpression", "FilterExpression"],
    ).endswith("Non-expression parameters: {AttributesToGet, ScanFilter} Expression parameters: {ProjectionExpression, FilterExpression}")
