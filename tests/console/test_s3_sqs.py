"""The console's S3 and SQS pages (served by moto) over plain HTTP: what they show matches what
boto3 sees, and every action lands (or flashes AWS's error)."""

from __future__ import annotations

import json
import re
import uuid
from html import unescape

import pytest
import requests

from emulator.testing.server import EmulatorServer

from .conftest import csrf_of, sign_in, sign_in_new_user


def _bucket(emulator: EmulatorServer) -> str:
    name = f"con-{uuid.uuid4().hex[:12]}"
    emulator.client("s3").create_bucket(Bucket=name)
    return name


def _links(page: str, path: str) -> list[str]:
    return [unescape(m) for m in re.findall(r'href="(/_emulator/console' + re.escape(path) + r'[^"]*)"', page)]


def test_bucket_list_and_prefix_navigation(web: requests.Session, console_url: str, emulator: EmulatorServer) -> None:
    bucket = _bucket(emulator)
    s3 = emulator.client("s3")
    for key in ("top.txt", "docs/b.txt", "docs/sub/c.txt"):
        s3.put_object(Bucket=bucket, Key=key, Body=key.encode())
    page = web.get(console_url + "/s3")
    assert page.status_code == 200 and bucket in page.text
    row = re.search(r"<tr><td><a [^>]*>" + bucket + r"</a></td><td>([^<]*)</td><td>([^<]*)</td></tr>", page.text)
    assert row is not None and row.group(1).endswith("UTC") and row.group(2) == "us-east-1"

    root = web.get(console_url + "/s3/bucket", params={"name": bucket})
    assert root.status_code == 200
    assert ">docs/<" in root.text and ">top.txt<" in root.text and "b.txt" not in root.text
    assert "1 object(s) and 1 folder(s)" in root.text
    folder = next(link for link in _links(root.text, "/s3/bucket?") if "prefix=docs" in link)
    docs = web.get(emulator.endpoint + folder)
    assert ">b.txt<" in docs.text and ">sub/<" in docs.text and "top.txt" not in docs.text
    assert "STANDARD" in docs.text and "<td>10 B</td>" in docs.text  # docs/b.txt is 10 bytes
    sub = web.get(console_url + "/s3/bucket", params={"name": bucket, "prefix": "docs/sub/"})
    assert ">c.txt<" in sub.text
    assert web.get(console_url + "/s3/bucket", params={"name": "no-such-bucket-" + uuid.uuid4().hex[:6]}).status_code == 404


def test_objects_are_paged_with_the_continuation_token(web: requests.Session, console_url: str, emulator: EmulatorServer) -> None:
    bucket = _bucket(emulator)
    s3 = emulator.client("s3")
    keys = [f"many/{i:04d}" for i in range(105)]
    for key in keys:
        s3.put_object(Bucket=bucket, Key=key, Body=b"x")
    first = web.get(console_url + "/s3/bucket", params={"name": bucket, "prefix": "many/"}).text
    assert "100 object(s)" in first and ">0099<" in first and ">0100<" not in first
    nxt = [link for link in _links(first, "/s3/bucket?") if "token=" in link]
    assert len(nxt) == 1
    second = web.get(emulator.endpoint + nxt[0]).text
    assert "5 object(s)" in second and ">0104<" in second and ">0099<" not in second
    assert not [link for link in _links(second, "/s3/bucket?") if "token=" in link]


def test_upload_details_download_and_delete(web: requests.Session, console_url: str, emulator: EmulatorServer) -> None:
    bucket = _bucket(emulator)
    s3 = emulator.client("s3")
    token = csrf_of(web.get(console_url + "/s3/bucket", params={"name": bucket}).text)
    data = bytes(range(256)) * 12_000 + b"\r\n--end"  # ~3 MiB: streamed back in blocks
    resp = web.post(console_url + "/s3/upload", data={"_csrf": token, "bucket": bucket, "prefix": "in/"}, files={"file": ("report <1>.pdf", data, "application/pdf")})
    assert resp.status_code == 200
    assert f"Uploaded in/report &lt;1&gt;.pdf ({len(data)} bytes)." in resp.text
    got = s3.get_object(Bucket=bucket, Key="in/report <1>.pdf")
    assert got["Body"].read() == data and got["ContentType"] == "application/pdf"

    # With a key of one's own, and a content type guessed from the name.
    resp = web.post(console_url + "/s3/upload", data={"_csrf": token, "bucket": bucket, "prefix": "", "key": "notes/n.txt"},
                    files={"file": ("whatever.bin", b"hello", "application/octet-stream")})
    assert "Uploaded notes/n.txt (5 bytes)." in resp.text
    assert s3.head_object(Bucket=bucket, Key="notes/n.txt")["ContentType"] == "application/octet-stream"

    s3.put_object_tagging(Bucket=bucket, Key="in/report <1>.pdf", Tagging={"TagSet": [{"Key": "team", "Value": "ml=1"}]})
    s3.copy_object(Bucket=bucket, Key="in/report <1>.pdf", CopySource={"Bucket": bucket, "Key": "in/report <1>.pdf"}, Metadata={"owner": "ana"},
                   MetadataDirective="REPLACE", ContentType="application/pdf")
    head = s3.head_object(Bucket=bucket, Key="in/report <1>.pdf")
    details = web.get(console_url + "/s3/object", params={"bucket": bucket, "key": "in/report <1>.pdf"})
    assert details.status_code == 200
    text = details.text
    assert "report <1>" not in text and "report &lt;1&gt;.pdf" in text  # escaped
    assert head["ETag"].replace('"', "&quot;") in text and "application/pdf" in text
    assert ">owner<" in text and ">ana<" in text and ">team<" in text and ">ml=1<" in text
    download = next(link for link in _links(text, "/s3/download?"))
    with web.get(emulator.endpoint + download, stream=True) as got_back:
        assert got_back.status_code == 200
        assert got_back.headers["content-type"] == "application/pdf"
        assert got_back.headers["content-disposition"].startswith('attachment; filename="report <1>.pdf"; filename*=UTF-8\'\'report%20%3C1%3E.pdf')
        assert int(got_back.headers["content-length"]) == len(data)
        assert got_back.raw.read() == data

    missing = web.get(console_url + "/s3/download", params={"bucket": bucket, "key": "nope"})
    assert missing.status_code == 404 and "NoSuchKey" in missing.text
    assert web.get(console_url + "/s3/object", params={"bucket": bucket, "key": "nope"}).status_code == 404

    resp = web.post(console_url + "/s3/delete-object", data={"_csrf": token, "bucket": bucket, "key": "in/report <1>.pdf", "prefix": "in/"})
    assert "Deleted in/report &lt;1&gt;.pdf." in resp.text and resp.url.endswith("prefix=in%2F")
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])] == ["notes/n.txt"]


def test_upload_needs_the_csrf_token(web: requests.Session, console_url: str, emulator: EmulatorServer) -> None:
    bucket = _bucket(emulator)
    other = csrf_of(sign_in(emulator).get(console_url + "/").text)
    for data in ({"bucket": bucket}, {"bucket": bucket, "_csrf": other}):
        resp = web.post(console_url + "/s3/upload", data=data, files={"file": ("x.txt", b"x", "text/plain")}, allow_redirects=False)
        assert resp.status_code == 403
    assert "Contents" not in emulator.client("s3").list_objects_v2(Bucket=bucket)


def test_create_and_delete_buckets(web: requests.Session, console_url: str, emulator: EmulatorServer) -> None:
    s3 = emulator.client("s3")
    token = csrf_of(web.get(console_url + "/s3").text)
    name = f"con-made-{uuid.uuid4().hex[:8]}"
    resp = web.post(console_url + "/s3/create-bucket", data={"_csrf": token, "name": name})
    assert f"Bucket {name} created." in resp.text and resp.url.endswith(f"/s3/bucket?name={name}")
    assert name in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    resp = web.post(console_url + "/s3/create-bucket", data={"_csrf": token, "name": "Bad_Name"})
    assert "flash error" in resp.text and "InvalidBucketName" in resp.text

    s3.put_object(Bucket=name, Key="k", Body=b"x")
    resp = web.post(console_url + "/s3/delete-bucket", data={"_csrf": token, "name": name})
    assert "BucketNotEmpty" in resp.text and "flash error" in resp.text
    assert name in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    s3.delete_object(Bucket=name, Key="k")
    resp = web.post(console_url + "/s3/delete-bucket", data={"_csrf": token, "name": name})
    assert f"Bucket {name} deleted." in resp.text and resp.url.endswith("/s3")
    assert name not in [b["Name"] for b in s3.list_buckets()["Buckets"]]


def test_buckets_are_created_in_the_chosen_region(web: requests.Session, console_url: str, emulator: EmulatorServer) -> None:
    token = csrf_of(web.get(console_url + "/s3").text)
    web.post(console_url + "/region", data={"_csrf": token, "region": "eu-west-1", "next": "/s3"})
    try:
        name = f"con-eu-{uuid.uuid4().hex[:8]}"
        resp = web.post(console_url + "/s3/create-bucket", data={"_csrf": token, "name": name})
        assert f"Bucket {name} created." in resp.text
        assert emulator.client("s3").get_bucket_location(Bucket=name)["LocationConstraint"] == "eu-west-1"
        assert re.search(name + r"</a></td><td>[^<]*</td><td>eu-west-1</td>", web.get(console_url + "/s3").text)
    finally:
        web.post(console_url + "/region", data={"_csrf": token, "region": "us-east-1", "next": "/"})


def _counts(emulator: EmulatorServer, url: str) -> dict[str, str]:
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesDelayed"]
    attrs: dict[str, str] = emulator.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
    return attrs


def test_sqs_queues_send_and_purge(web: requests.Session, console_url: str, emulator: EmulatorServer) -> None:
    sqs = emulator.client("sqs")
    name = f"con-q-{uuid.uuid4().hex[:8]}"
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="one")
    sqs.send_message(QueueUrl=url, MessageBody="later", DelaySeconds=600)
    listing = web.get(console_url + "/sqs")
    assert listing.status_code == 200 and "does not receive messages" in listing.text
    row = re.search(r">" + name + r"</a></td><td>(\d+)</td><td>(\d+)</td><td>(\d+)</td>", listing.text)
    assert row is not None and row.groups() == ("1", "0", "1")

    page = web.get(console_url + "/sqs/queue", params={"url": url})
    assert page.status_code == 200 and "does not receive messages" in page.text
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    assert arn in page.text and "VisibilityTimeout" in page.text
    assert re.search(r"CreatedTimestamp</th><td>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC</td>", page.text)
    token = csrf_of(page.text)
    resp = web.post(console_url + "/sqs/send", data={"_csrf": token, "url": url, "body": "hi <there>", "attributes": "kind = test\n\nsource=console"})
    assert "Message sent." in resp.text and "Message id" in resp.text
    assert _counts(emulator, url)["ApproximateNumberOfMessages"] == "2"
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"])["Messages"]
    mine = next(m for m in got if m["Body"] == "hi <there>")
    assert {k: v["StringValue"] for k, v in mine["MessageAttributes"].items()} == {"kind": "test", "source": "console"}
    assert mine["MessageAttributes"]["kind"]["DataType"] == "String"

    resp = web.post(console_url + "/sqs/send", data={"_csrf": token, "url": url, "body": "x", "attributes": "no equals sign"})
    assert "flash error" in resp.text and "line 1 is not name=value" in resp.text
    resp = web.post(console_url + "/sqs/purge", data={"_csrf": token, "url": url})
    assert f"Queue {name} purged." in resp.text
    assert _counts(emulator, url) == {"ApproximateNumberOfMessages": "0", "ApproximateNumberOfMessagesNotVisible": "0", "ApproximateNumberOfMessagesDelayed": "0"}


def test_sqs_errors_are_flashed(web: requests.Session, console_url: str, emulator: EmulatorServer) -> None:
    token = csrf_of(web.get(console_url + "/sqs").text)
    gone = emulator.client("sqs").get_queue_url(QueueName=emulator.client("sqs").create_queue(QueueName=f"con-gone-{uuid.uuid4().hex[:6]}")["QueueUrl"].rpartition("/")[2])["QueueUrl"]
    emulator.client("sqs").delete_queue(QueueUrl=gone)
    resp = web.post(console_url + "/sqs/send", data={"_csrf": token, "url": gone, "body": "x"})
    assert "flash error" in resp.text and "NonExistentQueue" in resp.text
    page = web.get(console_url + "/sqs/queue", params={"url": gone})
    assert page.status_code == 400 and "NonExistentQueue" in page.text
    fifo = emulator.client("sqs").create_queue(QueueName=f"con-{uuid.uuid4().hex[:6]}.fifo", Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"})["QueueUrl"]
    assert 'name="group"' in web.get(console_url + "/sqs/queue", params={"url": fifo}).text
    resp = web.post(console_url + "/sqs/send", data={"_csrf": token, "url": fifo, "body": "x", "group": "g1"})
    assert "Message sent." in resp.text


def test_a_user_without_s3_or_sqs_permissions_sees_access_denied(emulator: EmulatorServer, console_url: str) -> None:
    web, _, _ = sign_in_new_user(emulator, "con-nos3")
    bucket = _bucket(emulator)
    assert "AccessDenied" in web.get(console_url + "/s3").text
    assert "AccessDenied" in web.get(console_url + "/sqs").text
    token = csrf_of(web.get(console_url + "/s3").text)
    resp = web.post(console_url + "/s3/upload", data={"_csrf": token, "bucket": bucket, "prefix": ""}, files={"file": ("x.txt", b"x", "text/plain")})
    assert "flash error" in resp.text and "AccessDenied" in resp.text
    assert "Contents" not in emulator.client("s3").list_objects_v2(Bucket=bucket)


@pytest.mark.parametrize("path", ["/s3", "/sqs"])
def test_nav_has_s3_and_sqs(web: requests.Session, console_url: str, path: str) -> None:
    page = web.get(console_url + path).text
    assert f'data-nav="{path[1:]}"' in page
    assert re.search(r'class="active" data-nav="' + path[1:] + '"', page)


def test_sqs_create_standard_and_fifo_queues(web: requests.Session, console_url: str, emulator: EmulatorServer) -> None:
    sqs = emulator.client("sqs")
    listing = web.get(console_url + "/sqs").text
    assert 'id="create-queue"' in listing
    token = csrf_of(listing)
    name = f"con-new-{uuid.uuid4().hex[:8]}"
    resp = web.post(console_url + "/sqs/create", data={"_csrf": token, "name": name, "visibility": "45", "retention": "3600"})
    assert f"Queue {name} created." in resp.text and "/sqs/queue?url=" in resp.url
    url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attrs["VisibilityTimeout"] == "45" and attrs["MessageRetentionPeriod"] == "3600" and "FifoQueue" not in attrs

    fifo = f"con-new-{uuid.uuid4().hex[:8]}"
    resp = web.post(console_url + "/sqs/create", data={"_csrf": token, "name": fifo, "fifo": "1"})
    assert f"Queue {fifo}.fifo created." in resp.text
    url = sqs.get_queue_url(QueueName=fifo + ".fifo")["QueueUrl"]
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attrs["FifoQueue"] == "true" and attrs["VisibilityTimeout"] == "30"
    # A name that already ends in .fifo keeps it (no ".fifo.fifo").
    named = f"con-new-{uuid.uuid4().hex[:8]}.fifo"
    assert f"Queue {named} created." in web.post(console_url + "/sqs/create", data={"_csrf": token, "name": named, "fifo": "on"}).text
    assert sqs.get_queue_attributes(QueueUrl=sqs.get_queue_url(QueueName=named)["QueueUrl"], AttributeNames=["FifoQueue"])["Attributes"]["FifoQueue"] == "true"


def test_sqs_create_errors_are_flashed(web: requests.Session, console_url: str, emulator: EmulatorServer) -> None:
    token = csrf_of(web.get(console_url + "/sqs").text)
    bad = "bad name <x>"
    resp = web.post(console_url + "/sqs/create", data={"_csrf": token, "name": bad})
    assert "flash error" in resp.text and "InvalidParameterValue" in resp.text and resp.url.endswith("/sqs")
    assert "<x>" not in resp.text  # escaped
    resp = web.post(console_url + "/sqs/create", data={"_csrf": token, "name": f"con-{uuid.uuid4().hex[:6]}", "visibility": "soon"})
    assert "flash error" in resp.text and "InvalidAttributeValue: Invalid value for the parameter VisibilityTimeout." in resp.text
    assert not [u for u in emulator.client("sqs").list_queues(QueueNamePrefix="bad").get("QueueUrls", [])]


def test_sqs_delete_queue_with_a_confirmation_page(web: requests.Session, console_url: str, emulator: EmulatorServer) -> None:
    sqs = emulator.client("sqs")
    name = f"con-del-{uuid.uuid4().hex[:8]}"
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    page = web.get(console_url + "/sqs/queue", params={"url": url}).text
    assert 'action="/_emulator/console/sqs/delete"' in page and 'id="delete-queue-start"' in page
    confirm = web.get(console_url + "/sqs/delete", params={"url": url})
    assert confirm.status_code == 200 and f"Delete {name}?" in confirm.text and 'id="delete-queue"' in confirm.text
    assert name in [u.rpartition("/")[2] for u in sqs.list_queues(QueueNamePrefix=name).get("QueueUrls", [])]  # nothing deleted yet
    token = csrf_of(confirm.text)
    assert web.post(console_url + "/sqs/delete", data={"url": url}, allow_redirects=False).status_code == 403
    assert sqs.get_queue_url(QueueName=name)["QueueUrl"] == url
    resp = web.post(console_url + "/sqs/delete", data={"_csrf": token, "url": url})
    assert f"Queue {name} deleted." in resp.text and resp.url.endswith("/sqs")
    with pytest.raises(sqs.exceptions.QueueDoesNotExist):
        sqs.get_queue_url(QueueName=name)
    again = web.post(console_url + "/sqs/delete", data={"_csrf": token, "url": url})
    assert "flash error" in again.text and "NonExistentQueue" in again.text


def test_s3_delete_folder_pages_through_and_batches(web: requests.Session, console_url: str, emulator: EmulatorServer) -> None:
    bucket = _bucket(emulator)
    s3 = emulator.client("s3")
    inside = [f"big/{i:04d}" for i in range(1040)] + [f"big/sub/{i}" for i in range(10)]
    outside = ["big", "bigger/x", "other/big/y", "top.txt"]
    for key in inside + outside:
        s3.put_object(Bucket=bucket, Key=key, Body=b"x")
    root = web.get(console_url + "/s3/bucket", params={"name": bucket}).text
    assert re.search(r'<form method="get" action="/_emulator/console/s3/delete-folder" [^>]*>.*?name="prefix" value="big/"', root)
    confirm = web.get(console_url + "/s3/delete-folder", params={"bucket": bucket, "prefix": "big/"})
    assert confirm.status_code == 200 and "Delete every object under big/?" in confirm.text and "Versioning is" not in confirm.text
    token = csrf_of(confirm.text)

    assert web.post(console_url + "/s3/delete-folder", data={"bucket": bucket, "prefix": "big/"}, allow_redirects=False).status_code == 403
    resp = web.post(console_url + "/s3/delete-folder", data={"_csrf": token, "bucket": bucket, "prefix": ""})
    assert "flash error" in resp.text and "non-empty prefix" in resp.text
    assert s3.list_objects_v2(Bucket=bucket, Prefix="big/")["KeyCount"] == 1000  # untouched (a page of 1,000)

    resp = web.post(console_url + "/s3/delete-folder", data={"_csrf": token, "bucket": bucket, "prefix": "big/"})
    assert "Deleted 1050 of 1050 object(s) under big/ in 2 DeleteObjects request(s)." in resp.text and "flash ok" in resp.text
    assert resp.url.endswith(f"/s3/bucket?name={bucket}")  # back to the parent folder
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket, Prefix="big/")
    assert sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]) == sorted(outside)


def test_s3_delete_folder_in_a_versioned_bucket_leaves_delete_markers(web: requests.Session, console_url: str, emulator: EmulatorServer) -> None:
    bucket = _bucket(emulator)
    s3 = emulator.client("s3")
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    for key in ("v/a", "v/b", "keep"):
        s3.put_object(Bucket=bucket, Key=key, Body=b"x")
    confirm = web.get(console_url + "/s3/delete-folder", params={"bucket": bucket, "prefix": "v/"})
    assert "Versioning is Enabled on this bucket" in confirm.text and "delete marker" in confirm.text
    resp = web.post(console_url + "/s3/delete-folder", data={"_csrf": csrf_of(confirm.text), "bucket": bucket, "prefix": "v/"})
    assert "Deleted 2 of 2 object(s) under v/ in 1 DeleteObjects request(s). 2 of them got a delete marker" in resp.text
    versions = s3.list_object_versions(Bucket=bucket, Prefix="v/")
    assert sorted(m["Key"] for m in versions.get("DeleteMarkers", [])) == ["v/a", "v/b"]
    assert sorted(v["Key"] for v in versions.get("Versions", [])) == ["v/a", "v/b"]  # the data stays
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == ["keep"]


def test_s3_delete_folder_reports_what_was_refused(emulator: EmulatorServer, console_url: str) -> None:
    web, user, _ = sign_in_new_user(emulator, "con-nodel")
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:ListBucket", "s3:GetBucketVersioning"], "Resource": "*"}]}
    emulator.client("iam").put_user_policy(UserName=user, PolicyName="list-only", PolicyDocument=json.dumps(policy))
    bucket = _bucket(emulator)
    s3 = emulator.client("s3")
    for key in ("f/a", "f/b"):
        s3.put_object(Bucket=bucket, Key=key, Body=b"x")
    confirm = web.get(console_url + "/s3/delete-folder", params={"bucket": bucket, "prefix": "f/"})
    assert confirm.status_code == 200, confirm.text[:300]
    resp = web.post(console_url + "/s3/delete-folder", data={"_csrf": csrf_of(confirm.text), "bucket": bucket, "prefix": "f/"})
    assert "Deleted 0 of 2 object(s) under f/" in resp.text and "flash ok" not in resp.text
    flashes = re.findall(r'<div class="flash error">([^<]*)</div>', resp.text)
    # S3 decides DeleteObjects key by key: one request, each key refused in its answer.
    assert flashes == ["Deleted 0 of 2 object(s) under f/ in 1 DeleteObjects request(s).", "f/a: AccessDenied: Access Denied", "f/b: AccessDenied: Access Denied"]
    assert sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]) == ["f/a", "f/b"]
