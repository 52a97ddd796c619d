"""S3 Select's SQL: values and the expression nodes that evaluate them (the tokenizer, the
parser and the evaluation of a whole query are in s3_select_query), for the subset the S3 User
Guide's "SQL reference for Amazon S3 Select" documents.

Supported: ``SELECT`` with ``*``, ``alias.*`` or expressions ``[AS] alias``; ``FROM S3Object
[[AS] alias]`` and ``S3Object[*].path[*]...`` (JSON); ``WHERE``; ``LIMIT n``. Expressions: literals
(strings, numbers, TRUE, FALSE, NULL, MISSING), paths (``s.a.b``, ``s.a[0]``, ``"Quoted"``,
positions ``_1``), = != <> < <= > >=, AND OR NOT, [NOT] LIKE ... [ESCAPE], [NOT] BETWEEN, [NOT] IN,
IS [NOT] NULL / MISSING, + - * / %, ||, CAST, CASE, the aggregates COUNT SUM AVG MIN MAX and the
functions LOWER UPPER TRIM SUBSTRING CHAR_LENGTH CHARACTER_LENGTH COALESCE NULLIF.

Types: "If CAST is not defined, then all input data is treated as a string" (the reference's
"Data types"): a CSV value is a string, and a string is never compared or added to a number
here; such an operation is refused with IncorrectSqlFunctionArgumentType instead of answering
an unsourced guess. Header and attribute names without double quotation marks are case
insensitive, quoted ones case sensitive; several matches are AmbiguousFieldName, a quoted CSV
header name that does not match is MissingHeaderName (the reference's "SELECT command", "Case
sensitivity of header/attribute names"). Timestamps and the date functions are refused
(UnsupportedSyntax / UnsupportedFunction). Error codes are those of the S3 API reference's "List
of SELECT Object Content Error Codes", all HTTP 400.
"""

from __future__ import annotations

import math
import re
from abc import ABC, abstractmethod
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from typing import Any

MAX_DEPTH = 32  # the parser's and evaluator's recursion stays far below Python's limit
MAX_EXPRESSION = 256 * 1024  # "The maximum byte-length for an SQL expression is 256 KB" (ExpressionTooLong)
_INT64 = 2**63


class SelectError(Exception):
    """An S3 Select error: its documented code and a message (HTTP 400)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


class CsvRecord:
    """A CSV record: its values and, with FileHeaderInfo USE, the header's names."""

    __slots__ = ("names", "values")

    def __init__(self, names: list[str] | None, values: list[str]) -> None:
        self.names = names
        self.values = values

    def items(self) -> list[tuple[str, Any]]:
        names = self.names or []
        return [(names[i] if i < len(names) else f"_{i + 1}", value) for i, value in enumerate(self.values)]


# ------------------------------------------------------------------ values
def kind(value: Any) -> str:
    if value is MISSING:
        return "MISSING"
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "BOOL"
    if isinstance(value, (int, float, Decimal)):
        return "number"
    if isinstance(value, str):
        return "STRING"
    if isinstance(value, list):
        return "LIST"
    return "STRUCT"


def text(value: Any) -> str:
    """A scalar as S3 writes it (numbers without exponents for decimals)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f") if -40 < value.adjusted() < 40 else str(value)  # 1E+999999: not a million digits
    return str(value)


def show(value: Any) -> str:
    return repr(value) if isinstance(value, str) else "MISSING" if value is MISSING else "NULL" if value is None else text(value)


def type_error(message: str) -> SelectError:
    return SelectError("IncorrectSqlFunctionArgumentType", message)


def int_checked(value: int) -> int:
    if not -_INT64 <= value < _INT64:
        raise SelectError("IntegerOverflow", "An integer result overflows a 64-bit INT.")
    return value


def field(value: Any, name: str, quoted: bool) -> Any:
    """``value.name``: quoted names are case sensitive, others not (several matches:
    AmbiguousFieldName)."""
    if isinstance(value, CsvRecord):
        if value.names is not None:
            found = [i for i, h in enumerate(value.names) if (h == name if quoted else h.lower() == name.lower())]
            if len(found) > 1:
                raise SelectError("AmbiguousFieldName", f"The column name {name!r} matches several header names; quote it to match case sensitively.")
            if found:
                return value.values[found[0]] if found[0] < len(value.values) else MISSING
        position = re.fullmatch(r"_(\d+)", name)
        if position is None:
            raise SelectError("MissingHeaderName", f"The column {name!r} is not in the CSV header (FileHeaderInfo USE names columns by the header; "
                              "without it columns are named by position: _1, _2...).")
        digits = position.group(1).lstrip("0") or "0"
        index = int(digits) if len(digits) < 10 else len(value.values) + 1  # far beyond the record
        if index == 0:
            raise SelectError("InvalidColumnIndex", f"The column index {name} is invalid: positions start at _1.")
        return value.values[index - 1] if index <= len(value.values) else MISSING
    if isinstance(value, dict):
        if quoted:
            return value.get(name, MISSING)
        keys = [k for k in value if k.lower() == name.lower()]
        if len(keys) > 1:
            raise SelectError("AmbiguousFieldName", f"The attribute name {name!r} matches several attributes; quote it to match case sensitively.")
        return value[keys[0]] if keys else MISSING
    return MISSING


# ------------------------------------------------------------------ expressions
class Scope:
    """What an expression is evaluated against: the FROM clause's current item."""

    __slots__ = ("aggregates", "alias", "alias_quoted", "item", "last_name")

    def __init__(self, alias: str, alias_quoted: bool, last_name: str | None) -> None:
        self.alias, self.alias_quoted, self.last_name = alias, alias_quoted, last_name
        self.item: Any = MISSING
        self.aggregates: dict[int, Any] = {}

    def is_alias(self, name: str, quoted: bool) -> bool:
        return name == self.alias if quoted or self.alias_quoted else name.lower() == self.alias.lower()


class Node(ABC):
    """An expression: every kind evaluates itself in a scope (a record, its aggregates)."""

    @abstractmethod
    def ev(self, scope: Scope) -> Any: ...

    def children(self) -> list[Node]:
        return []

    def walk(self) -> Iterator[Node]:
        yield self
        for child in self.children():
            yield from child.walk()


class Lit(Node):
    def __init__(self, value: Any) -> None:
        self.value = value

    def ev(self, scope: Scope) -> Any:
        return self.value


class Path(Node):
    """``name(.name | [index])*``; the first name is the FROM alias or a field of its item."""

    def __init__(self, name: str, quoted: bool) -> None:
        self.name, self.quoted = name, quoted
        self.steps: list[tuple[str, bool] | int] = []

    def output_name(self) -> str | None:
        last = self.steps[-1] if self.steps else (self.name, self.quoted)
        return last[0] if isinstance(last, tuple) else None

    def ev(self, scope: Scope) -> Any:
        item = scope.item
        if scope.is_alias(self.name, self.quoted):
            value = item
        elif isinstance(item, (dict, CsvRecord)):
            value = field(item, self.name, self.quoted)
        elif scope.last_name is not None and (self.name == scope.last_name if self.quoted else self.name.lower() == scope.last_name.lower()):
            value = item  # FROM S3Object[*].Rules[*].id: "SELECT id" is the path's value
        else:
            value = MISSING
        for step in self.steps:
            if isinstance(step, tuple):
                value = field(value, step[0], step[1])
            else:
                value = value[step] if isinstance(value, list) and 0 <= step < len(value) else MISSING
        return value


class Unary(Node):
    def __init__(self, op: str, operand: Node) -> None:
        self.op, self.operand = op, operand

    def children(self) -> list[Node]:
        return [self.operand]

    def ev(self, scope: Scope) -> Any:
        value = self.operand.ev(scope)
        if value is MISSING or value is None:
            return value
        if self.op == "NOT":
            if not isinstance(value, bool):
                raise type_error(f"NOT needs a boolean, not the {kind(value)} {show(value)}.")
            return not value
        if kind(value) != "number":
            raise type_error(f"Unary {self.op} needs a number, not the {kind(value)} {show(value)}; CAST it (CAST(x AS INT)).")
        return int_checked(-value) if self.op == "-" and isinstance(value, int) else -value if self.op == "-" else value


def _logic(op: str, left: Any, right: Any) -> Any:
    for value in (left, right):
        if not (value is None or value is MISSING or isinstance(value, bool)):
            raise type_error(f"{op} needs booleans, not the {kind(value)} {show(value)}.")
    if op == "AND":
        return False if left is False or right is False else True if left is True and right is True else None
    return True if left is True or right is True else False if left is False and right is False else None


def _arith(op: str, left: Any, right: Any) -> Any:
    if left is MISSING or right is MISSING:
        return MISSING
    if left is None or right is None:
        return None
    if op == "||":
        if not (isinstance(left, str) and isinstance(right, str)):
            raise type_error(f"|| needs strings, not {kind(left)} and {kind(right)} ({show(left)}, {show(right)}).")
        return left + right
    if kind(left) != "number" or kind(right) != "number":
        raise type_error(f"{op} needs numbers, not {kind(left)} and {kind(right)} ({show(left)}, {show(right)}); CSV values are strings: CAST them (CAST(x AS INT)).")
    if op in "/%" and right == 0:
        raise SelectError("EvaluatorDivideByZero", f"{text(left)} {op} 0: division by zero.")
    try:
        result = _operate(op, left, right)
    except ArithmeticError as error:  # decimal's Overflow, DivisionImpossible...
        raise SelectError("UnsupportedSqlOperation", f"{text(left)} {op} {text(right)} is out of range ({type(error).__name__}).") from None
    if isinstance(result, float) and not math.isfinite(result):
        raise SelectError("UnsupportedSqlOperation", f"{text(left)} {op} {text(right)} overflows a FLOAT.")
    return int_checked(result) if isinstance(result, int) else result


def _operate(op: str, left: Any, right: Any) -> Any:
    if isinstance(left, float) or isinstance(right, float):
        left, right = float(left), float(right)  # OverflowError for an int beyond FLOAT
    elif isinstance(left, Decimal) or isinstance(right, Decimal):
        left, right = Decimal(left), Decimal(right)
    if op == "+":
        result = left + right
    elif op == "-":
        result = left - right
    elif op == "*":
        result = left * right
    elif isinstance(left, int):  # integer division and remainder truncate toward zero, as SQL's do
        quotient = abs(left) // abs(right) * (1 if (left < 0) == (right < 0) else -1)
        result = quotient if op == "/" else left - right * quotient
    elif isinstance(left, float):
        result = left / right if op == "/" else math.fmod(left, right)
    else:
        result = left / right if op == "/" else left % right  # Decimal's % truncates toward zero
    return result


def _plain(value: Any) -> Any:
    if isinstance(value, CsvRecord):
        return dict(value.items())
    return value


def compare(op: str, left: Any, right: Any) -> Any:
    """A comparison; NULL or MISSING operands give NULL / MISSING. Values of different types
    are refused (a CSV value is a string: CAST it to compare it with a number)."""
    if left is MISSING or right is MISSING:
        return MISSING
    if left is None or right is None:
        return None
    left_kind, right_kind = kind(left), kind(right)
    if left_kind != right_kind:
        raise type_error(f"Cannot compare the {left_kind} {show(left)} with the {right_kind} {show(right)}; "
                          "CSV values are strings: CAST them to compare them as numbers (CAST(x AS INT)).")
    if op in ("=", "!=", "<>"):
        equal = _plain(left) == _plain(right)
        return equal if op == "=" else not equal
    if left_kind not in ("number", "STRING"):
        raise type_error(f"{op} orders numbers or strings, not {left_kind} values.")
    return left < right if op == "<" else left <= right if op == "<=" else left > right if op == ">" else left >= right


class Binary(Node):
    """A comparison."""

    def __init__(self, op: str, left: Node, right: Node) -> None:
        self.op, self.left, self.right = op, left, right

    def children(self) -> list[Node]:
        return [self.left, self.right]

    def ev(self, scope: Scope) -> Any:
        return compare(self.op, self.left.ev(scope), self.right.ev(scope))


class Chain(Node):
    """Operators of one precedence, left to right (a flat list: a long chain is no deeper);
    AND and OR stop at the first operand that decides them."""

    def __init__(self, operands: list[Node], ops: list[str]) -> None:
        self.operands, self.ops = operands, ops

    def children(self) -> list[Node]:
        return self.operands

    def ev(self, scope: Scope) -> Any:
        result = self.operands[0].ev(scope)
        for op, operand in zip(self.ops, self.operands[1:], strict=True):
            if op in ("AND", "OR"):
                if _logic(op, result, None) is (op == "OR"):  # TRUE OR ..., FALSE AND ...
                    return result
                result = _logic(op, result, operand.ev(scope))
            else:
                result = _arith(op, result, operand.ev(scope))
        return result


_ONE, _ANY = 0, 1  # LIKE's _ and %; a literal character is a str


def like_pattern(pattern: str, escape: str | None) -> list[str | int]:
    """LIKE's pattern as characters and wildcards (an escaped %, _ or escape is literal)."""
    parts: list[str | int] = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if escape is not None and char == escape:
            if i + 1 >= len(pattern) or pattern[i + 1] not in ("%", "_", escape):
                raise SelectError("EvaluatorLikePatternInvalidEscapeSequence",
                                  f"The LIKE pattern {pattern!r} has the escape character {escape!r} before neither %, _ nor itself.")
            parts.append(pattern[i + 1])
            i += 2
            continue
        parts.append(_ANY if char == "%" else _ONE if char == "_" else char)
        i += 1
    return parts


def like(value: str, parts: list[str | int]) -> bool:
    """Wildcard matching without backtracking blow-up (no regular expression): O(len * parts)."""
    i = j = 0
    star, mark = -1, 0
    while i < len(value):
        if j < len(parts) and parts[j] != _ANY and (parts[j] == _ONE or parts[j] == value[i]):
            i, j = i + 1, j + 1
        elif j < len(parts) and parts[j] == _ANY:
            star, mark, j = j, i, j + 1
        elif star >= 0:
            mark += 1
            i, j = mark, star + 1
        else:
            return False
    while j < len(parts) and parts[j] == _ANY:
        j += 1
    return j == len(parts)


class Like(Node):
    def __init__(self, value: Node, pattern: Node, escape: Node | None, negated: bool) -> None:
        self.value, self.pattern, self.escape, self.negated = value, pattern, escape, negated

    def children(self) -> list[Node]:
        return [self.value, self.pattern] + ([self.escape] if self.escape else [])

    def ev(self, scope: Scope) -> Any:
        values = [self.value.ev(scope), self.pattern.ev(scope), self.escape.ev(scope) if self.escape else ""]
        if any(v is MISSING for v in values):
            return MISSING
        if any(v is None for v in values):
            return None
        if not all(isinstance(v, str) for v in values):
            raise SelectError("LikeInvalidInputs", "LIKE compares strings: " + ", ".join(f"{kind(v)} {show(v)}" for v in values[:2]) + ".")
        value, pattern, escape = values
        if self.escape is not None and len(escape) != 1:
            raise SelectError("LikeInvalidInputs", f"The LIKE ESCAPE character must be one character, not {escape!r}.")
        matched = like(value, like_pattern(pattern, escape if self.escape is not None else None))
        return matched != self.negated


class Between(Node):
    def __init__(self, value: Node, low: Node, high: Node, negated: bool) -> None:
        self.value, self.low, self.high, self.negated = value, low, high, negated

    def children(self) -> list[Node]:
        return [self.value, self.low, self.high]

    def ev(self, scope: Scope) -> Any:
        value = self.value.ev(scope)
        result = _logic("AND", compare(">=", value, self.low.ev(scope)), compare("<=", value, self.high.ev(scope)))
        return result if result is None else result != self.negated


class InList(Node):
    def __init__(self, value: Node, items: list[Node], negated: bool) -> None:
        self.value, self.items, self.negated = value, items, negated

    def children(self) -> list[Node]:
        return [self.value, *self.items]

    def ev(self, scope: Scope) -> Any:
        value = self.value.ev(scope)
        result: Any = False
        for item in self.items:
            equal = compare("=", value, item.ev(scope))
            if equal is True:
                result = True
                break
            if equal is not False:
                result = None
        return result if result is None else result != self.negated


class IsTest(Node):
    def __init__(self, value: Node, what: str, negated: bool) -> None:
        self.value, self.what, self.negated = value, what, negated

    def children(self) -> list[Node]:
        return [self.value]

    def ev(self, scope: Scope) -> Any:
        value = self.value.ev(scope)
        # MISSING IS NULL is true, NULL IS MISSING false (PartiQL's, on which S3 Select is built)
        result = value is MISSING or (self.what == "NULL" and value is None)
        return result != self.negated


_INT_TEXT = re.compile(r"[+-]?\d+")
_NUMBER_TEXT = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
CAST_TYPES = {"INT": "INT", "INTEGER": "INT", "FLOAT": "FLOAT", "DECIMAL": "DECIMAL", "NUMERIC": "DECIMAL",
              "STRING": "STRING", "BOOL": "BOOL", "BOOLEAN": "BOOL"}


def cast(value: Any, target: str) -> Any:
    if value is MISSING or value is None:
        return value
    source = kind(value)

    def failed() -> SelectError:
        return SelectError("CastFailed", f"Cannot CAST the {source} {show(value)} AS {target}.")

    if source in ("LIST", "STRUCT"):
        raise failed()
    if target == "STRING":
        return value if isinstance(value, str) else text(value)
    if target == "BOOL":
        if isinstance(value, str):
            if value.strip().lower() not in ("true", "false"):
                raise failed()
            return value.strip().lower() == "true"
        return bool(value)
    if isinstance(value, str):
        stripped = value.strip()
        if target == "INT" and _INT_TEXT.fullmatch(stripped):
            return int_checked(int(stripped))
        if target == "INT" or not _NUMBER_TEXT.fullmatch(stripped):
            raise failed()
        if target == "FLOAT" and not math.isfinite(float(stripped)):
            raise failed()
        return float(stripped) if target == "FLOAT" else Decimal(stripped)
    if target == "INT":
        if isinstance(value, float) and not math.isfinite(value):
            raise failed()
        if isinstance(value, Decimal) and value.adjusted() > 18:
            raise SelectError("IntegerOverflow", f"The value {text(value)} overflows a 64-bit INT.")
        return int_checked(int(value))
    if target == "FLOAT":
        if not math.isfinite(float(value)):
            raise failed()
        return float(value)
    if isinstance(value, float) and not math.isfinite(value):
        raise failed()
    try:
        return Decimal(str(value)) if isinstance(value, float) else Decimal(int(value) if isinstance(value, bool) else value)
    except InvalidOperation:
        raise failed() from None


class Cast(Node):
    def __init__(self, value: Node, target: str) -> None:
        self.value, self.target = value, target

    def children(self) -> list[Node]:
        return [self.value]

    def ev(self, scope: Scope) -> Any:
        return cast(self.value.ev(scope), self.target)


class Case(Node):
    def __init__(self, operand: Node | None, whens: list[tuple[Node, Node]], default: Node | None) -> None:
        self.operand, self.whens, self.default = operand, whens, default

    def children(self) -> list[Node]:
        nodes = [self.operand] if self.operand else []
        nodes += [n for pair in self.whens for n in pair]
        return nodes + ([self.default] if self.default else [])

    def ev(self, scope: Scope) -> Any:
        operand = self.operand.ev(scope) if self.operand is not None else MISSING
        for condition, result in self.whens:
            value = condition.ev(scope)
            if self.operand is not None:
                value = compare("=", operand, value)
            if value is True:
                return result.ev(scope)
        return self.default.ev(scope) if self.default is not None else None


def _string_arg(name: str, value: Any) -> str:
    if not isinstance(value, str):
        raise type_error(f"{name} takes a string, not the {kind(value)} {show(value)}.")
    return value


def _int_arg(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)) or (isinstance(value, Decimal) and (value.adjusted() > 18 or value != value.to_integral_value())):
        raise type_error(f"{name} takes an integer position or length, not the {kind(value)} {show(value)}.")
    return int(value)


# name: (least, most arguments); most None: any number
FUNCTIONS: dict[str, tuple[int, int | None]] = {
    "LOWER": (1, 1), "UPPER": (1, 1), "CHAR_LENGTH": (1, 1), "CHARACTER_LENGTH": (1, 1), "SUBSTRING": (2, 3),
    "TRIM": (1, 1), "COALESCE": (1, None), "NULLIF": (2, 2),
}


class Func(Node):
    def __init__(self, name: str, args: list[Node], trim: str = "BOTH", trim_chars: Node | None = None) -> None:
        self.name, self.args, self.trim, self.trim_chars = name, args, trim, trim_chars

    def children(self) -> list[Node]:
        return self.args + ([self.trim_chars] if self.trim_chars else [])

    def ev(self, scope: Scope) -> Any:
        if self.name == "COALESCE":
            for arg in self.args:
                value = arg.ev(scope)
                if value is not None and value is not MISSING:
                    return value
            return None
        args = [arg.ev(scope) for arg in self.args]
        if self.name == "NULLIF":
            return None if compare("=", args[0], args[1]) is True else args[0]
        chars = self.trim_chars.ev(scope) if self.trim_chars is not None else " "
        for value in (*args, chars):
            if value is MISSING or value is None:
                return value
        string = _string_arg(self.name, args[0])
        if self.name == "LOWER":
            return string.lower()
        if self.name == "UPPER":
            return string.upper()
        if self.name in ("CHAR_LENGTH", "CHARACTER_LENGTH"):
            return len(string)
        if self.name == "TRIM":
            chars = _string_arg("TRIM", chars)
            return string.strip(chars) if self.trim == "BOTH" else string.lstrip(chars) if self.trim == "LEADING" else string.rstrip(chars)
        # SUBSTRING: the characters from position start (1-based) for length, within the string
        start = _int_arg("SUBSTRING", args[1])
        if len(args) == 3 and _int_arg("SUBSTRING", args[2]) < 0:
            raise SelectError("IllegalSqlFunctionArgument", f"SUBSTRING's length {text(args[2])} is negative.")
        end = start + int(args[2]) if len(args) == 3 else len(string) + 1
        first, last = max(start, 1), min(end, len(string) + 1)
        return string[first - 1:last - 1] if last > first else ""


AGGREGATES = ("COUNT", "SUM", "AVG", "MIN", "MAX")


class Agg(Node):
    """An aggregate; its value, once every record is read, is in scope.aggregates."""

    def __init__(self, name: str, arg: Node | None) -> None:
        self.name, self.arg = name, arg

    def children(self) -> list[Node]:
        return [self.arg] if self.arg else []

    def ev(self, scope: Scope) -> Any:
        return scope.aggregates[id(self)]


class Accumulator:
    def __init__(self, agg: Agg) -> None:
        self.agg = agg
        self.count = 0
        self.total: Any = None
        self.kinds: set[type] = set()

    def add(self, scope: Scope) -> None:
        if self.agg.arg is None:
            self.count += 1
            return
        value = self.agg.arg.ev(scope)
        if value is None or value is MISSING:
            return
        self.count += 1
        name = self.agg.name
        if name == "COUNT":
            return
        if kind(value) != "number":
            raise type_error(f"{name} takes numbers, not the {kind(value)} {show(value)}; CSV values are strings: CAST them (CAST(x AS INT)).")
        self.kinds.add(type(value))
        if self.total is None:
            self.total = value
        elif name in ("SUM", "AVG"):
            self.total = _arith("+", self.total, value)
        elif (value < self.total) == (name == "MIN") and value != self.total:
            self.total = value

    def result(self) -> Any:
        if self.agg.name == "COUNT":
            return self.count
        if self.agg.name == "AVG" and self.total is not None:
            # AVG of INT is DECIMAL, of FLOAT a FLOAT (the reference's "Aggregate functions")
            if isinstance(self.total, float):
                return self.total / self.count
            return Decimal(self.total) / Decimal(self.count)
        return self.total
