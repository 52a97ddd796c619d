"""Where the PostgreSQL tests find a server, and scratch databases / schemas on it.

``EMULATOR_TEST_POSTGRES`` names the server (any database on it we may connect to and
CREATE DATABASE from); default: the local trust-auth PostgreSQL on 127.0.0.1:5432.
Every run makes databases of its own and drops them at the end.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache

import psycopg
import pytest

DEFAULT = "postgresql://postgres@127.0.0.1:5432/postgres"


def server_url() -> str:
    return os.environ.get("EMULATOR_TEST_POSTGRES") or DEFAULT


@cache
def unavailable() -> str | None:
    """Why PostgreSQL cannot be used here, or None when it can."""
    try:
        with psycopg.connect(server_url(), autocommit=True, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        return f"no PostgreSQL at {server_url()} (set EMULATOR_TEST_POSTGRES): {exc}".strip()
    return None


@contextmanager
def scratch_url(prefix: str = "emulator_test") -> Iterator[str]:
    """The URL of a scratch database on the test server, dropped afterwards; skips the
    test (or fixture) when there is no PostgreSQL to use."""
    reason = unavailable()
    if reason:
        pytest.skip(reason)
    from emulator.dynamodb.storage.postgres import scratch_database

    with scratch_database(server_url(), prefix=prefix) as url:
        yield url


def with_schema(url: str, prefix: str = "t") -> str:
    """``url`` with a fresh ``schema=`` of its own (cheaper than a database per test)."""
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}schema={prefix}_{secrets.token_hex(5)}"
