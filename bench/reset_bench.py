"""What ``POST /_emulator/reset`` costs: the pytest plugin calls it before every test.

    python -m bench.reset_bench [--rounds 5]

One ``emulator serve`` (all services, fallback persistence on, the plugin's defaults) pinned to
CPU 0, the client on CPU 1. Per round: a reset with nothing to forget, then state made (an SQS
queue, an S3 bucket with a 1 KiB object, an IAM user with a key, a role, a DynamoDB table
with an item) and a reset of it. Reported: round trip and the server's own ``seconds``, best
and worst of the rounds. Results go to stdout and bench/out/reset.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

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

TRUST = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]})


def _reset(port: int) -> tuple[float, float]:
    req = urllib.request.Request(f"http://127.0.0.1:{port}/_emulator/reset", data=b"{}", method="POST",
                                 headers={"authorization": f"Bearer {ACCESS_KEY}:{SECRET_KEY}", "content-type": "application/json"})
    started = time.perf_counter()
    with urllib.request.urlopen(req, timeout=120) as resp:
        doc = json.loads(resp.read())
    return (time.perf_counter() - started) * 1000, float(doc["seconds"]) * 1000


def _make_state(port: int, i: int) -> None:
    client("sqs", port).create_queue(QueueName=f"bench-{i}")
    s3 = client("s3", port)
    s3.create_bucket(Bucket=f"bench-reset-{i}")
    s3.put_object(Bucket=f"bench-reset-{i}", Key="k", Body=b"x" * 1024)
    iam = client("iam", port)
    iam.create_user(UserName=f"bench-{i}")
    iam.create_access_key(UserName=f"bench-{i}")
    iam.create_role(RoleName=f"bench-{i}", AssumeRolePolicyDocument=TRUST)
    ddb = client("dynamodb", port)
    ddb.create_table(TableName=f"bench-{i}", BillingMode="PAY_PER_REQUEST", AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                     KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}])
    ddb.put_item(TableName=f"bench-{i}", Item={"id": {"S": "a"}})


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rounds", type=int, default=5)
    args = p.parse_args(argv)
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > 1:
        os.sched_setaffinity(0, {1})  # the client on CPU 1, the server on CPU 0
    OUT.mkdir(parents=True, exist_ok=True)
    idle: list[tuple[float, float]] = []
    busy: list[tuple[float, float]] = []
    with tempfile.TemporaryDirectory(prefix="bench-reset-") as tmp:
        env = dict(os.environ, EMULATOR_ROOT_ACCESS_KEY_ID=ACCESS_KEY, EMULATOR_ROOT_SECRET_ACCESS_KEY=SECRET_KEY, PYTHONUNBUFFERED="1")
        port = free_port()
        proc = start([*pin(0), sys.executable, "-m", "emulator", "serve", "--port", str(port), "--data-dir", str(Path(tmp) / "data")], env, Path(tmp) / "server.log")
        try:
            wait_ready(port)
            _reset(port)  # warm
            for i in range(args.rounds):
                idle.append(_reset(port))
                _make_state(port, i)
                busy.append(_reset(port))
        finally:
            stop(proc)
    rows = {"nothing to forget": idle, "SQS + S3 + IAM + DynamoDB state": busy}
    print("| reset | round trip ms, best / worst | server ms, best / worst |")
    print("| --- | ---: | ---: |")
    for name, values in rows.items():
        trips, server = sorted(v[0] for v in values), sorted(v[1] for v in values)
        print(f"| {name} | {trips[0]:.1f} / {trips[-1]:.1f} | {server[0]:.1f} / {server[-1]:.1f} |")
    report = {"benchmark": "reset", "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "machine": machine(),
              "command": "python -m bench.reset_bench " + " ".join(argv if argv is not None else sys.argv[1:]),
              "rows": {name: [{"round_trip_ms": a, "server_ms": b} for a, b in values] for name, values in rows.items()}}
    (OUT / "reset.json").write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
