"""DynamoDB auto scaling: Application Auto Scaling's scalable targets and target-tracking
policies on tables and global secondary indexes, and the evaluator that makes them scale.

On AWS, DynamoDB auto scaling *is* Application Auto Scaling (service namespace ``dynamodb``,
resource ``table/NAME`` or ``table/NAME/index/INDEX``, dimensions
``dynamodb:{table,index}:{Read,Write}CapacityUnits``) with target-tracking policies on the
predefined metrics DynamoDBReadCapacityUtilization / DynamoDBWriteCapacityUtilization. Here
Application Auto Scaling is moto's (served in-process, emulator/gateway/fallback.py), so:

- DescribeGlobalTableSettings / UpdateGlobalTableSettings (legacy global tables, 2017.11.29)
  and DescribeTableReplicaAutoScaling / UpdateTableReplicaAutoScaling register, update and
  read back the targets and policies in moto's ``applicationautoscaling`` backend of each
  replica's region, exactly what ``application-autoscaling describe-scalable-targets`` lists;
- ``AutoScaling.evaluate`` (every ``autoscaling_period`` seconds, run by the lifecycle) looks
  at every PROVISIONED table/GSI with a scalable target and a target-tracking policy, however
  they were made (these operations, Terraform's aws_appautoscaling_target/policy, the CLI),
  compares what the engine counted as consumed with the target utilization, and changes the
  provisioned capacity through UpdateTable's own path, within MinCapacity..MaxCapacity.

AWS's target tracking for DynamoDB (the CloudWatch alarms it creates, which moto's
``_generate_dynamodb_alarms`` mirrors): AlarmHigh when ConsumedCapacity > target% of the
provisioned capacity for 2 consecutive one-minute datapoints (scale out), AlarmLow when it is
< (target - 20)% for 15 consecutive datapoints (scale in); the new capacity is the one that
brings utilization back to the target; cooldowns default to 0 for DynamoDB. The period and
the datapoint counts are settings (``autoscaling_period``, ``autoscaling_scale_out_periods``,
``autoscaling_scale_in_periods``; config file or EMULATOR_<NAME>) so tests can use seconds.

In a cluster (``--role dynamodb``) moto runs in the gateway, not here: the evaluator still runs
in the dynamodb role (the tables, their capacity and what was consumed are here) and reads
the targets and policies of all its regions from the gateway in one request per pass; the
four operations read and change them through it too (``remote``, emulator/cluster/autoscaling.py).
"""

from __future__ import annotations

import asyncio
import copy
import logging
import math
import time
from dataclasses import dataclass, field
from typing import Any

from emulator.dynamodb.core import REGION
from emulator.dynamodb.lifecycle.common import stop_task
from emulator.dynamodb.replicas import replica_state
from emulator.dynamodb.tables import TABLE_MAX_UNITS, Table, check_table_name
from emulator.errors import AwsError

log = logging.getLogger("emulator.dynamodb.autoscaling")

NAMESPACE = "dynamodb"
SERVICE = "application-autoscaling"  # the botocore name moto's locks are kept under
READ, WRITE = "Read", "Write"
METRICS = {READ: "DynamoDBReadCapacityUtilization", WRITE: "DynamoDBWriteCapacityUtilization"}
# DynamoDB's documented range for a target utilization (percent).
MIN_TARGET, MAX_TARGET = 20.0, 90.0
# Application Auto Scaling's cooldown range (seconds).
MAX_COOLDOWN = 86400
# AlarmLow's threshold is the target minus 20 percentage points (AWS's DynamoDB alarms).
SCALE_IN_MARGIN = 20.0


def invalid(message: str) -> AwsError:
    return AwsError("ValidationException", message, 400)


def dimension(kind: str, index: str | None) -> str:
    return f"dynamodb:{'index' if index else 'table'}:{kind}CapacityUnits"


def resource_id(table: str, index: str | None) -> str:
    return f"table/{table}/index/{index}" if index else f"table/{table}"


def parse_resource(rid: str) -> tuple[str, str | None] | None:
    parts = rid.split("/")
    if len(parts) == 2 and parts[0] == "table":
        return parts[1], None
    if len(parts) == 4 and parts[0] == "table" and parts[2] == "index":
        return parts[1], parts[3]
    return None


def default_role(account: str) -> str:
    """The service-linked role Application Auto Scaling uses for DynamoDB when none is given."""
    return f"arn:aws:iam::{account}:role/aws-service-role/dynamodb.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_DynamoDBTable"


def default_policy_name(kind: str, table: str, index: str | None) -> str:
    """The name the DynamoDB console gives the target-tracking policies it creates."""
    return f"{METRICS[kind]}:{resource_id(table, index)}"


# ---------------------------------------------------------------- checked updates
@dataclass
class ScalingUpdate:
    """One AutoScalingSettingsUpdate, checked, for one target (region, table, index, kind)."""

    region: str
    table: str
    index: str | None
    kind: str
    disabled: bool = False
    minimum: int | None = None
    maximum: int | None = None
    role: str | None = None
    policy_name: str | None = None
    policy: dict[str, Any] | None = None  # TargetTrackingScalingPolicyConfiguration members given

    @property
    def resource_id(self) -> str:
        return resource_id(self.table, self.index)

    @property
    def dimension(self) -> str:
        return dimension(self.kind, self.index)


def _units(value: Any, where: str) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise invalid(f"1 validation error detected: Value '{value}' at '{where}' failed to satisfy constraint: Member must have value greater than or equal to 1")
    if value > TABLE_MAX_UNITS:
        raise invalid(f"{where} cannot be more than the per-table quota of {TABLE_MAX_UNITS}: {value}")
    return value


def check_update(spec: Any, where: str, region: str, table: str, index: str | None, kind: str) -> ScalingUpdate:
    """An AutoScalingSettingsUpdate (or replica/index auto scaling update) as sent: checked."""
    if not isinstance(spec, dict):
        raise invalid(f"1 validation error detected: Value at '{where}' failed to satisfy constraint: Member must be a structure")
    out = ScalingUpdate(region, table, index, kind)
    out.disabled = spec.get("AutoScalingDisabled") is True
    out.minimum = _units(spec.get("MinimumUnits"), f"{where}.minimumUnits")
    out.maximum = _units(spec.get("MaximumUnits"), f"{where}.maximumUnits")
    if out.minimum is not None and out.maximum is not None and out.minimum > out.maximum:
        raise invalid(f"Minimum units ({out.minimum}) cannot be greater than maximum units ({out.maximum}) in {where}")
    role = spec.get("AutoScalingRoleArn")
    if role is not None:
        if not isinstance(role, str) or not role.startswith("arn:") or ":role/" not in role:
            raise invalid(f"Invalid AutoScalingRoleArn in {where}: {role}")
        out.role = role
    policy = spec.get("ScalingPolicyUpdate")
    if policy is not None:
        if not isinstance(policy, dict) or not isinstance(policy.get("TargetTrackingScalingPolicyConfiguration"), dict):
            raise invalid(
                f"1 validation error detected: Value null at '{where}.scalingPolicyUpdate.targetTrackingScalingPolicyConfiguration' failed to satisfy constraint: Member must not be null"
            )
        name = policy.get("PolicyName")
        if name is not None and (not isinstance(name, str) or not 1 <= len(name) <= 256 or not name.isprintable()):
            raise invalid(f"Invalid PolicyName in {where}.scalingPolicyUpdate: {name}")
        out.policy_name = name
        config = policy["TargetTrackingScalingPolicyConfiguration"]
        target = config.get("TargetValue")
        if not isinstance(target, int | float) or isinstance(target, bool):
            raise invalid(
                f"1 validation error detected: Value null at '{where}.scalingPolicyUpdate.targetTrackingScalingPolicyConfiguration.targetValue' failed to satisfy constraint: Member must not be null"
            )
        if not MIN_TARGET <= float(target) <= MAX_TARGET:
            raise invalid(f"The target utilization must be between {MIN_TARGET:g} and {MAX_TARGET:g} percent: {target:g}")
        checked: dict[str, Any] = {"TargetValue": float(target)}
        for member in ("ScaleInCooldown", "ScaleOutCooldown"):
            value = config.get(member)
            if value is None:
                continue
            if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_COOLDOWN:
                raise invalid(f"{member} must be between 0 and {MAX_COOLDOWN} seconds: {value}")
            checked[member] = value
        if config.get("DisableScaleIn") is not None:
            checked["DisableScaleIn"] = bool(config["DisableScaleIn"])
        out.policy = checked
    if out.disabled and (out.minimum is not None or out.maximum is not None or policy is not None):
        raise invalid(f"AutoScalingDisabled cannot be combined with other auto scaling settings in {where}")
    if not out.disabled and out.minimum is None and out.maximum is None and out.policy is None and out.role is None:
        raise invalid(f"The auto scaling settings update in {where} changes nothing")
    return out


# ------------------------------------------------------------- moto's state, read
@dataclass
class PolicyView:
    name: str
    policy_type: str
    config: dict[str, Any]

    def tracking(self, kind: str) -> dict[str, Any] | None:
        """The target-tracking configuration, when it tracks ``kind``'s DynamoDB utilization."""
        if self.policy_type != "TargetTrackingScaling" or not isinstance(self.config, dict):
            return None
        metric = (self.config.get("PredefinedMetricSpecification") or {}).get("PredefinedMetricType")
        if metric != METRICS[kind]:
            return None
        return self.config


@dataclass
class TargetView:
    """A scalable target of namespace dynamodb and its policies, copied out of moto."""

    region: str
    resource_id: str
    dimension: str
    minimum: int | None
    maximum: int | None
    role: str | None
    suspended: dict[str, Any] = field(default_factory=dict)
    policies: list[PolicyView] = field(default_factory=list)

    @property
    def kind(self) -> str:
        return READ if self.dimension.endswith(":ReadCapacityUnits") else WRITE

    def description(self) -> dict[str, Any]:
        """AutoScalingSettingsDescription."""
        out: dict[str, Any] = {}
        if self.minimum is not None:
            out["MinimumUnits"] = self.minimum
        if self.maximum is not None:
            out["MaximumUnits"] = self.maximum
        # Scaling both ways suspended: auto scaling does nothing for this target.
        out["AutoScalingDisabled"] = bool(self.suspended.get("DynamicScalingInSuspended")) and bool(self.suspended.get("DynamicScalingOutSuspended"))
        if self.role:
            out["AutoScalingRoleArn"] = self.role
        policies = []
        for p in self.policies:
            config = p.tracking(self.kind)
            if config is None:
                continue
            desc = {k: config[k] for k in ("DisableScaleIn", "ScaleInCooldown", "ScaleOutCooldown", "TargetValue") if config.get(k) is not None}
            policies.append({"PolicyName": p.name, "TargetTrackingScalingPolicyConfiguration": desc})
        if policies:
            out["ScalingPolicies"] = policies
        return out


Targets = dict[tuple[str, str, str], TargetView]  # (region, resource id, dimension) -> target
DISABLED: dict[str, Any] = {"AutoScalingDisabled": True}


def _backend(fallback: Any, region: str) -> Any:
    try:
        return fallback.backend("applicationautoscaling", region)
    except (KeyError, ValueError, ImportError):  # no such region in moto: nothing is scaled there
        return None


def read_targets(fallback: Any, regions: set[str], table: str | None = None) -> Targets:
    """moto's DynamoDB scalable targets in ``regions`` (of ``table`` only, when given).
    Run where moto's locks are held (``fallback.change``)."""
    out: Targets = {}
    for region in regions:
        backend = _backend(fallback, region)
        if backend is None:
            continue
        policies = [p for p in list(getattr(backend, "policies", {}).values()) if p.service_namespace == NAMESPACE]
        for dim, by_resource in list(getattr(backend, "targets", {}).items()):
            if not dim.startswith("dynamodb:"):
                continue
            for rid, t in list(by_resource.items()):
                if t.service_namespace != NAMESPACE:
                    continue
                parsed = parse_resource(rid)
                if parsed is None or (table is not None and parsed[0] != table):
                    continue
                out[(region, rid, dim)] = TargetView(
                    region,
                    rid,
                    dim,
                    t.min_capacity,
                    t.max_capacity,
                    t.role_arn,
                    dict(t.suspended_state or {}) if isinstance(t.suspended_state, dict) else {},
                    [
                        PolicyView(p.policy_name, p.policy_type, copy.deepcopy(p.target_tracking_scaling_policy_configuration or p.step_scaling_policy_configuration or {}))
                        for p in policies
                        if p.resource_id == rid and p.scalable_dimension == dim
                    ],
                )
    return out


def missing_bounds(updates: list[ScalingUpdate], existing: Targets) -> None:
    """A new scalable target needs both its MinCapacity and MaxCapacity (RegisterScalableTarget's
    rule); an existing one's new minimum may not pass its maximum, nor the other way."""
    for u in updates:
        if u.disabled:
            continue
        found = existing.get((u.region, u.resource_id, u.dimension))
        if found is None and (u.minimum is None or u.maximum is None):
            raise invalid(
                f"MinimumUnits and MaximumUnits must both be specified to enable auto scaling of {u.kind.lower()} capacity of {u.resource_id} in region {u.region}"
            )
        if found is not None:
            low = u.minimum if u.minimum is not None else found.minimum
            high = u.maximum if u.maximum is not None else found.maximum
            if low is not None and high is not None and low > high:
                raise invalid(f"Minimum units ({low}) cannot be greater than maximum units ({high}) for {u.resource_id} in region {u.region}")


def apply_updates(fallback: Any, account: str, updates: list[ScalingUpdate]) -> None:
    """Register/update/deregister the targets and put the target-tracking policies, as
    RegisterScalableTarget, PutScalingPolicy and DeregisterScalableTarget do. Run where
    moto's locks are held (``fallback.change``)."""
    for u in updates:
        backend = _backend(fallback, u.region)
        if backend is None:
            raise invalid(f"Application Auto Scaling is not available in region {u.region}")
        rid, dim = u.resource_id, u.dimension
        own = [p for p in list(backend.policies.values()) if p.service_namespace == NAMESPACE and p.resource_id == rid and p.scalable_dimension == dim]
        if u.disabled:
            # Deregistering a scalable target deletes its scaling policies (and their alarms).
            for p in own:
                backend.delete_scaling_policy(p.policy_name, NAMESPACE, rid, dim)
            if rid in backend.targets.get(dim, {}):
                backend.deregister_scalable_target(NAMESPACE, rid, dim)
            continue
        exists = rid in backend.targets.get(dim, {})
        if not exists or u.minimum is not None or u.maximum is not None:
            backend.register_scalable_target(NAMESPACE, rid, dim, u.minimum, u.maximum, u.role or default_role(account), None)
        if u.role is not None:
            backend.targets[dim][rid].role_arn = u.role
        if u.policy is None:
            continue
        tracking = [p for p in own if p.policy_type == "TargetTrackingScaling"]
        name = u.policy_name
        if name is None:
            # Without a name, the target's one target-tracking policy is the one updated.
            name = tracking[0].policy_name if len(tracking) == 1 else default_policy_name(u.kind, u.table, u.index)
        previous = next((p for p in tracking if p.policy_name == name), None)
        body: dict[str, Any] = copy.deepcopy(previous.target_tracking_scaling_policy_configuration) if previous is not None else {}
        body.update(u.policy)
        body["PredefinedMetricSpecification"] = {"PredefinedMetricType": METRICS[u.kind]}
        if previous is not None:
            previous.delete_alarms(backend.account_id, backend.region_name)  # put_scaling_policy makes new ones
        backend.put_scaling_policy(name, NAMESPACE, rid, dim, body, "TargetTrackingScaling")


# ------------------------------------------------------------------ the component
@dataclass
class Track:
    """What the evaluator remembers of one target between passes."""

    high: int = 0  # consecutive periods above the target (AlarmHigh's datapoints)
    low: int = 0  # consecutive periods below target - 20 (AlarmLow's)
    last_out: float = float("-inf")
    last_in: float = float("-inf")


class AutoScaling:
    """The four operations (run by the handler through ``_lifecycle``: the request's region
    set, one durable group) and the evaluator (started by the lifecycle)."""

    def __init__(self, lifecycle: Any) -> None:
        self.lc = lifecycle
        self.engine = lifecycle.engine
        self.fallback: Any = None  # moto (runtime.fallback), set by the handler
        # A cluster's dynamodb role: Application Auto Scaling is moto's in the gateway, read and
        # changed through it (emulator/cluster/autoscaling.py RemoteScaling); None: ``fallback``.
        self.remote: Any = None
        # AWS: one-minute CloudWatch datapoints; 2 above the target to scale out, 15 below to scale in.
        self.period = max(0.05, lifecycle.setting("autoscaling_period", 60.0))
        self.out_periods = max(1, int(lifecycle.setting("autoscaling_scale_out_periods", 2)))
        self.in_periods = max(1, int(lifecycle.setting("autoscaling_scale_in_periods", 15)))
        self.clock = time.monotonic
        # (region, table, GSI or None) -> [read, write] consumed since the last pass.
        self._consumed: dict[tuple[str, str, str | None], list[float]] = {}
        self._since = self.clock()
        self._tracks: dict[tuple[str, str, str], Track] = {}
        self._task: asyncio.Task[None] | None = None
        self.scaled = 0  # capacity changes made (health)

    # ------------------------------------------------------------ counting
    def consumed(self, region: str | None, consumed: dict[str, Any] | None) -> None:
        """What one request consumed (the handler's ``ctx.telemetry["consumed_capacity"]``):
        a table's own units (with its LSIs'), and each GSI's apart, as AWS meters them."""
        if not consumed:
            return
        region = region or self.engine.region
        indexes = consumed.get("indexes") or {}
        for name, used in (consumed.get("tables") or {}).items():
            table = self.engine.tables.get((region, name))
            if table is None or table.billing_mode != "PROVISIONED":
                continue  # only provisioned capacity is scaled: on-demand tables (most) count nothing
            gsis = table.gsis
            read, write = float(used.get("read", 0.0)), float(used.get("write", 0.0))
            for index, iused in (indexes.get(name) or {}).items():
                if index in gsis:
                    r, w = float(iused.get("read", 0.0)), float(iused.get("write", 0.0))
                    read -= r
                    write -= w
                    entry = self._consumed.setdefault((region, name, index), [0.0, 0.0])
                    entry[0] += r
                    entry[1] += w
            entry = self._consumed.setdefault((region, name, None), [0.0, 0.0])
            entry[0] += max(0.0, read)
            entry[1] += max(0.0, write)

    # ------------------------------------------------------------ running
    def start(self) -> None:
        self._since = self.clock()
        self._task = asyncio.get_running_loop().create_task(self._run(), name="dynamodb-autoscaling")

    async def stop(self) -> None:
        await stop_task(self._task)
        self._task = None

    def forget(self) -> None:
        """A reset: no counts or alarm streaks of the tables that were."""
        self._consumed.clear()
        self._tracks.clear()
        self._since = self.clock()

    def health(self) -> dict[str, Any]:
        return {"period": self.period, "tracked": len(self._tracks), "scaled": self.scaled}

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.period)
            try:
                await self.evaluate()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("DynamoDB auto scaling pass failed")

    async def _moto(self, fn: Any, write: bool) -> Any:
        return await self.fallback.change(SERVICE, fn, write=write)

    async def evaluate(self) -> None:
        """One pass: one datapoint per target (what was consumed since the last pass)."""
        now = self.clock()
        elapsed = max(1e-3, now - self._since)
        self._since = now
        consumed, self._consumed = self._consumed, {}
        regions = {t.region for t in list(self.engine.tables.values()) if t.billing_mode == "PROVISIONED"}
        if (self.fallback is None and self.remote is None) or not regions:
            self._tracks.clear()
            return
        targets = await self._targets(regions, None)
        seen = set()
        for key, target in targets.items():
            seen.add(key)
            try:
                await self._evaluate_one(target, consumed, elapsed, now)
            except AwsError as err:  # e.g. the day's decreases are used up: AWS's activity fails too
                log.info("auto scaling of %s %s in %s not done: %s", target.resource_id, target.dimension, target.region, err.message)
        for key in set(self._tracks) - seen:
            del self._tracks[key]

    async def _evaluate_one(self, target: TargetView, consumed: dict[tuple[str, str, str | None], list[float]], elapsed: float, now: float) -> None:
        parsed = parse_resource(target.resource_id)
        if parsed is None:
            return
        name, index = parsed
        table = self.engine.tables.get((target.region, name))
        if table is None or table.billing_mode != "PROVISIONED" or (index is not None and index not in table.gsis):
            return
        kind = target.kind
        if (index is not None) != target.dimension.startswith("dynamodb:index:"):
            return
        unit: Any = table.gsis[index] if index is not None else table
        current = int(unit.read_units if kind == READ else unit.write_units)
        track = self._tracks.setdefault((target.region, target.resource_id, target.dimension), Track())
        low_bound = target.minimum if target.minimum is not None else 1
        high_bound = target.maximum if target.maximum is not None else TABLE_MAX_UNITS
        # A target's capacity is kept within its bounds (a new or changed MinCapacity above the
        # current capacity scales out to it at once on AWS, a MaxCapacity below it scales in).
        if current < low_bound or current > high_bound:
            await self._set(table, index, kind, min(max(current, low_bound), high_bound))
            track.high = track.low = 0
            return
        config = next((c for p in target.policies if (c := p.tracking(kind)) is not None), None)
        if config is None or not current:
            return
        used = consumed.get((target.region, name, index), [0.0, 0.0])[0 if kind == READ else 1] / elapsed
        utilization = 100.0 * used / current
        goal = float(config.get("TargetValue") or 0.0)
        if goal <= 0:
            return
        track.high = track.high + 1 if utilization > goal else 0
        track.low = track.low + 1 if utilization < goal - SCALE_IN_MARGIN else 0
        # The capacity at which the consumption seen would be at the target utilization.
        desired = max(1, math.ceil(used * 100.0 / goal - 1e-9))
        if track.high >= self.out_periods:
            out_cooldown = float(config.get("ScaleOutCooldown") or 0)
            if target.suspended.get("DynamicScalingOutSuspended") or now - track.last_out < out_cooldown:
                return
            new = min(max(desired, current + 1), high_bound)
            if new > current:
                await self._set(table, index, kind, new)
                track.last_out = now
            track.high = 0
        elif track.low >= self.in_periods:
            in_cooldown = float(config.get("ScaleInCooldown") or 0)
            if config.get("DisableScaleIn") or target.suspended.get("DynamicScalingInSuspended") or now - track.last_in < in_cooldown:
                return
            new = max(desired, low_bound)
            if new < current:
                await self._set(table, index, kind, new)
                track.last_in = now
            track.low = 0

    async def _set(self, table: Table, index: str | None, kind: str, units: int) -> None:
        """Change one capacity through UpdateTable's path (DescribeTable shows it, the limiter
        follows it). Write capacity is the same in every replica of a global table."""
        engine = self.engine
        members = engine.group_members(table) if (kind == WRITE and table.replicas) else [table]
        if len(members) > 1:
            engine._check_group_idle(table, time.time())
        engine.begin_group()
        token = REGION.set(table.region)
        try:
            with engine.storage.transaction():
                for member in members:
                    engine._update_one(member, self._throughput_params(member, index, kind, units))
        except BaseException:
            engine._reload(members)
            raise
        finally:
            REGION.reset(token)
            await engine.durable()
        self.scaled += 1
        log.info("auto scaling set %s %s%s to %d", table.name, f"index {index} " if index else "", f"{kind.lower()} capacity", units)

    @staticmethod
    def _throughput_params(table: Table, index: str | None, kind: str, units: int) -> dict[str, Any]:
        if index is None:
            r, w = table.read_units, table.write_units
        else:
            idx = table.gsis[index]
            r, w = idx.read_units, idx.write_units
        pt = {"ReadCapacityUnits": units if kind == READ else r, "WriteCapacityUnits": units if kind == WRITE else w}
        if index is None:
            return {"TableName": table.name, "ProvisionedThroughput": pt}
        return {"TableName": table.name, "GlobalSecondaryIndexUpdates": [{"Update": {"IndexName": index, "ProvisionedThroughput": pt}}]}

    # ---------------------------------------------------------- operations
    def _need_moto(self, updates: list[ScalingUpdate]) -> None:
        if updates and self.fallback is None and self.remote is None:
            raise invalid("Auto scaling is not available: this server does not serve Application Auto Scaling (the moto fallback is off)")

    async def _targets(self, regions: set[str], table: str | None) -> Targets:
        """The scalable targets in ``regions`` (of ``table`` only, when given), with their policies."""
        if self.remote is not None:
            return await self.remote.read_targets(regions, table)  # type: ignore[no-any-return]
        if self.fallback is None:
            return {}
        return await self._moto(lambda: read_targets(self.fallback, regions, table), False)  # type: ignore[no-any-return]

    async def _apply(self, updates: list[ScalingUpdate]) -> None:
        if updates:
            account = self.engine.account_id
            if self.remote is not None:
                await self.remote.apply_updates(account, updates)
                return
            await self._moto(lambda: apply_updates(self.fallback, account, updates), True)

    @staticmethod
    def _settings(targets: Targets, region: str, table: str, index: str | None, kind: str) -> dict[str, Any]:
        found = targets.get((region, resource_id(table, index), dimension(kind, index)))
        return found.description() if found is not None else dict(DISABLED)

    # ---------------------------------------- legacy global tables (2017.11.29)
    async def describe_global_table_settings(self, params: dict[str, Any]) -> dict[str, Any]:
        members = self.engine.legacy_settings_members(params.get("GlobalTableName"))
        return await self._global_settings(members)

    async def update_global_table_settings(self, params: dict[str, Any]) -> dict[str, Any]:
        members, per_region, billing = self.engine.legacy_settings_plan(params)
        updates = self._global_scaling_updates(params, members, billing)
        self._need_moto(updates)
        name = members[0].name
        missing_bounds(updates, await self._targets({m.region for m in members}, name))
        self.engine.legacy_settings_apply(members, per_region)
        await self._apply(updates)
        return await self._global_settings(self.engine.legacy_settings_members(name))

    def _global_scaling_updates(self, params: dict[str, Any], members: list[Table], billing: str) -> list[ScalingUpdate]:
        name = members[0].name
        out: list[ScalingUpdate] = []
        spec = params.get("GlobalTableProvisionedWriteCapacityAutoScalingSettingsUpdate")
        if spec is not None:
            for m in members:  # writes reach every replica: the same settings everywhere
                out.append(check_update(spec, "globalTableProvisionedWriteCapacityAutoScalingSettingsUpdate", m.region, name, None, WRITE))
        for g in params.get("GlobalTableGlobalSecondaryIndexSettingsUpdate") or []:
            gspec = g.get("ProvisionedWriteCapacityAutoScalingSettingsUpdate")
            if gspec is not None:
                for m in members:
                    out.append(check_update(gspec, "globalTableGlobalSecondaryIndexSettingsUpdate.member.provisionedWriteCapacityAutoScalingSettingsUpdate", m.region, name, g["IndexName"], WRITE))
        for r in params.get("ReplicaSettingsUpdate") or []:
            rspec = r.get("ReplicaProvisionedReadCapacityAutoScalingSettingsUpdate")
            if rspec is not None:
                out.append(check_update(rspec, "replicaSettingsUpdate.member.replicaProvisionedReadCapacityAutoScalingSettingsUpdate", r["RegionName"], name, None, READ))
            for g in r.get("ReplicaGlobalSecondaryIndexSettingsUpdate") or []:
                gspec = g.get("ProvisionedReadCapacityAutoScalingSettingsUpdate")
                if gspec is not None:
                    out.append(
                        check_update(
                            gspec, "replicaSettingsUpdate.member.replicaGlobalSecondaryIndexSettingsUpdate.member.provisionedReadCapacityAutoScalingSettingsUpdate", r["RegionName"], name, g["IndexName"], READ
                        )
                    )
        if out and billing != "PROVISIONED" and any(not u.disabled for u in out):
            raise invalid("Auto scaling cannot be enabled for a global table in PAY_PER_REQUEST billing mode")
        return out

    async def _global_settings(self, members: list[Table]) -> dict[str, Any]:
        name = members[0].name
        targets = await self._targets({m.region for m in members}, name)
        now = time.time()
        states = {r: replica_state(e, now) for r, e in members[0].replicas.items()}
        replicas = []
        for m in sorted(members, key=lambda t: t.region):
            desc = m.describe({})
            entry: dict[str, Any] = {"RegionName": m.region, "ReplicaStatus": states.get(m.region) or "ACTIVE"}
            summary = desc.get("BillingModeSummary") or {"BillingMode": m.billing_mode}
            entry["ReplicaBillingModeSummary"] = summary
            entry["ReplicaProvisionedReadCapacityUnits"] = m.read_units
            entry["ReplicaProvisionedReadCapacityAutoScalingSettings"] = self._settings(targets, m.region, name, None, READ)
            entry["ReplicaProvisionedWriteCapacityUnits"] = m.write_units
            entry["ReplicaProvisionedWriteCapacityAutoScalingSettings"] = self._settings(targets, m.region, name, None, WRITE)
            gsis = []
            for idx in m.gsis.values():
                g: dict[str, Any] = {"IndexName": idx.name, "IndexStatus": idx.status}
                if idx.read_units:
                    g["ProvisionedReadCapacityUnits"] = idx.read_units
                g["ProvisionedReadCapacityAutoScalingSettings"] = self._settings(targets, m.region, name, idx.name, READ)
                if idx.write_units:
                    g["ProvisionedWriteCapacityUnits"] = idx.write_units
                g["ProvisionedWriteCapacityAutoScalingSettings"] = self._settings(targets, m.region, name, idx.name, WRITE)
                gsis.append(g)
            if gsis:
                entry["ReplicaGlobalSecondaryIndexSettings"] = gsis
            entry["ReplicaTableClassSummary"] = {"TableClass": m.table_class}
            replicas.append(entry)
        return {"GlobalTableName": name, "ReplicaSettings": replicas}

    # ------------------------------------------ replica auto scaling (2019.11.21)
    def _table(self, ref: Any) -> Table:
        table: Table = self.engine._table_for_control(ref)
        return table

    def _regions(self, table: Table) -> dict[str, str]:
        """Region -> ReplicaStatus of every replica of ``table``'s global table (its own
        region alone for a plain table)."""
        if not table.replicas:
            return {table.region: "ACTIVE"}
        now = time.time()
        out = {}
        for region, entry in table.replicas.items():
            state = replica_state(entry, now)
            if state is not None:
                out[region] = state
        out.setdefault(table.region, "ACTIVE")
        return out

    async def describe_table_replica_auto_scaling(self, params: dict[str, Any]) -> dict[str, Any]:
        return await self._replica_auto_scaling(self._table(params.get("TableName")))

    async def update_table_replica_auto_scaling(self, params: dict[str, Any]) -> dict[str, Any]:
        table = self._table(params.get("TableName"))
        regions = self._regions(table)
        name = table.name
        out: list[ScalingUpdate] = []
        spec = params.get("ProvisionedWriteCapacityAutoScalingUpdate")
        if spec is not None:
            for region in sorted(regions):
                out.append(check_update(spec, "provisionedWriteCapacityAutoScalingUpdate", region, name, None, WRITE))
        for g in params.get("GlobalSecondaryIndexUpdates") or []:
            index = self._index(table, g)
            gspec = g.get("ProvisionedWriteCapacityAutoScalingUpdate")
            if gspec is not None:
                for region in sorted(regions):
                    out.append(check_update(gspec, "globalSecondaryIndexUpdates.member.provisionedWriteCapacityAutoScalingUpdate", region, name, index, WRITE))
        seen: set[str] = set()
        for r in params.get("ReplicaUpdates") or []:
            given = r.get("RegionName") if isinstance(r, dict) else None
            if not isinstance(given, str):
                raise invalid("1 validation error detected: Value null at 'replicaUpdates.member.regionName' failed to satisfy constraint: Member must not be null")
            region = given
            if region not in regions or regions[region] == "DELETING":
                raise invalid(f"Replica in region {region} is not part of the global table {name}")
            if region in seen:
                raise invalid(f"Duplicate replica update for region {region}")
            seen.add(region)
            rspec = r.get("ReplicaProvisionedReadCapacityAutoScalingUpdate")
            if rspec is not None:
                out.append(check_update(rspec, "replicaUpdates.member.replicaProvisionedReadCapacityAutoScalingUpdate", region, name, None, READ))
            for g in r.get("ReplicaGlobalSecondaryIndexUpdates") or []:
                index = self._index(table, g)
                gspec = g.get("ProvisionedReadCapacityAutoScalingUpdate")
                if gspec is not None:
                    out.append(check_update(gspec, "replicaUpdates.member.replicaGlobalSecondaryIndexUpdates.member.provisionedReadCapacityAutoScalingUpdate", region, name, index, READ))
        if not out:
            raise invalid("At least one of ProvisionedWriteCapacityAutoScalingUpdate, GlobalSecondaryIndexUpdates or ReplicaUpdates must change an auto scaling setting")
        if table.billing_mode != "PROVISIONED" and any(not u.disabled for u in out):
            raise invalid(f"Auto scaling cannot be enabled for table {name}: its billing mode is PAY_PER_REQUEST")
        self.engine._check_group_idle(table, time.time())
        self._need_moto(out)
        missing_bounds(out, await self._targets(set(regions), name))
        await self._apply(out)
        return await self._replica_auto_scaling(self._table(params.get("TableName")))

    @staticmethod
    def _index(table: Table, spec: Any) -> str:
        index = spec.get("IndexName") if isinstance(spec, dict) else None
        if not isinstance(index, str):
            raise invalid("1 validation error detected: Value null at 'indexName' failed to satisfy constraint: Member must not be null")
        check_table_name(index, "indexName")
        if index not in table.gsis:
            raise AwsError("ResourceNotFoundException", f"Requested resource not found: Index: {index} not found", 400)
        return index

    async def _replica_auto_scaling(self, table: Table) -> dict[str, Any]:
        regions = self._regions(table)
        name = table.name
        targets = await self._targets(set(regions), name)
        replicas = []
        for region, state in sorted(regions.items()):
            member = self.engine.tables.get((region, name)) or table
            entry: dict[str, Any] = {"RegionName": region}
            gsis = []
            for idx in member.gsis.values():
                gsis.append(
                    {
                        "IndexName": idx.name,
                        "IndexStatus": idx.status,
                        "ProvisionedReadCapacityAutoScalingSettings": self._settings(targets, region, name, idx.name, READ),
                        "ProvisionedWriteCapacityAutoScalingSettings": self._settings(targets, region, name, idx.name, WRITE),
                    }
                )
            if gsis:
                entry["GlobalSecondaryIndexes"] = gsis
            entry["ReplicaProvisionedReadCapacityAutoScalingSettings"] = self._settings(targets, region, name, None, READ)
            entry["ReplicaProvisionedWriteCapacityAutoScalingSettings"] = self._settings(targets, region, name, None, WRITE)
            entry["ReplicaStatus"] = state
            replicas.append(entry)
        status = self.engine.describe(table)["TableStatus"]
        return {"TableAutoScalingDescription": {"TableName": name, "TableStatus": status, "Replicas": replicas}}
