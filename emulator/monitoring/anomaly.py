"""CloudWatch anomaly detection: the detectors (PutAnomalyDetector, DescribeAnomalyDetectors,
DeleteAnomalyDetector) and the model behind ``ANOMALY_DETECTION_BAND(m1, stddevs)``.

What AWS does: a machine-learning model per metric (or metric-math expression), trained on
up to two weeks of the metric's history, with daily and weekly seasonality and trend; the
band is the model's expected value plus and minus ``stddevs`` standard deviations (default
2). Creating a model (explicitly, or by graphing/alarming on the band) starts its training:
the detector is PENDING_TRAINING, then TRAINED_INSUFFICIENT_DATA while the history is too
short to model, then TRAINED. ExcludedTimeRanges are left out of the training data, and
MetricTimezone makes the daily pattern follow local time (and daylight saving).

What this does, a simple documented statistical model (``band``): for each period of the
answer, the datapoints of the training window before it (at most two weeks, minus the
excluded ranges) give a mean and a standard deviation:
- the datapoints within half an hour of the same time of day (in the detector's
  MetricTimezone) on each earlier day of the window, once the history before that point spans
  at least ``SEASONAL_DAYS`` days and those hold at least ``MIN_POINTS`` datapoints: a daily
  seasonal profile;
- otherwise over the whole window before the point: the rolling mean and deviation, for a
  metric with little history.
The band is mean +/- stddevs x deviation, the deviation floored at 1% of the mean so a
constant metric still has a (narrow) band. Points with fewer than ``MIN_POINTS`` datapoints
of history before them get no band value, as AWS draws no band before its model has data.
Only the past is used at each point: a spike never widens its own band.
"""

from __future__ import annotations

import bisect
import datetime as dt
import hashlib
import math
import threading
import time
import zoneinfo
from collections.abc import Callable
from typing import Any

import orjson

from emulator.errors import AwsError
from emulator.monitoring.mathexpr import Labelled, Series
from emulator.monitoring.metrics import MetricStore, norm_dims
from emulator.monitoring.statedb import StateDB

TRAINING_WINDOW = 14 * 86400  # "up to two weeks of the metric's data"
MIN_POINTS = 5  # datapoints of history a band value needs
SEASONAL_DAYS = 2  # days of history before the daily profile is used
SEASONAL_HALF_WIDTH = 1800  # seconds either side of the same time of day on earlier days
STDDEV_FLOOR = 0.01  # of |mean|: a constant metric keeps a narrow band
MAX_DETECTORS = 500  # "Anomaly detection models: 500 per Region" (service quotas)
MAX_EXCLUDED = 10  # "You can specify as many as 10 time ranges."
DEFAULT_STDDEVS = 2.0
TYPES = ("SINGLE_METRIC", "METRIC_MATH")
STATES = ("PENDING_TRAINING", "TRAINED_INSUFFICIENT_DATA", "TRAINED")
UPPER, LOWER = "High", "Low"  # suffixes of the band's two series (see band_labels)


def _invalid(message: str) -> AwsError:
    return AwsError("InvalidParameterValue", message, 400)


def _missing(message: str) -> AwsError:
    return AwsError("MissingParameter", message, 400)


def _combination(message: str) -> AwsError:
    return AwsError("InvalidParameterCombination", message, 400)


# ------------------------------------------------------------------ the model
def band(history: Series, grid: list[float], stddevs: float, tz: str | None = None, excluded: list[tuple[float, float]] | None = None) -> tuple[Series, Series]:
    """The (upper, lower) band at each of ``grid`` (period starts) from ``history`` (timestamp ->
    value at the same period; may reach back up to TRAINING_WINDOW before the grid). Sums over
    any time range come from prefix sums of the sorted history, so each band value costs a
    binary search per day of the window."""
    zone = _zone(tz)
    ranges = excluded or []
    points = sorted((t, v) for t, v in history.items() if math.isfinite(v) and not any(a <= t < b for a, b in ranges))
    upper: Series = {}
    lower: Series = {}
    if not points:
        return upper, lower
    shift = points[0][1]  # sums of (v - shift): no catastrophic cancellation for large, steady values
    times = [t for t, _ in points]
    sums, squares = [0.0], [0.0]
    for _, v in points:
        sums.append(sums[-1] + (v - shift))
        squares.append(squares[-1] + (v - shift) ** 2)

    def stats(lo: float, hi: float) -> tuple[int, float, float]:
        # The points in [lo, hi): their count, sum and sum of squares.
        i, j = bisect.bisect_left(times, lo), bisect.bisect_left(times, hi)
        return j - i, sums[j] - sums[i], squares[j] - squares[i]

    for t in grid:
        start = t - TRAINING_WINDOW
        n, s, ss = stats(start, t)
        if n < MIN_POINTS:
            continue
        first = times[bisect.bisect_left(times, start)]
        if t - first >= SEASONAL_DAYS * 86400:
            # The same time of day on each earlier day of the window, SEASONAL_HALF_WIDTH either
            # side (centred, so a metric that rises or falls through the day is compared with
            # the same moment of its day, not with a whole clock hour).
            seasonal = [0, 0.0, 0.0]
            for day in range(1, TRAINING_WINDOW // 86400 + 1):
                centre = _days_before(t, day, zone)
                if centre + SEASONAL_HALF_WIDTH <= start:
                    break
                m, ms, mss = stats(max(centre - SEASONAL_HALF_WIDTH, start), min(centre + SEASONAL_HALF_WIDTH, t))
                seasonal[0] += m
                seasonal[1] += ms
                seasonal[2] += mss
            if seasonal[0] >= MIN_POINTS:
                n, s, ss = int(seasonal[0]), seasonal[1], seasonal[2]
        mean = s / n
        var = max(0.0, ss / n - mean * mean)
        mean += shift
        dev = max(math.sqrt(var), STDDEV_FLOOR * abs(mean))
        upper[t] = mean + stddevs * dev
        lower[t] = mean - stddevs * dev
    return upper, lower


def _days_before(t: float, days: int, zone: dt.tzinfo) -> float:
    """The same local time of day ``days`` days before ``t`` (across a daylight-saving change,
    the same wall-clock time)."""
    if zone is dt.UTC:
        return t - days * 86400
    # Arithmetic on an aware datetime moves its wall-clock time; timestamp() then applies the
    # offset in force on that day.
    return (dt.datetime.fromtimestamp(t, zone) - dt.timedelta(days=days)).timestamp()


def _zone(tz: str | None) -> dt.tzinfo:
    if not tz:
        return dt.UTC
    try:
        return zoneinfo.ZoneInfo(tz)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return dt.UTC



def band_labels(base: str) -> tuple[str, str]:
    """Labels of the band's upper and lower series: the query's label (or id) and a suffix."""
    return f"{base} {UPPER}", f"{base} {LOWER}"


def band_series(history: Series, grid: list[float], stddevs: float, base: str, config: dict[str, Any] | None) -> list[Labelled]:
    """ANOMALY_DETECTION_BAND's value: two labelled series, upper first."""
    tz, excluded = _training(config)
    upper, lower = band(history, grid, stddevs, tz, excluded)
    hi, lo = band_labels(base)
    return [Labelled(hi, upper), Labelled(lo, lower)]


def _training(config: dict[str, Any] | None) -> tuple[str | None, list[tuple[float, float]]]:
    if not config:
        return None, []
    return config.get("MetricTimezone"), [(float(r["StartTime"]), float(r["EndTime"])) for r in config.get("ExcludedTimeRanges") or []]


# ------------------------------------------------------------------ the detectors
def _stamp(value: Any) -> float:
    return value.timestamp() if isinstance(value, dt.datetime) else float(value)


class AnomalyDetectors:
    """The detectors of every region, kept in the monitoring state database (table
    ``anomaly_detector``: region, id, body). A detector's id is derived from its definition,
    so putting the same metric (or the same math) again updates it, as on AWS."""

    def __init__(self, db: StateDB, store: MetricStore, clock: Callable[[], float] = time.time, training_delay: float = 300.0) -> None:
        self.db = db
        self.store = store
        self.clock = clock
        # How long a new model is PENDING_TRAINING (AWS: minutes; ``anomaly_training_delay``).
        self.training_delay = training_delay
        self.lock = threading.RLock()
        self._by_region: dict[str, dict[str, dict[str, Any]]] = {}
        for region, did, body in db.query("SELECT region, id, body FROM anomaly_detector"):
            self._by_region.setdefault(region, {})[did] = orjson.loads(body)

    def reset(self) -> None:
        with self.lock:
            self._by_region.clear()
            self.db.clear("anomaly_detector")

    # ------------------------------------------------------------ parsing a definition
    def definition(self, p: dict[str, Any], required: bool = True) -> tuple[str, dict[str, Any]] | None:
        """(type, canonical definition) of the request's detector: the legacy top-level
        fields, SingleMetricAnomalyDetector or MetricMathAnomalyDetector, never two."""
        legacy = [k for k in ("Namespace", "MetricName", "Dimensions", "Stat") if p.get(k) is not None]
        single, math_ = p.get("SingleMetricAnomalyDetector"), p.get("MetricMathAnomalyDetector")
        given = [bool(legacy), single is not None, math_ is not None]
        if sum(given) > 1:
            which = [n for n, g in zip(("Namespace, MetricName, Dimensions, Stat", "SingleMetricAnomalyDetector", "MetricMathAnomalyDetector"), given, strict=True) if g]
            raise _combination(f"The parameters {' and '.join(which)} are mutually exclusive and you have specified both.")
        if math_ is not None:
            return "METRIC_MATH", self._math(math_)
        if single is not None or legacy:
            src = single if single is not None else p
            where = "SingleMetricAnomalyDetector." if single is not None else ""
            return "SINGLE_METRIC", self.single_definition(src, where)
        if required:
            raise _missing("Either the parameter SingleMetricAnomalyDetector or MetricMathAnomalyDetector is required.")
        return None

    @staticmethod
    def single_definition(src: dict[str, Any], where: str) -> dict[str, Any]:
        from emulator.monitoring.query import valid_stat

        for key in ("Namespace", "MetricName", "Stat"):
            if not src.get(key):
                raise _missing(f"The parameter {where}{key} is required.")
        ns, name, stat = src["Namespace"], src["MetricName"], src["Stat"]
        if len(ns) > 255 or ns.startswith(":"):
            raise _invalid(f"The value {ns} for parameter {where}Namespace is invalid.")
        if len(name) > 255:
            raise _invalid(f"The value {name} for parameter {where}MetricName is invalid.")
        if len(stat) > 50 or not valid_stat(stat):
            raise _invalid(f"The value {stat} for parameter {where}Stat is invalid.")
        dims = src.get("Dimensions") or []
        if len(dims) > 30:
            raise _invalid(f"The collection {where}Dimensions must not have a size greater than 30.")
        for j, d in enumerate(dims, 1):
            if not d.get("Name") or not d.get("Value"):
                raise _missing(f"The parameter {where}Dimensions.member.{j}.{'Name' if not d.get('Name') else 'Value'} is required.")
        out = {"Namespace": ns, "MetricName": name, "Dimensions": [{"Name": k, "Value": v} for k, v in norm_dims(dims)], "Stat": stat}
        if src.get("AccountId"):
            out["AccountId"] = src["AccountId"]
        return out

    @staticmethod
    def _math(src: dict[str, Any]) -> dict[str, Any]:
        from emulator.monitoring.query import prepare

        queries = src.get("MetricDataQueries") or []
        if not queries:
            raise _missing("The parameter MetricMathAnomalyDetector.MetricDataQueries is required.")
        prepared = prepare(queries, 60)
        # "Designate the expression by setting ReturnData to true for this object in the
        # array. For all other expressions and metrics, set ReturnData to false."
        if sum(1 for q in prepared if q.return_data) != 1:
            raise _invalid("Exactly one element of MetricMathAnomalyDetector.MetricDataQueries must have ReturnData set to true.")
        return {"MetricDataQueries": [{k: v for k, v in q.items() if v is not None} for q in queries]}

    @staticmethod
    def detector_id(kind: str, definition: dict[str, Any]) -> str:
        canonical = orjson.dumps({"type": kind, **definition}, option=orjson.OPT_SORT_KEYS, default=str)
        return "ad-" + hashlib.sha256(canonical).hexdigest()[:40]

    @staticmethod
    def _configuration(p: dict[str, Any]) -> dict[str, Any]:
        config = p.get("Configuration") or {}
        ranges = config.get("ExcludedTimeRanges") or []
        if len(ranges) > MAX_EXCLUDED:
            raise _invalid(f"The collection Configuration.ExcludedTimeRanges must not have a size greater than {MAX_EXCLUDED}.")
        out: dict[str, Any] = {"ExcludedTimeRanges": []}
        for i, r in enumerate(ranges, 1):
            if r.get("StartTime") is None or r.get("EndTime") is None:
                raise _missing(f"The parameter Configuration.ExcludedTimeRanges.member.{i}.{'StartTime' if r.get('StartTime') is None else 'EndTime'} is required.")
            start, end = _stamp(r["StartTime"]), _stamp(r["EndTime"])
            if start >= end:
                raise _invalid(f"The StartTime of Configuration.ExcludedTimeRanges.member.{i} must be before its EndTime.")
            out["ExcludedTimeRanges"].append({"StartTime": start, "EndTime": end})
        tz = config.get("MetricTimezone")
        if tz is not None:
            try:
                zoneinfo.ZoneInfo(tz)
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                raise _invalid(f"The value {tz} for parameter Configuration.MetricTimezone is invalid.") from None
            out["MetricTimezone"] = tz
        for key, allowed in (("AdaptationSpeed", ("FAST", "NORMAL", "SLOW")), ("OutlierFilteringStrength", ("MINIMAL", "MODERATE", "STRICT"))):
            if config.get(key) is not None:
                if config[key] not in allowed:
                    raise _invalid(f"The value {config[key]} for parameter Configuration.{key} is invalid.")
                out[key] = config[key]
        return out

    # ------------------------------------------------------------ the API
    def put(self, p: dict[str, Any], region: str) -> str:
        parsed = self.definition(p)
        assert parsed is not None
        kind, definition = parsed
        config = self._configuration(p)
        did = self.detector_id(kind, definition)
        now = self.clock()
        with self.lock:
            regional = self._by_region.setdefault(region, {})
            old = regional.get(did)
            if old is None and len(regional) >= MAX_DETECTORS:
                raise AwsError("LimitExceededException", f"The maximum number of anomaly detection models ({MAX_DETECTORS}) has been reached.", 400)
            body = {"Type": kind, "Definition": definition, "Configuration": config, "Created": old["Created"] if old else now, "Updated": now}
            if p.get("MetricCharacteristics") is not None:
                body["MetricCharacteristics"] = {k: v for k, v in p["MetricCharacteristics"].items() if v is not None}
            elif old and "MetricCharacteristics" in old:
                body["MetricCharacteristics"] = old["MetricCharacteristics"]
            regional[did] = body
            self.db.execute("INSERT OR REPLACE INTO anomaly_detector(region, id, body) VALUES (?,?,?)", (region, did, orjson.dumps(body)))
        return did

    def ensure(self, kind: str, definition: dict[str, Any], region: str) -> str:
        """The detector of ``definition``, created when missing (an alarm on an anomaly band
        creates its model, as on AWS)."""
        did = self.detector_id(kind, definition)
        with self.lock:
            if did in self._by_region.get(region, {}):
                return did
            key = "SingleMetricAnomalyDetector" if kind == "SINGLE_METRIC" else "MetricMathAnomalyDetector"
            return self.put({key: definition}, region)

    def delete(self, p: dict[str, Any], region: str) -> None:
        did = p.get("AnomalyDetectorId")
        parsed = self.definition(p, required=did is None)
        if did is not None and parsed is not None:
            raise _combination("The parameter AnomalyDetectorId and a metric definition are mutually exclusive and you have specified both.")
        if parsed is not None:
            did = self.detector_id(*parsed)
        with self.lock:
            regional = self._by_region.get(region, {})
            if did not in regional:
                raise AwsError("ResourceNotFoundException", "This anomaly detection model does not exist.", 404)
            del regional[did]
            self.db.execute("DELETE FROM anomaly_detector WHERE region=? AND id=?", (region, did))

    def describe(self, p: dict[str, Any], region: str) -> dict[str, Any]:
        from emulator.monitoring.query import encode_token, token_int

        ids = p.get("AnomalyDetectorIds")
        types = p.get("AnomalyDetectorTypes") or ["SINGLE_METRIC"]  # "If empty, defaults to SINGLE_METRIC."
        for t in types:
            if t not in TYPES:
                raise _invalid(f"The value {t} for parameter AnomalyDetectorTypes is invalid.")
        filters = [k for k in ("Namespace", "MetricName", "Dimensions", "AnomalyDetectorTypes") if p.get(k)]
        if ids and filters:
            raise _combination(f"The parameters AnomalyDetectorIds and {filters[0]} are mutually exclusive and you have specified both.")
        if ids is not None and len(ids) > 50:
            raise _invalid("The collection AnomalyDetectorIds must not have a size greater than 50.")
        limit = int(p.get("MaxResults") or 100)
        if not 1 <= limit <= 100:
            raise _invalid("The parameter MaxResults must be between 1 and 100.")
        if (p.get("Namespace") or p.get("MetricName") or p.get("Dimensions")) and "METRIC_MATH" in types and "SINGLE_METRIC" not in types:
            raise _combination("The metric filters Namespace, MetricName and Dimensions apply only to SINGLE_METRIC anomaly detectors.")
        want = set(norm_dims(p.get("Dimensions")))
        with self.lock:
            rows = sorted(self._by_region.get(region, {}).items(), key=lambda kv: (kv[1]["Created"], kv[0]))
        selected = []
        for did, body in rows:
            if ids:
                if did not in ids:
                    continue
            else:
                if body["Type"] not in types:
                    continue
                d = body["Definition"]
                if body["Type"] == "SINGLE_METRIC":
                    if p.get("Namespace") and d["Namespace"] != p["Namespace"]:
                        continue
                    if p.get("MetricName") and d["MetricName"] != p["MetricName"]:
                        continue
                    if want and not want <= set(norm_dims(d["Dimensions"])):
                        continue
            selected.append((did, body))
        start = token_int(p["NextToken"], "o") if p.get("NextToken") else 0
        page = selected[start : start + limit]
        out: dict[str, Any] = {"AnomalyDetectors": [self.public(did, body, region) for did, body in page]}
        if start + limit < len(selected):
            out["NextToken"] = encode_token({"o": start + limit})
        return out

    def public(self, did: str, body: dict[str, Any], region: str) -> dict[str, Any]:
        d = body["Definition"]
        out: dict[str, Any] = {"AnomalyDetectorId": did}
        if body["Type"] == "SINGLE_METRIC":
            # AWS still fills the deprecated top-level fields next to SingleMetricAnomalyDetector.
            out |= {"Namespace": d["Namespace"], "MetricName": d["MetricName"], "Dimensions": d["Dimensions"], "Stat": d["Stat"], "SingleMetricAnomalyDetector": d}
        else:
            out["MetricMathAnomalyDetector"] = d
        out["Configuration"] = body["Configuration"]
        out["StateValue"] = self.state(body, region)
        if "MetricCharacteristics" in body:
            out["MetricCharacteristics"] = body["MetricCharacteristics"]
        return out

    # ------------------------------------------------------------ training
    def state(self, body: dict[str, Any], region: str, now: float | None = None) -> str:
        """PENDING_TRAINING for ``training_delay`` after the model was created, then TRAINED
        when its training window holds at least MIN_POINTS datapoints, else
        TRAINED_INSUFFICIENT_DATA (it becomes TRAINED as data arrives)."""
        now = self.clock() if now is None else now
        if now < body["Created"] + self.training_delay:
            return "PENDING_TRAINING"
        return "TRAINED" if self.training_points(body, region, now) >= MIN_POINTS else "TRAINED_INSUFFICIENT_DATA"

    def training_points(self, body: dict[str, Any], region: str, now: float) -> int:
        from emulator.monitoring.query import stat_series

        start = now - TRAINING_WINDOW
        _tz, excluded = _training(body["Configuration"])
        d = body["Definition"]
        if body["Type"] == "SINGLE_METRIC":
            series = stat_series(self.store, d["Namespace"], d["MetricName"], norm_dims(d["Dimensions"]), d["Stat"], 60, math.floor(start / 60) * 60, now, None, region)
        else:
            from emulator.monitoring.query import expression_series, prepare

            prepared = prepare(d["MetricDataQueries"], 60)
            target = next(q.id for q in prepared if q.return_data)
            series = expression_series(self.store, prepared, target, start, now, region, self)
        return sum(1 for t in series if not any(a <= t < b for a, b in excluded))

    def config_for_metric(self, namespace: str, name: str, dims: list[dict[str, str]] | None, stat: str, region: str) -> dict[str, Any] | None:
        """The Configuration of the single-metric detector of this metric and statistic, if any."""
        definition = {"Namespace": namespace, "MetricName": name, "Dimensions": [{"Name": k, "Value": v} for k, v in norm_dims(dims)], "Stat": stat}
        with self.lock:
            regional = self._by_region.get(region, {})
            for body in regional.values():
                if body["Type"] == "SINGLE_METRIC" and {k: v for k, v in body["Definition"].items() if k != "AccountId"} == definition:
                    return dict(body["Configuration"])
        return None

    def config_for_expression(self, expression: str, region: str) -> dict[str, Any] | None:
        """The Configuration of a math detector whose returned expression is ``expression``."""
        with self.lock:
            for body in self._by_region.get(region, {}).values():
                if body["Type"] != "METRIC_MATH":
                    continue
                for q in body["Definition"]["MetricDataQueries"]:
                    if q.get("ReturnData", True) is not False and q.get("Expression") == expression:
                        return dict(body["Configuration"])
        return None
