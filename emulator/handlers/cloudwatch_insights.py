"""CloudWatch Contributor Insights operations (PutInsightRule, GetInsightRuleReport, managed
rules ...), mixed into CloudWatchHandler; the rules live in emulator.monitoring.insight_rules.
Rules are regional: each operation works on the request's region (``ctx.region``)."""

from __future__ import annotations

import asyncio
from typing import Any

from emulator.context import RequestContext
from emulator.handlers.base import operation
from emulator.monitoring.insight_rules import InsightRules


class InsightRuleOperations:
    insight_rules: InsightRules
    runtime: Any

    def _dynamodb(self) -> Any:
        # The DynamoDB engine of this process (its tables are the resources of the managed
        # rules); None when DynamoDB is served elsewhere (a cluster role without it).
        return self.runtime.components.get("dynamodb")

    @operation("PutInsightRule")
    def put_insight_rule(self, ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
        self.insight_rules.put(p, ctx.region)
        return {}

    @operation("DescribeInsightRules")
    def describe_insight_rules(self, ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
        return self.insight_rules.describe(p, ctx.region)

    @operation("DeleteInsightRules")
    def delete_insight_rules(self, ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
        return {"Failures": self.insight_rules.delete(p, ctx.region)}

    @operation("EnableInsightRules")
    def enable_insight_rules(self, ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
        return {"Failures": self.insight_rules.set_state(p, "ENABLED", ctx.region)}

    @operation("DisableInsightRules")
    def disable_insight_rules(self, ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
        return {"Failures": self.insight_rules.set_state(p, "DISABLED", ctx.region)}

    @operation("GetInsightRuleReport")
    async def get_insight_rule_report(self, ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
        # Off the event loop: a report over a busy rule reads many counter rows.
        return await asyncio.get_running_loop().run_in_executor(None, self.insight_rules.report, p, ctx.region)

    @operation("ListManagedInsightRules")
    def list_managed_insight_rules(self, ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
        return self.insight_rules.list_managed(p, ctx.region, self._dynamodb())

    @operation("PutManagedInsightRules")
    def put_managed_insight_rules(self, ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
        return {"Failures": self.insight_rules.put_managed(p, ctx.region, self._dynamodb())}

    # ------------------------------------------------------------ tags of rules
    def insight_rule_tags(self, arn: str, region: str, add: dict[str, str] | None = None, remove: list[str] | None = None) -> dict[str, str] | None:
        """The tags of the insight rule ``arn`` names, after adding ``add`` and removing ``remove``;
        None when ``arn`` is no insight-rule ARN (ResourceNotFoundException when no such rule)."""
        name = self.insight_rules.name_from_arn(arn, region)
        if name is None:
            return None
        tags = self.insight_rules.tags_for(name, region)
        if add or remove:
            tags = {k: v for k, v in {**tags, **(add or {})}.items() if k not in (remove or [])}
            self.insight_rules.set_tags(name, tags, region)
        return tags
