"""Unit tests of the IAM policy engine (emulator/gateway/policy.py)."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from emulator.errors import AwsError
from emulator.gateway.policy import (
    ALLOWED,
    EXPLICIT_DENY,
    IMPLICIT_DENY,
    PolicySet,
    action_matches,
    parse_document,
    resource_matches,
)

TABLE = "arn:aws:dynamodb:us-east-1:000000000000:table/orders"


def doc(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def decide(statements: list[dict], action: str, resource: str | list[str] = TABLE, context: dict | None = None, variables: dict | None = None) -> str:
    return PolicySet.from_documents([doc(*statements)]).evaluate(action, resource, context, variables).decision


def test_action_wildcards_are_case_insensitive() -> None:
    assert action_matches("dynamodb:*", "dynamodb:PutItem")
    assert action_matches("dynamodb:get*", "dynamodb:GetItem")
    assert action_matches("dynamodb:?etItem", "dynamodb:GetItem")
    assert not action_matches("dynamodb:Get*", "dynamodb:PutItem")
    assert not action_matches("ec2:*", "dynamodb:GetItem")
    assert action_matches("*", "logs:PutLogEvents")


def test_resource_wildcards_match_per_arn_segment() -> None:
    assert resource_matches("arn:aws:dynamodb:*:*:table/orders", TABLE)
    assert resource_matches("arn:aws:dynamodb:us-east-1:000000000000:table/ord*", TABLE)
    assert not resource_matches("arn:aws:dynamodb:us-west-2:*:table/orders", TABLE)
    assert not resource_matches("arn:aws:dynamodb:*:*:table/other", TABLE)
    # a star in the region segment never spans a colon
    assert not resource_matches("arn:aws:dynamodb:*:table/orders", TABLE)
    # the resource part is matched whole: log-group:x:* covers its streams
    assert resource_matches("arn:aws:logs:us-east-1:000000000000:log-group:app:*", "arn:aws:logs:us-east-1:000000000000:log-group:app:log-stream:s1")
    assert resource_matches("arn:aws:dynamodb:*:*:table/orders/index/*", TABLE + "/index/byDate")
    assert not resource_matches("arn:aws:dynamodb:*:*:table/orders", TABLE + "/index/byDate")
    assert resource_matches("*", "anything")


def test_implicit_deny_allow_and_explicit_deny_wins() -> None:
    allow = {"Effect": "Allow", "Action": "dynamodb:*", "Resource": "*"}
    deny = {"Effect": "Deny", "Action": "dynamodb:DeleteItem", "Resource": TABLE}
    assert decide([], "dynamodb:GetItem") == IMPLICIT_DENY
    assert decide([allow], "dynamodb:GetItem") == ALLOWED
    assert decide([allow, deny], "dynamodb:DeleteItem") == EXPLICIT_DENY
    assert decide([deny, allow], "dynamodb:DeleteItem") == EXPLICIT_DENY
    assert decide([allow, deny], "dynamodb:PutItem") == ALLOWED


def test_explicit_deny_across_policies() -> None:
    ps = PolicySet.from_documents([
        doc({"Effect": "Allow", "Action": "*", "Resource": "*"}),
        doc({"Effect": "Deny", "Action": "iam:*", "Resource": "*"}),
    ])
    assert ps.evaluate("iam:CreateUser", "*").decision == EXPLICIT_DENY
    assert ps.evaluate("ec2:RunInstances", "*").allowed


def test_not_action_and_not_resource() -> None:
    s = {"Effect": "Allow", "NotAction": ["iam:*"], "Resource": "*"}
    assert decide([s], "dynamodb:PutItem") == ALLOWED
    assert decide([s], "iam:CreateUser", "*") == IMPLICIT_DENY
    s2 = {"Effect": "Deny", "Action": "dynamodb:*", "NotResource": TABLE}
    allow = {"Effect": "Allow", "Action": "*", "Resource": "*"}
    assert decide([allow, s2], "dynamodb:GetItem", TABLE) == ALLOWED
    assert decide([allow, s2], "dynamodb:GetItem", TABLE.replace("orders", "secrets")) == EXPLICIT_DENY


def test_every_resource_must_be_allowed() -> None:
    s = {"Effect": "Allow", "Action": "dynamodb:BatchGetItem", "Resource": TABLE}
    other = TABLE.replace("orders", "users")
    assert decide([s], "dynamodb:BatchGetItem", [TABLE]) == ALLOWED
    assert decide([s], "dynamodb:BatchGetItem", [TABLE, other]) == IMPLICIT_DENY


def test_source_ip_condition() -> None:
    s = {"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"IpAddress": {"aws:SourceIp": ["10.0.0.0/8", "127.0.0.1/32"]}}}
    assert decide([s], "dynamodb:GetItem", context={"aws:sourceip": "127.0.0.1"}) == ALLOWED
    assert decide([s], "dynamodb:GetItem", context={"aws:sourceip": "10.1.2.3"}) == ALLOWED
    assert decide([s], "dynamodb:GetItem", context={"aws:sourceip": "192.168.1.1"}) == IMPLICIT_DENY
    d = {"Effect": "Deny", "Action": "*", "Resource": "*", "Condition": {"NotIpAddress": {"aws:SourceIp": "127.0.0.0/8"}}}
    allow = {"Effect": "Allow", "Action": "*", "Resource": "*"}
    assert decide([allow, d], "dynamodb:GetItem", context={"aws:sourceip": "127.0.0.5"}) == ALLOWED
    assert decide([allow, d], "dynamodb:GetItem", context={"aws:sourceip": "8.8.8.8"}) == EXPLICIT_DENY


def test_current_time_condition() -> None:
    now = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)
    s = {"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"DateGreaterThan": {"aws:CurrentTime": "2026-01-01T00:00:00Z"}, "DateLessThan": {"aws:CurrentTime": "2026-12-31T23:59:59Z"}}}
    assert decide([s], "dynamodb:GetItem", context={"aws:currenttime": now.isoformat()}) == ALLOWED
    assert decide([s], "dynamodb:GetItem", context={"aws:currenttime": "2027-01-02T00:00:00Z"}) == IMPLICIT_DENY
    assert decide([s], "dynamodb:GetItem", context={"aws:currenttime": "2025-12-31T00:00:00Z"}) == IMPLICIT_DENY


def test_leading_keys_for_all_values() -> None:
    s = {
        "Effect": "Allow",
        "Action": ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query"],
        "Resource": TABLE,
        "Condition": {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": ["${aws:username}"]}},
    }
    variables = {"aws:username": "alice"}
    assert decide([s], "dynamodb:GetItem", context={"dynamodb:leadingkeys": ["alice"]}, variables=variables) == ALLOWED
    assert decide([s], "dynamodb:GetItem", context={"dynamodb:leadingkeys": ["bob"]}, variables=variables) == IMPLICIT_DENY
    assert decide([s], "dynamodb:GetItem", context={"dynamodb:leadingkeys": ["alice", "bob"]}, variables=variables) == IMPLICIT_DENY


def test_string_operators_and_if_exists() -> None:
    like = {"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"StringLike": {"aws:UserAgent": "Boto3/*"}}}
    assert decide([like], "s3:GetObject", "*", {"aws:useragent": "Boto3/1.34 Python"}) == ALLOWED
    assert decide([like], "s3:GetObject", "*", {"aws:useragent": "curl/8"}) == IMPLICIT_DENY
    eq = {"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"StringEquals": {"aws:RequestedRegion": "us-east-1"}}}
    assert decide([eq], "ec2:RunInstances", "*", {"aws:requestedregion": "us-east-1"}) == ALLOWED
    assert decide([eq], "ec2:RunInstances", "*", {"aws:requestedregion": "eu-west-1"}) == IMPLICIT_DENY
    assert decide([eq], "ec2:RunInstances", "*", {}) == IMPLICIT_DENY  # missing key: no match
    ne = {"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"StringNotEquals": {"aws:RequestedRegion": "eu-west-1"}}}
    assert decide([ne], "ec2:RunInstances", "*", {"aws:requestedregion": "us-east-1"}) == ALLOWED
    assert decide([ne], "ec2:RunInstances", "*", {"aws:requestedregion": "eu-west-1"}) == IMPLICIT_DENY
    ie = {"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"StringEqualsIfExists": {"dynamodb:Select": "SPECIFIC_ATTRIBUTES"}}}
    assert decide([ie], "dynamodb:Query", "*", {}) == ALLOWED
    assert decide([ie], "dynamodb:Query", "*", {"dynamodb:select": "ALL_ATTRIBUTES"}) == IMPLICIT_DENY


def test_resource_policy_variable() -> None:
    s = {"Effect": "Allow", "Action": "iam:*AccessKey*", "Resource": "arn:aws:iam::*:user/${aws:username}"}
    ps = PolicySet.from_documents([doc(s)])
    assert ps.evaluate("iam:CreateAccessKey", "arn:aws:iam::000000000000:user/alice", {}, {"aws:username": "alice"}).allowed
    assert not ps.evaluate("iam:CreateAccessKey", "arn:aws:iam::000000000000:user/bob", {}, {"aws:username": "alice"}).allowed


@pytest.mark.parametrize(
    "bad",
    [
        "not json",
        json.dumps({"Version": "2012-10-17"}),
        json.dumps({"Version": "2099-01-01", "Statement": []}),
        doc({"Effect": "Maybe", "Action": "*", "Resource": "*"}),
        doc({"Effect": "Allow", "Resource": "*"}),
        doc({"Effect": "Allow", "Action": "*"}),
        doc({"Effect": "Allow", "Action": "GetItem", "Resource": "*"}),
        doc({"Effect": "Allow", "Action": "*", "Resource": "table/x"}),
        doc({"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"Frobnicate": {"a": "b"}}}),
    ],
)
def test_malformed_documents(bad: str) -> None:
    with pytest.raises(AwsError) as info:
        parse_document(bad)
    assert info.value.code == "MalformedPolicyDocument"


def test_twenty_statement_policy_evaluates_the_matching_statement() -> None:
    statements = [{"Effect": "Allow", "Action": f"dynamodb:Op{i}", "Resource": f"arn:aws:dynamodb:*:*:table/t{i}"} for i in range(19)]
    statements.append({"Effect": "Allow", "Action": "dynamodb:GetItem", "Resource": TABLE})
    ps = PolicySet.from_documents([doc(*statements)])
    assert ps.evaluate("dynamodb:GetItem", TABLE).allowed
    assert not ps.evaluate("dynamodb:GetItem", TABLE.replace("orders", "t3")).allowed
