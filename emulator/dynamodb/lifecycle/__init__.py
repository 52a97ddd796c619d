"""DynamoDB data lifecycle: Streams, Kinesis destinations, TTL, backups,
point-in-time recovery, export/import, bulk operations and PartiQL, on top of the native engine; and
auto scaling's evaluator (emulator/dynamodb/autoscaling.py).

``Lifecycle`` installs one write hook on the engine (called inside every
item write's transaction) and runs one background task for the TTL sweeper
and the retention housekeeping (and KinesisDestinations one for its deliveries, AutoScaling
one for its evaluation passes).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
from pathlib import Path
from typing import Any

from emulator.dynamodb.core import Item
from emulator.dynamodb.lifecycle.common import now_clock, setting, stop_task
from emulator.dynamodb.storage.base import LifecycleStorage
from emulator.dynamodb.tables import Table

log = logging.getLogger("emulator.dynamodb.lifecycle")

# Held (shared flock) while a server runs on the data dir, so that
# ``emulator backup restore`` can refuse to overwrite a live data dir. ``emulator serve`` holds
# it exclusively from its start (emulator.settings.lock_data_dir: one server per data dir); then
# this shared lock, in the same process, is not granted and not needed.
LOCK_FILE = ".emulator.lock"


class Lifecycle:
    def __init__(self, engine: Any, settings: Any) -> None:
        from emulator.dynamodb.autoscaling import AutoScaling
        from emulator.dynamodb.lifecycle.backups import Backups
        from emulator.dynamodb.lifecycle.bulk import BulkOperations
        from emulator.dynamodb.lifecycle.exports import Exports
        from emulator.dynamodb.lifecycle.kinesis import KinesisDestinations
        from emulator.dynamodb.lifecycle.partiql import PartiQL
        from emulator.dynamodb.lifecycle.pitr import Pitr
        from emulator.dynamodb.lifecycle.s3objects import ObjectStore
        from emulator.dynamodb.lifecycle.streams import Streams
        from emulator.dynamodb.lifecycle.ttl import TtlSweeper

        self.engine = engine
        self.settings = settings
        self.extra: dict[str, Any] = dict(getattr(settings, "extra", {}) or {})
        if not isinstance(engine.storage, LifecycleStorage):
            raise TypeError(f"storage {engine.storage.name!r} does not support the DynamoDB data lifecycle")
        self.storage: LifecycleStorage = engine.storage
        self.clock = now_clock
        self.ttl_interval = self.setting("ttl_interval", 30.0)
        # How long a global table's replica stays CREATING/UPDATING/DELETING (replicas.py).
        engine.replica_delay = max(0.0, self.setting("replica_activation_delay", 0.5))
        data_dir = Path(getattr(settings, "data_dir", "."))
        self.data_dir = data_dir
        self.s3_root = Path(self.extra.get("s3_root") or os.environ.get("EMULATOR_S3_ROOT") or data_dir / "s3")
        self.lock_path = data_dir / LOCK_FILE
        self._lock_fh: Any = None
        self.streams = Streams(self)
        self.kinesis = KinesisDestinations(self)
        self.pitr = Pitr(self)
        self.backups = Backups(self)
        self.ttl = TtlSweeper(self)
        self.partiql = PartiQL(self)
        self.objects = ObjectStore(self)  # S3 as imports and bulk operations read it
        self.exports = Exports(self)
        self.bulk = BulkOperations(self)
        self.autoscaling = AutoScaling(self)  # its ``fallback`` (moto) is set by the handler
        self._task: asyncio.Task[None] | None = None
        engine.write_hooks.append(self.on_write)

    def setting(self, name: str, default: float) -> float:
        return setting(self.extra, name, default)

    def on_write(self, table: Table, old: Item | None, new: Item | None) -> None:
        """The engine's write hook: runs inside the item's own transaction."""
        if old == new:
            return  # nothing changed: DynamoDB emits no stream record
        now = self.clock()
        self.streams.record(table, old, new, now)
        self.pitr.record(table, old, new, now)

    # ------------------------------------------------------------ running
    def _hold_lock(self) -> None:
        with contextlib.suppress(OSError):
            self.lock_path.parent.mkdir(parents=True, exist_ok=True)
            self._lock_fh = open(self.lock_path, "a")  # noqa: SIM115 - held open until stop()
            fcntl.flock(self._lock_fh.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)

    async def start(self) -> None:
        self._hold_lock()
        self.pitr.load()
        self.kinesis.start()
        self.autoscaling.start()
        self.bulk.resume()  # bulk operations a stop or crash interrupted go on
        self._task = asyncio.get_running_loop().create_task(self._run(), name="dynamodb-lifecycle")

    async def stop(self) -> None:
        await stop_task(self._task)
        self._task = None
        await self.kinesis.stop()
        await self.autoscaling.stop()
        await self.bulk.stop()
        for task in list(self.exports.tasks):
            task.cancel()
        if self._lock_fh is not None:
            self._lock_fh.close()
            self._lock_fh = None

    async def reset(self) -> None:
        """Back to a new account (POST /_emulator/reset): the engine's reset (tables, items,
        stream records, snapshots, history, every metadata record) and what the lifecycle
        keeps beside it: running exports/imports, its caches, backup files. Idempotent."""
        # An export or import still running would, when it ends, write its record (an
        # import: items too) into the new account. Cancelled, it writes nothing more.
        tasks = list(self.exports.tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.bulk.stop()  # a running bulk operation would write on into the new account
        engine = self.engine
        engine.begin_group()
        try:
            engine.reset()
            # With no await in between: a TTL/housekeeping pass must never see PITR settings
            # of tables that are gone (it would save them as SYSTEM backups) or known streams.
            self.pitr.enabled.clear()
            self.streams.forget()
            self.kinesis.forget()
            self.autoscaling.forget()
            trash = self.backups.detach_files()
        finally:
            await engine.durable()
        # The backup files go only once no committed record names them any more.
        if trash:
            await asyncio.to_thread(self.backups.remove_detached)

    async def tick(self) -> None:
        await self.ttl.sweep()
        await self.ttl.purge_tokens()
        self.streams.housekeeping()
        self.kinesis.housekeeping()
        self.pitr.housekeeping()
        self.backups.housekeeping()
        self.bulk.housekeeping()
        await self.engine.durable()

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.ttl_interval)
            try:
                await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("DynamoDB lifecycle pass failed")

    def health(self) -> dict[str, Any]:
        return {"ttl_interval": self.ttl_interval, "ttl_deleted": self.ttl.deleted, "pitr_tables": len(self.pitr.enabled), "kinesis": self.kinesis.health(), "autoscaling": self.autoscaling.health()}
