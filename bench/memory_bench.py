"""Memory under steady mixed traffic: does the server's resident memory level off?

    python -m bench.memory_bench [--seconds 300] [--every 30] [--before DIR]

One ``emulator serve`` (defaults: every service, SigV4, logs, durable SQLite), and, with
``--before DIR``, a second one served from DIR (an older copy of the package), both loaded
at the same time by the same mix from five boto3 threads each, over a bounded set of keys,
so that the data they hold stops growing after the first minute:

* DynamoDB (two threads): PutItem, GetItem, Query, UpdateItem ADD, TransactWriteItems of
  three Puts, over 50 x 40 keys, on a table with a GSI and a stream;
* S3: PutObject (1 B - 200 KB) and GetObject over 100 keys (moto-served);
* SQS: SendMessage, ReceiveMessage (10), DeleteMessage on one queue (moto-served);
* CloudWatch Logs PutLogEvents and CloudWatch PutMetricData.

Every ``--every`` seconds it prints each server's RSS (psutil) and requests answered; at the
end, a table: RSS after the warm-up minute and at the end, growth per 10,000 requests after
the warm-up. Memory that levels off grows ~0 per 10,000 requests; a leak grows in
proportion to the requests. Not pinned: both servers and their clients share the machine.
Results to stdout and bench/out/memory.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from bench.harness import (
    ACCESS_KEY,
    OUT,
    SECRET_KEY,
    client,
    free_port,
    machine,
    start,
    stop,
    wait_ready,
)

WARMUP = 60.0  # seconds before the data set stops growing and caches fill


def _setup(port: int) -> str:
    ddb = client("dynamodb", port)
    ddb.create_table(
        TableName="soak",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": a, "AttributeType": "S"} for a in ("pk", "sk", "g")],
        BillingMode="PAY_PER_REQUEST",
        GlobalSecondaryIndexes=[{"IndexName": "by-g", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}], "Projection": {"ProjectionType": "ALL"}}],
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    client("s3", port).create_bucket(Bucket="soak")
    logs = client("logs", port)
    logs.create_log_group(logGroupName="soak")
    logs.create_log_stream(logGroupName="soak", logStreamName="s")
    return str(client("sqs", port).create_queue(QueueName="soak")["QueueUrl"])


class Load:
    """Five threads of the mix against one server until ``stop``."""

    def __init__(self, port: int, queue: str, until: float) -> None:
        self.port, self.queue, self.until = port, queue, until
        self.ok = 0
        self.errors: list[str] = []
        self.threads = [threading.Thread(target=self._run, args=(kind, seed), daemon=True) for seed, kind in enumerate(("dynamodb", "dynamodb", "s3", "sqs", "monitoring"))]

    def start(self) -> None:
        for t in self.threads:
            t.start()

    def join(self) -> None:
        for t in self.threads:
            t.join()

    def _run(self, kind: str, seed: int) -> None:
        clients = {s: client(s, self.port, max_attempts=3) for s in ("dynamodb", "s3", "sqs", "logs", "cloudwatch")}
        rng = random.Random(seed)
        while time.time() < self.until:
            try:
                getattr(self, "_" + kind)(clients, rng)
                self.ok += 1
            except Exception as exc:  # noqa: BLE001 - counted and shown: a soak reports errors, it does not stop
                if len(self.errors) < 20:
                    self.errors.append(repr(exc)[:300])

    @staticmethod
    def _dynamodb(c: dict[str, Any], rng: random.Random) -> None:
        ddb = c["dynamodb"]
        key = {"pk": {"S": f"p{rng.randrange(50)}"}, "sk": {"S": f"s{rng.randrange(40)}"}}
        op = rng.random()
        if op < 0.4:
            ddb.put_item(TableName="soak", Item={**key, "g": {"S": f"g{rng.randrange(20)}"}, "v": {"S": "x" * rng.randrange(1000)}})
        elif op < 0.7:
            ddb.get_item(TableName="soak", Key=key)
        elif op < 0.85:
            ddb.query(TableName="soak", KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": key["pk"]}, Limit=20)
        elif op < 0.95:
            ddb.update_item(TableName="soak", Key=key, UpdateExpression="ADD n :one", ExpressionAttributeValues={":one": {"N": "1"}})
        else:
            ddb.transact_write_items(TransactItems=[{"Put": {"TableName": "soak", "Item": {"pk": key["pk"], "sk": {"S": f"t{i}"}}}} for i in range(3)])

    @staticmethod
    def _s3(c: dict[str, Any], rng: random.Random) -> None:
        key = f"k{rng.randrange(100)}"
        if rng.random() < 0.5:
            c["s3"].put_object(Bucket="soak", Key=key, Body=os.urandom(rng.randrange(1, 200_000)))
        else:
            try:
                c["s3"].get_object(Bucket="soak", Key=key)["Body"].read()
            except c["s3"].exceptions.NoSuchKey:
                pass

    def _sqs(self, c: dict[str, Any], rng: random.Random) -> None:
        c["sqs"].send_message(QueueUrl=self.queue, MessageBody="m" * rng.randrange(1, 2000))
        for m in c["sqs"].receive_message(QueueUrl=self.queue, MaxNumberOfMessages=10).get("Messages", []):
            c["sqs"].delete_message(QueueUrl=self.queue, ReceiptHandle=m["ReceiptHandle"])

    @staticmethod
    def _monitoring(c: dict[str, Any], rng: random.Random) -> None:
        if rng.random() < 0.5:
            c["logs"].put_log_events(logGroupName="soak", logStreamName="s", logEvents=[{"timestamp": int(time.time() * 1000), "message": "line " * 20} for _ in range(10)])
        else:
            c["cloudwatch"].put_metric_data(Namespace="Soak", MetricData=[{"MetricName": "m", "Value": rng.random(), "Dimensions": [{"Name": "d", "Value": str(rng.randrange(10))}]}])


def main(argv: list[str] | None = None) -> int:
    import psutil

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seconds", type=float, default=300.0)
    p.add_argument("--every", type=float, default=30.0)
    p.add_argument("--before", help="also serve from DIR, an older copy of the emulator package, under the same load")
    args = p.parse_args(argv)

    OUT.mkdir(parents=True, exist_ok=True)
    samples: dict[str, list[tuple[float, float, int]]] = {}  # name -> (seconds, RSS MB, requests)
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as tmp:
        work = Path(tmp)
        env = dict(os.environ, EMULATOR_ROOT_ACCESS_KEY_ID=ACCESS_KEY, EMULATOR_ROOT_SECRET_ACCESS_KEY=SECRET_KEY, PYTHONUNBUFFERED="1")
        env.pop("EMULATOR_DATA_DIR", None)
        servers: dict[str, tuple[subprocess.Popen[bytes], int]] = {}
        try:
            for name, cwd in (("emulator", None), ("before", args.before)):
                if name == "before" and cwd is None:
                    continue
                port = free_port()
                cmd = [sys.executable, "-m", "emulator", "serve", "--port", str(port), "--data-dir", str(work / name)]
                if cwd is None:
                    proc = start(cmd, env, work / f"{name}.log")
                else:
                    with open(work / f"{name}.log", "wb") as fh:
                        proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True)
                servers[name] = (proc, port)
            for _, port in servers.values():
                wait_ready(port)
            began = time.time()
            loads = {name: Load(port, _setup(port), began + args.seconds) for name, (_, port) in servers.items()}
            for load in loads.values():
                load.start()
            while time.time() < began + args.seconds:
                time.sleep(min(args.every, max(began + args.seconds - time.time(), 0.1)))
                line = [f"{time.time() - began:6.0f} s"]
                for name, (proc, _) in servers.items():
                    rss = psutil.Process(proc.pid).memory_info().rss / 1e6
                    samples.setdefault(name, []).append((time.time() - began, rss, loads[name].ok))
                    line.append(f"{name}: RSS {rss:7.1f} MB, {loads[name].ok:>7,} requests, {len(loads[name].errors)} errors")
                print(" | ".join(line), flush=True)
            for load in loads.values():
                load.join()
        finally:
            for proc, _ in servers.values():
                stop(proc)

    rows = []
    for name, points in samples.items():
        after = [pt for pt in points if pt[0] >= WARMUP] or points
        first, last = after[0], points[-1]
        requests = last[2] - first[2]
        per_10k = (last[1] - first[1]) / requests * 10_000 if requests else 0.0
        rows.append({"server": name, "rss_after_warmup_mb": round(first[1], 1), "rss_end_mb": round(last[1], 1), "rss_max_mb": round(max(pt[1] for pt in points), 1),
                     "requests": last[2], "requests_after_warmup": requests, "growth_mb_per_10k_requests": round(per_10k, 2), "errors": loads[name].errors})
    print("| server | RSS after warm-up (MB) | RSS at the end (MB) | max (MB) | requests | growth after warm-up, MB per 10,000 requests | errors |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        print(f"| {r['server']} | {r['rss_after_warmup_mb']} | {r['rss_end_mb']} | {r['rss_max_mb']} | {r['requests']:,} | {r['growth_mb_per_10k_requests']:+.2f} | {len(r['errors'])} |")
    report = {"benchmark": "memory", "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "machine": machine(),
              "command": "python -m bench.memory_bench " + " ".join(argv if argv is not None else sys.argv[1:]),
              "samples": samples, "rows": rows}
    (OUT / "memory.json").write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
