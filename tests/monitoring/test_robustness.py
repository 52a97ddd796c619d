"""Bad input gets AWS's 4xx error, never a 500: malformed expressions, tokens, rules, queries and patterns."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from emulator.testing.server import EmulatorServer

NOW = dt.datetime.now(dt.UTC)
HOUR = dt.timedelta(hours=1)


def _gmd(expr: str, **kw: Any) -> dict[str, Any]:
    return {"MetricDataQueries": [{"Id": "e1", "Expression": expr, **kw}], "StartTime": NOW - HOUR, "EndTime": NOW}


CW_CASES: list[tuple[str, dict[str, Any], str]] = [
    ("get_metric_data", {"MetricDataQueries": [{"Id": "m1", "MetricStat": {"Period": 60, "Stat": "Sum"}}], "StartTime": NOW - HOUR, "EndTime": NOW}, "MissingParameter"),
    ("get_metric_data", _gmd("SEARCH('x', 'Nope', 60)"), "ValidationError"),
    ("get_metric_data", _gmd("FILL(1, 2)"), "ValidationError"),
    ("get_metric_data", _gmd("(" * 900 + "1" + ")" * 900), "ValidationError"),
    ("get_metric_data", _gmd("1", Period=7), "ValidationError"),
    ("get_metric_data", {**_gmd("1"), "NextToken": "eyJvIjogIngifQ=="}, "InvalidNextToken"),  # {"o": "x"}
    ("put_metric_alarm", {"AlarmName": "x", "Metrics": [{"Id": "e1", "Expression": "1"}], "EvaluationPeriods": 1, "Threshold": 1, "ComparisonOperator": "GreaterThanThreshold"}, "ValidationError"),
    ("put_composite_alarm", {"AlarmName": "c", "AlarmRule": "(" * 2000}, "ValidationError"),
    ("put_composite_alarm", {"AlarmName": "c", "AlarmRule": "ALARM(x) AND"}, "ValidationError"),
    ("describe_alarms", {"NextToken": "!!!"}, "InvalidNextToken"),
    ("list_metrics", {"NextToken": "abc"}, "InvalidNextToken"),
    ("put_dashboard", {"DashboardName": "d", "DashboardBody": "[]"}, "InvalidParameterInput"),
    ("put_dashboard", {"DashboardName": "d", "DashboardBody": json.dumps({"widgets": [1, {"type": "log", "properties": []}]})}, "InvalidParameterInput"),
    ("tag_resource", {"ResourceARN": "nope", "Tags": []}, "InvalidParameterValue"),
]


@pytest.fixture(scope="module")
def loose(mon: EmulatorServer) -> tuple[Any, Any]:
    cfg = Config(parameter_validation=False, retries={"max_attempts": 1})
    return mon.client("cloudwatch", config=cfg), mon.client("logs", config=cfg)


@pytest.mark.parametrize(("op", "params", "code"), CW_CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CW_CASES)])
def test_cloudwatch_bad_input(loose: tuple[Any, Any], op: str, params: dict[str, Any], code: str) -> None:
    with pytest.raises(ClientError) as err:
        getattr(loose[0], op)(**params)
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] < 500
    assert err.value.response["Error"]["Code"] == code


def test_math_overflow_is_dropped_not_a_500(cw: Any) -> None:
    out = cw.get_metric_data(**_gmd("2^99999"))
    assert out["MetricDataResults"][0]["Values"] == []


@pytest.fixture
def robust_logs(loose: tuple[Any, Any]) -> Any:
    """The logs client, with the log group /robust (made by the first test that asks)."""
    logs = loose[1]
    try:
        logs.create_log_group(logGroupName="/robust")
    except ClientError:
        pass
    return logs


LOG_QUERIES = ["parse @message /(?<a>/ as x", "filter x like /[/", "stats count(*) by bin(5zz)", "fields", "sort", "nonsense"]


@pytest.mark.parametrize("query", LOG_QUERIES)
def test_logs_malformed_queries(robust_logs: Any, query: str) -> None:
    logs = robust_logs
    with pytest.raises(ClientError) as err:
        logs.start_query(logGroupName="/robust", startTime=0, endTime=2_000_000_000, queryString=query)
    assert err.value.response["Error"]["Code"] == "MalformedQueryException"


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"nextToken": "garbage"}, "InvalidParameterException"),
        ({"nextToken": "eyJ0cyI6ICJ4In0="}, "InvalidParameterException"),  # {"ts": "x"}
        ({"filterPattern": "[a="}, "InvalidParameterException"),
        ({"filterPattern": "%[%"}, "InvalidParameterException"),
        ({"filterPattern": "{ $.a = 1 && }"}, "InvalidParameterException"),
    ],
)
def test_logs_bad_filter_input(robust_logs: Any, params: dict[str, Any], code: str) -> None:
    logs = robust_logs
    with pytest.raises(ClientError) as err:
        logs.filter_log_events(logGroupName="/robust", **params)
    assert err.value.response["Error"]["Code"] == code
