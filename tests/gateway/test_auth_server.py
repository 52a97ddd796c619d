"""SigV4 through a real server with unmodified boto3: the errors AWS gives, per protocol family."""

from __future__ import annotations

import datetime
import json
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any
from unittest import mock

import boto3
import pytest
import requests
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError

from emulator.testing.raw import FORM, form, signed
from emulator.testing.server import EmulatorServer

NO_RETRY = Config(retries={"max_attempts": 1, "mode": "standard"})


def error_of(call: Callable[[], Any]) -> tuple[str, int, str]:
    with pytest.raises(ClientError) as info:
        call()
    err = info.value.response
    return err["Error"]["Code"], err["ResponseMetadata"]["HTTPStatusCode"], err["Error"].get("Message", "")


def client(emulator: EmulatorServer, service: str, **kwargs: Any) -> Any:
    args = {**emulator.client_kwargs(), "config": NO_RETRY, **kwargs}
    return boto3.client(service, **args)


# --- a json protocol service (dynamodb) and a query protocol service (sts) ---------


def test_signed_requests_pass(emulator: EmulatorServer) -> None:
    ident = client(emulator, "sts").get_caller_identity()
    assert ident["Account"] == "000000000000"


def test_no_auth_json(emulator: EmulatorServer) -> None:
    ddb = client(emulator, "dynamodb", config=Config(signature_version=UNSIGNED, retries={"max_attempts": 1}))
    code, status, message = error_of(ddb.list_tables)
    assert (code, status) == ("MissingAuthenticationTokenException", 403)
    assert message == "Request is missing Authentication Token"


def test_no_auth_query(emulator: EmulatorServer) -> None:
    sts = client(emulator, "sts", config=Config(signature_version=UNSIGNED, retries={"max_attempts": 1}))
    code, status, _ = error_of(sts.get_caller_identity)
    assert (code, status) == ("MissingAuthenticationToken", 403)


def test_unknown_key(emulator: EmulatorServer) -> None:
    code, status, message = error_of(client(emulator, "dynamodb", aws_access_key_id="AKIANOSUCHKEY0000000").list_tables)
    assert (code, status) == ("UnrecognizedClientException", 400)
    assert message == "The security token included in the request is invalid."
    code, status, _ = error_of(client(emulator, "sts", aws_access_key_id="AKIANOSUCHKEY0000000").get_caller_identity)
    assert (code, status) == ("InvalidClientTokenId", 403)


def test_wrong_signature(emulator: EmulatorServer) -> None:
    code, status, message = error_of(client(emulator, "dynamodb", aws_secret_access_key="wrong").list_tables)
    assert (code, status) == ("InvalidSignatureException", 403)
    assert message.startswith("The request signature we calculated does not match the signature you provided.")
    code, status, _ = error_of(client(emulator, "sts", aws_secret_access_key="wrong").get_caller_identity)
    assert (code, status) == ("SignatureDoesNotMatch", 403)


@pytest.mark.parametrize(("minutes", "phrase"), [(-20, "Signature expired"), (20, "Signature not yet current")])
def test_clock_skew(emulator: EmulatorServer, minutes: int, phrase: str) -> None:
    skewed = datetime.datetime.now(datetime.UTC).replace(tzinfo=None) + datetime.timedelta(minutes=minutes)
    ddb = client(emulator, "dynamodb")
    sts = client(emulator, "sts")
    with mock.patch("botocore.auth.get_current_datetime", return_value=skewed):
        code, status, message = error_of(ddb.list_tables)
        assert (code, status) == ("InvalidSignatureException", 403)
        assert message.startswith(phrase)
        code, status, message = error_of(sts.get_caller_identity)
        assert (code, status) == ("SignatureDoesNotMatch", 403)
        assert message.startswith(phrase)


def test_small_skew_is_accepted(emulator: EmulatorServer) -> None:
    skewed = datetime.datetime.now(datetime.UTC).replace(tzinfo=None) - datetime.timedelta(minutes=10)
    with mock.patch("botocore.auth.get_current_datetime", return_value=skewed):
        assert client(emulator, "sts").get_caller_identity()["Account"] == "000000000000"


# --- presigned URLs -------------------------------------------------------------------


def test_presigned_url(emulator: EmulatorServer) -> None:
    sts = client(emulator, "sts")
    url = sts.generate_presigned_url("get_caller_identity", Params={}, ExpiresIn=300, HttpMethod="GET")
    assert "X-Amz-Signature=" in url
    resp = requests.get(url, timeout=30)
    assert resp.status_code == 200, resp.text
    assert "<Account>000000000000</Account>" in resp.text


def test_presigned_post_url_of_a_query_api(emulator: EmulatorServer) -> None:
    """botocore presigns a query API's call as a POST by default, its parameters moved into the
    query string and the body left empty; AWS serves it so."""
    sts = client(emulator, "sts")
    url = sts.generate_presigned_url("get_caller_identity", Params={}, ExpiresIn=300)
    assert "Action=GetCallerIdentity" in url
    resp = requests.post(url, timeout=30)
    assert resp.status_code == 200, resp.text
    assert "<Account>000000000000</Account>" in resp.text
    iam = client(emulator, "iam")
    listed = requests.post(iam.generate_presigned_url("list_users", Params={"MaxItems": 5}, ExpiresIn=300), timeout=30)
    assert listed.status_code == 200 and "<ListUsersResult>" in listed.text, listed.text


def test_presigned_url_tampered_or_expired(emulator: EmulatorServer) -> None:
    sts = client(emulator, "sts")
    url = sts.generate_presigned_url("get_caller_identity", Params={}, ExpiresIn=300, HttpMethod="GET")
    tampered = url.replace("Action=GetCallerIdentity", "Action=GetCallerIdentity&Extra=1")
    resp = requests.get(tampered, timeout=30)
    assert resp.status_code == 403
    assert "SignatureDoesNotMatch" in resp.text
    past = datetime.datetime.now(datetime.UTC).replace(tzinfo=None) - datetime.timedelta(minutes=10)
    with mock.patch("botocore.auth.get_current_datetime", return_value=past):
        old = sts.generate_presigned_url("get_caller_identity", Params={}, ExpiresIn=60, HttpMethod="GET")
    resp = requests.get(old, timeout=30)
    assert resp.status_code == 403
    assert "Signature expired" in resp.text


def test_s3_presigned_urls_of_signature_version_2(emulator: EmulatorServer) -> None:
    # boto3 presigns S3 URLs with Signature Version 2 by default (AWSAccessKeyId, Signature, Expires).
    s3 = client(emulator, "s3")
    s3.create_bucket(Bucket="sigv2-presigned")
    s3.put_object(Bucket="sigv2-presigned", Key="dir/a b.txt", Body=b"hello")
    params = {"Bucket": "sigv2-presigned", "Key": "dir/a b.txt"}
    url = s3.generate_presigned_url("get_object", Params=params, ExpiresIn=300)
    assert "AWSAccessKeyId=" in url and "X-Amz-Signature" not in url
    resp = requests.get(url, timeout=30)
    assert resp.status_code == 200 and resp.content == b"hello"
    # A signed sub-resource (a response header override) is part of the signature.
    typed = s3.generate_presigned_url("get_object", Params={**params, "ResponseContentType": "text/x-test"}, ExpiresIn=300)
    resp = requests.get(typed, timeout=30)
    assert resp.status_code == 200 and resp.headers["content-type"] == "text/x-test"
    # An upload with a signed Content-Type, then a HEAD with its own URL.
    put = s3.generate_presigned_url("put_object", Params={"Bucket": "sigv2-presigned", "Key": "up", "ContentType": "text/plain"}, ExpiresIn=300)
    resp = requests.put(put, data=b"uploaded", headers={"content-type": "text/plain"}, timeout=30)
    assert resp.status_code == 200, resp.text
    head = s3.generate_presigned_url("head_object", Params={"Bucket": "sigv2-presigned", "Key": "up"}, ExpiresIn=300)
    resp = requests.head(head, timeout=30)
    assert resp.status_code == 200 and resp.headers["content-length"] == "8"
    # The verb is signed: the GET URL does not serve a DELETE.
    assert requests.delete(url, timeout=30).status_code == 403
    assert s3.get_object(Bucket="sigv2-presigned", Key="dir/a b.txt")["Body"].read() == b"hello"


def test_s3_presigned_urls_of_signature_version_2_with_temporary_credentials(emulator: EmulatorServer) -> None:
    """Session credentials put their token in the URL as x-amz-security-token (lower case, as
    SigV2 names it; SigV4 URLs say X-Amz-Security-Token): an app running under a role hands
    out links that work, and a link without its token or with another one does not."""
    root = client(emulator, "s3")
    root.create_bucket(Bucket="sigv2-session")
    root.put_object(Bucket="sigv2-session", Key="doc", Body=b"doc")
    creds = client(emulator, "sts").get_session_token(DurationSeconds=900)["Credentials"]
    s3 = boto3.client("s3", endpoint_url=emulator.endpoint, region_name="us-east-1", aws_access_key_id=creds["AccessKeyId"],
                      aws_secret_access_key=creds["SecretAccessKey"], aws_session_token=creds["SessionToken"])
    url = s3.generate_presigned_url("get_object", Params={"Bucket": "sigv2-session", "Key": "doc"}, ExpiresIn=300)
    assert "AWSAccessKeyId=ASIA" in url and "x-amz-security-token=" in url
    resp = requests.get(url, timeout=30)
    assert resp.status_code == 200 and resp.content == b"doc"
    put = s3.generate_presigned_url("put_object", Params={"Bucket": "sigv2-session", "Key": "up"}, ExpiresIn=300)
    assert requests.put(put, data=b"up", timeout=30).status_code == 200
    assert root.get_object(Bucket="sigv2-session", Key="up")["Body"].read() == b"up"
    token = url.split("x-amz-security-token=", 1)[1].split("&", 1)[0]
    assert requests.get(url.replace(token, token[:-4] + "AAAA"), timeout=30).status_code == 403


def test_s3_presigned_urls_of_signature_version_2_refused(emulator: EmulatorServer) -> None:
    s3 = client(emulator, "s3")
    s3.create_bucket(Bucket="sigv2-refused")
    s3.put_object(Bucket="sigv2-refused", Key="k", Body=b"x")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": "sigv2-refused", "Key": "k"}, ExpiresIn=300)

    def code(target: str) -> tuple[int, str]:
        resp = requests.get(target, timeout=30)
        return resp.status_code, resp.text.split("<Code>", 1)[1].split("</Code>", 1)[0] if "<Code>" in resp.text else resp.text

    assert code(url.replace("/k?", "/other?")) == (403, "SignatureDoesNotMatch")
    assert code(url.replace(f"AWSAccessKeyId={emulator.access_key}", "AWSAccessKeyId=AKIANOSUCHKEY0000000")) == (403, "InvalidAccessKeyId")
    with mock.patch("botocore.auth.time.time", return_value=time.time() - 3600):
        old = s3.generate_presigned_url("get_object", Params={"Bucket": "sigv2-refused", "Key": "k"}, ExpiresIn=60)
    status, text = code(old)
    assert (status, text) == (403, "AccessDenied")
    assert "Request has expired" in requests.get(old, timeout=30).text


def test_s3_refusals_in_s3_words(emulator: EmulatorServer) -> None:
    # S3 has its own codes for what other services call UnrecognizedClientException,
    # InvalidSignatureException and "Signature expired" (all 403).
    client(emulator, "s3").create_bucket(Bucket="s3-refusals")
    wrong = client(emulator, "s3", aws_secret_access_key="not-the-secret")
    assert error_of(lambda: wrong.list_objects_v2(Bucket="s3-refusals"))[:2] == ("SignatureDoesNotMatch", 403)
    unknown = client(emulator, "s3", aws_access_key_id="AKIANOSUCHKEY0000000")
    assert error_of(lambda: unknown.list_objects_v2(Bucket="s3-refusals"))[:2] == ("InvalidAccessKeyId", 403)
    s3 = client(emulator, "s3")
    past = datetime.datetime.now(datetime.UTC).replace(tzinfo=None) - datetime.timedelta(minutes=30)
    with mock.patch("botocore.auth.get_current_datetime", return_value=past):
        assert error_of(lambda: s3.list_objects_v2(Bucket="s3-refusals"))[:2] == ("RequestTimeTooSkewed", 403)
    v4 = client(emulator, "s3", config=Config(signature_version="s3v4", retries={"max_attempts": 1}))
    with mock.patch("botocore.auth.get_current_datetime", return_value=past):
        url = v4.generate_presigned_url("list_objects_v2", Params={"Bucket": "s3-refusals"}, ExpiresIn=60)
    resp = requests.get(url, timeout=30)
    assert resp.status_code == 403 and "<Code>AccessDenied</Code>" in resp.text and "Request has expired" in resp.text
    # Other services keep theirs.
    assert error_of(lambda: client(emulator, "dynamodb", aws_secret_access_key="not-the-secret").list_tables())[:2] == ("InvalidSignatureException", 403)


def test_unsigned_payload(emulator: EmulatorServer) -> None:
    body = form(Action="GetCallerIdentity", Version="2011-06-15")
    resp = signed(emulator, "POST", "/", service="sts", headers={**FORM, "x-amz-content-sha256": "UNSIGNED-PAYLOAD"}, body=body)
    assert resp.status == 200, resp.body
    assert b"<Account>000000000000</Account>" in resp.body
    # A declared hash that does not match the body is refused.
    resp = signed(emulator, "POST", "/", service="sts", headers={**FORM, "x-amz-content-sha256": "0" * 64}, body=body)
    assert resp.status == 400
    assert b"XAmzContentSHA256Mismatch" in resp.body


def test_cli_keys_apply_to_a_running_server(tmp_path: Any) -> None:
    """`emulator keys create` works against a running server at once; `keys delete` revokes."""
    data = tmp_path / "data"
    with EmulatorServer(data_dir=data) as server:
        out = subprocess.run([sys.executable, "-m", "emulator", "keys", "create", "--user", "alice", "--data-dir", str(data)], capture_output=True, text=True, check=True)
        key = json.loads(out.stdout)
        assert key["UserName"] == "alice" and key["AccessKeyId"].startswith("AKIA")
        alice = boto3.client("sts", endpoint_url=server.endpoint, region_name="us-east-1", aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"], config=NO_RETRY)
        assert alice.get_caller_identity()["Account"] == "000000000000"
        subprocess.run([sys.executable, "-m", "emulator", "keys", "delete", key["AccessKeyId"], "--data-dir", str(data)], check=True, capture_output=True)
        deadline = time.time() + 10
        while True:  # the server re-reads keys.json at most once a second for known keys
            try:
                alice.get_caller_identity()
            except ClientError as exc:
                assert exc.response["Error"]["Code"] == "InvalidClientTokenId"
                break
            assert time.time() < deadline, "deleted key still accepted"
            time.sleep(0.2)
        # The root key still works.
        assert server.client("sts").get_caller_identity()["Account"] == "000000000000"


# --- S3 presigned POST (browser-based uploads) ------------------------------------------


@pytest.mark.parametrize("signature_version", ["s3", "s3v4"])
def test_s3_presigned_post(emulator: EmulatorServer, signature_version: str) -> None:
    # generate_presigned_post signs a POST policy (V2 by default, V4 with s3v4); the upload is
    # a multipart form with no Authorization header. It was an UnknownOperationException.
    s3 = client(emulator, "s3")
    signer = client(emulator, "s3", config=Config(signature_version=signature_version))
    bucket = f"presigned-post-{signature_version}"
    s3.create_bucket(Bucket=bucket)
    post = signer.generate_presigned_post(bucket, "up/${filename}", Fields={"Content-Type": "image/png"}, Conditions=[{"Content-Type": "image/png"}, ["content-length-range", 1, 1000]], ExpiresIn=300)
    data = bytes(range(256)) + b"\r\n--not-a-boundary\r\n"
    resp = requests.post(post["url"], data=post["fields"], files={"file": ("pic.png", data)}, timeout=30)
    assert resp.status_code == 204, resp.text
    got = s3.get_object(Bucket=bucket, Key="up/pic.png")  # S3 fills in ${filename}
    assert got["Body"].read() == data and got["ContentType"] == "image/png"

    def refused(fields: dict[str, str], content: bytes = b"x") -> tuple[int, str]:
        r = requests.post(post["url"], data=fields, files={"file": ("a.png", content)}, timeout=30)
        return r.status_code, r.text.split("<Code>", 1)[1].split("</Code>", 1)[0] if "<Code>" in r.text else r.text

    assert refused(post["fields"], b"x" * 2000) == (400, "EntityTooLarge")
    assert refused({**post["fields"], "Content-Type": "text/html"}) == (403, "AccessDenied")  # a condition fails
    assert refused({**post["fields"], "extra": "1"}) == (403, "AccessDenied")  # a field no condition covers
    assert refused({**post["fields"], "policy": post["fields"]["policy"][:-4] + "AAA="}) == (403, "SignatureDoesNotMatch")
    expired = signer.generate_presigned_post(bucket, "late", ExpiresIn=-10)
    resp = requests.post(expired["url"], data=expired["fields"], files={"file": ("a", b"x")}, timeout=30)
    assert resp.status_code == 403 and "Policy expired" in resp.text
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket, Prefix="late")


def test_s3_presigned_post_is_authorized_as_put_object(emulator: EmulatorServer) -> None:
    iam = client(emulator, "iam")
    iam.create_user(UserName="post-reader")
    iam.put_user_policy(UserName="post-reader", PolicyName="read", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket"], "Resource": "*"}]}))
    key = iam.create_access_key(UserName="post-reader")["AccessKey"]
    client(emulator, "s3").create_bucket(Bucket="presigned-post-authz")
    reader = client(emulator, "s3", aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])
    post = reader.generate_presigned_post("presigned-post-authz", "k", ExpiresIn=300)
    resp = requests.post(post["url"], data=post["fields"], files={"file": ("a", b"x")}, timeout=30)
    assert resp.status_code == 403 and "<Code>AccessDenied</Code>" in resp.text and "s3:PutObject" in resp.text


# --- S3 virtual-hosted-style addressing -------------------------------------------------


@pytest.mark.parametrize("signature_version", ["s3", "s3v4"])
def test_s3_presigned_urls_virtual_hosted_style(emulator: EmulatorServer, resolve_localhost_subdomains: Any, signature_version: str) -> None:
    # SigV2 signs the path-style resource (/bucket/key) whatever the addressing; it was
    # checked against the path as sent (/key): SignatureDoesNotMatch.
    endpoint = emulator.endpoint.replace("127.0.0.1", "localhost")
    s3 = client(emulator, "s3", endpoint_url=endpoint, config=Config(signature_version=signature_version, s3={"addressing_style": "virtual"}))
    bucket = f"vhost-presigned-{signature_version.replace('3', 'x')}"
    client(emulator, "s3").create_bucket(Bucket=bucket)
    client(emulator, "s3").put_object(Bucket=bucket, Key="dir/k", Body=b"hello")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "dir/k"}, ExpiresIn=300)
    assert url.startswith(f"http://{bucket}.localhost:")
    resp = requests.get(url, timeout=30)
    assert resp.status_code == 200 and resp.content == b"hello", resp.text
    listing = s3.generate_presigned_url("list_objects_v2", Params={"Bucket": bucket}, ExpiresIn=300)
    resp = requests.get(listing, timeout=30)
    assert resp.status_code == 200 and "<Key>dir/k</Key>" in resp.text, resp.text


def test_s3_presigned_v2_url_of_a_bucket_path_style(emulator: EmulatorServer) -> None:
    # botocore signs a bucket's resource as "/bucket/" while the URL path is "/bucket".
    s3 = client(emulator, "s3")
    s3.create_bucket(Bucket="sigv2-bucket-url")
    s3.put_object(Bucket="sigv2-bucket-url", Key="k", Body=b"x")
    url = s3.generate_presigned_url("list_objects_v2", Params={"Bucket": "sigv2-bucket-url"}, ExpiresIn=300)
    assert "AWSAccessKeyId=" in url
    resp = requests.get(url, timeout=30)
    assert resp.status_code == 200 and "<Key>k</Key>" in resp.text, resp.text


# --- STS GetCallerIdentity --------------------------------------------------------------


def test_sts_get_caller_identity_names_the_signer(emulator: EmulatorServer) -> None:
    # moto answered "arn:aws:sts::<account>:user/moto" (UserId AKIAIOSFODNN7EXAMPLE) for every key.
    root = client(emulator, "sts").get_caller_identity()
    assert (root["UserId"], root["Account"], root["Arn"]) == ("000000000000", "000000000000", "arn:aws:iam::000000000000:root")
    iam = client(emulator, "iam")
    user = iam.create_user(UserName="whoami-user", Path="/team/")["User"]
    key = iam.create_access_key(UserName="whoami-user")["AccessKey"]
    ident = client(emulator, "sts", aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"]).get_caller_identity()
    assert (ident["UserId"], ident["Account"], ident["Arn"]) == (user["UserId"], "000000000000", "arn:aws:iam::000000000000:user/team/whoami-user")
