"""Fixtures for gateway tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from emulator.testing.raw import RawResponse, signed
from emulator.testing.server import EmulatorServer


@pytest.fixture(scope="session")
def signed_call(emulator: EmulatorServer) -> Callable[..., RawResponse]:
    """``signed_call(method, path, service=..., headers=..., body=...)`` against the session server."""

    def call(method: str, path: str, **kwargs: Any) -> RawResponse:
        return signed(emulator, method, path, **kwargs)

    return call
