"""S3 browser-based (POST-policy) uploads larger than the gateway's in-memory body limit
(emulator/gateway/post_stream.py): the form parsed as it comes, the file spooled to a file,
the policy checked as for a small upload, and the object stored and the upload answered as a
small upload is. The server runs with a 1 MiB body limit; uploads of 3 MiB go past it. Through
the wire with boto3's generate_presigned_post and requests."""

from __future__ import annotations

import hashlib
import http.client
import random
import re
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError
from spool_files import no_spool_left
from urllib3 import encode_multipart_formdata

from emulator.testing.server import EmulatorServer

MiB = 1 << 20
SMALL = "post-small"  # buckets: the same uploads under and over the limit
LARGE = "post-large"
Fields = list[tuple[str, Any]]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorServer]:
    with EmulatorServer(data_dir=tmp_path_factory.mktemp("post"), env={"EMULATOR_MAX_BODY_BYTES": str(MiB)}) as srv:
        s3 = srv.client("s3")
        for bucket in (SMALL, LARGE):
            s3.create_bucket(Bucket=bucket)
        yield srv


@pytest.fixture(scope="module")
def large() -> bytes:
    return random.Random(11).randbytes(3 * MiB + 123)


@pytest.fixture(scope="module")
def small() -> bytes:
    return random.Random(12).randbytes(100 * 1024)


def presign(server: EmulatorServer, bucket: str, key: str, fields: dict[str, str] | None = None, conditions: list[Any] | None = None,
            version: str = "s3v4") -> dict[str, Any]:
    signer = server.client("s3", config=Config(signature_version=version))
    fields = fields or {}
    conditions = [*({name: value} for name, value in fields.items()), *(conditions or [])]
    post: dict[str, Any] = signer.generate_presigned_post(bucket, key, Fields=fields, Conditions=conditions, ExpiresIn=300)
    return post


def form(post: dict[str, Any], data: bytes, filename: str = "f.bin", after: Fields | None = None) -> Fields:
    """The form as a browser sends it: the fields, the file, then ``after``."""
    return [*((name, (None, value)) for name, value in post["fields"].items()), ("file", (filename, data)), *(after or [])]


def send(post: dict[str, Any], parts: Fields) -> requests.Response:
    return requests.post(post["url"], files=parts, timeout=60, allow_redirects=False)


def answer(response: requests.Response, bucket: str) -> tuple[int, dict[str, str], str]:
    """What a client sees of an answer, without what differs between any two requests (its
    date and request id) and with the bucket's name and the object's ETag (an MD5, in its
    headers, its redirect and its 201 document) left out."""
    def same(text: str) -> str:
        return re.sub(r'("|%22)[0-9a-f]{32}("|%22)', r"\1MD5\2", text.replace(bucket, "BUCKET"))

    headers = {name.lower(): same(value) for name, value in response.headers.items()
               if name.lower() not in ("date", "server", "x-amzn-requestid", "x-amz-request-id", "x-amz-id-2")}
    text = same(response.text)
    if "<RequestId>" in text:
        root = ET.fromstring(response.content)
        text = f"{root.findtext('Code')}: {root.findtext('Message')}"
        headers.pop("content-length", None)
    return response.status_code, headers, text


def both(server: EmulatorServer, small: bytes, large: bytes, key: str, fields: dict[str, str] | None = None,
         conditions: list[Any] | None = None, filename: str = "f.bin", version: str = "s3v4",
         tamper: bool = False) -> tuple[tuple[int, dict[str, str], str], tuple[int, dict[str, str], str]]:
    """The same upload under the limit (to SMALL) and over it (to LARGE): the two answers."""
    out = []
    for bucket, data in ((SMALL, small), (LARGE, large)):
        post = presign(server, bucket, key, fields, conditions, version)
        if tamper:
            name = "x-amz-signature" if "x-amz-signature" in post["fields"] else "signature"
            post["fields"][name] = post["fields"][name][:-4] + ("0000" if version == "s3v4" else "AAA=")
        out.append(answer(send(post, form(post, data, filename)), bucket))
    return out[0], out[1]






def missing(server: EmulatorServer, bucket: str, key: str) -> bool:
    try:
        server.client("s3").head_object(Bucket=bucket, Key=key)
    except ClientError as err:
        return err.response["Error"]["Code"] == "404"
    return False


@pytest.mark.parametrize("version", ["s3", "s3v4"])
def test_large_upload_stored_as_a_small_one(server: EmulatorServer, small: bytes, large: bytes, version: str) -> None:
    fields = {"Content-Type": "image/png", "x-amz-meta-color": "red", "Cache-Control": "max-age=60", "acl": "public-read"}
    small_answer, large_answer = both(server, small, large, f"{version}/${{filename}}", fields, [["content-length-range", 1, 10 * MiB]],
                                      filename="pic.png", version=version)
    assert large_answer == small_answer
    assert large_answer[0] == 204, large_answer
    s3 = server.client("s3")
    objects = {}
    for bucket, data in ((SMALL, small), (LARGE, large)):
        got = s3.get_object(Bucket=bucket, Key=f"{version}/pic.png")  # ${filename} filled in
        assert got["Body"].read() == data
        assert got["ETag"] == f'"{hashlib.md5(data).hexdigest()}"'
        assert got["ContentLength"] == len(data)
        grants = s3.get_object_acl(Bucket=bucket, Key=f"{version}/pic.png")["Grants"]
        objects[bucket] = (got["ContentType"], got["Metadata"], got.get("CacheControl"), [g["Permission"] for g in grants])
    assert objects[LARGE] == objects[SMALL] == ("image/png", {"color": "red"}, "max-age=60", ["FULL_CONTROL", "READ"])
    assert no_spool_left(server)


@pytest.mark.parametrize("fields", [{"success_action_status": "201"}, {"success_action_status": "200"},
                                    {"success_action_redirect": "http://example.com/done?from=form"}])
def test_success_actions_answered_as_for_a_small_upload(server: EmulatorServer, small: bytes, large: bytes, fields: dict[str, str]) -> None:
    small_answer, large_answer = both(server, small, large, "actions/${filename}", fields)
    assert large_answer == small_answer
    if "success_action_redirect" in fields:
        assert large_answer[0] == 303
        # S3 appends bucket, key and the ETag (tests/gateway/test_s3_post_answers.py checks them)
        assert large_answer[1]["location"] == "http://example.com/done?from=form&bucket=BUCKET&key=actions%2Ff.bin&etag=%22MD5%22"
    else:
        assert large_answer[0] == int(fields["success_action_status"])
        assert large_answer[1]["etag"] == '"MD5"'
    assert server.client("s3").get_object(Bucket=LARGE, Key="actions/f.bin")["Body"].read() == large


def test_refusals_as_for_a_small_upload(server: EmulatorServer, small: bytes, large: bytes) -> None:
    # content-length-range: the file's size, past the range in both cases
    small_answer, large_answer = both(server, small, large, "range", conditions=[["content-length-range", 1, 50 * 1024]])
    assert large_answer == small_answer == (400, {"content-type": "application/xml"}, "EntityTooLarge: Your proposed upload exceeds the maximum allowed size")
    small_answer, large_answer = both(server, small, large, "range-low", conditions=[["content-length-range", 20 * MiB, 30 * MiB]])
    assert large_answer == small_answer and large_answer[2].startswith("EntityTooSmall:")
    for version in ("s3", "s3v4"):
        small_answer, large_answer = both(server, small, large, "tampered", version=version, tamper=True)
        assert large_answer == small_answer and large_answer[0] == 403 and large_answer[2].startswith("SignatureDoesNotMatch:")
    # a condition not met, a field no condition covers
    answers: dict[str, list[tuple[int, dict[str, str], str]]] = {"condition": [], "extra": []}
    for bucket, data in ((SMALL, small), (LARGE, large)):
        post = presign(server, bucket, "cond", {"Content-Type": "image/png"})
        post["fields"]["Content-Type"] = "text/html"
        answers["condition"].append(answer(send(post, form(post, data)), bucket))
        post = presign(server, bucket, "cond")
        post["fields"]["extra"] = "1"
        answers["extra"].append(answer(send(post, form(post, data)), bucket))
    assert answers["condition"][0] == answers["condition"][1]
    assert answers["condition"][1][2] == 'AccessDenied: Invalid according to Policy: Policy Condition failed: ["eq", "$content-type", "image/png"]'
    assert answers["extra"][0] == answers["extra"][1]
    assert answers["extra"][1][2] == "AccessDenied: Invalid according to Policy: Extra input fields: extra"
    for key in ("range", "range-low", "tampered", "cond"):
        assert missing(server, LARGE, key)
    assert no_spool_left(server)


def test_fields_after_the_file_are_ignored(server: EmulatorServer, large: bytes) -> None:
    # Neither checked against the policy (no condition covers it) nor applied to the object.
    post = presign(server, LARGE, "after")
    response = send(post, form(post, large, after=[("x-amz-meta-after", (None, "late")), ("acl", (None, "public-read"))]))
    assert response.status_code == 204, response.text
    s3 = server.client("s3")
    got = s3.get_object(Bucket=LARGE, Key="after")
    assert got["Body"].read() == large and got["Metadata"] == {}
    assert [g["Permission"] for g in s3.get_object_acl(Bucket=LARGE, Key="after")["Grants"]] == ["FULL_CONTROL"]


def test_chunked_body_without_content_length(server: EmulatorServer, large: bytes) -> None:
    # No Content-Length: read in memory up to the limit, then parsed as it comes.
    post = presign(server, LARGE, "chunked/${filename}", {"x-amz-meta-way": "chunked"})
    body, content_type = encode_multipart_formdata([*post["fields"].items(), ("file", ("c.bin", large))])

    def pieces() -> Iterator[bytes]:
        for offset in range(0, len(body), 256 * 1024):
            yield body[offset : offset + 256 * 1024]

    response = requests.post(post["url"], data=pieces(), headers={"Content-Type": content_type}, timeout=60)
    assert response.status_code == 204, response.text
    got = server.client("s3").get_object(Bucket=LARGE, Key="chunked/c.bin")
    assert got["Body"].read() == large and got["Metadata"] == {"way": "chunked"}


def _raw_post(server: EmulatorServer, headers: dict[str, str], pieces: list[bytes], length: int, close: bool = False) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    try:
        conn.putrequest("POST", f"/{LARGE}", skip_accept_encoding=True)
        for name, value in {**headers, "Content-Length": str(length)}.items():
            conn.putheader(name, value)
        conn.endheaders()
        try:
            for piece in pieces:
                conn.send(piece)
        except (BrokenPipeError, ConnectionResetError):
            pass  # answered (refused) before the whole body was sent
        if close:
            conn.close()
            return 0, b""
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def test_truncated_body_leaves_no_object_and_no_temp_file(server: EmulatorServer, large: bytes) -> None:
    post = presign(server, LARGE, "truncated")
    body, content_type = encode_multipart_formdata([*post["fields"].items(), ("file", ("t.bin", large))])
    _raw_post(server, {"Content-Type": content_type}, [body[: 2 * MiB]], len(body), close=True)  # the client goes away
    assert no_spool_left(server)
    assert missing(server, LARGE, "truncated")
    # The body ends (as its Content-Length says) without the delimiter closing the file.
    cut = body[: -len(b"\r\n--") - 40]
    status, text = _raw_post(server, {"Content-Type": content_type}, [cut], len(cut))
    assert status == 400 and b"<Code>MalformedPOSTRequest</Code>" in text, text
    assert missing(server, LARGE, "truncated")
    assert no_spool_left(server)


def test_form_refusals(server: EmulatorServer, large: bytes) -> None:
    post = presign(server, LARGE, "refused")
    # fields before the file past 1 MiB
    body, content_type = encode_multipart_formdata([("x-ignore-pad", "p" * (2 * MiB)), *post["fields"].items(), ("file", ("r.bin", large))])
    status, text = _raw_post(server, {"Content-Type": content_type}, [body], len(body))
    assert status == 400 and b"<Code>MaxPostPreDataLengthExceededError</Code>" in text, text
    # no boundary
    status, text = _raw_post(server, {"Content-Type": "multipart/form-data"}, [b"x" * (2 * MiB)], 2 * MiB)
    assert status == 400 and b"<Code>MalformedPOSTRequest</Code>" in text, text
    # past S3's 5 GiB for a single upload: refused at once
    status, text = _raw_post(server, {"Content-Type": content_type}, [b"x" * MiB], 6 * 1024**3)
    assert status == 400 and b"<Code>EntityTooLarge</Code>" in text, text
    assert missing(server, LARGE, "refused")
    assert no_spool_left(server)


def test_without_signature_checks(tmp_path: Path, large: bytes) -> None:
    # With auth off the form is not verified, but it is still what moto stores the object from.
    with EmulatorServer(data_dir=tmp_path / "d", env={"EMULATOR_MAX_BODY_BYTES": str(MiB), "EMULATOR_AUTH": "false"}) as open_server:
        s3 = open_server.client("s3")
        s3.create_bucket(Bucket=LARGE)
        fields: Fields = [("key", (None, "open/${filename}")), ("x-amz-meta-who", (None, "anyone")), ("file", ("o.bin", large))]
        response = requests.post(f"{open_server.endpoint}/{LARGE}", files=fields, timeout=60)
        assert response.status_code == 204, response.text
        got = s3.get_object(Bucket=LARGE, Key="open/o.bin")
        assert got["Body"].read() == large and got["Metadata"] == {"who": "anyone"}
        status, text = 0, b""
        body, content_type = encode_multipart_formdata([("key", "cut"), ("file", ("c.bin", large))])
        conn = http.client.HTTPConnection("127.0.0.1", open_server.port, timeout=60)
        try:
            conn.request("POST", f"/{LARGE}", body=body[:-60], headers={"Content-Type": content_type})
            reply = conn.getresponse()
            status, text = reply.status, reply.read()
        finally:
            conn.close()
        assert status == 400 and b"<Code>MalformedPOSTRequest</Code>" in text, text
        assert missing(open_server, LARGE, "cut")


def test_memory_stays_bounded(server: EmulatorServer) -> None:
    # The server's memory while a 128 MiB upload goes through: its growth stays well under
    # the upload's size (the body is never held whole).
    data = random.Random(13).randbytes(128 * MiB)
    post = presign(server, LARGE, "big")
    body, content_type = encode_multipart_formdata([*post["fields"].items(), ("file", ("b.bin", data))])
    assert server.proc is not None
    process = psutil.Process(server.proc.pid)
    base = peak = process.memory_info().rss
    done: list[tuple[int, bytes]] = []
    pieces = [body[offset : offset + MiB] for offset in range(0, len(body), MiB)]
    thread = threading.Thread(target=lambda: done.append(_raw_post(server, {"Content-Type": content_type}, pieces, len(body))))
    thread.start()
    while thread.is_alive():
        peak = max(peak, process.memory_info().rss)
        time.sleep(0.01)
    thread.join()
    assert done and done[0][0] == 204, done
    assert peak - base < 64 * MiB, (peak - base) // MiB  # a bounded overhead (~40 MiB here), not the body
    got = server.client("s3").get_object(Bucket=LARGE, Key="big")
    assert got["ETag"] == f'"{hashlib.md5(data).hexdigest()}"' and got["ContentLength"] == len(data)


def test_virtual_hosted_style(server: EmulatorServer, resolve_localhost_subdomains: Any, large: bytes) -> None:
    # POST / to <bucket>.localhost: the Host names the bucket.
    signer = server.client("s3", endpoint_url=server.endpoint.replace("127.0.0.1", "localhost"),
                           config=Config(signature_version="s3v4", s3={"addressing_style": "virtual"}))
    post = signer.generate_presigned_post(LARGE, "virtual/${filename}", ExpiresIn=300)
    assert post["url"].startswith(f"http://{LARGE}.localhost:")
    response = send(post, form(post, large, "v.bin"))
    assert response.status_code == 204, response.text
    assert response.headers["Location"] == f"http://{LARGE}.localhost:{server.port}/virtual/v.bin"  # the object's URL, in the request's style
    assert server.client("s3").get_object(Bucket=LARGE, Key="virtual/v.bin")["Body"].read() == large
