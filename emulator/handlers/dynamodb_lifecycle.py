"""DynamoDB's data-lifecycle operations (backups, point-in-time recovery,
export/import, bulk operations, PartiQL, Kinesis streaming destinations), mixed into DynamoDBHandler; they delegate to
emulator.dynamodb.lifecycle."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from emulator.context import RequestContext
from emulator.dynamodb.core import REGION
from emulator.handlers.base import operation


class LifecycleOperations:
    lifecycle: Any
    engine: Any
    _check_types: Callable[[RequestContext, dict[str, Any]], None]

    async def _lifecycle(self, ctx: RequestContext, fn: Callable[[dict[str, Any]], Any], params: dict[str, Any]) -> dict[str, Any]:
        self._check_types(ctx, params)
        self.engine.begin_group()
        # Tables, backups, exports and imports are regional: the request's region (its SigV4
        # scope) is the one they are found and made in, also across the awaits below.
        token = REGION.set(ctx.region)
        try:
            out = fn(params)
            if inspect.isawaitable(out):
                out = await out
            return dict(out)
        finally:
            REGION.reset(token)
            await self.engine.durable()

    # ------------------------------------------------------------ backups
    @operation("CreateBackup")
    async def create_backup(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return await self._lifecycle(ctx, self.lifecycle.backups.create_backup, params)

    @operation("DescribeBackup")
    async def describe_backup(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return await self._lifecycle(ctx, self.lifecycle.backups.describe_backup, params)

    @operation("ListBackups")
    async def list_backups(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return await self._lifecycle(ctx, self.lifecycle.backups.list_backups, params)

    @operation("DeleteBackup")
    async def delete_backup(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return await self._lifecycle(ctx, self.lifecycle.backups.delete_backup, params)

    @operation("RestoreTableFromBackup")
    async def restore_table_from_backup(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return await self._lifecycle(ctx, self.lifecycle.backups.restore_table_from_backup, params)

    # --------------------------------------------------------------- PITR
    @operation("UpdateContinuousBackups")
    async def update_continuous_backups(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return await self._lifecycle(ctx, self.lifecycle.pitr.update_continuous_backups, params)

    @operation("RestoreTableToPointInTime")
    async def restore_table_to_point_in_time(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return await self._lifecycle(ctx, self.lifecycle.pitr.restore_table_to_point_in_time, params)

    # ------------------------------------------------------------ PartiQL
    @operation("ExecuteStatement")
    async def execute_statement(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return await self._lifecycle(ctx, self.lifecycle.partiql.execute_statement, params)

    @operation("BatchExecuteStatement")
    async def batch_execute_statement(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return await self._lifecycle(ctx, self.lifecycle.partiql.batch_execute_statement, params)

    @operation("ExecuteTransaction")
    async def execute_transaction(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return await self._lifecycle(ctx, self.lifecycle.partiql.execute_transaction, params)

    # ------------------------------------------------------ export/import
    @operation("ExportTableToPointInTime")
    async def export_table_to_point_in_time(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return await self._lifecycle(ctx, self.lifecycle.exports.export_table, params)

    @operation("DescribeExport")
    async def describe_export(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return await self._lifecycle(ctx, self.lifecycle.exports.describe_export, params)

    @operation("ListExports")
    async def list_exports(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return await self._lifecycle(ctx, self.lifecycle.exports.list_exports, params)

    @operation("ImportTable")
    async def import_table(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return await self._lifecycle(ctx, self.lifecycle.exports.import_table, params)

    @operation("DescribeImport")
    async def describe_import(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return await self._lifecycle(ctx, self.lifecycle.exports.describe_import, params)

    @operation("ListImports")
    async def list_imports(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return await self._lifecycle(ctx, self.lifecycle.exports.list_imports, params)

    # ------------------------------------------ Kinesis streaming destinations
    @operation("EnableKinesisStreamingDestination")
    async def enable_kinesis_streaming_destination(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return await self._lifecycle(ctx, self.lifecycle.kinesis.enable, params)

    @operation("DisableKinesisStreamingDestination")
    async def disable_kinesis_streaming_destination(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return await self._lifecycle(ctx, self.lifecycle.kinesis.disable, params)

    @operation("DescribeKinesisStreamingDestination")
    async def describe_kinesis_streaming_destination(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return await self._lifecycle(ctx, self.lifecycle.kinesis.describe, params)

    @operation("UpdateKinesisStreamingDestination")
    async def update_kinesis_streaming_destination(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return await self._lifecycle(ctx, self.lifecycle.kinesis.update, params)

    # ------------------------------------------------------ bulk operations
    @operation("StartBulkPutItems")
    async def start_bulk_put_items(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return await self._lifecycle(ctx, self.lifecycle.bulk.start_bulk_put_items, params)

    @operation("DescribeBulkOperation")
    async def describe_bulk_operation(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return await self._lifecycle(ctx, self.lifecycle.bulk.describe_bulk_operation, params)

    @operation("ListBulkOperations")
    async def list_bulk_operations(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return await self._lifecycle(ctx, self.lifecycle.bulk.list_bulk_operations, params)

    @operation("CancelBulkOperation")
    async def cancel_bulk_operation(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return await self._lifecycle(ctx, self.lifecycle.bulk.cancel_bulk_operation, params)
