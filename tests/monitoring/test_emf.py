"""Embedded metric format (EMF): emulator.monitoring.emf on its own, then through the wire
(PutLogEvents with ``x-amzn-logs-format: json/emf`` -> CloudWatch metrics)."""

from __future__ import annotations

import datetime as dt
import time
import uuid
from typing import Any

import orjson
import pytest

from emulator.monitoring import emf
from emulator.monitoring.metrics import Datum
from emulator.testing.server import EmulatorServer

from .conftest import wait_for

NOW = 1_800_000_000.0  # a fixed "now" for the unit tests (seconds)
NOW_MS = int(NOW * 1000)


def _doc(directives: list[dict[str, Any]] | None = None, ts: Any = NOW_MS, **members: Any) -> dict[str, Any]:
    if directives is None:
        directives = [{"Namespace": "App", "Dimensions": [["Service"]], "Metrics": [{"Name": "Latency", "Unit": "Milliseconds"}]}]
    return {"_aws": {"Timestamp": ts, "CloudWatchMetrics": directives}, **members}


def _extract(*docs: Any) -> list[Datum]:
    events = [{"timestamp": NOW_MS, "message": d if isinstance(d, str) else orjson.dumps(d).decode()} for d in docs]
    return emf.extract(events, "eu-west-1", now=NOW)


# ------------------------------------------------------------ emulator.monitoring.emf


def test_requested_header_value() -> None:
    assert emf.requested("json/emf") and emf.requested(" JSON/EMF ")
    assert not emf.requested(None) and not emf.requested("") and not emf.requested("json")


def test_one_metric_one_dimension_set() -> None:
    [d] = _extract(_doc(Service="api", Latency=12.5))
    assert (d.namespace, d.name, d.dims, d.ts, d.unit, d.resolution, d.region) == ("App", "Latency", (("Service", "api"),), NOW, "Milliseconds", 60, "eu-west-1")
    assert (d.sum, d.count, d.min, d.max, d.values, d.kind) == (12.5, 1.0, 12.5, 12.5, None, 0)


def test_each_dimension_set_each_metric_and_empty_set() -> None:
    directive = {
        "Namespace": "App",
        "Dimensions": [["Service", "Op"], ["Service"], []],
        "Metrics": [{"Name": "Latency"}, {"Name": "Errors", "Unit": "Count", "StorageResolution": 1}],
    }
    data = _extract(_doc([directive], Service="api", Op="get", Latency=3, Errors=0, Other="ignored"))
    got = {(d.name, d.dims, d.unit, d.resolution) for d in data}
    assert got == {
        ("Latency", (("Op", "get"), ("Service", "api")), None, 60),
        ("Latency", (("Service", "api"),), None, 60),
        ("Latency", (), None, 60),
        ("Errors", (("Op", "get"), ("Service", "api")), "Count", 1),
        ("Errors", (("Service", "api"),), "Count", 1),
        ("Errors", (), "Count", 1),
    }
    assert len(data) == 6


def test_value_array_is_several_values() -> None:
    [d] = _extract(_doc(Service="api", Latency=[1, 2, 2, 5]))
    assert (d.sum, d.count, d.min, d.max) == (10.0, 4.0, 1.0, 5.0)
    assert d.values == [1.0, 1.0, 2.0, 2.0, 5.0, 1.0]  # value/count pairs, as PutMetricData's Values


def test_several_directives_and_aws_namespace_skipped() -> None:
    directives = [
        {"Namespace": "A", "Dimensions": [[]], "Metrics": [{"Name": "M"}]},
        {"Namespace": "AWS/Lambda", "Dimensions": [[]], "Metrics": [{"Name": "M"}]},
        {"Namespace": "B", "Dimensions": [[]], "Metrics": [{"Name": "M"}]},
    ]
    assert [d.namespace for d in _extract(_doc(directives, M=1))] == ["A", "B"]


def test_no_dimension_sets_gives_nothing() -> None:
    assert _extract(_doc([{"Namespace": "A", "Dimensions": [], "Metrics": [{"Name": "M"}]}], M=1)) == []


def test_not_documents_are_ignored() -> None:
    assert _extract("plain text", "[1, 2]", '{"_aws": 1', '"_aws"', orjson.dumps({"M": 1}).decode()) == []
    assert emf.extract([{"timestamp": NOW_MS}], "us-east-1", now=NOW) == []


@pytest.mark.parametrize(
    "doc",
    [
        pytest.param({"_aws": []}, id="aws-not-object"),
        pytest.param(_doc(ts=None, Service="api", Latency=1), id="timestamp-missing"),
        pytest.param(_doc(ts="1800000000000", Service="api", Latency=1), id="timestamp-string"),
        pytest.param(_doc(ts=NOW_MS - 15 * 86400 * 1000, Service="api", Latency=1), id="timestamp-too-old"),
        pytest.param(_doc(ts=NOW_MS + 3 * 3600 * 1000, Service="api", Latency=1), id="timestamp-too-new"),
        pytest.param({"_aws": {"Timestamp": NOW_MS}, "Latency": 1}, id="directives-missing"),
        pytest.param(_doc(Latency=1), id="dimension-member-absent"),
        pytest.param(_doc(Service=7, Latency=1), id="dimension-member-number"),
        pytest.param(_doc(Service="", Latency=1), id="dimension-member-empty"),
        pytest.param(_doc(Service="api"), id="metric-member-absent"),
        pytest.param(_doc(Service="api", Latency="12"), id="metric-member-string"),
        pytest.param(_doc(Service="api", Latency=True), id="metric-member-bool"),
        pytest.param(_doc(Service="api", Latency=[]), id="metric-array-empty"),
        pytest.param(_doc(Service="api", Latency=[1, "2"]), id="metric-array-string"),
        pytest.param(_doc(Service="api", Latency=list(range(101))), id="metric-array-over-100"),
        pytest.param(_doc(Service="api", Latency=1e200), id="metric-out-of-range"),
        pytest.param(_doc([{"Namespace": "", "Dimensions": [[]], "Metrics": [{"Name": "M"}]}], M=1), id="namespace-empty"),
        pytest.param(_doc([{"Dimensions": [[]], "Metrics": [{"Name": "M"}]}], M=1), id="namespace-missing"),
        pytest.param(_doc([{"Namespace": "A", "Metrics": [{"Name": "M"}]}], M=1), id="dimensions-missing"),
        pytest.param(_doc([{"Namespace": "A", "Dimensions": [[]]}], M=1), id="metrics-missing"),
        pytest.param(_doc([{"Namespace": "A", "Dimensions": ["D"], "Metrics": [{"Name": "M"}]}], M=1, D="x"), id="dimension-set-not-array"),
        pytest.param(_doc([{"Namespace": "A", "Dimensions": [[]], "Metrics": [{"Unit": "Count"}]}], M=1), id="metric-name-missing"),
        pytest.param(_doc([{"Namespace": "A", "Dimensions": [[]], "Metrics": [{"Name": "M", "Unit": "Parsecs"}]}], M=1), id="unit-invalid"),
        pytest.param(_doc([{"Namespace": "A", "Dimensions": [[]], "Metrics": [{"Name": "M", "StorageResolution": 5}]}], M=1), id="resolution-invalid"),
        pytest.param(
            _doc([{"Namespace": "A", "Dimensions": [[f"D{i}" for i in range(31)]], "Metrics": [{"Name": "M"}]}], M=1, **{f"D{i}": "v" for i in range(31)}),
            id="dimensions-over-30",
        ),
        pytest.param(
            _doc([{"Namespace": "A", "Dimensions": [[]], "Metrics": [{"Name": f"M{i}"} for i in range(101)]}], **{f"M{i}": 1 for i in range(101)}),
            id="metrics-over-100",
        ),
    ],
)
def test_invalid_documents_yield_nothing(doc: dict[str, Any]) -> None:
    # the whole document: a valid directive next to an invalid one is not extracted either
    doc.setdefault("Ok", 1)
    if isinstance(doc.get("_aws"), dict) and isinstance(doc["_aws"].get("CloudWatchMetrics"), list):
        doc["_aws"]["CloudWatchMetrics"].insert(0, {"Namespace": "Fine", "Dimensions": [[]], "Metrics": [{"Name": "Ok"}]})
    assert _extract(doc) == []


def test_limits_themselves_are_valid() -> None:
    dims = {f"D{i}": "v" for i in range(30)}
    metrics = {f"M{i}": list(range(100)) for i in range(100)}
    directive = {"Namespace": "A", "Dimensions": [list(dims)], "Metrics": [{"Name": n} for n in metrics]}
    data = _extract(_doc([directive], **dims, **metrics))
    assert len(data) == 100 and all(len(d.dims) == 30 and d.count == 100 for d in data)


def test_invalid_document_does_not_stop_the_others() -> None:
    data = _extract(_doc(Latency=1), "not json", _doc(Service="web", Latency=2))
    assert [(d.dims, d.sum) for d in data] == [((("Service", "web"),), 2.0)]


# ------------------------------------------------------------ through the wire


def _emf_logs(server: EmulatorServer, **kw: Any) -> Any:
    """A Logs client whose PutLogEvents carries the header that turns extraction on."""
    client = server.client("logs", **kw)

    def add_header(request: Any, **_: Any) -> None:
        request.headers["x-amzn-logs-format"] = "json/emf"

    client.meta.events.register("before-sign.cloudwatch-logs.PutLogEvents", add_header)
    return client


def _stats(cw: Any, ns: str, name: str, dims: list[dict[str, str]]) -> list[dict[str, Any]]:
    now = dt.datetime.now(dt.UTC)
    return list(
        cw.get_metric_statistics(
            Namespace=ns, MetricName=name, Dimensions=dims, StartTime=now - dt.timedelta(minutes=10), EndTime=now + dt.timedelta(minutes=5),
            Period=60, Statistics=["Sum", "SampleCount", "Maximum"],
        )["Datapoints"]
    )


def test_put_log_events_with_header_creates_metrics(mon: EmulatorServer, cw: Any, logs: Any) -> None:
    group, ns = f"/emf/{uuid.uuid4().hex[:8]}", f"Emf/{uuid.uuid4().hex[:8]}"
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName="s")
    now = int(time.time() * 1000)
    directive = {"Namespace": ns, "Dimensions": [["Service"], []], "Metrics": [{"Name": "Time", "Unit": "Milliseconds"}, {"Name": "Hits", "StorageResolution": 1}]}
    messages = [
        orjson.dumps(_doc([directive], ts=now, Service="api", Time=[100, 50], Hits=1)).decode(),
        orjson.dumps(_doc([directive], ts=now, Time=7, Hits=1)).decode(),  # no Service member: not extracted, still stored
        "plain text",
    ]
    out = _emf_logs(mon).put_log_events(logGroupName=group, logStreamName="s", logEvents=[{"timestamp": now, "message": m} for m in messages])
    assert "rejectedLogEventsInfo" not in out
    points = wait_for(lambda: _stats(cw, ns, "Time", [{"Name": "Service", "Value": "api"}]))
    assert [(p["Sum"], p["SampleCount"], p["Maximum"], p["Unit"]) for p in points] == [(150.0, 2.0, 100.0, "Milliseconds")]
    assert [(p["Sum"], p["SampleCount"]) for p in _stats(cw, ns, "Time", [])] == [(150.0, 2.0)]
    listed = {(m["MetricName"], tuple((d["Name"], d["Value"]) for d in m["Dimensions"])) for m in cw.list_metrics(Namespace=ns)["Metrics"]}
    assert listed == {("Time", (("Service", "api"),)), ("Time", ()), ("Hits", (("Service", "api"),)), ("Hits", ())}
    # StorageResolution 1: the high-resolution metric answers a 1-second period
    start = dt.datetime.fromtimestamp(now / 1000 - 5, dt.UTC)
    result = cw.get_metric_data(
        MetricDataQueries=[{"Id": "h", "MetricStat": {"Metric": {"Namespace": ns, "MetricName": "Hits", "Dimensions": []}, "Period": 1, "Stat": "Sum"}}],
        StartTime=start, EndTime=start + dt.timedelta(seconds=10),
    )["MetricDataResults"][0]
    assert result["Values"] == [1.0]
    # every event is stored, the invalid document and the plain line as well
    stored = logs.get_log_events(logGroupName=group, logStreamName="s", startFromHead=True)["events"]
    assert [e["message"] for e in stored] == messages


def test_metrics_go_to_the_request_region(mon: EmulatorServer) -> None:
    region = "eu-west-1"
    logs, cw = _emf_logs(mon, region_name=region), mon.client("cloudwatch", region_name=region)
    group, ns = f"/emf/{uuid.uuid4().hex[:8]}", f"Emf/{uuid.uuid4().hex[:8]}"
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName="s")
    now = int(time.time() * 1000)
    message = orjson.dumps(_doc([{"Namespace": ns, "Dimensions": [[]], "Metrics": [{"Name": "M"}]}], ts=now, M=4)).decode()
    logs.put_log_events(logGroupName=group, logStreamName="s", logEvents=[{"timestamp": now, "message": message}])
    assert [p["Sum"] for p in wait_for(lambda: _stats(cw, ns, "M", []))] == [4.0]
    assert mon.client("cloudwatch").list_metrics(Namespace=ns)["Metrics"] == []  # not in us-east-1


def test_without_header_no_metric(cw: Any, logs: Any) -> None:
    group, ns = f"/emf/{uuid.uuid4().hex[:8]}", f"Emf/{uuid.uuid4().hex[:8]}"
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName="s")
    now = int(time.time() * 1000)
    message = orjson.dumps(_doc([{"Namespace": ns, "Dimensions": [[]], "Metrics": [{"Name": "M"}]}], ts=now, M=1)).decode()
    logs.put_log_events(logGroupName=group, logStreamName="s", logEvents=[{"timestamp": now, "message": message}])
    time.sleep(0.5)
    assert cw.list_metrics(Namespace=ns)["Metrics"] == []
    assert _stats(cw, ns, "M", []) == []
    assert [e["message"] for e in logs.get_log_events(logGroupName=group, logStreamName="s")["events"]] == [message]
