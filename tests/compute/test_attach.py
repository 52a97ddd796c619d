"""Remote OpenAI-compatible servers attached as serving instances (``emulator compute attach``).

The remote server is a second emulator process serving SmolLM2 on its /v1; the
first emulator has no local model at all, so every answer it gives comes from
the remote one.
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
from botocore.exceptions import ClientError

from emulator.compute.attach import (
    AttachError,
    attachment_id,
    from_config,
    normalize_url,
)
from emulator.compute.config import ComputeConfig
from emulator.settings import load_settings
from emulator.testing.server import EmulatorServer
from emulator.testing.wait import wait_for

from .conftest import MODEL_ID, health, instance, wait_state

MESSAGES = [{"role": "user", "content": [{"text": "Say hi"}]}]
REMOTE_TYPE = "inf2.xlarge"


def _cli(server: EmulatorServer, models_dir: Path, *args: str) -> dict[str, Any]:
    out = subprocess.run([sys.executable, "-m", "emulator", "compute", "--data-dir", str(server.data_dir), "--models-dir", str(models_dir), *args],
                         check=False, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    result: dict[str, Any] = json.loads(out.stdout)
    return result


def _status(ec2: Any, iid: str) -> str:
    found = ec2.describe_instance_status(InstanceIds=[iid], IncludeAllInstances=True)["InstanceStatuses"]
    return str(found[0]["InstanceStatus"]["Status"]) if found else ""


def _appears(ec2: Any, iid: str) -> dict[str, Any]:
    """The server re-reads the attachments every second: poll until the instance exists and runs."""
    def running() -> dict[str, Any] | None:
        try:
            found = instance(ec2, iid)
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "InvalidInstanceID.NotFound":
                raise
            return None
        return found if found["State"]["Name"] == "running" else None

    result: dict[str, Any] = wait_for(running, timeout=20)
    return result


def _code(err: pytest.ExceptionInfo[ClientError]) -> str:
    return str(err.value.response["Error"]["Code"])


@pytest.fixture(scope="module")
def remote(server_factory: Callable[..., EmulatorServer]) -> Iterator[EmulatorServer]:
    server = server_factory()
    yield server
    server.stop()


def _front(server_factory: Callable[..., EmulatorServer], tmp_path: Path, **env: str) -> tuple[EmulatorServer, Path]:
    models = tmp_path / "front-models"
    models.mkdir()
    server = server_factory(data_dir=tmp_path / "front-data", EMULATOR_MODELS_DIR=str(models), EMULATOR_COMPUTE_REMOTE_HEALTH_INTERVAL="0.3",
                            EMULATOR_COMPUTE_REMOTE_HEALTH_TIMEOUT="2", **env)
    return server, models


def test_attach_serve_impaired_recover_detach(remote: EmulatorServer, server_factory: Callable[..., EmulatorServer], tmp_path: Path) -> None:
    front, models = _front(server_factory, tmp_path)
    ec2 = front.client("ec2")
    bedrock = front.client("bedrock-runtime")
    url = remote.endpoint + "/v1"
    # The CLI writes the data dir; the running server picks the attachment up by itself.
    att = _cli(front, models, "attach", url, "--model", MODEL_ID, "--api-key", f"{remote.access_key}:{remote.secret_key}", "--name", "remote-smol")
    iid = att["InstanceId"]
    found = _appears(ec2, iid)
    assert found["InstanceType"] == REMOTE_TYPE
    tags = {t["Key"]: t["Value"] for t in found["Tags"]}
    assert tags["Name"] == "remote-smol" and tags["emulator:remote-url"] == url and tags["emulator:attached"] == "cli"
    image = ec2.describe_images(ImageIds=[found["ImageId"]])["Images"][0]
    assert image["Name"] == MODEL_ID and image["ImageLocation"] == url
    assert {t["Key"]: t["Value"] for t in image["Tags"]}["engine"] == "remote"
    # The validator accepts the type (a real EC2 name) and DescribeInstanceTypes knows it.
    types = ec2.describe_instance_types(InstanceTypes=[REMOTE_TYPE])["InstanceTypes"]
    assert types[0]["InstanceType"] == REMOTE_TYPE
    running = ec2.describe_instances(Filters=[{"Name": "instance-type", "Values": [REMOTE_TYPE]}])["Reservations"]
    assert [r["Instances"][0]["InstanceId"] for r in running] == [iid]
    wait_for(lambda: _status(ec2, iid) == "ok", timeout=20)

    # Bedrock Converse, ConverseStream and the OpenAI API all answer through the remote server.
    out = bedrock.converse(modelId=MODEL_ID, messages=MESSAGES, inferenceConfig={"maxTokens": 4, "temperature": 0})
    assert out["output"]["message"]["content"][0]["text"] and 0 < out["usage"]["outputTokens"] <= 4
    events = list(bedrock.converse_stream(modelId=MODEL_ID, messages=MESSAGES, inferenceConfig={"maxTokens": 4})["stream"])
    assert any("contentBlockDelta" in e for e in events) and any("metadata" in e for e in events)
    client = openai.OpenAI(base_url=front.endpoint + "/v1", api_key=f"{front.access_key}:{front.secret_key}", max_retries=0)
    chat = client.chat.completions.create(model=MODEL_ID, messages=[{"role": "user", "content": "Say hi"}], max_tokens=4)
    assert chat.choices[0].message.content and chat.usage is not None and chat.usage.completion_tokens <= 4
    # Same scheduler as local instances: the attached instance counted all three.
    serving = health(front)["components"]["compute"]["serving"]
    assert list(serving) == [iid] and serving[iid]["engine"] == "remote" and serving[iid]["completed"] == 3
    # ... and the remote emulator ran them on its own (on-demand) llama.cpp instance.
    remote_serving = health(remote)["components"]["compute"]["serving"]
    assert sum(s["completed"] for s in remote_serving.values()) >= 3

    # The remote server goes away: impaired, and requests fail at once with 503s.
    remote.stop()
    wait_for(lambda: _status(ec2, iid) == "impaired", timeout=20)
    statuses = ec2.describe_instance_status(Filters=[{"Name": "instance-status.status", "Values": ["impaired"]}])["InstanceStatuses"]
    assert [s["InstanceId"] for s in statuses] == [iid]
    assert statuses[0]["SystemStatus"]["Status"] == "impaired"
    assert statuses[0]["InstanceStatus"]["Details"] == [{"Name": "reachability", "Status": "failed"}]
    assert instance(ec2, iid)["State"]["Name"] == "running"  # impaired is a status, not a state
    with pytest.raises(ClientError) as err:
        bedrock.converse(modelId=MODEL_ID, messages=MESSAGES, inferenceConfig={"maxTokens": 4})
    assert _code(err) == "ServiceUnavailableException"
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
    with pytest.raises(openai.APIStatusError) as oerr:
        client.chat.completions.create(model=MODEL_ID, messages=[{"role": "user", "content": "Say hi"}], max_tokens=4)
    assert oerr.value.status_code == 503

    # Back: ok again, and it serves.
    remote.start()
    wait_for(lambda: _status(ec2, iid) == "ok", timeout=30)
    out = bedrock.converse(modelId=MODEL_ID, messages=MESSAGES, inferenceConfig={"maxTokens": 4})
    assert out["output"]["message"]["content"][0]["text"]
    console = ec2.get_console_output(InstanceId=iid)["Output"]  # botocore decodes the base64
    assert f"remote server {url}: impaired" in console and f"remote server {url}: ok" in console

    # Detach from the CLI: the instance terminates and the image goes.
    _cli(front, models, "detach", iid)
    wait_state(ec2, iid, "terminated", timeout=20)
    assert ec2.describe_images()["Images"] == []
    with pytest.raises(ClientError) as err:
        bedrock.converse(modelId=MODEL_ID, messages=MESSAGES, inferenceConfig={"maxTokens": 4})
    assert _code(err) == "ResourceNotFoundException"
    front.stop()


def test_attach_from_settings_and_terminate(remote: EmulatorServer, server_factory: Callable[..., EmulatorServer], tmp_path: Path) -> None:
    url = remote.endpoint + "/v1"
    entry = {"url": url, "model": MODEL_ID, "api_key": f"{remote.access_key}:{remote.secret_key}", "name": "from-settings"}
    front, _ = _front(server_factory, tmp_path, EMULATOR_COMPUTE_REMOTE=json.dumps([entry]))
    ec2 = front.client("ec2")
    iid = attachment_id(url, MODEL_ID)
    found = instance(ec2, iid)  # attached at start, before the first request
    assert found["State"]["Name"] == "running" and {t["Key"]: t["Value"] for t in found["Tags"]}["emulator:attached"] == "settings"
    wait_for(lambda: _status(ec2, iid) == "ok", timeout=20)
    out = front.client("bedrock-runtime").converse(modelId=MODEL_ID, messages=MESSAGES, inferenceConfig={"maxTokens": 2})
    assert out["usage"]["outputTokens"] <= 2
    # Stop/start keep the attachment; terminate detaches it (a settings one until the next start).
    ec2.stop_instances(InstanceIds=[iid])
    assert instance(ec2, iid)["State"]["Name"] == "stopped"
    ec2.start_instances(InstanceIds=[iid])
    assert instance(ec2, iid)["State"]["Name"] == "running"
    ec2.terminate_instances(InstanceIds=[iid])
    assert instance(ec2, iid)["State"]["Name"] == "terminated"
    front.stop()
    front.start()  # the settings attach it again at start
    assert instance(ec2, iid)["State"]["Name"] == "running"
    front.stop()


def test_cli_terminate_detaches(remote: EmulatorServer, server_factory: Callable[..., EmulatorServer], tmp_path: Path) -> None:
    front, models = _front(server_factory, tmp_path)
    ec2 = front.client("ec2")
    iid = _cli(front, models, "attach", remote.endpoint, "--model", MODEL_ID)["InstanceId"]  # a bare host:port gets /v1
    assert instance_tags(_appears(ec2, iid))["emulator:remote-url"] == remote.endpoint + "/v1"
    # No API key: the remote emulator refuses the probe (401), so the instance is impaired, not ok.
    wait_for(lambda: _status(ec2, iid) == "impaired", timeout=20)
    ec2.terminate_instances(InstanceIds=[iid])
    assert json.loads((front.data_dir / "compute" / "attached.json").read_text())["attachments"] == []
    with urllib.request.urlopen(front.endpoint + "/_emulator/health", timeout=10) as resp:
        assert json.load(resp)["components"]["compute"]["serving"] == {}
    bad = subprocess.run([sys.executable, "-m", "emulator", "compute", "--data-dir", str(front.data_dir), "--models-dir", str(models), "detach", iid],
                         check=False, capture_output=True, text=True, timeout=60)
    assert bad.returncode == 1 and "not an attached server" in bad.stderr
    front.stop()


def instance_tags(found: dict[str, Any]) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in found["Tags"]}


# ------------------------------------------------------------------ unit tests
def test_normalize_url_and_ids() -> None:
    assert normalize_url("http://h:8000") == "http://h:8000/v1"
    assert normalize_url("http://h:8000/v1/") == "http://h:8000/v1"
    assert normalize_url("https://h/openai/v1") == "https://h/openai/v1"
    with pytest.raises(AttachError):
        normalize_url("h:8000")
    iid = attachment_id("http://h:8000/v1", "m")
    assert iid == attachment_id("http://h:8000/v1", "m") != attachment_id("http://h:8000/v1", "n")
    assert len(iid) == 19 and iid.startswith("i-")


def test_settings_parsing(tmp_path: Path) -> None:
    toml = tmp_path / "emulator.toml"
    toml.write_text('[emulator]\ncompute_remote_health_interval = 2\n\n[[emulator.compute_remote]]\nurl = "http://10.0.0.5:8000"\nmodel = "llama"\nname = "gpu-box"\n')
    cfg = ComputeConfig.from_settings(load_settings({"config_file": str(toml)}), environ={})
    assert cfg.remote_health_interval == 2.0
    atts = from_config(cfg.remote)
    assert [(a.url, a.model, a.label, a.source) for a in atts] == [("http://10.0.0.5:8000/v1", "llama", "gpu-box", "settings")]
    env_cfg = ComputeConfig.from_settings(load_settings({}, environ={}), environ={"EMULATOR_COMPUTE_REMOTE": '[{"url": "http://x:1/v1", "model": "m"}]'})
    assert from_config(env_cfg.remote)[0].instance_id == attachment_id("http://x:1/v1", "m")
    with pytest.raises(ValueError):
        ComputeConfig.from_settings(load_settings({}, environ={}), environ={"EMULATOR_COMPUTE_REMOTE": "not json"})
    with pytest.raises(AttachError):
        from_config([{"url": "http://x:1/v1"}])
