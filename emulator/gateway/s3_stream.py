"""S3 objects larger than memory: GetObject streamed from the key's file, PutObject and
UploadPart bodies up to S3's 5 GiB spooled to a file.

Downloads. moto's GetObject answers ``key.value``, the whole body as one bytes object, and the
gateway joined moto's answer again: a 3 GB object cost several copies of itself in memory.
While moto's ``S3Response.get_object`` runs, ``FakeKey.value`` answers an ``ObjectBody``
instead: the key's bytes as they are then, read on demand. moto's own code around it works
unchanged (conditional requests, versions, part numbers, Range: ``len`` and slicing, which
narrow the range). The gateway (fallback.MotoFallback._call) takes the body out of moto's
WSGI answer (``collecting``) and sends it in 1 MiB blocks as a streamed Response (the ASGI
path the Bedrock and OpenAI streams use: app.EmulatorApp._send), read in a worker thread.

Consistency: moto never rewrites a key's body. PutObject makes a new FakeKey (the old one's
file is untouched), and only a delete or a reset closes a key's file (``FakeKey.dispose``). So
the body is captured under the key's lock as a duplicate of its file's descriptor (a body
larger than moto's spool threshold, ~5 MiB, is in a temporary file), read with ``os.pread``:
no shared file position, and a download still reads the bytes it started with when the
object is overwritten or deleted meanwhile. A smaller body, in memory, is copied.

Completion and copies. moto's CompleteMultipartUpload joined the parts' bytes (twice: a
bytearray, then bytes), and CopyObject and UploadPartCopy read the source's whole body
(``key.value``): a 5 GB object cost its size, several times, in memory. Here
``FakeMultipart.complete`` (``complete``) checks the parts as moto does, then copies them block
by block into a new spooled file, computing on the way what moto computed over the joined bytes
(the checksum of the object or of each part, for the composite one); the new key adopts that
file as its body (``AssembledBody``). The ETag is moto's (and S3's): the MD5 of the parts' MD5s,
``-N``. The parts' own files are released once completed (S3 keeps no parts of a completed
upload; GetObject's PartNumber needs their sizes only). CopyObject and UploadPartCopy read their
source as GetObject does (an ``ObjectBody``), which the value setter copies block by block,
computing the new key's MD5 (its ETag) on the way.

Uploads. A PutObject or UploadPart body over the gateway's ``max_body_bytes`` (64 MiB) is
written to an unlinked temporary file under ``<data_dir>/tmp`` (``UploadSpool``) as it comes,
up to S3's limit for a single PUT (5 GiB; EntityTooLarge beyond, as S3 answers). What the
gateway checks is computed on the way: the SHA-256 of the payload (SigV4), the aws-chunked
decoding (the file holds the decoded data; each chunk's digest and signature are kept, and
checked once the request is authenticated: s3_payload.check), Content-MD5 and the
``x-amz-checksum-*`` digest. moto gets the file as its body (``UploadBody``): its request's
``data`` is set to it without reading the stream, and ``FakeKey``'s value setter copies it
into the key's own spooled file block by block. The temporary file has no name from its
creation (nothing is left behind, even by a kill -9) and is closed once answered.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import functools
import hashlib
import hmac
import os
import re
import tempfile
import threading
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

from emulator.errors import AwsError
from emulator.gateway import s3_payload
from emulator.protocols.base import Request, Response

BLOCK = 1 << 20  # what is read, sent and hashed at a time
MAX_SINGLE_PUT = 5 * 1024**3  # S3's limit for one PutObject / UploadPart
# aws-chunked framing around the data: at least 8 KiB a chunk (S3's minimum), ~90 bytes each.
_MAX_WIRE = MAX_SINGLE_PUT + MAX_SINGLE_PUT // 64 + BLOCK
UPLOAD_ENVIRON = "emulator.s3_upload"  # moto's WSGI environ: the UploadBody of a spooled upload
TMP_DIR = "tmp"

_local = threading.local()


def entity_too_large(proposed: int) -> AwsError:
    return AwsError(
        "EntityTooLarge",
        "Your proposed upload exceeds the maximum allowed size",
        400,
        extra={"ProposedSize": str(proposed), "MaxSizeAllowed": str(MAX_SINGLE_PUT)},
    )


# ---------------------------------------------------------------- downloads


class _Source:
    """A key's bytes as they were when captured: a duplicate of its file's descriptor, or a
    copy of a body small enough to be in memory."""

    def __init__(self, fd: int | None, data: bytes) -> None:
        self.fd = fd
        self.data = data

    def read(self, offset: int, size: int) -> bytes:
        if self.fd is None:
            return self.data[offset : offset + size]
        out = os.pread(self.fd, size, offset)
        while len(out) < size:  # pread may return less than asked near a signal
            more = os.pread(self.fd, size - len(out), offset + len(out))
            if not more:
                raise OSError("S3 object body shorter than its size")
            out += more
        return out

    def close(self) -> None:
        fd, self.fd = self.fd, None
        if fd is not None:
            os.close(fd)

    def __del__(self) -> None:
        self.close()


def _capture(key: Any) -> tuple[_Source, int]:
    with key.lock:
        buffer = key._value_buffer
        size = int(key.contentsize or 0)
        if getattr(buffer, "_rolled", False):
            buffer.flush()  # the value setter's last writes, out of the file object's buffer
            return _Source(os.dup(buffer.fileno()), b""), size
        # In memory (below moto's spool threshold): a copy, bounded by that threshold.
        return _Source(None, bytes(buffer._file.getbuffer())), size


class ObjectBody:
    """A range of an S3 object's body, read on demand: what moto's GetObject answers as
    ``key.value`` here. ``len`` and slicing as on bytes; iterated, its blocks."""

    def __init__(self, source: _Source, start: int, stop: int) -> None:
        self.source = source
        self.start = start
        self.stop = stop

    @classmethod
    def of(cls, key: Any) -> ObjectBody:
        source, size = _capture(key)
        return cls(source, 0, size)

    def __len__(self) -> int:
        return self.stop - self.start

    def __bool__(self) -> bool:
        return self.stop > self.start

    def __getitem__(self, index: slice) -> ObjectBody:
        if not isinstance(index, slice) or index.step not in (None, 1):
            raise TypeError("an S3 object body is sliced by ranges only")
        start, stop, _ = index.indices(len(self))
        return ObjectBody(self.source, self.start + start, self.start + max(start, stop))

    def __bytes__(self) -> bytes:
        return b"".join(self.blocks())

    def blocks(self) -> Iterator[bytes]:
        for offset in range(self.start, self.stop, BLOCK):
            yield self.source.read(offset, min(BLOCK, self.stop - offset))

    def __iter__(self) -> Iterator[bytes]:
        sink: list[ObjectBody] | None = getattr(_local, "sink", None)
        if sink is not None:  # the gateway streams it itself (collecting)
            sink.append(self)
            return iter(())
        return self.blocks()


@contextlib.contextmanager
def collecting() -> Iterator[list[ObjectBody]]:
    """While moto's WSGI answer is read in this thread: the ObjectBody it answers, left out of
    the bytes read and put in the list instead."""
    sink: list[ObjectBody] = []
    _local.sink = sink
    try:
        yield sink
    finally:
        _local.sink = None


def streamed(status: int, headers: dict[str, str], body: ObjectBody) -> Response:
    """The Response sending ``body``: whole when it is one block (the single-write path of
    small answers), else streamed block by block, read off the event loop."""
    headers["content-length"] = str(len(body))
    if len(body) <= BLOCK:
        data = bytes(body)
        body.source.close()
        return Response(status, headers, data)
    return Response(status, headers, b"", _stream(body))


async def _stream(body: ObjectBody) -> AsyncIterator[bytes]:
    try:
        for offset in range(body.start, body.stop, BLOCK):
            yield await asyncio.to_thread(body.source.read, offset, min(BLOCK, body.stop - offset))
    finally:
        body.source.close()


# ---------------------------------------------------------------- uploads


class UploadBody:
    """The decoded body of a spooled upload, as moto's handlers get it (``self.body``)."""

    def __init__(self, fd: int, size: int, md5: str | None) -> None:
        self.fd = fd
        self.size = size
        self.md5 = md5

    def __len__(self) -> int:
        return self.size

    def __bool__(self) -> bool:
        return self.size > 0

    def blocks(self) -> Iterator[bytes]:
        for offset in range(0, self.size, BLOCK):
            yield os.pread(self.fd, min(BLOCK, self.size - offset), offset)


_HEX_SIZE = re.compile(rb"[0-9a-fA-F]{1,16}")
_SIGNATURE = re.compile(rb"chunk-signature=([0-9a-f]{64})")
_MAX_CHUNK_LINE = 256
_MAX_TRAILER = 64 * 1024


class _ChunkedDecoder:
    """aws-chunked, decoded as it comes (s3_payload.decode_chunked does it over bytes, with the
    same errors): the data goes to ``out``; each chunk's SHA-256 and the signature it names are
    kept for ``verify``, which needs the signing key, known only once authenticated."""

    def __init__(self, mode: str, out: Any) -> None:
        self.signed = mode != s3_payload.UNSIGNED_TRAILER
        self.mode = mode
        self.out = out
        self.chunks: list[tuple[bytes, bytes | None]] = []  # (sha256 of the data, its signature)
        self.error: AwsError | None = None
        self.error_at = 0  # chunks read before the error: their signatures are checked first
        self.unsigned_chunk = False  # the error: a chunk header without its signature
        self._line = bytearray()
        self._left = -1  # data bytes left of the current chunk; -1: reading a header line
        self._crlf = 0  # bytes of the CRLF after a chunk's data still to come
        self._digest: Any = None
        self._signature: bytes | None = None
        self._done = False
        self.trailer = bytearray()

    def _fail(self, error: AwsError) -> None:
        if self.error is None:
            self.error, self.error_at = error, len(self.chunks)

    def feed(self, data: bytes) -> None:
        view = memoryview(data)
        pos, size = 0, len(view)
        while pos < size and self.error is None:
            if self._done:
                self.trailer += view[pos : pos + _MAX_TRAILER + 1 - len(self.trailer)]
                if len(self.trailer) > _MAX_TRAILER:
                    self._fail(s3_payload._malformed_trailer() if self.mode != s3_payload.SIGNED else s3_payload._malformed_chunks())
                return
            if self._crlf:
                take = view[pos : pos + self._crlf]
                if bytes(take) != b"\r\n"[2 - self._crlf : 2 - self._crlf + len(take)]:
                    self._fail(s3_payload._malformed_chunks())
                    return
                self._crlf -= len(take)
                pos += len(take)
                continue
            if self._left > 0:
                take = view[pos : pos + self._left]
                self._digest.update(take)
                self.out.write(take)
                self._left -= len(take)
                pos += len(take)
                if self._left == 0:
                    self.chunks.append((self._digest.digest(), self._signature))
                    self._left, self._crlf = -1, 2
                continue
            end = data.find(b"\n", pos, pos + _MAX_CHUNK_LINE + 1)
            if end < 0:
                self._line += view[pos:]
                pos = size
                if len(self._line) > _MAX_CHUNK_LINE:
                    self._fail(s3_payload._malformed_chunks())
                continue
            self._line += view[pos : end + 1]
            pos = end + 1
            self._header(bytes(self._line))
            self._line.clear()

    def _header(self, line: bytes) -> None:
        if len(line) > _MAX_CHUNK_LINE + 2 or not line.endswith(b"\r\n"):
            self._fail(s3_payload._malformed_chunks())
            return
        size_field, _, extension = line[:-2].partition(b";")
        if not _HEX_SIZE.fullmatch(size_field):
            self._fail(s3_payload._malformed_chunks())
            return
        self._signature = None
        if self.signed:
            match = _SIGNATURE.fullmatch(extension)
            if match is None:
                self._fail(s3_payload._malformed_chunks())
                self.unsigned_chunk = True  # a signature mismatch when signatures are checked
                return
            self._signature = match.group(1)
        size = int(size_field, 16)
        self._digest = hashlib.sha256()
        if size == 0:
            self.chunks.append((self._digest.digest(), self._signature))
            self._done = True
        else:
            self._left = size

    def finish(self) -> None:
        if self.error is None and not self._done:
            self._fail(s3_payload._incomplete())

    def verify(self, seed: s3_payload.Seed | None) -> list[tuple[str, str]]:
        """Check the chunk signatures (when ``seed``: a signed mode, SigV4-authenticated) in
        order, then the framing, then the trailer; the trailing headers. Raises AwsError."""
        previous = seed.signature if seed is not None else ""
        checked = self.chunks[: self.error_at] if self.error is not None else self.chunks
        if seed is not None and self.signed:
            for digest, signature in checked:
                to_sign = f"AWS4-HMAC-SHA256-PAYLOAD\n{seed.amz_date}\n{seed.scope}\n{previous}\n{s3_payload.EMPTY_SHA256}\n{digest.hex()}"
                expected = hmac.new(seed.key, to_sign.encode(), hashlib.sha256).hexdigest()
                if signature is None or not hmac.compare_digest(expected.encode(), signature):
                    raise s3_payload._signature_mismatch()
                previous = expected
        if self.error is not None:
            if self.unsigned_chunk and seed is not None:  # as decode_chunked answers it
                raise s3_payload._signature_mismatch()
            raise self.error
        trailer = bytes(self.trailer)
        if self.mode == s3_payload.SIGNED:
            if trailer not in (b"\r\n", b""):
                raise s3_payload._malformed_chunks()
            return []
        trailers = s3_payload._trailers(trailer, 0)
        signatures = [value for name, value in trailers if name == s3_payload.TRAILER_SIGNATURE]
        trailers = [(name, value) for name, value in trailers if name != s3_payload.TRAILER_SIGNATURE]
        if seed is not None and self.signed and (len(signatures) != 1 or not hmac.compare_digest(s3_payload.trailer_signature(seed, previous, trailers), signatures[0])):
            raise s3_payload._signature_mismatch()
        return trailers


def spoolable(request: Request) -> bool:
    """A request whose body may be spooled: an S3 PUT of an object or a part (no sub-resource,
    no copy source, no X-Amz-Target) that is SigV4-signed for S3, presigned with SigV2 (S3's
    alone), or unsigned (S3's anonymous principal: authorized once read, as a small one is,
    by s3_anonymous.authorize_anonymous)."""
    if request.method != "PUT" or "x-amz-copy-source" in request.headers or "x-amz-target" in request.headers or request.path in ("", "/"):
        return False
    from emulator.gateway.s3_anonymous import is_unsigned
    from emulator.protocols.detect import credential_scope

    scope = credential_scope(request)
    if scope is None:
        if not ("Signature" in request.query and "AWSAccessKeyId" in request.query) and not is_unsigned(request):
            return False
    elif scope[3] != "s3":
        return False
    allowed = {"uploadId", "partNumber", "x-id", "AWSAccessKeyId", "Signature", "Expires"}
    return all(name in allowed or name.startswith("X-Amz-") for name in request.query)


class BlockFeed(ABC):
    """A request body fed chunk by chunk (as uvicorn hands them over), gathered into blocks of
    about BLOCK bytes, each processed (hashed, decoded, written) in a worker thread: off the
    event loop, one thread hop per block rather than per chunk."""

    def __init__(self) -> None:
        self._pending: list[bytes] = []
        self._pending_size = 0

    async def _queue(self, chunk: bytes) -> None:
        self._pending.append(chunk)
        self._pending_size += len(chunk)
        if self._pending_size >= BLOCK:
            await self._flush()

    async def _flush(self) -> None:
        block = b"".join(self._pending)
        self._pending, self._pending_size = [], 0
        if block and self._wanted():
            await asyncio.to_thread(self._process, block)

    def _wanted(self) -> bool:
        """Whether blocks are still processed (a parse that has ended drops the rest)."""
        return True

    @abstractmethod
    def _process(self, block: bytes) -> None:
        """One block of the body (hash it, decode it, write it), in a worker thread."""


class UploadSpool(BlockFeed):
    """A request body written to an unlinked file as it comes (see the module's doc)."""

    def __init__(self, request: Request, directory: Path, limit: int) -> None:
        super().__init__()
        self.limit = limit  # the gateway's own limit, which other requests keep
        headers = request.headers
        self.mode = headers.get("x-amz-content-sha256", "")
        streaming = self.mode in s3_payload.STREAMING
        declared = headers.get("content-length", "")
        if streaming:
            decoded = headers.get("x-amz-decoded-content-length", "").strip()
            if decoded.isdigit() and int(decoded) > MAX_SINGLE_PUT:
                raise entity_too_large(int(decoded))
            self.wire_limit = _MAX_WIRE
        else:
            if declared.strip().isdigit() and int(declared) > MAX_SINGLE_PUT:
                raise entity_too_large(int(declared))
            self.wire_limit = MAX_SINGLE_PUT
        directory.mkdir(parents=True, exist_ok=True)
        self.file = tempfile.TemporaryFile(dir=directory, prefix="s3-upload-")  # noqa: SIM115 - closed by close()
        self.wire_size = 0
        self.size = 0
        # The payload's SHA-256, as SigV4 checks it against x-amz-content-sha256 (or signs it,
        # without that header); not needed for an unsigned or aws-chunked payload.
        self.sha256 = None if self.mode == "UNSIGNED-PAYLOAD" or streaming else hashlib.sha256()
        self.decoder = _ChunkedDecoder(self.mode, self) if streaming else None
        wanted = {"md5"}  # always: it is the object's ETag
        for name in headers:
            if name.startswith(s3_payload.CHECKSUM_PREFIX) and name[len(s3_payload.CHECKSUM_PREFIX) :] in s3_payload.ALGORITHMS:
                wanted.add(name[len(s3_payload.CHECKSUM_PREFIX) :])
        for name in headers.get("x-amz-trailer", "").split(","):
            name = name.strip().lower()
            if name.startswith(s3_payload.CHECKSUM_PREFIX) and name[len(s3_payload.CHECKSUM_PREFIX) :] in s3_payload.ALGORITHMS:
                wanted.add(name[len(s3_payload.CHECKSUM_PREFIX) :])
        sdk = headers.get("x-amz-sdk-checksum-algorithm", "").strip().lower()
        if sdk in s3_payload.ALGORITHMS:
            wanted.add(sdk)
        self.hashers = {name: h for name in wanted if (h := s3_payload.new_hasher(name)) is not None}
        self.too_large = False
        self.sha256_hex = ""

    # The decoder's output: the decoded data.
    def write(self, data: bytes | memoryview) -> None:
        self.size += len(data)
        if self.size > MAX_SINGLE_PUT:
            self.too_large = True
            return
        self.file.write(data)
        for hasher in self.hashers.values():
            hasher.update(data)

    async def feed(self, chunk: bytes) -> None:
        self.wire_size += len(chunk)
        if self.wire_size > self.wire_limit:
            raise entity_too_large(self.wire_size)
        await self._queue(chunk)

    def _process(self, block: bytes) -> None:
        if self.sha256 is not None:
            self.sha256.update(block)
        if self.decoder is not None:
            self.decoder.feed(block)
        else:
            self.write(block)

    async def finish(self) -> None:
        await self._flush()
        if self.decoder is not None:
            self.decoder.finish()
        self.file.flush()
        self.sha256_hex = self.sha256.hexdigest() if self.sha256 is not None else ""


    def digest(self, algorithm: str) -> bytes | None:
        hasher = self.hashers.get(algorithm)
        return hasher.digest() if hasher is not None else None

    def body(self) -> UploadBody:
        md5 = self.hashers.get("md5")
        return UploadBody(self.file.fileno(), self.size, md5.digest().hex() if md5 is not None else None)

    def close(self) -> None:
        self.file.close()


def spool_of(request: Request) -> UploadSpool | None:
    spool = request.body_file
    return spool if isinstance(spool, UploadSpool) else None


# ---------------------------------------------------------------- completion and copies


class AssembledBody:
    """A completed multipart upload's object, already written to the spooled file that its key
    adopts as its body (the value setter): the bytes are never copied again."""

    def __init__(self, file: Any, size: int) -> None:
        self.file: Any = file
        self.size = size

    def __len__(self) -> int:
        return self.size

    def take(self) -> Any:
        file, self.file = self.file, None
        if file is None:
            raise RuntimeError("an assembled S3 object body adopted twice")
        return file


# What moto's compute_checksum (as s3_payload.patch_moto_checksums makes it) computes for a
# multipart upload's algorithm: any other name is SHA-256 there.
_MOTO_CHECKSUMS = ("crc32", "crc32c", "crc64nvme", "sha1", "sha256")


def checksum_hasher(algorithm: str) -> s3_payload.Hasher:
    """A running digest of what moto computes as ``algorithm``'s checksum."""
    name = algorithm.lower()
    hasher = s3_payload.new_hasher(name if name in _MOTO_CHECKSUMS else "sha256")
    if hasher is None:  # crc32c / crc64nvme without their library: moto's plain CRC32
        hasher = s3_payload.new_hasher("crc32")
    assert hasher is not None
    return hasher


def complete(upload: Any, body: Iterator[tuple[int, str]]) -> tuple[AssembledBody, str, tuple[str, str, int]]:
    """``FakeMultipart.complete`` without the object in memory: moto's checks, in its order
    (InvalidPart, EntityTooSmall, MalformedXML when no part is named, InvalidPartOrder from
    ``body``), all made before a byte is copied; then the parts, block by block, into the
    object's file. Answers (body, ETag, (checksum type, checksum, parts)) as moto does: the
    upload's checksum algorithm (CRC64NVME when none, full-object) over the object, or, for a
    composite checksum, over the concatenated checksums of the parts."""
    from moto.s3.exceptions import EntityTooSmall, InvalidPart, MalformedXML
    from moto.s3.models import S3_UPLOAD_PART_MIN_SIZE
    from moto.settings import get_s3_default_key_buffer_size

    parts: list[Any] = []
    md5s = bytearray()
    for number, etag in body:
        part = upload.parts.get(number)
        part_etag = part.etag.replace('"', "") if part is not None else None
        if part is None or part_etag != etag.replace('"', ""):
            raise InvalidPart()
        if parts and parts[-1].contentsize < S3_UPLOAD_PART_MIN_SIZE:
            raise EntityTooSmall()
        md5s += bytes.fromhex(part_etag)
        parts.append(part)
    if not parts:
        raise MalformedXML()

    algorithm: str = upload.metadata.get("x-amz-checksum-algorithm") or "CRC64NVME"
    checksum_type: str = upload.metadata.get("x-amz-checksum-type") or ("FULL_OBJECT" if algorithm == "CRC64NVME" else "COMPOSITE")
    composite = checksum_type == "COMPOSITE"
    whole = None if composite else checksum_hasher(algorithm)
    part_checksums = bytearray()
    file = tempfile.SpooledTemporaryFile(max_size=get_s3_default_key_buffer_size())  # noqa: SIM115 - the key adopts it
    size = 0
    try:
        for part in parts:
            source, part_size = _capture(part)
            hasher = whole if whole is not None else checksum_hasher(algorithm)
            try:
                for offset in range(0, part_size, BLOCK):
                    block = source.read(offset, min(BLOCK, part_size - offset))
                    file.write(block)
                    hasher.update(block)
            finally:
                source.close()
            if composite:
                part_checksums += hasher.digest()
            size += part_size
        file.flush()
    except BaseException:
        file.close()
        raise
    if whole is None:
        whole = checksum_hasher(algorithm)
        whole.update(bytes(part_checksums))
    upload.completed_part_sizes = [int(part.contentsize) for part in parts]
    etag = f"{hashlib.md5(bytes(md5s), usedforsecurity=False).hexdigest()}-{len(parts)}"
    checksum = base64.b64encode(whole.digest()).decode()
    return AssembledBody(file, size), etag, (checksum_type, checksum, len(parts) if composite else 1)


# ---------------------------------------------------------------- moto


_installed = False


def _lazy(method: Callable[..., Any]) -> Callable[..., Any]:
    """``method`` with the keys' ``value`` read on demand (ObjectBody) while it runs."""

    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        previous = getattr(_local, "lazy", False)
        _local.lazy = True
        try:
            return method(*args, **kwargs)
        finally:
            _local.lazy = previous

    return wrapper


def install() -> None:
    """GetObject's body read on demand (ObjectBody); a spooled upload's body handed to moto
    as a file (UploadBody); multipart completion and copies block by block (AssembledBody,
    ObjectBody)."""
    global _installed
    if _installed:
        return
    import moto.s3.models
    import moto.s3.responses
    from werkzeug.datastructures import ImmutableMultiDict

    fake_key = moto.s3.models.FakeKey
    value: property = fake_key.value  # type: ignore[assignment]
    assert value.fget is not None and value.fset is not None
    get_value, set_value = value.fget, value.fset

    def value_getter(self: Any) -> Any:
        if getattr(_local, "lazy", False):
            return ObjectBody.of(self)
        return get_value(self)

    def value_setter(self: Any, new_value: Any) -> None:
        if isinstance(new_value, AssembledBody):  # a completed upload: its file becomes the key's
            previous, self._value_buffer = self._value_buffer, new_value.take()
            previous.close()
            self.contentsize = new_value.size
            return
        if not isinstance(new_value, (UploadBody, ObjectBody)):
            set_value(self, new_value)
            return
        buffer = self._value_buffer
        buffer.seek(0)
        buffer.truncate()
        md5 = None
        if isinstance(new_value, ObjectBody):  # a copy: its ETag, the MD5 of its bytes, on the way
            md5 = hashlib.md5(usedforsecurity=False)
        for block in new_value.blocks():  # into the key's own spooled file, a block at a time
            buffer.write(block)
            if md5 is not None:
                md5.update(block)
        self.contentsize = len(new_value)
        digest = md5.hexdigest() if md5 is not None else new_value.md5 if isinstance(new_value, UploadBody) else None
        if self.__dict__.get("_etag") is None and digest is not None:
            self._etag = digest  # computed on the way in: no second pass over the file

    fake_key.value = property(value_getter, value_setter)  # type: ignore[assignment,method-assign]

    response_class = moto.s3.responses.S3Response
    response_class.get_object = _lazy(response_class.get_object)  # type: ignore[method-assign]

    # A copy's source read as GetObject reads it (CopyObject, UploadPartCopy: moto read
    # ``src_key.value``, and the copy's ``value`` again for a checksum asked for), and HeadObject's
    # PartNumber (moto read the whole object to slice the part, and its checksum, out of it).
    for name in ("copy_object", "upload_part_copy", "head_object"):
        setattr(response_class, name, _lazy(getattr(response_class, name)))

    moto.s3.models.FakeMultipart.complete = complete  # type: ignore[method-assign,assignment]
    backend_class = moto.s3.models.S3Backend
    complete_upload = backend_class.complete_multipart_upload

    @functools.wraps(complete_upload)
    def complete_multipart_upload(self: Any, *args: Any, **kwargs: Any) -> Any:
        key = complete_upload(self, *args, **kwargs)
        if key is not None and key.multipart is not None:
            # The parts' files, now copied into the object's: S3 keeps no parts of a completed
            # upload (ListParts answers NoSuchUpload), and moto reads only their sizes now.
            key.multipart.dispose()
        return key

    backend_class.complete_multipart_upload = complete_multipart_upload  # type: ignore[method-assign]

    setup_class = response_class.setup_class

    def spooled_setup_class(self: Any, request: Any, *args: Any, **kwargs: Any) -> None:
        body = request.environ.get(UPLOAD_ENVIRON)
        if body is not None:
            # werkzeug's cached request data and form: moto reads ``request.data`` (the whole
            # stream, as bytes) and ``request.form``; neither is read from the stream now.
            request._cached_data = body
            request.__dict__["data"] = body
            # A large POST-policy upload: its form, whose ``file`` is the body (post_stream.py).
            request.__dict__["form"] = ImmutableMultiDict(getattr(body, "form", ()))
            request.__dict__["files"] = ImmutableMultiDict()
        elif request.method != "POST" and request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
            # An object (or part) sent with a form's Content-Type (urllib's default for a body):
            # its bytes, as S3 keeps them. werkzeug would parse them as a form and leave
            # ``request.data`` empty: a 0-byte object, answered 200.
            raw = request.get_data(cache=True, parse_form_data=False)
            request.__dict__["data"] = raw
            request.__dict__["form"] = ImmutableMultiDict()
            request.__dict__["files"] = ImmutableMultiDict()
        setup_class(self, request, *args, **kwargs)

    response_class.setup_class = spooled_setup_class  # type: ignore[method-assign]
    _installed = True
