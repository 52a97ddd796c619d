"""Loading a fallback snapshot: what one load in progress shares, and the unpickler.

A load (FallbackState's restore, its trial loads, the audit's reload) pushes a ``Loading`` for
its thread (``load_context``); the functions a snapshot's pickles call at load
(emulator/gateway/fallback_pickle.py: leaf and string set references, references to other
packages, S3 bodies, IAM's AWS managed policies) find it with ``current_loading``. The leaves
(emulator/gateway/fallback_leaves.py) are loaded from their rows on first use
(``Loading.leaf``). Apart from the pickler because it is the reading side: the functions a
snapshot names use it, the picklers never do, and it names nothing in a snapshot.
"""

from __future__ import annotations

import contextlib
import io
import pickle
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from emulator.gateway.fallback_blobs import BLOBS

if TYPE_CHECKING:
    from emulator.gateway.fallback_restore import SnapshotRestore


def fresh_aws_policies(account: str, region: str) -> dict[str, Any]:
    from moto.iam.models import IAMBackend

    return {p.arn: p for p in IAMBackend(region, account_id=account).aws_managed_policies}


class _TrialLeaf:
    """A leaf in a trial load (FallbackState._verify): what it refers to is not loaded."""


class Loading:
    """What a load in progress shares: the fresh IAM backends' AWS managed policies, and the
    owner that restores another package first when a reference to it is met."""

    def __init__(self, owner: SnapshotRestore | None, blob_dir: Path | None = None) -> None:
        self.owner = owner
        self.blob_dir = blob_dir  # where S3 object bodies are (Blobs)
        self._aws: dict[tuple[str, str], dict[str, Any]] = {}
        self.remade: dict[int, Any] = {}  # objects of other packages not found live, made anew (fallback_pickle._resolve_object)
        self.leaf_source: Callable[[int], bytes | None] | None = None  # a leaf's row; None: a trial load
        self.leaves: dict[int, Any] = {}  # the leaves loaded, by id
        self.live: dict[int, Any] | None = None  # leaves to use as they are (the audit's reload)
        self.set_source: Callable[[int], list[str | None]] | None = None  # a string set's rows; None: a trial load
        self.sets: dict[int, set[str | None]] = {}  # the string sets loaded, by id

    def string_set(self, sid: int) -> set[str | None]:
        found = self.sets.get(sid)
        if found is None:
            found = self.sets[sid] = set(self.set_source(sid)) if self.set_source is not None else set()
        return found

    def leaf(self, lid: int) -> Any:
        found = self.leaves.get(lid)
        if found is not None:
            return found
        if self.live is not None and lid in self.live:
            return self.live[lid]
        if self.leaf_source is None:
            found = self.leaves[lid] = _TrialLeaf()
            return found
        data = self.leaf_source(lid)
        if data is None:
            raise pickle.UnpicklingError(f"leaf {lid} is not in the snapshot")
        obj = pickle.loads(data)
        self.leaves[lid] = obj
        return obj

    def aws_policies(self, account: str, region: str) -> dict[str, Any]:
        key = (account, region)
        if key not in self._aws:
            self._aws[key] = fresh_aws_policies(account, region)
        return self._aws[key]


_LOAD = threading.local()


def current_loading() -> Loading | None:
    stack = getattr(_LOAD, "stack", None)
    return stack[-1] if stack else None


@contextlib.contextmanager
def load_context(owner: SnapshotRestore | None, context: Loading | None = None) -> Iterator[Loading]:
    stack = _LOAD.__dict__.setdefault("stack", [])
    context = context or Loading(owner, owner.directory / BLOBS if owner is not None else None)
    stack.append(context)
    try:
        yield context
    finally:
        stack.pop()


class SnapshotUnpickler(pickle.Unpickler):
    def __init__(self, file: io.BytesIO, loading: Loading) -> None:
        super().__init__(file)
        self.current_loading = loading

    def persistent_load(self, pid: Any) -> Any:
        if isinstance(pid, tuple) and len(pid) == 4 and pid[0] == "aws-managed-policy":
            _, account, region, arn = pid
            policies = self.current_loading.aws_policies(account, region)
            if arn in policies:
                return policies[arn]
            raise pickle.UnpicklingError(f"AWS managed policy {arn} is not one moto loads")
        raise pickle.UnpicklingError(f"unknown persistent id {pid!r}")

