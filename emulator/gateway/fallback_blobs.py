"""S3's object bodies in the fallback's snapshots: one file each, named by content.

A snapshot of S3 (emulator/gateway/fallback_state.py) holds its objects' metadata only; each
body is a file of ``<data_dir>/fallback/s3-blobs/`` that the pickled key names
(fallback_pickle._reduce_s3_key, which writes it through ``Blobs.save``, and
fallback_pickle._set_s3_key_state, which reads it back at load). Apart from the pickler because
it is file handling, not pickling: what is written when, fsynced, and collected.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from pathlib import Path
from typing import Any

BLOBS = "s3-blobs"
BLOB_CHUNK = 16 * 1024 * 1024


def _etag_of(key: Any) -> str:
    """A key's ETag, as its ``etag`` property, without setting it on the key when not computed
    yet (that would mark the leaf changed, fallback_leaves, and write it again)."""
    etag = key.__dict__.get("_etag")
    if etag is None:
        digest = hashlib.md5(usedforsecurity=False)
        with key.lock:
            buffer = key._value_buffer
            buffer.seek(0)
            while block := buffer.read(BLOB_CHUNK):
                digest.update(block)
        return digest.hexdigest()
    return str(etag).strip('"')


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
            etag = _etag_of(key)
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
                while block := buffer.read(BLOB_CHUNK):
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
