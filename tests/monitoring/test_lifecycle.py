"""The scheduled alarm evaluator, and persistence of metrics, alarms, dashboards and logs across restarts."""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path

from emulator.testing.server import EmulatorServer

from .conftest import wait_for


def test_scheduled_evaluation_and_restart(tmp_path: Path) -> None:
    env = {"EMULATOR_ALARM_INTERVAL": "0.3", "EMULATOR_TELEMETRY_FLUSH": "0.2"}
    now = dt.datetime.now(dt.UTC)
    server = EmulatorServer(data_dir=tmp_path / "data", env=env)
    server.start()
    try:
        cw, logs = server.client("cloudwatch"), server.client("logs")
        # no data, missing data treated as breaching: the scheduler alone moves it to ALARM
        cw.put_metric_alarm(
            AlarmName="sched", Namespace="N", MetricName="m", Statistic="Sum", Period=10, EvaluationPeriods=1, Threshold=1.0,
            ComparisonOperator="GreaterThanThreshold", TreatMissingData="breaching",
        )
        assert wait_for(lambda: cw.describe_alarms(AlarmNames=["sched"])["MetricAlarms"][0]["StateValue"] == "ALARM", timeout=10)
        reason = cw.describe_alarms(AlarmNames=["sched"])["MetricAlarms"][0]["StateReason"]
        assert reason == "Threshold Crossed: no datapoints were received for 1 period and 1 missing datapoint was treated as [Breaching]."
        cw.put_metric_alarm(
            AlarmName="calm", Namespace="N", MetricName="none", Statistic="Sum", Period=10, EvaluationPeriods=2, DatapointsToAlarm=1,
            Threshold=1.0, ComparisonOperator="GreaterThanThreshold", TreatMissingData="notBreaching",
        )
        assert wait_for(lambda: cw.describe_alarms(AlarmNames=["calm"])["MetricAlarms"][0]["StateValue"] == "OK", timeout=10)
        reason = cw.describe_alarms(AlarmNames=["calm"])["MetricAlarms"][0]["StateReason"]
        assert reason == "Threshold Crossed: no datapoints were received for 2 periods and 2 missing datapoints were treated as [NonBreaching]."
        cw.put_metric_data(Namespace="N", MetricData=[{"MetricName": "m", "Value": 42.0, "Timestamp": now}])
        cw.put_dashboard(DashboardName="keep", DashboardBody=json.dumps({"widgets": [{"type": "text", "properties": {"markdown": "x"}}]}))
        logs.create_log_group(logGroupName="/keep")
        logs.create_log_stream(logGroupName="/keep", logStreamName="s")
        logs.put_log_events(logGroupName="/keep", logStreamName="s", logEvents=[{"timestamp": int(time.time() * 1000), "message": "persisted"}])
    finally:
        server.stop()
    server = EmulatorServer(data_dir=tmp_path / "data", env=env)
    server.start()
    try:
        cw, logs = server.client("cloudwatch"), server.client("logs")
        stats = cw.get_metric_statistics(Namespace="N", MetricName="m", StartTime=now - dt.timedelta(minutes=5), EndTime=now + dt.timedelta(minutes=5), Period=60, Statistics=["Maximum"])
        assert [d["Maximum"] for d in stats["Datapoints"]] == [42.0]
        [alarm] = cw.describe_alarms(AlarmNames=["sched"])["MetricAlarms"]
        assert alarm["StateValue"] in ("ALARM", "OK")
        assert cw.describe_alarm_history(AlarmName="sched", HistoryItemType="StateUpdate")["AlarmHistoryItems"]
        assert json.loads(cw.get_dashboard(DashboardName="keep")["DashboardBody"])["widgets"][0]["type"] == "text"
        assert [e["message"] for e in logs.get_log_events(logGroupName="/keep", logStreamName="s")["events"]] == ["persisted"]
    finally:
        server.cleanup()
