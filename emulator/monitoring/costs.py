"""The price table and the usage ledger.

Defaults are AWS us-east-1 on-demand list prices (USD) as published on the
services' pricing pages; every figure can be overridden with the ``prices``
table of the settings file (``[emulator.prices]``) or ``EMULATOR_PRICES``
(JSON). Local cost is energy: host and GPU power times the electricity price.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import os
import threading
from collections import defaultdict
from typing import Any

from emulator.monitoring.statedb import StateDB

DEFAULT_PRICES: dict[str, Any] = {
    "dynamodb": {
        "write_request_unit": 0.625 / 1_000_000,  # on-demand, per WRU
        "read_request_unit": 0.125 / 1_000_000,  # on-demand, per RRU
        "storage_gb_month": 0.25,
    },
    "bedrock": {
        # per 1,000 tokens; models are matched by substring, "default" otherwise
        "default": {"input": 0.0001, "output": 0.0001},  # Meta Llama 3.2 1B Instruct
        "llama3-2-3b": {"input": 0.00015, "output": 0.00015},
        "llama3-1-8b": {"input": 0.00022, "output": 0.00022},
        "llama3-1-70b": {"input": 0.00072, "output": 0.00072},
        "claude-3-haiku": {"input": 0.00025, "output": 0.00125},
        "mistral-7b": {"input": 0.00015, "output": 0.0002},
    },
    "ec2": {
        # per instance-hour; local instance types are matched by name, "default" otherwise
        "default": 1.006,  # g5.xlarge (1x A10G)
        "g4dn.xlarge": 0.526,
        "g5.xlarge": 1.006,
        "g5.2xlarge": 1.212,
        "g6.xlarge": 0.805,
        "p4d.24xlarge": 32.7726,
        "p5.48xlarge": 98.32,
    },
    "cloudwatch": {
        "metric_month": 0.30,  # per custom metric per month (first 10,000)
        "api_request": 0.01 / 1000,  # PutMetricData, GetMetricStatistics, ListMetrics...
        "getmetricdata_metric": 0.01 / 1000,  # per metric requested
        "alarm_month": 0.10,  # standard resolution alarm
        "dashboard_month": 3.00,
    },
    "logs": {"ingest_gb": 0.50, "storage_gb_month": 0.03, "insights_gb_scanned": 0.005},
    "local": {"electricity_kwh": 0.15, "host_watts": 65.0},
}

SERVICE_NAMES = {"dynamodb": "AmazonDynamoDB", "bedrock": "AmazonBedrock", "ec2": "AmazonEC2", "cloudwatch": "AmazonCloudWatch", "logs": "AmazonCloudWatch", "local": "Local"}


def load_prices(extra: dict[str, Any] | None = None) -> dict[str, Any]:
    prices = copy.deepcopy(DEFAULT_PRICES)
    overrides: dict[str, Any] = {}
    if extra and isinstance(extra.get("prices"), dict):
        overrides = extra["prices"]
    env = os.environ.get("EMULATOR_PRICES")
    if env:
        try:
            overrides = {**overrides, **json.loads(env)}
        except ValueError:
            pass
    for section, values in overrides.items():
        if isinstance(values, dict) and isinstance(prices.get(section), dict):
            prices[section].update(values)
        else:
            prices[section] = values
    return prices


def month_of(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m")


class Ledger:
    """Usage quantities per (month, principal, service, item), buffered and flushed with telemetry."""

    def __init__(self, db: StateDB, prices: dict[str, Any]) -> None:
        self.db = db
        self.prices = prices
        self._pending: dict[tuple[str, str, str, str], float] = defaultdict(float)
        self._lock = threading.Lock()

    def add(self, ts: float, principal: str, service: str, item: str, quantity: float) -> None:
        if quantity:
            with self._lock:
                self._pending[(month_of(ts), principal, service, item)] += quantity

    def flush(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, defaultdict(float)
        if pending:
            self.db.executemany(
                "INSERT INTO usage(month, principal, service, item, quantity) VALUES (?,?,?,?,?) "
                "ON CONFLICT(month, principal, service, item) DO UPDATE SET quantity = quantity + excluded.quantity",
                [(*k, v) for k, v in pending.items()],
            )

    def price(self, service: str, item: str) -> float:
        """USD per unit of ``item``."""
        p = self.prices.get(service, {})
        kind, _, detail = item.partition(":")
        if service == "bedrock":
            model = detail.lower()
            table = next((v for k, v in p.items() if k != "default" and k in model), p.get("default", {}))
            return float(table.get("input" if kind == "input_tokens" else "output", 0.0)) / 1000.0
        if service == "ec2" and kind == "instance_hours":
            return float(p.get(detail, p.get("default", 0.0)))
        if service == "local":
            if kind in ("host_kwh", "gpu_kwh"):
                return float(p.get("electricity_kwh", 0.0))
            return 0.0
        if service == "dynamodb":
            return float(p.get({"rru": "read_request_unit", "wru": "write_request_unit", "storage_gb_months": "storage_gb_month"}.get(kind, kind), 0.0))
        if service == "cloudwatch":
            return float(p.get({"requests": "api_request", "gmd_metrics": "getmetricdata_metric", "metric_months": "metric_month", "alarm_months": "alarm_month", "dashboard_months": "dashboard_month"}.get(kind, kind), 0.0))
        if service == "logs":
            if kind == "ingest_bytes":
                return float(p.get("ingest_gb", 0.0)) / 1e9
            if kind == "insights_bytes":
                return float(p.get("insights_gb_scanned", 0.0)) / 1e9
        return 0.0

    def report(self, month: str | None = None) -> dict[str, Any]:
        self.flush()
        month = month or month_of(dt.datetime.now(dt.UTC).timestamp())
        rows = self.db.query("SELECT principal, service, item, quantity FROM usage WHERE month=? ORDER BY principal, service, item", (month,))
        return build_report(month, rows, self.price)


def build_report(month: str, rows: list[Any], price: Any) -> dict[str, Any]:
    by_key: dict[str, dict[str, Any]] = {}
    by_service: dict[str, dict[str, Any]] = {}
    aws_total = 0.0
    local_total = 0.0
    for principal, service, item, quantity in rows:
        cost = quantity * price(service, item)
        key = by_key.setdefault(principal, {"aws_cost_usd": 0.0, "services": {}})
        svc = key["services"].setdefault(service, {"aws_cost_usd": 0.0, "items": {}})
        svc["items"][item] = {"quantity": quantity, "cost_usd": round(cost, 6)}
        total = by_service.setdefault(service, {"aws_cost_usd": 0.0, "local_cost_usd": 0.0, "items": {}})
        entry = total["items"].setdefault(item, {"quantity": 0.0, "cost_usd": 0.0})
        entry["quantity"] += quantity
        entry["cost_usd"] = round(entry["cost_usd"] + cost, 6)
        if service == "local":
            total["local_cost_usd"] += cost
            local_total += cost
        else:
            svc["aws_cost_usd"] += cost
            key["aws_cost_usd"] += cost
            total["aws_cost_usd"] += cost
            aws_total += cost
    for d in list(by_key.values()) + list(by_service.values()):
        d["aws_cost_usd"] = round(d["aws_cost_usd"], 6)
        for s in d.get("services", {}).values():
            s["aws_cost_usd"] = round(s["aws_cost_usd"], 6)
        if "local_cost_usd" in d:
            d["local_cost_usd"] = round(d["local_cost_usd"], 6)
    return {
        "month": month,
        "currency": "USD",
        "aws_cost_usd": round(aws_total, 6),
        "local_cost_usd": round(local_total, 6),
        "savings_usd": round(aws_total - local_total, 6),
        "by_service": by_service,
        "by_key": by_key,
    }
