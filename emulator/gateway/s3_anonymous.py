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
nothing is written.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

import orjson

from emulator import services
from emulator.context import Principal, RequestContext
from emulator.errors import AwsError
from emulator.gateway.authorize import request_context, s3_requirements
from emulator.gateway.policy import (
    ALLOWED,
    EXPLICIT_DENY,
    IMPLICIT_DENY,
    PolicySet,
    Statement,
    parse_document,
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
    if request.headers.get("x-amz-target") or "s3" in runtime.handlers:
        return None
    fallback = runtime.fallback
    info = services.index().by_name.get("s3")
    if fallback is None or info is None or not fallback.supports("s3"):
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
    bucket = _bucket(runtime, name)
    if bucket is None:
        return None
    if host_bucket is not None:
        request.route_path = route
    operation = match_rest_operation(info.name, request.method, route, request.query, request.headers)
    region = getattr(bucket, "region_name", None)
    return Detected(info.name, operation, info.protocol, None, region if isinstance(region, str) and region else None)


# ------------------------------------------------------------------ moto's state
def _partition(runtime: Runtime) -> str:
    from moto.utilities.utils import get_partition

    return str(get_partition(runtime.settings.region))


def _s3(runtime: Runtime) -> Any:
    fallback = runtime.fallback
    if fallback is None:
        return None
    try:
        return fallback.backend("s3", _partition(runtime))
    except Exception:  # noqa: BLE001 - no S3 backend: nothing is public
        return None


def _bucket(runtime: Runtime, name: str) -> Any:
    backend = _s3(runtime)
    buckets = getattr(backend, "buckets", None)
    return buckets.get(name) if isinstance(buckets, dict) else None


def _account_block(runtime: Runtime) -> Any:
    """The account's S3 Block Public Access settings (s3control PutPublicAccessBlock), or None."""
    fallback = runtime.fallback
    if fallback is None:
        return None
    try:
        return getattr(fallback.backend("s3control", _partition(runtime)), "public_access_block", None)
    except Exception:  # noqa: BLE001 - no s3control backend: no account-level block
        return None


def _object(bucket: Any, key: str, version_id: str | None) -> Any:
    """The object (a moto FakeKey), or None when the key (version) does not exist or is a
    delete marker."""
    from moto.s3.models import FakeKey

    keys = bucket.keys
    found: Any = None
    if version_id is None:
        found = keys.get(key)
    else:
        for version in keys.getlist(key, default=[]) or []:
            if str(version.version_id) == version_id:
                found = version
                break
    return found if isinstance(found, FakeKey) else None


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


# ------------------------------------------------------------------ the bucket policy
# Keys whose fixed values make a statement non-public (the S3 user guide, "The meaning of
# 'public'"), lower-cased.
_FIXED_KEYS = frozenset({
    "aws:sourcearn", "aws:sourcevpc", "aws:sourcevpce", "aws:sourceaccount", "aws:sourceowner", "aws:sourceorgid", "aws:sourceorgpaths",
    "aws:principalorgid", "aws:principalorgpaths", "aws:principalaccount", "aws:principalarn", "aws:userid",
    "s3:dataaccesspointarn", "s3:dataaccesspointaccount",
})
_FIXED_OPERATORS = frozenset({"StringEquals", "StringEqualsIgnoreCase", "StringLike", "ArnEquals", "ArnLike"})


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [str(v) for v in value]
    return [] if value is None else [str(value)]


def _names_everyone(who: Any) -> bool:
    if who == "*":
        return True
    return isinstance(who, dict) and "*" in _strings(who.get("AWS"))


def _applies_to_anonymous(statement: dict[str, Any]) -> bool:
    if "Principal" in statement:
        return _names_everyone(statement["Principal"])
    if "NotPrincipal" in statement:
        return not _names_everyone(statement["NotPrincipal"])
    return False


def _narrow_network(text: str) -> bool:
    try:
        net = ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        return False
    return net.prefixlen >= (8 if net.version == 4 else 32)


def _limited(condition: Any) -> bool:
    """Whether a condition block holds the statement to fixed sources (a non-public statement)."""
    if not isinstance(condition, dict):
        return False
    for operator, keys in condition.items():
        qualifier, _, base = str(operator).rpartition(":")
        if qualifier or base.endswith("IfExists") or not isinstance(keys, dict):
            continue  # absent keys pass ...IfExists; set operators do not fix one value
        for key, raw in keys.items():
            values = _strings(raw)
            name = str(key).lower()
            if not values:
                continue
            if name == "aws:sourceip" and base == "IpAddress" and all(_narrow_network(v) for v in values):
                return True
            if name in _FIXED_KEYS and base in _FIXED_OPERATORS and not any("*" in v or "?" in v for v in values):
                return True
    return False


@dataclass(frozen=True)
class _BucketPolicy:
    statements: PolicySet  # the statements that apply to the anonymous principal, Principal removed
    public: bool  # an Allow for everyone that no fixed-value condition limits


_DENY_ALL = parse_document({"Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*"}]})


@lru_cache(maxsize=256)
def _compile(policy: bytes | None) -> _BucketPolicy:
    if not policy:
        return _BucketPolicy(PolicySet([]), False)
    try:
        document = orjson.loads(policy)
    except orjson.JSONDecodeError:
        return _BucketPolicy(PolicySet([]), False)
    if not isinstance(document, dict):
        return _BucketPolicy(PolicySet([]), False)
    version = document.get("Version")
    raw = document.get("Statement")
    kept: list[Statement] = []
    public = False
    for statement in raw if isinstance(raw, list) else [raw]:
        if not isinstance(statement, dict) or not _applies_to_anonymous(statement):
            continue
        body = {k: v for k, v in statement.items() if k not in ("Principal", "NotPrincipal")}
        wrapper: dict[str, Any] = {"Statement": [body]}
        if version is not None:
            wrapper["Version"] = version
        try:
            parsed = parse_document(wrapper)
        except AwsError:
            # A statement this engine cannot read: a Deny refuses (never more access than AWS
            # gives), an Allow allows nothing.
            if statement.get("Effect") == "Deny":
                kept.extend(_DENY_ALL)
            continue
        kept.extend(parsed)
        if statement.get("Effect") == "Allow" and not _limited(statement.get("Condition")):
            public = True
    return _BucketPolicy(PolicySet(kept), public)


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
# A versionId names one version: its own action (list_amazons3.html).
_VERSIONED = {
    "s3:GetObject": "s3:GetObjectVersion", "s3:GetObjectAcl": "s3:GetObjectVersionAcl", "s3:PutObjectAcl": "s3:PutObjectVersionAcl",
    "s3:DeleteObject": "s3:DeleteObjectVersion", "s3:GetObjectTagging": "s3:GetObjectVersionTagging",
    "s3:PutObjectTagging": "s3:PutObjectVersionTagging", "s3:DeleteObjectTagging": "s3:DeleteObjectVersionTagging",
    "s3:GetObjectAttributes": "s3:GetObjectVersionAttributes",
}
_LIST_OPERATIONS = frozenset({"ListObjects", "ListObjectsV2", "ListObjectVersions"})


def _split(route: str) -> tuple[str, str | None]:
    path = route.split("?", 1)[0].lstrip("/")
    bucket, sep, key = path.partition("/")
    return unquote(bucket), (unquote(key) if sep and key else None)


def _resource(arn: str) -> tuple[str, str | None]:
    path = arn.split(":::", 1)[1] if ":::" in arn else arn
    bucket, sep, key = path.partition("/")
    return bucket, (key if sep and key else None)


class _Evaluation:
    """One anonymous request's decisions, over the buckets it names."""

    def __init__(self, ctx: RequestContext, runtime: Runtime) -> None:
        self.ctx = ctx
        self.runtime = runtime
        self.backend = _s3(runtime)
        account = _account_block(runtime)
        self.account_ignore_acls = bool(getattr(account, "ignore_public_acls", False))
        self.account_restrict = bool(getattr(account, "restrict_public_buckets", False))
        self.version_id = ctx.request.query_one("versionId")
        self._base: dict[str, Any] | None = None

    def _context(self, policy: PolicySet, action: str, bucket: Any, key: str | None) -> dict[str, Any]:
        if self._base is None:
            request = self.ctx.request
            base = request_context(self.ctx, None, None, {"aws:principaltype": "Anonymous"})
            referer = request.headers.get("referer")
            if referer is not None:
                base["aws:referer"] = referer
            for name, value in request.headers.items():
                if name.startswith("x-amz-"):
                    base["s3:" + name] = value
            if self.version_id is not None:
                base["s3:versionid"] = self.version_id
            if self.ctx.operation_name in _LIST_OPERATIONS:
                base["s3:prefix"] = request.query_one("prefix") or ""
                for param in ("delimiter", "max-keys"):
                    given = request.query_one(param)
                    if given is not None:
                        base["s3:" + param] = given
            self._base = base
        wanted = policy.condition_keys(action)
        if key is None or not any(k.startswith("s3:existingobjecttag/") for k in wanted):
            return self._base
        context = dict(self._base)
        found = _object(bucket, key, self.version_id)
        if found is not None and self.backend is not None:
            try:
                tags = self.backend.get_object_tagging(found).get("Tags") or []
            except Exception:  # noqa: BLE001 - no tags
                tags = []
            for tag in tags:
                context[f"s3:existingobjecttag/{str(tag.get('Key', '')).lower()}"] = str(tag.get("Value", ""))
        return context

    def decide(self, action: str, arn: str) -> str:
        """ALLOWED, EXPLICIT_DENY or IMPLICIT_DENY for the anonymous principal."""
        if self.backend is None:
            return IMPLICIT_DENY
        name, key = _resource(arn)
        bucket = self.backend.buckets.get(name)
        if bucket is None:
            return ALLOWED  # S3 tells anyone that a bucket does not exist (NoSuchBucket): moto's answer
        block = getattr(bucket, "public_access_block", None)
        ignore_acls = self.account_ignore_acls or bool(getattr(block, "ignore_public_acls", False))
        restrict = self.account_restrict or bool(getattr(block, "restrict_public_buckets", False))
        policy = _compile(bucket.policy)
        if restrict and policy.public:
            return IMPLICIT_DENY  # only the account's principals and AWS services may use a public bucket
        acls = not ignore_acls and not _acls_disabled(bucket)
        decision = self._policy(policy, action, arn, bucket, key)
        if decision == EXPLICIT_DENY:
            return decision
        if key is not None and action in ("s3:GetObject", "s3:GetObjectVersion") and _object(bucket, key, self.version_id) is None:
            # No such key: 404 NoSuchKey for who may list the bucket, 403 for the others.
            listing = self._policy(policy, "s3:ListBucket", arn.split("/", 1)[0], bucket, None)
            if listing == ALLOWED or (listing == IMPLICIT_DENY and acls and _grants_all_users(bucket.acl, "READ")):
                return ALLOWED
            return IMPLICIT_DENY
        if decision == ALLOWED:
            return ALLOWED
        if acls:
            permission = _OBJECT_ACL.get(action)
            if permission is not None and key is not None:
                found = _object(bucket, key, self.version_id)
                if found is not None and _grants_all_users(found.acl, permission):
                    return ALLOWED
            permission = _BUCKET_ACL.get(action)
            if permission is not None and _grants_all_users(bucket.acl, permission):
                return ALLOWED
        return IMPLICIT_DENY

    def _policy(self, policy: _BucketPolicy, action: str, arn: str, bucket: Any, key: str | None) -> str:
        statements = policy.statements
        if not statements.statements:
            return IMPLICIT_DENY
        return statements.evaluate(action, arn, self._context(statements, action, bucket, key)).decision


def authorize_anonymous(ctx: RequestContext, runtime: Runtime) -> None:
    """Allow the anonymous request or raise 403 AccessDenied "Access Denied"; the decision goes
    to the audit log (``ctx.telemetry["authz"]``)."""
    request = ctx.request
    bucket, key = _split(request.route_path if request.route_path is not None else request.raw_path)
    params: dict[str, Any] = {"Bucket": bucket}
    if key is not None:
        params["Key"] = key
    operation = ctx.operation_name or ""
    source = request.headers.get("x-amz-copy-source")
    if source and operation in ("CopyObject", "UploadPartCopy"):
        params["CopySource"] = source
    reqs = s3_requirements(operation, params, ctx.region, ctx.account_id)
    if reqs and "versionId" in request.query:
        action, resource = reqs[0]
        reqs[0] = (_VERSIONED.get(action, action), resource)
    evaluation = _Evaluation(ctx, runtime)
    for action, resource in reqs:
        decision = evaluation.decide(action, resource)
        ctx.telemetry["authz"] = {"action": action, "resource": resource, "decision": decision}
        if decision != ALLOWED:
            raise access_denied()
    _hook_moto()


# ------------------------------------------------------------------ moto
_hooked = False


def _hook_moto() -> None:
    """moto checks anonymous object requests itself: the bucket policy, read without condition
    keys (so that a statement with a Condition refuses), then the object's ACL. The gateway has
    decided as AWS does by then, so for the requests it let in without credentials (which reach
    moto with fallback.S3_UNSIGNED_AUTHORIZATION) moto's bucket check allows."""
    global _hooked
    if _hooked:
        return
    from flask import has_request_context
    from flask import request as flask_request
    from moto.iam.access_control import PermissionResult
    from moto.s3.models import FakeBucket

    from emulator.gateway.fallback import S3_UNSIGNED_AUTHORIZATION

    original = FakeBucket.get_permission

    def get_permission(self: Any, action: str, resource: str) -> Any:
        if has_request_context() and flask_request.headers.get("Authorization") == S3_UNSIGNED_AUTHORIZATION:
            return PermissionResult.PERMITTED
        return original(self, action, resource)

    FakeBucket.get_permission = get_permission  # type: ignore[method-assign]
    _hooked = True
