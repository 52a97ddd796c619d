"""The GIL hand-off between the event loop and the engines' worker threads.

A worker thread (an fsync of DynamoDB's WAL, a token generation) that wakes the event
loop, or needs the GIL back after a blocking call, waits for it until the holder
blocks or CPython's switch interval (5 ms by default) has passed. Those waits added
up to 5 ms to a durable write's latency and 2-5 ms to the time to first token
(bench/RESULTS.md: DynamoDB's group commit and the compute round). 0.5 ms caps them;
work done in C without the GIL (the fsync, the decode) is unaffected.
"""

from __future__ import annotations

import sys

SWITCH_INTERVAL = 0.0005  # seconds


def shorten_switch_interval() -> None:
    """Lower the process's switch interval to SWITCH_INTERVAL (never raise it)."""
    if sys.getswitchinterval() > SWITCH_INTERVAL:
        sys.setswitchinterval(SWITCH_INTERVAL)
