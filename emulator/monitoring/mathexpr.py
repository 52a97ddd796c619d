"""CloudWatch metric math (User Guide, "Using math expressions with CloudWatch metrics").

Values are scalars (float), time series (``Series``: timestamp -> value) or
arrays of labelled series (``list[Labelled]``), and the functions follow the
documented rules: arithmetic between series keeps the timestamps present in
both, a scalar broadcasts, SUM/AVG/MIN/MAX/STDDEV of an array work per
timestamp and of a single series return a scalar.
"""

from __future__ import annotations

import math
import re
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from emulator.errors import AwsError

Series = dict[float, float]


@dataclass
class Labelled:
    label: str
    series: Series


Value = float | Series | list[Labelled]

_TOKEN_RE = re.compile(
    r"\s*(?:(?P<num>\d+(?:\.\d*)?(?:[eE][-+]?\d+)?|\.\d+)|(?P<str>'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")"
    r"|(?P<op>&&|\|\||<=|>=|==|!=|[-+*/^(),<>])|(?P<name>[A-Za-z_][A-Za-z0-9_]*))"
)


class MathError(Exception):
    pass


def tokenize(text: str) -> list[tuple[str, str]]:
    pos = 0
    out: list[tuple[str, str]] = []
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN_RE.match(text, pos)
        if not m or m.end() == pos:
            raise MathError(f"Syntax error at character {pos + 1}")
        pos = m.end()
        kind = m.lastgroup or ""
        value = m.group(kind)
        if kind == "name" and value.upper() in ("AND", "OR"):
            kind, value = "op", "&&" if value.upper() == "AND" else "||"
        if kind == "str":
            value = value[1:-1].replace("\\'", "'").replace('\\"', '"')
        out.append((kind, value))
    return out


# AST: ("num", v) | ("str", s) | ("id", name) | ("call", NAME, [args]) | ("bin", op, a, b) | ("neg", a)
Node = tuple[Any, ...]


class _Parser:
    _PREC: ClassVar[dict[str, int]] = {"||": 1, "&&": 2, "<": 3, ">": 3, "<=": 3, ">=": 3, "==": 3, "!=": 3, "+": 4, "-": 4, "*": 5, "/": 5, "^": 6}

    def __init__(self, text: str) -> None:
        self.tokens = tokenize(text)
        self.i = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        tok = self.peek()
        if tok is None:
            raise MathError("Unexpected end of expression")
        self.i += 1
        return tok

    def parse(self) -> Node:
        node = self.expr(0)
        if self.peek() is not None:
            raise MathError(f"Unexpected token {self.peek()[1]!r}")  # type: ignore[index]
        return node

    def expr(self, min_prec: int) -> Node:
        left = self.unary()
        while True:
            tok = self.peek()
            if tok is None or tok[0] != "op" or tok[1] not in self._PREC:
                return left
            prec = self._PREC[tok[1]]
            if prec < min_prec:
                return left
            self.take()
            # '^' is right-associative
            right = self.expr(prec if tok[1] == "^" else prec + 1)
            left = ("bin", tok[1], left, right)

    def unary(self) -> Node:
        tok = self.take()
        kind, value = tok
        if kind == "op" and value == "-":
            return ("neg", self.unary())
        if kind == "op" and value == "+":
            return self.unary()
        if kind == "op" and value == "(":
            node = self.expr(0)
            if self.take() != ("op", ")"):
                raise MathError("Missing ')'")
            return node
        if kind == "num":
            return ("num", float(value))
        if kind == "str":
            return ("str", value)
        if kind == "name":
            nxt = self.peek()
            if nxt == ("op", "("):
                self.take()
                args: list[Node] = []
                if self.peek() != ("op", ")"):
                    while True:
                        args.append(self.expr(0))
                        sep = self.take()
                        if sep == ("op", ")"):
                            break
                        if sep != ("op", ","):
                            raise MathError("Expected ',' or ')'")
                else:
                    self.take()
                return ("call", value.upper(), args)
            if value.upper() in ("REPEAT", "LINEAR"):
                return ("str", value.upper())
            return ("id", value)
        raise MathError(f"Unexpected token {value!r}")


def parse(text: str) -> Node:
    return _Parser(text).parse()


def referenced_ids(node: Node) -> set[str]:
    if node[0] == "id":
        return {node[1]}
    out: set[str] = set()
    if node[0] == "call":
        for a in node[2]:
            out |= referenced_ids(a)
    elif node[0] == "bin":
        out |= referenced_ids(node[2]) | referenced_ids(node[3])
    elif node[0] == "neg":
        out |= referenced_ids(node[1])
    return out


class Evaluator:
    """Evaluate a parsed expression.

    ``lookup(id)`` returns the value of another query; ``grid`` is every period
    start in the query range (for FILL and scalar results); ``metrics(filter)``
    returns the labelled series of the other returned MetricStat queries;
    ``search(expr, stat, period)`` runs a SEARCH.
    """

    def __init__(
        self,
        lookup: Callable[[str], Value],
        grid: list[float],
        period: int,
        metrics: Callable[[str | None], list[Labelled]],
        search: Callable[[str, str, int], list[Labelled]],
        band: Callable[[str, float], list[Labelled]] | None = None,
    ) -> None:
        self.lookup = lookup
        self.grid = grid
        self.period = period
        self.metrics = metrics
        self.search = search
        # ANOMALY_DETECTION_BAND(id, stddevs): the band of the query ``id`` (emulator.monitoring.anomaly)
        self.band = band

    def eval(self, node: Node) -> Value:
        kind = node[0]
        if kind == "num":
            return float(node[1])
        if kind == "str":
            raise MathError("A string is only valid as a function argument")
        if kind == "id":
            return self.lookup(node[1])
        if kind == "neg":
            return _map(self.eval(node[1]), lambda v: -v)
        if kind == "bin":
            return self.binary(node[1], self.eval(node[2]), self.eval(node[3]))
        if kind == "call":
            return self.call(node[1], node[2])
        raise MathError("bad node")

    # --------------------------------------------------------- arithmetic
    def binary(self, op: str, a: Value, b: Value) -> Value:
        fn = _BIN[op]
        if isinstance(a, list) or isinstance(b, list):
            if isinstance(a, list) and isinstance(b, list):
                raise MathError(f"Operator {op} is not supported between two arrays of time series")
            if isinstance(a, list):
                return [Labelled(x.label, _as_series(self.binary(op, x.series, b))) for x in a]
            assert isinstance(b, list)
            return [Labelled(x.label, _as_series(self.binary(op, a, x.series))) for x in b]
        if isinstance(a, dict) and isinstance(b, dict):
            return {t: r for t in a if t in b for r in [fn(a[t], b[t])] if r is not None}
        if isinstance(a, dict):
            bf = float(b)  # type: ignore[arg-type]
            return {t: r for t, v in a.items() for r in [fn(v, bf)] if r is not None}
        if isinstance(b, dict):
            af = float(a)
            return {t: r for t, v in b.items() for r in [fn(af, v)] if r is not None}
        r = fn(float(a), float(b))
        return math.nan if r is None else r

    # --------------------------------------------------------- functions
    def call(self, name: str, args: list[Node]) -> Value:
        if name == "METRICS":
            flt = None
            if args:
                if args[0][0] != "str":
                    raise MathError("METRICS() takes an optional string filter")
                flt = args[0][1]
            return self.metrics(flt)
        if name == "SEARCH":
            if len(args) != 3 or args[0][0] != "str" or args[1][0] != "str":
                raise MathError("SEARCH takes 3 arguments: SEARCH(' {Namespace, DimensionName} SearchTerm', 'Statistic', Period)")
            period = self.eval(args[2])
            if not isinstance(period, float) or not math.isfinite(period):
                raise MathError("SEARCH period must be a number")
            if int(period) != period or not (int(period) in (1, 5, 10, 20, 30) or (period >= 60 and int(period) % 60 == 0)):
                raise MathError("SEARCH period must be 1, 5, 10, 20, 30, or any multiple of 60")
            return self.search(args[0][1], args[1][1], int(period))
        if name == "FILL":
            if len(args) != 2:
                raise MathError("FILL takes 2 arguments")
            target = self.eval(args[0])
            if args[1][0] == "str":
                how: str | float = args[1][1]
            else:
                fill = self.eval(args[1])
                if not isinstance(fill, float):
                    raise MathError("FILL value must be a scalar, REPEAT or LINEAR")
                how = fill
            return _per_series(target, lambda s: self._fill(s, how))
        if name == "IF":
            if len(args) not in (2, 3):
                raise MathError("IF takes 2 or 3 arguments")
            cond = self.eval(args[0])
            yes = self.eval(args[1])
            no: Value | None = self.eval(args[2]) if len(args) == 3 else None
            return self._if(cond, yes, no)
        if name == "PERIOD":
            return float(self.period)
        if name == "ANOMALY_DETECTION_BAND":
            # "ANOMALY_DETECTION_BAND(m1, 2)": the metric (or expression) id and, optionally, the
            # band's width in standard deviations (default 2); two series, upper then lower.
            if len(args) not in (1, 2) or args[0][0] != "id":
                raise MathError("ANOMALY_DETECTION_BAND takes the id of a metric or expression and an optional number of standard deviations")
            stddevs = self.eval(args[1]) if len(args) == 2 else 2.0
            if not isinstance(stddevs, float) or not math.isfinite(stddevs) or stddevs <= 0:
                raise MathError("The number of standard deviations of ANOMALY_DETECTION_BAND must be a positive number")
            if self.band is None:
                raise MathError("ANOMALY_DETECTION_BAND is not available here")
            return self.band(args[0][1], stddevs)
        values = [self.eval(a) for a in args]
        if name in _AGG:
            if len(values) != 1:
                raise MathError(f"{name} takes 1 argument")
            return _aggregate(name, values[0])
        if name in _UNARY:
            if len(values) != 1:
                raise MathError(f"{name} takes 1 argument")
            fn = _UNARY[name]
            return _map(values[0], fn)
        if name in ("RATE", "DIFF", "DIFF_TIME", "RUNNING_SUM"):
            if len(values) != 1:
                raise MathError(f"{name} takes 1 argument")
            return _per_series(values[0], lambda s: _window(name, s))
        if name in ("DATAPOINT_COUNT",):
            return _per_series(values[0], lambda s: {t: float(len(s)) for t in s})
        raise MathError(f"Unknown function {name}")

    def _fill(self, s: Series, how: str | float) -> Series:
        out: Series = {}
        if isinstance(how, float):
            for t in self.grid:
                out[t] = s.get(t, how)
            return out
        known = sorted(s.items())
        if how == "REPEAT":
            last: float | None = None
            for t in self.grid:
                if t in s:
                    last = s[t]
                if last is not None:
                    out[t] = last
                elif known:
                    out[t] = known[0][1]  # before the first value AWS repeats the first value
            return out
        if how == "LINEAR":
            for t in self.grid:
                if t in s:
                    out[t] = s[t]
                    continue
                before = [(x, v) for x, v in known if x < t]
                after = [(x, v) for x, v in known if x > t]
                if before and after:
                    (t0, v0), (t1, v1) = before[-1], after[0]
                    out[t] = v0 + (v1 - v0) * (t - t0) / (t1 - t0)
            return out
        raise MathError(f"Invalid FILL argument {how}")

    def _if(self, cond: Value, yes: Value, no: Value | None) -> Value:
        if isinstance(cond, list):
            raise MathError("IF condition must be a time series or scalar")
        if not isinstance(cond, dict):
            chosen = yes if cond else no
            return chosen if chosen is not None else math.nan
        out: Series = {}
        for t, c in cond.items():
            src = yes if c else no
            if src is None:
                continue
            if isinstance(src, dict):
                if t in src:
                    out[t] = src[t]
            elif isinstance(src, float):
                out[t] = src
            else:
                raise MathError("IF branches must be time series or scalars")
        return out


def _bool(v: bool) -> float:
    return 1.0 if v else 0.0


def _div(a: float, b: float) -> float | None:
    if b == 0:
        return None  # CloudWatch drops a datapoint divided by zero
    return a / b


def _pow(a: float, b: float) -> float | None:
    try:
        r = a**b
    except (OverflowError, ZeroDivisionError):
        return None
    if isinstance(r, complex) or not math.isfinite(r):
        return None
    return float(r)


_BIN: dict[str, Callable[[float, float], float | None]] = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": _div,
    "^": _pow,
    "<": lambda a, b: _bool(a < b),
    ">": lambda a, b: _bool(a > b),
    "<=": lambda a, b: _bool(a <= b),
    ">=": lambda a, b: _bool(a >= b),
    "==": lambda a, b: _bool(a == b),
    "!=": lambda a, b: _bool(a != b),
    "&&": lambda a, b: _bool(bool(a) and bool(b)),
    "||": lambda a, b: _bool(bool(a) or bool(b)),
}

_UNARY: dict[str, Callable[[float], float]] = {
    "ABS": abs,
    "CEIL": lambda v: float(math.ceil(v)),
    "FLOOR": lambda v: float(math.floor(v)),
    "LOG": lambda v: math.log(v) if v > 0 else math.nan,
    "LOG10": lambda v: math.log10(v) if v > 0 else math.nan,
    "SQRT": lambda v: math.sqrt(v) if v >= 0 else math.nan,
}

_AGG = ("SUM", "AVG", "MIN", "MAX", "STDDEV")


def _agg_values(name: str, vals: list[float]) -> float:
    if not vals:
        return math.nan
    if name == "SUM":
        return float(sum(vals))
    if name == "AVG":
        return float(sum(vals) / len(vals))
    if name == "MIN":
        return float(min(vals))
    if name == "MAX":
        return float(max(vals))
    return float(statistics.pstdev(vals)) if len(vals) > 1 else 0.0


def _aggregate(name: str, value: Value) -> Value:
    if isinstance(value, list):
        out: dict[float, list[float]] = {}
        for item in value:
            for t, v in item.series.items():
                out.setdefault(t, []).append(v)
        return {t: _agg_values(name, vs) for t, vs in sorted(out.items())}
    if isinstance(value, dict):
        return _agg_values(name, list(value.values()))
    return value


def _map(value: Value, fn: Callable[[float], float]) -> Value:
    if isinstance(value, list):
        return [Labelled(x.label, {t: fn(v) for t, v in x.series.items()}) for x in value]
    if isinstance(value, dict):
        return {t: fn(v) for t, v in value.items()}
    return fn(value)


def _as_series(value: Value) -> Series:
    if isinstance(value, dict):
        return value
    raise MathError("Expected a time series")


def _per_series(value: Value, fn: Callable[[Series], Series]) -> Value:
    if isinstance(value, list):
        return [Labelled(x.label, fn(x.series)) for x in value]
    if isinstance(value, dict):
        return fn(value)
    raise MathError("This function requires a time series")


def _window(name: str, s: Series) -> Series:
    out: Series = {}
    prev: tuple[float, float] | None = None
    running = 0.0
    for t, v in sorted(s.items()):
        if name == "RUNNING_SUM":
            running += v
            out[t] = running
        elif prev is not None:
            if name == "DIFF":
                out[t] = v - prev[1]
            elif name == "DIFF_TIME":
                out[t] = t - prev[0]
            else:  # RATE: change per second
                out[t] = (v - prev[1]) / (t - prev[0]) if t != prev[0] else 0.0
        prev = (t, v)
    return out


def check(text: str) -> Node:
    """Parse, turning syntax errors into the AWS validation error."""
    try:
        return parse(text)
    except RecursionError as exc:
        raise AwsError("ValidationError", f"Error in expression '{text[:100]}': the expression is nested too deeply", 400) from exc
    except MathError as exc:
        raise AwsError("ValidationError", f"Error in expression '{text}': {exc}", 400) from exc
