"""EC2 over the wire with boto3 (and the AWS CLI): images, types, job instances, lifecycle, errors."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from emulator.testing.server import EmulatorServer

from .conftest import MODEL_ID, health, instance, wait_state


def _error(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


def test_describe_images_lists_models_as_amis(ec2: Any, image_id: str) -> None:
    images = ec2.describe_images()["Images"]
    assert [i["ImageId"] for i in images] == [image_id]
    image = images[0]
    tags = {t["Key"]: t["Value"] for t in image["Tags"]}
    assert image["Name"] == "SmolLM2-135M-Instruct.Q4_1" and image["State"] == "available"
    assert tags["family"] == "smollm2" and tags["quantization"] == "Q4_1" and tags["parameters"] == "135M"
    assert tags["context-length"] == "8192" and tags["model-id"] == MODEL_ID
    assert ec2.describe_images(ImageIds=[image_id])["Images"][0]["ImageId"] == image_id
    assert ec2.describe_images(Filters=[{"Name": "tag:family", "Values": ["smol*"]}])["Images"]
    assert ec2.describe_images(Filters=[{"Name": "name", "Values": ["nothing*"]}])["Images"] == []
    with pytest.raises(ClientError) as err:
        ec2.describe_images(ImageIds=["ami-0123456789abcdef0"])
    assert _error(err) == "InvalidAMIID.NotFound"
    with pytest.raises(ClientError) as err:
        ec2.describe_images(ImageIds=["not-an-ami"])
    assert _error(err) == "InvalidAMIID.Malformed"


def test_describe_instance_types_regions_zones(ec2: Any) -> None:
    types = ec2.describe_instance_types()["InstanceTypes"]
    names = {t["InstanceType"] for t in types}
    assert {"c7i.large", "c7i.4xlarge"} <= names
    xlarge = next(t for t in types if t["InstanceType"] == "c7i.4xlarge")
    assert xlarge["VCpuInfo"]["DefaultVCpus"] == os.cpu_count()
    assert xlarge["MemoryInfo"]["SizeInMiB"] > 1024
    one = ec2.describe_instance_types(InstanceTypes=["c7i.large"])["InstanceTypes"]
    assert [t["InstanceType"] for t in one] == ["c7i.large"]
    with pytest.raises(ClientError) as err:
        ec2.describe_instance_types(InstanceTypes=["p5.48xlarge"])
    assert _error(err) == "InvalidInstanceType"
    regions = {r["RegionName"] for r in ec2.describe_regions()["Regions"]}
    assert "us-east-1" in regions
    zones = ec2.describe_availability_zones()["AvailabilityZones"]
    assert zones[0]["ZoneName"] == "us-east-1a" and zones[0]["State"] == "available"


def test_describe_filters_on_types_regions_zones(ec2: Any) -> None:
    large = ec2.describe_instance_types(Filters=[{"Name": "instance-type", "Values": ["c7i.l*"]}])["InstanceTypes"]
    assert [t["InstanceType"] for t in large] == ["c7i.large"]
    page = ec2.describe_instance_types(MaxResults=5)
    assert len(page["InstanceTypes"]) <= 5
    regions = ec2.describe_regions(Filters=[{"Name": "region-name", "Values": ["eu-*"]}])["Regions"]
    assert {r["RegionName"] for r in regions} == {"eu-west-1", "eu-central-1"}
    zones = ec2.describe_availability_zones(Filters=[{"Name": "zone-name", "Values": ["*a"]}, {"Name": "state", "Values": ["available"]}])["AvailabilityZones"]
    assert [z["ZoneName"] for z in zones] == ["us-east-1a"]
    assert ec2.describe_availability_zones(Filters=[{"Name": "zone-type", "Values": ["local-zone"]}])["AvailabilityZones"] == []
    for call in (ec2.describe_regions, ec2.describe_availability_zones, ec2.describe_instance_types, ec2.describe_instance_status, ec2.describe_images):
        with pytest.raises(ClientError) as err:
            call(Filters=[{"Name": "no-such-filter", "Values": ["x"]}])
        assert _error(err) == "InvalidParameterValue" and "The filter 'no-such-filter' is invalid" in str(err.value)


def test_job_instance_runs_to_stopped_with_output(ec2: Any, image_id: str) -> None:
    job = {"prompts": ["The sky is", "Water is"], "max_tokens": 6, "temperature": 0}
    res = ec2.run_instances(ImageId=image_id, InstanceType="c7i.large", MinCount=1, MaxCount=1, UserData=json.dumps(job),
                            TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": "job-1"}]}])
    launched = res["Instances"][0]
    assert launched["State"] == {"Code": 0, "Name": "pending"} and res["ReservationId"].startswith("r-")
    iid = launched["InstanceId"]
    done = wait_state(ec2, iid, "stopped")
    assert done["State"]["Code"] == 80
    assert done["StateReason"]["Code"] == "Client.InstanceInitiatedShutdown"
    assert done["StateTransitionReason"].startswith("Client.InstanceInitiatedShutdown")
    # botocore decodes the base64 Output itself (handlers.decode_console_output)
    output = ec2.get_console_output(InstanceId=iid)["Output"]
    results = [json.loads(line.split("RESULT ", 1)[1]) for line in output.splitlines() if "RESULT " in line]
    assert [r["index"] for r in results] == [0, 1]
    assert all(r["output"] and r["output_tokens"] == 6 for r in results)
    assert "job completed" in output
    # UserData comes back as EC2 stores it
    attr = ec2.describe_instances(Filters=[{"Name": "tag:Name", "Values": ["job-1"]}])["Reservations"][0]["Instances"][0]
    assert attr["InstanceId"] == iid


def test_job_terminates_when_asked_and_writes_dynamodb(compute_server: EmulatorServer, ec2: Any, image_id: str) -> None:
    ddb = compute_server.client("dynamodb")
    ddb.create_table(TableName="job-results", KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
    job = "\n".join(json.dumps(r) for r in ({"prompt": "One", "max_tokens": 3}, {"messages": [{"role": "user", "content": "Two"}], "max_tokens": 3}))
    job += "\n" + json.dumps({"prompt": "Three", "max_tokens": 3, "dynamodb": "job-results"})
    # JSONL: the dynamodb key belongs to the job document, so use the object form for it.
    doc = {"requests": [{"prompt": "One"}, {"messages": [{"role": "user", "content": "Two"}]}], "max_tokens": 3, "dynamodb": {"table": "job-results"}}
    res = ec2.run_instances(ImageId=image_id, MinCount=1, MaxCount=1, UserData=json.dumps(doc), InstanceInitiatedShutdownBehavior="terminate")
    iid = res["Instances"][0]["InstanceId"]
    done = wait_state(ec2, iid, "terminated")
    assert done["StateReason"]["Code"] == "Client.InstanceInitiatedShutdown"
    items = ddb.scan(TableName="job-results")["Items"]
    assert sorted(i["id"]["S"] for i in items) == [f"{iid}-0", f"{iid}-1"]
    assert all(i["output"]["S"] and 1 <= int(i["output_tokens"]["N"]) <= 3 for i in items)
    assert job  # the JSONL form is parsed in test_jobs


def test_invalid_user_data_fails_with_a_clear_reason(ec2: Any, image_id: str) -> None:
    # Text that looks like a job (starts with "{") but is not JSON; a script is plain user data (test_ec2_terraform).
    res = ec2.run_instances(ImageId=image_id, MinCount=1, MaxCount=1, UserData='{"prompt": "unterminated')
    assert res["Instances"][0]["State"] == {"Code": 0, "Name": "pending"}  # as EC2 answers every launch
    iid = res["Instances"][0]["InstanceId"]
    done = wait_state(ec2, iid, "stopped")
    assert done["StateReason"]["Code"] == "Client.InvalidUserData"
    assert "JSON" in done["StateReason"]["Message"]


def test_serving_instance_lifecycle_and_tags(ec2: Any, image_id: str) -> None:
    token = "lifecycle-token-1"
    res = ec2.run_instances(ImageId=image_id, MinCount=1, MaxCount=1, ClientToken=token,
                            TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "team", "Value": "ml"}]}])
    iid = res["Instances"][0]["InstanceId"]
    again = ec2.run_instances(ImageId=image_id, MinCount=1, MaxCount=1, ClientToken=token)
    assert again["Instances"][0]["InstanceId"] == iid  # idempotent
    running = wait_state(ec2, iid, "running")
    assert running["PrivateIpAddress"] and running["State"]["Code"] == 16
    status = ec2.describe_instance_status(InstanceIds=[iid])["InstanceStatuses"]
    assert status[0]["InstanceStatus"]["Status"] == "ok"

    ec2.create_tags(Resources=[iid], Tags=[{"Key": "stage", "Value": "dev"}])
    tags = ec2.describe_tags(Filters=[{"Name": "resource-id", "Values": [iid]}])["Tags"]
    assert {(t["Key"], t["Value"]) for t in tags} == {("team", "ml"), ("stage", "dev")}
    ec2.delete_tags(Resources=[iid], Tags=[{"Key": "stage", "Value": "other"}])  # value mismatch: kept
    ec2.delete_tags(Resources=[iid], Tags=[{"Key": "team"}])
    assert {t["Key"]: t["Value"] for t in instance(ec2, iid)["Tags"]} == {"stage": "dev"}
    found = ec2.describe_instances(Filters=[{"Name": "tag-key", "Values": ["stage"]}, {"Name": "instance-state-name", "Values": ["running"]}])
    assert iid in [i["InstanceId"] for r in found["Reservations"] for i in r["Instances"]]

    stop = ec2.stop_instances(InstanceIds=[iid])["StoppingInstances"][0]
    assert stop["PreviousState"]["Name"] == "running" and stop["CurrentState"]["Name"] in ("stopping", "stopped")
    stopped = wait_state(ec2, iid, "stopped")
    assert stopped["StateReason"]["Code"] == "Client.UserInitiatedShutdown"
    assert stopped["StateTransitionReason"].startswith("User initiated (")
    assert ec2.describe_instance_status(InstanceIds=[iid])["InstanceStatuses"] == []
    assert ec2.describe_instance_status(InstanceIds=[iid], IncludeAllInstances=True)["InstanceStatuses"][0]["InstanceState"]["Name"] == "stopped"
    start = ec2.start_instances(InstanceIds=[iid])["StartingInstances"][0]
    assert start["PreviousState"]["Name"] == "stopped" and start["CurrentState"]["Name"] == "pending"
    wait_state(ec2, iid, "running")
    ec2.reboot_instances(InstanceIds=[iid])
    wait_state(ec2, iid, "running")
    term = ec2.terminate_instances(InstanceIds=[iid])["TerminatingInstances"][0]
    assert term["CurrentState"]["Name"] in ("shutting-down", "terminated")
    gone = wait_state(ec2, iid, "terminated")
    assert gone["State"]["Code"] == 48  # terminated instances stay visible
    with pytest.raises(ClientError) as err:
        ec2.start_instances(InstanceIds=[iid])
    assert _error(err) == "IncorrectInstanceState"


def test_describe_instances_filters_and_paging(ec2: Any, image_id: str) -> None:
    res = ec2.run_instances(ImageId=image_id, MinCount=3, MaxCount=3, UserData=json.dumps({"prompt": "x", "max_tokens": 1}),
                            TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "batch", "Value": "paging"}]}])
    ids = [i["InstanceId"] for i in res["Instances"]]
    assert [i["AmiLaunchIndex"] for i in res["Instances"]] == [0, 1, 2]
    filters = [{"Name": "tag:batch", "Values": ["paging"]}]
    seen: list[str] = []
    kwargs: dict[str, Any] = {"Filters": filters, "MaxResults": 5}
    page = ec2.describe_instances(**kwargs)
    seen += [i["InstanceId"] for r in page["Reservations"] for i in r["Instances"]]
    assert sorted(seen) == sorted(ids)
    paginator = ec2.get_paginator("describe_instances")
    all_ids = [i["InstanceId"] for p in paginator.paginate(PaginationConfig={"PageSize": 5}) for r in p["Reservations"] for i in r["Instances"]]
    assert set(ids) <= set(all_ids) and len(all_ids) == len(set(all_ids))
    by_image = ec2.describe_instances(Filters=[{"Name": "image-id", "Values": [image_id]}, *filters])
    assert len([i for r in by_image["Reservations"] for i in r["Instances"]]) == 3
    none = ec2.describe_instances(Filters=[{"Name": "instance-type", "Values": ["nope"]}])
    assert none["Reservations"] == []
    for iid in ids:
        wait_state(ec2, iid, "stopped")


def test_run_instances_with_key_pair_subnet_and_security_group(ec2: Any, image_id: str) -> None:
    """What a boto3 launch script prepares first (key pair, subnet, security group) comes from the
    moto fallback; RunInstances checks those references and DescribeInstances shows them."""
    ec2.create_key_pair(KeyName="ec2-net-key")
    vpc = ec2.create_vpc(CidrBlock="10.42.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.42.1.0/24")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(GroupName="ec2-net-sg", Description="inference", VpcId=vpc)["GroupId"]
    job = json.dumps({"prompt": "x", "max_tokens": 1})
    launched = ec2.run_instances(ImageId=image_id, MinCount=1, MaxCount=1, UserData=job, KeyName="ec2-net-key", SubnetId=subnet, SecurityGroupIds=[group])
    inst = launched["Instances"][0]
    assert (inst["KeyName"], inst["SubnetId"], inst["VpcId"]) == ("ec2-net-key", subnet, vpc)
    assert inst["SecurityGroups"] == [{"GroupId": group, "GroupName": "ec2-net-sg"}]
    for name, value in (("key-name", "ec2-net-key"), ("subnet-id", subnet), ("vpc-id", vpc), ("instance.group-id", group), ("instance.group-name", "ec2-net-sg")):
        found = ec2.describe_instances(Filters=[{"Name": name, "Values": [value]}])["Reservations"]
        assert [i["InstanceId"] for r in found for i in r["Instances"]] == [inst["InstanceId"]], name
    other_vpc_group = ec2.create_security_group(GroupName="ec2-net-other", Description="elsewhere")["GroupId"]  # the default VPC
    cases = [
        ({"KeyName": "no-such-key"}, "InvalidKeyPair.NotFound"),
        ({"SubnetId": "subnet-0123456789abcdef0"}, "InvalidSubnetID.NotFound"),
        ({"SecurityGroupIds": ["sg-0123456789abcdef0"]}, "InvalidGroup.NotFound"),
        ({"SecurityGroups": ["no-such-group"]}, "InvalidGroup.NotFound"),
        ({"SubnetId": subnet, "SecurityGroupIds": [other_vpc_group]}, "InvalidParameter"),
    ]
    for extra, code in cases:
        with pytest.raises(ClientError) as err:
            ec2.run_instances(ImageId=image_id, MinCount=1, MaxCount=1, UserData=job, **extra)
        assert _error(err) == code, extra
    wait_state(ec2, inst["InstanceId"], "stopped")


def test_run_instances_with_iam_instance_profile(compute_server: EmulatorServer, ec2: Any, image_id: str) -> None:
    """Terraform's aws_instance with iam_instance_profile: RunInstances names the profile (moto's
    IAM), DescribeInstances shows its Arn and Id; an unknown profile is InvalidParameterValue."""
    iam = compute_server.client("iam")
    trust = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
    iam.create_role(RoleName="ec2-profile-role", AssumeRolePolicyDocument=trust)
    profile = iam.create_instance_profile(InstanceProfileName="ec2-profile")["InstanceProfile"]
    iam.add_role_to_instance_profile(InstanceProfileName="ec2-profile", RoleName="ec2-profile-role")
    job = json.dumps({"prompt": "x", "max_tokens": 1})
    want = {"Arn": profile["Arn"], "Id": profile["InstanceProfileId"]}
    by_name = ec2.run_instances(ImageId=image_id, MinCount=1, MaxCount=1, UserData=job, IamInstanceProfile={"Name": "ec2-profile"})["Instances"][0]
    by_arn = ec2.run_instances(ImageId=image_id, MinCount=1, MaxCount=1, UserData=job, IamInstanceProfile={"Arn": profile["Arn"]})["Instances"][0]
    assert by_name["IamInstanceProfile"] == want and instance(ec2, by_arn["InstanceId"])["IamInstanceProfile"] == want
    found = ec2.describe_instances(Filters=[{"Name": "iam-instance-profile.arn", "Values": [profile["Arn"]]}])["Reservations"]
    assert sorted(i["InstanceId"] for r in found for i in r["Instances"]) == sorted([by_name["InstanceId"], by_arn["InstanceId"]])
    for spec, message in (({"Name": "no-such-profile"}, "Value (no-such-profile) for parameter iamInstanceProfile.name is invalid. Invalid IAM Instance Profile name"),
                          ({"Arn": profile["Arn"] + "x"}, f"Value ({profile['Arn']}x) for parameter iamInstanceProfile.arn is invalid. Invalid IAM Instance Profile ARN")):
        with pytest.raises(ClientError) as err:
            ec2.run_instances(ImageId=image_id, MinCount=1, MaxCount=1, UserData=job, IamInstanceProfile=spec)
        assert (_error(err), err.value.response["Error"]["Message"]) == ("InvalidParameterValue", message)
    for iid in (by_name["InstanceId"], by_arn["InstanceId"]):
        wait_state(ec2, iid, "stopped")


def test_modify_instance_security_groups(ec2: Any, image_id: str) -> None:
    """Terraform's aws_instance changes vpc_security_group_ids with ModifyInstanceAttribute Groups."""
    vpc = ec2.create_vpc(CidrBlock="10.43.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.43.1.0/24")["Subnet"]["SubnetId"]
    first = ec2.create_security_group(GroupName="ec2-groups-a", Description="a", VpcId=vpc)["GroupId"]
    second = ec2.create_security_group(GroupName="ec2-groups-b", Description="b", VpcId=vpc)["GroupId"]
    elsewhere = ec2.create_security_group(GroupName="ec2-groups-c", Description="c")["GroupId"]  # the default VPC
    job = json.dumps({"prompt": "x", "max_tokens": 1})
    iid = ec2.run_instances(ImageId=image_id, MinCount=1, MaxCount=1, UserData=job, SubnetId=subnet, SecurityGroupIds=[first])["Instances"][0]["InstanceId"]
    ec2.modify_instance_attribute(InstanceId=iid, Groups=[first, second])
    assert instance(ec2, iid)["SecurityGroups"] == [{"GroupId": first, "GroupName": "ec2-groups-a"}, {"GroupId": second, "GroupName": "ec2-groups-b"}]
    assert ec2.describe_instance_attribute(InstanceId=iid, Attribute="groupSet")["Groups"] == [{"GroupId": first}, {"GroupId": second}]
    for groups in (["sg-0123456789abcdef0"], [elsewhere]):
        with pytest.raises(ClientError) as err:
            ec2.modify_instance_attribute(InstanceId=iid, Groups=groups)
        assert _error(err) == "InvalidGroup.NotFound", groups
    assert [g["GroupId"] for g in instance(ec2, iid)["SecurityGroups"]] == [first, second]
    wait_state(ec2, iid, "stopped")


def test_instance_errors(ec2: Any, image_id: str) -> None:
    cases: list[tuple[Callable[[], Any], str]] = [
        (lambda: ec2.describe_instances(InstanceIds=["i-0123456789abcdef0"]), "InvalidInstanceID.NotFound"),
        (lambda: ec2.describe_instances(InstanceIds=["bogus"]), "InvalidInstanceID.Malformed"),
        (lambda: ec2.stop_instances(InstanceIds=["i-0123456789abcdef0"]), "InvalidInstanceID.NotFound"),
        (lambda: ec2.get_console_output(InstanceId="i-0123456789abcdef0"), "InvalidInstanceID.NotFound"),
        (lambda: ec2.run_instances(ImageId="ami-0123456789abcdef0", MinCount=1, MaxCount=1), "InvalidAMIID.NotFound"),
        (lambda: ec2.run_instances(ImageId="nope", MinCount=1, MaxCount=1), "InvalidAMIID.Malformed"),
        (lambda: ec2.run_instances(ImageId=image_id, MinCount=2, MaxCount=1), "InvalidParameterValue"),
        (lambda: ec2.run_instances(ImageId=image_id, InstanceType="x9.huge", MinCount=1, MaxCount=1), "InvalidParameterValue"),
        (lambda: ec2.describe_instances(Filters=[{"Name": "no-such-filter", "Values": ["x"]}]), "InvalidParameterValue"),
        (lambda: ec2.monitor_instances(InstanceIds=["i-0123456789abcdef0"]), "UnsupportedOperation"),
    ]
    for call, code in cases:
        with pytest.raises(ClientError) as err:
            call()
        assert _error(err) == code


def test_admission_refused_with_a_tiny_ledger(server_factory: Callable[..., EmulatorServer]) -> None:
    # Room for one SmolLM2 instance (~200 MB with two 512-token slots), not two.
    server = server_factory(EMULATOR_COMPUTE_RAM_BYTES=str(300 * 1024 * 1024))
    ec2 = server.client("ec2")
    image = ec2.describe_images()["Images"][0]["ImageId"]
    first = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    with pytest.raises(ClientError) as err:
        ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1)
    assert _error(err) == "InsufficientInstanceCapacity"
    # MaxCount above what fits is best effort when MinCount fits... here nothing fits at all.
    ledger = health(server)["components"]["compute"]["ledger"]
    assert list(ledger["reservations"]) == [first]
    ec2.terminate_instances(InstanceIds=[first])
    wait_state(ec2, first, "terminated")
    assert health(server)["components"]["compute"]["ledger"]["reservations"] == {}
    second = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=2)["Instances"]
    assert len(second) == 1  # MaxCount is best effort above MinCount
    ec2.terminate_instances(InstanceIds=[second[0]["InstanceId"]])


def test_instances_survive_a_restart(server_factory: Callable[..., EmulatorServer], tmp_path: Path) -> None:
    data = tmp_path / "data"
    server = server_factory(data_dir=data)
    ec2 = server.client("ec2")
    image = ec2.describe_images()["Images"][0]["ImageId"]
    serving = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1,
                                TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "keep", "Value": "yes"}]}])["Instances"][0]["InstanceId"]
    job = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, UserData=json.dumps({"prompt": "Hi", "max_tokens": 2}))["Instances"][0]["InstanceId"]
    wait_state(ec2, serving, "running")
    wait_state(ec2, job, "stopped")
    server.kill()
    server.start()
    ec2 = server.client("ec2")
    back = wait_state(ec2, serving, "running")  # brought back
    assert {t["Key"]: t["Value"] for t in back["Tags"]} == {"keep": "yes"}
    assert instance(ec2, job)["State"]["Name"] == "stopped"
    assert "RESULT" in ec2.get_console_output(InstanceId=job)["Output"]
    br = server.client("bedrock-runtime")
    out = br.converse(modelId=serving, messages=[{"role": "user", "content": [{"text": "Hi"}]}], inferenceConfig={"maxTokens": 3})
    assert out["usage"]["outputTokens"] == 3
    ec2.terminate_instances(InstanceIds=[serving])


def test_console_output_is_base64_on_the_wire(compute_server: EmulatorServer, ec2: Any, image_id: str) -> None:
    import base64

    import requests
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    iid = ec2.run_instances(ImageId=image_id, MinCount=1, MaxCount=1, UserData=json.dumps({"prompt": "A", "max_tokens": 1}))["Instances"][0]["InstanceId"]
    wait_state(ec2, iid, "stopped")
    body = f"Action=GetConsoleOutput&Version=2016-11-15&InstanceId={iid}"
    req = AWSRequest("POST", compute_server.endpoint + "/", data=body, headers={"content-type": "application/x-www-form-urlencoded"})
    SigV4Auth(Credentials(compute_server.access_key, compute_server.secret_key), "ec2", "us-east-1").add_auth(req)
    resp = requests.post(req.url, data=body, headers=dict(req.headers), timeout=30)
    raw = resp.text.split("<output>", 1)[1].split("</output>", 1)[0]
    assert "RESULT" in base64.b64decode(raw).decode()


def test_aws_cli(compute_server: EmulatorServer, image_id: str) -> None:
    env = {**os.environ, "AWS_ACCESS_KEY_ID": compute_server.access_key, "AWS_SECRET_ACCESS_KEY": compute_server.secret_key,
           "AWS_DEFAULT_REGION": "us-east-1", "AWS_PAGER": ""}
    aws = [sys.executable, "-m", "awscli", "--endpoint-url", compute_server.endpoint, "--output", "json"]
    out = subprocess.run([*aws, "ec2", "describe-images", "--image-ids", image_id], env=env, capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["Images"][0]["ImageId"] == image_id
    out = subprocess.run([*aws, "ec2", "describe-instances", "--instance-ids", "i-0123456789abcdef0"], env=env, capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode != 0 and "InvalidInstanceID.NotFound" in out.stderr


def test_instance_attributes_and_a_new_job_on_restart(ec2: Any, image_id: str) -> None:
    iid = ec2.run_instances(ImageId=image_id, MinCount=1, MaxCount=1, UserData=json.dumps({"prompt": "First", "max_tokens": 1}))["Instances"][0]["InstanceId"]
    wait_state(ec2, iid, "stopped")
    attr = ec2.describe_instance_attribute(InstanceId=iid, Attribute="userData")
    assert json.loads(base64.b64decode(attr["UserData"]["Value"])) == {"prompt": "First", "max_tokens": 1}
    assert ec2.describe_instance_attribute(InstanceId=iid, Attribute="instanceType")["InstanceType"]["Value"] == "c7i.large"
    ec2.modify_instance_attribute(InstanceId=iid, UserData={"Value": json.dumps({"prompt": "Second", "max_tokens": 2}).encode()})
    ec2.modify_instance_attribute(InstanceId=iid, InstanceType={"Value": "c7i.xlarge"})
    ec2.modify_instance_attribute(InstanceId=iid, InstanceInitiatedShutdownBehavior={"Value": "terminate"})
    ec2.start_instances(InstanceIds=[iid])
    done = wait_state(ec2, iid, "terminated")
    assert done["InstanceType"] == "c7i.xlarge"
    results = [line for line in ec2.get_console_output(InstanceId=iid)["Output"].splitlines() if "RESULT " in line]
    assert len(results) == 2 and '"output_tokens": 2' in results[-1]
    with pytest.raises(ClientError) as err:
        ec2.modify_instance_attribute(InstanceId=iid, InstanceType={"Value": "c7i.large"})
    assert _error(err) == "IncorrectInstanceState"


def _ids(answer: dict[str, Any]) -> list[str]:
    return [i["InstanceId"] for r in answer["Reservations"] for i in r["Instances"]]


def test_dry_run_answers_dry_run_operation_and_changes_nothing(compute_server: EmulatorServer, ec2: Any, image_id: str) -> None:
    before = _ids(ec2.describe_instances())
    with pytest.raises(ClientError) as err:
        ec2.run_instances(ImageId=image_id, MinCount=1, MaxCount=1, DryRun=True)
    assert _error(err) == "DryRunOperation" and err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 412
    assert err.value.response["Error"]["Message"] == "Request would have succeeded, but DryRun flag is set."
    assert _ids(ec2.describe_instances()) == before  # nothing launched
    iid = ec2.run_instances(ImageId=image_id, MinCount=1, MaxCount=1, UserData=json.dumps({"prompt": "A", "max_tokens": 1}))["Instances"][0]["InstanceId"]
    wait_state(ec2, iid, "stopped")
    calls: list[Callable[[], Any]] = [
        lambda: ec2.start_instances(InstanceIds=[iid], DryRun=True),
        lambda: ec2.terminate_instances(InstanceIds=[iid], DryRun=True),
        lambda: ec2.stop_instances(InstanceIds=[iid], DryRun=True),
        lambda: ec2.reboot_instances(InstanceIds=[iid], DryRun=True),
        lambda: ec2.create_tags(Resources=[iid], Tags=[{"Key": "dry", "Value": "run"}], DryRun=True),
        lambda: ec2.modify_instance_attribute(InstanceId=iid, InstanceType={"Value": "c7i.xlarge"}, DryRun=True),
        lambda: ec2.describe_instances(DryRun=True),
        lambda: ec2.describe_instance_status(DryRun=True),
        lambda: ec2.describe_images(DryRun=True),
        lambda: ec2.describe_instance_types(DryRun=True),
        lambda: ec2.describe_regions(DryRun=True),
        lambda: ec2.get_console_output(InstanceId=iid, DryRun=True),
    ]
    for call in calls:
        with pytest.raises(ClientError) as err:
            call()
        assert _error(err) == "DryRunOperation"
    after = instance(ec2, iid)
    assert after["State"]["Name"] == "stopped" and after["InstanceType"] == "c7i.large" and not after.get("Tags")
    with pytest.raises(ClientError) as err:
        ec2.stop_instances(InstanceIds=["i-0123456789abcdef0"], DryRun=True)
    assert _error(err) == "InvalidInstanceID.NotFound"
    # A caller without the permission learns that instead (the gateway's authorization runs first).
    iam = compute_server.client("iam")
    iam.create_user(UserName="ec2-dry-run-reader")
    iam.put_user_policy(UserName="ec2-dry-run-reader", PolicyName="read", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ec2:Describe*", "Resource": "*"}]}))
    key = iam.create_access_key(UserName="ec2-dry-run-reader")["AccessKey"]
    reader = compute_server.client("ec2", aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])
    with pytest.raises(ClientError) as err:
        reader.stop_instances(InstanceIds=[iid], DryRun=True)
    assert _error(err) == "UnauthorizedOperation"
    with pytest.raises(ClientError) as err:
        reader.describe_instances(DryRun=True)
    assert _error(err) == "DryRunOperation"
    ec2.terminate_instances(InstanceIds=[iid])


def test_tags_are_all_or_nothing_within_ec2_limits(ec2: Any, image_id: str) -> None:
    iid = ec2.run_instances(ImageId=image_id, MinCount=1, MaxCount=1, UserData=json.dumps({"prompt": "A", "max_tokens": 1}),
                            TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "first", "Value": "1"}]}])["Instances"][0]["InstanceId"]
    with pytest.raises(ClientError) as err:
        ec2.create_tags(Resources=[iid], Tags=[{"Key": f"k{n}", "Value": "v"} for n in range(50)])
    assert _error(err) == "TagLimitExceeded"
    assert instance(ec2, iid)["Tags"] == [{"Key": "first", "Value": "1"}]  # none of the 50 was added
    for tag, message in (({"Key": "k" * 129, "Value": "v"}, "Tag key exceeds the maximum length of 128 characters"),
                         ({"Key": "k", "Value": "v" * 257}, "Tag value exceeds the maximum length of 256 characters")):
        with pytest.raises(ClientError) as err:
            ec2.create_tags(Resources=[iid], Tags=[tag])
        assert _error(err) == "InvalidParameterValue" and err.value.response["Error"]["Message"] == message
        with pytest.raises(ClientError) as err:
            ec2.run_instances(ImageId=image_id, MinCount=1, MaxCount=1, TagSpecifications=[{"ResourceType": "instance", "Tags": [tag]}])
        assert _error(err) == "InvalidParameterValue"
    ec2.create_tags(Resources=[iid], Tags=[{"Key": f"k{n}", "Value": "v"} for n in range(49)])
    assert len(instance(ec2, iid)["Tags"]) == 50
    wait_state(ec2, iid, "stopped")


def test_run_instances_refuses_what_its_instances_cannot_do(ec2: Any, image_id: str) -> None:
    refused: list[tuple[dict[str, Any], str]] = [
        ({"BlockDeviceMappings": [{"DeviceName": "/dev/xvda", "Ebs": {"VolumeSize": 20}}]}, "UnsupportedOperation"),
        ({"Monitoring": {"Enabled": True}}, "UnsupportedOperation"),
        ({"InstanceMarketOptions": {"MarketType": "spot"}}, "UnsupportedOperation"),
        ({"IamInstanceProfile": {"Name": "inference"}}, "InvalidParameterValue"),  # no such profile (a real one is accepted)
        ({"DisableApiStop": True}, "UnsupportedOperation"),
        ({"LaunchTemplate": {"LaunchTemplateName": "inference"}}, "UnsupportedOperation"),
        ({"Placement": {"AvailabilityZone": "us-east-1b"}}, "InvalidParameterValue"),
        ({"Placement": {"Tenancy": "dedicated"}}, "UnsupportedOperation"),
        ({"TagSpecifications": [{"ResourceType": "volume", "Tags": [{"Key": "a", "Value": "b"}]}]}, "UnsupportedOperation"),
        ({"TagSpecifications": [{"ResourceType": "vpc", "Tags": [{"Key": "a", "Value": "b"}]}]}, "InvalidParameterValue"),
        ({"ClientToken": "t" * 65}, "InvalidParameterValue"),
        ({"InstanceType": "x9.huge"}, "InvalidParameterValue"),
    ]
    for extra, code in refused:
        with pytest.raises(ClientError) as err:
            ec2.run_instances(ImageId=image_id, MinCount=1, MaxCount=1, DryRun=True, **extra)
        assert _error(err) == code, extra
    # What these instances are anyway is accepted.
    switched_off: dict[str, Any] = {  # as Terraform's aws_instance sends them
        "HibernationOptions": {"Configured": False}, "EnclaveOptions": {"Enabled": False}, "MaintenanceOptions": {"AutoRecovery": "default"},
        "PrivateDnsNameOptions": {"HostnameType": "ip-name", "EnableResourceNameDnsARecord": False, "EnableResourceNameDnsAAAARecord": False},
    }
    for extra in ({"Monitoring": {"Enabled": False}}, {"Placement": {"AvailabilityZone": "us-east-1a", "Tenancy": "default"}}, {"DisableApiTermination": False}, switched_off):
        with pytest.raises(ClientError) as err:
            ec2.run_instances(ImageId=image_id, MinCount=1, MaxCount=1, DryRun=True, **extra)
        assert _error(err) == "DryRunOperation", extra
    with pytest.raises(ClientError) as err:
        ec2.stop_instances(InstanceIds=["i-0123456789abcdef0"], Hibernate=True)
    assert _error(err) == "UnsupportedOperation"
    # The same ClientToken with other parameters is a mismatch, not the first launch again.
    job = json.dumps({"prompt": "A", "max_tokens": 1})
    first = ec2.run_instances(ImageId=image_id, MinCount=1, MaxCount=1, UserData=job, ClientToken="mismatch-token")["Instances"][0]["InstanceId"]
    for extra in ({"MinCount": 2, "MaxCount": 2, "UserData": job}, {"MinCount": 1, "MaxCount": 1, "UserData": json.dumps({"prompt": "B"})}):
        with pytest.raises(ClientError) as err:
            ec2.run_instances(ImageId=image_id, ClientToken="mismatch-token", **extra)
        assert _error(err) == "IdempotentParameterMismatch", extra
    wait_state(ec2, first, "stopped")


def test_documented_filters_attributes_and_addresses(compute_server: EmulatorServer, ec2: Any, image_id: str) -> None:
    res = ec2.run_instances(ImageId=image_id, MinCount=1, MaxCount=1, UserData=json.dumps({"prompt": "A", "max_tokens": 1}),
                            TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "suite", "Value": "filters"}]}])
    iid = res["Instances"][0]["InstanceId"]
    stopped = wait_state(ec2, iid, "stopped")
    # A stopped (VPC) instance keeps its private address and DNS name.
    assert stopped["PrivateIpAddress"] == res["Instances"][0]["PrivateIpAddress"] and stopped["PrivateDnsName"].startswith("ip-")
    mine = [{"Name": "tag:suite", "Values": ["filters"]}]
    for name, value, found in (("root-device-type", "ebs", [iid]), ("tenancy", "default", [iid]), ("owner-id", res["OwnerId"], [iid]),
                               ("monitoring-state", "disabled", [iid]), ("ebs-optimized", "false", [iid]), ("launch-time", "20*", [iid]),
                               ("platform", "windows", []), ("spot-instance-request-id", "*", []), ("network-interface.subnet-id", "*", [])):
        assert _ids(ec2.describe_instances(Filters=[{"Name": name, "Values": [value]}, *mine])) == found, name
    for name, value, count in (("root-device-type", "ebs", 1), ("virtualization-type", "hvm", 1), ("is-public", "false", 1), ("owner-alias", "amazon", 0)):
        assert len(ec2.describe_images(Filters=[{"Name": name, "Values": [value]}])["Images"]) == count, name
    types = ec2.describe_instance_types(Filters=[{"Name": "bare-metal", "Values": ["false"]}, {"Name": "supported-usage-class", "Values": ["on-demand"]}])
    assert {"c7i.large"} <= {t["InstanceType"] for t in types["InstanceTypes"]}
    assert ec2.describe_instance_types(Filters=[{"Name": "network-info.efa-supported", "Values": ["true"]}])["InstanceTypes"] == []
    assert ec2.describe_instance_status(IncludeAllInstances=True, Filters=[{"Name": "event.code", "Values": ["system-reboot"]}])["InstanceStatuses"] == []
    with pytest.raises(ClientError) as err:
        ec2.describe_tags(Filters=[{"Name": "tag-key", "Values": ["suite"]}])  # not a DescribeTags filter
    assert _error(err) == "InvalidParameterValue"
    attrs = {a: ec2.describe_instance_attribute(InstanceId=iid, Attribute=a) for a in ("kernel", "ramdisk", "sriovNetSupport", "enclaveOptions")}
    assert attrs["kernel"]["KernelId"] == {} and attrs["ramdisk"]["RamdiskId"] == {} and attrs["sriovNetSupport"]["SriovNetSupport"] == {}
    assert attrs["enclaveOptions"]["EnclaveOptions"] == {"Enabled": False}
    ec2.modify_instance_attribute(InstanceId=iid, DisableApiTermination={"Value": False})  # what it is already: a no-op
    for kwargs in ({"DisableApiStop": {"Value": True}}, {"SourceDestCheck": {"Value": False}}):
        with pytest.raises(ClientError) as err:
            ec2.modify_instance_attribute(InstanceId=iid, **kwargs)
        assert _error(err) == "UnsupportedOperation", kwargs
    # DescribeRegions names the endpoint the client reached, as AWS names each region's host.
    local = compute_server.client("ec2", endpoint_url=compute_server.endpoint.replace("127.0.0.1", "localhost"))
    assert {r["Endpoint"] for r in local.describe_regions()["Regions"]} == {f"localhost:{compute_server.port}"}
    ec2.terminate_instances(InstanceIds=[iid])
    assert "PrivateIpAddress" not in wait_state(ec2, iid, "terminated")


def test_instances_are_regional(compute_server: EmulatorServer, ec2: Any, image_id: str) -> None:
    """An instance belongs to the region it was launched in (its zone is that region's): it does
    not exist for a client of another region, and client tokens are per region, as on AWS."""
    west = compute_server.client("ec2", region_name="eu-west-1")
    job = json.dumps({"prompts": ["Hi"], "max_tokens": 1, "temperature": 0})
    res = west.run_instances(ImageId=image_id, InstanceType="c7i.large", MinCount=1, MaxCount=1, UserData=job, ClientToken="regional-token")
    iid = res["Instances"][0]["InstanceId"]
    assert res["Instances"][0]["Placement"]["AvailabilityZone"] == "eu-west-1a"
    assert instance(west, iid)["Placement"]["AvailabilityZone"] == "eu-west-1a"
    assert iid in [i["InstanceId"] for r in west.describe_instances()["Reservations"] for i in r["Instances"]]
    assert iid not in [i["InstanceId"] for r in ec2.describe_instances()["Reservations"] for i in r["Instances"]]
    for call in (lambda: ec2.describe_instances(InstanceIds=[iid]), lambda: ec2.terminate_instances(InstanceIds=[iid]),
                 lambda: ec2.create_tags(Resources=[iid], Tags=[{"Key": "k", "Value": "v"}]), lambda: ec2.get_console_output(InstanceId=iid)):
        with pytest.raises(ClientError) as exc:
            call()
        assert _error(exc) == "InvalidInstanceID.NotFound"
    assert all(t["ResourceId"] != iid for t in ec2.describe_tags()["Tags"])
    # The same client token in another region is another launch.
    east = ec2.run_instances(ImageId=image_id, InstanceType="c7i.large", MinCount=1, MaxCount=1, UserData=job, ClientToken="regional-token")
    eid = east["Instances"][0]["InstanceId"]
    assert eid != iid and east["Instances"][0]["Placement"]["AvailabilityZone"] == "us-east-1a"
    # ... and in its own region the token still names the first launch.
    again = west.run_instances(ImageId=image_id, InstanceType="c7i.large", MinCount=1, MaxCount=1, UserData=job, ClientToken="regional-token")
    assert again["Instances"][0]["InstanceId"] == iid
    wait_state(west, iid, "stopped")
    wait_state(ec2, eid, "stopped")
    west.terminate_instances(InstanceIds=[iid])
    ec2.terminate_instances(InstanceIds=[eid])
