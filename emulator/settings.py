"""One settings object, filled from (lowest to highest precedence) defaults,
an optional TOML file, ``EMULATOR_*`` environment variables and CLI flags."""

from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_type_hints

# Services served natively when present in emulator.handlers; everything else falls back to moto.
ALL_SERVICES = ("dynamodb", "dynamodbstreams", "ec2", "bedrock", "bedrock-runtime", "cloudwatch", "logs", "iam")


@dataclass
class Settings:
    host: str = "127.0.0.1"
    port: int = 4566
    data_dir: Path = Path(".emulator-data")
    region: str = "us-east-1"
    account_id: str = "000000000000"
    services: list[str] = field(default_factory=lambda: list(ALL_SERVICES))
    fallback: bool = True  # serve non-native services through moto
    # Save moto's state (S3 objects, SQS queues...) in data_dir/fallback, so that it survives a
    # restart (emulator/gateway/fallback_state.py); False keeps it in memory only.
    fallback_persistence: bool = True
    auth: bool = True  # verify SigV4 signatures
    root_access_key_id: str | None = None
    root_secret_access_key: str | None = None
    max_body_bytes: int = 64 * 1024 * 1024
    access_log: bool = True
    # Copy the audit log (data_dir/audit.log, always written) to CloudWatch Logs, group
    # /emulator/audit (emulator/gateway/audit.py); the pytest plugin's server turns it off.
    audit_to_logs: bool = True
    # Size-capped rotation of data_dir/access.log and audit.log (emulator/gateway/access_log.py
    # Rotation): past log_max_bytes, X -> X.1 ... X.<log_backups>, the oldest dropped; 0 = never.
    log_max_bytes: int = 100 * 1024 * 1024
    log_backups: int = 5
    log_level: str = "info"
    # DynamoDB storage: "sqlite" (embedded, in data_dir) or a postgresql:// URL.
    storage: str = "sqlite"
    sqlite_synchronous: str = "FULL"  # FULL (default) or NORMAL (explicit opt-in)
    # Compute
    models_dir: Path = Path("models")
    gpu_layers: int = -1
    # Monitoring
    telemetry: bool = True
    redis: str | None = None
    # Cluster (emulator/cluster): one role per process; None serves everything in one process.
    role: str | None = None  # gateway | dynamodb | compute | monitoring
    peers: list[str] = field(default_factory=list)  # gateway: static "ROLE=http://host:port" entries
    gateway_url: list[str] = field(default_factory=list)  # roles: the gateway(s) to register with
    advertise_url: str | None = None  # roles: the URL the gateway reaches this process at
    cluster_secret: str | None = None  # the shared internal credential key (else <data_dir>/cluster.key)
    heartbeat_interval: float = 2.0
    health_interval: float = 2.0
    forward_timeout: float = 600.0
    config_file: Path | None = None
    # Network safety (issue: security): optional TLS, header limit, slow-client timeout.
    tls_cert: Path | None = None
    tls_key: Path | None = None
    tls_self_signed: bool = False
    max_header_bytes: int = 64 * 1024
    body_timeout: float = 60.0
    # CORS (emulator/gateway/cors.py): the origins browsers may call the services but S3 from
    # ("*": any; entries may hold one "*" wildcard, e.g. "https://*.example.com"). S3 follows
    # each bucket's CORS configuration.
    cors_origins: list[str] = field(default_factory=lambda: ["*"])
    extra: dict[str, Any] = field(default_factory=dict)
    # The settings given by the TOML file, the environment or the CLI (load_settings), as
    # opposed to defaults: ``serve`` falls back to the bundled model only when models_dir is not.
    given: frozenset[str] = field(default=frozenset(), repr=False, compare=False)

    def __post_init__(self) -> None:
        for name in ("log_max_bytes", "log_backups"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")

    @property
    def endpoint(self) -> str:
        scheme = "https" if self.tls_cert or self.tls_self_signed else "http"
        return f"{scheme}://{self.host}:{self.port}"

    def ensure_dirs(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)


# The data dir's lock file: ``emulator serve`` holds an exclusive flock on it for its whole life
# (lock_data_dir), with its pid written in it, so that a second server on the same data dir
# refuses to start (each would keep its own copy of moto's state and of the caches in memory and
# overwrite the other's files), and ``emulator backup restore`` refuses a data dir in use
# (emulator/dynamodb/cli.py server_holds). The kernel drops the lock when the process dies, even
# by SIGKILL. The roles of a cluster (docker-compose.yml, tests/cluster) each have their own data
# dir, so they take it too.
LOCK_FILE = ".emulator.lock"
_held_locks: dict[Path, Any] = {}  # data dir -> the open lock file (kept open: the lock lives with it)


class DataDirInUse(Exception):
    def __init__(self, data_dir: Path, pid: int | None) -> None:
        self.data_dir, self.pid = data_dir, pid
        owner = f" (pid {pid})" if pid else ""
        super().__init__(f"data dir {data_dir} is in use by another emulator process{owner}")


def lock_data_dir(data_dir: Path) -> None:
    """Take the data dir for this process (creating the dir), or raise DataDirInUse."""
    import fcntl

    data_dir = Path(data_dir).resolve()
    if data_dir in _held_locks:
        return
    data_dir.mkdir(parents=True, exist_ok=True)
    fh = open(data_dir / LOCK_FILE, "a+", encoding="ascii")  # noqa: SIM115 - held open while the process lives
    try:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        fh.seek(0)
        text = fh.read().strip()
        fh.close()
        raise DataDirInUse(data_dir, int(text) if text.isdigit() else None) from None
    except OSError:
        fh.close()  # a file system without flock: nothing to hold
        return
    fh.truncate(0)
    fh.write(str(os.getpid()))
    fh.flush()
    _held_locks[data_dir] = fh


def _coerce(value: Any, typ: Any) -> Any:
    text = str(typ)
    if isinstance(value, str):
        if typ is bool or text == "bool":
            return value.strip().lower() in ("1", "true", "yes", "on")
        if typ is int or text == "int":
            return int(value)
        if typ is float or text == "float":
            return float(value)
        if "Path" in text:
            return Path(value)
        if "list" in text:
            return [v.strip() for v in value.split(",") if v.strip()]
    if "Path" in text and isinstance(value, str | os.PathLike):
        return Path(value)
    return value


def load_settings(overrides: dict[str, Any] | None = None, environ: dict[str, str] | None = None) -> Settings:
    env = os.environ if environ is None else environ
    overrides = {k: v for k, v in (overrides or {}).items() if v is not None}
    hints = get_type_hints(Settings)
    names = {f.name for f in dataclasses.fields(Settings)} - {"given"}
    values: dict[str, Any] = {}

    config_file = overrides.get("config_file") or env.get("EMULATOR_CONFIG_FILE")
    extra: dict[str, Any] = {}
    if config_file:
        with open(config_file, "rb") as fh:
            data = tomllib.load(fh)
        data = data.get("emulator", data)
        for key, value in data.items():
            key = key.replace("-", "_")
            if key in names:
                values[key] = _coerce(value, hints[key])
            else:
                extra[key] = value
    for key in names:
        env_value = env.get("EMULATOR_" + key.upper())
        if env_value is not None:
            values[key] = _coerce(env_value, hints[key])
    for key, value in overrides.items():
        if key in names:
            values[key] = _coerce(value, hints[key])
        else:
            extra[key] = value
    settings = Settings(**values, given=frozenset(values))
    settings.extra.update(extra)
    return settings
