"""Fixtures for the shared-state tests: the local Redis and a fresh key prefix per test."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

REDIS_URL = os.environ.get("EMULATOR_TEST_REDIS", "redis://127.0.0.1:6379/0")


def _client() -> Any:
    import redis

    return redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1, socket_timeout=5)


@pytest.fixture(scope="session")
def redis_url() -> str:
    try:
        _client().ping()
    except Exception as exc:  # noqa: BLE001 - any failure means there is no Redis to test against
        pytest.skip(f"no Redis at {REDIS_URL} ({exc}); set EMULATOR_TEST_REDIS")
    return REDIS_URL


@pytest.fixture
def prefix(redis_url: str) -> Iterator[str]:
    """A random key prefix; every key under it is deleted after the test."""
    value = f"emulator-test-{uuid.uuid4().hex[:12]}:"
    yield value
    client = _client()
    keys = list(client.scan_iter(match=value + "*", count=1000))
    if keys:
        client.delete(*keys)


@pytest.fixture
def redis_client(redis_url: str) -> Any:
    return _client()
