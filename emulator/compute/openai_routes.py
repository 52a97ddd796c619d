"""The OpenAI-compatible API under /v1/: models, chat/completions, completions, embeddings,
responses (openai_responses.py), files (openai_files.py) and batches (openai_batches.py).

Authentication (``Authorization: Bearer <token>``) uses the same key store as
SigV4. The token is either ``<access key id>:<secret access key>`` or the
secret access key alone; the key must be Active. With ``auth = false`` any
token (or none) is accepted. Errors use OpenAI's JSON shape
``{"error": {"message", "type", "param", "code"}}``.

Authorization uses the caller's IAM policies with Bedrock's actions, exactly as
the Bedrock Runtime API does (``emulator.gateway.authorize``): generation and
embeddings need ``bedrock:InvokeModel`` (``bedrock:InvokeModelWithResponseStream``
with ``stream: true``, as ConverseStream) on the model's foundation-model ARN;
listing models needs ``bedrock:ListFoundationModels``, retrieving one
``bedrock:GetFoundationModel``; files and batches need Bedrock's batch inference actions
(``_store_action``). Token quotas (``emulator.compute.quotas``) are
shared with Bedrock Runtime: the same key's tokens per minute and per day.
"""

from __future__ import annotations

import base64
import contextlib
import struct
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

import orjson

from emulator.compute.embeddings import (
    EMBEDDING_MODELS,
    _local_embedder,
    can_embed,
    embedding_target,
    pooled_vectors,
)
from emulator.compute.engines.base import (
    EngineError,
    GenParams,
    mark_prefill,
)
from emulator.compute.inference import (
    INFERENCE_ERRORS,
    Generation,
    Scope,
    generate,
)
from emulator.compute.openai_params import (
    _GENERATION_PATHS,
    _STORE_PATHS,
    CHAT_FIELDS,
    COMPLETION_FIELDS,
    EMBEDDING_FIELDS,
    ApiError,
    _json,
    chat_messages,
    chat_unsupported,
    completion_prompts,
    continue_final_message,
    embedding_inputs,
    embedding_size,
    gen_params,
    iam_requirement,
    invalid_url,
    json_body,
    map_error,
    no_effect_fields,
    no_tools,
    response_format,
    service_tier,
    stream_options,
    unknown_fields,
)
from emulator.compute.quotas import SettlingStream, TokenMeter, meter, model_arn
from emulator.compute.scheduler import GenerationTimeout, QueueTimeout
from emulator.context import Principal, RequestContext
from emulator.errors import AwsError
from emulator.gateway import security
from emulator.gateway.authorize import denied_message
from emulator.protocols.base import Request, Response

if TYPE_CHECKING:
    from emulator.compute.service import ComputeService
    from emulator.runtime import Runtime


class OpenAIApi:
    def __init__(self, runtime: Runtime, compute: ComputeService) -> None:
        from emulator.compute.openai_batches import BatchesApi
        from emulator.compute.openai_files import FilesApi
        from emulator.compute.openai_responses import (
            ResponsesApi,  # it builds on this module
        )

        self.runtime = runtime
        self.compute = compute
        self.responses = ResponsesApi(self)
        self.files = FilesApi(self)
        self.batches = BatchesApi(self, self.files)

    async def reset(self) -> None:
        """Forget the account's OpenAI state: stored responses, files, batches (their runners stop)."""
        self.responses.clear()
        await self.batches.reset()
        self.files.clear()

    # ------------------------------------------------------------------ auth
    def _anonymous(self, ctx: RequestContext) -> Principal:
        # A cluster role: the gateway authenticated the caller and passed its principal on.
        authenticate = self.runtime.components.get("authenticator")
        if authenticate is not None:
            try:
                if authenticate(ctx) and ctx.principal is not None:
                    return ctx.principal
            except AwsError as err:
                raise ApiError(401, err.message, code="invalid_api_key") from None
        account = self.runtime.settings.account_id
        # As the AWS chain does with auth off (emulator.app): everything is allowed.
        return Principal("anonymous", "root", f"arn:aws:iam::{account}:root", account, True)

    def _principal(self, key: Any) -> Principal:
        account = self.runtime.settings.account_id
        arn = f"arn:aws:iam::{account}:root" if key.is_root else f"arn:aws:iam::{account}:user/{key.user_name}"
        return Principal(key.access_key_id, key.user_name, arn, account, key.is_root)

    def _authenticate(self, request: Request, ctx: RequestContext) -> Principal:
        if not self.runtime.settings.auth:
            return self._anonymous(ctx)
        header = request.headers.get("authorization", "")
        if not header.lower().startswith("bearer "):
            raise ApiError(401, "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth "
                           "(i.e. Authorization: Bearer YOUR_KEY). Use '<access key id>:<secret access key>' or the secret access key.",
                           code="invalid_api_key")
        token = header[7:].strip()
        key = self.runtime.keys.from_bearer(token)
        if key is not None:
            return self._principal(key)
        shown = token[:3] + "*" * 4 + token[-4:] if len(token) > 8 else "*" * len(token)
        raise ApiError(401, f"Incorrect API key provided: {shown}.", code="invalid_api_key")

    # --------------------------------------------------------------- routing
    async def handle(self, request: Request, ctx: RequestContext) -> Response:
        """Every answer (an error, a stream) carries ``x-request-id`` as OpenAI's do (the openai
        client's ``_request_id``, ``APIStatusError.request_id``): the request's id, x-amzn-RequestId's."""
        response = await self._handle(request, ctx)
        response.headers["x-request-id"] = ctx.request_id
        return response

    async def _handle(self, request: Request, ctx: RequestContext) -> Response:
        try:
            ctx.service_name = "openai"
            principal = self._authenticate(request, ctx)
            # The audit log records every authenticated call (emulator.gateway.audit).
            ctx.principal = principal
            ctx.telemetry["access_key_id"] = principal.access_key_id
            path = request.path.rstrip("/")
            region = self.runtime.settings.region
            # The model id comes from the raw path: an id of "/" (%2F) is an id, not a trailing slash.
            raw = request.raw_path.removesuffix("/")
            if raw == "/v1/models" and request.method == "GET":
                self._authorize(ctx, *iam_requirement(request.method, raw, None, region))
                return self.list_models()
            if raw.startswith("/v1/models/") and request.method == "GET":
                ident = unquote(raw[len("/v1/models/"):])
                self._authorize(ctx, "bedrock:GetFoundationModel", model_arn(ident, region))
                return self.get_model(ident)
            if raw.startswith("/v1/responses/") and request.method in ("GET", "DELETE"):
                # A stored response: the caller needs what reading or creating one needs.
                self._authorize(ctx, "bedrock:InvokeModel", "*")
                ident = unquote(raw[len("/v1/responses/"):])
                if ident.endswith("/input_items") and request.method == "GET":
                    return self.responses.list_input_items(ident.removesuffix("/input_items"), request)
                if "/" in raw[len("/v1/responses/"):]:  # a sub-path no route has (an id's "/" comes as %2F)
                    return invalid_url(request)
                return self.responses.retrieve(ident) if request.method == "GET" else self.responses.delete(ident)
            if request.method != "POST" and path in _GENERATION_PATHS:
                raise ApiError(405, f"Method {request.method} is not allowed for {path}; use POST.", code="method_not_allowed")
            if path in _GENERATION_PATHS:
                return await self.generation(path, self._body(request), ctx)
            if path.startswith(_STORE_PATHS) and path.split("/")[2] in ("files", "batches"):
                self._authorize(ctx, *iam_requirement(request.method, path, None, region))
                store = self.files if path.split("/")[2] == "files" else self.batches
                return await store.handle(request, path, ctx)
            return invalid_url(request)
        except ApiError as err:
            return err.response()

    async def generation(self, path: str, body: dict[str, Any], ctx: RequestContext) -> Response:
        """A generation endpoint's answer to a checked body (``checked_body``), for an authenticated
        caller: authorization, then the endpoint. The live route and the batch runner both call it."""
        self._authorize(ctx, *iam_requirement("POST", path, body, self.runtime.settings.region))
        if path == "/v1/chat/completions":
            return await self.chat(body, ctx)
        if path == "/v1/completions":
            return await self.completions(body, ctx)
        if path == "/v1/responses":
            return await self.responses.create(body, ctx)
        return await self.embeddings(body, ctx)

    def _authorize(self, ctx: RequestContext, action: str, resource: str) -> None:
        """The caller's IAM policies decide, as for the Bedrock API; denied -> 403 with AWS's message."""
        principal = ctx.principal
        decision = security.check(principal, action, resource, runtime=self.runtime)
        ctx.telemetry["authz"] = {"action": decision.action, "resource": decision.resource, "decision": decision.decision}
        if not decision.allowed:
            assert principal is not None
            raise ApiError(403, denied_message(principal, decision), type_="invalid_request_error", code="AccessDeniedException")
        limiter = self.runtime.components.get("rate_limiter")
        if principal is not None and limiter is not None and limiter.enabled:
            # The request rate limits of [emulator.rate_limits] apply as to the Bedrock API:
            # service "bedrock-runtime", the operation named by the action.
            try:
                limiter.check(principal.access_key_id, "bedrock-runtime", action.partition(":")[2], "rest-json")
            except AwsError as err:
                ctx.telemetry["authz"]["throttled"] = True
                raise ApiError(429, f"Rate limit reached for requests: {err.message}", type_="requests", code="rate_limit_exceeded",
                               headers=err.headers) from None

    async def _meter(self, ctx: RequestContext, model: str, prompt: str | None, messages: list[dict[str, Any]] | None, max_tokens: int) -> TokenMeter:
        """Reserve the key's tokens (shared with Bedrock Runtime); over quota -> 429 + Retry-After."""
        key = ctx.principal.access_key_id if ctx.principal is not None else "anonymous"
        try:
            return await meter(self.runtime, self.compute, key, model, prompt, messages, max_tokens)
        except INFERENCE_ERRORS as exc:
            raise map_error(exc, model) from None
        except AwsError as err:
            raise self._quota_error(err, key, model, max_tokens) from None

    def _quota_error(self, err: AwsError, key: str, model: str, max_tokens: int) -> ApiError:
        if err.status != 429 and err.code != "ValidationException":
            return ApiError(err.status, err.message, type_="server_error" if err.status >= 500 else "invalid_request_error", code=err.code, headers=err.headers)
        quotas = self.runtime.components.get("token_quotas")
        limits = quotas.limits(key) if quotas is not None else None
        if err.code == "ValidationException" and limits is not None and limits.tokens_per_minute is not None:
            # OpenAI's wording for a request larger than the limit (also a 429, with type "tokens").
            return ApiError(429, f"Request too large for {model} on tokens per min (TPM): Limit {limits.tokens_per_minute}. {err.message}",
                            type_="tokens", code="rate_limit_exceeded")
        retry = err.headers.get("retry-after", "1")
        which = "tokens per min (TPM)"
        limit = limits.tokens_per_minute if limits is not None else None
        if quotas is not None and limits is not None and limits.tokens_per_day is not None:
            with contextlib.suppress(Exception):  # only the wording depends on it
                if quotas.usage(key)["day"] + max_tokens > limits.tokens_per_day:
                    which, limit = "tokens per day (TPD)", limits.tokens_per_day
        return ApiError(429, f"Rate limit reached for {model} on {which}: Limit {limit}. Please try again in {retry}s.",
                        type_="tokens", code="rate_limit_exceeded", headers={"retry-after": retry})

    def _body(self, request: Request) -> dict[str, Any]:
        return self.checked_body(json_body(request))

    @staticmethod
    def checked_body(body: Any) -> dict[str, Any]:
        """A generation request's JSON body, checked as every endpoint needs it: an object with a model."""
        if not isinstance(body, dict):
            raise ApiError(400, "The JSON body of your request must be an object.", code="invalid_json")
        if not isinstance(body.get("model"), str) or not body["model"]:
            raise ApiError(400, "you must provide a model parameter", param="model", code="missing_required_parameter")
        return body

    # ---------------------------------------------------------------- models
    def _model_doc(self, m: Any) -> dict[str, Any]:
        return {"id": m.model_id, "object": "model", "created": int(m.created), "owned_by": "emulator",
                "image_id": m.image_id, "context_length": m.served_context(self.compute.config.n_ctx)}

    def _embedding_doc(self, ident: str, embedder: Any) -> dict[str, Any]:
        """A Bedrock embedding id that /v1/embeddings serves with a local model (``embedding_target``)."""
        doc = self._model_doc(embedder)
        doc["id"] = ident
        doc["context_length"] = min(EMBEDDING_MODELS[ident][2], doc["context_length"])
        return doc

    def list_models(self) -> Response:
        """Every model the API serves: the model store's, then the Bedrock embedding ids that
        /v1/embeddings takes (when a local model serves them) not among those."""
        models = self.compute.store.list()
        data = [self._model_doc(m) for m in models]
        embedder = _local_embedder(self.compute)
        if embedder is not None:
            names = {m.model_id for m in models}
            data += [self._embedding_doc(ident, embedder) for ident in EMBEDDING_MODELS if ident not in names]
        return _json(200, {"object": "list", "data": data})

    def get_model(self, ident: str) -> Response:
        m = self.compute.store.get(ident)
        if m is not None:
            return _json(200, self._model_doc(m))
        embedder = _local_embedder(self.compute) if ident in EMBEDDING_MODELS else None
        if embedder is None:
            raise ApiError(404, f"The model '{ident}' does not exist", param="model", code="model_not_found")
        return _json(200, self._embedding_doc(ident, embedder))

    # ------------------------------------------------------------ generation
    def _scope(self, ctx: RequestContext) -> Scope:
        """Where an OpenAI API request is made, for the inference profiles it may name: the
        server's Region (the API carries none) and the caller's account, as Bedrock's are."""
        principal = ctx.principal
        return Scope(self.runtime.settings.region, principal.account_id if principal is not None else self.runtime.settings.account_id)

    async def _start(self, ctx: RequestContext, model: str, prompt: str | None, messages: list[dict[str, Any]] | None,
                     params: GenParams) -> tuple[Generation, TokenMeter]:
        tokens = await self._meter(ctx, model, prompt, messages, params.max_tokens)
        try:
            return await generate(self.compute, model, prompt, messages, params, self._scope(ctx)), tokens
        except INFERENCE_ERRORS as exc:
            tokens.settle(None)
            raise map_error(exc, model) from None
        except BaseException:
            tokens.settle(None)
            raise

    @staticmethod
    async def _collect(gen: Generation, tokens: TokenMeter, model: str) -> None:
        try:
            await gen.collect()
        except INFERENCE_ERRORS as exc:
            raise map_error(exc, model) from None
        finally:
            tokens.settle(gen)

    def _telemetry(self, ctx: RequestContext, model: str, gen: Generation, streamed: bool, operation: str) -> None:
        ctx.telemetry.update({
            "api": "openai", "operation": operation, "model_id": model, "model": gen.target.model.name,
            "instance_id": gen.target.instance.instance_id, "input_tokens": gen.prompt_tokens, "output_tokens": gen.completion_tokens,
            "latency_ms": gen.latency_ms, "first_byte_ms": gen.first_byte_ms, "streamed": streamed, "finish_reason": gen.finish_reason,
        })

    @staticmethod
    def _finish(reason: str) -> str:
        return "length" if reason == "length" else "stop"

    def _event_stream(
        self, ctx: RequestContext, started: list[tuple[Generation, TokenMeter]], model: str, rid: str, created: int, obj: str, operation: str,
        include_usage: bool, *, first: Callable[[int], dict[str, Any] | None], piece: Callable[[str], dict[str, Any]], last: dict[str, Any],
        extra: dict[str, Any] | None = None, count: int = 1,
        start_next: Callable[[int], Awaitable[tuple[Generation, TokenMeter]]] | None = None,
    ) -> Response:
        """Server-sent events for chat and legacy completions: the two differ only in the
        object name and in how a choice carries text (``delta`` vs ``text``). ``count`` choices
        (a legacy completion's list of prompts), one after the other, each chunk's choice index
        saying whose it is: the first is started (``started``), ``start_next(i)`` starts the others
        as their turn comes; usage is their sum."""
        fields = extra or {}

        def chunk(index: int, choice: dict[str, Any] | None, finish: str | None = None, usage: dict[str, Any] | None = None) -> bytes:
            choices = [] if choice is None else [{"index": index, **choice, "logprobs": None, "finish_reason": finish}]
            doc: dict[str, Any] = {"id": rid, "object": obj, "created": created, "model": model, **fields, "system_fingerprint": None, "choices": choices}
            if include_usage:
                doc["usage"] = usage
            return b"data: " + orjson.dumps(doc) + b"\n\n"

        async def events() -> AsyncIterator[bytes]:
            prompt_tokens = completion_tokens = 0
            try:
                for index in range(count):
                    if index:
                        assert start_next is not None
                        started.append(await start_next(index))
                    gen = started[index][0]
                    opening = first(index)
                    if opening is not None:
                        yield chunk(index, opening)
                    async for text in gen.texts():
                        yield chunk(index, piece(text))
                    yield chunk(index, last, self._finish(gen.finish_reason))
                    prompt_tokens += gen.prompt_tokens
                    completion_tokens += gen.completion_tokens
                    if index:  # the first one's is settled by SettlingStream, when the stream ends
                        started[index][1].settle(gen)
                if include_usage:
                    yield chunk(0, None, usage={"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                                                "total_tokens": prompt_tokens + completion_tokens})
                self._telemetry(ctx, model, started[0][0], True, operation)
                if count > 1:
                    ctx.telemetry.update({"input_tokens": prompt_tokens, "output_tokens": completion_tokens})
                yield b"data: [DONE]\n\n"
            except (QueueTimeout, GenerationTimeout, EngineError, ApiError) as exc:
                err = map_error(exc, model)
                yield b"data: " + orjson.dumps({"error": {"message": err.message, "type": err.type, "param": err.param if isinstance(exc, ApiError) else None,
                                                          "code": err.code}}) + b"\n\n"
            finally:
                for gen, tokens in started[1:]:
                    tokens.settle(gen)
                    await gen.aclose()
                await started[0][0].aclose()

        return Response(200, {"content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache"}, b"",
                        stream=SettlingStream(events(), started[0][1], lambda: started[0][0]))

    async def chat(self, body: dict[str, Any], ctx: RequestContext) -> Response:
        model = body["model"]
        unknown_fields(body, CHAT_FIELDS)
        for name in ("tools", "functions"):
            if body.get(name):
                raise no_tools(model, name)
        chat_unsupported(body)
        no_effect_fields(body)
        tier = service_tier(body)
        messages = chat_messages(body)
        params = gen_params(body)
        params.response_format = response_format(body, messages)
        if continue_final_message(body):
            messages = mark_prefill(messages)
        include_usage = stream_options(body)
        stream = bool(body.get("stream"))
        gen, tokens = await self._start(ctx, model, None, messages, params)
        rid = "chatcmpl-" + uuid.uuid4().hex[:24]
        created = int(time.time())
        if not stream:
            await self._collect(gen, tokens, model)
            self._telemetry(ctx, model, gen, False, "chat.completions")
            return _json(200, {
                "id": rid, "object": "chat.completion", "created": created, "model": model, "service_tier": tier, "system_fingerprint": None,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": gen.text, "refusal": None}, "logprobs": None,
                             "finish_reason": self._finish(gen.finish_reason)}],
                "usage": {"prompt_tokens": gen.prompt_tokens, "completion_tokens": gen.completion_tokens, "total_tokens": gen.prompt_tokens + gen.completion_tokens},
            })

        return self._event_stream(
            ctx, [(gen, tokens)], model, rid, created, "chat.completion.chunk", "chat.completions", include_usage,
            first=lambda _: {"delta": {"role": "assistant", "content": ""}},
            piece=lambda text: {"delta": {"content": text}},
            last={"delta": {}}, extra={"service_tier": tier},
        )

    async def completions(self, body: dict[str, Any], ctx: RequestContext) -> Response:
        model = body["model"]
        unknown_fields(body, COMPLETION_FIELDS)
        prompts = completion_prompts(body.get("prompt", ""))
        # Refused rather than ignored (README): no fill-in-the-middle, one completion per prompt.
        if body.get("suffix") not in (None, ""):
            raise ApiError(400, "'suffix' is not supported by this server.", param="suffix", code="unsupported_parameter")
        if body.get("best_of") not in (None, 1):
            raise ApiError(400, "Only best_of=1 is supported by this server.", param="best_of", code="unsupported_value")
        no_effect_fields(body)
        params = gen_params(body)
        if body.get("max_tokens") is None:
            params.max_tokens = 16  # the legacy completions default
        include_usage = stream_options(body)
        stream = bool(body.get("stream"))
        echo = bool(body.get("echo"))
        # One choice per prompt, in order (OpenAI's index), generated one after the other.
        started = [await self._start(ctx, model, prompts[0], None, params)]
        rid = "cmpl-" + uuid.uuid4().hex[:24]
        created = int(time.time())
        if not stream:
            for index in range(len(prompts)):
                if index:
                    started.append(await self._start(ctx, model, prompts[index], None, params))
                await self._collect(*started[index], model)
            gens = [gen for gen, _ in started]
            self._telemetry(ctx, model, gens[0], False, "completions")
            prompt_tokens, completion_tokens = sum(g.prompt_tokens for g in gens), sum(g.completion_tokens for g in gens)
            ctx.telemetry.update({"input_tokens": prompt_tokens, "output_tokens": completion_tokens})
            return _json(200, {
                "id": rid, "object": "text_completion", "created": created, "model": model, "system_fingerprint": None,
                "choices": [{"index": i, "text": (prompts[i] if echo else "") + gen.text, "logprobs": None, "finish_reason": self._finish(gen.finish_reason)}
                            for i, gen in enumerate(gens)],
                "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens, "total_tokens": prompt_tokens + completion_tokens},
            })

        def start_next(index: int) -> Awaitable[tuple[Generation, TokenMeter]]:
            return self._start(ctx, model, prompts[index], None, params)

        return self._event_stream(
            ctx, started, model, rid, created, "text_completion", "completions", include_usage,
            first=lambda index: {"text": prompts[index]} if echo else None,
            piece=lambda text: {"text": text},
            last={"text": ""}, count=len(prompts), start_next=start_next,
        )

    async def embeddings(self, body: dict[str, Any], ctx: RequestContext) -> Response:
        """One rule with Bedrock's InvokeModel (bedrock_embeddings): a model embeds when its engine
        pools a sentence embedding (``embeddings.can_embed``: every local GGUF). A Bedrock embedding
        id (Titan, Cohere) answers the vector Bedrock answers for its default body: served by the
        same model, projected to the id's size (or ``dimensions``), unit length; other models
        answer their own size, unit length (as OpenAI's embeddings are)."""
        model = body["model"]
        unknown_fields(body, EMBEDDING_FIELDS)
        no_effect_fields(body)
        inputs = embedding_inputs(body.get("input"))
        fmt = body.get("encoding_format") or "float"
        if fmt not in ("float", "base64"):
            raise ApiError(400, f"Invalid value: '{fmt}'. Supported values are: 'float' and 'base64'.", param="encoding_format", code="invalid_value")
        size, max_tokens = embedding_size(model, body.get("dimensions"))
        started = time.perf_counter()
        reservation = None
        try:
            target = await embedding_target(self.compute, model, self._scope(ctx))
            engine = target.scheduler.engine
            if not can_embed(engine):
                raise ApiError(400, f"The model `{model}` does not support embeddings.", param="model", code="model_not_supported")
            texts = "\n".join(t for t in inputs if isinstance(t, str))
            ids = sum(len(t) for t in inputs if isinstance(t, list))
            reservation = (await self._meter(ctx, target.model.name, texts, None, ids)).reservation
            vectors, tokens = await target.scheduler.run_sync(pooled_vectors, engine, inputs, max_tokens, size)
        except ApiError:
            self._settle(reservation, 0)
            raise
        except INFERENCE_ERRORS as exc:
            self._settle(reservation, 0)
            raise map_error(exc, model) from None
        self._settle(reservation, tokens)
        ctx.telemetry.update({"api": "openai", "operation": "embeddings", "model_id": model, "model": target.model.name,
                              "input_tokens": tokens, "latency_ms": int((time.perf_counter() - started) * 1000)})
        data = [{"object": "embedding", "index": i, "embedding": base64.b64encode(struct.pack(f"<{len(v)}f", *v)).decode() if fmt == "base64" else v}
                for i, v in enumerate(vectors)]
        return _json(200, {"object": "list", "model": model, "data": data, "usage": {"prompt_tokens": tokens, "total_tokens": tokens}})

    def _settle(self, reservation: Any, used: int) -> None:
        """Charge an embedding request's tokens to the key's quota (as bedrock_embeddings settles)."""
        if reservation is None or reservation.settled:
            return
        try:
            security.settle(reservation, used, runtime=self.runtime)
        except Exception:  # noqa: BLE001 - settling never fails the caller's request (as TokenMeter.settle)
            reservation.settled = True
