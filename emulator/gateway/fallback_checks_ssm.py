"""SSM: parameters and commands refused as Systems Manager refuses them, before moto sees them
(emulator/gateway/fallback_checks_services.py has the checks of tokens and document contents). moto
stored parameters whose names break Parameter Store's rules (characters, empty sub-paths,
more than 15 levels), values that do not match their own AllowedPattern, and sent commands of
documents that do not exist.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from emulator.errors import AwsError
from emulator.gateway.fallback_checks import _on, moto_backend

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
    if isinstance(value, str) and ctx.params.get("Type") != "StringList" and compiled.search(value) is None:
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
