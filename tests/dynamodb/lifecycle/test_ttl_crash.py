"""TTL sweeping and crash safety of stream records, each on a server of its own."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from emulator.testing.server import EmulatorServer

from .conftest import read_all


@pytest.fixture(scope="module")
def fast_ttl() -> Iterator[EmulatorServer]:
    server = EmulatorServer(env={"EMULATOR_TTL_INTERVAL": "0.2"})
    server.start()
    try:
        yield server
    finally:
        server.cleanup()


def create(ddb: Any, name: str, **kwargs: Any) -> None:
    ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        **kwargs,
    )


def test_ttl_deletes_expired_items_with_service_identity(fast_ttl: EmulatorServer) -> None:
    ddb = fast_ttl.client("dynamodb")
    streams = fast_ttl.client("dynamodbstreams")
    create(ddb, "ttl-t", StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})
    ddb.update_time_to_live(TableName="ttl-t", TimeToLiveSpecification={"Enabled": True, "AttributeName": "exp"})
    now = int(time.time())
    ddb.put_item(TableName="ttl-t", Item={"pk": {"S": "past"}, "exp": {"N": str(now - 10)}})
    ddb.put_item(TableName="ttl-t", Item={"pk": {"S": "future"}, "exp": {"N": str(now + 3600)}})
    ddb.put_item(TableName="ttl-t", Item={"pk": {"S": "string"}, "exp": {"S": str(now - 10)}})  # not a Number: kept
    ddb.put_item(TableName="ttl-t", Item={"pk": {"S": "ancient"}, "exp": {"N": str(now - 6 * 365 * 86400)}})  # > 5 years: kept
    ddb.put_item(TableName="ttl-t", Item={"pk": {"S": "none"}})
    deadline = time.time() + 10
    while time.time() < deadline and "Item" in ddb.get_item(TableName="ttl-t", Key={"pk": {"S": "past"}}):
        time.sleep(0.1)
    left = sorted(i["pk"]["S"] for i in ddb.scan(TableName="ttl-t")["Items"])
    assert left == ["ancient", "future", "none", "string"]
    arn = ddb.describe_table(TableName="ttl-t")["Table"]["LatestStreamArn"]
    removes = [r for r in read_all(streams, arn) if r["eventName"] == "REMOVE"]
    assert len(removes) == 1
    assert removes[0]["userIdentity"] == {"Type": "Service", "PrincipalId": "dynamodb.amazonaws.com"}
    assert removes[0]["dynamodb"]["OldImage"]["pk"] == {"S": "past"}


def test_ttl_disabled_table_is_not_swept(fast_ttl: EmulatorServer) -> None:
    ddb = fast_ttl.client("dynamodb")
    create(ddb, "ttl-off")
    ddb.put_item(TableName="ttl-off", Item={"pk": {"S": "past"}, "exp": {"N": str(int(time.time()) - 10)}})
    time.sleep(0.6)  # three sweeper intervals
    assert "Item" in ddb.get_item(TableName="ttl-off", Key={"pk": {"S": "past"}})


def test_kill_during_writes_no_lost_or_phantom_records(tmp_path: Any) -> None:
    """kill -9 while writers run: after restart every acknowledged write has
    exactly one stream record, and every record belongs to a write that happened."""
    server = EmulatorServer(data_dir=tmp_path)
    server.start()
    acked: list[str] = []
    attempted: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()
    try:
        ddb = server.client("dynamodb")
        create(ddb, "crash", StreamSpecification={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"})

        def writer(w: int) -> None:
            client = server.client("dynamodb")
            i = 0
            while not stop.is_set():
                key = f"w{w}-{i}"
                with lock:
                    attempted.append(key)
                try:
                    client.put_item(TableName="crash", Item={"pk": {"S": key}})
                except Exception:  # noqa: BLE001 - the server died under us
                    return
                with lock:
                    acked.append(key)
                i += 1

        threads = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
        for t in threads:
            t.start()
        deadline = time.time() + 10
        while len(acked) < 150 and time.time() < deadline:
            time.sleep(0.02)
        server.kill()
        stop.set()
        for t in threads:
            t.join(10)
        assert len(acked) >= 50
        server.start()
        ddb = server.client("dynamodb")
        streams = server.client("dynamodbstreams")
        arn = ddb.describe_table(TableName="crash")["Table"]["LatestStreamArn"]
        keys = [r["dynamodb"]["Keys"]["pk"]["S"] for r in read_all(streams, arn)]
        assert len(keys) == len(set(keys)), "a write has two records"
        assert set(acked) <= set(keys), "an acknowledged write lost its record"
        assert set(keys) <= set(attempted), "a record for a write nobody made"
        items = set()
        kwargs: dict[str, Any] = {"TableName": "crash"}
        while True:
            page = ddb.scan(**kwargs)
            items.update(i["pk"]["S"] for i in page["Items"])
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        assert items == set(keys), "records and items disagree"
    finally:
        stop.set()
        server.cleanup()
