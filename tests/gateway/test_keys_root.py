"""The server's root key (KeyStore.ensure_root) beside the root keys of ``emulator keys create``:
(re)pinning the root pair replaces only the server's own root key, never the operator's keys."""

from __future__ import annotations

import json
from pathlib import Path

from emulator.gateway.keys import KeyStore

PINNED = ("AKIAPINNEDROOT000000", "pinned-secret")


def root_ids(data_dir: Path) -> set[str]:
    return {k.access_key_id for k in KeyStore(data_dir).list() if k.is_root}


def test_a_deleted_pinned_key_comes_back_and_other_root_keys_stay(tmp_path: Path) -> None:
    KeyStore(tmp_path).ensure_root(*PINNED)
    extra = KeyStore(tmp_path).create("root")  # `emulator keys create` (no --user)
    assert KeyStore(tmp_path).delete(PINNED[0])  # `emulator keys delete`
    key = KeyStore(tmp_path).ensure_root(*PINNED)  # the next start, the same pinned pair
    assert key.access_key_id == PINNED[0] and key.secret_access_key == PINNED[1]
    assert root_ids(tmp_path) == {PINNED[0], extra.access_key_id}


def test_a_new_pinned_pair_replaces_the_previous_one_only(tmp_path: Path) -> None:
    generated = KeyStore(tmp_path).ensure_root()
    extra = KeyStore(tmp_path).create("root")
    KeyStore(tmp_path).ensure_root(*PINNED)
    assert root_ids(tmp_path) == {PINNED[0], extra.access_key_id}  # the generated one went
    assert generated.access_key_id not in root_ids(tmp_path)
    rotated = KeyStore(tmp_path).ensure_root("AKIAPINNEDROOT111111", "rotated-secret")
    assert root_ids(tmp_path) == {rotated.access_key_id, extra.access_key_id}
    # The same id with another secret: the pair is replaced, the operator's key stays.
    again = KeyStore(tmp_path).ensure_root("AKIAPINNEDROOT111111", "changed-secret")
    assert again.secret_access_key == "changed-secret"
    assert root_ids(tmp_path) == {again.access_key_id, extra.access_key_id}
    # Without a pinned pair the server's root key is the pinned one kept, not the extra key.
    assert KeyStore(tmp_path).ensure_root().access_key_id == again.access_key_id


def test_a_keys_file_from_before_server_root(tmp_path: Path) -> None:
    """Files written before the flag: the oldest root key is taken for the server's own."""
    store = KeyStore(tmp_path)
    generated = store.ensure_root()
    extra = store.create("root")
    path = tmp_path / "keys.json"
    data = json.loads(path.read_text())
    for item in data["keys"]:
        item.pop("server_root")
    path.write_text(json.dumps(data))
    KeyStore(tmp_path).ensure_root(*PINNED)
    assert root_ids(tmp_path) == {PINNED[0], extra.access_key_id}
    assert generated.access_key_id not in root_ids(tmp_path)
