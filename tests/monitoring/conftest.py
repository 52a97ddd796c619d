"""Fixtures of the monitoring tests: one server for the package, with telemetry
flushed every 0.2 s and alarms evaluated only when a test asks
(POST /_emulator/monitoring/alarms?time=...), so transitions are driven by fake time;
metric streams deliver likewise (POST /_emulator/monitoring/streams)."""

from __future__ import annotations

import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore import serialize

from emulator.testing.server import EmulatorServer
from emulator.testing.wait import poll


@pytest.fixture(scope="package")
def mon() -> Iterator[EmulatorServer]:
    env = {
        "EMULATOR_TELEMETRY_FLUSH": "0.2", "EMULATOR_ALARM_INTERVAL": "100000", "EMULATOR_TELEMETRY_INTERVAL": "100000",
        # anomaly models train in 2 s; metric streams deliver when a test asks (POST /_emulator/monitoring/streams)
        "EMULATOR_ANOMALY_TRAINING_DELAY": "2", "EMULATOR_METRIC_STREAM_INTERVAL": "100000",
    }
    with EmulatorServer(env=env) as server:
        yield server


def control(server: EmulatorServer, task: str, at: float | None = None) -> None:
    url = f"{server.endpoint}/_emulator/monitoring/{task}" + (f"?time={at}" if at is not None else "")
    with urllib.request.urlopen(urllib.request.Request(url, data=b"", method="POST"), timeout=30) as resp:
        assert resp.status == 200


def cw_client(server: EmulatorServer, protocol: str | None = None) -> Any:
    """A CloudWatch client; ``protocol`` forces one of the model's protocols
    (botocore picks json; cbor and query are exercised by swapping the serializer
    and the protocol the response parser is chosen by)."""
    client = server.client("cloudwatch")
    if protocol is not None:
        client._serializer = serialize.create_serializer(protocol, include_validation=True)
        client.meta.service_model.__dict__["resolved_protocol"] = protocol
    return client


@pytest.fixture(scope="package")
def cw(mon: EmulatorServer) -> Any:
    return cw_client(mon)


@pytest.fixture(scope="package")
def logs(mon: EmulatorServer) -> Any:
    return mon.client("logs")


def wait_for(fn: Callable[[], Any], timeout: float = 10.0, interval: float = 0.1) -> Any:
    """fn()'s first truthy value; its last value when time runs out (the callers assert, with their own message)."""
    return poll(fn, timeout, interval)
