"""What this machine has (cores, RAM, GPUs via NVML) and the instance types cut from it."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from typing import Any

import psutil

log = logging.getLogger("emulator.compute")

MIB = 1024 * 1024


@dataclass
class Gpu:
    index: int
    name: str
    memory_total: int
    memory_used: int
    manufacturer: str = "NVIDIA"


@dataclass
class Host:
    cores: int
    threads: int
    memory_total: int
    gpus: list[Gpu] = field(default_factory=list)
    cpu_model: str = ""
    nvml_error: str | None = None


def detect_gpus() -> tuple[list[Gpu], str | None]:
    """GPUs from NVML; no driver (or no GPU) is a normal, empty answer."""
    try:
        import pynvml
    except ImportError:
        return [], "nvidia-ml-py is not installed"
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError as exc:  # NVMLError_LibraryNotFound / DriverNotLoaded on CPU-only hosts
        return [], f"NVML unavailable: {exc}"
    try:
        gpus = []
        for i in range(pynvml.nvmlDeviceGetCount()):
            handle = pynvml.nvmlDeviceGetHandleByIndex(i)
            name = pynvml.nvmlDeviceGetName(handle)
            mem = pynvml.nvmlDeviceGetMemoryInfo(handle)
            gpus.append(Gpu(i, name.decode() if isinstance(name, bytes) else str(name), int(mem.total), int(mem.used)))
        return gpus, None
    except pynvml.NVMLError as exc:
        return [], f"NVML query failed: {exc}"
    finally:
        try:
            pynvml.nvmlShutdown()
        except pynvml.NVMLError:
            log.debug("nvmlShutdown failed", exc_info=True)


def gpu_memory_used() -> dict[int, int]:
    """Measured used bytes per GPU (for the ledger's reconciliation); {} without NVML."""
    gpus, _ = detect_gpus()
    return {g.index: g.memory_used for g in gpus}


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return ""


def cpu_flags() -> set[str]:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


_HOST: Host | None = None
GPU_FAMILIES = ("g6", "g6e", "g5", "g4dn", "g7", "g7e", "g5g", "g4ad")


def host() -> Host:
    global _HOST
    if _HOST is None:
        gpus, err = detect_gpus()
        _HOST = Host(
            cores=psutil.cpu_count(logical=False) or os.cpu_count() or 1,
            threads=psutil.cpu_count(logical=True) or os.cpu_count() or 1,
            memory_total=psutil.virtual_memory().total,
            gpus=gpus,
            cpu_model=_cpu_model(),
            nvml_error=err,
        )
    return _HOST


@dataclass
class InstanceType:
    name: str
    vcpus: int
    memory: int  # bytes of RAM
    gpu_memory: int = 0  # bytes of VRAM (a share of one GPU)
    gpu_count: int = 0
    gpu_name: str = ""
    gpu_index: int = 0
    description: str = ""

    @property
    def is_gpu(self) -> bool:
        return self.gpu_count > 0

    def describe(self) -> dict[str, Any]:
        """The botocore InstanceTypeInfo shape."""
        h = host()
        threads_per_core = max(1, h.threads // max(h.cores, 1))
        info: dict[str, Any] = {
            "InstanceType": self.name,
            "CurrentGeneration": True,
            "FreeTierEligible": False,
            "SupportedUsageClasses": ["on-demand"],
            "SupportedRootDeviceTypes": ["ebs"],
            "SupportedVirtualizationTypes": ["hvm"],
            "BareMetal": False,
            "Hypervisor": "nitro",
            "ProcessorInfo": {"SupportedArchitectures": ["x86_64" if os.uname().machine in ("x86_64", "AMD64") else "arm64"], "Manufacturer": h.cpu_model.split()[0] if h.cpu_model else ""},
            "VCpuInfo": {
                "DefaultVCpus": self.vcpus,
                "DefaultCores": max(1, self.vcpus // threads_per_core),
                "DefaultThreadsPerCore": threads_per_core if self.vcpus >= threads_per_core else 1,
                "ValidCores": [max(1, self.vcpus // threads_per_core)],
                "ValidThreadsPerCore": [1, threads_per_core] if threads_per_core > 1 else [1],
            },
            "MemoryInfo": {"SizeInMiB": self.memory // MIB},
            "InstanceStorageSupported": False,
            "EbsInfo": {"EbsOptimizedSupport": "default", "EncryptionSupport": "supported", "NvmeSupport": "required"},
            "NetworkInfo": {"NetworkPerformance": "Local", "MaximumNetworkInterfaces": 1, "Ipv4AddressesPerInterface": 1, "Ipv6Supported": False, "EnaSupport": "unsupported"},
            "PlacementGroupInfo": {"SupportedStrategies": []},
            "HibernationSupported": False,
            "BurstablePerformanceSupported": False,
            "DedicatedHostsSupported": False,
            "AutoRecoverySupported": False,
            "SupportedBootModes": ["uefi"],
        }
        if self.gpu_count:
            info["GpuInfo"] = {
                "Gpus": [{"Name": self.gpu_name, "Manufacturer": "NVIDIA", "Count": self.gpu_count, "MemoryInfo": {"SizeInMiB": self.gpu_memory // MIB}}],
                "TotalGpuMemoryInMiB": self.gpu_memory // MIB,
            }
        return info


def instance_types(custom: list[dict[str, Any]] | None = None) -> dict[str, InstanceType]:
    """Local types: CPU types as shares of cores/RAM, GPU types as shares of each GPU's VRAM.

    ``compute_instance_types`` in settings replaces them: a list of
    ``{name, vcpus, memory_mib, gpu_memory_mib?, gpu_index?}``.
    """
    h = host()
    types: dict[str, InstanceType] = {}
    if custom:
        for item in custom:
            gpu_mib = int(item.get("gpu_memory_mib", 0) or 0)
            idx = int(item.get("gpu_index", 0) or 0)
            gpu = h.gpus[idx] if idx < len(h.gpus) else None
            types[item["name"]] = InstanceType(
                name=item["name"], vcpus=int(item.get("vcpus", 1)), memory=int(item.get("memory_mib", 1024)) * MIB,
                gpu_memory=gpu_mib * MIB, gpu_count=1 if gpu_mib else 0, gpu_name=gpu.name if gpu else "", gpu_index=idx,
            )
        return types
    threads = h.threads
    mem = h.memory_total
    # Names are real EC2 type names (botocore validates InstanceType against its enum);
    # the figures are this host's. CPU-only "c7i": 1/8, 1/4, 1/2 and all of the host.
    for suffix, share in (("large", 8), ("xlarge", 4), ("2xlarge", 2), ("4xlarge", 1)):
        types[f"c7i.{suffix}"] = InstanceType(f"c7i.{suffix}", max(1, threads // share), mem // share, description=f"1/{share} of the host CPU and RAM")
    # GPU families (one per GPU): a quarter, a half and all of that GPU's VRAM.
    for gpu in h.gpus:
        family = GPU_FAMILIES[gpu.index % len(GPU_FAMILIES)]
        for suffix, share in (("xlarge", 4), ("2xlarge", 2), ("4xlarge", 1)):
            name = f"{family}.{suffix}"
            types[name] = InstanceType(
                name, max(1, threads // (share * 2)), mem // (share * 2), gpu_memory=gpu.memory_total // share,
                gpu_count=1, gpu_name=gpu.name, gpu_index=gpu.index, description=f"1/{share} of GPU {gpu.index} ({gpu.name})",
            )
    return types
