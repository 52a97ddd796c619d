"""Permissions boundaries of roles (they cap the role's sessions) and of users set by CreateUser,
and iam:PassRole on the roles a request hands to a service (with iam:PassedToService); through
the wire (emulator/gateway/authorize.py, authorize_requirements.PASS_ROLE, iam_store.py)."""

from __future__ import annotations

import io
import json
import uuid
import zipfile
from typing import Any

import pytest
from security_helpers import DENIED, Users, error_of, passes_authorization

from emulator.testing.server import EmulatorServer

MODEL = "meta.llama3-8b-instruct-v1:0"
TRUST_LAMBDA = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]})


def _doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _allow(action: str | list[str], resource: str | list[str] = "*", condition: dict[str, Any] | None = None) -> dict[str, Any]:
    found: dict[str, Any] = {"Effect": "Allow", "Action": action, "Resource": resource}
    if condition is not None:
        found["Condition"] = condition
    return found


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def account(sec_server: EmulatorServer) -> str:
    return str(sec_server.client("sts").get_caller_identity()["Account"])


def _policy(server: EmulatorServer, *statements: dict[str, Any]) -> str:
    return str(server.client("iam").create_policy(PolicyName=_name("bnd"), PolicyDocument=_doc(*statements))["Policy"]["Arn"])


def _denied(call: Any, action: str, resource: str | None = None) -> str:
    err = error_of(call)
    assert err["Code"] in DENIED, err
    assert err["HTTPStatusCode"] in (400, 403), err
    expected = f"is not authorized to perform: {action} on resource: {resource} " if resource else f"is not authorized to perform: {action} "
    assert expected in err["Message"], err["Message"]
    return str(err["Message"])




# ------------------------------------------------------------------ role boundaries
def _bounded_role_session(server: EmulatorServer, users: Users, account: str, how: str) -> tuple[str, str, dict[str, Any]]:
    """A role whose inline policy allows dynamodb:ListTables and sqs:ListQueues, bounded to sqs:*
    (``how``: PutRolePermissionsBoundary or CreateRole's PermissionsBoundary); a user's session of it."""
    iam = server.client("iam")
    boundary = _policy(server, _allow("sqs:*"))
    user = _name("rb-user")
    users.create(user, _allow("sts:AssumeRole"))
    trust = _doc({"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:user/{user}"}, "Action": "sts:AssumeRole"})
    name = _name("rb-role")
    extra = {"PermissionsBoundary": boundary} if how == "create" else {}
    role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust, **extra)["Role"]["Arn"]
    iam.put_role_policy(RoleName=name, PolicyName="p", PolicyDocument=_doc(_allow(["dynamodb:ListTables", "sqs:ListQueues"])))
    if how == "put":
        iam.put_role_permissions_boundary(RoleName=name, PermissionsBoundary=boundary)
    assert iam.get_role(RoleName=name)["Role"]["PermissionsBoundary"]["PermissionsBoundaryArn"] == boundary
    creds = users.client(user, "sts").assume_role(RoleArn=role, RoleSessionName="s1")["Credentials"]
    return name, role, {"aws_access_key_id": creds["AccessKeyId"], "aws_secret_access_key": creds["SecretAccessKey"],
                        "aws_session_token": creds["SessionToken"]}


@pytest.mark.parametrize("how", ["put", "create"])
def test_role_boundary_caps_its_sessions(sec_server: EmulatorServer, users: Users, account: str, how: str) -> None:
    name, role, session = _bounded_role_session(sec_server, users, account, how)
    ddb, sqs = sec_server.client("dynamodb", **session), sec_server.client("sqs", **session)
    message = _denied(ddb.list_tables, "dynamodb:ListTables")
    assert message.endswith("because no permissions boundary allows the dynamodb:ListTables action"), message
    assert f":assumed-role/{name}/s1 " in message
    sqs.list_queues()  # both allow it
    # The simulator agrees: the boundary refuses DynamoDB.
    results = sec_server.client("iam").simulate_principal_policy(PolicySourceArn=role, ActionNames=["dynamodb:ListTables", "sqs:ListQueues"])
    decisions = {r["EvalActionName"]: (r["EvalDecision"], r["PermissionsBoundaryDecisionDetail"]["AllowedByPermissionsBoundary"])
                 for r in results["EvaluationResults"]}
    assert decisions == {"dynamodb:ListTables": ("implicitDeny", False), "sqs:ListQueues": ("allowed", True)}
    # DeleteRolePermissionsBoundary lifts it on the next request.
    sec_server.client("iam").delete_role_permissions_boundary(RoleName=name)
    ddb.list_tables()
    results = sec_server.client("iam").simulate_principal_policy(PolicySourceArn=role, ActionNames=["dynamodb:ListTables"])
    assert results["EvaluationResults"][0]["EvalDecision"] == "allowed"


def test_role_boundary_applies_at_once_when_put(sec_server: EmulatorServer, users: Users, account: str) -> None:
    name, _, session = _bounded_role_session(sec_server, users, account, "put")
    iam = sec_server.client("iam")
    iam.delete_role_permissions_boundary(RoleName=name)
    ddb = sec_server.client("dynamodb", **session)
    ddb.list_tables()
    iam.put_role_permissions_boundary(RoleName=name, PermissionsBoundary=_policy(sec_server, _allow("sqs:*")))
    _denied(ddb.list_tables, "dynamodb:ListTables")


def test_role_boundary_policy_must_exist(sec_server: EmulatorServer, account: str) -> None:
    iam = sec_server.client("iam")
    name = _name("rb-missing")
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=TRUST_LAMBDA)
    missing = f"arn:aws:iam::{account}:policy/{_name('nope')}"
    err = error_of(lambda: iam.put_role_permissions_boundary(RoleName=name, PermissionsBoundary=missing))
    assert (err["Code"], err["Message"]) == ("NoSuchEntity", f"Policy {missing} does not exist or is not attachable."), err
    assert "PermissionsBoundary" not in iam.get_role(RoleName=name)["Role"]


# ------------------------------------------------------------------ CreateUser's boundary
def test_create_user_sets_its_boundary(sec_server: EmulatorServer, users: Users) -> None:
    iam = sec_server.client("iam")
    boundary = _policy(sec_server, _allow("sqs:*"))
    name = _name("cu-bounded")
    created = iam.create_user(UserName=name, PermissionsBoundary=boundary)["User"]
    expected = {"PermissionsBoundaryType": "PermissionsBoundaryPolicy", "PermissionsBoundaryArn": boundary}
    assert created["PermissionsBoundary"] == expected
    assert iam.get_user(UserName=name)["User"]["PermissionsBoundary"] == expected
    iam.put_user_policy(UserName=name, PolicyName="all", PolicyDocument=_doc(_allow("*")))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    creds = {"aws_access_key_id": key["AccessKeyId"], "aws_secret_access_key": key["SecretAccessKey"]}
    message = _denied(sec_server.client("dynamodb", **creds).list_tables, "dynamodb:ListTables")
    assert message.endswith("because no permissions boundary allows the dynamodb:ListTables action"), message
    sec_server.client("sqs", **creds).list_queues()
    usage = iam.get_account_authorization_details(Filter=["LocalManagedPolicy"])["Policies"]
    assert {p["Arn"]: p["PermissionsBoundaryUsageCount"] for p in usage}[boundary] == 1


def test_create_user_with_a_missing_boundary_is_refused(sec_server: EmulatorServer, account: str) -> None:
    iam = sec_server.client("iam")
    name = _name("cu-missing")
    missing = f"arn:aws:iam::{account}:policy/{_name('nope')}"
    err = error_of(lambda: iam.create_user(UserName=name, PermissionsBoundary=missing))
    assert (err["Code"], err["Message"]) == ("NoSuchEntity", f"Policy {missing} does not exist or is not attachable."), err
    assert error_of(lambda: iam.get_user(UserName=name))["Code"] == "NoSuchEntity"  # not made
    iam.create_user(UserName=_name("cu-other"))
    err = error_of(lambda: iam.put_user_permissions_boundary(UserName=name, PermissionsBoundary=missing))
    assert err["Code"] == "NoSuchEntity"


# ------------------------------------------------------------------ iam:PassRole
def _role(server: EmulatorServer) -> str:
    return str(server.client("iam").create_role(RoleName=_name("passed"), AssumeRolePolicyDocument=TRUST_LAMBDA)["Role"]["Arn"])


def _job(role: str) -> dict[str, Any]:
    return {"jobName": _name("job"), "roleArn": role, "modelId": MODEL,
            "inputDataConfig": {"s3InputDataConfig": {"s3Uri": "s3://pr-input-bucket/records.jsonl"}},
            "outputDataConfig": {"s3OutputDataConfig": {"s3Uri": "s3://pr-output-bucket/"}}}


def _zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("index.py", "def handler(event, context):\n    return event\n")
    return buf.getvalue()


JOB_RIGHTS = _allow(["bedrock:CreateModelInvocationJob", "bedrock:InvokeModel", "s3:*"])


def test_create_model_invocation_job_needs_pass_role(sec_server: EmulatorServer, users: Users) -> None:
    role = _role(sec_server)
    without = _name("pr-bedrock")
    users.create(without, JOB_RIGHTS)
    message = _denied(lambda: users.client(without, "bedrock").create_model_invocation_job(**_job(role)), "iam:PassRole", role)
    assert message.endswith("because no identity-based policy allows the iam:PassRole action"), message
    # PassRole on another role is not enough.
    other = _name("pr-bedrock-other")
    users.create(other, JOB_RIGHTS, _allow("iam:PassRole", _role(sec_server)))
    _denied(lambda: users.client(other, "bedrock").create_model_invocation_job(**_job(role)), "iam:PassRole", role)
    allowed = _name("pr-bedrock-ok")
    users.create(allowed, JOB_RIGHTS, _allow("iam:PassRole", role))
    passes_authorization(lambda: users.client(allowed, "bedrock").create_model_invocation_job(**_job(role)))
    # Root has every permission.
    passes_authorization(lambda: sec_server.client("bedrock").create_model_invocation_job(**_job(role)))


def test_lambda_create_function_needs_pass_role(sec_server: EmulatorServer, users: Users) -> None:
    role = _role(sec_server)
    rights = _allow(["lambda:CreateFunction", "lambda:GetFunction"])
    without = _name("pr-lambda")
    users.create(without, rights)
    params = {"Runtime": "python3.12", "Role": role, "Handler": "index.handler", "Code": {"ZipFile": _zip()}}
    lam = users.client(without, "lambda")
    _denied(lambda: lam.create_function(FunctionName=_name("fn"), **params), "iam:PassRole", role)
    allowed = _name("pr-lambda-ok")
    users.create(allowed, rights, _allow("iam:PassRole", role))
    passes_authorization(lambda: users.client(allowed, "lambda").create_function(FunctionName=_name("fn"), **params))


def test_put_subscription_filter_with_a_role_needs_pass_role(sec_server: EmulatorServer, users: Users, account: str) -> None:
    role = _role(sec_server)
    group = _name("/pr/group")
    sec_server.client("logs").create_log_group(logGroupName=group)
    destination = f"arn:aws:kinesis:us-east-1:{account}:stream/{_name('stream')}"
    params = {"logGroupName": group, "filterName": "f", "filterPattern": "", "destinationArn": destination}
    without = _name("pr-logs")
    users.create(without, _allow("logs:PutSubscriptionFilter"))
    logs = users.client(without, "logs")
    _denied(lambda: logs.put_subscription_filter(roleArn=role, **params), "iam:PassRole", role)
    passes_authorization(lambda: logs.put_subscription_filter(**params))  # no role passed: no iam:PassRole
    allowed = _name("pr-logs-ok")
    users.create(allowed, _allow("logs:PutSubscriptionFilter"), _allow("iam:PassRole", role))
    passes_authorization(lambda: users.client(allowed, "logs").put_subscription_filter(roleArn=role, **params))


def test_passed_to_service_condition(sec_server: EmulatorServer, users: Users) -> None:
    """iam:PassRole allowed only when the role goes to Lambda: Bedrock's job is refused."""
    role = _role(sec_server)
    name = _name("pr-cond")
    only_lambda = _allow("iam:PassRole", role, {"StringEquals": {"iam:PassedToService": "lambda.amazonaws.com"}})
    users.create(name, JOB_RIGHTS, _allow("lambda:CreateFunction"), only_lambda)
    _denied(lambda: users.client(name, "bedrock").create_model_invocation_job(**_job(role)), "iam:PassRole", role)
    params = {"Runtime": "python3.12", "Role": role, "Handler": "index.handler", "Code": {"ZipFile": _zip()}}
    passes_authorization(lambda: users.client(name, "lambda").create_function(FunctionName=_name("fn"), **params))
    bedrock = _name("pr-cond-bedrock")
    users.create(bedrock, JOB_RIGHTS, _allow("iam:PassRole", role, {"StringEquals": {"iam:PassedToService": "bedrock.amazonaws.com"}}))
    passes_authorization(lambda: users.client(bedrock, "bedrock").create_model_invocation_job(**_job(role)))


def test_run_instances_needs_pass_role_on_its_instance_profiles_role(sec_server: EmulatorServer, users: Users) -> None:
    role = _role(sec_server)
    profile = _name("pr-profile")
    iam = sec_server.client("iam")
    iam.create_instance_profile(InstanceProfileName=profile)
    iam.add_role_to_instance_profile(InstanceProfileName=profile, RoleName=role.rsplit("/", 1)[1])
    image = sec_server.client("ec2").describe_images()["Images"][0]["ImageId"]
    params = {"ImageId": image, "MinCount": 1, "MaxCount": 1, "IamInstanceProfile": {"Name": profile}, "DryRun": True}
    without = _name("pr-ec2")
    users.create(without, _allow("ec2:RunInstances"))
    err = error_of(lambda: users.client(without, "ec2").run_instances(**params))
    assert err["Code"] == "UnauthorizedOperation", err
    assert f"is not authorized to perform: iam:PassRole on resource: {role} " in err["Message"], err["Message"]
    allowed = _name("pr-ec2-ok")
    users.create(allowed, _allow("ec2:RunInstances"), _allow("iam:PassRole", role))
    assert error_of(lambda: users.client(allowed, "ec2").run_instances(**params))["Code"] == "DryRunOperation"


def test_role_boundary_naming_a_missing_policy_allows_nothing(sec_server: EmulatorServer, users: Users, account: str) -> None:
    """moto's CreateRole takes any policy ARN as the boundary: the role's sessions may do nothing."""
    user = _name("rb-missing-user")
    users.create(user, _allow("sts:AssumeRole"))
    trust = _doc({"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:user/{user}"}, "Action": "sts:AssumeRole"})
    name = _name("rb-missing-role")
    missing = f"arn:aws:iam::{account}:policy/{_name('nope')}"
    iam = sec_server.client("iam")
    role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust, PermissionsBoundary=missing)["Role"]["Arn"]
    iam.put_role_policy(RoleName=name, PolicyName="p", PolicyDocument=_doc(_allow("*")))
    creds = users.client(user, "sts").assume_role(RoleArn=role, RoleSessionName="s1")["Credentials"]
    sqs = sec_server.client("sqs", aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                            aws_session_token=creds["SessionToken"])
    assert _denied(sqs.list_queues, "sqs:ListQueues").endswith("because no permissions boundary allows the sqs:ListQueues action")
