"""CloudWatch Logs field index policies, field indexes and log group deletion protection:
the operations (a mixin of LogsHandler); storage and the scans of the stored events live in
emulator.monitoring.logs_indexes.

DescribeFieldIndexes reads stored events (a bounded range per call), so it runs in a worker
thread rather than on the event loop. Deletion protection is enforced by LogsHandler's
DeleteLogGroup (``check_deletable``)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from emulator.context import RequestContext
from emulator.errors import AwsError
from emulator.handlers.base import operation
from emulator.handlers.monitoring import MonitoringHandler
from emulator.monitoring.logs_indexes import LogsIndexes
from emulator.monitoring.logstore import Group

if TYPE_CHECKING:
    from emulator.runtime import Runtime


class LogsIndexesMixin(MonitoringHandler):
    def __init__(self, runtime: Runtime) -> None:
        super().__init__(runtime)
        self.indexes = LogsIndexes(self.monitoring.logs)

    @staticmethod
    def check_deletable(group: Group) -> None:
        """DeleteLogGroup is refused while the group's deletion protection is on."""
        if group.protection:
            raise AwsError(
                "ValidationException",
                f"Log group {group.name} has deletion protection enabled. Disable deletion protection with PutLogGroupDeletionProtection before deleting it.",
                400,
            )

    @operation("PutIndexPolicy")
    def put_index_policy(self, ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
        return self.indexes.put(p, ctx.region)

    @operation("DescribeIndexPolicies")
    def describe_index_policies(self, ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
        return self.indexes.describe(p, ctx.region)

    @operation("DeleteIndexPolicy")
    def delete_index_policy(self, ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
        self.indexes.delete(p, ctx.region)
        return {}

    @operation("DescribeFieldIndexes")
    async def describe_field_indexes(self, ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
        return await asyncio.to_thread(self.indexes.field_indexes, p, ctx.region)

    @operation("PutLogGroupDeletionProtection")
    def put_log_group_deletion_protection(self, ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
        self.indexes.set_protection(p, ctx.region)
        return {}
