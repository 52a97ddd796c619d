"""Remote OpenAI-compatible servers attached as serving instances.

``emulator compute attach URL --model NAME`` (or ``[[emulator.compute_remote]]``
in the settings file, or ``EMULATOR_COMPUTE_REMOTE``) registers a server
(vLLM, llama.cpp's llama-server, another emulator's ``/v1``) as:

* an image: the remote model, in the model store's ``remote.json``, so Bedrock
  and OpenAI requests naming NAME resolve to it;
* a running serving instance of instance type ``inf2.xlarge`` (see
  REMOTE_INSTANCE_TYPE), listed in ``<data_dir>/compute/attached.json``, which
  a running server re-reads every second (the CLI never talks to the server).

The instance id is derived from (URL, model), so attaching the same server
twice is idempotent and a server attached from settings keeps its id across
restarts.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import urllib.parse
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from emulator.compute.models import ModelStore

# EC2 validates InstanceType against botocore's enum (so DescribeInstanceTypes and
# RunInstances would reject a made-up "remote.openai"). Inferentia2's smallest size is
# the real type whose purpose matches: a box that only serves inference.
REMOTE_INSTANCE_TYPE = "inf2.xlarge"


class AttachError(Exception):
    pass


@dataclass
class Attachment:
    instance_id: str
    url: str  # base URL of the OpenAI API, ending in /v1 for most servers
    model: str  # the name clients use here and the remote server's model name
    api_key: str = ""
    name: str = ""  # the Name tag
    created: float = 0.0
    source: str = "cli"  # "cli" (attached.json) or "settings"

    @property
    def label(self) -> str:
        return self.name or self.model


def attachment_id(url: str, model: str) -> str:
    return "i-" + hashlib.sha256(f"{url}\n{model}".encode()).hexdigest()[:17]


def normalize_url(url: str) -> str:
    """A bare ``http://host:port`` gets ``/v1`` (every OpenAI-compatible server serves there)."""
    url = url.strip().rstrip("/")
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise AttachError(f"not an http(s) URL: {url!r}")
    if not parts.path:
        url += "/v1"
    return url


def attach_file(data_dir: Path) -> Path:
    return Path(data_dir) / "compute" / "attached.json"


def read_attachments(data_dir: Path) -> list[Attachment]:
    try:
        data = json.loads(attach_file(data_dir).read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return []
    out = []
    for item in data.get("attachments", []):
        try:
            out.append(Attachment(**item))
        except TypeError:
            continue
    return out


def _write(data_dir: Path, items: list[Attachment]) -> None:
    path = attach_file(data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"attachments": [asdict(a) for a in items]}, indent=1), encoding="utf-8")
    os.replace(tmp, path)  # atomic: the server may be reading it


def register_model(store: ModelStore, att: Attachment) -> None:
    """The remote model as an image; a local GGUF of the same name would shadow it, so that is refused."""
    existing = store.get(att.model)
    if existing is not None and not existing.remote_url:
        raise AttachError(f"a local model named {att.model} exists; the attached model needs its own name")
    if existing is not None and existing.name == att.model and existing.remote_url == att.url and existing.remote_key == att.api_key:
        return
    store.add_remote(att.model, att.url, att.model, att.api_key)


def attach(data_dir: Path, store: ModelStore, url: str, model: str, api_key: str = "", name: str = "") -> Attachment:
    if not model:
        raise AttachError("--model is required")
    url = normalize_url(url)
    att = Attachment(attachment_id(url, model), url, model, api_key, name, time.time(), "cli")
    register_model(store, att)
    items = [a for a in read_attachments(data_dir) if a.instance_id != att.instance_id]
    items.append(att)
    _write(data_dir, items)
    return att


def detach(data_dir: Path, store: ModelStore, instance_id: str) -> Attachment | None:
    items = read_attachments(data_dir)
    found = next((a for a in items if a.instance_id == instance_id), None)
    if found is None:
        return None
    _write(data_dir, [a for a in items if a.instance_id != instance_id])
    if not any(a.model == found.model for a in items if a is not found):
        store.remove_remote(found.model)
    return found


def from_config(entries: list[dict[str, Any]] | Any) -> list[Attachment]:
    """``[[emulator.compute_remote]]`` tables: ``url``, ``model``, optional ``api_key`` and ``name``."""
    out: list[Attachment] = []
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict) or not entry.get("url") or not entry.get("model"):
            raise AttachError(f"compute_remote entries need url and model: {entry!r}")
        url = normalize_url(str(entry["url"]))
        model = str(entry["model"])
        out.append(Attachment(attachment_id(url, model), url, model, str(entry.get("api_key", "")), str(entry.get("name", "")),
                              0.0, "settings"))
    return out
