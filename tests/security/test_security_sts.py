"""STS temporary credentials through the wire: AssumeRole and GetSessionToken are answered by
the gateway (emulator/gateway/sessions.py), whose keys then sign requests with their token."""

from __future__ import annotations

import json
from typing import Any

from security_helpers import Users, error_code, error_of

from emulator.testing.server import EmulatorServer

ALLOW_ASSUME = {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}


def _trust(principal: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}]})


def _session_client(server: EmulatorServer, service: str, credentials: dict[str, Any], token: str | None = None) -> Any:
    return server.client(service, aws_access_key_id=credentials["AccessKeyId"], aws_secret_access_key=credentials["SecretAccessKey"],
                         aws_session_token=credentials["SessionToken"] if token is None else token)


def test_assume_role_session_is_authorized_with_the_role_policies(sec_server: EmulatorServer, users: Users) -> None:
    account = sec_server.client("sts").get_caller_identity()["Account"]
    users.create("sts-dev", ALLOW_ASSUME)
    iam = sec_server.client("iam")
    role = iam.create_role(RoleName="sts-reader", AssumeRolePolicyDocument=_trust({"AWS": f"arn:aws:iam::{account}:root"}))["Role"]
    iam.put_role_policy(RoleName="sts-reader", PolicyName="list", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "dynamodb:ListTables", "Resource": "*"}]}))
    out = users.client("sts-dev", "sts").assume_role(RoleArn=role["Arn"], RoleSessionName="job-1", DurationSeconds=900)
    creds = out["Credentials"]
    assert creds["AccessKeyId"].startswith("ASIA") and creds["SessionToken"]
    assert out["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{account}:assumed-role/sts-reader/job-1"
    assert out["AssumedRoleUser"]["AssumedRoleId"] == f"{role['RoleId']}:job-1"
    identity = _session_client(sec_server, "sts", creds).get_caller_identity()
    assert (identity["Arn"], identity["UserId"]) == (out["AssumedRoleUser"]["Arn"], out["AssumedRoleUser"]["AssumedRoleId"])
    ddb = _session_client(sec_server, "dynamodb", creds)
    assert "TableNames" in ddb.list_tables()
    denied = error_of(lambda: ddb.describe_limits())
    assert denied["Code"] == "AccessDeniedException"
    assert denied["Message"].startswith(f"User: arn:aws:sts::{account}:assumed-role/sts-reader/job-1 is not authorized to perform: dynamodb:DescribeLimits")
    # The token belongs to the key: a wrong or missing one is refused.
    assert error_code(lambda: _session_client(sec_server, "dynamodb", creds, token="not-the-token").list_tables()) == "UnrecognizedClientException"
    no_token = sec_server.client("dynamodb", aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"])
    assert error_code(lambda: no_token.list_tables()) == "UnrecognizedClientException"
    # The role's policies are read when a request is authorized: a new one applies to the session.
    iam.put_role_policy(RoleName="sts-reader", PolicyName="limits", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "dynamodb:DescribeLimits", "Resource": "*"}]}))
    import time

    time.sleep(1.1)
    assert "AccountMaxReadCapacityUnits" in ddb.describe_limits()


def test_assume_role_session_with_attached_managed_policies(sec_server: EmulatorServer, users: Users) -> None:
    """A role with managed policies attached (Terraform's aws_iam_role_policy_attachment): an AWS
    managed one and a customer managed one (native, copied to moto on attach), whose new default
    version (aws_iam_policy updated: CreatePolicyVersion) applies to the session."""
    account = sec_server.client("sts").get_caller_identity()["Account"]
    users.create("sts-managed", ALLOW_ASSUME)
    iam = sec_server.client("iam")
    role = iam.create_role(RoleName="sts-managed-role", AssumeRolePolicyDocument=_trust({"AWS": f"arn:aws:iam::{account}:root"}))["Role"]
    iam.attach_role_policy(RoleName="sts-managed-role", PolicyArn="arn:aws:iam::aws:policy/AmazonSQSReadOnlyAccess")
    allow = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "dynamodb:ListTables", "Resource": "*"}]}
    arn = iam.create_policy(PolicyName="sts-managed-tables", PolicyDocument=json.dumps(allow))["Policy"]["Arn"]
    iam.attach_role_policy(RoleName="sts-managed-role", PolicyArn=arn)
    creds = users.client("sts-managed", "sts").assume_role(RoleArn=role["Arn"], RoleSessionName="managed")["Credentials"]
    _session_client(sec_server, "sqs", creds).list_queues()  # allowed by the AWS managed policy (was an InternalFailure)
    ddb = _session_client(sec_server, "dynamodb", creds)
    assert "TableNames" in ddb.list_tables()
    deny = {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "dynamodb:ListTables", "Resource": "*"}]}
    iam.create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(deny), SetAsDefault=True)
    assert error_code(lambda: ddb.list_tables()) == "AccessDeniedException"
    iam.set_default_policy_version(PolicyArn=arn, VersionId="v1")
    assert "TableNames" in ddb.list_tables()


def test_assume_role_refusals(sec_server: EmulatorServer, users: Users) -> None:
    account = sec_server.client("sts").get_caller_identity()["Account"]
    users.create("sts-caller", ALLOW_ASSUME)
    users.create("sts-nobody")
    iam = sec_server.client("iam")
    trusted = iam.create_role(RoleName="sts-trusted", AssumeRolePolicyDocument=_trust({"AWS": f"arn:aws:iam::{account}:root"}))["Role"]["Arn"]
    service_only = iam.create_role(RoleName="sts-service-only", AssumeRolePolicyDocument=_trust({"Service": "lambda.amazonaws.com"}))["Role"]["Arn"]
    sts = users.client("sts-caller", "sts")
    caller = f"arn:aws:iam::{account}:user/sts-caller"
    for role in (service_only, f"arn:aws:iam::{account}:role/sts-missing"):
        err = error_of(lambda role=role: sts.assume_role(RoleArn=role, RoleSessionName="x1"))
        assert (err["Code"], err["HTTPStatusCode"]) == ("AccessDenied", 403)
        assert err["Message"] == f"User: {caller} is not authorized to perform: sts:AssumeRole on resource: {role}"
    # No identity policy allowing sts:AssumeRole on the role: the authorizer refuses first.
    assert error_code(lambda: users.client("sts-nobody", "sts").assume_role(RoleArn=trusted, RoleSessionName="x1")) == "AccessDenied"
    root = error_of(lambda: sec_server.client("sts").assume_role(RoleArn=trusted, RoleSessionName="x1"))
    assert (root["Code"], root["Message"]) == ("AccessDenied", "Roles may not be assumed by root accounts.")
    # Not supported here, so refused rather than ignored.
    assert error_code(lambda: sts.assume_role(RoleArn=trusted, RoleSessionName="x1", Policy=json.dumps({"Version": "2012-10-17", "Statement": []}))) == "ValidationError"


def test_get_session_token_keeps_the_callers_permissions(sec_server: EmulatorServer, users: Users) -> None:
    users.create("sts-token-user", {"Effect": "Allow", "Action": "dynamodb:ListTables", "Resource": "*"})
    creds = users.client("sts-token-user", "sts").get_session_token(DurationSeconds=900)["Credentials"]
    assert creds["AccessKeyId"].startswith("ASIA")
    identity = _session_client(sec_server, "sts", creds).get_caller_identity()
    assert identity["Arn"].endswith(":user/sts-token-user")
    ddb = _session_client(sec_server, "dynamodb", creds)
    assert "TableNames" in ddb.list_tables()
    assert error_code(lambda: ddb.describe_limits()) == "AccessDeniedException"
    root_creds = sec_server.client("sts").get_session_token()["Credentials"]
    assert "AccountMaxReadCapacityUnits" in _session_client(sec_server, "dynamodb", root_creds).describe_limits()
