"""Alarm mute rules through the wire (boto3): CRUD, validation and errors, tags, and their
enforcement: a muted alarm changes state but its actions (an HTTP webhook here, as in
test_alarms.py) do not run; they run again once the rule is deleted or has expired, and
an alarm left in ALARM then runs its AlarmActions. Schedules are checked on the engine."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from botocore.exceptions import ClientError

from emulator.errors import AwsError
from emulator.monitoring.mute_rules import MuteRule, MuteRules, parse_duration
from emulator.monitoring.statedb import StateDB
from emulator.testing.server import EmulatorServer

from .conftest import control, cw_client, wait_for

UTC = dt.UTC


class _Hook(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["content-length"]))
        self.server.received.append(json.loads(body))  # type: ignore[attr-defined]
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def hook() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """An HTTP endpoint as alarm action: its URL and the notifications it received."""
    server = HTTPServer(("127.0.0.1", 0), _Hook)
    server.received = []  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook", server.received  # type: ignore[attr-defined]
    finally:
        server.shutdown()


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def make_alarm(cw: Any, name: str, actions: list[str] | None = None) -> None:
    cw.put_metric_alarm(
        AlarmName=name, Namespace="App/Mute", MetricName="Errors", Statistic="Sum", Period=60, EvaluationPeriods=1,
        Threshold=1.0, ComparisonOperator="GreaterThanThreshold", AlarmActions=actions or [], OKActions=actions or [],
        TreatMissingData="ignore",  # evaluations without data keep the state the test set
    )


def open_window() -> dict[str, Any]:
    """A one-time schedule whose window is open now (it began this minute, lasts an hour)."""
    now = dt.datetime.now(UTC)
    return {"Schedule": {"Expression": f"at({now:%Y-%m-%dT%H:%M})", "Duration": "PT1H"}}


def code(err: pytest.ExceptionInfo[ClientError]) -> str:
    return str(err.value.response["Error"]["Code"])


# ------------------------------------------------------------------ CRUD and errors
def test_put_get_list_delete(cw: Any) -> None:
    alarm = unique("mute-crud")
    make_alarm(cw, alarm)
    name = unique("rule")
    start = dt.datetime(2030, 1, 1, tzinfo=UTC)
    cw.put_alarm_mute_rule(
        Name=name, Description="weekly maintenance",
        Rule={"Schedule": {"Expression": "cron(0 2 * * SUN)", "Duration": "PT4H", "Timezone": "America/New_York"}},
        MuteTargets={"AlarmNames": [alarm]}, Tags=[{"Key": "team", "Value": "ops"}], StartDate=start,
        ExpireDate=dt.datetime(2031, 1, 1, tzinfo=UTC),
    )
    got = cw.get_alarm_mute_rule(AlarmMuteRuleName=name)
    arn = got["AlarmMuteRuleArn"]
    assert arn.startswith("arn:aws:cloudwatch:us-east-1:") and arn.endswith(f":alarm-mute-rule:{name}")
    assert got["Name"] == name and got["Description"] == "weekly maintenance"
    assert got["Rule"] == {"Schedule": {"Expression": "cron(0 2 * * SUN)", "Duration": "PT4H", "Timezone": "America/New_York"}}
    assert got["MuteTargets"] == {"AlarmNames": [alarm]}
    assert got["StartDate"] == start and got["Status"] == "SCHEDULED" and got["MuteType"] == "RECURRING"
    assert abs((got["LastUpdatedTimestamp"] - dt.datetime.now(UTC)).total_seconds()) < 60

    # an update replaces the configuration
    cw.put_alarm_mute_rule(Name=name, Rule=open_window(), MuteTargets={"AlarmNames": [alarm]})
    got = cw.get_alarm_mute_rule(AlarmMuteRuleName=name)
    assert got["Status"] == "ACTIVE" and got["MuteType"] == "ONE_TIME" and "Description" not in got and "StartDate" not in got

    [summary] = cw.list_alarm_mute_rules(AlarmName=alarm)["AlarmMuteRuleSummaries"]
    assert summary["AlarmMuteRuleArn"] == arn and summary["Status"] == "ACTIVE" and summary["MuteType"] == "ONE_TIME"
    assert arn in [s["AlarmMuteRuleArn"] for s in cw.list_alarm_mute_rules(Statuses=["ACTIVE"])["AlarmMuteRuleSummaries"]]
    assert arn not in [s["AlarmMuteRuleArn"] for s in cw.list_alarm_mute_rules(Statuses=["SCHEDULED", "EXPIRED"])["AlarmMuteRuleSummaries"]]

    # tags: set on creation (kept by the update), and TagResource & co. on the rule's ARN
    assert cw.list_tags_for_resource(ResourceARN=arn)["Tags"] == [{"Key": "team", "Value": "ops"}]
    cw.tag_resource(ResourceARN=arn, Tags=[{"Key": "env", "Value": "prod"}])
    cw.untag_resource(ResourceARN=arn, TagKeys=["team"])
    assert cw.list_tags_for_resource(ResourceARN=arn)["Tags"] == [{"Key": "env", "Value": "prod"}]

    cw.delete_alarm_mute_rule(AlarmMuteRuleName=name)
    cw.delete_alarm_mute_rule(AlarmMuteRuleName=name)  # idempotent
    with pytest.raises(ClientError) as err:
        cw.get_alarm_mute_rule(AlarmMuteRuleName=name)
    assert code(err) == "ResourceNotFoundException" and err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert cw.list_alarm_mute_rules(AlarmName=alarm)["AlarmMuteRuleSummaries"] == []
    with pytest.raises(ClientError) as err:
        cw.list_tags_for_resource(ResourceARN=arn)
    assert code(err) == "ResourceNotFoundException"


@pytest.mark.parametrize("protocol", ["query", "smithy-rpc-v2-cbor"])
def test_other_protocols(mon: EmulatorServer, protocol: str) -> None:
    cw = cw_client(mon, protocol)
    alarm = unique("mute-proto")
    make_alarm(cw, alarm)
    name = unique("rule")
    cw.put_alarm_mute_rule(Name=name, Rule={"Schedule": {"Expression": "cron(0 2 * * *)", "Duration": "PT2H"}}, MuteTargets={"AlarmNames": [alarm]})
    got = cw.get_alarm_mute_rule(AlarmMuteRuleName=name)
    assert got["MuteTargets"] == {"AlarmNames": [alarm]} and got["MuteType"] == "RECURRING"
    with pytest.raises(ClientError) as err:
        cw.get_alarm_mute_rule(AlarmMuteRuleName=unique("nope"))
    assert code(err) == "ResourceNotFoundException"
    cw.delete_alarm_mute_rule(AlarmMuteRuleName=name)


def test_validation(cw: Any) -> None:
    alarm = unique("mute-valid")
    make_alarm(cw, alarm)
    targets = {"AlarmNames": [alarm]}
    for rule, targets_, extra in (
        ({"Schedule": {"Expression": "rate(5 minutes)", "Duration": "PT1H"}}, targets, {}),
        ({"Schedule": {"Expression": "cron(0 2 * *)", "Duration": "PT1H"}}, targets, {}),  # four fields
        ({"Schedule": {"Expression": "cron(0 25 * * *)", "Duration": "PT1H"}}, targets, {}),  # hour 25
        ({"Schedule": {"Expression": "cron(0/5 2 * * *)", "Duration": "PT1H"}}, targets, {}),  # / is not supported
        ({"Schedule": {"Expression": "at(2030-02-30T10:00)", "Duration": "PT1H"}}, targets, {}),
        ({"Schedule": {"Expression": "cron(0 2 * * *)", "Duration": "PT30S"}}, targets, {}),  # under a minute
        ({"Schedule": {"Expression": "cron(0 2 * * *)", "Duration": "P16D"}}, targets, {}),  # over 15 days
        ({"Schedule": {"Expression": "cron(0 2 * * *)", "Duration": "4 hours"}}, targets, {}),
        ({"Schedule": {"Expression": "cron(0 2 * * *)", "Duration": "PT1H", "Timezone": "Mars/Olympus"}}, targets, {}),
        ({"Schedule": {"Expression": "cron(0 2 * * *)", "Duration": "PT1H"}}, {"AlarmNames": [unique("no-such-alarm")]}, {}),
        ({"Schedule": {"Expression": "cron(0 2 * * *)", "Duration": "PT1H"}}, targets,
         {"StartDate": dt.datetime(2031, 1, 1, tzinfo=UTC), "ExpireDate": dt.datetime(2030, 1, 1, tzinfo=UTC)}),
        ({"Schedule": {"Expression": "cron(0 2 * * *)", "Duration": "PT1H"}}, {"AlarmNames": [alarm] * 101}, {}),  # over 100 targets
    ):
        with pytest.raises(ClientError) as err:
            cw.put_alarm_mute_rule(Name=unique("bad"), Rule=rule, MuteTargets=targets_, **extra)
        assert code(err) == "InvalidParameterValue", (rule, targets_, extra)
    with pytest.raises(ClientError) as err:
        cw.list_alarm_mute_rules(AlarmName=unique("no-such-alarm"))
    assert code(err) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as err:
        cw.list_alarm_mute_rules(NextToken="not a token")
    assert code(err) == "InvalidNextToken"
    with pytest.raises(ClientError) as err:
        cw.tag_resource(ResourceARN="arn:aws:cloudwatch:us-east-1:000000000000:alarm-mute-rule:" + unique("none"), Tags=[{"Key": "a", "Value": "b"}])
    assert code(err) == "ResourceNotFoundException"


def test_list_paging(cw: Any) -> None:
    alarm = unique("mute-page")
    make_alarm(cw, alarm)
    names = sorted(unique("page") for _ in range(5))
    for name in names:
        cw.put_alarm_mute_rule(Name=name, Rule={"Schedule": {"Expression": "cron(0 3 1 JAN *)", "Duration": "PT1M"}}, MuteTargets={"AlarmNames": [alarm]})
    seen: list[str] = []
    kwargs: dict[str, Any] = {"AlarmName": alarm, "MaxRecords": 2}
    pages = 0
    while True:
        page = cw.list_alarm_mute_rules(**kwargs)
        pages += 1
        assert len(page["AlarmMuteRuleSummaries"]) <= 2
        seen += [s["AlarmMuteRuleArn"].rsplit(":", 1)[1] for s in page["AlarmMuteRuleSummaries"]]
        if "NextToken" not in page:
            break
        kwargs["NextToken"] = page["NextToken"]
    assert seen == names and pages == 3
    for name in names:
        cw.delete_alarm_mute_rule(AlarmMuteRuleName=name)


# ------------------------------------------------------------------ enforcement
def history(cw: Any, alarm: str, kind: str) -> list[dict[str, Any]]:
    return list(cw.describe_alarm_history(AlarmName=alarm, HistoryItemType=kind, ScanBy="TimestampAscending")["AlarmHistoryItems"])


def test_muted_alarm_changes_state_without_acting(mon: EmulatorServer, cw: Any, hook: tuple[str, list[dict[str, Any]]]) -> None:
    url, received = hook
    alarm = unique("muted")
    make_alarm(cw, alarm, [url])
    rule = unique("rule")
    cw.put_alarm_mute_rule(Name=rule, Rule=open_window(), MuteTargets={"AlarmNames": [alarm]})

    cw.set_alarm_state(AlarmName=alarm, StateValue="ALARM", StateReason="testing")
    [described] = cw.describe_alarms(AlarmNames=[alarm])["MetricAlarms"]
    assert described["StateValue"] == "ALARM"  # the alarm still changes state
    assert [h["HistorySummary"] for h in history(cw, alarm, "StateUpdate")] == ["Alarm updated from INSUFFICIENT_DATA to ALARM"]
    [muted] = wait_for(lambda: history(cw, alarm, "Action"))
    assert muted["HistorySummary"] == f"Action {url} muted by alarm mute rule {rule}"
    assert json.loads(muted["HistoryData"])["actionState"] == "Muted"
    control(mon, "alarms")  # an evaluation while the rule is active releases nothing
    time.sleep(0.5)
    assert received == []

    # deleting the rule unmutes at once: the alarm is in ALARM, so its actions run
    cw.delete_alarm_mute_rule(AlarmMuteRuleName=rule)
    assert wait_for(lambda: len(received) == 1), received
    message = json.loads(received[0]["Message"])
    assert message["AlarmName"] == alarm and message["NewStateValue"] == "ALARM" and message["OldStateValue"] == "INSUFFICIENT_DATA"
    # and later changes act as usual
    cw.set_alarm_state(AlarmName=alarm, StateValue="OK", StateReason="recovered")
    assert wait_for(lambda: len(received) == 2), received
    assert json.loads(received[1]["Message"])["NewStateValue"] == "OK"
    time.sleep(0.3)
    assert len(received) == 2  # nothing fired twice


def test_expired_rule_no_longer_mutes(mon: EmulatorServer, cw: Any, hook: tuple[str, list[dict[str, Any]]]) -> None:
    url, received = hook
    alarm = unique("expiring")
    make_alarm(cw, alarm, [url])
    rule = unique("rule")
    expire = dt.datetime.now(UTC) + dt.timedelta(seconds=2)
    cw.put_alarm_mute_rule(Name=rule, Rule=open_window(), MuteTargets={"AlarmNames": [alarm]}, ExpireDate=expire)
    cw.set_alarm_state(AlarmName=alarm, StateValue="ALARM", StateReason="muted")
    cw.set_alarm_state(AlarmName=alarm, StateValue="OK", StateReason="muted too")
    time.sleep(0.3)
    assert received == []
    assert wait_for(lambda: cw.get_alarm_mute_rule(AlarmMuteRuleName=rule)["Status"] == "EXPIRED", timeout=10)
    # in OK when the mute ended: nothing to run then
    control(mon, "alarms")
    time.sleep(0.3)
    assert received == []
    cw.set_alarm_state(AlarmName=alarm, StateValue="ALARM", StateReason="not muted")
    assert wait_for(lambda: len(received) == 1), received
    assert json.loads(received[0]["Message"])["NewStateReason"] == "not muted"
    cw.delete_alarm_mute_rule(AlarmMuteRuleName=rule)


def test_alarm_still_in_alarm_acts_when_the_mute_expires(mon: EmulatorServer, cw: Any, hook: tuple[str, list[dict[str, Any]]]) -> None:
    url, received = hook
    alarm, other = unique("held"), unique("unmuted")
    make_alarm(cw, alarm, [url])
    make_alarm(cw, other, [url])
    rule = unique("rule")
    cw.put_alarm_mute_rule(
        Name=rule, Rule=open_window(), MuteTargets={"AlarmNames": [alarm]}, ExpireDate=dt.datetime.now(UTC) + dt.timedelta(seconds=2)
    )
    cw.set_alarm_state(AlarmName=alarm, StateValue="ALARM", StateReason="held back")
    cw.set_alarm_state(AlarmName=other, StateValue="ALARM", StateReason="not targeted")
    assert wait_for(lambda: len(received) == 1)  # only the alarm no rule targets
    assert json.loads(received[0]["Message"])["AlarmName"] == other
    time.sleep(2.2)
    control(mon, "alarms")  # the evaluator sees the mute has ended
    assert wait_for(lambda: len(received) == 2), received
    message = json.loads(received[1]["Message"])
    assert message["AlarmName"] == alarm and message["NewStateReason"] == "held back"
    control(mon, "alarms")
    time.sleep(0.3)
    assert len(received) == 2
    cw.delete_alarm_mute_rule(AlarmMuteRuleName=rule)


def test_scheduled_rule_does_not_mute(cw: Any, hook: tuple[str, list[dict[str, Any]]]) -> None:
    url, received = hook
    alarm = unique("scheduled")
    make_alarm(cw, alarm, [url])
    rule = unique("rule")
    later = dt.datetime.now(UTC) + dt.timedelta(days=2)
    cw.put_alarm_mute_rule(Name=rule, Rule={"Schedule": {"Expression": f"at({later:%Y-%m-%dT%H:%M})", "Duration": "PT1H"}}, MuteTargets={"AlarmNames": [alarm]})
    assert cw.get_alarm_mute_rule(AlarmMuteRuleName=rule)["Status"] == "SCHEDULED"
    cw.set_alarm_state(AlarmName=alarm, StateValue="ALARM", StateReason="acts")
    assert wait_for(lambda: len(received) == 1), received
    cw.delete_alarm_mute_rule(AlarmMuteRuleName=rule)


# ------------------------------------------------------------------ persistence and reset
def test_restart_and_reset(tmp_path: Path) -> None:
    env = {"EMULATOR_ALARM_INTERVAL": "100000", "EMULATOR_TELEMETRY_INTERVAL": "100000"}
    server = EmulatorServer(env=env)
    server.start()
    try:
        cw = server.client("cloudwatch")
        make_alarm(cw, "a1")
        cw.put_alarm_mute_rule(
            Name="r1", Rule={"Schedule": {"Expression": "cron(0 2 * * MON-FRI)", "Duration": "PT1H"}}, MuteTargets={"AlarmNames": ["a1"]},
            Tags=[{"Key": "k", "Value": "v"}],
        )
        cw.put_alarm_mute_rule(Name="r2", Rule=open_window(), MuteTargets={"AlarmNames": ["a1"]})
        cw.set_alarm_state(AlarmName="a1", StateValue="ALARM", StateReason="x")
        server.kill()  # no clean shutdown: the rules are on disk already
        again = EmulatorServer(data_dir=server.data_dir, env=env)
        again.start()
        try:
            cw = again.client("cloudwatch")
            r1 = cw.get_alarm_mute_rule(AlarmMuteRuleName="r1")
            assert r1["Rule"]["Schedule"]["Expression"] == "cron(0 2 * * MON-FRI)" and r1["MuteTargets"] == {"AlarmNames": ["a1"]}
            assert cw.list_tags_for_resource(ResourceARN=r1["AlarmMuteRuleArn"])["Tags"] == [{"Key": "k", "Value": "v"}]
            assert cw.get_alarm_mute_rule(AlarmMuteRuleName="r2")["Status"] == "ACTIVE"
            assert len(cw.list_alarm_mute_rules()["AlarmMuteRuleSummaries"]) == 2
            again.reset(["cloudwatch"])
            assert cw.list_alarm_mute_rules()["AlarmMuteRuleSummaries"] == []
            with pytest.raises(ClientError) as err:
                cw.get_alarm_mute_rule(AlarmMuteRuleName="r1")
            assert code(err) == "ResourceNotFoundException"
        finally:
            again.stop()
    finally:
        server.cleanup()


# ------------------------------------------------------------------ schedules (the engine)
def _rule(expression: str, duration: str = "PT1H", zone: str | None = None, **dates: float) -> MuteRule:
    schedule = {"Expression": expression, "Duration": duration, **({"Timezone": zone} if zone else {})}
    return MuteRule.compile("r", {"Rule": {"Schedule": schedule}, "MuteTargets": {"AlarmNames": ["a"]}, **dates}, 0.0)


def _ts(text: str, zone: dt.tzinfo = UTC) -> float:
    return dt.datetime.fromisoformat(text).replace(tzinfo=zone).timestamp()


def test_schedules() -> None:
    daily = _rule("cron(0 2 * * *)", "PT4H")
    assert daily.active(_ts("2030-03-05T02:00")) and daily.active(_ts("2030-03-05T05:59"))
    assert not daily.active(_ts("2030-03-05T06:00")) and not daily.active(_ts("2030-03-05T01:59"))
    weekend = _rule("cron(0 18 * * FRI)", "P2DT12H")  # Friday 18:00 to Monday 06:00
    assert weekend.active(_ts("2030-03-10T12:00"))  # a Sunday
    assert not weekend.active(_ts("2030-03-11T06:00"))  # Monday 06:00
    assert _rule("cron(30 9 1,15 JAN-MAR *)", "PT1M").active(_ts("2030-02-15T09:30"))
    assert not _rule("cron(30 9 1,15 JAN-MAR *)", "PT1M").active(_ts("2030-04-15T09:30"))
    # both day fields restricted: either matches (cron)
    either = _rule("cron(0 0 1 * MON)", "PT1H")
    assert either.active(_ts("2030-03-01T00:30")) and either.active(_ts("2030-03-04T00:30")) and not either.active(_ts("2030-03-05T00:30"))
    # the time zone decides the hour
    ny = ZoneInfo("America/New_York")
    local = _rule("cron(0 2 * * *)", "PT1H", "America/New_York")
    assert local.active(_ts("2030-07-01T02:30", ny)) and not local.active(_ts("2030-07-01T02:30"))
    once = _rule("at(2030-05-10T14:00)", "PT2H")
    assert once.mute_type == "ONE_TIME" and once.status(_ts("2030-05-10T13:59")) == "SCHEDULED"
    assert once.status(_ts("2030-05-10T15:00")) == "ACTIVE" and once.status(_ts("2030-05-10T16:00")) == "EXPIRED"
    bounded = _rule("cron(0 2 * * *)", "PT4H", StartDate=_ts("2030-03-05T00:00"), ExpireDate=_ts("2030-03-07T00:00"))
    assert not bounded.active(_ts("2030-03-04T03:00")) and bounded.active(_ts("2030-03-06T03:00"))
    assert bounded.status(_ts("2030-03-04T03:00")) == "SCHEDULED" and bounded.status(_ts("2030-03-07T03:00")) == "EXPIRED"
    assert parse_duration("PT1M") == 60 and parse_duration("P15D") == 15 * 86400 and parse_duration("P1W") == 7 * 86400
    for bad in ("P", "PT", "PT59S", "P3W", "1H", "P1DT", "P1M"):
        with pytest.raises(AwsError):
            parse_duration(bad)


def test_muting_index(tmp_path: Path) -> None:
    clock = [_ts("2030-03-05T03:00")]
    db = StateDB(tmp_path / "s.db")
    rules = MuteRules(db, "000000000000", clock=lambda: clock[0])
    rules.put({"Name": "night", "Rule": {"Schedule": {"Expression": "cron(0 2 * * *)", "Duration": "PT2H"}}, "MuteTargets": {"AlarmNames": ["a", "b"]}},
              "us-east-1", lambda _n: True)
    assert rules.muting("us-east-1", "a") == "night" and rules.muting("us-east-1", "c") is None
    assert rules.muting("eu-west-1", "a") is None  # rules are regional
    clock[0] = _ts("2030-03-05T04:00")
    assert rules.muting("us-east-1", "a") is None
    # an update that drops a target stops muting it; the index follows
    clock[0] = _ts("2030-03-06T02:30")
    rules.put({"Name": "night", "Rule": {"Schedule": {"Expression": "cron(0 2 * * *)", "Duration": "PT2H"}}, "MuteTargets": {"AlarmNames": ["b"]}},
              "us-east-1", lambda _n: True)
    assert rules.muting("us-east-1", "a") is None and rules.muting("us-east-1", "b") == "night"
    # reloaded from the database
    assert MuteRules(db, "000000000000", clock=lambda: clock[0]).muting("us-east-1", "b") == "night"
    rules.delete("night", "us-east-1")
    assert rules.muting("us-east-1", "b") is None
    db.close()

