"""DynamoDB auto scaling: DescribeGlobalTableSettings / UpdateGlobalTableSettings (legacy
global tables), DescribeTableReplicaAutoScaling / UpdateTableReplicaAutoScaling, the scalable
targets and policies they leave in Application Auto Scaling, and the evaluator that scales a
provisioned table under load. boto3 ``dynamodb`` and ``application-autoscaling`` clients of
two regions against one server of its own, whose auto scaling periods are fractions of a second."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from emulator.testing import EmulatorServer
from emulator.testing.plugin import storage_args
from emulator.testing.wait import wait_for

EAST = "us-east-1"
WEST = "eu-west-1"
ROLE = "arn:aws:iam::000000000000:role/aws-service-role/dynamodb.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_DynamoDBTable"
PERIOD = 0.4  # seconds per auto scaling datapoint (AWS: 60)


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    env = {
        "EMULATOR_AUTOSCALING_PERIOD": str(PERIOD),
        "EMULATOR_AUTOSCALING_SCALE_OUT_PERIODS": "2",
        "EMULATOR_AUTOSCALING_SCALE_IN_PERIODS": "3",
        "EMULATOR_REPLICA_ACTIVATION_DELAY": "0",
    }
    with storage_args() as args:
        srv = EmulatorServer(extra_args=args, env=env).start()
        try:
            yield srv
        finally:
            srv.cleanup()


@pytest.fixture(scope="module")
def client(server: EmulatorServer) -> Callable[..., Any]:
    return lambda service, region=EAST: server.client(service, region_name=region)


@pytest.fixture(scope="module")
def east(client: Callable[..., Any]) -> Any:
    return client("dynamodb")


@pytest.fixture(scope="module")
def west(client: Callable[..., Any]) -> Any:
    return client("dynamodb", WEST)


@pytest.fixture(scope="module")
def aas(client: Callable[..., Any]) -> Any:
    return client("application-autoscaling")


@pytest.fixture(scope="module")
def aas_west(client: Callable[..., Any]) -> Any:
    return client("application-autoscaling", WEST)


GSI = {
    "IndexName": "by-g",
    "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}],
    "Projection": {"ProjectionType": "ALL"},
}


def create(ddb: Any, name: str, rcu: int = 5, wcu: int = 5, gsi: bool = False, stream: bool = False, **kwargs: Any) -> None:
    attrs = [{"AttributeName": "pk", "AttributeType": "S"}]
    if gsi:
        attrs.append({"AttributeName": "g", "AttributeType": "S"})
        on_demand = kwargs.get("BillingMode") == "PAY_PER_REQUEST"
        kwargs["GlobalSecondaryIndexes"] = [GSI if on_demand else {**GSI, "ProvisionedThroughput": {"ReadCapacityUnits": rcu, "WriteCapacityUnits": wcu}}]
    if stream:
        kwargs["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    if kwargs.get("BillingMode") != "PAY_PER_REQUEST":
        kwargs["ProvisionedThroughput"] = {"ReadCapacityUnits": rcu, "WriteCapacityUnits": wcu}
    ddb.create_table(TableName=name, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}], AttributeDefinitions=attrs, **kwargs)


def error(fn: Callable[[], Any]) -> tuple[str, str]:
    with pytest.raises(ClientError) as info:
        fn()
    return str(info.value.response["Error"]["Code"]), str(info.value.response["Error"]["Message"])


def new_name() -> str:
    return f"as-{uuid.uuid4().hex[:10]}"


def scaling(min_units: int, max_units: int, target: float = 50.0, **policy: Any) -> dict[str, Any]:
    return {
        "MinimumUnits": min_units,
        "MaximumUnits": max_units,
        "ScalingPolicyUpdate": {"TargetTrackingScalingPolicyConfiguration": {"TargetValue": target, **policy}},
    }


def targets(aas: Any, name: str) -> dict[str, dict[str, Any]]:
    found = aas.describe_scalable_targets(ServiceNamespace="dynamodb")["ScalableTargets"]
    return {t["ScalableDimension"] + " " + t["ResourceId"]: t for t in found if t["ResourceId"].startswith(f"table/{name}")}


def throughput(ddb: Any, name: str) -> tuple[int, int]:
    pt = ddb.describe_table(TableName=name)["Table"]["ProvisionedThroughput"]
    return int(pt["ReadCapacityUnits"]), int(pt["WriteCapacityUnits"])


@pytest.fixture
def legacy(east: Any, west: Any) -> Iterator[str]:
    """A legacy (2017.11.29) global table of two provisioned replicas with a GSI."""
    name = new_name()
    for ddb in (east, west):
        create(ddb, name, gsi=True, stream=True)
    east.create_global_table(GlobalTableName=name, ReplicationGroup=[{"RegionName": EAST}, {"RegionName": WEST}])
    yield name
    for ddb in (east, west):
        try:
            ddb.delete_table(TableName=name)
        except ClientError:
            pass


# ---------------------------------------------------- legacy global table settings
def test_describe_global_table_settings(east: Any, west: Any, legacy: str) -> None:
    out = east.describe_global_table_settings(GlobalTableName=legacy)
    assert out["GlobalTableName"] == legacy
    replicas = {r["RegionName"]: r for r in out["ReplicaSettings"]}
    assert set(replicas) == {EAST, WEST}
    east_settings = replicas[EAST]
    assert east_settings["ReplicaStatus"] == "ACTIVE"
    assert east_settings["ReplicaBillingModeSummary"]["BillingMode"] == "PROVISIONED"
    assert east_settings["ReplicaProvisionedReadCapacityUnits"] == 5
    assert east_settings["ReplicaProvisionedWriteCapacityUnits"] == 5
    assert east_settings["ReplicaProvisionedReadCapacityAutoScalingSettings"] == {"AutoScalingDisabled": True}
    assert east_settings["ReplicaTableClassSummary"]["TableClass"] == "STANDARD"
    (gsi,) = east_settings["ReplicaGlobalSecondaryIndexSettings"]
    assert gsi["IndexName"] == "by-g" and gsi["ProvisionedReadCapacityUnits"] == 5 and gsi["IndexStatus"] == "ACTIVE"
    # The same answer from the other region.
    assert west.describe_global_table_settings(GlobalTableName=legacy)["ReplicaSettings"] == out["ReplicaSettings"]


def test_update_global_table_settings_capacity(east: Any, west: Any, legacy: str) -> None:
    out = east.update_global_table_settings(
        GlobalTableName=legacy,
        GlobalTableProvisionedWriteCapacityUnits=7,
        GlobalTableGlobalSecondaryIndexSettingsUpdate=[{"IndexName": "by-g", "ProvisionedWriteCapacityUnits": 6}],
        ReplicaSettingsUpdate=[
            {
                "RegionName": WEST,
                "ReplicaProvisionedReadCapacityUnits": 9,
                "ReplicaGlobalSecondaryIndexSettingsUpdate": [{"IndexName": "by-g", "ProvisionedReadCapacityUnits": 4}],
                "ReplicaTableClass": "STANDARD_INFREQUENT_ACCESS",
            }
        ],
    )
    replicas = {r["RegionName"]: r for r in out["ReplicaSettings"]}
    assert replicas[EAST]["ReplicaProvisionedWriteCapacityUnits"] == 7
    assert replicas[WEST]["ReplicaProvisionedWriteCapacityUnits"] == 7
    assert replicas[EAST]["ReplicaProvisionedReadCapacityUnits"] == 5
    assert replicas[WEST]["ReplicaProvisionedReadCapacityUnits"] == 9
    assert replicas[WEST]["ReplicaTableClassSummary"]["TableClass"] == "STANDARD_INFREQUENT_ACCESS"
    # Each replica table itself changed, as UpdateTable would have changed it.
    assert throughput(east, legacy) == (5, 7)
    assert throughput(west, legacy) == (9, 7)
    west_table = west.describe_table(TableName=legacy)["Table"]
    assert west_table["TableClassSummary"]["TableClass"] == "STANDARD_INFREQUENT_ACCESS"
    (gsi,) = west_table["GlobalSecondaryIndexes"]
    assert gsi["ProvisionedThroughput"]["ReadCapacityUnits"] == 4 and gsi["ProvisionedThroughput"]["WriteCapacityUnits"] == 6
    (east_gsi,) = east.describe_table(TableName=legacy)["Table"]["GlobalSecondaryIndexes"]
    assert east_gsi["ProvisionedThroughput"]["ReadCapacityUnits"] == 5 and east_gsi["ProvisionedThroughput"]["WriteCapacityUnits"] == 6
    # And DescribeGlobalTableSettings from the other region reads the same.
    again = {r["RegionName"]: r for r in west.describe_global_table_settings(GlobalTableName=legacy)["ReplicaSettings"]}
    assert again[WEST]["ReplicaProvisionedReadCapacityUnits"] == 9


def test_update_global_table_settings_auto_scaling(east: Any, aas: Any, aas_west: Any, legacy: str) -> None:
    out = east.update_global_table_settings(
        GlobalTableName=legacy,
        GlobalTableProvisionedWriteCapacityAutoScalingSettingsUpdate=scaling(5, 40, 70.0, ScaleInCooldown=60, ScaleOutCooldown=30),
        ReplicaSettingsUpdate=[{"RegionName": WEST, "ReplicaProvisionedReadCapacityAutoScalingSettingsUpdate": scaling(3, 30, 60.0)}],
    )
    replicas = {r["RegionName"]: r for r in out["ReplicaSettings"]}
    for region in (EAST, WEST):
        write = replicas[region]["ReplicaProvisionedWriteCapacityAutoScalingSettings"]
        assert write["MinimumUnits"] == 5 and write["MaximumUnits"] == 40 and write["AutoScalingDisabled"] is False
        assert write["AutoScalingRoleArn"] == ROLE
        (policy,) = write["ScalingPolicies"]
        assert policy["PolicyName"] == f"DynamoDBWriteCapacityUtilization:table/{legacy}"
        assert policy["TargetTrackingScalingPolicyConfiguration"] == {"TargetValue": 70.0, "ScaleInCooldown": 60, "ScaleOutCooldown": 30}
    assert replicas[EAST]["ReplicaProvisionedReadCapacityAutoScalingSettings"] == {"AutoScalingDisabled": True}
    assert replicas[WEST]["ReplicaProvisionedReadCapacityAutoScalingSettings"]["MinimumUnits"] == 3
    # What Application Auto Scaling itself shows, in each region.
    east_targets = targets(aas, legacy)
    assert set(east_targets) == {f"dynamodb:table:WriteCapacityUnits table/{legacy}"}
    west_targets = targets(aas_west, legacy)
    assert set(west_targets) == {f"dynamodb:table:WriteCapacityUnits table/{legacy}", f"dynamodb:table:ReadCapacityUnits table/{legacy}"}
    read = west_targets[f"dynamodb:table:ReadCapacityUnits table/{legacy}"]
    assert (read["MinCapacity"], read["MaxCapacity"], read["RoleARN"]) == (3, 30, ROLE)
    (policy,) = aas_west.describe_scaling_policies(ServiceNamespace="dynamodb", ResourceId=f"table/{legacy}", ScalableDimension="dynamodb:table:ReadCapacityUnits")[
        "ScalingPolicies"
    ]
    assert policy["PolicyType"] == "TargetTrackingScaling"
    config = policy["TargetTrackingScalingPolicyConfiguration"]
    assert config["TargetValue"] == 60.0
    assert config["PredefinedMetricSpecification"] == {"PredefinedMetricType": "DynamoDBReadCapacityUtilization"}
    # A change of the maximum only keeps the rest; disabling deregisters the target.
    east.update_global_table_settings(GlobalTableName=legacy, GlobalTableProvisionedWriteCapacityAutoScalingSettingsUpdate={"MaximumUnits": 60})
    write = targets(aas, legacy)[f"dynamodb:table:WriteCapacityUnits table/{legacy}"]
    assert (write["MinCapacity"], write["MaxCapacity"]) == (5, 60)
    east.update_global_table_settings(GlobalTableName=legacy, GlobalTableProvisionedWriteCapacityAutoScalingSettingsUpdate={"AutoScalingDisabled": True})
    assert targets(aas, legacy) == {}
    assert aas.describe_scaling_policies(ServiceNamespace="dynamodb", ResourceId=f"table/{legacy}")["ScalingPolicies"] == []
    settings = {r["RegionName"]: r for r in east.describe_global_table_settings(GlobalTableName=legacy)["ReplicaSettings"]}
    assert settings[EAST]["ReplicaProvisionedWriteCapacityAutoScalingSettings"] == {"AutoScalingDisabled": True}


def test_global_table_settings_errors(east: Any, legacy: str) -> None:
    missing = new_name()
    assert error(lambda: east.describe_global_table_settings(GlobalTableName=missing))[0] == "GlobalTableNotFoundException"
    assert error(lambda: east.update_global_table_settings(GlobalTableName=missing, GlobalTableProvisionedWriteCapacityUnits=3))[0] == "GlobalTableNotFoundException"
    code, message = error(lambda: east.update_global_table_settings(GlobalTableName=legacy, ReplicaSettingsUpdate=[{"RegionName": "ap-south-1", "ReplicaProvisionedReadCapacityUnits": 3}]))
    assert code == "ReplicaNotFoundException" and "ap-south-1" in message
    code, _ = error(lambda: east.update_global_table_settings(GlobalTableName=legacy, GlobalTableGlobalSecondaryIndexSettingsUpdate=[{"IndexName": "nope", "ProvisionedWriteCapacityUnits": 3}]))
    assert code == "IndexNotFoundException"
    code, message = error(lambda: east.update_global_table_settings(GlobalTableName=legacy, GlobalTableProvisionedWriteCapacityAutoScalingSettingsUpdate=scaling(10, 5)))
    assert code == "ValidationException" and "Minimum" in message
    code, _ = error(lambda: east.update_global_table_settings(GlobalTableName=legacy, GlobalTableProvisionedWriteCapacityAutoScalingSettingsUpdate=scaling(1, 5, target=99.0)))
    assert code == "ValidationException"
    # A new target needs both bounds.
    code, message = error(
        lambda: east.update_global_table_settings(
            GlobalTableName=legacy, GlobalTableProvisionedWriteCapacityAutoScalingSettingsUpdate={"MaximumUnits": 9}
        )
    )
    assert code == "ValidationException" and "MinimumUnits" in message
    # Nothing changed by the refused requests.
    assert throughput(east, legacy) == (5, 5)


def test_global_table_settings_billing_mode(east: Any, west: Any, legacy: str) -> None:
    out = east.update_global_table_settings(GlobalTableName=legacy, GlobalTableBillingMode="PAY_PER_REQUEST")
    for replica in out["ReplicaSettings"]:
        assert replica["ReplicaBillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert west.describe_table(TableName=legacy)["Table"]["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    code, _ = error(lambda: east.update_global_table_settings(GlobalTableName=legacy, GlobalTableProvisionedWriteCapacityUnits=5))
    assert code == "ValidationException"
    code, _ = error(lambda: east.update_global_table_settings(GlobalTableName=legacy, GlobalTableProvisionedWriteCapacityAutoScalingSettingsUpdate=scaling(1, 5)))
    assert code == "ValidationException"


# ----------------------------------------------------------- replica auto scaling
@pytest.fixture
def provisioned(east: Any, west: Any) -> Iterator[str]:
    name = new_name()
    create(east, name, gsi=True)
    yield name
    for ddb in (west, east):
        try:
            ddb.delete_table(TableName=name)
        except ClientError:
            pass


def test_table_replica_auto_scaling_round_trip(east: Any, aas: Any, provisioned: str) -> None:
    name = provisioned
    desc = east.describe_table_replica_auto_scaling(TableName=name)["TableAutoScalingDescription"]
    assert desc["TableName"] == name and desc["TableStatus"] == "ACTIVE"
    (replica,) = desc["Replicas"]
    assert replica["RegionName"] == EAST and replica["ReplicaStatus"] == "ACTIVE"
    assert replica["ReplicaProvisionedWriteCapacityAutoScalingSettings"] == {"AutoScalingDisabled": True}
    out = east.update_table_replica_auto_scaling(
        TableName=name,
        ProvisionedWriteCapacityAutoScalingUpdate=scaling(5, 100, 70.0, DisableScaleIn=True),
        GlobalSecondaryIndexUpdates=[{"IndexName": "by-g", "ProvisionedWriteCapacityAutoScalingUpdate": scaling(5, 20)}],
        ReplicaUpdates=[
            {
                "RegionName": EAST,
                "ReplicaProvisionedReadCapacityAutoScalingUpdate": {**scaling(5, 50, 40.0), "AutoScalingRoleArn": "arn:aws:iam::000000000000:role/scaler"},
                "ReplicaGlobalSecondaryIndexUpdates": [{"IndexName": "by-g", "ProvisionedReadCapacityAutoScalingUpdate": scaling(5, 25)}],
            }
        ],
    )["TableAutoScalingDescription"]
    (replica,) = out["Replicas"]
    write = replica["ReplicaProvisionedWriteCapacityAutoScalingSettings"]
    assert (write["MinimumUnits"], write["MaximumUnits"]) == (5, 100)
    assert write["ScalingPolicies"][0]["TargetTrackingScalingPolicyConfiguration"] == {"TargetValue": 70.0, "DisableScaleIn": True}
    read = replica["ReplicaProvisionedReadCapacityAutoScalingSettings"]
    assert read["AutoScalingRoleArn"] == "arn:aws:iam::000000000000:role/scaler"
    (gsi,) = replica["GlobalSecondaryIndexes"]
    assert gsi["IndexName"] == "by-g" and gsi["ProvisionedReadCapacityAutoScalingSettings"]["MaximumUnits"] == 25
    assert gsi["ProvisionedWriteCapacityAutoScalingSettings"]["MaximumUnits"] == 20
    found = targets(aas, name)
    assert set(found) == {
        f"dynamodb:table:WriteCapacityUnits table/{name}",
        f"dynamodb:table:ReadCapacityUnits table/{name}",
        f"dynamodb:index:WriteCapacityUnits table/{name}/index/by-g",
        f"dynamodb:index:ReadCapacityUnits table/{name}/index/by-g",
    }
    assert east.describe_table_replica_auto_scaling(TableName=name)["TableAutoScalingDescription"] == out
    # Through the table's ARN too.
    arn = east.describe_table(TableName=name)["Table"]["TableArn"]
    assert east.describe_table_replica_auto_scaling(TableName=arn)["TableAutoScalingDescription"]["TableName"] == name


def test_policies_made_through_application_auto_scaling_are_described(east: Any, aas: Any, provisioned: str) -> None:
    """Terraform's aws_appautoscaling_target + aws_appautoscaling_policy."""
    name = provisioned
    aas.register_scalable_target(
        ServiceNamespace="dynamodb", ResourceId=f"table/{name}", ScalableDimension="dynamodb:table:ReadCapacityUnits", MinCapacity=5, MaxCapacity=30
    )
    aas.put_scaling_policy(
        PolicyName=f"DynamoDBReadCapacityUtilization:table/{name}",
        ServiceNamespace="dynamodb",
        ResourceId=f"table/{name}",
        ScalableDimension="dynamodb:table:ReadCapacityUnits",
        PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration={"PredefinedMetricSpecification": {"PredefinedMetricType": "DynamoDBReadCapacityUtilization"}, "TargetValue": 65.0},
    )
    (replica,) = east.describe_table_replica_auto_scaling(TableName=name)["TableAutoScalingDescription"]["Replicas"]
    read = replica["ReplicaProvisionedReadCapacityAutoScalingSettings"]
    assert (read["MinimumUnits"], read["MaximumUnits"], read["AutoScalingDisabled"]) == (5, 30, False)
    assert read["ScalingPolicies"] == [{"PolicyName": f"DynamoDBReadCapacityUtilization:table/{name}", "TargetTrackingScalingPolicyConfiguration": {"TargetValue": 65.0}}]
    # An update without a policy name changes that policy (no second one).
    east.update_table_replica_auto_scaling(
        TableName=name, ReplicaUpdates=[{"RegionName": EAST, "ReplicaProvisionedReadCapacityAutoScalingUpdate": {"ScalingPolicyUpdate": {"TargetTrackingScalingPolicyConfiguration": {"TargetValue": 45.0}}}}]
    )
    (policy,) = aas.describe_scaling_policies(ServiceNamespace="dynamodb", ResourceId=f"table/{name}")["ScalingPolicies"]
    assert policy["TargetTrackingScalingPolicyConfiguration"]["TargetValue"] == 45.0


def test_table_replica_auto_scaling_errors(east: Any) -> None:
    missing = new_name()
    assert error(lambda: east.describe_table_replica_auto_scaling(TableName=missing))[0] == "ResourceNotFoundException"
    assert error(lambda: east.update_table_replica_auto_scaling(TableName=missing, ProvisionedWriteCapacityAutoScalingUpdate=scaling(1, 5)))[0] == "ResourceNotFoundException"
    name = new_name()
    create(east, name, gsi=True, BillingMode="PAY_PER_REQUEST")
    try:
        code, message = error(lambda: east.update_table_replica_auto_scaling(TableName=name, ProvisionedWriteCapacityAutoScalingUpdate=scaling(1, 5)))
        assert code == "ValidationException" and "PAY_PER_REQUEST" in message
    finally:
        east.delete_table(TableName=name)
    name = new_name()
    create(east, name, gsi=True)
    try:
        code, _ = error(lambda: east.update_table_replica_auto_scaling(TableName=name, GlobalSecondaryIndexUpdates=[{"IndexName": "nope", "ProvisionedWriteCapacityAutoScalingUpdate": scaling(1, 5)}]))
        assert code == "ResourceNotFoundException"
        code, _ = error(lambda: east.update_table_replica_auto_scaling(TableName=name, ReplicaUpdates=[{"RegionName": WEST, "ReplicaProvisionedReadCapacityAutoScalingUpdate": scaling(1, 5)}]))
        assert code == "ValidationException"
        code, _ = error(lambda: east.update_table_replica_auto_scaling(TableName=name, ProvisionedWriteCapacityAutoScalingUpdate=scaling(6, 2)))
        assert code == "ValidationException"
        code, _ = error(lambda: east.update_table_replica_auto_scaling(TableName=name))
        assert code == "ValidationException"
    finally:
        east.delete_table(TableName=name)


def test_replica_auto_scaling_of_a_global_table(east: Any, west: Any, aas_west: Any, provisioned: str) -> None:
    """Version 2019.11.21: write settings reach every replica, read ones are per replica."""
    name = provisioned
    east.update_table_replica_auto_scaling(TableName=name, ProvisionedWriteCapacityAutoScalingUpdate=scaling(5, 50))
    east.update_table(TableName=name, ReplicaUpdates=[{"Create": {"RegionName": WEST}}])
    wait_for(lambda: east.describe_table(TableName=name)["Table"]["TableStatus"] == "ACTIVE", timeout=20)
    out = east.update_table_replica_auto_scaling(
        TableName=name,
        ProvisionedWriteCapacityAutoScalingUpdate=scaling(5, 60),
        ReplicaUpdates=[{"RegionName": WEST, "ReplicaProvisionedReadCapacityAutoScalingUpdate": scaling(2, 9)}],
    )["TableAutoScalingDescription"]
    replicas = {r["RegionName"]: r for r in out["Replicas"]}
    assert set(replicas) == {EAST, WEST}
    assert replicas[WEST]["ReplicaProvisionedWriteCapacityAutoScalingSettings"]["MaximumUnits"] == 60
    assert replicas[WEST]["ReplicaProvisionedReadCapacityAutoScalingSettings"]["MaximumUnits"] == 9
    assert replicas[EAST]["ReplicaProvisionedReadCapacityAutoScalingSettings"] == {"AutoScalingDisabled": True}
    assert f"dynamodb:table:ReadCapacityUnits table/{name}" in targets(aas_west, name)
    # The same from the other region.
    assert {r["RegionName"] for r in west.describe_table_replica_auto_scaling(TableName=name)["TableAutoScalingDescription"]["Replicas"]} == {EAST, WEST}


# ------------------------------------------------------------------ actual scaling
def _load(fn: Callable[[], Any], seconds: float) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            fn()
        except ClientError as exc:  # throttled: the load is above the capacity, as intended
            if exc.response["Error"]["Code"] not in ("ProvisionedThroughputExceededException", "ThrottlingException"):
                raise
        time.sleep(0.01)


def test_scale_out_under_sustained_write_load_then_in(east: Any, provisioned: str) -> None:
    name = provisioned
    east.update_table_replica_auto_scaling(TableName=name, ProvisionedWriteCapacityAutoScalingUpdate=scaling(3, 25, 50.0))
    # Idle, the utilization is below target - 20: it scales in to the minimum after 3 periods.
    wait_for(lambda: throughput(east, name) == (5, 3), timeout=30)
    counter = iter(range(10**9))
    stop = threading.Event()

    def writer() -> None:
        while not stop.is_set():
            _load(lambda: east.put_item(TableName=name, Item={"pk": {"S": f"k{next(counter)}"}}), 0.2)

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    try:
        # Sustained writes well above 50% of 3 WCU: out within a few periods, up to at most 25.
        wait_for(lambda: throughput(east, name)[1] > 3, timeout=30)
    finally:
        stop.set()
        thread.join()
    scaled = throughput(east, name)
    assert 3 < scaled[1] <= 25
    assert scaled[0] == 5  # the read capacity has no target: untouched
    # No more load: below target - 20 for 3 periods, it scales in (to the minimum here).
    wait_for(lambda: throughput(east, name)[1] < scaled[1], timeout=30)
    wait_for(lambda: throughput(east, name)[1] == 3, timeout=30)


def test_scale_out_of_targets_registered_through_application_auto_scaling(east: Any, aas: Any, provisioned: str) -> None:
    name = provisioned
    for i in range(5):
        east.put_item(TableName=name, Item={"pk": {"S": f"k{i}"}, "g": {"S": "x"}})
    aas.register_scalable_target(
        ServiceNamespace="dynamodb", ResourceId=f"table/{name}/index/by-g", ScalableDimension="dynamodb:index:ReadCapacityUnits", MinCapacity=5, MaxCapacity=40
    )
    aas.put_scaling_policy(
        PolicyName="reads",
        ServiceNamespace="dynamodb",
        ResourceId=f"table/{name}/index/by-g",
        ScalableDimension="dynamodb:index:ReadCapacityUnits",
        PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration={
            "PredefinedMetricSpecification": {"PredefinedMetricType": "DynamoDBReadCapacityUtilization"},
            "TargetValue": 30.0,
            "DisableScaleIn": True,
        },
    )
    # A minimum above the table's capacity raises it at once, as RegisterScalableTarget does on AWS.
    aas.register_scalable_target(
        ServiceNamespace="dynamodb", ResourceId=f"table/{name}", ScalableDimension="dynamodb:table:WriteCapacityUnits", MinCapacity=8, MaxCapacity=20
    )
    wait_for(lambda: throughput(east, name)[1] == 8, timeout=20)

    def gsi_read() -> int:
        (gsi,) = east.describe_table(TableName=name)["Table"]["GlobalSecondaryIndexes"]
        return int(gsi["ProvisionedThroughput"]["ReadCapacityUnits"])

    stop = threading.Event()

    def reader() -> None:
        while not stop.is_set():
            _load(lambda: east.query(TableName=name, IndexName="by-g", KeyConditionExpression="g = :g", ExpressionAttributeValues={":g": {"S": "x"}}), 0.2)

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    try:
        wait_for(lambda: gsi_read() > 5, timeout=30)
    finally:
        stop.set()
        thread.join()
    assert 5 < gsi_read() <= 40
    assert throughput(east, name)[0] == 5  # the table's own reads have no target
