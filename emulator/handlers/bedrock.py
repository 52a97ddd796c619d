"""Bedrock's control plane (the ``bedrock`` service) over the local model store.

Native: the model catalog (``bedrock_catalog``: foundation models and the system-defined
inference profiles the runtime accepts) and batch inference (``bedrock_jobs``: model
invocation jobs reading their records from S3 and writing the answers back). Every other
operation (custom models, logging configuration, tags) is the moto fallback's.
"""

from __future__ import annotations

from typing import Any, ClassVar

from emulator.handlers.base import ComputeHandler
from emulator.handlers.bedrock_catalog import ModelCatalogOperations
from emulator.handlers.bedrock_jobs import InvocationJobOperations


class BedrockHandler(InvocationJobOperations, ModelCatalogOperations, ComputeHandler):
    service = "bedrock"
    # No request names a resource of this handler that moto would have to know: operations
    # not implemented here go to moto.
    owned_members: ClassVar[frozenset[str] | None] = frozenset()

    async def start(self) -> None:
        await super().start()
        await self.start_jobs()

    async def stop(self) -> None:
        await self.stop_jobs()
        await super().stop()

    async def reset(self) -> None:
        await self.reset_catalog()
        await self.reset_jobs()

    def health(self) -> dict[str, Any]:
        return {"state": "running", "models": len(self.compute.store.list())}
