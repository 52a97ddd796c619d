"""The running emulator: settings, key store, native handlers, fallback, hooks.

Everything a handler may need from the rest of the system hangs off this one
object (``handler.runtime``), so handlers never import each other.
"""

from __future__ import annotations

import importlib
import logging
import os
import time
from collections.abc import Callable
from typing import Any

import psutil

from emulator import __version__
from emulator.context import RequestContext
from emulator.gateway.fallback import MotoFallback
from emulator.gateway.keys import AccessKey, KeyStore
from emulator.gateway.recorder import Recorder
from emulator.handlers.base import Route, ServiceHandler
from emulator.protocols.base import Response
from emulator.settings import Settings

log = logging.getLogger("emulator")

# botocore service name -> "module:Class" of the native handler.
NATIVE_HANDLERS: dict[str, str] = {
    "dynamodb": "emulator.handlers.dynamodb:DynamoDBHandler",
    "dynamodbstreams": "emulator.handlers.dynamodbstreams:DynamoDBStreamsHandler",
    "ec2": "emulator.handlers.ec2:Ec2Handler",
    "bedrock": "emulator.handlers.bedrock:BedrockHandler",
    "bedrock-runtime": "emulator.handlers.bedrock_runtime:BedrockRuntimeHandler",
    "cloudwatch": "emulator.handlers.cloudwatch:CloudWatchHandler",
    "logs": "emulator.handlers.logs:LogsHandler",
    "iam": "emulator.handlers.iam:IamHandler",
}

# Called after every request with (ctx, response, seconds), on the request path: for what must
# happen before the next request (capacity charging). Everything else is a recorder consumer.
Observer = Callable[[RequestContext, Response, float], None]


class Runtime:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        settings.ensure_dirs()
        self.started_at = time.time()
        self.version = __version__
        self.keys = KeyStore(settings.data_dir)
        self.root_key: AccessKey = self.keys.ensure_root(settings.root_access_key_id, settings.root_secret_access_key)
        self.handlers: dict[str, ServiceHandler] = {}
        self.handler_errors: dict[str, str] = {}
        self.fallback = (
            MotoFallback(settings.account_id, settings.data_dir / "fallback" if settings.fallback_persistence else None)
            if settings.fallback
            else None
        )
        self.observers: list[Observer] = []
        # Bookkeeping that needs every request but not before the next one (audit, access
        # log, telemetry): batched off the request path (emulator/gateway/recorder.py).
        self.recorder = Recorder(float(settings.extra.get("records_flush_seconds", 0.02)))
        self.routes: list[Route] = []
        # Shared objects registered by services for each other (e.g. "metrics", "ledger").
        self.components: dict[str, Any] = {}
        importlib.import_module("emulator.gateway.security").install(self)  # authz, validation, rate limits, audit
        # The ASGI app, set when it is created; app.invoke(service, op, params) calls
        # a native operation in-process through the same authorize/validate steps.
        self.app: Any = None
        for name in settings.services:
            target = NATIVE_HANDLERS.get(name)
            if target is None:
                continue
            module_name, _, cls_name = target.partition(":")
            try:
                module = importlib.import_module(module_name)
            except ModuleNotFoundError as exc:
                if exc.name == module_name:
                    continue  # not built (yet): the fallback serves it
                raise
            handler: ServiceHandler = getattr(module, cls_name)(self)
            self.handlers[name] = handler
            self.routes.extend(handler.routes())
        if "ec2" in self.handlers and self.fallback is not None:
            # Images are the native EC2's (they are models): moto's catalogue of ~700 public AMIs
            # and their snapshots (~1.2 MB) would only be pickled with every save of moto's EC2
            # state (VPCs, key pairs). Read by moto when its EC2 backend is first made.
            os.environ.setdefault("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
        from emulator.console import routes as console_routes

        self.routes.extend(console_routes(self))
        from emulator.gateway.reset import reset_routes

        self.routes.extend(reset_routes(self))
        self.routes.sort(key=lambda r: -len(r.prefix))

    async def start(self) -> None:
        if self.fallback is not None:
            self.fallback.start()  # moto's saved state, back before any request or handler needs it
        for name, handler in self.handlers.items():
            try:
                await handler.start()
            except Exception as exc:  # a broken service must not take the others down
                log.exception("service %s failed to start", name)
                self.handler_errors[name] = f"{type(exc).__name__}: {exc}"

    async def stop(self) -> None:
        for handler in reversed(list(self.handlers.values())):
            try:
                await handler.stop()
            except Exception:
                log.exception("service %s failed to stop", handler.service)
        if self.fallback is not None:
            self.fallback.stop()  # the last writes' snapshots

    def resettable(self) -> list[str]:
        """Service names ``reset`` takes: the native services and those moto serves."""
        names = set(self.handlers)
        if self.fallback is not None:
            names |= self.fallback.served()
        if "sessions" in self.components:
            names.add("sts")
        return sorted(names)

    async def reset(self, names: list[str] | None = None) -> list[str]:
        """Forget the resources of the named services (all when None), as a new account has
        none: tables, instances, metrics, logs, IAM users, moto's state, STS sessions. The
        root key, the access log, the audit log and the usage ledger stay: they belong to
        the server, not to the account. Returns the names reset, sorted."""
        known = self.resettable()
        wanted = set(known) if names is None else set(names)
        unknown = sorted(wanted - set(known))
        if unknown:
            raise ValueError(f"cannot reset {', '.join(unknown)}: not a service of this server (it serves {', '.join(known)})")
        for name, handler in self.handlers.items():
            if name in wanted and name not in self.handler_errors:  # a service that failed to start holds nothing
                await handler.reset()
        sessions = self.components.get("sessions")
        if sessions is not None and "sts" in wanted:
            sessions.reset()
        if self.fallback is not None:
            # Native services with operations moto serves (EC2's VPCs, IAM's roles) have state there too.
            only_native = {name for name, h in self.handlers.items() if h.owned_members is None}
            moto_names = wanted - only_native if names is not None else None
            if moto_names is None or moto_names:
                self.fallback.reset(moto_names)
        return sorted(wanted)

    def health(self) -> dict[str, Any]:
        services: dict[str, Any] = {}
        for name, handler in self.handlers.items():
            if name in self.handler_errors:
                services[name] = {"mode": "native", "state": "failed", "error": self.handler_errors[name]}
            else:
                services[name] = {"mode": "native", **handler.health()}
                if handler.owned_members is not None and self.fallback is not None:
                    # Operations it does not implement, on resources other than its own, go to moto.
                    services[name]["other_operations"] = "fallback"
        return {
            "status": "ok",
            "version": self.version,
            "uptime_seconds": round(time.time() - self.started_at, 3),
            "endpoint": self.settings.endpoint,
            "region": self.settings.region,
            "services": services,
            "fallback": {
                "enabled": self.fallback is not None,
                "provider": "moto",
                "services": sorted(self.fallback.served() - self.handlers.keys()) if self.fallback is not None else [],
            },
            "components": {k: v.health() for k, v in self.components.items() if hasattr(v, "health")},
            "process": _process(),
        }


def _process() -> dict[str, Any]:
    """The serving process as the operating system sees it: its memory and threads."""
    try:
        proc = psutil.Process()
        with proc.oneshot():
            return {"pid": proc.pid, "rss_bytes": proc.memory_info().rss, "threads": proc.num_threads()}
    except psutil.Error:
        return {"pid": os.getpid()}
