"""OpenAI's Responses API (``POST /v1/responses``), the one the openai client's
``client.responses.create`` calls, over the same generation path as chat completions.

Text input and output: ``input`` as a string or as messages (``input_text`` / ``output_text``
parts), ``instructions``, ``max_output_tokens``, ``temperature``, ``top_p``, ``text.format``
(structured output, as ``response_format`` in chat), ``stream`` (the typed server-sent events:
``response.created`` ... ``response.output_text.delta`` ... ``response.completed``), and
``previous_response_id`` with ``GET``/``DELETE /v1/responses/{id}`` over the responses kept in
memory (``store``, the default; the last ``KEPT`` of them, until the server stops).
Tools, images, files and reasoning items are refused with a 400 naming them.
"""

from __future__ import annotations

import time
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import orjson

from emulator.compute.engines.base import EngineError
from emulator.compute.openai_files import after_cursor, list_limit, page
from emulator.compute.openai_params import (
    RESPONSE_FIELDS,
    ApiError,
    _json,
    gen_params,
    map_error,
    no_effect_fields,
    response_format,
    service_tier,
    stream_options,
    unknown_fields,
)
from emulator.compute.quotas import SettlingStream
from emulator.compute.scheduler import GenerationTimeout, QueueTimeout
from emulator.protocols.base import Request, Response

if TYPE_CHECKING:
    from emulator.compute.openai_routes import OpenAIApi
    from emulator.context import RequestContext

KEPT = 1000  # stored responses, for previous_response_id and GET (in memory)
_ROLES = ("user", "assistant", "system", "developer")
_TEXT_PARTS = ("input_text", "output_text", "text")
INPUT_ITEMS_LIMIT = (1, 100)  # OpenAI "List input items": "Limit can range between 1 and 100, and the default is 20."
# OpenAI's ResponseIncludable values (the openai client's types): accepted by List input items, where
# a text message has none of what they add.
INCLUDABLE = ("file_search_call.results", "web_search_call.results", "web_search_call.action.sources", "message.input_image.image_url",
              "computer_call_output.output.image_url", "code_interpreter_call.outputs", "reasoning.encrypted_content",
              "message.output_text.logprobs")


def _error(status: int, message: str, param: str | None = None, code: str | None = None) -> ApiError:
    return ApiError(status, message, param=param, code=code)


def _messages(value: Any) -> list[dict[str, Any]]:
    """``input`` as chat messages (role, text content)."""
    if isinstance(value, str):
        return [{"role": "user", "content": value}]
    if not isinstance(value, list) or not value:
        raise _error(400, "Invalid 'input': expected a string or a non-empty array of input items.", "input", "invalid_type")
    out = []
    for i, item in enumerate(value):
        if not isinstance(item, dict):
            raise _error(400, f"Invalid type for 'input[{i}]': expected an object.", f"input[{i}]", "invalid_type")
        kind = item.get("type", "message")
        if kind != "message" or item.get("role") not in _ROLES:
            raise _error(400, f"Input items of type '{kind}' are not supported by this server; only messages with role user, assistant, system or developer.",
                         f"input[{i}]", "unsupported_value")
        content = item.get("content")
        if isinstance(content, list):
            texts = []
            for j, part in enumerate(content):
                if not isinstance(part, dict) or part.get("type") not in _TEXT_PARTS or not isinstance(part.get("text"), str):
                    shown = part.get("type") if isinstance(part, dict) else type(part).__name__
                    raise _error(400, f"Content parts of type '{shown}' are not supported by this server; only input_text and output_text.",
                                 f"input[{i}].content[{j}]", "unsupported_value")
                texts.append(part["text"])
            content = "".join(texts)
        if not isinstance(content, str):
            raise _error(400, f"Invalid type for 'input[{i}].content': expected a string or an array of content parts.", f"input[{i}].content", "invalid_type")
        out.append({"role": item["role"], "content": content})
    return out


def input_items(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The input items of a response as "List input items" shows them: each message with an id,
    its text as an input_text part (output_text for an assistant's)."""
    items = []
    for m in messages:
        part: dict[str, Any] = ({"type": "output_text", "text": m["content"], "annotations": []} if m["role"] == "assistant"
                                else {"type": "input_text", "text": m["content"]})
        items.append({"id": "msg_" + uuid.uuid4().hex, "type": "message", "role": m["role"], "status": "completed", "content": [part]})
    return items


def _text_format(body: dict[str, Any], messages: list[dict[str, Any]]) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """``text.format`` as given (echoed in the response) and as chat's response_format."""
    text = body.get("text")
    fmt = text.get("format") if isinstance(text, dict) else None
    if fmt is None:
        return {"type": "text"}, None
    if not isinstance(fmt, dict):
        raise _error(400, "Invalid type for 'text.format': expected an object.", "text.format", "invalid_type")
    if fmt.get("type") == "json_schema":  # flat here: {type, name, schema, strict}
        spec = {k: fmt[k] for k in ("name", "schema", "strict") if k in fmt}
        chat_fmt = response_format({"response_format": {"type": "json_schema", "json_schema": spec}}, messages)
    else:
        chat_fmt = response_format({"response_format": fmt}, messages)
    return fmt, chat_fmt


class ResponsesApi:
    def __init__(self, api: OpenAIApi) -> None:
        self.api = api
        # id -> (response, its conversation as chat messages, its input items)
        self._kept: OrderedDict[str, tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]] = OrderedDict()

    # ------------------------------------------------------------ stored responses
    def _keep(self, doc: dict[str, Any], conversation: list[dict[str, Any]], items: list[dict[str, Any]]) -> None:
        self._kept[doc["id"]] = (doc, conversation, items)
        while len(self._kept) > KEPT:
            self._kept.popitem(last=False)

    def _stored(self, response_id: str, param: str | None = None) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
        kept = self._kept.get(response_id)
        if kept is None:
            raise _error(404 if param is None else 400, f"Response with id '{response_id}' not found.", param)
        return kept

    def clear(self) -> None:
        """Forget every stored response (``POST /_emulator/reset``)."""
        self._kept.clear()

    def retrieve(self, response_id: str) -> Response:
        return _json(200, self._stored(response_id)[0])

    def list_input_items(self, response_id: str, request: Request) -> Response:
        """OpenAI "List input items" (GET /v1/responses/{id}/input_items): the items the response
        was generated from (with previous_response_id, the earlier turns' inputs and outputs
        first), ``order`` desc by default, cursors ``after`` / ``before``, ``limit`` 1-100 (20)."""
        items = list(self._stored(response_id)[2])
        order = request.query_one("order") or "desc"
        if order not in ("asc", "desc"):
            raise _error(400, f"Invalid value: '{order}'. Supported values are: 'asc' and 'desc'.", "order", "invalid_value")
        for value in request.query.get("include", []) + request.query.get("include[]", []):
            if value not in INCLUDABLE:
                shown = ", ".join(f"'{v}'" for v in INCLUDABLE)
                raise _error(400, f"Invalid value: '{value}'. Supported values are: {shown}.", "include", "invalid_value")
        limit = list_limit(request, *INPUT_ITEMS_LIMIT, 20)
        if order == "desc":
            items.reverse()
        items = after_cursor(items, request.query_one("after"), "input item")
        before = request.query_one("before")
        if before is None:
            return _json(200, page(items, limit))
        # The items before the one named: the page that ends right before it.
        upto = list(reversed(after_cursor(list(reversed(items)), before, "input item")))
        return _json(200, {**page(upto[-limit:], limit), "has_more": len(upto) > limit})

    def delete(self, response_id: str) -> Response:
        self._stored(response_id)
        del self._kept[response_id]
        return _json(200, {"id": response_id, "object": "response", "deleted": True})

    # ------------------------------------------------------------ create
    async def create(self, body: dict[str, Any], ctx: RequestContext) -> Response:
        model = body["model"]
        unknown_fields(body, RESPONSE_FIELDS, responses=True)
        for name in ("tools", "reasoning", "include", "prompt", "conversation", "background", "background_options", "context_management",
                     "moderation", "image", "access_programs"):
            if body.get(name) not in (None, [], {}, False):
                raise _error(400, f"'{name}' is not supported by this server.", name, "unsupported_parameter")
        if body.get("tool_choice") not in (None, "auto", "none"):
            raise _error(400, "'tool_choice' is not supported by this server.", "tool_choice", "unsupported_parameter")
        if body.get("top_logprobs") not in (None, 0):
            raise _error(400, "'top_logprobs' is not supported by this server.", "top_logprobs", "unsupported_parameter")
        truncation = body.get("truncation") or "disabled"
        if truncation not in ("auto", "disabled"):
            raise _error(400, f"Invalid value: '{truncation}'. Supported values are: 'auto' and 'disabled'.", "truncation", "invalid_value")
        if truncation == "auto":  # dropping the conversation's first items to fit the context: not done here
            raise _error(400, "'truncation' 'auto' is not supported by this server; only 'disabled'.", "truncation", "unsupported_value")
        text_options = body.get("text")
        verbosity = text_options.get("verbosity") if isinstance(text_options, dict) else None
        if verbosity not in (None, "medium"):  # as chat's verbosity
            raise _error(400, f"Unsupported value: 'verbosity' does not support '{verbosity}' with this model. Supported values are: 'medium'.",
                         "text.verbosity", "unsupported_value")
        no_effect_fields(body)
        tier = service_tier(body)
        stream_options(body)  # only with stream (its include_obfuscation changes nothing here: no obfuscation is added)
        history: list[dict[str, Any]] = []
        earlier: list[dict[str, Any]] = []  # the previous response's input items and its output
        previous = body.get("previous_response_id")
        if previous is not None:
            if not isinstance(previous, str):
                raise _error(400, "Invalid type for 'previous_response_id': expected a string.", "previous_response_id", "invalid_type")
            before, history, before_items = self._stored(previous, "previous_response_id")
            earlier = [*before_items, *before["output"]]
            history = list(history)
        given = _messages(body.get("input"))
        messages = history + given
        instructions = body.get("instructions")
        if instructions is not None and not isinstance(instructions, str):
            raise _error(400, "Invalid type for 'instructions': expected a string.", "instructions", "invalid_type")
        prompt = ([{"role": "system", "content": instructions}] if instructions else []) + messages
        sampling: dict[str, Any] = {k: body[k] for k in ("temperature", "top_p", "seed") if k in body}
        if body.get("max_output_tokens") is not None:
            sampling["max_tokens"] = body["max_output_tokens"]
        try:
            params = gen_params(sampling)
        except ApiError as err:  # the same checks as chat's, named as here
            if err.param == "max_tokens":
                raise _error(400, err.message.replace("'max_tokens'", "'max_output_tokens'"), "max_output_tokens", err.code) from None
            raise
        fmt, params.response_format = _text_format(body, prompt)
        store = body.get("store", True) is not False
        gen, tokens = await self.api._start(ctx, model, None, prompt, params)
        rid = "resp_" + uuid.uuid4().hex
        mid = "msg_" + uuid.uuid4().hex
        created = int(time.time())
        base: dict[str, Any] = {
            "id": rid, "object": "response", "created_at": created, "status": "in_progress", "background": False, "error": None,
            "incomplete_details": None, "instructions": instructions, "max_output_tokens": body.get("max_output_tokens"), "model": model,
            "output": [], "parallel_tool_calls": body.get("parallel_tool_calls") is not False, "previous_response_id": previous,
            "reasoning": {"effort": None, "summary": None}, "service_tier": tier, "store": store, "temperature": params.temperature,
            "text": {"format": fmt}, "tool_choice": body.get("tool_choice") or "auto", "tools": [], "top_p": params.top_p, "truncation": truncation,
            "usage": None, "user": body.get("user"), "metadata": body.get("metadata") or {},
        }
        for name in ("safety_identifier", "prompt_cache_key", "max_tool_calls"):
            if body.get(name) is not None:
                base[name] = body[name]

        def finished(text: str) -> dict[str, Any]:
            done = gen.finish_reason != "length"
            doc = dict(base)
            doc["status"] = "completed" if done else "incomplete"
            doc["incomplete_details"] = None if done else {"reason": "max_output_tokens"}
            doc["output"] = [{"id": mid, "type": "message", "status": doc["status"], "role": "assistant",
                              "content": [{"type": "output_text", "text": text, "annotations": [], "logprobs": []}]}]
            doc["usage"] = {"input_tokens": gen.prompt_tokens, "input_tokens_details": {"cached_tokens": 0}, "output_tokens": gen.completion_tokens,
                            "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": gen.prompt_tokens + gen.completion_tokens}
            if store:
                self._keep(doc, [*messages, {"role": "assistant", "content": text}], [*earlier, *input_items(given)])
            return doc

        if not body.get("stream"):
            await self.api._collect(gen, tokens, model)
            self.api._telemetry(ctx, model, gen, False, "responses")
            return _json(200, finished(gen.text))

        async def events() -> AsyncIterator[bytes]:
            seq = 0

            def event(kind: str, **fields: Any) -> bytes:
                nonlocal seq
                data = orjson.dumps({"type": kind, "sequence_number": seq, **fields})
                seq += 1
                return b"event: " + kind.encode() + b"\ndata: " + data + b"\n\n"

            where = {"item_id": mid, "output_index": 0, "content_index": 0}
            try:
                yield event("response.created", response=base)
                yield event("response.in_progress", response=base)
                yield event("response.output_item.added", output_index=0,
                            item={"id": mid, "type": "message", "status": "in_progress", "role": "assistant", "content": []})
                yield event("response.content_part.added", **where, part={"type": "output_text", "text": "", "annotations": [], "logprobs": []})
                pieces = []
                async for piece in gen.texts():
                    pieces.append(piece)
                    yield event("response.output_text.delta", **where, delta=piece, logprobs=[])
                text = "".join(pieces)
                doc = finished(text)
                part = doc["output"][0]["content"][0]
                yield event("response.output_text.done", **where, text=text, logprobs=[])
                yield event("response.content_part.done", **where, part=part)
                yield event("response.output_item.done", output_index=0, item=doc["output"][0])
                self.api._telemetry(ctx, model, gen, True, "responses")
                yield event("response.completed" if doc["status"] == "completed" else "response.incomplete", response=doc)
            except (QueueTimeout, GenerationTimeout, EngineError) as exc:
                err = map_error(exc, model)
                yield event("error", code=err.code, message=err.message, param=None)
            finally:
                await gen.aclose()

        return Response(200, {"content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache"}, b"",
                        stream=SettlingStream(events(), tokens, lambda: gen))
