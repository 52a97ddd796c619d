"""Leaves: the numerous objects of a moto package, stored one by one, so that a snapshot of the
package costs what changed plus a small skeleton (emulator/gateway/fallback_state.py).

A snapshot pickles a package's whole state. Most of it, by volume, is a few kinds of objects
that a package holds by the thousand: SQS's messages, S3's objects (their metadata; the bodies
are files of their own, fallback_blobs.Blobs). Those are *leaves*: in the package's pickle (the
*skeleton*) each is a reference, ``_leaf(<leaf id>)``, and its own pickle is a row of the
package's database (emulator/gateway/fallback_store.py), written when it is new or changed and
deleted when no longer referenced. A snapshot then pickles the skeleton (one short reference
per leaf: the O(N) part left, ~1 µs a leaf) and the leaves that changed since the last one.

Leaf classes (``LEAF_CLASSES``): ``moto.sqs.models.Message``, ``moto.s3.models.FakeKey`` (object
versions and multipart parts alike). Anything else of a package (queues, buckets, delete markers,
in-progress multipart uploads, tags, policies) is in its skeleton, re-pickled whole every time as
before; but for *string sets* (``STRING_SETS``: SQS's deleted receipt handles, which grow with
every message consumed), written a row per string, by difference with what the rows hold (two
set differences in C per snapshot: exact, no marks needed).

Change detection must be exact: a change not written is data silently lost at the next start.
* Every attribute set or deleted on a leaf (``obj.x = ...``, ``setattr``, ``del obj.x``, a
  property's setter, which sets through the instance) marks it dirty: the leaf classes'
  ``__setattr__`` / ``__delattr__`` are replaced (``_hook``) by ones that call the original and
  *then* add ``id(obj)`` to the package's dirty set. After, not before: a snapshot takes the
  dirty set away before it pickles, so a change it did not see is marked again after it.
* What changes a leaf *in place* (a dict, list or object inside it, no attribute set) was
  audited in moto 5.2.6: moto.sqs and moto.s3 (models, responses) read, and all of moto searched
  for the leaves' mutable members (``message_attributes``, ``system_attributes``,
  ``_old_receipt_handles``, ``_metadata``/``metadata``, ``acl``/``grants``, ``multipart``/``parts``,
  ``_value_buffer``) and for the code that gets hold of a leaf (SNS, EventBridge and Lambda send
  through SQSBackend.send_message; Lambda reads S3 keys):
  - ``Message._old_receipt_handles``: appended by ``mark_received`` (ReceiveMessage), which then
    sets ``receipt_handle``, so the message is marked after the append.
  - ``Message.message_attributes``, ``.system_attributes``: set whole at SendMessage;
    ``_filter_message_attributes`` replaces them on the *copies* ReceiveMessage answers with.
  - ``FakeKey._metadata`` (``set_metadata``: ``update`` in place): on keys made in the same
    request (PutObject, PostObject, CopyObject, CompleteMultipartUpload), which holds the package's
    shared lock: no snapshot runs between the new key and its metadata, and a new key is written
    whole anyway. But CopyObject passes the *source's* metadata to ``set_metadata``, which pops its
    Content-Encoding and puts it back: ``S3Backend.copy_object`` marks its ``src_key`` after each
    call (``MARK_AFTER``).
  - ``FakeKey.acl``: replaced (``set_acl``), its grants never changed in place.
  - ``FakeKey.multipart`` (a completed upload: its parts, FakeKeys, are leaves of their own; the
    upload itself is written inside the key that holds it): not changed after completion but by
    ``dispose``, which sets ``disposed`` on the parts. CopyObject gives the copy the source's
    upload object; after a restart each has its own copy of it, the parts still shared.
  - ``FakeKey._value_buffer`` (the body): written by the ``value`` setter only; ``etag``,
    ``status`` (restore) and ``dispose`` set attributes.
  - tags (``backend.tagger``), versions (``bucket.keys``), delete markers, queues' message
    lists and in-flight sets: the skeleton's.
* Defense in depth: an *audit* re-pickles the clean leaves and compares them with their rows
  (FallbackState.audit): when idle (``EMULATOR_FALLBACK_AUDIT``, seconds, default 60), or after
  every snapshot (``always``, what the tests run with). A leaf found changed is logged (a moto
  change this module does not know about) and written.

A leaf is known by ``id(obj)`` while the table holds it (strongly: the id stays its own); one no
longer reachable from the skeleton at a snapshot is dropped from the table and its row deleted.
"""

from __future__ import annotations

import collections
import functools
import importlib
import inspect
import itertools
import sys
from collections.abc import Callable, Iterable
from typing import Any

# package -> the (module, class) of its leaves.
LEAF_CLASSES: dict[str, tuple[tuple[str, str], ...]] = {
    "sqs": (("moto.sqs.models", "Message"),),
    "s3": (("moto.s3.models", "FakeKey"),),
}

# package -> (module, class, attributes): sets of strings held by objects of the skeleton that
# only grow with use, stored a row per string and written by difference (LeafPlan.string_set). SQS's
# queues keep every receipt handle of every message ever deleted (185 characters each), so that a
# second delete of one succeeds: after 100,000 messages consumed, 18 MB in every snapshot.
STRING_SETS: dict[str, tuple[tuple[str, str, tuple[str, ...]], ...]] = {
    "sqs": (("moto.sqs.models", "Queue", ("deleted_messages",)),),
}

# package -> (module, class, method, argument): moto methods that change a leaf passed to them in
# place, without setting an attribute on it. After each call the leaf is marked.
MARK_AFTER: dict[str, tuple[tuple[str, str, str, str], ...]] = {
    # set_metadata(src_key.metadata) pops the source's Content-Encoding and puts it back.
    "s3": (("moto.s3.models", "S3Backend", "copy_object", "src_key"),),
}

_DIRTY: dict[str, set[int]] = {}  # package -> ids of its leaves changed since they were taken (the hooks add)
_HOOK_MARK = "_emulator_leaf_hook"


def _hook(cls: type, dirty: set[int]) -> None:
    """Make every attribute set or deleted on an instance of ``cls`` mark it dirty."""
    if cls.__dict__.get(_HOOK_MARK):
        return
    set_attr: Callable[[Any, str, Any], None] = cls.__setattr__  # type: ignore[assignment]
    del_attr: Callable[[Any, str], None] = cls.__delattr__  # type: ignore[assignment]

    def __setattr__(self: Any, name: str, value: Any) -> None:
        set_attr(self, name, value)
        dirty.add(id(self))  # after the change: a snapshot that took the mark saw it

    def __delattr__(self: Any, name: str) -> None:
        del_attr(self, name)
        dirty.add(id(self))

    cls.__setattr__ = __setattr__  # type: ignore[assignment,method-assign]
    cls.__delattr__ = __delattr__  # type: ignore[assignment,method-assign]
    setattr(cls, _HOOK_MARK, True)


def _mark_after(cls: type, method: str, argument: str, dirty: set[int]) -> None:
    """Wrap ``cls.method`` so that its ``argument`` (a leaf) is marked after every call."""
    original = getattr(cls, method)  # another wrapper perhaps (fallback_patches): composes
    if getattr(original, _HOOK_MARK, False):
        return
    position = list(inspect.signature(original).parameters).index(argument)

    @functools.wraps(original)
    def marking(*args: Any, **kwargs: Any) -> Any:
        try:
            return original(*args, **kwargs)
        finally:
            leaf = kwargs[argument] if argument in kwargs else args[position] if position < len(args) else None
            if leaf is not None:
                dirty.add(id(leaf))

    setattr(marking, _HOOK_MARK, True)
    setattr(cls, method, marking)


def _subclasses(cls: type) -> set[type]:
    found: set[type] = set()
    stack = [cls]
    while stack:
        subclasses: list[type] = type.__subclasses__(stack.pop())
        for sub in subclasses:
            if sub not in found:
                found.add(sub)
                stack.append(sub)
    return found


def string_set_owners(package: str) -> dict[type, tuple[str, ...]]:
    """The classes (their subclasses too) whose objects hold string sets (STRING_SETS)."""
    owners: dict[type, tuple[str, ...]] = {}
    for module_name, class_name, attributes in STRING_SETS.get(package, ()):
        module = sys.modules.get(module_name) or importlib.import_module(module_name)
        cls = getattr(module, class_name)
        for owner in (cls, *_subclasses(cls)):
            owners[owner] = attributes
    return owners


def leaf_types(package: str) -> tuple[frozenset[type], set[int]] | None:
    """The leaf classes of a package (their subclasses too) and its dirty set, the classes
    hooked; None for a package without leaves."""
    names = LEAF_CLASSES.get(package)
    if not names:
        return None
    dirty = _DIRTY.setdefault(package, set())
    types: set[type] = set()
    for module_name, class_name in names:
        module = sys.modules.get(module_name) or importlib.import_module(module_name)
        cls = getattr(module, class_name)
        _hook(cls, dirty)  # subclasses inherit it
        types |= {cls, *_subclasses(cls)}
    for module_name, class_name, method, argument in MARK_AFTER.get(package, ()):
        module = sys.modules.get(module_name) or importlib.import_module(module_name)
        _mark_after(getattr(module, class_name), method, argument, dirty)
    return frozenset(types), dirty


class LeafTable:
    """The leaves of a package as its database holds them: id -> object (held, so that its
    ``id`` stays its own), ``id(object)`` -> id, the leaves each one references, the S3 bodies
    each one names. Changed only under FallbackState's snapshot mutex."""

    def __init__(self, package: str, types: frozenset[type], dirty: set[int], fresh: bool) -> None:
        self.package = package
        self.types = types
        self.dirty = dirty
        self.fresh = fresh  # not (yet) what the database holds: the next commit rewrites every row
        self.by_id: dict[int, int] = {}
        self.objs: dict[int, Any] = {}
        self.children: dict[int, tuple[int, ...]] = {}
        self.blobs: dict[int, tuple[str, ...]] = {}
        self.blob_refs: collections.Counter[str] = collections.Counter()
        self.swept = False  # S3: bodies no leaf names deleted once (after the first commit)
        self._ids = itertools.count(1)
        # String sets (STRING_SETS): id -> the set (held), id(set) -> id, id -> what its rows hold.
        self.set_owners = string_set_owners(package)
        self.sets: dict[int, set[str | None]] = {}
        self.set_ids: dict[int, int] = {}
        self.sets_stored: dict[int, set[str | None]] = {}

    def allocate(self) -> int:
        return next(self._ids)

    def adopt(self, leaves: dict[int, Any], meta: Iterable[tuple[int, tuple[int, ...], tuple[str, ...]]]) -> None:
        """What a load made: the leaves and their rows' references and bodies."""
        for lid, obj in leaves.items():
            self.by_id[id(obj)] = lid
            self.objs[lid] = obj
        for lid, children, blobs in meta:
            if lid not in self.objs:
                continue
            if children:
                self.children[lid] = children
            if blobs:
                self.blobs[lid] = blobs
                self.blob_refs.update(blobs)
        self._ids = itertools.count(max(self.objs, default=0) + 1)
        self.fresh = False

    def adopt_sets(self, sets: dict[int, set[str | None]]) -> None:
        """The string sets a load made (each as its rows hold it)."""
        for sid, values in sets.items():
            self.sets[sid] = values
            self.set_ids[id(values)] = sid
            self.sets_stored[sid] = set(values)
        if sets:
            self._ids = itertools.count(max(max(self.objs, default=0), max(sets)) + 1)

    def take_dirty(self) -> set[int]:
        """The marks so far, taken away (before pickling; a change made while it pickles marks
        again). ``set(...)`` and ``difference_update`` each run under the GIL at once."""
        batch = set(self.dirty)
        self.dirty.difference_update(batch)
        return batch

    def give_back(self, batch: set[int]) -> None:
        """A snapshot that failed: its marks stay for the next."""
        self.dirty |= batch

    def clean(self) -> None:
        """After a load: the objects it made are what the rows hold."""
        self.dirty.clear()


class LeafRecord:
    __slots__ = ("blobs", "children", "data", "types")

    def __init__(self, data: bytes, children: tuple[int, ...], blobs: tuple[str, ...], types: set[type]) -> None:
        self.data = data
        self.children = children
        self.blobs = blobs
        self.types = types


class LeafPlan:
    """One snapshot's leaves: those the skeleton references, the new ones (ids allocated), the
    pickles of the new and changed ones, and the rows to delete. Made under the package's
    exclusive lock; applied to the table once the database committed it."""

    def __init__(self, table: LeafTable, batch: set[int]) -> None:
        self.table = table
        self.batch = batch
        self.new_ids: dict[int, int] = {}  # id(obj) -> leaf id, of leaves new in this snapshot
        self.new_objs: dict[int, Any] = {}
        self.todo: list[int] = []  # leaves to pickle
        self.records: dict[int, LeafRecord] = {}
        self.roots: set[int] = set()  # the leaves the skeleton references
        self.deleted: list[int] = []
        self.reachable_new: list[int] = []
        # String sets met: id -> (the set, strings added, strings removed) since its rows.
        self.set_changes: dict[int, tuple[set[str | None], set[str | None], set[str | None]]] = {}
        self.new_set_ids: dict[int, int] = {}
        self.sets_deleted: list[int] = []
        self.applied = False

    def ref(self, obj: Any, refs: set[int]) -> int:
        """The id of a leaf met while pickling (allocated if new), noted in ``refs``."""
        key = id(obj)
        lid = self.table.by_id.get(key)
        if lid is None:
            lid = self.new_ids.get(key)
            if lid is None:
                lid = self.new_ids[key] = self.table.allocate()
                self.new_objs[lid] = obj
                self.todo.append(lid)
        refs.add(lid)
        return lid

    def string_set(self, values: set[str | None]) -> int | None:
        """The id of a string set met while pickling the skeleton, and what changed in it since
        its rows (two set differences, in C); None if it holds anything but strings and None
        (then it is pickled in place). (SQS adds a message's first receipt handle, None, with
        the others.)"""
        table = self.table
        sid = table.set_ids.get(id(values))
        if sid is None:
            sid = self.new_set_ids.get(id(values))
        if sid is not None and sid in self.set_changes:
            return sid  # met before in this snapshot
        stored = table.sets_stored.get(sid, set()) if sid is not None else set()
        added = values - stored
        if any(type(value) is not str and value is not None for value in added):
            return None
        if sid is None:
            sid = self.new_set_ids[id(values)] = table.allocate()
        self.set_changes[sid] = (values, added, stored - values)
        return sid

    def obj(self, lid: int) -> Any:
        found = self.table.objs.get(lid)
        return self.new_objs[lid] if found is None else found

    def changed(self) -> None:
        """Queue the known leaves marked dirty (after the skeleton: its new leaves are queued)."""
        by_id = self.table.by_id
        for key in self.batch:
            lid = by_id.get(key)
            if lid is not None:
                self.todo.append(lid)

    def pickle_all(self, write: Callable[[int, Any], LeafRecord]) -> None:
        """Pickle every queued leaf (``write``: leaf id, object -> its record); a leaf pickled may
        reference new ones, queued in turn."""
        while self.todo:
            lid = self.todo.pop()
            if lid not in self.records:
                self.records[lid] = write(lid, self.obj(lid))

    def settle(self) -> None:
        """What the skeleton and the leaves reach; the rest goes (its rows deleted)."""
        table = self.table
        reachable = set(self.roots)
        parents = [lid for lid in table.children if lid not in self.records]
        parents += [lid for lid, record in self.records.items() if record.children]
        frontier = [lid for lid in parents if lid in reachable]
        while frontier:
            for child in self._children(frontier.pop()):
                if child not in reachable:
                    reachable.add(child)
                    if self._children(child):
                        frontier.append(child)
        for lid in [lid for lid in self.records if lid not in reachable]:
            del self.records[lid]  # a changed leaf deleted meanwhile, or a new one only it named
        self.sets_deleted = [sid for sid in table.sets if sid not in self.set_changes]
        known = len(reachable) - sum(1 for lid in self.new_objs if lid in reachable)
        if known != len(table.objs):
            self.deleted = sorted(table.objs.keys() - reachable)
        self.reachable_new = [lid for lid in self.new_objs if lid in reachable]

    def _children(self, lid: int) -> tuple[int, ...]:
        record = self.records.get(lid)
        return record.children if record is not None else self.table.children.get(lid, ())

    def apply(self) -> list[str]:
        """The database holds the snapshot: the table follows. Returns the S3 bodies no leaf
        names any more."""
        table = self.table
        freed: list[str] = []
        for lid in self.reachable_new:
            obj = self.new_objs[lid]
            table.by_id[id(obj)] = lid
            table.objs[lid] = obj
        for lid, record in self.records.items():
            if record.children:
                table.children[lid] = record.children
            else:
                table.children.pop(lid, None)
            old = table.blobs.get(lid, ())
            if old != record.blobs:
                table.blob_refs.update(record.blobs)
                if record.blobs:
                    table.blobs[lid] = record.blobs
                else:
                    table.blobs.pop(lid, None)
                freed += _release(table.blob_refs, old)
        for lid in self.deleted:
            obj = table.objs.pop(lid)
            if table.by_id.get(id(obj)) == lid:
                del table.by_id[id(obj)]
            table.children.pop(lid, None)
            freed += _release(table.blob_refs, table.blobs.pop(lid, ()))
        for sid, (values, added, removed) in self.set_changes.items():
            if sid not in table.sets:
                table.sets[sid] = values
                table.set_ids[id(values)] = sid
                table.sets_stored[sid] = set(added)
            else:
                stored = table.sets_stored[sid]
                stored |= added
                stored -= removed
        for sid in self.sets_deleted:
            values = table.sets.pop(sid)
            table.set_ids.pop(id(values), None)
            table.sets_stored.pop(sid, None)
        table.fresh = False
        self.applied = True
        return [name for name in freed if not table.blob_refs.get(name)]

    def abandon(self) -> None:
        """The snapshot failed: the marks it took stay."""
        if not self.applied:
            self.table.give_back(self.batch)
            self.applied = True


def _release(counts: collections.Counter[str], names: tuple[str, ...]) -> list[str]:
    freed = []
    for name in names:
        counts[name] -= 1
        if counts[name] <= 0:
            del counts[name]
            freed.append(name)
    return freed
