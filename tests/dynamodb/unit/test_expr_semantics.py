"""Condition/filter semantics settled by a randomized differential run against dynalite.

Each test pins either a divergence fixed here (static operand types known without the item)
or a case where the engine keeps AWS's documented answer where dynalite differs (missing
operands, deep equality of lists and maps, falsy-looking values, byte-wise binary prefixes).
"""

from __future__ import annotations

from typing import Any

import pytest

from emulator.dynamodb.expressions import ExpressionContext, compile_condition
from emulator.errors import AwsError

ANY_TYPE = "{NS,SS,L,BS,N,M,B,BOOL,NULL,S}"

ITEM: dict[str, Any] = {
    "pk": {"S": "k"},
    "s": {"S": "abc"},
    "empty_s": {"S": ""},
    "empty_b": {"B": b""},
    "hi": {"B": b"\x80"},
    "off": {"BOOL": False},
    "nul": {"NULL": True},
    "ss": {"SS": ["a", "b"]},
    "bs": {"BS": [b"\x01"]},
    "bs2": {"BS": [b"\x02"]},
    "lst": {"L": [{"NULL": True}, {"M": {}}, {"L": [{"N": "1"}]}, {"BOOL": False}]},
    "doc": {"M": {"x": {"N": "1"}, "e": {"L": []}}},
    "emoji": {"S": "\U0001f600"},
    "bmp": {"S": "\uffff"},
}


def check(text: str, values: dict[str, Any] | None = None, item: dict[str, Any] | None = ITEM) -> bool:
    ctx = ExpressionContext(None, values)
    result = compile_condition(text, ctx, "FilterExpression").evaluate(item)
    ctx.finish()
    return result


def error(text: str, values: dict[str, Any] | None = None) -> str:
    with pytest.raises(AwsError) as info:
        compile_condition(text, ExpressionContext(None, values), "ConditionExpression")
    assert info.value.code == "ValidationException"
    return info.value.message


# --------------------------------------------------------------------------- fixed: static operand types


@pytest.mark.parametrize("second", ["ss", "doc.x", "lst[0]", "absent"])
def test_attribute_type_name_must_be_a_value_not_a_path(second: str) -> None:
    assert error(f"attribute_type(s, {second})") == (
        f"Invalid ConditionExpression: Incorrect operand type for operator or function; operator or function: attribute_type, operand type: {ANY_TYPE}"
    )


def test_attribute_type_name_from_size_is_a_number() -> None:
    assert error("attribute_type(s, size(ss))") == (
        "Invalid ConditionExpression: Incorrect operand type for operator or function; operator or function: attribute_type, operand type: N"
    )


@pytest.mark.parametrize("text", ["begins_with(size(s), :p)", "begins_with(s, size(ss))"])
def test_begins_with_refuses_size_operand(text: str) -> None:
    assert error(text, {":p": {"S": "3"}}) == (
        "Invalid ConditionExpression: Incorrect operand type for operator or function; operator or function: begins_with, operand type: N"
    )


def test_static_checks_leave_valid_shapes_alone() -> None:
    assert check("attribute_type(s, :t)", {":t": {"S": "S"}})
    assert check("begins_with(s, :p)", {":p": {"S": "ab"}})
    assert check("size(s) = :n", {":n": {"N": "3"}})
    # A path compared with size() is fine: its type is only known per item.
    assert not check("s = size(s)")


# --------------------------------------------------------------------------- kept: AWS's answers


@pytest.mark.parametrize("op", ["=", "<", "<=", ">", ">="])
def test_two_missing_operands_compare_false(op: str) -> None:
    # dynalite treats undefined = undefined as true; a comparison with no value is false.
    assert not check(f"absent {op} gone.x")
    assert not check(f"absent {op} size(gone)")
    assert not check(f"absent {op} lst[9]", item=None)


def test_not_equal_with_missing_operands_is_true() -> None:
    assert check("absent <> gone.x")
    assert check("lst[9] <> :v", {":v": {"N": "1"}})


def test_in_and_equality_compare_lists_and_maps_deeply() -> None:
    assert check("lst[1] IN (:a, :b)", {":a": {"N": "1"}, ":b": {"M": {}}})
    assert check("lst[2] = :l", {":l": {"L": [{"N": "1.0"}]}})
    assert check("doc IN (:m)", {":m": {"M": {"e": {"L": []}, "x": {"N": "1"}}}})
    assert not check("doc = :m", {":m": {"M": {"x": {"N": "1"}}}})


def test_falsy_looking_values_are_values() -> None:
    assert check("attribute_type(off, :t)", {":t": {"S": "BOOL"}})
    assert check("off IN (:f)", {":f": {"BOOL": False}})
    assert check("attribute_type(empty_s, :t)", {":t": {"S": "S"}})
    assert check("size(empty_s) = :z AND size(empty_b) = :z", {":z": {"N": "0"}})
    assert check("attribute_exists(empty_b)")


def test_binary_prefix_and_substring_are_bytewise() -> None:
    # dynalite decodes both as UTF-8 (each invalid byte becomes U+FFFD), so 0x80 "starts with" 0xff.
    assert not check("begins_with(hi, :p)", {":p": {"B": b"\xff"}})
    assert check("begins_with(hi, :p)", {":p": {"B": b"\x80"}})
    assert not check("contains(hi, :p)", {":p": {"B": b"\xfe"}})


def test_ordering_between_sets_is_false_not_an_error() -> None:
    # Through paths the operand types are only known per item: non-scalars never order.
    for op in ("<", "<=", ">", ">="):
        assert not check(f"bs {op} bs2")
        assert not check(f"ss {op} doc")


def test_ordered_comparison_with_a_non_scalar_value_is_refused() -> None:
    assert error("s < :m", {":m": {"M": {}}}).endswith("operator or function: <, operand type: M")


def test_contains_finds_list_elements_of_every_type() -> None:
    assert check("contains(lst, :v)", {":v": {"NULL": True}})
    assert check("contains(lst, :v)", {":v": {"BOOL": False}})
    assert check("contains(lst, :v)", {":v": {"L": [{"N": "1"}]}})
    assert not check("contains(lst, :v)", {":v": {"BOOL": True}})


def test_strings_order_by_utf8_bytes() -> None:
    # U+FFFF is EF BF BF and U+1F600 is F0 9F 98 80 in UTF-8; UTF-16 (dynalite) orders them the other way.
    assert check("emoji > bmp")
    assert check("emoji BETWEEN :lo AND :hi", {":lo": {"S": "\uffff"}, ":hi": {"S": "\U0001f600"}})
    assert error("s BETWEEN :lo AND :hi", {":lo": {"S": "\U0001f600"}, ":hi": {"S": "\uffff"}}).startswith(
        "Invalid ConditionExpression: The BETWEEN operator requires upper bound to be greater than or equal to lower bound"
    )


def test_not_binds_tighter_than_and_and_and_than_or() -> None:
    values = {":a": {"S": "abc"}}
    assert check("NOT absent = :a AND s = :a", values)
    assert not check("NOT (absent = :a AND s = :a) AND attribute_exists(gone)", values)
    assert check("s = :a OR attribute_exists(absent) AND attribute_exists(gone)", values)
    assert not check("(s = :a OR attribute_exists(absent)) AND attribute_exists(gone)", values)
    assert check("NOT (NOT s = :a)", values)


# --------------------------------------------------------------------------- fixed: which error a condition reports


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Redundant parentheses outrank everything else found while parsing.
        ("((attribute_exists(:v)))", "The expression has redundant parentheses;"),
        ("((a = nope.status))", "The expression has redundant parentheses;"),
        ("(( foo(a) ))", "The expression has redundant parentheses;"),
        # Then an unknown function, a misused function, a reserved word, a function's operands.
        ("status = :v OR foo(a)", "Invalid function name; function: foo"),
        ("status = :v OR attribute_exists(a) = :v", "The function is not allowed to be used this way in an expression; function: attribute_exists"),
        ("attribute_exists(:v) OR status = :v", "Attribute name is a reserved keyword; reserved keyword: status"),
        ("attribute_exists(a, b) OR size(:v) = :v", "Incorrect number of operands for operator or function; operator or function: attribute_exists, number of operands: 2"),
    ],
)
def test_condition_reports_its_most_important_error(text: str, expected: str) -> None:
    assert error(text, {":v": {"S": "x"}}) == f"Invalid ConditionExpression: {expected}"


def test_syntax_error_outranks_deferred_errors() -> None:
    assert error("((status = :v)) AND", {":v": {"S": "x"}}).startswith("Invalid ConditionExpression: Syntax error; token: ")
