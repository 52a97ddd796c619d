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

This module holds ``FallbackState`` itself: its fields, its lifecycle, the group commit (marks,
tickets, the waiters), the snapshot thread that takes and commits the snapshots, and reset.
What it is made of is apart, one concern a module, each a mixin of it or a set of names it
uses: which calls write and what they reach (fallback_writes.py), the packages' locks
(fallback_locking.py), taking a snapshot (fallback_snapshot.py), restoring and migrating the
snapshots at start (fallback_restore.py), the idle audit (fallback_audit.py), the files
(fallback_files.py). The public names they held here before are importable from here still.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from emulator.gateway.fallback_audit import (
    AUDIT_ENV,
    AUDIT_IDLE_S,
    LeafAudit,
    audit_setting,
)
from emulator.gateway.fallback_blobs import BLOBS, Blobs
from emulator.gateway.fallback_files import LEGACY_SUFFIX
from emulator.gateway.fallback_leaves import LeafTable
from emulator.gateway.fallback_loading import Loading
from emulator.gateway.fallback_locking import SharedLock
from emulator.gateway.fallback_pickle import Unpersistable
from emulator.gateway.fallback_restore import SnapshotRestore
from emulator.gateway.fallback_snapshot import FORMAT, Snapshot
from emulator.gateway.fallback_store import SUFFIX, PackageStore
from emulator.gateway.fallback_writes import (
    EVERYTHING,
    FAN_OUT,
    LONG_POLLS,
    READ_PREFIXES,
    is_write,
    s3_logs_reads,
)

__all__ = [
    "AUDIT_ENV",
    "AUDIT_IDLE_S",
    "EVERYTHING",
    "FAN_OUT",
    "FORMAT",
    "LEGACY_SUFFIX",
    "LONG_POLLS",
    "READ_PREFIXES",
    "FallbackState",
    "NotSaved",
    "SharedLock",
    "is_write",
    "s3_logs_reads",
    "storage_failure",
]

log = logging.getLogger("emulator.fallback")


class NotSaved(Exception):
    """A write's snapshot could not be written (the disk is full, read-only, failing...): the
    write must not be acknowledged. ``package``: moto's package; ``reason``: the error."""

    def __init__(self, package: str, reason: str) -> None:
        super().__init__(f"the state of {package} could not be saved: {reason}")
        self.package = package
        self.reason = reason


# SQLite's words for a failure of the file system under it, not of the data.
_SQLITE_ENVIRONMENT = ("disk is full", "readonly database", "disk i/o error", "unable to open database", "database is locked", "no such file", "permission denied")


def storage_failure(exc: BaseException) -> str | None:
    """Why writing a snapshot failed when the cause is the environment (the disk full, read-only
    or failing, a permission taken away), not the state: ``OSError`` or SQLite's I/O errors,
    raised or the cause of what was raised. None otherwise."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError):
            if current.errno is not None and current.strerror:
                return f"[Errno {current.errno}] {current.strerror}" + (f": {current.filename!r}" if current.filename else "")
            return f"{type(current).__name__}: {current}"
        if isinstance(current, sqlite3.DatabaseError) and any(words in str(current).lower() for words in _SQLITE_ENVIRONMENT):
            return f"sqlite3: {current}"
        current = current.__cause__ or current.__context__
    return None


class _Waiter:
    __slots__ = ("future", "loop", "tickets")

    def __init__(self, tickets: list[tuple[str, int]], loop: asyncio.AbstractEventLoop, future: asyncio.Future[None]) -> None:
        self.tickets = tickets
        self.loop = loop
        self.future = future


def _resolve_future(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def _fail_future(future: asyncio.Future[None], error: NotSaved) -> None:
    if not future.done():
        future.set_exception(error)


class FallbackState(SnapshotRestore, LeafAudit):
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
        # package -> why its last snapshot could not be written (the disk, not the state: see
        # storage_failure), until one is written again: /_emulator/health says so.
        self._failing: dict[str, str] = {}
        # package -> (the highest mark a failed snapshot was to cover, why): its waiters fail.
        self._failed: dict[str, tuple[int, str]] = {}
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
        self._indexes: dict[str, tuple[int, dict[int, tuple[Any, ...]]]] = {}  # fallback_locations.index_package, by package (under _mutex)
        self._stores: dict[str, PackageStore] = {}  # open databases (under _mutex)
        self._tables: dict[str, LeafTable] = {}  # each package's leaves as its database holds them (under _mutex)
        self._legacy: set[str] = set()  # packages loaded from a <package>.pickle: written as a database at once
        self._audit_idle = audit_setting()
        self._audit_due: dict[str, None] = {}  # packages written since their last audit
        self._last_write = 0.0  # monotonic time of the last snapshot
        self.audit_found = 0  # leaves the audits found changed without a mark (logged)

    # -- lifecycle --

    def start(self) -> None:
        """Load every snapshot back into moto, then start the snapshot thread."""
        self.restore()
        self._report_set_aside()
        with self._cond:
            for package in sorted(self._legacy):
                self._pending[package] = None  # the old format, written anew
            if self._thread is None and not self._stopped:
                self._thread = threading.Thread(target=self._run, name="fallback-snapshots", daemon=True)
                self._thread.start()

    def _report_set_aside(self) -> None:
        """Snapshots set aside (by this start: unreadable, or by an earlier run: state that could
        not be pickled) are not loaded: an ERROR names them, so a package that starts empty is
        never a silent loss."""
        if not self.directory.is_dir():
            return
        for path in sorted(self.directory.glob(f"*{SUFFIX}.*")) + sorted(self.directory.glob(f"*{LEGACY_SUFFIX}.*")):
            name = path.name
            for suffix in (SUFFIX, LEGACY_SUFFIX):
                head, sep, tail = name.partition(f"{suffix}.")
                if sep and tail.startswith(("stale-", "corrupt-")):
                    loaded = (self.directory / f"{head}{SUFFIX}").is_file()
                    log.log(
                        logging.WARNING if loaded else logging.ERROR,
                        "moto fallback: %s is a snapshot of %s set aside (%s) and not loaded%s; move it back to %s%s (server stopped) to load it",
                        path, head, "unreadable" if tail.startswith("corrupt-") else "its state could not be saved", "" if loaded else f", so {head} started empty",
                        head, suffix,
                    )
                    break

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

    # -- group commit --

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
        """Until the snapshots covering ``tickets`` are on disk. Raises NotSaved when the
        snapshot that was to cover one could not be written (storage_failure): the write must
        not be acknowledged."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        with self._cond:
            if self._covered(tickets):
                return
            error = self._not_saved(tickets)
            if error is not None:
                raise error
            self._waiters.append(_Waiter(tickets, loop, future))
        await future

    def _covered(self, tickets: list[tuple[str, int]]) -> bool:
        return all(self._durable.get(package, 0) >= seq for package, seq in tickets)

    def _not_saved(self, tickets: list[tuple[str, int]]) -> NotSaved | None:  # under self._cond
        for package, seq in tickets:
            if self._durable.get(package, 0) < seq:
                failed = self._failed.get(package)
                if failed is not None and failed[0] >= seq:
                    return NotSaved(package, failed[1])
        return None

    def _release_waiters(self) -> None:  # under self._cond
        waiting = []
        for waiter in self._waiters:
            if self._covered(waiter.tickets):
                with contextlib.suppress(RuntimeError):  # its loop is closed
                    waiter.loop.call_soon_threadsafe(_resolve_future, waiter.future)
            elif (error := self._not_saved(waiter.tickets)) is not None:
                with contextlib.suppress(RuntimeError):
                    waiter.loop.call_soon_threadsafe(_fail_future, waiter.future, error)
            else:
                waiting.append(waiter)
        self._waiters = waiting

    def failures(self) -> dict[str, str]:
        """The packages whose state cannot be saved now (the disk full, read-only...), and why."""
        with self._cond:
            return dict(self._failing)

    def retry_failed(self) -> None:
        """Try again to save the packages whose last snapshot failed (the housekeeping calls
        this every few seconds): once the disk has room again their state is saved and the
        health is ok again without waiting for another write."""
        with self._cond:
            if self._failing and not self._stopped:
                for package in self._failing:
                    self._pending.setdefault(package, None)
                self._cond.notify_all()

    def open_files(self) -> list[tuple[Path, int]]:
        """The databases open now, with the inode each had when opened: one whose path no
        longer names that inode was deleted or replaced under the running server."""
        try:
            stores = list(self._stores.values())  # read without _mutex: a copy, retried below if it changed meanwhile
        except RuntimeError:
            return []
        return [(store.path, store.inode) for store in stores if store.inode]

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
                self._failing.pop(package, None)
                self._failed.pop(package, None)
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
        """Write a snapshot of ``package``, then release the writers it covers.

        A failure of the environment (storage_failure: the disk full or read-only, an I/O
        error) is not the state's fault: the last snapshot written stays where it is (it is
        what a restart loads), and the writers this one was to cover are answered with an error
        (NotSaved), as is every later writer until a snapshot is written again. moto's state in
        memory keeps their changes meanwhile (it cannot take them back), and the next snapshot
        written saves them, as a database whose commit failed may still hold what it was
        asked to write: an unacknowledged write may or may not survive, an acknowledged one
        always does."""
        written = False
        failed: str | None = None
        with self._mutex:
            with self._cond:
                target = self._seq.get(package, 0)
            snapshot: Snapshot | None = None
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
            except Exception as exc:
                failed = storage_failure(exc)
                if failed is not None:  # the disk's fault, not the state's: the last snapshot stays
                    with self._cond:
                        first = self._failing.get(package) != failed
                        self._failing[package] = failed
                    if first:
                        log.error(
                            "moto fallback: the state of %s cannot be saved (%s); its writes are answered with an error (503) until it can be saved again, and %s keeps its last saved snapshot",
                            package, failed, self.directory / f"{package}{SUFFIX}",
                        )
                elif isinstance(exc, Unpersistable):
                    reason = str(exc)
                    if self._broken.get(package) != reason:
                        self._broken[package] = reason
                        moved = self._set_aside(package)
                        log.error(
                            "moto fallback: the state of %s cannot be saved (%s); it is served from memory only and a restart loses it%s",
                            package, reason, "; its last snapshot was set aside: " + ", ".join(f"{a} -> {b}" for a, b in moved) if moved else "",
                        )
                else:
                    log.exception("moto fallback: writing the snapshot of %s failed; its last writes are in memory only", package)
            else:
                if self._broken.pop(package, None) is not None:
                    log.warning("moto fallback: the state of %s is saved again", package)
                with self._cond:
                    recovered = self._failing.pop(package, None) is not None
                    self._failed.pop(package, None)
                if recovered:
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
            if failed is not None:
                self._failed[package] = (max(target, self._failed.get(package, (0, ""))[0]), failed)
            elif target > self._durable.get(package, 0):
                self._durable[package] = target
            self._release_waiters()

    def _commit(self, package: str, snapshot: Snapshot) -> None:
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

