"""Incremental snapshots of moto's state (emulator/gateway/fallback_leaves.py): SQS's messages and
S3's objects are leaves, written one by one when they change. Every way moto changes them,
through the wire, then ``kill -9`` and a restart: what the API shows is what it showed. The
servers run with ``EMULATOR_FALLBACK_AUDIT=always`` (after every snapshot the clean leaves are
pickled again and compared with their rows): the log must show no leaf changed without a mark.
And the old format (one pickle per package) is loaded and migrated."""

from __future__ import annotations

import base64
import datetime
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from emulator.testing.server import EmulatorServer

AUDIT = {"EMULATOR_FALLBACK_AUDIT": "always"}
UNMARKED = "changed without being marked"


def _server(data_dir: Path) -> EmulatorServer:
    return EmulatorServer(data_dir=data_dir, env=AUDIT, extra_args=["--services", "dynamodb"])


def _clean(response: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in response.items() if k != "ResponseMetadata"}


def _assert_audited(server: EmulatorServer) -> None:
    log = server.log_path.read_text()
    assert UNMARKED not in log, log[-3000:]
    for trouble in ("cannot be saved", "snapshot of", "audit of", "pickled otherwise"):  # failed, unreadable, not stable, ...
        assert trouble not in log, log[-3000:]


# --- SQS ---------------------------------------------------------------------------------------

ATTRIBUTES = {
    "text": {"DataType": "String", "StringValue": "héllo"},
    "number": {"DataType": "Number", "StringValue": "42"},
    "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01binary"},
}


def _queue_attributes(sqs: Any, url: str) -> dict[str, str]:
    attributes = dict(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"])
    return attributes


def _drain(sqs: Any, url: str) -> dict[str, dict[str, Any]]:
    """Every visible message, each received once (hidden for 10 minutes), by MessageId."""
    found: dict[str, dict[str, Any]] = {}
    while True:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=600, MessageAttributeNames=["All"],
                                  MessageSystemAttributeNames=["All"]).get("Messages", [])
        if not got:
            return found
        for message in got:
            found[message["MessageId"]] = message


def test_sqs_messages_survive_every_change(tmp_path: Path) -> None:
    data_dir = tmp_path / "d"
    with _server(data_dir) as server:
        sqs = server.client("sqs")
        std = sqs.create_queue(QueueName="leaves-std")["QueueUrl"]
        dlq = sqs.create_queue(QueueName="leaves-dlq")["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        src = sqs.create_queue(QueueName="leaves-src", Attributes={"RedrivePolicy": f'{{"deadLetterTargetArn": "{dlq_arn}", "maxReceiveCount": "1"}}'})["QueueUrl"]
        purged = sqs.create_queue(QueueName="leaves-purged")["QueueUrl"]
        fifo = sqs.create_queue(QueueName="leaves.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]

        # Sends: attributes of every type, a trace header (a system attribute), batches, a delay.
        sent: dict[str, str] = {}
        first = sqs.send_message(QueueUrl=std, MessageBody="first", MessageAttributes=ATTRIBUTES,
                                 MessageSystemAttributes={"AWSTraceHeader": {"DataType": "String", "StringValue": "Root=1-5759e988-bd862e3fe1be46a994272793"}})
        sent[first["MessageId"]] = "first"
        batch = sqs.send_message_batch(QueueUrl=std, Entries=[
            {"Id": f"b{i}", "MessageBody": f"batch {i}", "MessageAttributes": {"n": {"DataType": "Number", "StringValue": str(i)}}} for i in range(6)
        ] + [{"Id": "late", "MessageBody": "delayed", "DelaySeconds": 600}])
        sent.update({m["MessageId"]: ("delayed" if m["Id"] == "late" else f"batch {m['Id'][1:]}") for m in batch["Successful"]})

        # Receives: counts, receipt handles, visibility (0: visible again at once).
        handles: dict[str, list[str]] = {}
        counts: dict[str, int] = {}
        for _ in range(2):
            for message in sqs.receive_message(QueueUrl=std, MaxNumberOfMessages=3, VisibilityTimeout=0, MessageSystemAttributeNames=["All"])["Messages"]:
                handles.setdefault(message["MessageId"], []).append(message["ReceiptHandle"])
                counts[message["MessageId"]] = int(message["Attributes"]["ApproximateReceiveCount"])
        received = list(handles)
        hidden, hidden_batch, deleted, deleted_batch = received[0], received[1], received[2], None
        sqs.change_message_visibility(QueueUrl=std, ReceiptHandle=handles[hidden][-1], VisibilityTimeout=900)
        sqs.change_message_visibility_batch(QueueUrl=std, Entries=[{"Id": "h", "ReceiptHandle": handles[hidden_batch][0], "VisibilityTimeout": 900}])
        sqs.delete_message(QueueUrl=std, ReceiptHandle=handles[deleted][-1])
        more = sqs.receive_message(QueueUrl=std, MaxNumberOfMessages=2, VisibilityTimeout=0, MessageSystemAttributeNames=["All"])["Messages"]
        for message in more:
            handles.setdefault(message["MessageId"], []).append(message["ReceiptHandle"])
            counts[message["MessageId"]] = int(message["Attributes"]["ApproximateReceiveCount"])
        deleted_batch = more[-1]["MessageId"]
        result = sqs.delete_message_batch(QueueUrl=std, Entries=[{"Id": "d", "ReceiptHandle": handles[deleted_batch][-1]}])
        assert [e["Id"] for e in result["Successful"]] == ["d"]
        for gone in (deleted, deleted_batch):
            sent.pop(gone)

        # A dead-letter queue: the second receive moves the message there.
        moved = sqs.send_message(QueueUrl=src, MessageBody="to the dlq")["MessageId"]
        assert sqs.receive_message(QueueUrl=src, VisibilityTimeout=0)["Messages"][0]["MessageId"] == moved
        assert "Messages" not in sqs.receive_message(QueueUrl=src, VisibilityTimeout=0)

        # A purge.
        for i in range(3):
            sqs.send_message(QueueUrl=purged, MessageBody=f"purged {i}")
        sqs.purge_queue(QueueUrl=purged)

        # FIFO: deduplication, groups (a group with a message in flight holds the others back).
        fifo_sent = {}
        for dedup, group, body in (("d1", "g1", "one"), ("d1", "g1", "one again"), ("d2", "g1", "two"), ("d3", "g2", "three")):
            response = sqs.send_message(QueueUrl=fifo, MessageBody=body, MessageGroupId=group, MessageDeduplicationId=dedup)
            fifo_sent.setdefault(dedup, (response["MessageId"], response["SequenceNumber"], body))
        in_flight = sqs.receive_message(QueueUrl=fifo, VisibilityTimeout=900, AttributeNames=["All"])["Messages"]
        assert [m["Body"] for m in in_flight] == ["one"]

        before = {url: _queue_attributes(sqs, url) for url in (std, dlq, src, purged, fifo)}
        server.kill()

        server.start()
        sqs = server.client("sqs")
        assert {url: _queue_attributes(sqs, url) for url in before} == before

        # A receipt handle from before the restart still works (the message's handles were written).
        sqs.change_message_visibility(QueueUrl=std, ReceiptHandle=handles[hidden][0], VisibilityTimeout=0)
        got = _drain(sqs, std)
        delayed = next(m["MessageId"] for m in batch["Successful"] if m["Id"] == "late")
        assert set(got) == set(sent) - {hidden_batch, delayed}, "hidden by ChangeMessageVisibilityBatch, delayed: still not visible"
        for message_id, message in got.items():
            assert message["Body"] == sent[message_id]
            # One more receive than before: the counts written by every receive.
            assert int(message["Attributes"]["ApproximateReceiveCount"]) == counts.get(message_id, 0) + 1, message_id
        assert got[first["MessageId"]]["MessageAttributes"] == ATTRIBUTES
        assert got[first["MessageId"]]["MD5OfMessageAttributes"] == first["MD5OfMessageAttributes"]
        assert got[first["MessageId"]]["Attributes"]["AWSTraceHeader"] == "Root=1-5759e988-bd862e3fe1be46a994272793"
        assert "delayed" not in [m["Body"] for m in got.values()]  # still delayed
        sqs.delete_message(QueueUrl=std, ReceiptHandle=handles[hidden][0])  # the first handle it ever had
        # Deleted before the restart: deleting again succeeds (the queue's deleted handles were written).
        sqs.delete_message(QueueUrl=std, ReceiptHandle=handles[deleted][0])
        sqs.delete_message_batch(QueueUrl=std, Entries=[{"Id": "again", "ReceiptHandle": handles[deleted_batch][-1]}])
        with pytest.raises(ClientError) as info:
            sqs.delete_message(QueueUrl=std, ReceiptHandle="never-a-handle")
        assert info.value.response["Error"]["Code"] == "ReceiptHandleIsInvalid"

        dead = _drain(sqs, dlq)
        assert [(m["MessageId"], m["Body"]) for m in dead.values()] == [(moved, "to the dlq")]
        assert _drain(sqs, src) == {} and _drain(sqs, purged) == {}

        # FIFO: "one" in flight holds group g1 back; g2's message comes; dedup ids are remembered.
        again = sqs.send_message(QueueUrl=fifo, MessageBody="one more time", MessageGroupId="g1", MessageDeduplicationId="d1")
        assert again["MessageId"]
        fifo_got = sqs.receive_message(QueueUrl=fifo, MaxNumberOfMessages=10, VisibilityTimeout=900, AttributeNames=["All"])["Messages"]
        assert [(m["MessageId"], m["Attributes"]["SequenceNumber"], m["Body"]) for m in fifo_got] == [fifo_sent["d3"]]
        assert fifo_got[0]["Attributes"]["MessageDeduplicationId"] == "d3" and fifo_got[0]["Attributes"]["MessageGroupId"] == "g2"
        assert sqs.get_queue_attributes(QueueUrl=fifo, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]["ApproximateNumberOfMessages"] == "1"

        # And the changes after the restart are written as well.
        server.kill()
        server.start()
        sqs = server.client("sqs")
        assert sqs.get_queue_attributes(QueueUrl=std, AttributeNames=["ApproximateNumberOfMessagesNotVisible"])["Attributes"]["ApproximateNumberOfMessagesNotVisible"] == str(len(got))
        sqs.delete_message(QueueUrl=std, ReceiptHandle=handles[hidden][-1])  # deleted after the first restart
        sqs.delete_message(QueueUrl=std, ReceiptHandle=handles[deleted][-1])
        _assert_audited(server)


# --- S3 ----------------------------------------------------------------------------------------


def _or_error(call: Any) -> Any:
    try:
        return call()
    except ClientError as exc:
        return ("error", exc.response["Error"]["Code"])


def _s3_view(s3: Any, buckets: list[str]) -> dict[str, Any]:
    """Everything the API shows of the buckets' objects, versions and uploads."""
    view: dict[str, Any] = {}
    for bucket in buckets:
        versions = _clean(s3.list_object_versions(Bucket=bucket))
        view[f"{bucket} versions"] = versions
        view[f"{bucket} list"] = _clean(s3.list_objects_v2(Bucket=bucket))
        for version in versions.get("Versions", []):
            key, version_id = version["Key"], version["VersionId"]
            where = {"Bucket": bucket, "Key": key, **({"VersionId": version_id} if version_id != "null" else {})}
            name = f"{bucket}/{key}@{version_id}"
            head = _clean(s3.head_object(**where))
            got = s3.get_object(**where)
            view[name] = {
                "head": head,
                "body": got["Body"].read(),
                "tags": _clean(s3.get_object_tagging(**where)),
                "acl": _or_error(lambda where=where: _clean(s3.get_object_acl(**where))),  # moto fails it for some (acl None)
            }
            if head.get("ObjectLockMode"):
                view[name]["retention"] = _or_error(lambda where=where: _clean(s3.get_object_retention(**where)))
            if head.get("ObjectLockLegalHoldStatus"):
                view[name]["legal hold"] = _or_error(lambda where=where: _clean(s3.get_object_legal_hold(**where)))
        uploads = _clean(s3.list_multipart_uploads(Bucket=bucket))
        view[f"{bucket} uploads"] = uploads
        for upload in uploads.get("Uploads", []):
            view[f"{bucket} upload {upload['UploadId']}"] = _clean(s3.list_parts(Bucket=bucket, Key=upload["Key"], UploadId=upload["UploadId"]))
    return view


def test_s3_objects_survive_every_change(tmp_path: Path) -> None:
    data_dir = tmp_path / "d"
    part = b"p" * (5 * 1024 * 1024)
    with _server(data_dir) as server:
        s3 = server.client("s3")
        s3.create_bucket(Bucket="leaves-plain")
        s3.create_bucket(Bucket="leaves-versioned")
        s3.put_bucket_versioning(Bucket="leaves-versioned", VersioningConfiguration={"Status": "Enabled"})
        s3.create_bucket(Bucket="leaves-locked", ObjectLockEnabledForBucket=True)

        # Puts: metadata, headers, tags; an overwrite.
        s3.put_object(Bucket="leaves-plain", Key="a.txt", Body=b"alpha", Metadata={"color": "blue", "Mixed-Case": "Value"},
                      ContentType="text/plain", CacheControl="max-age=60", ContentDisposition="inline", Tagging="k1=v1&k2=v2")
        s3.put_object(Bucket="leaves-plain", Key="b.bin", Body=b"first body")
        s3.put_object(Bucket="leaves-plain", Key="b.bin", Body=b"second body", Metadata={"generation": "2"})
        s3.put_object(Bucket="leaves-plain", Key="gone", Body=b"deleted")
        s3.delete_object(Bucket="leaves-plain", Key="gone")
        # Changes to an existing object: tags, ACL, metadata replaced by a copy onto itself.
        s3.put_object_tagging(Bucket="leaves-plain", Key="b.bin", Tagging={"TagSet": [{"Key": "t", "Value": "1"}]})
        s3.put_object_acl(Bucket="leaves-plain", Key="b.bin", ACL="public-read")
        s3.put_object_tagging(Bucket="leaves-plain", Key="a.txt", Tagging={"TagSet": [{"Key": "only", "Value": "this"}]})
        s3.delete_object_tagging(Bucket="leaves-plain", Key="a.txt")
        s3.copy_object(Bucket="leaves-plain", Key="a.txt", CopySource={"Bucket": "leaves-plain", "Key": "a.txt"},
                       MetadataDirective="REPLACE", Metadata={"color": "red"}, ContentType="text/markdown")
        s3.copy_object(Bucket="leaves-plain", Key="copy-of-b", CopySource={"Bucket": "leaves-plain", "Key": "b.bin"})
        # moto's CopyObject changes the *source's* metadata in place (set_metadata pops and puts
        # back its Content-Encoding): the source is marked (fallback_leaves.MARK_AFTER).
        s3.put_object(Bucket="leaves-plain", Key="zipped", Body=b"\x1f\x8b", ContentEncoding="gzip", Metadata={"z": "1"}, ContentLanguage="en")
        s3.copy_object(Bucket="leaves-plain", Key="zipped-copy", CopySource={"Bucket": "leaves-plain", "Key": "zipped"})
        s3.put_object(Bucket="leaves-plain", Key="cold", Body=b"archived", StorageClass="GLACIER")
        s3.restore_object(Bucket="leaves-plain", Key="cold", RestoreRequest={"Days": 2})

        # Versions, a delete marker, a version deleted.
        v1 = s3.put_object(Bucket="leaves-versioned", Key="doc", Body=b"v1")["VersionId"]
        v2 = s3.put_object(Bucket="leaves-versioned", Key="doc", Body=b"v2", Metadata={"v": "2"})["VersionId"]
        s3.put_object(Bucket="leaves-versioned", Key="doc", Body=b"v3")
        s3.delete_object(Bucket="leaves-versioned", Key="doc")
        s3.delete_object(Bucket="leaves-versioned", Key="doc", VersionId=v1)
        s3.put_object_tagging(Bucket="leaves-versioned", Key="doc", VersionId=v2, Tagging={"TagSet": [{"Key": "old", "Value": "yes"}]})
        s3.copy_object(Bucket="leaves-versioned", Key="restored", CopySource={"Bucket": "leaves-versioned", "Key": "doc", "VersionId": v2})

        # Object lock: legal hold and retention set on existing objects.
        s3.put_object(Bucket="leaves-locked", Key="held", Body=b"held")
        s3.put_object_legal_hold(Bucket="leaves-locked", Key="held", LegalHold={"Status": "ON"})
        s3.put_object(Bucket="leaves-locked", Key="retained", Body=b"retained")
        until = (datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=1)).replace(microsecond=0)
        s3.put_object_retention(Bucket="leaves-locked", Key="retained", Retention={"Mode": "GOVERNANCE", "RetainUntilDate": until})

        # Multipart: one completed (its parts are leaves inside the key), one in progress.
        upload = s3.create_multipart_upload(Bucket="leaves-plain", Key="big", Metadata={"parts": "2"})["UploadId"]
        etags = [s3.upload_part(Bucket="leaves-plain", Key="big", UploadId=upload, PartNumber=n, Body=part + bytes([n]))["ETag"] for n in (1, 2)]
        s3.complete_multipart_upload(Bucket="leaves-plain", Key="big", UploadId=upload,
                                     MultipartUpload={"Parts": [{"ETag": e, "PartNumber": n} for n, e in zip((1, 2), etags, strict=True)]})
        s3.copy_object(Bucket="leaves-plain", Key="big-copy", CopySource={"Bucket": "leaves-plain", "Key": "big"})
        pending = s3.create_multipart_upload(Bucket="leaves-plain", Key="later")["UploadId"]
        pending_etag = s3.upload_part(Bucket="leaves-plain", Key="later", UploadId=pending, PartNumber=1, Body=b"x" * (5 * 1024 * 1024))["ETag"]

        buckets = ["leaves-plain", "leaves-versioned", "leaves-locked"]
        before = _s3_view(s3, buckets)
        assert before["leaves-plain/b.bin@null"]["body"] == b"second body"
        assert any(g["Permission"] == "READ" for g in before["leaves-plain/b.bin@null"]["acl"]["Grants"])
        assert "Restore" in before["leaves-plain/cold@null"]["head"]
        held = next(v for k, v in before.items() if k.startswith("leaves-locked/held@"))
        assert held["legal hold"]["LegalHold"]["Status"] == "ON"
        retained = next(v for k, v in before.items() if k.startswith("leaves-locked/retained@"))
        assert retained["head"]["ObjectLockMode"] == "GOVERNANCE" and retained["head"]["ObjectLockRetainUntilDate"] == until
        server.kill()

        server.start()
        s3 = server.client("s3")
        assert _s3_view(s3, buckets) == before
        assert s3.get_object(Bucket="leaves-plain", Key="big", PartNumber=2)["ContentLength"] == len(part) + 1
        # The upload in progress completes after the restart.
        s3.upload_part(Bucket="leaves-plain", Key="later", UploadId=pending, PartNumber=2, Body=b"y")
        s3.complete_multipart_upload(Bucket="leaves-plain", Key="later", UploadId=pending, MultipartUpload={"Parts": [
            {"ETag": pending_etag, "PartNumber": 1}, {"ETag": s3.list_parts(Bucket="leaves-plain", Key="later", UploadId=pending)["Parts"][1]["ETag"], "PartNumber": 2}]})
        s3.put_object_acl(Bucket="leaves-plain", Key="a.txt", ACL="public-read")
        s3.delete_object(Bucket="leaves-plain", Key="b.bin")
        after = _s3_view(s3, buckets)
        server.kill()

        server.start()
        s3 = server.client("s3")
        assert _s3_view(s3, buckets) == after
        assert s3.get_object(Bucket="leaves-plain", Key="later")["Body"].read() == b"x" * (5 * 1024 * 1024) + b"y"
        with pytest.raises(ClientError):
            s3.head_object(Bucket="leaves-plain", Key="b.bin")
        _assert_audited(server)


def test_acknowledged_writes_survive_kill_9_under_load(tmp_path: Path) -> None:
    """Writers on many connections (group commit, leaves new and changed in the same
    snapshots); ``kill -9`` at some point: every write answered before it is there."""
    data_dir = tmp_path / "d"
    with EmulatorServer(data_dir=data_dir, extra_args=["--services", "dynamodb"]) as server:
        s3, sqs = server.client("s3"), server.client("sqs")
        s3.create_bucket(Bucket="load")
        queue = sqs.create_queue(QueueName="load")["QueueUrl"]
        acked_objects: dict[str, bytes] = {}
        acked_messages: set[str] = set()
        stop = threading.Event()

        def put(worker: int) -> None:
            client = server.client("s3")
            i = 0
            while not stop.is_set():
                key, body = f"w{worker}/{i % 7}", f"{worker}-{i}".encode()
                try:
                    client.put_object(Bucket="load", Key=key, Body=body)
                except Exception:  # noqa: BLE001 - the kill
                    return
                acked_objects[key] = body
                i += 1

        def send(worker: int) -> None:
            client = server.client("sqs")
            while not stop.is_set():
                try:
                    acked_messages.add(client.send_message(QueueUrl=queue, MessageBody=str(worker))["MessageId"])
                except Exception:  # noqa: BLE001 - the kill
                    return

        threads = [threading.Thread(target=put, args=(n,)) for n in range(4)] + [threading.Thread(target=send, args=(n,)) for n in range(4)]
        for thread in threads:
            thread.start()
        time.sleep(3)
        objects, messages = dict(acked_objects), set(acked_messages)  # answered before the kill
        server.kill()
        stop.set()
        for thread in threads:
            thread.join()
        assert objects and messages

        server.start()
        s3, sqs = server.client("s3"), server.client("sqs")
        present = {o["Key"] for o in s3.list_objects_v2(Bucket="load").get("Contents", [])}
        assert set(objects) <= present
        for key, body in objects.items():  # that body, or one written after it
            got = s3.get_object(Bucket="load", Key=key)["Body"].read()
            worker, i = map(int, got.decode().split("-"))
            assert worker == int(key[1 : key.index("/")]) and i >= int(body.decode().split("-")[1])
        found = set(_drain(sqs, queue))
        assert messages <= found


# --- the old format, the audit ---------------------------------------------------------------

_OLD_FORMAT = """
import io, os, pickle, sys
os.environ["MOTO_ACCOUNT_ID"] = "000000000000"
from pathlib import Path
from moto.core.base_backend import BackendDict
from moto.s3.models import s3_backends
from moto.sqs.models import sqs_backends
from emulator.gateway.fallback_pickle import BLOBS, Blobs, SnapshotPickler, locate, package_of
directory = Path(sys.argv[1])
directory.mkdir(parents=True)
sqs = sqs_backends["000000000000"]["us-east-1"]
sqs.create_queue("old-queue")
for i in range(5):
    sqs.send_message("old-queue", f"old {i}")
s3 = s3_backends["000000000000"]["aws"]
s3.create_bucket("old-bucket", "us-east-1")
for i in range(5):
    s3.put_object("old-bucket", f"k{i}", f"body {i}".encode())
for package in ("sqs", "s3"):  # as fallback_state wrote them before: format 1, the whole package
    own = [b for b in BackendDict._instances if package_of(b) == package]
    payload = {"format": 1, "moto": "x", "package": package, "dicts": [(*locate(b), dict(dict.items(b)), {}) for b in own]}
    buffer = io.BytesIO()
    pickler = SnapshotPickler(buffer, {})
    pickler.package, pickler.instances = package, list(BackendDict._instances)
    if package == "s3":
        pickler.blobs = Blobs(directory / BLOBS)
    pickler.dump(payload)
    (directory / f"{package}.pickle").write_bytes(buffer.getvalue())
# A migration cut short: sqs's database made (its tables), never committed; the old file stays the truth.
from emulator.gateway.fallback_store import PackageStore
PackageStore(directory / "sqs.db", "sqs").close()
"""


def test_old_format_is_loaded_and_migrated(tmp_path: Path) -> None:
    data_dir = tmp_path / "d"
    subprocess.run([sys.executable, "-c", _OLD_FORMAT, str(data_dir / "fallback")], check=True, timeout=120)
    assert {p.name for p in (data_dir / "fallback").glob("*.pickle")} == {"s3.pickle", "sqs.pickle"}
    assert (data_dir / "fallback" / "sqs.db").is_file()
    with _server(data_dir) as server:
        sqs, s3 = server.client("sqs"), server.client("s3")
        url = sqs.get_queue_url(QueueName="old-queue")["QueueUrl"]
        assert sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]["ApproximateNumberOfMessages"] == "5"
        assert s3.get_object(Bucket="old-bucket", Key="k3")["Body"].read() == b"body 3"
        deadline = time.monotonic() + 10
        while list((data_dir / "fallback").glob("*.pickle")) and time.monotonic() < deadline:
            time.sleep(0.05)
        names = {p.name for p in (data_dir / "fallback").iterdir()}
        assert {"s3.db", "sqs.db"} <= names and not {"s3.pickle", "sqs.pickle"} & names, names
        s3.put_object(Bucket="old-bucket", Key="k5", Body=b"body 5")
        server.kill()
        server.start()
        s3, sqs = server.client("s3"), server.client("sqs")
        assert sorted(o["Key"] for o in s3.list_objects_v2(Bucket="old-bucket")["Contents"]) == [f"k{i}" for i in range(6)]
        assert s3.get_object(Bucket="old-bucket", Key="k0")["Body"].read() == b"body 0"
        assert sorted(m["Body"] for m in _drain(sqs, url).values()) == [f"old {i}" for i in range(5)]
        _assert_audited(server)


_UNTRACKED = """
import logging, os, sys, time
os.environ["MOTO_ACCOUNT_ID"] = "000000000000"
os.environ["EMULATOR_FALLBACK_AUDIT"] = sys.argv[2]
from pathlib import Path
logging.basicConfig(level=logging.WARNING, stream=sys.stdout)
from moto.sqs.models import sqs_backends
from emulator.gateway.fallback_state import FallbackState
state = FallbackState(Path(sys.argv[1]))
state.start()
backend = sqs_backends["000000000000"]["us-east-1"]
if sys.argv[3] == "write":
    backend.create_queue("q")
    for i in range(3):
        backend.send_message("q", f"m{i}")
    state._snapshot("sqs")
    # What no moto call does: a change in place, no attribute set. Only the audit can see it.
    backend.queues["q"]._messages[1].message_attributes["added"] = {"DataType": "String", "StringValue": "in place"}
    backend.send_message("q", "m3")  # another change of the package: a snapshot, the message not marked
    state._snapshot("sqs")
    if sys.argv[2] not in ("off", "always"):  # seconds: the snapshot thread audits once idle that long
        deadline = time.monotonic() + 30
        while not state.audit_found and time.monotonic() < deadline:
            time.sleep(0.05)
    print("found", state.audit_found)  # with the audit: found, and the package queued to write
else:
    print("attributes", [m.message_attributes for m in backend.queues["q"]._messages])
state.stop()
"""


@pytest.mark.parametrize("audit", ["off", "always", "0.3"])
def test_the_audit_finds_a_change_not_marked(tmp_path: Path, audit: str) -> None:
    """A leaf changed in place (no attribute set, so not marked) is not written by the
    snapshots: lost at the next start. The audit finds it, says so, and writes it."""
    directory = tmp_path / "fallback"

    def run(*args: str) -> str:
        return subprocess.run([sys.executable, "-c", textwrap.dedent(_UNTRACKED), str(directory), audit, *args],
                              check=True, timeout=120, capture_output=True, text=True).stdout

    written = run("write")
    loaded = run("read")
    if audit == "off":
        assert "found 0" in written and "in place" not in loaded  # what the audit is for
    else:
        assert "found 1" in written and "1 leaves of sqs changed without being marked (Message message_attributes)" in written
        assert "in place" in loaded


def test_reset_deletes_the_databases(tmp_path: Path) -> None:
    data_dir = tmp_path / "d"
    with _server(data_dir) as server:
        sqs, s3 = server.client("sqs"), server.client("s3")
        url = sqs.create_queue(QueueName="reset-me")["QueueUrl"]
        sqs.send_message(QueueUrl=url, MessageBody="x")
        s3.create_bucket(Bucket="reset-me")
        s3.put_object(Bucket="reset-me", Key="k", Body=b"v")
        server.reset(services=["sqs"])
        names = {p.name for p in (data_dir / "fallback").iterdir()}
        assert "s3.db" in names and not [n for n in names if n.startswith("sqs.db")], names
        # Written anew after the reset: only the new state.
        url = sqs.create_queue(QueueName="after-reset")["QueueUrl"]
        sqs.send_message(QueueUrl=url, MessageBody=base64.b64encode(b"after").decode())
        server.kill()
        server.start()
        sqs = server.client("sqs")
        assert sqs.list_queues()["QueueUrls"] == [url]
        assert [m["Body"] for m in _drain(sqs, url).values()] == [base64.b64encode(b"after").decode()]
        _assert_audited(server)
