"""Time to live: a background sweeper deletes items whose TTL attribute (a
Number of epoch seconds) is in the past, as DynamoDB's own service does.

Each deletion is a normal write (indexes, PITR history) whose stream record
carries ``userIdentity {"Type": "Service", "PrincipalId": "dynamodb.amazonaws.com"}``.
Items whose TTL is more than five years in the past are left alone, as AWS
does. The sweep works in bounded batches and yields to the event loop
between them. https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/TTL.html
"""

from __future__ import annotations

import asyncio
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from emulator.dynamodb.batch import TOKEN_PURGE_BATCH
from emulator.dynamodb.core import Item, ItemKey, loads
from emulator.dynamodb.lifecycle.common import TTL_IDENTITY, WRITER_IDENTITY
from emulator.dynamodb.tables import Table

if TYPE_CHECKING:
    from emulator.dynamodb.lifecycle import Lifecycle

FIVE_YEARS = 5 * 365 * 86400
SCAN_BATCH = 500  # rows examined between two yields to the event loop


def expires_at(item: Item, attribute: str) -> float | None:
    av = item.get(attribute)
    if not isinstance(av, dict) or "N" not in av:
        return None  # TTL applies to Number attributes only
    try:
        return float(Decimal(str(av["N"])))
    except (InvalidOperation, ValueError):
        return None


def is_expired(item: Item, attribute: str, now: float) -> bool:
    at = expires_at(item, attribute)
    return at is not None and now - FIVE_YEARS <= at < now


class TtlSweeper:
    def __init__(self, lc: Lifecycle) -> None:
        self.lc = lc
        self.deleted = 0

    async def sweep(self) -> int:
        """One pass over every table with TTL enabled; returns items deleted."""
        total = 0
        for table in list(self.lc.engine.tables.values()):
            attr = table.ttl.get("attribute") if table.ttl.get("enabled") else None
            if attr:
                total += await self._sweep_table(table, attr)
        self.deleted += total
        return total

    async def _sweep_table(self, table: Table, attr: str) -> int:
        engine = self.lc.engine
        storage = engine.storage
        deleted = 0
        after: tuple[bytes, bytes] | None = None
        while engine.tables.get(table.key) is table and table.ttl.get("enabled"):
            now = self.lc.clock()
            expired: list[tuple[bytes, bytes]] = []
            seen = 0
            last: tuple[bytes, bytes] | None = None
            for row in storage.scan(table.table_id, 0, after):
                seen += 1
                last = (row.pk, row.sk)
                if is_expired(loads(row.data), attr, now):
                    expired.append(last)
                if seen >= SCAN_BATCH:
                    break
            if expired:
                # One group commit (one fsync) for the batch, not one per item.
                engine.begin_group()
                try:
                    deleted += self._delete(table, attr, expired, now)
                finally:
                    await engine.durable()
            if seen < SCAN_BATCH or last is None:
                break
            after = last
            await asyncio.sleep(0)
        return deleted

    def _delete(self, table: Table, attr: str, keys: list[tuple[bytes, bytes]], now: float) -> int:
        engine = self.lc.engine
        done = 0
        token = WRITER_IDENTITY.set(TTL_IDENTITY)
        try:
            for pk, sk in keys:
                with engine.storage.transaction():
                    # Re-check inside the transaction: the item may have changed since the scan.
                    data = engine.storage.get(table.table_id, 0, pk, sk)
                    if data is None:
                        continue
                    item = loads(data)
                    if not is_expired(item, attr, now):
                        continue
                    engine.write(table, ItemKey(pk, sk, {}), item, None)
                    done += 1
        finally:
            WRITER_IDENTITY.reset(token)
        return done

    async def purge_tokens(self) -> int:
        """Forget the expired ClientRequestTokens (TransactWriteItems, ExecuteTransaction)
        the storage keeps, in bounded batches (one group commit each) that yield to the
        event loop between them; returns how many went."""
        engine = self.lc.engine
        total = 0
        while True:
            engine.begin_group()
            try:
                gone = engine.purge_tokens(TOKEN_PURGE_BATCH)
            finally:
                await engine.durable()
            total += gone
            if gone < TOKEN_PURGE_BATCH:
                return total
            await asyncio.sleep(0)

    def health(self) -> dict[str, Any]:
        return {"deleted": self.deleted}
