"""CloudWatch anomaly detection through the wire: detectors (Put/Describe/DeleteAnomalyDetector),
their training state, ANOMALY_DETECTION_BAND in GetMetricData, and alarms on the band
(ThresholdMetricId with the band comparison operators), as Terraform's
aws_cloudwatch_metric_alarm with an anomaly-detection metric_query drives them."""

from __future__ import annotations

import datetime as dt
import json
import math
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from emulator.monitoring.anomaly import band
from emulator.testing.server import EmulatorServer

from .conftest import control, cw_client, wait_for

PERIOD = 300


def _code(err: pytest.ExceptionInfo[ClientError]) -> str:
    return str(err.value.response["Error"]["Code"])


def _ns() -> str:
    return f"Anomaly/{uuid.uuid4().hex[:8]}"


def _at(t: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(t, dt.UTC)


def _normal(t: float) -> float:
    """A daily pattern with a little deterministic noise."""
    return 100.0 + 50.0 * math.sin(2 * math.pi * (t % 86400) / 86400) + 3.0 * math.sin(t / 977.0)


def _history(cw: Any, ns: str, end: float, days: float = 2.0, spikes: dict[float, float] | None = None, name: str = "Latency") -> None:
    """Datapoints every PERIOD seconds for ``days`` up to ``end`` (excluded); ``spikes`` replace some."""
    spikes = spikes or {}
    items = []
    t = end - days * 86400
    while t < end:
        items.append({"MetricName": name, "Dimensions": [{"Name": "Host", "Value": "a"}], "Timestamp": _at(t), "Value": spikes.get(t, _normal(t))})
        t += PERIOD
    for i in range(0, len(items), 1000):
        cw.put_metric_data(Namespace=ns, MetricData=items[i : i + 1000])


def _now_slot() -> float:
    return math.floor(time.time() / PERIOD) * PERIOD


def _metric(ns: str, name: str = "Latency") -> dict[str, Any]:
    return {"Namespace": ns, "MetricName": name, "Dimensions": [{"Name": "Host", "Value": "a"}]}


# ------------------------------------------------------------------ the model, alone
def test_band_model_seasonal_and_rolling() -> None:
    # little history: the rolling mean and deviation of what came before
    hist = {float(t): 10.0 + (t // 60) % 2 for t in range(0, 600, 60)}
    upper, lower = band(hist, [600.0], 2.0)
    assert lower[600.0] < 10.5 < upper[600.0] and upper[600.0] - lower[600.0] == pytest.approx(2.0, rel=0.01)
    # too little history: no band at all
    assert band({0.0: 1.0, 60.0: 2.0}, [120.0], 2.0) == ({}, {})
    # three days of a metric that is 0 at night and 100 by day: the band follows the hour of the day
    hist = {float(t): (100.0 if 8 <= (t % 86400) // 3600 < 20 else 0.0) + (t // 300) % 3 for t in range(0, 3 * 86400, 300)}
    day, night = 3 * 86400 + 12 * 3600.0, 3 * 86400 + 2 * 3600.0
    upper, lower = band(hist, [night, day], 2.0)
    assert lower[day] > 90 and upper[night] < 10
    # a zone without daylight saving only renames the hours: the same profile
    upper_tz, _ = band(hist, [day], 2.0, "Asia/Tokyo")
    assert upper_tz[day] == upper[day]
    # an excluded range is not trained on
    wild = dict(hist)
    wild.update({float(t): 10_000.0 for t in range(2 * 86400, 2 * 86400 + 3600, 300)})  # yesterday, this hour
    assert band(wild, [3 * 86400.0], 2.0)[0][3 * 86400.0] > 1000
    assert band(wild, [3 * 86400.0], 2.0, excluded=[(2 * 86400, 2 * 86400 + 3600)])[0][3 * 86400.0] == pytest.approx(upper_of(hist, 3 * 86400.0))


def upper_of(hist: dict[float, float], t: float) -> float:
    return band(hist, [t], 2.0)[0][t]


# ------------------------------------------------------------------ detectors
def test_detector_create_describe_delete(cw: Any) -> None:
    ns = _ns()
    legacy = cw.put_anomaly_detector(Namespace=ns, MetricName="Latency", Dimensions=[{"Name": "Host", "Value": "a"}], Stat="Average")
    single = cw.put_anomaly_detector(
        SingleMetricAnomalyDetector={**_metric(ns), "Stat": "Average"},
        Configuration={"ExcludedTimeRanges": [{"StartTime": _at(time.time() - 7200), "EndTime": _at(time.time() - 3600)}], "MetricTimezone": "Europe/Paris"},
        MetricCharacteristics={"PeriodicSpikes": True},
    )
    # the same metric and statistic: the same model, updated
    assert legacy["AnomalyDetectorId"] == single["AnomalyDetectorId"]
    other = cw.put_anomaly_detector(SingleMetricAnomalyDetector={**_metric(ns, "Errors"), "Stat": "Sum"})["AnomalyDetectorId"]
    math_id = cw.put_anomaly_detector(
        MetricMathAnomalyDetector={"MetricDataQueries": [
            {"Id": "m1", "MetricStat": {"Metric": _metric(ns), "Period": 300, "Stat": "Average"}, "ReturnData": False},
            {"Id": "e1", "Expression": "m1 * 2", "ReturnData": True},
        ]}
    )["AnomalyDetectorId"]
    found = cw.describe_anomaly_detectors(Namespace=ns)["AnomalyDetectors"]
    assert [d["AnomalyDetectorId"] for d in found] == [single["AnomalyDetectorId"], other]  # SINGLE_METRIC by default
    first = found[0]
    assert first["MetricName"] == "Latency" and first["Stat"] == "Average" and first["SingleMetricAnomalyDetector"]["Namespace"] == ns
    assert first["Configuration"]["MetricTimezone"] == "Europe/Paris" and len(first["Configuration"]["ExcludedTimeRanges"]) == 1
    assert first["MetricCharacteristics"] == {"PeriodicSpikes": True}
    assert first["StateValue"] == "PENDING_TRAINING"
    assert [d["AnomalyDetectorId"] for d in cw.describe_anomaly_detectors(Namespace=ns, MetricName="Errors")["AnomalyDetectors"]] == [other]
    assert [d["AnomalyDetectorId"] for d in cw.describe_anomaly_detectors(Dimensions=[{"Name": "Host", "Value": "a"}], Namespace=ns)["AnomalyDetectors"]] == [
        single["AnomalyDetectorId"], other]
    maths = cw.describe_anomaly_detectors(AnomalyDetectorTypes=["METRIC_MATH"])["AnomalyDetectors"]
    assert math_id in [d["AnomalyDetectorId"] for d in maths]
    assert next(d for d in maths if d["AnomalyDetectorId"] == math_id)["MetricMathAnomalyDetector"]["MetricDataQueries"][1]["Expression"] == "m1 * 2"
    by_id = cw.describe_anomaly_detectors(AnomalyDetectorIds=[math_id, other])["AnomalyDetectors"]
    assert {d["AnomalyDetectorId"] for d in by_id} == {math_id, other}
    page = cw.describe_anomaly_detectors(Namespace=ns, MaxResults=1)
    assert len(page["AnomalyDetectors"]) == 1 and page["NextToken"]
    assert cw.describe_anomaly_detectors(Namespace=ns, MaxResults=1, NextToken=page["NextToken"])["AnomalyDetectors"][0]["AnomalyDetectorId"] == other

    # deleted by id, by the legacy fields, by the definition
    cw.delete_anomaly_detector(AnomalyDetectorId=other)
    cw.delete_anomaly_detector(Namespace=ns, MetricName="Latency", Dimensions=[{"Name": "Host", "Value": "a"}], Stat="Average")
    cw.delete_anomaly_detector(MetricMathAnomalyDetector={"MetricDataQueries": [
        {"Id": "m1", "MetricStat": {"Metric": _metric(ns), "Period": 300, "Stat": "Average"}, "ReturnData": False},
        {"Id": "e1", "Expression": "m1 * 2", "ReturnData": True},
    ]})
    assert cw.describe_anomaly_detectors(Namespace=ns)["AnomalyDetectors"] == []
    with pytest.raises(ClientError) as err:
        cw.delete_anomaly_detector(AnomalyDetectorId=other)
    assert _code(err) == "ResourceNotFoundException"


def test_detector_validation(cw: Any) -> None:
    ns = _ns()
    cases: list[tuple[dict[str, Any], str]] = [
        ({}, "MissingParameter"),
        ({"Namespace": ns, "MetricName": "M"}, "MissingParameter"),  # no Stat
        ({"Namespace": ns, "MetricName": "M", "Stat": "Bogus"}, "InvalidParameterValue"),
        ({"Namespace": ns, "MetricName": "M", "Stat": "Sum", "SingleMetricAnomalyDetector": {**_metric(ns), "Stat": "Sum"}}, "InvalidParameterCombination"),
        ({"SingleMetricAnomalyDetector": {**_metric(ns), "Stat": "Sum"}, "Configuration": {"MetricTimezone": "Mars/Olympus"}}, "InvalidParameterValue"),
        ({"SingleMetricAnomalyDetector": {**_metric(ns), "Stat": "Sum"}, "Configuration": {"ExcludedTimeRanges": [
            {"StartTime": _at(1000 + i), "EndTime": _at(2000 + i)} for i in range(11)]}}, "InvalidParameterValue"),
        ({"SingleMetricAnomalyDetector": {**_metric(ns), "Stat": "Sum"}, "Configuration": {"ExcludedTimeRanges": [
            {"StartTime": _at(2000), "EndTime": _at(1000)}]}}, "InvalidParameterValue"),
        ({"MetricMathAnomalyDetector": {"MetricDataQueries": [
            {"Id": "m1", "MetricStat": {"Metric": _metric(ns), "Period": 300, "Stat": "Average"}, "ReturnData": True},
            {"Id": "e1", "Expression": "m1 * 2", "ReturnData": True}]}}, "InvalidParameterValue"),
    ]
    for params, code in cases:
        with pytest.raises(ClientError) as err:
            cw.put_anomaly_detector(**params)
        assert _code(err) == code, params
    with pytest.raises(ClientError) as err:
        cw.describe_anomaly_detectors(AnomalyDetectorIds=["x"], Namespace=ns)
    assert _code(err) == "InvalidParameterCombination"
    with pytest.raises(ClientError) as err:
        cw.describe_anomaly_detectors(MaxResults=101)
    assert _code(err) == "InvalidParameterValue"
    with pytest.raises(ClientError) as err:
        cw.describe_anomaly_detectors(NextToken="garbage!")
    assert _code(err) == "InvalidNextToken"


def test_training_states(cw: Any) -> None:
    ns = _ns()
    did = cw.put_anomaly_detector(SingleMetricAnomalyDetector={**_metric(ns), "Stat": "Average"})["AnomalyDetectorId"]

    def state() -> str:
        return str(cw.describe_anomaly_detectors(AnomalyDetectorIds=[did])["AnomalyDetectors"][0]["StateValue"])

    assert state() == "PENDING_TRAINING"
    assert wait_for(lambda: state() == "TRAINED_INSUFFICIENT_DATA", timeout=10), state()
    _history(cw, ns, _now_slot(), days=0.1)
    assert state() == "TRAINED"


# ------------------------------------------------------------------ GetMetricData
def test_band_in_get_metric_data(cw: Any) -> None:
    ns = _ns()
    now = _now_slot()
    spike = now - PERIOD
    _history(cw, ns, now, days=2.5, spikes={spike: 1000.0})
    stat = {"Metric": _metric(ns), "Period": PERIOD, "Stat": "Average"}

    def query(expression: str, label: str | None = None) -> list[dict[str, Any]]:
        band_query: dict[str, Any] = {"Id": "ad1", "Expression": expression}
        if label:
            band_query["Label"] = label
        return list(cw.get_metric_data(
            MetricDataQueries=[{"Id": "m1", "MetricStat": stat}, band_query],
            StartTime=_at(now - 3600), EndTime=_at(now), ScanBy="TimestampAscending",
        )["MetricDataResults"])

    results = query("ANOMALY_DETECTION_BAND(m1, 2)", "Latency (expected)")
    assert [r["Id"] for r in results] == ["m1", "ad1", "ad1"]
    metric, upper, lower = results
    assert (upper["Label"], lower["Label"]) == ("Latency (expected) High", "Latency (expected) Low")
    assert upper["Timestamps"] == lower["Timestamps"] == metric["Timestamps"] and len(upper["Timestamps"]) == 12
    outside: dict[float, float] = {}  # how far each point lies outside its band
    for t, v, hi, lo in zip(metric["Timestamps"], metric["Values"], upper["Values"], lower["Values"], strict=True):
        assert lo < hi
        outside[t.timestamp()] = max(0.0, v - hi, lo - v)
    # The spike is far outside its band (the band is trained on what came before). Normal points
    # are not always all inside a 2-deviation band: a model trained on 2.5 days of a daily sine
    # leaves one now and then a little outside, depending on the time of day the test runs at
    # (a simulation over every 5-minute start of four days: by less than one unit).
    assert outside.pop(spike) > 10 * max(outside.values()) + 100, outside
    # the default width is 2 standard deviations; 4 is twice as wide
    default = query("ANOMALY_DETECTION_BAND(m1)")
    wide = query("ANOMALY_DETECTION_BAND(m1, 4)")
    assert default[1]["Label"] == "ad1 High" and default[1]["Values"] == upper["Values"]
    assert wide[1]["Values"][0] - wide[2]["Values"][0] == pytest.approx(2 * (upper["Values"][0] - lower["Values"][0]))
    # of an expression too
    results = list(cw.get_metric_data(
        MetricDataQueries=[{"Id": "m1", "MetricStat": stat, "ReturnData": False}, {"Id": "e1", "Expression": "m1 * 2"}, {"Id": "ad1", "Expression": "ANOMALY_DETECTION_BAND(e1)"}],
        StartTime=_at(now - 3600), EndTime=_at(now),
    )["MetricDataResults"])
    assert [r["Id"] for r in results] == ["e1", "ad1", "ad1"]
    assert results[1]["Values"][-1] == pytest.approx(2 * default[1]["Values"][0], rel=0.05)
    for bad in ("ANOMALY_DETECTION_BAND(m1, -1)", "ANOMALY_DETECTION_BAND(2)", "ANOMALY_DETECTION_BAND(m1, 2, 3)", "ANOMALY_DETECTION_BAND(ad1)"):
        with pytest.raises(ClientError) as err:
            query(bad)
        assert _code(err) == "ValidationError", bad


def test_excluded_time_ranges_shape_the_band(cw: Any) -> None:
    ns = _ns()
    now = _now_slot()
    incident = {float(t): 5000.0 for t in range(int(now - 7200), int(now - 3600), PERIOD)}
    _history(cw, ns, now, days=1.0, spikes=incident)
    stat = {"Metric": _metric(ns), "Period": PERIOD, "Stat": "Maximum"}

    def width() -> float:
        r = cw.get_metric_data(
            MetricDataQueries=[{"Id": "m1", "MetricStat": stat, "ReturnData": False}, {"Id": "ad1", "Expression": "ANOMALY_DETECTION_BAND(m1)"}],
            StartTime=_at(now - PERIOD), EndTime=_at(now),
        )["MetricDataResults"]
        return float(r[0]["Values"][0] - r[1]["Values"][0])

    wide = width()
    cw.put_anomaly_detector(
        SingleMetricAnomalyDetector={**_metric(ns), "Stat": "Maximum"},
        Configuration={"ExcludedTimeRanges": [{"StartTime": _at(now - 7200), "EndTime": _at(now - 3600)}]},
    )
    assert width() < wide / 10


# ------------------------------------------------------------------ alarms on the band
def _terraform_alarm(cw: Any, name: str, ns: str, operator: str = "GreaterThanUpperThreshold", **extra: Any) -> None:
    """What aws_cloudwatch_metric_alarm sends for
        threshold_metric_id = "e1"
        metric_query { id = "e1"  expression = "ANOMALY_DETECTION_BAND(m1)"  label = "Latency (Expected)"  return_data = true }
        metric_query { id = "m1"  return_data = true  metric { metric_name/namespace/period/stat/dimensions } }"""
    cw.put_metric_alarm(
        AlarmName=name,
        AlarmDescription="anomalous latency",
        ActionsEnabled=True,
        ComparisonOperator=operator,
        EvaluationPeriods=2,
        ThresholdMetricId="e1",
        TreatMissingData="missing",
        Metrics=[
            {"Id": "e1", "Expression": "ANOMALY_DETECTION_BAND(m1)", "Label": "Latency (Expected)", "ReturnData": True},
            {"Id": "m1", "ReturnData": True, "MetricStat": {"Metric": _metric(ns), "Period": PERIOD, "Stat": "Average"}},
        ],
        Tags=[{"Key": "team", "Value": "sre"}],
        **extra,
    )


def test_terraform_anomaly_alarm_lifecycle(mon: EmulatorServer, cw: Any) -> None:
    ns = _ns()
    now = _now_slot()
    spikes = {now - 2 * PERIOD: 900.0, now - PERIOD: 950.0}
    _history(cw, ns, now, days=2.5, spikes=spikes)
    name = f"tf-anomaly-{uuid.uuid4().hex[:6]}"
    # terraform apply: PutMetricAlarm, then the read: DescribeAlarms and ListTagsForResource
    _terraform_alarm(cw, name, ns)
    alarm = cw.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]
    assert alarm["ThresholdMetricId"] == "e1" and alarm["ComparisonOperator"] == "GreaterThanUpperThreshold"
    assert "Threshold" not in alarm and alarm["EvaluationPeriods"] == 2 and alarm["StateValue"] == "INSUFFICIENT_DATA"
    assert [q["Id"] for q in alarm["Metrics"]] == ["e1", "m1"] and alarm["Metrics"][0]["Expression"] == "ANOMALY_DETECTION_BAND(m1)"
    assert cw.list_tags_for_resource(ResourceARN=alarm["AlarmArn"])["Tags"] == [{"Key": "team", "Value": "sre"}]
    # creating the alarm created the metric's anomaly detection model
    models = cw.describe_anomaly_detectors(Namespace=ns)["AnomalyDetectors"]
    assert [(m["MetricName"], m["Stat"]) for m in models] == [("Latency", "Average")]

    # the last two periods are far above the band: ALARM
    control(mon, "alarms", now)
    alarm = cw.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]
    assert alarm["StateValue"] == "ALARM", alarm["StateReason"]
    assert "upper thresholds" in alarm["StateReason"] and "2 out of the last 2 datapoints" in alarm["StateReason"]
    data = json.loads(alarm["StateReasonData"])
    assert data["recentDatapoints"] == [900.0, 950.0] and len(data["recentUpperThresholds"]) == 2 and "threshold" not in data
    assert all(up < 900 for up in data["recentUpperThresholds"])
    # an hour earlier the metric was within its band: OK
    control(mon, "alarms", now - 3600)
    assert cw.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]["StateValue"] == "OK"

    # terraform apply of a change: LessThanLowerThreshold does not fire on spikes upwards
    _terraform_alarm(cw, name, ns, "LessThanLowerThreshold")
    control(mon, "alarms", now)
    assert cw.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]["StateValue"] == "OK"
    _terraform_alarm(cw, name, ns, "LessThanLowerOrGreaterThanUpperThreshold")
    control(mon, "alarms", now)
    assert cw.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]["StateValue"] == "ALARM"
    history = cw.describe_alarm_history(AlarmName=name, HistoryItemType="StateUpdate")["AlarmHistoryItems"]
    assert [h["HistorySummary"] for h in history] == ["Alarm updated from OK to ALARM", "Alarm updated from ALARM to OK", "Alarm updated from INSUFFICIENT_DATA to ALARM"]

    # terraform destroy: DeleteAlarms, then the read that finds it gone
    cw.delete_alarms(AlarmNames=[name])
    assert cw.describe_alarms(AlarmNames=[name])["MetricAlarms"] == []


def test_anomaly_alarm_without_history_is_insufficient(mon: EmulatorServer, cw: Any) -> None:
    ns = _ns()
    now = _now_slot()
    cw.put_metric_data(Namespace=ns, MetricData=[{"MetricName": "Latency", "Dimensions": [{"Name": "Host", "Value": "a"}], "Timestamp": _at(now - PERIOD), "Value": 1.0}])
    name = f"young-{uuid.uuid4().hex[:6]}"
    _terraform_alarm(cw, name, ns)
    control(mon, "alarms", now)
    # a datapoint, but no model yet to compare it with: nothing to evaluate
    assert cw.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]["StateValue"] == "INSUFFICIENT_DATA"


def test_anomaly_alarm_validation(cw: Any) -> None:
    ns = _ns()
    band_metrics = [
        {"Id": "m1", "MetricStat": {"Metric": _metric(ns), "Period": PERIOD, "Stat": "Average"}},
        {"Id": "ad1", "Expression": "ANOMALY_DETECTION_BAND(m1, 2)"},
    ]
    base = {"AlarmName": f"bad-{uuid.uuid4().hex[:6]}", "EvaluationPeriods": 1}
    cases: list[tuple[dict[str, Any], str]] = [
        ({"ComparisonOperator": "GreaterThanUpperThreshold", "Metrics": band_metrics}, "MissingParameter"),  # no ThresholdMetricId
        ({"ComparisonOperator": "GreaterThanThreshold", "Threshold": 1.0, "ThresholdMetricId": "ad1", "Metrics": band_metrics}, "InvalidParameterCombination"),
        ({"ComparisonOperator": "GreaterThanUpperThreshold", "ThresholdMetricId": "ad1", "Threshold": 3.0, "Metrics": band_metrics}, "InvalidParameterCombination"),
        ({"ComparisonOperator": "GreaterThanUpperThreshold", "ThresholdMetricId": "m1", "Metrics": band_metrics}, "ValidationError"),
        ({"ComparisonOperator": "GreaterThanUpperThreshold", "ThresholdMetricId": "zz", "Metrics": band_metrics}, "ValidationError"),
        ({"ComparisonOperator": "GreaterThanUpperThreshold", "ThresholdMetricId": "ad1", "Namespace": ns, "MetricName": "Latency", "Statistic": "Average", "Period": 60},
         "MissingParameter"),
    ]
    for params, code in cases:
        with pytest.raises(ClientError) as err:
            cw.put_metric_alarm(**base, **params)
        assert _code(err) == code, params
    # the band need not return data; the metric must
    cw.put_metric_alarm(**base, ComparisonOperator="LessThanLowerThreshold", ThresholdMetricId="ad1",
                        Metrics=[band_metrics[0], {**band_metrics[1], "ReturnData": False}])
    cw.delete_alarms(AlarmNames=[base["AlarmName"]])


def test_detectors_are_regional_and_durable(tmp_path: Path) -> None:
    server = EmulatorServer(data_dir=tmp_path / "data", env={"EMULATOR_ANOMALY_TRAINING_DELAY": "0"})
    server.start()
    try:
        cw = cw_client(server)
        ns = _ns()
        did = cw.put_anomaly_detector(SingleMetricAnomalyDetector={**_metric(ns), "Stat": "p90"},
                                      Configuration={"MetricTimezone": "America/New_York"})["AnomalyDetectorId"]
        other = server.client("cloudwatch", region_name="eu-west-1")
        assert other.describe_anomaly_detectors(Namespace=ns)["AnomalyDetectors"] == []
        server.kill()
        server.start()
        cw = cw_client(server)
        found = cw.describe_anomaly_detectors(Namespace=ns)["AnomalyDetectors"]
        assert [d["AnomalyDetectorId"] for d in found] == [did]
        assert found[0]["Configuration"]["MetricTimezone"] == "America/New_York"
        assert found[0]["StateValue"] == "TRAINED_INSUFFICIENT_DATA"
    finally:
        server.cleanup()


@pytest.mark.parametrize("protocol", ["query", "smithy-rpc-v2-cbor"])
def test_other_protocols(mon: EmulatorServer, protocol: str) -> None:
    client = cw_client(mon, protocol)
    ns = _ns()
    start = math.floor(time.time()) - 7200
    did = client.put_anomaly_detector(
        SingleMetricAnomalyDetector={**_metric(ns), "Stat": "Sum"},
        Configuration={"ExcludedTimeRanges": [{"StartTime": _at(start), "EndTime": _at(start + 60)}]},
    )["AnomalyDetectorId"]
    found = client.describe_anomaly_detectors(Namespace=ns)["AnomalyDetectors"]
    assert [d["AnomalyDetectorId"] for d in found] == [did]
    assert found[0]["Configuration"]["ExcludedTimeRanges"][0]["StartTime"] == _at(start)
    client.delete_anomaly_detector(AnomalyDetectorId=did)
