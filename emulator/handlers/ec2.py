"""EC2 as LLM inference: models are AMIs, instances load them and run jobs or serve.

Operations: RunInstances, DescribeInstances, DescribeInstanceStatus,
Start/Stop/Reboot/TerminateInstances, GetConsoleOutput, Describe/
ModifyInstanceAttribute, Create/Delete/DescribeTags, DescribeImages,
DescribeInstanceTypes, DescribeRegions, DescribeAvailabilityZones.
Instance type names are real EC2 names (the gateway validates the enum) with
this host's figures: c7i.* are CPU shares, g6.* (g6e.*, ... per GPU) VRAM shares. Every other EC2
action (VPCs, subnets, security groups, key pairs, volumes, ...) is served by the moto fallback
unless it names an instance or an image (``Ec2Handler.owned_members``): those answer
``UnsupportedOperation``. Tags of moto's resources are moto's (``Delegate``).
"""

from __future__ import annotations

import base64
import datetime as dt
import re
from collections.abc import Callable, Iterable
from functools import cache
from typing import Any, ClassVar, TypeVar

from emulator import services
from emulator.compute.instances import Instance, LaunchError
from emulator.compute.models import ModelInfo
from emulator.context import RequestContext
from emulator.errors import AwsError
from emulator.handlers.base import ComputeHandler, Delegate, operation
from emulator.regions import REGIONS

_INSTANCE_ID = re.compile(r"^i-[0-9a-f]{8}(?:[0-9a-f]{9})?$")
_AMI_ID = re.compile(r"^ami-[0-9a-f]{8}(?:[0-9a-f]{9})?$")


def _ts(value: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(value, dt.UTC)


T = TypeVar("T")


def _tags(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in tags.items()]


def _filters(params: dict[str, Any]) -> list[tuple[str, list[str]]]:
    out = []
    for f in params.get("Filters") or []:
        name = f.get("Name")
        if not name:
            raise AwsError("InvalidParameterValue", "The filter 'null' is invalid")
        out.append((name, [str(v) for v in f.get("Values") or []]))
    return out


def _text(value: Any) -> str:
    """A response value as EC2 filters compare it: booleans as ``true``/``false``, times as ISO 8601."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    return str(value)


def _match(value: Any, patterns: list[str]) -> bool:
    """EC2 filter values allow ``*`` and ``?`` wildcards."""
    if value is None:
        return False
    values = value if isinstance(value, list | set | tuple) else [value]
    for pattern in patterns:
        regex = re.compile("^" + re.escape(pattern).replace(r"\*", ".*").replace(r"\?", ".") + "$", re.DOTALL)
        if any(v is not None and regex.match(_text(v)) for v in values):
            return True
    return False


@cache
def _documented_filters(operation: str) -> frozenset[str]:
    """The filter names botocore documents for an EC2 Describe* call: valid names that an
    instance or image here has no value for match nothing (as on EC2), rather than being refused."""
    model = services.operation_model("ec2", operation)
    shape = model.input_shape if model is not None else None
    member = shape.members.get("Filters") if shape is not None else None
    doc = getattr(member, "documentation", "") or ""
    names = re.findall(r"<code>([a-z0-9.:-]+)</code> ?- ", doc)
    # DescribeImages' scan-result filter documents its values (low, high, ...) the same way
    return frozenset(n for n in names if not n.endswith(":") and n not in ("informational", "low", "medium", "high", "critical"))


def _check_tags(tags: list[dict[str, Any]]) -> None:
    """EC2's limits on tag keys and values (CreateTags, TagSpecifications)."""
    for tag in tags:
        key, value = tag.get("Key", ""), tag.get("Value", "") or ""
        if key.startswith("aws:"):
            raise AwsError("InvalidParameterValue", "Tag keys starting with 'aws:' are reserved for internal use")
        if not key:
            raise AwsError("InvalidParameterValue", "Tag key cannot be empty")
        if len(key) > 128:
            raise AwsError("InvalidParameterValue", "Tag key exceeds the maximum length of 128 characters")
        if len(value) > 256:
            raise AwsError("InvalidParameterValue", "Tag value exceeds the maximum length of 256 characters")


def _dry_run(params: dict[str, Any]) -> None:
    """DryRun=True: the caller passed authorization (the gateway checked it) and the request its
    checks, so EC2's answer is DryRunOperation, and nothing is changed."""
    if params.get("DryRun"):
        raise AwsError("DryRunOperation", "Request would have succeeded, but DryRun flag is set.", 412)


def _path(row: dict[str, Any], path: str) -> Any:
    """The value at a dotted path of a response dict; through lists, every element's value."""
    value: Any = row
    for key in path.split("."):
        if isinstance(value, list):
            value = [v.get(key) for v in value if isinstance(v, dict)]
            value = [x for v in value for x in (v if isinstance(v, list) else [v]) if x is not None]
        elif isinstance(value, dict):
            value = value.get(key)
        else:
            return None
    return value


def _page(items: list[Any], params: dict[str, Any], lo: int = 5, hi: int = 1000) -> tuple[list[Any], str | None]:
    token = params.get("NextToken")
    start = 0
    if token:
        try:
            start = int(base64.urlsafe_b64decode(token.encode()).decode())
        except (ValueError, UnicodeDecodeError):
            raise AwsError("InvalidNextToken", "The specified token is invalid or expired.") from None
    limit = params.get("MaxResults")
    if limit is None:
        return items[start:], None
    if not lo <= limit <= hi:
        raise AwsError("InvalidParameterValue", f"Value ( {limit} ) for parameter maxResults is invalid. Expecting a value between {lo} and {hi}.")
    page = items[start : start + limit]
    nxt = base64.urlsafe_b64encode(str(start + limit).encode()).decode() if start + limit < len(items) else None
    return page, nxt


def _filtered(items: list[T], params: dict[str, Any], getter: Callable[[str], Callable[[T], Any] | None], operation: str = "") -> list[T]:
    """The ``items`` that pass every filter of the request; ``getter`` maps a filter
    name to the value it tests (None: a filter name this call does not know). A name that
    ``operation`` documents but ``getter`` does not know is valid and matches nothing."""
    for name, values in _filters(params):
        get = getter(name)
        if get is None:
            if operation and name in _documented_filters(operation):
                items = []
                continue
            raise AwsError("InvalidParameterValue", f"The filter '{name}' is invalid")
        items = [i for i in items if _match(get(i), values)]
    return items


def _field(fields: dict[str, str]) -> Callable[[str], Callable[[dict[str, Any]], Any] | None]:
    """A ``_filtered`` getter for filters that each test one field of a response dict."""

    def getter(name: str) -> Callable[[dict[str, Any]], Any] | None:
        key = fields.get(name)
        return None if key is None else lambda row: row[key]

    return getter


def _paged(key: str, items: list[Any], params: dict[str, Any], lo: int = 5, hi: int = 1000) -> dict[str, Any]:
    """A Describe* response: one page of ``items`` under ``key``, and NextToken while more remain."""
    page, token = _page(items, params, lo, hi)
    out: dict[str, Any] = {key: page}
    if token:
        out["NextToken"] = token
    return out


# Filters that test a field of the DescribeInstances (Images, InstanceTypes) answer: filter name -> path.
_INSTANCE_PATHS = {
    "dns-name": "PublicDnsName", "private-dns-name": "PrivateDnsName", "ip-address": "PublicIpAddress", "platform": "Platform",
    "platform-details": "PlatformDetails", "usage-operation": "UsageOperation", "root-device-type": "RootDeviceType",
    "root-device-name": "RootDeviceName", "tenancy": "Placement.Tenancy", "hypervisor": "Hypervisor", "virtualization-type": "VirtualizationType",
    "monitoring-state": "Monitoring.State", "launch-time": "LaunchTime", "reason": "StateTransitionReason",
    "state-reason-message": "StateReason.Message", "ebs-optimized": "EbsOptimized", "ena-support": "EnaSupport", "boot-mode": "BootMode",
    "current-instance-boot-mode": "CurrentInstanceBootMode", "source-dest-check": "SourceDestCheck", "product-code": "ProductCodes.ProductCodeId",
    "metadata-options.http-tokens": "MetadataOptions.HttpTokens", "metadata-options.http-endpoint": "MetadataOptions.HttpEndpoint",
    "metadata-options.state": "MetadataOptions.State",
}
_IMAGE_PATHS = {
    "is-public": "Public", "root-device-type": "RootDeviceType", "root-device-name": "RootDeviceName", "virtualization-type": "VirtualizationType",
    "hypervisor": "Hypervisor", "platform": "Platform", "creation-date": "CreationDate", "ena-support": "EnaSupport",
    "manifest-location": "ImageLocation", "kernel-id": "KernelId", "ramdisk-id": "RamdiskId", "product-code": "ProductCodes.ProductCodeId",
}
_TYPE_PATHS = {
    "auto-recovery-supported": "AutoRecoverySupported", "bare-metal": "BareMetal", "burstable-performance-supported": "BurstablePerformanceSupported",
    "current-generation": "CurrentGeneration", "dedicated-hosts-supported": "DedicatedHostsSupported", "free-tier-eligible": "FreeTierEligible",
    "hibernation-supported": "HibernationSupported", "hypervisor": "Hypervisor", "instance-storage-supported": "InstanceStorageSupported",
    "supported-boot-mode": "SupportedBootModes", "supported-root-device-type": "SupportedRootDeviceTypes",
    "supported-usage-class": "SupportedUsageClasses", "supported-virtualization-type": "SupportedVirtualizationTypes",
    "vcpu-info.default-cores": "VCpuInfo.DefaultCores", "vcpu-info.default-threads-per-core": "VCpuInfo.DefaultThreadsPerCore",
    "vcpu-info.valid-cores": "VCpuInfo.ValidCores", "vcpu-info.valid-threads-per-core": "VCpuInfo.ValidThreadsPerCore",
    "ebs-info.ebs-optimized-support": "EbsInfo.EbsOptimizedSupport", "ebs-info.encryption-support": "EbsInfo.EncryptionSupport",
    "ebs-info.nvme-support": "EbsInfo.NvmeSupport", "network-info.ena-support": "NetworkInfo.EnaSupport",
    "network-info.ipv6-supported": "NetworkInfo.Ipv6Supported", "network-info.maximum-network-interfaces": "NetworkInfo.MaximumNetworkInterfaces",
    "network-info.ipv4-addresses-per-interface": "NetworkInfo.Ipv4AddressesPerInterface", "network-info.network-performance": "NetworkInfo.NetworkPerformance",
}

_NATIVE_PREFIXES = ("i-", "ami-")  # instances and images are this service's; any other id is moto's
_NATIVE_TYPES = ("instance", "image")


class Ec2Handler(ComputeHandler):
    service = "ec2"
    # Everything else EC2 has (VPCs, subnets, security groups, key pairs, volumes, ...) is served
    # by the moto fallback, so that scripts creating a key pair or a security group before
    # RunInstances work; operations naming an instance or an image are this handler's.
    owned_members = frozenset({"InstanceId", "InstanceIds", "ImageId", "ImageIds", "SourceImageId"})

    def health(self) -> dict[str, Any]:
        counts = self.compute.manager.health()["instances"]
        return {"state": "running", "instances": counts}

    async def reset(self) -> None:
        """Every instance goes, terminated ones, their tags and client tokens with them (all live
        in the instance records), and the ledger is free again. Images are the model store,
        which a new account sees too; VPCs, key pairs and security groups are moto's (its reset)."""
        await self.manager.reset()

    # ---------------------------------------------------------------- helpers
    @property
    def manager(self) -> Any:
        return self.compute.manager

    def _owner(self, ctx: RequestContext) -> str:
        return ctx.account_id if ctx.principal is None else ctx.principal.account_id

    def _here(self, ctx: RequestContext, inst: Instance | None) -> Instance | None:
        """``inst`` if it is in the request's region (instances are regional, as on AWS: one
        launched in us-east-1 does not exist for a client of eu-west-1)."""
        if inst is None or (inst.region or self.manager.region) != ctx.region:
            return None
        return inst

    def _lookup(self, ctx: RequestContext, ids: Iterable[str], visible_terminated: bool = True) -> list[Instance]:
        ids = list(ids)
        malformed = [i for i in ids if not _INSTANCE_ID.match(i)]
        if malformed:
            raise AwsError("InvalidInstanceID.Malformed", f'Invalid id: "{malformed[0]}"')
        found = [self._here(ctx, self.manager.get(i)) for i in ids]
        missing = [i for i, inst in zip(ids, found, strict=True) if inst is None]
        if missing:
            which = ", ".join(missing)
            plural = "s" if len(missing) > 1 else ""
            raise AwsError("InvalidInstanceID.NotFound", f"The instance ID{plural} '{which}' do{'' if plural else 'es'} not exist")
        return [inst for inst in found if inst is not None]

    def _describe_instance(self, inst: Instance, owner: str) -> dict[str, Any]:
        # A VPC instance keeps its private address while stopped; a terminated one has none.
        running = inst.state != "terminated" and bool(inst.private_ip)
        out: dict[str, Any] = {
            "InstanceId": inst.instance_id,
            "ImageId": inst.image_id,
            "State": {"Code": inst.state_code, "Name": inst.state},
            "PrivateDnsName": f"ip-{inst.private_ip.replace('.', '-')}.ec2.internal" if running else "",
            "PublicDnsName": "",
            "StateTransitionReason": inst.state_transition_reason,
            "AmiLaunchIndex": inst.ami_launch_index,
            "ProductCodes": [],
            "InstanceType": inst.instance_type,
            "LaunchTime": _ts(inst.launch_time),
            "Placement": {"AvailabilityZone": inst.availability_zone, "GroupName": "", "Tenancy": "default"},
            "Monitoring": {"State": "disabled"},
            "Architecture": "x86_64",
            "RootDeviceType": "ebs",
            "RootDeviceName": "/dev/xvda",
            "BlockDeviceMappings": [],
            "VirtualizationType": "hvm",
            "ClientToken": inst.client_token,
            "Tags": _tags(inst.tags),
            "SecurityGroups": [],
            "SourceDestCheck": True,
            "Hypervisor": "xen",
            "EbsOptimized": False,
            "EnaSupport": False,
            "NetworkInterfaces": [],
            "PlatformDetails": "Linux/UNIX",
            "UsageOperation": "RunInstances",
            "BootMode": "uefi",
            "CurrentInstanceBootMode": "uefi",
            "CpuOptions": {"CoreCount": self._vcpus(inst), "ThreadsPerCore": 1},
            "MetadataOptions": {"State": "applied", "HttpTokens": "required", "HttpEndpoint": "disabled"},
        }
        if inst.network:
            out.update(inst.network)
        if running:
            out["PrivateIpAddress"] = inst.private_ip
        if inst.state_reason:
            out["StateReason"] = dict(inst.state_reason)
        return out

    def _vcpus(self, inst: Instance) -> int:
        itype = self.manager.types.get(inst.instance_type)
        return itype.vcpus if itype else 1

    def _visible(self, ctx: RequestContext) -> list[Instance]:
        here = [i for i in self.manager.instances.values() if self._here(ctx, i) is not None]
        return sorted(here, key=lambda i: (i.launch_time, i.ami_launch_index))

    # ------------------------------------------------------------- instances
    @operation("RunInstances")
    def run_instances(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        image_id = params.get("ImageId")
        if not image_id:
            raise AwsError("MissingParameter", "The request must contain the parameter ImageId")
        if not _AMI_ID.match(image_id):
            raise AwsError("InvalidAMIID.Malformed", f'Invalid id: "{image_id}" (expecting "ami-...")')
        min_count, max_count = params.get("MinCount"), params.get("MaxCount")
        if min_count is None or max_count is None:
            raise AwsError("MissingParameter", f"The request must contain the parameter {'MinCount' if min_count is None else 'MaxCount'}")
        if min_count < 1 or max_count < 1:
            raise AwsError("InvalidParameterValue", f"Value ({min(min_count, max_count)}) for parameter {'minCount' if min_count < 1 else 'maxCount'} is invalid. Expected a positive integer.")
        if min_count > max_count:
            raise AwsError("InvalidParameterValue", "Value for parameter minCount is larger than maxCount.")
        behavior = params.get("InstanceInitiatedShutdownBehavior") or "stop"
        if behavior not in ("stop", "terminate"):
            raise AwsError("InvalidParameterValue", f"Value ({behavior}) for parameter instanceInitiatedShutdownBehavior is invalid. Valid values are: stop, terminate")
        self._refuse_unsupported_launch(ctx, params)
        owner = self._owner(ctx)
        token = params.get("ClientToken") or ""
        if len(token) > 64:
            raise AwsError("InvalidParameterValue", f"Value ({token}) for parameter clientToken is invalid. Length exceeds maximum of 64 characters.")
        user_data = params.get("UserData") or ""
        if isinstance(user_data, bytes):
            user_data = user_data.decode("ascii", "replace")
        if token and not params.get("DryRun"):
            existing = self.manager.find_client_token(token, ctx.region)
            if existing:
                # Idempotency: the same token returns the original launch (same params) or is refused.
                if (existing[0].image_id != image_id or (params.get("InstanceType") and existing[0].instance_type != params["InstanceType"])
                        or not min_count <= len(existing) <= max_count or existing[0].user_data != user_data):
                    raise AwsError("IdempotentParameterMismatch", "The client token you have provided is associated with a resource that is already deleted or a request with different parameters.")
                return self._reservation(existing, owner)
        if self.compute.store.get(image_id) is None:
            raise AwsError("InvalidAMIID.NotFound", f"The image id '[{image_id}]' does not exist")
        if params.get("InstanceType"):
            try:
                self.manager.instance_type(params["InstanceType"])
            except LaunchError as err:
                raise AwsError(err.code, err.message, err.status) from None
        tags: dict[str, str] = {}
        for spec in params.get("TagSpecifications") or []:
            rtype = spec.get("ResourceType")
            if rtype in ("volume", "network-interface", "spot-instances-request", "elastic-gpu"):
                # Instances here have no volumes, interfaces or spot requests: their tags would go nowhere.
                raise AwsError("UnsupportedOperation", f"Instances of this emulator have no {rtype} resources to tag.")
            if rtype not in (None, "instance"):
                raise AwsError("InvalidParameterValue", f"'{rtype}' is not a valid taggable resource type for this operation.")
            _check_tags(spec.get("Tags") or [])
            for tag in spec.get("Tags") or []:
                tags[tag.get("Key", "")] = tag.get("Value", "")
        if len(tags) > 50:
            raise AwsError("TagLimitExceeded", "The maximum number of Tags for a resource has been reached.")
        network = self._network(ctx, params)
        _dry_run(params)
        try:
            launched = self.manager.run(image_id, params.get("InstanceType"), max_count, min_count, user_data=user_data, tags=tags,
                                        client_token=token, shutdown_behavior=behavior, requester=owner, network=network,
                                        region=ctx.region)
        except LaunchError as err:
            raise AwsError(err.code, err.message, err.status) from None
        return self._reservation(launched, owner)

    # RunInstances members with the value each may have here (what DescribeInstances shows): any
    # other value asks for something these instances do not do, so the launch is refused.
    _LAUNCH_DEFAULTS: ClassVar[dict[str, Callable[[Any], bool]]] = {
        "Monitoring": lambda v: not v.get("Enabled"),
        "DisableApiTermination": lambda v: not v,
        "DisableApiStop": lambda v: not v,
        "EbsOptimized": lambda v: not v,
        "MetadataOptions": lambda v: all(v.get(k) in (None, want) for k, want in (("HttpTokens", "required"), ("HttpEndpoint", "disabled")))
        and set(v) <= {"HttpTokens", "HttpEndpoint"},
        # Options that tools (Terraform's aws_instance among them) send switched off: what these instances are.
        "HibernationOptions": lambda v: not v.get("Configured"),
        "EnclaveOptions": lambda v: not v.get("Enabled"),
        "MaintenanceOptions": lambda v: v.get("AutoRecovery") in (None, "default"),
        "PrivateDnsNameOptions": lambda v: v.get("HostnameType") in (None, "ip-name") and not v.get("EnableResourceNameDnsARecord") and not v.get("EnableResourceNameDnsAAAARecord"),
    }

    def _refuse_unsupported_launch(self, ctx: RequestContext, params: dict[str, Any]) -> None:
        handled = {"ImageId", "InstanceType", "MinCount", "MaxCount", "UserData", "TagSpecifications", "ClientToken", "DryRun",
                   "InstanceInitiatedShutdownBehavior", "KeyName", "SubnetId", "SecurityGroupIds", "SecurityGroups", "Placement",
                   "IamInstanceProfile"}
        placement = params.get("Placement") or {}
        zone = placement.get("AvailabilityZone")
        if zone and zone != f"{ctx.region}a":
            raise AwsError("InvalidParameterValue", f"Invalid availability zone: [{zone}]")
        extra = sorted(k for k, v in placement.items() if k not in ("AvailabilityZone", "Tenancy") and v not in (None, "", []))
        if placement.get("Tenancy") not in (None, "default"):
            extra.insert(0, "Tenancy")
        if extra:
            raise AwsError("UnsupportedOperation", f"The parameter Placement.{extra[0]} is not supported by this emulator's instances.")
        for name, value in params.items():
            if name in handled or value is None or value in ("", [], {}):
                continue
            accepts = self._LAUNCH_DEFAULTS.get(name)
            if accepts is None or not accepts(value):
                raise AwsError("UnsupportedOperation", f"The parameter {name} is not supported by this emulator's instances.")

    def _network(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        """RunInstances' KeyName, SubnetId, SecurityGroupIds and SecurityGroups, checked against the
        key pairs, subnets and security groups that the moto fallback keeps (where CreateKeyPair,
        CreateSubnet and CreateSecurityGroup went), with EC2's errors for missing ones."""
        key_name = params.get("KeyName")
        subnet_id = params.get("SubnetId")
        group_ids = params.get("SecurityGroupIds") or []
        group_names = params.get("SecurityGroups") or []
        profile_spec = {k: v for k, v in (params.get("IamInstanceProfile") or {}).items() if k in ("Arn", "Name") and v}
        if not (key_name or subnet_id or group_ids or group_names or profile_spec):
            return {}
        fallback = self.runtime.fallback
        if fallback is None:
            raise AwsError("UnsupportedOperation", "KeyName, SubnetId, security groups and instance profiles refer to resources of the moto fallback, which is off (setting fallback).")
        backend = fallback.backend("ec2", ctx.region)
        out: dict[str, Any] = {}
        if profile_spec:
            # Shown by DescribeInstances (Terraform's aws_instance reads it back); the instance
            # has no metadata service (HttpEndpoint disabled), so no credentials come of it.
            profiles = list(fallback.backend("iam", "aws").instance_profiles.values())
            field, wanted = ("Arn", profile_spec["Arn"]) if "Arn" in profile_spec else ("Name", profile_spec["Name"])
            profile = next((p for p in profiles if (p.arn if field == "Arn" else p.name) == wanted), None)
            if profile is None or ("Name" in profile_spec and profile.name != profile_spec["Name"]):
                raise AwsError("InvalidParameterValue", f"Value ({wanted}) for parameter iamInstanceProfile.{field.lower()} is invalid. Invalid IAM Instance Profile {'ARN' if field == 'Arn' else 'name'}")
            out["IamInstanceProfile"] = {"Arn": profile.arn, "Id": profile.id}
        if key_name:
            if not any(pair.key_name == key_name for pair in list(backend.key_pairs.values())):
                raise AwsError("InvalidKeyPair.NotFound", f"The key pair '{key_name}' does not exist")
            out["KeyName"] = key_name
        vpc_id = None
        if subnet_id:
            subnet = next((zone[subnet_id] for zone in list(backend.subnets.values()) if subnet_id in zone), None)
            if subnet is None:
                raise AwsError("InvalidSubnetID.NotFound", f"The subnet ID '{subnet_id}' does not exist")
            vpc_id = subnet.vpc_id
            out["SubnetId"], out["VpcId"] = subnet.id, vpc_id
        groups = _groups_by_id(backend, group_ids, vpc_id, lambda group_id: AwsError(
            "InvalidParameter", f"Security group {group_id} and subnet {subnet_id} belong to different networks."))
        for name in group_names:
            group = backend.get_security_group_from_name(name, vpc_id)
            if group is None:
                raise AwsError("InvalidGroup.NotFound", f"The security group '{name}' does not exist")
            groups.append({"GroupId": group.id, "GroupName": group.name})
        if groups:
            out["SecurityGroups"] = groups
        return out

    def _reservation(self, instances: list[Instance], owner: str) -> dict[str, Any]:
        return {
            "ReservationId": instances[0].reservation_id,
            "OwnerId": owner,
            "Groups": [],
            "Instances": [self._describe_instance(i, owner) for i in instances],
        }

    def _instance_filter(self, name: str) -> Callable[[Instance], Any] | None:
        getters: dict[str, Callable[[Instance], Any]] = {
            "instance-state-name": lambda i: i.state,
            "instance-state-code": lambda i: str(i.state_code),
            "instance-id": lambda i: i.instance_id,
            "image-id": lambda i: i.image_id,
            "instance-type": lambda i: i.instance_type,
            "tag-key": lambda i: list(i.tags),
            "tag-value": lambda i: list(i.tags.values()),
            "reservation-id": lambda i: i.reservation_id,
            "availability-zone": lambda i: i.availability_zone,
            "client-token": lambda i: i.client_token,
            "private-ip-address": lambda i: i.private_ip,
            "launch-index": lambda i: str(i.ami_launch_index),
            "state-reason-code": lambda i: (i.state_reason or {}).get("Code"),
            "architecture": lambda i: "x86_64",
            "key-name": lambda i: i.network.get("KeyName"),
            "subnet-id": lambda i: i.network.get("SubnetId"),
            "iam-instance-profile.arn": lambda i: (i.network.get("IamInstanceProfile") or {}).get("Arn"),
            "iam-instance-profile.id": lambda i: (i.network.get("IamInstanceProfile") or {}).get("Id"),
            "vpc-id": lambda i: i.network.get("VpcId"),
            "instance.group-id": lambda i: [g["GroupId"] for g in i.network.get("SecurityGroups", [])],
            "instance.group-name": lambda i: [g["GroupName"] for g in i.network.get("SecurityGroups", [])],
        }
        if name.startswith("tag:"):
            key = name[4:]
            return lambda i: i.tags.get(key)
        if name == "owner-id":
            return lambda i: i.requester or None
        path = _INSTANCE_PATHS.get(name)
        if path is not None:
            return lambda i: _path(self._describe_instance(i, ""), path)
        return getters.get(name)

    def _select(self, ctx: RequestContext, params: dict[str, Any]) -> list[Instance]:
        ids = params.get("InstanceIds") or []
        return _filtered(self._lookup(ctx, ids) if ids else self._visible(ctx), params, self._instance_filter, "DescribeInstances")

    @operation("DescribeInstances")
    def describe_instances(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        if params.get("InstanceIds") and params.get("MaxResults") is not None:
            raise AwsError("InvalidParameterCombination", "The parameter instancesSet cannot be used with the parameter maxResults")
        owner = self._owner(ctx)
        instances, token = _page(self._select(ctx, params), params)
        _dry_run(params)
        reservations: dict[str, list[Instance]] = {}
        for inst in instances:
            reservations.setdefault(inst.reservation_id, []).append(inst)
        out: dict[str, Any] = {"Reservations": [self._reservation(group, owner) for group in reservations.values()]}
        if token:
            out["NextToken"] = token
        return out

    @operation("DescribeInstanceStatus")
    def describe_instance_status(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        ids = params.get("InstanceIds") or []
        include_all = bool(params.get("IncludeAllInstances"))
        instances = self._lookup(ctx, ids) if ids else self._visible(ctx)
        _dry_run(params)
        if not include_all:
            instances = [i for i in instances if i.state == "running"]
        statuses = []
        for inst in instances:
            # Attached remote servers are "impaired" while their health probe fails (instances.status_of).
            summary = self.manager.status_of(inst)
            reach = {"ok": "passed", "impaired": "failed"}.get(summary, "initializing")
            entry = {
                "InstanceId": inst.instance_id,
                "AvailabilityZone": inst.availability_zone,
                "InstanceState": {"Code": inst.state_code, "Name": inst.state},
                "InstanceStatus": {"Status": summary, "Details": [{"Name": "reachability", "Status": reach}] if summary != "not-applicable" else []},
                "SystemStatus": {"Status": summary, "Details": [{"Name": "reachability", "Status": reach}] if summary != "not-applicable" else []},
                "Events": [],
            }
            statuses.append(entry)
        getters: dict[str, Callable[[dict[str, Any]], Any]] = {
            "instance-state-name": lambda e: e["InstanceState"]["Name"],
            "instance-state-code": lambda e: str(e["InstanceState"]["Code"]),
            "instance-status.status": lambda e: e["InstanceStatus"]["Status"],
            "system-status.status": lambda e: e["SystemStatus"]["Status"],
            "availability-zone": lambda e: e["AvailabilityZone"],
            "instance-status.reachability": lambda e: _path(e, "InstanceStatus.Details.Status"),
            "system-status.reachability": lambda e: _path(e, "SystemStatus.Details.Status"),
        }
        return _paged("InstanceStatuses", _filtered(statuses, params, getters.get, "DescribeInstanceStatus"), params)

    def _changes(self, ctx: RequestContext, ids: list[str], action: Callable[[str], tuple[str, str]]) -> list[dict[str, Any]]:
        changes = []
        for inst in self._lookup(ctx, ids):
            try:
                previous, current = action(inst.instance_id)
            except LaunchError as err:
                raise AwsError(err.code, err.message, err.status) from None
            changes.append({
                "InstanceId": inst.instance_id,
                "PreviousState": {"Code": _code(previous), "Name": previous},
                "CurrentState": {"Code": _code(current), "Name": current},
            })
        return changes

    def _require_ids(self, ctx: RequestContext, params: dict[str, Any]) -> list[str]:
        """The request's instance ids, all existing; DryRun stops here (before any state check)."""
        ids = params.get("InstanceIds") or []
        if not ids:
            raise AwsError("MissingParameter", "The request must contain the parameter InstanceId")
        self._lookup(ctx, ids)
        _dry_run(params)
        return list(ids)

    @operation("StopInstances")
    def stop_instances(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        if params.get("Hibernate"):
            raise AwsError("UnsupportedOperation", "Instances of this emulator cannot hibernate: they are not configured for hibernation.")
        ids = self._require_ids(ctx, params)
        for inst in self._lookup(ctx, ids):
            if inst.state in ("terminated", "shutting-down"):
                raise AwsError("IncorrectInstanceState", f"This instance '{inst.instance_id}' is not in a state from which it can be stopped.")
        return {"StoppingInstances": self._changes(ctx, ids, self.manager.stop_instance)}

    @operation("StartInstances")
    def start_instances(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        ids = self._require_ids(ctx, params)
        for inst in self._lookup(ctx, ids):
            if inst.state not in ("stopped", "pending", "running"):
                raise AwsError("IncorrectInstanceState", f"The instance '{inst.instance_id}' is not in a state from which it can be started.")
        return {"StartingInstances": self._changes(ctx, ids, self.manager.start_instance)}

    @operation("TerminateInstances")
    def terminate_instances(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        ids = self._require_ids(ctx, params)
        return {"TerminatingInstances": self._changes(ctx, ids, self.manager.terminate)}

    @operation("RebootInstances")
    def reboot_instances(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        ids = self._require_ids(ctx, params)
        for inst in self._lookup(ctx, ids):
            if inst.state == "terminated":
                raise AwsError("IncorrectState", f"The instance '{inst.instance_id}' is not in a state from which it can be rebooted.")
        for inst in self._lookup(ctx, ids):
            self.manager.reboot(inst.instance_id)
        return {}

    @operation("GetConsoleOutput")
    def get_console_output(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        iid = params.get("InstanceId")
        if not iid:
            raise AwsError("MissingParameter", "The request must contain the parameter InstanceId")
        inst = self._lookup(ctx, [iid])[0]
        _dry_run(params)
        return {
            "InstanceId": inst.instance_id,
            "Timestamp": dt.datetime.now(dt.UTC),
            "Output": base64.b64encode(inst.console.encode("utf-8")).decode("ascii"),
        }

    # ------------------------------------------------------------- attributes
    _ATTRIBUTES: ClassVar[dict[str, str]] = {"instanceType": "InstanceType", "userData": "UserData", "instanceInitiatedShutdownBehavior": "InstanceInitiatedShutdownBehavior",
                   "disableApiTermination": "DisableApiTermination", "disableApiStop": "DisableApiStop", "rootDeviceName": "RootDeviceName",
                   "ebsOptimized": "EbsOptimized", "enaSupport": "EnaSupport", "sourceDestCheck": "SourceDestCheck",
                   "blockDeviceMapping": "BlockDeviceMappings", "productCodes": "ProductCodes", "groupSet": "Groups",
                   "kernel": "KernelId", "ramdisk": "RamdiskId", "sriovNetSupport": "SriovNetSupport", "enclaveOptions": "EnclaveOptions"}

    @operation("DescribeInstanceAttribute")
    def describe_instance_attribute(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        iid, attribute = params.get("InstanceId"), params.get("Attribute")
        if not iid:
            raise AwsError("MissingParameter", "The request must contain the parameter InstanceId")
        inst = self._lookup(ctx, [iid])[0]
        _dry_run(params)
        values: dict[str, Any] = {
            "instanceType": {"Value": inst.instance_type},
            "userData": {"Value": inst.user_data} if inst.user_data else {},
            "instanceInitiatedShutdownBehavior": {"Value": inst.shutdown_behavior},
            "disableApiTermination": {"Value": False}, "disableApiStop": {"Value": False},
            "rootDeviceName": {"Value": "/dev/xvda"}, "ebsOptimized": {"Value": False}, "enaSupport": {"Value": False},
            "sourceDestCheck": {"Value": True}, "blockDeviceMapping": [], "productCodes": [],
            "groupSet": [{"GroupId": g["GroupId"]} for g in inst.network.get("SecurityGroups", [])],
            "kernel": {}, "ramdisk": {}, "sriovNetSupport": {}, "enclaveOptions": {"Enabled": False},  # HVM, no kernel/ramdisk ids
        }
        if attribute not in values:
            raise AwsError("InvalidParameterValue", f"Value ({attribute}) for parameter attribute is invalid. Unknown attribute.")
        return {"InstanceId": inst.instance_id, self._ATTRIBUTES[attribute]: values[attribute]}

    @operation("ModifyInstanceAttribute")
    def modify_instance_attribute(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        iid = params.get("InstanceId")
        if not iid:
            raise AwsError("MissingParameter", "The request must contain the parameter InstanceId")
        inst = self._lookup(ctx, [iid])[0]
        attribute, value = params.get("Attribute"), params.get("Value")
        changes: dict[str, Any] = {}
        if attribute is not None:
            mapping = {"instanceType": "InstanceType", "userData": "UserData", "instanceInitiatedShutdownBehavior": "InstanceInitiatedShutdownBehavior"}
            if attribute not in mapping:
                raise AwsError("InvalidParameterValue", f"Value ({attribute}) for parameter attribute is invalid. This attribute cannot be modified here.")
            changes[mapping[attribute]] = value.encode() if attribute == "userData" and isinstance(value, str) else value
        for key in ("InstanceType", "UserData", "InstanceInitiatedShutdownBehavior"):
            if isinstance(params.get(key), dict) and "Value" in params[key]:
                changes[key] = params[key]["Value"]
        # Boolean attributes are fixed here: setting one to the value it has is a no-op, anything else is refused.
        fixed = {"DisableApiTermination": False, "DisableApiStop": False, "SourceDestCheck": True, "EbsOptimized": False, "EnaSupport": False,
                 "EnclaveOptions": False}
        for key, current in fixed.items():
            given = params.get(key)
            if isinstance(given, dict) and given.get("Value", given.get("Enabled")) == current:
                changes[key] = current
        if params.get("Groups"):
            # Terraform's aws_instance changes vpc_security_group_ids this way.
            changes["Groups"] = self._groups_for(ctx, inst, params["Groups"])
        unsupported = [k for k in ("DisableApiTermination", "DisableApiStop", "SourceDestCheck", "EbsOptimized", "EnaSupport", "EnclaveOptions",
                                   "SriovNetSupport", "BlockDeviceMappings", "Kernel", "Ramdisk") if params.get(k) and k not in changes]
        if unsupported:
            raise AwsError("UnsupportedOperation", f"The attribute {unsupported[0]} cannot be modified on instances of this emulator.")
        if not changes:
            raise AwsError("MissingParameter", "The request must contain the parameter Attribute or one attribute value")
        _dry_run(params)
        if inst.state == "terminated":
            raise AwsError("IncorrectInstanceState", f"The instance '{iid}' is not in a state from which its attributes can be modified.")
        if ("InstanceType" in changes or "UserData" in changes) and inst.state != "stopped":
            raise AwsError("IncorrectInstanceState", f"The instance '{iid}' is not in the 'stopped' state.")
        if "InstanceType" in changes:
            if changes["InstanceType"] not in self.manager.types:
                raise AwsError("InvalidParameterValue", f"Invalid value '{changes['InstanceType']}' for InstanceType.")
            inst.instance_type = changes["InstanceType"]
        if "InstanceInitiatedShutdownBehavior" in changes:
            behavior = changes["InstanceInitiatedShutdownBehavior"]
            if behavior not in ("stop", "terminate"):
                raise AwsError("InvalidParameterValue", f"Value ({behavior}) for parameter instanceInitiatedShutdownBehavior is invalid. Valid values are: stop, terminate")
            inst.shutdown_behavior = behavior
        if "Groups" in changes:
            inst.network["SecurityGroups"] = changes["Groups"]
        if "UserData" in changes:
            raw = changes["UserData"] or b""
            raw = raw if isinstance(raw, bytes) else str(raw).encode()
            try:
                self.manager.set_user_data(inst, raw)
            except LaunchError as err:
                raise AwsError(err.code, err.message, err.status) from None
        self.manager.save()
        return {}

    def _groups_for(self, ctx: RequestContext, inst: Instance, group_ids: list[str]) -> list[dict[str, str]]:
        """ModifyInstanceAttribute's Groups: security groups of moto's, in the instance's VPC."""
        fallback = self.runtime.fallback
        if fallback is None:
            raise AwsError("UnsupportedOperation", "Security groups are resources of the moto fallback, which is off (setting fallback).")
        backend = fallback.backend("ec2", ctx.region)
        vpc_id = inst.network.get("VpcId")  # None: launched without a subnet, any group goes (as at RunInstances)
        return _groups_by_id(backend, group_ids, vpc_id, lambda group_id: AwsError(
            "InvalidGroup.NotFound", f"The security group '{group_id}' does not exist in VPC '{vpc_id}'"))

    # ------------------------------------------------------------------ tags
    def _tag_targets(self, ctx: RequestContext, resources: list[str]) -> list[Instance]:
        out = []
        for rid in resources:
            if rid.startswith("i-"):
                out.extend(self._lookup(ctx, [rid]))
            elif rid.startswith("ami-"):
                raise AwsError("InvalidAMIID.NotFound" if self.compute.store.get(rid) is None else "UnsupportedOperation",
                               f"The image id '[{rid}]' does not exist" if self.compute.store.get(rid) is None else "Tags on images are read from the model file and cannot be changed.")
            else:
                raise AwsError("InvalidID", f"The ID '{rid}' is not valid")
        return out

    @staticmethod
    def _foreign(resources: list[str]) -> bool:
        """Tags of resources that are all moto's (VPCs, security groups, ...): moto keeps them."""
        return bool(resources) and not any(rid.startswith(_NATIVE_PREFIXES) for rid in resources)

    @operation("CreateTags")
    def create_tags(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        if self._foreign(params.get("Resources") or []):
            raise Delegate
        targets = self._tag_targets(ctx, params.get("Resources") or [])
        tags = params.get("Tags") or []
        _check_tags(tags)
        new = {tag["Key"]: tag.get("Value", "") or "" for tag in tags}
        # All or nothing: no resource gets a tag when one of them would exceed the limit.
        if any(len(inst.tags | new) > 50 for inst in targets):
            raise AwsError("TagLimitExceeded", "The maximum number of Tags for a resource has been reached.")
        _dry_run(params)
        for inst in targets:
            inst.tags.update(new)
        self.manager.save()
        return {}

    @operation("DeleteTags")
    def delete_tags(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        if self._foreign(params.get("Resources") or []):
            raise Delegate
        targets = self._tag_targets(ctx, params.get("Resources") or [])
        tags = params.get("Tags")
        for tag in tags or []:
            if (tag.get("Key") or "").startswith("aws:"):
                raise AwsError("InvalidParameterValue", "Tag keys starting with 'aws:' are reserved for internal use")
        _dry_run(params)
        for inst in targets:
            if not tags:
                inst.tags.clear()
                continue
            for tag in tags:
                key = tag.get("Key")
                # A Value given deletes the tag only if it matches (EC2 semantics).
                if key in inst.tags and ("Value" not in tag or tag["Value"] == inst.tags[key]):
                    del inst.tags[key]
        self.manager.save()
        return {}

    @operation("DescribeTags")
    def describe_tags(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        # Filtered to moto's resources only (Terraform reads a VPC's tags by its id): moto answers.
        # Otherwise the tags of instances and images (moto's resources carry theirs in their own
        # Describe* answers).
        for name, values in _filters(params):
            if (name == "resource-id" and self._foreign(values)) or (name == "resource-type" and values and not set(values) & set(_NATIVE_TYPES)):
                raise Delegate
        rows: list[dict[str, str]] = []
        for inst in self._visible(ctx):
            for k, v in inst.tags.items():
                rows.append({"ResourceId": inst.instance_id, "ResourceType": "instance", "Key": k, "Value": v})
        for model in self.compute.store.list():
            for k, v in self._image_tags(model).items():
                rows.append({"ResourceId": model.image_id, "ResourceType": "image", "Key": k, "Value": v})
        getters = {"resource-id": "ResourceId", "resource-type": "ResourceType", "key": "Key", "value": "Value"}
        for name, values in _filters(params):
            if name.startswith("tag:"):
                key = name[4:]
                ids = {r["ResourceId"] for r in rows if r["Key"] == key and _match(r["Value"], values)}
                rows = [r for r in rows if r["ResourceId"] in ids]
                continue
            field = getters.get(name)
            if field is None:
                raise AwsError("InvalidParameterValue", f"The filter '{name}' is invalid")
            rows = [r for r in rows if _match(r[field], values)]
        page = _paged("Tags", rows, params)
        _dry_run(params)
        return page

    # ---------------------------------------------------------------- images
    def _image_tags(self, model: ModelInfo) -> dict[str, str]:
        tags = {"model-id": model.model_id, "family": model.family, "engine": model.engine}
        if model.quantization:
            tags["quantization"] = model.quantization
        if model.parameters:
            tags["parameters"] = model.parameters
        if model.context_length:
            tags["context-length"] = str(model.context_length)
        if model.architecture:
            tags["architecture"] = model.architecture
        tags["embeddings"] = "true" if model.embeddings else "false"
        return tags

    def _describe_image(self, model: ModelInfo, owner: str) -> dict[str, Any]:
        created = dt.datetime.fromtimestamp(model.created or 0, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        return {
            "ImageId": model.image_id,
            "ImageLocation": model.path or model.remote_url,
            "State": "available",
            "OwnerId": owner,
            "CreationDate": created,
            "Public": False,
            "Architecture": "x86_64",
            "ImageType": "machine",
            "Name": model.name,
            "Description": model.description,
            "RootDeviceType": "ebs",
            "RootDeviceName": "/dev/xvda",
            "VirtualizationType": "hvm",
            "Hypervisor": "xen",
            "PlatformDetails": "Linux/UNIX",
            "UsageOperation": "RunInstances",
            "BlockDeviceMappings": [],
            "EnaSupport": False,
            "BootMode": "uefi",
            "Tags": _tags(self._image_tags(model)),
        }

    @operation("DescribeImages")
    def describe_images(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        owner = self._owner(ctx)
        _dry_run(params)
        models = self.compute.store.list()
        ids = params.get("ImageIds") or []
        if ids:
            for iid in ids:
                if not _AMI_ID.match(iid):
                    raise AwsError("InvalidAMIID.Malformed", f'Invalid id: "{iid}" (expecting "ami-...")')
            known = {m.image_id for m in models}
            missing = [i for i in ids if i not in known]
            if missing:
                raise AwsError("InvalidAMIID.NotFound", f"The image id '[{', '.join(missing)}]' does not exist")
            models = [m for m in models if m.image_id in ids]
        owners = params.get("Owners") or []
        if owners and not any(o in ("self", owner, "emulator") for o in owners):
            models = []
        images = [self._describe_image(m, owner) for m in models]
        getters: dict[str, Callable[[dict[str, Any]], Any]] = {
            "image-id": lambda i: i["ImageId"], "name": lambda i: i["Name"], "state": lambda i: i["State"],
            "architecture": lambda i: i["Architecture"], "owner-id": lambda i: i["OwnerId"], "image-type": lambda i: i["ImageType"],
            "description": lambda i: i["Description"], "tag-key": lambda i: [t["Key"] for t in i["Tags"]],
        }

        def image_filter(name: str) -> Callable[[dict[str, Any]], Any] | None:
            if name.startswith("tag:"):
                key = name[4:]
                return lambda i: next((t["Value"] for t in i["Tags"] if t["Key"] == key), None)
            path = _IMAGE_PATHS.get(name)
            if path is not None:
                return lambda i: _path(i, path)
            return getters.get(name)

        return _paged("Images", _filtered(images, params, image_filter, "DescribeImages"), params)

    @operation("DescribeInstanceTypes")
    def describe_instance_types(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        types = self.manager.types
        names = params.get("InstanceTypes") or []
        unknown = [n for n in names if n not in types]
        if unknown:
            raise AwsError("InvalidInstanceType", f"The following supplied instance types do not exist: [{', '.join(unknown)}]")
        _dry_run(params)
        infos = [types[n].describe() for n in (names or list(types))]
        getters: dict[str, Callable[[dict[str, Any]], Any]] = {
            "instance-type": lambda i: i["InstanceType"],
            "vcpu-info.default-vcpus": lambda i: str(i["VCpuInfo"]["DefaultVCpus"]),
            "memory-info.size-in-mib": lambda i: str(i["MemoryInfo"]["SizeInMiB"]),
            "current-generation": lambda i: "true",
            "processor-info.supported-architecture": lambda i: i["ProcessorInfo"]["SupportedArchitectures"],
            "gpu-info.total-gpu-memory-in-mib": lambda i: str(i.get("GpuInfo", {}).get("TotalGpuMemoryInMiB", "")),
        }

        def type_filter(name: str) -> Callable[[dict[str, Any]], Any] | None:
            path = _TYPE_PATHS.get(name)
            return (lambda i: _path(i, path)) if path is not None else getters.get(name)

        return _paged("InstanceTypes", _filtered(infos, params, type_filter, "DescribeInstanceTypes"), params, 5, 100)

    # --------------------------------------------------------------- regions
    @operation("DescribeRegions")
    def describe_regions(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        _dry_run(params)
        names = params.get("RegionNames") or []
        # AWS names each region's host (ec2.us-west-2.amazonaws.com); here one endpoint serves every
        # region: the host the client reached it at, else the configured one.
        endpoint = ctx.request.headers.get("host") or self.runtime.settings.endpoint.split("://", 1)[-1]
        regions = sorted(set(REGIONS) | {self.runtime.settings.region, ctx.region})
        if names:
            unknown = [n for n in names if n not in regions]
            if unknown:
                raise AwsError("InvalidParameterValue", f"Invalid region names: [{', '.join(unknown)}]")
            regions = [r for r in regions if r in names]
        out = [{"RegionName": r, "Endpoint": endpoint, "OptInStatus": "opt-in-not-required"} for r in regions]
        return {"Regions": _filtered(out, params, _field({"region-name": "RegionName", "endpoint": "Endpoint", "opt-in-status": "OptInStatus"}), "DescribeRegions")}

    @operation("DescribeAvailabilityZones")
    def describe_availability_zones(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        _dry_run(params)
        region = ctx.region
        zones = [{"State": "available", "OptInStatus": "opt-in-not-required", "Messages": [], "RegionName": region,
                  "ZoneName": f"{region}a", "ZoneId": f"{region[:2]}{region.split('-')[1][:1]}{region[-1]}-az1", "GroupName": region,
                  "NetworkBorderGroup": region, "ZoneType": "availability-zone"}]
        names = params.get("ZoneNames") or []
        if names:
            unknown = [n for n in names if n not in {z["ZoneName"] for z in zones}]
            if unknown:
                raise AwsError("InvalidParameterValue", f"The zone '{unknown[0]}' does not exist.")
        ids = params.get("ZoneIds") or []
        if ids:
            unknown = [n for n in ids if n not in {z["ZoneId"] for z in zones}]
            if unknown:
                raise AwsError("InvalidParameterValue", f"The zone id '{unknown[0]}' does not exist.")
        fields = {"zone-name": "ZoneName", "zone-id": "ZoneId", "state": "State", "region-name": "RegionName", "zone-type": "ZoneType",
                  "group-name": "GroupName", "opt-in-status": "OptInStatus"}
        return {"AvailabilityZones": _filtered(zones, params, _field(fields), "DescribeAvailabilityZones")}


def _code(state: str) -> int:
    from emulator.compute.instances import STATE_CODES

    return STATE_CODES[state]


def _groups_by_id(backend: Any, group_ids: list[str], vpc_id: str | None, other_vpc: Callable[[str], AwsError]) -> list[dict[str, str]]:
    """moto's security groups by id, each in ``vpc_id`` when one is given (``other_vpc`` says
    how the calling operation words a group of another VPC)."""
    groups = []
    for group_id in group_ids:
        group = backend.get_security_group_from_id(group_id)
        if group is None:
            raise AwsError("InvalidGroup.NotFound", f"The security group '{group_id}' does not exist")
        if vpc_id is not None and group.vpc_id != vpc_id:
            raise other_vpc(group_id)
        groups.append({"GroupId": group.id, "GroupName": group.name})
    return groups
