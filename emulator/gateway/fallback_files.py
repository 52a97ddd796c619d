"""The files of the fallback's snapshots: each package's database, opened, deleted, set aside.

A package's snapshot is ``<data_dir>/fallback/<package>.db`` (emulator/gateway/fallback_store.py,
with its WAL), or, in the format before, ``<package>.pickle`` (``LEGACY_SUFFIX``). A deletion
renames the database away first, so that a crash midway leaves none to load; a package that
can no longer be saved has its last snapshot set aside (``.stale-<ts>``), kept but not restored.
A mixin of FallbackState (emulator/gateway/fallback_state.py), apart from it because it is the
file system's side: names, renames and fsyncs.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from pathlib import Path

from emulator.gateway.fallback_leaves import LeafTable
from emulator.gateway.fallback_store import SUFFIX, PackageStore, files, fsync_dir

LEGACY_SUFFIX = ".pickle"


class SnapshotFiles:
    """FallbackState's databases and files (its fields are set by FallbackState.__init__)."""

    directory: Path
    _mutex: threading.Lock  # held for a whole snapshot: the databases, tables and blobs are used under it
    _stores: dict[str, PackageStore]
    _tables: dict[str, LeafTable]
    _legacy: set[str]

    def _store(self, package: str) -> PackageStore:
        store = self._stores.get(package)
        if store is None:
            if not self.directory.is_dir():
                self.directory.mkdir(parents=True, exist_ok=True)
                self._fsync(self.directory.parent)
            store = self._stores[package] = PackageStore(self.directory / f"{package}{SUFFIX}", package)
        return store

    def _close_store(self, package: str) -> None:
        store = self._stores.pop(package, None)
        if store is not None:
            with contextlib.suppress(Exception):
                store.close()

    def _delete_files(self, package: str) -> bool:
        """Delete a package's database (and an old-format file): renamed away first, so that
        a crash midway leaves no database to load (restore deletes what is left)."""
        self._close_store(package)
        removed = False
        path = self.directory / f"{package}{SUFFIX}"
        if path.exists():
            doomed = path.with_name(f"{path.name}.deleted")
            os.replace(path, doomed)
            self._fsync_dir()
            for extra in [*files(path)[1:], doomed]:  # a WAL left alone would be replayed into a new database
                with contextlib.suppress(FileNotFoundError):
                    extra.unlink()
            removed = True
        with contextlib.suppress(FileNotFoundError):
            (self.directory / f"{package}{LEGACY_SUFFIX}").unlink()
            removed = True
        return removed

    def _remove(self, package: str) -> None:
        self._tables.pop(package, None)
        self._legacy.discard(package)
        if self._delete_files(package):
            self._fsync_dir()

    def _set_aside(self, package: str) -> list[tuple[Path, Path]]:
        """A package that cannot be saved any more (its state cannot be pickled: not for a
        failing disk, which keeps the last snapshot): its last snapshot is out of date; it is
        kept (``.stale-<ts>``) but not restored. Returns the files moved (from, to)."""
        self._close_store(package)
        self._tables.pop(package, None)
        stamp = f"stale-{time.strftime('%Y%m%dT%H%M%S')}"
        moved: list[tuple[Path, Path]] = []
        for path in [*files(self.directory / f"{package}{SUFFIX}"), self.directory / f"{package}{LEGACY_SUFFIX}"]:
            if path.is_file():
                with contextlib.suppress(OSError):
                    aside = path.with_name(f"{path.name}.{stamp}")
                    os.replace(path, aside)
                    moved.append((path, aside))
        if moved:
            with contextlib.suppress(OSError):
                self._fsync_dir()
        return moved

    def _fsync_dir(self) -> None:
        self._fsync(self.directory)

    _fsync = staticmethod(fsync_dir)

