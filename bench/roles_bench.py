"""Cluster overhead: DynamoDB GetItem through gateway -> dynamodb role vs one process.

    python -m bench.roles_bench [--seconds 5] [--rounds 3] [--connections 16] [--no-append]

* single: ``emulator serve`` (everything in one process);
* cluster: ``--role gateway`` + ``--role dynamodb`` + ``--role monitoring`` (telemetry of
  the dynamodb role goes to the monitoring role), GetItem sent to the gateway, which
  authenticates, authorizes, validates and forwards over a keep-alive pool.

Both get the same boto3-signed bytes (bench/loadgen.py), alternating rounds; the best
round of each counts. Also reported: server CPU per request (all processes of the
setup), which is steadier than wall-clock throughput on a shared 2-core machine.
Appends the ratio to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil

from bench import loadgen
from emulator.testing.server import EmulatorServer, free_port

HERE = Path(__file__).resolve().parent
TABLE = "bench"


def cpu_seconds(servers: list[EmulatorServer]) -> float:
    total = 0.0
    for server in servers:
        assert server.proc is not None
        times = psutil.Process(server.proc.pid).cpu_times()
        total += times.user + times.system
    return total


def prepare(server: EmulatorServer) -> list[bytes]:
    ddb = server.client("dynamodb")
    ddb.create_table(TableName=TABLE, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
    for i in range(100):
        ddb.put_item(TableName=TABLE, Item={"pk": {"S": f"k{i}"}, "v": {"S": "x" * 100}})
    calls = [("GetItem", {"TableName": TABLE, "Key": {"pk": {"S": f"k{i % 100}"}}}) for i in range(200)]
    return loadgen.capture(ddb, calls)


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--seconds", type=float, default=5.0)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--connections", type=int, default=16)
    p.add_argument("--no-append", action="store_true")
    args = p.parse_args()

    secret = secrets.token_hex(16)
    tmp = tempfile.TemporaryDirectory(prefix="roles-bench-")
    base = Path(tmp.name)
    env = {"EMULATOR_CLUSTER_SECRET": secret}
    gw_port, ddb_port, mon_port = free_port(), free_port(), free_port()
    gw_url = f"http://127.0.0.1:{gw_port}"
    single = EmulatorServer(data_dir=base / "single")
    gateway = EmulatorServer(data_dir=base / "gateway", port=gw_port, env=env,
                             extra_args=["--role", "gateway", "--peer", f"dynamodb=http://127.0.0.1:{ddb_port}", "--peer", f"monitoring=http://127.0.0.1:{mon_port}"])
    dynamodb = EmulatorServer(data_dir=base / "dynamodb", port=ddb_port, env=env, extra_args=["--role", "dynamodb", "--gateway-url", gw_url])
    monitoring = EmulatorServer(data_dir=base / "monitoring", port=mon_port, env=env, extra_args=["--role", "monitoring", "--gateway-url", gw_url])
    setups: dict[str, tuple[EmulatorServer, list[EmulatorServer]]] = {
        "single": (single, [single]),
        "cluster": (gateway, [gateway, dynamodb, monitoring]),
    }
    results: dict[str, list[float]] = {"single": [], "cluster": []}
    per_cpu: dict[str, list[float]] = {"single": [], "cluster": []}
    try:
        for server in (single, dynamodb, monitoring, gateway):
            server.start(timeout=120)
        requests = {name: prepare(front) for name, (front, _) in setups.items()}
        for _ in range(args.rounds):
            for name, (front, procs) in setups.items():
                before = cpu_seconds(procs)
                res = loadgen.run("127.0.0.1", front.port, requests[name], connections=args.connections, seconds=args.seconds, warmup=0.5, name=name)
                cpu = cpu_seconds(procs) - before
                if res.non_2xx or res.errors:
                    raise SystemExit(f"{name}: {res.non_2xx} non-2xx, {res.errors} errors: {res.statuses}")
                results[name].append(res.ops_per_s)
                per_cpu[name].append(res.total_requests / cpu if cpu > 0 else 0.0)
                print(res.line(), f" | {per_cpu[name][-1]:,.0f} req per server CPU-second", flush=True)
    finally:
        for server in (gateway, dynamodb, monitoring, single):
            server.stop()
        tmp.cleanup()
    best = {k: max(v) for k, v in results.items()}
    cpu_best = {k: max(v) for k, v in per_cpu.items()}
    summary: dict[str, Any] = {
        "machine": f"{platform.machine()} {platform.python_version()} {os.cpu_count()} cores",
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "getitem_ops_per_s": {k: round(v) for k, v in best.items()},
        "getitem_per_server_cpu_s": {k: round(v) for k, v in cpu_best.items()},
        "ratio_cluster_over_single": round(best["cluster"] / best["single"], 3),
        "cpu_ratio_cluster_over_single": round(cpu_best["cluster"] / cpu_best["single"], 3),
    }
    print(json.dumps(summary, indent=1))
    out = HERE / "out"
    out.mkdir(exist_ok=True)
    (out / "roles.json").write_text(json.dumps(summary, indent=1))
    if not args.no_append:
        with open(HERE / "RESULTS.md", "a", encoding="utf-8") as fh:
            fh.write(
                "\n## Separate roles (bench/roles_bench.py)\n\n"
                f"{summary['date']}, {summary['machine']}, {args.connections} connections, best of {args.rounds} x {args.seconds:g} s, "
                f"load average {os.getloadavg()[0]:.1f}.\n\n"
                "| DynamoDB GetItem | ops/s (wall) | requests per server CPU-second (all processes) |\n|---|---|---|\n"
                f"| one process | {best['single']:,.0f} | {cpu_best['single']:,.0f} |\n"
                f"| gateway -> dynamodb role | {best['cluster']:,.0f} | {cpu_best['cluster']:,.0f} |\n\n"
                f"Ratio cluster/single: **{summary['ratio_cluster_over_single']:.3f}** wall-clock, "
                f"{summary['cpu_ratio_cluster_over_single']:.3f} per server CPU-second. Each forwarded call is parsed, authorized "
                "and validated at the gateway, then parsed and served again by the role, plus one loopback HTTP hop; "
                "on 2 cores the three servers and the load generator share the CPUs, so the wall-clock ratio is a floor.\n"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
