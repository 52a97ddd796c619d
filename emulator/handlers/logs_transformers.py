"""CloudWatch Logs transformers (PutTransformer, GetTransformer, DeleteTransformer,
TestTransformer), mixed into LogsHandler; the engine is emulator.monitoring.logs_transformers.
Regional: each operation works on the request's region (``ctx.region``).

LogsHandler calls ``transformed`` first in PutLogEvents: for a group with a transformer the
events are transformed before anything stores or reads them (the store, metric filters,
subscriptions, Insights rules); for a group without one the cost is one dict lookup.
DeleteLogGroup forgets the group's transformer (a group created again later under the name
starts without one), and a reset forgets them all.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from emulator.context import RequestContext
from emulator.handlers.base import operation
from emulator.monitoring.logs_transformers import LogTransformers

if TYPE_CHECKING:
    from emulator.runtime import Runtime


class TransformerOperations:
    monitoring: Any

    def __init__(self, runtime: Runtime) -> None:
        super().__init__(runtime)  # type: ignore[call-arg]  # the handler base
        self.transformers = LogTransformers(self.monitoring.logs)

    def transformed(self, ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
        """PutLogEvents' parameters with the events as the group's transformer makes them (the
        same ``p`` for a group without one: one dict lookup)."""
        transformer = self.transformers.active.get((ctx.region, p.get("logGroupName", "")))
        if transformer is None or not isinstance(p.get("logEvents"), list):
            return p
        meta = {"@logGroupName": p["logGroupName"], "@logGroupStream": str(p.get("logStreamName", "")), "@accountId": ctx.account_id, "@regionName": ctx.region}
        return {**p, "logEvents": self.transformers.transform_events(transformer, p["logEvents"], meta)}

    @operation("PutTransformer")
    def put_transformer(self, ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
        self.transformers.put(p, ctx.region)
        return {}

    @operation("GetTransformer")
    def get_transformer(self, ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
        return self.transformers.get(p, ctx.region)

    @operation("DeleteTransformer")
    def delete_transformer(self, ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
        self.transformers.delete(p, ctx.region)
        return {}

    @operation("TestTransformer")
    def test_transformer(self, ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
        return self.transformers.test(p)
