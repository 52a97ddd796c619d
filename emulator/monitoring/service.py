"""The monitoring service: shared by the CloudWatch and CloudWatch Logs handlers.

Settings (settings file keys, or ``EMULATOR_<KEY>`` environment variables):
- ``alarm_interval`` (seconds, default 60): how often alarms are evaluated;
- ``telemetry_flush`` (seconds, default 1): how often request telemetry is published;
- ``telemetry_interval`` (seconds, default 60): host/GPU/EC2/billing sampling;
- ``metric_retention`` (JSON/TOML table resolution -> seconds): roll-up schedule;
- ``alarm_webhooks`` (JSON/TOML table topic ARN -> URL): SNS topics delivered as HTTP webhooks;
- ``anomaly_training_delay`` (seconds, default 300): how long a new anomaly model is PENDING_TRAINING;
- ``metric_stream_interval`` (seconds, default 60): how often metric streams deliver;
- ``prices`` (see emulator.monitoring.costs).
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import os
import re
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from emulator.handlers.base import Route
from emulator.monitoring import prometheus
from emulator.monitoring.alarms import AlarmManager
from emulator.monitoring.anomaly import AnomalyDetectors
from emulator.monitoring.costs import Ledger, load_prices
from emulator.monitoring.dashboards import Dashboards
from emulator.monitoring.insight_rules import InsightRules
from emulator.monitoring.logs_api import LogsAPI
from emulator.monitoring.logs_subscriptions import LogSubscriptions
from emulator.monitoring.logstore import CHECKPOINT_SECONDS, LogStore
from emulator.monitoring.metric_streams import MetricStreams
from emulator.monitoring.metricfilters import MetricFilters
from emulator.monitoring.metrics import DEFAULT_RETENTION, MetricStore
from emulator.monitoring.mute_rules import MuteRules
from emulator.monitoring.query_definitions import QueryDefinitions
from emulator.monitoring.statedb import StateDB
from emulator.monitoring.telemetry import LogShipper, Telemetry
from emulator.protocols.base import Request, Response

if TYPE_CHECKING:
    from emulator.context import RequestContext
    from emulator.runtime import Runtime

log = logging.getLogger("emulator.monitoring")


def setting(runtime_extra: dict[str, Any], key: str, default: Any) -> Any:
    env = os.environ.get("EMULATOR_" + key.upper())
    if env is not None:
        if isinstance(default, dict):
            try:
                return json.loads(env)
            except ValueError:
                return default
        return type(default)(env) if default is not None else env
    return runtime_extra.get(key, default)


class _Task:
    def __init__(self, name: str, interval: float, fn: Callable[[], Any]) -> None:
        self.name = name
        self.interval = interval
        self.fn = fn
        self.due = time.monotonic() + interval


class Monitoring:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        settings = runtime.settings
        extra = settings.extra
        self.dir = Path(settings.data_dir) / "monitoring"
        self.dir.mkdir(parents=True, exist_ok=True)
        retention = setting(extra, "metric_retention", {})
        # Metrics, alarms and log groups are regional; what has no region of its own (the
        # emulator's host metrics, the audit and server logs, data files of the layout
        # without regions) belongs to the default region.
        self.metrics = MetricStore(self.dir / "metrics.db", {**DEFAULT_RETENTION, **{int(k): int(v) for k, v in retention.items()}}, settings.region)
        self.state = StateDB(self.dir / "monitoring.db", settings.region)
        self.logs = LogStore(self.dir / "logs.db", settings.region, settings.account_id)
        self.prices = load_prices(extra)
        self.ledger = Ledger(self.state, self.prices)
        self.alarms = AlarmManager(
            self.state, self.metrics, settings.region, settings.account_id, components=runtime.components, webhooks=setting(extra, "alarm_webhooks", {})
        )
        self.dashboards = Dashboards(self.state, settings.region, settings.account_id)
        self.insight_rules = InsightRules(self.state, settings.region, settings.account_id)
        self.logs.on_events = self._insight_events
        # the second consumer of new log events: subscription filters (emulator.monitoring.logs_subscriptions)
        self.log_subscriptions = LogSubscriptions(self.logs, settings.account_id)
        self.log_subscriptions.bind(runtime.fallback, lambda: self._loop)
        self.metric_filters = MetricFilters(self.logs, self.metrics)
        self.logs_api = LogsAPI(self.logs, settings.account_id, self.metric_filters.count)
        self.telemetry = Telemetry(self.metrics, self.ledger, settings.region)
        self.alarm_interval = float(setting(extra, "alarm_interval", 60.0))
        self.flush_interval = float(setting(extra, "telemetry_flush", 1.0))
        self.collect_interval = float(setting(extra, "telemetry_interval", 60.0))
        self.shipper = LogShipper()
        self._starts = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._task_lock = threading.Lock()
        self._logs_seen = 0
        self._last_collect: float | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._routes_taken = False
        if settings.telemetry:
            runtime.recorder.consumers.append(self.telemetry)
            self.telemetry.drain = runtime.recorder.flush
        runtime.components["metrics"] = self.metrics
        runtime.components["logs"] = self.logs
        runtime.components["alarms"] = self.alarms
        runtime.components["monitoring"] = self
        # Anomaly detectors and metric streams (emulator.monitoring.anomaly, .metric_streams):
        # ``anomaly_training_delay`` (seconds a new model is PENDING_TRAINING, default 300) and
        # ``metric_stream_interval`` (seconds between deliveries, default 60).
        self.anomaly = AnomalyDetectors(self.state, self.metrics, training_delay=float(setting(extra, "anomaly_training_delay", 300.0)))
        self.streams = MetricStreams(self.state, self.metrics, settings.account_id)
        self.streams.bind(runtime.fallback, lambda: self._loop)
        self.stream_interval = float(setting(extra, "metric_stream_interval", 60.0))
        runtime.components["anomaly_detectors"] = self.anomaly
        runtime.components["metric_streams"] = self.streams
        runtime.components["insight_rules"] = self.insight_rules
        # Alarm mute rules (the alarm evaluator asks them before running actions) and metric
        # data query definitions (emulator.monitoring.mute_rules, .query_definitions).
        self.mute_rules = MuteRules(self.state, settings.account_id)
        self.query_definitions = QueryDefinitions(self.state, settings.account_id)
        runtime.components["alarm_mute_rules"] = self.mute_rules

    # ------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        self._starts += 1
        if self._starts != 1:
            return
        self._loop = asyncio.get_running_loop()
        if self.runtime.settings.telemetry:
            logging.getLogger("emulator").addHandler(self.shipper)
        self._tasks = [
            _Task("telemetry", self.flush_interval, lambda: self.flush(drain=False)),
            _Task("alarms", self.alarm_interval, self.alarms.evaluate_all),
            _Task("streams", self.stream_interval, self.streams.deliver_all),
            _Task("collect", self.collect_interval, self.collect),
            _Task("retention", 3600.0, self.housekeeping),
            _Task("checkpoint", CHECKPOINT_SECONDS, self.logs.checkpoint),
        ]
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="monitoring", daemon=True)
        self._thread.start()
        log.info(
            "monitoring started: metrics in %s, alarms every %ss, telemetry every %ss, samples every %ss",
            self.dir, self.alarm_interval, self.flush_interval, self.collect_interval,
        )

    async def stop(self) -> None:
        if self._starts == 0:
            return
        self._starts = 0
        self._stop.set()
        self.log_subscriptions.stop()
        if self._thread is not None:
            await asyncio.get_running_loop().run_in_executor(None, self._thread.join, 10)
        logging.getLogger("emulator").removeHandler(self.shipper)
        try:
            self.flush()
        except Exception:
            log.exception("final telemetry flush failed")
        self.alarms.close()

    # ------------------------------------------------------------ reset (POST /_emulator/reset)
    # Each service forgets only its own state, so either may be reset alone, or both in any
    # order. Called on the event loop, where the handlers' operations and the audit log's
    # writes run, so that none of them interleaves; the monitoring thread's tasks meet the
    # engines' locks. The usage ledger, Prometheus counters and ingest counts stay: they are
    # the server's history, not the account's.

    def reset_cloudwatch(self) -> None:
        """Metrics and datapoints (the user's and the emulator's own), pending telemetry
        aggregates, alarms with their history, dashboards, alarm mute rules and metric data
        query definitions."""
        # Requests answered before the reset reach the ledger and Prometheus now; the
        # datapoints they make are dropped with the rest just below.
        self.runtime.recorder.flush()
        self.telemetry.reset()  # also empties the metric store
        self.alarms.reset()
        self.dashboards.reset()
        self.anomaly.reset()
        self.streams.reset()
        self.insight_rules.reset()
        self.mute_rules.reset()
        self.query_definitions.reset()

    def reset_logs(self) -> None:
        """Log groups (with /emulator/audit, /emulator/server and instance console groups:
        they are written again from the next record on), streams, events, metric filters
        and Insights queries; server log lines not yet shipped are dropped."""
        self.runtime.recorder.flush()  # audit records of earlier calls land now and go below
        self.shipper.discard()
        self.logs_api.reset()
        self.logs.reset()
        self.metric_filters.reset()

    def _run(self) -> None:
        while not self._stop.is_set():
            now = time.monotonic()
            for task in self._tasks:
                if now >= task.due:
                    task.due = now + task.interval
                    try:
                        with self._task_lock:
                            task.fn()
                    except Exception:
                        log.exception("monitoring task %s failed", task.name)
            next_due = min(t.due for t in self._tasks)
            self._stop.wait(max(0.05, min(1.0, next_due - time.monotonic())))

    # ------------------------------------------------------------ tasks
    def flush(self, drain: bool = True) -> None:
        self.telemetry.flush(drain)
        self.shipper.flush_to(self.logs)
        self.insight_rules.flush()

    def _insight_events(self, region: str, group: str, events: list[tuple[int, str]]) -> None:
        # The consumers of new log events: Contributor Insights rules, then subscription filters
        # (which only note the group and wake their worker). Neither fails a write: the events
        # are stored already.
        try:
            self.insight_rules.on_log_events(region, group, events)
        except Exception:
            log.exception("Contributor Insights evaluation failed for log group %s", group)
        try:
            self.log_subscriptions.on_events(region, group, events)
        except Exception:
            log.exception("subscription filters failed for log group %s", group)

    def collect(self) -> None:
        ingested = self.logs.ingested_bytes - self._logs_seen
        self._logs_seen = self.logs.ingested_bytes
        extra = {"logs/ingest_bytes": float(ingested)}
        now = time.time()
        elapsed = now - self._last_collect if self._last_collect is not None else 0.0
        self._last_collect = now
        interval_months = elapsed / (30 * 86400)
        if interval_months > 0:
            # A custom metric costs the hours in which it is sent: those with data in the last hour.
            extra["cloudwatch/metric_months"] = self.metrics.custom_metrics_sent(now - 3600) * interval_months
            extra["cloudwatch/alarm_months"] = self.alarms.count() * interval_months
            extra["cloudwatch/dashboard_months"] = len(self.state.query("SELECT name FROM dashboard")) * interval_months
            size = self._dynamodb_bytes()
            if size:
                extra["dynamodb/storage_gb_months"] = size / 1e9 * interval_months
        self.telemetry.collect(str(self.runtime.settings.data_dir), self.runtime.components.get("compute"), self.logs, self.prices.get("local", {}), extra)
        self.telemetry.publish_charges(self.ledger.report())

    def _dynamodb_bytes(self) -> float:
        """Total TableSizeBytes of the local DynamoDB tables, read on the event loop that owns the engine."""
        engine = self.runtime.components.get("dynamodb")
        loop = self._loop
        if engine is None or loop is None or not loop.is_running() or not hasattr(engine, "tables_size_bytes"):
            return 0.0

        async def measure() -> float:
            return float(engine.tables_size_bytes())  # every region's tables

        try:
            return asyncio.run_coroutine_threadsafe(measure(), loop).result(timeout=10)
        except Exception:  # sizing is best effort; the cost is still reported without it
            log.debug("DynamoDB table sizes unavailable", exc_info=True)
            return 0.0

    def housekeeping(self) -> None:
        self.metrics.rollup()
        self.logs.purge()
        self.alarms.purge_history()
        self.insight_rules.purge()

    def run_now(self, what: str, at: float | None = None) -> None:
        """For tests and scripts: run a periodic task at once (alarms optionally at a given time)."""
        with self._task_lock:
            if what == "alarms":
                self.alarms.evaluate_all(at)
            elif what == "collect":
                self.flush()
                self.collect()
            elif what == "housekeeping":
                self.housekeeping()
            elif what == "streams":
                self.flush()
                self.streams.deliver_all()
            else:
                self.flush()

    # ------------------------------------------------------------ routes
    def take_routes(self) -> list[Route]:
        if self._routes_taken:
            return []
        self._routes_taken = True
        return self.routes()

    def routes(self) -> list[Route]:
        return [
            Route("/metrics", self._prometheus, ("GET",), summary="Telemetry in the Prometheus text exposition format", openapi=_METRICS_DOC),
            Route("/_emulator/usage", self._usage, ("GET",), summary="This month's usage: what it would cost on AWS, what it cost here (?month=YYYY-MM)",
                  openapi=_USAGE_DOC),
            Route(
                "/_emulator/monitoring/", self._control, ("POST",),
                summary="Run a monitoring task now (loopback only): flush, collect, alarms[?time=<epoch>], housekeeping, streams",
                openapi=_CONTROL_DOC,
            ),
        ]

    async def _prometheus(self, request: Request, ctx: RequestContext) -> Response:
        if request.path not in ("/metrics", "/metrics/"):
            return Response(404, {"content-type": "text/plain"}, b"not found\n")
        text = await asyncio.get_running_loop().run_in_executor(None, prometheus.render, self.telemetry)
        return Response(200, {"content-type": "text/plain; version=0.0.4; charset=utf-8"}, text.encode())

    async def _usage(self, request: Request, ctx: RequestContext) -> Response:
        refused = usage_caller(self.runtime, request, ctx)
        if refused is not None:
            return refused
        month = request.query_one("month")
        if month is not None and not _MONTH.fullmatch(month):
            return _error(400, f"Invalid 'month': expected YYYY-MM, but got {month!r}.", "month")
        report = await asyncio.get_running_loop().run_in_executor(None, self.ledger.report, month)
        return Response(200, {"content-type": "application/json"}, orjson.dumps(report))

    async def _control(self, request: Request, ctx: RequestContext) -> Response:
        # Driving the periodic tasks from tests: POST /_emulator/monitoring/{flush,collect,alarms,housekeeping}[?time=<epoch>]
        if self.runtime.settings.auth and not _loopback(request.client_ip):
            return _error(403, "The monitoring control endpoints answer only loopback clients.", None, "permission_denied")
        what = request.path.rsplit("/", 1)[-1]
        if what not in ("flush", "collect", "alarms", "housekeeping", "streams"):
            return _error(404, f"Unknown monitoring task {what!r}: use flush, collect, alarms, housekeeping or streams.", None, "unknown_url")
        at = request.query_one("time")
        when: float | None = None
        if at:
            try:
                when = float(at)
            except ValueError:
                when = math.nan
            if not math.isfinite(when):
                return _error(400, f"Invalid 'time': expected seconds since the epoch, but got {at!r}.", "time")
        await asyncio.get_running_loop().run_in_executor(None, self.run_now, what, when)
        return Response(200, {"content-type": "application/json"}, b'{"ok":true}')

    def health(self) -> dict[str, Any]:
        return {
            "metrics": self.metrics.metric_count(),
            "alarms": self.alarms.count(),
            "requests_observed": self.telemetry.observed,
            "buffered": self.telemetry.pending,  # counted, not yet written as datapoints
        }


_MONTH = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])")
# Reading costs on AWS (Cost Explorer) needs this action; it has no resource types ("*").
USAGE_ACTION = "ce:GetCostAndUsage"


def usage_caller(runtime: Runtime, request: Request, ctx: RequestContext) -> Response | None:
    """Who may read ``GET /_emulator/usage`` (costs by access key): a SigV4-signed request
    (any signing name; ``emulator usage --endpoint`` signs as Cost Explorer, ``ce``) whose
    principal is allowed ``ce:GetCostAndUsage`` (the root user is), or an in-process caller that
    set ``ctx.principal`` (the console, for its signed-in user). Returns the 403 to answer, or
    None with ``ctx.principal`` set (the audit log records the call and its decision).

    With auth off (``--no-auth``) anyone may read it, as any API then; a cluster role has auth
    off too: its port admits only the gateway, which decided this before forwarding."""
    if not runtime.settings.auth:
        return None
    from emulator.errors import AwsError
    from emulator.gateway import security
    from emulator.gateway.authorize import denied_message

    principal = ctx.principal
    if principal is None:
        app = getattr(runtime, "app", None)
        header = request.headers.get("authorization", "")
        if app is None or not (header.startswith("AWS4-HMAC-SHA256 ") or request.query_one("X-Amz-Signature")):
            return _error(403, f"The usage report needs a request signed with AWS Signature Version 4 by a principal allowed {USAGE_ACTION}"
                          " (emulator usage --endpoint signs with AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY).", None, "permission_denied")
        try:
            app.authenticate(ctx)  # the gateway's SigV4 check (and STS session tokens), as for an AWS API call
        except AwsError as err:
            return _error(403, err.message, None, "permission_denied")
        principal = ctx.principal
        if principal is None:
            return _error(403, f"The usage report needs a principal allowed {USAGE_ACTION}.", None, "permission_denied")
    ctx.principal = principal
    if "authorizer" in runtime.components:
        decision = security.check(principal, USAGE_ACTION, "*", runtime=runtime)
        ctx.telemetry["authz"] = {"action": decision.action, "resource": decision.resource, "decision": decision.decision}
        if not decision.allowed:
            return _error(403, denied_message(principal, decision), None, "permission_denied")
    elif not principal.is_root:  # no policies to evaluate: the root user only
        return _error(403, f"User: {principal.arn} is not authorized to perform: {USAGE_ACTION}", None, "permission_denied")
    return None


def _error(status: int, message: str, param: str | None, code: str = "invalid_value") -> Response:
    """The error shape of the emulator's own endpoints (OpenAI's, see emulator.gateway.openapi)."""
    body = {"error": {"message": message, "type": "invalid_request_error", "param": param, "code": code}}
    return Response(status, {"content-type": "application/json"}, orjson.dumps(body))


# OpenAPI descriptions of the routes (emulator.gateway.openapi, /_emulator/openapi.json).
_METRICS_DOC: dict[str, Any] = {"/metrics": {"get": {
    "summary": "Telemetry in the Prometheus text exposition format", "operationId": "getMetrics", "security": [],
    "responses": {"200": {"description": "Prometheus text format 0.0.4", "content": {"text/plain": {"schema": {"type": "string"}}}}},
}}}
_COST = {"type": "number"}
_USAGE_DOC: dict[str, Any] = {"/_emulator/usage": {"get": {
    "summary": "A month's usage: what it would cost on AWS, what it cost here", "operationId": "getUsage", "security": [],
    "description": "The request must be signed with AWS Signature Version 4 (signing name ce) by a principal allowed ce:GetCostAndUsage "
                   "(the root user is); with auth off (--no-auth) it is open.",
    "parameters": [{"name": "month", "in": "query", "required": False, "description": "The month as YYYY-MM (default: this month, UTC)",
                    "schema": {"type": "string", "pattern": "^[0-9]{4}-(0[1-9]|1[0-2])$"}}],
    "responses": {
        "200": {"description": "Costs by service and by access key", "content": {"application/json": {"schema": {
            "type": "object",
            "required": ["month", "currency", "aws_cost_usd", "local_cost_usd", "savings_usd", "by_service", "by_key"],
            "properties": {"month": {"type": "string"}, "currency": {"const": "USD"}, "aws_cost_usd": _COST, "local_cost_usd": _COST,
                           "savings_usd": _COST, "by_service": {"type": "object"}, "by_key": {"type": "object"}},
        }}}},
        "400": {"description": "A month not in YYYY-MM form", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
        "403": {"description": "Not signed (SigV4), or the principal is not allowed ce:GetCostAndUsage",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
    },
}}}
_CONTROL_DOC: dict[str, Any] = {"/_emulator/monitoring/{task}": {"post": {
    "summary": "Run a monitoring task now (loopback clients only; for tests and scripts)", "operationId": "runMonitoringTask", "security": [],
    "parameters": [
        {"name": "task", "in": "path", "required": True, "schema": {"type": "string", "enum": ["flush", "collect", "alarms", "housekeeping", "streams"]}},
        {"name": "time", "in": "query", "required": False, "description": "alarms: evaluate as at this time (seconds since the epoch)",
         "schema": {"type": "number"}},
    ],
    "responses": {
        "200": {"description": "Done", "content": {"application/json": {"schema": {"type": "object", "required": ["ok"], "properties": {"ok": {"const": True}}}}}},
        **{code: {"description": why, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
           for code, why in (("400", "A time that is not a finite number"), ("403", "Not a loopback client"), ("404", "Unknown task"))},
    },
}}}


def _loopback(ip: str) -> bool:
    return ip in ("127.0.0.1", "::1", "localhost", "") or ip.startswith("127.")


def get_monitoring(runtime: Runtime) -> Monitoring:
    existing = runtime.components.get("monitoring")
    if isinstance(existing, Monitoring):
        return existing
    return Monitoring(runtime)
