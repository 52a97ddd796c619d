"""``emulator backup create|restore``: an online snapshot of the whole data dir, restored into a stopped one."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from emulator.testing.server import EmulatorServer


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "emulator", "backup", *args], check=False, capture_output=True, text=True, timeout=120)


def test_backup_online_and_restore(tmp_path: Path) -> None:
    data = tmp_path / "data"
    snap = tmp_path / "snap"
    server = EmulatorServer(data_dir=data)
    server.start()
    try:
        ddb = server.client("dynamodb")
        ddb.create_table(
            TableName="cli-t",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        for i in range(50):
            ddb.put_item(TableName="cli-t", Item={"pk": {"S": f"k{i}"}})
        stop = threading.Event()

        def writer() -> None:  # the backup runs while writes continue
            client = server.client("dynamodb")
            i = 0
            while not stop.is_set():
                client.put_item(TableName="cli-t", Item={"pk": {"S": f"live{i}"}})
                i += 1

        t = threading.Thread(target=writer)
        t.start()
        try:
            out = cli("create", str(snap), "--data-dir", str(data))
        finally:
            stop.set()
            t.join(10)
        assert out.returncode == 0, out.stderr
        assert "backup [" in out.stderr and "100.0%" in out.stderr  # the progress bar
        assert (snap / "emulator-backup.json").is_file() and (snap / "dynamodb.sqlite3").is_file()
        # A running server holds the data dir: restore refuses.
        refused = cli("restore", str(snap), "--data-dir", str(data), "--force")
        assert refused.returncode == 1 and "running server" in refused.stderr
    finally:
        server.stop()
    # Into a fresh dir.
    fresh = tmp_path / "fresh"
    done = cli("restore", str(snap), "--data-dir", str(fresh))
    assert done.returncode == 0, done.stderr
    # Into the stopped, non-empty original: needs --force, which moves the old dir aside.
    assert cli("restore", str(snap), "--data-dir", str(data)).returncode == 1
    assert cli("restore", str(snap), "--data-dir", str(data), "--force").returncode == 0
    assert any(p.name.startswith("data.pre-restore-") for p in tmp_path.iterdir())
    for folder in (fresh, data):
        restored = EmulatorServer(data_dir=folder)
        restored.start()
        try:
            ddb: Any = restored.client("dynamodb")
            keys: set[str] = set()
            kwargs: dict[str, Any] = {"TableName": "cli-t"}
            while True:
                page = ddb.scan(**kwargs)
                keys.update(i["pk"]["S"] for i in page["Items"])
                if "LastEvaluatedKey" not in page:
                    break
                kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
            assert {f"k{i}" for i in range(50)} <= keys
            live = sorted(int(k[4:]) for k in keys if k.startswith("live"))
            assert live == list(range(len(live)))  # a consistent prefix of the concurrent writes
        finally:
            restored.cleanup()


def test_restore_refuses_non_backup(tmp_path: Path) -> None:
    out = cli("restore", str(tmp_path), "--data-dir", str(tmp_path / "d"))
    assert out.returncode == 1 and "not a backup" in out.stderr
