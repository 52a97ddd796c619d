"""The resource ledger: VRAM per GPU, RAM and vCPUs, reserved by instances.

RunInstances reserves what an instance's model needs (weights + KV cache) and
is refused with InsufficientInstanceCapacity when it does not fit; stop and
terminate release. NVML's measured GPU memory is reconciled against the
reservations in ``health()`` so drift (another process on the GPU) is visible.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from emulator.compute.resources import gpu_memory_used


@dataclass
class Reservation:
    owner: str
    ram: int = 0
    vram: int = 0
    vcpus: int = 0
    gpu_index: int = 0


class InsufficientCapacity(Exception):
    def __init__(self, resource: str, needed: int, free: int) -> None:
        super().__init__(f"{resource}: needed {needed}, free {free}")
        self.resource = resource
        self.needed = needed
        self.free = free


@dataclass
class Ledger:
    ram: int
    vcpus: int
    vram: dict[int, int] = field(default_factory=dict)  # GPU index -> capacity bytes
    _reservations: dict[str, Reservation] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def used(self) -> tuple[int, int, dict[int, int]]:
        ram = sum(r.ram for r in self._reservations.values())
        vcpus = sum(r.vcpus for r in self._reservations.values())
        vram: dict[int, int] = {}
        for r in self._reservations.values():
            if r.vram:
                vram[r.gpu_index] = vram.get(r.gpu_index, 0) + r.vram
        return ram, vcpus, vram

    def reserve(self, owner: str, ram: int = 0, vram: int = 0, vcpus: int = 0, gpu_index: int = 0) -> Reservation:
        with self._lock:
            if owner in self._reservations:
                return self._reservations[owner]
            used_ram, used_vcpus, used_vram = self.used()
            if ram > self.ram - used_ram:
                raise InsufficientCapacity("memory", ram, self.ram - used_ram)
            if vcpus > self.vcpus - used_vcpus:
                raise InsufficientCapacity("vCPUs", vcpus, self.vcpus - used_vcpus)
            if vram:
                cap = self.vram.get(gpu_index, 0)
                free = cap - used_vram.get(gpu_index, 0)
                if vram > free:
                    raise InsufficientCapacity(f"GPU {gpu_index} memory", vram, free)
            res = Reservation(owner, ram, vram, vcpus, gpu_index)
            self._reservations[owner] = res
            return res

    def release(self, owner: str) -> bool:
        with self._lock:
            return self._reservations.pop(owner, None) is not None

    def holds(self, owner: str) -> bool:
        return owner in self._reservations

    def health(self) -> dict[str, Any]:
        used_ram, used_vcpus, used_vram = self.used()
        measured = gpu_memory_used() if self.vram else {}
        gpus = {
            str(i): {"capacity_bytes": cap, "reserved_bytes": used_vram.get(i, 0), "measured_used_bytes": measured.get(i),
                     # measured - reserved: memory held by something the ledger does not know about (or freed early)
                     "unaccounted_bytes": (measured[i] - used_vram.get(i, 0)) if i in measured else None}
            for i, cap in self.vram.items()
        }
        return {
            "ram": {"capacity_bytes": self.ram, "reserved_bytes": used_ram},
            "vcpus": {"capacity": self.vcpus, "reserved": used_vcpus},
            "gpus": gpus,
            "reservations": {r.owner: {"ram": r.ram, "vram": r.vram, "vcpus": r.vcpus, "gpu": r.gpu_index} for r in self._reservations.values()},
        }
