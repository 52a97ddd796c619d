"""A real emulator (uvicorn, real sockets) in this process, with scripted native handlers.

Protocol tests need the whole chain (detect -> parse -> ... -> serialize) for
services whose real handlers belong to other areas, so each service here gets a
``ScriptedHandler``: every operation of the model is "native" and answers with
whatever the test registered (a dict, a callable, or an ``AwsError`` to raise).
Operations nobody scripted raise AWS's error for an unsupported operation.
"""

from __future__ import annotations

import socket
import tempfile
import threading
import time
from collections.abc import Callable
from typing import Any

import boto3
import uvicorn
from botocore.config import Config

from emulator import services
from emulator.app import create_app
from emulator.context import RequestContext
from emulator.errors import AwsError
from emulator.handlers.base import ServiceHandler
from emulator.runtime import Runtime
from emulator.settings import Settings

ACCESS_KEY = "AKIAPROTOCOLTEST0001"
SECRET_KEY = "protocol-test-secret-key-000000000000000"

Script = dict[str, Any] | AwsError | Callable[[dict[str, Any]], Any]


class ScriptedHandler(ServiceHandler):
    def __init__(self, runtime: Runtime, service: str) -> None:
        super().__init__(runtime)
        self.service_name = service
        self.scripts: dict[str, Script] = {}
        self.calls: list[tuple[str, dict[str, Any]]] = []
        for op in services.service_model(service).operation_names:
            self.operations[op] = (self._make(op), True)

    async def reset(self) -> None:
        self.calls.clear()

    def _make(self, op: str) -> Callable[[RequestContext, dict[str, Any]], Any]:
        async def run(ctx: RequestContext, params: dict[str, Any]) -> Any:
            self.calls.append((op, params))
            script = self.scripts.get(op)
            if script is None:
                raise AwsError("UnknownOperationException", f"{op} is not scripted in this test", 400)
            if isinstance(script, AwsError):
                raise script
            if callable(script):
                return script(params)
            return script

        return run


class ProtocolServer:
    def __init__(self, native: tuple[str, ...]) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="emulator-proto-")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = int(s.getsockname()[1])
        settings = Settings(
            port=self.port,
            data_dir=__import__("pathlib").Path(self._tmp.name),
            services=[],
            root_access_key_id=ACCESS_KEY,
            root_secret_access_key=SECRET_KEY,
            access_log=False,
            telemetry=False,
        )
        self.access_key, self.secret_key, self.region = ACCESS_KEY, SECRET_KEY, "us-east-1"
        self.runtime = Runtime(settings)
        self.handlers: dict[str, ScriptedHandler] = {}
        for name in native:
            handler = ScriptedHandler(self.runtime, name)
            self.handlers[name] = handler
            self.runtime.handlers[name] = handler
        app = create_app(self.runtime)
        self.runtime.app = app
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, lifespan="on", log_level="warning", access_log=False)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ProtocolServer:
        self.thread.start()
        deadline = time.time() + 30
        while not self.server.started:
            if time.time() > deadline or not self.thread.is_alive():
                raise RuntimeError("in-process emulator did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(15)
        self._tmp.cleanup()

    def script(self, service: str, op: str, script: Script) -> None:
        self.handlers[service].scripts[op] = script

    def client(self, service: str, **kwargs: Any) -> Any:
        config = Config(retries={"max_attempts": 1}, **kwargs.pop("config_kwargs", {}))
        kwargs.setdefault("aws_access_key_id", ACCESS_KEY)
        kwargs.setdefault("aws_secret_access_key", SECRET_KEY)
        return boto3.client(service, endpoint_url=self.endpoint, region_name="us-east-1", config=config, **kwargs)
