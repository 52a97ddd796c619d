"""SSM: parameters and commands refused as Systems Manager refuses them, before moto sees them
(emulator/gateway/fallback_checks_services.py has the checks of tokens and document contents). moto
stored parameters whose names break Parameter Store's rules (characters, empty sub-paths,
more than 15 levels), values that do not match their own AllowedPattern, sent commands of
documents that do not exist, and stored Standard values over 4 KB, policies of unknown
types and SecureStrings under KMS keys that cannot be ones, policies that are not JSON (on
which its DescribeParameters then failed) and policies of Standard parameters.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from emulator import user_regex
from emulator.errors import AwsError
from emulator.gateway.fallback_checks import _json, _on, moto_backend

if TYPE_CHECKING:
    from emulator.context import RequestContext

_NAME_CHARACTERS = re.compile(r"[a-zA-Z0-9_.\-/]+")
# PutParameter's answer to a name of other characters (or empty sub-paths).
_BAD_NAME = (
    'Parameter name: can\'t be prefixed with "aws" or "ssm" (case-insensitive). If formed as a path, it can consist of '
    "sub-paths divided by slash symbol; each sub-path can be formed as a mix of letters, numbers and the following 3 symbols .-_"
)
_MAX_LEVELS = 15
# Errors of a regular expression that Java's (AWS's) and Python's regexes both refuse: an
# unbalanced bracket or parenthesis, a quantifier of nothing.
_BROKEN_PATTERN = ("unterminated character set", "missing ), unterminated subpattern", "unbalanced parenthesis", "nothing to repeat")


@_on("ssm", "PutParameter")
def _ssm_put_parameter(ctx: RequestContext) -> None:
    """A name of letters, digits and ``_.-/``, a path's sub-paths not empty, 15 levels at most
    (``HierarchyLevelLimitExceededException``); a value that matches the AllowedPattern given
    (``ParameterPatternMismatchException``), a pattern that is a regular expression
    (``InvalidAllowedPatternException``)."""
    name = ctx.params.get("Name")
    if isinstance(name, str) and not name.startswith("arn:"):
        if _NAME_CHARACTERS.fullmatch(name) is None or (name.startswith("/") and "" in name[1:].split("/")):
            raise AwsError("ValidationException", _BAD_NAME, 400)
        if name.strip("/").count("/") + 1 > _MAX_LEVELS:
            raise AwsError(
                "HierarchyLevelLimitExceededException",
                "A hierarchy can have a maximum of 15 levels. For more information, see Requirements and Constraints for Parameter Names in the AWS Systems Manager User Guide.",
                400,
            )
    pattern, value = ctx.params.get("AllowedPattern"), ctx.params.get("Value")
    if not isinstance(pattern, str) or not pattern:
        return
    try:
        compiled = re.compile(pattern)
    except re.error as exc:
        if any(reason in str(exc) for reason in _BROKEN_PATTERN):
            raise AwsError("InvalidAllowedPatternException", "The request does not meet the regular expression requirement.", 400) from None
        return  # Java's syntax, not Python's: left to moto
    if not isinstance(value, str) or ctx.params.get("Type") == "StringList":
        return
    try:
        # A user's pattern: run with a time budget (emulator/user_regex.py), not on ``re``.
        found = user_regex.compile(compiled.pattern).search(value) is not None
    except user_regex.error:
        found = compiled.search(value) is not None  # what ``re`` takes and ``regex`` does not: rare, short
    except user_regex.RegexTimeout as exc:
        raise AwsError("ValidationException", str(exc), 400) from None
    if not found:
        raise AwsError("ParameterPatternMismatchException", f"Parameter value, {value}, failed to satisfy constraint specified in AllowedPattern: {pattern}", 400)


@_on("ssm", "GetParametersByPath")
def _ssm_path(ctx: RequestContext) -> None:
    path = ctx.params.get("Path")
    if isinstance(path, str) and not path.startswith("/"):
        raise AwsError(
            "ValidationException",
            'The parameter doesn\'t meet the parameter name requirements. The parameter name must begin with a forward slash "/". '
            'It can\'t be prefixed with "aws" or "ssm" (case-insensitive). '
            "It must use only letters, numbers, or the following symbols: . (period), - (hyphen), _ (underscore). "
            'Special characters are not allowed. All sub-paths, if specified, must use the forward slash symbol "/". '
            "Valid example: /get/parameters2-/by1./path0_.",
            400,
        )


@_on("ssm", "SendCommand")
def _ssm_send_command(ctx: RequestContext) -> None:
    """The document a command runs exists. Documents that Amazon owns (named ``AWS-...``,
    ``AmazonCloudWatch-...``: no one else may name one so) are not in moto's state and are left
    to it, as are shared documents named by ARN."""
    name = ctx.params.get("DocumentName")
    if not isinstance(name, str) or name.startswith("arn:") or name.lower().startswith(("aws", "amazon", "amzn")):
        return
    backend = moto_backend(ctx, "ssm")
    documents = getattr(backend, "_documents", None)
    if isinstance(documents, dict) and name not in documents:
        raise AwsError("InvalidDocument", "The specified document does not exist.", 400)


# A Standard parameter's value, at most (an Advanced one's: 8 KB, botocore's model).
_STANDARD_VALUE_MAX = 4096
_POLICY_TYPES = ("Expiration", "ExpirationNotification", "NoChangeNotification")
# A KMS key named by id (a UUID, or a multi-Region key's mrk-...), alias or ARN.
_KMS_KEY = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32}|alias/[A-Za-z0-9/_-]+|arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:(key|alias)/.+")


def _tier(ctx: RequestContext, name: str) -> str | None:
    """The tier a parameter is put in: the one given, else the parameter's own (an overwrite
    keeps it), else the account's default (moto's setting); None if moto's state cannot tell."""
    given = ctx.params.get("Tier")
    if isinstance(given, str):
        return given
    backend = moto_backend(ctx, "ssm")
    parameters = getattr(backend, "_parameters", None)
    if not isinstance(parameters, dict):
        return None
    # dict.get: moto's mapping makes (and loads) an entry on a lookup by [].
    versions = dict.get(parameters, type(parameters).normalize_name(name)) if hasattr(parameters, "normalize_name") else None
    if versions:
        return getattr(versions[-1], "tier", None)
    default = getattr(backend, "default_parameter_tier", None)
    return default if isinstance(default, str) else None


@_on("ssm", "PutParameter")
def _ssm_parameter_limits(ctx: RequestContext) -> None:
    """A Standard parameter's value is 4 KB at most (4096 characters: ``ValidationException``);
    policies are of Parameter Store's types (``InvalidPolicyTypeException``); a SecureString's
    KeyId names a KMS key by id, alias or ARN (``InvalidKeyId``). moto stored each."""
    p = ctx.params
    name, value = p.get("Name"), p.get("Value")
    if isinstance(name, str) and isinstance(value, str) and len(value) > _STANDARD_VALUE_MAX and _tier(ctx, name) == "Standard":
        raise AwsError(
            "ValidationException",
            f"Standard tier parameters support a maximum parameter value of {_STANDARD_VALUE_MAX} characters. To create a larger parameter value, "
            "upgrade the parameter to use the advanced-parameter tier. For more information, see "
            "https://docs.aws.amazon.com/systems-manager/latest/userguide/parameter-store-advanced-parameters.html",
            400,
        )
    ok, policies = _json(p.get("Policies"))
    if ok and isinstance(policies, list):
        for policy in policies:
            if isinstance(policy, dict) and isinstance(policy.get("Type"), str) and policy["Type"] not in _POLICY_TYPES:
                raise AwsError(
                    "InvalidPolicyTypeException",
                    "The policy type isn't supported. Parameter Store supports the following policy types: Expiration, ExpirationNotification, and NoChangeNotification.",
                    400,
                )
    key = p.get("KeyId")
    if p.get("Type") == "SecureString" and isinstance(key, str) and _KMS_KEY.fullmatch(key) is None:
        raise AwsError("InvalidKeyId", "The query key ID isn't valid.", 400)


@_on("ssm", "PutParameter")
def _ssm_parameter_policies(ctx: RequestContext) -> None:
    """Policies are a JSON array ("This operation takes a JSON array"; moto stored any text and
    failed on it in DescribeParameters), and only Advanced parameters have policies ("Standard
    parameters ... can't be configured to use parameter policies"): a Standard parameter with
    policies is refused. An empty array (which removes the policies) is left alone, as is a tier
    that moto's state cannot tell (Intelligent-Tiering moves a parameter with policies to
    Advanced)."""
    text = ctx.params.get("Policies")
    if not isinstance(text, str):
        return
    ok, policies = _json(text)
    if not ok or not isinstance(policies, list):
        raise AwsError("ValidationException", f"Invalid policies input: {text}", 400)
    name = ctx.params.get("Name")
    if policies and isinstance(name, str) and _tier(ctx, name) == "Standard":
        raise AwsError(
            "ValidationException",
            "Standard tier parameters don't support parameter policies. To use parameter policies, "
            "upgrade the parameter to use the advanced-parameter tier. For more information, see "
            "https://docs.aws.amazon.com/systems-manager/latest/userguide/parameter-store-advanced-parameters.html",
            400,
        )
