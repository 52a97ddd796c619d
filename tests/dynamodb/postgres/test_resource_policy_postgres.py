"""Resource-based policies on PostgreSQL shared by two emulator processes: a policy attached
or removed through one is enforced by the other (its authorizer follows the catalog version)."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from emulator.testing.server import EmulatorServer

Servers = tuple[EmulatorServer, EmulatorServer]


def _code(call: Callable[[], Any]) -> str | None:
    try:
        call()
    except ClientError as err:
        return str(err.response["Error"]["Code"])
    return None


def _eventually(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 10
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.02)


def test_a_policy_put_through_one_process_is_enforced_by_the_other(pg_servers: Servers) -> None:
    a, b = (s.client("dynamodb") for s in pg_servers)
    name = f"pg-rp-{uuid.uuid4().hex[:10]}"
    a.create_table(TableName=name, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                   AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
    arn = a.describe_table(TableName=name)["Table"]["TableArn"]
    a.put_item(TableName=name, Item={"pk": {"S": "k"}})
    assert b.get_item(TableName=name, Key={"pk": {"S": "k"}})["Item"]  # B caches the table
    doc = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Principal": "*", "Action": "dynamodb:GetItem", "Resource": arn}]})
    revision = a.put_resource_policy(ResourceArn=arn, Policy=doc)["RevisionId"]
    assert b.get_resource_policy(ResourceArn=arn) | {"ResponseMetadata": None} == {"Policy": doc, "RevisionId": revision, "ResponseMetadata": None}
    _eventually(lambda: _code(lambda: b.get_item(TableName=name, Key={"pk": {"S": "k"}})) == "AccessDeniedException",
                "process B never enforced the policy attached through A")
    # A conditional update through B sees A's revision.
    assert _code(lambda: b.delete_resource_policy(ResourceArn=arn, ExpectedRevisionId="1")) == "PolicyNotFoundException"
    assert b.delete_resource_policy(ResourceArn=arn, ExpectedRevisionId=revision)["RevisionId"] == revision
    _eventually(lambda: _code(lambda: a.get_item(TableName=name, Key={"pk": {"S": "k"}})) is None,
                "process A still enforces the policy deleted through B")
    # DeleteTable through one takes the policy along for both.
    a.put_resource_policy(ResourceArn=arn, Policy=doc)
    b.delete_table(TableName=name)
    a.create_table(TableName=name, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                   AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
    assert _code(lambda: b.get_resource_policy(ResourceArn=arn)) == "PolicyNotFoundException"
    _eventually(lambda: _code(lambda: b.get_item(TableName=name, Key={"pk": {"S": "k"}})) is None, "process B enforces a deleted table's policy")
    a.delete_table(TableName=name)
