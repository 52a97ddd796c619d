"""Compute settings: ``compute_*`` keys of the TOML file (``settings.extra``),
overridden by ``EMULATOR_COMPUTE_*`` environment variables.

    [emulator]
    compute_slots = 2            # parallel requests per serving instance
    compute_queue = 8            # waiting requests per instance before ThrottlingException / 429
    compute_request_timeout = 120
    compute_idle_seconds = 300   # on-demand (Bedrock/OpenAI) instances stop after this idle time
    compute_n_ctx = 2048
    compute_ram_bytes = 0        # ledger capacity; 0 = detected
    compute_vram_bytes = 0
    compute_vcpus = 0
    compute_remote_health_interval = 10

    [[emulator.compute_remote]]  # attached remote OpenAI-compatible servers
    url = "http://10.0.0.5:8000/v1"
    model = "meta-llama/Llama-3.1-8B-Instruct"
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, fields
from typing import Any

from emulator.settings import Settings


@dataclass
class ComputeConfig:
    slots: int = 2
    queue: int = 8
    request_timeout: float = 120.0
    idle_seconds: float = 300.0
    ready_wait: float = 60.0  # how long a request waits for an on-demand instance to load
    n_ctx: int = 2048
    n_threads: int = 0  # 0: the instance type's vCPUs
    ram_bytes: int = 0
    vram_bytes: int = 0
    vcpus: int = 0
    cpu_overcommit: float = 4.0  # vCPUs the ledger hands out per host core
    ram_reserve_fraction: float = 0.2  # of host RAM kept for the OS and the emulator itself
    terminated_visible_seconds: float = 3600.0  # AWS keeps terminated instances visible ~1 hour
    extra_bufts: str = "auto"  # llama.cpp repack/AMX buffers: auto | true | false
    default_instance_type: str = ""
    instance_types: list[dict[str, Any]] = field(default_factory=list)
    gpu_layers: int = -1
    # Attached remote OpenAI-compatible servers ([[emulator.compute_remote]] tables, or
    # EMULATOR_COMPUTE_REMOTE as a JSON list of {url, model, api_key?, name?}); see attach.py.
    remote: list[dict[str, Any]] = field(default_factory=list)
    remote_health_interval: float = 10.0  # seconds between GET /models probes of each attached server
    remote_health_timeout: float = 3.0  # a probe slower than this marks the instance impaired

    @classmethod
    def from_settings(cls, settings: Settings, environ: dict[str, str] | None = None) -> ComputeConfig:
        env = os.environ if environ is None else environ
        cfg = cls(gpu_layers=settings.gpu_layers)
        extra = settings.extra or {}
        raw_nested = extra.get("compute")
        nested: dict[str, Any] = raw_nested if isinstance(raw_nested, dict) else {}
        for f in fields(cls):
            value: Any = None
            if f.name in nested:
                value = nested[f.name]
            if "compute_" + f.name in extra:
                value = extra["compute_" + f.name]
            env_value = env.get("EMULATOR_COMPUTE_" + f.name.upper())
            if env_value is not None and f.name == "remote":
                try:
                    value = json.loads(env_value)
                except ValueError:
                    raise ValueError(f"EMULATOR_COMPUTE_REMOTE is not a JSON list: {env_value!r}") from None
            elif env_value is not None and f.name != "instance_types":
                value = env_value
            if value is None:
                continue
            current = getattr(cfg, f.name)
            if isinstance(current, bool):
                value = str(value).lower() in ("1", "true", "yes", "on")
            elif isinstance(current, int):
                value = int(value)
            elif isinstance(current, float):
                value = float(value)
            elif isinstance(current, str):
                value = str(value)
            setattr(cfg, f.name, value)
        return cfg
