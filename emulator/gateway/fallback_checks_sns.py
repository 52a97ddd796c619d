"""SNS: requests refused as SNS refuses them, before moto sees them
(emulator/gateway/fallback_checks_services.py has the checks of topic ARNs, endpoints and policies).
moto stored topic attributes of any name, published empty messages and JSON-structured
messages without their ``default`` entry, accepted an empty batch, confirmed subscriptions with tokens it never sent, and
stored a DefaultSMSType of any value; SNS answers each with
a 400 ``InvalidParameter`` (``EmptyBatchRequest`` for the batch).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import orjson

from emulator.errors import AwsError
from emulator.gateway.fallback_checks import _on, moto_backend

if TYPE_CHECKING:
    from emulator.context import RequestContext

# The attributes a topic has that CreateTopic and SetTopicAttributes may set (the API
# reference's list: the topic's own, and the delivery status logging of each protocol).
_TOPIC_ATTRIBUTES = frozenset(
    {"DeliveryPolicy", "DisplayName", "FifoTopic", "Policy", "SignatureVersion", "TracingConfig", "KmsMasterKeyId",
     "ArchivePolicy", "ContentBasedDeduplication", "FifoThroughputScope", "DataProtectionPolicy"}
    | {f"{protocol}{kind}" for protocol in ("Application", "HTTP", "Lambda", "SQS", "Firehose")
       for kind in ("SuccessFeedbackRoleArn", "SuccessFeedbackSampleRate", "FailureFeedbackRoleArn")}
)
_SUBSCRIPTION_ARN = re.compile(r"arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[^:]+:[^:]+")


@_on("sns", "CreateTopic")
def _sns_topic_attribute_names(ctx: RequestContext) -> None:
    attributes = ctx.params.get("Attributes")
    if isinstance(attributes, dict):
        for name in attributes:
            if name not in _TOPIC_ATTRIBUTES:
                raise AwsError("InvalidParameter", f"Invalid parameter: Attributes Reason: Unknown attribute {name}", 400)


@_on("sns", "SetTopicAttributes")
def _sns_set_topic_attribute_name(ctx: RequestContext) -> None:
    name = ctx.params.get("AttributeName")
    if isinstance(name, str) and name not in _TOPIC_ATTRIBUTES:
        raise AwsError("InvalidParameter", "Invalid parameter: AttributeName", 400)


def _filter_scope(value: Any) -> None:
    if value is not None and value not in ("MessageAttributes", "MessageBody"):
        raise AwsError(
            "InvalidParameter",
            f"Invalid parameter: Attributes Reason: FilterPolicyScope: Invalid value [{value}]. Please use either MessageBody or MessageAttributes",
            400,
        )


@_on("sns", "Subscribe")
def _sns_subscribe_scope(ctx: RequestContext) -> None:
    attributes = ctx.params.get("Attributes")
    if isinstance(attributes, dict):
        _filter_scope(attributes.get("FilterPolicyScope"))


@_on("sns", "SetSubscriptionAttributes")
def _sns_set_subscription_scope(ctx: RequestContext) -> None:
    if ctx.params.get("AttributeName") == "FilterPolicyScope":
        _filter_scope(ctx.params.get("AttributeValue"))


@_on("sns", "Unsubscribe")
def _sns_unsubscribe(ctx: RequestContext) -> None:
    """A subscription's ARN is its topic's ARN and an id: SNS answers another text with
    ``InvalidParameter: Invalid parameter: SubscriptionArn``."""
    arn = ctx.params.get("SubscriptionArn")
    if isinstance(arn, str) and _SUBSCRIPTION_ARN.fullmatch(arn) is None:
        raise AwsError("InvalidParameter", "Invalid parameter: SubscriptionArn", 400)


def _message_attributes(attributes: Any) -> None:
    """Each message attribute has a value (SNS: ``ParameterValueInvalid``)."""
    if not isinstance(attributes, dict):
        return
    for name, value in attributes.items():
        if not isinstance(value, dict):
            continue
        kind = value.get("DataType")
        if not isinstance(kind, str) or kind.split(".", 1)[0] not in ("String", "Number", "Binary"):
            continue  # moto answers an unknown type
        given = value.get("BinaryValue") if kind.startswith("Binary") else value.get("StringValue")
        if given is None or given == "" or given == b"":
            raise AwsError("ParameterValueInvalid", f"The message attribute '{name}' must contain non-empty message attribute value for message attribute type '{kind}'.", 400)


def _message(message: Any, structure: Any) -> None:
    """A message is not empty; with MessageStructure ``json`` it is a JSON object with a
    ``default`` entry (the message of every protocol not named)."""
    if message == "":
        raise AwsError("InvalidParameter", "Invalid parameter: Empty message", 400)
    if structure == "json" and isinstance(message, str):
        try:
            document = orjson.loads(message)
        except orjson.JSONDecodeError:
            return  # moto answers it: Message is not valid JSON
        if isinstance(document, dict) and "default" not in document:
            raise AwsError("InvalidParameter", "Invalid parameter: Message Structure - No default entry in JSON message body", 400)


@_on("sns", "Publish")
def _sns_publish(ctx: RequestContext) -> None:
    _message(ctx.params.get("Message"), ctx.params.get("MessageStructure"))
    _message_attributes(ctx.params.get("MessageAttributes"))


@_on("sns", "PublishBatch")
def _sns_publish_batch(ctx: RequestContext) -> None:
    entries = ctx.params.get("PublishBatchRequestEntries")
    if isinstance(entries, list) and not entries:
        raise AwsError("EmptyBatchRequest", "The batch request doesn't contain any entries.", 400)
    # (An entry's own problems are that entry's failure in the answer, not the request's.)


@_on("sns", "ConfirmSubscription")
def _sns_confirm_token(ctx: RequestContext) -> None:
    """A token is one that SNS sent to the endpoint (its SubscriptionConfirmation message).
    moto sends none, so no token is one it issued: SNS answers ``InvalidParameter: Invalid
    token`` (moto confirmed nothing and answered 200). A topic that does not exist is left to
    moto (NotFound)."""
    arn, token = ctx.params.get("TopicArn"), ctx.params.get("Token")
    topics = getattr(moto_backend(ctx, "sns"), "topics", None)
    if isinstance(token, str) and isinstance(topics, dict) and arn in topics:
        raise AwsError("InvalidParameter", "Invalid token", 400)


@_on("sns", "SetSMSAttributes")
def _sns_sms_type(ctx: RequestContext) -> None:
    """DefaultSMSType is Promotional or Transactional (SetSMSAttributes: "You can assign the
    following values: Promotional ... Transactional"): ``InvalidParameter``. moto stored any."""
    attributes = ctx.params.get("attributes")
    value = attributes.get("DefaultSMSType") if isinstance(attributes, dict) else None
    if isinstance(value, str) and value not in ("Promotional", "Transactional"):
        raise AwsError("InvalidParameter", f"Invalid parameter: DefaultSMSType Reason: {value} is not one of Promotional, Transactional", 400)
