"""CloudWatch Logs KMS key associations (AssociateKmsKey, DisassociateKmsKey).

A log group's key is the ``kms`` column of the log store's ``grp`` table, which CreateLogGroup
(``kmsKeyId``) fills and DescribeLogGroups shows. The key of the account's Logs Insights query
results (``resourceIdentifier`` ``arn:aws:logs:REGION:ACCOUNT:query-result:*``) is kept per
account and region in the table ``query_result_key``, created here (opening an older
``logs.db`` adds it). Nothing in the Logs API reads that key back: as documented in the
AssociateKmsKey API reference, GetQueryResults still returns the results in plain text.

The key is not looked up in KMS: CreateLogGroup does not either. It must be a KMS key ARN
(``arn:aws:kms:REGION:ACCOUNT:key/ID``), the form both operations document for ``kmsKeyId``.
The gateway has checked the request against the model's shapes before (required members,
lengths, the ResourceIdentifier pattern)."""

from __future__ import annotations

import re
from typing import Any

from emulator.monitoring.logstore import Group, LogStore, invalid, not_found

KEY_ARN_RE = re.compile(r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/[A-Za-z0-9-]+$")
_LOGS_ARN_RE = re.compile(r"^arn:aws[a-z-]*:logs:([a-z0-9-]*):(\d*):(log-group:.+|query-result:\*)$")

SCHEMA = """
    CREATE TABLE IF NOT EXISTS query_result_key (
        account TEXT NOT NULL, region TEXT NOT NULL, kms TEXT NOT NULL, PRIMARY KEY (account, region));
"""


def check_key(value: Any) -> str:
    """``kmsKeyId`` of CreateLogGroup and AssociateKmsKey: a KMS key ARN, else InvalidParameterException."""
    if value is None:
        raise invalid("1 validation error detected: Value null at 'kmsKeyId' failed to satisfy constraint: Member must not be null")
    key = str(value)
    if not KEY_ARN_RE.match(key):
        raise invalid(f"Specified KMS key {key} is not a valid KMS key ARN (arn:aws:kms:REGION:ACCOUNT_ID:key/KEY_ID).")
    return key


class LogsKms:
    def __init__(self, store: LogStore) -> None:
        self.store = store
        with store.lock:
            store.db.executescript(SCHEMA)

    def reset(self) -> None:
        with self.store.lock:
            self.store.db.execute("DELETE FROM query_result_key")

    def _target(self, p: dict[str, Any], region: str) -> Group | None:
        """The group ``logGroupName`` or ``resourceIdentifier`` names; None for the query results."""
        name, ident = p.get("logGroupName"), p.get("resourceIdentifier")
        if name and ident:
            raise invalid("logGroupName and resourceIdentifier are mutually exclusive parameters.")
        if not name and not ident:
            raise invalid("Either logGroupName or resourceIdentifier must be specified.")
        if name:
            return self.store.get_group(str(name), region)
        ident = str(ident)
        m = _LOGS_ARN_RE.match(ident)
        if m is None:
            raise invalid(f"Invalid resourceIdentifier: {ident}. Specify a log group ARN or arn:aws:logs:REGION:ACCOUNT_ID:query-result:*.")
        if m.group(3).startswith("log-group:"):
            # an endpoint serves its own region's groups only: another region's (or account's) is not found here
            return self.store.get_group(self.store.name_from_arn(ident, region), region)
        if m.group(1) != region or m.group(2) != self.store.account_id:
            raise not_found(f"The query results of {ident} are not of this account and region ({self.store.account_id}, {region}).")
        return None

    def associate(self, p: dict[str, Any], region: str) -> None:
        key = check_key(p.get("kmsKeyId"))
        group = self._target(p, region)
        with self.store.lock:
            if group is None:
                self.store.db.execute(
                    "INSERT INTO query_result_key(account, region, kms) VALUES (?,?,?) ON CONFLICT(account, region) DO UPDATE SET kms=excluded.kms",
                    (self.store.account_id, region, key),
                )
            else:
                self.store.db.execute("UPDATE grp SET kms=? WHERE id=?", (key, group.id))

    def disassociate(self, p: dict[str, Any], region: str) -> None:
        group = self._target(p, region)
        with self.store.lock:
            if group is None:
                self.store.db.execute("DELETE FROM query_result_key WHERE account=? AND region=?", (self.store.account_id, region))
            else:
                self.store.db.execute("UPDATE grp SET kms=NULL WHERE id=?", (group.id,))

    def query_result_key(self, region: str) -> str | None:
        """The key associated with the query results of ``region`` (stored only: no operation returns it)."""
        with self.store.lock:
            row = self.store.db.execute("SELECT kms FROM query_result_key WHERE account=? AND region=?", (self.store.account_id, region)).fetchone()
        return None if row is None else str(row[0])
