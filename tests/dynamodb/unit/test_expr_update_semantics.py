"""Update expression semantics found by a randomized differential run against dynalite:
path checks for DELETE, operand evaluation order, the paths SET operands read, and the
value types an update is known to write before the item is read."""

from __future__ import annotations

import copy

import pytest

from emulator.dynamodb.expressions import ExpressionContext, Update, compile_update
from emulator.errors import AwsError

BAD_PATH = "The document path provided in the update expression is invalid for update"
BAD_TYPE = "An operand in the update expression has an incorrect data type"
MISSING = "The provided expression refers to an attribute that does not exist in the item"

ITEM = {
    "pk": {"S": "k"},
    "s": {"S": "str"},
    "n": {"N": "5"},
    "ss": {"SS": ["a", "b"]},
    "l": {"L": [{"N": "1"}, {"SS": ["x"]}]},
    "m": {"M": {"a": {"N": "1"}, "ss": {"SS": ["k"]}}},
}


def compiled(text: str, values: dict | None = None, names: dict | None = None) -> Update:
    ctx = ExpressionContext(names, values)
    update = compile_update(text, ctx)
    ctx.finish()
    return update


def run(text: str, item: dict | None, values: dict | None = None) -> dict:
    before = copy.deepcopy(item)
    new = compiled(text, values).apply(item)
    assert item == before, "apply() must not mutate its input"
    return new


def error(text: str, item: dict | None, values: dict | None = None) -> str:
    with pytest.raises(AwsError) as info:
        run(text, item, values)
    assert info.value.code == "ValidationException"
    return info.value.message


# --------------------------------------------------------------------------- DELETE paths


@pytest.mark.parametrize(
    "path",
    [
        "s.x",  # below a string
        "n[0]",  # an index into a number
        "ss.x",  # below a set
        "l[0].a",  # below a number inside a list
        "m.a[1]",  # an index into a number inside a map
        "m.nope.x",  # below a missing map key
        "nope.x",  # below a missing attribute
        "nope[0]",
    ],
)
def test_delete_below_missing_or_scalar_parent_is_an_invalid_path(path: str) -> None:
    assert error(f"DELETE {path} :v", ITEM, {":v": {"SS": ["a"]}}) == BAD_PATH


def test_delete_below_missing_parent_of_a_new_item_is_an_invalid_path() -> None:
    assert error("DELETE m.x :v", None, {":v": {"SS": ["a"]}}) == BAD_PATH


@pytest.mark.parametrize("path", ["nope", "m.nope", "l[5]", "l[2]"])
def test_delete_of_a_missing_set_under_a_valid_parent_does_nothing(path: str) -> None:
    assert run(f"DELETE {path} :v", ITEM, {":v": {"SS": ["a"]}}) == ITEM


def test_delete_of_nested_set_elements_still_works() -> None:
    new = run("DELETE m.ss :v, l[1] :w", ITEM, {":v": {"SS": ["k"]}, ":w": {"SS": ["y"]}})
    assert "ss" not in new["m"]["M"]  # the emptied set is removed
    assert new["l"]["L"][1] == {"SS": ["x"]}


# --------------------------------------------------------------------------- evaluation order


def test_list_append_checks_its_first_operand_before_reading_the_second() -> None:
    # ss is a set (wrong type) and nope is missing: the type of the first operand is reported.
    assert error("SET x = list_append(ss, nope)", ITEM) == BAD_TYPE
    assert error("SET x = list_append(nope, ss)", ITEM) == MISSING
    assert error("SET x = list_append(:l, s)", ITEM, {":l": {"L": []}}) == BAD_TYPE


def test_arithmetic_checks_its_first_operand_before_reading_the_second() -> None:
    assert error("SET x = s + nope", ITEM) == BAD_TYPE
    assert error("SET x = nope - s", ITEM) == MISSING
    assert error("SET x = n - s", ITEM) == BAD_TYPE


def test_set_operands_read_the_item_before_the_update() -> None:
    # dynalite aliases the operand into the item, so a later action changes the copy too.
    new = run("SET c = m, m.a = :v, d = l REMOVE l[0]", ITEM, {":v": {"N": "9"}})
    assert new["c"] == ITEM["m"]
    assert new["d"] == ITEM["l"]
    assert new["m"]["M"]["a"] == {"N": "9"}
    assert new["l"] == {"L": [{"SS": ["x"]}]}


# --------------------------------------------------------------------------- paths and types


def test_read_paths_cover_every_operand_path() -> None:
    update = compiled(
        "SET a = b.c, d = list_append(if_not_exists(e[1], :l), f), g = h - :n REMOVE r ADD s :n",
        {":l": {"L": []}, ":n": {"N": "1"}},
    )
    assert sorted(update.read_paths, key=str) == sorted([("b", "c"), ("e", 1), ("f",), ("h",)], key=str)
    assert ("r",) in update.changed_paths and ("s",) not in update.read_paths


def test_static_types_of_what_an_update_writes() -> None:
    update = compiled(
        "SET a = :s, b = c, d = :n + e, f = list_append(g, :l), h = if_not_exists(h, :s), i = if_not_exists(i, j), k.x = :s"
        " ADD n :n, ns :ns DELETE ss :ss REMOVE r",
        {":s": {"S": "x"}, ":n": {"N": "1"}, ":l": {"L": []}, ":ns": {"NS": ["1"]}, ":ss": {"SS": ["a"]}},
    )
    assert update.static_types == {
        "a": "S",
        "b": None,  # depends on the item
        "d": "N",
        "f": "L",
        "h": "S",  # if_not_exists counts as its fallback's type
        "i": None,
        "n": "N",
        "ns": "NS",
        "ss": "SS",
    }
