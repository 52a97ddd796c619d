"""Request rate limits (token buckets) and inference token quotas.

Request limits are rules, each matching a key, a service and an operation
(any of which may be omitted to match all), with a ``rate`` (requests per
second) and a ``burst`` (bucket size). Every rule that matches a request has its
own bucket per access key, and the request must find a token in each.
Configured from the ``[emulator.rate_limits]`` TOML section (``settings.extra``)
and/or ``<data_dir>/rate_limits.json``::

    [emulator.rate_limits]
    default = { rate = 100, burst = 200 }          # every key, every call
    [[emulator.rate_limits.rules]]
    service = "dynamodb"
    operation = "PutItem"
    key = "AKIA..."                                # optional
    rate = 20
    burst = 20

Token quotas (``TokenQuotas``) limit inference: tokens per minute (a strict
sliding 60-second window) and tokens per UTC day, per key. A caller reserves
``max_tokens`` before generating and settles with the real usage after::

    reservation = quotas.reserve(access_key_id, max_tokens)   # raises ThrottlingException
    ...
    quotas.settle(reservation, used_tokens)
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from emulator.errors import AwsError

Clock = Callable[[], float]


@dataclass
class Rule:
    rate: float
    burst: float
    key: str | None = None
    service: str | None = None
    operation: str | None = None

    def matches(self, key: str, service: str, operation: str) -> bool:
        return (self.key is None or self.key == key) and (self.service is None or self.service == service) and (self.operation is None or self.operation == operation)


class TokenBucket:
    __slots__ = ("capacity", "rate", "stamp", "tokens")

    def __init__(self, rate: float, capacity: float, now: float) -> None:
        self.rate = rate
        self.capacity = max(capacity, 1.0)
        self.tokens = self.capacity
        self.stamp = now

    def refill(self, now: float) -> None:
        if now > self.stamp:
            self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now

    def wait_time(self, amount: float = 1.0) -> float:
        """Seconds until ``amount`` tokens are available (after ``refill``)."""
        if self.tokens >= amount - 1e-9:  # float drift must not refuse a request that is due
            return 0.0
        return (amount - self.tokens) / self.rate if self.rate > 0 else math.inf


def throttling_error(protocol: str | None, service: str | None, retry_after: float | None = None, message: str | None = None) -> AwsError:
    """The throttling error as each protocol family answers it (``message`` replaces AWS's wording)."""
    headers = {}
    if retry_after is not None and math.isfinite(retry_after):
        headers["retry-after"] = str(max(1, math.ceil(retry_after)))
    if protocol == "ec2":
        return AwsError("RequestLimitExceeded", message or "Request limit exceeded.", 503, headers=headers)
    if protocol == "query":
        return AwsError("Throttling", message or "Rate exceeded", 400, headers=headers)
    if service == "bedrock-runtime" or protocol == "rest-json":
        return AwsError("ThrottlingException", message or "Too many requests, please wait before trying again.", 429, headers=headers)
    return AwsError("ThrottlingException", message or "Rate exceeded", 400, headers=headers)


def _rule(data: dict[str, Any], **defaults: Any) -> Rule:
    merged = {**defaults, **data}
    rate = float(merged["rate"])
    burst = float(merged.get("burst", max(rate, 1.0)))
    return Rule(rate, burst, merged.get("key"), merged.get("service"), merged.get("operation"))


def parse_rules(config: dict[str, Any] | None, data_dir: Path | None = None) -> list[Rule]:
    """The rules of ``[emulator.rate_limits]`` followed by those of ``<data_dir>/rate_limits.json``."""
    rules: list[Rule] = []
    sources: list[dict[str, Any]] = []
    if config:
        sources.append(config)
    if data_dir is not None:
        path = Path(data_dir) / "rate_limits.json"
        if path.exists():
            sources.append(json.loads(path.read_text(encoding="utf-8")))
    for src in sources:
        if "default" in src:
            rules.append(_rule(src["default"]))
        for item in src.get("rules", []):
            rules.append(_rule(item))
        # Shorthand: {"keys": {"AKIA..": {"rate": 5}}, "services": {"dynamodb": {...}}, "operations": {"dynamodb:PutItem": {...}}}
        for key, item in src.get("keys", {}).items():
            rules.append(_rule(item, key=key))
        for service, item in src.get("services", {}).items():
            rules.append(_rule(item, service=service))
        for op, item in src.get("operations", {}).items():
            service, _, operation = op.partition(":")
            rules.append(_rule(item, service=service, operation=operation))
    return rules


class RequestLimiter(Protocol):
    """What the authorizer needs: ``RateLimiter`` (in memory) or ``RedisRateLimiter`` (shared)."""

    rules: list[Rule]

    @property
    def enabled(self) -> bool: ...

    def add_rule(self, rule: Rule) -> None: ...

    def acquire(self, key: str, service: str, operation: str) -> float: ...

    def check(self, key: str, service: str, operation: str, protocol: str | None) -> None: ...

    def health(self) -> dict[str, Any]: ...


class RateLimiter:
    """Per-key token buckets for the rules that match each request."""

    backend = "memory"

    def __init__(self, rules: list[Rule] | None = None, clock: Clock = time.monotonic) -> None:
        self.rules: list[Rule] = list(rules or [])
        self.clock = clock
        self._buckets: dict[tuple[int, str], TokenBucket] = {}
        self._lock = threading.Lock()
        self._match_cache: dict[tuple[str, str, str], tuple[tuple[int, Rule], ...]] = {}
        self.throttled = 0

    @classmethod
    def from_config(cls, config: dict[str, Any] | None, data_dir: Path | None = None) -> RateLimiter:
        return cls(parse_rules(config, data_dir))

    @property
    def enabled(self) -> bool:
        return bool(self.rules)

    def add_rule(self, rule: Rule) -> None:
        with self._lock:
            self.rules.append(rule)
            self._match_cache.clear()

    def _matching(self, key: str, service: str, operation: str) -> tuple[tuple[int, Rule], ...]:
        ck = (key, service, operation)
        found = self._match_cache.get(ck)
        if found is None:
            found = tuple((i, r) for i, r in enumerate(self.rules) if r.matches(key, service, operation))
            if len(self._match_cache) < 100000:
                self._match_cache[ck] = found
        return found

    def acquire(self, key: str, service: str, operation: str) -> float:
        """Take one token from every matching bucket; return 0.0, or the seconds to
        wait when any bucket is empty (then nothing is taken)."""
        if not self.rules:
            return 0.0
        matching = self._matching(key, service, operation)
        if not matching:
            return 0.0
        with self._lock:
            now = self.clock()
            buckets = []
            wait = 0.0
            for idx, rule in matching:
                bk = (idx, key)
                bucket = self._buckets.get(bk)
                if bucket is None:
                    bucket = self._buckets[bk] = TokenBucket(rule.rate, rule.burst, now)
                bucket.refill(now)
                wait = max(wait, bucket.wait_time())
                buckets.append(bucket)
            if wait > 0:
                self.throttled += 1
                return wait
            for bucket in buckets:
                bucket.tokens -= 1.0
            return 0.0

    def check(self, key: str, service: str, operation: str, protocol: str | None) -> None:
        wait = self.acquire(key, service, operation)
        if wait > 0:
            raise throttling_error(protocol, service, wait)

    def health(self) -> dict[str, Any]:
        return {"backend": "memory", "rules": len(self.rules), "throttled": self.throttled}


# ---------------------------------------------------------------- token quotas
@dataclass
class Reservation:
    key: str
    tokens: int
    at: float
    day: str
    settled: bool = False
    _entry: list[float] | None = field(default=None, repr=False)
    # Redis quotas: the window entry's id (None: the window did not count it) and
    # whether the day's counter did.
    ref: str | None = None
    counted_day: bool = False


@dataclass
class QuotaLimits:
    tokens_per_minute: int | None = None
    tokens_per_day: int | None = None


class QuotaStore(Protocol):
    """Inference token quotas: ``TokenQuotas`` (in memory) or ``RedisTokenQuotas`` (shared)."""

    def limits(self, key: str) -> QuotaLimits: ...

    def set_limits(self, key: str, tokens_per_minute: int | None = None, tokens_per_day: int | None = None) -> None: ...

    def reserve(self, key: str, tokens: int, *, protocol: str | None = "rest-json", service: str | None = "bedrock-runtime") -> Reservation: ...

    def settle(self, reservation: Reservation, used: int) -> None: ...

    def release(self, reservation: Reservation) -> None: ...

    def usage(self, key: str) -> dict[str, float]: ...

    def health(self) -> dict[str, Any]: ...


class TokenQuotas:
    """Tokens-per-minute (sliding 60 s window) and tokens-per-day limits per key.

    ``reserve`` and ``settle`` hold one lock, so concurrent reservations can
    never together exceed a limit: the window always counts what is reserved
    but not yet settled at its reserved size.
    """

    WINDOW = 60.0
    backend = "memory"

    def __init__(self, default: QuotaLimits | None = None, per_key: dict[str, QuotaLimits] | None = None, clock: Clock = time.time, path: Path | None = None) -> None:
        self.default = default or QuotaLimits()
        self.per_key = dict(per_key or {})
        self.clock = clock
        self._lock = threading.Lock()
        # key -> deque of [timestamp, tokens] (lists so settle can shrink an entry in place)
        self._windows: dict[str, deque[list[float]]] = {}
        self._window_sum: dict[str, float] = {}
        self._daily: dict[tuple[str, str], float] = {}
        # Daily usage survives restarts (a day's quota must not reset with the server).
        self.path = Path(path) if path is not None else None
        if self.path is not None and self.path.exists():
            try:
                data = json.loads(self.path.read_text(encoding="utf-8"))
                today = self._day(self.clock())
                for item in data.get("daily", []):
                    if item.get("day") == today:
                        self._daily[(item["key"], today)] = float(item["tokens"])
            except (OSError, ValueError, KeyError, TypeError):
                pass

    @classmethod
    def from_config(cls, config: dict[str, Any] | None, data_dir: Path | None = None) -> TokenQuotas:
        config = config or {}
        default = QuotaLimits(config.get("tokens_per_minute"), config.get("tokens_per_day"))
        per_key = {k: QuotaLimits(v.get("tokens_per_minute"), v.get("tokens_per_day")) for k, v in config.get("keys", {}).items()}
        return cls(default, per_key, path=Path(data_dir) / "token_usage.json" if data_dir is not None else None)

    def _persist(self) -> None:
        """Write today's usage (called with the lock held, after a settle)."""
        if self.path is None:
            return
        today = self._day(self.clock())
        items = [{"key": k, "day": d, "tokens": v} for (k, d), v in self._daily.items() if d == today]
        tmp = self.path.with_suffix(".tmp")
        try:
            tmp.write_text(json.dumps({"daily": items}), encoding="utf-8")
            tmp.replace(self.path)
        except OSError:
            pass  # usage stays in memory; persistence is best effort

    def limits(self, key: str) -> QuotaLimits:
        return self.per_key.get(key, self.default)

    def set_limits(self, key: str, tokens_per_minute: int | None = None, tokens_per_day: int | None = None) -> None:
        with self._lock:
            self.per_key[key] = QuotaLimits(tokens_per_minute, tokens_per_day)

    def _day(self, now: float) -> str:
        return time.strftime("%Y-%m-%d", time.gmtime(now))

    def _expire(self, key: str, now: float) -> deque[list[float]]:
        window = self._windows.setdefault(key, deque())
        cutoff = now - self.WINDOW
        total = self._window_sum.get(key, 0.0)
        while window and window[0][0] <= cutoff:
            total -= window.popleft()[1]
        self._window_sum[key] = max(total, 0.0)
        return window

    def reserve(self, key: str, tokens: int, *, protocol: str | None = "rest-json", service: str | None = "bedrock-runtime") -> Reservation:
        """Reserve ``tokens`` (the request's max_tokens plus its prompt) or raise the throttling error."""
        tokens = max(int(tokens), 0)
        limits = self.limits(key)
        with self._lock:
            now = self.clock()
            day = self._day(now)
            if limits.tokens_per_day is not None:
                used = self._daily.get((key, day), 0.0)
                if used + tokens > limits.tokens_per_day:
                    tomorrow = (math.floor(now / 86400) + 1) * 86400
                    raise throttling_error(protocol, service, tomorrow - now)
            entry: list[float] | None = None
            if limits.tokens_per_minute is not None:
                if tokens > limits.tokens_per_minute:
                    raise AwsError(
                        "ValidationException",
                        f"The request needs {tokens} tokens, more than this key's limit of {limits.tokens_per_minute} tokens per minute.",
                        400,
                    )
                window = self._expire(key, now)
                if self._window_sum[key] + tokens > limits.tokens_per_minute:
                    # Wait until enough of the oldest entries leave the window.
                    need = self._window_sum[key] + tokens - limits.tokens_per_minute
                    wait = self.WINDOW
                    freed = 0.0
                    for ts, amount in window:
                        freed += amount
                        if freed >= need:
                            wait = ts + self.WINDOW - now
                            break
                    raise throttling_error(protocol, service, wait)
                entry = [now, float(tokens)]
                window.append(entry)
                self._window_sum[key] += tokens
            if limits.tokens_per_day is not None:
                self._daily[(key, day)] = self._daily.get((key, day), 0.0) + tokens
            return Reservation(key, tokens, now, day, False, entry)

    def settle(self, reservation: Reservation, used: int) -> None:
        """Replace the reserved amount with the tokens actually used (may be more)."""
        if reservation.settled:
            return
        used = max(int(used), 0)
        delta = used - reservation.tokens
        with self._lock:
            reservation.settled = True
            entry = reservation._entry
            if entry is not None:
                entry[1] += delta
                # Only adjust the sum if the entry is still inside the window.
                window = self._windows.get(reservation.key)
                if window and any(e is entry for e in window):
                    self._window_sum[reservation.key] = self._window_sum.get(reservation.key, 0.0) + delta
            dk = (reservation.key, reservation.day)
            if dk in self._daily:
                self._daily[dk] = max(self._daily[dk] + delta, 0.0)
                self._persist()

    def release(self, reservation: Reservation) -> None:
        """The request failed before generating: give everything back."""
        self.settle(reservation, 0)

    def usage(self, key: str) -> dict[str, float]:
        with self._lock:
            now = self.clock()
            self._expire(key, now)
            return {"minute": self._window_sum.get(key, 0.0), "day": self._daily.get((key, self._day(now)), 0.0)}

    def health(self) -> dict[str, Any]:
        return {"backend": "memory", "keys_tracked": len(self._windows)}


# ------------------------------------------------------------ start-up choice
def make_limits(settings: Any) -> tuple[RequestLimiter, QuotaStore]:
    """The rate limiter and token quotas for these settings: shared through Redis
    when ``settings.redis`` is set (``emulator.gateway.redis_state``), else in memory."""
    extra = settings.extra
    if not settings.redis:
        return (
            RateLimiter.from_config(extra.get("rate_limits"), settings.data_dir),
            TokenQuotas.from_config(extra.get("token_quotas"), settings.data_dir),
        )
    from emulator.gateway.redis_state import (
        DEFAULT_PREFIX,
        RedisRateLimiter,
        RedisState,
        RedisTokenQuotas,
    )

    state = RedisState(settings.redis, str(extra.get("redis_prefix", DEFAULT_PREFIX)))
    return (
        RedisRateLimiter.from_config(extra.get("rate_limits"), settings.data_dir, state),
        RedisTokenQuotas.from_config(extra.get("token_quotas"), state),
    )


# ------------------------------------------------------- DynamoDB provisioned capacity
_DDB_READS = frozenset({"GetItem", "Query", "Scan", "BatchGetItem", "TransactGetItems"})
_DDB_WRITES = frozenset({"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"})


def _provisioned_exceeded(kind: str, table: Any) -> AwsError:
    word = "Read" if kind == "read" else "Write"
    return AwsError(
        "ProvisionedThroughputExceededException",
        "The level of configured provisioned throughput for the table was exceeded. "
        "Consider increasing your provisioning level with the UpdateTable API.",
        400,
        extra={"ThrottlingReasons": [{"reason": f"Table{word}ProvisionedThroughputExceeded", "resource": getattr(table, "arn", "")}]},
    )


# Refused per request only when nothing can go: see CapacityLimiter.allowance.
PARTIAL_BATCHES = frozenset({"BatchWriteItem", "BatchGetItem"})


class CapacityLimiter:
    """ProvisionedThroughputExceededException for PROVISIONED tables.

    Each table has a read and a write bucket refilled at its provisioned units per
    second, holding up to ``burst_seconds`` (300, as DynamoDB's burst capacity:
    https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/burst-adaptive-capacity.html)
    of unused capacity. A request is refused while its bucket is in debt; what it
    consumed is charged after it ran, from ``ctx.telemetry["consumed_capacity"]``
    (``{"read": units, "write": units}``, set by the DynamoDB service) or, when the
    service does not report it, the minimum DynamoDB charges: one unit per item.

    Tables are regional (a name in another region is another table, with its own
    throughput): tables and buckets are kept by (region, name), the region being the
    request's (``region=``; ``self.region`` when a caller gives none).
    """

    def __init__(self, tables: Any, burst_seconds: float = 300.0, clock: Clock = time.monotonic, region: str = "us-east-1") -> None:
        self._tables = tables  # callable() -> {(region, name): table with billing_mode/read_units/write_units}
        self.burst_seconds = burst_seconds
        self.clock = clock
        self.region = region
        self._buckets: dict[tuple[str, ...], TokenBucket] = {}
        self._lock = threading.Lock()
        self.throttled = 0
        # Told of each refusal (operation, params, region): DynamoDB Contributor Insights counts
        # the throttled keys (emulator.dynamodb.insights). None: nobody listens.
        self.on_throttle: Callable[[str, dict[str, Any], str], None] | None = None

    def reset(self) -> None:
        """Forget every table's buckets (``POST /_emulator/reset``): they are kept by table name,
        and a table made again under an old name must not inherit the old one's debt."""
        with self._lock:
            self._buckets.clear()

    @staticmethod
    def kind(operation: str) -> str | None:
        if operation in _DDB_READS:
            return "read"
        if operation in _DDB_WRITES:
            return "write"
        return None

    def _bucket(self, table: tuple[str, str], kind: str, now: float) -> TokenBucket | None:
        tables = self._tables()
        found = tables.get(table) if isinstance(tables, dict) else None
        if found is None or getattr(found, "billing_mode", "") != "PROVISIONED":
            return None
        units = float(getattr(found, "read_units" if kind == "read" else "write_units", 0) or 0)
        if units <= 0:
            return None
        return self._refilled((table[0], table[1], kind), units, units * self.burst_seconds, now)

    def _refilled(self, key: tuple[str, ...], rate: float, capacity: float, now: float) -> TokenBucket:
        bucket = self._buckets.get(key)
        if bucket is None or bucket.rate != rate or bucket.capacity != max(capacity, 1.0):
            bucket = self._buckets[key] = TokenBucket(rate, capacity, now)
        bucket.refill(now)
        return bucket

    def _max_buckets(self, found: Any, key: tuple[str, str], kind: str, params: dict[str, Any], now: float) -> list[tuple[TokenBucket, str, str]]:
        """The buckets of an on-demand table's maximum throughput a request of ``kind`` draws
        on: the table's, and (reads) the queried GSI's or (writes) every GSI's with a maximum,
        each with the ThrottlingReason and resource ARN of its refusal. A maximum is a hard
        rate: its bucket holds one second of it, no burst (unlike provisioned capacity)."""
        out: list[tuple[TokenBucket, str, str]] = []
        word = "Read" if kind == "read" else "Write"
        units = found.max_units(kind)
        if units > 0:
            out.append((self._refilled((key[0], key[1], "max-" + kind), float(units), float(units), now), f"Table{word}MaxOnDemandThroughputExceeded", found.arn))
        index = params.get("IndexName") if kind == "read" else None
        names = [index] if isinstance(index, str) else [] if kind == "read" else list(found.gsis)
        for name in names:
            units = found.index_max_units(name, kind)
            if units > 0:
                bucket = self._refilled((key[0], key[1], "max-" + kind, name), float(units), float(units), now)
                out.append((bucket, f"Index{word}MaxOnDemandThroughputExceeded", f"{found.arn}/index/{name}"))
        return out

    @staticmethod
    def table_names(params: dict[str, Any]) -> list[str]:
        """The tables a request names, as it names them (a name or a table ARN)."""
        name = params.get("TableName")
        if isinstance(name, str):
            return [name]
        items = params.get("RequestItems")
        if isinstance(items, dict):
            return [t for t in items if isinstance(t, str)]
        return []

    @staticmethod
    def table_key(name: str, region: str) -> tuple[str, str] | None:
        """(region, name) of the table ``name`` (a name or a table ARN) names from ``region``;
        None for an ARN of another region (no table there is visible from this one)."""
        if not name.startswith("arn:"):
            return region, name
        parts = name.split(":", 5)
        if len(parts) != 6 or parts[3] != region or not parts[5].startswith("table/"):
            return None
        return region, parts[5][6:].split("/", 1)[0]

    def _provisioned(self, names: list[str], region: str) -> bool:
        """Whether any of the tables is PROVISIONED or has a maximum on-demand throughput:
        the only ones with buckets. Other on-demand tables (the usual case) then cost the
        request path no lock and no clock read."""
        tables = self._tables()
        if not isinstance(tables, dict):
            return False
        for name in names:
            key = self.table_key(name, region)
            found = tables.get(key) if key is not None else None
            if found is not None and (getattr(found, "billing_mode", "") == "PROVISIONED" or getattr(found, "max_limited", False)):
                return True
        return False

    def check(self, operation: str, params: dict[str, Any], region: str | None = None) -> None:
        kind = self.kind(operation)
        region = region or self.region
        if kind is None or operation in PARTIAL_BATCHES or not self._provisioned(self.table_names(params), region):
            return
        try:
            self._check(kind, params, region)
        except AwsError:
            if self.on_throttle is not None:
                self.on_throttle(operation, params, region)
            raise

    def _check(self, kind: str, params: dict[str, Any], region: str) -> None:
        tables = self._tables()
        with self._lock:
            now = self.clock()
            for name in self.table_names(params):
                key = self.table_key(name, region)
                if key is None:
                    continue
                found = tables.get(key)
                error = self._refusal(found, key, kind, params, now)
                if error is not None:
                    self.throttled += 1
                    raise error

    def _refusal(self, found: Any, key: tuple[str, str], kind: str, params: dict[str, Any], now: float) -> AwsError | None:
        """The refusal of a request of ``kind`` on the table ``found`` now (a bucket in debt),
        or None. Call with the lock held."""
        if getattr(found, "max_limited", False):
            for max_bucket, reason, resource in self._max_buckets(found, key, kind, params, now):
                if max_bucket.tokens <= 0:
                    return AwsError(
                        "ProvisionedThroughputExceededException",
                        "Throughput exceeds the maximum OnDemandThroughput configured on table or index",
                        400,
                        extra={"ThrottlingReasons": [{"reason": reason, "resource": resource}]},
                    )
            return None
        bucket = self._bucket(key, kind, now)
        if bucket is None or bucket.tokens > 0:
            return None
        return _provisioned_exceeded(kind, found)

    # ------------------------------------------------------------- batches
    # BatchWriteItem and BatchGetItem are not refused up front (``check``): DynamoDB processes
    # what the tables' throughput allows and returns the rest as UnprocessedItems/Keys, and
    # refuses the call only when none of its requests could be processed ("If none of the
    # items can be processed due to insufficient provisioned throughput on all of the tables in
    # the request, then BatchWriteItem returns a ProvisionedThroughputExceededException",
    # https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_BatchWriteItem.html).
    # The DynamoDB service asks ``allowance`` per table and ``refuse`` when nothing can go.

    def allowance(self, operation: str, name: str, region: str | None = None) -> float | None:
        """The units a batch may spend on table ``name`` now: None when nothing limits it,
        else what its bucket holds (the least of its maximum-throughput buckets), <= 0 in debt."""
        kind = self.kind(operation)
        region = region or self.region
        if kind is None or not self._provisioned([name], region):
            return None
        key = self.table_key(name, region)
        found = self._tables().get(key) if key is not None else None
        if key is None or found is None:
            return None
        with self._lock:
            now = self.clock()
            if getattr(found, "max_limited", False):
                return min((bucket.tokens for bucket, _, _ in self._max_buckets(found, key, kind, {}, now)), default=None)
            bucket = self._bucket(key, kind, now)
            return None if bucket is None else bucket.tokens

    def refuse(self, operation: str, params: dict[str, Any], name: str, region: str | None = None) -> AwsError:
        """The ProvisionedThroughputExceededException of a batch none of whose requests could
        go, worded for table ``name`` (counted, and told to ``on_throttle``)."""
        kind = self.kind(operation) or "write"
        region = region or self.region
        key = self.table_key(name, region) or (region, name)
        found = self._tables().get(key)
        with self._lock:
            error = self._refusal(found, key, kind, {}, self.clock())
            self.throttled += 1
        if self.on_throttle is not None:
            self.on_throttle(operation, params, region)
        return error or _provisioned_exceeded(kind, found)  # refilled meanwhile: the usual wording

    def charge(self, operation: str, params: dict[str, Any], consumed: dict[str, float] | None, ok: bool, region: str | None = None) -> None:
        kind = self.kind(operation)
        if kind is None or not ok:
            return
        region = region or self.region
        names = self.table_names(params)
        if not names or not self._provisioned(names, region):
            return
        tables = self._tables()
        with self._lock:
            now = self.clock()
            for name in names:
                key = self.table_key(name, region)
                if key is None:
                    continue
                units = None
                if consumed is not None:
                    units = consumed.get(kind)
                    per_table = consumed.get("tables")
                    if isinstance(per_table, dict) and key[1] in per_table:  # by table name
                        units = per_table[key[1]].get(kind, units)
                if units is None:
                    units = self._minimum(operation, params, name)
                found = tables.get(key)
                if getattr(found, "max_limited", False):
                    self._charge_max(found, key, kind, params, consumed, float(units), now)
                    continue
                bucket = self._bucket(key, kind, now)
                if bucket is not None:
                    bucket.tokens -= float(units)

    def _charge_max(self, found: Any, key: tuple[str, str], kind: str, params: dict[str, Any], consumed: Any, units: float, now: float) -> None:
        """Charge an on-demand table's maximum buckets: each index what it consumed, the
        table the rest (its own reads or writes)."""
        # Without the service's report, every bucket pays the whole request (the safe side).
        reported = isinstance(consumed, dict) and isinstance(consumed.get("indexes"), dict)
        per_index: dict[str, dict[str, float]] = (consumed["indexes"].get(key[1]) or {}) if reported else {}
        index_total = sum(float(v.get(kind, 0.0)) for v in per_index.values())
        for bucket, reason, resource in self._max_buckets(found, key, kind, params, now):
            if reason.startswith("Table"):
                bucket.tokens -= max(units - index_total, 0.0) if reported else units
            else:
                name = resource.rsplit("/index/", 1)[1]
                bucket.tokens -= float((per_index.get(name) or {}).get(kind, 0.0)) if reported else units

    @staticmethod
    def _minimum(operation: str, params: dict[str, Any], table: str) -> float:
        if operation == "BatchGetItem":
            return float(len((params.get("RequestItems") or {}).get(table, {}).get("Keys", [])) or 1)
        if operation == "BatchWriteItem":
            return float(len((params.get("RequestItems") or {}).get(table, [])) or 1)
        return 1.0

    def health(self) -> dict[str, Any]:
        return {"throttled": self.throttled, "buckets": len(self._buckets)}
