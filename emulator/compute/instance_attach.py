"""Attached remote servers as instances: AttachedServers, mixed into
emulator.compute.instances.InstanceManager.

An OpenAI-compatible server attached by the CLI (attached.json) or the settings runs as an
instance of the remote instance type; the instances follow the attachments (new ones come up
running, detached ones terminate), and a health probe makes each "ok" or "impaired".
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from emulator.compute.attach import (
    REMOTE_INSTANCE_TYPE,
    AttachError,
    Attachment,
    from_config,
    read_attachments,
    register_model,
)
from emulator.compute.config import ComputeConfig
from emulator.compute.engines import EngineError
from emulator.compute.instance_state import (
    REMOTE_TYPE_DESCRIPTION,
    Instance,
    LaunchError,
    _gmt,
    _now,
)
from emulator.compute.models import ModelStore
from emulator.compute.resources import InstanceType
from emulator.compute.scheduler import Scheduler

log = logging.getLogger("emulator.compute")


class AttachedServers:
    # The InstanceManager state these methods work on (set in its __init__).
    config: ComputeConfig
    data_dir: Path
    store: ModelStore
    region: str
    types: dict[str, InstanceType]
    instances: dict[str, Instance]
    schedulers: dict[str, Scheduler]
    remote_status: dict[str, tuple[str, str]]
    _remote_checked: dict[str, float]
    _terminated_settings: set[str]
    save: Callable[[], None]
    _set_state: Callable[..., None]
    _next_ip: Callable[[], str]
    _unload: Callable[[str], None]
    _transition: Callable[[Instance, str, str, tuple[str, str] | None, str], None]

    def _attachments(self) -> list[Attachment]:
        """Settings first (they win on the same id), then the CLI's attached.json."""
        seen: dict[str, Attachment] = {}
        for att in from_config(self.config.remote) + read_attachments(self.data_dir):
            seen.setdefault(att.instance_id, att)
        return [a for a in seen.values() if a.instance_id not in self._terminated_settings]

    def _sync_attachments(self) -> None:
        """Make the instances match the attachments: new ones come up running, detached ones terminate."""
        wanted = {a.instance_id: a for a in self._attachments()}
        changed = False
        for iid, att in wanted.items():
            inst = self.instances.get(iid)
            if inst is not None and inst.state == "stopped":
                continue  # stopped by StopInstances: stays so until StartInstances
            if inst is not None and inst.state == "running" and iid in self.schedulers:
                continue
            try:
                register_model(self.store, att)
            except AttachError as exc:
                log.error("cannot attach %s: %s", att.url, exc)
                continue
            if inst is None or inst.state == "terminated":
                inst = Instance(instance_id=iid, image_id="", model_name=att.model, instance_type=REMOTE_INSTANCE_TYPE,
                                reservation_id="r-" + secrets.token_hex(9)[:17], launch_time=_now(), private_ip=self._next_ip(),
                                availability_zone=f"{self.region}a", remote_url=att.url, attach_source=att.source)
                self.instances[iid] = inst
                inst.log(f"attached remote server {att.url} (model {att.model})")
            self._attach_up(inst, att)
            changed = True
        for inst in list(self.instances.values()):
            if inst.remote_url and inst.instance_id not in wanted and inst.state not in ("terminated", "shutting-down"):
                inst.log("detached")
                self._transition(inst, "shutting-down", "terminated", ("Client.UserInitiatedShutdown", "Client.UserInitiatedShutdown: User initiated shutdown"),
                                 f"User initiated ({_gmt(_now())})")
                self.remote_status.pop(inst.instance_id, None)
                changed = True
        if changed:
            self.save()

    def _attach_up(self, inst: Instance, att: Attachment) -> None:
        """An attached server as a running instance: a remote engine behind the same scheduler as local models."""
        from emulator.compute.engines.remote import RemoteEngine

        model = self.store.get(att.model)
        if model is None or not model.remote_url:
            raise LaunchError("InvalidAMIID.NotFound", f"The image for remote model '{att.model}' does not exist")
        if REMOTE_INSTANCE_TYPE not in self.types:
            self.types[REMOTE_INSTANCE_TYPE] = InstanceType(REMOTE_INSTANCE_TYPE, 1, 0, description=REMOTE_TYPE_DESCRIPTION)
        self._unload(inst.instance_id)
        iid = inst.instance_id
        inst.image_id, inst.model_name, inst.remote_url = model.image_id, model.name, att.url
        inst.instance_type = REMOTE_INSTANCE_TYPE  # whatever ModifyInstanceAttribute set: the box is the remote's
        inst.tags = {**inst.tags, "Name": att.label, "emulator:remote-url": att.url, "emulator:remote-model": att.model,
                     "emulator:attached": att.source}
        engine = RemoteEngine(model, slots=self.config.slots, timeout=self.config.request_timeout)
        engine.loaded = True  # reachability is the health probe's business: an attached server may be down for now
        engine.on_unreachable = lambda detail: self._mark_remote(iid, False, detail)
        self.schedulers[iid] = Scheduler(engine, self.config.queue, self.config.request_timeout, iid)
        self.remote_status[iid] = ("initializing", "")
        self._remote_checked.pop(iid, None)
        self._set_state(inst, "running")

    def _mark_remote(self, iid: str, ok: bool, detail: str = "") -> None:
        inst = self.instances.get(iid)
        if inst is None or inst.state != "running":
            return
        status = "ok" if ok else "impaired"
        previous = self.remote_status.get(iid, ("initializing", ""))[0]
        self.remote_status[iid] = (status, detail)
        if previous != status:
            inst.log(f"remote server {inst.remote_url}: {status}" + (f" ({detail})" if detail else ""))

    async def _remote_loop(self) -> None:
        """Re-read the attachments every second; probe each attached server every remote_health_interval."""
        loop = asyncio.get_running_loop()
        while True:
            try:
                self._sync_attachments()
                now = time.monotonic()
                due = [iid for iid, inst in self.instances.items()
                       if inst.remote_url and inst.state == "running" and iid in self.schedulers
                       and now - self._remote_checked.get(iid, -1e9) >= self.config.remote_health_interval]
                for iid in due:
                    self._remote_checked[iid] = now
                if due:
                    await asyncio.gather(*(self._probe(loop, iid) for iid in due))
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("remote server health check failed")
            await asyncio.sleep(min(1.0, max(0.1, self.config.remote_health_interval)))

    async def _probe(self, loop: asyncio.AbstractEventLoop, iid: str) -> None:
        sched = self.schedulers.get(iid)
        if sched is None:
            return
        engine: Any = sched.engine
        try:
            await loop.run_in_executor(None, engine.probe, self.config.remote_health_timeout)
        except EngineError as exc:
            self._mark_remote(iid, False, str(exc))
        else:
            self._mark_remote(iid, True)

    def status_of(self, inst: Instance) -> str:
        """EC2's instance-status summary: ok | impaired | initializing | not-applicable."""
        if inst.state == "pending":
            return "initializing"
        if inst.state != "running" or inst.instance_id not in self.schedulers:
            return "not-applicable"
        if inst.remote_url:
            return self.remote_status.get(inst.instance_id, ("initializing", ""))[0]
        return "ok"
