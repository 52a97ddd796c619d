"""What saving moto's state costs: fallback writes with ``fallback_persistence`` on and off.

    python -m bench.fallback_bench [--calls 300] [--rounds 2]

Two ``emulator serve`` processes (all services: S3, SQS and EC2's key pairs are
moto's), one with the default ``fallback_persistence = true`` (every write answered once the
package's snapshot is on disk, emulator/gateway/fallback_state.py), one with it off (moto in
memory, as before), both pinned to CPU 0, the client (boto3, one call at a time) on CPU 1.
The servers alternate by round. Per operation: median and p90 latency, and the difference.

* ``PutObject``  -- 1 KiB objects into one bucket, over 50 keys (S3: metadata snapshot, one
  body file per new content);
* ``SendMessage`` -- to one queue (the queue grows by ``calls`` messages per round);
* ``CreateKeyPair`` -- EC2 through moto (EC2's snapshot is its whole moto backend; with the native EC2
  serving images, without moto's catalogue of public AMIs).

Results go to stdout and bench/out/fallback.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.harness import (
    ACCESS_KEY,
    OUT,
    SECRET_KEY,
    client,
    free_port,
    machine,
    pin,
    start,
    stop,
    wait_ready,
)


def _timed(call: Callable[[int], Any], n: int) -> list[float]:
    out = []
    for i in range(n):
        t = time.perf_counter()
        call(i)
        out.append((time.perf_counter() - t) * 1000)
    return sorted(out)


def _pct(values: list[float], q: float) -> float:
    return values[min(len(values) - 1, int(q * len(values)))]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--calls", type=int, default=300, help="calls per operation and round (CreateKeyPair: a tenth)")
    p.add_argument("--rounds", type=int, default=2)
    args = p.parse_args(argv)
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > 1:
        os.sched_setaffinity(0, {1})  # the client on CPU 1, the servers on CPU 0
    OUT.mkdir(parents=True, exist_ok=True)
    body = os.urandom(1024)
    samples: dict[str, dict[str, list[float]]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-fallback-") as tmp:
        work = Path(tmp)
        env = dict(os.environ, EMULATOR_ROOT_ACCESS_KEY_ID=ACCESS_KEY, EMULATOR_ROOT_SECRET_ACCESS_KEY=SECRET_KEY, PYTHONUNBUFFERED="1")
        ports: dict[str, int] = {}
        procs = []
        for name, on in (("persistent", "true"), ("memory", "false")):
            ports[name] = free_port()
            cmd = [*pin(0), sys.executable, "-m", "emulator", "serve", "--port", str(ports[name]), "--data-dir", str(work / name)]
            procs.append(start(cmd, {**env, "EMULATOR_FALLBACK_PERSISTENCE": on}, work / f"{name}.log"))
        try:
            for port in ports.values():
                wait_ready(port)
            queues = {}
            for name, port in ports.items():
                client("s3", port).create_bucket(Bucket="bench-fallback")
                queues[name] = client("sqs", port).create_queue(QueueName="bench-fallback")["QueueUrl"]
            for r in range(args.rounds):
                for name, port in ports.items():
                    s3, sqs, ec2 = client("s3", port), client("sqs", port), client("ec2", port)
                    ops: dict[str, tuple[Callable[[int], Any], int]] = {
                        "PutObject": (lambda i, s3=s3: s3.put_object(Bucket="bench-fallback", Key=f"k{i % 50}", Body=body), args.calls),
                        "SendMessage": (lambda i, sqs=sqs, q=queues[name]: sqs.send_message(QueueUrl=q, MessageBody="m" * 200), args.calls),
                        "CreateKeyPair": (lambda i, ec2=ec2, r=r: ec2.create_key_pair(KeyName=f"bench-{r}-{i}"), max(5, args.calls // 10)),
                    }
                    for op, (call, n) in ops.items():
                        call(10_000 + r)  # warm
                        samples.setdefault(op, {}).setdefault(name, []).extend(_timed(call, n))
        finally:
            for proc in procs:
                stop(proc)
    rows = []
    print("| operation | persistence on: p50 / p90 ms | off (in memory): p50 / p90 ms | added at p50 |")
    print("| --- | ---: | ---: | ---: |")
    for op, by in samples.items():
        on, off = sorted(by["persistent"]), sorted(by["memory"])
        row = {"operation": op, "on_p50": _pct(on, 0.5), "on_p90": _pct(on, 0.9), "off_p50": _pct(off, 0.5), "off_p90": _pct(off, 0.9), "calls": len(on)}
        rows.append(row)
        print(f"| {op} | {row['on_p50']:.2f} / {row['on_p90']:.2f} | {row['off_p50']:.2f} / {row['off_p90']:.2f} | +{row['on_p50'] - row['off_p50']:.2f} ms |")
    report = {"benchmark": "fallback", "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "machine": machine(),
              "command": "python -m bench.fallback_bench " + " ".join(argv if argv is not None else sys.argv[1:]), "rows": rows}
    (OUT / "fallback.json").write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
