"""What the benchmark scripts share: free ports, CPU pinning, server processes,
the machine's description, a boto3 client with the benchmark's keys, and one
load-generator run in its own process (pinned to CPU 1) with the server's CPU time."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from bench import loadgen

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
ACCESS_KEY = "AKIABENCHMARK0000001"
SECRET_KEY = "bench-secret-key-00000000000000000000000"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pin(cpu: int) -> list[str]:
    return ["taskset", "-c", str(cpu)] if shutil.which("taskset") and (os.cpu_count() or 1) > cpu else []


def wait_ready(port: int, path: str = "/_emulator/health", timeout: float = 120.0) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=1):
                return
        except urllib.error.HTTPError:
            return  # it answers
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"server on {port} not ready")


def machine() -> dict[str, Any]:
    model = ""
    try:
        model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")), "")
    except OSError:
        pass
    return {"nproc": os.cpu_count(), "cpu": model, "python": sys.version.split()[0]}


def start(cmd: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with open(log, "wb") as fh:
        return subprocess.Popen(cmd, env=env, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True)


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, 15)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            proc.wait()


def cpu_times(pid: int) -> tuple[float, float]:
    """(user, system) CPU seconds of the process, all its threads."""
    import psutil

    times = psutil.Process(pid).cpu_times()
    return float(times.user), float(times.system)


def client(service: str, port: int, max_attempts: int = 1, **config: Any) -> Any:
    """A boto3 client of the server on ``port``, signing with the benchmark's keys."""
    import boto3
    from botocore.config import Config

    return boto3.client(
        service,
        endpoint_url=f"http://127.0.0.1:{port}",
        region_name="us-east-1",
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        config=Config(retries={"max_attempts": max_attempts}, **config),
    )


def replay(
    requests: list[bytes],
    port: int,
    connections: int,
    seconds: float,
    name: str,
    workdir: Path,
    warmup: float = 2.0,
    pid: int | None = None,
    reconnect: bool = False,
) -> loadgen.Result:
    """One loadgen run pinned to CPU 1 (``python -m bench.loadgen``). With ``pid``, also the
    server's CPU time per request, which -- unlike ops/s -- holds up when other work
    shares the machine. ``reconnect``: for servers that close the connection after each
    response (see loadgen.ReconnectingConn)."""
    path = workdir / f"{name}.pkl"
    loadgen.save(requests, path)
    cmd = [*pin(1), sys.executable, "-m", "bench.loadgen", str(path), "--port", str(port), "-c", str(connections), "-d", str(seconds), "--warmup", str(warmup), "--name", name, "--json"]
    if reconnect:
        cmd.append("--reconnect")
    cpu0 = cpu_times(pid) if pid else (0.0, 0.0)
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False, timeout=seconds + warmup + 120)
    cpu1 = cpu_times(pid) if pid else (0.0, 0.0)
    if out.returncode != 0:
        raise RuntimeError(f"loadgen failed: {out.stderr[-3000:]}")
    result = loadgen.Result(**json.loads(out.stdout.strip().splitlines()[-1]))
    result.server_cpu_s = sum(cpu1) - sum(cpu0) if pid else None
    result.server_sys_s = cpu1[1] - cpu0[1] if pid else None
    return result
