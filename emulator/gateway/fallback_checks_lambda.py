"""Lambda: requests refused as Lambda refuses them, before moto sees them
(emulator/gateway/fallback_checks_services.py has the checks of code, limits and principals). moto
published versions whatever CodeSha256 and RevisionId said, stored event filter patterns that
are not JSON, reserved any concurrency listed the versions of functions that do not exist, and "updated" code with no code given;
it created Image functions without an image and stream mappings without a starting position, and
"deleted" aliases that did not exist. Its ListFunctions ignored markers it never handed out.
The function is read from moto's state (``moto_backend``); one that cannot be read is left to
moto.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import orjson

from emulator.errors import AwsError
from emulator.gateway.fallback_checks import _on, moto_backend

if TYPE_CHECKING:
    from emulator.context import RequestContext

# A revision id (Lambda makes UUIDs).
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# An account's concurrency (Lambda's default quota), of which 100 stay unreserved.
_ACCOUNT_CONCURRENCY = 1000
_UNRESERVED_MINIMUM = 100


def _function(ctx: RequestContext) -> Any:
    """moto's function that FunctionName names (its $LATEST), None if moto has none (or the
    lookup fails: moto answers)."""
    name = ctx.params.get("FunctionName")
    backend = moto_backend(ctx, "lambda")
    if not isinstance(name, str) or backend is None:
        return None
    from moto.core.exceptions import ServiceException
    from werkzeug.exceptions import HTTPException

    try:
        return backend.get_function(name)
    except (KeyError, ServiceException, HTTPException):  # moto's UnknownFunctionException (an HTTPException) and the like
        return None


@_on("lambda", "ListVersionsByFunction")
def _lambda_versions(ctx: RequestContext) -> None:
    """Lambda: ``ResourceNotFoundException: Function not found: <arn>`` (moto listed none)."""
    name = ctx.params.get("FunctionName")
    if not isinstance(name, str) or ":" in name or moto_backend(ctx, "lambda") is None:
        return
    if _function(ctx) is None:
        import os

        account = os.environ.get("MOTO_ACCOUNT_ID") or ctx.account_id
        raise AwsError("ResourceNotFoundException", f"Function not found: arn:aws:lambda:{ctx.region}:{account}:function:{name}", 404)


@_on("lambda", "PublishVersion", "UpdateFunctionConfiguration", "UpdateFunctionCode")
def _lambda_publish_version(ctx: RequestContext) -> None:
    """CodeSha256 and RevisionId, when given, are those of $LATEST: Lambda publishes nothing
    else (``InvalidParameterValueException``, ``PreconditionFailedException``), and updates a
    function only if its RevisionId is the one given (fallback_patches_lambda keeps it)."""
    sha, revision = ctx.params.get("CodeSha256"), ctx.params.get("RevisionId")
    if sha is None and revision is None:
        return
    function = _function(ctx)
    if function is None:
        return
    current = getattr(function, "code_sha_256", None)
    if isinstance(sha, str) and isinstance(current, str) and current and sha != current:
        raise AwsError(
            "InvalidParameterValueException",
            f"CodeSHA256 ({sha}) is different from current CodeSHA256 in $LATEST ({current}). Please try again with the CodeSHA256 in $LATEST.",
            400,
        )
    latest = getattr(function, "revision_id", None)
    # A function stored before revision ids were kept has none; Lambda's are UUIDs, so another text never matches.
    if isinstance(revision, str) and (revision != latest if isinstance(latest, str) else _UUID.fullmatch(revision) is None):
        raise AwsError(
            "PreconditionFailedException",
            "The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id",
            412,
        )


@_on("lambda", "CreateEventSourceMapping", "UpdateEventSourceMapping")
def _lambda_filter_patterns(ctx: RequestContext) -> None:
    """Each filter's pattern is a JSON object (an event pattern): ``InvalidParameterValueException:
    Invalid filter pattern definition.``"""
    for event_filter in (ctx.params.get("FilterCriteria") or {}).get("Filters") or []:
        pattern = event_filter.get("Pattern") if isinstance(event_filter, dict) else None
        if not isinstance(pattern, str):
            continue
        try:
            document = orjson.loads(pattern)
        except orjson.JSONDecodeError:
            document = None
        if not isinstance(document, dict):
            raise AwsError("InvalidParameterValueException", "Invalid filter pattern definition.", 400)


@_on("lambda", "PutFunctionConcurrency")
def _lambda_concurrency(ctx: RequestContext) -> None:
    """A function reserves at most the account's concurrency less the 100 that stay
    unreserved."""
    value = ctx.params.get("ReservedConcurrentExecutions")
    if isinstance(value, int) and value > _ACCOUNT_CONCURRENCY - _UNRESERVED_MINIMUM:
        raise AwsError(
            "InvalidParameterValueException",
            f"Specified ReservedConcurrentExecutions for function decreases account's UnreservedConcurrentExecution below its minimum value of [{_UNRESERVED_MINIMUM}].",
            400,
        )


@_on("lambda", "UpdateFunctionCode")
def _lambda_code_source(ctx: RequestContext) -> None:
    """An update of code names the new code: a ZipFile, an S3Bucket and S3Key, or an ImageUri
    (moto answered 200 and changed nothing)."""
    p = ctx.params
    if not (p.get("ZipFile") or (p.get("S3Bucket") and p.get("S3Key")) or p.get("ImageUri")):
        raise AwsError("InvalidParameterValueException", "Please provide a source for function code.", 400)


@_on("lambda", "CreateFunction")
def _lambda_image_code(ctx: RequestContext) -> None:
    """A function of PackageType Image is created from a container image: its Code names an
    ImageUri (moto created an image function from a .zip archive and no image)."""
    code = ctx.params.get("Code")
    if ctx.params.get("PackageType") == "Image" and not (isinstance(code, dict) and code.get("ImageUri")):
        raise AwsError("InvalidParameterValueException", "Please provide ImageUri when creating a function with packageType Image.", 400)


# Event sources that are streams (Kinesis data streams, DynamoDB streams): CreateEventSourceMapping's
# StartingPosition is "Required for Amazon Kinesis and Amazon DynamoDB Stream event sources".
_STREAM_SOURCE = re.compile(r"arn:aws[a-z-]*:(kinesis:[^:]*:\d{12}:stream/.+|dynamodb:[^:]*:\d{12}:table/[^/]+/stream/.+)")


@_on("lambda", "CreateEventSourceMapping")
def _lambda_stream_position(ctx: RequestContext) -> None:
    """A mapping of a Kinesis or DynamoDB stream says where to start reading (moto created one
    that started nowhere)."""
    arn = ctx.params.get("EventSourceArn")
    if isinstance(arn, str) and _STREAM_SOURCE.fullmatch(arn) and not ctx.params.get("StartingPosition"):
        raise AwsError(
            "InvalidParameterValueException",
            "1 validation error detected: Value null at 'startingPosition' failed to satisfy constraint: Member must not be null.",
            400,
        )


@_on("lambda", "DeleteAlias")
def _lambda_delete_alias(ctx: RequestContext) -> None:
    """An alias that the function does not have: ``ResourceNotFoundException``, worded as
    GetAlias words it (moto deleted nothing and answered 204). A function that cannot be found
    is left to moto."""
    name, function_name = ctx.params.get("Name"), ctx.params.get("FunctionName")
    function = _function(ctx)
    function_arn = getattr(function, "function_arn", None)
    if not isinstance(name, str) or not isinstance(function_name, str) or not isinstance(function_arn, str):
        return
    backend = moto_backend(ctx, "lambda")
    from moto.awslambda.exceptions import UnknownAliasException
    from moto.core.exceptions import ServiceException
    from werkzeug.exceptions import HTTPException

    try:
        backend.get_alias(name, function_name)
    except UnknownAliasException:
        # The function's ARN without a qualifier: arn:aws:lambda:<region>:<account>:function:<name>.
        raise AwsError("ResourceNotFoundException", f"Cannot find alias arn: {':'.join(function_arn.split(':')[:7])}:{name}", 404) from None
    except (KeyError, AttributeError, ServiceException, HTTPException):  # anything else: moto answers
        return


@_on("lambda", "ListFunctions")
def _lambda_list_marker(ctx: RequestContext) -> None:
    """A Marker is "the pagination token that's returned by a previous request", and moto's
    ListFunctions hands out none (it answers every function at once, without NextMarker): any
    marker is one Lambda did not issue, ``InvalidParameterValueException``. moto ignored it and
    answered the first page again, which a client would take for more results."""
    marker = ctx.params.get("Marker")
    if isinstance(marker, str) and marker:
        raise AwsError("InvalidParameterValueException", f"Invalid pagination token: {marker}", 400)
