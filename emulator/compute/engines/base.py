"""The engine interface. Engines are synchronous and run in worker threads.

An engine has ``slots`` independent contexts; the scheduler hands each request
one slot index, so a slot is used by one thread at a time.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any


class EngineError(Exception):
    """A failure inside the engine (bad parameters it rejected, a dead remote server)."""

    def __init__(self, message: str, status: int = 500) -> None:
        super().__init__(message)
        self.status = status


class ContextLengthExceeded(EngineError):
    """The prompt does not fit the served context. Its text is Bedrock's ("Input is too long
    for requested model.", a ValidationException); the OpenAI API words it from ``limit``,
    ``tokens`` and ``field`` ("messages" for a chat, "prompt" for a completion)."""

    def __init__(self, limit: int, tokens: int, field: str) -> None:
        super().__init__("Input is too long for requested model.", 400)
        self.limit = limit
        self.tokens = tokens
        self.field = field


# A chat whose last message carries this key (true) continues that message instead of
# answering it: the "prefill" of Anthropic's Messages API and Converse (a final assistant
# message), and vLLM's ``continue_final_message`` in the OpenAI API. The surfaces set it
# (``mark_prefill``); the engines render the conversation with that turn left open, and
# the generated text is only its continuation. A key of ours: never sent to a remote server.
PREFILL = "emulator_prefill"


def mark_prefill(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``messages`` with the last one marked to be continued (a new list; the dicts are copied)."""
    if not messages:
        return messages
    return [*messages[:-1], {**messages[-1], PREFILL: True}]


def is_prefill(messages: list[dict[str, Any]] | None) -> bool:
    return bool(messages and messages[-1].get(PREFILL))


def plain_messages(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The messages without our marker (what a chat template or a remote server sees)."""
    return [{k: v for k, v in m.items() if k != PREFILL} for m in messages]


@dataclass
class GenParams:
    max_tokens: int = 256
    temperature: float = 0.7
    top_p: float = 0.95
    top_k: int = 40
    stop: list[str] = field(default_factory=list)
    seed: int | None = None
    presence_penalty: float = 0.0
    frequency_penalty: float = 0.0
    # Structured output: OpenAI's response_format ({"type": "json_object"} or a "json_schema"),
    # which a local engine turns into a llama.cpp grammar and a remote one passes on.
    response_format: dict[str, Any] | None = None


@dataclass
class Chunk:
    """One step of a generation: a text delta, or the final chunk with finish reason and usage.
    A text chunk may carry ``prompt_tokens`` too, when the engine knows it before the end (a
    stream's first event reports it: Anthropic's ``message_start``)."""

    text: str = ""
    finish_reason: str | None = None  # "stop" | "length" (OpenAI's words)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    stop_sequence: str | None = None  # the caller's stop sequence that ended the text (finish_reason "stop")


# An engine may yield this (the object itself) before its first token, once it has
# accepted the request (the prompt fits the context) and before it processes the
# prompt: a streaming response then sends its headers and first event while the
# model reads the prompt, and the client's own set-up overlaps with it instead of
# adding to the time to first token. Errors before it are HTTP errors; later ones
# end the stream, as errors after the first token always did.
ACCEPTED = Chunk()


class Engine(ABC):
    kind: str = ""

    def __init__(self, slots: int = 1) -> None:
        self.slots = max(1, slots)
        self.loaded = False

    @abstractmethod
    def load(self) -> None:
        """Load weights and create ``slots`` contexts (blocking; seconds)."""

    @abstractmethod
    def unload(self) -> None: ...

    @abstractmethod
    def generate(self, slot: int, prompt: str | None, messages: list[dict[str, Any]] | None, params: GenParams,
                 cancel: threading.Event) -> Iterator[Chunk]:
        """Stream a completion of ``prompt`` or a chat reply to ``messages``; the last chunk carries usage."""

    @abstractmethod
    def count_tokens(self, prompt: str | None, messages: list[dict[str, Any]] | None) -> int: ...

    def supports_embeddings(self) -> bool:
        return False

    def embed(self, texts: list[str]) -> tuple[list[list[float]], int]:
        raise EngineError("This model does not support embeddings", 400)

    def sentence_embedding(self, text: str, max_tokens: int, truncate: str = "NONE") -> tuple[list[float], int]:
        """One text's pooled embedding and its token count (Bedrock's embedding models).
        ``truncate``: NONE (EngineError 400 when over ``max_tokens``), START or END."""
        raise EngineError("This model does not support embeddings", 400)

    def health(self) -> dict[str, Any]:
        return {"engine": self.kind, "loaded": self.loaded, "slots": self.slots}
