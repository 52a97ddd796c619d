"""S3 bucket policies for signed callers (emulator/gateway/s3_policy.py, decided by the
authorizer: emulator/gateway/authorize.py), through the wire with boto3: the root user, IAM
users and assumed-role sessions are allowed when their identity policies or the bucket policy
allow, an explicit Deny in either wins (the root user too, but for Get/Put/DeleteBucketPolicy),
conditions are evaluated with S3's condition keys, and refusals are S3's ``403 AccessDenied``
XML with AWS's message. moto's own bucket-policy check (which refused every request under a
Deny whose condition does not match) is off."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from botocore.config import Config
from botocore.exceptions import ClientError

from emulator.testing.raw import signed
from emulator.testing.server import EmulatorServer, TlsEmulatorServer

ACCOUNT = "000000000000"
ROOT = f"arn:aws:iam::{ACCOUNT}:root"


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    with EmulatorServer() as srv:
        yield srv


def policy(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def user(server: EmulatorServer, name: str, *statements: dict[str, Any], **config: Any) -> tuple[str, Any]:
    """An IAM user (with these identity policy statements) and an S3 client signed with its key."""
    iam = server.client("iam")
    arn = iam.create_user(UserName=name)["User"]["Arn"]
    if statements:
        iam.put_user_policy(UserName=name, PolicyName="inline", PolicyDocument=policy(*statements))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return arn, server.client("s3", aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"], **config)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def denied(call: Callable[[], Any]) -> str:
    """Run ``call``: it must be refused with S3's 403 AccessDenied; returns the message."""
    with pytest.raises(ClientError) as caught:
        call()
    response = caught.value.response
    assert (response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]) == ("AccessDenied", 403), response
    return str(response["Error"]["Message"])


def explicit_deny(principal: str, action: str, resource: str) -> str:
    return f'User: {principal} is not authorized to perform: {action} on resource: "{resource}" with an explicit deny in a resource-based policy'


REQUIRE_SSE = {"Sid": "DenyUnencrypted", "Effect": "Deny", "Principal": "*", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::{b}/*",
               "Condition": {"Null": {"s3:x-amz-server-side-encryption": "true"}}}


def fill(statement: dict[str, Any], bucket: str) -> dict[str, Any]:
    return json.loads(json.dumps(statement).replace("{b}", bucket))


# ------------------------------------------------------------------ the measured bug
def test_a_deny_whose_condition_does_not_match_refuses_nobody(server: EmulatorServer, s3: Any, bucket: str) -> None:
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({"Statement": [{
        "Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
        "Condition": {"StringEquals": {"s3:x-amz-server-side-encryption": "nonexistent"}}}]}))
    s3.put_object(Bucket=bucket, Key="k", Body=b"root")
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"root"
    assert s3.head_object(Bucket=bucket, Key="k")["ContentLength"] == 4
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == ["k"]
    _, alice = user(server, unique("bp-alice"), {"Effect": "Allow", "Action": "s3:*", "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"]})
    alice.put_object(Bucket=bucket, Key="a", Body=b"alice")
    assert alice.get_object(Bucket=bucket, Key="a")["Body"].read() == b"alice"
    alice.delete_object(Bucket=bucket, Key="a")
    s3.delete_object(Bucket=bucket, Key="k")
    s3.delete_bucket_policy(Bucket=bucket)
    s3.delete_bucket(Bucket=bucket)


# ------------------------------------------------------------------ a Deny that matches
def test_encryption_required_refuses_root_and_users_without_the_header(server: EmulatorServer, s3: Any, bucket: str) -> None:
    s3.put_bucket_policy(Bucket=bucket, Policy=policy(fill(REQUIRE_SSE, bucket)))
    message = denied(lambda: s3.put_object(Bucket=bucket, Key="plain", Body=b"x"))
    assert message == explicit_deny(ROOT, "s3:PutObject", f"arn:aws:s3:::{bucket}/plain")
    s3.put_object(Bucket=bucket, Key="sealed", Body=b"x", ServerSideEncryption="AES256")
    assert s3.get_object(Bucket=bucket, Key="sealed")["ServerSideEncryption"] == "AES256"
    # A multipart upload is s3:PutObject too: its start carries the header; its parts and its
    # completion (which carry none) are the upload's, encrypted as it asked.
    denied(lambda: s3.create_multipart_upload(Bucket=bucket, Key="mp"))
    upload = s3.create_multipart_upload(Bucket=bucket, Key="mp", ServerSideEncryption="AES256")["UploadId"]
    etag = s3.upload_part(Bucket=bucket, Key="mp", UploadId=upload, PartNumber=1, Body=b"part")["ETag"]
    s3.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=upload, MultipartUpload={"Parts": [{"ETag": etag, "PartNumber": 1}]})
    assert s3.get_object(Bucket=bucket, Key="mp")["Body"].read() == b"part"

    arn, bob = user(server, unique("bp-bob"), {"Effect": "Allow", "Action": "s3:*", "Resource": "*"})
    assert denied(lambda: bob.put_object(Bucket=bucket, Key="plain", Body=b"x")) == explicit_deny(arn, "s3:PutObject", f"arn:aws:s3:::{bucket}/plain")
    bob.put_object(Bucket=bucket, Key="bob", Body=b"x", ServerSideEncryption="AES256")
    assert bob.get_object(Bucket=bucket, Key="sealed")["Body"].read() == b"x"
    with pytest.raises(ClientError):
        s3.head_object(Bucket=bucket, Key="plain")


def test_refusal_is_s3_access_denied_xml(server: EmulatorServer, s3: Any, bucket: str) -> None:
    s3.put_bucket_policy(Bucket=bucket, Policy=policy(fill(REQUIRE_SSE, bucket)))
    refused = signed(server, "PUT", f"/{bucket}/raw.txt", service="s3", body=b"raw", headers={"x-amz-content-sha256": "UNSIGNED-PAYLOAD"})
    assert refused.status == 403, refused.body
    assert refused.headers["content-type"] == "application/xml"
    root = ET.fromstring(refused.body)
    assert (root.tag, root.findtext("Code")) == ("Error", "AccessDenied")
    assert root.findtext("Message") == explicit_deny(ROOT, "s3:PutObject", f"arn:aws:s3:::{bucket}/raw.txt")
    assert root.findtext("RequestId") == refused.headers["x-amz-request-id"]
    accepted = signed(server, "PUT", f"/{bucket}/raw.txt", service="s3", body=b"raw",
                      headers={"x-amz-content-sha256": "UNSIGNED-PAYLOAD", "x-amz-server-side-encryption": "AES256"})
    assert accepted.status == 200, accepted.body


def test_secure_transport_is_false_over_http(server: EmulatorServer, s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"k")
    s3.put_bucket_policy(Bucket=bucket, Policy=policy({
        "Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "s3:*",
        "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"], "Condition": {"Bool": {"aws:SecureTransport": "false"}}}))
    assert denied(lambda: s3.get_object(Bucket=bucket, Key="k")) == explicit_deny(ROOT, "s3:GetObject", f"arn:aws:s3:::{bucket}/k")
    assert denied(lambda: s3.list_objects_v2(Bucket=bucket)) == explicit_deny(ROOT, "s3:ListBucket", f"arn:aws:s3:::{bucket}")
    _, carol = user(server, unique("bp-carol"), {"Effect": "Allow", "Action": "s3:*", "Resource": "*"})
    denied(lambda: carol.get_object(Bucket=bucket, Key="k"))
    # Not governed by a bucket policy: the account's buckets are listed, others created.
    assert bucket in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    # The root user can always remove the policy that locks everyone out.
    s3.delete_bucket_policy(Bucket=bucket)
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"k"


def test_secure_transport_is_true_over_tls(tmp_path: Path) -> None:
    with TlsEmulatorServer(data_dir=tmp_path / "data", extra_args=["--services", "dynamodb"]) as tls:
        s3 = tls.client("s3")
        s3.create_bucket(Bucket="bp-tls")
        s3.put_bucket_policy(Bucket="bp-tls", Policy=policy({
            "Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": ["arn:aws:s3:::bp-tls", "arn:aws:s3:::bp-tls/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}}}))
        s3.put_object(Bucket="bp-tls", Key="k", Body=b"over tls")
        assert s3.get_object(Bucket="bp-tls", Key="k")["Body"].read() == b"over tls"
        s3.close()


# ------------------------------------------------------------------ the root user
def test_root_can_always_manage_the_policy_that_denies_everything(server: EmulatorServer, s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"k")
    deny_all = policy({"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"]})
    s3.put_bucket_policy(Bucket=bucket, Policy=deny_all)
    denied(lambda: s3.get_object(Bucket=bucket, Key="k"))
    denied(lambda: s3.put_object(Bucket=bucket, Key="k2", Body=b"x"))
    denied(lambda: s3.delete_bucket(Bucket=bucket))
    assert denied(lambda: s3.get_bucket_acl(Bucket=bucket)) == explicit_deny(ROOT, "s3:GetBucketAcl", f"arn:aws:s3:::{bucket}")
    # An IAM user with every permission is refused the policy's management too.
    _, admin = user(server, unique("bp-admin"), {"Effect": "Allow", "Action": "*", "Resource": "*"})
    denied(lambda: admin.get_bucket_policy(Bucket=bucket))
    denied(lambda: admin.delete_bucket_policy(Bucket=bucket))
    # The root user is not.
    assert json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"]) == json.loads(deny_all)
    s3.put_bucket_policy(Bucket=bucket, Policy=deny_all)
    s3.delete_bucket_policy(Bucket=bucket)
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"k"
    assert admin.get_object(Bucket=bucket, Key="k")["Body"].read() == b"k"


def test_deny_naming_the_account_applies_to_its_root(server: EmulatorServer, s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"k")
    s3.put_bucket_policy(Bucket=bucket, Policy=policy(
        {"Effect": "Deny", "Principal": {"AWS": ACCOUNT}, "Action": "s3:DeleteObject", "Resource": f"arn:aws:s3:::{bucket}/*"}))
    denied(lambda: s3.delete_object(Bucket=bucket, Key="k"))
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"k"


# ------------------------------------------------------------------ Allow by the bucket policy
def test_user_without_identity_policies_allowed_by_the_bucket_policy(server: EmulatorServer, s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="shared/report.csv", Body=b"a,b")
    s3.put_object(Bucket=bucket, Key="private/secret", Body=b"s")
    dave_arn, dave = user(server, unique("bp-dave"))
    erin_arn, erin = user(server, unique("bp-erin"))
    s3.put_bucket_policy(Bucket=bucket, Policy=policy(
        {"Effect": "Allow", "Principal": {"AWS": dave_arn}, "Action": ["s3:GetObject", "s3:PutObject"], "Resource": f"arn:aws:s3:::{bucket}/shared/*"},
        {"Effect": "Allow", "Principal": {"AWS": dave_arn}, "Action": "s3:ListBucket", "Resource": f"arn:aws:s3:::{bucket}",
         "Condition": {"StringLike": {"s3:prefix": "shared/*"}}}))
    assert dave.get_object(Bucket=bucket, Key="shared/report.csv")["Body"].read() == b"a,b"
    dave.put_object(Bucket=bucket, Key="shared/new.csv", Body=b"n")
    assert [o["Key"] for o in dave.list_objects_v2(Bucket=bucket, Prefix="shared/")["Contents"]] == ["shared/new.csv", "shared/report.csv"]
    assert denied(lambda: dave.list_objects_v2(Bucket=bucket)) == (
        f'User: {dave_arn} is not authorized to perform: s3:ListBucket on resource: "arn:aws:s3:::{bucket}" because no identity-based policy allows the s3:ListBucket action')
    denied(lambda: dave.get_object(Bucket=bucket, Key="private/secret"))
    denied(lambda: dave.delete_object(Bucket=bucket, Key="shared/new.csv"))
    # Another user of the account, not named: its identity policies (none) decide.
    assert denied(lambda: erin.get_object(Bucket=bucket, Key="shared/report.csv")) == (
        f'User: {erin_arn} is not authorized to perform: s3:GetObject on resource: "arn:aws:s3:::{bucket}/shared/report.csv" '
        "because no identity-based policy allows the s3:GetObject action")


def test_assumed_role_session_allowed_and_denied_by_the_bucket_policy(server: EmulatorServer, s3: Any, bucket: str) -> None:
    iam = server.client("iam")
    name = unique("bp-role")
    trust = policy({"Effect": "Allow", "Principal": {"AWS": ROOT}, "Action": "sts:AssumeRole"})
    role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust)["Role"]["Arn"]
    creds = server.client("sts").get_session_token()["Credentials"]  # an STS session of the root user
    session_root = server.client("s3", aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"], aws_session_token=creds["SessionToken"])
    caller = unique("bp-caller")
    iam.create_user(UserName=caller)
    iam.put_user_policy(UserName=caller, PolicyName="assume", PolicyDocument=policy({"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": role}))
    key = iam.create_access_key(UserName=caller)["AccessKey"]
    sts = server.client("sts", aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])
    assumed = sts.assume_role(RoleArn=role, RoleSessionName="job")["Credentials"]
    job = server.client("s3", aws_access_key_id=assumed["AccessKeyId"], aws_secret_access_key=assumed["SecretAccessKey"], aws_session_token=assumed["SessionToken"])
    s3.put_object(Bucket=bucket, Key="in/a", Body=b"a")
    s3.put_object(Bucket=bucket, Key="out/b", Body=b"b")
    s3.put_bucket_policy(Bucket=bucket, Policy=policy(
        {"Effect": "Allow", "Principal": {"AWS": role}, "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/*"},
        {"Effect": "Deny", "Principal": {"AWS": role}, "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/out/*"}))
    assert job.get_object(Bucket=bucket, Key="in/a")["Body"].read() == b"a"
    session = f"arn:aws:sts::{ACCOUNT}:assumed-role/{name}/job"
    assert denied(lambda: job.get_object(Bucket=bucket, Key="out/b")) == explicit_deny(session, "s3:GetObject", f"arn:aws:s3:::{bucket}/out/b")
    denied(lambda: job.put_object(Bucket=bucket, Key="in/c", Body=b"c"))  # no Allow for it anywhere
    # aws:PrincipalArn is the role's ARN for its sessions, the root user's for root's session.
    s3.put_bucket_policy(Bucket=bucket, Policy=policy(
        {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/*",
         "Condition": {"ArnEquals": {"aws:PrincipalArn": role}}},
        {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": f"arn:aws:s3:::{bucket}/*",
         "Condition": {"ArnNotEquals": {"aws:PrincipalArn": [role, ROOT]}}}))
    assert job.get_object(Bucket=bucket, Key="out/b")["Body"].read() == b"b"
    assert session_root.get_object(Bucket=bucket, Key="out/b")["Body"].read() == b"b"
    _, frank = user(server, unique("bp-frank"), {"Effect": "Allow", "Action": "s3:*", "Resource": "*"})
    denied(lambda: frank.get_object(Bucket=bucket, Key="in/a"))


# ------------------------------------------------------------------ prefixes, keys, conditions
def test_deny_on_a_prefix(server: EmulatorServer, s3: Any, bucket: str) -> None:
    for key in ("public/a", "private/b", "private/c"):
        s3.put_object(Bucket=bucket, Key=key, Body=key.encode())
    s3.put_bucket_policy(Bucket=bucket, Policy=policy(
        {"Effect": "Deny", "Principal": "*", "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"], "Resource": f"arn:aws:s3:::{bucket}/private/*"}))
    assert s3.get_object(Bucket=bucket, Key="public/a")["Body"].read() == b"public/a"
    assert denied(lambda: s3.get_object(Bucket=bucket, Key="private/b")) == explicit_deny(ROOT, "s3:GetObject", f"arn:aws:s3:::{bucket}/private/b")
    denied(lambda: s3.put_object(Bucket=bucket, Key="private/new", Body=b"n"))
    denied(lambda: s3.delete_object(Bucket=bucket, Key="private/b"))
    # A copy reads its source: a denied one is refused.
    denied(lambda: s3.copy_object(Bucket=bucket, Key="public/copy", CopySource=f"{bucket}/private/b"))
    s3.copy_object(Bucket=bucket, Key="public/copy", CopySource=f"{bucket}/public/a")
    # DeleteObjects: S3 decides each key, and answers the denied ones with AccessDenied.
    result = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "public/a"}, {"Key": "private/c"}]})
    assert [d["Key"] for d in result.get("Deleted", [])] == ["public/a"]
    assert [(e["Key"], e["Code"]) for e in result["Errors"]] == [("private/c", "AccessDenied")]
    assert sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]) == ["private/b", "private/c", "public/copy"]


def test_condition_keys(server: EmulatorServer, s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="secret.txt", Body=b"s", Tagging="classification=secret")
    s3.put_object(Bucket=bucket, Key="open.txt", Body=b"o", Tagging="classification=open")
    s3.put_bucket_policy(Bucket=bucket, Policy=policy(
        {"Effect": "Deny", "Principal": "*", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/*",
         "Condition": {"StringEquals": {"s3:ExistingObjectTag/classification": "secret"}}},
        {"Effect": "Deny", "Principal": "*", "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{bucket}/*",
         "Condition": {"StringEquals": {"s3:x-amz-acl": "public-read"}}},
        {"Effect": "Deny", "Principal": "*", "Action": "s3:ListBucket", "Resource": f"arn:aws:s3:::{bucket}",
         "Condition": {"StringEquals": {"s3:prefix": "hidden/"}}},
        {"Effect": "Deny", "Principal": "*", "Action": "s3:DeleteObject", "Resource": f"arn:aws:s3:::{bucket}/*",
         "Condition": {"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}}},
        {"Effect": "Deny", "Principal": "*", "Action": "s3:GetObjectTagging", "Resource": f"arn:aws:s3:::{bucket}/*",
         "Condition": {"StringEquals": {"s3:signatureversion": "AWS4-HMAC-SHA256", "s3:authType": "REST-HEADER",
                                        "aws:PrincipalAccount": ACCOUNT, "aws:userid": ACCOUNT}}}))
    assert s3.get_object(Bucket=bucket, Key="open.txt")["Body"].read() == b"o"
    denied(lambda: s3.get_object(Bucket=bucket, Key="secret.txt"))
    denied(lambda: s3.put_object(Bucket=bucket, Key="acl.txt", Body=b"a", ACL="public-read"))
    s3.put_object(Bucket=bucket, Key="acl.txt", Body=b"a", ACL="private")
    denied(lambda: s3.list_objects_v2(Bucket=bucket, Prefix="hidden/"))
    assert s3.list_objects_v2(Bucket=bucket, Prefix="open")["KeyCount"] == 1
    denied(lambda: s3.delete_object(Bucket=bucket, Key="open.txt"))  # the caller is 127.0.0.1
    denied(lambda: s3.get_object_tagging(Bucket=bucket, Key="open.txt"))
    # aws:username: present for IAM users, absent for the root user.
    grace_arn, grace = user(server, unique("bp-grace"), {"Effect": "Allow", "Action": "s3:*", "Resource": "*"})
    grace_name = grace_arn.rsplit("/", 1)[1]
    s3.put_bucket_policy(Bucket=bucket, Policy=policy(
        {"Effect": "Deny", "Principal": "*", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/*",
         "Condition": {"StringEquals": {"aws:username": grace_name}}}))
    denied(lambda: grace.get_object(Bucket=bucket, Key="open.txt"))
    assert s3.get_object(Bucket=bucket, Key="open.txt")["Body"].read() == b"o"


def test_presigned_urls_under_a_bucket_policy(server: EmulatorServer, s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="doc.txt", Body=b"doc")
    s3.put_object(Bucket=bucket, Key="deny/x.txt", Body=b"x")
    henry_arn, henry = user(server, unique("bp-henry"), config=Config(signature_version="s3v4"))
    s3.put_bucket_policy(Bucket=bucket, Policy=policy(
        {"Effect": "Allow", "Principal": {"AWS": henry_arn}, "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/*"},
        {"Effect": "Deny", "Principal": "*", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/deny/*"}))
    for client in (henry, s3):  # SigV4 and boto3's default for S3 presigned URLs (SigV2)
        url = client.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "doc.txt"}, ExpiresIn=300)
        with urllib.request.urlopen(url, timeout=10) as response:
            assert response.read() == b"doc"
        url = client.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "deny/x.txt"}, ExpiresIn=300)
        with pytest.raises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(url, timeout=10)
        assert caught.value.code == 403
        body = ET.fromstring(caught.value.read())
        assert body.findtext("Code") == "AccessDenied"
        assert str(body.findtext("Message")).endswith("with an explicit deny in a resource-based policy")
    # s3:authType tells presigned URLs from signed headers.
    s3.put_bucket_policy(Bucket=bucket, Policy=policy(
        {"Effect": "Deny", "Principal": "*", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/*",
         "Condition": {"StringEquals": {"s3:authType": "REST-QUERY-STRING"}}}))
    assert s3.get_object(Bucket=bucket, Key="doc.txt")["Body"].read() == b"doc"
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "doc.txt"}, ExpiresIn=300)
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(url, timeout=10)
    assert refused.value.code == 403


def test_browser_post_upload_form_fields_are_its_condition_keys(server: EmulatorServer, s3: Any, bucket: str) -> None:
    s3.put_bucket_policy(Bucket=bucket, Policy=policy(fill(REQUIRE_SSE, bucket), {
        "Effect": "Deny", "Principal": "*", "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{bucket}/*",
        "Condition": {"StringNotEquals": {"s3:authType": "POST"}, "StringEquals": {"s3:signatureversion": "AWS"}}}))
    signer = server.client("s3", config=Config(signature_version="s3v4"))
    plain = signer.generate_presigned_post(bucket, "plain.txt", ExpiresIn=300)
    response = requests.post(plain["url"], data=plain["fields"], files={"file": ("a.txt", b"plain")}, timeout=30)
    assert response.status_code == 403
    assert ET.fromstring(response.content).findtext("Message") == explicit_deny(ROOT, "s3:PutObject", f"arn:aws:s3:::{bucket}/plain.txt")
    sealed = signer.generate_presigned_post(bucket, "sealed.txt", Fields={"x-amz-server-side-encryption": "AES256"},
                                            Conditions=[{"x-amz-server-side-encryption": "AES256"}], ExpiresIn=300)
    response = requests.post(sealed["url"], data=sealed["fields"], files={"file": ("a.txt", b"sealed")}, timeout=30)
    assert response.status_code == 204, response.text
    assert s3.get_object(Bucket=bucket, Key="sealed.txt")["Body"].read() == b"sealed"


def test_enforcement_survives_a_restart(tmp_path: Path) -> None:
    data_dir = tmp_path / "d"
    with EmulatorServer(data_dir=data_dir, extra_args=["--services", "dynamodb"]) as first:
        s3 = first.client("s3")
        s3.create_bucket(Bucket="bp-restart")
        s3.put_bucket_policy(Bucket="bp-restart", Policy=policy(fill(REQUIRE_SSE, "bp-restart")))
        denied(lambda: s3.put_object(Bucket="bp-restart", Key="plain", Body=b"x"))
    with EmulatorServer(data_dir=data_dir, extra_args=["--services", "dynamodb"]) as second:
        s3 = second.client("s3")
        denied(lambda: s3.put_object(Bucket="bp-restart", Key="plain", Body=b"x"))
        s3.put_object(Bucket="bp-restart", Key="sealed", Body=b"x", ServerSideEncryption="AES256")
        assert s3.get_object(Bucket="bp-restart", Key="sealed")["Body"].read() == b"x"


def test_a_write_that_sets_an_acl_needs_put_object_acl_too(server: EmulatorServer, s3: Any, bucket: str) -> None:
    """PutObject/CopyObject/CreateMultipartUpload with x-amz-acl or x-amz-grant-* need
    s3:PutObjectAcl besides their own action (API_PutObject.html)."""
    put_only = {"Effect": "Allow", "Action": ["s3:PutObject", "s3:GetObject"], "Resource": f"arn:aws:s3:::{bucket}/*"}
    arn, writer = user(server, unique("acl-writer"), put_only)
    writer.put_object(Bucket=bucket, Key="acl/plain", Body=b"x")
    message = denied(lambda: writer.put_object(Bucket=bucket, Key="acl/public", Body=b"x", ACL="public-read"))
    assert "s3:PutObjectAcl" in message and arn in message
    denied(lambda: writer.put_object(Bucket=bucket, Key="acl/granted", Body=b"x", GrantRead='uri="http://acs.amazonaws.com/groups/global/AllUsers"'))
    denied(lambda: writer.create_multipart_upload(Bucket=bucket, Key="acl/mpu", ACL="public-read"))
    denied(lambda: writer.copy_object(Bucket=bucket, Key="acl/copy", CopySource={"Bucket": bucket, "Key": "acl/plain"}, ACL="public-read"))
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="acl/").get("Contents", [])] == ["acl/plain"]
    with_acl = {"Effect": "Allow", "Action": ["s3:PutObject", "s3:PutObjectAcl"], "Resource": f"arn:aws:s3:::{bucket}/*"}
    _, acl_writer = user(server, unique("acl-writer2"), with_acl)
    acl_writer.put_object(Bucket=bucket, Key="acl/public", Body=b"x", ACL="public-read")
    grants = s3.get_object_acl(Bucket=bucket, Key="acl/public")["Grants"]
    assert any(g["Grantee"].get("URI", "").endswith("/AllUsers") for g in grants)
