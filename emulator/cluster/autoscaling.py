"""DynamoDB auto scaling in a cluster: the evaluator in the dynamodb role, the policies in the gateway.

Application Auto Scaling is moto's, served by the gateway's fallback; the tables, their
provisioned capacity and what each request consumed are the dynamodb role's. The scaling
loop (emulator/dynamodb/autoscaling.py ``AutoScaling.evaluate``) stays with the tables: the
consumption is counted on every request there, and capacity changes go through UpdateTable's
own path there. What it needs of moto (the DynamoDB scalable targets and their policies) is
small and changes rarely, so each pass fetches all of it for the role's regions in one
request (``RemoteScaling.read_targets``), off the event loop; the auto scaling operations of
DynamoDB (UpdateTableReplicaAutoScaling, UpdateGlobalTableSettings) register targets and put
policies through the gateway too (``apply_updates``), holding moto's locks there as in one
process. Requests carry the internal credential; the gateway answers them itself
(``autoscaling_route``) from its moto, ``read_targets``/``apply_updates`` being the very
functions one process runs.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from typing import TYPE_CHECKING, Any

import orjson

from emulator.cluster import internal
from emulator.dynamodb.autoscaling import (
    SERVICE,
    PolicyView,
    ScalingUpdate,
    Targets,
    TargetView,
    apply_updates,
    read_targets,
)
from emulator.errors import AwsError
from emulator.handlers.base import Route
from emulator.protocols.base import Request, Response

if TYPE_CHECKING:
    from emulator.cluster.role import InternalClient
    from emulator.context import RequestContext
    from emulator.runtime import Runtime

log = logging.getLogger("emulator.cluster")

AUTOSCALING_PATH = "/_emulator/cluster/autoscaling"
_JSON = {"content-type": "application/json"}


def _target_of(doc: dict[str, Any]) -> TargetView:
    policies = [PolicyView(**p) for p in doc.pop("policies", [])]
    return TargetView(**doc, policies=policies)


# ------------------------------------------------------------------ the dynamodb role
class RemoteScaling:
    """``AutoScaling.remote`` of the dynamodb role: moto's DynamoDB targets, through the gateway."""

    def __init__(self, client: InternalClient) -> None:
        self.client = client
        self.calls = 0

    def _call_sync(self, doc: dict[str, Any]) -> Any:
        self.calls += 1
        status, body = self.client.call(AUTOSCALING_PATH, orjson.dumps(doc))
        answer: Any = None
        if status:
            try:
                answer = orjson.loads(body)
            except orjson.JSONDecodeError:
                answer = None
        if status == 200 and isinstance(answer, dict):
            return answer.get("result")
        if isinstance(answer, dict) and answer.get("__type") and 400 <= status < 500:
            raise AwsError(str(answer["__type"]), str(answer.get("message", "")), status)
        log.warning("cluster: Application Auto Scaling call failed: %s %r", status, body[:200])
        raise AwsError("InternalServerError", "Auto scaling is unavailable: Application Auto Scaling (the gateway) did not answer. Try again later.", 500)

    async def _call(self, doc: dict[str, Any]) -> Any:
        return await asyncio.to_thread(self._call_sync, doc)

    async def read_targets(self, regions: set[str], table: str | None) -> Targets:
        found = await self._call({"op": "read", "regions": sorted(regions), "table": table})
        out: Targets = {}
        for doc in found or []:
            target = _target_of(doc)
            out[(target.region, target.resource_id, target.dimension)] = target
        return out

    async def apply_updates(self, account: str, updates: list[ScalingUpdate]) -> None:
        await self._call({"op": "apply", "account": account, "updates": [dataclasses.asdict(u) for u in updates]})

    def write_autoscaled(self, region: str, name: str) -> bool:
        """The engine's ``autoscaled`` (whether the table's write capacity is scaled: AWS adds a
        replica to a provisioned table only then). Synchronous, as the engine asks: UpdateTable
        adding a replica, rare."""
        found = self._call_sync({"op": "read", "regions": [region], "table": name})
        return any(t.get("resource_id") == f"table/{name}" and t.get("dimension") == "dynamodb:table:WriteCapacityUnits" for t in found or [])

    def health(self) -> dict[str, Any]:
        return {"calls": self.calls}


# ------------------------------------------------------------------ the gateway
def autoscaling_route(runtime: Runtime, secret: bytes) -> Route:
    """The gateway's end: the dynamodb role's reads and changes of moto's DynamoDB scalable targets."""

    async def handle(request: Request, ctx: RequestContext) -> Response:
        try:
            internal.verify(secret, request.method, request.raw_path, request.query_string, request.body, request.headers)
        except internal.InternalAuthError as exc:
            return Response(403, dict(_JSON), orjson.dumps({"__type": "AccessDeniedException", "message": str(exc)}))
        fallback = runtime.fallback
        try:
            doc = orjson.loads(request.body)
            op = doc.get("op") if isinstance(doc, dict) else None
            result: Any = None
            if op == "read":
                # Without moto nothing is scaled (one process's answer without its fallback).
                if fallback is not None:
                    regions = {str(r) for r in doc.get("regions") or []}
                    table = doc.get("table")
                    found = await fallback.change(SERVICE, lambda: read_targets(fallback, regions, table), write=False)
                    result = [dataclasses.asdict(t) for t in found.values()]
            elif op == "apply":
                if fallback is None:
                    raise AwsError("ValidationException", "Auto scaling is not available: this server does not serve Application Auto Scaling (the moto fallback is off)", 400)
                account = str(doc.get("account") or runtime.settings.account_id)
                updates = [ScalingUpdate(**u) for u in doc.get("updates") or []]
                await fallback.change(SERVICE, lambda: apply_updates(fallback, account, updates), write=True)
            else:
                raise AwsError("ValidationException", f"unknown operation {op!r}", 400)
        except AwsError as err:
            return Response(err.status, dict(_JSON), orjson.dumps({"__type": err.code, "message": err.message}))
        except (ValueError, TypeError) as exc:
            return Response(400, dict(_JSON), orjson.dumps({"__type": "ValidationException", "message": str(exc)}))
        return Response(200, dict(_JSON), orjson.dumps({"result": result}))

    return Route(AUTOSCALING_PATH, handle, ("POST",), summary="moto's DynamoDB scalable targets for the dynamodb role (internal credential)")
