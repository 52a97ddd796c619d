"""Pieces shared by the lifecycle features: settings, clock, errors, timestamps."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import datetime as dt
import os
import time
from collections.abc import Callable, Mapping
from typing import Any

from emulator.dynamodb.core import REGION, table_key
from emulator.dynamodb.storage.base import TableKey, region_of_arn
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


def named_table(tables: Mapping[TableKey, Table], name: Any, region: str, cross_region: bool = False) -> Table:
    """The table a backup or PITR request names (a name or a table ARN) in ``region`` (the
    request's: ``engine.current_region()``; an ARN of another region names no table unless
    ``cross_region``, see core.table_key); the backup APIs answer TableNotFoundException
    where the data plane says ResourceNotFound."""
    key = table_key(name, region, cross_region)
    table = tables.get(key) if key is not None else None
    if table is None:
        if isinstance(name, str) and name.startswith("arn:"):
            name = name.split(":table/", 1)[-1]
        check_table_name(name)
        raise table_not_found(name)
    return table


def visible_here(arn: str) -> bool:
    """Whether the request being served may see the lifecycle record of ``arn`` (a stream,
    backup, export or import ARN): only its own region's, as on AWS. Callers in the process
    that serve no request see every region's."""
    region = REGION.get()
    return region is None or arn_region(arn) == region


def arn_region(arn: str) -> str:
    """The region of a lifecycle record's ARN (a table's, or a stream, backup, export or
    import ARN under it): records are regional, as the tables they belong to."""
    return region_of_arn(arn)


async def stop_task(task: asyncio.Task[Any] | None) -> None:
    """Cancel a background task of the lifecycle and wait for it to end (what it raised on
    the way out was logged where it ran)."""
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
