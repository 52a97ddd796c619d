"""Anonymous S3 requests: public objects and buckets, served as AWS serves them.

A request with no credentials at all (no Authorization header, no presigned query) is made by
S3's anonymous principal. AWS serves it what the bucket makes public and refuses the rest
with ``403 AccessDenied`` "Access Denied"
(https://docs.aws.amazon.com/AmazonS3/latest/userguide/access-control-auth-workflow-object-operation.html):

* the bucket policy: a statement for ``"Principal": "*"`` (or ``{"AWS": "*"}``, or a
  ``NotPrincipal`` that does not name everyone) whose Action, Resource and Condition match
  allows it, unless a Deny statement matches (evaluated with gateway/policy.py, the engine
  that authorizes every signed request, with the anonymous request's condition keys:
  aws:SourceIp, aws:Referer, aws:SecureTransport, aws:UserAgent, aws:PrincipalType
  "Anonymous", s3:prefix, s3:x-amz-acl, s3:ExistingObjectTag/<key>, ...);
* ACLs: a grant to the AllUsers group (http://acs.amazonaws.com/groups/global/AllUsers):
  READ on the object (GetObject, HeadObject), READ on the bucket (ListObjects(V2),
  HeadBucket), WRITE on the bucket (PutObject, the multipart upload of one), READ_ACP and
  WRITE_ACP for the ACLs themselves, FULL_CONTROL for all of them
  (https://docs.aws.amazon.com/AmazonS3/latest/userguide/acl-overview.html#permissions);
  none when the bucket's Object Ownership is ``BucketOwnerEnforced`` (ACLs disabled);
* S3 Block Public Access, the bucket's and the account's (s3control) together:
  ``IgnorePublicAcls`` ignores the public grants; ``RestrictPublicBuckets`` refuses the
  anonymous principal everything in a bucket whose policy is public
  (https://docs.aws.amazon.com/AmazonS3/latest/userguide/access-control-block-public-access.html#access-control-block-public-access-policy-status).

A GET or HEAD of a key that does not exist answers ``404 NoSuchKey`` when the anonymous
principal may list the bucket (s3:ListBucket) and ``403 AccessDenied`` when not, as AWS does.

Detection (``detect``): an unsigned request that no other service claims is S3's when its
path names an existing bucket (``/bucket``, ``/bucket/key``) or its Host does
(``bucket.localhost``, ``bucket.s3.<region>.amazonaws.com``: protocols/detect.py's rule for
virtual-hosted-style requests). Any other unsigned request keeps its error. Everything here
is read from moto's S3 backend (the state it persists and loads back: fallback_state.py);
nothing is written. The bucket policy, its condition keys and the reading of moto's state are
shared with the signed callers' decisions (gateway/s3_policy.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from emulator import services
from emulator.context import Principal, RequestContext
from emulator.errors import AwsError
from emulator.gateway.authorize import request_context, s3_requirements
from emulator.gateway.policy import (
    ALLOWED,
    EXPLICIT_DENY,
    IMPLICIT_DENY,
    PolicySet,
)
from emulator.gateway.s3_policy import (
    ANONYMOUS_CALLER,
    moto_serves_s3,
    object_check,
    object_of,
    partition_of,
    policy_of,
    request_params,
    runtime_bucket,
    runtime_s3_backend,
    split_arn,
    stored_keys,
    wants_stored_keys,
)
from emulator.protocols.base import Request
from emulator.protocols.detect import (
    Detected,
    match_rest_operation,
    virtual_host_bucket,
)

if TYPE_CHECKING:
    from emulator.runtime import Runtime

ANONYMOUS = "anonymous"
ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"

# The query parameters that sign a request (SigV4 and SigV2 presigned URLs).
_SIGNING_QUERY = ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature", "AWSAccessKeyId", "Signature")


def access_denied() -> AwsError:
    return AwsError("AccessDenied", "Access Denied", 403)


# ------------------------------------------------------------------ who
_principals: dict[str, Principal] = {}


def anonymous_principal(account_id: str) -> Principal:
    """The anonymous principal: the access log and the audit log name it ``anonymous``."""
    found = _principals.get(account_id)
    if found is None:
        found = _principals[account_id] = Principal(ANONYMOUS, ANONYMOUS, ANONYMOUS, account_id, False)
    return found


def is_anonymous(who: Principal | None) -> bool:
    return who is not None and who.access_key_id == ANONYMOUS and not who.is_root


def is_unsigned(request: Request) -> bool:
    """No credentials at all: no Authorization header, no signature in the query string."""
    if "authorization" in request.headers:
        return False
    if request.query_string:
        query = request.query
        return not any(name in query for name in _SIGNING_QUERY)
    return True


def is_anonymous_request(ctx: RequestContext) -> bool:
    """An S3 request that carries no credentials: made by the anonymous principal."""
    return ctx.service_name == "s3" and is_unsigned(ctx.request)


# ------------------------------------------------------------------ detection
def detect_anonymous(request: Request, runtime: Runtime, error: AwsError) -> Detected | None:
    """S3 for an unsigned request that matched no service (``error``, detect's last one) when
    it addresses an existing bucket; None otherwise (the request keeps its error)."""
    if error.code != "UnknownOperationException" or error.status != 404 or not is_unsigned(request):
        return None
    if request.headers.get("x-amz-target") or not moto_serves_s3(runtime):
        return None
    info = services.index().by_name.get("s3")
    if info is None:
        return None
    route = request.raw_path.split("?", 1)[0] or "/"
    host_bucket = virtual_host_bucket(request.headers.get("host", ""))
    if host_bucket is not None:
        name = host_bucket
        route = "/" + host_bucket + route
    else:
        name = unquote(route[1:].split("/", 1)[0])
    if not name:
        return None
    bucket = runtime_bucket(runtime, name)
    if bucket is None:
        return None
    if host_bucket is not None:
        request.route_path = route
    operation = match_rest_operation(info.name, request.method, route, request.query, request.headers)
    region = getattr(bucket, "region_name", None)
    return Detected(info.name, operation, info.protocol, None, region if isinstance(region, str) and region else None)


# ------------------------------------------------------------------ moto's state
def _account_block(runtime: Runtime) -> Any:
    """The account's S3 Block Public Access settings (s3control PutPublicAccessBlock), or None."""
    fallback = runtime.fallback
    if fallback is None:
        return None
    try:
        return getattr(fallback.backend("s3control", partition_of(runtime.settings.region)), "public_access_block", None)
    except Exception:  # noqa: BLE001 - no s3control backend: no account-level block
        return None


def _acls_disabled(bucket: Any) -> bool:
    """Object Ownership "BucketOwnerEnforced": ACLs no longer affect permissions."""
    rule = getattr(bucket, "ownership_rule", None)
    if isinstance(rule, dict):
        rule = rule.get("ObjectOwnership") or (rule.get("Rule") or {}).get("ObjectOwnership")
    return rule == "BucketOwnerEnforced"


def _grants_all_users(acl: Any, permission: str) -> bool:
    for grant in getattr(acl, "grants", None) or []:
        if not any(getattr(g, "uri", "") == ALL_USERS for g in grant.grantees):
            continue
        permissions = grant.permissions if isinstance(grant.permissions, list) else [grant.permissions]
        if permission in permissions or "FULL_CONTROL" in permissions:
            return True
    return False


# ------------------------------------------------------------------ authorization
# IAM actions that the ACL of the object grants (acl-overview.html, "Mapping of ACL permissions
# and access policy permissions"), and those the bucket's ACL grants.
_OBJECT_ACL = {
    "s3:GetObject": "READ", "s3:GetObjectVersion": "READ",
    "s3:GetObjectAcl": "READ_ACP", "s3:GetObjectVersionAcl": "READ_ACP",
    "s3:PutObjectAcl": "WRITE_ACP", "s3:PutObjectVersionAcl": "WRITE_ACP",
}
_BUCKET_ACL = {
    "s3:ListBucket": "READ", "s3:ListBucketVersions": "READ", "s3:ListBucketMultipartUploads": "READ",
    "s3:PutObject": "WRITE",
    "s3:GetBucketAcl": "READ_ACP", "s3:PutBucketAcl": "WRITE_ACP",
}
_NO_POLICY = PolicySet([])


class _Evaluation:
    """One anonymous request's decisions, over the buckets it names."""

    def __init__(self, ctx: RequestContext, runtime: Runtime) -> None:
        self.ctx = ctx
        self.runtime = runtime
        self.owner = runtime.fallback.account_id if runtime.fallback is not None else ctx.account_id
        self.backend = runtime_s3_backend(runtime)
        account = _account_block(runtime)
        self.account_ignore_acls = bool(getattr(account, "ignore_public_acls", False))
        self.account_restrict = bool(getattr(account, "restrict_public_buckets", False))
        self.version_id = ctx.request.query_one("versionId")
        self._base: dict[str, Any] | None = None

    def _context(self, policy: PolicySet, action: str, bucket: Any, key: str | None) -> dict[str, Any]:
        if self._base is None:
            self._base = request_context(self.ctx, None, None, {"aws:principaltype": "Anonymous"})
        if key is None or not wants_stored_keys(self.ctx, policy.condition_keys(action)):
            return self._base
        return self._base | stored_keys(self.ctx, self.backend, bucket, key, self.version_id)

    def decide(self, action: str, arn: str) -> str:
        """ALLOWED, EXPLICIT_DENY or IMPLICIT_DENY for the anonymous principal."""
        if self.backend is None:
            return IMPLICIT_DENY
        name, key = split_arn(arn)
        bucket = self.backend.buckets.get(name)
        if bucket is None:
            return ALLOWED  # S3 tells anyone that a bucket does not exist (NoSuchBucket): moto's answer
        block = getattr(bucket, "public_access_block", None)
        ignore_acls = self.account_ignore_acls or bool(getattr(block, "ignore_public_acls", False))
        restrict = self.account_restrict or bool(getattr(block, "restrict_public_buckets", False))
        found = policy_of(bucket, self.owner)
        if restrict and found is not None and found.public:
            return IMPLICIT_DENY  # only the account's principals and AWS services may use a public bucket
        statements = found.policy.for_caller(ANONYMOUS_CALLER) if found is not None else _NO_POLICY
        acls = not ignore_acls and not _acls_disabled(bucket)
        decision = self._policy(statements, action, arn, bucket, key)
        if decision == EXPLICIT_DENY:
            return decision
        if key is not None and action in ("s3:GetObject", "s3:GetObjectVersion") and object_of(bucket, key, self.version_id) is None:
            # No such key: 404 NoSuchKey for who may list the bucket, 403 for the others.
            listing = self._policy(statements, "s3:ListBucket", arn.split("/", 1)[0], bucket, None)
            if listing == ALLOWED or (listing == IMPLICIT_DENY and acls and _grants_all_users(bucket.acl, "READ")):
                return ALLOWED
            return IMPLICIT_DENY
        if decision == ALLOWED:
            return ALLOWED
        if acls:
            permission = _OBJECT_ACL.get(action)
            if permission is not None and key is not None:
                obj = object_of(bucket, key, self.version_id)
                if obj is not None and _grants_all_users(obj.acl, permission):
                    return ALLOWED
            permission = _BUCKET_ACL.get(action)
            if permission is not None and _grants_all_users(bucket.acl, permission):
                return ALLOWED
        return IMPLICIT_DENY

    def _policy(self, statements: PolicySet, action: str, arn: str, bucket: Any, key: str | None) -> str:
        if not statements.statements:
            return IMPLICIT_DENY
        return statements.evaluate(action, arn, self._context(statements, action, bucket, key)).decision


def authorize_anonymous(ctx: RequestContext, runtime: Runtime) -> None:
    """Allow the anonymous request or raise 403 AccessDenied "Access Denied"; the decision goes
    to the audit log (``ctx.telemetry["authz"]``)."""
    reqs = s3_requirements(ctx.operation_name or "", request_params(ctx), ctx.region, ctx.account_id)
    evaluation = _Evaluation(ctx, runtime)
    for action, resource in reqs:
        decision = evaluation.decide(action, resource)
        ctx.telemetry["authz"] = {"action": action, "resource": resource, "decision": decision}
        if decision != ALLOWED:
            raise access_denied()
    if ctx.operation_name == "DeleteObjects":
        object_check(lambda action, resource: evaluation.decide(action, resource) == ALLOWED)
