"""DynamoDB's resource-based policies: PutResourcePolicy, GetResourcePolicy,
DeleteResourcePolicy and CreateTable's ``ResourcePolicy``
(https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/access-control-resource-based.html).

A policy is attached to a table or to a table's stream (its ARN); a table's policy also
governs its indexes (``table/T/index/I``), which take none of their own. Policies are kept by
the storage (``Storage.policy_*``, one row per ARN), go away with their table (DeleteTable,
a reset), are not part of the table's description, of its backups or of a restored table,
and survive a restart. ``ResourcePolicies`` holds them parsed, by table or stream, for the
gateway's authorizer (emulator/gateway/authorize.py), which evaluates them with the caller's
identity-based policies on every DynamoDB and DynamoDB Streams request.

Revision ids are millisecond timestamps (as AWS's look), strictly increasing per resource;
putting the same document again is a no-op that answers the same revision id.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from emulator.dynamodb.core import EngineCore, not_found
from emulator.dynamodb.storage.base import Storage
from emulator.dynamodb.tables import Table, invalid
from emulator.errors import AwsError
from emulator.gateway.policy import action_matches, resource_matches
from emulator.gateway.resource_policy import (
    InvalidPolicy,
    ResourcePolicy,
    parse_resource_policy,
)

log = logging.getLogger("emulator.dynamodb.policies")

MAX_POLICY_BYTES = 20 * 1024  # "20 KB", whitespace included
NO_POLICY = "NO_POLICY"
_ARN = re.compile(r"^arn:aws[a-z-]*:dynamodb:([a-z0-9-]+):(\d{12}):table/([a-zA-Z0-9_.-]{3,255})(?:/(index|stream|backup|export|import)/(.+))?$")
# The DynamoDB Streams actions: what a stream's policy may name (and a table's may not).
STREAM_ACTIONS = ("DescribeStream", "GetRecords", "GetShardIterator")
# IAM actions that are no API operation of their own.
_EXTRA_ACTIONS = ("ConditionCheckItem", "PartiQLSelect", "PartiQLInsert", "PartiQLUpdate", "PartiQLDelete", "CreateTableReplica",
                  "DeleteTableReplica", "RestoreTableFromAwsBackup", "StartAwsBackupJob")

# Lockout: what PutResourcePolicy asks before it attaches a policy that would take the
# caller's own dynamodb:PutResourcePolicy away (the gateway's authorizer answers it).
KeepsAccess = Callable[[str, ResourcePolicy], bool]


@lru_cache(maxsize=1)
def dynamodb_actions() -> tuple[str, ...]:
    from emulator import services

    names = set(_EXTRA_ACTIONS)
    for service in ("dynamodb", "dynamodbstreams"):
        names.update(services.service_model(service).operation_names)
    return tuple(sorted(names))


def policy_not_found(message: str) -> AwsError:
    return AwsError("PolicyNotFoundException", f"Resource-based policy not found for the provided ResourceArn: {message}", 400)


# ------------------------------------------------------------------ validation
def check_policy(text: Any, arn: str, kind: str, table_arn: str) -> ResourcePolicy:
    """Parse and check the policy document ``text`` for the resource ``arn`` (``kind``:
    "table" or "stream", of the table ``table_arn``); raise ValidationException."""
    if not isinstance(text, str):
        raise invalid("1 validation error detected: Value null at 'policy' failed to satisfy constraint: Member must not be null")
    size = len(text.encode("utf-8"))
    if size > MAX_POLICY_BYTES:
        raise invalid(f"Policy document size {size} bytes exceeds the maximum allowed size of {MAX_POLICY_BYTES} bytes (20 KB)")
    try:
        policy, data = parse_resource_policy(text, arn.split(":")[4])
    except InvalidPolicy as exc:
        raise invalid(f"Invalid policy document: {exc}") from exc
    allowed = [a for a in dynamodb_actions() if (a in STREAM_ACTIONS) == (kind == "stream")]
    statements = data["Statement"] if isinstance(data["Statement"], list) else [data["Statement"]]
    for stmt in statements:
        if "Action" in stmt:
            for action in [stmt["Action"]] if isinstance(stmt["Action"], str) else stmt["Action"]:
                if action == "*":
                    continue
                vendor = action.partition(":")[0]
                if vendor.lower() != "dynamodb" or not any(action_matches(action, f"dynamodb:{a}") for a in allowed):
                    raise invalid(f"Invalid policy document: Action {action} does not apply to the {kind} {arn}")
        if "Resource" in stmt:
            for resource in [stmt["Resource"]] if isinstance(stmt["Resource"], str) else stmt["Resource"]:
                if not _applies(resource, arn, kind, table_arn):
                    raise invalid(f"Invalid policy document: Resource {resource} does not match the resource the policy is attached to: {arn}")
    return policy


def _applies(pattern: str, arn: str, kind: str, table_arn: str) -> bool:
    """Whether a statement's Resource names the policy's own resource (a table's policy:
    also its indexes, ``table/T/index/*``)."""
    if pattern == "*" or resource_matches(pattern, arn):
        return True
    if kind == "table" and "/index/" in pattern:
        head, _, index = pattern.partition("/index/")
        return bool(index) and resource_matches(head, table_arn)
    return False


def new_revision(previous: str | None) -> str:
    now = int(time.time() * 1000)
    if previous is not None and previous.isdigit() and int(previous) >= now:
        now = int(previous) + 1
    return str(now)


# ------------------------------------------------------------------ the registry
Governing = tuple[str, ResourcePolicy]  # (the resource ARN as the policy sees it, the policy)


def policy_key(resource: str) -> tuple[str, str] | None:
    """Where to find the policy that governs a request's resource ARN, and what the resource
    is under it: ``(key, index suffix)``. Tables are regional: the key holds the region (a
    table of the same name in another region is another table, with a policy of its own).
    A table and its indexes share the table's key; a stream has its own; anything else
    (backups, exports, other services) has none."""
    if not resource.startswith("arn:"):
        return None
    parts = resource.split(":", 5)
    if len(parts) != 6 or parts[2] != "dynamodb" or not parts[5].startswith("table/"):
        return None
    path = parts[5]
    name, sep, rest = path[6:].partition("/")
    if not sep:
        return f"{parts[3]}:{parts[4]}:table/{name}", ""
    kind = rest.partition("/")[0]
    if kind == "index":
        return f"{parts[3]}:{parts[4]}:table/{name}", "/" + rest
    if kind == "stream":
        return f"{parts[3]}:{parts[4]}:{path}", ""
    return None


class PolicyLookup:
    """Finding the policy that governs a resource in a set of policies (key -> (ARN it is
    attached to, policy)): the engine's own (``ResourcePolicies``) and a cluster gateway's
    copy of them (emulator/cluster/policies.py) answer the authorizer alike."""

    policies: dict[str, Governing]
    _keys: dict[str, tuple[str, str] | None]  # resource ARN -> policy_key(), bounded

    def current(self) -> dict[str, Governing]:
        return self.policies

    def key_of(self, resource: str) -> tuple[str, str] | None:
        found = self._keys.get(resource, False)
        if found is False:
            if len(self._keys) >= 4096:
                self._keys.clear()
            found = self._keys[resource] = policy_key(resource)
        return found  # type: ignore[return-value]

    def governing(self, policies: dict[str, Governing], resource: str) -> Governing | None:
        """The policy that governs a request's resource ARN (the table's for the table and its
        indexes, the stream's for a stream), with the resource as the policy names it."""
        key = self.key_of(resource)
        found = policies.get(key[0]) if key is not None else None
        if found is None or key is None:
            return None
        return found[0] + key[1], found[1]

    def with_policy(self, arn: str, policy: ResourcePolicy | None) -> dict[str, Governing]:
        """``current()`` with ``arn``'s policy replaced (None: removed)."""
        key = policy_key(arn)
        out = {k: v for k, v in self.current().items() if key is None or k != key[0]}
        if key is not None and policy is not None:
            out[key[0]] = (arn, policy)
        return out


class ResourcePolicies(PolicyLookup):
    """Every policy of the engine's tables and streams, parsed, for the gateway's authorizer:
    ``policies`` (key -> (ARN it is attached to, policy)); for a storage shared with other
    processes ``current()``, which follows their changes. ``governing`` finds a resource's."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        self.shared = storage.shared
        self.policies: dict[str, Governing] = {}
        self._version = -1
        self._keys: dict[str, tuple[str, str] | None] = {}  # resource ARN -> policy_key(), bounded

    def load(self) -> None:
        # The version first: a change racing the read leaves it behind, so the next
        # current() reloads again rather than missing the change.
        self._version = self.storage.catalog_version(fresh=True)
        tables = {row.table_id for row in self.storage.list_tables()}
        found: dict[str, Governing] = {}
        for row in self.storage.policy_list():
            key = policy_key(row.arn)
            if row.table_id not in tables or key is None:
                continue  # not reachable: its table went and took it along
            try:
                found[key[0]] = (row.arn, parse_resource_policy(row.policy, row.arn.split(":")[4])[0])
            except InvalidPolicy as exc:  # checked when attached; a hand-edited store
                log.error("resource-based policy of %s is unreadable (%s): it is ignored", row.arn, exc)
        self.policies = found

    def current(self) -> dict[str, Governing]:
        """``policies``, first reloaded if another process changed the catalog (shared storages)."""
        if self.shared and self.storage.catalog_version() != self._version:
            self.load()
        return self.policies

    def set(self, arn: str, policy: ResourcePolicy) -> None:
        self.policies = self.with_policy(arn, policy)  # a new dict: readers never see one change

    def forget(self, arn: str) -> None:
        self.policies = self.with_policy(arn, None)

    def forget_table(self, table_arn: str) -> None:
        key = policy_key(table_arn)
        if key is not None:
            self.policies = {k: v for k, v in self.policies.items() if k != key[0] and not k.startswith(key[0] + "/")}

    def clear(self) -> None:
        self.policies = {}


# ------------------------------------------------------------------ operations
class PolicyOperations(EngineCore):
    resource_policies: ResourcePolicies

    def _policy_target(self, arn: Any) -> tuple[Table, str]:
        """The table an ARN belongs to and what it names ("table" or "stream")."""
        m = _ARN.match(arn) if isinstance(arn, str) else None
        if m is None:
            raise invalid(f"Invalid ResourceArn provided as input {arn}")
        name, kind, sub = m.group(3), m.group(4), m.group(5)
        if kind is not None and kind != "stream":
            raise invalid(f"Invalid ResourceArn provided as input {arn}: resource-based policies can be attached to tables and streams only"
                          + (" (an index is governed by its table's policy)" if kind == "index" else ""))
        # The ARN's region must be the request's: another region's table is not visible here.
        table = self.find_table(arn)
        table_arn = arn if kind is None else arn.split("/stream/", 1)[0]
        if table is None or table.arn != table_arn:
            raise not_found(f"Requested resource not found: Table: {name} not found")
        if kind == "stream":
            if not table.stream or table.stream.get("label") != sub:
                raise not_found(f"Requested resource not found: Stream: {arn} not found")
            return table, "stream"
        return table, "table"

    @staticmethod
    def _what(table: Table, kind: str, arn: str) -> str:
        return f"table {table.name}" if kind == "table" else f"stream {arn}"

    def put_resource_policy(self, params: dict[str, Any], keeps_access: KeepsAccess | None = None) -> dict[str, Any]:
        arn = params.get("ResourceArn")
        table, kind = self._policy_target(arn)
        assert isinstance(arn, str)
        text = params.get("Policy")
        policy = check_policy(text, arn, kind, table.arn)
        assert isinstance(text, str)
        expected = params.get("ExpectedRevisionId")
        with self.storage.transaction():
            current = self.storage.policy_get(arn)
            what = self._what(table, kind, arn)
            if expected == NO_POLICY and current is not None:
                raise policy_not_found(f"Requested policy update expecting none to be present for {what}, but a policy exists with revision id {current.revision}.")
            if expected is not None and expected != NO_POLICY:
                if current is None:
                    raise policy_not_found(f"Requested update for policy with revision id {expected}, but there is no policy associated to target {what}.")
                if current.revision != expected:
                    raise policy_not_found(f"Requested update for policy with revision id {expected}, but the policy associated to target {what} has revision id {current.revision}.")
            if current is not None and current.policy == text:
                return {"RevisionId": current.revision}  # idempotent: the same document, the same revision
            if keeps_access is not None and params.get("ConfirmRemoveSelfResourceAccess") is not True and not keeps_access(arn, policy):
                raise invalid(
                    "The policy would remove your permission to change the resource-based policy of this resource (dynamodb:PutResourcePolicy). "
                    "To attach it anyway, set ConfirmRemoveSelfResourceAccess to true."
                )
            revision = new_revision(current.revision if current is not None else None)
            self.storage.policy_put(table.table_id, arn, text, revision)
        self.resource_policies.set(arn, policy)
        return {"RevisionId": revision}

    def get_resource_policy(self, params: dict[str, Any]) -> dict[str, Any]:
        arn = params.get("ResourceArn")
        self._policy_target(arn)
        assert isinstance(arn, str)
        current = self.storage.policy_get(arn)
        if current is None:
            raise policy_not_found(arn)
        return {"Policy": current.policy, "RevisionId": current.revision}

    def delete_resource_policy(self, params: dict[str, Any]) -> dict[str, Any]:
        arn = params.get("ResourceArn")
        table, kind = self._policy_target(arn)
        assert isinstance(arn, str)
        expected = params.get("ExpectedRevisionId")
        with self.storage.transaction():
            current = self.storage.policy_get(arn)
            if expected is not None:
                what = self._what(table, kind, arn)
                if current is None:
                    raise policy_not_found(f"Requested delete for policy with revision id {expected}, but there is no policy associated to target {what}.")
                if current.revision != expected:
                    raise policy_not_found(f"Requested delete for policy with revision id {expected}, but the policy associated to target {what} has revision id {current.revision}.")
            if current is None:
                return {}  # idempotent; RevisionId "empty ... against a resource without a policy"
            self.storage.policy_delete(arn)
        self.resource_policies.forget(arn)
        return {"RevisionId": current.revision}
