"""End to end through the gateway of a four-process cluster, then failure and recovery of a role."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from emulator.testing.raw import signed
from emulator.testing.wait import wait_for

from .conftest import Cluster, role_server

MESSAGES = [{"role": "user", "content": [{"text": "Say hi."}]}]


def get_json(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url, timeout=10) as resp:
        data: dict[str, Any] = json.load(resp)
    return data


def compute_registered(cluster: Cluster) -> bool:
    found = get_json(cluster.gateway.endpoint + "/_emulator/cluster/instances")["instances"]
    return any(i["role"] == "compute" and i["healthy"] for i in found)


def test_roles_serve_only_their_services(cluster: Cluster) -> None:
    health = {s: get_json(s.endpoint + "/_emulator/health") for s in [cluster.gateway, *cluster.roles]}
    assert set(health[cluster.dynamodb]["services"]) == {"dynamodb", "dynamodbstreams"}
    assert set(health[cluster.compute]["services"]) == {"ec2", "bedrock", "bedrock-runtime"}
    assert set(health[cluster.monitoring]["services"]) == {"cloudwatch", "logs"}
    gateway = health[cluster.gateway]["services"]
    assert {name for name, info in gateway.items() if info["mode"] == "native"} == {"iam"}
    # The gateway's health (and the console's overview) lists what its roles serve, in their state.
    served = {name for role in cluster.roles for name in health[role]["services"]}

    def all_running() -> dict[str, Any] | None:
        # The gateway's health checks (every 0.5 s here) may have found a role still starting.
        found: dict[str, Any] = get_json(cluster.gateway.endpoint + "/_emulator/health")["services"]
        return found if all(found[name]["state"] == "running" for name in served) else None

    gateway = wait_for(all_running, 30)
    assert all(gateway[name]["mode"] == "remote" for name in served)
    # The console's Overview reads the same report: no role's service is "not available" there.
    import re

    import requests

    web = requests.Session()
    base = cluster.gateway.endpoint + "/_emulator/console"
    signin = web.get(base + "/signin", timeout=30)
    csrf = re.search(r'name="csrf-token" content="([^"]*)"', signin.text)
    assert csrf is not None
    overview = web.post(base + "/signin", timeout=30, data={"_csrf": csrf.group(1), "access_key_id": cluster.gateway.access_key,
                                                            "secret_access_key": cluster.gateway.secret_key, "next": "/"})
    assert overview.status_code == 200 and "Services" in overview.text, overview.text[:500]
    assert "served by the fallback if at all" not in overview.text and overview.text.count(">remote<") >= len(served)
    assert gateway["dynamodb"]["role"] == "dynamodb" and gateway["logs"]["role"] == "monitoring"
    assert "dynamodb" not in get_json(cluster.gateway.endpoint + "/_emulator/health")["fallback"]["services"]


def test_role_banners_name_the_gateway_and_no_key(cluster: Cluster) -> None:
    """A role's port answers only the internal credential: its banner says so, with no key or try-lines."""
    for role in cluster.roles:
        banner = role.log_path.read_text()
        assert "an internal role behind the gateway at " + cluster.gateway.endpoint in banner, banner[:2000]
        assert "aws_secret_access_key" not in banner and "try: aws" not in banner and "/_emulator/console" not in banner
    assert "try: aws --endpoint-url " + cluster.gateway.endpoint in cluster.gateway.log_path.read_text()


def test_role_ports_refuse_clients_without_the_internal_credential(cluster: Cluster) -> None:
    # A correctly SigV4-signed request straight to a role is still refused: only the gateway's credential counts.
    with pytest.raises(ClientError) as err:
        cluster.dynamodb.client("dynamodb").list_tables()
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    req = urllib.request.Request(cluster.dynamodb.endpoint + "/", data=b"{}", headers={
        "x-amz-target": "DynamoDB_20120810.ListTables", "content-type": "application/x-amz-json-1.0",
        "x-emulator-internal": "0" * 64, "x-emulator-internal-time": str(int(time.time())), "x-emulator-principal": "",
    })
    with pytest.raises(urllib.error.HTTPError) as forged:
        urllib.request.urlopen(req, timeout=10)
    assert forged.value.code == 403


def test_end_to_end_through_the_gateway(cluster: Cluster) -> None:
    wait_for(lambda: compute_registered(cluster), 30)
    ddb = cluster.client("dynamodb")
    ddb.create_table(TableName="cluster-t", KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
    ddb.put_item(TableName="cluster-t", Item={"id": {"S": "a"}, "n": {"N": "1"}})
    assert ddb.get_item(TableName="cluster-t", Key={"id": {"S": "a"}})["Item"]["n"] == {"N": "1"}
    # Errors of the role come back in the service's own shape.
    with pytest.raises(ClientError) as err:
        ddb.get_item(TableName="missing", Key={"id": {"S": "a"}})
    assert err.value.response["Error"]["Code"] == "ResourceNotFoundException"

    ec2 = cluster.client("ec2")
    image_id = ec2.describe_images()["Images"][0]["ImageId"]
    bedrock = cluster.client("bedrock-runtime")
    out = bedrock.converse(modelId=image_id, messages=MESSAGES, inferenceConfig={"maxTokens": 4, "temperature": 0})
    assert out["output"]["message"]["content"][0]["text"]
    # A streamed response passes through the gateway as an event stream.
    events = list(bedrock.converse_stream(modelId=image_id, messages=MESSAGES, inferenceConfig={"maxTokens": 4, "temperature": 0})["stream"])
    assert "messageStop" in [next(iter(e)) for e in events]

    # A job instance whose results go to DynamoDB: compute -> gateway -> dynamodb role.
    job = {"prompt": "One", "max_tokens": 2, "dynamodb": {"table": "cluster-t"}}
    iid = ec2.run_instances(ImageId=image_id, MinCount=1, MaxCount=1, UserData=json.dumps(job))["Instances"][0]["InstanceId"]

    def job_written() -> Any:
        return ddb.get_item(TableName="cluster-t", Key={"id": {"S": f"{iid}-0"}}).get("Item")

    item = wait_for(job_written, 60)
    assert item["instance_id"] == {"S": iid} and item["output"]["S"]

    cw = cluster.client("cloudwatch")
    cw.put_metric_data(Namespace="Cluster/Test", MetricData=[{"MetricName": "Hits", "Value": 5.0, "Unit": "Count"}])
    assert cw.list_metrics(Namespace="Cluster/Test")["Metrics"][0]["MetricName"] == "Hits"
    cw.put_metric_alarm(AlarmName="cluster-alarm", Namespace="Cluster/Test", MetricName="Hits", Statistic="Sum", Period=60,
                        EvaluationPeriods=1, Threshold=1.0, ComparisonOperator="GreaterThanThreshold")
    assert cw.describe_alarms(AlarmNames=["cluster-alarm"])["MetricAlarms"][0]["AlarmName"] == "cluster-alarm"

    # The dynamodb and compute roles' telemetry reaches the monitoring role.
    def published(namespace: str) -> bool:
        return bool(cw.list_metrics(Namespace=namespace)["Metrics"])

    wait_for(lambda: published("AWS/DynamoDB"), 30)
    wait_for(lambda: published("AWS/Bedrock"), 30)
    wait_for(lambda: published("AWS/EC2"), 30)  # instance samples from the compute role
    # The job's console output reaches CloudWatch Logs on the monitoring role.
    logs = cluster.client("logs")

    def console_shipped() -> bool:
        try:
            events = logs.get_log_events(logGroupName=f"/emulator/instances/{iid}", logStreamName="console")["events"]
        except ClientError:
            return False
        return any("RESULT" in e["message"] for e in events)

    wait_for(console_shipped, 30)
    # The monitoring role's non-AWS surfaces are forwarded too.
    with urllib.request.urlopen(cluster.gateway.endpoint + "/metrics", timeout=10) as resp:
        assert resp.status == 200 and b"emulator_" in resp.read()
    # The usage report: signed, by a principal allowed ce:GetCostAndUsage (decided at the gateway).
    report = signed(cluster.gateway, "GET", "/_emulator/usage", service="ce")
    assert report.status == 200 and report.json()["currency"] == "USD", report.body
    with pytest.raises(urllib.error.HTTPError) as unsigned:
        urllib.request.urlopen(cluster.gateway.endpoint + "/_emulator/usage", timeout=10)
    assert unsigned.value.code == 403 and json.loads(unsigned.value.read())["error"]["code"] == "permission_denied"
    # The audit log's CloudWatch Logs copy reaches the monitoring role.
    def audited() -> bool:
        try:
            streams = logs.describe_log_streams(logGroupName="/emulator/audit")["logStreams"]
            found = [e["message"] for s in streams for e in logs.get_log_events(logGroupName="/emulator/audit", logStreamName=s["logStreamName"])["events"]]
        except ClientError:
            return False
        return any('"operation":"PutMetricAlarm"' in m for m in found)

    wait_for(audited, 30)


def test_openai_api_is_forwarded_with_bearer_auth(cluster: Cluster) -> None:
    wait_for(lambda: compute_registered(cluster), 30)
    url = cluster.gateway.endpoint + "/v1/models"
    token = f"{cluster.gateway.access_key}:{cluster.gateway.secret_key}"
    with urllib.request.urlopen(urllib.request.Request(url, headers={"authorization": f"Bearer {token}"}), timeout=10) as resp:
        assert json.load(resp)["data"]
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(urllib.request.Request(url, headers={"authorization": "Bearer wrong-token-123"}), timeout=10)
    assert err.value.code == 401
    # Server-sent events stream through the gateway.
    model = get_json_auth(url, token)["data"][0]["id"]
    body = json.dumps({"model": model, "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 3, "stream": True}).encode()
    req = urllib.request.Request(cluster.gateway.endpoint + "/v1/chat/completions", data=body,
                                 headers={"authorization": f"Bearer {token}", "content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as resp:
        assert resp.headers["content-type"].startswith("text/event-stream")
        lines = [line for line in resp.read().decode().splitlines() if line.startswith("data: ")]
    assert lines[-1] == "data: [DONE]" and len(lines) >= 2


def test_openai_api_policies_apply_at_the_gateway(cluster: Cluster) -> None:
    """Roles trust the gateway's principal, so the gateway evaluates IAM policies for /v1."""
    wait_for(lambda: compute_registered(cluster), 30)
    iam = cluster.gateway.client("iam")
    user = f"noinfer{int(time.time() * 1000) % 10**9}"
    iam.create_user(UserName=user)
    iam.put_user_policy(UserName=user, PolicyName="p", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "bedrock:*", "Resource": "*"},
            {"Effect": "Deny", "Action": "bedrock:InvokeModel", "Resource": "*"},
        ],
    }))
    key = iam.create_access_key(UserName=user)["AccessKey"]
    token = f"{key['AccessKeyId']}:{key['SecretAccessKey']}"
    url = cluster.gateway.endpoint + "/v1/models"
    # Listing is allowed (bedrock:ListFoundationModels); generation is explicitly denied.
    model = wait_for(lambda: get_json_auth(url, token)["data"][0]["id"], 10)
    body = json.dumps({"model": model, "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 2}).encode()
    req = urllib.request.Request(cluster.gateway.endpoint + "/v1/chat/completions", data=body,
                                 headers={"authorization": f"Bearer {token}", "content-type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(req, timeout=30)
    assert err.value.code == 403
    doc = json.loads(err.value.read())
    assert doc["error"]["code"] == "AccessDeniedException"
    assert "bedrock:InvokeModel" in doc["error"]["message"] and user in doc["error"]["message"]


def get_json_auth(url: str, token: str) -> dict[str, Any]:
    with urllib.request.urlopen(urllib.request.Request(url, headers={"authorization": f"Bearer {token}"}), timeout=10) as resp:
        data: dict[str, Any] = json.load(resp)
    return data


def test_compute_down_gives_503_and_recovers(cluster: Cluster) -> None:
    wait_for(lambda: compute_registered(cluster), 30)
    ec2 = cluster.client("ec2")
    ddb = cluster.client("dynamodb")
    cw = cluster.client("cloudwatch")
    ec2.describe_instances()
    port, data_dir = cluster.compute.port, cluster.compute.data_dir
    cluster.compute.kill()
    for call in (ec2.describe_instances, lambda: cluster.client("bedrock-runtime").converse(modelId="x", messages=MESSAGES)):
        with pytest.raises(ClientError) as err:
            call()
        assert err.value.response["Error"]["Code"] == "ServiceUnavailable"
        assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
    token = f"{cluster.gateway.access_key}:{cluster.gateway.secret_key}"
    with pytest.raises(urllib.error.HTTPError) as down:
        get_json_auth(cluster.gateway.endpoint + "/v1/models", token)
    assert down.value.code == 503 and json.load(down.value)["error"]["code"] == "ServiceUnavailable"
    # The other roles keep working.
    assert ddb.list_tables()["TableNames"] is not None
    cw.list_metrics()
    # The same compute instance comes back (same port and data dir) and registers again.
    models = cluster.compute.env["EMULATOR_MODELS_DIR"]
    from pathlib import Path

    restarted = role_server("compute", cluster.secret, cluster.gateway.endpoint, models_dir=Path(models), port=port, data_dir=data_dir)
    restarted.start(timeout=90)
    cluster.compute = restarted

    def recovered() -> bool:
        try:
            ec2.describe_instances()
            return True
        except ClientError as exc:
            assert exc.response["Error"]["Code"] == "ServiceUnavailable"
            return False

    wait_for(recovered, 30)


def test_in_process_invoke_of_the_gateway_reaches_the_roles(cluster: Cluster, tmp_path: Any) -> None:
    """``app.invoke`` (the console, alarm actions) in a gateway process goes to the roles too."""
    import asyncio

    from emulator import cluster as cluster_mod
    from emulator.app import create_app
    from emulator.errors import AwsError
    from emulator.runtime import Runtime
    from emulator.settings import load_settings

    wait_for(lambda: compute_registered(cluster), 30)
    settings = load_settings({"data_dir": tmp_path, "role": "gateway", "cluster_secret": cluster.secret, "telemetry": False, "peers": [
        f"dynamodb={cluster.dynamodb.endpoint}", f"monitoring={cluster.monitoring.endpoint}", f"compute={cluster.compute.endpoint}"]})
    cluster_mod.configure(settings)
    runtime = Runtime(settings)
    app = create_app(runtime)
    cluster_mod.install(runtime, app)

    async def calls() -> None:
        tables = await app.invoke("dynamodb", "ListTables", {})
        assert "cluster-t" in tables["TableNames"]
        item = await app.invoke("dynamodb", "GetItem", {"TableName": "cluster-t", "Key": {"id": {"S": "a"}}})
        assert item["Item"]["n"] == {"N": "1"}
        metrics = await app.invoke("cloudwatch", "ListMetrics", {"Namespace": "Cluster/Test"})
        assert metrics["Metrics"][0]["MetricName"] == "Hits"
        images = await app.invoke("ec2", "DescribeImages", {})
        assert images["Images"]
        with pytest.raises(AwsError) as err:
            await app.invoke("dynamodb", "DescribeTable", {"TableName": "nope"})
        assert err.value.code == "ResourceNotFoundException" and err.value.status == 400

    asyncio.run(calls())


def test_graceful_stop_says_goodbye_and_monitoring_recovers(cluster: Cluster) -> None:
    cw = cluster.client("cloudwatch")
    cw.list_metrics()
    port, data_dir = cluster.monitoring.port, cluster.monitoring.data_dir
    cluster.monitoring.stop()  # SIGTERM: a farewell heartbeat, then the port closes

    def monitoring_down() -> bool:
        found = get_json(cluster.gateway.endpoint + "/_emulator/cluster/instances")["instances"]
        return any(i["role"] == "monitoring" and not i["healthy"] for i in found)

    wait_for(monitoring_down, 15)
    with pytest.raises(ClientError) as err:
        cw.list_metrics()
    assert err.value.response["Error"]["Code"] == "ServiceUnavailable"
    services = get_json(cluster.gateway.endpoint + "/_emulator/health")["services"]
    assert services["cloudwatch"]["state"] == services["logs"]["state"] == "unavailable"
    assert services["dynamodb"]["state"] == "running"
    # DynamoDB does not depend on the monitoring role being up (its telemetry waits in a buffer).
    cluster.client("dynamodb").list_tables()
    restarted = role_server("monitoring", cluster.secret, cluster.gateway.endpoint, port=port, data_dir=data_dir)
    restarted.start(timeout=90)
    cluster.monitoring = restarted

    def recovered() -> bool:
        try:
            return bool(cw.list_metrics(Namespace="Cluster/Test")["Metrics"])  # the data survived the restart
        except ClientError as exc:
            assert exc.response["Error"]["Code"] == "ServiceUnavailable"
            return False

    wait_for(recovered, 30)


def test_limits_apply_in_the_right_process(cluster: Cluster) -> None:
    from botocore.config import Config

    ddb = cluster.client("dynamodb", config=Config(retries={"total_max_attempts": 1}))

    def code(call: Callable[[], Any]) -> str | None:
        try:
            call()
            return None
        except ClientError as exc:
            return str(exc.response["Error"]["Code"])

    # Request rate limits: at the gateway.
    codes = [code(ddb.describe_limits) for _ in range(4)]
    assert codes[0] is None and "ThrottlingException" in codes, codes
    # Provisioned throughput: at the dynamodb role, where the tables are.
    ddb.create_table(TableName="cluster-prov", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                     ProvisionedThroughput={"ReadCapacityUnits": 1, "WriteCapacityUnits": 1})
    writes = [code(lambda i=i: ddb.put_item(TableName="cluster-prov", Item={"pk": {"S": f"k{i}"}})) for i in range(8)]
    assert None in writes and set(writes) - {None} == {"ProvisionedThroughputExceededException"}, writes

