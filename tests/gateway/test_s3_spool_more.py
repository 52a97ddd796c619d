"""S3 uploads past the gateway's body limit (emulator/app.py ``_spoolable``/``_spool``,
emulator/gateway/s3_stream.py ``spoolable``) in the two cases that kept the limit before:

* anonymous uploads: an unsigned PUT to a bucket whose policy lets everyone write is spooled,
  then authorized as the anonymous principal, as a small one is; refused (AccessDenied) when
  the bucket does not allow it, leaving nothing behind;
* a cluster gateway (``--role gateway``): it serves S3 itself (moto, in process), so S3
  uploads are spooled there too, while a forwarded service's request (DynamoDB) and a request
  that a forwarded route or another service takes keep the limit (413).

The limit is made small (EMULATOR_MAX_BODY_BYTES = 1 MiB) so that a few MiB cross it."""

from __future__ import annotations

import hashlib
import http.client
import json
import random
import secrets
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError
from spool_files import no_spool_left

from emulator.testing.server import EmulatorServer, free_port

MiB = 1 << 20
LIMIT = MiB
DATA = random.Random(11).randbytes(3 * MiB)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorServer]:
    with EmulatorServer(data_dir=tmp_path_factory.mktemp("spool-more"), env={"EMULATOR_MAX_BODY_BYTES": str(LIMIT)}) as srv:
        yield srv


def raw(server: EmulatorServer, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    """An HTTP request as given: no credentials unless ``headers`` carry them."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    try:
        conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        for name, value in {"Host": f"127.0.0.1:{server.port}", **(headers or {}), "Content-Length": str(len(body))}.items():
            conn.putheader(name, value)
        conn.endheaders()
        try:
            for offset in range(0, len(body), MiB):
                conn.send(body[offset : offset + MiB])
        except (BrokenPipeError, ConnectionResetError):
            pass  # answered (refused) before the whole body was sent
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def error_code(body: bytes) -> str | None:
    return ET.fromstring(body).findtext("Code")




def public_write(s3: Any, bucket: str) -> None:
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{bucket}/*"}]}))


# ------------------------------------------------------------------ anonymous uploads
def test_anonymous_put_over_the_limit_granted_by_policy(server: EmulatorServer, s3: Any, bucket: str) -> None:
    public_write(s3, bucket)
    status, headers, body = raw(server, "PUT", f"/{bucket}/public/big.bin", DATA)
    assert status == 200, body
    assert headers["etag"] == f'"{hashlib.md5(DATA).hexdigest()}"'
    got = s3.get_object(Bucket=bucket, Key="public/big.bin")
    assert got["ContentLength"] == len(DATA) and got["ETag"] == headers["etag"]
    assert got["Body"].read() == DATA
    assert no_spool_left(server)


def test_anonymous_put_over_the_limit_refused_leaves_nothing(server: EmulatorServer, s3: Any, bucket: str) -> None:
    status, _, body = raw(server, "PUT", f"/{bucket}/big.bin", DATA)
    assert (status, error_code(body)) == (403, "AccessDenied"), body
    with pytest.raises(ClientError) as caught:
        s3.head_object(Bucket=bucket, Key="big.bin")
    assert caught.value.response["Error"]["Code"] == "404"
    assert no_spool_left(server)
    # A policy that lets everyone write elsewhere only: still refused.
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{bucket}/uploads/*"}]}))
    status, _, body = raw(server, "PUT", f"/{bucket}/other/big.bin", DATA)
    assert (status, error_code(body)) == (403, "AccessDenied"), body
    assert s3.list_objects_v2(Bucket=bucket).get("KeyCount") == 0
    assert no_spool_left(server)


def test_anonymous_put_under_the_limit_as_before(server: EmulatorServer, s3: Any, bucket: str) -> None:
    small = DATA[: LIMIT // 2]
    status, _, body = raw(server, "PUT", f"/{bucket}/small.bin", small)
    assert (status, error_code(body)) == (403, "AccessDenied"), body
    public_write(s3, bucket)
    status, headers, body = raw(server, "PUT", f"/{bucket}/small.bin", small)
    assert status == 200, body
    assert headers["etag"] == f'"{hashlib.md5(small).hexdigest()}"'
    assert s3.get_object(Bucket=bucket, Key="small.bin")["Body"].read() == small


def test_anonymous_requests_that_are_no_upload_keep_the_limit(server: EmulatorServer, s3: Any, bucket: str) -> None:
    public_write(s3, bucket)
    # A sub-resource (PutObjectTagging), another service's target.
    for path, headers in ((f"/{bucket}/k?tagging", {}), (f"/{bucket}/k", {"X-Amz-Target": "DynamoDB_20120810.PutItem"})):
        status, _, body = raw(server, "PUT", path, DATA, headers)
        assert status == 413 and b"RequestEntityTooLarge" in body, (path, status, body)
    assert s3.list_objects_v2(Bucket=bucket).get("KeyCount") == 0


# ------------------------------------------------------------------ a cluster gateway
@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[EmulatorServer, EmulatorServer]]:
    """A cluster gateway with a small body limit, and the dynamodb role behind it."""
    secret = secrets.token_hex(16)
    gw_port, ddb_port = free_port(), free_port()
    fast = {"EMULATOR_HEARTBEAT_INTERVAL": "0.5", "EMULATOR_HEALTH_INTERVAL": "0.5", "EMULATOR_CLUSTER_SECRET": secret}
    gateway = EmulatorServer(
        data_dir=tmp_path_factory.mktemp("gateway"), port=gw_port, env={**fast, "EMULATOR_MAX_BODY_BYTES": str(LIMIT)},
        extra_args=["--role", "gateway", "--peer", f"dynamodb=http://127.0.0.1:{ddb_port}"],
    )
    dynamodb = EmulatorServer(port=ddb_port, env=fast, extra_args=["--role", "dynamodb", "--gateway-url", f"http://127.0.0.1:{gw_port}"])
    try:
        with ThreadPoolExecutor(2) as pool:
            list(pool.map(lambda s: s.start(timeout=90), (gateway, dynamodb)))
        yield gateway, dynamodb
    finally:
        gateway.cleanup()
        dynamodb.cleanup()


def test_cluster_gateway_spools_s3_uploads(cluster: tuple[EmulatorServer, EmulatorServer]) -> None:
    gateway = cluster[0]
    s3 = gateway.client("s3")
    s3.create_bucket(Bucket="spooled")
    put = s3.put_object(Bucket="spooled", Key="big.bin", Body=DATA)
    assert put["ETag"] == f'"{hashlib.md5(DATA).hexdigest()}"'
    got = s3.get_object(Bucket="spooled", Key="big.bin")
    assert got["ETag"] == put["ETag"] and got["Body"].read() == DATA

    # A multipart upload whose parts (5 MiB and more) are each past the limit.
    parts = [random.Random(n).randbytes(5 * MiB + 17 * n) for n in (1, 2)]
    upload = s3.create_multipart_upload(Bucket="spooled", Key="multi.bin")["UploadId"]
    etags = [s3.upload_part(Bucket="spooled", Key="multi.bin", UploadId=upload, PartNumber=n, Body=part)["ETag"] for n, part in enumerate(parts, 1)]
    assert etags == [f'"{hashlib.md5(part).hexdigest()}"' for part in parts]
    s3.complete_multipart_upload(Bucket="spooled", Key="multi.bin", UploadId=upload,
                                 MultipartUpload={"Parts": [{"PartNumber": n, "ETag": e} for n, e in enumerate(etags, 1)]})
    assert s3.get_object(Bucket="spooled", Key="multi.bin")["Body"].read() == b"".join(parts)

    # Anonymous, to a bucket that lets everyone write.
    public_write(s3, "spooled")
    status, headers, body = raw(gateway, "PUT", "/spooled/anonymous.bin", DATA)
    assert status == 200, body
    assert headers["etag"] == f'"{hashlib.md5(DATA).hexdigest()}"'
    assert s3.get_object(Bucket="spooled", Key="anonymous.bin")["Body"].read() == DATA

    # A browser-based (POST policy) upload: its file parsed as it comes (post_stream.py).
    post = s3.generate_presigned_post("spooled", "posted.bin", ExpiresIn=300)
    answer = requests.post(post["url"], files=[*((name, (None, value)) for name, value in post["fields"].items()), ("file", ("f.bin", DATA))], timeout=60)
    assert answer.status_code == 204, answer.text
    assert s3.get_object(Bucket="spooled", Key="posted.bin")["Body"].read() == DATA
    assert no_spool_left(gateway)


def test_cluster_gateway_forwarded_requests_keep_the_limit(cluster: tuple[EmulatorServer, EmulatorServer]) -> None:
    gateway = cluster[0]
    ddb = gateway.client("dynamodb")
    ddb.create_table(TableName="limited", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
    ddb.put_item(TableName="limited", Item={"pk": {"S": "small"}})  # forwarded to the role, under the limit
    with pytest.raises(ClientError) as caught:
        ddb.put_item(TableName="limited", Item={"pk": {"S": "big"}, "blob": {"S": "x" * (2 * LIMIT)}})
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 413
    assert "Item" not in ddb.get_item(TableName="limited", Key={"pk": {"S": "big"}})
    assert ddb.get_item(TableName="limited", Key={"pk": {"S": "small"}})["Item"] == {"pk": {"S": "small"}}

    # Signed for S3, but taken by another service (X-Amz-Target: DynamoDB's, forwarded) or by
    # a forwarded route (the OpenAI API's /v1/models of the compute role): never spooled.
    for path, extra in (("/spooled/k", {"X-Amz-Target": "DynamoDB_20120810.PutItem"}), ("/v1/models/k", {})):
        host = f"127.0.0.1:{gateway.port}"
        request = AWSRequest("PUT", f"http://{host}{path}", headers={"Host": host, "X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD", **extra})
        SigV4Auth(Credentials(gateway.access_key, gateway.secret_key), "s3", gateway.region).add_auth(request)
        status, _, body = raw(gateway, "PUT", path, DATA, dict(request.headers.items()))
        assert status == 413 and b"RequestEntityTooLarge" in body, (path, status, body)
    assert no_spool_left(gateway)
