"""The running emulator: settings, key store, native handlers, fallback, hooks.

Everything a handler may need from the rest of the system hangs off this one
object (``handler.runtime``), so handlers never import each other.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
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

# How often the housekeeping (Runtime._housekeeping) checks the data dir's files and retries the
# snapshots of moto's state that failed.
HOUSEKEEPING_SECONDS = 5.0


class DataFiles:
    """The data dir's main files, checked every few seconds off the request path: a database
    (DynamoDB's, monitoring's) deleted or replaced under the running server, or iam.json
    deleted, means every later write is lost at the next restart. Recovering is not attempted:
    an ERROR is logged (once a file) and /_emulator/health says degraded."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self._inodes: dict[Path, int] = {}  # a database -> its inode when first seen
        self._seen: set[Path] = set()  # documents replaced whole on each save (iam.json): seen once
        self.problems: dict[str, str] = {}  # path -> what happened to it

    def _databases(self) -> list[Path]:
        return [self.data_dir / "dynamodb.sqlite3", *(self.data_dir / "monitoring").glob("*.db")]

    def check(self, gone: list[str]) -> list[str]:
        """Stat the files; ``gone``: the databases of moto's state found deleted or replaced.
        Returns the problems new since the last check."""
        found: dict[str, str] = {}
        for path in self._databases():
            try:
                inode = os.stat(path).st_ino
            except OSError:
                continue
            if self._inodes.setdefault(path, inode) != inode:
                found[str(path)] = "replaced by another file while the server runs"
        for path in list(self._inodes):
            if str(path) not in found and not path.exists():
                found[str(path)] = "deleted while the server runs"
        for path in (self.data_dir / "iam.json",):
            if path.exists():
                self._seen.add(path)
            elif path in self._seen:
                found[str(path)] = "deleted while the server runs"
        for path_text in gone:
            found[path_text] = "deleted or replaced while the server runs"
        new = [f"{path}: {why}" for path, why in found.items() if path not in self.problems]
        self.problems.update(found)
        return new


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
        self.data_files = DataFiles(settings.data_dir)
        self._housekeeper: asyncio.Task[None] | None = None
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
        if self._housekeeper is None:
            with contextlib.suppress(OSError):
                self.data_files.check([])  # what is there at start: a file deleted from now on is seen
            self._housekeeper = asyncio.create_task(self._housekeeping(), name="emulator-housekeeping")

    async def _housekeeping(self) -> None:
        """Every HOUSEKEEPING_SECONDS, off the request path: retry moto's snapshots that failed
        (a disk full, then freed) and check that the data dir's files are still there."""
        while True:
            await asyncio.sleep(HOUSEKEEPING_SECONDS)
            try:
                await asyncio.to_thread(self.housekeeping)
            except Exception:  # never stop checking
                log.exception("housekeeping failed")

    def housekeeping(self) -> None:
        gone = self.fallback.housekeeping() if self.fallback is not None else []
        for problem in self.data_files.check(gone):
            log.error("data dir: %s; the writes from now on are lost at the next restart (restore the file from a backup, or restart the server to start over from what is on disk)", problem)

    async def stop(self) -> None:
        if self._housekeeper is not None:
            self._housekeeper.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._housekeeper
            self._housekeeper = None
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
        problems = self.problems()
        return {
            "status": "degraded" if problems else "ok",
            **({"problems": problems} if problems else {}),
            "version": self.version,
            "uptime_seconds": round(time.time() - self.started_at, 3),
            "endpoint": self.settings.endpoint,
            "region": self.settings.region,
            "services": services,
            "fallback": {
                "enabled": self.fallback is not None,
                "provider": "moto",
                "services": sorted(self.fallback.served() - self.handlers.keys()) if self.fallback is not None else [],
                **self._persistence(),
            },
            "components": {k: v.health() for k, v in self.components.items() if hasattr(v, "health")},
            "process": _process(),
        }


    def _persistence(self) -> dict[str, Any]:
        """moto's state on disk: "ok", or "degraded" with why each package cannot be saved."""
        if self.fallback is None or not self.settings.fallback_persistence:
            return {}
        failures = self.fallback.persistence_failures()
        if not failures:
            return {"persistence": {"state": "ok"}}
        return {"persistence": {"state": "degraded", "reason": {package: f"its state cannot be saved ({why}); its writes are refused" for package, why in failures.items()}}}

    def problems(self) -> list[str]:
        """Why the server is degraded: state that cannot be saved, data files gone."""
        found = []
        if self.fallback is not None:
            found += [f"the state of {package} (moto) cannot be saved: {why}" for package, why in self.fallback.persistence_failures().items()]
        found += [f"data dir: {problem}" for problem in (f"{path}: {why}" for path, why in self.data_files.problems.items())]
        return found


def _process() -> dict[str, Any]:
    """The serving process as the operating system sees it: its memory and threads."""
    try:
        proc = psutil.Process()
        with proc.oneshot():
            return {"pid": proc.pid, "rss_bytes": proc.memory_info().rss, "threads": proc.num_threads()}
    except psutil.Error:
        return {"pid": os.getpid()}
