"""POST /_emulator/reset for CloudWatch and CloudWatch Logs: each service forgets only its own
state, new data works at once, the background tasks bring nothing back, and a restart on the
same data dir shows nothing of what was reset.

A server of its own (not the package's ``mon``): a reset wipes every test's resources."""

from __future__ import annotations

import datetime as dt
import json
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from emulator.gateway.audit import AUDIT_GROUP
from emulator.monitoring.alarms import AlarmManager
from emulator.monitoring.metrics import MetricStore
from emulator.monitoring.statedb import StateDB
from emulator.testing.raw import signed
from emulator.testing.server import EmulatorServer

from .conftest import control, wait_for

# Telemetry is written only when a test asks (POST /_emulator/monitoring/flush), so that
# aggregates are still pending at the reset; alarms and host sampling only on request too.
ENV = {"EMULATOR_TELEMETRY_FLUSH": "100000", "EMULATOR_ALARM_INTERVAL": "100000", "EMULATOR_TELEMETRY_INTERVAL": "100000"}
NS = "App/Reset"
DASHBOARD = json.dumps({"widgets": [{"type": "text", "properties": {"markdown": "x"}}]})


def reset(server: EmulatorServer, services: list[str]) -> dict[str, Any]:
    """The reset endpoint's answer ({"reset": [...], "seconds": ...}); EmulatorServer.reset drops the timing."""
    req = urllib.request.Request(
        server.endpoint + "/_emulator/reset", data=json.dumps({"services": services}).encode(), method="POST",
        headers={"authorization": f"Bearer {server.access_key}:{server.secret_key}", "content-type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=30) as resp:
        doc: dict[str, Any] = json.loads(resp.read())
    assert doc["reset"] == sorted(services)
    assert doc["seconds"] < 0.5, doc  # runs before every test: milliseconds
    return doc


def window() -> dict[str, Any]:
    now = dt.datetime.now(dt.UTC)
    return {"StartTime": now - dt.timedelta(minutes=10), "EndTime": now + dt.timedelta(minutes=5), "Period": 60}


def metric_names(cw: Any, namespace: str) -> list[str]:
    return sorted(m["MetricName"] for m in cw.list_metrics(Namespace=namespace)["Metrics"])


def gateway_count(cw: Any, operation: str) -> float:
    """Emulator/Gateway Count of a CloudWatch operation: the emulator's own metrics."""
    dims = [{"Name": "Operation", "Value": operation}, {"Name": "Service", "Value": "cloudwatch"}]
    points = cw.get_metric_statistics(Namespace="Emulator/Gateway", MetricName="Count", Dimensions=dims, Statistics=["Sum"], **window())["Datapoints"]
    return sum(p["Sum"] for p in points)


def audit_messages(logs: Any) -> list[str]:
    try:
        return [e["message"] for e in logs.filter_log_events(logGroupName=AUDIT_GROUP)["events"]]
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ResourceNotFoundException":
            return []
        raise


@pytest.fixture()
def server(tmp_path: Path) -> Iterator[EmulatorServer]:
    srv = EmulatorServer(data_dir=tmp_path / "data", env=ENV)
    srv.start()
    try:
        yield srv
    finally:
        srv.cleanup()


def populate(cw: Any, logs: Any) -> str:
    """One of everything; returns the request id of a logs call (to look for in the audit group)."""
    cw.put_metric_data(Namespace=NS, MetricData=[{"MetricName": "m", "Value": 7.0}])
    cw.put_metric_alarm(
        AlarmName="a1", Namespace=NS, MetricName="m", Statistic="Sum", Period=60, EvaluationPeriods=1, Threshold=1.0,
        ComparisonOperator="GreaterThanThreshold", Tags=[{"Key": "team", "Value": "x"}],
    )
    cw.put_composite_alarm(AlarmName="c1", AlarmRule="ALARM(a1)")
    cw.set_alarm_state(AlarmName="a1", StateValue="ALARM", StateReason="test")
    cw.put_dashboard(DashboardName="d1", DashboardBody=DASHBOARD)
    created = logs.create_log_group(logGroupName="/app/reset", tags={"team": "x"})
    logs.put_retention_policy(logGroupName="/app/reset", retentionInDays=7)
    logs.create_log_stream(logGroupName="/app/reset", logStreamName="s")
    logs.put_metric_filter(
        logGroupName="/app/reset", filterName="errors", filterPattern="ERROR",
        metricTransformations=[{"metricName": "errors", "metricNamespace": "App/Filters", "metricValue": "1"}],
    )
    logs.put_log_events(logGroupName="/app/reset", logStreamName="s", logEvents=[{"timestamp": int(time.time() * 1000), "message": "ERROR old"}])
    now = int(time.time())
    logs.start_query(logGroupName="/app/reset", startTime=now - 600, endTime=now + 60, queryString="fields @message")
    return str(created["ResponseMetadata"]["RequestId"])


def test_reset_logs_then_cloudwatch(server: EmulatorServer) -> None:
    cw, logs = server.client("cloudwatch"), server.client("logs")
    old_request = populate(cw, logs)
    assert wait_for(lambda: any(old_request in m for m in audit_messages(logs))), "the audit trail reaches CloudWatch Logs"
    control(server, "flush")
    assert gateway_count(cw, "PutMetricData") == 1.0
    assert metric_names(cw, "App/Filters") == ["errors"]

    # ---- logs alone: every Logs resource goes, CloudWatch keeps everything
    reset(server, ["logs"])
    assert logs.describe_log_groups(logGroupNamePrefix="/app")["logGroups"] == []
    assert logs.describe_metric_filters()["metricFilters"] == []
    assert logs.describe_queries()["queries"] == []
    with pytest.raises(ClientError) as err:
        logs.list_tags_log_group(logGroupName="/app/reset")
    assert err.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert metric_names(cw, NS) == ["m"]
    assert metric_names(cw, "App/Filters") == ["errors"]
    assert {a["AlarmName"] for a in cw.describe_alarms(AlarmTypes=["MetricAlarm", "CompositeAlarm"])["MetricAlarms"]} == {"a1"}
    assert [d["DashboardName"] for d in cw.list_dashboards()["DashboardEntries"]] == ["d1"]

    # the audit group comes back with the next calls' records, and only theirs
    new_request = logs.describe_log_groups()["ResponseMetadata"]["RequestId"]
    assert wait_for(lambda: any(new_request in m for m in audit_messages(logs))), "audit records after the reset are written"
    assert not any(old_request in m for m in audit_messages(logs))
    [group] = logs.describe_log_groups(logGroupNamePrefix=AUDIT_GROUP)["logGroups"]
    assert group["logGroupName"] == AUDIT_GROUP

    # the same name again: a new, empty group without the old filter, retention or tags
    logs.create_log_group(logGroupName="/app/reset")
    logs.create_log_stream(logGroupName="/app/reset", logStreamName="s")
    logs.put_log_events(logGroupName="/app/reset", logStreamName="s", logEvents=[{"timestamp": int(time.time() * 1000), "message": "ERROR new"}])
    assert [e["message"] for e in logs.filter_log_events(logGroupName="/app/reset")["events"]] == ["ERROR new"]
    [group] = logs.describe_log_groups(logGroupNamePrefix="/app/reset")["logGroups"]
    assert "retentionInDays" not in group and group["metricFilterCount"] == 0
    assert logs.list_tags_log_group(logGroupName="/app/reset")["tags"] == {}

    # ---- cloudwatch: metrics (the user's and the emulator's own, pending ones too), alarms, history, dashboards
    cw.put_metric_data(Namespace=NS, MetricData=[{"MetricName": "m", "Value": 1.0}])  # its gateway datapoint is still pending
    alarm_arn = cw.describe_alarms(AlarmNames=["a1"])["MetricAlarms"][0]["AlarmArn"]
    reset(server, ["cloudwatch"])
    control(server, "flush")
    assert metric_names(cw, NS) == []
    assert metric_names(cw, "App/Filters") == []
    assert gateway_count(cw, "PutMetricData") == 0.0
    alarms = cw.describe_alarms(AlarmTypes=["MetricAlarm", "CompositeAlarm"])
    assert alarms["MetricAlarms"] == [] and alarms["CompositeAlarms"] == []
    assert cw.describe_alarm_history(AlarmTypes=["MetricAlarm", "CompositeAlarm"])["AlarmHistoryItems"] == []
    assert cw.list_dashboards()["DashboardEntries"] == []
    with pytest.raises(ClientError) as err:
        cw.list_tags_for_resource(ResourceARN=alarm_arn)
    assert err.value.response["Error"]["Code"] == "ResourceNotFoundException"
    # the logs side is untouched by a CloudWatch reset
    assert [e["message"] for e in logs.filter_log_events(logGroupName="/app/reset")["events"]] == ["ERROR new"]

    # background tasks after the reset: they run and bring nothing back
    for task in ("alarms", "housekeeping", "collect", "flush"):
        control(server, task)
    assert metric_names(cw, NS) == [] and cw.describe_alarms()["MetricAlarms"] == []

    # new data works at once
    cw.put_metric_data(Namespace=NS, MetricData=[{"MetricName": "m", "Value": 3.0}])
    stats = cw.get_metric_statistics(Namespace=NS, MetricName="m", Statistics=["Sum", "SampleCount"], **window())["Datapoints"]
    assert [(p["Sum"], p["SampleCount"]) for p in stats] == [(3.0, 1.0)]
    cw.put_metric_alarm(
        AlarmName="a1", Namespace=NS, MetricName="m", Statistic="Sum", Period=60, EvaluationPeriods=1, Threshold=1.0,
        ComparisonOperator="GreaterThanThreshold",
    )
    history = cw.describe_alarm_history(AlarmName="a1")["AlarmHistoryItems"]
    assert [h["HistorySummary"] for h in history] == ['Alarm "a1" created']
    assert cw.list_tags_for_resource(ResourceARN=alarm_arn)["Tags"] == []
    cw.put_dashboard(DashboardName="d2", DashboardBody=DASHBOARD)
    assert [d["DashboardName"] for d in cw.list_dashboards()["DashboardEntries"]] == ["d2"]


def test_reset_is_durable(server: EmulatorServer, tmp_path: Path) -> None:
    cw, logs = server.client("cloudwatch"), server.client("logs")
    populate(cw, logs)
    control(server, "flush")
    reset(server, ["cloudwatch", "logs"])
    server.kill()  # no clean shutdown: what the reset committed must be on disk already

    again = EmulatorServer(data_dir=server.data_dir, env=ENV)
    again.start()
    try:
        cw, logs = again.client("cloudwatch"), again.client("logs")
        assert metric_names(cw, NS) == [] and metric_names(cw, "App/Filters") == []
        assert metric_names(cw, "Emulator/Gateway") == []  # the first flush has not run yet
        alarms = cw.describe_alarms(AlarmTypes=["MetricAlarm", "CompositeAlarm"])
        assert alarms["MetricAlarms"] == [] and alarms["CompositeAlarms"] == []
        assert cw.describe_alarm_history(AlarmTypes=["MetricAlarm", "CompositeAlarm"])["AlarmHistoryItems"] == []
        assert cw.list_dashboards()["DashboardEntries"] == []
        assert logs.describe_log_groups(logGroupNamePrefix="/app")["logGroups"] == []
        assert logs.describe_metric_filters()["metricFilters"] == []
    finally:
        again.stop()


def test_reset_twice_and_usage_kept(server: EmulatorServer) -> None:
    """Both handlers share one engine: resetting both, twice, is safe; the usage ledger stays."""
    cw, logs = server.client("cloudwatch"), server.client("logs")
    populate(cw, logs)
    control(server, "flush")
    before = signed(server, "GET", "/_emulator/usage", service="ce").json()  # signed: it needs ce:GetCostAndUsage
    assert before["by_service"]
    for _ in range(2):
        reset(server, ["cloudwatch", "logs"])
    after = signed(server, "GET", "/_emulator/usage", service="ce").json()
    assert set(before["by_service"]) <= set(after["by_service"])
    with urllib.request.urlopen(server.endpoint + "/metrics", timeout=10) as resp:
        assert b'service="cloudwatch"' in resp.read()  # Prometheus counters: the server's own history


def test_alarm_action_queued_before_reset_does_nothing(tmp_path: Path) -> None:
    """An action queued before a reset (alarm actions run on a thread pool) neither runs nor writes history after it."""
    calls: list[Any] = []

    class Logs:
        def put(self, *args: Any, **kwargs: Any) -> None:
            calls.append((*args, kwargs))

    store = MetricStore(tmp_path / "metrics.db")
    mgr = AlarmManager(StateDB(tmp_path / "monitoring.db"), store, "us-east-1", "123456789012", components={"logs": Logs()})
    try:
        action = "arn:aws:logs:us-east-1:123456789012:log-group:/alarms"
        mgr.put_metric_alarm({
            "AlarmName": "a", "Namespace": "N", "MetricName": "m", "Statistic": "Sum", "Period": 60, "EvaluationPeriods": 1,
            "Threshold": 1.0, "ComparisonOperator": "GreaterThanThreshold", "AlarmActions": [action],
        })
        message = mgr._notification("a", "OK", time.time())
        generation = mgr._generation
        mgr.reset()
        mgr._run_action("a", "MetricAlarm", action, message, generation)
        assert calls == []
        assert mgr.history({"AlarmTypes": ["MetricAlarm"]})["AlarmHistoryItems"] == []
        mgr._run_action("a", "MetricAlarm", action, message, mgr._generation)  # the current generation still acts
        assert len(calls) == 1
    finally:
        mgr.close()
        store.close()
