"""Pieces of the plugin's robustness, without a server: the server's environment, the
audit_to_logs setting the plugin's server turns off."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

from emulator.gateway.audit import AuditLog
from emulator.settings import load_settings
from emulator.testing.server import EmulatorServer, server_environment


def test_the_server_inherits_no_aws_or_proxy_variables() -> None:
    env = server_environment({
        "AWS_PROFILE": "missing", "AWS_DEFAULT_PROFILE": "missing", "AWS_ENDPOINT_URL": "http://x",
        "AWS_ENDPOINT_URL_S3": "http://x", "HTTP_PROXY": "http://p", "https_proxy": "http://p", "ALL_PROXY": "socks5://p",
        "NO_PROXY": "corp", "PATH": "/bin", "EMULATOR_MODELS_DIR": "/m", "HOME": "/root",
    })
    assert env == {"PATH": "/bin", "EMULATOR_MODELS_DIR": "/m", "HOME": "/root"}


def test_openai_variables_point_at_the_server() -> None:
    server = EmulatorServer(data_dir="/nonexistent", port=4599)
    env = server.environment()
    assert env["OPENAI_BASE_URL"] == "http://127.0.0.1:4599/v1"
    assert env["OPENAI_API_KEY"] == f"{server.access_key}:{server.secret_key}"


class _Store:
    def __init__(self) -> None:
        self.calls: list[Any] = []

    def put_many(self, *args: Any) -> None:
        self.calls.append(args)


def _forward(audit: AuditLog) -> None:
    principal = SimpleNamespace()
    audit._to_cloudwatch([(0.0, "r1", principal, "127.0.0.1", "sqs", None, None, 200, 0.001)], ['{"x":1}'])


def test_audit_to_logs_off_keeps_the_log_group_away(tmp_path: Path) -> None:
    assert load_settings(environ={}).audit_to_logs is True
    settings = load_settings(environ={"EMULATOR_AUDIT_TO_LOGS": "false"})
    assert settings.audit_to_logs is False
    store = _Store()
    _forward(AuditLog(tmp_path / "audit.log", SimpleNamespace(settings=settings, components={"logs": store})))
    assert store.calls == []
    _forward(AuditLog(tmp_path / "audit.log", SimpleNamespace(settings=load_settings(environ={}), components={"logs": store})))
    assert len(store.calls) == 1
