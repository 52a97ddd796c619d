"""Unit tests of the Redis-backed rate limiter and token quotas, against the local Redis.

Several ``RedisState`` objects (each its own connection pool) stand for several
gateway processes; one test uses real processes.
"""

from __future__ import annotations

import multiprocessing
import random
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from emulator.errors import AwsError
from emulator.gateway.ratelimit import (
    QuotaLimits,
    RateLimiter,
    Rule,
    TokenQuotas,
    make_limits,
)
from emulator.gateway.redis_state import (
    RedisRateLimiter,
    RedisState,
    RedisTokenQuotas,
    rule_id,
)
from emulator.settings import Settings

DEAD_REDIS = "redis://127.0.0.1:1/0"  # nothing listens on port 1


def _state(url: str, prefix: str) -> RedisState:
    return RedisState(url, prefix)


# ------------------------------------------------------------------ rate limits
def test_burst_then_throttle_with_wait_time(redis_url: str, prefix: str) -> None:
    limiter = RedisRateLimiter(_state(redis_url, prefix), [Rule(rate=10, burst=3)])
    assert [limiter.acquire("AK1", "iam", "ListUsers") for _ in range(3)] == [0.0, 0.0, 0.0]
    wait = limiter.acquire("AK1", "iam", "ListUsers")
    assert 0.0 < wait <= 0.1 + 1e-6  # one token comes back every 1/rate seconds
    assert limiter.throttled == 1
    time.sleep(wait + 0.02)
    assert limiter.acquire("AK1", "iam", "ListUsers") == 0.0


def test_rules_are_per_key_service_and_operation(redis_url: str, prefix: str) -> None:
    rules = [Rule(rate=0.01, burst=1, service="dynamodb", operation="PutItem"), Rule(rate=0.01, burst=2, key="AKSPECIAL")]
    limiter = RedisRateLimiter(_state(redis_url, prefix), rules)
    assert limiter.acquire("AK1", "dynamodb", "PutItem") == 0.0
    assert limiter.acquire("AK1", "dynamodb", "PutItem") > 0  # that key's bucket is empty
    assert limiter.acquire("AK2", "dynamodb", "PutItem") == 0.0  # another key has its own
    assert limiter.acquire("AK1", "dynamodb", "GetItem") == 0.0  # another operation is not limited
    assert limiter.acquire("AKSPECIAL", "iam", "GetUser") == 0.0
    assert limiter.acquire("AKSPECIAL", "iam", "GetUser") == 0.0
    assert limiter.acquire("AKSPECIAL", "iam", "GetUser") > 0


def test_rejected_request_takes_no_token_from_other_buckets(redis_url: str, prefix: str) -> None:
    # Two rules match; when one bucket is empty the other keeps its tokens.
    limiter = RedisRateLimiter(_state(redis_url, prefix), [Rule(rate=0.01, burst=5), Rule(rate=0.01, burst=1, operation="PutItem")])
    assert limiter.acquire("AK", "dynamodb", "PutItem") == 0.0
    for _ in range(3):
        assert limiter.acquire("AK", "dynamodb", "PutItem") > 0
    # the default bucket lost only the one token: four more calls pass
    results = [limiter.acquire("AK", "dynamodb", "GetItem") for _ in range(5)]
    assert results[:4] == [0.0] * 4 and results[4] > 0
    fresh = RedisRateLimiter(_state(redis_url, prefix), [Rule(rate=0.01, burst=5), Rule(rate=0.01, burst=1, operation="PutItem")])
    assert fresh.acquire("AK", "dynamodb", "GetItem") > 0  # same buckets from another "process": now empty


def test_two_gateways_share_one_bucket(redis_url: str, prefix: str) -> None:
    rules = [Rule(rate=0.01, burst=10, service="iam")]
    a = RedisRateLimiter(_state(redis_url, prefix), rules)
    b = RedisRateLimiter(_state(redis_url, prefix), rules)
    results = [(a if i % 2 else b).acquire("AK", "iam", "ListUsers") for i in range(16)]
    assert results.count(0.0) == 10  # the burst, once, for both
    # a changed rule is another bucket
    c = RedisRateLimiter(_state(redis_url, prefix), [Rule(rate=0.01, burst=11, service="iam")])
    assert c.acquire("AK", "iam", "ListUsers") == 0.0
    assert rule_id(rules[0]) != rule_id(c.rules[0])


def test_concurrent_acquires_never_exceed_the_burst(redis_url: str, prefix: str) -> None:
    rules = [Rule(rate=0.001, burst=50)]
    limiters = [RedisRateLimiter(_state(redis_url, prefix), rules) for _ in range(3)]
    accepted = [0] * 6

    def worker(i: int) -> None:
        for _ in range(40):
            if limiters[i % 3].acquire("AK", "s", "o") == 0.0:
                accepted[i] += 1

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(accepted) == 50


def test_bucket_keys_expire_and_use_the_key_as_hash_tag(redis_url: str, prefix: str, redis_client: Any) -> None:
    limiter = RedisRateLimiter(_state(redis_url, prefix), [Rule(rate=2, burst=4)])
    limiter.acquire("AKIDEXAMPLE", "iam", "ListUsers")
    (key,) = [k.decode() for k in redis_client.scan_iter(match=prefix + "*")]
    assert key == f"{prefix}rl:{{AKIDEXAMPLE}}:{rule_id(limiter.rules[0])}"
    ttl = redis_client.pttl(key)
    assert 0 < ttl <= 4 / 2 * 1000 + 1000  # refilled after burst/rate seconds: then the key is not needed


def test_add_rule_applies_at_once(redis_url: str, prefix: str) -> None:
    limiter = RedisRateLimiter(_state(redis_url, prefix))
    assert not limiter.enabled
    assert limiter.acquire("AK", "iam", "ListUsers") == 0.0
    limiter.add_rule(Rule(rate=0.01, burst=1, service="iam"))
    assert limiter.enabled
    assert limiter.acquire("AK", "iam", "ListUsers") == 0.0
    assert limiter.acquire("AK", "iam", "ListUsers") > 0


def test_scripts_are_reloaded_after_script_flush(redis_url: str, prefix: str, redis_client: Any) -> None:
    # A restarted Redis has no scripts: EVALSHA answers NOSCRIPT and the script is loaded again.
    limiter = RedisRateLimiter(_state(redis_url, prefix), [Rule(rate=0.01, burst=2)])
    assert limiter.acquire("AK", "s", "o") == 0.0
    redis_client.script_flush()
    assert limiter.acquire("AK", "s", "o") == 0.0
    assert limiter.acquire("AK", "s", "o") > 0


# ------------------------------------------------------------------ token quotas
def test_tpm_reserve_settle_release(redis_url: str, prefix: str) -> None:
    quotas = RedisTokenQuotas(_state(redis_url, prefix), QuotaLimits(tokens_per_minute=100))
    r1 = quotas.reserve("AK", 60)
    assert quotas.usage("AK")["minute"] == 60
    quotas.settle(r1, 20)  # used less than reserved: the rest comes back
    assert quotas.usage("AK")["minute"] == 20
    r2 = quotas.reserve("AK", 80)
    with pytest.raises(AwsError) as err:
        quotas.reserve("AK", 1)
    assert err.value.code == "ThrottlingException" and err.value.status == 429
    assert 50 <= int(err.value.headers["retry-after"]) <= 60  # until the oldest entry leaves the window
    quotas.release(r2)
    quotas.release(r2)  # settling twice changes nothing
    assert quotas.usage("AK")["minute"] == 20
    with pytest.raises(AwsError) as err:
        quotas.reserve("AK", 101)
    assert err.value.code == "ValidationException"
    assert quotas.reserve("OTHER", 100).tokens == 100  # per key


def test_tpm_window_slides(redis_url: str, prefix: str) -> None:
    quotas = RedisTokenQuotas(_state(redis_url, prefix), QuotaLimits(tokens_per_minute=10))
    quotas.WINDOW = 0.3  # a short window for the test; Redis TIME moves it
    quotas.reserve("AK", 10)
    with pytest.raises(AwsError) as err:
        quotas.reserve("AK", 5, protocol="json", service="dynamodb")
    assert err.value.status == 400
    time.sleep(0.35)
    assert quotas.reserve("AK", 10).tokens == 10
    assert quotas.usage("AK")["minute"] == 10


def test_usage_and_throttled_calls_keep_the_window_consistent(redis_url: str, prefix: str, redis_client: Any) -> None:
    quotas = RedisTokenQuotas(_state(redis_url, prefix), QuotaLimits(tokens_per_minute=10))
    quotas.WINDOW = 0.3
    quotas.reserve("AK", 10)
    time.sleep(0.35)
    assert quotas.usage("AK")["minute"] == 0  # usage drops the old entries ...
    assert quotas.reserve("AK", 10).tokens == 10  # ... and their tokens from the sum
    with pytest.raises(AwsError):
        quotas.reserve("AK", 1)
    # The window's keys expire together with (or before) the sum: a sum left without
    # entries counts as nothing.
    redis_client.delete(f"{prefix}tq:{{AK}}:win", f"{prefix}tq:{{AK}}:amt")
    assert quotas.reserve("AK", 10).tokens == 10


def test_settle_above_the_reservation_counts_the_real_usage(redis_url: str, prefix: str) -> None:
    quotas = RedisTokenQuotas(_state(redis_url, prefix), QuotaLimits(tokens_per_minute=100, tokens_per_day=1000))
    r = quotas.reserve("AK", 10)
    quotas.settle(r, 70)
    assert quotas.usage("AK") == {"minute": 70.0, "day": 70.0}
    with pytest.raises(AwsError):
        quotas.reserve("AK", 31)


def test_daily_quota_is_shared_and_survives_a_restart(redis_url: str, prefix: str) -> None:
    quotas = RedisTokenQuotas(_state(redis_url, prefix), QuotaLimits(tokens_per_day=100))
    r = quotas.reserve("AK", 50)
    quotas.settle(r, 40)
    again = RedisTokenQuotas(_state(redis_url, prefix), QuotaLimits(tokens_per_day=100))  # another or a restarted gateway
    assert again.usage("AK")["day"] == 40
    again.reserve("AK", 60)
    with pytest.raises(AwsError) as err:
        quotas.reserve("AK", 1)
    # retry after the UTC midnight
    now = time.time()
    assert abs(int(err.value.headers["retry-after"]) - (86400 - now % 86400)) <= 2
    assert quotas.usage("AK")["minute"] == 0  # no per-minute limit: no window kept


def test_per_key_limits_and_no_limits(redis_url: str, prefix: str, redis_client: Any) -> None:
    quotas = RedisTokenQuotas.from_config({"keys": {"AKLIMITED": {"tokens_per_minute": 5}}}, _state(redis_url, prefix))
    r = quotas.reserve("AKFREE", 10**6)
    quotas.settle(r, 10)
    assert list(redis_client.scan_iter(match=prefix + "*")) == []  # unlimited keys cost no Redis call
    quotas.reserve("AKLIMITED", 5)
    with pytest.raises(AwsError):
        quotas.reserve("AKLIMITED", 1)
    quotas.set_limits("AKLIMITED", tokens_per_minute=6)
    assert quotas.reserve("AKLIMITED", 1).tokens == 1
    ttls = [redis_client.pttl(k) for k in redis_client.scan_iter(match=prefix + "*")]
    assert ttls and all(0 < t <= 61000 for t in ttls)


def test_tpm_never_exceeded_under_concurrency(redis_url: str, prefix: str) -> None:
    limit = 1000
    states = [_state(redis_url, prefix) for _ in range(3)]
    quotas = [RedisTokenQuotas(s, QuotaLimits(tokens_per_minute=limit)) for s in states]
    peak = [0.0]
    lock = threading.Lock()
    errors: list[BaseException] = []

    def worker(seed: int) -> None:
        rng = random.Random(seed)
        q = quotas[seed % 3]
        try:
            for _ in range(40):
                try:
                    r = q.reserve("AK", rng.randint(10, 200))
                except AwsError as exc:
                    assert exc.code == "ThrottlingException"
                    continue
                q.settle(r, rng.randint(0, r.tokens))
                with lock:
                    peak[0] = max(peak[0], q.usage("AK")["minute"])
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert 0 < peak[0] <= limit
    assert quotas[0].usage("AK")["minute"] <= limit


def _process_worker(url: str, prefix: str, limit: int, out: Any) -> None:
    quotas = RedisTokenQuotas(RedisState(url, prefix), QuotaLimits(tokens_per_minute=limit))
    reserved = 0
    for _ in range(60):
        try:
            reserved += quotas.reserve("AK", 7).tokens
        except AwsError:
            pass
    out.put(reserved)


def test_tpm_shared_by_processes(redis_url: str, prefix: str) -> None:
    limit = 500
    ctx = multiprocessing.get_context("fork")
    out = ctx.Queue()
    procs = [ctx.Process(target=_process_worker, args=(redis_url, prefix, limit, out)) for _ in range(3)]
    for p in procs:
        p.start()
    totals = [out.get(timeout=30) for _ in procs]
    for p in procs:
        p.join(10)
    # 3 x 60 x 7 tokens were asked for: exactly what fits in the window was granted.
    assert sum(totals) == limit // 7 * 7


# ------------------------------------------------------------------ failures
def test_unreachable_redis_fails_closed_without_waiting(prefix: str, caplog: pytest.LogCaptureFixture) -> None:
    state = RedisState(DEAD_REDIS, prefix)
    limiter = RedisRateLimiter(state, [Rule(rate=10, burst=10)])
    quotas = RedisTokenQuotas(state, QuotaLimits(tokens_per_minute=100))
    with caplog.at_level("ERROR", logger="emulator.gateway.redis_state"), pytest.raises(AwsError) as err:
        limiter.check("AK", "iam", "ListUsers", "query")
    assert err.value.code == "Throttling" and err.value.status == 400
    assert "cannot reach Redis" in err.value.message
    assert err.value.headers["retry-after"] == "1"
    assert any("unreachable" in r.getMessage() for r in caplog.records)
    for _ in range(50):  # the breaker is open: no connection attempts
        with pytest.raises(AwsError):
            limiter.check("AK", "iam", "ListUsers", "query")
    assert state.failures == 1  # one connection attempt, not 51
    with pytest.raises(AwsError) as err:
        quotas.reserve("AK", 10)
    assert err.value.code == "ThrottlingException" and err.value.status == 429
    assert "Token quota state is unavailable" in err.value.message
    health = limiter.health()
    assert health["reachable"] is False and health["backend"] == "redis" and health["unavailable"] == 51


def test_fail_open_option_for_rate_limits_only(prefix: str) -> None:
    state = RedisState(DEAD_REDIS, prefix)
    limiter = RedisRateLimiter.from_config({"redis_fail_open": True, "default": {"rate": 1, "burst": 1}}, None, state)
    limiter.check("AK", "iam", "ListUsers", "query")  # no error
    assert limiter.unavailable == 1
    with pytest.raises(AwsError):
        RedisTokenQuotas(state, QuotaLimits(tokens_per_day=10)).reserve("AK", 1)


def test_settle_during_an_outage_does_not_raise(redis_url: str, prefix: str) -> None:
    state = _state(redis_url, prefix)
    quotas = RedisTokenQuotas(state, QuotaLimits(tokens_per_minute=100))
    r = quotas.reserve("AK", 40)
    state._down_until = time.monotonic() + 60  # as if Redis just failed
    quotas.settle(r, 0)
    assert quotas.settle_failures == 1
    state._down_until = 0.0
    assert quotas.usage("AK")["minute"] == 40  # the reservation stands (fail closed)


def test_recovers_when_redis_is_back(redis_url: str, prefix: str) -> None:
    state = _state(redis_url, prefix)
    limiter = RedisRateLimiter(state, [Rule(rate=10, burst=10)])
    state._failed(ConnectionError("test outage"))
    with pytest.raises(AwsError):
        limiter.check("AK", "s", "o", "json")
    state._down_until = time.monotonic() - 0.01  # the breaker's second is over
    limiter.check("AK", "s", "o", "json")
    assert state.health()["reachable"] is True


# ------------------------------------------------------------------ start-up choice
def test_make_limits_chooses_the_backend(redis_url: str, prefix: str, tmp_path: Path) -> None:
    config = {"rate_limits": {"default": {"rate": 5}}, "token_quotas": {"tokens_per_minute": 50}}
    memory = Settings(data_dir=tmp_path, extra=dict(config))
    limiter, quotas = make_limits(memory)
    assert isinstance(limiter, RateLimiter) and isinstance(quotas, TokenQuotas)
    shared = Settings(data_dir=tmp_path, redis=redis_url, extra={**config, "redis_prefix": prefix})
    limiter, quotas = make_limits(shared)
    assert isinstance(limiter, RedisRateLimiter) and isinstance(quotas, RedisTokenQuotas)
    assert limiter.rules[0].rate == 5 and quotas.limits("AK").tokens_per_minute == 50
    assert limiter.state is quotas.state and limiter.state.prefix == prefix


def test_password_is_not_shown(prefix: str) -> None:
    state = RedisState("redis://user:s3cret@127.0.0.1:1/0", prefix)
    assert "s3cret" not in str(state.health())
