"""Bedrock's control plane (the ``bedrock`` service) over the local model store.

Native: the model catalog (``bedrock_catalog``: foundation models, the system-defined
inference profiles the runtime accepts, application inference profiles) and batch inference
(``bedrock_jobs``: model invocation jobs reading their records from S3 and writing the answers
back), and the tags of those profiles and jobs. Every other operation (custom models, logging
configuration) is the moto fallback's, and so are the tags of moto's resources.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from emulator.context import RequestContext
from emulator.handlers.base import ComputeHandler, Delegate, operation
from emulator.handlers.bedrock_catalog import ModelCatalogOperations
from emulator.handlers.bedrock_guardrails import GuardrailOperations
from emulator.handlers.bedrock_jobs import InvocationJobOperations


class BedrockHandler(GuardrailOperations, InvocationJobOperations, ModelCatalogOperations, ComputeHandler):
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
        await self.reset_guardrails()
        await self.reset_jobs()

    # ------------------------------------------------------------ tags
    def _tags(self, ctx: RequestContext, arn: str) -> tuple[list[dict[str, str]], Callable[[list[dict[str, str]]], None]]:
        """The tags of the profile or job an ARN names, and how to store new ones; any other
        ARN (a custom model's, ...) is moto's resource: Delegate."""
        found = self.profile_tags(ctx, arn) or self.job_tags(ctx, arn) or self.guardrail_tags(ctx, arn)
        if found is None:
            raise Delegate
        return found

    @operation("ListTagsForResource")
    def list_tags_for_resource(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return {"tags": self._tags(ctx, params["resourceARN"])[0]}

    @operation("TagResource")
    def tag_resource(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        tags, store = self._tags(ctx, params["resourceARN"])
        merged = {t["key"]: t["value"] for t in tags}
        merged.update({t["key"]: t["value"] for t in params.get("tags") or []})
        store([{"key": k, "value": v} for k, v in merged.items()])
        return {}

    @operation("UntagResource")
    def untag_resource(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        tags, store = self._tags(ctx, params["resourceARN"])
        drop = set(params.get("tagKeys") or [])
        store([t for t in tags if t["key"] not in drop])
        return {}

    def health(self) -> dict[str, Any]:
        return {"state": "running", "models": len(self.compute.store.list())}
