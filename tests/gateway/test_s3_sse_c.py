"""S3 SSE-C (customer-provided keys, emulator/gateway/s3_sse_c.py): an object put with a key is
read only with that key, as on S3 (without it: 400 InvalidRequest; with another: 403
AccessDenied), copies and multipart uploads carry keys as S3 wants them, bad SSE-C headers get
S3's errors, the key's MD5 survives a restart, and objects put without a key are unaffected.
Through the wire with boto3 (its SSECustomerKey parameters; botocore adds the key's MD5)."""

from __future__ import annotations

import base64
import hashlib
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from sse_c_keys import (
    COPY_SSE,
    ENCODED,
    KEY,
    KEY_MD5,
    OTHER,
    OTHER_KEY,
    OTHER_MD5,
    SSE,
    STORED_ENCRYPTED,
    MiB,
    error_of,
)

from emulator.testing.server import EmulatorServer


@pytest.fixture
def s3(aws_client: Callable[..., Any]) -> Any:
    return aws_client("s3")


@pytest.fixture
def bucket(s3: Any) -> str:
    name = f"ssec-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    return name


def _raw_headers(key: bytes, md5: str | None = None, algorithm: str = "AES256", prefix: str = "x-amz-server-side-encryption-customer-") -> dict[str, str]:
    """SSE-C headers as given, for what botocore would not send (a wrong MD5...)."""
    headers = {prefix + "algorithm": algorithm, prefix + "key": base64.b64encode(key).decode()}
    headers[prefix + "key-MD5"] = md5 if md5 is not None else base64.b64encode(hashlib.md5(key).digest()).decode()
    return headers


def _with_headers(s3: Any, headers: dict[str, str]) -> Any:
    """``s3`` sending ``headers`` on its next calls (signed with the request)."""

    def add(request: Any, **_: Any) -> None:
        for name, value in headers.items():
            request.headers[name] = value

    s3.meta.events.register_first("before-sign.s3.*", add)
    return add


def test_put_get_head_with_the_key(s3: Any, bucket: str) -> None:
    put = s3.put_object(Bucket=bucket, Key="secret.txt", Body=b"top secret", **SSE)
    assert (put["SSECustomerAlgorithm"], put["SSECustomerKeyMD5"]) == ("AES256", KEY_MD5)
    assert "ServerSideEncryption" not in put

    got = s3.get_object(Bucket=bucket, Key="secret.txt", **SSE)
    assert got["Body"].read() == b"top secret"
    assert (got["SSECustomerAlgorithm"], got["SSECustomerKeyMD5"]) == ("AES256", KEY_MD5)
    head = s3.head_object(Bucket=bucket, Key="secret.txt", **SSE)
    assert (head["SSECustomerAlgorithm"], head["SSECustomerKeyMD5"], head["ContentLength"]) == ("AES256", KEY_MD5, 10)
    ranged = s3.get_object(Bucket=bucket, Key="secret.txt", Range="bytes=4-9", **SSE)
    assert ranged["Body"].read() == b"secret"
    # botocore encodes the key and adds its MD5 for the operations it lists, not this one.
    attributes = s3.get_object_attributes(Bucket=bucket, Key="secret.txt", ObjectAttributes=["ObjectSize"], **ENCODED)
    assert attributes["ObjectSize"] == 10


def test_read_without_the_key_is_refused(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="secret.txt", Body=b"top secret", **SSE)
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=bucket, Key="secret.txt")
    assert error_of(exc) == (400, "InvalidRequest", STORED_ENCRYPTED)
    with pytest.raises(ClientError) as exc:
        s3.head_object(Bucket=bucket, Key="secret.txt")
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400  # HEAD: no body, no code
    with pytest.raises(ClientError) as exc:
        s3.get_object_attributes(Bucket=bucket, Key="secret.txt", ObjectAttributes=["ObjectSize"])
    assert error_of(exc) == (400, "InvalidRequest", STORED_ENCRYPTED)
    # Listing and deleting need no key.
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == ["secret.txt"]
    s3.delete_object(Bucket=bucket, Key="secret.txt")


def test_read_with_another_key_is_refused(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="secret.txt", Body=b"top secret", **SSE)
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=bucket, Key="secret.txt", **OTHER)
    status, code, message = error_of(exc)
    assert (status, code) == (403, "AccessDenied")
    assert "correct secret key" in message
    with pytest.raises(ClientError) as exc:
        s3.head_object(Bucket=bucket, Key="secret.txt", **OTHER)
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_presigned_get(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="secret.txt", Body=b"top secret", **SSE)
    # A URL presigned with the key's parameters signs its headers: the caller sends them.
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "secret.txt", **SSE})
    request = urllib.request.Request(url, headers=_raw_headers(KEY))
    with urllib.request.urlopen(request) as response:
        assert response.read() == b"top secret"
        assert response.headers["x-amz-server-side-encryption-customer-key-MD5"] == KEY_MD5
    plain = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "secret.txt"})
    with pytest.raises(urllib.error.HTTPError) as exc:
        urllib.request.urlopen(plain)
    assert exc.value.code == 400
    assert b"<Code>InvalidRequest</Code>" in exc.value.read()


def test_plain_object_is_unaffected_and_refuses_a_key(s3: Any, bucket: str) -> None:
    put = s3.put_object(Bucket=bucket, Key="plain.txt", Body=b"plain")
    assert "SSECustomerAlgorithm" not in put
    got = s3.get_object(Bucket=bucket, Key="plain.txt")
    assert got["Body"].read() == b"plain"
    assert "SSECustomerAlgorithm" not in got and "SSECustomerKeyMD5" not in got
    assert "SSECustomerKeyMD5" not in s3.head_object(Bucket=bucket, Key="plain.txt")
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=bucket, Key="plain.txt", **SSE)
    assert error_of(exc) == (400, "InvalidRequest", "The encryption parameters are not applicable to this object.")
    # Overwritten without a key: the new object needs none.
    s3.put_object(Bucket=bucket, Key="flip.txt", Body=b"one", **SSE)
    s3.put_object(Bucket=bucket, Key="flip.txt", Body=b"two")
    assert s3.get_object(Bucket=bucket, Key="flip.txt")["Body"].read() == b"two"


def test_versions_keep_their_own_key(s3: Any, bucket: str) -> None:
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    first = s3.put_object(Bucket=bucket, Key="v.txt", Body=b"encrypted", **SSE)["VersionId"]
    s3.put_object(Bucket=bucket, Key="v.txt", Body=b"plain")
    assert s3.get_object(Bucket=bucket, Key="v.txt")["Body"].read() == b"plain"
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=bucket, Key="v.txt", VersionId=first)
    assert error_of(exc)[:2] == (400, "InvalidRequest")
    assert s3.get_object(Bucket=bucket, Key="v.txt", VersionId=first, **SSE)["Body"].read() == b"encrypted"


def test_bad_sse_c_headers(s3: Any, bucket: str) -> None:
    cases: list[tuple[dict[str, str], str, str]] = [
        (_raw_headers(KEY, md5=OTHER_MD5), "InvalidArgument", "The calculated MD5 hash of the key did not match the hash that was provided."),
        (_raw_headers(b"short key"), "InvalidArgument", "The secret key was invalid for the specified algorithm."),
        (_raw_headers(KEY, algorithm="AES128"), "InvalidEncryptionAlgorithmError", "The Encryption request you specified is not valid. Supported value: AES256."),
        ({"x-amz-server-side-encryption-customer-key": base64.b64encode(KEY).decode(), "x-amz-server-side-encryption-customer-key-MD5": KEY_MD5},
         "InvalidArgument", "Requests specifying Server Side Encryption with Customer provided keys must provide a valid encryption algorithm."),
        ({"x-amz-server-side-encryption-customer-algorithm": "AES256"},
         "InvalidArgument", "Requests specifying Server Side Encryption with Customer provided keys must provide an appropriate secret key."),
        ({**_raw_headers(KEY), "x-amz-server-side-encryption": "AES256"},
         "InvalidArgument", "Server Side Encryption with Customer provided key is incompatible with the encryption method specified"),
    ]
    for headers, code, message in cases:
        handler = _with_headers(s3, headers)
        try:
            with pytest.raises(ClientError) as exc:
                s3.put_object(Bucket=bucket, Key="bad.txt", Body=b"x")
        finally:
            s3.meta.events.unregister("before-sign.s3.*", handler)
        assert error_of(exc) == (400, code, message), headers
    with pytest.raises(ClientError):
        s3.head_object(Bucket=bucket, Key="bad.txt")  # nothing was stored
    # A read with a bad key is refused the same way.
    s3.put_object(Bucket=bucket, Key="secret.txt", Body=b"x", **SSE)
    handler = _with_headers(s3, _raw_headers(KEY, md5=OTHER_MD5))
    try:
        with pytest.raises(ClientError) as exc:
            s3.get_object(Bucket=bucket, Key="secret.txt")
    finally:
        s3.meta.events.unregister("before-sign.s3.*", handler)
    assert error_of(exc)[:2] == (400, "InvalidArgument")


def test_copy_between_sse_c_and_plain(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="secret.txt", Body=b"top secret", **SSE)
    # An SSE-C source needs its key, as copy-source headers.
    with pytest.raises(ClientError) as exc:
        s3.copy_object(Bucket=bucket, Key="copy.txt", CopySource={"Bucket": bucket, "Key": "secret.txt"})
    assert error_of(exc) == (400, "InvalidRequest", STORED_ENCRYPTED)
    with pytest.raises(ClientError) as exc:
        s3.copy_object(Bucket=bucket, Key="copy.txt", CopySource={"Bucket": bucket, "Key": "secret.txt"},
                       CopySourceSSECustomerAlgorithm="AES256", CopySourceSSECustomerKey=OTHER_KEY)
    assert error_of(exc)[:2] == (403, "AccessDenied")

    # SSE-C source -> plain destination.
    copied = s3.copy_object(Bucket=bucket, Key="plain.txt", CopySource={"Bucket": bucket, "Key": "secret.txt"}, **COPY_SSE)
    assert "SSECustomerAlgorithm" not in copied
    assert s3.get_object(Bucket=bucket, Key="plain.txt")["Body"].read() == b"top secret"

    # Plain source -> SSE-C destination, with another key.
    back = s3.copy_object(Bucket=bucket, Key="again.txt", CopySource={"Bucket": bucket, "Key": "plain.txt"}, **OTHER)
    assert (back["SSECustomerAlgorithm"], back["SSECustomerKeyMD5"]) == ("AES256", OTHER_MD5)
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=bucket, Key="again.txt")
    assert error_of(exc)[:2] == (400, "InvalidRequest")
    assert s3.get_object(Bucket=bucket, Key="again.txt", **OTHER)["Body"].read() == b"top secret"

    # A plain source given copy-source key headers: they do not apply to it.
    with pytest.raises(ClientError) as exc:
        s3.copy_object(Bucket=bucket, Key="x.txt", CopySource={"Bucket": bucket, "Key": "plain.txt"}, **COPY_SSE)
    assert error_of(exc)[:2] == (400, "InvalidRequest")

    # Re-keyed in place (the key change is the change a copy onto itself needs).
    s3.copy_object(Bucket=bucket, Key="secret.txt", CopySource={"Bucket": bucket, "Key": "secret.txt"}, **COPY_SSE, **OTHER)
    assert s3.get_object(Bucket=bucket, Key="secret.txt", **OTHER)["Body"].read() == b"top secret"
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=bucket, Key="secret.txt", **SSE)
    assert error_of(exc)[:2] == (403, "AccessDenied")


def test_multipart_upload_with_a_key(s3: Any, bucket: str) -> None:
    created = s3.create_multipart_upload(Bucket=bucket, Key="big.bin", **SSE)
    assert (created["SSECustomerAlgorithm"], created["SSECustomerKeyMD5"]) == ("AES256", KEY_MD5)
    upload = created["UploadId"]
    with pytest.raises(ClientError) as exc:
        s3.upload_part(Bucket=bucket, Key="big.bin", UploadId=upload, PartNumber=1, Body=b"a" * 5 * MiB)
    assert error_of(exc) == (400, "InvalidRequest", "The multipart upload initiate requested encryption. Subsequent part requests must include the appropriate encryption parameters.")
    with pytest.raises(ClientError) as exc:
        s3.upload_part(Bucket=bucket, Key="big.bin", UploadId=upload, PartNumber=1, Body=b"a" * 5 * MiB, **OTHER)
    assert error_of(exc) == (400, "InvalidRequest", "The provided encryption parameters did not match the ones used originally.")
    part1 = s3.upload_part(Bucket=bucket, Key="big.bin", UploadId=upload, PartNumber=1, Body=b"a" * 5 * MiB, **SSE)
    assert part1["SSECustomerKeyMD5"] == KEY_MD5

    # UploadPartCopy: the source's key (copy-source headers) and the upload's.
    s3.put_object(Bucket=bucket, Key="tail.bin", Body=b"tail", **OTHER)
    with pytest.raises(ClientError) as exc:
        s3.upload_part_copy(Bucket=bucket, Key="big.bin", UploadId=upload, PartNumber=2, CopySource={"Bucket": bucket, "Key": "tail.bin"}, **SSE)
    assert error_of(exc) == (400, "InvalidRequest", STORED_ENCRYPTED)
    part2 = s3.upload_part_copy(Bucket=bucket, Key="big.bin", UploadId=upload, PartNumber=2, CopySource={"Bucket": bucket, "Key": "tail.bin"},
                                CopySourceSSECustomerAlgorithm="AES256", CopySourceSSECustomerKey=OTHER_KEY, **SSE)
    parts = [{"PartNumber": 1, "ETag": part1["ETag"]}, {"PartNumber": 2, "ETag": part2["CopyPartResult"]["ETag"]}]
    s3.complete_multipart_upload(Bucket=bucket, Key="big.bin", UploadId=upload, MultipartUpload={"Parts": parts})

    with pytest.raises(ClientError) as exc:
        s3.head_object(Bucket=bucket, Key="big.bin")
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    got = s3.get_object(Bucket=bucket, Key="big.bin", **SSE)
    assert got["SSECustomerKeyMD5"] == KEY_MD5
    assert got["Body"].read() == b"a" * 5 * MiB + b"tail"

    # An upload created without a key takes none in its parts.
    plain = s3.create_multipart_upload(Bucket=bucket, Key="plain.bin")["UploadId"]
    assert "SSECustomerAlgorithm" not in s3.upload_part(Bucket=bucket, Key="plain.bin", UploadId=plain, PartNumber=1, Body=b"b")
    with pytest.raises(ClientError) as exc:
        s3.upload_part(Bucket=bucket, Key="plain.bin", UploadId=plain, PartNumber=2, Body=b"b", **SSE)
    assert error_of(exc)[:2] == (400, "InvalidRequest")


def test_key_survives_a_restart(tmp_path: Path) -> None:
    server = EmulatorServer(data_dir=tmp_path / "data")
    server.start()
    try:
        s3 = server.client("s3")
        s3.create_bucket(Bucket="ssec-restart")
        s3.put_object(Bucket="ssec-restart", Key="secret.txt", Body=b"kept secret", **SSE)
        s3.put_object(Bucket="ssec-restart", Key="plain.txt", Body=b"kept plain")
        upload = s3.create_multipart_upload(Bucket="ssec-restart", Key="pending.bin", **SSE)["UploadId"]
        server.stop()
        server.start()
        s3 = server.client("s3")
        with pytest.raises(ClientError) as exc:
            s3.get_object(Bucket="ssec-restart", Key="secret.txt")
        assert error_of(exc) == (400, "InvalidRequest", STORED_ENCRYPTED)
        with pytest.raises(ClientError) as exc:
            s3.get_object(Bucket="ssec-restart", Key="secret.txt", **OTHER)
        assert error_of(exc)[:2] == (403, "AccessDenied")
        got = s3.get_object(Bucket="ssec-restart", Key="secret.txt", **SSE)
        assert (got["Body"].read(), got["SSECustomerKeyMD5"]) == (b"kept secret", KEY_MD5)
        assert s3.get_object(Bucket="ssec-restart", Key="plain.txt")["Body"].read() == b"kept plain"
        with pytest.raises(ClientError) as exc:
            s3.upload_part(Bucket="ssec-restart", Key="pending.bin", UploadId=upload, PartNumber=1, Body=b"p")
        assert error_of(exc)[:2] == (400, "InvalidRequest")
        assert s3.upload_part(Bucket="ssec-restart", Key="pending.bin", UploadId=upload, PartNumber=1, Body=b"p", **SSE)["SSECustomerKeyMD5"] == KEY_MD5
    finally:
        server.stop()
        server.cleanup()
