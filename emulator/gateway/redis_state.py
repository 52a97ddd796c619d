"""Gateway limits shared through Redis: request token buckets and inference token quotas.

With ``settings.redis`` set (``--redis URL``, ``EMULATOR_REDIS``, TOML ``redis``),
``RedisRateLimiter`` and ``RedisTokenQuotas`` replace the in-memory ``RateLimiter``
and ``TokenQuotas`` of ``emulator.gateway.ratelimit``, so that several gateway
processes pointed at one Redis enforce one limit together. Every check is one Lua
script run by EVALSHA (one round trip, atomic in Redis); the script reads the clock
with Redis ``TIME``, so the gateways' own clocks never matter.

Key layout (``prefix`` defaults to ``emulator:``; the access key is a hash tag, so
the keys one script touches share a Redis Cluster slot)::

    {prefix}rl:{AKID}:<rule id>   hash  t = tokens, s = last refill (seconds, Redis TIME)
    {prefix}tq:{AKID}:win         zset  reservation id -> reserved at (ms)
    {prefix}tq:{AKID}:amt         hash  reservation id -> tokens
    {prefix}tq:{AKID}:sum         string tokens inside the 60-second window
    {prefix}tq:{AKID}:day         hash  d = UTC day number, u = tokens used that day

``<rule id>`` is a digest of the rule (match fields, rate, burst), so gateways with
the same configuration share buckets and a changed rule starts a fresh bucket.
Every key expires once it would be back at its idle state (a full bucket, an empty
window), and the daily counter two days after its last use.

When Redis cannot be reached the gateway fails CLOSED: the request gets the
protocol's throttling error (never a 500) with a message naming the cause, and
the outage is logged once. For one second after a failure no request waits on
Redis again (a circuit breaker), so an outage costs no request more than the
connect timeout. ``[emulator.rate_limits] redis_fail_open = true`` lets request
rate limits fail open instead (token quotas always fail closed).
"""

from __future__ import annotations

import calendar
import hashlib
import json
import logging
import threading
import time
import uuid
from typing import Any

from emulator.errors import AwsError
from emulator.gateway.ratelimit import (
    QuotaLimits,
    Reservation,
    Rule,
    parse_rules,
    throttling_error,
)

log = logging.getLogger("emulator.gateway.redis_state")

DEFAULT_PREFIX = "emulator:"

# One bucket per KEYS[i]; ARGV = rate1, burst1, rate2, burst2, ...
# Returns "0" when a token was taken from every bucket, else the seconds to wait as a
# string (Lua numbers become integers on the way out of a script).
_BUCKET_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local n = #KEYS
local tokens = {}
local wait = 0
for i = 1, n do
  local rate = tonumber(ARGV[2 * i - 1])
  local cap = tonumber(ARGV[2 * i])
  local v = redis.call('HMGET', KEYS[i], 't', 's')
  local tok = tonumber(v[1])
  local stamp = tonumber(v[2])
  if tok == nil or stamp == nil then
    tok = cap
    stamp = now
  end
  if now > stamp then
    tok = math.min(cap, tok + (now - stamp) * rate)
  end
  tokens[i] = tok
  if tok < 1 - 1e-9 then
    if rate <= 0 then return 'inf' end
    local w = (1 - tok) / rate
    if w > wait then wait = w end
  end
end
if wait > 0 then return string.format('%.17g', wait) end
for i = 1, n do
  local rate = tonumber(ARGV[2 * i - 1])
  local cap = tonumber(ARGV[2 * i])
  redis.call('HSET', KEYS[i], 't', string.format('%.17g', tokens[i] - 1), 's', string.format('%.17g', now))
  if rate > 0 then
    -- Once full again the bucket equals a missing key: let Redis drop it.
    redis.call('PEXPIRE', KEYS[i], math.ceil(cap / rate * 1000) + 1000)
  end
end
return '0'
"""

# Drops the window's entries older than ``window`` ms and keeps the sum in step with
# them (shared by reserve and usage). An empty window has a sum of 0 whatever the sum
# key says: the keys expire separately, and a sum must never outlive its entries.
_EXPIRE_WINDOW_LUA = """
local function expire_window(win, amt, sumkey, now_ms, window)
  local cutoff = now_ms - window
  local sum = tonumber(redis.call('GET', sumkey) or '0') or 0
  local old = redis.call('ZRANGEBYSCORE', win, '-inf', cutoff)
  local i = 1
  while i <= #old do
    local chunk = {}
    for j = i, math.min(i + 999, #old) do chunk[#chunk + 1] = old[j] end
    local amounts = redis.call('HMGET', amt, unpack(chunk))
    for _, a in ipairs(amounts) do sum = sum - (tonumber(a) or 0) end
    redis.call('HDEL', amt, unpack(chunk))
    i = i + 1000
  end
  if #old > 0 then redis.call('ZREMRANGEBYSCORE', win, '-inf', cutoff) end
  if sum < 0 then sum = 0 end
  if redis.call('ZCARD', win) == 0 then
    sum = 0
    redis.call('DEL', sumkey, amt)
  elseif #old > 0 then
    redis.call('SET', sumkey, sum, 'KEEPTTL')
  end
  return sum
end
"""

# KEYS: win, amt, sum, day. ARGV: tokens, tokens per minute (-1: none), tokens per day
# (-1: none), reservation id, window ms.
# Returns {"ok", now, day number, counted_minute, counted_day} or {"minute"|"day", wait seconds}.
_RESERVE_LUA = (
    _EXPIRE_WINDOW_LUA
    + """
local t = redis.call('TIME')
local sec = tonumber(t[1])
local now = sec + tonumber(t[2]) / 1000000
local now_ms = sec * 1000 + math.floor(tonumber(t[2]) / 1000)
local tokens = tonumber(ARGV[1])
local tpm = tonumber(ARGV[2])
local tpd = tonumber(ARGV[3])
local id = ARGV[4]
local window = tonumber(ARGV[5])
local day = math.floor(sec / 86400)
local used = 0
if tpd >= 0 then
  local d = redis.call('HMGET', KEYS[4], 'd', 'u')
  if tonumber(d[1]) == day then used = tonumber(d[2]) or 0 end
  if used + tokens > tpd then
    return {'day', string.format('%.17g', (day + 1) * 86400 - now)}
  end
end
local counted_minute = 0
if tpm >= 0 then
  local sum = expire_window(KEYS[1], KEYS[2], KEYS[3], now_ms, window)
  if sum + tokens > tpm then
    -- Wait until enough of the oldest entries leave the window.
    local need = sum + tokens - tpm
    local wait = window / 1000
    local freed = 0
    local entries = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
    local k = 1
    while k <= #entries do
      freed = freed + (tonumber(redis.call('HGET', KEYS[2], entries[k])) or 0)
      if freed >= need then
        wait = (tonumber(entries[k + 1]) + window - now_ms) / 1000
        break
      end
      k = k + 2
    end
    return {'minute', string.format('%.17g', wait)}
  end
  redis.call('ZADD', KEYS[1], now_ms, id)
  redis.call('HSET', KEYS[2], id, tokens)
  redis.call('SET', KEYS[3], sum + tokens)
  for i = 1, 3 do redis.call('PEXPIRE', KEYS[i], window + 1000) end
  counted_minute = 1
end
local counted_day = 0
if tpd >= 0 then
  redis.call('HSET', KEYS[4], 'd', day, 'u', used + tokens)
  redis.call('EXPIRE', KEYS[4], 2 * 86400)
  counted_day = 1
end
return {'ok', string.format('%.17g', now), tostring(day), counted_minute, counted_day}
"""
)

# KEYS: win, amt, sum, day. ARGV: reservation id ("" when the window did not count
# it), delta tokens, day number (-1 when the day did not count it), window ms.
_SETTLE_LUA = """
local id = ARGV[1]
local delta = tonumber(ARGV[2])
local day = tonumber(ARGV[3])
local window = tonumber(ARGV[4])
if id ~= '' and redis.call('ZSCORE', KEYS[1], id) then
  -- Only an entry still inside the window counts towards the sum.
  redis.call('HINCRBY', KEYS[2], id, delta)
  local sum = (tonumber(redis.call('GET', KEYS[3]) or '0') or 0) + delta
  if sum < 0 then sum = 0 end
  redis.call('SET', KEYS[3], sum)
  for i = 1, 3 do redis.call('PEXPIRE', KEYS[i], window + 1000) end
end
if day >= 0 then
  local d = redis.call('HMGET', KEYS[4], 'd', 'u')
  if tonumber(d[1]) == day then
    local u = (tonumber(d[2]) or 0) + delta
    if u < 0 then u = 0 end
    redis.call('HSET', KEYS[4], 'u', u)
  end
end
return 1
"""

# KEYS: win, amt, sum, day. ARGV: window ms. Returns {minute tokens, day tokens}.
_USAGE_LUA = (
    _EXPIRE_WINDOW_LUA
    + """
local t = redis.call('TIME')
local sec = tonumber(t[1])
local now_ms = sec * 1000 + math.floor(tonumber(t[2]) / 1000)
local sum = expire_window(KEYS[1], KEYS[2], KEYS[3], now_ms, tonumber(ARGV[1]))
local used = 0
local d = redis.call('HMGET', KEYS[4], 'd', 'u')
if tonumber(d[1]) == math.floor(sec / 86400) then used = tonumber(d[2]) or 0 end
return {tostring(sum), tostring(used)}
"""
)


class RedisUnavailable(Exception):
    """Redis could not be reached (or the circuit breaker is open)."""


class RedisState:
    """One Redis client and the circuit breaker shared by the limiter and the quotas."""

    BREAKER_SECONDS = 1.0

    def __init__(self, url: str, prefix: str = DEFAULT_PREFIX, client: Any = None) -> None:
        import redis

        self.url = url
        self.prefix = prefix
        # Short timeouts: checks run on the request path, and Redis is local or on the LAN.
        self.client = client or redis.Redis.from_url(url, socket_timeout=1.0, socket_connect_timeout=0.5, health_check_interval=30)
        self._redis_errors: tuple[type[BaseException], ...] = (redis.ConnectionError, redis.TimeoutError, OSError)
        self._response_error: type[BaseException] = redis.ResponseError
        self._lock = threading.Lock()
        self._down_until = 0.0
        self.failures = 0
        self.last_error = ""

    def script(self, source: str) -> Any:
        # redis-py's Script runs EVALSHA and loads the script on NOSCRIPT (e.g. after a Redis restart).
        return self.client.register_script(source)

    def run(self, script: Any, keys: list[str], args: list[Any]) -> Any:
        if time.monotonic() < self._down_until:
            raise RedisUnavailable(self.last_error or "Redis is unreachable")
        try:
            result = script(keys=keys, args=args)
        except self._redis_errors as exc:
            self._failed(exc)
            raise RedisUnavailable(str(exc)) from exc
        except self._response_error as exc:  # e.g. a read-only replica, OOM: the limit cannot be checked
            self._failed(exc)
            raise RedisUnavailable(str(exc)) from exc
        if self._down_until:
            with self._lock:
                if self._down_until:
                    self._down_until = 0.0
                    log.warning("redis %s is reachable again; shared gateway limits are enforced again", self.redacted_url)
        return result

    def _failed(self, exc: BaseException) -> None:
        with self._lock:
            first = self._down_until == 0.0
            self._down_until = time.monotonic() + self.BREAKER_SECONDS
            self.failures += 1
            self.last_error = f"{type(exc).__name__}: {exc}"
        if first:
            log.error("redis %s is unreachable (%s): gateway rate limits and token quotas fail closed until it is back", self.redacted_url, self.last_error)

    @property
    def redacted_url(self) -> str:
        # Never log a password: redis://user:secret@host -> redis://host
        scheme, sep, rest = self.url.partition("://")
        return scheme + sep + rest.split("@")[-1] if sep else self.url.split("@")[-1]

    def health(self) -> dict[str, Any]:
        return {"backend": "redis", "url": self.redacted_url, "prefix": self.prefix, "reachable": self._down_until == 0.0, "failures": self.failures}


def rule_id(rule: Rule) -> str:
    doc = json.dumps([rule.key, rule.service, rule.operation, rule.rate, max(rule.burst, 1.0)])
    return hashlib.sha1(doc.encode(), usedforsecurity=False).hexdigest()[:12]


def _tag(value: str) -> str:
    # Braces would end the hash tag early; access key ids never hold them, but be safe.
    return "{" + value.replace("{", "(").replace("}", ")") + "}"


class RedisRateLimiter:
    """``RateLimiter`` whose buckets live in Redis (same rules, same answers)."""

    backend = "redis"

    def __init__(self, state: RedisState, rules: list[Rule] | None = None, fail_open: bool = False) -> None:
        self.state = state
        self.rules: list[Rule] = list(rules or [])
        self.fail_open = fail_open
        self._ids = [rule_id(r) for r in self.rules]
        self._lock = threading.Lock()
        self._match_cache: dict[tuple[str, str, str], tuple[tuple[str, Rule], ...]] = {}
        self._script = state.script(_BUCKET_LUA)
        self.throttled = 0
        self.unavailable = 0

    @classmethod
    def from_config(cls, config: dict[str, Any] | None, data_dir: Any, state: RedisState) -> RedisRateLimiter:
        fail_open = bool((config or {}).get("redis_fail_open", False))
        return cls(state, parse_rules(config, data_dir), fail_open)

    @property
    def enabled(self) -> bool:
        return bool(self.rules)

    def add_rule(self, rule: Rule) -> None:
        with self._lock:
            self.rules.append(rule)
            self._ids.append(rule_id(rule))
            self._match_cache.clear()

    def _matching(self, key: str, service: str, operation: str) -> tuple[tuple[str, Rule], ...]:
        ck = (key, service, operation)
        found = self._match_cache.get(ck)
        if found is None:
            found = tuple((self._ids[i], r) for i, r in enumerate(self.rules) if r.matches(key, service, operation))
            if len(self._match_cache) < 100000:
                self._match_cache[ck] = found
        return found

    def acquire(self, key: str, service: str, operation: str) -> float:
        """Take one token from every matching bucket; 0.0, or the seconds to wait.
        Raises ``RedisUnavailable`` when Redis cannot answer."""
        if not self.rules:
            return 0.0
        matching = self._matching(key, service, operation)
        if not matching:
            return 0.0
        tag = _tag(key)
        keys = [f"{self.state.prefix}rl:{tag}:{rid}" for rid, _ in matching]
        args: list[Any] = []
        for _, rule in matching:
            args += [repr(float(rule.rate)), repr(max(float(rule.burst), 1.0))]
        raw = self.state.run(self._script, keys, args)
        wait = float(raw.decode() if isinstance(raw, bytes) else raw)
        if wait > 0:
            self.throttled += 1
        return wait

    def check(self, key: str, service: str, operation: str, protocol: str | None) -> None:
        try:
            wait = self.acquire(key, service, operation)
        except RedisUnavailable:
            self.unavailable += 1
            if self.fail_open:
                return
            raise throttling_error(protocol, service, 1.0, "Rate limit state is unavailable (the gateway cannot reach Redis); please retry later.") from None
        if wait > 0:
            raise throttling_error(protocol, service, wait)

    def health(self) -> dict[str, Any]:
        return {"rules": len(self.rules), "throttled": self.throttled, "unavailable": self.unavailable, "fail_open": self.fail_open, **self.state.health()}


class RedisTokenQuotas:
    """``TokenQuotas`` whose windows and daily counters live in Redis.

    ``reserve`` is one script: it expires the window, checks the daily and the
    per-minute limits and records the reservation, so concurrent reservations from
    any number of gateways can never together exceed a limit.
    """

    backend = "redis"
    WINDOW = 60.0

    def __init__(self, state: RedisState, default: QuotaLimits | None = None, per_key: dict[str, QuotaLimits] | None = None) -> None:
        self.state = state
        self.default = default or QuotaLimits()
        self.per_key = dict(per_key or {})
        self._reserve = state.script(_RESERVE_LUA)
        self._settle = state.script(_SETTLE_LUA)
        self._usage = state.script(_USAGE_LUA)
        self.unavailable = 0
        self.settle_failures = 0

    @classmethod
    def from_config(cls, config: dict[str, Any] | None, state: RedisState) -> RedisTokenQuotas:
        config = config or {}
        default = QuotaLimits(config.get("tokens_per_minute"), config.get("tokens_per_day"))
        per_key = {k: QuotaLimits(v.get("tokens_per_minute"), v.get("tokens_per_day")) for k, v in config.get("keys", {}).items()}
        return cls(state, default, per_key)

    def limits(self, key: str) -> QuotaLimits:
        return self.per_key.get(key, self.default)

    def set_limits(self, key: str, tokens_per_minute: int | None = None, tokens_per_day: int | None = None) -> None:
        self.per_key[key] = QuotaLimits(tokens_per_minute, tokens_per_day)

    def _keys(self, key: str) -> list[str]:
        base = f"{self.state.prefix}tq:{_tag(key)}:"
        return [base + "win", base + "amt", base + "sum", base + "day"]

    def reserve(self, key: str, tokens: int, *, protocol: str | None = "rest-json", service: str | None = "bedrock-runtime") -> Reservation:
        """Reserve ``tokens`` or raise the throttling error (also when Redis is unreachable)."""
        tokens = max(int(tokens), 0)
        limits = self.limits(key)
        if limits.tokens_per_minute is not None and tokens > limits.tokens_per_minute:
            raise AwsError(
                "ValidationException",
                f"The request needs {tokens} tokens, more than this key's limit of {limits.tokens_per_minute} tokens per minute.",
                400,
            )
        if limits.tokens_per_minute is None and limits.tokens_per_day is None:
            now = time.time()
            return Reservation(key, tokens, now, _day_name(int(now // 86400)), False)
        ref = uuid.uuid4().hex
        args = [tokens, _limit(limits.tokens_per_minute), _limit(limits.tokens_per_day), ref, int(self.WINDOW * 1000)]
        try:
            result = self.state.run(self._reserve, self._keys(key), args)
        except RedisUnavailable:
            self.unavailable += 1
            raise throttling_error(protocol, service, 1.0, "Token quota state is unavailable (the gateway cannot reach Redis); please retry later.") from None
        status = _text(result[0])
        if status != "ok":
            raise throttling_error(protocol, service, float(_text(result[1])))
        day = int(_text(result[2]))
        return Reservation(key, tokens, float(_text(result[1])), _day_name(day), False, ref=ref if int(result[3]) else None, counted_day=bool(int(result[4])))

    def settle(self, reservation: Reservation, used: int) -> None:
        """Replace the reserved amount with the tokens actually used (may be more).

        When Redis is unreachable the reservation keeps its reserved size (it
        leaves the window after 60 s); settling never fails the caller's request."""
        if reservation.settled:
            return
        reservation.settled = True
        if reservation.ref is None and not reservation.counted_day:
            return
        delta = max(int(used), 0) - reservation.tokens
        if delta == 0:
            return
        day = _day_number(reservation.day) if reservation.counted_day else -1
        try:
            self.state.run(self._settle, self._keys(reservation.key), [reservation.ref or "", delta, day, int(self.WINDOW * 1000)])
        except RedisUnavailable as exc:
            self.settle_failures += 1
            log.warning("token quota settle for %s lost (%s): the reservation of %d tokens stands", reservation.key, exc, reservation.tokens)

    def release(self, reservation: Reservation) -> None:
        """The request failed before generating: give everything back."""
        self.settle(reservation, 0)

    def usage(self, key: str) -> dict[str, float]:
        result = self.state.run(self._usage, self._keys(key), [int(self.WINDOW * 1000)])
        return {"minute": float(_text(result[0])), "day": float(_text(result[1]))}

    def health(self) -> dict[str, Any]:
        return {"unavailable": self.unavailable, "settle_failures": self.settle_failures, **self.state.health()}


def _limit(value: int | None) -> int:
    return -1 if value is None else int(value)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _day_name(day: int) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(day * 86400))


def _day_number(name: str) -> int:
    return calendar.timegm(time.strptime(name, "%Y-%m-%d")) // 86400


__all__ = ["DEFAULT_PREFIX", "RedisRateLimiter", "RedisState", "RedisTokenQuotas", "RedisUnavailable"]
