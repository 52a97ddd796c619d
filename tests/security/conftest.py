"""Fixtures for the security tests: a server of their own and users with policies."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from security_helpers import Users

from emulator.testing.server import EmulatorServer


@pytest.fixture(scope="module")
def sec_server() -> Iterator[EmulatorServer]:
    with EmulatorServer() as server:
        yield server


@pytest.fixture(scope="module")
def users(sec_server: EmulatorServer) -> Users:
    return Users(sec_server)


