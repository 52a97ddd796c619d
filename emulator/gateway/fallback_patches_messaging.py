"""SNS's delivery to SQS as SNS does it, fixed inside moto (installed by fallback_patches.install,
after its SQS and SNS patches, so that these wrap them):

- Raw message delivery of a Binary message attribute: SQS gets the attribute's bytes, as
  SendMessage's BinaryValue is stored. moto handed SQS the base64 text SNS had parsed, so a
  ReceiveMessage asking for the attributes failed (a 500: moto's MD5 of a str) and the message
  was never delivered.
- A FIFO topic with ContentBasedDeduplication supplies the deduplication id of what it delivers
  (SNS: "uses a SHA-256 hash to generate the message deduplication ID using the body of the
  message"); moto passed none, so a FIFO queue without ContentBasedDeduplication of its own
  refused the delivery and Publish answered 400.
- The envelope's UnsubscribeURL names the subscription and this endpoint (moto's named a fixed
  subscription id on AWS's host).
- ReceiveMessage answers a message moved to a dead-letter queue with its
  DeadLetterQueueSourceArn attribute (the queue it was moved from) when asked (by name or All).
- GetQueueAttributes knows RedriveAllowPolicy: asked by name, or in All once it is set (moto
  stored it but answered ``InvalidAttributeName`` for its name and left it out of All).
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import json
import threading
from typing import Any
from urllib.parse import quote, urlparse

_local = threading.local()


def install() -> None:
    _sns_delivery()
    _dead_letter_source()
    _redrive_allow_policy()


# ------------------------------------------------------------------ SNS -> SQS
def _as_bytes(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            return value.encode()
    return value


def _sns_delivery() -> None:
    from moto.sns.models import Subscription
    from moto.sns.responses import SNSResponse
    from moto.sqs.models import SQSBackend

    def remember_endpoint(respond: Any) -> Any:
        @functools.wraps(respond)
        def responding(self: Any) -> Any:
            parsed = urlparse(getattr(self, "uri", "") or "")
            previous = getattr(_local, "endpoint", None)
            _local.endpoint = f"{parsed.scheme}://{parsed.netloc}" if parsed.scheme and parsed.netloc else None
            try:
                return respond(self)
            finally:
                _local.endpoint = previous

        return responding

    SNSResponse.publish = remember_endpoint(SNSResponse.publish)  # type: ignore[method-assign]
    SNSResponse.publish_batch = remember_endpoint(SNSResponse.publish_batch)  # type: ignore[method-assign]

    publish = Subscription.publish

    @functools.wraps(publish)
    def publishing(self: Any, message: str, message_id: str, *args: Any, **kwargs: Any) -> None:
        topic = getattr(self, "topic", None)
        if (self.protocol == "sqs" and kwargs.get("deduplication_id") is None and topic is not None
                and topic.fifo_topic and topic.content_based_deduplication and isinstance(message, str)):
            kwargs["deduplication_id"] = hashlib.sha256(message.encode()).hexdigest()
        previous = getattr(_local, "raw", False)
        _local.raw = self.protocol == "sqs" and bool(self.attributes.get("RawMessageDelivery"))
        try:
            return publish(self, message, message_id, *args, **kwargs)
        finally:
            _local.raw = previous

    Subscription.publish = publishing  # type: ignore[method-assign]

    send_message = SQSBackend.send_message

    @functools.wraps(send_message)
    def sending(self: Any, queue_name: str, message_body: str, message_attributes: dict[str, Any] | None = None, *args: Any, **kwargs: Any) -> Any:
        if getattr(_local, "raw", False) and message_attributes:
            message_attributes = {
                name: ({**value, "BinaryValue": _as_bytes(value["BinaryValue"])} if isinstance(value, dict) and "BinaryValue" in value else value)
                for name, value in message_attributes.items()
            }
        return send_message(self, queue_name, message_body, message_attributes, *args, **kwargs)

    SQSBackend.send_message = sending  # type: ignore[method-assign]

    post_data = Subscription.get_post_data

    @functools.wraps(post_data)
    def posting(self: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        data: dict[str, Any] = post_data(self, *args, **kwargs)
        endpoint = getattr(_local, "endpoint", None)
        if endpoint:
            data["UnsubscribeURL"] = f"{endpoint}/?Action=Unsubscribe&SubscriptionArn={quote(self.arn, safe=':')}"
        return data

    Subscription.get_post_data = posting  # type: ignore[method-assign]


# ------------------------------------------------------------------ DeadLetterQueueSourceArn
def _dead_letter_source() -> None:
    from moto.sqs.responses import SQSResponse

    respond = SQSResponse.receive_message

    @functools.wraps(respond)
    def receive_response(self: Any) -> Any:
        result = respond(self)
        names = set(self._get_param("AttributeNames", []) or []) | set(self._get_param("MessageSystemAttributeNames", []) or [])
        answer = getattr(result, "_result", None)
        if not ({"All", "DeadLetterQueueSourceArn"} & names) or not isinstance(answer, dict) or not answer.get("Messages"):
            return result
        queue = self.sqs_backend.get_queue(self._get_queue_name())
        sources = {m.id: getattr(m, "_emulator_source_arn", None) for m in list(queue._messages)}
        for msg in answer["Messages"]:
            source = sources.get(msg.get("MessageId"))
            if source and source != queue.queue_arn:  # (not one moved back to its source)
                msg.setdefault("Attributes", {})["DeadLetterQueueSourceArn"] = source
        return result

    SQSResponse.receive_message = receive_response  # type: ignore[method-assign]


# ------------------------------------------------------------------ RedriveAllowPolicy
def _redrive_allow_policy() -> None:
    """CreateQueue and SetQueueAttributes keep a RedriveAllowPolicy (moto's ``_set_attributes``
    sets ``redrive_allow_policy``), but moto's queue attributes (Queue.BASE_ATTRIBUTES) lack
    it: GetQueueAttributes answered ``400 InvalidAttributeName: Unknown Attribute
    RedriveAllowPolicy.`` when asked for it and All left it out. SQS answers the policy's JSON,
    by name and in All, once it is set (an empty value removes it)."""
    from moto.sqs.models import Queue, SQSBackend

    name = "RedriveAllowPolicy"
    attributes = Queue.attributes

    def with_policy(self: Any) -> dict[str, Any]:
        result: dict[str, Any] = attributes.fget(self)  # type: ignore[attr-defined]
        policy = getattr(self, "redrive_allow_policy", None)
        if policy:
            result[name] = policy if isinstance(policy, str) else json.dumps(policy)
        return result

    Queue.attributes = property(with_policy)  # type: ignore[method-assign,assignment]

    get_attributes = SQSBackend.get_queue_attributes

    @functools.wraps(get_attributes)
    def reading(self: Any, queue_name: str, attribute_names: list[str], *args: Any, **kwargs: Any) -> dict[str, Any]:
        if not attribute_names or name not in attribute_names:
            return get_attributes(self, queue_name, attribute_names, *args, **kwargs)
        others = [n for n in attribute_names if n != name]
        result: dict[str, Any] = get_attributes(self, queue_name, others, *args, **kwargs) if others else {}
        if not others:
            self.get_queue(queue_name)  # QueueDoesNotExist
        policy = self.get_queue(queue_name).attributes.get(name)
        if policy is not None:
            result[name] = policy
        return result

    SQSBackend.get_queue_attributes = reading  # type: ignore[method-assign]
