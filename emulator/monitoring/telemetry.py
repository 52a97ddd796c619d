"""Built-in telemetry: no user code needed.

``Telemetry.consume`` takes the request recorder's batches (emulator/gateway/recorder.py)
and folds them into aggregates; ``flush()`` (the monitoring thread, every second, and
readers such as GET /metrics) writes those as CloudWatch metrics under AWS's namespaces
and names (AWS/DynamoDB, AWS/Bedrock, the gateway's Emulator/Gateway), usage-ledger
entries and Prometheus counters.
``collect()`` samples the host (Emulator/Host), GPUs via NVML, local EC2
instances (AWS/EC2) and publishes EstimatedCharges (Emulator/Billing).

Regions: a request's metrics go to the request's region (the SigV4 scope, ``ctx.region``;
a DynamoDB table named by its ARN: the ARN's), an instance's to the instance's region;
what belongs to no region of the API (the host, the charges, the OpenAI API's calls) to
the default region, ``settings.region``.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import socket
import threading
import time
from bisect import bisect_left
from collections import defaultdict, deque
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psutil

from emulator.monitoring.costs import SERVICE_NAMES, Ledger
from emulator.monitoring.metrics import Datum, Dims, MetricStore

if TYPE_CHECKING:
    from emulator.monitoring.logstore import LogStore

log = logging.getLogger("emulator.monitoring")

THROTTLE_CODES = ("ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded", "ServiceQuotaExceededException")
DDB_READS = {"GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems"}
DDB_WRITES = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
_SPECIAL = frozenset({"dynamodb", "bedrock-runtime", "cloudwatch", None})
BEDROCK_OPS = {"InvokeModel", "InvokeModelWithResponseStream", "Converse", "ConverseStream", "CountTokens"}


class _Agg:
    """Values of one metric in one flush, kept as value -> count for percentiles."""

    __slots__ = ("unit", "values")

    def __init__(self, unit: str | None) -> None:
        self.values: dict[float, float] = defaultdict(float)
        self.unit = unit

    def add(self, v: float, c: float = 1.0) -> None:
        self.values[v] += c


BILLING_REGION = "us-east-1"  # CloudWatch's billing metrics exist in this Region alone


class Telemetry:
    def __init__(self, store: MetricStore, ledger: Ledger, region: str, clock: Any = time.time) -> None:
        self.store = store
        self.ledger = ledger
        self.region = region
        self.clock = clock
        # Set by the monitoring service to the request recorder's flush (requests not yet handed over).
        self.drain: Any = None
        self.lock = threading.Lock()
        self._emit_lock = threading.Lock()  # datapoints written in flush order
        # Aggregated since the last emit: (region, namespace, metric, dims) -> values; and how many requests.
        self._aggs: dict[tuple[str, str, str, Dims], _Agg] = {}
        self.pending = 0
        # Prometheus: cumulative since start
        self.requests: dict[tuple[str, str, str], float] = defaultdict(float)
        self.latency_hist: dict[tuple[str, str], list[float]] = {}
        self.latency_sum: dict[tuple[str, str], float] = defaultdict(float)
        self.counters: dict[tuple[str, tuple[tuple[str, str], ...]], float] = defaultdict(float)
        self.gauges: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
        self.observed = 0
        self._gpu: Any = None
        self._gpu_checked = False
        self._last_collect: float | None = None
        self._busy: dict[str, float] = {}
        self._console: dict[str, str] = {}
        self._rapl: dict[str, float] = {}
        self.rapl_root = "/sys/class/powercap"
        psutil.cpu_percent(None)  # prime: the next call measures since now

    # ------------------------------------------------------------ requests
    def consume(self, records: list[Any]) -> None:
        """A batch from the request recorder (emulator/gateway/recorder.py): (ctx, response, seconds, epoch).

        Aggregated at once, in the recorder's small batches on the event loop; the periodic
        flush on the monitoring thread then only writes the aggregates. Aggregating a whole
        second of requests there held the GIL for tens of milliseconds, which the event
        loop waited out (p99 latency; bench/RESULTS.md, gateway fourth round)."""
        self.aggregate([
            (
                epoch, ctx.service_name, ctx.operation_name, response.status, seconds, ctx.telemetry,
                ctx.principal.access_key_id if ctx.principal is not None else "anonymous",
                ctx.params, response.headers, len(response.body), len(ctx.request.body), ctx.region,
            )
            for ctx, response, seconds, epoch in records
        ])

    def aggregate(self, items: list[tuple[Any, ...]]) -> None:
        """Fold requests, as (epoch, service, operation, status, seconds, ctx.telemetry, caller,
        params, response headers, response bytes, request bytes, region), into the pending metrics."""
        with self.lock:
            self._aggregate(items)

    # ------------------------------------------------------------ flush
    def flush(self, drain: bool = True) -> int:
        """Write the pending aggregates as metrics; returns how many requests they hold.
        ``drain``: first take the requests the recorder still holds (readers want every answered
        request; the periodic flush on the monitoring thread does not wait for them: the event
        loop hands them over anyway)."""
        if drain and self.drain is not None:
            self.drain()
        # The monitoring thread, GET /metrics and the event loop's batches may meet here: the
        # lock keeps the counters exact; the datapoints are written outside it, so that the
        # loop's next batch never waits for the metric store.
        with self._emit_lock:
            with self.lock:
                aggs, self._aggs = self._aggs, {}
                count, self.pending = self.pending, 0
            self._emit(aggs)
        return count

    def reset(self) -> None:
        """Forget the account's metrics (POST /_emulator/reset): the aggregates not yet written
        and the metric store. Under the emit lock, so that a flush in progress writes its
        datapoints before the store is emptied, never after. The Prometheus counters, gauges
        and the usage ledger stay: they are the server's own history, not the account's."""
        with self._emit_lock:
            with self.lock:
                self._aggs = {}
                self.pending = 0
            self.store.reset()

    def _aggregate(self, items: list[tuple[Any, ...]]) -> None:
        """Fold requests into the pending aggregates, Prometheus counters and the usage ledger."""
        if not items:
            return
        aggs = self._aggs
        self.observed += len(items)
        self.pending += len(items)

        def add(region: str, ns: str, name: str, dims: Dims, value: float, unit: str | None, count: float = 1.0) -> None:
            key = (region, ns, name, dims)
            agg = aggs.get(key)
            if agg is None:
                agg = aggs[key] = _Agg(unit)
            agg.values[value] += count

        # Pass 1, per request and as cheap as possible: group by (service, operation, status, caller, region).
        groups: dict[tuple[str | None, str | None, int, str, str], list[float]] = {}
        special = []
        for item in items:
            service = item[1]
            if service is None and not item[5].get("model_id"):
                continue  # /_emulator/*, /metrics, the console: not AWS traffic
            key = (service, item[2], item[3], item[6], item[11])
            lats = groups.get(key)
            if lats is None:
                lats = groups[key] = []
            lats.append(item[4])
            if service in _SPECIAL:
                special.append(item)
        ts = items[-1][0]
        # Pass 2, per group: the gateway metrics (shaped like AWS/ApiGateway's), Prometheus, the ledger.
        default_region = self.region
        for (service, op, status, principal, req_region), lats in groups.items():
            # The OpenAI API is signed with no region: its calls belong to the default one.
            region = req_region if service is not None else default_region
            service_l = service or "openai"
            op_l = op or "-"
            n = float(len(lats))
            self.requests[(service_l, op_l, str(status))] += n
            hist = self.latency_hist.get((service_l, op_l))
            if hist is None:
                hist = self.latency_hist[(service_l, op_l)] = [0.0] * (len(LATENCY_BUCKETS) + 1)
            ms_counts: dict[float, float] = defaultdict(float)
            total = 0.0
            for sec in lats:
                hist[bisect_left(LATENCY_BUCKETS, sec)] += 1
                ms_counts[round(sec * 1000.0, 2)] += 1
                total += sec
            self.latency_sum[(service_l, op_l)] += total
            err4 = 1.0 if 400 <= status < 500 else 0.0
            err5 = 1.0 if status >= 500 else 0.0
            gw_dims: tuple[Dims, ...] = ((), (("Service", service_l),), (("Operation", op_l), ("Service", service_l)))
            for dims in gw_dims:
                add(region, "Emulator/Gateway", "Count", dims, 1.0, "Count", n)
                add(region, "Emulator/Gateway", "4XXError", dims, err4, "Count", n)
                add(region, "Emulator/Gateway", "5XXError", dims, err5, "Count", n)
                agg = aggs.get((region, "Emulator/Gateway", "Latency", dims))
                if agg is None:
                    agg = aggs[(region, "Emulator/Gateway", "Latency", dims)] = _Agg("Milliseconds")
                for v, c in ms_counts.items():
                    agg.values[v] += c
            if service is not None:
                self.ledger.add(ts, principal, _ledger_service(service), "requests", n)
        # Pass 3: the services whose metrics need each request's details.
        ddb_units: dict[tuple[str, str, str], float] = defaultdict(float)
        for _ts, service, op, status, seconds, tele, principal, params, headers, out_size, in_size, region in special:
            op_l = op or "-"
            code = headers.get("x-amzn-errortype", "").split(":")[0] if status >= 400 else ""
            if service == "dynamodb":
                self._dynamodb(add, ddb_units, op_l, status, seconds * 1000.0, code, tele, principal, params, out_size, in_size, region)
            elif service == "cloudwatch":
                if op == "GetMetricData":
                    self.ledger.add(ts, principal, "cloudwatch", "gmd_metrics", float(len(params.get("MetricDataQueries") or [])))
            elif service:
                self._bedrock(add, ts, op_l, status, seconds * 1000.0, code, tele, principal, params, "AWS/Bedrock", region)
            else:
                self._bedrock(add, ts, op_l, status, seconds * 1000.0, code, tele, principal, params, "Emulator/OpenAI", default_region)
        for (caller, unit_kind, table_name), qty in ddb_units.items():
            self.ledger.add(ts, caller, "dynamodb", unit_kind, qty)
            self.counters[(f"emulator_dynamodb_consumed_{'read' if unit_kind == 'rru' else 'write'}_units_total", (("table", table_name),))] += qty

    def _emit(self, aggs: dict[tuple[str, str, str, Dims], _Agg]) -> None:
        """Write aggregates as datapoints (one per metric, region and flush)."""
        if aggs:
            now = self.clock()
            data = []
            for (region, ns, name, dims), agg in aggs.items():
                vals = agg.values
                total = sum(v * c for v, c in vals.items())
                count = sum(vals.values())
                flat = [x for pair in vals.items() for x in pair] if len(vals) <= 150 else None
                data.append(Datum(ns, name, dims, now, total, count, min(vals), max(vals), flat, agg.unit, 60, 0 if flat is not None else 1, region))
            self.store.put(data)
        self.ledger.flush()

    def _dynamodb(
        self, add: Any, units: dict[tuple[str, str, str], float], op: str, status: int, ms: float, code: str,
        tele: dict[str, Any], principal: str, params: dict[str, Any], out_size: int, in_size: int, region: str,
    ) -> None:
        table = tele.get("table") or params.get("TableName")
        if not isinstance(table, str):
            table = None
        elif table.startswith("arn:"):
            # A table named by its ARN (arn:aws:dynamodb:REGION:ACCOUNT:table/NAME): the
            # metrics are the table's, in its region, under its name.
            parts = table.split(":", 5)
            if len(parts) == 6 and parts[5].startswith("table/"):
                region = parts[3] or region
                table = parts[5][len("table/"):].split("/", 1)[0] or None
        tdims: Dims = (("TableName", table),) if table else ()
        opdims: Dims = (("Operation", op), *tdims)
        if status < 400:
            # The DynamoDB handler reports what the engine really consumed (as AWS computes it).
            consumed = tele.get("consumed_capacity") or {}
            tables = consumed.get("tables") if table is None else None
            if tables:
                # A request over several tables (batches, transactions, PartiQL): AWS publishes
                # its latency and capacity under each table's name (TableName, Operation).
                for name, used in tables.items():
                    add(region, "AWS/DynamoDB", "SuccessfulRequestLatency", (("Operation", op), ("TableName", name)), round(ms, 2), "Milliseconds")
                    for metric, kind, unit in (("ConsumedReadCapacityUnits", "read", "rru"), ("ConsumedWriteCapacityUnits", "write", "wru")):
                        if used.get(kind):
                            add(region, "AWS/DynamoDB", metric, (("TableName", name),), float(used[kind]), "Count")
                            units[(principal, unit, name)] += float(used[kind])
                return
            add(region, "AWS/DynamoDB", "SuccessfulRequestLatency", opdims, round(ms, 2), "Milliseconds")
            if not tdims:
                return  # no table: AWS has no account-wide consumed capacity metric
            rcu = consumed.get("read") if consumed else tele.get("consumed_read")
            wcu = consumed.get("write") if consumed else tele.get("consumed_write")
            if rcu is None and op in DDB_READS:
                # Approximation when the engine does not report capacity: 4 KB per read unit, halved for eventual consistency.
                rcu = max(1, math.ceil(out_size / 4096)) * (1.0 if params.get("ConsistentRead") else 0.5)
            if wcu is None and op in DDB_WRITES:
                wcu = float(max(1, math.ceil(in_size / 1024)))
            if rcu:
                add(region, "AWS/DynamoDB", "ConsumedReadCapacityUnits", tdims, float(rcu), "Count")
                units[(principal, "rru", table or "")] += float(rcu)
            if wcu:
                add(region, "AWS/DynamoDB", "ConsumedWriteCapacityUnits", tdims, float(wcu), "Count")
                units[(principal, "wru", table or "")] += float(wcu)
            return
        if code in THROTTLE_CODES or status == 429:
            add(region, "AWS/DynamoDB", "ThrottledRequests", opdims, 1.0, "Count")
        elif status >= 500:
            add(region, "AWS/DynamoDB", "SystemErrors", opdims, 1.0, "Count")
        else:
            # AWS publishes UserErrors for the account and region, without dimensions
            add(region, "AWS/DynamoDB", "UserErrors", (), 1.0, "Count")

    def _bedrock(self, add: Any, ts: float, op: str, status: int, ms: float, code: str, tele: dict[str, Any], principal: str, params: dict[str, Any], ns: str, region: str) -> None:
        model = tele.get("model_id") or params.get("modelId")
        if not isinstance(model, str) or not model:
            return
        dims: Dims = (("ModelId", model),)
        add(region, ns, "Invocations", dims, 1.0, "Count")
        if status < 400:
            latency = tele.get("latency_ms")
            add(region, ns, "InvocationLatency", dims, float(latency if latency is not None else ms), "Milliseconds")
            tin, tout = tele.get("input_tokens"), tele.get("output_tokens")
            if tin is not None:
                add(region, ns, "InputTokenCount", dims, float(tin), "Count")
                self.ledger.add(ts, principal, "bedrock", f"input_tokens:{model}", float(tin))
                self.counters[("emulator_model_tokens_total", (("direction", "input"), ("model", model)))] += float(tin)
            if tout is not None:
                add(region, ns, "OutputTokenCount", dims, float(tout), "Count")
                self.ledger.add(ts, principal, "bedrock", f"output_tokens:{model}", float(tout))
                self.counters[("emulator_model_tokens_total", (("direction", "output"), ("model", model)))] += float(tout)
            if tele.get("first_byte_ms") is not None and tele.get("streamed"):
                add(region, ns, "TimeToFirstToken", dims, float(tele["first_byte_ms"]), "Milliseconds")
        elif code in THROTTLE_CODES or status == 429:
            add(region, ns, "InvocationThrottles", dims, 1.0, "Count")
        elif status >= 500:
            add(region, ns, "InvocationServerErrors", dims, 1.0, "Count")
        else:
            add(region, ns, "InvocationClientErrors", dims, 1.0, "Count")

    # ------------------------------------------------------------ collectors
    def collect(self, data_dir: str, compute: Any, logs: LogStore | None, local_prices: dict[str, Any], extra_counts: dict[str, float]) -> None:
        now = self.clock()
        interval = (now - self._last_collect) if self._last_collect is not None else 0.0
        self._last_collect = now
        data: list[Datum] = []

        def gauge(ns: str, name: str, dims: Dims, value: float, unit: str, prom: str | None = None, labels: tuple[tuple[str, str], ...] = ()) -> None:
            data.append(Datum.single(ns, name, dims, float(value), now, unit))
            if prom:
                self.gauges[(prom, labels)] = float(value)

        host = (("Host", socket.gethostname()),)
        cpu = psutil.cpu_percent(None)
        mem = psutil.virtual_memory()
        gauge("Emulator/Host", "CPUUtilization", host, cpu, "Percent", "emulator_host_cpu_percent")
        gauge("Emulator/Host", "MemoryUtilization", host, mem.percent, "Percent", "emulator_host_memory_percent")
        gauge("Emulator/Host", "MemoryUsed", host, mem.total - mem.available, "Bytes", "emulator_host_memory_used_bytes")
        try:
            disk = psutil.disk_usage(data_dir)
            gauge("Emulator/Host", "DiskSpaceUtilization", host, disk.percent, "Percent", "emulator_host_disk_percent")
            gauge("Emulator/Host", "DiskSpaceUsed", host, disk.used, "Bytes", "emulator_host_disk_used_bytes")
        except OSError:
            pass
        try:
            proc = psutil.Process(os.getpid())
            gauge("Emulator/Host", "ProcessMemory", host, proc.memory_info().rss, "Bytes", "emulator_process_resident_bytes")
        except psutil.Error:
            pass
        gpu_watts = 0.0
        for index, stats in self._gpu_stats():
            dims = (("GPU", str(index)), *host)
            labels = (("gpu", str(index)),)
            gauge("Emulator/Host", "GPUUtilization", dims, stats["util"], "Percent", "emulator_gpu_utilization_percent", labels)
            gauge("Emulator/Host", "GPUMemoryUsed", dims, stats["mem_used"], "Bytes", "emulator_gpu_memory_used_bytes", labels)
            gauge("Emulator/Host", "GPUMemoryUtilization", dims, 100.0 * stats["mem_used"] / max(1, stats["mem_total"]), "Percent", "emulator_gpu_memory_percent", labels)
            if stats.get("temp") is not None:
                gauge("Emulator/Host", "GPUTemperature", dims, stats["temp"], "None", "emulator_gpu_temperature_celsius", labels)
            if stats.get("watts") is not None:
                gauge("Emulator/Host", "GPUPower", dims, stats["watts"], "None", "emulator_gpu_power_watts", labels)
                gpu_watts += stats["watts"]
        rapl_joules = self._rapl_joules()
        if interval > 0:
            hours = interval / 3600.0
            if rapl_joules is not None:
                # measured CPU package energy (Intel/AMD RAPL) when the kernel exposes it
                host_kwh = rapl_joules / 3.6e6
                gauge("Emulator/Host", "HostPower", host, rapl_joules / interval, "None", "emulator_host_power_watts")
            else:
                host_kwh = float(local_prices.get("host_watts", 0.0)) * hours / 1000.0
            self.ledger.add(now, "local", "local", "host_kwh", host_kwh)
            if gpu_watts:
                self.ledger.add(now, "local", "local", "gpu_kwh", gpu_watts * hours / 1000.0)
        self._ec2(compute, now, interval, data, logs)
        for item, qty in extra_counts.items():
            service, _, name = item.partition("/")  # "logs/ingest_bytes", "dynamodb/storage_gb_months", ...
            self.ledger.add(now, "local", service, name, qty)
        self.store.put(data)
        self.ledger.flush()

    def _rapl_joules(self) -> float | None:
        """Energy of the CPU packages since the last call, from /sys/class/powercap (None when unreadable)."""
        total = 0.0
        readings: dict[str, float] = {}
        try:
            domains = sorted(p for p in Path(self.rapl_root).glob("intel-rapl:*") if p.name.count(":") == 1)
            for domain in domains:
                energy = float((domain / "energy_uj").read_text())
                readings[domain.name] = energy
                prev = self._rapl.get(domain.name)
                if prev is not None:
                    delta = energy - prev
                    if delta < 0:  # the counter wrapped
                        delta += float((domain / "max_energy_range_uj").read_text())
                    total += delta / 1e6
        except (OSError, ValueError):
            return None
        if not readings:
            return None
        first = not self._rapl
        self._rapl = readings
        return None if first else total

    def publish_charges(self, report: dict[str, Any]) -> None:
        now = self.clock()
        data = []
        by_name: dict[str, float] = defaultdict(float)
        for service, info in report["by_service"].items():
            name = SERVICE_NAMES.get(service, service)
            by_name[name] += info["local_cost_usd"] if service == "local" else info["aws_cost_usd"]
        for name, cost in by_name.items():
            data.append(Datum.single("Emulator/Billing", "EstimatedCharges", (("Currency", "USD"), ("ServiceName", name)), cost, now, "None"))
            self.gauges[("emulator_estimated_charges_usd", (("service", name),))] = cost
            if name != "Local":
                # What AWS would bill, where AWS publishes it: AWS/Billing in us-east-1 only, so
                # that billing alarms written for AWS work here unchanged.
                data.append(Datum.single("AWS/Billing", "EstimatedCharges", (("Currency", "USD"), ("ServiceName", name)), cost, now, "None", BILLING_REGION))
        data.append(Datum.single("Emulator/Billing", "EstimatedCharges", (("Currency", "USD"),), report["aws_cost_usd"], now, "None"))
        data.append(Datum.single("AWS/Billing", "EstimatedCharges", (("Currency", "USD"),), report["aws_cost_usd"], now, "None", BILLING_REGION))
        self.gauges[("emulator_estimated_charges_usd", (("service", "total"),))] = report["aws_cost_usd"]
        self.gauges[("emulator_local_cost_usd", ())] = report["local_cost_usd"]
        self.store.put(data)

    def _gpu_stats(self) -> list[tuple[int, dict[str, float]]]:
        if not self._gpu_checked:
            self._gpu_checked = True
            try:
                import pynvml

                pynvml.nvmlInit()
                self._gpu = pynvml
            except Exception:  # noqa: BLE001 - no NVIDIA driver: no GPU metrics
                self._gpu = None
        nv = self._gpu
        if nv is None:
            return []
        out = []
        try:
            for i in range(nv.nvmlDeviceGetCount()):
                h = nv.nvmlDeviceGetHandleByIndex(i)
                util = nv.nvmlDeviceGetUtilizationRates(h)
                mem = nv.nvmlDeviceGetMemoryInfo(h)
                stats: dict[str, float] = {"util": float(util.gpu), "mem_used": float(mem.used), "mem_total": float(mem.total)}
                with contextlib.suppress(nv.NVMLError):  # not every board reports temperature/power
                    stats["temp"] = float(nv.nvmlDeviceGetTemperature(h, nv.NVML_TEMPERATURE_GPU))
                with contextlib.suppress(nv.NVMLError):
                    stats["watts"] = nv.nvmlDeviceGetPowerUsage(h) / 1000.0
                out.append((i, stats))
        except Exception:
            log.debug("NVML query failed", exc_info=True)
        return out

    def _ec2(self, compute: Any, now: float, interval: float, data: list[Datum], logs: LogStore | None) -> None:
        manager = getattr(compute, "manager", None)
        instances = getattr(manager, "instances", None)
        if not isinstance(instances, dict):
            return
        schedulers = getattr(manager, "schedulers", {}) or {}
        running = 0
        home = getattr(manager, "region", None)
        for iid, inst in list(instances.items()):
            state = getattr(inst, "state", "")
            console = getattr(inst, "console", "")
            region = instance_region(inst, home if isinstance(home, str) else self.region)
            if logs is not None and isinstance(console, str) and console:
                self._ship_console(logs, iid, console, region)
            if state != "running":
                continue
            running += 1
            dims: Dims = (("InstanceId", iid),)
            sched = schedulers.get(iid)
            pool = getattr(sched, "pool", None)
            busy = float(getattr(pool, "busy_seconds", 0.0) or 0.0)
            slots = float(getattr(pool, "slots", 1) or 1)
            prev = self._busy.get(iid)
            self._busy[iid] = busy
            if prev is not None and interval > 0:
                cpu = min(100.0, max(0.0, 100.0 * (busy - prev) / (interval * slots)))
                data.append(Datum.single("AWS/EC2", "CPUUtilization", dims, cpu, now, "Percent", region))
                self.gauges[("emulator_instance_utilization_percent", (("instance", iid),))] = cpu
            data.append(Datum.single("AWS/EC2", "StatusCheckFailed", dims, 0.0, now, "Count", region))
            if pool is not None:
                data.append(Datum.single("AWS/EC2", "InferenceQueueDepth", dims, float(getattr(pool, "waiting", 0) or 0), now, "Count", region))
            if interval > 0:
                itype = getattr(inst, "instance_type", "default")
                self.ledger.add(now, getattr(inst, "requester", "") or "local", "ec2", f"instance_hours:{itype}", interval / 3600.0)
        self.gauges[("emulator_instances_running", ())] = float(running)

    def _ship_console(self, logs: LogStore, iid: str, console: str, region: str) -> None:
        old = self._console.get(iid, "")
        if console == old:
            return
        if old and console.startswith(old):
            new = console[len(old) :]
        elif old:
            tail = old[-200:]
            pos = console.rfind(tail)
            new = console[pos + len(tail) :] if pos >= 0 else console
        else:
            new = console
        self._console[iid] = console
        lines = [line for line in new.splitlines() if line.strip()]
        if lines:
            now_ms = int(self.clock() * 1000)
            logs.put_many(f"/emulator/instances/{iid}", "console", [(now_ms, line) for line in lines], region)


def instance_region(inst: Any, default: str) -> str:
    """An instance's region: its own ``region`` if it has one, else its Availability
    Zone's (the zone's name is the region's plus a letter: us-east-1a), else ``default``."""
    region = getattr(inst, "region", None)
    if isinstance(region, str) and region:
        return region
    zone = getattr(inst, "availability_zone", None)
    if isinstance(zone, str) and len(zone) > 1 and zone[-1].isalpha() and zone[-2].isdigit():
        return zone[:-1]
    return default


def _ledger_service(service: str) -> str:
    return {"bedrock-runtime": "bedrock", "dynamodbstreams": "dynamodb"}.get(service, service)


class LogShipper(logging.Handler):
    """Ships the server's own log records to /emulator/server (buffered, flushed with telemetry)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.buffer: deque[tuple[int, str]] = deque(maxlen=100_000)
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        self.stream = f"{socket.gethostname()}-{os.getpid()}"
        self._flush_lock = threading.Lock()  # discard() waits for lines already taken to be written

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.buffer.append((int(record.created * 1000), self.format(record)))
        except Exception:  # noqa: BLE001 - logging must never raise
            self.handleError(record)

    def flush_to(self, logs: LogStore) -> None:
        with self._flush_lock:
            lines = []
            while self.buffer:
                try:
                    lines.append(self.buffer.popleft())
                except IndexError:
                    break
            if lines:
                logs.put_many("/emulator/server", self.stream, lines)

    def discard(self) -> None:
        """Drop the lines not yet shipped (a reset of CloudWatch Logs). A flush in progress
        finishes first, so its lines land before the log store is emptied, not after it."""
        with self._flush_lock:
            self.buffer.clear()
