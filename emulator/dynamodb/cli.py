"""``emulator backup create PATH`` / ``emulator backup restore PATH``: whole-instance
backups of the data dir, for operators.

``create`` works online: every SQLite database is copied with SQLite's backup
API (a consistent snapshot while the server keeps writing), other files are
copied as they are. ``restore`` puts a backup into a data dir no server is
using (refused otherwise); with ``--force`` an existing data dir is first moved
aside to ``<data-dir>.pre-restore-<time>``.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import shutil
import sqlite3
import sys
import time
from pathlib import Path
from typing import Any

from emulator.cli import COMMANDS, _settings_from

MANIFEST = "emulator-backup.json"
SQLITE_MAGIC = b"SQLite format 3\x00"
SKIP_SUFFIXES = ("-wal", "-shm", "-journal", ".tmp")
SKIP_NAMES = (".emulator.lock",)


class Progress:
    """A simple progress bar on stderr."""

    def __init__(self, total: int, label: str, stream: Any = None) -> None:
        self.total = max(total, 1)
        self.done = 0
        self.label = label
        self.stream = stream or sys.stderr
        self.last = -1.0

    def advance(self, amount: int, name: str = "") -> None:
        self.done += amount
        pct = min(100.0, 100.0 * self.done / self.total)
        if pct - self.last < 1 and pct < 100:
            return
        self.last = pct
        width = 30
        filled = int(width * pct / 100)
        self.stream.write(f"\r{self.label} [{'#' * filled}{'.' * (width - filled)}] {pct:5.1f}% {name[-40:]:<40}")
        self.stream.flush()

    def finish(self) -> None:
        self.advance(0)
        self.stream.write("\n")
        self.stream.flush()


def is_sqlite(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(16) == SQLITE_MAGIC
    except OSError:
        return False


def data_files(root: Path) -> list[Path]:
    out = []
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.name.endswith(SKIP_SUFFIXES) and path.name not in SKIP_NAMES and path.name != MANIFEST:
            out.append(path)
    return out


def server_holds(data_dir: Path) -> bool:
    """True when a running server uses the data dir (it holds a shared lock on
    .emulator.lock; as a fallback, any other process with a file open in it)."""
    lock = data_dir / ".emulator.lock"
    if lock.exists():
        with open(lock, "a") as fh:
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
    try:
        import psutil
    except ImportError:
        return False
    target = str(data_dir.resolve())
    for proc in psutil.process_iter(["pid"]):
        if proc.pid == os.getpid():
            continue
        with contextlib.suppress(psutil.Error, OSError):
            if any(f.path.startswith(target + os.sep) for f in proc.open_files()):
                return True
    return False


def backup_sqlite(src: Path, dst: Path, progress: Progress) -> None:
    source = sqlite3.connect(f"file:{src}?mode=ro", uri=True)
    target = sqlite3.connect(dst)
    size = src.stat().st_size
    pages_seen = [0]

    def step(status: int, remaining: int, total: int) -> None:
        done = total - remaining
        if total:
            progress.advance(int(size * (done - pages_seen[0]) / total), src.name)
        pages_seen[0] = done

    try:
        # One backup pass copies a consistent snapshot (restarting if a writer
        # changes pages in between, which SQLite handles itself).
        source.backup(target, pages=1024, progress=step)
    finally:
        target.close()
        source.close()


def create(data_dir: Path, dest: Path) -> int:
    if not data_dir.is_dir():
        print(f"emulator backup: no data dir at {data_dir}", file=sys.stderr)
        return 1
    if dest.exists() and any(dest.iterdir()):
        print(f"emulator backup: {dest} exists and is not empty", file=sys.stderr)
        return 1
    dest.mkdir(parents=True, exist_ok=True)
    files = data_files(data_dir)
    progress = Progress(sum(f.stat().st_size for f in files), "backup")
    entries = []
    for path in files:
        rel = path.relative_to(data_dir)
        out = dest / rel
        out.parent.mkdir(parents=True, exist_ok=True)
        if is_sqlite(path):
            backup_sqlite(path, out, progress)
            kind = "sqlite"
        else:
            shutil.copy2(path, out)
            progress.advance(path.stat().st_size, path.name)
            kind = "file"
        entries.append({"path": rel.as_posix(), "kind": kind, "bytes": out.stat().st_size})
    progress.finish()
    from emulator import __version__

    (dest / MANIFEST).write_text(json.dumps({"version": 1, "emulator": __version__, "created": time.time(), "source": str(data_dir.resolve()), "files": entries}, indent=1))
    print(f"backed up {len(entries)} files from {data_dir} to {dest}")
    return 0


def restore(data_dir: Path, src: Path, force: bool) -> int:
    manifest_path = src / MANIFEST
    if not manifest_path.is_file():
        print(f"emulator backup: {src} is not a backup made by `emulator backup create` (no {MANIFEST})", file=sys.stderr)
        return 1
    if data_dir.exists() and server_holds(data_dir):
        print(f"emulator backup: a running server is using {data_dir}; stop it first", file=sys.stderr)
        return 1
    if data_dir.exists() and any(data_dir.iterdir()):
        if not force:
            print(f"emulator backup: {data_dir} is not empty; use --force to move it aside and restore", file=sys.stderr)
            return 1
        aside = data_dir.with_name(f"{data_dir.name}.pre-restore-{time.strftime('%Y%m%d%H%M%S')}")
        data_dir.rename(aside)
        print(f"moved the current data dir to {aside}", file=sys.stderr)
    manifest = json.loads(manifest_path.read_text())
    entries = manifest.get("files") or []
    staging = data_dir.with_name(data_dir.name + ".restoring")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    progress = Progress(sum(int(e.get("bytes", 0)) for e in entries), "restore")
    for entry in entries:
        rel = Path(entry["path"])
        if rel.is_absolute() or ".." in rel.parts:
            print(f"emulator backup: bad path in manifest: {rel}", file=sys.stderr)
            return 1
        out = staging / rel
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src / rel, out)
        progress.advance(int(entry.get("bytes", 0)), rel.name)
    progress.finish()
    if data_dir.exists():
        data_dir.rmdir()  # empty (checked above)
    staging.rename(data_dir)
    print(f"restored {len(entries)} files from {src} into {data_dir}")
    return 0


def configure(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="backup_command", required=True)
    c = sub.add_parser("create", help="snapshot the whole data dir (online, consistent per database)")
    c.add_argument("path", help="backup folder to create")
    r = sub.add_parser("restore", help="restore a backup into a stopped data dir")
    r.add_argument("path", help="backup folder made by `emulator backup create`")
    r.add_argument("--force", action="store_true", help="move a non-empty data dir aside first")
    for q in (c, r):
        q.add_argument("--data-dir", dest="data_dir", default=argparse.SUPPRESS, help="data directory (default ./.emulator-data)")
        q.add_argument("--config", dest="config_file", default=argparse.SUPPRESS, help="TOML settings file")


def run(args: argparse.Namespace) -> int:
    ns = argparse.Namespace(**{k: v for k, v in vars(args).items() if k not in ("backup_command", "path", "force")})
    settings = _settings_from(ns)
    data_dir = Path(settings.data_dir)
    if args.backup_command == "create":
        return create(data_dir, Path(args.path))
    return restore(data_dir, Path(args.path), bool(args.force))


COMMANDS["backup"] = ("whole-instance backups of the data dir (create / restore)", configure, run)
