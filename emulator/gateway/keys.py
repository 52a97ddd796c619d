"""Access keys, persisted in the data dir (``keys.json``, mode 0600).

On first start a root key pair is generated. ``EMULATOR_ROOT_ACCESS_KEY_ID`` /
``EMULATOR_ROOT_SECRET_ACCESS_KEY`` (or the matching settings) pin it instead.
"""

from __future__ import annotations

import json
import os
import secrets
import string
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

_KEY_ALPHABET = string.ascii_uppercase + string.digits


@dataclass
class AccessKey:
    access_key_id: str
    secret_access_key: str
    user_name: str = "root"
    status: str = "Active"  # Active | Inactive
    created: float = 0.0

    @property
    def is_root(self) -> bool:
        return self.user_name == "root"


def new_access_key_id(prefix: str = "AKIA") -> str:
    return prefix + "".join(secrets.choice(_KEY_ALPHABET) for _ in range(16))


def new_secret() -> str:
    return secrets.token_urlsafe(30)[:40]


class KeyStore:
    def __init__(self, data_dir: Path) -> None:
        self.path = Path(data_dir) / "keys.json"
        self._lock = threading.Lock()
        self._keys: dict[str, AccessKey] = {}
        self._load()

    def _load(self) -> None:
        if self.path.exists():
            with open(self.path, encoding="utf-8") as fh:
                data = json.load(fh)
            for item in data.get("keys", []):
                key = AccessKey(**item)
                self._keys[key.access_key_id] = key

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump({"keys": [asdict(k) for k in self._keys.values()]}, fh, indent=1)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, self.path)

    def ensure_root(self, access_key_id: str | None = None, secret: str | None = None) -> AccessKey:
        """Return the root key, creating it (or pinning it to the given pair) as needed."""
        with self._lock:
            roots = [k for k in self._keys.values() if k.is_root]
            if access_key_id and secret:
                existing = self._keys.get(access_key_id)
                if existing and existing.is_root and existing.secret_access_key == secret:
                    return existing
                for k in roots:
                    del self._keys[k.access_key_id]
                key = AccessKey(access_key_id, secret, "root", "Active", time.time())
                self._keys[key.access_key_id] = key
                self._save()
                return key
            if roots:
                return roots[0]
            key = AccessKey(new_access_key_id(), new_secret(), "root", "Active", time.time())
            self._keys[key.access_key_id] = key
            self._save()
            return key

    def get(self, access_key_id: str) -> AccessKey | None:
        return self._keys.get(access_key_id)

    def create(self, user_name: str) -> AccessKey:
        with self._lock:
            key = AccessKey(new_access_key_id(), new_secret(), user_name, "Active", time.time())
            self._keys[key.access_key_id] = key
            self._save()
            return key

    def delete(self, access_key_id: str) -> bool:
        with self._lock:
            if self._keys.pop(access_key_id, None) is None:
                return False
            self._save()
            return True

    def set_status(self, access_key_id: str, status: str) -> bool:
        with self._lock:
            key = self._keys.get(access_key_id)
            if key is None:
                return False
            key.status = status
            self._save()
            return True

    def list(self) -> list[AccessKey]:
        return sorted(self._keys.values(), key=lambda k: k.created)
