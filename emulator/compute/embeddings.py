"""Sentence embeddings for Bedrock's embedding models (Titan Text Embeddings, Cohere Embed).

The local model's pooled vector has its own size (576 for the bundled SmolLM2), while
the Bedrock models answer 256/512/1024 (Titan v2), 1536 (Titan v1) or 1024 (Cohere v3)
numbers. The size is changed with a fixed, seeded Gaussian random projection (the
Johnson-Lindenstrauss construction): a matrix with N(0, 1/out) entries, seeded by
(native size, output size), so the same text always gets the same vector on every
machine and angles between vectors are kept approximately at every size. Truncation
(the Matryoshka way) would need a model trained for it and cannot grow a vector past
its native size, which Titan v1's 1536 needs.
"""

from __future__ import annotations

import math
import threading
from typing import Any

import numpy as np

from emulator.compute.engines.base import Engine, EngineError
from emulator.compute.inference import (
    INFERENCE_ERRORS,
    Scope,
    Target,
    UnknownModel,
    normalize_model_id,
    resolve,
    scoped_model_id,
    strip_profile,
)
from emulator.compute.models import DEFAULT_MODEL_FILE, ModelInfo
from emulator.compute.service import ComputeService

# Bedrock's text embedding models: model id -> (output sizes allowed, default size, max input tokens).
TITAN_V2 = "amazon.titan-embed-text-v2:0"
EMBEDDING_MODELS: dict[str, tuple[tuple[int, ...], int, int]] = {
    "amazon.titan-embed-text-v1": ((1536,), 1536, 8192),
    "amazon.titan-embed-g1-text-02": ((1536,), 1536, 8192),
    TITAN_V2: ((256, 512, 1024), 1024, 8192),
    "amazon.titan-embed-text-v2": ((256, 512, 1024), 1024, 8192),
    "cohere.embed-english-v3": ((1024,), 1024, 512),
    "cohere.embed-multilingual-v3": ((1024,), 1024, 512),
}
EMBEDDING_PREFIXES = ("amazon.titan-embed", "cohere.embed")

_SEED = 0x7E4B_ED00
_projections: dict[tuple[int, int], np.ndarray] = {}
_lock = threading.Lock()


def bedrock_model(model_id: str) -> str:
    """The Bedrock model id behind an ARN / cross-Region profile id (``us.cohere.embed-...``)."""
    return strip_profile(normalize_model_id(model_id))


def is_embedding_model_id(model_id: str) -> bool:
    return bedrock_model(model_id).startswith(EMBEDDING_PREFIXES)


def _projection(native: int, size: int) -> np.ndarray:
    with _lock:
        matrix = _projections.get((native, size))
        if matrix is None:
            rng = np.random.default_rng([_SEED, native, size])
            matrix = rng.standard_normal((size, native)) / math.sqrt(size)
            _projections[(native, size)] = matrix
        return matrix


def resize(vector: list[float], size: int, normalize: bool) -> list[float]:
    """``vector`` projected to ``size`` numbers (see the module doc), unit length when ``normalize``."""
    v = np.asarray(vector, dtype=np.float64)
    out = _projection(v.shape[0], size) @ v
    if normalize:
        norm = float(np.linalg.norm(out))
        if norm > 0:
            out = out / norm
    return [float(x) for x in out.astype(np.float32)]


def binary(vector: list[float]) -> list[int]:
    """Titan's binary embedding: one 0/1 per dimension, 1 where the float value is positive."""
    return [1 if x > 0 else 0 for x in vector]


def cohere_types(vector: list[float], kinds: list[str]) -> dict[str, list[Any]]:
    """Cohere's compressed embedding types: int8/uint8 scale the largest magnitude to the
    type's range; binary/ubinary pack one sign bit per dimension, 8 to a byte (MSB first),
    as signed and unsigned bytes."""
    v = np.asarray(vector, dtype=np.float64)
    peak = float(np.max(np.abs(v))) or 1.0
    out: dict[str, list[Any]] = {}
    for kind in kinds:
        if kind == "float":
            out[kind] = [float(x) for x in vector]
        elif kind == "int8":
            out[kind] = [int(x) for x in np.clip(np.rint(v / peak * 127), -128, 127)]
        elif kind == "uint8":
            out[kind] = [int(x) for x in np.clip(np.rint((v / peak + 1) * 127.5), 0, 255)]
        else:
            packed = np.packbits((v > 0).astype(np.uint8))
            out[kind] = [int(x) for x in (packed.astype(np.int16) - 128 if kind == "binary" else packed)]
    return out


def _local_embedder(compute: ComputeService) -> ModelInfo | None:
    """The local model serving a Bedrock embedding id nobody installed under that name: the
    first model that declares embeddings (an embedding GGUF), else the bundled model (its
    mean-pooled hidden states), else any local GGUF."""
    local = [m for m in compute.store.list() if m.engine == "llama"]
    for model in local:
        if model.embeddings:
            return model
    default = DEFAULT_MODEL_FILE.rsplit(".gguf", 1)[0]
    return next((m for m in local if m.name == default), local[0] if local else None)


async def embedding_target(compute: ComputeService, model_id: str, scope: Scope | None = None) -> Target:
    """The serving instance for an embedding request: a local model named like the id (or an
    image / instance id) first, then a Bedrock embedding id's local stand-in. ``scope``: a
    Bedrock request's, whose Region's profiles only are taken (inference.scoped_model_id)."""
    if scope is not None:
        model_id = scoped_model_id(compute, model_id, scope)
    ident = normalize_model_id(model_id)
    if ident.startswith("i-") or compute.store.get(ident) is not None or compute.store.get(strip_profile(ident)) is not None:
        return await resolve(compute, model_id)
    if bedrock_model(ident) in EMBEDDING_MODELS:
        model = _local_embedder(compute)
        if model is not None:
            return await resolve(compute, model.name)
    raise UnknownModel(model_id)


def can_embed(engine: Engine) -> bool:
    """Whether an engine pools a sentence embedding: every llama.cpp GGUF does (with its own
    pooling when it declares one, else the mean of its last hidden states); the remote engine
    does not. One rule for Bedrock's InvokeModel and OpenAI's /v1/embeddings."""
    return type(engine).sentence_embedding is not Engine.sentence_embedding


def token_text(engine: Engine, ids: list[int]) -> str:
    """The text whose tokenization by the model is exactly ``ids`` (token-array input of
    /v1/embeddings: the ids are the model's own tokens). llama.cpp's embedding call reads text
    and tokenizes it itself, so ids are embedded as the text they decode to, and only when that
    text tokenizes back to the same ids: anything else would embed other tokens than those
    given. Ours: the wording of the refusals."""
    contexts = getattr(engine, "_contexts", None)  # LlamaEngine's loaded contexts (their vocabulary)
    if not contexts:
        raise EngineError("This model's engine takes text only: token ids cannot be embedded.", 400)
    llm = contexts[0]
    vocab = int(llm.n_vocab())
    bad = next((t for t in ids if not 0 <= t < vocab), None)
    if bad is not None:
        raise EngineError(f"Invalid token id {bad}: this model's vocabulary has ids 0 to {vocab - 1}.", 400)
    try:
        text = bytes(llm.detokenize(ids)).decode("utf-8")
    except UnicodeDecodeError:
        text = ""
    bos = int(llm.token_bos())

    def body(seq: list[int]) -> list[int]:
        return seq[1:] if seq and seq[0] == bos else seq

    if not text or body(list(llm.tokenize(text.encode("utf-8"), add_bos=True, special=False))) != body(list(ids)):
        raise EngineError("These token ids cannot be embedded exactly: the model embeds text, and they are not the model's "
                          "tokenization of any text (special tokens, or a split the tokenizer does not make).", 400)
    return text


def pooled_vectors(engine: Engine, inputs: list[str] | list[list[int]], max_tokens: int, size: int | None) -> tuple[list[list[float]], int]:
    """Unit-length vectors of ``inputs`` (texts or token arrays) and the tokens read, one text per
    decode as for Bedrock (``embed``); ``size``: projected as Bedrock's models are (``resize``),
    None for the model's own size. Runs on the instance's executor."""
    vectors: list[list[float]] = []
    used = 0
    for item in inputs:
        text = item if isinstance(item, str) else token_text(engine, item)
        raw, count = engine.sentence_embedding(text, max_tokens)
        if size is None:
            norm = math.sqrt(sum(x * x for x in raw)) or 1.0
            vectors.append([x / norm for x in raw])
        else:
            vectors.append(resize(raw, size, True))
        used += count
    return vectors, used


async def embed(target: Target, text: str, max_tokens: int, truncate: str = "NONE") -> tuple[list[float], int]:
    """The pooled vector of ``text`` and its token count, on the instance's executor."""
    result: tuple[list[float], int] = await target.scheduler.run_sync(target.scheduler.engine.sentence_embedding, text, max_tokens, truncate)
    return result


__all__ = ["EMBEDDING_MODELS", "INFERENCE_ERRORS", "binary", "can_embed", "cohere_types", "embed", "embedding_target", "is_embedding_model_id",
           "pooled_vectors", "resize", "token_text"]
