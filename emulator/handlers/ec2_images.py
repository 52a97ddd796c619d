"""EC2's images, instance types, regions and availability zones: ImageOperations, mixed
into emulator.handlers.ec2.Ec2Handler. Images are the model store's models (one AMI each);
instance types (and their offerings) are the manager's (this host's shares)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from emulator.compute.models import ModelInfo
from emulator.context import RequestContext
from emulator.errors import AwsError
from emulator.handlers.base import operation
from emulator.handlers.ec2_filters import (
    _AMI_ID,
    _IMAGE_PATHS,
    _TYPE_PATHS,
    _dry_run,
    _field,
    _filtered,
    _paged,
    _path,
    _tags,
)
from emulator.regions import REGIONS

if TYPE_CHECKING:
    from emulator.compute.service import ComputeService
    from emulator.runtime import Runtime


def _zone_id(region: str) -> str:
    """The id of a region's one zone (``us-east-1`` -> ``use1-az1``)."""
    return f"{region[:2]}{region.split('-')[1][:1]}{region[-1]}-az1"


class ImageOperations:
    # The Ec2Handler state these operations use (set by ComputeHandler, or Ec2Handler's own).
    runtime: Runtime
    compute: ComputeService
    manager: Any
    _owner: Callable[[RequestContext], str]

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

    @operation("DescribeInstanceTypeOfferings")
    def describe_instance_type_offerings(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        """The instance types RunInstances takes (this host's shares), offered in the request's
        region and its one zone; none on an outpost."""
        _dry_run(params)
        location_type = params.get("LocationType") or "region"
        region = ctx.region
        location = {"region": region, "availability-zone": f"{region}a", "availability-zone-id": _zone_id(region)}.get(location_type)
        offers = [] if location is None else [{"InstanceType": name, "LocationType": location_type, "Location": location}
                                              for name in self.manager.types]
        fields = {"instance-type": "InstanceType", "location": "Location"}
        return _paged("InstanceTypeOfferings", _filtered(offers, params, _field(fields), "DescribeInstanceTypeOfferings"), params, 5, 1000)

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
                  "ZoneName": f"{region}a", "ZoneId": _zone_id(region), "GroupName": region,
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
