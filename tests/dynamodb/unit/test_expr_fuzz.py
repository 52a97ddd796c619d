"""Arbitrary expression text must either compile or raise a ValidationException: never another exception."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from emulator.dynamodb.expressions import (
    ExpressionContext,
    compile_condition,
    compile_key_condition,
    compile_projection,
    compile_update,
)
from emulator.errors import AwsError

FRAGMENTS = [
    "a", "b", "#n", "#m", ":v", ":w", ":n", ":l", ":s", "[0]", "[1]", ".", ",", "(", ")", "=", "<>", "<", "<=", ">", ">=", "+", "-",
    " AND ", " OR ", " NOT ", " BETWEEN ", " IN ", "SET ", "REMOVE ", "ADD ", "DELETE ", "size", "attribute_exists", "attribute_type",
    "begins_with", "contains", "if_not_exists", "list_append", "status", "#undefined", ":undefined", " ", "@", "9",
]
NAMES: dict[str, str] = {"#n": "a", "#m": "pk"}
VALUES: dict[str, Any] = {":v": {"S": "x"}, ":w": {"S": "y"}, ":n": {"N": "1"}, ":l": {"L": [{"N": "1"}]}, ":s": {"SS": ["a"]}}
ITEM: dict[str, Any] = {"pk": {"S": "x"}, "a": {"L": [{"N": "1"}, {"M": {"b": {"S": "y"}}}]}, "b": {"N": "2"}}

texts = st.lists(st.sampled_from(FRAGMENTS), min_size=1, max_size=14).map("".join)


def _attempt(fn) -> None:  # type: ignore[no-untyped-def]
    try:
        fn()
    except AwsError as exc:
        assert exc.code == "ValidationException"
        assert exc.status == 400


@settings(max_examples=400, deadline=None)
@given(texts)
def test_fuzz_all_kinds(text: str) -> None:
    def condition() -> None:
        compile_condition(text, ExpressionContext(NAMES, VALUES)).evaluate(ITEM)

    def update() -> None:
        compile_update(text, ExpressionContext(NAMES, VALUES)).apply(ITEM)

    def projection() -> None:
        compile_projection(text, ExpressionContext(NAMES, VALUES)).apply(ITEM)

    def key() -> None:
        compile_key_condition(text, ExpressionContext(NAMES, VALUES), "pk", "a").evaluate(ITEM)

    for fn in (condition, update, projection, key):
        _attempt(fn)
