"""Alarm actions that name an SNS topic of this endpoint publish to it (moto's SNS fans the
notification out to an SQS subscription here), and every alarm state change reaches
EventBridge's default bus as a "CloudWatch Alarm State Change" event (a rule's SQS target gets
it), through the wire."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

from emulator.testing.server import EmulatorServer

from .conftest import control, wait_for


def _queue(server: EmulatorServer) -> tuple[str, str]:
    sqs = server.client("sqs")
    url = sqs.create_queue(QueueName=f"alarm-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return str(url), str(arn)


def _subscribed_topic(server: EmulatorServer) -> tuple[str, str]:
    """A topic with an SQS subscription: (topic ARN, queue URL)."""
    sns = server.client("sns")
    topic = str(sns.create_topic(Name=f"alarms-{uuid.uuid4().hex[:8]}")["TopicArn"])
    url, arn = _queue(server)
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    return topic, url


def _next(server: EmulatorServer, url: str) -> dict[str, Any] | None:
    """The next message's body, parsed (deleted from the queue), None when none came."""
    sqs = server.client("sqs")
    found = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1, WaitTimeSeconds=1).get("Messages", [])
    if not found:
        return None
    sqs.delete_message(QueueUrl=url, ReceiptHandle=found[0]["ReceiptHandle"])
    return dict(json.loads(found[0]["Body"]))


def _alarm(cw: Any, name: str, **kw: Any) -> None:
    cw.put_metric_alarm(
        AlarmName=name, AlarmDescription="errors are up", Namespace=f"Test/{name}", MetricName="Errors", Dimensions=[{"Name": "Svc", "Value": "a"}],
        Statistic="Sum", Period=60, EvaluationPeriods=1, Threshold=1.0, ComparisonOperator="GreaterThanThreshold", **kw,
    )


def _actions(cw: Any, name: str, count: int) -> list[dict[str, Any]]:
    def items() -> list[dict[str, Any]]:
        found = cw.describe_alarm_history(AlarmName=name, HistoryItemType="Action", AlarmTypes=["MetricAlarm", "CompositeAlarm"])["AlarmHistoryItems"]
        return list(found) if len(found) >= count else []

    return list(wait_for(items, 30) or [])


def test_alarm_and_ok_actions_publish_to_the_topic(mon: EmulatorServer, cw: Any) -> None:
    topic, url = _subscribed_topic(mon)
    name = f"to-sns-{uuid.uuid4().hex[:6]}"
    _alarm(cw, name, AlarmActions=[topic], OKActions=[topic])
    cw.set_alarm_state(AlarmName=name, StateValue="ALARM", StateReason="testing the topic")
    envelope = wait_for(lambda: _next(mon, url), 30)
    assert envelope is not None, "the subscribed queue got no notification"
    assert envelope["Type"] == "Notification" and envelope["TopicArn"] == topic
    assert envelope["Subject"] == f'ALARM: "{name}" in US East (N. Virginia)'
    message = json.loads(envelope["Message"])
    arn = f"arn:aws:cloudwatch:us-east-1:000000000000:alarm:{name}"
    assert message["AlarmName"] == name and message["AlarmDescription"] == "errors are up" and message["AlarmArn"] == arn
    assert message["AWSAccountId"] == "000000000000" and message["Region"] == "US East (N. Virginia)"
    assert message["NewStateValue"] == "ALARM" and message["OldStateValue"] == "INSUFFICIENT_DATA"
    assert message["NewStateReason"] == "testing the topic"
    assert message["AlarmActions"] == [topic] and message["OKActions"] == [topic] and message["InsufficientDataActions"] == []
    assert message["StateChangeTime"].endswith("+0000") and message["AlarmConfigurationUpdatedTimestamp"].endswith("+0000")
    trigger = message["Trigger"]
    assert trigger["MetricName"] == "Errors" and trigger["Namespace"] == f"Test/{name}" and trigger["Statistic"] == "SUM"
    assert trigger["Dimensions"] == [{"value": "a", "name": "Svc"}] and trigger["Threshold"] == 1.0 and trigger["Period"] == 60
    assert trigger["ComparisonOperator"] == "GreaterThanThreshold" and trigger["EvaluationPeriods"] == 1

    cw.set_alarm_state(AlarmName=name, StateValue="OK", StateReason="quiet again")
    back = wait_for(lambda: _next(mon, url), 30)
    assert back is not None, "no OK notification"
    assert back["Subject"] == f'OK: "{name}" in US East (N. Virginia)'
    ok = json.loads(back["Message"])
    assert ok["NewStateValue"] == "OK" and ok["OldStateValue"] == "ALARM" and ok["NewStateReason"] == "quiet again"

    history = _actions(cw, name, 2)
    assert [h["HistorySummary"] for h in history] == [f"Successfully executed action {topic}"] * 2
    data = json.loads(history[0]["HistoryData"])
    assert data["actionState"] == "Succeeded" and data["notificationResource"] == topic
    assert json.loads(data["publishedMessage"])["NewStateValue"] == "OK"  # newest first


def test_missing_topic_fails_the_action(mon: EmulatorServer, cw: Any) -> None:
    topic = f"arn:aws:sns:us-east-1:000000000000:absent-{uuid.uuid4().hex[:8]}"
    name = f"no-topic-{uuid.uuid4().hex[:6]}"
    _alarm(cw, name, AlarmActions=[topic])
    cw.set_alarm_state(AlarmName=name, StateValue="ALARM", StateReason="testing")
    [item] = _actions(cw, name, 1)
    assert item["HistorySummary"].startswith(f"Failed to execute action {topic}.")
    data = json.loads(item["HistoryData"])
    assert data["actionState"] == "Failed" and data["notificationResource"] == topic and "does not exist" in data["error"]


def _rule(mon: EmulatorServer, names: list[str]) -> str:
    """A rule of the default bus for these alarms' state changes, with an SQS target: its queue URL."""
    events = mon.client("events")
    url, arn = _queue(mon)
    pattern = {"source": ["aws.cloudwatch"], "detail-type": ["CloudWatch Alarm State Change"], "detail": {"alarmName": names}}
    rule = f"alarms-{uuid.uuid4().hex[:8]}"
    events.put_rule(Name=rule, EventPattern=json.dumps(pattern))
    events.put_targets(Rule=rule, Targets=[{"Id": "q", "Arn": arn}])
    return url


def test_state_changes_reach_eventbridge(mon: EmulatorServer, cw: Any) -> None:
    name = f"eb-{uuid.uuid4().hex[:6]}"
    parent = f"eb-parent-{uuid.uuid4().hex[:6]}"
    url = _rule(mon, [name, parent])
    _alarm(cw, name)
    cw.put_composite_alarm(AlarmName=parent, AlarmRule=f'ALARM("{name}")', AlarmDescription="any child")
    cw.set_alarm_state(AlarmName=name, StateValue="ALARM", StateReason="testing events")
    got: dict[str, dict[str, Any]] = {}  # the ALARM event of each (the composite also went INSUFFICIENT_DATA -> OK when created)

    def both() -> bool:
        event = _next(mon, url)
        if event is not None and event["detail"]["state"]["value"] == "ALARM":
            got[event["detail"]["alarmName"]] = event
        return name in got and parent in got

    assert wait_for(both, 30), f"events received: {sorted(got)}"
    event = got[name]
    assert event["source"] == "aws.cloudwatch" and event["detail-type"] == "CloudWatch Alarm State Change"
    assert event["region"] == "us-east-1"  # (moto's delivery to targets leaves "account" out)
    assert event["resources"] == [f"arn:aws:cloudwatch:us-east-1:000000000000:alarm:{name}"]
    detail = event["detail"]
    assert detail["state"]["value"] == "ALARM" and detail["state"]["reason"] == "testing events" and detail["state"]["timestamp"].endswith("+0000")
    assert detail["previousState"]["value"] == "INSUFFICIENT_DATA" and detail["previousState"]["reason"] == "Unchecked: Initial alarm creation"
    assert detail["configuration"]["description"] == "errors are up"
    [metric] = detail["configuration"]["metrics"]
    assert metric["returnData"] is True
    assert metric["metricStat"] == {"metric": {"dimensions": {"Svc": "a"}, "name": "Errors", "namespace": f"Test/{name}"}, "period": 60, "stat": "Sum"}
    composite = got[parent]["detail"]
    assert composite["previousState"]["value"] == "OK"
    assert json.loads(composite["state"]["reasonData"])["triggeringAlarms"][0]["state"]["value"] == "ALARM"
    assert composite["configuration"] == {"description": "any child", "alarmRule": f'ALARM("{name}")'}


def test_metric_driven_transition_notifies(mon: EmulatorServer, cw: Any) -> None:
    topic, url = _subscribed_topic(mon)
    name = f"metric-{uuid.uuid4().hex[:6]}"
    events_url = _rule(mon, [name])
    _alarm(cw, name, AlarmActions=[topic])
    at = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=30)
    cw.put_metric_data(Namespace=f"Test/{name}", MetricData=[
        {"MetricName": "Errors", "Dimensions": [{"Name": "Svc", "Value": "a"}], "Value": 5.0, "Timestamp": at},
    ])
    control(mon, "alarms", (at.timestamp() // 60 + 1) * 60 + 1)  # just after the datapoint's period ends
    [alarm] = cw.describe_alarms(AlarmNames=[name])["MetricAlarms"]
    assert alarm["StateValue"] == "ALARM"
    envelope = wait_for(lambda: _next(mon, url), 30)
    assert envelope is not None, "no notification for the evaluated transition"
    message = json.loads(envelope["Message"])
    assert message["NewStateValue"] == "ALARM" and message["NewStateReason"].startswith("Threshold Crossed: 1 out of the last 1 datapoints [5.0")
    event = wait_for(lambda: _next(mon, events_url), 30)
    assert event is not None, "no EventBridge event for the evaluated transition"
    assert event["detail"]["state"]["value"] == "ALARM" and json.loads(event["detail"]["state"]["reasonData"])["recentDatapoints"] == [5.0]
