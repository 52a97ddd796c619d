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
