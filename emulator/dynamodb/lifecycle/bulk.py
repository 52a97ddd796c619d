"""Bulk operations: StartBulkPutItems, DescribeBulkOperation, ListBulkOperations,
CancelBulkOperation.

A bulk put reads every object under ``InputS3Configuration`` (s3objects.ObjectStore: a bucket
of moto's S3, else the local "S3" folder) and writes its items into an existing table through
the engine's write path (indexes, streams, PITR history, Kinesis destinations and global table
replicas see every item), a batch of records per storage transaction. Each batch commits the
operation's record (status, counts, where in the input it is) in the same transaction as its
items, so a restart resumes right after the last committed batch and the counts always match
the items written. Records that cannot be parsed or are not valid items are counted
(FailedItemCount) and, with ``OutputType`` ERROR, written as JSON lines to
``OutputS3Configuration`` (``<S3KeyPrefix>/AWSDynamoDB/<operation id>/errors/<n>.json``).

The input is DYNAMODB_JSON: JSON lines ``{"Item": {...}}``, as ImportTable reads (exports.py).
The records carry no condition, so no write fails a condition check and CONDITION_CHECK_FAILURE
output is never written. ION input and ZSTD compression are refused (ValidationException): no
parser for them is installed here.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from typing import TYPE_CHECKING, Any

import orjson

from emulator.dynamodb.core import Item, ItemKey, write_units
from emulator.dynamodb.lifecycle.common import arn_region, visible_here, wire_time
from emulator.dynamodb.lifecycle.exports import json_records
from emulator.dynamodb.lifecycle.s3objects import S3Object, decompress, invalid
from emulator.dynamodb.tables import Table
from emulator.dynamodb.types import item_size
from emulator.errors import AwsError

if TYPE_CHECKING:
    from emulator.dynamodb.lifecycle import Lifecycle

log = logging.getLogger("emulator.dynamodb.lifecycle")

BULK_KIND = "bulk"
INPUT_KIND = "bulk-input"  # the object list of an operation, written once when it is made
BATCH = 500  # records per storage transaction
MAX_RUNNING = 50  # operations in progress at once, per account and region
TOKEN_TTL = 8 * 3600  # how long a ClientToken names its operation
RETENTION = 90 * 86400  # ListBulkOperations shows operations of the past 90 days
RUNNING = ("IN_PROGRESS", "CANCELLING")
CANCEL_CODE = "BulkOperationCancelled"

_FORMATS = ("DYNAMODB_JSON", "ION")
_COMPRESSIONS = ("GZIP", "ZSTD", "NONE")
_TIERS = ("STANDARD", "ACCELERATED")
_OUTPUT_TYPES = ("ERROR", "CONDITION_CHECK_FAILURE")
_SSE = ("AES256", "KMS")


def _enum(value: Any, allowed: tuple[str, ...], member: str) -> None:
    if value not in allowed:
        raise invalid(f"1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: Member must satisfy enum value set: [{', '.join(allowed)}]")


def _required(value: Any, member: str) -> None:
    if value is None:
        raise invalid(f"1 validation error detected: Value null at '{member}' failed to satisfy constraint: Member must not be null")


def _not_found(arn: Any) -> AwsError:
    return AwsError("ResourceNotFoundException", f"Requested resource not found: Bulk operation not found: {arn}", 400)


def _clean(config: Any) -> dict[str, Any]:
    return {k: v for k, v in (config or {}).items() if v is not None}


def _encode_token(start: float, arn: str) -> str:
    """A NextToken naming the last operation of a page; the model's pattern wants hex in
    groups of 16 digits."""
    raw = orjson.dumps([start, arn]).hex()
    return raw + "0" * (-len(raw) % 16)


def _decode_token(token: Any) -> tuple[float, str]:
    try:
        text = str(token)
        if len(text) % 16:
            raise ValueError(token)
        raw = bytes.fromhex(text).rstrip(b"\0")
        start, arn = orjson.loads(raw)
        return float(start), str(arn)
    except (ValueError, TypeError, orjson.JSONDecodeError):
        raise invalid(f"Invalid NextToken: {token}") from None


class BulkOperations:
    def __init__(self, lc: Lifecycle) -> None:
        self.lc = lc
        self.storage = lc.storage
        self.tasks: dict[str, asyncio.Task[None]] = {}
        # The records of running operations: the one dict the worker and CancelBulkOperation share.
        self.live: dict[str, dict[str, Any]] = {}

    # ---------------------------------------------------------- running
    def _spawn(self, meta: dict[str, Any]) -> None:
        arn = meta["arn"]
        self.live[arn] = meta
        task = asyncio.get_running_loop().create_task(self._run(meta), name=f"bulk {meta['id']}")
        self.tasks[arn] = task

        def done(_task: asyncio.Task[None]) -> None:
            if self.tasks.get(arn) is task:
                del self.tasks[arn]
                self.live.pop(arn, None)

        task.add_done_callback(done)

    def resume(self) -> None:
        """At start: the operations a stop or crash interrupted go on from their last
        committed batch; one being cancelled ends CANCELLED."""
        for _key, meta in self.storage.meta_list(BULK_KIND):
            if meta["status"] == "IN_PROGRESS":
                self._spawn(meta)
            elif meta["status"] == "CANCELLING":
                self._end(meta, "CANCELLED")
                with self.storage.transaction():
                    self.storage.meta_put(BULK_KIND, meta["arn"], meta)

    async def stop(self) -> None:
        tasks = list(self.tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self.tasks.clear()
        self.live.clear()

    def housekeeping(self) -> None:
        """Operations ended more than 90 days ago are forgotten (ListBulkOperations no longer
        shows them either)."""
        horizon = self.lc.clock() - RETENTION
        old = [m for _, m in self.storage.meta_list(BULK_KIND) if m["status"] not in RUNNING and m["start"] < horizon]
        if old:
            self.lc.engine.begin_group()
            with self.storage.transaction():
                for m in old:
                    self.storage.meta_delete(BULK_KIND, m["arn"])
                    self.storage.meta_delete(INPUT_KIND, m["arn"])

    def _regional(self) -> list[dict[str, Any]]:
        region = self.lc.engine.current_region()
        return [m for _, m in self.storage.meta_list(BULK_KIND) if arn_region(m["arn"]) == region]

    def _meta(self, arn: Any) -> dict[str, Any]:
        if not isinstance(arn, str) or not arn:
            _required(None, "bulkOperationArn")
        meta = self.live.get(arn) or self.storage.meta_get(BULK_KIND, arn)
        if meta is None or not visible_here(meta["arn"]):
            raise _not_found(arn)  # another region's operation is not visible from this one
        return meta

    # ------------------------------------------------------- description
    def description(self, m: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {
            "BulkOperationArn": m["arn"],
            "BulkOperationStatus": m["status"],
            "TableDetails": [{"TableName": m["table_arn"], "TableId": m["table_id"]}],
            "InputS3Configuration": m["input"],
            "OutputS3Configuration": m["output"],
            "StartTime": wire_time(m["start"]),
            "ProcessedItemCount": m["processed"],
            "ProcessedInputBytes": m["bytes"],
            "FailedItemCount": m["failed"],
            "PerformanceTier": m["tier"],
        }
        if m.get("client_token"):
            out["ClientToken"] = m["client_token"]
        if m.get("total") is not None:
            out["TotalInputBytes"] = m["total"]
        if m.get("max_wru") is not None:
            out["MaxWriteRequestUnits"] = m["max_wru"]
        usage = m["usage"]
        entry: dict[str, Any] = {
            "TableName": m["table_arn"],
            "BulkPutBytes": usage["table"] + sum(usage["gsi"].values()) + sum(usage["lsi"].values()),
            "Table": {"BulkPutBytes": usage["table"]},
        }
        if usage["gsi"]:
            entry["GlobalSecondaryIndexes"] = {k: {"BulkPutBytes": v} for k, v in usage["gsi"].items()}
        if usage["lsi"]:
            entry["LocalSecondaryIndexes"] = {k: {"BulkPutBytes": v} for k, v in usage["lsi"].items()}
        out["BulkOperationUsage"] = [entry]
        if m["status"] not in RUNNING:
            out["EndTime"] = wire_time(m["end"])
        if m["status"] in ("FAILED", "CANCELLED"):
            out["FailureCode"] = m.get("failure_code") or "UNKNOWN"
            out["FailureMessage"] = m.get("failure_message") or ""
        return out

    # ------------------------------------------------------------ start
    @staticmethod
    def _request(params: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any], int | None, str]:
        """The checked input and output configurations, MaxWriteRequestUnits, PerformanceTier."""
        _required(params.get("TableName"), "tableName")
        source = params.get("InputS3Configuration")
        _required(source, "inputS3Configuration")
        target = params.get("OutputS3Configuration")
        _required(target, "outputS3Configuration")
        source, target = _clean(source), _clean(target)
        _required(source.get("S3Bucket"), "inputS3Configuration.s3Bucket")
        _required(source.get("InputFormat"), "inputS3Configuration.inputFormat")
        _enum(source["InputFormat"], _FORMATS, "inputS3Configuration.inputFormat")
        compression = source.get("InputCompressionType", "NONE")
        _enum(compression, _COMPRESSIONS, "inputS3Configuration.inputCompressionType")
        _required(target.get("OutputType"), "outputS3Configuration.outputType")
        if not isinstance(target["OutputType"], list) or not target["OutputType"]:
            raise invalid("OutputType must list at least one of ERROR, CONDITION_CHECK_FAILURE")
        for i, kind in enumerate(target["OutputType"]):
            _enum(kind, _OUTPUT_TYPES, f"outputS3Configuration.outputType.{i + 1}.member")
        if target.get("S3Bucket") is None:
            raise invalid("OutputS3Configuration.S3Bucket is required")
        if "S3SseAlgorithm" in target:
            _enum(target["S3SseAlgorithm"], _SSE, "outputS3Configuration.s3SseAlgorithm")
        if target.get("S3SseKmsKeyId") is not None and target.get("S3SseAlgorithm") != "KMS":
            raise invalid("S3SseKmsKeyId can only be specified when S3SseAlgorithm is KMS")
        max_wru = params.get("MaxWriteRequestUnits")
        if max_wru is not None and (not isinstance(max_wru, int) or isinstance(max_wru, bool) or max_wru < 1024):
            raise invalid(f"1 validation error detected: Value '{max_wru}' at 'maxWriteRequestUnits' failed to satisfy constraint: Member must have value greater than or equal to 1024")
        tier = params.get("PerformanceTier") or "STANDARD"
        _enum(tier, _TIERS, "performanceTier")
        # What this server cannot read is refused before anything is accepted.
        if source["InputFormat"] == "ION":
            raise invalid("Unsupported InputFormat: ION. This emulator reads DYNAMODB_JSON bulk input")
        if compression == "ZSTD":
            raise invalid("Unsupported InputCompressionType: ZSTD. This emulator reads GZIP and NONE")
        return source, target, max_wru, tier

    def start_bulk_put_items(self, params: dict[str, Any]) -> dict[str, Any]:
        source, target, max_wru, tier = self._request(params)
        store = self.lc.objects
        store.path(source["S3Bucket"], str(source.get("S3KeyPrefix") or ""))
        store.path(target["S3Bucket"], str(target.get("S3KeyPrefix") or ""))
        engine = self.lc.engine
        table = engine.table(params["TableName"])
        now = self.lc.clock()
        token = params.get("ClientToken")
        regional = self._regional()
        request = {"table": table.arn, "input": source, "output": target, "max_wru": max_wru, "tier": tier}
        if token:
            for m in regional:
                if m.get("client_token") == token and now - m["start"] < TOKEN_TTL:
                    if m["request"] != request:
                        raise AwsError("IdempotentParameterMismatchException", f"ClientToken {token} was used with different parameters", 400)
                    return {"BulkOperationDescription": self.description(self.live.get(m["arn"], m))}
        if table.status != "ACTIVE":
            raise AwsError("ResourceInUseException", f"Attempt to change a resource which is still in use: Table is being {table.status.lower()}: {table.name}", 400)
        if sum(1 for m in regional if m["status"] in RUNNING) >= MAX_RUNNING:
            raise AwsError("LimitExceededException", f"Subscriber limit exceeded: Only {MAX_RUNNING} bulk operations can be in progress at once", 400)
        op_id = f"{int(now * 1000):014d}-{uuid.uuid4().hex[:8]}"
        meta: dict[str, Any] = {
            "arn": f"{table.arn}/bulk-operation/{op_id}",
            "id": op_id,
            "status": "IN_PROGRESS",
            "table_arn": table.arn,
            "table_id": table.table_uuid,
            "table_name": table.name,
            "region": table.region,
            "client_token": token,
            "request": request,
            "input": source,
            "output": target,
            "max_wru": max_wru,
            "tier": tier,
            "start": now,
            "processed": 0,
            "failed": 0,
            "bytes": 0,
            "total": None,
            "usage": {"table": 0, "gsi": {}, "lsi": {}},
            "object_errors": 0,
            "progress": {"object": 0, "line": 0, "batch": 0, "object_bytes": 0},
        }
        with self.storage.transaction():
            self.storage.meta_put(BULK_KIND, meta["arn"], meta)
        self._spawn(meta)
        return {"BulkOperationDescription": self.description(meta)}

    # --------------------------------------------------- describe / list
    def describe_bulk_operation(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"BulkOperationDescription": self.description(self._meta(params.get("BulkOperationArn")))}

    def list_bulk_operations(self, params: dict[str, Any]) -> dict[str, Any]:
        size = params.get("MaxResults")
        if size is None:
            size = 10
        if not isinstance(size, int) or isinstance(size, bool) or not 1 <= size <= 25:
            raise invalid(f"1 validation error detected: Value '{size}' at 'maxResults' failed to satisfy constraint: Member must have value between 1 and 25")
        horizon = self.lc.clock() - RETENTION
        metas = [self.live.get(m["arn"], m) for m in self._regional() if m["start"] >= horizon]
        # Most recent first.
        metas.sort(key=lambda m: (m["start"], m["arn"]), reverse=True)
        if params.get("NextToken") is not None:
            after = _decode_token(params["NextToken"])
            metas = [m for m in metas if (m["start"], m["arn"]) < after]
        page = metas[:size]
        summaries = []
        for m in page:
            s: dict[str, Any] = {"BulkOperationArn": m["arn"], "BulkOperationStatus": m["status"], "StartTime": wire_time(m["start"])}
            if m["status"] not in RUNNING:
                s["EndTime"] = wire_time(m["end"])
            summaries.append(s)
        out: dict[str, Any] = {"BulkOperationsSummaryList": summaries}
        if len(metas) > size:
            out["NextToken"] = _encode_token(page[-1]["start"], page[-1]["arn"])
        return out

    # ------------------------------------------------------------ cancel
    def cancel_bulk_operation(self, params: dict[str, Any]) -> dict[str, Any]:
        meta = self._meta(params.get("BulkOperationArn"))
        if meta["status"] == "IN_PROGRESS":
            meta["status"] = "CANCELLING"
            if meta["arn"] not in self.tasks:
                self._end(meta, "CANCELLED")  # nothing runs it (cannot happen while serving): ended now
            with self.storage.transaction():
                self.storage.meta_put(BULK_KIND, meta["arn"], meta)
            # The worker sees it before its next batch, and ends the operation CANCELLED.
            return {"BulkOperationArn": meta["arn"], "BulkOperationStatus": "CANCELLING"}
        if meta["status"] == "CANCELLING":
            return {"BulkOperationArn": meta["arn"], "BulkOperationStatus": "CANCELLING"}
        raise invalid(f"Bulk operation {meta['arn']} cannot be cancelled: its status is {meta['status']}")

    # ------------------------------------------------------------ worker
    def _end(self, meta: dict[str, Any], status: str, code: str | None = None, message: str | None = None) -> None:
        meta["status"] = status
        meta["end"] = self.lc.clock()
        if status == "CANCELLED":
            code, message = CANCEL_CODE, "The bulk operation was cancelled by a CancelBulkOperation request"
        if code is not None:
            meta["failure_code"], meta["failure_message"] = code, message or ""

    def _table(self, meta: dict[str, Any]) -> Table:
        table = self.lc.engine.tables.get((meta["region"], meta["table_name"]))
        if table is None or table.table_uuid != meta["table_id"]:
            raise _Failure("ResourceNotFound", f"Table {meta['table_name']} was deleted while the bulk operation ran")
        return table

    async def _objects(self, meta: dict[str, Any]) -> list[S3Object]:
        saved = self.storage.meta_get(INPUT_KIND, meta["arn"])
        if saved is not None:
            return [S3Object(k, s) for k, s in saved["objects"]]
        source = meta["input"]
        bucket, prefix = source["S3Bucket"], str(source.get("S3KeyPrefix") or "")
        objects = await self.lc.objects.list_objects(bucket, prefix)
        if not objects:
            raise _Failure("S3NoObjects", f"No objects found under s3://{bucket}/{prefix}")
        meta["total"] = sum(o.size for o in objects)
        self.lc.engine.begin_group()
        try:
            with self.storage.transaction():
                self.storage.meta_put(INPUT_KIND, meta["arn"], {"objects": [[o.key, o.size] for o in objects]})
                self.storage.meta_put(BULK_KIND, meta["arn"], meta)
        finally:
            await self.lc.engine.durable()
        return objects

    async def _run(self, meta: dict[str, Any]) -> None:
        engine = self.lc.engine
        try:
            objects = await self._objects(meta)
            pacer = _Pacer(meta.get("max_wru"))
            progress = meta["progress"]
            while progress["object"] < len(objects) and meta["status"] == "IN_PROGRESS":
                obj = objects[progress["object"]]
                await self._object(meta, obj, pacer)
            if meta["status"] == "CANCELLING":
                self._end(meta, "CANCELLED")
            else:
                self._end(meta, "COMPLETED_WITH_ERRORS" if meta["failed"] or meta["object_errors"] else "COMPLETED")
        except asyncio.CancelledError:
            raise  # the server stops (or resets): the operation resumes at the next start
        except _Failure as exc:
            log.warning("bulk operation %s failed: %s", meta["arn"], exc.message)
            self._end(meta, "CANCELLED" if meta["status"] == "CANCELLING" else "FAILED", exc.code, exc.message)
        except Exception as exc:  # reported as a failed operation, as DynamoDB does
            log.exception("bulk operation %s failed", meta["arn"])
            self._end(meta, "CANCELLED" if meta["status"] == "CANCELLING" else "FAILED", "InternalError", str(exc))
        engine.begin_group()
        try:
            with self.storage.transaction():
                self.storage.meta_put(BULK_KIND, meta["arn"], meta)
        finally:
            await engine.durable()

    async def _object(self, meta: dict[str, Any], obj: S3Object, pacer: _Pacer) -> None:
        """Process one input object from where the last committed batch left it."""
        source = meta["input"]
        progress = meta["progress"]
        try:
            raw = await self.lc.objects.read(source["S3Bucket"], obj.key)
            data = await asyncio.to_thread(decompress, raw, source.get("InputCompressionType", "NONE"))
            records = list(json_records(data))
        except (OSError, ValueError) as exc:
            # The object cannot be read as the configuration says: reported, and the others go on.
            errors = [{"ErrorCode": "InvalidInputObject", "ErrorMessage": str(exc), "S3Bucket": source["S3Bucket"], "S3Key": obj.key}]
            await self._commit(meta, [], errors, obj, done=True, read_to=obj.size, object_error=True)
            return
        skipped = sum(1 for r in records if r[0] <= progress["line"])
        pending = records[skipped:]
        if not pending:
            await self._commit(meta, [], [], obj, done=True, read_to=obj.size)
            return
        size = BATCH if meta.get("max_wru") is None else max(25, min(BATCH, meta["max_wru"] // 4))
        for start in range(0, len(pending), size):
            if meta["status"] != "IN_PROGRESS":
                return  # cancelled: the worker ends the operation
            batch = pending[start : start + size]
            last = start + size >= len(pending)
            # ProcessedInputBytes: the share of the object's (stored) bytes its records so far make.
            read_to = obj.size if last else obj.size * (skipped + start + len(batch)) // len(records)
            units = await self._commit(meta, batch, None, obj, done=last, read_to=read_to)
            await pacer.wait(units, lambda: meta["status"] != "IN_PROGRESS")

    async def _commit(
        self,
        meta: dict[str, Any],
        batch: list[tuple[int, bytes, Item | None, str | None]],
        errors: list[dict[str, Any]] | None,
        obj: S3Object,
        *,
        done: bool,
        read_to: int,
        object_error: bool = False,
    ) -> float:
        """Write one batch of records and the operation's new record in one transaction;
        returns the write request units it used."""
        engine = self.lc.engine
        table = self._table(meta)
        bucket = meta["input"]["S3Bucket"]
        errors = list(errors or [])
        items: list[tuple[int, bytes, Item, ItemKey]] = []
        for number, line, item, problem in batch:
            if item is not None:
                try:
                    key = engine.key_from_item(table, item)
                    engine.check_item_size(item)
                    engine.check_index_keys(table, item)
                    items.append((number, line, item, key))
                    continue
                except AwsError as exc:
                    problem = exc.message
            errors.append({"ErrorCode": "ValidationException", "ErrorMessage": problem, "S3Bucket": bucket, "S3Key": obj.key, "LineNumber": number, "Record": line.decode("utf-8", "replace")})
        # The error output goes first (named by batch number: a batch done again after a
        # crash writes the same object again), so that no committed count lacks its report.
        progress = meta["progress"]
        if errors and "ERROR" in meta["output"]["OutputType"]:
            await self._report(meta, progress["batch"], errors)
            table = self._table(meta)  # still there after the await
        units = 0.0
        usage = meta["usage"]

        def apply(item: Item, key: ItemKey) -> None:
            nonlocal units
            old = engine.get_item_raw(table, key)
            size = item_size(item)
            engine.write(table, ItemKey(key.pk, key.sk, {}), old, item, new_size=size)
            units += write_units(size)
            usage["table"] += size
            for idx in table.indexes:
                if engine.index_row_key(table, idx, item, key) is not None:
                    group = usage["lsi"] if idx.name in table.lsis else usage["gsi"]
                    group[idx.name] = group.get(idx.name, 0) + item_size(engine.project(idx, item))

        def save() -> None:
            meta["processed"] += len(batch)
            # An unreadable object fails no item (it has none that could be counted).
            meta["failed"] += 0 if object_error else len(errors)
            meta["object_errors"] += 1 if object_error else 0
            meta["bytes"] += read_to - progress.get("object_bytes", 0)
            progress["object_bytes"] = read_to
            if batch:
                progress["line"] = batch[-1][0]
            if done:
                progress["object"] += 1
                progress["line"] = 0
                progress["object_bytes"] = 0
            progress["batch"] += 1
            self.storage.meta_put(BULK_KIND, meta["arn"], meta)

        snapshot = orjson.loads(orjson.dumps({k: meta[k] for k in ("usage", "progress", "processed", "failed", "object_errors", "bytes")}))
        engine.begin_group()
        try:
            try:
                with self.storage.transaction():
                    for _number, _line, item, key in items:
                        apply(item, key)
                    save()
            except AwsError:
                # An item the engine refused while writing (an item collection over its size
                # limit): the batch is rolled back and done again one item per transaction,
                # so that only the refused items are left out.
                for name, value in snapshot.items():
                    if isinstance(value, dict):  # in place: the callers hold these dicts
                        meta[name].clear()
                        meta[name].update(value)
                    else:
                        meta[name] = value
                units = 0.0
                late: list[dict[str, Any]] = []
                for number, line, item, key in items:
                    try:
                        with self.storage.transaction():
                            apply(item, key)
                    except AwsError as exc:
                        late.append({"ErrorCode": exc.code, "ErrorMessage": exc.message, "S3Bucket": bucket, "S3Key": obj.key, "LineNumber": number, "Record": line.decode("utf-8", "replace")})
                if late and "ERROR" in meta["output"]["OutputType"]:
                    await self._report(meta, progress["batch"], errors + late)
                errors.extend(late)
                with self.storage.transaction():
                    save()
        finally:
            await engine.durable()
        return units

    async def _report(self, meta: dict[str, Any], batch: int, errors: list[dict[str, Any]]) -> None:
        target = meta["output"]
        prefix = str(target.get("S3KeyPrefix") or "").strip("/")
        key = (prefix + "/" if prefix else "") + f"AWSDynamoDB/{meta['id']}/errors/{batch:08d}.json"
        body = b"".join(orjson.dumps(e) + b"\n" for e in errors)
        try:
            await self.lc.objects.write(target["S3Bucket"], key, body, target.get("S3SseAlgorithm"), target.get("S3SseKmsKeyId"))
        except (OSError, AwsError) as exc:
            raise _Failure("S3WriteFailed", f"Could not write the error output to s3://{target['S3Bucket']}/{key}: {exc}") from exc


class _Failure(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class _Pacer:
    """Keeps the operation under MaxWriteRequestUnits per second (none: as fast as it goes)."""

    def __init__(self, limit: int | None) -> None:
        self.limit = limit
        self.began = time.monotonic()
        self.units = 0.0

    async def wait(self, units: float, stop: Any) -> None:
        if not self.limit:
            await asyncio.sleep(0)  # requests are served between batches
            return
        self.units += units
        due = self.began + self.units / self.limit
        while not stop():
            left = due - time.monotonic()
            if left <= 0:
                return
            await asyncio.sleep(min(left, 0.1))
