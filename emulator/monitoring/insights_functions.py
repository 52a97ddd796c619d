"""CloudWatch Logs Insights: the values, the functions and the stats aggregations of the query
language (CloudWatch Logs User Guide, "CloudWatch Logs Insights language query syntax" ->
"Boolean, comparison, numeric, datetime, and other functions" and "Aggregation functions in
the stats command"); the parser and the commands are emulator.monitoring.insights.

Values: a missing field is None (null); numbers are floats; timestamps are strings in the
format Insights shows them in (``2024-01-31 12:00:00.000``, UTC), which sort in time order.
"""

from __future__ import annotations

import calendar
import datetime as dt
import functools
import ipaddress
import json
import math
import re
import statistics as pystats
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from emulator.errors import AwsError

Record = dict[str, Any]
Fn = Callable[[Record], Any]


def malformed(message: str) -> AwsError:
    return AwsError("MalformedQueryException", message, 400)


def num(v: Any) -> float | None:
    """The number a value reads as (None: not a number)."""
    if isinstance(v, bool) or v is None:
        return None
    if isinstance(v, int | float):
        return float(v)
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def text(v: Any) -> str:
    """A value as Insights shows it: integers without a decimal point, JSON maps and lists as JSON."""
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, dict | list):
        return json.dumps(v, separators=(",", ":"))
    return str(v)


# ------------------------------------------------------------------ timestamps and periods
def fmt_ts(ms: float) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def parse_ts(v: Any) -> float | None:
    """Milliseconds since the epoch of a timestamp value (as fmt_ts writes it, or ISO 8601)."""
    if not isinstance(v, str):
        return None
    try:
        parsed = dt.datetime.fromisoformat(v.strip())  # 3.11 reads a Z suffix too
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.timestamp() * 1000


# bin's time units: "For all units and abbreviations that include more than one character,
# adding s to pluralize is supported" (query syntax, "bin")
_UNIT_NAMES = {
    "ms": "ms", "s": "s", "sec": "s", "m": "m", "min": "m", "h": "h", "hr": "h", "d": "d", "w": "w",
    "mo": "mo", "mon": "mo", "q": "q", "qtr": "q", "y": "y", "yr": "y",
}
_FIXED_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}
_MONTHS = {"mo": 1, "q": 3, "y": 12}
PERIOD_PATTERN = r"\d+(?:" + "|".join(sorted((u + "s?" if len(u) > 1 else u for u in _UNIT_NAMES), key=len, reverse=True)) + r")(?![A-Za-z0-9_])"


@dataclass(frozen=True)
class Period:
    """A time period literal such as ``5m`` or ``1h``."""

    amount: int
    unit: str  # one of ms s m h d w mo q y

    def floor(self, ms: float) -> float:
        return self._round(ms, up=False)

    def ceil(self, ms: float) -> float:
        return self._round(ms, up=True)

    def _round(self, ms: float, up: bool) -> float:
        if self.unit in _FIXED_MS:
            width = self.amount * _FIXED_MS[self.unit]
            return float((math.ceil if up else math.floor)(ms / width) * width)
        # months, quarters and years are calendar ones, counted from January 1970 (our choice:
        # the documentation does not say how they align)
        day = dt.datetime.fromtimestamp(ms / 1000, dt.UTC)
        step = self.amount * _MONTHS[self.unit]
        months = ((day.year - 1970) * 12 + day.month - 1) // step * step
        low = calendar.timegm((1970 + months // 12, months % 12 + 1, 1, 0, 0, 0)) * 1000.0
        if not up or low == ms:
            return low
        months += step
        return calendar.timegm((1970 + months // 12, months % 12 + 1, 1, 0, 0, 0)) * 1000.0


def parse_period(literal: str) -> Period:
    m = re.fullmatch(r"(\d+)([a-z]+)", literal.strip())
    unit = m.group(2) if m else ""
    if unit not in _UNIT_NAMES and unit.endswith("s") and len(unit) > 2:
        unit = unit[:-1]
    if not m or unit not in _UNIT_NAMES or int(m.group(1)) < 1:
        raise malformed(f"invalid time period {literal!r}")
    return Period(int(m.group(1)), _UNIT_NAMES[unit])


# ------------------------------------------------------------------ scalar functions
@dataclass(frozen=True)
class _Sig:
    low: int  # fewest arguments
    high: int | None  # most (None: any number)
    impl: Callable[..., Any]  # called with the argument values
    nulls: bool = False  # impl sees null arguments; else a null argument makes the result null


def _number_fn(op: Callable[[float], float | None]) -> Callable[..., Any]:
    def apply(v: Any) -> Any:
        n = num(v)
        return None if n is None else op(n)

    return apply


def _log(x: float) -> float | None:
    return math.log(x) if x > 0 else None


def _sqrt(x: float) -> float | None:
    return math.sqrt(x) if x >= 0 else None


def _extreme(pick: Callable[..., float]) -> Callable[..., Any]:
    def apply(*values: Any) -> Any:
        nums = [n for n in (num(v) for v in values) if n is not None]
        return pick(nums) if nums else None

    return apply


def _trim(side: str) -> Callable[..., Any]:
    def apply(value: Any, chars: Any = None) -> str:
        s, c = text(value), None if chars is None else text(chars)
        return s.strip(c) if side == "both" else s.lstrip(c) if side == "left" else s.rstrip(c)

    return apply


def _substr(value: Any, start: Any, length: Any = None) -> str | None:
    s, i = text(value), num(start)
    if i is None:
        return None
    begin = max(0, int(i))
    if length is None:
        return s[begin:]
    n = num(length)
    return None if n is None else s[begin : begin + max(0, int(n))]


@functools.lru_cache(maxsize=256)
def _ip(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(value.strip())
    except ValueError:
        return None


@functools.lru_cache(maxsize=256)
def _subnet(value: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    try:
        return ipaddress.ip_network(value.strip(), strict=False)
    except ValueError:
        return None


def _in_subnet(version: int | None) -> Callable[..., bool]:
    def apply(value: Any, subnet: Any) -> bool:
        ip, net = _ip(text(value)), _subnet(text(subnet))
        if ip is None or net is None or ip.version != net.version:
            return False
        return (version is None or ip.version == version) and ip in net

    return apply


def _valid_ip(version: int | None) -> Callable[..., bool]:
    def apply(value: Any) -> bool:
        ip = _ip(text(value)) if value is not None else None
        return ip is not None and (version is None or ip.version == version)

    return apply


def _from_millis(value: Any) -> str | None:
    n = num(value)
    return None if n is None else fmt_ts(n)


def _to_millis(value: Any) -> float | None:
    return parse_ts(value)


def _json_parse(value: Any) -> Any:
    try:
        doc = json.loads(text(value))
    except (ValueError, RecursionError):
        return None
    return doc if isinstance(doc, dict | list) else None


def _json_stringify(value: Any) -> str | None:
    return json.dumps(value, separators=(",", ":")) if isinstance(value, dict | list) else None


_FUNCTIONS: dict[str, _Sig] = {
    # numeric
    "abs": _Sig(1, 1, _number_fn(abs)),
    "ceil": _Sig(1, 1, _number_fn(lambda x: float(math.ceil(x)))),
    "floor": _Sig(1, 1, _number_fn(lambda x: float(math.floor(x)))),
    "greatest": _Sig(1, None, _extreme(max), nulls=True),
    "least": _Sig(1, None, _extreme(min), nulls=True),
    "log": _Sig(1, 1, _number_fn(_log)),
    "sqrt": _Sig(1, 1, _number_fn(_sqrt)),
    # general
    "ispresent": _Sig(1, 1, lambda v: v is not None, nulls=True),
    "coalesce": _Sig(1, None, lambda *vs: next((v for v in vs if v is not None), None), nulls=True),
    # string
    "isempty": _Sig(1, 1, lambda v: v is None or v == "", nulls=True),
    "isblank": _Sig(1, 1, lambda v: text(v).strip() == "", nulls=True),
    "concat": _Sig(1, None, lambda *vs: "".join(text(v) for v in vs), nulls=True),
    "ltrim": _Sig(1, 2, _trim("left")),
    "rtrim": _Sig(1, 2, _trim("right")),
    "trim": _Sig(1, 2, _trim("both")),
    "strlen": _Sig(1, 1, lambda v: float(len(text(v)))),
    "toupper": _Sig(1, 1, lambda v: text(v).upper()),
    "tolower": _Sig(1, 1, lambda v: text(v).lower()),
    "substr": _Sig(2, 3, _substr),
    "replace": _Sig(3, 3, lambda v, old, new: text(v).replace(text(old), text(new))),
    # "Returns 1 if str contains searchValue and 0 otherwise"
    "strcontains": _Sig(2, 2, lambda v, s: 1.0 if text(s) in text(v) else 0.0),
    # IP address
    "isvalidip": _Sig(1, 1, _valid_ip(None), nulls=True),
    "isvalidipv4": _Sig(1, 1, _valid_ip(4), nulls=True),
    "isvalidipv6": _Sig(1, 1, _valid_ip(6), nulls=True),
    "isipinsubnet": _Sig(2, 2, _in_subnet(None), nulls=True),
    "isipv4insubnet": _Sig(2, 2, _in_subnet(4), nulls=True),
    "isipv6insubnet": _Sig(2, 2, _in_subnet(6), nulls=True),
    # datetime (bin, datefloor, dateceil and now are built in ``call``)
    "frommillis": _Sig(1, 1, _from_millis),
    "tomillis": _Sig(1, 1, _to_millis),
    # JSON
    "jsonparse": _Sig(1, 1, _json_parse),
    "jsonstringify": _Sig(1, 1, _json_stringify),
}
_PERIOD_FUNCTIONS = ("bin", "datefloor", "dateceil")
AGGREGATES = ("count", "count_distinct", "sum", "avg", "min", "max", "pct", "stddev", "earliest", "latest", "sortsfirst", "sortslast")


def call(name: str, args: list[Fn], periods: list[Period | None]) -> Fn:
    """The closure of a call of the function ``name`` (lower case) with ``args``;
    ``periods[i]`` is the period literal the i-th argument is, if it is one."""
    if name in _PERIOD_FUNCTIONS:
        return _period_call(name, args, periods)
    if any(p is not None for p in periods):
        raise malformed(f"a time period is not a valid argument of {name}")
    if name == "now":
        _arity(name, args, 0, 0)
        started = float(int(time.time()))  # "the time when query processing started, in epoch seconds"
        return lambda r: started
    sig = _FUNCTIONS.get(name)
    if sig is None:
        if name in AGGREGATES:
            raise malformed(f"{name} is an aggregation function: it can only be used in stats")
        raise malformed(f"unknown function {name}")
    _arity(name, args, sig.low, sig.high)
    impl = sig.impl
    if sig.nulls:
        return lambda r: impl(*(a(r) for a in args))

    def strict(r: Record) -> Any:
        values = [a(r) for a in args]
        return None if any(v is None for v in values) else impl(*values)

    return strict


def _arity(name: str, args: list[Fn], low: int, high: int | None) -> None:
    if len(args) < low or (high is not None and len(args) > high):
        want = str(low) if low == high else f"{low} or more" if high is None else f"{low} to {high}"
        raise malformed(f"function {name} expects {want} arguments, found {len(args)}")


def _period_call(name: str, args: list[Fn], periods: list[Period | None]) -> Fn:
    """bin(period): @timestamp rounded down to the period; datefloor(ts, period) and
    dateceil(ts, period): a timestamp rounded down or up to the period."""
    if name == "bin":
        _arity(name, args, 1, 1)
        width = periods[0]
        if width is None:
            raise malformed("bin expects a time period such as 5m")
        return lambda r: fmt_ts(width.floor(r["@timestamp_ms"])) if r.get("@timestamp_ms") is not None else None
    _arity(name, args, 2, 2)
    stamp, period = args[0], periods[1]
    if period is None or periods[0] is not None:
        raise malformed(f"{name} expects a timestamp and a time period such as 1h")
    rounder = period.floor if name == "datefloor" else period.ceil

    def apply(r: Record) -> Any:
        ms = parse_ts(stamp(r))
        return None if ms is None else fmt_ts(rounder(ms))

    return apply


# ------------------------------------------------------------------ stats aggregations
@dataclass
class Agg:
    fn: str
    arg: Fn | None
    extra: float | None
    name: str


def _ordered(values: list[Any]) -> list[Any]:
    """Values in Insights' sort order: numerically when they are all numbers, else as strings."""
    nums = [num(v) for v in values]
    if all(n is not None for n in nums):
        return sorted(nums)
    return sorted(values, key=text)


def aggregate(agg: Agg, records: list[Record]) -> Any:
    if agg.fn == "count":
        if agg.arg is None:
            return float(len(records))
        return float(sum(1 for r in records if agg.arg(r) is not None))
    assert agg.arg is not None
    arg = agg.arg
    pairs = [(r, v) for r in records if (v := arg(r)) is not None]
    if not pairs:
        return None
    raw = [v for _, v in pairs]
    if agg.fn == "count_distinct":
        return float(len({text(v) for v in raw}))
    if agg.fn in ("earliest", "latest"):
        pick = min if agg.fn == "earliest" else max
        return pick(pairs, key=lambda p: p[0].get("@timestamp_ms", 0))[1]
    if agg.fn in ("min", "max", "sortsfirst", "sortslast"):
        # min/max take a LogField (any type); sortsFirst/sortsLast: "the value of fieldName that sorts first/last"
        ordered = _ordered(raw)
        return ordered[0] if agg.fn in ("min", "sortsfirst") else ordered[-1]
    nums = [n for n in (num(v) for v in raw) if n is not None]
    if not nums:
        return None
    if agg.fn == "sum":
        return sum(nums)
    if agg.fn == "avg":
        return sum(nums) / len(nums)
    if agg.fn == "stddev":
        return pystats.stdev(nums) if len(nums) > 1 else 0.0
    nums.sort()  # pct: the nearest-rank percentile (our choice of method; AWS's is not documented)
    rank = max(1, math.ceil((agg.extra or 0) / 100.0 * len(nums)))
    return nums[min(rank, len(nums)) - 1]
