"""Projection expressions and key condition expressions."""

from __future__ import annotations

import pytest

from emulator.dynamodb.expressions import (
    ExpressionContext,
    compile_key_condition,
    compile_projection,
)
from emulator.errors import AwsError


def N(x: str) -> dict:
    return {"N": x}


def S(x: str) -> dict:
    return {"S": x}


ITEM = {
    "pk": S("p"),
    "a": S("x"),
    "m": {"M": {"b": S("y"), "c": {"M": {"d": N("1"), "e": N("2")}}}},
    "l": {"L": [S("0"), {"M": {"k": S("v"), "z": S("w")}}, S("2"), S("3")]},
}


def project(text: str, names: dict | None = None, item: dict | None = ITEM) -> dict:
    ctx = ExpressionContext(names, None)
    projection = compile_projection(text, ctx)
    ctx.finish()
    return projection.apply(item)


# --------------------------------------------------------------------------- projection


def test_top_level() -> None:
    assert project("a, pk") == {"a": S("x"), "pk": S("p")}
    assert project("absent") == {}
    assert project("a", item=None) == {}


def test_nested_map_paths() -> None:
    assert project("m.b") == {"m": {"M": {"b": S("y")}}}
    assert project("m.c.e, m.b") == {"m": {"M": {"b": S("y"), "c": {"M": {"e": N("2")}}}}}
    assert project("m.absent") == {}
    assert project("a.b") == {}  # a is not a map


def test_list_indexes_are_compacted_in_index_order() -> None:
    assert project("l[3], l[0]") == {"l": {"L": [S("0"), S("3")]}}
    assert project("l[1].k") == {"l": {"L": [{"M": {"k": S("v")}}]}}
    assert project("l[9]") == {}


def test_placeholders_and_top_level_names() -> None:
    ctx = ExpressionContext({"#m": "m", "#x": "x.y"}, None)
    projection = compile_projection("#m.b, #x, a", ctx)
    ctx.finish()
    assert projection.top_level_names == {"m", "x.y", "a"}
    assert projection.apply({"x.y": N("1"), "m": {"M": {"b": N("2")}}}) == {"x.y": N("1"), "m": {"M": {"b": N("2")}}}


def test_projection_result_is_a_copy() -> None:
    result = project("m")
    result["m"]["M"]["b"] = S("changed")
    assert ITEM["m"]["M"]["b"] == S("y")


def test_projection_overlap_and_conflict() -> None:
    with pytest.raises(AwsError) as info:
        project("m, m.b")
    assert info.value.message == (
        "Invalid ProjectionExpression: Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [m], path two: [m, b]"
    )
    with pytest.raises(AwsError) as info:
        project("m.b, m[0]")
    assert "Two document paths conflict with each other" in info.value.message


# --------------------------------------------------------------------------- key conditions


def key(text: str, values: dict | None, names: dict | None = None, range_key: str | None = "sk", **kw: str):  # type: ignore[no-untyped-def]
    ctx = ExpressionContext(names, values)
    condition = compile_key_condition(text, ctx, "pk", range_key, **kw)
    ctx.finish()
    return condition


def key_error(text: str, values: dict | None, names: dict | None = None, range_key: str | None = "sk", **kw: str) -> str:
    with pytest.raises(AwsError) as info:
        key(text, values, names, range_key, **kw)
    assert info.value.code == "ValidationException"
    return info.value.message


def test_hash_only() -> None:
    kc = key("pk = :p", {":p": S("a")})
    assert (kc.hash_value, kc.range_op, kc.range_values) == (S("a"), None, [])
    assert kc.evaluate({"pk": S("a"), "sk": N("1")})
    assert not kc.evaluate({"pk": S("b")})


@pytest.mark.parametrize(
    ("text", "op", "values"),
    [
        ("pk = :p AND sk = :a", "=", [N("1")]),
        ("pk = :p AND sk < :a", "<", [N("1")]),
        ("pk = :p AND sk <= :a", "<=", [N("1")]),
        ("pk = :p AND sk > :a", ">", [N("1")]),
        ("pk = :p AND sk >= :a", ">=", [N("1")]),
        ("sk >= :a AND pk = :p", ">=", [N("1")]),
        ("(pk = :p) AND (sk > :a)", ">", [N("1")]),
        (":a < sk AND :p = pk", ">", [N("1")]),  # value first: the operator flips
        ("pk = :p AND sk BETWEEN :a AND :b", "BETWEEN", [N("1"), N("5")]),
    ],
)
def test_range_operators(text: str, op: str, values: list) -> None:
    all_values = {":p": S("a"), ":a": N("1"), ":b": N("5")}
    used = {k: v for k, v in all_values.items() if k in text}
    kc = key(text, used)
    assert kc.hash_value == S("a")
    assert kc.range_op == op
    assert kc.range_values == values


def test_begins_with_and_range_matching() -> None:
    kc = key("#p = :p AND begins_with(#s, :pre)", {":p": S("a"), ":pre": S("2024-")}, {"#p": "pk", "#s": "sk"})
    assert kc.range_op == "begins_with"
    assert kc.range_matches(S("2024-01"))
    assert not kc.range_matches(S("2023-12"))
    assert not kc.range_matches(None)
    kc = key("pk = :p AND sk BETWEEN :a AND :b", {":p": S("a"), ":a": N("1"), ":b": N("5")})
    assert kc.range_matches(N("5")) and kc.range_matches(N("1.0")) and not kc.range_matches(N("5.1"))
    assert not kc.range_matches(S("3"))


def test_key_condition_errors() -> None:
    p = {":p": S("a")}
    assert key_error("sk = :p", p) == "Query condition missed key schema element: pk"
    assert key_error("pk < :p", p) == "Query key condition not supported"
    assert key_error("pk = :p AND pk = :p", p) == "KeyConditionExpressions must only contain one condition per key"
    assert key_error("pk = :p AND sk > :p AND sk < :p", p) == "KeyConditionExpressions must only contain one condition per key"
    assert key_error("pk = :p OR sk = :p", p) == "Invalid operator used in KeyConditionExpression: OR"
    assert key_error("pk = :p AND NOT sk = :p", p) == "Invalid operator used in KeyConditionExpression: NOT"
    assert key_error("pk = :p AND sk IN (:p)", p) == "Invalid operator used in KeyConditionExpression: IN"
    assert key_error("pk = :p AND sk <> :p", p) == "Invalid operator used in KeyConditionExpression: <>"
    assert key_error("pk = :p AND attribute_exists(sk)", p) == "Invalid operator used in KeyConditionExpression: attribute_exists"
    assert key_error("pk = :p AND attr1 = :p", p) == "Query condition missed key schema element: sk"
    assert key_error("pk = :p AND sk = :p", p, range_key=None) == "Query condition missed key schema element: pk"
    assert key_error("pk = sk", None) == "Invalid condition in KeyConditionExpression: Multiple attribute names used in one condition"
    assert key_error("pk = :p AND sk.x = :p", p) == "KeyConditionExpressions cannot have conditions on nested attributes"
    assert key_error("pk = :p AND", p).startswith('Invalid KeyConditionExpression: Syntax error; token: "<EOF>"')
    assert key_error("pk = :p AND begins_with(sk, :n)", {":p": S("a"), ":n": N("1")}) == (
        "Invalid KeyConditionExpression: Incorrect operand type for operator or function; operator or function: begins_with, operand type: N"
    )
    assert key_error("pk = :p AND sk BETWEEN :b AND :a", {":p": S("a"), ":a": N("1"), ":b": N("5")}).startswith(
        "Invalid KeyConditionExpression: The BETWEEN operator requires upper bound to be greater than or equal to lower bound"
    )


def test_key_schema_types() -> None:
    key("pk = :p AND sk > :n", {":p": S("a"), ":n": N("1")}, hash_type="S", range_type="N")
    assert key_error("pk = :p", {":p": N("1")}, hash_type="S") == (
        "One or more parameter values were invalid: Condition parameter type does not match schema type"
    )
    assert key_error("pk = :p AND sk > :n", {":p": S("a"), ":n": S("1")}, hash_type="S", range_type="N") == (
        "One or more parameter values were invalid: Condition parameter type does not match schema type"
    )
