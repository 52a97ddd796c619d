"""Route 53: requests refused as Route 53 refuses them, before moto sees them
(emulator/gateway/fallback_checks.py). Route 53 checks its XML bodies against a schema
(``InvalidInput: Invalid XML ; cvc-...``), then each change of a batch (``InvalidInput:
Invalid request: ...``, ``InvalidChangeBatch: [...]``); moto stored record sets of any type
with any value, and the mistake showed only once deployed (a CNAME at the zone's apex: see
fallback_patches.py, which knows the zone's name). moto also created zones with a caller
reference already used, a VPC that cannot be one or a delegation set that does not exist, and
answered 200 for delegation sets, zones and health checks that do not exist, and for changes
it never made; it created health checks of no endpoint and ignored a listing's zone id given
without its name.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from typing import TYPE_CHECKING, Any

from emulator.errors import AwsError
from emulator.gateway.fallback_checks import _digits, _on, moto_backend

if TYPE_CHECKING:
    from emulator.context import RequestContext

_RR_TYPES = ("SOA", "A", "TXT", "NS", "CNAME", "MX", "NAPTR", "PTR", "SRV", "SPF", "AAAA", "CAA", "DS", "TLSA", "SSHFP", "SVCB", "HTTPS")


@_on("route53", "CreateHostedZone", "ListHostedZonesByName")
def _route53_zone_name(ctx: RequestContext) -> None:
    """A hosted zone's name (and the DNSName a listing starts from) is a domain name: labels of
    1 to 63 characters, 255 in all."""
    name = ctx.params.get("Name" if ctx.operation_name == "CreateHostedZone" else "DNSName")
    if not isinstance(name, str) or (ctx.operation_name != "CreateHostedZone" and not name.strip(".")):  # a listing from the start
        return
    labels = name[:-1].split(".") if name.endswith(".") else name.split(".")
    if not name.strip(".") or len(name.rstrip(".")) > 255 or any(not label or len(label) > 63 for label in labels):
        raise AwsError("InvalidDomainName", f"The domain name '{name}' is not valid.", 400)


@_on("route53", "ListHostedZones", "ListHostedZonesByName", "ListResourceRecordSets", "ListHealthChecks",
     "ListReusableDelegationSets", "ListTrafficPolicies", "ListHostedZonesByVPC", "ListQueryLoggingConfigs", "ListCidrCollections")
def _route53_max_items(ctx: RequestContext) -> None:
    for name in ("MaxItems", "MaxResults"):
        value = ctx.params.get(name)
        if value is not None and not _digits(value):
            raise AwsError("InvalidInput", f"Invalid value '{value}' for {name}: it must be a whole number.", 400)


def _change_text(action: Any, rrset: dict[str, Any]) -> str:
    return f"Change with [Action={action}, Name={rrset.get('Name')}, Type={rrset.get('Type')}, SetIdentifier={rrset.get('SetIdentifier') or 'null'}]"


def _address(kind: str, value: str) -> bool:
    try:
        (ipaddress.IPv4Address if kind == "A" else ipaddress.IPv6Address)(value)
    except ValueError:
        return False
    return True


@_on("route53", "ChangeResourceRecordSets")
def _route53_changes(ctx: RequestContext) -> None:
    """Each change's record set: a type of the RRType enum (schema: InvalidInput, cvc-...); an
    alias or a TTL with records, not both (``InvalidInput: Invalid request: Expected exactly one
    of [AliasTarget, all of [TTL, and ResourceRecords], or TrafficPolicyInstanceId] ...``); the
    addresses of A and AAAA records (``InvalidChangeBatch: [Invalid Resource Record: 'FATAL
    problem: ARRDATAIllegalIPv4Address (Value is not a valid IPv4 address) encountered with
    'x'']``) and the two fields of MX records (``MXRRDATANotTwoFields``)."""
    changes = (ctx.params.get("ChangeBatch") or {}).get("Changes") or []
    for change in changes:
        rrset = change.get("ResourceRecordSet") if isinstance(change, dict) else None
        if not isinstance(rrset, dict):
            continue
        kind = rrset.get("Type")
        if kind not in _RR_TYPES:
            raise AwsError(
                "InvalidInput",
                f"Invalid XML ; cvc-enumeration-valid: Value '{kind}' is not facet-valid with respect to enumeration "
                f"'[{', '.join(_RR_TYPES)}]'. It must be a value from the enumeration.",
                400,
            )
    problems: list[str] = []
    for change in changes:
        rrset = change.get("ResourceRecordSet") if isinstance(change, dict) else None
        if not isinstance(rrset, dict):
            continue
        action, kind = change.get("Action"), rrset.get("Type")
        given = [rrset.get("AliasTarget") is not None, rrset.get("TTL") is not None and bool(rrset.get("ResourceRecords")),
                 rrset.get("TrafficPolicyInstanceId") is not None]
        if action in ("CREATE", "UPSERT") and sum(given) != 1:
            found = "none" if not any(given) else "more than one"
            raise AwsError(
                "InvalidInput",
                "Invalid request: Expected exactly one of [AliasTarget, all of [TTL, and ResourceRecords], or TrafficPolicyInstanceId], "
                f"but found {found} in {_change_text(action, rrset)}",
                400,
            )
        if kind in ("A", "AAAA"):
            for record in rrset.get("ResourceRecords") or []:
                value = record.get("Value") if isinstance(record, dict) else None
                if isinstance(value, str) and not _address(kind, value):
                    version, code = ("IPv4", "ARRDATAIllegalIPv4Address") if kind == "A" else ("IPv6", "AAAARRDATAIllegalIPv6Address")
                    problems.append(f"Invalid Resource Record: 'FATAL problem: {code} (Value is not a valid {version} address) encountered with '{value}''")
        if kind == "MX":
            # An MX record is "priority domain-name" (RFC 1035 section 3.3.9; Route 53's MX format).
            for record in rrset.get("ResourceRecords") or []:
                value = record.get("Value") if isinstance(record, dict) else None
                if isinstance(value, str) and len(value.split()) != 2:
                    problems.append(f"Invalid Resource Record: 'FATAL problem: MXRRDATANotTwoFields (MX record doesn't have 2 fields) encountered with '{value}''")
    if problems:
        raise AwsError("InvalidChangeBatch", "[" + ", ".join(problems) + "]", 400)


def _enumeration(value: Any, allowed: tuple[str, ...]) -> AwsError:
    """Route 53's schema error for a value outside an enumeration."""
    return AwsError(
        "InvalidInput",
        f"Invalid XML ; cvc-enumeration-valid: Value '{value}' is not facet-valid with respect to enumeration "
        f"'[{', '.join(allowed)}]'. It must be a value from the enumeration.",
        400,
    )


_FAILOVER = ("PRIMARY", "SECONDARY")
# The members of a record set that make it one of several records of the same name and type
# (a routing policy): each such record needs its SetIdentifier.
_ROUTING = ("Weight", "Region", "GeoLocation", "Failover", "MultiValueAnswer", "CidrRoutingConfig", "GeoProximityLocation")


@_on("route53", "ChangeResourceRecordSets")
def _route53_routing(ctx: RequestContext) -> None:
    """A Failover of PRIMARY or SECONDARY (schema); a record of a routing policy has a
    SetIdentifier (``InvalidInput: Invalid request: Missing field 'SetIdentifier' in Change
    with [...]``)."""
    for change in (ctx.params.get("ChangeBatch") or {}).get("Changes") or []:
        rrset = change.get("ResourceRecordSet") if isinstance(change, dict) else None
        if not isinstance(rrset, dict):
            continue
        if rrset.get("Failover") is not None and rrset["Failover"] not in _FAILOVER:
            raise _enumeration(rrset["Failover"], _FAILOVER)
        if rrset.get("SetIdentifier") is None and any(rrset.get(name) is not None for name in _ROUTING):
            raise AwsError("InvalidInput", f"Invalid request: Missing field 'SetIdentifier' in {_change_text(change.get('Action'), rrset)}", 400)


@_on("route53", "ListResourceRecordSets", "TestDNSAnswer")
def _route53_record_type(ctx: RequestContext) -> None:
    kind = ctx.params.get("StartRecordType", ctx.params.get("RecordType"))
    if kind is not None and kind not in _RR_TYPES:
        raise _enumeration(kind, _RR_TYPES)


@functools.cache
def _ip_pattern() -> str:
    """The schema's pattern of a health check's IPAddress (an IPv4 or IPv6 address)."""
    from emulator import services

    operation = services.operation_model("route53", "CreateHealthCheck")
    return str(operation.service_model.shape_for("IPAddress").metadata.get("pattern", "")) if operation is not None else ""


_HEALTH_CHECK_TYPES = ("HTTP", "HTTPS", "HTTP_STR_MATCH", "HTTPS_STR_MATCH", "TCP", "CALCULATED", "CLOUDWATCH_METRIC", "RECOVERY_CONTROL")


@_on("route53", "CreateHealthCheck")
def _route53_health_check(ctx: RequestContext) -> None:
    """A health check's Type (schema enumeration), IPAddress (schema pattern,
    ``cvc-pattern-valid``) and FailureThreshold (1 to 10: schema, ``cvc-maxInclusive-valid``)."""
    config = ctx.params.get("HealthCheckConfig")
    if not isinstance(config, dict):
        return
    kind = config.get("Type")
    if kind is not None and kind not in _HEALTH_CHECK_TYPES:
        raise _enumeration(kind, _HEALTH_CHECK_TYPES)
    address = config.get("IPAddress")
    pattern = _ip_pattern()
    if isinstance(address, str) and pattern and re.fullmatch(pattern, address) is None:
        raise AwsError(
            "InvalidInput",
            f"Invalid XML ; cvc-pattern-valid: Value '{address}' is not facet-valid with respect to pattern '{pattern}' for type 'IPAddress'.",
            400,
        )
    threshold = config.get("FailureThreshold")
    if isinstance(threshold, int) and not 1 <= threshold <= 10:
        facet, bound = ("maxInclusive", 10) if threshold > 10 else ("minInclusive", 1)
        raise AwsError(
            "InvalidInput",
            f"Invalid XML ; cvc-{facet}-valid: Value '{threshold}' is not facet-valid with respect to {facet} '{bound}' for type 'FailureThreshold'.",
            400,
        )


def _backend(ctx: RequestContext) -> Any:
    """moto's Route 53 backend: one per partition (Route 53 is global), not per region."""
    return moto_backend(ctx, "route53", "aws")


_VPC_ID = re.compile(r"vpc-[0-9a-f]{8}([0-9a-f]{9})?")
_NO_DELEGATION_SET = "A reusable delegation set with the specified ID does not exist."


@functools.cache
def _vpc_regions() -> tuple[str, ...]:
    """The regions a private zone's VPC may be in (the schema's VPCRegion enumeration)."""
    from emulator import services

    operation = services.operation_model("route53", "CreateHostedZone")
    return tuple(operation.service_model.shape_for("VPCRegion").enum) if operation is not None else ()


def _strip(identifier: str, prefix: str) -> str:
    """An id as Route 53 takes it, without the path it may be given with (``/hostedzone/Z...``)."""
    return identifier.removeprefix(prefix)


@_on("route53", "CreateHostedZone")
def _route53_zone_references(ctx: RequestContext) -> None:
    """A caller reference not used before (``HostedZoneAlreadyExists``, 409), a VPC of a region
    of the VPCRegion enumeration (schema) and an id of a VPC's form (``InvalidVPCId``), and a reusable delegation set that exists
    (``NoSuchDelegationSet``): moto created a zone for each."""
    p = ctx.params
    vpc = p.get("VPC")
    vpc_id = vpc.get("VPCId") if isinstance(vpc, dict) else None
    region = vpc.get("VPCRegion") if isinstance(vpc, dict) else None
    if region is not None and _vpc_regions() and region not in _vpc_regions():
        raise _enumeration(region, _vpc_regions())
    if isinstance(vpc_id, str) and _VPC_ID.fullmatch(vpc_id) is None:
        raise AwsError("InvalidVPCId", "The VPC ID that you specified either isn't a valid ID or the current account is not authorized to access this VPC.", 400)
    backend = _backend(ctx)
    zones, sets = getattr(backend, "zones", None), getattr(backend, "delegation_sets", None)
    reference = p.get("CallerReference")
    if isinstance(reference, str) and isinstance(zones, dict) and any(getattr(z, "caller_reference", None) == reference for z in zones.values()):
        raise AwsError("HostedZoneAlreadyExists", "A hosted zone has already been created with the specified caller reference.", 409)
    delegation = p.get("DelegationSetId")
    if isinstance(delegation, str) and isinstance(sets, dict) and _strip(delegation, "/delegationset/") not in sets:
        raise AwsError("NoSuchDelegationSet", _NO_DELEGATION_SET, 400)


@_on("route53", "GetReusableDelegationSet")
def _route53_delegation_set(ctx: RequestContext) -> None:
    identifier, sets = ctx.params.get("Id"), getattr(_backend(ctx), "delegation_sets", None)
    if isinstance(identifier, str) and isinstance(sets, dict) and _strip(identifier, "/delegationset/") not in sets:
        raise AwsError("NoSuchDelegationSet", _NO_DELEGATION_SET, 400)


@_on("route53", "ListTagsForResource")
def _route53_tagged_zone(ctx: RequestContext) -> None:
    """The hosted zone or health check whose tags are listed exists (moto listed none for any
    id): ``NoSuchHostedZone``, ``NoSuchHealthCheck`` (404), moto's wording where it checks."""
    kind, identifier = ctx.params.get("ResourceType"), ctx.params.get("ResourceId")
    backend = _backend(ctx)
    if not isinstance(identifier, str):
        return
    zones, checks = getattr(backend, "zones", None), getattr(backend, "health_checks", None)
    if kind == "hostedzone" and isinstance(zones, dict) and _strip(identifier, "/hostedzone/") not in zones:
        raise AwsError("NoSuchHostedZone", f"No hosted zone found with ID: {identifier}", 404)
    if kind == "healthcheck" and isinstance(checks, dict) and identifier not in checks:
        raise AwsError("NoSuchHealthCheck", f"A health check with id {identifier} does not exist.", 404)


@_on("route53", "DeleteHealthCheck")
def _route53_deleted_health_check(ctx: RequestContext) -> None:
    identifier, checks = ctx.params.get("HealthCheckId"), getattr(_backend(ctx), "health_checks", None)
    if isinstance(identifier, str) and isinstance(checks, dict) and identifier not in checks:
        raise AwsError("NoSuchHealthCheck", f"A health check with id {identifier} does not exist.", 404)


@_on("route53", "ListHostedZonesByName")
def _route53_zone_id_needs_name(ctx: RequestContext) -> None:
    """A listing continued from a zone names it by both NextDNSName and NextHostedZoneId
    (HostedZoneId: "include both dnsname and hostedzoneid parameters"): ``InvalidInput``. moto
    ignored the zone id and listed every zone from the start."""
    if ctx.params.get("HostedZoneId") is not None and not ctx.params.get("DNSName"):
        raise AwsError("InvalidInput", "Invalid request: hostedzoneid is specified without dnsname; specify both of them, or neither.", 400)


_HOSTNAME_CHECKS = ("HTTP", "HTTPS", "HTTP_STR_MATCH", "HTTPS_STR_MATCH", "TCP")


@_on("route53", "CreateHealthCheck")
def _route53_health_check_endpoint(ctx: RequestContext) -> None:
    """A health check of an endpoint names it, by IPAddress or FullyQualifiedDomainName
    (HealthCheckConfig: Route 53 checks the IP address, else resolves the domain name):
    ``InvalidInput``. moto created a health check of nothing."""
    config = ctx.params.get("HealthCheckConfig")
    if isinstance(config, dict) and config.get("Type") in _HOSTNAME_CHECKS and not config.get("IPAddress") and not config.get("FullyQualifiedDomainName"):
        raise AwsError("InvalidInput", f"Invalid parameter: a health check of type {config['Type']} must specify an IPAddress or a FullyQualifiedDomainName.", 400)


# The change ids that moto hands out (moto/route53/responses.py answers every change with one of
# these fixed ids, and keeps no record of changes).
_MOTO_CHANGES = frozenset({"C1PA6795UKMFR9", "C2682N5HXP0BZ4", "a1b2c3d4"})
_CHANGE_ID = re.compile(r"[A-Z0-9]+")


@_on("route53", "GetChange")
def _route53_change(ctx: RequestContext) -> None:
    """A change id is one ChangeResourceRecordSets handed out (AWS's are upper-case letters and
    digits): Route 53 answers any other with ``NoSuchChange`` (404). moto answered INSYNC for
    any id."""
    identifier = ctx.params.get("Id")
    if not isinstance(identifier, str):
        return
    bare = _strip(identifier, "/change/")
    if bare not in _MOTO_CHANGES and _CHANGE_ID.fullmatch(bare) is None:
        raise AwsError("NoSuchChange", "A change with the specified change ID does not exist.", 404)
