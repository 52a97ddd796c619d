"""S3 SSE-C (emulator/gateway/s3_sse_c.py) on the operations around multipart uploads and the
other reads of an object: CompleteMultipartUpload (its object needs the upload's key), ListParts (no key needed), UploadPart/UploadPartCopy (the upload's key, and the
copy source's), GetObjectAttributes, SelectObjectContent (the key, as GetObject), RestoreObject
(no key; the restored object still needs it) and presigned reads. Through the wire with boto3."""

from __future__ import annotations

import base64
import hashlib
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError
from sse_c_keys import (
    COPY_OTHER,
    COPY_SSE,
    ENCODED,
    KEY,
    KEY_MD5,
    OTHER,
    OTHER_ENCODED,
    OTHER_KEY,
    OTHER_MD5,
    SSE,
    STORED_ENCRYPTED,
    MiB,
    error_of,
)

WRONG_KEY = "Requests specifying Server Side Encryption with Customer provided keys must provide the correct secret key."
NOT_APPLICABLE = "The encryption parameters are not applicable to this object."
PART_WITHOUT_KEY = "The multipart upload initiate requested encryption. Subsequent part requests must include the appropriate encryption parameters."
PART_OTHER_KEY = (
    "The provided encryption parameters did not match the ones used originally."
)
BAD_MD5 = "The calculated MD5 hash of the key did not match the hash that was provided."
ALGORITHM_HEADER = "x-amz-server-side-encryption-customer-algorithm"
MD5_HEADER = "x-amz-server-side-encryption-customer-key-md5"  # botocore's HTTPHeaders: lower case
PART = b"a" * 5 * MiB


@pytest.fixture
def s3(aws_client: Callable[..., Any]) -> Any:
    return aws_client("s3")


@pytest.fixture
def bucket(s3: Any) -> str:
    name = f"ssecmp-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    return name


def _refused(call: Callable[[], Any]) -> tuple[int, str, str]:
    """The status, code and message of the error ``call`` raises."""
    with pytest.raises(ClientError) as exc:
        call()
    return error_of(exc)


def _sse_c_object(s3: Any, bucket: str, key: str) -> None:
    """``key`` made by a multipart upload with KEY: one 5 MiB part and a short one."""
    upload = s3.create_multipart_upload(Bucket=bucket, Key=key, **SSE)["UploadId"]
    one = s3.upload_part(
        Bucket=bucket, Key=key, UploadId=upload, PartNumber=1, Body=PART, **SSE
    )["ETag"]
    two = s3.upload_part(
        Bucket=bucket, Key=key, UploadId=upload, PartNumber=2, Body=b"tail", **SSE
    )["ETag"]
    s3.complete_multipart_upload(
        Bucket=bucket,
        Key=key,
        UploadId=upload,
        MultipartUpload={
            "Parts": [{"PartNumber": 1, "ETag": one}, {"PartNumber": 2, "ETag": two}]
        },
    )


def test_a_completed_upload_needs_its_key(s3: Any, bucket: str) -> None:
    upload = s3.create_multipart_upload(Bucket=bucket, Key="big.bin", **SSE)["UploadId"]
    one = s3.upload_part(
        Bucket=bucket, Key="big.bin", UploadId=upload, PartNumber=1, Body=PART, **SSE
    )["ETag"]
    two = s3.upload_part(
        Bucket=bucket, Key="big.bin", UploadId=upload, PartNumber=2, Body=b"tail", **SSE
    )["ETag"]
    # ListParts needs no key (botocore's model: only for an upload made with a checksum algorithm).
    assert [
        p["PartNumber"]
        for p in s3.list_parts(Bucket=bucket, Key="big.bin", UploadId=upload)["Parts"]
    ] == [1, 2]

    parts = {"Parts": [{"PartNumber": 1, "ETag": one}, {"PartNumber": 2, "ETag": two}]}
    done = s3.complete_multipart_upload(
        Bucket=bucket, Key="big.bin", UploadId=upload, MultipartUpload=parts
    )
    assert "ServerSideEncryption" not in done

    assert _refused(lambda: s3.get_object(Bucket=bucket, Key="big.bin")) == (400, "InvalidRequest", STORED_ENCRYPTED)
    assert _refused(lambda: s3.get_object(Bucket=bucket, Key="big.bin", **OTHER)) == (403, "AccessDenied", WRONG_KEY)
    with pytest.raises(ClientError) as exc:
        s3.head_object(Bucket=bucket, Key="big.bin", **OTHER)
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    head = s3.head_object(Bucket=bucket, Key="big.bin", **SSE)
    assert (
        head["SSECustomerAlgorithm"],
        head["SSECustomerKeyMD5"],
        head["ContentLength"],
    ) == ("AES256", KEY_MD5, 5 * MiB + 4)
    assert "ServerSideEncryption" not in head
    part = s3.get_object(Bucket=bucket, Key="big.bin", PartNumber=2, **SSE)
    assert part["Body"].read() == b"tail"


def test_complete_with_the_key_and_without_one(s3: Any, bucket: str) -> None:
    # The key sent with CompleteMultipartUpload (botocore adds its MD5).
    upload = s3.create_multipart_upload(Bucket=bucket, Key="sent.bin", **SSE)[
        "UploadId"
    ]
    etag = s3.upload_part(
        Bucket=bucket,
        Key="sent.bin",
        UploadId=upload,
        PartNumber=1,
        Body=b"only part",
        **SSE,
    )["ETag"]
    s3.complete_multipart_upload(
        Bucket=bucket,
        Key="sent.bin",
        UploadId=upload,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]},
        **SSE,
    )
    assert (
        s3.get_object(Bucket=bucket, Key="sent.bin", **SSE)["Body"].read()
        == b"only part"
    )

    # An upload without a key: its object needs none.
    plain = s3.create_multipart_upload(Bucket=bucket, Key="plain.bin")["UploadId"]
    etag = s3.upload_part(
        Bucket=bucket, Key="plain.bin", UploadId=plain, PartNumber=1, Body=b"plain part"
    )["ETag"]
    s3.complete_multipart_upload(
        Bucket=bucket,
        Key="plain.bin",
        UploadId=plain,
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]},
    )
    assert s3.get_object(Bucket=bucket, Key="plain.bin")["Body"].read() == b"plain part"
    assert _refused(lambda: s3.get_object(Bucket=bucket, Key="plain.bin", **SSE)) == (400, "InvalidRequest", NOT_APPLICABLE)


def test_upload_part_repeats_the_upload_key(s3: Any, bucket: str) -> None:
    upload = s3.create_multipart_upload(Bucket=bucket, Key="big.bin", **SSE)["UploadId"]
    assert _refused(lambda: s3.upload_part(Bucket=bucket, Key="big.bin", UploadId=upload, PartNumber=1, Body=b"x")) == (400, "InvalidRequest", PART_WITHOUT_KEY)
    assert _refused(lambda: s3.upload_part(Bucket=bucket, Key="big.bin", UploadId=upload, PartNumber=1, Body=b"x", **OTHER)) == (400, "InvalidRequest", PART_OTHER_KEY)
    # The key with another key's MD5.
    mismatched = {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": base64.b64encode(KEY).decode(), "SSECustomerKeyMD5": OTHER_MD5}
    assert _refused(lambda: s3.upload_part(Bucket=bucket, Key="big.bin", UploadId=upload, PartNumber=1, Body=b"x", **mismatched)) == (400, "InvalidArgument", BAD_MD5)
    assert "Parts" not in s3.list_parts(
        Bucket=bucket, Key="big.bin", UploadId=upload
    )  # none was taken


def test_upload_part_copy_keys(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="plain.txt", Body=b"plain source")
    s3.put_object(Bucket=bucket, Key="secret.txt", Body=b"secret source", **OTHER)
    upload = s3.create_multipart_upload(Bucket=bucket, Key="big.bin", **SSE)["UploadId"]
    plain_source = {"Bucket": bucket, "Key": "plain.txt"}
    secret_source = {"Bucket": bucket, "Key": "secret.txt"}

    # The part's own key: the upload's.
    assert _refused(lambda: s3.upload_part_copy(Bucket=bucket, Key="big.bin", UploadId=upload, PartNumber=1, CopySource=plain_source)) == (400, "InvalidRequest", PART_WITHOUT_KEY)
    assert _refused(lambda: s3.upload_part_copy(Bucket=bucket, Key="big.bin", UploadId=upload, PartNumber=1, CopySource=plain_source, **OTHER)) == (400, "InvalidRequest", PART_OTHER_KEY)
    # The source's key: the copy-source headers.
    assert _refused(lambda: s3.upload_part_copy(Bucket=bucket, Key="big.bin", UploadId=upload, PartNumber=1, CopySource=secret_source, **SSE)) == (400, "InvalidRequest", STORED_ENCRYPTED)
    assert _refused(lambda: s3.upload_part_copy(Bucket=bucket, Key="big.bin", UploadId=upload, PartNumber=1, CopySource=secret_source, **COPY_SSE, **SSE)) == (403, "AccessDenied", WRONG_KEY)
    assert _refused(lambda: s3.upload_part_copy(Bucket=bucket, Key="big.bin", UploadId=upload, PartNumber=1, CopySource=plain_source, **COPY_SSE, **SSE)) == (400, "InvalidRequest", NOT_APPLICABLE)

    first = s3.upload_part_copy(
        Bucket=bucket,
        Key="big.bin",
        UploadId=upload,
        PartNumber=1,
        CopySource=plain_source,
        **SSE,
    )
    assert (first["SSECustomerAlgorithm"], first["SSECustomerKeyMD5"]) == (
        "AES256",
        KEY_MD5,
    )
    second = s3.upload_part_copy(
        Bucket=bucket,
        Key="big.bin",
        UploadId=upload,
        PartNumber=2,
        CopySource=secret_source,
        **COPY_OTHER,
        **SSE,
    )
    assert second["SSECustomerKeyMD5"] == KEY_MD5
    parts = [
        {"PartNumber": 1, "ETag": first["CopyPartResult"]["ETag"]},
        {"PartNumber": 2, "ETag": second["CopyPartResult"]["ETag"]},
    ]
    # Parts under 5 MiB but the last: moto's EntityTooSmall would refuse them; a single part is the last.
    with pytest.raises(ClientError):
        s3.complete_multipart_upload(
            Bucket=bucket,
            Key="big.bin",
            UploadId=upload,
            MultipartUpload={"Parts": parts},
        )
    s3.complete_multipart_upload(
        Bucket=bucket,
        Key="big.bin",
        UploadId=upload,
        MultipartUpload={"Parts": parts[1:]},
    )
    assert (
        s3.get_object(Bucket=bucket, Key="big.bin", **SSE)["Body"].read()
        == b"secret source"
    )
    with pytest.raises(ClientError) as exc:
        s3.get_object(
            Bucket=bucket, Key="big.bin", **OTHER
        )  # the source's key is not the object's
    assert error_of(exc)[:2] == (403, "AccessDenied")

    # An upload without a key, a part copied from an SSE-C source: the object is plain.
    plain = s3.create_multipart_upload(Bucket=bucket, Key="plain.bin")["UploadId"]
    part = s3.upload_part_copy(
        Bucket=bucket,
        Key="plain.bin",
        UploadId=plain,
        PartNumber=1,
        CopySource=secret_source,
        **COPY_OTHER,
    )
    assert "SSECustomerAlgorithm" not in part
    s3.complete_multipart_upload(
        Bucket=bucket,
        Key="plain.bin",
        UploadId=plain,
        MultipartUpload={
            "Parts": [{"PartNumber": 1, "ETag": part["CopyPartResult"]["ETag"]}]
        },
    )
    assert (
        s3.get_object(Bucket=bucket, Key="plain.bin")["Body"].read() == b"secret source"
    )


def test_get_object_attributes_of_a_multipart_object(s3: Any, bucket: str) -> None:
    _sse_c_object(s3, bucket, "big.bin")
    wanted = ["ObjectSize", "ObjectParts"]
    assert _refused(lambda: s3.get_object_attributes(Bucket=bucket, Key="big.bin", ObjectAttributes=wanted)) == (400, "InvalidRequest", STORED_ENCRYPTED)
    assert _refused(lambda: s3.get_object_attributes(Bucket=bucket, Key="big.bin", ObjectAttributes=wanted, **OTHER_ENCODED)) == (403, "AccessDenied", WRONG_KEY)
    attributes = s3.get_object_attributes(
        Bucket=bucket, Key="big.bin", ObjectAttributes=wanted, **ENCODED
    )
    assert attributes["ObjectSize"] == 5 * MiB + 4


def test_select_object_content_needs_the_key(s3: Any, bucket: str) -> None:
    s3.put_object(
        Bucket=bucket, Key="rows.csv", Body=b"name,city\nann,oslo\nbob,rome\n", **SSE
    )
    query = {
        "Bucket": bucket,
        "Key": "rows.csv",
        "Expression": "SELECT * FROM S3Object",
        "ExpressionType": "SQL",
        "InputSerialization": {"CSV": {"FileHeaderInfo": "USE"}},
        "OutputSerialization": {"JSON": {}},
    }
    assert _refused(lambda: s3.select_object_content(**query)) == (400, "InvalidRequest", STORED_ENCRYPTED)
    assert _refused(lambda: s3.select_object_content(**query, **OTHER)) == (403, "AccessDenied", WRONG_KEY)
    events = list(s3.select_object_content(**query, **SSE)["Payload"])
    records = b"".join(e["Records"]["Payload"] for e in events if "Records" in e)
    assert b"oslo" in records

    s3.put_object(Bucket=bucket, Key="plain.csv", Body=b"name,city\nann,oslo\n")
    assert _refused(lambda: s3.select_object_content(**{**query, "Key": "plain.csv"}, **SSE)) == (400, "InvalidRequest", NOT_APPLICABLE)
    with pytest.raises(ClientError) as exc:
        s3.select_object_content(**{**query, "Key": "missing.csv"}, **SSE)
    assert error_of(exc)[:2] == (404, "NoSuchKey")


def test_restored_object_still_needs_the_key(s3: Any, bucket: str) -> None:
    s3.put_object(
        Bucket=bucket,
        Key="cold.txt",
        Body=b"archived secret",
        StorageClass="GLACIER",
        **SSE,
    )
    # RestoreObject takes no SSE-C headers (botocore's model): it returns no bytes.
    assert (
        s3.restore_object(Bucket=bucket, Key="cold.txt", RestoreRequest={"Days": 1})[
            "ResponseMetadata"
        ]["HTTPStatusCode"]
        == 202
    )
    assert _refused(lambda: s3.get_object(Bucket=bucket, Key="cold.txt")) == (400, "InvalidRequest", STORED_ENCRYPTED)
    assert (
        s3.get_object(Bucket=bucket, Key="cold.txt", **SSE)["Body"].read()
        == b"archived secret"
    )


def test_presigned_reads_of_a_multipart_object(s3: Any, bucket: str) -> None:
    _sse_c_object(s3, bucket, "big.bin")
    url = s3.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": "big.bin", **SSE}
    )

    def key_headers(key: bytes) -> dict[str, str]:
        return {
            ALGORITHM_HEADER: "AES256",
            "x-amz-server-side-encryption-customer-key": base64.b64encode(key).decode(),
            "x-amz-server-side-encryption-customer-key-MD5": base64.b64encode(
                hashlib.md5(key).digest()
            ).decode(),
        }

    with urllib.request.urlopen(
        urllib.request.Request(url, headers=key_headers(KEY))
    ) as response:
        assert response.read() == PART + b"tail"
        assert (
            response.headers["x-amz-server-side-encryption-customer-key-MD5"] == KEY_MD5
        )
    # The key headers are signed with the URL: another key is another URL.
    other = s3.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": "big.bin", **OTHER}
    )
    with pytest.raises(urllib.error.HTTPError) as exc:
        urllib.request.urlopen(
            urllib.request.Request(other, headers=key_headers(OTHER_KEY))
        )
    assert exc.value.code == 403
    assert b"<Code>AccessDenied</Code>" in exc.value.read()

    head = s3.generate_presigned_url(
        "head_object", Params={"Bucket": bucket, "Key": "big.bin", **SSE}
    )
    with urllib.request.urlopen(
        urllib.request.Request(head, headers=key_headers(KEY), method="HEAD")
    ) as response:
        assert response.headers["Content-Length"] == str(5 * MiB + 4)
    plain = s3.generate_presigned_url(
        "head_object", Params={"Bucket": bucket, "Key": "big.bin"}
    )
    with pytest.raises(urllib.error.HTTPError) as exc:
        urllib.request.urlopen(urllib.request.Request(plain, method="HEAD"))
    assert exc.value.code == 400
