"""DynamoDB on SQLite vs PostgreSQL: PutItem / GetItem / Query throughput through the wire.

    python -m bench.postgres_bench [--seconds 5] [--connections 16] [--postgres URL]

Three set-ups, one after the other, the same boto3-signed requests replayed by
bench/loadgen.py (pinned to CPU 1 when there are two CPUs or more):

* ``sqlite``: one ``emulator serve`` (default storage, synchronous=FULL, group commit);
* ``postgresql``: one ``emulator serve --storage postgresql://...`` (scratch database);
* ``postgresql x2``: two processes on the same database, each sent half the connections
  by its own load generator at the same time; ops/s is their sum.

PutItem overwrites 1,000 keys round-robin, GetItem reads them, Query reads a 20-item
partition (50 partitions). The PostgreSQL server runs on the same machine, so on a small
machine the database, the emulator(s) and the load generator share the CPUs: compare
the set-ups with each other, not with a dedicated database host. Results: stdout and
bench/out/postgres.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bench import loadgen
from bench.harness import (
    ACCESS_KEY,
    OUT,
    SECRET_KEY,
    client,
    free_port,
    machine,
    replay,
    start,
    stop,
    wait_ready,
)

TABLE = "bench"
KEYS = 1000
PARTITIONS = 50


def _client(port: int) -> Any:
    return client("dynamodb", port, max_attempts=3)


@contextmanager
def servers(storage: str | None, count: int, work: Path) -> Iterator[list[tuple[int, int]]]:
    """``count`` emulator processes on ``storage``; yields [(port, pid)]."""
    env = dict(os.environ, EMULATOR_ROOT_ACCESS_KEY_ID=ACCESS_KEY, EMULATOR_ROOT_SECRET_ACCESS_KEY=SECRET_KEY, PYTHONUNBUFFERED="1")
    env.pop("EMULATOR_DATA_DIR", None)
    procs = []
    ports = []
    try:
        for i in range(count):
            port = free_port()
            cmd = [sys.executable, "-m", "emulator", "serve", "--port", str(port), "--data-dir", str(work / f"data{i}-{port}"), "--services", "dynamodb"]
            if storage:
                cmd += ["--storage", storage]
            procs.append(start(cmd, env, work / f"server{i}-{port}.log"))
            ports.append(port)
        for i, port in enumerate(ports):
            try:
                wait_ready(port)
            except RuntimeError:
                log = (work / f"server{i}-{port}.log").read_text()[-3000:]
                raise RuntimeError(f"server on {port} did not start:\n{log}") from None
        yield [(port, proc.pid) for port, proc in zip(ports, procs, strict=True)]
    finally:
        for proc in procs:
            stop(proc)


def prepare(port: int) -> None:
    c = _client(port)
    c.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    items = [_item(i) for i in range(KEYS)]
    for start_at in range(0, KEYS, 25):
        c.batch_write_item(RequestItems={TABLE: [{"PutRequest": {"Item": it}} for it in items[start_at : start_at + 25]]})


def _item(i: int) -> dict[str, Any]:
    return {"pk": {"S": f"p{i % PARTITIONS}"}, "sk": {"S": f"s{i:05d}"}, "n": {"N": str(i)}, "payload": {"S": "x" * 200}}


def workloads(port: int) -> dict[str, list[bytes]]:
    c = _client(port)
    keys = [{"pk": _item(i)["pk"], "sk": _item(i)["sk"]} for i in range(KEYS)]
    return {
        "PutItem": loadgen.capture(c, [("PutItem", {"TableName": TABLE, "Item": _item(i)}) for i in range(KEYS)]),
        "GetItem": loadgen.capture(c, [("GetItem", {"TableName": TABLE, "Key": k}) for k in keys]),
        "Query": loadgen.capture(
            c,
            [
                ("Query", {"TableName": TABLE, "KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": f"p{i % PARTITIONS}"}}})
                for i in range(KEYS)
            ],
        ),
    }


def run_setup(name: str, storage: str | None, count: int, args: argparse.Namespace, work: Path) -> list[dict[str, Any]]:
    rows = []
    with servers(storage, count, work) as procs:
        prepare(procs[0][0])
        # Requests are signed for their own Host (port): capture per process.
        per_proc = [workloads(port) for port, _pid in procs]
        for op in ("PutItem", "GetItem", "Query"):
            conns = max(1, args.connections // count)
            with ThreadPoolExecutor(count) as pool:
                results = list(
                    pool.map(
                        lambda i, op=op, conns=conns: replay(per_proc[i][op], procs[i][0], conns, args.seconds, f"{name}-{op}-{i}", work, args.warmup, procs[i][1]),
                        range(count),
                    )
                )
            ops = sum(r.ops_per_s for r in results)
            cpu = [r.cpu_us_per_request for r in results if r.cpu_us_per_request]
            rows.append(
                {
                    "setup": name,
                    "op": op,
                    "ops_per_s": round(ops),
                    "p50_ms": round(max(r.p50_ms for r in results), 2),
                    "p99_ms": round(max(r.p99_ms for r in results), 2),
                    "non_2xx": sum(r.non_2xx for r in results),
                    "errors": sum(r.errors for r in results),
                    "server_cpu_us_per_request": round(sum(cpu) / len(cpu), 1) if cpu else None,
                    "runs": [asdict(r) for r in results],
                }
            )
            print(f"{name:>15} {op:>8}: {ops:8,.0f} ops/s  p50 {rows[-1]['p50_ms']:.2f} ms  p99 {rows[-1]['p99_ms']:.2f} ms  non-2xx {rows[-1]['non_2xx']}", flush=True)
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seconds", type=float, default=5.0)
    p.add_argument("--warmup", type=float, default=1.0)
    p.add_argument("--connections", type=int, default=16)
    p.add_argument("--postgres", default=os.environ.get("EMULATOR_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres"), help="server to make scratch databases on")
    args = p.parse_args(argv)

    from emulator.dynamodb.storage.postgres import scratch_database

    OUT.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="bench-pg-") as tmp:
        work = Path(tmp)
        rows += run_setup("sqlite", None, 1, args, work)
        with scratch_database(args.postgres, "emulator_bench") as url:
            rows += run_setup("postgresql", url, 1, args, work)
        with scratch_database(args.postgres, "emulator_bench") as url:
            rows += run_setup("postgresql x2", url, 2, args, work)

    report = {
        "benchmark": "postgres",
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": machine(),
        "command": "python -m bench.postgres_bench " + " ".join(argv if argv is not None else sys.argv[1:]),
        "results": rows,
    }
    (OUT / "postgres.json").write_text(json.dumps(report, indent=2))
    print("\n| set-up | operation | ops/s | p50 ms | p99 ms | server CPU µs/request | non-2xx |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        cpu = f"{r['server_cpu_us_per_request']:.0f}" if r["server_cpu_us_per_request"] else "-"
        print(f"| {r['setup']} | {r['op']} | {r['ops_per_s']:,} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {cpu} | {r['non_2xx']} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
