"""Pickling moto's state for the fallback's snapshots (emulator/gateway/fallback_state.py).

The standard (C) ``pickle``, with a ``reducer_override`` for what moto keeps that pickle
refuses (locks, conditions, ``defaultdict``s of lambdas, cryptography keys), for references to
*other* packages' backends (written as references, resolved against the live backends at
load), for the model objects of other packages that a package shares (an SQS queue's Lambda
event source mappings, a CloudFormation stack's resources: written as where they live in their
own package, so that both share one object again once loaded), for S3's object bodies (files of
their own, named by content) and, for IAM, persistent ids for the ~1,300 AWS managed policies
every IAM backend loads anew.

Leaves (emulator/gateway/fallback_leaves.py): in a package with leaf classes (SQS's messages, S3's
objects), each leaf is written as ``_leaf(<id>)`` (``SnapshotPickler.reducer_override``: a type
check and a dict lookup per leaf) and pickled on its own (``dump_leaf``), its state rooted at
``_new_leaf(<id>, <class>)``, which registers it before its state is set (so that leaves naming
each other load). At load, ``_leaf`` loads a leaf's row on first use (``Loading.leaf``). A string
set of the skeleton (fallback_leaves.STRING_SETS) is ``_string_set(<id>)``, its rows loaded.
The leaf references go through ``reducer_override``, which this pickler had already: it runs
once per object that is not of a builtin type (ints, strings, dicts, lists... never reach it),
so the leaf check adds one set lookup to what ran anyway; a ``dispatch_table`` would save that
lookup but not the Python call each leaf costs either way.

This module holds the picklers, every reducer and, next to each, the function its pickles name
for the load (``_new_object``, ``_set_s3_key_state``, ``_leaf``, ``_resolve``...). Those
functions are written into every snapshot by this module's path, so they stay here: a
snapshot written before still loads, and a snapshot is the same bytes as before (the audit
compares leaves byte for byte). What neither writes nor is named in a snapshot is apart:
the load in progress and the unpickler (fallback_loading.py), S3's body files
(fallback_blobs.py), where moto's objects live (fallback_locations.py). Their public names are
importable from here as before.
"""

from __future__ import annotations

import _thread
import array
import collections
import copy
import copyreg
import functools
import importlib
import io
import itertools
import pickle
import threading
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from emulator.gateway.fallback_blobs import BLOB_CHUNK, BLOBS, Blobs
from emulator.gateway.fallback_loading import (
    Loading,
    SnapshotUnpickler,
    current_loading,
    fresh_aws_policies,
    load_context,
)
from emulator.gateway.fallback_locations import (
    class_package,
    follow,
    index_package,
    locate,
    package_of,
)

if TYPE_CHECKING:
    from emulator.gateway.fallback_leaves import LeafPlan

__all__ = [
    "BLOBS",
    "Blobs",
    "IamPickler",
    "Loading",
    "SnapshotPickler",
    "SnapshotUnpickler",
    "Unpersistable",
    "current_loading",
    "load_context",
    "locate",
    "package_of",
]


def _new_event(is_set: bool) -> threading.Event:
    event = threading.Event()
    if is_set:
        event.set()
    return event


def _load_private_key(pem: bytes) -> Any:
    """A private key of a snapshot, which this process wrote from a key it held: its RSA
    checks (~36 ms a key: moto gives every KMS key an RSA-2048 one, so 500 keys took ~20 s at
    start) prove nothing new, and are skipped."""
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    return load_pem_private_key(pem, password=None, unsafe_skip_rsa_key_validation=True)


def _load_public_key(pem: bytes) -> Any:
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    return load_pem_public_key(pem)


def _load_certificate(pem: bytes) -> Any:
    from cryptography import x509

    return x509.load_pem_x509_certificate(pem)


def _load_csr(pem: bytes) -> Any:
    from cryptography import x509

    return x509.load_pem_x509_csr(pem)


def _by_reference(factory: Any) -> bool:
    """Whether pickle can name a defaultdict's factory (a class, a module-level function)."""
    return "<" not in getattr(factory, "__qualname__", "")


def _construct(cls: Any, base: Any, args: tuple[Any, ...]) -> Any:
    """An instance of a subclass of ``base`` made as ``base`` would be: the subclass's own
    ``__init__`` may want other arguments (SSM's ``ParameterDict(account_id, region_name)``)."""
    obj = cls.__new__(cls)
    base.__init__(obj, *args)
    return obj


def _reduce_defaultdict(pickler: Any, obj: Any) -> Any:
    cls = type(obj)
    factory = obj.default_factory
    if factory is not None and not _by_reference(factory):
        # ``defaultdict(lambda: defaultdict(dict))``: the lambda cannot be pickled; what it
        # returns can, and a deep copy of it is what the lambda would make.
        factory = functools.partial(copy.deepcopy, factory())
    elif cls is collections.defaultdict:
        return NotImplemented
    if cls is collections.defaultdict:
        return cls, (factory,), None, None, iter(obj.items())
    # defaultdict's own reduce calls the class with the factory, which a subclass may refuse.
    return _construct, (cls, collections.defaultdict, (factory,)), getattr(obj, "__dict__", None) or None, None, iter(obj.items())


def _reduce_constructed(base: type, pickler: Any, obj: Any) -> Any:
    """A subclass of OrderedDict, deque or Counter with its own ``__init__``: their reduce calls
    the class with the base's arguments, which the subclass may refuse."""
    reduced = obj.__reduce_ex__(pickle.HIGHEST_PROTOCOL)
    if not isinstance(reduced, tuple) or reduced[0] is not type(obj):
        return NotImplemented
    return (_construct, (type(obj), base, reduced[1]), *reduced[2:])


def _reduce_raw_dict(pickler: Any, obj: Any) -> Any:
    """A moto dict subclass whose ``items`` or ``__setitem__`` is not dict's (S3's
    ``_VersionedKeyStore``: ``items()`` gives each key's latest version only and ``__setitem__``
    appends a version): pickle's own reduce goes through both and would keep only the latest
    versions. Written and loaded as the plain dict it is underneath."""
    attrs = getattr(obj, "__dict__", None) or {}
    if getattr(pickler, "plan", None) is not None and pickler.root is None and pickler.leaf_types:
        packed = _pack_leaf_lists(pickler, obj)
        if packed is not None:
            return _new_object, (type(obj),), (packed, attrs), None, None, _set_packed_dict
    return _new_object, (type(obj),), (dict(dict.items(obj)), attrs), None, None, _set_raw_dict


def _pack_leaf_lists(pickler: Any, obj: dict[Any, Any]) -> tuple[list[Any], array.array[int], array.array[int], list[Any]] | None:
    """A dict of lists mostly of leaves (S3's keys: name -> versions) in a skeleton, packed: its
    keys, its lists' lengths, their elements as leaf ids in one array (another element: ``-n``,
    the n-th of ``others``, pickled as usual). The leaves' references, ~1 µs each through
    ``reducer_override``, cost a few C loops here (the bucket is the O(N) of an S3 snapshot).
    None when a value is not a list."""
    keys = list(dict.keys(obj))
    values = list(dict.values(obj))
    if keys != list(dict.keys(obj)):  # changed in between (by a call running unlocked): the snapshot is taken again
        raise RuntimeError("dictionary changed size during iteration")
    if set(map(type, values)) - {list}:
        return None
    flat = list(itertools.chain.from_iterable(values))
    lids = list(map(pickler.leaf_ids.get, map(id, flat)))
    others: list[Any] = []
    position = 0
    while True:  # new leaves, and what is no leaf (delete markers): one scan
        try:
            position = lids.index(None, position)
        except ValueError:
            break
        element = flat[position]
        if type(element) in pickler.leaf_types:
            lids[position] = pickler.plan.ref(element, pickler.leaf_refs)
        else:
            others.append(element)
            lids[position] = -len(others)
        position += 1
    refs = pickler.leaf_refs
    refs.update(lids)
    if others:
        refs.difference_update(range(-len(others), 0))
    return keys, array.array("I", map(len, values)), array.array("q", lids), others


def _set_packed_dict(obj: Any, state: tuple[tuple[list[Any], array.array[int], array.array[int], list[Any]], dict[str, Any]]) -> None:
    (keys, lengths, lids, others), attrs = state
    loading = current_loading()
    if loading is None:
        raise pickle.UnpicklingError("leaves outside a snapshot load")
    leaf = loading.leaf
    elements = iter([leaf(lid) if lid > 0 else others[-lid - 1] for lid in lids])
    dict.update(obj, ((key, list(itertools.islice(elements, length))) for key, length in zip(keys, lengths, strict=True)))
    obj.__dict__.update(attrs)


def _set_raw_dict(obj: Any, state: tuple[dict[Any, Any], dict[str, Any]]) -> None:
    items, attrs = state
    dict.update(obj, items)
    obj.__dict__.update(attrs)


_DOCKER_CLIENT = "_DockerModel__docker_client"


def _reduce_docker_model(pickler: Any, obj: Any) -> Any:
    """A moto ``DockerModel`` (a Lambda function): without its Docker client, made again on
    demand (``docker_client`` makes one when it is None). moto's own ``LambdaFunction.__getstate__``
    drops the attribute altogether, and a function loaded so fails every Invoke (and every SQS
    send to a queue with an event source mapping) with an AttributeError instead of reaching
    Docker."""
    getstate = getattr(obj, "__getstate__", None)
    state = getstate() if getstate is not None else obj.__dict__
    if not isinstance(state, dict):
        return NotImplemented
    return _new_object, (type(obj),), {k: v for k, v in state.items() if k != _DOCKER_CLIENT}, None, None, _set_docker_state


def _set_docker_state(obj: Any, state: dict[str, Any]) -> None:
    obj.__dict__.update(state)
    obj.__dict__[_DOCKER_CLIENT] = None


def _reduce_rlock(pickler: Any, obj: Any) -> Any:
    return _thread.RLock, ()


def _reduce_lock(pickler: Any, obj: Any) -> Any:
    return _thread.allocate_lock, ()


def _reduce_condition(pickler: Any, obj: Any) -> Any:
    return threading.Condition, (obj._lock,)  # the same (new) lock as its owner's, e.g. a queue.Queue's mutex


def _reduce_event(pickler: Any, obj: Any) -> Any:
    return _new_event, (obj.is_set(),)


class _Gone:
    pass


def _dead_ref() -> weakref.ref[Any]:
    return weakref.ref(_Gone())  # dead at once: nothing else holds the object


def _reduce_weakref(pickler: Any, obj: Any) -> Any:
    target = obj()
    return (_dead_ref, ()) if target is None else (weakref.ref, (target,))


def _reduce_weak_dict(pickler: Any, obj: Any) -> Any:
    # Written with its contents, held strongly here: what else held them (and still holds
    # them once loaded) is in the snapshot too, or they go as they would have.
    return type(obj), (dict(obj.items()),)


def _reduce_weak_set(pickler: Any, obj: Any) -> Any:
    return type(obj), (list(obj),)


def _reduce_backend_dict(pickler: Any, obj: Any) -> Any:
    return _resolve, ("dict", *locate(obj))


def _reduce_reference(pickler: Any, obj: Any) -> Any:
    """A backend (or an account's backends) of another package: a reference to the live one."""
    token = pickler.references.get(id(obj))
    return NotImplemented if token is None else (_resolve, token)


_AWS_POLICIES = "_emulator_aws_managed_policies"


def _reduce_iam_backend(pickler: Any, obj: Any) -> Any:
    """IAM's backend without its AWS managed policies (a new backend loads them again): only
    their attachment counts and ids, so that GetPolicy answers the same PolicyId after a restart."""
    from moto.iam.models import AWSManagedPolicy

    state = dict(obj.__dict__)
    aws = state.pop("aws_managed_policies", None) or []
    state["managed_policies"] = {arn: p for arn, p in state.get("managed_policies", {}).items() if not isinstance(p, AWSManagedPolicy)}
    counts = {p.arn: p.attachment_count for p in aws if p.attachment_count}
    state[_AWS_POLICIES] = (obj.account_id, obj.region_name, counts, ",".join(p.id for p in aws), len(aws))
    return _new_object, (type(obj),), state, None, None, _set_iam_state


def _new_object(cls: Any) -> Any:
    return cls.__new__(cls)


def _set_iam_state(obj: Any, state: dict[str, Any]) -> None:
    account, region, counts, ids, count = state.pop(_AWS_POLICIES)
    loading = current_loading()
    aws = loading.aws_policies(account, region) if loading is not None else fresh_aws_policies(account, region)
    policies = list(aws.values())
    if len(policies) == count and ids:
        for policy, policy_id in zip(policies, ids.split(","), strict=True):
            policy.id = policy_id
    for arn, attachments in counts.items():
        if arn in aws:
            aws[arn].attachment_count = attachments
    obj.__dict__.update(state)
    obj.aws_managed_policies = policies
    obj.managed_policies = {**aws, **state["managed_policies"]}



def _crypto_reducer(cls: type) -> Callable[[Any, Any], Any] | None:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import (
        dsa,
        ec,
        ed448,
        ed25519,
        rsa,
        x448,
        x25519,
    )

    pem = serialization.Encoding.PEM
    private = (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey, ed25519.Ed25519PrivateKey, ed448.Ed448PrivateKey, dsa.DSAPrivateKey, x25519.X25519PrivateKey, x448.X448PrivateKey)
    public = (rsa.RSAPublicKey, ec.EllipticCurvePublicKey, ed25519.Ed25519PublicKey, ed448.Ed448PublicKey, dsa.DSAPublicKey, x25519.X25519PublicKey, x448.X448PublicKey)
    if issubclass(cls, private):
        pkcs8, none = serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        return lambda pickler, key: (_load_private_key, (key.private_bytes(pem, pkcs8, none),))
    if issubclass(cls, public):
        spki = serialization.PublicFormat.SubjectPublicKeyInfo
        return lambda pickler, key: (_load_public_key, (key.public_bytes(pem, spki),))
    if issubclass(cls, x509.Certificate):
        return lambda pickler, cert: (_load_certificate, (cert.public_bytes(pem),))
    if issubclass(cls, x509.CertificateSigningRequest):
        return lambda pickler, csr: (_load_csr, (csr.public_bytes(pem),))
    return None


def _reducer_for(cls: type) -> Callable[[Any, Any], Any] | None:
    from moto.core.base_backend import AccountSpecificBackend, BackendDict, BaseBackend

    if cls is _thread.RLock:
        return _reduce_rlock
    if cls is _thread.LockType:
        return _reduce_lock
    if issubclass(cls, threading.Condition):
        return _reduce_condition
    if issubclass(cls, threading.Event):
        return _reduce_event
    if cls is weakref.ReferenceType:
        return _reduce_weakref
    if cls in (weakref.WeakValueDictionary, weakref.WeakKeyDictionary):  # Lambda's function ARNs
        return _reduce_weak_dict
    if cls is weakref.WeakSet:
        return _reduce_weak_set
    if issubclass(cls, collections.defaultdict):
        return _reduce_defaultdict
    for base in (collections.OrderedDict, collections.Counter, collections.deque):
        if issubclass(cls, base) and cls is not base and cls.__init__ is not base.__init__:
            return functools.partial(_reduce_constructed, base)
    if issubclass(cls, BackendDict):
        return _reduce_backend_dict
    if issubclass(cls, BaseBackend | AccountSpecificBackend):
        if cls.__module__ == "moto.iam.models" and cls.__name__ == "IAMBackend":
            return lambda pickler, obj: _reduce_reference(pickler, obj) if id(obj) in pickler.references else _reduce_iam_backend(pickler, obj)
        return _reduce_reference
    if issubclass(cls, dict) and cls.__module__.startswith("moto.") and (cls.items is not dict.items or cls.__setitem__ is not dict.__setitem__):
        return _reduce_raw_dict
    if cls.__module__.startswith("cryptography"):
        return _crypto_reducer(cls)
    from moto.utilities.docker_utilities import DockerModel

    if issubclass(cls, DockerModel):
        return _reduce_docker_model
    if cls.__module__ == "moto.s3.models":
        from moto.s3.models import FakeKey

        if issubclass(cls, FakeKey):
            return _reduce_s3_key
    return None


# --- objects of other packages -----------------------------------------------------------------


def _reduce_foreign(pickler: Any, obj: Any) -> Any:
    """A model object of another package (an SQS queue's Lambda event source mapping, a
    CloudFormation stack's SQS queue): written as where it lives in its own package, resolved at
    load against the live (restored) object, so that the two packages share it again as they
    did. Written by value the old way, it would load as a copy that the owner's later changes
    (UpdateEventSourceMapping) never reach. Its state goes along, for a load that does not find
    it (deleted meanwhile, or its package's snapshot older)."""
    owner = class_package(type(obj))
    if owner is None or owner == pickler.package or not pickler.instances:
        return NotImplemented
    # The index of a package is kept while it has no new write (it walks the whole package); a
    # path found is checked to lead to this very object, so a stale one is never written.
    version = pickler.versions.get(owner, 0)
    cached = pickler.indexes.get(owner)
    if cached is None or cached[0] != version:
        cached = pickler.indexes[owner] = (version, index_package(owner, pickler.instances))
    where = cached[1].get(id(obj))
    if where is None or follow(*where) is not obj:
        return NotImplemented
    getstate = getattr(obj, "__getstate__", None)
    state = getstate() if getstate is not None else obj.__dict__
    if not isinstance(state, dict):
        return NotImplemented
    return _resolve_object, (type(obj), *where), {k: v for k, v in state.items() if k != _DOCKER_CLIENT}, None, None, _set_foreign_state


def _resolve_object(cls: Any, module: str, attr: str, account: str, region: str, steps: tuple[tuple[str, Any], ...]) -> Any:
    value = follow(module, attr, account, region, steps)
    if type(value) is cls:
        return value
    value = cls.__new__(cls)  # gone: made again from the state written with it
    loading = current_loading()
    if loading is not None:
        loading.remade[id(value)] = value
    return value


def _set_foreign_state(obj: Any, state: dict[str, Any]) -> None:
    loading = current_loading()
    if loading is not None and loading.remade.pop(id(obj), None) is not obj:
        return  # the live object: its own package's state is the one
    if hasattr(type(obj), "__setstate__"):
        obj.__setstate__(state)
    else:
        obj.__dict__.update(state)
    if _reducer_for(type(obj)) is _reduce_docker_model:
        obj.__dict__[_DOCKER_CLIENT] = None


def _reduce_s3_key(pickler: Any, key: Any) -> Any:
    blobs: Blobs | None = getattr(pickler, "blobs", None)
    name = blobs.save(key) if blobs is not None else None
    if name is None and (blobs is None or not key.__dict__.get("disposed")):
        return NotImplemented  # moto's own __getstate__: the body inside the snapshot
    # A disposed key (deleted, or a part of a completed upload) has no body left: None, loaded
    # as disposed again (moto's __getstate__ would write "" and load an open empty body).
    state = {k: v for k, v in key.__dict__.items() if k not in ("_value_buffer", "lock")}
    state[_BLOB] = name
    return _new_object, (type(key),), state, None, None, _set_s3_key_state


_BLOB = "_emulator_blob"


def _set_s3_key_state(key: Any, state: dict[str, Any]) -> None:
    import tempfile

    name = state.pop(_BLOB)
    loading = current_loading()
    if loading is None or loading.blob_dir is None:
        raise pickle.UnpicklingError("an S3 object body outside a snapshot load")
    key.__dict__.update(state)
    key._value_buffer = tempfile.SpooledTemporaryFile(max_size=key._max_buffer_size)  # noqa: SIM115 - the key owns it, as in moto
    if name is None:
        key._value_buffer.close()  # disposed
    else:
        with open(loading.blob_dir / name, "rb") as fh:
            while block := fh.read(BLOB_CHUNK):
                key._value_buffer.write(block)
    key.lock = threading.Lock()


_NEWOBJ = getattr(copyreg, "__newobj__")  # noqa: B009 - not in typeshed
_UNKNOWN = object()
_REDUCERS: dict[type, Any] = {}


class SnapshotPickler(pickle.Pickler):
    """C pickle plus ``reducer_override``, called only for objects that are not of a builtin
    atomic or container type, where a ``persistent_id`` is called for every object, ints and
    strings included (so only IAM's pickler, which needs one, pays for it)."""

    def __init__(self, file: io.BytesIO, references: dict[int, tuple[Any, ...]]) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self.buffer = file
        self.references = references
        self.leaf_types: frozenset[type] = frozenset()  # the package's leaf classes (fallback_leaves)
        self.plan: LeafPlan | None = None  # the snapshot's leaves
        self.leaf_ids: dict[int, int] = {}  # id(leaf) -> its id, of the leaves written before (LeafTable.by_id)
        self.set_owners: dict[type, tuple[str, ...]] = {}  # classes holding string sets (fallback_leaves.STRING_SETS)
        self.leaf_refs: set[int] = set()  # the leaves this pickle references
        self.root: Any = None  # the leaf this pickle is of (its own state, not a reference)
        self.root_id = 0
        self.types: set[type] = set()  # the classes written (a new one: the snapshot is loaded back once)
        self.blobs: Blobs | None = None  # S3's: object bodies go to files of their own
        self.package: str | None = None  # the package pickled: other packages' model objects are references
        self.instances: list[Any] = []  # every BackendDict (where those objects are looked up)
        self.versions: dict[str, int] = {}  # package -> its writes so far (FallbackState's marks)
        self.indexes: dict[str, tuple[int, dict[int, tuple[Any, ...]]]] = {}  # package -> (version, fallback_locations.index_package), kept across snapshots

    def reducer_override(self, obj: Any) -> Any:
        cls = type(obj)
        if cls in self.leaf_types:
            if obj is not self.root:  # a reference (the skeleton's O(N) part: kept short)
                lid = self.leaf_ids.get(id(obj))
                if lid is None:
                    lid = self.plan.ref(obj, self.leaf_refs)  # type: ignore[union-attr]
                else:
                    self.leaf_refs.add(lid)
                return _leaf, (lid,)
            self.types.add(cls)
            return self._leaf_state(obj)
        self.types.add(cls)
        if cls in self.set_owners and self.root is None:
            reduced = self._with_string_sets(obj, self.set_owners[cls])
            if reduced is not NotImplemented:
                return reduced
        reducer = _REDUCERS.get(cls, _UNKNOWN)
        if reducer is _UNKNOWN:
            reducer = _REDUCERS[cls] = _reducer_for(cls)
        if (reducer is None or reducer is _reduce_docker_model) and self.package is not None and class_package(cls) not in (None, self.package):
            foreign = _reduce_foreign(self, obj)
            if foreign is not NotImplemented:
                return foreign
        if reducer is None:
            return NotImplemented
        return reducer(self, obj)


    def _leaf_state(self, obj: Any) -> Any:
        """The leaf this pickle is of: its class's reduce, made with ``_new_leaf``."""
        cls = type(obj)
        reducer = _REDUCERS.get(cls, _UNKNOWN)
        if reducer is _UNKNOWN:
            reducer = _REDUCERS[cls] = _reducer_for(cls)
        reduced = reducer(self, obj) if reducer is not None else NotImplemented
        if reduced is NotImplemented:
            reduced = obj.__reduce_ex__(pickle.HIGHEST_PROTOCOL)
        if isinstance(reduced, tuple) and len(reduced) >= 2 and reduced[0] in (_new_object, _NEWOBJ) and reduced[1] == (cls,):
            return (_new_leaf, (self.root_id, cls), *reduced[2:])
        return reduced

    def _with_string_sets(self, obj: Any, names: tuple[str, ...]) -> Any:
        """An object of the skeleton holding string sets: its reduce, each set a reference
        (``_string_set``), its strings rows of their own written by difference."""
        if self.plan is None or _reducer_for(type(obj)) is not None:
            return NotImplemented
        reduced = obj.__reduce_ex__(pickle.HIGHEST_PROTOCOL)
        if not isinstance(reduced, tuple) or len(reduced) < 3 or reduced[0] is not _NEWOBJ or not isinstance(reduced[2], dict):
            return NotImplemented
        state = dict(reduced[2])
        for name in names:
            values = state.get(name)
            if type(values) is set:
                sid = self.plan.string_set(values)
                if sid is not None:
                    state[name] = _StringSetRef(sid)
        return (reduced[0], reduced[1], state, *reduced[3:])

    def dump_leaf(self, lid: int, obj: Any) -> tuple[bytes, set[int], set[str], set[type]]:
        """A leaf's own pickle (this pickler reused, its memo cleared), the leaves it references,
        the S3 bodies it names and the classes written."""
        buffer = self.buffer
        buffer.seek(0)
        buffer.truncate()
        self.clear_memo()
        self.root, self.root_id = obj, lid
        self.leaf_refs, self.types = set(), set()
        if self.blobs is not None:
            self.blobs.named = set()
        try:
            self.dump(obj)
        finally:
            self.root = None
        return buffer.getvalue(), self.leaf_refs, self.blobs.named if self.blobs is not None else set(), self.types


    def dump_value(self, value: Any) -> bytes:
        """Any value's pickle, leaves as references (the audit compares attributes)."""
        buffer = self.buffer
        buffer.seek(0)
        buffer.truncate()
        self.clear_memo()
        self.root, self.leaf_refs = None, set()
        self.dump(value)
        return buffer.getvalue()


def _leaf(lid: int) -> Any:
    """A leaf, by id (fallback_leaves): loaded from its row on first use."""
    loading = current_loading()
    if loading is None:
        raise pickle.UnpicklingError("a leaf reference outside a snapshot load")
    return loading.leaf(lid)


def _new_leaf(lid: int, cls: Any) -> Any:
    """A leaf's object, registered before its state is set."""
    obj = cls.__new__(cls)
    loading = current_loading()
    if loading is not None:
        loading.leaves[lid] = obj
    return obj


class _StringSetRef:
    """A string set in a skeleton's state (fallback_leaves.STRING_SETS)."""

    __slots__ = ("sid",)

    def __init__(self, sid: int) -> None:
        self.sid = sid

    def __reduce__(self) -> tuple[Any, ...]:
        return _string_set, (self.sid,)


def _string_set(sid: int) -> set[str | None]:
    """A string set, by id: its rows."""
    loading = current_loading()
    if loading is None:
        raise pickle.UnpicklingError("a string set outside a snapshot load")
    return loading.string_set(sid)



class IamPickler(SnapshotPickler):
    """IAM's: AWS managed policies (attached to roles, groups, users) are persistent ids,
    resolved at load against a new backend's (moto loads them into every IAM backend)."""

    def __init__(self, file: io.BytesIO, references: dict[int, tuple[Any, ...]], policies: dict[int, tuple[str, ...]]) -> None:
        super().__init__(file, references)
        self.policies = policies

    def persistent_id(self, obj: Any) -> Any:
        return self.policies.get(id(obj))



def _resolve(kind: str, module: str, attr: str, *key: str) -> Any:
    """A reference to a live BackendDict (``kind`` "dict"), an account's backends ("account")
    or a region's backend ("backend"); the package it belongs to is restored first."""
    loading = current_loading()
    if loading is not None and loading.owner is not None:
        loading.owner.restore_package(module.split(".")[1])
    backends = getattr(importlib.import_module(module), attr)
    if kind == "dict":
        return backends
    if kind == "account":
        return backends[key[0]]
    return backends[key[0]][key[1]]



class Unpersistable(Exception):
    """A package's state that pickle cannot write (an object it refuses)."""
