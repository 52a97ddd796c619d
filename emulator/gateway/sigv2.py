"""S3's query-string authentication of Signature Version 2 (presigned URLs).

boto3's ``generate_presigned_url`` for S3 signs this way by default in most regions
(``?AWSAccessKeyId=...&Signature=...&Expires=...``), so such URLs must work unchanged.
The string to sign, as S3 documents it and botocore builds it (botocore.auth
HmacV1Auth / HmacV1QueryAuth)::

    VERB \\n Content-MD5 \\n Content-Type \\n Expires \\n [x-amz-name:value \\n ...] resource

where the resource is the path as sent plus the sub-resources S3 signs (``?acl``,
``?uploadId=...``, ``response-content-type=...``, ...), sorted. botocore moves the
signed Content-MD5, Content-Type and x-amz-* headers into the query string; a client
may also send them as headers. Reference:
https://docs.aws.amazon.com/AmazonS3/latest/userguide/RESTAuthentication.html#RESTAuthenticationQueryStringAuth
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from urllib.parse import unquote

from botocore.auth import HmacV1Auth

from emulator.errors import AwsError
from emulator.gateway.keys import AccessKey, KeyStore
from emulator.protocols.base import Request

# The sub-resources that are part of the signed resource (botocore's list, kept in step with it).
_SIGNED_SUBRESOURCES = frozenset(HmacV1Auth.QSAOfInterest)


def is_presigned_v2(request: Request) -> bool:
    """A SigV2 presigned URL: no Authorization header, AWSAccessKeyId in the query."""
    return "AWSAccessKeyId=" in request.query_string and "authorization" not in request.headers and request.query_one("X-Amz-Algorithm") is None


def string_to_sign(request: Request, expires: str, resource: str | None = None) -> str:
    query = request.query

    def signed_value(name: str) -> str:
        values = query.get(name)
        return values[0] if values else request.headers.get(name, "")

    amz = {name.lower(): ",".join(v.strip() for v in values) for name, values in query.items() if name.lower().startswith("x-amz-")}
    if not amz:
        amz = {name: value.strip() for name, value in request.headers.items() if name.startswith("x-amz-")}
    lines = [request.method.upper(), signed_value("content-md5"), signed_value("content-type"), expires]
    lines += [f"{name}:{amz[name]}" for name in sorted(amz)]
    if resource is None:
        resource = _resources(request)[0]
    subresources = []
    for pair in request.query_string.split("&"):
        name, eq, value = pair.partition("=")
        if name in _SIGNED_SUBRESOURCES:
            subresources.append((name, f"{name}={unquote(value)}" if eq else name))
    if subresources:
        subresources.sort(key=lambda item: item[0])
        resource += "?" + "&".join(text for _, text in subresources)
    return "\n".join(lines) + "\n" + resource


def _resources(request: Request) -> list[str]:
    """The resource paths a client may have signed: the path-style path, also for a
    virtual-hosted-style request (botocore's ``auth_path``: the bucket from the Host header
    goes first), and for a bucket alone both "/bucket" and "/bucket/" (botocore signs the
    latter, the URL has the former)."""
    path = (request.raw_path if request.route_path is None else request.route_path) or "/"
    if path.count("/") == 1 and len(path) > 1:
        return [path, path + "/"]
    return [path]


def verify_presigned(request: Request, keys: KeyStore, now: float | None = None) -> AccessKey:
    """Verify a SigV2 presigned S3 request; the key that signed it, or S3's error."""
    query = request.query
    try:
        access_key_id = query["AWSAccessKeyId"][0]
        signature = query["Signature"][0]
        expires = query["Expires"][0]
    except KeyError as exc:
        raise AwsError("AccessDenied", "Query-string authentication requires the Signature, Expires and AWSAccessKeyId parameters", 403) from exc
    key = keys.get(access_key_id)
    if key is None or key.status != "Active":
        raise AwsError("InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.", 403)
    try:
        expires_at = int(expires)
    except ValueError as exc:
        raise AwsError("AccessDenied", f"Invalid date (should be seconds since epoch): {expires}", 403) from exc
    if (time.time() if now is None else now) > expires_at:
        raise AwsError("AccessDenied", "Request has expired", 403)
    for resource in _resources(request):
        digest = hmac.new(key.secret_access_key.encode(), string_to_sign(request, expires, resource).encode("utf-8"), hashlib.sha1).digest()
        if hmac.compare_digest(base64.b64encode(digest).decode(), signature):
            return key
    raise AwsError(
        "SignatureDoesNotMatch",
        "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
        403,
    )
