"""CloudWatch Logs Insights functions and stats through the wire (boto3 StartQuery /
GetQueryResults): one test per family of the User Guide's "CloudWatch Logs Insights language
query syntax" -> functions, with the values the documentation gives where it gives one."""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid
from collections import Counter
from typing import Any

import pytest
from botocore.exceptions import ClientError

from emulator.monitoring import insights

from .conftest import wait_for

HOUR = 3_600_000
EVENTS = [
    {"model": "llama", "n": 4, "ip": "10.0.0.5", "text": "  xyZfooxyZ  ", "user": "ann"},
    {"model": "claude", "n": 9, "ip": "2001:db8::1", "text": "abc", "user": "bob"},
    {"model": "titan", "n": -2.5, "ip": "not an ip", "user": "ann"},
]


def _ts(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


@pytest.fixture(scope="module")
def group(logs: Any) -> dict[str, Any]:
    """Three JSON events, at 10 min, 40 min and 70 min past an hour two hours ago."""
    name = f"/insights-fn/{uuid.uuid4().hex[:8]}"
    logs.create_log_group(logGroupName=name)
    logs.create_log_stream(logGroupName=name, logStreamName="s")
    base = (int(time.time() * 1000) // HOUR - 3) * HOUR
    stamps = [base + 10 * 60_000, base + 40 * 60_000, base + 70 * 60_000]
    logs.put_log_events(logGroupName=name, logStreamName="s", logEvents=[{"timestamp": t, "message": json.dumps(e)} for t, e in zip(stamps, EVENTS, strict=True)])
    return {"name": name, "base": base, "stamps": stamps}


def _query(logs: Any, group: dict[str, Any], query: str) -> dict[str, Any]:
    start, end = group["base"] // 1000 - 60, group["base"] // 1000 + 3 * 3600
    qid = logs.start_query(logGroupName=group["name"], startTime=start, endTime=end, queryString=query)["queryId"]
    result = wait_for(lambda: (r := logs.get_query_results(queryId=qid))["status"] in ("Complete", "Failed") and r)
    assert result and result["status"] == "Complete", result
    return dict(result)


def _rows(logs: Any, group: dict[str, Any], query: str) -> list[dict[str, str]]:
    return [{c["field"]: c["value"] for c in row if c["field"] != "@ptr"} for row in _query(logs, group, query)["results"]]


def _refused(logs: Any, group: dict[str, Any], query: str) -> str:
    with pytest.raises(ClientError) as err:
        logs.start_query(logGroupName=group["name"], startTime=0, endTime=int(time.time()), queryString=query)
    assert err.value.response["Error"]["Code"] == "MalformedQueryException", query
    return str(err.value.response["Error"]["Message"])


def test_sorts_first_last_and_min_max_on_strings(logs: Any, group: dict[str, Any]) -> None:
    # "sortsFirst(fieldName): Returns the value of fieldName that sorts first"; min/max take any LogField
    rows = _rows(logs, group, "stats sortsFirst(model) as first, sortsLast(model) as last, min(model) as lo, max(model) as hi, min(n) as nlo, max(n) as nhi")
    assert rows == [{"first": "claude", "last": "titan", "lo": "claude", "hi": "titan", "nlo": "-2.5", "nhi": "9"}]
    rows = _rows(logs, group, "stats max(@timestamp) as last, min(@timestamp) as first")
    assert rows == [{"last": _ts(group["stamps"][2]), "first": _ts(group["stamps"][0])}]


def test_records_matched_counts_the_events_before_limit(logs: Any, group: dict[str, Any]) -> None:
    result = _query(logs, group, "fields @message | limit 1")
    assert len(result["results"]) == 1
    assert result["statistics"]["recordsMatched"] == 3.0 and result["statistics"]["recordsScanned"] == 3.0
    result = _query(logs, group, "filter user = 'ann' | sort n desc | limit 1")
    assert len(result["results"]) == 1 and result["statistics"]["recordsMatched"] == 2.0
    assert _query(logs, group, "filter user = 'ann' | stats count(*) as c by model")["statistics"]["recordsMatched"] == 2.0


def test_numeric_functions_and_operators(logs: Any, group: dict[str, Any]) -> None:
    rows = _rows(logs, group, "fields model, abs(n) as a, ceil(n) as c, floor(n) as f, greatest(n, 1, 5) as g, least(n, 1) as l, sqrt(n) as s, log(n) as ln, 2 ^ 3 as p, n % 3 as m | sort n")
    assert rows == [
        {"model": "titan", "a": "2.5", "c": "-2", "f": "-3", "g": "5", "l": "-2.5", "p": "8", "m": "0.5"},  # sqrt, log of a negative: null
        {"model": "llama", "a": "4", "c": "4", "f": "4", "g": "5", "l": "1", "s": "2", "ln": "1.3862943611198906", "p": "8", "m": "1"},
        {"model": "claude", "a": "9", "c": "9", "f": "9", "g": "9", "l": "1", "s": "3", "ln": "2.1972245773362196", "p": "8", "m": "0"},
    ]


def test_string_functions(logs: Any, group: dict[str, Any]) -> None:
    # the documentation's examples: ltrim("xyZxyfooxyZ","xyZ") is "fooxyZ", substr("xyZfooxyZ",3, 3) is "foo"
    rows = _rows(logs, group, 'filter model = "llama" | fields ltrim("xyZxyfooxyZ", "xyZ") as doc1, substr("xyZfooxyZ", 3, 3) as doc2, '
                 "trim(text) as t, ltrim(text) as lt, rtrim(text) as rt, rtrim(trim(text), 'xyZ') as t2, substr(model, 2) as s, "
                 "replace(model, 'l', 'L') as r, strcontains(model, 'lla') as yes, strcontains(model, 'zz') as no, strlen(model) as len, "
                 "toupper(model) as up, tolower('ABC') as low, concat(model, '-', user) as cat, isempty(text) as e, isblank('  ') as b")
    assert rows == [{
        "doc1": "fooxyZ", "doc2": "foo", "t": "xyZfooxyZ", "lt": "xyZfooxyZ  ", "rt": "  xyZfooxyZ", "t2": "xyZfoo", "s": "ama", "r": "LLama",
        "yes": "1", "no": "0", "len": "5", "up": "LLAMA", "low": "abc", "cat": "llama-ann", "e": "false", "b": "true",
    }]


def test_general_and_json_functions(logs: Any, group: dict[str, Any]) -> None:
    rows = _rows(logs, group, "fields coalesce(text, user) as c, ispresent(text) as p, jsonParse(@message) as j | fields j.model as jm, jsonStringify(j) as js | display model, c, p, jm | sort n")
    assert rows == [
        {"model": "titan", "c": "ann", "p": "false", "jm": "titan"},
        {"model": "llama", "c": "  xyZfooxyZ  ", "p": "true", "jm": "llama"},
        {"model": "claude", "c": "abc", "p": "true", "jm": "claude"},
    ]
    [row] = _rows(logs, group, "filter model = 'claude' | fields jsonStringify(jsonParse(@message)) as js")
    assert json.loads(row["js"]) == EVENTS[1]


def test_ip_address_functions(logs: Any, group: dict[str, Any]) -> None:
    rows = _rows(logs, group, "fields model, isValidIp(ip) as v, isValidIpV4(ip) as v4, isValidIpV6(ip) as v6, isIpInSubnet(ip, '10.0.0.0/8') as s, "
                 "isIpv4InSubnet(ip, '10.0.0.0/24') as s4, isIpv6InSubnet(ip, '2001:db8::/32') as s6, isIpInSubnet(ip, '2001:db8::/32') as s46 | sort n")
    assert rows == [
        {"model": "titan", "v": "false", "v4": "false", "v6": "false", "s": "false", "s4": "false", "s6": "false", "s46": "false"},
        {"model": "llama", "v": "true", "v4": "true", "v6": "false", "s": "true", "s4": "true", "s6": "false", "s46": "false"},
        {"model": "claude", "v": "true", "v4": "false", "v6": "true", "s": "false", "s4": "false", "s6": "true", "s46": "true"},
    ]
    assert _rows(logs, group, "filter isIpv4InSubnet(ip, '10.0.0.0/16') | display model") == [{"model": "llama"}]


def test_datetime_functions(logs: Any, group: dict[str, Any]) -> None:
    base, stamps = group["base"], group["stamps"]
    rows = _rows(logs, group, "fields datefloor(@timestamp, 1h) as f, dateceil(@timestamp, 30m) as c, toMillis(@timestamp) as ms, fromMillis(n * 1000) as fm, "
                 "bin(20min) as b, datefloor(@timestamp, 1mo) as mo | sort @timestamp asc")
    months = [dt.datetime.fromtimestamp(t / 1000, dt.UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0) for t in stamps]
    assert [r["f"] for r in rows] == [_ts(base), _ts(base), _ts(base + HOUR)]
    assert [r["c"] for r in rows] == [_ts(base + 30 * 60_000), _ts(base + HOUR), _ts(base + 90 * 60_000)]
    assert [r["ms"] for r in rows] == [str(t) for t in stamps]
    assert [r["fm"] for r in rows] == ["1970-01-01 00:00:04.000", "1970-01-01 00:00:09.000", "1969-12-31 23:59:57.500"]
    assert [r["b"] for r in rows] == [_ts(base), _ts(base + 40 * 60_000), _ts(base + 60 * 60_000)]
    assert [r["mo"] for r in rows] == [m.strftime("%Y-%m-%d %H:%M:%S.000") for m in months]
    # stats by bin(...) with units, and by a datefloor expression
    rows = _rows(logs, group, "stats count(*) as n by bin(1hr) | sort n desc")
    assert rows == [{"bin(1hr)": _ts(base), "n": "2"}, {"bin(1hr)": _ts(base + HOUR), "n": "1"}]
    rows = _rows(logs, group, "stats count(*) as n by datefloor(@timestamp, 2h) as t | sort t")
    floors = Counter(_ts(t - t % (2 * HOUR)) for t in stamps)
    assert rows == [{"t": t, "n": str(n)} for t, n in sorted(floors.items())]
    # now(): "the time when query processing started, in epoch seconds"
    [row] = _rows(logs, group, "fields now() as t | limit 1")
    assert abs(float(row["t"]) - time.time()) < 3600


def test_stats_aggregation_functions(logs: Any, group: dict[str, Any]) -> None:
    rows = _rows(logs, group, "stats count(*) as c, count(text) as ct, count_distinct(user) as users, sum(n) as total, avg(n) as mean, pct(n, 50) as median, "
                 "pct(n, 100) as top, stddev(n) as sd, earliest(model) as first, latest(model) as last")
    # stddev: the sample standard deviation of 4, 9, -2.5
    assert rows == [{"c": "3", "ct": "2", "users": "2", "total": "10.5", "mean": "3.5", "median": "4", "top": "9", "sd": "5.766281297335398", "first": "llama", "last": "titan"}]
    rows = _rows(logs, group, "stats count(*) as c, avg(n) as mean by user | sort user")
    assert rows == [{"user": "ann", "c": "2", "mean": "0.75"}, {"user": "bob", "c": "1", "mean": "9"}]
    _refused(logs, group, "fields sum(n)")  # an aggregation function outside stats
    _refused(logs, group, "stats pct(n, lots)")


def test_commands_regex_parse_dedup_display(logs: Any, group: dict[str, Any]) -> None:
    # a | inside a regular expression is no pipe between commands
    assert _rows(logs, group, "filter @message like /llama|titan/ | stats count(*) as n") == [{"n": "2"}]
    assert _rows(logs, group, "filter model =~ /^(cl|ti)/ and not model like 'tit' | display model") == [{"model": "claude"}]
    rows = _rows(logs, group, 'parse @message /"model": "(?<m>[a-z]+)"/ | parse @message \'"user": "*"\' as who | display m, who | sort m')
    assert rows == [{"m": "claude", "who": "bob"}, {"m": "llama", "who": "ann"}, {"m": "titan", "who": "ann"}]
    assert _rows(logs, group, "fields user | sort n asc | dedup user | display user, model") == [{"user": "ann", "model": "titan"}, {"user": "bob", "model": "claude"}]


def test_unsupported_commands_and_functions_are_refused(logs: Any, group: dict[str, Any]) -> None:
    for command in ("pattern", "diff", "unnest", "lookup", "anomaly"):
        assert command in _refused(logs, group, f"fields @message | {command} @message")
    assert "source" in _refused(logs, group, "SOURCE logGroups(namePrefix: ['/x']) | fields @message")
    assert "frobnicate" in _refused(logs, group, "fields frobnicate(@message)")
    _refused(logs, group, "fields ceil(5m)")  # a period is an argument of bin, datefloor and dateceil alone
    _refused(logs, group, "fields datefloor(@timestamp)")
    _refused(logs, group, "fields substr(model)")


def test_evaluator_directly() -> None:
    """The evaluator without a server: calendar periods and pipes in strings."""
    base = int(dt.datetime(2024, 5, 17, 13, 45, tzinfo=dt.UTC).timestamp() * 1000)
    record = insights.make_record(1, base, base, '{"a": "x|y"}', "s", "/g", "000000000000")
    rows, matched = insights.run(insights.compile_query(
        "fields datefloor(@timestamp, 1q) as q, dateceil(@timestamp, 1y) as y, datefloor(@timestamp, 1w) as w, bin(2mo) as b | filter a = 'x|y'"), [record], 100)
    assert matched == 1
    got = {c["field"]: c["value"] for c in rows[0]}
    assert (got["q"], got["y"], got["b"]) == ("2024-04-01 00:00:00.000", "2025-01-01 00:00:00.000", "2024-05-01 00:00:00.000")
    assert got["w"] == "2024-05-16 00:00:00.000"  # weeks count from the epoch (a Thursday)
