"""S3 objects as the lifecycle features read and write them (ImportTable, StartBulkPutItems).

A bucket that moto's S3 (served in-process, emulator/gateway/fallback.py) has is read and
written there, as a client of this server's S3 sees it; any other bucket is the local folder
``<s3_root>/<bucket>/<key>`` (settings.extra["s3_root"], default <data_dir>/s3), where exports
are written. Reads of moto's objects hold its S3 locks (``fallback.change``); a write returns
once moto's snapshot holding it is on disk.
"""

from __future__ import annotations

import asyncio
import gzip
import re
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from emulator.errors import AwsError

if TYPE_CHECKING:
    from emulator.dynamodb.lifecycle import Lifecycle

_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]$")


def invalid(message: str) -> AwsError:
    return AwsError("ValidationException", message, 400)


def is_data_key(key: str) -> bool:
    """Whether an object under an import prefix holds items: an export's manifests,
    checksums and marker objects do not."""
    name = key.rsplit("/", 1)[-1]
    return not (name.startswith("manifest-") or name.endswith(".md5") or name == "_started")


def decompress(raw: bytes, compression: str) -> bytes:
    """An object's body as stored (``InputCompressionType`` GZIP or NONE) -> its bytes.
    Raises ValueError for a body that is not what the compression type says."""
    if compression == "GZIP":
        try:
            return gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            raise ValueError(f"not a GZIP object: {exc}") from exc
    return raw


@dataclass(frozen=True)
class S3Object:
    key: str
    size: int


class ObjectStore:
    def __init__(self, lc: Lifecycle) -> None:
        self.lc = lc

    # ------------------------------------------------------------ folder
    def path(self, bucket: Any, key: str = "") -> Path:
        """The local folder's file of ``s3://bucket/key``."""
        if not isinstance(bucket, str) or not _BUCKET_RE.match(bucket) or ".." in bucket:
            raise invalid(f"Invalid S3 bucket name: {bucket}")
        parts = [p for p in key.split("/") if p]
        if any(p in (".", "..") for p in parts):
            raise invalid(f"Invalid S3 key prefix: {key}")
        return self.lc.s3_root.joinpath(bucket, *parts)

    def _folder_list(self, bucket: str, prefix: str) -> list[S3Object]:
        """Files whose key starts with ``prefix`` (S3 prefixes are strings, not folders)."""
        root = self.path(bucket)
        parent_key, _, _ = prefix.rpartition("/")
        start = self.path(bucket, parent_key)
        if not start.exists():
            return []
        out = []
        for path in sorted(p for p in start.rglob("*") if p.is_file()):
            key = path.relative_to(root).as_posix()
            if key.startswith(prefix):
                out.append(S3Object(key, path.stat().st_size))
        return out

    # -------------------------------------------------------------- moto
    @property
    def fallback(self) -> Any:
        # The handler hands moto to the Kinesis destinations (handlers/dynamodb.py); S3 is
        # served by the same fallback.
        return getattr(self.lc.kinesis, "fallback", None)

    def _moto_backend(self) -> Any:
        fallback = self.fallback
        if fallback is None:
            return None
        try:
            if not fallback.supports("s3"):
                return None
            return fallback.backend("s3", "global")
        except (KeyError, ValueError, ImportError, AttributeError):
            return None

    def _moto_bucket(self, bucket: str) -> Any:
        backend = self._moto_backend()
        return None if backend is None else backend.buckets.get(bucket)

    async def _in_moto(self, bucket: str) -> bool:
        if self._moto_backend() is None:
            return False
        found: bool = await self.fallback.change("s3", lambda: self._moto_bucket(bucket) is not None, write=False)
        return found

    def _moto_list(self, bucket: str, prefix: str) -> list[S3Object]:
        from moto.s3.models import FakeKey

        found = self._moto_bucket(bucket)
        if found is None:
            return []
        out = []
        for name in list(found.keys):
            key = found.keys.get(name)
            if isinstance(key, FakeKey) and name.startswith(prefix):
                out.append(S3Object(name, int(key.size)))
        return sorted(out, key=lambda o: o.key)

    def _moto_read(self, bucket: str, key: str) -> bytes:
        found = self._moto_bucket(bucket)
        obj = None if found is None else found.keys.get(key)
        if obj is None:
            raise FileNotFoundError(f"s3://{bucket}/{key} does not exist")
        return bytes(obj.value)

    def _moto_write(self, bucket: str, key: str, body: bytes, sse: str | None, kms_key: str | None) -> None:
        backend = self._moto_backend()
        encryption = {"AES256": "AES256", "KMS": "aws:kms"}.get(sse or "")
        backend.put_object(bucket, key, body, encryption=encryption, kms_key_id=kms_key if encryption == "aws:kms" else None)

    # ------------------------------------------------------------ access
    async def list_objects(self, bucket: str, prefix: str) -> list[S3Object]:
        """The objects whose key starts with ``prefix``, in key order."""
        self.path(bucket)
        if await self._in_moto(bucket):
            objects: list[S3Object] = await self.fallback.change("s3", lambda: self._moto_list(bucket, prefix), write=False)
            return objects
        return await asyncio.to_thread(self._folder_list, bucket, prefix)

    async def read(self, bucket: str, key: str) -> bytes:
        if await self._in_moto(bucket):
            body: bytes = await self.fallback.change("s3", lambda: self._moto_read(bucket, key), write=False)
            return body
        return await asyncio.to_thread(self.path(bucket, key).read_bytes)

    async def write(self, bucket: str, key: str, body: bytes, sse: str | None = None, kms_key: str | None = None) -> None:
        """Put an object; ``sse`` (AES256 or KMS, and its key) is moto's server-side
        encryption of it. The local folder keeps plain files."""
        if await self._in_moto(bucket):
            await self.fallback.change("s3", lambda: self._moto_write(bucket, key, body, sse, kms_key))
            return
        path = self.path(bucket, key)

        def put() -> None:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(body)

        await asyncio.to_thread(put)
