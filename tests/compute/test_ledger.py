"""The resource ledger, instance types and settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from emulator.compute.config import ComputeConfig
from emulator.compute.ledger import InsufficientCapacity, Ledger
from emulator.compute.resources import detect_gpus, host, instance_types
from emulator.settings import load_settings


def test_reserve_and_release() -> None:
    ledger = Ledger(ram=1000, vcpus=4, vram={0: 500})
    ledger.reserve("a", ram=600, vcpus=2)
    with pytest.raises(InsufficientCapacity) as err:
        ledger.reserve("b", ram=500, vcpus=1)
    assert err.value.resource == "memory" and err.value.free == 400
    with pytest.raises(InsufficientCapacity):
        ledger.reserve("b", ram=100, vcpus=3)
    with pytest.raises(InsufficientCapacity):
        ledger.reserve("b", vram=501)
    ledger.reserve("b", ram=400, vram=500, vcpus=2)
    assert ledger.release("a") and not ledger.release("a")
    ledger.reserve("c", ram=600)
    h = ledger.health()
    assert h["ram"]["reserved_bytes"] == 1000 and h["gpus"]["0"]["reserved_bytes"] == 500


def test_reserve_is_idempotent_per_owner() -> None:
    ledger = Ledger(ram=100, vcpus=1)
    first = ledger.reserve("a", ram=100, vcpus=1)
    assert ledger.reserve("a", ram=100, vcpus=1) is first


def test_no_gpu_is_handled_cleanly() -> None:
    gpus, error = detect_gpus()
    if gpus:
        pytest.skip("this machine has a GPU")
    assert error  # a reason, not an exception
    types = instance_types()
    assert all(not t.is_gpu for t in types.values())
    assert "GpuInfo" not in types["c7i.large"].describe()


def test_instance_types_follow_the_host() -> None:
    h = host()
    types = instance_types()
    assert types["c7i.4xlarge"].vcpus == h.threads
    assert types["c7i.4xlarge"].memory == h.memory_total
    info = types["c7i.large"].describe()
    assert info["VCpuInfo"]["DefaultVCpus"] >= 1 and info["MemoryInfo"]["SizeInMiB"] > 0


def test_custom_instance_types() -> None:
    types = instance_types([{"name": "t3.nano", "vcpus": 1, "memory_mib": 256}])
    assert list(types) == ["t3.nano"] and types["t3.nano"].memory == 256 * 1024 * 1024


def test_compute_settings_from_toml_keys_and_environment() -> None:
    settings = load_settings({"compute_slots": 3, "compute_queue": 5})
    cfg = ComputeConfig.from_settings(settings, environ={"EMULATOR_COMPUTE_QUEUE": "1", "EMULATOR_COMPUTE_RAM_BYTES": "1000"})
    assert (cfg.slots, cfg.queue, cfg.ram_bytes) == (3, 1, 1000)


def test_gpu_types_are_shares_of_detected_vram(monkeypatch: pytest.MonkeyPatch) -> None:
    from emulator.compute import resources
    from emulator.compute.resources import Gpu, Host

    gib = 1024**3
    fake = Host(cores=16, threads=32, memory_total=128 * gib, gpus=[Gpu(0, "NVIDIA H200", 140 * gib, 1 * gib)])
    monkeypatch.setattr(resources, "_HOST", fake)
    types = instance_types()
    assert {"g6.xlarge", "g6.2xlarge", "g6.4xlarge"} <= set(types)
    info = types["g6.2xlarge"].describe()
    assert info["GpuInfo"]["Gpus"][0]["Name"] == "NVIDIA H200"
    assert info["GpuInfo"]["TotalGpuMemoryInMiB"] == 70 * 1024
    assert "GpuInfo" not in types["c7i.4xlarge"].describe()


def test_gpu_instances_reserve_vram(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from emulator.compute import resources
    from emulator.compute.instances import InstanceManager
    from emulator.compute.models import ModelStore, install_default
    from emulator.compute.resources import Gpu, Host

    from .conftest import model_path

    model_path()
    gib = 1024**3
    monkeypatch.setattr(resources, "_HOST", Host(cores=2, threads=2, memory_total=8 * gib, gpus=[Gpu(0, "Test GPU", 1 * gib, 0)]))
    install_default(tmp_path / "models")
    store = ModelStore(tmp_path / "models")
    model = store.list()[0]
    ledger = Ledger(ram=8 * gib, vcpus=8, vram={0: 1 * gib})
    manager = InstanceManager(tmp_path, store, ledger, ComputeConfig(n_ctx=512, slots=1), "us-east-1", "http://127.0.0.1:1")
    itype = manager.types["g6.xlarge"]  # a quarter of 1 GiB
    ram, vram = manager._need(model, itype)
    assert vram > model.size_bytes and ram < vram
    assert manager.default_type(model).is_gpu  # GPU types come first when layers are offloaded
