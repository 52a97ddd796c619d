"""In-process calls of operations (the console, job results, alarm actions): the steps of a
wire request without its bytes (authorize, validate, dispatch; moto's services through the
request an SDK would send), each audited as a wire request is. A mixin of emulator.app.EmulatorApp."""

from __future__ import annotations

import functools
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from botocore.model import OperationModel

from emulator import services
from emulator.context import Principal, RequestContext
from emulator.errors import AwsError
from emulator.gateway import fallback_checks, s3_payload
from emulator.gateway.access_log import new_request_id
from emulator.protocols import get_protocol
from emulator.protocols.base import Request, Response

if TYPE_CHECKING:
    from emulator.runtime import Runtime
    from emulator.settings import Settings


class InProcessCalls:
    # EmulatorApp's
    runtime: Runtime
    settings: Settings
    _fallback: Callable[[RequestContext], Awaitable[Response]]
    _authorize_and_validate: Callable[[RequestContext], None]

    async def invoke(self, service: str, operation: str, params: dict[str, Any], principal: Principal | None = None,
                     region: str | None = None) -> dict[str, Any]:
        """Call a native operation in-process (console, job results, alarm actions), in
        ``region`` (default: the setting ``region``); one of a service that moto serves goes
        through ``_invoke_fallback`` (the request an SDK would send; output as boto3 parses it).

        Runs the same authorize -> validate -> dispatch steps as a wire request, so
        policies apply to the console exactly as to the API. Raises AwsError.

        Every call, allowed, denied or failed, leaves one audit record (the audit log gets
        the wire requests from the request recorder; these do not pass through it).
        """
        principal = principal or Principal(self.runtime.root_key.access_key_id, "root", f"arn:aws:iam::{self.settings.account_id}:root", self.settings.account_id, True)
        ctx = RequestContext(request_id=str(uuid.uuid4()), request=Request("POST", "/", "/", "", {}, b"", "127.0.0.1"))
        ctx.service_name, ctx.principal, ctx.region, ctx.protocol = service, principal, region or self.settings.region, "internal"
        started, status = time.perf_counter(), 500
        try:
            output = await self._invoke(ctx, operation, params)
            status = 200
            return output
        except AwsError as err:
            status = err.status
            raise
        finally:
            self._audit_invoke(ctx, status, time.perf_counter() - started)

    def _audit_invoke(self, ctx: RequestContext, status: int, seconds: float) -> None:
        """One in-process call to the audit log, as the request recorder hands it wire requests."""
        audit = self.runtime.components.get("audit")
        if audit is not None:
            self.runtime.recorder.hand(audit, [(ctx, Response(status), seconds, time.time())])

    async def _invoke(self, ctx: RequestContext, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        """``invoke``'s steps, on ``ctx`` (service, principal and region set)."""
        service, principal, region = ctx.service_name, ctx.principal, ctx.region
        assert service is not None and principal is not None
        handler = self.runtime.handlers.get(service)
        op_model = services.operation_model(service, operation)
        ctx.operation = op_model
        forwarder = self.runtime.components.get("forwarder")  # a cluster gateway: the service's role serves it
        remote = handler is None and op_model is not None and forwarder is not None and forwarder.serves(service)
        fallback = self.runtime.fallback
        if not remote and handler is None and op_model is not None and fallback is not None and fallback.supports(service):
            return await self._invoke_fallback(op_model, params, principal, region, ctx.telemetry)
        if not remote and (handler is None or op_model is None or operation not in handler.operations):
            raise AwsError("UnknownOperationException", f"{service}.{operation} is not served natively", 400)
        ctx.service = services.service_model(service)
        ctx.params = params
        self._authorize_and_validate(ctx)
        if remote and forwarder is not None:
            return dict(await forwarder.invoke(ctx))
        assert handler is not None
        fn, is_async = handler.operations[operation]
        output = await fn(ctx, params) if is_async else fn(ctx, params)
        return output or {}

    async def _invoke_fallback(self, op_model: OperationModel, params: dict[str, Any], principal: Principal, region: str,
                               telemetry: dict[str, Any] | None = None) -> dict[str, Any]:
        """``invoke`` for a service that moto serves (no native handler): the request an SDK
        would send (botocore's serializer for the service's protocol), through the steps
        ``handle`` takes for a wire request to a fallback service (shape checks, authorization
        with ``principal``, the operation's checks, moto), and moto's answer parsed back with
        botocore's parser. No signature: the caller is ``principal``, as for native operations.

        The output has no ResponseMetadata. A streaming payload (S3 GetObject's ``Body``) is an
        async iterator of bytes, which the caller must exhaust or ``aclose()``. An error answer
        raises AwsError with its code, message and status, as botocore's ClientError has them.
        ``telemetry``: the caller's ``ctx.telemetry``, which this request's steps fill (the
        authorization decision, for ``invoke``'s audit record)."""
        from botocore.awsrequest import (
            HeadersDict,
            create_request_object,
            prepare_request_dict,
        )
        from botocore.exceptions import ParamValidationError
        from botocore.parsers import create_parser
        from botocore.serialize import create_serializer
        from botocore.validate import validate_parameters

        model = op_model.service_model
        service, protocol_name = model.service_name, model.protocol
        try:
            # The SDK's own client-side check, which every wire request has passed.
            if op_model.input_shape is not None:
                validate_parameters(params, op_model.input_shape)
            serialized = create_serializer(protocol_name, include_validation=False).serialize_to_request(params, op_model)
        except ParamValidationError as exc:
            raise AwsError("ValidationException", str(exc.kwargs.get("report", exc)), 400) from None
        host = self.settings.host if self.settings.host not in ("", "0.0.0.0", "::") else "localhost"
        netloc = f"[{host}]:{self.settings.port}" if ":" in host else f"{host}:{self.settings.port}"
        prepare_request_dict(serialized, endpoint_url=f"http://{netloc}")
        prepared = create_request_object(serialized).prepare()
        sent = prepared.body
        body = sent.read() if hasattr(sent, "read") else sent.encode() if isinstance(sent, str) else bytes(sent or b"")
        headers = {k.lower(): v.decode("latin-1") if isinstance(v, bytes) else str(v) for k, v in prepared.headers.items()}
        headers["host"] = netloc
        # moto picks the service and region from the credential scope (as for a presigned URL: fallback.py).
        headers["authorization"] = (f"AWS4-HMAC-SHA256 Credential={principal.access_key_id}/{time.strftime('%Y%m%d', time.gmtime())}/{region}/"
                                    f"{model.signing_name or service}/aws4_request, SignedHeaders=host, Signature=in-process")
        parts = urlsplit(prepared.url)
        raw = parts.path or "/"
        request_id = new_request_id()
        request = Request(prepared.method, unquote(raw), raw, parts.query, headers, body, "127.0.0.1", request_id=request_id)
        ctx = RequestContext(request_id=request_id, request=request)
        ctx.service_name, ctx.service, ctx.operation, ctx.protocol = service, model, op_model, protocol_name
        ctx.region, ctx.principal, ctx.native = region, principal, False
        if telemetry is not None:
            ctx.telemetry = telemetry
        fallback_checks.validate(ctx, get_protocol(protocol_name), self.runtime.components.get("validator"))
        if (authorize := self.runtime.components.get("authorizer")) is not None:
            authorize(ctx)
        if service == "s3":
            s3_payload.check(request, None)  # Content-MD5, x-amz-checksum-* (none is sent here)
        fallback_checks.check(ctx)
        if (output := fallback_checks.answer(ctx)) is not None:
            return output
        response = await self._fallback(ctx)
        payload: Any = response.body
        if op_model.has_streaming_output and response.status < 300:
            payload = response.stream if response.stream is not None else _once(response.body)
        elif response.stream is not None:
            payload = b"".join([chunk async for chunk in response.stream])
        headers = HeadersDict(response.headers)
        parsed: dict[str, Any] = create_parser(protocol_name).parse({"status_code": response.status, "headers": headers, "body": payload}, op_model.output_shape)
        # botocore's after-call handlers, as a client runs them (S3 GetBucketLocation's body...).
        context: dict[str, Any] = {}
        http = SimpleNamespace(raw=True, content=payload if isinstance(payload, bytes) else b"", status_code=response.status, headers=headers)
        _after_call().emit(f"after-call.{model.service_id.hyphenize()}.{op_model.name}", http_response=http, parsed=parsed, model=op_model, context=context)
        parsed.pop("ResponseMetadata", None)
        if response.status >= 300:
            error = parsed.get("Error") or {}
            # The code of ClientError.response["Error"] (not the handlers' error_code_override,
            # which only picks the exception class).
            raise AwsError(str(error.get("Code") or response.status), str(error.get("Message") or ""), response.status)
        return parsed


@functools.cache
def _after_call() -> Any:
    """An event emitter with botocore's built-in ``after-call`` handlers (botocore.handlers)."""
    from botocore.handlers import BUILTIN_HANDLERS
    from botocore.hooks import HierarchicalEmitter

    emitter = HierarchicalEmitter()
    for spec in BUILTIN_HANDLERS:
        if spec[0].startswith("after-call."):
            emitter.register(spec[0], spec[1])
    return emitter


async def _once(data: bytes) -> AsyncIterator[bytes]:
    """``data`` as an async iterator of one chunk (a streaming payload answered whole)."""
    if data:
        yield data
