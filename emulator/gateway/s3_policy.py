"""S3 bucket policies: read from moto's buckets, parsed once per policy text, and the S3
condition keys of a request; shared by the authorizer (signed callers: root, IAM users,
assumed roles, STS sessions: emulator/gateway/authorize.py) and the anonymous principal
(emulator/gateway/s3_anonymous.py).

The gateway decides every S3 request before moto serves it, so moto's own bucket-policy check
(``FakeBucket.get_permission``: the policy read without condition keys, so that a Deny whose
condition does not match refuses everyone with a bare ``403``) is turned off
(``install_moto_hook``). The one place where moto asks per object, DeleteObjects, asks the
gateway instead (``object_check``): S3 answers each key that the caller may not delete with
``AccessDenied`` in the result.

A bucket policy is an S3 resource-based policy
(https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucket-policies.html): statements
with ``Principal``/``NotPrincipal`` (``AWS``, ``Service``, ``Federated``, ``CanonicalUser``),
parsed with emulator/gateway/resource_policy.py. moto stores whatever PutBucketPolicy was
given, so a statement this engine cannot read is kept on the safe side: a Deny refuses
everything to everyone (the root user can still read, replace and delete the policy), an
Allow allows nothing.
"""

from __future__ import annotations

import calendar
import contextvars
import ipaddress
import re
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote

import orjson

from emulator.errors import AwsError
from emulator.gateway.policy import DENY, Statement, parse_document, wildcard_matches
from emulator.gateway.resource_policy import (
    Caller,
    InvalidPolicy,
    Principals,
    ResourcePolicy,
    principals_of,
)

if TYPE_CHECKING:
    from emulator.context import RequestContext
    from emulator.runtime import Runtime

S3_ARN = "arn:aws:s3:::"
_PRINCIPAL_KINDS = ("AWS", "Service", "Federated", "CanonicalUser")
# The anonymous principal, as a bucket policy names it: only "*" (or {"AWS": "*"}) does.
ANONYMOUS_CALLER = Caller(frozenset(), "")


# ------------------------------------------------------------------ moto's state
_partitions: dict[str, str] = {}
_s3_backends: Any = None  # moto's S3 BackendDict (a reset or a restore empties and refills it in place)


def partition_of(region: str) -> str:
    found = _partitions.get(region)
    if found is None:
        from moto.utilities.utils import get_partition

        found = _partitions[region] = str(get_partition(region))
    return found


def s3_backend(fallback: Any, region: str) -> Any:
    """moto's S3 backend of the emulator's account (None when S3 was never used, or without
    the fallback). Read without creating one: an account with no buckets has no policies."""
    if fallback is None:
        return None
    fallback.start()  # its saved state is loaded (a restart keeps the policies)
    global _s3_backends
    if _s3_backends is None:
        from moto.s3.models import s3_backends

        _s3_backends = s3_backends
    accounts = dict.get(_s3_backends, fallback.account_id)
    return dict.get(accounts, partition_of(region)) if isinstance(accounts, dict) else None


def bucket_of(backend: Any, name: str) -> Any:
    buckets = getattr(backend, "buckets", None)
    return buckets.get(name) if isinstance(buckets, dict) else None


def moto_serves_s3(runtime: Runtime) -> bool:
    """Whether S3 is moto's here (no native S3 handler, the fallback on)."""
    return "s3" not in runtime.handlers and runtime.fallback is not None and bool(runtime.fallback.supports("s3"))


def runtime_s3_backend(runtime: Runtime) -> Any:
    """moto's S3 backend of the runtime's account and region, or None."""
    try:
        return s3_backend(runtime.fallback, runtime.settings.region)
    except Exception:  # noqa: BLE001 - no S3 backend: no bucket
        return None


def runtime_bucket(runtime: Runtime, name: str) -> Any:
    """moto's bucket of that name, or None."""
    return bucket_of(runtime_s3_backend(runtime), name)


def object_of(bucket: Any, key: str, version_id: str | None) -> Any:
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


def split_arn(arn: str) -> tuple[str, str | None]:
    """(bucket, key or None) of an S3 ARN (``arn:aws:s3:::bucket/key``)."""
    path = arn.split(":::", 1)[1] if ":::" in arn else arn
    bucket, sep, key = path.partition("/")
    return bucket, (key if sep and key else None)


# Writes that may set the new object's ACL (x-amz-acl, x-amz-grant-*): with one, they need
# s3:PutObjectAcl too (API_PutObject.html: "To successfully change the objects ACL of your
# PutObject request, you must have the s3:PutObjectAcl"; the same for CopyObject and
# CreateMultipartUpload).
ACL_ON_WRITE = frozenset({"PutObject", "CopyObject", "CreateMultipartUpload"})
ACL_MEMBERS = ("ACL", "GrantFullControl", "GrantRead", "GrantReadACP", "GrantWriteACP")
_GRANT_HEADERS = (("x-amz-grant-full-control", "GrantFullControl"), ("x-amz-grant-read", "GrantRead"),
                  ("x-amz-grant-read-acp", "GrantReadACP"), ("x-amz-grant-write-acp", "GrantWriteACP"))


def request_params(ctx: RequestContext) -> dict[str, Any]:
    """What S3's IAM resources are made of, read from the request line and headers (no body
    parse): ``Bucket``, ``Key``, ``CopySource`` and ``VersionId``."""
    request = ctx.request
    path = (request.route_path if request.route_path is not None else request.raw_path).split("?", 1)[0].lstrip("/")
    bucket, sep, key = path.partition("/")
    params: dict[str, Any] = {"Bucket": unquote(bucket)}
    if sep and key:
        params["Key"] = unquote(key)
    source = request.headers.get("x-amz-copy-source")
    if source and ctx.operation_name in ("CopyObject", "UploadPartCopy"):
        params["CopySource"] = source
    if ctx.operation_name in ACL_ON_WRITE:
        headers = request.headers
        acl = headers.get("x-amz-acl")
        if acl:
            params["ACL"] = acl
        for header, member in _GRANT_HEADERS:
            if header in headers:
                params[member] = headers[header]
    if request.query_string:
        version = request.query_one("versionId")
        if version:
            params["VersionId"] = version
    return params


# ------------------------------------------------------------------ the policy
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
class BucketPolicy:
    policy: ResourcePolicy  # every statement, with the principals it names
    public: bool  # an Allow for everyone that no fixed-value condition limits


_EVERYONE = Principals(anyone=True)
_DENY_ALL = parse_document({"Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*"}]})[0]


def compile_policy(text: bytes | str, owner: str) -> BucketPolicy:
    """Parse a bucket policy (of a bucket of account ``owner``) as stored, statement by
    statement (see the module docstring for the statements that cannot be read)."""
    empty = BucketPolicy(ResourcePolicy(text if isinstance(text, str) else text.decode("utf-8", "replace"), [], owner), False)
    try:
        document = orjson.loads(text)
    except orjson.JSONDecodeError:
        return empty
    if not isinstance(document, dict):
        return empty
    version = document.get("Version")
    raw = document.get("Statement")
    statements: list[tuple[Principals, bool, Statement]] = []
    public = False
    for statement in raw if isinstance(raw, list) else [raw]:
        if not isinstance(statement, dict):
            continue
        deny = statement.get("Effect") == DENY
        negated = "NotPrincipal" in statement
        body = {k: v for k, v in statement.items() if k not in ("Principal", "NotPrincipal")}
        wrapper: dict[str, Any] = {"Statement": [body]}
        if version is not None:
            wrapper["Version"] = version
        try:
            if negated == ("Principal" in statement):
                raise InvalidPolicy("a statement names its principals with one of Principal and NotPrincipal")
            principals = principals_of(statement["NotPrincipal" if negated else "Principal"], "NotPrincipal" if negated else "Principal", _PRINCIPAL_KINDS)
            parsed = parse_document(wrapper)[0]
        except (InvalidPolicy, AwsError):
            if deny:  # never more access than AWS gives
                statements.append((_EVERYONE, False, _DENY_ALL))
            continue
        statements.append((principals, negated, parsed))
        if not deny and _applies_to_anonymous(statement) and not _limited(statement.get("Condition")):
            public = True
    return BucketPolicy(ResourcePolicy(empty.policy.text, statements, owner), public)


# ------------------------------------------------------------------ PutBucketPolicy
MAX_POLICY_BYTES = 20 * 1024  # a bucket policy's size limit (S3 user guide, "Bucket policies")
_S3_RESOURCE = re.compile(r"arn:aws[a-z-]*:s3:::([^/]*)(?:/.*)?", re.DOTALL)
_S3_ACTION = re.compile(r"s3:[A-Za-z0-9*?]+", re.IGNORECASE)


def _malformed(message: str) -> AwsError:
    return AwsError("MalformedPolicy", message, 400)


def check_bucket_policy(text: bytes | str, bucket: str) -> None:
    """Refuse a bucket policy as S3's PutBucketPolicy does (``400 MalformedPolicy``), so that
    what moto stores is a policy S3 would have stored: JSON whose first character is ``{``; a
    Statement (object or non-empty list) of objects, each with Effect Allow or Deny, Principal
    or NotPrincipal (``*`` or the principal types S3 knows), Action or NotAction
    (``*`` or ``s3:...``), Resource or NotResource naming this bucket or its objects, and a
    Condition block that emulator/gateway/policy.py can read. The messages are S3's where they
    are known ("Policies must be valid JSON and the first byte must be '{'", "Missing required
    field Principal", "Invalid principal in policy", "Policy has invalid action", "Policy has
    invalid resource", "Invalid effect: ...")."""
    raw = text.encode("utf-8") if isinstance(text, str) else bytes(text)
    if len(raw) > MAX_POLICY_BYTES:
        raise _malformed(f"Policy exceeds the maximum allowed document size: {len(raw)} bytes, of {MAX_POLICY_BYTES}.")
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError:
        document = None
    if not raw.lstrip().startswith(b"{") or not isinstance(document, dict):
        raise _malformed("Policies must be valid JSON and the first byte must be '{'")
    version = document.get("Version")
    if version is not None and version not in ("2012-10-17", "2008-10-17"):
        raise _malformed(f"Invalid policy syntax: Version must be 2012-10-17 or 2008-10-17, not {version!r}.")
    if "Statement" not in document:
        raise _malformed("Missing required field Statement")
    raw_statements = document["Statement"]
    statements = raw_statements if isinstance(raw_statements, list) else [raw_statements]
    if not statements:
        raise _malformed("Could not parse the policy: Statement is empty!")
    for statement in statements:
        _check_statement(statement, bucket, version)


def _check_statement(statement: Any, bucket: str, version: Any) -> None:
    if not isinstance(statement, dict):
        raise _malformed("Invalid policy syntax: each Statement must be a JSON object.")
    if "Effect" not in statement:
        raise _malformed("Missing required field Effect")
    if statement["Effect"] not in ("Allow", "Deny"):
        raise _malformed(f"Invalid effect: {statement['Effect']}")
    if "Principal" not in statement and "NotPrincipal" not in statement:
        raise _malformed("Missing required field Principal")
    if "Principal" in statement and "NotPrincipal" in statement:
        raise _malformed("Invalid policy syntax: a Statement has either Principal or NotPrincipal, not both.")
    if not _principal_shape(statement.get("Principal", statement.get("NotPrincipal"))):
        raise _malformed("Invalid principal in policy")
    if "Action" not in statement and "NotAction" not in statement:
        raise _malformed("Missing required field Action")
    for action in _policy_strings(statement.get("Action", statement.get("NotAction"))):
        if action != "*" and _S3_ACTION.fullmatch(action) is None:
            raise _malformed("Policy has invalid action")
    if "Resource" not in statement and "NotResource" not in statement:
        raise _malformed("Missing required field Resource")
    for resource in _policy_strings(statement.get("Resource", statement.get("NotResource"))):
        found = _S3_RESOURCE.fullmatch(resource) if resource != "*" else None
        if resource != "*" and (found is None or not _bucket_matches(found.group(1), bucket)):
            raise _malformed("Policy has invalid resource")
    body = {k: v for k, v in statement.items() if k not in ("Principal", "NotPrincipal")}
    try:
        parse_document({"Version": version or "2008-10-17", "Statement": [body]})
    except AwsError as exc:  # its Condition block, say: the parser tells what is wrong
        raise _malformed(exc.message) from None


# An "AWS" principal: "*", an account, an ARN (users, roles, sessions, CloudFront's origin
# access identities: arn:aws:iam::cloudfront:user/...) or a unique id (AIDA..., AROA...).
_AWS_PRINCIPAL = re.compile(r"\*|\d{12}|arn:aws[a-z-]*:(?:iam|sts)::[^:]+:.+|[A-Z0-9]{16,128}", re.DOTALL)


def _principal_shape(value: Any) -> bool:
    """Whether a Principal element is one S3 can read: "*", or {type: name or names} with the
    types S3 knows; the names' existence is not checked (the emulator has one account)."""
    if value == "*":
        return True
    if not isinstance(value, dict) or not value:
        return False
    for kind, names in value.items():
        listed = names if isinstance(names, list) else [names]
        if kind not in _PRINCIPAL_KINDS or not listed or not all(isinstance(n, str) and n for n in listed):
            return False
        if kind == "AWS" and not all(_AWS_PRINCIPAL.fullmatch(n) for n in listed):
            return False
    return True


def _policy_strings(value: Any) -> list[str]:
    items = value if isinstance(value, list) else [value]
    if not items or not all(isinstance(item, str) and item for item in items):
        raise _malformed("Invalid policy syntax: Action and Resource must be strings or lists of strings.")
    return items


def _bucket_matches(pattern: str, bucket: str) -> bool:
    """Whether a resource's bucket part (wildcards allowed) names ``bucket``."""
    if "*" not in pattern and "?" not in pattern:
        return pattern == bucket
    return wildcard_matches(pattern, bucket)  # linear time: the pattern is a user's


# bucket name -> (the policy text it was compiled from, the policy)
_compiled: dict[str, tuple[bytes | str, BucketPolicy]] = {}


def policy_of(bucket: Any, owner: str) -> BucketPolicy | None:
    """The bucket's policy, parsed once per policy text (None: the bucket has none)."""
    text = bucket.policy
    if not text:
        return None
    name = str(bucket.name)
    found = _compiled.get(name)
    if found is not None and (found[0] is text or found[0] == text) and found[1].policy.owner == owner:
        return found[1]
    compiled = compile_policy(text, owner)
    if len(_compiled) >= 4096:
        _compiled.clear()
    _compiled[name] = (text, compiled)
    return compiled


def governed(fallback: Any, region: str, owner: str, reqs: list[tuple[str, str]]) -> list[tuple[str, ResourcePolicy] | None] | None:
    """For each (action, resource) of a request: None, or the resource and its bucket's policy.
    None when no bucket named has a policy (one lookup per bucket)."""
    out: list[tuple[str, ResourcePolicy] | None] | None = None
    backend: Any = None
    for i, (_, resource) in enumerate(reqs):
        if not resource.startswith(S3_ARN):
            continue
        if backend is None:
            backend = s3_backend(fallback, region)
            if backend is None:
                return None
        bucket = bucket_of(backend, split_arn(resource)[0])
        found = policy_of(bucket, owner) if bucket is not None else None
        if found is not None:
            if out is None:
                out = [None] * len(reqs)
            out[i] = (resource, found.policy)
    return out


# ------------------------------------------------------------------ condition keys
_LIST_OPERATIONS = frozenset({"ListObjects", "ListObjectsV2", "ListObjectVersions"})
# S3 keys named otherwise than their header (list_amazons3.html, "Condition keys").
_HEADER_KEYS = {
    "x-amz-object-lock-mode": "s3:object-lock-mode",
    "x-amz-object-lock-retain-until-date": "s3:object-lock-retain-until-date",
    "x-amz-object-lock-legal-hold": "s3:object-lock-legal-hold",
}
_SIGNING_QUERY = ("X-Amz-Signature", "Signature")
_POST_SIGNING = frozenset({"x-amz-algorithm", "x-amz-credential", "x-amz-date", "x-amz-signature", "x-amz-security-token"})


def _amz_date(text: str) -> float | None:
    """Seconds since the epoch of an ISO 8601 basic time (``20250101T120000Z``)."""
    if len(text) != 16 or text[8] != "T" or text[15] != "Z" or not (text[:8] + text[9:15]).isdigit():
        return None
    try:
        return float(calendar.timegm((int(text[:4]), int(text[4:6]), int(text[6:8]), int(text[9:11]), int(text[11:13]), int(text[13:15]), 0, 0, 0)))
    except (ValueError, OverflowError):
        return None


def request_keys(ctx: RequestContext, needed: Collection[str] | None = None) -> dict[str, Any]:
    """The S3 condition keys of a request (lower-cased; AWS's list:
    https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html),
    and aws:Referer: every ``x-amz-*`` header as ``s3:x-amz-*`` (s3:x-amz-server-side-encryption,
    s3:x-amz-acl, s3:x-amz-content-sha256, ...), the object-lock keys, s3:versionid,
    s3:prefix/s3:delimiter/s3:max-keys for listings, s3:RequestObjectTag/<key> and
    s3:RequestObjectTagKeys (the x-amz-tagging header), s3:authType, s3:signatureversion,
    s3:signatureAge (SigV4) and s3:ResourceAccount. ``needed``: the keys wanted (None: all);
    the others may be left out."""
    request = ctx.request
    headers = request.headers
    out: dict[str, Any] = {}
    for name, value in headers.items():
        if name.startswith("x-amz-"):
            out["s3:" + name] = value
            alias = _HEADER_KEYS.get(name)
            if alias is not None:
                out[alias] = value
    referer = headers.get("referer")
    if referer is not None:
        out["aws:referer"] = referer
    tagging = headers.get("x-amz-tagging")
    if tagging is not None and (needed is None or any(k.startswith("s3:requestobjecttag") for k in needed)):
        pairs = parse_qsl(tagging, keep_blank_values=True)
        for key, value in pairs:
            out[f"s3:requestobjecttag/{key.lower()}"] = value
        out["s3:requestobjecttagkeys"] = [key for key, _ in pairs]
    version = request.query_one("versionId") if request.query_string else None
    if version is not None:
        out["s3:versionid"] = version
    if ctx.operation_name in _LIST_OPERATIONS:
        out["s3:prefix"] = request.query_one("prefix") or ""
        for param in ("delimiter", "max-keys"):
            given = request.query_one(param)
            if given is not None:
                out["s3:" + param] = given
    out["s3:resourceaccount"] = out["aws:resourceaccount"] = ctx.account_id
    authorization = headers.get("authorization")
    amz_date: str | None = None
    if authorization is not None:
        out["s3:authtype"] = "REST-HEADER"
        out["s3:signatureversion"] = "AWS4-HMAC-SHA256" if authorization.startswith("AWS4-") else "AWS"
        amz_date = headers.get("x-amz-date") if authorization.startswith("AWS4-") else None
    elif request.query_string and any(request.query_one(name) is not None for name in _SIGNING_QUERY):
        out["s3:authtype"] = "REST-QUERY-STRING"
        sigv4 = request.query_one("X-Amz-Algorithm") is not None
        out["s3:signatureversion"] = "AWS4-HMAC-SHA256" if sigv4 else "AWS"
        amz_date = request.query_one("X-Amz-Date") if sigv4 else None
    elif request.post_fields is not None:  # a browser upload: its form fields are its headers
        fields = request.post_fields
        for name, value in fields.items():
            if name.startswith("x-amz-") and name not in _POST_SIGNING:
                out["s3:" + name] = value
        if "acl" in fields:
            out["s3:x-amz-acl"] = fields["acl"]
        out["s3:authtype"] = "POST"
        out["s3:signatureversion"] = "AWS4-HMAC-SHA256" if "x-amz-algorithm" in fields else "AWS"
    if amz_date and (needed is None or "s3:signatureage" in needed):
        signed = _amz_date(amz_date)
        if signed is not None:
            out["s3:signatureage"] = str(max(0, int((time.time() - signed) * 1000)))
    return out


_UPLOAD_OPERATIONS = frozenset({"UploadPart", "UploadPartCopy", "CompleteMultipartUpload"})
_SSE_KEYS = ("s3:x-amz-server-side-encryption", "s3:x-amz-server-side-encryption-aws-kms-key-id")


def wants_stored_keys(ctx: RequestContext, needed: Collection[str] | None) -> bool:
    """Whether ``stored_keys`` has any of the keys wanted (``needed`` None: all)."""
    if needed is None:
        return True
    return any(k.startswith("s3:existingobjecttag/") for k in needed) or (ctx.operation_name in _UPLOAD_OPERATIONS and any(k in needed for k in _SSE_KEYS))


def stored_keys(ctx: RequestContext, backend: Any, bucket: Any, key: str | None, version_id: str | None) -> dict[str, str]:
    """The condition keys read from moto's state: s3:ExistingObjectTag/<key>, the tags of the
    object named (none when it does not exist); and for the parts and the completion of a
    multipart upload, which carry no encryption headers, the server-side encryption that
    CreateMultipartUpload asked for (s3:x-amz-server-side-encryption[-aws-kms-key-id])."""
    if key is None or backend is None or bucket is None:
        return {}
    out: dict[str, str] = {}
    found = object_of(bucket, key, version_id)
    if found is not None:
        try:
            tags = backend.get_object_tagging(found).get("Tags") or []
        except Exception:  # noqa: BLE001 - moto could not read them: none
            tags = []
        out.update({f"s3:existingobjecttag/{str(tag.get('Key', '')).lower()}": str(tag.get("Value", "")) for tag in tags})
    upload_id = ctx.request.query_one("uploadId") if ctx.operation_name in _UPLOAD_OPERATIONS else None
    if upload_id:
        multiparts = getattr(bucket, "multiparts", None)
        upload = multiparts.get(upload_id) if isinstance(multiparts, dict) else None
        sse = getattr(upload, "sse_encryption", None)
        if isinstance(sse, str) and sse:
            out[_SSE_KEYS[0]] = sse
            kms = getattr(upload, "kms_key_id", None)
            if isinstance(kms, str) and kms:
                out[_SSE_KEYS[1]] = kms
    return out


# ------------------------------------------------------------------ moto
# The gateway's per-object decision for a DeleteObjects request (set by the authorizer in the
# request's context, which asyncio.to_thread carries into moto's worker thread): (action,
# resource) -> allowed.
_object_check: contextvars.ContextVar[Callable[[str, str], bool] | None] = contextvars.ContextVar("s3_object_check", default=None)


def object_check(check: Callable[[str, str], bool] | None) -> None:
    """Decide DeleteObjects' keys with ``check`` (the request's context only)."""
    _object_check.set(check)


_hooked = False


def install_moto_hook() -> None:
    """Turn moto's own bucket-policy check off: it reads the policy without condition keys, so a
    Deny whose Condition does not match refuses everyone (a bare ``403 Forbidden``), and it
    would refuse anonymous requests that the gateway allowed. The gateway has decided, as AWS
    does, before moto serves a request; for DeleteObjects moto asks about each key, and the
    gateway's answer is given (``object_check``)."""
    global _hooked
    if _hooked:
        return
    from moto.iam.access_control import PermissionResult
    from moto.s3.models import FakeBucket

    def get_permission(self: Any, action: str, resource: str) -> Any:
        check = _object_check.get()
        if check is not None and action == "s3:DeleteObject" and not check(action, resource):
            return PermissionResult.DENIED
        return PermissionResult.PERMITTED

    FakeBucket.get_permission = get_permission  # type: ignore[method-assign]
    _hooked = True
