"""On-demand backups: CreateBackup, DescribeBackup, ListBackups, DeleteBackup,
RestoreTableFromBackup.

A backup is a file (<data_dir>/dynamodb-backups/) holding the table's base rows
as of one instant, copied by a separate SQLite connection reading one WAL
snapshot in a worker thread: consistent, and writers never wait for it. The
table's metadata at that moment is kept with it; indexes (vector indexes too) are rebuilt
on restore.
https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/BackupRestore.html
"""

from __future__ import annotations

import asyncio
import hashlib
import shutil
import sqlite3
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from emulator.dynamodb.lifecycle import restore as restorer
from emulator.dynamodb.lifecycle.common import (
    arn_region,
    epoch,
    named_table,
    table_not_found,
    visible_here,
    wire_time,
)
from emulator.dynamodb.tables import Table, check_table_name
from emulator.errors import AwsError

if TYPE_CHECKING:
    from emulator.dynamodb.lifecycle import Lifecycle

KIND = "backup"
SYSTEM_RETENTION = 35 * 86400  # system backups of deleted tables are kept 35 days


def backup_not_found(arn: Any) -> AwsError:
    return AwsError("BackupNotFoundException", f"Backup not found: {arn}", 400)


class Backups:
    def __init__(self, lc: Lifecycle) -> None:
        self.lc = lc
        self.storage = lc.storage

    def _table(self, name: Any) -> Table:
        return named_table(self.lc.engine.tables, name, self.lc.engine.current_region())

    def _meta(self, arn: Any) -> dict[str, Any]:
        meta = self.storage.meta_get(KIND, arn) if isinstance(arn, str) else None
        # Backups are regional, as their tables: another region's is not found from here
        # (restoring it elsewhere is AWS Backup's cross-Region copy, not DynamoDB's API).
        if meta is not None and not visible_here(meta["arn"]):
            meta = None
        if meta is None:
            if not isinstance(arn, str) or len(arn) < 37:
                raise AwsError("ValidationException", f"Invalid BackupArn: {arn}", 400)
            raise backup_not_found(arn)
        return meta

    # ------------------------------------------------------------ shapes
    @staticmethod
    def details(m: dict[str, Any]) -> dict[str, Any]:
        return {
            "BackupArn": m["arn"],
            "BackupName": m["name"],
            "BackupSizeBytes": m["size"],
            "BackupStatus": m.get("status", "AVAILABLE"),
            "BackupType": m.get("type", "USER"),
            "BackupCreationDateTime": wire_time(m["created"]),
        }

    def description(self, m: dict[str, Any]) -> dict[str, Any]:
        src = Table.from_meta(0, m["table_meta"])
        table_desc = src.describe({0: (m["count"], m["size"])})
        source: dict[str, Any] = {
            "TableName": src.name,
            "TableId": src.table_uuid,
            "TableArn": src.arn,
            "TableSizeBytes": m["size"],
            "KeySchema": src.key_schema(),
            "TableCreationDateTime": wire_time(src.created),
            "ProvisionedThroughput": {"ReadCapacityUnits": src.read_units, "WriteCapacityUnits": src.write_units},
            "ItemCount": m["count"],
            "BillingMode": src.billing_mode,
        }
        features: dict[str, Any] = {}
        if "LocalSecondaryIndexes" in table_desc:
            features["LocalSecondaryIndexes"] = [{k: i[k] for k in ("IndexName", "KeySchema", "Projection")} for i in table_desc["LocalSecondaryIndexes"]]
        if "GlobalSecondaryIndexes" in table_desc:
            features["GlobalSecondaryIndexes"] = [
                {"IndexName": i["IndexName"], "KeySchema": i["KeySchema"], "Projection": i["Projection"],
                 "ProvisionedThroughput": {"ReadCapacityUnits": i["ProvisionedThroughput"]["ReadCapacityUnits"], "WriteCapacityUnits": i["ProvisionedThroughput"]["WriteCapacityUnits"]}}
                for i in table_desc["GlobalSecondaryIndexes"]
            ]
        if "StreamSpecification" in table_desc:
            features["StreamDescription"] = table_desc["StreamSpecification"]
        if src.ttl.get("enabled"):
            features["TimeToLiveDescription"] = {"TimeToLiveStatus": "ENABLED", "AttributeName": src.ttl["attribute"]}
        if "SSEDescription" in table_desc:
            features["SSEDescription"] = table_desc["SSEDescription"]
        if src.vectors:
            features["VectorIndexes"] = [restorer.vector_spec(v) for v in src.vectors.values()]
        out: dict[str, Any] = {"BackupDetails": self.details(m), "SourceTableDetails": source}
        if features:
            out["SourceTableFeatureDetails"] = features
        return out

    # --------------------------------------------------------------- API
    @property
    def folder(self) -> Path:
        return self.lc.data_dir / "dynamodb-backups"

    def path(self, meta: dict[str, Any]) -> str:
        return str(self.folder / meta["file"])

    # ------------------------------------------------------------- reset
    @property
    def _detached_prefix(self) -> str:
        return f".{self.folder.name}.reset-"

    def detach_files(self) -> bool:
        """Move every backup file aside, in one rename (a backup made right after the reset
        starts a new folder, so removing these later cannot touch it). True if there are
        files to remove (``remove_detached``, once the reset is durable)."""
        if self.folder.exists():
            self.folder.rename(self.folder.with_name(self._detached_prefix + uuid.uuid4().hex[:12]))
        return any(self.lc.data_dir.glob(self._detached_prefix + "*"))

    def remove_detached(self) -> None:
        """Delete folders ``detach_files`` moved aside (also those a crash mid-reset left)."""
        for path in self.lc.data_dir.glob(self._detached_prefix + "*"):
            shutil.rmtree(path, ignore_errors=True)

    async def create_backup(self, params: dict[str, Any]) -> dict[str, Any]:
        table = self._table(params.get("TableName"))
        name = params.get("BackupName")
        check_table_name(name, "backupName")
        now = self.lc.clock()
        arn = f"{table.arn}/backup/{int(now * 1000):017d}-{uuid.uuid4().hex[:8]}"
        table_meta = table.to_meta()
        file = hashlib.sha256(arn.encode()).hexdigest()[:32] + ".sqlite3"
        self.folder.mkdir(parents=True, exist_ok=True)
        # Everything acknowledged so far is committed, so the snapshot holds it.
        target = str(self.folder / file)
        generation = self.lc.engine.generation
        if self.storage.snapshot_in_thread:
            count, size = await asyncio.to_thread(self.storage.snapshot_to_file, table.table_id, target)
        else:
            count, size = self.storage.snapshot_to_file(table.table_id, target)
        if self.lc.engine.generation != generation:
            # A reset ran while the copy was made: the table is gone, and so must its backup be.
            Path(target).unlink(missing_ok=True)
            raise table_not_found(table.name)
        meta = {
            "arn": arn,
            "name": name,
            "created": now,
            "size": size,
            "count": count,
            "file": file,
            "table": table.name,
            "table_meta": table_meta,
            "type": "USER",
            "status": "AVAILABLE",
        }
        with self.storage.transaction():
            self.storage.meta_put(KIND, arn, meta)
        return {"BackupDetails": self.details(meta)}

    def system_backup(self, table_meta: dict[str, Any], rows: Iterable[tuple[bytes, bytes, bytes]], now: float) -> dict[str, Any]:
        """A SYSTEM backup (of a table deleted while PITR was on) from saved rows."""
        arn = f"{table_meta['arn']}/backup/{int(now * 1000):017d}-{uuid.uuid4().hex[:8]}"
        file = hashlib.sha256(arn.encode()).hexdigest()[:32] + ".sqlite3"
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / file
        tmp = path.with_suffix(".tmp")
        tmp.unlink(missing_ok=True)
        conn = sqlite3.connect(tmp)
        count = size = 0
        try:
            conn.execute("CREATE TABLE rows (pk BLOB NOT NULL, sk BLOB NOT NULL, data BLOB NOT NULL, size INTEGER NOT NULL, PRIMARY KEY (pk, sk)) WITHOUT ROWID")
            for pk, sk, data in rows:
                conn.execute("INSERT INTO rows VALUES (?, ?, ?, ?)", (pk, sk, data, len(data)))
                count += 1
                size += len(data)
            conn.commit()
        finally:
            conn.close()
        tmp.replace(path)
        meta = {
            "arn": arn,
            "name": f"{table_meta['name']}$DeletedTableBackup",
            "created": now,
            "size": size,
            "count": count,
            "file": file,
            "table": table_meta["name"],
            "table_meta": table_meta,
            "type": "SYSTEM",
            "status": "AVAILABLE",
        }
        with self.storage.transaction():
            self.storage.meta_put(KIND, arn, meta)
        return meta

    def housekeeping(self) -> None:
        """Delete SYSTEM backups past their 35 days."""
        cutoff = self.lc.clock() - SYSTEM_RETENTION
        for arn, meta in self.storage.meta_list(KIND):
            if meta.get("type") == "SYSTEM" and meta["created"] < cutoff:
                with self.storage.transaction():
                    self.storage.meta_delete(KIND, arn)
                Path(self.path(meta)).unlink(missing_ok=True)

    def describe_backup(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"BackupDescription": self.description(self._meta(params.get("BackupArn")))}

    def delete_backup(self, params: dict[str, Any]) -> dict[str, Any]:
        meta = self._meta(params.get("BackupArn"))
        with self.storage.transaction():
            self.storage.meta_delete(KIND, meta["arn"])
        Path(self.path(meta)).unlink(missing_ok=True)
        meta["status"] = "DELETED"
        return {"BackupDescription": self.description(meta)}

    def list_backups(self, params: dict[str, Any]) -> dict[str, Any]:
        limit = params.get("Limit", 100)
        if not isinstance(limit, int) or not 1 <= limit <= 100:
            raise AwsError("ValidationException", f"1 validation error detected: Value '{limit}' at 'limit' failed to satisfy constraint: Member must have value between 1 and 100", 400)
        btype = params.get("BackupType") or "ALL"
        if btype not in ("USER", "SYSTEM", "AWS_BACKUP", "ALL"):
            raise AwsError(
                "ValidationException",
                f"1 validation error detected: Value '{btype}' at 'backupType' failed to satisfy constraint: Member must satisfy enum value set: [USER, SYSTEM, AWS_BACKUP, ALL]",
                400,
            )
        lower, upper = epoch(params.get("TimeRangeLowerBound")), epoch(params.get("TimeRangeUpperBound"))
        if lower is not None and upper is not None and lower > upper:
            raise AwsError("ValidationException", "TimeRangeLowerBound cannot be later than TimeRangeUpperBound", 400)
        name = params.get("TableName")
        region = self.lc.engine.current_region()
        metas = [m for _, m in self.storage.meta_list(KIND) if arn_region(m["arn"]) == region]
        if name is not None:
            metas = [m for m in metas if m["table"] == name or m["table_meta"]["arn"] == name]
        if btype != "ALL":
            metas = [m for m in metas if m.get("type", "USER") == btype]
        # TimeRangeLowerBound is inclusive, TimeRangeUpperBound exclusive (API reference).
        if lower is not None:
            metas = [m for m in metas if m["created"] >= int(lower)]
        if upper is not None:
            metas = [m for m in metas if m["created"] < upper]
        metas.sort(key=lambda m: (m["created"], m["arn"]))
        start = params.get("ExclusiveStartBackupArn")
        if start is not None:
            arns = [m["arn"] for m in metas]
            metas = metas[arns.index(start) + 1 :] if start in arns else []
        out: dict[str, Any] = {
            "BackupSummaries": [
                {
                    "TableName": m["table"],
                    "TableId": m["table_meta"]["uuid"],
                    "TableArn": m["table_meta"]["arn"],
                    **self.details(m),
                }
                for m in metas[:limit]
            ]
        }
        if len(metas) > limit:
            out["LastEvaluatedBackupArn"] = metas[limit - 1]["arn"]
        return out

    async def restore_table_from_backup(self, params: dict[str, Any]) -> dict[str, Any]:
        meta = self._meta(params.get("BackupArn"))
        target = params.get("TargetTableName")
        check_table_name(target, "targetTableName")
        rows = ((r.pk, r.sk, r.data) for r in self.storage.file_snapshot_rows(self.path(meta)))
        summary = {
            "SourceBackupArn": meta["arn"],
            "SourceTableArn": meta["table_meta"]["arn"],
            "RestoreDateTime": wire_time(meta["created"]),
        }
        return await restorer.restore(self.lc, meta["table_meta"], target, params, rows, summary)
