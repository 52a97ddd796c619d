"""EC2's instance attributes and tags: TagAttributeOperations, mixed into
emulator.handlers.ec2.Ec2Handler. Describe/ModifyInstanceAttribute act on the manager's
instances; Create/Delete/DescribeTags on instances (images' tags are read-only, from the model),
while tags of moto's resources (VPCs, security groups, ...) are moto's: a call naming only
those goes to moto (``Delegate``), a mixed one is split (moto's backend for its ids), and
DescribeTags lists both."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from emulator.compute.instances import Instance, LaunchError
from emulator.compute.models import ModelInfo
from emulator.context import RequestContext
from emulator.errors import AwsError
from emulator.handlers.base import Delegate, operation
from emulator.handlers.ec2_filters import (
    _NATIVE_PREFIXES,
    _check_tags,
    _dry_run,
    _filters,
    _groups_by_id,
    _match,
    _paged,
)

if TYPE_CHECKING:
    from emulator.compute.service import ComputeService
    from emulator.runtime import Runtime

T = TypeVar("T")


class TagAttributeOperations:
    # The Ec2Handler state these operations use (set by ComputeHandler, or Ec2Handler's own).
    runtime: Runtime
    compute: ComputeService
    manager: Any
    _lookup: Callable[..., list[Instance]]
    _visible: Callable[[RequestContext], list[Instance]]
    _image_tags: Callable[[ModelInfo], dict[str, str]]

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
            "disableApiTermination": {"Value": inst.disable_api_termination}, "disableApiStop": {"Value": False},
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
            mapping = {"instanceType": "InstanceType", "userData": "UserData", "instanceInitiatedShutdownBehavior": "InstanceInitiatedShutdownBehavior",
                       "disableApiTermination": "DisableApiTermination"}
            if attribute not in mapping:
                raise AwsError("InvalidParameterValue", f"Value ({attribute}) for parameter attribute is invalid. This attribute cannot be modified here.")
            if attribute == "disableApiTermination":
                # The Attribute/Value form carries the boolean as text.
                if str(value).lower() not in ("true", "false"):
                    raise AwsError("InvalidParameterValue", f"Value ({value}) for parameter disableApiTermination is invalid. Valid values are: true, false")
                value = str(value).lower() == "true"
            changes[mapping[attribute]] = value.encode() if attribute == "userData" and isinstance(value, str) else value
        for key in ("InstanceType", "UserData", "InstanceInitiatedShutdownBehavior"):
            if isinstance(params.get(key), dict) and "Value" in params[key]:
                changes[key] = params[key]["Value"]
        protection = params.get("DisableApiTermination")
        if isinstance(protection, dict) and "Value" in protection:
            changes["DisableApiTermination"] = bool(protection["Value"])
        # Other boolean attributes are fixed here: setting one to the value it has is a no-op, anything else is refused.
        fixed = {"DisableApiStop": False, "SourceDestCheck": True, "EbsOptimized": False, "EnaSupport": False,
                 "EnclaveOptions": False}
        for key, current in fixed.items():
            given = params.get(key)
            if isinstance(given, dict) and given.get("Value", given.get("Enabled")) == current:
                changes[key] = current
        if params.get("Groups"):
            # Terraform's aws_instance changes vpc_security_group_ids this way.
            changes["Groups"] = self._groups_for(ctx, inst, params["Groups"])
        unsupported = [k for k in ("DisableApiStop", "SourceDestCheck", "EbsOptimized", "EnaSupport", "EnclaveOptions",
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
        if "DisableApiTermination" in changes:
            inst.disable_api_termination = changes["DisableApiTermination"]
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
    def _split(resources: list[str]) -> tuple[list[str], list[str]]:
        """A request's resource ids: this service's (instances, images) and moto's (VPCs, security groups, ...)."""
        native = [rid for rid in resources if rid.startswith(_NATIVE_PREFIXES)]
        return native, [rid for rid in resources if not rid.startswith(_NATIVE_PREFIXES)]

    async def _moto(self, ctx: RequestContext, fn: Callable[[Any], T], write: bool) -> T:
        """``fn(backend)`` on moto's EC2 backend of the request's region, holding its locks; moto's
        errors (InvalidID, InvalidVpcID.NotFound, TagLimitExceeded, ...) as EC2's."""
        from moto.core.exceptions import ServiceException

        fallback = self.runtime.fallback
        if fallback is None:
            raise AwsError("InvalidID", "Only instances and images are served here: the moto fallback is off (setting fallback).")

        def call() -> T:
            try:
                return fn(fallback.backend("ec2", ctx.region))
            except ServiceException as exc:
                raise AwsError(str(exc.code), str(exc.message)) from None

        return await fallback.change("ec2", call, write=write)

    async def _check_moto_ids(self, ctx: RequestContext, resources: list[str]) -> None:
        from moto.ec2.models import validate_resource_ids

        await self._moto(ctx, lambda backend: validate_resource_ids(resources) and backend.do_resources_exist(resources), write=False)

    @operation("CreateTags")
    async def create_tags(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        native, foreign = self._split(params.get("Resources") or [])
        if not native:
            raise Delegate
        targets = self._tag_targets(ctx, native)
        tags = params.get("Tags") or []
        _check_tags(tags)
        new = {tag["Key"]: tag.get("Value", "") or "" for tag in tags}
        # All or nothing: no resource gets a tag when one of them would exceed the limit.
        if any(len(inst.tags | new) > 50 for inst in targets):
            raise AwsError("TagLimitExceeded", "The maximum number of Tags for a resource has been reached.")
        if foreign:  # moto's resources in the same call (Terraform tags a VPC and an instance alike)
            await self._check_moto_ids(ctx, foreign)
        _dry_run(params)
        if foreign:
            await self._moto(ctx, lambda backend: backend.create_tags(foreign, new), write=True)
        for inst in targets:
            inst.tags.update(new)
        self.manager.save()
        return {}

    @operation("DeleteTags")
    async def delete_tags(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        native, foreign = self._split(params.get("Resources") or [])
        if not native:
            raise Delegate
        targets = self._tag_targets(ctx, native)
        tags = params.get("Tags")
        for tag in tags or []:
            if (tag.get("Key") or "").startswith("aws:"):
                raise AwsError("InvalidParameterValue", "Tag keys starting with 'aws:' are reserved for internal use")
        if foreign:
            from moto.ec2.models import validate_resource_ids

            await self._moto(ctx, lambda backend: validate_resource_ids(foreign), write=False)
        _dry_run(params)
        if foreign:
            def delete(backend: Any) -> None:
                for rid in foreign:
                    # No Tags: every tag of the resource goes; a Value given deletes the tag only if it matches.
                    wanted = {t["Key"]: t.get("Value") for t in tags} if tags else dict.fromkeys(backend.tags.get(rid, {}))
                    backend.delete_tags([rid], wanted)

            await self._moto(ctx, delete, write=True)
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
    async def describe_tags(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        """The tags of instances and images, then those of moto's resources (VPCs, security
        groups, ...): one list, every filter applied to both, one paginated answer."""
        rows: list[dict[str, str]] = []
        for inst in self._visible(ctx):
            for k, v in inst.tags.items():
                rows.append({"ResourceId": inst.instance_id, "ResourceType": "instance", "Key": k, "Value": v})
        for model in self.compute.store.list():
            for k, v in self._image_tags(model).items():
                rows.append({"ResourceId": model.image_id, "ResourceType": "image", "Key": k, "Value": v})
        if self.runtime.fallback is not None:
            moto_rows = await self._moto(ctx, lambda backend: backend.describe_tags(filters=None), write=False)
            rows.extend({"ResourceId": r["resource_id"], "ResourceType": r["resource_type"], "Key": r["key"], "Value": r["value"]}
                        for r in moto_rows if not r["resource_id"].startswith(_NATIVE_PREFIXES))
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
