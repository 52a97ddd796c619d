"""Per-request state passed down the chain: protocols -> gateway -> handlers."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from botocore.model import OperationModel, ServiceModel

from emulator.protocols.base import Request


@dataclass
class Principal:
    """Who signed the request."""

    access_key_id: str
    user_name: str  # "root" for the root key
    arn: str
    account_id: str
    is_root: bool = False


@dataclass
class RequestContext:
    request_id: str
    request: Request
    started: float = field(default_factory=time.perf_counter)
    service_name: str | None = None
    service: ServiceModel | None = None
    operation: OperationModel | None = None
    protocol: str | None = None
    region: str = "us-east-1"
    account_id: str = "000000000000"
    principal: Principal | None = None
    params: dict[str, Any] = field(default_factory=dict)
    native: bool = True
    # Set from the protocol: the output will be encoded by orjson, so it may hold
    # orjson.Fragment values (JSON encoded already, e.g. DynamoDB items as stored).
    raw_json: bool = False
    # Filled by handlers for telemetry (e.g. DynamoDB table name, consumed capacity).
    telemetry: dict[str, Any] = field(default_factory=dict)
    # Write the answer at once instead of with the others of its event-loop pass
    # (emulator/uvicorn_send.py): set for answers released by a group commit or an fsync.
    # Those leave in one burst anyway, and each client's next write should reach the
    # next group commit as early as it can (bench/RESULTS.md, gateway twelfth round).
    answer_at_once: bool = False

    @property
    def operation_name(self) -> str | None:
        return self.operation.name if self.operation is not None else None
