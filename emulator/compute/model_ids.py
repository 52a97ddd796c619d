"""Bedrock model identifiers as requests give them: a model id, a foundation model's or an
inference profile's ARN, a cross-Region (system-defined) inference profile id. No imports
beyond the standard library: the gateway's authorization reads them too."""

from __future__ import annotations

# Cross-Region (system-defined) inference profile ids: the Region group, a dot, the model id.
PROFILE_PREFIXES = ("us.", "eu.", "apac.", "us-gov.", "jp.", "au.", "ca.", "global.")


def normalize_model_id(ident: str) -> str:
    ident = ident.strip()
    if ident.startswith("arn:"):
        # arn:aws:bedrock:region:acct:foundation-model/NAME, .../inference-profile/NAME, ...
        ident = ident.rsplit("/", 1)[-1]
    return ident


def strip_profile(ident: str) -> str:
    """``us.anthropic.claude-...`` -> ``anthropic.claude-...`` (a cross-Region inference profile's model)."""
    for prefix in PROFILE_PREFIXES:
        if ident.startswith(prefix) and "." in ident[len(prefix):]:
            return ident[len(prefix):]
    return ident


# A Region's group for system-defined inference profiles: (Region name start, id prefix, name
# label), AWS's geographic profiles US, EU, APAC and US GovCloud. Regions outside those groups
# (ca-, sa-, me-, af-, il-, mx-) get a global profile (``global.``), AWS's profile type that
# routes to any commercial Region: our choice. A geography's profile is callable from its
# source Regions only (Bedrock user guide, "Supported Regions and models for inference profiles").
REGION_GROUPS: tuple[tuple[str, str, str], ...] = (
    ("us-gov-", "us-gov.", "US-GOV"),
    ("us-", "us.", "US"),
    ("eu-", "eu.", "EU"),
    ("ap-", "apac.", "APAC"),
)
GLOBAL_GROUP = ("global.", "GLOBAL")


def region_group(region: str) -> tuple[str, str]:
    """(profile id prefix, name label) of the Region's system-defined inference profiles."""
    for start, prefix, label in REGION_GROUPS:
        if region.startswith(start):
            return prefix, label
    return GLOBAL_GROUP


def arn_scope(arn: str) -> tuple[str, str]:
    """(Region, account) of an ARN (``arn:partition:service:region:account:resource``); empty
    strings for what it lacks."""
    parts = arn.split(":", 5)
    return (parts[3], parts[4]) if len(parts) == 6 else ("", "")
