"""S3: requests refused as S3 refuses them, before moto sees them (emulator/gateway/fallback_checks.py).

S3 words its errors its own way (InvalidArgument with ArgumentName/ArgumentValue, MalformedXML
for a body that does not validate against its schema, InvalidRequest, InvalidTag), so these
checks read the request (headers, query string, XML body) themselves: the gateway's shape
validation does not run for S3. Bucket configurations are checked as S3 checks them: moto
stores lifecycle rules with negative days, a versioning status that is not one, more tags than
S3 allows, and the mistake shows only once deployed to AWS.
"""

from __future__ import annotations

import datetime as dt
import functools
import ipaddress
import re
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote

from emulator.errors import AwsError
from emulator.gateway.fallback_checks import _digits, _on, _regions

if TYPE_CHECKING:
    from emulator.context import RequestContext

# The canned ACLs (S3's x-amz-acl header; botocore's BucketCannedACL/ObjectCannedACL enums):
# S3 refuses another with InvalidArgument naming the header.
_CANNED_ACLS = frozenset({
    "private", "public-read", "public-read-write", "authenticated-read", "aws-exec-read",
    "bucket-owner-read", "bucket-owner-full-control", "log-delivery-write",
})
_INT_MAX = 2147483647
_MALFORMED_XML = "The XML you provided was not well-formed or did not validate against our published schema"


def _s3_argument(name: str, value: str, message: str) -> AwsError:
    """S3's InvalidArgument error, which names the argument and its value."""
    return AwsError("InvalidArgument", message, 400, extra={"ArgumentName": name, "ArgumentValue": value})


def _malformed() -> AwsError:
    return AwsError("MalformedXML", _MALFORMED_XML, 400)


def _payload(ctx: RequestContext, operation_name: str) -> Any:
    """The XML body of an S3 request, read as ``operation_name``'s payload (None without a
    body). A body that does not fit the payload's shape (not XML, a number that is not one) is
    S3's MalformedXML."""
    from emulator import services
    from emulator.protocols import get_protocol
    from emulator.protocols.rest import RestProtocol

    operation = services.operation_model("s3", operation_name)
    shape = operation.input_shape if operation is not None else None
    payload = shape.serialization.get("payload") if shape is not None else None
    protocol = get_protocol("rest-xml")
    if shape is None or payload is None or not ctx.request.body.strip() or not isinstance(protocol, RestProtocol):
        return None
    try:
        return protocol.decode_body(shape.members[payload], ctx.request.body, False)
    except AwsError:
        raise _malformed() from None


@_on("s3", "PutObject", "PutObjectAcl", "PutBucketAcl", "CreateBucket", "CopyObject", "CreateMultipartUpload")
def _s3_canned_acl(ctx: RequestContext) -> None:
    acl = ctx.request.headers.get("x-amz-acl")
    if acl is not None and acl not in _CANNED_ACLS:
        raise _s3_argument("x-amz-acl", acl, f"The canned ACL '{acl}' is not valid; it must be one of: {', '.join(sorted(_CANNED_ACLS))}.")


_S3_MAXIMA = {"ListObjects": "max-keys", "ListObjectsV2": "max-keys", "ListObjectVersions": "max-keys", "ListMultipartUploads": "max-uploads"}


@_on("s3", *_S3_MAXIMA)
def _s3_max_keys(ctx: RequestContext) -> None:
    """S3: ``InvalidArgument: Provided max-keys not an integer or within integer range``."""
    name = _S3_MAXIMA[ctx.operation_name or ""]
    value = ctx.request.query_one(name) if ctx.request.query_string else None
    if value is not None and not (_digits(value) and int(value) <= _INT_MAX):
        raise _s3_argument(name, value, f"Provided {name} not an integer or within integer range")


@_on("s3", "CopyObject", "UploadPartCopy")
def _s3_copy_source(ctx: RequestContext) -> None:
    """x-amz-copy-source is ``bucket/key`` (URL-encoded, maybe ``?versionId=``) or an access
    point's ARN; S3 refuses one without a key with InvalidArgument naming the header."""
    source = ctx.request.headers.get("x-amz-copy-source")
    if source is None:
        return
    path = unquote(source.split("?", 1)[0]).lstrip("/")
    if path.startswith("arn:"):
        return
    bucket, _, key = path.partition("/")
    if not bucket:
        raise _s3_argument("x-amz-copy-source", source, "Invalid copy source bucket name")
    if not key:
        raise _s3_argument("x-amz-copy-source", source, "Invalid copy source object key")


@_on("s3", "PutBucketNotificationConfiguration", "PutBucketNotification")
def _s3_notification_filters(ctx: RequestContext) -> None:
    """A filter rule's Name is ``prefix`` or ``suffix`` (the FilterRuleName enum); S3:
    ``InvalidArgument: filter rule name must be either prefix or suffix`` (FilterRule.Name).
    (The deprecated PutBucketNotification has the same request line: the body is read as the
    current operation's.) Destinations that do not exist: fallback_patches.py."""
    try:
        config = _payload(ctx, "PutBucketNotificationConfiguration") or {}
    except AwsError:
        return  # malformed XML: moto answers MalformedXML
    for kind in ("TopicConfigurations", "QueueConfigurations", "LambdaFunctionConfigurations"):
        for item in config.get(kind) or []:
            rules = (((item or {}).get("Filter") or {}).get("Key") or {}).get("FilterRules") or []
            for rule in rules:
                name = str((rule or {}).get("Name", ""))
                if name not in ("prefix", "suffix"):
                    raise _s3_argument("FilterRule.Name", name, "filter rule name must be either prefix or suffix")


# ------------------------------------------------------------------ new buckets
_BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")


def _ip_address(name: str) -> bool:
    try:
        ipaddress.IPv4Address(name)
    except ValueError:
        return False
    return True


@_on("s3", "CreateBucket")
def _s3_new_bucket(ctx: RequestContext) -> None:
    """A bucket's name: 3 to 63 lower-case letters, digits, dots and hyphens, beginning and
    ending with a letter or digit, without two adjacent dots, not an IP address (S3:
    ``InvalidBucketName: The specified bucket is not valid.``; moto checked the length only).
    Its LocationConstraint is a region (``InvalidLocationConstraint``)."""
    from emulator.gateway.s3_policy import request_params

    name = str(request_params(ctx).get("Bucket") or "")
    if name and (_BUCKET_NAME.fullmatch(name) is None or ".." in name or _ip_address(name)):
        raise AwsError("InvalidBucketName", "The specified bucket is not valid.", 400, extra={"BucketName": name})
    config = _payload(ctx, "CreateBucket")
    location = config.get("LocationConstraint") if isinstance(config, dict) else None
    if isinstance(location, str) and location and location != "EU" and location not in _regions("s3"):
        raise AwsError("InvalidLocationConstraint", "The specified location-constraint is not valid", 400, extra={"LocationConstraint": location})


# ------------------------------------------------------------------ lifecycle
_LIFECYCLE_RULES = 1000
_TRANSITION_CLASSES = frozenset({"GLACIER", "STANDARD_IA", "ONEZONE_IA", "INTELLIGENT_TIERING", "DEEP_ARCHIVE", "GLACIER_IR"})
_ACTIONS = ("Expiration", "Transitions", "NoncurrentVersionExpiration", "NoncurrentVersionTransitions", "AbortIncompleteMultipartUpload")


def _positive(value: Any, field: str, action: str) -> None:
    """S3: ``InvalidArgument: 'Days' for Expiration action must be a positive integer``."""
    if isinstance(value, int) and value <= 0:
        raise AwsError("InvalidArgument", f"'{field}' for {action} action must be a positive integer", 400)


def _not_negative(value: Any, field: str, action: str) -> None:
    """A transition may happen on the day the object is created (Days 0), not before it."""
    if isinstance(value, int) and value < 0:
        raise AwsError("InvalidArgument", f"'{field}' for {action} action must be a nonnegative integer", 400)


def _midnight(value: Any) -> None:
    """Lifecycle dates are midnight UTC: ``InvalidArgument: 'Date' must be at midnight GMT``."""
    if isinstance(value, dt.datetime):
        utc = value.astimezone(dt.UTC) if value.tzinfo is not None else value
        if (utc.hour, utc.minute, utc.second, utc.microsecond) != (0, 0, 0, 0):
            raise AwsError("InvalidArgument", "'Date' must be at midnight GMT", 400)


@_on("s3", "PutBucketLifecycleConfiguration", "PutBucketLifecycle")
def _s3_lifecycle(ctx: RequestContext) -> None:
    """PutBucketLifecycleConfiguration, as S3 checks it: first against its schema (MalformedXML:
    1 to 1,000 rules, a Status of Enabled or Disabled, an Expiration with one of Date, Days and
    ExpiredObjectDeleteMarker, a transition with one of Date and Days and a storage class it
    transitions to), then each rule (an ID of 255 characters at most, unique; an action at
    least; positive numbers of days; dates at midnight UTC)."""
    config = _payload(ctx, "PutBucketLifecycleConfiguration")
    if not isinstance(config, dict):
        return
    rules = config.get("Rules") or []
    if not rules or len(rules) > _LIFECYCLE_RULES:
        raise _malformed()
    for rule in rules:
        if not isinstance(rule, dict) or rule.get("Status") not in ("Enabled", "Disabled"):
            raise _malformed()
        expiration = rule.get("Expiration")
        if expiration is not None and sum(expiration.get(k) is not None for k in ("Date", "Days", "ExpiredObjectDeleteMarker")) != 1:
            raise _malformed()
        for transition in rule.get("Transitions") or []:
            if sum(transition.get(k) is not None for k in ("Date", "Days")) != 1 or transition.get("StorageClass") not in _TRANSITION_CLASSES:
                raise _malformed()
        for transition in rule.get("NoncurrentVersionTransitions") or []:
            if transition.get("StorageClass") not in _TRANSITION_CLASSES:
                raise _malformed()
    ids: set[str] = set()
    for rule in rules:
        rule_id = rule.get("ID")
        if isinstance(rule_id, str):
            if len(rule_id) > 255:
                raise AwsError("InvalidArgument", "ID length should not exceed allowed limit of 255", 400)
            if rule_id in ids:
                raise AwsError("InvalidArgument", "Rule ID must be unique. Found same ID for more than one rule", 400)
            ids.add(rule_id)
        if not any(rule.get(action) for action in _ACTIONS):
            raise AwsError("InvalidRequest", "At least one action needs to be specified in a rule", 400)
        expiration = rule.get("Expiration") or {}
        _positive(expiration.get("Days"), "Days", "Expiration")
        _midnight(expiration.get("Date"))
        for transition in rule.get("Transitions") or []:
            _not_negative(transition.get("Days"), "Days", "Transition")
            _midnight(transition.get("Date"))
        _positive((rule.get("NoncurrentVersionExpiration") or {}).get("NoncurrentDays"), "NoncurrentDays", "NoncurrentVersionExpiration")
        for transition in rule.get("NoncurrentVersionTransitions") or []:
            _not_negative(transition.get("NoncurrentDays"), "NoncurrentDays", "NoncurrentVersionTransition")
        _positive((rule.get("AbortIncompleteMultipartUpload") or {}).get("DaysAfterInitiation"), "DaysAfterInitiation", "AbortIncompleteMultipartUpload")


# ------------------------------------------------------------------ CORS
@_on("s3", "PutBucketCors")
def _s3_cors(ctx: RequestContext) -> None:
    """A CORS rule names its origins and methods (MalformedXML without them; moto checks the
    methods it knows); an origin or an allowed header has one wildcard at most. S3:
    ``InvalidRequest: AllowedOrigin "http://*.*.com" can not have more than one wildcard.``"""
    config = _payload(ctx, "PutBucketCors")
    if not isinstance(config, dict):
        return
    for rule in config.get("CORSRules") or []:
        if not isinstance(rule, dict) or not rule.get("AllowedOrigins") or not rule.get("AllowedMethods"):
            raise _malformed()
        for field, member in (("AllowedOrigin", "AllowedOrigins"), ("AllowedHeader", "AllowedHeaders")):
            for value in rule.get(member) or []:
                if isinstance(value, str) and value.count("*") > 1:
                    raise AwsError("InvalidRequest", f'{field} "{value}" can not have more than one wildcard.', 400)


# ------------------------------------------------------------------ versioning
@_on("s3", "PutBucketVersioning")
def _s3_versioning(ctx: RequestContext) -> None:
    """Status is Enabled or Suspended, MFADelete Enabled or Disabled (S3's schema: MalformedXML;
    moto stored any status)."""
    config = _payload(ctx, "PutBucketVersioning")
    if not isinstance(config, dict):
        return
    if config.get("Status") not in (None, "Enabled", "Suspended") or config.get("MFADelete") not in (None, "Enabled", "Disabled"):
        raise _malformed()


# ------------------------------------------------------------------ tags
_BUCKET_TAGS = 50
_OBJECT_TAGS = 10


def _tag_set(tags: list[tuple[str, str]], most: int, bucket: bool) -> None:
    """S3's tag rules: keys of 128 characters at most, values of 256, each key once, and at
    most 50 tags on a bucket, 10 on an object."""
    if len(tags) > most:
        if bucket:
            raise AwsError("InvalidTag", f"Bucket tag count cannot be greater than {most}", 400)
        raise AwsError("BadRequest", f"Object tags cannot be greater than {most}", 400)
    keys: set[str] = set()
    for key, value in tags:
        if len(key) > 128:
            raise AwsError("InvalidTag", "The TagKey you have provided is too long, max 128", 400)
        if len(value) > 256:
            raise AwsError("InvalidTag", "The TagValue you have provided is too long, max 256", 400)
        if key in keys:
            raise AwsError("InvalidTag", "Cannot provide multiple Tags with the same key", 400)
        keys.add(key)


@_on("s3", "PutBucketTagging", "PutObjectTagging")
def _s3_tagging(ctx: RequestContext) -> None:
    config = _payload(ctx, ctx.operation_name or "")
    if not isinstance(config, dict):
        return
    tags = [(str(t.get("Key", "")), str(t.get("Value", ""))) for t in config.get("TagSet") or [] if isinstance(t, dict)]
    bucket = ctx.operation_name == "PutBucketTagging"
    _tag_set(tags, _BUCKET_TAGS if bucket else _OBJECT_TAGS, bucket)


@_on("s3", "PutObject", "CreateMultipartUpload", "CopyObject")
def _s3_tagging_header(ctx: RequestContext) -> None:
    """The x-amz-tagging header (a query string of tags) follows the object's tag rules."""
    header = ctx.request.headers.get("x-amz-tagging")
    if header:
        _tag_set(parse_qsl(header, keep_blank_values=True), _OBJECT_TAGS, False)


# ------------------------------------------------------------------ enums S3 checks (botocore's model)
@functools.cache
def _enum(shape: str) -> frozenset[str]:
    """The values of one of S3's enum shapes (botocore's model)."""
    from emulator import services

    operation = services.operation_model("s3", "PutObject")
    model = operation.service_model if operation is not None else None
    return frozenset(model.shape_for(shape).enum) if model is not None else frozenset()


def _enum_member(value: Any, shape: str) -> None:
    """A value of a body's enum member that is not one: S3's schema refuses it (MalformedXML)."""
    if value is not None and _enum(shape) and value not in _enum(shape):
        raise _malformed()


@_on("s3", "PutObject", "CopyObject", "CreateMultipartUpload")
def _s3_sse_header(ctx: RequestContext) -> None:
    """x-amz-server-side-encryption names an encryption S3 has (AES256, aws:kms...)."""
    value = ctx.request.headers.get("x-amz-server-side-encryption")
    if value is not None and _enum("ServerSideEncryption") and value not in _enum("ServerSideEncryption"):
        raise _s3_argument("x-amz-server-side-encryption", value, "The encryption method specified is not supported")


# A KMS key as S3 takes it (x-amz-server-side-encryption-aws-kms-key-id): a key id (a UUID, or a
# multi-Region key's mrk-...), an alias or an ARN of either.
_KMS_KEY = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32}|alias/[A-Za-z0-9/_-]+|arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:(key|alias)/.+")


@_on("s3", "PutObject", "CopyObject", "CreateMultipartUpload")
def _s3_kms_key(ctx: RequestContext) -> None:
    """A KMS key that cannot be one is KMS's error, which S3 passes on prefixed
    (``KMS.NotFoundException: Invalid keyId ...``); moto stored the object "encrypted" with it."""
    value = ctx.request.headers.get("x-amz-server-side-encryption-aws-kms-key-id")
    encryption = ctx.request.headers.get("x-amz-server-side-encryption") or ""
    if value is not None and encryption.startswith("aws:kms") and _KMS_KEY.fullmatch(value) is None:
        raise AwsError("KMS.NotFoundException", f"Invalid keyId {value}", 400)


_GRANT_HEADERS = ("x-amz-grant-read", "x-amz-grant-write", "x-amz-grant-read-acp", "x-amz-grant-write-acp", "x-amz-grant-full-control")
# One grantee of a grant header: id="...", uri="...", emailAddress="..." (quotes optional).
_GRANTEE = re.compile(r'\s*(id|uri|emailAddress)=("[^"]*"|[^",]*)\s*')


@_on("s3", "PutBucketAcl", "PutObjectAcl", "PutObject", "CopyObject", "CreateMultipartUpload", "CreateBucket")
def _s3_grant_headers(ctx: RequestContext) -> None:
    """Each x-amz-grant-* header is a comma-separated list of ``type=value`` grantees; S3:
    ``InvalidArgument: Argument format not recognized`` naming the header."""
    for header in _GRANT_HEADERS:
        value = ctx.request.headers.get(header)
        if value is not None and any(_GRANTEE.fullmatch(part) is None for part in value.split(",")):
            raise _s3_argument(header, value, "Argument format not recognized")


@_on("s3", "GetObject", "HeadObject")
def _s3_part_number(ctx: RequestContext) -> None:
    value = ctx.request.query_one("partNumber") if ctx.request.query_string else None
    if value is not None and not (_digits(value) and 1 <= int(value) <= 10000):
        raise _s3_argument("partNumber", value, "Part number must be an integer between 1 and 10000, inclusive")


@_on("s3", "ListObjects", "ListObjectsV2", "ListObjectVersions", "ListMultipartUploads")
def _s3_encoding_type(ctx: RequestContext) -> None:
    value = ctx.request.query_one("encoding-type") if ctx.request.query_string else None
    if value is not None and value not in _enum("EncodingType"):
        raise _s3_argument("encoding-type", value, "Invalid Encoding Method specified in Request")


@_on("s3", "GetObjectAttributes")
def _s3_object_attributes(ctx: RequestContext) -> None:
    value = ctx.request.headers.get("x-amz-object-attributes")
    if value is not None and any(name.strip() not in _enum("ObjectAttributes") for name in value.split(",")):
        raise _s3_argument("x-amz-object-attributes", value, "Invalid attribute name specified.")


# The headers of a copy that change something of the object (its metadata is replaced with
# REPLACE): S3 refuses a copy of an object onto itself without one of them.
_COPY_CHANGES = ("x-amz-storage-class", "x-amz-website-redirect-location", "x-amz-server-side-encryption",
                 "x-amz-server-side-encryption-aws-kms-key-id", "x-amz-server-side-encryption-customer-algorithm",
                 "x-amz-tagging-directive", "x-amz-checksum-algorithm")


@_on("s3", "CopyObject")
def _s3_copy_directives(ctx: RequestContext) -> None:
    """x-amz-metadata-directive and x-amz-tagging-directive are COPY or REPLACE
    (``InvalidArgument: Unknown metadata directive.``); an object is not copied onto itself
    unchanged (``InvalidRequest``: moto copied it, and a user learns on AWS only)."""
    from emulator.gateway.s3_policy import request_params

    headers = ctx.request.headers
    for header, what in (("x-amz-metadata-directive", "metadata"), ("x-amz-tagging-directive", "tagging")):
        value = headers.get(header)
        if value is not None and value not in ("COPY", "REPLACE"):
            raise _s3_argument(header, value, f"Unknown {what} directive.")
    source = headers.get("x-amz-copy-source")
    if source is None or "versionId=" in source or headers.get("x-amz-metadata-directive") == "REPLACE" or any(h in headers for h in _COPY_CHANGES):
        return
    target = request_params(ctx)
    if unquote(source.split("?", 1)[0]).lstrip("/") == f"{target.get('Bucket')}/{target.get('Key')}":
        raise AwsError(
            "InvalidRequest",
            "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, "
            "storage class, website redirect location or encryption attributes.",
            400,
        )


# ------------------------------------------------------------------ bucket configurations' enums
@_on("s3", "PutBucketEncryption")
def _s3_encryption(ctx: RequestContext) -> None:
    config = _payload(ctx, "PutBucketEncryption")
    for rule in (config or {}).get("Rules") or [] if isinstance(config, dict) else []:
        default = (rule or {}).get("ApplyServerSideEncryptionByDefault") if isinstance(rule, dict) else None
        if isinstance(default, dict):
            _enum_member(default.get("SSEAlgorithm"), "ServerSideEncryption")


@_on("s3", "PutBucketWebsite")
def _s3_website(ctx: RequestContext) -> None:
    """A website has an index document unless it redirects every request (``InvalidArgument``);
    a redirect's Protocol is http or https (the schema: MalformedXML)."""
    config = _payload(ctx, "PutBucketWebsite")
    if not isinstance(config, dict):
        return
    redirect = config.get("RedirectAllRequestsTo")
    if redirect is None and not (config.get("IndexDocument") or {}).get("Suffix"):
        raise AwsError("InvalidArgument", "A value for IndexDocument Suffix must be provided if RedirectAllRequestsTo is empty", 400)
    if isinstance(redirect, dict):
        _enum_member(redirect.get("Protocol"), "Protocol")
    for rule in config.get("RoutingRules") or []:
        if isinstance(rule, dict) and isinstance(rule.get("Redirect"), dict):
            _enum_member(rule["Redirect"].get("Protocol"), "Protocol")


@_on("s3", "PutBucketOwnershipControls")
def _s3_ownership(ctx: RequestContext) -> None:
    config = _payload(ctx, "PutBucketOwnershipControls")
    for rule in config.get("Rules") or [] if isinstance(config, dict) else []:
        if isinstance(rule, dict):
            _enum_member(rule.get("ObjectOwnership"), "ObjectOwnership")


@_on("s3", "PutBucketRequestPayment")
def _s3_request_payment(ctx: RequestContext) -> None:
    config = _payload(ctx, "PutBucketRequestPayment")
    if isinstance(config, dict):
        _enum_member(config.get("Payer"), "Payer")


# ------------------------------------------------------------------ SSE-C (customer-provided keys)
_SSE_C_WRITES = ("PutObject", "CopyObject", "CreateMultipartUpload")


@_on("s3", "PutObject", "CopyObject", "CreateMultipartUpload", "UploadPart", "UploadPartCopy", "GetObject", "HeadObject",
     "GetObjectAttributes", "CompleteMultipartUpload", "ListParts", "SelectObjectContent")
def _s3_customer_key(ctx: RequestContext) -> None:
    """The SSE-C headers (the object's, and a copy's source's), checked as S3 checks them: a
    256-bit key, its MD5 as sent, AES256 (emulator/gateway/s3_sse_c.py, which also checks a
    read's key against the object's)."""
    from emulator.gateway import s3_sse_c

    headers = ctx.request.headers
    s3_sse_c.customer_key(headers, write=ctx.operation_name in _SSE_C_WRITES)
    if ctx.operation_name in ("CopyObject", "UploadPartCopy"):
        s3_sse_c.customer_key(headers, s3_sse_c.COPY_PREFIX)


# ------------------------------------------------------------------ object versions
@_on("s3", "ListObjectVersions")
def _s3_version_marker(ctx: RequestContext) -> None:
    """A VersionIdMarker is a version of the KeyMarker's key: S3 refuses one without a key
    marker (moto listed nothing, as if the marker were never found)."""
    if not ctx.request.query_string:
        return
    version_marker = ctx.request.query_one("version-id-marker")
    if version_marker is not None and not ctx.request.query_one("key-marker"):
        raise _s3_argument("version-id-marker", version_marker, "A version-id marker cannot be specified without a key marker.")
