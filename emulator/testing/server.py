"""Start a real emulator server in a subprocess on a free port, and talk to it."""

from __future__ import annotations

import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Self

ACCESS_KEY = "AKIAEMULATORTEST0001"
SECRET_KEY = "emulator-test-secret-key-0000000000000000"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class EmulatorServer:
    """A server process. ``start()`` waits until /_emulator/health answers."""

    def __init__(
        self,
        data_dir: str | Path | None = None,
        port: int | None = None,
        extra_args: list[str] | None = None,
        env: dict[str, str] | None = None,
        access_key: str = ACCESS_KEY,
        secret_key: str = SECRET_KEY,
        region: str = "us-east-1",
    ) -> None:
        self._tmp = None
        if data_dir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="emulator-")
            data_dir = self._tmp.name
        self.data_dir = Path(data_dir)
        self.port = port or free_port()
        self.extra_args = extra_args or []
        self.env = env or {}
        self.access_key = access_key
        self.secret_key = secret_key
        self.region = region
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = self.data_dir / "server.out"

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> EmulatorServer:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ)
        env.update(
            {
                "EMULATOR_ROOT_ACCESS_KEY_ID": self.access_key,
                "EMULATOR_ROOT_SECRET_ACCESS_KEY": self.secret_key,
                "PYTHONUNBUFFERED": "1",
            }
        )
        env.update(self.env)
        cmd = [sys.executable, "-m", "emulator", "serve", "--port", str(self.port), "--data-dir", str(self.data_dir), *self.extra_args]
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - the server process writes to it until stop()
        self.proc = subprocess.Popen(cmd, env=env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"emulator exited with {self.proc.returncode}: {self.log_path.read_text()[-4000:]}")
            try:
                with urllib.request.urlopen(self.endpoint + "/_emulator/health", timeout=1, context=self._ssl_context()) as resp:
                    if resp.status == 200:
                        return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"emulator did not become healthy in {timeout}s: {self.log_path.read_text()[-4000:]}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20.0) -> None:
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.proc = None
        if getattr(self, "_log", None):
            self._log.close()

    def kill(self) -> None:
        """``kill -9``: for durability tests."""
        self.stop(signal.SIGKILL)

    def cleanup(self) -> None:
        self.stop()
        if self._tmp is not None:
            self._tmp.cleanup()

    def reset(self, services: list[str] | None = None, keep: list[str] | None = None) -> list[str]:
        """Forget every resource (of ``services`` only, or all but ``keep``): an empty account,
        as at start. The server, its root key and a loaded model stay. Returns what was reset."""
        body: dict[str, Any] = {}
        if services is not None:
            body["services"] = services
        if keep:
            body["keep"] = keep
        req = urllib.request.Request(
            self.endpoint + "/_emulator/reset", data=json.dumps(body).encode(), method="POST",
            headers={"authorization": f"Bearer {self.access_key}:{self.secret_key}", "content-type": "application/json"},
        )
        try:
            with urllib.request.urlopen(req, timeout=120, context=self._ssl_context()) as resp:
                return list(json.loads(resp.read())["reset"])
        except urllib.error.HTTPError as exc:
            raise RuntimeError(f"reset failed ({exc.code}): {exc.read().decode(errors='replace')}") from None

    def _ssl_context(self) -> ssl.SSLContext | None:
        return None  # plain HTTP

    def environment(self) -> dict[str, str]:
        """The variables that point the AWS SDKs and the CLI at this server (boto3 >= 1.28,
        the JS SDK v3, ``aws``): ``subprocess.run(cmd, env={**os.environ, **s.environment()})``."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
        }

    def client_kwargs(self) -> dict[str, Any]:
        return {
            "endpoint_url": self.endpoint,
            "region_name": self.region,
            "aws_access_key_id": self.access_key,
            "aws_secret_access_key": self.secret_key,
        }

    def client(self, service: str, **kwargs: Any) -> Any:
        import boto3
        from botocore.config import Config

        cfg = kwargs.pop("config", Config(retries={"max_attempts": 1, "mode": "standard"}))
        return boto3.client(service, config=cfg, **{**self.client_kwargs(), **kwargs})

    def resource(self, service: str, **kwargs: Any) -> Any:
        import boto3

        return boto3.resource(service, **{**self.client_kwargs(), **kwargs})

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.cleanup()


class TlsEmulatorServer(EmulatorServer):
    """The server over HTTPS, with a self-signed certificate made in its data dir and
    trusted by its clients. boto3, the AWS CLI and the JS SDK send S3 uploads as
    aws-chunked bodies with checksum trailers only over TLS: tests of those need it."""

    cert: Path

    @property
    def endpoint(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> TlsEmulatorServer:
        from emulator.gateway.tls import self_signed

        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.cert, key = self_signed(self.data_dir)
        self.extra_args = [*self.extra_args, "--tls-cert", str(self.cert), "--tls-key", str(key)]
        super().start(timeout)
        return self

    def _ssl_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.cert))

    def environment(self) -> dict[str, str]:
        return {**super().environment(), "AWS_CA_BUNDLE": str(self.cert)}

    def client(self, service: str, **kwargs: Any) -> Any:
        return super().client(service, **{"verify": str(self.cert), **kwargs})

    def resource(self, service: str, **kwargs: Any) -> Any:
        return super().resource(service, **{"verify": str(self.cert), **kwargs})
