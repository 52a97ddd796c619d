"""CloudWatch Logs resource policies (PutResourcePolicy, DescribeResourcePolicies,
DeleteResourcePolicy) and Logs Insights query definitions (PutQueryDefinition,
DescribeQueryDefinitions, DeleteQueryDefinition).

Both are regional and kept in the log store's database (tables ``resource_policy`` and
``query_definition``, created here: opening an older ``logs.db`` adds them, and opening it
again changes nothing). Account-scoped resource policies only: AWS's newer policies attached
to one log group (``resourceArn``) are refused rather than stored without effect. The policy
documents are stored, not enforced: requests here are authorized by IAM alone."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import orjson

from emulator.errors import AwsError
from emulator.monitoring.logs_requests import page, policy_document
from emulator.monitoring.logstore import LogStore, invalid, not_found
from emulator.monitoring.query import encode_token

MAX_POLICIES = 10  # per region ("Resource policies: 10 per Region per account", CloudWatch Logs quotas)
MAX_POLICY_BYTES = 5120  # "Each resource policy can be up to 5,120 characters"
MAX_QUERY_DEFINITIONS = 1000  # per region (CloudWatch Logs quotas)
LANGUAGES = ("CWLI", "SQL", "PPL")

SCHEMA = """
    CREATE TABLE IF NOT EXISTS resource_policy (
        region TEXT NOT NULL, name TEXT NOT NULL, document TEXT NOT NULL, updated INTEGER NOT NULL,
        revision TEXT NOT NULL, PRIMARY KEY (region, name));
    CREATE TABLE IF NOT EXISTS query_definition (
        region TEXT NOT NULL, id TEXT NOT NULL, name TEXT NOT NULL, language TEXT NOT NULL, query TEXT NOT NULL,
        groups BLOB NOT NULL, params BLOB NOT NULL, modified INTEGER NOT NULL, PRIMARY KEY (region, id));
"""


def _page(items: list[dict[str, Any]], p: dict[str, Any], key: str, limit_key: str, hi: int, default: int) -> dict[str, Any]:
    limit, start = page(p, limit_key, hi, default)
    out: dict[str, Any] = {key: items[start : start + limit]}
    if start + limit < len(items):
        out["nextToken"] = encode_token({"o": start + limit})
    return out


class LogsPolicies:
    def __init__(self, store: LogStore) -> None:
        self.store = store
        self._lock = threading.Lock()  # one put at a time: the count limits hold
        with store.lock:
            store.db.executescript(SCHEMA)

    def reset(self) -> None:
        with self.store.lock:
            self.store.db.execute("DELETE FROM resource_policy")
            self.store.db.execute("DELETE FROM query_definition")

    # ------------------------------------------------------------ resource policies
    @staticmethod
    def _policy(row: tuple[Any, ...]) -> dict[str, Any]:
        name, document, updated, revision = row
        return {"policyName": name, "policyDocument": document, "lastUpdatedTime": updated, "policyScope": "ACCOUNT", "revisionId": revision}

    def put_policy(self, p: dict[str, Any], region: str) -> dict[str, Any]:
        if p.get("resourceArn"):
            raise invalid("Resource-scoped policies (resourceArn) are not supported by this endpoint: use an account policy (policyName).")
        name = p.get("policyName")
        if not name:
            raise invalid("policyName is required for an account-level resource policy.")
        document = policy_document(p, "policyDocument", MAX_POLICY_BYTES, in_bytes=False)
        with self._lock, self.store.lock:
            exists = self.store.db.execute("SELECT 1 FROM resource_policy WHERE region=? AND name=?", (region, name)).fetchone()
            if exists is None:
                count = self.store.db.execute("SELECT COUNT(*) FROM resource_policy WHERE region=?", (region,)).fetchone()[0]
                if count >= MAX_POLICIES:
                    raise AwsError("LimitExceededException", "Resource limit exceeded.", 400)
            revision = uuid.uuid4().hex
            self.store.db.execute(
                "INSERT OR REPLACE INTO resource_policy(region, name, document, updated, revision) VALUES (?,?,?,?,?)",
                (region, name, document, self.store.now_ms(), revision),
            )
            row = self.store.db.execute("SELECT name, document, updated, revision FROM resource_policy WHERE region=? AND name=?", (region, name)).fetchone()
        return {"resourcePolicy": self._policy(row), "revisionId": revision}

    def describe_policies(self, p: dict[str, Any], region: str) -> dict[str, Any]:
        scope = p.get("policyScope")
        if scope not in (None, "ACCOUNT", "RESOURCE"):
            raise invalid(f"1 validation error detected: Value '{scope}' at 'policyScope' failed to satisfy constraint: Member must satisfy enum value set: [ACCOUNT, RESOURCE]")
        items: list[dict[str, Any]] = []
        if scope != "RESOURCE" and not p.get("resourceArn"):  # no resource-scoped policy is ever stored
            with self.store.lock:
                rows = self.store.db.execute("SELECT name, document, updated, revision FROM resource_policy WHERE region=? ORDER BY name", (region,)).fetchall()
            items = [self._policy(r) for r in rows]
        return _page(items, p, "resourcePolicies", "limit", 50, 50)

    def delete_policy(self, p: dict[str, Any], region: str) -> None:
        if p.get("resourceArn"):
            raise invalid("Resource-scoped policies (resourceArn) are not supported by this endpoint: use an account policy (policyName).")
        name = p.get("policyName") or ""
        with self.store.lock:
            deleted = self.store.db.execute("DELETE FROM resource_policy WHERE region=? AND name=?", (region, name)).rowcount
        if not deleted:
            raise not_found(f"Policy with name [{name}] does not exist")

    # ------------------------------------------------------------ query definitions
    def put_query_definition(self, p: dict[str, Any], region: str) -> str:
        name, query = p.get("name") or "", p.get("queryString") or ""
        if not 1 <= len(name) <= 255:
            raise invalid("1 validation error detected: Value at 'name' failed to satisfy constraint: Member must have length between 1 and 255")
        if not 1 <= len(query) <= 10000:
            raise invalid("1 validation error detected: Value at 'queryString' failed to satisfy constraint: Member must have length between 1 and 10000")
        language = p.get("queryLanguage") or "CWLI"
        if language not in LANGUAGES:
            raise invalid(f"1 validation error detected: Value '{language}' at 'queryLanguage' failed to satisfy constraint: Member must satisfy enum value set: [CWLI, SQL, PPL]")
        groups = list(p.get("logGroupNames") or [])
        params = list(p.get("parameters") or [])
        if len(params) > 20:
            raise invalid("1 validation error detected: Value at 'parameters' failed to satisfy constraint: Member must have length less than or equal to 20")
        qid = p.get("queryDefinitionId")
        with self._lock, self.store.lock:
            if qid:
                if self.store.db.execute("SELECT 1 FROM query_definition WHERE region=? AND id=?", (region, qid)).fetchone() is None:
                    raise not_found("The specified query definition does not exist.")
            else:
                count = self.store.db.execute("SELECT COUNT(*) FROM query_definition WHERE region=?", (region,)).fetchone()[0]
                if count >= MAX_QUERY_DEFINITIONS:
                    raise AwsError("LimitExceededException", "Resource limit exceeded.", 400)
                qid = str(uuid.uuid4())
            self.store.db.execute(
                "INSERT OR REPLACE INTO query_definition(region, id, name, language, query, groups, params, modified) VALUES (?,?,?,?,?,?,?,?)",
                (region, qid, name, language, query, orjson.dumps(groups), orjson.dumps(params), self.store.now_ms()),
            )
        return str(qid)

    def describe_query_definitions(self, p: dict[str, Any], region: str) -> dict[str, Any]:
        prefix = p.get("queryDefinitionNamePrefix") or ""
        language = p.get("queryLanguage")
        with self.store.lock:
            rows = self.store.db.execute(
                "SELECT id, name, language, query, groups, params, modified FROM query_definition WHERE region=? AND substr(name, 1, ?) = ? ORDER BY name, id",
                (region, len(prefix), prefix),
            ).fetchall()
        items = []
        for qid, name, lang, query, groups, params, modified in rows:
            if language and lang != language:
                continue
            item: dict[str, Any] = {"queryLanguage": lang, "queryDefinitionId": qid, "name": name, "queryString": query, "lastModified": modified,
                                    "logGroupNames": orjson.loads(groups)}
            if orjson.loads(params):
                item["parameters"] = orjson.loads(params)
            items.append(item)
        return _page(items, p, "queryDefinitions", "maxResults", 1000, 1000)

    def delete_query_definition(self, p: dict[str, Any], region: str) -> None:
        qid = p.get("queryDefinitionId") or ""
        with self.store.lock:
            deleted = self.store.db.execute("DELETE FROM query_definition WHERE region=? AND id=?", (region, qid)).rowcount
        if not deleted:
            raise not_found("The specified query definition does not exist.")
