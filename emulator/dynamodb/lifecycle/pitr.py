"""Point-in-time recovery: UpdateContinuousBackups, DescribeContinuousBackups,
RestoreTableToPointInTime.

Enabling PITR takes a base snapshot of the table; from then on a write hook
records every item version (new image, or None for a delete) with its commit
time, in the same transaction as the change. The table as it was at time T is
the base plus every recorded version with time <= T, replayed in commit order.
https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/PointInTimeRecovery.html
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from emulator.dynamodb.core import Item, dumps
from emulator.dynamodb.lifecycle import restore as restorer
from emulator.dynamodb.lifecycle.common import epoch, iso, named_table, wire_time
from emulator.dynamodb.tables import Table, check_table_name
from emulator.errors import AwsError

if TYPE_CHECKING:
    from emulator.dynamodb.lifecycle import Lifecycle

KIND = "pitr"
MAX_DAYS = 35


class Pitr:
    def __init__(self, lc: Lifecycle) -> None:
        self.lc = lc
        self.storage = lc.storage
        self.default_days = int(lc.setting("pitr_window_days", MAX_DAYS))
        self.enabled: dict[str, dict[str, Any]] = {}  # table uuid -> settings

    def load(self) -> None:
        self.enabled = {k: m for k, m in self.storage.meta_list(KIND) if m.get("enabled")}

    # ------------------------------------------------------------ writing
    def record(self, table: Table, old: Item | None, new: Item | None, now: float) -> None:
        if table.table_uuid not in self.enabled:
            return
        image = new if new is not None else old
        assert image is not None
        key = self.lc.engine.key_from_item(table, image)
        self.storage.history_append(table.table_uuid, now, key.pk, key.sk, dumps(new) if new is not None else None)

    # ------------------------------------------------------------ helpers
    def _table(self, name: Any, cross_region: bool = False) -> Table:
        return named_table(self.lc.engine.tables, name, self.lc.engine.current_region(), cross_region)

    def window(self, cfg: dict[str, Any]) -> tuple[float, float]:
        now = self.lc.clock()
        return max(cfg["since"], now - cfg["days"] * 86400), now

    def describe_for(self, table: Table) -> dict[str, Any]:
        cfg = self.enabled.get(table.table_uuid)
        pitr: dict[str, Any] = {"PointInTimeRecoveryStatus": "ENABLED" if cfg else "DISABLED"}
        if cfg:
            earliest, latest = self.window(cfg)
            pitr["RecoveryPeriodInDays"] = cfg["days"]
            pitr["EarliestRestorableDateTime"] = wire_time(earliest)
            pitr["LatestRestorableDateTime"] = wire_time(latest)
        return {"ContinuousBackupsDescription": {"ContinuousBackupsStatus": "ENABLED", "PointInTimeRecoveryDescription": pitr}}

    def state_at(self, table: Table, at: float) -> Iterator[tuple[bytes, bytes, bytes]]:
        """The table's base rows as they were at ``at``: base snapshot + replayed history."""
        return self.state_of(table.table_uuid, at)

    def state_of(self, key: str, at: float) -> Iterator[tuple[bytes, bytes, bytes]]:
        cfg = self.enabled[key]
        state: dict[tuple[bytes, bytes], bytes] = {(r.pk, r.sk): r.data for r in self.storage.snapshot_rows(cfg["base"])}
        for _ts, pk, sk, data in self.storage.history_rows(key, at):
            if data is None:
                state.pop((pk, sk), None)
            else:
                state[(pk, sk)] = data
        for (pk, sk), data in sorted(state.items()):
            yield pk, sk, data

    def resolve_time(self, table: Table, when: Any, use_latest: bool) -> float:
        cfg = self.enabled.get(table.table_uuid)
        if cfg is None:
            raise AwsError("PointInTimeRecoveryUnavailableException", f"Point in time recovery is not enabled for table '{table.name}'", 400)
        earliest, latest = self.window(cfg)
        if use_latest:
            return latest
        at = epoch(when)
        if at is None:
            raise AwsError("ValidationException", "Either RestoreDateTime or UseLatestRestorableTime must be specified", 400)
        # Timestamps arrive truncated to the second: a second counts as restorable
        # if any part of it is inside the window.
        if at < int(earliest) or at > latest:
            raise AwsError("InvalidRestoreTimeException", f"Only RestoreDateTime between {iso(earliest)} and {iso(latest)} can be used.", 400)
        return at

    # ---------------------------------------------------------------- API
    def update_continuous_backups(self, params: dict[str, Any]) -> dict[str, Any]:
        table = self._table(params.get("TableName"))
        spec = params.get("PointInTimeRecoverySpecification")
        if not isinstance(spec, dict) or spec.get("PointInTimeRecoveryEnabled") is None:
            raise AwsError(
                "ValidationException",
                "1 validation error detected: Value null at 'pointInTimeRecoverySpecification' failed to satisfy constraint: Member must not be null",
                400,
            )
        days = spec.get("RecoveryPeriodInDays")
        if days is not None and (not isinstance(days, int) or not 1 <= days <= MAX_DAYS):
            raise AwsError(
                "ValidationException",
                f"1 validation error detected: Value '{days}' at 'pointInTimeRecoverySpecification.recoveryPeriodInDays' failed to satisfy constraint: Member must have value between 1 and {MAX_DAYS}",
                400,
            )
        key = table.table_uuid
        with self.storage.transaction():
            cfg = self.enabled.get(key)
            if spec["PointInTimeRecoveryEnabled"]:
                if cfg is None:
                    now = self.lc.clock()
                    base = f"pitr:{key}:{now}"
                    self.storage.snapshot_table(base, table.table_id)
                    cfg = {"enabled": True, "since": now, "base": base, "days": days or self.default_days, "table": table.name, "table_meta": table.to_meta()}
                elif days is not None:
                    cfg = {**cfg, "days": days}
                self.storage.meta_put(KIND, key, cfg)
                self.enabled[key] = cfg
            elif cfg is not None:
                self._drop(key, cfg)
        return self.describe_for(table)

    def _drop(self, key: str, cfg: dict[str, Any]) -> None:
        self.storage.snapshot_delete(cfg["base"])
        self.storage.history_delete(key)
        self.storage.meta_delete(KIND, key)
        self.enabled.pop(key, None)

    def describe_continuous_backups(self, params: dict[str, Any]) -> dict[str, Any]:
        return self.describe_for(self._table(params.get("TableName")))

    async def restore_table_to_point_in_time(self, params: dict[str, Any]) -> dict[str, Any]:
        source = params.get("SourceTableArn") or params.get("SourceTableName")
        if source is None:
            raise AwsError("ValidationException", "Either SourceTableArn or SourceTableName must be specified", 400)
        try:
            # A SourceTableArn may name a table of another region: PITR restores across
            # Regions (the new table is made in the request's region). A name is this region's.
            table = self._table(source, cross_region=bool(params.get("SourceTableArn")))
        except AwsError as exc:
            if exc.code == "TableNotFoundException":
                raise AwsError("SourceTableNotFoundException", f"Source table not found: {source}", 400) from exc
            raise
        target = params.get("TargetTableName")
        check_table_name(target, "targetTableName")
        if params.get("UseLatestRestorableTime") and params.get("RestoreDateTime") is not None:
            raise AwsError("ValidationException", "Only one of RestoreDateTime or UseLatestRestorableTime can be specified", 400)
        at = self.resolve_time(table, params.get("RestoreDateTime"), bool(params.get("UseLatestRestorableTime")))
        if (self.lc.engine.current_region(), target) in self.lc.engine.tables:
            raise AwsError("TableAlreadyExistsException", f"Table already exists: {target}", 400)
        rows = list(self.state_at(table, at))
        summary = {"SourceTableArn": table.arn, "RestoreDateTime": wire_time(at)}
        return await restorer.restore(self.lc, table.to_meta(), target, params, rows, summary)

    # ------------------------------------------------------- housekeeping
    def housekeeping(self) -> None:
        """Forget the history of tables that no longer exist, and fold versions that
        left the recovery window into the base snapshot (hourly at most per table)."""
        live = {t.table_uuid: t for t in self.lc.engine.tables.values()}
        now = self.lc.clock()
        for key, cfg in list(self.enabled.items()):
            table = live.get(key)
            if table is None:
                # DynamoDB keeps a SYSTEM backup of a deleted table that had PITR on
                # (named <table>$DeletedTableBackup, kept 35 days): make it from the
                # latest state, then forget the history.
                if cfg.get("table_meta"):
                    self.lc.backups.system_backup(cfg["table_meta"], self.state_of(key, now), now)
                with self.storage.transaction():
                    self._drop(key, cfg)
                continue
            meta = table.to_meta()
            if cfg.get("table_meta") != meta:  # keep the schema of the system backup current
                cfg = {**cfg, "table_meta": meta}
                with self.storage.transaction():
                    self.storage.meta_put(KIND, key, cfg)
                self.enabled[key] = cfg
            cutoff = now - cfg["days"] * 86400
            if cutoff - cfg["since"] < 3600:
                continue
            with self.storage.transaction():
                self.storage.history_compact(key, cfg["base"], cutoff)
                cfg = {**cfg, "since": cutoff}
                self.storage.meta_put(KIND, key, cfg)
            self.enabled[key] = cfg
