"""Anonymous S3 requests (emulator/gateway/s3_anonymous.py), through the wire: what a bucket
makes public (ACL grants to AllUsers, bucket policies for ``"Principal": "*"``) is served to
clients without credentials (urllib, http.client, boto3 with ``signature_version=UNSIGNED``),
as AWS serves it; everything else is ``403 AccessDenied`` in S3's XML shape. Block Public
Access (bucket and account), Object Ownership ``BucketOwnerEnforced``, explicit denies and
policy conditions apply as on AWS. Unsigned requests that name no bucket keep their errors."""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from http.client import HTTPConnection
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError

from emulator.testing.server import EmulatorServer

DATA = os.urandom(150_000)  # binary, every byte value


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    with EmulatorServer(extra_args=["--services", "dynamodb"]) as srv:
        yield srv


def anon(server: EmulatorServer, method: str, path: str, headers: dict[str, str] | None = None, body: bytes | None = None) -> tuple[int, dict[str, str], bytes]:
    """An HTTP request with no credentials at all."""
    conn = HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def assert_access_denied(status: int, headers: dict[str, str], body: bytes) -> None:
    assert status == 403, body
    assert headers["content-type"] == "application/xml"
    root = ET.fromstring(body)
    assert root.tag == "Error"
    assert root.findtext("Code") == "AccessDenied"
    assert root.findtext("Message") == "Access Denied"
    assert root.findtext("RequestId") == headers["x-amz-request-id"]


def error_code(body: bytes) -> str | None:
    return ET.fromstring(body).findtext("Code")


def policy(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def unsigned_client(server: EmulatorServer) -> Any:
    return boto3.client("s3", endpoint_url=server.endpoint, region_name=server.region,
                        config=Config(signature_version=UNSIGNED, retries={"max_attempts": 1}))


# ------------------------------------------------------------------ ACLs
def test_public_read_object_is_served_byte_for_byte(server: EmulatorServer, s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="assets/logo.bin", Body=DATA, ACL="public-read", ContentType="image/png")
    url = f"{server.endpoint}/{bucket}/assets/logo.bin"
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.status == 200
        assert response.read() == DATA
        assert response.headers["Content-Type"] == "image/png"
        etag = response.headers["ETag"]
    assert etag == s3.head_object(Bucket=bucket, Key="assets/logo.bin")["ETag"]

    status, headers, body = anon(server, "HEAD", f"/{bucket}/assets/logo.bin")
    assert (status, body, headers["content-length"], headers["etag"]) == (200, b"", str(len(DATA)), etag)

    status, headers, body = anon(server, "GET", f"/{bucket}/assets/logo.bin", {"Range": "bytes=100-199"})
    assert (status, body, headers["content-range"]) == (206, DATA[100:200], f"bytes 100-199/{len(DATA)}")

    status, _, body = anon(server, "GET", f"/{bucket}/assets/logo.bin", {"If-None-Match": etag})
    assert (status, body) == (304, b"")


def test_private_object_is_access_denied(server: EmulatorServer, s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="private.txt", Body=b"secret")
    assert_access_denied(*anon(server, "GET", f"/{bucket}/private.txt"))
    status, headers, body = anon(server, "HEAD", f"/{bucket}/private.txt")
    assert (status, body, headers["x-amz-request-id"] != "") == (403, b"", True)
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(f"{server.endpoint}/{bucket}/private.txt", timeout=10)
    assert caught.value.code == 403
    assert error_code(caught.value.read()) == "AccessDenied"
    # The bucket itself is not listable either.
    assert_access_denied(*anon(server, "GET", f"/{bucket}?list-type=2"))


def test_missing_key_is_404_only_for_who_may_list(server: EmulatorServer, s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="here.txt", Body=b"x", ACL="public-read")
    # Objects public, the bucket not listable: a missing key is 403, as AWS answers.
    assert_access_denied(*anon(server, "GET", f"/{bucket}/nope.txt"))
    assert anon(server, "HEAD", f"/{bucket}/nope.txt")[0] == 403
    # A public-read bucket ACL (READ: s3:ListBucket): 404 NoSuchKey.
    s3.put_bucket_acl(Bucket=bucket, ACL="public-read")
    status, _, body = anon(server, "GET", f"/{bucket}/nope.txt")
    assert (status, error_code(body)) == (404, "NoSuchKey")
    assert anon(server, "HEAD", f"/{bucket}/nope.txt")[0] == 404
    status, _, body = anon(server, "GET", f"/{bucket}?list-type=2")
    assert status == 200
    assert [e.text for e in ET.fromstring(body).iter() if e.tag.endswith("Key")] == ["here.txt"]


def test_anonymous_put_is_refused_unless_granted(server: EmulatorServer, s3: Any, bucket: str) -> None:
    assert_access_denied(*anon(server, "PUT", f"/{bucket}/up.txt", body=b"anonymous"))
    with pytest.raises(ClientError) as caught:
        s3.head_object(Bucket=bucket, Key="up.txt")
    assert caught.value.response["Error"]["Code"] == "404"
    # public-read-write: AllUsers has WRITE on the bucket.
    s3.put_bucket_acl(Bucket=bucket, ACL="public-read-write")
    status, _, body = anon(server, "PUT", f"/{bucket}/up.txt", body=b"anonymous")
    assert status == 200, body
    assert s3.get_object(Bucket=bucket, Key="up.txt")["Body"].read() == b"anonymous"
    # WRITE does not let the anonymous principal delete.
    assert_access_denied(*anon(server, "DELETE", f"/{bucket}/up.txt"))


def test_anonymous_put_granted_by_policy_on_a_prefix(server: EmulatorServer, s3: Any, bucket: str) -> None:
    s3.put_bucket_policy(Bucket=bucket, Policy=policy(
        {"Effect": "Allow", "Principal": "*", "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{bucket}/uploads/*"}))
    assert anon(server, "PUT", f"/{bucket}/uploads/a.txt", body=b"a")[0] == 200
    assert s3.get_object(Bucket=bucket, Key="uploads/a.txt")["Body"].read() == b"a"
    assert_access_denied(*anon(server, "PUT", f"/{bucket}/other/a.txt", body=b"a"))
    assert_access_denied(*anon(server, "GET", f"/{bucket}/uploads/a.txt"))  # writing is not reading


def test_bucket_owner_enforced_ignores_acls(server: EmulatorServer, s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="o.txt", Body=b"o", ACL="public-read")
    assert anon(server, "GET", f"/{bucket}/o.txt")[0] == 200
    s3.put_bucket_ownership_controls(Bucket=bucket, OwnershipControls={"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]})
    assert_access_denied(*anon(server, "GET", f"/{bucket}/o.txt"))
    # A bucket policy still grants.
    s3.put_bucket_policy(Bucket=bucket, Policy=policy(
        {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/*"}))
    assert anon(server, "GET", f"/{bucket}/o.txt")[:3:2] == (200, b"o")
    s3.put_bucket_ownership_controls(Bucket=bucket, OwnershipControls={"Rules": [{"ObjectOwnership": "ObjectWriter"}]})
    s3.delete_bucket_policy(Bucket=bucket)
    assert anon(server, "GET", f"/{bucket}/o.txt")[0] == 200


# ------------------------------------------------------------------ bucket policies
def test_policy_for_everyone_on_a_prefix(server: EmulatorServer, s3: Any, bucket: str) -> None:
    for key in ("public/a.txt", "public/deep/b.txt", "private/c.txt"):
        s3.put_object(Bucket=bucket, Key=key, Body=key.encode())
    s3.put_bucket_policy(Bucket=bucket, Policy=policy(
        {"Sid": "PublicRead", "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": ["s3:GetObject"], "Resource": [f"arn:aws:s3:::{bucket}/public/*"]}))
    assert anon(server, "GET", f"/{bucket}/public/a.txt")[:3:2] == (200, b"public/a.txt")
    assert anon(server, "GET", f"/{bucket}/public/deep/b.txt")[:3:2] == (200, b"public/deep/b.txt")
    assert anon(server, "HEAD", f"/{bucket}/public/a.txt")[0] == 200
    assert_access_denied(*anon(server, "GET", f"/{bucket}/private/c.txt"))
    assert_access_denied(*anon(server, "GET", f"/{bucket}?list-type=2"))
    # No s3:ListBucket: a missing key under the public prefix is 403.
    assert_access_denied(*anon(server, "GET", f"/{bucket}/public/missing.txt"))


def test_public_listing_by_policy(server: EmulatorServer, s3: Any, bucket: str) -> None:
    for key in ("docs/a.txt", "docs/b.txt", "other/c.txt"):
        s3.put_object(Bucket=bucket, Key=key, Body=b"x")
    s3.put_bucket_policy(Bucket=bucket, Policy=policy(
        {"Effect": "Allow", "Principal": "*", "Action": ["s3:GetObject", "s3:ListBucket"], "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"]}))
    status, _, body = anon(server, "GET", f"/{bucket}?list-type=2&prefix=docs/")
    assert status == 200
    assert [e.text for e in ET.fromstring(body).iter() if e.tag.endswith("}Key") or e.tag == "Key"] == ["docs/a.txt", "docs/b.txt"]
    status, _, body = anon(server, "GET", f"/{bucket}/docs/missing.txt")
    assert (status, error_code(body)) == (404, "NoSuchKey")


def test_explicit_deny_wins(server: EmulatorServer, s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="open.txt", Body=b"open")
    s3.put_object(Bucket=bucket, Key="secret/s.txt", Body=b"s", ACL="public-read")
    s3.put_bucket_policy(Bucket=bucket, Policy=policy(
        {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/*"},
        {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": f"arn:aws:s3:::{bucket}/secret/*"}))
    assert anon(server, "GET", f"/{bucket}/open.txt")[0] == 200
    # Denied though both the policy's Allow and the object's ACL grant it.
    assert_access_denied(*anon(server, "GET", f"/{bucket}/secret/s.txt"))


def test_policy_conditions_are_evaluated(server: EmulatorServer, s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="img.png", Body=b"png")
    s3.put_bucket_policy(Bucket=bucket, Policy=policy(
        {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/*",
         "Condition": {"StringLike": {"aws:Referer": ["https://example.com/*"]}}}))
    assert anon(server, "GET", f"/{bucket}/img.png", {"Referer": "https://example.com/page"})[:3:2] == (200, b"png")
    assert_access_denied(*anon(server, "GET", f"/{bucket}/img.png", {"Referer": "https://elsewhere.test/"}))
    assert_access_denied(*anon(server, "GET", f"/{bucket}/img.png"))
    s3.put_bucket_policy(Bucket=bucket, Policy=policy(
        {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/*",
         "Condition": {"IpAddress": {"aws:SourceIp": "127.0.0.0/8"}}},
        {"Effect": "Deny", "Principal": "*", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/*",
         "Condition": {"StringEquals": {"aws:UserAgent": "blocked-bot"}}}))
    assert anon(server, "GET", f"/{bucket}/img.png")[0] == 200
    assert_access_denied(*anon(server, "GET", f"/{bucket}/img.png", {"User-Agent": "blocked-bot"}))


# ------------------------------------------------------------------ Block Public Access
def test_ignore_public_acls(server: EmulatorServer, s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="acl.txt", Body=b"acl", ACL="public-read")
    s3.put_object(Bucket=bucket, Key="pol/p.txt", Body=b"pol")
    s3.put_bucket_policy(Bucket=bucket, Policy=policy(
        {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/pol/*"}))
    s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration={"IgnorePublicAcls": True})
    assert_access_denied(*anon(server, "GET", f"/{bucket}/acl.txt"))
    assert anon(server, "GET", f"/{bucket}/pol/p.txt")[0] == 200  # the policy is not an ACL
    s3.delete_public_access_block(Bucket=bucket)
    assert anon(server, "GET", f"/{bucket}/acl.txt")[0] == 200


def test_restrict_public_buckets(server: EmulatorServer, s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="p.txt", Body=b"p")
    s3.put_object(Bucket=bucket, Key="acl.txt", Body=b"a", ACL="public-read")
    s3.put_bucket_policy(Bucket=bucket, Policy=policy(
        {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/p.txt"}))
    assert anon(server, "GET", f"/{bucket}/p.txt")[0] == 200
    s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration={"RestrictPublicBuckets": True})
    # The policy is public: only the account's principals may use the bucket now.
    assert_access_denied(*anon(server, "GET", f"/{bucket}/p.txt"))
    assert_access_denied(*anon(server, "GET", f"/{bucket}/acl.txt"))
    assert s3.get_object(Bucket=bucket, Key="p.txt")["Body"].read() == b"p"
    # A policy limited to fixed source addresses is not public: it still applies.
    s3.put_bucket_policy(Bucket=bucket, Policy=policy(
        {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/p.txt",
         "Condition": {"IpAddress": {"aws:SourceIp": "127.0.0.1/32"}}}))
    assert anon(server, "GET", f"/{bucket}/p.txt")[0] == 200
    s3.delete_public_access_block(Bucket=bucket)


def test_account_level_block_public_access(server: EmulatorServer, s3: Any, bucket: str, resolve_localhost_subdomains: None) -> None:
    s3.put_object(Bucket=bucket, Key="acl.txt", Body=b"a", ACL="public-read")
    # s3control addresses the account as a host label: <account>.localhost.
    control = server.client("s3control", endpoint_url=f"http://localhost:{server.port}")
    account = "000000000000"
    control.put_public_access_block(AccountId=account, PublicAccessBlockConfiguration={"IgnorePublicAcls": True})
    try:
        assert_access_denied(*anon(server, "GET", f"/{bucket}/acl.txt"))
    finally:
        control.delete_public_access_block(AccountId=account)
    assert anon(server, "GET", f"/{bucket}/acl.txt")[0] == 200


# ------------------------------------------------------------------ clients and addressing
def test_boto3_unsigned_client_reads_public_objects(server: EmulatorServer, s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="data/file.bin", Body=DATA)
    s3.put_object(Bucket=bucket, Key="hidden.bin", Body=b"h")
    s3.put_bucket_policy(Bucket=bucket, Policy=policy(
        {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/data/*"},
        {"Effect": "Allow", "Principal": "*", "Action": "s3:ListBucket", "Resource": f"arn:aws:s3:::{bucket}",
         "Condition": {"StringLike": {"s3:prefix": "data/*"}}}))
    public = unsigned_client(server)
    got = public.get_object(Bucket=bucket, Key="data/file.bin")
    assert got["Body"].read() == DATA
    assert public.head_object(Bucket=bucket, Key="data/file.bin")["ContentLength"] == len(DATA)
    assert public.get_object(Bucket=bucket, Key="data/file.bin", Range="bytes=0-9")["Body"].read() == DATA[:10]
    listed = public.list_objects_v2(Bucket=bucket, Prefix="data/")
    assert [o["Key"] for o in listed["Contents"]] == ["data/file.bin"]
    for call in (lambda: public.get_object(Bucket=bucket, Key="hidden.bin"), lambda: public.list_objects_v2(Bucket=bucket)):
        with pytest.raises(ClientError) as caught:
            call()
        assert caught.value.response["Error"]["Code"] == "AccessDenied"
        assert caught.value.response["Error"]["Message"] == "Access Denied"
        assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_virtual_hosted_style(server: EmulatorServer, s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="index.html", Body=b"<h1>hi</h1>", ACL="public-read", ContentType="text/html")
    s3.put_object(Bucket=bucket, Key="private.html", Body=b"no")
    host = {"Host": f"{bucket}.localhost:{server.port}"}
    assert anon(server, "GET", "/index.html", host)[:3:2] == (200, b"<h1>hi</h1>")
    assert_access_denied(*anon(server, "GET", "/private.html", host))


def test_keys_that_look_like_other_services(server: EmulatorServer, s3: Any, bucket: str) -> None:
    """An OpenID Connect issuer's documents, as hosted in public buckets: served as S3 objects."""
    document = json.dumps({"issuer": f"https://{bucket}.s3.amazonaws.com/oidc"}).encode()
    for key in ("oidc/.well-known/openid-configuration", "oidc/.well-known/jwks.json"):
        s3.put_object(Bucket=bucket, Key=key, Body=document, ACL="public-read")
        assert anon(server, "GET", f"/{bucket}/{key}")[:3:2] == (200, document)


def test_unsigned_requests_that_name_no_bucket_keep_their_errors(server: EmulatorServer, s3: Any) -> None:
    status, _, body = anon(server, "GET", "/no-such-bucket-anon/key.txt")
    assert (status, json.loads(body)) == (404, {"__type": "UnknownOperationException", "message": "No AWS service or operation matches GET /no-such-bucket-anon/key.txt"})
    status, _, body = anon(server, "POST", "/", {"X-Amz-Target": "DynamoDB_20120810.ListTables", "Content-Type": "application/x-amz-json-1.0"}, b"{}")
    assert (status, json.loads(body)["__type"]) == (403, "MissingAuthenticationTokenException")
    status, _, body = anon(server, "GET", "/?Action=ListTopics&Version=2010-03-31")
    assert (status, [e.text for e in ET.fromstring(body).iter() if e.tag.endswith("Code")]) == (403, ["MissingAuthenticationToken"])
    assert anon(server, "GET", "/_emulator/health")[0] == 200
    # A request that carries credentials is never anonymous: a bad key is refused as before.
    name = f"anon-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    s3.put_object(Bucket=name, Key="k", Body=b"k", ACL="public-read")
    bad = boto3.client("s3", endpoint_url=server.endpoint, region_name=server.region, aws_access_key_id="AKIANOTAKEY000000000",
                       aws_secret_access_key="x" * 40, config=Config(retries={"max_attempts": 1}))
    with pytest.raises(ClientError) as caught:
        bad.get_object(Bucket=name, Key="k")
    assert caught.value.response["Error"]["Code"] == "InvalidAccessKeyId"


def _log_line(path: Path, request_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if path.exists():
            for line in path.read_text().splitlines():
                record = json.loads(line)
                if record.get("request_id") == request_id:
                    return dict(record)
        time.sleep(0.05)
    raise AssertionError(f"no line for {request_id} in {path}")


def test_logs_name_the_caller_anonymous(server: EmulatorServer, s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="pub.txt", Body=b"p", ACL="public-read")
    s3.put_object(Bucket=bucket, Key="priv.txt", Body=b"p")
    _, allowed, _ = anon(server, "GET", f"/{bucket}/pub.txt")
    _, denied, _ = anon(server, "GET", f"/{bucket}/priv.txt")
    audit = _log_line(server.data_dir / "audit.log", allowed["x-amzn-requestid"])
    assert {k: audit[k] for k in ("access_key_id", "user", "principal_arn", "service", "operation", "action", "resource", "decision", "status")} == {
        "access_key_id": "anonymous", "user": "anonymous", "principal_arn": "anonymous", "service": "s3", "operation": "GetObject",
        "action": "s3:GetObject", "resource": f"arn:aws:s3:::{bucket}/pub.txt", "decision": "allow", "status": 200}
    audit = _log_line(server.data_dir / "audit.log", denied["x-amzn-requestid"])
    assert (audit["access_key_id"], audit["decision"], audit["status"]) == ("anonymous", "implicit_deny", 403)
    access = _log_line(server.data_dir / "access.log", allowed["x-amzn-requestid"])
    assert (access["access_key_id"], access["operation"], access["status"]) == ("anonymous", "GetObject", 200)


def test_public_objects_survive_a_restart(tmp_path: Path) -> None:
    data_dir = tmp_path / "d"
    with EmulatorServer(data_dir=data_dir, extra_args=["--services", "dynamodb"]) as first:
        s3 = first.client("s3")
        s3.create_bucket(Bucket="anon-restart")
        s3.put_object(Bucket="anon-restart", Key="acl.txt", Body=b"acl", ACL="public-read")
        s3.put_object(Bucket="anon-restart", Key="pol/p.txt", Body=b"pol")
        s3.put_object(Bucket="anon-restart", Key="private.txt", Body=b"no")
        s3.put_bucket_policy(Bucket="anon-restart", Policy=policy(
            {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::anon-restart/pol/*"}))
    with EmulatorServer(data_dir=data_dir, extra_args=["--services", "dynamodb"]) as second:
        assert anon(second, "GET", "/anon-restart/acl.txt")[:3:2] == (200, b"acl")
        assert anon(second, "GET", "/anon-restart/pol/p.txt")[:3:2] == (200, b"pol")
        assert_access_denied(*anon(second, "GET", "/anon-restart/private.txt"))
