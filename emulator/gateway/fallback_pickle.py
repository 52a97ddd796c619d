"""Pickling moto's state for the fallback's snapshots (emulator/gateway/fallback_state.py).

The standard (C) ``pickle``, with a ``reducer_override`` for what moto keeps that pickle
refuses (locks, conditions, ``defaultdict``s of lambdas, cryptography keys), for references to
*other* packages' backends (written as references, resolved against the live backends at
load), for the model objects of other packages that a package shares (an SQS queue's Lambda
event source mappings, a CloudFormation stack's resources: written as where they live in their
own package, so that both share one object again once loaded), for S3's object bodies (files of
their own, named by content) and, for IAM, persistent ids for the ~1,300 AWS managed policies
every IAM backend loads anew.
"""

from __future__ import annotations

import _thread
import collections
import contextlib
import copy
import functools
import importlib
import io
import os
import pickle
import sys
import threading
import weakref
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from emulator.gateway.fallback_state import FallbackState


def package_of(backends: Any) -> str:
    """The moto package (``moto.<package>.models``) of a BackendDict."""
    return str(backends.backend.__module__.split(".")[1])



_LOCATIONS: dict[int, tuple[str, str]] = {}  # id(BackendDict) -> (module, attribute); they live forever


def locate(backends: Any) -> tuple[str, str]:
    """The module attribute holding a BackendDict (``("moto.s3.models", "s3_backends")``)."""
    found = _LOCATIONS.get(id(backends))
    if found is not None:
        return found
    package = package_of(backends)
    names = [f"moto.{package}.models", backends.backend.__module__, f"moto.{package}"]
    names += sorted(name for name in list(sys.modules) if name.startswith(f"moto.{package}."))
    for name in dict.fromkeys(names):
        module = sys.modules.get(name)
        if module is None:
            continue
        for attr, value in list(vars(module).items()):
            if value is backends:
                _LOCATIONS[id(backends)] = (name, attr)
                return name, attr
    raise LookupError(f"moto's {backends.service_name} backends are no module's attribute")


def _new_event(is_set: bool) -> threading.Event:
    event = threading.Event()
    if is_set:
        event.set()
    return event


def _load_private_key(pem: bytes) -> Any:
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    return load_pem_private_key(pem, password=None)


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
    return _new_object, (type(obj),), (dict(dict.items(obj)), getattr(obj, "__dict__", None) or {}), None, None, _set_raw_dict


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
    aws = loading.aws_policies(account, region) if loading is not None else _fresh_aws_policies(account, region)
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


def _fresh_aws_policies(account: str, region: str) -> dict[str, Any]:
    from moto.iam.models import IAMBackend

    return {p.arn: p for p in IAMBackend(region, account_id=account).aws_managed_policies}


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

# moto's packages that hold no backend state of their own (their classes are everyone's).
_SHARED_PACKAGES = frozenset({"core", "utilities", "moto_api", "settings", "backends"})
_WALK_DEPTH = 6
_CLASS_PACKAGES: dict[type, str | None] = {}


def _class_package(cls: type) -> str | None:
    """The moto package a model class belongs to (``moto.awslambda.models`` -> "awslambda")."""
    found = _CLASS_PACKAGES.get(cls, _UNKNOWN)
    if found is _UNKNOWN:
        parts = cls.__module__.split(".")
        found = parts[1] if len(parts) > 2 and parts[0] == "moto" and parts[1] not in _SHARED_PACKAGES else None
        _CLASS_PACKAGES[cls] = found
    return found  # type: ignore[return-value]


def _index_package(package: str, instances: list[Any]) -> dict[int, tuple[Any, ...]]:
    """id -> where it lives (module, attribute, account, region, steps) of the model objects
    in a package's backends, breadth first (the shortest path), ``_WALK_DEPTH`` steps deep."""
    from moto.core.base_backend import AccountSpecificBackend, BackendDict, BaseBackend

    found: dict[int, tuple[Any, ...]] = {}
    seen: set[int] = set()
    queue: collections.deque[tuple[Any, tuple[Any, ...], tuple[tuple[str, Any], ...]]] = collections.deque()
    for backends in instances:
        if package_of(backends) != package:
            continue
        module, attr = locate(backends)
        for account, account_backends in list(dict.items(backends)):
            for region, backend in list(dict.items(account_backends)):
                seen.add(id(backend))
                root = (module, attr, account, region)
                for name, value in list(getattr(backend, "__dict__", {}).items()):
                    queue.append((value, root, (("a", name),)))
    while queue:
        value, root, steps = queue.popleft()
        if id(value) in seen or isinstance(value, str | bytes | int | float | bool | type(None)):
            continue
        seen.add(id(value))
        if isinstance(value, BackendDict | AccountSpecificBackend | BaseBackend):
            continue
        if _class_package(type(value)) is not None and hasattr(value, "__dict__"):
            found[id(value)] = (*root, steps)
        if len(steps) >= _WALK_DEPTH:
            continue
        if isinstance(value, dict):
            for key, item in list(dict.items(value)):
                if isinstance(key, str | int | tuple):
                    queue.append((item, root, (*steps, ("k", key))))
        elif isinstance(value, list | tuple):
            for position, item in enumerate(list(value)):
                queue.append((item, root, (*steps, ("i", position))))
        elif _class_package(type(value)) is not None and isinstance(getattr(value, "__dict__", None), dict):
            for name, item in list(value.__dict__.items()):
                queue.append((item, root, (*steps, ("a", name))))
    return found


def _reduce_foreign(pickler: Any, obj: Any) -> Any:
    """A model object of another package (an SQS queue's Lambda event source mapping, a
    CloudFormation stack's SQS queue): written as where it lives in its own package, resolved at
    load against the live (restored) object, so that the two packages share it again as they
    did. Written by value the old way, it would load as a copy that the owner's later changes
    (UpdateEventSourceMapping) never reach. Its state goes along, for a load that does not find
    it (deleted meanwhile, or its package's snapshot older)."""
    owner = _class_package(type(obj))
    if owner is None or owner == pickler.package or not pickler.instances:
        return NotImplemented
    # The index of a package is kept while it has no new write (it walks the whole package); a
    # path found is checked to lead to this very object, so a stale one is never written.
    version = pickler.versions.get(owner, 0)
    cached = pickler.indexes.get(owner)
    if cached is None or cached[0] != version:
        cached = pickler.indexes[owner] = (version, _index_package(owner, pickler.instances))
    where = cached[1].get(id(obj))
    if where is None or _follow(*where) is not obj:
        return NotImplemented
    getstate = getattr(obj, "__getstate__", None)
    state = getstate() if getstate is not None else obj.__dict__
    if not isinstance(state, dict):
        return NotImplemented
    return _resolve_object, (type(obj), *where), {k: v for k, v in state.items() if k != _DOCKER_CLIENT}, None, None, _set_foreign_state


def _follow(module: str, attr: str, account: str, region: str, steps: tuple[tuple[str, Any], ...]) -> Any:
    """The object at the end of an ``_index_package`` path; None if there is none. Makes no
    backend on the way (a BackendDict's ``[]`` would); at load, restores its package first."""
    loading = current_loading()
    if loading is not None and loading.owner is not None:
        loading.owner.restore_package(module.split(".")[1])
    try:
        value: Any = dict.get(dict.get(getattr(importlib.import_module(module), attr), account, {}), region)
        for kind, step in steps:
            if kind == "a":
                value = value.__dict__[step]
            elif kind == "k":
                value = dict.__getitem__(value, step)
            else:
                value = value[step]
    except (KeyError, IndexError, AttributeError, TypeError, LookupError):
        return None
    return value


def _resolve_object(cls: Any, module: str, attr: str, account: str, region: str, steps: tuple[tuple[str, Any], ...]) -> Any:
    value = _follow(module, attr, account, region, steps)
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


BLOBS = "s3-blobs"
_BLOB_CHUNK = 16 * 1024 * 1024


class Blobs:
    """S3 object bodies, one file each (``<dir>/s3-blobs/<etag>-<size>``), written once: a
    snapshot of S3 then holds only the objects' metadata, so a PutObject re-writes kilobytes,
    not every byte the account stored. Named by content (ETag and size), so an object copied or
    kept across snapshots is written once; the files no snapshot names any more are deleted
    after the snapshot that dropped them is on disk."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.named: set[str] = set()  # the bodies the snapshot being taken refers to
        self.written = False  # a new file since the directory was last fsynced

    def save(self, key: Any) -> str | None:
        """The name of the key's body, written if new; None if it cannot be read (deleted)."""
        if getattr(key, "disposed", False):
            return None  # its buffer is closed: moto's own __getstate__ copes with that
        try:
            etag = str(key.etag).strip('"')
        except ValueError:  # its buffer is closed: a deleted key still referenced somewhere
            return None
        name = f"{etag}-{int(key.contentsize or 0)}"
        if not all(c.isalnum() or c == "-" for c in name):
            return None
        self.named.add(name)
        path = self.directory / name
        if path.exists():
            return name
        self.directory.mkdir(parents=True, exist_ok=True)
        temporary = self.directory / f".{name}.tmp"
        try:
            with key.lock, open(temporary, "wb") as fh:
                buffer = key._value_buffer
                buffer.seek(0)
                while block := buffer.read(_BLOB_CHUNK):
                    fh.write(block)
                fh.flush()
                os.fsync(fh.fileno())
        except ValueError:  # closed meanwhile (deleted by a call running unlocked)
            self.named.discard(name)
            with contextlib.suppress(OSError):
                temporary.unlink()
            return None
        os.replace(temporary, path)
        self.written = True
        return name

    def collect(self) -> None:
        """Delete the bodies the last snapshot (on disk now) does not name."""
        if not self.directory.is_dir():
            return
        for path in self.directory.iterdir():
            if path.name not in self.named:
                with contextlib.suppress(OSError):
                    path.unlink()


def _reduce_s3_key(pickler: Any, key: Any) -> Any:
    blobs: Blobs | None = getattr(pickler, "blobs", None)
    name = blobs.save(key) if blobs is not None else None
    if name is None:
        return NotImplemented  # moto's own __getstate__: the body inside the snapshot
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
    with open(loading.blob_dir / name, "rb") as fh:
        while block := fh.read(_BLOB_CHUNK):
            key._value_buffer.write(block)
    key.lock = threading.Lock()


_UNKNOWN = object()
_REDUCERS: dict[type, Any] = {}


class SnapshotPickler(pickle.Pickler):
    """C pickle plus ``reducer_override``, called only for objects that are not of a builtin
    atomic or container type, where a ``persistent_id`` is called for every object, ints and
    strings included (so only IAM's pickler, which needs one, pays for it)."""

    def __init__(self, file: io.BytesIO, references: dict[int, tuple[Any, ...]]) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self.references = references
        self.types: set[type] = set()  # the classes written (a new one: the snapshot is loaded back once)
        self.blobs: Blobs | None = None  # S3's: object bodies go to files of their own
        self.package: str | None = None  # the package pickled: other packages' model objects are references
        self.instances: list[Any] = []  # every BackendDict (where those objects are looked up)
        self.versions: dict[str, int] = {}  # package -> its writes so far (FallbackState's marks)
        self.indexes: dict[str, tuple[int, dict[int, tuple[Any, ...]]]] = {}  # package -> (version, _index_package), kept across snapshots

    def reducer_override(self, obj: Any) -> Any:
        cls = type(obj)
        self.types.add(cls)
        reducer = _REDUCERS.get(cls, _UNKNOWN)
        if reducer is _UNKNOWN:
            reducer = _REDUCERS[cls] = _reducer_for(cls)
        if (reducer is None or reducer is _reduce_docker_model) and self.package is not None and _class_package(cls) not in (None, self.package):
            foreign = _reduce_foreign(self, obj)
            if foreign is not NotImplemented:
                return foreign
        if reducer is None:
            return NotImplemented
        return reducer(self, obj)


class IamPickler(SnapshotPickler):
    """IAM's: AWS managed policies (attached to roles, groups, users) are persistent ids,
    resolved at load against a new backend's (moto loads them into every IAM backend)."""

    def __init__(self, file: io.BytesIO, references: dict[int, tuple[Any, ...]], policies: dict[int, tuple[str, ...]]) -> None:
        super().__init__(file, references)
        self.policies = policies

    def persistent_id(self, obj: Any) -> Any:
        return self.policies.get(id(obj))


class Loading:
    """What a load in progress shares: the fresh IAM backends' AWS managed policies, and the
    owner that restores another package first when a reference to it is met."""

    def __init__(self, owner: FallbackState | None, blob_dir: Path | None = None) -> None:
        self.owner = owner
        self.blob_dir = blob_dir  # where S3 object bodies are (Blobs)
        self._aws: dict[tuple[str, str], dict[str, Any]] = {}
        self.remade: dict[int, Any] = {}  # objects of other packages not found live, made anew (_resolve_object)

    def aws_policies(self, account: str, region: str) -> dict[str, Any]:
        key = (account, region)
        if key not in self._aws:
            self._aws[key] = _fresh_aws_policies(account, region)
        return self._aws[key]


_LOAD = threading.local()


def current_loading() -> Loading | None:
    stack = getattr(_LOAD, "stack", None)
    return stack[-1] if stack else None


@contextlib.contextmanager
def load_context(owner: FallbackState | None, context: Loading | None = None) -> Iterator[Loading]:
    stack = _LOAD.__dict__.setdefault("stack", [])
    context = context or Loading(owner, owner.directory / BLOBS if owner is not None else None)
    stack.append(context)
    try:
        yield context
    finally:
        stack.pop()


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


class Unpersistable(Exception):
    """A package's state that pickle cannot write (an object it refuses)."""
