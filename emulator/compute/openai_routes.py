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
    bedrock_model,
    can_embed,
    embedding_target,
    pooled_vectors,
)
from emulator.compute.engines.base import (
    ContextLengthExceeded,
    EngineError,
    GenParams,
    mark_prefill,
)
from emulator.compute.inference import (
    INFERENCE_ERRORS,
    Generation,
    Scope,
    UnknownModel,
    generate,
)
from emulator.compute.instances import LaunchError, NotReady
from emulator.compute.quotas import SettlingStream, TokenMeter, meter, model_arn
from emulator.compute.scheduler import GenerationTimeout, QueueFull, QueueTimeout
from emulator.context import Principal, RequestContext
from emulator.errors import AwsError
from emulator.gateway import security
from emulator.gateway.authorize import denied_message
from emulator.protocols.base import Request, Response

if TYPE_CHECKING:
    from emulator.compute.service import ComputeService
    from emulator.runtime import Runtime


# No AWS REST operation in botocore's models has a requestUri under /v1/files or /v1/batches
# (the nearest: Trusted Advisor's /v1/batch-update-recommendation-resource-exclusion).
OPENAI_PREFIXES = ("/v1/models", "/v1/chat/completions", "/v1/completions", "/v1/embeddings", "/v1/responses", "/v1/files", "/v1/batches")
_GENERATION_PATHS = ("/v1/chat/completions", "/v1/completions", "/v1/embeddings", "/v1/responses")
_STORE_PATHS = ("/v1/files", "/v1/batches")


class ApiError(Exception):
    def __init__(self, status: int, message: str, type_: str = "invalid_request_error", code: str | None = None,
                 param: str | None = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type_
        self.code = code
        self.param = param
        self.headers = headers or {}

    def response(self) -> Response:
        body = {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}
        return Response(self.status, {"content-type": "application/json", **self.headers}, orjson.dumps(body))


def invalid_url(request: Request) -> Response:
    """OpenAI's answer to a path (or a method on it) that it does not serve; also every /v1 path
    that no AWS operation has (emulator.app)."""
    response = ApiError(404, f"Invalid URL ({request.method} {request.path})").response()
    response.headers["x-request-id"] = request.request_id
    return response


def _json(status: int, doc: Any) -> Response:
    return Response(status, {"content-type": "application/json"}, orjson.dumps(doc))


def map_error(exc: BaseException, model: str) -> ApiError:
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, UnknownModel):
        return ApiError(404, f"The model `{model}` does not exist or you do not have access to it.", code="model_not_found", param="model")
    if isinstance(exc, NotReady):
        return ApiError(503, f"The model `{model}` is not ready: {exc}", type_="server_error", code="model_not_ready")
    if isinstance(exc, QueueFull):
        retry = str(int(exc.retry_after + 0.999))
        return ApiError(429, f"Rate limit reached for {model}: the request queue is full. Please try again in {retry}s.",
                        type_="requests", code="rate_limit_exceeded", headers={"retry-after": retry})
    if isinstance(exc, QueueTimeout | GenerationTimeout):
        return ApiError(408, "Request timed out.", type_="timeout", code="timeout")
    if isinstance(exc, LaunchError):
        return ApiError(503, f"The model `{model}` cannot be loaded: {exc.message}", type_="server_error", code="insufficient_capacity")
    if isinstance(exc, ContextLengthExceeded):
        return context_error(exc)
    if isinstance(exc, EngineError):
        if exc.status < 500:
            return ApiError(400, str(exc), code="invalid_request")
        return ApiError(500, str(exc), type_="server_error")
    raise exc


def context_error(exc: ContextLengthExceeded) -> ApiError:
    """OpenAI's answer to a chat over the model's context (code context_length_exceeded, param
    messages; its wording). A legacy completion's prompt gets the same sentence about the prompt
    (ours: the completion is cut to what fits, so only the prompt can be too long)."""
    what = "messages" if exc.field == "messages" else "prompt"
    return ApiError(400, f"This model's maximum context length is {exc.limit} tokens. However, your {what} resulted in {exc.tokens} tokens. "
                    f"Please reduce the length of the {what}.", code="context_length_exceeded", param=exc.field)


def continue_final_message(body: dict[str, Any]) -> bool:
    """vLLM's chat extension ``continue_final_message`` (OpenAI documents no prefill): the final
    message is continued instead of answered. vLLM refuses it with ``add_generation_prompt``
    true (its words); false, or absent, is what continuing means."""
    value = body.get("continue_final_message", False)
    if not isinstance(value, bool):
        raise ApiError(400, "Invalid type for 'continue_final_message': expected a boolean.", code="invalid_type", param="continue_final_message")
    if value and body.get("add_generation_prompt") is True:
        raise ApiError(400, "Cannot set both `continue_final_message` and `add_generation_prompt` to True.", param="continue_final_message")
    messages = body.get("messages")
    final = messages[-1] if value and isinstance(messages, list) and messages else None
    if isinstance(final, dict) and final.get("role") != "assistant":
        # Continuing is prefilling the assistant's answer: a final message of another role has no
        # answer to continue (vLLM refuses it too; the wording is ours).
        raise ApiError(400, "`continue_final_message` is set but the final message is not from the assistant.", param="continue_final_message")
    return value


def _number(body: dict[str, Any], name: str, lo: float, hi: float, default: float) -> float:
    value = body.get(name)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ApiError(400, f"Invalid type for '{name}': expected a decimal, but got a {type(value).__name__} instead.", code="invalid_type", param=name)
    if not lo <= value <= hi:
        raise ApiError(400, f"Invalid '{name}': decimal above maximum value. Expected a value <= {hi:g}, but got {value} instead."
                       if value > hi else f"Invalid '{name}': decimal below minimum value. Expected a value >= {lo:g}, but got {value} instead.",
                       code="decimal_above_max_value" if value > hi else "decimal_below_min_value", param=name)
    return float(value)


def gen_params(body: dict[str, Any]) -> GenParams:
    p = GenParams(max_tokens=256, temperature=1.0, top_p=1.0)
    max_tokens = body.get("max_completion_tokens", body.get("max_tokens"))
    if max_tokens is not None:
        if isinstance(max_tokens, bool) or not isinstance(max_tokens, int):
            raise ApiError(400, "Invalid type for 'max_tokens': expected an integer.", code="invalid_type", param="max_tokens")
        if max_tokens < 1:
            raise ApiError(400, f"Invalid 'max_tokens': integer below minimum value. Expected a value >= 1, but got {max_tokens} instead.",
                           code="integer_below_min_value", param="max_tokens")
        p.max_tokens = max_tokens
    p.temperature = _number(body, "temperature", 0, 2, 1.0)
    p.top_p = _number(body, "top_p", 0, 1, 1.0)
    stop = body.get("stop")
    if stop is not None:
        if isinstance(stop, str):
            p.stop = [stop]
        elif isinstance(stop, list) and all(isinstance(s, str) for s in stop) and len(stop) <= 4:
            p.stop = list(stop)
        else:
            raise ApiError(400, "Invalid 'stop': expected a string or an array of up to 4 strings.", param="stop")
    seed = body.get("seed")
    if seed is not None:
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise ApiError(400, "Invalid type for 'seed': expected an integer.", code="invalid_type", param="seed")
        p.seed = seed
    n = body.get("n", 1)
    if n not in (1, None):
        raise ApiError(400, "Only n=1 is supported by this server.", param="n", code="unsupported_value")
    p.presence_penalty = _number(body, "presence_penalty", -2, 2, 0.0)
    p.frequency_penalty = _number(body, "frequency_penalty", -2, 2, 0.0)
    # Refused rather than ignored: a client asking for them would get an answer without them.
    for name in ("logprobs", "top_logprobs", "logit_bias"):
        if body.get(name) not in (None, False, 0, {}):
            raise ApiError(400, f"'{name}' is not supported by this server.", param=name, code="unsupported_parameter")
    return p


# The request fields each endpoint knows: the openai client's create() parameters (3.x), plus
# vLLM's chat extensions that are served (continue_final_message, add_generation_prompt) and the
# Responses API's seed (served as chat's). Any other field is refused (``unknown_fields``):
# OpenAI's answer, and never a field silently left out.
CHAT_FIELDS = frozenset({
    "audio", "frequency_penalty", "function_call", "functions", "logit_bias", "logprobs", "max_completion_tokens", "max_tokens", "messages",
    "metadata", "modalities", "model", "moderation", "n", "parallel_tool_calls", "prediction", "presence_penalty", "prompt_cache_key",
    "prompt_cache_options", "prompt_cache_retention", "reasoning_effort", "response_format", "safety_identifier", "seed", "service_tier",
    "stop", "store", "stream", "stream_options", "temperature", "tool_choice", "tools", "top_logprobs", "top_p", "user", "verbosity",
    "web_search_options", "continue_final_message", "add_generation_prompt",
})
COMPLETION_FIELDS = frozenset({
    "best_of", "echo", "frequency_penalty", "logit_bias", "logprobs", "max_tokens", "model", "n", "presence_penalty", "prompt", "seed",
    "stop", "stream", "stream_options", "suffix", "temperature", "top_p", "user",
})
EMBEDDING_FIELDS = frozenset({"dimensions", "encoding_format", "input", "model", "user"})
RESPONSE_FIELDS = frozenset({
    "access_programs", "background", "background_options", "context_management", "conversation", "image", "include", "input",
    "instructions", "max_output_tokens", "max_tool_calls", "metadata", "model", "moderation", "parallel_tool_calls", "previous_response_id",
    "prompt", "prompt_cache_key", "prompt_cache_options", "prompt_cache_retention", "reasoning", "safety_identifier", "service_tier", "store",
    "stream", "stream_options", "temperature", "text", "tool_choice", "tools", "top_logprobs", "top_p", "truncation", "user", "seed",
})
# Known fields that change nothing about the output (caching, storage, routing, attribution): accepted
# when of their type (null is leaving them out).
_NO_EFFECT: dict[str, tuple[type, str]] = {
    "store": (bool, "a boolean"), "user": (str, "a string"), "safety_identifier": (str, "a string"), "prompt_cache_key": (str, "a string"),
    "prompt_cache_retention": (str, "a string"), "prompt_cache_options": (dict, "an object"), "parallel_tool_calls": (bool, "a boolean"),
    "prediction": (dict, "an object"), "max_tool_calls": (int, "an integer"), "add_generation_prompt": (bool, "a boolean"),
}
SERVICE_TIERS = ("auto", "default", "flex", "scale", "priority", "fast")
MAX_METADATA = (16, 64, 512)  # pairs, key length, value length (OpenAI's metadata)


def unknown_fields(body: dict[str, Any], known: frozenset[str], *, responses: bool = False) -> None:
    """OpenAI's answer to a field the endpoint does not know: chat, completions and embeddings
    say "Unrecognized request argument supplied: x" (param and code null), the Responses API
    "Unknown parameter: 'x'." (param x, code unknown_parameter)."""
    extra = [name for name in body if name not in known]
    if not extra:
        return
    if responses:
        raise ApiError(400, f"Unknown parameter: '{extra[0]}'.", param=extra[0], code="unknown_parameter")
    if len(extra) == 1:
        raise ApiError(400, f"Unrecognized request argument supplied: {extra[0]}")
    raise ApiError(400, f"Unrecognized request arguments supplied: {', '.join(extra)}")


def no_effect_fields(body: dict[str, Any]) -> None:
    """The accepted fields that change nothing about the output, checked for their type;
    ``metadata`` as OpenAI bounds it."""
    for name, (kind, shown) in _NO_EFFECT.items():
        value = body.get(name)
        if value is not None and (not isinstance(value, kind) or (kind is int and isinstance(value, bool))):
            raise ApiError(400, f"Invalid type for '{name}': expected {shown}, but got {_json_type(value)} instead.", param=name, code="invalid_type")
    metadata_param(body.get("metadata"))


def metadata_param(value: Any) -> dict[str, str] | None:
    """``metadata`` (chat, responses, batches): at most 16 string pairs, keys up to 64 characters, values up to 512."""
    if value is None:
        return None
    pairs, key_len, value_len = MAX_METADATA
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise ApiError(400, "Invalid type for 'metadata': expected an object with string values.", param="metadata", code="invalid_type")
    if len(value) > pairs:
        raise ApiError(400, f"Invalid 'metadata': too many properties. Expected an object with at most {pairs} properties, but got {len(value)} instead.",
                       param="metadata", code="object_above_max_properties")
    for k, v in value.items():
        if len(k) > key_len:
            raise ApiError(400, f"Invalid 'metadata': key '{k[:20]}...' is longer than {key_len} characters.", param="metadata", code="invalid_value")
        if len(v) > value_len:
            raise ApiError(400, f"Invalid 'metadata.{k}': string too long. Expected a string with maximum length {value_len}, but got a string "
                           f"with length {len(v)} instead.", param=f"metadata.{k}", code="string_above_max_length")
    return dict(value)


def service_tier(body: dict[str, Any]) -> str:
    """The ``service_tier`` a response reports: one tier serves everything here, so only the
    name changes, as OpenAI reports it ("auto" and unset: "default"; "fast": "priority")."""
    tier = body.get("service_tier")
    if tier is None:
        return "default"
    if tier not in SERVICE_TIERS:
        shown = ", ".join(f"'{t}'" for t in SERVICE_TIERS[:-1]) + f", and '{SERVICE_TIERS[-1]}'"
        raise ApiError(400, f"Invalid value: '{tier}'. Supported values are: {shown}.", param="service_tier", code="invalid_value")
    return {"auto": "default", "fast": "priority"}.get(tier, tier)


def unsupported(name: str) -> ApiError:
    return ApiError(400, f"'{name}' is not supported by this server.", param=name, code="unsupported_parameter")


def chat_unsupported(body: dict[str, Any]) -> None:
    """Chat fields OpenAI knows that no local model serves: refused, naming them."""
    modalities = body.get("modalities")
    if modalities is not None:
        if not isinstance(modalities, list) or not all(isinstance(m, str) for m in modalities):
            raise ApiError(400, f"Invalid type for 'modalities': expected an array of strings, but got {_json_type(modalities)} instead.",
                           param="modalities", code="invalid_type")
        for m in modalities:
            if m not in ("text", "audio"):
                raise ApiError(400, f"Invalid value: '{m}'. Supported values are: 'text' and 'audio'.", param="modalities", code="invalid_value")
        if "audio" in modalities:
            raise ApiError(400, "Audio output ('modalities' with 'audio') is not supported by this server.", param="modalities",
                           code="unsupported_value")
    for name in ("audio", "web_search_options", "moderation"):
        if body.get(name) is not None:
            raise unsupported(name)
    if body.get("reasoning_effort") is not None:  # OpenAI's answer for a model that does not reason
        raise ApiError(400, "Unsupported parameter: 'reasoning_effort' is not supported with this model.", param="reasoning_effort",
                       code="unsupported_parameter")
    verbosity = body.get("verbosity")
    if verbosity not in (None, "medium"):  # OpenAI's answer for a model without verbosity levels
        raise ApiError(400, f"Unsupported value: 'verbosity' does not support '{verbosity}' with this model. Supported values are: 'medium'.",
                       param="verbosity", code="unsupported_value")
    for name in ("tool_choice", "function_call"):  # without tools, only "none" and "auto" ask for nothing
        if body.get(name) not in (None, "none", "auto"):
            raise unsupported(name)
    if body.get("add_generation_prompt") is False and body.get("continue_final_message") is not True:
        # vLLM: render without the assistant's header (no answer opened); only a continued final message is served so.
        raise ApiError(400, "'add_generation_prompt' false is supported by this server only with 'continue_final_message' true.",
                       param="add_generation_prompt", code="unsupported_value")


def response_format(body: dict[str, Any], messages: list[dict[str, Any]]) -> dict[str, Any] | None:
    """OpenAI's ``response_format`` for a chat completion, checked as OpenAI checks it; None for text."""
    fmt = body.get("response_format")
    if fmt is None:
        return None
    if not isinstance(fmt, dict) or not isinstance(fmt.get("type"), str):
        raise ApiError(400, "Invalid type for 'response_format': expected an object with a string 'type'.", param="response_format", code="invalid_type")
    kind = fmt["type"]
    if kind == "text":
        return None
    if kind == "json_object":
        words: list[str] = []
        for m in messages:
            content = m.get("content")
            if isinstance(content, str):
                words.append(content)
            elif isinstance(content, list):
                words.extend(str(part.get("text", "")) for part in content if isinstance(part, dict))
        if "json" not in " ".join(words).lower():
            raise ApiError(400, "'messages' must contain the word 'json' in some form, to use 'response_format' of type 'json_object'.", param="messages")
        return {"type": "json_object"}
    if kind == "json_schema":
        spec = fmt.get("json_schema")
        if not isinstance(spec, dict):
            raise ApiError(400, "Missing required parameter: 'response_format.json_schema'.", param="response_format.json_schema", code="missing_required_parameter")
        name = spec.get("name")
        if not isinstance(name, str) or not name:
            raise ApiError(400, "Missing required parameter: 'response_format.json_schema.name'.", param="response_format.json_schema.name", code="missing_required_parameter")
        schema = spec.get("schema", {})
        if not isinstance(schema, dict):
            raise ApiError(400, "Invalid type for 'response_format.json_schema.schema': expected an object.", param="response_format.json_schema.schema", code="invalid_type")
        return {"type": "json_schema", "json_schema": {"name": name, "schema": schema, "strict": bool(spec.get("strict"))}}
    raise ApiError(400, f"Invalid value: '{kind}'. Supported values are: 'text', 'json_object', and 'json_schema'.", param="response_format.type", code="invalid_value")


_JSON_TYPES = {str: "string", int: "integer", float: "decimal", bool: "boolean", dict: "object", list: "array"}


def _json_type(value: Any) -> str:
    return _JSON_TYPES.get(type(value), "null")


def no_tools(model: str, param: str) -> ApiError:
    """How a tool request is refused (the model has no tool calling): ``tools`` / ``functions``
    and a history holding tool calls or tool results alike, naming what carried them."""
    return ApiError(400, f"The model `{model}` does not support tools or function calling.", param=param, code="unsupported_parameter")


def stream_options(body: dict[str, Any]) -> bool:
    """``stream_options.include_usage``; OpenAI refuses stream_options without ``stream: true`` (its words)."""
    opts = body.get("stream_options")
    if opts is None:
        return False
    if body.get("stream") is not True:
        raise ApiError(400, "The 'stream_options' parameter is only allowed when 'stream' is enabled.", param="stream_options")
    if not isinstance(opts, dict):
        raise ApiError(400, f"Invalid type for 'stream_options': expected an object, but got {_json_type(opts)} instead.",
                       param="stream_options", code="invalid_type")
    return bool(opts.get("include_usage"))


def chat_messages(body: dict[str, Any]) -> list[dict[str, Any]]:
    msgs = body.get("messages")
    if msgs is None:
        raise ApiError(400, "Missing required parameter: 'messages'.", param="messages", code="missing_required_parameter")
    if not isinstance(msgs, list):
        raise ApiError(400, f"Invalid type for 'messages': expected an array, but got {_json_type(msgs)} instead.", param="messages", code="invalid_type")
    if not msgs:
        raise ApiError(400, "Invalid 'messages': empty array. Expected an array with minimum length 1.", param="messages", code="empty_array")
    out = []
    for i, m in enumerate(msgs):
        if not isinstance(m, dict) or m.get("role") not in ("system", "developer", "user", "assistant", "tool"):
            raise ApiError(400, f"Invalid value for 'messages[{i}].role'.", param=f"messages[{i}].role", code="invalid_value")
        # A history with tool calls or tool results needs tool calling, which no local model has.
        for key in ("tool_calls", "function_call"):
            if m.get(key) not in (None, []):
                raise no_tools(str(body.get("model")), f"messages[{i}].{key}")
        if m["role"] == "tool":
            raise no_tools(str(body.get("model")), f"messages[{i}].role")
        content = m.get("content")
        if content is None and m["role"] != "assistant":
            # OpenAI: only an assistant message may leave content out (it then carries tool calls).
            raise ApiError(400, "Invalid value for 'content': expected a string, got null.", param=f"messages[{i}].content")
        if isinstance(content, list):
            parts = []
            for part in content:
                if not isinstance(part, dict) or part.get("type") != "text":
                    raise ApiError(400, f"Invalid content part in 'messages[{i}].content': only text parts are supported by this model.",
                                   param=f"messages[{i}].content")
                parts.append(str(part.get("text", "")))
            content = "".join(parts)
        elif content is None:
            content = ""
        elif not isinstance(content, str):
            raise ApiError(400, f"Invalid type for 'messages[{i}].content'.", param=f"messages[{i}].content", code="invalid_type")
        role = "system" if m["role"] == "developer" else m["role"]
        out.append({"role": role, "content": content})
    return out


MAX_EMBEDDING_INPUTS = 2048  # OpenAI's embeddings reference: "any array must be 2048 dimensions or less"
EMBEDDING_MAX_TOKENS = 8192  # a local model's input limit (the engine caps it at the context); Bedrock's largest


def _token_array(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(t, int) and not isinstance(t, bool) for t in value)


def embedding_inputs(value: Any) -> list[str] | list[list[int]]:
    """``input`` of /v1/embeddings as OpenAI takes it: a string, an array of strings, an array of
    token ids, or an array of token arrays; none empty, at most 2048 items."""
    if isinstance(value, str) and value:
        return [value]
    if _token_array(value):
        return [list(value)]
    if isinstance(value, list) and 0 < len(value) <= MAX_EMBEDDING_INPUTS:
        if all(isinstance(t, str) and t for t in value):
            return list(value)
        if all(_token_array(t) for t in value):
            return [list(t) for t in value]
    raise ApiError(400, "Invalid 'input': expected a non-empty string, an array of up to 2048 non-empty strings, "
                   "an array of token ids, or an array of up to 2048 non-empty token arrays.", param="input", code="invalid_value")


def completion_prompts(value: Any) -> list[str]:
    """``prompt`` of a legacy completion: a string, or an array of strings (one choice each, in
    order). Token arrays, which OpenAI takes too, are refused: the engines generate from text."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        if not value:
            raise ApiError(400, "Invalid 'prompt': empty array. Expected an array with minimum length 1.", param="prompt", code="empty_array")
        if all(isinstance(p, str) for p in value):
            return list(value)
        if _token_array(value) or all(_token_array(p) for p in value):
            raise ApiError(400, "Token-array prompts are not supported by this server; send the prompt as a string or an array of strings.",
                           param="prompt", code="unsupported_value")
    raise ApiError(400, f"Invalid type for 'prompt': expected a string or an array of strings, but got {_json_type(value)} instead.",
                   param="prompt", code="invalid_type")


def embedding_size(model: str, dimensions: Any) -> tuple[int | None, int]:
    """(output size, max input tokens) for /v1/embeddings: a Bedrock embedding id has its sizes
    (``dimensions`` picks one of Titan V2's); another model answers its own size and takes no
    ``dimensions`` (OpenAI's words for a model without them)."""
    spec = EMBEDDING_MODELS.get(bedrock_model(model))
    if dimensions is not None and (isinstance(dimensions, bool) or not isinstance(dimensions, int)):
        raise ApiError(400, f"Invalid type for 'dimensions': expected an integer, but got {_json_type(dimensions)} instead.",
                       param="dimensions", code="invalid_type")
    if spec is None:
        if dimensions is not None:
            raise ApiError(400, "This model does not support specifying dimensions.", param="dimensions", code="unsupported_parameter")
        return None, EMBEDDING_MAX_TOKENS
    sizes, default, max_tokens = spec
    if dimensions is not None and dimensions not in sizes:
        shown = ", ".join(str(n) for n in sizes)
        raise ApiError(400, f"Invalid 'dimensions': the model `{model}` answers {shown} dimensions.", param="dimensions",
                       code="invalid_value")  # ours
    return dimensions or default, max_tokens


def _store_action(method: str, path: str) -> str:
    """Files and batches are authorized as Bedrock's batch inference (model invocation jobs), whose
    inputs and outputs they are: creating a batch, uploading or deleting a file ->
    bedrock:CreateModelInvocationJob; listing either -> bedrock:ListModelInvocationJobs; reading
    one (a file's content too) -> bedrock:GetModelInvocationJob; cancelling a batch ->
    bedrock:StopModelInvocationJob. Each request of a batch is then authorized when it runs, as
    the live endpoint authorizes it (bedrock:InvokeModel on the model), with the creator's key."""
    parts = path.split("/")  # "", "v1", "files" | "batches", id, "content" | "cancel"
    if len(parts) == 3:
        return "bedrock:CreateModelInvocationJob" if method == "POST" else "bedrock:ListModelInvocationJobs"
    if method == "POST" and parts[-1] == "cancel":
        return "bedrock:StopModelInvocationJob"
    return "bedrock:CreateModelInvocationJob" if method == "DELETE" else "bedrock:GetModelInvocationJob"


def iam_requirement(method: str, path: str, body: dict[str, Any] | None, region: str) -> tuple[str, str]:
    """The (IAM action, resource) an OpenAI API call needs: Bedrock's, on the model's ARN.

    Generation is authorized as Bedrock authorizes Converse / ConverseStream
    (``emulator.gateway.authorize_requirements._ACTION_ALIASES``): ``stream: true`` needs
    bedrock:InvokeModelWithResponseStream; embeddings are bedrock:InvokeModel. Files and
    batches: ``_store_action``."""
    path = path.rstrip("/")
    if path.startswith(_STORE_PATHS):
        return _store_action(method, path), "*"
    if path == "/v1/models":
        return "bedrock:ListFoundationModels", "*"
    if path.startswith("/v1/models/"):
        return "bedrock:GetFoundationModel", model_arn(path[len("/v1/models/"):], region)
    body = body or {}
    model = body.get("model")
    resource = model_arn(model, region) if isinstance(model, str) and model else "*"
    streamed = path != "/v1/embeddings" and bool(body.get("stream"))
    return ("bedrock:InvokeModelWithResponseStream" if streamed else "bedrock:InvokeModel"), resource


def json_body(request: Request) -> Any:
    """A request's JSON body (``{}`` when empty), or OpenAI's invalid_json answer."""
    try:
        return orjson.loads(request.body or b"{}")
    except orjson.JSONDecodeError:
        raise ApiError(400, "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly.)",
                       code="invalid_json") from None


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
