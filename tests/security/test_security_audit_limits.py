"""The audit log and request rate limits, through the wire."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from security_helpers import Users, error_code

from emulator.testing.server import EmulatorServer


def _audit(server: EmulatorServer, predicate, timeout: float = 5.0) -> list[dict]:  # type: ignore[no-untyped-def]
    path = server.data_dir / "audit.log"
    deadline = time.time() + timeout
    while time.time() < deadline:
        if path.exists():
            records = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
            found = [r for r in records if predicate(r)]
            if found:
                return found
        time.sleep(0.05)
    return []


def test_audit_records_allowed_and_denied_calls(sec_server: EmulatorServer, users: Users) -> None:
    key = users.create("auditee", {"Effect": "Allow", "Action": "iam:ListUsers", "Resource": "*"})
    client = users.client("auditee", "iam")
    assert error_code(client.list_users) is None
    assert error_code(lambda: client.create_user(UserName="x-audit")) == "AccessDenied"
    allowed = _audit(sec_server, lambda r: r["user"] == "auditee" and r["operation"] == "ListUsers")
    denied = _audit(sec_server, lambda r: r["user"] == "auditee" and r["operation"] == "CreateUser")
    assert allowed and denied
    a, d = allowed[0], denied[0]
    assert a["decision"] == "allow" and a["status"] == 200 and a["action"] == "iam:ListUsers"
    assert d["decision"] == "implicit_deny" and d["status"] == 403
    assert d["resource"] == "arn:aws:iam::000000000000:user/x-audit"
    assert d["access_key_id"] == key["aws_access_key_id"] and d["source_ip"] == "127.0.0.1"
    assert d["principal_arn"] == "arn:aws:iam::000000000000:user/auditee"
    text = (sec_server.data_dir / "audit.log").read_text()
    assert key["aws_secret_access_key"] not in text and sec_server.secret_key not in text
    assert "x-audit" not in json.dumps({k: v for k, v in d.items() if k != "resource"})  # no request bodies
    # ... and in CloudWatch Logs, group /emulator/audit
    logs = sec_server.client("logs")
    deadline = time.time() + 5
    messages: list[str] = []
    while time.time() < deadline and not any('"auditee"' in m for m in messages):
        try:
            messages = [e["message"] for e in logs.filter_log_events(logGroupName="/emulator/audit")["events"]]
        except logs.exceptions.ResourceNotFoundException:
            pass
        time.sleep(0.1)
    assert any('"auditee"' in m and '"implicit_deny"' in m for m in messages)


@pytest.fixture(scope="module")
def limited_server(tmp_path_factory: pytest.TempPathFactory) -> EmulatorServer:
    folder: Path = tmp_path_factory.mktemp("limits")
    config = folder / "emulator.toml"
    config.write_text(
        """
[emulator]
dynamodb_burst_seconds = 2

[emulator.rate_limits]
[[emulator.rate_limits.rules]]
service = "iam"
operation = "ListUsers"
rate = 20
burst = 2
"""
    )
    server = EmulatorServer(data_dir=folder / "data", extra_args=["--services", "iam,dynamodb", "--config", str(config)])
    server.start()
    yield server  # type: ignore[misc]
    server.cleanup()


def test_accepted_rate_is_the_configured_limit(limited_server: EmulatorServer) -> None:
    from botocore.config import Config

    iam = limited_server.client("iam", config=Config(retries={"total_max_attempts": 1}))
    iam.list_users()  # warm the connection
    time.sleep(0.15)  # let the bucket refill
    accepted = throttled = 0
    interval = 1 / 40  # twice the limit
    start = time.monotonic()
    for i in range(80):
        target = start + i * interval
        delay = target - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        code = error_code(iam.list_users)
        if code is None:
            accepted += 1
        else:
            assert code == "Throttling"
            throttled += 1
    elapsed = time.monotonic() - start
    rate = (accepted - 2) / elapsed  # minus the burst the bucket started with
    assert 18 <= rate <= 22, (accepted, throttled, elapsed)
    assert throttled > 20
    # other operations are not limited
    assert all(error_code(lambda: iam.get_user()) is None for _ in range(10))


def test_provisioned_table_throughput_is_enforced(limited_server: EmulatorServer) -> None:
    from botocore.config import Config

    ddb = limited_server.client("dynamodb", config=Config(retries={"total_max_attempts": 1}))
    ddb.create_table(
        TableName="sec_provisioned",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        ProvisionedThroughput={"ReadCapacityUnits": 1, "WriteCapacityUnits": 1},
    )
    ddb.get_waiter("table_exists").wait(TableName="sec_provisioned", WaiterConfig={"Delay": 0.2, "MaxAttempts": 50})
    codes = [error_code(lambda i=i: ddb.put_item(TableName="sec_provisioned", Item={"pk": {"S": f"k{i}"}})) for i in range(8)]
    # 1 WCU with a 2-second burst allowance: two or three writes pass, then DynamoDB's error.
    assert 2 <= codes.count(None) <= 4, codes
    assert set(codes) - {None} == {"ProvisionedThroughputExceededException"}, codes
    # reads have their own capacity
    assert error_code(lambda: ddb.get_item(TableName="sec_provisioned", Key={"pk": {"S": "k0"}})) is None


def _provisioned(ddb: object, name: str, rcu: int = 1, wcu: int = 1) -> None:
    ddb.create_table(  # type: ignore[attr-defined]
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        ProvisionedThroughput={"ReadCapacityUnits": rcu, "WriteCapacityUnits": wcu},
    )


def test_batch_write_returns_what_throughput_leaves_unprocessed(limited_server: EmulatorServer) -> None:
    """As DynamoDB: a batch takes what the table's throughput allows and returns the rest in
    UnprocessedItems; it is refused only when none of its requests can go."""
    from botocore.config import Config

    ddb = limited_server.client("dynamodb", config=Config(retries={"total_max_attempts": 1}))
    _provisioned(ddb, "sec_batch_slow")  # 1 WCU, a 2-second burst: 2 units to start with
    ddb.create_table(
        TableName="sec_batch_free",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    puts = [{"PutRequest": {"Item": {"pk": {"S": f"k{i}"}}}} for i in range(10)]
    out = ddb.batch_write_item(RequestItems={"sec_batch_slow": puts})
    left = out["UnprocessedItems"].get("sec_batch_slow", [])
    assert len(left) == 8 and left == puts[2:], left  # the first two went, in the request's order
    stored = ddb.scan(TableName="sec_batch_slow", ConsistentRead=True)["Items"]
    assert sorted(i["pk"]["S"] for i in stored) == ["k0", "k1"]

    # Another table's requests go while the slow one's wait.
    free = [{"PutRequest": {"Item": {"pk": {"S": f"f{i}"}}}} for i in range(3)]
    out = ddb.batch_write_item(RequestItems={"sec_batch_slow": left, "sec_batch_free": free})
    assert "sec_batch_free" not in out["UnprocessedItems"]
    assert len(out["UnprocessedItems"]["sec_batch_slow"]) >= 7  # at most what a few ms refilled
    assert ddb.scan(TableName="sec_batch_free", Select="COUNT")["Count"] == 3

    # A 5 KB item costs 5 units: the table is in debt, and a batch of it alone is refused.
    ddb.put_item(TableName="sec_batch_free", Item={"pk": {"S": "big"}, "blob": {"S": "x" * 5000}})
    with pytest.raises(ddb.exceptions.ProvisionedThroughputExceededException) as info:
        for _ in range(3):  # the first may still find a refilled fraction of a unit
            ddb.batch_write_item(RequestItems={"sec_batch_slow": [{"PutRequest": {"Item": {"pk": {"S": "huge"}, "blob": {"S": "x" * 5000}}}}]})
    reasons = info.value.response.get("ThrottlingReasons") or []
    assert [r["reason"] for r in reasons] == ["TableWriteProvisionedThroughputExceeded"], info.value.response


def test_batch_writer_completes_on_a_slow_table(limited_server: EmulatorServer) -> None:
    """boto3's batch_writer resends UnprocessedItems until every item is written: on a 1 WCU
    table with 2 units of burst, every item arrives, at the table's pace."""
    import boto3
    from botocore.config import Config

    ddb = limited_server.client("dynamodb")
    _provisioned(ddb, "sec_batch_writer")
    session = boto3.session.Session(
        aws_access_key_id=ddb._request_signer._credentials.access_key,
        aws_secret_access_key=ddb._request_signer._credentials.secret_key,
        region_name="us-east-1",
    )
    table = session.resource("dynamodb", endpoint_url=limited_server.endpoint, config=Config(retries={"mode": "legacy", "max_attempts": 10})).Table("sec_batch_writer")
    with table.batch_writer() as writer:
        for i in range(5):
            writer.put_item(Item={"pk": f"w{i}"})
    assert ddb.scan(TableName="sec_batch_writer", Select="COUNT", ConsistentRead=True)["Count"] == 5


def test_batch_get_returns_what_throughput_leaves_unprocessed(limited_server: EmulatorServer) -> None:
    from botocore.config import Config

    ddb = limited_server.client("dynamodb", config=Config(retries={"total_max_attempts": 1}))
    _provisioned(ddb, "sec_batch_reads", rcu=1, wcu=10)  # reads: 2 units, 0.5 each eventually consistent
    for i in range(10):
        ddb.put_item(TableName="sec_batch_reads", Item={"pk": {"S": f"r{i}"}})
    keys = [{"pk": {"S": f"r{i}"}} for i in range(10)]
    out = ddb.batch_get_item(RequestItems={"sec_batch_reads": {"Keys": keys}})
    got = out["Responses"]["sec_batch_reads"]
    left = out["UnprocessedKeys"]["sec_batch_reads"]["Keys"]
    assert len(got) == 4 and left == keys[4:], (got, left)
    # Once the units are spent, a batch of the table alone is refused.
    with pytest.raises(ddb.exceptions.ProvisionedThroughputExceededException):
        for _ in range(3):
            ddb.batch_get_item(RequestItems={"sec_batch_reads": {"Keys": keys[:2], "ConsistentRead": True}})
