"""EC2 as LLM inference: models are AMIs, instances load them and run jobs or serve.

Operations: RunInstances, DescribeInstances, DescribeInstanceStatus,
Start/Stop/Reboot/TerminateInstances, GetConsoleOutput, Describe/
ModifyInstanceAttribute, Create/Delete/DescribeTags, DescribeImages,
DescribeInstanceTypes, DescribeInstanceTypeOfferings, DescribeRegions, DescribeAvailabilityZones.
Instance type names are real EC2 names (the gateway validates the enum) with
this host's figures: c7i.* are CPU shares, g6.* (g6e.*, ... per GPU) VRAM shares. Every other EC2
action (VPCs, subnets, security groups, key pairs, volumes, ...) is served by the moto fallback
unless it names an instance or an image (``Ec2Handler.owned_members``): those answer
``UnsupportedOperation``. Tags of moto's resources are moto's (``Delegate``; a CreateTags naming
both kinds is split, DescribeTags lists both). DeleteSecurityGroup of a group an instance uses
is refused (``before_fallback``).
The handler class and the instance lifecycle are here; images, instance types, regions and
zones are ImageOperations (ec2_images), attributes and tags TagAttributeOperations (ec2_tags);
filters, paging and tag checks are in ec2_filters.
"""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Callable, Iterable
from typing import Any, ClassVar

from emulator.compute.instances import Instance, LaunchError
from emulator.context import RequestContext
from emulator.errors import AwsError
from emulator.handlers.base import ComputeHandler, operation
from emulator.handlers.ec2_filters import (
    _AMI_ID,
    _INSTANCE_ID,
    _INSTANCE_PATHS,
    _check_tags,
    _dry_run,
    _filtered,
    _groups_by_id,
    _page,
    _paged,
    _path,
    _tags,
)
from emulator.handlers.ec2_images import ImageOperations
from emulator.handlers.ec2_tags import TagAttributeOperations


def _ts(value: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(value, dt.UTC)


class Ec2Handler(TagAttributeOperations, ImageOperations, ComputeHandler):
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

    def before_fallback(self, ctx: RequestContext, params: dict[str, Any]) -> None:
        """DeleteSecurityGroup (moto's) of a group that an instance here uses (any state but
        terminated) is refused, as EC2 refuses it while an instance's interface holds it."""
        if ctx.operation_name != "DeleteSecurityGroup" or params.get("DryRun"):
            return
        group_id, group_name = params.get("GroupId"), params.get("GroupName")
        for inst in self._visible(ctx):
            if inst.state == "terminated":
                continue
            for group in inst.network.get("SecurityGroups", []):
                if (group_id and group["GroupId"] == group_id) or (not group_id and group_name and group["GroupName"] == group_name
                                                                    and not inst.network.get("VpcId")):
                    raise AwsError("DependencyViolation", f"resource {group['GroupId']} has a dependent object")

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

    def _describe_instance(self, inst: Instance, owner: str, as_launched: bool = False) -> dict[str, Any]:
        """DescribeInstances' entry; ``as_launched``: RunInstances' answer, which EC2 gives every
        launch ``pending``, whatever happens next (a job that cannot run stops at once)."""
        # A VPC instance keeps its private address while stopped; a terminated one has none.
        running = (as_launched or inst.state != "terminated") and bool(inst.private_ip)
        out: dict[str, Any] = {
            "InstanceId": inst.instance_id,
            "ImageId": inst.image_id,
            "State": {"Code": 0, "Name": "pending"} if as_launched else {"Code": inst.state_code, "Name": inst.state},
            "PrivateDnsName": f"ip-{inst.private_ip.replace('.', '-')}.ec2.internal" if running else "",
            "PublicDnsName": "",
            "StateTransitionReason": "" if as_launched else inst.state_transition_reason,
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
        if inst.state_reason and not as_launched:
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
                                        region=ctx.region, disable_api_termination=bool(params.get("DisableApiTermination")))
        except LaunchError as err:
            raise AwsError(err.code, err.message, err.status) from None
        return self._reservation(launched, owner, as_launched=True)

    # RunInstances members with the value each may have here (what DescribeInstances shows): any
    # other value asks for something these instances do not do, so the launch is refused.
    _LAUNCH_DEFAULTS: ClassVar[dict[str, Callable[[Any], bool]]] = {
        "Monitoring": lambda v: not v.get("Enabled"),
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
                   "IamInstanceProfile", "DisableApiTermination"}
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

    def _reservation(self, instances: list[Instance], owner: str, as_launched: bool = False) -> dict[str, Any]:
        return {
            "ReservationId": instances[0].reservation_id,
            "OwnerId": owner,
            "Groups": [],
            "Instances": [self._describe_instance(i, owner, as_launched) for i in instances],
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

    def _changes(self, ctx: RequestContext, ids: list[str], action: Callable[[str], tuple[str, str]],
                 shown: dict[str, str] | None = None) -> list[dict[str, Any]]:
        """Per instance its previous and current state; ``shown`` maps a final state reached
        within the call to the transitional one EC2 answers (stopped -> stopping)."""
        changes = []
        for inst in self._lookup(ctx, ids):
            try:
                previous, current = action(inst.instance_id)
            except LaunchError as err:
                raise AwsError(err.code, err.message, err.status) from None
            if shown and current != previous:
                current = shown.get(current, current)
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
        return {"StoppingInstances": self._changes(ctx, ids, self.manager.stop_instance, {"stopped": "stopping"})}

    @operation("StartInstances")
    def start_instances(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        ids = self._require_ids(ctx, params)
        for inst in self._lookup(ctx, ids):
            if inst.state not in ("stopped", "pending", "running"):
                raise AwsError("IncorrectInstanceState", f"The instance '{inst.instance_id}' is not in a state from which it can be started.")
        try:
            # All or nothing: when one does not fit, none starts (InsufficientInstanceCapacity).
            results = dict(zip(ids, self.manager.start_instances(ids), strict=True))
        except LaunchError as err:
            raise AwsError(err.code, err.message, err.status) from None
        return {"StartingInstances": self._changes(ctx, ids, results.__getitem__)}

    @operation("TerminateInstances")
    def terminate_instances(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        ids = self._require_ids(ctx, params)
        # Termination protection: one protected instance refuses the whole call (all instances of a
        # region are in its one zone here, and EC2 terminates none in a zone holding a protected one).
        for inst in self._lookup(ctx, ids):
            if inst.disable_api_termination and inst.state != "terminated":
                raise AwsError("OperationNotPermitted", f"The instance '{inst.instance_id}' may not be terminated. "
                               "Modify its 'disableApiTermination' instance attribute and try again.")
        return {"TerminatingInstances": self._changes(ctx, ids, self.manager.terminate, {"terminated": "shutting-down"})}

    @operation("RebootInstances")
    def reboot_instances(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        ids = self._require_ids(ctx, params)
        # Only running instances reboot (and stay running); requests to reboot terminated ones are ignored.
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


def _code(state: str) -> int:
    from emulator.compute.instances import STATE_CODES

    return STATE_CODES[state]

