"""moto's record of its model objects holds them weakly (emulator/gateway/fallback_memory.py):
a long-running server frees the SQS messages and S3 objects moto has dropped, and what moto
reads from the record (its reset closing S3's files) still finds the live ones."""

from __future__ import annotations

import gc
from typing import Any

from emulator.gateway import fallback_memory
from emulator.gateway.fallback_memory import WeakInstances


class Plain:
    pass


class Slotted:
    __slots__ = ("x",)


def test_weak_instances_hold_the_live_ones_in_order() -> None:
    tracked = WeakInstances()
    kept = [Plain() for _ in range(10)]
    for i in range(5000):
        tracked.append(Plain())  # dropped at once
        if i % 500 == 0:
            tracked.append(kept[i // 500])
    gc.collect()
    assert list(tracked) == kept
    assert len(tracked) == 10
    assert len(tracked._refs) < 3000  # dead references were dropped along the way
    tracked.append(Slotted())  # no weak references: left out, no error
    assert len(tracked) == 10
    tracked.clear()
    assert list(tracked) == []


def test_moto_models_are_freed_once_moto_drops_them() -> None:
    fallback_memory.install()
    from moto.s3.models import FakeKey
    from moto.sqs.models import Message

    gc.collect()
    before = len(Message.instances_tracked)
    messages = [Message(f"id-{i}", "body " * 100) for i in range(200)]
    assert len(Message.instances_tracked) == before + 200
    assert messages[0] in list(Message.instances_tracked)
    del messages
    gc.collect()
    assert len(Message.instances_tracked) == before

    key: Any = FakeKey("k", b"value", account_id="000000000000", region_name="us-east-1")
    assert any(tracked is key for tracked in FakeKey.instances_tracked)  # S3's reset finds it
    assert isinstance(FakeKey.instances_tracked, WeakInstances)
    key.dispose()
