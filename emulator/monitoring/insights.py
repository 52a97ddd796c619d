"""CloudWatch Logs Insights: the query language's commands
(User Guide, "CloudWatch Logs Insights language query syntax"):

    fields, display, filter, filterIndex, parse (glob and regex), stats ... by ..., sort, limit, dedup

and its expressions (arithmetic, comparison, boolean, like / =~ / in); the functions and the
stats aggregations are emulator.monitoring.insights_functions. pattern, diff, unnest, lookup,
anomaly and SOURCE are refused (MalformedQueryException naming them).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from emulator import user_regex
from emulator.monitoring.insights_functions import (
    AGGREGATES,
    PERIOD_PATTERN,
    Agg,
    Period,
    aggregate,
    call,
    fmt_ts,
    malformed,
    parse_period,
)
from emulator.monitoring.insights_functions import num as _num
from emulator.monitoring.insights_functions import text as _str

Record = dict[str, Any]
to_text = _str
__all__ = ["Query", "Record", "compile_query", "fmt_ts", "make_record", "malformed", "run", "to_text", "uses_unmask"]


_REGEX_BEFORE = re.compile(r"(?:\blike|=~|\bin|[(,\[])\s*$|^\s*parse\s+(?:`[^`]+`|\S+)\s*$", re.IGNORECASE)


def split_commands(query: str) -> list[str]:
    """The query's commands, split at the pipes outside strings and /regular expressions/ (a /
    opens one after like, =~, (, comma, or parse's field; elsewhere it divides)."""
    parts, cur, closer = [], "", ""
    for ch in query:
        if closer:
            cur += ch
            if ch == "\\" and closer == "/":
                closer = "\\/"  # the next character is escaped
            elif closer == "\\/":
                closer = "/"
            elif ch == closer:
                closer = ""
            continue
        if ch in "\"'`" or (ch == "/" and _REGEX_BEFORE.search(cur)):
            closer = ch
        elif ch == "|":
            parts.append(cur)
            cur = ""
            continue
        cur += ch
    parts.append(cur)
    return [p.strip() for p in parts if p.strip()]


# ------------------------------------------------------------------ expressions
_TOKEN = re.compile(
    r"\s*(?:(?P<period>" + PERIOD_PATTERN + r")|(?P<num>\d+(?:\.\d+)?)(?![A-Za-z_])|(?P<str>\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*')|(?P<regex>/(?:[^/\\]|\\.)+/)"
    r"|(?P<op>=~|==|!=|<=|>=|[=<>()\[\],*+\-/%^])|(?P<name>`[^`]+`|@?[A-Za-z_][A-Za-z0-9_.@\-]*))"
)


def tokenize(expr: str) -> list[tuple[str, str]]:
    out = []
    pos = 0
    expr = expr.strip()
    while pos < len(expr):
        m = _TOKEN.match(expr, pos)
        if not m or m.end() == pos:
            raise malformed(f"unexpected symbol found {expr[pos:pos + 10]!r} at line 1 and position {pos + 1}")
        pos = m.end()
        kind = m.lastgroup or ""
        out.append((kind, m.group(kind)))
    return out


class _Expr:
    """Pratt parser producing closures over a record."""

    def __init__(self, tokens: list[tuple[str, str]]) -> None:
        self.t = tokens
        self.i = 0

    def peek(self) -> tuple[str, str] | None:
        return self.t[self.i] if self.i < len(self.t) else None

    def take(self) -> tuple[str, str]:
        if self.i >= len(self.t):
            raise malformed("unexpected end of query")
        self.i += 1
        return self.t[self.i - 1]

    def word(self) -> str | None:
        tok = self.peek()
        return tok[1].lower() if tok and tok[0] == "name" else None

    def parse(self) -> Callable[[Record], Any]:
        return self.or_()

    def or_(self) -> Callable[[Record], Any]:
        left = self.and_()
        while self.word() == "or":
            self.take()
            right = self.and_()
            left = _bool_op(left, right, True)
        return left

    def and_(self) -> Callable[[Record], Any]:
        left = self.not_()
        while self.word() == "and":
            self.take()
            right = self.not_()
            left = _bool_op(left, right, False)
        return left

    def not_(self) -> Callable[[Record], Any]:
        if self.word() == "not":
            self.take()
            inner = self.not_()
            return lambda r: not inner(r)
        return self.cmp()

    def cmp(self) -> Callable[[Record], Any]:
        left = self.add()
        tok = self.peek()
        negate = False
        if self.word() == "not":
            self.take()
            negate = True
            tok = self.peek()
        if tok is None:
            return left
        kind, value = tok
        low = value.lower()
        if kind == "op" and value in ("=", "==", "!=", "<", ">", "<=", ">="):
            self.take()
            right = self.add()
            op = value

            def compare(r: Record) -> bool:
                a, b = left(r), right(r)
                if a is None or b is None:
                    return False
                na, nb = _num(a), _num(b)
                if na is not None and nb is not None:
                    x: Any = na
                    y: Any = nb
                else:
                    x, y = _str(a), _str(b)
                return {"=": x == y, "==": x == y, "!=": x != y, "<": x < y, ">": x > y, "<=": x <= y, ">=": x >= y}[op]

            return compare
        if (kind == "op" and value == "=~") or (kind == "name" and low == "like"):
            self.take()
            pk, pv = self.take()
            if pk == "regex":
                rx = user_regex.compile(pv[1:-1])  # the query's own: run under the budget
            elif pk == "str":
                rx = user_regex.compile(re.escape(pv[1:-1]), shown=pv[1:-1])
            else:
                raise malformed("like expects a string or /regex/")
            return lambda r: (rx.search(_str(left(r))) is not None) != negate
        if kind == "name" and low == "in":
            self.take()
            if self.take() != ("op", "["):
                raise malformed("in expects a list [ ... ]")
            items = []
            while True:
                items.append(self.add())
                sep = self.take()
                if sep == ("op", "]"):
                    break
                if sep != ("op", ","):
                    raise malformed("expected , or ]")
            return lambda r: (_str(left(r)) in {_str(f(r)) for f in items}) != negate
        if negate:
            raise malformed("unexpected 'not'")
        return left

    def add(self) -> Callable[[Record], Any]:
        left = self.mul()
        while self.peek() in (("op", "+"), ("op", "-")):
            op = self.take()[1]
            right = self.mul()
            left = _arith_op(left, right, op)
        return left

    def mul(self) -> Callable[[Record], Any]:
        left = self.power()
        while self.peek() in (("op", "*"), ("op", "/"), ("op", "%")):
            op = self.take()[1]
            right = self.power()
            left = _arith_op(left, right, op)
        return left

    def power(self) -> Callable[[Record], Any]:
        left = self.unary()
        if self.peek() == ("op", "^"):  # "^ Exponentiation. For example, 2 ^ 3 returns 8" (right-associative)
            self.take()
            left = _arith_op(left, self.power(), "^")
        return left

    def unary(self) -> Callable[[Record], Any]:
        kind, value = self.take()
        if kind == "op" and value == "-":
            inner = self.unary()
            return lambda r: None if (n := _num(inner(r))) is None else -n
        if kind == "op" and value == "(":
            inner = self.or_()
            if self.take() != ("op", ")"):
                raise malformed("missing )")
            return inner
        if kind == "num":
            num = float(value)
            return lambda r: num
        if kind == "str":
            literal = re.sub(r"\\(.)", r"\1", value[1:-1])
            return lambda r: literal
        if kind == "name":
            if self.peek() == ("op", "("):
                self.take()
                if value.lower() == "unmask":
                    # unmask(@message): the event as stored, where a data protection policy masked it
                    # (the caller put it under UNMASKED; StartQuery checked logs:Unmask)
                    if self.take() != ("name", "@message") or self.take() != ("op", ")"):
                        raise malformed("unmask takes one argument: @message")
                    return lambda r: r.get(UNMASKED, r.get("@message"))
                return self.call(value.lower())
            name = value.strip("`")
            if name.lower() in ("true", "false"):
                b = name.lower() == "true"
                return lambda r: b
            return lambda r: _lookup(r, name)
        raise malformed(f"unexpected symbol {value!r}")

    def call(self, name: str) -> Callable[[Record], Any]:
        """The arguments of a function call, after its (; a period literal (5m) is an argument
        of bin, datefloor and dateceil alone."""
        args: list[Callable[[Record], Any]] = []
        periods: list[Period | None] = []
        if self.peek() == ("op", ")"):
            self.take()
            return call(name, args, periods)
        while True:
            tok = self.peek()
            if tok is not None and tok[0] == "period" and self.i + 1 < len(self.t) and self.t[self.i + 1] in (("op", ")"), ("op", ",")):
                self.take()
                period = parse_period(tok[1])
                periods.append(period)
                args.append(lambda r: None)
            else:
                periods.append(None)
                args.append(self.or_())
            sep = self.take()
            if sep == ("op", ")"):
                return call(name, args, periods)
            if sep != ("op", ","):
                raise malformed("expected , or )")


def _lookup(r: Record, name: str) -> Any:
    """A field's value; ``a.b`` also reads key b of a JSON map that jsonParse made field a."""
    value = r.get(name)
    if value is not None or "." not in name:
        return value
    head, _, rest = name.partition(".")
    cur = r.get(head)
    for key in rest.split(".") if isinstance(cur, dict | list) else ():
        if isinstance(cur, dict):
            cur = cur.get(key)
        elif isinstance(cur, list) and key.isdigit() and int(key) < len(cur):
            cur = cur[int(key)]
        else:
            return None
    return cur if isinstance(r.get(head), dict | list) else None


def _bool_op(a: Callable[[Record], Any], b: Callable[[Record], Any], is_or: bool) -> Callable[[Record], Any]:
    if is_or:
        return lambda r: bool(a(r)) or bool(b(r))
    return lambda r: bool(a(r)) and bool(b(r))


def _arith_op(a: Callable[[Record], Any], b: Callable[[Record], Any], op: str) -> Callable[[Record], Any]:
    return lambda r: _arith(a(r), b(r), op)


def _arith(a: Any, b: Any, op: str) -> Any:
    x, y = _num(a), _num(b)
    if x is None or y is None:
        return None
    if op == "+":
        return x + y
    if op == "-":
        return x - y
    if op == "*":
        return x * y
    if op == "^":
        try:
            power = x**y
        except (OverflowError, ZeroDivisionError):
            return None
        return power if isinstance(power, float) else None  # a complex number is no value
    if y == 0:
        return None
    return x / y if op == "/" else x % y


def _split_commas(text: str) -> list[str]:
    parts, depth, cur, quote = [], 0, "", ""
    for ch in text:
        if quote:
            cur += ch
            if ch == quote:
                quote = ""
            continue
        if ch in "\"'`":
            quote = ch
        elif ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(cur.strip())
            cur = ""
            continue
        cur += ch
    if cur.strip():
        parts.append(cur.strip())
    return parts


def _alias(item: str) -> tuple[str, str | None]:
    m = re.match(r"^(.*?)\s+as\s+(`[^`]+`|[@A-Za-z_][\w.@\-]*)\s*$", item, re.IGNORECASE)
    if m:
        return m.group(1).strip(), m.group(2).strip("`")
    return item.strip(), None


@dataclass
class Query:
    steps: list[tuple[str, Any]] = field(default_factory=list)
    display: list[str] | None = None
    fields: list[str] | None = None
    limit: int | None = None
    index_fields: list[str] = field(default_factory=list)  # the fields filterIndex selects events by


def compile_query(text: str) -> Query:
    try:
        return _compile_query(text)
    except (re.error, user_regex.error) as exc:
        raise malformed(f"Invalid regular expression: {exc}") from exc
    except RecursionError as exc:
        raise malformed("The query is nested too deeply") from exc


def _compile_query(text: str) -> Query:
    if not text or not text.strip():
        raise malformed("Query string is empty")
    q = Query()
    for cmd in split_commands(text):
        m = re.match(r"^(\w+)\s*(.*)$", cmd, re.DOTALL)
        if not m:
            raise malformed(f"unexpected symbol found {cmd[:10]!r}")
        verb, rest = m.group(1).lower(), m.group(2).strip()
        if not rest and verb != "limit":
            raise malformed(f"mismatched input '<EOF>' expecting arguments after '{verb}'")
        if verb in ("fields", "display"):
            items = []
            for item in _split_commas(rest):
                expr_text, alias = _alias(item)
                name = alias or expr_text.strip("`")
                parser = _Expr(tokenize(expr_text))
                fn = parser.parse()
                if parser.peek() is not None:
                    raise malformed(f"unexpected symbol {parser.peek()[1]!r} in {verb}")  # type: ignore[index]
                items.append((name, fn, alias is not None))
            q.steps.append(("fields", items))
            names = [n for n, _, _ in items]
            if verb == "display":
                q.display = names
            else:
                q.fields = (q.fields or []) + [n for n in names if n not in (q.fields or [])]
        elif verb == "filter":
            parser = _Expr(tokenize(rest))
            fn = parser.parse()
            if parser.peek() is not None:
                raise malformed(f"unexpected symbol {parser.peek()[1]!r} in filter")  # type: ignore[index]
            q.steps.append(("filter", fn))
        elif verb == "filterindex":
            q.steps.append(("filter", _filter_index(rest, q)))
        elif verb == "parse":
            q.steps.append(("parse", _parse_command(rest)))
        elif verb == "stats":
            q.steps.append(("stats", _stats_command(rest)))
        elif verb == "sort":
            keys = []
            for item in _split_commas(rest):
                parts = item.split()
                desc = len(parts) > 1 and parts[-1].lower() == "desc"
                if len(parts) > 1 and parts[-1].lower() in ("asc", "desc"):
                    parts = parts[:-1]
                keys.append((" ".join(parts).strip("`"), desc))
            q.steps.append(("sort", keys))
        elif verb == "limit":
            if not rest.isdigit() or not 1 <= int(rest) <= 10000:
                raise malformed("limit must be a number between 1 and 10000")
            q.steps.append(("limit", int(rest)))
        elif verb == "dedup":
            q.steps.append(("dedup", [f.strip("` ") for f in _split_commas(rest)]))
        elif verb in _UNSUPPORTED:
            raise malformed(f"The {verb} command is not supported by this emulator")  # our wording
        else:
            raise malformed(f"unexpected symbol found {verb} at line 1")
    return q


# documented commands this engine does not run (pattern clustering, diff against an earlier
# period, unnest, lookup tables, anomaly detection, SOURCE log group selection)
_UNSUPPORTED = ("pattern", "diff", "unnest", "lookup", "anomaly", "source")


def _filter_index(rest: str, q: Query) -> Callable[[Record], Any]:
    """``filterIndex FIELD = value`` or ``filterIndex FIELD IN [v1, v2, ...]``: only the events
    whose (indexed) field has one of the values; an event without the field is never one."""
    tokens = tokenize(rest)
    if len(tokens) < 3 or tokens[0][0] != "name" or not (tokens[1] in (("op", "="), ("op", "==")) or (tokens[1][0] == "name" and tokens[1][1].lower() == "in")):
        raise malformed("filterIndex expects a field name compared with = to a value, or IN [values]")
    parser = _Expr(tokens)
    fn = parser.parse()
    if parser.peek() is not None:
        raise malformed(f"unexpected symbol {parser.peek()[1]!r} in filterIndex")  # type: ignore[index]
    name = tokens[0][1].strip("`")
    if name not in q.index_fields:
        q.index_fields.append(name)
    return lambda r: r.get(name) is not None and bool(fn(r))


def _parse_command(rest: str) -> Callable[[Record], None]:
    m = re.match(r"^(`[^`]+`|@?[\w.@\-]+)\s+(.*)$", rest, re.DOTALL)
    if not m:
        raise malformed("parse expects a field and a pattern")
    source = m.group(1).strip("`")
    spec = m.group(2).strip()
    if spec.startswith("/"):
        end = spec.rfind("/")
        if end <= 0:
            raise malformed("unterminated regular expression in parse")
        # Insights uses (?<name>...) named groups; Python spells them (?P<name>...)
        rx = user_regex.compile(re.sub(r"\(\?<([A-Za-z_]\w*)>", r"(?P<\1>", spec[1:end]), shown=spec[1:end])

        def run_regex(r: Record) -> None:
            mm = rx.search(_str(r.get(source)))
            if mm:
                r.update({k: v for k, v in mm.groupdict().items() if v is not None})

        return run_regex
    pm = re.match(r"^(\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*')\s+as\s+(.*)$", spec, re.DOTALL | re.IGNORECASE)
    if not pm:
        raise malformed("parse expects \"pattern\" as field, ...")
    glob = pm.group(1)[1:-1]
    names = [n.strip("` ") for n in _split_commas(pm.group(2))]
    if glob.count("*") != len(names):
        raise malformed("The number of fields in the parse pattern and the as clause must match")
    # the user's wildcards: n of them backtrack like (.*?){n}, so under the budget too
    rx = user_regex.compile("(.*?)".join(re.escape(p) for p in glob.split("*")), shown=glob)
    if glob.endswith("*"):
        # a trailing * takes the rest of the line
        rx = user_regex.compile("(.*?)".join(re.escape(p) for p in glob.split("*")[:-1]) + "(.*)", shown=glob)

    def run_glob(r: Record) -> None:
        mm = rx.search(_str(r.get(source)))
        if mm:
            for name, value in zip(names, mm.groups(), strict=False):
                r[name] = value

    return run_glob


Group = tuple[str, Callable[[Record], Any]]


def _stats_command(rest: str) -> tuple[list[Agg], list[Group]]:
    by_m = re.search(r"\s+by\s+", rest, re.IGNORECASE)
    agg_text, by_text = (rest[: by_m.start()], rest[by_m.end() :]) if by_m else (rest, "")
    aggs = []
    for item in _split_commas(agg_text):
        expr_text, alias = _alias(item)
        m = re.match(r"^(\w+)\s*\((.*)\)$", expr_text, re.DOTALL)
        if not m or m.group(1).lower() not in AGGREGATES:
            raise malformed(f"stats expects an aggregation function, found {expr_text!r}")
        fn, inner = m.group(1).lower(), m.group(2).strip()
        extra = None
        arg: Callable[[Record], Any] | None = None
        if fn == "pct":
            parts = _split_commas(inner)
            percent = _num(parts[1]) if len(parts) == 2 else None
            if percent is None or not 0 <= percent <= 100:
                raise malformed("pct expects a field and a percentile from 0 to 100: pct(field, 95)")
            inner, extra = parts[0], percent
        if inner and inner != "*":
            parser = _Expr(tokenize(inner))
            arg = parser.parse()
            if parser.peek() is not None:
                raise malformed(f"unexpected symbol {parser.peek()[1]!r} in {fn}")  # type: ignore[index]
        elif fn != "count":
            raise malformed(f"{fn} needs a field")
        aggs.append(Agg(fn, arg, extra, alias or expr_text.replace(" ", "")))
    groups: list[Group] = []
    for item in _split_commas(by_text):
        expr_text, alias = _alias(item)
        # bin(5m) is "bin(5m)"; other expressions are named as written
        name = alias or (expr_text.replace(" ", "") if re.match(r"^bin\s*\(", expr_text, re.IGNORECASE) else expr_text.strip("`"))
        groups.append((name, _Expr(tokenize(expr_text)).parse()))
    return aggs, groups


def _stats(rows: list[Record], aggs: list[Agg], groups: list[Group]) -> list[Record]:
    buckets: dict[tuple[Any, ...], tuple[list[Any], list[Record]]] = {}
    for r in rows:
        values = [fn(r) for _name, fn in groups]
        key = tuple(_str(v) if isinstance(v, dict | list) else v for v in values)
        buckets.setdefault(key, (values, []))[1].append(r)
    if not groups and not buckets:
        buckets[()] = ([], [])
    out = []
    for values, members in buckets.values():
        rec: Record = {name: v for (name, _fn), v in zip(groups, values, strict=True)}
        for agg in aggs:
            rec[agg.name] = aggregate(agg, members)
        out.append(rec)
    return out


def run(query: Query, records: Iterable[Record], limit: int) -> tuple[list[list[dict[str, str]]], int]:
    """Execute; returns (rows as [{field, value}], records matched)."""
    # Insights returns the newest events first unless the query sorts
    rows: list[Record] = sorted(records, key=lambda r: (r.get("@timestamp_ms", 0), r.get("@id", 0)), reverse=True)
    stats_done = False
    matched: int | None = None
    explicit_limit: int | None = None
    for kind, arg in query.steps:
        if matched is None and kind in ("stats", "limit", "dedup"):
            # recordsMatched: the events the query's filters matched, before stats, limit or dedup
            # shape the results (the console's "Showing 1 of 3 records matched")
            matched = len(rows)
        if kind == "filter":
            rows = [r for r in rows if arg(r)]
        elif kind == "parse":
            for r in rows:
                arg(r)
        elif kind == "fields":
            for r in rows:
                for name, fn, aliased in arg:
                    if aliased or name not in r:  # "fields expression as name" (re)defines name
                        value = fn(r)
                        if value is not None:
                            r[name] = value
                        else:
                            r.pop(name, None)
        elif kind == "stats":
            aggs, groups = arg
            rows = _stats(rows, aggs, groups)
            stats_done = True
            query_fields = [g[0] for g in groups] + [a.name for a in aggs]
            query.display = query.display if query.display else query_fields
        elif kind == "sort":
            for name, desc in reversed(arg):
                present = [r for r in rows if r.get(name) is not None]
                absent = [r for r in rows if r.get(name) is None]
                present.sort(key=lambda r: (_num(r.get(name)) is None, _num(r.get(name)) if _num(r.get(name)) is not None else 0.0, _str(r.get(name))), reverse=desc)
                rows = present + absent
        elif kind == "limit":
            explicit_limit = arg
            rows = rows[:arg]
        elif kind == "dedup":
            seen: set[tuple[str, ...]] = set()
            kept = []
            for r in rows:
                dkey = tuple(_str(r.get(f)) for f in arg)
                if dkey not in seen:
                    seen.add(dkey)
                    kept.append(r)
            rows = kept
    if matched is None:
        matched = len(rows)
    rows = rows[: min(limit, explicit_limit or limit)]
    if query.display:
        names = query.display
    elif query.fields:
        names = query.fields
    else:
        names = ["@timestamp", "@message"]
    out_rows = []
    for r in rows:
        row = []
        for name in names:
            if name in r and r[name] is not None:
                value = r[name]
                row.append({"field": name, "value": value if isinstance(value, str) else _str(value)})
        if not stats_done and "@ptr" in r and "@ptr" not in names:  # once, also when the query asks for it
            row.append({"field": "@ptr", "value": r["@ptr"]})
        out_rows.append(row)
    return out_rows, matched


UNMASKED = "\x00unmasked"  # a record's original message when its @message was masked (never a field of results)


def uses_unmask(query_string: str) -> bool:
    return re.search(r"\bunmask\s*\(", query_string, re.IGNORECASE) is not None


def make_record(event_id: int, ts: int, ingest: int, message: str, stream: str, group: str, account: str) -> Record:
    rec: Record = {
        "@timestamp": fmt_ts(ts),
        "@timestamp_ms": ts,
        "@ingestionTime": fmt_ts(ingest),
        "@message": message,
        "@logStream": stream,
        "@log": f"{account}:{group}",
        "@ptr": f"{group}/{event_id}",
        "@id": event_id,
    }
    text = message.lstrip()
    if text.startswith("{"):
        # Insights discovers the fields of JSON events, flattened with dots
        try:
            doc = json.loads(text)
        except (ValueError, RecursionError):
            doc = None
        if isinstance(doc, dict):
            _flatten(doc, "", rec)
    return rec


def _flatten(value: Any, prefix: str, out: Record) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _flatten(v, f"{prefix}{k}.", out)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _flatten(v, f"{prefix}{i}.", out)
    else:
        key = prefix[:-1]
        if key not in out:
            out[key] = value
