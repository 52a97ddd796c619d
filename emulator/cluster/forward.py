"""The gateway's forwarding: requests for services of a remote role go over HTTP to a
healthy instance of that role, with the internal credential and the caller's principal.

AWS requests are forwarded after the chain authenticated, parsed, authorized and
validated them (emulator/app.py calls ``forward``); the role answers in the
service's own protocol, so its bytes pass through unchanged (streams included).
No healthy instance -> ``ServiceUnavailable`` (503) in the service's error shape.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import re
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlencode

import orjson

from emulator.cluster import internal
from emulator.cluster.discovery import Discovery
from emulator.cluster.httpclient import HttpPool, UpstreamError
from emulator.cluster.insights import INSIGHTS_PATH
from emulator.cluster.policies import DEFERRED, GatewayPolicies, stale_policies
from emulator.compute.openai_params import OPENAI_PREFIXES
from emulator.context import Principal, RequestContext
from emulator.errors import AwsError
from emulator.handlers.base import Route
from emulator.protocols.base import Request, Response

if TYPE_CHECKING:
    from emulator.runtime import Runtime

log = logging.getLogger("emulator.cluster")

# botocore service name -> the role that serves it natively.
SERVICE_ROLE: dict[str, str] = {
    "dynamodb": "dynamodb",
    "dynamodbstreams": "dynamodb",
    "ec2": "compute",
    "bedrock": "compute",
    "bedrock-runtime": "compute",
    "cloudwatch": "monitoring",
    "logs": "monitoring",
}
ROLE_SERVICES: dict[str, list[str]] = {
    "gateway": ["iam"],
    "dynamodb": ["dynamodb", "dynamodbstreams"],
    "compute": ["ec2", "bedrock", "bedrock-runtime"],
    "monitoring": ["cloudwatch", "logs"],
}
USAGE_PATH = "/_emulator/usage"
# Non-AWS surfaces of the roles: path prefix -> role.
# Only the OpenAI API's own paths: many AWS REST operations also live under /v1/.
ROUTE_ROLE: dict[str, str] = {
    **{prefix: "compute" for prefix in OPENAI_PREFIXES},
    "/metrics": "monitoring",
    USAGE_PATH: "monitoring",
    "/_emulator/monitoring/": "monitoring",
    "/_emulator/cluster/telemetry": "monitoring",
    INSIGHTS_PATH: "monitoring",
}
_DROP = frozenset({*internal.INTERNAL_HEADERS, "content-encoding"})
# Rounds of "the role holds other policies": one after a change; more only while they keep changing.
_POLICY_ROUNDS = 4
_JSON = {"content-type": "application/json"}
# An OpenAI file id as the compute role makes them (``file-<hex>``): put in a path as it is.
_FILE_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")


def unavailable(role: str, service: str | None) -> AwsError:
    what = service or role
    return AwsError("ServiceUnavailable", f"The {what} service is unavailable: no healthy instance of the {role} role. Try again later.", 503)


class Forwarder:
    def __init__(self, runtime: Runtime, discovery: Discovery, secret: bytes, timeout: float) -> None:
        self.runtime = runtime
        self.discovery = discovery
        self.secret = secret
        self.pool = HttpPool(read_timeout=timeout)
        self.forwarded = 0
        self.failed = 0
        # DynamoDB's resource-based policies as the gateway's authorizer sees them
        # (emulator/cluster/policies.py); None: the gateway does not authorize.
        self.policies: GatewayPolicies | None = None
        self.authorizer: Any = None
        self.validator: Any = None  # the chain's, run here for a refusal that the role's policies turned around

    def serves(self, service: str) -> bool:
        return service in SERVICE_ROLE and service not in self.runtime.handlers

    async def forward(self, ctx: RequestContext) -> Response:
        """Send an authenticated, authorized AWS request to its role."""
        assert ctx.service_name is not None
        ctx.telemetry["forwarded"] = True
        return await self._dispatch(ctx, ctx.request)

    async def _dispatch(self, ctx: RequestContext, request: Request) -> Response:
        """Send an authorized request to its role. DynamoDB's carry the version of the
        resource-based policies they were authorized with; a role that holds others answers
        with them, and the request is authorized again and re-sent (emulator/cluster/policies.py).
        Called before any await since the authorizer ran, so ``policies`` is what it read."""
        assert ctx.service_name is not None
        role = SERVICE_ROLE[ctx.service_name]
        policies = self.policies
        if policies is None or role != "dynamodb":
            return await self.send(role, request, ctx.principal, ctx.service_name)
        denial = ctx.telemetry.pop(DEFERRED, None)
        if denial is not None:
            await self._confirm_denial(ctx, policies, denial)  # raises it, or the request is allowed after all
        for _ in range(_POLICY_ROUNDS):
            response = await self.send(role, request, ctx.principal, ctx.service_name, policies.authz(ctx, self.authorizer))
            if not self._refresh(policies, response):
                return response
            self.authorizer.recheck(ctx, True)  # AccessDenied under the role's policies
        raise _policies_unsettled()

    async def _confirm_denial(self, ctx: RequestContext, policies: GatewayPolicies, denial: AwsError) -> None:
        """A refusal decided with the gateway's copy of the policies stands if the copy is the
        role's; else the request is decided again with the role's, and if allowed now, validated
        (the chain skipped that for it, to keep one process's order of errors)."""
        probe = Request("POST", internal.POLICIES_PATH, internal.POLICIES_PATH, "", {"content-type": "application/json"}, b"", ctx.request.client_ip,
                        request_id=ctx.request_id)
        for _ in range(_POLICY_ROUNDS):
            response = await self.send("dynamodb", probe, ctx.principal, ctx.service_name, {"pv": policies.version})
            if not self._refresh(policies, response):
                if response.status != 204:  # the role could not say (an older role): the refusal stands
                    log.warning("cluster: the dynamodb role answered %s to a policies check", response.status)
                raise denial
            try:
                self.authorizer.recheck(ctx, False)
            except AwsError as err:
                denial = err
                continue  # still refused under the role's policies: they may have moved again since
            if self.validator is not None:
                self.validator(ctx)
            return
        raise _policies_unsettled()

    @staticmethod
    def _refresh(policies: GatewayPolicies, response: Response) -> bool:
        """Whether the role answered with its policies (installed now) rather than for the request."""
        try:
            doc = stale_policies(response.status, response.headers, response.body)
            if doc is None:
                return False
            policies.install(doc)
        except (ValueError, TypeError):
            log.error("cluster: the dynamodb role answered with unreadable resource-based policies")
            raise _policies_unsettled() from None
        return True

    async def send(self, role: str, request: Request, principal: Principal | None, service: str | None = None,
                   authz: dict[str, Any] | None = None) -> Response:
        body = request.body
        headers = {k: v for k, v in request.headers.items() if k not in _DROP}
        headers.update(internal.sign(self.secret, request.method, request.raw_path, request.query_string, body, principal, request.client_ip, authz))
        headers["x-emulator-forwarded-request-id"] = request.request_id
        target = request.raw_path + ("?" + request.query_string if request.query_string else "")
        for url in self.discovery.candidates(role):
            try:
                upstream = await self.pool.request(url, request.method, target, headers, body)
            except UpstreamError as exc:
                self.failed += 1
                if exc.timeout:
                    # Busy, not dead (a long generation): neither taken out nor re-sent elsewhere.
                    raise AwsError("GatewayTimeout", f"The {service or role} service did not answer within {self.pool.read_timeout:g} seconds.", 504) from None
                self.discovery.mark_down(url, str(exc))
                if exc.sent:
                    # It may have been processed: sending it again elsewhere could run it twice.
                    raise unavailable(role, service) from None
                continue
            self.forwarded += 1
            self.discovery.mark_up(url)
            out = {k: v for k, v in upstream.headers if k not in ("date", "server")}
            return Response(upstream.status, out, upstream.body, upstream.stream)
        raise unavailable(role, service)

    async def invoke(self, ctx: RequestContext) -> dict[str, Any]:
        """``app.invoke`` (the console, alarm actions) of a remote service: serialize the call as botocore
        would, forward it, parse the answer; errors come back as AwsError."""
        from botocore.parsers import create_parser
        from botocore.serialize import create_serializer

        op = ctx.operation
        assert op is not None and ctx.service is not None and ctx.service_name is not None
        protocol = _client_protocol(ctx.service)
        wire = create_serializer(protocol, include_validation=False).serialize_to_request(ctx.params, op)
        body = wire.get("body") or b""
        if isinstance(body, str):
            body = body.encode()
        elif isinstance(body, dict):
            body = urlencode(body).encode()
        query = urlencode(wire.get("query_string") or {}, doseq=True)
        headers = {k.lower(): str(v) for k, v in (wire.get("headers") or {}).items()}
        if protocol in ("query", "ec2"):
            headers["content-type"] = "application/x-www-form-urlencoded; charset=utf-8"
        # The signing name picks the service on the role, as it does for a signed client request.
        signing = ctx.service.signing_name or ctx.service.endpoint_prefix
        headers["authorization"] = f"AWS4-HMAC-SHA256 Credential=internal/20000101/{ctx.region or self.runtime.settings.region}/{signing}/aws4_request, SignedHeaders=host, Signature=0"
        path = wire.get("url_path") or "/"
        request = Request(wire.get("method", "POST"), unquote(path), path, query, headers, body, "127.0.0.1", request_id=ctx.request_id)
        response = await self._dispatch(ctx, request)
        raw = response.body
        if response.stream is not None:
            raw = b"".join([chunk async for chunk in response.stream])
        parsed = create_parser(protocol).parse({"status_code": response.status, "headers": response.headers, "body": raw}, op.output_shape)
        if response.status >= 300:
            error = parsed.get("Error", {})
            raise AwsError(error.get("Code") or "InternalFailure", error.get("Message", ""), response.status)
        parsed.pop("ResponseMetadata", None)
        return dict(parsed)

    def services_health(self) -> dict[str, dict[str, Any]]:
        """The services the roles serve for this gateway, as ``/_emulator/health`` lists its own:
        each with the state its role reports (its latest health check), or ``unavailable`` when
        no instance of the role is healthy. Read from what discovery knows: no call is made."""
        out: dict[str, dict[str, Any]] = {}
        for service, role in SERVICE_ROLE.items():
            if not self.serves(service):
                continue
            healthy = self.discovery.healthy_instances(role)
            entry: dict[str, Any] = {"mode": "remote", "role": role, "instances": len(healthy)}
            reports = [inst.info.get("services") for inst in healthy]
            reported = [r[service] for r in reports if isinstance(r, dict) and isinstance(r.get(service), dict)]
            if not healthy:
                entry.update(state="unavailable", error=f"no healthy instance of the {role} role")
            elif not reported:
                entry.update(state="unavailable", error=f"the {role} role does not report {service}")
            else:
                # The first instance's report (each instance serves the service alike).
                entry = {**reported[0], **entry}
                entry.setdefault("state", "running")
            out[service] = entry
        return out

    def with_services(self, health: dict[str, Any]) -> dict[str, Any]:
        """``Runtime.health`` of a gateway: its own services and those its roles serve; the
        fallback's list keeps only what moto answers here."""
        remote = self.services_health()
        health["services"] = {**health.get("services", {}), **remote}
        fallback = health.get("fallback")
        if isinstance(fallback, dict) and isinstance(fallback.get("services"), list):
            fallback["services"] = [s for s in fallback["services"] if s not in remote]
        return health

    def health(self) -> dict[str, Any]:
        out = {"forwarded": self.forwarded, "failed": self.failed, **self.discovery.health()}
        if self.policies is not None:
            out["dynamodb_resource_policies"] = self.policies.health()
        return out

    # ------------------------------------------------------------ gateway routes
    def routes(self) -> list[Route]:
        routes = [Route(prefix, self._route(role), summary=f"forwarded to the {role} role") for prefix, role in ROUTE_ROLE.items()]
        routes.append(Route("/_emulator/cluster/register", self._register, ("POST",), summary="role registration (internal credential)"))
        routes.append(Route("/_emulator/cluster/instances", self._instances, ("GET",), summary="known role instances and their health"))
        return routes

    def _route(self, role: str) -> Any:
        async def handle(request: Request, ctx: RequestContext) -> Response:
            try:
                principal = self._route_principal(request, ctx)
                if request.path.startswith(USAGE_PATH) and internal.HEADER not in request.headers:
                    # Costs by access key: SigV4 and ce:GetCostAndUsage, decided here (the role trusts the gateway).
                    from emulator.monitoring.service import usage_caller

                    refused = usage_caller(self.runtime, request, ctx)
                    if refused is not None:
                        return refused
                    principal = ctx.principal
                if request.path.startswith("/v1/") and internal.HEADER not in request.headers:
                    self._authorize_openai(request, ctx, principal)
                    if role == "compute" and request.method == "POST" and request.path.rstrip("/") == "/v1/batches":
                        await self._authorize_batch(request, ctx, principal)
                ctx.telemetry["forwarded"] = True
                return await self.send(role, request, principal)
            except AwsError as err:
                if request.path.startswith("/v1/"):  # the OpenAI API's error shape
                    kind = "service_unavailable" if err.status == 503 else "invalid_request_error"
                    doc = {"error": {"message": err.message, "type": kind, "param": None, "code": err.code}}
                    return Response(err.status, dict(_JSON), orjson.dumps(doc))
                return Response(err.status, dict(_JSON), orjson.dumps({"__type": err.code, "message": err.message}))

        return handle

    def _authorize_openai(self, request: Request, ctx: RequestContext, principal: Principal | None) -> None:
        """The gateway applies IAM policies to the OpenAI API exactly as the compute role
        would in one process (bedrock:InvokeModel* on the model's ARN): roles trust the
        gateway's principal and do not evaluate policies themselves."""
        if not self.runtime.settings.auth or principal is None:
            return
        from emulator.compute.openai_params import iam_requirement
        from emulator.gateway import security

        body: Any = None
        if request.body:
            try:
                body = orjson.loads(request.body)
            except orjson.JSONDecodeError:
                body = None  # the compute role answers malformed JSON with OpenAI's 400
        action, resource = iam_requirement(request.method, request.path, body if isinstance(body, dict) else None, self.runtime.settings.region)
        ctx.principal = principal
        decision = security.check(principal, action, resource, runtime=self.runtime)
        ctx.telemetry["authz"] = {"action": decision.action, "resource": decision.resource, "decision": decision.decision}
        if not decision.allowed:  # recorded first, so the audit log shows the denial
            security.authorize(principal, action, resource, runtime=self.runtime)

    async def _authorize_batch(self, request: Request, ctx: RequestContext, principal: Principal | None) -> None:
        """What a new OpenAI batch's requests need, required when it is created. One process
        authorizes each request when it runs (bedrock:InvokeModel on its model, with the creator's
        key: emulator/compute/openai_batches.py), but the compute role runs them with
        authorization off; so the gateway reads the input file from the role (as the caller) and
        requires every (action, resource) its valid requests need now (the lines a batch would
        fail on need nothing: none of them runs). A caller not allowed them gets the 403 here,
        where one process would have run the batch and written a 403 per request to its error
        file: ours, the only place a cluster can decide it. A later change of the caller's
        policies does not reach the batch's requests."""
        if not self.runtime.settings.auth or principal is None or principal.is_root or principal.user_name == "root":
            return
        try:
            body = orjson.loads(request.body or b"{}")
        except orjson.JSONDecodeError:
            return  # the compute role answers OpenAI's invalid_json
        file_id, endpoint = (body.get("input_file_id"), body.get("endpoint")) if isinstance(body, dict) else (None, None)
        from emulator.compute.openai_batches import ENDPOINTS, parse_input

        if not isinstance(file_id, str) or not _FILE_ID.fullmatch(file_id) or endpoint not in ENDPOINTS:
            return  # the compute role answers the missing or invalid parameter
        from emulator.compute.openai_params import iam_requirement
        from emulator.gateway import security

        path = f"/v1/files/{file_id}/content"
        probe = Request("GET", path, path, "", {}, b"", request.client_ip, request_id=request.request_id)
        response = await self.send("compute", probe, principal)
        data = response.body if response.stream is None else b"".join([chunk async for chunk in response.stream])
        if response.status != 200:
            return  # no such file (the role answers it for the batch too)
        lines, _errors = await asyncio.to_thread(parse_input, data, endpoint)  # up to 200 MB: off the event loop
        region = self.runtime.settings.region
        for action, resource in dict.fromkeys(iam_requirement("POST", endpoint, line.body, region) for line in lines):
            decision = security.check(principal, action, resource, runtime=self.runtime)
            if not decision.allowed:  # recorded first, so the audit log shows the denial
                ctx.telemetry["authz"] = {"action": decision.action, "resource": decision.resource, "decision": decision.decision}
                security.authorize(principal, action, resource, runtime=self.runtime)

    def _route_principal(self, request: Request, ctx: RequestContext) -> Principal | None:
        """Who calls a non-AWS surface: a role (internal credential) or an OpenAI API key (Bearer)."""
        if internal.HEADER in request.headers:
            principal = self.internal_principal(request)
            if principal is None:
                raise AwsError("AccessDeniedException", "The internal credential is not valid.", 403)
            return principal
        if request.path.startswith(("/_emulator/cluster/telemetry", INSIGHTS_PATH)):
            raise AwsError("AccessDeniedException", "This surface accepts only the internal credential.", 403)
        if request.path.startswith("/v1/") and self.runtime.settings.auth:
            return self._bearer(request)
        return None

    def _bearer(self, request: Request) -> Principal:
        # The same key store and token forms as the OpenAI API (emulator/compute/openai_routes.py).
        header = request.headers.get("authorization", "")
        token = header[7:].strip() if header.lower().startswith("bearer ") else ""
        if not token:
            raise AwsError("invalid_api_key", "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth "
                           "(i.e. Authorization: Bearer YOUR_KEY).", 401)
        keys = self.runtime.keys
        found = None
        if ":" in token:
            key_id, _, secret = token.partition(":")
            key = keys.get(key_id)
            if key is not None and key.status == "Active" and hmac.compare_digest(key.secret_access_key, secret):
                found = key
        else:
            found = next((k for k in keys.list() if k.status == "Active" and hmac.compare_digest(k.secret_access_key, token)), None)
        if found is None:
            shown = token[:3] + "****" + token[-4:] if len(token) > 8 else "*" * len(token)
            raise AwsError("invalid_api_key", f"Incorrect API key provided: {shown}.", 401)
        account = self.runtime.settings.account_id
        arn = f"arn:aws:iam::{account}:root" if found.is_root else f"arn:aws:iam::{account}:user/{found.user_name}"
        return Principal(found.access_key_id, found.user_name, arn, account, found.is_root)

    def internal_principal(self, request: Request) -> Principal | None:
        try:
            principal, _ip = internal.verify(self.secret, request.method, request.raw_path, request.query_string, request.body, request.headers)
        except internal.InternalAuthError:
            return None
        return principal or root_principal(self.runtime)

    async def _register(self, request: Request, ctx: RequestContext) -> Response:
        try:
            internal.verify(self.secret, request.method, request.raw_path, request.query_string, request.body, request.headers)
        except internal.InternalAuthError as exc:
            return Response(403, dict(_JSON), orjson.dumps({"__type": "AccessDeniedException", "message": str(exc)}))
        try:
            doc = orjson.loads(request.body)
            self.discovery.register(doc, float(doc.get("interval", 2.0)))
        except (ValueError, TypeError, AttributeError) as exc:
            return Response(400, dict(_JSON), orjson.dumps({"__type": "ValidationException", "message": str(exc)}))
        return Response(200, dict(_JSON), orjson.dumps({"registered": True}))

    async def _instances(self, request: Request, ctx: RequestContext) -> Response:
        if self.runtime.settings.auth and request.client_ip not in ("127.0.0.1", "::1", "localhost"):
            return Response(403, dict(_JSON), b'{"message":"forbidden"}')
        return Response(200, dict(_JSON), orjson.dumps(self.health()))


def _policies_unsettled() -> AwsError:
    # The policies kept changing under the request (or could not be read): the client retries.
    return AwsError("ServiceUnavailable", "The resource-based policies of the resource changed while the request was authorized. Try again.", 503)


def _client_protocol(service: Any) -> str:
    # What botocore's client would pick: the first protocol of the model it has a serializer for.
    for name in service.metadata.get("protocols") or [service.protocol]:
        if name in ("ec2", "query", "json", "rest-json", "rest-xml", "smithy-rpc-v2-cbor"):
            return str(name)
    return str(service.protocol)


def root_principal(runtime: Runtime) -> Principal:
    account = runtime.settings.account_id
    return Principal(runtime.root_key.access_key_id, "root", f"arn:aws:iam::{account}:root", account, True)
