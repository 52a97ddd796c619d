"""emulator/gateway/fallback_speed.py: moto's SendMessage no longer walks the queue, and what
it answers is unchanged (FIFO content-based deduplication, the attributes)."""

from __future__ import annotations

from typing import Any

import pytest

from emulator.gateway import fallback_speed
from emulator.testing.server import EmulatorServer


@pytest.fixture(scope="module")
def server() -> Any:
    with EmulatorServer(extra_args=["--services", "dynamodb"]) as srv:
        yield srv


def test_send_does_not_count_the_queue(monkeypatch: pytest.MonkeyPatch) -> None:
    """In process: while a message is sent, the queue's message counts (a walk over every
    message) are not computed; GetQueueAttributes still computes them."""
    from moto.sqs.models import Queue, sqs_backends

    fallback_speed.install()
    backend = sqs_backends["123456789012"]["eu-west-3"]
    backend.create_queue("speed-std")
    backend.create_queue("speed.fifo", FifoQueue="true", ContentBasedDeduplication="true")
    counted: list[str] = []
    original = Queue.approximate_number_of_messages

    def counting(self: Any) -> Any:
        counted.append(self.name)
        return original.fget(self)  # type: ignore[attr-defined]

    monkeypatch.setattr(Queue, "approximate_number_of_messages", property(counting))
    backend.send_message("speed-std", "a")
    backend.send_message("speed.fifo", "a", group_id="g")
    assert counted == []
    assert backend.get_queue("speed-std").attributes["ApproximateNumberOfMessages"] == 1
    assert counted == ["speed-std"]


def test_fifo_content_deduplication_and_attributes_unchanged(server: EmulatorServer) -> None:
    sqs = server.client("sqs")
    fifo = sqs.create_queue(QueueName="dedup.fifo", Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"})["QueueUrl"]
    plain = sqs.create_queue(QueueName="plain.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    std = sqs.create_queue(QueueName="std")["QueueUrl"]
    sqs.send_message(QueueUrl=fifo, MessageBody="same", MessageGroupId="g")
    sqs.send_message(QueueUrl=fifo, MessageBody="same", MessageGroupId="g")  # a duplicate: answered, not queued
    with pytest.raises(sqs.exceptions.ClientError) as info:
        sqs.send_message(QueueUrl=plain, MessageBody="x", MessageGroupId="g")  # no dedup id, no content dedup
    assert info.value.response["Error"]["Code"] == "InvalidParameterValue"
    for _ in range(3):
        sqs.send_message(QueueUrl=std, MessageBody="same")
    counts = {
        url: sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        for url in (fifo, std)
    }
    assert counts[fifo]["ApproximateNumberOfMessages"] == "1"  # the duplicate was dropped
    assert counts[fifo]["ContentBasedDeduplication"] == "true"
    assert counts[std]["ApproximateNumberOfMessages"] == "3"
    assert "ContentBasedDeduplication" not in counts[std]
