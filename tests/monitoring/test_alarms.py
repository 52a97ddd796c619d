"""The alarm evaluator, driven by a fake clock: state machine, TreatMissingData,
M out of N, metric math, composite rules, history and actions."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from emulator.errors import AwsError
from emulator.monitoring.alarms import AlarmManager, eval_rule, parse_rule
from emulator.monitoring.metrics import Datum, MetricStore
from emulator.monitoring.statedb import StateDB

T0 = 1_800_000_000.0  # a multiple of 60


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


class FakeLogs:
    def __init__(self) -> None:
        self.lines: list[tuple[str, str, str]] = []
        self.regions: list[str | None] = []

    def put(self, group: str, stream: str, message: str, timestamp_ms: int | None = None, region: str | None = None) -> None:
        self.lines.append((group, stream, message))
        self.regions.append(region)


class FakeCompute:
    def __init__(self) -> None:
        self.stopped: list[str] = []

    def stop_instances(self, ids: list[str]) -> None:
        self.stopped.extend(ids)


@pytest.fixture
def env(tmp_path: Path) -> Iterator[tuple[AlarmManager, MetricStore, Clock, dict[str, Any]]]:
    store = MetricStore(tmp_path / "m.db")
    clock = Clock()
    components: dict[str, Any] = {"logs": FakeLogs(), "compute": FakeCompute()}
    mgr = AlarmManager(StateDB(tmp_path / "s.db"), store, "us-east-1", "000000000000", clock=clock, components=components)
    yield mgr, store, clock, components
    mgr.close()


def put(store: MetricStore, minute: int, value: float, name: str = "Errors", dims: tuple[tuple[str, str], ...] = (("Svc", "a"),)) -> None:
    store.put([Datum.single("App", name, dims, value, T0 + minute * 60 + 5)])


def alarm(mgr: AlarmManager, **kw: Any) -> None:
    params = {
        "AlarmName": "high",
        "Namespace": "App",
        "MetricName": "Errors",
        "Dimensions": [{"Name": "Svc", "Value": "a"}],
        "Statistic": "Sum",
        "Period": 60,
        "EvaluationPeriods": 3,
        "DatapointsToAlarm": 2,
        "Threshold": 5.0,
        "ComparisonOperator": "GreaterThanThreshold",
    }
    params.update(kw)
    mgr.put_metric_alarm(params)


def state(mgr: AlarmManager, name: str = "high") -> str:
    return str(mgr.alarms[name]["StateValue"])


def test_m_out_of_n_transitions_and_history(env: Any) -> None:
    mgr, store, clock, _ = env
    alarm(mgr)
    assert state(mgr) == "INSUFFICIENT_DATA"
    put(store, 0, 1)
    put(store, 1, 9)
    clock.now = T0 + 3 * 60 + 1  # evaluates minutes 0, 1, 2
    mgr.evaluate_all()
    assert state(mgr) == "OK"  # 1 of 3 breaching, 2 needed
    put(store, 2, 7)
    mgr.evaluate_all()
    assert state(mgr) == "ALARM"
    reason = mgr.alarms["high"]["StateReason"]
    assert reason.startswith("Threshold Crossed: 2 out of the last 3 datapoints") and "greater than the threshold (5.0)" in reason
    data = json.loads(mgr.alarms["high"]["StateReasonData"])
    assert data["recentDatapoints"] == [1.0, 9.0, 7.0] and data["period"] == 60 and data["statistic"] == "Sum"
    put(store, 3, 0)
    put(store, 4, 0)
    clock.now = T0 + 5 * 60 + 1  # minutes 2, 3, 4: one breaching
    mgr.evaluate_all()
    assert state(mgr) == "OK"
    items = mgr.history({"AlarmName": "high", "HistoryItemType": "StateUpdate", "ScanBy": "TimestampAscending"})["AlarmHistoryItems"]
    assert [i["HistorySummary"] for i in items] == [
        "Alarm updated from INSUFFICIENT_DATA to OK",
        "Alarm updated from OK to ALARM",
        "Alarm updated from ALARM to OK",
    ]
    assert json.loads(items[1]["HistoryData"])["newState"]["stateValue"] == "ALARM"
    # history is kept for 30 days
    assert mgr.purge_history(T0 + 29 * 86400) == 0
    assert mgr.purge_history(T0 + 31 * 86400) > 0
    assert mgr.history({"AlarmName": "high"})["AlarmHistoryItems"] == []


@pytest.mark.parametrize(("treat", "expected"), [("missing", "INSUFFICIENT_DATA"), ("breaching", "ALARM"), ("notBreaching", "OK"), ("ignore", "ALARM")])
def test_treat_missing_data(env: Any, treat: str, expected: str) -> None:
    mgr, _, clock, _ = env
    alarm(mgr, TreatMissingData=treat)
    mgr.set_state("high", "ALARM", "forced", None)
    clock.now = T0 + 600
    mgr.evaluate_all()
    assert state(mgr) == expected


def test_extended_statistic_and_less_than(env: Any) -> None:
    mgr, store, clock, _ = env
    alarm(mgr, Statistic=None, ExtendedStatistic="p90", EvaluationPeriods=1, DatapointsToAlarm=1, Threshold=50.0, ComparisonOperator="LessThanOrEqualToThreshold")
    store.put([Datum("App", "Errors", (("Svc", "a"),), T0 + 10, sum(range(1, 101)), 100, 1, 100, [x for v in range(1, 101) for x in (float(v), 1.0)])])
    clock.now = T0 + 61
    mgr.evaluate_all()
    assert state(mgr) == "OK"  # p90 = 90 > 50


def test_metric_math_alarm(env: Any) -> None:
    mgr, store, clock, _ = env
    queries = [
        {"Id": "errors", "MetricStat": {"Metric": {"Namespace": "App", "MetricName": "Errors", "Dimensions": [{"Name": "Svc", "Value": "a"}]}, "Period": 60, "Stat": "Sum"}, "ReturnData": False},
        {"Id": "calls", "MetricStat": {"Metric": {"Namespace": "App", "MetricName": "Calls", "Dimensions": [{"Name": "Svc", "Value": "a"}]}, "Period": 60, "Stat": "Sum"}, "ReturnData": False},
        {"Id": "rate", "Expression": "100 * errors / calls", "Label": "error rate", "ReturnData": True},
    ]
    mgr.put_metric_alarm({"AlarmName": "rate", "Metrics": queries, "EvaluationPeriods": 1, "Threshold": 10.0, "ComparisonOperator": "GreaterThanOrEqualToThreshold"})
    put(store, 0, 3)
    put(store, 0, 10, name="Calls")
    clock.now = T0 + 61
    mgr.evaluate_all()
    assert state(mgr, "rate") == "ALARM"  # 30 %


def test_composite_rules(env: Any) -> None:
    mgr, _, _, _ = env
    alarm(mgr, AlarmName="a")
    alarm(mgr, AlarmName="b")
    mgr.put_composite_alarm({"AlarmName": "both", "AlarmRule": 'ALARM("a") AND NOT OK(b)'})
    assert state(mgr, "both") == "OK"  # a is INSUFFICIENT_DATA, not ALARM
    mgr.set_state("a", "ALARM", "x", None)
    assert state(mgr, "both") == "ALARM"
    mgr.set_state("b", "OK", "x", None)
    assert state(mgr, "both") == "OK"
    # The reason and its data name the alarms that brought the change, not every alarm of the rule.
    mgr.put_composite_alarm({"AlarmName": "either", "AlarmRule": 'ALARM("a") OR ALARM("b")'})
    described = {a["AlarmName"]: a for a in mgr.describe({"AlarmTypes": ["CompositeAlarm"]})["CompositeAlarms"]}["either"]
    assert described["StateValue"] == "ALARM"
    assert described["StateReason"].startswith(f"{mgr.arn('a')} transitioned to ALARM at ")
    assert [t["arn"] for t in json.loads(described["StateReasonData"])["triggeringAlarms"]] == [mgr.arn("a")]
    with pytest.raises(AwsError) as err:
        mgr.put_composite_alarm({"AlarmName": "bad", "AlarmRule": 'ALARM("nope")'})
    assert err.value.code == "ValidationError"
    with pytest.raises(AwsError) as err:
        mgr.delete(["a"])
    assert err.value.code == "ResourceConflict"
    rule = parse_rule("(ALARM(x) OR TRUE) AND NOT INSUFFICIENT_DATA(y)")
    assert eval_rule(rule, {"y": "OK"}) and not eval_rule(rule, {"y": "INSUFFICIENT_DATA"})


class _Hook(BaseHTTPRequestHandler):
    received: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["content-length"]))
        _Hook.received.append(json.loads(body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def _wait(cond: Any, timeout: float = 10.0) -> bool:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if cond():
            return True
        time.sleep(0.05)
    return bool(cond())


def test_actions_webhook_logs_ec2_and_disable(env: Any) -> None:
    mgr, _, _, components = env
    server = HTTPServer(("127.0.0.1", 0), _Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/hook"
        alarm(
            mgr,
            Dimensions=[{"Name": "InstanceId", "Value": "i-0123456789abcdef0"}],
            AlarmActions=[url, "arn:aws:logs:us-east-1:000000000000:log-group:/alarms", "arn:aws:automate:us-east-1:ec2:stop"],
            OKActions=[url],
        )
        mgr.set_state("high", "ALARM", "testing", None)
        assert _wait(lambda: len(_Hook.received) == 1 and components["compute"].stopped and components["logs"].lines)
        note = _Hook.received[0]
        assert note["Type"] == "Notification" and note["Subject"].startswith('ALARM: "high" in US East (N. Virginia)')
        message = json.loads(note["Message"])
        assert message["NewStateValue"] == "ALARM" and message["OldStateValue"] == "INSUFFICIENT_DATA"
        assert message["Trigger"]["MetricName"] == "Errors"
        assert components["compute"].stopped == ["i-0123456789abcdef0"]
        assert components["logs"].lines[0][0] == "/alarms"
        assert _wait(lambda: len(mgr.history({"AlarmName": "high", "HistoryItemType": "Action"})["AlarmHistoryItems"]) == 3)
        mgr.set_actions_enabled(["high"], False)
        mgr.set_state("high", "OK", "quiet", None)
        time.sleep(0.2)
        assert len(_Hook.received) == 1  # actions disabled: no OK notification
    finally:
        server.shutdown()


def test_validation(env: Any) -> None:
    mgr, _, _, _ = env
    for bad, code in (
        ({"ComparisonOperator": "GreaterThanUpperThreshold"}, "MissingParameter"),  # an anomaly band operator needs ThresholdMetricId
        ({"ComparisonOperator": "Sideways"}, "ValidationError"),
        ({"DatapointsToAlarm": 4}, "ValidationError"),
        ({"Period": 45}, "InvalidParameterValue"),
        ({"ExtendedStatistic": "p50"}, "InvalidParameterCombination"),
        ({"TreatMissingData": "sometimes"}, "ValidationError"),
        ({"AlarmActions": ["not-an-arn"]}, "ValidationError"),
    ):
        with pytest.raises(AwsError) as err:
            alarm(mgr, **bad)
        assert err.value.code == code, bad
    with pytest.raises(AwsError) as err:
        mgr.set_state("missing", "OK", "x", None)
    assert err.value.code == "ResourceNotFound"
