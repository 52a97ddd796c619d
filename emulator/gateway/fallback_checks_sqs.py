"""SQS: messages and receive parameters refused as SQS refuses them, before moto sees them
(emulator/gateway/fallback_checks_services.py; queue attributes are checked there). moto sent a
message with an empty body, a Number attribute that is not a number, and received with a
negative visibility timeout, changed the visibility of an empty batch, tagged a queue with an
empty key and gave permissions to accounts that are not account ids; SQS answers each with a 400.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from emulator.errors import AwsError
from emulator.gateway.fallback_checks import _on

if TYPE_CHECKING:
    from emulator.context import RequestContext

# A Number attribute: SQS accepts up to 38 digits of precision, with a sign, a decimal point
# and an exponent ("Number ... can contain up to 38 digits of precision"). Leading and
# trailing spaces are not part of a number.
_NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")


def _invalid(message: str) -> AwsError:
    return AwsError("InvalidParameterValue", message, 400)


def _attributes(attributes: Any) -> None:
    """Each message attribute has a value of its type; a Number's is a number. SQS:
    ``InvalidParameterValue`` with the wording of each (moto's MessageAttributesInvalid had
    the first; it sent a Number attribute of any text)."""
    if not isinstance(attributes, dict):
        return
    if len(attributes) > 10:
        # "A message can have up to 10 metadata attributes" (moto took any number).
        raise _invalid(f"Number of message attributes [{len(attributes)}] exceeds the allowed maximum [10].")
    for name, value in attributes.items():
        if not isinstance(value, dict):
            continue
        kind = value.get("DataType")
        if not isinstance(kind, str) or not kind:
            continue  # moto answers a missing type
        base = kind.split(".", 1)[0]
        given = value.get("StringValue") if base in ("String", "Number") else value.get("BinaryValue")
        if base in ("String", "Number", "Binary") and (given is None or given == "" or given == b""):
            raise _invalid(f"The message attribute '{name}' must contain non-empty message attribute value for message attribute type '{kind}'.")
        if base == "Number" and isinstance(given, str) and _NUMBER.fullmatch(given) is None:
            raise _invalid(f"Can't cast the value of message (user) attribute '{name}' to a number.")


# The characters a message may hold (SQS: "#x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD |
# #x10000 to #x10FFFF"); a lone surrogate is none of them.
ALLOWED_CHARACTERS = "#x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF"
_NOT_ALLOWED = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def invalid_contents(body: Any, attributes: Any) -> AwsError | None:
    """The error SQS answers for a body, or a String or Number attribute's value, holding a
    character outside the allowed set (moto sent it). The body's wording is SQS's
    (``InvalidMessageContents``); the attribute's is ``InvalidParameterValue``."""
    found = _NOT_ALLOWED.search(body) if isinstance(body, str) else None
    if found is not None:
        return AwsError("InvalidMessageContents",
                        f"Invalid binary character '#x{ord(found.group()):X}' was found in the message body, the set of allowed characters is {ALLOWED_CHARACTERS}", 400)
    for name, value in (attributes.items() if isinstance(attributes, dict) else ()):
        given = value.get("StringValue") if isinstance(value, dict) else None
        found = _NOT_ALLOWED.search(given) if isinstance(given, str) else None
        if found is not None:
            return _invalid(f"Message (user) attribute '{name}' value contains invalid binary character '#x{ord(found.group()):X}'. "
                            f"You must use only the following supported characters: {ALLOWED_CHARACTERS}.")
    return None


@_on("sqs", "SendMessage")
def _sqs_send_message(ctx: RequestContext) -> None:
    """A message has a body of one character at least: SQS answers an empty one as a missing
    parameter (``MissingParameter: The request must contain the parameter MessageBody.``)."""
    if ctx.params.get("MessageBody") == "":
        raise AwsError("MissingParameter", "The request must contain the parameter MessageBody.", 400)
    _attributes(ctx.params.get("MessageAttributes"))
    error = invalid_contents(ctx.params.get("MessageBody"), ctx.params.get("MessageAttributes"))
    if error is not None:
        raise error


@_on("sqs", "SendMessageBatch")
def _sqs_send_message_batch(ctx: RequestContext) -> None:
    for entry in ctx.params.get("Entries") or []:
        if isinstance(entry, dict):
            _attributes(entry.get("MessageAttributes"))


@_on("sqs", "ChangeMessageVisibilityBatch")
def _sqs_change_visibility_batch(ctx: RequestContext) -> None:
    """A batch has one entry at least: SQS refuses an empty one as it refuses an empty
    SendMessageBatch or DeleteMessageBatch (which moto refuses; it answered an empty
    ChangeMessageVisibilityBatch with empty lists)."""
    if ctx.params.get("Entries") == []:
        raise AwsError("AWS.SimpleQueueService.EmptyBatchRequest", "There should be at least one ChangeMessageVisibilityBatchRequestEntry in the request.", 400)


@_on("sqs", "ReceiveMessage", "ChangeMessageVisibility")
def _sqs_visibility(ctx: RequestContext) -> None:
    """A visibility timeout is 0 to 43,200 seconds (12 hours); botocore's model types it as
    any integer. (The upper bound of ChangeMessageVisibility counts from when the message was
    received: moto checks it.)"""
    timeout = ctx.params.get("VisibilityTimeout")
    if isinstance(timeout, int) and not isinstance(timeout, bool) and timeout < 0:
        raise _invalid(f"Value {timeout} for parameter VisibilityTimeout is invalid. Reason: Must be between 0 and 43200, if provided.")
    if ctx.operation_name == "ReceiveMessage" and isinstance(timeout, int) and timeout > 43200:
        raise _invalid(f"Value {timeout} for parameter VisibilityTimeout is invalid. Reason: Must be between 0 and 43200, if provided.")


@_on("sqs", "ReceiveMessage")
def _sqs_receive_bounds(ctx: RequestContext) -> None:
    """MaxNumberOfMessages is 1 to 10 and WaitTimeSeconds 0 to 20, with SQS's wording (moto's
    messages repeated botocore's prefix inside them, and had the bounds of WaitTimeSeconds
    reversed and HTML-escaped)."""
    count = ctx.params.get("MaxNumberOfMessages")
    if isinstance(count, int) and not isinstance(count, bool) and not 1 <= count <= 10:
        raise _invalid(f"Value {count} for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10, if provided.")
    wait = ctx.params.get("WaitTimeSeconds")
    if isinstance(wait, int) and not isinstance(wait, bool) and not 0 <= wait <= 20:
        raise _invalid(f"Value {wait} for parameter WaitTimeSeconds is invalid. Reason: Must be >= 0 and <= 20, if provided.")


@_on("sqs", "ListQueues", "ListDeadLetterSourceQueues")
def _sqs_max_results(ctx: RequestContext) -> None:
    """MaxResults is 1 to 1,000 (botocore's model gives no range)."""
    value = ctx.params.get("MaxResults")
    if isinstance(value, int) and not 1 <= value <= 1000:
        raise _invalid(f"Value {value} for parameter MaxResults is invalid. Reason: MaxResults must be an integer between 1 and 1000.")


def _tags(tags: Any) -> None:
    """A tag's key is 1 to 128 characters, its value 256 at most (SQS: ``InvalidParameterValue``,
    the wording of UntagQueue's answer; moto tagged a new queue with an empty key)."""
    if not isinstance(tags, dict):
        return
    for key, value in tags.items():
        if not isinstance(key, str) or not 1 <= len(key) <= 128:
            raise _invalid("Tag keys must be between 1 and 128 characters in length.")
        if isinstance(value, str) and len(value) > 256:
            raise _invalid("Tag values must be between 0 and 256 characters in length.")


@_on("sqs", "CreateQueue", "TagQueue")
def _sqs_tags(ctx: RequestContext) -> None:
    _tags(ctx.params.get("tags" if ctx.operation_name == "CreateQueue" else "Tags"))


@_on("sqs", "CreateQueue")
def _sqs_fifo_name(ctx: RequestContext) -> None:
    """Only a FIFO queue's name ends with ``.fifo``: SQS refuses a standard queue of such a name
    (moto created one), here with the wording of a name it refuses."""
    name = ctx.params.get("QueueName")
    attributes = ctx.params.get("Attributes")
    fifo = attributes.get("FifoQueue") if isinstance(attributes, dict) else None
    if isinstance(name, str) and name.endswith(".fifo") and str(fifo).lower() != "true":
        raise _invalid("Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length")


_ACCOUNT = re.compile(r"\d{12}")


@_on("sqs", "AddPermission")
def _sqs_permission_accounts(ctx: RequestContext) -> None:
    """Each account a permission names is an account id (12 digits): SQS answers another with
    ``InvalidParameterValue: Value [<id>] for parameter PrincipalId is invalid. Reason: Unable
    to verify.``"""
    for account in ctx.params.get("AWSAccountIds") or []:
        if isinstance(account, str) and _ACCOUNT.fullmatch(account) is None:
            raise _invalid(f"Value [{account}] for parameter PrincipalId is invalid. Reason: Unable to verify.")
