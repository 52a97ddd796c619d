"""CloudWatch alarm mute rules (PutAlarmMuteRule, GetAlarmMuteRule, ListAlarmMuteRules,
DeleteAlarmMuteRule) and metric data query definitions (PutMetricDataQueryDefinition,
GetMetricDataQueryDefinition, ListMetricDataQueryDefinitions, DeleteMetricDataQueryDefinition),
mixed into CloudWatchHandler; the engines are emulator.monitoring.mute_rules and
.query_definitions. Both are regional: each operation works on the request's region
(``ctx.region``).

Both resources take tags, and TagResource, UntagResource and ListTagsForResource accept their
ARNs (arn:aws:cloudwatch:REGION:ACCOUNT:alarm-mute-rule:NAME, documented with
PutAlarmMuteRule's permissions, and ...:metric-query-definition/ID): those three operations
are CloudWatchHandler's, which ask ``mute_query_tags`` as they ask the other kinds.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from emulator.context import RequestContext
from emulator.handlers.base import operation
from emulator.monitoring.mute_rules import MuteRules
from emulator.monitoring.query_definitions import QueryDefinitions


class MuteQueryOperations:
    monitoring: Any

    @property
    def mute_rules(self) -> MuteRules:
        rules: MuteRules = self.monitoring.mute_rules
        return rules

    @property
    def query_definitions(self) -> QueryDefinitions:
        definitions: QueryDefinitions = self.monitoring.query_definitions
        return definitions

    def _alarm_exists(self, region: str) -> Callable[[str], bool]:
        alarms = self.monitoring.alarms.in_region(region).alarms
        return lambda name: name in alarms

    # ------------------------------------------------------------ alarm mute rules
    @operation("PutAlarmMuteRule")
    def put_alarm_mute_rule(self, ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
        self.mute_rules.put(p, ctx.region, self._alarm_exists(ctx.region))
        # an update may end a mute at once (a changed schedule, fewer targets)
        self.monitoring.alarms.in_region(ctx.region).release_muted()
        return {}

    @operation("GetAlarmMuteRule")
    def get_alarm_mute_rule(self, ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
        return self.mute_rules.get(p.get("AlarmMuteRuleName"), ctx.region)

    @operation("ListAlarmMuteRules")
    def list_alarm_mute_rules(self, ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
        return self.mute_rules.list_rules(p, ctx.region, self._alarm_exists(ctx.region))

    @operation("DeleteAlarmMuteRule")
    def delete_alarm_mute_rule(self, ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
        self.mute_rules.delete(p.get("AlarmMuteRuleName"), ctx.region)
        # "any alarms that are currently being muted by that rule are immediately unmuted"
        self.monitoring.alarms.in_region(ctx.region).release_muted()
        return {}

    # ------------------------------------------------------------ metric data query definitions
    @operation("PutMetricDataQueryDefinition")
    def put_metric_data_query_definition(self, ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
        return self.query_definitions.put(p, ctx.region)

    @operation("GetMetricDataQueryDefinition")
    def get_metric_data_query_definition(self, ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
        return self.query_definitions.get(p.get("Id"), ctx.region)

    @operation("ListMetricDataQueryDefinitions")
    def list_metric_data_query_definitions(self, ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
        return self.query_definitions.list_definitions(p, ctx.region)

    @operation("DeleteMetricDataQueryDefinition")
    def delete_metric_data_query_definition(self, ctx: RequestContext, p: dict[str, Any]) -> dict[str, Any]:
        self.query_definitions.delete(p.get("Id"), ctx.region)
        return {}

    # ------------------------------------------------------------ tags of both
    def mute_query_tags(self, arn: str, region: str, add: dict[str, str] | None = None, remove: list[str] | None = None) -> dict[str, str] | None:
        """The tags of the mute rule or query definition ``arn`` names, after adding ``add`` and
        removing ``remove``; None when ``arn`` names neither (ResourceNotFoundException when it
        names one that does not exist)."""
        engine: MuteRules | QueryDefinitions = self.mute_rules
        key = self.mute_rules.name_from_arn(arn, region)
        if key is None:
            engine = self.query_definitions
            key = self.query_definitions.id_from_arn(arn, region)
        if key is None:
            return None
        tags = engine.tags_for(key, region)
        if add is not None or remove is not None:
            tags = {k: v for k, v in {**tags, **(add or {})}.items() if k not in (remove or [])}
            engine.set_tags(key, tags, region)
        return tags

