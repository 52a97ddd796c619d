"""Inference profiles where they exist, with boto3 through the wire: a system-defined profile
id only from its Region group's Regions, an application profile only in its Region (and
only copying that Region's models), authorization on the models an application profile
copies, a batch job through an application profile, providers of Bedrock-style ids, and the
OpenAI API's continue_final_message on a final user message."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import openai
import pytest
from botocore.exceptions import ClientError

from emulator.compute.models import install_default
from emulator.testing.server import EmulatorServer
from emulator.testing.wait import wait_for

from .conftest import MODEL_ID

CLAUDE = "anthropic.claude-3-haiku-20240307-v1:0"
ACCOUNT = "000000000000"
USER = [{"role": "user", "content": [{"text": "Hi"}]}]
FINAL = ("Completed", "PartiallyCompleted", "Failed", "Stopped", "Expired")


def _model_arn(region: str, model: str = MODEL_ID) -> str:
    return f"arn:aws:bedrock:{region}::foundation-model/{model}"


@pytest.fixture(scope="module")
def server(server_factory: Callable[..., EmulatorServer], tmp_path_factory: pytest.TempPathFactory) -> EmulatorServer:
    """SmolLM2 under its own name and under a Bedrock-style id (never generated with here)."""
    models: Path = tmp_path_factory.mktemp("profile-models")
    default = install_default(models)
    os.symlink(default.resolve(), models / f"{CLAUDE}.gguf")
    return server_factory(EMULATOR_MODELS_DIR=str(models))


def _unknown(err: pytest.ExceptionInfo[ClientError], ident: str) -> None:
    """The runtime's error for a model it cannot resolve."""
    error = err.value.response["Error"]
    assert error["Code"] == "ResourceNotFoundException", error
    assert error["Message"] == f"Could not resolve the foundation model from the provided model identifier: {ident}"


def _converse(client: Any, model_id: str) -> str:
    return str(client.converse(modelId=model_id, messages=USER, inferenceConfig={"maxTokens": 2})["stopReason"])


def _application(server: EmulatorServer, region: str, source: str) -> str:
    control = server.client("bedrock", region_name=region)
    arn: str = control.create_inference_profile(inferenceProfileName=f"p-{uuid.uuid4().hex[:8]}", modelSource={"copyFrom": source})["inferenceProfileArn"]
    return arn


def test_profile_ids_of_the_request_regions_group_only(server: EmulatorServer) -> None:
    east = server.client("bedrock-runtime")
    eu = server.client("bedrock-runtime", region_name="eu-west-1")
    assert _converse(east, f"us.{MODEL_ID}") in ("max_tokens", "end_turn")
    assert _converse(east, f"arn:aws:bedrock:us-east-1:{ACCOUNT}:inference-profile/us.{MODEL_ID}") in ("max_tokens", "end_turn")
    assert _converse(eu, f"eu.{MODEL_ID}") in ("max_tokens", "end_turn")
    for client, ident in ((east, f"eu.{MODEL_ID}"), (east, f"global.{MODEL_ID}"), (eu, f"us.{MODEL_ID}"),
                          (east, f"arn:aws:bedrock:us-west-2:{ACCOUNT}:inference-profile/us.{MODEL_ID}")):
        with pytest.raises(ClientError) as err:
            _converse(client, ident)
        _unknown(err, ident)
    # The control plane agrees: the profile is not there.
    with pytest.raises(ClientError) as err:
        server.client("bedrock").get_inference_profile(inferenceProfileIdentifier=f"eu.{MODEL_ID}")
    assert err.value.response["Error"]["Code"] == "ResourceNotFoundException"
    body = json.dumps({"messages": [{"role": "user", "content": "Hi"}], "max_tokens": 2, "anthropic_version": "bedrock-2023-05-31"}).encode()
    with pytest.raises(ClientError) as err:
        east.count_tokens(modelId=f"eu.{MODEL_ID}", input={"invokeModel": {"body": body}})
    _unknown(err, f"eu.{MODEL_ID}")
    assert east.count_tokens(modelId=f"us.{MODEL_ID}", input={"invokeModel": {"body": body}})["inputTokens"] > 0
    embedding = json.dumps({"inputText": "hello"}).encode()
    with pytest.raises(ClientError) as err:
        east.invoke_model(modelId="eu.amazon.titan-embed-text-v2:0", body=embedding)
    _unknown(err, "eu.amazon.titan-embed-text-v2:0")


def test_application_profile_lives_in_its_region(server: EmulatorServer) -> None:
    west_arn = _application(server, "us-west-2", _model_arn("us-west-2"))
    assert _converse(server.client("bedrock-runtime", region_name="us-west-2"), west_arn) in ("max_tokens", "end_turn")
    with pytest.raises(ClientError) as err:
        _converse(server.client("bedrock-runtime"), west_arn)
    _unknown(err, west_arn)
    # "specify the ARN of the model in that region" (botocore's CreateInferenceProfile documentation).
    west = server.client("bedrock", region_name="us-west-2")
    with pytest.raises(ClientError) as err:
        west.create_inference_profile(inferenceProfileName="from-east", modelSource={"copyFrom": _model_arn("us-east-1")})
    assert err.value.response["Error"]["Code"] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as err:
        west.create_inference_profile(inferenceProfileName="from-east-profile",
                                      modelSource={"copyFrom": f"arn:aws:bedrock:us-east-1:{ACCOUNT}:inference-profile/us.{MODEL_ID}"})
    assert err.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_application_profile_needs_the_copied_model(server: EmulatorServer) -> None:
    """Bedrock user guide, "Prerequisites for inference profiles": the action on the
    application profile and on the foundation model(s) it routes to."""
    profile_arn = _application(server, "us-east-1", _model_arn("us-east-1"))
    iam = server.client("iam")

    def user(*resources: str) -> Any:
        name = "u-" + uuid.uuid4().hex[:10]
        iam.create_user(UserName=name)
        policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "bedrock:InvokeModel", "Resource": list(resources)}]}
        iam.put_user_policy(UserName=name, PolicyName="inline", PolicyDocument=json.dumps(policy))
        key = iam.create_access_key(UserName=name)["AccessKey"]
        return server.client("bedrock-runtime", aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])

    with pytest.raises(ClientError) as err:
        _converse(user(profile_arn), profile_arn)
    assert err.value.response["Error"]["Code"] == "AccessDeniedException"
    assert f"on resource: {_model_arn('us-east-1')}" in err.value.response["Error"]["Message"]
    assert _converse(user(profile_arn, _model_arn("us-east-1")), profile_arn) in ("max_tokens", "end_turn")


def test_batch_job_through_an_application_profile(server: EmulatorServer) -> None:
    profile_arn = _application(server, "us-east-1", _model_arn("us-east-1"))
    s3, control = server.client("s3"), server.client("bedrock")
    bucket = f"batch-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    record = {"recordId": "REC0000001", "modelInput": {"prompt": "Hi", "max_gen_len": 2, "temperature": 0}}
    s3.put_object(Bucket=bucket, Key="in.jsonl", Body=(json.dumps(record) + "\n").encode())
    arn = control.create_model_invocation_job(
        jobName=f"job-{uuid.uuid4().hex[:8]}", roleArn=f"arn:aws:iam::{ACCOUNT}:role/batch", modelId=profile_arn,
        inputDataConfig={"s3InputDataConfig": {"s3Uri": f"s3://{bucket}/in.jsonl", "s3InputFormat": "JSONL"}},
        outputDataConfig={"s3OutputDataConfig": {"s3Uri": f"s3://{bucket}/out/"}},
    )["jobArn"]

    def done() -> dict[str, Any] | None:
        job: dict[str, Any] = control.get_model_invocation_job(jobIdentifier=arn)
        return job if job["status"] in FINAL else None

    job: dict[str, Any] = wait_for(done, 120, interval=0.1)
    assert job["status"] == "Completed", job.get("message")
    assert job["modelId"] == profile_arn and job["processedRecordCount"] == 1 and job["successRecordCount"] == 1
    # Another Region's application profile is not one of this Region's models.
    west_arn = _application(server, "us-west-2", _model_arn("us-west-2"))
    with pytest.raises(ClientError) as err:
        control.create_model_invocation_job(
            jobName=f"job-{uuid.uuid4().hex[:8]}", roleArn=f"arn:aws:iam::{ACCOUNT}:role/batch", modelId=west_arn,
            inputDataConfig={"s3InputDataConfig": {"s3Uri": f"s3://{bucket}/in.jsonl"}},
            outputDataConfig={"s3OutputDataConfig": {"s3Uri": f"s3://{bucket}/out/"}})
    _unknown(err, west_arn)


def test_provider_of_a_bedrock_style_id(server: EmulatorServer) -> None:
    control = server.client("bedrock")
    summaries = {s["modelId"]: s for s in control.list_foundation_models()["modelSummaries"]}
    assert summaries[CLAUDE]["providerName"] == "Anthropic"
    assert summaries[MODEL_ID]["providerName"] == "HuggingFaceTB"  # not a Bedrock-style id: the GGUF's organization
    assert [s["modelId"] for s in control.list_foundation_models(byProvider="Anthropic")["modelSummaries"]] == [CLAUDE]
    assert CLAUDE not in [s["modelId"] for s in control.list_foundation_models(byProvider="HuggingFaceTB")["modelSummaries"]]
    profile = control.get_inference_profile(inferenceProfileIdentifier=f"us.{CLAUDE}")
    assert profile["inferenceProfileName"].startswith("US Anthropic ")


def test_continue_final_message_needs_a_final_assistant_message(server: EmulatorServer) -> None:
    client = openai.OpenAI(base_url=server.endpoint + "/v1", api_key=f"{server.access_key}:{server.secret_key}", max_retries=0)
    with pytest.raises(openai.BadRequestError) as err:
        client.chat.completions.create(model=MODEL_ID, messages=[{"role": "user", "content": "I am a"}], max_tokens=2,
                                       extra_body={"continue_final_message": True})
    assert "the final message is not from the assistant" in str(err.value)


def test_openai_api_follows_the_servers_region(server: EmulatorServer) -> None:
    """The OpenAI API carries no Region: the server's (us-east-1 here) decides which profile
    ids exist, as for Bedrock's operations there."""
    client = openai.OpenAI(base_url=server.endpoint + "/v1", api_key=f"{server.access_key}:{server.secret_key}", max_retries=0)
    ok = client.chat.completions.create(model=f"us.{MODEL_ID}", messages=[{"role": "user", "content": "Hi"}], max_tokens=2)
    assert ok.usage is not None and ok.usage.completion_tokens <= 2
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model=f"eu.{MODEL_ID}", messages=[{"role": "user", "content": "Hi"}], max_tokens=2)
    with pytest.raises(openai.NotFoundError):
        client.embeddings.create(model=f"eu.{MODEL_ID}", input="hello")
    arn = _application(server, "us-west-2", _model_arn("us-west-2"))
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model=arn, messages=[{"role": "user", "content": "Hi"}], max_tokens=2)
