"""Instance records: the Instance dataclass, EC2's state codes, and the errors the manager raises.

Persisted as-is (``dataclasses.asdict``) in ``<data_dir>/compute/instances.json`` by
emulator.compute.instances.InstanceManager, which re-exports these names.
"""

from __future__ import annotations

import datetime as dt
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

STATE_CODES = {"pending": 0, "running": 16, "shutting-down": 32, "terminated": 48, "stopping": 64, "stopped": 80}
CONSOLE_LIMIT = 64 * 1024
REMOTE_TYPE_DESCRIPTION = "an attached remote OpenAI-compatible server"  # GetConsoleOutput returns the most recent 64 KB


def _now() -> float:
    return time.time()


def _gmt(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%d %H:%M:%S GMT")


def new_instance_id() -> str:
    return "i-" + secrets.token_hex(9)[:17]


@dataclass
class Instance:
    instance_id: str
    image_id: str
    model_name: str
    instance_type: str
    reservation_id: str
    launch_time: float
    state: str = "pending"
    state_reason: dict[str, str] | None = None
    state_transition_reason: str = ""
    tags: dict[str, str] = field(default_factory=dict)
    user_data: str = ""  # base64, as stored by EC2
    client_token: str = ""
    shutdown_behavior: str = "stop"
    disable_api_termination: bool = False  # termination protection: TerminateInstances refuses it
    ami_launch_index: int = 0
    private_ip: str = ""
    console: str = ""
    job: dict[str, Any] | None = None
    job_status: str = ""  # "", "running", "completed", "failed"
    job_done: bool = False
    on_demand: bool = False
    terminated_at: float = 0.0
    availability_zone: str = ""
    requester: str = ""
    remote_url: str = ""  # set on an attached remote server (attach.py)
    attach_source: str = ""  # "cli" or "settings" for attached servers
    # KeyName, SubnetId, VpcId, SecurityGroups as RunInstances resolved them against the moto
    # fallback's key pairs, subnets and security groups (handlers/ec2.py); shown by DescribeInstances.
    network: dict[str, Any] = field(default_factory=dict)

    @property
    def state_code(self) -> int:
        return STATE_CODES[self.state]

    @property
    def region(self) -> str:
        """The region it was launched in: its zone's (``us-east-1a`` -> ``us-east-1``)."""
        return self.availability_zone[:-1]

    def log(self, line: str) -> None:
        stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")
        self.console = (self.console + f"[{stamp}] {line}\n")[-CONSOLE_LIMIT:]


class LaunchError(Exception):
    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


class NotReady(Exception):
    pass
