"""Instances: the EC2 state machine over models, persisted in the data dir.

    pending(0) -> running(16) -> stopping(64) -> stopped(80)
                       \\-> shutting-down(32) -> terminated(48)

A *job* instance (UserData holds a JSON/JSONL job; other user data is kept, not read) loads its model, runs the batch,
writes results to its console output (and a DynamoDB table if asked), then
stops or terminates per InstanceInitiatedShutdownBehavior. A *serving*
instance keeps its model loaded and serves Bedrock/OpenAI requests until
stopped. State lives in ``<data_dir>/compute/instances.json``; after a restart
instances that were pending or running are booted again.

InstanceManager (here): persistence, start/stop of the manager, capacity reservation, the
EC2 operations and on-demand serving. Its parts elsewhere: the Instance record, state codes
and errors in instance_state (re-exported here); booting, job running and teardown in
instance_boot (BootOperations); attached remote servers in instance_attach (AttachedServers).
"""

from __future__ import annotations

import asyncio
import base64
import ipaddress
import json
import logging
import os
import secrets
import threading
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from emulator.compute.config import ComputeConfig
from emulator.compute.instance_attach import AttachedServers
from emulator.compute.instance_boot import BootOperations

# The instance records live in instance_state; they are imported from here by the rest of the project.
from emulator.compute.instance_state import (
    CONSOLE_LIMIT,
    REMOTE_TYPE_DESCRIPTION,
    STATE_CODES,
    Instance,
    LaunchError,
    NotReady,
    _gmt,
    _now,
    new_instance_id,
)
from emulator.compute.jobs import JobError, job_of
from emulator.compute.ledger import InsufficientCapacity, Ledger
from emulator.compute.models import ModelInfo, ModelStore
from emulator.compute.resources import InstanceType, instance_types
from emulator.compute.scheduler import Scheduler

__all__ = ["CONSOLE_LIMIT", "REMOTE_TYPE_DESCRIPTION", "STATE_CODES", "Instance", "InstanceManager", "LaunchError", "NotReady", "new_instance_id"]

log = logging.getLogger("emulator.compute")


class InstanceManager(AttachedServers, BootOperations):
    def __init__(self, data_dir: Path, store: ModelStore, ledger: Ledger, config: ComputeConfig, region: str, endpoint: str,
                 credentials: tuple[str, str] | None = None) -> None:
        self.path = Path(data_dir) / "compute" / "instances.json"
        self.store = store
        self.ledger = ledger
        self.config = config
        self.region = region
        self.endpoint = endpoint
        self.credentials = credentials
        self.types: dict[str, InstanceType] = instance_types(config.instance_types or None)
        self.instances: dict[str, Instance] = {}
        self.schedulers: dict[str, Scheduler] = {}
        self.ready: dict[str, asyncio.Event] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._cancel: dict[str, threading.Event] = {}
        self._save_lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._janitor: asyncio.Task[None] | None = None
        self._on_demand_lock = asyncio.Lock()
        self._ip_counter = 10
        self.data_dir = Path(data_dir)
        # Attached remote servers: (status, detail) per instance; status is EC2's
        # instance-status summary: "initializing" until the first probe, then "ok" / "impaired".
        self.remote_status: dict[str, tuple[str, str]] = {}
        self._remote_checked: dict[str, float] = {}
        self._remote_task: asyncio.Task[None] | None = None
        self._terminated_settings: set[str] = set()  # settings attachments terminated by API: gone until restart
        self._load()

    # ------------------------------------------------------------ persistence
    def _load(self) -> None:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return
        except (OSError, ValueError):
            log.exception("cannot read %s; starting with no instances", self.path)
            return
        for item in data.get("instances", []):
            try:
                inst = Instance(**item)
            except TypeError:
                continue
            self.instances[inst.instance_id] = inst

    def save(self) -> None:
        with self._save_lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(".tmp")
            with open(tmp, "w", encoding="utf-8") as fh:
                json.dump({"instances": [asdict(i) for i in self.instances.values()]}, fh)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)

    # ------------------------------------------------------------- lifecycle
    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        for inst in list(self.instances.values()):
            if inst.remote_url:
                continue  # attached servers come back from their attachment (_sync_attachments)
            # Interrupted transitions finish as AWS would; live instances boot again.
            if inst.state == "stopping":
                self._set_state(inst, "stopped")
            elif inst.state == "shutting-down":
                self._set_state(inst, "terminated")
                inst.terminated_at = inst.terminated_at or _now()
            elif inst.state in ("pending", "running"):
                if inst.on_demand:
                    # On-demand instances come back when a request needs them, not at startup.
                    self._set_state(inst, "stopped", reason=("Client.InstanceInitiatedShutdown", "Client.InstanceInitiatedShutdown: Instance initiated shutdown"))
                    continue
                inst.log("emulator restarted: booting again")
                try:
                    self._reserve(inst, self._model(inst))
                except LaunchError as err:
                    self._set_state(inst, "stopped", reason=("Server.InsufficientInstanceCapacity", f"Server.InsufficientInstanceCapacity: {err.message}"))
                    continue
                self._set_state(inst, "pending")
                self._boot(inst)
        try:
            self._sync_attachments()
        except Exception:
            log.exception("cannot attach the remote servers")
        self.save()
        self._janitor = asyncio.create_task(self._janitor_loop())
        self._remote_task = asyncio.create_task(self._remote_loop())

    async def stop(self) -> None:
        if self._janitor is not None:
            self._janitor.cancel()
        if self._remote_task is not None:
            self._remote_task.cancel()
        for ev in self._cancel.values():
            ev.set()
        for task in list(self._tasks.values()):
            task.cancel()
        for iid in list(self.schedulers):
            self._unload(iid)
        self.save()

    async def _janitor_loop(self) -> None:
        while True:
            await asyncio.sleep(1.0 if self.config.idle_seconds < 30 else 5.0)
            try:
                self._janitor_pass()
            except Exception:
                log.exception("compute janitor failed")

    def _janitor_pass(self) -> None:
        now = _now()
        changed = False
        for inst in list(self.instances.values()):
            if inst.state == "terminated" and inst.terminated_at and now - inst.terminated_at > self.config.terminated_visible_seconds:
                del self.instances[inst.instance_id]
                changed = True
            elif inst.on_demand and inst.state == "running":
                sched = self.schedulers.get(inst.instance_id)
                if sched is not None and sched.active == 0 and sched.pool.waiting == 0 and now - sched.last_used > self.config.idle_seconds:
                    inst.log(f"idle for {self.config.idle_seconds:.0f}s: stopping")
                    self._transition(inst, "stopping", "stopped",
                                     ("Client.InstanceInitiatedShutdown", "Client.InstanceInitiatedShutdown: Instance initiated shutdown"),
                                     f"Client.InstanceInitiatedShutdown ({_gmt(now)})")
        if changed:
            self.save()

    # --------------------------------------------------------------- helpers
    def _set_state(self, inst: Instance, state: str, reason: tuple[str, str] | None = None, transition: str | None = None) -> None:
        inst.state = state
        if reason is not None:
            inst.state_reason = {"Code": reason[0], "Message": reason[1]}
        elif state in ("pending", "running"):
            inst.state_reason = None
        if transition is not None:
            inst.state_transition_reason = transition
        elif state in ("pending", "running"):
            inst.state_transition_reason = ""
        if state == "terminated" and not inst.terminated_at:
            inst.terminated_at = _now()

    def _model(self, inst: Instance) -> ModelInfo:
        model = self.store.get(inst.image_id) or self.store.get(inst.model_name)
        if model is None:
            raise LaunchError("InvalidAMIID.NotFound", f"The image id '[{inst.image_id}]' does not exist")
        return model

    def instance_type(self, name: str) -> InstanceType:
        itype = self.types.get(name)
        if itype is None:
            raise LaunchError("InvalidParameterValue", f"Invalid value '{name}' for InstanceType.")
        return itype

    def default_type(self, model: ModelInfo) -> InstanceType:
        if self.config.default_instance_type and self.config.default_instance_type in self.types:
            return self.types[self.config.default_instance_type]
        need = model.memory_needed(self.config.n_ctx, self.config.slots)
        gpu_ok = self.config.gpu_layers != 0
        candidates = sorted(self.types.values(), key=lambda t: (not (t.is_gpu and gpu_ok), t.gpu_memory or t.memory))
        for t in candidates:
            if (t.gpu_memory if t.is_gpu and gpu_ok else t.memory) >= need:
                return t
        return candidates[-1]

    def serving_type(self, model: ModelInfo) -> InstanceType:
        """On-demand serving instances get the biggest type (all host threads on CPU): decode speed matters there."""
        if self.config.default_instance_type and self.config.default_instance_type in self.types:
            return self.types[self.config.default_instance_type]
        if self.config.gpu_layers != 0 and any(t.is_gpu for t in self.types.values()):
            return self.default_type(model)
        return max(self.types.values(), key=lambda t: (not t.is_gpu, t.vcpus, t.memory))

    def _need(self, model: ModelInfo, itype: InstanceType, slots: int | None = None) -> tuple[int, int]:
        """(ram, vram) to reserve: on a GPU type with offload, weights and KV cache go to VRAM."""
        slots = slots or self.config.slots
        need = model.memory_needed(self.config.n_ctx, slots)
        if itype.is_gpu and self.config.gpu_layers != 0:
            # Each slot holds its own context (and on GPU, its own copy of the offloaded weights).
            vram = need + model.size_bytes * (slots - 1)
            return 64 * 1024 * 1024, vram
        return need, 0

    def _reserve(self, inst: Instance, model: ModelInfo) -> None:
        itype = self.instance_type(inst.instance_type)
        ram, vram = self._need(model, itype, 1 if inst.job is not None else None)  # job instances run one slot
        limit = itype.gpu_memory if vram else itype.memory
        if (vram or ram) > limit:
            raise LaunchError("InsufficientInstanceCapacity",
                              f"Insufficient capacity: model {model.name} needs {(vram or ram) // (1024 * 1024)} MiB, "
                              f"more than instance type {itype.name} has ({limit // (1024 * 1024)} MiB).", 500)
        try:
            self.ledger.reserve(inst.instance_id, ram=ram, vram=vram, vcpus=itype.vcpus, gpu_index=itype.gpu_index)
        except InsufficientCapacity as exc:
            unit = "" if exc.resource == "vCPUs" else " bytes"
            raise LaunchError(
                "InsufficientInstanceCapacity",
                f"We currently do not have sufficient {itype.name} capacity in the Availability Zone you requested ({inst.availability_zone or self.region + 'a'}). "
                f"Our system will be working on provisioning additional capacity. ({exc.resource}: need {exc.needed}{unit}, {max(exc.free, 0)} free)",
                500,
            ) from None

    def _next_ip(self) -> str:
        self._ip_counter += 1
        return str(ipaddress.IPv4Address("172.31.0.0") + self._ip_counter + len(self.instances))

    # ----------------------------------------------------------- operations
    def find_client_token(self, token: str, region: str | None = None) -> list[Instance]:
        """The instances one RunInstances launched with ``token`` (in ``region``: tokens are regional)."""
        return sorted((i for i in self.instances.values() if token and i.client_token == token and (region is None or (i.region or self.region) == region)),
                      key=lambda i: i.ami_launch_index)

    def run(self, image_id: str, instance_type: str | None, count: int, min_count: int, user_data: str = "", tags: dict[str, str] | None = None,
            client_token: str = "", shutdown_behavior: str = "stop", on_demand: bool = False, requester: str = "",
            network: dict[str, Any] | None = None, region: str | None = None, disable_api_termination: bool = False) -> list[Instance]:
        """Launch ``count`` instances (at least ``min_count``) in ``region`` (default: the
        configured one); instances are regional as on AWS, the machine's capacity is shared."""
        model = self.store.get(image_id)
        if model is None:
            raise LaunchError("InvalidAMIID.NotFound", f"The image id '[{image_id}]' does not exist")
        if instance_type:
            itype = self.instance_type(instance_type)
            if itype.description == REMOTE_TYPE_DESCRIPTION and not model.remote_url:
                raise LaunchError("InvalidParameterCombination",
                                  f"The instance type {itype.name} serves attached remote servers; image {image_id} is a local model.")
        else:
            itype = self.serving_type(model) if on_demand else self.default_type(model)
        job: dict[str, Any] | None = None
        job_error = ""
        if user_data:
            try:
                job = job_of(base64.b64decode(user_data))
            except JobError as exc:
                job_error = str(exc)
            except ValueError:
                job_error = "UserData is not valid base64"
        reservation = "r-" + secrets.token_hex(9)[:17]
        launched: list[Instance] = []
        for index in range(count):
            inst = Instance(
                instance_id=new_instance_id(), image_id=model.image_id, model_name=model.name, instance_type=itype.name,
                reservation_id=reservation, launch_time=_now(), tags=dict(tags or {}), user_data=user_data, client_token=client_token,
                shutdown_behavior=shutdown_behavior, disable_api_termination=disable_api_termination, ami_launch_index=index, private_ip=self._next_ip(), job=job,
                on_demand=on_demand, availability_zone=f"{region or self.region}a", requester=requester, network=dict(network or {}),
            )
            try:
                self._reserve(inst, model)
            except LaunchError:
                if len(launched) >= min_count:
                    break  # MaxCount is best effort above MinCount, as EC2 does
                for done in launched:
                    self.ledger.release(done.instance_id)
                raise
            launched.append(inst)
        for inst in launched:
            self.instances[inst.instance_id] = inst
            inst.log(f"launching {inst.instance_id} ({itype.name}) from {model.image_id} ({model.name})")
            if job_error:
                inst.job_status = "failed"
                inst.log(f"invalid UserData: {job_error}")
                self._fail(inst, "Client.InvalidUserData", f"Client.InvalidUserData: {job_error}")
                continue
            self._boot(inst)
        self.save()
        return launched


    async def reset(self) -> None:
        """Forget every instance, as a new account has none (``POST /_emulator/reset``).

        Boots and jobs are cancelled without waiting for a model load to end, engines unloaded
        (requests in flight fail), reservations released, and instances.json rewritten so that
        a restart brings none back. Attached remote servers are the operator's set-up, not the
        account's: they come back as fresh running instances, as at start. The images (the
        model store) stay: they are what a new account sees."""
        for cancel in self._cancel.values():
            cancel.set()
        self._cancel.clear()
        tasks = list(self._tasks.values())
        self._tasks.clear()
        for task in tasks:
            task.cancel()
        for iid, inst in list(self.instances.items()):
            self._unload(iid)
            self.ledger.release(iid)
            # Requests holding the object (waiting for its load) see it terminated.
            self._set_state(inst, "terminated", reason=("Client.UserInitiatedShutdown", "Client.UserInitiatedShutdown: User initiated shutdown"))
            self._wake(iid)
        for iid in list(self.schedulers):  # none left, unless one outlived its instance
            self._unload(iid)
        self.instances.clear()
        self.ready.clear()
        self.remote_status.clear()
        self._remote_checked.clear()
        self._terminated_settings.clear()  # terminated settings attachments come back, as at a restart
        self._ip_counter = 10
        try:
            self._sync_attachments()
        except Exception:
            log.exception("cannot attach the remote servers")
        self.save()
        if tasks:
            # Cancelled tasks end at their next await (a load is not waited for): the reset
            # answers with no boot of the old instances still running.
            await asyncio.wait(tasks, timeout=5.0)

    def set_user_data(self, inst: Instance, raw: bytes) -> None:
        """ModifyInstanceAttribute userData (instance stopped): the new job runs at the next start."""
        try:
            job = job_of(raw) if raw else None  # plain user data (a script, cloud-config) is kept, not run
        except JobError as exc:
            raise LaunchError("InvalidParameterValue", f"UserData is not a valid job: {exc}") from None
        inst.user_data = base64.b64encode(raw).decode("ascii") if raw else ""
        inst.job = job
        inst.job_done = False
        inst.job_status = ""
        inst.log("user data replaced" + (f": {len(job['requests'])} request(s)" if job else ""))

    def get(self, iid: str) -> Instance | None:
        return self.instances.get(iid)

    def stop_instance(self, iid: str) -> tuple[str, str]:
        inst = self.instances[iid]
        previous = inst.state
        self.remote_status.pop(iid, None)
        if inst.state in ("pending", "running"):
            self._transition(inst, "stopping", "stopped", ("Client.UserInitiatedShutdown", "Client.UserInitiatedShutdown: User initiated shutdown"),
                             f"User initiated ({_gmt(_now())})")
        return previous, inst.state

    def start_instances(self, iids: list[str]) -> list[tuple[str, str]]:
        """StartInstances: all or nothing. Every stopped instance's capacity is reserved before any
        starts; when one does not fit, the reservations made are released and nothing changes."""
        stopped = list({iid: self.instances[iid] for iid in iids if self.instances[iid].state == "stopped"}.values())
        for inst in stopped:
            if inst.remote_url and not any(a.instance_id == inst.instance_id for a in self._attachments()):
                raise LaunchError("IncorrectInstanceState", f"The instance '{inst.instance_id}' is detached from its remote server and cannot be started.")
        reserved: list[str] = []
        try:
            for inst in stopped:
                if not inst.remote_url:
                    self._reserve(inst, self._model(inst))
                    reserved.append(inst.instance_id)
        except LaunchError:
            for iid in reserved:
                self.ledger.release(iid)
            raise
        return [self.start_instance(iid) for iid in iids]

    def start_instance(self, iid: str) -> tuple[str, str]:
        inst = self.instances[iid]
        previous = inst.state
        if inst.state == "stopped" and inst.remote_url:
            att = next((a for a in self._attachments() if a.instance_id == iid), None)
            if att is None:
                raise LaunchError("IncorrectInstanceState", f"The instance '{iid}' is detached from its remote server and cannot be started.")
            self._attach_up(inst, att)
            self.save()
        elif inst.state == "stopped":
            self._reserve(inst, self._model(inst))
            self._set_state(inst, "pending")
            inst.log("starting")
            if inst.job is not None and inst.job_status == "failed":
                inst.job_status = ""
            self._boot(inst)
            self.save()
        return previous, inst.state

    def reboot(self, iid: str) -> None:
        """RebootInstances: as on EC2 the instance stays ``running`` (a reboot only queues a
        request). An attached remote server is attached again (its health probed anew); a local
        model stays loaded, serving and running its job: there is no operating system to restart."""
        inst = self.instances[iid]
        if inst.state != "running":
            return
        inst.log("reboot requested")
        if inst.remote_url:
            att = next((a for a in self._attachments() if a.instance_id == iid), None)
            if att is not None:
                self._attach_up(inst, att)
        self.save()

    def terminate(self, iid: str) -> tuple[str, str]:
        inst = self.instances[iid]
        previous = inst.state
        if inst.state != "terminated":
            self._transition(inst, "shutting-down", "terminated", ("Client.UserInitiatedShutdown", "Client.UserInitiatedShutdown: User initiated shutdown"),
                             f"User initiated ({_gmt(_now())})")
        if inst.remote_url:
            # Terminating an attached server detaches it (a settings one until the next start).
            from emulator.compute.attach import detach

            self.remote_status.pop(iid, None)
            if inst.attach_source == "settings":
                self._terminated_settings.add(iid)
            else:
                detach(self.data_dir, self.store, iid)
        return previous, inst.state

    # ------------------------------------------------------------- serving
    def find_serving(self, model: ModelInfo) -> Instance | None:
        """The least busy running serving instance of the model (else a pending one)."""
        def load(inst: Instance) -> tuple[int, float]:
            sched = self.schedulers.get(inst.instance_id)
            if inst.state != "running" or sched is None:
                return (1, 0.0)
            return (0, (sched.active + sched.pool.waiting) / sched.pool.slots)

        candidates = [i for i in self.instances.values()
                      if i.image_id == model.image_id and i.job is None and i.state in ("pending", "running")]
        return min(candidates, key=load) if candidates else None

    async def serving_scheduler(self, model: ModelInfo | None = None, instance_id: str | None = None) -> tuple[Instance, Scheduler]:
        """A running serving instance's scheduler: the given instance, or one for the model (started on demand)."""
        if instance_id is not None:
            inst = self.instances.get(instance_id)
            if inst is None or inst.state in ("terminated", "shutting-down"):
                raise LookupError(instance_id)
            if inst.state in ("stopped", "stopping"):
                raise NotReady(f"Instance {instance_id} is {inst.state}.")
        else:
            assert model is not None
            async with self._on_demand_lock:
                inst = self.find_serving(model)
                if inst is None:
                    # An on-demand instance stopped for idleness is started again before a new one is launched.
                    stopped = [i for i in self.instances.values() if i.on_demand and i.image_id == model.image_id and i.state == "stopped"]
                    if stopped:
                        inst = max(stopped, key=lambda i: i.launch_time)
                        inst.log("request arrived: starting")
                        self.start_instance(inst.instance_id)
                if inst is None:
                    inst = self.run(model.image_id, None, 1, 1, tags={"emulator:on-demand": "true", "Name": f"on-demand {model.name}"}, on_demand=True)[0]
        ready = self.ready.get(inst.instance_id)
        if inst.state == "pending" and ready is not None:
            try:
                await asyncio.wait_for(ready.wait(), self.config.ready_wait)
            except TimeoutError:
                raise NotReady(f"Model is still loading on instance {inst.instance_id}.") from None
        sched = self.schedulers.get(inst.instance_id)
        if sched is None and (inst.state_reason or {}).get("Code") == "Server.InternalError":
            # The model failed to load (bad file, unreachable remote server): not worth a retry loop.
            raise LaunchError("Server.InternalError", (inst.state_reason or {}).get("Message", "the model failed to load"), 500)
        if sched is None or inst.state != "running":
            reason = (inst.state_reason or {}).get("Message", "")
            raise NotReady(f"Instance {inst.instance_id} is {inst.state}. {reason}".strip())
        if inst.remote_url:
            status, detail = self.remote_status.get(inst.instance_id, ("initializing", ""))
            if status == "impaired":
                # Fail fast: the health probe already found the server down; no connect attempt, no hang.
                raise LaunchError("ServiceUnavailable", f"Instance {inst.instance_id} is impaired: the remote server "
                                  f"{inst.remote_url} does not answer ({detail}).", 503)
        sched.last_used = time.time()
        return inst, sched

    def health(self) -> dict[str, Any]:
        counts: dict[str, int] = {}
        for inst in self.instances.values():
            counts[inst.state] = counts.get(inst.state, 0) + 1
        return {
            "instances": counts,
            "serving": {iid: s.health() for iid, s in self.schedulers.items()},
            "ledger": self.ledger.health(),
        }
