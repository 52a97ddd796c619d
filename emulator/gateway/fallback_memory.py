"""moto's models without moto's record of every instance ever made.

moto's ``BaseModel.__new__`` appends every model object to its class's ``instances_tracked``
list (read by its dashboard, and by S3's reset to close its objects' temporary files), and
nothing takes them out until a reset. In a long-running server every S3 object version, SQS
message, grant, ... ever made stayed in memory: under mixed traffic over a bounded set of keys
(100 S3 keys overwritten, one queue drained) every S3 PutObject's and SQS SendMessage's objects
stayed (bench/RESULTS.md, "Memory under steady mixed traffic"). Here the classes' lists hold their
objects weakly: moto iterates the objects still alive, and the garbage collector frees the
others.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterable, Iterator
from typing import Any

_installed = False
_lock = threading.Lock()


class WeakInstances:
    """What moto does with ``instances_tracked`` (append, iterate, len, clear), holding weak
    references. Dead references are dropped as appends double the live count (amortized O(1));
    a concurrent append lost while that happens only leaves one object out of the dashboard."""

    __slots__ = ("_live", "_refs")

    def __init__(self, items: Iterable[Any] = ()) -> None:
        self._refs: list[weakref.ref[Any]] = []
        self._live = 0
        for item in items:
            self.append(item)

    def append(self, instance: Any) -> None:
        try:
            ref = weakref.ref(instance)
        except TypeError:  # a class without weak references: left out, as moto reads these rarely
            return
        refs = self._refs
        refs.append(ref)
        if len(refs) > 2 * self._live + 1024:
            kept = [r for r in refs if r() is not None]
            self._refs, self._live = kept, len(kept)

    def __iter__(self) -> Iterator[Any]:
        for ref in list(self._refs):
            instance = ref()
            if instance is not None:
                yield instance

    def __len__(self) -> int:
        return sum(1 for ref in list(self._refs) if ref() is not None)

    def clear(self) -> None:
        self._refs, self._live = [], 0


def install() -> None:
    """Make every moto model class, loaded or loaded later, track its objects weakly."""
    global _installed
    with _lock:
        if _installed:
            return
        from moto.core.common_models import BaseModel
        from moto.core.model_instances import model_data

        def new(cls: type, *args: Any, **kwargs: Any) -> Any:
            instance = super(BaseModel, cls).__new__(cls)  # type: ignore[misc]  # what moto's __new__ does
            tracked = cls.__dict__.get("instances_tracked")
            if not isinstance(tracked, WeakInstances):  # a list: set by moto's class creation or reset
                tracked = WeakInstances(tracked or ())
                setattr(cls, "instances_tracked", tracked)  # noqa: B010 - a class attribute moto defines
            tracked.append(instance)
            return instance

        BaseModel.__new__ = staticmethod(new)  # type: ignore[method-assign, assignment]
        for models in model_data.values():
            for model in models.values():
                tracked = model.__dict__.get("instances_tracked")
                if isinstance(tracked, list):
                    model.instances_tracked = WeakInstances(tracked)  # type: ignore[attr-defined]
        _installed = True
