"""Unit tests of the telemetry pipeline: observer tuples -> metrics, ledger, Prometheus text; costs."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from emulator.monitoring import prometheus
from emulator.monitoring.costs import Ledger, load_prices
from emulator.monitoring.metrics import MetricStore
from emulator.monitoring.statedb import StateDB
from emulator.monitoring.telemetry import Telemetry


@pytest.fixture
def tele(tmp_path: Path) -> Telemetry:
    return Telemetry(MetricStore(tmp_path / "m.db"), Ledger(StateDB(tmp_path / "s.db"), load_prices()), "us-east-1")


def _item(
    service: str | None, op: str | None, status: int, seconds: float, tele: dict | None = None, params: dict | None = None, headers: dict | None = None,
    out: int = 100, inp: int = 100, region: str = "us-east-1",
) -> tuple:
    return (time.time(), service, op, status, seconds, tele or {}, "AKIATEST", params or {}, headers or {}, out, inp, region)


def _sum(t: Telemetry, ns: str, name: str, dims: tuple, region: str | None = None) -> tuple[float, float] | None:
    mid = t.store.find_id(ns, name, dims, region)
    if mid is None:
        return None
    buckets = t.store.buckets(mid, 0, time.time() + 60, 10**9)
    b = next(iter(buckets.values()))
    return b.sum, b.count


def test_requests_over_several_tables_publish_per_table(tele: Telemetry) -> None:
    """BatchWriteItem, transactions and PartiQL name several tables: their latency and consumed
    capacity are published under each table's name (TableName, Operation), never without one."""
    consumed = {"read": 0.0, "write": 5.0, "tables": {"a": {"read": 0.0, "write": 3.0}, "b": {"read": 0.0, "write": 2.0}}, "indexes": {}}
    tele.aggregate([_item("dynamodb", "BatchWriteItem", 200, 0.003, {"consumed_capacity": consumed}, {"RequestItems": {}})])
    tele.aggregate([_item("dynamodb", "ListTables", 200, 0.001, {}, {})])
    tele.flush()
    for name, units in (("a", 3.0), ("b", 2.0)):
        assert _sum(tele, "AWS/DynamoDB", "ConsumedWriteCapacityUnits", (("TableName", name),)) == (units, 1.0)
        assert _sum(tele, "AWS/DynamoDB", "SuccessfulRequestLatency", (("Operation", "BatchWriteItem"), ("TableName", name))) == (pytest.approx(3.0), 1.0)
        assert _sum(tele, "AWS/DynamoDB", "ConsumedReadCapacityUnits", (("TableName", name),)) is None
    assert _sum(tele, "AWS/DynamoDB", "ConsumedWriteCapacityUnits", ()) is None
    assert _sum(tele, "AWS/DynamoDB", "ConsumedReadCapacityUnits", ()) is None
    assert _sum(tele, "AWS/DynamoDB", "SuccessfulRequestLatency", (("Operation", "BatchWriteItem"),)) is None
    assert _sum(tele, "AWS/DynamoDB", "SuccessfulRequestLatency", (("Operation", "ListTables"),)) == (pytest.approx(1.0), 1.0)


def test_flush_publishes_aws_shaped_metrics(tele: Telemetry) -> None:
    for _ in range(3):
        tele.aggregate([_item("dynamodb", "GetItem", 200, 0.002, {"table": "t1"}, {"TableName": "t1", "ConsistentRead": True}, out=5000)])
    tele.aggregate([_item("dynamodb", "PutItem", 200, 0.004, {"table": "t1"}, {"TableName": "t1"}, inp=2500)])
    tele.aggregate([_item("dynamodb", "GetItem", 400, 0.001, {}, {"TableName": "t1"}, {"x-amzn-errortype": "ResourceNotFoundException"})])
    tele.aggregate([_item("dynamodb", "PutItem", 400, 0.001, {}, {"TableName": "t1"}, {"x-amzn-errortype": "ProvisionedThroughputExceededException"})])
    tele.aggregate([_item("bedrock-runtime", "Converse", 200, 0.5, {"model_id": "m", "input_tokens": 7, "output_tokens": 3, "latency_ms": 480})])
    tele.aggregate([_item("bedrock-runtime", "Converse", 429, 0.01, {}, {"modelId": "m"}, {"x-amzn-errortype": "ThrottlingException"})])
    tele.aggregate([_item(None, None, 200, 0.001)])  # /_emulator/health: not counted
    assert tele.flush() == 9
    t1 = (("TableName", "t1"),)
    assert _sum(tele, "AWS/DynamoDB", "ConsumedReadCapacityUnits", t1) == (6.0, 3.0)  # 5000 bytes = 2 units, strongly consistent
    assert _sum(tele, "AWS/DynamoDB", "ConsumedWriteCapacityUnits", t1) == (3.0, 1.0)  # 2500 bytes = 3 units
    assert _sum(tele, "AWS/DynamoDB", "SuccessfulRequestLatency", (("Operation", "GetItem"), *t1)) == (pytest.approx(6.0), 3.0)
    assert _sum(tele, "AWS/DynamoDB", "UserErrors", ()) == (1.0, 1.0)
    assert _sum(tele, "AWS/DynamoDB", "ThrottledRequests", (("Operation", "PutItem"), *t1)) == (1.0, 1.0)
    m = (("ModelId", "m"),)
    assert _sum(tele, "AWS/Bedrock", "Invocations", m) == (2.0, 2.0)
    assert _sum(tele, "AWS/Bedrock", "InvocationLatency", m) == (480.0, 1.0)
    assert _sum(tele, "AWS/Bedrock", "InputTokenCount", m) == (7.0, 1.0)
    assert _sum(tele, "AWS/Bedrock", "InvocationThrottles", m) == (1.0, 1.0)
    assert _sum(tele, "Emulator/Gateway", "Count", ()) == (8.0, 8.0)
    assert _sum(tele, "Emulator/Gateway", "4XXError", ()) == (3.0, 8.0)  # Average = error rate, like API Gateway
    report = tele.ledger.report()
    assert report["by_key"]["AKIATEST"]["services"]["dynamodb"]["items"]["rru"]["quantity"] == 6.0
    assert report["by_service"]["bedrock"]["items"]["output_tokens:m"]["quantity"] == 3.0
    assert report["aws_cost_usd"] > 0


def test_prometheus_histogram_is_cumulative(tele: Telemetry) -> None:
    for seconds in (0.0005, 0.003, 0.003, 0.2, 100.0):
        tele.aggregate([_item("logs", "PutLogEvents", 200, seconds)])
    text = prometheus.render(tele)
    lines = {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line and not line.startswith("#")}
    base = 'emulator_request_duration_seconds_bucket{service="logs",operation="PutLogEvents",le="%s"}'
    assert lines[base % "0.001"] == 1
    assert lines[base % "0.005"] == 3
    assert lines[base % "0.25"] == 4
    assert lines[base % "60.0"] == 4
    assert lines[base % "+Inf"] == 5
    assert lines['emulator_request_duration_seconds_count{service="logs",operation="PutLogEvents"}'] == 5
    assert lines['emulator_requests_total{service="logs",operation="PutLogEvents",status="200"}'] == 5


def test_prices_are_configurable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMULATOR_PRICES", '{"dynamodb": {"read_request_unit": 1.0}, "local": {"electricity_kwh": 0.5}}')
    prices = load_prices({"prices": {"ec2": {"g5.xlarge": 2.0}}})
    ledger = Ledger(StateDB(tmp_path / "s.db"), prices)
    assert ledger.price("dynamodb", "rru") == 1.0
    assert ledger.price("dynamodb", "wru") == pytest.approx(0.625 / 1_000_000)
    assert ledger.price("ec2", "instance_hours:g5.xlarge") == 2.0
    assert ledger.price("local", "host_kwh") == 0.5
    assert ledger.price("bedrock", "input_tokens:meta.llama3-1-8b-instruct-v1:0") == pytest.approx(0.00022 / 1000)
    ledger.add(time.time(), "AK", "dynamodb", "rru", 3)
    ledger.add(time.time(), "local", "local", "host_kwh", 2)
    report = ledger.report()
    assert report["aws_cost_usd"] == 3.0 and report["local_cost_usd"] == 1.0 and report["savings_usd"] == 2.0


def test_host_energy_from_rapl_when_exposed(tele: Telemetry, tmp_path: Path) -> None:
    domain = tmp_path / "intel-rapl:0"
    (domain / "intel-rapl:0:0").mkdir(parents=True)  # a subdomain: not counted twice
    (domain / "max_energy_range_uj").write_text("1000000000")
    (domain / "energy_uj").write_text("999000000")
    (domain / "intel-rapl:0:0" / "energy_uj").write_text("5")
    tele.rapl_root = str(tmp_path)
    clock = [time.time()]
    tele.clock = lambda: clock[0]
    tele.collect(str(tmp_path), None, None, {"host_watts": 9999.0}, {})
    (domain / "energy_uj").write_text("2600000")  # the counter wrapped: 1 J + 2.6 J = 3.6 J in 10 s
    clock[0] += 10
    tele.collect(str(tmp_path), None, None, {"host_watts": 9999.0}, {})
    report = tele.ledger.report()
    assert report["by_service"]["local"]["items"]["host_kwh"]["quantity"] == pytest.approx(3.6 / 3.6e6)  # not host_watts
    [power] = tele.store.list_metrics(namespace="Emulator/Host", name="HostPower")
    buckets = tele.store.buckets(power.id, 0, clock[0] + 60, 10**10)
    assert next(iter(buckets.values())).max == pytest.approx(0.36)  # watts


def test_metrics_go_to_the_requests_region(tele: Telemetry) -> None:
    arn = "arn:aws:dynamodb:ap-south-1:000000000000:table/t2"
    tele.aggregate([
        _item("dynamodb", "PutItem", 200, 0.002, {"table": "t1"}, {"TableName": "t1"}, inp=100, region="eu-west-1"),
        _item("dynamodb", "PutItem", 200, 0.002, {"table": arn}, {"TableName": arn}, inp=100, region="eu-west-1"),
        _item("logs", "PutLogEvents", 200, 0.001, region="eu-west-1"),
        _item("logs", "PutLogEvents", 200, 0.001),
        _item(None, None, 200, 0.5, {"model_id": "m", "input_tokens": 1}, region="ignored"),  # the OpenAI API: the default region
    ])
    tele.flush()
    t1 = (("TableName", "t1"),)
    assert _sum(tele, "AWS/DynamoDB", "ConsumedWriteCapacityUnits", t1, "eu-west-1") == (1.0, 1.0)
    assert _sum(tele, "AWS/DynamoDB", "ConsumedWriteCapacityUnits", t1) is None
    # a table named by its ARN: its own region and name
    assert _sum(tele, "AWS/DynamoDB", "ConsumedWriteCapacityUnits", (("TableName", "t2"),), "ap-south-1") == (1.0, 1.0)
    svc = (("Service", "logs"),)
    assert _sum(tele, "Emulator/Gateway", "Count", svc, "eu-west-1") == (1.0, 1.0)
    assert _sum(tele, "Emulator/Gateway", "Count", svc, "us-east-1") == (1.0, 1.0)
    assert _sum(tele, "Emulator/OpenAI", "Invocations", (("ModelId", "m"),), "us-east-1") == (1.0, 1.0)
    assert _sum(tele, "Emulator/Gateway", "Count", (("Service", "openai"),), "us-east-1") == (1.0, 1.0)
    assert tele.requests[("logs", "PutLogEvents", "200")] == 2.0  # Prometheus: every region together


def test_only_custom_metrics_sent_are_billed(tmp_path: Path) -> None:
    """CloudWatch bills custom metrics in the hours they are sent; AWS services' metrics are
    free and the emulator's own (Emulator/...) are no AWS metrics at all."""
    from emulator.monitoring.metrics import Datum

    store = MetricStore(tmp_path / "m.db")
    now = time.time()

    def datum(ns: str, name: str, ts: float) -> Datum:
        return Datum(ns, name, (), ts, 1.0, 1.0, 1.0, 1.0)

    store.put([datum("AWS/DynamoDB", "ConsumedReadCapacityUnits", now), datum("Emulator/Gateway", "Requests", now),
               datum("MyApp", "Orders", now), datum("MyApp", "Stale", now - 7200), datum("aws/lower", "Custom", now)])
    assert store.metric_count() == 5
    assert store.custom_metrics_sent(now - 3600) == 2  # MyApp/Orders and aws/lower/Custom
    assert store.custom_metrics_sent(now - 10800) == 3
