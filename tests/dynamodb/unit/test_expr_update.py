"""Update expressions: SET/REMOVE/ADD/DELETE semantics, nested paths, list shifting, errors, UPDATED_OLD/NEW."""

from __future__ import annotations

import copy

import pytest

from emulator.dynamodb.expressions import ExpressionContext, compile_update
from emulator.errors import AwsError


def N(x: str) -> dict:
    return {"N": x}


def S(x: str) -> dict:
    return {"S": x}


def L(*xs: dict) -> dict:
    return {"L": list(xs)}


def run(text: str, item: dict | None, values: dict | None = None, names: dict | None = None) -> dict:
    ctx = ExpressionContext(names, values)
    update = compile_update(text, ctx)
    ctx.finish()
    before = copy.deepcopy(item)
    new = update.apply(item)
    assert item == before, "apply() must not mutate its input"
    return new


def error(text: str, item: dict | None, values: dict | None = None, names: dict | None = None) -> str:
    with pytest.raises(AwsError) as info:
        run(text, item, values, names)
    assert info.value.code == "ValidationException"
    return info.value.message


# --------------------------------------------------------------------------- SET


def test_set_top_level_and_nested() -> None:
    item = {"pk": S("k"), "m": {"M": {"a": N("1")}}, "l": L(S("x"), S("y"))}
    new = run("SET v = :v, m.b = :v, m.a = :n, l[1] = :v", item, {":v": S("new"), ":n": N("2")})
    assert new == {"pk": S("k"), "v": S("new"), "m": {"M": {"a": N("2"), "b": S("new")}}, "l": L(S("x"), S("new"))}


def test_set_on_missing_item_creates_attributes() -> None:
    assert run("SET a = :v", None, {":v": S("x")}) == {"a": S("x")}


def test_set_list_index_past_end_appends() -> None:
    new = run("SET l[10] = :a, l[7] = :b", {"l": L(S("x"))}, {":a": S("a"), ":b": S("b")})
    assert new["l"] == L(S("x"), S("b"), S("a"))


def test_set_arithmetic() -> None:
    item = {"n": N("10"), "m": N("0.1")}
    assert run("SET n = n + :d", item, {":d": N("5")})["n"] == N("15")
    assert run("SET n = n - :d", item, {":d": N("15")})["n"] == N("-5")
    assert run("SET n = :d - n", item, {":d": N("15")})["n"] == N("5")
    assert run("SET x = m + m", item)["x"] == N("0.2")
    assert run("SET n = m + :d", item, {":d": N("0.2")})["n"] == N("0.3")  # exact decimal, not float


def test_set_arithmetic_errors() -> None:
    assert error("SET n = s + :d", {"s": S("x")}, {":d": N("1")}) == "An operand in the update expression has an incorrect data type"
    assert error("SET n = absent + :d", {}, {":d": N("1")}) == "The provided expression refers to an attribute that does not exist in the item"
    assert "38 significant digits" in error("SET n = n + :d", {"n": N("1" * 38)}, {":d": N("0.5")})
    assert "Number overflow" in error("SET n = n + n", {"n": N("9E+125")})


def test_set_from_other_attributes_uses_old_values() -> None:
    new = run("SET a = b, b = a", {"a": S("A"), "b": S("B")})
    assert new == {"a": S("B"), "b": S("A")}


def test_set_missing_source_attribute() -> None:
    assert error("SET a = b", {}) == "The provided expression refers to an attribute that does not exist in the item"


def test_if_not_exists() -> None:
    values = {":d": N("0"), ":one": N("1")}
    assert run("SET c = if_not_exists(c, :d) + :one", {}, values)["c"] == N("1")
    assert run("SET c = if_not_exists(c, :d) + :one", {"c": N("5")}, values)["c"] == N("6")
    assert run("SET a = if_not_exists(b, :d)", {"b": S("x")}, {":d": S("y")})["a"] == S("x")


def test_list_append() -> None:
    item = {"l": L(N("1"))}
    assert run("SET l = list_append(l, :v)", item, {":v": L(N("2"))})["l"] == L(N("1"), N("2"))
    assert run("SET l = list_append(:v, l)", item, {":v": L(N("0"))})["l"] == L(N("0"), N("1"))
    new = run("SET k = list_append(if_not_exists(k, :e), :v)", item, {":e": L(), ":v": L(S("x"))})
    assert new["k"] == L(S("x"))
    assert error("SET l = list_append(s, :v)", {"s": S("x")}, {":v": L()}) == "An operand in the update expression has an incorrect data type"
    assert error("SET l = list_append(absent, :v)", {}, {":v": L()}) == "The provided expression refers to an attribute that does not exist in the item"


def test_set_invalid_document_paths() -> None:
    msg = "The document path provided in the update expression is invalid for update"
    assert error("SET a.b = :v", {}, {":v": S("x")}) == msg
    assert error("SET a.b = :v", {"a": S("str")}, {":v": S("x")}) == msg
    assert error("SET a[0] = :v", {"a": {"M": {}}}, {":v": S("x")}) == msg
    assert error("SET a.b.c = :v", {"a": {"M": {}}}, {":v": S("x")}) == msg


def test_placeholder_names_with_dots_are_literal() -> None:
    new = run("SET #a = :v", {}, {":v": S("x")}, {"#a": "a.b"})
    assert new == {"a.b": S("x")}


# --------------------------------------------------------------------------- REMOVE


def test_remove_top_level_and_nested() -> None:
    item = {"a": S("x"), "m": {"M": {"b": S("y"), "c": S("z")}}}
    assert run("REMOVE a, m.b", item) == {"m": {"M": {"c": S("z")}}}


def test_remove_missing_is_noop() -> None:
    item = {"m": {"M": {}}, "l": L(S("x"))}
    assert run("REMOVE absent, m.absent, l[5]", item) == item


def test_remove_under_missing_parent_is_invalid() -> None:
    assert error("REMOVE a.b", {}) == "The document path provided in the update expression is invalid for update"


def test_remove_list_indexes_shift_from_original_positions() -> None:
    item = {"l": L(S("0"), S("1"), S("2"), S("3"), S("4"))}
    # Both indexes refer to the list before the update.
    assert run("REMOVE l[1], l[3]", item)["l"] == L(S("0"), S("2"), S("4"))
    assert run("REMOVE l[3], l[1]", item)["l"] == L(S("0"), S("2"), S("4"))
    # SET of one element with REMOVE of an earlier one still addresses original positions.
    assert run("SET l[2] = :v REMOVE l[0]", item, {":v": S("x")})["l"] == L(S("1"), S("x"), S("3"), S("4"))


def test_remove_nested_list_element() -> None:
    item = {"m": {"M": {"l": L(N("1"), N("2"))}}}
    assert run("REMOVE m.l[0]", item) == {"m": {"M": {"l": L(N("2"))}}}


# --------------------------------------------------------------------------- ADD / DELETE


def test_add_numbers() -> None:
    assert run("ADD n :d", {"n": N("1.5")}, {":d": N("2")})["n"] == N("3.5")
    assert run("ADD n :d", {}, {":d": N("2.50")})["n"] == N("2.5")
    assert run("ADD m.n :d", {"m": {"M": {}}}, {":d": N("1")}) == {"m": {"M": {"n": N("1")}}}


def test_add_sets() -> None:
    new = run("ADD s :v", {"s": {"SS": ["a", "b"]}}, {":v": {"SS": ["b", "c"]}})
    assert sorted(new["s"]["SS"]) == ["a", "b", "c"]
    new = run("ADD s :v", {"s": {"NS": ["1"]}}, {":v": {"NS": ["1.0", "2"]}})
    assert sorted(new["s"]["NS"]) == ["1", "2"]
    assert run("ADD s :v", {}, {":v": {"BS": [b"x"]}})["s"] == {"BS": [b"x"]}


def test_add_type_mismatch() -> None:
    msg = "An operand in the update expression has an incorrect data type"
    assert error("ADD s :v", {"s": S("x")}, {":v": N("1")}) == msg
    assert error("ADD s :v", {"s": {"SS": ["a"]}}, {":v": {"NS": ["1"]}}) == msg
    assert error("ADD s :v", {"s": N("1")}, {":v": {"NS": ["1"]}}) == msg


def test_delete_from_sets() -> None:
    new = run("DELETE s :v", {"s": {"SS": ["a", "b", "c"]}}, {":v": {"SS": ["b", "x"]}})
    assert new["s"] == {"SS": ["a", "c"]}
    new = run("DELETE s :v", {"s": {"NS": ["1", "2"]}}, {":v": {"NS": ["2.0"]}})
    assert new["s"] == {"NS": ["1"]}
    # Emptying the set removes the attribute.
    assert run("DELETE s :v", {"s": {"SS": ["a"]}, "k": S("k")}, {":v": {"SS": ["a"]}}) == {"k": S("k")}
    # Deleting from a missing attribute does nothing.
    assert run("DELETE s :v", {}, {":v": {"SS": ["a"]}}) == {}
    assert error("DELETE s :v", {"s": {"NS": ["1"]}}, {":v": {"SS": ["a"]}}) == "An operand in the update expression has an incorrect data type"


# --------------------------------------------------------------------------- bookkeeping


def test_changed_attributes_and_updated_values() -> None:
    ctx = ExpressionContext(None, {":v": S("new"), ":n": N("1")})
    update = compile_update("SET m.a = :v, top = :v REMOVE gone, l[1] ADD cnt :n", ctx)
    assert update.changed_attributes == {"m", "top", "gone", "l", "cnt"}
    old = {"m": {"M": {"a": S("old"), "b": S("keep")}}, "gone": S("g"), "l": L(S("0"), S("1")), "cnt": N("4"), "other": S("o")}
    new = update.apply(old)
    assert update.updated_attributes(old, new, which="old") == {"m": {"M": {"a": S("old")}}, "gone": S("g"), "l": L(S("1")), "cnt": N("4")}
    # l[1] was removed: it is not reported (not even the element that shifted into its place).
    assert update.updated_attributes(old, new, which="new") == {"m": {"M": {"a": S("new")}}, "top": S("new"), "cnt": N("5")}
    ctx = ExpressionContext(None, None)
    update = compile_update("REMOVE l[0]", ctx)
    old = {"l": L(S("0"), S("1"))}
    new = update.apply(old)
    assert new == {"l": L(S("1"))}
    assert update.updated_attributes(old, new, which="new") == {}
    assert update.updated_attributes(old, new, which="old") == {"l": L(S("0"))}


def test_new_item_shares_nothing_with_old() -> None:
    ctx = ExpressionContext(None, {":v": S("x")})
    update = compile_update("SET b = a", ctx)
    old = {"a": {"M": {"k": S("v")}}}
    new = update.apply(old)
    new["b"]["M"]["k"] = S("changed")
    new["a"]["M"]["k"] = S("changed")
    assert old == {"a": {"M": {"k": S("v")}}}
    with pytest.raises(AwsError):
        ctx.finish()  # :v unused


def test_set_nested_value_too_deep() -> None:
    deep: dict = {"S": "leaf"}
    for _ in range(30):
        deep = {"M": {"k": deep}}
    item: dict = {"a": {"M": {"b": {"M": {}}}}}
    assert len(run("SET a.c = :d", item, {":d": deep})) == 1  # 1 + 30 levels + ... fits
    assert error("SET a.b.c = :d", item, {":d": {"M": {"k": deep}}}) == "Nesting Levels have exceeded supported limits"
