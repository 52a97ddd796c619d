"""S3 POST-policy uploads answered as the S3 API reference's "POST Object" documents them
(emulator/gateway/s3_post_answer.py): success_action_status (200, 201 with its PostResponse
document, 204; anything else 204), success_action_redirect (303 to the URL with bucket, key and
etag), the object's ETag and Location, the fields after the file ignored. Each case under the
gateway's body limit (parsed by werkzeug in moto) and over it (gateway/post_stream.py)."""

from __future__ import annotations

import random
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import pytest
import requests
from botocore.config import Config

from emulator.testing.server import EmulatorServer

MiB = 1 << 20
BUCKET = "post-answers"
SIZES = {"small": 10 * 1024, "large": 2 * MiB + 7}  # the server's body limit is 1 MiB
Fields = list[tuple[str, Any]]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorServer]:
    with EmulatorServer(data_dir=tmp_path_factory.mktemp("answers"), env={"EMULATOR_MAX_BODY_BYTES": str(MiB)}) as srv:
        srv.client("s3").create_bucket(Bucket=BUCKET)
        yield srv


def data_of(size: str) -> bytes:
    return random.Random(size).randbytes(SIZES[size])


def upload(server: EmulatorServer, key: str, size: str, fields: dict[str, str] | None = None, after: Fields | None = None) -> requests.Response:
    """A presigned POST (V4) with ``fields`` (each covered by the policy), the file, then ``after``."""
    signer = server.client("s3", config=Config(signature_version="s3v4"))
    fields = fields or {}
    post = signer.generate_presigned_post(BUCKET, key, Fields=fields, Conditions=[{k: v} for k, v in fields.items()], ExpiresIn=300)
    parts: Fields = [*((name, (None, value)) for name, value in post["fields"].items()), ("file", ("f.bin", data_of(size))), *(after or [])]
    return requests.post(post["url"], files=parts, timeout=60, allow_redirects=False)


def head(server: EmulatorServer, key: str) -> dict[str, Any]:
    got: dict[str, Any] = server.client("s3").head_object(Bucket=BUCKET, Key=key)
    return got


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize(("value", "status"), [("200", 200), ("201", 201), ("204", 204), ("999", 204), ("abc", 204), (None, 204)])
def test_success_action_status(server: EmulatorServer, size: str, value: str | None, status: int) -> None:
    key = f"status/{size}/{value}/a b+c.bin"
    response = upload(server, key, size, {} if value is None else {"success_action_status": value})
    assert response.status_code == status, response.text
    got = head(server, key)
    assert got["ContentLength"] == SIZES[size]
    location = f"{server.endpoint}/{BUCKET}/{quote(key)}"
    assert response.headers["ETag"] == got["ETag"]
    assert response.headers["Location"] == location
    if status != 201:
        assert response.content == b""
        return
    assert response.headers["Content-Type"] == "application/xml"
    root = ET.fromstring(response.content)
    assert root.tag == "PostResponse"
    assert {child.tag: child.text for child in root} == {"Location": location, "Bucket": BUCKET, "Key": key, "ETag": got["ETag"]}


@pytest.mark.parametrize("size", SIZES)
def test_success_action_redirect(server: EmulatorServer, size: str) -> None:
    key = f"redirect/{size}/x.bin"
    # the redirect wins over success_action_status ("if success_action_redirect is not specified")
    fields = {"success_action_redirect": "https://example.com/done?from=form", "success_action_status": "201"}
    response = upload(server, key, size, fields)
    assert response.status_code == 303, response.text
    etag = head(server, key)["ETag"]
    assert response.headers["ETag"] == etag
    target = urlsplit(response.headers["Location"])
    assert (target.scheme, target.netloc, target.path) == ("https", "example.com", "/done")
    assert parse_qs(target.query) == {"from": ["form"], "bucket": [BUCKET], "key": [key], "etag": [etag]}
    assert response.content == b""


@pytest.mark.parametrize("size", SIZES)
def test_redirect_not_a_url_is_as_if_absent(server: EmulatorServer, size: str) -> None:
    key = f"redirect-bad/{size}"
    response = upload(server, key, size, {"success_action_redirect": "not a url", "success_action_status": "201"})
    assert response.status_code == 201, response.text
    assert ET.fromstring(response.content).findtext("Key") == key


@pytest.mark.parametrize("size", SIZES)
def test_success_actions_are_not_metadata(server: EmulatorServer, size: str) -> None:
    key = f"meta/{size}"
    fields = {"success_action_status": "200", "x-amz-meta-kept": "yes", "Content-Type": "text/plain"}
    assert upload(server, key, size, fields).status_code == 200
    got = head(server, key)
    assert got["Metadata"] == {"kept": "yes"} and got["ContentType"] == "text/plain"
    assert not [name for name in got["ResponseMetadata"]["HTTPHeaders"] if "success_action" in name]


@pytest.mark.parametrize("size", SIZES)
def test_fields_after_the_file_are_ignored(server: EmulatorServer, size: str) -> None:
    key = f"after/{size}"
    after: Fields = [("x-amz-meta-after", (None, "late")), ("acl", (None, "public-read")), ("success_action_status", (None, "201")),
                     ("Content-Type", (None, "image/png"))]
    response = upload(server, key, size, {"x-amz-meta-before": "early"}, after=after)
    assert response.status_code == 204, response.text
    got = head(server, key)
    assert got["Metadata"] == {"before": "early"} and got["ContentType"] != "image/png"
    grants = server.client("s3").get_object_acl(Bucket=BUCKET, Key=key)["Grants"]
    assert [g["Permission"] for g in grants] == ["FULL_CONTROL"]


def test_without_signature_checks(tmp_path: Path) -> None:
    # With auth off moto alone reads the form: the same answers, and a key given only after
    # the file is no key (S3's InvalidArgument, not a 500).
    with EmulatorServer(data_dir=tmp_path / "d", env={"EMULATOR_MAX_BODY_BYTES": str(MiB), "EMULATOR_AUTH": "false"}) as open_server:
        open_server.client("s3").create_bucket(Bucket=BUCKET)
        for size in SIZES:
            parts: Fields = [("key", (None, f"open/{size}/${{filename}}")), ("success_action_status", (None, "201")),
                             ("file", ("o.bin", data_of(size))), ("x-amz-meta-after", (None, "late"))]
            response = requests.post(f"{open_server.endpoint}/{BUCKET}", files=parts, timeout=60)
            assert response.status_code == 201, response.text
            got = head(open_server, f"open/{size}/o.bin")
            assert got["Metadata"] == {}
            root = ET.fromstring(response.content)
            assert (root.findtext("Key"), root.findtext("ETag")) == (f"open/{size}/o.bin", got["ETag"])
            parts = [("file", ("o.bin", data_of(size))), ("key", (None, f"late/{size}"))]
            response = requests.post(f"{open_server.endpoint}/{BUCKET}", files=parts, timeout=60)
            assert response.status_code == 400, response.text
            assert ET.fromstring(response.content).findtext("Code") == "InvalidArgument"
