"""Service and operation detection from the wire, for every protocol botocore knows.

Order (most specific first):
1. smithy-rpc-v2-cbor path ``/service/<Service>/operation/<Op>``;
2. ``X-Amz-Target: <targetPrefix>.<Op>`` (json 1.0/1.1, also CloudWatch's json+query-mode);
3. ``Action``/``Version`` in a form body or query string (query and ec2);
4. REST: the SigV4 credential scope's service name (for a SigV2 presigned URL, the
   service whose model signs that way) picks the candidate services, then the
   operation whose ``requestUri`` template matches the path.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from functools import cache, lru_cache

from botocore.model import OperationModel

from emulator import services
from emulator.errors import AwsError
from emulator.protocols.base import Request

_SCOPE_RE = re.compile(r"Credential=([^/,\s]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request")


@dataclass
class Detected:
    service: str
    operation: str | None  # None: the service is known but the operation is not
    protocol: str
    signing_service: str | None = None
    region: str | None = None


def credential_scope(request: Request) -> tuple[str, str, str, str] | None:
    """(access key, date, region, service) from the Authorization header or presigned query."""
    auth = request.headers.get("authorization")
    if auth:
        # The scope lies before "Signature=", the one part that changes per request: that
        # prefix is the cache key (bounded), so the regex runs once per key/day/header set.
        i = auth.rfind("Signature=")
        scope = _scope_of(auth[:i] if i > 0 else auth)
        if scope is None and i > 0:  # Signature= before Credential= (unusual order): uncached
            m = _SCOPE_RE.search(auth)
            return (m.group(1), m.group(2), m.group(3), m.group(4)) if m else None
        return scope
    cred = request.query_one("X-Amz-Credential")
    if cred:
        parts = cred.split("/")
        if len(parts) == 5:
            return parts[0], parts[1], parts[2], parts[3]
    return None


@lru_cache(maxsize=1024)
def _scope_of(auth: str) -> tuple[str, str, str, str] | None:
    m = _SCOPE_RE.search(auth)
    return (m.group(1), m.group(2), m.group(3), m.group(4)) if m else None


# X-Amz-Target -> (service, operation or None): the service index and botocore's models
# are fixed for the process, so a target resolves the same way every time (bounded).
_TARGETS: dict[str, tuple[str, str | None]] = {}


def _query_protocol(info: services.ServiceInfo) -> str:
    return "ec2" if info.protocol == "ec2" else "query"


def detect(request: Request) -> Detected:
    idx = services.index()
    scope = credential_scope(request)
    signing = scope[3] if scope else None
    region = scope[2] if scope else None
    if scope is None and request.query_string and "AWSAccessKeyId=" in request.query_string and "Signature=" in request.query_string:
        # A Signature Version 2 presigned URL (emulator/gateway/sigv2.py): the REST service
        # whose model signs that way (signatureVersion "s3").
        signing = _v2_query_signing_name()

    # 1. smithy-rpc-v2-cbor
    path = request.path
    if path.startswith("/service/") and "/operation/" in path:
        parts = path.split("/")
        if len(parts) == 5 and parts[3] == "operation":
            info = _by_smithy_name(parts[2], signing)
            if info is not None:
                return Detected(info.name, _op(info.name, parts[4]), "smithy-rpc-v2-cbor", signing, region)

    # 2. X-Amz-Target
    target = request.headers.get("x-amz-target")
    if target:
        hit = _TARGETS.get(target)
        if hit is not None:
            return Detected(hit[0], hit[1], "json", signing, region)
    if target and "." in target:
        prefix, _, op = target.rpartition(".")
        info = idx.by_target_prefix.get(prefix)
        if info is not None:
            if len(_TARGETS) >= 4096:
                _TARGETS.clear()
            hit = _TARGETS[target] = (info.name, _op(info.name, op))
            return Detected(hit[0], hit[1], "json", signing, region)
        raise AwsError("UnknownOperationException", f"Unknown operation {target}", 400)

    # 3. query / ec2: Action + Version
    action = None
    version = None
    if request.method == "POST" and request.content_type == "application/x-www-form-urlencoded":
        form = request.form
        action, version = form.get("Action"), form.get("Version")
    # GET, or a POST whose parameters are all in the query string (botocore's presigned URLs
    # of query APIs sign a POST so, the body moved into the query): AWS accepts both.
    if action is None and request.query_string and (request.method == "GET" or (request.method == "POST" and not request.body)):
        action, version = request.query_one("Action"), request.query_one("Version")
    if action is not None:
        info = _query_service(signing, version)
        if info is None:
            raise AwsError("InvalidAction", f"The action {action} is not valid for this web service.", 400)
        return Detected(info.name, _op(info.name, action), _query_protocol(info), signing, region)

    # 4. REST protocols by signing name and path template
    if scope is None and request.method == "POST" and request.content_type == "multipart/form-data":
        post = _post_object(request)
        if post is not None:
            return post
    if signing:
        rest_service: services.ServiceInfo | None = None
        for info in idx.by_signing_name.get(signing, []):
            if info.protocol.startswith("rest"):
                route = request.raw_path.split("?", 1)[0]
                if info.signature_version in ("s3", "s3v4"):
                    bucket = virtual_host_bucket(request.headers.get("host", ""))
                    if bucket is not None:  # https://bucket.host/key: the path-style /bucket/key
                        route = request.route_path = "/" + bucket + route
                rest_op = match_rest_operation(info.name, request.method, route, request.query, request.headers)
                if rest_op is not None:
                    return Detected(info.name, rest_op, info.protocol, signing, region)
                rest_service = rest_service or info
        if rest_service is not None:
            # The service is known, the operation is not: its error in the service's own
            # protocol (XML for S3), which its SDKs can read.
            return Detected(rest_service.name, None, rest_service.protocol, signing, region)
        # JSON services addressed without a target: unknown operation.
        cands = idx.by_signing_name.get(signing, [])
        if cands:
            raise AwsError("UnknownOperationException", f"Unknown operation {request.method} {path} for service {signing}", 404)
    raise AwsError("UnknownOperationException", f"No AWS service or operation matches {request.method} {path}", 404)


_IPV4_HOST_RE = re.compile(r"((25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?)(\.|$)){4}")
_S3_PATH_STYLE_HOST_RE = re.compile(r"s3[.\-](?:(?:dualstack|fips)[.\-])?[^.]*\.amazonaws\.(?:com|com\.cn|eu)|s3\.amazonaws\.com$")
_S3_VIRTUAL_HOST_RE = re.compile(r"(.+)\.s3(.*)\.amazonaws.com")


@lru_cache(maxsize=1024)
def virtual_host_bucket(host: str) -> str | None:
    """The bucket named by a virtual-hosted-style S3 Host header (``bucket.localhost:4566``,
    ``bucket.s3.us-east-1.amazonaws.com``), or None for a path-style request.

    The rule is moto's (moto.s3.responses.S3Response.subdomain_based_buckets and
    moto.s3.utils.bucket_name_from_url), which serves S3 behind the gateway: both must read the
    same bucket from a request, or the operation authorized would not be the one served.
    Path-style: no host, ``localhost*``, ``localstack*``, ``host.docker.internal``, a name
    without a dot, ``*.svc.cluster.local``, an IP address, ``s3.amazonaws.com`` and the
    regional ``s3.<region>.amazonaws.com`` endpoints."""
    if not host or os.environ.get("S3_IGNORE_SUBDOMAIN_BUCKETNAME", "") in ("1", "true"):
        return None
    custom = os.environ.get("MOTO_S3_CUSTOM_ENDPOINTS")
    if custom and any(host in endpoint for endpoint in custom.split(",")):
        return None
    if host.startswith(("localhost", "localstack", "host.docker.internal", "[")) or "." not in host:
        return None
    name = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    if name.endswith(".svc.cluster.local") or _IPV4_HOST_RE.match(name) or _S3_PATH_STYLE_HOST_RE.match(host):
        return None
    domain = host.removeprefix("www.")
    if "amazonaws.com" in domain:
        m = _S3_VIRTUAL_HOST_RE.search(domain)
        return m.group(1) if m else None
    return domain.split(".", 1)[0]


def _post_object(request: Request) -> Detected | None:
    """An S3 browser-based upload (``POST /bucket``, multipart form, a signed POST policy in
    the fields: emulator/gateway/post_policy.py). The model has no operation for it; it
    writes an object as PutObject does, and IAM authorizes it as s3:PutObject."""
    for info in services.index().by_name.values():
        if info.protocol.startswith("rest") and info.signature_version == "s3":
            route = request.raw_path
            bucket = virtual_host_bucket(request.headers.get("host", ""))
            if bucket is not None:
                route = request.route_path = "/" + bucket + route
            if _BUCKET_ONLY_RE.fullmatch(route) and "PutObject" in services.service_model(info.name).operation_names:
                return Detected(info.name, "PutObject", info.protocol, info.signing_name)
    return None


_BUCKET_ONLY_RE = re.compile(r"/[^/]+/?")


@cache
def _v2_query_signing_name() -> str | None:
    for info in services.index().by_name.values():
        if info.protocol.startswith("rest") and info.signature_version == "s3":
            return info.signing_name
    return None


def _op(service: str, op: str) -> str | None:
    names = services.operations_by_lower_name(service)
    return names.get(op.lower()) if op not in services.service_model(service).operation_names else op


def _by_smithy_name(name: str, signing: str | None) -> services.ServiceInfo | None:
    idx = services.index()
    # botocore has no smithy shape name; the target prefix is the same identifier
    # for awsJson services that moved to cbor (CloudWatch: GraniteServiceVersion20100801).
    info = idx.by_target_prefix.get(name)
    if info is not None:
        return info
    if signing:
        for cand in idx.by_signing_name.get(signing, []):
            if "smithy-rpc-v2-cbor" in cand.protocols:
                return cand
    return None


def _query_service(signing: str | None, version: str | None) -> services.ServiceInfo | None:
    idx = services.index()
    cands = [i for i in idx.by_signing_name.get(signing or "", []) if i.protocol in ("query", "ec2") or "query" in i.protocols or i.query_compatible]
    if version:
        exact = [i for i in cands if i.api_version == version]
        if exact:
            # RDS, DocumentDB and Neptune share "rds" and 2014-10-31, and a request does not say
            # which client sent it: RDS's model (the others' operations are RDS's) names it.
            return next((i for i in exact if i.name == signing), exact[0])
    if cands:
        return cands[0]
    if version and not signing:
        # Unsigned query requests: find a service by API version alone when unambiguous.
        matches = [i for i in idx.by_name.values() if i.api_version == version and ("query" in i.protocols or i.protocol == "ec2")]
        if len(matches) == 1:
            return matches[0]
    return None


_LABEL_RE = re.compile(r"\{([^}]+)\}")


def _required_wire(op: OperationModel) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The names of the headers and query parameters the operation's input requires."""
    shape = op.input_shape
    if shape is None:
        return (), ()
    required = set(shape.required_members)
    headers, query = [], []
    for name, member in shape.members.items():
        where, wire = member.serialization.get("location"), member.serialization.get("name")
        if name in required and wire:
            if where == "header":
                headers.append(wire.lower())
            elif where == "querystring":
                query.append(wire)
    return tuple(headers), tuple(query)


@cache
def _rest_routes(service: str) -> list[tuple[str, re.Pattern[str], int, str, tuple[tuple[str, ...], tuple[str, ...]]]]:
    """(method, path pattern, rank, operation[?query discriminators], (required headers,
    required query parameters)), most specific first. Operations on one path tell apart by
    what they require: S3's PutObject, CopyObject (x-amz-copy-source), UploadPart
    (partNumber, uploadId) and UploadPartCopy (all three)."""
    model = services.service_model(service)
    routes = []
    for name in model.operation_names:
        op_model = model.operation_model(name)
        http = op_model.http
        uri = http.get("requestUri", "/")
        path, _, query = uri.partition("?")
        pattern = "^"
        pos = 0
        literal_len = 0
        for m in _LABEL_RE.finditer(path):
            lit = path[pos : m.start()]
            pattern += re.escape(lit)
            literal_len += len(lit)
            label = m.group(1)
            pattern += "(.+)" if label.endswith("+") else "([^/]+)"
            pos = m.end()
        tail = path[pos:]
        literal_len += len(tail)
        # A trailing '/' is optional, after a label too: the JS SDK v3 addresses an S3 bucket
        # path-style as "/bucket/" (CreateBucket, ListObjectsV2, DeleteObjects, ...). A greedy
        # label ({Key+}) needs one character at least, so "/bucket/" stays a bucket request.
        pattern += re.escape(tail.rstrip("/")) + "/?$"
        # Query-string discriminators in requestUri (e.g. "?tagging") must be present.
        routes.append((http.get("method", "POST"), re.compile(pattern), literal_len * 10 + (5 if query else 0), name + ("?" + query if query else ""), _required_wire(op_model)))
    routes.sort(key=lambda r: (-r[2], -len(r[4][0]) - len(r[4][1])))
    return routes


def match_rest_operation(service: str, method: str, path: str, query: dict[str, list[str]] | None = None, headers: dict[str, str] | None = None) -> str | None:
    for meth, pattern, _, name, needs in _rest_routes(service):
        if meth != method:
            continue
        if pattern.match(path):
            op, _, q = name.partition("?")
            if q:
                keys = [p.split("=")[0] for p in q.split("&")]
                if query is None or not all(k in query for k in keys):
                    continue
            need_headers, need_query = needs
            if need_headers and headers is not None and not all(h in headers for h in need_headers):
                continue
            if need_query and query is not None and not all(k in query for k in need_query):
                continue
            return op
    return None


def operation_model(service: str, op: str) -> OperationModel | None:
    return services.operation_model(service, op)
