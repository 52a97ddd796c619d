"""Restoring the fallback's snapshots into moto at start, and migrating the old format.

Each ``<package>.db`` (emulator/gateway/fallback_store.py) is loaded back into moto's
BackendDicts: its skeleton, then its leaves on first use (emulator/gateway/fallback_leaves.py),
the leaf table rebuilt from what loaded. A package whose snapshot names another package's
backends restores that package first (fallback_loading.Loading.owner). The format before
(``<package>.pickle``, a whole package in one pickle) is still loaded; FallbackState then writes
the package as a database at once and deletes the old file. An unreadable snapshot is moved
aside (``.corrupt-<ts>``) and its package starts empty. A mixin of FallbackState
(emulator/gateway/fallback_state.py), apart from it because it runs once, at start, and is all
of what reads old files.
"""

from __future__ import annotations

import collections
import contextlib
import importlib
import io
import logging
import os
import time
import weakref
from pathlib import Path
from typing import Any

from emulator.gateway.fallback_files import LEGACY_SUFFIX, SnapshotFiles
from emulator.gateway.fallback_leaves import LeafTable, leaf_types
from emulator.gateway.fallback_loading import SnapshotUnpickler, load_context
from emulator.gateway.fallback_locations import package_of
from emulator.gateway.fallback_snapshot import FORMAT
from emulator.gateway.fallback_store import SUFFIX, files

log = logging.getLogger("emulator.fallback")


class SnapshotRestore(SnapshotFiles):
    """FallbackState's restore (its fields are set by FallbackState.__init__)."""

    _restored: set[str]
    _restoring: set[str]

    def restore(self) -> None:
        if not self.directory.is_dir():
            return
        for leftover in self.directory.glob(f".*{LEGACY_SUFFIX}.tmp"):
            with contextlib.suppress(OSError):
                leftover.unlink()
        # A deletion half done (_delete_files): the renamed database, a WAL or index without one.
        for leftover in [*self.directory.glob(f"*{SUFFIX}.deleted"), *self.directory.glob(f"*{SUFFIX}-wal"), *self.directory.glob(f"*{SUFFIX}-shm")]:
            if leftover.name.endswith(".deleted") or not leftover.with_name(leftover.name[: -len("-wal")]).exists():
                with contextlib.suppress(OSError):
                    leftover.unlink()
        packages = {path.name[: -len(SUFFIX)] for path in self.directory.glob(f"*{SUFFIX}")}
        packages |= {path.name[: -len(LEGACY_SUFFIX)] for path in self.directory.glob(f"*{LEGACY_SUFFIX}")}
        for package in sorted(packages):
            self.restore_package(package)

    def restore_package(self, package: str) -> None:
        """Load ``<package>.db`` (or an old ``<package>.pickle``) into moto's BackendDicts (once;
        a reference from another package's snapshot may ask for it first). An unreadable one is
        moved aside and the package starts empty."""
        if package in self._restored or package in self._restoring:
            return
        path = self.directory / f"{package}{SUFFIX}"
        legacy = self.directory / f"{package}{LEGACY_SUFFIX}"
        if not path.is_file() and not legacy.is_file():
            self._restored.add(package)
            return
        self._restoring.add(package)
        started = time.perf_counter()
        source = path if path.is_file() else legacy
        try:
            loaded = self._restore_database(package, path) if source is path else None
            if loaded is not None:
                size, leaves = loaded
                if legacy.is_file():  # migrated: the database superseded it
                    with contextlib.suppress(OSError):
                        legacy.unlink()
                        self._fsync_dir()
            elif legacy.is_file():  # the old format (or a database made but never committed, and it)
                source = legacy
                size, leaves = self._restore_legacy(package, legacy), 0
            else:
                size, leaves = 0, 0
        except Exception as exc:  # noqa: BLE001 - any unreadable snapshot (truncated, garbage, an old moto's classes): set aside
            self._close_store(package)
            self._tables.pop(package, None)
            stamp = f"corrupt-{time.strftime('%Y%m%dT%H%M%S')}-{time.time_ns() % 1_000_000_000:09d}"
            aside = source.with_name(f"{source.name}.{stamp}")
            try:
                os.replace(source, aside)
                for extra in files(path)[1:] if source is path else ():
                    if extra.exists():
                        os.replace(extra, extra.with_name(f"{extra.name}.{stamp}"))
                self._fsync_dir()
                where = f"moved aside to {aside.name}"
            except OSError as move_error:
                where = f"could not be moved aside ({move_error})"
            log.warning("moto fallback: the snapshot of %s (%s) is unreadable (%s: %s); it was %s and %s starts empty", package, source, type(exc).__name__, exc, where, package)
        else:
            log.info("moto fallback: restored %s from %s (%d bytes, %d leaves, %.1f ms)", package, source, size, leaves, (time.perf_counter() - started) * 1000)
        finally:
            self._restoring.discard(package)
            self._restored.add(package)

    def _restore_database(self, package: str, path: Path) -> tuple[int, int] | None:
        """Load a package's database: (skeleton bytes, leaves); None if it holds no snapshot
        (made, never committed)."""
        store = self._store(package)
        skeleton = store.skeleton()
        if skeleton is None:
            return None
        with load_context(self) as loading:
            loading.leaf_source, loading.set_source = store.leaf, store.strings
            payload = SnapshotUnpickler(io.BytesIO(skeleton), loading).load()
        self._install(package, payload)
        kinds = leaf_types(package)
        if kinds is not None:
            table = LeafTable(package, *kinds, fresh=False)
            table.adopt(loading.leaves, store.meta())
            table.adopt_sets(loading.sets)
            table.clean()  # loading set attributes (marks): the objects are what the rows hold
            orphans = store.ids() - table.objs.keys()
            if orphans:
                store.delete(sorted(orphans))
            self._tables[package] = table
        elif loading.leaves:
            self._legacy.add(package)  # leaves of a class no longer one: written whole at once
        return len(skeleton), len(loading.leaves)

    def _restore_legacy(self, package: str, path: Path) -> int:
        data = path.read_bytes()
        with load_context(self) as loading:
            payload = SnapshotUnpickler(io.BytesIO(data), loading).load()
        self._install(package, payload, legacy=True)
        self._legacy.add(package)
        return len(data)

    @staticmethod
    def _install(package: str, payload: Any, legacy: bool = False) -> None:
        from moto.core.base_backend import BackendDict, backend_lock

        expected = 1 if legacy else FORMAT
        if not isinstance(payload, dict) or payload.get("format") != expected or payload.get("package") != package:
            raise ValueError(f"not a format-{expected} snapshot of {package}")
        targets = []
        for module, attr, accounts, extras in payload["dicts"]:
            backends = getattr(importlib.import_module(module), attr)
            if not isinstance(backends, BackendDict) or package_of(backends) != package:
                raise ValueError(f"{module}.{attr} is not a BackendDict of {package}")
            targets.append((backends, accounts, extras))
        with backend_lock:
            for backends, accounts, extras in targets:
                dict.clear(backends)
                dict.update(backends, accounts)
                for name, value in extras.items():
                    setattr(backends, name, value)
                if backends not in BackendDict._instances:  # type: ignore[misc]
                    BackendDict._instances.append(backends)  # type: ignore[misc]
                for account_backends in accounts.values():
                    for backend in account_backends.values():
                        _register(backend)

def _register(backend: Any) -> None:
    """What a backend's ``__init__`` does besides its own state, which a loaded one (made
    without it) has not done: EC2's backends add themselves to class-level registries of weak
    references (``vpc_refs``, ``vpc_pcx_refs``, ``backend_refs``: how VPC and transit gateway
    peering find the other regions' backends)."""
    cls = type(backend)
    for klass in cls.__mro__:
        if not klass.__module__.startswith("moto."):
            continue
        for name, registry in list(vars(klass).items()):
            if name.endswith("_refs") and isinstance(registry, collections.defaultdict) and registry.default_factory is set:
                registry[cls].add(weakref.ref(backend))
