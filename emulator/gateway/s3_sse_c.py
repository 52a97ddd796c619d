"""S3 server-side encryption with customer-provided keys (SSE-C), enforced as S3 enforces it.

S3 does not keep an SSE-C key: it keeps the key's MD5 with the object, and every read of the
object (GetObject, HeadObject, GetObjectAttributes, SelectObjectContent, a copy's source) must
send the key again
(https://docs.aws.amazon.com/AmazonS3/latest/userguide/ServerSideEncryptionCustomerKeys.html).
ListParts and RestoreObject return no object bytes and take no key here (botocore's model gives
RestoreObject no SSE-C members; ListParts needs one only for an upload made with a checksum).
moto took the headers and ignored them, so an object put with a key was read back without
one: code that forgets the key passed locally and failed on AWS. Here:

- ``customer_key`` checks the headers of a request (the key is 256 bits, its MD5 is the one
  sent, the algorithm is AES256, no other encryption asked for with it); fallback_checks_s3.py
  runs it before moto sees the request, ``install``'s wrapper again for the requests it reads;
- ``install`` wraps moto's S3 object requests (``S3Response._key_response``): the object (or
  multipart upload) written with a key remembers the key's algorithm and MD5 (``ALGORITHM``,
  ``KEY_MD5``: attributes of moto's FakeKey and FakeMultipart, so pickled with moto's state and
  back after a restart: fallback_pickle._reduce_s3_key keeps a key's ``__dict__``); a read
  without the key, with another key, or with a key for an object stored without one is refused
  with S3's error; answers carry the SSE-C response headers.

The bytes are not encrypted: the emulator keeps them as sent, which no client can tell.

S3 refuses SSE-C over plain HTTP ("Requests specifying Server Side Encryption with Customer
provided keys must be made over a secure connection."). The emulator accepts it: it is usually
reached at http://127.0.0.1, where that rule would refuse every SSE-C call of a test suite.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import threading
from collections.abc import Mapping
from typing import Any, NamedTuple
from urllib.parse import parse_qs, unquote, urlparse

from emulator.errors import AwsError

PREFIX = "x-amz-server-side-encryption-customer-"
COPY_PREFIX = "x-amz-copy-source-server-side-encryption-customer-"
# The attributes moto's FakeKey and FakeMultipart get (absent: stored without SSE-C).
ALGORITHM = "sse_c_algorithm"
KEY_MD5 = "sse_c_key_md5"

_STORED_ENCRYPTED = "The object was stored using a form of Server Side Encryption. The correct parameters must be provided to retrieve the object."
_WRONG_KEY = "Requests specifying Server Side Encryption with Customer provided keys must provide the correct secret key."
_NOT_APPLICABLE = "The encryption parameters are not applicable to this object."
_PART_WITHOUT_KEY = "The multipart upload initiate requested encryption. Subsequent part requests must include the appropriate encryption parameters."
_PART_OTHER_KEY = "The provided encryption parameters did not match the ones used originally."


class CustomerKey(NamedTuple):
    algorithm: str
    key_md5: str  # base64 of the key's MD5, as S3 answers it


def _invalid(message: str, value: str = "null") -> AwsError:
    # S3 names x-amz-server-side-encryption as the argument of every SSE-C header error, with
    # the value "null" unless the value itself is the mistake.
    return AwsError("InvalidArgument", message, 400, extra={"ArgumentName": "x-amz-server-side-encryption", "ArgumentValue": value})


def customer_key(headers: Mapping[str, str], prefix: str = PREFIX, write: bool = False) -> CustomerKey | None:
    """The SSE-C key a request names with ``prefix``'s headers (the object's own, or a copy's
    source's), checked as S3 checks them; None without one. ``write``: a request storing an
    object, which cannot also ask for another encryption (x-amz-server-side-encryption)."""
    algorithm = headers.get(prefix + "algorithm")
    key = headers.get(prefix + "key")
    md5 = headers.get(prefix + "key-md5")
    if algorithm is None and key is None:
        return None
    other = headers.get("x-amz-server-side-encryption") if write else None
    if other is not None:
        raise _invalid("Server Side Encryption with Customer provided key is incompatible with the encryption method specified", other)
    if not algorithm:
        raise _invalid("Requests specifying Server Side Encryption with Customer provided keys must provide a valid encryption algorithm.")
    if not key:
        raise _invalid("Requests specifying Server Side Encryption with Customer provided keys must provide an appropriate secret key.")
    if algorithm != "AES256":
        raise AwsError(
            "InvalidEncryptionAlgorithmError", "The Encryption request you specified is not valid. Supported value: AES256.", 400,
            extra={"ArgumentName": "x-amz-server-side-encryption", "ArgumentValue": algorithm},
        )
    try:
        raw = base64.b64decode(key, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 32:  # AES256: a 256-bit key
        raise _invalid("The secret key was invalid for the specified algorithm.")
    if not md5:
        raise _invalid("Requests specifying Server Side Encryption with Customer provided keys must provide the client calculated MD5 of the secret key.")
    computed = base64.b64encode(hashlib.md5(raw, usedforsecurity=False).digest()).decode()
    if md5 != computed:
        raise _invalid("The calculated MD5 hash of the key did not match the hash that was provided.")
    return CustomerKey(algorithm, computed)


def stored(item: Any) -> CustomerKey | None:
    """The SSE-C key an object or a multipart upload was written with (None: none)."""
    md5 = getattr(item, KEY_MD5, None) if item is not None else None
    return CustomerKey(getattr(item, ALGORITHM, None) or "AES256", md5) if md5 else None


def check_read(item: Any, given: CustomerKey | None) -> None:
    """A read of an object (or a copy from it) with the key ``given``: S3 answers the object only
    with the key it was stored with, and refuses a key for an object stored without one."""
    kept = stored(item)
    if kept is not None and given is None:
        raise AwsError("InvalidRequest", _STORED_ENCRYPTED, 400)
    if kept is not None and given is not None and given.key_md5 != kept.key_md5:
        raise AwsError("AccessDenied", _WRONG_KEY, 403)
    if kept is None and given is not None:
        raise AwsError("InvalidRequest", _NOT_APPLICABLE, 400)


def check_part(upload: Any, given: CustomerKey | None) -> None:
    """UploadPart and UploadPartCopy repeat the key the upload was created with."""
    kept = stored(upload)
    if kept is not None and given is None:
        raise AwsError("InvalidRequest", _PART_WITHOUT_KEY, 400)
    if given is not None and (kept is None or given.key_md5 != kept.key_md5):
        raise AwsError("InvalidRequest", _PART_OTHER_KEY, 400)


def stamp(item: Any, key: CustomerKey | None) -> None:
    """Remember ``key`` (or none) with a new object or upload."""
    if key is None:
        item.__dict__.pop(ALGORITHM, None)
        item.__dict__.pop(KEY_MD5, None)
        return
    setattr(item, ALGORITHM, key.algorithm)
    setattr(item, KEY_MD5, key.key_md5)
    # An SSE-C object is encrypted with the customer's key only: S3 answers no
    # x-amz-server-side-encryption for it (moto would give it the bucket's default).
    if hasattr(item, "sse_encryption"):  # an upload: what its object will be put with
        item.sse_encryption = None
    else:
        item.encryption = None
    item.kms_key_id = None


def response_headers(headers: dict[str, Any], key: CustomerKey | None) -> None:
    if key is not None:
        headers[PREFIX + "algorithm"] = key.algorithm
        headers[PREFIX + "key-MD5"] = key.key_md5


# What the object written by the request running in this thread is stamped with: set by the
# request's wrapper, read when moto's S3Backend.put_object / create_multipart_upload make it.
_local = threading.local()
_UNSET = object()
# GET subresources that are not a read of the object's bytes: no key needed.
_NOT_READS = ("uploadId", "acl", "tagging", "legal-hold", "retention", "torrent")
_PUT_SUBRESOURCES = ("retention", "legal-hold", "acl", "tagging")


def _lower(headers: Any) -> dict[str, str]:
    return {str(k).lower(): str(v) for k, v in headers.items()}


def _source(backend: Any, headers: dict[str, str]) -> Any:
    """The object x-amz-copy-source names (None: moto answers that it does not exist)."""
    from moto.s3.exceptions import S3ClientError

    parsed = urlparse(headers.get("x-amz-copy-source", ""))
    bucket, _, name = unquote(parsed.path).lstrip("/").partition("/")
    version = parse_qs(parsed.query).get("versionId", [None])[0]
    try:
        return backend.get_object(bucket, name, version_id=version)
    except S3ClientError:
        return None


def _object(backend: Any, bucket: str, name: str, query: dict[str, list[str]]) -> Any:
    from moto.s3.exceptions import S3ClientError

    try:
        return backend.get_object(bucket, name, version_id=query.get("versionId", [None])[0])
    except S3ClientError:
        return None


def _upload(backend: Any, bucket: str, query: dict[str, list[str]]) -> Any:
    from moto.s3.exceptions import S3ClientError

    try:
        return backend.get_bucket(bucket).multiparts.get(query["uploadId"][0])
    except (S3ClientError, KeyError, IndexError):
        return None


def _key_request(self: Any, request: Any, full_url: str, original: Any) -> Any:
    """One S3 object request (moto's S3Response._key_response, after setup_class)."""
    query = parse_qs(urlparse(full_url).query, keep_blank_values=True)
    method = request.method
    headers = _lower(request.headers)
    bucket = self.parse_bucket_name_from_url(request, full_url)
    name = self.parse_key_name()
    backend = self.backend
    answer_key: CustomerKey | None = None  # the SSE-C headers of the answer
    pending: Any = _UNSET  # what the object or upload written is stamped with

    if method in ("GET", "HEAD") and not any(k in query for k in _NOT_READS):
        item = _object(backend, bucket, name, query)
        if item is None:
            return original(self, request, full_url)  # moto's NoSuchKey / NoSuchBucket
        given = customer_key(headers)
        check_read(item, given)
        answer_key = given
    elif method == "PUT" and "uploadId" in query and "partNumber" in query:
        upload = _upload(backend, bucket, query)
        if upload is None:
            return original(self, request, full_url)  # NoSuchUpload
        given = customer_key(headers)
        if "x-amz-copy-source" in headers:
            source = _source(backend, headers)
            if source is not None:
                check_read(source, customer_key(headers, COPY_PREFIX))
        check_part(upload, given)
        answer_key = given
    elif method == "PUT" and not any(k in query for k in _PUT_SUBRESOURCES):
        given = customer_key(headers, write=True)
        if "x-amz-copy-source" in headers:
            source = _source(backend, headers)
            if source is not None:
                check_read(source, customer_key(headers, COPY_PREFIX))
        pending = answer_key = given
    elif method == "POST" and "uploads" in query:
        pending = answer_key = customer_key(headers, write=True)
    elif method == "POST" and "uploadId" in query:
        # CompleteMultipartUpload: the object takes the upload's key. Its answer names no key
        # (botocore's CompleteMultipartUploadOutput has no SSE-C members).
        upload = _upload(backend, bucket, query)
        if upload is not None:
            pending = stored(upload)
    elif method == "POST" and "select" in query:
        # SelectObjectContent reads the object's bytes: S3 wants the key as GetObject does
        # (moto would run the query on an SSE-C object without it, answering its plaintext).
        item = _object(backend, bucket, name, query)
        if item is None:
            return original(self, request, full_url)  # moto's NoSuchKey / NoSuchBucket
        check_read(item, customer_key(headers))

    previous = getattr(_local, "pending", _UNSET)
    _local.pending = pending
    try:
        status, out_headers, body = original(self, request, full_url)
    finally:
        _local.pending = previous
    if isinstance(status, int) and status < 400 and answer_key is not None:
        response_headers(out_headers, answer_key)
        out_headers.pop("x-amz-server-side-encryption", None)
    return status, out_headers, body


def _stamping(make: Any) -> Any:
    """``make`` (moto's, returning a key or an upload), stamping what it made with the key the
    request being served sent (``_local.pending``)."""

    @functools.wraps(make)
    def stamped(self: Any, *args: Any, **kwargs: Any) -> Any:
        made = make(self, *args, **kwargs)
        pending: Any = getattr(_local, "pending", _UNSET)
        if made is not None and pending is not _UNSET:
            stamp(made, pending)
        return made

    return stamped


def install() -> None:
    """Wrap moto's S3 object requests and the backend functions that make objects and uploads."""
    from moto.s3.models import S3Backend
    from moto.s3.responses import S3Response

    key_response = S3Response._key_response

    @functools.wraps(key_response)
    def sse_c_key_response(self: Any, request: Any, full_url: str) -> Any:
        return _key_request(self, request, full_url, key_response)

    S3Response._key_response = sse_c_key_response  # type: ignore[method-assign]

    # The object (PutObject) or upload (CreateMultipartUpload) made under a request that sent
    # a key takes it.
    S3Backend.put_object = _stamping(S3Backend.put_object)  # type: ignore[method-assign]
    S3Backend.create_multipart_upload = _stamping(S3Backend.create_multipart_upload)  # type: ignore[method-assign]

    copy_object = S3Backend.copy_object

    @functools.wraps(copy_object)
    def rekeyed_copy(self: Any, src_key: Any, dest_bucket_name: str, dest_key_name: str, *args: Any, **kwargs: Any) -> Any:
        # A copy of an object onto itself that changes its SSE-C key (or drops it) changes its
        # encryption, which S3 takes as the change such a copy needs (the way to rotate a
        # customer key); moto sees no change and refuses it. Its placeholder encryption is
        # cleared again when the copy is stamped with its key.
        pending: Any = getattr(_local, "pending", _UNSET)
        same = src_key.bucket_name == dest_bucket_name and src_key.name == dest_key_name
        if same and pending is not _UNSET and pending != stored(src_key) and not kwargs.get("encryption"):
            kwargs["encryption"] = "AES256"
        return copy_object(self, src_key, dest_bucket_name, dest_key_name, *args, **kwargs)

    S3Backend.copy_object = rekeyed_copy  # type: ignore[method-assign]
