"""Alarm state changes to EventBridge, and the way into moto's backends that alarm actions take.

Every state change of a metric or composite alarm puts a "CloudWatch Alarm State Change" event
(source ``aws.cloudwatch``) on the default event bus of the alarm's account and Region, shaped
as the CloudWatch User Guide's "Alarm events and EventBridge" shows: ``detail`` has
``alarmName``, ``state`` and ``previousState`` (``value``, ``reason``, ``reasonData``,
``timestamp``) and ``configuration`` (``description`` and ``metrics`` for a metric alarm,
``alarmRule`` and the actions suppressor for a composite one); ``resources`` is the alarm's ARN.
The event goes through moto's events backend as PutEvents puts it (its rules match it, their
targets get it), on the actions' thread pool: never on the request path, nor the event loop.

EventBridge and SNS are served in process by moto (the fallback): ``moto_call`` runs a function
holding the service's moto locks (``MotoFallback.change``, on the server's event loop), waiting
for it from the calling worker thread. Without a fallback serving the service, or before the
server's loop runs (the alarm manager used on its own, as unit tests do), nothing is put."""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime as dt
import json
import logging
import time
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

log = logging.getLogger("emulator.monitoring.alarms")

T = TypeVar("T")
SOURCE = "aws.cloudwatch"
DETAIL_TYPE = "CloudWatch Alarm State Change"
WAIT = 60.0  # seconds a worker waits for moto before it gives up
SLICE = 0.25  # ... checking this often whether the server is stopping


def iso(ts: float) -> str:
    """A time as alarm notifications, events and history write it: ``2019-10-02T17:04:40.989+0000``."""
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+0000"


class MotoUnavailable(RuntimeError):
    """No fallback serves the service, or the server's event loop is not running."""


def _bridge(components: dict[str, Any], service: str) -> tuple[Any, Any, Any] | None:
    """(fallback, event loop, stop flag) of the running server, None when ``service`` cannot be reached."""
    monitoring = components.get("monitoring")
    fallback = getattr(getattr(monitoring, "runtime", None), "fallback", None)
    loop = getattr(monitoring, "_loop", None)
    if fallback is None or loop is None or not loop.is_running() or not fallback.supports(service):
        return None
    return fallback, loop, getattr(monitoring, "_stop", None)


def moto_served(components: dict[str, Any], service: str) -> bool:
    return _bridge(components, service) is not None


def moto_call(components: dict[str, Any], service: str, fn: Callable[[Any], T]) -> T:
    """``fn(fallback)`` holding moto's locks of ``service``, from a worker thread (never the
    event loop's). Gives up after WAIT seconds, or at once when the server stops (its loop
    then waits for the actions' pool, so waiting on the loop would only delay the stop)."""
    bridge = _bridge(components, service)
    if bridge is None:
        raise MotoUnavailable(f"{service} is not served by this endpoint")
    fallback, loop, stop = bridge
    if stop is not None and stop.is_set():
        raise MotoUnavailable("the server is stopping")
    future = asyncio.run_coroutine_threadsafe(fallback.change(service, lambda: fn(fallback)), loop)
    deadline = time.monotonic() + WAIT
    while True:
        try:
            return future.result(timeout=SLICE)
        except concurrent.futures.TimeoutError:
            if (stop is not None and stop.is_set()) or time.monotonic() > deadline:
                future.cancel()
                raise RuntimeError(f"{service} did not answer in time") from None


def event_state(alarm: dict[str, Any]) -> dict[str, Any]:
    """An alarm's state as the event's ``state``/``previousState`` give it."""
    out: dict[str, Any] = {"value": alarm["StateValue"], "reason": alarm.get("StateReason", "")}
    if alarm.get("StateReasonData"):
        out["reasonData"] = alarm["StateReasonData"]
    out["timestamp"] = iso(alarm["StateUpdatedTimestamp"])
    return out


def _metric_stat(namespace: Any, name: Any, dimensions: Any, period: Any, stat: Any) -> dict[str, Any]:
    dims = {d["Name"]: d["Value"] for d in dimensions or []}
    return {"metric": {"dimensions": dims, "name": name, "namespace": namespace}, "period": period, "stat": stat}


def _query(q: dict[str, Any]) -> dict[str, Any]:
    """A Metrics entry of the alarm (MetricDataQuery) as the event lists it."""
    out: dict[str, Any] = {"id": q["Id"]}
    if q.get("Expression"):
        out["expression"] = q["Expression"]
    if q.get("Label"):
        out["label"] = q["Label"]
    stat = q.get("MetricStat")
    if stat:
        metric = stat["Metric"]
        out["metricStat"] = _metric_stat(metric.get("Namespace"), metric.get("MetricName"), metric.get("Dimensions"), stat.get("Period"), stat.get("Stat"))
    out["returnData"] = q.get("ReturnData", True)
    return out


def configuration(alarm: dict[str, Any]) -> dict[str, Any]:
    """The event's ``configuration``: the alarm rule of a composite alarm, the metrics of a metric alarm."""
    out: dict[str, Any] = {}
    if alarm.get("AlarmDescription"):
        out["description"] = alarm["AlarmDescription"]
    if "AlarmRule" in alarm:
        out["alarmRule"] = alarm["AlarmRule"]
        for key, field in (("ActionsSuppressor", "actionsSuppressor"), ("ActionsSuppressorWaitPeriod", "actionsSuppressorWaitPeriod"),
                           ("ActionsSuppressorExtensionPeriod", "actionsSuppressorExtensionPeriod")):
            if alarm.get(key) is not None:
                out[field] = alarm[key]
        return out
    if alarm.get("Metrics"):
        out["metrics"] = [_query(q) for q in alarm["Metrics"]]
        return out
    # A single-metric alarm is shown as one query; its id is a UUID on AWS (the guide's
    # example), here one derived from the alarm's ARN so that it stays the same (ours).
    stat = alarm.get("Statistic") or alarm.get("ExtendedStatistic")
    query = {"id": str(uuid.uuid5(uuid.NAMESPACE_URL, alarm["AlarmArn"])),
             "metricStat": _metric_stat(alarm.get("Namespace"), alarm.get("MetricName"), alarm.get("Dimensions"), alarm.get("Period"), stat),
             "returnData": True}
    out["metrics"] = [query]
    return out


class AlarmEvents:
    """Mixed into RegionAlarms through AlarmActions: the EventBridge event of a state change."""

    alarms: dict[str, dict[str, Any]]
    region: str
    components: dict[str, Any]
    manager: Any
    _pool: Any

    def _event_state(self, name: str) -> dict[str, Any] | None:
        """The alarm's state before a change (under the lock), None when no event will be put."""
        if not moto_served(self.components, "events"):
            return None
        return event_state(self.alarms[name])

    def _state_change_event(self, name: str, previous: dict[str, Any] | None, now: float) -> None:
        """Queue the event of the state change just made (under the lock): built here, put by the pool."""
        if previous is None:
            return
        alarm = self.alarms[name]
        detail = {"alarmName": name, "state": event_state(alarm), "previousState": previous, "configuration": configuration(alarm)}
        entry = {"Source": SOURCE, "DetailType": DETAIL_TYPE, "Detail": json.dumps(detail, default=str), "Resources": [alarm["AlarmArn"]], "Time": now}
        self._pool.submit(self._put_event, name, entry, self.manager._generation)

    def _put_event(self, name: str, entry: dict[str, Any], generation: int) -> None:
        if generation != self.manager._generation:  # the alarm was forgotten since (reset)
            return
        region = self.region

        def put(fallback: Any) -> list[dict[str, Any]]:
            return list(fallback.backend("events", region).put_events([entry]))

        try:
            results = moto_call(self.components, "events", put)
        except Exception as exc:  # noqa: BLE001 - an event that cannot be put is logged, the alarm goes on
            log.warning("alarm %s: state change event not put on EventBridge: %s", name, exc)
            return
        failed = [r for r in results if "ErrorCode" in r]
        if failed:
            log.warning("alarm %s: state change event refused by EventBridge: %s", name, failed[0].get("ErrorMessage"))
