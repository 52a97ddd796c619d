"""Global tables (version 2019.11.21): UpdateTable ReplicaUpdates makes the same table in
another region, kept in step with the others. boto3 clients of three regions against one
server; the Terraform sequence (add a replica, poll DescribeTable in both regions until
ACTIVE, read ``Replicas``, remove it, delete), replication of every kind of write both ways,
streams of the replicas, the errors AWS answers, and persistence across a restart."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from emulator.testing import EmulatorServer
from emulator.testing.plugin import storage_args
from emulator.testing.wait import wait_for

EAST = "us-east-1"
WEST = "eu-west-1"
SOUTH = "ap-southeast-2"


@pytest.fixture(scope="module")
def east(aws_client: Callable[..., Any]) -> Any:
    return aws_client("dynamodb", region_name=EAST)


@pytest.fixture(scope="module")
def west(aws_client: Callable[..., Any]) -> Any:
    return aws_client("dynamodb", region_name=WEST)


@pytest.fixture(scope="module")
def south(aws_client: Callable[..., Any]) -> Any:
    return aws_client("dynamodb", region_name=SOUTH)


@pytest.fixture
def name(east: Any, west: Any, south: Any) -> Iterator[str]:
    table = f"gt-{uuid.uuid4().hex[:10]}"
    yield table
    for client in (west, south, east):
        try:
            client.delete_table(TableName=table)
        except ClientError:
            pass


def create(client: Any, table: str, **kwargs: Any) -> dict[str, Any]:
    kwargs.setdefault("BillingMode", "PAY_PER_REQUEST")
    kwargs.setdefault("KeySchema", [{"AttributeName": "pk", "KeyType": "HASH"}])
    kwargs.setdefault("AttributeDefinitions", [{"AttributeName": "pk", "AttributeType": "S"}])
    return dict(client.create_table(TableName=table, **kwargs)["TableDescription"])


def error(fn: Callable[[], Any]) -> tuple[str, str]:
    with pytest.raises(ClientError) as info:
        fn()
    return str(info.value.response["Error"]["Code"]), str(info.value.response["Error"]["Message"])


def replica_status(client: Any, table: str, region: str) -> str | None:
    for replica in client.describe_table(TableName=table)["Table"].get("Replicas", []):
        if replica["RegionName"] == region:
            return str(replica["ReplicaStatus"])
    return None


def add_replica(client: Any, table: str, region: str, **spec: Any) -> dict[str, Any]:
    out = client.update_table(TableName=table, ReplicaUpdates=[{"Create": {"RegionName": region, **spec}}])["TableDescription"]
    wait_for(lambda: replica_status(client, table, region) == "ACTIVE", timeout=20)
    wait_for(lambda: client.describe_table(TableName=table)["Table"]["TableStatus"] == "ACTIVE", timeout=20)
    return dict(out)


def global_table(east: Any, west: Any, table: str, **kwargs: Any) -> None:
    create(east, table, **kwargs)
    add_replica(east, table, WEST)


def item_of(client: Any, table: str, pk: str) -> dict[str, Any] | None:
    out = client.get_item(TableName=table, Key={"pk": {"S": pk}}, ConsistentRead=True).get("Item")
    return None if out is None else dict(out)


# ------------------------------------------------------- the Terraform sequence
def test_terraform_replica_lifecycle(east: Any, west: Any, name: str) -> None:
    create(
        east,
        name,
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "g", "AttributeType": "S"}],
        GlobalSecondaryIndexes=[{"IndexName": "byg", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}], "Projection": {"ProjectionType": "ALL"}}],
        Tags=[{"Key": "team", "Value": "a"}],
    )
    east.update_time_to_live(TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": "exp"})
    for i in range(5):
        east.put_item(TableName=name, Item={"pk": {"S": f"k{i}"}, "g": {"S": "x"}, "n": {"N": str(i)}})
    assert "Replicas" not in east.describe_table(TableName=name)["Table"]

    out = east.update_table(TableName=name, ReplicaUpdates=[{"Create": {"RegionName": WEST}}])["TableDescription"]
    assert out["TableStatus"] == "UPDATING"
    assert out["GlobalTableVersion"] == "2019.11.21"
    assert [(r["RegionName"], r["ReplicaStatus"]) for r in out["Replicas"]] == [(WEST, "CREATING")]
    # The new replica's table is CREATING in its own region meanwhile.
    assert west.describe_table(TableName=name)["Table"]["TableStatus"] in ("CREATING", "ACTIVE")
    wait_for(lambda: replica_status(east, name, WEST) == "ACTIVE", timeout=20)
    wait_for(lambda: west.describe_table(TableName=name)["Table"]["TableStatus"] == "ACTIVE", timeout=20)

    e = east.describe_table(TableName=name)["Table"]
    w = west.describe_table(TableName=name)["Table"]
    assert e["TableStatus"] == "ACTIVE"
    # Each region lists the other regions of the global table, not itself.
    assert [r["RegionName"] for r in e["Replicas"]] == [WEST]
    assert [r["RegionName"] for r in w["Replicas"]] == [EAST]
    assert w["GlobalTableVersion"] == "2019.11.21"
    assert e["Replicas"][0]["ReplicaTableClassSummary"] == {"TableClass": "STANDARD"}
    assert e["Replicas"][0]["GlobalSecondaryIndexes"] == [{"IndexName": "byg"}]
    assert w["TableArn"] == e["TableArn"].replace(f":{EAST}:", f":{WEST}:")
    assert w["KeySchema"] == e["KeySchema"] and w["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert [g["IndexName"] for g in w["GlobalSecondaryIndexes"]] == ["byg"]
    # Replication turned the stream on, new and old images, in both regions.
    assert e["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    assert w["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    assert w["LatestStreamArn"].startswith(w["TableArn"] + "/stream/")
    assert west.describe_time_to_live(TableName=name)["TimeToLiveDescription"] == {"TimeToLiveStatus": "ENABLED", "AttributeName": "exp"}
    # The existing items were copied, with their index rows; tags stay each region's own.
    assert w["ItemCount"] == 5
    assert west.query(TableName=name, IndexName="byg", KeyConditionExpression="g = :g", ExpressionAttributeValues={":g": {"S": "x"}})["Count"] == 5
    assert west.list_tags_of_resource(ResourceArn=w["TableArn"])["Tags"] == []

    out = east.update_table(TableName=name, ReplicaUpdates=[{"Delete": {"RegionName": WEST}}])["TableDescription"]
    assert [(r["RegionName"], r["ReplicaStatus"]) for r in out["Replicas"]] == [(WEST, "DELETING")]
    assert error(lambda: west.describe_table(TableName=name))[0] == "ResourceNotFoundException"
    wait_for(lambda: "Replicas" not in east.describe_table(TableName=name)["Table"], timeout=20)
    e = east.describe_table(TableName=name)["Table"]
    assert "GlobalTableVersion" not in e and e["TableStatus"] == "ACTIVE"
    # A plain table again: its writes go nowhere else.
    east.put_item(TableName=name, Item={"pk": {"S": "after"}})
    create(west, name)
    assert item_of(west, name, "after") is None
    west.delete_table(TableName=name)
    east.delete_table(TableName=name)


# -------------------------------------------------------------- replication
@pytest.mark.parametrize("direction", ["east-to-west", "west-to-east"])
def test_every_kind_of_write_replicates(east: Any, west: Any, name: str, direction: str) -> None:
    global_table(east, west, name)
    src, dst = (east, west) if direction == "east-to-west" else (west, east)
    src.put_item(TableName=name, Item={"pk": {"S": "put"}, "v": {"N": "1"}})
    assert item_of(dst, name, "put") == {"pk": {"S": "put"}, "v": {"N": "1"}}
    src.update_item(TableName=name, Key={"pk": {"S": "put"}}, UpdateExpression="SET v = v + :one, b = :b", ExpressionAttributeValues={":one": {"N": "1"}, ":b": {"B": b"\x00\x01"}})
    assert item_of(dst, name, "put") == {"pk": {"S": "put"}, "v": {"N": "2"}, "b": {"B": b"\x00\x01"}}
    src.delete_item(TableName=name, Key={"pk": {"S": "put"}})
    assert item_of(dst, name, "put") is None

    src.batch_write_item(RequestItems={name: [{"PutRequest": {"Item": {"pk": {"S": f"b{i}"}}}} for i in range(3)]})
    src.batch_write_item(RequestItems={name: [{"DeleteRequest": {"Key": {"pk": {"S": "b0"}}}}]})
    assert [item_of(dst, name, f"b{i}") is not None for i in range(3)] == [False, True, True]

    src.transact_write_items(
        TransactItems=[
            {"Put": {"TableName": name, "Item": {"pk": {"S": "t1"}}}},
            {"Update": {"TableName": name, "Key": {"pk": {"S": "b1"}}, "UpdateExpression": "SET x = :x", "ExpressionAttributeValues": {":x": {"S": "y"}}}},
            {"Delete": {"TableName": name, "Key": {"pk": {"S": "b2"}}}},
        ]
    )
    assert item_of(dst, name, "t1") == {"pk": {"S": "t1"}}
    assert item_of(dst, name, "b1") == {"pk": {"S": "b1"}, "x": {"S": "y"}}
    assert item_of(dst, name, "b2") is None

    src.execute_statement(Statement=f"INSERT INTO \"{name}\" VALUE {{'pk': 'pq', 'n': 5}}")
    assert item_of(dst, name, "pq") == {"pk": {"S": "pq"}, "n": {"N": "5"}}
    src.execute_statement(Statement=f"UPDATE \"{name}\" SET n = 6 WHERE pk = 'pq'")
    assert item_of(dst, name, "pq") == {"pk": {"S": "pq"}, "n": {"N": "6"}}
    src.execute_statement(Statement=f"DELETE FROM \"{name}\" WHERE pk = 'pq'")
    assert item_of(dst, name, "pq") is None
    # Both replicas hold the same items.
    assert sorted(i["pk"]["S"] for i in src.scan(TableName=name)["Items"]) == sorted(i["pk"]["S"] for i in dst.scan(TableName=name)["Items"]) == ["b1", "t1"]


def test_conditions_are_evaluated_where_the_write_is_made(east: Any, west: Any, name: str) -> None:
    global_table(east, west, name)
    east.put_item(TableName=name, Item={"pk": {"S": "a"}, "v": {"N": "1"}})
    code, _ = error(lambda: west.put_item(TableName=name, Item={"pk": {"S": "a"}, "v": {"N": "9"}}, ConditionExpression="attribute_not_exists(pk)"))
    assert code == "ConditionalCheckFailedException"
    assert item_of(east, name, "a") == {"pk": {"S": "a"}, "v": {"N": "1"}}
    # A failed transaction changes no replica.
    code, _ = error(
        lambda: west.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": name, "Item": {"pk": {"S": "new"}}}},
                {"ConditionCheck": {"TableName": name, "Key": {"pk": {"S": "a"}}, "ConditionExpression": "v = :v", "ExpressionAttributeValues": {":v": {"N": "2"}}}},
            ]
        )
    )
    assert code == "TransactionCanceledException"
    assert item_of(east, name, "new") is None and item_of(west, name, "new") is None


def test_three_regions_and_lsi(east: Any, west: Any, south: Any, name: str) -> None:
    create(
        east,
        name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in ("pk", "sk", "l")],
        LocalSecondaryIndexes=[
            {"IndexName": "lsi", "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "l", "KeyType": "RANGE"}], "Projection": {"ProjectionType": "KEYS_ONLY"}}
        ],
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    add_replica(east, name, WEST)
    add_replica(west, name, SOUTH)  # added from another member's region
    for client, others in ((east, [WEST, SOUTH]), (west, [EAST, SOUTH]), (south, [EAST, WEST])):
        assert sorted(r["RegionName"] for r in client.describe_table(TableName=name)["Table"]["Replicas"]) == sorted(others)
    south.put_item(TableName=name, Item={"pk": {"S": "p"}, "sk": {"S": "1"}, "l": {"S": "z"}})
    for client in (east, west):
        out = client.query(TableName=name, IndexName="lsi", KeyConditionExpression="pk = :p AND l = :l", ExpressionAttributeValues={":p": {"S": "p"}, ":l": {"S": "z"}})
        assert out["Count"] == 1
    # DeleteTable in a replica region removes that replica; the others drop it.
    south.delete_table(TableName=name)
    wait_for(lambda: [r["RegionName"] for r in east.describe_table(TableName=name)["Table"].get("Replicas", [])] == [WEST], timeout=20)
    assert [r["RegionName"] for r in west.describe_table(TableName=name)["Table"]["Replicas"]] == [EAST]
    east.put_item(TableName=name, Item={"pk": {"S": "q"}, "sk": {"S": "1"}})
    assert west.get_item(TableName=name, Key={"pk": {"S": "q"}, "sk": {"S": "1"}}).get("Item") is not None
    # Deleting the table in its first region leaves the other a plain table.
    wait_for(lambda: east.describe_table(TableName=name)["Table"]["TableStatus"] == "ACTIVE", timeout=20)
    east.delete_table(TableName=name)
    wait_for(lambda: "Replicas" not in west.describe_table(TableName=name)["Table"], timeout=20)
    west.put_item(TableName=name, Item={"pk": {"S": "r"}, "sk": {"S": "1"}})


def test_streams_of_replicas_record_replicated_changes(aws_client: Callable[..., Any], east: Any, west: Any, name: str) -> None:
    global_table(east, west, name)
    east.put_item(TableName=name, Item={"pk": {"S": "s"}, "v": {"N": "1"}})
    east.update_item(TableName=name, Key={"pk": {"S": "s"}}, UpdateExpression="SET v = :v", ExpressionAttributeValues={":v": {"N": "2"}})
    east.delete_item(TableName=name, Key={"pk": {"S": "s"}})
    streams = aws_client("dynamodbstreams", region_name=WEST)
    arn = west.describe_table(TableName=name)["Table"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    records = streams.get_records(ShardIterator=it)["Records"]
    assert [r["eventName"] for r in records] == ["INSERT", "MODIFY", "REMOVE"]
    assert records[1]["dynamodb"]["OldImage"] == {"pk": {"S": "s"}, "v": {"N": "1"}}
    assert records[1]["dynamodb"]["NewImage"] == {"pk": {"S": "s"}, "v": {"N": "2"}}
    assert all(r["awsRegion"] == WEST for r in records)


def test_schema_capacity_mode_and_ttl_changes_reach_every_replica(east: Any, west: Any, name: str) -> None:
    global_table(east, west, name)
    west.put_item(TableName=name, Item={"pk": {"S": "a"}, "g": {"S": "x"}})
    east.update_table(
        TableName=name,
        AttributeDefinitions=[{"AttributeName": "g", "AttributeType": "S"}],
        GlobalSecondaryIndexUpdates=[{"Create": {"IndexName": "byg", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}], "Projection": {"ProjectionType": "ALL"}}}],
    )
    for client in (east, west):
        assert [g["IndexName"] for g in client.describe_table(TableName=name)["Table"]["GlobalSecondaryIndexes"]] == ["byg"]
        out = client.query(TableName=name, IndexName="byg", KeyConditionExpression="g = :g", ExpressionAttributeValues={":g": {"S": "x"}})
        assert out["Count"] == 1
    west.update_time_to_live(TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": "exp"})
    assert east.describe_time_to_live(TableName=name)["TimeToLiveDescription"] == {"TimeToLiveStatus": "ENABLED", "AttributeName": "exp"}
    # Settings of a region's own are not shared.
    west.update_table(TableName=name, DeletionProtectionEnabled=True)
    assert east.describe_table(TableName=name)["Table"]["DeletionProtectionEnabled"] is False
    code, _ = error(lambda: east.update_table(TableName=name, ReplicaUpdates=[{"Delete": {"RegionName": WEST}}]))
    assert code == "ValidationException"
    west.update_table(TableName=name, DeletionProtectionEnabled=False)


# ------------------------------------------------------------------- errors
def test_replica_update_errors(aws_client: Callable[..., Any], east: Any, west: Any, name: str) -> None:
    create(east, name)
    code, msg = error(lambda: east.update_table(TableName=name, ReplicaUpdates=[{"Create": {"RegionName": EAST}}]))
    assert code == "ValidationException"
    code, msg = error(lambda: east.update_table(TableName=name, ReplicaUpdates=[{"Create": {"RegionName": WEST}}, {"Create": {"RegionName": SOUTH}}]))
    assert code == "ValidationException"
    code, msg = error(lambda: east.update_table(TableName=name, ReplicaUpdates=[{"Delete": {"RegionName": WEST}}]))
    assert code == "ValidationException"
    code, msg = error(lambda: east.update_table(TableName=name, ReplicaUpdates=[{"Create": {"RegionName": WEST}}], DeletionProtectionEnabled=True))
    assert code == "ValidationException"
    # A table of that name already in the region.
    create(west, name)
    code, msg = error(lambda: east.update_table(TableName=name, ReplicaUpdates=[{"Create": {"RegionName": WEST}}]))
    assert (code, msg) == ("ValidationException", f"Failed to create a new replica of table with name: '{name}' because one or more replicas already existed as tables.")
    west.delete_table(TableName=name)
    # One change at a time: refused while the new replica is CREATING.
    east.update_table(TableName=name, ReplicaUpdates=[{"Create": {"RegionName": WEST}}])
    code, msg = error(lambda: east.update_table(TableName=name, ReplicaUpdates=[{"Create": {"RegionName": SOUTH}}]))
    assert code == "ResourceInUseException"
    wait_for(lambda: replica_status(east, name, WEST) == "ACTIVE", timeout=20)
    wait_for(lambda: east.describe_table(TableName=name)["Table"]["TableStatus"] == "ACTIVE", timeout=20)
    code, msg = error(lambda: east.update_table(TableName=name, ReplicaUpdates=[{"Create": {"RegionName": WEST}}]))
    assert code == "ValidationException"


def test_provisioned_tables_need_autoscaled_writes(aws_client: Callable[..., Any], east: Any, west: Any, name: str) -> None:
    create(east, name, BillingMode="PROVISIONED", ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 5})
    code, msg = error(lambda: east.update_table(TableName=name, ReplicaUpdates=[{"Create": {"RegionName": WEST}}]))
    assert (code, msg) == ("ValidationException", "One or more parameter values were invalid: Table write capacity should either be Pay-Per-Request or AutoScaled.")
    scaling = aws_client("application-autoscaling", region_name=EAST)
    scaling.register_scalable_target(
        ServiceNamespace="dynamodb", ResourceId=f"table/{name}", ScalableDimension="dynamodb:table:WriteCapacityUnits", MinCapacity=5, MaxCapacity=50
    )
    out = add_replica(east, name, WEST, ProvisionedThroughputOverride={"ReadCapacityUnits": 7}, TableClassOverride="STANDARD_INFREQUENT_ACCESS")
    assert out["Replicas"][0]["ProvisionedThroughputOverride"] == {"ReadCapacityUnits": 7}
    w = west.describe_table(TableName=name)["Table"]
    assert w["ProvisionedThroughput"]["ReadCapacityUnits"] == 7 and w["ProvisionedThroughput"]["WriteCapacityUnits"] == 5
    assert w["TableClassSummary"]["TableClass"] == "STANDARD_INFREQUENT_ACCESS"
    assert east.describe_table(TableName=name)["Table"]["Replicas"][0]["ReplicaTableClassSummary"] == {"TableClass": "STANDARD_INFREQUENT_ACCESS"}
    # Update changes a replica's overrides.
    east.update_table(TableName=name, ReplicaUpdates=[{"Update": {"RegionName": WEST, "ProvisionedThroughputOverride": {"ReadCapacityUnits": 9}}}])
    assert replica_status(east, name, WEST) == "UPDATING"
    wait_for(lambda: replica_status(east, name, WEST) == "ACTIVE", timeout=20)
    assert west.describe_table(TableName=name)["Table"]["ProvisionedThroughput"]["ReadCapacityUnits"] == 9


def test_stream_of_another_view_type_is_refused(east: Any, name: str) -> None:
    create(east, name, StreamSpecification={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"})
    code, _ = error(lambda: east.update_table(TableName=name, ReplicaUpdates=[{"Create": {"RegionName": WEST}}]))
    assert code == "ValidationException"


# -------------------------------------------------------------- persistence
def test_replicas_survive_a_restart(tmp_path: Path) -> None:
    env = {"EMULATOR_TTL_INTERVAL": "0.3"}
    with storage_args() as args:
        server = EmulatorServer(data_dir=tmp_path, extra_args=args, env=env).start()
        try:
            east, west = server.client("dynamodb", region_name=EAST), server.client("dynamodb", region_name=WEST)
            create(east, "glob")
            add_replica(east, "glob", WEST)
            west.put_item(TableName="glob", Item={"pk": {"S": "w"}})
            server.kill()  # acknowledged: in both regions after kill -9
        finally:
            server.stop()
        server = EmulatorServer(data_dir=tmp_path, extra_args=args, env=env).start()
        try:
            east, west = server.client("dynamodb", region_name=EAST), server.client("dynamodb", region_name=WEST)
            assert item_of(east, "glob", "w") == {"pk": {"S": "w"}}
            assert [r["RegionName"] for r in east.describe_table(TableName="glob")["Table"]["Replicas"]] == [WEST]
            assert [r["RegionName"] for r in west.describe_table(TableName="glob")["Table"]["Replicas"]] == [EAST]
            east.put_item(TableName="glob", Item={"pk": {"S": "e"}})
            assert item_of(west, "glob", "e") == {"pk": {"S": "e"}}
            # TTL deletions in one region are replicated too.
            east.update_time_to_live(TableName="glob", TimeToLiveSpecification={"Enabled": True, "AttributeName": "exp"})
            west.put_item(TableName="glob", Item={"pk": {"S": "old"}, "exp": {"N": str(int(time.time()) - 10)}})
            assert item_of(west, "glob", "old") is not None
            wait_for(lambda: item_of(east, "glob", "old") is None and item_of(west, "glob", "old") is None, timeout=20)
        finally:
            server.stop()
            server.cleanup()


# ------------------------------------------------- version 2017.11.29 operations
def test_legacy_global_table_operations(east: Any, west: Any, south: Any, name: str) -> None:
    stream = {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    create(east, name, StreamSpecification=stream)
    code, _ = error(lambda: east.create_global_table(GlobalTableName=name, ReplicationGroup=[{"RegionName": EAST}, {"RegionName": WEST}]))
    assert code == "TableNotFoundException"
    create(west, name, StreamSpecification=stream)
    code, _ = error(lambda: east.describe_global_table(GlobalTableName=name))
    assert code == "GlobalTableNotFoundException"
    out = east.create_global_table(GlobalTableName=name, ReplicationGroup=[{"RegionName": EAST}, {"RegionName": WEST}])["GlobalTableDescription"]
    assert out["GlobalTableArn"].endswith(f":global-table/{name}") and out["GlobalTableStatus"] == "CREATING"
    assert sorted(r["RegionName"] for r in out["ReplicationGroup"]) == sorted([EAST, WEST])
    code, _ = error(lambda: east.create_global_table(GlobalTableName=name, ReplicationGroup=[{"RegionName": EAST}]))
    assert code == "GlobalTableAlreadyExistsException"
    assert east.describe_table(TableName=name)["Table"]["GlobalTableVersion"] == "2017.11.29"
    listed = east.list_global_tables()["GlobalTables"]
    assert {"GlobalTableName": name, "ReplicationGroup": [{"RegionName": r} for r in sorted([EAST, WEST])]} in listed
    east.put_item(TableName=name, Item={"pk": {"S": "x"}})
    assert item_of(west, name, "x") == {"pk": {"S": "x"}}
    # A new region joins only with an empty identical table.
    create(south, name)
    code, _ = error(lambda: east.update_global_table(GlobalTableName=name, ReplicaUpdates=[{"Create": {"RegionName": SOUTH}}]))
    assert code == "ValidationException"  # no stream
    south.delete_table(TableName=name)
    create(south, name, StreamSpecification=stream)
    out = east.update_global_table(GlobalTableName=name, ReplicaUpdates=[{"Create": {"RegionName": SOUTH}}])["GlobalTableDescription"]
    assert {r["RegionName"]: r["ReplicaStatus"] for r in out["ReplicationGroup"]}[SOUTH] == "CREATING"
    wait_for(lambda: east.describe_global_table(GlobalTableName=name)["GlobalTableDescription"]["GlobalTableStatus"] == "ACTIVE", timeout=20)
    west.put_item(TableName=name, Item={"pk": {"S": "y"}})
    assert item_of(south, name, "y") == {"pk": {"S": "y"}}
    code, _ = error(lambda: east.update_global_table(GlobalTableName=name, ReplicaUpdates=[{"Create": {"RegionName": SOUTH}}]))
    assert code == "ReplicaAlreadyExistsException"
    # Removing a replica keeps its table, as a plain regional one.
    east.update_global_table(GlobalTableName=name, ReplicaUpdates=[{"Delete": {"RegionName": SOUTH}}])
    south.put_item(TableName=name, Item={"pk": {"S": "z"}})
    assert item_of(east, name, "z") is None
    assert "Replicas" not in south.describe_table(TableName=name)["Table"]
    wait_for(lambda: east.describe_global_table(GlobalTableName=name)["GlobalTableDescription"]["GlobalTableStatus"] == "ACTIVE", timeout=20)
    assert sorted(r["RegionName"] for r in east.describe_global_table(GlobalTableName=name)["GlobalTableDescription"]["ReplicationGroup"]) == sorted([EAST, WEST])
    code, _ = error(lambda: east.update_global_table(GlobalTableName=name, ReplicaUpdates=[{"Delete": {"RegionName": SOUTH}}]))
    assert code == "ReplicaNotFoundException"
