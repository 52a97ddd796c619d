"""The base of the handlers backed by emulator.monitoring (CloudWatch, CloudWatch Logs).

Both services share one Monitoring component: whichever handler starts first
starts it, and its non-AWS routes are mounted once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from emulator.handlers.base import Route, ServiceHandler
from emulator.monitoring.service import get_monitoring

if TYPE_CHECKING:
    from emulator.runtime import Runtime


class MonitoringHandler(ServiceHandler):
    def __init__(self, runtime: Runtime) -> None:
        super().__init__(runtime)
        self.monitoring = get_monitoring(runtime)

    async def start(self) -> None:
        await self.monitoring.start()

    async def stop(self) -> None:
        await self.monitoring.stop()

    def routes(self) -> list[Route]:
        # the monitoring routes are mounted once, by whichever of cloudwatch/logs asks first
        return self.monitoring.take_routes()
