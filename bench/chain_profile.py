"""In-process cost of the request chain, without sockets or uvicorn.

    python -m bench.chain_profile [--n 20000] [--profile]

Builds the real Runtime and EmulatorApp, then calls the ASGI app directly with a
DynamoDB DescribeLimits request signed by botocore. Reports microseconds per
request; ``--profile`` prints the cProfile top functions. Stable on a busy machine
(it is CPU time of one process), so it is the tool for optimizing emulator/app.py;
gateway_bench.py is the end-to-end number.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import pstats
import tempfile
import time
from typing import Any
from urllib.parse import urlsplit

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

ACCESS_KEY = "AKIABENCHMARK0000001"
SECRET_KEY = "bench-secret-key-00000000000000000000000"


def signed_scope(target: str = "DynamoDB_20120810.DescribeLimits", body: bytes = b"{}") -> tuple[dict[str, Any], bytes]:
    aws = AWSRequest("POST", "http://127.0.0.1:4566/", headers={"X-Amz-Target": target, "Content-Type": "application/x-amz-json-1.0"}, data=body)
    SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY), "dynamodb", "us-east-1").add_auth(aws)
    headers = [(b"host", b"127.0.0.1:4566")] + [(k.lower().encode(), v.encode() if isinstance(v, str) else v) for k, v in aws.headers.items()]
    headers.append((b"content-length", str(len(body)).encode()))
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": urlsplit(aws.url).path,
        "raw_path": urlsplit(aws.url).path.encode(),
        "query_string": b"",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 4566),
    }
    return scope, body


async def run(n: int, profile: bool, services: list[str] | None, repeat: int = 3, breakdown: bool = False) -> None:
    from emulator.app import create_app
    from emulator.runtime import Runtime
    from emulator.settings import load_settings

    overrides: dict[str, Any] = {"data_dir": tempfile.mkdtemp(prefix="chain-"), "root_access_key_id": ACCESS_KEY, "root_secret_access_key": SECRET_KEY}
    if services:
        overrides["services"] = services
    app = create_app(Runtime(load_settings(overrides)))
    await app.startup()
    gc.set_threshold(10_000, 10, 10)  # as `emulator serve` runs (emulator/cli.py), and its
    gc.collect()  # start-up state frozen out of the collections (EmulatorApp.freeze_gc)
    gc.freeze()
    scope, body = signed_scope()
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        # Only the latest answer is kept: a list growing over the runs made every later
        # garbage collection, and so every later variant of --breakdown, slower.
        if len(sent) >= 2:
            sent.clear()
        sent.append(message)

    await app(scope, receive, send)
    status = sent[0]["status"]
    assert status == 200, sent
    for _ in range(200):  # warm caches
        await app(scope, receive, send)
    prof = cProfile.Profile() if profile else None
    if prof:
        prof.enable()
    # CPU time of this process (not wall time): other load on the machine does not count.
    best = float("inf")
    for _ in range(repeat):
        t0 = time.process_time()
        for i in range(n):
            sent.clear()
            await app(scope, receive, send)
            if not i & 31:
                await asyncio.sleep(0)  # let the flush tasks run, as a served loop does
        await _flush_all(app)
        best = min(best, time.process_time() - t0)
    if prof:
        prof.disable()
        pstats.Stats(prof).sort_stats("tottime").print_stats(30)
    print(f"{best / n * 1e6:.1f} us CPU/request, best of {repeat} x {n} requests (status {status}); observers: {len(app.runtime.observers)}")
    if breakdown:
        await _breakdown(app, scope, receive, send, n, repeat, best / n * 1e6)
    await app.shutdown()


async def _cpu_us(app: Any, scope: dict[str, Any], receive: Any, send: Any, n: int, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.process_time()
        for i in range(n):
            await app(scope, receive, send)
            if not i & 31:
                await asyncio.sleep(0)
        await _flush_all(app)
        best = min(best, time.process_time() - t0)
    return best / n * 1e6


async def _flush_all(app: Any) -> None:
    """Hand over and write out what the request path recorded (audit, access log, telemetry),
    so the CPU measured includes it: a served process does the same work in its batches."""
    app.runtime.recorder.flush()
    monitoring = app.runtime.components.get("monitoring")
    if monitoring is not None and hasattr(monitoring, "flush"):
        monitoring.flush()


async def _breakdown(app: Any, scope: dict[str, Any], receive: Any, send: Any, n: int, repeat: int, full: float) -> None:
    """What each optional step costs: the chain without it, one at a time."""
    runtime = app.runtime
    rows: list[tuple[str, float]] = []
    observers = list(runtime.observers)
    for obs in observers:
        runtime.observers[:] = [o for o in observers if o is not obs]
        label = getattr(obs, "__qualname__", None) or type(obs).__name__
        rows.append((f"observer {label}", await _cpu_us(app, scope, receive, send, n, repeat)))
    runtime.observers[:] = observers
    for name in ("authorizer", "validator"):
        comp = runtime.components.pop(name, None)
        if comp is not None:
            rows.append((f"component {name}", await _cpu_us(app, scope, receive, send, n, repeat)))
            runtime.components[name] = comp
    log, app.access_log = app.access_log, None
    rows.append(("access log", await _cpu_us(app, scope, receive, send, n, repeat)))
    app.access_log = log
    app.settings.auth = False
    rows.append(("SigV4 verification", await _cpu_us(app, scope, receive, send, n, repeat)))
    app.settings.auth = True
    full = min(full, await _cpu_us(app, scope, receive, send, n, repeat))
    print(f"| step | us CPU/request it costs (full chain {full:.1f}) |")
    print("| --- | ---: |")
    for label, without in rows:
        print(f"| {label} | {full - without:.1f} |")


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--n", type=int, default=20000)
    p.add_argument("--profile", action="store_true")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--breakdown", action="store_true", help="also the cost of each optional step (observers, authorizer, validator, access log, SigV4)")
    p.add_argument("--services", default=None)
    args = p.parse_args()
    asyncio.run(run(args.n, args.profile, args.services.split(",") if args.services else None, 1 if args.profile else args.repeat, args.breakdown))


if __name__ == "__main__":
    main()
