"""Reading metrics: GetMetricStatistics, GetMetricData (MetricStat and metric math), SEARCH.

Every read is of one region's metrics (``region``; None: the store's default region), as
each CloudWatch endpoint answers with its own region's data."""

from __future__ import annotations

import base64
import dataclasses
import math
import re
import shlex
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from emulator.errors import AwsError
from emulator.monitoring import mathexpr, metrics_insights
from emulator.monitoring.mathexpr import Labelled, MathError, Series
from emulator.monitoring.metrics import Dims, MetricStore, norm_dims
from emulator.monitoring.stats import STANDARD, is_extended

_ID_RE = re.compile(r"^[a-z][a-zA-Z0-9_]*$")
HIGH_RES_PERIODS = (1, 5, 10, 20, 30)


def valid_period(period: int) -> bool:
    return period in HIGH_RES_PERIODS or (period >= 60 and period % 60 == 0)


def valid_stat(stat: str) -> bool:
    return stat in STANDARD or is_extended(stat)


def align(start: float, period: int) -> float:
    """Period starts are aligned to the epoch like CloudWatch's (minute/hour/day boundaries)."""
    step = period if period <= 86400 and 86400 % period == 0 else 60
    return math.floor(start / step) * step


def stat_series(
    store: MetricStore, namespace: str, name: str, dims: Dims, stat: str, period: int, start: float, end: float, unit: str | None = None, region: str | None = None
) -> Series:
    mid = store.find_id(namespace, name, dims, region)
    if mid is None:
        return {}
    buckets = store.buckets(mid, start, end, period, unit, need_values=stat not in STANDARD)
    out: Series = {}
    for t in sorted(buckets):
        v = buckets[t].stat(stat)
        if v is not None:
            out[t] = v
    return out


def statistics_datapoints(
    store: MetricStore, namespace: str, name: str, dims: Dims, start: float, end: float, period: int, stats: Sequence[str], ext: Sequence[str], unit: str | None,
    region: str | None = None,
) -> list[dict[str, Any]]:
    mid = store.find_id(namespace, name, dims, region)
    if mid is None:
        return []
    start = align(start, period)
    buckets = store.buckets(mid, start, end, period, unit, need_values=bool(ext))
    out = []
    for t in sorted(buckets):
        b = buckets[t]
        dp: dict[str, Any] = {"Timestamp": t, "Unit": b.unit or unit or "None"}
        for s in stats:
            v = b.stat(s)
            if v is not None:
                dp[s] = v
        if ext:
            values = {}
            for s in ext:
                v = b.extended(s)
                if v is not None:
                    values[s] = v
            if values:
                dp["ExtendedStatistics"] = values
        out.append(dp)
    return out


# ---------------------------------------------------------------- SEARCH
_SCHEMA_RE = re.compile(r"^\s*\{([^}]*)\}\s*")


def search(store: MetricStore, expression: str, stat: str, period: int, start: float, end: float, region: str | None = None) -> list[Labelled]:
    """SEARCH(' {Namespace, Dim1, Dim2} MetricName="X" term', 'Average', 300): the common forms."""
    if not valid_stat(stat):
        raise MathError(f"Invalid statistic {stat}")
    text = expression
    namespace: str | None = None
    schema_dims: list[str] | None = None
    m = _SCHEMA_RE.match(text)
    if m:
        parts = [p.strip().strip('"') for p in m.group(1).split(",")]
        namespace, schema_dims = parts[0], [p for p in parts[1:] if p]
        text = text[m.end() :]
    try:
        terms = shlex.split(text)
    except ValueError as exc:
        raise MathError(f"Invalid search expression: {exc}") from exc
    exact: list[tuple[str, str]] = []
    free: list[str] = []
    negated: list[str] = []
    skip_next_not = False
    for term in terms:
        if term.upper() in ("AND", "OR"):
            continue
        if term.upper() == "NOT":
            skip_next_not = True
            continue
        if "=" in term:
            k, _, v = term.partition("=")
            exact.append((k, v))
        elif skip_next_not:
            negated.append(term)
        else:
            free.append(term)
        skip_next_not = False
    out: list[Labelled] = []
    for row in store.list_metrics(namespace=namespace, active_since=start - 14 * 86400, region=region):
        dmap = dict(row.dims)
        if schema_dims is not None and sorted(dmap) != sorted(schema_dims):
            continue
        ok = True
        for k, v in exact:
            actual = row.name if k == "MetricName" else row.namespace if k == "Namespace" else dmap.get(k)
            if actual != v:
                ok = False
                break
        haystack = [row.namespace, row.name, *dmap.keys(), *dmap.values()]
        if ok and free and not all(any(f.lower() in h.lower() for h in haystack) for f in free):
            ok = False
        if ok and negated and any(any(n.lower() in h.lower() for h in haystack) for n in negated):
            ok = False
        if not ok:
            continue
        series = stat_series(store, row.namespace, row.name, row.dims, stat, period, start, end, region=region)
        label = " ".join([*(v for _, v in row.dims), row.name])
        out.append(Labelled(label, series))
    return out


# ---------------------------------------------------------------- GetMetricData
@dataclass
class _Query:
    index: int
    id: str
    raw: dict[str, Any]
    node: mathexpr.Node | None
    period: int
    return_data: bool


def _bad(message: str) -> AwsError:
    return AwsError("ValidationError", message, 400)


def prepare(queries: list[dict[str, Any]], default_period: int | None = None) -> list[_Query]:
    if not queries:
        raise _bad("The parameter MetricDataQueries is required.")
    if len(queries) > 500:
        raise _bad("The collection MetricDataQueries must not have a size greater than 500.")
    seen: set[str] = set()
    out = []
    for i, q in enumerate(queries, 1):
        qid = q.get("Id", "")
        if not _ID_RE.match(qid or ""):
            raise _bad(f"Invalid metric data query id: The value {qid} for parameter MetricDataQueries.member.{i}.Id is invalid.")
        if qid in seen:
            raise _bad(f"The value {qid} for parameter MetricDataQueries.member.{i}.Id is duplicated.")
        seen.add(qid)
        has_stat, has_expr = "MetricStat" in q, "Expression" in q
        if has_stat == has_expr:
            raise _bad(f"Exactly one element of MetricStat or Expression in MetricDataQueries.member.{i} must be set.")
        node = None
        period = int(q.get("Period") or default_period or 0)
        if has_stat:
            ms = q["MetricStat"]
            metric = ms.get("Metric") or {}
            if not metric.get("MetricName") or not metric.get("Namespace"):
                raise _bad(f"The parameter MetricDataQueries.member.{i}.MetricStat.Metric.MetricName is required.")
            period = int(ms.get("Period") or 0)
            if not valid_period(period):
                raise _bad(f"The parameter MetricDataQueries.member.{i}.MetricStat.Period must be 1, 5, 10, 20, 30, or any multiple of 60.")
            if not valid_stat(ms.get("Stat", "")):
                raise _bad(f"The value {ms.get('Stat')} for parameter MetricDataQueries.member.{i}.MetricStat.Stat is invalid.")
        else:
            node = metrics_insights.check_expression(q["Expression"])
            if period and not valid_period(period):
                raise _bad(f"The parameter MetricDataQueries.member.{i}.Period must be 1, 5, 10, 20, 30, or any multiple of 60.")
        out.append(_Query(i, qid, q, node, period, q.get("ReturnData", True) is not False))
    if not any(q.return_data for q in out):
        raise _bad("At least one of the MetricDataQueries must have ReturnData set to true.")
    if metrics_insights.count_queries([q.node for q in out]) > 1:
        # GetMetricData: "If you include a Metrics Insights query, each GetMetricData operation can include only one query."
        raise _bad("Only one Metrics Insights query is allowed per request; the other queries may retrieve metrics or compute metric math.")
    ids = {q.id for q in out}
    for prepared in out:
        if prepared.node is not None:
            for ref in mathexpr.referenced_ids(prepared.node):
                if ref not in ids:
                    raise _bad(f"Error in expression '{prepared.raw['Expression']}': Unrecognized metric or expression id: {ref}")
    return out


def evaluate(
    store: MetricStore, queries: list[_Query], start: float, end: float, region: str | None = None, detectors: Any = None, insights_since: float | None = None
) -> list[tuple[_Query, list[Labelled]]]:
    """Run every query; returns, for each ReturnData query, its labelled series. ``detectors``
    (emulator.monitoring.anomaly.AnomalyDetectors) gives ANOMALY_DETECTION_BAND the training
    configuration of the metric's detector, when it has one. A Metrics Insights query reads
    no data before ``insights_since``, when given."""
    by_id = {q.id: q for q in queries}
    stat_periods = [q.period for q in queries if q.node is None]
    cache: dict[str, mathexpr.Value] = {}
    labels: dict[str, str] = {}
    props: dict[str, dict[str, str]] = {}
    visiting: set[str] = set()

    def value_of(qid: str) -> mathexpr.Value:
        if qid in cache:
            return cache[qid]
        if qid in visiting:
            raise _bad(f"Circular dependency detected involving metric data query id {qid}.")
        visiting.add(qid)
        q = by_id[qid]
        result: mathexpr.Value
        if q.node is None:
            ms = q.raw["MetricStat"]
            metric = ms["Metric"]
            qstart = align(start, q.period)
            result = stat_series(
                store, metric["Namespace"], metric["MetricName"], norm_dims(metric.get("Dimensions")), ms["Stat"], q.period, qstart, end, ms.get("Unit"), region
            )
            labels[qid] = q.raw.get("Label") or metric["MetricName"]
            props[qid] = {
                "MetricName": metric["MetricName"], "Namespace": metric["Namespace"], "Period": str(q.period), "Stat": ms["Stat"],
                **{f"Dim.{d['Name']}": d["Value"] for d in metric.get("Dimensions") or []},
            }
        elif metrics_insights.is_node(q.node):
            period = q.period or (min(stat_periods) if stat_periods else 60)
            first = align(max(start, insights_since or start), period)
            result = metrics_insights.evaluate(store, q.node[1], period, first, end, region)
            labels[qid] = q.raw.get("Label") or qid
        else:
            period = q.period or (min(stat_periods) if stat_periods else 60)
            qstart = align(start, period)
            grid = [qstart + k * period for k in range(math.ceil((end - qstart) / period))]

            def metrics(flt: str | None) -> list[Labelled]:
                out = []
                for other in queries:
                    if other.node is None and other.id != qid and (flt is None or flt in other.id):
                        series = value_of(other.id)
                        assert isinstance(series, dict)
                        out.append(Labelled(labels.get(other.id, other.id), series))
                return out

            def band(target_id: str, stddevs: float, owner: _Query = q) -> list[Labelled]:
                if owner.id in _depends_on(by_id, target_id):  # the band's history would need the band itself
                    raise _bad(f"Circular dependency detected involving metric data query id {owner.id}.")
                return _band(store, queries, by_id[target_id], stddevs, owner.raw.get("Label") or owner.id, start, end, region, detectors)

            evaluator = mathexpr.Evaluator(value_of, grid, period, metrics, lambda e, s, p: search(store, e, s, p, align(start, p), end, region), band)
            try:
                result = evaluator.eval(q.node)
            except RecursionError as exc:
                raise _bad(f"Error in expression '{q.raw['Expression'][:100]}': the expression is nested too deeply") from exc
            except (MathError, OverflowError, ValueError) as exc:
                raise _bad(f"Error in expression '{q.raw['Expression']}': {exc}") from exc
            if isinstance(result, float):
                result = {t: result for t in grid} if not math.isnan(result) else {}
            labels[qid] = q.raw.get("Label") or qid
        visiting.discard(qid)
        cache[qid] = result
        return result

    out: list[tuple[_Query, list[Labelled]]] = []
    for q in queries:
        if not q.return_data:
            continue
        value = value_of(q.id)
        if isinstance(value, list) and anomaly_band(q):
            out.append((q, value))  # the band's two series carry the query's label already
        elif isinstance(value, list):
            label = q.raw.get("Label")
            out.append((q, [Labelled(dynamic_label(label, x.label, x.series, {}) if label else x.label, x.series) for x in value]))
        else:
            assert isinstance(value, dict)
            out.append((q, [Labelled(dynamic_label(labels[q.id], labels[q.id], value, props.get(q.id, {})), value)]))
    return out


def _depends_on(by_id: dict[str, _Query], qid: str) -> set[str]:
    """``qid`` and every query it refers to, directly or not."""
    seen: set[str] = set()
    stack = [qid]
    while stack:
        current = stack.pop()
        if current in seen or current not in by_id:
            continue
        seen.add(current)
        node = by_id[current].node
        if node is not None:
            stack.extend(mathexpr.referenced_ids(node))
    return seen


def anomaly_band(q: _Query) -> bool:
    """Whether the query is an ANOMALY_DETECTION_BAND(...) expression."""
    return q.node is not None and q.node[0] == "call" and q.node[1] == "ANOMALY_DETECTION_BAND"


def _band(
    store: MetricStore, queries: list[_Query], target: _Query, stddevs: float, base: str, start: float, end: float, region: str | None, detectors: Any
) -> list[Labelled]:
    """ANOMALY_DETECTION_BAND of ``target`` over [start, end): the model (emulator.monitoring.anomaly)
    trained on the target's history, up to two weeks before ``start``."""
    from emulator.monitoring import anomaly

    if target.node is None:
        ms = target.raw["MetricStat"]
        metric = ms["Metric"]
        period = target.period
        history = stat_series(
            store, metric["Namespace"], metric["MetricName"], norm_dims(metric.get("Dimensions")), ms["Stat"], period,
            align(start - anomaly.TRAINING_WINDOW, period), end, ms.get("Unit"), region,
        )
        config = detectors.config_for_metric(metric["Namespace"], metric["MetricName"], metric.get("Dimensions"), ms["Stat"], region or store.default_region) if detectors else None
    else:
        stat_periods = [q.period for q in queries if q.node is None]
        period = target.period or (min(stat_periods) if stat_periods else 60)
        history = expression_series(store, queries, target.id, start - anomaly.TRAINING_WINDOW, end, region, detectors)
        config = detectors.config_for_expression(target.raw["Expression"], region or store.default_region) if detectors else None
    first = align(start, period)
    grid = [first + k * period for k in range(math.ceil((end - first) / period))]
    return anomaly.band_series(history, grid, stddevs, base, config)


def expression_series(store: MetricStore, queries: list[_Query], qid: str, start: float, end: float, region: str | None = None, detectors: Any = None) -> Series:
    """The single time series of the query ``qid`` of ``queries`` over [start, end)."""
    only = [dataclasses.replace(q, return_data=q.id == qid) for q in queries]
    results = evaluate(store, only, start, end, region, detectors)
    items = results[0][1] if results else []
    if len(items) != 1:
        raise _bad(f"The anomaly detection band needs a single time series, but the query {qid} returns {len(items)}.")
    return items[0].series


_DYNAMIC = re.compile(r"\$\{(AVG|MIN|MAX|SUM|FIRST|LAST|DATAPOINT_COUNT|LABEL|PROP\('([^']+)'\))\}")


def dynamic_label(label: str, default: str, series: Series, properties: dict[str, str]) -> str:
    """Dynamic labels (User Guide, "Use dynamic labels"): ${AVG}, ${MAX}, ${LABEL}, ${PROP('Dim.Host')} ..."""
    if "${" not in label:
        return label
    values = [v for _, v in sorted(series.items())]

    def fmt(v: float) -> str:
        return f"{v:.10g}"

    def repl(m: re.Match[str]) -> str:
        key = m.group(1)
        if key.startswith("PROP"):
            return properties.get(m.group(2), "")
        if key == "LABEL":
            return default if default != label else properties.get("MetricName", "")
        if key == "DATAPOINT_COUNT":
            return str(len(values))
        if not values:
            return ""
        agg = {"AVG": lambda: sum(values) / len(values), "MIN": lambda: min(values), "MAX": lambda: max(values), "SUM": lambda: sum(values), "FIRST": lambda: values[0], "LAST": lambda: values[-1]}
        return fmt(agg[key]())

    return _DYNAMIC.sub(repl, label)


def encode_token(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(data)).decode()


def decode_token(token: str) -> dict[str, Any]:
    try:
        data = orjson.loads(base64.urlsafe_b64decode(token.encode()))
    except (ValueError, orjson.JSONDecodeError) as exc:
        raise AwsError("InvalidNextToken", "The service returned an invalid next token.", 400) from exc
    if not isinstance(data, dict):
        raise AwsError("InvalidNextToken", "The service returned an invalid next token.", 400)
    return data


def token_int(token: str, key: str) -> int:
    value = decode_token(token).get(key, 0)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise AwsError("InvalidNextToken", "The service returned an invalid next token.", 400)
    return value


def get_metric_data(store: MetricStore, params: dict[str, Any], region: str | None = None, detectors: Any = None) -> dict[str, Any]:
    start = params["StartTime"].timestamp()
    end = params["EndTime"].timestamp()
    if end <= start:
        raise _bad("The parameter StartTime must be less than the parameter EndTime.")
    queries = prepare(params.get("MetricDataQueries") or [])
    descending = params.get("ScanBy", "TimestampDescending") != "TimestampAscending"
    max_points = int(params.get("MaxDatapoints") or 100800)
    offset = 0
    if params.get("NextToken"):
        offset = token_int(params["NextToken"], "o")
    # GetMetricData: "Metrics Insights queries can query the most recent two weeks of metric data"
    results = evaluate(store, queries, start, end, region, detectors, time.time() - metrics_insights.QUERY_RANGE)
    out: list[dict[str, Any]] = []
    position = 0  # datapoints before this result, across the whole answer
    budget = max_points
    truncated = False
    for q, items in results:
        for item in items:
            points = sorted(((t, v) for t, v in item.series.items() if math.isfinite(v)), reverse=descending)
            lo = max(0, offset - position)
            position += len(points)
            if lo >= len(points) and points:
                continue
            take = points[lo : lo + budget]
            budget -= len(take)
            partial = lo + len(take) < len(points)
            truncated = truncated or partial
            out.append(
                {
                    "Id": q.id,
                    "Label": item.label,
                    "Timestamps": [t for t, _ in take],
                    "Values": [v for _, v in take],
                    "StatusCode": "PartialData" if partial else "Complete",
                }
            )
    response: dict[str, Any] = {"MetricDataResults": out, "Messages": []}
    if truncated:
        response["NextToken"] = encode_token({"o": offset + max_points})
    return response
