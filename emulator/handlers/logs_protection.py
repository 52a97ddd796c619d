"""CloudWatch Logs data protection and account policies: the operations (a mixin of
LogsHandler); storage, masking and audit findings live in emulator.monitoring.logs_protection.

The masking is enforced on GetLogEvents, FilterLogEvents, GetLogRecord (unless ``unmask``
is true, which needs ``logs:Unmask`` on the group, checked here) and Logs Insights results
(``unmask(@message)`` shows the original, with ``logs:Unmask`` on the queried groups): LogsAPI asks ``protection.masker(group)`` on each
read. Audit findings are written by a worker thread every ``logs_data_protection_interval``
seconds (setting, or EMULATOR_LOGS_DATA_PROTECTION_INTERVAL; default 1)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from emulator.context import RequestContext
from emulator.gateway import security
from emulator.handlers.base import operation
from emulator.handlers.monitoring import MonitoringHandler
from emulator.monitoring import insights
from emulator.monitoring.logs_protection import LogsProtection
from emulator.monitoring.service import setting

if TYPE_CHECKING:
    from emulator.runtime import Runtime


class LogsProtectionMixin(MonitoringHandler):
    def __init__(self, runtime: Runtime) -> None:
        super().__init__(runtime)
        interval = float(setting(runtime.settings.extra, "logs_data_protection_interval", 1.0))
        self.protection = LogsProtection(self.monitoring.logs, runtime.settings.account_id, interval)
        # the read paths (GetLogEvents, FilterLogEvents, Insights) mask through this; its reset runs with LogsAPI's
        self.monitoring.logs_api.protection = self.protection

    def check_unmask(self, ctx: RequestContext, p: dict[str, Any]) -> None:
        """``unmask=true`` (or an Insights query with ``unmask(@message)``) needs
        ``logs:Unmask`` on the groups besides the read's own action, as on AWS: LogsHandler's
        reads (GetLogEvents, FilterLogEvents, GetLogRecord, StartQuery) call this first."""
        if p.get("unmask") or insights.uses_unmask(str(p.get("queryString") or "")):
            for resource in self._unmask_resources(ctx, p):
                security.authorize(ctx.principal, "logs:Unmask", resource, protocol=ctx.protocol, runtime=self.runtime)

    def _unmask_resources(self, ctx: RequestContext, p: dict[str, Any]) -> list[str]:
        names: list[Any] = [p.get("logGroupName"), p.get("logGroupIdentifier"), *(p.get("logGroupNames") or []), *(p.get("logGroupIdentifiers") or [])]
        if p.get("logRecordPointer"):
            names.append(str(p["logRecordPointer"]).rpartition("/")[0])
        out = []
        for name in names:
            if isinstance(name, str) and name:
                out.append(name.removesuffix(":*") if name.startswith("arn:") else self.monitoring.logs.group_arn(name, ctx.region))
        return out or ["*"]

    async def start(self) -> None:
        await super().start()
        self.protection.start()

    async def stop(self) -> None:
        self.protection.stop()
        await super().stop()

    # ------------------------------------------------------------ log group data protection policies
    @operation("PutDataProtectionPolicy")
    def put_data_protection_policy(self, ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
        return self.protection.put_group_policy(p, ctx.region)

    @operation("GetDataProtectionPolicy")
    def get_data_protection_policy(self, ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
        return self.protection.get_group_policy(p, ctx.region)

    @operation("DeleteDataProtectionPolicy")
    def delete_data_protection_policy(self, ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
        self.protection.delete_group_policy(p, ctx.region)
        return {}

    # ------------------------------------------------------------ account policies
    @operation("PutAccountPolicy")
    def put_account_policy(self, ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
        return self.protection.put_account_policy(p, ctx.region)

    @operation("DescribeAccountPolicies")
    def describe_account_policies(self, ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
        return self.protection.describe_account_policies(p, ctx.region)

    @operation("DeleteAccountPolicy")
    def delete_account_policy(self, ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
        self.protection.delete_account_policy(p, ctx.region)
        return {}
