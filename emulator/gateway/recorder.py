"""Per-request bookkeeping in batches, off the request path.

Every answered request leaves one record, ``(ctx, response, seconds, epoch)``,
in a deque (one ``append``). Every ``interval`` seconds the event loop hands the
records, as one batch, to the consumers that need every request: the audit log,
the access log, the telemetry and the console's request counter (each has
``consume(records)``). Other threads (the monitoring thread's telemetry flush,
GET /metrics) call ``flush()`` to hand over what waits before they read.

Why batches: called one by one, these four cost ~17 µs of CPU per request over
the wire, a quarter of the chain; batched, each pays its per-call overhead once
per batch and formats with cached pieces (bench/RESULTS.md, gateway fourth round).
Why on the loop and not a thread: the audit log's SQLite inserts release the GIL
for every row, and a thread contending with the loop for the GIL then pays two
hand-offs per row (~6 µs per request measured); the batches are small enough
(``interval`` 20 ms: a few hundred records, ~2 ms) not to show in p99 latency.
Consumers that must act before the next request (DynamoDB capacity charging)
stay in ``runtime.observers``, which the chain calls per request.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import deque
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from emulator.context import RequestContext
    from emulator.protocols.base import Response

log = logging.getLogger("emulator")

# (request context, response, seconds from arrival to the answer sent, epoch seconds)
Record = tuple["RequestContext", "Response", float, float]


class Consumer(Protocol):
    def consume(self, records: list[Record]) -> None: ...


class Recorder:
    def __init__(self, interval: float = 0.02, max_batch: int = 256) -> None:
        self.interval = interval
        self.max_batch = max_batch
        self.consumers: list[Consumer] = []
        self._buffer: deque[Record] = deque()
        self._lock = threading.Lock()  # one batch at a time, in arrival order
        self._timer: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.recorded = 0

    # ------------------------------------------------------------ request path
    def add(self, ctx: RequestContext, response: Response, seconds: float) -> None:
        buf = self._buffer
        buf.append((ctx, response, seconds, time.time()))
        if len(buf) >= self.max_batch:
            self.flush()

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

    def hand(self, consumer: Consumer, records: list[Record]) -> None:
        """Hand ``records`` to ``consumer`` alone, now, in turn with the batches (under their
        lock, so never while another thread's flush runs it): in-process calls
        (``EmulatorApp.invoke``, the console's) reach the audit log this way."""
        with self._lock:
            try:
                consumer.consume(records)
            except Exception:  # bookkeeping never takes the server down
                log.exception("request record consumer %r failed", consumer)

    def _tick(self) -> None:
        loop = self._loop
        if loop is None:
            return
        # Another thread flushing (telemetry drain): it hands these over; skip this tick.
        if self._lock.acquire(blocking=False):
            self._lock.release()
            self.flush()
        self._timer = loop.call_later(self.interval, self._tick)

    def start(self) -> None:
        """Start handing over batches from the running event loop (server startup)."""
        self._loop = asyncio.get_running_loop()
        if self._timer is None:
            self._timer = self._loop.call_later(self.interval, self._tick)

    def stop(self) -> None:
        """Stop the timer and hand over what is left (server shutdown)."""
        self._loop = None
        timer, self._timer = self._timer, None
        if timer is not None:
            timer.cancel()
        self.flush()

    def remove(self, consumer: Any) -> None:
        if consumer in self.consumers:
            self.consumers.remove(consumer)

    def health(self) -> dict[str, Any]:
        return {"recorded": self.recorded, "waiting": len(self._buffer)}
