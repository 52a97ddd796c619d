"""DynamoDB Streams: records written with the item change, and the Streams API.

A record is appended by a write hook inside the item's own storage
transaction, so it commits (or rolls back) with the change: a crash can
neither lose the record of an acknowledged write nor invent one for a write
that never happened. Each stream has one shard; sequence numbers come from
one increasing counter (commit order), shown as 21-digit strings.

https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Streams.html
"""

from __future__ import annotations

import base64
import hashlib
import math
import uuid
from typing import TYPE_CHECKING, Any

import orjson

from emulator.dynamodb.core import Item, dumps, loads
from emulator.dynamodb.lifecycle.common import (
    WRITER_IDENTITY,
    arn_region,
    iso,
    visible_here,
    wire_time,
)
from emulator.dynamodb.tables import Table
from emulator.dynamodb.types import item_size
from emulator.errors import AwsError

if TYPE_CHECKING:
    from emulator.dynamodb.lifecycle import Lifecycle

RETENTION = 24 * 3600  # records are kept 24 hours
ITERATOR_TTL = 15 * 60  # a shard iterator expires 15 minutes after it is returned
SEQ_BASE = 10**20  # sequence numbers are shown with 21 digits
KIND = "stream"


def seq_str(seq: int) -> str:
    return str(SEQ_BASE + seq)


def seq_int(text: Any) -> int:
    if not isinstance(text, str) or not text.isdigit() or len(text) > 40:
        raise AwsError("ValidationException", f"Invalid SequenceNumber: {text}", 400)
    return int(text) - SEQ_BASE


def validation(message: str) -> AwsError:
    return AwsError("ValidationException", message, 400)


def stream_not_found(arn: Any) -> AwsError:
    return AwsError("ResourceNotFoundException", f"Requested resource not found: Stream: {arn} not found", 400)


class Streams:
    def __init__(self, lc: Lifecycle) -> None:
        self.lc = lc
        self.storage = lc.storage
        self._known: set[str] = set()

    # ------------------------------------------------------------- writing
    @staticmethod
    def arn(table: Table) -> str | None:
        st = table.stream
        if not st or not st.get("enabled") or not st.get("label"):
            return None
        return f"{table.arn}/stream/{st['label']}"

    def _register(self, table: Table, arn: str) -> None:
        if arn in self._known:
            return
        if self.storage.meta_get(KIND, arn) is None:
            assert table.stream is not None
            self.storage.meta_put(
                KIND,
                arn,
                {
                    "arn": arn,
                    "table": table.name,
                    "table_uuid": table.table_uuid,
                    "label": table.stream["label"],
                    "view_type": table.stream["view_type"],
                    "created": self.lc.clock(),
                    "key_schema": table.key_schema(),
                    "trimmed": 0,
                },
            )
        self._known.add(arn)

    def record(self, table: Table, old: Item | None, new: Item | None, now: float) -> None:
        """Called inside the write transaction (the item changed)."""
        kinesis = self.lc.kinesis
        if table.table_uuid in kinesis.live:  # Kinesis destinations: recorded in the same transaction
            kinesis.record(table, old, new, now)
        arn = self.arn(table)
        if arn is None:
            return
        self._register(table, arn)
        assert table.stream is not None
        view = table.stream["view_type"]
        image = new if new is not None else old
        assert image is not None
        keys = {k: image[k] for k in table.key_names if k in image}
        ddb: dict[str, Any] = {"Keys": keys}
        size = item_size(keys)
        if new is not None and view in ("NEW_IMAGE", "NEW_AND_OLD_IMAGES"):
            ddb["NewImage"] = new
            size += item_size(new)
        if old is not None and view in ("OLD_IMAGE", "NEW_AND_OLD_IMAGES"):
            ddb["OldImage"] = old
            size += item_size(old)
        ddb["SizeBytes"] = size
        ddb["StreamViewType"] = view
        event = "INSERT" if old is None else "REMOVE" if new is None else "MODIFY"
        rec: dict[str, Any] = {"eventID": uuid.uuid4().hex, "eventName": event, "dynamodb": ddb}
        identity = WRITER_IDENTITY.get()
        if identity is not None:
            rec["userIdentity"] = dict(identity)
        self.storage.stream_append(arn, now, dumps(rec))

    # --------------------------------------------------------------- reset
    def forget(self) -> None:
        """Drop the cache of registered streams (their records went with a storage reset)."""
        self._known.clear()

    def reset(self) -> None:
        """DynamoDB Streams reset on its own: every stream record and stream record-keeping
        goes; the tables (the dynamodb service's) stay, and a table whose stream is
        enabled shows it again, empty, from its next write or Streams call."""
        with self.storage.transaction():
            for arn, _meta in self.storage.meta_list(KIND):
                self.storage.stream_trim(arn, 2**62)
                self.storage.meta_delete(KIND, arn)
        self.forget()

    # ------------------------------------------------------------ metadata
    def sync(self) -> None:
        """Register the current stream of every table (one may have no records yet)."""
        for table in list(self.lc.engine.tables.values()):
            arn = self.arn(table)
            if arn is not None and arn not in self._known:
                with self.storage.transaction():
                    self._register(table, arn)

    def _status(self, meta: dict[str, Any]) -> str:
        # The stream's table: the one of its name in the stream's region (in its ARN).
        table = self.lc.engine.tables.get((arn_region(meta["arn"]), meta["table"]))
        if table is not None and table.table_uuid == meta["table_uuid"] and self.arn(table) == meta["arn"]:
            return "ENABLED"
        if not meta.get("disabled_at"):
            # First time seen disabled: remember when, for the 24-hour retention.
            meta["disabled_at"] = self.lc.clock()
            self.storage.meta_put(KIND, meta["arn"], meta)
        return "DISABLED"

    def _meta(self, arn: Any) -> dict[str, Any]:
        if not isinstance(arn, str) or not arn.startswith("arn:") or "/stream/" not in arn:
            raise validation(f"Invalid StreamArn: {arn}")
        if not visible_here(arn):
            raise stream_not_found(arn)  # streams are regional: another region's is not visible here
        self.sync()
        meta = self.storage.meta_get(KIND, arn)
        if meta is None:
            raise stream_not_found(arn)
        return meta

    @staticmethod
    def shard_id(meta: dict[str, Any]) -> str:
        digest = hashlib.sha256(meta["arn"].encode()).hexdigest()[:8]
        return f"shardId-{int(meta['created'] * 1000):020d}-{digest}"

    # ------------------------------------------------------------ API
    def list_streams(self, params: dict[str, Any]) -> dict[str, Any]:
        limit = params.get("Limit", 100)
        if not isinstance(limit, int) or not 1 <= limit <= 100:
            raise validation(f"1 validation error detected: Value '{limit}' at 'limit' failed to satisfy constraint: Member must have value between 1 and 100")
        name = params.get("TableName")
        self.sync()
        # The request's region only: streams are regional, as their tables.
        region = self.lc.engine.current_region()
        metas = [m for _, m in self.storage.meta_list(KIND) if arn_region(m["arn"]) == region]
        if name is not None:
            metas = [m for m in metas if m["table"] == name]
            if not metas and (region, name) not in self.lc.engine.tables:
                raise AwsError("ResourceNotFoundException", f"Requested resource not found: Table: {name} not found", 400)
        metas.sort(key=lambda m: (m["created"], m["arn"]))
        start = params.get("ExclusiveStartStreamArn")
        if start is not None:
            arns = [m["arn"] for m in metas]
            metas = metas[arns.index(start) + 1 :] if start in arns else []
        out: dict[str, Any] = {"Streams": [{"StreamArn": m["arn"], "TableName": m["table"], "StreamLabel": m["label"]} for m in metas[:limit]]}
        if len(metas) > limit:
            out["LastEvaluatedStreamArn"] = metas[limit - 1]["arn"]
        return out

    def describe_stream(self, params: dict[str, Any]) -> dict[str, Any]:
        meta = self._meta(params.get("StreamArn"))
        status = self._status(meta)
        first, last = self.storage.stream_bounds(meta["arn"])
        rng: dict[str, str] = {}
        start = first if first is not None else (int(meta.get("trimmed", 0)) + 1)
        rng["StartingSequenceNumber"] = seq_str(start)
        if status == "DISABLED":
            rng["EndingSequenceNumber"] = seq_str(last if last is not None else start)
        shards = [{"ShardId": self.shard_id(meta), "SequenceNumberRange": rng}]
        exclusive = params.get("ExclusiveStartShardId")
        if exclusive is not None and exclusive == shards[0]["ShardId"]:
            shards = []
        return {
            "StreamDescription": {
                "StreamArn": meta["arn"],
                "StreamLabel": meta["label"],
                "StreamStatus": status,
                "StreamViewType": meta["view_type"],
                "CreationRequestDateTime": wire_time(meta["created"]),
                "TableName": meta["table"],
                "KeySchema": meta["key_schema"],
                "Shards": shards,
            }
        }

    def _iterator(self, arn: str, shard: str, after: int, horizon: bool = False) -> str:
        body = {"s": shard, "p": after, "t": self.lc.clock(), "h": horizon}
        return f"{arn}|1|" + base64.urlsafe_b64encode(orjson.dumps(body)).decode()

    def get_shard_iterator(self, params: dict[str, Any]) -> dict[str, Any]:
        meta = self._meta(params.get("StreamArn"))
        shard = params.get("ShardId")
        if shard != self.shard_id(meta):
            raise AwsError("ResourceNotFoundException", f"Requested resource not found: Shard does not exist: {shard}", 400)
        kind = params.get("ShardIteratorType")
        _first, last = self.storage.stream_bounds(meta["arn"])
        trimmed = int(meta.get("trimmed", 0))
        if kind == "TRIM_HORIZON":
            return {"ShardIterator": self._iterator(meta["arn"], shard, trimmed, horizon=True)}
        if kind == "LATEST":
            return {"ShardIterator": self._iterator(meta["arn"], shard, last if last is not None else trimmed)}
        if kind not in ("AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER"):
            raise validation(
                f"1 validation error detected: Value '{kind}' at 'shardIteratorType' failed to satisfy constraint: "
                "Member must satisfy enum value set: [AFTER_SEQUENCE_NUMBER, LATEST, AT_SEQUENCE_NUMBER, TRIM_HORIZON]"
            )
        if params.get("SequenceNumber") is None:
            raise validation(f"A sequence number is required for shard iterator type {kind}")
        seq = seq_int(params["SequenceNumber"])
        if seq <= trimmed:
            raise AwsError(
                "TrimmedDataAccessException",
                f"Attempted to access data in shard {shard} with sequence number {params['SequenceNumber']} that is beyond the trim horizon (retention period).",
                400,
            )
        if last is None or seq > last:
            raise validation(f"Invalid SequenceNumber {params['SequenceNumber']} for shard {shard}: it is beyond the last record of the shard")
        after = seq - 1 if kind == "AT_SEQUENCE_NUMBER" else seq
        return {"ShardIterator": self._iterator(meta["arn"], shard, after)}

    def _decode(self, token: Any) -> tuple[str, dict[str, Any]]:
        try:
            arn, version, body = str(token).rsplit("|", 2)
            if version != "1":
                raise ValueError(version)
            state = orjson.loads(base64.urlsafe_b64decode(body.encode()))
            if not isinstance(state, dict) or not {"s", "p", "t"} <= state.keys():
                raise ValueError(state)
        except (ValueError, TypeError, orjson.JSONDecodeError) as exc:
            raise validation("Invalid ShardIterator") from exc
        return arn, state

    def get_records(self, params: dict[str, Any]) -> dict[str, Any]:
        arn, state = self._decode(params.get("ShardIterator"))
        limit = params.get("Limit", 1000)
        if not isinstance(limit, int) or not 1 <= limit <= 1000:
            raise validation(f"1 validation error detected: Value '{limit}' at 'limit' failed to satisfy constraint: Member must have value between 1 and 1000")
        now = self.lc.clock()
        issued = float(state["t"])
        if now - issued > ITERATOR_TTL:
            raise AwsError(
                "ExpiredIteratorException",
                f"Iterator expired. The iterator was created at time {iso(issued)} while right now it is {iso(now)} "
                f"which is further in the future than the tolerated delay of {ITERATOR_TTL * 1000} milliseconds.",
                400,
            )
        meta = self.storage.meta_get(KIND, arn) if visible_here(arn) else None
        if meta is None:
            raise stream_not_found(arn)
        after = int(state["p"])
        trimmed = int(meta.get("trimmed", 0))
        if after < trimmed:
            if not state.get("h"):
                raise AwsError(
                    "TrimmedDataAccessException",
                    "The operation attempted to read past the oldest stream record in a shard (the records were trimmed after the retention period).",
                    400,
                )
            after = trimmed
        status = self._status(meta)
        rows = self.storage.stream_read(arn, after, limit)
        region = arn.split(":")[3]
        records = []
        for seq, created, data in rows:
            rec = loads(data)
            ddb = rec["dynamodb"]
            out_ddb: dict[str, Any] = {"ApproximateCreationDateTime": float(math.floor(created))}
            out_ddb.update(ddb)
            out_ddb["SequenceNumber"] = seq_str(seq)
            out: dict[str, Any] = {
                "eventID": rec["eventID"],
                "eventName": rec["eventName"],
                "eventVersion": "1.1",
                "eventSource": "aws:dynamodb",
                "awsRegion": region,
                "dynamodb": out_ddb,
            }
            if "userIdentity" in rec:
                out["userIdentity"] = rec["userIdentity"]
            records.append(out)
            after = seq
        result: dict[str, Any] = {"Records": records}
        if status == "DISABLED" and len(rows) < limit:
            return result  # a closed shard read to its end has no next iterator
        result["NextShardIterator"] = self._iterator(arn, state["s"], after)
        return result

    # ------------------------------------------------------- housekeeping
    def housekeeping(self) -> None:
        """Trim records past the 24-hour retention; forget streams disabled 24 hours ago."""
        cutoff = self.lc.clock() - RETENTION
        for arn, meta in self.storage.meta_list(KIND):
            if self._status(meta) == "DISABLED" and meta.get("disabled_at") and meta["disabled_at"] < cutoff:
                with self.storage.transaction():
                    self.storage.stream_trim(arn, 2**62)
                    self.storage.meta_delete(KIND, arn)
                self._known.discard(arn)
                continue
            # Remember the highest trimmed sequence number, so an iterator pointing
            # below it gets TrimmedDataAccessException instead of silently skipping.
            top = int(meta.get("trimmed", 0))
            while True:
                rows = self.storage.stream_read(arn, top, 1000)
                old = [seq for seq, created, _ in rows if created < cutoff]
                if not old:
                    break
                top = old[-1]
                if len(old) < len(rows):
                    break
            if top > int(meta.get("trimmed", 0)):
                with self.storage.transaction():
                    meta["trimmed"] = top
                    self.storage.meta_put(KIND, arn, meta)
                    self.storage.stream_trim(arn, top)
