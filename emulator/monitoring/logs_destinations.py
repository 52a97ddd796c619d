"""CloudWatch Logs destinations (PutDestination, PutDestinationPolicy, DescribeDestinations,
DeleteDestination): the logical targets of cross-account subscriptions,
``arn:aws:logs:<region>:<account>:destination:<name>``, each wrapping a Kinesis data stream or
a Firehose delivery stream (``targetArn``) with the role CloudWatch Logs assumes to write it.

Destinations are regional and kept in the log store's database (table ``log_destination``,
created here: opening an older ``logs.db`` adds it, and opening it again changes nothing).
A subscription filter may name one (emulator.monitoring.logs_subscriptions): its events go to
the destination's target as they would to the target itself, AWS's test record included.
The target is looked up at each delivery, so a destination updated to another stream takes
effect at once, and one deleted stops delivery ("eventually disables all the subscription
filters that publish to it"): its events are dropped and logged. This endpoint serves one
account, so every sender is the destination's own account; the access policy is stored and
returned, not enforced (as on AWS, the owner's own filters need none).
"""

from __future__ import annotations

import re
import threading
from typing import Any

import orjson

from emulator.monitoring.logs_requests import page, policy_document
from emulator.monitoring.logstore import LogStore, invalid, not_found
from emulator.monitoring.query import encode_token

NAME_RE = re.compile(r"^[^:*]{1,512}$")
DESTINATION_ARN = re.compile(r"^arn:aws[a-z-]*:logs:([a-z0-9-]+):(\d{12}):destination:([^:*]{1,512})$")
TARGET_ARN = re.compile(r"^arn:aws[a-z-]*:(kinesis|firehose):[a-z0-9-]+:\d{12}:(stream|deliverystream)/[A-Za-z0-9_.-]{1,128}$")
ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$")
MAX_POLICY_BYTES = 5120  # "This can be up to 5120 bytes."

SCHEMA = """
    CREATE TABLE IF NOT EXISTS log_destination (
        region TEXT NOT NULL, name TEXT NOT NULL, target TEXT NOT NULL, role TEXT NOT NULL, policy TEXT,
        created INTEGER NOT NULL, tags BLOB NOT NULL DEFAULT '{}', PRIMARY KEY (region, name));
"""


def _name(p: dict[str, Any]) -> str:
    name = p.get("destinationName") or ""
    if not NAME_RE.match(name):
        raise invalid(f"1 validation error detected: Value '{name}' at 'destinationName' failed to satisfy constraint: Member must satisfy regular expression pattern: [^:*]*")
    return name


class LogsDestinations:
    def __init__(self, store: LogStore) -> None:
        self.store = store
        self._lock = threading.Lock()
        with store.lock:
            store.db.executescript(SCHEMA)

    def arn(self, region: str, name: str) -> str:
        return f"arn:aws:logs:{region}:{self.store.account_id}:destination:{name}"

    def reset(self) -> None:
        with self.store.lock:
            self.store.db.execute("DELETE FROM log_destination")

    def _item(self, region: str, row: tuple[Any, ...]) -> dict[str, Any]:
        name, target, role, policy, created = row
        out: dict[str, Any] = {"destinationName": name, "targetArn": target, "roleArn": role}
        if policy:
            out["accessPolicy"] = policy
        out.update(arn=self.arn(region, name), creationTime=created)
        return out

    def _row(self, region: str, name: str) -> tuple[Any, ...] | None:
        with self.store.lock:
            row: tuple[Any, ...] | None = self.store.db.execute(
                "SELECT name, target, role, policy, created FROM log_destination WHERE region=? AND name=?", (region, name)
            ).fetchone()
        return row

    # ------------------------------------------------------------ the API
    def put(self, p: dict[str, Any], region: str) -> dict[str, Any]:
        name = _name(p)
        target, role = p.get("targetArn") or "", p.get("roleArn") or ""
        if not TARGET_ARN.match(target):
            raise invalid(f"Invalid target ARN: {target}. The target of a destination must be a Kinesis data stream or a Firehose delivery stream.")
        if not ROLE_ARN.match(role):
            raise invalid(f"Invalid role ARN: {role}")
        tags = dict(p.get("tags") or {})
        if any(k.lower().startswith("aws:") for k in tags):
            raise invalid("Tag keys prefixed with aws: are reserved.")
        with self._lock, self.store.lock:
            if self._row(region, name) is None:
                self.store.db.execute(
                    "INSERT INTO log_destination(region, name, target, role, policy, created, tags) VALUES (?,?,?,?,NULL,?,?)",
                    (region, name, target, role, self.store.now_ms(), orjson.dumps(tags)),
                )
            else:  # an update: the new target and role; creation time, policy and tags stay
                self.store.db.execute("UPDATE log_destination SET target=?, role=? WHERE region=? AND name=?", (target, role, region, name))
            row = self._row(region, name)
        assert row is not None
        return {"destination": self._item(region, row)}

    def put_policy(self, p: dict[str, Any], region: str) -> None:
        name = _name(p)
        policy = policy_document(p, "accessPolicy", MAX_POLICY_BYTES, in_bytes=True)
        with self.store.lock:
            updated = self.store.db.execute("UPDATE log_destination SET policy=? WHERE region=? AND name=?", (policy, region, name)).rowcount
        if not updated:
            raise not_found("The specified destination does not exist.")

    def describe(self, p: dict[str, Any], region: str) -> dict[str, Any]:
        prefix = p.get("DestinationNamePrefix") or ""
        limit, offset = page(p, "limit", 50, 50)
        with self.store.lock:
            # ASCII order, as AWS sorts them (BINARY collation: byte order)
            rows = self.store.db.execute(
                "SELECT name, target, role, policy, created FROM log_destination WHERE region=? AND substr(name, 1, ?) = ? ORDER BY name LIMIT ? OFFSET ?",
                (region, len(prefix), prefix, limit + 1, offset),
            ).fetchall()
        out: dict[str, Any] = {"destinations": [self._item(region, r) for r in rows[:limit]]}
        if len(rows) > limit:
            out["nextToken"] = encode_token({"o": offset + limit})
        return out

    def delete(self, p: dict[str, Any], region: str) -> None:
        name = _name(p)
        with self.store.lock:
            deleted = self.store.db.execute("DELETE FROM log_destination WHERE region=? AND name=?", (region, name)).rowcount
        if not deleted:
            raise not_found("The specified destination does not exist.")

    # ------------------------------------------------------------ tags (TagResource & co. on a destination ARN)
    def tags(self, arn: str, region: str) -> dict[str, str]:
        name = self._from_arn(arn, region)
        with self.store.lock:
            row = self.store.db.execute("SELECT tags FROM log_destination WHERE region=? AND name=?", (region, name)).fetchone()
        if row is None:
            raise not_found("The specified destination does not exist.")
        return dict(orjson.loads(row[0]))

    def set_tags(self, arn: str, tags: dict[str, str], region: str) -> None:
        name = self._from_arn(arn, region)
        with self.store.lock:
            updated = self.store.db.execute("UPDATE log_destination SET tags=? WHERE region=? AND name=?", (orjson.dumps(tags), region, name)).rowcount
        if not updated:
            raise not_found("The specified destination does not exist.")

    def _from_arn(self, arn: str, region: str) -> str:
        m = DESTINATION_ARN.match(arn)
        if m is None or m.group(1) != region or m.group(2) != self.store.account_id:
            raise not_found("The specified destination does not exist.")
        return m.group(3)

    # ------------------------------------------------------------ for subscription filters
    def target(self, arn: str) -> str | None:
        """The target (Kinesis or Firehose ARN) of the destination ``arn``; None if there is none."""
        m = DESTINATION_ARN.match(arn)
        if m is None or m.group(2) != self.store.account_id:
            return None
        row = self._row(m.group(1), m.group(3))
        return None if row is None else str(row[1])
