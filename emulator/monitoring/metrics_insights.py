"""CloudWatch Metrics Insights queries in GetMetricData, metric alarms and widgets
(User Guide, "Query your metrics with CloudWatch Metrics Insights" and its
"Metrics Insights query components and syntax")::

    SELECT FUNCTION(metricName)
    FROM namespace | SCHEMA(namespace[, labelKey [, ...]])
    [ WHERE labelKey OPERATOR labelValue [AND ...] ]
    [ GROUP BY labelKey [, ...] ]
    [ ORDER BY FUNCTION() [ DESC | ASC ] ]
    [ LIMIT number ]

FUNCTION is AVG, COUNT, MAX, MIN or SUM, computed per period over every observation of
the matching metrics; OPERATOR is ``=`` or ``!=``. A query without GROUP BY is one time
series, one with GROUP BY an array of them, one per combination of the label values
("Other" where a metric lacks the key), in ascending order of those values unless ORDER
BY ranks them by FUNCTION() of each series. Limits (User Guide, "Metrics Insights
quotas"; GetMetricData in the API reference): 10,000 metrics scanned, 500 time series
returned, one query per GetMetricData request, the most recent two weeks of data (three
hours in an alarm). Error texts are ours; the code is GetMetricData's ValidationError.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from emulator.errors import AwsError
from emulator.monitoring import mathexpr
from emulator.monitoring.mathexpr import Labelled, Series
from emulator.monitoring.metrics import MetricStore

FUNCTIONS = ("AVG", "COUNT", "MAX", "MIN", "SUM")
MAX_METRICS = 10_000  # "A single query can process no more than 10,000 metrics"
MAX_SERIES = 500  # "A single query can return no more than 500 time series"
QUERY_RANGE = 14 * 86400  # GetMetricData: "Metrics Insights queries can query the most recent two weeks of metric data"
ALARM_RANGE = 3 * 3600  # "For alarm condition evaluations, ... only the most recent three hours of metric data"
OTHER = "Other"  # the GROUP BY value of a metric without the key (User Guide, GROUP BY)
NODE = "insights"  # the mathexpr-style node of a query: (NODE, Query)

_KEYWORDS = frozenset({"SELECT", "FROM", "WHERE", "GROUP", "BY", "ORDER", "LIMIT", "AND", "OR", "NOT", "ASC", "DESC", "LIKE", "IN", "SCHEMA"})
# features of other SQL dialects a WHERE clause might try: refused by name
_UNSUPPORTED_WHERE = {"OR": "The OR operator", "NOT": "The NOT operator", "LIKE": "The LIKE operator", "IN": "The IN operator"}

_TOKEN_RE = re.compile(
    r"\s*(?:(?P<str>'(?:[^'\\]|\\.)*')|(?P<ident>\"(?:[^\"\\]|\\.)*\")|(?P<num>\d+(?:\.\d+)?)"
    r"|(?P<op>!=|<>|<=|>=|[=(),*<>+\-/%])|(?P<word>[A-Za-z_][A-Za-z0-9_.]*))"
)
_QUERY_RE = re.compile(r"^\s*SELECT\s+[A-Za-z_\"]", re.IGNORECASE)
_EMBEDDED_RE = re.compile(r"\bSELECT\s+[A-Za-z_]+\s*\(", re.IGNORECASE)


class QueryError(Exception):
    pass


@dataclass(frozen=True)
class Query:
    function: str
    metric: str
    namespace: str
    schema: tuple[str, ...] | None  # SCHEMA(...)'s label keys: the exact dimension set; None: any
    where: tuple[tuple[str, str, str], ...]  # (key, "=" | "!=", value), all of which must hold
    group_by: tuple[str, ...]
    order: tuple[str, bool] | None  # (function, descending)
    limit: int | None


# ---------------------------------------------------------------- parsing
def _unquote(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text[1:-1])


def tokenize(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN_RE.match(text, pos)
        if not m or m.end() == pos:
            raise QueryError(f"Unexpected character {text[pos:].lstrip()[:1]!r} at position {pos + 1}")
        pos = m.end()
        kind = m.lastgroup or ""
        value = m.group(kind)
        out.append((kind, _unquote(value) if kind in ("str", "ident") else value))
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = tokenize(text)
        self.i = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self, what: str) -> tuple[str, str]:
        tok = self.peek()
        if tok is None:
            raise QueryError(f"Unexpected end of query, expected {what}")
        self.i += 1
        return tok

    def at_keyword(self, *words: str) -> bool:
        tok = self.peek()
        return tok is not None and tok[0] == "word" and tok[1].upper() in words

    def keyword(self, word: str) -> None:
        tok = self.take(word)
        if tok[0] != "word" or tok[1].upper() != word:
            raise QueryError(f"Expected {word} but found {tok[1]!r}")

    def op(self, symbol: str) -> None:
        tok = self.take(f"'{symbol}'")
        if tok != ("op", symbol):
            raise QueryError(f"Expected '{symbol}' but found {tok[1]!r}")

    def name(self, what: str) -> str:
        """A metric name, namespace or label key: a bare word, or any text in double quotes."""
        tok = self.take(what)
        if tok[0] == "ident":
            if not tok[1]:
                raise QueryError(f"The {what} must not be empty")
            return tok[1]
        if tok[0] == "word" and tok[1].upper() not in _KEYWORDS:
            nxt = self.peek()
            if nxt is not None and nxt[0] == "op" and nxt[1] in "/-+%":
                raise QueryError(f"A {what} with characters other than letters, numbers and underscores must be enclosed in double quotes: \"{tok[1]}{nxt[1]}...\"")
            return tok[1]
        if tok[0] == "word":
            raise QueryError(f"{tok[1]} is a reserved keyword; enclose the {what} in double quotes")
        if tok[0] == "str":
            raise QueryError(f"Expected a {what} but found the string '{tok[1]}'; names are enclosed in double quotes, label values in single quotes")
        raise QueryError(f"Expected a {what} but found {tok[1]!r}; a {what} with characters other than letters, numbers and underscores must be enclosed in double quotes")

    def function(self, clause: str) -> str:
        tok = self.take(f"a function ({', '.join(FUNCTIONS)})")
        if tok[0] != "word" or tok[1].upper() not in FUNCTIONS:
            raise QueryError(f"Unsupported function {tok[1]!r} in {clause}: use one of {', '.join(FUNCTIONS)}")
        return tok[1].upper()

    def parse(self) -> Query:
        self.keyword("SELECT")
        function = self.function("SELECT")
        self.op("(")
        if self.peek() == ("op", "*"):
            raise QueryError("SELECT needs a metric name, not *")
        metric = self.name("metric name")
        self.op(")")
        self.keyword("FROM")
        namespace, schema = self.source()
        where = self.where() if self.at_keyword("WHERE") else ()
        group_by: tuple[str, ...] = ()
        if self.at_keyword("GROUP"):
            self.take("GROUP")
            self.keyword("BY")
            group_by = tuple(self.names("label key"))
        order = self.order() if self.at_keyword("ORDER") else None
        limit = self.limit() if self.at_keyword("LIMIT") else None
        tok = self.peek()
        if tok is not None:
            raise QueryError(f"Unexpected token {tok[1]!r}")
        return Query(function, metric, namespace, schema, where, group_by, order, limit)

    def names(self, what: str) -> list[str]:
        out = [self.name(what)]
        while self.peek() == ("op", ","):
            self.take(",")
            out.append(self.name(what))
        return out

    def source(self) -> tuple[str, tuple[str, ...] | None]:
        if self.at_keyword("SCHEMA") and self.i + 1 < len(self.tokens) and self.tokens[self.i + 1] == ("op", "("):
            self.i += 2
            if self.peek() == ("op", ")"):
                raise QueryError("SCHEMA needs at least one argument, the namespace")
            args = self.names("namespace or label key")
            self.op(")")
            return args[0], tuple(args[1:])
        return self.name("namespace"), None

    def where(self) -> tuple[tuple[str, str, str], ...]:
        self.take("WHERE")
        out = [self.condition()]
        while self.at_keyword("AND", *_UNSUPPORTED_WHERE):
            word = self.take("AND")[1].upper()
            if word != "AND":
                raise QueryError(f"{_UNSUPPORTED_WHERE[word]} is not supported in a WHERE clause: conditions are labelKey = 'value' or labelKey != 'value', joined by AND")
            out.append(self.condition())
        return tuple(out)

    def condition(self) -> tuple[str, str, str]:
        if self.peek() == ("op", "("):
            raise QueryError("Parentheses are not supported in a WHERE clause: conditions are joined by AND")
        if self.at_keyword(*_UNSUPPORTED_WHERE):
            raise QueryError(f"{_UNSUPPORTED_WHERE[self.take('')[1].upper()]} is not supported in a WHERE clause")
        key = self.name("label key")
        if key.lower().startswith("tag."):
            raise QueryError(f"Filtering on resource tags ({key}) is not supported")
        tok = self.take("= or !=")
        if tok[0] == "word" and tok[1].upper() in _UNSUPPORTED_WHERE:
            raise QueryError(f"{_UNSUPPORTED_WHERE[tok[1].upper()]} is not supported in a WHERE clause: use = or !=")
        if tok not in (("op", "="), ("op", "!=")):
            raise QueryError(f"Unsupported operator {tok[1]!r} in the WHERE clause: use = or !=")
        value = self.take("a label value in single quotes")
        if value[0] != "str":
            raise QueryError(f"Label values must be enclosed in single quotes, found {value[1]!r}")
        return key, tok[1], value[1]

    def order(self) -> tuple[str, bool]:
        self.take("ORDER")
        self.keyword("BY")
        function = self.function("ORDER BY")
        self.op("(")
        if self.peek() != ("op", ")"):
            raise QueryError(f"ORDER BY {function}() takes no argument: it ranks each time series of the result by {function} of its datapoints")
        self.op(")")
        descending = False
        if self.at_keyword("ASC", "DESC"):
            descending = self.take("ASC")[1].upper() == "DESC"
        return function, descending

    def limit(self) -> int:
        self.take("LIMIT")
        tok = self.take("a number")
        if tok[0] != "num" or "." in tok[1] or not 1 <= int(tok[1]) <= MAX_SERIES:
            raise QueryError(f"LIMIT must be a whole number from 1 to {MAX_SERIES}, found {tok[1]!r}")
        return int(tok[1])


@functools.lru_cache(maxsize=256)
def parse(text: str) -> Query:
    """The parsed query (cached: an alarm parses its query at every evaluation)."""
    return _Parser(text).parse()


def is_query(text: str) -> bool:
    """Whether an Expression is a Metrics Insights query rather than metric math."""
    return bool(_QUERY_RE.match(text))


def is_node(node: Any) -> bool:
    return isinstance(node, tuple) and len(node) == 2 and node[0] == NODE


def check_expression(text: str) -> mathexpr.Node:
    """The node of a MetricDataQuery Expression: a query, or metric math (mathexpr.check);
    syntax errors become the ValidationError GetMetricData answers."""
    if not is_query(text):
        try:
            return mathexpr.check(text)
        except AwsError as exc:
            if _EMBEDDED_RE.search(text):
                # GetMetricData: "You can't mix a Metric Insights query and metric math syntax in the same expression"
                raise AwsError(
                    "ValidationError",
                    f"Error in expression '{text}': a Metrics Insights query can't be mixed with metric math in one expression; "
                    "give the query its own Id and refer to that Id",
                    400,
                ) from exc
            raise
    try:
        return (NODE, parse(text))
    except QueryError as exc:
        raise AwsError("ValidationError", f"Error in expression '{text}': {exc}", 400) from exc


# ---------------------------------------------------------------- evaluation
def _matches(q: Query, dims: dict[str, str]) -> bool:
    if q.schema is not None and set(dims) != set(q.schema):
        return False
    for key, op, value in q.where:
        # a metric without the key is "not equal" to any value (our reading; the guide is silent)
        if (dims.get(key) == value) != (op == "="):
            return False
    return True


def _value(function: str, agg: list[float]) -> float | None:
    total, count, lo, hi = agg
    if function == "SUM":
        return total
    if function == "COUNT":
        return count
    if count <= 0:
        return None
    return total / count if function == "AVG" else lo if function == "MIN" else hi


def _rank(function: str, series: Series) -> float:
    """ORDER BY FUNCTION(): "calculate a single scalar value from each returned time series"."""
    values = list(series.values())
    if function == "COUNT":
        return float(len(values))
    if not values:
        return 0.0
    if function == "SUM":
        return float(sum(values))
    if function == "AVG":
        return float(sum(values) / len(values))
    return float(min(values) if function == "MIN" else max(values))


def evaluate(store: MetricStore, q: Query, period: int, first: float, end: float, region: str | None = None) -> Series | list[Labelled]:
    """The query over the periods from ``first`` (a period start) to ``end``: a time series
    without GROUP BY, else the labelled series of each group (at most LIMIT / 500)."""
    groups: dict[tuple[str, ...], dict[float, list[float]]] = {}
    scanned = 0
    for row in store.list_metrics(namespace=q.namespace, name=q.metric, active_since=first, region=region):
        dims = dict(row.dims)
        if not _matches(q, dims):
            continue
        scanned += 1
        if scanned > MAX_METRICS:  # "the query processes only the first 10,000 of these metrics that it finds"
            break
        group = groups.setdefault(tuple(dims.get(k, OTHER) for k in q.group_by), {})
        for t, b in store.buckets(row.id, first, end, period).items():
            agg = group.get(t)
            if agg is None:
                group[t] = [b.sum, b.count, b.min, b.max]
            else:
                agg[0] += b.sum
                agg[1] += b.count
                agg[2] = min(agg[2], b.min)
                agg[3] = max(agg[3], b.max)
    results: list[tuple[tuple[str, ...], Series]] = []
    for key, buckets in groups.items():
        series = {t: v for t in sorted(buckets) for v in [_value(q.function, buckets[t])] if v is not None}
        if series:
            results.append((key, series))
    if not q.group_by:
        return results[0][1] if results else {}
    results.sort(key=lambda r: r[0])  # "by default the results are ordered in alphabetical ascending order"
    if q.order is not None:
        function, descending = q.order
        results.sort(key=lambda r: _rank(function, r[1]), reverse=descending)  # stable: ties keep the label order
    return [Labelled(" ".join(key), series) for key, series in results[: min(q.limit or MAX_SERIES, MAX_SERIES)]]


def count_queries(nodes: Sequence[Any]) -> int:
    return sum(1 for n in nodes if is_node(n))


# ---------------------------------------------------------------- alarms
def contributor(items: Sequence[Series], slots: Sequence[float], breaches: Callable[[float, float], bool], needed: int) -> Series:
    """The time series an alarm on a query with several (one per GROUP BY contributor) is
    judged by: the first that breaches in ``needed`` of ``slots``, so that the alarm is in ALARM
    when any contributor is; else the one with the most datapoints (OK unless none has data)."""
    for series in items:
        if sum(1 for t in slots if t in series and breaches(t, series[t])) >= needed:
            return series
    return max(items, key=lambda s: sum(1 for t in slots if t in s), default={})
