"""The packages' locks: moto calls hold their packages shared, a snapshot holds one exclusive.

A moto call holds the packages it may write shared, its own and those its writes reach
(``lock_set``, from fallback_writes.FAN_OUT), in one sorted order; a snapshot of a package
(fallback_snapshot.py) holds that package's lock exclusive, so that it pickles no call half
done. ``dirty_set`` is what a finished write may have changed, to snapshot after it. A mixin of
FallbackState (emulator/gateway/fallback_state.py), apart from it because it is the requests'
side of the snapshots: what they hold and what they leave dirty.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterable, Iterator

from emulator.gateway.fallback_locations import package_of
from emulator.gateway.fallback_writes import EVERYTHING, FAN_OUT, s3_notifies


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


class PackageLocks:
    """FallbackState's locks, one per package (its fields are set by FallbackState.__init__)."""

    _locks: dict[str, SharedLock]
    _locks_guard: threading.Lock
    _lock_sets: dict[tuple[frozenset[str] | None, bool], tuple[str, ...]]

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
            if package == "s3" and not s3_notifies():
                continue
            for target in FAN_OUT.get(package, ()):
                if target in live and target not in dirty:
                    dirty.add(target)
                    frontier.append(target)
        return dirty

