"""Network safety: optional TLS, header size limits and a slow-client timeout.

- ``--tls-cert/--tls-key`` serve HTTPS with the given PEM files;
  ``--tls-self-signed`` generates (once, kept in ``<data_dir>/tls/``) a
  certificate for localhost/127.0.0.1/::1 and the serving host.
- ``guard(app, max_header_bytes, body_timeout)`` wraps the ASGI app: requests
  whose headers exceed the limit get 431, and a client that stalls for more than
  ``body_timeout`` seconds while sending its body gets 408 (slowloris).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import ipaddress
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import orjson

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

DEFAULT_MAX_HEADER_BYTES = 64 * 1024
DEFAULT_BODY_TIMEOUT = 60.0


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.chmod(path, 0o600)


def self_signed(data_dir: Path, host: str = "127.0.0.1", days: int = 825) -> tuple[Path, Path]:
    """Return (cert, key) paths in ``<data_dir>/tls``, generating them when missing or expiring."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    folder = Path(data_dir) / "tls"
    folder.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    now = dt.datetime.now(dt.UTC)
    if cert_path.exists() and key_path.exists():
        try:
            cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
            if cert.not_valid_after_utc > now + dt.timedelta(days=7):
                return cert_path, key_path
        except ValueError:
            pass
    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = [x509.DNSName("localhost")]
    hosts = {"127.0.0.1", "::1", host}
    for h in sorted(hosts):
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(h)))
        except ValueError:
            if h and h != "localhost":
                names.append(x509.DNSName(h))
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "emulator (self-signed)")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    _write_private(key_path, key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return cert_path, key_path


def uvicorn_tls_options(settings: Any) -> dict[str, Any]:
    """``ssl_certfile``/``ssl_keyfile`` for uvicorn.run, from the settings (empty: plain HTTP)."""
    cert = getattr(settings, "tls_cert", None)
    key = getattr(settings, "tls_key", None)
    if getattr(settings, "tls_self_signed", False) and not cert:
        cert, key = self_signed(settings.data_dir, settings.host)
    if not cert:
        return {}
    if not key:
        raise SystemExit("--tls-cert needs --tls-key")
    return {"ssl_certfile": str(cert), "ssl_keyfile": str(key)}


if sys.version_info < (3, 12):
    # Python 3.11's asyncio.current_task is a Python function around these two C calls;
    # 3.12+ implements it in C.
    from _asyncio import _current_tasks  # type: ignore[attr-defined]

    def _current_task() -> asyncio.Task[Any] | None:
        return _current_tasks.get(asyncio.get_running_loop())  # type: ignore[no-any-return]

else:  # pragma: no cover
    _current_task = asyncio.current_task


def _error(status: int, code: str, message: str) -> tuple[dict[str, Any], dict[str, Any]]:
    body = orjson.dumps({"__type": code, "message": message})
    start = {"type": "http.response.start", "status": status, "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), (b"connection", b"close")]}
    return start, {"type": "http.response.body", "body": body}


class _Guard:
    """The header limit and the slow-body timeout around an ASGI app.

    The timeout costs the request path a dict insert and delete per ``receive()``
    while the body is read: one sweeper task per event loop wakes every
    ``min(1 s, timeout / 2)``, stamps the receives it finds waiting and cancels
    those seen waiting for ``body_timeout`` (so it fires between ``body_timeout``
    and ``body_timeout`` plus two sweeps). A timer per receive
    (``call_later`` + ``cancel``) cost ~10 µs per request (bench/RESULTS.md).
    """

    def __init__(self, app: ASGIApp, max_header_bytes: int, body_timeout: float) -> None:
        self.app = app
        self.max_header_bytes = max_header_bytes
        self.body_timeout = body_timeout
        self.interval = min(1.0, body_timeout / 2)
        # request task -> loop time its current receive() was first seen waiting (0.0: not yet)
        self._waiting: dict[asyncio.Task[Any], float] = {}
        self._expired: set[asyncio.Task[Any]] = set()
        self._sweeper: asyncio.Task[None] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        size = 0
        for name, value in scope["headers"]:
            size += len(name) + len(value) + 4
        if size > self.max_header_bytes:
            start, body = _error(431, "RequestHeaderFieldsTooLarge", f"Request headers exceed the limit of {self.max_header_bytes} bytes")
            await send(start)
            await send(body)
            return
        # The usual small request is whole before the app runs: uvicorn's request cycle (the
        # receive callable's object) then has more_body False, its first receive() cannot
        # wait, and there is nothing to time. Other servers, or a body still on its way,
        # take the timed path.
        if getattr(getattr(receive, "__self__", None), "more_body", None) is False:
            await self.app(scope, receive, send)
            return
        task = _current_task()
        if task is None:  # pragma: no cover - ASGI servers run each request in a task
            await self.app(scope, receive, send)
            return
        waiting = self._waiting
        body_done = False

        async def timed_receive() -> dict[str, Any]:
            # Only the request body is timed: once it is in, a receive() (e.g. waiting for a
            # disconnect during a long streamed answer) may block as long as it likes.
            nonlocal body_done
            if body_done:
                return await receive()
            waiting[task] = 0.0
            if self._sweeper is None:
                self._sweeper = asyncio.get_running_loop().create_task(self._sweep())
            try:
                message = await receive()
            finally:
                waiting.pop(task, None)
            if message.get("type") != "http.request" or not message.get("more_body", False):
                body_done = True
            return message

        try:
            await self.app(scope, timed_receive, send)
        except asyncio.CancelledError:
            if task not in self._expired:
                raise
            task.uncancel()
            start, body = _error(408, "RequestTimeout", f"The client did not send the request body within {self.body_timeout:g} seconds")
            # The response may have started already, or the client has left.
            with contextlib.suppress(Exception):
                await send(start)
                await send(body)
        finally:
            waiting.pop(task, None)
            self._expired.discard(task)

    async def _sweep(self) -> None:
        loop = asyncio.get_running_loop()
        waiting = self._waiting
        try:
            while True:
                # Sleep first: under load the dict is mostly empty between requests, and the
                # sweeper must not be re-created per request.
                await asyncio.sleep(self.interval)
                if not waiting:
                    break
                now = loop.time()
                for task, seen in list(waiting.items()):
                    if not seen:
                        waiting[task] = now
                    elif now - seen >= self.body_timeout:
                        # It has waited at least since ``seen``: never cut short.
                        waiting.pop(task, None)
                        self._expired.add(task)
                        task.cancel()
        finally:
            self._sweeper = None


def guard(app: ASGIApp, max_header_bytes: int = DEFAULT_MAX_HEADER_BYTES, body_timeout: float = DEFAULT_BODY_TIMEOUT) -> ASGIApp:
    """Wrap ``app`` with the header limit and the slow-body timeout."""
    return _Guard(app, max_header_bytes, body_timeout)
