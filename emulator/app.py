"""The ASGI application: one ordered chain, written out here and nowhere else.

    request id -> detect service and operation -> parse -> authenticate
    -> authorize -> validate -> dispatch -> serialize -> metrics and access log

Non-AWS surfaces (``/_emulator/...``, the OpenAI API, ``/metrics``) are routes
registered by handlers and matched by path prefix before AWS detection.
"""

from __future__ import annotations

import asyncio
import gc
import hmac
import logging
import re
import time
import zlib
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import unquote

import orjson

from emulator import services
from emulator.app_invoke import InProcessCalls
from emulator.context import Principal, RequestContext
from emulator.errors import AwsError
from emulator.gateway import (
    fallback_checks,
    post_policy,
    post_stream,
    s3_payload,
    s3_stream,
    sigv2,
    sigv4,
)
from emulator.gateway.access_log import AccessLog, Rotation, new_request_id
from emulator.gateway.authorize_context import request_context
from emulator.gateway.cors import Cors
from emulator.gateway.fallback import NotServed, UnknownRegion, caller_identity
from emulator.gateway.keys import AccessKey
from emulator.gateway.s3_anonymous import (
    anonymous_principal,
    authorize_anonymous,
    detect_anonymous,
    is_anonymous,
    is_anonymous_request,
    is_unsigned,
)
from emulator.gateway.sessions import SessionKeys
from emulator.handlers.base import Delegate, ServiceHandler
from emulator.protocols import get_protocol
from emulator.protocols.base import Protocol, Request, Response
from emulator.protocols.detect import credential_scope, detect, virtual_host_bucket
from emulator.runtime import Runtime
from emulator.uvicorn_send import send_whole

log = logging.getLogger("emulator")

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

_JSON = {"content-type": "application/json"}
# Header names as sent (bytes) -> decoded and lower-cased; bounded (only the first 1,024
# distinct names are kept: any more are decoded per request, as before).
_HEADER_NAMES: dict[bytes, str] = {}
# The path of an S3 POST-policy upload: a bucket (path style) or "/" (virtual-hosted style).
_BUCKET_PATH = re.compile(r"/(?:[^/]+/?)?")
# STS operations that botocore sends unsigned (their model's "authtype": "none"): the token or
# assertion in the request is the credential (API_AssumeRoleWithWebIdentity.html: "Calling
# AssumeRoleWithWebIdentity does not require the use of AWS security credentials").
_UNSIGNED_STS = frozenset({"AssumeRoleWithWebIdentity", "AssumeRoleWithSAML"})


class BodyTooLarge(Exception):
    pass


class EmulatorApp(InProcessCalls):
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.settings = runtime.settings
        self.access_log = AccessLog(runtime.settings.data_dir / "access.log", Rotation.from_settings(runtime.settings)) if runtime.settings.access_log else None
        if self.access_log is not None:
            runtime.recorder.consumers.append(self.access_log)
        self._started = False
        self._route_list: list[Any] | None = None
        self._route_count = -1
        self._route_prefixes: tuple[str, ...] = ()
        self._principals: dict[tuple[str, str, bool, str], Principal] = {}
        self.cors = Cors(runtime)  # browsers: preflights and CORS headers (emulator/gateway/cors.py)
        self._keys: Any = None  # the key store, with STS session keys when sessions are kept (_signing_keys)
        # `emulator serve` sets this: after startup, the objects alive then (botocore's service
        # models, handlers, caches: ~50,000) move to the GC's permanent generation, so that a
        # full collection no longer walks them (`python -m bench.gc_pause`: 14-31 ms on the
        # event loop with them, ~0 without). Full collections are rare under CPython's
        # heuristics, so the throughput benchmarks show no difference; it bounds the worst pause.
        self.freeze_gc = False
        runtime.app = self

    # ------------------------------------------------------------------ ASGI
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self._http(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.startup()
                except Exception as exc:  # pragma: no cover - reported to the server
                    log.exception("startup failed")
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def startup(self) -> None:
        if not self._started:
            self._started = True
            services.index()  # build the routing index before the first request
            await self.runtime.start()
            self.runtime.recorder.start()
            if self.freeze_gc:
                gc.collect()
                gc.freeze()

    async def shutdown(self) -> None:
        # The last request records (audit log included) while CloudWatch Logs (a service) can
        # still take its last lines.
        self.runtime.recorder.stop()
        await self.runtime.stop()

    def _spoolable(self, request: Request) -> bool:
        """Asked only of a body past the limit: an S3 PutObject or UploadPart (signed, presigned
        or anonymous: s3_stream.spoolable) that S3 in this process serves. Not one that a route
        takes (forwarded ones included), nor one that detection gives another service (an
        X-Amz-Target, a smithy path): those keep the limit. A cluster gateway forwards its
        roles' services' bodies in memory, but serves S3 itself (moto, in process)."""
        if not s3_stream.spoolable(request) or self._routed(request):
            return False
        return self._s3_served_here(request)

    def _routed(self, request: Request) -> bool:
        """A request that ``handle`` gives to a route (a cluster gateway forwards some)."""
        return any(request.path.startswith(route.prefix) and (route.methods is None or request.method in route.methods) for route in self.runtime.routes)

    def _s3_served_here(self, request: Request) -> bool:
        """The request is S3's, and S3 is served here: not a forwarded service's."""
        forwarder = self.runtime.components.get("forwarder")
        if forwarder is not None and forwarder.serves("s3"):
            return False
        try:
            found = detect(request)
        except AwsError:
            # handle answers detect's error, or, for an unsigned request naming a bucket, serves
            # it as S3's (detect_anonymous): never forwarded either way.
            return True
        return found.service == "s3"

    def _spool(self, request: Request, limit: int) -> s3_stream.UploadSpool | post_stream.PostSpool | None:
        """Where a body past the limit goes: an S3 PutObject or UploadPart into an UploadSpool;
        an S3 POST-policy upload to a bucket (not a route's path) parsed as it comes into a
        PostSpool (gateway/post_stream.py); None: BodyTooLarge. In a cluster gateway too: it
        serves S3 itself; a forwarded service's request keeps the limit."""
        directory = self.settings.data_dir / s3_stream.TMP_DIR
        if self._spoolable(request):
            return s3_stream.UploadSpool(request, directory, limit)
        if (
            post_policy.is_post_upload(request)
            and _BUCKET_PATH.fullmatch(request.raw_path) is not None
            and (request.raw_path != "/" or virtual_host_bucket(request.headers.get("host", "")) is not None)
            and not any(request.path.startswith(route.prefix) for route in self.runtime.routes)
            and self._s3_served_here(request)
        ):
            return post_stream.PostSpool(request, directory)
        return None

    async def _read_body(self, receive: Receive, limit: int, request: Request | None = None) -> bytes:
        """The request body, in memory up to ``limit`` bytes. Past it, an S3 PutObject or
        UploadPart of ``request`` (up to S3's 5 GiB) goes on into a temporary file, set as
        ``request.body_file`` (gateway/s3_stream.py), and b"" is answered; so does the file of
        an S3 POST-policy upload, its form parsed as it comes (gateway/post_stream.py);
        anything else is BodyTooLarge. Raises AwsError (EntityTooLarge) past 5 GiB."""
        chunks: list[bytes] = []
        size = 0
        spool: s3_stream.UploadSpool | post_stream.PostSpool | None = None
        declared = request.headers.get("content-length", "") if request is not None else ""
        if request is not None and declared.isdigit() and int(declared) > limit:
            # Spooled from the first byte; refused at once past S3's 5 GiB, as S3 does.
            spool = request.body_file = self._spool(request, limit)
            if spool is None:
                # Refused before a byte is read: a client that sent Expect: 100-continue gets
                # no 100 and need not send the body (the answer closes the connection).
                raise BodyTooLarge
        try:
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    raise ConnectionAbortedError
                chunk = message.get("body", b"")
                if spool is not None:
                    if chunk:
                        await spool.feed(chunk)
                elif chunk:
                    size += len(chunk)
                    if size > limit:
                        spool = self._spool(request, limit) if request is not None else None
                        if request is None or spool is None:
                            raise BodyTooLarge
                        request.body_file = spool
                        for earlier in (*chunks, chunk):
                            await spool.feed(earlier)
                        chunks = []
                    else:
                        chunks.append(chunk)
                if not message.get("more_body", False):
                    break
            if spool is not None:
                await spool.finish()
                return b""
        except BaseException:
            if spool is not None:
                spool.close()
            raise
        return b"".join(chunks) if len(chunks) != 1 else chunks[0]

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        request_id = new_request_id()
        raw_headers = scope["headers"]
        # Fast path: one pass; repeated header names (rare) are joined with ','. A name is
        # decoded and lower-cased once per process (_HEADER_NAMES): clients send the same few.
        names = _HEADER_NAMES
        headers: dict[str, str] = {}
        for raw_name, raw_value in raw_headers:
            name = names.get(raw_name)
            if name is None:
                name = raw_name.decode("latin-1").lower()
                if len(names) < 1024:
                    names[raw_name] = name
            headers[name] = raw_value.decode("latin-1")
        if len(headers) != len(raw_headers):
            headers = {}
            for raw_name, raw_value in raw_headers:
                name = raw_name.decode("latin-1").lower()
                value = raw_value.decode("latin-1")
                headers[name] = headers[name] + "," + value if name in headers else value
        raw_path = scope.get("raw_path")
        raw = raw_path.decode("latin-1") if raw_path else scope["path"]
        client = scope.get("client")
        request = Request(
            method=scope["method"],
            path=scope["path"] if raw_path is None else (unquote(raw) if "%" in raw else raw),
            raw_path=raw,
            query_string=scope.get("query_string", b"").decode("latin-1"),
            headers=headers,
            body=b"",
            client_ip=client[0] if client else "",
            scheme=scope.get("scheme", "http"),
            request_id=request_id,
        )
        ctx = RequestContext(request_id=request_id, request=request, started=started)
        try:
            limit = self.settings.max_body_bytes
            declared = headers.get("content-length", "")
            # Fast path: a body whole in the first message and within the limit (every usual
            # request) is taken as it is, without _read_body's loop; anything else (more parts,
            # past the limit, a disconnect) goes there, the first message replayed.
            message = await receive() if not declared or (declared.isdigit() and int(declared) <= limit) else None
            if message is not None and message["type"] == "http.request" and not message.get("more_body", False) and len(body := message.get("body", b"")) <= limit:
                request.body = body
            else:
                request.body = await self._read_body(receive if message is None else _replay(message, receive), limit, request)
            if "origin" in headers or request.method == "OPTIONS":  # CORS: browsers' requests
                response = await self.cors.serve(ctx, self.handle)
            else:
                response = await self.handle(ctx)
        except ConnectionAbortedError:
            return
        except BodyTooLarge:
            response = self._error_response(
                ctx, AwsError("RequestEntityTooLarge", f"Request body exceeds the limit of {self.settings.max_body_bytes} bytes", 413)
            )
            response.headers["connection"] = "close"  # the rest of the body is not read
        except AwsError as err:  # an S3 upload over S3's limit (s3_stream.UploadSpool)
            ctx.protocol, ctx.service = "rest-xml", services.service_model("s3")
            response = self._error_response(ctx, err)
        finally:
            if request.body_file is not None:  # answered: moto has its copy (s3_stream.py)
                request.body_file.close()
        response.headers["x-amzn-requestid"] = request_id
        if "x-request-id" in response.headers:  # the OpenAI API's (a cluster role's too): the same id
            response.headers["x-request-id"] = request_id
        await self._send(response, send, receive, coalesce=not ctx.answer_at_once)
        elapsed = time.perf_counter() - started
        for observer in self.runtime.observers:
            try:
                observer(ctx, response, elapsed)
            except Exception:  # bookkeeping never breaks a request
                log.exception("observer failed")
        # Audit, access log, telemetry: in batches, off the request path.
        self.runtime.recorder.add(ctx, response, elapsed)

    async def _send(self, response: Response, send: Send, receive: Receive | None = None, coalesce: bool = True) -> None:
        if response.stream is None and send_whole(send, response.status, response.headers, response.body, coalesce):
            return  # one socket write (emulator/uvicorn_send.py)
        header_list = [(k.encode("latin-1"), str(v).encode("latin-1")) for k, v in response.headers.items()]
        if response.stream is None:
            if "content-length" not in response.headers:  # a HEAD answer may carry its GET's
                header_list.append((b"content-length", str(len(response.body)).encode()))
            await send({"type": "http.response.start", "status": response.status, "headers": header_list})
            await send({"type": "http.response.body", "body": response.body})
            return
        await send({"type": "http.response.start", "status": response.status, "headers": header_list})
        stream = response.stream
        # uvicorn's send() silently drops writes once the client is gone, so watch
        # receive() for http.disconnect and close the stream: a streaming LLM
        # response then frees its inference slot at once (compute issue).
        gone = asyncio.Event()

        async def watch() -> None:
            assert receive is not None
            while (await receive())["type"] != "http.disconnect":
                pass
            gone.set()

        watcher = asyncio.create_task(watch()) if receive is not None else None
        try:
            async for chunk in stream:
                if gone.is_set():
                    break
                if chunk:
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
        finally:
            if watcher is not None:
                watcher.cancel()
            aclose = getattr(stream, "aclose", None)
            if aclose is not None:
                await aclose()
        await send({"type": "http.response.body", "body": b""})

    # ----------------------------------------------------------- the chain
    async def handle(self, ctx: RequestContext) -> Response:
        request = ctx.request
        try:
            # Non-AWS routes first: /_emulator/health, the OpenAI API, /metrics, the console.
            if request.path == "/_emulator/health":
                return Response(200, dict(_JSON), orjson.dumps(self.runtime.health()))
            routes = self.runtime.routes
            if len(routes) != self._route_count or routes is not self._route_list:
                # Routes are only ever added (at startup, by services and the cluster).
                self._route_list, self._route_count, self._route_prefixes = routes, len(routes), tuple(r.prefix for r in routes)
            if request.path.startswith(self._route_prefixes):  # one C call for the usual AWS request: no route
                for route in routes:
                    if request.path.startswith(route.prefix) and (route.methods is None or request.method in route.methods):
                        return await route.handler(request, ctx)

            self._decompress(request)
            # 1. detect service and operation
            try:
                found = detect(request)
            except AwsError as err:
                # Unsigned, and no service's: S3's when it names a bucket (public objects).
                anonymous = detect_anonymous(request, self.runtime, err)
                if anonymous is None:
                    if (err.status == 404 and (request.path == "/v1" or request.path.startswith("/v1/")) and "/v1/models" in self._route_prefixes
                            and credential_scope(request) is None):
                        # No AWS operation (a signed request would have named its service): the OpenAI API's
                        # unknown URL. Its module is imported already: the routes are mounted.
                        from emulator.compute.openai_params import invalid_url

                        return invalid_url(request)
                    raise
                found = anonymous
            ctx.service_name = found.service
            ctx.protocol = found.protocol
            ctx.service = services.service_model(found.service)
            if found.region:
                ctx.region = found.region
            handler = self.runtime.handlers.get(found.service)
            ctx.native = handler is not None
            if found.operation is None:
                raise self._unknown_operation(ctx)
            ctx.operation = services.operation_model(found.service, found.operation)
            protocol = get_protocol(found.protocol)

            # 2. authenticate (before parse, so that anonymous callers learn nothing)
            signer = self._authenticate(ctx)

            if handler is None:
                forwarder = self.runtime.components.get("forwarder")
                if forwarder is not None and forwarder.serves(found.service):
                    # Cluster gateway: parse, authorize and validate here, then the service's role serves it.
                    assert ctx.operation is not None
                    ctx.params = protocol.parse(request, ctx.operation)
                    self._authorize_and_validate(ctx)
                    if found.service == "s3":
                        s3_payload.check(request, signer)  # aws-chunked, Content-MD5, x-amz-checksum-*
                    return await forwarder.forward(ctx)
                # moto answers malformed or out-of-range input with a 500 (or accepts it); AWS's
                # front ends refuse it before the service: the shapes' constraints, for every
                # protocol (emulator/gateway/fallback_checks.py).
                fallback_checks.validate(ctx, protocol, self.runtime.components.get("validator"))
                # Services served by moto are authorized too (issue: security).
                if is_anonymous(ctx.principal):  # no credentials: what the bucket makes public
                    authorize_anonymous(ctx, self.runtime)
                elif (fallback_authorize := self.runtime.components.get("authorizer")) is not None:
                    fallback_authorize(ctx)
                if found.service == "s3":
                    # Decoded and checked here (chunk signatures, checksums): moto checks neither.
                    s3_payload.check(request, signer)
                fallback_checks.check(ctx)  # the operation's content, as the service checks it
                if (output := fallback_checks.answer(ctx)) is not None:  # one moto lacks
                    assert ctx.operation is not None
                    return protocol.serialize(ctx.operation, output, request)
                return await self._fallback(ctx)
            entry = handler.operations.get(found.operation)
            if entry is None:
                return await self._not_native(ctx, handler, protocol)
            # 3. parse
            assert ctx.operation is not None
            ctx.params = protocol.parse(request, ctx.operation)
            # 4. authorize and 5. validate: see emulator/gateway (issue: security)
            self._authorize_and_validate(ctx)
            # 6. dispatch
            ctx.raw_json = protocol.raw_json
            fn, is_async = entry
            try:
                output = await fn(ctx, ctx.params) if is_async else fn(ctx, ctx.params)
            except Delegate:  # the request concerns moto's resources, not this service's own
                return await self._fallback(ctx)
            if output is None:
                output = {}
            # 7. serialize
            return protocol.serialize(ctx.operation, output, request)
        except AwsError as err:
            return self._error_response(ctx, err)
        except Exception:
            log.exception("unhandled error in %s.%s", ctx.service_name, ctx.operation_name)
            return self._error_response(
                ctx, AwsError("InternalFailure", "The request processing has failed because of an unknown error, exception or failure.", 500)
            )

    def _authorize_and_validate(self, ctx: RequestContext) -> None:
        """Steps 4 and 5 of the chain, for a request whose parameters are parsed: the security
        layer's authorizer, then the validator of the operation's input shape (each when installed)."""
        components = self.runtime.components
        authorize = components.get("authorizer")
        if authorize is not None:
            authorize(ctx)
        validate = components.get("validator")
        if validate is not None:
            validate(ctx)

    def _decompress(self, request: Request) -> None:
        encoding = request.headers.get("content-encoding", "").lower()
        if not encoding or encoding == "identity" or not request.body:
            return
        wire = request.body
        if encoding not in ("gzip", "deflate"):
            return
        scope = credential_scope(request)
        if scope is not None and scope[3] == "s3":
            return  # S3's Content-Encoding describes the object, stored as sent (a .gz upload)
        limit = self.settings.max_body_bytes
        try:
            # Bounded: the size limit applies to the decoded body too (a 64 KiB gzip bomb
            # must not become gigabytes in memory).
            request.body = _inflate(wire, zlib.MAX_WBITS | 16 if encoding == "gzip" else zlib.MAX_WBITS, limit)
            request.wire_body = wire  # the signature covers the compressed bytes
        except BodyTooLarge as exc:
            raise AwsError("RequestEntityTooLarge", f"Request body exceeds the limit of {limit} bytes", 413) from exc
        except (OSError, zlib.error, EOFError) as exc:
            raise AwsError("SerializationException", f"Request body could not be decoded as {encoding}", 400) from exc
        request.__dict__.pop("form", None)

    def _unknown_operation(self, ctx: RequestContext) -> AwsError:
        if ctx.protocol in ("query", "ec2"):
            return AwsError("InvalidAction", f"The action or operation requested is invalid for service {ctx.service_name}. Verify that the action is typed correctly.", 400)
        return AwsError("UnknownOperationException", f"Unknown operation for service {ctx.service_name}", 400)

    def _authenticate(self, ctx: RequestContext) -> tuple[AccessKey, sigv4.ParsedAuth] | None:
        """Set ``ctx.principal``; return the key and parsed signature of a SigV4 request (an S3
        aws-chunked body's chunk signatures chain on it: gateway/s3_payload.py), else None."""
        # Cluster roles (emulator/cluster): the internal credential of the gateway or a role.
        authenticate = self.runtime.components.get("authenticator")
        if authenticate is not None and authenticate(ctx):
            return None
        if not self.settings.auth:
            ctx.principal = Principal("anonymous", "root", f"arn:aws:iam::{self.settings.account_id}:root", self.settings.account_id, True)
            return None
        if ctx.service_name == "sts" and ctx.operation_name in _UNSIGNED_STS and is_unsigned(ctx.request):
            ctx.principal = None  # no caller: _sts answers it (the authorizer has no one to ask about)
            return None
        s3 = services.signs_like_s3(ctx.service)
        family = "s3" if s3 else ctx.protocol  # S3 words its refusals its own way: the "s3" error family of sigv4
        keys = self._signing_keys()
        signer: tuple[AccessKey, sigv4.ParsedAuth] | None = None
        if sigv2.is_presigned_v2(ctx.request):  # S3 presigned URLs, boto3's default
            key = sigv2.verify_presigned(ctx.request, keys)
        elif s3 and post_policy.is_post_upload(ctx.request):  # S3 presigned POST
            key = post_policy.authenticate(ctx.request, keys)
        elif s3 and is_anonymous_request(ctx):  # no credentials at all: S3's anonymous principal
            ctx.principal = anonymous_principal(self.settings.account_id)
            return None
        else:
            key, parsed = sigv4.verify(ctx.request, keys, family)
            ctx.region = parsed.region
            signer = (key, parsed)
        account = self.settings.account_id
        if key.access_key_id.startswith("ASIA") and isinstance(keys, SessionKeys):
            # STS temporary credentials: the request must carry the session's token.
            session = keys.sessions.get(key.access_key_id, expired=True)
            request = ctx.request
            # SigV4 presigned URLs name it X-Amz-Security-Token, SigV2 ones (boto3's S3 default) x-amz-security-token.
            token = request.headers.get("x-amz-security-token") or request.query_one("X-Amz-Security-Token") or request.query_one("x-amz-security-token")
            if session is None or not token or not hmac.compare_digest(token, session.token):
                raise sigv4.invalid_token(family)
            if session.expires <= keys.sessions.clock():
                raise sigv4.expired_token(family)
            ctx.principal = Principal(key.access_key_id, key.user_name, session.arn, account, key.is_root)
            return signer
        # One Principal per key identity, shared by its requests (nothing mutates one).
        ident = (key.access_key_id, key.user_name, key.is_root, account)
        principal = self._principals.get(ident)
        if principal is None:
            arn = f"arn:aws:iam::{account}:root" if key.is_root else f"arn:aws:iam::{account}:user/{key.user_name}"
            principal = Principal(key.access_key_id, key.user_name, arn, account, key.is_root)
            if len(self._principals) >= 1024:
                self._principals.clear()
            self._principals[ident] = principal
        ctx.principal = principal
        return signer

    def authenticate(self, ctx: RequestContext) -> None:
        """The gateway's authentication for a route of its own that admits signed callers
        (``GET /_emulator/usage``): SigV4 (and STS session tokens), as for an AWS API call;
        sets ``ctx.principal`` or raises the AwsError an API call would get."""
        self._authenticate(ctx)

    def _signing_keys(self) -> Any:
        """The keys a signature may come from: the key store, and STS sessions' keys when the
        security layer keeps sessions (emulator/gateway/sessions.py)."""
        keys = self._keys
        if keys is None:
            sessions = self.runtime.components.get("sessions")
            keys = self._keys = SessionKeys(self.runtime.keys, sessions) if sessions is not None else self.runtime.keys
        return keys

    async def _not_native(self, ctx: RequestContext, handler: ServiceHandler, protocol: Protocol) -> Response:
        """An operation of a native service that its handler does not implement: moto serves it
        when the handler allows it for requests naming none of its own resources
        (``ServiceHandler.owned_members``); otherwise AWS's error for it."""
        assert ctx.operation is not None
        owned = handler.owned_members
        fallback = self.runtime.fallback
        if owned is not None and fallback is not None and fallback.supports(handler.service):
            ctx.params = protocol.parse(ctx.request, ctx.operation)
            if owned.isdisjoint(ctx.params):
                if (validate := self.runtime.components.get("validator")) is not None:
                    validate(ctx)  # as the native operations are (moto would take any value)
                if (authorize := self.runtime.components.get("authorizer")) is not None:
                    authorize(ctx)
                handler.before_fallback(ctx, ctx.params)
                fallback_checks.check(ctx)
                return await self._fallback(ctx)
            names = ", ".join(sorted(owned.intersection(ctx.params)))
            raise self._not_supported(ctx, f" for its own resources ({names})", "UnsupportedOperation")
        raise self._not_supported(ctx)

    @staticmethod
    def _not_supported(ctx: RequestContext, why: str = "", code: str | None = None) -> AwsError:
        """An operation this emulator does not serve, named in the protocol's unknown-operation
        error (``code`` overrides it)."""
        code = code or ("InvalidAction" if ctx.protocol in ("query", "ec2") else "UnknownOperationException")
        return AwsError(code, f"The operation {ctx.operation_name} is not supported by this emulator's {ctx.service_name} service{why}.", 400)

    async def _fallback(self, ctx: RequestContext) -> Response:
        fallback = self.runtime.fallback
        assert ctx.service_name is not None
        if ctx.service_name == "sts" and ctx.operation is not None and (ctx.principal is not None or ctx.operation_name in _UNSIGNED_STS):
            answer = self._sts(ctx, ctx.principal)
            if answer is not None:
                return get_protocol(ctx.protocol or "query").serialize(ctx.operation, answer, ctx.request)
        if fallback is None or not fallback.supports(ctx.service_name):
            raise self._unknown_operation(ctx) if ctx.protocol in ("query", "ec2") else AwsError(
                "UnknownOperationException", f"The service {ctx.service_name} is not served by this emulator.", 400
            )
        try:
            return await fallback.dispatch(ctx.request, ctx.service_name, ctx.operation_name)
        except UnknownRegion:
            raise sigv4.invalid_region("s3" if services.signs_like_s3(ctx.service) else ctx.protocol) from None
        except NotServed:
            # Neither native nor implemented by moto: AWS's unknown-operation error, naming it.
            raise self._not_supported(ctx, " (it is not native and its moto fallback does not implement it)") from None

    def _sts(self, ctx: RequestContext, principal: Principal | None) -> dict[str, Any] | None:
        """The STS operations about who signed, which the gateway answers itself: moto never
        sees the emulator's keys (GetCallerIdentity) and its credentials would not sign
        (AssumeRole, AssumeRoleWithWebIdentity, GetSessionToken: emulator/gateway/sessions.py).
        ``principal`` is None only for an unsigned AssumeRoleWithWebIdentity/SAML."""
        op = ctx.operation_name
        sessions = self.runtime.components.get("sessions")
        iam_store = self.runtime.components.get("iam_store")
        if sessions is not None and op == "AssumeRoleWithSAML":
            raise self._not_supported(ctx)  # moto's credentials would sign nothing here
        if principal is None and (sessions is None or op != "AssumeRoleWithWebIdentity"):
            return None  # moto's (no security layer: no one checks its credentials)
        if op == "GetCallerIdentity" and principal is not None:
            session = sessions.get(principal.access_key_id) if sessions is not None and principal.access_key_id.startswith("ASIA") else None
            if session is not None:
                return {"UserId": session.user_id, "Account": principal.account_id, "Arn": session.arn}
            return caller_identity(principal, iam_store)
        if sessions is None or op not in ("AssumeRole", "GetSessionToken", "AssumeRoleWithWebIdentity"):
            return None
        if not ctx.params:
            assert ctx.operation is not None
            ctx.params = get_protocol(ctx.protocol or "query").parse(ctx.request, ctx.operation)
        if op == "GetSessionToken" and principal is not None:
            return sessions.session_token(principal, ctx.params, caller_identity(principal, iam_store)["UserId"])
        fallback = self.runtime.fallback
        if fallback is None:
            raise AwsError("AccessDenied", f"{op} needs the moto fallback, where roles live; it is off (setting fallback).", 403)
        if op == "AssumeRoleWithWebIdentity":
            # The condition keys of the request only: the token, not a signer, is the caller.
            return sessions.assume_role_with_web_identity(ctx.params, fallback.backend("iam", "aws"), request_context(ctx, identity={}))
        assert principal is not None
        authorizer = self.runtime.components.get("authorizer")
        identity = authorizer.identity(principal) if authorizer is not None else None
        return sessions.assume_role(principal, ctx.params, fallback.backend("iam", "aws"), request_context(ctx, identity=identity), identity)

    def _error_response(self, ctx: RequestContext, err: AwsError) -> Response:
        protocol = get_protocol(ctx.protocol or _guess_protocol(ctx.request))
        return protocol.serialize_error(err, ctx.service, ctx.request, ctx.request_id)


def _inflate(data: bytes, wbits: int, limit: int) -> bytes:
    """Decode gzip (every member) or zlib ``data``; BodyTooLarge past ``limit`` bytes."""
    out: list[bytes] = []
    size = 0
    while data:
        d = zlib.decompressobj(wbits)
        chunk = d.decompress(data, limit + 1 - size)
        size += len(chunk)
        if size > limit or d.unconsumed_tail:
            raise BodyTooLarge
        if not d.eof:
            raise EOFError("truncated compressed body")
        out.append(chunk)
        data = d.unused_data  # gzip allows several members back to back
        if wbits == zlib.MAX_WBITS and data:
            raise zlib.error("trailing data after the zlib stream")
    return b"".join(out)


def _replay(first: dict[str, Any], receive: Receive) -> Receive:
    """``receive``, answering ``first`` (a message already received) once before it."""
    pending = [first]

    async def again() -> dict[str, Any]:
        return pending.pop() if pending else await receive()

    return again


def _guess_protocol(request: Request) -> str:
    if request.headers.get("x-amz-target"):
        return "json"
    if request.content_type == "application/x-www-form-urlencoded":
        return "query"
    if request.content_type == "application/cbor":
        return "smithy-rpc-v2-cbor"
    return "json"


def create_app(runtime: Runtime) -> EmulatorApp:
    return EmulatorApp(runtime)


async def _noop() -> None:  # pragma: no cover
    await asyncio.sleep(0)
