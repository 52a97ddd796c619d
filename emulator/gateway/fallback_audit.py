"""The idle audit of the fallback's leaves: what changed without being marked.

A leaf (emulator/gateway/fallback_leaves.py) is written when its class marks it changed, on
every attribute set; a change in place (an item added to a dict it holds) sets none. When the
snapshots have been idle ``EMULATOR_FALLBACK_AUDIT`` seconds (default 60; ``always``: after
every snapshot, before its writers are answered; ``off``), the audit pickles a package's clean
leaves again and compares them with their rows: one that differs is logged, marked and written
by the next snapshot. In chunks, each under the package's lock, interrupted by a snapshot to
take. A mixin of FallbackState (emulator/gateway/fallback_state.py), whose snapshot thread
runs it; apart from it because it is a check of the leaves' marks, not a part of writing.
"""

from __future__ import annotations

import io
import logging
import os
import pickle
from collections.abc import Callable
from typing import Any

from emulator.gateway.fallback_blobs import BLOBS, Blobs
from emulator.gateway.fallback_leaves import LeafPlan, LeafTable
from emulator.gateway.fallback_loading import Loading, load_context
from emulator.gateway.fallback_pickle import SnapshotPickler
from emulator.gateway.fallback_snapshot import SnapshotPickling
from emulator.gateway.fallback_store import PackageStore

log = logging.getLogger("emulator.fallback")

AUDIT_ENV = "EMULATOR_FALLBACK_AUDIT"
AUDIT_IDLE_S = 60.0
_AUDIT_CHUNK = 256  # leaves pickled per hold of the package's lock (a write waits for one chunk at most)


def audit_setting() -> float | None:
    """``EMULATOR_FALLBACK_AUDIT``: seconds idle before an audit (default 60), ``always`` (0:
    after every snapshot, before its writers are answered), ``off``."""
    raw = os.environ.get(AUDIT_ENV, "").strip().lower()
    if not raw:
        return AUDIT_IDLE_S
    if raw == "always":
        return 0.0
    if raw in ("off", "never", "no", "false"):
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        return AUDIT_IDLE_S


class LeafAudit(SnapshotPickling):
    """FallbackState's audit (its fields are set by FallbackState.__init__)."""

    _pending: dict[str, None]
    audit_found: int

    def audit(self, package: str, interrupt: Callable[[], bool] | None = None) -> int | None:
        """Re-pickle the package's clean leaves and compare them with their rows: one that
        differs changed without a mark (an in-place change fallback_leaves does not know of). It
        is logged, marked and written by the next snapshot (queued). In chunks, each under the
        package's lock; None if ``interrupt`` said to stop (a snapshot to take) or the table went."""
        with self._mutex:
            table, store = self._tables.get(package), self._stores.get(package)
            if table is None or store is None or table.fresh:
                return 0
            lids = sorted(table.objs)
        found: list[str] = []
        for start in range(0, len(lids), _AUDIT_CHUNK):
            if interrupt is not None and interrupt():
                return None
            with self._mutex:
                if self._tables.get(package) is not table or self._stores.get(package) is not store:
                    return None
                found += self._audit_chunk(package, table, store, lids[start : start + _AUDIT_CHUNK])
        if found:
            self.audit_found += len(found)
            log.warning("moto fallback: %d leaves of %s changed without being marked (%s); they are written now", len(found), package, ", ".join(sorted(set(found))))
            with self._cond:
                self._pending.setdefault(package, None)
                self._cond.notify_all()
        return len(found)

    def _audit_chunk(self, package: str, table: LeafTable, store: PackageStore, lids: list[int]) -> list[str]:
        from moto.core.base_backend import BackendDict

        lock = self.lock(package)
        lock.acquire_exclusive()
        try:
            marked = set(table.dirty)
            objs = [(lid, table.objs.get(lid)) for lid in lids]
            stored = store.leaves([lid for lid, obj in objs if obj is not None and id(obj) not in marked])
            instances = list(BackendDict._instances)  # type: ignore[misc]
            references, policies = self._references(package, instances)
            blobs = Blobs(self.directory / BLOBS) if package == "s3" else None
            pickler = self._pickler(io.BytesIO(), package, instances, references, policies, blobs)
            pickler.leaf_types, pickler.plan, pickler.leaf_ids = table.types, LeafPlan(table, set()), table.by_id
            found: list[str] = []
            respelled = 0
            for lid, obj in objs:
                if lid not in stored:
                    continue
                try:
                    data = pickler.dump_leaf(lid, obj)[0]
                except RuntimeError:
                    continue  # changed meanwhile by a call running unlocked: it is marked
                if data == stored[lid]:
                    continue
                # A second opinion: what the row holds, loaded, pickled again. The same: the
                # same state spelled otherwise (a leaf loaded from a row an earlier process
                # wrote: dict order, a str for bytes...). It is written again all the same.
                table.dirty.add(id(obj))
                copy = self._reload(stored[lid], table)
                if copy is None or pickler.dump_leaf(lid, copy)[0] != data:
                    found.append(f"{type(obj).__name__} {'/'.join(_changed_attributes(pickler, copy, obj))}")
                else:
                    respelled += 1
            if respelled:
                log.info("moto fallback: %d leaves of %s written again (the same state, pickled otherwise)", respelled, package)
            return found
        finally:
            lock.release_exclusive()

    def _reload(self, data: bytes, table: LeafTable) -> Any:
        """A copy of what a leaf's row holds (the leaves it names: the live ones); None if it
        does not load."""
        loading = Loading(None, self.directory / BLOBS)
        loading.live = table.objs
        try:
            with load_context(None, loading):
                return pickle.loads(data)
        except Exception:  # noqa: BLE001 - then it differs
            return None


def _changed_attributes(pickler: SnapshotPickler, before: Any, after: Any) -> list[str]:
    """The attributes of a leaf that pickle differently (for the audit's warning)."""
    old, new = getattr(before, "__dict__", {}), getattr(after, "__dict__", {})
    names = []
    for name in sorted(set(old) | set(new)):
        if name in ("_value_buffer", "lock"):
            continue
        try:
            if name not in old or name not in new or pickler.dump_value(old[name]) != pickler.dump_value(new[name]):
                names.append(name)
        except Exception:  # noqa: BLE001 - one that does not pickle alone: differs
            names.append(name)
    return names or ["?"]

