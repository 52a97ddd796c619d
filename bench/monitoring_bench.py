"""Monitoring benchmarks.

    python -m bench.monitoring_bench [--seconds 8] [--points 1000000] [--skip-telemetry]

1. PutMetricData ingest through the wire: batches of 1,000 datapoints signed by
   boto3 (json protocol, botocore's default), replayed by bench.loadgen; reported
   in datapoints/s. Also the metric store alone (no HTTP), for reference.
2. GetMetricData latency over ``--points`` stored datapoints (50 metrics, one
   datapoint a minute for up to two weeks): a 24-hour range at a 1-minute period
   (1,440 datapoints) for one metric, and five metrics plus a SUM(METRICS()) expression.
3. The cost of built-in telemetry on DynamoDB GetItem throughput: the same replay
   against a server with telemetry on and one with EMULATOR_TELEMETRY=false
   (target: on/off >= 0.95).

Servers are pinned to CPU 0 and the load generator to CPU 1 where taskset exists.
Results go to stdout and bench/out/monitoring.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bench import loadgen
from bench.harness import (
    ACCESS_KEY,
    OUT,
    SECRET_KEY,
    free_port,
    machine,
    pin,
    start,
    stop,
    wait_ready,
)
from bench.harness import client as _client
from bench.harness import replay as harness_replay


def replay(requests: list[bytes], port: int, connections: int, seconds: float, name: str, workdir: Path) -> dict[str, Any]:
    """bench.loadgen in its own process (pinned to CPU 1); returns its JSON result."""
    return asdict(harness_replay(requests, port, connections, seconds, name, workdir, warmup=1.0))


def _server(work: Path, name: str, extra_env: dict[str, str] | None = None) -> tuple[Any, int]:
    env = dict(os.environ, EMULATOR_ROOT_ACCESS_KEY_ID=ACCESS_KEY, EMULATOR_ROOT_SECRET_ACCESS_KEY=SECRET_KEY, PYTHONUNBUFFERED="1")
    env.update(extra_env or {})
    port = free_port()
    cmd = [*pin(0), sys.executable, "-m", "emulator", "serve", "--port", str(port), "--data-dir", str(work / name)]
    proc = start(cmd, env, work / f"{name}.log")
    wait_ready(port)
    return proc, port


def bench_store_ingest(work: Path, batches: int = 200) -> dict[str, Any]:
    from emulator.monitoring.metrics import Datum, MetricStore

    store = MetricStore(work / "ingest.db")
    now = time.time()
    data = [[Datum.single("Bench", f"m{i % 20}", (("Host", f"h{i % 5}"),), float(i), now - (b * 1000 + i) % 86400) for i in range(1000)] for b in range(batches)]
    started = time.perf_counter()
    for batch in data:
        store.put(batch)
    elapsed = time.perf_counter() - started
    store.close()
    return {"batches": batches, "datapoints_per_s": round(batches * 1000 / elapsed)}


def bench_wire_ingest(work: Path, args: argparse.Namespace) -> dict[str, Any]:
    proc, port = _server(work, "ingest", {"EMULATOR_TELEMETRY": "false"})
    try:
        cw = _client("cloudwatch", port)
        now = dt.datetime.now(dt.UTC)
        calls = []
        for r in range(50):
            data = [
                {"MetricName": f"m{i % 20}", "Dimensions": [{"Name": "Host", "Value": f"h{(r + i) % 10}"}], "Value": float(i), "Timestamp": now - dt.timedelta(seconds=(r * 1000 + i) % 3600)}
                for i in range(1000)
            ]
            calls.append(("PutMetricData", {"Namespace": "Bench", "MetricData": data}))
        cw.put_metric_data(**calls[0][1])  # the real thing answers
        requests = loadgen.capture(cw, calls)
        result = replay(requests, port, args.ingest_connections, args.seconds, "putmetricdata", work)
        rps = float(result["ops_per_s"])
        return {"requests_per_s": round(rps, 1), "datapoints_per_s": round(rps * 1000), "p50_ms": result["p50_ms"], "p99_ms": result["p99_ms"], "non_2xx": result["non_2xx"], "errors": result["errors"]}
    finally:
        stop(proc)


def populate(data_dir: Path, points: int) -> None:
    from emulator.monitoring.metrics import Datum, MetricStore

    (data_dir / "monitoring").mkdir(parents=True, exist_ok=True)
    store = MetricStore(data_dir / "monitoring" / "metrics.db")
    metrics = 50
    per_metric = points // metrics
    now = time.time()
    batch: list[Datum] = []
    for m in range(metrics):
        for k in range(per_metric):
            batch.append(Datum.single("Bench", "Latency", (("Host", f"h{m}"),), float((k * 7 + m) % 100), now - k * 60 - 1))
            if len(batch) >= 10_000:
                store.put(batch)
                batch = []
    store.put(batch)
    store.close()


def bench_get_metric_data(work: Path, args: argparse.Namespace) -> dict[str, Any]:
    data_dir = work / "gmd"
    started = time.perf_counter()
    populate(data_dir, args.points)
    populate_s = time.perf_counter() - started
    proc, port = _server(work, "gmd", {"EMULATOR_TELEMETRY": "false"})
    try:
        cw = _client("cloudwatch", port)
        end = dt.datetime.now(dt.UTC)
        start_t = end - dt.timedelta(hours=24)

        def stat(i: int) -> dict[str, Any]:
            return {"Id": f"m{i}", "MetricStat": {"Metric": {"Namespace": "Bench", "MetricName": "Latency", "Dimensions": [{"Name": "Host", "Value": f"h{i}"}]}, "Period": 60, "Stat": "Average"}}

        out: dict[str, Any] = {"stored_datapoints": args.points, "populate_s": round(populate_s, 1)}
        for name, queries in (("one_metric", [stat(0)]), ("five_metrics_plus_sum", [*(stat(i) for i in range(5)), {"Id": "total", "Expression": "SUM(METRICS())"}])):
            latencies = []
            for _ in range(args.queries):
                t0 = time.perf_counter()
                resp = cw.get_metric_data(MetricDataQueries=queries, StartTime=start_t, EndTime=end)
                latencies.append((time.perf_counter() - t0) * 1000)
            points = sum(len(r["Values"]) for r in resp["MetricDataResults"])
            latencies.sort()
            out[name] = {
                "datapoints_returned": points,
                "p50_ms": round(statistics.median(latencies), 1),
                "p99_ms": round(latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))], 1),
            }
        return out
    finally:
        stop(proc)


def bench_telemetry(work: Path, args: argparse.Namespace) -> dict[str, Any] | None:
    results: dict[str, list[float]] = {"on": [], "off": []}
    servers = {"on": _server(work, "tele-on"), "off": _server(work, "tele-off", {"EMULATOR_TELEMETRY": "false"})}
    try:
        health = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{servers['on'][1]}/_emulator/health").read())
        if "dynamodb" not in health["services"]:
            return None
        requests: dict[str, list[bytes]] = {}
        for mode, (_, port) in servers.items():
            ddb = _client("dynamodb", port)
            ddb.create_table(TableName="bench", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}], AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
            for i in range(100):
                ddb.put_item(TableName="bench", Item={"pk": {"S": str(i)}, "v": {"S": "x" * 100}})
            requests[mode] = loadgen.capture(ddb, [("GetItem", {"TableName": "bench", "Key": {"pk": {"S": str(i % 100)}}}) for i in range(1000)])
        # alternate on/off rounds so drift in the machine's load hits both
        for r in range(args.rounds):
            for mode in ("on", "off") if r % 2 == 0 else ("off", "on"):
                res = replay(requests[mode], servers[mode][1], args.connections, args.seconds, f"getitem-{mode}", work)
                if res["non_2xx"] or res["errors"]:
                    raise RuntimeError(f"GetItem replay failed: {res}")
                results[mode].append(float(res["ops_per_s"]))
    finally:
        for proc, _ in servers.values():
            stop(proc)
    on, off = statistics.median(results["on"]), statistics.median(results["off"])
    return {"getitem_rps_telemetry_on": round(on), "getitem_rps_telemetry_off": round(off), "ratio": round(on / off, 3), "rounds": results}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seconds", type=float, default=8.0)
    p.add_argument("--points", type=int, default=1_000_000)
    p.add_argument("--queries", type=int, default=30)
    p.add_argument("--connections", type=int, default=16)
    p.add_argument("--ingest-connections", type=int, default=4)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--skip-telemetry", action="store_true")
    p.add_argument("--only", choices=("ingest", "query", "telemetry"), help="run one part")
    args = p.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {"machine": machine()}
    with tempfile.TemporaryDirectory(prefix="bench-mon-") as tmp:
        work = Path(tmp)
        if args.only in (None, "ingest"):
            report["store_ingest"] = bench_store_ingest(work)
            print("store ingest:", report["store_ingest"], flush=True)
            report["wire_ingest"] = bench_wire_ingest(work, args)
            print("PutMetricData ingest:", report["wire_ingest"], flush=True)
        if args.only in (None, "query"):
            report["get_metric_data"] = bench_get_metric_data(work, args)
            print("GetMetricData:", report["get_metric_data"], flush=True)
        if args.only in (None, "telemetry") and not args.skip_telemetry:
            report["telemetry"] = bench_telemetry(work, args)
            print("telemetry cost:", report["telemetry"], flush=True)
    (OUT / "monitoring.json").write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
