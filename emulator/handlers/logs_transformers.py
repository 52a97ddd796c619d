"""CloudWatch Logs transformers (PutTransformer, GetTransformer, DeleteTransformer,
TestTransformer), mixed into LogsHandler; the engine is emulator.monitoring.logs_transformers.
Regional: each operation works on the request's region (``ctx.region``).

The mixin also wraps three of LogsHandler's own entry points, as the CloudWatch mixins
wrap theirs (emulator.handlers.cloudwatch_mutes), so that the handler's bodies stay as
they are:
- PutLogEvents: for a group with a transformer the events are transformed before anything
  stores or reads them (the store, metric filters, subscriptions, Insights rules); for a
  group without one the cost is one dict lookup;
- DeleteLogGroup: the group's transformer goes with it (a group created again later under
  the name starts without one);
- reset: transformers are forgotten with the groups.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from emulator.context import RequestContext
from emulator.handlers.base import operation
from emulator.monitoring.logs_transformers import LogTransformers

if TYPE_CHECKING:
    from emulator.runtime import Runtime


class TransformerOperations:
    monitoring: Any
    operations: dict[str, tuple[Callable[..., Any], bool]]
    reset: Callable[[], Any]

    def __init__(self, runtime: Runtime) -> None:
        super().__init__(runtime)  # type: ignore[call-arg]  # the handler base that fills self.operations
        self.transformers = LogTransformers(self.monitoring.logs)
        put, put_async = self.operations["PutLogEvents"]
        delete, delete_async = self.operations["DeleteLogGroup"]
        if put_async or delete_async:
            raise TypeError("PutLogEvents and DeleteLogGroup are wrapped as synchronous operations")
        self.operations["PutLogEvents"] = (self._transforming(put), False)
        self.operations["DeleteLogGroup"] = (self._forgetting(delete), False)
        handler_reset = self.reset

        async def reset() -> None:
            await handler_reset()
            self.transformers.reset()

        self.reset = reset  # the handler's own reset stays as it is; this one runs it, then forgets transformers

    def _transforming(self, put: Callable[[RequestContext, dict[str, Any]], dict[str, Any]]) -> Callable[[RequestContext, dict[str, Any]], dict[str, Any]]:
        active = self.transformers.active

        def put_log_events(ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
            transformer = active.get((ctx.region, p.get("logGroupName", "")))
            if transformer is not None and isinstance(p.get("logEvents"), list):
                meta = {"@logGroupName": p["logGroupName"], "@logGroupStream": str(p.get("logStreamName", "")), "@accountId": ctx.account_id, "@regionName": ctx.region}
                p = {**p, "logEvents": self.transformers.transform_events(transformer, p["logEvents"], meta)}
            return put(ctx, p)

        return put_log_events

    def _forgetting(self, delete: Callable[..., Any]) -> Callable[..., Any]:
        def delete_log_group(ctx: RequestContext, p: dict[str, Any]) -> Any:
            out = delete(ctx, p)
            self.transformers.forget(ctx.region, p.get("logGroupName", ""))
            return out

        return delete_log_group

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
