"""The base of every native service: operations only, dict in -> dict out.

A handler declares ``service`` (botocore's service name) and marks methods with
``@operation("PutItem")``. A method takes ``(ctx, params)`` and returns the
output dict; it may be ``async``. Sync methods run inline on the event loop, so
they must be quick (microseconds to a few milliseconds); anything long is async.
"""

from __future__ import annotations

import abc
import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from emulator.context import RequestContext
from emulator.protocols.base import Request, Response

if TYPE_CHECKING:
    from emulator.runtime import Runtime

OperationFn = Callable[..., Any]  # (self?, ctx: RequestContext, params: dict) -> dict | Awaitable[dict]


_F = TypeVar("_F", bound=Callable[..., Any])


def operation(name: str) -> Callable[[_F], _F]:
    def mark(fn: _F) -> _F:
        fn.__aws_operation__ = name  # type: ignore[attr-defined]
        return fn

    return mark


@dataclass
class Route:
    """A non-AWS HTTP surface (OpenAI API, console, /metrics) mounted under a path prefix.

    ``handler(request, ctx)`` returns a Response. ``methods`` None means any.
    """

    prefix: str
    handler: Callable[[Request, RequestContext], Awaitable[Response]]
    methods: tuple[str, ...] | None = None
    # For /_emulator/openapi.json: a one-line summary, and OpenAPI path items keyed by
    # sub-path (e.g. {"/v1/chat/completions": {"post": {...}}}); empty means "document the prefix".
    summary: str = ""
    openapi: dict[str, Any] = field(default_factory=dict)


class Delegate(Exception):
    """Raised by a native operation for a request that concerns none of its service's own
    resources (e.g. EC2 CreateTags on a VPC): the moto fallback serves it instead."""


class ServiceHandler(abc.ABC):
    service: ClassVar[str] = ""
    # Operations this service does not implement are served by the moto fallback when the
    # request carries none of these input members, which name the service's own resources
    # (EC2: instances and images are native; VPCs, security groups and key pairs are moto's).
    # A request that does carry one gets UnsupportedOperation: moto does not know those
    # resources and would answer as if they did not exist. None: no fallback at all, every
    # operation concerns the native data (DynamoDB tables).
    owned_members: ClassVar[frozenset[str] | None] = None

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.operations: dict[str, tuple[OperationFn, bool]] = {}
        for _, member in inspect.getmembers(type(self)):
            op = getattr(member, "__aws_operation__", None)
            if op:
                bound = getattr(self, member.__name__)
                self.operations[op] = (bound, inspect.iscoroutinefunction(member))

    def before_fallback(self, ctx: RequestContext, params: dict[str, Any]) -> None:
        """Called before an operation this service does not implement goes to moto (see
        ``owned_members``): a handler may hand moto what the request refers to (IAM: a
        customer-managed policy being attached to a role)."""

    async def start(self) -> None:
        """Called once when the server starts (open storage, start schedulers)."""

    async def stop(self) -> None:
        """Called once on shutdown."""

    @abc.abstractmethod
    async def reset(self) -> None:
        """Forget every resource of this service, leaving it as a new account finds it
        (``POST /_emulator/reset``, the pytest plugin's per-test isolation). Abstract: a
        service without it cannot be built. Handlers sharing an engine must tolerate being
        called twice."""

    def routes(self) -> list[Route]:
        """Extra non-AWS routes this service serves."""
        return []

    def health(self) -> dict[str, Any]:
        return {"state": "running"}


class ComputeHandler(ServiceHandler):
    """A handler over the shared compute service (EC2, Bedrock Runtime and its OpenAI API):
    the first handler started starts it; stopping one stops it (server shutdown)."""

    def __init__(self, runtime: Runtime) -> None:
        super().__init__(runtime)
        from emulator.compute.service import (
            compute_service,  # only the compute handlers need it
        )

        self.compute = compute_service(runtime)

    async def start(self) -> None:
        await self.compute.start()

    async def stop(self) -> None:
        await self.compute.stop()
