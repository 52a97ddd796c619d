"""Fallback: services with no native handler are served in-process by moto.

Requests reach moto only after our own SigV4 verification; moto's werkzeug
dispatcher is a WSGI app, so it runs in a worker thread off the event loop.
Native handlers always win: this is consulted only when none exists.
"""

from __future__ import annotations

import asyncio
import io
import sys
import threading
from typing import Any

from emulator.protocols.base import Request, Response

# moto's own names for services whose botocore name differs.
_MOTO_NAMES = {"monitoring": "cloudwatch", "email": "ses", "states": "stepfunctions"}


class MotoFallback:
    def __init__(self) -> None:
        self._app: Any = None
        self._lock = threading.Lock()
        self._supported: set[str] | None = None

    def _wsgi(self) -> Any:
        if self._app is None:
            with self._lock:
                if self._app is None:
                    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

                    self._app = DomainDispatcherApplication(create_backend_app)
        return self._app

    def supports(self, service: str) -> bool:
        if self._supported is None:
            from moto.backends import list_of_moto_modules  # type: ignore[attr-defined]

            self._supported = set()
            for name in list_of_moto_modules():
                self._supported.add(name.replace("_", "-"))
                self._supported.add(name)
        name = _MOTO_NAMES.get(service, service)
        return name in self._supported or name.replace("-", "") in self._supported

    async def dispatch(self, request: Request) -> Response:
        return await asyncio.to_thread(self._call, request)

    def _call(self, request: Request) -> Response:
        host = request.headers.get("host", "localhost")
        server_name, _, port = host.partition(":")
        environ = {
            "REQUEST_METHOD": request.method,
            "SCRIPT_NAME": "",
            "PATH_INFO": request.path,
            "RAW_URI": request.raw_path + ("?" + request.query_string if request.query_string else ""),
            "QUERY_STRING": request.query_string,
            "SERVER_NAME": server_name,
            "SERVER_PORT": port or "80",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": request.scheme,
            "wsgi.input": io.BytesIO(request.body),
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
            "CONTENT_LENGTH": str(len(request.body)),
            "REMOTE_ADDR": request.client_ip or "127.0.0.1",
        }
        if "content-type" in request.headers:
            environ["CONTENT_TYPE"] = request.headers["content-type"]
        for name, value in request.headers.items():
            if name in ("content-type", "content-length"):
                continue
            environ["HTTP_" + name.upper().replace("-", "_")] = value
        status_holder: dict[str, Any] = {}

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            status_holder["status"] = int(status.split(" ", 1)[0])
            status_holder["headers"] = headers
            return lambda data: None

        chunks = self._wsgi()(environ, start_response)
        try:
            body = b"".join(chunks)
        finally:
            close = getattr(chunks, "close", None)
            if close:
                close()
        headers = {k.lower(): v for k, v in status_holder.get("headers", []) if k.lower() not in ("content-length", "server", "date", "connection")}
        return Response(status_holder.get("status", 500), headers, body)
