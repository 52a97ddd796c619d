"""Inference playground: chat with a model, streamed token by token.

The browser POSTs the conversation to ``/api/chat``; the console calls Bedrock
Runtime's ConverseStream through ``invoke`` and relays its events as
server-sent events while they come.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import orjson

from emulator.console import html as h
from emulator.console.core import SECURITY_HEADERS
from emulator.errors import AwsError
from emulator.protocols.base import Response

if TYPE_CHECKING:
    from emulator.console.core import Call, Console


def sse(event: str, data: Any) -> bytes:
    return b"event: " + event.encode() + b"\ndata: " + orjson.dumps(data, default=str) + b"\n\n"


def _event(item: Any) -> tuple[str, dict[str, Any]]:
    """An event-stream item as (name, payload): dicts like {"contentBlockDelta": {...}} or pairs."""
    if isinstance(item, tuple) and len(item) == 2:
        return str(item[0]), item[1] if isinstance(item[1], dict) else {}
    if isinstance(item, dict) and len(item) == 1:
        (name, payload), = item.items()
        return str(name), payload if isinstance(payload, dict) else {}
    return "unknown", {}


def converse_params(body: dict[str, Any]) -> dict[str, Any]:
    model = str(body.get("modelId") or "").strip()
    if not model:
        raise AwsError("ValidationException", "Choose a model.", 400)
    messages = []
    for m in body.get("messages") or []:
        role = m.get("role") if isinstance(m, dict) else None
        text = m.get("content") if isinstance(m, dict) else None
        if role not in ("user", "assistant") or not isinstance(text, str) or not text:
            raise AwsError("ValidationException", "Each message needs a role (user or assistant) and text.", 400)
        messages.append({"role": role, "content": [{"text": text}]})
    if not messages or messages[-1]["role"] != "user":
        raise AwsError("ValidationException", "The conversation must end with a user message.", 400)
    params: dict[str, Any] = {"modelId": model, "messages": messages}
    if isinstance(body.get("system"), str) and body["system"].strip():
        params["system"] = [{"text": body["system"].strip()}]
    inference: dict[str, Any] = {}
    try:
        if body.get("maxTokens") not in (None, ""):
            inference["maxTokens"] = int(body["maxTokens"])
        if body.get("temperature") not in (None, ""):
            inference["temperature"] = float(body["temperature"])
    except (TypeError, ValueError) as exc:
        raise AwsError("ValidationException", "maxTokens must be an integer and temperature a number.", 400) from exc
    if inference:
        params["inferenceConfig"] = inference
    return params


async def relay(stream: Any) -> AsyncIterator[bytes]:
    """ConverseStream events -> SSE: ``token`` for text, ``stop`` and ``metadata`` at the end."""
    try:
        async for item in stream:
            name, payload = _event(item)
            if name == "contentBlockDelta":
                text = (payload.get("delta") or {}).get("text")
                if text:
                    yield sse("token", {"text": text})
            elif name == "messageStop":
                yield sse("stop", {"stopReason": payload.get("stopReason")})
            elif name == "metadata":
                yield sse("metadata", {"usage": payload.get("usage"), "metrics": payload.get("metrics")})
            elif name.endswith("Exception"):
                yield sse("error", {"code": name, "message": payload.get("message", "")})
        yield sse("done", {})
    except AwsError as err:
        yield sse("error", {"code": err.code, "message": err.message})
    finally:
        aclose = getattr(stream, "aclose", None)
        if aclose is not None:
            await aclose()


def register(console: Console) -> None:
    @console.page("GET", "/playground")
    async def playground(c: Console, call: Call) -> Response:
        if not c.native("bedrock-runtime"):
            return c.html(call, "Inference playground", h.unavailable("bedrock-runtime"), active="playground")
        models: list[tuple[str, str]] = []
        if c.native("ec2"):
            try:
                res = await c.invoke(call, "ec2", "DescribeImages", {})
                models = [(i.get("ImageId", ""), i.get("Name") or i.get("ImageId", "")) for i in res.get("Images", [])]
            except AwsError:
                models = []
        options = "".join(f'<option value="{h.esc(mid)}">{h.esc(name)} ({h.esc(mid)})</option>' for mid, name in models)
        picker = (
            f'<select name="modelId" id="model">{options}</select>'
            if models
            else '<input name="modelId" id="model" placeholder="model name, image id or instance id" required>'
        )
        body = h.Markup(
            '<section class="card playground">'
            f'<form id="chat-form" class="row"><label>Model{picker}</label>'
            '<label>Max tokens<input name="maxTokens" id="max-tokens" type="number" min="1" max="4096" value="64"></label>'
            '<label>Temperature<input name="temperature" id="temperature" type="number" min="0" max="2" step="0.1" value="0.7"></label>'
            '<label class="wide">System prompt<input name="system" id="system" placeholder="optional"></label></form>'
            '<div id="chat-log" class="chat-log" aria-live="polite"></div>'
            '<form id="chat-input" class="chat-input"><textarea id="prompt" rows="3" placeholder="Ask something…" required></textarea>'
            '<div class="col"><button type="submit" class="primary" id="send">Send</button><button type="button" id="stop" disabled>Stop</button>'
            '<button type="button" id="clear">Clear</button></div></form>'
            '<p class="muted" id="chat-stats"></p></section>'
        )
        return c.html(call, "Inference playground", body, active="playground", scripts=("playground.js",))

    @console.page("POST", "/api/chat")
    async def chat(c: Console, call: Call) -> Response:
        try:
            body = json.loads(call.request.body or b"{}")
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return c.json({"code": "ValidationException", "message": "The request body is not a JSON object."}, 400)
        if not c.native("bedrock-runtime"):
            return c.json({"code": "ServiceUnavailable", "message": "The bedrock-runtime service is not available."}, 503)
        try:
            params = converse_params(body)
            out = await c.invoke(call, "bedrock-runtime", "ConverseStream", params)
        except AwsError as err:
            return c.json({"code": err.code, "message": err.message}, err.status)
        stream = out.get("stream")
        if stream is None or not hasattr(stream, "__aiter__"):
            return c.json({"code": "InternalFailure", "message": "ConverseStream returned no event stream."}, 500)
        headers = {**SECURITY_HEADERS, "content-type": "text/event-stream; charset=utf-8", "x-accel-buffering": "no"}
        return Response(200, headers, stream=relay(stream))
