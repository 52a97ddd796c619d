"""``POST /_emulator/reset`` on the compute services: EC2 forgets its instances and frees the
ledger, Bedrock Runtime forgets the stored OpenAI responses and leaves the instances alone."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import openai
import pytest
from botocore.exceptions import ClientError, EventStreamError

from emulator.testing.server import EmulatorServer, free_port

from .conftest import health, instance, wait_state

MESSAGES = [{"role": "user", "content": [{"text": "Hi"}]}]


def _code(err: pytest.ExceptionInfo[ClientError]) -> str:
    return str(err.value.response["Error"]["Code"])


def _instances(ec2: Any) -> list[dict[str, Any]]:
    return [i for r in ec2.describe_instances()["Reservations"] for i in r["Instances"]]


def _compute(server: EmulatorServer) -> dict[str, Any]:
    compute: dict[str, Any] = health(server)["components"]["compute"]
    return compute


def test_reset_keeps_or_forgets_the_instances(server_factory: Callable[..., EmulatorServer], tmp_path: Path) -> None:
    # Only the compute services and no moto: a reset then concerns them alone. bedrock-runtime
    # first, so a reset of both resets it before EC2 (the default order is EC2 first). The
    # ledger holds one instance of the biggest type (all the host's threads), not two.
    server = server_factory(data_dir=tmp_path / "data", EMULATOR_SERVICES="bedrock-runtime,ec2", EMULATOR_FALLBACK="false",
                            EMULATOR_COMPUTE_VCPUS=str(os.cpu_count()))
    ec2, bedrock = server.client("ec2"), server.client("bedrock-runtime")
    oai = openai.OpenAI(base_url=server.endpoint + "/v1", api_key=f"{server.access_key}:{server.secret_key}", max_retries=0)
    started = time.monotonic()
    assert server.reset(services=["ec2", "bedrock-runtime"]) == ["bedrock-runtime", "ec2"]
    assert time.monotonic() - started < 5, "a reset with nothing to forget is quick"

    image = ec2.describe_images()["Images"][0]["ImageId"]
    biggest = max(ec2.describe_instance_types()["InstanceTypes"], key=lambda t: t["VCpuInfo"]["DefaultVCpus"])["InstanceType"]
    launch = {"ImageId": image, "InstanceType": biggest, "MinCount": 1, "MaxCount": 1, "ClientToken": "reset-token"}
    iid = ec2.run_instances(**launch, TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "team", "Value": "ml"}]}])["Instances"][0]["InstanceId"]
    wait_state(ec2, iid, "running")
    assert bedrock.converse(modelId=iid, messages=MESSAGES, inferenceConfig={"maxTokens": 2})["usage"]["outputTokens"] <= 2
    stored = oai.responses.create(model=iid, input="Say hi", max_output_tokens=2)
    with pytest.raises(ClientError) as err:
        ec2.run_instances(ImageId=image, InstanceType=biggest, MinCount=1, MaxCount=1)
    assert _code(err) == "InsufficientInstanceCapacity"

    # Everything but EC2: the instance serves on; the stored response is forgotten.
    assert "ec2" not in server.reset(keep=["ec2"])
    assert instance(ec2, iid)["State"]["Name"] == "running"
    assert bedrock.converse(modelId=iid, messages=MESSAGES, inferenceConfig={"maxTokens": 2})["usage"]["outputTokens"] <= 2
    with pytest.raises(openai.NotFoundError):
        oai.responses.retrieve(stored.id)

    # EC2, with a generation in flight: it ends with an error, not a hang nor a cut answer.
    body = json.dumps({"prompt": "1, 2, 3, 4, 5, 6, 7, 8, 9, 10,", "max_gen_len": 450, "temperature": 0})
    stream = iter(bedrock.invoke_model_with_response_stream(modelId=iid, body=body)["body"])
    assert "chunk" in next(stream)
    assert server.reset(services=["ec2"]) == ["ec2"]
    with pytest.raises(EventStreamError):
        for _ in stream:
            pass
    assert _instances(ec2) == []
    assert ec2.describe_tags(Filters=[{"Name": "resource-type", "Values": ["instance"]}])["Tags"] == []
    with pytest.raises(ClientError) as err:
        ec2.describe_instances(InstanceIds=[iid])
    assert _code(err) == "InvalidInstanceID.NotFound"
    compute = _compute(server)
    assert compute["ledger"]["reservations"] == {} and compute["serving"] == {} and compute["instances"] == {}
    with pytest.raises(ClientError) as err:
        bedrock.converse(modelId=iid, messages=MESSAGES, inferenceConfig={"maxTokens": 2})
    assert _code(err) == "ResourceNotFoundException"
    # The ledger is free again, and the client token forgotten: a new launch, not the old one.
    again = ec2.run_instances(**launch)["Instances"][0]["InstanceId"]
    assert again != iid

    # Both, while the new instance loads its model: no wait for the load.
    started = time.monotonic()
    assert server.reset(services=["bedrock-runtime", "ec2"]) == ["bedrock-runtime", "ec2"]
    assert time.monotonic() - started < 10
    assert _instances(ec2) == [] and _compute(server)["ledger"]["reservations"] == {}

    # Nothing comes back at a restart on the same data dir.
    server.kill()
    server.start()
    ec2 = server.client("ec2")
    assert _instances(ec2) == []
    assert _compute(server)["ledger"]["reservations"] == {}


def test_reset_brings_attached_servers_back_as_at_start(server_factory: Callable[..., EmulatorServer], tmp_path: Path) -> None:
    # An attached remote server is the operator's set-up (settings or `emulator compute attach`),
    # not the account's: a reset gives it back running, untouched by what the account did. No
    # server listens at the URL: the instance is impaired, which needs no model.
    models = tmp_path / "models"
    models.mkdir()
    entry = {"url": f"http://127.0.0.1:{free_port()}/v1", "model": "remote-model", "name": "attached"}
    server = server_factory(data_dir=tmp_path / "data", EMULATOR_MODELS_DIR=str(models), EMULATOR_SERVICES="ec2",
                            EMULATOR_FALLBACK="false", EMULATOR_COMPUTE_REMOTE=json.dumps([entry]))
    ec2 = server.client("ec2")
    [attached] = _instances(ec2)
    iid = attached["InstanceId"]
    ec2.create_tags(Resources=[iid], Tags=[{"Key": "mine", "Value": "yes"}])
    ec2.terminate_instances(InstanceIds=[iid])  # a settings attachment: gone until the next start
    assert instance(ec2, iid)["State"]["Name"] == "terminated"
    server.reset(services=["ec2"])
    back = instance(ec2, iid)
    assert back["State"]["Name"] == "running" and "mine" not in {t["Key"] for t in back["Tags"]}
    assert [i["InstanceId"] for i in _instances(ec2)] == [iid]
