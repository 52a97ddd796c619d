"""Kinesis Data Streams for DynamoDB: item-level changes of a table delivered as JSON
records into a Kinesis data stream (EnableKinesisStreamingDestination,
DisableKinesisStreamingDestination, DescribeKinesisStreamingDestination,
UpdateKinesisStreamingDestination).

Kinesis itself is served in-process by moto (emulator/gateway/fallback.py). A change is
recorded by the write hook next to the DynamoDB Streams record (``Streams.record``), in
the item's own storage transaction, into an outbox of the destination (the stream-record
storage, ``stream_append``): an acknowledged write cannot lose its Kinesis record, and a
write that rolls back leaves none. A background task moves the committed records into
moto's stream, oldest first, and drops them from the outbox once moto's snapshot holding
them is on disk: a kill -9 in between delivers them again after the restart (Kinesis
consumers of DynamoDB records see duplicates on AWS too and are told to expect them).

A destination is ENABLING (or DISABLING, UPDATING) for ``kinesis_activation_delay``
seconds after the request, then ACTIVE (DISABLED); only writes committed while it is
ACTIVE (or UPDATING) are recorded. A destination whose stream is gone goes to
ENABLE_FAILED and its undelivered records are dropped.

https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/kds.html
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import re
import uuid
from typing import TYPE_CHECKING, Any

import orjson

from emulator.dynamodb.core import Item, ref_name
from emulator.dynamodb.lifecycle.common import WRITER_IDENTITY, stop_task
from emulator.dynamodb.tables import Table, check_table_name
from emulator.dynamodb.types import item_size
from emulator.errors import AwsError

if TYPE_CHECKING:
    from emulator.dynamodb.lifecycle import Lifecycle

log = logging.getLogger("emulator.dynamodb.kinesis")

KIND = "kinesis"  # meta records: one per table (its uuid), holding its destinations
PRECISIONS = ("MILLISECOND", "MICROSECOND")
# "You can only stream data from a DynamoDB table to one Kinesis data stream" (developer
# guide, Kinesis Data Streams for DynamoDB): one destination enabled at a time; the
# disabled ones stay listed by DescribeKinesisStreamingDestination.
MAX_ENABLED = 1
BATCH = 500  # records per PutRecords into moto (Kinesis's own limit)
BATCH_BYTES = 4 * 1024 * 1024  # below PutRecords' 5 MiB
RETRY = 2.0  # seconds before a failed delivery is tried again
STREAM_ARN = re.compile(r"^arn:aws[a-z-]*:kinesis:([a-z0-9-]+):(\d{12}):stream/([A-Za-z0-9_.-]{1,128})$")
NO_PERMISSION = "User does not have a permission to use kinesis stream"


def validation(message: str) -> AwsError:
    return AwsError("ValidationException", message, 400)


def outbox(table_uuid: str, arn: str) -> str:
    """The stream-record storage key holding a destination's undelivered records."""
    return f"kinesis:{table_uuid}:{arn}"


def _json_default(value: Any) -> Any:
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode()  # B / BS values, as the JSON wire form has them
    raise TypeError(type(value).__name__)


def status_of(dest: dict[str, Any], now: float) -> str:
    """AWS's DestinationStatus of a stored destination at ``now``."""
    state = dest["state"]
    if state == "enabled":
        if now < dest["ready"]:
            return "UPDATING" if dest.get("updating") else "ENABLING"
        return "ACTIVE"
    if state == "disabled":
        return "DISABLING" if now < dest["ready"] else "DISABLED"
    return "ENABLE_FAILED"


def records_at(dest: dict[str, Any], now: float) -> bool:
    """Whether a write committed at ``now`` is delivered to ``dest`` (ACTIVE or UPDATING)."""
    return dest["state"] == "enabled" and (now >= dest["ready"] or bool(dest.get("updating")))


class KinesisDestinations:
    def __init__(self, lc: Lifecycle) -> None:
        self.lc = lc
        self.storage = lc.storage
        self.delay = max(0.0, lc.setting("kinesis_activation_delay", 0.5))
        # moto, where the streams are (set by the DynamoDB handler); None: Kinesis is not served here.
        self.fallback: Any = None
        # table uuid -> its enabled destinations: the write hook's one dict lookup.
        self.live: dict[str, list[dict[str, Any]]] = {}
        # outbox -> (table uuid, stream ARN): outboxes that may hold undelivered records.
        self.dirty: dict[str, tuple[str, str]] = {}
        self.delivered = 0
        self.failures = 0
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None

    # ------------------------------------------------------------ running
    def load(self) -> None:
        """The destinations kept in the storage; each outbox is looked at once (a restart
        delivers what the last run left undelivered)."""
        self.live.clear()
        self.dirty.clear()
        for key, meta in self.storage.meta_list(KIND):
            self._cache(key, meta)
            for dest in meta.get("destinations", []):
                self.dirty[outbox(key, dest["arn"])] = (key, dest["arn"])

    def start(self) -> None:
        self.load()
        self._wake = asyncio.Event()
        self._wake.set()
        self._task = asyncio.get_running_loop().create_task(self._run(), name="dynamodb-kinesis")

    async def stop(self) -> None:
        await stop_task(self._task)
        self._task = None

    def forget(self) -> None:
        """After a storage reset: no destination, no outbox."""
        self.live.clear()
        self.dirty.clear()

    def _cache(self, key: str, meta: dict[str, Any]) -> None:
        enabled = [d for d in meta.get("destinations", []) if d["state"] == "enabled"]
        if enabled:
            self.live[key] = enabled
        else:
            self.live.pop(key, None)

    def _save(self, key: str, meta: dict[str, Any]) -> None:
        self.storage.meta_put(KIND, key, meta)
        self._cache(key, meta)

    # ------------------------------------------------------------ writing
    def record(self, table: Table, old: Item | None, new: Item | None, now: float) -> None:
        """Called inside the write transaction (the item changed) for a table in ``live``."""
        dests = self.live.get(table.table_uuid)
        if not dests:
            return
        body: dict[str, Any] | None = None
        partition = ""
        for dest in dests:
            if not records_at(dest, now):
                continue  # ENABLING: writes before ACTIVE are not delivered
            if body is None:
                image = new if new is not None else old
                assert image is not None
                keys = {k: image[k] for k in table.key_names if k in image}
                ddb: dict[str, Any] = {"ApproximateCreationDateTime": 0, "Keys": keys}
                size = item_size(keys)
                if new is not None:
                    ddb["NewImage"] = new
                    size += item_size(new)
                if old is not None:
                    ddb["OldImage"] = old
                    size += item_size(old)
                ddb["SizeBytes"] = size
                identity = WRITER_IDENTITY.get()
                body = {
                    "awsRegion": table.arn.split(":")[3],
                    "eventID": str(uuid.uuid4()),
                    "eventName": "INSERT" if old is None else "REMOVE" if new is None else "MODIFY",
                    # The JSON form of the identity (as Lambda events show it): TTL deletions.
                    "userIdentity": {"type": identity["Type"], "principalId": identity["PrincipalId"]} if identity else None,
                    "recordFormat": "application/json",
                    "tableName": table.name,
                    "dynamodb": ddb,
                    "eventSource": "aws:dynamodb",
                }
                # One item's changes share a partition key, so they stay in order in one shard.
                digest = hashlib.md5(orjson.dumps(keys, option=orjson.OPT_SORT_KEYS, default=_json_default), usedforsecurity=False)
                partition = digest.hexdigest().upper()
            precision = dest["precision"]
            ddb = body["dynamodb"]
            ddb["ApproximateCreationDateTime"] = int(now * 1_000_000) if precision == "MICROSECOND" else int(now * 1000)
            ddb["ApproximateCreationDateTimePrecision"] = precision
            data = orjson.dumps(body, default=_json_default)
            box = outbox(table.table_uuid, dest["arn"])
            self.storage.stream_append(box, now, partition.encode() + b"\n" + data)
            self.dirty[box] = (table.table_uuid, dest["arn"])
        if body is not None and self._wake is not None:
            self._wake.set()

    # ----------------------------------------------------------- delivery
    async def _run(self) -> None:
        assert self._wake is not None
        while True:
            try:
                await asyncio.wait_for(self._wake.wait(), RETRY)
            except TimeoutError:
                pass
            self._wake.clear()
            if not self.dirty or self.fallback is None:
                continue
            try:
                await self.deliver()
            except asyncio.CancelledError:
                raise
            except Exception:
                self.failures += 1
                log.exception("delivery to Kinesis failed; retried in %s s", RETRY)
                await asyncio.sleep(RETRY)  # not at once, however often writes wake it

    async def deliver(self) -> int:
        """Move every committed record of the outboxes into moto's streams; returns how many."""
        engine = self.lc.engine
        done = 0
        for box, (key, arn) in list(self.dirty.items()):
            if self.dirty.get(box) is None:
                continue  # forgotten meanwhile (reset)
            # Dropped before reading: a record appended from now on marks it again.
            del self.dirty[box]
            rows = self.storage.stream_read(box, 0, BATCH)
            if not rows:
                continue
            # The rows may belong to a group not committed yet: wait until they are on disk,
            # so that Kinesis never shows a write DynamoDB could still lose.
            await engine.durable()
            try:
                missing = await self.fallback.change("kinesis", lambda rows=rows, arn=arn: self._put(arn, rows))
            except Exception:
                self.dirty[box] = (key, arn)  # kept: tried again
                raise
            engine.begin_group()
            try:
                with self.storage.transaction():
                    self.storage.stream_trim(box, rows[-1][0])
                    if missing:
                        self._fail(key, arn)
                        self.storage.stream_trim(box, 2**62)  # undeliverable: the stream is gone
            finally:
                await engine.durable()
            if not missing:
                done += len(rows)
                if len(rows) == BATCH:
                    self.dirty[box] = (key, arn)  # more to come
        self.delivered += done
        return done

    def _put(self, arn: str, rows: list[tuple[int, float, bytes]]) -> bool:
        """In a worker thread, holding moto's Kinesis locks: PutRecords into the stream.
        Returns True when the stream does not exist (nothing was written)."""
        backend = self._backend(arn)
        if backend is None or self._stream(backend, arn) is None:
            return True
        batch: list[dict[str, Any]] = []
        size = 0
        for _seq, _created, blob in rows:
            partition, _, data = blob.partition(b"\n")
            if batch and (len(batch) >= BATCH or size + len(data) > BATCH_BYTES):
                backend.put_records(arn, None, batch)
                batch, size = [], 0
            batch.append({"PartitionKey": partition.decode(), "Data": data})
            size += len(data) + len(partition)
        if batch:
            backend.put_records(arn, None, batch)
        return False

    def _backend(self, arn: str) -> Any:
        """moto's Kinesis of the stream ARN's region, or None when the ARN is not one of this
        account's streams."""
        m = STREAM_ARN.match(arn)
        if m is None or self.fallback is None or m.group(2) != self.fallback.account_id:
            return None
        return self.fallback.backend("kinesis", m.group(1))

    @staticmethod
    def _stream(backend: Any, arn: str) -> Any:
        stream = backend.streams.get(arn.rsplit("/", 1)[-1])
        return stream if stream is not None and stream.arn == arn else None

    async def _exists(self, arns: list[str]) -> set[str]:
        """Those of ``arns`` that are streams of moto's Kinesis now."""
        if self.fallback is None or not arns:
            return set()

        def look() -> set[str]:
            found = set()
            for arn in arns:
                backend = self._backend(arn)
                if backend is not None and self._stream(backend, arn) is not None:
                    found.add(arn)
            return found

        found: set[str] = await self.fallback.change("kinesis", look, write=False)
        return found

    def _fail(self, key: str, arn: str) -> None:
        """The destination's stream is gone: ENABLE_FAILED, as AWS shows a destination it can
        no longer write to (enabling it again is allowed)."""
        meta = self.storage.meta_get(KIND, key)
        if meta is None:
            return
        for dest in meta.get("destinations", []):
            if dest["arn"] == arn and dest["state"] != "failed":
                dest["state"] = "failed"
                dest["ready"] = self.lc.clock()
                dest["updating"] = False
                dest["description"] = f"Kinesis streaming destination failed: the Kinesis data stream {arn} does not exist or cannot be written to."
                self._save(key, meta)

    # ------------------------------------------------------------ helpers
    def _table(self, ref: Any) -> Table:
        """The table a request names (a name or a table ARN), in the request's region."""
        table = self.lc.engine.find_table(ref)
        if table is None:
            name = ref_name(ref)
            check_table_name(name)
            raise AwsError("ResourceNotFoundException", f"Requested resource not found: Table: {name} not found", 400)
        assert isinstance(table, Table)
        return table

    def _meta(self, table: Table) -> dict[str, Any]:
        meta = self.storage.meta_get(KIND, table.table_uuid)
        if meta is None:
            meta = {"table": table.name, "region": table.arn.split(":")[3], "table_uuid": table.table_uuid, "destinations": []}
        return meta

    @staticmethod
    def _stream_arn(params: dict[str, Any]) -> str:
        arn = params.get("StreamArn")
        if not isinstance(arn, str):
            raise validation("1 validation error detected: Value null at 'streamArn' failed to satisfy constraint: Member must not be null")
        return arn

    @staticmethod
    def _precision(config: Any, member: str) -> str | None:
        if config is None:
            return None
        if not isinstance(config, dict):
            raise validation(f"Invalid {member}")
        value = config.get("ApproximateCreationDateTimePrecision")
        if value is not None and value not in PRECISIONS:
            field = member[0].lower() + member[1:]
            raise validation(
                f"1 validation error detected: Value '{value}' at '{field}.approximateCreationDateTimePrecision' failed to satisfy constraint: "
                "Member must satisfy enum value set: [MILLISECOND, MICROSECOND]"
            )
        return value if isinstance(value, str) else None

    # ---------------------------------------------------------------- API
    async def enable(self, params: dict[str, Any]) -> dict[str, Any]:
        table = self._table(params.get("TableName"))
        arn = self._stream_arn(params)
        config = params.get("EnableKinesisStreamingConfiguration")
        precision = self._precision(config, "EnableKinesisStreamingConfiguration") or "MILLISECOND"
        # Same account and region as the table only (the developer guide's rule): any other
        # ARN is a stream the table cannot use, as one that does not exist.
        m = STREAM_ARN.match(arn)
        if m is None or m.group(1) != table.arn.split(":")[3] or arn not in await self._exists([arn]):
            raise validation(NO_PERMISSION)
        table = self._table(params.get("TableName"))  # again: it may have gone meanwhile
        self.lc.engine.begin_group()  # the request's group may have been committed while waiting
        meta = self._meta(table)
        dests: list[dict[str, Any]] = meta["destinations"]
        now = self.lc.clock()
        dest = next((d for d in dests if d["arn"] == arn), None)
        if dest is not None and status_of(dest, now) not in ("DISABLED", "ENABLE_FAILED"):
            raise validation(
                "Table is not in a valid state to enable Kinesis Streaming Destination:"
                "EnableKinesisStreamingDestination must be DISABLED or ENABLE_FAILED to perform ENABLE operation."
            )
        if sum(1 for d in dests if d["state"] == "enabled") >= MAX_ENABLED:
            raise AwsError(
                "LimitExceededException",
                f"Table {table.name} already has the maximum number of enabled Kinesis streaming destinations ({MAX_ENABLED}); disable it first.",
                400,
            )
        if dest is None:
            dest = {"arn": arn}
            dests.append(dest)
        dest.update({"precision": precision, "state": "enabled", "ready": now + self.delay, "updating": False, "description": None})
        self._save(table.table_uuid, meta)
        out: dict[str, Any] = {"TableName": table.name, "StreamArn": arn, "DestinationStatus": "ENABLING"}
        if config is not None:
            out["EnableKinesisStreamingConfiguration"] = {"ApproximateCreationDateTimePrecision": precision}
        return out

    def disable(self, params: dict[str, Any]) -> dict[str, Any]:
        table = self._table(params.get("TableName"))
        arn = self._stream_arn(params)
        config = params.get("EnableKinesisStreamingConfiguration")
        self._precision(config, "EnableKinesisStreamingConfiguration")
        meta = self._meta(table)
        now = self.lc.clock()
        dest = next((d for d in meta["destinations"] if d["arn"] == arn), None)
        if dest is None or status_of(dest, now) != "ACTIVE":
            raise validation(
                "Table is not in a valid state to disable Kinesis Streaming Destination:"
                "DisableKinesisStreamingDestination must be ACTIVE to perform DISABLE operation."
            )
        # Writes from now on are not recorded; those recorded are still delivered.
        dest.update({"state": "disabled", "ready": now + self.delay, "updating": False, "description": None})
        self._save(table.table_uuid, meta)
        out: dict[str, Any] = {"TableName": table.name, "StreamArn": arn, "DestinationStatus": "DISABLING"}
        if isinstance(config, dict):
            out["EnableKinesisStreamingConfiguration"] = config
        return out

    def update(self, params: dict[str, Any]) -> dict[str, Any]:
        table = self._table(params.get("TableName"))
        arn = self._stream_arn(params)
        config = params.get("UpdateKinesisStreamingConfiguration")
        precision = self._precision(config, "UpdateKinesisStreamingConfiguration")
        if precision is None:
            raise validation(
                "Streaming destination cannot be updated with given parameters: "
                "UpdateKinesisStreamingConfiguration cannot be null or contain only null values"
            )
        meta = self._meta(table)
        now = self.lc.clock()
        dest = next((d for d in meta["destinations"] if d["arn"] == arn), None)
        if dest is None:
            raise validation(
                "Table is not in a valid state to enable Kinesis Streaming Destination: "
                f"No streaming destination with streamArn: {arn} found for table with tableName: {table.name}"
            )
        if status_of(dest, now) != "ACTIVE":
            raise validation(
                "Table is not in a valid state to update Kinesis Streaming Destination:"
                "UpdateKinesisStreamingDestination must be ACTIVE to perform UPDATE operation."
            )
        if dest["precision"] == precision:
            raise validation(f"Invalid Request: Precision is already set to the desired value of {precision} for tableId: {table.table_uuid}, kdsArn: {arn}")
        # UPDATING, streaming on meanwhile: the records of writes from now on have the new precision.
        dest.update({"precision": precision, "ready": now + self.delay, "updating": True})
        self._save(table.table_uuid, meta)
        return {
            "TableName": table.name,
            "StreamArn": arn,
            "DestinationStatus": "UPDATING",
            "UpdateKinesisStreamingConfiguration": {"ApproximateCreationDateTimePrecision": precision},
        }

    async def describe(self, params: dict[str, Any]) -> dict[str, Any]:
        table = self._table(params.get("TableName"))
        meta = self._meta(table)
        now = self.lc.clock()
        streaming = [d["arn"] for d in meta["destinations"] if d["state"] == "enabled"]
        if streaming and self.fallback is not None:
            # A destination whose stream was deleted fails now, not only at its next write.
            found = await self._exists(streaming)
            gone = [arn for arn in streaming if arn not in found]
            if gone:
                self.lc.engine.begin_group()
                with self.storage.transaction():
                    for arn in gone:
                        self._fail(table.table_uuid, arn)
                        self.storage.stream_trim(outbox(table.table_uuid, arn), 2**62)
                meta = self._meta(table)
        out = []
        for dest in meta["destinations"]:
            entry: dict[str, Any] = {"StreamArn": dest["arn"], "DestinationStatus": status_of(dest, now)}
            if dest.get("description"):
                entry["DestinationStatusDescription"] = dest["description"]
            entry["ApproximateCreationDateTimePrecision"] = dest["precision"]
            out.append(entry)
        return {"TableName": table.name, "KinesisDataStreamDestinations": out}

    # ------------------------------------------------------- housekeeping
    def housekeeping(self) -> None:
        """Forget the destinations of deleted tables once their records are delivered; look
        again at every outbox that still holds records (a delivery that failed)."""
        for key, meta in self.storage.meta_list(KIND):
            pending = False
            for dest in meta.get("destinations", []):
                box = outbox(key, dest["arn"])
                first, _last = self.storage.stream_bounds(box)
                if first is not None:
                    pending = True
                    self.dirty[box] = (key, dest["arn"])
            table = self.lc.engine.find_table(meta["table"], region=meta["region"])
            if (table is None or table.table_uuid != key) and not pending:
                with self.storage.transaction():
                    self.storage.meta_delete(KIND, key)
                self.live.pop(key, None)
        if self.dirty and self._wake is not None:
            self._wake.set()

    def health(self) -> dict[str, Any]:
        return {"tables": len(self.live), "delivered": self.delivered, "failures": self.failures}
