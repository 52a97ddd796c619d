"""``POST /_emulator/reset`` (emulator/gateway/reset.py): an empty account again, as the pytest
plugin asks before every test. Through the wire with boto3, on a server of this module's own
(a reset here must not wipe what other tests made on the session's server).

The server runs IAM as its only native service: the moto fallback serves SQS, S3 and SNS, the
gateway STS sessions, so these tests cover the moto reset, the sessions' and IAM's."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from emulator.testing.server import EmulatorServer

ACCOUNT = "000000000000"
LAMBDA_BASIC = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    with EmulatorServer(extra_args=["--services", "iam"]) as srv:
        yield srv


def _error(call: Callable[[], Any]) -> tuple[str, int]:
    with pytest.raises(ClientError) as info:
        call()
    err = info.value.response
    return err["Error"]["Code"], err["ResponseMetadata"]["HTTPStatusCode"]


def _post(server: EmulatorServer, body: bytes, authorization: str | None) -> tuple[int, dict[str, Any]]:
    headers = {"content-type": "application/json"}
    if authorization is not None:
        headers["authorization"] = authorization
    req = urllib.request.Request(server.endpoint + "/_emulator/reset", data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def _root(server: EmulatorServer) -> str:
    return f"Bearer {server.access_key}:{server.secret_key}"


def _doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _with_key(server: EmulatorServer, service: str, key_id: str, secret: str, token: str | None = None) -> Any:
    return server.client(service, aws_access_key_id=key_id, aws_secret_access_key=secret, aws_session_token=token)


def test_reset_forgets_every_resource(server: EmulatorServer) -> None:
    sqs, s3, sns, iam = (server.client(name) for name in ("sqs", "s3", "sns", "iam"))
    for name in ("reset-a", "reset-b"):
        sqs.create_queue(QueueName=name)
    s3.create_bucket(Bucket="reset-bucket")
    s3.put_object(Bucket="reset-bucket", Key="k", Body=b"v")
    sns.create_topic(Name="reset-topic")
    iam.create_user(UserName="reset-alice", Tags=[{"Key": "team", "Value": "a"}])
    user_key = iam.create_access_key(UserName="reset-alice")["AccessKey"]
    policy = iam.create_policy(PolicyName="reset-allow", PolicyDocument=_doc({"Effect": "Allow", "Action": ["sts:AssumeRole", "sqs:ListQueues"], "Resource": "*"}))
    iam.attach_user_policy(UserName="reset-alice", PolicyArn=policy["Policy"]["Arn"])
    role = iam.create_role(RoleName="reset-role", AssumeRolePolicyDocument=_doc({"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "sts:AssumeRole"}))
    iam.attach_role_policy(RoleName="reset-role", PolicyArn=policy["Policy"]["Arn"])
    alice_sqs = _with_key(server, "sqs", user_key["AccessKeyId"], user_key["SecretAccessKey"])
    assert len(alice_sqs.list_queues()["QueueUrls"]) == 2
    creds = _with_key(server, "sts", user_key["AccessKeyId"], user_key["SecretAccessKey"]).assume_role(RoleArn=role["Role"]["Arn"], RoleSessionName="s1")["Credentials"]
    session_sts = _with_key(server, "sts", creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])
    assert session_sts.get_caller_identity()["Arn"].endswith(":assumed-role/reset-role/s1")

    assert "sqs" in server.reset() and "iam" in server.reset()  # the second one: nothing left to do

    # Root still signs; every resource is gone.
    assert "QueueUrls" not in sqs.list_queues()
    assert s3.list_buckets()["Buckets"] == []
    assert sns.list_topics()["Topics"] == []
    assert iam.list_users()["Users"] == []
    assert iam.list_policies(Scope="Local")["Policies"] == []
    assert iam.list_roles()["Roles"] == []
    assert _error(lambda: iam.get_user(UserName="reset-alice")) == ("NoSuchEntity", 404)
    # The user's key and the session's credentials are unknown keys now.
    assert _error(alice_sqs.list_queues)[0] in ("InvalidClientTokenId", "UnrecognizedClientException")
    assert _error(_with_key(server, "sts", user_key["AccessKeyId"], user_key["SecretAccessKey"]).get_caller_identity) == ("InvalidClientTokenId", 403)
    assert _error(session_sts.get_caller_identity) == ("InvalidClientTokenId", 403)
    assert server.client("sts").get_caller_identity()["Arn"] == f"arn:aws:iam::{ACCOUNT}:root"

    # The same names can be made again, and start empty: no permission of the old user.
    s3.create_bucket(Bucket="reset-bucket")
    assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == ["reset-bucket"]
    iam.create_user(UserName="reset-alice")
    assert iam.list_attached_user_policies(UserName="reset-alice")["AttachedPolicies"] == []
    assert iam.list_user_tags(UserName="reset-alice")["Tags"] == []
    new_key = iam.create_access_key(UserName="reset-alice")["AccessKey"]
    assert _error(_with_key(server, "sqs", new_key["AccessKeyId"], new_key["SecretAccessKey"]).list_queues)[0] in ("AccessDenied", "AccessDeniedException")
    # AWS managed policies are still there to attach to a new role.
    iam.create_role(RoleName="reset-fn", AssumeRolePolicyDocument=_doc({"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}))
    iam.attach_role_policy(RoleName="reset-fn", PolicyArn=LAMBDA_BASIC)
    assert [p["PolicyArn"] for p in iam.list_attached_role_policies(RoleName="reset-fn")["AttachedPolicies"]] == [LAMBDA_BASIC]
    server.reset()


def test_reset_keeps_the_operators_keys(server: EmulatorServer) -> None:
    """Root keys, and keys made outside IAM (``emulator keys create --user NAME`` for a NAME that
    is no IAM user: here through the key store file, as the CLI writes it), survive a reset."""
    from emulator.gateway.keys import KeyStore

    store = KeyStore(server.data_dir)
    extra_root, outsider = store.create("root"), store.create("ci-bot")
    server.reset()  # reads keys.json again first: these are in it
    for key in (extra_root, outsider):
        assert _with_key(server, "sts", key.access_key_id, key.secret_access_key).get_caller_identity()["Account"] == ACCOUNT
    store.delete(extra_root.access_key_id)
    store.delete(outsider.access_key_id)


def test_reset_named_services_only(server: EmulatorServer) -> None:
    sqs, s3 = server.client("sqs"), server.client("s3")
    sqs.create_queue(QueueName="only-q")
    s3.create_bucket(Bucket="only-bucket")
    assert server.reset(services=["sqs"]) == ["sqs"]
    assert "QueueUrls" not in sqs.list_queues()
    assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == ["only-bucket"]
    sqs.create_queue(QueueName="only-q")
    done = server.reset(keep=["s3"])
    assert "s3" not in done and "sqs" in done
    assert "QueueUrls" not in sqs.list_queues()
    assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == ["only-bucket"]
    # A native service with moto parts: "iam" alone also forgets moto's roles.
    iam = server.client("iam")
    iam.create_role(RoleName="only-role", AssumeRolePolicyDocument=_doc({"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}))
    assert server.reset(services=["iam"]) == ["iam"]
    assert iam.list_roles()["Roles"] == []
    assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == ["only-bucket"]
    server.reset()


@pytest.mark.parametrize(
    ("body", "authorization", "status"),
    [
        (b"{}", None, 403),
        (b"{}", "Bearer AKIANOSUCHKEY0000000:nope", 403),
        (b"{}", "Basic abc", 403),
        (b'{"services": ["no-such-service"]}', "root", 400),
        (b'{"keep": ["no-such-service"]}', "root", 400),
        (b'{"services": ["sqs"], "keep": ["s3"]}', "root", 400),
        (b'{"services": "sqs"}', "root", 400),
        (b"[]", "root", 400),
        (b"{not json", "root", 400),
    ],
)
def test_reset_route_errors(server: EmulatorServer, body: bytes, authorization: str | None, status: int) -> None:
    got, doc = _post(server, body, _root(server) if authorization == "root" else authorization)
    assert got == status
    assert doc["error"]["message"]


def test_reset_skips_a_service_that_failed_to_start(tmp_path: Any) -> None:
    """DynamoDB on a PostgreSQL that does not answer fails at start; the others serve, and a
    reset resets them instead of failing on the one that holds nothing."""
    with EmulatorServer(data_dir=tmp_path, extra_args=["--services", "dynamodb,iam", "--storage", "postgresql://postgres@127.0.0.1:1/none"]) as s:
        health = json.loads(urllib.request.urlopen(s.endpoint + "/_emulator/health", timeout=10).read())
        assert health["services"]["dynamodb"]["state"] == "failed"
        s.client("iam").create_user(UserName="temp")
        assert "dynamodb" in s.reset()
        assert s.client("iam").list_users()["Users"] == []
