"""Size-capped rotation of data_dir/access.log and audit.log (emulator/gateway/access_log.py
``append_file`` with a ``Rotation``): X -> X.1 ... X.<backups> past log_max_bytes."""

from __future__ import annotations

import json
import multiprocessing
import os
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from emulator.cli import _settings_from, build_parser
from emulator.context import Principal, RequestContext
from emulator.gateway.access_log import AccessLog, Rotation, append_file
from emulator.gateway.audit import AuditLog
from emulator.protocols.base import Request, Response
from emulator.settings import load_settings
from emulator.testing.server import EmulatorServer

ROOT = Principal("AKIAROOT", "root", "arn:aws:iam::000000000000:root", "000000000000", True)


def _line(tag: str, width: int = 10) -> bytes:
    """A line of exactly ``width`` bytes, newline included."""
    return tag.ljust(width - 1, ".").encode() + b"\n"


def _names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# ------------------------------------------------------------------ append_file
def test_a_write_that_would_exceed_the_limit_rotates_first(tmp_path: Path) -> None:
    path = tmp_path / "x.log"
    rotation = Rotation(25, 3)
    append_file(path, _line("a"), 0o644, rotation)
    append_file(path, _line("b"), 0o644, rotation)  # 20 bytes: fits
    assert _names(tmp_path) == ["x.log"]
    append_file(path, _line("c"), 0o644, rotation)  # 30 > 25
    assert _names(tmp_path) == ["x.log", "x.log.1"]
    assert path.read_bytes() == _line("c")
    assert (tmp_path / "x.log.1").read_bytes() == _line("a") + _line("b")


def test_a_file_may_reach_the_limit_exactly(tmp_path: Path) -> None:
    path = tmp_path / "x.log"
    rotation = Rotation(30, 3)
    for tag in "abc":
        append_file(path, _line(tag), 0o644, rotation)
    assert _names(tmp_path) == ["x.log"] and path.stat().st_size == 30
    append_file(path, b"d\n", 0o644, rotation)  # one byte over would be 31
    assert path.read_bytes() == b"d\n"
    assert (tmp_path / "x.log.1").stat().st_size == 30


def test_backups_shift_and_the_oldest_is_dropped(tmp_path: Path) -> None:
    path = tmp_path / "x.log"
    rotation = Rotation(10, 2)
    for tag in "abcde":  # each line fills the file: every write after the first rotates
        append_file(path, _line(tag), 0o644, rotation)
    assert _names(tmp_path) == ["x.log", "x.log.1", "x.log.2"]
    assert path.read_bytes() == _line("e")
    assert (tmp_path / "x.log.1").read_bytes() == _line("d")
    assert (tmp_path / "x.log.2").read_bytes() == _line("c")


def test_backups_zero_keeps_no_old_file(tmp_path: Path) -> None:
    path = tmp_path / "x.log"
    rotation = Rotation(10, 0)
    for tag in "abc":
        append_file(path, _line(tag), 0o644, rotation)
    assert _names(tmp_path) == ["x.log"] and path.read_bytes() == _line("c")


def test_a_batch_larger_than_the_limit_is_written_whole_to_a_fresh_file(tmp_path: Path) -> None:
    path = tmp_path / "x.log"
    rotation = Rotation(25, 3)
    big = b"".join(_line(f"big{i}") for i in range(5))  # 50 bytes
    append_file(path, big, 0o644, rotation)  # an empty file takes it whole, no rotation
    assert _names(tmp_path) == ["x.log"] and path.read_bytes() == big
    append_file(path, _line("a"), 0o644, rotation)
    assert path.read_bytes() == _line("a") and (tmp_path / "x.log.1").read_bytes() == big
    append_file(path, big, 0o644, rotation)
    assert path.read_bytes() == big
    assert (tmp_path / "x.log.1").read_bytes() == _line("a") and (tmp_path / "x.log.2").read_bytes() == big


def test_max_bytes_zero_never_rotates(tmp_path: Path) -> None:
    path = tmp_path / "x.log"
    for i in range(50):
        append_file(path, _line(str(i)), 0o644, Rotation(0, 2))
    append_file(path, _line("none"), 0o644)  # no rotation object: the other callers' way
    assert _names(tmp_path) == ["x.log"] and path.stat().st_size == 510


def test_the_folder_is_made_when_missing(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "x.log"
    append_file(path, _line("a"), 0o600, Rotation(10, 1))
    append_file(path, _line("b"), 0o600, Rotation(10, 1))
    assert path.read_bytes() == _line("b") and path.with_name("x.log.1").read_bytes() == _line("a")


def test_negative_limits_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        Rotation(-1, 2)
    with pytest.raises(ValueError):
        Rotation(10, -1)
    with pytest.raises(ValueError, match="log_backups"):
        load_settings({"data_dir": tmp_path}, environ={"EMULATOR_LOG_BACKUPS": "-1"})


def _ctx(request_id: str) -> RequestContext:
    from emulator import services

    request = Request("POST", "/", "/", "", {}, b"{}", "10.0.0.7", request_id=request_id)
    ctx = RequestContext(request_id=request_id, request=request)
    ctx.principal = ROOT
    ctx.service_name = "dynamodb"
    ctx.operation = services.operation_model("dynamodb", "DescribeLimits")
    return ctx


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def test_rotated_files_keep_their_modes(tmp_path: Path) -> None:
    rotation = Rotation(1000, 2)  # an access line is ~230 bytes, an audit line ~420
    audit = AuditLog(tmp_path / "audit.log", rotation=rotation)
    access = AccessLog(tmp_path / "access.log", rotation)
    for i in range(12):
        records: list[Any] = [(_ctx(f"r{i}"), Response(200), 0.001, time.time())]
        audit.consume(records)
        access.consume(records)
    assert _names(tmp_path) == ["access.log", "access.log.1", "access.log.2", "audit.log", "audit.log.1", "audit.log.2"]
    for name in ("audit.log", "audit.log.1", "audit.log.2"):
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o600, name  # private, whatever the umask
    for name in ("access.log", "access.log.1", "access.log.2"):
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o644 & ~_umask(), name
    assert all((tmp_path / n).stat().st_size <= 1000 for n in _names(tmp_path))
    for name in ("access.log", "audit.log"):  # the last call is in the current file, whole lines only
        ids = [json.loads(line)["request_id"] for line in (tmp_path / name).read_text().splitlines()]
        assert ids[-1] == "r11"


def test_the_audit_log_takes_its_limits_from_the_runtimes_settings(tmp_path: Path) -> None:
    settings = load_settings({"data_dir": tmp_path}, environ={"EMULATOR_LOG_MAX_BYTES": "1234", "EMULATOR_LOG_BACKUPS": "7"})
    audit = AuditLog(tmp_path / "audit.log", SimpleNamespace(settings=settings, components={}))
    assert audit.rotation == Rotation(1234, 7)


def test_settings_from_env_toml_and_flags(tmp_path: Path) -> None:
    defaults = load_settings({}, environ={})
    assert (defaults.log_max_bytes, defaults.log_backups) == (100 * 1024 * 1024, 5)
    config = tmp_path / "emulator.toml"
    config.write_text("log_max_bytes = 4096\nlog_backups = 3\n")
    from_toml = load_settings({"config_file": config}, environ={})
    assert (from_toml.log_max_bytes, from_toml.log_backups) == (4096, 3)
    from_env = load_settings({}, environ={"EMULATOR_LOG_MAX_BYTES": "0", "EMULATOR_LOG_BACKUPS": "1"})
    assert (from_env.log_max_bytes, from_env.log_backups) == (0, 1)
    args = build_parser().parse_args(["serve", "--log-max-bytes", "999", "--log-backups", "4"])
    from_flags = _settings_from(args)
    assert (from_flags.log_max_bytes, from_flags.log_backups) == (999, 4)


# ------------------------------------------------------------------ several processes, one file
def _writer(path: str, name: str, batches: int) -> None:
    rotation = Rotation(3000, 1000)  # enough backups that nothing is dropped
    for b in range(batches):
        batch = "".join(json.dumps({"writer": name, "batch": b, "line": k, "pad": "x" * 40}) + "\n" for k in range(3))
        append_file(Path(path), batch.encode(), 0o644, rotation)


def test_processes_rotating_one_file_lose_no_line(tmp_path: Path) -> None:
    path = tmp_path / "access.log"
    ctx = multiprocessing.get_context("fork")
    writers = [ctx.Process(target=_writer, args=(str(path), f"w{i}", 300)) for i in range(4)]
    for p in writers:
        p.start()
    for p in writers:
        p.join(60)
        assert p.exitcode == 0
    seen: list[tuple[str, int, int]] = []
    files = [p for p in tmp_path.iterdir() if p.name.startswith("access.log")]
    assert len(files) > 10  # it did rotate, many times
    for f in files:
        for line in f.read_text().splitlines():
            record = json.loads(line)  # whole lines only
            seen.append((record["writer"], record["batch"], record["line"]))
        # The check and the write are not one atomic step across processes: writers that
        # checked the same file at once may each add their batch (~250 bytes), no more.
        assert f.stat().st_size <= 3000 + 3 * 250, f.name
    assert sorted(seen) == sorted((f"w{i}", b, k) for i in range(4) for b in range(300) for k in range(3))


# ------------------------------------------------------------------ through the wire
def test_the_servers_access_log_rotates(tmp_path: Path) -> None:
    server = EmulatorServer(data_dir=tmp_path, env={"EMULATOR_LOG_MAX_BYTES": "20000", "EMULATOR_LOG_BACKUPS": "2"}, extra_args=["--services", "dynamodb"]).start()
    try:
        client = server.client("dynamodb")
        ids = [client.list_tables()["ResponseMetadata"]["RequestId"] for _ in range(400)]
        path = tmp_path / "access.log"
        deadline = time.time() + 10
        while time.time() < deadline and ids[-1] not in path.read_text():  # the recorder's batches
            time.sleep(0.05)
        names = {p.name for p in tmp_path.iterdir()}
        assert {"access.log", "access.log.1", "access.log.2"} <= names
        assert "access.log.3" not in names
        assert {"audit.log", "audit.log.1", "audit.log.2"} <= names and "audit.log.3" not in names
        logged: list[str] = []
        for name in ("access.log.2", "access.log.1", "access.log"):
            text = (tmp_path / name).read_text()
            assert len(text.encode()) <= 20000, name
            logged += [json.loads(line)["request_id"] for line in text.splitlines()]
        current = {json.loads(line)["request_id"] for line in path.read_text().splitlines()}
        assert ids[-1] in current and ids[-2] in current
        assert ids[-60:] == [i for i in logged if i in set(ids)][-60:]  # the newest calls, in order, none lost
        for name in ("audit.log", "audit.log.1", "audit.log.2"):
            assert (tmp_path / name).stat().st_mode & 0o777 == 0o600, name
    finally:
        server.cleanup()
