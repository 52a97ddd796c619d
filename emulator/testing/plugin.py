"""The pytest plugin (entry point ``pytest11``): fixtures for users' own tests.

    def test_put(aws_client):
        ddb = aws_client("dynamodb")
        ddb.create_table(...)

``emulator`` is one real server per test session (free port, temporary data dir).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from emulator.testing.server import EmulatorServer


@pytest.fixture(scope="session")
def emulator() -> Iterator[EmulatorServer]:
    with storage_args() as extra_args, EmulatorServer(extra_args=extra_args) as server:
        yield server


@contextmanager
def storage_args() -> Iterator[list[str]]:
    """``EMULATOR_TEST_STORAGE=postgresql://user@host/db`` runs the session's server on
    PostgreSQL, in a scratch database of its own on that server (dropped afterwards)."""
    spec = os.environ.get("EMULATOR_TEST_STORAGE", "")
    if not spec.startswith(("postgresql://", "postgres://")):
        yield ["--storage", spec] if spec else []
        return
    from emulator.dynamodb.storage.postgres import scratch_database

    with scratch_database(spec) as url:
        yield ["--storage", url]


@pytest.fixture(scope="session")
def aws_client(emulator: EmulatorServer) -> Callable[..., Any]:
    """``aws_client("dynamodb", **kwargs)``: a boto3 client of the session's server."""
    return emulator.client


@pytest.fixture(scope="session")
def aws_resource(emulator: EmulatorServer) -> Callable[..., Any]:
    """``aws_resource("dynamodb", **kwargs)``: a boto3 resource of the session's server."""
    return emulator.resource
