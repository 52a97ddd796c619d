"""Slots, the bounded FIFO queue, timeouts and cancellation, with the real llama.cpp engine
and with a gated engine (a test double that yields only when the test says so)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from emulator.compute.engines import GenParams, create_engine
from emulator.compute.engines.base import Chunk, Engine, EngineError
from emulator.compute.models import info_from_gguf
from emulator.compute.scheduler import (
    GenerationTimeout,
    QueueFull,
    QueueTimeout,
    Scheduler,
)
from emulator.threads import SWITCH_INTERVAL

from .conftest import model_path


class GatedEngine(Engine):
    """Yields one token each time the gate is released; for deterministic queue tests."""

    kind = "gated"

    def __init__(self, slots: int) -> None:
        super().__init__(slots)
        self.gate = threading.Semaphore(0)
        self.started = threading.Event()

    def load(self) -> None:
        self.loaded = True

    def unload(self) -> None:
        self.loaded = False

    def count_tokens(self, prompt: str | None, messages: list[dict[str, Any]] | None) -> int:
        return 1

    def generate(self, slot: int, prompt: str | None, messages: list[dict[str, Any]] | None, params: GenParams,
                 cancel: threading.Event) -> Iterator[Chunk]:
        self.started.set()
        n = 0
        for n in range(params.max_tokens):
            while not self.gate.acquire(timeout=0.05):
                if cancel.is_set():
                    yield Chunk(finish_reason="cancelled", prompt_tokens=1, completion_tokens=n)
                    return
            yield Chunk(text=f"t{n} ")
        yield Chunk(finish_reason="length", prompt_tokens=1, completion_tokens=params.max_tokens)


def test_queue_full_and_fifo() -> None:
    async def main() -> None:
        engine = GatedEngine(slots=1)
        sched = Scheduler(engine, queue_max=1, timeout=30)
        first = await asyncio.wait_for(_start(sched, engine), 10)
        waiting = asyncio.create_task(sched.generate("b", None, GenParams(max_tokens=1)))
        await asyncio.sleep(0.05)
        assert sched.pool.waiting == 1
        with pytest.raises(QueueFull) as full:
            await sched.generate("c", None, GenParams(max_tokens=1))
        assert full.value.retry_after >= 1
        for _ in range(3):
            engine.gate.release()
        async for _ in first:
            pass
        text, final = await asyncio.wait_for(waiting, 10)
        assert text == "t0 " and final.finish_reason == "length"
        assert sched.pool.health()["rejected"] == 1 and sched.pool.in_use == 0
        sched.shutdown()

    asyncio.run(main())


async def _start(sched: Scheduler, engine: GatedEngine) -> Any:
    task = asyncio.create_task(sched.stream("a", None, GenParams(max_tokens=2)))
    await asyncio.get_running_loop().run_in_executor(None, engine.started.wait)
    engine.gate.release()  # the first token: stream() returns once it has one
    return await task


def test_closing_the_stream_frees_the_slot() -> None:
    async def main() -> None:
        engine = GatedEngine(slots=1)
        sched = Scheduler(engine, queue_max=4, timeout=30)
        chunks = await _start(sched, engine)
        assert sched.pool.in_use == 1
        await chunks.aclose()  # the client went away
        for _ in range(100):
            if sched.pool.in_use == 0:
                break
            await asyncio.sleep(0.02)
        assert sched.pool.in_use == 0 and sched.pool.cancelled == 1
        sched.shutdown()

    asyncio.run(main())


def test_waiting_is_bounded() -> None:
    async def main() -> None:
        engine = GatedEngine(slots=1)
        sched = Scheduler(engine, queue_max=4, timeout=0.3)
        chunks = await _start(sched, engine)
        with pytest.raises(QueueTimeout):
            await sched.generate("b", None, GenParams(max_tokens=1))
        with pytest.raises(GenerationTimeout):
            async for _ in chunks:
                pass
        assert sched.pool.waiting == 0
        sched.shutdown()

    asyncio.run(main())


def test_llama_engine_parallel_slots_and_errors() -> None:
    engine = create_engine(info_from_gguf(model_path()), slots=2, n_ctx=256, n_threads=1)
    engine.load()
    try:
        async def main() -> None:
            sched = Scheduler(engine, queue_max=4, timeout=60)
            params = GenParams(max_tokens=6, temperature=0, seed=1)
            results = await asyncio.gather(*(sched.generate(None, [{"role": "user", "content": "Say hi"}], params) for _ in range(3)))
            # Same prompt, greedy decoding: the same answer from every slot.
            assert len({text for text, _ in results}) == 1
            assert all(final.completion_tokens == 6 and final.finish_reason == "length" and final.prompt_tokens > 0 for _, final in results)
            with pytest.raises(EngineError) as err:
                await sched.generate("word " * 400, None, params)
            assert err.value.status == 400  # longer than the context
            text, final = await sched.generate("1, 2, 3, 4,", None, GenParams(max_tokens=12, temperature=0, stop=[","]))
            assert "," not in text and final.finish_reason == "stop"
            sched.shutdown()

        asyncio.run(main())
        assert engine.count_tokens("hello world", None) >= 2
    finally:
        engine.unload()


class CountingEngine(GatedEngine):
    """Yields tokens as fast as it can and counts how many it has produced."""

    kind = "counting"

    def __init__(self, slots: int) -> None:
        super().__init__(slots)
        self.produced = 0

    def generate(self, slot: int, prompt: str | None, messages: list[dict[str, Any]] | None, params: GenParams,
                 cancel: threading.Event) -> Iterator[Chunk]:
        for n in range(params.max_tokens):
            if cancel.is_set():
                yield Chunk(finish_reason="cancelled", prompt_tokens=1, completion_tokens=n)
                return
            self.produced += 1
            yield Chunk(text=f"t{n} ")
        yield Chunk(finish_reason="length", prompt_tokens=1, completion_tokens=params.max_tokens)


def test_first_token_is_handed_over_before_the_next_is_computed(monkeypatch: pytest.MonkeyPatch) -> None:
    """Time to first token: the worker waits until the consumer has taken the first chunk
    and asks for the next before computing more (bounded by _HANDOFF_WAIT)."""
    import sys

    import emulator.compute.scheduler as scheduler_module

    monkeypatch.setattr(scheduler_module, "_HANDOFF_WAIT", 30.0)  # so that only the hand-over can release it here

    async def main() -> None:
        engine = CountingEngine(slots=1)
        sched = Scheduler(engine, queue_max=0, timeout=30)
        assert sys.getswitchinterval() <= SWITCH_INTERVAL
        stream = await sched.stream("p", None, GenParams(max_tokens=5))
        await asyncio.sleep(0.05)
        assert engine.produced == 1  # without the hand-over the engine would have run to the end
        texts = [c.text async for c in stream if c.finish_reason is None]
        assert texts == [f"t{n} " for n in range(5)]
        assert engine.produced == 5
        for _ in range(100):
            if sched.pool.in_use == 0:
                break
            await asyncio.sleep(0.01)
        assert sched.pool.in_use == 0

        # A consumer that closes the stream after the first chunk releases the worker at once.
        engine.produced = 0
        stream = await sched.stream("p", None, GenParams(max_tokens=50))
        await stream.aclose()  # type: ignore[attr-defined]
        for _ in range(300):
            if sched.pool.in_use == 0:
                break
            await asyncio.sleep(0.01)
        assert sched.pool.in_use == 0
        assert engine.produced <= 2
        sched.shutdown()

    asyncio.run(main())


class AcceptingEngine(GatedEngine):
    """Accepts the request at once (ACCEPTED), then yields tokens through the gate."""

    kind = "accepting"

    def generate(self, slot: int, prompt: str | None, messages: list[dict[str, Any]] | None, params: GenParams,
                 cancel: threading.Event) -> Iterator[Chunk]:
        from emulator.compute.engines.base import ACCEPTED

        yield ACCEPTED
        yield from super().generate(slot, prompt, messages, params, cancel)


def test_stream_starts_once_the_engine_accepts() -> None:
    """A streaming response can send its headers while the prompt is processed; ACCEPTED never reaches the consumer."""
    from emulator.compute.engines.base import ACCEPTED

    async def main() -> None:
        engine = AcceptingEngine(slots=1)
        sched = Scheduler(engine, queue_max=0, timeout=30)
        stream = await asyncio.wait_for(sched.stream("p", None, GenParams(max_tokens=2)), 10)  # no token released yet
        engine.gate.release(2)
        chunks = [c async for c in stream]
        assert all(c is not ACCEPTED for c in chunks)
        assert [c.text for c in chunks if c.finish_reason is None] == ["t0 ", "t1 "]
        assert chunks[-1].finish_reason == "length"
        sched.shutdown()

    asyncio.run(main())
