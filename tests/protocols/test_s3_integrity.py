"""S3 upload integrity through the wire (emulator/gateway/s3_payload.py): checksums and
Content-MD5 computed over what arrived, aws-chunked chunk and trailer signatures checked, and
nothing stored when one does not match, with S3's codes and texts. Clients: boto3 (plain HTTP:
checksum headers; HTTPS: aws-chunked with a checksum trailer), the AWS CLI, raw requests
signed here, and the JS SDK v3 when its S3 client is installed."""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import io
import json
import os
import shutil
import subprocess
import sys
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock

import botocore.config
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from emulator.errors import AwsError
from emulator.gateway import s3_payload, sigv4
from emulator.gateway.keys import AccessKey
from emulator.protocols.base import Request
from emulator.testing.server import EmulatorServer, TlsEmulatorServer

ROOT = Path(__file__).resolve().parents[2]
BUCKET = "integrity"
DATA = bytes(range(256)) * 400  # 102,400 bytes: a 64 KiB chunk and a 36 KiB one
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def crc32(data: bytes) -> str:
    return b64(zlib.crc32(data).to_bytes(4, "big"))


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    with EmulatorServer(extra_args=["--services", "dynamodb"]) as srv:
        srv.client("s3").create_bucket(Bucket=BUCKET)
        yield srv


@pytest.fixture(scope="module")
def tls_server() -> Iterator[TlsEmulatorServer]:
    srv = TlsEmulatorServer(extra_args=["--services", "dynamodb"])
    srv.start()
    try:
        srv.client("s3").create_bucket(Bucket=BUCKET)
        yield srv
    finally:
        srv.cleanup()


def error_of(call: Any, **kwargs: Any) -> tuple[int, str, str]:
    with pytest.raises(ClientError) as info:
        call(**kwargs)
    err = info.value.response
    return err["ResponseMetadata"]["HTTPStatusCode"], err["Error"]["Code"], err["Error"]["Message"]


def absent(s3: Any, key: str) -> bool:
    try:
        s3.head_object(Bucket=BUCKET, Key=key)
    except ClientError as exc:
        return exc.response["Error"]["Code"] == "404"
    return False


# ----------------------------------------------------------------- the AWS documentation's examples

DOC_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
DOC_SCOPE = "20130524/us-east-1/s3/aws4_request"


def _doc_seed(signature: str) -> s3_payload.Seed:
    return s3_payload.Seed(sigv4.signing_key(DOC_SECRET, "20130524", "us-east-1", "s3"), "20130524T000000Z", DOC_SCOPE, signature)


def test_known_answer_signed_chunks_of_the_aws_example() -> None:
    """https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html: a 66,560-byte
    object of 'a' in a 64 KiB chunk, a 1 KiB one and the final one; seed and chunk signatures
    as the page gives them, Content-Length 66824."""
    headers = {
        "host": "s3.amazonaws.com",
        "x-amz-date": "20130524T000000Z",
        "x-amz-storage-class": "REDUCED_REDUNDANCY",
        "x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
        "content-encoding": "aws-chunked",
        "x-amz-decoded-content-length": "66560",
        "content-length": "66824",
    }
    seed = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"
    signatures = [
        "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
        "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
        "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9",
    ]
    chunks = [b"a" * 65536, b"a" * 1024, b""]
    body = b"".join(b"%x;chunk-signature=%s\r\n%s\r\n" % (len(c), s.encode(), c) for c, s in zip(chunks, signatures, strict=True))
    assert len(body) == 66824
    headers["authorization"] = (
        f"AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/{DOC_SCOPE},"
        f"SignedHeaders={';'.join(sorted(headers))},Signature={seed}"
    )
    request = Request("PUT", "/examplebucket/chunkObject.txt", "/examplebucket/chunkObject.txt", "", headers, body)
    keys = mock.Mock(get=lambda key_id: AccessKey(key_id, DOC_SECRET))
    key, parsed = sigv4.verify(request, keys, "s3", now=1369353600.0)  # the seed signature
    assert parsed.signature == seed
    assert [s3_payload.chunk_signature(_doc_seed(seed), previous, c) for previous, c in zip([seed, *signatures], chunks, strict=False)] == signatures
    data, trailers = s3_payload.decode_chunked(body, s3_payload.SIGNED, s3_payload.seed_of(key, parsed))
    assert (data, trailers) == (b"a" * 66560, [])
    # The whole step: decoded, the headers left as moto needs them.
    s3_payload.check(request, (key, parsed))
    assert request.body == b"a" * 66560
    assert "content-encoding" not in request.headers and "x-amz-decoded-content-length" not in request.headers
    # One byte changed in the second chunk: its signature no longer matches.
    tampered = body.replace(b"a\r\n0;", b"b\r\n0;")
    with pytest.raises(AwsError) as info:
        s3_payload.decode_chunked(tampered, s3_payload.SIGNED, _doc_seed(seed))
    assert (info.value.code, info.value.status) == ("SignatureDoesNotMatch", 403)


def test_known_answer_signed_trailer_of_the_aws_example() -> None:
    """https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming-trailers.html: the same
    object, its chunk signatures from the seed the page gives, the CRC32C trailer and its
    signature."""
    seed = "106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e"
    signatures = [
        "b474d8862b1487a5145d686f57f013e54db672cee1c953b3010fb58501ef5aa2",
        "1c1344b170168f8e65b41376b44b20fe354e373826ccbbe2c1d40a8cae51e5c7",
        "2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992",
    ]
    trailer_signature = "d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435"
    chunks = [b"a" * 65536, b"a" * 1024, b""]
    body = b"".join(b"%x;chunk-signature=%s\r\n%s" % (len(c), s.encode(), c) + (b"\r\n" if c else b"") for c, s in zip(chunks, signatures, strict=True))
    body += f"x-amz-checksum-crc32c:sOO8/Q==\r\nx-amz-trailer-signature:{trailer_signature}\r\n\r\n".encode()
    data, trailers = s3_payload.decode_chunked(body, s3_payload.SIGNED_TRAILER, _doc_seed(seed))
    assert (data, trailers) == (b"a" * 66560, [("x-amz-checksum-crc32c", "sOO8/Q==")])
    s3_payload.check_checksum("crc32c", "sOO8/Q==", data)  # the page's CRC32C of the object
    with pytest.raises(AwsError) as info:
        s3_payload.decode_chunked(body.replace(b"sOO8/Q==", b"sOO8/R=="), s3_payload.SIGNED_TRAILER, _doc_seed(seed))
    assert info.value.code == "SignatureDoesNotMatch"


def test_checksum_known_answers() -> None:
    """The catalogue's check values (CRC-32C, CRC-64/NVME over b"123456789") and xxHash's."""
    check = b"123456789"
    s3_payload.check_checksum("crc32c", b64(bytes.fromhex("e3069283")), check)
    s3_payload.check_checksum("crc64nvme", b64(bytes.fromhex("ae8b14860a799888")), check)
    s3_payload.check_checksum("xxhash64", b64(bytes.fromhex("ef46db3751d8e999")), b"")
    for algorithm in s3_payload.ALGORITHMS:
        assert s3_payload.digest_function(algorithm) is not None, algorithm
    with pytest.raises(AwsError) as info:
        s3_payload.check_checksum("crc64nvme", b64(bytes.fromhex("ae8b14860a799889")), check)
    assert (info.value.code, info.value.message) == ("BadDigest", "The CRC64NVME you specified did not match the calculated checksum.")


# ----------------------------------------------------------------- boto3, checksum headers


@pytest.mark.parametrize("algorithm", ["CRC32", "SHA1", "SHA256", "SHA512"])
def test_boto3_checksums_are_accepted_and_returned(server: EmulatorServer, algorithm: str) -> None:
    s3 = server.client("s3")
    key = f"algo-{algorithm}"
    out = s3.put_object(Bucket=BUCKET, Key=key, Body=DATA, ChecksumAlgorithm=algorithm)
    expected = b64(getattr(hashlib, algorithm.lower())(DATA).digest()) if algorithm != "CRC32" else crc32(DATA)
    assert out[f"Checksum{algorithm}"] == expected
    got = s3.get_object(Bucket=BUCKET, Key=key, ChecksumMode="ENABLED")
    assert got["Body"].read() == DATA
    assert got[f"Checksum{algorithm}"] == expected


@pytest.mark.parametrize(
    ("member", "value"),
    [
        # Check values: CRC-32C and CRC-64/NVME of b"123456789" (the CRC catalogue's), MD5's.
        ("ChecksumCRC32C", "4waSgw=="),
        ("ChecksumCRC64NVME", "rosUhgp5mIg="),
        ("ChecksumMD5", b64(hashlib.md5(b"123456789").digest())),
    ],
)
def test_checksum_values_given_by_the_caller_are_checked_and_kept(server: EmulatorServer, member: str, value: str) -> None:
    s3 = server.client("s3")
    key = f"given-{member}"
    s3.put_object(Bucket=BUCKET, Key=key, Body=b"123456789", **{member: value})
    got = s3.get_object(Bucket=BUCKET, Key=key, ChecksumMode="ENABLED")
    assert got["Body"].read() == b"123456789"
    assert got[member] == value
    wrong = b64(bytes(len(base64.b64decode(value))))
    status, code, message = error_of(s3.put_object, Bucket=BUCKET, Key=key + "-wrong", Body=b"123456789", **{member: wrong})
    assert (status, code) == (400, "BadDigest")
    assert message == f"The {member.removeprefix('Checksum')} you specified did not match the calculated checksum."
    assert absent(s3, key + "-wrong")


@pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded", "multipart/form-data; boundary=x"])
def test_an_object_with_a_form_content_type_keeps_its_bytes(server: EmulatorServer, content_type: str) -> None:
    """A body sent with a form's Content-Type (urllib's default for a PUT with data) is the
    object's bytes, not a form: it was stored as 0 bytes and answered 200."""
    s3 = server.client("s3")
    for i, body in enumerate((b"abc", b"key=x&file=y", os.urandom(2_000_000))):
        s3.put_object(Bucket=BUCKET, Key=f"form-{i}", Body=body, ContentType=content_type)
        got = s3.get_object(Bucket=BUCKET, Key=f"form-{i}")
        assert got["Body"].read() == body and got["ContentType"] == content_type
    # A SigV4 presigned PUT from urllib, which adds that Content-Type by itself.
    import urllib.request

    signer = server.client("s3", config=botocore.config.Config(signature_version="s3v4"))
    url = signer.generate_presigned_url("put_object", Params={"Bucket": BUCKET, "Key": "form-urllib"})
    urllib.request.urlopen(urllib.request.Request(url, data=b"from urllib", method="PUT"), timeout=30).read()
    assert s3.get_object(Bucket=BUCKET, Key="form-urllib")["Body"].read() == b"from urllib"


def test_wrong_crc32_is_refused_and_nothing_stored(server: EmulatorServer) -> None:
    s3 = server.client("s3")
    status, code, message = error_of(s3.put_object, Bucket=BUCKET, Key="bad-crc32", Body=b"hello", ChecksumCRC32=crc32(b"other"))
    assert (status, code, message) == (400, "BadDigest", "The CRC32 you specified did not match the calculated checksum.")
    assert absent(s3, "bad-crc32")


def test_wrong_sha256_leaves_the_old_version(server: EmulatorServer) -> None:
    s3 = server.client("s3")
    s3.put_object(Bucket=BUCKET, Key="kept", Body=b"first version")
    wrong = b64(hashlib.sha256(b"other").digest())
    status, code, message = error_of(s3.put_object, Bucket=BUCKET, Key="kept", Body=b"second version", ChecksumSHA256=wrong)
    assert (status, code, message) == (400, "BadDigest", "The SHA256 you specified did not match the calculated checksum.")
    assert s3.get_object(Bucket=BUCKET, Key="kept")["Body"].read() == b"first version"


def test_content_md5(server: EmulatorServer) -> None:
    s3 = server.client("s3")
    good = b64(hashlib.md5(b"hello").digest())
    s3.put_object(Bucket=BUCKET, Key="md5-good", Body=b"hello", ContentMD5=good)
    assert s3.get_object(Bucket=BUCKET, Key="md5-good")["Body"].read() == b"hello"
    with pytest.raises(ClientError) as info:
        s3.put_object(Bucket=BUCKET, Key="md5-bad", Body=b"hello", ContentMD5=b64(hashlib.md5(b"other").digest()))
    err = info.value.response["Error"]
    assert (info.value.response["ResponseMetadata"]["HTTPStatusCode"], err["Code"]) == (400, "BadDigest")
    assert err["Message"] == "The Content-MD5 you specified did not match what we received."
    assert err["CalculatedDigest"] == good
    assert absent(s3, "md5-bad")
    status, code, message = error_of(s3.put_object, Bucket=BUCKET, Key="md5-bad", Body=b"hello", ContentMD5="not base64!")
    assert (status, code, message) == (400, "InvalidDigest", "The Content-MD5 you specified was invalid.")
    assert absent(s3, "md5-bad")


def test_content_md5_of_a_bucket_configuration(server: EmulatorServer) -> None:
    """Content-MD5 covers any S3 request body, not only objects'."""
    s3 = server.client("s3")
    tagging = {"TagSet": [{"Key": "team", "Value": "storage"}]}
    s3.put_bucket_tagging(Bucket=BUCKET, Tagging=tagging)
    status, code, _ = error_of(s3.put_bucket_tagging, Bucket=BUCKET, Tagging=tagging, ContentMD5=b64(hashlib.md5(b"x").digest()))
    assert (status, code) == (400, "BadDigest")
    assert s3.get_bucket_tagging(Bucket=BUCKET)["TagSet"] == tagging["TagSet"]


def test_malformed_and_multiple_checksums(server: EmulatorServer) -> None:
    s3 = server.client("s3")
    status, code, message = error_of(s3.put_object, Bucket=BUCKET, Key="malformed", Body=b"hello", ChecksumCRC32="AAAAAAAA")
    assert (status, code, message) == (400, "InvalidRequest", "Value for x-amz-checksum-crc32 header is invalid.")
    status, code, message = error_of(s3.put_object, Bucket=BUCKET, Key="malformed", Body=b"hello", ChecksumCRC32=crc32(b"hello"), ChecksumSHA1=b64(hashlib.sha1(b"hello").digest()))
    assert (status, code, message) == (400, "InvalidRequest", "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.")
    assert absent(s3, "malformed")


def test_multipart_upload_with_part_checksums(server: EmulatorServer) -> None:
    s3 = server.client("s3")
    key = "multipart"
    first, second = os.urandom(5 * 1024 * 1024), b"tail of the object"
    upload = s3.create_multipart_upload(Bucket=BUCKET, Key=key, ChecksumAlgorithm="SHA256")["UploadId"]
    parts = []
    for number, piece in ((1, first), (2, second)):
        out = s3.upload_part(Bucket=BUCKET, Key=key, UploadId=upload, PartNumber=number, Body=piece, ChecksumAlgorithm="SHA256")
        assert out["ChecksumSHA256"] == b64(hashlib.sha256(piece).digest())
        parts.append({"PartNumber": number, "ETag": out["ETag"], "ChecksumSHA256": out["ChecksumSHA256"]})
    status, code, _ = error_of(
        s3.upload_part, Bucket=BUCKET, Key=key, UploadId=upload, PartNumber=3, Body=b"bad part", ChecksumSHA256=b64(hashlib.sha256(b"other").digest())
    )
    assert (status, code) == (400, "BadDigest")
    listed = s3.list_parts(Bucket=BUCKET, Key=key, UploadId=upload)["Parts"]
    assert [p["PartNumber"] for p in listed] == [1, 2]
    s3.complete_multipart_upload(Bucket=BUCKET, Key=key, UploadId=upload, MultipartUpload={"Parts": parts})
    assert s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() == first + second


# ----------------------------------------------------------------- raw aws-chunked requests


@dataclass
class Signed:
    headers: dict[str, str]
    seed: str
    timestamp: str
    scope: str
    key: bytes


class _StreamingAuth(SigV4Auth):
    def payload(self, request: AWSRequest) -> str:
        return str(request.headers["X-Amz-Content-SHA256"])


def sign(server: EmulatorServer, key: str, mode: str, decoded_length: int, trailer: str | None = None) -> Signed:
    host = f"127.0.0.1:{server.port}"
    headers = {"Host": host, "Content-Encoding": "aws-chunked", "X-Amz-Content-SHA256": mode, "X-Amz-Decoded-Content-Length": str(decoded_length)}
    if trailer:
        headers |= {"X-Amz-Trailer": trailer, "X-Amz-Sdk-Checksum-Algorithm": trailer.removeprefix("x-amz-checksum-").upper()}
    request = AWSRequest("PUT", f"http://{host}/{BUCKET}/{key}", headers=headers)
    _StreamingAuth(Credentials(server.access_key, server.secret_key), "s3", server.region).add_auth(request)
    timestamp = str(request.context["timestamp"])
    signing_key = b"AWS4" + server.secret_key.encode()
    for part in (timestamp[:8], server.region, "s3", "aws4_request"):
        signing_key = hmac.new(signing_key, part.encode(), hashlib.sha256).digest()
    return Signed(
        dict(request.headers.items()),
        str(request.headers["Authorization"]).rsplit("Signature=", 1)[1],
        timestamp,
        f"{timestamp[:8]}/{server.region}/s3/aws4_request",
        signing_key,
    )


def signed_chunks(auth: Signed, pieces: list[bytes], trailer: bool) -> tuple[list[bytes], str]:
    """Each chunk encoded (the final empty one included) and the last signature."""
    out, previous = [], auth.seed
    for piece in [*pieces, b""]:
        to_sign = "\n".join(["AWS4-HMAC-SHA256-PAYLOAD", auth.timestamp, auth.scope, previous, EMPTY_SHA256, hashlib.sha256(piece).hexdigest()])
        previous = hmac.new(auth.key, to_sign.encode(), hashlib.sha256).hexdigest()
        out.append(b"%x;chunk-signature=%s\r\n%s" % (len(piece), previous.encode(), piece) + (b"\r\n" if piece or not trailer else b""))
    return out, previous


def signed_trailer(auth: Signed, previous: str, name: str, value: str) -> bytes:
    to_sign = "\n".join(["AWS4-HMAC-SHA256-TRAILER", auth.timestamp, auth.scope, previous, hashlib.sha256(f"{name}:{value}\n".encode()).hexdigest()])
    signature = hmac.new(auth.key, to_sign.encode(), hashlib.sha256).hexdigest()
    return f"{name}:{value}\r\nx-amz-trailer-signature:{signature}\r\n\r\n".encode()


def put_raw(server: EmulatorServer, key: str, headers: dict[str, str], body: bytes) -> tuple[int, str]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        conn.request("PUT", f"/{BUCKET}/{key}", body=body, headers=headers)
        response = conn.getresponse()
        text = response.read().decode()
        return response.status, text
    finally:
        conn.close()


def code_of(answer: str) -> str:
    return answer.split("<Code>", 1)[1].split("</Code>", 1)[0] if "<Code>" in answer else ""


def test_signed_chunks_accepted_and_stored_plain(server: EmulatorServer) -> None:
    auth = sign(server, "signed-ok", s3_payload.SIGNED, len(DATA))
    chunks, _ = signed_chunks(auth, [DATA[:65536], DATA[65536:]], trailer=False)
    status, answer = put_raw(server, "signed-ok", auth.headers, b"".join(chunks))
    assert status == 200, answer
    s3 = server.client("s3")
    got = s3.get_object(Bucket=BUCKET, Key="signed-ok")
    assert got["Body"].read() == DATA
    assert "ContentEncoding" not in got  # aws-chunked describes the transfer, not the object


def test_signed_chunks_with_signed_trailer(server: EmulatorServer) -> None:
    name = "x-amz-checksum-crc32"
    auth = sign(server, "trailer-ok", s3_payload.SIGNED_TRAILER, len(DATA), name)
    chunks, last = signed_chunks(auth, [DATA[:65536], DATA[65536:]], trailer=True)
    status, answer = put_raw(server, "trailer-ok", auth.headers, b"".join(chunks) + signed_trailer(auth, last, name, crc32(DATA)))
    assert status == 200, answer
    got = server.client("s3").get_object(Bucket=BUCKET, Key="trailer-ok", ChecksumMode="ENABLED")
    assert (got["Body"].read(), got["ChecksumCRC32"]) == (DATA, crc32(DATA))


def _tampered_bodies(server: EmulatorServer, key: str) -> dict[str, tuple[dict[str, str], bytes, int, str]]:
    """Broken signed aws-chunked uploads: name -> (headers, body, status, code)."""
    pieces = [DATA[:65536], DATA[65536:]]
    name = "x-amz-checksum-crc32"
    auth = sign(server, key, s3_payload.SIGNED, len(DATA))
    chunks, _ = signed_chunks(auth, pieces, trailer=False)
    byte = bytearray(chunks[1])
    byte[-10] ^= 1
    bad_signature = chunks[0].replace(chunks[0][20:30], b"0" * 10, 1)
    out = {
        "tampered byte": (auth.headers, chunks[0] + bytes(byte) + chunks[2], 403, "SignatureDoesNotMatch"),
        "tampered chunk signature": (auth.headers, bad_signature + chunks[1] + chunks[2], 403, "SignatureDoesNotMatch"),
        "reordered chunks": (auth.headers, chunks[1] + chunks[0] + chunks[2], 403, "SignatureDoesNotMatch"),
        "truncated body": (auth.headers, chunks[0] + chunks[1][:1000], 400, "IncompleteBody"),
        "no final chunk": (auth.headers, chunks[0] + chunks[1], 400, "IncompleteBody"),
        "final chunk unsigned": (auth.headers, chunks[0] + chunks[1] + b"0\r\n\r\n", 403, "SignatureDoesNotMatch"),
    }
    short = sign(server, key, s3_payload.SIGNED, len(DATA) + 1)
    chunks, _ = signed_chunks(short, pieces, trailer=False)
    out["shorter than declared"] = (short.headers, b"".join(chunks), 400, "IncompleteBody")
    trailed = sign(server, key, s3_payload.SIGNED_TRAILER, len(DATA), name)
    chunks, last = signed_chunks(trailed, pieces, trailer=True)
    out["wrong trailer checksum"] = (trailed.headers, b"".join(chunks) + signed_trailer(trailed, last, name, crc32(b"other")), 400, "BadDigest")
    forged = signed_trailer(trailed, last, name, crc32(DATA)).replace(crc32(DATA).encode(), crc32(b"other").encode())
    out["wrong trailer signature"] = (trailed.headers, b"".join(chunks) + forged, 403, "SignatureDoesNotMatch")
    missing = f"{name}:{crc32(DATA)}\r\n\r\n".encode()
    out["unsigned trailer"] = (trailed.headers, b"".join(chunks) + missing, 403, "SignatureDoesNotMatch")
    return out


@pytest.mark.parametrize(
    "case",
    [
        "tampered byte",
        "tampered chunk signature",
        "reordered chunks",
        "truncated body",
        "no final chunk",
        "final chunk unsigned",
        "shorter than declared",
        "wrong trailer checksum",
        "wrong trailer signature",
        "unsigned trailer",
    ],
)
def test_broken_signed_chunks_are_refused(server: EmulatorServer, case: str) -> None:
    key = "broken-" + case.replace(" ", "-")
    headers, body, status, code = _tampered_bodies(server, key)[case]
    got, answer = put_raw(server, key, headers, body)
    assert (got, code_of(answer)) == (status, code), answer
    assert answer.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>')
    assert absent(server.client("s3"), key)


def test_unsigned_trailer_checksum_is_checked(server: EmulatorServer) -> None:
    name = "x-amz-checksum-crc32"
    s3 = server.client("s3")
    for key, value, status, code in (("unsigned-ok", crc32(DATA), 200, ""), ("unsigned-bad", crc32(b"other"), 400, "BadDigest")):
        auth = sign(server, key, s3_payload.UNSIGNED_TRAILER, len(DATA), name)
        body = b"%x\r\n%s\r\n0\r\n%s:%s\r\n\r\n" % (len(DATA), DATA, name.encode(), value.encode())
        got, answer = put_raw(server, key, auth.headers, body)
        assert (got, code_of(answer)) == (status, code), answer
    assert s3.get_object(Bucket=BUCKET, Key="unsigned-ok", ChecksumMode="ENABLED")["ChecksumCRC32"] == crc32(DATA)
    assert absent(s3, "unsigned-bad")
    # A trailer that x-amz-trailer did not announce, and an announced one that never came.
    auth = sign(server, "unsigned-undeclared", s3_payload.UNSIGNED_TRAILER, len(DATA))
    body = b"%x\r\n%s\r\n0\r\n%s:%s\r\n\r\n" % (len(DATA), DATA, name.encode(), crc32(DATA).encode())
    assert code_of(put_raw(server, "unsigned-undeclared", auth.headers, body)[1]) == "MalformedTrailerError"
    auth = sign(server, "unsigned-missing", s3_payload.UNSIGNED_TRAILER, len(DATA), name)
    body = b"%x\r\n%s\r\n0\r\n\r\n" % (len(DATA), DATA)
    assert code_of(put_raw(server, "unsigned-missing", auth.headers, body)[1]) == "MalformedTrailerError"
    assert absent(s3, "unsigned-undeclared") and absent(s3, "unsigned-missing")


# ----------------------------------------------------------------- SDKs and the CLI over HTTPS


def test_boto3_over_https_sends_trailers_and_they_are_checked(tls_server: TlsEmulatorServer) -> None:
    s3 = tls_server.client("s3")
    seen: list[dict[str, str]] = []

    def record(request: AWSRequest, **_: Any) -> None:
        seen.append({k: v.decode() if isinstance(v, bytes) else str(v) for k, v in request.headers.items()})

    s3.meta.events.register("before-send.s3.PutObject", record)
    s3.put_object(Bucket=BUCKET, Key="tls-stream", Body=io.BytesIO(DATA))
    assert seen[-1]["X-Amz-Content-SHA256"] == s3_payload.UNSIGNED_TRAILER  # aws-chunked with a CRC32 trailer
    got = s3.get_object(Bucket=BUCKET, Key="tls-stream", ChecksumMode="ENABLED")
    assert (got["Body"].read(), got["ChecksumCRC32"]) == (DATA, crc32(DATA))
    assert "ContentEncoding" not in got
    s3.put_object(Bucket=BUCKET, Key="tls-gzip", Body=b"\x1f\x8b packed", ContentEncoding="gzip")
    got = s3.get_object(Bucket=BUCKET, Key="tls-gzip")
    assert (got["Body"].read(), got["ContentEncoding"]) == (b"\x1f\x8b packed", "gzip")


def _aws(server: EmulatorServer, *args: str, ca: Path | None = None) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("aws")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "awscli"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env |= server.environment() | {"AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull, "AWS_PAGER": ""}
    extra = ["--ca-bundle", str(ca)] if ca is not None else []
    return subprocess.run([*cmd, "--endpoint-url", server.endpoint, *extra, *args], env=env, capture_output=True, text=True, timeout=180, check=False)


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_aws_cli_cp_is_byte_identical(server: EmulatorServer, tls_server: TlsEmulatorServer, tmp_path: Path, scheme: str) -> None:
    """``aws s3 cp`` of a small file (PutObject) and of one past the multipart threshold
    (UploadPart with CRC32 checksums, CompleteMultipartUpload)."""
    target: EmulatorServer = tls_server if scheme == "https" else server
    ca = tls_server.cert if scheme == "https" else None
    small, large = tmp_path / "small.bin", tmp_path / "large.bin"
    small.write_bytes(DATA)
    large.write_bytes(os.urandom(9 * 1024 * 1024))
    for source in (small, large):
        key = f"cli-{scheme}-{source.name}"
        out = _aws(target, "s3", "cp", str(source), f"s3://{BUCKET}/{key}", ca=ca)
        assert out.returncode == 0, out.stderr
        back = tmp_path / f"back-{source.name}"
        out = _aws(target, "s3", "cp", f"s3://{BUCKET}/{key}", str(back), ca=ca)
        assert out.returncode == 0, out.stderr
        assert back.read_bytes() == source.read_bytes()


_JS = """
import { S3Client, PutObjectCommand, GetObjectCommand } from "@aws-sdk/client-s3";
import { Readable } from "node:stream";
const s3 = new S3Client({ endpoint: process.env.EMULATOR_ENDPOINT, region: "us-east-1", forcePathStyle: true });
const data = Buffer.alloc(200000, 0); for (let i = 0; i < data.length; i++) data[i] = i % 251;
const out = {};
await s3.send(new PutObjectCommand({ Bucket: process.argv[2], Key: "js-buffer", Body: data }));
await s3.send(new PutObjectCommand({ Bucket: process.argv[2], Key: "js-stream", Body: Readable.from([data.subarray(0, 70000), data.subarray(70000)]), ContentLength: data.length }));
for (const key of ["js-buffer", "js-stream"]) {
  const got = await s3.send(new GetObjectCommand({ Bucket: process.argv[2], Key: key, ChecksumMode: "ENABLED" }));
  const body = Buffer.from(await got.Body.transformToByteArray());
  out[key] = { same: body.equals(data), crc32: got.ChecksumCRC32 ?? null };
}
try {
  await s3.send(new PutObjectCommand({ Bucket: process.argv[2], Key: "js-bad", Body: data, ChecksumCRC32: "AAAAAA==" }));
  out.bad = "stored";
} catch (e) {
  out.bad = `${e.name} ${e.$metadata.httpStatusCode}`;
}
console.log(JSON.stringify(out));
"""


def _js_node_modules() -> Path | None:
    for base in (os.environ.get("EMULATOR_JS_NODE_MODULES"), ROOT / "node_modules", ROOT / "tests" / "dynamodb" / "js" / "node_modules"):
        if base and (Path(base) / "@aws-sdk" / "client-s3").is_dir():
            return Path(base)
    return None


def test_js_sdk_uploads_are_byte_identical(server: EmulatorServer, tmp_path: Path) -> None:
    """The JS SDK v3 sends a stream as aws-chunked with a CRC32 trailer (a Buffer with a CRC32
    header). `make test` installs @aws-sdk/client-s3 (package.json); EMULATOR_JS_NODE_MODULES
    names another node_modules holding it."""
    node, modules = shutil.which("node"), _js_node_modules()
    if node is None:
        pytest.skip("node is not installed (make test installs the JS SDK with npm)")
    assert modules is not None, "@aws-sdk/client-s3 is not installed: run npm ci (make test does)"
    (tmp_path / "node_modules").symlink_to(modules)
    script = tmp_path / "s3_put.mjs"
    script.write_text(_JS)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")} | server.environment() | {"EMULATOR_ENDPOINT": server.endpoint}
    out = subprocess.run([node, str(script), BUCKET], env=env, capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stderr[-3000:]
    data = bytes(i % 251 for i in range(200000))
    result = json.loads(out.stdout.strip().splitlines()[-1])
    for key in ("js-buffer", "js-stream"):
        assert result[key]["same"], key
        assert result[key]["crc32"] in (crc32(data), None), key
    assert result["bad"] == "BadDigest 400"
    assert absent(server.client("s3"), "js-bad")


def test_checksums_moto_computes_are_the_named_algorithm(server: EmulatorServer) -> None:
    """CopyObject with a ChecksumAlgorithm has the server compute the checksum (moto does, and
    without the crc32c/awscrt packages it answered CRC32C and CRC64NVME with a plain CRC32)."""
    s3 = server.client("s3")
    data = b"hello world"
    s3.put_object(Bucket=BUCKET, Key="copy-source", Body=data)
    crc32c = s3_payload.digest_function("crc32c")
    crc64 = s3_payload.digest_function("crc64nvme")
    assert crc32c is not None and crc64 is not None
    # Catalogue check values ("123456789"), so that the functions themselves are right too.
    assert crc32c(b"123456789").hex() == "e3069283"
    assert crc64(b"123456789").hex() == "ae8b14860a799888"
    copied = s3.copy_object(Bucket=BUCKET, Key="copy-c", CopySource=f"{BUCKET}/copy-source", ChecksumAlgorithm="CRC32C")
    assert copied["CopyObjectResult"]["ChecksumCRC32C"] == b64(crc32c(data))
    copied = s3.copy_object(Bucket=BUCKET, Key="copy-n", CopySource=f"{BUCKET}/copy-source", ChecksumAlgorithm="CRC64NVME")
    assert copied["CopyObjectResult"]["ChecksumCRC64NVME"] == b64(crc64(data))
    got = s3.head_object(Bucket=BUCKET, Key="copy-n", ChecksumMode="ENABLED")
    assert got["ChecksumCRC64NVME"] == b64(crc64(data))
