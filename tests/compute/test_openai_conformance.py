"""OpenAI API conformance through the wire (the openai client): List input items of a response,
/v1/embeddings agreeing with Bedrock's embedding bodies, token-array input, chat and legacy
completion request checks; and Bedrock InvokeModel bodies' numeric field types (boto3)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import openai
import pytest
from botocore.exceptions import ClientError

from emulator.compute.models import ModelStore
from emulator.testing.server import EmulatorServer

from .conftest import MODEL_ID, compute_env, model_path

TITAN_V2 = "amazon.titan-embed-text-v2:0"


@pytest.fixture(scope="module")
def client(compute_server: EmulatorServer) -> openai.OpenAI:
    return openai.OpenAI(base_url=compute_server.endpoint + "/v1", api_key=f"{compute_server.access_key}:{compute_server.secret_key}", max_retries=0)


def _bad_request(call: Any, **kwargs: Any) -> openai.BadRequestError:
    with pytest.raises(openai.BadRequestError) as err:
        call(**kwargs)
    return err.value


# ------------------------------------------------------------ responses: List input items
def test_list_input_items(client: openai.OpenAI) -> None:
    first = client.responses.create(model=MODEL_ID, input=[
        {"role": "developer", "content": "Be brief."},
        {"role": "user", "content": [{"type": "input_text", "text": "Say "}, {"type": "input_text", "text": "hi"}]},
    ], max_output_tokens=3, temperature=0)
    items = client.responses.input_items.list(first.id)
    # Newest first by default.
    assert [(i.type, i.role) for i in items.data] == [("message", "user"), ("message", "developer")]
    user = items.data[0]
    assert user.content[0].type == "input_text" and user.content[0].text == "Say hi"  # type: ignore[union-attr]
    assert items.first_id == items.data[0].id and items.last_id == items.data[-1].id and items.has_more is False
    asc = client.responses.input_items.list(first.id, order="asc")
    assert [i.id for i in asc.data] == [i.id for i in reversed(items.data)]

    # A follow-up lists the earlier turn (its input and output) before its own input.
    second = client.responses.create(model=MODEL_ID, input="And bye?", previous_response_id=first.id, max_output_tokens=3, temperature=0)
    chain = client.responses.input_items.list(second.id, order="asc")
    assert [i.role for i in chain.data] == ["developer", "user", "assistant", "user"]  # type: ignore[union-attr]
    assert chain.data[2].id == first.output[0].id

    # Cursor pages: limit + after, followed by the client; before.
    page = client.responses.input_items.list(second.id, order="asc", limit=1)
    assert len(page.data) == 1 and page.has_more is True
    assert [i.id for i in page] == [i.id for i in chain.data]  # auto-pagination follows has_more / after
    raw = client.get(f"/responses/{second.id}/input_items", cast_to=object,
                     options={"params": {"order": "asc", "before": chain.data[3].id, "limit": 2}})
    assert isinstance(raw, dict) and [d["id"] for d in raw["data"]] == [chain.data[1].id, chain.data[2].id] and raw["has_more"] is True

    assert _bad_request(client.responses.input_items.list, response_id=second.id, limit=101).param == "limit"
    assert _bad_request(client.responses.input_items.list, response_id=second.id, order="sideways").param == "order"
    assert _bad_request(client.responses.input_items.list, response_id=second.id, after="msg_nothing").param == "after"
    with pytest.raises(openai.NotFoundError) as nf:
        client.responses.input_items.list("resp_nothing")
    assert "resp_nothing" in nf.value.message and "input_items" not in nf.value.message
    client.responses.delete(first.id)
    with pytest.raises(openai.NotFoundError):
        client.responses.input_items.list(first.id)


# ------------------------------------------------------------ embeddings
def _cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True)) / (math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b)))


def test_embeddings_agree_with_bedrock(client: openai.OpenAI, bedrock: Any) -> None:
    # A Bedrock embedding id: the vector Bedrock answers for its default body.
    text = "The quick brown fox"
    titan = json.loads(bedrock.invoke_model(modelId=TITAN_V2, body=json.dumps({"inputText": text}))["body"].read())
    out = client.embeddings.create(model=TITAN_V2, input=text)
    vector = out.data[0].embedding
    assert len(vector) == 1024 and out.usage.prompt_tokens == titan["inputTextTokenCount"]
    assert max(abs(x - y) for x, y in zip(vector, titan["embedding"], strict=True)) < 1e-5
    small = client.embeddings.create(model=TITAN_V2, input=text, dimensions=256, encoding_format="float").data[0].embedding
    by_bedrock = json.loads(bedrock.invoke_model(modelId=TITAN_V2, body=json.dumps({"inputText": text, "dimensions": 256}))["body"].read())
    assert len(small) == 256 and _cosine(small, by_bedrock["embedding"]) > 0.9999
    assert _bad_request(client.embeddings.create, model=TITAN_V2, input=text, dimensions=300).param == "dimensions"

    # A local chat model by its own name: Bedrock embeds with it (a Titan V2 body), so /v1 does too.
    local = client.embeddings.create(model=MODEL_ID, input=["a cat", "a kitten", "stock markets"])
    vectors = [d.embedding for d in local.data]
    assert [d.index for d in local.data] == [0, 1, 2]
    assert all(abs(math.sqrt(sum(x * x for x in v)) - 1) < 1e-4 for v in vectors)
    assert _cosine(vectors[0], vectors[1]) > _cosine(vectors[0], vectors[2])
    by_invoke = json.loads(bedrock.invoke_model(modelId=MODEL_ID, body=json.dumps({"inputText": "a cat", "dimensions": 256}))["body"].read())
    assert len(by_invoke["embedding"]) == 256
    assert _bad_request(client.embeddings.create, model=MODEL_ID, input="x", dimensions=64).param == "dimensions"
    with pytest.raises(openai.NotFoundError):
        client.embeddings.create(model="amazon.titan-embed-nothing-v9", input="x")
    for bad in ("", [], [""], [[]], ["a", 1]):
        assert _bad_request(client.embeddings.create, model=MODEL_ID, input=bad).param == "input", bad


def test_embeddings_token_arrays(client: openai.OpenAI) -> None:
    import llama_cpp

    vocab = llama_cpp.Llama(str(model_path()), vocab_only=True, verbose=False)
    ids = vocab.tokenize(b"hello world", add_bos=False, special=False)
    by_text = client.embeddings.create(model=MODEL_ID, input="hello world").data[0].embedding
    one = client.embeddings.create(model=MODEL_ID, input=ids)
    assert max(abs(x - y) for x, y in zip(one.data[0].embedding, by_text, strict=True)) < 1e-5
    assert one.usage.prompt_tokens >= len(ids)
    two = client.embeddings.create(model=MODEL_ID, input=[ids, vocab.tokenize(b"good night", add_bos=False, special=False)])
    assert len(two.data) == 2 and two.data[0].embedding == one.data[0].embedding
    # Ids that are no text's tokenization (here special tokens) or outside the vocabulary: refused, saying why.
    err = _bad_request(client.embeddings.create, model=MODEL_ID, input=[1, 2, 3])
    assert "cannot be embedded exactly" in err.message
    assert "vocabulary" in _bad_request(client.embeddings.create, model=MODEL_ID, input=[10**9]).message


def test_model_named_like_titan(models_dir: Path, tmp_path: Path) -> None:
    """The QA setup: the chat GGUF registered under Titan's id answers both APIs alike."""
    local = tmp_path / "models"
    local.mkdir()
    ModelStore(local).add(model_path(), name=TITAN_V2)
    server = EmulatorServer(env=compute_env(local))
    server.start()
    try:
        oa = openai.OpenAI(base_url=server.endpoint + "/v1", api_key=server.secret_key, max_retries=0)
        vector = oa.embeddings.create(model=TITAN_V2, input="hello").data[0].embedding
        body = json.loads(server.client("bedrock-runtime").invoke_model(modelId=TITAN_V2, body=json.dumps({"inputText": "hello"}))["body"].read())
        assert len(vector) == len(body["embedding"]) == 1024
        assert max(abs(x - y) for x, y in zip(vector, body["embedding"], strict=True)) < 1e-5
    finally:
        server.cleanup()


# ------------------------------------------------------------ chat and completions checks
def test_chat_request_checks(client: openai.OpenAI) -> None:
    chat = client.chat.completions.create
    err = _bad_request(chat, model=MODEL_ID, messages="hi", max_tokens=1)
    assert err.param == "messages" and err.code == "invalid_type" and "expected an array" in err.message
    err = _bad_request(chat, model=MODEL_ID, messages=[{"role": "user", "content": None}], max_tokens=1)
    assert err.param == "messages[0].content" and "got null" in err.message
    err = _bad_request(chat, model=MODEL_ID, messages=[{"role": "user", "content": "hi"}], max_tokens=1, stream_options={"include_usage": True})
    assert err.param == "stream_options" and err.message.endswith("- The 'stream_options' parameter is only allowed when 'stream' is enabled.")
    history = [
        {"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "content": None, "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "weather", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
    ]
    tools = _bad_request(chat, model=MODEL_ID, messages=[{"role": "user", "content": "x"}], max_tokens=1,
                         tools=[{"type": "function", "function": {"name": "weather", "parameters": {"type": "object"}}}])
    err = _bad_request(chat, model=MODEL_ID, messages=history, max_tokens=1)
    assert err.code == tools.code == "unsupported_parameter" and err.message == tools.message
    assert err.param == "messages[1].tool_calls"
    assert _bad_request(chat, model=MODEL_ID, messages=[history[0], {"role": "tool", "tool_call_id": "c", "content": "x"}], max_tokens=1).param == "messages[1].role"
    # Still accepted: an assistant turn without content, stream_options with stream.
    ok = chat(model=MODEL_ID, messages=[{"role": "user", "content": "hi"}, {"role": "assistant", "content": None}, {"role": "user", "content": "hi"}],
              max_tokens=1)
    assert ok.choices[0].finish_reason in ("length", "stop")
    chunks = list(chat(model=MODEL_ID, messages=[{"role": "user", "content": "hi"}], max_tokens=2, stream=True, stream_options={"include_usage": True}))
    assert chunks[-1].usage is not None


def test_completion_request_checks(client: openai.OpenAI) -> None:
    comp = client.completions.create
    assert _bad_request(comp, model=MODEL_ID, prompt="def f(", suffix="return 1", max_tokens=2).param == "suffix"
    assert _bad_request(comp, model=MODEL_ID, prompt="x", best_of=2, max_tokens=2).param == "best_of"
    assert _bad_request(comp, model=MODEL_ID, prompt="x", max_tokens=2, stream_options={"include_usage": True}).param == "stream_options"
    assert comp(model=MODEL_ID, prompt="x", max_tokens=1, suffix="").choices


# ------------------------------------------------------------ Bedrock body field types
@pytest.mark.parametrize(("model_id", "body", "fragment"), [
    ("anthropic.claude-3-haiku-20240307-v1:0", {"anthropic_version": "bedrock-2023-05-31", "max_tokens": "2",
                                                "messages": [{"role": "user", "content": "hi"}]}, "#/max_tokens: expected type: Integer, found: String"),
    ("anthropic.claude-3-haiku-20240307-v1:0", {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 2, "temperature": "0.5",
                                                "messages": [{"role": "user", "content": "hi"}]}, "#/temperature: expected type: Number, found: String"),
    ("anthropic.claude-3-haiku-20240307-v1:0", {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 2.5,
                                                "messages": [{"role": "user", "content": "hi"}]}, "#/max_tokens: expected type: Integer, found: Number"),
    ("meta.llama3-8b-instruct-v1:0", {"prompt": "hi", "max_gen_len": "2"}, "#/max_gen_len: expected type: Integer, found: String"),
    ("meta.llama3-8b-instruct-v1:0", {"prompt": "hi", "top_p": True}, "#/top_p: expected type: Number, found: Boolean"),
    ("mistral.mistral-7b-instruct-v0:2", {"prompt": "hi", "max_tokens": "2"}, "#/max_tokens: expected type: Integer, found: String"),
    ("mistral.mistral-7b-instruct-v0:2", {"prompt": "hi", "top_k": "5"}, "#/top_k: expected type: Integer, found: String"),
    ("amazon.titan-text-express-v1", {"inputText": "hi", "textGenerationConfig": {"maxTokenCount": "2"}},
     "#/textGenerationConfig/maxTokenCount: expected type: Integer, found: String"),
    ("amazon.nova-micro-v1:0", {"messages": [{"role": "user", "content": [{"text": "hi"}]}], "inferenceConfig": {"maxTokens": "2"}},
     "#/inferenceConfig/maxTokens: expected type: Integer, found: String"),
    ("cohere.command-r-v1:0", {"message": "hi", "p": "0.5"}, "#/p: expected type: Number, found: String"),
    ("cohere.command-r-v1:0", {"message": "hi", "seed": "1"}, "#/seed: expected type: Integer, found: String"),
])
def test_bedrock_numeric_fields_typed(bedrock: Any, model_id: str, body: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ClientError) as err:
        bedrock.invoke_model(modelId=model_id, body=json.dumps(body))
    assert err.value.response["Error"]["Code"] == "ValidationException"
    message = err.value.response["Error"]["Message"]
    assert message == f"Malformed input request: {fragment}, please reformat your input and try again."


def test_bedrock_integral_numbers_still_accepted(bedrock: Any) -> None:
    body = {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 2.0, "temperature": 0, "messages": [{"role": "user", "content": "hi"}]}
    out = json.loads(bedrock.invoke_model(modelId=MODEL_ID, body=json.dumps(body))["body"].read())  # a local name: the body's format
    assert out["usage"]["output_tokens"] <= 2
