"""Unit tests of request rate limits and inference token quotas (emulator/gateway/ratelimit.py)."""

from __future__ import annotations

import threading

import pytest

from emulator.errors import AwsError
from emulator.gateway.ratelimit import RateLimiter, Rule, TokenQuotas, throttling_error


class FakeClock:
    def __init__(self, t: float = 1000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def test_accepted_rate_at_twice_the_limit_is_the_limit() -> None:
    clock = FakeClock()
    limiter = RateLimiter([Rule(rate=20, burst=1, service="dynamodb")], clock=clock)
    sent = accepted = 0
    # 40 requests/s for 2 s, evenly spaced.
    for i in range(80):
        clock.t = 1000.0 + i / 40
        sent += 1
        if limiter.acquire("AKIA1", "dynamodb", "GetItem") == 0.0:
            accepted += 1
    rate = accepted / 2.0
    assert abs(rate - 20) <= 2, (sent, accepted)


def test_burst_then_refill_and_wait_time() -> None:
    clock = FakeClock()
    limiter = RateLimiter([Rule(rate=10, burst=5)], clock=clock)
    assert [limiter.acquire("k", "s", "o") for _ in range(5)] == [0.0] * 5
    wait = limiter.acquire("k", "s", "o")
    assert wait == pytest.approx(0.1)
    clock.t += 0.1
    assert limiter.acquire("k", "s", "o") == 0.0


def test_rules_are_per_key_service_and_operation() -> None:
    clock = FakeClock()
    limiter = RateLimiter(
        [Rule(rate=1, burst=1, key="slow"), Rule(rate=1, burst=2, service="dynamodb", operation="PutItem")],
        clock=clock,
    )
    assert limiter.acquire("slow", "ec2", "DescribeInstances") == 0.0
    assert limiter.acquire("slow", "ec2", "DescribeInstances") > 0  # per-key rule
    assert limiter.acquire("fast", "ec2", "DescribeInstances") == 0.0
    assert limiter.acquire("fast", "ec2", "DescribeInstances") == 0.0  # no rule for this key
    assert limiter.acquire("fast", "dynamodb", "PutItem") == 0.0
    assert limiter.acquire("fast", "dynamodb", "PutItem") == 0.0
    assert limiter.acquire("fast", "dynamodb", "PutItem") > 0
    assert limiter.acquire("other", "dynamodb", "PutItem") == 0.0  # buckets are per key
    assert limiter.acquire("fast", "dynamodb", "GetItem") == 0.0


def test_rejected_request_takes_no_token_from_other_buckets() -> None:
    clock = FakeClock()
    limiter = RateLimiter([Rule(rate=1, burst=3), Rule(rate=1, burst=1, operation="PutItem")], clock=clock)
    assert limiter.acquire("k", "s", "PutItem") == 0.0
    assert limiter.acquire("k", "s", "PutItem") > 0
    assert limiter.acquire("k", "s", "GetItem") == 0.0
    assert limiter.acquire("k", "s", "GetItem") == 0.0  # the refused PutItem took nothing


def test_from_config_shorthands() -> None:
    limiter = RateLimiter.from_config(
        {"default": {"rate": 100}, "rules": [{"service": "ec2", "rate": 5, "burst": 5}], "keys": {"AKIAX": {"rate": 1}}, "operations": {"dynamodb:PutItem": {"rate": 2}}}
    )
    assert [(r.key, r.service, r.operation, r.rate) for r in limiter.rules] == [
        (None, None, None, 100.0),
        (None, "ec2", None, 5.0),
        ("AKIAX", None, None, 1.0),
        (None, "dynamodb", "PutItem", 2.0),
    ]


def test_throttling_errors_per_protocol() -> None:
    assert throttling_error("json", "dynamodb").code == "ThrottlingException"
    assert throttling_error("json", "dynamodb").status == 400
    assert throttling_error("query", "iam").code == "Throttling"
    ec2 = throttling_error("ec2", "ec2")
    assert (ec2.code, ec2.status) == ("RequestLimitExceeded", 503)
    bedrock = throttling_error("rest-json", "bedrock-runtime", 1.2)
    assert (bedrock.code, bedrock.status, bedrock.headers["retry-after"]) == ("ThrottlingException", 429, "2")


def test_tpm_reserve_settle_and_window() -> None:
    clock = FakeClock()
    quotas = TokenQuotas(clock=clock)
    quotas.set_limits("k", tokens_per_minute=1000)
    r1 = quotas.reserve("k", 600)
    with pytest.raises(AwsError) as info:
        quotas.reserve("k", 500)
    assert info.value.code == "ThrottlingException" and info.value.status == 429
    assert int(info.value.headers["retry-after"]) == 60
    quotas.settle(r1, 100)  # used far less than reserved: the rest is given back
    r2 = quotas.reserve("k", 500)
    assert quotas.usage("k")["minute"] == 600
    clock.t += 61
    assert quotas.usage("k")["minute"] == 0
    quotas.settle(r2, 500)  # settling after the window moved on does not go negative
    assert quotas.usage("k")["minute"] == 0
    with pytest.raises(AwsError) as too_big:
        quotas.reserve("k", 1001)
    assert too_big.value.code == "ValidationException"


def test_daily_quota() -> None:
    clock = FakeClock(86400 * 20000 + 100)
    quotas = TokenQuotas(clock=clock)
    quotas.set_limits("k", tokens_per_day=1000)
    r = quotas.reserve("k", 800)
    quotas.settle(r, 900)  # used more than reserved: charged in full
    with pytest.raises(AwsError):
        quotas.reserve("k", 200)
    quotas.reserve("k", 100)
    clock.t += 86400  # a new UTC day
    quotas.reserve("k", 1000)


def test_tpm_never_exceeded_under_concurrency() -> None:
    quotas = TokenQuotas()
    quotas.set_limits("k", tokens_per_minute=10_000)
    accepted: list[int] = []
    lock = threading.Lock()
    start = threading.Barrier(16)

    def worker(seed: int) -> None:
        start.wait()
        for i in range(200):
            tokens = 7 + (seed * 31 + i * 17) % 90
            try:
                r = quotas.reserve("k", tokens)
            except AwsError:
                continue
            with lock:
                accepted.append(tokens)
            quotas.settle(r, tokens)  # full usage: nothing is given back

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert 0 < sum(accepted) <= 10_000
    assert sum(accepted) > 10_000 - 100  # the window was filled, not under-used
    assert quotas.usage("k")["minute"] == sum(accepted)


def test_daily_usage_survives_a_restart(tmp_path) -> None:  # type: ignore[no-untyped-def]
    config = {"keys": {"k": {"tokens_per_day": 1000}}}
    quotas = TokenQuotas.from_config(config, tmp_path)
    quotas.settle(quotas.reserve("k", 900), 900)
    again = TokenQuotas.from_config(config, tmp_path)
    assert again.usage("k")["day"] == 900
    with pytest.raises(AwsError):
        again.reserve("k", 200)
