"""S3 multipart uploads' checksums (emulator/gateway/s3_checksums.py): CompleteMultipartUpload
checks each part's checksum and the parts' order, UploadPart the algorithm, ListParts and
GetObjectAttributes name the parts' checksums, and ChecksumType is answered where S3 answers it.
Through the wire with boto3."""

from __future__ import annotations

import base64
import uuid
import zlib
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

MiB = 1 << 20
FIRST = b"a" * 5 * MiB  # every part but the last is 5 MiB at least
LAST = b"bb"
INVALID_PART = (
    "One or more of the specified parts could not be found.  The part may not have been uploaded, "
    "or the specified entity tag may not match the part's entity tag."
)


def crc32(data: bytes) -> str:
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


@pytest.fixture
def s3(aws_client: Callable[..., Any]) -> Any:
    return aws_client("s3")


@pytest.fixture
def bucket(s3: Any) -> str:
    name = f"checksums-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    return name


def _upload(s3: Any, bucket: str, key: str = "object") -> tuple[str, list[dict[str, Any]]]:
    """An upload created with CRC32 and its two parts, as CompleteMultipartUpload names them."""
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key=key, ChecksumAlgorithm="CRC32")["UploadId"]
    parts = []
    for number, body in ((1, FIRST), (2, LAST)):
        answer = s3.upload_part(Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=body, ChecksumAlgorithm="CRC32")
        assert answer["ChecksumCRC32"] == crc32(body)
        parts.append({"PartNumber": number, "ETag": answer["ETag"], "ChecksumCRC32": answer["ChecksumCRC32"]})
    return upload_id, parts


def _error(call: Callable[[], Any]) -> tuple[int, str, str]:
    with pytest.raises(ClientError) as exc:
        call()
    error = exc.value.response
    return error["ResponseMetadata"]["HTTPStatusCode"], error["Error"]["Code"], error["Error"]["Message"]


def test_complete_checks_each_part_checksum(s3: Any, bucket: str) -> None:
    upload_id, parts = _upload(s3, bucket)

    def complete(given: list[dict[str, Any]]) -> Any:
        return s3.complete_multipart_upload(Bucket=bucket, Key="object", UploadId=upload_id, MultipartUpload={"Parts": given})

    wrong = [{**parts[0], "ChecksumCRC32": crc32(b"other")}, parts[1]]
    assert _error(lambda: complete(wrong)) == (400, "InvalidPart", INVALID_PART)
    missing = [{k: v for k, v in parts[0].items() if k != "ChecksumCRC32"}, parts[1]]
    assert _error(lambda: complete(missing)) == (
        400,
        "InvalidRequest",
        (
            "The upload was created using a crc32 checksum. The complete request must include the checksum for each part. "
            "It was missing for part 1 in the request."
        ),
    )
    wrong_etag = [{**parts[0], "ETag": '"' + "0" * 32 + '"'}, parts[1]]
    assert _error(lambda: complete(wrong_etag)) == (400, "InvalidPart", INVALID_PART)

    done = complete(parts)  # the refused requests left the upload as it was
    composite = base64.b64encode(zlib.crc32(base64.b64decode(crc32(FIRST)) + base64.b64decode(crc32(LAST))).to_bytes(4, "big")).decode()
    assert (done["ChecksumCRC32"], done["ChecksumType"]) == (f"{composite}-2", "COMPOSITE")
    assert s3.get_object(Bucket=bucket, Key="object")["Body"].read() == FIRST + LAST


def test_complete_refuses_parts_out_of_order(s3: Any, bucket: str) -> None:
    upload_id, parts = _upload(s3, bucket)
    for given in ([parts[1], parts[0]], [parts[0], parts[0], parts[1]]):
        assert _error(lambda given=given: s3.complete_multipart_upload(
            Bucket=bucket, Key="object", UploadId=upload_id, MultipartUpload={"Parts": given})) == (
            400,
            "InvalidPartOrder",
            "The list of parts was not in ascending order. The parts list must be specified in order by part number.",
        )


def test_upload_part_with_another_algorithm(s3: Any, bucket: str) -> None:
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="object", ChecksumAlgorithm="CRC32")["UploadId"]
    assert _error(lambda: s3.upload_part(Bucket=bucket, Key="object", UploadId=upload_id, PartNumber=1, Body=LAST, ChecksumAlgorithm="SHA256")) == (
        400,
        "InvalidRequest",
        "Checksum Type mismatch occurred, expected checksum Type: crc32, actual checksum Type: sha256",
    )
    assert s3.list_parts(Bucket=bucket, Key="object", UploadId=upload_id).get("Parts", []) == []
    # An upload created without an algorithm takes a part with the SDK's default one.
    plain = s3.create_multipart_upload(Bucket=bucket, Key="plain")["UploadId"]
    assert s3.upload_part(Bucket=bucket, Key="plain", UploadId=plain, PartNumber=1, Body=LAST, ChecksumAlgorithm="SHA256")["ETag"]


def test_list_parts_names_their_checksums(s3: Any, bucket: str) -> None:
    upload_id, _ = _upload(s3, bucket)
    listed = s3.list_parts(Bucket=bucket, Key="object", UploadId=upload_id)
    assert (listed["ChecksumAlgorithm"], listed["ChecksumType"]) == ("CRC32", "COMPOSITE")
    assert [(p["PartNumber"], p["Size"], p["ChecksumCRC32"]) for p in listed["Parts"]] == [(1, len(FIRST), crc32(FIRST)), (2, len(LAST), crc32(LAST))]


def test_checksum_types_and_object_parts(s3: Any, bucket: str) -> None:
    put = s3.put_object(Bucket=bucket, Key="once", Body=b"hello", ChecksumAlgorithm="CRC32")
    assert (put["ChecksumCRC32"], put["ChecksumType"]) == (crc32(b"hello"), "FULL_OBJECT")

    created = s3.create_multipart_upload(Bucket=bucket, Key="probe", ChecksumAlgorithm="CRC32")
    assert (created["ChecksumAlgorithm"], created["ChecksumType"]) == ("CRC32", "COMPOSITE")

    upload_id, parts = _upload(s3, bucket, "parts")
    s3.complete_multipart_upload(Bucket=bucket, Key="parts", UploadId=upload_id, MultipartUpload={"Parts": parts})
    listed = {o["Key"]: (o.get("ChecksumAlgorithm"), o.get("ChecksumType")) for o in s3.list_objects_v2(Bucket=bucket)["Contents"]}
    assert listed == {"once": (["CRC32"], "FULL_OBJECT"), "parts": (["CRC32"], "COMPOSITE")}

    attributes = s3.get_object_attributes(Bucket=bucket, Key="parts", ObjectAttributes=["ObjectParts"])["ObjectParts"]
    assert attributes["TotalPartsCount"] == 2 and attributes["IsTruncated"] is False
    assert attributes["Parts"] == [
        {"PartNumber": 1, "Size": len(FIRST), "ChecksumCRC32": crc32(FIRST)},
        {"PartNumber": 2, "Size": len(LAST), "ChecksumCRC32": crc32(LAST)},
    ]
    page = s3.get_object_attributes(Bucket=bucket, Key="parts", ObjectAttributes=["ObjectParts"], MaxParts=1, PartNumberMarker=1)["ObjectParts"]
    assert (page["IsTruncated"], page["NextPartNumberMarker"], [p["PartNumber"] for p in page["Parts"]]) == (False, 2, [2])
    assert "ObjectParts" not in s3.get_object_attributes(Bucket=bucket, Key="once", ObjectAttributes=["ObjectParts", "ObjectSize"])


def test_copied_part_has_its_checksum(s3: Any, bucket: str) -> None:
    """UploadPartCopy into an upload with CRC32 answers the part's CRC32, which completes it."""
    s3.put_object(Bucket=bucket, Key="source", Body=FIRST)
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="object", ChecksumAlgorithm="CRC32")["UploadId"]
    copied = s3.upload_part_copy(Bucket=bucket, Key="object", UploadId=upload_id, PartNumber=1, CopySource={"Bucket": bucket, "Key": "source"})
    assert copied["CopyPartResult"]["ChecksumCRC32"] == crc32(FIRST)
    last = s3.upload_part(Bucket=bucket, Key="object", UploadId=upload_id, PartNumber=2, Body=LAST, ChecksumAlgorithm="CRC32")
    parts = [
        {"PartNumber": 1, "ETag": copied["CopyPartResult"]["ETag"], "ChecksumCRC32": copied["CopyPartResult"]["ChecksumCRC32"]},
        {"PartNumber": 2, "ETag": last["ETag"], "ChecksumCRC32": last["ChecksumCRC32"]},
    ]
    s3.complete_multipart_upload(Bucket=bucket, Key="object", UploadId=upload_id, MultipartUpload={"Parts": parts})
    assert s3.get_object(Bucket=bucket, Key="object")["Body"].read() == FIRST + LAST
