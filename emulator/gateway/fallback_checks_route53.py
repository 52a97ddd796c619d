"""Route 53: requests refused as Route 53 refuses them, before moto sees them
(emulator/gateway/fallback_checks.py). Route 53 checks its XML bodies against a schema
(``InvalidInput: Invalid XML ; cvc-...``), then each change of a batch (``InvalidInput:
Invalid request: ...``, ``InvalidChangeBatch: [...]``); moto stored record sets of any type
with any value, and the mistake showed only once deployed (a CNAME at the zone's apex: see
fallback_patches.py, which knows the zone's name).
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING, Any

from emulator.errors import AwsError
from emulator.gateway.fallback_checks import _digits, _on

if TYPE_CHECKING:
    from emulator.context import RequestContext

_RR_TYPES = ("SOA", "A", "TXT", "NS", "CNAME", "MX", "NAPTR", "PTR", "SRV", "SPF", "AAAA", "CAA", "DS", "TLSA", "SSHFP", "SVCB", "HTTPS")


@_on("route53", "CreateHostedZone")
def _route53_zone_name(ctx: RequestContext) -> None:
    """A hosted zone's name is a domain name: labels of 1 to 63 characters, 255 in all."""
    name = ctx.params.get("Name")
    if not isinstance(name, str):
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
    'x'']``)."""
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


_HEALTH_CHECK_TYPES = ("HTTP", "HTTPS", "HTTP_STR_MATCH", "HTTPS_STR_MATCH", "TCP", "CALCULATED", "CLOUDWATCH_METRIC", "RECOVERY_CONTROL")


@_on("route53", "CreateHealthCheck")
def _route53_health_check(ctx: RequestContext) -> None:
    """A health check's Type (schema enumeration) and FailureThreshold (1 to 10: schema,
    ``cvc-maxInclusive-valid``)."""
    config = ctx.params.get("HealthCheckConfig")
    if not isinstance(config, dict):
        return
    kind = config.get("Type")
    if kind is not None and kind not in _HEALTH_CHECK_TYPES:
        raise _enumeration(kind, _HEALTH_CHECK_TYPES)
    threshold = config.get("FailureThreshold")
    if isinstance(threshold, int) and not 1 <= threshold <= 10:
        facet, bound = ("maxInclusive", 10) if threshold > 10 else ("minInclusive", 1)
        raise AwsError(
            "InvalidInput",
            f"Invalid XML ; cvc-{facet}-valid: Value '{threshold}' is not facet-valid with respect to {facet} '{bound}' for type 'FailureThreshold'.",
            400,
        )
