"""Polling for tests: wait until a condition holds, bounded in time (a bound on
waiting, never a timing assertion)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def poll(predicate: Callable[[], Any], timeout: float, interval: float = 0.1) -> Any:
    """``predicate()``'s first truthy value, calling it every ``interval`` seconds;
    its last (falsy) value once ``timeout`` seconds have passed."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


def wait_for(predicate: Callable[[], Any], timeout: float = 60.0, interval: float = 0.1) -> Any:
    """Like ``poll``, but an AssertionError when the condition is not met in time."""
    value = poll(predicate, timeout, interval)
    if not value:
        raise AssertionError(f"condition not met within {timeout}s")
    return value
