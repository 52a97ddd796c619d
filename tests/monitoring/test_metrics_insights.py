"""CloudWatch Metrics Insights queries (SELECT ... FROM ... WHERE ... GROUP BY ... ORDER BY ... LIMIT)
in GetMetricData, metric math, GetMetricWidgetImage and metric alarms, through the wire with boto3;
the parser and the two-week window on their own."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from emulator.errors import AwsError
from emulator.monitoring import metrics_insights as mi
from emulator.monitoring import query as mquery
from emulator.monitoring.metrics import Datum, MetricStore
from emulator.testing.server import EmulatorServer

from .conftest import control

UTC = dt.UTC


def _base() -> dt.datetime:
    return dt.datetime.now(UTC).replace(second=0, microsecond=0) - dt.timedelta(minutes=10)


def _series(ns: str, cw: Any) -> dt.datetime:
    """Latency of four series and a dimensionless one over three minutes from the returned start:

    Api=chat,Az=a: m0 10 and 20, m1 30 | Api=chat,Az=b: m0 40, m1 50 | Api=search,Az=a: m0 1, m1 2, m2 3
    Api=search: m0 100 | (no dimensions): m0 7 | Errors (another metric) Api=chat,Az=a: m0 1000"""
    base = _base()

    def at(minute: int) -> dt.datetime:
        return base + dt.timedelta(minutes=minute, seconds=10)

    def dims(api: str | None, az: str | None = None) -> list[dict[str, str]]:
        return [{"Name": k, "Value": v} for k, v in (("Api", api), ("Az", az)) if v is not None]

    rows = [
        ("chat", "a", 0, 10.0), ("chat", "a", 0, 20.0), ("chat", "a", 1, 30.0),
        ("chat", "b", 0, 40.0), ("chat", "b", 1, 50.0),
        ("search", "a", 0, 1.0), ("search", "a", 1, 2.0), ("search", "a", 2, 3.0),
        ("search", None, 0, 100.0), (None, None, 0, 7.0),
    ]
    data = [{"MetricName": "Latency", "Dimensions": dims(api, az), "Value": v, "Timestamp": at(m)} for api, az, m, v in rows]
    data.append({"MetricName": "Errors", "Dimensions": dims("chat", "a"), "Value": 1000.0, "Timestamp": at(0)})
    cw.put_metric_data(Namespace=ns, MetricData=data)
    return base


def _query(cw: Any, base: dt.datetime, *queries: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    out = cw.get_metric_data(
        MetricDataQueries=[{"Period": 60, **q} for q in queries], StartTime=base, EndTime=base + dt.timedelta(minutes=5), ScanBy="TimestampAscending"
    )
    results: dict[str, list[dict[str, Any]]] = {}
    for r in out["MetricDataResults"]:
        results.setdefault(r["Id"], []).append(r)
    return results


def _minutes(base: dt.datetime, result: dict[str, Any]) -> dict[int, float]:
    return {int((t - base).total_seconds() // 60): v for t, v in zip(result["Timestamps"], result["Values"], strict=True)}


@pytest.fixture
def data(cw: Any) -> tuple[str, dt.datetime]:
    ns = f"MI/{uuid.uuid4().hex[:8]}"
    return ns, _series(ns, cw)


def test_each_function_per_period_across_every_matching_series(cw: Any, data: tuple[str, dt.datetime]) -> None:
    ns, base = data
    expected = {
        "AVG": {0: 178 / 6, 1: 82 / 3, 2: 3.0},  # the average of the observations, not of the series' averages
        "SUM": {0: 178.0, 1: 82.0, 2: 3.0},
        "COUNT": {0: 6.0, 1: 3.0, 2: 1.0},
        "MIN": {0: 1.0, 1: 2.0, 2: 3.0},
        "MAX": {0: 100.0, 1: 50.0, 2: 3.0},
    }
    for function, values in expected.items():
        results = _query(cw, base, {"Id": "q", "Expression": f'SELECT {function}(Latency) FROM "{ns}"'})
        [result] = results["q"]
        assert result["Label"] == "q" and result["StatusCode"] == "Complete"
        assert _minutes(base, result) == pytest.approx(values), function
    # keywords and functions in any case; a Label names the single series
    [result] = _query(cw, base, {"Id": "q", "Expression": f'select sum(Latency) from "{ns}" where Api = \'chat\'', "Label": "chat total"})["q"]
    assert result["Label"] == "chat total" and _minutes(base, result) == {0: 70.0, 1: 80.0}


def test_group_by_labels_and_other(cw: Any, data: tuple[str, dt.datetime]) -> None:
    ns, base = data
    results = _query(cw, base, {"Id": "q", "Expression": f'SELECT AVG(Latency) FROM "{ns}" GROUP BY Api'})["q"]
    # ascending order of the group values; a metric without the key is in the group "Other"
    assert [r["Label"] for r in results] == ["Other", "chat", "search"]
    assert _minutes(base, results[0]) == {0: 7.0}
    assert _minutes(base, results[1]) == pytest.approx({0: 70 / 3, 1: 40.0})
    assert _minutes(base, results[2]) == pytest.approx({0: 50.5, 1: 2.0, 2: 3.0})
    two = _query(cw, base, {"Id": "q", "Expression": f'SELECT MAX(Latency) FROM SCHEMA("{ns}", Api, Az) GROUP BY Api, Az'})["q"]
    assert [(r["Label"], _minutes(base, r)) for r in two] == [("chat a", {0: 20.0, 1: 30.0}), ("chat b", {0: 40.0, 1: 50.0}), ("search a", {0: 1.0, 1: 2.0, 2: 3.0})]


def test_schema_matches_the_exact_dimension_set(cw: Any, data: tuple[str, dt.datetime]) -> None:
    ns, base = data
    [only_api] = _query(cw, base, {"Id": "q", "Expression": f'SELECT MAX(Latency) FROM SCHEMA("{ns}", Api)'})["q"]
    assert _minutes(base, only_api) == {0: 100.0}
    [none] = _query(cw, base, {"Id": "q", "Expression": f'SELECT MAX(Latency) FROM SCHEMA("{ns}")'})["q"]
    assert _minutes(base, none) == {0: 7.0}
    [both] = _query(cw, base, {"Id": "q", "Expression": f'SELECT COUNT(Latency) FROM SCHEMA("{ns}", Az, Api)'})["q"]  # order does not matter
    assert _minutes(base, both) == {0: 4.0, 1: 3.0, 2: 1.0}
    [nothing] = _query(cw, base, {"Id": "q", "Expression": f'SELECT MAX(Latency) FROM SCHEMA("{ns}", Host)'})["q"]
    assert nothing["Values"] == []


def test_where_equal_not_equal_and(cw: Any, data: tuple[str, dt.datetime]) -> None:
    ns, base = data
    [chat_a] = _query(cw, base, {"Id": "q", "Expression": f"SELECT SUM(Latency) FROM \"{ns}\" WHERE Api = 'chat' AND Az != 'b'"})["q"]
    assert _minutes(base, chat_a) == {0: 30.0, 1: 30.0}
    [not_chat] = _query(cw, base, {"Id": "q", "Expression": f"SELECT SUM(Latency) FROM \"{ns}\" WHERE Api != 'chat'"})["q"]
    assert _minutes(base, not_chat) == {0: 108.0, 1: 2.0, 2: 3.0}  # search a, search, and the metric without Api
    [none] = _query(cw, base, {"Id": "q", "Expression": f"SELECT SUM(Latency) FROM \"{ns}\" WHERE Api = 'CHAT'"})["q"]  # values are case-sensitive
    assert none["Values"] == []


def test_order_by_and_limit(cw: Any, data: tuple[str, dt.datetime]) -> None:
    ns, base = data
    source = f'SELECT SUM(Latency) FROM SCHEMA("{ns}", Api, Az) GROUP BY Api, Az'
    top = _query(cw, base, {"Id": "q", "Expression": f"{source} ORDER BY SUM() DESC LIMIT 2"})["q"]
    assert [r["Label"] for r in top] == ["chat b", "chat a"]  # sums 90, 60 (search a: 6)
    by_max = _query(cw, base, {"Id": "q", "Expression": f"{source} ORDER BY MAX() ASC"})["q"]
    assert [r["Label"] for r in by_max] == ["search a", "chat a", "chat b"]  # maxima 3, 30, 50
    by_count = _query(cw, base, {"Id": "q", "Expression": f"{source} ORDER BY COUNT() DESC LIMIT 1"})["q"]
    assert [r["Label"] for r in by_count] == ["search a"]  # three datapoints
    first = _query(cw, base, {"Id": "q", "Expression": f"{source} LIMIT 1"})["q"]
    assert [r["Label"] for r in first] == ["chat a"]


def test_metric_math_on_a_query_id(cw: Any, data: tuple[str, dt.datetime]) -> None:
    ns, base = data
    query = {"Id": "q", "Expression": f'SELECT SUM(Latency) FROM SCHEMA("{ns}", Api, Az) GROUP BY Api, Az', "ReturnData": False}
    single = {"Id": "c", "Expression": f"SELECT COUNT(Latency) FROM \"{ns}\" WHERE Api = 'chat'", "ReturnData": False}
    results = _query(cw, base, query, {"Id": "total", "Expression": "SUM(q)"}, {"Id": "twice", "Expression": "q * 2"})
    assert _minutes(base, results["total"][0]) == {0: 71.0, 1: 82.0, 2: 3.0}  # the array of the GROUP BY
    assert [(r["Label"], _minutes(base, r)) for r in results["twice"]] == [("chat a", {0: 60.0, 1: 60.0}), ("chat b", {0: 80.0, 1: 100.0}), ("search a", {0: 2.0, 1: 4.0, 2: 6.0})]
    ratio = _query(cw, base, single, {"Id": "m", "MetricStat": {"Metric": {"Namespace": ns, "MetricName": "Errors", "Dimensions": [{"Name": "Api", "Value": "chat"}, {"Name": "Az", "Value": "a"}]}, "Period": 60, "Stat": "Sum"}, "ReturnData": False}, {"Id": "r", "Expression": "m / c"})
    assert _minutes(base, ratio["r"][0]) == {0: 1000.0 / 3}  # the single series of a query without GROUP BY


def test_widget_image_draws_a_query(cw: Any, data: tuple[str, dt.datetime]) -> None:
    ns, _ = data
    widget = {"metrics": [[{"expression": f'SELECT MAX(Latency) FROM "{ns}" GROUP BY Api', "id": "q", "period": 60}]], "start": "-PT1H"}
    out = cw.get_metric_widget_image(MetricWidget=json.dumps(widget))
    assert out["MetricWidgetImage"][:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ClientError) as err:
        cw.get_metric_widget_image(MetricWidget=json.dumps({"metrics": [[{"expression": f'SELECT P99(Latency) FROM "{ns}"', "id": "q"}]]}))
    assert err.value.response["Error"]["Code"] == "InvalidParameterValue" and "P99" in err.value.response["Error"]["Message"]


@pytest.mark.parametrize(
    ("expression", "words"),
    [
        ("SELECT AVG(Latency) FROM AWS/EC2", "double quotes"),
        ("SELECT P90(Latency) FROM N", "Unsupported function 'P90'"),
        ("SELECT AVG(Latency) FROM N WHERE Api = chat", "single quotes"),
        ("SELECT AVG(Latency) FROM N WHERE Api = 'a' OR Api = 'b'", "OR operator is not supported"),
        ("SELECT AVG(Latency) FROM N WHERE Api LIKE 'a%'", "LIKE operator is not supported"),
        ("SELECT AVG(Latency) FROM N WHERE Api > 'a'", "Unsupported operator '>'"),
        ("SELECT AVG(Latency) FROM N GROUP BY Api ORDER BY AVG(Latency)", "takes no argument"),
        ("SELECT AVG(Latency) FROM N LIMIT 501", "LIMIT must be a whole number from 1 to 500"),
        ("SELECT AVG(Latency) FROM N LIMIT 0", "LIMIT must be"),
        ("SELECT AVG(Latency) FROM SCHEMA()", "SCHEMA needs at least one argument"),
        ("SELECT AVG(Latency)", "Unexpected end of query, expected FROM"),
        ("SELECT AVG(Latency) FROM N GROUP Api", "Expected BY"),
        ("SELECT AVG(Latency) FROM N WHERE tag.env = 'prod'", "resource tags"),
        ("2 * SELECT AVG(Latency) FROM N", "can't be mixed with metric math"),
    ],
)
def test_errors_name_the_problem(cw: Any, expression: str, words: str) -> None:
    now = dt.datetime.now(UTC)
    with pytest.raises(ClientError) as err:
        cw.get_metric_data(MetricDataQueries=[{"Id": "q", "Expression": expression, "Period": 60}], StartTime=now - dt.timedelta(hours=1), EndTime=now)
    assert err.value.response["Error"]["Code"] == "ValidationError"
    message = err.value.response["Error"]["Message"]
    assert message.startswith(f"Error in expression '{expression}'") and words in message, message


def test_one_query_per_request(cw: Any) -> None:
    now = dt.datetime.now(UTC)
    queries = [{"Id": i, "Expression": "SELECT AVG(Latency) FROM N", "Period": 60} for i in ("a", "b")]
    with pytest.raises(ClientError) as err:
        cw.get_metric_data(MetricDataQueries=queries, StartTime=now - dt.timedelta(hours=1), EndTime=now)
    assert err.value.response["Error"]["Code"] == "ValidationError" and "Only one Metrics Insights query" in err.value.response["Error"]["Message"]


def _alarm(cw: Any, name: str, expression: str, threshold: float, **extra: Any) -> None:
    cw.put_metric_alarm(
        AlarmName=name, EvaluationPeriods=3, DatapointsToAlarm=1, Threshold=threshold, ComparisonOperator="GreaterThanThreshold",
        Metrics=[{"Id": "q", "Expression": expression, "Period": 60, "ReturnData": True}], **extra,
    )


def test_alarm_on_a_query(mon: EmulatorServer, cw: Any, data: tuple[str, dt.datetime]) -> None:
    ns, base = data
    tag = uuid.uuid4().hex[:6]
    grouped = f'SELECT MAX(Latency) FROM SCHEMA("{ns}", Api, Az) GROUP BY Api, Az'
    _alarm(cw, f"mi-any-{tag}", grouped, 45.0)  # chat b reaches 50 at minute 1: one contributor breaching is enough
    _alarm(cw, f"mi-none-{tag}", grouped, 60.0)
    _alarm(cw, f"mi-single-{tag}", f"SELECT AVG(Latency) FROM \"{ns}\" WHERE Api = 'search'", 50.0)  # 50.5 at minute 0
    _alarm(cw, f"mi-empty-{tag}", f'SELECT AVG(Latency) FROM "{ns}" WHERE Api = \'nope\'', 0.0)
    control(mon, "alarms", (base + dt.timedelta(minutes=3, seconds=1)).timestamp())  # evaluates minutes 0, 1 and 2
    states = {a["AlarmName"]: a for a in cw.describe_alarms(AlarmNamePrefix="mi-")["MetricAlarms"] if a["AlarmName"].endswith(tag)}
    assert {n: a["StateValue"] for n, a in states.items()} == {
        f"mi-any-{tag}": "ALARM", f"mi-none-{tag}": "OK", f"mi-single-{tag}": "ALARM", f"mi-empty-{tag}": "INSUFFICIENT_DATA",
    }
    assert json.loads(states[f"mi-any-{tag}"]["StateReasonData"])["recentDatapoints"] == [40.0, 50.0]
    assert states[f"mi-single-{tag}"]["Metrics"][0]["Expression"].startswith("SELECT AVG(Latency)")


def test_alarm_refusals(cw: Any) -> None:
    with pytest.raises(ClientError) as err:  # three hours at most
        cw.put_metric_alarm(
            AlarmName=f"mi-long-{uuid.uuid4().hex[:6]}", EvaluationPeriods=4, Threshold=1.0, ComparisonOperator="GreaterThanThreshold",
            Metrics=[{"Id": "q", "Expression": "SELECT AVG(Latency) FROM N", "Period": 3600, "ReturnData": True}],
        )
    assert err.value.response["Error"]["Code"] == "ValidationError" and "three hours" in err.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as err:
        _alarm(cw, f"mi-bad-{uuid.uuid4().hex[:6]}", "SELECT AVG(Latency) FROM N WHERE", 1.0)
    assert err.value.response["Error"]["Code"] == "ValidationError" and "Unexpected end of query" in err.value.response["Error"]["Message"]


# ---------------------------------------------------------------- the parser and the engine on their own


def test_parser() -> None:
    q = mi.parse('select max("My.Metric") from SCHEMA("AWS/EC2", InstanceId) where InstanceType != \'c5\\\'x\' and Az = \'a\' group by InstanceId, Az order by max() desc limit 5')
    assert q == mi.Query("MAX", "My.Metric", "AWS/EC2", ("InstanceId",), (("InstanceType", "!=", "c5'x"), ("Az", "=", "a")), ("InstanceId", "Az"), ("MAX", True), 5)
    assert mi.parse('SELECT SUM("Select") FROM N ORDER BY SUM()').order == ("SUM", False)  # a keyword in double quotes is a name; ASC by default
    assert mi.is_query("  SELECT AVG(x) FROM N") and not mi.is_query("select * 2") and not mi.is_query("SUM(METRICS())")
    with pytest.raises(mi.QueryError, match="reserved keyword"):
        mi.parse("SELECT AVG(FROM) FROM N")
    with pytest.raises(AwsError) as err:
        mi.check_expression("SELECT AVG(x) FROM N extra")
    assert err.value.code == "ValidationError" and "Unexpected token 'extra'" in err.value.message


def test_two_week_window_and_limits(tmp_path: Path) -> None:
    store = MetricStore(tmp_path / "m.db")
    day = 86400
    now = 1_800_000_000.0
    old, recent = now - 20 * day, now - day
    store.put([Datum.single("N", "L", (("Host", f"h{i:03}"),), float(i), ts) for i in range(3) for ts in (old, recent)])
    queries = mquery.prepare([{"Id": "q", "Expression": "SELECT SUM(L) FROM N", "Period": 86400}])
    everything = mquery.evaluate(store, queries, now - 30 * day, now)[0][1][0].series
    clipped = mquery.evaluate(store, queries, now - 30 * day, now, insights_since=now - mi.QUERY_RANGE)[0][1][0].series
    assert sorted(everything.values()) == [3.0, 3.0] and list(clipped.values()) == [3.0]
    # at most 500 series, ordered before they are cut
    store.put([Datum.single("N", "Many", (("Host", f"h{i:03}"),), float(i), recent) for i in range(510)])
    many = mquery.evaluate(store, mquery.prepare([{"Id": "q", "Expression": "SELECT MAX(Many) FROM N GROUP BY Host ORDER BY MAX() DESC", "Period": 86400}]), now - 2 * day, now)
    labels = [x.label for x in many[0][1]]
    assert len(labels) == 500 and labels[0] == "h509" and labels[-1] == "h010"
    store.close()
