"""The EC2 handler's shared helpers: id patterns, Describe* filters (EC2's wildcards, the
filter names botocore documents, field paths), NextToken/MaxResults paging, tag limits,
DryRun, and moto's security groups by id. Used by emulator.handlers.ec2 and its mixins
(ec2_images, ec2_tags)."""

from __future__ import annotations

import base64
import datetime as dt
import re
from collections.abc import Callable
from functools import cache
from typing import Any, TypeVar

from emulator import services, user_regex
from emulator.errors import AwsError

_INSTANCE_ID = re.compile(r"^i-[0-9a-f]{8}(?:[0-9a-f]{9})?$")
_AMI_ID = re.compile(r"^ami-[0-9a-f]{8}(?:[0-9a-f]{9})?$")

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
        # the caller's wildcards: "*a*a*a*a*b" backtracks for seconds on re, so user_regex, under its budget
        regex = user_regex.compile("^" + re.escape(pattern).replace(r"\*", ".*").replace(r"\?", ".") + "$", user_regex.DOTALL, shown=pattern)
        try:
            if any(v is not None and regex.match(_text(v)) for v in values):
                return True
        except user_regex.RegexTimeout as exc:
            raise AwsError("InvalidParameterValue", f"The filter value '{pattern}' is invalid: {exc}") from None  # our text
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
