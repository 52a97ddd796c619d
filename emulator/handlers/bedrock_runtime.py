"""Bedrock Runtime over local models: Converse, ConverseStream, InvokeModel,
InvokeModelWithResponseStream, CountTokens. Also mounts the OpenAI-compatible API (/v1/).

InvokeModel bodies follow the Bedrock model families: Meta Llama
(``prompt``/``max_gen_len``), Amazon Titan Text (``inputText``/
``textGenerationConfig``), Anthropic Messages (``anthropic_version``/
``messages``) and Amazon Nova (``messages`` with ``inferenceConfig``); the
response uses the same family's shape. The embedding models' bodies (Titan Text
Embeddings V1/V2, Cohere Embed v3) are served by ``bedrock_embeddings``; Converse and
the streaming operations refuse those models, as Bedrock does.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from emulator.compute.embeddings import is_embedding_model_id
from emulator.compute.engines.base import EngineError, GenParams, mark_prefill
from emulator.compute.inference import (
    INFERENCE_ERRORS,
    Generation,
    Scope,
    UnknownModel,
    application_profile_models,
    count_tokens,
    generate,
    normalize_model_id,
    scoped_model_id,
    strip_profile,
)
from emulator.compute.instances import LaunchError, NotReady
from emulator.compute.quotas import SettlingStream, TokenMeter, meter, quota_key
from emulator.compute.scheduler import GenerationTimeout, QueueFull, QueueTimeout
from emulator.context import RequestContext
from emulator.errors import AwsError
from emulator.handlers.base import ComputeHandler, Route, operation
from emulator.handlers.bedrock_embeddings import (
    NOT_CONVERSE,
    NOT_STREAMING,
    _type_name,
    embedding_family,
    invoke_embedding,
)
from emulator.handlers.bedrock_guardrail_runtime import (
    GuardrailRuntimeOperations,
    guarded_converse,
    guarded_converse_stream,
    guarded_invoke,
    guarded_invoke_stream,
)
from emulator.handlers.bedrock_request_options import (
    check_converse_options,
    check_invoke_options,
    response_format,
    schema_error,
)
from emulator.protocols.base import RESPONSE_HEADERS

if TYPE_CHECKING:
    from emulator.compute.openai_routes import OpenAIApi
    from emulator.runtime import Runtime

_STOP_REASONS = {"stop": "end_turn", "length": "max_tokens", "cancelled": "end_turn"}

# additionalModelRequestFields the local engines honour; any other key is one the model's
# request schema would reject, as Bedrock does (never silently dropped).
_EXTRA_FIELDS = ("top_k", "seed")


def stop_reason(gen: Generation) -> str:
    """Converse's (and Nova's, Anthropic's) stop reason: end_turn, max_tokens or stop_sequence."""
    if gen.stop_sequence is not None:
        return "stop_sequence"
    return _STOP_REASONS.get(gen.finish_reason, "end_turn")


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


def stream_error(exc: BaseException, model_id: str) -> AwsError:
    """An error after a stream started: the model failing (ModelErrorException before the
    stream) is the streams' modelStreamErrorException event (ConverseStreamOutput's and
    ResponseStream's member; botocore: "An error occurred while streaming the response.
    Retry your request."), with what happened and the model's own status and words; the
    other errors as map_error words them (an exception event where the union models it)."""
    err = map_error(exc, model_id)
    if err.code != "ModelErrorException":
        return err
    status = exc.status if isinstance(exc, EngineError) else 500
    return AwsError("ModelStreamErrorException", f"An error occurred while streaming the response: {exc} Retry your request.", 424,
                    extra={"originalStatusCode": status, "originalMessage": str(exc)})


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


def _malformed(detail: str) -> AwsError:
    return _validation(f"Malformed input request: {detail}, please reformat your input and try again.")


def _model_errors(detail: str) -> AwsError:
    """A model's own request validation failing under Converse (Bedrock wraps the model's words)."""
    return _validation(f"The model returned the following errors: Malformed input request: {detail}, please reformat your input and try again.")


def _text_of(blocks: list[dict[str, Any]], where: str) -> str:
    parts = []
    for j, block in enumerate(blocks or []):
        if "text" in block:
            if where.startswith("messages") and not str(block["text"]).strip():
                raise _validation(f"The text field in the ContentBlock object at {where}.content.{j} is blank. Add text to the text field, and try again.")
            parts.append(block["text"])
        elif isinstance(block.get("guardContent"), dict) and "text" in block["guardContent"]:
            # Guard content is text for the model (a guardrail assesses it: bedrock_guardrail_runtime).
            parts.append(str((block["guardContent"]["text"] or {}).get("text", "")))
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
        unknown = [k for k in extra if k not in _EXTRA_FIELDS]
        if unknown:
            raise _model_errors(f"#: extraneous key [{unknown[0]}] is not permitted")
        # Model-specific fields Bedrock passes through (Llama/Mistral/Anthropic spellings).
        try:
            if extra.get("top_k") is not None:
                gp.top_k = int(extra["top_k"])
            if extra.get("seed") is not None:
                gp.seed = int(extra["seed"])
        except (TypeError, ValueError):
            raise _validation("The value of additionalModelRequestFields is not valid for this model.") from None
    gp.response_format = response_format(params)
    check_converse_options(params)
    return gp


def converse_messages(params: dict[str, Any]) -> list[dict[str, Any]]:
    messages = params.get("messages") or []
    if not messages:
        raise _validation("A conversation must start with a user message. Try again with a conversation that starts with a user message.")
    out: list[dict[str, Any]] = []
    system = _text_of(params.get("system") or [], "system")
    if system:
        out.append({"role": "system", "content": system})
    for i, msg in enumerate(messages):
        role = msg.get("role")
        if role not in ("user", "assistant"):
            raise _validation(f"1 validation error detected: Value '{role}' at 'messages.{i + 1}.member.role' failed to satisfy constraint: Member must satisfy enum value set: [user, assistant]")
    if messages[0].get("role") != "user":
        raise _validation("A conversation must start with a user message. Try again with a conversation that starts with a user message.")
    for i, msg in enumerate(messages):
        if i and msg["role"] == messages[i - 1]["role"]:
            raise _validation("A conversation must alternate between user and assistant roles. Make sure the conversation alternates between user and assistant roles and try again.")
        if not msg.get("content"):
            raise _validation(f"The content field in the Message object at messages.{i} is empty. Add a ContentBlock object to the content field and try again.")
        out.append({"role": msg["role"], "content": _text_of(msg["content"], f"messages.{i}")})
    # A final assistant message is continued (Converse user guide: the last message may be the
    # assistant's, a prefill of the reply); the reply is only the continuation.
    return mark_prefill(out) if out[-1]["role"] == "assistant" else out


_ANTHROPIC_KEYS = ("anthropic_version", "max_tokens", "messages", "system", "stop_sequences", "temperature", "top_p", "top_k")
# Keys of Anthropic's Bedrock schema that need what a local model lacks: refused, not dropped.
_ANTHROPIC_UNSUPPORTED = {"tools": "tool use", "tool_choice": "tool use", "thinking": "extended thinking", "anthropic_beta": "beta features"}

# Model id prefixes (after any ARN and cross-Region inference profile prefix) naming the body format.
_FAMILY_PREFIXES = (("anthropic.", "anthropic"), ("meta.", "llama"), ("mistral.", "mistral"), ("amazon.titan-text", "titan"),
                    ("amazon.nova", "nova"), ("cohere.command-r", "cohere"))


def family_of(model_id: str) -> str | None:
    ident = strip_profile(normalize_model_id(model_id))
    return next((family for prefix, family in _FAMILY_PREFIXES if ident.startswith(prefix)), None)


def _anthropic_messages(body: dict[str, Any]) -> list[dict[str, Any]]:
    if "anthropic_version" not in body:
        raise _malformed("#: required key [anthropic_version] not found")
    if "max_tokens" not in body:
        raise _malformed("#: required key [max_tokens] not found")
    for key in body:
        if key in _ANTHROPIC_UNSUPPORTED:
            raise _validation(f"This model doesn't support {_ANTHROPIC_UNSUPPORTED[key]}.")
        if key not in _ANTHROPIC_KEYS:
            raise _malformed(f"#: extraneous key [{key}] is not permitted")
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
            for block in content:
                kind = block.get("type") if isinstance(block, dict) else None
                if kind != "text":
                    raise _validation(f"This model doesn't support the {kind} content block that you provided in messages.{i}.")
            content = "".join(b.get("text", "") for b in content)
        if not isinstance(content, str):
            raise _validation(f"messages.{i}.content: Input should be a valid string or list of content blocks")
        out.append({"role": m["role"], "content": content})
    if out[-1]["role"] == "assistant":
        # Anthropic's "Prefill Claude's response": the reply continues the final assistant
        # message, which may not end with whitespace (Anthropic's check and words).
        if out[-1]["content"] != out[-1]["content"].rstrip():
            raise _validation("messages: final assistant content cannot end with trailing whitespace")
        return mark_prefill(out)
    return out


def _cohere_messages(body: dict[str, Any]) -> list[dict[str, Any]]:
    """Cohere Command R(+): ``message``, ``chat_history`` [{role USER|CHATBOT|SYSTEM, message}], ``preamble``."""
    if not isinstance(body.get("message"), str):
        raise _malformed("#/message: expected type: String")
    out: list[dict[str, Any]] = []
    if body.get("preamble"):
        out.append({"role": "system", "content": str(body["preamble"])})
    roles = {"USER": "user", "CHATBOT": "assistant", "SYSTEM": "system"}
    for i, turn in enumerate(body.get("chat_history") or []):
        if not isinstance(turn, dict) or turn.get("role") not in roles:
            raise _malformed(f"#/chat_history/{i}/role: {(turn or {}).get('role') if isinstance(turn, dict) else turn} is not a valid enum value")
        out.append({"role": roles[turn["role"]], "content": str(turn.get("message", ""))})
    out.append({"role": "user", "content": body["message"]})
    return out


def _sniff(body: dict[str, Any]) -> str:
    """The body's family when the model id does not name one (a local model's name)."""
    if "anthropic_version" in body:
        return "anthropic"
    if "messages" in body:
        if "inferenceConfig" in body or "schemaVersion" in body or "max_tokens" not in body:
            return "nova"
        return "anthropic"
    if "inputText" in body:
        return "titan"
    if "message" in body:
        return "cohere"
    if "prompt" in body and "max_gen_len" not in body and any(k in body for k in ("max_tokens", "top_k", "stop")):
        return "mistral"
    return "llama"


def _int(body: dict[str, Any], key: str, default: int, path: str = "") -> int:
    """An integer field of a model's body, typed as the model's JSON schema types it: a string
    or a fraction is a schema error (the validator's wording, as in bedrock_embeddings)."""
    value = body.get(key)
    if value is None:
        return default
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise _malformed(f"#/{path or key}: expected type: Integer, found: {_type_name(value)}")
    return value


def _num(body: dict[str, Any], key: str, default: float, path: str = "") -> float:
    """A number field of a model's body (temperature, top_p, ...): a string is a schema error."""
    value = body.get(key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _malformed(f"#/{path or key}: expected type: Number, found: {_type_name(value)}")
    return float(value)


def _check_range(p: GenParams, max_field: str, temperature_max: float = 1.0) -> None:
    if p.max_tokens < 1:
        raise _malformed(f"#/{max_field}: {p.max_tokens} is not greater or equal to 1")
    if not 0 <= p.temperature <= temperature_max:
        raise _malformed(f"#/temperature: {p.temperature:g} is not {'greater' if p.temperature < 0 else 'less'} or equal to {0 if p.temperature < 0 else temperature_max:g}")
    if not 0 <= p.top_p <= 1:
        raise _malformed(f"#/top_p: {p.top_p:g} is not {'greater' if p.top_p < 0 else 'less'} or equal to {0 if p.top_p < 0 else 1}")


def parse_invoke_body(raw: bytes, model_id: str = "") -> tuple[str, str | None, list[dict[str, Any]] | None, GenParams]:
    """(family, prompt, messages, params) from an InvokeModel body; the family is the one the
    model id names (``anthropic.``, ``meta.``, ``mistral.``, ...), else the body's own."""
    try:
        body = json.loads(raw or b"{}")
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise _validation("Malformed input request, please reformat your input and try again.") from None
    if not isinstance(body, dict):
        raise _validation("Malformed input request: expected a JSON object, please reformat your input and try again.")
    family = family_of(model_id) or _sniff(body)
    p = GenParams(max_tokens=512)
    try:
        if family == "nova":
            # Amazon Nova (messages-v1): content blocks {"text"}, system [{"text"}], inferenceConfig.
            cfg = body.get("inferenceConfig") or {}
            if not isinstance(cfg, dict):
                raise _malformed(f"#/inferenceConfig: expected type: JSONObject, found: {_type_name(cfg)}")
            p.max_tokens = _int(cfg, "maxTokens", _int(cfg, "max_new_tokens", 512, "inferenceConfig/max_new_tokens"), "inferenceConfig/maxTokens")
            p.temperature = _num(cfg, "temperature", 0.7, "inferenceConfig/temperature")
            p.top_p = _num(cfg, "topP", _num(cfg, "top_p", 0.9, "inferenceConfig/top_p"), "inferenceConfig/topP")
            p.stop = list(cfg.get("stopSequences") or [])
            if not isinstance(body.get("messages"), list):
                raise _malformed("#/messages: expected type: JSONArray")
            _check_range(p, "inferenceConfig/maxTokens")
            return "nova", None, converse_messages({"messages": body["messages"], "system": body.get("system")}), p
        if family == "anthropic":
            messages = _anthropic_messages(body)
            if body["max_tokens"] is None:
                raise _malformed("#/max_tokens: expected type: Integer, found: Null")
            p.max_tokens = _int(body, "max_tokens", 0)
            p.temperature = _num(body, "temperature", 1.0)
            p.top_p = _num(body, "top_p", p.top_p)
            p.top_k = _int(body, "top_k", p.top_k)
            p.stop = list(body.get("stop_sequences") or [])
            _check_range(p, "max_tokens")
            return "anthropic", None, messages, p
        if family == "titan":
            cfg = body.get("textGenerationConfig") or {}
            if not isinstance(cfg, dict):
                raise _malformed(f"#/textGenerationConfig: expected type: JSONObject, found: {_type_name(cfg)}")
            p.max_tokens = _int(cfg, "maxTokenCount", 512, "textGenerationConfig/maxTokenCount")
            p.temperature = _num(cfg, "temperature", 0.7, "textGenerationConfig/temperature")
            p.top_p = _num(cfg, "topP", 0.9, "textGenerationConfig/topP")
            p.stop = list(cfg.get("stopSequences") or [])
            if not isinstance(body.get("inputText"), str):
                raise _malformed("#/inputText: expected type: String" if "inputText" in body else "#: required key [inputText] not found")
            _check_range(p, "textGenerationConfig/maxTokenCount")
            return "titan", body["inputText"], None, p
        if family == "cohere":
            messages = _cohere_messages(body)
            p.max_tokens = _int(body, "max_tokens", 512)
            p.temperature = _num(body, "temperature", 0.3)
            p.top_p = _num(body, "p", 0.75)
            p.top_k = _int(body, "k", p.top_k)
            p.stop = list(body.get("stop_sequences") or [])
            if body.get("seed") is not None:
                p.seed = _int(body, "seed", 0)
            _check_range(p, "max_tokens")
            return "cohere", None, messages, p
        if "prompt" not in body:
            raise _malformed("#: required key [prompt] not found")
        if not isinstance(body["prompt"], str):
            raise _malformed("#/prompt: expected type: String")
        if family == "mistral":
            p.max_tokens = _int(body, "max_tokens", 512)
            p.temperature = _num(body, "temperature", 0.7)
            p.top_p = _num(body, "top_p", 1.0)
            p.top_k = _int(body, "top_k", p.top_k)
            max_field = "max_tokens"
        else:
            p.max_tokens = _int(body, "max_gen_len", 0) if body.get("max_gen_len") is not None else _int(body, "max_tokens", 512)
            p.temperature = _num(body, "temperature", 0.5)
            p.top_p = _num(body, "top_p", 0.9)
            max_field = "max_gen_len"
        if body.get("stop"):
            p.stop = [body["stop"]] if isinstance(body["stop"], str) else list(body["stop"])
        if body.get("seed") is not None:
            p.seed = _int(body, "seed", 0)
        _check_range(p, max_field)
        return family, body["prompt"], None, p
    except (TypeError, ValueError, AttributeError):
        raise _validation("Malformed input request, please reformat your input and try again.") from None


def _check_params(p: GenParams) -> None:
    if p.max_tokens < 1:
        raise _validation("1 validation error detected: Value at 'inferenceConfig.maxTokens' failed to satisfy constraint: Member must have value greater than or equal to 1")


def invocation_headers(ctx: RequestContext) -> dict[str, str]:
    """The usage headers Bedrock adds to an InvokeModel answer (user guide, "Monitor" / token
    counts; not in botocore's model, so sent through ``RESPONSE_HEADERS``), from the usage
    ``invoke_body`` left in ``ctx.telemetry``. Lower-case names: HTTP/2 requires them."""
    t = ctx.telemetry
    return {"x-amzn-bedrock-input-token-count": str(int(t.get("input_tokens") or 0)),
            "x-amzn-bedrock-output-token-count": str(int(t.get("output_tokens") or 0)),
            "x-amzn-bedrock-invocation-latency": str(int(t.get("latency_ms") or 0))}


def _metrics(gen: Generation) -> dict[str, int]:
    return {"inputTokenCount": gen.prompt_tokens, "outputTokenCount": gen.completion_tokens,
            "invocationLatency": gen.latency_ms, "firstByteLatency": gen.first_byte_ms}


def _titan_reason(gen: Generation) -> str:
    return "STOP_CRITERIA_MET" if gen.stop_sequence is not None else "LENGTH" if gen.finish_reason == "length" else "FINISH"


def _cohere_reason(gen: Generation) -> str:
    return "MAX_TOKENS" if gen.finish_reason == "length" else "COMPLETE"


def _cohere_response(gen: Generation, messages: list[dict[str, Any]], generation_id: str) -> dict[str, Any]:
    roles = {"user": "USER", "assistant": "CHATBOT"}
    history = [{"role": roles[m["role"]], "message": m["content"]} for m in messages if m["role"] in roles]
    return {"response_id": str(uuid.uuid4()), "text": gen.text, "generation_id": generation_id,
            "chat_history": [*history, {"role": "CHATBOT", "message": gen.text}], "finish_reason": _cohere_reason(gen)}


def invoke_response(family: str, gen: Generation, model_id: str, messages: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    if family == "nova":
        return {"output": {"message": {"role": "assistant", "content": [{"text": gen.text}]}},
                "stopReason": stop_reason(gen),
                "usage": {"inputTokens": gen.prompt_tokens, "outputTokens": gen.completion_tokens, "totalTokens": gen.prompt_tokens + gen.completion_tokens}}
    if family == "anthropic":
        return {
            "id": "msg_bdrk_" + uuid.uuid4().hex[:24], "type": "message", "role": "assistant", "model": gen.target.model.name,
            "content": [{"type": "text", "text": gen.text}], "stop_reason": stop_reason(gen),
            "stop_sequence": gen.stop_sequence, "usage": {"input_tokens": gen.prompt_tokens, "output_tokens": gen.completion_tokens},
        }
    if family == "titan":
        return {"inputTextTokenCount": gen.prompt_tokens, "results": [{
            "tokenCount": gen.completion_tokens, "outputText": gen.text,
            "completionReason": _titan_reason(gen)}]}
    if family == "mistral":
        return {"outputs": [{"text": gen.text, "stop_reason": "length" if gen.finish_reason == "length" else "stop"}]}
    if family == "cohere":
        return _cohere_response(gen, messages or [], str(uuid.uuid4()))
    return {"generation": gen.text, "prompt_token_count": gen.prompt_tokens, "generation_token_count": gen.completion_tokens,
            "stop_reason": "length" if gen.finish_reason == "length" else "stop"}


# runtime.components' entry the gateway's authorization reads (authorize_requirements.py): an
# application inference profile's ARN -> the ARNs of the foundation models it copies.
PROFILE_MODELS = "bedrock_profile_models"


class BedrockRuntimeHandler(GuardrailRuntimeOperations, ComputeHandler):
    service = "bedrock-runtime"
    _openai: OpenAIApi | None = None  # the OpenAI API mounted by routes(); reset() forgets its stored responses

    def __init__(self, runtime: Runtime) -> None:
        super().__init__(runtime)
        data_dir = self.compute.manager.data_dir
        runtime.components.setdefault(PROFILE_MODELS, lambda arn: application_profile_models(data_dir, arn))

    def routes(self) -> list[Route]:
        from emulator.compute.openai_params import OPENAI_PREFIXES
        from emulator.compute.openai_routes import OpenAIApi

        api = OpenAIApi(self.runtime, self.compute)
        self._openai = api
        # Only OpenAI's own paths: 900+ AWS REST operations (Batch, MSK, AppSync, ...) live under /v1/ too.
        return [Route(prefix, api.handle) for prefix in OPENAI_PREFIXES]

    async def reset(self) -> None:
        """The account's state here is the OpenAI API's: stored responses, files and batches. The instances
        serving the models are EC2's: they stay (``keep=["ec2"]``) unless EC2 is reset too."""
        if self._openai is not None:
            await self._openai.reset()

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
            served = scoped_model_id(self.compute, model_id, Scope(ctx.region, ctx.account_id))
            tokens = await meter(self.runtime, self.compute, quota_key(ctx.principal), served, prompt, messages, params.max_tokens)
        except INFERENCE_ERRORS as exc:
            raise map_error(exc, model_id) from None
        try:
            return await generate(self.compute, served, prompt, messages, params), tokens
        except INFERENCE_ERRORS as exc:
            tokens.settle(None)
            raise map_error(exc, model_id) from None
        except BaseException:
            tokens.settle(None)
            raise

    async def _start_converse(self, ctx: RequestContext, model_id: str, messages: list[dict[str, Any]],
                              params: GenParams) -> tuple[Generation, TokenMeter]:
        try:
            return await self._start(ctx, model_id, None, messages, params)
        except AwsError as err:
            raise (schema_error(err) if params.response_format else err) from None

    async def _collect(self, gen: Generation, tokens: TokenMeter, model_id: str) -> None:
        try:
            await gen.collect()
        except INFERENCE_ERRORS as exc:
            raise map_error(exc, model_id) from None
        finally:
            tokens.settle(gen)

    # ------------------------------------------------------------ Converse
    def _refuse_embedding_model(self, model_id: str) -> None:
        """Converse serves text and chat models only: Bedrock refuses embedding models."""
        info = self.compute.store.get(normalize_model_id(model_id))
        if is_embedding_model_id(model_id) or (info is not None and info.embeddings):
            raise _validation(NOT_CONVERSE)

    def _embedding_body(self, model_id: str, raw: bytes) -> tuple[str, dict[str, Any]] | None:
        """(family, body) when the InvokeModel body is for an embedding model, else None."""
        try:
            body = json.loads(raw or b"{}")
        except (json.JSONDecodeError, UnicodeDecodeError):
            if is_embedding_model_id(model_id):
                raise _validation("Malformed input request, please reformat your input and try again.") from None
            return None
        if not isinstance(body, dict):
            if is_embedding_model_id(model_id):
                raise _validation("Malformed input request: expected a JSON object, please reformat your input and try again.")
            return None
        info = self.compute.store.get(normalize_model_id(model_id))
        family = embedding_family(model_id, body, info is not None and info.embeddings)
        return (family, body) if family is not None else None

    @operation("Converse")
    async def converse(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        if params.get("guardrailConfig"):
            return await guarded_converse(self, ctx, params)
        model_id = params["modelId"]
        self._refuse_embedding_model(model_id)
        messages = converse_messages(params)
        gen, tokens = await self._start_converse(ctx, model_id, messages, converse_params(params))
        await self._collect(gen, tokens, model_id)
        self._telemetry(ctx, model_id, gen, False)
        return {
            "output": {"message": {"role": "assistant", "content": [{"text": gen.text}]}},
            "stopReason": stop_reason(gen),
            "usage": {"inputTokens": gen.prompt_tokens, "outputTokens": gen.completion_tokens, "totalTokens": gen.prompt_tokens + gen.completion_tokens},
            "metrics": {"latencyMs": gen.latency_ms},
        }

    @operation("ConverseStream")
    async def converse_stream(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        if params.get("guardrailConfig"):
            return await guarded_converse_stream(self, ctx, params)
        model_id = params["modelId"]
        self._refuse_embedding_model(model_id)
        messages = converse_messages(params)
        gen, tokens = await self._start_converse(ctx, model_id, messages, converse_params(params))

        async def events() -> AsyncIterator[dict[str, Any]]:
            try:
                yield {"messageStart": {"role": "assistant"}}
                async for text in gen.texts():
                    yield {"contentBlockDelta": {"delta": {"text": text}, "contentBlockIndex": 0}}
                yield {"contentBlockStop": {"contentBlockIndex": 0}}
                yield {"messageStop": {"stopReason": stop_reason(gen)}}
                yield {"metadata": {
                    "usage": {"inputTokens": gen.prompt_tokens, "outputTokens": gen.completion_tokens, "totalTokens": gen.prompt_tokens + gen.completion_tokens},
                    "metrics": {"latencyMs": gen.latency_ms},
                }}
                self._telemetry(ctx, model_id, gen, True)
            except (QueueTimeout, GenerationTimeout, EngineError) as exc:
                raise stream_error(exc, model_id) from None
            finally:
                await gen.aclose()

        return {"stream": SettlingStream(events(), tokens, lambda: gen)}

    # --------------------------------------------------------- InvokeModel
    def _check_content_type(self, params: dict[str, Any]) -> None:
        # contentType is optional in the model and the body is JSON whatever it says ("You
        # must provide the body in JSON format"). A client that omits it sends what its
        # serializer puts on a blob payload: nothing (botocore) or application/octet-stream
        # (the JS SDK v3), and Bedrock serves both; the body is still parsed as JSON.
        ctype = (params.get("contentType") or "application/json").split(";")[0].strip().lower()
        if ctype not in ("application/json", "application/octet-stream", "*/*"):
            raise _validation(f"The provided content type {ctype} is not supported: use application/json")
        accept = (params.get("accept") or "application/json").split(";")[0].strip().lower()
        if accept not in ("application/json", "*/*"):
            raise _validation(f"The provided accept type {accept} is not supported: use application/json")

    @operation("InvokeModel")
    async def invoke_model(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        if params.get("guardrailIdentifier") or params.get("guardrailVersion"):
            return await guarded_invoke(self, ctx, params)
        model_id = params["modelId"]
        self._check_content_type(params)
        check_invoke_options(params)
        body = await self.invoke_body(ctx, model_id, params.get("body") or b"")
        return {"body": body, "contentType": "application/json", RESPONSE_HEADERS: invocation_headers(ctx)}

    async def invoke_body(self, ctx: RequestContext, model_id: str, raw: bytes) -> bytes:
        """InvokeModel's response body for a request body (a text or an embedding model's),
        once the content types and guardrails are checked; the usage is left in
        ``ctx.telemetry`` (``input_tokens``, ``output_tokens``). Batch inference (``bedrock_jobs``)
        runs each record's ``modelInput`` through it. Raises AwsError."""
        embedding = self._embedding_body(model_id, raw)
        if embedding is not None:
            out: bytes = (await invoke_embedding(self, ctx, model_id, *embedding))["body"]
            return out
        family, prompt, messages, gp = parse_invoke_body(raw, model_id)
        gen, tokens = await self._start(ctx, model_id, prompt, messages, gp)
        await self._collect(gen, tokens, model_id)
        self._telemetry(ctx, model_id, gen, False)
        return json.dumps(invoke_response(family, gen, model_id, messages)).encode()

    @operation("InvokeModelWithResponseStream")
    async def invoke_model_with_response_stream(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        if params.get("guardrailIdentifier") or params.get("guardrailVersion"):
            return await guarded_invoke_stream(self, ctx, params)
        model_id = params["modelId"]
        self._check_content_type(params)
        check_invoke_options(params)
        if self._embedding_body(model_id, params.get("body") or b"") is not None:
            raise _validation(NOT_STREAMING)
        family, prompt, messages, gp = parse_invoke_body(params.get("body") or b"", model_id)
        gen, tokens = await self._start(ctx, model_id, prompt, messages, gp)

        def chunk(doc: dict[str, Any]) -> dict[str, Any]:
            return {"chunk": {"bytes": json.dumps(doc).encode()}}

        async def events() -> AsyncIterator[dict[str, Any]]:
            try:
                if family == "anthropic":
                    msg_id = "msg_bdrk_" + uuid.uuid4().hex[:24]
                    # message_start reports the prompt's tokens (Anthropic's streaming format):
                    # known with the first token (inference.Generation), so sent with it.
                    texts = gen.texts()
                    first = await anext(texts, None)
                    usage = {"input_tokens": gen.prompt_tokens, "output_tokens": 0 if first is None else 1}
                    yield chunk({"type": "message_start", "message": {"id": msg_id, "type": "message", "role": "assistant", "model": gen.target.model.name,
                                                                      "content": [], "stop_reason": None, "stop_sequence": None, "usage": usage}})
                    yield chunk({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}})
                    if first is not None:
                        yield chunk({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": first}})
                    async for text in texts:
                        yield chunk({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": text}})
                    yield chunk({"type": "content_block_stop", "index": 0})
                    yield chunk({"type": "message_delta", "delta": {"stop_reason": stop_reason(gen), "stop_sequence": gen.stop_sequence},
                                 "usage": {"output_tokens": gen.completion_tokens}})
                    yield chunk({"type": "message_stop", "amazon-bedrock-invocationMetrics": _metrics(gen)})
                elif family == "nova":
                    yield chunk({"messageStart": {"role": "assistant"}})
                    async for text in gen.texts():
                        yield chunk({"contentBlockDelta": {"delta": {"text": text}, "contentBlockIndex": 0}})
                    yield chunk({"contentBlockStop": {"contentBlockIndex": 0}})
                    yield chunk({"messageStop": {"stopReason": stop_reason(gen)}})
                    yield chunk({"metadata": {"usage": {"inputTokens": gen.prompt_tokens, "outputTokens": gen.completion_tokens},
                                              "metrics": {}, "trace": {}}, "amazon-bedrock-invocationMetrics": _metrics(gen)})
                elif family == "titan":
                    count = 0
                    async for text in gen.texts():
                        count += 1
                        yield chunk({"outputText": text, "index": 0, "totalOutputTextTokenCount": count, "completionReason": None,
                                     "inputTextTokenCount": None})
                    yield chunk({"outputText": "", "index": 0, "totalOutputTextTokenCount": gen.completion_tokens,
                                 "completionReason": _titan_reason(gen),
                                 "inputTextTokenCount": gen.prompt_tokens, "amazon-bedrock-invocationMetrics": _metrics(gen)})
                elif family == "mistral":
                    async for text in gen.texts():
                        yield chunk({"outputs": [{"text": text, "stop_reason": None}]})
                    yield chunk({"outputs": [{"text": "", "stop_reason": "length" if gen.finish_reason == "length" else "stop"}],
                                 "amazon-bedrock-invocationMetrics": _metrics(gen)})
                elif family == "cohere":
                    generation_id = str(uuid.uuid4())
                    yield chunk({"is_finished": False, "event_type": "stream-start", "generation_id": generation_id})
                    async for text in gen.texts():
                        yield chunk({"is_finished": False, "event_type": "text-generation", "text": text})
                    yield chunk({"is_finished": True, "event_type": "stream-end", "response": _cohere_response(gen, messages or [], generation_id),
                                 "finish_reason": _cohere_reason(gen), "amazon-bedrock-invocationMetrics": _metrics(gen)})
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
                raise stream_error(exc, model_id) from None
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
            _, prompt, messages, _ = parse_invoke_body(source["invokeModel"].get("body") or b"", model_id)
        else:
            raise _validation("The input must contain either invokeModel or converse.")
        started = time.perf_counter()
        try:
            tokens = await count_tokens(self.compute, model_id, prompt, messages, Scope(ctx.region, ctx.account_id))
        except INFERENCE_ERRORS as exc:
            raise map_error(exc, model_id) from None
        ctx.telemetry.update({"model_id": model_id, "input_tokens": tokens, "latency_ms": int((time.perf_counter() - started) * 1000)})
        return {"inputTokens": tokens}
