"""Role trust policies evaluated as AWS evaluates them (Condition, Deny, NotPrincipal, the caller
named directly or through its account), and AssumeRoleWithWebIdentity with an OpenID Connect
provider registered in IAM; through the wire (emulator/gateway/sessions.py, web_identity.py)."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import pytest
from security_helpers import Users, error_code, error_of

from emulator.testing.server import EmulatorServer

ALLOW_ASSUME = {"Effect": "Allow", "Action": ["sts:AssumeRole", "sts:TagSession"], "Resource": "*"}
ISSUER = "https://oidc.example.test/tenant-1"
HOST = "oidc.example.test/tenant-1"
CLIENT = "my-client-id"


def _doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _account(server: EmulatorServer) -> str:
    return str(server.client("sts").get_caller_identity()["Account"])


def _role(server: EmulatorServer, name: str, *statements: dict[str, Any]) -> str:
    return str(server.client("iam").create_role(RoleName=name, AssumeRolePolicyDocument=_doc(*statements))["Role"]["Arn"])


def _user_arn(server: EmulatorServer, name: str) -> str:
    return f"arn:aws:iam::{_account(server)}:user/{name}"


def _denied(call: Any) -> str:
    err = error_of(call)
    assert (err["Code"], err["HTTPStatusCode"]) == ("AccessDenied", 403), err
    return str(err["Message"])


def _session(server: EmulatorServer, service: str, creds: dict[str, Any]) -> Any:
    return server.client(service, aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                         aws_session_token=creds["SessionToken"])


# ------------------------------------------------------------------ AssumeRole
def test_external_id_condition(sec_server: EmulatorServer, users: Users) -> None:
    users.create("tr-alice", ALLOW_ASSUME)
    alice = _user_arn(sec_server, "tr-alice")
    role = _role(sec_server, "tr-partner", {"Effect": "Allow", "Principal": {"AWS": alice}, "Action": "sts:AssumeRole",
                                            "Condition": {"StringEquals": {"sts:ExternalId": "ext-123"}}})
    sts = users.client("tr-alice", "sts")
    message = _denied(lambda: sts.assume_role(RoleArn=role, RoleSessionName="s1"))
    assert message == f"User: {alice} is not authorized to perform: sts:AssumeRole on resource: {role}"
    _denied(lambda: sts.assume_role(RoleArn=role, RoleSessionName="s1", ExternalId="wrong-1"))
    out = sts.assume_role(RoleArn=role, RoleSessionName="s1", ExternalId="ext-123")
    assert out["AssumedRoleUser"]["Arn"].endswith(":assumed-role/tr-partner/s1")


def test_mfa_condition_without_mfa(sec_server: EmulatorServer, users: Users) -> None:
    """aws:MultiFactorAuthPresent is absent for a long-term key and false for a session made
    without MFA: Bool true refuses both; BoolIfExists false lets the long-term key through."""
    users.create("tr-mfa", ALLOW_ASSUME)
    principal = {"AWS": _user_arn(sec_server, "tr-mfa")}
    strict = _role(sec_server, "tr-mfa-only", {"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole",
                                               "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}})
    lenient = _role(sec_server, "tr-mfa-ifexists", {"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole",
                                                    "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}})
    sts = users.client("tr-mfa", "sts")
    _denied(lambda: sts.assume_role(RoleArn=strict, RoleSessionName="s1"))
    assert sts.assume_role(RoleArn=lenient, RoleSessionName="s1")["Credentials"]["AccessKeyId"].startswith("ASIA")
    creds = sts.get_session_token()["Credentials"]  # a session without MFA: the key is "false"
    _denied(lambda: _session(sec_server, "sts", creds).assume_role(RoleArn=strict, RoleSessionName="s2"))


def test_deny_statement_and_not_principal(sec_server: EmulatorServer, users: Users) -> None:
    users.create("tr-d-alice", ALLOW_ASSUME)
    users.create("tr-d-bob", ALLOW_ASSUME)
    account = _account(sec_server)
    alice, bob = _user_arn(sec_server, "tr-d-alice"), _user_arn(sec_server, "tr-d-bob")
    allow_account = {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:root"}, "Action": "sts:AssumeRole"}
    denied = _role(sec_server, "tr-deny-bob", allow_account, {"Effect": "Deny", "Principal": {"AWS": bob}, "Action": "sts:AssumeRole"})
    assert users.client("tr-d-alice", "sts").assume_role(RoleArn=denied, RoleSessionName="s1")["AssumedRoleUser"]
    _denied(lambda: users.client("tr-d-bob", "sts").assume_role(RoleArn=denied, RoleSessionName="s1"))
    # Deny everyone but alice (NotPrincipal).
    only_alice = _role(sec_server, "tr-notprincipal", allow_account, {"Effect": "Deny", "NotPrincipal": {"AWS": alice}, "Action": "sts:AssumeRole"})
    assert users.client("tr-d-alice", "sts").assume_role(RoleArn=only_alice, RoleSessionName="s1")["AssumedRoleUser"]
    _denied(lambda: users.client("tr-d-bob", "sts").assume_role(RoleArn=only_alice, RoleSessionName="s1"))
    # A Deny on the session name, NotAction on the allow side.
    by_name = _role(sec_server, "tr-notaction", {"Effect": "Allow", "Principal": {"AWS": alice}, "NotAction": "sts:TagSession"},
                    {"Effect": "Deny", "Principal": "*", "Action": "sts:AssumeRole", "Condition": {"StringLike": {"sts:RoleSessionName": "blocked-*"}}})
    sts = users.client("tr-d-alice", "sts")
    assert sts.assume_role(RoleArn=by_name, RoleSessionName="fine-1")["AssumedRoleUser"]
    _denied(lambda: sts.assume_role(RoleArn=by_name, RoleSessionName="blocked-1"))


def test_session_name_pattern(sec_server: EmulatorServer, users: Users) -> None:
    users.create("tr-name", ALLOW_ASSUME)
    role = _role(sec_server, "tr-session-name", {"Effect": "Allow", "Principal": {"AWS": _user_arn(sec_server, "tr-name")}, "Action": "sts:AssumeRole",
                                                 "Condition": {"StringLike": {"sts:RoleSessionName": "${aws:username}-*"}}})
    sts = users.client("tr-name", "sts")
    assert sts.assume_role(RoleArn=role, RoleSessionName="tr-name-job")["AssumedRoleUser"]["Arn"].endswith("/tr-name-job")
    _denied(lambda: sts.assume_role(RoleArn=role, RoleSessionName="someone-else"))


def test_request_tags_condition_and_session_tags(sec_server: EmulatorServer, users: Users) -> None:
    """Tags need sts:TagSession in the trust policy; aws:RequestTag/aws:TagKeys are the request's;
    the session's tags are its aws:PrincipalTag keys."""
    users.create("tr-tags", ALLOW_ASSUME)
    principal = {"AWS": _user_arn(sec_server, "tr-tags")}
    role = _role(sec_server, "tr-tagged",
                 {"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"},
                 {"Effect": "Allow", "Principal": principal, "Action": "sts:TagSession",
                  "Condition": {"StringEquals": {"aws:RequestTag/project": "apollo"}, "ForAllValues:StringEquals": {"aws:TagKeys": ["project"]}}})
    iam = sec_server.client("iam")
    iam.put_role_policy(RoleName="tr-tagged", PolicyName="own-table", PolicyDocument=_doc(
        {"Effect": "Allow", "Action": "dynamodb:DescribeTable", "Resource": "*", "Condition": {"StringEquals": {"aws:PrincipalTag/project": "apollo"}}}))
    sts = users.client("tr-tags", "sts")
    _denied(lambda: sts.assume_role(RoleArn=role, RoleSessionName="t1", Tags=[{"Key": "project", "Value": "gemini"}]))
    _denied(lambda: sts.assume_role(RoleArn=role, RoleSessionName="t1", Tags=[{"Key": "project", "Value": "apollo"}, {"Key": "team", "Value": "x"}]))
    creds = sts.assume_role(RoleArn=role, RoleSessionName="t1", Tags=[{"Key": "project", "Value": "apollo"}])["Credentials"]
    untagged = sts.assume_role(RoleArn=role, RoleSessionName="t2")["Credentials"]  # no tags: sts:TagSession not asked
    # The principal tag decides: the tagged session reaches DynamoDB (ResourceNotFound), the other is refused.
    assert error_code(lambda: _session(sec_server, "dynamodb", creds).describe_table(TableName="tr-none")) == "ResourceNotFoundException"
    assert error_code(lambda: _session(sec_server, "dynamodb", untagged).describe_table(TableName="tr-none")) == "AccessDeniedException"
    # No sts:TagSession in the trust policy: tags are refused.
    plain = _role(sec_server, "tr-untaggable", {"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"})
    message = _denied(lambda: sts.assume_role(RoleArn=plain, RoleSessionName="t3", Tags=[{"Key": "project", "Value": "apollo"}]))
    assert "sts:TagSession" in message


def test_role_trusting_another_user_only(sec_server: EmulatorServer, users: Users) -> None:
    users.create("tr-o-alice", ALLOW_ASSUME)
    users.create("tr-o-bob", ALLOW_ASSUME)
    role = _role(sec_server, "tr-alice-only", {"Effect": "Allow", "Principal": {"AWS": _user_arn(sec_server, "tr-o-alice")}, "Action": "sts:AssumeRole"})
    bob = _user_arn(sec_server, "tr-o-bob")
    message = _denied(lambda: users.client("tr-o-bob", "sts").assume_role(RoleArn=role, RoleSessionName="s1"))
    assert message.startswith(f"User: {bob} is not authorized to perform: sts:AssumeRole on resource: {role}")
    assert users.client("tr-o-alice", "sts").assume_role(RoleArn=role, RoleSessionName="s1")["AssumedRoleUser"]


def test_named_user_needs_no_identity_policy_but_the_account_delegates(sec_server: EmulatorServer, users: Users) -> None:
    """Same account: a trust policy naming the user allows it without an identity policy; one
    naming the account leaves it to the user's identity policies (IAM User Guide, "Policy
    evaluation logic": resource-based policies)."""
    users.create("tr-bare")
    account = _account(sec_server)
    named = _role(sec_server, "tr-names-bare", {"Effect": "Allow", "Principal": {"AWS": _user_arn(sec_server, "tr-bare")}, "Action": "sts:AssumeRole"})
    delegated = _role(sec_server, "tr-account-bare", {"Effect": "Allow", "Principal": {"AWS": account}, "Action": "sts:AssumeRole"})
    sts = users.client("tr-bare", "sts")
    assert sts.assume_role(RoleArn=named, RoleSessionName="s1")["AssumedRoleUser"]
    assert "because no identity-based policy allows the sts:AssumeRole action" in _denied(lambda: sts.assume_role(RoleArn=delegated, RoleSessionName="s1"))
    # An explicit Deny in the caller's identity policy wins over a trust policy naming it.
    users.create("tr-denied", {"Effect": "Deny", "Action": "sts:AssumeRole", "Resource": "*"})
    role = _role(sec_server, "tr-names-denied", {"Effect": "Allow", "Principal": {"AWS": _user_arn(sec_server, "tr-denied")}, "Action": "sts:AssumeRole"})
    _denied(lambda: users.client("tr-denied", "sts").assume_role(RoleArn=role, RoleSessionName="s1"))


def test_role_chaining_names_the_role(sec_server: EmulatorServer, users: Users) -> None:
    """An assumed-role session is named by its role's ARN in a trust policy."""
    users.create("tr-chain", ALLOW_ASSUME)
    account = _account(sec_server)
    first = _role(sec_server, "tr-first", {"Effect": "Allow", "Principal": {"AWS": _user_arn(sec_server, "tr-chain")}, "Action": "sts:AssumeRole"})
    second = _role(sec_server, "tr-second", {"Effect": "Allow", "Principal": {"AWS": first}, "Action": "sts:AssumeRole"})
    creds = users.client("tr-chain", "sts").assume_role(RoleArn=first, RoleSessionName="hop1")["Credentials"]
    out = _session(sec_server, "sts", creds).assume_role(RoleArn=second, RoleSessionName="hop2")
    assert out["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{account}:assumed-role/tr-second/hop2"
    _denied(lambda: users.client("tr-chain", "sts").assume_role(RoleArn=second, RoleSessionName="direct"))


# ------------------------------------------------------------------ AssumeRoleWithWebIdentity
def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _jwt(**claims: Any) -> str:
    """A hand-made token (alg "none": the emulator does not verify signatures)."""
    now = int(time.time())
    body = {"iss": ISSUER, "aud": CLIENT, "sub": "repo:acme/app:ref:refs/heads/main", "iat": now, "exp": now + 600} | claims
    return f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(body)}."


@pytest.fixture(scope="module")
def oidc_role(sec_server: EmulatorServer) -> str:
    iam = sec_server.client("iam")
    provider = iam.create_open_id_connect_provider(Url=ISSUER, ClientIDList=[CLIENT], ThumbprintList=["a" * 40])["OpenIDConnectProviderArn"]
    role = _role(sec_server, "tr-web", {"Effect": "Allow", "Principal": {"Federated": provider}, "Action": "sts:AssumeRoleWithWebIdentity",
                                        "Condition": {"StringEquals": {f"{HOST}:aud": CLIENT}, "StringLike": {f"{HOST}:sub": "repo:acme/app:*"}}})
    iam.put_role_policy(RoleName="tr-web", PolicyName="tables", PolicyDocument=_doc({"Effect": "Allow", "Action": "dynamodb:ListTables", "Resource": "*"}))
    return role


def test_web_identity_assumes_the_role(sec_server: EmulatorServer, oidc_role: str) -> None:
    sts = sec_server.client("sts")
    out = sts.assume_role_with_web_identity(RoleArn=oidc_role, RoleSessionName="gha-1", WebIdentityToken=_jwt())
    assert out["SubjectFromWebIdentityToken"] == "repo:acme/app:ref:refs/heads/main"
    assert (out["Provider"], out["Audience"]) == (ISSUER, CLIENT)
    assert out["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{_account(sec_server)}:assumed-role/tr-web/gha-1"
    creds = out["Credentials"]
    assert _session(sec_server, "sts", creds).get_caller_identity()["Arn"] == out["AssumedRoleUser"]["Arn"]
    assert "TableNames" in _session(sec_server, "dynamodb", creds).list_tables()
    assert error_code(lambda: _session(sec_server, "dynamodb", creds).describe_limits()) == "AccessDeniedException"
    # aud as a list, and a signed-looking token (the signature is not verified: any alg is accepted).
    token = _jwt(aud=["other", CLIENT])
    hs256 = f"{_b64({'alg': 'HS256', 'typ': 'JWT'})}.{token.split('.')[1]}.c2lnbmF0dXJl"
    assert sts.assume_role_with_web_identity(RoleArn=oidc_role, RoleSessionName="gha-2", WebIdentityToken=hs256)["Audience"] == CLIENT


def test_web_identity_refusals(sec_server: EmulatorServer, oidc_role: str) -> None:
    sts = sec_server.client("sts")

    def call(token: str, role: str = oidc_role) -> dict[str, Any]:
        return error_of(lambda: sts.assume_role_with_web_identity(RoleArn=role, RoleSessionName="gha", WebIdentityToken=token))

    wrong_aud = call(_jwt(aud="someone-else"))
    assert (wrong_aud["Code"], wrong_aud["Message"]) == ("InvalidIdentityToken", "Incorrect token audience")
    expired = call(_jwt(exp=int(time.time()) - 60))
    assert (expired["Code"], expired["HTTPStatusCode"]) == ("ExpiredTokenException", 400)
    assert expired["Message"].startswith("Token expired: current date/time ")
    unknown = call(_jwt(iss="https://unknown.example.test"))
    assert (unknown["Code"], unknown["Message"]) == ("InvalidIdentityToken", "No OpenIDConnect provider found in your account for https://unknown.example.test")
    assert call("not-a-jwt")["Code"] == "InvalidIdentityToken"
    assert call(_jwt(nbf=int(time.time()) + 3600))["Code"] == "InvalidIdentityToken"
    wrong_sub = call(_jwt(sub="repo:evil/app:ref:refs/heads/main"))
    assert (wrong_sub["Code"], wrong_sub["Message"], wrong_sub["HTTPStatusCode"]) == ("AccessDenied", "Not authorized to perform sts:AssumeRoleWithWebIdentity", 403)
    account = _account(sec_server)
    assert call(_jwt(), role=f"arn:aws:iam::{account}:role/tr-missing")["Code"] == "AccessDenied"
    # A role that trusts IAM users, not the provider.
    aws_only = _role(sec_server, "tr-web-aws", {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:root"}, "Action": "sts:AssumeRoleWithWebIdentity"})
    assert call(_jwt(), role=aws_only)["Code"] == "AccessDenied"


def test_assume_role_with_saml_is_refused_as_unsupported(sec_server: EmulatorServer) -> None:
    err = error_of(lambda: sec_server.client("sts").assume_role_with_saml(
        RoleArn=f"arn:aws:iam::{_account(sec_server)}:role/tr-web", PrincipalArn=f"arn:aws:iam::{_account(sec_server)}:saml-provider/x",
        SAMLAssertion="PHNhbWw+" * 2))
    assert err["Code"] == "InvalidAction" and "not supported" in err["Message"]


def test_source_identity_and_transitive_tags_in_role_chaining(sec_server: EmulatorServer, users: Users) -> None:
    """SourceIdentity needs sts:SetSourceIdentity (and sts:SourceIdentity is a condition key);
    transitive session tags and the source identity carry over to a chained session."""
    users.create("tr-src", {"Effect": "Allow", "Action": ["sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"], "Resource": "*"})
    principal = {"AWS": _user_arn(sec_server, "tr-src")}
    first = _role(sec_server, "tr-src-first", {"Effect": "Allow", "Principal": principal, "Action": ["sts:AssumeRole", "sts:TagSession"]},
                  {"Effect": "Allow", "Principal": principal, "Action": "sts:SetSourceIdentity", "Condition": {"StringEquals": {"sts:SourceIdentity": "alice"}}})
    second = _role(sec_server, "tr-src-second", {"Effect": "Allow", "Principal": {"AWS": first}, "Action": ["sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"]})
    sec_server.client("iam").put_role_policy(RoleName="tr-src-second", PolicyName="tagged", PolicyDocument=_doc(
        {"Effect": "Allow", "Action": "dynamodb:DescribeTable", "Resource": "*", "Condition": {"StringEquals": {"aws:PrincipalTag/project": "apollo"}}}))
    sts = users.client("tr-src", "sts")
    _denied(lambda: sts.assume_role(RoleArn=first, RoleSessionName="s1", SourceIdentity="mallory"))
    out = sts.assume_role(RoleArn=first, RoleSessionName="s1", SourceIdentity="alice", Tags=[{"Key": "project", "Value": "apollo"}],
                          TransitiveTagKeys=["project"])
    assert out["SourceIdentity"] == "alice"
    hop = _session(sec_server, "sts", out["Credentials"])
    chained = hop.assume_role(RoleArn=second, RoleSessionName="s2")
    assert chained["SourceIdentity"] == "alice"
    assert error_code(lambda: _session(sec_server, "dynamodb", chained["Credentials"]).describe_table(TableName="tr-none")) == "ResourceNotFoundException"
    assert error_code(lambda: hop.assume_role(RoleArn=second, RoleSessionName="s3", SourceIdentity="bob")) == "ValidationError"
    assert error_code(lambda: hop.assume_role(RoleArn=second, RoleSessionName="s3", Tags=[{"Key": "project", "Value": "other"}])) == "ValidationError"


def test_wildcard_principal_arn_matches_no_one(sec_server: EmulatorServer, users: Users) -> None:
    """IAM User Guide, "AWS JSON policy elements: Principal": a wildcard cannot match part of a
    principal ARN. Such a trust policy (IAM refuses it at CreateRole) lets no one in here."""
    users.create("tr-wild", ALLOW_ASSUME)
    doc = {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{_account(sec_server)}:user/tr-*"}, "Action": "sts:AssumeRole"}
    try:
        role = _role(sec_server, "tr-wildcard", doc)
    except Exception as exc:  # noqa: BLE001 - refused as IAM does: nothing to assume
        assert "MalformedPolicyDocument" in str(exc)
        return
    _denied(lambda: users.client("tr-wild", "sts").assume_role(RoleArn=role, RoleSessionName="s1"))


def test_trust_policy_naming_a_missing_user_or_role_is_refused(sec_server: EmulatorServer) -> None:
    """IAM resolves the users and roles of its account a trust policy names when it saves it:
    one that does not exist is a MalformedPolicyDocument; the account's root, other accounts
    and existing principals are taken."""
    iam, account = sec_server.client("iam"), _account(sec_server)

    def trusting(*principals: str) -> dict[str, Any]:
        return {"Effect": "Allow", "Principal": {"AWS": list(principals)}, "Action": "sts:AssumeRole"}

    for missing in (f"arn:aws:iam::{account}:user/trust-ghost", f"arn:aws:iam::{account}:role/path/trust-ghost"):
        err = error_of(lambda m=missing: _role(sec_server, "trust-refused", trusting(f"arn:aws:iam::{account}:root", m)))
        assert (err["Code"], err["Message"], err["HTTPStatusCode"]) == ("MalformedPolicyDocument", f'Invalid principal in policy: "AWS":"{missing}"', 400)
    assert "trust-refused" not in [r["RoleName"] for r in iam.list_roles()["Roles"]]
    iam.create_user(UserName="trust-real")
    first = _role(sec_server, "trust-first", trusting(f"arn:aws:iam::{account}:user/trust-real", "arn:aws:iam::111122223333:root"))
    _role(sec_server, "trust-second", trusting(first))
    err = error_of(lambda: iam.update_assume_role_policy(RoleName="trust-second", PolicyDocument=_doc(trusting(f"arn:aws:iam::{account}:user/gone"))))
    assert err["Code"] == "MalformedPolicyDocument" and err["Message"].endswith(':user/gone"')
