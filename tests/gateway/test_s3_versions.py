"""S3 versioning (emulator/gateway/s3_versions.py) as S3 documents it
(https://docs.aws.amazon.com/AmazonS3/latest/userguide/Versioning.html): delete markers on
enabled and suspended buckets, of keys that do not exist too; reads of a key hidden by a marker
and of a marker itself; permanent deletes of versions and markers; the null version of a
suspended bucket; copies from versions; ListObjectVersions' order, markers and paging; markers
kept across a restart. Through the wire with boto3."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from emulator.testing.server import EmulatorServer


@pytest.fixture
def s3(aws_client: Callable[..., Any]) -> Any:
    return aws_client("s3")


def _bucket(s3: Any, status: str | None) -> str:
    name = f"vers-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    if status:
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": status})
    return name


@pytest.fixture
def versioned(s3: Any) -> str:
    return _bucket(s3, "Enabled")


def _error(exc: pytest.ExceptionInfo[ClientError]) -> tuple[int, str, dict[str, str]]:
    response = exc.value.response
    return response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Code"], response["ResponseMetadata"]["HTTPHeaders"]


def _listing(s3: Any, bucket: str, **kwargs: Any) -> list[tuple[str, str, bool, bool]]:
    """(key, version id, is latest, is a delete marker) of one ListObjectVersions page, by key
    then newest first. botocore splits S3's answer in Versions and DeleteMarkers: a page with
    both is merged in the order the listing pages them one at a time (``_all_versions``)."""
    page = s3.list_object_versions(Bucket=bucket, **kwargs)
    items = [(v["Key"], v["VersionId"], v["IsLatest"], False) for v in page.get("Versions", [])]
    items += [(m["Key"], m["VersionId"], m["IsLatest"], True) for m in page.get("DeleteMarkers", [])]
    if page.get("Versions") and page.get("DeleteMarkers"):
        order = _all_versions(s3, bucket)
        items.sort(key=lambda item: order.index((item[0], item[1])))
    return items


def _all_versions(s3: Any, bucket: str) -> list[tuple[str, str]]:
    """Every (key, version id), by key and newest first, paged one at a time (each page holds
    one version or one marker, so their merged order is the listing's own)."""
    out: list[tuple[str, str]] = []
    kwargs: dict[str, Any] = {"MaxKeys": 1}
    while True:
        page = s3.list_object_versions(Bucket=bucket, **kwargs)
        items = page.get("Versions", []) + page.get("DeleteMarkers", [])
        out += [(i["Key"], i["VersionId"]) for i in items]
        if not page["IsTruncated"]:
            return out
        kwargs = {"MaxKeys": 1, "KeyMarker": page["NextKeyMarker"], "VersionIdMarker": page["NextVersionIdMarker"]}


# ------------------------------------------------------------------ DeleteObject without a version id
def test_delete_writes_a_marker_that_hides_the_object(s3: Any, versioned: str) -> None:
    v1 = s3.put_object(Bucket=versioned, Key="doc", Body=b"one")["VersionId"]
    deleted = s3.delete_object(Bucket=versioned, Key="doc")
    assert deleted["DeleteMarker"] is True and deleted["VersionId"] not in (v1, "null")
    assert _listing(s3, versioned) == [("doc", deleted["VersionId"], True, True), ("doc", v1, False, False)]
    assert "Contents" not in s3.list_objects_v2(Bucket=versioned)
    assert "Contents" not in s3.list_objects(Bucket=versioned)
    assert s3.get_object(Bucket=versioned, Key="doc", VersionId=v1)["Body"].read() == b"one"


def test_delete_of_a_missing_key_writes_a_marker(s3: Any, versioned: str) -> None:
    deleted = s3.delete_object(Bucket=versioned, Key="never-written")
    assert deleted["DeleteMarker"] is True and deleted["VersionId"]
    assert _listing(s3, versioned) == [("never-written", deleted["VersionId"], True, True)]
    again = s3.delete_object(Bucket=versioned, Key="never-written")
    assert again["DeleteMarker"] is True and again["VersionId"] != deleted["VersionId"]
    assert _listing(s3, versioned) == [("never-written", again["VersionId"], True, True), ("never-written", deleted["VersionId"], False, True)]


def test_delete_objects_answers_the_markers(s3: Any, versioned: str) -> None:
    v1 = s3.put_object(Bucket=versioned, Key="there", Body=b"x")["VersionId"]
    answer = s3.delete_objects(Bucket=versioned, Delete={"Objects": [{"Key": "there"}, {"Key": "missing"}]})
    deleted = {d["Key"]: d for d in answer["Deleted"]}
    assert set(deleted) == {"there", "missing"} and not answer.get("Errors")
    for name in ("there", "missing"):
        assert deleted[name]["DeleteMarker"] is True and deleted[name]["DeleteMarkerVersionId"]
        assert "VersionId" not in deleted[name]
    listing = _listing(s3, versioned)
    assert ("missing", deleted["missing"]["DeleteMarkerVersionId"], True, True) in listing
    assert ("there", deleted["there"]["DeleteMarkerVersionId"], True, True) in listing
    assert ("there", v1, False, False) in listing

    marker = deleted["there"]["DeleteMarkerVersionId"]
    answer = s3.delete_objects(Bucket=versioned, Delete={"Objects": [{"Key": "there", "VersionId": marker}]})
    assert answer["Deleted"] == [{"Key": "there", "VersionId": marker, "DeleteMarker": True, "DeleteMarkerVersionId": marker}]
    assert s3.get_object(Bucket=versioned, Key="there")["Body"].read() == b"x"


# ------------------------------------------------------------------ reads of deleted keys and of markers
def test_get_and_head_of_a_deleted_key(s3: Any, versioned: str) -> None:
    s3.put_object(Bucket=versioned, Key="gone", Body=b"x")
    marker = s3.delete_object(Bucket=versioned, Key="gone")["VersionId"]
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=versioned, Key="gone")
    status, code, headers = _error(exc)
    assert (status, code) == (404, "NoSuchKey")
    assert (headers.get("x-amz-delete-marker"), headers.get("x-amz-version-id")) == ("true", marker)
    with pytest.raises(ClientError) as exc:
        s3.head_object(Bucket=versioned, Key="gone")
    status, _, headers = _error(exc)
    assert (status, headers.get("x-amz-delete-marker"), headers.get("x-amz-version-id")) == (404, "true", marker)


def test_get_and_head_of_a_marker_by_its_version_id(s3: Any, versioned: str) -> None:
    s3.put_object(Bucket=versioned, Key="gone", Body=b"x")
    marker = s3.delete_object(Bucket=versioned, Key="gone")["VersionId"]
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=versioned, Key="gone", VersionId=marker)
    status, code, headers = _error(exc)
    assert (status, code) == (405, "MethodNotAllowed")
    assert exc.value.response["Error"]["Message"] == "The specified method is not allowed against this resource."
    assert (headers.get("x-amz-delete-marker"), headers.get("x-amz-version-id")) == ("true", marker)
    assert headers.get("last-modified", "").endswith(" GMT")
    with pytest.raises(ClientError) as exc:
        s3.head_object(Bucket=versioned, Key="gone", VersionId=marker)
    status, _, headers = _error(exc)
    assert (status, headers.get("x-amz-delete-marker"), headers.get("x-amz-version-id")) == (405, "true", marker)
    assert headers.get("last-modified", "").endswith(" GMT")


# ------------------------------------------------------------------ DeleteObject with a version id
def test_deleting_the_marker_undeletes(s3: Any, versioned: str) -> None:
    v1 = s3.put_object(Bucket=versioned, Key="doc", Body=b"one")["VersionId"]
    marker = s3.delete_object(Bucket=versioned, Key="doc")["VersionId"]
    answer = s3.delete_object(Bucket=versioned, Key="doc", VersionId=marker)
    assert (answer["VersionId"], answer.get("DeleteMarker")) == (marker, True)
    got = s3.get_object(Bucket=versioned, Key="doc")
    assert (got["Body"].read(), got["VersionId"]) == (b"one", v1)
    assert _listing(s3, versioned) == [("doc", v1, True, False)]


def test_deleting_a_version_removes_it_only(s3: Any, versioned: str) -> None:
    v1 = s3.put_object(Bucket=versioned, Key="doc", Body=b"one")["VersionId"]
    v2 = s3.put_object(Bucket=versioned, Key="doc", Body=b"two")["VersionId"]
    answer = s3.delete_object(Bucket=versioned, Key="doc", VersionId=v2)
    assert answer["VersionId"] == v2 and "DeleteMarker" not in answer
    got = s3.get_object(Bucket=versioned, Key="doc")
    assert (got["Body"].read(), got["VersionId"]) == (b"one", v1)
    assert _listing(s3, versioned) == [("doc", v1, True, False)]
    # A version that is no longer there: S3 answers 204 again.
    assert s3.delete_object(Bucket=versioned, Key="doc", VersionId=v2)["VersionId"] == v2
    s3.delete_object(Bucket=versioned, Key="doc", VersionId=v1)
    assert _listing(s3, versioned) == []


# ------------------------------------------------------------------ suspended versioning
def test_suspended_put_replaces_the_null_version_only(s3: Any) -> None:
    bucket = _bucket(s3, "Enabled")
    kept = s3.put_object(Bucket=bucket, Key="doc", Body=b"versioned")["VersionId"]
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Suspended"})
    s3.put_object(Bucket=bucket, Key="doc", Body=b"null one")
    s3.put_object(Bucket=bucket, Key="doc", Body=b"null two")
    assert _listing(s3, bucket) == [("doc", "null", True, False), ("doc", kept, False, False)]
    assert s3.get_object(Bucket=bucket, Key="doc")["Body"].read() == b"null two"
    assert s3.get_object(Bucket=bucket, Key="doc", VersionId="null")["Body"].read() == b"null two"
    assert s3.get_object(Bucket=bucket, Key="doc", VersionId=kept)["Body"].read() == b"versioned"
    assert s3.head_object(Bucket=bucket, Key="doc", VersionId=kept)["ContentLength"] == len(b"versioned")
    assert s3.head_object(Bucket=bucket, Key="doc", VersionId="null")["ContentLength"] == len(b"null two")


def test_suspended_delete_writes_a_null_marker(s3: Any) -> None:
    bucket = _bucket(s3, "Enabled")
    kept = s3.put_object(Bucket=bucket, Key="doc", Body=b"versioned")["VersionId"]
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Suspended"})
    s3.put_object(Bucket=bucket, Key="doc", Body=b"null")
    deleted = s3.delete_object(Bucket=bucket, Key="doc")
    assert (deleted["DeleteMarker"], deleted["VersionId"]) == (True, "null")
    assert _listing(s3, bucket) == [("doc", "null", True, True), ("doc", kept, False, False)]
    with pytest.raises(ClientError) as exc:
        s3.get_object(Bucket=bucket, Key="doc")
    assert _error(exc)[:2] == (404, "NoSuchKey")
    # Of a key that does not exist, and through DeleteObjects: a null marker too.
    assert s3.delete_object(Bucket=bucket, Key="missing")["VersionId"] == "null"
    answer = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "other"}]})
    assert answer["Deleted"] == [{"Key": "other", "DeleteMarker": True, "DeleteMarkerVersionId": "null"}]
    # The null marker removed, the versioned object is the latest again.
    assert s3.delete_object(Bucket=bucket, Key="doc", VersionId="null")["DeleteMarker"] is True
    assert s3.get_object(Bucket=bucket, Key="doc")["Body"].read() == b"versioned"


# ------------------------------------------------------------------ CopyObject
def test_copy_from_a_version_and_not_from_a_marker(s3: Any, versioned: str) -> None:
    v1 = s3.put_object(Bucket=versioned, Key="src", Body=b"first")["VersionId"]
    s3.put_object(Bucket=versioned, Key="src", Body=b"second")
    copied = s3.copy_object(Bucket=versioned, Key="dst", CopySource={"Bucket": versioned, "Key": "src", "VersionId": v1})
    assert copied["CopySourceVersionId"] == v1 and copied["VersionId"]
    assert s3.get_object(Bucket=versioned, Key="dst")["Body"].read() == b"first"
    marker = s3.delete_object(Bucket=versioned, Key="src")["VersionId"]
    with pytest.raises(ClientError) as exc:
        s3.copy_object(Bucket=versioned, Key="dst", CopySource={"Bucket": versioned, "Key": "src", "VersionId": marker})
    assert _error(exc)[:2] == (400, "InvalidRequest")
    assert exc.value.response["Error"]["Message"] == "The source of a copy request may not specifically refer to a delete marker by version id."
    with pytest.raises(ClientError) as exc:
        s3.copy_object(Bucket=versioned, Key="dst", CopySource={"Bucket": versioned, "Key": "src"})
    assert _error(exc)[:2] == (404, "NoSuchKey")


# ------------------------------------------------------------------ ListObjectVersions
def test_versions_newest_first_even_within_a_millisecond(s3: Any, versioned: str) -> None:
    written = [s3.put_object(Bucket=versioned, Key="fast", Body=str(i).encode())["VersionId"] for i in range(6)]
    listing = _listing(s3, versioned)
    assert [v for _, v, _, _ in listing] == written[::-1]
    assert [latest for _, _, latest, _ in listing] == [True] + [False] * 5
    assert s3.head_object(Bucket=versioned, Key="fast")["VersionId"] == written[-1]


def test_versions_paged_with_markers(s3: Any, versioned: str) -> None:
    expected: list[tuple[str, str]] = []
    for name in ("b", "a", "c"):
        ids = [s3.put_object(Bucket=versioned, Key=name, Body=b"x")["VersionId"] for _ in range(2)]
        expected += [(name, i) for i in ids[::-1]]
    marker = s3.delete_object(Bucket=versioned, Key="b")["VersionId"]
    expected = sorted(expected, key=lambda item: item[0])  # stable: each key's versions stay newest first
    expected.insert(2, ("b", marker))
    assert _all_versions(s3, versioned) == expected

    pages: list[list[tuple[str, str]]] = []
    kwargs: dict[str, Any] = {"MaxKeys": 3}
    while True:
        page = s3.list_object_versions(Bucket=versioned, **kwargs)
        items = page.get("Versions", []) + page.get("DeleteMarkers", [])
        pages.append(sorted(((i["Key"], i["VersionId"]) for i in items), key=expected.index))
        assert page["MaxKeys"] == 3 and len(items) <= 3
        if not page["IsTruncated"]:
            break
        assert (page["NextKeyMarker"], page["NextVersionIdMarker"]) == pages[-1][-1]
        kwargs = {"MaxKeys": 3, "KeyMarker": page["NextKeyMarker"], "VersionIdMarker": page["NextVersionIdMarker"]}
    assert [len(p) for p in pages] == [3, 3, 1]
    assert [item for p in pages for item in p] == expected

    # KeyMarker alone: the listing begins after that key.
    assert [k for k, *_ in _listing(s3, versioned, KeyMarker="b")] == ["c", "c"]
    with pytest.raises(ClientError) as exc:
        s3.list_object_versions(Bucket=versioned, VersionIdMarker=marker)
    assert _error(exc)[:2] == (400, "InvalidArgument")


def test_versions_prefix_and_delimiter(s3: Any, versioned: str) -> None:
    for name in ("top", "dir/x", "dir/y", "dir/sub/z", "other/w"):
        s3.put_object(Bucket=versioned, Key=name, Body=b"x")
    page = s3.list_object_versions(Bucket=versioned, Delimiter="/")
    assert [p["Prefix"] for p in page["CommonPrefixes"]] == ["dir/", "other/"]
    assert [v["Key"] for v in page["Versions"]] == ["top"]
    page = s3.list_object_versions(Bucket=versioned, Prefix="dir/", Delimiter="/")
    assert [p["Prefix"] for p in page["CommonPrefixes"]] == ["dir/sub/"]
    assert [v["Key"] for v in page["Versions"]] == ["dir/x", "dir/y"]

    page = s3.list_object_versions(Bucket=versioned, Delimiter="/", MaxKeys=2)
    assert page["IsTruncated"] and [p["Prefix"] for p in page["CommonPrefixes"]] == ["dir/", "other/"]
    assert page["NextKeyMarker"] == "other/" and "Versions" not in page
    page = s3.list_object_versions(Bucket=versioned, Delimiter="/", MaxKeys=2, KeyMarker="other/")
    assert not page["IsTruncated"] and [v["Key"] for v in page["Versions"]] == ["top"] and "CommonPrefixes" not in page


# ------------------------------------------------------------------ notifications
def _notified(s3: Any, sqs: Any, bucket: str, events: list[str]) -> Callable[[int], list[tuple[str, str]]]:
    """A queue notified of the bucket's ``events``; the function returns (event name, key) of
    the first ``count`` records it receives."""
    queue = sqs.create_queue(QueueName=f"vers-{uuid.uuid4().hex[:12]}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={"QueueConfigurations": [{"QueueArn": arn, "Events": events}]})

    def received(count: int) -> list[tuple[str, str]]:
        records: list[tuple[str, str]] = []
        for _ in range(5):
            for message in sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", []):
                records += [(r["eventName"], r["s3"]["object"]["key"]) for r in json.loads(message["Body"]).get("Records", [])]
            if len(records) >= count:
                break
        return sorted(records)

    return received


def test_marker_and_version_deletes_notify(s3: Any, versioned: str, aws_client: Callable[..., Any]) -> None:
    received = _notified(s3, aws_client("sqs"), versioned, ["s3:ObjectRemoved:*"])
    v1 = s3.put_object(Bucket=versioned, Key="doc", Body=b"x")["VersionId"]
    s3.delete_object(Bucket=versioned, Key="doc")
    s3.delete_object(Bucket=versioned, Key="doc", VersionId=v1)
    assert received(2) == [("ObjectRemoved:Delete", "doc"), ("ObjectRemoved:DeleteMarkerCreated", "doc")]


def test_suspended_put_notifies(s3: Any, aws_client: Callable[..., Any]) -> None:
    bucket = _bucket(s3, "Suspended")
    received = _notified(s3, aws_client("sqs"), bucket, ["s3:ObjectCreated:*"])
    s3.put_object(Bucket=bucket, Key="doc", Body=b"x")
    s3.put_object(Bucket=bucket, Key="doc", Body=b"y")
    assert received(2) == [("ObjectCreated:Put", "doc"), ("ObjectCreated:Put", "doc")]


# ------------------------------------------------------------------ a restart
def test_markers_survive_a_restart(tmp_path: Path) -> None:
    server = EmulatorServer(data_dir=tmp_path / "data")
    server.start()
    try:
        s3 = server.client("s3")
        bucket = _bucket(s3, "Enabled")
        v1 = s3.put_object(Bucket=bucket, Key="doc", Body=b"one")["VersionId"]
        marker = s3.delete_object(Bucket=bucket, Key="doc")["VersionId"]
        missing = s3.delete_object(Bucket=bucket, Key="never")["VersionId"]
        server.stop()
        server.start()
        s3 = server.client("s3")
        assert _listing(s3, bucket) == [("doc", marker, True, True), ("doc", v1, False, False), ("never", missing, True, True)]
        with pytest.raises(ClientError) as exc:
            s3.get_object(Bucket=bucket, Key="doc")
        assert _error(exc)[2].get("x-amz-version-id") == marker
        s3.delete_object(Bucket=bucket, Key="doc", VersionId=marker)
        assert s3.get_object(Bucket=bucket, Key="doc")["Body"].read() == b"one"
    finally:
        server.stop()


@pytest.mark.parametrize("status", [None, "Enabled", "Suspended"])
def test_complete_multipart_upload_answer(s3: Any, status: str | None) -> None:
    """A version id only where the bucket has (or had) versioning; the object's Location at
    this endpoint, its key URL-encoded (moto answered x-amz-version-id: null for every bucket
    and an s3.amazonaws.com URL)."""
    bucket = _bucket(s3, status)
    key = "dir/a b.txt"
    upload = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    part = s3.upload_part(Bucket=bucket, Key=key, UploadId=upload, PartNumber=1, Body=b"x" * 10)
    done = s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=upload, MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]})
    endpoint = s3.meta.endpoint_url.rstrip("/")
    assert done["Location"] == f"{endpoint}/{bucket}/dir/a%20b.txt"
    if status is None:
        assert "VersionId" not in done
    elif status == "Suspended":
        assert done["VersionId"] == "null"
    else:
        assert done["VersionId"] not in ("", "null")
        assert s3.head_object(Bucket=bucket, Key=key)["VersionId"] == done["VersionId"]
