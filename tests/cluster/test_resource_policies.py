"""DynamoDB resource-based policies enforced through the gateway of a cluster, as in one process.

Two gateways and a dynamodb role, as processes (no compute role: no model needed). The
policies live in the dynamodb role's storage; each gateway decides with a copy that the
role keeps in step (emulator/cluster/policies.py), so a change made through one gateway
holds on the very next request through either.
"""

from __future__ import annotations

import json
import secrets
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pytest
from botocore.exceptions import ClientError

from emulator.testing.server import EmulatorServer, free_port

from .conftest import FAST, role_server

ACCOUNT = "000000000000"
REGION = "us-east-1"


@dataclass
class Topology:
    gateway: EmulatorServer
    other_gateway: EmulatorServer
    dynamodb: EmulatorServer

    def user(self, *statements: dict[str, Any]) -> tuple[str, Callable[..., Any]]:
        """A new IAM user of the first gateway (with an inline policy of ``statements``) and a
        maker of DynamoDB clients signed with its key."""
        iam = self.gateway.client("iam")
        name = f"rp-user-{uuid.uuid4().hex[:8]}"
        iam.create_user(UserName=name)
        if statements:
            iam.put_user_policy(UserName=name, PolicyName="inline", PolicyDocument=policy(*statements))
        key = iam.create_access_key(UserName=name)["AccessKey"]

        def client(**kwargs: Any) -> Any:
            return self.gateway.client("dynamodb", aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"], **kwargs)

        return name, client


@pytest.fixture(scope="module")
def topology() -> Iterator[Topology]:
    secret = secrets.token_hex(16)
    gw_port, gw2_port, ddb_port = free_port(), free_port(), free_port()
    urls = [f"http://127.0.0.1:{gw_port}", f"http://127.0.0.1:{gw2_port}"]
    dynamodb = role_server("dynamodb", secret, urls[0], port=ddb_port)
    dynamodb.extra_args += ["--gateway-url", urls[1]]
    gateways = [EmulatorServer(port=port, env={**FAST, "EMULATOR_CLUSTER_SECRET": secret},
                               extra_args=["--role", "gateway", "--peer", f"dynamodb=http://127.0.0.1:{ddb_port}"]) for port in (gw_port, gw2_port)]
    servers = [*gateways, dynamodb]
    try:
        with ThreadPoolExecutor(3) as pool:
            list(pool.map(lambda s: s.start(timeout=90), servers))
        yield Topology(gateways[0], gateways[1], dynamodb)
    finally:
        for server in servers:
            server.cleanup()


def policy(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def arn_of(table: str, region: str = REGION) -> str:
    return f"arn:aws:dynamodb:{region}:{ACCOUNT}:table/{table}"


def user_arn(name: str) -> str:
    return f"arn:aws:iam::{ACCOUNT}:user/{name}"


def error_of(call: Callable[[], Any]) -> dict[str, Any]:
    with pytest.raises(ClientError) as info:
        call()
    return dict(info.value.response["Error"])


def create(ddb: Any, name: str | None = None) -> str:
    name = name or f"rp-{uuid.uuid4().hex[:10]}"
    ddb.create_table(TableName=name, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
    return name


def get_json(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url, timeout=10) as resp:
        data: dict[str, Any] = json.load(resp)
    return data


def gateway_policies(server: EmulatorServer) -> dict[str, Any]:
    found: dict[str, Any] = get_json(server.endpoint + "/_emulator/cluster/instances")["dynamodb_resource_policies"]
    return found


def test_a_deny_refuses_the_user_and_removing_it_restores_access(topology: Topology) -> None:
    ddb = topology.gateway.client("dynamodb")
    name, make = topology.user({"Effect": "Allow", "Action": "dynamodb:*", "Resource": "*"})
    client = make()
    table = create(ddb)
    arn = arn_of(table)
    client.put_item(TableName=table, Item={"pk": {"S": "a"}})
    assert client.get_item(TableName=table, Key={"pk": {"S": "a"}})["Item"]
    deny = policy({"Effect": "Deny", "Principal": {"AWS": user_arn(name)}, "Action": ["dynamodb:GetItem", "dynamodb:PutItem"], "Resource": arn})
    ddb.put_resource_policy(ResourceArn=arn, Policy=deny)
    # The very next request is refused, with one process's words.
    for action, call in (("GetItem", lambda: client.get_item(TableName=table, Key={"pk": {"S": "a"}})),
                         ("PutItem", lambda: client.put_item(TableName=table, Item={"pk": {"S": "b"}}))):
        assert error_of(call) == {"Code": "AccessDeniedException",
                                  "Message": f"User: {user_arn(name)} is not authorized to perform: dynamodb:{action} on resource: {arn} "
                                             "with an explicit deny in a resource-based policy"}
    # The refused PutItem wrote nothing; the root user is not named by the policy.
    assert "Item" not in ddb.get_item(TableName=table, Key={"pk": {"S": "b"}})
    # Tables are regional: the same name in another region is another table, which the policy does not govern.
    create(topology.gateway.client("dynamodb", region_name="us-west-2"), table)
    west = make(region_name="us-west-2")
    assert west.put_item(TableName=table, Item={"pk": {"S": "w"}}) is not None
    # Removed: access is back at once.
    ddb.delete_resource_policy(ResourceArn=arn)
    client.put_item(TableName=table, Item={"pk": {"S": "b"}})
    assert client.get_item(TableName=table, Key={"pk": {"S": "b"}})["Item"]


def test_a_policy_allows_what_the_identity_policy_does_not(topology: Topology) -> None:
    ddb = topology.gateway.client("dynamodb")
    name, make = topology.user()  # no identity policy at all
    client = make()
    table = create(ddb)
    arn = arn_of(table)
    ddb.put_item(TableName=table, Item={"pk": {"S": "a"}})
    refused = error_of(lambda: client.get_item(TableName=table, Key={"pk": {"S": "a"}}))
    assert refused["Message"].endswith("because no identity-based policy allows the dynamodb:GetItem action")
    ddb.put_resource_policy(ResourceArn=arn, Policy=policy({"Effect": "Allow", "Principal": {"AWS": user_arn(name)}, "Action": "dynamodb:GetItem", "Resource": arn}))
    assert client.get_item(TableName=table, Key={"pk": {"S": "a"}})["Item"] == {"pk": {"S": "a"}}
    assert error_of(lambda: client.put_item(TableName=table, Item={"pk": {"S": "b"}}))["Code"] == "AccessDeniedException"
    ddb.delete_resource_policy(ResourceArn=arn)
    assert error_of(lambda: client.get_item(TableName=table, Key={"pk": {"S": "a"}}))["Code"] == "AccessDeniedException"


def test_root_keeps_delete_resource_policy_and_the_lockout_check_holds(topology: Topology) -> None:
    ddb = topology.gateway.client("dynamodb")
    table = create(ddb)
    arn = arn_of(table)
    ddb.put_item(TableName=table, Item={"pk": {"S": "a"}})
    deny_all = policy({"Effect": "Deny", "Principal": "*", "Action": "dynamodb:*", "Resource": arn})
    locked = error_of(lambda: ddb.put_resource_policy(ResourceArn=arn, Policy=deny_all))
    assert locked["Code"] == "ValidationException" and "ConfirmRemoveSelfResourceAccess" in locked["Message"]
    assert error_of(lambda: ddb.get_resource_policy(ResourceArn=arn))["Code"] == "PolicyNotFoundException"
    # The other errors keep their order: a missing table is not found before any lockout.
    missing = arn_of(f"rp-missing-{uuid.uuid4().hex[:6]}")
    assert error_of(lambda: ddb.put_resource_policy(ResourceArn=missing, Policy=deny_all.replace(arn, missing)))["Code"] == "ResourceNotFoundException"
    ddb.put_resource_policy(ResourceArn=arn, Policy=deny_all, ConfirmRemoveSelfResourceAccess=True)
    refused = error_of(lambda: ddb.get_item(TableName=table, Key={"pk": {"S": "a"}}))
    assert refused["Code"] == "AccessDeniedException" and "explicit deny in a resource-based policy" in refused["Message"]
    assert error_of(lambda: ddb.get_resource_policy(ResourceArn=arn))["Code"] == "AccessDeniedException"
    ddb.delete_resource_policy(ResourceArn=arn)  # root may, despite the Deny
    assert ddb.get_item(TableName=table, Key={"pk": {"S": "a"}})["Item"]


def test_a_user_cannot_lock_itself_out_unconfirmed(topology: Topology) -> None:
    ddb = topology.gateway.client("dynamodb")
    name, make = topology.user({"Effect": "Allow", "Action": "dynamodb:*", "Resource": "*"})
    admin = make()
    table = create(ddb)
    arn = arn_of(table)
    lockout = policy({"Effect": "Deny", "Principal": {"AWS": user_arn(name)}, "Action": "dynamodb:PutResourcePolicy", "Resource": arn})
    err = error_of(lambda: admin.put_resource_policy(ResourceArn=arn, Policy=lockout))
    assert err["Code"] == "ValidationException" and "ConfirmRemoveSelfResourceAccess" in err["Message"]
    assert ddb.put_resource_policy(ResourceArn=arn, Policy=lockout)["RevisionId"]  # someone else's lockout needs no confirmation
    ddb.delete_resource_policy(ResourceArn=arn)
    assert admin.put_resource_policy(ResourceArn=arn, Policy=lockout, ConfirmRemoveSelfResourceAccess=True)["RevisionId"]
    opened = policy({"Effect": "Allow", "Principal": {"AWS": ACCOUNT}, "Action": "dynamodb:GetItem", "Resource": arn})
    assert error_of(lambda: admin.put_resource_policy(ResourceArn=arn, Policy=opened))["Code"] == "AccessDeniedException"


def test_a_change_through_one_gateway_holds_at_once_at_the_other(topology: Topology) -> None:
    first, second = topology.gateway.client("dynamodb"), topology.other_gateway.client("dynamodb")
    table = create(first)
    arn = arn_of(table)
    first.put_item(TableName=table, Item={"pk": {"S": "a"}})
    assert second.get_item(TableName=table, Key={"pk": {"S": "a"}})["Item"]  # the second gateway's copy is current
    deny = policy({"Effect": "Deny", "Principal": {"AWS": ACCOUNT}, "Action": "dynamodb:GetItem", "Resource": arn})
    first.put_resource_policy(ResourceArn=arn, Policy=deny, ConfirmRemoveSelfResourceAccess=True)
    assert error_of(lambda: second.get_item(TableName=table, Key={"pk": {"S": "a"}}))["Code"] == "AccessDeniedException"
    second.delete_resource_policy(ResourceArn=arn)
    assert first.get_item(TableName=table, Key={"pk": {"S": "a"}})["Item"]


def test_requests_cost_no_extra_round_trip_while_the_policies_stay(topology: Topology) -> None:
    ddb = topology.gateway.client("dynamodb")
    table = create(ddb)
    ddb.put_item(TableName=table, Item={"pk": {"S": "a"}})  # the copy is current after this at the latest
    before = gateway_policies(topology.gateway)["refreshed"]
    stale = get_json(topology.dynamodb.endpoint + "/_emulator/health")["components"]["cluster_policies"]["stale_answers"]
    for _ in range(20):
        ddb.get_item(TableName=table, Key={"pk": {"S": "a"}})
    assert gateway_policies(topology.gateway)["refreshed"] == before
    assert get_json(topology.dynamodb.endpoint + "/_emulator/health")["components"]["cluster_policies"]["stale_answers"] == stale
    # A change costs the next request one: the copy is refreshed once.
    arn = arn_of(table)
    ddb.put_resource_policy(ResourceArn=arn, Policy=policy({"Effect": "Allow", "Principal": {"AWS": ACCOUNT}, "Action": "dynamodb:GetItem", "Resource": arn}))
    for _ in range(5):
        ddb.get_item(TableName=table, Key={"pk": {"S": "a"}})
    after = gateway_policies(topology.gateway)
    assert after["refreshed"] == before + 1 and after["policies"] >= 1
