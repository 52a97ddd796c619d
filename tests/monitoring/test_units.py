"""Unit tests of the monitoring engines: statistics, metric math, filter patterns, Insights, the metric store."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from emulator.errors import AwsError
from emulator.monitoring import insights
from emulator.monitoring.filterpattern import compile_pattern
from emulator.monitoring.mathexpr import Evaluator, Labelled, MathError, parse
from emulator.monitoring.metrics import Datum, MetricStore
from emulator.monitoring.stats import Bucket, is_extended

# ---------------------------------------------------------------- statistics


def _bucket(values: list[float]) -> Bucket:
    b = Bucket()
    for v in values:
        b.add(v, 1, v, v, None, 0)
    return b


def test_standard_and_percentiles() -> None:
    b = _bucket([float(v) for v in range(1, 101)])
    assert b.stat("SampleCount") == 100
    assert b.stat("Sum") == 5050
    assert b.stat("Average") == 50.5
    assert (b.stat("Minimum"), b.stat("Maximum")) == (1, 100)
    assert b.stat("p50") == 50
    assert b.stat("p99") == 99
    assert b.stat("p100") == 100
    assert b.stat("tm10") == pytest.approx(5.5)  # mean of the lowest 10%
    assert b.stat("tc90") == pytest.approx(90)
    assert b.stat("ts10") == pytest.approx(55)
    assert b.stat("IQM") == pytest.approx(50.5)
    assert b.stat("PR(:50)") == pytest.approx(50)
    assert b.stat("TM(10%:90%)") == pytest.approx(50.5)


def test_statistic_sets_have_no_percentiles() -> None:
    b = Bucket()
    b.add(10, 4, 1, 4, None, 1)
    assert b.stat("Average") == 2.5
    assert b.stat("p50") is None


def test_extended_statistic_names() -> None:
    assert is_extended("p99.9") and is_extended("tm(10%:90%)") and is_extended("IQM")
    assert not is_extended("p101") and not is_extended("Average") and not is_extended("q50")


# ---------------------------------------------------------------- metric math


def _eval(expr: str, ids: dict[str, object], grid: list[float] | None = None) -> object:
    grid = grid or [0.0, 60.0, 120.0, 180.0]
    arrays = [Labelled(k, v) for k, v in ids.items() if isinstance(v, dict)]
    ev = Evaluator(lambda i: ids[i], grid, 60, lambda f: [a for a in arrays if f is None or f in a.label], lambda e, s, p: [])  # type: ignore[arg-type,return-value]
    return ev.eval(parse(expr))


M1 = {0.0: 1.0, 60.0: 3.0, 120.0: 6.0}
M2 = {0.0: 2.0, 60.0: 2.0, 180.0: 2.0}


def test_math_arithmetic_keeps_common_timestamps() -> None:
    assert _eval("m1 + m2", {"m1": M1, "m2": M2}) == {0.0: 3.0, 60.0: 5.0}
    assert _eval("m1 * 2 - 1", {"m1": M1}) == {0.0: 1.0, 60.0: 5.0, 120.0: 11.0}
    assert _eval("m1 / 0", {"m1": M1}) == {}
    assert _eval("2 ^ 3 * 2", {}) == 16.0


def test_math_functions() -> None:
    assert _eval("SUM(METRICS())", {"m1": M1, "m2": M2}) == {0.0: 3.0, 60.0: 5.0, 120.0: 6.0, 180.0: 2.0}
    assert _eval("AVG(m1)", {"m1": M1}) == pytest.approx(10 / 3)
    assert _eval("MAX(m1)", {"m1": M1}) == 6.0
    assert _eval("STDDEV(m2)", {"m2": M2}) == 0.0
    assert _eval("RATE(m1)", {"m1": M1}) == {60.0: 2 / 60, 120.0: 3 / 60}
    assert _eval("DIFF(m1)", {"m1": M1}) == {60.0: 2.0, 120.0: 3.0}
    assert _eval("FILL(m1, 0)", {"m1": M1}) == {0.0: 1.0, 60.0: 3.0, 120.0: 6.0, 180.0: 0.0}
    assert _eval("FILL(m2, REPEAT)", {"m2": M2}) == {0.0: 2.0, 60.0: 2.0, 120.0: 2.0, 180.0: 2.0}
    assert _eval("FILL(m2, LINEAR)", {"m2": {0.0: 0.0, 180.0: 3.0}}) == {0.0: 0.0, 60.0: 1.0, 120.0: 2.0, 180.0: 3.0}
    assert _eval("IF(m1 > 2, m1, 0)", {"m1": M1}) == {0.0: 0.0, 60.0: 3.0, 120.0: 6.0}
    assert _eval("IF(m1 >= 3 AND m1 < 6, 1)", {"m1": M1}) == {60.0: 1.0}
    assert _eval("METRICS('m2')", {"m1": M1, "m2": M2}) == [Labelled("m2", M2)]


def test_math_errors() -> None:
    with pytest.raises(MathError):
        parse("m1 +")
    with pytest.raises(MathError):
        _eval("NOPE(m1)", {"m1": M1})
    with pytest.raises(MathError):
        _eval("METRICS() + METRICS()", {"m1": M1})


# ---------------------------------------------------------------- filter patterns

MESSAGES = [
    "ERROR failed to connect to db",
    "INFO request served",
    'WARN disk "almost full"',
    '{"level": "error", "latency": 150, "user": {"id": 7}, "tags": ["a", "b"], "ok": false}',
    '{"level": "info", "latency": 50, "user": null}',
    '127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET /index.html HTTP/1.0" 404 1534',
    '10.0.0.2 - bob [10/Oct/2000:13:25:16 -0700] "GET /a HTTP/1.0" 200 99',
]


def _matches(pattern: str) -> list[int]:
    match = compile_pattern(pattern)
    return [i for i, m in enumerate(MESSAGES) if match(m)]


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("", [0, 1, 2, 3, 4, 5, 6]),
        ("ERROR", [0]),
        ("ERROR db", [0]),
        ("error", [3]),  # terms are case sensitive: only the JSON event has a lowercase "error"
        ("?ERROR ?WARN", [0, 2]),
        ("-INFO GET", [5, 6]),
        ('"almost full"', [2]),
        ("ERROR -connect", []),
        ('{ $.level = "error" }', [3]),
        ("{ $.latency > 100 && $.user.id = 7 }", [3]),
        ("{ $.level = err* || $.latency < 60 }", [3, 4]),
        ("{ ($.latency >= 50) && ($.level != \"error\") }", [4]),
        ("{ $.user IS NULL }", [4]),
        ("{ $.ok IS FALSE }", [3]),
        ("{ $.user.id NOT EXISTS }", [4]),
        ('{ $.tags[1] = "b" }', [3]),
        ("[ip, user, username, timestamp, request, status_code = 4*, bytes > 1000]", [5]),
        ("[ip, ..., status = 200 || status = 404, size]", [5, 6]),
        ("[..., size < 1000]", [6]),
        ("[ip = 10.*, ...]", [6]),
        ("%connect|served%", [0, 1]),
    ],
)
def test_filter_patterns(pattern: str, expected: list[int]) -> None:
    assert _matches(pattern) == expected


def test_invalid_filter_pattern() -> None:
    with pytest.raises(AwsError) as err:
        compile_pattern("{ $.a = ")
    assert err.value.code == "InvalidParameterException"


# ---------------------------------------------------------------- Insights


def _records() -> list[insights.Record]:
    out = []
    base = 1_700_000_000_000
    for i in range(10):
        msg = f"user=u{i % 3} status={200 if i % 4 else 500} latency={10 * (i + 1)}"
        out.append(insights.make_record(i + 1, base + i * 60_000, base + i * 60_000, msg, "s1", "/app", "000000000000"))
    out.append(insights.make_record(11, base + 600_000, base + 600_000, '{"level":"error","ms":5,"req":{"path":"/x"}}', "s2", "/app", "000000000000"))
    return out


def _run(q: str, limit: int = 1000) -> tuple[list[dict[str, str]], int]:
    rows, matched = insights.run(insights.compile_query(q), _records(), limit)
    return [{c["field"]: c["value"] for c in r} for r in rows], matched


def test_insights_fields_filter_sort_limit() -> None:
    rows, _ = _run("fields @timestamp, @message | filter @message like /status=500/ | sort @timestamp asc | limit 2")
    assert [r["@message"] for r in rows] == ["user=u0 status=500 latency=10", "user=u1 status=500 latency=50"]
    assert all("@ptr" in r for r in rows)
    rows, _ = _run("fields @message | limit 1")
    assert rows[0]["@message"].startswith('{"level"')  # newest first by default


def test_insights_parse_and_stats() -> None:
    q = 'parse @message "user=* status=* latency=*" as user, status, latency | filter status = 200 | stats count(*) as n, avg(latency) as avg, max(latency) as mx by user | sort user'
    rows, matched = _run(q)
    assert matched == 7
    assert rows == [
        {"user": "u0", "n": "3", "avg": "70", "mx": "100"},
        {"user": "u1", "n": "2", "avg": "50", "mx": "80"},
        {"user": "u2", "n": "2", "avg": "45", "mx": "60"},
    ]


def test_insights_bin_regex_parse_and_json_fields() -> None:
    rows, _ = _run("filter ispresent(latency) or @message like /latency/ | parse @message /latency=(?<lat>\\d+)/ | stats sum(lat) as total by bin(5m) as t | sort t")
    assert [(r["t"], r["total"]) for r in rows] == [("2023-11-14 22:10:00.000", "30"), ("2023-11-14 22:15:00.000", "250"), ("2023-11-14 22:20:00.000", "270")]
    rows, _ = _run('filter level = "error" | fields req.path, ms')
    assert rows == [{"req.path": "/x", "ms": "5", "@ptr": "/app/11"}]
    rows, _ = _run('parse @message "user=* " as user | stats count(*) as c, count_distinct(user) as users, pct(ms, 50) as p')
    assert rows == [{"c": "11", "users": "3", "p": "5"}]


def test_insights_malformed() -> None:
    for bad in ("", "frobnicate x", "stats nope(x)", "filter (a = 1", "limit 0"):
        with pytest.raises(AwsError) as err:
            insights.compile_query(bad)
        assert err.value.code == "MalformedQueryException"


# ---------------------------------------------------------------- metric store


def test_store_exact_dimension_sets_and_rollup(tmp_path: Path) -> None:
    store = MetricStore(tmp_path / "m.db")
    now = 1_800_000_000.0
    store.put([Datum.single("N", "m", (("a", "1"),), 1.0, now - 10)])
    store.put([Datum.single("N", "m", (("a", "1"), ("b", "2")), 100.0, now - 10)])
    mid = store.find_id("N", "m", (("a", "1"),))
    assert mid is not None
    buckets = store.buckets(mid, now - 60, now, 60)
    assert [b.sum for b in buckets.values()] == [1.0]
    # 1-second data older than 3 hours is rolled up into 1-minute datapoints
    hi = [Datum("N", "hr", (), now - 4 * 3600 + i, float(i), 1, float(i), float(i), None, None, 1) for i in range(30)]
    store.put(hi)
    hid = store.find_id("N", "hr", ())
    assert hid is not None
    assert store.rollup(now) == 30
    rows = store._db.execute("SELECT res, cnt, sum FROM dp WHERE metric_id=?", (hid,)).fetchall()
    assert rows == [(60, 30.0, float(sum(range(30))))]
    b = store.buckets(hid, now - 5 * 3600, now, 3600, need_values=True)
    assert sum(x.count for x in b.values()) == 30
    assert len(b) == 1
    assert math.isclose(next(iter(b.values())).stat("p50") or 0, 14.0)  # percentiles survive the roll-up
    # data past the last retention is dropped
    store.put([Datum.single("N", "old", (), 5.0, now - 10)])
    assert store.rollup(now + 456 * 86400) > 0
    assert store.count_datapoints() == 0
