"""Booting, job running and teardown of local-model instances: BootOperations, mixed into
emulator.compute.instances.InstanceManager.

A boot loads the model into an engine behind a Scheduler; a job instance then runs its
UserData batch and stops or terminates per InstanceInitiatedShutdownBehavior. Stop,
terminate and failures go through ``_transition``/``_fail``: engine unloaded, ledger released.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from emulator.compute.config import ComputeConfig
from emulator.compute.engines import Engine, EngineError, create_engine
from emulator.compute.instance_state import Instance, LaunchError, _gmt, _now
from emulator.compute.jobs import JobError, run_job
from emulator.compute.ledger import Ledger
from emulator.compute.models import ModelInfo
from emulator.compute.resources import InstanceType, host
from emulator.compute.scheduler import Scheduler

log = logging.getLogger("emulator.compute")


class BootOperations:
    # The InstanceManager state these methods work on (set in its __init__).
    config: ComputeConfig
    ledger: Ledger
    region: str
    endpoint: str
    credentials: tuple[str, str] | None
    schedulers: dict[str, Scheduler]
    ready: dict[str, asyncio.Event]
    _tasks: dict[str, asyncio.Task[None]]
    _cancel: dict[str, threading.Event]
    _loop: asyncio.AbstractEventLoop | None
    save: Callable[[], None]
    _set_state: Callable[..., None]
    _model: Callable[[Instance], ModelInfo]
    instance_type: Callable[[str], InstanceType]

    def _fail(self, inst: Instance, code: str, message: str) -> None:
        self.ledger.release(inst.instance_id)
        self._unload(inst.instance_id)
        final = "terminated" if inst.shutdown_behavior == "terminate" else "stopped"
        self._set_state(inst, final, reason=(code, message), transition=f"Service initiated ({_gmt(_now())})")
        self.save()

    def _boot(self, inst: Instance) -> None:
        self.ready[inst.instance_id] = asyncio.Event()
        cancel = threading.Event()
        self._cancel[inst.instance_id] = cancel
        loop = self._loop or asyncio.get_event_loop()
        self._tasks[inst.instance_id] = loop.create_task(self._boot_task(inst, cancel))

    async def _boot_task(self, inst: Instance, cancel: threading.Event) -> None:
        iid = inst.instance_id
        try:
            model = self._model(inst)
            itype = self.instance_type(inst.instance_type)
            slots = self.config.slots if inst.job is None else 1
            # Threads per slot: the instance's cores shared by its slots, never oversubscribed.
            # llama.cpp's barriers spin; two busy slots with all cores each crawl on a small host.
            threads = self.config.n_threads or max(1, min(itype.vcpus, host().cores) // slots)
            engine: Engine = create_engine(model, slots=slots, n_ctx=self.config.n_ctx, n_threads=threads,
                                           gpu_layers=self.config.gpu_layers if itype.is_gpu else 0, extra_bufts=self.config.extra_bufts,
                                           timeout=self.config.request_timeout)
            inst.log(f"loading {model.name} ({model.quantization}, {model.parameters} parameters) with {engine.kind}")
            started = time.monotonic()
            load = asyncio.get_running_loop().run_in_executor(None, engine.load)
            try:
                await asyncio.shield(load)
            except asyncio.CancelledError:
                # Stopped, terminated or reset while loading: no one waits for the load (it cannot
                # be interrupted); what it loaded is freed when it ends.
                load.add_done_callback(lambda _: engine.unload())
                raise
            if cancel.is_set() or inst.state != "pending":
                engine.unload()
                return
            sched = Scheduler(engine, self.config.queue, self.config.request_timeout, iid)
            self.schedulers[iid] = sched
            inst.log(f"model loaded in {time.monotonic() - started:.2f}s; {engine.slots} slot(s)")
            self._set_state(inst, "running")
            self.save()
            self.ready[iid].set()
            if inst.job is not None and not inst.job_done:
                await self._run_job(inst, sched, cancel)
        except asyncio.CancelledError:
            raise
        except (EngineError, LaunchError, OSError) as exc:
            inst.log(f"launch failed: {exc}")
            self._fail(inst, "Server.InternalError", f"Server.InternalError: {exc}")
            self.ready.get(iid, asyncio.Event()).set()
        except Exception as exc:
            log.exception("instance %s failed", iid)
            inst.log(f"internal error: {exc}")
            self._fail(inst, "Server.InternalError", "Server.InternalError: Internal error on launch")
            self.ready.get(iid, asyncio.Event()).set()
        finally:
            self._tasks.pop(iid, None)

    async def _run_job(self, inst: Instance, sched: Scheduler, cancel: threading.Event) -> None:
        assert inst.job is not None
        inst.job_status = "running"
        self.save()
        try:
            summary = await run_job(inst, sched, inst.job, self._dynamodb_client, cancel)
        except JobError as exc:
            inst.job_status = "failed"
            inst.log(f"job failed: {exc}")
            self.save()
            self._shutdown_after_job(inst, ("Client.InvalidUserData", f"Client.InvalidUserData: {exc}"))
            return
        if cancel.is_set():
            return
        inst.job_status = "completed"
        inst.job_done = True
        inst.log(f"job completed: {summary}")
        self._shutdown_after_job(inst, ("Client.InstanceInitiatedShutdown", "Client.InstanceInitiatedShutdown: Instance initiated shutdown"))

    def _shutdown_after_job(self, inst: Instance, reason: tuple[str, str]) -> None:
        if inst.state != "running":
            return
        transition = f"Client.InstanceInitiatedShutdown ({_gmt(_now())})" if reason[0].endswith("InstanceInitiatedShutdown") else f"Service initiated ({_gmt(_now())})"
        if inst.shutdown_behavior == "terminate":
            self._transition(inst, "shutting-down", "terminated", reason, transition)
        else:
            self._transition(inst, "stopping", "stopped", reason, transition)

    def _dynamodb_client(self, region: str | None = None) -> Any:
        import boto3
        from botocore.config import Config

        key, secret = self.credentials or ("", "")
        return boto3.client("dynamodb", endpoint_url=self.endpoint, region_name=region or self.region, aws_access_key_id=key,
                            aws_secret_access_key=secret, config=Config(retries={"max_attempts": 3, "mode": "standard"}))

    def _unload(self, iid: str) -> None:
        sched = self.schedulers.pop(iid, None)
        if sched is None:
            return
        sched.shutdown()  # cancels queued work and flags running generations
        engine = sched.engine
        if sched.active:
            # Free the contexts only after the worker threads have left them (a context
            # closed under a decode would crash the process).
            def later() -> None:
                sched.executor.shutdown(wait=True)
                engine.unload()

            threading.Thread(target=later, name=f"unload-{iid}", daemon=True).start()
            return
        engine.unload()

    def _transition(self, inst: Instance, mid: str, final: str, reason: tuple[str, str] | None, transition: str) -> None:
        iid = inst.instance_id
        cancel = self._cancel.pop(iid, None)
        if cancel is not None:
            cancel.set()
        task = self._tasks.pop(iid, None)
        if task is not None and task is not asyncio.current_task():
            task.cancel()
        self._set_state(inst, mid, reason=reason, transition=transition)
        inst.log(f"{mid}")
        self._unload(iid)
        self.ledger.release(iid)
        self._wake(iid)
        self._set_state(inst, final, reason=reason, transition=transition)
        inst.log(final)
        self.save()

    def _wake(self, iid: str) -> None:
        """Requests waiting for the instance's model to load stop waiting (it never will): they
        find it stopped or terminated and fail at once, not after ``ready_wait``."""
        ready = self.ready.pop(iid, None)
        if ready is not None:
            ready.set()
