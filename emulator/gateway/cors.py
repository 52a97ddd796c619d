"""CORS: browser apps (the AWS SDK for JavaScript v3 in a web page, ``fetch()`` of S3 objects
and presigned URLs, browser OpenAI clients) against the emulator.

Called by the chain (emulator/app.py) only for requests that carry an ``Origin`` header or use
the ``OPTIONS`` method; every other request pays the two lookups that decide it.

**S3** evaluates the bucket's CORS configuration (PutBucketCors, kept by moto), as S3 does
(https://docs.aws.amazon.com/AmazonS3/latest/userguide/cors.html, "How does Amazon S3 evaluate
the CORS configuration on a bucket?"): the first rule whose ``AllowedOrigin`` matches the
``Origin`` (one ``*`` wildcard each, e.g. ``https://*.example.com``), whose ``AllowedMethod``
holds the method (``Access-Control-Request-Method`` for a preflight, the request's own
otherwise) and, for a preflight, whose ``AllowedHeader`` entries (case-insensitive, one ``*``
each) cover every header named in ``Access-Control-Request-Headers`` applies.

* A preflight (``OPTIONS /bucket[/key]``, no credentials) is answered here, before any
  authentication: 200 with ``Access-Control-Allow-Origin`` (``*`` when the rule's origin is
  ``*``, else the request's origin with ``Access-Control-Allow-Credentials: true``),
  ``-Allow-Methods`` (the rule's), ``-Allow-Headers`` (the requested ones), ``-Expose-Headers``,
  ``-Max-Age`` and ``Vary: Origin, Access-Control-Request-Headers, Access-Control-Request-Method``;
  or 403 ``AccessForbidden`` "CORSResponse: ..." in S3's XML (with ``Method`` and
  ``ResourceType``) when no rule matches or the bucket has no CORS configuration; 400
  ``BadRequest`` without ``Origin`` or ``Access-Control-Request-Method``.
* An actual request (signed, presigned or anonymous) whose origin and method match a rule gets
  the same headers but ``-Allow-Headers``, on success and error answers alike. moto's own
  CORS headers (its evaluation uses every rule, ignores methods and matches origins by prefix)
  are removed from every S3 answer, and those of flask-cors (moto's global wildcard) from
  every answer.

A preflight is S3's when it names an existing bucket, by its Host (virtual-hosted style) or its
first path segment; any other preflight cannot be told apart (it carries no credential scope)
and gets the answer of AWS's JSON/query APIs, a preflight to a bucket that does not exist too.

**The other services** (DynamoDB, STS, CloudWatch, Logs, Bedrock Runtime, the OpenAI API under
``/v1``, the emulator's own routes) answer preflights permissively, as AWS's API front ends do:
``Access-Control-Allow-Origin`` (``*``, or the origin when ``cors_origins`` restricts them),
``-Allow-Methods``, ``-Allow-Headers`` echoing the requested ones (``Authorization`` and
``Content-Type`` included: what browser OpenAI clients send), ``-Expose-Headers`` (the request
id, error type and checksum headers the JS SDK reads), ``-Max-Age``. Their actual answers to a
request with an allowed ``Origin`` get ``Access-Control-Allow-Origin`` and
``Access-Control-Expose-Headers`` (the fixed list plus every header of that answer, so that
output members bound to headers -- Bedrock's, Lambda's, OpenAI's rate limits -- are readable).

The setting ``cors_origins`` (default ``*``; flag ``--cors-origin``, repeatable, env
``EMULATOR_CORS_ORIGINS`` comma-separated, TOML list; entries may hold one ``*``; empty: none)
restricts the origins allowed for the non-S3 services: a preflight from another origin gets 403
and no CORS headers, an actual request is served without them (the browser then refuses it).

Preflights never reach authentication, authorization or the rate limits. They are recorded
(the access log shows them, method OPTIONS) with no service, which keeps them out of the
telemetry (request counts, 4XX metrics) and the audit log.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

import orjson

from emulator import services
from emulator.context import RequestContext
from emulator.errors import AwsError
from emulator.gateway.s3_policy import moto_serves_s3, runtime_bucket
from emulator.protocols import get_protocol
from emulator.protocols.base import Request, Response
from emulator.protocols.detect import virtual_host_bucket

if TYPE_CHECKING:
    from emulator.runtime import Runtime

log = logging.getLogger("emulator")

Handle = Callable[[RequestContext], Awaitable[Response]]

S3_VARY = "Origin, Access-Control-Request-Headers, Access-Control-Request-Method"
NOT_ALLOWED = (
    "CORSResponse: This CORS request is not allowed. This is usually because the evalution of Origin, request method / "
    "Access-Control-Request-Method or Access-Control-Request-Headers are not whitelisted by the resource's CORS spec."
)
NOT_ENABLED = "CORSResponse: CORS is not enabled for this bucket."
NO_ORIGIN = "Insufficient information. Origin request header needed."

# What the JS SDK v3 (its browser build) reads from answers, beyond the headers browsers expose
# anyway (Cache-Control, Content-Language, Content-Length, Content-Type, Expires, Last-Modified,
# Pragma): the request ids ($metadata: @smithy/core's protocols), the error type
# (x-amzn-ErrorType, x-amzn-query-error for awsQueryCompatible services), the retry hints
# (@smithy/core's retry), Date (clock-skew correction: @aws-sdk/core's httpAuthSchemes),
# DynamoDB's CRC32, ETag.
EXPOSE = (
    "x-amzn-RequestId", "x-amzn-Request-Id", "x-amz-request-id", "x-amz-id-2", "x-amz-cf-id",
    "x-amzn-ErrorType", "x-amzn-ErrorMessage", "x-amzn-query-error", "x-amz-crc32",
    "Retry-After", "x-amz-retry-after", "x-amz-apigw-id", "x-amzn-trace-id", "Date", "ETag",
)
_EXPOSE_LOWER = frozenset(name.lower() for name in EXPOSE)
EXPOSE_HEADER = ",".join(EXPOSE)
METHODS = "GET,HEAD,PUT,POST,DELETE,PATCH,OPTIONS"
MAX_AGE = "172800"
# Never worth exposing: safelisted anyway, hop-by-hop, or CORS's own.
_NOT_EXPOSED = frozenset({
    "content-length", "content-type", "cache-control", "content-language", "expires", "last-modified", "pragma",
    "connection", "transfer-encoding", "set-cookie", "server", "vary",
})
# Paths that are never S3's (the OpenAI API, the emulator's own routes).
_NOT_S3 = ("/v1/", "/_emulator/")


# ------------------------------------------------------------------ matching
@lru_cache(maxsize=1024)
def _wildcard(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    """``pattern`` with ``*`` matching any run of characters (S3 allows one), anchored."""
    return re.compile(".*".join(re.escape(part) for part in pattern.split("*")), re.IGNORECASE if ignore_case else 0)


def _matches(pattern: str, value: str, ignore_case: bool = False) -> bool:
    if pattern == "*":
        return True
    if "*" not in pattern:
        return pattern.lower() == value.lower() if ignore_case else pattern == value
    return _wildcard(pattern, ignore_case).fullmatch(value) is not None


def _names(value: str | None) -> list[str]:
    """The header names of ``Access-Control-Request-Headers``."""
    if not value:
        return []
    return [name.strip() for name in value.split(",") if name.strip()]


def _strings(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value]


def _rule_origin(rule: Any, origin: str) -> str | None:
    """The rule's AllowedOrigin entry that matches ``origin``, or None."""
    for allowed in _strings(getattr(rule, "allowed_origins", None)):
        if _matches(allowed, origin):
            return allowed
    return None


def match_rule(rules: list[Any], origin: str, method: str, request_headers: list[str] | None) -> tuple[Any, str] | None:
    """The first rule allowing ``origin``, ``method`` and (for a preflight) every header in
    ``request_headers``, with its matching AllowedOrigin entry; None when none does."""
    for rule in rules:
        allowed_origin = _rule_origin(rule, origin)
        if allowed_origin is None or method not in _strings(getattr(rule, "allowed_methods", None)):
            continue
        if request_headers:
            allowed = _strings(getattr(rule, "allowed_headers", None))
            if not all(any(_matches(a, h, True) for a in allowed) for h in request_headers):
                continue
        return rule, allowed_origin
    return None


def s3_headers(rule: Any, allowed_origin: str, origin: str) -> dict[str, str]:
    """The CORS headers S3 answers a request that ``rule`` allows."""
    headers: dict[str, str] = {}
    if allowed_origin == "*":
        headers["access-control-allow-origin"] = "*"
    else:
        headers["access-control-allow-origin"] = origin
        headers["access-control-allow-credentials"] = "true"
    headers["access-control-allow-methods"] = ", ".join(_strings(getattr(rule, "allowed_methods", None)))
    expose = _strings(getattr(rule, "exposed_headers", None))
    if expose:
        headers["access-control-expose-headers"] = ", ".join(expose)
    max_age = getattr(rule, "max_age_seconds", None)
    if max_age is not None and str(max_age) != "":
        headers["access-control-max-age"] = str(max_age)
    headers["vary"] = S3_VARY
    return headers


# ------------------------------------------------------------------ the chain's entry
class Cors:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        configured = getattr(runtime.settings, "cors_origins", None)
        origins = [o.strip() for entry in _strings(configured if configured is not None else ["*"]) for o in entry.split(",") if o.strip()]
        self.any_origin = "*" in origins
        self.origins = tuple(o for o in origins if o != "*")

    async def serve(self, ctx: RequestContext, handle: Handle) -> Response:
        """Answer a preflight, or let ``handle`` answer the request and add the CORS headers."""
        request = ctx.request
        if request.method == "OPTIONS":
            preflight = self._preflight(ctx)
            if preflight is not None:
                return preflight
        response = await handle(ctx)
        origin = request.headers.get("origin")
        if origin is not None:
            try:
                self._actual(ctx, response, origin)
            except Exception:  # CORS headers never turn an answer into a 500
                log.exception("CORS headers for %s %s failed", request.method, request.path)
        return response

    # -------------------------------------------------------------- preflights
    def _preflight(self, ctx: RequestContext) -> Response | None:
        request = ctx.request
        origin = request.headers.get("origin")
        target = self._s3_target(request, preflight=True)
        if target is not None:
            return self._s3_preflight(ctx, origin, *target)
        if origin is None:
            return None  # not a CORS request: the chain's answer (no OPTIONS operation)
        if not self.allows(origin):
            body = orjson.dumps({"message": f"The origin {origin} is not allowed (setting cors_origins)."})
            return Response(403, {"content-type": "application/json"}, body)
        headers = self._allow_origin(origin)
        headers["access-control-allow-methods"] = METHODS
        requested = request.headers.get("access-control-request-headers")
        if requested:
            headers["access-control-allow-headers"] = requested
        headers["access-control-expose-headers"] = EXPOSE_HEADER
        headers["access-control-max-age"] = MAX_AGE
        return Response(200, headers, b"")

    def _s3_preflight(self, ctx: RequestContext, origin: str | None, name: str, key: str | None, bucket: Any) -> Response:
        """A preflight to an existing bucket."""
        request = ctx.request
        method = request.headers.get("access-control-request-method")
        resource = "OBJECT" if key else "BUCKET"

        def refuse(status: int, code: str, message: str) -> Response:
            extra = {"Method": method, "ResourceType": resource} if code == "AccessForbidden" and method else {}
            err = AwsError(code, message, status, extra=extra)
            return get_protocol("rest-xml").serialize_error(err, services.service_model("s3"), request, ctx.request_id)

        if not origin:
            return refuse(400, "BadRequest", NO_ORIGIN)
        if not method:
            return refuse(400, "BadRequest", f"Invalid Access-Control-Request-Method: {method if method is not None else 'null'}")
        rules = list(getattr(bucket, "cors", None) or [])
        if not rules:
            return refuse(403, "AccessForbidden", NOT_ENABLED)
        requested = _names(request.headers.get("access-control-request-headers"))
        found = match_rule(rules, origin, method, requested)
        if found is None:
            return refuse(403, "AccessForbidden", NOT_ALLOWED)
        rule, allowed_origin = found
        headers = {"x-amz-request-id": ctx.request_id}
        headers.update(s3_headers(rule, allowed_origin, origin))
        if requested:
            headers["access-control-allow-headers"] = ", ".join(requested)
        return Response(200, headers, b"")

    # -------------------------------------------------------------- actual requests
    def _actual(self, ctx: RequestContext, response: Response, origin: str) -> None:
        headers = response.headers
        # moto's own (flask-cors' wildcard, moto's S3 evaluation): the gateway decides.
        for name in [n for n in headers if n.startswith("access-control-")]:
            del headers[name]
        if ctx.service_name == "s3":
            if headers.get("vary") == "Origin":
                del headers["vary"]  # flask-cors'; S3 sends its own Vary with its CORS headers
            target = self._s3_target(ctx.request, preflight=False)
            if target is None or target[2] is None:
                return
            rules = list(getattr(target[2], "cors", None) or [])
            found = match_rule(rules, origin, ctx.request.method, None) if rules else None
            if found is not None:
                rule, allowed_origin = found
                headers.update(s3_headers(rule, allowed_origin, origin))
            return
        if not self.allows(origin):
            return
        added = self._allow_origin(origin)
        vary = added.pop("vary", None)
        if vary is not None:
            present = headers.get("vary")
            if not present:
                headers["vary"] = vary
            elif vary.lower() not in [v.strip().lower() for v in present.split(",")]:
                headers["vary"] = f"{present}, {vary}"
        headers.update(added)
        extra = [n for n in headers if n not in _EXPOSE_LOWER and n not in _NOT_EXPOSED and not n.startswith("access-control-")]
        headers["access-control-expose-headers"] = EXPOSE_HEADER + ("," + ",".join(extra) if extra else "")

    # -------------------------------------------------------------- helpers
    def allows(self, origin: str) -> bool:
        """Whether ``cors_origins`` allows ``origin`` (the services but S3)."""
        return self.any_origin or any(_matches(pattern, origin) for pattern in self.origins)

    def _allow_origin(self, origin: str) -> dict[str, str]:
        if self.any_origin:
            return {"access-control-allow-origin": "*"}
        return {"access-control-allow-origin": origin, "vary": "Origin"}

    def _s3_target(self, request: Request, preflight: bool) -> tuple[str, str | None, Any] | None:
        """(bucket name, key, moto's bucket or None) for a request to S3. A preflight is S3's
        only when it names an existing bucket (nothing else tells); None otherwise."""
        runtime = self.runtime
        if not moto_serves_s3(runtime):
            return None
        route = request.route_path
        if route is None:
            path = request.raw_path.split("?", 1)[0] or "/"
            host_bucket = virtual_host_bucket(request.headers.get("host", ""))
            if host_bucket is not None:
                route = "/" + host_bucket + path
            elif preflight and path.startswith(_NOT_S3):
                return None
            else:
                route = path
        name, sep, key = route.split("?", 1)[0].lstrip("/").partition("/")
        name = unquote(name)
        if not name:
            return None
        bucket = runtime_bucket(runtime, name)
        if bucket is None and preflight:
            # No telling it is S3's: a path naming no bucket, or a Host with a dot that names
            # the emulator itself (emulator.example.test: S3's virtual-hosted rule reads a bucket).
            return None
        return name, (unquote(key) if sep and key else None), bucket
