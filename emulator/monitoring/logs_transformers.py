"""CloudWatch Logs transformers (PutTransformer, GetTransformer, DeleteTransformer,
TestTransformer) and their enforcement on PutLogEvents.

One transformer per log group, kept in the log store's database (table ``log_transformer``,
created here: opening an older ``logs.db`` adds it) by region and group name, and in memory
compiled, so that ingestion costs one dict lookup for a group without one. Transformers
are for groups of the Standard class only (InvalidParameterException otherwise).

At ingestion each event's message becomes the transformed event (the JSON of the resulting
fields, emulator.monitoring.logs_transform_processors); an event a processor fails on is
stored as it came, never dropped. Everything downstream (GetLogEvents, FilterLogEvents,
Insights, metric and subscription filters) then sees the stored, transformed event.
"""

from __future__ import annotations

import threading
from typing import Any

import orjson

from emulator.errors import AwsError
from emulator.monitoring.logs_transform_processors import (
    Transformer,
    compile_transformer,
)
from emulator.monitoring.logstore import Group, LogStore, invalid, not_found

MAX_TEST_EVENTS = 50  # TestTransformer's logEventMessages: 1 to 50 (botocore's model)

SCHEMA = """
    CREATE TABLE IF NOT EXISTS log_transformer (
        region TEXT NOT NULL, grp TEXT NOT NULL, created INTEGER NOT NULL, modified INTEGER NOT NULL,
        config BLOB NOT NULL, PRIMARY KEY (region, grp));
"""


class LogTransformers:
    def __init__(self, store: LogStore) -> None:
        self.store = store
        self._lock = threading.Lock()
        # (region, group name) -> compiled transformer: the ingestion path's only lookup
        self.active: dict[tuple[str, str], Transformer] = {}
        with store.lock:
            store.db.executescript(SCHEMA)
            rows = store.db.execute("SELECT region, grp, config FROM log_transformer").fetchall()
        for region, name, config in rows:
            try:
                self.active[(region, name)] = compile_transformer(orjson.loads(config))
            except AwsError:
                continue  # stored by an earlier version that accepted it: kept, not applied

    def reset(self) -> None:
        with self._lock, self.store.lock:
            self.store.db.execute("DELETE FROM log_transformer")
            self.active.clear()

    def _group(self, p: dict[str, Any], region: str) -> Group:
        ident = p.get("logGroupIdentifier")
        if not ident:
            raise invalid("1 validation error detected: Value null at 'logGroupIdentifier' failed to satisfy constraint: Member must not be null")
        return self.store.resolve_group({"logGroupIdentifier": ident}, region=region)

    # ------------------------------------------------------------ operations
    def put(self, p: dict[str, Any], region: str) -> None:
        group = self._group(p, region)
        if group.cls != "STANDARD":
            raise invalid(f"Transformers can be created only for log groups in the Standard log class; {group.name} is {group.cls}.")
        config = p.get("transformerConfig")
        transformer = compile_transformer(config)
        now = self.store.now_ms()
        with self._lock, self.store.lock:
            self.store.db.execute(
                "INSERT INTO log_transformer(region, grp, created, modified, config) VALUES (?,?,?,?,?) "
                "ON CONFLICT(region, grp) DO UPDATE SET modified=excluded.modified, config=excluded.config",
                (group.region, group.name, now, now, orjson.dumps(config)),
            )
            self.active[(group.region, group.name)] = transformer

    def get(self, p: dict[str, Any], region: str) -> dict[str, Any]:
        group = self._group(p, region)
        with self.store.lock:
            row = self.store.db.execute("SELECT created, modified, config FROM log_transformer WHERE region=? AND grp=?", (group.region, group.name)).fetchone()
        if row is None:
            raise not_found("Transformer does not exist for the log group.")
        return {"logGroupIdentifier": p["logGroupIdentifier"], "creationTime": row[0], "lastModifiedTime": row[1], "transformerConfig": orjson.loads(row[2])}

    def delete(self, p: dict[str, Any], region: str) -> None:
        group = self._group(p, region)
        self.forget(group.region, group.name, missing_ok=False)

    def forget(self, region: str, name: str, missing_ok: bool = True) -> None:
        """Drop a group's transformer (DeleteTransformer; DeleteLogGroup with ``missing_ok``)."""
        with self._lock, self.store.lock:
            deleted = self.store.db.execute("DELETE FROM log_transformer WHERE region=? AND grp=?", (region, name)).rowcount
            self.active.pop((region, name), None)
        if not deleted and not missing_ok:
            raise not_found("Transformer does not exist for the log group.")

    @staticmethod
    def test(p: dict[str, Any]) -> dict[str, Any]:
        messages = p.get("logEventMessages")
        if not isinstance(messages, list) or not 1 <= len(messages) <= MAX_TEST_EVENTS:
            raise invalid(f"1 validation error detected: Value at 'logEventMessages' failed to satisfy constraint: Member must have length between 1 and {MAX_TEST_EVENTS}")
        transformer = compile_transformer(p.get("transformerConfig"))
        out = []
        for i, message in enumerate(messages, start=1):
            transformed = transformer.apply(str(message), strict=True)  # a pattern out of budget: InvalidParameterException
            # an event a processor fails on is ingested unchanged: so it is shown here
            out.append({"eventNumber": i, "eventMessage": message, "transformedEventMessage": message if transformed is None else transformed})
        return {"transformedLogs": out}

    # ------------------------------------------------------------ ingestion
    def transform_events(self, transformer: Transformer, events: list[Any], meta: dict[str, str]) -> list[Any]:
        """PutLogEvents' ``logEvents`` with each message transformed (new dicts: the request's are left alone)."""
        out: list[Any] = []
        for e in events:
            if not isinstance(e, dict) or not isinstance(e.get("message"), str):
                out.append(e)  # the store refuses what is malformed, with AWS's message
                continue
            transformed = transformer.apply(e["message"], meta)
            out.append(e if transformed is None else {**e, "message": transformed})
        return out
