"""Pieces shared by the lifecycle features: settings, clock, errors, timestamps."""

from __future__ import annotations

import contextvars
import datetime as dt
import os
import time
from collections.abc import Callable, Mapping
from typing import Any

from emulator.dynamodb.tables import Table, check_table_name
from emulator.errors import AwsError

Clock = Callable[[], float]

# Who made the write being recorded: None for a caller's request, or the
# userIdentity DynamoDB puts on records of its own deletions (TTL).
WRITER_IDENTITY: contextvars.ContextVar[dict[str, str] | None] = contextvars.ContextVar("ddb_writer_identity", default=None)

# Identity shape members as the Streams API writes them (Lambda events show them lower-cased).
TTL_IDENTITY = {"PrincipalId": "dynamodb.amazonaws.com", "Type": "Service"}


def setting(extra: dict[str, Any], name: str, default: float) -> float:
    """A number from settings.extra (config file / overrides) or EMULATOR_<NAME>."""
    value = extra.get(name, os.environ.get("EMULATOR_" + name.upper()))
    if value is None:
        return default
    try:
        return float(value)
    except (TypeError, ValueError):
        return default


def wire_time(ts: float) -> float:
    """Timestamps leave as epoch seconds (the json protocol's wire form)."""
    return round(float(ts), 3)


def iso(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, tz=dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def epoch(value: Any) -> float | None:
    """A timestamp parameter (datetime, or number when called in-process) as epoch seconds."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value.timestamp()
    if isinstance(value, int | float):
        return float(value)
    raise AwsError("ValidationException", f"Invalid timestamp: {value}", 400)


def now_clock() -> float:
    return time.time()


def table_not_found(name: Any) -> AwsError:
    return AwsError("TableNotFoundException", f"Table not found: {name}", 400)


def named_table(tables: Mapping[str, Table], name: Any) -> Table:
    """The table a backup or PITR request names (a name or a table ARN); the backup
    APIs answer TableNotFoundException where the data plane says ResourceNotFound."""
    if isinstance(name, str) and name.startswith("arn:"):
        name = name.split(":table/", 1)[-1]
    table = tables.get(name) if isinstance(name, str) else None
    if table is None:
        check_table_name(name)
        raise table_not_found(name)
    return table
