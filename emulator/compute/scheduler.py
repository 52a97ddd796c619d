"""Per-instance scheduling: a fixed number of parallel slots and a bounded FIFO queue.

A request takes a free slot or waits in the queue; a full queue is refused at
once (ThrottlingException / HTTP 429 with Retry-After), and no request waits
longer than the configured timeout. Generation runs in the instance's worker
threads and streams tokens back to the event loop; when the consumer goes away
(client disconnect: the async generator is closed) the worker stops at the next
token and the slot is freed.
"""

from __future__ import annotations

import asyncio
import collections
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from emulator.compute.engines.base import (
    ACCEPTED,
    Chunk,
    Engine,
    EngineError,
    GenParams,
)
from emulator.threads import shorten_switch_interval


class QueueFull(Exception):
    def __init__(self, retry_after: float) -> None:
        super().__init__("queue full")
        self.retry_after = retry_after


class QueueTimeout(Exception):
    """Waited for a slot longer than the request timeout."""


class GenerationTimeout(Exception):
    """The generation itself outran the request timeout."""


_END = object()

_HANDOFF_WAIT = 0.05  # seconds a generation thread waits for the loop to take its first chunk


class ChunkStream:
    """The chunks of one generation. Closing it (or exhausting it) cancels the worker.

    A class rather than an async generator: closing a generator that never
    started would skip its ``finally``, and the slot would stay busy.
    """

    def __init__(self, first: Any, next_item: Callable[[], Awaitable[Any]], cancel: threading.Event,
                 handed: threading.Event | None = None) -> None:
        self._pending: Any = first
        self._next = next_item
        self._cancel = cancel
        self._handed = handed
        self._delivered = 0
        self._done = False

    def __aiter__(self) -> ChunkStream:
        return self

    async def __anext__(self) -> Chunk:
        if self._done:
            raise StopAsyncIteration
        try:
            if self._pending is not None:
                item, self._pending = self._pending, None
            else:
                if self._delivered and self._handed is not None:
                    # The consumer asks for the second chunk: the first one has been sent.
                    self._handed.set()
                item = await self._next()
                while item is ACCEPTED:
                    item = await self._next()
        except BaseException:
            await self.aclose()
            raise
        if item is _END:
            await self.aclose()
            raise StopAsyncIteration
        self._delivered += 1
        return item  # type: ignore[no-any-return]

    async def aclose(self) -> None:
        self._done = True
        self._cancel.set()
        if self._handed is not None:
            self._handed.set()


class SlotPool:
    def __init__(self, slots: int, queue_max: int, timeout: float) -> None:
        self.slots = max(1, slots)
        self.queue_max = max(0, queue_max)
        self.timeout = timeout
        self._free: collections.deque[int] = collections.deque(range(self.slots))
        self._waiters: collections.deque[asyncio.Future[int]] = collections.deque()
        self.completed = 0
        self.rejected = 0
        self.cancelled = 0  # generations stopped early because their client went away
        self.busy_seconds = 0.0
        self._avg_seconds = 1.0

    @property
    def in_use(self) -> int:
        return self.slots - len(self._free)

    @property
    def waiting(self) -> int:
        return sum(1 for w in self._waiters if not w.done())

    def retry_after(self) -> float:
        # Time for the queue ahead to drain through the slots, from the running average.
        return max(1.0, round(self._avg_seconds * (self.waiting + 1) / self.slots, 1))

    async def acquire(self) -> int:
        if self._free and not self.waiting:
            return self._free.pop()  # most recently used first: its KV cache likely shares the prompt prefix
        if self.waiting >= self.queue_max:
            self.rejected += 1
            raise QueueFull(self.retry_after())
        fut: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._waiters.append(fut)
        try:
            return await asyncio.wait_for(asyncio.shield(fut), self.timeout)
        except (TimeoutError, asyncio.CancelledError) as exc:
            if fut.done() and not fut.cancelled():
                self.release(fut.result())  # granted just as we gave up: hand it on
            else:
                fut.cancel()
            try:
                self._waiters.remove(fut)
            except ValueError:
                pass
            if isinstance(exc, asyncio.TimeoutError):
                raise QueueTimeout() from None
            raise

    def count_cancelled(self) -> None:
        self.cancelled += 1

    def close(self, error: Callable[[], BaseException]) -> None:
        """Fail every queued request with a new ``error()``: their instance is gone, no slot will come."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_exception(error())

    def release(self, slot: int, seconds: float | None = None) -> None:
        if seconds is not None:
            self.completed += 1
            self.busy_seconds += seconds
            self._avg_seconds = 0.8 * self._avg_seconds + 0.2 * seconds
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(slot)
                return
        self._free.append(slot)

    def health(self) -> dict[str, Any]:
        return {"slots": self.slots, "in_use": self.in_use, "queued": self.waiting, "queue_max": self.queue_max,
                "completed": self.completed, "rejected": self.rejected, "cancelled": self.cancelled}


class Scheduler:
    """One per serving instance: its engine, slots and worker threads."""

    def __init__(self, engine: Engine, queue_max: int, timeout: float, name: str = "") -> None:
        self.engine = engine
        self.pool = SlotPool(engine.slots, queue_max, timeout)
        self.timeout = timeout
        self.name = name
        self.executor = ThreadPoolExecutor(max_workers=engine.slots + 1, thread_name_prefix=f"infer-{name}")
        shorten_switch_interval()
        self.last_used = time.time()
        self.active = 0
        self._cancels: set[threading.Event] = set()
        self.closed = False  # set by shutdown(): the instance stopped, requests in flight end with gone()

    def gone(self) -> EngineError:
        """The error of a request whose instance stopped, terminated or was reset under it: an
        error, not a truncated answer that would look complete, and never a wait for a timeout."""
        return EngineError(f"Instance {self.name or 'of the model'} was stopped or terminated before the request finished.", 503)

    async def stream(self, prompt: str | None, messages: list[dict[str, Any]] | None, params: GenParams) -> AsyncIterator[Chunk]:
        """Take a slot, start generating and wait for the first chunk (or the engine's
        ACCEPTED), then return the chunk iterator.

        Everything that can be refused (QueueFull, QueueTimeout, an EngineError for a
        too-long prompt, GenerationTimeout before the engine accepted) is raised here,
        before a streaming response has sent its headers.
        """
        started = time.monotonic()
        self.last_used = time.time()
        if self.closed:
            raise self.gone()
        slot = await self.pool.acquire()
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Any] = asyncio.Queue()
        cancel = threading.Event()
        self._cancels.add(cancel)
        self.active += 1
        began = time.monotonic()

        def finished() -> None:
            self._cancels.discard(cancel)
            self.active -= 1
            self.last_used = time.time()
            self.pool.release(slot, time.monotonic() - began)

        # Set once the consumer has sent the first chunk on and asks for the next (see work()).
        handed = threading.Event()

        def work() -> None:
            first = True
            try:
                for chunk in self.engine.generate(slot, prompt, messages, params, cancel):
                    if chunk is ACCEPTED:
                        loop.call_soon_threadsafe(queue.put_nowait, chunk)
                        continue
                    if chunk.finish_reason == "cancelled":
                        if self.closed:
                            # Cancelled by shutdown(), not by the client: the request fails.
                            loop.call_soon_threadsafe(queue.put_nowait, self.gone())
                            return
                        loop.call_soon_threadsafe(self.pool.count_cancelled)
                    loop.call_soon_threadsafe(queue.put_nowait, chunk)
                    if first:
                        # Time to first token: let the event loop have the GIL (and, on a
                        # busy host, the core) to send the first token before this thread
                        # computes the next one; measured, the two otherwise contend and
                        # the first token's delivery waits 1-6 ms. Bounded, so it can never hang.
                        first = False
                        handed.wait(_HANDOFF_WAIT)
            except BaseException as exc:  # noqa: BLE001 - handed to the consumer and raised there
                loop.call_soon_threadsafe(queue.put_nowait, exc)
            finally:
                # The slot is freed by the worker, so a consumer that vanished without
                # closing the generator cannot leak it. One callback, slot first: two
                # callbacks could run in different loop iterations, and a consumer that saw
                # _END would find its slot still taken (health, the next request's queueing).
                loop.call_soon_threadsafe(_finish, queue)

        def _finish(q: asyncio.Queue[Any]) -> None:
            finished()
            q.put_nowait(_END)

        def dropped(future: Any) -> None:
            # shutdown() cancels work not yet started: its finally never runs, so end it here.
            if future.cancelled() and not loop.is_closed():
                loop.call_soon_threadsafe(queue.put_nowait, self.gone())
                loop.call_soon_threadsafe(_finish, queue)

        try:
            self.executor.submit(work).add_done_callback(dropped)
        except RuntimeError:  # executor shut down (instance stopping)
            finished()
            raise self.gone() from None

        async def next_item() -> Any:
            remaining = self.timeout - (time.monotonic() - started)
            if remaining <= 0:
                raise GenerationTimeout()
            try:
                item = await asyncio.wait_for(queue.get(), remaining)
            except TimeoutError:
                raise GenerationTimeout() from None
            if isinstance(item, BaseException):
                raise item
            return item

        try:
            first = await next_item()
        except BaseException:
            cancel.set()
            handed.set()
            raise

        return ChunkStream(None if first is ACCEPTED else first, next_item, cancel, handed)

    async def generate(self, prompt: str | None, messages: list[dict[str, Any]] | None, params: GenParams) -> tuple[str, Chunk]:
        parts: list[str] = []
        final = Chunk(finish_reason="stop")
        async for chunk in await self.stream(prompt, messages, params):
            if chunk.finish_reason is not None:
                final = chunk
            else:
                parts.append(chunk.text)
        return "".join(parts), final

    async def run_sync(self, fn: Any, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self.executor, fn, *args)

    def shutdown(self) -> None:
        """The instance stops: running generations end with gone() at their next token, queued
        requests at once, later ones before taking a slot. Called on the event loop."""
        self.closed = True  # before the cancels, so a worker that sees its cancel sees this too
        self.pool.close(self.gone)
        for cancel in list(self._cancels):
            cancel.set()
        self.executor.shutdown(wait=False, cancel_futures=True)

    def health(self) -> dict[str, Any]:
        return {**self.pool.health(), **self.engine.health()}
