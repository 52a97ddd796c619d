"""Maximum on-demand throughput (OnDemandThroughput), warm throughput (WarmThroughput) and
replicas' OnDemandThroughputOverride: validation, DescribeTable, persistence, throttling."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from emulator.testing import EmulatorServer
from emulator.testing.plugin import storage_args

GSI = {"IndexName": "gsi", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}], "Projection": {"ProjectionType": "ALL"}}


def _err(fn: Callable[[], Any]) -> tuple[str, str]:
    with pytest.raises(ClientError) as exc:
        fn()
    return exc.value.response["Error"]["Code"], exc.value.response["Error"]["Message"]


def _gsi(desc: dict[str, Any], name: str = "gsi") -> dict[str, Any]:
    return next(g for g in desc["GlobalSecondaryIndexes"] if g["IndexName"] == name)


def test_defaults_shown_by_describe_table(ddb: Any, make_table: Any) -> None:
    name = make_table(extra_attrs={"g": "S"}, GlobalSecondaryIndexes=[GSI])
    desc = ddb.describe_table(TableName=name)["Table"]
    assert desc["OnDemandThroughput"] == {"MaxReadRequestUnits": -1, "MaxWriteRequestUnits": -1}
    assert desc["WarmThroughput"] == {"ReadUnitsPerSecond": 12000, "WriteUnitsPerSecond": 4000, "Status": "ACTIVE"}
    assert _gsi(desc)["OnDemandThroughput"] == {"MaxReadRequestUnits": -1, "MaxWriteRequestUnits": -1}
    assert _gsi(desc)["WarmThroughput"] == {"ReadUnitsPerSecond": 12000, "WriteUnitsPerSecond": 4000, "Status": "ACTIVE"}
    # A provisioned table has no on-demand maximum to show.
    prov = make_table(BillingMode="PROVISIONED", ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 5})
    assert "OnDemandThroughput" not in ddb.describe_table(TableName=prov)["Table"]


def test_create_update_describe_round_trip(ddb: Any, make_table: Any) -> None:
    gsi = {**GSI, "OnDemandThroughput": {"MaxWriteRequestUnits": 50}, "WarmThroughput": {"ReadUnitsPerSecond": 13000}}
    name = make_table(
        extra_attrs={"g": "S"},
        GlobalSecondaryIndexes=[gsi],
        OnDemandThroughput={"MaxReadRequestUnits": 100, "MaxWriteRequestUnits": 20},
        WarmThroughput={"ReadUnitsPerSecond": 15000, "WriteUnitsPerSecond": 5000},
    )
    desc = ddb.describe_table(TableName=name)["Table"]
    assert desc["OnDemandThroughput"] == {"MaxReadRequestUnits": 100, "MaxWriteRequestUnits": 20}
    assert desc["WarmThroughput"] == {"ReadUnitsPerSecond": 15000, "WriteUnitsPerSecond": 5000, "Status": "ACTIVE"}
    assert _gsi(desc)["OnDemandThroughput"] == {"MaxReadRequestUnits": -1, "MaxWriteRequestUnits": 50}
    assert _gsi(desc)["WarmThroughput"]["ReadUnitsPerSecond"] == 13000
    # Only what is given changes; -1 removes a maximum.
    out = ddb.update_table(TableName=name, OnDemandThroughput={"MaxReadRequestUnits": -1})["TableDescription"]
    assert out["OnDemandThroughput"] == {"MaxReadRequestUnits": -1, "MaxWriteRequestUnits": 20}
    ddb.update_table(TableName=name, WarmThroughput={"WriteUnitsPerSecond": 6000})
    ddb.update_table(
        TableName=name,
        GlobalSecondaryIndexUpdates=[{"Update": {"IndexName": "gsi", "OnDemandThroughput": {"MaxReadRequestUnits": 7}, "WarmThroughput": {"WriteUnitsPerSecond": 4500}}}],
    )
    desc = ddb.describe_table(TableName=name)["Table"]
    assert desc["WarmThroughput"] == {"ReadUnitsPerSecond": 15000, "WriteUnitsPerSecond": 6000, "Status": "ACTIVE"}
    assert _gsi(desc)["OnDemandThroughput"] == {"MaxReadRequestUnits": 7, "MaxWriteRequestUnits": 50}
    assert _gsi(desc)["WarmThroughput"] == {"ReadUnitsPerSecond": 13000, "WriteUnitsPerSecond": 4500, "Status": "ACTIVE"}
    # A GSI created later takes its own settings.
    ddb.update_table(
        TableName=name,
        AttributeDefinitions=[{"AttributeName": "h", "AttributeType": "S"}],
        GlobalSecondaryIndexUpdates=[
            {"Create": {"IndexName": "gsi2", "KeySchema": [{"AttributeName": "h", "KeyType": "HASH"}], "Projection": {"ProjectionType": "KEYS_ONLY"}, "OnDemandThroughput": {"MaxReadRequestUnits": 3}}}
        ],
    )
    assert _gsi(ddb.describe_table(TableName=name)["Table"], "gsi2")["OnDemandThroughput"] == {"MaxReadRequestUnits": 3, "MaxWriteRequestUnits": -1}


@pytest.mark.parametrize(
    "spec",
    [{}, {"MaxReadRequestUnits": 0}, {"MaxWriteRequestUnits": -2}, {"MaxReadRequestUnits": 40001}],
)
def test_on_demand_validation(ddb: Any, make_table: Any, spec: dict[str, int]) -> None:
    code, _ = _err(lambda: make_table(OnDemandThroughput=spec))
    assert code == "ValidationException"
    name = make_table()
    assert _err(lambda: ddb.update_table(TableName=name, OnDemandThroughput=spec))[0] == "ValidationException"
    # Nothing changed.
    assert ddb.describe_table(TableName=name)["Table"]["OnDemandThroughput"] == {"MaxReadRequestUnits": -1, "MaxWriteRequestUnits": -1}


def test_on_demand_refused_for_provisioned_tables(ddb: Any, make_table: Any) -> None:
    pt = {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5}
    code, message = _err(lambda: make_table(BillingMode="PROVISIONED", ProvisionedThroughput=pt, OnDemandThroughput={"MaxReadRequestUnits": 10}))
    assert code == "ValidationException" and "PAY_PER_REQUEST" in message
    name = make_table(BillingMode="PROVISIONED", ProvisionedThroughput=pt)
    assert _err(lambda: ddb.update_table(TableName=name, OnDemandThroughput={"MaxReadRequestUnits": 10}))[0] == "ValidationException"
    # Switching to on-demand in the same request is fine.
    out = ddb.update_table(TableName=name, BillingMode="PAY_PER_REQUEST", OnDemandThroughput={"MaxReadRequestUnits": 10})["TableDescription"]
    assert out["OnDemandThroughput"] == {"MaxReadRequestUnits": 10, "MaxWriteRequestUnits": -1}


def test_warm_throughput_validation(ddb: Any, make_table: Any) -> None:
    assert _err(lambda: make_table(WarmThroughput={"ReadUnitsPerSecond": 0}))[0] == "ValidationException"
    assert _err(lambda: make_table(WarmThroughput={}))[0] == "ValidationException"
    assert _err(lambda: make_table(WarmThroughput={"WriteUnitsPerSecond": 40001}))[0] == "ValidationException"
    name = make_table(WarmThroughput={"ReadUnitsPerSecond": 20000})
    # Warm throughput only grows.
    code, message = _err(lambda: ddb.update_table(TableName=name, WarmThroughput={"ReadUnitsPerSecond": 14000}))
    assert code == "ValidationException" and "cannot be decreased" in message
    assert _err(lambda: ddb.update_table(TableName=name, WarmThroughput={"WriteUnitsPerSecond": 100}))[0] == "ValidationException"
    assert ddb.describe_table(TableName=name)["Table"]["WarmThroughput"]["ReadUnitsPerSecond"] == 20000


def test_max_write_units_throttle_writes(ddb: Any, make_table: Any) -> None:
    name = make_table(OnDemandThroughput={"MaxWriteRequestUnits": 1})
    codes: list[str | None] = []
    errors: list[dict[str, Any]] = []
    for i in range(6):
        try:
            ddb.put_item(TableName=name, Item={"pk": {"S": f"k{i}"}})
            codes.append(None)
        except ClientError as exc:
            codes.append(exc.response["Error"]["Code"])
            errors.append(exc.response)
    assert codes[0] is None
    assert "ProvisionedThroughputExceededException" in codes, codes
    reasons = errors[0].get("ThrottlingReasons")
    arn = ddb.describe_table(TableName=name)["Table"]["TableArn"]
    assert reasons == [{"reason": "TableWriteMaxOnDemandThroughputExceeded", "resource": arn}]
    # Reads have no maximum: not throttled.
    for _ in range(5):
        ddb.get_item(TableName=name, Key={"pk": {"S": "k0"}})
    # A second later the table takes writes again; removing the maximum lifts the limit.
    time.sleep(1.2)
    ddb.put_item(TableName=name, Item={"pk": {"S": "later"}})
    ddb.update_table(TableName=name, OnDemandThroughput={"MaxWriteRequestUnits": -1})
    for i in range(10):
        ddb.put_item(TableName=name, Item={"pk": {"S": f"free{i}"}})


def test_gsi_max_write_units_throttle_writes(ddb: Any, make_table: Any) -> None:
    name = make_table(extra_attrs={"g": "S"}, GlobalSecondaryIndexes=[{**GSI, "OnDemandThroughput": {"MaxWriteRequestUnits": 1}}])
    # Items outside the index cost it nothing.
    for i in range(5):
        ddb.put_item(TableName=name, Item={"pk": {"S": f"plain{i}"}})
    responses = []
    for i in range(5):
        try:
            ddb.put_item(TableName=name, Item={"pk": {"S": f"k{i}"}, "g": {"S": "x"}})
        except ClientError as exc:
            responses.append(exc.response)
    assert responses, "the index's maximum was not enforced"
    assert responses[0]["Error"]["Code"] == "ProvisionedThroughputExceededException"
    assert responses[0]["ThrottlingReasons"][0]["reason"] == "IndexWriteMaxOnDemandThroughputExceeded"
    assert responses[0]["ThrottlingReasons"][0]["resource"].endswith(f"table/{name}/index/gsi")


def test_max_read_units_throttle_reads(ddb: Any, make_table: Any) -> None:
    name = make_table(OnDemandThroughput={"MaxReadRequestUnits": 1})
    ddb.put_item(TableName=name, Item={"pk": {"S": "a"}})
    codes = []
    for _ in range(6):
        try:
            ddb.get_item(TableName=name, Key={"pk": {"S": "a"}}, ConsistentRead=True)
            codes.append(None)
        except ClientError as exc:
            codes.append(exc.response["Error"]["Code"])
    assert codes[0] is None and "ProvisionedThroughputExceededException" in codes, codes


# ----------------------------------------------------------------- replicas
EAST, WEST = "us-east-1", "eu-west-1"


def test_replica_overrides_in_describe_table(aws_client: Callable[..., Any]) -> None:
    east, west = aws_client("dynamodb", region_name=EAST), aws_client("dynamodb", region_name=WEST)
    name = f"od-{uuid.uuid4().hex[:10]}"
    east.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "g", "AttributeType": "S"}],
        GlobalSecondaryIndexes=[GSI],
        OnDemandThroughput={"MaxReadRequestUnits": 100, "MaxWriteRequestUnits": 50},
    )
    try:
        east.update_table(
            TableName=name,
            ReplicaUpdates=[
                {
                    "Create": {
                        "RegionName": WEST,
                        "OnDemandThroughputOverride": {"MaxReadRequestUnits": 30},
                        "GlobalSecondaryIndexes": [{"IndexName": "gsi", "OnDemandThroughputOverride": {"MaxReadRequestUnits": 9}}],
                    }
                }
            ],
        )
        replica = next(r for r in east.describe_table(TableName=name)["Table"]["Replicas"] if r["RegionName"] == WEST)
        assert replica["OnDemandThroughputOverride"] == {"MaxReadRequestUnits": 30}
        assert replica["GlobalSecondaryIndexes"] == [{"IndexName": "gsi", "OnDemandThroughputOverride": {"MaxReadRequestUnits": 9}}]
        # The replica has the table's settings (its table-wide maximum copied).
        assert west.describe_table(TableName=name)["Table"]["OnDemandThroughput"] == {"MaxReadRequestUnits": 100, "MaxWriteRequestUnits": 50}
        # A table-wide change reaches every replica.
        deadline = time.time() + 10
        while True:
            try:
                east.update_table(TableName=name, OnDemandThroughput={"MaxWriteRequestUnits": 60})
                break
            except ClientError as exc:
                if exc.response["Error"]["Code"] != "ResourceInUseException" or time.time() > deadline:
                    raise
                time.sleep(0.2)
        assert west.describe_table(TableName=name)["Table"]["OnDemandThroughput"]["MaxWriteRequestUnits"] == 60
        # Overrides are checked: a replica overrides reads only, >= 1 or -1.
        time.sleep(1.0)
        code, _ = _err(lambda: east.update_table(TableName=name, ReplicaUpdates=[{"Update": {"RegionName": WEST, "OnDemandThroughputOverride": {"MaxReadRequestUnits": 0}}}]))
        assert code == "ValidationException"
    finally:
        for client in (west, east):
            try:
                client.delete_table(TableName=name)
            except ClientError:
                pass


# ----------------------------------------------------------------- restart
def test_settings_survive_a_restart(tmp_path: Path) -> None:
    with storage_args() as args:
        server = EmulatorServer(data_dir=tmp_path, extra_args=args).start()
        try:
            ddb = server.client("dynamodb")
            ddb.create_table(
                TableName="odt",
                BillingMode="PAY_PER_REQUEST",
                KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "g", "AttributeType": "S"}],
                GlobalSecondaryIndexes=[{**GSI, "OnDemandThroughput": {"MaxReadRequestUnits": 4}}],
                OnDemandThroughput={"MaxWriteRequestUnits": 1},
                WarmThroughput={"ReadUnitsPerSecond": 14000},
            )
            server.kill()
        finally:
            server.stop()
        server = EmulatorServer(data_dir=tmp_path, extra_args=args).start()
        try:
            ddb = server.client("dynamodb")
            desc = ddb.describe_table(TableName="odt")["Table"]
            assert desc["OnDemandThroughput"] == {"MaxReadRequestUnits": -1, "MaxWriteRequestUnits": 1}
            assert desc["WarmThroughput"]["ReadUnitsPerSecond"] == 14000
            assert _gsi(desc)["OnDemandThroughput"]["MaxReadRequestUnits"] == 4
            # Still enforced after the restart.
            codes = []
            for i in range(5):
                try:
                    ddb.put_item(TableName="odt", Item={"pk": {"S": str(i)}})
                    codes.append(None)
                except ClientError as exc:
                    codes.append(exc.response["Error"]["Code"])
            assert "ProvisionedThroughputExceededException" in codes, codes
        finally:
            server.stop()
