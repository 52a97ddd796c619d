"""S3 objects larger than the gateway's 64 MiB body limit (emulator/gateway/s3_stream.py):
single PUTs spooled to a file as they come (Content-MD5, checksums, SigV4 payload hashes and
aws-chunked checked on the way), GetObject streamed from the object's file, and the server's
memory staying well under the object's size both ways. Through the wire with boto3."""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import io
import random
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Self

import psutil
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError
from spool_files import no_spool_left

from emulator.testing.server import EmulatorServer, TlsEmulatorServer

MiB = 1 << 20
SIZE = 200 * MiB
BUCKET = "large-objects"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


@pytest.fixture(scope="module")
def data() -> bytes:
    return random.Random(7).randbytes(SIZE)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorServer]:
    with EmulatorServer(data_dir=tmp_path_factory.mktemp("large")) as srv:
        srv.client("s3").create_bucket(Bucket=BUCKET)
        yield srv


class PeakRss:
    """The server process's resident memory, sampled every 10 ms: its growth over the
    baseline taken at the start."""

    def __init__(self, server: EmulatorServer) -> None:
        assert server.proc is not None
        self.process = psutil.Process(server.proc.pid)
        self.base = self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.process.memory_info().rss)
            time.sleep(0.01)

    def __enter__(self) -> Self:
        self.base = self.peak = self.process.memory_info().rss
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def growth(self) -> int:
        return self.peak - self.base


def md5_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode()


def streamed_sha256(body: Any) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    for chunk in body.iter_chunks(MiB):
        digest.update(chunk)
        size += len(chunk)
    return digest.hexdigest(), size






def test_put_200mib_with_content_md5_and_get_streamed(server: EmulatorServer, data: bytes) -> None:
    s3 = server.client("s3")
    # boto3 over HTTP signs the payload's SHA-256 and adds a CRC32 header: all three checked.
    with PeakRss(server) as upload:
        put = s3.put_object(Bucket=BUCKET, Key="big-md5", Body=data, ContentMD5=md5_b64(data))
    assert put["ETag"] == f'"{hashlib.md5(data).hexdigest()}"'
    with PeakRss(server) as download:
        got = s3.get_object(Bucket=BUCKET, Key="big-md5")
        assert got["ContentLength"] == SIZE
        assert streamed_sha256(got["Body"]) == (hashlib.sha256(data).hexdigest(), SIZE)
    assert got["ETag"] == put["ETag"]
    assert upload.growth < 100 * MiB, f"upload grew the server by {upload.growth / MiB:.0f} MiB"
    assert download.growth < 100 * MiB, f"download grew the server by {download.growth / MiB:.0f} MiB"
    assert no_spool_left(server)


def test_put_with_crc32_checksum_returned(server: EmulatorServer, data: bytes) -> None:
    s3 = server.client("s3")
    crc = base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()
    s3.put_object(Bucket=BUCKET, Key="big-crc", Body=data, ChecksumCRC32=crc)
    head = s3.head_object(Bucket=BUCKET, Key="big-crc", ChecksumMode="ENABLED")
    assert head["ContentLength"] == SIZE and head["ChecksumCRC32"] == crc
    got = s3.get_object(Bucket=BUCKET, Key="big-crc", ChecksumMode="ENABLED")
    assert got["ChecksumCRC32"] == crc  # boto3 validates the streamed body against it
    assert streamed_sha256(got["Body"])[0] == hashlib.sha256(data).hexdigest()


def test_ranged_gets(server: EmulatorServer, data: bytes) -> None:
    s3 = server.client("s3")
    s3.put_object(Bucket=BUCKET, Key="big-range", Body=data)
    for spec, start, stop in (
        ("bytes=0-99", 0, 100),
        ("bytes=1000-3000999", 1000, 3001000),
        ("bytes=-5000000", SIZE - 5000000, SIZE),
        (f"bytes={SIZE - 10}-", SIZE - 10, SIZE),
        (f"bytes={150 * MiB}-{SIZE + 999}", 150 * MiB, SIZE),
    ):
        got = s3.get_object(Bucket=BUCKET, Key="big-range", Range=spec)
        assert got["ContentRange"] == f"bytes {start}-{stop - 1}/{SIZE}", spec
        assert got["ContentLength"] == stop - start
        assert got["Body"].read() == data[start:stop], spec
    with pytest.raises(ClientError) as err:
        s3.get_object(Bucket=BUCKET, Key="big-range", Range=f"bytes={SIZE}-")
    assert err.value.response["Error"]["Code"] == "InvalidRange"


def test_conditional_and_versioned_gets(server: EmulatorServer, data: bytes) -> None:
    s3 = server.client("s3")
    bucket = "large-versions"
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    first = s3.put_object(Bucket=bucket, Key="k", Body=data)
    s3.put_object(Bucket=bucket, Key="k", Body=b"small")
    old = s3.get_object(Bucket=bucket, Key="k", VersionId=first["VersionId"], IfMatch=first["ETag"])
    assert streamed_sha256(old["Body"]) == (hashlib.sha256(data).hexdigest(), SIZE)
    with pytest.raises(ClientError) as err:
        s3.get_object(Bucket=bucket, Key="k", VersionId=first["VersionId"], IfNoneMatch=first["ETag"])
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 304
    with pytest.raises(ClientError) as err:
        s3.get_object(Bucket=bucket, Key="k", VersionId=first["VersionId"], IfMatch='"0000"')
    assert err.value.response["Error"]["Code"] == "PreconditionFailed"
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"small"


def test_download_while_overwritten_and_deleted(server: EmulatorServer, data: bytes) -> None:
    s3 = server.client("s3")
    s3.put_object(Bucket=BUCKET, Key="big-race", Body=data)
    got = s3.get_object(Bucket=BUCKET, Key="big-race")
    chunks = got["Body"].iter_chunks(MiB)
    digest = hashlib.sha256(next(chunks))
    other = bytes(reversed(data[: 80 * MiB]))
    s3.put_object(Bucket=BUCKET, Key="big-race", Body=other)  # overwritten mid-download
    second = s3.get_object(Bucket=BUCKET, Key="big-race")
    s3.delete_object(Bucket=BUCKET, Key="big-race")  # and deleted: its file is closed
    for chunk in chunks:
        digest.update(chunk)
    assert digest.hexdigest() == hashlib.sha256(data).hexdigest()  # the old bytes only
    assert streamed_sha256(second["Body"]) == (hashlib.sha256(other).hexdigest(), len(other))


def test_refused_uploads_leave_nothing(server: EmulatorServer, data: bytes) -> None:
    s3 = server.client("s3")
    body = data[: 100 * MiB]
    with pytest.raises(ClientError) as err:
        s3.put_object(Bucket=BUCKET, Key="refused", Body=body, ContentMD5=md5_b64(body[1:] + b"x"))
    assert err.value.response["Error"]["Code"] == "BadDigest"
    bad_crc = base64.b64encode((zlib.crc32(body) ^ 1).to_bytes(4, "big")).decode()
    with pytest.raises(ClientError) as err:
        s3.put_object(Bucket=BUCKET, Key="refused", Body=body, ChecksumCRC32=bad_crc)
    assert err.value.response["Error"]["Code"] == "BadDigest"
    with pytest.raises(ClientError) as err:
        server.client("s3", aws_secret_access_key="wrong" * 8).put_object(Bucket=BUCKET, Key="refused", Body=body)
    assert err.value.response["Error"]["Code"] == "SignatureDoesNotMatch"
    with pytest.raises(ClientError) as err:
        s3.head_object(Bucket=BUCKET, Key="refused")
    assert err.value.response["Error"]["Code"] == "404"
    assert no_spool_left(server)


def _sign(server: EmulatorServer, path: str, headers: dict[str, str], payload: str) -> tuple[dict[str, str], str, str, str, bytes]:
    class Auth(SigV4Auth):
        def payload(self, request: AWSRequest) -> str:
            return payload

    host = f"127.0.0.1:{server.port}"
    request = AWSRequest("PUT", f"http://{host}{path}", headers={"Host": host, "X-Amz-Content-SHA256": payload, **headers})
    Auth(Credentials(server.access_key, server.secret_key), "s3", server.region).add_auth(request)
    timestamp = str(request.context["timestamp"])
    signing_key = b"AWS4" + server.secret_key.encode()
    for part in (timestamp[:8], server.region, "s3", "aws4_request"):
        signing_key = hmac.new(signing_key, part.encode(), hashlib.sha256).digest()
    seed = str(request.headers["Authorization"]).rsplit("Signature=", 1)[1]
    return dict(request.headers.items()), seed, timestamp, f"{timestamp[:8]}/{server.region}/s3/aws4_request", signing_key


def _put_streamed(server: EmulatorServer, key: str, headers: dict[str, str], pieces: Callable[[], Iterator[bytes]], length: int) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120)
    try:
        conn.putrequest("PUT", f"/{BUCKET}/{key}", skip_host=True, skip_accept_encoding=True)
        for name, value in {**headers, "Content-Length": str(length)}.items():
            conn.putheader(name, value)
        conn.endheaders()
        try:
            for piece in pieces():
                conn.send(piece)
        except (BrokenPipeError, ConnectionResetError):
            pass  # answered (refused) before the whole body was sent
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def _signed_chunked(server: EmulatorServer, key: str, data: bytes, tamper: bool = False) -> tuple[int, bytes]:
    """A STREAMING-AWS4-HMAC-SHA256-PAYLOAD upload of ``data`` in 1 MiB signed chunks."""
    headers, seed, timestamp, scope, signing_key = _sign(
        server, f"/{BUCKET}/{key}", {"Content-Encoding": "aws-chunked", "X-Amz-Decoded-Content-Length": str(len(data))}, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
    )
    offsets = [*range(0, len(data), MiB), len(data)]
    sig_len = len(";chunk-signature=") + 64 + 4
    length = sum(len(f"{min(MiB, len(data) - o):x}") + sig_len + min(MiB, len(data) - o) for o in offsets[:-1]) + len("0") + sig_len

    def pieces() -> Iterator[bytes]:
        previous = seed
        for offset in offsets:
            piece = data[offset : offset + MiB]
            to_sign = "\n".join(["AWS4-HMAC-SHA256-PAYLOAD", timestamp, scope, previous, EMPTY_SHA256, hashlib.sha256(piece).hexdigest()])
            previous = hmac.new(signing_key, to_sign.encode(), hashlib.sha256).hexdigest()
            if tamper and offset == 50 * MiB:
                piece = b"X" + piece[1:]
            yield b"%x;chunk-signature=%s\r\n" % (len(piece), previous.encode()) + piece + b"\r\n"

    return _put_streamed(server, key, headers, pieces, length)


def test_signed_aws_chunked_upload(server: EmulatorServer, data: bytes) -> None:
    s3 = server.client("s3")
    body = data[: 90 * MiB + 12345]
    with PeakRss(server) as upload:
        status, answer = _signed_chunked(server, "chunked", body)
    assert status == 200, answer
    got = s3.get_object(Bucket=BUCKET, Key="chunked")
    assert got.get("ContentEncoding") is None  # aws-chunked is the transfer's, not the object's
    assert streamed_sha256(got["Body"]) == (hashlib.sha256(body).hexdigest(), len(body))
    assert upload.growth < 100 * MiB

    status, answer = _signed_chunked(server, "chunked-bad", body, tamper=True)
    assert status == 403 and b"<Code>SignatureDoesNotMatch</Code>" in answer
    with pytest.raises(ClientError):
        s3.head_object(Bucket=BUCKET, Key="chunked-bad")
    assert no_spool_left(server)


def test_over_5_gib_is_entity_too_large(server: EmulatorServer) -> None:
    headers = _sign(server, f"/{BUCKET}/huge", {}, "UNSIGNED-PAYLOAD")[0]
    proposed = 5 * 1024**3 + 1
    status, answer = _put_streamed(server, "huge", headers, lambda: iter([b"\0" * MiB]), proposed)
    assert status == 400, answer
    assert b"<Code>EntityTooLarge</Code>" in answer
    assert b"Your proposed upload exceeds the maximum allowed size" in answer
    assert b"<MaxSizeAllowed>5368709120</MaxSizeAllowed>" in answer
    assert no_spool_left(server)


def test_other_requests_keep_the_64_mib_limit(server: EmulatorServer) -> None:
    sqs = server.client("sqs")
    headers = _sign(server, f"/{BUCKET}-new", {}, "UNSIGNED-PAYLOAD")[0]
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    try:  # a PUT naming a bucket only (CreateBucket) is no object upload
        conn.putrequest("PUT", f"/{BUCKET}-new", skip_host=True, skip_accept_encoding=True)
        for name, value in {**headers, "Content-Length": str(65 * MiB)}.items():
            conn.putheader(name, value)
        conn.endheaders()
        try:
            conn.send(b"\0" * 65 * MiB)
        except (BrokenPipeError, ConnectionResetError):
            pass
        answer = conn.getresponse()
        assert answer.status == 413 and b"RequestEntityTooLarge" in answer.read()
    finally:
        conn.close()
    assert sqs.list_queues()["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_upload_part_over_64_mib(server: EmulatorServer, data: bytes) -> None:
    s3 = server.client("s3")
    upload = s3.create_multipart_upload(Bucket=BUCKET, Key="multi")["UploadId"]
    first, second = data[: 70 * MiB], data[70 * MiB : 75 * MiB]
    etags = [
        s3.upload_part(Bucket=BUCKET, Key="multi", UploadId=upload, PartNumber=n, Body=part, ContentMD5=md5_b64(part))["ETag"]
        for n, part in ((1, first), (2, second))
    ]
    assert etags[0] == f'"{hashlib.md5(first).hexdigest()}"'
    s3.complete_multipart_upload(Bucket=BUCKET, Key="multi", UploadId=upload, MultipartUpload={"Parts": [{"PartNumber": n, "ETag": e} for n, e in ((1, etags[0]), (2, etags[1]))]})
    got = s3.get_object(Bucket=BUCKET, Key="multi", PartNumber=1)
    assert got["ContentLength"] == len(first) and got["Body"].read() == first


def test_boto3_streaming_upload_with_trailer_checksum_over_https(tmp_path: Path, data: bytes) -> None:
    """boto3 sends a file-like body over HTTPS as aws-chunked with a CRC32 trailer
    (STREAMING-UNSIGNED-PAYLOAD-TRAILER)."""
    server = TlsEmulatorServer(data_dir=tmp_path / "d")
    server.start()
    try:
        s3 = server.client("s3")
        s3.create_bucket(Bucket=BUCKET)
        sent: list[Any] = []
        s3.meta.events.register("before-send.s3.PutObject", lambda request, **_: sent.append(request.headers.get("x-amz-content-sha256")))
        body = data[: 65 * MiB]  # just over the gateway's limit: the TLS client is slow
        s3.put_object(Bucket=BUCKET, Key="trailer", Body=io.BytesIO(body))
        assert sent == [b"STREAMING-UNSIGNED-PAYLOAD-TRAILER"]
        got = s3.get_object(Bucket=BUCKET, Key="trailer", ChecksumMode="ENABLED")
        assert got["ChecksumCRC32"] == base64.b64encode(zlib.crc32(body).to_bytes(4, "big")).decode()
        assert streamed_sha256(got["Body"]) == (hashlib.sha256(body).hexdigest(), len(body))
    finally:
        server.kill()  # the TLS server's graceful stop waits 20 s for its connections
        server.cleanup()


def test_large_object_survives_restart(tmp_path: Path, data: bytes) -> None:
    body = data[: 100 * MiB]
    with EmulatorServer(data_dir=tmp_path / "d") as first:
        s3 = first.client("s3")
        s3.create_bucket(Bucket=BUCKET)
        s3.put_object(Bucket=BUCKET, Key="kept", Body=body)
        first.kill()  # acknowledged: on disk
    with EmulatorServer(data_dir=tmp_path / "d") as second:
        got = second.client("s3").get_object(Bucket=BUCKET, Key="kept")
        assert streamed_sha256(got["Body"]) == (hashlib.sha256(body).hexdigest(), len(body))


# ---------------------------------------------------------------- multipart completion and copies

PART = 8 * MiB  # boto3's default multipart chunk size


def multipart_etag(data: bytes, part: int = PART) -> str:
    """The ETag S3 (and boto3's documentation) gives a multipart object: the MD5 of its parts'
    MD5s, then the number of parts."""
    md5s = b"".join(hashlib.md5(data[i : i + part]).digest() for i in range(0, len(data), part))
    return f'"{hashlib.md5(md5s).hexdigest()}-{-(-len(data) // part)}"'


class DuringCall:
    """The server's peak memory growth while one operation (by its boto3 name) runs."""

    def __init__(self, server: EmulatorServer, client: Any, operation: str) -> None:
        self.server = server
        self.rss: PeakRss | None = None
        self.growth = -1
        client.meta.events.register(f"before-call.s3.{operation}", self._start)
        client.meta.events.register(f"after-call.s3.{operation}", self._stop)

    def _start(self, **_: Any) -> None:
        self.rss = PeakRss(self.server).__enter__()

    def _stop(self, **_: Any) -> None:
        assert self.rss is not None
        self.rss.__exit__()
        self.growth = self.rss.growth


def test_multipart_upload_file_completion_and_copies_in_bounded_memory(tmp_path: Path, data: bytes) -> None:
    """``upload_file`` of 200 MiB (25 parts of 8 MiB): CompleteMultipartUpload writes the object
    block by block (moto joined the parts in memory: twice the object), CopyObject and the
    managed copy's UploadPartCopy read their source block by block; all of it kept after kill -9."""
    source = tmp_path / "object.bin"
    source.write_bytes(data)
    with EmulatorServer(data_dir=tmp_path / "d") as server:
        s3 = server.client("s3")
        s3.create_bucket(Bucket=BUCKET)
        completion = DuringCall(server, s3, "CompleteMultipartUpload")
        copy = DuringCall(server, s3, "CopyObject")
        s3.upload_file(str(source), BUCKET, "uploaded")
        assert completion.growth >= 0, "upload_file made no multipart upload"

        etag = multipart_etag(data)
        head = s3.head_object(Bucket=BUCKET, Key="uploaded")
        assert head["ContentLength"] == SIZE and head["ETag"] == etag
        got = s3.get_object(Bucket=BUCKET, Key="uploaded")
        assert got["ETag"] == etag
        assert streamed_sha256(got["Body"]) == (hashlib.sha256(data).hexdigest(), SIZE)
        part = s3.get_object(Bucket=BUCKET, Key="uploaded", PartNumber=3)
        assert part["PartsCount"] == 25 and part["ContentRange"] == f"bytes {2 * PART}-{3 * PART - 1}/{SIZE}"
        assert part["Body"].read() == data[2 * PART : 3 * PART]
        head_part = s3.head_object(Bucket=BUCKET, Key="uploaded", PartNumber=25)
        assert head_part["ContentLength"] == SIZE - 24 * PART

        copied = s3.copy_object(Bucket=BUCKET, Key="copied", CopySource={"Bucket": BUCKET, "Key": "uploaded"})
        # A CopyObject's ETag is the MD5 of the data (S3: objects created by a copy).
        assert copied["CopyObjectResult"]["ETag"] == f'"{hashlib.md5(data).hexdigest()}"'
        with PeakRss(server) as managed:  # HeadObject, CreateMultipartUpload, 25 UploadPartCopy, Complete
            s3.copy({"Bucket": BUCKET, "Key": "uploaded"}, BUCKET, "managed-copy")
        assert s3.head_object(Bucket=BUCKET, Key="managed-copy")["ETag"] == etag
        for key in ("copied", "managed-copy"):
            assert streamed_sha256(s3.get_object(Bucket=BUCKET, Key=key)["Body"]) == (hashlib.sha256(data).hexdigest(), SIZE), key

        assert completion.growth < 40 * MiB, f"CompleteMultipartUpload grew the server by {completion.growth / MiB:.0f} MiB"
        assert copy.growth < 40 * MiB, f"CopyObject grew the server by {copy.growth / MiB:.0f} MiB"
        assert managed.growth < 60 * MiB, f"the managed copy grew the server by {managed.growth / MiB:.0f} MiB"
        server.kill()  # acknowledged: on disk

    with EmulatorServer(data_dir=tmp_path / "d") as server:
        s3 = server.client("s3")
        for key, expected in (("uploaded", etag), ("copied", f'"{hashlib.md5(data).hexdigest()}"'), ("managed-copy", etag)):
            got = s3.get_object(Bucket=BUCKET, Key=key)
            assert got["ETag"] == expected, key
            assert streamed_sha256(got["Body"]) == (hashlib.sha256(data).hexdigest(), SIZE), key
        assert s3.get_object(Bucket=BUCKET, Key="uploaded", PartNumber=25)["Body"].read() == data[24 * PART :]


def _b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode()


def test_multipart_checksums(server: EmulatorServer, data: bytes) -> None:
    """A multipart upload's checksum: COMPOSITE (the checksum of the parts' checksums, ``-N``),
    as boto3 asks it with ChecksumAlgorithm; FULL_OBJECT (the whole object's CRC)."""
    s3 = server.client("s3")
    body = data[: 100 * MiB + 777]
    parts = [body[i : i + PART] for i in range(0, len(body), PART)]
    s3.upload_fileobj(io.BytesIO(body), BUCKET, "crc-composite", ExtraArgs={"ChecksumAlgorithm": "CRC32"})
    head = s3.head_object(Bucket=BUCKET, Key="crc-composite", ChecksumMode="ENABLED")
    composite = _b64(zlib.crc32(b"".join(zlib.crc32(p).to_bytes(4, "big") for p in parts)).to_bytes(4, "big"))
    assert head["ChecksumCRC32"] == f"{composite}-{len(parts)}"
    assert head["ChecksumType"] == "COMPOSITE"
    assert head["ETag"] == multipart_etag(body)

    upload = s3.create_multipart_upload(Bucket=BUCKET, Key="crc-full", ChecksumAlgorithm="CRC32", ChecksumType="FULL_OBJECT")["UploadId"]
    done = []
    for number, piece in enumerate(parts, 1):
        answer = s3.upload_part(Bucket=BUCKET, Key="crc-full", UploadId=upload, PartNumber=number, Body=piece, ChecksumAlgorithm="CRC32")
        done.append({"PartNumber": number, "ETag": answer["ETag"], "ChecksumCRC32": answer["ChecksumCRC32"]})
    s3.complete_multipart_upload(Bucket=BUCKET, Key="crc-full", UploadId=upload, MultipartUpload={"Parts": done})
    head = s3.head_object(Bucket=BUCKET, Key="crc-full", ChecksumMode="ENABLED")
    assert head["ChecksumCRC32"] == _b64(zlib.crc32(body).to_bytes(4, "big"))
    assert head["ChecksumType"] == "FULL_OBJECT"
    got = s3.get_object(Bucket=BUCKET, Key="crc-full", ChecksumMode="ENABLED")  # boto3 validates it
    assert streamed_sha256(got["Body"]) == (hashlib.sha256(body).hexdigest(), len(body))

    # A copy asked for another checksum: computed over the copy, block by block.
    copied = s3.copy_object(Bucket=BUCKET, Key="crc-copy", CopySource={"Bucket": BUCKET, "Key": "crc-full"}, ChecksumAlgorithm="SHA256")
    assert copied["CopyObjectResult"]["ChecksumSHA256"] == _b64(hashlib.sha256(body).digest())


def test_multipart_completion_errors_leave_the_upload(server: EmulatorServer, data: bytes) -> None:
    """Checked before anything is copied: a wrong part ETag (InvalidPart), a part under 5 MiB
    that is not the last (EntityTooSmall); the upload is still there to complete."""
    s3 = server.client("s3")
    upload = s3.create_multipart_upload(Bucket=BUCKET, Key="checked")["UploadId"]
    small, large = data[: MiB], data[MiB : 9 * MiB]
    etags = [s3.upload_part(Bucket=BUCKET, Key="checked", UploadId=upload, PartNumber=n, Body=b)["ETag"] for n, b in ((1, small), (2, large))]
    with pytest.raises(ClientError) as err:
        s3.complete_multipart_upload(Bucket=BUCKET, Key="checked", UploadId=upload, MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etags[1]}]})
    assert err.value.response["Error"]["Code"] == "InvalidPart"
    with pytest.raises(ClientError) as err:
        s3.complete_multipart_upload(Bucket=BUCKET, Key="checked", UploadId=upload,
                                     MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etags[0]}, {"PartNumber": 2, "ETag": etags[1]}]})
    assert err.value.response["Error"]["Code"] == "EntityTooSmall"
    s3.complete_multipart_upload(Bucket=BUCKET, Key="checked", UploadId=upload, MultipartUpload={"Parts": [{"PartNumber": 2, "ETag": etags[1]}]})
    got = s3.get_object(Bucket=BUCKET, Key="checked")
    assert got["Body"].read() == large and got["ETag"] == multipart_etag(large)
    with pytest.raises(ClientError) as err:  # completed: the upload and its parts are gone
        s3.list_parts(Bucket=BUCKET, Key="checked", UploadId=upload)
    assert err.value.response["Error"]["Code"] == "NoSuchUpload"
