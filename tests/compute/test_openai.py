"""The OpenAI-compatible API with the official openai client; the remote engine against it."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import openai
import pytest
from botocore.exceptions import ClientError

from emulator.compute.models import ModelStore, install_default
from emulator.testing.server import EmulatorServer, free_port

from .conftest import MODEL_ID, compute_env, health


@pytest.fixture(scope="module")
def client(compute_server: EmulatorServer) -> openai.OpenAI:
    return openai.OpenAI(base_url=compute_server.endpoint + "/v1", api_key=f"{compute_server.access_key}:{compute_server.secret_key}", max_retries=0)


def test_models(client: openai.OpenAI) -> None:
    from emulator.compute.embeddings import EMBEDDING_MODELS

    ids = [m.id for m in client.models.list()]
    # The store's model, then the Bedrock embedding ids that /v1/embeddings serves with it.
    assert ids == [MODEL_ID, *EMBEDDING_MODELS]
    assert client.models.retrieve(MODEL_ID).id == MODEL_ID
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("gpt-nothing")


def test_chat_completion(client: openai.OpenAI) -> None:
    r = client.chat.completions.create(model=MODEL_ID, messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Say hi"}],
                                       max_tokens=8, temperature=0, seed=42)
    assert r.object == "chat.completion" and r.choices[0].message.role == "assistant"
    assert r.choices[0].message.content and r.choices[0].finish_reason in ("length", "stop")
    assert r.usage is not None and 0 < r.usage.completion_tokens <= 8 and r.usage.total_tokens == r.usage.prompt_tokens + r.usage.completion_tokens


def test_chat_completion_stream_matches_non_stream(client: openai.OpenAI) -> None:
    kwargs: dict[str, Any] = {"model": MODEL_ID, "messages": [{"role": "user", "content": "Count to five"}], "max_tokens": 8, "temperature": 0}
    full = client.chat.completions.create(**kwargs).choices[0].message.content
    stream = client.chat.completions.create(**kwargs, stream=True, stream_options={"include_usage": True})
    chunks = list(stream)
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == full
    finals = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert len(finals) == 1
    assert chunks[-1].choices == [] and chunks[-1].usage is not None and chunks[-1].usage.completion_tokens <= 8
    plain = list(client.chat.completions.create(**kwargs, stream=True))
    assert all(c.usage is None for c in plain)


def test_completions_with_stop(client: openai.OpenAI) -> None:
    r = client.completions.create(model=MODEL_ID, prompt="1, 2, 3, 4,", max_tokens=12, temperature=0, stop=[","])
    assert r.object == "text_completion" and "," not in r.choices[0].text and r.choices[0].finish_reason == "stop"
    parts = list(client.completions.create(model=MODEL_ID, prompt="The sky is", max_tokens=4, temperature=0, stream=True))
    assert "".join(p.choices[0].text for p in parts if p.choices)


def test_structured_output_json_schema_and_json_object(client: openai.OpenAI) -> None:
    """response_format holds sampling to JSON (a llama.cpp grammar): the openai client's parse()
    with a pydantic model works, streamed or not."""
    from pydantic import BaseModel

    class Weather(BaseModel):
        city: str
        temp: int

    messages: list[Any] = [{"role": "user", "content": "The weather in Paris?"}]
    parsed = client.chat.completions.parse(model=MODEL_ID, messages=messages, max_tokens=60, temperature=0, response_format=Weather)
    assert parsed.choices[0].finish_reason == "stop"
    weather = parsed.choices[0].message.parsed
    assert isinstance(weather, Weather) and weather.city
    # Keys are written in the schema's order (OpenAI's Structured Outputs do), not sorted.
    schema = {"type": "object", "properties": {"temp": {"type": "integer"}, "city": {"type": "string"}}, "required": ["temp", "city"]}
    fmt: Any = {"type": "json_schema", "json_schema": {"name": "weather", "schema": schema}}
    streamed = client.chat.completions.create(model=MODEL_ID, messages=messages, max_tokens=60, temperature=0, response_format=fmt, stream=True)
    doc = json.loads("".join(c.choices[0].delta.content or "" for c in streamed if c.choices))
    assert list(doc) == ["temp", "city"] and isinstance(doc["temp"], int)
    anything = client.chat.completions.create(model=MODEL_ID, messages=[{"role": "user", "content": "Reply in JSON: a greeting"}], max_tokens=24,
                                              temperature=0, response_format={"type": "json_object"})
    assert anything.choices[0].message.content.lstrip().startswith("{")  # type: ignore[union-attr]


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"response_format": {"type": "json_object"}}, "'messages' must contain the word 'json' in some form, to use 'response_format' of type 'json_object'."),
    ({"response_format": {"type": "xml"}}, "Invalid value: 'xml'. Supported values are: 'text', 'json_object', and 'json_schema'."),
    ({"response_format": {"type": "json_schema", "json_schema": {"schema": {}}}}, "Missing required parameter: 'response_format.json_schema.name'."),
    ({"response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "nonsense"}}}}, "Invalid schema for response_format 'x'"),
    # The converter turns these into grammars llama.cpp cannot parse; handed on, they crashed the server.
    ({"response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": {"enum": []}}}}, "Invalid schema for response_format 'x'"),
    ({"response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": {"anyOf": []}}}}, "Invalid schema for response_format 'x'"),
    ({"logprobs": True, "top_logprobs": 2}, "'logprobs' is not supported by this server."),
    ({"logit_bias": {"50256": -100}}, "'logit_bias' is not supported by this server."),
    ({"presence_penalty": 2.5}, "Invalid 'presence_penalty': decimal above maximum value. Expected a value <= 2, but got 2.5 instead."),
])
def test_unsupported_or_invalid_options_are_refused(client: openai.OpenAI, kwargs: dict[str, Any], message: str) -> None:
    # Never an answer that silently leaves out what was asked for.
    with pytest.raises(openai.BadRequestError) as err:
        client.chat.completions.create(model=MODEL_ID, messages=[{"role": "user", "content": "hi"}], max_tokens=2, **kwargs)
    assert message in err.value.message


def test_responses_api(client: openai.OpenAI) -> None:
    """client.responses: text in and out, streamed events, previous_response_id, parse()."""
    first = client.responses.create(model=MODEL_ID, input="Say hi", max_output_tokens=8, temperature=0)
    assert first.object == "response" and first.id.startswith("resp_")
    assert first.status == "incomplete" and first.incomplete_details is not None and first.incomplete_details.reason == "max_output_tokens"
    assert first.output_text and first.usage is not None and first.usage.output_tokens == 8
    assert first.usage.total_tokens == first.usage.input_tokens + first.usage.output_tokens
    events = list(client.responses.create(model=MODEL_ID, input="Say hi", max_output_tokens=8, temperature=0, stream=True))
    kinds = [e.type for e in events]
    assert kinds[:4] == ["response.created", "response.in_progress", "response.output_item.added", "response.content_part.added"]
    assert kinds[-4:] == ["response.output_text.done", "response.content_part.done", "response.output_item.done", "response.incomplete"]
    assert [e.sequence_number for e in events] == list(range(len(events)))
    assert "".join(e.delta for e in events if e.type == "response.output_text.delta") == first.output_text
    # A follow-up carries the stored conversation (instructions are not carried over, as OpenAI's).
    second = client.responses.create(model=MODEL_ID, input=[{"role": "user", "content": "Again"}], previous_response_id=first.id,
                                     instructions="Be brief.", max_output_tokens=4)
    assert second.previous_response_id == first.id and second.usage is not None and second.usage.input_tokens > first.usage.input_tokens
    assert client.responses.retrieve(first.id).output_text == first.output_text
    client.responses.delete(first.id)
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(first.id)
    from pydantic import BaseModel

    class Weather(BaseModel):
        city: str
        temp: int

    parsed = client.responses.parse(model=MODEL_ID, input="The weather in Paris?", text_format=Weather, max_output_tokens=60, temperature=0)
    assert parsed.status == "completed" and isinstance(parsed.output_parsed, Weather)
    for kwargs, message in [
        ({"tools": [{"type": "web_search"}]}, "'tools' is not supported by this server."),
        ({"input": [{"type": "function_call_output", "call_id": "c", "output": "x"}]}, "Input items of type 'function_call_output' are not supported"),
        ({"input": [{"role": "user", "content": [{"type": "input_image", "image_url": "http://x"}]}]}, "Content parts of type 'input_image' are not supported"),
        ({"previous_response_id": "resp_unknown"}, "Response with id 'resp_unknown' not found."),
        ({"max_output_tokens": 0}, "Invalid 'max_output_tokens': integer below minimum value."),
    ]:
        call: dict[str, Any] = {"model": MODEL_ID, "input": "hi", "max_output_tokens": 2, **kwargs}
        with pytest.raises(openai.BadRequestError) as err:
            client.responses.create(**call)
        assert message in err.value.message, kwargs


def test_penalties_are_accepted(client: openai.OpenAI) -> None:
    r = client.chat.completions.create(model=MODEL_ID, messages=[{"role": "user", "content": "hi"}], max_tokens=4, presence_penalty=1.5, frequency_penalty=-0.5)
    assert r.choices[0].message.content is not None


def test_errors_and_auth(compute_server: EmulatorServer, client: openai.OpenAI) -> None:
    # Any local GGUF embeds (its pooling, else the mean of its last layer), as on Bedrock's side.
    vector = client.embeddings.create(model=MODEL_ID, input="hello").data[0].embedding
    assert len(vector) > 0 and abs(sum(x * x for x in vector) - 1.0) < 1e-3
    with pytest.raises(openai.NotFoundError) as nf:
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "x"}])
    assert nf.value.code == "model_not_found"
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model=MODEL_ID, messages=[], max_tokens=1)
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model=MODEL_ID, messages=[{"role": "user", "content": "x"}], temperature=3)
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model=MODEL_ID, messages=[{"role": "user", "content": "word " * 600}], max_tokens=1)
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model=MODEL_ID, messages=[{"role": "user", "content": "x"}],
                                       tools=[{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}])
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=compute_server.endpoint + "/v1", api_key="sk-wrong", max_retries=0).models.list()
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=compute_server.endpoint + "/v1", api_key=f"{compute_server.access_key}:wrong", max_retries=0).models.list()
    # The secret alone is accepted too.
    secret_only = openai.OpenAI(base_url=compute_server.endpoint + "/v1", api_key=compute_server.secret_key, max_retries=0)
    assert secret_only.models.list().data
    req = urllib.request.Request(compute_server.endpoint + "/v1/chat/completions", data=b"{not json",
                                 headers={"authorization": f"Bearer {compute_server.secret_key}", "content-type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as http:
        urllib.request.urlopen(req, timeout=30)
    assert http.value.code == 400 and json.loads(http.value.read())["error"]["code"] == "invalid_json"


def test_queue_full_is_429_with_retry_after(server_factory: Any) -> None:
    server = server_factory(EMULATOR_COMPUTE_SLOTS="1", EMULATOR_COMPUTE_QUEUE="0")
    client = openai.OpenAI(base_url=server.endpoint + "/v1", api_key=server.secret_key, max_retries=0)
    stream = client.chat.completions.create(model=MODEL_ID, messages=[{"role": "user", "content": "Tell a long story"}], max_tokens=400, stream=True)
    next(iter(stream))
    with pytest.raises(openai.RateLimitError) as err:
        client.chat.completions.create(model=MODEL_ID, messages=[{"role": "user", "content": "hi"}], max_tokens=1)
    assert int(err.value.response.headers["retry-after"]) >= 1
    assert err.value.code == "rate_limit_exceeded"
    stream.close()


def test_remote_engine_serves_through_another_openai_server(models_dir: Path, tmp_path: Path) -> None:
    """An image backed by a remote OpenAI-compatible server: here, the emulator's own /v1."""
    port = free_port()
    local = tmp_path / "models"
    install_default(local)
    server = EmulatorServer(port=port, env=compute_env(local))
    ModelStore(local).add_remote("relay", f"http://127.0.0.1:{port}/v1", model=MODEL_ID, api_key=server.secret_key)
    server.start()
    try:
        ec2 = server.client("ec2")
        images = {i["Name"]: i for i in ec2.describe_images()["Images"]}
        assert {t["Key"]: t["Value"] for t in images["relay"]["Tags"]}["engine"] == "remote"
        bedrock = server.client("bedrock-runtime")
        out = bedrock.converse(modelId="relay", messages=[{"role": "user", "content": [{"text": "Say hi"}]}], inferenceConfig={"maxTokens": 4, "temperature": 0})
        direct = bedrock.converse(modelId=MODEL_ID, messages=[{"role": "user", "content": [{"text": "Say hi"}]}], inferenceConfig={"maxTokens": 4, "temperature": 0})
        assert out["output"]["message"]["content"][0]["text"] == direct["output"]["message"]["content"][0]["text"]
        assert out["usage"]["outputTokens"] == direct["usage"]["outputTokens"]
        engines = {s["engine"] for s in health(server)["components"]["compute"]["serving"].values()}
        assert engines == {"remote", "llama.cpp"}
        # A remote server that is down: the instance fails to start, the caller gets a 503, not a retry loop.
        ModelStore(local).add_remote("dead", f"http://127.0.0.1:{free_port()}/v1")
        with pytest.raises(ClientError) as err:
            bedrock.converse(modelId="dead", messages=[{"role": "user", "content": [{"text": "hi"}]}])
        assert err.value.response["Error"]["Code"] == "ServiceUnavailableException"
        failed = [i for r in ec2.describe_instances()["Reservations"] for i in r["Instances"] if i["State"]["Name"] == "stopped"]
        assert failed and failed[0]["StateReason"]["Code"] == "Server.InternalError"
    finally:
        server.cleanup()


def test_other_v1_paths_are_left_to_aws(compute_server: EmulatorServer) -> None:
    # AWS Batch lives under /v1/ too: it must reach the AWS chain (moto here), not the OpenAI API.
    batch = compute_server.client("batch")
    assert batch.describe_compute_environments()["computeEnvironments"] == []
