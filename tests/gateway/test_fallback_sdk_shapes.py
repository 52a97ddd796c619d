"""Answers of fallback services (moto) in the shape AWS gives them, where an SDK reads the
difference: found with the AWS SDK for JavaScript v3 (tests/clients/sdk_paths.mjs runs it),
checked here with boto3 (emulator/gateway/fallback_patches.py)."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError
from fallback_probe import client

from emulator.testing.server import EmulatorServer

pytestmark = pytest.mark.usefixtures("no_unhandled_errors")


def test_get_object_attributes_list_header_with_spaces(server: EmulatorServer) -> None:
    # The JS SDK joins x-amz-object-attributes with ", "; every name is read, not the first only.
    s3 = client(server, "s3")
    s3.create_bucket(Bucket="shapes-attributes")
    put = s3.put_object(Bucket="shapes-attributes", Key="k", Body=b"hello world", ChecksumAlgorithm="CRC32")

    def spaced(request: Any, **_: Any) -> None:
        request.headers.replace_header("x-amz-object-attributes", "ETag, Checksum, ObjectSize")

    s3.meta.events.register("before-sign.s3.GetObjectAttributes", spaced)
    got = s3.get_object_attributes(Bucket="shapes-attributes", Key="k", ObjectAttributes=["ETag"])
    assert got["ETag"] == put["ETag"].strip('"')
    assert got["ObjectSize"] == 11
    assert got["Checksum"] == {"ChecksumCRC32": "DUoRhQ==", "ChecksumType": "FULL_OBJECT"}
    for read in (s3.head_object, s3.get_object):
        answer = read(Bucket="shapes-attributes", Key="k", ChecksumMode="ENABLED")
        assert (answer["ChecksumCRC32"], answer["ChecksumType"]) == ("DUoRhQ==", "FULL_OBJECT")


def test_delete_objects_quiet(server: EmulatorServer) -> None:
    s3 = client(server, "s3")
    s3.create_bucket(Bucket="shapes-quiet")
    for key in ("a", "b"):
        s3.put_object(Bucket="shapes-quiet", Key=key, Body=b"x")
    quiet = s3.delete_objects(Bucket="shapes-quiet", Delete={"Objects": [{"Key": "a"}], "Quiet": True})
    assert "Deleted" not in quiet and "Errors" not in quiet
    loud = s3.delete_objects(Bucket="shapes-quiet", Delete={"Objects": [{"Key": "b"}]})
    assert loud["Deleted"] == [{"Key": "b"}]
    assert s3.list_objects_v2(Bucket="shapes-quiet")["KeyCount"] == 0


def test_list_objects_v1_next_marker(server: EmulatorServer) -> None:
    s3 = client(server, "s3")
    s3.create_bucket(Bucket="shapes-marker")
    for key in ("a", "b", "c", "d", "e"):
        s3.put_object(Bucket="shapes-marker", Key=key, Body=b"x")
    # Without a delimiter S3 gives no NextMarker: the next page starts after the last key.
    page = s3.list_objects(Bucket="shapes-marker", MaxKeys=2)
    assert page["IsTruncated"] is True and "NextMarker" not in page
    assert [o["Key"] for o in page["Contents"]] == ["a", "b"]
    page = s3.list_objects(Bucket="shapes-marker", MaxKeys=2, Marker="b")
    assert [o["Key"] for o in page["Contents"]] == ["c", "d"]
    # With one, NextMarker is the page's last key.
    page = s3.list_objects(Bucket="shapes-marker", MaxKeys=2, Delimiter="/", Marker="b")
    assert page["NextMarker"] == "d"
    keys = [o["Key"] for p in s3.get_paginator("list_objects").paginate(Bucket="shapes-marker", PaginationConfig={"PageSize": 2}) for o in p["Contents"]]
    assert keys == ["a", "b", "c", "d", "e"]


def test_complete_multipart_upload_checksum(server: EmulatorServer) -> None:
    s3 = client(server, "s3")
    s3.create_bucket(Bucket="shapes-multipart")
    upload = s3.create_multipart_upload(Bucket="shapes-multipart", Key="m", ChecksumAlgorithm="CRC32")["UploadId"]
    parts = []
    for number, body in ((1, b"a" * (5 * 1024 * 1024)), (2, b"tail")):
        part = s3.upload_part(Bucket="shapes-multipart", Key="m", UploadId=upload, PartNumber=number, Body=body, ChecksumAlgorithm="CRC32")
        parts.append({"PartNumber": number, "ETag": part["ETag"], "ChecksumCRC32": part["ChecksumCRC32"]})
    done = s3.complete_multipart_upload(Bucket="shapes-multipart", Key="m", UploadId=upload, MultipartUpload={"Parts": parts})
    head = s3.head_object(Bucket="shapes-multipart", Key="m", ChecksumMode="ENABLED")
    assert done["ChecksumCRC32"] == head["ChecksumCRC32"] == "4fn9rQ==-2"
    assert done["ChecksumType"] == head["ChecksumType"] == "COMPOSITE"
    assert done["ETag"].endswith('-2"')


def test_sqs_fifo_sequence_numbers(server: EmulatorServer) -> None:
    # Content-based deduplication (no MessageDeduplicationId): still a SequenceNumber, increasing.
    sqs = client(server, "sqs")
    url = sqs.create_queue(QueueName="shapes.fifo", Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"})["QueueUrl"]
    first = sqs.send_message(QueueUrl=url, MessageBody="one", MessageGroupId="g")["SequenceNumber"]
    second = sqs.send_message(QueueUrl=url, MessageBody="two", MessageGroupId="g", MessageDeduplicationId="d2")["SequenceNumber"]
    batch = sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": "3", "MessageBody": "three", "MessageGroupId": "g"}])["Successful"][0]["SequenceNumber"]
    assert len(first) == len(second) == len(batch) == 20
    assert int(first) < int(second) < int(batch)
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageSystemAttributeNames=["SequenceNumber"])["Messages"]
    assert [m["Attributes"]["SequenceNumber"] for m in got] == [first, second, batch]
    standard = sqs.create_queue(QueueName="shapes-standard")["QueueUrl"]
    assert "SequenceNumber" not in sqs.send_message(QueueUrl=standard, MessageBody="x")


def test_sns_publish_to_missing_topic(server: EmulatorServer) -> None:
    sns = client(server, "sns")
    with pytest.raises(ClientError) as caught:
        sns.publish(TopicArn="arn:aws:sns:us-east-1:000000000000:shapes-missing", Message="x")
    error = caught.value.response
    assert (error["Error"]["Code"], error["Error"]["Message"], error["ResponseMetadata"]["HTTPStatusCode"]) == ("NotFound", "Topic does not exist", 404)
    topic = sns.create_topic(Name="shapes-topic")["TopicArn"]
    assert sns.publish(TopicArn=topic, Message="x")["MessageId"]
