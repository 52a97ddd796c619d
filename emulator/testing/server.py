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
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Self

ACCESS_KEY = "AKIAEMULATORTEST0001"
SECRET_KEY = "emulator-test-secret-key-0000000000000000"

# The developer's settings the server must not inherit: AWS ones (a profile that does not
# exist, an endpoint, keys) and proxies (the server's own calls go to 127.0.0.1).
_PROXY_ENV = frozenset({"http_proxy", "https_proxy", "all_proxy", "ftp_proxy", "no_proxy"})

# The plugin's own calls (health, reset) go straight to 127.0.0.1, whatever HTTP(S)_PROXY says.
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def server_environment(environ: dict[str, str] | os._Environ[str]) -> dict[str, str]:
    """``environ`` without the AWS_* and proxy variables: what a server subprocess inherits."""
    return {k: v for k, v in environ.items() if not k.startswith("AWS_") and k.lower() not in _PROXY_ENV}


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
        orphan_cleanup: list[str | Path] | None = None,
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
        # Directories the server removes if it outlives this process (emulator/testing/child.py):
        # the temporary data dir made here, and these.
        self.orphan_cleanup = [str(d) for d in orphan_cleanup or []]

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> EmulatorServer:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        env = server_environment(os.environ)
        cleanup = ([str(self.data_dir)] if self._tmp is not None else []) + self.orphan_cleanup
        env.update(
            {
                "EMULATOR_ROOT_ACCESS_KEY_ID": self.access_key,
                "EMULATOR_ROOT_SECRET_ACCESS_KEY": self.secret_key,
                "PYTHONUNBUFFERED": "1",
                # The server dies with this process, even a killed one (emulator/testing/child.py).
                "EMULATOR_PARENT_PID": str(os.getpid()),
                # Linux's parent-death signal follows the starting thread: only the main thread's
                # lasts as long as the process (a pool's thread may end while the server runs).
                "EMULATOR_PARENT_DEATHSIG": "1" if threading.current_thread() is threading.main_thread() else "",
                "EMULATOR_ORPHAN_CLEANUP": os.pathsep.join(cleanup),
            }
        )
        env.update(self.env)
        cmd = [sys.executable, "-m", "emulator.testing.child", "serve", "--port", str(self.port), "--data-dir", str(self.data_dir), *self.extra_args]
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - the server process writes to it until stop()
        # A session of its own: Ctrl-C in the terminal reaches pytest, whose teardown stops the server.
        self.proc = subprocess.Popen(cmd, env=env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"emulator exited with {self.proc.returncode}: {self.log_path.read_text()[-4000:]}")
            try:
                with self._urlopen(self.endpoint + "/_emulator/health", timeout=1) as resp:
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
            with self._urlopen(req, timeout=120) as resp:
                return list(json.loads(resp.read())["reset"])
        except urllib.error.HTTPError as exc:
            raise RuntimeError(f"reset failed ({exc.code}): {exc.read().decode(errors='replace')}") from None
        except OSError:
            self.check_alive()  # a dead server says so, rather than "connection refused"
            raise

    def check_alive(self) -> None:
        """A RuntimeError with the log's last lines when the server process has exited."""
        if self.proc is not None and self.proc.poll() is not None:
            raise RuntimeError(f"the emulator server exited with code {self.proc.returncode}; last log lines:\n{self.log_tail()}")

    def log_size(self) -> int:
        try:
            return self.log_path.stat().st_size
        except OSError:
            return 0

    def log_tail(self, since: int = 0, limit: int = 8000) -> str:
        """The server's output from byte ``since`` on, its last ``limit`` bytes at most."""
        try:
            with open(self.log_path, "rb") as f:
                f.seek(max(since, self.log_size() - limit))
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def _urlopen(self, url: str | urllib.request.Request, timeout: float) -> Any:
        context = self._ssl_context()
        if context is None:
            return _DIRECT.open(url, timeout=timeout)
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=context))
        return opener.open(url, timeout=timeout)

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
            # The OpenAI SDKs (the API key is the key pair, "ACCESS_KEY_ID:SECRET").
            "OPENAI_BASE_URL": self.endpoint + "/v1",
            "OPENAI_API_KEY": f"{self.access_key}:{self.secret_key}",
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
