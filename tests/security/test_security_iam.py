"""IAM users, keys and policies through the wire; keys take (and lose) effect at once."""

from __future__ import annotations

import json
import os
import stat

import pytest
from security_helpers import Users, error_code, error_of

from emulator.testing.server import EmulatorServer

DOC = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:List*", "Resource": "*"}]}


def test_user_lifecycle_and_errors(sec_server: EmulatorServer) -> None:
    iam = sec_server.client("iam")
    user = iam.create_user(UserName="carol", Path="/team/")["User"]
    assert user["Arn"] == "arn:aws:iam::000000000000:user/team/carol"
    assert user["UserId"].startswith("AIDA")
    assert iam.get_user(UserName="carol")["User"]["UserName"] == "carol"
    assert "carol" in [u["UserName"] for u in iam.list_users()["Users"]]
    assert [u["UserName"] for u in iam.list_users(PathPrefix="/team/")["Users"]] == ["carol"]
    dup = error_of(lambda: iam.create_user(UserName="carol"))
    assert (dup["Code"], dup["HTTPStatusCode"], dup["Message"]) == ("EntityAlreadyExists", 409, "User with name carol already exists.")
    missing = error_of(lambda: iam.get_user(UserName="nosuch"))
    assert (missing["Code"], missing["HTTPStatusCode"], missing["Message"]) == ("NoSuchEntity", 404, "The user with name nosuch cannot be found.")
    iam.delete_user(UserName="carol")
    assert error_code(lambda: iam.get_user(UserName="carol")) == "NoSuchEntity"


def test_user_tags(sec_server: EmulatorServer) -> None:
    iam = sec_server.client("iam")
    iam.create_user(UserName="tagged", Tags=[{"Key": "team", "Value": "a"}])
    iam.tag_user(UserName="tagged", Tags=[{"Key": "team", "Value": "b"}, {"Key": "env", "Value": "dev"}])
    assert iam.list_user_tags(UserName="tagged")["Tags"] == [{"Key": "team", "Value": "b"}, {"Key": "env", "Value": "dev"}]
    iam.untag_user(UserName="tagged", TagKeys=["team"])
    assert iam.list_user_tags(UserName="tagged")["Tags"] == [{"Key": "env", "Value": "dev"}]
    too_many = error_of(lambda: iam.tag_user(UserName="tagged", Tags=[{"Key": f"k{i}", "Value": "v"} for i in range(50)]))
    assert (too_many["Code"], too_many["HTTPStatusCode"]) == ("LimitExceeded", 409)
    assert iam.list_user_tags(UserName="tagged")["Tags"] == [{"Key": "env", "Value": "dev"}]  # nothing saved on error
    for call in (lambda: iam.tag_user(UserName="nosuch", Tags=[{"Key": "k", "Value": "v"}]), lambda: iam.untag_user(UserName="nosuch", TagKeys=["k"])):
        missing = error_of(call)
        assert (missing["Code"], missing["HTTPStatusCode"], missing["Message"]) == ("NoSuchEntity", 404, "The user with name nosuch cannot be found.")
    iam.delete_user(UserName="tagged")


def test_user_path_update_and_terraform_force_destroy_listing(sec_server: EmulatorServer) -> None:
    """Terraform's aws_iam_user: UpdateUser on a path change; with force_destroy, the user's other
    credentials are listed (none here) and the login profile is deleted (NoSuchEntity, tolerated)."""
    iam = sec_server.client("iam")
    iam.create_user(UserName="tf-user", Path="/")
    iam.update_user(UserName="tf-user", NewPath="/ops/")
    user = iam.get_user(UserName="tf-user")["User"]
    assert (user["Path"], user["Arn"]) == ("/ops/", "arn:aws:iam::000000000000:user/ops/tf-user")
    iam.create_user(UserName="tf-other")
    taken = error_of(lambda: iam.update_user(UserName="tf-user", NewUserName="tf-other"))
    assert (taken["Code"], taken["HTTPStatusCode"], taken["Message"]) == ("EntityAlreadyExists", 409, "User with name tf-other already exists.")
    iam.delete_user(UserName="tf-other")
    # A rename (Terraform changes the name in place) takes the keys and policies along.
    key = iam.create_access_key(UserName="tf-user")["AccessKey"]
    iam.put_user_policy(UserName="tf-user", PolicyName="p", PolicyDocument=json.dumps(DOC))
    iam.attach_user_policy(UserName="tf-user", PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")
    iam.update_user(UserName="tf-user", NewUserName="tf-renamed")
    assert iam.get_user(UserName="tf-renamed")["User"]["Arn"] == "arn:aws:iam::000000000000:user/ops/tf-renamed"
    assert [k["AccessKeyId"] for k in iam.list_access_keys(UserName="tf-renamed")["AccessKeyMetadata"]] == [key["AccessKeyId"]]
    assert iam.list_user_policies(UserName="tf-renamed")["PolicyNames"] == ["p"]
    assert [p["PolicyName"] for p in iam.list_attached_user_policies(UserName="tf-renamed")["AttachedPolicies"]] == ["ReadOnlyAccess"]
    assert error_code(lambda: iam.get_user(UserName="tf-user")) == "NoSuchEntity"
    as_user = sec_server.client("iam", aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])
    assert as_user.get_user()["User"]["UserName"] == "tf-renamed"  # the key signs as the renamed user
    iam.delete_access_key(UserName="tf-renamed", AccessKeyId=key["AccessKeyId"])
    iam.delete_user_policy(UserName="tf-renamed", PolicyName="p")
    iam.detach_user_policy(UserName="tf-renamed", PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")
    iam.update_user(UserName="tf-renamed", NewUserName="tf-user", NewPath="/ops/")
    assert iam.list_ssh_public_keys(UserName="tf-user")["SSHPublicKeys"] == []
    assert iam.list_mfa_devices(UserName="tf-user")["MFADevices"] == []
    assert iam.list_signing_certificates(UserName="tf-user")["Certificates"] == []
    assert iam.list_service_specific_credentials(UserName="tf-user")["ServiceSpecificCredentials"] == []
    for call in (lambda: iam.get_login_profile(UserName="tf-user"), lambda: iam.delete_login_profile(UserName="tf-user")):
        missing = error_of(call)
        assert (missing["Code"], missing["HTTPStatusCode"], missing["Message"]) == ("NoSuchEntity", 404, "Login Profile for User tf-user cannot be found.")
    iam.delete_user(UserName="tf-user")
    for call in (lambda: iam.list_mfa_devices(UserName="tf-user"), lambda: iam.update_user(UserName="tf-user", NewPath="/x/"),
                 lambda: iam.get_login_profile(UserName="tf-user")):
        missing = error_of(call)
        assert (missing["Code"], missing["Message"]) == ("NoSuchEntity", "The user with name tf-user cannot be found.")


def test_policy_versions_and_tags_as_terraform_updates_them(sec_server: EmulatorServer) -> None:
    """aws_iam_policy: tags read with ListPolicyTags, a changed document is a new default
    version (CreatePolicyVersion), old versions are listed and deleted before DeletePolicy."""
    iam = sec_server.client("iam")
    arn = iam.create_policy(PolicyName="tf-versions", PolicyDocument=json.dumps(DOC), Tags=[{"Key": "env", "Value": "a"}])["Policy"]["Arn"]
    iam.tag_policy(PolicyArn=arn, Tags=[{"Key": "team", "Value": "b"}])
    iam.untag_policy(PolicyArn=arn, TagKeys=["env"])
    assert iam.list_policy_tags(PolicyArn=arn)["Tags"] == [{"Key": "team", "Value": "b"}]
    changed = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:Get*", "Resource": "*"}]}
    created = iam.create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(changed), SetAsDefault=True)["PolicyVersion"]
    assert (created["VersionId"], created["IsDefaultVersion"], "Document" in created) == ("v2", True, False)
    assert iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"] == "v2"
    assert iam.get_policy_version(PolicyArn=arn, VersionId="v2")["PolicyVersion"]["Document"] == changed
    assert [(v["VersionId"], v["IsDefaultVersion"]) for v in iam.list_policy_versions(PolicyArn=arn)["Versions"]] == [("v2", True), ("v1", False)]
    conflict = error_of(lambda: iam.delete_policy_version(PolicyArn=arn, VersionId="v2"))
    assert (conflict["Code"], conflict["HTTPStatusCode"]) == ("DeleteConflict", 409)
    for _ in range(3):
        iam.create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(DOC))
    full = error_of(lambda: iam.create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(DOC)))
    assert (full["Code"], full["HTTPStatusCode"]) == ("LimitExceeded", 409)
    iam.set_default_policy_version(PolicyArn=arn, VersionId="v5")
    for version in ("v1", "v2", "v3", "v4"):
        iam.delete_policy_version(PolicyArn=arn, VersionId=version)
    assert [v["VersionId"] for v in iam.list_policy_versions(PolicyArn=arn)["Versions"]] == ["v5"]
    assert error_code(lambda: iam.delete_policy_version(PolicyArn=arn, VersionId="v1")) == "NoSuchEntity"
    managed = error_of(lambda: iam.create_policy_version(PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess", PolicyDocument=json.dumps(DOC)))
    assert (managed["Code"], managed["HTTPStatusCode"]) == ("AccessDenied", 403)
    iam.delete_policy(PolicyArn=arn)
    assert error_code(lambda: iam.list_policy_tags(PolicyArn=arn)) == "NoSuchEntity"


def test_policies_attach_detach_inline_and_versions(sec_server: EmulatorServer) -> None:
    iam = sec_server.client("iam")
    iam.create_user(UserName="dave")
    policy = iam.create_policy(PolicyName="list-all", PolicyDocument=json.dumps(DOC), Description="lists")["Policy"]
    arn = policy["Arn"]
    assert arn == "arn:aws:iam::000000000000:policy/list-all"
    assert policy["DefaultVersionId"] == "v1" and policy["AttachmentCount"] == 0
    iam.attach_user_policy(UserName="dave", PolicyArn=arn)
    assert iam.get_policy(PolicyArn=arn)["Policy"]["AttachmentCount"] == 1
    assert iam.list_attached_user_policies(UserName="dave")["AttachedPolicies"] == [{"PolicyName": "list-all", "PolicyArn": arn}]
    version = iam.get_policy_version(PolicyArn=arn, VersionId="v1")["PolicyVersion"]
    assert version["Document"] == DOC and version["IsDefaultVersion"] is True  # botocore URL-decodes and parses it
    assert arn in [p["Arn"] for p in iam.list_policies(Scope="Local")["Policies"]]
    assert "arn:aws:iam::aws:policy/AdministratorAccess" in [p["Arn"] for p in iam.list_policies(Scope="AWS")["Policies"]]
    assert error_code(lambda: iam.delete_policy(PolicyArn=arn)) == "DeleteConflict"
    assert error_code(lambda: iam.delete_user(UserName="dave")) == "DeleteConflict"
    iam.detach_user_policy(UserName="dave", PolicyArn=arn)
    iam.delete_policy(PolicyArn=arn)
    assert error_code(lambda: iam.get_policy(PolicyArn=arn)) == "NoSuchEntity"

    iam.put_user_policy(UserName="dave", PolicyName="inline", PolicyDocument=json.dumps(DOC))
    assert iam.list_user_policies(UserName="dave")["PolicyNames"] == ["inline"]
    assert iam.get_user_policy(UserName="dave", PolicyName="inline")["PolicyDocument"] == DOC
    iam.delete_user_policy(UserName="dave", PolicyName="inline")
    assert error_code(lambda: iam.get_user_policy(UserName="dave", PolicyName="inline")) == "NoSuchEntity"
    iam.delete_user(UserName="dave")

    bad = error_of(lambda: iam.create_policy(PolicyName="bad", PolicyDocument='{"Statement": [{"Effect": "Allow"}]}'))
    assert bad["Code"] == "MalformedPolicyDocument"


def test_keys_work_at_once_and_stop_at_once(sec_server: EmulatorServer, users: Users) -> None:
    iam = sec_server.client("iam")
    users.create("erin", {"Effect": "Allow", "Action": "iam:ListUsers", "Resource": "*"})
    key = users.keys["erin"]
    client = users.client("erin", "iam")
    assert error_code(client.list_users) is None
    listed = iam.list_access_keys(UserName="erin")["AccessKeyMetadata"]
    assert [k["AccessKeyId"] for k in listed] == [key["aws_access_key_id"]]
    assert "SecretAccessKey" not in listed[0]

    iam.update_access_key(UserName="erin", AccessKeyId=key["aws_access_key_id"], Status="Inactive")
    assert error_code(client.list_users) == "InvalidClientTokenId"
    iam.update_access_key(UserName="erin", AccessKeyId=key["aws_access_key_id"], Status="Active")
    assert error_code(client.list_users) is None

    second = iam.create_access_key(UserName="erin")["AccessKey"]
    assert error_code(lambda: iam.create_access_key(UserName="erin")) == "LimitExceeded"
    iam.delete_access_key(UserName="erin", AccessKeyId=key["aws_access_key_id"])
    assert error_code(client.list_users) == "InvalidClientTokenId"
    ddb = sec_server.client("dynamodb", aws_access_key_id=key["aws_access_key_id"], aws_secret_access_key=key["aws_secret_access_key"])
    assert error_code(ddb.list_tables) == "UnrecognizedClientException"
    assert error_code(lambda: iam.delete_access_key(UserName="erin", AccessKeyId=key["aws_access_key_id"])) == "NoSuchEntity"
    iam.delete_access_key(UserName="erin", AccessKeyId=second["AccessKeyId"])


def test_secrets_are_encrypted_at_rest_and_never_logged(sec_server: EmulatorServer, users: Users) -> None:
    key = users.create("frank")
    secret = key["aws_secret_access_key"]
    data_dir = sec_server.data_dir
    keys_json = (data_dir / "keys.json").read_text()
    assert key["aws_access_key_id"] in keys_json
    assert secret not in keys_json
    assert sec_server.secret_key not in keys_json
    master = data_dir / "master.key"
    assert stat.S_IMODE(os.stat(master).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(data_dir / "keys.json").st_mode) == 0o600
    users.client("frank", "iam")
    assert error_code(users.client("frank", "iam").list_users) == "AccessDenied"
    for name in ("audit.log", "access.log", "iam.json"):
        path = data_dir / name
        if path.exists():
            assert secret not in path.read_text(), name


def test_caller_defaults(sec_server: EmulatorServer, users: Users) -> None:
    users.create("gina", {"Effect": "Allow", "Action": ["iam:GetUser", "iam:ListAccessKeys"], "Resource": "arn:aws:iam::*:user/${aws:username}"})
    client = users.client("gina", "iam")
    assert client.get_user()["User"]["UserName"] == "gina"
    assert len(client.list_access_keys()["AccessKeyMetadata"]) == 1
    assert error_code(lambda: client.get_user(UserName="erin")) == "AccessDenied"
    root = sec_server.client("iam").get_user()["User"]
    assert root["Arn"] == "arn:aws:iam::000000000000:root"


@pytest.mark.parametrize("version", ["2099-01-01", "2006-03-01"])
def test_unknown_query_api_version_is_refused(sec_server: EmulatorServer, version: str) -> None:
    import requests
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    body = f"Action=ListUsers&Version={version}"
    req = AWSRequest("POST", sec_server.endpoint + "/", data=body, headers={"Content-Type": "application/x-www-form-urlencoded"})
    SigV4Auth(Credentials(sec_server.access_key, sec_server.secret_key), "iam", "us-east-1").add_auth(req)
    resp = requests.post(sec_server.endpoint + "/", data=body, headers=dict(req.headers.items()), timeout=10)
    assert resp.status_code == 400
    assert "<Code>InvalidAction</Code>" in resp.text
    assert f"Could not find operation ListUsers for version {version}" in resp.text


def test_cli_users_and_policies_reach_a_running_server(sec_server: EmulatorServer) -> None:
    import subprocess
    import sys
    import time

    def cli(*args: str) -> str:
        proc = subprocess.run([sys.executable, "-m", "emulator", *args, "--data-dir", str(sec_server.data_dir)], capture_output=True, text=True, timeout=60, check=False)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    cli("iam", "create-user", "hank")
    key = json.loads(cli("keys", "create", "--user", "hank"))
    client = sec_server.client("iam", aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])
    deadline = time.time() + 5
    while error_code(client.list_users) == "InvalidClientTokenId" and time.time() < deadline:
        time.sleep(0.1)
    assert error_code(client.list_users) == "AccessDenied"
    cli("iam", "put-user-policy", "hank", "list", json.dumps(DOC))
    deadline = time.time() + 5
    while error_code(client.list_users) is not None and time.time() < deadline:
        time.sleep(0.1)
    assert error_code(client.list_users) is None
    # the server's own IAM API sees the CLI's user and policy
    assert sec_server.client("iam").list_user_policies(UserName="hank")["PolicyNames"] == ["list"]


def test_validation_through_the_wire(sec_server: EmulatorServer) -> None:
    iam = sec_server.client("iam")
    err = error_of(lambda: iam.create_user(UserName="bad name!"))
    assert (err["Code"], err["HTTPStatusCode"]) == ("ValidationError", 400)
    assert err["Message"] == "1 validation error detected: Value 'bad name!' at 'userName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+"
    ddb = sec_server.client("dynamodb")
    err = error_of(lambda: ddb.get_item(TableName="a!b", Key={"pk": {"S": "x"}}))
    assert (err["Code"], err["HTTPStatusCode"]) == ("ValidationException", 400)
    assert err["Message"] == "1 validation error detected: Value 'a!b' at 'tableName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+"


def test_every_aws_managed_policy_with_its_real_document(sec_server: EmulatorServer) -> None:
    """AWS's catalog of managed policies (the copy moto ships, which moto's roles use too): their
    paths, documents and default versions, attachable to users and enforced."""
    iam = sec_server.client("iam")
    lambda_basic = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
    policy = iam.get_policy(PolicyArn=lambda_basic)["Policy"]
    assert (policy["PolicyName"], policy["Path"]) == ("AWSLambdaBasicExecutionRole", "/service-role/")
    assert policy["PolicyId"].startswith("ANPA") and len(policy["PolicyId"]) == 21
    version = iam.get_policy_version(PolicyArn=lambda_basic, VersionId=policy["DefaultVersionId"])["PolicyVersion"]
    actions = {a for s in version["Document"]["Statement"] for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}
    assert "logs:PutLogEvents" in actions
    arns: list[str] = []
    for page in iam.get_paginator("list_policies").paginate(Scope="AWS"):
        arns += [p["Arn"] for p in page["Policies"]]
    assert len(arns) > 1000 and lambda_basic in arns
    # A policy outside the handful the emulator once wrote by hand: SQS read-only.
    users = Users(sec_server)
    users.create("sqs-reader", managed=["arn:aws:iam::aws:policy/AmazonSQSReadOnlyAccess"])
    sqs = users.client("sqs-reader", "sqs")
    assert error_code(lambda: sqs.list_queues()) is None
    assert error_code(lambda: sqs.create_queue(QueueName="not-allowed")) == "AccessDenied"
    assert error_code(lambda: iam.get_policy(PolicyArn="arn:aws:iam::aws:policy/NoSuchManagedPolicy")) == "NoSuchEntity"
