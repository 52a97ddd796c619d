"""Prefill: a request whose last message is the assistant's continues that message.

Anthropic's Messages API on Bedrock ("Prefill Claude's response"), Converse (the last
message may be an assistant message) and, in the OpenAI API, vLLM's
``continue_final_message``. With the real SmolLM2 model at temperature 0: the reply is only
the continuation, and the prompt ends where the prefill ends (its tokens, no end-of-turn and
no new assistant turn after it).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import openai
import pytest
from botocore.exceptions import ClientError

from emulator.compute.models import ModelStore, install_default
from emulator.testing.server import EmulatorServer, free_port

from .conftest import MODEL_ID, compute_env

QUESTION = "Count from 1 to 10, separated by commas."
PREFILL = "1, 2, 3,"


@pytest.fixture(scope="module")
def client(compute_server: EmulatorServer) -> openai.OpenAI:
    return openai.OpenAI(base_url=compute_server.endpoint + "/v1", api_key=f"{compute_server.access_key}:{compute_server.secret_key}", max_retries=0)


def _anthropic(messages: list[dict[str, Any]], max_tokens: int = 8) -> bytes:
    return json.dumps({"anthropic_version": "bedrock-2023-05-31", "max_tokens": max_tokens, "temperature": 0, "messages": messages}).encode()


def _invoke(bedrock: Any, messages: list[dict[str, Any]], max_tokens: int = 8) -> dict[str, Any]:
    out: dict[str, Any] = json.loads(bedrock.invoke_model(modelId=MODEL_ID, body=_anthropic(messages, max_tokens))["body"].read())
    return out


def _prefill_tokens(bedrock: Any) -> int:
    """The prefill's own tokens: CountTokens of it as a bare prompt (no template)."""
    body = json.dumps({"prompt": PREFILL, "max_gen_len": 1}).encode()
    return int(bedrock.count_tokens(modelId=MODEL_ID, input={"invokeModel": {"body": body}})["inputTokens"])


def _converse(bedrock: Any, prefill: str | None) -> dict[str, Any]:
    messages: list[dict[str, Any]] = [{"role": "user", "content": [{"text": QUESTION}]}]
    if prefill is not None:
        messages.append({"role": "assistant", "content": [{"text": prefill}]})
    out: dict[str, Any] = bedrock.converse(modelId=MODEL_ID, messages=messages, inferenceConfig={"maxTokens": 8, "temperature": 0})
    return out


def test_invoke_model_continues_the_prefill(bedrock: Any) -> None:
    plain = _invoke(bedrock, [{"role": "user", "content": QUESTION}])
    filled = _invoke(bedrock, [{"role": "user", "content": QUESTION}, {"role": "assistant", "content": PREFILL}])
    text = filled["content"][0]["text"]
    # Only the continuation: the prefill is not repeated and the count goes on after "3,".
    assert not text.lstrip().startswith("1") and text.lstrip().startswith("4"), text
    assert filled["role"] == "assistant" and filled["stop_reason"] in ("max_tokens", "end_turn")
    # The prompt is the plain one (which ends with the opened assistant turn) plus the prefill's
    # tokens: nothing closes the turn after it and no second assistant turn is opened.
    assert filled["usage"]["input_tokens"] == plain["usage"]["input_tokens"] + _prefill_tokens(bedrock)


def test_invoke_model_with_response_stream_continues_the_prefill(bedrock: Any) -> None:
    messages = [{"role": "user", "content": QUESTION}, {"role": "assistant", "content": PREFILL}]
    full = _invoke(bedrock, messages)
    resp = bedrock.invoke_model_with_response_stream(modelId=MODEL_ID, body=_anthropic(messages))
    docs = [json.loads(e["chunk"]["bytes"]) for e in resp["body"]]
    text = "".join(d["delta"]["text"] for d in docs if d["type"] == "content_block_delta")
    assert text == full["content"][0]["text"]
    assert docs[0]["type"] == "message_start"
    assert docs[0]["message"]["usage"]["input_tokens"] == full["usage"]["input_tokens"]
    assert docs[-1]["amazon-bedrock-invocationMetrics"]["inputTokenCount"] == full["usage"]["input_tokens"]


def test_converse_continues_the_prefill(bedrock: Any) -> None:
    plain = _converse(bedrock, None)
    filled = _converse(bedrock, PREFILL)
    text = filled["output"]["message"]["content"][0]["text"]
    assert text.lstrip().startswith("4"), text
    assert filled["usage"]["inputTokens"] == plain["usage"]["inputTokens"] + _prefill_tokens(bedrock)
    # The same prompt as the Anthropic body's: the same greedy continuation.
    invoked = _invoke(bedrock, [{"role": "user", "content": QUESTION}, {"role": "assistant", "content": PREFILL}])
    assert text == invoked["content"][0]["text"]
    # CountTokens counts the prompt that is served.
    messages = [{"role": "user", "content": [{"text": QUESTION}]}, {"role": "assistant", "content": [{"text": PREFILL}]}]
    assert bedrock.count_tokens(modelId=MODEL_ID, input={"converse": {"messages": messages}})["inputTokens"] == filled["usage"]["inputTokens"]
    # Streaming: the same text.
    events = list(bedrock.converse_stream(modelId=MODEL_ID, messages=messages, inferenceConfig={"maxTokens": 8, "temperature": 0})["stream"])
    assert "".join(e["contentBlockDelta"]["delta"]["text"] for e in events if "contentBlockDelta" in e) == text


def test_anthropic_prefill_with_trailing_whitespace_is_refused(bedrock: Any) -> None:
    with pytest.raises(ClientError) as err:
        _invoke(bedrock, [{"role": "user", "content": QUESTION}, {"role": "assistant", "content": PREFILL + " "}])
    assert err.value.response["Error"]["Code"] == "ValidationException"
    assert "final assistant content cannot end with trailing whitespace" in err.value.response["Error"]["Message"]


def test_openai_chat_keeps_a_final_assistant_message_closed_unless_asked(client: openai.OpenAI) -> None:
    base: list[Any] = [{"role": "user", "content": QUESTION}]
    messages: list[Any] = [*base, {"role": "assistant", "content": PREFILL}]
    plain = client.chat.completions.create(model=MODEL_ID, messages=base, max_tokens=8, temperature=0)
    closed = client.chat.completions.create(model=MODEL_ID, messages=messages, max_tokens=8, temperature=0)
    cont = client.chat.completions.create(model=MODEL_ID, messages=messages, max_tokens=8, temperature=0,
                                          extra_body={"continue_final_message": True, "add_generation_prompt": False})
    assert plain.usage is not None and closed.usage is not None and cont.usage is not None
    # OpenAI's own behaviour (no prefill): the assistant turn is closed and a new one opened,
    # so the prompt is longer than the open one by the end-of-turn and the new turn's header.
    assert closed.usage.prompt_tokens > cont.usage.prompt_tokens > plain.usage.prompt_tokens
    text = cont.choices[0].message.content or ""
    assert text.lstrip().startswith("4"), text
    streamed = client.chat.completions.create(model=MODEL_ID, messages=messages, max_tokens=8, temperature=0, stream=True,
                                              extra_body={"continue_final_message": True})
    assert "".join(c.choices[0].delta.content or "" for c in streamed if c.choices) == text


def test_openai_continue_final_message_checks(client: openai.OpenAI) -> None:
    messages: list[Any] = [{"role": "user", "content": QUESTION}, {"role": "assistant", "content": PREFILL}]
    with pytest.raises(openai.BadRequestError) as err:
        client.chat.completions.create(model=MODEL_ID, messages=messages, max_tokens=2,
                                       extra_body={"continue_final_message": True, "add_generation_prompt": True})
    assert "Cannot set both `continue_final_message` and `add_generation_prompt` to True." in str(err.value)
    with pytest.raises(openai.BadRequestError) as err:
        client.chat.completions.create(model=MODEL_ID, messages=messages, max_tokens=2, extra_body={"continue_final_message": "yes"})
    assert err.value.code == "invalid_type"


def test_remote_engine_passes_the_prefill_on(tmp_path: Path) -> None:
    """A model served by a remote OpenAI-compatible server (here the emulator's own /v1): the
    prefill travels as vLLM's continue_final_message, and the answer is the local one."""
    port = free_port()
    local = tmp_path / "models"
    install_default(local)
    server = EmulatorServer(port=port, env=compute_env(local))
    ModelStore(local).add_remote("relay", f"http://127.0.0.1:{port}/v1", model=MODEL_ID, api_key=server.secret_key)
    server.start()
    try:
        bedrock = server.client("bedrock-runtime")
        messages = [{"role": "user", "content": [{"text": QUESTION}]}, {"role": "assistant", "content": [{"text": PREFILL}]}]
        relayed = bedrock.converse(modelId="relay", messages=messages, inferenceConfig={"maxTokens": 6, "temperature": 0})
        direct = bedrock.converse(modelId=MODEL_ID, messages=messages, inferenceConfig={"maxTokens": 6, "temperature": 0})
        assert relayed["output"]["message"]["content"][0]["text"] == direct["output"]["message"]["content"][0]["text"]
        assert relayed["usage"]["inputTokens"] == direct["usage"]["inputTokens"]
    finally:
        server.cleanup()
