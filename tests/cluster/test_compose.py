"""CI checks of docker-compose.yml and docker/*.env without a Docker engine.

There is no engine (and no compose plugin) here, so the structure the deployment relies
on is checked with a JSON schema; when ``docker-compose`` or ``docker compose`` is
installed, its own ``config`` validation runs too.
"""

from __future__ import annotations

import dataclasses
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from emulator.cluster import configure
from emulator.cluster.discovery import parse_peers
from emulator.settings import Settings, load_settings

ROOT = Path(__file__).resolve().parents[2]
ROLES = ("gateway", "dynamodb", "compute", "monitoring")
BOX = {"cpus": 16.0, "memory_gb": 64.0}

_resources = {
    "type": "object",
    "required": ["limits"],
    "properties": {"limits": {"type": "object", "required": ["cpus", "memory"], "properties": {"cpus": {"type": "string", "pattern": r"^\d+(\.\d+)?$"}, "memory": {"type": "string", "pattern": r"^\d+[mg]$"}}}},
}
ROLE_SERVICE = {
    "type": "object",
    "required": ["build", "image", "restart", "healthcheck", "environment", "env_file", "volumes", "deploy"],
    "properties": {
        "restart": {"enum": ["unless-stopped", "always", "on-failure"]},
        "healthcheck": {"type": "object", "required": ["test", "interval", "timeout", "retries"],
                        "properties": {"test": {"type": "array", "contains": {"type": "string", "pattern": "/_emulator/health"}}}},
        "environment": {"type": "object", "required": ["EMULATOR_ROLE", "EMULATOR_CLUSTER_SECRET", "EMULATOR_HOST", "EMULATOR_DATA_DIR"]},
        "env_file": {"type": "array", "items": {"type": "string"}, "minItems": 1},
        "volumes": {"type": "array", "items": {"type": "string", "pattern": r"^[a-z][a-z0-9-]*:/"}, "minItems": 1},
        "deploy": {"type": "object", "required": ["resources"], "properties": {"resources": _resources}},
    },
}
SCHEMA = {
    "type": "object",
    "required": ["services", "volumes"],
    "properties": {
        "services": {"type": "object", "required": list(ROLES), "properties": {role: ROLE_SERVICE for role in ROLES}},
        "volumes": {"type": "object"},
    },
}
GPU = {
    "type": "object",
    "required": ["reservations"],
    "properties": {"reservations": {"type": "object", "required": ["devices"], "properties": {"devices": {
        "type": "array", "minItems": 1,
        "items": {"type": "object", "required": ["driver", "capabilities"], "properties": {"driver": {"const": "nvidia"}, "capabilities": {"type": "array", "contains": {"const": "gpu"}}}},
    }}}},
}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return data


def env_file(path: Path) -> dict[str, str]:
    out = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, sep, value = line.partition("=")
            assert sep, f"{path.name}: not KEY=VALUE: {line!r}"
            out[key] = value
    return out


def test_compose_structure(compose: dict[str, Any]) -> None:
    jsonschema.validate(compose, SCHEMA)
    services = compose["services"]
    for role in ROLES:
        assert services[role]["environment"]["EMULATOR_ROLE"] == role
        for volume in services[role]["volumes"]:
            assert volume.split(":")[0] in compose["volumes"], f"{role}: volume {volume} is not declared"
        for name in services[role]["env_file"]:
            assert (ROOT / name).is_file(), f"{role}: missing {name}"
    jsonschema.validate(services["compute"]["deploy"]["resources"], GPU)
    # Only the gateway is reachable from outside; the roles sit behind it.
    assert services["gateway"]["ports"] and all("ports" not in services[r] for r in ROLES[1:])
    assert "/models" in " ".join(services["compute"]["volumes"])


def test_compose_fits_the_box(compose: dict[str, Any]) -> None:
    limits = [compose["services"][r]["deploy"]["resources"]["limits"] for r in ROLES]
    cpus = sum(float(limit["cpus"]) for limit in limits)
    memory = sum(float(limit["memory"][:-1]) / (1024 if limit["memory"].endswith("m") else 1) for limit in limits)
    assert cpus <= BOX["cpus"] and memory <= BOX["memory_gb"], (cpus, memory)


def test_role_env_files_are_valid_settings(compose: dict[str, Any]) -> None:
    fields = {f.name for f in dataclasses.fields(Settings)}
    for role in ROLES:
        service = compose["services"][role]
        env = {}
        for name in service["env_file"]:
            env.update(env_file(ROOT / name))
        env.update({k: str(v) for k, v in service["environment"].items()})
        for key in env:
            assert key.startswith("EMULATOR_") and key[9:].lower() in fields, f"{role}: {key} is not a setting"
        env["EMULATOR_CLUSTER_SECRET"] = "x"  # the ${...:?} placeholder is resolved by compose from .env
        settings = load_settings({}, environ=env)
        configure(settings)
        assert settings.role == role
        if role == "gateway":
            assert {r for r, _ in parse_peers(settings.peers)} == set(ROLES[1:])
        else:
            assert settings.gateway_url == ["http://gateway:4566"]
            assert settings.advertise_url == f"http://{role}:4566"


def test_dockerfile_has_what_compose_relies_on() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^HEALTHCHECK ", text, re.MULTILINE) and re.search(r"^USER (?!root)", text, re.MULTILINE)
    assert "GGML_CUDA=on" in text and re.search(r"^ARG CUDA", text, re.MULTILINE)


def test_compose_config_when_available(tmp_path: Path) -> None:
    if shutil.which("docker-compose"):
        cmd = ["docker-compose"]
    elif shutil.which("docker") and subprocess.run(["docker", "compose", "version"], check=False, capture_output=True).returncode == 0:
        cmd = ["docker", "compose"]
    else:
        pytest.skip("no docker-compose / compose plugin here: the schema tests above stand in for `docker compose config`")
    env = {"EMULATOR_CLUSTER_SECRET": "x", "PATH": "/usr/bin:/bin:/usr/local/bin"}
    result = subprocess.run([*cmd, "-f", str(ROOT / "docker-compose.yml"), "config", "-q"], check=False, capture_output=True, text=True, env=env, cwd=ROOT)
    assert result.returncode == 0, result.stderr
