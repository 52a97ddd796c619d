"""IAM's policy simulator (SimulatePrincipalPolicy, SimulateCustomPolicy) through the wire,
answered by the gateway's own policy engine, and the engine's decisions on real requests
where they used to differ from AWS's documented evaluation logic."""

from __future__ import annotations

import json
from typing import Any

import pytest
from security_helpers import Users, error_code, error_of

from emulator.testing.server import EmulatorServer

ACCOUNT = "000000000000"
TABLE = "sim_scores"
TABLE_ARN = f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/{TABLE}"
DENIED = "AccessDeniedException"


def doc(*statements: dict[str, Any], version: str | None = "2012-10-17") -> str:
    body: dict[str, Any] = {"Statement": list(statements)}
    if version is not None:
        body = {"Version": version} | body
    return json.dumps(body, indent=4)


def decisions(out: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(r["EvalActionName"], r["EvalResourceName"], r["EvalDecision"]) for r in out["EvaluationResults"]]


@pytest.fixture(scope="module")
def iam(sec_server: EmulatorServer) -> Any:
    return sec_server.client("iam")


@pytest.fixture(scope="module")
def table(sec_server: EmulatorServer) -> str:
    ddb = sec_server.client("dynamodb")
    ddb.create_table(TableName=TABLE, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
    ddb.get_waiter("table_exists").wait(TableName=TABLE, WaiterConfig={"Delay": 0.2, "MaxAttempts": 50})
    for pk in ("alice", "*", "blue", "sim-tagged", "shared"):
        ddb.put_item(TableName=TABLE, Item={"pk": {"S": pk}, "score": {"N": "1"}})
    return TABLE


# ------------------------------------------------------------------ the simulator
def test_simulate_custom_policy_decisions_and_matched_statements(iam: Any) -> None:
    policy = doc(
        {"Effect": "Allow", "Action": ["s3:Get*", "iam:ListUsers"], "Resource": "*"},
        {"Effect": "Deny", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::secret/*"},
    )
    out = iam.simulate_custom_policy(PolicyInputList=[policy], ActionNames=["iam:ListUsers", "s3:ListAllMyBuckets", "IAM:listusers"])
    assert decisions(out) == [("iam:ListUsers", "*", "allowed"), ("s3:ListAllMyBuckets", "*", "implicitDeny"), ("IAM:listusers", "*", "allowed")]
    assert out["IsTruncated"] is False
    first = out["EvaluationResults"][0]
    # The first statement of the document (json.dumps(indent=4)): "{" at line 4, column 9; "}" at line 11, column 9.
    assert first["MatchedStatements"] == [{"SourcePolicyId": "PolicyInputList.1", "StartPosition": {"Line": 4, "Column": 9}, "EndPosition": {"Line": 11, "Column": 10}}]
    assert first["MissingContextValues"] == []
    assert out["EvaluationResults"][1]["MatchedStatements"] == []
    # With resources: one result per action and resource; the deny wins and is the matched statement.
    out = iam.simulate_custom_policy(PolicyInputList=[policy], ActionNames=["s3:GetObject"], ResourceArns=["arn:aws:s3:::secret/k", "arn:aws:s3:::public/k"])
    assert decisions(out) == [("s3:GetObject", "arn:aws:s3:::secret/k", "explicitDeny"), ("s3:GetObject", "arn:aws:s3:::public/k", "allowed")]
    deny = out["EvaluationResults"][0]
    assert [m["StartPosition"]["Line"] for m in deny["MatchedStatements"]] == [12]
    assert deny["ResourceSpecificResults"] == [{"EvalResourceName": "arn:aws:s3:::secret/k", "EvalResourceDecision": "explicitDeny",
                                                "MatchedStatements": deny["MatchedStatements"], "MissingContextValues": []}]
    # A one-line document: positions on line 1.
    compact = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}, separators=(",", ":"))
    matched = iam.simulate_custom_policy(PolicyInputList=[compact], ActionNames=["s3:PutObject"])["EvaluationResults"][0]["MatchedStatements"][0]
    assert (matched["StartPosition"], matched["EndPosition"]) == ({"Line": 1, "Column": 38}, {"Line": 1, "Column": 38 + len('{"Effect":"Allow","Action":"s3:*","Resource":"*"}')})


def test_simulate_context_entries_and_missing_context_values(iam: Any) -> None:
    policy = doc({"Effect": "Allow", "Action": "ec2:RunInstances", "Resource": "*", "Condition": {
        "IpAddress": {"aws:SourceIp": "10.0.0.0/8"}, "NumericLessThan": {"ec2:VolumeSize": "100"}}})
    out = iam.simulate_custom_policy(PolicyInputList=[policy], ActionNames=["ec2:RunInstances"])
    assert decisions(out) == [("ec2:RunInstances", "*", "implicitDeny")]
    assert out["EvaluationResults"][0]["MissingContextValues"] == ["aws:SourceIp", "ec2:VolumeSize"]
    entries = [{"ContextKeyName": "aws:SourceIp", "ContextKeyValues": ["10.1.2.3"], "ContextKeyType": "ip"},
               {"ContextKeyName": "ec2:volumesize", "ContextKeyValues": ["20"], "ContextKeyType": "numeric"}]
    out = iam.simulate_custom_policy(PolicyInputList=[policy], ActionNames=["ec2:RunInstances"], ContextEntries=entries)
    assert decisions(out) == [("ec2:RunInstances", "*", "allowed")]
    assert out["EvaluationResults"][0]["MissingContextValues"] == []
    entries[0]["ContextKeyValues"] = ["192.168.0.1"]
    assert decisions(iam.simulate_custom_policy(PolicyInputList=[policy], ActionNames=["ec2:RunInstances"], ContextEntries=entries))[0][2] == "implicitDeny"
    # Multi-valued keys (ForAllValues / ForAnyValue) and binary values.
    tags = doc({"Effect": "Allow", "Action": "ec2:CreateTags", "Resource": "*", "Condition": {"ForAllValues:StringEquals": {"aws:TagKeys": ["env", "team"]}}},
               {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*", "Condition": {"BinaryEquals": {"kms:CiphertextBlob": "QmluYXJ5"}}})

    def run(action: str, key: str, values: list[str], kind: str) -> str:
        entry = [{"ContextKeyName": key, "ContextKeyValues": values, "ContextKeyType": kind}]
        return str(iam.simulate_custom_policy(PolicyInputList=[tags], ActionNames=[action], ContextEntries=entry)["EvaluationResults"][0]["EvalDecision"])

    assert run("ec2:CreateTags", "aws:TagKeys", ["env", "team"], "stringList") == "allowed"
    assert run("ec2:CreateTags", "aws:TagKeys", ["env", "owner"], "stringList") == "implicitDeny"
    assert run("kms:Decrypt", "kms:CiphertextBlob", ["QmluYXJ5"], "binary") == "allowed"
    assert run("kms:Decrypt", "kms:CiphertextBlob", ["T3RoZXI="], "binary") == "implicitDeny"


def test_get_context_keys(iam: Any, users: Users) -> None:
    policy = doc({"Effect": "Allow", "Action": "ec2:RunInstances", "Resource": "*", "Condition": {
        "IpAddress": {"aws:SourceIp": "10.0.0.0/8"}, "NumericLessThan": {"ec2:VolumeSize": "100"}, "Bool": {"aws:sourceip": "true"}}})
    assert iam.get_context_keys_for_custom_policy(PolicyInputList=[policy])["ContextKeyNames"] == ["aws:SourceIp", "ec2:VolumeSize"]
    users.create("sim-keys", {"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"StringEquals": {"aws:RequestedRegion": "us-east-1"}}})
    out = iam.get_context_keys_for_principal_policy(PolicySourceArn=f"arn:aws:iam::{ACCOUNT}:user/sim-keys", PolicyInputList=[policy])
    assert out["ContextKeyNames"] == ["aws:RequestedRegion", "aws:SourceIp", "ec2:VolumeSize"]
    assert error_code(lambda: iam.get_context_keys_for_principal_policy(PolicySourceArn=f"arn:aws:iam::{ACCOUNT}:user/sim-nobody")) == "NoSuchEntity"


def test_simulate_policy_variables_come_from_the_context(iam: Any) -> None:
    policy = doc({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::home/${aws:username}/*"})
    arns = ["arn:aws:s3:::home/alice/notes", "arn:aws:s3:::home/bob/notes"]
    out = iam.simulate_custom_policy(PolicyInputList=[policy], ActionNames=["s3:GetObject"], ResourceArns=arns)
    assert [r["EvalDecision"] for r in out["EvaluationResults"]] == ["implicitDeny", "implicitDeny"]
    assert out["EvaluationResults"][0]["ResourceSpecificResults"][0]["MissingContextValues"] == ["aws:username"]
    entries = [{"ContextKeyName": "aws:username", "ContextKeyValues": ["alice"], "ContextKeyType": "string"}]
    out = iam.simulate_custom_policy(PolicyInputList=[policy], ActionNames=["s3:GetObject"], ResourceArns=arns, ContextEntries=entries)
    assert [r["EvalDecision"] for r in out["EvaluationResults"]] == ["allowed", "implicitDeny"]
    # A default applies when the key has no value.
    anon = doc({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::home/${aws:username, 'anonymous'}/*"})
    out = iam.simulate_custom_policy(PolicyInputList=[anon], ActionNames=["s3:GetObject"], ResourceArns=["arn:aws:s3:::home/anonymous/k"])
    assert out["EvaluationResults"][0]["EvalDecision"] == "allowed"
    # Before Version 2012-10-17 a variable is literal text.
    legacy = doc({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::home/${aws:username}/*"}, version="2008-10-17")
    out = iam.simulate_custom_policy(PolicyInputList=[legacy], ActionNames=["s3:GetObject"], ContextEntries=entries,
                                     ResourceArns=["arn:aws:s3:::home/alice/notes", "arn:aws:s3:::home/${aws:username}/notes"])
    assert [r["EvalDecision"] for r in out["EvaluationResults"]] == ["implicitDeny", "allowed"]


def test_simulate_principal_policy_uses_the_users_policies(iam: Any, users: Users) -> None:
    users.create("sim-user", {"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": TABLE_ARN},
                 {"Effect": "Deny", "Action": "dynamodb:DeleteItem", "Resource": "*"},
                 managed=["arn:aws:iam::aws:policy/IAMReadOnlyAccess"])
    arn = iam.create_policy(PolicyName="sim-logs", PolicyDocument=doc({"Effect": "Allow", "Action": "logs:*", "Resource": "*"}))["Policy"]["Arn"]
    iam.attach_user_policy(UserName="sim-user", PolicyArn=arn)
    user_arn = f"arn:aws:iam::{ACCOUNT}:user/sim-user"
    out = iam.simulate_principal_policy(PolicySourceArn=user_arn, ActionNames=["dynamodb:GetItem", "dynamodb:DeleteItem", "iam:GetUser", "logs:PutLogEvents", "s3:GetObject"],
                                        ResourceArns=[TABLE_ARN])
    by_action = {r["EvalActionName"]: r for r in out["EvaluationResults"]}
    assert {a: r["EvalDecision"] for a, r in by_action.items()} == {
        "dynamodb:GetItem": "allowed", "dynamodb:DeleteItem": "explicitDeny", "iam:GetUser": "allowed", "logs:PutLogEvents": "allowed", "s3:GetObject": "implicitDeny"}
    assert [(m["SourcePolicyId"], m["SourcePolicyType"]) for m in by_action["dynamodb:GetItem"]["MatchedStatements"]] == [("inline", "user")]
    assert [(m["SourcePolicyId"], m["SourcePolicyType"]) for m in by_action["iam:GetUser"]["MatchedStatements"]] == [("IAMReadOnlyAccess", "aws-managed")]
    assert [(m["SourcePolicyId"], m["SourcePolicyType"]) for m in by_action["logs:PutLogEvents"]["MatchedStatements"]] == [("sim-logs", "user-managed")]
    # The decisions are the authorizer's.
    ddb = users.client("sim-user", "dynamodb")
    assert error_code(lambda: ddb.delete_item(TableName=TABLE, Key={"pk": {"S": "x"}})) == DENIED
    # PolicyInputList adds policies to the user's.
    extra = doc({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"})
    out = iam.simulate_principal_policy(PolicySourceArn=user_arn, ActionNames=["s3:GetObject", "dynamodb:DeleteItem"], PolicyInputList=[extra])
    assert decisions(out) == [("s3:GetObject", "*", "allowed"), ("dynamodb:DeleteItem", "*", "explicitDeny")]
    assert out["EvaluationResults"][0]["MatchedStatements"][0]["SourcePolicyId"] == "PolicyInputList.1"
    assert "SourcePolicyType" not in out["EvaluationResults"][0]["MatchedStatements"][0]
    # A permissions boundary limits what the policies allow.
    boundary = doc({"Effect": "Allow", "Action": "logs:*", "Resource": "*"})
    out = iam.simulate_principal_policy(PolicySourceArn=user_arn, ActionNames=["logs:PutLogEvents", "iam:GetUser"], PermissionsBoundaryPolicyInputList=[boundary])
    assert decisions(out) == [("logs:PutLogEvents", "*", "allowed"), ("iam:GetUser", "*", "implicitDeny")]
    assert [r["PermissionsBoundaryDecisionDetail"]["AllowedByPermissionsBoundary"] for r in out["EvaluationResults"]] == [True, False]


def test_simulate_principal_policy_of_a_role(iam: Any) -> None:
    trust = doc({"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "sts:AssumeRole"})
    role = iam.create_role(RoleName="sim-role", AssumeRolePolicyDocument=trust)["Role"]
    iam.put_role_policy(RoleName="sim-role", PolicyName="ddb", PolicyDocument=doc({"Effect": "Allow", "Action": "dynamodb:Query", "Resource": "*"}))
    out = iam.simulate_principal_policy(PolicySourceArn=role["Arn"], ActionNames=["dynamodb:Query", "dynamodb:Scan"])
    assert decisions(out) == [("dynamodb:Query", "*", "allowed"), ("dynamodb:Scan", "*", "implicitDeny")]
    assert [(m["SourcePolicyId"], m["SourcePolicyType"]) for m in out["EvaluationResults"][0]["MatchedStatements"]] == [("ddb", "role")]


def test_simulate_pagination(iam: Any) -> None:
    policy = doc({"Effect": "Allow", "Action": "s3:*", "Resource": "*"})
    actions = [f"s3:Op{i}" for i in range(5)]
    first = iam.simulate_custom_policy(PolicyInputList=[policy], ActionNames=actions, MaxItems=2)
    assert [r["EvalActionName"] for r in first["EvaluationResults"]] == actions[:2]
    assert first["IsTruncated"] is True
    second = iam.simulate_custom_policy(PolicyInputList=[policy], ActionNames=actions, MaxItems=2, Marker=first["Marker"])
    assert [r["EvalActionName"] for r in second["EvaluationResults"]] == actions[2:4]
    pages = iam.get_paginator("simulate_custom_policy").paginate(PolicyInputList=[policy], ActionNames=actions, PaginationConfig={"PageSize": 2})
    assert [r["EvalActionName"] for page in pages for r in page["EvaluationResults"]] == actions


def test_simulate_errors(iam: Any, users: Users) -> None:
    missing = error_of(lambda: iam.simulate_principal_policy(PolicySourceArn=f"arn:aws:iam::{ACCOUNT}:user/sim-nobody", ActionNames=["s3:GetObject"]))
    assert (missing["Code"], missing["HTTPStatusCode"]) == ("NoSuchEntity", 404)
    assert error_code(lambda: iam.simulate_principal_policy(PolicySourceArn=f"arn:aws:iam::{ACCOUNT}:role/sim-no-role", ActionNames=["s3:GetObject"])) == "NoSuchEntity"
    assert error_code(lambda: iam.simulate_principal_policy(PolicySourceArn="not-an-arn-at-all-really", ActionNames=["s3:GetObject"])) == "InvalidInput"
    bad = error_of(lambda: iam.simulate_custom_policy(PolicyInputList=['{"Version": "2012-10-17", "Statement": [{"Effect": "Maybe"}]}'], ActionNames=["s3:GetObject"]))
    assert (bad["Code"], bad["HTTPStatusCode"]) == ("InvalidInput", 400)
    assert error_code(lambda: iam.simulate_custom_policy(PolicyInputList=["not json"], ActionNames=["s3:GetObject"])) == "InvalidInput"
    # The simulator is authorized as iam:SimulatePrincipalPolicy on the simulated principal.
    users.create("sim-self", {"Effect": "Allow", "Action": "iam:SimulatePrincipalPolicy", "Resource": "arn:aws:iam::*:user/${aws:username}"})
    own = users.client("sim-self", "iam")
    assert decisions(own.simulate_principal_policy(PolicySourceArn=f"arn:aws:iam::{ACCOUNT}:user/sim-self", ActionNames=["iam:SimulatePrincipalPolicy"])) == [
        ("iam:SimulatePrincipalPolicy", "*", "implicitDeny")]  # the simulator does not know the caller: no aws:username
    assert error_code(lambda: own.simulate_principal_policy(PolicySourceArn=f"arn:aws:iam::{ACCOUNT}:user/sim-user", ActionNames=["s3:GetObject"])) == "AccessDenied"
    assert error_code(lambda: own.simulate_custom_policy(PolicyInputList=[doc({"Effect": "Allow", "Action": "*", "Resource": "*"})], ActionNames=["s3:GetObject"])) == "AccessDenied"


# ------------------------------------------------- the engine on real requests
def _get(users: Users, name: str, pk: str) -> str | None:
    return error_code(lambda: users.client(name, "dynamodb").get_item(TableName=TABLE, Key={"pk": {"S": pk}}))


def test_aws_userid_is_the_users_unique_id(iam: Any, users: Users, table: str) -> None:
    users.create("sim-uid")
    user_id = iam.get_user(UserName="sim-uid")["User"]["UserId"]
    assert user_id.startswith("AIDA")
    iam.put_user_policy(UserName="sim-uid", PolicyName="inline", PolicyDocument=doc(
        {"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": TABLE_ARN, "Condition": {"StringEquals": {"aws:userid": user_id}}}))
    assert _get(users, "sim-uid", "alice") is None
    iam.put_user_policy(UserName="sim-uid", PolicyName="inline", PolicyDocument=doc(
        {"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": TABLE_ARN, "Condition": {"StringEquals": {"aws:userid": "sim-uid"}}}))
    assert _get(users, "sim-uid", "alice") == DENIED


def test_aws_principal_arn_has_the_users_path(iam: Any, users: Users, table: str) -> None:
    iam.create_user(UserName="sim-pathed", Path="/team/")
    key = iam.create_access_key(UserName="sim-pathed")["AccessKey"]
    users.keys["sim-pathed"] = {"aws_access_key_id": key["AccessKeyId"], "aws_secret_access_key": key["SecretAccessKey"]}
    iam.put_user_policy(UserName="sim-pathed", PolicyName="inline", PolicyDocument=doc(
        {"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": TABLE_ARN, "Condition": {"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:user/team/*"}}}))
    assert _get(users, "sim-pathed", "alice") is None


def test_policy_variables_are_literal_before_version_2012(users: Users, table: str) -> None:
    statement = {"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": TABLE_ARN, "Condition": {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": "${aws:username}"}}}
    users.create("alice")  # the item "alice" is this user's
    users.iam.put_user_policy(UserName="alice", PolicyName="inline", PolicyDocument=doc(statement, version=None))
    assert _get(users, "alice", "alice") == DENIED
    users.iam.put_user_policy(UserName="alice", PolicyName="inline", PolicyDocument=doc(statement))
    assert _get(users, "alice", "alice") is None


def test_literal_star_variable_and_defaults(users: Users, table: str) -> None:
    users.create("sim-star", {"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": TABLE_ARN,
                              "Condition": {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": "${*}"}}})
    assert _get(users, "sim-star", "*") is None
    assert _get(users, "sim-star", "alice") == DENIED
    # ${key, 'default'}: the default when the key has no value; a user's tags are aws:PrincipalTag/<key>.
    team = {"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": TABLE_ARN,
            "Condition": {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": "${aws:PrincipalTag/team, 'shared'}"}}}
    users.create("sim-tagged", team)
    assert _get(users, "sim-tagged", "shared") is None
    assert _get(users, "sim-tagged", "blue") == DENIED
    users.iam.tag_user(UserName="sim-tagged", Tags=[{"Key": "team", "Value": "blue"}])
    assert _get(users, "sim-tagged", "blue") is None
    assert _get(users, "sim-tagged", "shared") == DENIED


def test_request_keys_as_policy_variables(users: Users, table: str) -> None:
    users.create("sim-region", {"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": "arn:aws:dynamodb:${aws:RequestedRegion}:*:table/*"})
    assert _get(users, "sim-region", "alice") is None


def test_binary_equals_is_a_condition_operator(users: Users) -> None:
    users.create("sim-binary", {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*", "Condition": {"BinaryEquals": {"kms:CiphertextBlob": "QmluYXJ5"}}})


def test_update_item_attributes_are_dynamodb_attributes(users: Users, table: str) -> None:
    users.create("sim-scorer", {"Effect": "Allow", "Action": "dynamodb:UpdateItem", "Resource": TABLE_ARN,
                                "Condition": {"ForAllValues:StringEquals": {"dynamodb:Attributes": ["pk", "score"]}}})
    ddb = users.client("sim-scorer", "dynamodb")

    def update(expression: str, names: dict[str, str] | None = None) -> str | None:
        extra: dict[str, Any] = {"ExpressionAttributeNames": names} if names else {}
        return error_code(lambda: ddb.update_item(TableName=TABLE, Key={"pk": {"S": "alice"}}, UpdateExpression=expression,
                                                  ExpressionAttributeValues={":v": {"N": "2"}}, **extra))

    assert update("SET score = :v") is None
    assert update("SET #s = if_not_exists(#s, :v) + :v", {"#s": "score"}) is None
    assert update("SET score = :v, secret = :v") == DENIED
    assert update("SET score = :v REMOVE #x", {"#x": "secret"}) == DENIED
    assert update("ADD secret :v") == DENIED
