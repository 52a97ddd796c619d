"""CloudWatch Logs field index policies (PutIndexPolicy, DescribeIndexPolicies,
DeleteIndexPolicy), the field indexes they make (DescribeFieldIndexes), and log group
deletion protection (PutLogGroupDeletionProtection).

Kept in the log store's database: tables ``index_policy`` (a group's own policy, by group id
and creation time, so that a group deleted and created again under the same name starts
without one) and ``field_index`` (per group and field: the first and last event time seen,
when it was last scanned, and the event id the scan has reached), created here: opening an
older ``logs.db`` adds them, and opening it again changes nothing.

A group's own policy overrides the account's (PutAccountPolicy with FIELD_INDEX_POLICY,
stored by emulator.monitoring.logs_protection in ``account_policy``, read here): among the
account policies, the one whose ``LogGroupNamePrefix IN [...]`` selection matches the group
with the longest prefix applies, else one without selection criteria.

DescribeFieldIndexes works from the events actually stored, in bounded steps: each call reads
at most ``SCAN_WINDOW`` event ids per group past where the previous call stopped (a range of
the event table's primary key, never the whole table), and at most ``SCAN_BUDGET`` in all, so
a large backlog is caught up over several calls. A field's events are those, ingested since
the policy that names it, whose JSON has the field (nested names with dots, as Insights
flattens them). A field a policy no longer names is INACTIVE; the default indexes
(``@logStream``, ``traceId``) are listed once an event has them."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import Any

import orjson

from emulator.monitoring.logs_requests import json_document
from emulator.monitoring.logstore import Group, LogStore, invalid, not_found
from emulator.monitoring.query import encode_token
from emulator.monitoring.query import token_int as _token_int

MAX_FIELDS = 20  # "As many as 20 fields can be included in the policy."
MAX_FIELD_LENGTH = 100  # "Each field name can include as many as 100 characters."
MAX_DOCUMENT = 51_200
TYPES = ("FIELD_INDEX", "FACET")
CATEGORIES = ("DEFAULT", "CUSTOM", "AUTO", "INACTIVE")
DEFAULT_FIELDS = ("@logStream", "traceId")  # the documented default indexes that events here can carry
SCAN_WINDOW = 20_000  # event ids one group's scan covers per call
SCAN_BUDGET = 200_000  # event ids one DescribeFieldIndexes call covers in all
PAGE = 1000
_PREFIX_RE = re.compile(r'^\s*LogGroupNamePrefix\s+IN\s+\[(.*)\]\s*$', re.IGNORECASE | re.DOTALL)

SCHEMA = """
    CREATE TABLE IF NOT EXISTS index_policy (
        gid INTEGER PRIMARY KEY, region TEXT NOT NULL, grp TEXT NOT NULL, grp_created INTEGER NOT NULL,
        document TEXT NOT NULL, updated INTEGER NOT NULL);
    CREATE TABLE IF NOT EXISTS field_index (
        gid INTEGER NOT NULL, grp_created INTEGER NOT NULL, field TEXT NOT NULL, type TEXT NOT NULL,
        since INTEGER NOT NULL, first_ts INTEGER, last_ts INTEGER, scanned INTEGER, cursor INTEGER NOT NULL,
        PRIMARY KEY (gid, field));
"""


@dataclass(frozen=True)
class Effective:
    """The index policy a group uses: its own, or the account's."""

    fields: dict[str, str]  # field -> FIELD_INDEX or FACET
    document: str
    updated: int
    since: int
    source: str  # LOG_GROUP or ACCOUNT
    name: str | None  # the account policy's name


def parse_document(document: Any, strict: bool = True) -> dict[str, str]:
    """The fields of an index policy document ``{"Fields": [...], "FieldsV2": {name: {"type": ...}}}``,
    validated as PutIndexPolicy does (InvalidParameterException); ``strict=False`` reads a
    stored (account) document leniently, ignoring what does not parse."""
    doc = json_document(document, "policyDocument", MAX_DOCUMENT, "index policy document")
    fields: dict[str, str] = {}
    plain = doc.get("Fields", [])
    v2 = doc.get("FieldsV2", {})
    if strict:
        unknown = set(doc) - {"Fields", "FieldsV2"}
        if unknown:
            raise invalid(f"Invalid index policy document: unknown key {min(unknown)}; an index policy has Fields and FieldsV2.")
        if not isinstance(plain, list) or not all(isinstance(f, str) for f in plain):
            raise invalid("Invalid index policy document: Fields must be a list of field names.")
        if not isinstance(v2, dict) or not all(isinstance(v, dict) and v.get("type") in TYPES for v in v2.values()):
            raise invalid("Invalid index policy document: each FieldsV2 entry must be an object with a type of FIELD_INDEX or FACET.")
    for name in plain if isinstance(plain, list) else []:
        if isinstance(name, str):
            if strict and name in fields:
                raise invalid(f"Invalid index policy document: the field {name} is listed more than once.")
            fields[name] = "FIELD_INDEX"
    for name, spec in (v2 if isinstance(v2, dict) else {}).items():
        kind = spec.get("type") if isinstance(spec, dict) else None
        if kind not in TYPES:
            continue
        if strict and name in fields:
            raise invalid("Invalid index policy document: field names within Fields and FieldsV2 must be mutually exclusive.")
        fields[name] = kind
    if strict:
        if not fields:
            raise invalid("Invalid index policy document: the policy document must include at least one field index.")
        if len(fields) > MAX_FIELDS:
            raise invalid(f"Invalid index policy document: a field index policy can include at most {MAX_FIELDS} fields.")
        for name in fields:
            if not 1 <= len(name) <= MAX_FIELD_LENGTH:
                raise invalid(f"Invalid index policy document: the field name {name[:MAX_FIELD_LENGTH]}... is longer than {MAX_FIELD_LENGTH} characters." if name else "Invalid index policy document: a field name is empty.")
    return fields


def _prefixes(selection: str | None) -> list[str] | None:
    """The prefixes of ``LogGroupNamePrefix IN ["a", "b"]``; None without selection criteria."""
    if not selection:
        return None
    m = _PREFIX_RE.match(selection)
    if not m:
        return []  # criteria this endpoint cannot read select no group
    return [p.strip().strip('"').strip("'") for p in m.group(1).split(",") if p.strip()]


def field_value(doc: dict[str, Any], name: str) -> Any:
    """The value of ``name`` in a JSON event: a key as is, else a dotted path into nested objects
    (and list indexes), as Insights flattens JSON events."""
    if name in doc:
        return doc[name]
    cur: Any = doc
    for part in name.split("."):
        if isinstance(cur, dict) and part in cur:
            cur = cur[part]
        elif isinstance(cur, list) and part.isdigit() and int(part) < len(cur):
            cur = cur[int(part)]
        else:
            return None
    return cur


class LogsIndexes:
    def __init__(self, store: LogStore) -> None:
        self.store = store
        self._lock = threading.Lock()  # one scan or policy change at a time
        with store.lock:
            store.db.executescript(SCHEMA)
            # the policies and indexes of groups deleted since (they go with the group)
            for table in ("index_policy", "field_index"):
                store.db.execute(f"DELETE FROM {table} WHERE NOT EXISTS (SELECT 1 FROM grp WHERE grp.id = {table}.gid AND grp.created = {table}.grp_created)")

    def reset(self) -> None:
        with self._lock, self.store.lock:
            self.store.db.execute("DELETE FROM index_policy")
            self.store.db.execute("DELETE FROM field_index")

    # ------------------------------------------------------------ policies
    def _own(self, group: Group) -> tuple[str, int] | None:
        with self.store.lock:
            row = self.store.db.execute("SELECT grp_created, document, updated FROM index_policy WHERE gid=?", (group.id,)).fetchone()
        return (row[1], row[2]) if row is not None and row[0] == group.created else None

    def _account(self, group: Group) -> tuple[str, str, int, int] | None:
        """(name, document, updated, since) of the account policy that applies to ``group``."""
        with self.store.lock:
            rows = self.store.db.execute(
                "SELECT name, document, selection, updated, since FROM account_policy WHERE region=? AND type='FIELD_INDEX_POLICY' ORDER BY name", (group.region,)
            ).fetchall()
        best: tuple[int, tuple[str, str, int, int]] | None = None
        for name, document, selection, updated, since in rows:
            prefixes = _prefixes(selection)
            rank = 0 if prefixes is None else max((len(p) + 1 for p in prefixes if group.name.startswith(p)), default=-1)
            if rank >= 0 and (best is None or rank > best[0]):
                best = (rank, (name, document, updated, since))
        return best[1] if best is not None else None

    def effective(self, group: Group) -> Effective | None:
        own = self._own(group)
        if own is not None:
            return Effective(parse_document(own[0], strict=False), own[0], own[1], own[1], "LOG_GROUP", None)
        acct = self._account(group)
        if acct is not None:
            try:
                fields = parse_document(acct[1], strict=False)
            except Exception:  # noqa: BLE001 - a stored account document that no longer parses indexes nothing
                fields = {}
            return Effective(fields, acct[1], acct[2], acct[3], "ACCOUNT", acct[0])
        return None

    def put(self, p: dict[str, Any], region: str) -> dict[str, Any]:
        ident = p.get("logGroupIdentifier") or ""
        group = self.store.resolve_group({"logGroupIdentifier": ident}, region=region)
        fields = parse_document(p.get("policyDocument"))
        if group.cls != "STANDARD":
            raise invalid("Field index policies are supported only for log groups in the Standard log class.")
        document = str(p["policyDocument"])
        now = self.store.now_ms()
        with self._lock, self.store.lock:
            self.store.db.execute(
                "INSERT OR REPLACE INTO index_policy(gid, region, grp, grp_created, document, updated) VALUES (?,?,?,?,?,?)",
                (group.id, group.region, group.name, group.created, document, now),
            )
            self._sync_fields(group, fields, now)
        return {"indexPolicy": self._item(group, document, now, "LOG_GROUP", None)}

    def _sync_fields(self, group: Group, fields: dict[str, str], now: int) -> None:
        """Rows for the fields of the group's policy (new ones indexed from the newest event
        on); the rows of fields no longer named stay, INACTIVE when described."""
        self._forget_previous(group)
        top = self.store.db.execute("SELECT COALESCE(MAX(id), 0) FROM event").fetchone()[0]
        for name, kind in fields.items():
            self.store.db.execute(
                "INSERT INTO field_index(gid, grp_created, field, type, since, cursor) VALUES (?,?,?,?,?,?) "
                "ON CONFLICT(gid, field) DO UPDATE SET type=excluded.type",
                (group.id, group.created, name, kind, now, top),
            )

    def _forget_previous(self, group: Group) -> None:
        # the rows of an earlier group under this id (deleted, its id used again)
        self.store.db.execute("DELETE FROM field_index WHERE gid=? AND grp_created != ?", (group.id, group.created))

    def _item(self, group: Group, document: str, updated: int, source: str, name: str | None) -> dict[str, Any]:
        item: dict[str, Any] = {"logGroupIdentifier": self.store.group_arn(group.name, group.region), "lastUpdateTime": updated, "policyDocument": document, "source": source}
        if name is not None:
            item["policyName"] = name
        return item

    def describe(self, p: dict[str, Any], region: str) -> dict[str, Any]:
        idents = p.get("logGroupIdentifiers") or []
        if len(idents) != 1:
            raise invalid("1 validation error detected: Value at 'logGroupIdentifiers' failed to satisfy constraint: Member must have length less than or equal to 1" if idents else "1 validation error detected: Value null at 'logGroupIdentifiers' failed to satisfy constraint: Member must not be null")
        group = self.store.resolve_group({"logGroupIdentifier": idents[0]}, region=region)
        eff = self.effective(group)
        if eff is None:
            return {"indexPolicies": []}
        return {"indexPolicies": [self._item(group, eff.document, eff.updated, eff.source, eff.name)]}

    def delete(self, p: dict[str, Any], region: str) -> None:
        group = self.store.resolve_group({"logGroupIdentifier": p.get("logGroupIdentifier") or ""}, region=region)
        with self._lock:
            if self._own(group) is None:
                raise not_found("The specified log group does not have a log group-level index policy.")
            with self.store.lock:
                self.store.db.execute("DELETE FROM index_policy WHERE gid=?", (group.id,))

    # ------------------------------------------------------------ field indexes
    def field_indexes(self, p: dict[str, Any], region: str) -> dict[str, Any]:
        """DescribeFieldIndexes; scans the store (bounded), so the handler runs it off the loop."""
        idents = p.get("logGroupIdentifiers") or []
        if not 1 <= len(idents) <= 100:
            raise invalid("1 validation error detected: Value at 'logGroupIdentifiers' failed to satisfy constraint: Member must have length between 1 and 100")
        cats = p.get("indexCategories")
        for c in cats or []:
            if c not in CATEGORIES:
                raise invalid(f"1 validation error detected: Value '{c}' at 'indexCategories' failed to satisfy constraint: Member must satisfy enum value set: [{', '.join(CATEGORIES)}]")
        wanted = set(cats) if cats else {"DEFAULT", "CUSTOM", "INACTIVE"}
        groups = [self.store.resolve_group({"logGroupIdentifier": i}, region=region) for i in idents]
        budget = SCAN_BUDGET
        items: list[dict[str, Any]] = []
        with self._lock:
            for group in groups:
                budget -= self._scan(group, budget)
                items += self._group_items(group, wanted)
        start = _token_int(p["nextToken"], "o") if p.get("nextToken") else 0
        out: dict[str, Any] = {"fieldIndexes": items[start : start + PAGE]}
        if start + PAGE < len(items):
            out["nextToken"] = encode_token({"o": start + PAGE})
        return out

    def _scan(self, group: Group, budget: int) -> int:
        """Advance ``group``'s field rows over at most min(SCAN_WINDOW, budget) event ids;
        returns how many ids it covered."""
        eff = self.effective(group)
        now = self.store.now_ms()
        with self.store.lock:
            self._forget_previous(group)
            top = self.store.db.execute("SELECT COALESCE(MAX(id), 0) FROM event").fetchone()[0]
            known = {r[0] for r in self.store.db.execute("SELECT field FROM field_index WHERE gid=? AND grp_created=?", (group.id, group.created))}
            fresh = [n for n in (*(eff.fields if eff is not None else ()), *DEFAULT_FIELDS) if n not in known]
            # A field first seen here (inherited from the account, or a default) is indexed over the
            # group's stored events: from its oldest event id on (once, an index range of this group).
            lo = self.store.db.execute("SELECT COALESCE(MIN(id), 1) - 1 FROM event WHERE gid=?", (group.id,)).fetchone()[0] if fresh else 0
            if eff is not None:
                for name, kind in eff.fields.items():
                    self.store.db.execute(
                        "INSERT INTO field_index(gid, grp_created, field, type, since, cursor) VALUES (?,?,?,?,?,?) "
                        "ON CONFLICT(gid, field) DO UPDATE SET type=excluded.type",
                        (group.id, group.created, name, kind, eff.since, lo),
                    )
            for name in DEFAULT_FIELDS:
                self.store.db.execute(
                    "INSERT OR IGNORE INTO field_index(gid, grp_created, field, type, since, cursor) VALUES (?,?,?,'FIELD_INDEX',?,?)",
                    (group.id, group.created, name, group.created, lo),
                )
            rows = self.store.db.execute(
                "SELECT field, since, first_ts, last_ts, cursor FROM field_index WHERE gid=? AND grp_created=?", (group.id, group.created)
            ).fetchall()
        if not rows or budget <= 0:
            return 0
        # the newest events were deleted (a group or stream): their ids are used again
        cursor = min(min(r[4] for r in rows), top)
        hi = min(top, cursor + min(SCAN_WINDOW, budget))
        if hi <= cursor:
            with self.store.lock:
                self.store.db.execute("UPDATE field_index SET scanned=?, cursor=MIN(cursor, ?) WHERE gid=?", (now, top, group.id))
            return 0
        with self.store.lock:
            events = self.store.db.execute(
                "SELECT e.id, e.ts, e.ingest, e.message, s.name FROM event e JOIN stream s ON s.id = e.sid WHERE e.id > ? AND e.id <= ? AND e.gid = ? ORDER BY e.id",
                (cursor, hi, group.id),
            ).fetchall()
        state = {r[0]: [r[1], r[2], r[3], min(r[4], top)] for r in rows}
        cutoff = self.store.cutoff_ms(group)
        for eid, ts, ingest, message, _stream in events:
            if ts < cutoff:
                continue
            doc: Any = None
            text = message.lstrip()
            if text.startswith("{"):
                try:
                    doc = orjson.loads(text)
                except orjson.JSONDecodeError:
                    doc = None
            for name, st in state.items():
                since, first, last, fcursor = st
                if eid <= fcursor or ingest < since:
                    continue
                if name == "@logStream":
                    present = True
                else:
                    present = isinstance(doc, dict) and field_value(doc, name) is not None
                if present:
                    st[1] = ts if first is None else min(first, ts)
                    st[2] = ts if last is None else max(last, ts)
        with self.store.lock:
            for name, (_since, first, last, fcursor) in state.items():
                self.store.db.execute(
                    "UPDATE field_index SET first_ts=?, last_ts=?, scanned=?, cursor=? WHERE gid=? AND field=?",
                    (first, last, now, max(fcursor, hi), group.id, name),
                )
        return hi - cursor

    def _group_items(self, group: Group, wanted: set[str]) -> list[dict[str, Any]]:
        eff = self.effective(group)
        active = eff.fields if eff is not None else {}
        with self.store.lock:
            rows = self.store.db.execute(
                "SELECT field, type, first_ts, last_ts, scanned FROM field_index WHERE gid=? AND grp_created=? ORDER BY field", (group.id, group.created)
            ).fetchall()
        out = []
        arn = self.store.group_arn(group.name, group.region)
        for name, kind, first, last, scanned in rows:
            if name in active:
                category = "CUSTOM"
            elif name in DEFAULT_FIELDS:
                category = "DEFAULT"
                if first is None:
                    continue  # a default index is listed once events have the field
            else:
                category = "INACTIVE"
            if category not in wanted:
                continue
            item: dict[str, Any] = {"logGroupIdentifier": arn, "fieldIndexName": name, "type": active.get(name, kind), "indexCategory": category}
            if scanned is not None:
                item["lastScanTime"] = scanned
            if first is not None:
                item["firstEventTime"], item["lastEventTime"] = first, last
            out.append(item)
        return out

    def indexed(self, group: Group) -> set[str]:
        """The fields a group indexes now (its policy's, and the defaults)."""
        eff = self.effective(group)
        return set(DEFAULT_FIELDS) | (set(eff.fields) if eff is not None else set())

    # ------------------------------------------------------------ deletion protection
    def set_protection(self, p: dict[str, Any], region: str) -> None:
        if p.get("deletionProtectionEnabled") is None:
            raise invalid("1 validation error detected: Value null at 'deletionProtectionEnabled' failed to satisfy constraint: Member must not be null")
        group = self.store.resolve_group({"logGroupIdentifier": p.get("logGroupIdentifier") or ""}, region=region)
        with self.store.lock:
            self.store.db.execute("UPDATE grp SET protection=? WHERE id=?", (1 if p["deletionProtectionEnabled"] else 0, group.id))
