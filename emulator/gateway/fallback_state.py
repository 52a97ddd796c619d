"""Durable snapshots of the moto fallback's state: one SQLite database per moto package.

moto keeps everything in memory; this writes, for each moto package (``moto.<package>``: "s3",
"sqs", "iam", "ec2"...), the contents of its instantiated ``BackendDict``s ({account: {region:
backend}}) to ``<data_dir>/fallback/<package>.db`` (emulator/gateway/fallback_store.py), and
loads them back at start.

Durability (group commit): a request that may change state marks its packages dirty once moto
has answered, and its response is held until a snapshot of each of them that *started* after
that is on disk. One thread writes every snapshot; the writers of a package that arrive while
one is being taken share the next one. A snapshot is one SQLite transaction (WAL,
``synchronous=FULL``), so a ``kill -9`` leaves the previous snapshot or the new one, never a mix.

Incremental (emulator/gateway/fallback_leaves.py): the numerous objects of a package (SQS's
messages, S3's objects) are *leaves*, each a row of its own, written when new or changed (their
classes mark their instances dirty on every attribute set) and deleted when no longer
referenced; the package's pickle (its *skeleton*) holds a short reference to each. So a write
costs what it changed plus the skeleton, not everything the package holds. An audit re-pickles
the clean leaves when idle and writes any found changed (``EMULATOR_FALLBACK_AUDIT``).

Pickling (emulator/gateway/fallback_pickle.py): the standard (C) ``pickle`` with reducers for
what moto keeps that pickle refuses; S3's object bodies are files of their own
(``fallback/s3-blobs/``), so a snapshot of S3 is its metadata.

The format before (``<package>.pickle``, a whole package in one pickle) is still loaded; the
package is then written as a database at once and the old file deleted.

The snapshots are pickles: loading one runs code named in it, so they are as trusted as the rest
of the data directory (the SQLite databases, the root key).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import importlib
import io
import logging
import os
import pickle
import sys
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from emulator.gateway.fallback_leaves import (
    LeafPlan,
    LeafRecord,
    LeafTable,
    leaf_types,
)
from emulator.gateway.fallback_pickle import (
    BLOBS,
    Blobs,
    IamPickler,
    Loading,
    SnapshotPickler,
    SnapshotUnpickler,
    Unpersistable,
    load_context,
    locate,
    package_of,
)
from emulator.gateway.fallback_store import SUFFIX, PackageStore, files

log = logging.getLogger("emulator.fallback")

FORMAT = 2  # the skeleton's payload; 1: a whole package in one pickle (LEGACY_SUFFIX)
LEGACY_SUFFIX = ".pickle"
AUDIT_ENV = "EMULATOR_FALLBACK_AUDIT"
AUDIT_IDLE_S = 60.0
_AUDIT_CHUNK = 256  # leaves pickled per hold of the package's lock (S3: ~30 µs a leaf)


# Operation names that only read. Everything else may write (SQS ReceiveMessage too: it hides
# the messages it returns and counts their receives).
READ_PREFIXES = ("Get", "List", "Describe", "Head", "Lookup", "Search", "Simulate", "Check", "Validate", "Estimate", "Preview", "Test")

# Operations that may block inside moto for long: SQS's long polling (WaitTimeSeconds, or the
# queue's ReceiveMessageWaitTimeSeconds, up to 20 s). They run without the package's shared lock
# (see FallbackState.shared).
LONG_POLLS = frozenset({("sqs", "ReceiveMessage")})

# Packages whose writes change other packages' state too (moto delivers in-process): SNS
# publishes to SQS queues, S3 notifies SQS/SNS/EventBridge/Lambda (only when a bucket has a
# notification configuration), EventBridge sends to its targets, Firehose writes to S3, ...
# EventBridge's CreateConnection keeps its auth parameters as a Secrets Manager secret; Kinesis's
# PutRecord(s) writes CloudWatch metrics; Lambda's CreateEventSourceMapping registers the mapping
# on the Kinesis stream (or DynamoDB table) too; Secrets Manager's rotation invokes Lambda.
FAN_OUT: dict[str, tuple[str, ...]] = {
    "sns": ("sqs", "awslambda"),
    "s3": ("sqs", "sns", "events", "awslambda"),
    "events": ("sqs", "sns", "logs", "stepfunctions", "awslambda", "kinesis", "firehose", "secretsmanager"),
    "firehose": ("s3",),
    "ses": ("sns", "s3"),
    "awslambda": ("sqs", "sns", "logs", "kinesis", "dynamodb"),
    "kinesis": ("cloudwatch", "awslambda"),
    "secretsmanager": ("awslambda",),
}
# Packages that create or tag resources of any other: their writes dirty every instantiated package.
EVERYTHING = frozenset({"cloudformation", "resourcegroupstaggingapi"})

# A BackendDict's own attributes; any other (S3's bucket_accounts, Organizations'
# master_accounts) is state and is written with it.
_BACKEND_DICT_FIELDS = frozenset({"backend", "service_name", "_use_boto3_regions", "_additional_regions", "_id"})
_CHANGED_DURING_ITERATION = ("changed size during iteration", "mutated during iteration", "changed during iteration")
_PICKLE_ATTEMPTS = 5


def is_write(method: str, query_string: str, operation: str | None) -> bool:
    """Whether a request may change state: by its operation's name, or (unknown operation) by
    its HTTP method, GET and HEAD reading except a query-protocol ``?Action=`` call."""
    if operation:
        return not operation.startswith(READ_PREFIXES)
    if method in ("GET", "HEAD"):
        return "Action=" in query_string
    return True


class SharedLock:
    """Shared (moto calls) / exclusive (a snapshot) lock, preferring the exclusive side: a
    snapshot waits for the calls in flight, not for the ones that arrive after it."""

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._readers = 0
        self._writer = False
        self._writers_waiting = 0

    def acquire_shared(self) -> None:
        with self._cond:
            while self._writer or self._writers_waiting:
                self._cond.wait()
            self._readers += 1

    def release_shared(self) -> None:
        with self._cond:
            self._readers -= 1
            if not self._readers:
                self._cond.notify_all()

    def acquire_exclusive(self) -> None:
        with self._cond:
            self._writers_waiting += 1
            try:
                while self._writer or self._readers:
                    self._cond.wait()
            finally:
                self._writers_waiting -= 1
            self._writer = True

    def release_exclusive(self) -> None:
        with self._cond:
            self._writer = False
            self._cond.notify_all()


# --- the snapshots ----------------------------------------------------------------------------


class _Waiter:
    __slots__ = ("future", "loop", "tickets")

    def __init__(self, tickets: list[tuple[str, int]], loop: asyncio.AbstractEventLoop, future: asyncio.Future[None]) -> None:
        self.tickets = tickets
        self.loop = loop
        self.future = future


def _resolve_future(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class _Snapshot:
    """A snapshot taken (under the package's lock), to write: the skeleton, the leaves' plan."""

    __slots__ = ("blobs", "plan", "skeleton", "skeleton_blobs", "types")

    def __init__(self, skeleton: bytes, types: set[type], plan: LeafPlan | None, blobs: Blobs | None, skeleton_blobs: set[str]) -> None:
        self.skeleton = skeleton
        self.types = types
        self.plan = plan
        self.blobs = blobs
        self.skeleton_blobs = skeleton_blobs


def _audit_setting() -> float | None:
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


class FallbackState:
    """The snapshots of moto's packages in ``directory``: restore, group commit, reset, flush."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self._locks: dict[str, SharedLock] = {}
        self._locks_guard = threading.Lock()
        # Held for a whole snapshot (pickle and database); reset takes it so that no snapshot in
        # flight writes back what it deleted. The databases, tables and blobs are used under it.
        self._mutex = threading.Lock()
        self._cond = threading.Condition(threading.Lock())
        self._seq: dict[str, int] = {}  # marks issued per package
        self._durable: dict[str, int] = {}  # the highest mark a finished snapshot covers
        self._pending: dict[str, None] = {}  # packages to snapshot, in order
        self._waiters: list[_Waiter] = []
        self._broken: dict[str, str] = {}  # package -> why it could not be pickled (warned once)
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._stopped = False
        self._restored: set[str] = set()
        self._restoring: set[str] = set()
        self._lock_sets: dict[tuple[frozenset[str] | None, bool], tuple[str, ...]] = {}
        # The classes each package's snapshots held that were loaded back once (a trial load,
        # not installed): a class pickle writes but cannot make again (one whose __init__ wants
        # other arguments than its reduce gives) shows at once, not at the next start.
        self._verified: dict[str, set[type]] = {}
        self._trial = Loading(None, self.directory / BLOBS)  # its fresh IAM policies are kept between trials
        self._indexes: dict[str, tuple[int, dict[int, tuple[Any, ...]]]] = {}  # fallback_pickle._index_package, by package (under _mutex)
        self._stores: dict[str, PackageStore] = {}  # open databases (under _mutex)
        self._tables: dict[str, LeafTable] = {}  # each package's leaves as its database holds them (under _mutex)
        self._legacy: set[str] = set()  # packages loaded from a <package>.pickle: written as a database at once
        self._audit_idle = _audit_setting()
        self._audit_due: dict[str, None] = {}  # packages written since their last audit
        self._last_write = 0.0  # monotonic time of the last snapshot
        self.audit_found = 0  # leaves the audits found changed without a mark (logged)

    # -- lifecycle --

    def start(self) -> None:
        """Load every snapshot back into moto, then start the snapshot thread."""
        self.restore()
        with self._cond:
            for package in sorted(self._legacy):
                self._pending[package] = None  # the old format, written anew
            if self._thread is None and not self._stopped:
                self._thread = threading.Thread(target=self._run, name="fallback-snapshots", daemon=True)
                self._thread.start()

    def stop(self, timeout: float = 60.0) -> None:
        """Write the dirty packages, then stop the thread. Later writes are written inline."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join(timeout)
        with self._cond:
            self._stopped = True
            pending = list(self._pending)
            self._pending.clear()
        for package in pending:  # the thread never started, or did not finish in time
            self._snapshot(package)
        with self._mutex:
            for package in list(self._stores):
                self._close_store(package)

    # -- restore --

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

    # -- requests --

    def lock(self, package: str) -> SharedLock:
        lock = self._locks.get(package)
        if lock is None:
            with self._locks_guard:
                lock = self._locks.setdefault(package, SharedLock())
        return lock

    def lock_set(self, own: frozenset[str] | None, long_poll: bool) -> tuple[str, ...]:
        """The packages a moto call holds shared: its own and those its writes fan out to.

        None for a long poll (SQS ReceiveMessage, which may wait 20 s inside moto): a snapshot
        must not wait that long, nor hold up every other request of the package meanwhile. It
        runs unlocked; a snapshot that meets it mutating a queue retries on pickle's "changed
        size during iteration", and one that captures it half done is superseded before the
        receive is answered (it waits for a snapshot started after it finished). What a receive
        changes (visibility, receive counts) is soft state anyway."""
        key = (own, long_poll)
        found = self._lock_sets.get(key)
        if found is None:
            packages: set[str] = set()
            if own is not None and not long_poll:
                packages |= own
                frontier = list(own)
                while frontier:
                    for target in FAN_OUT.get(frontier.pop(), ()):
                        if target not in packages:
                            packages.add(target)
                            frontier.append(target)
            found = self._lock_sets[key] = tuple(sorted(packages))
        return found

    @contextlib.contextmanager
    def shared(self, packages: Iterable[str]) -> Iterator[None]:
        held: list[SharedLock] = []
        try:
            for package in packages:  # sorted: one order for every request
                lock = self.lock(package)
                lock.acquire_shared()
                held.append(lock)
            yield
        finally:
            for lock in reversed(held):
                lock.release_shared()

    @staticmethod
    def instantiated() -> set[str]:
        from moto.core.base_backend import BackendDict

        return {package_of(backends) for backends in list(BackendDict._instances)}  # type: ignore[misc]

    def dirty_set(self, own: frozenset[str] | None) -> set[str]:
        """What a finished write may have changed: its own packages and, among the instantiated
        ones, those it fans out to (everything for an unknown service or CloudFormation)."""
        live = self.instantiated()
        if own is None or own & EVERYTHING:
            return live | set(own or ())
        dirty = set(own)
        frontier = list(own)
        while frontier:
            package = frontier.pop()
            if package == "s3" and not _s3_notifies():
                continue
            for target in FAN_OUT.get(package, ()):
                if target in live and target not in dirty:
                    dirty.add(target)
                    frontier.append(target)
        return dirty

    def mark(self, packages: Iterable[str]) -> list[tuple[str, int]]:
        """After moto answered a write: the packages are dirty. Returns the tickets to wait
        for (a snapshot of each package that starts from now on covers its ticket)."""
        packages = sorted(packages)
        with self._cond:
            if not self._stopped:
                tickets = []
                for package in packages:
                    seq = self._seq[package] = self._seq.get(package, 0) + 1
                    tickets.append((package, seq))
                    self._pending[package] = None
                self._cond.notify_all()
                return tickets
        for package in packages:  # after stop(): no thread any more, write it here
            self._snapshot(package)
        return []

    async def wait(self, tickets: list[tuple[str, int]]) -> None:
        """Until the snapshots covering ``tickets`` are on disk."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        with self._cond:
            if self._covered(tickets):
                return
            self._waiters.append(_Waiter(tickets, loop, future))
        await future

    def _covered(self, tickets: list[tuple[str, int]]) -> bool:
        return all(self._durable.get(package, 0) >= seq for package, seq in tickets)

    def _release_waiters(self) -> None:  # under self._cond
        waiting = []
        for waiter in self._waiters:
            if self._covered(waiter.tickets):
                with contextlib.suppress(RuntimeError):  # its loop is closed
                    waiter.loop.call_soon_threadsafe(_resolve_future, waiter.future)
            else:
                waiting.append(waiter)
        self._waiters = waiting

    # -- reset --

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """No snapshot runs meanwhile (one in flight finishes first): for a reset."""
        with self._mutex:
            yield

    def forget(self, packages: Iterable[str] | None) -> None:
        """Delete the snapshots of ``packages`` (all for None) and drop their pending writes,
        under ``paused()``: moto's state of them was just dropped."""
        names = set(packages) if packages is not None else None
        found: set[str] = set(self._stores) | set(self._tables)
        if self.directory.is_dir():
            found |= {path.name[: -len(SUFFIX)] for path in self.directory.glob(f"*{SUFFIX}")}
            found |= {path.name[: -len(LEGACY_SUFFIX)] for path in self.directory.glob(f"*{LEGACY_SUFFIX}")}
        removed = False
        for package in sorted(found if names is None else names & found):
            removed = self._delete_files(package) or removed
            self._tables.pop(package, None)
        if names is None or "s3" in names:
            Blobs(self.directory / BLOBS).collect()  # no snapshot names any body now
        if removed:
            self._fsync_dir()
        with self._cond:
            for package in list(self._seq) if names is None else names:
                self._durable[package] = self._seq.get(package, 0)
                self._pending.pop(package, None)
                self._broken.pop(package, None)
                self._audit_due.pop(package, None)
            if names is None:
                self._legacy.clear()
            else:
                self._legacy -= names
            self._release_waiters()

    # -- the snapshot thread --

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._stopping:
                    if self._audit_idle and self._audit_due:
                        idle = time.monotonic() - self._last_write
                        if idle >= self._audit_idle:
                            break
                        self._cond.wait(self._audit_idle - idle)
                    else:
                        self._cond.wait()
                if not self._pending and self._stopping:
                    return
                if not self._pending:  # idle long enough: an audit
                    package = next(iter(self._audit_due))
                    del self._audit_due[package]
                    audit = True
                else:
                    package = next(iter(self._pending))
                    del self._pending[package]
                    audit = False
            try:
                if audit:
                    if self.audit(package, interrupt=lambda: bool(self._pending) or self._stopping) is None:
                        with self._cond:
                            self._audit_due.setdefault(package, None)  # interrupted: later
                            self._last_write = time.monotonic()
                else:
                    self._snapshot(package)
            except Exception:  # never leave the thread: requests wait on it
                log.exception("moto fallback: the %s of %s failed", "audit" if audit else "snapshot", package)

    def _snapshot(self, package: str) -> None:
        written = False
        with self._mutex:
            with self._cond:
                target = self._seq.get(package, 0)
            snapshot: _Snapshot | None = None
            try:
                snapshot = self._pickle(package)
                if snapshot is None:
                    self._remove(package)
                    if package == "s3":
                        Blobs(self.directory / BLOBS).collect()
                else:
                    if snapshot.blobs is not None and snapshot.blobs.written:
                        self._fsync(snapshot.blobs.directory)  # the bodies are on disk before the snapshot naming them
                    self._verify(package, snapshot)
                    self._commit(package, snapshot)
                    written = snapshot.plan is not None
            except Unpersistable as exc:
                reason = str(exc)
                if self._broken.get(package) != reason:
                    self._broken[package] = reason
                    log.warning("moto fallback: the state of %s cannot be saved (%s); it is served from memory only and a restart loses it", package, reason)
                    self._set_aside(package)
            except Exception:
                log.exception("moto fallback: writing the snapshot of %s failed; its last writes are in memory only", package)
            else:
                if self._broken.pop(package, None) is not None:
                    log.warning("moto fallback: the state of %s is saved again", package)
            finally:
                if snapshot is not None and snapshot.plan is not None:
                    snapshot.plan.abandon()  # not written: its marks stay (a no-op once applied)
        if written and self._audit_idle == 0.0:
            self.audit(package)  # EMULATOR_FALLBACK_AUDIT=always: before its writers are answered
        with self._cond:
            if written:
                self._audit_due[package] = None
                self._last_write = time.monotonic()
                self._cond.notify_all()  # the thread waits for an idle audit from now on
            if target > self._durable.get(package, 0):
                self._durable[package] = target
            self._release_waiters()

    def _commit(self, package: str, snapshot: _Snapshot) -> None:
        """One transaction; then the table follows and the S3 bodies no leaf names go."""
        store = self._store(package)
        plan = snapshot.plan
        if plan is None:
            store.commit(snapshot.skeleton, (), (), everything=True)
        else:
            table = plan.table
            store.commit(
                snapshot.skeleton,
                ((lid, r.data, r.children, r.blobs) for lid, r in plan.records.items()),
                plan.deleted,
                everything=table.fresh,
                strings=((sid, added, removed) for sid, (_, added, removed) in plan.set_changes.items() if added or removed),
                sets_deleted=plan.sets_deleted,
            )
            freed = plan.apply()
            if snapshot.blobs is not None:
                keep = snapshot.skeleton_blobs
                if not table.swept or keep:
                    snapshot.blobs.named = set(table.blob_refs) | keep
                    snapshot.blobs.collect()  # once (what a crash left), or while the skeleton names bodies
                    table.swept = True
                else:
                    for name in freed:
                        with contextlib.suppress(OSError):
                            (snapshot.blobs.directory / name).unlink()
        if package in self._legacy or (self.directory / f"{package}{LEGACY_SUFFIX}").exists():
            self._legacy.discard(package)
            with contextlib.suppress(FileNotFoundError):
                (self.directory / f"{package}{LEGACY_SUFFIX}").unlink()
                self._fsync_dir()

    def _verify(self, package: str, snapshot: _Snapshot) -> None:
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

    def _pickle(self, package: str) -> _Snapshot | None:
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
                return _Snapshot(buffer.getvalue(), pickler.types, plan, blobs, skeleton_blobs)
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

    # -- the audit --

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

    # -- files --

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

    def _set_aside(self, package: str) -> None:
        """A package that cannot be saved any more: its last snapshot is out of date; it is
        kept (``.stale-<ts>``) but not restored."""
        self._close_store(package)
        self._tables.pop(package, None)
        stamp = f"stale-{time.strftime('%Y%m%dT%H%M%S')}"
        moved = False
        for path in [*files(self.directory / f"{package}{SUFFIX}"), self.directory / f"{package}{LEGACY_SUFFIX}"]:
            if path.is_file():
                with contextlib.suppress(OSError):
                    os.replace(path, path.with_name(f"{path.name}.{stamp}"))
                    moved = True
        if moved:
            with contextlib.suppress(OSError):
                self._fsync_dir()

    def _fsync_dir(self) -> None:
        self._fsync(self.directory)

    @staticmethod
    def _fsync(directory: Path) -> None:
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


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


def _any_bucket(attribute: str) -> bool:
    """Whether any of moto's S3 buckets has a non-empty ``attribute``."""
    models = sys.modules.get("moto.s3.models")
    if models is None:
        return False
    for account_backends in list(dict.values(models.s3_backends)):
        for backend in list(dict.values(account_backends)):
            if any(getattr(bucket, attribute) for bucket in list(backend.buckets.values())):
                return True
    return False


def s3_logs_reads() -> bool:
    """Whether any S3 bucket has server access logging on: moto then writes a log object for
    every call, reads included, so an S3 read is a write to save."""
    return _any_bucket("logging")


def _s3_notifies() -> bool:
    """Whether any S3 bucket has a notification configuration (its writes reach other packages)."""
    return _any_bucket("notification_configuration")
