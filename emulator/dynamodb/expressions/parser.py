"""One hand-written tokenizer and recursive-descent parser for every expression kind.

Condition, filter and key-condition expressions share one grammar
(https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.OperatorsAndFunctions.html#Expressions.OperatorsAndFunctions.Syntax)::

    condition  := or
    or         := and ("OR" and)*
    and        := not ("AND" not)*
    not        := "NOT"* primary
    primary    := "(" condition ")" | function | operand comparator operand
                | operand "BETWEEN" operand "AND" operand | operand "IN" "(" operand ("," operand)* ")"
    operand    := path | ":value" | function
    path       := name ("." name | "[" digits "]")*        name := identifier | "#placeholder"

Update expressions (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.UpdateExpressions.html)
and projection expressions reuse the same tokens, paths and operands. Precedence
is NOT > AND > OR, as DynamoDB documents
(https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.OperatorsAndFunctions.html#Expressions.OperatorsAndFunctions.Precedence).

Parse results depend only on (text, kind) and are immutable, so they are cached.
All checks that need no placeholder values happen here; the rest happen at
resolution (context.py).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from emulator.errors import AwsError

from .ast import (
    And,
    Arith,
    Between,
    Call,
    Compare,
    Cond,
    In,
    Not,
    Operand,
    Or,
    Path,
    PathElement,
    UpdateAst,
    ValueRef,
    invalid,
)
from .reserved import RESERVED_WORDS

# "The maximum length of any expression string is 4 KB."
# https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html#limits-expression-parameters
MAX_EXPRESSION_BYTES = 4096
# "The maximum number of operators or functions allowed in an UpdateExpression is 300"
# (DynamoDB applies the same bound to the other expression kinds).
MAX_OPERATORS = 300
# "The maximum number of operands for the IN comparator is 100."
MAX_IN_OPERANDS = 100
# "DynamoDB supports nested attributes up to 32 levels deep."
MAX_PATH_DEPTH = 32
# Condition expressions report the most important of their errors, not the first one met:
# redundant parentheses, then an unknown function, then a function used where it can't be, then
# a reserved word, then a function's operands (the order dynalite, whose tests ran against AWS,
# reports them in). A syntax error still wins over all of these.
_PARENS, _UNKNOWN_FUNCTION, _MISUSED_FUNCTION, _RESERVED, _OPERANDS, _SECTION = range(6)
# Update expressions rank their parse-time errors differently (dynalite's order again): a
# reserved word, then an unknown or misused function (one kind: the first in the text wins),
# then a repeated clause. Function operands are checked after placeholders and paths, when the
# expression is compiled (compile_update), so the parser doesn't rank them.
_UPDATE_RANKS = {_RESERVED: 0, _UNKNOWN_FUNCTION: 1, _MISUSED_FUNCTION: 1, _SECTION: 2}
# Parentheses nest by recursion; bounding them keeps the parser far from Python's
# recursion limit (a 4 KB expression could otherwise nest ~2000 deep).
MAX_PAREN_DEPTH = 100
MAX_LIST_INDEX = 2**31 - 1

COMPARATORS = ("=", "<>", "<", "<=", ">", ">=")
CONDITION_FUNCTIONS = {
    # name: (arity, first operand must be a path)
    "attribute_exists": (1, True),
    "attribute_not_exists": (1, True),
    "attribute_type": (2, True),
    "begins_with": (2, False),
    "contains": (2, False),
}
OPERAND_FUNCTIONS = {"size": (1, True)}
UPDATE_FUNCTIONS = {"if_not_exists": (2, True), "list_append": (2, False)}
ALL_FUNCTIONS = {**CONDITION_FUNCTIONS, **OPERAND_FUNCTIONS, **UPDATE_FUNCTIONS}
UPDATE_CLAUSES = ("SET", "REMOVE", "ADD", "DELETE")

_TOKEN_RE = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<namevar>\#[A-Za-z0-9_]+)
  | (?P<valuevar>:[A-Za-z0-9_]+)
  | (?P<num>[0-9]+)
  | (?P<op><>|<=|>=|[=<>+\-.,()\[\]])
  | (?P<bad>.)
    """,
    re.VERBOSE | re.DOTALL,
)


@dataclass(frozen=True, slots=True)
class Token:
    kind: str  # name, namevar, valuevar, num, op, bad, eof
    text: str
    start: int
    end: int

    def is_op(self, text: str) -> bool:
        return self.kind == "op" and self.text == text

    def is_keyword(self, word: str) -> bool:
        return self.kind == "name" and self.text.upper() == word


def tokenize(text: str) -> list[Token]:
    tokens = []
    for match in _TOKEN_RE.finditer(text):
        kind = match.lastgroup or "bad"
        if kind == "ws":
            continue
        tokens.append(Token(kind, match.group(), match.start(), match.end()))
    tokens.append(Token("eof", "<EOF>", len(text), len(text)))
    return tokens


def check_size(text: str, kind: str) -> None:
    size = len(text.encode("utf-8"))
    if size > MAX_EXPRESSION_BYTES:
        raise invalid(kind, f"Expression size has exceeded the maximum allowed size; expression size: {size}")
    if not text.strip():
        raise invalid(kind, "The expression can not be empty;")


class Parser:
    def __init__(self, text: str, kind: str) -> None:
        check_size(text, kind)
        self.text = text
        self.kind = kind
        self.tokens = tokenize(text)
        self.pos = 0
        self.depth = 0
        self.operators = 0
        # (open, close) token indexes of every parenthesized condition, to spot "((...))".
        self.paren_spans: set[tuple[int, int]] = set()
        # Ranked errors held back until the whole condition parsed (None: raise at once).
        self.deferred: dict[int, AwsError] | None = None

    # ------------------------------------------------------------------ token helpers

    def peek(self, ahead: int = 0) -> Token:
        return self.tokens[min(self.pos + ahead, len(self.tokens) - 1)]

    def advance(self) -> Token:
        token = self.tokens[self.pos]
        if token.kind != "eof":
            self.pos += 1
        return token

    def fail(self, message: str) -> AwsError:
        return invalid(self.kind, message)

    def defer(self, rank: int, message: str) -> None:
        """Raise now, or, in a condition or update, remember the first error of this rank for the end."""
        if self.deferred is None:
            raise self.fail(message)
        if self.kind == "UpdateExpression":
            if rank not in _UPDATE_RANKS:
                return
            rank = _UPDATE_RANKS[rank]
        self.deferred.setdefault(rank, self.fail(message))

    def syntax_error(self, index: int | None = None) -> AwsError:
        """DynamoDB's message quotes the offending token and the text from the token before it to the one after it."""
        index = self.pos if index is None else index
        token = self.tokens[index]
        first = self.tokens[max(index - 1, 0)]
        last = self.tokens[min(index + 1, len(self.tokens) - 1)]
        if last.kind == "eof":
            # Trailing whitespace isn't part of any token.
            last = self.tokens[max(len(self.tokens) - 2, 0)]
        near = self.text[first.start : max(last.end, first.end)]
        return self.fail(f'Syntax error; token: "{token.text}", near: "{near}"')

    def expect_op(self, text: str) -> Token:
        if not self.peek().is_op(text):
            raise self.syntax_error()
        return self.advance()

    def expect_eof(self) -> None:
        if self.peek().kind != "eof":
            raise self.syntax_error()

    def enter(self) -> None:
        """One more level of parentheses (grouping or a function's arguments)."""
        self.depth += 1
        if self.depth > MAX_PAREN_DEPTH:
            raise self.fail(f"The expression has too many nested levels of parentheses; nesting levels: {self.depth}")

    def count_operator(self) -> None:
        self.operators += 1
        if self.operators > MAX_OPERATORS:
            raise self.fail(f"The expression contains too many operators; operator count: {self.operators}")

    # ------------------------------------------------------------------ paths and operands

    def name_element(self) -> str:
        token = self.peek()
        if token.kind == "namevar":
            self.advance()
            return token.text
        if token.kind == "name":
            if token.text.upper() in RESERVED_WORDS:
                self.defer(_RESERVED, f"Attribute name is a reserved keyword; reserved keyword: {token.text}")
            self.advance()
            return token.text
        raise self.syntax_error()

    def path(self) -> Path:
        elements: list[PathElement] = [self.name_element()]
        while True:
            token = self.peek()
            if token.is_op("."):
                self.advance()
                elements.append(self.name_element())
            elif token.is_op("["):
                self.advance()
                number = self.peek()
                if number.kind != "num":
                    raise self.syntax_error()
                self.advance()
                index = int(number.text)
                if index > MAX_LIST_INDEX:
                    raise self.fail(f"List index is not within the allowable range; index: [{number.text}]")
                self.expect_op("]")
                elements.append(index)
            else:
                break
        if len(elements) > MAX_PATH_DEPTH:
            raise self.fail(f"The document path has too many nesting levels; nesting levels: {len(elements)}")
        return Path(tuple(elements))

    def call(self) -> Call:
        name_token = self.advance()
        name = name_token.text
        self.enter()
        self.expect_op("(")
        args: list[Operand] = []
        if not self.peek().is_op(")"):
            args.append(self.operand())
            while self.peek().is_op(","):
                self.advance()
                args.append(self.operand())
        self.expect_op(")")
        self.depth -= 1
        self.count_operator()
        if name not in ALL_FUNCTIONS:
            self.defer(_UNKNOWN_FUNCTION, f"Invalid function name; function: {name}")
            return Call(name, tuple(args))
        arity, needs_path = ALL_FUNCTIONS[name]
        if len(args) != arity:
            self.defer(_OPERANDS, f"Incorrect number of operands for operator or function; operator or function: {name}, number of operands: {len(args)}")
        elif needs_path and not isinstance(args[0], Path):
            self.defer(_OPERANDS, f"Operator or function requires a document path; operator or function: {name}")
        return Call(name, tuple(args))

    def _check_operand_function(self, call: Call) -> None:
        allowed = UPDATE_FUNCTIONS if self.kind == "UpdateExpression" else OPERAND_FUNCTIONS
        if call.name not in allowed and call.name in ALL_FUNCTIONS:
            if self.kind == "UpdateExpression":
                self.defer(_MISUSED_FUNCTION, f"The function is not allowed in an update expression; function: {call.name}")
                return
            self.defer(_MISUSED_FUNCTION, f"The function is not allowed to be used this way in an expression; function: {call.name}")

    def operand(self) -> Operand:
        token = self.peek()
        if token.kind == "name" and self.peek(1).is_op("("):
            call = self.call()
            self._check_operand_function(call)
            return call
        if token.kind in ("name", "namevar"):
            return self.path()
        if token.kind == "valuevar":
            self.advance()
            return ValueRef(token.text)
        raise self.syntax_error()

    # ------------------------------------------------------------------ conditions

    def condition(self) -> Cond:
        self.deferred = {}
        node = self.or_expr()
        self.expect_eof()
        if self.deferred:
            raise self.deferred[min(self.deferred)]
        return node

    def or_expr(self) -> Cond:
        node = self.and_expr()
        while self.peek().is_keyword("OR"):
            self.advance()
            self.count_operator()
            node = Or(node, self.and_expr())
        return node

    def and_expr(self) -> Cond:
        node = self.not_expr()
        while self.peek().is_keyword("AND"):
            self.advance()
            self.count_operator()
            node = And(node, self.not_expr())
        return node

    def not_expr(self) -> Cond:
        # Iterative, so "NOT NOT NOT ..." can't exhaust the stack.
        nots = 0
        while self.peek().is_keyword("NOT"):
            self.advance()
            self.count_operator()
            nots += 1
        node = self.primary()
        for _ in range(nots):
            node = Not(node)
        return node

    def primary(self) -> Cond:
        token = self.peek()
        if token.is_op("("):
            open_index = self.pos
            self.enter()
            self.advance()
            node = self.or_expr()
            close_index = self.pos
            self.expect_op(")")
            self.depth -= 1
            if (open_index + 1, close_index - 1) in self.paren_spans:
                self.defer(_PARENS, "The expression has redundant parentheses;")
            self.paren_spans.add((open_index, close_index))
            return node
        if token.kind == "name" and self.peek(1).is_op("("):
            call = self.call()
            following = self.peek()
            if following.kind == "op" and following.text in COMPARATORS or following.is_keyword("BETWEEN") or following.is_keyword("IN"):
                self._check_operand_function(call)
                return self.comparison(call)
            if call.name not in CONDITION_FUNCTIONS and call.name in ALL_FUNCTIONS:
                self.defer(_MISUSED_FUNCTION, f"The function is not allowed to be used this way in an expression; function: {call.name}")
            return call
        if token.kind in ("name", "namevar", "valuevar"):
            return self.comparison(self.operand())
        raise self.syntax_error()

    def comparison(self, left: Operand) -> Cond:
        token = self.peek()
        if token.kind == "op" and token.text in COMPARATORS:
            self.advance()
            self.count_operator()
            return Compare(token.text, left, self.operand())
        if token.is_keyword("BETWEEN"):
            self.advance()
            self.count_operator()
            low = self.operand()
            if not self.peek().is_keyword("AND"):
                raise self.syntax_error()
            self.advance()
            return Between(left, low, self.operand())
        if token.is_keyword("IN"):
            self.advance()
            self.count_operator()
            self.expect_op("(")
            options = [self.operand()]
            while self.peek().is_op(","):
                self.advance()
                options.append(self.operand())
            self.expect_op(")")
            if len(options) > MAX_IN_OPERANDS:
                raise self.fail(f"The IN operator is provided with too many operands; number of operands: {len(options)}")
            return In(left, tuple(options))
        raise self.syntax_error()

    # ------------------------------------------------------------------ update expressions

    def update(self) -> UpdateAst:
        self.deferred = {}
        sections: dict[str, list[object]] = {}
        while True:
            token = self.peek()
            clause = token.text.upper() if token.kind == "name" else ""
            if clause not in UPDATE_CLAUSES:
                raise self.syntax_error()
            self.advance()
            actions: list[object] = []
            if clause in sections:
                # Reported only if the rest parses and holds no reserved word or bad function.
                self.defer(_SECTION, f'The "{clause}" section can only be used once in an update expression;')
            else:
                sections[clause] = actions
            while True:
                actions.append(self.update_action(clause))
                if self.peek().is_op(","):
                    self.advance()
                    continue
                break
            if self.peek().kind == "eof":
                break
        self.expect_eof()
        if self.deferred:
            raise self.deferred[min(self.deferred)]
        return UpdateAst(
            set=tuple(sections.get("SET", ())),  # type: ignore[arg-type]
            remove=tuple(sections.get("REMOVE", ())),  # type: ignore[arg-type]
            add=tuple(sections.get("ADD", ())),  # type: ignore[arg-type]
            delete=tuple(sections.get("DELETE", ())),  # type: ignore[arg-type]
            clauses=tuple(sections),
        )

    def update_action(self, clause: str) -> object:
        path = self.path()
        if clause == "REMOVE":
            return path
        if clause == "SET":
            self.expect_op("=")
            value = self.operand()
            token = self.peek()
            if token.is_op("+") or token.is_op("-"):
                self.advance()
                self.count_operator()
                value = Arith(token.text, value, self.operand())
            return (path, value)
        # ADD and DELETE take a path and a value placeholder.
        token = self.peek()
        if token.kind != "valuevar":
            raise self.syntax_error()
        self.advance()
        self.count_operator()
        return (path, ValueRef(token.text))

    # ------------------------------------------------------------------ projections

    def projection(self) -> tuple[Path, ...]:
        paths = [self.path()]
        while self.peek().is_op(","):
            self.advance()
            paths.append(self.path())
        self.expect_eof()
        return tuple(paths)


@functools.lru_cache(maxsize=2048)
def parse_condition(text: str, kind: str = "ConditionExpression") -> Cond:
    return Parser(text, kind).condition()


@functools.lru_cache(maxsize=2048)
def parse_update(text: str) -> UpdateAst:
    return Parser(text, "UpdateExpression").update()


@functools.lru_cache(maxsize=2048)
def parse_projection(text: str) -> tuple[Path, ...]:
    return Parser(text, "ProjectionExpression").projection()
