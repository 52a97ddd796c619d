"""Evaluation of condition/filter expressions, and placeholder bookkeeping (ExpressionContext)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emulator.dynamodb.expressions import (
    ExpressionContext,
    compile_condition,
    compile_projection,
    compile_update,
)
from emulator.errors import AwsError

ITEM = {
    "pk": {"S": "user#1"},
    "age": {"N": "42"},
    "score": {"N": "3.50"},
    "nm": {"S": "Alice"},
    "bin": {"B": b"\x01\x02\x03"},
    "flag": {"BOOL": True},
    "nothing": {"NULL": True},
    "tags": {"SS": ["red", "blue"]},
    "nums": {"NS": ["1", "2.5"]},
    "bins": {"BS": [b"\x01", b"\x02"]},
    "lst": {"L": [{"S": "a"}, {"N": "7"}, {"M": {"deep": {"S": "d"}}}]},
    "doc": {"M": {"inr": {"M": {"x": {"N": "1"}}}, "s": {"S": "str"}}},
    "dotted.nm": {"S": "literal"},
}


def check(text: str, values: dict | None = None, names: dict | None = None, item: dict | None = ITEM) -> bool:
    ctx = ExpressionContext(names, values)
    result = compile_condition(text, ctx).evaluate(item)
    ctx.finish()
    return result


def N(x: str) -> dict:
    return {"N": x}


def S(x: str) -> dict:
    return {"S": x}


# --------------------------------------------------------------------------- comparisons


def test_equality_and_inequality() -> None:
    assert check("age = :v", {":v": N("42.0")})
    assert not check("age = :v", {":v": N("41")})
    assert check("age <> :v", {":v": N("41")})
    assert not check("age <> :v", {":v": N("42")})
    # Type mismatch: never equal.
    assert not check("age = :v", {":v": S("42")})
    assert check("age <> :v", {":v": S("42")})
    # Missing attributes are not equal to anything.
    assert not check("absent = :v", {":v": S("x")})
    assert check("absent <> :v", {":v": S("x")})


def test_equality_of_documents_and_sets() -> None:
    assert check("tags = :v", {":v": {"SS": ["blue", "red"]}})
    assert not check("tags = :v", {":v": {"SS": ["blue"]}})
    assert check("doc.inr = :v", {":v": {"M": {"x": N("1.0")}}})
    assert check("lst[1] = :v", {":v": N("7")})
    assert check("flag = :v", {":v": {"BOOL": True}})
    assert check("nothing = :v", {":v": {"NULL": True}})


@pytest.mark.parametrize(
    ("text", "value", "expected"),
    [
        ("age < :v", N("43"), True),
        ("age < :v", N("42"), False),
        ("age <= :v", N("42"), True),
        ("age > :v", N("9"), True),  # numeric, not lexicographic
        ("age >= :v", N("42.000"), True),
        ("nm < :v", S("B"), True),
        ("nm > :v", S("a"), False),  # "A" < "a" by UTF-8 bytes
        ("bin > :v", {"B": b"\x01\x02"}, True),
        ("bin < :v", {"B": b"\x02"}, True),
        ("age < :v", S("zzz"), False),  # different types: false, not an error
        ("absent < :v", N("1"), False),
        ("absent >= :v", N("1"), False),
    ],
)
def test_ordering(text: str, value: dict, expected: bool) -> None:
    assert check(text, {":v": value}) is expected


def test_ordering_between_two_paths() -> None:
    assert check("score < age")
    assert not check("age < score")
    assert not check("nm < age")  # S vs N


def test_between() -> None:
    assert check("age BETWEEN :a AND :b", {":a": N("40"), ":b": N("42")})
    assert check("age BETWEEN :a AND :b", {":a": N("42"), ":b": N("42")})
    assert not check("age BETWEEN :a AND :b", {":a": N("43"), ":b": N("50")})
    assert not check("nm BETWEEN :a AND :b", {":a": N("1"), ":b": N("50")})
    assert check("nm BETWEEN :a AND :b", {":a": S("A"), ":b": S("B")})
    assert not check("absent BETWEEN :a AND :b", {":a": N("1"), ":b": N("50")})


def test_in() -> None:
    assert check("age IN (:a, :b)", {":a": N("1"), ":b": N("42")})
    assert not check("age IN (:a, :b)", {":a": N("1"), ":b": S("42")})
    assert not check("absent IN (:a)", {":a": N("1")})
    assert check("tags IN (:a)", {":a": {"SS": ["red", "blue"]}})


# --------------------------------------------------------------------------- logic


def test_and_or_not_precedence() -> None:
    v = {":t": N("42"), ":f": N("0")}
    assert check("age = :f OR age = :t AND NOT age = :f", v)  # OR binds loosest
    assert not check("(age = :f OR age = :t) AND NOT age = :t", v)
    assert check("NOT NOT age = :t", {":t": N("42")})
    assert not check("NOT age = :t", {":t": N("42")})


# --------------------------------------------------------------------------- functions


def test_attribute_exists() -> None:
    assert check("attribute_exists(age)")
    assert not check("attribute_exists(absent)")
    assert check("attribute_not_exists(absent)")
    assert check("attribute_exists(doc.inr.x)")
    assert not check("attribute_exists(doc.inr.y)")
    assert check("attribute_exists(lst[2].deep)")
    assert not check("attribute_exists(lst[3])")
    assert not check("attribute_exists(age.x)")  # path through a non-doc
    assert not check("attribute_exists(doc[0])")  # index into a doc
    assert check("attribute_exists(#d)", names={"#d": "dotted.nm"})
    assert not check("attribute_exists(dotted.nm)")  # a path, not the literal name


def test_attribute_exists_on_missing_item() -> None:
    assert not check("attribute_exists(pk)", item=None)
    assert check("attribute_not_exists(pk)", item=None)
    assert check("attribute_not_exists(pk)", item={})


def test_attribute_type() -> None:
    for path, kind in [("age", "N"), ("nm", "S"), ("bin", "B"), ("flag", "BOOL"), ("nothing", "NULL"), ("tags", "SS"),
                       ("nums", "NS"), ("bins", "BS"), ("lst", "L"), ("doc", "M")]:
        assert check(f"attribute_type({path}, :t)", {":t": S(kind)}), path
    assert not check("attribute_type(age, :t)", {":t": S("S")})
    assert not check("attribute_type(absent, :t)", {":t": S("S")})


def test_begins_with() -> None:
    assert check("begins_with(pk, :p)", {":p": S("user#")})
    assert not check("begins_with(pk, :p)", {":p": S("User")})
    assert check("begins_with(bin, :p)", {":p": {"B": b"\x01\x02"}})
    assert not check("begins_with(bin, :p)", {":p": S("x")})
    assert not check("begins_with(age, :p)", {":p": S("4")})
    assert not check("begins_with(absent, :p)", {":p": S("")})


def test_contains() -> None:
    assert check("contains(nm, :s)", {":s": S("lic")})
    assert not check("contains(nm, :s)", {":s": S("LIC")})
    assert check("contains(tags, :s)", {":s": S("red")})
    assert not check("contains(tags, :s)", {":s": S("green")})
    assert check("contains(nums, :n)", {":n": N("2.50")})
    assert not check("contains(nums, :n)", {":n": S("1")})
    assert check("contains(bins, :b)", {":b": {"B": b"\x02"}})
    assert check("contains(bin, :b)", {":b": {"B": b"\x02\x03"}})
    assert check("contains(lst, :n)", {":n": N("7")})
    assert check("contains(lst, :m)", {":m": {"M": {"deep": S("d")}}})
    assert not check("contains(age, :n)", {":n": N("4")})
    assert not check("contains(absent, :n)", {":n": N("4")})


def test_size() -> None:
    assert check("size(nm) = :n", {":n": N("5")})
    assert check("size(bin) = :n", {":n": N("3")})
    assert check("size(tags) = :n", {":n": N("2")})
    assert check("size(lst) = :n", {":n": N("3")})
    assert check("size(doc) = :n", {":n": N("2")})
    assert check("size(lst) > size(tags)")
    assert not check("size(age) >= :n", {":n": N("0")})  # numbers have no size
    assert not check("size(absent) >= :n", {":n": N("0")})
    assert check("size(doc.s) BETWEEN :a AND :b", {":a": N("1"), ":b": N("3")})


# --------------------------------------------------------------------------- ExpressionContext


def ctx_error(fn) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(AwsError) as info:
        fn()
    assert info.value.code == "ValidationException"
    return info.value.message


def test_empty_maps_rejected() -> None:
    assert ctx_error(lambda: ExpressionContext({}, None)) == "ExpressionAttributeNames must not be empty"
    assert ctx_error(lambda: ExpressionContext(None, {})) == "ExpressionAttributeValues must not be empty"


def test_undefined_placeholders() -> None:
    assert ctx_error(lambda: check("a = :nope", {":v": S("x")})) == (
        "Invalid ConditionExpression: An expression attribute value used in expression is not defined; attribute value: :nope"
    )
    assert ctx_error(lambda: check("#n = :v", {":v": S("x")})) == (
        "Invalid ConditionExpression: An expression attribute name used in the document path is not defined; attribute name: #n"
    )
    assert ctx_error(lambda: compile_projection("#p", ExpressionContext())) == (
        "Invalid ProjectionExpression: An expression attribute name used in the document path is not defined; attribute name: #p"
    )
    assert ctx_error(lambda: compile_update("SET a = :u", ExpressionContext())) == (
        "Invalid UpdateExpression: An expression attribute value used in expression is not defined; attribute value: :u"
    )


def test_unused_placeholders_across_expressions() -> None:
    ctx = ExpressionContext({"#a": "a", "#b": "b"}, {":v": S("x"), ":w": S("y"), ":z": S("z")})
    compile_condition("#a = :v", ctx)
    compile_update("SET #b = :w", ctx)
    assert ctx_error(ctx.finish) == "Value provided in ExpressionAttributeValues unused in expressions: keys: {:z}"
    ctx = ExpressionContext({"#a": "a", "#b": "b", "#c": "c"}, {":v": S("x")})
    compile_condition("#a = :v", ctx)
    assert ctx_error(ctx.finish) == "Value provided in ExpressionAttributeNames unused in expressions: keys: {#b, #c}"


def test_placeholders_without_expressions() -> None:
    ctx = ExpressionContext(None, {":v": S("x")})
    assert ctx_error(ctx.finish) == "ExpressionAttributeValues can only be specified when using expressions"
    assert ctx_error(lambda: ctx.finish(["ConditionExpression"])) == (
        "ExpressionAttributeValues can only be specified when using expressions: ConditionExpression is null"
    )
    assert ctx_error(lambda: ctx.finish(("UpdateExpression", "ConditionExpression"))) == (
        "ExpressionAttributeValues can only be specified when using expressions: UpdateExpression and ConditionExpression are null"
    )
    # Names get no such suffix.
    ctx = ExpressionContext({"#n": "n"}, None)
    assert ctx_error(lambda: ctx.finish(("UpdateExpression", "ConditionExpression"))) == "ExpressionAttributeNames can only be specified when using expressions"
    # A ProjectionExpression uses names but takes no values.
    ctx = ExpressionContext({"#n": "n"}, {":v": S("x")})
    compile_projection("#n", ctx)
    assert ctx_error(lambda: ctx.finish(["FilterExpression"])) == "ExpressionAttributeValues can only be specified when using expressions: FilterExpression is null"


def test_invalid_placeholder_keys_and_values() -> None:
    assert ctx_error(lambda: ExpressionContext({"n": "a"}, None)) == 'ExpressionAttributeNames contains invalid key: Syntax error; key: "n"'
    assert ctx_error(lambda: ExpressionContext(None, {"v": S("a")})) == 'ExpressionAttributeValues contains invalid key: Syntax error; key: "v"'
    assert ctx_error(lambda: ExpressionContext(None, {":v": {}})) == (
        "ExpressionAttributeValues contains invalid value: Supplied AttributeValue is empty, must contain exactly one of the supported datatypes for key :v"
    )
    assert "One or more parameter values were invalid: An string set  may not be empty for key :v" in ctx_error(
        lambda: ExpressionContext(None, {":v": {"SS": []}})
    )
    assert "too long" in ctx_error(lambda: ExpressionContext({"#" + "n" * 255: "a"}, None))


# --------------------------------------------------------------------------- what SDKs send


def test_boto3_condition_builder_output_compiles_and_evaluates() -> None:
    """boto3's Attr/Key builders wrap every sub-expression in parentheses and use #n/:v placeholders."""
    from boto3.dynamodb.conditions import Attr, ConditionExpressionBuilder
    from boto3.dynamodb.types import TypeSerializer

    serializer = TypeSerializer()
    condition = (
        (Attr("age").gt(40) & Attr("nm").begins_with("Al") | ~Attr("absent").exists())
        & Attr("doc.inr.x").between(0, 2)
        & Attr("tags").contains("red")
        & Attr("lst").size().eq(3)
        & Attr("score").is_in([1, Decimal("3.5")])
        & Attr("flag").attribute_type("BOOL")
        & Attr("age").ne(41)
    )
    built = ConditionExpressionBuilder().build_expression(condition)
    values = {k: serializer.serialize(v) for k, v in built.attribute_value_placeholders.items()}
    assert check(built.condition_expression, values, built.attribute_name_placeholders)
    built = ConditionExpressionBuilder().build_expression(Attr("age").lt(40) & Attr("nm").eq("Alice"))
    values = {k: serializer.serialize(v) for k, v in built.attribute_value_placeholders.items()}
    assert not check(built.condition_expression, values, built.attribute_name_placeholders)


def test_number_precision_in_comparisons() -> None:
    big = "1234567890123456789012345678901234567"
    item = {"n": N(big + "8")}
    assert check("n > :v", {":v": N(big + "7")}, item=item)
    assert check("n < :v", {":v": N(big + "9")}, item=item)
    assert not check("n = :v", {":v": N(big + "7")}, item=item)
    assert check("n = :v", {":v": N(big + "8.000")}, item=item)
    tiny = {"n": N("1E-130")}
    assert check("n > :v", {":v": N("0")}, item=tiny)
    assert check("n < :v", {":v": N("2E-130")}, item=tiny)


@settings(max_examples=200, deadline=None)
@given(
    st.decimals(min_value=-(10**30), max_value=10**30, allow_nan=False, places=6),
    st.decimals(min_value=-(10**30), max_value=10**30, allow_nan=False, places=6),
)
def test_numeric_comparators_agree_with_decimal(x: Decimal, y: Decimal) -> None:
    item = {"n": N(str(x))}
    values = {":v": N(str(y))}
    assert check("n < :v", values, item=item) is (x < y)
    assert check("n <= :v", values, item=item) is (x <= y)
    assert check("n = :v", values, item=item) is (x == y)
    assert check("n <> :v", values, item=item) is (x != y)
    assert check("n >= :v", values, item=item) is (x >= y)
    assert check("n BETWEEN :v AND :v", values, item=item) is (x == y)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=8), st.text(max_size=8))
def test_string_comparators_agree_with_utf8_order(x: str, y: str) -> None:
    item = {"s": S(x)}
    values = {":v": S(y)}
    assert check("s < :v", values, item=item) is (x.encode() < y.encode())
    assert check("begins_with(s, :v)", values, item=item) is x.startswith(y)
    assert check("contains(s, :v)", values, item=item) is (y in x)
