"""Taking a snapshot of a moto package: its pickles, taken under the package's lock, checked to
load back.

A snapshot (``Snapshot``) is the package's *skeleton* (its BackendDicts' contents, pickled by
emulator/gateway/fallback_pickle.py, each leaf a short reference) and the plan of its leaves
(emulator/gateway/fallback_leaves.py): the new and changed ones pickled on their own, the ones
no longer referenced to delete. It is taken holding the package's lock exclusive
(fallback_locking.py), again when a call running unlocked changed the package meanwhile. The
first snapshot holding a class is loaded back once (a trial, not installed), so that a class
pickle writes but cannot make again shows at once, not at the next start. A mixin of
FallbackState (emulator/gateway/fallback_state.py), which writes the snapshot to disk; apart
from it because it is the pickling side, done under the lock, of what the thread commits.
"""

from __future__ import annotations

import io
import pickle
import threading
import time
from typing import Any

from emulator.gateway.fallback_blobs import BLOBS, Blobs
from emulator.gateway.fallback_files import SnapshotFiles
from emulator.gateway.fallback_leaves import LeafPlan, LeafRecord, LeafTable, leaf_types
from emulator.gateway.fallback_loading import Loading, SnapshotUnpickler, load_context
from emulator.gateway.fallback_locations import locate, package_of
from emulator.gateway.fallback_locking import PackageLocks
from emulator.gateway.fallback_pickle import IamPickler, SnapshotPickler, Unpersistable

FORMAT = 2  # the skeleton's payload; 1: a whole package in one pickle (fallback_files.LEGACY_SUFFIX)

# A BackendDict's own attributes; any other (S3's bucket_accounts, Organizations'
# master_accounts) is state and is written with it.
_BACKEND_DICT_FIELDS = frozenset({"backend", "service_name", "_use_boto3_regions", "_additional_regions", "_id"})
_CHANGED_DURING_ITERATION = ("changed size during iteration", "mutated during iteration", "changed during iteration")
_PICKLE_ATTEMPTS = 5


class Snapshot:
    """A snapshot taken (under the package's lock), to write: the skeleton, the leaves' plan."""

    __slots__ = ("blobs", "plan", "skeleton", "skeleton_blobs", "types")

    def __init__(self, skeleton: bytes, types: set[type], plan: LeafPlan | None, blobs: Blobs | None, skeleton_blobs: set[str]) -> None:
        self.skeleton = skeleton
        self.types = types
        self.plan = plan
        self.blobs = blobs
        self.skeleton_blobs = skeleton_blobs


class SnapshotPickling(SnapshotFiles, PackageLocks):
    """FallbackState's pickling of a package (its fields are set by FallbackState.__init__)."""

    _cond: threading.Condition
    _seq: dict[str, int]
    _indexes: dict[str, tuple[int, dict[int, tuple[Any, ...]]]]
    _verified: dict[str, set[type]]
    _trial: Loading

    def _verify(self, package: str, snapshot: Snapshot) -> None:
        verified = self._verified.setdefault(package, set())
        try:
            if not snapshot.types <= verified:
                self._trial_load(snapshot.skeleton, skeleton=True)
                verified |= snapshot.types
            if snapshot.plan is not None:
                for record in snapshot.plan.records.values():
                    if not record.types <= verified:
                        self._trial_load(record.data, skeleton=False)
                        verified |= record.types
        except Exception as exc:
            raise Unpersistable(f"its snapshot does not load back ({type(exc).__name__}: {exc})") from exc

    def _trial_load(self, data: bytes, skeleton: bool) -> None:
        try:
            with load_context(None, self._trial) as loading:
                if skeleton:
                    SnapshotUnpickler(io.BytesIO(data), loading).load()
                else:
                    pickle.loads(data)
        finally:
            self._trial.leaves.clear()
            self._trial.sets.clear()

    def _table(self, package: str) -> LeafTable | None:
        """The package's leaves (under _mutex); a new table (every leaf new) if none yet."""
        table = self._tables.get(package)
        if table is None:
            kinds = leaf_types(package)
            if kinds is None:
                return None
            table = self._tables[package] = LeafTable(package, *kinds, fresh=True)
            table.dirty.clear()  # every leaf is new to it
        return table

    def _pickler(self, buffer: io.BytesIO, package: str, instances: list[Any], references: dict[int, tuple[Any, ...]], policies: dict[int, tuple[str, ...]], blobs: Blobs | None) -> SnapshotPickler:
        pickler = IamPickler(buffer, references, policies) if policies else SnapshotPickler(buffer, references)
        pickler.package, pickler.instances = package, instances
        with self._cond:
            pickler.versions = dict(self._seq)
        pickler.indexes = self._indexes  # other packages' model objects are references (fallback_pickle._reduce_foreign)
        pickler.blobs = blobs
        return pickler

    def _pickle(self, package: str) -> Snapshot | None:
        """The snapshot of a package (None when moto holds none of it), taken under its lock:
        its skeleton and its new and changed leaves."""
        import moto
        from moto.core.base_backend import BackendDict

        lock = self.lock(package)
        table = self._table(package)
        last: RuntimeError | None = None
        for attempt in range(_PICKLE_ATTEMPTS):
            lock.acquire_exclusive()
            plan: LeafPlan | None = None
            try:
                instances = list(BackendDict._instances)  # type: ignore[misc]
                own = [backends for backends in instances if package_of(backends) == package]
                if not own:
                    return None
                references, policies = self._references(package, instances)
                payload = {
                    "format": FORMAT,
                    "moto": moto.__version__,
                    "package": package,
                    "dicts": [
                        (*locate(backends), dict(dict.items(backends)), {k: v for k, v in vars(backends).items() if k not in _BACKEND_DICT_FIELDS})
                        for backends in own
                    ],
                }
                blobs = Blobs(self.directory / BLOBS) if package == "s3" else None
                buffer = io.BytesIO()
                pickler = self._pickler(buffer, package, instances, references, policies, blobs)
                if table is not None:
                    plan = LeafPlan(table, table.take_dirty())
                    pickler.leaf_types, pickler.plan, pickler.leaf_ids, pickler.leaf_refs = table.types, plan, table.by_id, plan.roots
                    pickler.set_owners = table.set_owners
                pickler.dump(payload)
                skeleton_blobs = set(blobs.named) if blobs is not None else set()
                if plan is not None:
                    plan.changed()
                    leaf_pickler = self._pickler(io.BytesIO(), package, instances, references, policies, blobs)
                    leaf_pickler.leaf_types, leaf_pickler.plan, leaf_pickler.leaf_ids = plan.table.types, plan, plan.table.by_id

                    def write(lid: int, obj: Any, leaf_pickler: SnapshotPickler = leaf_pickler) -> LeafRecord:
                        data, refs, names, types = leaf_pickler.dump_leaf(lid, obj)
                        return LeafRecord(data, tuple(sorted(refs)), tuple(sorted(names)), types)

                    plan.pickle_all(write)
                    plan.settle()
                return Snapshot(buffer.getvalue(), pickler.types, plan, blobs, skeleton_blobs)
            except RuntimeError as exc:
                if plan is not None:
                    plan.abandon()
                if isinstance(exc, RecursionError) or not any(text in str(exc) for text in _CHANGED_DURING_ITERATION):
                    raise Unpersistable(f"{type(exc).__name__}: {exc}") from exc
                last = exc  # changed by a call running unlocked (a long poll, a native handler): again
            except Exception as exc:  # PicklingError, TypeError ("cannot pickle ..."), AttributeError, ...
                if plan is not None:
                    plan.abandon()
                raise Unpersistable(f"{type(exc).__name__}: {exc}") from exc
            finally:
                lock.release_exclusive()
            time.sleep(0.002 * (attempt + 1))
        raise RuntimeError(f"moto's {package} state kept changing while pickled: {last}")

    @staticmethod
    def _references(package: str, instances: list[Any]) -> tuple[dict[int, tuple[Any, ...]], dict[int, tuple[str, ...]]]:
        """id -> reference of the other packages' backends; for IAM, id -> persistent id of
        every AWS managed policy."""
        references: dict[int, tuple[Any, ...]] = {}
        policies: dict[int, tuple[str, ...]] = {}
        for backends in instances:
            mine = package_of(backends) == package
            if mine and package != "iam":
                continue
            module, attr = locate(backends)
            for account, account_backends in list(dict.items(backends)):
                if not mine:
                    references[id(account_backends)] = ("account", module, attr, account)
                for region, backend in list(dict.items(account_backends)):
                    if not mine:
                        references[id(backend)] = ("backend", module, attr, account, region)
                    else:
                        for policy in list(getattr(backend, "aws_managed_policies", ())):
                            policies[id(policy)] = ("aws-managed-policy", account, region, policy.arn)
        return references, policies

