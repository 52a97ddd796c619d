"""EC2 as infrastructure code (Terraform's aws_instance, boto3 scripts) drives it, over the wire:
plain user data, all-or-nothing starts, reboots, transitional states in the answers, tags of
instances and moto's resources in one call, instance type offerings, security groups in use,
termination protection (disable_api_termination)."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from emulator.testing.server import EmulatorServer

from .conftest import health, instance, wait_state


def _error(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


def test_plain_user_data_is_kept_and_the_instance_serves(ec2: Any, image_id: str) -> None:
    script = "#!/bin/bash\nyum install -y nginx\n"
    res = ec2.run_instances(ImageId=image_id, MinCount=1, MaxCount=1, UserData=script)
    launched = res["Instances"][0]
    assert launched["State"] == {"Code": 0, "Name": "pending"} and "StateReason" not in launched
    iid = launched["InstanceId"]
    running = wait_state(ec2, iid, "running")
    assert "StateReason" not in running
    attr = ec2.describe_instance_attribute(InstanceId=iid, Attribute="userData")
    assert base64.b64decode(attr["UserData"]["Value"]).decode() == script
    assert "job" not in ec2.get_console_output(InstanceId=iid)["Output"]
    # Replaced while stopped by cloud-config (Terraform's user_data change): kept, not run.
    ec2.stop_instances(InstanceIds=[iid])
    wait_state(ec2, iid, "stopped")
    ec2.modify_instance_attribute(InstanceId=iid, UserData={"Value": b"#cloud-config\npackages: [nginx]\n"})
    ec2.start_instances(InstanceIds=[iid])
    assert "StateReason" not in wait_state(ec2, iid, "running")
    attr = ec2.describe_instance_attribute(InstanceId=iid, Attribute="userData")
    assert base64.b64decode(attr["UserData"]["Value"]).startswith(b"#cloud-config")
    # Text that looks like a job but is not one is still refused while stopped.
    ec2.stop_instances(InstanceIds=[iid])
    wait_state(ec2, iid, "stopped")
    with pytest.raises(ClientError) as err:
        ec2.modify_instance_attribute(InstanceId=iid, UserData={"Value": b'{"prompt": '})
    assert _error(err) == "InvalidParameterValue"
    ec2.terminate_instances(InstanceIds=[iid])


def test_start_instances_is_all_or_nothing(server_factory: Callable[..., EmulatorServer]) -> None:
    # Room for one SmolLM2 instance (~200 MB with two 512-token slots), not two.
    server = server_factory(EMULATOR_COMPUTE_RAM_BYTES=str(300 * 1024 * 1024))
    ec2 = server.client("ec2")
    image = ec2.describe_images()["Images"][0]["ImageId"]
    ids = []
    for _ in range(2):
        iid = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
        ec2.stop_instances(InstanceIds=[iid])
        wait_state(ec2, iid, "stopped")
        ids.append(iid)
    with pytest.raises(ClientError) as err:
        ec2.start_instances(InstanceIds=ids)
    assert _error(err) == "InsufficientInstanceCapacity"
    assert [instance(ec2, i)["State"]["Name"] for i in ids] == ["stopped", "stopped"]  # none started
    assert health(server)["components"]["compute"]["ledger"]["reservations"] == {}
    start = ec2.start_instances(InstanceIds=ids[:1])["StartingInstances"]
    assert start[0]["CurrentState"]["Name"] == "pending"
    ec2.terminate_instances(InstanceIds=ids)


def test_reboot_stays_running_and_answers_show_transitions(ec2: Any, image_id: str) -> None:
    iid = ec2.run_instances(ImageId=image_id, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    wait_state(ec2, iid, "running")
    ec2.reboot_instances(InstanceIds=[iid])
    assert instance(ec2, iid)["State"]["Name"] == "running"  # a reboot only queues a request
    statuses = ec2.describe_instance_status(InstanceIds=[iid])["InstanceStatuses"]
    assert [s["InstanceState"]["Name"] for s in statuses] == ["running"]
    stop = ec2.stop_instances(InstanceIds=[iid])["StoppingInstances"][0]
    assert stop["PreviousState"] == {"Code": 16, "Name": "running"} and stop["CurrentState"] == {"Code": 64, "Name": "stopping"}
    wait_state(ec2, iid, "stopped")
    again = ec2.stop_instances(InstanceIds=[iid])["StoppingInstances"][0]
    assert again["PreviousState"]["Name"] == again["CurrentState"]["Name"] == "stopped"
    term = ec2.terminate_instances(InstanceIds=[iid])["TerminatingInstances"][0]
    assert term["PreviousState"] == {"Code": 80, "Name": "stopped"} and term["CurrentState"] == {"Code": 32, "Name": "shutting-down"}
    assert wait_state(ec2, iid, "terminated")["State"]["Code"] == 48
    ec2.reboot_instances(InstanceIds=[iid])  # requests to reboot terminated instances are ignored
    assert instance(ec2, iid)["State"]["Name"] == "terminated"


def test_tags_of_instances_and_moto_resources_in_one_call(ec2: Any, image_id: str) -> None:
    vpc = ec2.create_vpc(CidrBlock="10.42.0.0/16")["Vpc"]["VpcId"]
    sg = ec2.create_security_group(GroupName="tf-mixed-tags", Description="tags", VpcId=vpc)["GroupId"]
    iid = ec2.run_instances(ImageId=image_id, MinCount=1, MaxCount=1, UserData=json.dumps({"prompt": "A", "max_tokens": 1}))["Instances"][0]["InstanceId"]
    ec2.create_tags(Resources=[vpc, sg, iid], Tags=[{"Key": "stack", "Value": "tf-mixed"}])
    found = ec2.describe_tags(Filters=[{"Name": "key", "Values": ["stack"]}, {"Name": "value", "Values": ["tf-mixed"]}])["Tags"]
    assert {(t["ResourceType"], t["ResourceId"]) for t in found} == {("vpc", vpc), ("security-group", sg), ("instance", iid)}
    only_vpc = ec2.describe_tags(Filters=[{"Name": "resource-type", "Values": ["vpc"]}, {"Name": "key", "Values": ["stack"]}])["Tags"]
    assert [t["ResourceId"] for t in only_vpc] == [vpc]
    pages = list(ec2.get_paginator("describe_tags").paginate(PaginationConfig={"PageSize": 5}))
    merged = [t["ResourceId"] for page in pages for t in page["Tags"]]
    assert {vpc, sg, iid} <= set(merged) and len(merged) == len(ec2.describe_tags()["Tags"])
    # A missing moto resource refuses the whole call: the instance gets nothing either.
    with pytest.raises(ClientError) as err:
        ec2.create_tags(Resources=[iid, "vpc-0123456789abcdef0"], Tags=[{"Key": "other", "Value": "x"}])
    assert _error(err) == "InvalidVpcID.NotFound"
    assert "other" not in {t["Key"] for t in instance(ec2, iid)["Tags"]}
    ec2.delete_tags(Resources=[iid, vpc], Tags=[{"Key": "stack"}])
    left = ec2.describe_tags(Filters=[{"Name": "key", "Values": ["stack"]}])["Tags"]
    assert [(t["ResourceType"], t["ResourceId"]) for t in left] == [("security-group", sg)]
    assert "stack" not in {t["Key"] for t in ec2.describe_vpcs(VpcIds=[vpc])["Vpcs"][0].get("Tags", [])}
    wait_state(ec2, iid, "stopped")
    ec2.terminate_instances(InstanceIds=[iid])
    ec2.delete_security_group(GroupId=sg)
    ec2.delete_vpc(VpcId=vpc)


def test_instance_type_offerings_are_the_types_run_instances_takes(ec2: Any) -> None:
    types = [t["InstanceType"] for t in ec2.describe_instance_types()["InstanceTypes"]]
    region = ec2.describe_instance_type_offerings()["InstanceTypeOfferings"]
    assert {o["InstanceType"] for o in region} == set(types)
    assert {(o["LocationType"], o["Location"]) for o in region} == {("region", "us-east-1")}
    zone = ec2.describe_instance_type_offerings(LocationType="availability-zone",
                                                Filters=[{"Name": "instance-type", "Values": ["c7i.large", "t3.micro"]}])["InstanceTypeOfferings"]
    assert zone == [{"InstanceType": "c7i.large", "LocationType": "availability-zone", "Location": "us-east-1a"}]
    zone_id = ec2.describe_availability_zones()["AvailabilityZones"][0]["ZoneId"]
    by_id = ec2.describe_instance_type_offerings(LocationType="availability-zone-id", Filters=[{"Name": "location", "Values": [zone_id]}])
    assert len(by_id["InstanceTypeOfferings"]) == len(types)
    pages = list(ec2.get_paginator("describe_instance_type_offerings").paginate(PaginationConfig={"PageSize": 5}))
    assert sum(len(p["InstanceTypeOfferings"]) for p in pages) == len(types)
    with pytest.raises(ClientError) as err:
        ec2.describe_instance_type_offerings(Filters=[{"Name": "no-such-filter", "Values": ["x"]}])
    assert _error(err) == "InvalidParameterValue"


def test_security_group_used_by_an_instance_cannot_be_deleted(ec2: Any, image_id: str) -> None:
    sg = ec2.create_security_group(GroupName="tf-in-use", Description="in use")["GroupId"]
    iid = ec2.run_instances(ImageId=image_id, MinCount=1, MaxCount=1, SecurityGroupIds=[sg],
                            UserData=json.dumps({"prompt": "A", "max_tokens": 1}))["Instances"][0]["InstanceId"]
    wait_state(ec2, iid, "stopped")  # a stopped instance still holds its groups
    with pytest.raises(ClientError) as err:
        ec2.delete_security_group(GroupId=sg)
    assert _error(err) == "DependencyViolation" and err.value.response["Error"]["Message"] == f"resource {sg} has a dependent object"
    ec2.terminate_instances(InstanceIds=[iid])
    wait_state(ec2, iid, "terminated")
    ec2.delete_security_group(GroupId=sg)
    assert sg not in {g["GroupId"] for g in ec2.describe_security_groups()["SecurityGroups"]}


def _protection(ec2: Any, iid: str) -> bool:
    return bool(ec2.describe_instance_attribute(InstanceId=iid, Attribute="disableApiTermination")["DisableApiTermination"]["Value"])


def test_termination_protection_refuses_the_whole_terminate_call(ec2: Any, image_id: str) -> None:
    job = json.dumps({"prompt": "A", "max_tokens": 1})
    # Terraform's aws_instance with disable_api_termination = true launches it so.
    protected = ec2.run_instances(ImageId=image_id, MinCount=1, MaxCount=1, UserData=job, DisableApiTermination=True)["Instances"][0]["InstanceId"]
    plain = ec2.run_instances(ImageId=image_id, MinCount=1, MaxCount=1, UserData=job, DisableApiTermination=False)["Instances"][0]["InstanceId"]
    assert (_protection(ec2, protected), _protection(ec2, plain)) == (True, False)
    wait_state(ec2, protected, "stopped")
    wait_state(ec2, plain, "stopped")
    with pytest.raises(ClientError) as err:
        ec2.terminate_instances(InstanceIds=[protected], DryRun=True)
    assert _error(err) == "DryRunOperation"
    message = f"The instance '{protected}' may not be terminated. Modify its 'disableApiTermination' instance attribute and try again."
    with pytest.raises(ClientError) as err:
        ec2.terminate_instances(InstanceIds=[plain, protected])
    assert _error(err) == "OperationNotPermitted" and err.value.response["Error"]["Message"] == message
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    # None of the instances named is terminated, the unprotected one neither.
    assert [instance(ec2, i)["State"]["Name"] for i in (plain, protected)] == ["stopped", "stopped"]
    # ModifyInstanceAttribute in both forms: Terraform's {Value: bool}, the CLI's Attribute/Value text.
    ec2.modify_instance_attribute(InstanceId=protected, DisableApiTermination={"Value": False})
    assert _protection(ec2, protected) is False
    ec2.modify_instance_attribute(InstanceId=plain, Attribute="disableApiTermination", Value="true")
    assert _protection(ec2, plain) is True
    with pytest.raises(ClientError) as err:
        ec2.terminate_instances(InstanceIds=[protected, plain])
    assert _error(err) == "OperationNotPermitted" and f"'{plain}'" in err.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as err:
        ec2.modify_instance_attribute(InstanceId=plain, Attribute="disableApiTermination", Value="maybe")
    assert _error(err) == "InvalidParameterValue" and _protection(ec2, plain) is True
    ec2.modify_instance_attribute(InstanceId=plain, Attribute="disableApiTermination", Value="false")
    # DisableApiStop stays refused (stop protection is not implemented).
    with pytest.raises(ClientError) as err:
        ec2.modify_instance_attribute(InstanceId=plain, DisableApiStop={"Value": True})
    assert _error(err) == "UnsupportedOperation"
    with pytest.raises(ClientError) as err:
        ec2.run_instances(ImageId=image_id, MinCount=1, MaxCount=1, DryRun=True, DisableApiStop=True)
    assert _error(err) == "UnsupportedOperation"
    changes = ec2.terminate_instances(InstanceIds=[protected, plain])["TerminatingInstances"]
    assert [c["CurrentState"]["Name"] for c in changes] == ["shutting-down", "shutting-down"]
    wait_state(ec2, plain, "terminated")
    with pytest.raises(ClientError) as err:  # a terminated instance's attributes are not modified
        ec2.modify_instance_attribute(InstanceId=plain, DisableApiTermination={"Value": True})
    assert _error(err) == "IncorrectInstanceState"


def test_termination_protection_survives_a_restart(server_factory: Callable[..., EmulatorServer], tmp_path: Path) -> None:
    server = server_factory(data_dir=tmp_path / "data")
    ec2 = server.client("ec2")
    image = ec2.describe_images()["Images"][0]["ImageId"]
    iid = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, UserData=json.dumps({"prompt": "A", "max_tokens": 1}),
                            DisableApiTermination=True)["Instances"][0]["InstanceId"]
    wait_state(ec2, iid, "stopped")
    server.kill()
    server.start()
    ec2 = server.client("ec2")
    assert _protection(ec2, iid) is True
    with pytest.raises(ClientError) as err:
        ec2.terminate_instances(InstanceIds=[iid])
    assert _error(err) == "OperationNotPermitted"
    ec2.modify_instance_attribute(InstanceId=iid, DisableApiTermination={"Value": False})
    ec2.terminate_instances(InstanceIds=[iid])
    assert wait_state(ec2, iid, "terminated")["State"]["Code"] == 48
