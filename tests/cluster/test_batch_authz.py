"""Batch inference in a cluster: the compute role runs a batch's or a job's records with
authorization off, so the gateway requires what the records need when the batch or job is
created (bedrock:InvokeModel on the model's ARN), with the caller's policies."""

from __future__ import annotations

import json
import time
from typing import Any

import openai
import pytest
from botocore.exceptions import ClientError

from emulator.testing.wait import wait_for

from .conftest import Cluster
from .test_roles import compute_registered

BATCH_ACTIONS = {"Effect": "Allow", "Action": "bedrock:*ModelInvocationJob*", "Resource": "*"}


def _user(cluster: Cluster, prefix: str, *statements: dict[str, Any]) -> dict[str, str]:
    iam = cluster.gateway.client("iam")
    name = f"{prefix}{int(time.time() * 1000) % 10**9}"
    iam.create_user(UserName=name)
    iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": list(statements)}))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return {"name": name, "aws_access_key_id": key["AccessKeyId"], "aws_secret_access_key": key["SecretAccessKey"]}


def _openai(cluster: Cluster, user: dict[str, str]) -> openai.OpenAI:
    return openai.OpenAI(base_url=cluster.gateway.endpoint + "/v1", api_key=f"{user['aws_access_key_id']}:{user['aws_secret_access_key']}", max_retries=0)


def _model(cluster: Cluster) -> str:
    root = openai.OpenAI(base_url=cluster.gateway.endpoint + "/v1", api_key=f"{cluster.gateway.access_key}:{cluster.gateway.secret_key}", max_retries=0)
    found: str = wait_for(lambda: root.models.list().data[0].id, 30)
    return found


def test_openai_batch_needs_invoke_model_on_its_model(cluster: Cluster) -> None:
    wait_for(lambda: compute_registered(cluster), 30)
    model = _model(cluster)
    model_arn = f"arn:aws:bedrock:us-east-1::foundation-model/{model}"
    line = {"custom_id": "a", "method": "POST", "url": "/v1/chat/completions",
            "body": {"model": model, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 2}}
    data = (json.dumps(line) + "\n").encode()

    other = _user(cluster, "batchother", BATCH_ACTIONS, {"Effect": "Allow", "Action": "bedrock:InvokeModel", "Resource": "arn:aws:bedrock:*::foundation-model/other"})
    client = _openai(cluster, other)
    file_id = client.files.create(file=("in.jsonl", data), purpose="batch").id
    with pytest.raises(openai.PermissionDeniedError) as err:
        client.batches.create(input_file_id=file_id, endpoint="/v1/chat/completions", completion_window="24h")
    message = err.value.body["message"] if isinstance(err.value.body, dict) else str(err.value)
    assert f"bedrock:InvokeModel on resource: {model_arn} " in message and other["name"] in message
    assert not [b for b in client.batches.list().data if b.input_file_id == file_id]  # none was made

    allowed = _user(cluster, "batchok", BATCH_ACTIONS, {"Effect": "Allow", "Action": "bedrock:InvokeModel", "Resource": model_arn})
    client = _openai(cluster, allowed)
    batch = client.batches.create(input_file_id=file_id, endpoint="/v1/chat/completions", completion_window="24h")
    assert batch.status in ("validating", "in_progress")
    client.batches.cancel(batch.id)


def test_bedrock_job_needs_invoke_model_on_its_model(cluster: Cluster) -> None:
    wait_for(lambda: compute_registered(cluster), 30)
    model = _model(cluster)
    user = _user(cluster, "jobnomodel", BATCH_ACTIONS)
    ctl = cluster.gateway.client("bedrock", aws_access_key_id=user["aws_access_key_id"], aws_secret_access_key=user["aws_secret_access_key"])
    with pytest.raises(ClientError) as err:
        ctl.create_model_invocation_job(
            jobName="j", roleArn="arn:aws:iam::123456789012:role/batch", modelId=model,
            inputDataConfig={"s3InputDataConfig": {"s3Uri": "s3://in/records.jsonl"}}, outputDataConfig={"s3OutputDataConfig": {"s3Uri": "s3://out/"}})
    assert err.value.response["Error"]["Code"] == "AccessDeniedException"
    assert f"bedrock:InvokeModel on resource: arn:aws:bedrock:us-east-1::foundation-model/{model} " in err.value.response["Error"]["Message"]
