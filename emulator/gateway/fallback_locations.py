"""Where moto's state lives, for the fallback's snapshots: the module attribute holding each
``BackendDict``, the moto package a model class belongs to, and the paths to the model objects
inside a package's backends.

The pickler (emulator/gateway/fallback_pickle.py) writes another package's backend as a
reference to its BackendDict (``locate``), and another package's model object as the path to it
in its own package (``index_package``, followed back by ``follow``), so that two packages share
one object again once loaded. Apart from the pickler because it is a walk of moto's live
objects, not pickling; FallbackState uses it too (which BackendDicts are a package's).
"""

from __future__ import annotations

import collections
import importlib
import sys
from typing import Any

from emulator.gateway.fallback_loading import current_loading


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


# moto's packages that hold no backend state of their own (their classes are everyone's).
_SHARED_PACKAGES = frozenset({"core", "utilities", "moto_api", "settings", "backends"})
_WALK_DEPTH = 6
_CLASS_PACKAGES: dict[type, str | None] = {}
_UNKNOWN = object()


def class_package(cls: type) -> str | None:
    """The moto package a model class belongs to (``moto.awslambda.models`` -> "awslambda")."""
    found = _CLASS_PACKAGES.get(cls, _UNKNOWN)
    if found is _UNKNOWN:
        parts = cls.__module__.split(".")
        found = parts[1] if len(parts) > 2 and parts[0] == "moto" and parts[1] not in _SHARED_PACKAGES else None
        _CLASS_PACKAGES[cls] = found
    return found  # type: ignore[return-value]


def index_package(package: str, instances: list[Any]) -> dict[int, tuple[Any, ...]]:
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
        if class_package(type(value)) is not None and hasattr(value, "__dict__"):
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
        elif class_package(type(value)) is not None and isinstance(getattr(value, "__dict__", None), dict):
            for name, item in list(value.__dict__.items()):
                queue.append((item, root, (*steps, ("a", name))))
    return found


def follow(module: str, attr: str, account: str, region: str, steps: tuple[tuple[str, Any], ...]) -> Any:
    """The object at the end of an ``index_package`` path; None if there is none. Makes no
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

