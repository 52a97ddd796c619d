"""Statistics over a bucket of datapoints: the standard five and CloudWatch's
extended statistics (pNN, tmNN, wmNN, tcNN, tsNN, IQM, and the ``(a:b)`` range
forms), as described in the CloudWatch User Guide, "CloudWatch statistics
definitions"."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

STANDARD = ("SampleCount", "Average", "Sum", "Minimum", "Maximum")

# p99, p99.9, tm90, tm(10%:90%), TM(1:100), wm99, tc90, ts90, PR(:300), IQM
_EXT_RE = re.compile(
    r"^(?:(p|tm|wm|tc|ts)(\d{1,2}(?:\.\d{1,10})?|100)"
    r"|(TM|WM|TC|TS|PR|tm|wm|tc|ts|pr)\((\d*(?:\.\d+)?%?):(\d*(?:\.\d+)?%?)\)"
    r"|IQM)$"
)


def is_extended(stat: str) -> bool:
    return bool(_EXT_RE.match(stat))


@dataclass
class Bucket:
    """The aggregate of every datapoint in one period."""

    sum: float = 0.0
    count: float = 0.0
    min: float = math.inf
    max: float = -math.inf
    # value -> count, for percentiles; None when only statistic sets were published
    values: dict[float, float] | None = field(default_factory=dict)
    unit: str | None = None

    def add(self, s: float, c: float, lo: float, hi: float, vals: list[float] | None, kind: int) -> None:
        self.sum += s
        self.count += c
        self.min = min(self.min, lo)
        self.max = max(self.max, hi)
        if self.values is None:
            return
        if kind == 1:  # statistic set: individual values are unknown
            return
        if vals:
            for i in range(0, len(vals), 2):
                v = vals[i]
                self.values[v] = self.values.get(v, 0.0) + vals[i + 1]
        elif c > 0:
            v = s / c
            self.values[v] = self.values.get(v, 0.0) + c

    def stat(self, name: str) -> float | None:
        if name == "SampleCount":
            return self.count
        if name == "Sum":
            return self.sum
        if name == "Average":
            return self.sum / self.count if self.count else None
        if name == "Minimum":
            return self.min if self.count else None
        if name == "Maximum":
            return self.max if self.count else None
        return self.extended(name)

    def _sorted(self) -> list[tuple[float, float]]:
        return sorted((self.values or {}).items())

    def extended(self, name: str) -> float | None:
        m = _EXT_RE.match(name)
        if not m or not self.values:
            return None
        items = self._sorted()
        total = sum(c for _, c in items)
        if total <= 0:
            return None
        if name == "IQM":
            return _trimmed(items, total, 25.0, 75.0, "tm")
        if m.group(1):
            kind, pct = m.group(1), float(m.group(2))
            if kind == "p":
                return _percentile(items, total, pct)
            return _trimmed(items, total, 0.0, pct, kind)
        kind = m.group(3).lower()
        lo_s, hi_s = m.group(4), m.group(5)
        if kind == "pr":
            lo = float(lo_s) if lo_s else -math.inf
            hi = float(hi_s) if hi_s else math.inf
            inside = sum(c for v, c in items if lo < v <= hi)
            return 100.0 * inside / total
        lo_p = _pct_bound(items, total, lo_s, 0.0)
        hi_p = _pct_bound(items, total, hi_s, 100.0)
        return _trimmed(items, total, lo_p, hi_p, kind)


def _pct_bound(items: list[tuple[float, float]], total: float, text: str, default: float) -> float:
    if not text:
        return default
    if text.endswith("%"):
        return float(text[:-1])
    # an absolute value bound: convert to the percentage of values at or below it
    value = float(text)
    return 100.0 * sum(c for v, c in items if v <= value) / total


def _percentile(items: list[tuple[float, float]], total: float, pct: float) -> float:
    rank = pct / 100.0 * total
    seen = 0.0
    for v, c in items:
        seen += c
        if seen >= rank - 1e-9:
            return v
    return items[-1][0]


def _trimmed(items: list[tuple[float, float]], total: float, lo: float, hi: float, kind: str) -> float | None:
    lo_rank = lo / 100.0 * total
    hi_rank = hi / 100.0 * total
    seen = 0.0
    s = 0.0
    n = 0.0
    lo_v: float | None = None
    hi_v: float | None = None
    for v, c in items:
        start, end = seen, seen + c
        seen = end
        # the part of this value's count that falls within (lo_rank, hi_rank]
        take = max(0.0, min(end, hi_rank) - max(start, lo_rank))
        if take > 0:
            s += v * take
            n += take
            if lo_v is None:
                lo_v = v
            hi_v = v
    if kind == "tc":
        return n
    if kind == "ts":
        return s
    if kind == "wm":
        # winsorized mean: values outside the range are clamped to its bounds
        if lo_v is None or hi_v is None:
            return None
        w = sum(min(max(v, lo_v), hi_v) * c for v, c in items)
        return w / total
    return s / n if n else None
