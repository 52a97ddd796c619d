"""Access keys, persisted in the data dir (``keys.json``, mode 0600).

On first start a root key pair is generated. ``EMULATOR_ROOT_ACCESS_KEY_ID`` /
``EMULATOR_ROOT_SECRET_ACCESS_KEY`` (or the matching settings) pin it instead.
"""

from __future__ import annotations

import hmac
import json
import os
import secrets
import string
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import orjson

_KEY_ALPHABET = string.ascii_uppercase + string.digits


@dataclass
class AccessKey:
    access_key_id: str
    secret_access_key: str
    user_name: str = "root"
    status: str = "Active"  # Active | Inactive
    created: float = 0.0
    # The server's own root key: made by ensure_root (generated, or the pinned pair), as opposed
    # to the keys of ``emulator keys create`` and the IAM API. Only such a key is replaced when
    # another pair is pinned (ensure_root).
    server_root: bool = False

    @property
    def is_root(self) -> bool:
        return self.user_name == "root"


def new_access_key_id(prefix: str = "AKIA") -> str:
    return prefix + "".join(secrets.choice(_KEY_ALPHABET) for _ in range(16))


def new_secret() -> str:
    return secrets.token_urlsafe(30)[:40]


class KeyStore:
    # A running server notices keys created or deleted by ``emulator keys ...`` (another
    # process) within this many seconds; unknown keys trigger a check at once.
    RELOAD_INTERVAL = 1.0

    def __init__(self, data_dir: Path) -> None:
        self.path = Path(data_dir) / "keys.json"
        self._lock = threading.Lock()
        self._keys: dict[str, AccessKey] = {}
        self._mtime_ns = 0
        self._checked = time.monotonic()
        self._load()

    def _stat_mtime(self) -> int:
        try:
            return os.stat(self.path).st_mtime_ns
        except FileNotFoundError:
            return 0

    # Secrets at rest (issue: security): SigV4 needs the plaintext secret, so secrets are
    # encrypted (Fernet: AES-128-CBC + HMAC-SHA256) with <data_dir>/master.key (mode 0600).
    def _box(self) -> SecretBox:
        box = getattr(self, "_secret_box", None)
        if box is None:
            box = self._secret_box = SecretBox(self.path.parent / "master.key")
        return box

    def _encode(self, item: dict[str, Any]) -> dict[str, Any]:
        item = dict(item)
        item["secret_enc"] = self._box().encrypt(str(item.pop("secret_access_key")))
        return item

    def _decode(self, item: dict[str, Any]) -> dict[str, Any]:
        if "secret_enc" in item:
            item = dict(item)
            item["secret_access_key"] = self._box().decrypt(str(item.pop("secret_enc")))
        return item

    def _load(self) -> None:
        keys: dict[str, AccessKey] = {}
        mtime = self._stat_mtime()
        if mtime:
            with open(self.path, encoding="utf-8") as fh:
                data = json.load(fh)
            items = data.get("keys", [])
            for item in items:
                key = AccessKey(**self._decode(item))
                keys[key.access_key_id] = key
            if items and not any("server_root" in item for item in items):
                # Written before server_root was kept: the server's root key is the oldest root
                # key (ensure_root made it first, or replaced every root key with the pinned one).
                roots = sorted((k for k in keys.values() if k.is_root), key=lambda k: k.created)
                if roots:
                    roots[0].server_root = True
        self._keys = keys
        self._mtime_ns = mtime

    def _maybe_reload(self) -> None:
        self._checked = time.monotonic()
        if self._stat_mtime() != self._mtime_ns:
            with self._lock:
                self._refresh_locked()

    def _refresh_locked(self) -> None:
        """Pick up another process's changes before writing, so they are not overwritten."""
        if self._stat_mtime() == self._mtime_ns:
            return
        try:
            self._load()
        except (OSError, ValueError, TypeError):
            pass  # a torn or hand-edited file: keep the keys we have

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        # orjson: every key is written at each change (json.dump with an indent is Python's own encoder).
        doc = orjson.dumps({"keys": [self._encode(asdict(k)) for k in self._keys.values()]}, option=orjson.OPT_INDENT_2)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(doc)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, self.path)
        self._mtime_ns = self._stat_mtime()

    def ensure_root(self, access_key_id: str | None = None, secret: str | None = None) -> AccessKey:
        """Return the root key, creating it (or pinning it to the given pair) as needed.

        A pinned pair that is missing (first start, or deleted with ``emulator keys delete``)
        or whose secret changed is (re)created. The key it replaces as *the server's* root key
        goes: the one generated on a start without a pinned pair, or the previously pinned pair
        (rotating the pinned pair must stop the old one from working). Root keys made with
        ``emulator keys create`` (no --user) are the operator's own and are kept."""
        with self._lock:
            self._refresh_locked()
            roots = [k for k in self._keys.values() if k.is_root]
            if access_key_id and secret:
                existing = self._keys.get(access_key_id)
                if existing and existing.is_root and existing.secret_access_key == secret:
                    if not existing.server_root:  # made by `keys create`, now the pinned pair
                        existing.server_root = True
                        self._save()
                    return existing
                for k in roots:
                    if k.server_root or k.access_key_id == access_key_id:
                        del self._keys[k.access_key_id]
                key = AccessKey(access_key_id, secret, "root", "Active", time.time(), server_root=True)
                self._keys[key.access_key_id] = key
                self._save()
                return key
            if roots:
                return next((k for k in roots if k.server_root), roots[0])
            key = AccessKey(new_access_key_id(), new_secret(), "root", "Active", time.time(), server_root=True)
            self._keys[key.access_key_id] = key
            self._save()
            return key

    def get(self, access_key_id: str) -> AccessKey | None:
        key = self._keys.get(access_key_id)
        if key is None or time.monotonic() - self._checked > self.RELOAD_INTERVAL:
            self._maybe_reload()
            key = self._keys.get(access_key_id)
        return key

    def create(self, user_name: str) -> AccessKey:
        with self._lock:
            self._refresh_locked()
            key = AccessKey(new_access_key_id(), new_secret(), user_name, "Active", time.time())
            self._keys[key.access_key_id] = key
            self._save()
            return key

    def delete(self, access_key_id: str) -> bool:
        with self._lock:
            self._refresh_locked()
            if self._keys.pop(access_key_id, None) is None:
                return False
            self._save()
            return True

    def delete_users_keys(self, users: set[str]) -> int:
        """Delete every key of these users with one write of the file (``delete`` writes, with
        an fsync, per key). Returns how many went."""
        with self._lock:
            self._refresh_locked()  # keys another process (``emulator keys create``) added
            doomed = [kid for kid, key in self._keys.items() if key.user_name in users]
            for kid in doomed:
                del self._keys[kid]  # refused from the next request on
            if doomed:
                self._save()
            return len(doomed)

    def rename_user(self, old: str, new: str) -> int:
        """Move every key of user ``old`` to user ``new`` (IAM's UpdateUser NewUserName), with one
        write of the file. Returns how many moved."""
        with self._lock:
            self._refresh_locked()
            moved = [key for key in self._keys.values() if key.user_name == old]
            for key in moved:
                key.user_name = new
            if moved:
                self._save()
            return len(moved)

    def set_status(self, access_key_id: str, status: str) -> bool:
        with self._lock:
            self._refresh_locked()
            key = self._keys.get(access_key_id)
            if key is None:
                return False
            key.status = status
            self._save()
            return True

    def from_bearer(self, token: str) -> AccessKey | None:
        """The active key a ``Bearer`` token names: ``<access key id>:<secret access key>``, or
        the secret alone (the OpenAI API's keys, ``POST /_emulator/reset``). None if none."""
        if ":" in token:
            key_id, _, secret = token.partition(":")
            key = self.get(key_id)
            if key is not None and key.status == "Active" and hmac.compare_digest(key.secret_access_key, secret):
                return key
            return None
        for key in self.list():
            if key.status == "Active" and hmac.compare_digest(key.secret_access_key, token):
                return key
        return None

    def list(self) -> list[AccessKey]:
        return sorted(self._keys.values(), key=lambda k: k.created)


class SecretBox:
    """Symmetric encryption of secrets with a master key file created on first use (mode 0600)."""

    def __init__(self, path: Path) -> None:
        from cryptography.fernet import Fernet

        self.path = Path(path)
        if not self.path.exists():
            self.path.parent.mkdir(parents=True, exist_ok=True)
            try:
                fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                pass  # another process created it first
            else:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(Fernet.generate_key())
                    fh.flush()
                    os.fsync(fh.fileno())
        self._fernet = Fernet(self.path.read_bytes().strip())

    def encrypt(self, text: str) -> str:
        return self._fernet.encrypt(text.encode()).decode("ascii")

    def decrypt(self, token: str) -> str:
        return self._fernet.decrypt(token.encode("ascii")).decode()
