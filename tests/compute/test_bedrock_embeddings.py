"""Bedrock InvokeModel for text embedding models (Titan Text Embeddings V1/V2, Cohere Embed v3)
with boto3, over the bundled SmolLM2 model's mean-pooled hidden states."""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from emulator.testing.server import EmulatorServer

from .conftest import MODEL_ID

TITAN_V2 = "amazon.titan-embed-text-v2:0"
TITAN_V1 = "amazon.titan-embed-text-v1"
COHERE = "cohere.embed-english-v3"


def _invoke(bedrock: Any, model_id: str, body: dict[str, Any]) -> dict[str, Any]:
    resp = bedrock.invoke_model(modelId=model_id, body=json.dumps(body), contentType="application/json", accept="application/json")
    assert resp["contentType"] == "application/json"
    out: dict[str, Any] = json.loads(resp["body"].read())
    return out


def _error(bedrock: Any, model_id: str, body: dict[str, Any] | bytes) -> tuple[str, str]:
    raw = body if isinstance(body, bytes) else json.dumps(body)
    with pytest.raises(ClientError) as err:
        bedrock.invoke_model(modelId=model_id, body=raw)
    return str(err.value.response["Error"]["Code"]), str(err.value.response["Error"]["Message"])


def _norm(v: list[float]) -> float:
    return math.sqrt(sum(x * x for x in v))


def _cos(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True)) / (_norm(a) * _norm(b))


def test_titan_v2_default_shape(bedrock: Any) -> None:
    out = _invoke(bedrock, TITAN_V2, {"inputText": "The cat sat on the mat."})
    assert set(out) == {"embedding", "embeddingsByType", "inputTextTokenCount"}
    assert len(out["embedding"]) == 1024
    assert out["embeddingsByType"] == {"float": out["embedding"]}
    assert abs(_norm(out["embedding"]) - 1) < 1e-4  # normalize defaults to true
    assert out["inputTextTokenCount"] > 0


@pytest.mark.parametrize("dims", [256, 512, 1024])
def test_titan_v2_dimensions_and_normalization(bedrock: Any, dims: int) -> None:
    unit = _invoke(bedrock, TITAN_V2, {"inputText": "hello world", "dimensions": dims, "normalize": True})["embedding"]
    raw = _invoke(bedrock, TITAN_V2, {"inputText": "hello world", "dimensions": dims, "normalize": False})["embedding"]
    assert len(unit) == len(raw) == dims
    assert abs(_norm(unit) - 1) < 1e-4
    assert abs(_norm(raw) - 1) > 1e-2  # not normalized: the model's own magnitude
    assert _cos(unit, raw) > 0.9999  # the same direction


def test_titan_v2_binary_and_float(bedrock: Any) -> None:
    out = _invoke(bedrock, TITAN_V2, {"inputText": "binary please", "dimensions": 256, "embeddingTypes": ["float", "binary"]})
    floats, bits = out["embeddingsByType"]["float"], out["embeddingsByType"]["binary"]
    assert out["embedding"] == floats and len(bits) == 256
    assert bits == [1 if x > 0 else 0 for x in floats]
    only_binary = _invoke(bedrock, TITAN_V2, {"inputText": "binary please", "dimensions": 256, "embeddingTypes": ["binary"]})
    assert only_binary["embedding"] == floats and only_binary["embeddingsByType"] == {"binary": bits}


def test_deterministic_and_token_count(bedrock: Any) -> None:
    text = "Deterministic embeddings for retrieval."
    body: dict[str, Any] = {"inputText": text, "dimensions": 512}
    a, b = _invoke(bedrock, TITAN_V2, body), _invoke(bedrock, TITAN_V2, body)
    assert a["embedding"] == b["embedding"]
    counted = bedrock.count_tokens(modelId=MODEL_ID, input={"invokeModel": {"body": json.dumps({"prompt": text})}})["inputTokens"]
    assert a["inputTextTokenCount"] == counted  # the model's tokenizer
    longer = _invoke(bedrock, TITAN_V2, {"inputText": text + " And some more words here.", "dimensions": 512})
    assert longer["inputTextTokenCount"] > a["inputTextTokenCount"]
    assert longer["embedding"] != a["embedding"]


def test_similar_texts_are_closer(bedrock: Any) -> None:
    # Checked on the bundled model: paraphrases ~0.96, unrelated ~0.73 (cosine at 1024 dims).
    def vec(text: str) -> list[float]:
        out: list[float] = _invoke(bedrock, TITAN_V2, {"inputText": text})["embedding"]
        return out

    cat, cat2, money = vec("The cat sat on the mat."), vec("A cat was sitting on a mat."), vec("Quarterly revenue grew by ten percent in Europe.")
    assert _cos(cat, cat2) > _cos(cat, money)


def test_titan_v1(bedrock: Any) -> None:
    out = _invoke(bedrock, TITAN_V1, {"inputText": "hello"})
    assert set(out) == {"embedding", "inputTextTokenCount"}
    assert len(out["embedding"]) == 1536 and out["inputTextTokenCount"] > 0
    code, msg = _error(bedrock, TITAN_V1, {"inputText": "hello", "dimensions": 256})
    assert code == "ValidationException" and "extraneous key [dimensions]" in msg


def test_cohere_floats(bedrock: Any) -> None:
    texts = ["The cat sat on the mat.", "Stocks fell sharply today."]
    out = _invoke(bedrock, COHERE, {"texts": texts, "input_type": "search_document"})
    assert out["response_type"] == "embeddings_floats" and out["texts"] == texts and out["id"]
    assert len(out["embeddings"]) == 2 and all(len(v) == 1024 for v in out["embeddings"])
    assert all(abs(_norm(v) - 1) < 1e-4 for v in out["embeddings"])
    # Each text's vector does not depend on the others in the request.
    alone = _invoke(bedrock, "us." + COHERE, {"texts": texts[1:], "input_type": "search_query"})
    assert alone["embeddings"][0] == out["embeddings"][1]


def test_cohere_by_type(bedrock: Any) -> None:
    out = _invoke(bedrock, "cohere.embed-multilingual-v3", {"texts": ["hola mundo"], "input_type": "clustering", "truncate": "END",
                                                            "embedding_types": ["float", "int8", "uint8", "binary", "ubinary"]})
    assert out["response_type"] == "embeddings_by_type"
    emb = out["embeddings"]
    assert set(emb) == {"float", "int8", "uint8", "binary", "ubinary"}
    floats = emb["float"][0]
    assert len(floats) == 1024 and len(emb["int8"][0]) == 1024 and len(emb["uint8"][0]) == 1024
    assert all(-128 <= x <= 127 for x in emb["int8"][0]) and all(0 <= x <= 255 for x in emb["uint8"][0])
    assert [x > 0 for x in emb["int8"][0] if x != 0] == [f > 0 for f, x in zip(floats, emb["int8"][0], strict=True) if x != 0]
    assert len(emb["binary"][0]) == len(emb["ubinary"][0]) == 128
    first_bits = [1 if f > 0 else 0 for f in floats[:8]]
    assert emb["ubinary"][0][0] == int("".join(map(str, first_bits)), 2)
    assert emb["binary"][0][0] == emb["ubinary"][0][0] - 128


def test_cohere_truncate(bedrock: Any) -> None:
    long_text = "word " * 400  # ~400 tokens: within Cohere's 512
    ok = _invoke(bedrock, COHERE, {"texts": [long_text], "input_type": "search_document"})
    assert len(ok["embeddings"][0]) == 1024
    too_long = "w " * 1000 + "x"  # 2001 chars, over 512 tokens
    code, msg = _error(bedrock, COHERE, {"texts": [too_long], "input_type": "search_document"})
    assert code == "ValidationException" and "Too many input tokens" in msg
    for side in ("START", "END"):
        out = _invoke(bedrock, COHERE, {"texts": [too_long], "input_type": "search_document", "truncate": side})
        assert len(out["embeddings"][0]) == 1024


@pytest.mark.parametrize(("model_id", "body", "fragment"), [
    (TITAN_V2, {"inputText": "x", "foo": 1}, "#: extraneous key [foo] is not permitted"),
    (TITAN_V2, {"inputText": "x", "dimensions": 300}, "#/dimensions: 300 is not a valid enum value"),
    (TITAN_V2, {"inputText": "x", "dimensions": "256"}, "#/dimensions: expected type: Integer, found: String"),
    (TITAN_V2, {"inputText": "x", "normalize": "yes"}, "#/normalize: expected type: Boolean, found: String"),
    (TITAN_V2, {"inputText": "x", "embeddingTypes": ["int8"]}, "#/embeddingTypes/0: int8 is not a valid enum value"),
    (TITAN_V2, {"inputText": ""}, "#/inputText: expected minLength: 1, actual: 0"),
    (TITAN_V2, {"inputText": "a" * 50001}, "#/inputText: expected maxLength: 50000, actual: 50001"),
    (TITAN_V2, {"dimensions": 256}, "#: required key [inputText] not found"),
    (TITAN_V2, {"inputText": 5}, "#/inputText: expected type: String, found: Integer"),
    (COHERE, {"texts": ["x"]}, "#: required key [input_type] not found"),
    (COHERE, {"input_type": "search_query"}, "#: required key [texts] not found"),
    (COHERE, {"texts": [], "input_type": "search_query"}, "#/texts: expected minimum item count: 1, found: 0"),
    (COHERE, {"texts": ["x"] * 97, "input_type": "search_query"}, "#/texts: expected maximum item count: 96, found: 97"),
    (COHERE, {"texts": ["x" * 2049], "input_type": "search_query"}, "#/texts/0: expected maxLength: 2048, actual: 2049"),
    (COHERE, {"texts": ["x"], "input_type": "search"}, "#/input_type: search is not a valid enum value"),
    (COHERE, {"texts": ["x"], "input_type": "search_query", "truncate": "MIDDLE"}, "#/truncate: MIDDLE is not a valid enum value"),
    (COHERE, {"texts": ["x"], "input_type": "search_query", "embedding_types": ["double"]}, "#/embedding_types/0: double is not a valid enum value"),
    (COHERE, {"texts": ["x"], "input_type": "search_query", "max_tokens": 5}, "#: extraneous key [max_tokens] is not permitted"),
])
def test_malformed_bodies(bedrock: Any, model_id: str, body: dict[str, Any], fragment: str) -> None:
    code, msg = _error(bedrock, model_id, body)
    assert code == "ValidationException"
    assert msg == f"Malformed input request: {fragment}, please reformat your input and try again."


def test_bad_json_and_too_long_titan(bedrock: Any) -> None:
    code, _ = _error(bedrock, TITAN_V2, b"not json")
    assert code == "ValidationException"
    code, msg = _error(bedrock, TITAN_V2, {"inputText": "w " * 1000})
    assert code == "ValidationException" and msg.startswith("Too many input tokens. Max input tokens: ")


def test_unknown_embedding_model(bedrock: Any) -> None:
    for model_id, body in (("amazon.titan-embed-nothing-v9", {"inputText": "x"}),
                           ("no-such.embed-model", {"texts": ["x"], "input_type": "search_query"})):
        with pytest.raises(ClientError) as err:
            bedrock.invoke_model(modelId=model_id, body=json.dumps(body))
        assert err.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_converse_and_streaming_refuse_embedding_models(bedrock: Any) -> None:
    messages = [{"role": "user", "content": [{"text": "hi"}]}]
    for model_id in (TITAN_V2, COHERE, "us." + TITAN_V2):
        with pytest.raises(ClientError) as err:
            bedrock.converse(modelId=model_id, messages=messages)
        assert err.value.response["Error"]["Code"] == "ValidationException"
        assert err.value.response["Error"]["Message"] == "This action doesn't support the model that you provided. Try again with a supported text or chat model."
        with pytest.raises(ClientError) as err:
            bedrock.converse_stream(modelId=model_id, messages=messages)
        assert err.value.response["Error"]["Code"] == "ValidationException"
    with pytest.raises(ClientError) as err:
        bedrock.invoke_model_with_response_stream(modelId=TITAN_V2, body=json.dumps({"inputText": "x"}))
    assert err.value.response["Error"]["Code"] == "ValidationException"


def test_local_model_name_with_embedding_bodies(bedrock: Any) -> None:
    # A local model addressed by its own name: the body's shape picks the embedding format;
    # a Titan Text generation body on the same model still generates.
    out = _invoke(bedrock, MODEL_ID, {"texts": ["hello"], "input_type": "search_query"})
    assert len(out["embeddings"][0]) == 1024
    titan = _invoke(bedrock, MODEL_ID, {"inputText": "hello", "dimensions": 256})
    assert len(titan["embedding"]) == 256
    gen = _invoke(bedrock, MODEL_ID, {"inputText": "The sky is", "textGenerationConfig": {"maxTokenCount": 3, "temperature": 0}})
    assert "results" in gen


# ------------------------------------------------------ IAM and token quotas
TPM = 60


@pytest.fixture(scope="module")
def quota_server(server_factory: Callable[..., EmulatorServer], tmp_path_factory: pytest.TempPathFactory) -> EmulatorServer:
    data_dir = tmp_path_factory.mktemp("embed-quotas")
    config = data_dir / "emulator.toml"
    config.write_text(f"[emulator.token_quotas]\ntokens_per_minute = {TPM}\n", encoding="utf-8")
    return server_factory(data_dir=data_dir, EMULATOR_CONFIG_FILE=str(config))


def _user_client(server: EmulatorServer, *statements: dict[str, Any]) -> Any:
    iam = server.client("iam")
    name = "u-" + uuid.uuid4().hex[:10]
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName="inline", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": list(statements)}))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return server.client("bedrock-runtime", aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])


def test_iam_applies_to_embedding_models(quota_server: EmulatorServer) -> None:
    arn = f"arn:aws:bedrock:us-east-1::foundation-model/{TITAN_V2}"
    client = _user_client(quota_server, {"Effect": "Allow", "Action": "bedrock:InvokeModel", "Resource": "*"},
                          {"Effect": "Deny", "Action": "bedrock:InvokeModel", "Resource": arn})
    with pytest.raises(ClientError) as err:
        client.invoke_model(modelId=TITAN_V2, body=json.dumps({"inputText": "hi"}))
    assert err.value.response["Error"]["Code"] == "AccessDeniedException"
    assert len(json.loads(client.invoke_model(modelId=COHERE, body=json.dumps({"texts": ["hi"], "input_type": "search_query"}))["body"].read())["embeddings"]) == 1


def test_token_quota_counts_embedding_input(quota_server: EmulatorServer) -> None:
    client = _user_client(quota_server, {"Effect": "Allow", "Action": "bedrock:*", "Resource": "*"})
    with pytest.raises(ClientError) as err:  # the request alone is over the per-minute limit
        client.invoke_model(modelId=TITAN_V2, body=json.dumps({"inputText": "word " * (TPM + 5)}))
    assert err.value.response["Error"]["Code"] == "ValidationException"
    text = "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen"
    counts: list[int] = []
    with pytest.raises(ClientError) as err:
        for _ in range(TPM):
            counts.append(json.loads(client.invoke_model(modelId=TITAN_V2, body=json.dumps({"inputText": text}))["body"].read())["inputTextTokenCount"])
    assert err.value.response["Error"]["Code"] == "ThrottlingException"
    # Each request is charged its input tokens: refused exactly when the next one no longer fits.
    assert counts and sum(counts) <= TPM < sum(counts) + counts[0]
