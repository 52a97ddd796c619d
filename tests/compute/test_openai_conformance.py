"""OpenAI API conformance through the wire (the openai client): List input items of a response,
/v1/embeddings agreeing with Bedrock's embedding bodies, token-array input, chat and legacy
completion request checks; and Bedrock InvokeModel bodies' numeric field types (boto3)."""

from __future__ import annotations

import json
import math
import urllib.error
import urllib.request
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


# ------------------------------------------------------------ request fields
HI = [{"role": "user", "content": "hi"}]


def _said(err: openai.APIStatusError) -> str:
    """The error's message as the server wrote it (the client's ``message`` prefixes the status)."""
    body = err.body
    assert isinstance(body, dict)
    return str(body["message"])


def test_unknown_fields_are_refused(client: openai.OpenAI) -> None:
    """A field the endpoint does not know is OpenAI's 400, never silently left out (the openai
    client's extra_body sends anything)."""
    err = _bad_request(client.chat.completions.create, model=MODEL_ID, messages=HI, max_tokens=1, extra_body={"frobnicate": 1})
    assert _said(err) == "Unrecognized request argument supplied: frobnicate" and err.param is None and err.code is None
    assert err.type == "invalid_request_error"
    err = _bad_request(client.chat.completions.create, model=MODEL_ID, messages=HI, max_tokens=1, extra_body={"top_k": 5, "min_p": 0.1})
    assert _said(err) == "Unrecognized request arguments supplied: top_k, min_p"
    err = _bad_request(client.completions.create, model=MODEL_ID, prompt="x", max_tokens=1, extra_body={"max_completion_tokens": 1})
    assert _said(err) == "Unrecognized request argument supplied: max_completion_tokens"
    err = _bad_request(client.embeddings.create, model=MODEL_ID, input="x", extra_body={"frobnicate": 1})
    assert _said(err) == "Unrecognized request argument supplied: frobnicate"
    # The Responses API words it its own way.
    err = _bad_request(client.responses.create, model=MODEL_ID, input="x", max_output_tokens=1, extra_body={"frobnicate": 1})
    assert (_said(err), err.param, err.code) == ("Unknown parameter: 'frobnicate'.", "frobnicate", "unknown_parameter")
    # vLLM's chat extensions that are served stay known.
    ok = client.chat.completions.create(model=MODEL_ID, messages=[{"role": "user", "content": "hi"}, {"role": "assistant", "content": "Hel"}],
                                        max_tokens=1, extra_body={"continue_final_message": True, "add_generation_prompt": False})
    assert ok.choices


@pytest.mark.parametrize(("kwargs", "param", "message"), [
    ({"modalities": ["text", "audio"], "audio": {"voice": "alloy", "format": "wav"}}, "modalities", "Audio output"),
    ({"audio": {"voice": "alloy", "format": "wav"}}, "audio", "'audio' is not supported by this server."),
    ({"web_search_options": {}}, "web_search_options", "'web_search_options' is not supported by this server."),
    ({"reasoning_effort": "low"}, "reasoning_effort", "Unsupported parameter: 'reasoning_effort' is not supported with this model."),
    ({"verbosity": "low"}, "verbosity", "Unsupported value: 'verbosity' does not support 'low' with this model. Supported values are: 'medium'."),
    ({"tool_choice": "required"}, "tool_choice", "'tool_choice' is not supported by this server."),
    ({"service_tier": "cheapest"}, "service_tier", "Invalid value: 'cheapest'."),
    ({"user": 5}, "user", "Invalid type for 'user'"),
    ({"metadata": {"k": 1}}, "metadata", "Invalid type for 'metadata'"),
    # The refusals that were there before keep their words.
    ({"logit_bias": {"50256": -100}}, "logit_bias", "'logit_bias' is not supported by this server."),
    ({"n": 2}, "n", "Only n=1 is supported by this server."),
])
def test_known_but_unserved_chat_fields_are_refused(client: openai.OpenAI, kwargs: dict[str, Any], param: str, message: str) -> None:
    err = _bad_request(client.chat.completions.create, model=MODEL_ID, messages=HI, max_tokens=1, **kwargs)
    assert err.param == param and message in err.message, (err.param, err.message)


def test_fields_without_effect_are_accepted(client: openai.OpenAI) -> None:
    common: dict[str, Any] = {"store": True, "metadata": {"team": "qa"}, "user": "u-1", "safety_identifier": "s-1", "prompt_cache_key": "k",
                              "parallel_tool_calls": False, "modalities": ["text"], "verbosity": "medium", "tool_choice": "none"}
    out = client.chat.completions.create(model=MODEL_ID, messages=HI, max_tokens=2, temperature=0, seed=1, service_tier="auto",
                                         prediction={"type": "content", "content": "Hello"}, **common)
    assert out.service_tier == "default" and out.choices[0].message.content is not None
    plain = client.chat.completions.create(model=MODEL_ID, messages=HI, max_tokens=2, temperature=0, seed=1)
    assert plain.service_tier == "default" and plain.choices[0].message.content == out.choices[0].message.content
    chunks = list(client.chat.completions.create(model=MODEL_ID, messages=HI, max_tokens=2, stream=True, service_tier="fast"))
    assert {c.service_tier for c in chunks} == {"priority"}
    assert client.completions.create(model=MODEL_ID, prompt="x", max_tokens=1, user="u-1").choices
    assert client.embeddings.create(model=MODEL_ID, input="x", user="u-1").data
    resp = client.responses.create(model=MODEL_ID, input="hi", max_output_tokens=2, service_tier="default", user="u-1", store=False,
                                   metadata={"team": "qa"}, truncation="disabled", parallel_tool_calls=False, prompt_cache_key="k")
    assert (resp.service_tier, resp.user, resp.parallel_tool_calls, resp.metadata) == ("default", "u-1", False, {"team": "qa"})
    for kwargs, param in [({"truncation": "auto"}, "truncation"), ({"top_logprobs": 2}, "top_logprobs"),
                          ({"text": {"verbosity": "high"}}, "text.verbosity"), ({"stream_options": {"include_obfuscation": False}}, "stream_options")]:
        assert _bad_request(client.responses.create, model=MODEL_ID, input="hi", max_output_tokens=1, **kwargs).param == param, kwargs


# ------------------------------------------------------------ x-request-id, models, unknown paths
def test_every_answer_carries_x_request_id(client: openai.OpenAI, compute_server: EmulatorServer) -> None:
    raw = client.chat.completions.with_raw_response.create(model=MODEL_ID, messages=HI, max_tokens=1)
    assert raw.headers["x-request-id"] == raw.headers["x-amzn-requestid"] and raw.parse()._request_id == raw.headers["x-request-id"]
    with client.chat.completions.with_streaming_response.create(model=MODEL_ID, messages=HI, max_tokens=1, stream=True) as streamed:
        assert streamed.headers["x-request-id"] == streamed.headers["x-amzn-requestid"]
    with pytest.raises(openai.NotFoundError) as nf:
        client.chat.completions.create(model="gpt-nothing", messages=HI)
    assert nf.value.request_id and nf.value.request_id == nf.value.response.headers["x-amzn-requestid"]
    with pytest.raises(openai.AuthenticationError) as auth:
        openai.OpenAI(base_url=compute_server.endpoint + "/v1", api_key="sk-wrong", max_retries=0).models.list()
    assert auth.value.request_id


def test_embedding_ids_are_listed_and_retrieved(client: openai.OpenAI) -> None:
    listed = {m.id: m for m in client.models.list()}
    titan = client.models.retrieve(TITAN_V2)
    assert TITAN_V2 in listed and titan.id == TITAN_V2 and titan.owned_by == listed[MODEL_ID].owned_by
    assert client.embeddings.create(model=TITAN_V2, input="hi").model == TITAN_V2
    assert client.models.retrieve("cohere.embed-english-v3").model_dump()["context_length"] == 512  # Cohere's input limit
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("amazon.titan-embed-nothing-v9")


@pytest.mark.parametrize("method", ["GET", "POST", "DELETE", "PUT"])
@pytest.mark.parametrize("path", ["/v1/nope", "/v1/nope/deeper", "/v1", "/v1/responses/resp_x/cancel", "/v1/modelsx"])
def test_unknown_v1_paths_answer_invalid_url(compute_server: EmulatorServer, method: str, path: str) -> None:
    headers = {"authorization": f"Bearer {compute_server.secret_key}"}
    req = urllib.request.Request(compute_server.endpoint + path, method=method, headers=headers, data=b"{}" if method in ("POST", "PUT") else None)
    with pytest.raises(urllib.error.HTTPError) as http:
        urllib.request.urlopen(req, timeout=30)
    assert http.value.code == 404
    assert json.loads(http.value.read()) == {"error": {"message": f"Invalid URL ({method} {path})", "type": "invalid_request_error", "param": None,
                                                       "code": None}}
    assert http.value.headers["x-request-id"] == http.value.headers["x-amzn-requestid"]


def test_signed_v1_requests_keep_aws_errors(compute_server: EmulatorServer) -> None:
    # AWS Batch lives under /v1/: a SigV4 request there is AWS's, its unknown operation too.
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    assert compute_server.client("batch").describe_compute_environments()["computeEnvironments"] == []
    signed = AWSRequest(method="GET", url=compute_server.endpoint + "/v1/nope")
    SigV4Auth(Credentials(compute_server.access_key, compute_server.secret_key), "batch", "us-east-1").add_auth(signed)
    req = urllib.request.Request(compute_server.endpoint + "/v1/nope", headers=dict(signed.headers.items()))
    with pytest.raises(urllib.error.HTTPError) as http:
        urllib.request.urlopen(req, timeout=30)
    assert http.value.headers["x-amzn-errortype"] == "UnknownOperationException" and "error" not in json.loads(http.value.read())


# ------------------------------------------------------------ legacy completions: a list of prompts
def test_completion_prompt_list(client: openai.OpenAI) -> None:
    prompts = ["Once upon a time", "The sky is"]
    each = [client.completions.create(model=MODEL_ID, prompt=p, max_tokens=3, temperature=0) for p in prompts]
    both = client.completions.create(model=MODEL_ID, prompt=prompts, max_tokens=3, temperature=0)
    assert [c.index for c in both.choices] == [0, 1]
    assert [c.text for c in both.choices] == [e.choices[0].text for e in each]
    assert both.usage is not None and both.usage.prompt_tokens == sum(e.usage.prompt_tokens for e in each if e.usage)
    assert both.usage.completion_tokens == sum(e.usage.completion_tokens for e in each if e.usage)
    echoed = client.completions.create(model=MODEL_ID, prompt=prompts, max_tokens=1, temperature=0, echo=True)
    assert [c.text[:len(p)] for c, p in zip(echoed.choices, prompts, strict=True)] == prompts
    chunks = list(client.completions.create(model=MODEL_ID, prompt=prompts, max_tokens=3, temperature=0, stream=True,
                                            stream_options={"include_usage": True}))
    texts = ["", ""]
    finals = []
    for chunk in chunks:
        for choice in chunk.choices:
            texts[choice.index] += choice.text
            if choice.finish_reason:
                finals.append(choice.index)
    assert texts == [c.text for c in both.choices] and finals == [0, 1]
    assert chunks[-1].usage is not None and chunks[-1].usage.total_tokens == both.usage.total_tokens
    for bad, code in [([], "empty_array"), ([1, 2, 3], "unsupported_value"), ([[1, 2], [3]], "unsupported_value"), (["a", 1], "invalid_type")]:
        err = _bad_request(client.completions.create, model=MODEL_ID, prompt=bad, max_tokens=1)
        assert (err.param, err.code) == ("prompt", code), bad


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
