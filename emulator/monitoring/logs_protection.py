"""CloudWatch Logs data protection policies (per log group and account-wide), account
policies of the other types (stored), the masking of events when they are read, and audit
findings.

Kept in the log store's database (tables ``data_protection_policy``, ``account_policy`` and
``data_protection_audit``, created here: opening an older ``logs.db`` adds them, and opening
it again changes nothing), and mirrored in memory so that reading a group costs one check
when no policy exists anywhere and two dict lookups otherwise (``masker``).

Masking follows the guide ("Help protect sensitive log data with masking"): sensitive data is
detected in the events ingested after the policy was set (its ingestion time is compared with
the policy's; the stored message is kept, so ``unmask=true`` shows it), and a group's own
policy and the account's are cumulative. A group policy belongs to the group by id and
creation time, so a group deleted and created again under the same name starts without one.

Audit findings are written off the request path by a worker that follows the event table
(the newest event id it has handled is saved): for each event of a group under a policy whose
Audit statement names a CloudWatch Logs group (``FindingsDestination.CloudWatchLogs.LogGroup``),
a finding ``{"auditTimestamp", "resourceArn", "dataIdentifiers": [{"name", "count",
"detections": [{"start", "end"}]}]}`` goes to that group, in a stream named after the source
group. Firehose and S3 findings destinations are refused (InvalidParameterException).

Account policies of the other types (SUBSCRIPTION_FILTER_POLICY, TRANSFORMER_POLICY,
FIELD_INDEX_POLICY, METRIC_EXTRACTION_POLICY, RETENTION_POLICY) are validated as JSON and
stored, not enforced."""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from emulator import user_regex
from emulator.errors import AwsError
from emulator.monitoring import logs_identifiers as ids
from emulator.monitoring.logs_requests import json_document
from emulator.monitoring.logstore import Group, LogStore, invalid, not_found

log = logging.getLogger("emulator.monitoring.logs_protection")

MAX_DOCUMENT = 30_720  # "The JSON specified in policyDocument can be up to 30,720 characters long."
MAX_CUSTOM = 10  # custom data identifiers per policy
POLICY_TYPES = ("DATA_PROTECTION_POLICY", "SUBSCRIPTION_FILTER_POLICY", "FIELD_INDEX_POLICY", "TRANSFORMER_POLICY", "METRIC_EXTRACTION_POLICY", "RETENTION_POLICY")
# types that take selectionCriteria (PutAccountPolicy's documentation), and how many policies of a type a region holds
SELECTION_TYPES = ("SUBSCRIPTION_FILTER_POLICY", "FIELD_INDEX_POLICY", "TRANSFORMER_POLICY", "RETENTION_POLICY")
MAX_PER_TYPE = {"DATA_PROTECTION_POLICY": 1, "SUBSCRIPTION_FILTER_POLICY": 1, "METRIC_EXTRACTION_POLICY": 1}
MAX_SELECTIVE = 20
AUDIT_BATCH = 2000  # events the audit worker reads at a time
CUSTOM_NAME_RE = re.compile(r"^[\w-]{1,128}$")

SCHEMA = """
    CREATE TABLE IF NOT EXISTS data_protection_policy (
        gid INTEGER PRIMARY KEY, region TEXT NOT NULL, grp TEXT NOT NULL, grp_created INTEGER NOT NULL,
        document TEXT NOT NULL, updated INTEGER NOT NULL, since INTEGER NOT NULL);
    CREATE TABLE IF NOT EXISTS account_policy (
        region TEXT NOT NULL, type TEXT NOT NULL, name TEXT NOT NULL, document TEXT NOT NULL, scope TEXT NOT NULL,
        selection TEXT, updated INTEGER NOT NULL, since INTEGER NOT NULL, PRIMARY KEY (region, type, name));
    CREATE TABLE IF NOT EXISTS data_protection_audit (id INTEGER PRIMARY KEY CHECK (id = 0), cursor INTEGER NOT NULL);
"""


@dataclass(frozen=True)
class Policy:
    identifiers: tuple[ids.Identifier, ...]
    since: int  # events ingested before this (ms) are not masked
    findings_group: str | None  # FindingsDestination.CloudWatchLogs.LogGroup


@dataclass(frozen=True)
class _Own:
    grp_created: int
    policy: Policy


def parse_policy(document: Any, since: int, group_exists: Callable[[str], bool]) -> Policy:
    """A data protection policy document, validated as AWS does (InvalidParameterException)."""
    doc = json_document(document, "policyDocument", MAX_DOCUMENT, "data protection policy")
    if doc.get("Version", "2021-06-01") != "2021-06-01":
        raise invalid(f"Invalid data protection policy: unsupported Version '{doc.get('Version')}'; the supported version is 2021-06-01.")
    custom: dict[str, ids.Identifier] = {}
    config = doc.get("Configuration") or {}
    if not isinstance(config, dict):
        raise invalid("Invalid data protection policy: Configuration must be an object.")
    entries = config.get("CustomDataIdentifier") or []
    if not isinstance(entries, list) or len(entries) > MAX_CUSTOM:
        raise invalid(f"Invalid data protection policy: CustomDataIdentifier must be a list of at most {MAX_CUSTOM} identifiers.")
    for entry in entries:
        name, regex = (entry.get("Name"), entry.get("Regex")) if isinstance(entry, dict) else (None, None)
        if not isinstance(name, str) or not CUSTOM_NAME_RE.match(name):
            raise invalid("Invalid data protection policy: a custom data identifier needs a Name of 1 to 128 letters, digits, '_' or '-'.")
        if ids.managed(name) is not None or name in custom:
            raise invalid(f"Invalid data protection policy: the custom data identifier name '{name}' is already used.")
        if not isinstance(regex, str) or not 1 <= len(regex) <= 200:
            raise invalid(f"Invalid data protection policy: the custom data identifier '{name}' needs a Regex of 1 to 200 characters.")
        try:
            custom[name] = ids.custom(name, regex)
        except user_regex.error as exc:
            raise invalid(f"Invalid data protection policy: the Regex of custom data identifier '{name}' is invalid: {exc}.") from exc
    statements = doc.get("Statement")
    if not isinstance(statements, list) or len(statements) != 2:
        raise invalid("Invalid data protection policy: the policy must contain exactly two statements, one with an Audit operation and one with a Deidentify operation.")
    by_op: dict[str, dict[str, Any]] = {}
    idents: dict[str, list[str]] = {}
    for st in statements:
        op = st.get("Operation") if isinstance(st, dict) else None
        if not isinstance(op, dict) or len(op) != 1 or next(iter(op)) not in ("Audit", "Deidentify"):
            raise invalid("Invalid data protection policy: each statement must have an Operation with exactly one of Audit or Deidentify.")
        kind = next(iter(op))
        if kind in by_op:
            raise invalid("Invalid data protection policy: the policy must contain exactly one statement with an Audit operation and one with a Deidentify operation.")
        names = st.get("DataIdentifier")
        if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
            raise invalid(f"Invalid data protection policy: the {kind} statement must have a non-empty DataIdentifier list.")
        by_op[kind], idents[kind] = op[kind] if isinstance(op[kind], dict) else {}, names
        if not isinstance(op[kind], dict):
            raise invalid(f"Invalid data protection policy: the {kind} operation must be an object.")
    if sorted(set(idents["Audit"])) != sorted(set(idents["Deidentify"])) or len(idents["Audit"]) != len(idents["Deidentify"]):
        raise invalid("Invalid data protection policy: the DataIdentifier arrays of the Audit and Deidentify statements must match exactly.")
    resolved: list[ids.Identifier] = []
    for name in dict.fromkeys(idents["Audit"]):
        ident = ids.managed(name.removeprefix(ids.ARN_PREFIX)) if name.startswith(ids.ARN_PREFIX) else custom.get(name)
        if ident is None:
            raise invalid(f"Invalid data protection policy: unknown data identifier '{name}'. Managed identifiers are ARNs {ids.ARN_PREFIX}NAME, NAME one of {', '.join(sorted(ids.MANAGED))}; custom ones are named in Configuration.CustomDataIdentifier.")
        resolved.append(ident)
    if by_op["Deidentify"].keys() != {"MaskConfig"} or by_op["Deidentify"]["MaskConfig"] != {}:
        raise invalid('Invalid data protection policy: the Deidentify operation must be exactly {"MaskConfig": {}}.')
    audit = by_op["Audit"]
    if audit.keys() != {"FindingsDestination"} or not isinstance(audit["FindingsDestination"], dict):
        raise invalid("Invalid data protection policy: the Audit operation must contain a FindingsDestination object.")
    dest = audit["FindingsDestination"]
    unknown = set(dest) - {"CloudWatchLogs", "Firehose", "S3"}
    if unknown:
        raise invalid(f"Invalid data protection policy: unknown findings destination {min(unknown)}; use CloudWatchLogs, Firehose or S3.")
    for other in ("Firehose", "S3"):
        if other in dest:
            raise invalid(f"Invalid data protection policy: {other} findings destinations are not supported by this endpoint; use a CloudWatchLogs LogGroup.")
    findings_group = None
    if "CloudWatchLogs" in dest:
        cwl = dest["CloudWatchLogs"]
        findings_group = cwl.get("LogGroup") if isinstance(cwl, dict) else None
        if not isinstance(findings_group, str) or not findings_group:
            raise invalid("Invalid data protection policy: FindingsDestination.CloudWatchLogs must name a LogGroup.")
        if not group_exists(findings_group):
            raise invalid(f"Invalid data protection policy: the findings destination log group {findings_group} does not exist.")
    return Policy(tuple(resolved), since, findings_group)


class LogsProtection:
    def __init__(self, store: LogStore, account_id: str, interval: float = 1.0) -> None:
        self.store = store
        self.account_id = account_id
        self.interval = interval
        self._lock = threading.RLock()  # the caches, and one put at a time (limits hold)
        self._own: dict[int, _Own] = {}
        self._account: dict[str, Policy] = {}
        self._active = False  # any policy at all: the read path's only cost otherwise
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        with store.lock:
            store.db.executescript(SCHEMA)
        self._load()

    def _exists(self, region: str) -> Callable[[str], bool]:
        def exists(name: str) -> bool:
            try:
                self.store.get_group(name, region)
            except AwsError:
                return False
            return True

        return exists

    def _load(self) -> None:
        with self.store.lock:
            # the policies of groups deleted since (a group's policy goes with it)
            self.store.db.execute(
                "DELETE FROM data_protection_policy WHERE NOT EXISTS (SELECT 1 FROM grp WHERE grp.id = data_protection_policy.gid AND grp.created = data_protection_policy.grp_created)"
            )
            own = self.store.db.execute("SELECT gid, region, grp_created, document, since FROM data_protection_policy").fetchall()
            acct = self.store.db.execute("SELECT region, document, since FROM account_policy WHERE type='DATA_PROTECTION_POLICY'").fetchall()
        with self._lock:
            self._own.clear()
            self._account.clear()
            for gid, region, created, document, since in own:
                try:
                    self._own[gid] = _Own(created, parse_policy(document, since, lambda _name: True))
                except AwsError:
                    log.warning("stored data protection policy of log group id %s no longer parses; ignored", gid)
            for region, document, since in acct:
                try:
                    self._account[region] = parse_policy(document, since, lambda _name: True)
                except AwsError:
                    log.warning("stored account data protection policy of %s no longer parses; ignored", region)
            self._active = bool(self._own or self._account)

    # ------------------------------------------------------------ worker
    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="logs-data-protection", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def reset(self) -> None:
        with self._lock, self.store.lock:
            for table in ("data_protection_policy", "account_policy", "data_protection_audit"):
                self.store.db.execute(f"DELETE FROM {table}")
            self._own.clear()
            self._account.clear()
            self._active = False

    # ------------------------------------------------------------ read path
    def _policies(self, group: Group) -> list[Policy]:
        out = []
        own = self._own.get(group.id)
        if own is not None and own.grp_created == group.created:
            out.append(own.policy)
        acct = self._account.get(group.region)
        if acct is not None:
            out.append(acct)
        return out

    def masker(self, group: Group) -> Callable[[str, int], str] | None:
        """The masking of ``group``'s events, ``(message, ingestion ms) -> message``; None
        when no policy applies (the caller then does nothing per event)."""
        if not self._active:
            return None
        policies = self._policies(group)
        if not policies:
            return None

        def apply(message: str, ingest: int) -> str:
            idents = tuple(i for pol in policies if ingest >= pol.since for i in pol.identifiers)
            return ids.mask(idents, message) if idents else message

        return apply

    def status(self, group: Group) -> str | None:
        """DescribeLogGroups' dataProtectionStatus: ACTIVATED for a group with its own policy."""
        own = self._own.get(group.id) if self._active else None
        return "ACTIVATED" if own is not None and own.grp_created == group.created else None

    def inherited(self, group: Group) -> list[str]:
        """DescribeLogGroups' inheritedProperties: ACCOUNT_DATA_PROTECTION under an account policy."""
        return ["ACCOUNT_DATA_PROTECTION"] if self._active and group.region in self._account else []

    # ------------------------------------------------------------ log group policies
    def put_group_policy(self, p: dict[str, Any], region: str) -> dict[str, Any]:
        ident = p.get("logGroupIdentifier") or ""
        group = self.store.resolve_group({"logGroupIdentifier": ident}, region=region)
        document = p.get("policyDocument")
        now = self.store.now_ms()
        with self._lock:
            prev = self._own.get(group.id)
            since = prev.policy.since if prev is not None and prev.grp_created == group.created else now
            policy = parse_policy(document, since, self._exists(region))
            with self.store.lock:
                self.store.db.execute(
                    "INSERT OR REPLACE INTO data_protection_policy(gid, region, grp, grp_created, document, updated, since) VALUES (?,?,?,?,?,?,?)",
                    (group.id, group.region, group.name, group.created, document, now, since),
                )
                self._mark_cursor()
            self._own[group.id] = _Own(group.created, policy)
            self._active = True
        return {"logGroupIdentifier": ident, "policyDocument": document, "lastUpdatedTime": now}

    def _row(self, group: Group) -> tuple[Any, ...] | None:
        with self.store.lock:
            row = self.store.db.execute("SELECT grp_created, document, updated FROM data_protection_policy WHERE gid=?", (group.id,)).fetchone()
        return row if row is not None and row[0] == group.created else None

    def get_group_policy(self, p: dict[str, Any], region: str) -> dict[str, Any]:
        ident = p.get("logGroupIdentifier") or ""
        group = self.store.resolve_group({"logGroupIdentifier": ident}, region=region)
        row = self._row(group)
        if row is None:
            return {"logGroupIdentifier": ident}  # AWS answers a group without a policy so: no document
        return {"logGroupIdentifier": ident, "policyDocument": row[1], "lastUpdatedTime": row[2]}

    def delete_group_policy(self, p: dict[str, Any], region: str) -> None:
        group = self.store.resolve_group({"logGroupIdentifier": p.get("logGroupIdentifier") or ""}, region=region)
        with self._lock:
            if self._row(group) is None:
                raise not_found("No data protection policy found for this log group.")
            with self.store.lock:
                self.store.db.execute("DELETE FROM data_protection_policy WHERE gid=?", (group.id,))
            self._own.pop(group.id, None)
            self._active = bool(self._own or self._account)

    def _mark_cursor(self) -> None:
        # Audit starts from the events stored from now on (those before a policy are not scanned).
        self.store.db.execute("INSERT OR IGNORE INTO data_protection_audit(id, cursor) VALUES (0, (SELECT COALESCE(MAX(id), 0) FROM event))")

    # ------------------------------------------------------------ account policies
    @staticmethod
    def _type(value: Any) -> str:
        if value not in POLICY_TYPES:
            raise invalid(f"1 validation error detected: Value '{value}' at 'policyType' failed to satisfy constraint: Member must satisfy enum value set: [{', '.join(POLICY_TYPES)}]")
        return str(value)

    def _account_item(self, row: tuple[Any, ...]) -> dict[str, Any]:
        ptype, name, document, scope, selection, updated = row
        item = {"policyName": name, "policyDocument": document, "lastUpdatedTime": updated, "policyType": ptype, "scope": scope, "accountId": self.account_id}
        if selection:
            item["selectionCriteria"] = selection
        return item

    def put_account_policy(self, p: dict[str, Any], region: str) -> dict[str, Any]:
        name = p.get("policyName") or ""
        if not name:
            raise invalid("1 validation error detected: Value null at 'policyName' failed to satisfy constraint: Member must not be null")
        ptype = self._type(p.get("policyType"))
        scope = p.get("scope") or "ALL"
        if scope != "ALL":
            raise invalid(f"1 validation error detected: Value '{scope}' at 'scope' failed to satisfy constraint: Member must satisfy enum value set: [ALL]")
        if p.get("dryRun"):
            raise invalid("dryRun is not supported by this endpoint: put the policy without it.")
        selection = p.get("selectionCriteria")
        if selection and ptype not in SELECTION_TYPES:
            raise invalid(f"selectionCriteria is not supported for policy type {ptype}; it applies to {', '.join(SELECTION_TYPES)} only.")
        if selection and len(selection.encode()) > 25_600:
            raise invalid("1 validation error detected: Value at 'selectionCriteria' failed to satisfy constraint: Member must have length less than or equal to 25600")
        document = p.get("policyDocument")
        now = self.store.now_ms()
        policy = None
        with self._lock:
            if ptype == "DATA_PROTECTION_POLICY":
                prev = self._account.get(region)
                policy = parse_policy(document, prev.since if prev is not None else now, self._exists(region))
            else:
                if not isinstance(document, str) or not document:
                    raise invalid("1 validation error detected: Value null at 'policyDocument' failed to satisfy constraint: Member must not be null")
                try:
                    parsed = orjson.loads(document)
                except orjson.JSONDecodeError as exc:
                    raise invalid("Invalid policy document: the document is not valid JSON.") from exc
                if not isinstance(parsed, dict):
                    raise invalid("Invalid policy document: the document must be a JSON object.")
                if ptype == "SUBSCRIPTION_FILTER_POLICY" and not parsed.get("DestinationArn"):
                    raise invalid("Invalid policy document: a subscription filter policy needs a DestinationArn.")
            with self.store.lock:
                names = [r[0] for r in self.store.db.execute("SELECT name FROM account_policy WHERE region=? AND type=?", (region, ptype)).fetchall()]
                if name not in names and len(names) >= MAX_PER_TYPE.get(ptype, MAX_SELECTIVE):
                    raise AwsError("LimitExceededException", f"This account already has the maximum number of account-level {ptype} policies in this Region ({MAX_PER_TYPE.get(ptype, MAX_SELECTIVE)}).", 400)
                row = self.store.db.execute("SELECT since FROM account_policy WHERE region=? AND type=? AND name=?", (region, ptype, name)).fetchone()
                self.store.db.execute(
                    "INSERT OR REPLACE INTO account_policy(region, type, name, document, scope, selection, updated, since) VALUES (?,?,?,?,?,?,?,?)",
                    (region, ptype, name, document, scope, selection, now, row[0] if row else now),
                )
                if policy is not None:
                    self._mark_cursor()
            if policy is not None:
                self._account[region] = policy
                self._active = True
        return {"accountPolicy": self._account_item((ptype, name, document, scope, selection, now))}

    def describe_account_policies(self, p: dict[str, Any], region: str) -> dict[str, Any]:
        ptype = self._type(p.get("policyType"))
        accounts = p.get("accountIdentifiers")
        if accounts and self.account_id not in accounts:
            return {"accountPolicies": []}  # this account has no linked accounts
        sql = "SELECT type, name, document, scope, selection, updated FROM account_policy WHERE region=? AND type=?"
        args: tuple[Any, ...] = (region, ptype)
        if p.get("policyName"):
            sql, args = sql + " AND name=?", (*args, p["policyName"])
        with self.store.lock:
            rows = self.store.db.execute(sql + " ORDER BY name", args).fetchall()
        return {"accountPolicies": [self._account_item(r) for r in rows]}

    def delete_account_policy(self, p: dict[str, Any], region: str) -> None:
        name = p.get("policyName") or ""
        ptype = self._type(p.get("policyType"))
        if p.get("dryRun"):
            raise invalid("dryRun is not supported by this endpoint: delete the policy without it.")
        with self._lock:
            with self.store.lock:
                deleted = self.store.db.execute("DELETE FROM account_policy WHERE region=? AND type=? AND name=?", (region, ptype, name)).rowcount
            if not deleted:
                raise not_found(f"Policy with name [{name}] does not exist")
            if ptype == "DATA_PROTECTION_POLICY":
                self._account.pop(region, None)
                self._active = bool(self._own or self._account)

    # ------------------------------------------------------------ audit findings
    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                while self.audit_once() >= AUDIT_BATCH and not self._stop.is_set():
                    pass
            except Exception:
                log.exception("data protection audit failed")

    def audit_once(self) -> int:
        """Scan the events stored since the last scan and write the findings; returns the
        number of events read."""
        with self._lock:
            auditing = any(o.policy.findings_group for o in self._own.values()) or any(a.findings_group for a in self._account.values())
        if not auditing:
            return 0
        with self.store.lock:
            row = self.store.db.execute("SELECT cursor FROM data_protection_audit WHERE id=0").fetchone()
            cursor = row[0] if row else 0
            top = self.store.db.execute("SELECT COALESCE(MAX(id), 0) FROM event").fetchone()[0]
            cursor = min(cursor, top)  # the newest events were deleted (a group): their ids are used again
            rows = self.store.db.execute(
                "SELECT e.id, e.gid, e.ingest, e.message, g.region, g.name, g.created FROM event e JOIN grp g ON g.id = e.gid WHERE e.id > ? ORDER BY e.id LIMIT ?",
                (cursor, AUDIT_BATCH),
            ).fetchall()
        with self._lock:
            own, account = dict(self._own), dict(self._account)
        destinations = {(o.policy.findings_group, r[4]) for r in rows for o in [own.get(r[1])] if o is not None} | {(a.findings_group, reg) for reg, a in account.items()}
        out: dict[tuple[str, str, str], list[tuple[int, str]]] = {}
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.store.now_ms() / 1000))
        for eid, gid, ingest, message, region, gname, gcreated in rows:
            if (gname, region) in destinations:
                continue  # findings are not audited again
            pols = []
            mine = own.get(gid)
            if mine is not None and mine.grp_created == gcreated:
                pols.append(mine.policy)
            if region in account:
                pols.append(account[region])
            for pol in pols:
                if pol.findings_group is None or ingest < pol.since:
                    continue
                found = ids.detect(pol.identifiers, message)
                if not found:
                    continue
                finding = {
                    "auditTimestamp": stamp,
                    "resourceArn": self.store.group_arn(gname, region),
                    "dataIdentifiers": [{"name": n, "count": len(s), "detections": [{"start": a, "end": b} for a, b in s]} for n, s in found.items()],
                }
                out.setdefault((region, pol.findings_group, gname), []).append((self.store.now_ms(), orjson.dumps(finding).decode()))
        for (region, dest, source), lines in out.items():
            if not self._exists(region)(dest):
                log.warning("data protection findings for %s dropped: the destination log group %s no longer exists", source, dest)
                continue
            for i in range(0, len(lines), 1000):
                self.store.put_many(dest, source, lines[i : i + 1000], region)
        if rows:
            with self.store.lock:
                self.store.db.execute("INSERT OR REPLACE INTO data_protection_audit(id, cursor) VALUES (0, ?)", (rows[-1][0],))
        return len(rows)
