"""A remote OpenAI-compatible server (vLLM, llama-server, another emulator) as an instance backend.

Streams ``/chat/completions`` / ``/completions`` with server-sent events over
plain urllib (one blocking connection per slot, in the worker thread).
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

from emulator.compute.engines.base import (
    Chunk,
    Engine,
    EngineError,
    GenParams,
    is_prefill,
    plain_messages,
)
from emulator.compute.models import ModelInfo


class RemoteEngine(Engine):
    kind = "remote"

    def __init__(self, model: ModelInfo, slots: int = 1, timeout: float = 120.0, **_: Any) -> None:
        super().__init__(slots)
        self.model = model
        self.base = model.remote_url.rstrip("/")
        self.timeout = timeout
        # Called (from the worker thread) when the server cannot be reached, so an attached
        # instance turns impaired at once rather than at the next health probe.
        self.on_unreachable: Callable[[str], None] | None = None

    def probe(self, timeout: float) -> None:
        """The health check: GET /models within ``timeout``; raises EngineError when it fails."""
        with self._request("/models", timeout=timeout) as resp:
            json.loads(resp.read() or b"{}")

    def _request(self, path: str, body: dict[str, Any] | None = None, timeout: float | None = None) -> Any:
        headers = {"content-type": "application/json"}
        if self.model.remote_key:
            headers["authorization"] = f"Bearer {self.model.remote_key}"
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, headers=headers, method="POST" if data else "GET")
        try:
            return urllib.request.urlopen(req, timeout=timeout or self.timeout)
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode("utf-8", "replace")[:500]
            raise EngineError(f"remote server answered {exc.code}: {detail}", 400 if exc.code < 500 else 502) from exc
        except OSError as exc:
            if self.on_unreachable is not None and body is not None:
                self.on_unreachable(str(exc))
            raise EngineError(f"remote server {self.base} unreachable: {exc}", 502) from exc

    def load(self) -> None:
        with self._request("/models") as resp:
            json.loads(resp.read() or b"{}")
        self.loaded = True

    def unload(self) -> None:
        self.loaded = False

    def count_tokens(self, prompt: str | None, messages: list[dict[str, Any]] | None) -> int:
        # No tokenizer endpoint in the OpenAI API: ~4 characters a token, as OpenAI's own guidance.
        text = prompt or "".join(str(m.get("content") or "") for m in messages or [])
        return max(1, len(text) // 4)

    def generate(self, slot: int, prompt: str | None, messages: list[dict[str, Any]] | None, params: GenParams,
                 cancel: threading.Event) -> Iterator[Chunk]:
        body: dict[str, Any] = {"model": self.model.remote_model or self.model.name, "max_tokens": params.max_tokens,
                                "temperature": params.temperature, "top_p": params.top_p, "stream": True,
                                "stream_options": {"include_usage": True}}
        if params.stop:
            body["stop"] = params.stop
        if params.seed is not None:
            body["seed"] = params.seed
        if params.presence_penalty:
            body["presence_penalty"] = params.presence_penalty
        if params.frequency_penalty:
            body["frequency_penalty"] = params.frequency_penalty
        if params.response_format and messages is not None:
            body["response_format"] = params.response_format
        if messages is not None:
            body["messages"] = messages
            if is_prefill(messages):
                # vLLM's extra parameters for a prefill (its chat API, "Extra Parameters"):
                # the final message is continued, no new assistant turn is opened.
                body["messages"] = plain_messages(messages)
                body["continue_final_message"] = True
                body["add_generation_prompt"] = False
            path = "/chat/completions"
        else:
            body["prompt"] = prompt or ""
            path = "/completions"
        finish = "stop"
        usage: dict[str, Any] = {}
        count = 0
        with self._request(path, body) as resp:
            for raw in resp:
                if cancel.is_set():
                    finish = "cancelled"
                    break
                line = raw.decode("utf-8", "replace").strip()
                if not line.startswith("data:"):
                    continue
                data = line[5:].strip()
                if data == "[DONE]":
                    break
                event = json.loads(data)
                if event.get("usage"):
                    usage = event["usage"]
                for choice in event.get("choices") or []:
                    text = (choice.get("delta") or {}).get("content") if messages is not None else choice.get("text")
                    if text:
                        count += 1
                        # A server sending usage with every chunk (vLLM's continuous_usage_stats) tells the prompt's size early.
                        yield Chunk(text=text, prompt_tokens=int(usage.get("prompt_tokens") or 0))
                    if choice.get("finish_reason"):
                        finish = choice["finish_reason"]
        yield Chunk(finish_reason=finish, prompt_tokens=int(usage.get("prompt_tokens") or self.count_tokens(prompt, messages)),
                    completion_tokens=int(usage.get("completion_tokens") or count))
