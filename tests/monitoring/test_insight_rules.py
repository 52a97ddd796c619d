"""Contributor Insights rules over CloudWatch Logs: PutInsightRule & co., GetInsightRuleReport
over events sent with PutLogEvents (JSON and CLF rule bodies), tags, errors, restart."""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from emulator.testing.server import EmulatorServer


def _group(logs: Any, prefix: str = "/ci/") -> str:
    name = f"{prefix}{uuid.uuid4().hex[:8]}"
    logs.create_log_group(logGroupName=name)
    logs.create_log_stream(logGroupName=name, logStreamName="s")
    return name


def _put(logs: Any, group: str, messages: list[str], ts: int | None = None) -> None:
    ts = ts if ts is not None else int(time.time() * 1000)
    logs.put_log_events(logGroupName=group, logStreamName="s", logEvents=[{"timestamp": ts, "message": m} for m in messages])


def _json_rule(groups: list[str], keys: list[str], aggregate: str = "Count", value_of: str | None = None, filters: list[dict[str, Any]] | None = None) -> str:
    contribution: dict[str, Any] = {"Keys": keys, "Filters": filters or []}
    if value_of:
        contribution["ValueOf"] = value_of
    return json.dumps({
        "Schema": {"Name": "CloudWatchLogRule", "Version": 1}, "LogGroupNames": groups, "LogFormat": "JSON",
        "Contribution": contribution, "AggregateOn": aggregate,
    })


def _report(cw: Any, name: str, **kw: Any) -> dict[str, Any]:
    now = dt.datetime.now(dt.UTC)
    return dict(cw.get_insight_rule_report(
        RuleName=name, StartTime=now - dt.timedelta(minutes=10), EndTime=now + dt.timedelta(minutes=2), Period=kw.pop("Period", 60), **kw
    ))


def test_json_rule_counts_and_orders_contributors(cw: Any, logs: Any) -> None:
    group = _group(logs)
    name = f"ips-{uuid.uuid4().hex[:6]}"
    cw.put_insight_rule(RuleName=name, RuleDefinition=_json_rule([group], ["$.ip"], filters=[{"Match": "$.status", "GreaterThan": 399}]))
    msgs = (
        [json.dumps({"ip": "10.0.0.1", "status": 500})] * 5
        + [json.dumps({"ip": "10.0.0.2", "status": 404})] * 3
        + [json.dumps({"ip": "10.0.0.3", "status": 200})] * 9  # filtered out
        + [json.dumps({"status": 500}), "not json"]  # no key / not JSON: not counted
    )
    _put(logs, group, msgs)
    report = _report(cw, name, Metrics=["UniqueContributors", "SampleCount", "Sum", "MaxContributorValue"])
    assert report["KeyLabels"] == ["$.ip"]
    assert report["AggregationStatistic"] == "Count"
    assert report["AggregateValue"] == 8.0
    assert report["ApproximateUniqueCount"] == 2
    assert [(c["Keys"], c["ApproximateAggregateValue"]) for c in report["Contributors"]] == [(["10.0.0.1"], 5.0), (["10.0.0.2"], 3.0)]
    assert [d["ApproximateValue"] for d in report["Contributors"][0]["Datapoints"]] == [5.0]
    [point] = report["MetricDatapoints"]
    assert (point["UniqueContributors"], point["SampleCount"], point["Sum"], point["MaxContributorValue"]) == (2.0, 8.0, 8.0, 5.0)
    assert "Average" not in point  # only the statistics asked for
    # MaxContributorCount keeps the top ones
    assert [c["Keys"] for c in _report(cw, name, MaxContributorCount=1)["Contributors"]] == [["10.0.0.1"]]


def test_sum_rule_wildcard_groups_and_statistics(cw: Any, logs: Any) -> None:
    prefix = f"/ci-sum-{uuid.uuid4().hex[:6]}/"
    g1, g2 = _group(logs, prefix), _group(logs, prefix)
    other = _group(logs)
    name = f"bytes-{uuid.uuid4().hex[:6]}"
    rule = _json_rule([prefix + "*"], ["$.user", "$.req.method"], aggregate="Sum", value_of="$.bytes", filters=[{"Match": "$.req.method", "In": ["GET", "PUT"]}])
    cw.put_insight_rule(RuleName=name, RuleDefinition=rule)
    ev = lambda user, method, size: json.dumps({"user": user, "req": {"method": method}, "bytes": size})
    _put(logs, g1, [ev("a", "GET", 100), ev("a", "GET", 50), ev("b", "PUT", 400)])
    _put(logs, g2, [ev("a", "GET", 10), ev("c", "DELETE", 9999)])
    _put(logs, other, [ev("z", "GET", 100000)])  # not a group of the rule
    report = _report(cw, name, Metrics=["Sum", "Minimum", "Maximum", "Average", "SampleCount"])
    assert report["AggregationStatistic"] == "Sum"
    assert report["KeyLabels"] == ["$.user", "$.req.method"]
    assert [(c["Keys"], c["ApproximateAggregateValue"]) for c in report["Contributors"]] == [(["b", "PUT"], 400.0), (["a", "GET"], 160.0)]
    [point] = report["MetricDatapoints"]
    assert (point["Sum"], point["Minimum"], point["Maximum"], point["SampleCount"], point["Average"]) == (560.0, 10.0, 400.0, 4.0, 140.0)


def test_clf_rule_and_periods(mon: EmulatorServer, cw: Any, logs: Any) -> None:
    group = _group(logs)
    name = f"clf-{uuid.uuid4().hex[:6]}"
    rule = json.dumps({
        "Schema": {"Name": "CloudWatchLogRule", "Version": 1}, "LogGroupNames": [group], "LogFormat": "CLF",
        "Fields": {"1": "ip", "5": "request", "6": "status", "7": "size"},
        "Contribution": {"Keys": ["ip"], "ValueOf": "size", "Filters": [{"Match": "request", "StartsWith": ["GET /api"]}, {"Match": "status", "EqualTo": 200}]},
        "AggregateOn": "Sum",
    })
    cw.put_insight_rule(RuleName=name, RuleDefinition=rule, Tags=[{"Key": "team", "Value": "web"}])
    line = lambda ip, req, status, size: f'{ip} - - [05/Dec/2026:10:00:00 +0000] "{req}" {status} {size}'
    now_ms = int(time.time() * 1000)
    _put(logs, group, [line("1.1.1.1", "GET /api/a HTTP/1.1", 200, 30), line("2.2.2.2", "GET /api/b HTTP/1.1", 200, 70)], ts=now_ms - 180_000)
    _put(logs, group, [line("1.1.1.1", "GET /api/c HTTP/1.1", 200, 90), line("2.2.2.2", "POST /api HTTP/1.1", 200, 999),
                       line("3.3.3.3", "GET /api/d HTTP/1.1", 500, 999)], ts=now_ms)
    report = _report(cw, name)
    assert report["KeyLabels"] == ["ip"]
    assert [(c["Keys"], c["ApproximateAggregateValue"]) for c in report["Contributors"]] == [(["1.1.1.1"], 120.0), (["2.2.2.2"], 70.0)]
    assert len(report["Contributors"][0]["Datapoints"]) == 2  # two minutes with data
    # OrderBy Maximum ranks by the best period: 1.1.1.1's best minute is 90, 2.2.2.2's 70
    by_max = _report(cw, name, OrderBy="Maximum")
    assert [(c["Keys"], c["ApproximateAggregateValue"]) for c in by_max["Contributors"]] == [(["1.1.1.1"], 90.0), (["2.2.2.2"], 70.0)]
    # tags of the rule, by its ARN
    arn = f"arn:aws:cloudwatch:us-east-1:{mon.client('sts').get_caller_identity()['Account']}:insight-rule/{name}"
    assert cw.list_tags_for_resource(ResourceARN=arn)["Tags"] == [{"Key": "team", "Value": "web"}]
    cw.tag_resource(ResourceARN=arn, Tags=[{"Key": "env", "Value": "dev"}])
    cw.untag_resource(ResourceARN=arn, TagKeys=["team"])
    assert cw.list_tags_for_resource(ResourceARN=arn)["Tags"] == [{"Key": "env", "Value": "dev"}]


def test_state_describe_disable_delete(cw: Any, logs: Any) -> None:
    group = _group(logs)
    names = [f"st-{uuid.uuid4().hex[:6]}-{i}" for i in range(3)]
    for n in names:
        cw.put_insight_rule(RuleName=n, RuleDefinition=_json_rule([group], ["$.k"]), RuleState="ENABLED")
    listed = {r["Name"]: r for r in cw.describe_insight_rules()["InsightRules"]}
    assert listed[names[0]]["State"] == "ENABLED" and listed[names[0]]["Schema"] == "CloudWatchLogRule/1"
    assert listed[names[0]]["ManagedRule"] is False and json.loads(listed[names[0]]["Definition"])["Contribution"]["Keys"] == ["$.k"]
    # paging
    seen, token = [], None
    while True:
        page = cw.describe_insight_rules(MaxResults=1, **({"NextToken": token} if token else {}))
        seen += [r["Name"] for r in page["InsightRules"]]
        token = page.get("NextToken")
        if not token:
            break
    assert set(names) <= set(seen) and len(seen) == len(set(seen))
    # a disabled rule does not count what is ingested meanwhile
    assert cw.disable_insight_rules(RuleNames=[names[0], "nope"])["Failures"] == [
        {"FailureResource": "nope", "ExceptionType": "ResourceNotFoundException", "FailureCode": "ResourceNotFound", "FailureDescription": "Rule nope does not exist."}
    ]
    _put(logs, group, [json.dumps({"k": "x"})])
    assert _report(cw, names[0])["Contributors"] == []
    assert _report(cw, names[1])["AggregateValue"] == 1.0
    cw.enable_insight_rules(RuleNames=[names[0]])
    _put(logs, group, [json.dumps({"k": "x"})])
    assert _report(cw, names[0])["AggregateValue"] == 1.0
    assert cw.delete_insight_rules(RuleNames=names)["Failures"] == []
    left = {r["Name"] for r in cw.describe_insight_rules()["InsightRules"]}
    assert not left & set(names)
    with pytest.raises(ClientError) as err:
        _report(cw, names[0])
    assert err.value.response["Error"]["Code"] == "ResourceNotFoundException"


@pytest.mark.parametrize(
    "definition",
    [
        "not json",
        json.dumps({"Schema": {"Name": "CloudWatchLogRule", "Version": 2}, "LogGroupNames": ["g"], "LogFormat": "JSON", "Contribution": {"Keys": ["$.a"]}, "AggregateOn": "Count"}),
        _json_rule([], ["$.a"]),
        _json_rule(["g"], []),
        _json_rule(["g"], ["$.a", "$.b", "$.c", "$.d", "$.e"]),
        _json_rule(["g"], ["a"]),  # not a JSON path
        _json_rule(["g"], ["$.a"], aggregate="Sum"),  # Sum without ValueOf
        _json_rule(["g"], ["$.a"], aggregate="Max"),
        _json_rule(["g"], ["$.a"], filters=[{"Match": "$.a", "Contains": ["x"]}]),
        _json_rule(["g"], ["$.a"], filters=[{"Match": "$.a", "GreaterThan": "x"}]),
        json.dumps({"Schema": {"Name": "CloudWatchLogRule", "Version": 1}, "LogGroupNames": ["g"], "LogFormat": "CLF", "Contribution": {"Keys": ["ip"]}, "AggregateOn": "Count"}),
    ],
)
def test_invalid_definitions(cw: Any, definition: str) -> None:
    with pytest.raises(ClientError) as err:
        cw.put_insight_rule(RuleName="bad", RuleDefinition=definition)
    assert err.value.response["Error"]["Code"] == "InvalidParameterValue"
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_report_errors(cw: Any, logs: Any) -> None:
    name = f"errs-{uuid.uuid4().hex[:6]}"
    cw.put_insight_rule(RuleName=name, RuleDefinition=_json_rule(["g"], ["$.a"]))
    for kw in ({"Period": 30}, {"MaxContributorCount": 101}, {"Metrics": ["P99"]}, {"OrderBy": "Average"}):
        with pytest.raises(ClientError) as err:
            _report(cw, name, **kw)
        assert err.value.response["Error"]["Code"] == "InvalidParameterValue", kw
    now = dt.datetime.now(dt.UTC)
    with pytest.raises(ClientError) as err:
        cw.get_insight_rule_report(RuleName=name, StartTime=now, EndTime=now - dt.timedelta(minutes=1), Period=60)
    assert err.value.response["Error"]["Code"] == "InvalidParameterValue"
    with pytest.raises(ClientError) as err:
        cw.get_insight_rule_report(RuleName="missing-rule", StartTime=now - dt.timedelta(minutes=1), EndTime=now, Period=60)
    assert err.value.response["Error"]["Code"] == "ResourceNotFoundException"
    # managed rules: a resource without templates has none; an unknown template fails
    assert cw.list_managed_insight_rules(ResourceARN="arn:aws:dynamodb:us-east-1:000000000000:table/none")["ManagedRules"] == []
    failures = cw.put_managed_insight_rules(ManagedRules=[{"TemplateName": "Nope-v1", "ResourceARN": "arn:aws:dynamodb:us-east-1:000000000000:table/none"}])["Failures"]
    assert failures and failures[0]["ExceptionType"] == "InvalidParameterValueException"


def test_rules_are_regional(mon: EmulatorServer, logs: Any) -> None:
    east, west = mon.client("cloudwatch", region_name="us-east-1"), mon.client("cloudwatch", region_name="eu-west-1")
    name = f"reg-{uuid.uuid4().hex[:6]}"
    east.put_insight_rule(RuleName=name, RuleDefinition=_json_rule(["g"], ["$.a"]))
    assert name in {r["Name"] for r in east.describe_insight_rules()["InsightRules"]}
    assert name not in {r["Name"] for r in west.describe_insight_rules()["InsightRules"]}
    with pytest.raises(ClientError):
        _report(west, name)


def test_rules_and_data_survive_restart(tmp_path: Path) -> None:
    server = EmulatorServer(data_dir=tmp_path / "data")
    server.start()
    try:
        cw, logs = server.client("cloudwatch"), server.client("logs")
        group = _group(logs)
        cw.put_insight_rule(RuleName="kept", RuleDefinition=_json_rule([group], ["$.k"]))
        _put(logs, group, [json.dumps({"k": "a"})] * 2 + [json.dumps({"k": "b"})])
        server.kill()  # kill -9: what PutLogEvents acknowledged counted already
    finally:
        server.stop()
    server = EmulatorServer(data_dir=tmp_path / "data")
    server.start()
    try:
        cw, logs = server.client("cloudwatch"), server.client("logs")
        assert [r["Name"] for r in cw.describe_insight_rules()["InsightRules"]] == ["kept"]
        report = _report(cw, "kept")
        assert [(c["Keys"], c["ApproximateAggregateValue"]) for c in report["Contributors"]] == [(["a"], 2.0), (["b"], 1.0)]
        _put(logs, group, [json.dumps({"k": "b"})] * 2)  # the rule is live again after the restart
        assert [c["Keys"] for c in _report(cw, "kept")["Contributors"]] == [["b"], ["a"]]
    finally:
        server.cleanup()


@pytest.mark.parametrize("protocol", ["query", "smithy-rpc-v2-cbor"])
def test_other_protocols(mon: EmulatorServer, logs: Any, protocol: str) -> None:
    from .conftest import cw_client

    cw = cw_client(mon, protocol)
    group = _group(logs)
    name = f"proto-{uuid.uuid4().hex[:6]}"
    cw.put_insight_rule(RuleName=name, RuleDefinition=_json_rule([group], ["$.k"]))
    _put(logs, group, [json.dumps({"k": "a"})] * 3)
    report = _report(cw, name, Metrics=["SampleCount"])
    assert [(c["Keys"], c["ApproximateAggregateValue"]) for c in report["Contributors"]] == [(["a"], 3.0)]
    assert isinstance(report["Contributors"][0]["Datapoints"][0]["Timestamp"], dt.datetime)
    assert report["MetricDatapoints"][0]["SampleCount"] == 3.0
    assert name in {r["Name"] for r in cw.describe_insight_rules()["InsightRules"]}
    assert cw.delete_insight_rules(RuleNames=[name])["Failures"] == []
