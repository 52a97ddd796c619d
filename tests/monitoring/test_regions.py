"""CloudWatch and CloudWatch Logs are regional, as on AWS: one server, boto3 clients of two
regions; the same names in both are independent resources, and the emulator's own metrics
go to the region of the request (or resource) that made them. Dashboards are global.

Also: data files of the layout without regions are migrated on open, their rows in the
default region."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import time
import uuid
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from botocore.exceptions import ClientError

from emulator.monitoring.alarms import AlarmManager
from emulator.monitoring.logstore import LogStore
from emulator.monitoring.metrics import Datum, MetricStore
from emulator.monitoring.statedb import StateDB
from emulator.monitoring.telemetry import instance_region
from emulator.testing.server import EmulatorServer

from .conftest import control, wait_for

UTC = dt.UTC
OTHER = "eu-west-1"


@pytest.fixture(scope="module")
def cw2(mon: EmulatorServer) -> Any:
    return mon.client("cloudwatch", region_name=OTHER)


@pytest.fixture(scope="module")
def logs2(mon: EmulatorServer) -> Any:
    return mon.client("logs", region_name=OTHER)


def _ns() -> str:
    return f"Regions/{uuid.uuid4().hex[:8]}"


def _sum(cw: Any, ns: str, name: str, dims: list[dict[str, str]] | None = None) -> float | None:
    now = dt.datetime.now(UTC)
    out = cw.get_metric_statistics(Namespace=ns, MetricName=name, Dimensions=dims or [], StartTime=now - dt.timedelta(minutes=10),
                                   EndTime=now + dt.timedelta(minutes=2), Period=600, Statistics=["Sum"])
    return float(sum(p["Sum"] for p in out["Datapoints"])) if out["Datapoints"] else None


def _code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


# ---------------------------------------------------------------- metrics
def test_metrics_live_in_their_region(cw: Any, cw2: Any) -> None:
    ns = _ns()
    cw2.put_metric_data(Namespace=ns, MetricData=[{"MetricName": "Only", "Value": 1.0}])
    cw.put_metric_data(Namespace=ns, MetricData=[{"MetricName": "Both", "Value": 10.0}])
    cw2.put_metric_data(Namespace=ns, MetricData=[{"MetricName": "Both", "Value": 3.0}, {"MetricName": "Both", "Value": 4.0}])
    assert [m["MetricName"] for m in cw2.list_metrics(Namespace=ns)["Metrics"]] == ["Only", "Both"]
    assert [m["MetricName"] for m in cw.list_metrics(Namespace=ns)["Metrics"]] == ["Both"]
    assert _sum(cw, ns, "Both") == 10.0
    assert _sum(cw2, ns, "Both") == 7.0
    assert _sum(cw, ns, "Only") is None
    now = dt.datetime.now(UTC)
    queries = [
        {"Id": "b", "MetricStat": {"Metric": {"Namespace": ns, "MetricName": "Both"}, "Period": 600, "Stat": "Sum"}, "ReturnData": False},
        {"Id": "twice", "Expression": "b * 2"},
        {"Id": "found", "Expression": f"SEARCH('{{{ns}}} MetricName=\"Only\"', 'Sum', 600)"},
    ]
    window = {"StartTime": now - dt.timedelta(minutes=10), "EndTime": now + dt.timedelta(minutes=2)}

    def results(client: Any) -> dict[str, list[float]]:
        out = client.get_metric_data(MetricDataQueries=queries, **window)["MetricDataResults"]
        return {r["Id"]: r["Values"] for r in out}

    assert results(cw) == {"twice": [20.0]}  # SEARCH finds no "Only" in this region: no result for it
    assert results(cw2) == {"twice": [14.0], "found": [1.0]}


# ---------------------------------------------------------------- alarms
def _alarm(client: Any, name: str, ns: str, threshold: float, **extra: Any) -> None:
    client.put_metric_alarm(AlarmName=name, Namespace=ns, MetricName="Load", Statistic="Maximum", Period=60, EvaluationPeriods=1,
                            Threshold=threshold, ComparisonOperator="GreaterThanThreshold", **extra)


def test_alarms_are_regional(mon: EmulatorServer, cw: Any, cw2: Any) -> None:
    ns = _ns()
    name = f"regional-{uuid.uuid4().hex[:6]}"
    _alarm(cw, name, ns, 100.0)
    _alarm(cw2, name, ns, 5.0)
    [here] = cw.describe_alarms(AlarmNames=[name])["MetricAlarms"]
    [there] = cw2.describe_alarms(AlarmNames=[name])["MetricAlarms"]
    account = here["AlarmArn"].split(":")[4]
    assert here["AlarmArn"] == f"arn:aws:cloudwatch:us-east-1:{account}:alarm:{name}" and here["Threshold"] == 100.0
    assert there["AlarmArn"] == f"arn:aws:cloudwatch:{OTHER}:{account}:alarm:{name}" and there["Threshold"] == 5.0
    assert cw2.describe_alarms_for_metric(Namespace=ns, MetricName="Load")["MetricAlarms"][0]["Threshold"] == 5.0

    # each is evaluated on its own region's metric: 50 breaches only eu-west-1's threshold
    minute = (int(time.time()) // 60) * 60 - 60
    for client in (cw, cw2):
        client.put_metric_data(Namespace=ns, MetricData=[{"MetricName": "Load", "Value": 50.0, "Timestamp": dt.datetime.fromtimestamp(minute + 10, UTC)}])
    control(mon, "alarms", minute + 61)
    assert cw.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]["StateValue"] == "OK"
    assert cw2.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]["StateValue"] == "ALARM"
    # the history of one is not the other's
    states = [json.loads(i["HistoryData"])["newState"]["stateValue"] for i in cw2.describe_alarm_history(AlarmName=name, HistoryItemType="StateUpdate")["AlarmHistoryItems"]]
    assert states == ["ALARM"]
    states = [json.loads(i["HistoryData"])["newState"]["stateValue"] for i in cw.describe_alarm_history(AlarmName=name, HistoryItemType="StateUpdate")["AlarmHistoryItems"]]
    assert states == ["OK"]

    # composite rules refer to their own region's alarms
    composite = f"{name}-c"
    with pytest.raises(ClientError):
        cw.put_composite_alarm(AlarmName=composite, AlarmRule=f'ALARM("{name}-only-there")')
    _alarm(cw2, f"{name}-only-there", ns, 1.0)
    cw2.put_composite_alarm(AlarmName=composite, AlarmRule=f'ALARM("{name}-only-there")')
    with pytest.raises(ClientError):
        cw.put_composite_alarm(AlarmName=composite, AlarmRule=f'ALARM("{name}-only-there")')

    # tags by ARN: an ARN of another region names no alarm here
    cw2.tag_resource(ResourceARN=there["AlarmArn"], Tags=[{"Key": "k", "Value": "v"}])
    assert cw2.list_tags_for_resource(ResourceARN=there["AlarmArn"])["Tags"] == [{"Key": "k", "Value": "v"}]
    assert cw.list_tags_for_resource(ResourceARN=here["AlarmArn"])["Tags"] == []
    with pytest.raises(ClientError) as exc:
        cw.list_tags_for_resource(ResourceARN=there["AlarmArn"])
    assert _code(exc) == "ResourceNotFoundException"

    # deleting in one region leaves the other's
    cw.delete_alarms(AlarmNames=[name])
    assert cw.describe_alarms(AlarmNames=[name])["MetricAlarms"] == []
    assert [a["AlarmName"] for a in cw2.describe_alarms(AlarmNames=[name])["MetricAlarms"]] == [name]
    cw2.delete_alarms(AlarmNames=[composite])
    cw2.delete_alarms(AlarmNames=[name, f"{name}-only-there"])


def test_dashboards_are_global(cw: Any, cw2: Any) -> None:
    name = f"global-{uuid.uuid4().hex[:6]}"
    cw2.put_dashboard(DashboardName=name, DashboardBody=json.dumps({"widgets": [{"type": "text", "properties": {"markdown": "hi"}}]}))
    got = cw.get_dashboard(DashboardName=name)
    assert got["DashboardArn"].startswith("arn:aws:cloudwatch::") and got["DashboardArn"].endswith(f":dashboard/{name}")
    cw.delete_dashboards(DashboardNames=[name])


# ---------------------------------------------------------------- logs
def test_log_groups_and_events_are_regional(logs: Any, logs2: Any) -> None:
    group = f"/regions/{uuid.uuid4().hex[:8]}"
    logs.create_log_group(logGroupName=group)
    logs2.create_log_group(logGroupName=group)  # the same name in another region: another group
    with pytest.raises(ClientError) as exc:
        logs2.create_log_group(logGroupName=group)
    assert _code(exc) == "ResourceAlreadyExistsException"
    [here] = logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]
    [there] = logs2.describe_log_groups(logGroupNamePrefix=group)["logGroups"]
    assert here["logGroupArn"].split(":")[3] == "us-east-1" and there["logGroupArn"].split(":")[3] == OTHER
    logs2.put_retention_policy(logGroupName=group, retentionInDays=7)
    assert "retentionInDays" not in logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"][0]

    now = int(time.time() * 1000)
    for client, text in ((logs, "east"), (logs2, "west")):
        client.create_log_stream(logGroupName=group, logStreamName="s")
        client.put_log_events(logGroupName=group, logStreamName="s", logEvents=[{"timestamp": now, "message": f"hello {text}"}])
    assert [e["message"] for e in logs.get_log_events(logGroupName=group, logStreamName="s", startFromHead=True)["events"]] == ["hello east"]
    assert [e["message"] for e in logs2.get_log_events(logGroupName=group, logStreamName="s", startFromHead=True)["events"]] == ["hello west"]
    assert [e["message"] for e in logs2.filter_log_events(logGroupName=group, filterPattern="hello")["events"]] == ["hello west"]
    assert logs2.describe_log_streams(logGroupName=group)["logStreams"][0]["arn"].startswith(there["logGroupArn"] + ":log-stream:")
    # by ARN: the region's own group; another region's ARN names nothing here
    got = logs2.get_log_events(logGroupIdentifier=there["logGroupArn"], logStreamName="s", startFromHead=True)["events"]
    assert [e["message"] for e in got] == ["hello west"]
    with pytest.raises(ClientError) as exc:
        logs.get_log_events(logGroupIdentifier=there["logGroupArn"], logStreamName="s")
    assert _code(exc) == "ResourceNotFoundException"
    logs2.tag_resource(resourceArn=there["logGroupArn"], tags={"side": "west"})
    assert logs2.list_tags_for_resource(resourceArn=there["logGroupArn"])["tags"] == {"side": "west"}
    assert logs.list_tags_for_resource(resourceArn=here["logGroupArn"])["tags"] == {}
    with pytest.raises(ClientError) as exc:
        logs.tag_resource(resourceArn=there["logGroupArn"], tags={"side": "east"})
    assert _code(exc) == "ResourceNotFoundException"

    # Insights: a query runs on its region's group, and its id is unknown elsewhere
    qid = logs2.start_query(logGroupName=group, startTime=now // 1000 - 60, endTime=now // 1000 + 60, queryString="fields @message")["queryId"]
    result = wait_for(lambda: (r := logs2.get_query_results(queryId=qid))["status"] == "Complete" and r)
    assert [f["value"] for row in result["results"] for f in row if f["field"] == "@message"] == ["hello west"]
    with pytest.raises(ClientError) as exc:
        logs.get_query_results(queryId=qid)
    assert _code(exc) == "ResourceNotFoundException"
    assert qid not in {q["queryId"] for q in logs.describe_queries()["queries"]}

    logs.delete_log_group(logGroupName=group)
    assert logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"] == []
    assert [g["logGroupName"] for g in logs2.describe_log_groups(logGroupNamePrefix=group)["logGroups"]] == [group]
    logs2.delete_log_group(logGroupName=group)


def test_metric_filters_publish_in_the_groups_region(logs: Any, logs2: Any, cw: Any, cw2: Any) -> None:
    group = f"/regions/mf-{uuid.uuid4().hex[:8]}"
    ns = _ns()
    for client in (logs, logs2):
        client.create_log_group(logGroupName=group)
        client.create_log_stream(logGroupName=group, logStreamName="s")
    logs2.put_metric_filter(logGroupName=group, filterName="errors", filterPattern="ERROR",
                            metricTransformations=[{"metricName": "Errors", "metricNamespace": ns, "metricValue": "1"}])
    assert [f["filterName"] for f in logs2.describe_metric_filters(logGroupName=group)["metricFilters"]] == ["errors"]
    assert logs.describe_metric_filters(logGroupName=group)["metricFilters"] == []
    assert group not in {f["logGroupName"] for f in logs.describe_metric_filters()["metricFilters"]}
    assert logs2.describe_log_groups(logGroupNamePrefix=group)["logGroups"][0]["metricFilterCount"] == 1
    assert logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"][0]["metricFilterCount"] == 0
    now = int(time.time() * 1000)
    events = [{"timestamp": now, "message": "ERROR one"}, {"timestamp": now, "message": "ERROR two"}]
    logs2.put_log_events(logGroupName=group, logStreamName="s", logEvents=events)
    logs.put_log_events(logGroupName=group, logStreamName="s", logEvents=events)  # no filter on this region's group
    assert _sum(cw2, ns, "Errors") == 2.0
    assert _sum(cw, ns, "Errors") is None
    assert cw.list_metrics(Namespace=ns)["Metrics"] == []
    with pytest.raises(ClientError) as exc:
        logs.delete_metric_filter(logGroupName=group, filterName="errors")
    assert _code(exc) == "ResourceNotFoundException"
    logs2.delete_metric_filter(logGroupName=group, filterName="errors")
    for client in (logs, logs2):
        client.delete_log_group(logGroupName=group)


# ---------------------------------------------------------------- the emulator's own metrics
def test_request_metrics_go_to_the_requests_region(mon: EmulatorServer, cw: Any, cw2: Any, logs2: Any) -> None:
    op = [{"Name": "Service", "Value": "logs"}, {"Name": "Operation", "Value": "GetLogGroupFields"}]
    before = _sum(cw, "Emulator/Gateway", "Count", op) or 0.0
    for _ in range(3):
        with pytest.raises(ClientError):
            logs2.get_log_group_fields(logGroupName=f"/regions/none-{uuid.uuid4().hex[:6]}")
    assert wait_for(lambda: _sum(cw2, "Emulator/Gateway", "Count", op) == 3.0), _sum(cw2, "Emulator/Gateway", "Count", op)
    assert _sum(cw2, "Emulator/Gateway", "4XXError", op) == 3.0
    assert (_sum(cw, "Emulator/Gateway", "Count", op) or 0.0) == before


def test_dynamodb_metrics_go_to_the_tables_region(mon: EmulatorServer, cw: Any, cw2: Any) -> None:
    from .test_telemetry import _native

    if not _native(mon, "dynamodb"):
        pytest.skip("the native DynamoDB handler is not built (another area)")
    ddb = mon.client("dynamodb", region_name=OTHER)
    name = f"regional-{uuid.uuid4().hex[:8]}"
    table = ddb.create_table(TableName=name, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                             AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")["TableDescription"]
    try:
        for i in range(2):
            ddb.put_item(TableName=name, Item={"pk": {"S": str(i)}})
        ddb.put_item(TableName=table["TableArn"], Item={"pk": {"S": "by-arn"}})  # named by its ARN: counted under its name
        dims = [{"Name": "TableName", "Value": name}]
        assert wait_for(lambda: _sum(cw2, "AWS/DynamoDB", "ConsumedWriteCapacityUnits", dims) == 3.0), _sum(cw2, "AWS/DynamoDB", "ConsumedWriteCapacityUnits", dims)
        assert _sum(cw, "AWS/DynamoDB", "ConsumedWriteCapacityUnits", dims) is None
        assert cw.list_metrics(Namespace="AWS/DynamoDB", Dimensions=dims)["Metrics"] == []
    finally:
        ddb.delete_table(TableName=name)


def test_host_metrics_stay_in_the_default_region(mon: EmulatorServer, cw: Any, cw2: Any) -> None:
    control(mon, "collect")
    assert wait_for(lambda: cw.list_metrics(Namespace="Emulator/Host")["Metrics"])
    assert cw2.list_metrics(Namespace="Emulator/Host")["Metrics"] == []


def test_instance_region() -> None:
    assert instance_region(SimpleNamespace(region="ap-south-1", availability_zone="eu-west-1a"), "us-east-1") == "ap-south-1"
    assert instance_region(SimpleNamespace(availability_zone="eu-west-1b"), "us-east-1") == "eu-west-1"
    assert instance_region(SimpleNamespace(), "us-east-1") == "us-east-1"


# ---------------------------------------------------------------- units
def test_alarm_log_actions_write_to_the_arns_region(tmp_path: Path) -> None:
    logs = LogStore(tmp_path / "logs.db", "us-east-1", "000000000000")
    store = MetricStore(tmp_path / "metrics.db")
    mgr = AlarmManager(StateDB(tmp_path / "monitoring.db"), store, "us-east-1", "000000000000", components={"logs": logs})
    try:
        action = f"arn:aws:logs:{OTHER}:000000000000:log-group:/alarms"
        mgr.put_metric_alarm({"AlarmName": "a", "Namespace": "N", "MetricName": "m", "Statistic": "Sum", "Period": 60, "EvaluationPeriods": 1,
                              "Threshold": 1.0, "ComparisonOperator": "GreaterThanThreshold", "AlarmActions": [action]}, OTHER)
        mgr._run_action("a", "MetricAlarm", action, mgr._notification("a", "OK", time.time(), OTHER), None, OTHER)
        assert logs.get_group("/alarms", OTHER).region == OTHER
        with pytest.raises(Exception, match="does not exist"):
            logs.get_group("/alarms")
        [item] = mgr.history({"HistoryItemType": "Action"}, OTHER)["AlarmHistoryItems"]
        assert "Successfully" in item["HistorySummary"]
        assert mgr.history({}, "us-east-1")["AlarmHistoryItems"] == []
    finally:
        mgr.close()
        store.close()
        logs.close()


# ---------------------------------------------------------------- old data files
def _old_layout(data: Path) -> None:
    """The monitoring files as written before metrics, alarms and log groups had a region."""
    mon = data / "monitoring"
    mon.mkdir(parents=True)
    now = time.time()
    with sqlite3.connect(mon / "metrics.db") as db:
        db.executescript(
            """
            CREATE TABLE metric (id INTEGER PRIMARY KEY, namespace TEXT NOT NULL, name TEXT NOT NULL,
                dkey TEXT NOT NULL, dims BLOB NOT NULL, last_ts REAL NOT NULL DEFAULT 0, UNIQUE(namespace, name, dkey));
            CREATE TABLE dp (metric_id INTEGER NOT NULL, ts REAL NOT NULL, res INTEGER NOT NULL,
                sum REAL NOT NULL, cnt REAL NOT NULL, min REAL NOT NULL, max REAL NOT NULL, vals BLOB, unit TEXT, kind INTEGER NOT NULL DEFAULT 0);
            CREATE INDEX dp_metric_ts ON dp(metric_id, ts);
            """
        )
        db.execute("INSERT INTO metric(id, namespace, name, dkey, dims, last_ts) VALUES (7, 'Old/App', 'Hits', '', '[]', ?)", (now,))
        db.execute("INSERT INTO dp VALUES (7, ?, 60, 42.0, 1.0, 42.0, 42.0, NULL, 'Count', 0)", (now - 30,))
    with sqlite3.connect(mon / "monitoring.db") as db:
        db.executescript(
            """
            CREATE TABLE alarm (name TEXT PRIMARY KEY, kind TEXT NOT NULL, body BLOB NOT NULL);
            CREATE TABLE alarm_history (id INTEGER PRIMARY KEY, name TEXT NOT NULL, kind TEXT NOT NULL, ts REAL NOT NULL,
                type TEXT NOT NULL, summary TEXT NOT NULL, data TEXT NOT NULL);
            CREATE INDEX alarm_history_ts ON alarm_history(ts);
            """
        )
        body = {"AlarmName": "old", "AlarmArn": "arn:aws:cloudwatch:us-east-1:000000000000:alarm:old", "Namespace": "Old/App", "MetricName": "Hits",
                "Statistic": "Sum", "Period": 60, "EvaluationPeriods": 1, "Threshold": 1.0, "ComparisonOperator": "GreaterThanThreshold",
                "StateValue": "OK", "StateReason": "old", "StateUpdatedTimestamp": now, "StateTransitionedTimestamp": now,
                "AlarmConfigurationUpdatedTimestamp": now, "ActionsEnabled": True, "OKActions": [], "AlarmActions": [], "InsufficientDataActions": [],
                "Dimensions": []}
        db.execute("INSERT INTO alarm VALUES ('old', 'MetricAlarm', ?)", (json.dumps(body),))
        db.execute("INSERT INTO alarm_history(name, kind, ts, type, summary, data) VALUES ('old', 'MetricAlarm', ?, 'ConfigurationUpdate', 'Alarm \"old\" created', '{}')", (now,))
    with sqlite3.connect(mon / "logs.db") as db:
        db.executescript(
            """
            CREATE TABLE grp (id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL, created INTEGER NOT NULL, retention INTEGER,
                kms TEXT, cls TEXT NOT NULL DEFAULT 'STANDARD', tags BLOB NOT NULL DEFAULT '{}', protection INTEGER NOT NULL DEFAULT 0);
            CREATE TABLE stream (id INTEGER PRIMARY KEY, gid INTEGER NOT NULL, name TEXT NOT NULL, created INTEGER NOT NULL,
                first_ts INTEGER, last_ts INTEGER, last_ingest INTEGER, stored INTEGER NOT NULL DEFAULT 0, UNIQUE(gid, name));
            CREATE TABLE event (id INTEGER PRIMARY KEY, gid INTEGER NOT NULL, sid INTEGER NOT NULL, ts INTEGER NOT NULL,
                ingest INTEGER NOT NULL, message TEXT NOT NULL);
            CREATE INDEX event_stream ON event(sid, ts, id);
            CREATE INDEX event_group ON event(gid, ts, id);
            CREATE TABLE metric_filter (gid INTEGER NOT NULL, name TEXT NOT NULL, pattern TEXT NOT NULL, transformations BLOB NOT NULL,
                created INTEGER NOT NULL, PRIMARY KEY (gid, name));
            """
        )
        ms = int(now * 1000)
        db.execute("INSERT INTO grp(id, name, created, retention) VALUES (3, '/old/app', ?, 30)", (ms,))
        db.execute("INSERT INTO stream VALUES (5, 3, 'main', ?, ?, ?, ?, 30)", (ms, ms, ms, ms))
        db.execute("INSERT INTO event VALUES (1, 3, 5, ?, ?, 'from before regions')", (ms, ms))
        db.execute("""INSERT INTO metric_filter VALUES (3, 'f', 'before', '[{"metricName":"Before","metricNamespace":"Old/Filter","metricValue":"1"}]', ?)""", (ms,))


def test_old_files_open_in_the_default_region(tmp_path: Path) -> None:
    data = tmp_path / "data"
    _old_layout(data)
    with EmulatorServer(data_dir=data, region="us-west-2", env={"EMULATOR_REGION": "us-west-2", "EMULATOR_TELEMETRY_FLUSH": "0.2",
                                                                 "EMULATOR_ALARM_INTERVAL": "100000", "EMULATOR_TELEMETRY_INTERVAL": "100000"}) as server:
        cw, cw_other = server.client("cloudwatch"), server.client("cloudwatch", region_name=OTHER)
        logs, logs_other = server.client("logs"), server.client("logs", region_name=OTHER)
        assert [m["MetricName"] for m in cw.list_metrics(Namespace="Old/App")["Metrics"]] == ["Hits"]
        assert _sum(cw, "Old/App", "Hits") == 42.0
        assert cw_other.list_metrics(Namespace="Old/App")["Metrics"] == []
        [alarm] = cw.describe_alarms(AlarmNames=["old"])["MetricAlarms"]
        assert alarm["StateValue"] == "OK"
        assert [i["HistorySummary"] for i in cw.describe_alarm_history(AlarmName="old")["AlarmHistoryItems"]] == ['Alarm "old" created']
        assert cw_other.describe_alarms(AlarmNames=["old"])["MetricAlarms"] == []
        [group] = logs.describe_log_groups(logGroupNamePrefix="/old/")["logGroups"]
        assert group["logGroupArn"].split(":")[3] == "us-west-2" and group["retentionInDays"] == 30 and group["metricFilterCount"] == 1
        assert [e["message"] for e in logs.get_log_events(logGroupName="/old/app", logStreamName="main", startFromHead=True)["events"]] == ["from before regions"]
        assert logs_other.describe_log_groups(logGroupNamePrefix="/old/")["logGroups"] == []
        # the group keeps working: its filter publishes in its region, a new group of the same name elsewhere is another one
        logs.put_log_events(logGroupName="/old/app", logStreamName="main", logEvents=[{"timestamp": int(time.time() * 1000), "message": "before again"}])
        assert _sum(cw, "Old/Filter", "Before") == 1.0
        logs_other.create_log_group(logGroupName="/old/app")
        assert logs_other.describe_metric_filters(logGroupName="/old/app")["metricFilters"] == []


def test_store_migration_units(tmp_path: Path) -> None:
    _old_layout(tmp_path)
    store = MetricStore(tmp_path / "monitoring" / "metrics.db", default_region="ap-south-1")
    try:
        assert store.find_id("Old/App", "Hits", ()) == 7  # the same id: its datapoints stay with it
        assert store.find_id("Old/App", "Hits", (), "us-east-1") is None
        store.put([Datum.single("Old/App", "Hits", (), 1.0, region="us-east-1")])
        assert store.find_id("Old/App", "Hits", (), "us-east-1") not in (None, 7)
    finally:
        store.close()
    reopened = MetricStore(tmp_path / "monitoring" / "metrics.db", default_region="ap-south-1")  # migrated once: opens as is
    try:
        assert [r.region for r in reopened.list_metrics(region="ap-south-1")] == ["ap-south-1"]
        assert len(reopened.list_metrics(region="us-east-1")) == 1
    finally:
        reopened.close()
    logs = LogStore(tmp_path / "monitoring" / "logs.db", "ap-south-1", "000000000000")
    try:
        assert logs.get_group("/old/app").region == "ap-south-1" and logs.get_group("/old/app").id == 3
    finally:
        logs.close()
    state = StateDB(tmp_path / "monitoring" / "monitoring.db", "ap-south-1")
    try:
        assert state.query("SELECT region, name FROM alarm") == [("ap-south-1", "old")]
        assert state.query("SELECT region FROM alarm_history") == [("ap-south-1",)]
    finally:
        state.close()


def test_cluster_telemetry_keeps_the_region(tmp_path: Path) -> None:
    """A role's telemetry travels to the monitoring role with each datapoint's and log batch's region."""
    import asyncio

    from emulator.cluster.role import RemoteLogs, _datum_doc, telemetry_route
    from emulator.context import RequestContext
    from emulator.monitoring.costs import Ledger, load_prices
    from emulator.protocols.base import Request

    sink = SimpleNamespace(logs=[])
    RemoteLogs(sink).put_many("/emulator/instances/i-1", "console", [(1, "boot")], OTHER)  # type: ignore[arg-type]
    RemoteLogs(sink).put_many("/emulator/server", "host", [(1, "up")])  # type: ignore[arg-type]
    store = MetricStore(tmp_path / "metrics.db")
    logs = LogStore(tmp_path / "logs.db", "us-east-1", "000000000000")
    state = StateDB(tmp_path / "monitoring.db")
    monitoring = SimpleNamespace(metrics=store, logs=logs, ledger=Ledger(state, load_prices()))
    try:
        now = time.time()
        doc = {
            "metrics": [_datum_doc(Datum.single("AWS/EC2", "CPUUtilization", (("InstanceId", "i-1"),), 5.0, now, "Percent", OTHER)),
                        _datum_doc(Datum.single("Emulator/Host", "CPUUtilization", (), 1.0, now, "Percent"))[:12]],  # an older role: no region
            "usage": [],
            "logs": [[*entry[:3], entry[3]] if entry[3] else entry[:3] for entry in sink.logs],
        }
        route = telemetry_route(SimpleNamespace(components={"monitoring": monitoring}))  # type: ignore[arg-type]
        request = Request("POST", route.prefix, route.prefix, "", {}, json.dumps(doc).encode(), "127.0.0.1")
        response = asyncio.run(route.handler(request, RequestContext(request_id="r", request=request)))
        assert response.status == 200, response.body
        assert store.find_id("AWS/EC2", "CPUUtilization", (("InstanceId", "i-1"),), OTHER) is not None
        assert store.find_id("AWS/EC2", "CPUUtilization", (("InstanceId", "i-1"),)) is None
        assert store.find_id("Emulator/Host", "CPUUtilization", ()) is not None
        assert logs.get_group("/emulator/instances/i-1", OTHER).region == OTHER
        assert logs.get_group("/emulator/server").region == "us-east-1"
    finally:
        store.close()
        logs.close()
        state.close()
