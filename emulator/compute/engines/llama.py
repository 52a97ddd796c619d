"""llama-cpp-python: CPU or CUDA (``n_gpu_layers`` from settings.gpu_layers).

One ``Llama`` object per slot: llama.cpp contexts are not thread-safe, and the
weights are memory-mapped, so on CPU extra slots share one copy of them.
ctypes releases the GIL during decode, so slots really run in parallel.
"""

from __future__ import annotations

import functools
import json
import logging
import threading
from collections.abc import Iterator
from typing import Any

from emulator.compute.engines.base import (
    ACCEPTED,
    Chunk,
    ContextLengthExceeded,
    Engine,
    EngineError,
    GenParams,
    is_prefill,
    plain_messages,
)
from emulator.compute.models import ModelInfo
from emulator.compute.resources import cpu_flags

log = logging.getLogger("emulator.compute")

_PATCH_LOCK = threading.Lock()
_EXTRA_BUFTS: bool | None = None  # None: llama.cpp's default


def install_model_params_patch(extra_bufts: bool | None) -> None:
    """Let settings decide ``use_extra_bufts`` (llama.cpp's repack / AMX weight buffers).

    llama-cpp-python exposes no constructor argument for it. On hosts whose CPU
    reports AMX but whose hypervisor does not enable the tile state, the AMX
    matmul faults (SIGSEGV at ``ldtilecfg``) on the first decode, so "auto"
    turns extra buffers off when the CPU has AMX.
    """
    global _EXTRA_BUFTS
    import llama_cpp
    import llama_cpp.llama as llama_module

    with _PATCH_LOCK:
        _EXTRA_BUFTS = extra_bufts
        if getattr(llama_module.llama_cpp, "_emulator_patched", False):
            return
        original = llama_cpp.llama_model_default_params

        def default_params() -> Any:
            params = original()
            if _EXTRA_BUFTS is not None and hasattr(params, "use_extra_bufts"):
                params.use_extra_bufts = _EXTRA_BUFTS
            return params

        llama_module.llama_cpp.llama_model_default_params = default_params
        llama_module.llama_cpp._emulator_patched = True  # type: ignore[attr-defined]


def resolve_extra_bufts(setting: str) -> bool | None:
    value = setting.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    return False if "amx_tile" in cpu_flags() else None


@functools.lru_cache(maxsize=64)
def _schema_grammar(schema_json: str) -> str:
    from llama_cpp.llama_grammar import json_schema_to_gbnf

    return str(json_schema_to_gbnf(schema_json))


_GOOD_GRAMMARS: set[str] = set()  # grammars llama.cpp has parsed once (bounded below)


def grammar(response_format: dict[str, Any], vocab: Any) -> Any:
    """The llama.cpp grammar that holds sampling to OpenAI's ``response_format``: any JSON
    object for "json_object", the schema's JSON for "json_schema" (llama-cpp-python's
    converter). A schema it cannot express is a 400 before the request takes a slot.

    The converter can emit text that llama.cpp cannot parse (``{"enum": []}`` gives an empty
    rule); llama.cpp then returns no sampler, and llama-cpp-python would add that NULL to its
    chain and crash the process. So each new grammar is parsed once here first."""
    import llama_cpp
    from llama_cpp.llama_grammar import JSON_GBNF, LlamaGrammar

    spec = response_format.get("json_schema") or {}
    if response_format.get("type") == "json_object":
        text = JSON_GBNF
    else:
        try:
            text = _schema_grammar(json.dumps(spec.get("schema") or {}))  # in schema order: keys are written so
        except Exception as exc:  # noqa: BLE001 - the converter raises bare Exceptions, KeyErrors, ValueErrors
            raise EngineError(f"Invalid schema for response_format '{spec.get('name', '')}': {exc}", 400) from None
    if text not in _GOOD_GRAMMARS:
        sampler = llama_cpp.llama_sampler_init_grammar(vocab, text.encode("utf-8"), b"root")
        if not sampler:
            raise EngineError(f"Invalid schema for response_format '{spec.get('name', '')}': it allows no JSON value", 400)
        llama_cpp.llama_sampler_free(sampler)
        if len(_GOOD_GRAMMARS) >= 256:
            _GOOD_GRAMMARS.clear()
        _GOOD_GRAMMARS.add(text)
    return LlamaGrammar.from_string(text, verbose=False)


class LlamaEngine(Engine):
    kind = "llama.cpp"

    def __init__(self, model: ModelInfo, slots: int = 1, n_ctx: int = 2048, n_threads: int = 0, gpu_layers: int = -1,
                 extra_bufts: str = "auto", **_: Any) -> None:
        super().__init__(slots)
        self.model = model
        self.n_ctx = model.served_context(n_ctx)
        self.n_threads = n_threads or None
        self.gpu_layers = gpu_layers
        self.extra_bufts = extra_bufts
        self._contexts: list[Any] = []
        self._embedder: Any = None
        self._pooled: Any = None  # the sentence-embedding context of sentence_embedding()
        self._formatter: Any = None
        self._open_formatter: Any = None  # the same template without the generation prompt (prefill)
        self._embed_lock = threading.Lock()

    def load(self) -> None:
        import llama_cpp
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        install_model_params_patch(resolve_extra_bufts(self.extra_bufts))
        contexts = []
        try:
            for _ in range(self.slots):
                contexts.append(llama_cpp.Llama(
                    self.model.path, n_ctx=self.n_ctx, n_threads=self.n_threads, n_threads_batch=self.n_threads,
                    n_gpu_layers=self.gpu_layers, verbose=False, embedding=False,
                ))
        except (ValueError, RuntimeError, OSError) as exc:
            raise EngineError(f"failed to load {self.model.name}: {exc}") from exc
        self._contexts = contexts
        first = contexts[0]
        template = first.metadata.get("tokenizer.chat_template")
        if template:
            eos = first._model.token_get_text(first.token_eos()) if first.token_eos() >= 0 else ""
            bos = first._model.token_get_text(first.token_bos()) if first.token_bos() >= 0 else ""
            self._formatter = Jinja2ChatFormatter(template=template, eos_token=eos, bos_token=bos)
            self._open_formatter = Jinja2ChatFormatter(template=template, eos_token=eos, bos_token=bos, add_generation_prompt=False)
        self.loaded = True

    def unload(self) -> None:
        for ctx in self._contexts:
            try:
                ctx.close()
            except (OSError, RuntimeError, AttributeError):  # closing a half-built context
                log.debug("closing a llama context failed", exc_info=True)
        self._contexts = []
        if self._embedder is not None:
            self._embedder.close()
            self._embedder = None
        if self._pooled is not None:
            self._pooled.close()
            self._pooled = None
        self.loaded = False

    def _render(self, messages: list[dict[str, Any]]) -> tuple[str, list[str]]:
        """The prompt for a chat and the template's stop strings; a prefilled chat
        (``base.PREFILL``) ends inside its last message, left open to be continued."""
        if is_prefill(messages):
            return self._render_open(plain_messages(messages))
        if self._formatter is None:
            # No template in the GGUF: a plain transcript.
            text = "".join(f"{m['role']}: {m.get('content') or ''}\n" for m in messages) + "assistant:"
            return text, ["\nuser:"]
        return self._format(self._formatter, messages)

    @staticmethod
    def _format(formatter: Any, messages: list[dict[str, Any]]) -> tuple[str, list[str]]:
        result = formatter(messages=messages)
        stop = result.stop if isinstance(result.stop, list) else ([result.stop] if result.stop else [])
        return result.prompt, stop

    def _render_open(self, messages: list[dict[str, Any]]) -> tuple[str, list[str]]:
        """Continue the final message, as Hugging Face's ``continue_final_message`` does: the
        chat rendered without the generation prompt, cut right after the final message's
        text (so without its end-of-turn). An empty final assistant message is a turn just
        opened: the chat before it with the generation prompt."""
        final = str(messages[-1].get("content") or "")
        if self._formatter is None:
            head = "".join(f"{m['role']}: {m.get('content') or ''}\n" for m in messages[:-1])
            return f"{head}{messages[-1]['role']}: {final}", ["\nuser:"]
        if not final.strip():
            if messages[-1]["role"] == "assistant":
                return self._format(self._formatter, messages[:-1])
            raise EngineError("The final message is empty: there is no text to continue.", 400)  # ours
        text, stop = self._format(self._open_formatter, messages)
        for needle in (final, final.strip()):
            at = text.rfind(needle) if needle else -1
            if at >= 0:
                return text[:at + len(needle)], stop
        # Ours: the template rewrote the text (HF raises for this case too).
        raise EngineError("The final message cannot be continued: the model's chat template does not reproduce its text.", 400)

    def count_tokens(self, prompt: str | None, messages: list[dict[str, Any]] | None) -> int:
        if not self._contexts:
            raise EngineError("model is not loaded")
        text = prompt if messages is None else self._render(messages)[0]
        return len(self._contexts[0].tokenize((text or "").encode("utf-8"), add_bos=False, special=True))

    def generate(self, slot: int, prompt: str | None, messages: list[dict[str, Any]] | None, params: GenParams,
                 cancel: threading.Event) -> Iterator[Chunk]:
        llm = self._contexts[slot]
        # The caller's stop sequences are matched here, not by llama.cpp, to tell which one
        # ended the text (Bedrock's "stop_sequence"); the template's own go to llama.cpp.
        user_stops = [s for s in params.stop if s]
        stop: list[str] = []
        if messages is not None:
            text, template_stop = self._render(messages)
            stop += template_stop
        else:
            text = prompt or ""
        tokens = llm.tokenize(text.encode("utf-8"), add_bos=False, special=True)
        if not tokens:
            # An empty prompt (OpenAI accepts ""): llama.cpp cannot sample without context,
            # so start from the beginning-of-text token, as OpenAI does with <|endoftext|>.
            tokens = [llm.token_bos() if llm.token_bos() >= 0 else llm.token_eos()]
        if len(tokens) >= self.n_ctx:
            raise ContextLengthExceeded(self.n_ctx, len(tokens), "messages" if messages is not None else "prompt")
        max_tokens = min(params.max_tokens, self.n_ctx - len(tokens))
        constraint = grammar(params.response_format, llm._model.vocab) if params.response_format else None
        yield ACCEPTED
        completion = 0
        finish = "length"
        matched: str | None = None
        pending = ""  # text held back while it may be the start of a stop sequence
        stream = llm.create_completion(
            tokens, max_tokens=max_tokens, temperature=params.temperature, top_p=params.top_p, top_k=params.top_k,
            stop=stop or None, seed=params.seed, stream=True, presence_penalty=params.presence_penalty,
            frequency_penalty=params.frequency_penalty, grammar=constraint,
        )
        try:
            for part in stream:
                if cancel.is_set():
                    finish = "cancelled"
                    break
                choice = part["choices"][0]
                delta = choice.get("text") or ""
                completion += 1
                if user_stops and delta:
                    pending += delta
                    hits = [(pending.find(s), s) for s in user_stops if s in pending]
                    if hits:
                        at, matched = min(hits)
                        if at:
                            yield Chunk(text=pending[:at], prompt_tokens=len(tokens))
                        pending = ""
                        finish = "stop"
                        break
                    keep = max((n for s in user_stops for n in range(1, len(s)) if pending.endswith(s[:n])), default=0)
                    delta, pending = pending[:len(pending) - keep], pending[len(pending) - keep:]
                if delta:
                    yield Chunk(text=delta, prompt_tokens=len(tokens))
                if choice.get("finish_reason"):
                    finish = choice["finish_reason"]
        finally:
            close = getattr(stream, "close", None)
            if close is not None:
                close()
        if pending and finish != "cancelled":
            yield Chunk(text=pending, prompt_tokens=len(tokens))
        # The final chunk may carry a finish reason without a token; don't count it twice.
        completion = min(completion, max_tokens)
        yield Chunk(finish_reason=finish, prompt_tokens=len(tokens), completion_tokens=completion, stop_sequence=matched)

    def supports_embeddings(self) -> bool:
        return self.model.embeddings

    def embed(self, texts: list[str]) -> tuple[list[list[float]], int]:
        if not self.model.embeddings:
            raise EngineError(f"The model {self.model.name} does not support embeddings.", 400)
        import llama_cpp

        with self._embed_lock:
            if self._embedder is None:
                self._embedder = llama_cpp.Llama(self.model.path, n_ctx=self.n_ctx, n_threads=self.n_threads,
                                                 n_gpu_layers=self.gpu_layers, embedding=True, verbose=False)
            out = self._embedder.create_embedding(texts)
        vectors = [item["embedding"] for item in out["data"]]
        return vectors, int(out.get("usage", {}).get("prompt_tokens", 0))

    def sentence_embedding(self, text: str, max_tokens: int, truncate: str = "NONE") -> tuple[list[float], int]:
        """The model's own pooling for embedding models; for a decoder (the bundled chat model)
        the mean of the last layer's hidden states over the text's tokens, the usual way to
        read a sentence embedding out of a causal LM. One text per decode, so a text's vector
        never depends on what else was in the request."""
        import llama_cpp

        with self._embed_lock:
            if self._pooled is None:
                pooling = llama_cpp.LLAMA_POOLING_TYPE_UNSPECIFIED if self.model.embeddings else llama_cpp.LLAMA_POOLING_TYPE_MEAN
                # The whole text is one micro-batch (non-causal encoders need that); capped at
                # Bedrock's largest embedding input (8192 tokens) so a long-context chat model
                # does not allocate compute buffers no embedding request can use.
                n_ctx = min(self.n_ctx, 8192)
                try:
                    self._pooled = llama_cpp.Llama(self.model.path, n_ctx=n_ctx, n_batch=n_ctx, n_ubatch=n_ctx,
                                                   n_threads=self.n_threads, n_gpu_layers=self.gpu_layers, embedding=True,
                                                   pooling_type=pooling, verbose=False)
                except (ValueError, RuntimeError, OSError) as exc:
                    raise EngineError(f"failed to load {self.model.name} for embeddings: {exc}") from exc
            llm = self._pooled
            limit = min(max_tokens, llm.n_ctx())
            tokens = llm.tokenize(text.encode("utf-8"))
            count = len(tokens)
            if count > limit:
                if truncate == "NONE":
                    raise EngineError(f"Too many input tokens. Max input tokens: {limit}, request input token count: {count}", 400)
                # Keep the BOS token llama.cpp put first; drop text tokens from the chosen side.
                head = tokens[:1] if tokens and tokens[0] == llm.token_bos() else []
                body = tokens[len(head):]
                keep = limit - len(head)
                body = body[len(body) - keep:] if truncate == "START" else body[:keep]
                text = llm.detokenize(body).decode("utf-8", errors="ignore")
                while len(llm.tokenize(text.encode("utf-8"))) > limit and text:
                    text = text[1:] if truncate == "START" else text[:-1]
                count = len(llm.tokenize(text.encode("utf-8")))
            try:
                out = llm.embed([text], normalize=False, truncate=False)
            except (ValueError, RuntimeError) as exc:
                raise EngineError(f"embedding failed: {exc}", 400) from exc
        vector = out[0]
        if vector and isinstance(vector[0], list):  # a model declaring no pooling: per-token rows, pooled here
            rows = vector
            vector = [sum(col) / len(rows) for col in zip(*rows, strict=True)]
        return [float(v) for v in vector], count
