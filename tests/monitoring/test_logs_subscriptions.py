"""CloudWatch Logs subscription filters through the wire: Put/Describe/DeleteSubscriptionFilter,
and real delivery of the matching events into a Kinesis data stream and a Firehose delivery
stream (both moto's), in AWS's gzip-compressed JSON format."""

from __future__ import annotations

import gzip
import io
import json
import time
import uuid
import zipfile
from typing import Any

import pytest
from botocore.exceptions import ClientError

from emulator.testing.server import EmulatorServer

from .conftest import wait_for

ROLE = "arn:aws:iam::{account}:role/cwl-to-kinesis"


def _code(err: pytest.ExceptionInfo[ClientError]) -> str:
    return str(err.value.response["Error"]["Code"])


def _account(server: EmulatorServer) -> str:
    return str(server.client("sts").get_caller_identity()["Account"])


def _now_ms() -> int:
    return int(time.time() * 1000)


def _group(logs: Any, stream: str = "s1") -> str:
    name = f"/subs/{uuid.uuid4().hex[:8]}"
    logs.create_log_group(logGroupName=name)
    logs.create_log_stream(logGroupName=name, logStreamName=stream)
    return name


def _kinesis(server: EmulatorServer) -> str:
    kinesis = server.client("kinesis")
    name = f"cwl-{uuid.uuid4().hex[:8]}"
    kinesis.create_stream(StreamName=name, ShardCount=1)
    return str(kinesis.describe_stream(StreamName=name)["StreamDescription"]["StreamARN"])


def _kinesis_messages(server: EmulatorServer, arn: str) -> list[dict[str, Any]]:
    """Every record of the (one-shard) stream, gunzipped and parsed."""
    kinesis = server.client("kinesis")
    name = arn.rsplit("/", 1)[1]
    shard = kinesis.describe_stream(StreamName=name)["StreamDescription"]["Shards"][0]["ShardId"]
    it = kinesis.get_shard_iterator(StreamName=name, ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    out = []
    for record in kinesis.get_records(ShardIterator=it, Limit=1000)["Records"]:
        out.append(json.loads(gzip.decompress(record["Data"])))
    return out


def _data(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [m for m in messages if m["messageType"] == "DATA_MESSAGE"]


def test_kinesis_delivery_with_filter_pattern(mon: EmulatorServer, logs: Any) -> None:
    account = _account(mon)
    arn = _kinesis(mon)
    group = _group(logs)
    logs.put_log_events(logGroupName=group, logStreamName="s1", logEvents=[{"timestamp": _now_ms(), "message": "ERROR before the filter"}])
    logs.put_subscription_filter(logGroupName=group, filterName="errors", filterPattern="ERROR", destinationArn=arn, roleArn=ROLE.format(account=account))
    [control] = _kinesis_messages(mon, arn)  # AWS's test record, put when the filter is created
    assert control["messageType"] == "CONTROL_MESSAGE" and control["logEvents"][0]["message"].startswith("CWL CONTROL MESSAGE")
    [desc] = logs.describe_subscription_filters(logGroupName=group)["subscriptionFilters"]
    assert desc["filterName"] == "errors" and desc["destinationArn"] == arn and desc["filterPattern"] == "ERROR"
    assert desc["distribution"] == "ByLogStream" and desc["roleArn"] == ROLE.format(account=account) and desc["creationTime"] > 0
    now = _now_ms()
    logs.put_log_events(
        logGroupName=group, logStreamName="s1",
        logEvents=[{"timestamp": now, "message": "ERROR disk full"}, {"timestamp": now + 1, "message": "INFO all good"}, {"timestamp": now + 2, "message": "ERROR again"}],
    )
    got = wait_for(lambda: _data(_kinesis_messages(mon, arn)))
    assert len(got) == 1, got
    msg = got[0]
    assert msg["owner"] == account and msg["logGroup"] == group and msg["logStream"] == "s1" and msg["subscriptionFilters"] == ["errors"]
    assert [e["message"] for e in msg["logEvents"]] == ["ERROR disk full", "ERROR again"]  # the one before the filter is not sent
    assert [e["timestamp"] for e in msg["logEvents"]] == [now, now + 2]
    ids = [e["id"] for e in msg["logEvents"]]
    assert all(i.isdigit() for i in ids) and len(set(ids)) == 2
    # the ids are FilterLogEvents' eventIds
    filtered = logs.filter_log_events(logGroupName=group, filterPattern="ERROR", startTime=now)["events"]
    assert [e["eventId"] for e in filtered] == ids
    # a second stream's events come in a message of their own
    logs.create_log_stream(logGroupName=group, logStreamName="s2")
    logs.put_log_events(logGroupName=group, logStreamName="s2", logEvents=[{"timestamp": _now_ms(), "message": "ERROR in s2"}])
    got = wait_for(lambda: len(_data(_kinesis_messages(mon, arn))) == 2 and _data(_kinesis_messages(mon, arn)))
    assert got and got[1]["logStream"] == "s2" and [e["message"] for e in got[1]["logEvents"]] == ["ERROR in s2"]
    # deleted: nothing more is sent
    logs.delete_subscription_filter(logGroupName=group, filterName="errors")
    assert logs.describe_subscription_filters(logGroupName=group)["subscriptionFilters"] == []
    logs.put_log_events(logGroupName=group, logStreamName="s1", logEvents=[{"timestamp": _now_ms(), "message": "ERROR after delete"}])
    time.sleep(2.5)  # past the worker's gathering second
    assert len(_data(_kinesis_messages(mon, arn))) == 2
    with pytest.raises(ClientError) as err:
        logs.delete_subscription_filter(logGroupName=group, filterName="errors")
    assert _code(err) == "ResourceNotFoundException"


def test_json_pattern_and_update(mon: EmulatorServer, logs: Any) -> None:
    account = _account(mon)
    arn = _kinesis(mon)
    group = _group(logs)
    role = ROLE.format(account=account)
    logs.put_subscription_filter(logGroupName=group, filterName="f", filterPattern='{ $.level = "error" }', destinationArn=arn, roleArn=role)
    logs.put_log_events(logGroupName=group, logStreamName="s1", logEvents=[
        {"timestamp": _now_ms(), "message": json.dumps({"level": "error", "n": 1})},
        {"timestamp": _now_ms(), "message": json.dumps({"level": "info", "n": 2})},
    ])
    got = wait_for(lambda: _data(_kinesis_messages(mon, arn)))
    assert [json.loads(e["message"])["n"] for e in got[0]["logEvents"]] == [1]
    # an update (same name) replaces the pattern and keeps the filter's creation time
    created = logs.describe_subscription_filters(logGroupName=group)["subscriptionFilters"][0]["creationTime"]
    logs.put_subscription_filter(logGroupName=group, filterName="f", filterPattern="", destinationArn=arn, roleArn=role, distribution="Random")
    [desc] = logs.describe_subscription_filters(logGroupName=group)["subscriptionFilters"]
    assert desc["filterPattern"] == "" and desc["distribution"] == "Random" and desc["creationTime"] == created
    logs.put_log_events(logGroupName=group, logStreamName="s1", logEvents=[{"timestamp": _now_ms(), "message": "anything"}])
    got = wait_for(lambda: len(_data(_kinesis_messages(mon, arn))) == 2 and _data(_kinesis_messages(mon, arn)))
    assert got and [e["message"] for e in got[1]["logEvents"]] == ["anything"]


def test_validation_and_limits(mon: EmulatorServer, logs: Any) -> None:
    account = _account(mon)
    role = ROLE.format(account=account)
    arn = _kinesis(mon)
    group = _group(logs)
    missing = f"arn:aws:kinesis:us-east-1:{account}:stream/nope-{uuid.uuid4().hex[:6]}"
    with pytest.raises(ClientError) as err:
        logs.put_subscription_filter(logGroupName=group, filterName="a", filterPattern="", destinationArn=missing, roleArn=role)
    assert _code(err) == "InvalidParameterException" and "Could not deliver test message" in err.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as err:
        logs.put_subscription_filter(logGroupName=group, filterName="a", filterPattern="", destinationArn="arn:aws:sqs:us-east-1:123456789012:q", roleArn=role)
    assert _code(err) == "InvalidParameterException"
    with pytest.raises(ClientError) as err:
        logs.put_subscription_filter(logGroupName=group, filterName="a", filterPattern="", destinationArn=arn)  # no role for Kinesis
    assert _code(err) == "InvalidParameterException"
    with pytest.raises(ClientError) as err:
        logs.put_subscription_filter(logGroupName=group, filterName="a", filterPattern="{ $.x = ", destinationArn=arn, roleArn=role)
    assert _code(err) == "InvalidParameterException"
    with pytest.raises(ClientError) as err:
        logs.put_subscription_filter(logGroupName="/no/such/group", filterName="a", filterPattern="", destinationArn=arn, roleArn=role)
    assert _code(err) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as err:
        logs.describe_subscription_filters(logGroupName="/no/such/group")
    assert _code(err) == "ResourceNotFoundException"
    missing_fn = f"arn:aws:lambda:us-east-1:{account}:function:nope-{uuid.uuid4().hex[:6]}"
    with pytest.raises(ClientError) as err:
        logs.put_subscription_filter(logGroupName=group, filterName="a", filterPattern="", destinationArn=missing_fn)
    assert _code(err) == "InvalidParameterException" and "lambda function" in err.value.response["Error"]["Message"]
    # two filters per group; the third is refused, an update of either is not
    logs.put_subscription_filter(logGroupName=group, filterName="a", filterPattern="", destinationArn=arn, roleArn=role)
    logs.put_subscription_filter(logGroupName=group, filterName="b", filterPattern="x", destinationArn=arn, roleArn=role)
    with pytest.raises(ClientError) as err:
        logs.put_subscription_filter(logGroupName=group, filterName="c", filterPattern="", destinationArn=arn, roleArn=role)
    assert _code(err) == "LimitExceededException" and err.value.response["Error"]["Message"] == "Resource limit exceeded."
    logs.put_subscription_filter(logGroupName=group, filterName="b", filterPattern="y", destinationArn=arn, roleArn=role)
    names = [f["filterName"] for f in logs.describe_subscription_filters(logGroupName=group)["subscriptionFilters"]]
    assert names == ["a", "b"]
    assert [f["filterName"] for f in logs.describe_subscription_filters(logGroupName=group, filterNamePrefix="b")["subscriptionFilters"]] == ["b"]
    page = logs.describe_subscription_filters(logGroupName=group, limit=1)
    assert len(page["subscriptionFilters"]) == 1 and page["nextToken"]
    assert [f["filterName"] for f in logs.describe_subscription_filters(logGroupName=group, limit=1, nextToken=page["nextToken"])["subscriptionFilters"]] == ["b"]
    # a deleted group takes its filters with it; a new group of that name has none
    logs.delete_log_group(logGroupName=group)
    logs.create_log_group(logGroupName=group)
    assert logs.describe_subscription_filters(logGroupName=group)["subscriptionFilters"] == []
    # the filters are regional
    other = mon.client("logs", region_name="eu-west-1")
    with pytest.raises(ClientError) as err:
        other.describe_subscription_filters(logGroupName=group)
    assert _code(err) == "ResourceNotFoundException"


def test_backlog_of_other_groups_and_a_vanished_destination(mon: EmulatorServer, logs: Any) -> None:
    """Events of other groups between two deliveries are skipped over (more than one read
    window of them); a destination deleted later drops the events, never failing ingestion."""
    account = _account(mon)
    arn = _kinesis(mon)
    group, busy = _group(logs), _group(logs)
    logs.put_subscription_filter(logGroupName=group, filterName="f", filterPattern="", destinationArn=arn, roleArn=ROLE.format(account=account))
    logs.put_log_events(logGroupName=group, logStreamName="s1", logEvents=[{"timestamp": _now_ms(), "message": "first"}])
    for _ in range(3):
        now = _now_ms()
        logs.put_log_events(logGroupName=busy, logStreamName="s1", logEvents=[{"timestamp": now, "message": f"noise {i}"} for i in range(10_000)])
    logs.put_log_events(logGroupName=group, logStreamName="s1", logEvents=[{"timestamp": _now_ms(), "message": "second"}])
    got = wait_for(lambda: sum(len(m["logEvents"]) for m in _data(_kinesis_messages(mon, arn))) == 2 and _data(_kinesis_messages(mon, arn)))
    assert got, _data(_kinesis_messages(mon, arn))
    assert [e["message"] for m in got for e in m["logEvents"]] == ["first", "second"]
    mon.client("kinesis").delete_stream(StreamName=arn.rsplit("/", 1)[1])
    out = logs.put_log_events(logGroupName=group, logStreamName="s1", logEvents=[{"timestamp": _now_ms(), "message": "into the void"}])
    assert "rejectedLogEventsInfo" not in out
    assert logs.get_log_events(logGroupName=group, logStreamName="s1")["events"][-1]["message"] == "into the void"
    assert logs.describe_subscription_filters(logGroupName=group)["subscriptionFilters"][0]["destinationArn"] == arn


def test_firehose_delivery_to_s3(mon: EmulatorServer, logs: Any) -> None:
    account = _account(mon)
    s3 = mon.client("s3")
    bucket = f"cwl-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=bucket)
    firehose = mon.client("firehose")
    arn = firehose.create_delivery_stream(
        DeliveryStreamName=f"cwl-{uuid.uuid4().hex[:8]}", DeliveryStreamType="DirectPut",
        ExtendedS3DestinationConfiguration={"RoleARN": ROLE.format(account=account), "BucketARN": f"arn:aws:s3:::{bucket}", "Prefix": "logs/"},
    )["DeliveryStreamARN"]
    group = _group(logs)
    logs.put_subscription_filter(logGroupName=group, filterName="all", filterPattern="[ip, user, status = 5*]", destinationArn=arn, roleArn=ROLE.format(account=account))
    logs.put_log_events(logGroupName=group, logStreamName="s1", logEvents=[
        {"timestamp": _now_ms(), "message": "10.0.0.1 alice 500"}, {"timestamp": _now_ms(), "message": "10.0.0.2 bob 200"},
    ])

    def objects() -> list[dict[str, Any]]:
        out = []
        for obj in s3.list_objects_v2(Bucket=bucket).get("Contents", []):
            out.append(json.loads(gzip.decompress(s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read())))
        return [m for m in out if m["messageType"] == "DATA_MESSAGE"]

    got = wait_for(objects)
    assert len(got) == 1 and got[0]["logGroup"] == group and [e["message"] for e in got[0]["logEvents"]] == ["10.0.0.1 alice 500"]


def test_filters_survive_a_restart() -> None:
    """A separate server: the filter is kept in logs.db and delivers after a restart."""
    with EmulatorServer() as server:
        client = server.client("logs")
        account = _account(server)
        arn = _kinesis(server)
        group = _group(client)
        client.put_subscription_filter(logGroupName=group, filterName="keep", filterPattern="WARN", destinationArn=arn, roleArn=ROLE.format(account=account))
        server.stop()
        server.start()
        client = server.client("logs")
        [desc] = client.describe_subscription_filters(logGroupName=group)["subscriptionFilters"]
        assert desc["filterName"] == "keep" and desc["filterPattern"] == "WARN"
        client.put_log_events(logGroupName=group, logStreamName="s1", logEvents=[{"timestamp": _now_ms(), "message": "WARN after restart"}])
        got = wait_for(lambda: _data(_kinesis_messages(server, arn)))
        assert got and [e["message"] for e in got[0]["logEvents"]] == ["WARN after restart"]
        # POST /_emulator/reset of Logs forgets the filters, also across a restart
        client.put_resource_policy(policyName="p", policyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}))
        client.put_query_definition(name="q", queryString="fields @message")
        server.reset(["logs"])
        server.stop()
        server.start()
        client = server.client("logs")
        group = _group(client)  # the same group id again: it inherits nothing
        assert client.describe_subscription_filters(logGroupName=group)["subscriptionFilters"] == []
        assert client.describe_resource_policies()["resourcePolicies"] == []
        assert client.describe_query_definitions()["queryDefinitions"] == []


def test_lambda_destination_is_invoked_or_dropped(mon: EmulatorServer, logs: Any) -> None:
    """A subscribed Lambda function: moto runs functions in Docker only, so delivery is attempted
    and, where that fails, dropped and logged; ingestion is never affected."""
    iam = mon.client("iam")
    role_name = f"fn-{uuid.uuid4().hex[:8]}"
    role = iam.create_role(RoleName=role_name, AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}))["Role"]["Arn"]
    lam = mon.client("lambda")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("index.py", "def handler(event, context):\n    return event\n")
    fn = lam.create_function(FunctionName=role_name, Runtime="python3.11", Role=role, Handler="index.handler", Code={"ZipFile": buf.getvalue()})["FunctionArn"]
    group = _group(logs)
    logs.put_subscription_filter(logGroupName=group, filterName="fn", filterPattern="", destinationArn=fn)
    [desc] = logs.describe_subscription_filters(logGroupName=group)["subscriptionFilters"]
    assert desc["destinationArn"] == fn and "roleArn" not in desc
    out = logs.put_log_events(logGroupName=group, logStreamName="s1", logEvents=[{"timestamp": _now_ms(), "message": "hello"}])
    assert "rejectedLogEventsInfo" not in out
    assert logs.get_log_events(logGroupName=group, logStreamName="s1")["events"][0]["message"] == "hello"


def test_schema_added_to_an_older_database_idempotently(tmp_path: Any) -> None:
    """A logs.db of the layout before subscriptions gets the tables; opening it again changes
    nothing, and a filter whose group is gone is dropped."""
    import sqlite3

    from emulator.monitoring.logs_policies import LogsPolicies
    from emulator.monitoring.logs_subscriptions import LogSubscriptions
    from emulator.monitoring.logstore import LogStore

    path = tmp_path / "logs.db"
    store = LogStore(path, "us-east-1", "123456789012")
    store.create_group("/old")
    store.close()
    for _ in range(2):
        store = LogStore(path, "us-east-1", "123456789012")
        subs = LogSubscriptions(store, "123456789012")
        LogsPolicies(store)
        assert subs.describe({"logGroupName": "/old"}, "us-east-1") == []
        with store.lock:
            store.db.execute(
                "INSERT OR REPLACE INTO subscription_filter(gid, region, grp, name, pattern, destination, role, distribution, created, cursor) "
                "VALUES (999, 'us-east-1', '/gone', 'f', '', 'arn:aws:kinesis:us-east-1:123456789012:stream/s', NULL, 'ByLogStream', 0, 0)"
            )
        subs.stop()
        store.close()
    db = sqlite3.connect(path)
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"subscription_filter", "resource_policy", "query_definition", "grp"} <= tables
    store = LogStore(path, "us-east-1", "123456789012")
    LogSubscriptions(store, "123456789012")
    with store.lock:
        assert store.db.execute("SELECT COUNT(*) FROM subscription_filter").fetchone()[0] == 0  # the orphan is gone
    store.close()
