"""The lifecycle features on the PostgreSQL storage engine: a selection of the wire
tests of this package, run against a server using a scratch PostgreSQL database."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from emulator.testing.server import EmulatorServer

from ..postgres.pg import scratch_url
from .test_backups import (
    test_backup_during_writes_is_consistent,
    test_backup_is_a_snapshot_and_restores,
)
from .test_partiql import pq, test_execute_transaction, test_insert_update_delete
from .test_pitr import test_restore_at_several_points
from .test_streams import (
    test_batch_and_transaction_writes_are_recorded,
    test_disable_stream_closes_shard,
    test_iterator_types,
)

__all__ = [
    "pq",
    "test_backup_during_writes_is_consistent",
    "test_backup_is_a_snapshot_and_restores",
    "test_batch_and_transaction_writes_are_recorded",
    "test_disable_stream_closes_shard",
    "test_execute_transaction",
    "test_insert_update_delete",
    "test_iterator_types",
    "test_restore_at_several_points",
]


@pytest.fixture(scope="module")
def pg_server() -> Iterator[EmulatorServer]:
    with scratch_url(prefix="emulator_lifecycle") as url, EmulatorServer(extra_args=["--storage", url]) as server:
        yield server


@pytest.fixture(scope="module")
def aws_client(pg_server: EmulatorServer) -> Callable[..., Any]:
    return pg_server.client


@pytest.fixture(scope="module")
def ddb(pg_server: EmulatorServer) -> Any:
    return pg_server.client("dynamodb")


@pytest.fixture(scope="module")
def streams(pg_server: EmulatorServer) -> Any:
    return pg_server.client("dynamodbstreams")


def test_server_uses_postgres(pg_server: EmulatorServer) -> None:
    import json
    import urllib.request

    with urllib.request.urlopen(pg_server.endpoint + "/_emulator/health") as resp:
        assert json.load(resp)["services"]["dynamodb"]["storage"] == "postgresql"
