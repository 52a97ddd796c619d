"""Answers served by moto carry the emulator's request id (the one in x-amzn-RequestId and in
the access log), where each SDK reads it: the query and EC2 protocols' body, S3's
x-amz-request-id header. moto makes up ids of its own, which matched nothing on the server."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from emulator.testing.server import EmulatorServer


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    with EmulatorServer(extra_args=["--services", "dynamodb"]) as srv:
        yield srv


def _ids(response: dict[str, Any]) -> tuple[str, str]:
    meta = response["ResponseMetadata"]
    return meta["RequestId"], meta["HTTPHeaders"]["x-amzn-requestid"]


def _logged(server: EmulatorServer, request_id: str) -> bool:
    path = server.data_dir / "access.log"
    for _ in range(100):
        if path.exists() and any(json.loads(line)["request_id"] == request_id for line in path.read_text().splitlines() if line):
            return True
        time.sleep(0.05)
    return False


def test_query_protocol_body_request_id_is_the_emulators(server: EmulatorServer) -> None:
    sqs = server.client("sqs")
    body_id, header_id = _ids(sqs.create_queue(QueueName="rid-q"))
    assert body_id == header_id
    assert _logged(server, body_id)
    iam = server.client("iam")
    body_id, header_id = _ids(iam.list_users())
    assert body_id == header_id


def test_query_protocol_error_request_id(server: EmulatorServer) -> None:
    iam = server.client("iam")
    with pytest.raises(ClientError) as err:
        iam.get_role(RoleName="missing-role")
    assert err.value.response["Error"]["Code"] == "NoSuchEntity"
    assert _ids(err.value.response)[0] == _ids(err.value.response)[1]


def test_ec2_body_request_id(server: EmulatorServer) -> None:
    ec2 = server.client("ec2")
    body_id, header_id = _ids(ec2.describe_vpcs())
    assert body_id == header_id


def test_s3_request_id_header(server: EmulatorServer) -> None:
    s3 = server.client("s3")
    s3.create_bucket(Bucket="rid-bucket")
    out = s3.put_object(Bucket="rid-bucket", Key="k", Body=b"x", ContentType="text/html")
    meta = out["ResponseMetadata"]
    assert meta["RequestId"] == meta["HTTPHeaders"]["x-amzn-requestid"] == meta["HTTPHeaders"]["x-amz-request-id"]
    # S3's extended request id (the SDKs' HostId), and none of moto's own headers: its "status",
    # werkzeug's text/html on a PutObject without a body, the upload's x-amz-content-sha256.
    assert len(meta["HTTPHeaders"]["x-amz-id-2"]) == 64
    assert "status" not in meta["HTTPHeaders"] and "content-type" not in meta["HTTPHeaders"]
    got = s3.get_object(Bucket="rid-bucket", Key="k")
    assert got["ContentType"] == "text/html" and "x-amz-content-sha256" not in got["ResponseMetadata"]["HTTPHeaders"]
    listed = s3.list_buckets()["ResponseMetadata"]["HTTPHeaders"]
    assert "status" not in listed and listed["x-amz-id-2"]
    with pytest.raises(ClientError) as err:
        s3.get_object(Bucket="rid-bucket", Key="missing")
    meta = err.value.response["ResponseMetadata"]
    assert meta["RequestId"] == meta["HTTPHeaders"]["x-amzn-requestid"]
