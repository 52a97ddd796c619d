"""The model store: GGUF metadata, stable AMI ids, install-default and the models CLI."""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from emulator.compute.gguf import GGUFError, read_metadata
from emulator.compute.models import ModelStore, ami_id, info_from_gguf, install_default

from .conftest import MODEL_ID, model_path


def test_gguf_metadata_of_smollm2() -> None:
    meta = read_metadata(model_path())
    assert meta["general.architecture"] == "llama"
    assert meta["llama.block_count"] == 30
    assert meta["llama.embedding_length"] == 576
    assert meta["llama.attention.head_count_kv"] == 3
    assert meta["tokenizer.ggml.tokens"] == {"array_length": 49152}  # large arrays are summarised


def test_model_info_and_memory_estimate() -> None:
    info = info_from_gguf(model_path())
    assert (info.family, info.quantization, info.parameters, info.context_length) == ("smollm2", "Q4_1", "135M", 8192)
    assert info.model_id == MODEL_ID
    # K and V, f16, per layer: 2 * 30 layers * 512 ctx * (576 / 9 * 3) * 2 bytes
    assert info.kv_cache_bytes(512, 1) == 2 * 30 * 512 * 192 * 2
    assert info.kv_cache_bytes(512, 2) == 2 * info.kv_cache_bytes(512, 1)
    assert info.memory_needed(512, 1) > info.size_bytes


def _write_gguf(path: Path, kv: dict[str, object]) -> None:
    out = bytearray(b"GGUF" + struct.pack("<IQQ", 3, 0, len(kv)))
    for key, value in kv.items():
        raw = key.encode()
        out += struct.pack("<Q", len(raw)) + raw
        if isinstance(value, str):
            data = value.encode()
            out += struct.pack("<IQ", 8, len(data)) + data
        elif isinstance(value, int):
            out += struct.pack("<II", 4, value)
    path.write_bytes(bytes(out))


def test_gguf_reader_on_a_handmade_header(tmp_path: Path) -> None:
    path = tmp_path / "tiny-Q8_0.gguf"
    _write_gguf(path, {"general.architecture": "bert", "bert.block_count": 2, "general.file_type": 7, "bert.context_length": 128})
    info = info_from_gguf(path)
    assert (info.architecture, info.n_layers, info.quantization, info.context_length) == ("bert", 2, "Q8_0", 128)
    assert info.embeddings  # encoder models serve /v1/embeddings


def test_bad_files_are_refused(tmp_path: Path) -> None:
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"NOPE" + b"\0" * 20)
    with pytest.raises(GGUFError):
        read_metadata(bad)
    truncated = tmp_path / "cut.gguf"
    truncated.write_bytes(model_path().read_bytes()[:64])
    with pytest.raises(GGUFError):
        read_metadata(truncated)
    store = ModelStore(tmp_path)
    assert [m.name for m in store.list()] == []  # unreadable files are not images
    with pytest.raises(GGUFError):
        store.add(bad)


def test_ami_ids_are_stable_and_well_formed() -> None:
    assert ami_id("x") == ami_id("x") != ami_id("y")
    assert len(ami_id("x")) == len("ami-") + 17


def test_store_add_list_get(tmp_path: Path) -> None:
    store = ModelStore(tmp_path / "models")
    info = store.add(model_path(), name="smol")
    assert Path(info.path).is_symlink()
    assert [m.name for m in store.list()] == ["smol"]
    assert store.get(info.image_id) is not None and store.get("smol") is not None
    assert store.get("missing") is None
    with pytest.raises(GGUFError):
        store.add(Path(__file__), name="other")  # not a GGUF file
    copy_dir = ModelStore(tmp_path / "copies")
    assert not Path(copy_dir.add(model_path(), name="smol", copy=True).path).is_symlink()


def test_install_default_is_idempotent(tmp_path: Path) -> None:
    first = install_default(tmp_path)
    second = install_default(tmp_path)
    assert first == second and first.resolve() == model_path().resolve()


def test_models_cli(tmp_path: Path) -> None:
    env_dir = ["--models-dir", str(tmp_path)]
    run = [sys.executable, "-m", "emulator", "models"]
    out = subprocess.run([*run, *env_dir, "install-default"], capture_output=True, text=True, check=True)
    assert "installed" in out.stdout
    out = subprocess.run([*run, *env_dir, "add", str(model_path()), "--name", "second"], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout)["Name"] == "second"
    out = subprocess.run([*run, *env_dir, "list"], capture_output=True, text=True, check=True)
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert {r["Name"] for r in rows} == {"second", "SmolLM2-135M-Instruct.Q4_1"}
    assert all(r["ImageId"].startswith("ami-") and r["Quantization"] == "Q4_1" for r in rows)
    # The context an instance serves (compute_n_ctx, 2048 by default), beside the model's own.
    assert all(r["ContextLength"] == 2048 and r["TrainedContextLength"] == 8192 for r in rows)
    bad = subprocess.run([*run, *env_dir, "add", str(tmp_path / "nope.gguf")], capture_output=True, text=True, check=False)
    assert bad.returncode == 1 and "error" in bad.stderr


def test_install_default_fills_the_default_models_dir(tmp_path: Path) -> None:
    """`make install` runs `emulator models install-default` in a fresh clone, whose ./models
    holds no model: the model goes there (where `make run` serves it from), not to the data
    dir's models folder that serve falls back to when ./models stays empty."""
    env = {k: v for k, v in os.environ.items() if k != "EMULATOR_MODELS_DIR"}
    out = subprocess.run([sys.executable, "-m", "emulator", "models", "install-default"], cwd=tmp_path, env=env,
                         capture_output=True, text=True, check=True)
    assert "installed models/SmolLM2-135M-Instruct.Q4_1.gguf" in out.stdout
    assert (tmp_path / "models" / "SmolLM2-135M-Instruct.Q4_1.gguf").exists() and not (tmp_path / ".emulator-data").exists()


def test_compute_cli(tmp_path: Path) -> None:
    run = [sys.executable, "-m", "emulator", "compute"]
    types = [json.loads(line) for line in subprocess.run([*run, "types"], capture_output=True, text=True, check=True).stdout.splitlines()]
    assert {"c7i.large", "c7i.4xlarge"} <= {t["InstanceType"] for t in types}
    host = json.loads(subprocess.run([*run, "host"], capture_output=True, text=True, check=True).stdout)
    assert host["threads"] >= 1 and host["memory_bytes"] > 0
    out = subprocess.run([*run, "--data-dir", str(tmp_path), "instances"], capture_output=True, text=True, check=True)
    assert out.stdout == ""
