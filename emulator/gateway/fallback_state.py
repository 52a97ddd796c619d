"""Durable snapshots of the moto fallback's state: one file per moto package.

moto keeps everything in memory; this writes, for each moto package (``moto.<package>``: "s3",
"sqs", "iam", "ec2"...), the contents of its instantiated ``BackendDict``s ({account: {region:
backend}}) to ``<data_dir>/fallback/<package>.pickle``, and loads them back at start.

Durability (group commit): a request that may change state marks its packages dirty once moto
has answered, and its response is held until a snapshot of each of them that *started* after
that is on disk. One thread writes every snapshot; the writers of a package that arrive while
one is being taken share the next one. Files are replaced atomically (temporary file, fsync,
``os.replace``, fsync of the directory), so a ``kill -9`` leaves the previous snapshot or the new
one, never a torn file.

Pickling (emulator/gateway/fallback_pickle.py): the standard (C) ``pickle`` with reducers for
what moto keeps that pickle refuses; S3's object bodies are files of their own
(``fallback/s3-blobs/``), so a snapshot of S3 is its metadata.

The files are pickles: loading one runs code named in it, so they are as trusted as the rest
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
import sys
import threading
import time
import weakref
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

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

log = logging.getLogger("emulator.fallback")

FORMAT = 1
SUFFIX = ".pickle"

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


class FallbackState:
    """The snapshots of moto's packages in ``directory``: restore, group commit, reset, flush."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self._locks: dict[str, SharedLock] = {}
        self._locks_guard = threading.Lock()
        # Held for a whole snapshot (pickle and file); reset takes it so that no snapshot in
        # flight writes back a file it deleted.
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
        self._blobs: Blobs | None = None  # S3's bodies of the snapshot being taken (under _mutex)
        self._indexes: dict[str, tuple[int, dict[int, tuple[Any, ...]]]] = {}  # fallback_pickle._index_package, by package (under _mutex)

    # -- lifecycle --

    def start(self) -> None:
        """Load every snapshot back into moto, then start the snapshot thread."""
        self.restore()
        with self._cond:
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

    # -- restore --

    def restore(self) -> None:
        if not self.directory.is_dir():
            return
        for leftover in self.directory.glob(f".*{SUFFIX}.tmp"):
            with contextlib.suppress(OSError):
                leftover.unlink()
        for path in sorted(self.directory.glob(f"*{SUFFIX}")):
            self.restore_package(path.name[: -len(SUFFIX)])

    def restore_package(self, package: str) -> None:
        """Load ``<package>.pickle`` into moto's BackendDicts (once; a reference from another
        package's snapshot may ask for it first). An unreadable file is moved aside and the
        package starts empty."""
        if package in self._restored or package in self._restoring:
            return
        path = self.directory / f"{package}{SUFFIX}"
        if not path.is_file():
            self._restored.add(package)
            return
        self._restoring.add(package)
        started = time.perf_counter()
        try:
            data = path.read_bytes()
            with load_context(self) as loading:
                payload = SnapshotUnpickler(io.BytesIO(data), loading).load()
            self._install(package, payload)
        except Exception as exc:  # noqa: BLE001 - any unreadable snapshot (truncated, garbage, an old moto's classes): set aside
            aside = path.with_name(f"{path.name}.corrupt-{time.strftime('%Y%m%dT%H%M%S')}-{time.time_ns() % 1_000_000_000:09d}")
            try:
                os.replace(path, aside)
                self._fsync_dir()
                where = f"moved aside to {aside.name}"
            except OSError as move_error:
                where = f"could not be moved aside ({move_error})"
            log.warning("moto fallback: the snapshot of %s (%s) is unreadable (%s: %s); it was %s and %s starts empty", package, path, type(exc).__name__, exc, where, package)
        else:
            log.info("moto fallback: restored %s from %s (%d bytes, %.1f ms)", package, path, len(data), (time.perf_counter() - started) * 1000)
        finally:
            self._restoring.discard(package)
            self._restored.add(package)

    @staticmethod
    def _install(package: str, payload: Any) -> None:
        from moto.core.base_backend import BackendDict, backend_lock

        if not isinstance(payload, dict) or payload.get("format") != FORMAT or payload.get("package") != package:
            raise ValueError(f"not a format-{FORMAT} snapshot of {package}")
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
        files: list[Path] = []
        if self.directory.is_dir():
            if names is None:
                files = list(self.directory.glob(f"*{SUFFIX}"))
            else:
                files = [self.directory / f"{package}{SUFFIX}" for package in names]
        removed = False
        for path in files:
            try:
                path.unlink()
                removed = True
            except FileNotFoundError:
                pass
        if names is None or "s3" in names:
            Blobs(self.directory / BLOBS).collect()  # no snapshot names any body now
        if removed:
            self._fsync_dir()
        with self._cond:
            for package in list(self._seq) if names is None else names:
                self._durable[package] = self._seq.get(package, 0)
                self._pending.pop(package, None)
                self._broken.pop(package, None)
            self._release_waiters()

    # -- the snapshot thread --

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._stopping:
                    self._cond.wait()
                if not self._pending:
                    return
                package = next(iter(self._pending))
                del self._pending[package]
            try:
                self._snapshot(package)
            except Exception:  # never leave the thread: requests wait on it
                log.exception("moto fallback: the snapshot of %s failed", package)

    def _snapshot(self, package: str) -> None:
        with self._mutex:
            with self._cond:
                target = self._seq.get(package, 0)
            try:
                self._blobs = None
                snapshot = self._pickle(package)
                blobs = self._blobs
                if snapshot is None:
                    self._remove(package)
                    if package == "s3":
                        Blobs(self.directory / BLOBS).collect()
                else:
                    data, types = snapshot
                    if blobs is not None and blobs.written:
                        self._fsync(blobs.directory)  # the bodies are on disk before the snapshot naming them
                    self._verify(package, data, types)
                    self._write(package, data)
                    if blobs is not None:
                        blobs.collect()
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
            with self._cond:
                if target > self._durable.get(package, 0):
                    self._durable[package] = target
                self._release_waiters()

    def _verify(self, package: str, data: bytes, types: set[type]) -> None:
        verified = self._verified.setdefault(package, set())
        if types <= verified:
            return
        try:
            with load_context(None, self._trial) as loading:
                SnapshotUnpickler(io.BytesIO(data), loading).load()
        except Exception as exc:
            raise Unpersistable(f"its snapshot does not load back ({type(exc).__name__}: {exc})") from exc
        verified |= types

    def _pickle(self, package: str) -> tuple[bytes, set[type]] | None:
        """The snapshot of a package (None when moto holds none of it), taken under its lock."""
        import moto
        from moto.core.base_backend import BackendDict

        lock = self.lock(package)
        last: RuntimeError | None = None
        for attempt in range(_PICKLE_ATTEMPTS):
            lock.acquire_exclusive()
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
                buffer = io.BytesIO()
                pickler = IamPickler(buffer, references, policies) if policies else SnapshotPickler(buffer, references)
                pickler.package, pickler.instances = package, instances
                with self._cond:
                    pickler.versions = dict(self._seq)
                pickler.indexes = self._indexes  # other packages' model objects are references (fallback_pickle._reduce_foreign)
                if package == "s3":
                    pickler.blobs = self._blobs = Blobs(self.directory / BLOBS)
                pickler.dump(payload)
                return buffer.getvalue(), pickler.types
            except RuntimeError as exc:
                if isinstance(exc, RecursionError) or not any(text in str(exc) for text in _CHANGED_DURING_ITERATION):
                    raise Unpersistable(f"{type(exc).__name__}: {exc}") from exc
                last = exc  # changed by a call running unlocked (a long poll, a native handler): again
            except Exception as exc:  # PicklingError, TypeError ("cannot pickle ..."), AttributeError, ...
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

    # -- files --

    def _write(self, package: str, data: bytes) -> None:
        if not self.directory.is_dir():
            self.directory.mkdir(parents=True, exist_ok=True)
            self._fsync(self.directory.parent)
        path = self.directory / f"{package}{SUFFIX}"
        temporary = self.directory / f".{package}{SUFFIX}.tmp"
        with open(temporary, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(temporary, path)
        self._fsync_dir()

    def _remove(self, package: str) -> None:
        try:
            (self.directory / f"{package}{SUFFIX}").unlink()
        except FileNotFoundError:
            return
        self._fsync_dir()

    def _set_aside(self, package: str) -> None:
        """A package that cannot be saved any more: its last snapshot is out of date; it is
        kept (``.stale-<ts>``) but not restored."""
        path = self.directory / f"{package}{SUFFIX}"
        if path.is_file():
            with contextlib.suppress(OSError):
                os.replace(path, path.with_name(f"{path.name}.stale-{time.strftime('%Y%m%dT%H%M%S')}"))
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
