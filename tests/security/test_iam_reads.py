"""IAM's account-wide reads see the native users, groups, keys and policies (and moto's roles):
ListEntitiesForPolicy, GetAccountAuthorizationDetails, GetAccountSummary, GetAccessKeyLastUsed
and the credential report, through the wire."""

from __future__ import annotations

import csv
import io
import json
import time
from pathlib import Path
from typing import Any

from security_helpers import Users, error_code, error_of

from emulator.testing.server import EmulatorServer

TRUST = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]})


def _doc(action: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": action, "Resource": "*"}]})


def _last_used(iam: Any, key_id: str, service: str, deadline_s: float = 30.0) -> dict[str, Any]:
    """GetAccessKeyLastUsed until it names ``service`` (the record is batched off the request path)."""
    deadline = time.monotonic() + deadline_s
    while True:
        last = dict(iam.get_access_key_last_used(AccessKeyId=key_id)["AccessKeyLastUsed"])
        if last.get("ServiceName") == service or time.monotonic() > deadline:
            return last
        time.sleep(0.2)


def test_credential_report_before_generation_is_not_present(users: Users) -> None:
    # First in this module: its server has never generated one.
    err = error_of(users.iam.get_credential_report)
    assert (err["Code"], err["HTTPStatusCode"]) == ("ReportNotPresent", 410)


def test_list_entities_for_policy_and_delete_conflict(users: Users) -> None:
    iam = users.iam
    arn = iam.create_policy(PolicyName="e-pol", PolicyDocument=_doc("sts:GetCallerIdentity"))["Policy"]["Arn"]
    users.create("e-user", managed=[arn])
    iam.create_user(UserName="e-bounded")
    iam.put_user_permissions_boundary(UserName="e-bounded", PermissionsBoundary=arn)
    iam.create_group(GroupName="e-group")
    iam.attach_group_policy(GroupName="e-group", PolicyArn=arn)
    iam.create_role(RoleName="e-role", AssumeRolePolicyDocument=TRUST)
    iam.attach_role_policy(RoleName="e-role", PolicyArn=arn)

    found = iam.list_entities_for_policy(PolicyArn=arn)
    assert [u["UserName"] for u in found["PolicyUsers"]] == ["e-bounded", "e-user"]
    assert [g["GroupName"] for g in found["PolicyGroups"]] == ["e-group"]
    assert [r["RoleName"] for r in found["PolicyRoles"]] == ["e-role"]
    assert [u["UserName"] for u in iam.list_entities_for_policy(PolicyArn=arn, PolicyUsageFilter="PermissionsPolicy")["PolicyUsers"]] == ["e-user"]
    assert [u["UserName"] for u in iam.list_entities_for_policy(PolicyArn=arn, PolicyUsageFilter="PermissionsBoundary")["PolicyUsers"]] == ["e-bounded"]
    only_roles = iam.list_entities_for_policy(PolicyArn=arn, EntityFilter="Role")
    assert (only_roles["PolicyUsers"], only_roles["PolicyGroups"], len(only_roles["PolicyRoles"])) == ([], [], 1)
    assert iam.get_policy(PolicyArn=arn)["Policy"]["AttachmentCount"] == 3  # the user, the group and the role

    # Paged with one marker over the three lists.
    page = iam.list_entities_for_policy(PolicyArn=arn, MaxItems=2)
    rest = iam.list_entities_for_policy(PolicyArn=arn, Marker=page["Marker"])
    assert page["IsTruncated"] and not rest["IsTruncated"]
    assert sum(len(p[k]) for p in (page, rest) for k in ("PolicyUsers", "PolicyGroups", "PolicyRoles")) == 4

    assert error_code(lambda: iam.list_entities_for_policy(PolicyArn="arn:aws:iam::000000000000:policy/none")) == "NoSuchEntity"
    assert error_code(lambda: iam.delete_policy(PolicyArn=arn)) == "DeleteConflict"
    for detach in (lambda: iam.detach_user_policy(UserName="e-user", PolicyArn=arn), lambda: iam.delete_user_permissions_boundary(UserName="e-bounded"),
                   lambda: iam.detach_group_policy(GroupName="e-group", PolicyArn=arn)):
        detach()
        assert error_code(lambda: iam.delete_policy(PolicyArn=arn)) == "DeleteConflict"
    iam.detach_role_policy(RoleName="e-role", PolicyArn=arn)
    iam.delete_policy(PolicyArn=arn)


def test_account_authorization_details_include_native_users_and_groups(users: Users) -> None:
    iam = users.iam
    arn = iam.create_policy(PolicyName="d-pol", PolicyDocument=_doc("s3:ListAllMyBuckets"))["Policy"]["Arn"]
    users.create("d-user", {"Effect": "Allow", "Action": "sqs:ListQueues", "Resource": "*"}, managed=[arn, "arn:aws:iam::aws:policy/ReadOnlyAccess"])
    iam.create_group(GroupName="d-group")
    iam.add_user_to_group(GroupName="d-group", UserName="d-user")
    iam.put_group_policy(GroupName="d-group", PolicyName="gp", PolicyDocument=_doc("sns:ListTopics"))
    iam.create_role(RoleName="d-role", AssumeRolePolicyDocument=TRUST)

    details = iam.get_account_authorization_details()
    user = next(u for u in details["UserDetailList"] if u["UserName"] == "d-user")
    assert user["GroupList"] == ["d-group"]
    assert [p["PolicyName"] for p in user["UserPolicyList"]] == ["inline"]
    assert user["UserPolicyList"][0]["PolicyDocument"]["Statement"][0]["Action"] == "sqs:ListQueues"
    assert {p["PolicyArn"] for p in user["AttachedManagedPolicies"]} == {arn, "arn:aws:iam::aws:policy/ReadOnlyAccess"}
    group = next(g for g in details["GroupDetailList"] if g["GroupName"] == "d-group")
    assert group["GroupPolicyList"][0]["PolicyName"] == "gp"
    role = next(r for r in details["RoleDetailList"] if r["RoleName"] == "d-role")
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {"Service": "lambda.amazonaws.com"}
    policies = {p["Arn"]: p for p in details["Policies"]}
    assert policies[arn]["PolicyVersionList"][0]["Document"]["Statement"][0]["Action"] == "s3:ListAllMyBuckets"
    assert policies[arn]["AttachmentCount"] == 1
    assert "arn:aws:iam::aws:policy/ReadOnlyAccess" in policies  # an AWS managed policy in use
    assert "arn:aws:iam::aws:policy/AmazonEC2FullAccess" not in policies  # ... and not the whole catalog

    only_users = iam.get_account_authorization_details(Filter=["User"])
    assert only_users["GroupDetailList"] == only_users["RoleDetailList"] == only_users["Policies"] == []
    assert "d-user" in [u["UserName"] for u in only_users["UserDetailList"]]
    local = iam.get_account_authorization_details(Filter=["LocalManagedPolicy"])["Policies"]
    assert arn in [p["Arn"] for p in local] and not any(p["Arn"].startswith("arn:aws:iam::aws:") for p in local)


def test_account_summary_counts_native_users_groups_and_policies(users: Users) -> None:
    iam = users.iam
    before = iam.get_account_summary()["SummaryMap"]
    iam.create_user(UserName="s-one")
    iam.create_user(UserName="s-two")
    iam.create_group(GroupName="s-group")
    iam.create_policy(PolicyName="s-pol", PolicyDocument=_doc("s3:ListAllMyBuckets"))
    iam.create_role(RoleName="s-role", AssumeRolePolicyDocument=TRUST)
    after = iam.get_account_summary()["SummaryMap"]
    assert after["Users"] == before["Users"] + 2 == len(iam.list_users()["Users"])
    assert after["Groups"] == before["Groups"] + 1
    assert after["Policies"] == before["Policies"] + 1
    assert after["Roles"] == before["Roles"] + 1
    assert (after["AccessKeysPerUserQuota"], after["GroupsPerUserQuota"], after["AccountAccessKeysPresent"]) == (2, 10, 1)


def test_access_key_last_used_after_a_call(users: Users, sec_server: EmulatorServer) -> None:
    iam = users.iam
    keys = users.create("k-user", {"Effect": "Allow", "Action": "iam:ListUsers", "Resource": "*"})
    key_id = keys["aws_access_key_id"]
    never = iam.get_access_key_last_used(AccessKeyId=key_id)
    assert never["UserName"] == "k-user"
    assert never["AccessKeyLastUsed"] == {"ServiceName": "N/A", "Region": "N/A"}

    sec_server.client("sts", region_name="eu-west-1", **keys).get_caller_identity()
    last = _last_used(iam, key_id, "sts")
    assert (last["ServiceName"], last["Region"]) == ("sts", "eu-west-1")
    assert last["LastUsedDate"].second == 0  # kept to the minute
    assert abs(time.time() - last["LastUsedDate"].timestamp()) < 600

    users.client("k-user", "iam").list_users()
    assert _last_used(iam, key_id, "iam")["ServiceName"] == "iam"
    err = error_of(lambda: iam.get_access_key_last_used(AccessKeyId="AKIAUNKNOWNUNKNOWN00"))
    assert err["Code"] == "AccessDenied"


def test_credential_report_has_root_and_one_line_per_user(users: Users) -> None:
    iam = users.iam
    keys = users.create("c-user")
    iam.create_login_profile(UserName="c-user", Password="Report-pa55word")
    users.client("c-user", "sts").get_caller_identity()
    _last_used(iam, keys["aws_access_key_id"], "sts")

    assert iam.generate_credential_report()["State"] in ("STARTED", "COMPLETE")
    report = iam.get_credential_report()
    assert report["ReportFormat"] == "text/csv"
    rows = list(csv.DictReader(io.StringIO(report["Content"].decode())))
    assert rows[0]["user"] == "<root_account>" and rows[0]["arn"] == "arn:aws:iam::000000000000:root"
    assert rows[0]["password_enabled"] == "not_supported"
    names = [r["user"] for r in rows[1:]]
    assert names == sorted(u["UserName"] for u in iam.list_users()["Users"])
    mine = next(r for r in rows if r["user"] == "c-user")
    assert len(mine) == 22
    assert (mine["password_enabled"], mine["access_key_1_active"], mine["access_key_2_active"]) == ("true", "true", "false")
    assert (mine["access_key_1_last_used_service"], mine["access_key_1_last_used_region"]) == ("sts", "us-east-1")
    assert mine["access_key_1_last_used_date"].endswith(":00+00:00")
    # Within four hours, generating again answers COMPLETE and keeps the report.
    assert iam.generate_credential_report()["State"] == "COMPLETE"


def test_last_used_survives_a_restart(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with EmulatorServer(data_dir=data, extra_args=["--services", "iam"]) as server:
        users = Users(server)
        keys = users.create("p-user")
        server.client("sts", **keys).get_caller_identity()
        assert _last_used(users.iam, keys["aws_access_key_id"], "sts")["ServiceName"] == "sts"
    with EmulatorServer(data_dir=data, extra_args=["--services", "iam"]) as server:
        last = server.client("iam").get_access_key_last_used(AccessKeyId=keys["aws_access_key_id"])["AccessKeyLastUsed"]
        assert last["ServiceName"] == "sts" and "LastUsedDate" in last


def test_reset_forgets_groups_profiles_usage_and_the_report(tmp_path: Path) -> None:
    with EmulatorServer(data_dir=tmp_path / "data", extra_args=["--services", "iam"]) as server:
        users = Users(server)
        iam = users.iam
        users.create("z-user")
        iam.create_group(GroupName="z-group")
        iam.add_user_to_group(GroupName="z-group", UserName="z-user")
        iam.create_login_profile(UserName="z-user", Password="Reset-pa55word")
        iam.generate_credential_report()
        server.reset(services=["iam"])
        assert iam.list_groups()["Groups"] == [] and iam.list_users()["Users"] == []
        assert error_code(iam.get_credential_report) == "ReportNotPresent"
        assert iam.get_account_summary()["SummaryMap"]["Groups"] == 0
        # ``upload_ssh_public_key`` names a user and is not served: refused, not handed to moto.
        assert error_code(lambda: iam.upload_ssh_public_key(UserName="z-user", SSHPublicKeyBody="ssh-rsa AAAA")) == "UnsupportedOperation"
