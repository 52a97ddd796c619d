"""IAM groups with the native users, permissions boundaries and login profiles, through the wire:
a group's policies count for its members from the next request on, a Deny anywhere wins, a
boundary caps what the identity policies allow, and all of it survives a restart."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from security_helpers import Users, error_code, error_of

from emulator.testing.server import EmulatorServer

ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"


def _doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _allow(action: str) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": "*"}


def test_group_membership_grants_and_revokes_on_the_next_request(users: Users) -> None:
    iam = users.iam
    users.create("g-alice")
    alice = users.client("g-alice", "iam")
    iam.create_group(GroupName="g-readers")
    iam.put_group_policy(GroupName="g-readers", PolicyName="list-users", PolicyDocument=_doc(_allow("iam:ListUsers")))
    assert error_code(alice.list_users) == "AccessDenied"

    iam.add_user_to_group(GroupName="g-readers", UserName="g-alice")
    assert "g-alice" in [u["UserName"] for u in alice.list_users()["Users"]]

    # A managed policy attached to the group counts too.
    arn = iam.create_policy(PolicyName="g-list-groups", PolicyDocument=_doc(_allow("iam:ListGroups")))["Policy"]["Arn"]
    assert error_code(alice.list_groups) == "AccessDenied"
    iam.attach_group_policy(GroupName="g-readers", PolicyArn=arn)
    assert "g-readers" in [g["GroupName"] for g in alice.list_groups()["Groups"]]

    iam.remove_user_from_group(GroupName="g-readers", UserName="g-alice")
    assert error_code(alice.list_users) == "AccessDenied"
    assert error_code(alice.list_groups) == "AccessDenied"


def test_group_deny_wins_over_the_users_allow(users: Users) -> None:
    iam = users.iam
    users.create("g-bob", _allow("iam:*"))
    bob = users.client("g-bob", "iam")
    iam.create_group(GroupName="g-no-users")
    iam.put_group_policy(GroupName="g-no-users", PolicyName="deny", PolicyDocument=_doc({"Effect": "Deny", "Action": "iam:ListUsers", "Resource": "*"}))
    bob.list_users()
    iam.add_user_to_group(GroupName="g-no-users", UserName="g-bob")
    err = error_of(bob.list_users)
    assert err["Code"] == "AccessDenied"
    assert err["Message"].endswith("with an explicit deny in an identity-based policy")
    bob.list_groups()  # what the group does not deny stays allowed


def test_group_reads_and_lifecycle(users: Users) -> None:
    iam = users.iam
    users.create("g-carol")
    group = iam.create_group(GroupName="g-team", Path="/eng/")["Group"]
    assert group["Arn"] == "arn:aws:iam::000000000000:group/eng/g-team" and group["GroupId"].startswith("AGPA")
    assert error_code(lambda: iam.create_group(GroupName="g-team")) == "EntityAlreadyExists"
    iam.add_user_to_group(GroupName="g-team", UserName="g-carol")
    iam.add_user_to_group(GroupName="g-team", UserName="g-carol")  # already a member: no error
    assert [u["UserName"] for u in iam.get_group(GroupName="g-team")["Users"]] == ["g-carol"]
    assert [g["GroupName"] for g in iam.list_groups_for_user(UserName="g-carol")["Groups"]] == ["g-team"]
    assert "g-team" in [g["GroupName"] for g in iam.list_groups(PathPrefix="/eng/")["Groups"]]
    iam.put_group_policy(GroupName="g-team", PolicyName="p", PolicyDocument=_doc(_allow("s3:ListAllMyBuckets")))
    assert iam.get_group_policy(GroupName="g-team", PolicyName="p")["PolicyDocument"]["Statement"][0]["Action"] == "s3:ListAllMyBuckets"
    iam.attach_group_policy(GroupName="g-team", PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")
    assert [p["PolicyName"] for p in iam.list_attached_group_policies(GroupName="g-team")["AttachedPolicies"]] == ["ReadOnlyAccess"]

    # A group with members, or a member of a group, cannot be deleted (DeleteConflict).
    assert error_of(lambda: iam.delete_group(GroupName="g-team"))["Code"] == "DeleteConflict"
    assert error_of(lambda: iam.delete_user(UserName="g-carol"))["Code"] == "DeleteConflict"
    assert error_code(lambda: iam.remove_user_from_group(GroupName="g-team", UserName="g-nobody")) == "NoSuchEntity"

    # Renaming keeps the members and the policies.
    iam.update_group(GroupName="g-team", NewGroupName="g-team2")
    assert error_code(lambda: iam.get_group(GroupName="g-team")) == "NoSuchEntity"
    assert [u["UserName"] for u in iam.get_group(GroupName="g-team2")["Users"]] == ["g-carol"]
    assert iam.list_group_policies(GroupName="g-team2")["PolicyNames"] == ["p"]

    iam.remove_user_from_group(GroupName="g-team2", UserName="g-carol")
    assert error_of(lambda: iam.delete_group(GroupName="g-team2"))["Code"] == "DeleteConflict"  # policies left
    iam.delete_group_policy(GroupName="g-team2", PolicyName="p")
    iam.detach_group_policy(GroupName="g-team2", PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")
    iam.delete_group(GroupName="g-team2")
    assert iam.list_groups_for_user(UserName="g-carol")["Groups"] == []


def test_permissions_boundary_caps_an_administrator(users: Users) -> None:
    iam = users.iam
    users.create("b-admin", managed=[ADMIN])
    admin = users.client("b-admin", "iam")
    boundary = iam.create_policy(PolicyName="b-list-only", PolicyDocument=_doc(_allow("iam:List*"), _allow("iam:GetUser")))["Policy"]["Arn"]
    admin.create_group(GroupName="b-made-before")

    iam.put_user_permissions_boundary(UserName="b-admin", PermissionsBoundary=boundary)
    assert iam.get_user(UserName="b-admin")["User"]["PermissionsBoundary"] == {"PermissionsBoundaryType": "PermissionsBoundaryPolicy", "PermissionsBoundaryArn": boundary}
    assert "PermissionsBoundary" not in next(u for u in iam.list_users()["Users"] if u["UserName"] == "b-admin")
    assert iam.get_policy(PolicyArn=boundary)["Policy"]["PermissionsBoundaryUsageCount"] == 1
    admin.list_users()  # allowed by both
    err = error_of(lambda: admin.create_group(GroupName="b-made-after"))
    assert err["Code"] == "AccessDenied"
    assert err["Message"].endswith("because no permissions boundary allows the iam:CreateGroup action")

    # An explicit deny in the identity policies wins even where the boundary allows.
    iam.put_user_policy(UserName="b-admin", PolicyName="deny-list-groups", PolicyDocument=_doc({"Effect": "Deny", "Action": "iam:ListGroups", "Resource": "*"}))
    assert error_code(admin.list_groups) == "AccessDenied"
    iam.delete_user_policy(UserName="b-admin", PolicyName="deny-list-groups")
    admin.list_groups()

    # A boundary's own Deny: "with an explicit deny in a permissions boundary".
    iam.create_policy_version(PolicyArn=boundary, SetAsDefault=True, PolicyDocument=_doc(_allow("iam:*"), {"Effect": "Deny", "Action": "iam:ListRoles", "Resource": "*"}))
    assert error_of(admin.list_roles)["Message"].endswith("with an explicit deny in a permissions boundary")
    admin.create_group(GroupName="b-made-after")  # the new default version allows it

    # The boundary never grants: without the identity policy, nothing is allowed.
    iam.detach_user_policy(UserName="b-admin", PolicyArn=ADMIN)
    assert error_code(admin.list_users) == "AccessDenied"
    iam.attach_user_policy(UserName="b-admin", PolicyArn=ADMIN)
    assert error_code(lambda: iam.delete_policy(PolicyArn=boundary)) == "DeleteConflict"  # in use as a boundary

    iam.delete_user_permissions_boundary(UserName="b-admin")
    assert "PermissionsBoundary" not in iam.get_user(UserName="b-admin")["User"]
    admin.list_roles()
    assert error_code(lambda: iam.put_user_permissions_boundary(UserName="b-admin", PermissionsBoundary="arn:aws:iam::000000000000:policy/none")) == "NoSuchEntity"


def test_simulate_principal_policy_counts_groups_and_the_boundary(users: Users) -> None:
    iam = users.iam
    users.create("s-dave")
    user = iam.get_user(UserName="s-dave")["User"]
    iam.create_group(GroupName="s-group")
    iam.put_group_policy(GroupName="s-group", PolicyName="p", PolicyDocument=_doc(_allow("s3:*")))
    iam.add_user_to_group(GroupName="s-group", UserName="s-dave")

    def decision(action: str) -> str:
        return str(iam.simulate_principal_policy(PolicySourceArn=user["Arn"], ActionNames=[action])["EvaluationResults"][0]["EvalDecision"])

    assert decision("s3:GetObject") == "allowed"
    boundary = iam.create_policy(PolicyName="s-boundary", PolicyDocument=_doc(_allow("s3:ListBucket")))["Policy"]["Arn"]
    iam.put_user_permissions_boundary(UserName="s-dave", PermissionsBoundary=boundary)
    assert decision("s3:GetObject") != "allowed"
    assert decision("s3:ListBucket") == "allowed"
    group_arn = iam.get_group(GroupName="s-group")["Group"]["Arn"]
    assert iam.simulate_principal_policy(PolicySourceArn=group_arn, ActionNames=["s3:GetObject"])["EvaluationResults"][0]["EvalDecision"] == "allowed"


def test_login_profiles(users: Users, sec_server: EmulatorServer) -> None:
    iam = users.iam
    users.create("l-erin")
    password = "Sup3r-s3cret-pass"
    assert error_code(lambda: iam.get_login_profile(UserName="l-erin")) == "NoSuchEntity"
    assert error_code(lambda: iam.create_login_profile(UserName="l-erin", Password="short")) == "PasswordPolicyViolation"
    assert error_code(lambda: iam.create_login_profile(UserName="l-erin", Password="alllowercaseletters")) == "PasswordPolicyViolation"
    profile = iam.create_login_profile(UserName="l-erin", Password=password, PasswordResetRequired=True)["LoginProfile"]
    assert profile["UserName"] == "l-erin" and profile["PasswordResetRequired"] is True and "Password" not in profile
    assert error_code(lambda: iam.create_login_profile(UserName="l-erin", Password=password)) == "EntityAlreadyExists"
    assert iam.get_login_profile(UserName="l-erin")["LoginProfile"]["PasswordResetRequired"] is True
    iam.update_login_profile(UserName="l-erin", PasswordResetRequired=False)
    assert iam.get_login_profile(UserName="l-erin")["LoginProfile"]["PasswordResetRequired"] is False
    assert password not in (sec_server.data_dir / "iam.json").read_text()  # kept hashed only

    # The account password policy (moto's), when set, is what passwords are checked against.
    iam.update_account_password_policy(MinimumPasswordLength=24, RequireSymbols=True)
    try:
        assert error_code(lambda: iam.update_login_profile(UserName="l-erin", Password=password)) == "PasswordPolicyViolation"
        iam.update_login_profile(UserName="l-erin", Password="a-much-longer-password-!!")
    finally:
        iam.delete_account_password_policy()

    assert error_of(lambda: iam.delete_user(UserName="l-erin"))["Code"] == "DeleteConflict"
    iam.delete_login_profile(UserName="l-erin")
    assert error_code(lambda: iam.delete_login_profile(UserName="l-erin")) == "NoSuchEntity"


def test_groups_boundaries_and_profiles_survive_a_restart(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with EmulatorServer(data_dir=data, extra_args=["--services", "iam"]) as server:
        users = Users(server)
        users.create("r-frank", managed=[ADMIN])
        iam = users.iam
        iam.create_group(GroupName="r-group")
        iam.put_group_policy(GroupName="r-group", PolicyName="deny", PolicyDocument=_doc({"Effect": "Deny", "Action": "iam:ListRoles", "Resource": "*"}))
        iam.add_user_to_group(GroupName="r-group", UserName="r-frank")
        boundary = iam.create_policy(PolicyName="r-boundary", PolicyDocument=_doc(_allow("iam:List*")))["Policy"]["Arn"]
        iam.put_user_permissions_boundary(UserName="r-frank", PermissionsBoundary=boundary)
        iam.create_login_profile(UserName="r-frank", Password="Restart-pa55word")
        keys = users.keys["r-frank"]
    with EmulatorServer(data_dir=data, extra_args=["--services", "iam"]) as server:
        iam = server.client("iam")
        frank = server.client("iam", **keys)
        assert [u["UserName"] for u in iam.get_group(GroupName="r-group")["Users"]] == ["r-frank"]
        assert iam.get_user(UserName="r-frank")["User"]["PermissionsBoundary"]["PermissionsBoundaryArn"] == boundary
        assert iam.get_login_profile(UserName="r-frank")["LoginProfile"]["UserName"] == "r-frank"
        frank.list_users()
        assert error_code(frank.list_roles) == "AccessDenied"  # the group's deny
        assert error_code(lambda: frank.create_group(GroupName="x")) == "AccessDenied"  # the boundary


@pytest.mark.parametrize("call", ["list_groups_for_user", "get_login_profile"])
def test_unknown_user_is_no_such_entity(users: Users, call: str) -> None:
    assert error_code(lambda: getattr(users.iam, call)(UserName="nobody-here")) == "NoSuchEntity"
