"""Embedded metric format (EMF): metrics carried in log events (CloudWatch User Guide,
"Specification: Embedded metric format").

PutLogEvents extracts them only when the request has the header ``x-amzn-logs-format:
json/emf`` (the CloudWatch agent and Lambda send it; emulator.handlers.logs checks it). This
module is the pure part: accepted log events -> :class:`Datum` s, as PutMetricData would
store them (same store, same limits), in the request's region.

A document is a log event whose message is a JSON object with ``_aws`` = {"Timestamp":
epoch ms, "CloudWatchMetrics": [directive, ...]}; a directive is {"Namespace", "Dimensions":
[[dimension names], ...], "Metrics": [{"Name", "Unit"?, "StorageResolution"? 1|60}]}.
Each metric of each dimension set of each directive is one datum: its value is the root member
named like the metric (a number, or an array of up to 100 numbers), the dimension values the
root members named like the dimensions (strings); an empty set ``[]`` is the metric without
dimensions. A document that breaks the specification yields nothing (its event is stored
all the same, without an error to the caller); a directive in an ``AWS/`` namespace is
skipped, as PutMetricData refuses those namespaces."""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any, TypeGuard

import orjson

from emulator.monitoring.metrics import MAX_MAGNITUDE, MIN_MAGNITUDE, UNITS, Datum

HEADER = "x-amzn-logs-format"  # lower-cased, as Request.headers has names
FORMAT = "json/emf"

MAX_DIMENSIONS = 30  # per dimension set
MAX_METRICS = 100  # per directive
MAX_VALUES = 100  # per metric value array
# PutMetricData's limits, which the extracted metrics meet too
MAX_NAME = 255
MAX_DIMENSION_VALUE = 1024
PAST_SECONDS = 14 * 86400
FUTURE_SECONDS = 2 * 3600


class Invalid(Exception):
    """The document does not follow the specification: nothing is extracted from it."""


def requested(header: str | None) -> bool:
    """Whether the value of the ``x-amzn-logs-format`` header asks for extraction."""
    return header is not None and header.strip().lower() == FORMAT


def extract(events: Iterable[dict[str, Any]], region: str, now: float | None = None) -> list[Datum]:
    """The datums of the EMF documents among ``events`` (PutLogEvents' accepted events);
    events that are not documents, or not valid ones, yield nothing."""
    now = time.time() if now is None else now
    out: list[Datum] = []
    for event in events:
        message = event.get("message")
        if not isinstance(message, str) or "_aws" not in message:
            continue
        try:
            doc = orjson.loads(message)
        except orjson.JSONDecodeError:
            continue
        if not isinstance(doc, dict):
            continue
        try:
            out.extend(document(doc, region, now))
        except Invalid:
            continue
    return out


def document(doc: dict[str, Any], region: str, now: float) -> list[Datum]:
    """The datums of one parsed document; :class:`Invalid` when it breaks the specification."""
    meta = doc.get("_aws")
    if not isinstance(meta, dict):
        raise Invalid("_aws must be an object")
    stamp = meta.get("Timestamp")
    if not _is_number(stamp):
        raise Invalid("_aws.Timestamp must be a number")
    ts = float(stamp) / 1000.0
    if not now - PAST_SECONDS <= ts <= now + FUTURE_SECONDS:
        raise Invalid("_aws.Timestamp is out of the range PutMetricData takes")
    directives = meta.get("CloudWatchMetrics")
    if not isinstance(directives, list):
        raise Invalid("_aws.CloudWatchMetrics must be an array")
    out: list[Datum] = []
    for directive in directives:
        out.extend(_directive(directive, doc, ts, region))
    return out


def _directive(directive: Any, doc: dict[str, Any], ts: float, region: str) -> list[Datum]:
    if not isinstance(directive, dict):
        raise Invalid("a metric directive must be an object")
    ns, dimension_sets, metrics = directive.get("Namespace"), directive.get("Dimensions"), directive.get("Metrics")
    if not isinstance(ns, str) or not ns.strip() or len(ns) > MAX_NAME or ":" in ns:
        raise Invalid("Namespace")
    if not isinstance(dimension_sets, list) or not isinstance(metrics, list) or len(metrics) > MAX_METRICS:
        raise Invalid("Dimensions or Metrics")
    dims = [_dimensions(names, doc) for names in dimension_sets]
    values = [_metric(metric, doc) for metric in metrics]
    if ns.startswith("AWS/"):
        return []
    out: list[Datum] = []
    for dim_set in dims:
        for name, unit, resolution, (total, count, lo, hi, flat) in values:
            out.append(Datum(ns, name, dim_set, ts, total, count, lo, hi, flat, unit, resolution, 0, region))
    return out


def _dimensions(names: Any, doc: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    if not isinstance(names, list) or len(names) > MAX_DIMENSIONS:
        raise Invalid("a dimension set must be an array of at most 30 names")
    pairs: dict[str, str] = {}
    for name in names:
        if not isinstance(name, str) or not name or len(name) > MAX_NAME or name in pairs:
            raise Invalid("dimension name")
        value = doc.get(name)
        if not isinstance(value, str) or not value or len(value) > MAX_DIMENSION_VALUE:
            raise Invalid(f"dimension {name}: the root member must be a string")
        pairs[name] = value
    return tuple(sorted(pairs.items()))  # as emulator.monitoring.metrics.norm_dims orders them


def _metric(metric: Any, doc: dict[str, Any]) -> tuple[str, str | None, int, tuple[float, float, float, float, list[float] | None]]:
    if not isinstance(metric, dict):
        raise Invalid("a metric definition must be an object")
    name, unit, resolution = metric.get("Name"), metric.get("Unit"), metric.get("StorageResolution", 60)
    if not isinstance(name, str) or not name or len(name) > MAX_NAME:
        raise Invalid("metric Name")
    if unit is not None and unit not in UNITS:
        raise Invalid("metric Unit")
    if resolution is None:
        resolution = 60
    if isinstance(resolution, bool) or resolution not in (1, 60):
        raise Invalid("metric StorageResolution")
    return name, unit, int(resolution), _value(doc.get(name))


def _value(raw: Any) -> tuple[float, float, float, float, list[float] | None]:
    """(sum, count, min, max, flat value/count pairs or None) of a metric's root member."""
    if _is_number(raw):
        v = _checked(raw)
        return v, 1.0, v, v, None
    if not isinstance(raw, list) or not raw or len(raw) > MAX_VALUES:
        raise Invalid("a metric value must be a number or an array of 1 to 100 numbers")
    merged: dict[float, float] = {}
    for item in raw:
        if not _is_number(item):
            raise Invalid("a metric value array must hold numbers")
        v = _checked(item)
        merged[v] = merged.get(v, 0.0) + 1.0
    # as PutMetricData's Values: the distinct values with their counts, for percentiles
    flat = [x for pair in merged.items() for x in pair]
    return sum(v * c for v, c in merged.items()), float(len(raw)), min(merged), max(merged), flat


def _is_number(v: Any) -> TypeGuard[int | float]:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _checked(v: float) -> float:
    f = float(v)
    if f != 0 and not MIN_MAGNITUDE <= abs(f) <= MAX_MAGNITUDE:  # PutMetricData refuses these (also NaN, infinities)
        raise Invalid(f"metric value {v} is out of range")
    return f
