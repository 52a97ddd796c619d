"""Unit tests of the PartiQL parser: literals, paths, parameters, errors."""

from __future__ import annotations

import pytest

from emulator.dynamodb.expressions.ast import (
    And,
    Between,
    Call,
    Compare,
    Const,
    In,
    Not,
    Path,
)
from emulator.dynamodb.lifecycle.partiql_parser import parse
from emulator.errors import AwsError


def test_select_parts() -> None:
    st = parse('SELECT a, "b c".d[2] FROM "my-table"."by-x" WHERE pk = ? AND n BETWEEN -1.5 AND 2e3', [{"S": "k"}])
    assert st.kind == "SELECT" and st.table == "my-table" and st.index == "by-x"
    assert st.projection == [("a",), ("b c", "d", 2)]
    assert isinstance(st.where, And)
    assert st.where.left == Compare("=", Path(("pk",)), Const({"S": "k"}))
    assert st.where.right == Between(Path(("n",)), Const({"N": "-1.5"}), Const({"N": "2000"}))


def test_literals() -> None:
    st = parse("INSERT INTO t VALUE {'s': 'it''s', 'n': 10, 'b': true, 'z': null, 'l': [1, 'x'], 'ns': <<1, 2>>, 'm': {'k': ?}}", [{"B": b"\x01"}])
    assert st.item == {
        "s": {"S": "it's"},
        "n": {"N": "10"},
        "b": {"BOOL": True},
        "z": {"NULL": True},
        "l": {"L": [{"N": "1"}, {"S": "x"}]},
        "ns": {"NS": ["1", "2"]},
        "m": {"M": {"k": {"B": b"\x01"}}},
    }


def test_conditions() -> None:
    st = parse("SELECT * FROM t WHERE NOT (a IN [1, 2] OR begins_with(s, 'p')) AND x IS NOT MISSING AND y <> 3")
    text = repr(st.where)
    assert "In(" in text and "begins_with" in text and "attribute_not_exists" in text
    assert isinstance(st.where, And)
    first = st.where.left.left  # type: ignore[union-attr]
    assert isinstance(first, Not)
    assert isinstance(st.where.left.right, Not)  # type: ignore[union-attr]
    assert isinstance(st.where.left.right.operand, Call)  # type: ignore[union-attr]
    assert isinstance(parse("SELECT * FROM t WHERE a IN (1, 2)").where, In)


def test_update_and_delete() -> None:
    st = parse("UPDATE t SET a = a + 1, b = list_append(b, [1]) REMOVE c, d.e WHERE pk = 'k' RETURNING MODIFIED OLD *")
    assert [p for p, _ in st.sets] == [("a",), ("b",)]
    assert st.removes == [("c",), ("d", "e")]
    assert st.returning == "MODIFIED_OLD"
    st = parse("DELETE FROM t WHERE pk = 'k' AND sk = 1;")
    assert st.kind == "DELETE"


@pytest.mark.parametrize(
    ("text", "params", "message"),
    [
        ("SELECT * FROM t WHERE a = ?", [], "Number of parameters"),
        ("SELECT * FROM t", [{"S": "x"}], "Number of parameters"),
        ("SELECT * FROM", None, "wasn't well formed"),
        ("SELECT * FROM t WHERE a = 'x", None, "wasn't well formed"),
        ("DROP TABLE t", None, "wasn't well formed"),
        ("UPDATE t WHERE pk = 'k'", None, "wasn't well formed"),
        ("INSERT INTO t VALUE [1]", None, "non-tuple"),
        ("SELECT * FROM t WHERE a = 1 extra", None, "wasn't well formed"),
    ],
)
def test_errors(text: str, params: list[dict[str, str]] | None, message: str) -> None:
    with pytest.raises(AwsError) as err:
        parse(text, params)
    assert err.value.code == "ValidationException"
    assert message in err.value.message
