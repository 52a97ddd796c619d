"""Bedrock Guardrails' control plane."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from emulator.context import RequestContext

if TYPE_CHECKING:
    from emulator.compute.service import ComputeService


class GuardrailOperations:
    compute: ComputeService

    def guardrail_tags(self, ctx: RequestContext, arn: str) -> tuple[list[dict[str, str]], Callable[[list[dict[str, str]]], None]] | None:
        """(the tags, a function that stores new ones) of the guardrail an ARN names; None for
        an ARN of another kind of resource."""
        return None

    async def reset_guardrails(self) -> None:
        """Forget every guardrail (POST /_emulator/reset)."""
