"""Inference engines behind one interface (``base.Engine``): llama-cpp-python and remote OpenAI-compatible servers."""

from __future__ import annotations

from emulator.compute.engines.base import Chunk, Engine, EngineError, GenParams


def create_engine(model: object, **kwargs: object) -> Engine:
    """The engine for a model: ``remote`` when it has a URL, else llama.cpp."""
    from emulator.compute.models import ModelInfo

    assert isinstance(model, ModelInfo)
    if model.remote_url:
        from emulator.compute.engines.remote import RemoteEngine

        return RemoteEngine(model, **kwargs)  # type: ignore[arg-type]
    from emulator.compute.engines.llama import LlamaEngine

    return LlamaEngine(model, **kwargs)  # type: ignore[arg-type]


__all__ = ["Chunk", "Engine", "EngineError", "GenParams", "create_engine"]
