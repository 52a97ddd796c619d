"""Where moto's cost grows with the state it holds for no reason of the operation's own.

SQS ``SendMessage``: moto's ``SQSBackend.send_message`` and ``Queue.add_message`` read
``queue.attributes`` for one entry, ``ContentBasedDeduplication``; that property builds every
attribute, the approximate message counts included, which walk every message of the queue
(four timestamp reads a message): ~15 µs a waiting message, 1.5 s a send with 100,000 waiting
(bench/RESULTS.md, "Saving moto's state"), persistence on or off. While moto runs those two
functions, ``Queue.attributes`` answers that entry alone, from the queue's own field, as the
full property would have. GetQueueAttributes and everything else still get the full property.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

_installed = False
_lock = threading.Lock()
_sending = threading.local()


def install() -> None:
    global _installed
    with _lock:
        if _installed:
            return
        _sqs()
        _installed = True


def _sqs() -> None:
    from moto.sqs.models import Queue, SQSBackend

    full: Any = Queue.attributes

    def attributes(self: Any) -> dict[str, Any]:
        if getattr(_sending, "on", False):
            # What the full property holds for this key: FIFO queues only, as "true"/"false".
            return {"ContentBasedDeduplication": str(bool(self.content_based_deduplication)).lower()} if self.fifo_queue else {}
        return dict(full.fget(self))

    def sending(fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            before = getattr(_sending, "on", False)
            _sending.on = True
            try:
                return fn(*args, **kwargs)
            finally:
                _sending.on = before

        return wrapper

    Queue.attributes = property(attributes)  # type: ignore[assignment,method-assign]
    SQSBackend.send_message = sending(SQSBackend.send_message)  # type: ignore[method-assign]
    Queue.add_message = sending(Queue.add_message)  # type: ignore[method-assign]
