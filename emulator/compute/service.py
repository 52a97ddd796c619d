"""The compute service: model store, ledger, instances, shared by the EC2, Bedrock and OpenAI surfaces.

Registered once as ``runtime.components["compute"]``; whichever handler starts
first starts it, and it stops once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from emulator.compute.config import ComputeConfig
from emulator.compute.instances import InstanceManager
from emulator.compute.ledger import Ledger
from emulator.compute.models import ModelStore
from emulator.compute.resources import host

if TYPE_CHECKING:
    from emulator.runtime import Runtime


class ComputeService:
    def __init__(self, runtime: Runtime) -> None:
        settings = runtime.settings
        self.config = ComputeConfig.from_settings(settings)
        self.store = ModelStore(settings.models_dir)
        h = host()
        cfg = self.config
        ram = cfg.ram_bytes or int(h.memory_total * (1 - cfg.ram_reserve_fraction))
        vcpus = cfg.vcpus or max(1, int(h.threads * cfg.cpu_overcommit))
        vram = {g.index: g.memory_total for g in h.gpus}
        if cfg.vram_bytes:
            vram = {i: cfg.vram_bytes for i in (vram or {0: 0})} if h.gpus else {}
        self.ledger = Ledger(ram=ram, vcpus=vcpus, vram=vram)
        root = runtime.root_key
        self.manager = InstanceManager(settings.data_dir, self.store, self.ledger, cfg, settings.region, settings.endpoint,
                                       credentials=(root.access_key_id, root.secret_access_key))
        self._starts = 0

    async def start(self) -> None:
        self._starts += 1
        if self._starts == 1:
            await self.manager.start()

    async def stop(self) -> None:
        if self._starts > 0:
            self._starts = 0
            await self.manager.stop()

    def health(self) -> dict[str, Any]:
        h = host()
        return {
            "host": {"threads": h.threads, "memory_bytes": h.memory_total, "gpus": [g.__dict__ for g in h.gpus], "nvml": h.nvml_error or "ok"},
            "models": [m.name for m in self.store.list()],
            **self.manager.health(),
        }


def compute_service(runtime: Runtime) -> ComputeService:
    service = runtime.components.get("compute")
    if service is None:
        service = ComputeService(runtime)
        runtime.components["compute"] = service
    assert isinstance(service, ComputeService)
    return service
