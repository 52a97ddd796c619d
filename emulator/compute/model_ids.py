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
