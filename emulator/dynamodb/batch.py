"""BatchGetItem, BatchWriteItem, TransactGetItems and TransactWriteItems."""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import Callable
from typing import Any, Protocol

import orjson

from emulator.dynamodb.core import (
    Capacity,
    Item,
    check_return_consumed,
    dumps,
    loads,
    read_units,
)
from emulator.dynamodb.items import WriteOp
from emulator.dynamodb.reads import ReadOps
from emulator.dynamodb.tables import invalid
from emulator.dynamodb.types import prepared_item
from emulator.errors import AwsError

MAX_BATCH_GET = 100
MAX_BATCH_WRITE = 25
MAX_TRANSACT = 100
MAX_TRANSACT_BYTES = 4 * 1024 * 1024
BATCH_GET_BYTES = 16 * 1024 * 1024
TOKEN_TTL = 600.0  # ClientRequestToken is idempotent for 10 minutes
# The housekeeping pass (lifecycle tick) forgets expired tokens kept in the storage this
# many at a time, one group commit each.
TOKEN_PURGE_BATCH = 500
# Tokens an engine keeps in memory (the storage keeps them all): the most recent ones.
TOKENS_IN_MEMORY = 10_000


def request_items(params: dict[str, Any]) -> dict[str, Any]:
    """The request's RequestItems (BatchGetItem, BatchWriteItem), which must name a table."""
    request = params.get("RequestItems")
    if not request:
        raise invalid(
            "1 validation error detected: Value '{}' at 'requestItems' failed to satisfy constraint: Member must have length greater than or equal to 1"
            if request is not None
            else "1 validation error detected: Value null at 'requestItems' failed to satisfy constraint: Member must not be null"
        )
    return request


def transact_entries(params: dict[str, Any]) -> list[dict[str, Any]]:
    """The request's TransactItems, which must hold 1 to 100 entries."""
    entries = params.get("TransactItems")
    if not entries or len(entries) > MAX_TRANSACT:
        raise invalid(
            f"1 validation error detected: Value '{entries}' at 'transactItems' failed to satisfy constraint: Member must have length "
            + ("less than or equal to 100" if entries else "greater than or equal to 1")
        )
    return list(entries)


def transaction_canceled(reasons: list[dict[str, Any]]) -> AwsError:
    """TransactionCanceledException with one cancellation reason per entry, in request order."""
    codes = ", ".join(r["Code"] for r in reasons)
    return AwsError(
        "TransactionCanceledException",
        f"Transaction cancelled, please refer cancellation reasons for specific reasons [{codes}]",
        400,
        extra={"CancellationReasons": reasons},
    )


# PutItem's refusals of an item's key attributes, which a BatchWriteItem PutRequest words as
# "The provided key element does not match the schema".
_PUT_KEY_PROBLEMS = (
    "One or more parameter values were invalid: Missing the key ",
    "One or more parameter values were invalid: Type mismatch for key ",
)


def _blob_text(value: Any) -> str:
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(value).decode("ascii")
    raise TypeError(type(value).__name__)


def _fingerprint(params: dict[str, Any]) -> bytes:
    """What must be the same for a token to be reused: a 128-bit BLAKE2 digest of the request
    as JSON (blobs as base64: a blob's place in the model holds nothing else, so no other
    request reads the same), made in C: repr() of 25 items of 1 KB cost about a tenth of the
    request. repr() for anything JSON cannot carry (both never give the same bytes: JSON
    starts with '{"', repr with "{'"). A digest, not the request: every token is kept 10
    minutes, and boto3 gives every TransactWriteItems one, so the requests themselves (up to
    100 items of 400 KB each) held memory in proportion to the last 10 minutes' traffic."""
    subset = {k: v for k, v in params.items() if k not in ("ClientRequestToken", "ReturnConsumedCapacity")}
    try:
        text = orjson.dumps(subset, default=_blob_text)
    except TypeError:
        text = repr(subset).encode()
    return hashlib.blake2b(text, digest_size=16).digest()


def idempotent(lookup: Callable[[str], Any], token: Any, params: dict[str, Any], prefix: str = "") -> tuple[bytes, dict[str, Any] | None]:
    """ClientRequestToken idempotency (TransactWriteItems, PartiQL's ExecuteTransaction): the
    request's fingerprint, and the first answer when the token was used in the last 10 minutes
    for the same request; the token with another request is refused."""
    if token is None:
        return b"", None
    if not isinstance(token, str) or not 1 <= len(token) <= 36:
        raise invalid(f"1 validation error detected: Value '{token}' at 'clientRequestToken' failed to satisfy constraint: Member must have length less than or equal to 36")
    fingerprint = _fingerprint(params)
    cached = lookup(prefix + token)
    if cached is None:
        return fingerprint, None
    if cached[1] != fingerprint:
        raise AwsError("IdempotentParameterMismatchException", "Request has been previously submitted with a different set of parameters for the same idempotency token", 400)
    return fingerprint, dict(cached[2])


class _TokenTaken(Exception):
    """Storage.token_put found the token kept already: another request committed it first."""


def _in_progress() -> AwsError:
    return AwsError("TransactionInProgressException", "The transaction with the given request token is already in progress.", 400)


def _duplicates() -> AwsError:
    return invalid("Provided list of item keys contains duplicates")


class Throughput(Protocol):
    """What the tables' provisioned throughput lets a batch do now (the gateway's capacity
    limiter, bound to one request: emulator/gateway/ratelimit.py, CapacityLimiter.allowance)."""

    def allowance(self, table: str) -> float | None:
        """Units the batch may still spend on ``table`` (as the request names it): None when
        nothing limits it, <= 0 when nothing more may go."""

    def refuse(self, table: str) -> AwsError:
        """The error of a batch none of whose requests could go."""


def _admitted(ops: list[WriteOp], origins: list[tuple[str, Any]], throughput: Throughput, unprocessed: dict[str, list[Any]]) -> list[WriteOp]:
    """The writes the tables' throughput lets go now, in the request's order; the others'
    WriteRequests go into ``unprocessed`` by table. A write is let go while its table has
    units left, at the cost it is known to have at least (a Put: its item's 1 KB units; a
    Delete: one unit): what it really consumed is charged after, as for any request."""
    left: dict[str, float | None] = {}
    admitted: list[WriteOp] = []
    for op, (name, req) in zip(ops, origins, strict=True):
        if name not in left:
            left[name] = throughput.allowance(name)
        units = left[name]
        if units is not None:
            if units <= 0:
                unprocessed.setdefault(name, []).append(req)
                continue
            left[name] = units - (max(1, -(-(op.size or 0) // 1024)) if op.kind == "Put" else 1)
        admitted.append(op)
    if not admitted and unprocessed:
        raise throughput.refuse(next(iter(unprocessed)))
    return admitted


class BatchOps(ReadOps):
    # ClientRequestTokens (expiry as wall-clock time, fingerprint, answer), by token (an
    # ExecuteTransaction's prefixed): the ones this process used or read back. Each is
    # also kept in the storage, written in the transaction it answers for, so a retry
    # after a restart (or to another process sharing the storage) is not applied twice.
    _tokens: dict[str, tuple[float, bytes, dict[str, Any]]]
    # Until when a token missing from memory may still be kept in the storage: the latest
    # expiry of the tokens it kept when it was opened (used before a restart) or of one
    # let go from memory (past TOKENS_IN_MEMORY). Storages other processes share are
    # always asked.
    _token_horizon: float = 0.0
    # How long a token is remembered (seconds); tests shorten it.
    token_ttl: float = TOKEN_TTL

    def _now(self) -> float:
        """Wall-clock time of token expiries (they outlive the process); tests move it."""
        return time.time()

    # ------------------------------------------------------- BatchGetItem
    def batch_get_item(self, params: dict[str, Any], raw: bool = False, throughput: Throughput | None = None) -> dict[str, Any]:
        """``raw``: whole items may come out as stored JSON (``raw_item``), as for ``query``.
        ``throughput``: what each table's provisioned throughput lets go now (None: no limit);
        the keys past it come back in UnprocessedKeys."""
        request = request_items(params)
        rcc = check_return_consumed(params.get("ReturnConsumedCapacity"))
        total = sum(len(spec.get("Keys") or []) for spec in request.values())
        if total > MAX_BATCH_GET:
            raise invalid("Too many items requested for the BatchGetItem call")
        plan = []
        for name, spec in request.items():
            table = self.table(name, "requestItems")
            keys = spec.get("Keys") or []
            if not keys:
                raise invalid("1 validation error detected: Value '[]' at 'requestItems.keys' failed to satisfy constraint: Member must have length greater than or equal to 1")
            ctx = self.context(spec)
            proj = self.projection(spec, ctx)
            ctx.finish()
            if proj is not None:
                self.check_key_paths(table, proj.paths)
            parsed = [self.key_from_key(table, k) for k in keys]
            if len({(k.pk, k.sk) for k in parsed}) != len(parsed):
                raise _duplicates()
            plan.append((name, table, spec, parsed, proj))
        responses: dict[str, list[Any]] = {}
        unprocessed: dict[str, Any] = {}
        consumed = []
        size = 0
        read_any = False
        for name, table, spec, parsed, proj in plan:
            out = responses.setdefault(name, [])
            cap = Capacity(table.name)
            consistent = bool(spec.get("ConsistentRead"))
            allowed = throughput.allowance(name) if throughput is not None else None
            for i, key in enumerate(parsed):
                if size > BATCH_GET_BYTES or (allowed is not None and allowed <= 0):
                    left = {k: v for k, v in spec.items() if k != "Keys"}
                    left["Keys"] = [spec["Keys"][j] for j in range(i, len(parsed))]
                    unprocessed[name] = left
                    break
                found, isize = self.read_item(table, key, proj, raw)
                read_any = True
                size += isize
                units = read_units(isize, consistent)
                cap.read += units
                if allowed is not None:
                    allowed -= units
                if found is not None:
                    out.append(found)
            if rcc:
                consumed.append(cap.render(rcc))
        if not read_any and throughput is not None:
            raise throughput.refuse(next(iter(unprocessed)))  # no table's throughput let any key go
        result: dict[str, Any] = {"Responses": responses, "UnprocessedKeys": unprocessed}
        if rcc:
            result["ConsumedCapacity"] = consumed
        return result

    # ----------------------------------------------------- BatchWriteItem
    def batch_write_item(self, params: dict[str, Any], throughput: Throughput | None = None) -> dict[str, Any]:
        """``throughput``: what each table's provisioned throughput lets go now (None: no
        limit); the requests past it come back in UnprocessedItems."""
        request = request_items(params)
        rcc = check_return_consumed(params.get("ReturnConsumedCapacity"))
        metrics_wanted = params.get("ReturnItemCollectionMetrics") == "SIZE"
        total = sum(len(reqs or []) for reqs in request.values())
        if any(not reqs or len(reqs) > MAX_BATCH_WRITE for reqs in request.values()):
            raise invalid(
                "1 validation error detected: Value at 'requestItems' failed to satisfy constraint: Map value must satisfy constraint: "
                "[Member must have length less than or equal to 25, Member must have length greater than or equal to 1]"
            )
        if total > MAX_BATCH_WRITE:
            # 25 requests in all, across the tables.
            raise invalid("Too many items requested for the BatchWriteItem call")
        ops: list[WriteOp] = []
        origins: list[tuple[str, Any]] = []  # (table as named, WriteRequest) of each op
        seen: set[tuple[int, bytes, bytes]] = set()
        for name, reqs in request.items():
            table = self.table(name, "requestItems")
            for req in reqs:
                put, delete = req.get("PutRequest"), req.get("DeleteRequest")
                if (put is None) == (delete is None):
                    # DynamoDB's text (dynalite copied it for the empty request), odd as it reads.
                    raise invalid("Supplied AttributeValue has more than one datatypes set, must contain exactly one of the supported datatypes")
                if put is not None:
                    item = put.get("Item")
                    try:
                        # One walk validates, normalizes and sizes a plain valid item
                        # (types.prepared_item); anything else takes the separate checks.
                        op = self.compile_put(table, {"Item": item}, prepared=prepared_item(item))
                    except AwsError as exc:
                        # PutItem's "Missing the key ..." and "Type mismatch for key ..." read differently here.
                        if exc.message.startswith(_PUT_KEY_PROBLEMS):
                            raise invalid("The provided key element does not match the schema") from None
                        raise
                else:
                    op = self.compile_delete(table, {"Key": delete.get("Key")})
                ident = (table.table_id, op.key.pk, op.key.sk)
                if ident in seen:
                    raise _duplicates()
                seen.add(ident)
                ops.append(op)
                origins.append((name, req))
        unprocessed: dict[str, list[Any]] = {}
        if throughput is not None:
            ops = _admitted(ops, origins, throughput, unprocessed)
        caps: dict[str, Capacity] = {}
        with self.storage.transaction():
            for op in ops:
                cap = caps.setdefault(op.table.name, Capacity(op.table.name))
                # Sizes known already (the old item's stored with it, a Put's computed
                # when it was checked) are not walked again to meter the write.
                old, old_size = self.get_item_sized(op.table, op.key)
                new = op.new_image(self, old)
                if op.kind == "Delete" and old is None:
                    cap.write += 1.0
                else:
                    self.write(op.table, op.key, old, new, cap, new_size=op.size, old_size=old_size)
        out: dict[str, Any] = {"UnprocessedItems": unprocessed}
        if rcc:
            out["ConsumedCapacity"] = [c.render(rcc) for c in caps.values()]
        if metrics_wanted:
            metrics: dict[str, list[Any]] = {}
            for op in ops:
                m = self.item_collection_metrics(op.table, op.key)
                if m is not None:
                    metrics.setdefault(op.table.name, []).append(m)
            out["ItemCollectionMetrics"] = metrics
        return out

    # --------------------------------------------------- TransactGetItems
    def transact_get_items(self, params: dict[str, Any]) -> dict[str, Any]:
        entries = transact_entries(params)
        rcc = check_return_consumed(params.get("ReturnConsumedCapacity"))
        plan = []
        seen: set[tuple[int, bytes, bytes]] = set()
        for entry in entries:
            get = entry.get("Get")
            if get is None:
                raise invalid("1 validation error detected: Value null at 'transactItems.1.member.get' failed to satisfy constraint: Member must not be null")
            table = self.table(get.get("TableName"))
            if get.get("Key") is None:
                raise invalid("1 validation error detected: Value null at 'transactItems.1.member.get.key' failed to satisfy constraint: Member must not be null")
            key = self.key_from_key(table, get["Key"])
            ident = (table.table_id, key.pk, key.sk)
            if ident in seen:
                raise invalid("Transaction request cannot include multiple operations on one item")
            seen.add(ident)
            ctx = self.context(get)
            proj = self.projection(get, ctx)
            ctx.finish()
            if proj is not None:
                self.check_key_paths(table, proj.paths)
            plan.append((table, key, proj))
        responses = []
        caps: dict[str, Capacity] = {}
        with self.storage.transaction():  # one consistent snapshot
            for table, key, proj in plan:
                item, size = self.get_item_sized(table, key)  # the size stored with the item
                cap = caps.setdefault(table.name, Capacity(table.name))
                cap.read += read_units(size if item else 0, True) * 2
                responses.append({"Item": proj.apply(item) if proj is not None else item} if item is not None else {})
        out: dict[str, Any] = {"Responses": responses}
        if rcc:
            out["ConsumedCapacity"] = [c.render(rcc) for c in caps.values()]
        return out

    # ------------------------------------------------- TransactWriteItems
    def transact_write_items(self, params: dict[str, Any]) -> dict[str, Any]:
        entries = transact_entries(params)
        rcc = check_return_consumed(params.get("ReturnConsumedCapacity"))
        token = params.get("ClientRequestToken")
        fingerprint, replay = idempotent(self._token_lookup, token, params)
        if replay is not None:
            return replay
        ops: list[WriteOp] = []
        seen: set[tuple[int, bytes, bytes]] = set()
        for entry in entries:
            present = [k for k in ("ConditionCheck", "Put", "Delete", "Update") if entry.get(k) is not None]
            if len(present) != 1:
                raise invalid("TransactItems can only contain one of Check, Put, Update or Delete")
            kind = present[0]
            spec = entry[kind]
            table = self.table(spec.get("TableName"))
            if kind == "Put":
                op = self.compile_put(table, spec, prepared=prepared_item(spec.get("Item")))
            elif kind == "Delete":
                op = self.compile_delete(table, spec)
            elif kind == "Update":
                op = self.compile_update(table, spec)
            else:
                op = self.compile_condition_check(table, spec)
            ident = (table.table_id, op.key.pk, op.key.sk)
            if ident in seen:
                raise invalid("Transaction request cannot include multiple operations on one item")
            seen.add(ident)
            ops.append(op)
        if sum(op.size or 0 for op in ops) > MAX_TRANSACT_BYTES:
            raise invalid("Transaction request cannot be larger than 4 MB")
        return self.with_token(token, "", fingerprint, params, lambda: self._transact_write(ops, params, rcc))

    def _transact_write(self, ops: list[WriteOp], params: dict[str, Any], rcc: str | None) -> dict[str, Any]:
        caps: dict[str, Capacity] = {}
        with self.storage.transaction():
            # Each old item with its stored size: metering then walks no item again.
            sized = [self.get_item_sized(op.table, op.key) for op in ops]
            olds = [old for old, _ in sized]
            reasons: list[dict[str, Any]] = []
            news: list[Item | None] = []
            failed = False
            for op, old in zip(ops, olds, strict=True):
                if op.condition is not None and not op.condition.evaluate(old):
                    reason: dict[str, Any] = {"Code": "ConditionalCheckFailed", "Message": "The conditional request failed"}
                    if op.on_failure == "ALL_OLD" and old is not None:
                        reason["Item"] = old
                    reasons.append(reason)
                    news.append(None)
                    failed = True
                    continue
                try:
                    news.append(op.new_image(self, old))
                except AwsError as err:
                    reasons.append({"Code": "ValidationError", "Message": err.message})
                    news.append(None)
                    failed = True
                    continue
                reasons.append({"Code": "None"})
            if failed:
                raise transaction_canceled(reasons)
            for op, (old, old_size), new in zip(ops, sized, news, strict=True):
                cap = caps.setdefault(op.table.name, Capacity(op.table.name))
                if op.kind == "ConditionCheck":
                    cap.read += read_units(old_size if old else 0, True) * 2
                    continue
                if op.kind == "Delete" and old is None:
                    cap.write += 2.0
                    continue
                self.write(op.table, op.key, old, new, cap, factor=2.0, new_size=op.size, old_size=old_size)
        out: dict[str, Any] = {}
        if rcc:
            out["ConsumedCapacity"] = [c.render(rcc) for c in caps.values()]
        if params.get("ReturnItemCollectionMetrics") == "SIZE":
            metrics: dict[str, list[Any]] = {}
            for op in ops:
                if op.kind != "ConditionCheck":
                    m = self.item_collection_metrics(op.table, op.key)
                    if m is not None:
                        metrics.setdefault(op.table.name, []).append(m)
            out["ItemCollectionMetrics"] = metrics
        return out

    # ------------------------------------------------- ClientRequestToken
    def with_token(self, token: str | None, prefix: str, fingerprint: bytes, params: dict[str, Any], run: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        """``run()`` (a write transaction; its answer) and, with a token, the token kept
        with that answer in the same storage transaction: after a crash both are there or
        neither. Without a token this is ``run()`` alone. ``idempotent`` was asked first
        (and found no answer to replay). When another request kept the token in between
        (another process sharing the storage), this one's writes roll back and that one's
        answer is given, or IdempotentParameterMismatchException for another request."""
        if token is None:
            return run()
        key = prefix + token
        for _attempt in range(3):
            try:
                with self.storage.transaction():
                    out = run()
                    now = self._now()
                    expires = now + self.token_ttl
                    if not self.storage.token_put(key, fingerprint, dumps(out), expires, now):
                        raise _TokenTaken
            except _TokenTaken:
                _, replay = idempotent(lambda k: self._token_lookup(k, stored=True), token, params, prefix)
                if replay is not None:
                    return replay
                continue  # gone since (expired, or a reset): run again
            self._remember_token(key, (expires, fingerprint, out))
            return out
        raise _in_progress()

    def _remember_token(self, key: str, entry: tuple[float, bytes, dict[str, Any]]) -> None:
        tokens = self._tokens
        tokens[key] = entry
        while len(tokens) > TOKENS_IN_MEMORY:
            # The oldest goes (insertion order); until it expires, misses ask the storage.
            self._token_horizon = max(self._token_horizon, tokens.pop(next(iter(tokens)))[0])

    def _token_lookup(self, token: str, stored: bool = False) -> tuple[float, bytes, dict[str, Any]] | None:
        """The token's (expiry, fingerprint, answer) while it is valid: from memory, else
        from the storage when it may hold it (``stored``: always ask it)."""
        now = self._now()
        cached = self._tokens.get(token)
        if cached is not None and cached[0] > now:
            return cached
        if not (stored or self.storage.shared or now < self._token_horizon):
            return None
        row = self.storage.token_get(token, now)
        if row is None:
            return None
        expires, fingerprint, answer = row
        cached = (expires, fingerprint, loads(answer))
        self._remember_token(token, cached)
        return cached

    def load_token_horizon(self) -> None:
        """Note until when the storage may hold tokens this process has not seen (on open)."""
        self._token_horizon = self.storage.token_horizon() or 0.0

    def purge_tokens(self, limit: int = TOKEN_PURGE_BATCH) -> int:
        """Forget up to ``limit`` expired tokens, in memory and in the storage; returns how
        many the storage let go (the lifecycle's housekeeping calls it in a group)."""
        now = self._now()
        for t in [t for t, v in self._tokens.items() if v[0] <= now]:
            del self._tokens[t]
        return self.storage.token_purge(now, limit)
