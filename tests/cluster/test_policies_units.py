"""Unit tests of DynamoDB's resource-based policies in a cluster (emulator/cluster/policies.py):
the version the gateway decides with, the role's check of it, and the gateway's side of the
exchange (a refusal confirmed or turned around, an Allow decided again) with a real Authorizer
and a role played in-process. The wire test is test_resource_policies.py."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from emulator import services
from emulator.cluster import internal
from emulator.cluster.discovery import Discovery, MemoryRegistry
from emulator.cluster.forward import Forwarder
from emulator.cluster.policies import (
    DEFERRED,
    GatewayPolicies,
    RolePolicies,
    defer_denial,
    keeps_access,
)
from emulator.context import Principal, RequestContext
from emulator.dynamodb.policies import policy_key
from emulator.errors import AwsError
from emulator.gateway.authorize import Authorizer
from emulator.gateway.iam_store import IamStore
from emulator.gateway.resource_policy import parse_resource_policy
from emulator.protocols.base import Request, Response

ACCOUNT = "000000000000"
OTHER = "111122223333"
TABLE = f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/t"
BOB = Principal("AKIABOB", "bob", f"arn:aws:iam::{ACCOUNT}:user/bob", ACCOUNT, False)
CAROL = Principal("AKIACAROL", "carol", f"arn:aws:iam::{ACCOUNT}:user/carol", ACCOUNT, False)
OTHER_ROOT = Principal("AKIAOTHER", "root", f"arn:aws:iam::{OTHER}:root", OTHER, True)


def doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(who: str, action: str = "dynamodb:GetItem", resource: str = TABLE) -> dict[str, Any]:
    return {"Effect": "Allow", "Principal": {"AWS": who}, "Action": action, "Resource": resource}


class FakeEngine:
    """What RolePolicies reads of the engine: ``resource_policies`` (a dict replaced on every change)."""

    def __init__(self) -> None:
        self.resource_policies = SimpleNamespace(shared=False, policies={})

    def put(self, arn: str, text: str) -> None:
        key = policy_key(arn)
        assert key is not None
        self.resource_policies.policies = {**self.resource_policies.policies, key[0]: (arn, parse_resource_policy(text, arn.split(":")[4])[0])}

    def clear(self) -> None:
        self.resource_policies.policies = {}


def role_of(engine: FakeEngine) -> RolePolicies:
    return RolePolicies(SimpleNamespace(components={"dynamodb": engine}))  # type: ignore[arg-type]


def test_authz_travels_signed_in_the_principal_header() -> None:
    headers = internal.sign(b"k", "POST", "/", "", b"{}", BOB, "10.0.0.1", {"pv": "v1", "keep": False})
    assert internal.verify(b"k", "POST", "/", "", b"{}", headers) == (BOB, "10.0.0.1")
    assert internal.decode_authz(headers[internal.PRINCIPAL_HEADER]) == {"pv": "v1", "keep": False}
    assert internal.decode_authz(internal.sign(b"k", "POST", "/", "", b"", BOB)[internal.PRINCIPAL_HEADER]) is None
    # Another version (an older copy claimed current) breaks the signature.
    forged = {**headers, internal.PRINCIPAL_HEADER: internal.encode_principal(BOB, "10.0.0.1", {"pv": "v2", "keep": False})}
    with pytest.raises(internal.InternalAuthError):
        internal.verify(b"k", "POST", "/", "", b"{}", forged)


def test_role_versions_and_the_gateway_copy() -> None:
    engine = FakeEngine()
    role = role_of(engine)
    version, _ = role.snapshot()
    assert version == "none" and role.admit({"pv": "none"}) is None
    assert role.admit(None) is None and role.admit({}) is None  # the gateway does not authorize: nothing to check
    gateway = GatewayPolicies()
    stale = role.admit({"pv": gateway.version})  # a gateway that never heard the role
    assert stale is not None
    gateway.install(json.loads(stale))
    assert gateway.version == "none" and gateway.policies == {}
    engine.put(TABLE, doc(allow(BOB.arn)))
    changed, _ = role.snapshot()
    assert changed != "none" and role.admit({"pv": "none"}) is not None
    same = dict(engine.resource_policies.policies)  # a new dict, the same policies: the same version (no needless round trip)
    engine.resource_policies.policies = same
    assert role.snapshot()[0] == changed
    gateway.install(json.loads(role.snapshot()[1]))
    assert gateway.version == changed
    found = gateway.governing(gateway.current(), TABLE + "/index/i")
    assert found is not None and found[0] == TABLE + "/index/i"
    parsed = found[1]
    # Reinstalling the same text keeps the parsed policy; another region's table is not governed.
    engine.put(TABLE.replace("table/t", "table/u"), doc(allow(BOB.arn, resource=TABLE.replace("table/t", "table/u"))))
    gateway.install(json.loads(role.snapshot()[1]))
    assert gateway.policies["us-east-1:000000000000:table/t"][1] is parsed
    assert gateway.governing(gateway.policies, TABLE.replace("us-east-1", "us-west-2")) is None
    with pytest.raises(ValueError):
        gateway.install({"policies": []})


def ctx_for(principal: Principal, operation: str = "GetItem", **params: Any) -> RequestContext:
    params = params or {"TableName": "t", "Key": {"pk": {"S": "a"}}}
    return RequestContext(request_id="r-1", request=Request("POST", "/", "/", "", {}, b"", "127.0.0.1"), service_name="dynamodb",
                          service=services.service_model("dynamodb"), operation=services.operation_model("dynamodb", operation), protocol="json",
                          region="us-east-1", account_id=ACCOUNT, principal=principal, params=params)


class Cluster:
    """A gateway's Authorizer and Forwarder, with the dynamodb role played by ``role``."""

    def __init__(self, tmp_path: Path) -> None:
        self.store = IamStore(tmp_path, ACCOUNT)
        for name in ("bob", "carol"):
            self.store.create_user(name)
        self.store.put_user_policy("carol", "all", doc({"Effect": "Allow", "Action": "dynamodb:*", "Resource": "*"}))
        self.store.put_user_policy("bob", "no-delete", doc({"Effect": "Deny", "Action": "dynamodb:DeleteTable", "Resource": "*"}))
        self.authorizer = Authorizer(self.store)
        self.gateway = GatewayPolicies()
        self.authorizer.resource_policies = self.gateway
        self.authorizer.defer_denial = defer_denial
        self.forwarder = Forwarder(SimpleNamespace(handlers={}), Discovery([], MemoryRegistry()), b"k", 5.0)  # type: ignore[arg-type]
        self.forwarder.policies = self.gateway
        self.forwarder.authorizer = self.authorizer
        self.validated: list[str] = []
        self.forwarder.validator = lambda ctx: self.validated.append(ctx.request_id)
        self.engine = FakeEngine()
        self.role = role_of(self.engine)
        self.executed: list[dict[str, Any]] = []
        self.forwarder.send = self.send  # type: ignore[method-assign]

    async def send(self, role: str, request: Request, principal: Principal | None, service: str | None = None, authz: dict[str, Any] | None = None) -> Response:
        stale = self.role.admit(authz)
        if stale is not None:
            return Response(internal.STALE_STATUS, {internal.STALE_HEADER: "1"}, stale)
        if request.path == internal.POLICIES_PATH:
            return Response(204, {internal.STALE_HEADER: "0"})
        self.executed.append(dict(authz or {}))
        return Response(200, {}, b"{}")

    def call(self, ctx: RequestContext) -> Response:
        """The gateway's chain for a forwarded request: authorize, then forward."""

        async def run() -> Response:
            self.authorizer(ctx)
            return await self.forwarder.forward(ctx)

        return asyncio.run(run())


def test_refusals_are_confirmed_and_allows_decided_again(tmp_path: Path) -> None:
    c = Cluster(tmp_path)
    # The role's policy allows bob; the gateway has not heard it: the refusal is turned around.
    c.engine.put(TABLE, doc(allow(BOB.arn)))
    ctx = ctx_for(BOB)
    assert c.call(ctx).status == 200 and len(c.executed) == 1
    assert DEFERRED not in ctx.telemetry and ctx.telemetry["authz"]["decision"] == "allow"
    assert c.validated == ["r-1"]  # validation skipped for the refusal ran once it became an Allow
    assert (c.authorizer.allowed, c.authorizer.denied) == (1, 0)
    # In step now: an Allow costs one request, the refusal of another action one check.
    assert c.call(ctx_for(BOB)).status == 200 and len(c.executed) == 2
    with pytest.raises(AwsError) as refused:
        c.call(ctx_for(BOB, "PutItem", TableName="t", Item={"pk": {"S": "a"}}))
    assert refused.value.code == "AccessDeniedException" and "no identity-based policy allows the dynamodb:PutItem" in refused.value.message
    # The role dropped the policy: the gateway's Allow is decided again and refused; nothing ran.
    c.engine.clear()
    with pytest.raises(AwsError) as dropped:
        c.call(ctx_for(BOB))
    assert dropped.value.code == "AccessDeniedException" and len(c.executed) == 2
    assert (c.authorizer.allowed, c.authorizer.denied) == (2, 2)
    # An explicit Deny of bob's own policies is final: no round trip to confirm it.
    ctx = ctx_for(BOB, "DeleteTable", TableName="t")
    with pytest.raises(AwsError):
        c.authorizer(ctx)
    assert DEFERRED not in ctx.telemetry


def test_a_deny_of_the_table_policy_and_its_removal_take_effect_at_once(tmp_path: Path) -> None:
    c = Cluster(tmp_path)
    assert c.call(ctx_for(CAROL)).status == 200
    c.engine.put(TABLE, doc({"Effect": "Deny", "Principal": {"AWS": CAROL.arn}, "Action": "dynamodb:GetItem", "Resource": TABLE}))
    with pytest.raises(AwsError) as denied:
        c.call(ctx_for(CAROL))
    assert "with an explicit deny in a resource-based policy" in denied.value.message and len(c.executed) == 1
    c.engine.clear()
    assert c.call(ctx_for(CAROL)).status == 200 and len(c.executed) == 2


def test_another_accounts_principal_needs_the_table_policy(tmp_path: Path) -> None:
    c = Cluster(tmp_path)
    c.engine.put(TABLE, doc(allow(BOB.arn)))
    by_arn = {"TableName": TABLE, "Key": {"pk": {"S": "a"}}}  # another account's table is named by its ARN
    with pytest.raises(AwsError):
        c.call(ctx_for(OTHER_ROOT, **by_arn))
    c.engine.put(TABLE, doc(allow(OTHER)))
    assert c.call(ctx_for(OTHER_ROOT, **by_arn)).status == 200
    with pytest.raises(AwsError):  # still nothing else
        c.call(ctx_for(OTHER_ROOT, "PutItem", TableName=TABLE, Item={"pk": {"S": "a"}}))


def test_the_lockout_check_is_the_gateways_answer(tmp_path: Path) -> None:
    c = Cluster(tmp_path)
    lockout = doc({"Effect": "Deny", "Principal": {"AWS": CAROL.arn}, "Action": "dynamodb:PutResourcePolicy", "Resource": TABLE})
    assert c.call(ctx_for(CAROL, "PutResourcePolicy", ResourceArn=TABLE, Policy=lockout)).status == 200
    assert c.executed[-1]["keep"] is False
    assert c.call(ctx_for(CAROL, "PutResourcePolicy", ResourceArn=TABLE, Policy=doc(allow(BOB.arn)))).status == 200
    assert c.executed[-1]["keep"] is True
    assert c.call(ctx_for(CAROL, "PutResourcePolicy", ResourceArn=TABLE, Policy=lockout, ConfirmRemoveSelfResourceAccess=True)).status == 200
    assert "keep" not in c.executed[-1]
    # The role takes it from the signed header.
    ctx = ctx_for(CAROL)
    ctx.request.headers[internal.PRINCIPAL_HEADER] = internal.encode_principal(CAROL, "", {"pv": "x", "keep": False})
    check = keeps_access(ctx)
    assert check is not None and check(TABLE, parse_resource_policy(lockout, ACCOUNT)[0]) is False
    ctx.request.headers[internal.PRINCIPAL_HEADER] = internal.encode_principal(CAROL, "", {"pv": "x"})
    assert keeps_access(ctx) is None
