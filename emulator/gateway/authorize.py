"""Authorization: map each call to its IAM action and resource ARNs, evaluate the
caller's policies, and refuse with the service's own access-denied error.

Actions are ``<iam prefix>:<Operation>`` (``dynamodb:PutItem``,
``ec2:RunInstances``, ``bedrock:InvokeModel``); resources are the ARNs AWS
documents for each action in the Service Authorization Reference
(https://docs.aws.amazon.com/service-authorization/latest/reference/): emulator/gateway/
authorize_requirements.py builds them, emulator/gateway/authorize_context.py the condition keys
the policies read; this module decides (``Authorizer``) and words the refusal.

The root key may do everything, but for what a resource-based policy explicitly denies it
(DynamoDB tables and streams: emulator/dynamodb/policies.py; S3 bucket policies, read from
moto's buckets: emulator/gateway/s3_policy.py). A resource-based policy also allows: a caller
is allowed when its identity-based policies or the resource's policy allow
(emulator/gateway/resource_policy.py). Every decision is stored in
``ctx.telemetry["authz"]`` for the audit log.

Other surfaces (the OpenAI API under ``/v1``) call ``check(principal, action,
resource, context)`` with the same semantics.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Iterable
from typing import TYPE_CHECKING, Any

from emulator.context import Principal, RequestContext
from emulator.errors import AwsError
from emulator.gateway import authorize_s3, authorize_services, s3_policy
from emulator.gateway.authorize_context import (
    ec2_resource_keys,
    leading_keys,
    request_context,
    update_attributes,
    wants_ec2_keys,
)
from emulator.gateway.authorize_requirements import (
    RESOLVERS,
    Requirement,
    action_for,
    bedrock_requirements,
    cloudwatch_requirements,
    dynamodb_requirements,
    ec2_requirements,
    iam_prefix,
    iam_requirements,
    logs_requirements,
    register,
    requirements,
    s3_requirements,
    sts_requirements,
)
from emulator.gateway.iam_store import bounded, role_boundary_document
from emulator.gateway.policy import ALLOWED, EXPLICIT_DENY, Decision, PolicySet
from emulator.gateway.resource_policy import Caller, ResourcePolicy, caller_of, combine
from emulator.gateway.sessions import governing as trust_governing
from emulator.protocols import get_protocol
from emulator.services import signs_like_s3

if TYPE_CHECKING:
    from emulator.gateway.iam_store import IamStore

# The resources of the services moto serves (SQS, SNS, Secrets Manager, KMS, Lambda, ...), beside
# the native services' resolvers of authorize_requirements.
register(authorize_services.SERVICE_RESOLVERS)


# The services whose resources may have resource-based policies the gateway enforces (and S3's
# bucket policies: s3_policy.governed).
_GOVERNED_SERVICES = frozenset({"dynamodb", "dynamodbstreams"})
# S3 operations that no bucket policy governs: they act on the account, not on a bucket.
_S3_UNGOVERNED = frozenset({"ListBuckets", "CreateBucket", "ListDirectoryBuckets"})
# What a resource-based policy cannot deny the root user of the resource's account:
# DynamoDB's "the root principal in your Amazon Web Services account can perform
# DeleteResourcePolicy requests, even if your resource-based policy explicitly denies the root
# principal's access"; S3's "the root principal of the bucket owner's account can perform the
# GetBucketPolicy, PutBucketPolicy, and DeleteBucketPolicy API actions, even if their bucket
# policy explicitly denies the root principal's access" (API_PutBucketPolicy.html).
_ROOT_KEEPS = frozenset({"dynamodb:DeleteResourcePolicy", "s3:GetBucketPolicy", "s3:PutBucketPolicy", "s3:DeleteBucketPolicy"})

# Actions IAM never denies (https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html:
# "No permissions are required to perform this operation"; API_GetSessionToken.html: "No
# permissions are required for users to perform this operation").
ALWAYS_ALLOWED = frozenset({"sts:GetCallerIdentity", "sts:GetSessionToken"})


# ------------------------------------------------------------------ errors
def denied_message(principal: Principal, decision: Decision) -> str:
    """IAM's words for a refusal; S3 quotes the resource ("Troubleshoot access denied (403
    Forbidden) errors in Amazon S3": ``User: arn:aws:iam::111122223333:user/MaryMajor is not
    authorized to perform: s3:GetObject on resource: "arn:aws:s3:::amzn-s3-demo-bucket1/object-name"
    with an explicit deny in a resource-based policy``). A user's permissions boundary (source
    "boundary") is named as such ("Troubleshoot access denied error messages", IAM User Guide:
    ``... because no permissions boundary allows the ... action``)."""
    kind = {"resource": "a resource-based policy", "boundary": "a permissions boundary"}.get(decision.source, "an identity-based policy")
    if decision.decision == EXPLICIT_DENY:
        why = f"with an explicit deny in {kind}"
    else:
        why = f"because no {kind.removeprefix('a ').removeprefix('an ')} allows the {decision.action} action"
    resource = f'"{decision.resource}"' if decision.action.startswith("s3:") else decision.resource
    return f"User: {principal.arn} is not authorized to perform: {decision.action} on resource: {resource} {why}"


def access_denied(protocol: str | None, service_model: Any, message: str) -> AwsError:
    if signs_like_s3(service_model):
        return AwsError("AccessDenied", message, 403)  # S3's code for it
    if protocol == "ec2":
        return AwsError("UnauthorizedOperation", f"You are not authorized to perform this operation. {message}", 403)
    if protocol == "query" or (service_model is not None and "awsQueryCompatible" in service_model.metadata):
        return AwsError("AccessDenied", message, 403)
    if protocol == "json":
        return AwsError("AccessDeniedException", message, 400)
    return AwsError("AccessDeniedException", message, 403)


# ------------------------------------------------------------------ authorizer
def conclude(reqs: list[Requirement], decisions: Iterable[Decision]) -> Decision:
    """Every (action, resource) must be allowed: the first explicit Deny is the answer (the
    decisions are taken lazily: none after it), else the first refusal, else an Allow."""
    refusal: Decision | None = None
    for decision in decisions:
        if decision.decision == EXPLICIT_DENY:
            return decision
        if not decision.allowed and refusal is None:
            refusal = decision
    if refusal is not None:
        return refusal
    action, resource = reqs[0] if reqs else ("*", "*")
    return Decision(ALLOWED, action, resource)


class Authorizer:
    """``runtime.components["authorizer"]``: authorize (and rate-limit) one request."""

    def __init__(self, store: IamStore, rate_limiter: Any = None, hash_key: Callable[[str, str], str | None] | None = None, capacity: Any = None,
                 sessions: Any = None, fallback: Any = None) -> None:
        self.store = store
        self.capacity = capacity
        self.sessions = sessions  # STS sessions (gateway/sessions.py): assumed roles are authorized with the role's policies
        self.fallback = fallback  # where the roles live (moto's IAM)
        self._role_sets: dict[str, tuple[float, int, PolicySet]] = {}
        self._identities: dict[tuple[str, str, int], dict[str, str]] = {}
        self._callers: dict[str, Caller] = {}  # principal ARN -> as resource-based policies name it
        self.rate_limiter = rate_limiter
        self.hash_key = hash_key
        # Resource-based policies (emulator.dynamodb.policies.ResourcePolicies), set by the
        # DynamoDB service when signatures are checked; None: there are none to consult.
        self.resource_policies: Any = None
        # A cluster gateway's (emulator/cluster/policies.py): True to take a refusal over
        # (``ctx`` is then let through, to be confirmed before the request goes anywhere).
        self.defer_denial: Callable[[RequestContext, Decision, AwsError], bool] | None = None
        self.denied = 0
        self.allowed = 0

    def forget_roles(self) -> None:
        """Drop the roles' policies read from moto (kept a second per role ARN): after a reset a
        role made again under the same name must not be authorized with the old one's."""
        self._role_sets.clear()

    def evaluate(self, principal: Principal, reqs: list[Requirement], context: dict[str, Any], policies: PolicySet | None = None,
                 contexts: list[dict[str, Any]] | None = None) -> Decision:
        """Every (action, resource) must be allowed; the first refusal is the answer. ``contexts``:
        one context per requirement, where keys depend on the resource (EC2's: ``_resource_contexts``)."""
        if principal.is_root or principal.user_name == "root":
            action, resource = reqs[0] if reqs else ("*", "*")
            return Decision(ALLOWED, action, resource)
        if policies is None:
            policies = self.policies(principal)
        if contexts is not None:
            identity = self.identity(principal)
            return conclude(reqs, (policies.evaluate(action, resource, c, self._variables(policies, c, identity))
                                   for (action, resource), c in zip(reqs, contexts, strict=True)))
        variables: dict[str, Any] | None = None
        if policies.uses_variables:
            # Any single-valued key of the request may be a variable (request_context was
            # asked for those the policies read); the principal's own keys always are.
            variables = {k: v for k in policies.variable_keys if isinstance(v := context.get(k), str)}
            variables.update(self.identity(principal))
        return conclude(reqs, (policies.evaluate(action, resource, context, variables) for action, resource in reqs))

    @staticmethod
    def _variables(policies: PolicySet, context: dict[str, Any], identity: dict[str, str]) -> dict[str, Any] | None:
        if not policies.uses_variables:
            return None
        variables: dict[str, Any] = {k: v for k in policies.variable_keys if isinstance(v := context.get(k), str)}
        variables.update(identity)
        return variables

    def decide(self, ctx: RequestContext, principal: Principal, reqs: list[Requirement], governed: list[tuple[str, ResourcePolicy] | None]) -> Decision:
        """The decision when resource-based policies govern some of the resources (``governed``:
        for each requirement None, or the resource as its policy names it and the policy), joined
        with the caller's identity-based policies as emulator.gateway.resource_policy.combine
        says. The root user needs no Allow, but a Deny of a resource-based policy applies to it,
        except for the actions of _ROOT_KEEPS (its own policy's management)."""
        is_root = principal.is_root or principal.user_name == "root"
        identity = self.identity(principal)
        caller = self._callers.get(principal.arn)
        if caller is None or caller.identity is not identity:
            if len(self._callers) >= 1024:
                self._callers.clear()
            caller = self._callers[principal.arn] = caller_of(principal.arn, principal.account_id, is_root, identity)
        policies = None if is_root else self.policies(principal)
        sets = [(g[0], g[1].for_caller(caller)) if g is not None else None for g in governed]
        needed: set[str] = set()
        for (action, _), found in zip(reqs, sets):
            for ps in (policies, found[1] if found is not None else None):
                if ps is not None:
                    needed.update(ps.condition_keys(action))
                    if ps.uses_variables:
                        needed.update(ps.variable_keys)
        context = self._context(ctx, needed, identity, reqs) if needed else {}
        return conclude(reqs, (self._joined(principal, is_root, policies, found, action, resource, context, identity) for (action, resource), found in zip(reqs, sets)))

    def _joined(self, principal: Principal, is_root: bool, policies: PolicySet | None, found: tuple[str, PolicySet] | None,
                action: str, resource: str, context: dict[str, Any], identity: dict[str, str]) -> Decision:
        """One requirement's decision: the caller's identity policies joined with the resource's."""
        if policies is None:
            mine = Decision(ALLOWED, action, resource)
        else:
            mine = policies.evaluate(action, resource, context, self._variables(policies, context, identity))
        theirs = None
        if found is not None and not (is_root and action in _ROOT_KEEPS):
            theirs = found[1].evaluate(action, found[0], context, self._variables(found[1], context, identity))
        parts = resource.split(":", 5)
        same_account = len(parts) < 6 or parts[4] in ("", principal.account_id)
        return combine(action, resource, mine, theirs, same_account)

    def _governed(self, ctx: RequestContext, reqs: list[Requirement]) -> list[tuple[str, ResourcePolicy] | None] | None:
        """The resource-based policies that govern the request's resources (None: none does)."""
        service = ctx.service_name
        if service == "sts":
            # AssumeRole: the role's trust policy is the role's resource-based policy (it may
            # allow a caller it names without an identity policy; gateway/sessions.py).
            if self.fallback is None or ctx.operation_name != "AssumeRole" or ctx.principal is None:
                return None
            return trust_governing(self.fallback.backend("iam", "aws"), ctx.params, ctx.principal.account_id, reqs)
        if service == "s3":
            if self.fallback is None or ctx.operation_name in _S3_UNGOVERNED:
                return None
            # One lookup per bucket named (moto's bucket and its policy text); a policy is parsed
            # once per text.
            owner = ctx.principal.account_id if ctx.principal is not None else ctx.account_id
            return s3_policy.governed(self.fallback, ctx.region, owner, reqs)
        rp = self.resource_policies
        if rp is not None and service in _GOVERNED_SERVICES:
            # Without any resource-based policy this is one attribute read; with some, one
            # dict lookup per resource (its table's or stream's policy).
            current = rp.current() if rp.shared else rp.policies
            if current:
                for _, resource in reqs:
                    key = rp.key_of(resource)
                    if key is not None and key[0] in current:
                        return [rp.governing(current, r) for _, r in reqs]
        return None

    def _decision(self, ctx: RequestContext, principal: Principal, reqs: list[Requirement]) -> Decision:
        if not reqs:
            # S3's DeleteObjects: nothing of its own, each key is decided (``_admit``).
            bucket = ctx.params.get("Bucket")
            return Decision(ALLOWED, "s3:DeleteObject", f"arn:aws:s3:::{bucket}" if isinstance(bucket, str) and bucket else "*")
        governed = self._governed(ctx, reqs)
        if governed is not None:
            return self.decide(ctx, principal, reqs, governed)
        if principal.is_root or (len(reqs) == 1 and reqs[0][0] in ALWAYS_ALLOWED):
            # Fast path: root may do everything, so no policy is evaluated; the audit log
            # still gets the action and resource (the first requirement).
            action, resource = reqs[0] if reqs else ("*", "*")
            return Decision(ALLOWED, action, resource)
        policies = self.policies(principal)
        needed: Collection[str] = policies.condition_keys(reqs[0][0]) if len(reqs) == 1 else tuple({k for action, _ in reqs for k in policies.condition_keys(action)})
        if policies.uses_variables:
            needed = policies.variable_keys.union(needed)
        context = self._context(ctx, needed, self.identity(principal), reqs) if needed else {}
        return self.evaluate(principal, reqs, context, policies, self._resource_contexts(ctx, needed, reqs, context) if needed else None)

    @staticmethod
    def _resource_contexts(ctx: RequestContext, needed: Collection[str], reqs: list[Requirement], context: dict[str, Any]) -> list[dict[str, Any]] | None:
        """One context per requirement when the policies read keys that differ per resource (EC2's
        instance tags and type, the tags a request puts on each kind of resource it creates:
        authorize_context.ec2_resource_keys); None otherwise (one context for all)."""
        if not wants_ec2_keys(ctx, needed):
            return None
        return [{**context, **ec2_resource_keys(ctx, action, resource)} for action, resource in reqs]

    def would_allow(self, ctx: RequestContext, reqs: list[Requirement], replacing: dict[str, ResourcePolicy]) -> bool:
        """Whether ctx's caller would be allowed ``reqs`` if the resources named in ``replacing``
        had those policies (PutResourcePolicy's check against locking oneself out)."""
        principal = ctx.principal
        if principal is None:
            return True
        rp = self.resource_policies
        if rp is None:
            return True
        current = rp.current()
        for arn, policy in replacing.items():
            current = rp.with_policy(arn, policy)
        governed = [rp.governing(current, resource) for _, resource in reqs]
        return self.decide(ctx, principal, reqs, governed).allowed

    def _context(self, ctx: RequestContext, needed: Collection[str], identity: dict[str, str], reqs: list[Requirement]) -> dict[str, Any]:
        """request_context, and the keys read from moto's state: S3's of the object of the first
        requirement (s3_policy.stored_keys) and aws:PrincipalOrgID."""
        context = request_context(ctx, self.hash_key, needed, identity)
        if ctx.service_name == "s3" and reqs and s3_policy.wants_stored_keys(ctx, needed):
            resource = reqs[0][1]
            name, key = s3_policy.split_arn(resource)
            if key is not None and resource.startswith(s3_policy.S3_ARN):
                backend = s3_policy.s3_backend(self.fallback, ctx.region)
                own = name == ctx.params.get("Bucket") and key == ctx.params.get("Key")
                version = ctx.params.get("VersionId") if own else None
                context.update(s3_policy.stored_keys(ctx, backend, s3_policy.bucket_of(backend, name), key, version))
        if "aws:principalorgid" in needed:
            org = self._organization(ctx.account_id if ctx.principal is None else ctx.principal.account_id)
            if org is not None:
                context["aws:principalorgid"] = org
        return context

    def _organization(self, account: str) -> str | None:
        """The id of the organization (moto's Organizations) the account belongs to, or None."""
        if self.fallback is None:
            return None
        try:
            from moto.organizations.models import organizations_backends

            backend = self.fallback.backend("organizations", "aws")
            org = getattr(backend, "org", None)
            if org is None:
                master = organizations_backends.master_accounts.get(account)
                if master is None:
                    return None
                org = getattr(organizations_backends[master[0]][master[1]], "org", None)
            found = getattr(org, "id", None)
            return found if isinstance(found, str) else None
        except Exception:  # noqa: BLE001 - no Organizations backend: in no organization
            return None

    def identity(self, principal: Principal) -> dict[str, str]:
        """The principal's global condition keys, as AWS sets them
        (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html):
        for an IAM user aws:username, aws:userid (its unique AIDA... id) and aws:PrincipalArn
        (with the user's path); for an assumed-role session aws:userid is
        ``<role id>:<session name>``, aws:PrincipalArn the role's ARN and there is no aws:username.
        A user's tags are its aws:PrincipalTag/<key> keys."""
        cache_key = (principal.access_key_id, principal.user_name, self.store.version)
        found = self._identities.get(cache_key)
        if found is not None:
            return found
        found = {"aws:principalaccount": principal.account_id}
        session = self.sessions.get(principal.access_key_id) if self.sessions is not None and principal.access_key_id.startswith("ASIA") else None
        if principal.user_name.startswith("assumed-role/"):
            found["aws:principaltype"] = "AssumedRole"
            if session is not None:
                found["aws:userid"] = session.user_id
                if session.role_arn:
                    found["aws:principalarn"] = session.role_arn
                # Session tags are the session's principal tags; a source identity is kept
                # (IAM User Guide, "Passing session tags in AWS STS"; aws:SourceIdentity).
                for key, value in session.tags.items():
                    found[f"aws:principaltag/{key.lower()}"] = value
                if session.source_identity:
                    found["aws:sourceidentity"] = session.source_identity
        elif principal.is_root or principal.user_name == "root":
            # The root user: no aws:username; aws:userid is the account (reference_policies_variables.html,
            # "Principal key values").
            found["aws:principaltype"] = "Account"
            found["aws:userid"] = principal.account_id
            found["aws:principalarn"] = f"arn:aws:iam::{principal.account_id}:root"
        else:
            user = self.store.users.get(principal.user_name)
            found["aws:principaltype"] = "User"
            found["aws:username"] = principal.user_name
            found["aws:userid"] = str(user["UserId"]) if user is not None else principal.user_name
            found["aws:principalarn"] = str(user["Arn"]) if user is not None else principal.arn
            for tag in user.get("Tags") or [] if user is not None else []:
                found[f"aws:principaltag/{str(tag['Key']).lower()}"] = str(tag.get("Value", ""))
        if len(self._identities) >= 1024:
            self._identities.clear()
        self._identities[cache_key] = found
        return found

    def policies(self, principal: Principal) -> PolicySet:
        """The statements that apply to a principal: a user's (attached and inline), or for an
        assumed-role session the role's, as moto holds them (re-read at most once a second)."""
        if not principal.user_name.startswith("assumed-role/"):
            return self.store.policy_set(principal.user_name)
        session = self.sessions.get(principal.access_key_id) if self.sessions is not None else None
        if session is None or session.role_arn is None or self.fallback is None:
            return PolicySet.from_documents([])
        now = time.monotonic()
        cached = self._role_sets.get(session.role_arn)
        if cached is None or now - cached[0] > 1.0 or cached[1] != self.store.version:
            if len(self._role_sets) > 1024:
                self._role_sets.clear()
            cached = self._role_sets[session.role_arn] = (now, self.store.version, self._role_set(session))
        return cached[2]

    def _role_set(self, session: Any) -> PolicySet:
        """The role's policies within its permissions boundary, if it has one: "the effective
        permissions for an IAM entity (user or role)" are what both allow (IAM User Guide,
        "Permissions boundaries for IAM entities"). The boundary policy is the store's (its
        version counts in the cache: a new default version applies at once)."""
        backend = self.fallback.backend("iam", "aws")
        policies: PolicySet = self.sessions.role_policies(session, backend)
        try:
            role = backend.get_role_by_arn(session.role_arn)
        except Exception:  # noqa: BLE001 - the role was deleted: role_policies gave it nothing
            return policies
        return bounded(policies, role_boundary_document(self.store, role))

    def check(self, principal: Principal | None, action: str, resource: str | list[str] = "*", context: dict[str, Any] | None = None) -> Decision:
        """The decision for a principal, an action and resource(s); for non-AWS routes (the OpenAI API)."""
        if principal is None:
            return Decision("implicit_deny", action, resource if isinstance(resource, str) else (resource[0] if resource else "*"))
        resources = [resource] if isinstance(resource, str) else list(resource) or ["*"]
        ctx = {k.lower(): v for k, v in (context or {}).items()}
        return self.evaluate(principal, [(action, r) for r in resources], ctx)

    def __call__(self, ctx: RequestContext) -> None:
        principal = ctx.principal
        if principal is None:
            return
        if ctx.service_name == "s3" and not ctx.params:
            # S3's resources are in the request line (no body parse): root needs them too when
            # a bucket policy governs the bucket.
            ctx.params = s3_policy.request_params(ctx)
        elif not ctx.native and not ctx.params and not principal.is_root and ctx.operation is not None:
            # A moto-served call that the chain did not parse: parse it for its resources.
            try:
                ctx.params = get_protocol(ctx.protocol or "json").parse(ctx.request, ctx.operation)
            except Exception:  # noqa: BLE001 - moto answers a request our parser cannot read; authorize on "*"
                ctx.params = {}
        reqs = requirements(ctx)
        decision = self._decision(ctx, principal, reqs)
        ctx.telemetry["authz"] = {"action": decision.action, "resource": decision.resource, "decision": decision.decision}
        if not decision.allowed:
            self.denied += 1
            error = access_denied(ctx.protocol, ctx.service, denied_message(principal, decision))
            if self.defer_denial is not None and self.defer_denial(ctx, decision, error):
                return  # a cluster gateway confirms it with the dynamodb role first (emulator/cluster/policies.py)
            raise error
        self._admit(ctx, principal)

    def _admit(self, ctx: RequestContext, principal: Principal) -> None:
        """What follows an Allow: the per-key checks of S3's DeleteObjects, the answer to a key
        that is not there (authorize_s3), rate limits, capacity."""
        if ctx.service_name == "s3" and self.fallback is not None:
            op = ctx.operation_name
            if op == "DeleteObjects":
                # moto asks about each key: the same decision, for s3:DeleteObject on the key.
                s3_policy.object_check(lambda action, resource: self._decision(ctx, principal, [(action, resource)]).allowed)
            bucket = ctx.params.get("Bucket")
            if (op == "GetObject" or op == "HeadObject") and isinstance(bucket, str) and bucket:
                authorize_s3.missing_key_check(bucket, lambda: self._missing_key(ctx, principal, bucket))
            else:
                authorize_s3.missing_key_check(None, None)
        self.allowed += 1
        if self.rate_limiter is not None and self.rate_limiter.enabled:
            try:
                self.rate_limiter.check(principal.access_key_id, ctx.service_name or "", ctx.operation_name or "", ctx.protocol)
            except AwsError:
                ctx.telemetry["authz"]["throttled"] = True
                raise
        if self.capacity is not None and ctx.service_name == "dynamodb" and ctx.native:
            self.capacity.check(ctx.operation_name or "", ctx.params, ctx.region)

    def _missing_key(self, ctx: RequestContext, principal: Principal, bucket: str) -> AwsError | None:
        """GetObject / HeadObject found no key: AccessDenied unless the caller may list the
        bucket (s3:ListBucket), as S3 answers; None when the bucket does not exist (NoSuchBucket
        is told to anyone) or the caller may list it (NoSuchKey)."""
        if s3_policy.bucket_of(s3_policy.s3_backend(self.fallback, ctx.region), bucket) is None:
            return None
        decision = self._decision(ctx, principal, [("s3:ListBucket", f"arn:aws:s3:::{bucket}")])
        if decision.allowed:
            return None
        ctx.telemetry["authz"] = {"action": decision.action, "resource": decision.resource, "decision": decision.decision}
        self.allowed -= 1  # counted as finally decided
        self.denied += 1
        return access_denied(ctx.protocol, ctx.service, denied_message(principal, decision))

    def recheck(self, ctx: RequestContext, allowed_before: bool) -> None:
        """Decide a request again, as ``__call__`` did (what an Allow charges, once): a cluster
        gateway learnt that the resource-based policies it decided with were not the dynamodb
        role's (emulator/cluster/policies.py). Raises the service's AccessDenied."""
        principal = ctx.principal
        if principal is None:
            return
        decision = self._decision(ctx, principal, requirements(ctx))
        ctx.telemetry["authz"] = {"action": decision.action, "resource": decision.resource, "decision": decision.decision}
        if allowed_before and not decision.allowed:  # counted once, as finally decided
            self.allowed -= 1
            self.denied += 1
        elif decision.allowed and not allowed_before:
            self.denied -= 1  # _admit counts the Allow
        if not decision.allowed:
            raise access_denied(ctx.protocol, ctx.service, denied_message(principal, decision))
        if not allowed_before:
            self._admit(ctx, principal)

    def health(self) -> dict[str, Any]:
        return {"allowed": self.allowed, "denied": self.denied}


# What other modules import from here: the authorizer's own names, and those of its
# requirements (authorize_requirements.py) and request context (authorize_context.py).
__all__ = [
    "ALWAYS_ALLOWED", "RESOLVERS", "Authorizer", "Requirement", "access_denied", "action_for", "bedrock_requirements", "cloudwatch_requirements",
    "conclude", "denied_message", "dynamodb_requirements", "ec2_requirements", "iam_prefix", "iam_requirements", "leading_keys", "logs_requirements",
    "request_context", "requirements", "s3_requirements", "sts_requirements", "update_attributes",
]
