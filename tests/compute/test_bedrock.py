"""Bedrock Runtime with boto3 against the real SmolLM2 model: Converse(Stream), InvokeModel(WithResponseStream), CountTokens."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import h2.config
import h2.connection
import h2.errors
import h2.events
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.eventstream import EventStreamBuffer
from botocore.exceptions import ClientError
from hyperframe.frame import GoAwayFrame

from emulator.testing.server import EmulatorServer
from emulator.testing.wait import wait_for

from .conftest import MODEL_ID, health

MESSAGES = [{"role": "user", "content": [{"text": "Say hi"}]}]


def _code(err: pytest.ExceptionInfo[ClientError]) -> str:
    return str(err.value.response["Error"]["Code"])


def test_converse(bedrock: Any) -> None:
    out = bedrock.converse(modelId=MODEL_ID, messages=MESSAGES, system=[{"text": "You are terse."}],
                           inferenceConfig={"maxTokens": 8, "temperature": 0})
    assert out["output"]["message"]["role"] == "assistant"
    assert out["output"]["message"]["content"][0]["text"]
    assert out["stopReason"] in ("max_tokens", "end_turn")
    usage = out["usage"]
    assert usage["inputTokens"] > 0 and 0 < usage["outputTokens"] <= 8 and usage["totalTokens"] == usage["inputTokens"] + usage["outputTokens"]
    assert out["metrics"]["latencyMs"] >= 0


def test_converse_is_deterministic_at_temperature_zero(bedrock: Any, image_id: str) -> None:
    # By model id and by image id: the same model, the same greedy answer.
    a = bedrock.converse(modelId=MODEL_ID, messages=MESSAGES, inferenceConfig={"maxTokens": 6, "temperature": 0})
    b = bedrock.converse(modelId=image_id, messages=MESSAGES, inferenceConfig={"maxTokens": 6, "temperature": 0})
    assert a["output"]["message"]["content"][0]["text"] == b["output"]["message"]["content"][0]["text"]


def test_converse_stream(bedrock: Any) -> None:
    resp = bedrock.converse_stream(modelId=MODEL_ID, messages=MESSAGES, inferenceConfig={"maxTokens": 8, "temperature": 0})
    events = list(resp["stream"])
    kinds = [next(iter(e)) for e in events]
    assert kinds[0] == "messageStart" and events[0]["messageStart"]["role"] == "assistant"
    assert kinds[-3:] == ["contentBlockStop", "messageStop", "metadata"]
    deltas = [e["contentBlockDelta"]["delta"]["text"] for e in events if "contentBlockDelta" in e]
    assert deltas and all(e["contentBlockDelta"]["contentBlockIndex"] == 0 for e in events if "contentBlockDelta" in e)
    assert events[-2]["messageStop"]["stopReason"] in ("max_tokens", "end_turn")
    meta = events[-1]["metadata"]
    assert 0 < meta["usage"]["outputTokens"] <= 8 and "latencyMs" in meta["metrics"]
    full = bedrock.converse(modelId=MODEL_ID, messages=MESSAGES, inferenceConfig={"maxTokens": 8, "temperature": 0})
    assert "".join(deltas) == full["output"]["message"]["content"][0]["text"]


def test_invoke_model_llama_titan_anthropic(bedrock: Any) -> None:
    llama = json.loads(bedrock.invoke_model(modelId=MODEL_ID, body=json.dumps({"prompt": "The sky is", "max_gen_len": 5, "temperature": 0}))["body"].read())
    assert llama["generation"] and llama["generation_token_count"] == 5 and llama["stop_reason"] == "length"
    assert llama["prompt_token_count"] > 0
    # application/octet-stream, what the JS SDK sends when contentType is omitted: the body is JSON all the same.
    octet = bedrock.invoke_model(modelId=MODEL_ID, contentType="application/octet-stream", body=json.dumps({"prompt": "The sky is", "max_gen_len": 5, "temperature": 0}))
    assert octet["contentType"] == "application/json" and json.loads(octet["body"].read()) == llama
    titan = json.loads(bedrock.invoke_model(modelId=MODEL_ID, contentType="application/json", accept="application/json",
                                            body=json.dumps({"inputText": "Hello", "textGenerationConfig": {"maxTokenCount": 4}}))["body"].read())
    assert titan["results"][0]["outputText"] and titan["results"][0]["completionReason"] in ("LENGTH", "FINISH")
    assert titan["inputTextTokenCount"] > 0
    claude = json.loads(bedrock.invoke_model(modelId=MODEL_ID, body=json.dumps({
        "anthropic_version": "bedrock-2023-05-31", "max_tokens": 5, "system": "Be brief.",
        "messages": [{"role": "user", "content": [{"type": "text", "text": "Hi"}]}]}))["body"].read())
    assert claude["type"] == "message" and claude["content"][0]["type"] == "text" and claude["content"][0]["text"]
    assert claude["stop_reason"] in ("max_tokens", "end_turn") and claude["usage"]["output_tokens"] <= 5
    nova = json.loads(bedrock.invoke_model(modelId=MODEL_ID, body=json.dumps({
        "schemaVersion": "messages-v1", "system": [{"text": "Be brief."}],
        "messages": [{"role": "user", "content": [{"text": "Hi"}]}], "inferenceConfig": {"maxTokens": 3}}))["body"].read())
    assert nova["output"]["message"]["content"][0]["text"] and nova["usage"]["outputTokens"] <= 3


def test_invoke_model_with_response_stream(bedrock: Any) -> None:
    resp = bedrock.invoke_model_with_response_stream(modelId=MODEL_ID, body=json.dumps({"prompt": "Once upon", "max_gen_len": 6}))
    chunks = [json.loads(e["chunk"]["bytes"]) for e in resp["body"]]
    assert "".join(c["generation"] for c in chunks)
    last = chunks[-1]
    assert last["stop_reason"] == "length" and last["generation_token_count"] == 6
    assert last["amazon-bedrock-invocationMetrics"]["outputTokenCount"] == 6
    resp = bedrock.invoke_model_with_response_stream(modelId=MODEL_ID, body=json.dumps({
        "anthropic_version": "bedrock-2023-05-31", "max_tokens": 4, "messages": [{"role": "user", "content": "Hi"}]}))
    types = [json.loads(e["chunk"]["bytes"])["type"] for e in resp["body"]]
    assert types[:2] == ["message_start", "content_block_start"] and types[-3:] == ["content_block_stop", "message_delta", "message_stop"]


def test_count_tokens(bedrock: Any) -> None:
    conv = bedrock.count_tokens(modelId=MODEL_ID, input={"converse": {"messages": MESSAGES}})["inputTokens"]
    used = bedrock.converse(modelId=MODEL_ID, messages=MESSAGES, inferenceConfig={"maxTokens": 1})["usage"]["inputTokens"]
    assert conv == used
    body = json.dumps({"prompt": "one two three", "max_gen_len": 1}).encode()
    assert bedrock.count_tokens(modelId=MODEL_ID, input={"invokeModel": {"body": body}})["inputTokens"] >= 3


def test_errors(bedrock: Any) -> None:
    with pytest.raises(ClientError) as err:
        bedrock.converse(modelId="no-such.model", messages=MESSAGES)
    assert _code(err) == "ResourceNotFoundException" and err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    with pytest.raises(ClientError) as err:
        bedrock.converse(modelId=MODEL_ID, messages=[{"role": "assistant", "content": [{"text": "x"}]}])
    assert _code(err) == "ValidationException"
    with pytest.raises(ClientError) as err:
        bedrock.converse(modelId=MODEL_ID, messages=MESSAGES, inferenceConfig={"temperature": 1.5})
    assert _code(err) == "ValidationException"
    with pytest.raises(ClientError) as err:
        bedrock.invoke_model(modelId=MODEL_ID, body=b"not json")
    assert _code(err) == "ValidationException"
    with pytest.raises(ClientError) as err:
        bedrock.invoke_model(modelId=MODEL_ID, body=json.dumps({"anthropic_version": "bedrock-2023-05-31", "messages": [{"role": "user", "content": "x"}]}))
    assert _code(err) == "ValidationException"  # max_tokens is required
    with pytest.raises(ClientError) as err:
        bedrock.converse(modelId=MODEL_ID, messages=[{"role": "user", "content": [{"text": "word " * 600}]}], inferenceConfig={"maxTokens": 2})
    assert _code(err) == "ValidationException"  # longer than the context window
    with pytest.raises(ClientError) as err:
        bedrock.converse(modelId="i-0123456789abcdef0", messages=MESSAGES)
    assert _code(err) == "ResourceNotFoundException"


def test_telemetry_and_on_demand_instance(compute_server: EmulatorServer, bedrock: Any) -> None:
    bedrock.converse(modelId=MODEL_ID, messages=MESSAGES, inferenceConfig={"maxTokens": 2})
    compute = health(compute_server)["components"]["compute"]
    assert compute["serving"], "an on-demand serving instance was started"
    ec2 = compute_server.client("ec2")
    on_demand = ec2.describe_instances(Filters=[{"Name": "tag:emulator:on-demand", "Values": ["true"]},
                                                {"Name": "instance-state-name", "Values": ["running"]}])["Reservations"]
    assert len(on_demand) == 1
    iid = on_demand[0]["Instances"][0]["InstanceId"]
    # An instance id addresses that instance directly.
    out = bedrock.converse(modelId=iid, messages=MESSAGES, inferenceConfig={"maxTokens": 2})
    assert out["usage"]["outputTokens"] <= 2


def test_queue_full_throttles_disconnect_frees_slot_and_idle_stop(server_factory: Callable[..., EmulatorServer]) -> None:
    server = server_factory(EMULATOR_COMPUTE_SLOTS="1", EMULATOR_COMPUTE_QUEUE="1", EMULATOR_COMPUTE_IDLE_SECONDS="2")
    bedrock = server.client("bedrock-runtime")
    bedrock.converse(modelId=MODEL_ID, messages=MESSAGES, inferenceConfig={"maxTokens": 1})  # load the model
    long = [{"role": "user", "content": [{"text": "Write a long story about a dragon."}]}]
    serving = lambda: next(iter(health(server)["components"]["compute"]["serving"].values()))

    # The first stream holds the only slot (the call returns once the first token is out).
    first = bedrock.converse_stream(modelId=MODEL_ID, messages=long, inferenceConfig={"maxTokens": 400})
    assert serving()["in_use"] == 1
    second: list[Any] = []

    def queued() -> None:
        resp = bedrock.converse_stream(modelId=MODEL_ID, messages=long, inferenceConfig={"maxTokens": 400})
        second.append(next(iter(resp["stream"])))
        resp["stream"].close()

    thread = threading.Thread(target=queued)
    thread.start()
    wait_for(lambda: serving()["queued"] == 1)
    with pytest.raises(ClientError) as err:
        bedrock.converse(modelId=MODEL_ID, messages=MESSAGES, inferenceConfig={"maxTokens": 1})
    assert _code(err) == "ThrottlingException"
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 429
    assert int(err.value.response["ResponseMetadata"]["HTTPHeaders"]["retry-after"]) >= 1

    # Hanging up frees the slot for the queued request; that one hangs up too.
    first["stream"].close()
    thread.join(60)
    assert second == [{"messageStart": {"role": "assistant"}}]
    wait_for(lambda: serving()["cancelled"] == 2 and serving()["in_use"] == 0)

    # compute_idle_seconds=2: the on-demand instance is stopped once idle, and started again on demand.
    wait_for(lambda: not health(server)["components"]["compute"]["serving"], timeout=30)
    ec2 = server.client("ec2")
    instances = [i for r in ec2.describe_instances()["Reservations"] for i in r["Instances"]]
    assert [i["State"]["Name"] for i in instances] == ["stopped"]
    assert instances[0]["StateReason"]["Code"] == "Client.InstanceInitiatedShutdown"
    bedrock.converse(modelId=MODEL_ID, messages=MESSAGES, inferenceConfig={"maxTokens": 1})
    again = [i for r in ec2.describe_instances()["Reservations"] for i in r["Instances"]]
    assert [(i["InstanceId"], i["State"]["Name"]) for i in again] == [(instances[0]["InstanceId"], "running")]


def test_stopped_instance_is_not_ready(ec2: Any, bedrock: Any, image_id: str) -> None:
    from .conftest import wait_state

    iid = ec2.run_instances(ImageId=image_id, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    wait_state(ec2, iid, "running")
    assert bedrock.converse(modelId=iid, messages=MESSAGES, inferenceConfig={"maxTokens": 1})["usage"]["outputTokens"] == 1
    ec2.stop_instances(InstanceIds=[iid])
    wait_state(ec2, iid, "stopped")
    with pytest.raises(ClientError) as err:
        bedrock.converse(modelId=iid, messages=MESSAGES, inferenceConfig={"maxTokens": 1})
    assert _code(err) == "ModelNotReadyException"
    ec2.terminate_instances(InstanceIds=[iid])


def test_generation_timeout(server_factory: Callable[..., EmulatorServer]) -> None:
    # 1 s for ~480 tokens (the rest of a 512-token context) on CPU: the request times out.
    server = server_factory(EMULATOR_COMPUTE_REQUEST_TIMEOUT="1")
    bedrock = server.client("bedrock-runtime")
    with pytest.raises(ClientError) as err:
        # Greedy: a sampled generation may end after a few tokens, within the timeout.
        bedrock.converse(modelId=MODEL_ID, messages=[{"role": "user", "content": [{"text": "Tell a very long story."}]}],
                         inferenceConfig={"maxTokens": 2000, "temperature": 0})
    assert _code(err) == "ModelTimeoutException"
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 408
    serving = next(iter(health(server)["components"]["compute"]["serving"].values()))
    assert serving["rejected"] == 0
    wait_for(lambda: next(iter(health(server)["components"]["compute"]["serving"].values()))["in_use"] == 0)


def test_converse_options(bedrock: Any) -> None:
    seeded = [bedrock.converse(modelId=MODEL_ID, messages=MESSAGES, inferenceConfig={"maxTokens": 6, "temperature": 1.0},
                               additionalModelRequestFields={"seed": 7, "top_k": 20})["output"]["message"]["content"][0]["text"] for _ in range(2)]
    assert seeded[0] == seeded[1]  # a fixed seed samples the same tokens
    with pytest.raises(ClientError) as err:
        bedrock.converse(modelId=MODEL_ID, messages=MESSAGES, toolConfig={"tools": [{"toolSpec": {"name": "t", "inputSchema": {"json": {}}}}]})
    assert _code(err) == "ValidationException"
    with pytest.raises(ClientError) as err:
        bedrock.converse(modelId=MODEL_ID, messages=[{"role": "user", "content": [{"image": {"format": "png", "source": {"bytes": b"x"}}}]}])
    assert _code(err) == "ValidationException"


def _stop_inside(text: str) -> tuple[str, str]:
    """A stop sequence the greedy answer ``text`` contains, and the text before it."""
    stop = text[len(text) // 2:len(text) // 2 + 2]
    return stop, text[:text.index(stop)]


def test_stop_sequence_stop_reason(bedrock: Any) -> None:
    greedy = {"maxTokens": 8, "temperature": 0}
    full = bedrock.converse(modelId=MODEL_ID, messages=MESSAGES, inferenceConfig=greedy)["output"]["message"]["content"][0]["text"]
    assert len(full) >= 4
    stop, before = _stop_inside(full)
    out = bedrock.converse(modelId=MODEL_ID, messages=MESSAGES, inferenceConfig={**greedy, "stopSequences": [stop]})
    assert out["stopReason"] == "stop_sequence"
    assert out["output"]["message"]["content"][0]["text"] == before
    events = list(bedrock.converse_stream(modelId=MODEL_ID, messages=MESSAGES, inferenceConfig={**greedy, "stopSequences": [stop]})["stream"])
    assert "".join(e["contentBlockDelta"]["delta"]["text"] for e in events if "contentBlockDelta" in e) == before
    assert [e["messageStop"]["stopReason"] for e in events if "messageStop" in e] == ["stop_sequence"]
    # Without the stop sequence hit, the reasons stay end_turn / max_tokens.
    assert bedrock.converse(modelId=MODEL_ID, messages=MESSAGES, inferenceConfig={**greedy, "stopSequences": ["\x07"]})["stopReason"] == "max_tokens"

    claude = {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 8, "temperature": 0, "messages": [{"role": "user", "content": "Say hi"}]}
    full = json.loads(bedrock.invoke_model(modelId=MODEL_ID, body=json.dumps(claude))["body"].read())["content"][0]["text"]
    stop, before = _stop_inside(full)
    body = json.loads(bedrock.invoke_model(modelId=MODEL_ID, body=json.dumps({**claude, "stop_sequences": [stop]}))["body"].read())
    assert (body["stop_reason"], body["stop_sequence"], body["content"][0]["text"]) == ("stop_sequence", stop, before)
    chunks = [json.loads(e["chunk"]["bytes"]) for e in bedrock.invoke_model_with_response_stream(
        modelId=MODEL_ID, body=json.dumps({**claude, "stop_sequences": [stop]}))["body"]]
    delta = next(c for c in chunks if c["type"] == "message_delta")["delta"]
    assert delta == {"stop_reason": "stop_sequence", "stop_sequence": stop}

    titan = {"inputText": "The sky is", "textGenerationConfig": {"maxTokenCount": 8, "temperature": 0}}
    full = json.loads(bedrock.invoke_model(modelId=MODEL_ID, body=json.dumps(titan))["body"].read())["results"][0]["outputText"]
    stop, before = _stop_inside(full)
    titan["textGenerationConfig"]["stopSequences"] = [stop]
    result = json.loads(bedrock.invoke_model(modelId=MODEL_ID, body=json.dumps(titan))["body"].read())["results"][0]
    assert (result["completionReason"], result["outputText"]) == ("STOP_CRITERIA_MET", before)


def test_converse_message_rules(bedrock: Any) -> None:
    def refused(messages: list[dict[str, Any]], **extra: Any) -> str:
        with pytest.raises(ClientError) as err:
            bedrock.converse(modelId=MODEL_ID, messages=messages, inferenceConfig={"maxTokens": 1}, **extra)
        assert _code(err) == "ValidationException"
        return str(err.value.response["Error"]["Message"])

    hi = {"role": "user", "content": [{"text": "Hi"}]}
    assert refused([hi, hi]) == ("A conversation must alternate between user and assistant roles. "
                                 "Make sure the conversation alternates between user and assistant roles and try again.")
    assert refused([{"role": "user", "content": []}]) == (
        "The content field in the Message object at messages.0 is empty. Add a ContentBlock object to the content field and try again.")
    assert refused([{"role": "user", "content": [{"text": " "}]}]) == (
        "The text field in the ContentBlock object at messages.0.content.0 is blank. Add text to the text field, and try again.")
    assert refused([{"role": "system", "content": [{"text": "x"}]}]).startswith("1 validation error detected: Value 'system' at 'messages.1.member.role'")
    # A guardrail that does not exist, and fields the model does not take: refused, never ignored.
    assert refused([hi], guardrailConfig={"guardrailIdentifier": "gr1abc", "guardrailVersion": "1"}) == (
        "The guardrail identifier or version provided in the request does not exist.")
    assert "extraneous key [thinking]" in refused([hi], additionalModelRequestFields={"thinking": {"type": "enabled"}})
    with pytest.raises(ClientError) as err:
        bedrock.invoke_model(modelId=MODEL_ID, body=json.dumps({"prompt": "Hi", "max_gen_len": 1}), guardrailIdentifier="gr1abc", guardrailVersion="1")
    assert _code(err) == "ValidationException"
    # Guard content without a guardrail is text for the model.
    guarded = bedrock.converse(modelId=MODEL_ID, messages=[{"role": "user", "content": [{"guardContent": {"text": {"text": "Hi"}}}]}],
                               inferenceConfig={"maxTokens": 1})
    assert guarded["usage"]["inputTokens"] == bedrock.converse(modelId=MODEL_ID, messages=[hi], inferenceConfig={"maxTokens": 1})["usage"]["inputTokens"]


def test_invoke_model_mistral_cohere_shapes(bedrock: Any) -> None:
    mistral = json.loads(bedrock.invoke_model(modelId=MODEL_ID, body=json.dumps({"prompt": "<s>[INST] Hi [/INST]", "max_tokens": 3}))["body"].read())
    assert list(mistral) == ["outputs"] and mistral["outputs"][0]["text"] and mistral["outputs"][0]["stop_reason"] == "length"
    chunks = [json.loads(e["chunk"]["bytes"]) for e in bedrock.invoke_model_with_response_stream(
        modelId=MODEL_ID, body=json.dumps({"prompt": "<s>[INST] Hi [/INST]", "max_tokens": 2}))["body"]]
    assert all(list(c["outputs"][0]) == ["text", "stop_reason"] for c in chunks)
    assert chunks[-1]["outputs"][0]["stop_reason"] == "length" and chunks[-1]["amazon-bedrock-invocationMetrics"]["outputTokenCount"] == 2

    command_r = {"message": "Hi", "chat_history": [{"role": "USER", "message": "Hello"}, {"role": "CHATBOT", "message": "Hey!"}],
                 "preamble": "Be brief.", "max_tokens": 3}
    out = json.loads(bedrock.invoke_model(modelId=MODEL_ID, body=json.dumps(command_r))["body"].read())
    assert out["text"] and out["finish_reason"] in ("MAX_TOKENS", "COMPLETE") and out["generation_id"] and out["response_id"]
    assert [t["role"] for t in out["chat_history"]] == ["USER", "CHATBOT", "USER", "CHATBOT"]
    chunks = [json.loads(e["chunk"]["bytes"]) for e in bedrock.invoke_model_with_response_stream(modelId=MODEL_ID, body=json.dumps(command_r))["body"]]
    assert chunks[0]["event_type"] == "stream-start" and chunks[-1]["event_type"] == "stream-end"
    assert chunks[-1]["is_finished"] and chunks[-1]["finish_reason"] in ("MAX_TOKENS", "COMPLETE")
    assert "".join(c["text"] for c in chunks if c["event_type"] == "text-generation") == chunks[-1]["response"]["text"]

    with pytest.raises(ClientError) as err:
        bedrock.invoke_model(modelId=MODEL_ID, body=json.dumps({"prompt": "Hi", "max_gen_len": 0}))
    assert err.value.response["Error"]["Message"] == "Malformed input request: #/max_gen_len: 0 is not greater or equal to 1, please reformat your input and try again."


def test_aws_model_ids(server_factory: Callable[..., EmulatorServer], tmp_path: Any) -> None:
    """A model registered under an AWS model id: inference profile ids reach it, and InvokeModel
    holds bodies to the format that id names, as Bedrock does."""
    from .conftest import model_path

    models = tmp_path / "models"
    models.mkdir()
    haiku = "anthropic.claude-3-haiku-20240307-v1:0"
    (models / f"{haiku}.gguf").symlink_to(model_path())
    bedrock = server_factory(EMULATOR_MODELS_DIR=str(models)).client("bedrock-runtime")
    for model_id in (f"us.{haiku}", f"arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.{haiku}"):
        assert bedrock.converse(modelId=model_id, messages=MESSAGES, inferenceConfig={"maxTokens": 1})["usage"]["outputTokens"] == 1

    def refused(body: dict[str, Any]) -> str:
        with pytest.raises(ClientError) as err:
            bedrock.invoke_model(modelId=haiku, body=json.dumps(body))
        assert _code(err) == "ValidationException"
        return str(err.value.response["Error"]["Message"])

    claude = {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 2, "messages": [{"role": "user", "content": "Hi"}]}
    assert json.loads(bedrock.invoke_model(modelId=haiku, body=json.dumps(claude))["body"].read())["type"] == "message"
    assert refused({"prompt": "Hi", "max_gen_len": 2}) == "Malformed input request: #: required key [anthropic_version] not found, please reformat your input and try again."
    assert refused({**claude, "stream": True}) == "Malformed input request: #: extraneous key [stream] is not permitted, please reformat your input and try again."
    assert refused({**claude, "max_tokens": 0}) == "Malformed input request: #/max_tokens: 0 is not greater or equal to 1, please reformat your input and try again."
    assert refused({**claude, "tools": [{"name": "t", "input_schema": {"type": "object"}}]}) == "This model doesn't support tool use."
    image = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AAAA"}}
    assert "image content block" in refused({**claude, "messages": [{"role": "user", "content": [image]}]})


# --- the AWS SDK for JavaScript v3 (HTTP/2) and raw HTTP/2 ------------------------------

ROOT = Path(__file__).resolve().parents[2]
JS = Path(__file__).resolve().parent / "js" / "bedrock.mjs"


@pytest.fixture(scope="module")
def node() -> str:
    exe = shutil.which("node")
    if exe is None:
        pytest.skip("node is not installed (make test installs the JS SDK with npm)")
    if not (ROOT / "node_modules" / "@aws-sdk" / "client-bedrock-runtime").is_dir():
        pytest.skip("@aws-sdk/client-bedrock-runtime is not installed: run `npm install` (make test does)")
    return exe


def _run_js(server: EmulatorServer, node: str, *args: str) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({"EMULATOR_ENDPOINT": server.endpoint, "AWS_ACCESS_KEY_ID": server.access_key, "AWS_SECRET_ACCESS_KEY": server.secret_key,
                "AWS_REGION": server.region, "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull})
    out = subprocess.run([node, str(JS), MODEL_ID, *args], env=env, capture_output=True, text=True, timeout=120, check=False, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-3000:]
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def test_js_sdk_default_http2_handler(compute_server: EmulatorServer, node: str) -> None:
    """BedrockRuntimeClient as it comes (NodeHttp2Handler: h2c with prior knowledge); its
    event streams arrive on a session the SDK closes (GOAWAY) as soon as the headers come."""
    out = _run_js(compute_server, node)
    conv = out["converse"]
    assert conv["role"] == "assistant" and conv["text"] and conv["stopReason"] in ("max_tokens", "end_turn")
    usage = conv["usage"]
    assert usage["inputTokens"] > 0 and 0 < usage["outputTokens"] <= 8 and usage["totalTokens"] == usage["inputTokens"] + usage["outputTokens"]
    assert conv["status"] == 200 and conv["requestId"] and conv["latencyMs"] >= 0

    stream = out["converseStream"]
    kinds = stream["kinds"]
    assert kinds[0] == "messageStart" and kinds[-3:] == ["contentBlockStop", "messageStop", "metadata"]
    assert set(kinds[1:-3]) == {"contentBlockDelta"} and stream["indexes"] == [0]
    assert stream["status"] == 200 and stream["requestId"] and stream["role"] == "assistant"
    # The same request at temperature 0: the same text, stop reason and usage as Converse.
    assert (stream["text"], stream["stopReason"], stream["usage"]) == (conv["text"], conv["stopReason"], conv["usage"])
    assert stream["latencyMs"] >= 0

    invoked = out["invokeModel"]
    assert invoked["status"] == 200 and invoked["contentType"] == "application/json"
    body = invoked["body"]
    assert body["generation"] and body["generation_token_count"] == 5 and body["stop_reason"] == "length" and body["prompt_token_count"] > 0
    # No contentType: the SDK sends application/octet-stream; the body is JSON all the same.
    assert out["invokeModelUntyped"] == {"contentType": "application/json", "body": body}

    streamed = out["invokeModelWithResponseStream"]
    assert streamed["status"] == 200 and streamed["contentType"] == "application/json"
    chunks = streamed["chunks"]
    assert "".join(c["generation"] for c in chunks)
    assert [c["generation_token_count"] for c in chunks[:-1]] == list(range(1, 7))
    last = chunks[-1]
    assert last["stop_reason"] == "length" and last["generation_token_count"] == 6
    assert last["amazon-bedrock-invocationMetrics"]["outputTokenCount"] == 6

    counted = out["countTokens"]
    assert counted["converse"] == counted["converseUsage"] > 0 and counted["invokeModel"] >= 3

    errors = out["errors"]
    for name in ("unknownModel", "unknownModelStream"):
        assert (errors[name]["name"], errors[name]["status"]) == ("ResourceNotFoundException", 404)
        assert "no-such.model" in errors[name]["message"] and errors[name]["requestId"]
    for name in ("badRequest", "badTemperature", "badBody", "badStreamBody"):
        assert (errors[name]["name"], errors[name]["status"]) == ("ValidationException", 400), name
    assert errors["badRequest"]["message"].startswith("A conversation must start with a user message.")
    assert errors["badBody"]["message"] == "Malformed input request, please reformat your input and try again."

    assert out["concurrent"] == [2, 2, 2]

    # Aborted after three events: the generation stopped, its slot freed; the client goes on.
    abort = out["abort"]
    assert abort["seen"][:3] == ["messageStart", "contentBlockDelta", "contentBlockDelta"] and "messageStop" not in abort["seen"]
    assert abort["cancelledAfter"] == abort["cancelledBefore"] + 1 and abort["inUseAfter"] == 0
    assert abort["again"] == {"status": 200, "outputTokens": 2}


def test_js_sdk_stream_ends_with_error(server_factory: Callable[..., EmulatorServer], node: str) -> None:
    """A generation timing out after its stream started: an exception event where the
    stream's union models it (InvokeModelWithResponseStream's modelTimeoutException), an
    error event otherwise (ConverseStream's union has no timeout); the SDK raises either."""
    server = server_factory(EMULATOR_COMPUTE_REQUEST_TIMEOUT="1")
    out = _run_js(server, node, "timeout")
    for name in ("converseStream", "invokeModelWithResponseStream"):
        failed = out[name]
        assert failed["events"] >= 1 and failed["name"] == "ModelTimeoutException", out  # after the stream started
        assert failed["message"] == "Model has timed out in processing the request. Try your request again."
    assert out["invokeModelWithResponseStream"]["fault"] == "client"  # modeled: the SDK's ModelTimeoutException class


class _H2:
    """A raw HTTP/2 client (the h2 library) for what the JS SDK does on the wire, without node."""

    def __init__(self, server: EmulatorServer) -> None:
        self.server = server
        self.sock = socket.create_connection(("127.0.0.1", server.port), timeout=30)
        self.conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding=None))
        self.conn.initiate_connection()
        self.write()

    def write(self) -> None:
        self.sock.sendall(self.conn.data_to_send())

    def converse_stream(self, max_tokens: int, text: str = "Say hi") -> int:
        path = f"/model/{MODEL_ID}/converse-stream"
        body = json.dumps({"messages": [{"role": "user", "content": [{"text": text}]}],
                           "inferenceConfig": {"maxTokens": max_tokens, "temperature": 0}}).encode()
        request = AWSRequest(method="POST", url=self.server.endpoint + path, data=body, headers={"Content-Type": "application/json"})
        SigV4Auth(Credentials(self.server.access_key, self.server.secret_key), "bedrock", self.server.region).add_auth(request)
        authority = f"127.0.0.1:{self.server.port}"
        fields = [(":method", "POST"), (":scheme", "http"), (":authority", authority), (":path", path)]
        fields += [(k.lower(), v) for k, v in request.headers.items() if k.lower() != "host"]
        stream_id: int = self.conn.get_next_available_stream_id()
        self.conn.send_headers(stream_id, fields)
        self.conn.send_data(stream_id, body, end_stream=True)
        self.write()
        return stream_id

    def events(self) -> Iterator[h2.events.Event]:
        while True:
            data = self.sock.recv(1 << 16)
            if not data:
                return
            for event in self.conn.receive_data(data):
                if isinstance(event, h2.events.DataReceived):
                    self.conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)  # type: ignore[arg-type]
                yield event
            self.write()


def test_raw_http2_goaway_and_reset(compute_server: EmulatorServer) -> None:
    """The client's GOAWAY (NO_ERROR) right after the response headers, as the JS SDK sends
    it on an event stream's session: the stream in hand completes, then the server closes.
    A RST_STREAM mid-way: the generation stops, the connection serves the next stream."""
    client = _H2(compute_server)
    stream_id = client.converse_stream(8)
    buffer = EventStreamBuffer()
    headers: dict[bytes, bytes] = {}
    ended = False
    # events() ends when the server closes the connection (a socket timeout raises instead).
    for event in client.events():
        if isinstance(event, h2.events.ResponseReceived):
            headers = dict(event.headers or ())  # type: ignore[arg-type]
            # Written past the h2 library, which would take no frame after its own GOAWAY.
            client.sock.sendall(GoAwayFrame(0).serialize())
        elif isinstance(event, h2.events.DataReceived):
            buffer.add_data(event.data)  # type: ignore[arg-type]
        elif isinstance(event, h2.events.StreamEnded):
            ended = True
    client.sock.close()
    assert ended and stream_id == 1
    assert headers[b":status"] == b"200" and headers[b"content-type"] == b"application/vnd.amazon.eventstream" and headers[b"x-amzn-requestid"]
    kinds = [message.headers[":event-type"] for message in buffer]
    assert kinds[0] == "messageStart" and kinds[-3:] == ["contentBlockStop", "messageStop", "metadata"]

    def cancelled() -> int:
        return sum(s["cancelled"] for s in health(compute_server)["components"]["compute"]["serving"].values())

    before = cancelled()
    client = _H2(compute_server)
    try:
        stream_id = client.converse_stream(400, "Write a long story about a dragon.")
        frames = 0
        for event in client.events():
            if isinstance(event, h2.events.DataReceived):
                frames += 1
                if frames == 3:
                    client.conn.reset_stream(stream_id, h2.errors.ErrorCodes.CANCEL)
                    client.write()
                    break
        wait_for(lambda: cancelled() == before + 1)
        again = client.converse_stream(2)
        status = b""
        for event in client.events():
            if isinstance(event, h2.events.ResponseReceived) and event.stream_id == again:
                status = dict(event.headers or ())[b":status"]  # type: ignore[arg-type]
            if isinstance(event, h2.events.StreamEnded | h2.events.StreamReset) and event.stream_id == again:
                assert isinstance(event, h2.events.StreamEnded)
                break
        assert status == b"200"
    finally:
        client.sock.close()
