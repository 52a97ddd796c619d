"""The pytest plugin (entry point ``pytest11``): fixtures for users' own tests.

    def test_put(aws_client):
        ddb = aws_client("dynamodb")
        ddb.create_table(...)

``emulator`` is one real server per test session (free port, temporary data dir).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from emulator.testing.server import EmulatorServer


@pytest.fixture(scope="session")
def emulator() -> Iterator[EmulatorServer]:
    server = EmulatorServer()
    server.start()
    try:
        yield server
    finally:
        server.cleanup()


@pytest.fixture(scope="session")
def aws_client(emulator: EmulatorServer) -> Callable[..., Any]:
    def make(service: str, **kwargs: Any) -> Any:
        return emulator.client(service, **kwargs)

    return make


@pytest.fixture(scope="session")
def aws_resource(emulator: EmulatorServer) -> Callable[..., Any]:
    def make(service: str, **kwargs: Any) -> Any:
        return emulator.resource(service, **kwargs)

    return make
