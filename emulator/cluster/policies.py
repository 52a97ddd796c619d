"""DynamoDB's resource-based policies in a cluster: decided by the gateway, kept by the dynamodb role.

In one process the authorizer reads the engine's policies directly
(emulator/dynamodb/policies.py ``ResourcePolicies``). In a cluster they live in the dynamodb
role's storage, which the gateway may not reach (each role has its own SQLite data dir
unless PostgreSQL is shared), so:

- the gateway keeps a copy (``GatewayPolicies``), which its ``Authorizer`` consults exactly
  as it would the engine's, together with the version of the policies the copy holds;
- every forwarded DynamoDB request carries that version in the signed principal header
  (``authz = {"pv": version}``): the version the request was authorized with;
- the dynamodb role (``RolePolicies``, in its RoleGuard) compares it with its own policies'
  version before the request reaches the service. Equal (the common case, and always while
  there are no policies at all): the request goes on, at the cost of one string comparison.
  Different: the role answers ``STALE_STATUS`` with ``STALE_HEADER`` and its policies; the
  gateway installs them, authorizes the request again (``Authorizer.recheck``) and sends it
  again. Nothing was executed, so sending again is safe.

So a policy change takes effect on the very next request through any gateway (no cache
window), and requests cost no extra round trip but the first one after a change of the
policies (or after the gateway started). With several dynamodb instances on one PostgreSQL
storage, each follows the others' changes as it does in one process (``ResourcePolicies.current``,
the catalog version's LISTEN/NOTIFY).

The version is a digest of the policies' ARNs and texts: instances with the same policies
agree without coordination. It is computed once per policy set: ``ResourcePolicies`` replaces
its dict on every change (never mutates it), so the dict's identity says when to recompute.

A refusal is checked the same way: one that the role's policies could turn around is not
answered from the copy; the gateway asks the role (``internal.POLICIES_PATH``, with the
version) whether its copy is current, and decides again if it was not. So refusals of
DynamoDB requests (rare) cost one round trip; explicit Denies of the caller's own policies
and resources no policy governs (ListTables) do not.

PutResourcePolicy's check against locking oneself out (``ConfirmRemoveSelfResourceAccess``)
needs the caller's identity policies, which are the gateway's: the gateway evaluates it with
the new document (``authz["keep"]``) and the role applies the answer at the point where the
engine asks (``keeps_access``), so that the other errors keep their order.
"""

from __future__ import annotations

import hashlib
import logging
from typing import TYPE_CHECKING, Any

import orjson

from emulator.cluster import internal
from emulator.context import RequestContext
from emulator.dynamodb.policies import Governing, KeepsAccess, PolicyLookup, policy_key
from emulator.errors import AwsError
from emulator.gateway.policy import EXPLICIT_DENY, Decision
from emulator.gateway.resource_policy import (
    InvalidPolicy,
    parse_resource_policy,
)

if TYPE_CHECKING:
    from emulator.runtime import Runtime

log = logging.getLogger("emulator.cluster")

STALE_STATUS = internal.STALE_STATUS
STALE_HEADER = internal.STALE_HEADER
# Where the gateway's authorizer leaves a refusal to be confirmed (ctx.telemetry; never recorded).
DEFERRED = "_deferred_denial"
_SERVICES = frozenset({"dynamodb", "dynamodbstreams"})
_EMPTY = "none"  # the version of no policies at all
_UNKNOWN = ""  # a gateway that has not heard the role yet: never equal to a version


def version_of(entries: list[list[str]]) -> str:
    """The version of a set of policies (``[arn, text]`` pairs, sorted)."""
    if not entries:
        return _EMPTY
    return hashlib.sha256(orjson.dumps(entries)).hexdigest()[:32]


# ------------------------------------------------------------------ the dynamodb role
class RolePolicies:
    """The role's side: the version of the engine's policies, and the answer to a request
    authorized with another version."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._seen: dict[str, Governing] | None = None
        self._version = _EMPTY
        self._body = b""
        self.stale = 0  # requests answered STALE_STATUS

    def _current(self) -> dict[str, Governing] | None:
        engine = self.runtime.components.get("dynamodb")
        rp = getattr(engine, "resource_policies", None)
        if rp is None:
            return None
        found: dict[str, Governing] = rp.current() if rp.shared else rp.policies
        return found

    def snapshot(self) -> tuple[str, bytes]:
        """(version, the STALE_STATUS body) of the policies now in force."""
        current = self._current()
        if current is None:
            return _EMPTY, orjson.dumps({"version": _EMPTY, "policies": []})
        if current is not self._seen:
            entries = sorted([arn, policy.text] for arn, policy in current.values())
            version = version_of(entries)
            self._body = orjson.dumps({"version": version, "policies": entries})
            self._version = version
            self._seen = current  # kept alive, so that its identity is not reused
        return self._version, self._body

    def admit(self, authz: dict[str, Any] | None) -> bytes | None:
        """None: the request may go on; else the body of the STALE_STATUS answer. Requests that
        carry no version (the gateway does not authorize: auth is off) are not checked."""
        if authz is None or "pv" not in authz:
            return None
        version, body = self.snapshot()
        if authz["pv"] == version:
            return None
        self.stale += 1
        return body

    def health(self) -> dict[str, Any]:
        return {"policies_version": self.snapshot()[0], "stale_answers": self.stale}


def keeps_access(ctx: RequestContext) -> KeepsAccess | None:
    """On the dynamodb role, PutResourcePolicy's lockout check: the gateway's answer (None: it
    sent none, as when it does not authorize)."""
    try:
        authz = internal.decode_authz(ctx.request.headers.get(internal.PRINCIPAL_HEADER, ""))
    except internal.InternalAuthError:
        return None
    if authz is None or "keep" not in authz:
        return None
    keep = bool(authz["keep"])
    return lambda arn, policy: keep


# ------------------------------------------------------------------ the gateway
class GatewayPolicies(PolicyLookup):
    """The gateway's copy of the dynamodb role's policies: what ``Authorizer.resource_policies``
    holds in one process (the same ``current``/``key_of``/``governing``/``with_policy``), and
    the version it is of."""

    shared = False  # the authorizer reads ``policies``; ``install`` replaces it whole

    def __init__(self) -> None:
        self.policies: dict[str, Governing] = {}
        self.version = _UNKNOWN
        self.refreshed = 0
        self._keys: dict[str, tuple[str, str] | None] = {}

    def install(self, doc: Any) -> None:
        """Take the role's policies (the STALE_STATUS body, decoded). A policy whose text did not
        change keeps its parsed form (and the per-caller statement sets it caches)."""
        version = doc.get("version") if isinstance(doc, dict) else None
        entries = doc.get("policies") if isinstance(doc, dict) else None
        if not isinstance(version, str) or not version or not isinstance(entries, list):
            raise ValueError("malformed policies from the dynamodb role")
        if version == self.version:
            return
        before = {arn: policy for arn, policy in self.policies.values()}
        found: dict[str, Governing] = {}
        for entry in entries:
            arn, text = entry
            key = policy_key(arn)
            if key is None:
                continue
            policy = before.get(arn)
            if policy is None or policy.text != text:
                try:
                    policy = parse_resource_policy(text, arn.split(":")[4])[0]
                except InvalidPolicy as exc:  # the role parsed it; only a different version of the code could disagree
                    log.error("resource-based policy of %s is unreadable (%s): it is ignored", arn, exc)
                    continue
            found[key[0]] = (arn, policy)
        self.policies = found
        self.version = version
        self.refreshed += 1

    def authz(self, ctx: RequestContext, authorizer: Any) -> dict[str, Any]:
        """What a forwarded request carries: the version it was authorized with and, for
        PutResourcePolicy, whether the new policy leaves the caller its own access."""
        out: dict[str, Any] = {"pv": self.version}
        if ctx.operation_name == "PutResourcePolicy" and ctx.params.get("ConfirmRemoveSelfResourceAccess") is not True and ctx.principal is not None:
            arn, text = ctx.params.get("ResourceArn"), ctx.params.get("Policy")
            if isinstance(arn, str) and isinstance(text, str) and policy_key(arn) is not None:
                try:
                    policy = parse_resource_policy(text, arn.split(":")[4])[0]
                except InvalidPolicy:
                    return out  # the role refuses the document before it would ask
                out["keep"] = bool(authorizer.would_allow(ctx, [("dynamodb:PutResourcePolicy", arn)], {arn: policy}))
        return out

    def health(self) -> dict[str, Any]:
        return {"policies_version": self.version, "policies": len(self.policies), "refreshed": self.refreshed}


def defer_denial(ctx: RequestContext, decision: Decision, error: AwsError) -> bool:
    """``Authorizer.defer_denial`` of a cluster gateway: a refusal of a DynamoDB request that
    other resource-based policies could turn around (not an explicit Deny of the caller's own
    policies; a resource that a policy can govern) is confirmed with the dynamodb role before
    it is answered (Forwarder._dispatch): the gateway's copy may be behind the role's."""
    if ctx.service_name not in _SERVICES or policy_key(decision.resource) is None:
        return False
    if decision.decision == EXPLICIT_DENY and decision.source != "resource":
        return False
    ctx.telemetry[DEFERRED] = error
    return True


def stale_policies(status: int, headers: dict[str, str], body: bytes) -> Any:
    """The role's policies if a forwarded answer says the request was authorized with others
    (None: a real answer)."""
    if status != STALE_STATUS or headers.get(STALE_HEADER) != "1":
        return None
    return orjson.loads(body)
