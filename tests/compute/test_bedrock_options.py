"""Bedrock Runtime request options with boto3 against the real SmolLM2 model: Converse's
outputConfig.textFormat (structured output held to a JSON schema by the llama grammar), the
members honoured or refused (never ignored: serviceTier, performanceConfig, effort, ...), and a
model failing mid-stream as the streams' modeled modelStreamErrorException event."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError, EventStreamError

from .conftest import MODEL_ID, wait_state

MESSAGES = [{"role": "user", "content": [{"text": "Is the sky blue? Answer and count to three."}]}]
SCHEMA = {"type": "object", "properties": {"answer": {"type": "string", "enum": ["yes", "no"]}, "sure": {"type": "boolean"}},
          "required": ["answer", "sure"], "additionalProperties": False}


def _json_format(schema: Any, name: str | None = "verdict") -> dict[str, Any]:
    spec: dict[str, Any] = {"schema": schema if isinstance(schema, str) else json.dumps(schema)}
    if name is not None:
        spec["name"] = name
    return {"textFormat": {"type": "json_schema", "structure": {"jsonSchema": spec}}}


def _refused(call: Any) -> str:
    with pytest.raises(ClientError) as err:
        call()
    assert err.value.response["Error"]["Code"] == "ValidationException", err.value.response
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    return str(err.value.response["Error"]["Message"])


def test_converse_output_config_json_schema(bedrock: Any) -> None:
    for temperature in (0.0, 1.0):
        out = bedrock.converse(modelId=MODEL_ID, messages=MESSAGES, outputConfig=_json_format(SCHEMA),
                               inferenceConfig={"maxTokens": 40, "temperature": temperature})
        doc = json.loads(out["output"]["message"]["content"][0]["text"])
        assert set(doc) == {"answer", "sure"} and doc["answer"] in ("yes", "no") and isinstance(doc["sure"], bool)
    # The name is optional (JsonSchemaDefinition requires only the schema).
    out = bedrock.converse(modelId=MODEL_ID, messages=MESSAGES, outputConfig=_json_format(SCHEMA, name=None),
                           inferenceConfig={"maxTokens": 40, "temperature": 0})
    assert json.loads(out["output"]["message"]["content"][0]["text"])["answer"] in ("yes", "no")


def test_converse_stream_output_config_json_schema(bedrock: Any) -> None:
    events = list(bedrock.converse_stream(modelId=MODEL_ID, messages=MESSAGES, outputConfig=_json_format(SCHEMA),
                                          inferenceConfig={"maxTokens": 40, "temperature": 0})["stream"])
    text = "".join(e["contentBlockDelta"]["delta"]["text"] for e in events if "contentBlockDelta" in e)
    assert set(json.loads(text)) == {"answer", "sure"}
    assert "messageStop" in events[-2] and "metadata" in events[-1]


def test_converse_output_config_refusals(bedrock: Any) -> None:
    def converse(**kw: Any) -> Any:
        return lambda: bedrock.converse(modelId=MODEL_ID, messages=MESSAGES, inferenceConfig={"maxTokens": 4}, **kw)

    message = _refused(converse(outputConfig=_json_format("{not json")))
    assert "outputConfig.textFormat.structure.jsonSchema.schema is not valid JSON" in message
    assert "JSON object" in _refused(converse(outputConfig=_json_format("[1, 2]")))
    # Valid JSON the grammar cannot hold an answer to (no value satisfies it): refused too.
    message = _refused(converse(outputConfig=_json_format({"type": "object", "properties": {"a": {"enum": []}}, "required": ["a"]})))
    assert message.startswith("The JSON schema in outputConfig.textFormat.structure.jsonSchema.schema is not supported: ")
    assert "Member must satisfy enum value set: [json_schema]" in _refused(
        converse(outputConfig={"textFormat": {"type": "xml", "structure": {"jsonSchema": {"schema": "{}"}}}}))
    assert "effort" in _refused(converse(outputConfig={"effort": "high"}))
    # Nothing ran: the refusals come before a generation (and the stream's before its events).
    message = _refused(lambda: bedrock.converse_stream(modelId=MODEL_ID, messages=MESSAGES, outputConfig=_json_format("{")))
    assert "not valid JSON" in message


def test_converse_service_options(bedrock: Any) -> None:
    def converse(**kw: Any) -> Any:
        return bedrock.converse(modelId=MODEL_ID, messages=MESSAGES, inferenceConfig={"maxTokens": 2}, **kw)

    # What changes nothing here is accepted.
    out = converse(serviceTier={"type": "default"}, performanceConfig={"latency": "standard"}, projectIdentifier="default",
                   additionalModelResponseFieldPaths=["/stop_sequence", "/a~1b/~0c"])
    assert out["usage"]["outputTokens"] <= 2
    # The rest is refused, naming what.
    for tier in ("priority", "flex", "reserved"):
        assert f"{tier} service tier" in _refused(lambda tier=tier: converse(serviceTier={"type": tier}))
    assert "Member must satisfy enum value set: [priority, default, flex, reserved]" in _refused(lambda: converse(serviceTier={"type": "gold"}))
    assert "latency-optimized" in _refused(lambda: converse(performanceConfig={"latency": "optimized"}))
    assert "not a valid JSON Pointer" in _refused(lambda: converse(additionalModelResponseFieldPaths=["stop_sequence"]))
    assert "project" in _refused(lambda: converse(projectIdentifier="my-project"))
    assert "priority service tier" in _refused(lambda: bedrock.converse_stream(modelId=MODEL_ID, messages=MESSAGES, serviceTier={"type": "priority"}))


def test_invoke_model_service_options(bedrock: Any) -> None:
    body = json.dumps({"prompt": "The sky is", "max_gen_len": 2})
    ok = json.loads(bedrock.invoke_model(modelId=MODEL_ID, body=body, serviceTier="default", performanceConfigLatency="standard")["body"].read())
    assert ok["generation_token_count"] <= 2
    assert "priority service tier" in _refused(lambda: bedrock.invoke_model(modelId=MODEL_ID, body=body, serviceTier="priority"))
    assert "latency-optimized" in _refused(lambda: bedrock.invoke_model(modelId=MODEL_ID, body=body, performanceConfigLatency="optimized"))
    assert "flex service tier" in _refused(lambda: bedrock.invoke_model_with_response_stream(modelId=MODEL_ID, body=body, serviceTier="flex"))


def test_model_failure_mid_stream_is_model_stream_error(ec2: Any, bedrock: Any, image_id: str) -> None:
    """The instance stopped under a running stream: the stream ends with the unions' modeled
    modelStreamErrorException event, saying what happened (before the stream, the same
    failure is the operation's ModelErrorException / ModelNotReadyException)."""
    long = [{"role": "user", "content": [{"text": "Write a very long story about dragons."}]}]
    calls = {
        "ConverseStream": lambda iid: bedrock.converse_stream(modelId=iid, messages=long, inferenceConfig={"maxTokens": 400, "temperature": 0})["stream"],
        "InvokeModelWithResponseStream": lambda iid: bedrock.invoke_model_with_response_stream(
            modelId=iid, body=json.dumps({"prompt": "1, 2, 3, 4, 5, 6, 7, 8, 9, 10,", "max_gen_len": 400, "temperature": 0}))["body"],
    }
    for op, call in calls.items():
        iid = ec2.run_instances(ImageId=image_id, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
        wait_state(ec2, iid, "running")
        stream = iter(call(iid))
        next(stream)
        next(stream)
        ec2.terminate_instances(InstanceIds=[iid])
        with pytest.raises(EventStreamError) as err:
            for _ in stream:
                pass
        error = err.value.response["Error"]
        assert error["Code"] == "modelStreamErrorException", (op, error)
        assert error["Message"].startswith("An error occurred while streaming the response: "), (op, error)
        assert f"Instance {iid} was stopped or terminated" in error["Message"], (op, error)
        wait_state(ec2, iid, "terminated")
