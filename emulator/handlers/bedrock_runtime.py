"""Bedrock Runtime over local models: Converse, ConverseStream, InvokeModel,
InvokeModelWithResponseStream, CountTokens. Also mounts the OpenAI-compatible API (/v1/).

InvokeModel bodies follow the Bedrock model families: Meta Llama
(``prompt``/``max_gen_len``), Amazon Titan Text (``inputText``/
``textGenerationConfig``), Anthropic Messages (``anthropic_version``/
``messages``) and Amazon Nova (``messages`` with ``inferenceConfig``); the
response uses the same family's shape.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

from emulator.compute.engines.base import EngineError, GenParams
from emulator.compute.inference import (
    INFERENCE_ERRORS,
    Generation,
    UnknownModel,
    count_tokens,
    generate,
)
from emulator.compute.instances import LaunchError, NotReady
from emulator.compute.quotas import SettlingStream, TokenMeter, meter, quota_key
from emulator.compute.scheduler import GenerationTimeout, QueueFull, QueueTimeout
from emulator.context import RequestContext
from emulator.errors import AwsError
from emulator.handlers.base import ComputeHandler, Route, operation

_STOP_REASONS = {"stop": "end_turn", "length": "max_tokens", "cancelled": "end_turn"}


def _validation(message: str) -> AwsError:
    return AwsError("ValidationException", message, 400)


def map_error(exc: BaseException, model_id: str) -> AwsError:
    if isinstance(exc, AwsError):
        return exc
    if isinstance(exc, UnknownModel):
        return AwsError("ResourceNotFoundException", f"Could not resolve the foundation model from the provided model identifier: {model_id}", 404)
    if isinstance(exc, NotReady):
        return AwsError("ModelNotReadyException", f"Model is not ready for inference. {exc}".strip(), 429)
    if isinstance(exc, QueueFull):
        return AwsError("ThrottlingException", "Too many requests, please wait before trying again.", 429,
                        headers={"retry-after": str(int(exc.retry_after + 0.999))})
    if isinstance(exc, QueueTimeout):
        return AwsError("ModelTimeoutException", "Model has timed out in processing the request: no inference slot became free in time.", 408)
    if isinstance(exc, GenerationTimeout):
        return AwsError("ModelTimeoutException", "Model has timed out in processing the request. Try your request again.", 408)
    if isinstance(exc, LaunchError):
        if exc.code.startswith("InvalidAMIID"):
            return AwsError("ResourceNotFoundException", exc.message, 404)
        return AwsError("ServiceUnavailableException", f"The model cannot be loaded: {exc.message}", 503)
    if isinstance(exc, EngineError):
        if exc.status < 500:
            return _validation(str(exc))
        return AwsError("ModelErrorException", str(exc), 424, extra={"originalStatusCode": exc.status, "resourceName": model_id})
    raise exc


def _params_from_inference_config(cfg: dict[str, Any] | None) -> GenParams:
    p = GenParams(max_tokens=512)
    cfg = cfg or {}
    if "maxTokens" in cfg:
        if cfg["maxTokens"] < 1:
            raise _validation("1 validation error detected: Value at 'inferenceConfig.maxTokens' failed to satisfy constraint: Member must have value greater than or equal to 1")
        p.max_tokens = int(cfg["maxTokens"])
    if "temperature" in cfg:
        if not 0 <= cfg["temperature"] <= 1:
            raise _validation("1 validation error detected: Value at 'inferenceConfig.temperature' failed to satisfy constraint: Member must have value less than or equal to 1")
        p.temperature = float(cfg["temperature"])
    if "topP" in cfg:
        if not 0 <= cfg["topP"] <= 1:
            raise _validation("1 validation error detected: Value at 'inferenceConfig.topP' failed to satisfy constraint: Member must have value less than or equal to 1")
        p.top_p = float(cfg["topP"])
    if cfg.get("stopSequences"):
        p.stop = list(cfg["stopSequences"])
    return p


def _text_of(blocks: list[dict[str, Any]], where: str) -> str:
    parts = []
    for block in blocks or []:
        if "text" in block:
            parts.append(block["text"])
        elif any(k in block for k in ("image", "document", "video", "toolUse", "toolResult")):
            kind = next(k for k in ("image", "document", "video", "toolUse", "toolResult") if k in block)
            raise _validation(f"This model doesn't support the {kind} content block that you provided in {where}.")
    return "".join(parts)


def converse_params(params: dict[str, Any]) -> GenParams:
    if params.get("toolConfig"):
        raise _validation("This model doesn't support tool use.")
    gp = _params_from_inference_config(params.get("inferenceConfig"))
    extra = params.get("additionalModelRequestFields")
    if isinstance(extra, dict):
        # Model-specific fields Bedrock passes through (Llama/Mistral/Anthropic spellings).
        try:
            if extra.get("top_k") is not None:
                gp.top_k = int(extra["top_k"])
            if extra.get("seed") is not None:
                gp.seed = int(extra["seed"])
        except (TypeError, ValueError):
            raise _validation("The value of additionalModelRequestFields is not valid for this model.") from None
    return gp


def converse_messages(params: dict[str, Any]) -> list[dict[str, Any]]:
    messages = params.get("messages") or []
    if not messages:
        raise _validation("A conversation must start with a user message. Try again with a conversation that starts with a user message.")
    out: list[dict[str, Any]] = []
    system = "".join(s.get("text", "") for s in params.get("system") or [])
    if system:
        out.append({"role": "system", "content": system})
    if messages[0].get("role") != "user":
        raise _validation("A conversation must start with a user message. Try again with a conversation that starts with a user message.")
    for i, msg in enumerate(messages):
        role = msg.get("role")
        if role not in ("user", "assistant"):
            raise _validation(f"1 validation error detected: Value '{role}' at 'messages.{i + 1}.member.role' failed to satisfy constraint: Member must satisfy enum value set: [user, assistant]")
        out.append({"role": role, "content": _text_of(msg.get("content") or [], f"messages.{i + 1}")})
    return out


def _anthropic_messages(body: dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    system = body.get("system")
    if isinstance(system, list):
        system = "".join(b.get("text", "") for b in system if isinstance(b, dict))
    if system:
        out.append({"role": "system", "content": str(system)})
    msgs = body.get("messages")
    if not isinstance(msgs, list) or not msgs:
        raise _validation("messages: at least one message is required")
    for i, m in enumerate(msgs):
        if not isinstance(m, dict) or m.get("role") not in ("user", "assistant"):
            raise _validation(f"messages.{i}.role: Input should be 'user' or 'assistant'")
        content = m.get("content")
        if isinstance(content, list):
            content = "".join(b.get("text", "") for b in content if isinstance(b, dict) and b.get("type") == "text")
        if not isinstance(content, str):
            raise _validation(f"messages.{i}.content: Input should be a valid string or list of content blocks")
        out.append({"role": m["role"], "content": content})
    return out


def parse_invoke_body(raw: bytes) -> tuple[str, str | None, list[dict[str, Any]] | None, GenParams]:
    """(family, prompt, messages, params) from an InvokeModel body."""
    try:
        body = json.loads(raw or b"{}")
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise _validation("Malformed input request, please reformat your input and try again.") from None
    if not isinstance(body, dict):
        raise _validation("Malformed input request: expected a JSON object, please reformat your input and try again.")
    p = GenParams(max_tokens=512)
    try:
        if "messages" in body and "anthropic_version" not in body and ("inferenceConfig" in body or "schemaVersion" in body or "max_tokens" not in body):
            # Amazon Nova (messages-v1): content blocks {"text"}, system [{"text"}], inferenceConfig.
            cfg = body.get("inferenceConfig") or {}
            p.max_tokens = int(cfg.get("maxTokens", cfg.get("max_new_tokens", 512)))
            p.temperature = float(cfg.get("temperature", 0.7))
            p.top_p = float(cfg.get("topP", cfg.get("top_p", 0.9)))
            p.stop = list(cfg.get("stopSequences") or [])
            if not isinstance(body["messages"], list):
                raise _validation("Malformed input request: #/messages: expected type: JSONArray, please reformat your input and try again.")
            return "nova", None, converse_messages({"messages": body["messages"], "system": body.get("system")}), p
        if "anthropic_version" in body or "messages" in body:
            if "max_tokens" not in body:
                raise _validation("Malformed input request: #: required key [max_tokens] not found, please reformat your input and try again.")
            p.max_tokens = int(body["max_tokens"])
            p.temperature = float(body.get("temperature", 1.0))
            p.top_p = float(body.get("top_p", p.top_p))
            p.top_k = int(body.get("top_k", p.top_k))
            p.stop = list(body.get("stop_sequences") or [])
            return "anthropic", None, _anthropic_messages(body), p
        if "inputText" in body:
            cfg = body.get("textGenerationConfig") or {}
            p.max_tokens = int(cfg.get("maxTokenCount", 512))
            p.temperature = float(cfg.get("temperature", 0.7))
            p.top_p = float(cfg.get("topP", 0.9))
            p.stop = list(cfg.get("stopSequences") or [])
            if not isinstance(body["inputText"], str):
                raise _validation("Malformed input request: #/inputText: expected type: String, please reformat your input and try again.")
            return "titan", body["inputText"], None, p
        if "prompt" in body:
            if not isinstance(body["prompt"], str):
                raise _validation("Malformed input request: #/prompt: expected type: String, please reformat your input and try again.")
            p.max_tokens = int(body.get("max_gen_len") or body.get("max_tokens") or 512)
            p.temperature = float(body.get("temperature", 0.5))
            p.top_p = float(body.get("top_p", 0.9))
            if body.get("stop"):
                p.stop = [body["stop"]] if isinstance(body["stop"], str) else list(body["stop"])
            if body.get("seed") is not None:
                p.seed = int(body["seed"])
            return "llama", body["prompt"], None, p
    except (TypeError, ValueError):
        raise _validation("Malformed input request, please reformat your input and try again.") from None
    raise _validation("Malformed input request: #: required key [prompt] not found, please reformat your input and try again.")


def _check_params(p: GenParams) -> None:
    if p.max_tokens < 1:
        raise _validation("Malformed input request: #/max_gen_len: 0 is not greater or equal to 1, please reformat your input and try again.")
    if not 0 <= p.temperature <= 2:
        raise _validation("Malformed input request: #/temperature: must be between 0 and 1, please reformat your input and try again.")
    if not 0 <= p.top_p <= 1:
        raise _validation("Malformed input request: #/top_p: must be between 0 and 1, please reformat your input and try again.")


def _metrics(gen: Generation) -> dict[str, int]:
    return {"inputTokenCount": gen.prompt_tokens, "outputTokenCount": gen.completion_tokens,
            "invocationLatency": gen.latency_ms, "firstByteLatency": gen.first_byte_ms}


def invoke_response(family: str, gen: Generation, model_id: str) -> dict[str, Any]:
    if family == "nova":
        return {"output": {"message": {"role": "assistant", "content": [{"text": gen.text}]}},
                "stopReason": _STOP_REASONS.get(gen.finish_reason, "end_turn"),
                "usage": {"inputTokens": gen.prompt_tokens, "outputTokens": gen.completion_tokens, "totalTokens": gen.prompt_tokens + gen.completion_tokens}}
    if family == "anthropic":
        return {
            "id": "msg_bdrk_" + uuid.uuid4().hex[:24], "type": "message", "role": "assistant", "model": gen.target.model.name,
            "content": [{"type": "text", "text": gen.text}], "stop_reason": _STOP_REASONS.get(gen.finish_reason, "end_turn"),
            "stop_sequence": None, "usage": {"input_tokens": gen.prompt_tokens, "output_tokens": gen.completion_tokens},
        }
    if family == "titan":
        return {"inputTextTokenCount": gen.prompt_tokens, "results": [{
            "tokenCount": gen.completion_tokens, "outputText": gen.text,
            "completionReason": "LENGTH" if gen.finish_reason == "length" else "FINISH"}]}
    return {"generation": gen.text, "prompt_token_count": gen.prompt_tokens, "generation_token_count": gen.completion_tokens,
            "stop_reason": "length" if gen.finish_reason == "length" else "stop"}


class BedrockRuntimeHandler(ComputeHandler):
    service = "bedrock-runtime"

    def routes(self) -> list[Route]:
        from emulator.compute.openai_routes import OPENAI_PREFIXES, OpenAIApi

        api = OpenAIApi(self.runtime, self.compute)
        # Only OpenAI's own paths: 900+ AWS REST operations (Batch, MSK, AppSync, ...) live under /v1/ too.
        return [Route(prefix, api.handle) for prefix in OPENAI_PREFIXES]

    def health(self) -> dict[str, Any]:
        return {"state": "running", "models": len(self.compute.store.list())}

    def _telemetry(self, ctx: RequestContext, model_id: str, gen: Generation, streamed: bool) -> None:
        ctx.telemetry.update({
            "model_id": model_id, "model": gen.target.model.name, "instance_id": gen.target.instance.instance_id,
            "input_tokens": gen.prompt_tokens, "output_tokens": gen.completion_tokens,
            "latency_ms": gen.latency_ms, "first_byte_ms": gen.first_byte_ms, "streamed": streamed,
            "finish_reason": gen.finish_reason,
        })

    async def _start(self, ctx: RequestContext, model_id: str, prompt: str | None, messages: list[dict[str, Any]] | None,
                     params: GenParams) -> tuple[Generation, TokenMeter]:
        """Reserve the key's tokens (input + max_tokens; ThrottlingException when over its
        quotas), then start generating; the caller settles the meter with the usage."""
        _check_params(params)
        try:
            tokens = await meter(self.runtime, self.compute, quota_key(ctx.principal), model_id, prompt, messages, params.max_tokens)
        except INFERENCE_ERRORS as exc:
            raise map_error(exc, model_id) from None
        try:
            return await generate(self.compute, model_id, prompt, messages, params), tokens
        except INFERENCE_ERRORS as exc:
            tokens.settle(None)
            raise map_error(exc, model_id) from None
        except BaseException:
            tokens.settle(None)
            raise

    async def _collect(self, gen: Generation, tokens: TokenMeter, model_id: str) -> None:
        try:
            await gen.collect()
        except INFERENCE_ERRORS as exc:
            raise map_error(exc, model_id) from None
        finally:
            tokens.settle(gen)

    # ------------------------------------------------------------ Converse
    @operation("Converse")
    async def converse(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        model_id = params["modelId"]
        messages = converse_messages(params)
        gen, tokens = await self._start(ctx, model_id, None, messages, converse_params(params))
        await self._collect(gen, tokens, model_id)
        self._telemetry(ctx, model_id, gen, False)
        return {
            "output": {"message": {"role": "assistant", "content": [{"text": gen.text}]}},
            "stopReason": _STOP_REASONS.get(gen.finish_reason, "end_turn"),
            "usage": {"inputTokens": gen.prompt_tokens, "outputTokens": gen.completion_tokens, "totalTokens": gen.prompt_tokens + gen.completion_tokens},
            "metrics": {"latencyMs": gen.latency_ms},
        }

    @operation("ConverseStream")
    async def converse_stream(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        model_id = params["modelId"]
        messages = converse_messages(params)
        gen, tokens = await self._start(ctx, model_id, None, messages, converse_params(params))

        async def events() -> AsyncIterator[dict[str, Any]]:
            try:
                yield {"messageStart": {"role": "assistant"}}
                async for text in gen.texts():
                    yield {"contentBlockDelta": {"delta": {"text": text}, "contentBlockIndex": 0}}
                yield {"contentBlockStop": {"contentBlockIndex": 0}}
                yield {"messageStop": {"stopReason": _STOP_REASONS.get(gen.finish_reason, "end_turn")}}
                yield {"metadata": {
                    "usage": {"inputTokens": gen.prompt_tokens, "outputTokens": gen.completion_tokens, "totalTokens": gen.prompt_tokens + gen.completion_tokens},
                    "metrics": {"latencyMs": gen.latency_ms},
                }}
                self._telemetry(ctx, model_id, gen, True)
            except (QueueTimeout, GenerationTimeout, EngineError) as exc:
                raise map_error(exc, model_id) from None
            finally:
                await gen.aclose()

        return {"stream": SettlingStream(events(), tokens, lambda: gen)}

    # --------------------------------------------------------- InvokeModel
    def _check_content_type(self, params: dict[str, Any]) -> None:
        ctype = (params.get("contentType") or "application/json").split(";")[0].strip().lower()
        if ctype not in ("application/json", "*/*"):
            raise _validation(f"The provided content type {ctype} is not supported: use application/json")
        accept = (params.get("accept") or "application/json").split(";")[0].strip().lower()
        if accept not in ("application/json", "*/*"):
            raise _validation(f"The provided accept type {accept} is not supported: use application/json")

    @operation("InvokeModel")
    async def invoke_model(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        model_id = params["modelId"]
        self._check_content_type(params)
        family, prompt, messages, gp = parse_invoke_body(params.get("body") or b"")
        gen, tokens = await self._start(ctx, model_id, prompt, messages, gp)
        await self._collect(gen, tokens, model_id)
        self._telemetry(ctx, model_id, gen, False)
        return {"body": json.dumps(invoke_response(family, gen, model_id)).encode(), "contentType": "application/json"}

    @operation("InvokeModelWithResponseStream")
    async def invoke_model_with_response_stream(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        model_id = params["modelId"]
        self._check_content_type(params)
        family, prompt, messages, gp = parse_invoke_body(params.get("body") or b"")
        gen, tokens = await self._start(ctx, model_id, prompt, messages, gp)

        def chunk(doc: dict[str, Any]) -> dict[str, Any]:
            return {"chunk": {"bytes": json.dumps(doc).encode()}}

        async def events() -> AsyncIterator[dict[str, Any]]:
            try:
                if family == "anthropic":
                    msg_id = "msg_bdrk_" + uuid.uuid4().hex[:24]
                    yield chunk({"type": "message_start", "message": {"id": msg_id, "type": "message", "role": "assistant", "model": gen.target.model.name,
                                                                      "content": [], "stop_reason": None, "stop_sequence": None, "usage": {"input_tokens": 0, "output_tokens": 0}}})
                    yield chunk({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}})
                    async for text in gen.texts():
                        yield chunk({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": text}})
                    yield chunk({"type": "content_block_stop", "index": 0})
                    yield chunk({"type": "message_delta", "delta": {"stop_reason": _STOP_REASONS.get(gen.finish_reason, "end_turn"), "stop_sequence": None},
                                 "usage": {"output_tokens": gen.completion_tokens}})
                    yield chunk({"type": "message_stop", "amazon-bedrock-invocationMetrics": _metrics(gen)})
                elif family == "nova":
                    yield chunk({"messageStart": {"role": "assistant"}})
                    async for text in gen.texts():
                        yield chunk({"contentBlockDelta": {"delta": {"text": text}, "contentBlockIndex": 0}})
                    yield chunk({"contentBlockStop": {"contentBlockIndex": 0}})
                    yield chunk({"messageStop": {"stopReason": _STOP_REASONS.get(gen.finish_reason, "end_turn")}})
                    yield chunk({"metadata": {"usage": {"inputTokens": gen.prompt_tokens, "outputTokens": gen.completion_tokens},
                                              "metrics": {}, "trace": {}}, "amazon-bedrock-invocationMetrics": _metrics(gen)})
                elif family == "titan":
                    count = 0
                    async for text in gen.texts():
                        count += 1
                        yield chunk({"outputText": text, "index": 0, "totalOutputTextTokenCount": count, "completionReason": None,
                                     "inputTextTokenCount": None})
                    yield chunk({"outputText": "", "index": 0, "totalOutputTextTokenCount": gen.completion_tokens,
                                 "completionReason": "LENGTH" if gen.finish_reason == "length" else "FINISH",
                                 "inputTextTokenCount": gen.prompt_tokens, "amazon-bedrock-invocationMetrics": _metrics(gen)})
                else:
                    count = 0
                    async for text in gen.texts():
                        count += 1
                        yield chunk({"generation": text, "prompt_token_count": None, "generation_token_count": count, "stop_reason": None})
                    yield chunk({"generation": "", "prompt_token_count": gen.prompt_tokens, "generation_token_count": gen.completion_tokens,
                                 "stop_reason": "length" if gen.finish_reason == "length" else "stop",
                                 "amazon-bedrock-invocationMetrics": _metrics(gen)})
                self._telemetry(ctx, model_id, gen, True)
            except (QueueTimeout, GenerationTimeout, EngineError) as exc:
                raise map_error(exc, model_id) from None
            finally:
                await gen.aclose()

        return {"body": SettlingStream(events(), tokens, lambda: gen), "contentType": "application/json"}

    # --------------------------------------------------------- CountTokens
    @operation("CountTokens")
    async def count_tokens(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        model_id = params["modelId"]
        source = params.get("input") or {}
        prompt: str | None = None
        messages: list[dict[str, Any]] | None = None
        if "converse" in source:
            messages = converse_messages(source["converse"])
        elif "invokeModel" in source:
            _, prompt, messages, _ = parse_invoke_body(source["invokeModel"].get("body") or b"")
        else:
            raise _validation("The input must contain either invokeModel or converse.")
        started = time.perf_counter()
        try:
            tokens = await count_tokens(self.compute, model_id, prompt, messages)
        except INFERENCE_ERRORS as exc:
            raise map_error(exc, model_id) from None
        ctx.telemetry.update({"model_id": model_id, "input_tokens": tokens, "latency_ms": int((time.perf_counter() - started) * 1000)})
        return {"inputTokens": tokens}
