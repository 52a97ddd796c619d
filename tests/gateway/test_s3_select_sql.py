"""The S3 Select SQL engine (emulator/gateway/s3_select_query.py, s3_select_sql.py) on its own: the limits that keep a
hostile expression or document from exhausting the server (recursion, regular-expression
backtracking, million-digit numbers), and SQL's three-valued logic. The answers over the wire
are in test_s3_select.py."""

from __future__ import annotations

import random
import time
from decimal import Decimal
from typing import Any

import pytest

from emulator.gateway.s3_select_query import execute, parse
from emulator.gateway.s3_select_sql import (
    CsvRecord,
    SelectError,
    like,
    like_pattern,
)

DOCS: list[Any] = [{"a": 1, "b": "x", "n": {"c": [1, 2]}}, {"a": Decimal("2.5"), "b": None}, {"a": "s"}, [1, 2], 5,
                   {"a": 10**400, "b": Decimal("1e999990")}]  # a JSON integer of 401 digits, a decimal of a million
CSV = [CsvRecord(["a", "b"], ["1", "x"]), CsvRecord(None, ["2"])]


def _run(expression: str, documents: list[Any] | None = None) -> list[list[tuple[str, Any]]]:
    return list(execute(parse(expression), iter(DOCS if documents is None else documents)))


def _code(expression: str, documents: list[Any] | None = None) -> str:
    with pytest.raises(SelectError) as caught:
        _run(expression, documents)
    return caught.value.code


@pytest.mark.parametrize("expression", [
    "SELECT " + "(" * 5000 + "1" + ")" * 5000 + " FROM s3object",
    "SELECT 1 " + "IS NULL " * 5000 + "FROM s3object",
    "SELECT " + "NOT " * 5000 + "TRUE FROM s3object",
    "SELECT " + "- " * 5000 + "1 FROM s3object",
    "SELECT " + "CAST(" * 5000 + "1" + " AS INT)" * 5000 + " FROM s3object",
    "SELECT " + "UPPER(" * 5000 + "'a'" + ")" * 5000 + " FROM s3object",
    "SELECT " + "CASE WHEN TRUE THEN " * 5000 + "1" + " END" * 5000 + " FROM s3object",
])
def test_deep_nesting_is_refused_not_a_recursion_error(expression: str) -> None:
    assert _code(expression) == "UnsupportedSqlStructure"


def test_long_flat_expressions_are_fine() -> None:
    """Chains of one operator, IN lists and paths are loops, not nesting: no depth limit."""
    where = " OR ".join(f"s.a = {i}" for i in range(2, 5000))
    assert _run(f"SELECT s.b FROM s3object s WHERE {where}", [{"a": 4999, "b": "y"}]) == [[("b", "y")]]
    assert _run("SELECT " + " + ".join(["1"] * 5000) + " FROM s3object", [{}]) == [[("_1", 5000)]]
    assert _run("SELECT 1 FROM s3object s WHERE 7 IN (" + ",".join(map(str, range(10000))) + ")", [{}]) == [[("_1", 1)]]


def test_like_has_no_backtracking_blow_up() -> None:
    started = time.monotonic()
    assert not like("a" * 20000, like_pattern("%a%a%a%a%a%a%a%a%b", None))
    assert like("a" * 20000 + "b", like_pattern("%a%a%a%a%a%a%a%a%b", None))
    assert time.monotonic() - started < 2
    assert like("50%", like_pattern("50!%", "!")) and not like("50x", like_pattern("50!%", "!"))
    assert like("", like_pattern("%", None)) and not like("", like_pattern("_", None))


@pytest.mark.parametrize(("expression", "code"), [
    ("SELECT CAST(CAST('1e999990' AS DECIMAL) AS INT) FROM s3object", "IntegerOverflow"),
    ("SELECT CAST(s.a AS INT) FROM s3object s", "IntegerOverflow"),
    ("SELECT s.a + 1 FROM s3object s", "IntegerOverflow"),
    ("SELECT 99999999999999999999 FROM s3object", "IntegerOverflow"),
    ("SELECT 9223372036854775807 + 1 FROM s3object", "IntegerOverflow"),
    ("SELECT 1e308 * 10 FROM s3object", "UnsupportedSqlOperation"),
    ("SELECT s.a * 1e0 FROM s3object s", "UnsupportedSqlOperation"),
    ("SELECT s.b * s.b FROM s3object s", "UnsupportedSqlOperation"),  # beyond DECIMAL's exponent
    ("SELECT CAST('1e999' AS FLOAT) FROM s3object", "CastFailed"),
    ("SELECT 1e999 FROM s3object", "LexerInvalidLiteral"),
    ("SELECT 1 / 0 FROM s3object", "EvaluatorDivideByZero"),
])
def test_numbers_out_of_range_are_refused_quickly(expression: str, code: str) -> None:
    started = time.monotonic()
    assert _code(expression, [{"a": 10**400, "b": Decimal("1e999990")}]) == code
    assert time.monotonic() - started < 2


def test_integer_arithmetic_truncates_toward_zero() -> None:
    assert _run("SELECT -7 / 2, -7 % 2, 7 / -2, 7 % -2, 7.0 / 2, 7e0 / 2 FROM s3object", [{}]) == [
        [("_1", -3), ("_2", -1), ("_3", -3), ("_4", 1), ("_5", Decimal("3.5")), ("_6", 3.5)]]


def test_three_valued_logic() -> None:
    """NULL AND FALSE is FALSE, NULL OR TRUE is TRUE, otherwise NULL; WHERE keeps TRUE only; an
    operand that decides AND / OR stops the evaluation (no error from the rest)."""
    row = _run("SELECT NULL AND FALSE, NULL OR TRUE, NULL AND TRUE, NOT NULL, NULL = 1, MISSING IS NULL, NULL IS MISSING FROM s3object", [{}])
    assert row == [[("_1", False), ("_2", True), ("_3", None), ("_4", None), ("_5", None), ("_6", True), ("_7", False)]]
    assert _run("SELECT 1 FROM s3object s WHERE s.x = 1 OR TRUE", [{}]) == [[("_1", 1)]]
    assert _run("SELECT 1 FROM s3object s WHERE FALSE AND CAST('x' AS INT) = 1", [{}]) == []
    assert _run("SELECT 1 FROM s3object s WHERE NOT (s.x = 1)", [{}]) == []


def test_random_token_soup_gives_select_errors_only() -> None:
    """Whatever the expression, the engine answers or raises SelectError (a 400), nothing else."""
    words = ["SELECT", "FROM", "WHERE", "s3object", "s", "s.a", "s.b", "s.n.c", "[0]", "[*]", "*", "(", ")", ",", ".", "=", "<",
             ">=", "<>", "+", "-", "/", "%", "||", "AND", "OR", "NOT", "LIKE", "ESCAPE", "BETWEEN", "IN", "IS", "NULL", "MISSING",
             "TRUE", "'x'", "'%'", "1", "0", "2.5", "1e3", "CAST", "AS", "INT", "DECIMAL", "STRING", "COUNT", "SUM", "AVG", "MAX",
             "LOWER", "TRIM", "LEADING", "SUBSTRING", "FOR", "COALESCE", "NULLIF", "CASE", "WHEN", "THEN", "ELSE", "END", "LIMIT",
             "_1", "_0", '"a"', "x"]
    generator = random.Random(7)
    for _ in range(3000):
        select = " ".join(generator.choice(words) for _ in range(generator.randint(0, 5)))
        where = " ".join(generator.choice(words) for _ in range(generator.randint(0, 7)))
        expression = f"SELECT {select} FROM s3object s WHERE {where}"
        for documents in (DOCS, CSV):
            try:
                _run(expression, documents)
            except SelectError:
                pass
