"""InvokeModel bodies of Bedrock's text embedding models, over the local model's pooled
embedding (emulator.compute.embeddings).

- Titan Text Embeddings V2 (``amazon.titan-embed-text-v2:0``): ``inputText``,
  ``dimensions`` (256 | 512 | 1024, default 1024), ``normalize`` (default true),
  ``embeddingTypes`` (["float"] | ["binary"] | both) -> ``embedding``,
  ``embeddingsByType``, ``inputTextTokenCount``.
- Titan Text Embeddings G1 (``amazon.titan-embed-text-v1``): ``inputText`` -> ``embedding``
  (1536 numbers), ``inputTextTokenCount``.
- Cohere Embed v3 (``cohere.embed-english-v3``, ``cohere.embed-multilingual-v3``):
  ``texts``, ``input_type``, ``truncate``, ``embedding_types`` -> ``embeddings`` (a list,
  or a dict by type), ``id``, ``response_type``, ``texts``.

Bad bodies get the model's JSON-schema wording that Bedrock wraps as "Malformed input
request: ..., please reformat your input and try again."
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from emulator.compute.embeddings import (
    EMBEDDING_MODELS,
    binary,
    cohere_types,
    embed,
    embedding_target,
    resize,
)
from emulator.compute.engines.base import EngineError
from emulator.compute.inference import (
    INFERENCE_ERRORS,
    Scope,
    normalize_model_id,
    strip_profile,
)
from emulator.compute.quotas import meter, quota_key
from emulator.context import RequestContext
from emulator.errors import AwsError
from emulator.gateway import security

TITAN_V2_KEYS = ("inputText", "dimensions", "normalize", "embeddingTypes")
COHERE_KEYS = ("texts", "images", "input_type", "truncate", "embedding_types")
COHERE_INPUT_TYPES = ("search_document", "search_query", "classification", "clustering")
COHERE_TYPES = ("float", "int8", "uint8", "binary", "ubinary")
TITAN_MAX_CHARS = 50000
COHERE_MAX_TEXTS = 96
COHERE_MAX_CHARS = 2048

NOT_CONVERSE = "This action doesn't support the model that you provided. Try again with a supported text or chat model."
NOT_STREAMING = "The model is unsupported for streaming."


def _malformed(detail: str) -> AwsError:
    return AwsError("ValidationException", f"Malformed input request: {detail}, please reformat your input and try again.", 400)


def embedding_family(model_id: str, body: dict[str, Any] | None = None, local_embeddings: bool = False) -> str | None:
    """titan-embed-v1, titan-embed-v2 or cohere-embed for a Bedrock embedding id; for a local
    model name, the body's shape decides (``texts`` is Cohere's; ``inputText`` is Titan V2's
    on an embedding model or with V2's own keys)."""
    ident = strip_profile(normalize_model_id(model_id))
    if ident.startswith("cohere.embed"):
        return "cohere-embed"
    if ident.startswith(("amazon.titan-embed-text-v1", "amazon.titan-embed-g1")):
        return "titan-embed-v1"
    if ident.startswith("amazon.titan-embed"):
        return "titan-embed-v2"
    if ident.startswith(("amazon.", "anthropic.", "meta.", "mistral.", "cohere.")) or body is None:
        return None
    if "texts" in body and "message" not in body:
        return "cohere-embed"
    if "inputText" in body and "textGenerationConfig" not in body and (
            local_embeddings or any(k in body for k in ("dimensions", "normalize", "embeddingTypes"))):
        return "titan-embed-v2"
    return None


def _limits(model_id: str, family: str) -> tuple[tuple[int, ...], int, int]:
    ident = strip_profile(normalize_model_id(model_id))
    if ident in EMBEDDING_MODELS:
        return EMBEDDING_MODELS[ident]
    return {"titan-embed-v1": EMBEDDING_MODELS["amazon.titan-embed-text-v1"],
            "cohere-embed": EMBEDDING_MODELS["cohere.embed-english-v3"]}.get(family, EMBEDDING_MODELS["amazon.titan-embed-text-v2:0"])


def _type_name(value: Any) -> str:
    return {bool: "Boolean", int: "Integer", float: "Number", str: "String", list: "JSONArray", dict: "JSONObject"}.get(type(value), "Null")


def _check_keys(body: dict[str, Any], allowed: tuple[str, ...]) -> None:
    for key in body:
        if key not in allowed:
            raise _malformed(f"#: extraneous key [{key}] is not permitted")


def _titan_text(body: dict[str, Any]) -> str:
    if "inputText" not in body:
        raise _malformed("#: required key [inputText] not found")
    text = body["inputText"]
    if not isinstance(text, str):
        raise _malformed(f"#/inputText: expected type: String, found: {_type_name(text)}")
    if not text:
        raise _malformed("#/inputText: expected minLength: 1, actual: 0")
    if len(text) > TITAN_MAX_CHARS:
        raise _malformed(f"#/inputText: expected maxLength: {TITAN_MAX_CHARS}, actual: {len(text)}")
    return text


def parse_titan_v2(body: dict[str, Any], sizes: tuple[int, ...], default: int) -> tuple[str, int, bool, list[str]]:
    _check_keys(body, TITAN_V2_KEYS)
    text = _titan_text(body)
    dims = body.get("dimensions", default)
    if isinstance(dims, bool) or not isinstance(dims, int):
        raise _malformed(f"#/dimensions: expected type: Integer, found: {_type_name(dims)}")
    if dims not in sizes:
        raise _malformed(f"#/dimensions: {dims} is not a valid enum value")
    normalize = body.get("normalize", True)
    if not isinstance(normalize, bool):
        raise _malformed(f"#/normalize: expected type: Boolean, found: {_type_name(normalize)}")
    types = body.get("embeddingTypes", ["float"])
    if not isinstance(types, list):
        raise _malformed(f"#/embeddingTypes: expected type: JSONArray, found: {_type_name(types)}")
    if not types:
        raise _malformed("#/embeddingTypes: expected minimum item count: 1, found: 0")
    for i, kind in enumerate(types):
        if kind not in ("float", "binary"):
            raise _malformed(f"#/embeddingTypes/{i}: {kind} is not a valid enum value")
    return text, dims, normalize, list(dict.fromkeys(types))


def parse_cohere(body: dict[str, Any]) -> tuple[list[str], str, str, list[str] | None]:
    _check_keys(body, COHERE_KEYS)
    if "images" in body:
        raise AwsError("ValidationException", "This model doesn't support the images input that you provided.", 400)
    if "texts" not in body:
        raise _malformed("#: required key [texts] not found")
    if "input_type" not in body:
        raise _malformed("#: required key [input_type] not found")
    texts = body["texts"]
    if not isinstance(texts, list):
        raise _malformed(f"#/texts: expected type: JSONArray, found: {_type_name(texts)}")
    if not texts:
        raise _malformed("#/texts: expected minimum item count: 1, found: 0")
    if len(texts) > COHERE_MAX_TEXTS:
        raise _malformed(f"#/texts: expected maximum item count: {COHERE_MAX_TEXTS}, found: {len(texts)}")
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise _malformed(f"#/texts/{i}: expected type: String, found: {_type_name(text)}")
        if not text:
            raise _malformed(f"#/texts/{i}: expected minLength: 1, actual: 0")
        if len(text) > COHERE_MAX_CHARS:
            raise _malformed(f"#/texts/{i}: expected maxLength: {COHERE_MAX_CHARS}, actual: {len(text)}")
    input_type = body["input_type"]
    if input_type not in COHERE_INPUT_TYPES:
        raise _malformed(f"#/input_type: {input_type} is not a valid enum value")
    truncate = body.get("truncate", "NONE")
    if truncate not in ("NONE", "START", "END"):
        raise _malformed(f"#/truncate: {truncate} is not a valid enum value")
    types = body.get("embedding_types")
    if types is not None:
        if not isinstance(types, list):
            raise _malformed(f"#/embedding_types: expected type: JSONArray, found: {_type_name(types)}")
        for i, kind in enumerate(types):
            if kind not in COHERE_TYPES:
                raise _malformed(f"#/embedding_types/{i}: {kind} is not a valid enum value")
        types = list(dict.fromkeys(types)) or None
    return texts, str(input_type), str(truncate), types


def _settle(handler: Any, reservation: Any, used: int) -> None:
    if reservation is None or reservation.settled:
        return
    try:
        security.settle(reservation, used, runtime=handler.runtime)
    except Exception:  # noqa: BLE001 - settling never fails the caller's request (as TokenMeter.settle)
        reservation.settled = True


async def invoke_embedding(handler: Any, ctx: RequestContext, model_id: str, family: str, body: dict[str, Any]) -> dict[str, Any]:
    """InvokeModel for an embedding body: validate, reserve the key's tokens, embed each text
    on the model's instance, settle with the tokens read, and answer the family's shape."""
    sizes, default, max_tokens = _limits(model_id, family)
    truncate = "NONE"
    types: list[str] | None = None
    if family == "cohere-embed":
        # The local model has no query/document prompts: every input_type embeds the text as given.
        texts, _input_type, truncate, types = parse_cohere(body)
        dims, normalize = default, True
    elif family == "titan-embed-v1":
        _check_keys(body, ("inputText",))
        texts, dims, normalize = [_titan_text(body)], default, True
    else:
        text, dims, normalize, types = parse_titan_v2(body, sizes, default)
        texts = [text]
    started = time.perf_counter()
    compute = handler.compute
    reservation = None
    try:
        target = await embedding_target(compute, model_id, Scope(ctx.region, ctx.account_id))
        tokens = await meter(handler.runtime, compute, quota_key(ctx.principal), target.model.name, "\n".join(texts), None, 0)
        reservation = tokens.reservation
        vectors: list[list[float]] = []
        counts: list[int] = []
        for text in texts:
            raw, count = await embed(target, text, max_tokens, truncate)
            vectors.append(resize(raw, dims, normalize))
            counts.append(count)
    except EngineError as exc:
        _settle(handler, reservation, 0)
        if exc.status < 500:
            raise AwsError("ValidationException", str(exc), 400) from None
        from emulator.handlers.bedrock_runtime import map_error

        raise map_error(exc, model_id) from None
    except INFERENCE_ERRORS as exc:
        _settle(handler, reservation, 0)
        from emulator.handlers.bedrock_runtime import map_error

        raise map_error(exc, model_id) from None
    used = sum(counts)
    _settle(handler, reservation, used)
    latency = int((time.perf_counter() - started) * 1000)
    ctx.telemetry.update({
        "model_id": model_id, "model": target.model.name, "instance_id": target.instance.instance_id,
        "input_tokens": used, "output_tokens": 0, "latency_ms": latency, "first_byte_ms": latency,
        "streamed": False, "finish_reason": "stop",
    })
    out: dict[str, Any]
    if family == "cohere-embed":
        out = {"id": str(uuid.uuid4()), "texts": texts}
        if types is None:
            out.update(embeddings=vectors, response_type="embeddings_floats")
        else:
            by_type: dict[str, list[Any]] = {kind: [] for kind in types}
            for vector in vectors:
                for kind, values in cohere_types(vector, types).items():
                    by_type[kind].append(values)
            out.update(embeddings=by_type, response_type="embeddings_by_type")
    elif family == "titan-embed-v1":
        out = {"embedding": vectors[0], "inputTextTokenCount": counts[0]}
    else:
        vector = vectors[0]
        by_kind: dict[str, Any] = {}
        for kind in types or ["float"]:
            by_kind[kind] = vector if kind == "float" else binary(vector)
        # "embedding" is always the float vector (AWS: "This will always be type float");
        # embeddingsByType holds the types asked for.
        out = {"embedding": vector, "embeddingsByType": by_kind, "inputTextTokenCount": counts[0]}
    return {"body": json.dumps(out).encode(), "contentType": "application/json"}
