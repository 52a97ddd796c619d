"""``EmulatorApp.invoke`` for services moto serves (S3, SQS): the in-process caller (the console)
gets what boto3 gets on the wire, through the same checks (authorization included).

The server runs in this process (uvicorn in a thread), so that the test can both call it over
the wire with boto3 and call ``runtime.app.invoke`` on its event loop.
"""

from __future__ import annotations

import asyncio
import json
import socket
import tempfile
import threading
import time
import uuid
from collections.abc import AsyncIterator, Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import boto3
import pytest
import uvicorn
from botocore.config import Config
from botocore.exceptions import ClientError

from emulator.app import create_app
from emulator.context import Principal
from emulator.errors import AwsError
from emulator.runtime import Runtime
from emulator.settings import Settings

ACCESS_KEY = "AKIAINVOKEFALLBACK01"
SECRET_KEY = "invoke-fallback-secret-key-0000000000000"
ACCOUNT = "000000000000"
T = TypeVar("T")


class InProcessServer:
    def __init__(self, data_dir: Path) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = int(s.getsockname()[1])
        settings = Settings(port=self.port, data_dir=data_dir, services=["iam"], root_access_key_id=ACCESS_KEY, root_secret_access_key=SECRET_KEY,
                            access_log=False, telemetry=False)
        self.runtime = Runtime(settings)
        self.app = create_app(self.runtime)
        self.server = uvicorn.Server(uvicorn.Config(self.app, host="127.0.0.1", port=self.port, lifespan="on", log_level="warning", access_log=False))
        self.loop: asyncio.AbstractEventLoop | None = None
        self.thread = threading.Thread(target=lambda: asyncio.run(self._serve()), daemon=True)

    async def _serve(self) -> None:
        self.loop = asyncio.get_running_loop()
        await self.server.serve()

    def start(self) -> InProcessServer:
        self.thread.start()
        deadline = time.time() + 60
        while not self.server.started:
            if time.time() > deadline or not self.thread.is_alive():
                raise RuntimeError("in-process emulator did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(20)

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the server's event loop (where the app's own calls run)."""
        assert self.loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(60)

    def invoke(self, service: str, operation: str, params: dict[str, Any], principal: Principal | None = None, region: str | None = None) -> dict[str, Any]:
        return self.run(self.app.invoke(service, operation, params, principal, region=region))

    def client(self, service: str, key: str = ACCESS_KEY, secret: str = SECRET_KEY) -> Any:
        return boto3.client(service, endpoint_url=f"http://127.0.0.1:{self.port}", region_name="us-east-1", aws_access_key_id=key,
                            aws_secret_access_key=secret, config=Config(retries={"max_attempts": 1}))


@pytest.fixture(scope="module")
def srv() -> Iterator[InProcessServer]:
    with tempfile.TemporaryDirectory(prefix="emulator-invoke-") as tmp:
        server = InProcessServer(Path(tmp)).start()
        try:
            yield server
        finally:
            server.stop()


async def _read(body: AsyncIterator[bytes]) -> bytes:
    return b"".join([chunk async for chunk in body])


def _user(srv: InProcessServer, name: str, *statements: dict[str, Any]) -> Principal:
    iam = srv.client("iam")
    user = iam.create_user(UserName=name)["User"]
    if statements:
        iam.put_user_policy(UserName=name, PolicyName="inline", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": list(statements)}))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return Principal(key["AccessKeyId"], name, user["Arn"], ACCOUNT)


def test_s3_in_process_matches_the_wire(srv: InProcessServer) -> None:
    s3 = srv.client("s3")
    bucket = f"inv-{uuid.uuid4().hex[:10]}"
    assert srv.invoke("s3", "CreateBucket", {"Bucket": bucket})["Location"] == f"/{bucket}"
    wire = {b["Name"]: b for b in s3.list_buckets()["Buckets"]}
    mine = {b["Name"]: b for b in srv.invoke("s3", "ListBuckets", {})["Buckets"]}
    assert mine[bucket]["CreationDate"] == wire[bucket]["CreationDate"]
    assert set(mine) == set(wire)

    data = bytes(range(256)) * 40 + "é ü\r\n".encode()
    put = srv.invoke("s3", "PutObject", {"Bucket": bucket, "Key": "dir/a b+é.bin", "Body": data, "ContentType": "application/x-test",
                                         "Metadata": {"Owner": "me"}, "Tagging": "k=v"})
    got = s3.get_object(Bucket=bucket, Key="dir/a b+é.bin")
    assert got["Body"].read() == data and got["ETag"] == put["ETag"]
    assert got["ContentType"] == "application/x-test" and got["Metadata"] == {"owner": "me"}

    s3.put_object(Bucket=bucket, Key="dir/wire.txt", Body=b"from the wire")
    out = srv.invoke("s3", "GetObject", {"Bucket": bucket, "Key": "dir/wire.txt"})
    assert srv.run(_read(out["Body"])) == b"from the wire"
    assert out["ContentLength"] == 13 and out["ETag"] == s3.head_object(Bucket=bucket, Key="dir/wire.txt")["ETag"]

    listing = srv.invoke("s3", "ListObjectsV2", {"Bucket": bucket, "Prefix": "dir/", "Delimiter": "/"})
    assert [o["Key"] for o in listing["Contents"]] == [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="dir/", Delimiter="/")["Contents"]]
    assert srv.invoke("s3", "GetObjectTagging", {"Bucket": bucket, "Key": "dir/a b+é.bin"})["TagSet"] == [{"Key": "k", "Value": "v"}]

    # botocore's after-call handlers run as for a client (GetBucketLocation's body is one of them).
    assert srv.invoke("s3", "GetBucketLocation", {"Bucket": bucket}).get("LocationConstraint") is None
    eu = f"inv-eu-{uuid.uuid4().hex[:8]}"
    srv.invoke("s3", "CreateBucket", {"Bucket": eu, "CreateBucketConfiguration": {"LocationConstraint": "eu-west-1"}}, region="eu-west-1")
    assert srv.invoke("s3", "GetBucketLocation", {"Bucket": eu})["LocationConstraint"] == s3.get_bucket_location(Bucket=eu)["LocationConstraint"] == "eu-west-1"

    # A larger object comes back streamed, in several chunks.
    big = b"0123456789abcdef" * (1 << 18)  # 4 MiB
    s3.put_object(Bucket=bucket, Key="big", Body=big)
    out = srv.invoke("s3", "GetObject", {"Bucket": bucket, "Key": "big"})
    assert srv.run(_read(out["Body"])) == big


def test_s3_errors_raise_as_the_wire_answers(srv: InProcessServer) -> None:
    s3 = srv.client("s3")
    bucket = f"inv-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    with pytest.raises(ClientError) as wire:
        s3.delete_bucket(Bucket=bucket)
    with pytest.raises(AwsError) as mine:
        srv.invoke("s3", "DeleteBucket", {"Bucket": bucket})
    assert mine.value.code == wire.value.response["Error"]["Code"] == "BucketNotEmpty"
    assert mine.value.status == 409 and mine.value.message == wire.value.response["Error"]["Message"]
    with pytest.raises(AwsError) as missing:
        srv.invoke("s3", "GetObject", {"Bucket": bucket, "Key": "nope"})
    assert (missing.value.code, missing.value.status) == ("NoSuchKey", 404)
    with pytest.raises(AwsError) as head:  # HEAD: no body, botocore names the error by its status
        srv.invoke("s3", "HeadObject", {"Bucket": bucket, "Key": "nope"})
    assert (head.value.code, head.value.status) == ("404", 404)
    with pytest.raises(AwsError) as bad:  # what the SDK refuses before sending
        srv.invoke("s3", "GetObject", {"Bucket": bucket})
    assert bad.value.code == "ValidationException" and "Key" in bad.value.message


def test_sqs_in_process_matches_the_wire(srv: InProcessServer) -> None:
    sqs = srv.client("sqs")
    name = f"inv-{uuid.uuid4().hex[:10]}"
    url = srv.invoke("sqs", "CreateQueue", {"QueueName": name, "Attributes": {"DelaySeconds": "0"}})["QueueUrl"]
    assert url == sqs.get_queue_url(QueueName=name)["QueueUrl"]
    sent = srv.invoke("sqs", "SendMessage", {"QueueUrl": url, "MessageBody": "hello <world>",
                                             "MessageAttributes": {"kind": {"DataType": "String", "StringValue": "greeting"}}})
    sqs.send_message(QueueUrl=url, MessageBody="from the wire")
    attrs = srv.invoke("sqs", "GetQueueAttributes", {"QueueUrl": url, "AttributeNames": ["All"]})["Attributes"]
    assert attrs == sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attrs["ApproximateNumberOfMessages"] == "2"
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"])["Messages"]
    mine = next(m for m in messages if m["MessageId"] == sent["MessageId"])
    assert mine["Body"] == "hello <world>" and mine["MessageAttributes"]["kind"]["StringValue"] == "greeting"
    with pytest.raises(AwsError) as missing:
        srv.invoke("sqs", "GetQueueAttributes", {"QueueUrl": url + "-gone", "AttributeNames": ["All"]})
    with pytest.raises(ClientError) as wire:
        sqs.get_queue_attributes(QueueUrl=url + "-gone", AttributeNames=["All"])
    assert missing.value.code == wire.value.response["Error"]["Code"]
    assert missing.value.status == wire.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_a_principal_without_permissions_is_denied(srv: InProcessServer) -> None:
    s3 = srv.client("s3")
    bucket = f"inv-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="secret", Body=b"s")
    nobody = _user(srv, f"inv-nobody-{uuid.uuid4().hex[:6]}")
    reader = _user(srv, f"inv-reader-{uuid.uuid4().hex[:6]}", {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/*"})
    for call in (("s3", "ListBuckets", {}), ("s3", "GetObject", {"Bucket": bucket, "Key": "secret"}),
                 ("s3", "PutObject", {"Bucket": bucket, "Key": "x", "Body": b"x"}), ("sqs", "ListQueues", {})):
        with pytest.raises(AwsError) as denied:
            srv.invoke(*call, principal=nobody)
        assert denied.value.code in ("AccessDenied", "AccessDeniedException") and denied.value.status == 403, call
    out = srv.invoke("s3", "GetObject", {"Bucket": bucket, "Key": "secret"}, principal=reader)
    assert srv.run(_read(out["Body"])) == b"s"
    with pytest.raises(AwsError) as denied:
        srv.invoke("s3", "DeleteObject", {"Bucket": bucket, "Key": "secret"}, principal=reader)
    assert denied.value.code == "AccessDenied"
    assert s3.get_object(Bucket=bucket, Key="secret")["Body"].read() == b"s"  # nothing changed
