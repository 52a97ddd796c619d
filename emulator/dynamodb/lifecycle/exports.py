"""Export to "S3" and import from it: ExportTableToPointInTime, DescribeExport,
ListExports, ImportTable, DescribeImport, ListImports.

Both go through s3objects.ObjectStore: a bucket that exists in moto's S3 (the S3 this same
endpoint serves) is written and read there, so a client lists an export's objects with its
S3 client; any other bucket is the local "S3" folder (settings.extra["s3_root"], default
<data_dir>/s3), where an object ``s3://bucket/key`` is the file ``<root>/bucket/key``.
Exports write the layout DynamoDB writes (AWSDynamoDB/<export-id>/manifest-summary.json,
manifest-files.json, data/<name>.json.gz, DYNAMODB_JSON lines ``{"Item": {...}}``)
from the point-in-time state at ExportTime; imports read that format (or CSV)
from every data object under a key prefix.
https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/S3DataExport.Output.html
https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/S3DataImport.Format.html
"""

from __future__ import annotations

import asyncio
import base64
import csv
import gzip
import hashlib
import io
import logging
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from emulator.dynamodb.core import Item, ItemKey, loads
from emulator.dynamodb.lifecycle.common import (
    arn_region,
    epoch,
    iso,
    table_not_found,
    visible_here,
    wire_time,
)
from emulator.dynamodb.lifecycle.restore import created_table
from emulator.dynamodb.lifecycle.s3objects import decompress, invalid, is_data_key
from emulator.dynamodb.tables import Table
from emulator.dynamodb.types import normalize_item, validate_item
from emulator.errors import AwsError

if TYPE_CHECKING:
    from emulator.dynamodb.lifecycle import Lifecycle

log = logging.getLogger("emulator.dynamodb.lifecycle")

EXPORT_KIND = "export"
IMPORT_KIND = "import"
ITEMS_PER_FILE = 100_000


# ------------------------------------------------------------ DynamoDB JSON
def to_json_value(av: dict[str, Any]) -> dict[str, Any]:
    (kind, value), = av.items()
    if kind == "B":
        return {"B": base64.b64encode(bytes(value)).decode()}
    if kind == "BS":
        return {"BS": [base64.b64encode(bytes(v)).decode() for v in value]}
    if kind == "L":
        return {"L": [to_json_value(v) for v in value]}
    if kind == "M":
        return {"M": {k: to_json_value(v) for k, v in value.items()}}
    return {kind: value}


def from_json_value(av: Any) -> dict[str, Any]:
    if not isinstance(av, dict) or len(av) != 1:
        raise ValueError(f"not an AttributeValue: {av!r}")
    (kind, value), = av.items()
    if kind == "B":
        return {"B": base64.b64decode(value)}
    if kind == "BS":
        return {"BS": [base64.b64decode(v) for v in value]}
    if kind == "L":
        return {"L": [from_json_value(v) for v in value]}
    if kind == "M":
        return {"M": {k: from_json_value(v) for k, v in value.items()}}
    return {kind: value}


def item_to_json(item: Item) -> dict[str, Any]:
    return {k: to_json_value(v) for k, v in item.items()}


def item_from_json(data: Any) -> Item:
    if not isinstance(data, dict):
        raise TypeError("not an item")
    item = {k: from_json_value(v) for k, v in data.items()}
    validate_item(item)
    return normalize_item(item)


def json_records(raw: bytes) -> Iterator[tuple[int, bytes, Item | None, str | None]]:
    """The records of a DYNAMODB_JSON object (JSON lines, ``{"Item": {...}}`` each), blank
    lines skipped: (line number from 1, the line, its item or None, why it is not one)."""
    for number, line in enumerate(raw.splitlines(), 1):
        if not line.strip():
            continue
        try:
            doc = orjson.loads(line)
            yield number, line, item_from_json(doc.get("Item") if isinstance(doc, dict) else None), None
        except AwsError as exc:
            yield number, line, None, exc.message
        except (ValueError, TypeError, orjson.JSONDecodeError) as exc:
            yield number, line, None, str(exc) or type(exc).__name__


class Exports:
    def __init__(self, lc: Lifecycle) -> None:
        self.lc = lc
        self.storage = lc.storage
        self.tasks: set[asyncio.Task[None]] = set()

    # ------------------------------------------------------------ helpers
    def s3_path(self, bucket: Any, key: str = "") -> Path:
        return self.lc.objects.path(bucket, key)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def _table_by_arn(self, arn: Any) -> Table:
        if not isinstance(arn, str) or ":table/" not in arn:
            raise invalid(f"Invalid TableArn: {arn}")
        name = arn.split(":table/", 1)[1].split("/", 1)[0]
        # The ARN's region must be the request's: another region's table is not visible here.
        table = self.lc.engine.find_table(arn) if arn.startswith("arn:") else None
        if table is None:
            raise table_not_found(name)
        return table

    def _regional(self, kind: str) -> list[dict[str, Any]]:
        """The export or import records of the request's region (they are regional, as
        their tables: their ARNs are under the table's)."""
        region = self.lc.engine.current_region()
        return [m for _, m in self.storage.meta_list(kind) if arn_region(m["arn"]) == region]

    @staticmethod
    def _page(items: list[dict[str, Any]], token: Any, size: Any, member: str) -> tuple[list[dict[str, Any]], str | None]:
        if size is None:
            size = 25
        if not isinstance(size, int) or not 1 <= size <= 25:
            raise invalid(f"1 validation error detected: Value '{size}' at '{member}' failed to satisfy constraint: Member must have value between 1 and 25")
        start = 0
        if token is not None:
            if not str(token).isdigit():
                raise invalid("Invalid NextToken")
            start = int(token)
        page = items[start : start + size]
        return page, (str(start + size) if start + size < len(items) else None)

    # ------------------------------------------------------------- export
    def export_description(self, m: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {
            "ExportArn": m["arn"],
            "ExportStatus": m["status"],
            "StartTime": wire_time(m["start"]),
            "TableArn": m["table_arn"],
            "TableId": m["table_id"],
            "ExportTime": wire_time(m["export_time"]),
            "S3Bucket": m["bucket"],
            "S3SseAlgorithm": m.get("sse", "AES256"),
            "ExportFormat": m["format"],
            "ExportType": m["type"],
        }
        if m.get("prefix"):
            out["S3Prefix"] = m["prefix"]
        if m.get("kms"):
            out["S3SseKmsKeyId"] = m["kms"]
        if m.get("client_token"):
            out["ClientToken"] = m["client_token"]
        if m.get("incremental"):
            out["IncrementalExportSpecification"] = {
                "ExportFromTime": wire_time(m["incremental"]["from"]),
                "ExportToTime": wire_time(m["incremental"]["to"]),
                "ExportViewType": m["incremental"]["view"],
            }
        if m["status"] == "COMPLETED":
            out["EndTime"] = wire_time(m["end"])
            out["ExportManifest"] = m["manifest"]
            out["BilledSizeBytes"] = m["billed"]
            out["ItemCount"] = m["count"]
        if m["status"] == "FAILED":
            out["EndTime"] = wire_time(m["end"])
            out["FailureCode"] = m.get("failure_code", "UNKNOWN")
            out["FailureMessage"] = m.get("failure_message", "")
        return out

    def export_table(self, params: dict[str, Any]) -> dict[str, Any]:
        table = self._table_by_arn(params.get("TableArn"))
        bucket = params.get("S3Bucket")
        prefix = str(params.get("S3Prefix") or "")
        self.s3_path(bucket, prefix)
        fmt = params.get("ExportFormat") or "DYNAMODB_JSON"
        if fmt != "DYNAMODB_JSON":
            raise invalid(f"Unsupported ExportFormat: {fmt}. This emulator writes DYNAMODB_JSON exports")
        etype = params.get("ExportType") or "FULL_EXPORT"
        if etype not in ("FULL_EXPORT", "INCREMENTAL_EXPORT"):
            raise invalid(f"1 validation error detected: Value '{etype}' at 'exportType' failed to satisfy constraint: Member must satisfy enum value set: [FULL_EXPORT, INCREMENTAL_EXPORT]")
        token = params.get("ClientToken")
        if token:
            for m in self._regional(EXPORT_KIND):
                if m.get("client_token") == token:
                    if m["table_arn"] != table.arn or m["bucket"] != bucket or m.get("prefix", "") != prefix:
                        raise AwsError("ExportConflictException", f"There was a conflict when writing to the specified S3 bucket. ClientToken {token} was used with different parameters", 400)
                    return {"ExportDescription": self.export_description(m)}
        cfg = self.lc.pitr.enabled.get(table.table_uuid)
        if cfg is None:
            raise AwsError("PointInTimeRecoveryUnavailableException", f"Point in time recovery is not enabled for table '{table.name}'", 400)
        earliest, latest = self.lc.pitr.window(cfg)
        now = self.lc.clock()
        incremental = None
        if etype == "INCREMENTAL_EXPORT":
            spec = params.get("IncrementalExportSpecification") or {}
            start, end = epoch(spec.get("ExportFromTime")), epoch(spec.get("ExportToTime"))
            if start is None or end is None:
                raise invalid("ExportFromTime and ExportToTime are required for an INCREMENTAL_EXPORT")
            if start < int(earliest) or end > latest or end <= start:
                raise AwsError("InvalidExportTimeException", f"Incremental export period must lie between {iso(earliest)} and {iso(latest)}", 400)
            if end - start < 15 * 60 or end - start > 24 * 3600:
                raise invalid("The incremental export period must be between 15 minutes and 24 hours")
            incremental = {"from": start, "to": end, "view": spec.get("ExportViewType") or "NEW_AND_OLD_IMAGES"}
            at = end
        else:
            requested = epoch(params.get("ExportTime"))
            at = now if requested is None else requested
            if requested is not None and (at < int(earliest) or at > latest):
                raise AwsError("InvalidExportTimeException", f"Export time must be between {iso(earliest)} and {iso(latest)}", 400)
        export_id = f"{int(now * 1000):014d}-{uuid.uuid4().hex[:8]}"
        meta: dict[str, Any] = {
            "arn": f"{table.arn}/export/{export_id}",
            "id": export_id,
            "status": "IN_PROGRESS",
            "start": now,
            "table_arn": table.arn,
            "table_id": table.table_uuid,
            "export_time": at,
            "bucket": bucket,
            "prefix": prefix,
            "format": fmt,
            "type": etype,
            "client_token": token,
            "sse": params.get("S3SseAlgorithm") or "AES256",
            "kms": params.get("S3SseKmsKeyId"),
            "incremental": incremental,
        }
        with self.storage.transaction():
            self.storage.meta_put(EXPORT_KIND, meta["arn"], meta)
        # The point-in-time state is read now; files are written in a worker thread.
        if incremental:
            lines = self._incremental_lines(table, incremental)
        else:
            lines = [orjson.dumps({"Item": item_to_json(loads(data))}) for _pk, _sk, data in self.lc.pitr.state_at(table, at)]
        self._spawn(self._finish_export(meta, lines))
        return {"ExportDescription": self.export_description(meta)}

    def _incremental_lines(self, table: Table, spec: dict[str, Any]) -> list[bytes]:
        before = {(pk, sk): data for pk, sk, data in self.lc.pitr.state_at(table, spec["from"])}
        changed: dict[tuple[bytes, bytes], tuple[float, bytes | None]] = {}
        for ts, pk, sk, data in self.storage.history_rows(table.table_uuid, spec["to"]):
            if ts > spec["from"]:
                changed[(pk, sk)] = (ts, data)
        lines = []
        for key, (ts, data) in sorted(changed.items()):
            old = before.get(key)
            if old is None and data is None:
                continue  # created and deleted inside the period
            image = loads(data) if data is not None else loads(old) if old is not None else {}
            rec: dict[str, Any] = {
                "Metadata": {"WriteTimestampMicros": {"N": str(int(ts * 1_000_000))}},
                "Keys": item_to_json({k: image[k] for k in table.key_names if k in image}),
            }
            if data is not None:
                rec["NewImage"] = item_to_json(loads(data))
            if old is not None and spec["view"] == "NEW_AND_OLD_IMAGES":
                rec["OldImage"] = item_to_json(loads(old))
            lines.append(orjson.dumps(rec))
        return lines

    async def _finish_export(self, meta: dict[str, Any], lines: list[bytes]) -> None:
        try:
            await self._write_export(meta, lines)
            meta["status"] = "COMPLETED"
        except Exception as exc:  # a failed export is reported, as DynamoDB does
            log.exception("export %s failed", meta["arn"])
            meta.update(status="FAILED", failure_code="S3WriteFailed", failure_message=str(exc))
        meta["end"] = self.lc.clock()
        with self.storage.transaction():
            self.storage.meta_put(EXPORT_KIND, meta["arn"], meta)
        await self.lc.engine.durable()

    async def _write_export(self, meta: dict[str, Any], lines: list[bytes]) -> None:
        """Write the export's objects: data files first, then manifest-files.json, and
        manifest-summary.json last (its presence tells a reader the export is whole)."""
        store = self.lc.objects
        bucket = meta["bucket"]
        sse = meta.get("sse")
        kms = meta.get("kms")
        prefix = meta["prefix"].strip("/")
        base_key = (prefix + "/" if prefix else "") + f"AWSDynamoDB/{meta['id']}"
        manifest_lines = []
        billed = 0
        chunks = [lines[i : i + ITEMS_PER_FILE] for i in range(0, len(lines), ITEMS_PER_FILE)] or [[]]
        for chunk in chunks:
            name = base64.b32encode(uuid.uuid4().bytes).decode().rstrip("=").lower()
            data_key = f"{base_key}/data/{name}.json.gz"
            body = await asyncio.to_thread(gzip.compress, b"".join(line + b"\n" for line in chunk), 9, mtime=0)
            await store.write(bucket, data_key, body, sse, kms)
            digest = hashlib.md5(body).digest()
            billed += sum(len(line) for line in chunk)
            manifest_lines.append(orjson.dumps({"itemCount": len(chunk), "md5Checksum": base64.b64encode(digest).decode(), "etag": digest.hex(), "dataFileS3Key": data_key}))
        files_key = f"{base_key}/manifest-files.json"
        await store.write(bucket, files_key, b"".join(line + b"\n" for line in manifest_lines), sse, kms)
        summary: dict[str, Any] = {
            "version": "2023-08-01" if meta["incremental"] else "2020-06-30",
            "exportArn": meta["arn"],
            "startTime": iso(meta["start"]),
            "endTime": iso(self.lc.clock()),
            "tableArn": meta["table_arn"],
            "tableId": meta["table_id"],
            "exportTime": iso(meta["export_time"]),
            "s3Bucket": bucket,
            "s3Prefix": meta["prefix"] or None,
            "s3SseAlgorithm": sse,
            "s3SseKmsKeyId": kms,
            "manifestFilesS3Key": files_key,
            "billedSizeBytes": billed,
            "itemCount": len(lines),
            "outputFormat": meta["format"],
            "exportType": meta["type"],
        }
        if meta["incremental"]:
            summary["exportFromTime"] = iso(meta["incremental"]["from"])
            summary["exportToTime"] = iso(meta["incremental"]["to"])
            summary["outputView"] = meta["incremental"]["view"]
        await store.write(bucket, f"{base_key}/manifest-summary.json", orjson.dumps(summary), sse, kms)
        meta.update(manifest=f"{base_key}/manifest-summary.json", billed=billed, count=len(lines))

    def _export_meta(self, arn: Any) -> dict[str, Any]:
        meta = self.storage.meta_get(EXPORT_KIND, arn) if isinstance(arn, str) else None
        if meta is not None and not visible_here(meta["arn"]):
            meta = None  # another region's export is not visible from this one
        if meta is None:
            raise AwsError("ExportNotFoundException", f"Export not found: {arn}", 400)
        return meta

    def describe_export(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"ExportDescription": self.export_description(self._export_meta(params.get("ExportArn")))}

    def list_exports(self, params: dict[str, Any]) -> dict[str, Any]:
        metas = sorted(self._regional(EXPORT_KIND), key=lambda m: (m["start"], m["arn"]))
        if params.get("TableArn"):
            metas = [m for m in metas if m["table_arn"] == params["TableArn"]]
        page, token = self._page(metas, params.get("NextToken"), params.get("MaxResults"), "maxResults")
        out: dict[str, Any] = {"ExportSummaries": [{"ExportArn": m["arn"], "ExportStatus": m["status"], "ExportType": m["type"]} for m in page]}
        if token:
            out["NextToken"] = token
        return out

    # ------------------------------------------------------------- import
    def import_description(self, m: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {
            "ImportArn": m["arn"],
            "ImportStatus": m["status"],
            "TableArn": m["table_arn"],
            "TableId": m["table_id"],
            "S3BucketSource": m["source"],
            "ErrorCount": m.get("errors", 0),
            "InputFormat": m["format"],
            "InputCompressionType": m["compression"],
            "TableCreationParameters": m["create"],
            "StartTime": wire_time(m["start"]),
            "ProcessedSizeBytes": m.get("bytes", 0),
            "ProcessedItemCount": m.get("processed", 0),
            "ImportedItemCount": m.get("imported", 0),
        }
        if m.get("options"):
            out["InputFormatOptions"] = m["options"]
        if m.get("client_token"):
            out["ClientToken"] = m["client_token"]
        if m["status"] in ("COMPLETED", "FAILED"):
            out["EndTime"] = wire_time(m["end"])
        if m["status"] == "FAILED":
            out["FailureCode"] = m.get("failure_code", "UNKNOWN")
            out["FailureMessage"] = m.get("failure_message", "")
        return out

    async def import_table(self, params: dict[str, Any]) -> dict[str, Any]:
        source = params.get("S3BucketSource") or {}
        fmt = params.get("InputFormat")
        if fmt not in ("DYNAMODB_JSON", "CSV", "ION"):
            raise invalid(f"1 validation error detected: Value '{fmt}' at 'inputFormat' failed to satisfy constraint: Member must satisfy enum value set: [DYNAMODB_JSON, ION, CSV]")
        if fmt == "ION":
            raise invalid("Unsupported InputFormat: ION. This emulator imports DYNAMODB_JSON and CSV")
        compression = params.get("InputCompressionType") or "NONE"
        if compression not in ("GZIP", "NONE"):
            raise invalid(f"Unsupported InputCompressionType: {compression}. This emulator reads GZIP and NONE")
        prefix = str(source.get("S3KeyPrefix") or "")
        self.s3_path(source.get("S3Bucket"))
        create = dict(params.get("TableCreationParameters") or {})
        token = params.get("ClientToken")
        if token:
            for m in self._regional(IMPORT_KIND):
                if m.get("client_token") == token:
                    return {"ImportTableDescription": self.import_description(m)}
        engine = self.lc.engine
        region = engine.current_region()
        name = create.get("TableName")
        if isinstance(name, str) and (region, name) in engine.tables:
            raise AwsError("ResourceInUseException", f"Table already exists: {name}", 400)
        table = await created_table(engine, create, region)
        now = self.lc.clock()
        import_id = f"{int(now * 1000):014d}-{uuid.uuid4().hex[:8]}"
        meta: dict[str, Any] = {
            "arn": f"{table.arn}/import/{import_id}",
            "status": "IN_PROGRESS",
            "table_arn": table.arn,
            "table_id": table.table_uuid,
            "source": {k: v for k, v in source.items() if v is not None},
            "format": fmt,
            "options": params.get("InputFormatOptions"),
            "compression": compression,
            "create": create,
            "start": now,
            "client_token": token,
        }
        with self.storage.transaction():
            self.storage.meta_put(IMPORT_KIND, meta["arn"], meta)
        self._spawn(self._run_import(meta, table, str(source.get("S3Bucket")), prefix))
        return {"ImportTableDescription": self.import_description(meta)}

    async def _run_import(self, meta: dict[str, Any], table: Table, bucket: str, prefix: str) -> None:
        engine = self.lc.engine
        counts = {"processed": 0, "imported": 0, "errors": 0, "bytes": 0}
        try:
            store = self.lc.objects
            files = [o for o in await store.list_objects(bucket, prefix) if is_data_key(o.key)]
            if not files:
                raise FileNotFoundError(f"no objects under s3://{bucket}/{prefix}")
            for obj in files:
                raw = await store.read(bucket, obj.key)
                counts["bytes"] += len(raw)
                raw = await asyncio.to_thread(decompress, raw, meta["compression"])
                items = self._parse(raw, meta, table, counts)
                for i in range(0, len(items), 2000):
                    with engine.storage.transaction():
                        for item in items[i : i + 2000]:
                            try:
                                key = engine.key_from_item(table, item)
                                engine.check_item_size(item)
                                engine.check_index_keys(table, item)
                            except AwsError:
                                counts["errors"] += 1
                                continue
                            old = engine.get_item_raw(table, key)
                            engine.write(table, ItemKey(key.pk, key.sk, {}), old, item)
                            counts["imported"] += 1
                    await asyncio.sleep(0)
            meta["status"] = "COMPLETED"
        except Exception as exc:  # noqa: BLE001 - reported as a failed import, as DynamoDB does
            log.warning("import %s failed: %s", meta["arn"], exc)
            meta.update(status="FAILED", failure_code="InvalidInput" if isinstance(exc, OSError | ValueError) else "InternalError", failure_message=str(exc))
        meta.update(counts, end=self.lc.clock())
        with self.storage.transaction():
            self.storage.meta_put(IMPORT_KIND, meta["arn"], meta)
        await engine.durable()

    def _parse(self, raw: bytes, meta: dict[str, Any], table: Table, counts: dict[str, int]) -> list[Item]:
        items: list[Item] = []
        if meta["format"] == "CSV":
            options = (meta.get("options") or {}).get("Csv") or {}
            reader = csv.reader(io.StringIO(raw.decode("utf-8")), delimiter=options.get("Delimiter") or ",")
            header = options.get("HeaderList")
            for row in reader:
                if header is None:
                    header = row
                    continue
                counts["processed"] += 1
                # CSV values are strings, except key attributes, typed by the table's definitions.
                item: Item = {}
                for name, value in zip(header, row, strict=False):
                    if value == "":
                        continue
                    typ = table.attribute_definitions.get(name, "S") if name in table.key_names else "S"
                    item[name] = {typ: value if typ != "B" else base64.b64decode(value)}
                items.append(item)
            return items
        for _number, _line, record, _problem in json_records(raw):
            counts["processed"] += 1
            if record is None:
                counts["errors"] += 1
            else:
                items.append(record)
        return items

    def _import_meta(self, arn: Any) -> dict[str, Any]:
        meta = self.storage.meta_get(IMPORT_KIND, arn) if isinstance(arn, str) else None
        if meta is not None and not visible_here(meta["arn"]):
            meta = None  # another region's import is not visible from this one
        if meta is None:
            raise AwsError("ImportNotFoundException", f"Import not found: {arn}", 400)
        return meta

    def describe_import(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"ImportTableDescription": self.import_description(self._import_meta(params.get("ImportArn")))}

    def list_imports(self, params: dict[str, Any]) -> dict[str, Any]:
        metas = sorted(self._regional(IMPORT_KIND), key=lambda m: (m["start"], m["arn"]))
        if params.get("TableArn"):
            metas = [m for m in metas if m["table_arn"] == params["TableArn"]]
        page, token = self._page(metas, params.get("NextToken"), params.get("PageSize"), "pageSize")
        summaries = []
        for m in page:
            s: dict[str, Any] = {
                "ImportArn": m["arn"],
                "ImportStatus": m["status"],
                "TableArn": m["table_arn"],
                "S3BucketSource": m["source"],
                "InputFormat": m["format"],
                "StartTime": wire_time(m["start"]),
            }
            if m.get("end"):
                s["EndTime"] = wire_time(m["end"])
            summaries.append(s)
        out: dict[str, Any] = {"ImportSummaryList": summaries}
        if token:
            out["NextToken"] = token
        return out
