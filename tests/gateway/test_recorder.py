"""The request recorder: every answered request reaches every consumer, in order, off the request path."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

from emulator.context import RequestContext
from emulator.gateway.recorder import Recorder
from emulator.protocols.base import Request, Response


def _ctx(i: int) -> RequestContext:
    return RequestContext(request_id=f"r{i}", request=Request("POST", "/", "/", "", {}, b"", "127.0.0.1"))


class _Sink:
    def __init__(self) -> None:
        self.batches: list[list[Any]] = []
        self.threads: set[str] = set()

    def consume(self, records: list[Any]) -> None:
        self.batches.append(list(records))
        self.threads.add(threading.current_thread().name)


class _Broken:
    def consume(self, records: list[Any]) -> None:
        raise RuntimeError("broken consumer")


def test_records_reach_every_consumer_in_order_from_the_loop() -> None:
    rec = Recorder(interval=0.01)
    first, second = _Sink(), _Sink()
    rec.consumers += [first, _Broken(), second]  # a failing consumer does not stop the others

    async def run() -> None:
        rec.start()
        for i in range(500):
            rec.add(_ctx(i), Response(200 + i % 2), 0.001)
        # 256 were handed over at once (a full batch); the timer takes the rest.
        assert sum(len(b) for b in second.batches) == 256
        for _ in range(100):
            await asyncio.sleep(0.01)
            if sum(len(b) for b in second.batches) == 500:
                break
        rec.stop()

    asyncio.run(run())
    for sink in (first, second):
        ids = [r[0].request_id for batch in sink.batches for r in batch]
        assert ids == [f"r{i}" for i in range(500)]
        assert sink.threads == {threading.current_thread().name}
    record = first.batches[0][0]
    assert record[1].status == 200 and record[2] == 0.001 and abs(record[3] - time.time()) < 60
    assert rec.health() == {"recorded": 500, "waiting": 0}


def test_stop_and_flush_hand_over_what_waits() -> None:
    rec = Recorder(interval=3600)
    sink = _Sink()
    rec.consumers.append(sink)
    rec.add(_ctx(1), Response(200), 0.0)
    assert rec.flush() == 1 and rec.flush() == 0
    rec.add(_ctx(2), Response(500), 0.0)
    rec.stop()
    assert [r[0].request_id for batch in sink.batches for r in batch] == ["r1", "r2"]


def test_another_thread_may_flush() -> None:
    # The monitoring thread's readers (GET /metrics) hand over what waits before they read.
    rec = Recorder(interval=3600)
    sink = _Sink()
    rec.consumers.append(sink)
    for i in range(10):
        rec.add(_ctx(i), Response(200), 0.0)
    worker = threading.Thread(target=rec.flush, name="reader")
    worker.start()
    worker.join()
    assert sink.threads == {"reader"} and sum(len(b) for b in sink.batches) == 10
