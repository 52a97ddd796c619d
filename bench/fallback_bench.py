"""What saving moto's state costs: fallback writes with ``fallback_persistence`` on and off, by
how much the package already holds.

    python -m bench.fallback_bench [--calls 300] [--rounds 2] [--prefill 0,1000,10000] [--baseline DIR]

For each state size of ``--prefill``, ``emulator serve`` processes (all services: S3, SQS and
EC2's key pairs are moto's) start with moto already holding that many SQS messages in a queue
(500-byte bodies) and S3 objects in a bucket (100 bytes): put there in the server's own process
before it serves (moto's SendMessage is itself O(messages), so filling a queue over the wire
takes O(N^2)), then written by its first snapshot (the warm-up call). Pinned to CPU 0, the
client (boto3, one call at a time) on CPU 1, the servers alternating by round:

* ``persistent`` -- this tree, the default ``fallback_persistence = true`` (every write answered
  once the package's snapshot is on disk, emulator/gateway/fallback_state.py);
* ``memory`` -- this tree with it off (moto in memory: what moto itself costs);
* ``baseline`` (with ``--baseline DIR``) -- the ``emulator`` package in ``DIR`` (another version
  of the code, e.g. with the previous fallback_state.py), persistence on.

Per operation and size: median and p90 latency.

* ``PutObject``  -- 100-byte objects into the bucket, over 50 keys of their own (overwrites:
  the bucket keeps its size);
* ``SendMessage`` -- 500-byte bodies to the queue (it grows by ``calls`` messages per round);
* ``CreateKeyPair`` -- EC2 through moto, with ``--keypairs`` only.

``--consumed N``: the queue also remembers N messages received and deleted before (moto keeps
every deleted message's receipt handles, 185 characters each, in ``Queue.deleted_messages``).

Results go to stdout and bench/out/fallback.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.harness import (
    ACCESS_KEY,
    OUT,
    ROOT,
    SECRET_KEY,
    client,
    free_port,
    machine,
    pin,
    stop,
    wait_ready,
)

BUCKET = "bench-fallback"
QUEUE = "bench-fallback"
ACCOUNT = "000000000000"
REGION = "us-east-1"

# The server process: moto filled first, then ``python -m emulator`` with the given arguments.
_SERVE = """
import os, runpy, sys
sys.path[:0] = [p for p in (os.environ.get("BENCH_TREE"), os.environ["BENCH_ROOT"]) if p]
os.environ.setdefault("MOTO_ACCOUNT_ID", "000000000000")
from bench.fallback_bench import seed
seed(int(os.environ["BENCH_SIZE"]), int(os.environ.get("BENCH_CONSUMED", "0")))
sys.argv = ["emulator", *sys.argv[1:]]
runpy.run_module("emulator", run_name="__main__", alter_sys=True)
"""


def seed(size: int, consumed: int = 0) -> None:
    """The queue with ``size`` messages and the bucket with ``size`` objects, in moto; the queue
    with the receipt handles of ``consumed`` messages received and deleted before."""
    import random
    import string

    from moto.s3.models import s3_backends
    from moto.sqs.models import Message, sqs_backends

    sqs = sqs_backends[ACCOUNT][REGION]
    queue = sqs.create_queue(QUEUE)
    letters = random.Random(0)
    queue.deleted_messages.update("".join(letters.choices(string.ascii_lowercase, k=185)) for _ in range(consumed))  # as moto's handles
    body = "m" * 500
    for i in range(size):  # SendMessage as moto does it, less its O(N) attribute check
        message = Message(f"seed-{i:08d}-0000-0000-0000-000000000000", body)
        message.mark_sent()
        queue._messages.append(message)
    s3 = s3_backends[ACCOUNT]["aws"]
    s3.create_bucket(BUCKET, REGION)
    blob = os.urandom(100)
    for i in range(size):
        s3.put_object(BUCKET, f"fill/{i:07d}", blob)


def _timed(call: Callable[[int], Any], n: int) -> list[float]:
    out = []
    for i in range(n):
        t = time.perf_counter()
        call(i)
        out.append((time.perf_counter() - t) * 1000)
    return sorted(out)


def _pct(values: list[float], q: float) -> float:
    return values[min(len(values) - 1, int(q * len(values)))]


def _operations(s3: Any, sqs: Any, ec2: Any, queue: str, body: bytes, calls: int, keypairs: bool, tag: str) -> dict[str, tuple[Callable[[int], Any], int]]:
    def put_object(i: int) -> Any:
        return s3.put_object(Bucket=BUCKET, Key=f"k{i % 50}", Body=body)

    def send_message(i: int) -> Any:
        return sqs.send_message(QueueUrl=queue, MessageBody="m" * 500)

    def create_key_pair(i: int) -> Any:
        return ec2.create_key_pair(KeyName=f"bench-{tag}-{i}")

    ops: dict[str, tuple[Callable[[int], Any], int]] = {"PutObject": (put_object, calls), "SendMessage": (send_message, calls)}
    if keypairs:
        ops["CreateKeyPair"] = (create_key_pair, max(5, calls // 10))
    return ops


def _start(name: str, on: str, tree: Path | None, size: int, work: Path, consumed: int = 0) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    env = dict(os.environ, EMULATOR_ROOT_ACCESS_KEY_ID=ACCESS_KEY, EMULATOR_ROOT_SECRET_ACCESS_KEY=SECRET_KEY, PYTHONUNBUFFERED="1",
               EMULATOR_FALLBACK_PERSISTENCE=on, BENCH_ROOT=str(ROOT), BENCH_SIZE=str(size), BENCH_CONSUMED=str(consumed), BENCH_TREE=str(tree or ""))
    data_dir = work / f"{name}-{size}"
    cmd = [*pin(0), sys.executable, "-c", _SERVE, "serve", "--port", str(port), "--data-dir", str(data_dir)]
    with open(work / f"{name}-{size}.log", "wb") as log:
        proc = subprocess.Popen(cmd, env=env, cwd=str(tree or ROOT), stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    return proc, port


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--calls", type=int, default=300, help="calls per operation, server, size and round (CreateKeyPair: a tenth)")
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--prefill", default="0", help="state sizes, comma-separated: messages in the queue and objects in the bucket")
    p.add_argument("--baseline", type=Path, default=None, help="a directory holding another 'emulator' package to compare (persistence on)")
    p.add_argument("--consumed", type=int, default=0, help="the queue also holds the receipt handles of that many messages consumed before")
    p.add_argument("--no-memory", action="store_true", help="without the server with persistence off")
    p.add_argument("--keypairs", action="store_true", help="also CreateKeyPair (EC2 through moto)")
    args = p.parse_args(argv)
    sizes = sorted({int(s) for s in args.prefill.split(",") if s.strip()})
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > 1:
        os.sched_setaffinity(0, {1})  # the client on CPU 1, the servers on CPU 0
    OUT.mkdir(parents=True, exist_ok=True)
    body = os.urandom(100)
    samples: dict[tuple[int, str], dict[str, list[float]]] = {}
    servers: list[tuple[str, str, Path | None]] = [("persistent", "true", None)]
    if not args.no_memory:
        servers.append(("memory", "false", None))
    if args.baseline is not None:
        servers.append(("baseline", "true", args.baseline.resolve()))
    with tempfile.TemporaryDirectory(prefix="bench-fallback-") as tmp:
        work = Path(tmp)
        for size in sizes:
            procs: dict[str, subprocess.Popen[bytes]] = {}
            ports: dict[str, int] = {}
            try:
                for name, on, tree in servers:
                    procs[name], ports[name] = _start(name, on, tree, size, work, args.consumed)
                for port in ports.values():
                    wait_ready(port, timeout=600)
                queues = {name: client("sqs", port).get_queue_url(QueueName=QUEUE)["QueueUrl"] for name, port in ports.items()}
                for r in range(args.rounds):
                    for name, port in ports.items():
                        ops = _operations(client("s3", port), client("sqs", port), client("ec2", port), queues[name], body, args.calls, args.keypairs, f"{size}-{r}")
                        for op, (call, n) in ops.items():
                            call(10_000 + r)  # warm (the first snapshot writes what was seeded)
                            samples.setdefault((size, op), {}).setdefault(name, []).extend(_timed(call, n))
            finally:
                for proc in procs.values():
                    stop(proc)
    rows = []
    names = [name for name, _, _ in servers]
    print("| state size | operation | " + " | ".join(f"{server}: p50 / p90 ms" for server in names) + " |")
    print("| ---: | --- |" + " ---: |" * len(names))
    for (size, op), by in samples.items():
        row: dict[str, Any] = {"size": size, "operation": op, "calls": len(by["persistent"])}
        cells = []
        for server in names:
            values = sorted(by[server])
            row[f"{server}_p50"], row[f"{server}_p90"] = _pct(values, 0.5), _pct(values, 0.9)
            cells.append(f"{row[f'{server}_p50']:.2f} / {row[f'{server}_p90']:.2f}")
        rows.append(row)
        print(f"| {size:,} | {op} | " + " | ".join(cells) + " |")
    report = {"benchmark": "fallback", "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "machine": machine(),
              "command": "python -m bench.fallback_bench " + " ".join(argv if argv is not None else sys.argv[1:]), "rows": rows}
    (OUT / "fallback.json").write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
