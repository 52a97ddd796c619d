"""Bedrock usage reporting outside the body, and the served context length.

InvokeModel's X-Amzn-Bedrock-{Input,Output}-Token-Count / -Invocation-Latency headers (not
in botocore's model: sent through ``protocols.base.RESPONSE_HEADERS``), the streams' final
``amazon-bedrock-invocationMetrics``, Anthropic's ``message_start`` usage; the context the
OpenAI API advertises is the one served (the conftest's ``compute_n_ctx`` 512, not the GGUF's
8192), and a prompt over it gets each API's own error.
"""

from __future__ import annotations

import json
from typing import Any

import openai
import pytest
from botocore.exceptions import ClientError

from emulator.testing.server import EmulatorServer

from .conftest import MODEL_ID

SERVED_CONTEXT = 512  # conftest.compute_env: EMULATOR_COMPUTE_N_CTX
LONG = "hello " * 700  # ~700 tokens


@pytest.fixture(scope="module")
def client(compute_server: EmulatorServer) -> openai.OpenAI:
    return openai.OpenAI(base_url=compute_server.endpoint + "/v1", api_key=f"{compute_server.access_key}:{compute_server.secret_key}", max_retries=0)


def _anthropic(content: str = "Say hi", max_tokens: int = 4) -> bytes:
    return json.dumps({"anthropic_version": "bedrock-2023-05-31", "max_tokens": max_tokens, "temperature": 0,
                       "messages": [{"role": "user", "content": content}]}).encode()


def test_invoke_model_usage_headers(bedrock: Any) -> None:
    resp = bedrock.invoke_model(modelId=MODEL_ID, body=_anthropic())
    headers = resp["ResponseMetadata"]["HTTPHeaders"]
    usage = json.loads(resp["body"].read())["usage"]
    assert int(headers["x-amzn-bedrock-input-token-count"]) == usage["input_tokens"] > 0
    assert int(headers["x-amzn-bedrock-output-token-count"]) == usage["output_tokens"] > 0
    assert int(headers["x-amzn-bedrock-invocation-latency"]) >= 0
    # Another family's body: the same headers.
    resp = bedrock.invoke_model(modelId=MODEL_ID, body=json.dumps({"prompt": "The sky is", "max_gen_len": 3, "temperature": 0}))
    doc = json.loads(resp["body"].read())
    headers = resp["ResponseMetadata"]["HTTPHeaders"]
    assert int(headers["x-amzn-bedrock-input-token-count"]) == doc["prompt_token_count"] > 0
    assert int(headers["x-amzn-bedrock-output-token-count"]) == doc["generation_token_count"] > 0


def test_streams_report_usage(bedrock: Any) -> None:
    full = json.loads(bedrock.invoke_model(modelId=MODEL_ID, body=_anthropic())["body"].read())
    docs = [json.loads(e["chunk"]["bytes"]) for e in bedrock.invoke_model_with_response_stream(modelId=MODEL_ID, body=_anthropic())["body"]]
    start = docs[0]
    assert start["type"] == "message_start"
    # The prompt's real size in message_start (Anthropic's streaming format), not 0.
    assert start["message"]["usage"]["input_tokens"] == full["usage"]["input_tokens"] > 0
    metrics = docs[-1]["amazon-bedrock-invocationMetrics"]
    assert metrics["inputTokenCount"] == full["usage"]["input_tokens"]
    assert metrics["outputTokenCount"] == full["usage"]["output_tokens"]
    assert metrics["invocationLatency"] >= 0 and metrics["firstByteLatency"] >= 0
    # The other families' final chunks carry the metrics too.
    for body in ({"prompt": "The sky is", "max_gen_len": 3}, {"inputText": "The sky is", "textGenerationConfig": {"maxTokenCount": 3}}):
        events = list(bedrock.invoke_model_with_response_stream(modelId=MODEL_ID, body=json.dumps(body))["body"])
        last = json.loads(events[-1]["chunk"]["bytes"])
        assert last["amazon-bedrock-invocationMetrics"]["inputTokenCount"] > 0


def test_openai_advertises_the_served_context(client: openai.OpenAI) -> None:
    assert client.models.retrieve(MODEL_ID).model_dump()["context_length"] == SERVED_CONTEXT
    assert [m.model_dump()["context_length"] for m in client.models.list() if m.id == MODEL_ID] == [SERVED_CONTEXT]


def test_openai_context_length_exceeded(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as err:
        client.chat.completions.create(model=MODEL_ID, messages=[{"role": "user", "content": LONG}], max_tokens=2)
    assert err.value.code == "context_length_exceeded" and err.value.param == "messages"
    message = str(err.value.body["message"])  # type: ignore[index]
    assert message.startswith(f"This model's maximum context length is {SERVED_CONTEXT} tokens. However, your messages resulted in ")
    assert int(message.split("resulted in ")[1].split()[0]) > SERVED_CONTEXT
    with pytest.raises(openai.BadRequestError) as err:
        client.completions.create(model=MODEL_ID, prompt=LONG, max_tokens=2)
    assert err.value.code == "context_length_exceeded" and err.value.param == "prompt"


def test_bedrock_input_too_long(bedrock: Any) -> None:
    with pytest.raises(ClientError) as err:
        bedrock.converse(modelId=MODEL_ID, messages=[{"role": "user", "content": [{"text": LONG}]}], inferenceConfig={"maxTokens": 2})
    assert err.value.response["Error"] == {"Code": "ValidationException", "Message": "Input is too long for requested model."}
    with pytest.raises(ClientError) as err:
        bedrock.invoke_model(modelId=MODEL_ID, body=_anthropic(LONG, 2))
    assert err.value.response["Error"]["Message"] == "Input is too long for requested model."
