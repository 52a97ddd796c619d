"""S3 request payloads checked as S3 checks them, before moto sees the request.

moto de-chunks ``aws-chunked`` bodies without checking a chunk signature and stores whatever
checksum a client names, so the gateway does both here and hands moto a plain body:

* aws-chunked bodies (``x-amz-content-sha256`` ``STREAMING-AWS4-HMAC-SHA256-PAYLOAD``,
  ``...-PAYLOAD-TRAILER``, ``STREAMING-UNSIGNED-PAYLOAD-TRAILER``) are decoded; each chunk's
  signature chains on the previous one from the request's own (seed) signature, the final
  0-size chunk included, and a signed trailer carries ``x-amz-trailer-signature``.
  https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html and
  https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming-trailers.html
* ``Content-MD5`` and one ``x-amz-checksum-<algorithm>`` value, as a header or a trailer
  (``x-amz-trailer`` names it), are computed over the decoded body and compared.
  https://docs.aws.amazon.com/AmazonS3/latest/userguide/checking-object-integrity.html

moto then gets the decoded body, ``aws-chunked`` removed from its Content-Encoding, and the
checksum as the ``x-amz-checksum-<algorithm>`` header with ``x-amz-sdk-checksum-algorithm``,
which is what makes moto store it (GetObject with ChecksumMode=ENABLED returns it).

CRC32C and CRC64/NVME come from ``anycrc`` and the xxHash checksums from ``xxhash`` (C
extensions); CRC32 from zlib, the SHA and MD5 digests from hashlib.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import re
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any, Protocol

from emulator.errors import AwsError
from emulator.gateway.keys import AccessKey
from emulator.gateway.sigv4 import ParsedAuth, signing_key
from emulator.protocols.base import Request

log = logging.getLogger(__name__)

SIGNED = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
SIGNED_TRAILER = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
UNSIGNED_TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
STREAMING = (SIGNED, SIGNED_TRAILER, UNSIGNED_TRAILER)
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
CHECKSUM_PREFIX = "x-amz-checksum-"
TRAILER_SIGNATURE = "x-amz-trailer-signature"

# S3's checksum algorithms (botocore's S3 model: the ChecksumAlgorithm enum): the header suffix
# -> (its name in S3's messages, the digest's length in bytes).
ALGORITHMS: dict[str, tuple[str, int]] = {
    "crc32": ("CRC32", 4),
    "crc32c": ("CRC32C", 4),
    "crc64nvme": ("CRC64NVME", 8),
    "sha1": ("SHA1", 20),
    "sha256": ("SHA256", 32),
    "sha512": ("SHA512", 64),
    "md5": ("MD5", 16),
    "xxhash64": ("XXHASH64", 8),
    "xxhash3": ("XXHASH3", 8),
    "xxhash128": ("XXHASH128", 16),
}

_MISMATCH = "The request signature we calculated does not match the signature you provided. Check your key and signing method."
_HEX_SIZE = re.compile(rb"[0-9a-fA-F]{1,16}")
_SIGNATURE = re.compile(rb"chunk-signature=([0-9a-f]{64})")
# A chunk's header line: hex size, ";chunk-signature=" and 64 hex digits, with room to spare.
_MAX_CHUNK_LINE = 256


@dataclass(frozen=True)
class Seed:
    """What chunk signatures are computed from: the day's signing key, the request's
    timestamp and credential scope, and its own signature (the first "previous" one)."""

    key: bytes
    amz_date: str
    scope: str
    signature: str


def seed_of(key: AccessKey, parsed: ParsedAuth) -> Seed:
    return Seed(
        signing_key(key.secret_access_key, parsed.date, parsed.region, parsed.service),
        parsed.amz_date,
        f"{parsed.date}/{parsed.region}/{parsed.service}/aws4_request",
        parsed.signature,
    )


def chunk_signature(seed: Seed, previous: str, data: bytes | memoryview) -> str:
    to_sign = f"AWS4-HMAC-SHA256-PAYLOAD\n{seed.amz_date}\n{seed.scope}\n{previous}\n{EMPTY_SHA256}\n{hashlib.sha256(data).hexdigest()}"
    return hmac.new(seed.key, to_sign.encode(), hashlib.sha256).hexdigest()


def trailer_signature(seed: Seed, previous: str, trailers: list[tuple[str, str]]) -> str:
    """The trailer's signature: over ``name:value\\n`` per trailing header, chained on the
    final chunk's signature (the AWS documentation's example gives the known answer)."""
    canonical = "".join(f"{name}:{value}\n" for name, value in trailers)
    to_sign = f"AWS4-HMAC-SHA256-TRAILER\n{seed.amz_date}\n{seed.scope}\n{previous}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
    return hmac.new(seed.key, to_sign.encode(), hashlib.sha256).hexdigest()


# ---------------------------------------------------------------- errors, as S3 words them


def _signature_mismatch() -> AwsError:
    return AwsError("SignatureDoesNotMatch", _MISMATCH, 403)


def _incomplete() -> AwsError:
    return AwsError("IncompleteBody", "You did not provide the number of bytes specified by the Content-Length HTTP header.", 400)


def _malformed_chunks() -> AwsError:
    return AwsError("InvalidRequest", "The aws-chunked encoding of the request body is malformed.", 400)


def _malformed_trailer() -> AwsError:
    return AwsError("MalformedTrailerError", "The request contained trailing data that was not well-formed or did not conform to our published schema.", 400)


def _invalid_request(message: str) -> AwsError:
    return AwsError("InvalidRequest", message, 400)


# ---------------------------------------------------------------- aws-chunked


def decode_chunked(body: bytes, mode: str, seed: Seed | None) -> tuple[bytes, list[tuple[str, str]]]:
    """The data of an aws-chunked ``body`` and its trailing headers (lower-cased names, in
    order; the trailer signature left out). Chunk and trailer signatures are checked when
    ``mode`` is a signed one and ``seed`` is known (None: the gateway does not check
    signatures). Raises AwsError."""
    signed = mode != UNSIGNED_TRAILER
    verify = signed and seed is not None
    previous = seed.signature if seed is not None else ""
    view = memoryview(body)
    size_total = len(body)
    parts: list[memoryview] = []
    pos = 0
    while True:
        end = body.find(b"\r\n", pos, pos + _MAX_CHUNK_LINE)
        if end < 0:
            raise _incomplete() if size_total - pos < _MAX_CHUNK_LINE else _malformed_chunks()
        size_field, _, extension = body[pos:end].partition(b";")
        if not _HEX_SIZE.fullmatch(size_field):
            raise _malformed_chunks()
        size = int(size_field, 16)
        start = end + 2
        if size > size_total - start:
            raise _incomplete()
        data = view[start : start + size]
        if signed:
            match = _SIGNATURE.fullmatch(extension)
            if match is None:
                raise _signature_mismatch() if verify else _malformed_chunks()
            if verify:
                assert seed is not None
                expected = chunk_signature(seed, previous, data)
                if not hmac.compare_digest(expected.encode(), match.group(1)):
                    raise _signature_mismatch()
                previous = expected
        pos = start + size
        if size == 0:
            break
        if body[pos : pos + 2] != b"\r\n":
            raise _incomplete() if size_total - pos < 2 else _malformed_chunks()
        pos += 2
        parts.append(data)
    data_out = b"".join(parts)
    if mode == SIGNED:
        # No trailer: the final chunk's empty data and its CRLF.
        if body[pos:] not in (b"\r\n", b""):
            raise _malformed_chunks()
        return data_out, []
    trailers = _trailers(body, pos)
    signature = [value for name, value in trailers if name == TRAILER_SIGNATURE]
    trailers = [(name, value) for name, value in trailers if name != TRAILER_SIGNATURE]
    if verify:
        assert seed is not None
        if len(signature) != 1 or not hmac.compare_digest(trailer_signature(seed, previous, trailers), signature[0]):
            raise _signature_mismatch()
    return data_out, trailers


def _trailers(body: bytes, pos: int) -> list[tuple[str, str]]:
    """The trailing header lines from ``pos`` up to the empty line that ends the body."""
    out: list[tuple[str, str]] = []
    size = len(body)
    while pos < size:
        end = body.find(b"\r\n", pos)
        if end < 0:  # a last line without its CRLF
            end = size
        line = body[pos:end]
        pos = end + 2
        if not line:
            if pos < size:
                raise _malformed_trailer()
            break
        name, sep, value = line.partition(b":")
        if not sep:
            raise _malformed_trailer()
        try:
            out.append((name.decode("ascii").strip().lower(), value.decode("ascii").strip()))
        except UnicodeDecodeError:
            raise _malformed_trailer() from None
    return out


# ---------------------------------------------------------------- checksums


@cache
def digest_function(algorithm: str) -> Callable[[bytes], bytes] | None:
    """The function computing ``algorithm``'s digest (big-endian bytes, as S3 encodes it in
    base64); None when its library is not installed (the value is then not checked)."""
    if algorithm == "crc32":
        return lambda data: zlib.crc32(data).to_bytes(4, "big")
    if algorithm in ("sha1", "sha256", "sha512", "md5"):
        constructor = getattr(hashlib, algorithm)
        return lambda data: bytes(constructor(data).digest())
    try:
        if algorithm in ("crc32c", "crc64nvme"):
            import anycrc

            model = anycrc.Model("CRC32-ISCSI" if algorithm == "crc32c" else "CRC64-NVME")
            width = ALGORITHMS[algorithm][1]
            return lambda data: int(model.calc(data)).to_bytes(width, "big")
        if algorithm.startswith("xxhash"):
            import xxhash

            hasher = {"xxhash64": xxhash.xxh64, "xxhash3": xxhash.xxh3_64, "xxhash128": xxhash.xxh3_128}[algorithm]
            return lambda data: bytes(hasher(data).digest())
    except ImportError:
        log.warning("%s checksums are not verified: its library is not installed (pip install anycrc xxhash)", algorithm.upper())
    return None


class _Crc:
    """A running CRC: zlib's crc32, or an ``anycrc`` model, fed block by block."""

    def __init__(self, update: Callable[[bytes | memoryview, int | None], int], width: int) -> None:
        self._update = update
        self._width = width
        self._value: int | None = None  # none yet: the algorithm's own initial value

    def update(self, data: bytes | memoryview) -> None:
        self._value = self._update(data, self._value)

    def digest(self) -> bytes:
        value = self._value if self._value is not None else self._update(b"", None)
        return value.to_bytes(self._width, "big")


@cache
def _running_crc(algorithm: str) -> Callable[[bytes | memoryview, int | None], int] | None:
    if algorithm == "crc32":
        return lambda data, value: zlib.crc32(data, value or 0)
    try:
        import anycrc
    except ImportError:
        return None
    model = anycrc.Model("CRC32-ISCSI" if algorithm == "crc32c" else "CRC64-NVME")
    # anycrc continues from a previous value (``init``); the first block starts from none.
    return lambda data, value: int(model.calc(data) if value is None else model.calc(data, value))


def new_hasher(algorithm: str) -> Hasher | None:
    """A running digest of ``algorithm`` (``update`` block by block, then ``digest``): what a
    body too large for memory (gateway/s3_stream.py) is checked with; None when its library is
    not installed, as for ``digest_function``."""
    if algorithm in ("sha1", "sha256", "sha512", "md5"):
        return hashlib.new(algorithm, usedforsecurity=False)
    if algorithm in ("crc32", "crc32c", "crc64nvme"):
        update = _running_crc(algorithm)
        return _Crc(update, ALGORITHMS[algorithm][1]) if update is not None else None
    if algorithm.startswith("xxhash"):
        try:
            import xxhash
        except ImportError:
            return None
        return {"xxhash64": xxhash.xxh64, "xxhash3": xxhash.xxh3_64, "xxhash128": xxhash.xxh3_128}[algorithm]()  # type: ignore[no-any-return]
    return None


class Hasher(Protocol):
    def update(self, data: bytes | memoryview, /) -> None: ...

    def digest(self) -> bytes: ...


_patched = False


def patch_moto_checksums() -> None:
    """The checksums moto computes itself (CopyObject with ChecksumAlgorithm, multipart
    uploads' composite checksums) from the functions above: without the ``crc32c`` and
    ``awscrt`` packages moto answers CRC32C and CRC64NVME with a plain CRC32, which a client
    validating them refuses."""
    global _patched
    if _patched:
        return
    import moto.s3.models
    import moto.s3.responses
    import moto.s3.utils

    original = moto.s3.utils.compute_checksum

    def compute_checksum(body: Any, algorithm: str, encode_base64: bool = True) -> bytes:
        if not isinstance(body, (bytes, bytearray, memoryview, str)):
            # A body read block by block (gateway/s3_stream.py): a part of a large object.
            hasher = new_hasher(algorithm.lower())
            if hasher is None:
                body = bytes(body)
            else:
                for block in body.blocks():
                    hasher.update(block)
                return base64.b64encode(hasher.digest()) if encode_base64 else hasher.digest()
        compute = digest_function(algorithm.lower()) if algorithm.lower() in ("crc32c", "crc64nvme") else None
        if compute is None:
            return bytes(original(body, algorithm, encode_base64))
        digest = compute(body)
        return base64.b64encode(digest) if encode_base64 else digest

    for module in (moto.s3.utils, moto.s3.models, moto.s3.responses):
        module.compute_checksum = compute_checksum  # type: ignore[attr-defined]
    _patched = True


def decode_b64(value: str) -> bytes | None:
    """A base64 value (a checksum, a Content-MD5) as bytes; None when it is not base64."""
    try:
        return base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None


def check_content_md5(value: str, data: bytes) -> None:
    compare_content_md5(value, lambda: hashlib.md5(data, usedforsecurity=False).digest())


def compare_content_md5(value: str, calculate: Callable[[], bytes]) -> None:
    """``check_content_md5`` with the body's MD5 from ``calculate``."""
    sent = decode_b64(value)
    if sent is None or len(sent) != 16:
        raise AwsError("InvalidDigest", "The Content-MD5 you specified was invalid.", 400)
    calculated = calculate()
    if not hmac.compare_digest(sent, calculated):
        raise AwsError(
            "BadDigest",
            "The Content-MD5 you specified did not match what we received.",
            400,
            extra={"ExpectedDigest": value.strip(), "CalculatedDigest": base64.b64encode(calculated).decode()},
        )


def check_checksum(algorithm: str, value: str, data: bytes) -> None:
    compute = digest_function(algorithm)
    compare_checksum(algorithm, value, None if compute is None else lambda: compute(data))


def compare_checksum(algorithm: str, value: str, calculate: Callable[[], bytes | None] | None) -> None:
    """``check_checksum`` with the body's digest from ``calculate`` (None, or answering None:
    not computed, its library missing)."""
    name, width = ALGORITHMS[algorithm]
    sent = decode_b64(value)
    if sent is None or len(sent) != width:
        raise _invalid_request(f"Value for x-amz-checksum-{algorithm} header is invalid.")
    calculated = calculate() if calculate is not None else None
    if calculated is not None and not hmac.compare_digest(sent, calculated):
        raise AwsError("BadDigest", f"The {name} you specified did not match the calculated checksum.", 400)


# ---------------------------------------------------------------- the gateway's step


def _spooled_operation(request: Request) -> None:
    """A body over the gateway's size limit is spooled for PutObject and UploadPart only
    (gateway/s3_stream.spoolable guesses them from the request's form): a PUT naming a bucket
    alone (CreateBucket and its sub-resources) keeps the limit of every other request."""
    path = (request.route_path or request.raw_path).lstrip("/")
    bucket, _, key = path.partition("/")
    if not bucket or not key:
        limit = request.body_file.limit
        raise AwsError("RequestEntityTooLarge", f"Request body exceeds the limit of {limit} bytes", 413)


def _wants_check(request: Request, mode: str) -> bool:
    if mode in STREAMING:
        return True
    headers = request.headers
    return "content-md5" in headers or "x-amz-sdk-checksum-algorithm" in headers or any(name.startswith(CHECKSUM_PREFIX) for name in headers)


def check(request: Request, signer: tuple[AccessKey, ParsedAuth] | None) -> None:
    """Check the payload of an S3 request and leave it plain for moto (see the module's doc).

    ``signer``: the key and the parsed SigV4 signature that authenticated the request (None
    when it was not SigV4: chunk signatures are then not checked). Raises AwsError; nothing
    is changed when the request is refused."""
    if request.method not in ("PUT", "POST"):
        return
    headers = request.headers
    mode = headers.get("x-amz-content-sha256", "")
    spool = request.body_file  # a large upload, spooled to a file (gateway/s3_stream.py)
    if spool is None and not _wants_check(request, mode):
        return
    if request.method == "POST" and request.content_type == "multipart/form-data":
        return  # a POST-policy upload: its checksums are form fields (gateway/post_policy.py)
    if spool is not None:
        _spooled_operation(request)
    body = request.body if request.wire_body is None else request.wire_body
    trailers: list[tuple[str, str]] = []
    streaming = mode in STREAMING
    data = body
    if streaming:
        declared = headers.get("x-amz-decoded-content-length")
        if declared is not None and not declared.strip().isdigit():
            raise _invalid_request("Value for x-amz-decoded-content-length header is invalid.")
        if declared is None and mode != UNSIGNED_TRAILER:
            raise AwsError("MissingContentLength", "You must provide the Content-Length HTTP header.", 411)
        seed = seed_of(*signer) if signer is not None and mode != UNSIGNED_TRAILER else None
        if spool is not None:
            trailers = spool.decoder.verify(seed)
        else:
            data, trailers = decode_chunked(body, mode, seed)
        size = spool.size if spool is not None else len(data)
        if declared is not None:
            expected = int(declared)
            if size < expected:
                raise _incomplete()
            if size > expected:
                raise _invalid_request("The decoded length of the aws-chunked body exceeds the x-amz-decoded-content-length header.")
    size = spool.size if spool is not None else len(data)
    if spool is not None and spool.too_large:
        from emulator.gateway.s3_stream import entity_too_large

        raise entity_too_large(size)

    def digest_of(algorithm: str) -> Callable[[], bytes | None] | None:
        if spool is not None:
            return lambda: spool.digest(algorithm)
        compute = digest_function(algorithm)
        return None if compute is None else lambda: compute(data)

    md5 = headers.get("content-md5")
    if md5 is not None:
        md5_of = digest_of("md5")
        assert md5_of is not None
        compare_content_md5(md5, lambda: md5_of() or b"")

    # CompleteMultipartUpload's x-amz-checksum-* are the whole object's, not its XML body's; a
    # copy has no body of its own.
    own_body = not (request.method == "POST" and "uploadId" in request.query) and "x-amz-copy-source" not in headers
    found: dict[str, str] = {}
    if own_body:
        found = {alg: headers[CHECKSUM_PREFIX + alg] for alg in ALGORITHMS if CHECKSUM_PREFIX + alg in headers}
    declared_trailers = {name.strip().lower() for name in headers.get("x-amz-trailer", "").split(",") if name.strip()}
    if trailers or declared_trailers:
        for name in declared_trailers:
            if not name.startswith(CHECKSUM_PREFIX) or name[len(CHECKSUM_PREFIX) :] not in ALGORITHMS:
                raise _invalid_request("The value specified in the x-amz-trailer header is not supported")
        if {name for name, _ in trailers} != declared_trailers:
            raise _malformed_trailer()
        for name, value in trailers:
            found[name[len(CHECKSUM_PREFIX) :]] = value
    if len(found) > 1:
        raise _invalid_request("Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.")
    sdk = headers.get("x-amz-sdk-checksum-algorithm")
    if sdk is not None and own_body:
        if sdk.strip().lower() not in ALGORITHMS:
            raise _invalid_request("Value for x-amz-sdk-checksum-algorithm header is invalid.")
        if sdk.strip().lower() not in found:
            raise _invalid_request("x-amz-sdk-checksum-algorithm specified, but no corresponding x-amz-checksum-* or x-amz-trailer headers were found.")
    for algorithm, value in found.items():
        compare_checksum(algorithm, value, digest_of(algorithm))

    # Accepted: what moto gets.
    if streaming:
        if spool is None:
            request.body = data
        request.wire_body = None
        for name in ("x-amz-decoded-content-length", "x-amz-trailer", "transfer-encoding"):
            headers.pop(name, None)
        headers["x-amz-content-sha256"] = "UNSIGNED-PAYLOAD"
        headers["content-length"] = str(size)
        encodings = [e for e in (part.strip() for part in headers.get("content-encoding", "").split(",")) if e and e.lower() != "aws-chunked"]
        if encodings:
            headers["content-encoding"] = ",".join(encodings)
        else:
            headers.pop("content-encoding", None)
    elif request.wire_body is not None:
        request.body, request.wire_body = data, None  # moto stores the bytes as sent
    for algorithm, value in found.items():
        headers[CHECKSUM_PREFIX + algorithm] = value.strip()
        headers["x-amz-sdk-checksum-algorithm"] = ALGORITHMS[algorithm][0]
