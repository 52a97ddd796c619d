"""SNS's delivery to SQS as SNS does it (emulator/gateway/fallback_patches_messaging.py): through
the wire with boto3 against a server of the module's own."""

from __future__ import annotations

import hashlib
import json
import struct
import uuid
from typing import Any

import pytest
from fallback_probe import client

from emulator.testing.server import EmulatorServer

pytestmark = pytest.mark.usefixtures("no_unhandled_errors")


@pytest.fixture(scope="module")
def sqs(server: EmulatorServer) -> Any:
    return client(server, "sqs")


@pytest.fixture(scope="module")
def sns(server: EmulatorServer) -> Any:
    return client(server, "sns")


def _name(suffix: str = "") -> str:
    return f"dlv-{uuid.uuid4().hex[:12]}{suffix}"


def _queue(sqs: Any, suffix: str = "", **attributes: str) -> tuple[str, str]:
    url = sqs.create_queue(QueueName=_name(suffix), Attributes=attributes)["QueueUrl"]
    return url, sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def _attributes_md5(attributes: dict[str, dict[str, Any]]) -> str:
    """SQS's MD5 of message attributes (what the SDKs compute to check MD5OfMessageAttributes)."""
    digest = hashlib.md5()

    def add(value: bytes) -> None:
        digest.update(struct.pack("!I", len(value)) + value)

    for name in sorted(attributes):
        value = attributes[name]
        add(name.encode())
        add(value["DataType"].encode())
        if "StringValue" in value:
            digest.update(b"\x01")
            add(value["StringValue"].encode())
        else:
            digest.update(b"\x02")
            add(value["BinaryValue"])
    return digest.hexdigest()


def test_raw_delivery_of_a_binary_attribute(sns: Any, sqs: Any) -> None:
    url, arn = _queue(sqs, VisibilityTimeout="1")
    topic = sns.create_topic(Name=_name())["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"})
    sns.publish(TopicArn=topic, Message="m", MessageAttributes={
        "bin": {"DataType": "Binary", "BinaryValue": b"\x01\x02\x03\xff"},
        "text": {"DataType": "String", "StringValue": "t"},
        "n": {"DataType": "Number", "StringValue": "3"},
    })
    message = sqs.receive_message(QueueUrl=url, MessageAttributeNames=["All"])["Messages"][0]
    assert message["Body"] == "m"
    assert message["MessageAttributes"] == {
        "bin": {"DataType": "Binary", "BinaryValue": b"\x01\x02\x03\xff"},
        "text": {"DataType": "String", "StringValue": "t"},
        "n": {"DataType": "Number", "StringValue": "3"},
    }
    assert message["MD5OfMessageAttributes"] == _attributes_md5(message["MessageAttributes"])
    sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def test_envelope_keeps_a_binary_attribute_as_base64(sns: Any, sqs: Any) -> None:
    url, arn = _queue(sqs)
    topic = sns.create_topic(Name=_name())["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    sns.publish(TopicArn=topic, Message="m", MessageAttributes={"bin": {"DataType": "Binary", "BinaryValue": b"\x01\x02"}})
    envelope = json.loads(sqs.receive_message(QueueUrl=url)["Messages"][0]["Body"])
    assert envelope["MessageAttributes"] == {"bin": {"Type": "Binary", "Value": "AQI="}}


def test_fifo_topic_content_based_deduplication_supplies_the_id(sns: Any, sqs: Any) -> None:
    url, arn = _queue(sqs, ".fifo", FifoQueue="true")
    topic = sns.create_topic(Name=_name(".fifo"), Attributes={"FifoTopic": "true", "ContentBasedDeduplication": "true"})["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"})
    sns.publish(TopicArn=topic, Message="one", MessageGroupId="g")
    sns.publish(TopicArn=topic, Message="one", MessageGroupId="g")  # the same body: a duplicate
    sns.publish(TopicArn=topic, Message="two", MessageGroupId="g", MessageDeduplicationId="explicit")
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageSystemAttributeNames=["MessageDeduplicationId"])["Messages"]
    assert [m["Body"] for m in messages] == ["one", "two"]
    assert [m["Attributes"]["MessageDeduplicationId"] for m in messages] == [hashlib.sha256(b"one").hexdigest(), "explicit"]


def test_unsubscribe_url_names_the_subscription_and_this_endpoint(server: EmulatorServer, sns: Any, sqs: Any) -> None:
    url, arn = _queue(sqs)
    topic = sns.create_topic(Name=_name())["TopicArn"]
    subscription = sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, ReturnSubscriptionArn=True)["SubscriptionArn"]
    sns.publish(TopicArn=topic, Message="m")
    envelope = json.loads(sqs.receive_message(QueueUrl=url)["Messages"][0]["Body"])
    assert envelope["UnsubscribeURL"] == f"{sns.meta.endpoint_url.rstrip('/')}/?Action=Unsubscribe&SubscriptionArn={subscription}"
    sns.publish_batch(TopicArn=topic, PublishBatchRequestEntries=[{"Id": "a", "Message": "b"}])
    envelope = json.loads(sqs.receive_message(QueueUrl=url)["Messages"][0]["Body"])
    assert envelope["UnsubscribeURL"].endswith(f"SubscriptionArn={subscription}")
