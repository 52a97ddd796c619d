"""The data dir failing under a running server or at its start: a save that fails leaves the
stores' memory as it was and answers an error (IAM's ServiceFailure), a damaged iam.json names
itself, a stray iam.tmp goes, and the housekeeping sees a database deleted under the server.
Saves are made to fail in-process (tests run as root: chmod stops nothing)."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from emulator.durable import RecordFile
from emulator.errors import AwsError
from emulator.gateway.iam_store import IamStore
from emulator.runtime import DataFiles


def _disk_full(*args: Any, **kwargs: Any) -> Any:
    raise OSError(errno.ENOSPC, "No space left on device")


def _iam_saves_fail(monkeypatch: pytest.MonkeyPatch) -> None:
    """The IAM store's saves (its iam.tmp) fail as on a full disk."""
    real_open = os.open

    def failing_open(path: Any, *args: Any, **kwargs: Any) -> int:
        if str(path).endswith("iam.tmp"):
            _disk_full()
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", failing_open)


def test_iam_change_whose_save_fails_is_not_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = IamStore(tmp_path)
    store.create_user("kept")
    store.put_user_policy("kept", "p", '{"Version": "2012-10-17", "Statement": []}')
    _iam_saves_fail(monkeypatch)
    with pytest.raises(AwsError) as refused:
        store.create_user("lost")
    assert refused.value.code == "ServiceFailure" and refused.value.status == 500
    assert "No space left on device" in refused.value.message
    assert refused.value.message.startswith("The request processing has failed because of an unknown error, exception or failure.")
    assert not store.has_user("lost")
    with pytest.raises(AwsError):
        store.delete_user_policy("kept", "p")  # a change in place, rolled back too
    assert store.user_policy_names("kept") == ["p"]
    assert not (tmp_path / "iam.tmp").exists()
    monkeypatch.undo()
    assert sorted(u["UserName"] for u in IamStore(tmp_path).list_users()) == ["kept"]


def test_iam_first_save_failing_leaves_an_empty_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = IamStore(tmp_path)
    monkeypatch.setattr(os, "replace", _disk_full)
    with pytest.raises(AwsError):
        store.create_user("lost")
    assert store.list_users() == []


def test_iam_store_damaged_or_left_mid_save(tmp_path: Path) -> None:
    (tmp_path / "iam.json").write_text('{"users": {')
    with pytest.raises(ValueError, match="iam.json"):
        IamStore(tmp_path)
    (tmp_path / "iam.json").write_text('{"users": {}}')
    (tmp_path / "iam.tmp").write_text('{"users"')  # kill -9 mid-save
    IamStore(tmp_path)
    assert not (tmp_path / "iam.tmp").exists()


def test_record_file_save_failing_leaves_what_is_on_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    records = RecordFile(tmp_path / "profiles.json", "profiles")
    records.save([{"id": "a", "tags": []}])
    monkeypatch.setattr(os, "replace", _disk_full)
    records.items()[0]["tags"] = [{"key": "k"}]  # changed in place, then saved: as the users do
    with pytest.raises(OSError):
        records.save(records.items())
    assert records.items() == [{"id": "a", "tags": []}]
    with pytest.raises(OSError):
        records.save([*records.items(), {"id": "b"}])
    assert [r["id"] for r in records.items()] == ["a"]
    assert [p.name for p in tmp_path.iterdir()] == ["profiles.json"]  # no temporary left


def test_data_files_deleted_while_running(tmp_path: Path) -> None:
    (tmp_path / "monitoring").mkdir()
    database = tmp_path / "dynamodb.sqlite3"
    database.write_bytes(b"x")
    (tmp_path / "monitoring" / "logs.db").write_bytes(b"x")
    (tmp_path / "iam.json").write_text("{}")
    files = DataFiles(tmp_path)
    assert files.check([]) == []
    (tmp_path / "iam.json").write_text("{}")  # replaced whole by a save: fine
    assert files.check([]) == []
    database.unlink()
    (tmp_path / "iam.json").unlink()
    found = files.check([str(tmp_path / "fallback" / "s3.db")])
    assert sorted(found) == sorted([
        f"{database}: deleted while the server runs",
        f"{tmp_path / 'iam.json'}: deleted while the server runs",
        f"{tmp_path / 'fallback' / 's3.db'}: deleted or replaced while the server runs",
    ])
    assert files.check([str(tmp_path / "fallback" / "s3.db")]) == []  # said once
    assert len(files.problems) == 3


def test_serve_names_a_damaged_iam_store(tmp_path: Path) -> None:
    (tmp_path / "iam.json").write_text('{"users": {"a": ')
    env = {**os.environ, "EMULATOR_ROOT_ACCESS_KEY_ID": "AKIAQAQAQAQAQAQAQAQA", "EMULATOR_ROOT_SECRET_ACCESS_KEY": "qa-secret-qa-secret-qa-secret-qa-secret1"}
    done = subprocess.run([sys.executable, "-m", "emulator", "serve", "--port", "0", "--data-dir", str(tmp_path)],
                          check=False, capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 2, done.stderr[-2000:]
    assert "Traceback" not in done.stderr, done.stderr[-2000:]
    assert "iam.json" in done.stderr and "emulator: error:" in done.stderr


def test_iam_rename_whose_save_fails_leaves_the_user_and_keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from emulator.gateway.keys import KeyStore

    store, keys = IamStore(tmp_path), KeyStore(tmp_path)
    store.create_user("old")
    renames: list[tuple[str, str]] = []
    monkeypatch.setattr(keys, "rename_user", lambda a, b: renames.append((a, b)))
    _iam_saves_fail(monkeypatch)
    with pytest.raises(AwsError):
        store.update_user("old", "new", None, keys)
    assert store.has_user("old") and not store.has_user("new")
    assert renames == [("old", "new"), ("new", "old")]
