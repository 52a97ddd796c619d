"""Several gateway processes share one limit through Redis (over the wire, with boto3)."""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from emulator.testing.server import EmulatorServer

RATE = 20.0
BURST = 5


def _config(folder: Path, prefix: str) -> Path:
    path = folder / "emulator.toml"
    path.write_text(
        f"""
[emulator]
redis_prefix = "{prefix}"

[emulator.rate_limits]
[[emulator.rate_limits.rules]]
service = "iam"
operation = "ListUsers"
rate = {RATE}
burst = {BURST}
"""
    )
    return path


def _health(server: EmulatorServer) -> dict[str, Any]:
    with urllib.request.urlopen(server.endpoint + "/_emulator/health", timeout=5) as resp:
        doc: dict[str, Any] = json.load(resp)
    return doc


def _code(call: Any) -> str | None:
    try:
        call()
    except ClientError as exc:
        return str(exc.response["Error"]["Code"])
    return None


@pytest.fixture
def two_gateways(redis_url: str, prefix: str, tmp_path: Path) -> Iterator[list[EmulatorServer]]:
    config = _config(tmp_path, prefix)
    servers = [EmulatorServer(data_dir=tmp_path / f"gw{i}", extra_args=["--services", "iam", "--redis", redis_url, "--config", str(config)]) for i in range(2)]
    try:
        for s in servers:
            s.start()
        yield servers
    finally:
        for s in servers:
            s.cleanup()


def test_two_gateways_enforce_one_shared_rate(two_gateways: list[EmulatorServer], prefix: str, redis_client: Any) -> None:
    for server in two_gateways:
        health = _health(server)["components"]["rate_limiter"]
        assert health["backend"] == "redis" and health["prefix"] == prefix
    clients = [s.client("iam", config=Config(retries={"total_max_attempts": 1})) for s in two_gateways]
    for c in clients:  # connections up and credentials resolved before the clock starts
        assert _code(c.get_user) is None
    counts = [{"accepted": 0, "throttled": 0, "other": 0} for _ in clients]
    duration = 3.0
    interval = 1 / RATE  # each gateway is offered the whole limit: twice the limit in all
    start = time.monotonic() + 0.05
    ends = [start] * len(clients)

    def hammer(i: int) -> None:
        n = 0
        while True:
            target = start + n * interval
            if target - start >= duration:
                break
            delay = target - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            code = _code(clients[i].list_users)
            key = "accepted" if code is None else "throttled" if code == "Throttling" else "other"
            counts[i][key] += 1
            n += 1
        ends[i] = time.monotonic()

    threads = [threading.Thread(target=hammer, args=(i,)) for i in range(len(clients))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = max(ends) - start
    accepted = sum(c["accepted"] for c in counts)
    throttled = sum(c["throttled"] for c in counts)
    assert all(c["other"] == 0 for c in counts), counts
    # Without sharing each gateway would accept ~RATE req/s: the sum would be ~2x RATE.
    rate = (accepted - BURST) / elapsed
    assert RATE * 0.9 <= rate <= RATE * 1.1, (counts, elapsed, rate)
    assert all(c["accepted"] > 0 and c["throttled"] > 0 for c in counts), counts
    assert throttled >= accepted * 0.7, counts
    # Both gateways kept one bucket for the key and the rule.
    assert len([k for k in redis_client.scan_iter(match=prefix + "rl:*")]) == 1
    throttled_seen = [_health(s)["components"]["rate_limiter"]["throttled"] for s in two_gateways]
    assert sum(throttled_seen) == throttled


def test_unreachable_redis_throttles_limited_calls_only(prefix: str, tmp_path: Path) -> None:
    config = _config(tmp_path, prefix)
    server = EmulatorServer(data_dir=tmp_path / "gw", extra_args=["--services", "iam", "--redis", "redis://127.0.0.1:1/0", "--config", str(config)])
    server.start()
    try:
        iam = server.client("iam", config=Config(retries={"total_max_attempts": 1}))
        with pytest.raises(ClientError) as err:
            iam.list_users()
        assert err.value.response["Error"]["Code"] == "Throttling"
        assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
        assert "cannot reach Redis" in err.value.response["Error"]["Message"]
        assert _code(iam.get_user) is None  # calls no rule limits never ask Redis
        health = _health(server)["components"]
        assert health["rate_limiter"]["reachable"] is False
        assert health["token_quotas"]["backend"] == "redis"
        log = server.log_path.read_text()
        assert "unreachable" in log and "fail closed" in log
        assert "Traceback" not in log
    finally:
        server.cleanup()


def test_without_redis_the_limits_stay_in_memory(tmp_path: Path, prefix: str, redis_client: Any) -> None:
    config = _config(tmp_path, prefix)
    server = EmulatorServer(data_dir=tmp_path / "gw", extra_args=["--services", "iam", "--config", str(config)])
    server.start()
    try:
        iam = server.client("iam", config=Config(retries={"total_max_attempts": 1}))
        codes = [_code(iam.list_users) for _ in range(BURST + 5)]
        assert "Throttling" in codes
        assert _health(server)["components"]["rate_limiter"]["backend"] == "memory"
        assert list(redis_client.scan_iter(match=prefix + "*")) == []
    finally:
        server.cleanup()
