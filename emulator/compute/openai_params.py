"""The OpenAI API's requests: its error type and answers, the fields each endpoint knows, and
the checks and conversions of request bodies (messages, generation parameters, structured
output, prompts, embedding inputs) and the IAM action each call needs. The routes that serve
them: openai_routes.py."""

from __future__ import annotations

from typing import Any

import orjson

from emulator.compute.embeddings import EMBEDDING_MODELS, bedrock_model
from emulator.compute.engines.base import ContextLengthExceeded, EngineError, GenParams
from emulator.compute.inference import UnknownModel
from emulator.compute.instances import LaunchError, NotReady
from emulator.compute.quotas import model_arn
from emulator.compute.scheduler import GenerationTimeout, QueueFull, QueueTimeout
from emulator.protocols.base import Request, Response

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
