"""CloudWatch Logs Insights: the query language's common commands
(User Guide, "CloudWatch Logs Insights language query syntax"):

    fields, display, filter, filterIndex, parse (glob and regex), stats ... by bin(...), sort, limit, dedup
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import statistics as pystats
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from emulator.errors import AwsError

Record = dict[str, Any]


def malformed(message: str) -> AwsError:
    return AwsError("MalformedQueryException", message, 400)


def fmt_ts(ms: float) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def split_commands(text: str) -> list[str]:
    parts, cur, quote, regex = [], "", "", False
    for ch in text:
        if quote:
            cur += ch
            if ch == quote:
                quote = ""
            continue
        if ch in "\"'`":
            quote = ch
        elif ch == "|":
            parts.append(cur)
            cur = ""
            continue
        cur += ch
    parts.append(cur)
    del regex
    return [p.strip() for p in parts if p.strip()]


# ------------------------------------------------------------------ expressions
_TOKEN = re.compile(
    r"\s*(?:(?P<num>\d+(?:\.\d+)?)(?![A-Za-z_])|(?P<str>\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*')|(?P<regex>/(?:[^/\\]|\\.)+/)"
    r"|(?P<op>=~|==|!=|<=|>=|[=<>()\[\],*+\-/%])|(?P<name>`[^`]+`|@?[A-Za-z_][A-Za-z0-9_.@\-]*))"
)


def tokenize(text: str) -> list[tuple[str, str]]:
    out = []
    pos = 0
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise malformed(f"unexpected symbol found {text[pos:pos + 10]!r} at line 1 and position {pos + 1}")
        pos = m.end()
        kind = m.lastgroup or ""
        out.append((kind, m.group(kind)))
    return out


def _num(v: Any) -> float | None:
    if isinstance(v, bool) or v is None:
        return None
    if isinstance(v, int | float):
        return float(v)
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def to_text(v: Any) -> str:
    return _str(v)


def _str(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


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
                rx = re.compile(pv[1:-1])
            elif pk == "str":
                rx = re.compile(re.escape(pv[1:-1]))
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
        left = self.unary()
        while self.peek() in (("op", "*"), ("op", "/"), ("op", "%")):
            op = self.take()[1]
            right = self.unary()
            left = _arith_op(left, right, op)
        return left

    def unary(self) -> Callable[[Record], Any]:
        kind, value = self.take()
        if kind == "op" and value == "-":
            inner = self.unary()
            return lambda r: -(_num(inner(r)) or 0.0)
        if kind == "op" and value == "(":
            inner = self.or_()
            if self.take() != ("op", ")"):
                raise malformed("missing )")
            return inner
        if kind == "num":
            num = float(value)
            return lambda r: num
        if kind == "str":
            text = value[1:-1]
            return lambda r: text
        if kind == "name":
            if self.peek() == ("op", "("):
                self.take()
                if value.lower() == "unmask":
                    # unmask(@message): the event as stored, where a data protection policy masked it
                    # (the caller put it under UNMASKED; StartQuery checked logs:Unmask)
                    if self.take() != ("name", "@message") or self.take() != ("op", ")"):
                        raise malformed("unmask takes one argument: @message")
                    return lambda r: r.get(UNMASKED, r.get("@message"))
                args: list[Callable[[Record], Any]] = []
                if self.peek() != ("op", ")"):
                    while True:
                        args.append(self.or_())
                        sep = self.take()
                        if sep == ("op", ")"):
                            break
                        if sep != ("op", ","):
                            raise malformed("expected , or )")
                else:
                    self.take()
                return _function(value.lower(), args)
            name = value.strip("`")
            if name.lower() in ("true", "false"):
                b = name.lower() == "true"
                return lambda r: b
            return lambda r: r.get(name)
        raise malformed(f"unexpected symbol {value!r}")


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
    if y == 0:
        return None
    return x / y if op == "/" else x % y


def _function(name: str, args: list[Callable[[Record], Any]]) -> Callable[[Record], Any]:
    def arg(i: int) -> Callable[[Record], Any]:
        if i >= len(args):
            raise malformed(f"function {name} expects more arguments")
        return args[i]

    if name == "ispresent":
        a = arg(0)
        return lambda r: a(r) is not None
    if name == "isempty":
        a = arg(0)
        return lambda r: a(r) in (None, "")
    if name == "isblank":
        a = arg(0)
        return lambda r: _str(a(r)).strip() == ""
    if name == "strcontains":
        a, b = arg(0), arg(1)
        return lambda r: _str(b(r)) in _str(a(r))
    if name == "tolower":
        a = arg(0)
        return lambda r: _str(a(r)).lower()
    if name == "toupper":
        a = arg(0)
        return lambda r: _str(a(r)).upper()
    if name == "strlen":
        a = arg(0)
        return lambda r: float(len(_str(a(r))))
    if name == "abs":
        a = arg(0)
        return lambda r: abs(_num(a(r)) or 0.0)
    if name == "concat":
        return lambda r: "".join(_str(f(r)) for f in args)
    if name == "bin":
        a = arg(0)
        return lambda r: a(r)
    raise malformed(f"unknown function {name}")


# ------------------------------------------------------------------ commands
_UNITS = {"ms": 1, "s": 1000, "sec": 1000, "m": 60000, "min": 60000, "h": 3600000, "hr": 3600000, "d": 86400000, "w": 604800000, "mo": 2592000000, "q": 7776000000, "y": 31536000000}


def parse_bin(text: str) -> int:
    m = re.match(r"^\s*(\d+)\s*([a-z]+)\s*$", text)
    if not m or m.group(2) not in _UNITS:
        raise malformed(f"invalid bin period {text!r}")
    return int(m.group(1)) * _UNITS[m.group(2)]


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
class _Agg:
    fn: str
    arg: Callable[[Record], Any] | None
    extra: float | None
    name: str


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
    except re.error as exc:
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
                fn = _Expr(tokenize(expr_text)).parse()
                items.append((name, fn))
            q.steps.append(("fields", items))
            names = [n for n, _ in items]
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
        else:
            raise malformed(f"unexpected symbol found {verb} at line 1")
    return q


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
        rx = re.compile(re.sub(r"\(\?<([A-Za-z_]\w*)>", r"(?P<\1>", spec[1:end]))

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
    rx = re.compile("(.*?)".join(re.escape(p) for p in glob.split("*")))
    if glob.endswith("*"):
        # a trailing * takes the rest of the line
        rx = re.compile("(.*?)".join(re.escape(p) for p in glob.split("*")[:-1]) + "(.*)")

    def run_glob(r: Record) -> None:
        mm = rx.search(_str(r.get(source)))
        if mm:
            for name, value in zip(names, mm.groups(), strict=False):
                r[name] = value

    return run_glob


_AGG_FNS = ("count", "count_distinct", "sum", "avg", "min", "max", "pct", "stddev", "earliest", "latest", "sortsfirst", "sortslast")


def _stats_command(rest: str) -> tuple[list[_Agg], list[tuple[str, Callable[[Record], Any], int | None]]]:
    by_m = re.search(r"\s+by\s+", rest, re.IGNORECASE)
    agg_text, by_text = (rest[: by_m.start()], rest[by_m.end() :]) if by_m else (rest, "")
    aggs = []
    for item in _split_commas(agg_text):
        expr_text, alias = _alias(item)
        m = re.match(r"^(\w+)\s*\((.*)\)$", expr_text, re.DOTALL)
        if not m or m.group(1).lower() not in _AGG_FNS:
            raise malformed(f"stats expects an aggregation function, found {expr_text!r}")
        fn, inner = m.group(1).lower(), m.group(2).strip()
        extra = None
        arg: Callable[[Record], Any] | None = None
        if fn == "pct":
            parts = _split_commas(inner)
            if len(parts) != 2:
                raise malformed("pct expects (field, percentile)")
            inner, extra = parts[0], float(parts[1])
        if inner and inner != "*":
            arg = _Expr(tokenize(inner)).parse()
        elif fn != "count":
            raise malformed(f"{fn} needs a field")
        aggs.append(_Agg(fn, arg, extra, alias or expr_text.replace(" ", "")))
    groups: list[tuple[str, Callable[[Record], Any], int | None]] = []
    for item in _split_commas(by_text):
        expr_text, alias = _alias(item)
        bm = re.match(r"^bin\s*\((.*)\)$", expr_text, re.IGNORECASE)
        if bm:
            width = parse_bin(bm.group(1))
            groups.append((alias or expr_text.replace(" ", ""), lambda r: r.get("@timestamp_ms"), width))
        else:
            groups.append((alias or expr_text.strip("`"), _Expr(tokenize(expr_text)).parse(), None))
    return aggs, groups


def _aggregate(agg: _Agg, records: list[Record]) -> Any:
    if agg.fn == "count":
        if agg.arg is None:
            return float(len(records))
        return float(sum(1 for r in records if agg.arg(r) is not None))
    assert agg.arg is not None
    raw = [agg.arg(r) for r in records]
    raw = [v for v in raw if v is not None]
    if agg.fn == "count_distinct":
        return float(len({_str(v) for v in raw}))
    if agg.fn in ("earliest", "latest"):
        pairs = [(r.get("@timestamp_ms", 0), agg.arg(r)) for r in records if agg.arg(r) is not None]
        if not pairs:
            return None
        return (min if agg.fn == "earliest" else max)(pairs, key=lambda p: p[0])[1]
    nums = [n for n in (_num(v) for v in raw) if n is not None]
    if not nums:
        return None
    if agg.fn == "sum":
        return sum(nums)
    if agg.fn == "avg":
        return sum(nums) / len(nums)
    if agg.fn in ("min", "sortsfirst"):
        return min(nums)
    if agg.fn in ("max", "sortslast"):
        return max(nums)
    if agg.fn == "stddev":
        return pystats.stdev(nums) if len(nums) > 1 else 0.0
    nums.sort()
    rank = max(1, math.ceil((agg.extra or 0) / 100.0 * len(nums)))
    return nums[min(rank, len(nums)) - 1]


def run(query: Query, records: Iterable[Record], limit: int) -> tuple[list[list[dict[str, str]]], int]:
    """Execute; returns (rows as [{field, value}], records matched)."""
    # Insights returns the newest events first unless the query sorts
    rows: list[Record] = sorted(records, key=lambda r: (r.get("@timestamp_ms", 0), r.get("@id", 0)), reverse=True)
    stats_done = False
    matched: int | None = None
    explicit_limit: int | None = None
    for kind, arg in query.steps:
        if kind == "filter":
            rows = [r for r in rows if arg(r)]
        elif kind == "parse":
            for r in rows:
                arg(r)
        elif kind == "fields":
            for r in rows:
                for name, fn in arg:
                    if name not in r:
                        value = fn(r)
                        if value is not None:
                            r[name] = value
        elif kind == "stats":
            if matched is None:
                matched = len(rows)  # recordsMatched counts the events that reached stats
            aggs, groups = arg
            buckets: dict[tuple[Any, ...], list[Record]] = {}
            for r in rows:
                parts: list[Any] = []
                for _name, fn, width in groups:
                    v = fn(r)
                    if width is not None and v is not None:
                        v = math.floor(v / width) * width
                    parts.append(v)
                buckets.setdefault(tuple(parts), []).append(r)
            if not groups and not buckets:
                buckets[()] = []
            out = []
            for key, members in buckets.items():
                rec: Record = {}
                for (name, _fn, width), v in zip(groups, key, strict=False):
                    rec[name] = fmt_ts(v) if width is not None and v is not None else v
                    if width is not None and v is not None:
                        rec[name + "_ms"] = v
                for agg in aggs:
                    rec[agg.name] = _aggregate(agg, members)
                out.append(rec)
            rows = out
            stats_done = True
            query_fields = [g[0] for g in groups] + [a.name for a in aggs]
            query.display = query.display if query.display else query_fields
        elif kind == "sort":
            for name, desc in reversed(arg):
                present = [r for r in rows if r.get(name) is not None]
                absent = [r for r in rows if r.get(name) is None]
                key_name = name + "_ms" if stats_done and any(name + "_ms" in r for r in present) else name
                present.sort(key=lambda r: (_num(r.get(key_name)) is None, _num(r.get(key_name)) if _num(r.get(key_name)) is not None else 0.0, _str(r.get(key_name))), reverse=desc)
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
        if not stats_done and "@ptr" in r:
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
