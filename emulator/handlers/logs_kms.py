"""CloudWatch Logs KMS key associations: the operations (a mixin of LogsHandler); storage
and the parameter rules live in emulator.monitoring.logs_kms.

Authorization is the gateway's, as for every Logs operation: ``logs:AssociateKmsKey`` /
``logs:DisassociateKmsKey`` on the log group's ARN (``logGroupName``), or on the
``resourceIdentifier`` as given."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from emulator.context import RequestContext
from emulator.handlers.base import operation
from emulator.handlers.monitoring import MonitoringHandler
from emulator.monitoring.logs_kms import LogsKms

if TYPE_CHECKING:
    from emulator.runtime import Runtime


class LogsKmsMixin(MonitoringHandler):
    def __init__(self, runtime: Runtime) -> None:
        super().__init__(runtime)
        self.kms = LogsKms(self.monitoring.logs)

    @operation("AssociateKmsKey")
    def associate_kms_key(self, ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
        self.kms.associate(p, ctx.region)
        return {}

    @operation("DisassociateKmsKey")
    def disassociate_kms_key(self, ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
        self.kms.disassociate(p, ctx.region)
        return {}
