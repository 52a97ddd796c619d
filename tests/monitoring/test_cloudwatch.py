"""CloudWatch through the wire with boto3: every operation, each of the three protocols."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError

from emulator.testing.server import EmulatorServer

from .conftest import control, cw_client

PROTOCOLS = ("json", "smithy-rpc-v2-cbor", "query")
UTC = dt.UTC


def _now() -> dt.datetime:
    return dt.datetime.now(UTC).replace(microsecond=0)


def _code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


@pytest.fixture(params=PROTOCOLS)
def client(request: pytest.FixtureRequest, mon: EmulatorServer) -> Any:
    return cw_client(mon, None if request.param == "json" else request.param)


def _approx(client: Any, value: float) -> Any:
    # emulator/protocols/xml.py (the protocols area) writes query-protocol doubles with 3 decimals
    if client.meta.service_model.resolved_protocol == "query":
        return pytest.approx(value, abs=1e-3)
    return pytest.approx(value)


def test_botocore_sends_json_with_query_mode(cw: Any) -> None:
    # botocore prefers json among the model's protocols; the others are forced in `client`
    assert cw.meta.service_model.resolved_protocol == "json"


def test_put_and_get_statistics(client: Any) -> None:
    ns = f"Test/{uuid.uuid4().hex[:8]}"
    now = _now()
    t = now - dt.timedelta(minutes=2)
    client.put_metric_data(
        Namespace=ns,
        MetricData=[
            {"MetricName": "Latency", "Dimensions": [{"Name": "Api", "Value": "get"}], "Value": 10.0, "Unit": "Milliseconds", "Timestamp": t},
            {"MetricName": "Latency", "Dimensions": [{"Name": "Api", "Value": "get"}], "Values": [20.0, 30.0], "Counts": [2.0, 1.0], "Unit": "Milliseconds", "Timestamp": t},
            {"MetricName": "Latency", "Dimensions": [{"Name": "Api", "Value": "get"}], "StatisticValues": {"SampleCount": 2, "Sum": 200, "Minimum": 50, "Maximum": 150}, "Unit": "Milliseconds", "Timestamp": t},
            {"MetricName": "Latency", "Dimensions": [{"Name": "Api", "Value": "get"}, {"Name": "Region", "Value": "x"}], "Value": 999.0, "Timestamp": t},
        ],
    )
    out = client.get_metric_statistics(
        Namespace=ns, MetricName="Latency", Dimensions=[{"Name": "Api", "Value": "get"}], StartTime=now - dt.timedelta(minutes=10), EndTime=now + dt.timedelta(minutes=1),
        Period=60, Statistics=["SampleCount", "Sum", "Average", "Minimum", "Maximum"],
    )
    assert out["Label"] == "Latency"
    [dp] = out["Datapoints"]  # the 999 datapoint has another dimension set
    assert (dp["SampleCount"], dp["Sum"], dp["Minimum"], dp["Maximum"]) == (6.0, 280.0, 10.0, 150.0)
    assert dp["Average"] == _approx(client, 280 / 6)
    assert dp["Unit"] == "Milliseconds"
    assert dp["Timestamp"] == t.replace(second=0)
    ext = client.get_metric_statistics(
        Namespace=ns, MetricName="Latency", Dimensions=[{"Name": "Api", "Value": "get"}], StartTime=now - dt.timedelta(minutes=10), EndTime=now + dt.timedelta(minutes=1),
        Period=300, ExtendedStatistics=["p50", "p99"],
    )["Datapoints"]
    assert ext[0]["ExtendedStatistics"] == {"p50": 20.0, "p99": 30.0}  # the statistic set has no individual values


def test_put_metric_data_validation(client: Any) -> None:
    now = _now()
    cases = [
        ({"Namespace": "AWS/EC2", "MetricData": [{"MetricName": "m", "Value": 1}]}, "InvalidParameterValue"),
        ({"Namespace": "N", "MetricData": [{"MetricName": "m", "Value": 1, "StatisticValues": {"SampleCount": 1, "Sum": 1, "Minimum": 1, "Maximum": 1}}]}, "InvalidParameterCombination"),
        ({"Namespace": "N", "MetricData": [{"MetricName": "m", "Values": [1.0, 2.0], "Counts": [1.0]}]}, "InvalidParameterValue"),
        ({"Namespace": "N", "MetricData": [{"MetricName": "m", "Value": 1, "Timestamp": now - dt.timedelta(days=15)}]}, "InvalidParameterValue"),
        ({"Namespace": "N", "MetricData": [{"MetricName": "m", "Value": 1, "Timestamp": now + dt.timedelta(hours=3)}]}, "InvalidParameterValue"),
        ({"Namespace": "N", "MetricData": [{"MetricName": "m", "Value": 1, "StorageResolution": 5}]}, "InvalidParameterValue"),
        ({"Namespace": "N", "MetricData": [{"MetricName": "m", "Value": 1e200}]}, "InvalidParameterValue"),
        ({"Namespace": "N", "MetricData": [{"MetricName": "m"}]}, "InvalidParameterCombination"),
        ({"Namespace": "N", "MetricData": [{"MetricName": "m", "Value": 1, "Dimensions": [{"Name": "a", "Value": "1"}, {"Name": "a", "Value": "2"}]}]}, "InvalidParameterValue"),
        ({"Namespace": "N", "MetricData": [{"MetricName": "m", "StatisticValues": {"SampleCount": 1, "Sum": 1, "Minimum": 5, "Maximum": 1}}]}, "InvalidParameterValue"),
    ]
    for params, code in cases:
        with pytest.raises(ClientError) as err:
            client.put_metric_data(**params)
        assert _code(err) == code, params
        assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    # Non-finite doubles: the SDKs send them ("NaN" in JSON, CBOR's own, "NaN" in a query form);
    # CloudWatch refuses them as values, never as a body it cannot read.
    for value, text in ((float("nan"), "NaN"), (float("inf"), "Infinity"), (float("-inf"), "-Infinity")):
        with pytest.raises(ClientError) as err:
            client.put_metric_data(Namespace="N", MetricData=[{"MetricName": "m", "Values": [1.0, value]}])
        assert _code(err) == "InvalidParameterValue"
        assert err.value.response["Error"]["Message"] == f"The value {text} for parameter MetricData.member.1.Values.member.2 is invalid."


def test_get_metric_statistics_validation(cw: Any) -> None:
    now = _now()
    base = {"Namespace": "N", "MetricName": "m", "StartTime": now - dt.timedelta(hours=1), "EndTime": now}
    for extra, code in (
        ({"Period": 90, "Statistics": ["Sum"]}, "InvalidParameterValue"),
        ({"Period": 60, "Statistics": ["Sum"], "ExtendedStatistics": ["p50"]}, "InvalidParameterCombination"),
        ({"Period": 60, "ExtendedStatistics": ["q50"]}, "InvalidParameterValue"),
        ({"Period": 1, "Statistics": ["Sum"], "StartTime": now - dt.timedelta(hours=2)}, "InvalidParameterCombination"),
    ):
        with pytest.raises(ClientError) as err:
            cw.get_metric_statistics(**{**base, **extra})
        assert _code(err) == code, extra


def test_get_metric_data_math_paging_and_labels(client: Any) -> None:
    ns = f"Test/{uuid.uuid4().hex[:8]}"
    now = _now().replace(second=0)
    start = now - dt.timedelta(minutes=10)
    data = []
    for i in range(5):
        ts = start + dt.timedelta(minutes=i, seconds=10)
        data.append({"MetricName": "Requests", "Dimensions": [{"Name": "Host", "Value": "a"}], "Value": float(10 * (i + 1)), "Timestamp": ts})
        data.append({"MetricName": "Requests", "Dimensions": [{"Name": "Host", "Value": "b"}], "Value": float(i), "Timestamp": ts})
        data.append({"MetricName": "Errors", "Dimensions": [{"Name": "Host", "Value": "a"}], "Value": 1.0, "Timestamp": ts})
    client.put_metric_data(Namespace=ns, MetricData=data)

    def stat(qid: str, name: str, host: str, ret: bool = True) -> dict[str, Any]:
        return {"Id": qid, "MetricStat": {"Metric": {"Namespace": ns, "MetricName": name, "Dimensions": [{"Name": "Host", "Value": host}]}, "Period": 60, "Stat": "Sum"}, "ReturnData": ret}

    out = client.get_metric_data(
        MetricDataQueries=[
            stat("ra", "Requests", "a"),
            stat("rb", "Requests", "b", False),
            stat("ea", "Errors", "a", False),
            {"Id": "rate", "Expression": "100 * ea / ra", "Label": "error rate"},
            {"Id": "total", "Expression": "SUM(METRICS('r'))"},
            {"Id": "diff", "Expression": "DIFF(ra)"},
            {"Id": "filled", "Expression": "FILL(ra, 0)"},
            {"Id": "big", "Expression": "IF(ra > 25, ra, 0)"},
            {"Id": "srch", "Expression": f"SEARCH('{{{ns},Host}} MetricName=\"Requests\"', 'Sum', 60)"},
        ],
        StartTime=start,
        EndTime=now,
        ScanBy="TimestampAscending",
    )
    results: dict[str, list[dict[str, Any]]] = {}
    for r in out["MetricDataResults"]:
        results.setdefault(r["Id"], []).append(r)
    assert set(results) == {"ra", "rate", "total", "diff", "filled", "big", "srch"}  # ReturnData=False hidden
    ra = results["ra"][0]
    assert ra["Label"] == "Requests" and ra["StatusCode"] == "Complete"
    assert ra["Values"] == [10.0, 20.0, 30.0, 40.0, 50.0]
    assert ra["Timestamps"][0] == start
    assert results["rate"][0]["Label"] == "error rate"
    assert results["rate"][0]["Values"] == [10.0, 5.0, _approx(client, 100 / 30), 2.5, 2.0]
    assert results["total"][0]["Values"] == [10.0, 21.0, 32.0, 43.0, 54.0]
    assert results["diff"][0]["Values"] == [10.0, 10.0, 10.0, 10.0]
    assert len(results["filled"][0]["Values"]) == 10 and results["filled"][0]["Values"][5:] == [0.0] * 5
    assert results["big"][0]["Values"] == [0.0, 0.0, 30.0, 40.0, 50.0]
    assert sorted(r["Label"] for r in results["srch"]) == ["a Requests", "b Requests"]

    # dynamic labels
    labelled = client.get_metric_data(MetricDataQueries=[{**stat("ra", "Requests", "a"), "Label": "${PROP('Dim.Host')} peak ${MAX} of ${DATAPOINT_COUNT}"}], StartTime=start, EndTime=now)
    assert labelled["MetricDataResults"][0]["Label"] == "a peak 50 of 5"

    # descending by default, and MaxDatapoints pages with NextToken
    page1 = client.get_metric_data(MetricDataQueries=[stat("ra", "Requests", "a")], StartTime=start, EndTime=now, MaxDatapoints=3)
    [r1] = page1["MetricDataResults"]
    assert r1["Values"] == [50.0, 40.0, 30.0] and r1["StatusCode"] == "PartialData"
    page2 = client.get_metric_data(MetricDataQueries=[stat("ra", "Requests", "a")], StartTime=start, EndTime=now, MaxDatapoints=3, NextToken=page1["NextToken"])
    assert page2["MetricDataResults"][0]["Values"] == [20.0, 10.0] and "NextToken" not in page2


def test_get_metric_data_validation(cw: Any) -> None:
    now = _now()
    for queries in (
        [{"Id": "Bad", "Expression": "1"}],
        [{"Id": "e1", "Expression": "m9 * 2"}],
        [{"Id": "e1", "Expression": "2 +"}],
        [{"Id": "e1", "Expression": "e2"}, {"Id": "e2", "Expression": "e1"}],
        [{"Id": "m1", "MetricStat": {"Metric": {"Namespace": "N", "MetricName": "m"}, "Period": 60, "Stat": "Sum"}, "ReturnData": False}],
    ):
        with pytest.raises(ClientError) as err:
            cw.get_metric_data(MetricDataQueries=queries, StartTime=now - dt.timedelta(hours=1), EndTime=now)
        assert _code(err) == "ValidationError", queries
    with pytest.raises(ClientError) as err:
        cw.get_metric_data(MetricDataQueries=[{"Id": "e", "Expression": "1"}], StartTime=now - dt.timedelta(hours=1), EndTime=now, NextToken="garbage!")
    assert _code(err) == "InvalidNextToken"


def test_list_metrics(client: Any) -> None:
    ns = f"Test/{uuid.uuid4().hex[:8]}"
    client.put_metric_data(
        Namespace=ns,
        MetricData=[
            {"MetricName": "A", "Dimensions": [{"Name": "Host", "Value": "h1"}], "Value": 1.0},
            {"MetricName": "A", "Dimensions": [{"Name": "Host", "Value": "h2"}, {"Name": "Az", "Value": "z"}], "Value": 1.0},
            {"MetricName": "B", "Value": 1.0},
        ],
    )
    every = client.list_metrics(Namespace=ns)["Metrics"]
    assert len(every) == 3
    assert {m["MetricName"] for m in client.list_metrics(Namespace=ns, MetricName="A")["Metrics"]} == {"A"}
    by_dim = client.list_metrics(Namespace=ns, Dimensions=[{"Name": "Az"}])["Metrics"]
    assert by_dim == [{"Namespace": ns, "MetricName": "A", "Dimensions": [{"Name": "Az", "Value": "z"}, {"Name": "Host", "Value": "h2"}]}]
    assert client.list_metrics(Namespace=ns, Dimensions=[{"Name": "Host", "Value": "h1"}])["Metrics"][0]["Dimensions"] == [{"Name": "Host", "Value": "h1"}]
    assert len(client.list_metrics(Namespace=ns, RecentlyActive="PT3H")["Metrics"]) == 3
    assert client.list_metrics(Namespace=ns, MetricName="nope")["Metrics"] == []


def test_list_metrics_paging(cw: Any) -> None:
    ns = f"Test/{uuid.uuid4().hex[:8]}"
    cw.put_metric_data(Namespace=ns, MetricData=[{"MetricName": f"m{i}", "Value": 1.0} for i in range(501)])
    first = cw.list_metrics(Namespace=ns)
    assert len(first["Metrics"]) == 500 and first["NextToken"]
    second = cw.list_metrics(Namespace=ns, NextToken=first["NextToken"])
    assert len(second["Metrics"]) == 1 and "NextToken" not in second
    names = [m["MetricName"] for m in cw.get_paginator("list_metrics").paginate(Namespace=ns).build_full_result()["Metrics"]]
    assert len(set(names)) == 501


def test_alarm_lifecycle(client: Any, mon: EmulatorServer) -> None:
    ns = f"Test/{uuid.uuid4().hex[:8]}"
    name = f"alarm-{uuid.uuid4().hex[:6]}"
    now = _now()
    client.put_metric_alarm(
        AlarmName=name, AlarmDescription="too many", Namespace=ns, MetricName="Errors", Statistic="Sum", Period=60, EvaluationPeriods=2, DatapointsToAlarm=1,
        Threshold=3.0, ComparisonOperator="GreaterThanThreshold", TreatMissingData="notBreaching", Tags=[{"Key": "team", "Value": "a"}],
    )
    [alarm] = client.describe_alarms(AlarmNames=[name])["MetricAlarms"]
    assert alarm["StateValue"] == "INSUFFICIENT_DATA" and alarm["StateReason"] == "Unchecked: Initial alarm creation"
    assert alarm["AlarmArn"] == f"arn:aws:cloudwatch:us-east-1:000000000000:alarm:{name}"
    assert alarm["Threshold"] == 3.0 and alarm["EvaluationPeriods"] == 2 and alarm["TreatMissingData"] == "notBreaching"
    client.put_metric_data(Namespace=ns, MetricData=[{"MetricName": "Errors", "Value": 10.0, "Timestamp": now - dt.timedelta(seconds=30)}])
    # evaluate "two minutes from now": the datapoint is in the last two complete periods
    control(mon, "alarms", now.timestamp() + 61)
    [alarm] = client.describe_alarms(AlarmNames=[name])["MetricAlarms"]
    assert alarm["StateValue"] == "ALARM"
    assert json.loads(alarm["StateReasonData"])["recentDatapoints"] == [10.0]
    assert client.describe_alarms(AlarmNames=[name], StateValue="OK")["MetricAlarms"] == []
    assert [a["AlarmName"] for a in client.describe_alarms_for_metric(Namespace=ns, MetricName="Errors")["MetricAlarms"]] == [name]
    control(mon, "alarms", now.timestamp() + 6 * 60)
    assert client.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]["StateValue"] == "OK"
    history = client.describe_alarm_history(AlarmName=name, HistoryItemType="StateUpdate")["AlarmHistoryItems"]
    assert [h["HistorySummary"] for h in history] == ["Alarm updated from ALARM to OK", "Alarm updated from INSUFFICIENT_DATA to ALARM"]
    client.set_alarm_state(AlarmName=name, StateValue="ALARM", StateReason="manual")
    assert client.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]["StateReason"] == "manual"
    client.disable_alarm_actions(AlarmNames=[name])
    assert client.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]["ActionsEnabled"] is False
    client.enable_alarm_actions(AlarmNames=[name])
    assert client.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]["ActionsEnabled"] is True
    arn = alarm["AlarmArn"]
    client.tag_resource(ResourceARN=arn, Tags=[{"Key": "env", "Value": "dev"}])
    client.untag_resource(ResourceARN=arn, TagKeys=["team"])
    assert client.list_tags_for_resource(ResourceARN=arn)["Tags"] == [{"Key": "env", "Value": "dev"}]
    with pytest.raises(ClientError) as err:
        client.list_tags_for_resource(ResourceARN=arn + "x")
    assert _code(err) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as err:
        client.set_alarm_state(AlarmName=name + "x", StateValue="OK", StateReason="r")
    assert _code(err) == "ResourceNotFound"
    with pytest.raises(ClientError) as err:
        client.set_alarm_state(AlarmName=name, StateValue="OK", StateReason="r", StateReasonData="{not json")
    assert _code(err) == "InvalidFormat"
    client.delete_alarms(AlarmNames=[name])
    assert client.describe_alarms(AlarmNames=[name])["MetricAlarms"] == []
    with pytest.raises(ClientError) as err:
        client.delete_alarms(AlarmNames=[name])
    assert _code(err) == "ResourceNotFound"


def test_composite_alarm_and_describe_filters(cw: Any) -> None:
    prefix = f"c{uuid.uuid4().hex[:6]}-"
    for suffix in ("cpu", "mem"):
        cw.put_metric_alarm(AlarmName=prefix + suffix, Namespace="N", MetricName=suffix, Statistic="Average", Period=60, EvaluationPeriods=1, Threshold=1.0, ComparisonOperator="GreaterThanThreshold")
    cw.put_composite_alarm(AlarmName=prefix + "any", AlarmRule=f'ALARM("{prefix}cpu") OR ALARM({prefix}mem)')
    assert [a["AlarmName"] for a in cw.describe_alarms(AlarmNamePrefix=prefix)["MetricAlarms"]] == [prefix + "cpu", prefix + "mem"]
    assert cw.describe_alarms(AlarmNamePrefix=prefix)["CompositeAlarms"] == []  # AlarmTypes defaults to MetricAlarm
    [comp] = cw.describe_alarms(AlarmNamePrefix=prefix, AlarmTypes=["CompositeAlarm"])["CompositeAlarms"]
    assert comp["StateValue"] == "OK"
    cw.set_alarm_state(AlarmName=prefix + "mem", StateValue="ALARM", StateReason="test")
    assert cw.describe_alarms(AlarmNames=[prefix + "any"], AlarmTypes=["CompositeAlarm"])["CompositeAlarms"][0]["StateValue"] == "ALARM"
    children = cw.describe_alarms(ChildrenOfAlarmName=prefix + "any")
    assert sorted(a["AlarmName"] for a in children["MetricAlarms"]) == [prefix + "cpu", prefix + "mem"]
    assert [a["AlarmName"] for a in cw.describe_alarms(ParentsOfAlarmName=prefix + "cpu")["CompositeAlarms"]] == [prefix + "any"]
    page = cw.describe_alarms(AlarmNamePrefix=prefix, AlarmTypes=["MetricAlarm", "CompositeAlarm"], MaxRecords=2)
    assert len(page["MetricAlarms"]) + len(page["CompositeAlarms"]) == 2 and page["NextToken"]
    rest = cw.describe_alarms(AlarmNamePrefix=prefix, AlarmTypes=["MetricAlarm", "CompositeAlarm"], MaxRecords=2, NextToken=page["NextToken"])
    assert len(rest["MetricAlarms"]) + len(rest["CompositeAlarms"]) == 1
    with pytest.raises(ClientError) as err:
        cw.put_composite_alarm(AlarmName=prefix + "bad", AlarmRule="ALARM(")
    assert _code(err) == "ValidationError"
    cw.delete_alarms(AlarmNames=[prefix + "any", prefix + "cpu", prefix + "mem"])


def test_dashboards(client: Any) -> None:
    name = f"dash-{uuid.uuid4().hex[:6]}"
    body = {"widgets": [{"type": "metric", "x": 0, "y": 0, "width": 12, "height": 6, "properties": {"metrics": [["AWS/EC2", "CPUUtilization"]], "region": "us-east-1", "period": 300}}, {"type": "text", "properties": {"markdown": "# hi"}}]}
    out = client.put_dashboard(DashboardName=name, DashboardBody=json.dumps(body))
    assert out["DashboardValidationMessages"] == []
    got = client.get_dashboard(DashboardName=name)
    assert json.loads(got["DashboardBody"]) == body and got["DashboardArn"].endswith(f":dashboard/{name}")
    entries = client.list_dashboards(DashboardNamePrefix=name)["DashboardEntries"]
    assert [e["DashboardName"] for e in entries] == [name] and entries[0]["Size"] > 0
    for bad in ("not json", json.dumps({"widgets": [{"type": "pie", "properties": {}}]}), json.dumps({"widgets": [{"type": "metric", "width": 40, "properties": {"metrics": []}}]}), json.dumps({})):
        with pytest.raises(ClientError) as err:
            client.put_dashboard(DashboardName=name, DashboardBody=bad)
        assert _code(err) == "InvalidParameterInput", bad
    with pytest.raises(ClientError) as err:
        client.put_dashboard(DashboardName="bad name!", DashboardBody=json.dumps(body))
    assert _code(err) == "InvalidParameterInput"
    warn = client.put_dashboard(DashboardName=name, DashboardBody=json.dumps({"widgets": [{"type": "metric", "properties": {"metrics": []}}]}))
    assert warn["DashboardValidationMessages"][0]["DataPath"] == "/widgets/0/properties"
    client.delete_dashboards(DashboardNames=[name])
    with pytest.raises(ClientError) as err:
        client.get_dashboard(DashboardName=name)
    assert _code(err) == "ResourceNotFound"
    with pytest.raises(ClientError) as err:
        client.delete_dashboards(DashboardNames=[name])
    assert _code(err) == "ResourceNotFound"


def test_unsupported_operation_is_an_error(cw: Any) -> None:
    # An operation of the model this emulator does not serve: AWS's error for an unknown
    # operation, never an empty success.
    with pytest.raises(ClientError) as err:
        cw._make_api_call("GetOTelEnrichment", {})
    assert _code(err) == "UnknownOperationException"
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_delete_alarms_deletes_the_named_ones_that_exist(cw: Any) -> None:
    # DeleteAlarms: "If you specify any incorrect alarm names, the alarms you specify with correct names are still deleted."
    name = f"del-{uuid.uuid4().hex[:6]}"
    cw.put_metric_alarm(AlarmName=name, Namespace="N", MetricName="M", Statistic="Sum", Period=60, EvaluationPeriods=1, Threshold=1.0, ComparisonOperator="GreaterThanThreshold")
    with pytest.raises(ClientError) as err:
        cw.delete_alarms(AlarmNames=[name + "-missing", name])
    assert _code(err) == "ResourceNotFound"
    assert cw.describe_alarms(AlarmNames=[name])["MetricAlarms"] == []


def test_alarm_period_and_evaluation_range(cw: Any) -> None:
    name = f"per-{uuid.uuid4().hex[:6]}"
    base = {"AlarmName": name, "Namespace": "N", "MetricName": "M", "Statistic": "Sum", "Threshold": 1.0, "ComparisonOperator": "GreaterThanThreshold"}
    # Period: "Valid values are 10, 20, 30, and any multiple of 60" (1 and 5 are for reading metrics only)
    for period in (1, 5):
        with pytest.raises(ClientError) as err:
            cw.put_metric_alarm(**base, Period=period, EvaluationPeriods=1)
        assert _code(err) == "InvalidParameterValue", period
    # under an hour's Period, Period * EvaluationPeriods may not exceed a day
    with pytest.raises(ClientError) as err:
        cw.put_metric_alarm(**base, Period=60, EvaluationPeriods=1441)
    assert _code(err) == "ValidationError"
    cw.put_metric_alarm(**base, Period=60, EvaluationPeriods=1440)
    cw.put_metric_alarm(**base, Period=10, EvaluationPeriods=3)
    cw.delete_alarms(AlarmNames=[name])


def test_search_with_an_invalid_period_is_a_validation_error(cw: Any) -> None:
    start = _now() - dt.timedelta(minutes=10)
    for period in (0, 61):
        with pytest.raises(ClientError) as err:
            cw.get_metric_data(MetricDataQueries=[{"Id": "s", "Expression": f"SEARCH('{{N,D}} MetricName=\"M\"', 'Sum', {period})"}], StartTime=start, EndTime=_now())
        assert _code(err) == "ValidationError", period


def test_delete_dashboards_deletes_as_many_as_possible(cw: Any) -> None:
    # DeleteDashboards: "If there is an error during this call, the operation attempts to delete as many dashboards as possible."
    name = f"dash-{uuid.uuid4().hex[:6]}"
    cw.put_dashboard(DashboardName=name, DashboardBody=json.dumps({"widgets": [{"type": "text", "properties": {"markdown": "x"}}]}))
    with pytest.raises(ClientError) as err:
        cw.delete_dashboards(DashboardNames=[name + "-missing", name])
    assert _code(err) == "ResourceNotFound"
    assert cw.list_dashboards(DashboardNamePrefix=name)["DashboardEntries"] == []


def test_dashboard_tags(client: Any) -> None:
    name = f"dash-{uuid.uuid4().hex[:6]}"
    body = json.dumps({"widgets": [{"type": "text", "properties": {"markdown": "x"}}]})
    client.put_dashboard(DashboardName=name, DashboardBody=body, Tags=[{"Key": "team", "Value": "a"}])
    arn = client.get_dashboard(DashboardName=name)["DashboardArn"]
    assert client.list_tags_for_resource(ResourceARN=arn)["Tags"] == [{"Key": "team", "Value": "a"}]
    # PutDashboard on an existing dashboard ignores Tags
    client.put_dashboard(DashboardName=name, DashboardBody=body, Tags=[{"Key": "other", "Value": "b"}])
    assert client.list_tags_for_resource(ResourceARN=arn)["Tags"] == [{"Key": "team", "Value": "a"}]
    client.tag_resource(ResourceARN=arn, Tags=[{"Key": "env", "Value": "dev"}, {"Key": "team", "Value": "b"}])
    client.untag_resource(ResourceARN=arn, TagKeys=["env"])
    assert client.list_tags_for_resource(ResourceARN=arn)["Tags"] == [{"Key": "team", "Value": "b"}]
    with pytest.raises(ClientError) as err:
        client.list_tags_for_resource(ResourceARN=arn + "x")
    assert _code(err) == "ResourceNotFoundException"
    client.delete_dashboards(DashboardNames=[name])
    with pytest.raises(ClientError) as err:
        client.tag_resource(ResourceARN=arn, Tags=[{"Key": "k", "Value": "v"}])
    assert _code(err) == "ResourceNotFoundException"


def test_put_metric_alarm_update_ignores_tags(cw: Any) -> None:
    # PutMetricAlarm, Tags: "If you are using this operation to update an existing alarm, any tags you specify in this parameter are ignored."
    name = f"tag-{uuid.uuid4().hex[:6]}"
    base = {"AlarmName": name, "Namespace": "N", "MetricName": "M", "Statistic": "Sum", "Period": 60, "EvaluationPeriods": 1, "Threshold": 1.0, "ComparisonOperator": "GreaterThanThreshold"}
    cw.put_metric_alarm(**base, Tags=[{"Key": "team", "Value": "a"}])
    cw.put_metric_alarm(**base, Tags=[{"Key": "env", "Value": "dev"}])
    arn = cw.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]["AlarmArn"]
    assert cw.list_tags_for_resource(ResourceARN=arn)["Tags"] == [{"Key": "team", "Value": "a"}]
    cw.delete_alarms(AlarmNames=[name])


def test_describe_alarm_history_returns_metric_alarms_unless_asked(cw: Any) -> None:
    # DescribeAlarmHistory, AlarmTypes: "If you omit this parameter, only metric alarms are returned."
    prefix = f"h{uuid.uuid4().hex[:6]}-"
    cw.put_metric_alarm(AlarmName=prefix + "m", Namespace="N", MetricName="M", Statistic="Sum", Period=60, EvaluationPeriods=1, Threshold=1.0, ComparisonOperator="GreaterThanThreshold")
    cw.put_composite_alarm(AlarmName=prefix + "c", AlarmRule=f'ALARM("{prefix}m")')
    assert cw.describe_alarm_history(AlarmName=prefix + "c")["AlarmHistoryItems"] == []
    assert cw.describe_alarm_history(AlarmName=prefix + "m")["AlarmHistoryItems"]
    items = cw.describe_alarm_history(AlarmName=prefix + "c", AlarmTypes=["CompositeAlarm"])["AlarmHistoryItems"]
    assert items and {i["AlarmType"] for i in items} == {"CompositeAlarm"}
    cw.delete_alarms(AlarmNames=[prefix + "c"])
    cw.delete_alarms(AlarmNames=[prefix + "m"])
