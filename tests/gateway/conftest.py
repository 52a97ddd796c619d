"""Fixtures for gateway tests."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Callable, Iterator
from typing import Any
from unittest import mock

import fallback_probe
import pytest

from emulator.testing.raw import RawResponse, signed
from emulator.testing.server import EmulatorServer


@pytest.fixture(scope="session")
def signed_call(emulator: EmulatorServer) -> Callable[..., RawResponse]:
    """``signed_call(method, path, service=..., headers=..., body=...)`` against the session server."""

    def call(method: str, path: str, **kwargs: Any) -> RawResponse:
        return signed(emulator, method, path, **kwargs)

    return call


@pytest.fixture
def resolve_localhost_subdomains() -> Iterator[None]:
    """``bucket.localhost`` resolves to 127.0.0.1 in this process, as it does on systems with
    systemd-resolved: S3's virtual-hosted-style requests to a local endpoint."""
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(host, str) and host.endswith(".localhost"):
            host = "127.0.0.1"
        return real(host, *args, **kwargs)

    with mock.patch("socket.getaddrinfo", getaddrinfo):
        yield


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    """A server of the module's own (a module defining ``server`` replaces this one)."""
    with EmulatorServer() as srv:
        yield srv


@pytest.fixture
def no_unhandled_errors(server: EmulatorServer) -> Iterator[None]:
    """Whatever the test sent, the module's server answered it without an unhandled error
    (``pytestmark = pytest.mark.usefixtures("no_unhandled_errors")``)."""
    yield
    assert fallback_probe.unhandled(server) == []


@pytest.fixture
def s3(server: EmulatorServer) -> Any:
    """An S3 client of the module's ``server``, signed with the root key."""
    return server.client("s3")


@pytest.fixture
def bucket(s3: Any) -> str:
    """A new bucket of the module's ``server``."""
    name = f"gw-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    return name
