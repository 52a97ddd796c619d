"""Gateway overhead: a trivial native operation through the whole chain vs a bare app.

    python -m bench.gateway_bench [--seconds 10] [--connections 32] [--before DIR] [--bare-coalesced]

* chain: ``emulator serve`` (all services, auth on, access log on), DynamoDB
  ``DescribeLimits`` signed by boto3 -- detect -> SigV4 -> parse -> authorize ->
  validate -> dispatch -> serialize -> observers/access log;
* bare: bench/bare_app.py, a raw ASGI app answering ``{}`` under the same uvicorn
  settings (uvloop, httptools), sent the very same bytes.

* before (with ``--before DIR``): the chain served from DIR, an older copy of the
  emulator package, for before/after numbers in the same run (its CPU per request is
  printed beside the chain's; the ratio stays chain / bare).
* floor (with ``--floor``): bench/floor_app.py, the least a server on this stack does for
  the call (SigV4 verified, orjson, an access log; no detection, authorization, validation,
  audit or telemetry): how much of the chain's cost is the stack's own floor.
* bare-coalesced (with ``--bare-coalesced``): the bare app answering through the emulator's
  own response writer (emulator/uvicorn_send.py), whose answers of one loop pass go out
  together: what the chain's ratio is against a bare app that writes as the chain does.

Each server is pinned to CPU 0 and the load generator to CPU 1 (``taskset``), one
after the other in the same run. Results go to stdout and bench/out/gateway.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import asdict
from pathlib import Path

from bench import loadgen
from bench.harness import (
    ACCESS_KEY,
    OUT,
    SECRET_KEY,
    client,
    free_port,
    machine,
    pin,
    replay,
    start,
    stop,
    wait_ready,
)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--warmup", type=float, default=2.0)
    p.add_argument("--connections", type=int, default=32)
    p.add_argument("--requests", type=int, default=1000, help="distinct pre-signed requests")
    p.add_argument("--rounds", type=int, default=3, help="alternating chain/bare runs; the median is reported")
    p.add_argument("--services", default=None, help="EMULATOR services for the chain server (default: all)")
    p.add_argument("--before", help="also serve the chain from DIR, an older copy of the emulator package (python -m finds the cwd's package first)")
    p.add_argument("--bare-coalesced", action="store_true", help="also the bare app answering through the emulator's response writer (bench/bare_app.py --coalesce)")
    p.add_argument("--floor", action="store_true", help="also bench/floor_app.py: SigV4, orjson and an access log on the same stack, nothing else")
    args = p.parse_args(argv)

    OUT.mkdir(parents=True, exist_ok=True)
    rounds: dict[str, list[loadgen.Result]] = {}
    before: list[loadgen.Result] = []
    coalesced: list[loadgen.Result] = []
    floor: list[loadgen.Result] = []
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        work = Path(tmp)
        env = dict(os.environ, EMULATOR_ROOT_ACCESS_KEY_ID=ACCESS_KEY, EMULATOR_ROOT_SECRET_ACCESS_KEY=SECRET_KEY, PYTHONUNBUFFERED="1")
        env.pop("EMULATOR_DATA_DIR", None)
        chain_port, bare_port = free_port(), free_port()
        cmd = [*pin(0), sys.executable, "-m", "emulator", "serve", "--port", str(chain_port), "--data-dir", str(work / "data")]
        if args.services:
            cmd += ["--services", args.services]
        # Both servers share CPU 0 but only one is under load at a time; alternating the
        # runs spreads any drift in the machine's load over both.
        procs = [start(cmd, env, work / "chain.log"), start([*pin(0), sys.executable, "-m", "bench.bare_app", "--port", str(bare_port)], env, work / "bare.log")]
        coalesced_port = free_port() if args.bare_coalesced else None
        if coalesced_port is not None:
            procs.append(start([*pin(0), sys.executable, "-m", "bench.bare_app", "--port", str(coalesced_port), "--coalesce"], env, work / "bare-coalesced.log"))
        floor_port = free_port() if args.floor else None
        if floor_port is not None:
            procs.append(start([*pin(0), sys.executable, "-m", "bench.floor_app", "--port", str(floor_port), "--data-dir", str(work / "floor-data")], env, work / "floor.log"))
            floor_pid = procs[-1].pid
        before_port = free_port() if args.before else None
        if args.before:
            before_cmd = [*cmd[: cmd.index("--port") + 1], str(before_port), "--data-dir", str(work / "before-data"), *cmd[cmd.index("--data-dir") + 2 :]]
            with open(work / "before.log", "wb") as fh:
                procs.append(subprocess.Popen(before_cmd, env=env, cwd=args.before, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True))
        try:
            wait_ready(chain_port)
            wait_ready(bare_port, "/")
            if coalesced_port is not None:
                wait_ready(coalesced_port, "/")
            if before_port is not None:
                wait_ready(before_port)
            if floor_port is not None:
                wait_ready(floor_port)
            health = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{chain_port}/_emulator/health").read())
            native = "dynamodb" in health["services"]
            ddb = client("dynamodb", chain_port)
            check = ddb.describe_limits()  # the real thing answers
            assert "AccountMaxReadCapacityUnits" in check, check
            requests = loadgen.capture(ddb, [("DescribeLimits", {})] * args.requests)
            chain_name = "chain" if native else "chain-moto-fallback"
            for _ in range(args.rounds):
                rounds.setdefault(chain_name, []).append(replay(requests, chain_port, args.connections, args.seconds, chain_name, work, args.warmup, procs[0].pid))
                rounds.setdefault("bare", []).append(replay(requests, bare_port, args.connections, args.seconds, "bare", work, args.warmup, procs[1].pid))
                if coalesced_port is not None:
                    coalesced.append(replay(requests, coalesced_port, args.connections, args.seconds, "bare-coalesced", work, args.warmup, procs[2].pid))
                if floor_port is not None:
                    floor.append(replay(requests, floor_port, args.connections, args.seconds, "floor", work, args.warmup, floor_pid))
                if before_port is not None:
                    before.append(replay(requests, before_port, args.connections, args.seconds, "before", work, args.warmup, procs[-1].pid))
        finally:
            for proc in procs:
                stop(proc)

    # The median round of each (by ops/s) stands for it.
    results = [sorted(rs, key=lambda r: r.ops_per_s)[len(rs) // 2] for rs in rounds.values()]
    ratio = results[0].ops_per_s / results[1].ops_per_s if results[1].ops_per_s else 0.0
    # Capacity per CPU second (1e6 / server CPU us per request), median over the rounds.
    capacity = {name: sorted(1e6 / r.cpu_us_per_request for r in rs if r.cpu_us_per_request)[len(rs) // 2] for name, rs in rounds.items()}
    cap = list(capacity.values())
    cpu_ratio = cap[0] / cap[1] if len(cap) == 2 and cap[1] else 0.0
    report = {
        "benchmark": "gateway",
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": machine(),
        "pinned": bool(pin(1)),
        "dynamodb_native": native,
        "command": "python -m bench.gateway_bench " + " ".join(argv if argv is not None else sys.argv[1:]),
        "results": [{**asdict(r), "cpu_us_per_request": r.cpu_us_per_request} for r in results],
        "rounds": {name: [round(r.ops_per_s) for r in rs] for name, rs in rounds.items()},
        "chain_over_bare": round(ratio, 3),
        "requests_per_server_cpu_second": {k: round(v) for k, v in capacity.items()},
        "chain_over_bare_per_cpu_second": round(cpu_ratio, 3),
    }
    (OUT / "gateway.json").write_text(json.dumps(report, indent=2))
    for name, rs in rounds.items():
        print(f"{name} rounds (ops/s): {[round(r.ops_per_s) for r in rs]}")
    if before:
        cpu = {name: [round(r.cpu_us_per_request or 0, 1) for r in rs] for name, rs in (*rounds.items(), ("before", before))}
        print("server CPU us/request by round: " + "; ".join(f"{name} {vals} (median {sorted(vals)[len(vals) // 2]})" for name, vals in cpu.items()))
        report["before"] = {"dir": args.before, "cpu_us_per_request": cpu["before"], "ops_per_s": [round(r.ops_per_s) for r in before]}
        (OUT / "gateway.json").write_text(json.dumps(report, indent=2))
    for key, runs, label in (("bare_coalesced", coalesced, "bare (coalesced writes)"), ("floor", floor, "floor")):
        if not runs:
            continue
        mid = sorted(runs, key=lambda r: r.ops_per_s)[len(runs) // 2]
        cpu_mid = sorted(round(r.cpu_us_per_request or 0, 1) for r in runs)[len(runs) // 2]
        # The chain against the coalescing bare app; the floor against the bare app.
        extra = results[0].ops_per_s / mid.ops_per_s if key == "bare_coalesced" else mid.ops_per_s / results[1].ops_per_s
        print(f"{label} rounds (ops/s): {[round(r.ops_per_s) for r in runs]}; server CPU {cpu_mid} us/request (median); "
              f"{'chain / bare-coalesced' if key == 'bare_coalesced' else 'floor / bare'} = {extra:.2f} (ops/s, median round)")
        report[key] = {"ops_per_s": [round(r.ops_per_s) for r in runs], "cpu_us_per_request": [round(r.cpu_us_per_request or 0, 1) for r in runs]}
        (OUT / "gateway.json").write_text(json.dumps(report, indent=2))
    for r in results:
        print(r.line())
    print(f"chain / bare = {ratio:.2f} (ops/s, median round)")
    print(f"requests per server CPU second: {', '.join(f'{k} {v:,.0f}' for k, v in capacity.items())}; chain / bare = {cpu_ratio:.2f}")
    print("| server | ops/s | p50 ms | p99 ms | non-2xx |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for r in results:
        print(f"| {r.name} | {r.ops_per_s:,.0f} | {r.p50_ms:.2f} | {r.p99_ms:.2f} | {r.non_2xx} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
