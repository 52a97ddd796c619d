"""SQS message semantics as SQS documents them (emulator/gateway/sqs_semantics.py and
fallback_checks_sqs.py): through the wire with boto3 against a server of the module's own.
Timeouts are short (visibility 1-2 s) so that no test waits long."""

from __future__ import annotations

import hashlib
import json
import threading
import time
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError
from fallback_probe import client

from emulator.testing.server import EmulatorServer

pytestmark = pytest.mark.usefixtures("no_unhandled_errors")


@pytest.fixture(scope="module")
def sqs(server: EmulatorServer) -> Any:
    return client(server, "sqs")


def _name(suffix: str = "") -> str:
    return f"sem-{uuid.uuid4().hex[:12]}{suffix}"


def _fifo(sqs: Any, **attributes: str) -> str:
    url: str = sqs.create_queue(QueueName=_name(".fifo"), Attributes={"FifoQueue": "true", **attributes})["QueueUrl"]
    return url


def _error(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    error = excinfo.value.response["Error"]
    return str(error["Code"]), str(error["Message"])


# ------------------------------------------------------------------ visibility and receipt handles
def test_visibility_timeout_hides_then_shows(sqs: Any) -> None:
    url = sqs.create_queue(QueueName=_name(), Attributes={"VisibilityTimeout": "1"})["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="m")
    assert len(sqs.receive_message(QueueUrl=url)["Messages"]) == 1
    assert "Messages" not in sqs.receive_message(QueueUrl=url)
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert (attributes["ApproximateNumberOfMessages"], attributes["ApproximateNumberOfMessagesNotVisible"]) == ("0", "1")
    time.sleep(1.2)
    again = sqs.receive_message(QueueUrl=url, AttributeNames=["ApproximateReceiveCount"])["Messages"][0]
    assert again["Attributes"]["ApproximateReceiveCount"] == "2"


def test_change_visibility_of_a_deleted_message(sqs: Any) -> None:
    url = sqs.create_queue(QueueName=_name())["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="m")
    handle = sqs.receive_message(QueueUrl=url)["Messages"][0]["ReceiptHandle"]
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=handle, VisibilityTimeout=0)
    handle = sqs.receive_message(QueueUrl=url)["Messages"][0]["ReceiptHandle"]
    sqs.delete_message(QueueUrl=url, ReceiptHandle=handle)
    sqs.delete_message(QueueUrl=url, ReceiptHandle=handle)  # deleting it again succeeds
    with pytest.raises(ClientError) as excinfo:
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=handle, VisibilityTimeout=5)
    assert _error(excinfo) == ("InvalidParameterValue", f"Value {handle} for parameter ReceiptHandle is invalid. Reason: Message does not exist or is not available for visibility timeout change.")
    sqs.send_message(QueueUrl=url, MessageBody="n")
    live = sqs.receive_message(QueueUrl=url)["Messages"][0]["ReceiptHandle"]
    batch = sqs.change_message_visibility_batch(QueueUrl=url, Entries=[{"Id": "gone", "ReceiptHandle": handle, "VisibilityTimeout": 5},
                                                                       {"Id": "live", "ReceiptHandle": live, "VisibilityTimeout": 5}])
    assert [e["Id"] for e in batch["Successful"]] == ["live"]
    assert [(e["Id"], e["Code"]) for e in batch["Failed"]] == [("gone", "InvalidParameterValue")]


# ------------------------------------------------------------------ redrive
def test_redrive_to_the_dead_letter_queue_after_max_receives(sqs: Any) -> None:
    dlq = sqs.create_queue(QueueName=_name())["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    policy = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 2})
    url = sqs.create_queue(QueueName=_name(), Attributes={"RedrivePolicy": policy})["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="poison")
    for _ in range(2):
        assert len(sqs.receive_message(QueueUrl=url, VisibilityTimeout=0)["Messages"]) == 1
    assert "Messages" not in sqs.receive_message(QueueUrl=url, VisibilityTimeout=0)  # moved on this receive
    assert sqs.receive_message(QueueUrl=dlq)["Messages"][0]["Body"] == "poison"


def test_redrive_policy_refuses_a_dead_letter_queue_of_the_other_type(sqs: Any) -> None:
    fifo_dlq = _fifo(sqs)
    arn = sqs.get_queue_attributes(QueueUrl=fifo_dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    url = sqs.create_queue(QueueName=_name())["QueueUrl"]
    with pytest.raises(ClientError) as excinfo:
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"RedrivePolicy": json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": 3})})
    assert _error(excinfo)[0] == "InvalidParameterValue"
    assert "RedrivePolicy" not in sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]


@pytest.mark.parametrize("allow", [{"redrivePermission": "denyAll"}, {"redrivePermission": "byQueue", "sourceQueueArns": ["arn:aws:sqs:us-east-1:000000000000:other"]}])
def test_redrive_policy_respects_the_dead_letter_queues_allow_policy(sqs: Any, allow: dict[str, Any]) -> None:
    dlq = sqs.create_queue(QueueName=_name(), Attributes={"RedriveAllowPolicy": json.dumps(allow)})["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    with pytest.raises(ClientError) as excinfo:
        sqs.create_queue(QueueName=_name(), Attributes={"RedrivePolicy": json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": 3})})
    assert _error(excinfo)[0] == "InvalidParameterValue"
    sqs.set_queue_attributes(QueueUrl=dlq, Attributes={"RedriveAllowPolicy": json.dumps({"redrivePermission": "allowAll"})})
    sqs.create_queue(QueueName=_name(), Attributes={"RedrivePolicy": json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": 3})})


# ------------------------------------------------------------------ FIFO
def test_fifo_group_order_and_a_group_blocked_while_in_flight(sqs: Any) -> None:
    url = _fifo(sqs, VisibilityTimeout="2")
    for i in range(3):
        sqs.send_message(QueueUrl=url, MessageBody=f"a{i}", MessageGroupId="A", MessageDeduplicationId=f"a{i}")
    sqs.send_message(QueueUrl=url, MessageBody="b0", MessageGroupId="B", MessageDeduplicationId="b0")
    first = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    bodies = [m["Body"] for m in first]
    assert [b for b in bodies if b.startswith("a")] == ["a0", "a1", "a2"][: len([b for b in bodies if b.startswith("a")])]
    assert "Messages" not in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)  # both groups in flight
    for message in first:
        sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    rest = [m["Body"] for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])]
    assert sorted(bodies + rest) == ["a0", "a1", "a2", "b0"]


def test_fifo_deduplication_outlives_the_message_and_answers_the_first_id(sqs: Any) -> None:
    url = _fifo(sqs)
    sent = sqs.send_message(QueueUrl=url, MessageBody="m", MessageGroupId="g", MessageDeduplicationId="d")
    handle = sqs.receive_message(QueueUrl=url)["Messages"][0]["ReceiptHandle"]
    sqs.delete_message(QueueUrl=url, ReceiptHandle=handle)
    again = sqs.send_message(QueueUrl=url, MessageBody="other", MessageGroupId="g", MessageDeduplicationId="d")
    assert (again["MessageId"], again["SequenceNumber"]) == (sent["MessageId"], sent["SequenceNumber"])
    assert again["MD5OfMessageBody"] == hashlib.md5(b"other").hexdigest()
    assert "Messages" not in sqs.receive_message(QueueUrl=url)


def test_content_based_deduplication(sqs: Any) -> None:
    url = _fifo(sqs, ContentBasedDeduplication="true")
    first = sqs.send_message(QueueUrl=url, MessageBody="same", MessageGroupId="g")
    second = sqs.send_message(QueueUrl=url, MessageBody="same", MessageGroupId="h")
    assert second["MessageId"] == first["MessageId"]
    assert len(sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]) == 1


def test_deduplication_scope_message_group(sqs: Any) -> None:
    url = _fifo(sqs, DeduplicationScope="messageGroup", FifoThroughputLimit="perMessageGroupId")
    sqs.send_message(QueueUrl=url, MessageBody="1", MessageGroupId="g", MessageDeduplicationId="d")
    sqs.send_message(QueueUrl=url, MessageBody="2", MessageGroupId="h", MessageDeduplicationId="d")
    sqs.send_message(QueueUrl=url, MessageBody="3", MessageGroupId="h", MessageDeduplicationId="d")
    assert sorted(m["Body"] for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]) == ["1", "2"]


def test_receive_request_attempt_id_answers_the_same_messages(sqs: Any) -> None:
    url = _fifo(sqs)
    for group in ("A", "B"):
        sqs.send_message(QueueUrl=url, MessageBody=group, MessageGroupId=group, MessageDeduplicationId=group)
    first = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1, ReceiveRequestAttemptId="try-1")["Messages"]
    retry = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1, ReceiveRequestAttemptId="try-1")["Messages"]
    assert [(m["MessageId"], m["ReceiptHandle"]) for m in retry] == [(m["MessageId"], m["ReceiptHandle"]) for m in first]
    other = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1, ReceiveRequestAttemptId="try-2")["Messages"]
    assert other[0]["MessageId"] != first[0]["MessageId"]


def test_fifo_refuses_a_per_message_delay(sqs: Any) -> None:
    url = _fifo(sqs)
    with pytest.raises(ClientError) as excinfo:
        sqs.send_message(QueueUrl=url, MessageBody="m", MessageGroupId="g", MessageDeduplicationId="d", DelaySeconds=1)
    assert _error(excinfo)[0] == "InvalidParameterValue"


def test_sequence_numbers_increase(sqs: Any) -> None:
    url = _fifo(sqs, ContentBasedDeduplication="true")
    numbers = [int(sqs.send_message(QueueUrl=url, MessageBody=str(i), MessageGroupId="g")["SequenceNumber"]) for i in range(3)]
    assert numbers == sorted(numbers) and len(set(numbers)) == 3


# ------------------------------------------------------------------ sizes, attributes, MD5s
def test_message_size_counts_attributes(sqs: Any) -> None:
    url = sqs.create_queue(QueueName=_name(), Attributes={"MaximumMessageSize": "1024"})["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="x" * 1024)
    with pytest.raises(ClientError) as excinfo:
        sqs.send_message(QueueUrl=url, MessageBody="x" * 1020, MessageAttributes={"k": {"DataType": "String", "StringValue": "value"}})
    assert _error(excinfo) == ("InvalidParameterValue", "One or more parameters are invalid. Reason: Message must be shorter than 1024 bytes.")
    with pytest.raises(ClientError):
        sqs.send_message(QueueUrl=url, MessageBody="é" * 600)  # 1,200 bytes in UTF-8


def test_batch_total_size(sqs: Any) -> None:
    url = sqs.create_queue(QueueName=_name())["QueueUrl"]
    entries = [{"Id": str(i), "MessageBody": "x" * 300_000, "MessageAttributes": {"k": {"DataType": "String", "StringValue": "y" * 100_000}}} for i in range(3)]
    with pytest.raises(ClientError) as excinfo:
        sqs.send_message_batch(QueueUrl=url, Entries=entries)
    assert excinfo.value.response["Error"]["Code"] == "AWS.SimpleQueueService.BatchRequestTooLong"
    assert "Messages" not in sqs.receive_message(QueueUrl=url)


def test_at_most_ten_message_attributes(sqs: Any) -> None:
    url = sqs.create_queue(QueueName=_name())["QueueUrl"]
    attributes = {f"a{i}": {"DataType": "String", "StringValue": "v"} for i in range(11)}
    with pytest.raises(ClientError) as excinfo:
        sqs.send_message(QueueUrl=url, MessageBody="m", MessageAttributes=attributes)
    assert _error(excinfo) == ("InvalidParameterValue", "Number of message attributes [11] exceeds the allowed maximum [10].")


def test_system_attributes_md5(sqs: Any) -> None:
    # botocore validates MD5OfMessageSystemAttributes when SQS answers it: a wrong one fails the call.
    url = sqs.create_queue(QueueName=_name())["QueueUrl"]
    answer = sqs.send_message(QueueUrl=url, MessageBody="m", MessageAttributes={"n": {"DataType": "Number", "StringValue": "1.5"}, "b": {"DataType": "Binary", "BinaryValue": b"\x00"}},
                              MessageSystemAttributes={"AWSTraceHeader": {"DataType": "String", "StringValue": "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1"}})
    assert len(answer["MD5OfMessageSystemAttributes"]) == 32
    assert len(answer["MD5OfMessageAttributes"]) == 32


@pytest.mark.parametrize(("params", "message"), [
    ({"MaxNumberOfMessages": 11}, "Value 11 for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10, if provided."),
    ({"MaxNumberOfMessages": 0}, "Value 0 for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10, if provided."),
    ({"WaitTimeSeconds": 21}, "Value 21 for parameter WaitTimeSeconds is invalid. Reason: Must be >= 0 and <= 20, if provided."),
])
def test_receive_bounds(sqs: Any, params: dict[str, int], message: str) -> None:
    url = sqs.create_queue(QueueName=_name())["QueueUrl"]
    with pytest.raises(ClientError) as excinfo:
        sqs.receive_message(QueueUrl=url, **params)
    assert _error(excinfo) == ("InvalidParameterValue", message)


# ------------------------------------------------------------------ delays, long polling
def test_queue_delay_and_per_message_delay(sqs: Any) -> None:
    url = sqs.create_queue(QueueName=_name(), Attributes={"DelaySeconds": "1"})["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="delayed")
    sqs.send_message(QueueUrl=url, MessageBody="now", DelaySeconds=0)
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert (attributes["ApproximateNumberOfMessages"], attributes["ApproximateNumberOfMessagesDelayed"]) == ("1", "1")
    assert [m["Body"] for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]] == ["now"]
    time.sleep(1.2)
    assert [m["Body"] for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]] == ["delayed"]


def test_long_poll_returns_when_a_message_arrives(sqs: Any) -> None:
    url = sqs.create_queue(QueueName=_name())["QueueUrl"]
    timer = threading.Timer(0.5, lambda: sqs.send_message(QueueUrl=url, MessageBody="late"))
    timer.start()
    started = time.monotonic()
    messages = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=5)["Messages"]
    timer.join()
    assert [m["Body"] for m in messages] == ["late"]
    assert time.monotonic() - started < 4


# ------------------------------------------------------------------ queues
def test_recreating_a_queue_deleted_recently(sqs: Any) -> None:
    name = _name()
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    sqs.delete_queue(QueueUrl=url)
    with pytest.raises(sqs.exceptions.QueueDeletedRecently) as excinfo:
        sqs.create_queue(QueueName=name)
    assert _error(excinfo) == ("AWS.SimpleQueueService.QueueDeletedRecently", "You must wait 60 seconds after deleting a queue before you can create another with the same name.")


def test_purge_once_a_minute(sqs: Any) -> None:
    url = sqs.create_queue(QueueName=_name())["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="m")
    sqs.purge_queue(QueueUrl=url)
    assert "Messages" not in sqs.receive_message(QueueUrl=url)
    with pytest.raises(sqs.exceptions.PurgeQueueInProgress):
        sqs.purge_queue(QueueUrl=url)


# ------------------------------------------------------------------ dead-letter queue redrive (move tasks)
def test_message_move_task_sends_messages_back_to_their_queue(sqs: Any) -> None:
    dlq = sqs.create_queue(QueueName=_name())["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    url = sqs.create_queue(QueueName=_name(), Attributes={"RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 1})})["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="poison")
    sqs.receive_message(QueueUrl=url, VisibilityTimeout=0)
    assert "Messages" not in sqs.receive_message(QueueUrl=url, VisibilityTimeout=0)  # moved to the DLQ
    handle = sqs.start_message_move_task(SourceArn=dlq_arn)["TaskHandle"]
    back = sqs.receive_message(QueueUrl=url, AttributeNames=["ApproximateReceiveCount"])["Messages"]
    assert [(m["Body"], m["Attributes"]["ApproximateReceiveCount"]) for m in back] == [("poison", "1")]
    tasks = sqs.list_message_move_tasks(SourceArn=dlq_arn)["Results"]
    assert [(t["Status"], t["ApproximateNumberOfMessagesMoved"]) for t in tasks] == [("COMPLETED", 1)]
    with pytest.raises(sqs.exceptions.ResourceNotFoundException):
        sqs.cancel_message_move_task(TaskHandle=handle)


def test_message_move_task_to_a_destination_and_from_a_queue_that_is_no_dlq(sqs: Any) -> None:
    dlq = sqs.create_queue(QueueName=_name())["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    with pytest.raises(ClientError) as excinfo:
        sqs.start_message_move_task(SourceArn=dlq_arn)
    assert _error(excinfo)[0] == "InvalidParameterValue"
    sqs.create_queue(QueueName=_name(), Attributes={"RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 1})})
    target = sqs.create_queue(QueueName=_name())["QueueUrl"]
    target_arn = sqs.get_queue_attributes(QueueUrl=target, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sqs.send_message(QueueUrl=dlq, MessageBody="parked")
    sqs.start_message_move_task(SourceArn=dlq_arn, DestinationArn=target_arn, MaxNumberOfMessagesPerSecond=10)
    assert [m["Body"] for m in sqs.receive_message(QueueUrl=target)["Messages"]] == ["parked"]
    assert "Messages" not in sqs.receive_message(QueueUrl=dlq)


# ------------------------------------------------------------------ retention (in moto itself: its minimum is 60 s)
def test_messages_past_their_retention_period_are_gone() -> None:
    from moto.sqs.models import sqs_backends

    from emulator.gateway import fallback_patches

    fallback_patches.install()
    backend = sqs_backends["123456789012"]["eu-west-3"]
    name = _name()
    queue = backend.create_queue(name, MessageRetentionPeriod="60")
    old = backend.send_message(name, "old")
    backend.send_message(name, "new")
    old.sent_timestamp -= 61_000  # sent 61 seconds ago
    counts = backend.get_queue_attributes(name, ["ApproximateNumberOfMessages"])
    assert counts["ApproximateNumberOfMessages"] == 1
    assert [m.body for m in backend.receive_message(name, 10, 0, 30)] == ["new"]
    assert old not in queue._messages


# ------------------------------------------------------------------ contents, names, dead-letter source
def test_dead_letter_queue_source_arn(sqs: Any) -> None:
    dlq = sqs.create_queue(QueueName=_name())["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    url = sqs.create_queue(QueueName=_name(), Attributes={"RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 1})})["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sqs.send_message(QueueUrl=url, MessageBody="poison")
    assert len(sqs.receive_message(QueueUrl=url, VisibilityTimeout=0)["Messages"]) == 1
    assert "Messages" not in sqs.receive_message(QueueUrl=url, VisibilityTimeout=0)
    named = sqs.receive_message(QueueUrl=dlq, MessageSystemAttributeNames=["DeadLetterQueueSourceArn"], VisibilityTimeout=0)["Messages"][0]
    assert named["Attributes"]["DeadLetterQueueSourceArn"] == arn
    every = sqs.receive_message(QueueUrl=dlq, MessageSystemAttributeNames=["All"])["Messages"][0]
    assert every["Attributes"]["DeadLetterQueueSourceArn"] == arn
    sqs.send_message(QueueUrl=url, MessageBody="fresh")
    assert "DeadLetterQueueSourceArn" not in sqs.receive_message(QueueUrl=url, MessageSystemAttributeNames=["All"])["Messages"][0]["Attributes"]


@pytest.mark.parametrize(("body", "character"), [("a\u0000b", "#x0"), ("\u001f", "#x1F"), ("x\ufffe", "#xFFFE")])
def test_a_body_with_characters_sqs_does_not_allow(sqs: Any, body: str, character: str) -> None:
    url = sqs.create_queue(QueueName=_name())["QueueUrl"]
    with pytest.raises(ClientError) as excinfo:
        sqs.send_message(QueueUrl=url, MessageBody=body)
    allowed = "#x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF"
    assert _error(excinfo) == ("InvalidMessageContents", f"Invalid binary character '{character}' was found in the message body, the set of allowed characters is {allowed}")
    sqs.send_message(QueueUrl=url, MessageBody="tab\tnew line\n\r \ud7ff\ue000\U0001f600")  # the allowed ones
    with pytest.raises(ClientError) as excinfo:
        sqs.send_message(QueueUrl=url, MessageBody="m", MessageAttributes={"a": {"DataType": "String", "StringValue": body}})
    assert _error(excinfo)[0] == "InvalidParameterValue"
    batch = sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": "good", "MessageBody": "fine"}, {"Id": "bad", "MessageBody": body}])
    assert [e["Id"] for e in batch["Successful"]] == ["good"]
    assert [(e["Id"], e["Code"], e["SenderFault"]) for e in batch["Failed"]] == [("bad", "InvalidMessageContents", True)]
    only_bad = sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": "bad", "MessageBody": body}])
    assert (only_bad.get("Successful", []), [e["Id"] for e in only_bad["Failed"]]) == ([], ["bad"])
    bodies = {m["Body"] for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]}
    assert body not in bodies and "fine" in bodies


def test_a_standard_queue_name_ending_in_fifo(sqs: Any) -> None:
    with pytest.raises(ClientError) as excinfo:
        sqs.create_queue(QueueName=_name(".fifo"))
    assert _error(excinfo) == ("InvalidParameterValue", "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length")
    with pytest.raises(ClientError):
        sqs.create_queue(QueueName=_name(".fifo"), Attributes={"FifoQueue": "false"})
    assert _fifo(sqs).endswith(".fifo")


def test_concurrent_long_polls_leave_other_requests_fast(server: EmulatorServer, sqs: Any) -> None:
    """Twelve long polls waiting at once: other requests (SQS's and SNS's) still answer at once
    (they ran on asyncio's default executor, six workers on a 2-core machine, all held)."""
    url = sqs.create_queue(QueueName=_name())["QueueUrl"]
    other = sqs.create_queue(QueueName=_name())["QueueUrl"]
    polls = [threading.Thread(target=lambda: client(server, "sqs").receive_message(QueueUrl=url, WaitTimeSeconds=3)) for _ in range(12)]
    sns = client(server, "sns")
    for poll in polls:
        poll.start()
    try:
        time.sleep(0.5)
        started = time.monotonic()
        sqs.send_message(QueueUrl=other, MessageBody="m")
        sns.list_topics()
        assert time.monotonic() - started < 1
    finally:
        for poll in polls:
            poll.join()
