"""DynamoDB Contributor Insights and auto scaling through the gateway of a cluster, as in one process.

A gateway, a dynamodb role and a monitoring role, as processes (no compute role: no model
needed). Insights' rules live in the monitoring role, the data plane that feeds them in the
dynamodb role (emulator/cluster/insights.py); auto scaling's policies live in the gateway's
Application Auto Scaling (moto), the evaluator and the tables in the dynamodb role
(emulator/cluster/autoscaling.py). The assertions are those of tests/dynamodb/test_contributor_insights.py
and tests/dynamodb/test_autoscaling.py.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from emulator.testing.server import EmulatorServer, free_port
from emulator.testing.wait import wait_for

from .conftest import FAST, role_server

PERIOD = 0.4  # seconds per auto scaling datapoint (AWS: 60)
SCALING = {"EMULATOR_AUTOSCALING_PERIOD": str(PERIOD), "EMULATOR_AUTOSCALING_SCALE_OUT_PERIODS": "2", "EMULATOR_AUTOSCALING_SCALE_IN_PERIODS": "3"}


@dataclass
class Topology:
    gateway: EmulatorServer
    dynamodb: EmulatorServer
    monitoring: EmulatorServer

    def client(self, service: str, **kwargs: Any) -> Any:
        return self.gateway.client(service, **kwargs)


@pytest.fixture(scope="module")
def topology() -> Iterator[Topology]:
    secret = secrets.token_hex(16)
    gw_port, ddb_port, mon_port = free_port(), free_port(), free_port()
    url = f"http://127.0.0.1:{gw_port}"
    dynamodb = role_server("dynamodb", secret, url, port=ddb_port)
    dynamodb.env.update(SCALING)
    monitoring = role_server("monitoring", secret, url, port=mon_port)
    gateway = EmulatorServer(port=gw_port, env={**FAST, "EMULATOR_CLUSTER_SECRET": secret},
                             extra_args=["--role", "gateway", "--peer", f"dynamodb=http://127.0.0.1:{ddb_port}", "--peer", f"monitoring=http://127.0.0.1:{mon_port}"])
    servers = [gateway, dynamodb, monitoring]
    topology = Topology(gateway, dynamodb, monitoring)
    try:
        with ThreadPoolExecutor(3) as pool:
            list(pool.map(lambda s: s.start(timeout=90), servers))
        yield topology
    finally:
        # A test replaces the monitoring role it restarts: stop the one running now, and the original.
        for server in {id(s): s for s in [*servers, topology.monitoring]}.values():
            server.cleanup()


def new_name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def create(ddb: Any, name: str, sort: bool = False, **kwargs: Any) -> None:
    keys = [{"AttributeName": "pk", "KeyType": "HASH"}]
    attrs = [{"AttributeName": "pk", "AttributeType": "S"}]
    if sort:
        keys.append({"AttributeName": "sk", "KeyType": "RANGE"})
        attrs.append({"AttributeName": "sk", "AttributeType": "S"})
    if "ProvisionedThroughput" not in kwargs:
        kwargs.setdefault("BillingMode", "PAY_PER_REQUEST")
    ddb.create_table(TableName=name, KeySchema=keys, AttributeDefinitions=attrs, **kwargs)


def report(cw: Any, rule: str, **kw: Any) -> dict[str, Any]:
    now = dt.datetime.now(dt.UTC)
    return dict(cw.get_insight_rule_report(RuleName=rule, StartTime=now - dt.timedelta(minutes=5), EndTime=now + dt.timedelta(minutes=2), Period=60, **kw))


def rule_of(rules: list[str], kind: str) -> str:
    [name] = [r for r in rules if r.startswith(f"DynamoDBContributorInsights-{kind}-")]
    return name


def settled(fn: Callable[[], Any], timeout: float = 15.0) -> Any:
    """``fn()`` once two reads a shipping interval apart agree and are not empty: the dynamodb role
    ships its counters every EMULATOR_TELEMETRY_FLUSH seconds (0.5 here)."""
    last: list[Any] = [None]

    def same() -> bool:
        now = fn()
        done = bool(now) and now == last[0]
        last[0] = now
        return done

    wait_for(same, timeout, interval=1.0)
    return last[0]


# ------------------------------------------------------------------ Contributor Insights
def test_contributor_insights_hot_keys_through_the_gateway(topology: Topology) -> None:
    ddb, cw = topology.client("dynamodb"), topology.client("cloudwatch")
    name = new_name("ci")
    create(ddb, name, sort=True)
    assert ddb.describe_contributor_insights(TableName=name)["ContributorInsightsStatus"] == "DISABLED"
    out = ddb.update_contributor_insights(TableName=name, ContributorInsightsAction="ENABLE")
    assert (out["TableName"], out["ContributorInsightsStatus"], out["ContributorInsightsMode"]) == (name, "ENABLING", "ACCESSED_AND_THROTTLED_KEYS")
    desc = ddb.describe_contributor_insights(TableName=name)
    assert desc["ContributorInsightsStatus"] == "ENABLED" and "LastUpdateDateTime" in desc
    rules = desc["ContributorInsightsRuleList"]
    assert sorted(r.split("-")[1] for r in rules) == ["PKC", "PKT", "SKC", "SKT"]
    # The managed rules are the monitoring role's CloudWatch's.
    described = {r["Name"]: r for r in cw.describe_insight_rules()["InsightRules"]}
    assert all(described[r]["ManagedRule"] is True and described[r]["State"] == "ENABLED" for r in rules)

    # Traffic through the gateway: "hot" is read and written most.
    for i in range(5):
        ddb.put_item(TableName=name, Item={"pk": {"S": "hot"}, "sk": {"S": f"s{i}"}})
        ddb.get_item(TableName=name, Key={"pk": {"S": "hot"}, "sk": {"S": "s0"}})
    ddb.put_item(TableName=name, Item={"pk": {"S": "cold"}, "sk": {"S": "x"}})
    ddb.query(TableName=name, KeyConditionExpression="#p = :v", ExpressionAttributeNames={"#p": "pk"}, ExpressionAttributeValues={":v": {"S": "warm"}})
    ddb.batch_write_item(RequestItems={name: [{"PutRequest": {"Item": {"pk": {"S": "batch"}, "sk": {"S": str(i)}}}} for i in range(2)]})

    pkc = settled(lambda: report(cw, rule_of(rules, "PKC"), Metrics=["UniqueContributors", "SampleCount"])["Contributors"])
    assert pkc[0]["Keys"] == ["hot"], pkc
    assert {"cold", "warm", "batch"} <= {c["Keys"][0] for c in pkc}
    assert pkc[0]["ApproximateAggregateValue"] == 7.5  # 5 writes of 1 unit + 5 eventually consistent reads of 0.5
    full = report(cw, rule_of(rules, "PKC"), Metrics=["UniqueContributors"])
    assert full["AggregationStatistic"] == "Sum" and full["MetricDatapoints"][-1]["UniqueContributors"] == 4.0
    skc = report(cw, rule_of(rules, "SKC"))
    assert skc["Contributors"][0]["Keys"] == ["hot", "s0"]  # written once and read five times
    assert report(cw, rule_of(rules, "PKT"))["Contributors"] == []  # nothing throttled

    listed = ddb.list_contributor_insights(TableName=name)["ContributorInsightsSummaries"]
    assert listed == [{"TableName": name, "ContributorInsightsStatus": "ENABLED", "ContributorInsightsMode": "ACCESSED_AND_THROTTLED_KEYS"}]

    out = ddb.update_contributor_insights(TableName=name, ContributorInsightsAction="DISABLE")
    assert out["ContributorInsightsStatus"] == "DISABLING"
    desc = ddb.describe_contributor_insights(TableName=name)
    assert desc["ContributorInsightsStatus"] == "DISABLED" and "ContributorInsightsRuleList" not in desc
    assert not set(rules) & {r["Name"] for r in cw.describe_insight_rules()["InsightRules"]}


def test_throttled_keys_counted_on_the_dynamodb_role(topology: Topology) -> None:
    ddb, cw = topology.client("dynamodb"), topology.client("cloudwatch")
    once = topology.client("dynamodb", config=Config(retries={"total_max_attempts": 1}))  # each refusal seen, none retried
    name = new_name("ci-t")
    create(ddb, name, OnDemandThroughput={"MaxWriteRequestUnits": 1})
    out = ddb.update_contributor_insights(TableName=name, ContributorInsightsAction="ENABLE", ContributorInsightsMode="THROTTLED_KEYS")
    assert out["ContributorInsightsMode"] == "THROTTLED_KEYS"
    rules = ddb.describe_contributor_insights(TableName=name)["ContributorInsightsRuleList"]
    assert [r.split("-")[1] for r in rules] == ["PKT"]  # no sort key, throttled keys only
    throttled = 0
    for i in range(8):
        try:
            once.put_item(TableName=name, Item={"pk": {"S": "busy"}, "n": {"N": str(i)}})
        except ClientError as exc:
            assert exc.response["Error"]["Code"] == "ProvisionedThroughputExceededException"
            throttled += 1
    assert throttled, "the table's maximum throughput was never exceeded"
    found = settled(lambda: [(c["Keys"], c["ApproximateAggregateValue"]) for c in report(cw, rules[0])["Contributors"]])
    assert found == [(["busy"], float(throttled))]


def test_rule_deleted_in_cloudwatch_is_no_longer_fed(topology: Topology) -> None:
    ddb, cw = topology.client("dynamodb"), topology.client("cloudwatch")
    name = new_name("ci-d")
    create(ddb, name)
    ddb.update_contributor_insights(TableName=name, ContributorInsightsAction="ENABLE")
    rules = ddb.describe_contributor_insights(TableName=name)["ContributorInsightsRuleList"]
    pkc = rule_of(rules, "PKC")
    ddb.put_item(TableName=name, Item={"pk": {"S": "a"}})
    assert settled(lambda: [c["Keys"] for c in report(cw, pkc)["Contributors"]]) == [["a"]]
    # Deleted on the CloudWatch side: the role learns it with its next batch and stops counting for it.
    assert cw.delete_insight_rules(RuleNames=[pkc])["Failures"] == []
    with pytest.raises(ClientError) as err:
        report(cw, pkc)
    assert err.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert pkc not in ddb.describe_contributor_insights(TableName=name)["ContributorInsightsRuleList"]


# ------------------------------------------------------------------ auto scaling
def throughput(ddb: Any, name: str) -> tuple[int, int]:
    pt = ddb.describe_table(TableName=name)["Table"]["ProvisionedThroughput"]
    return int(pt["ReadCapacityUnits"]), int(pt["WriteCapacityUnits"])


def load(fn: Callable[[], Any], seconds: float) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            fn()
        except ClientError as exc:  # throttled: the load is above the capacity, as intended
            if exc.response["Error"]["Code"] not in ("ProvisionedThroughputExceededException", "ThrottlingException"):
                raise
        time.sleep(0.01)


def test_target_tracking_policy_of_application_auto_scaling_scales_a_table(topology: Topology) -> None:
    ddb, aas = topology.client("dynamodb"), topology.client("application-autoscaling")
    name = new_name("as")
    create(ddb, name, ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 5})
    rid = f"table/{name}"
    # Registered with the gateway's Application Auto Scaling: a minimum above the capacity raises it at once.
    aas.register_scalable_target(ServiceNamespace="dynamodb", ResourceId=rid, ScalableDimension="dynamodb:table:WriteCapacityUnits", MinCapacity=8, MaxCapacity=30)
    wait_for(lambda: throughput(ddb, name)[1] == 8, timeout=20)
    aas.put_scaling_policy(
        PolicyName="writes", ServiceNamespace="dynamodb", ResourceId=rid, ScalableDimension="dynamodb:table:WriteCapacityUnits", PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration={"PredefinedMetricSpecification": {"PredefinedMetricType": "DynamoDBWriteCapacityUtilization"}, "TargetValue": 50.0,
                                                  "DisableScaleIn": True},
    )
    # The dynamodb role describes what the gateway's Application Auto Scaling holds.
    described = ddb.describe_table_replica_auto_scaling(TableName=name)["TableAutoScalingDescription"]["Replicas"][0]
    write = described["ReplicaProvisionedWriteCapacityAutoScalingSettings"]
    assert (write["MinimumUnits"], write["MaximumUnits"], write["ScalingPolicies"][0]["PolicyName"]) == (8, 30, "writes")
    counter = iter(range(10**9))
    stop = threading.Event()

    def writer() -> None:
        while not stop.is_set():
            load(lambda: ddb.put_item(TableName=name, Item={"pk": {"S": f"k{next(counter)}"}}), 0.2)

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    try:
        # Sustained writes well above 50% of 8 WCU: out within a few periods, up to at most 30.
        wait_for(lambda: throughput(ddb, name)[1] > 8, timeout=30)
    finally:
        stop.set()
        thread.join()
    scaled = throughput(ddb, name)
    assert 8 < scaled[1] <= 30
    assert scaled[0] == 5  # the read capacity has no target: untouched


def test_update_table_replica_auto_scaling_registers_with_the_gateway_and_scales_in(topology: Topology) -> None:
    ddb, aas = topology.client("dynamodb"), topology.client("application-autoscaling")
    name = new_name("as-u")
    create(ddb, name, ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 5})
    update = {"MinimumUnits": 2, "MaximumUnits": 25, "ScalingPolicyUpdate": {"TargetTrackingScalingPolicyConfiguration": {"TargetValue": 50.0}}}
    out = ddb.update_table_replica_auto_scaling(TableName=name, ProvisionedWriteCapacityAutoScalingUpdate=update)
    write = out["TableAutoScalingDescription"]["Replicas"][0]["ReplicaProvisionedWriteCapacityAutoScalingSettings"]
    assert (write["MinimumUnits"], write["MaximumUnits"]) == (2, 25)
    # The target and its policy are the gateway's Application Auto Scaling's.
    found = aas.describe_scalable_targets(ServiceNamespace="dynamodb", ResourceIds=[f"table/{name}"])["ScalableTargets"]
    assert [(t["ScalableDimension"], t["MinCapacity"], t["MaxCapacity"]) for t in found] == [("dynamodb:table:WriteCapacityUnits", 2, 25)]
    policies = aas.describe_scaling_policies(ServiceNamespace="dynamodb", ResourceId=f"table/{name}")["ScalingPolicies"]
    assert [p["TargetTrackingScalingPolicyConfiguration"]["TargetValue"] for p in policies] == [50.0]
    # Idle, the utilization is below target - 20: it scales in to the minimum after 3 periods.
    wait_for(lambda: throughput(ddb, name) == (5, 2), timeout=30)
    # Errors of the operation are DynamoDB's, as in one process.
    with pytest.raises(ClientError) as err:
        ddb.update_table_replica_auto_scaling(TableName=name, ProvisionedWriteCapacityAutoScalingUpdate={"MinimumUnits": 3, "MaximumUnits": 2})
    assert err.value.response["Error"]["Code"] == "ValidationException"


def test_internal_paths_need_the_internal_credential(topology: Topology) -> None:
    # Through the gateway's public port, a client cannot feed counters to CloudWatch nor change moto's targets.
    for path, body in (("/_emulator/cluster/insights", {"op": "reset"}), ("/_emulator/cluster/autoscaling", {"op": "apply", "updates": []})):
        req = urllib.request.Request(topology.gateway.endpoint + path, data=json.dumps(body).encode(), headers={"content-type": "application/json"})
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(req, timeout=10)
        assert err.value.code == 403, path


# ------------------------------------------------------------------ last: restarts the monitoring role
def test_counts_made_while_monitoring_is_down_arrive_when_it_is_back(topology: Topology) -> None:
    ddb, cw = topology.client("dynamodb"), topology.client("cloudwatch")
    name = new_name("ci-r")
    create(ddb, name)
    ddb.update_contributor_insights(TableName=name, ContributorInsightsAction="ENABLE")
    pkc = rule_of(ddb.describe_contributor_insights(TableName=name)["ContributorInsightsRuleList"], "PKC")
    port, data_dir = topology.monitoring.port, topology.monitoring.data_dir
    topology.monitoring.stop()
    # The data plane does not need CloudWatch: requests succeed and their keys wait in the role's buffer.
    for _ in range(3):
        ddb.put_item(TableName=name, Item={"pk": {"S": "offline"}})
    # The control operations do: AWS's InternalServerError, never a made-up answer.
    once = topology.client("dynamodb", config=Config(retries={"total_max_attempts": 1}))
    with pytest.raises(ClientError) as err:
        once.describe_contributor_insights(TableName=name)
    assert err.value.response["Error"]["Code"] == "InternalServerError"
    restarted = role_server("monitoring", topology.dynamodb.env["EMULATOR_CLUSTER_SECRET"], topology.gateway.endpoint, port=port, data_dir=data_dir)
    restarted.start(timeout=90)
    topology.monitoring = restarted

    def counted() -> Any:
        try:
            return [(c["Keys"], c["ApproximateAggregateValue"]) for c in report(cw, pkc)["Contributors"]]
        except ClientError as exc:
            assert exc.response["Error"]["Code"] == "ServiceUnavailable"
            return None

    assert settled(counted, 30) == [(["offline"], 3.0)]
