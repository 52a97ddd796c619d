"""On-demand backups: CreateBackup, DescribeBackup, ListBackups, DeleteBackup,
RestoreTableFromBackup.

A backup is a snapshot of the table's base rows copied by one INSERT ... SELECT
in one transaction (consistent; writes wait only for that statement), plus the
table's metadata at that moment. Indexes are rebuilt on restore.
https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/BackupRestore.html
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from emulator.dynamodb.lifecycle import restore as restorer
from emulator.dynamodb.lifecycle.common import epoch, table_not_found, wire_time
from emulator.dynamodb.tables import Table, check_table_name
from emulator.errors import AwsError

if TYPE_CHECKING:
    from emulator.dynamodb.lifecycle import Lifecycle

KIND = "backup"


def backup_not_found(arn: Any) -> AwsError:
    return AwsError("BackupNotFoundException", f"Backup not found: {arn}", 400)


class Backups:
    def __init__(self, lc: Lifecycle) -> None:
        self.lc = lc
        self.storage = lc.storage

    def _table(self, name: Any) -> Table:
        if isinstance(name, str) and name.startswith("arn:"):
            name = name.split(":table/", 1)[-1]
        table = self.lc.engine.tables.get(name) if isinstance(name, str) else None
        if table is None:
            check_table_name(name)
            raise table_not_found(name)
        return table

    def _meta(self, arn: Any) -> dict[str, Any]:
        meta = self.storage.meta_get(KIND, arn) if isinstance(arn, str) else None
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
        out: dict[str, Any] = {"BackupDetails": self.details(m), "SourceTableDetails": source}
        if features:
            out["SourceTableFeatureDetails"] = features
        return out

    # --------------------------------------------------------------- API
    def create_backup(self, params: dict[str, Any]) -> dict[str, Any]:
        table = self._table(params.get("TableName"))
        name = params.get("BackupName")
        check_table_name(name, "backupName")
        now = self.lc.clock()
        arn = f"{table.arn}/backup/{int(now * 1000):017d}-{uuid.uuid4().hex[:8]}"
        sid = "backup:" + arn
        with self.storage.transaction():
            count, size = self.storage.snapshot_table(sid, table.table_id)
            meta = {
                "arn": arn,
                "name": name,
                "created": now,
                "size": size,
                "count": count,
                "sid": sid,
                "table": table.name,
                "table_meta": table.to_meta(),
                "type": "USER",
                "status": "AVAILABLE",
            }
            self.storage.meta_put(KIND, arn, meta)
        return {"BackupDetails": self.details(meta)}

    def describe_backup(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"BackupDescription": self.description(self._meta(params.get("BackupArn")))}

    def delete_backup(self, params: dict[str, Any]) -> dict[str, Any]:
        meta = self._meta(params.get("BackupArn"))
        with self.storage.transaction():
            self.storage.snapshot_delete(meta["sid"])
            self.storage.meta_delete(KIND, meta["arn"])
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
        metas = [m for _, m in self.storage.meta_list(KIND)]
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
        rows = ((r.pk, r.sk, r.data) for r in self.storage.snapshot_rows(meta["sid"]))
        summary = {
            "SourceBackupArn": meta["arn"],
            "SourceTableArn": meta["table_meta"]["arn"],
            "RestoreDateTime": wire_time(meta["created"]),
        }
        return await restorer.restore(self.lc, meta["table_meta"], target, params, rows, summary)
