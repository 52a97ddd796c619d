"""S3 through the wire as SDKs send it, against a real server: request bodies that arrive
with ``Transfer-Encoding: chunked`` (no Content-Length), as the JS SDK v3 sends a PutObject
of a stream (``aws-chunked`` with a trailing checksum) and as ``curl -T -`` sends to a
presigned URL, are stored whole, not as empty objects; and an object uploaded with
``Content-Encoding: gzip`` is stored as sent, its bytes and its ContentEncoding (the gateway
decodes gzip request bodies for the other services)."""

from __future__ import annotations

import base64
import gzip
import hashlib
import hmac
import http.client
import zlib
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

from emulator.testing.server import EmulatorServer

BUCKET = "wire"
DATA = bytes(range(256)) * 400  # 102,400 bytes


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    with EmulatorServer(extra_args=["--services", "dynamodb"]) as srv:
        srv.client("s3").create_bucket(Bucket=BUCKET)
        yield srv


def _send_chunked(server: EmulatorServer, path_and_query: str, headers: dict[str, str], pieces: list[bytes]) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        conn.putrequest("PUT", path_and_query, skip_host=True, skip_accept_encoding=True)
        for name, value in headers.items():
            conn.putheader(name, value)
        conn.putheader("Transfer-Encoding", "chunked")
        conn.endheaders()
        for piece in pieces:
            conn.send(b"%x\r\n%s\r\n" % (len(piece), piece))
        conn.send(b"0\r\n\r\n")
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


class _TrailerAuth(SigV4Auth):
    def payload(self, request: AWSRequest) -> str:
        return str(request.headers["X-Amz-Content-SHA256"])


def test_aws_chunked_stream_with_trailer_is_stored_whole(server: EmulatorServer) -> None:
    crc = base64.b64encode(zlib.crc32(DATA).to_bytes(4, "big")).decode()
    # The aws-chunked body as the JS SDK writes it: chunks, then the checksum trailer.
    body = b"%x\r\n%s\r\n" % (len(DATA), DATA) + b"0\r\n" + f"x-amz-checksum-crc32:{crc}\r\n\r\n".encode()
    host = f"127.0.0.1:{server.port}"
    request = AWSRequest("PUT", f"http://{host}/{BUCKET}/streamed", headers={
        "Host": host,
        "Content-Encoding": "aws-chunked",
        "X-Amz-Content-SHA256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
        "X-Amz-Decoded-Content-Length": str(len(DATA)),
        "X-Amz-Trailer": "x-amz-checksum-crc32",
        "X-Amz-Sdk-Checksum-Algorithm": "CRC32",
    })
    _TrailerAuth(Credentials(server.access_key, server.secret_key), "s3", server.region).add_auth(request)
    status, answer = _send_chunked(server, f"/{BUCKET}/streamed", dict(request.headers.items()), [body[:40000], body[40000:]])
    assert status == 200, answer
    got = server.client("s3").get_object(Bucket=BUCKET, Key="streamed", ChecksumMode="ENABLED")
    assert got["Body"].read() == DATA
    assert got["ChecksumCRC32"] == crc


def test_chunked_put_to_presigned_url_is_stored_whole(server: EmulatorServer) -> None:
    s3 = server.client("s3", config=Config(signature_version="s3v4"))
    url = urlsplit(s3.generate_presigned_url("put_object", Params={"Bucket": BUCKET, "Key": "piped"}, ExpiresIn=60))
    status, answer = _send_chunked(server, f"{url.path}?{url.query}", {"Host": url.netloc}, [DATA[:1000], DATA[1000:]])
    assert status == 200, answer
    assert s3.get_object(Bucket=BUCKET, Key="piped")["Body"].read() == DATA


def test_gzip_content_encoding_is_the_objects_own(server: EmulatorServer) -> None:
    s3 = server.client("s3")
    packed = gzip.compress(b"served pre-compressed " * 50)
    s3.put_object(Bucket=BUCKET, Key="site/app.js", Body=packed, ContentEncoding="gzip", ContentType="text/javascript")
    head = s3.head_object(Bucket=BUCKET, Key="site/app.js")
    assert (head["ContentLength"], head.get("ContentEncoding")) == (len(packed), "gzip")
    got = s3.get_object(Bucket=BUCKET, Key="site/app.js")
    assert got["Body"].read() == packed


def test_content_encoding_gzip_that_is_not_gzip_is_stored_too(server: EmulatorServer) -> None:
    """AWS stores whatever bytes come with Content-Encoding: gzip; the gateway decodes request
    bodies only for the other services, so such an upload is neither refused nor altered."""
    s3 = server.client("s3")
    s3.put_object(Bucket=BUCKET, Key="not-really.gz", Body=b"plain bytes", ContentEncoding="gzip")
    got = s3.get_object(Bucket=BUCKET, Key="not-really.gz")
    assert (got["Body"].read(), got.get("ContentEncoding")) == (b"plain bytes", "gzip")


def test_signed_chunks_with_trailer_are_accepted(server: EmulatorServer) -> None:
    """STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER (the AWS SDK for Java v2 over plain HTTP:
    signed chunks, then a checksum trailer) is a streaming payload like the others, not a
    payload hash to compare with the body's."""
    declared = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
    crc = base64.b64encode(zlib.crc32(DATA).to_bytes(4, "big")).decode()
    host = f"127.0.0.1:{server.port}"
    request = AWSRequest("PUT", f"http://{host}/{BUCKET}/signed-chunks", headers={
        "Host": host,
        "Content-Encoding": "aws-chunked",
        "X-Amz-Content-SHA256": declared,
        "X-Amz-Decoded-Content-Length": str(len(DATA)),
        "X-Amz-Trailer": "x-amz-checksum-crc32",
        "X-Amz-Sdk-Checksum-Algorithm": "CRC32",
    })
    auth = _TrailerAuth(Credentials(server.access_key, server.secret_key), "s3", server.region)
    auth.add_auth(request)
    # The chunk signatures, by hand: each chains on the previous one, from the seed's.
    seed = str(request.headers["Authorization"]).rsplit("Signature=", 1)[1]
    timestamp = str(request.context["timestamp"])
    scope = f"{timestamp[:8]}/{server.region}/s3/aws4_request"
    signing_key = b"AWS4" + server.secret_key.encode()
    for part in (timestamp[:8], server.region, "s3", "aws4_request"):
        signing_key = hmac.new(signing_key, part.encode(), hashlib.sha256).digest()
    body, previous = b"", seed
    for chunk in (DATA[:65536], DATA[65536:], b""):
        to_sign = "\n".join(["AWS4-HMAC-SHA256-PAYLOAD", timestamp, scope, previous, hashlib.sha256(b"").hexdigest(), hashlib.sha256(chunk).hexdigest()])
        previous = hmac.new(signing_key, to_sign.encode(), hashlib.sha256).hexdigest()
        body += b"%x;chunk-signature=%s\r\n%s" % (len(chunk), previous.encode(), chunk) + (b"\r\n" if chunk else b"")
    trailer = f"x-amz-checksum-crc32:{crc}\n"
    to_sign = "\n".join(["AWS4-HMAC-SHA256-TRAILER", timestamp, scope, previous, hashlib.sha256(trailer.encode()).hexdigest()])
    body += f"x-amz-checksum-crc32:{crc}\r\nx-amz-trailer-signature:{hmac.new(signing_key, to_sign.encode(), hashlib.sha256).hexdigest()}\r\n\r\n".encode()
    status, answer = _send_chunked(server, f"/{BUCKET}/signed-chunks", dict(request.headers.items()), [body])
    assert status == 200, answer
    got = server.client("s3").get_object(Bucket=BUCKET, Key="signed-chunks", ChecksumMode="ENABLED")
    assert got["Body"].read() == DATA
    assert got["ChecksumCRC32"] == crc
