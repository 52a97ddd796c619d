"""DynamoDB data plane: this emulator vs moto server vs dynalite (on disk), same run.

    python -m bench.dynamodb_bench [--seconds 3] [--warmup 0.5] [--concurrency 1,16,64]
    python -m bench.dynamodb_bench --inprocess [--profile]   # CPU per request, no sockets

Workloads (items of ~1 KB: a string hash key, a string range key, a 1,000-byte
string, a number, a small map), every request signed by botocore up front
(``bench.loadgen.capture``) and replayed as raw bytes over keep-alive connections
by ``bench/loadgen.py``, one request in flight per connection:

* ``PutItem``  -- 2,000 distinct keys, round-robin (overwrites after the first pass);
* ``GetItem``  -- 1,000 seeded items, round-robin;
* ``Query``    -- ``KeyConditionExpression pk = :p``, ``Limit 20`` on 50 partitions of
  40 items each (a 20-item page);
* ``mix``      -- GetItem and PutItem alternating (50/50).

Servers, each started here and pinned to CPU 0 (``taskset -c 0``), the load generator
pinned to CPU 1, one server under load at a time:

* ``emulator`` -- ``python -m emulator serve`` with its defaults (all services, SigV4
  on, authorizer, validator, audit and access logs, durable group commit);
* ``moto``     -- ``moto_server`` (in memory; it closes the connection after every answer,
  so its load generator reconnects, as an SDK would);
* ``dynalite`` -- ``node bench/peers/node_modules/dynalite/cli.js --path DIR`` (LevelDB on
  disk; ``cd bench/peers && npm install`` once);
* ``bare``     -- bench/bare_app.py answering ``{}``: the ceiling of the load generator;
* ``before``   -- (optional, ``--before DIR``) ``emulator serve`` run from DIR, an older copy
  of the package, for before/after numbers in the same run;
* ``floor``    -- (optional) bench/floor_app.py: the least a server on the emulator's stack
  (uvicorn, SigV4, orjson, SQLite) does for these calls, with no authorization, validation,
  audit, telemetry or durable commit (PutItem, GetItem and mix only): where this stack's lower
  bound lies against the peers.

Servers are all started first; then each (workload, concurrency) cell measures them back
to back, so drifting background load hits them alike.

Results go to stdout, bench/out/dynamodb.json and, with ``--write-results``, to the
"DynamoDB data plane" section of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bench import loadgen
from bench.harness import (
    ACCESS_KEY,
    OUT,
    ROOT,
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

PEERS = ROOT / "bench" / "peers"
TABLE = "bench"
WORKLOADS = ("PutItem", "GetItem", "Query", "mix")
GET_ITEMS = 1000
PUT_KEYS = 2000
QUERY_PARTITIONS = 50
QUERY_PAGE = 20
PAYLOAD = "x" * 1000


def item(pk: str, sk: str, n: int) -> dict[str, Any]:
    return {
        "pk": {"S": pk},
        "sk": {"S": sk},
        "data": {"S": PAYLOAD},
        "n": {"N": str(n)},
        "meta": {"M": {"owner": {"S": f"user-{n % 97}"}, "active": {"BOOL": n % 2 == 0}}},
    }


def seed_items() -> list[dict[str, Any]]:
    items = [item(f"g{i}", "0", i) for i in range(GET_ITEMS)]
    items += [item(f"q{p}", f"{s:04d}", s) for p in range(QUERY_PARTITIONS) for s in range(QUERY_PAGE * 2)]
    return items


def calls(workload: str) -> list[tuple[str, dict[str, Any]]]:
    if workload == "PutItem":
        return [("PutItem", {"TableName": TABLE, "Item": item(f"p{i}", "0", i)}) for i in range(PUT_KEYS)]
    if workload == "GetItem":
        return [("GetItem", {"TableName": TABLE, "Key": {"pk": {"S": f"g{i}"}, "sk": {"S": "0"}}}) for i in range(GET_ITEMS)]
    if workload == "Query":
        return [
            ("Query", {"TableName": TABLE, "KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": f"q{p}"}}, "Limit": QUERY_PAGE})
            for p in range(QUERY_PARTITIONS)
        ]
    if workload == "mix":
        out: list[tuple[str, dict[str, Any]]] = []
        for i in range(GET_ITEMS):
            out.append(("GetItem", {"TableName": TABLE, "Key": {"pk": {"S": f"g{i}"}, "sk": {"S": "0"}}}))
            out.append(("PutItem", {"TableName": TABLE, "Item": item(f"p{i}", "0", i)}))
        return out
    raise ValueError(workload)


FLOOR_WORKLOADS = ("PutItem", "GetItem", "mix")  # the floor has no Query (bench/floor_app.py)


def client_for(port: int) -> Any:
    return client("dynamodb", port, max_attempts=3, max_pool_connections=4)


def prepare(client: Any) -> None:
    """Create the table and seed it; check each workload answers correctly once."""
    client.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    client.get_waiter("table_exists").wait(TableName=TABLE, WaiterConfig={"Delay": 0.2, "MaxAttempts": 300})
    items = seed_items()
    for i in range(0, len(items), 25):
        pending: dict[str, Any] = {TABLE: [{"PutRequest": {"Item": it}} for it in items[i : i + 25]]}
        while pending:
            pending = client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
    got = client.get_item(TableName=TABLE, Key={"pk": {"S": "g7"}, "sk": {"S": "0"}})["Item"]
    assert got["data"]["S"] == PAYLOAD and got["n"]["N"] == "7", got
    page = client.query(TableName=TABLE, KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "q3"}}, Limit=QUERY_PAGE)
    assert page["Count"] == QUERY_PAGE and "LastEvaluatedKey" in page, page


# --------------------------------------------------------------------------- servers
def server_commands(name: str, port: int, work: Path) -> tuple[list[str], str]:
    """(command, health path) for one server."""
    if name in ("emulator", "before"):
        # "before": the same command run from --before DIR, a copy of the tree with the
        # files under optimization as they were (python -m finds the cwd's package first).
        return [*pin(0), sys.executable, "-m", "emulator", "serve", "--port", str(port), "--data-dir", str(work / f"{name}-data")], "/_emulator/health"
    if name == "moto":
        moto = shutil.which("moto_server") or str(Path(sys.executable).with_name("moto_server"))
        return [*pin(0), moto, "-H", "127.0.0.1", "-p", str(port)], "/"
    if name == "dynalite":
        cli = PEERS / "node_modules" / "dynalite" / "cli.js"
        if not cli.exists():
            raise RuntimeError("dynalite is not installed: cd bench/peers && npm install")
        data = work / "dynalite-data"
        data.mkdir(exist_ok=True)
        return [*pin(0), "node", str(cli), "--port", str(port), "--path", str(data), "--createTableMs", "0"], "/"
    if name == "bare":
        return [*pin(0), sys.executable, "-m", "bench.bare_app", "--port", str(port)], "/"
    if name == "floor":
        return [*pin(0), sys.executable, "-m", "bench.floor_app", "--port", str(port), "--data-dir", str(work / "floor-data")], "/_emulator/health"
    raise ValueError(name)


def run_all(args: argparse.Namespace, work: Path, env: dict[str, str]) -> list[dict[str, Any]]:
    """Start every server, then measure cell by cell (workload, concurrency), the servers
    back to back within a cell, so drifting background load hits them alike."""
    names = [n for n in args.servers.split(",") if n]
    procs: dict[str, Any] = {}
    ports: dict[str, int] = {}
    requests: dict[tuple[str, str], list[bytes]] = {}
    rows: list[dict[str, Any]] = []
    try:
        for name in names:
            ports[name] = free_port()
            cmd, health = server_commands(name, ports[name], work)
            if name == "before":
                with open(work / "before.log", "wb") as fh:
                    procs[name] = subprocess.Popen(cmd, env=env, cwd=args.before, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True)
            else:
                procs[name] = start(cmd, env, work / f"{name}.log")
            wait_ready(ports[name], health)
        for name in names:
            client = client_for(ports[name])
            if name != "bare":
                prepare(client)
            for workload in ["GetItem"] if name == "bare" else [w for w in args.workloads if name != "floor" or w in FLOOR_WORKLOADS]:
                requests[(name, workload)] = loadgen.capture(client, calls(workload))
        peers = [n for n in names if n != "bare"]
        cells = [("GetItem", c, ["bare"]) for c in args.concurrency if "bare" in names]
        cells += [(w, c, [p for p in peers if (p, w) in requests]) for w in args.workloads for c in args.concurrency]
        for (workload, conc, servers), round_no in ((cell, k) for cell in cells for k in range(args.rounds)):
            for name in servers if round_no % 2 == 0 else servers[::-1]:
                label = f"{name}-{workload}-c{conc}" + (f"-r{round_no + 1}" if args.rounds > 1 else "")
                try:
                    r = replay(requests[(name, workload)], ports[name], conc, args.seconds, label, work, args.warmup, procs[name].pid, reconnect=True)
                except (RuntimeError, subprocess.TimeoutExpired) as exc:
                    print(f"  !! {label} failed: {exc}", flush=True)
                    continue
                rows.append({"server": name, "workload": workload, "concurrency": conc, "round": round_no, **asdict(r), "cpu_us_per_request": r.cpu_us_per_request})
                print(f"  {r.line()}", flush=True)
                if r.non_2xx or r.errors:
                    print(f"  !! {label}: statuses {r.statuses}, errors {r.errors}; log: {(work / f'{name}.log').read_text()[-2000:]}", flush=True)
    finally:
        for proc in procs.values():
            stop(proc)
    return rows


# --------------------------------------------------------------------------- report
def _median_rows(rows: list[dict[str, Any]]) -> dict[tuple[str, str, int], dict[str, Any]]:
    """Per (server, workload, concurrency): the round with the median ops/s."""
    groups: dict[tuple[str, str, int], list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault((r["server"], r["workload"], r["concurrency"]), []).append(r)
    return {k: sorted(g, key=lambda r: r["ops_per_s"])[(len(g) - 1) // 2] for k, g in groups.items()}


def _ratio(rows: list[dict[str, Any]], workload: str, conc: int, peer: str, server: str = "emulator") -> float | None:
    """Median over rounds of server ops/s ÷ peer ops/s, each round's pair measured back to back."""
    ops = {(r["server"], r.get("round", 0)): r["ops_per_s"] for r in rows if r["workload"] == workload and r["concurrency"] == conc}
    ratios = sorted(ops[(server, k)] / ops[(peer, k)] for (s, k) in ops if s == server and ops.get((peer, k)))
    return ratios[(len(ratios) - 1) // 2] if ratios else None


def table(rows: list[dict[str, Any]], concurrency: list[int], workloads: list[str]) -> str:
    by = _median_rows(rows)
    present = {r["server"] for r in rows}
    servers = [s for s in ("emulator", "before", "floor", "dynalite", "moto") if s in present]
    floor = "floor" in present
    lines = [
        "| workload | conc | " + " | ".join(f"{s} ops/s (p50 / p99 ms)" for s in servers) + " | emu ÷ dynalite | emu ÷ moto"
        + (" | floor ÷ dynalite" if floor else "") + " | server CPU µs/req " + " / ".join(servers) + " |",
        "| --- | ---: | " + " | ".join("---:" for _ in servers) + " | ---: | ---: |" + (" ---: |" if floor else "") + " ---: |",
    ]
    for w in workloads:
        for c in concurrency:
            cells = [w, str(c)]
            ops: dict[str, float] = {}
            cpu: list[str] = []
            for s in servers:
                r = by.get((s, w, c))
                if r is None:
                    cells.append("–")
                    cpu.append("–")
                    continue
                ops[s] = r["ops_per_s"]
                bad = " ⚠" if r["non_2xx"] or r["errors"] else ""
                cells.append(f"{r['ops_per_s']:,.0f}{bad} ({r['p50_ms']:.1f} / {r['p99_ms']:.1f})")
                cpu.append(f"{r['cpu_us_per_request']:.0f}" if r.get("cpu_us_per_request") else "–")
            for peer in ("dynalite", "moto"):
                ratio = _ratio(rows, w, c, peer)
                cells.append(f"{ratio:.1f}×" if ratio is not None else "–")
            if floor:
                ratio = _ratio(rows, w, c, "dynalite", "floor")
                cells.append(f"{ratio:.2f}×" if ratio is not None else "–")
            cells.append(" / ".join(cpu))
            lines.append("| " + " | ".join(cells) + " |")
    bare = sorted((r for k, r in by.items() if k[0] == "bare"), key=lambda r: r["concurrency"])
    if bare:
        lines.append("")
        lines.append(
            "Load-generator ceiling (bench/bare_app.py answering `{}` to the same GetItem bytes, same pinning): "
            + ", ".join(f"c{r['concurrency']} {r['ops_per_s']:,.0f} ops/s (p99 {r['p99_ms']:.1f} ms)" for r in bare)
            + "."
        )
    return "\n".join(lines)


def section_text(report: dict[str, Any], text: str) -> str:
    m = report["machine"]
    before, after = report["load_average"]
    seconds = next((r["seconds"] for r in report["rows"]), 0)
    rounds = 1 + max((r.get("round", 0) for r in report["rows"]), default=0)
    rounds_text = (
        f" Each cell was measured {rounds} times, the servers back to back in alternating order: a row shows each server's median round "
        "(ops/s, latency, CPU) and the median of the per-round ratios."
        if rounds > 1
        else ""
    )
    return (
        "## DynamoDB data plane vs dynalite and moto — `python -m bench.dynamodb_bench`\n\n"
        f"Command: `{report['command']}` — {report['when']}; machine: `nproc` = {m['nproc']}, `{m['cpu']}` (/proc/cpuinfo), Python {m['python']}; "
        f"load average (1/5/15 min) {before} before, {after} after. On a shared machine ops/s moves by up to ±30–50 % between runs: "
        "compare columns of one row (measured back to back) and the server-CPU column rather than rows of different runs.\n\n"
        "Set-up: every server started by the benchmark and pinned to CPU 0 (`taskset -c 0`), the load generator (bench/loadgen.py's replay "
        "of requests pre-signed by botocore, keep-alive, one request in flight per connection; reconnecting for moto, whose werkzeug server "
        f"answers `Connection: close`) pinned to CPU 1; {seconds:g} s per cell after a warm-up; items of ~1 KB (string hash and range key, a 1,000-byte "
        "string, a number, a small map); PutItem over 2,000 keys, GetItem over 1,000 seeded items, Query = `pk = :p` with `Limit 20` on "
        "40-item partitions, mix = GetItem/PutItem alternating. **emulator**: `emulator serve` with its defaults (all services, SigV4, "
        "authorizer, validator, audit/access logs, telemetry, SQLite with `synchronous=FULL`: every answer waits for its fsync). "
        "**before**: the same command from the older copy of the package given with `--before` (the text after the table says which). **dynalite** 3.2 (bench/peers/package.json, `npm install` there) "
        "with `--path DIR` (LevelDB on disk, no fsync per write). **moto** `moto_server` (in memory). Server CPU = the server process's "
        "user+system CPU seconds (psutil, all threads) over the cell divided by the requests it answered." + rounds_text + " Full data: bench/out/dynamodb.json.\n\n"
        + text
    )


def write_results(section: str) -> None:
    path = ROOT / "bench" / "RESULTS.md"
    text = path.read_text() if path.exists() else "# Benchmark results\n"
    begin, end = "<!-- dynamodb_bench:begin -->", "<!-- dynamodb_bench:end -->"
    block = f"{begin}\n{section}\n{end}"
    if begin in text and end in text:
        text = re.sub(re.escape(begin) + r".*?" + re.escape(end), lambda _: block, text, flags=re.DOTALL)
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    path.write_text(text)


def load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


# --------------------------------------------------------------------------- in-process
async def _inprocess(n: int, profile: bool, workloads: list[str], concurrency: int = 1) -> None:
    """CPU per request through the whole ASGI chain (no sockets, no uvicorn)."""
    import cProfile
    import pstats
    from urllib.parse import urlsplit

    from emulator.app import create_app
    from emulator.runtime import Runtime
    from emulator.settings import load_settings

    tmp = tempfile.mkdtemp(prefix="ddb-inproc-")
    app = create_app(Runtime(load_settings({"data_dir": tmp, "root_access_key_id": ACCESS_KEY, "root_secret_access_key": SECRET_KEY})))
    await app.startup()
    client = client_for(4566)
    async def call(reqs: list[tuple[dict[str, Any], bytes]]) -> None:
        for scope, body in reqs:
            sent: list[dict[str, Any]] = []

            async def receive(body: bytes = body) -> dict[str, Any]:
                return {"type": "http.request", "body": body, "more_body": False}

            async def send(message: dict[str, Any], sent: list[dict[str, Any]] = sent) -> None:
                sent.append(message)

            await app(scope, receive, send)
            assert sent[0]["status"] == 200, sent

    def scopes(op_calls: list[tuple[str, dict[str, Any]]]) -> list[tuple[dict[str, Any], bytes]]:
        raw = loadgen.capture(client, op_calls)
        out = []
        for data in raw:
            head, _, body = data.partition(b"\r\n\r\n")
            lines = head.split(b"\r\n")
            method, target, _ = lines[0].split(b" ")
            headers = [(k.strip().lower(), v.strip()) for k, _, v in (line.partition(b":") for line in lines[1:])]
            path = urlsplit(target.decode()).path
            scope = {"type": "http", "http_version": "1.1", "method": method.decode(), "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"", "headers": headers, "client": ("127.0.0.1", 5), "server": ("127.0.0.1", 4566)}
            out.append((scope, body))
        return out

    setup = scopes([("CreateTable", {"TableName": TABLE, "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}], "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "S"}], "BillingMode": "PAY_PER_REQUEST"})])
    await call(setup)
    items = seed_items()
    await call(scopes([("BatchWriteItem", {"RequestItems": {TABLE: [{"PutRequest": {"Item": it}} for it in items[i : i + 25]]}}) for i in range(0, len(items), 25)]))
    for workload in workloads:
        reqs = scopes(calls(workload))
        batch = (reqs * (n // len(reqs) + 1))[:n]
        await call(batch[:200])
        prof = cProfile.Profile() if profile else None
        if prof:
            prof.enable()
        t0 = time.process_time()
        # Concurrent callers, as at the server's concurrency: writes then share group commits.
        await asyncio.gather(*(call(batch[i::concurrency]) for i in range(concurrency)))
        cpu = time.process_time() - t0
        if prof:
            prof.disable()
            print(f"--- {workload}")
            pstats.Stats(prof).sort_stats("tottime").print_stats(25)
        print(f"{workload}: {cpu / n * 1e6:.1f} us CPU/request in process ({n} requests, {concurrency} at a time)", flush=True)
    await app.shutdown()
    shutil.rmtree(tmp, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seconds", type=float, default=3.0)
    p.add_argument("--warmup", type=float, default=0.5)
    p.add_argument("--rounds", type=int, default=1, help="measure each cell this many times, the servers back to back in alternating order; the table shows the median")
    p.add_argument("--concurrency", default="1,16,64")
    p.add_argument("--workloads", default=",".join(WORKLOADS))
    p.add_argument("--servers", default="bare,emulator,dynalite,moto", help="any of bare, emulator, before, floor, dynalite, moto")
    p.add_argument("--before", help="with server 'before': a directory holding an older copy of the emulator package")
    p.add_argument("--write-results", action="store_true", help="replace the DynamoDB section of bench/RESULTS.md")
    p.add_argument("--inprocess", action="store_true", help="only the emulator's CPU per request, in process (no sockets)")
    p.add_argument("--profile", action="store_true", help="with --inprocess: cProfile top functions")
    p.add_argument("-n", type=int, default=5000, help="with --inprocess: requests per workload")
    args = p.parse_args(argv)
    args.concurrency = [int(c) for c in args.concurrency.split(",")]
    args.workloads = [w for w in args.workloads.split(",") if w]
    if "before" in args.servers.split(",") and not args.before:
        p.error("server 'before' needs --before DIR")
    if args.inprocess:
        # --concurrency's first value: callers at a time (the default list means one).
        inproc_conc = args.concurrency[0] if args.concurrency != [1, 16, 64] else 1
        asyncio.run(_inprocess(args.n, args.profile, args.workloads, inproc_conc))
        return 0

    OUT.mkdir(parents=True, exist_ok=True)
    load_before = load_average()
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="ddb-bench-") as tmp:
        work = Path(tmp)
        env = dict(os.environ, EMULATOR_ROOT_ACCESS_KEY_ID=ACCESS_KEY, EMULATOR_ROOT_SECRET_ACCESS_KEY=SECRET_KEY, PYTHONUNBUFFERED="1")
        env.pop("EMULATOR_DATA_DIR", None)
        rows = run_all(args, work, env)
    load_after = load_average()
    command = "python -m bench.dynamodb_bench " + " ".join(argv if argv is not None else sys.argv[1:])
    m = machine()
    report = {"benchmark": "dynamodb", "when": started, "machine": m, "pinned": bool(pin(1)), "command": command, "load_average": [load_before, load_after], "rows": rows}
    (OUT / "dynamodb.json").write_text(json.dumps(report, indent=2))
    text = table(rows, args.concurrency, args.workloads)
    print(text)
    if args.write_results:
        write_results(section_text(report, text))
    return 0


if __name__ == "__main__":
    sys.exit(main())
