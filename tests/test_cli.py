"""The command line and the one Settings object: defaults < TOML file < EMULATOR_* env < flags."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

from emulator import __version__
from emulator.cli import _settings_from, build_parser
from emulator.gateway.keys import KeyStore
from emulator.settings import ALL_SERVICES, Settings, load_settings
from emulator.testing.server import EmulatorServer, free_port


def run_cli(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("EMULATOR_")}
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "emulator", *args], check=False, capture_output=True, text=True, env=full_env, cwd=cwd, timeout=120)


# --- settings -------------------------------------------------------------------------


def test_defaults() -> None:
    s = load_settings(environ={})
    assert (s.host, s.port, s.region, s.account_id) == ("127.0.0.1", 4566, "us-east-1", "000000000000")
    assert s.data_dir == Path(".emulator-data")
    assert s.services == list(ALL_SERVICES)
    assert s.auth is True and s.fallback is True
    assert s.endpoint == "http://127.0.0.1:4566"


def test_precedence_toml_env_flags(tmp_path: Path) -> None:
    cfg = tmp_path / "emulator.toml"
    cfg.write_text('[emulator]\nport = 5000\nregion = "eu-west-1"\nmax-body-bytes = 100\nservices = ["dynamodb"]\ncustom_thing = 7\n')
    s = load_settings({"config_file": str(cfg)}, environ={})
    assert (s.port, s.region, s.max_body_bytes, s.services) == (5000, "eu-west-1", 100, ["dynamodb"])
    assert s.extra["custom_thing"] == 7
    env = {"EMULATOR_PORT": "6000", "EMULATOR_AUTH": "false", "EMULATOR_SERVICES": "dynamodb, logs", "EMULATOR_DATA_DIR": str(tmp_path / "d")}
    s = load_settings({"config_file": str(cfg)}, environ=env)
    assert (s.port, s.region, s.auth, s.services, s.data_dir) == (6000, "eu-west-1", False, ["dynamodb", "logs"], tmp_path / "d")
    s = load_settings({"config_file": str(cfg), "port": 7000}, environ=env)
    assert s.port == 7000
    # The config file can also be named by the environment.
    s = load_settings(environ={"EMULATOR_CONFIG_FILE": str(cfg)})
    assert s.port == 5000


def test_toml_without_table(tmp_path: Path) -> None:
    cfg = tmp_path / "flat.toml"
    cfg.write_text('port = 5001\naccess_log = false\n')
    s = load_settings({"config_file": cfg}, environ={})
    assert s.port == 5001 and s.access_log is False


def test_cli_flags_become_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("EMULATOR_"):
            monkeypatch.delenv(name)
    args = build_parser().parse_args(
        ["serve", "--host", "0.0.0.0", "--port", "1234", "--data-dir", str(tmp_path), "--services", "dynamodb,logs", "--root-access-key-id", "AKIAPINNED0000000000", "--root-secret-access-key", "s3cr3t", "--no-auth"]
    )
    s: Settings = _settings_from(args)
    assert (s.host, s.port, s.data_dir, s.services, s.auth) == ("0.0.0.0", 1234, tmp_path, ["dynamodb", "logs"], False)
    assert (s.root_access_key_id, s.root_secret_access_key) == ("AKIAPINNED0000000000", "s3cr3t")
    args = build_parser().parse_args(["serve", "--services", "dynamodb", "logs"])
    assert _settings_from(args).services == ["dynamodb", "logs"]
    # Options given before or after the nested sub-command both count.
    args = build_parser().parse_args(["keys", "--data-dir", str(tmp_path / "a"), "list"])
    assert _settings_from(args).data_dir == tmp_path / "a"
    args = build_parser().parse_args(["keys", "list", "--data-dir", str(tmp_path / "b")])
    assert _settings_from(args).data_dir == tmp_path / "b"


def test_bad_env_value_is_reported() -> None:
    with pytest.raises(ValueError):
        load_settings(environ={"EMULATOR_PORT": "not-a-port"})


# --- the CLI as a program -------------------------------------------------------------


def test_version() -> None:
    out = run_cli("--version")
    assert out.returncode == 0
    assert out.stdout.strip() == f"emulator {__version__}"


def test_help_lists_commands() -> None:
    out = run_cli("--help")
    assert out.returncode == 0
    for word in ("serve", "keys"):
        assert word in out.stdout


def test_keys_create_list_delete(tmp_path: Path) -> None:
    data = tmp_path / "data"
    created = json.loads(run_cli("keys", "create", "--user", "bob", "--data-dir", str(data)).stdout)
    assert created["UserName"] == "bob"
    assert created["AccessKeyId"].startswith("AKIA") and len(created["AccessKeyId"]) == 20
    assert len(created["SecretAccessKey"]) == 40
    keys_file = data / "keys.json"
    assert stat.S_IMODE(keys_file.stat().st_mode) == 0o600
    listed = [json.loads(line) for line in run_cli("keys", "list", "--data-dir", str(data)).stdout.splitlines()]
    assert {"AccessKeyId": created["AccessKeyId"], "UserName": "bob", "Status": "Active"} in listed
    assert all("SecretAccessKey" not in k for k in listed)
    out = run_cli("keys", "delete", created["AccessKeyId"], "--data-dir", str(data))
    assert out.returncode == 0
    assert created["AccessKeyId"] not in run_cli("keys", "list", "--data-dir", str(data)).stdout
    out = run_cli("keys", "delete", created["AccessKeyId"], "--data-dir", str(data))
    assert out.returncode == 1
    assert "no such key" in out.stderr


def test_keys_use_env_data_dir(tmp_path: Path) -> None:
    out = run_cli("keys", "create", "--user", "carol", env={"EMULATOR_DATA_DIR": str(tmp_path / "envdata")})
    assert out.returncode == 0
    assert (tmp_path / "envdata" / "keys.json").exists()


def test_keys_config_file(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'data_dir = "{tmp_path / "fromtoml"}"\n')
    assert run_cli("keys", "create", "--config", str(cfg)).returncode == 0
    assert (tmp_path / "fromtoml" / "keys.json").exists()


def test_unknown_command_fails() -> None:
    out = run_cli("frobnicate")
    assert out.returncode == 2


def test_refuses_public_bind_without_auth(tmp_path: Path) -> None:
    out = run_cli("serve", "--host", "0.0.0.0", "--no-auth", "--data-dir", str(tmp_path), "--port", str(free_port()))
    assert out.returncode == 2
    assert "auth disabled" in out.stderr


# --- the root key ---------------------------------------------------------------------


def test_root_key_generated_once_and_private(tmp_path: Path) -> None:
    store = KeyStore(tmp_path)
    root = store.ensure_root()
    assert root.is_root and root.access_key_id.startswith("AKIA")
    assert stat.S_IMODE((tmp_path / "keys.json").stat().st_mode) == 0o600
    assert KeyStore(tmp_path).ensure_root().access_key_id == root.access_key_id  # stable across restarts
    pinned = KeyStore(tmp_path).ensure_root("AKIAPINNEDROOT000000", "pinned-secret")
    assert pinned.access_key_id == "AKIAPINNEDROOT000000"
    roots = [k for k in KeyStore(tmp_path).list() if k.is_root]
    assert [k.access_key_id for k in roots] == ["AKIAPINNEDROOT000000"]


def test_serve_prints_endpoint_and_generated_credentials(tmp_path: Path) -> None:
    """Without pinned credentials, `serve` generates a root key, prints it, and it works."""
    server = EmulatorServer(data_dir=tmp_path / "d", access_key="", secret_key="")
    server.env = {"EMULATOR_ROOT_ACCESS_KEY_ID": "", "EMULATOR_ROOT_SECRET_ACCESS_KEY": ""}
    with server:
        banner = server.log_path.read_text()
        assert f"serving on http://127.0.0.1:{server.port}" in banner
        key_id = banner.split("aws_access_key_id:", 1)[1].split()[0]
        secret = banner.split("aws_secret_access_key:", 1)[1].split()[0]
        stored = json.loads((tmp_path / "d" / "keys.json").read_text())["keys"]
        assert [k["access_key_id"] for k in stored if k["user_name"] == "root"] == [key_id]
        sts = boto3.client("sts", endpoint_url=server.endpoint, region_name="us-east-1", aws_access_key_id=key_id, aws_secret_access_key=secret, config=Config(retries={"max_attempts": 1}))
        assert sts.get_caller_identity()["Account"] == "000000000000"


def test_serve_flags_pin_root_key_and_account(tmp_path: Path) -> None:
    server = EmulatorServer(
        data_dir=tmp_path / "d",
        access_key="AKIAFLAGPINNED000000",
        secret_key="flag-secret",
        extra_args=["--root-access-key-id", "AKIAFLAGPINNED000000", "--root-secret-access-key", "flag-secret"],
        env={"EMULATOR_ROOT_ACCESS_KEY_ID": "", "EMULATOR_ROOT_SECRET_ACCESS_KEY": "", "EMULATOR_ACCOUNT_ID": "123412341234"},
    )
    with server:
        assert server.client("sts").get_caller_identity()["Account"] == "123412341234"
        url = server.client("sqs").create_queue(QueueName="acct")["QueueUrl"]
        assert "/123412341234/acct" in url


def test_bad_settings_exit_2(tmp_path: Path) -> None:
    out = run_cli("keys", "list", env={"EMULATOR_PORT": "nope"})
    assert out.returncode == 2
    assert "bad settings" in out.stderr
    bad = tmp_path / "bad.toml"
    bad.write_text("port = = 3")
    out = run_cli("keys", "list", "--config", str(bad))
    assert out.returncode == 2
    out = run_cli("keys", "list", "--config", str(tmp_path / "missing.toml"))
    assert out.returncode == 2
