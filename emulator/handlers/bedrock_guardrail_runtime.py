"""Bedrock Runtime's guardrails: ApplyGuardrail, and a guardrail around Converse, ConverseStream,
InvokeModel and InvokeModelWithResponseStream (``guardrailConfig``; the
``X-Amzn-Bedrock-GuardrailIdentifier`` / ``-GuardrailVersion`` headers).

The guardrails are the control plane's (``emulator.compute.guardrails``). Around a model call
(the Bedrock user guide's "Use a guardrail" pages): the input is assessed first, and a blocked
input never reaches the model (the answer is the guardrail's blockedInputMessaging, stopReason
``guardrail_intervened``); an anonymized input reaches it masked. The answer is assessed next:
blocked, it becomes blockedOutputsMessaging; anonymized, it is masked. Streams are assessed
whole before their first text is sent, whatever ``streamProcessingMode`` says (``sync`` is
AWS's chunk-by-chunk buffering; ``async`` would send text before it is assessed): our choice,
never less strict than AWS.
"""

from __future__ import annotations

import copy
import json
import re
import time
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, cast

from emulator.compute.guardrails import Outcome, evaluate, guardrail_store
from emulator.context import RequestContext
from emulator.errors import AwsError
from emulator.handlers.base import operation

if TYPE_CHECKING:
    from emulator.compute.inference import Generation
    from emulator.handlers.bedrock_runtime import BedrockRuntimeHandler
    from emulator.runtime import Runtime

# AWS's message for a guardrail that does not exist (the runtime's ValidationException).
NO_GUARDRAIL = "The guardrail identifier or version provided in the request does not exist."
_TRACE_ON = ("enabled", "enabled_full")


def _invalid(message: str) -> AwsError:
    return AwsError("ValidationException", message, 400)


def _resolve(runtime: Runtime, ctx: RequestContext, ident: str | None, version: str | None,
             code: str = "ValidationException") -> tuple[dict[str, Any], dict[str, Any]]:
    """(the guardrail, the version's configuration). ApplyGuardrail answers a missing one with
    ResourceNotFoundException, the model calls with ValidationException (AWS's text)."""
    found = guardrail_store(runtime).version(ctx.account_id, ctx.region, ident, version) if ident and version else None
    if found is None:
        raise AwsError(code, NO_GUARDRAIL, 404 if code == "ResourceNotFoundException" else 400)
    return found


def _response(outcome: Outcome) -> dict[str, Any]:
    """ApplyGuardrail's answer (the user guide: outputs is empty when the guardrail did not intervene)."""
    out: dict[str, Any] = {"usage": outcome.usage, "action": outcome.action, "outputs": [{"text": t} for t in outcome.outputs],
                           "assessments": [outcome.assessment], "guardrailCoverage": outcome.coverage}
    if outcome.intervened:
        out["actionReason"] = "Guardrail blocked." if outcome.blocked else "Guardrail masked."  # our text
    return out


class GuardrailRuntimeOperations:
    runtime: Runtime

    @operation("ApplyGuardrail")
    def apply_guardrail(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        _, version = _resolve(self.runtime, ctx, params.get("guardrailIdentifier"), params.get("guardrailVersion"), "ResourceNotFoundException")
        texts: list[str] = []
        for i, block in enumerate(params.get("content") or []):
            if "text" not in block:
                raise _invalid(f"The content block at content.{i} is not text: this emulator's guardrails assess text only.")  # our text
            texts.append(str(block["text"]["text"]))
        return _response(evaluate(version, texts, params["source"]))


class _Closing:
    """Our events over the model call's stream: closing ours closes that one too, even when
    ours never started (a client gone before the first event), so that it settles the
    request's token reservation (emulator.compute.quotas.SettlingStream)."""

    def __init__(self, events: AsyncIterator[dict[str, Any]], inner: Any) -> None:
        self._events = events
        self._inner = inner

    def __aiter__(self) -> _Closing:
        return self

    async def __anext__(self) -> dict[str, Any]:
        return await self._events.__anext__()

    async def aclose(self) -> None:
        try:
            aclose = getattr(self._events, "aclose", None)
            if aclose is not None:
                await aclose()
        finally:
            await self._inner.aclose()


# -------------------------------------------------------------------- Converse
def _converse_guardrail(h: BedrockRuntimeHandler, ctx: RequestContext, config: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any], bool]:
    record, version = _resolve(h.runtime, ctx, config.get("guardrailIdentifier"), config.get("guardrailVersion"))
    return record, version, config.get("trace", "disabled") in _TRACE_ON


def _guard_text(block: dict[str, Any]) -> str | None:
    guard = block.get("guardContent")
    if isinstance(guard, dict) and isinstance(guard.get("text"), dict):
        return str(guard["text"].get("text", ""))
    return None


def _converse_inputs(params: dict[str, Any]) -> list[tuple[dict[str, Any], str]]:
    """(block, kind) of the content the guardrail assesses, from the user guide's table for
    Converse: the system prompt's guardContent blocks only; in the messages, their
    guardContent blocks when there are some, else every text block of every message."""
    refs: list[tuple[dict[str, Any], str]] = [(b, "guard") for b in params.get("system") or [] if _guard_text(b) is not None]
    blocks = [b for m in params.get("messages") or [] for b in m.get("content") or []]
    guarded = [(b, "guard") for b in blocks if _guard_text(b) is not None]
    return refs + (guarded or [(b, "text") for b in blocks if "text" in b])


def _converse_texts(refs: list[tuple[dict[str, Any], str]]) -> list[str]:
    return [str(b["text"]) if kind == "text" else str(_guard_text(b)) for b, kind in refs]


def _masked_converse(params: dict[str, Any], texts: list[str]) -> dict[str, Any]:
    """The request with the assessed blocks' texts replaced by the masked ones."""
    masked = copy.deepcopy(params)
    for (block, kind), text in zip(_converse_inputs(masked), texts, strict=True):
        if kind == "text":
            block["text"] = text
        else:
            block["guardContent"]["text"]["text"] = text
    return masked


def _check_first(h: BedrockRuntimeHandler, params: dict[str, Any]) -> None:
    """The request's own errors come before the guardrail's work."""
    from emulator.handlers.bedrock_runtime import converse_messages, converse_params

    h._refuse_embedding_model(params["modelId"])
    converse_messages(params)
    converse_params(params)


async def _assess_input(h: BedrockRuntimeHandler, ctx: RequestContext, params: dict[str, Any],
                        ) -> tuple[dict[str, Any], dict[str, Any], bool, Outcome, dict[str, Any]]:
    """(guardrail, version, trace on, input outcome, the request to send the model)."""
    config = params["guardrailConfig"]
    plain = {k: v for k, v in params.items() if k != "guardrailConfig"}
    record, version, trace = _converse_guardrail(h, ctx, config)
    _check_first(h, plain)
    outcome = evaluate(version, _converse_texts(_converse_inputs(plain)), "INPUT")
    if outcome.masked:
        plain = _masked_converse(plain, outcome.texts)
    return record, version, trace, outcome, plain


_NO_USAGE = {"inputTokens": 0, "outputTokens": 0, "totalTokens": 0}


async def guarded_converse(h: BedrockRuntimeHandler, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    started = time.perf_counter()
    record, version, trace, inp, plain = await _assess_input(h, ctx, params)
    assessment: dict[str, Any] = {"inputAssessment": {record["id"]: inp.assessment}}
    if inp.blocked:
        answer: dict[str, Any] = {"output": {"message": {"role": "assistant", "content": [{"text": inp.outputs[0]}]}},
                                  "stopReason": "guardrail_intervened", "usage": dict(_NO_USAGE),
                                  "metrics": {"latencyMs": int((time.perf_counter() - started) * 1000)}}
    else:
        answer = await h.converse(ctx, plain)
        text = str(answer["output"]["message"]["content"][0]["text"])
        out = evaluate(version, [text], "OUTPUT")
        assessment["outputAssessments"] = {record["id"]: [out.assessment]}
        if out.intervened:
            answer["output"]["message"]["content"] = [{"text": out.outputs[0]}]
            answer["stopReason"] = "guardrail_intervened"
            assessment["modelOutput"] = [text]
    if trace:
        answer["trace"] = {"guardrail": assessment}
    return answer


async def guarded_converse_stream(h: BedrockRuntimeHandler, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    started = time.perf_counter()
    record, version, trace, inp, plain = await _assess_input(h, ctx, params)
    assessment: dict[str, Any] = {"inputAssessment": {record["id"]: inp.assessment}}
    if inp.blocked:
        metadata = {"usage": dict(_NO_USAGE), "metrics": {"latencyMs": int((time.perf_counter() - started) * 1000)}}
        return {"stream": _converse_events(inp.outputs[0], "guardrail_intervened", metadata, assessment if trace else None)}
    inner = (await h.converse_stream(ctx, plain))["stream"]

    async def events() -> AsyncIterator[dict[str, Any]]:
        parts: list[str] = []
        stop = "end_turn"
        metadata: dict[str, Any] = {}
        try:
            async for event in inner:
                if "contentBlockDelta" in event:
                    parts.append(str(event["contentBlockDelta"]["delta"].get("text", "")))
                elif "messageStop" in event:
                    stop = event["messageStop"]["stopReason"]
                elif "metadata" in event:
                    metadata = event["metadata"]
        finally:
            await inner.aclose()
        text = "".join(parts)
        out = evaluate(version, [text], "OUTPUT")
        assessment["outputAssessments"] = {record["id"]: [out.assessment]}
        if out.intervened:
            text, stop = out.outputs[0], "guardrail_intervened"
            assessment["modelOutput"] = ["".join(parts)]
        async for event in _converse_events(text, stop, metadata, assessment if trace else None):
            yield event

    return {"stream": _Closing(events(), inner)}


async def _converse_events(text: str, stop: str, metadata: dict[str, Any], trace: dict[str, Any] | None) -> AsyncIterator[dict[str, Any]]:
    yield {"messageStart": {"role": "assistant"}}
    if text:
        yield {"contentBlockDelta": {"delta": {"text": text}, "contentBlockIndex": 0}}
    yield {"contentBlockStop": {"contentBlockIndex": 0}}
    yield {"messageStop": {"stopReason": stop}}
    yield {"metadata": {**metadata, "trace": {"guardrail": trace}} if trace is not None else metadata}


# ----------------------------------------------------------------- InvokeModel
# Where a family's request body holds the user's text (its string leaves), and where its
# answer holds the model's text.
_OUTPUT_PATHS: dict[str, tuple[tuple[Any, ...], ...]] = {
    "nova": (("output", "message", "content", 0, "text"),), "anthropic": (("content", 0, "text"),),
    "titan": (("results", 0, "outputText"),), "mistral": (("outputs", 0, "text"),),
    "cohere": (("text",), ("chat_history", -1, "message")), "llama": (("generation",),),
}


def _input_leaves(family: str, body: dict[str, Any]) -> list[tuple[Any, Any]]:
    """(container, key) of every string of the body that is the user's or the conversation's text."""
    if family in ("llama", "mistral"):
        return [(body, "prompt")]
    if family == "titan":
        return [(body, "inputText")]
    if family == "cohere":
        return [(body, "message"), *[(t, "message") for t in body.get("chat_history") or [] if isinstance(t.get("message"), str)]]
    out: list[tuple[Any, Any]] = []
    for message in body.get("messages") or []:
        content = message.get("content")
        if isinstance(content, str):
            out.append((message, "content"))
        for block in content if isinstance(content, list) else []:
            if isinstance(block, dict) and isinstance(block.get("text"), str):
                out.append((block, "text"))
    return out


def _tag_spans(text: str, suffix: str) -> list[tuple[int, int]]:
    """The spans inside ``<amazon-bedrock-guardrails-guardContent_SUFFIX>`` tags (the user
    guide's selective evaluation for InvokeModel)."""
    tag = re.escape(f"amazon-bedrock-guardrails-guardContent_{suffix}")
    return [m.span(1) for m in re.finditer(rf"<{tag}>(.*?)</{tag}>", text, re.DOTALL)]


def _units(family: str, body: dict[str, Any], suffix: str | None) -> list[tuple[Any, Any, int, int]]:
    """(container, key, start, end) of what is assessed: the tagged parts when the request names
    a tag suffix and uses it, else every input text."""
    leaves = [(c, k) for c, k in _input_leaves(family, body) if isinstance(c.get(k), str)]
    if suffix:
        tagged = [(c, k, s, e) for c, k in leaves for s, e in _tag_spans(c[k], suffix)]
        if tagged:
            return tagged
    return [(c, k, 0, len(c[k])) for c, k in leaves]


def _mask_units(units: list[tuple[Any, Any, int, int]], texts: list[str]) -> None:
    for (container, key, start, end), text in sorted(zip(units, texts, strict=True), key=lambda u: -u[0][2]):
        container[key] = container[key][:start] + text + container[key][end:]


def _get(doc: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        try:
            doc = doc[step]
        except (KeyError, IndexError, TypeError):
            return None
    return doc


def _set(doc: Any, path: tuple[Any, ...], value: str) -> None:
    parent = _get(doc, path[:-1])
    if parent is not None and _get(doc, path) is not None:
        parent[path[-1]] = value


def _invoke_guardrail(h: BedrockRuntimeHandler, ctx: RequestContext, params: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The header-bound guardrail; botocore's documentation of guardrailIdentifier lists the errors:
    no guardrailVersion, a content type other than application/json (texts ours)."""
    h._check_content_type(params)
    if not params.get("guardrailIdentifier") or not params.get("guardrailVersion"):
        raise _invalid("Both guardrailIdentifier and guardrailVersion must be specified to apply a guardrail.")
    ctype = (params.get("contentType") or "application/json").split(";")[0].strip().lower()
    if ctype != "application/json":
        raise _invalid("The content type must be application/json when a guardrail is applied.")
    return _resolve(h.runtime, ctx, params["guardrailIdentifier"], params["guardrailVersion"])


async def _invoke_input(h: BedrockRuntimeHandler, ctx: RequestContext, params: dict[str, Any],
                        ) -> tuple[dict[str, Any], dict[str, Any], str, Outcome, dict[str, Any], list[dict[str, Any]] | None]:
    """(guardrail, version, family, input outcome, the request to send the model, messages)."""
    from emulator.handlers.bedrock_runtime import parse_invoke_body

    record, version = _invoke_guardrail(h, ctx, params)
    model_id = params["modelId"]
    raw = params.get("body") or b""
    if h._embedding_body(model_id, raw) is not None:
        raise _invalid("This emulator applies guardrails to text generation models only.")  # our text
    try:
        body = json.loads(raw or b"{}")
    except (json.JSONDecodeError, UnicodeDecodeError):
        body = None
    config = body.pop("amazon-bedrock-guardrailConfig", None) if isinstance(body, dict) else None
    family, _, messages, _ = parse_invoke_body(json.dumps(body).encode() if isinstance(body, dict) else raw, model_id)
    assert isinstance(body, dict)  # parse_invoke_body refuses anything else
    suffix = config.get("tagSuffix") if isinstance(config, dict) else None
    units = _units(family, body, suffix)
    outcome = evaluate(version, [c[k][s:e] for c, k, s, e in units], "INPUT")
    if outcome.masked:
        _mask_units(units, outcome.texts)
    plain = {k: v for k, v in params.items() if k not in ("guardrailIdentifier", "guardrailVersion")}
    plain["body"] = json.dumps(body).encode()
    return record, version, family, outcome, plain, messages


def _canned(text: str, model_id: str) -> Generation:
    """A generation that never ran: the blocked message, no tokens (for the family's body)."""
    return cast("Generation", SimpleNamespace(text=text, prompt_tokens=0, completion_tokens=0, finish_reason="stop", stop_sequence=None,
                                              target=SimpleNamespace(model=SimpleNamespace(name=model_id)), latency_ms=0, first_byte_ms=0))


def _guard_fields(doc: dict[str, Any], record: dict[str, Any], inp: Outcome, out: Outcome | None, trace: bool) -> None:
    """``amazon-bedrock-guardrailAction`` (INTERVENED or NONE) and, with the trace header on,
    ``amazon-bedrock-trace`` (as the user guide shows InvokeModel's guardrail fields)."""
    intervened = inp.intervened or (out is not None and out.intervened)
    doc["amazon-bedrock-guardrailAction"] = "INTERVENED" if intervened else "NONE"
    if trace:
        guard: dict[str, Any] = {"input": {record["id"]: inp.assessment}}
        if out is not None:
            guard["outputs"] = [{record["id"]: out.assessment}]
        doc["amazon-bedrock-trace"] = {"guardrail": guard}


async def guarded_invoke(h: BedrockRuntimeHandler, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    from emulator.handlers.bedrock_runtime import invoke_response

    record, version, family, inp, plain, messages = await _invoke_input(h, ctx, params)
    trace = str(params.get("trace") or "").upper() in ("ENABLED", "ENABLED_FULL")
    if inp.blocked:
        doc = invoke_response(family, _canned(inp.outputs[0], params["modelId"]), params["modelId"], messages)
        _guard_fields(doc, record, inp, None, trace)
        return {"body": json.dumps(doc).encode(), "contentType": "application/json"}
    answer = await h.invoke_model(ctx, plain)
    doc = json.loads(answer["body"])
    out = evaluate(version, [str(_get(doc, _OUTPUT_PATHS[family][0]) or "")], "OUTPUT")
    if out.intervened:
        for path in _OUTPUT_PATHS[family]:
            _set(doc, path, out.outputs[0])
    _guard_fields(doc, record, inp, out, trace)
    return {**answer, "body": json.dumps(doc).encode()}


# ----------------------------------------------------- InvokeModelWithResponseStream
def _delta_path(family: str, doc: dict[str, Any]) -> tuple[Any, ...] | None:
    """Where a streamed chunk of the family holds a piece of the answer (None: no text)."""
    if family == "anthropic":
        return ("delta", "text") if doc.get("type") == "content_block_delta" else None
    if family == "nova":
        return ("contentBlockDelta", "delta", "text") if "contentBlockDelta" in doc else None
    if family == "cohere":
        return ("text",) if doc.get("event_type") == "text-generation" else None
    path = {"titan": ("outputText",), "mistral": ("outputs", 0, "text"), "llama": ("generation",)}[family]
    return path if isinstance(_get(doc, path), str) else None


def _blocked_stream(family: str, text: str) -> list[dict[str, Any]]:
    """A blocked prompt's stream in the family's chunks: the blocked message as the one text."""
    if family == "anthropic":
        return [{"type": "message_start", "message": {"type": "message", "role": "assistant", "content": [], "usage": {"input_tokens": 0, "output_tokens": 0}}},
                {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": text}},
                {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None}, "usage": {"output_tokens": 0}},
                {"type": "message_stop"}]
    if family == "nova":
        return [{"messageStart": {"role": "assistant"}}, {"contentBlockDelta": {"delta": {"text": text}, "contentBlockIndex": 0}},
                {"contentBlockStop": {"contentBlockIndex": 0}}, {"messageStop": {"stopReason": "end_turn"}}]
    if family == "titan":
        return [{"outputText": text, "index": 0, "totalOutputTextTokenCount": 0, "completionReason": "FINISH", "inputTextTokenCount": 0}]
    if family == "mistral":
        return [{"outputs": [{"text": text, "stop_reason": "stop"}]}]
    if family == "cohere":
        return [{"is_finished": False, "event_type": "text-generation", "text": text},
                {"is_finished": True, "event_type": "stream-end", "finish_reason": "COMPLETE"}]
    return [{"generation": text, "prompt_token_count": 0, "generation_token_count": 0, "stop_reason": "stop"}]


def _chunk(doc: dict[str, Any]) -> dict[str, Any]:
    return {"chunk": {"bytes": json.dumps(doc).encode()}}


async def guarded_invoke_stream(h: BedrockRuntimeHandler, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    record, version, family, inp, plain, _ = await _invoke_input(h, ctx, params)
    trace = str(params.get("trace") or "").upper() in ("ENABLED", "ENABLED_FULL")
    if inp.blocked:
        docs = _blocked_stream(family, inp.outputs[0])
        _guard_fields(docs[-1], record, inp, None, trace)
        return {"body": _replay(docs), "contentType": "application/json"}
    inner = (await h.invoke_model_with_response_stream(ctx, plain))["body"]

    async def events() -> AsyncIterator[dict[str, Any]]:
        docs: list[dict[str, Any]] = []
        try:
            async for event in inner:
                docs.append(json.loads(event["chunk"]["bytes"]))
        finally:
            await inner.aclose()
        paths = [(doc, path) for doc in docs if (path := _delta_path(family, doc)) is not None]
        out = evaluate(version, ["".join(str(_get(doc, path)) for doc, path in paths)], "OUTPUT")
        if out.intervened:
            for n, (doc, path) in enumerate(paths):
                _set(doc, path, out.outputs[0] if n == 0 else "")
            if isinstance(docs[-1].get("response"), dict):  # Cohere's stream-end repeats the answer
                docs[-1]["response"]["text"] = out.outputs[0]
        if docs:
            _guard_fields(docs[-1], record, inp, out, trace)
        for doc in docs:
            yield _chunk(doc)

    return {"body": _Closing(events(), inner), "contentType": "application/json"}


async def _replay(docs: list[dict[str, Any]]) -> AsyncIterator[dict[str, Any]]:
    for doc in docs:
        yield _chunk(doc)
