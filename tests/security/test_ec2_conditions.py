"""EC2's condition keys in identity-based policies, through the wire (emulator/gateway/authorize.py,
authorize_requirements.ec2_requirements, authorize_context.ec2_resource_keys): ec2:InstanceType,
aws:ResourceTag/<key> and ec2:ResourceTag/<key> of an instance, aws:RequestTag/<key>, aws:TagKeys
and ec2:CreateAction of tags on creation, as the EC2 User Guide's example policies use them."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from security_helpers import Users, error_of

from emulator.testing.server import EmulatorServer

DRY = "DryRunOperation"
REFUSED = "UnauthorizedOperation"
INSTANCES = "arn:aws:ec2:*:*:instance/*"


def _allow(action: str | list[str], resource: str | list[str] = "*", condition: dict[str, Any] | None = None, not_resource: bool = False) -> dict[str, Any]:
    found: dict[str, Any] = {"Effect": "Allow", "Action": action, "NotResource" if not_resource else "Resource": resource}
    if condition is not None:
        found["Condition"] = condition
    return found


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


# RunInstances on everything it launches with but the instance (whose statement has the condition).
OTHERS = _allow("ec2:RunInstances", INSTANCES, not_resource=True)
CREATE_TAGS_ON_LAUNCH = _allow("ec2:CreateTags", "*", {"StringEquals": {"ec2:CreateAction": "RunInstances"}})


def _code(call: Any) -> str:
    return str(error_of(call)["Code"])


@pytest.fixture(scope="module")
def image(sec_server: EmulatorServer) -> str:
    return str(sec_server.client("ec2").describe_images()["Images"][0]["ImageId"])


def _run(image: str, instance_type: str = "c7i.large", tags: dict[str, str] | None = None, **extra: Any) -> dict[str, Any]:
    params: dict[str, Any] = {"ImageId": image, "InstanceType": instance_type, "MinCount": 1, "MaxCount": 1, "DryRun": True, **extra}
    if tags is not None:
        params["TagSpecifications"] = [{"ResourceType": "instance", "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}]
    return params


def test_instance_type_condition_restricts_run_instances(users: Users, image: str) -> None:
    """The EC2 User Guide's "restrict instance types": ec2:InstanceType on the instance resource."""
    user = _name("ec2-type")
    users.create(user, _allow("ec2:RunInstances", INSTANCES, {"StringEquals": {"ec2:InstanceType": "c7i.large"}}), OTHERS)
    ec2 = users.client(user, "ec2")
    assert _code(lambda: ec2.run_instances(**_run(image, "c7i.large"))) == DRY
    err = error_of(lambda: ec2.run_instances(**_run(image, "c7i.xlarge")))
    assert err["Code"] == REFUSED and err["HTTPStatusCode"] == 403
    assert "ec2:RunInstances on resource: arn:aws:ec2:us-east-1:" in err["Message"] and ":instance/* " in err["Message"], err["Message"]
    like = _name("ec2-type-like")
    users.create(like, _allow("ec2:RunInstances", INSTANCES, {"StringLike": {"ec2:InstanceType": "c7i.*"}}), OTHERS)
    assert _code(lambda: users.client(like, "ec2").run_instances(**_run(image, "c7i.xlarge"))) == DRY


def test_run_instances_acts_on_what_it_launches_with(users: Users, image: str) -> None:
    """RunInstances needs the action on the image, network interface, subnet, security group and
    volume too: a policy naming the instance and the image only is refused on the interface."""
    narrow = _name("ec2-narrow")
    users.create(narrow, _allow("ec2:RunInstances", [INSTANCES, "arn:aws:ec2:*::image/*"]))
    err = error_of(lambda: users.client(narrow, "ec2").run_instances(**_run(image)))
    assert err["Code"] == REFUSED and ":network-interface/* " in err["Message"], err["Message"]
    listed = _name("ec2-listed")
    users.create(listed, _allow("ec2:RunInstances", [INSTANCES, "arn:aws:ec2:*::image/ami-*", "arn:aws:ec2:*:*:subnet/*", "arn:aws:ec2:*:*:network-interface/*",
                                                      "arn:aws:ec2:*:*:volume/*", "arn:aws:ec2:*:*:key-pair/*", "arn:aws:ec2:*:*:security-group/*"]))
    assert _code(lambda: users.client(listed, "ec2").run_instances(**_run(image))) == DRY


def test_tags_on_creation_need_create_tags_with_create_action(users: Users, image: str) -> None:
    """TagSpecifications need ec2:CreateTags on the tagged resource; ec2:CreateAction is the
    creating action, absent from a CreateTags call of its own."""
    without = _name("ec2-notag")
    users.create(without, _allow("ec2:RunInstances"))
    ec2 = users.client(without, "ec2")
    assert _code(lambda: ec2.run_instances(**_run(image))) == DRY  # no tags: no CreateTags needed
    err = error_of(lambda: ec2.run_instances(**_run(image, tags={"env": "dev"})))
    assert err["Code"] == REFUSED and "ec2:CreateTags on resource: arn:aws:ec2:us-east-1:" in err["Message"] and ":instance/* " in err["Message"], err["Message"]
    with_tags = _name("ec2-tagok")
    users.create(with_tags, _allow("ec2:RunInstances"), CREATE_TAGS_ON_LAUNCH, _allow("ec2:DescribeInstances"))
    ec2 = users.client(with_tags, "ec2")
    assert _code(lambda: ec2.run_instances(**_run(image, tags={"env": "dev"}))) == DRY
    # The same statement does not allow tagging an existing resource.
    assert _code(lambda: ec2.create_tags(Resources=["i-0123456789abcdef0"], Tags=[{"Key": "env", "Value": "dev"}], DryRun=True)) == REFUSED


def test_request_tags_and_tag_keys_on_run_instances(users: Users, image: str) -> None:
    """aws:RequestTag/<key> and aws:TagKeys: the instance's TagSpecifications."""
    user = _name("ec2-reqtag")
    users.create(user, _allow("ec2:RunInstances", INSTANCES, {"StringEquals": {"aws:RequestTag/env": "dev"},
                                                               "ForAllValues:StringEquals": {"aws:TagKeys": ["env", "Name"]}}),
                 OTHERS, CREATE_TAGS_ON_LAUNCH)
    ec2 = users.client(user, "ec2")
    assert _code(lambda: ec2.run_instances(**_run(image, tags={"env": "dev"}))) == DRY
    assert _code(lambda: ec2.run_instances(**_run(image, tags={"env": "dev", "Name": "web"}))) == DRY
    assert _code(lambda: ec2.run_instances(**_run(image, tags={"env": "prod"}))) == REFUSED
    assert _code(lambda: ec2.run_instances(**_run(image, tags={"env": "dev", "cost": "x"}))) == REFUSED
    assert _code(lambda: ec2.run_instances(**_run(image))) == REFUSED  # no tag: aws:RequestTag/env absent


def test_request_tags_and_tag_keys_on_create_tags(sec_server: EmulatorServer, users: Users, image: str) -> None:
    instance = sec_server.client("ec2").run_instances(**{**_run(image), "DryRun": False})["Instances"][0]["InstanceId"]
    user = _name("ec2-createtags")
    users.create(user, _allow("ec2:CreateTags", INSTANCES, {"StringEquals": {"aws:RequestTag/team": "ml"}, "ForAllValues:StringEquals": {"aws:TagKeys": ["team"]}}),
                 _allow("ec2:DeleteTags", INSTANCES, {"ForAllValues:StringEquals": {"aws:TagKeys": ["scratch"]}}))
    ec2 = users.client(user, "ec2")
    tag = lambda key, value: [{"Key": key, "Value": value}]
    assert _code(lambda: ec2.create_tags(Resources=[instance], Tags=tag("team", "ml"), DryRun=True)) == DRY
    assert _code(lambda: ec2.create_tags(Resources=[instance], Tags=tag("team", "web"), DryRun=True)) == REFUSED
    assert _code(lambda: ec2.create_tags(Resources=[instance], Tags=[*tag("team", "ml"), *tag("owner", "x")], DryRun=True)) == REFUSED
    assert _code(lambda: ec2.delete_tags(Resources=[instance], Tags=[{"Key": "scratch"}], DryRun=True)) == DRY
    assert _code(lambda: ec2.delete_tags(Resources=[instance], Tags=[{"Key": "team"}], DryRun=True)) == REFUSED
    sec_server.client("ec2").terminate_instances(InstanceIds=[instance])


def test_resource_tags_of_instances(sec_server: EmulatorServer, users: Users, image: str) -> None:
    """Attribute-based access control: aws:ResourceTag/<key> and ec2:ResourceTag/<key> are the
    instance's tags; an instance without the tag, or a request naming one, is refused."""
    root = sec_server.client("ec2")
    own = root.run_instances(**{**_run(image, tags={"owner": "qa", "team": "ml"}), "DryRun": False})["Instances"][0]["InstanceId"]
    other = root.run_instances(**{**_run(image, tags={"owner": "someone"}), "DryRun": False})["Instances"][0]["InstanceId"]
    user = _name("ec2-abac")
    users.create(user, _allow(["ec2:StopInstances", "ec2:StartInstances", "ec2:RebootInstances"], INSTANCES, {"StringEquals": {"aws:ResourceTag/owner": "qa"}}),
                 _allow("ec2:TerminateInstances", INSTANCES, {"StringEquals": {"ec2:ResourceTag/team": "ml"}}),
                 _allow("ec2:CreateTags", INSTANCES, {"StringEquals": {"aws:ResourceTag/owner": "qa"}}),
                 _allow("ec2:GetConsoleOutput", INSTANCES, {"StringEquals": {"ec2:InstanceType": "c7i.large"}}))
    ec2 = users.client(user, "ec2")
    for call in (ec2.stop_instances, ec2.start_instances, ec2.reboot_instances, ec2.terminate_instances):
        assert _code(lambda: call(InstanceIds=[own], DryRun=True)) == DRY, call  # noqa: B023
        assert _code(lambda: call(InstanceIds=[other], DryRun=True)) == REFUSED, call  # noqa: B023
    err = error_of(lambda: ec2.stop_instances(InstanceIds=[own, other], DryRun=True))
    assert err["Code"] == REFUSED and f":instance/{other} " in err["Message"], err["Message"]
    assert _code(lambda: ec2.create_tags(Resources=[own], Tags=[{"Key": "x", "Value": "y"}], DryRun=True)) == DRY
    assert _code(lambda: ec2.create_tags(Resources=[other], Tags=[{"Key": "x", "Value": "y"}], DryRun=True)) == REFUSED
    assert _code(lambda: ec2.get_console_output(InstanceId=own, DryRun=True)) == DRY  # the instance's type
    # The tag changes: so does the decision.
    root.create_tags(Resources=[other], Tags=[{"Key": "owner", "Value": "qa"}])
    assert _code(lambda: ec2.stop_instances(InstanceIds=[other], DryRun=True)) == DRY
    root.terminate_instances(InstanceIds=[own, other])


def test_allow_everything_and_root_need_no_keys(sec_server: EmulatorServer, users: Users, image: str) -> None:
    admin = _name("ec2-admin")
    users.create(admin, _allow("*"))
    params = _run(image, "c7i.xlarge", tags={"env": "dev"})
    assert _code(lambda: users.client(admin, "ec2").run_instances(**params)) == DRY
    assert _code(lambda: sec_server.client("ec2").run_instances(**params)) == DRY
