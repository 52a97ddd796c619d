"""PostgreSQL-backed servers for the tests in this package.

One scratch database for this package (dropped after its last test) and two emulator processes on
it. ``emulator``/``aws_client``/``aws_resource``/``ddb`` are overridden here, so the
boto3 tests imported into test_boto3_on_postgres.py run against process A.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from emulator.testing.server import EmulatorServer

from .pg import scratch_url


@pytest.fixture(scope="package")
def pg_url() -> Iterator[str]:
    with scratch_url() as url:
        yield url


@pytest.fixture(scope="package")
def pg_servers(pg_url: str) -> Iterator[tuple[EmulatorServer, EmulatorServer]]:
    """Two emulator processes sharing one PostgreSQL database."""
    servers = [EmulatorServer(extra_args=["--storage", pg_url]) for _ in range(2)]
    try:
        with ThreadPoolExecutor(2) as pool:  # start both at once: half the wait
            list(pool.map(lambda s: s.start(), servers))
        yield servers[0], servers[1]
    finally:
        for s in servers:
            s.cleanup()


@pytest.fixture(scope="package")
def emulator(pg_servers: tuple[EmulatorServer, EmulatorServer]) -> EmulatorServer:
    return pg_servers[0]


@pytest.fixture(scope="package")
def aws_client(emulator: EmulatorServer) -> Callable[..., Any]:
    return emulator.client


@pytest.fixture(scope="package")
def aws_resource(emulator: EmulatorServer) -> Callable[..., Any]:
    return emulator.resource


@pytest.fixture(scope="package")
def ddb(aws_client: Callable[..., Any]) -> Any:
    return aws_client("dynamodb")
