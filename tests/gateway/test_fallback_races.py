"""emulator/gateway/fallback_patches.py: moto state read while another request changes it.

moto calls run on worker threads, a long-poll ReceiveMessage outside the package's lock
(fallback_locking.lock_set). These tests replay, in one thread, the interleavings that failed
under load (a 500 "Set changed size during iteration" in a soak of mixed SQS traffic)."""

from __future__ import annotations

from typing import Any

from emulator.gateway import fallback_patches


class _Message:
    """Stands for moto's Message: reading its group is when the other thread ran."""

    def __init__(self, group: str | None, pending: set[Any] | None = None, victim: Any = None) -> None:
        self._group, self._pending, self._victim = group, pending, victim

    @property
    def group_id(self) -> str | None:
        if self._pending is not None:
            self._pending.discard(self._victim)  # another request deletes an in-flight message
        return self._group


def test_pending_groups_while_a_message_is_deleted() -> None:
    fallback_patches.install()
    from moto.sqs.models import sqs_backends

    queue = sqs_backends["123456789012"]["eu-west-2"].create_queue("races.fifo", FifoQueue="true", ContentBasedDeduplication="true")
    pending: set[Any] = set()
    first, second = _Message("a"), _Message("b")
    pending |= {first, second}
    # Whichever is read first deletes the other: the live set changes size mid-walk.
    first._pending, first._victim = pending, second
    second._pending, second._victim = pending, first
    queue._pending_messages = pending
    assert queue.pending_message_groups == {"a", "b"}  # the groups in flight when the receive began
    assert not pending  # each read deleted the other one


def test_pending_groups_leave_out_messages_without_a_group() -> None:
    fallback_patches.install()
    from moto.sqs.models import sqs_backends

    queue = sqs_backends["123456789012"]["eu-west-2"].create_queue("races-std")
    queue._pending_messages = {_Message(None), _Message("g")}
    assert queue.pending_message_groups == {"g"}
