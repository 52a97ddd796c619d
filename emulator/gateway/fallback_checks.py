"""Bad input that moto does not expect, refused as AWS refuses it, before moto sees it.

moto serves every service that has no native handler (emulator/gateway/fallback.py) and assumes
well-formed input: a policy that is not JSON, a pagination token it did not hand out, a template
without ``Resources``... raise inside it, which the gateway can only answer with ``500
InternalFailure`` (that the SDKs retry), sometimes after moto changed half of its state. AWS
answers each with a 4xx and changes nothing. Three layers refuse such requests first:

1. ``validate``: the botocore-shape constraints (lengths, patterns, enums, ranges, required
   members), which AWS's front ends check for every operation, with the native services'
   validator and wording (emulator/gateway/validation.py), for every protocol but rest-xml:
   S3 words its errors its own way and Route 53 checks XML bodies against a schema
   (``Invalid XML ; cvc-...``), so for them only the checks below apply;
2. ``check``: per-operation checks of content (``CHECKS``), each citing AWS's behaviour. They
   also refuse what moto would silently *accept* but AWS refuses (a policy that is not JSON, a
   state machine definition that is not valid States Language, a lifecycle rule with negative
   days), which a user would otherwise learn only when deploying to AWS. The checks live in
   modules registering into ``CHECKS`` (with ``_on``) when imported (the end of this module):
   services with many checks have a module of their own, fallback_checks_<service>.py (S3,
   Step Functions, Route 53, SQS, SNS, SSM, KMS, EventBridge, Kinesis, Lambda, CloudFormation,
   Organizations, Secrets Manager, ECR), and fallback_checks_services.py has the others' (and the
   first checks of some of those: SQS queue attributes, SNS topic ARNs...). This module keeps
   the registry, the shape validation and the helpers the checks share. Where only moto's state tells
   (a key that is disabled, a caller reference already used), a check reads it
   (``moto_backend``) and refuses only what it finds wrong: a lookup that fails leaves the
   request to moto;
3. emulator/gateway/fallback_patches.py: where only moto's state can tell (an upload id, a
   change set's name, whether the bucket whose policy is put exists: S3's MalformedPolicy
   checks are there), moto's own function is wrapped to raise AWS's error before it fails.

An operation that moto does not implement and that reads no state may be answered instead
(``ANSWERS``, ``answers``, ``answer``: ValidateStateMachineDefinition, with CreateStateMachine's checks).

A check never refuses what AWS accepts: where moto fails on *valid* input, that is a bug of
moto, fixed (or reported) in fallback_patches.py, not hidden here as a 4xx.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import orjson

from emulator.errors import AwsError

if TYPE_CHECKING:
    from emulator.context import RequestContext
    from emulator.protocols.base import Protocol

log = logging.getLogger(__name__)

Check = Callable[["RequestContext"], None]
# (botocore service name, operation) -> its checks, in order.
CHECKS: dict[tuple[str, str], list[Check]] = {}


Answer = Callable[["RequestContext"], dict[str, Any]]
# (botocore service name, operation) -> the function that answers it: operations that moto does
# not implement and that read no state (ValidateStateMachineDefinition), answered with the
# same checks as the operations they mirror. Returns the operation's output.
ANSWERS: dict[tuple[str, str], Answer] = {}


def _on(service: str, *operations: str) -> Callable[[Check], Check]:
    def register(fn: Check) -> Check:
        for operation in operations:
            CHECKS.setdefault((service, operation), []).append(fn)
        return fn

    return register


def answers(service: str, operation: str) -> Callable[[Answer], Answer]:
    def register(fn: Answer) -> Answer:
        ANSWERS[(service, operation)] = fn
        return fn

    return register


# ------------------------------------------------------------------ the chain's steps
def validate(ctx: RequestContext, protocol: Protocol, validator: Callable[[RequestContext], None] | None) -> None:
    """Parse a moto-served request into ``ctx.params`` and check it against its input shape
    (``validator``: the chain's, None when validation is off). S3 is not parsed here (its
    resources come from the request line: s3_policy.request_params; its checks read what they
    need). A request the parser refuses gets the parser's AWS error; one it fails on otherwise
    (a parser bug) is left to moto, as the authorizer does."""
    if ctx.operation is None or ctx.service_name == "s3":
        return
    if protocol.name == "json":
        ctx.params = protocol.parse(ctx.request, ctx.operation)
    else:
        try:
            ctx.params = protocol.parse(ctx.request, ctx.operation)
        except AwsError:
            if protocol.name != "rest-xml":
                raise
            return  # not validated here (see the module's doc): moto answers a body it cannot read
        except Exception:  # a request our parser cannot read: moto answers it
            log.debug("could not parse %s.%s; left to moto", ctx.service_name, ctx.operation_name, exc_info=True)
            return
    if validator is None or protocol.name == "rest-xml" or _ambiguous(ctx.service_name or ""):
        return
    params = ctx.params
    loosened = _without_wider_values(ctx)
    if loosened is not None:
        ctx.params = loosened  # only for the shape check: moto gets what the caller sent
    try:
        validator(ctx)
    except AwsError as err:
        raise _service_code(ctx, err) from None
    finally:
        ctx.params = params


# Members whose botocore enum is narrower than what the service accepts, and the member whose
# enum has the other values. SQS ReceiveMessage's AttributeNames (deprecated for
# MessageSystemAttributeNames) is typed QueueAttributeName in the model, yet its documentation
# lists the message system attributes and SQS returns them: the AWS CLI's
# `receive-message --attribute-names SentTimestamp` and SQS's own boto3 examples send them.
_WIDER_ENUMS: dict[tuple[str, str], dict[str, str]] = {
    ("sqs", "ReceiveMessage"): {"AttributeNames": "MessageSystemAttributeNames"},
}


def _without_wider_values(ctx: RequestContext) -> dict[str, Any] | None:
    """The request's parameters without the values of ``_WIDER_ENUMS`` that the shape check
    would refuse but the service accepts, else None (nothing to leave out)."""
    wider = _WIDER_ENUMS.get((ctx.service_name or "", ctx.operation_name or ""))
    if wider is None or ctx.operation is None or ctx.operation.input_shape is None or not isinstance(ctx.params, dict):
        return None
    members = ctx.operation.input_shape.members
    params: dict[str, Any] | None = None
    for name, source in wider.items():
        values = ctx.params.get(name)
        shape = members.get(source)
        item = getattr(shape, "member", None)
        if not isinstance(values, list) or item is None or not item.enum:
            continue
        accepted = frozenset(item.enum)
        kept = [value for value in values if value not in accepted]
        if len(kept) != len(values):
            params = dict(ctx.params) if params is None else params
            params[name] = kept
    return params


@functools.cache
def _ambiguous(service: str) -> bool:
    """Whether a query service shares its signing name and API version with another, so that a
    request does not tell which it is for (RDS, DocumentDB and Neptune: "rds", 2014-10-31; the
    gateway names them RDS, and DocumentDB's CreateDBInstance requires what RDS's does not): its
    requests are not checked against a shape that may not be theirs."""
    from emulator import services

    info = services.index().by_name.get(service)
    if info is None or not (info.protocol in ("query", "ec2") or "query" in info.protocols):
        return False
    peers = [i for i in services.index().by_signing_name.get(info.signing_name, []) if i.api_version == info.api_version and i.name != service]
    return any(i.protocol in ("query", "ec2") or "query" in i.protocols for i in peers)


def _service_code(ctx: RequestContext, err: AwsError) -> AwsError:
    """A REST-JSON service whose front end names its validation error otherwise (API Gateway's
    ``BadRequestException``: its models list no ValidationException) gets its own code."""
    if err.code != "ValidationException" or ctx.protocol != "rest-json" or ctx.operation is None:
        return err
    names = {shape.name for shape in ctx.operation.error_shapes}
    if "ValidationException" not in names and "BadRequestException" in names:
        err.code = "BadRequestException"
    return err


def check(ctx: RequestContext) -> None:
    """The checks of the request's operation (after authorization: a caller who may not call
    it learns nothing of its content). Raises AwsError."""
    found = CHECKS.get((ctx.service_name or "", ctx.operation_name or ""))
    if found is not None:
        for fn in found:
            fn(ctx)


def answer(ctx: RequestContext) -> dict[str, Any] | None:
    """The output of an operation answered here instead of by moto (``ANSWERS``), else None."""
    fn = ANSWERS.get((ctx.service_name or "", ctx.operation_name or ""))
    return None if fn is None else fn(ctx)


# ------------------------------------------------------------------ helpers
def _json(text: Any) -> tuple[bool, Any]:
    """(parsed?, value) of a JSON text."""
    if not isinstance(text, str | bytes):
        return False, None
    try:
        return True, orjson.loads(text)
    except orjson.JSONDecodeError:
        return False, None


def _digits(token: Any) -> bool:
    return isinstance(token, str) and token.isascii() and token.isdigit()


def _integer(value: Any) -> int | None:
    """An attribute's integer value (a string of digits, maybe signed), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"\s*[-+]?\d{1,18}\s*", value):
        return int(value)
    return None


def _policy_problem(text: Any, principal: bool) -> str | None:
    """Why a policy document (JSON text, IAM's grammar) cannot be one, else None: it is a JSON
    object whose Statement (an object or a non-empty list of them) has statements with an
    Effect of Allow or Deny, an Action (or NotAction) and, in a resource-based policy
    (``principal``), a Principal (or NotPrincipal)."""
    ok, document = _json(text)
    if not ok:
        return "The policy is not valid JSON."
    if not isinstance(document, dict):
        return "The policy must be a JSON object."
    statements = document.get("Statement")
    if isinstance(statements, dict):
        statements = [statements]
    if not isinstance(statements, list) or not statements:
        return "The policy must contain at least one Statement."
    for statement in statements:
        if not isinstance(statement, dict):
            return "Each Statement must be a JSON object."
        if statement.get("Effect") not in ("Allow", "Deny"):
            return "The Effect of a Statement must be Allow or Deny."
        if "Action" not in statement and "NotAction" not in statement:
            return "A Statement must contain an Action or NotAction."
        if principal and "Principal" not in statement and "NotPrincipal" not in statement:
            return "A Statement must contain a Principal or NotPrincipal."
    return None


def moto_backend(ctx: RequestContext, service: str, region: str | None = None, account: str | None = None) -> Any:
    """moto's backend of ``service`` for the request's account and region (or those an ARN
    names), to check a reference against moto's state before moto sees the request; None when
    moto has none there (the check then leaves the request to moto). Only read, never changed."""
    import os

    from moto.backends import get_backend

    try:
        return get_backend(service)[account or os.environ.get("MOTO_ACCOUNT_ID") or ctx.account_id][region or ctx.region]  # type: ignore[call-overload]
    except (KeyError, ValueError):
        return None


def _next_token(code: str, message: str) -> Check:
    """A check that the request's NextToken is one moto hands out (a decimal offset): AWS
    answers a token it did not issue with the service's invalid-token error."""

    def check_token(ctx: RequestContext) -> None:
        token = ctx.params.get("NextToken")
        if token is not None and token != "" and not _digits(token):
            raise AwsError(code, message, 400)

    return check_token


@functools.cache
def _regions(service: str) -> frozenset[str]:
    """The regions of every partition where ``service`` is (those moto makes backends for:
    moto.core.base_backend.AccountSpecificBackend._generate_regions)."""
    from moto.core.base_backend import AccountSpecificBackend

    session = AccountSpecificBackend.get_session()
    return frozenset(r for partition in session.get_available_partitions() for r in session.get_available_regions(service, partition_name=partition))


# The per-operation checks, registered when their module is imported: first those of the
# services without a module of their own (fallback_checks_services.py: its checks come first in
# an operation's list, so it is kept apart from the sorted list below), then the services' own.
from emulator.gateway import fallback_checks_services  # noqa: F401, I001
from emulator.gateway import (  # noqa: F401
    fallback_checks_cloudformation,
    fallback_checks_ecr,
    fallback_checks_events,
    fallback_checks_kinesis,
    fallback_checks_kms,
    fallback_checks_lambda,
    fallback_checks_organizations,
    fallback_checks_route53,
    fallback_checks_s3,
    fallback_checks_secretsmanager,
    fallback_checks_sns,
    fallback_checks_sqs,
    fallback_checks_ssm,
    fallback_checks_stepfunctions,
)
