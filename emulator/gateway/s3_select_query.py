"""S3 Select's SQL, the query level: the tokenizer, the recursive-descent parser (depth-limited)
that builds the expression nodes of s3_select_sql, and the evaluation of a whole query (FROM,
WHERE, the SELECT list or its aggregates, LIMIT) over a stream of documents. The supported
subset and the error codes are described in s3_select_sql's docstring."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from emulator.gateway.s3_select_sql import (
    AGGREGATES,
    CAST_TYPES,
    FUNCTIONS,
    MAX_DEPTH,
    MAX_EXPRESSION,
    MISSING,
    Accumulator,
    Agg,
    Between,
    Binary,
    Case,
    Cast,
    Chain,
    CsvRecord,
    Func,
    InList,
    IsTest,
    Like,
    Lit,
    Node,
    Path,
    Scope,
    SelectError,
    Unary,
    field,
    int_checked,
    kind,
    show,
    type_error,
)

# ------------------------------------------------------------------ tokens
_TOKEN = re.compile(r"""
    (?P<space>\s+|--[^\n]*)
  | (?P<number>(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_$]*)
  | (?P<qident>"(?:[^"]|"")*")
  | (?P<string>'(?:[^']|'')*')
  | (?P<op><>|!=|<=|>=|\|\||[-+*/%=<>(),.\[\]])
""", re.VERBOSE)

_RESERVED = {
    "SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "LIKE", "ESCAPE", "BETWEEN", "IN", "IS", "NULL", "MISSING",
    "AS", "LIMIT", "CAST", "TRUE", "FALSE", "CASE", "WHEN", "THEN", "ELSE", "END", "GROUP", "ORDER", "BY",
    "HAVING", "JOIN", "UNION", "INTERSECT", "EXCEPT", "DISTINCT", "ALL", "ON", "OFFSET", "INNER", "LEFT",
    "RIGHT", "FULL", "OUTER", "CROSS", "VALUE", "PIVOT", "UNPIVOT", "AT", "LET",
}
_UNSUPPORTED_CLAUSES = {"GROUP", "ORDER", "HAVING", "JOIN", "UNION", "INTERSECT", "EXCEPT", "OFFSET", "INNER", "LEFT",
                        "RIGHT", "FULL", "OUTER", "CROSS", "PIVOT", "UNPIVOT", "AT", "LET", "ON"}


class Token:
    __slots__ = ("kind", "pos", "value")

    def __init__(self, kind: str, value: Any, pos: int) -> None:
        self.kind, self.value, self.pos = kind, value, pos

    def word(self) -> str:
        return str(self.value).upper() if self.kind == "ident" else ""

    def __repr__(self) -> str:
        return "end of expression" if self.kind == "end" else f"{self.value!r} at position {self.pos}" if self.kind != "string" else f"'{self.value}' at position {self.pos}"


def tokenize(source: str) -> list[Token]:
    tokens: list[Token] = []
    i = 0
    while i < len(source):
        match = _TOKEN.match(source, i)
        if match is None:
            char = source[i]
            if char in "'\"":
                raise SelectError("LexerInvalidLiteral", f"The SQL expression has an unterminated {'string' if char == chr(39) else 'quoted identifier'} at position {i}.")
            if char == "`":
                raise SelectError("UnsupportedSyntax", f"Ion literals (backquoted, position {i}) are not supported.")
            raise SelectError("LexerInvalidChar", f"The SQL expression contains the invalid character {char!r} at position {i}.")
        group, raw = match.lastgroup or "", match.group()
        if group == "number":
            if "e" in raw.lower() and not math.isfinite(float(raw)):
                raise SelectError("LexerInvalidLiteral", f"The number {raw} at position {i} is out of range.")
            if not any(c in raw for c in ".eE") and len(raw.lstrip("0")) > 19:
                raise SelectError("IntegerOverflow", f"The integer {raw} at position {i} overflows a 64-bit INT.")
            value: Any = float(raw) if "e" in raw.lower() else Decimal(raw) if "." in raw else int_checked(int(raw))
            tokens.append(Token("number", value, i))
        elif group == "qident":
            tokens.append(Token("qident", raw[1:-1].replace('""', '"'), i))
        elif group == "string":
            tokens.append(Token("string", raw[1:-1].replace("''", "'"), i))
        elif group != "space":
            tokens.append(Token(group, raw, i))
        i = match.end()
    tokens.append(Token("end", "", len(source)))
    return tokens



# ------------------------------------------------------------------ parser
_DATE_FUNCTIONS = {"DATE_ADD", "DATE_DIFF", "EXTRACT", "TO_STRING", "TO_TIMESTAMP", "UTCNOW"}
_COMPARISONS = ("=", "!=", "<>", "<", "<=", ">", ">=")


class Query:
    def __init__(self) -> None:
        self.items: list[tuple[Node, str | None]] | None = None  # None: SELECT *
        self.alias, self.alias_quoted = "S3Object", False
        self.from_steps: list[tuple[str, bool] | str] = []  # names and "*"
        self.where: Node | None = None
        self.limit: int | None = None
        self.aggregates: list[Agg] = []

    def names(self) -> list[str]:
        names = []
        for position, (node, alias) in enumerate(self.items or [], start=1):
            name = alias or (node.output_name() if isinstance(node, Path) else None)
            names.append(name or f"_{position}")
        return names


class Parser:
    def __init__(self, source: str) -> None:
        if len(source.encode("utf-8")) > MAX_EXPRESSION:
            raise SelectError("ExpressionTooLong", "The SQL expression is longer than 256 KB.")
        self.tokens = tokenize(source)
        self.i = 0
        self.depth = 0
        self._star_alias: tuple[str, bool] | None = None  # SELECT alias.*

    # tokens
    def peek(self, offset: int = 0) -> Token:
        return self.tokens[min(self.i + offset, len(self.tokens) - 1)]

    def take(self) -> Token:
        token = self.peek()
        self.i += 1
        return token

    def at(self, *words: str) -> bool:
        token = self.peek()
        return token.word() in words if token.kind == "ident" else token.kind == "op" and token.value in words

    def accept(self, *words: str) -> bool:
        if self.at(*words):
            self.i += 1
            return True
        return False

    def unexpected(self, expected: str = "") -> SelectError:
        token = self.peek()
        if token.word() in _UNSUPPORTED_CLAUSES or token.word() in ("DISTINCT", "VALUE"):
            return SelectError("UnsupportedSyntax", f"S3 Select does not support {token.word()} ({token!r}).")
        return SelectError("ParseUnexpectedToken", f"The SQL expression contains the unexpected token {token!r}" + (f"; expected {expected}." if expected else "."))

    def expect(self, word: str) -> None:
        if not self.accept(word):
            raise self.unexpected(word)

    def deeper(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise SelectError("UnsupportedSqlStructure", f"The SQL expression nests deeper than {MAX_DEPTH} levels.")

    def name(self, what: str) -> tuple[str, bool]:
        token = self.peek()
        if token.kind == "qident" or (token.kind == "ident" and token.word() not in _RESERVED):
            self.i += 1
            return str(token.value), token.kind == "qident"
        raise self.unexpected(what)

    # statement
    def query(self) -> Query:
        query = Query()
        self.expect("SELECT")
        if self.at("FROM"):
            raise SelectError("ParseEmptySelect", "The SELECT list is empty.")
        query.items = self.select_list()
        if not self.accept("FROM"):
            if self.peek().kind == "end":
                raise SelectError("ParseSelectMissingFrom", "The SQL expression has no FROM after the SELECT list.")
            raise self.unexpected("FROM")
        self.from_clause(query)
        if self.accept("WHERE"):
            query.where = self.expr()
        if self.accept("LIMIT"):
            negative = self.accept("-")
            token = self.take()
            if token.kind != "number" or not isinstance(token.value, int):
                raise SelectError("ParseExpectedNumber", f"LIMIT takes a whole number, not {token!r}.")
            if negative:
                raise SelectError("EvaluatorNegativeLimit", "LIMIT must not be negative.")
            query.limit = token.value
        if self.peek().kind != "end":
            raise self.unexpected("the end of the expression")
        self.check(query)
        return query

    def select_list(self) -> list[tuple[Node, str | None]] | None:
        if self.accept("*"):
            if self.at(","):
                raise SelectError("ParseAsteriskIsNotAloneInSelectList", "* must be alone in the SELECT list.")
            return None
        items: list[tuple[Node, str | None]] = []
        while True:
            if self.at("*"):
                raise SelectError("ParseAsteriskIsNotAloneInSelectList", "* must be alone in the SELECT list.")
            if self.peek(1).kind == "op" and self.peek(1).value == "." and self.peek(2).kind == "op" and self.peek(2).value == "*":
                name, quoted = self.name("a table alias")
                self.i += 2
                if len(items) or self.at(","):
                    raise SelectError("ParseAsteriskIsNotAloneInSelectList", f"{name}.* must be alone in the SELECT list.")
                self._star_alias = (name, quoted)
                return None
            node = self.expr()
            alias = None
            if self.accept("AS") or self.peek().kind == "qident" or (self.peek().kind == "ident" and self.peek().word() not in _RESERVED):
                alias = self.name("an alias")[0]
            items.append((node, alias))
            if not self.accept(","):
                return items

    def from_clause(self, query: Query) -> None:
        table = self.peek()
        if table.kind not in ("ident", "qident") or str(table.value).lower() != "s3object":
            raise SelectError("EvaluatorBindingDoesNotExist", f"FROM names {table!r}; S3 Select queries S3Object.")
        self.i += 1
        while self.at("[", "."):
            if self.accept("["):
                if not self.accept("*"):
                    raise SelectError("ParseInvalidPathComponent", f"A FROM path takes [*], not {self.peek()!r}.")
                self.expect("]")
                query.from_steps.append("*")
            else:
                self.i += 1
                query.from_steps.append(self.name("a path name"))
        if self.accept("AS") or self.peek().kind == "qident" or (self.peek().kind == "ident" and self.peek().word() not in _RESERVED):
            query.alias, query.alias_quoted = self.name("an alias")
        if self.at(",", "JOIN", "INNER", "LEFT", "RIGHT", "FULL", "CROSS"):
            raise SelectError("MultipleDataSourcesUnsupported", "S3 Select queries one data source: S3Object.")
        star = self._star_alias
        if star is not None and not (star[0] == query.alias if star[1] or query.alias_quoted else star[0].lower() == query.alias.lower()):
            raise SelectError("InvalidTableAlias", f"{star[0]}.* names no table alias of the FROM clause.")

    def check(self, query: Query) -> None:
        if query.where is not None and any(isinstance(n, Agg) for n in query.where.walk()):
            raise SelectError("UnsupportedSyntax", "Aggregate functions are not allowed in WHERE.")
        for node, _ in query.items or []:
            for sub in node.walk():
                if isinstance(sub, Agg):
                    if sub.arg is not None and any(isinstance(n, Agg) for n in sub.arg.walk()):
                        raise SelectError("UnsupportedSyntax", "Aggregate functions cannot be nested.")
                    query.aggregates.append(sub)
        if query.aggregates:
            if query.items is None:
                raise SelectError("UnsupportedSqlStructure", "SELECT * cannot be mixed with aggregate functions.")
            for node, _ in query.items:
                outside = _outside_aggregates(node)
                if any(isinstance(n, Path) for n in outside):
                    raise SelectError("UnsupportedSqlStructure", "A SELECT list with aggregate functions can name no column outside them.")

    # expressions, loosest first
    def expr(self) -> Node:
        self.deeper()
        node = self.or_()
        self.depth -= 1
        return node

    def _chain(self, words: tuple[str, ...], operand: Any) -> Node:
        operands: list[Node] = [operand()]
        ops: list[str] = []
        while self.at(*words):
            token = self.take()
            ops.append(token.word() or str(token.value))
            operands.append(operand())
        return Chain(operands, ops) if ops else operands[0]

    def or_(self) -> Node:
        return self._chain(("OR",), self.and_)

    def and_(self) -> Node:
        return self._chain(("AND",), self.not_)

    def not_(self) -> Node:
        if self.accept("NOT"):
            self.deeper()
            node = Unary("NOT", self.not_())
            self.depth -= 1
            return node
        return self.predicate()

    def predicate(self) -> Node:
        node = self.comparison()
        saved = self.depth
        while self.accept("IS"):  # looser than comparisons: a < b IS NULL is (a < b) IS NULL
            self.deeper()
            negated = self.accept("NOT")
            if not self.at("NULL", "MISSING"):
                raise self.unexpected("NULL or MISSING")
            node = IsTest(node, self.take().word(), negated)
        self.depth = saved
        return node

    def comparison(self) -> Node:
        left = self.additive()
        if self.at(*_COMPARISONS):
            op = self.take().value
            return Binary(op, left, self.additive())
        negated = self.accept("NOT")
        if self.accept("LIKE"):
            pattern = self.additive()
            return Like(left, pattern, self.additive() if self.accept("ESCAPE") else None, negated)
        if self.accept("BETWEEN"):
            low = self.additive()
            self.expect("AND")
            return Between(left, low, self.additive(), negated)
        if self.accept("IN"):
            self.expect("(")
            items = [self.expr()]
            while self.accept(","):
                items.append(self.expr())
            self.expect(")")
            return InList(left, items, negated)
        if negated:
            raise self.unexpected("LIKE, BETWEEN or IN after NOT")
        return left

    def additive(self) -> Node:
        return self._chain(("+", "-", "||"), self.multiplicative)

    def multiplicative(self) -> Node:
        return self._chain(("*", "/", "%"), self.unary)

    def unary(self) -> Node:
        if self.at("-", "+"):
            op = self.take().value
            self.deeper()
            operand = self.unary()
            self.depth -= 1
            if isinstance(operand, Lit) and kind(operand.value) == "number":
                return Lit(-operand.value if op == "-" else operand.value)
            return Unary(op, operand)
        return self.primary()

    def primary(self) -> Node:
        token = self.peek()
        word = token.word()
        if token.kind in ("number", "string"):
            self.i += 1
            return Lit(token.value)
        if word in ("TRUE", "FALSE", "NULL", "MISSING"):
            self.i += 1
            return Lit({"TRUE": True, "FALSE": False, "NULL": None, "MISSING": MISSING}[word])
        if self.accept("("):
            node = self.expr()
            self.expect(")")
            return node
        if word == "CAST":
            return self.cast()
        if word == "CASE":
            return self.case()
        if token.kind == "ident" and self.peek(1).kind == "op" and self.peek(1).value == "(":
            return self.call()
        if token.kind in ("ident", "qident") and word not in _RESERVED:
            return self.path()
        if token.kind == "end":
            raise SelectError("ParseExpectedExpression", "The SQL expression ends where an expression was expected.")
        raise self.unexpected("an expression")

    def path(self) -> Node:
        node = Path(*self.name("a name"))
        while self.at(".", "["):
            if self.accept("."):
                node.steps.append(self.name("a name after ."))
            else:
                self.i += 1
                token = self.take()
                if token.kind == "op" and token.value == "*":
                    raise SelectError("UnsupportedSyntax", "The wildcard [*] is supported in the FROM clause only.")
                if token.kind != "number" or not isinstance(token.value, int):
                    raise SelectError("ParseInvalidPathComponent", f"A path index is a whole number, not {token!r}.")
                node.steps.append(token.value)
                self.expect("]")
        return node

    def cast(self) -> Node:
        self.i += 1
        self.expect("(")
        value = self.expr()
        self.expect("AS")
        token = self.take()
        target = token.word() or str(token.value).upper()
        if target == "TIMESTAMP":
            raise SelectError("UnsupportedSyntax", "TIMESTAMP values are not supported by this emulator's S3 Select.")
        if target not in CAST_TYPES:
            raise SelectError("ParseExpectedTypeName", f"CAST ... AS takes a type (INT, INTEGER, FLOAT, DECIMAL, NUMERIC, STRING, BOOL), not {token!r}.")
        self.expect(")")
        return Cast(value, CAST_TYPES[target])

    def case(self) -> Node:
        self.i += 1
        operand = None if self.at("WHEN") else self.expr()
        whens = []
        while self.accept("WHEN"):
            condition = self.expr()
            self.expect("THEN")
            whens.append((condition, self.expr()))
        if not whens:
            raise SelectError("ParseExpectedWhenClause", "CASE needs at least one WHEN clause.")
        default = self.expr() if self.accept("ELSE") else None
        self.expect("END")
        return Case(operand, whens, default)

    def call(self) -> Node:
        name = self.take().word()
        self.i += 1  # (
        node: Node
        if name in AGGREGATES:
            if self.at("DISTINCT", "ALL"):
                raise SelectError("UnsupportedSyntax", f"{name}({self.peek().word()} ...) is not supported.")
            if self.accept("*"):
                if name != "COUNT":
                    raise SelectError("ParseUnsupportedCallWithStar", f"{name}(*) is not supported: only COUNT(*).")
                node = Agg(name, None)
            else:
                node = Agg(name, self.expr())
        elif name == "TRIM":
            node = self.trim()
        elif name in FUNCTIONS:
            args = [] if self.at(")") else [self.expr()]
            if name == "SUBSTRING" and self.accept("FROM"):
                args.append(self.expr())
                if self.accept("FOR"):
                    args.append(self.expr())
            while self.accept(","):
                args.append(self.expr())
            if not self.at(")"):
                raise self.unexpected(") or ,")
            least, most = FUNCTIONS[name]
            if len(args) < least or (most is not None and len(args) > most):
                raise SelectError("EvaluatorInvalidArguments", f"{name} takes {least}{'' if most == least else ' or more' if most is None else f' to {most}'} arguments, not {len(args)}.")
            node = Func(name, args)
        elif name in _DATE_FUNCTIONS:
            raise SelectError("UnsupportedFunction", f"The function {name} is not supported by this emulator's S3 Select.")
        else:
            raise SelectError("UnsupportedFunction", f"The SQL expression contains the unsupported function {name}.")
        self.expect(")")
        return node

    def trim(self) -> Node:
        where = self.take().word() if self.at("LEADING", "TRAILING", "BOTH") else "BOTH"
        chars = None
        if not self.accept("FROM"):
            first = self.expr()
            if not self.accept("FROM"):
                return Func("TRIM", [first], where)
            chars = first
        return Func("TRIM", [self.expr()], where, chars)


def _outside_aggregates(node: Node) -> list[Node]:
    if isinstance(node, Agg):
        return []
    return [node, *(n for child in node.children() for n in _outside_aggregates(child))]


def parse(source: str) -> Query:
    return Parser(source).query()


# ------------------------------------------------------------------ evaluation
def _from_items(query: Query, documents: Iterator[Any]) -> Iterator[Any]:
    """The FROM clause's items: each document, or what its path reaches (S3Object[*].a[*]...);
    [*] over a value that is not a list is that value alone, a missing name is MISSING."""
    steps = query.from_steps[1:] if query.from_steps[:1] == ["*"] else query.from_steps
    for document in documents:
        values = [document]
        for step in steps:
            if isinstance(step, str):
                values = [item for value in values for item in (value if isinstance(value, list) else [value])]
            else:
                values = [field(value, step[0], step[1]) for value in values]
        yield from values


def _star(item: Any) -> list[tuple[str, Any]]:
    if isinstance(item, CsvRecord):
        return item.items()
    if isinstance(item, dict):
        return list(item.items())
    return [] if item is MISSING else [("_1", item)]


def _true(scope: Scope, where: Node) -> bool:
    value = where.ev(scope)
    if not (value is None or value is MISSING or isinstance(value, bool)):
        raise type_error(f"WHERE needs a boolean condition, not the {kind(value)} {show(value)}.")
    return value is True


def execute(query: Query, documents: Iterator[Any]) -> Iterator[list[tuple[str, Any]]]:
    """The records of the query's answer, each as its (name, value) pairs (MISSING values kept:
    JSON output leaves them out, CSV output writes them empty)."""
    last = query.from_steps[-1] if query.from_steps else None
    scope = Scope(query.alias, query.alias_quoted, last[0] if isinstance(last, tuple) else None)
    limit = query.limit
    if limit == 0:
        return
    names = query.names()
    if query.aggregates:
        accumulators = [Accumulator(agg) for agg in query.aggregates]
        for item in _from_items(query, documents):
            scope.item = item
            if query.where is None or _true(scope, query.where):
                for accumulator in accumulators:
                    accumulator.add(scope)
        scope.aggregates = {id(acc.agg): acc.result() for acc in accumulators}
        scope.item = MISSING
        yield [(name, node.ev(scope)) for name, (node, _) in zip(names, query.items or [], strict=True)]
        return
    returned = 0
    for item in _from_items(query, documents):
        scope.item = item
        if query.where is not None and not _true(scope, query.where):
            continue
        yield _star(item) if query.items is None else [(name, node.ev(scope)) for name, (node, _) in zip(names, query.items, strict=True)]
        returned += 1
        if limit is not None and returned >= limit:
            return
