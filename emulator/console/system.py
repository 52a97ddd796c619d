"""Host figures for the overview gauges: psutil always, NVML when a GPU is present."""

from __future__ import annotations

import threading
import time
from typing import Any

import psutil

_nvml_lock = threading.Lock()
_nvml_state: dict[str, Any] = {"tried": False, "ok": False, "mod": None}


def _nvml() -> Any:
    with _nvml_lock:
        if not _nvml_state["tried"]:
            _nvml_state["tried"] = True
            try:
                import pynvml

                pynvml.nvmlInit()
                _nvml_state.update(ok=True, mod=pynvml)
            except Exception:  # noqa: BLE001 - no driver / no GPU (NVMLError, OSError, ImportError): CPU-only host
                _nvml_state["ok"] = False
        return _nvml_state["mod"] if _nvml_state["ok"] else None


def gpus() -> list[dict[str, Any]]:
    nvml = _nvml()
    if nvml is None:
        return []
    out = []
    try:
        for i in range(nvml.nvmlDeviceGetCount()):
            handle = nvml.nvmlDeviceGetHandleByIndex(i)
            mem = nvml.nvmlDeviceGetMemoryInfo(handle)
            util = nvml.nvmlDeviceGetUtilizationRates(handle)
            name = nvml.nvmlDeviceGetName(handle)
            out.append(
                {
                    "index": i,
                    "name": name.decode() if isinstance(name, bytes) else str(name),
                    "util_percent": float(util.gpu),
                    "vram_used": int(mem.used),
                    "vram_total": int(mem.total),
                    "vram_percent": round(100.0 * mem.used / mem.total, 1) if mem.total else 0.0,
                }
            )
    except Exception:  # noqa: BLE001 - a GPU that vanished or a driver error: report what we have
        return out
    return out


def snapshot(requests_per_second: float) -> dict[str, Any]:
    mem = psutil.virtual_memory()
    g = gpus()
    return {
        "time": time.time(),
        "cpu_percent": psutil.cpu_percent(interval=None),
        "cpu_count": psutil.cpu_count() or 0,
        "ram_used": int(mem.total - mem.available),
        "ram_total": int(mem.total),
        "ram_percent": float(mem.percent),
        "gpus": g,
        "gpu_percent": max((x["util_percent"] for x in g), default=None),
        "vram_percent": max((x["vram_percent"] for x in g), default=None),
        "requests_per_second": round(requests_per_second, 2),
    }
