"""Parsing of expressions: grammar, precedence, AWS's error messages, limits, and a print/parse round trip."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emulator.dynamodb.expressions import (
    ExpressionContext,
    compile_condition,
    compile_projection,
    compile_update,
)
from emulator.dynamodb.expressions import ast as A
from emulator.dynamodb.expressions.parser import (
    parse_condition,
    parse_projection,
    parse_update,
)
from emulator.errors import AwsError

V = {":v": {"S": "x"}, ":w": {"S": "y"}, ":n": {"N": "1"}, ":m": {"N": "2"}}


def cond_error(text: str, values: dict | None = None, names: dict | None = None, kind: str = "ConditionExpression") -> str:
    with pytest.raises(AwsError) as info:
        compile_condition(text, ExpressionContext(names, values if values is not None else V), kind)
    assert info.value.code == "ValidationException"
    return info.value.message


def update_error(text: str, values: dict | None = None, names: dict | None = None) -> str:
    with pytest.raises(AwsError) as info:
        compile_update(text, ExpressionContext(names, values if values is not None else V))
    assert info.value.code == "ValidationException"
    return info.value.message


# --------------------------------------------------------------------------- grammar


def test_precedence_not_and_or() -> None:
    node = parse_condition("a = :v OR b = :v AND NOT c = :v")
    assert isinstance(node, A.Or)
    assert isinstance(node.right, A.And)
    assert isinstance(node.right.right, A.Not)


def test_parentheses_override_precedence() -> None:
    node = parse_condition("(a = :v OR b = :v) AND c = :v")
    assert isinstance(node, A.And)
    assert isinstance(node.left, A.Or)


def test_keywords_case_insensitive() -> None:
    node = parse_condition("a between :n and :m Or not b in (:v, :w)")
    assert isinstance(node, A.Or)
    assert isinstance(node.left, A.Between)
    assert isinstance(node.right, A.Not) and isinstance(node.right.operand, A.In)


def test_paths() -> None:
    node = parse_condition("a.#b[1][22].c = :v")
    assert isinstance(node, A.Compare)
    assert node.left == A.Path(("a", "#b", 1, 22, "c"))
    assert node.right == A.ValueRef(":v")


def test_all_comparators_and_functions_parse() -> None:
    for op in ("=", "<>", "<", "<=", ">", ">="):
        assert parse_condition(f"a {op} :v") == A.Compare(op, A.Path(("a",)), A.ValueRef(":v"))
    parse_condition("attribute_exists(a) AND attribute_not_exists(b.c) AND attribute_type(d, :v)")
    parse_condition("begins_with(a, :v) AND contains(b, :v) AND size(c) >= :n AND size(d) BETWEEN :n AND :m")
    parse_condition("size(a) IN (:n, :m)")


def test_whitespace_and_newlines() -> None:
    assert parse_condition("\ta\n=\r\n:v  ") == A.Compare("=", A.Path(("a",)), A.ValueRef(":v"))


def test_parse_cache_returns_same_tree() -> None:
    assert parse_condition("cached = :v") is parse_condition("cached = :v")


# --------------------------------------------------------------------------- syntax errors


@pytest.mark.parametrize(
    ("text", "token", "near"),
    [
        ("a > :v > c", ">", ":v > c"),
        ("a =", "<EOF>", "="),
        ("a = = :v", "=", "= = :v"),
        ("= :v", "=", "= :v"),
        ("a = :v AND", "<EOF>", "AND"),
        ("a :v", ":v", "a :v"),
        ("a = :v b = :w", "b", ":v b ="),
        ("a[x] = :v", "x", "[x]"),
        ("a. = :v", "=", ". = :v"),
        ("a = :v @", "@", ":v @"),
        ("(a = :v", "<EOF>", ":v"),
        ("a BETWEEN :n OR :m", "OR", ":n OR :m"),
        ("a IN :v", ":v", "IN :v"),
        ("a = #", "#", "= #"),
    ],
)
def test_syntax_errors(text: str, token: str, near: str) -> None:
    assert cond_error(text) == f'Invalid ConditionExpression: Syntax error; token: "{token}", near: "{near}"'


def test_syntax_error_names_the_expression_kind() -> None:
    assert cond_error("a =", kind="FilterExpression").startswith("Invalid FilterExpression: Syntax error;")
    assert update_error("whatever") == 'Invalid UpdateExpression: Syntax error; token: "whatever", near: "whatever"'
    with pytest.raises(AwsError) as info:
        compile_projection("a,", ExpressionContext())
    assert info.value.message == 'Invalid ProjectionExpression: Syntax error; token: "<EOF>", near: ","'


def test_reserved_words() -> None:
    assert cond_error("status = :v") == "Invalid ConditionExpression: Attribute name is a reserved keyword; reserved keyword: status"
    assert cond_error("a.Name = :v") == "Invalid ConditionExpression: Attribute name is a reserved keyword; reserved keyword: Name"
    assert update_error("SET size = :v") == "Invalid UpdateExpression: Attribute name is a reserved keyword; reserved keyword: size"
    with pytest.raises(AwsError) as info:
        compile_projection("a, comment", ExpressionContext())
    assert info.value.message == "Invalid ProjectionExpression: Attribute name is a reserved keyword; reserved keyword: comment"
    # A placeholder is the way around it.
    compile_condition("#s = :v", ExpressionContext({"#s": "status"}, {":v": {"S": "x"}}))


def test_function_errors() -> None:
    assert cond_error("foo(a)") == "Invalid ConditionExpression: Invalid function name; function: foo"
    assert cond_error("begins_with(a)") == (
        "Invalid ConditionExpression: Incorrect number of operands for operator or function; operator or function: begins_with, number of operands: 1"
    )
    assert cond_error("attribute_exists(a, b)") == (
        "Invalid ConditionExpression: Incorrect number of operands for operator or function; operator or function: attribute_exists, number of operands: 2"
    )
    assert cond_error("attribute_exists(:v)") == (
        "Invalid ConditionExpression: Operator or function requires a document path; operator or function: attribute_exists"
    )
    assert cond_error("size(:v) = :n") == "Invalid ConditionExpression: Operator or function requires a document path; operator or function: size"
    assert cond_error("size(a)") == "Invalid ConditionExpression: The function is not allowed to be used this way in an expression; function: size"
    assert cond_error("attribute_exists(a) = :v") == (
        "Invalid ConditionExpression: The function is not allowed to be used this way in an expression; function: attribute_exists"
    )
    assert cond_error("if_not_exists(a, :v) = :v") == (
        "Invalid ConditionExpression: The function is not allowed to be used this way in an expression; function: if_not_exists"
    )


def test_function_operand_types() -> None:
    assert cond_error("begins_with(a, :n)") == (
        "Invalid ConditionExpression: Incorrect operand type for operator or function; operator or function: begins_with, operand type: N"
    )
    assert cond_error("attribute_type(a, :n)") == (
        "Invalid ConditionExpression: Incorrect operand type for operator or function; operator or function: attribute_type, operand type: N"
    )
    assert cond_error("attribute_type(a, :t)", {":t": {"S": "XX"}}) == (
        "Invalid ConditionExpression: Invalid attribute type name found; type: XX, valid types: { B,NULL,SS,BOOL,L,BS,N,NS,S,M }"
    )
    assert cond_error("a < :l", {":l": {"L": []}}) == (
        "Invalid ConditionExpression: Incorrect operand type for operator or function; operator or function: <, operand type: L"
    )


def test_between_bounds() -> None:
    assert cond_error("a BETWEEN :m AND :n") == (
        "Invalid ConditionExpression: The BETWEEN operator requires upper bound to be greater than or equal to lower bound; "
        "lower operand: AttributeValue: {N:2}, upper operand: AttributeValue: {N:1}"
    )
    assert "requires same data type" in cond_error("a BETWEEN :n AND :v")
    # Equal bounds are fine.
    compile_condition("a BETWEEN :n AND :n", ExpressionContext(None, {":n": {"N": "1"}}))


def test_redundant_parentheses() -> None:
    assert cond_error("((a = :v))") == "Invalid ConditionExpression: The expression has redundant parentheses;"
    assert cond_error("a = :v AND ((b = :v))") == "Invalid ConditionExpression: The expression has redundant parentheses;"
    compile_condition("(a = :v) AND ((b = :v) OR c = :v)", ExpressionContext(None, {":v": {"S": "x"}}))


# --------------------------------------------------------------------------- limits


def test_expression_size_limit() -> None:
    text = "a" * 4091 + " = :v"  # 4096 bytes
    assert len(text) == 4096
    parse_condition(text)
    assert cond_error(text + " ") == "Invalid ConditionExpression: Expression size has exceeded the maximum allowed size; expression size: 4097"


def test_empty_expression() -> None:
    assert cond_error("   ") == "Invalid ConditionExpression: The expression can not be empty;"
    assert update_error("") == "Invalid UpdateExpression: The expression can not be empty;"


def test_in_operand_limit() -> None:
    values = {f":v{i}": {"N": str(i)} for i in range(101)}
    text = "a IN (" + ", ".join(f":v{i}" for i in range(100)) + ")"
    compile_condition(text, ExpressionContext(None, {k: values[k] for k in list(values)[:100]}))
    text = "a IN (" + ", ".join(f":v{i}" for i in range(101)) + ")"
    assert cond_error(text, values) == "Invalid ConditionExpression: The IN operator is provided with too many operands; number of operands: 101"


def test_operator_limit() -> None:
    ok = " AND ".join(["a = :v"] * 150)  # 150 comparisons + 149 ANDs = 299 operators
    parse_condition(ok)
    too_many = " AND ".join(["a = :v"] * 151)  # 301
    assert cond_error(too_many) == "Invalid ConditionExpression: The expression contains too many operators; operator count: 301"


def test_path_depth_limit() -> None:
    parse_condition(".".join(["a"] * 32) + " = :v")
    assert cond_error(".".join(["a"] * 33) + " = :v") == (
        "Invalid ConditionExpression: The document path has too many nesting levels; nesting levels: 33"
    )


def test_deep_nesting_is_a_validation_error_not_recursion() -> None:
    text = "(a = :v AND " * 300 + "a = :v" + ")" * 300
    assert "nested levels" in cond_error(text)
    assert "nested levels" in cond_error("size(" * 600 + "a" + ")" * 600 + " = :v")
    assert "nested levels" in update_error("SET a = " + "list_append(" * 300 + ":v, :w" + ")" * 300)
    text = "NOT " * 299 + "a = :v"
    node = parse_condition(text)
    assert isinstance(node, A.Not)


def test_huge_list_index() -> None:
    assert "List index is not within the allowable range" in cond_error("a[99999999999] = :v")


# --------------------------------------------------------------------------- update / projection grammar


def test_update_grammar() -> None:
    node = parse_update("set a = :v, b = c + :n remove d[1], e add f :n delete g :s")
    assert node.set == ((A.Path(("a",)), A.ValueRef(":v")), (A.Path(("b",)), A.Arith("+", A.Path(("c",)), A.ValueRef(":n"))))
    assert node.remove == (A.Path(("d", 1)), A.Path(("e",)))
    assert node.add == ((A.Path(("f",)), A.ValueRef(":n")),)
    assert node.delete == ((A.Path(("g",)), A.ValueRef(":s")),)
    node = parse_update("SET l = list_append(if_not_exists(l, :e), :v)")
    assert node.set[0][1] == A.Call("list_append", (A.Call("if_not_exists", (A.Path(("l",)), A.ValueRef(":e"))), A.ValueRef(":v")))


def test_update_clause_only_once() -> None:
    assert update_error("SET a = :v SET b = :w") == 'Invalid UpdateExpression: The "SET" section can only be used once in an update expression;'
    assert update_error("REMOVE a remove b") == 'Invalid UpdateExpression: The "REMOVE" section can only be used once in an update expression;'


def test_update_syntax_errors() -> None:
    assert update_error("SET a = b + c + :n").startswith('Invalid UpdateExpression: Syntax error; token: "+"')
    assert update_error("ADD a b").startswith('Invalid UpdateExpression: Syntax error; token: "b"')
    assert update_error("SET a :v").startswith('Invalid UpdateExpression: Syntax error; token: ":v"')
    assert update_error("SET a = :v,").startswith('Invalid UpdateExpression: Syntax error; token: "<EOF>"')


def test_update_function_errors() -> None:
    assert update_error("SET a = size(b)") == "Invalid UpdateExpression: The function is not allowed in an update expression; function: size"
    assert update_error("SET a = foo(b)") == "Invalid UpdateExpression: Invalid function name; function: foo"
    assert update_error("SET a = if_not_exists(:v, :w)") == (
        "Invalid UpdateExpression: Operator or function requires a document path; operator or function: if_not_exists"
    )
    assert update_error("SET a = list_append(:v, b)") == (
        "Invalid UpdateExpression: Incorrect operand type for operator or function; operator or function: list_append, operand type: S"
    )
    assert update_error("SET a = b + :v") == "Invalid UpdateExpression: Incorrect operand type for operator or function; operator or function: +, operand type: S"
    assert update_error("ADD a :v") == "Invalid UpdateExpression: Incorrect operand type for operator or function; operator: ADD, operand type: STRING"
    assert update_error("ADD a :m", {":m": {"M": {}}}) == "Invalid UpdateExpression: Incorrect operand type for operator or function; operator: ADD, operand type: MAP"
    assert update_error("DELETE a :n") == "Invalid UpdateExpression: Incorrect operand type for operator or function; operator: DELETE, operand type: NUMBER"


def test_update_overlapping_paths() -> None:
    assert update_error("SET a = :v REMOVE a.b") == (
        "Invalid UpdateExpression: Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [a], path two: [a, b]"
    )
    assert update_error("SET a.b = :v, a = :w") == (
        "Invalid UpdateExpression: Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [a, b], path two: [a]"
    )
    assert update_error("SET a = :v, #a = :w", names={"#a": "a"}) == (
        "Invalid UpdateExpression: Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [a], path two: [a]"
    )
    assert update_error("SET a.b = :v REMOVE a[1]") == (
        "Invalid UpdateExpression: Two document paths conflict with each other; must remove or rewrite one of these paths; path one: [a, b], path two: [a, [1]]"
    )
    # Siblings are fine.
    compile_update("SET a.b = :v, a.c = :w REMOVE a.d", ExpressionContext(None, {":v": {"S": "x"}, ":w": {"S": "y"}}))


def test_projection_grammar_and_overlap() -> None:
    assert parse_projection("a, b.c, #d[3]") == (A.Path(("a",)), A.Path(("b", "c")), A.Path(("#d", 3)))
    with pytest.raises(AwsError) as info:
        compile_projection("a.b, a", ExpressionContext())
    assert "Two document paths overlap with each other" in info.value.message
    assert info.value.message.startswith("Invalid ProjectionExpression:")


# --------------------------------------------------------------------------- round trip


NAMES = st.sampled_from(["a", "b", "c1", "x_y", "#n", "#m"])
VALUES = st.sampled_from([":v", ":w", ":n"])


def paths() -> st.SearchStrategy[A.Path]:
    element = st.one_of(NAMES.filter(lambda s: not s.startswith("#")), st.integers(0, 50), st.just("#n"))
    return st.builds(lambda first, rest: A.Path((first, *rest)), NAMES, st.lists(element, max_size=3))


def operands() -> st.SearchStrategy[A.Operand]:
    return st.one_of(paths(), st.builds(A.ValueRef, VALUES), st.builds(lambda p: A.Call("size", (p,)), paths()))


def conditions() -> st.SearchStrategy[A.Cond]:
    leaf = st.one_of(
        st.builds(A.Compare, st.sampled_from(["=", "<>", "<", "<=", ">", ">="]), operands(), operands()),
        st.builds(A.Between, operands(), operands(), operands()),
        st.builds(lambda s, opts: A.In(s, tuple(opts)), operands(), st.lists(operands(), min_size=1, max_size=4)),
        st.builds(lambda p: A.Call("attribute_exists", (p,)), paths()),
        st.builds(lambda p, v: A.Call("begins_with", (p, v)), paths(), operands()),
    )
    return st.recursive(
        leaf,
        lambda inner: st.one_of(st.builds(A.And, inner, inner), st.builds(A.Or, inner, inner), st.builds(A.Not, inner)),
        max_leaves=12,
    )


@settings(max_examples=150, deadline=None)
@given(conditions())
def test_condition_print_parse_roundtrip(node: A.Cond) -> None:
    assert parse_condition.__wrapped__(A.cond_text(node), "ConditionExpression") == node


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(paths(), operands().filter(lambda o: not isinstance(o, A.Call))), max_size=3),
    st.lists(paths(), max_size=3),
    st.lists(st.tuples(paths(), st.builds(A.ValueRef, VALUES)), max_size=2),
)
def test_update_print_parse_roundtrip(sets: list, removes: list, adds: list) -> None:
    node = A.UpdateAst(set=tuple(sets), remove=tuple(removes), add=tuple(adds))
    if not (sets or removes or adds):
        return
    assert parse_update.__wrapped__(A.update_text(node)) == node
