"""Per-request bookkeeping in batches, off the request path.

Every answered request leaves one record, ``(ctx, response, seconds, epoch)``,
in a deque (one ``append``, atomic under the GIL). A background thread hands the
records, in batches, to the consumers that need every request: the audit log, the
access log, the telemetry and the console's request counter (each has
``consume(records)``). It wakes every ``interval`` seconds, or as soon as
``max_batch`` records wait, so a batch costs the event loop at most a few
milliseconds of shared CPU, in slices of ``sys.getswitchinterval()``.

Why: called one by one on the event loop, these four cost ~13 µs of CPU per
request, half of the chain (bench/RESULTS.md, gateway fourth round); batched,
each pays its per-call overhead once per batch and formats with cached pieces.
Consumers that must act before the next request (DynamoDB capacity charging)
stay in ``runtime.observers``, which the chain calls per request.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections import deque
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from emulator.context import RequestContext
    from emulator.protocols.base import Response

log = logging.getLogger("emulator")

SWITCH_INTERVAL = 0.0005  # seconds

# (request context, response, seconds from arrival to the answer sent, epoch seconds)
Record = tuple["RequestContext", "Response", float, float]


class Consumer(Protocol):
    def consume(self, records: list[Record]) -> None: ...


class Recorder:
    def __init__(self, interval: float = 0.05, max_batch: int = 1024) -> None:
        self.interval = interval
        self.max_batch = max_batch
        self.consumers: list[Consumer] = []
        self._buffer: deque[Record] = deque()
        self._lock = threading.Lock()  # one batch at a time, in arrival order
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._stopping = False
        self.recorded = 0

    # ------------------------------------------------------------ request path
    def add(self, ctx: RequestContext, response: Response, seconds: float) -> None:
        buf = self._buffer
        buf.append((ctx, response, seconds, time.time()))
        if len(buf) >= self.max_batch:
            self._wake.set()

    # ------------------------------------------------------------ batches
    def flush(self) -> int:
        """Hand every waiting record to the consumers now; returns how many.

        Readers call this before reading what the consumers keep (GET /metrics,
        a telemetry flush, server shutdown), so they see every answered request."""
        with self._lock:
            buf = self._buffer
            n = len(buf)
            if not n:
                return 0
            popleft = buf.popleft
            batch = [popleft() for _ in range(n)]
            self.recorded += n
            for consumer in self.consumers:
                try:
                    consumer.consume(batch)
                except Exception:  # bookkeeping never takes the server down
                    log.exception("request record consumer %r failed", consumer)
            return n

    def _run(self) -> None:
        wake = self._wake
        while not self._stopping:
            wake.wait(self.interval)
            wake.clear()
            self.flush()

    def start(self) -> None:
        # A batch holds the GIL in Python code for a few milliseconds; with CPython's default
        # 5 ms switch interval the event loop would wait that long for it (p99 latency).
        # 0.5 ms, as the DynamoDB engine's fsync thread and the inference threads use.
        if sys.getswitchinterval() > SWITCH_INTERVAL:
            sys.setswitchinterval(SWITCH_INTERVAL)
        if self._thread is None or not self._thread.is_alive():
            self._stopping = False
            self._thread = threading.Thread(target=self._run, name="request-records", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop the thread and hand over what is left (server shutdown)."""
        self._stopping = True
        self._wake.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout=10)
        self.flush()

    def remove(self, consumer: Any) -> None:
        if consumer in self.consumers:
            self.consumers.remove(consumer)

    def health(self) -> dict[str, Any]:
        return {"recorded": self.recorded, "waiting": len(self._buffer)}
