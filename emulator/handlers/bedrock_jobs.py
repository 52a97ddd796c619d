"""Bedrock batch inference: model invocation jobs."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from emulator.compute.service import ComputeService


class InvocationJobOperations:
    compute: ComputeService

    async def start_jobs(self) -> None:
        """Called when the server starts."""

    async def stop_jobs(self) -> None:
        """Called on shutdown."""

    async def reset_jobs(self) -> None:
        """Forget every job (POST /_emulator/reset)."""
