"""Routing a request to a serving instance: shared by Bedrock Runtime and the OpenAI API.

A model id may be an image id (``ami-...``), a model name, a Bedrock-style ARN
ending in the model name, or an instance id (``i-...``) to target one
instance. Without a running serving instance for the model, one is started on
demand and stopped again after ``compute_idle_seconds`` of idleness.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from emulator.compute.engines.base import Chunk, EngineError, GenParams
from emulator.compute.instances import Instance, LaunchError, NotReady
from emulator.compute.model_ids import (
    arn_scope,
    normalize_model_id,
    region_group,
    strip_profile,
)
from emulator.compute.models import ModelInfo
from emulator.compute.scheduler import (
    GenerationTimeout,
    QueueFull,
    QueueTimeout,
    Scheduler,
)
from emulator.compute.service import ComputeService


class UnknownModel(Exception):
    pass


# Everything a request can fail with on its way through the compute layer; the
# Bedrock and OpenAI surfaces each map these to their own error shapes.
INFERENCE_ERRORS: tuple[type[Exception], ...] = (UnknownModel, NotReady, LaunchError, EngineError, QueueFull, QueueTimeout, GenerationTimeout)


@dataclass
class Target:
    model: ModelInfo
    instance: Instance
    scheduler: Scheduler


# Bedrock application inference profiles (CreateInferenceProfile, emulator/handlers/bedrock_catalog.py)
# are kept in this file of the data dir: {"profiles": [{"arn": ..., "model": <model or profile id>,
# "models": [<the copied foundation models' ARNs>], "region": ..., "account": ..., ...}]}.
APPLICATION_PROFILES = Path("bedrock") / "application-inference-profiles.json"
_application_arns: dict[Path, tuple[tuple[int, int], dict[str, dict[str, Any]]]] = {}


@dataclass(frozen=True)
class Scope:
    """Where a Bedrock request is made: the inference profiles it may name depend on it."""

    region: str
    account: str


def _application_profiles(data_dir: Path) -> dict[str, dict[str, Any]]:
    """The application profiles by ARN; the file is read again only when it changed (it is
    replaced whole: a new inode each write)."""
    path = Path(data_dir) / APPLICATION_PROFILES
    try:
        stat = path.stat()
        version = (stat.st_ino, stat.st_mtime_ns)
        cached = _application_arns.get(path)
        if cached is None or cached[0] != version:
            profiles = json.loads(path.read_text(encoding="utf-8")).get("profiles", [])
            cached = _application_arns[path] = (version, {str(p["arn"]): p for p in profiles if isinstance(p, dict)})
    except (OSError, ValueError, KeyError, AttributeError):
        return {}
    return cached[1]


def application_profile_model(data_dir: Path, ident: str) -> str | None:
    """The model id behind an application inference profile's ARN (None for anything else)."""
    if ":application-inference-profile/" not in ident:
        return None
    record = _application_profiles(data_dir).get(ident.strip())
    return str(record["model"]) if record is not None and "model" in record else None


def application_profile_models(data_dir: Path, arn: str) -> list[str]:
    """The ARNs of the foundation models an application inference profile copies (empty for
    anything else): authorization needs the action on them too (the gateway's requirements)."""
    record = _application_profiles(data_dir).get(arn.strip()) if ":application-inference-profile/" in arn else None
    models = record.get("models") if record is not None else None
    return [str(m) for m in models] if isinstance(models, list) else []


def scoped_model_id(compute: ComputeService, ident: str, scope: Scope) -> str:
    """The identifier ``resolve`` serves for a Bedrock request's ``modelId`` made in ``scope``;
    UnknownModel (the runtime's error for an unknown model) for a profile that does not exist
    there, as the control plane (emulator/handlers/bedrock_catalog.py) shows them:

    - an application profile lives in one Region and account, those of its ARN;
    - a system-defined profile (its id or ARN) is the request Region's group's only
      (``model_ids.region_group``: ``us.`` in us-*, ``eu.`` in eu-*, ...), its ARN of that Region.
    A local model named like a profile id is served as named."""
    ident = ident.strip()
    if ":application-inference-profile/" in ident:
        record = _application_profiles(compute.manager.data_dir).get(ident)
        if record is None or arn_scope(ident) != (scope.region, scope.account) or "model" not in record:
            raise UnknownModel(ident)
        ident = str(record["model"])  # a model id or a system profile id of the profile's Region
    elif ident.startswith("arn:") and ":inference-profile/" in ident and arn_scope(ident)[0] != scope.region:
        raise UnknownModel(ident)
    name = normalize_model_id(ident)
    if compute.store.get(name) is not None or strip_profile(name) == name:
        return name
    if not name.startswith(region_group(scope.region)[0]):
        raise UnknownModel(ident)
    return name


async def resolve(compute: ComputeService, ident: str, scope: Scope | None = None) -> Target:
    """Find (or start) the serving instance; raises UnknownModel, NotReady, LaunchError.
    ``scope``: a Bedrock request's (``scoped_model_id``); None takes any profile (the OpenAI API)."""
    if scope is not None:
        ident = scoped_model_id(compute, ident, scope)
    ident = application_profile_model(compute.manager.data_dir, ident) or ident
    ident = normalize_model_id(ident)
    if compute.store.get(ident) is None:
        ident = strip_profile(ident)
    manager = compute.manager
    if ident.startswith("i-"):
        inst = manager.get(ident)
        if inst is None:
            raise UnknownModel(ident)
        model = compute.store.get(inst.image_id) or compute.store.get(inst.model_name)
        if model is None:
            raise UnknownModel(ident)
        inst, sched = await manager.serving_scheduler(instance_id=ident)
        return Target(model, inst, sched)
    model = compute.store.get(ident)
    if model is None:
        raise UnknownModel(ident)
    inst, sched = await manager.serving_scheduler(model=model)
    return Target(model, inst, sched)


@dataclass
class Generation:
    """A started generation: its chunk iterator and, once drained, the usage."""

    target: Target
    chunks: AsyncIterator[Chunk]
    started: float
    first_token_at: float = 0.0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    finish_reason: str = "stop"
    stop_sequence: str | None = None  # the request's stop sequence that ended the text
    text: str = ""
    pieces: int = 0  # text chunks received (one generated token each), for usage when stopped early

    async def texts(self) -> AsyncIterator[str]:
        async for chunk in self.chunks:
            if chunk.finish_reason is not None:
                self.finish_reason = chunk.finish_reason
                self.stop_sequence = chunk.stop_sequence
                self.prompt_tokens = chunk.prompt_tokens
                self.completion_tokens = chunk.completion_tokens
                continue
            if not self.first_token_at:
                self.first_token_at = time.perf_counter()
                # Known before the end when the engine says (base.Chunk): a stream's first event reports it.
                self.prompt_tokens = chunk.prompt_tokens
            self.pieces += 1
            self.text += chunk.text
            yield chunk.text

    async def collect(self) -> str:
        async for _ in self.texts():
            pass
        return self.text

    async def aclose(self) -> None:
        aclose = getattr(self.chunks, "aclose", None)
        if aclose is not None:
            await aclose()

    @property
    def latency_ms(self) -> int:
        return int((time.perf_counter() - self.started) * 1000)

    @property
    def first_byte_ms(self) -> int:
        return int(((self.first_token_at or time.perf_counter()) - self.started) * 1000)


async def generate(compute: ComputeService, ident: str, prompt: str | None, messages: list[dict[str, Any]] | None,
                   params: GenParams, scope: Scope | None = None) -> Generation:
    started = time.perf_counter()
    target = await resolve(compute, ident, scope)
    chunks = await target.scheduler.stream(prompt, messages, params)
    return Generation(target, chunks, started)


async def count_tokens(compute: ComputeService, ident: str, prompt: str | None, messages: list[dict[str, Any]] | None,
                       scope: Scope | None = None) -> int:
    target = await resolve(compute, ident, scope)
    result: int = await target.scheduler.run_sync(target.scheduler.engine.count_tokens, prompt, messages)
    return result
