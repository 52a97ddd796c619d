"""IAM users, groups and policies, persisted in the data dir (``iam.json``, mode 0600).

Access keys themselves live in the KeyStore (``keys.json``) that the SigV4
verifier reads, so a key created, deactivated or deleted through IAM takes
effect on the very next request. This store holds what IAM adds on top:
users, groups (with their members), managed policies (with versions), attachments and
inline policies of users and groups, users' permissions boundaries and login profiles (the
password hashed), and the compiled ``PolicySet`` of each user that the authorizer evaluates.

Groups are here, not in moto, because their members are these users and the authorizer counts
their policies for every request of a member (IAM User Guide, "Policy evaluation logic": a
user's identity-based policies are its own and those of its groups): one store, one version
that invalidates the compiled sets at once when a membership or a group policy changes.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import datetime as dt
import functools
import hashlib
import json
import logging
import os
import secrets
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar, overload
from urllib.parse import unquote

import orjson

from emulator.errors import AwsError
from emulator.gateway.iam_store_groups import GroupMethods, new_id, no_such_entity
from emulator.gateway.policy import (
    EXPLICIT_DENY,
    IMPLICIT_DENY,
    Decision,
    PolicySet,
    parse_document,
)

if TYPE_CHECKING:
    from emulator.gateway.keys import KeyStore


AWS_POLICY_PREFIX = "arn:aws:iam::aws:policy/"

# AWS's descriptions of the usual ones (moto's copy of the catalog has none).
_AWS_DESCRIPTIONS = {
    "AdministratorAccess": "Provides full access to AWS services and resources.",
    "PowerUserAccess": "Provides full access to AWS services and resources, but does not allow management of Users and groups.",
    "ReadOnlyAccess": "Provides read-only access to AWS services and resources.",
    "AmazonDynamoDBFullAccess": "Provides full access to Amazon DynamoDB via the AWS Management Console.",
    "AmazonDynamoDBReadOnlyAccess": "Provides read only access to Amazon DynamoDB via the AWS Management Console.",
    "AmazonEC2FullAccess": "Provides full access to Amazon EC2 via the AWS Management Console.",
    "AmazonEC2ReadOnlyAccess": "Provides read only access to Amazon EC2 via the AWS Management Console.",
    "AmazonBedrockFullAccess": "Provides full access to Amazon Bedrock.",
    "CloudWatchFullAccess": "Provides full access to CloudWatch.",
    "CloudWatchLogsFullAccess": "Provides full access to CloudWatch Logs",
    "IAMFullAccess": "Provides full access to IAM via the AWS Management Console.",
    "IAMReadOnlyAccess": "Provides read only access to IAM via the AWS Management Console.",
}


log = logging.getLogger("emulator.iam")


def _epoch(text: str) -> float:
    return dt.datetime.fromisoformat(text).timestamp()


@functools.cache
def aws_managed_policies() -> dict[str, dict[str, Any]]:
    """ARN -> record of every AWS managed policy, with AWS's documents, paths and version ids,
    from the copy of AWS's catalog that moto ships (moto/iam/aws_managed_policies.py, ~1,600
    policies; moto's IAM, where roles live, holds the same ones). Parsed once, when first
    needed, not at start."""
    from moto.iam.aws_managed_policies import aws_managed_policies_data

    out: dict[str, dict[str, Any]] = {}
    for name, item in json.loads(aws_managed_policies_data).items():
        arn = f"arn:aws:iam::aws:policy{item.get('Path') or '/'}{name}"
        created, updated = _epoch(item["CreateDate"]), _epoch(item.get("UpdateDate") or item["CreateDate"])
        version = item.get("DefaultVersionId") or "v1"
        out[arn] = {
            "PolicyName": name,
            "PolicyId": "ANPA" + hashlib.sha1(arn.encode()).hexdigest().upper()[:17],
            "Arn": arn,
            "Path": item.get("Path") or "/",
            "Description": _AWS_DESCRIPTIONS.get(name),
            "CreateDate": created,
            "UpdateDate": updated,
            "DefaultVersionId": version,
            "Versions": {version: {"Document": json.dumps(item["Document"]), "CreateDate": updated}},
            "IsAttachable": True,
            "Tags": [],
        }
    return out


_T = TypeVar("_T")


class _Reloaded(Generic[_T]):
    """A part of the store's state (``users``, ``policies``...): reading it first picks up what
    another process (``emulator iam ...``) wrote, whoever reads it (the IAM API for root or a
    user, the console, the authorizer): ``maybe_reload``, a stat of iam.json at most once a second."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.slot = "_state_" + name

    @overload
    def __get__(self, obj: None, owner: type | None = None) -> _Reloaded[_T]: ...
    @overload
    def __get__(self, obj: IamStore, owner: type | None = None) -> _T: ...
    def __get__(self, obj: IamStore | None, owner: type | None = None) -> _T | _Reloaded[_T]:
        if obj is None:
            return self
        obj.maybe_reload()
        value: _T = obj.__dict__[self.slot]
        return value

    def __set__(self, obj: IamStore, value: _T) -> None:
        obj.__dict__[self.slot] = value


class _StoreLock:
    """The store's re-entrant lock, which knows its owner: a change (made under the lock, after a
    ``_sync``) must not be split by a reload of the state it reads midway (``maybe_reload``)."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self.owner: int | None = None
        self._depth = 0

    def __enter__(self) -> None:
        self._lock.acquire()
        self.owner = threading.get_ident()
        self._depth += 1

    def __exit__(self, *exc: object) -> None:
        self._depth -= 1
        if not self._depth:
            self.owner = None
        self._lock.release()


class IamStore(GroupMethods):
    users: _Reloaded[dict[str, dict[str, Any]]] = _Reloaded()
    policies: _Reloaded[dict[str, dict[str, Any]]] = _Reloaded()
    attached: _Reloaded[dict[str, list[str]]] = _Reloaded()
    inline: _Reloaded[dict[str, dict[str, str]]] = _Reloaded()
    # Groups: name -> record; members (group -> user names); their attached and inline policies.
    groups: _Reloaded[dict[str, dict[str, Any]]] = _Reloaded()
    members: _Reloaded[dict[str, list[str]]] = _Reloaded()
    group_attached: _Reloaded[dict[str, list[str]]] = _Reloaded()
    group_inline: _Reloaded[dict[str, dict[str, str]]] = _Reloaded()
    # user -> {"CreateDate", "PasswordResetRequired", "Password": <hash_password's text>}
    logins: _Reloaded[dict[str, dict[str, Any]]] = _Reloaded()

    def __init__(self, data_dir: Path, account_id: str = "000000000000") -> None:
        self.path = Path(data_dir) / "iam.json"
        self.account_id = account_id
        self._lock = _StoreLock()
        self._mtime_ns = 0
        self._checked = time.monotonic()
        self.users, self.policies, self.attached, self.inline = {}, {}, {}, {}
        self.groups, self.members, self.group_attached, self.group_inline, self.logins = {}, {}, {}, {}, {}
        self._sets: dict[str, PolicySet] = {}
        self.version = 0
        with contextlib.suppress(OSError):  # a save cut short (kill -9): iam.json is whole, this is not
            self.path.with_suffix(".tmp").unlink(missing_ok=True)
        self._load()

    # ------------------------------------------------------------ persistence
    def _stat(self) -> int:
        try:
            return os.stat(self.path).st_mtime_ns
        except FileNotFoundError:
            return 0

    def _load(self) -> None:
        mtime = self._stat()
        if mtime:
            with open(self.path, encoding="utf-8") as fh:
                try:
                    data = json.load(fh)
                except ValueError as exc:
                    raise ValueError(f"{self.path} is not a valid IAM store (JSON: {exc})") from None
            if not isinstance(data, dict):
                raise ValueError(f"{self.path} is not a valid IAM store (not a JSON object)")
            self.users = data.get("users", {})
            self.policies = data.get("policies", {})
            self.attached = data.get("attached", {})
            self.inline = data.get("inline", {})
            self.groups = data.get("groups", {})
            self.members = data.get("members", {})
            self.group_attached = data.get("group_attached", {})
            self.group_inline = data.get("group_inline", {})
            self.logins = data.get("logins", {})
        self._mtime_ns = mtime
        self._sets.clear()
        self.version += 1

    def maybe_reload(self) -> None:
        """Pick up changes made by another process (``emulator iam ...``), at most once a second
        (a stat of the file): on every read of the state (_Reloaded), not only the authorizer's."""
        now = time.monotonic()
        if now - self._checked < 1.0 or self._lock.owner == threading.get_ident():
            return  # checked lately, or inside a change (which began with a _sync)
        self._checked = now
        if self._stat() != self._mtime_ns:
            with self._lock:
                if self._stat() == self._mtime_ns:
                    return  # another thread reloaded (or saved) meanwhile
                try:
                    self._load()
                except (OSError, ValueError):
                    pass

    def _sync(self) -> None:
        """Before a change: pick up what another process wrote, so it is not overwritten."""
        if self._stat() != self._mtime_ns:
            self._load()

    def _save(self) -> None:
        """Write the state (after a change made in memory, under the lock). When it cannot be
        written (the disk full or read-only...), the change is rolled back (the state is read
        again from iam.json, which holds the last one saved) and the request fails with IAM's
        ServiceFailure: a change answered is a change saved, and one refused is not kept."""
        tmp = self.path.with_suffix(".tmp")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # orjson: the whole state is written at each change, on the event loop, and
            # json.dump(indent=...) runs Python's own encoder, whose cost grows with the users.
            doc = orjson.dumps({"users": self.users, "policies": self.policies, "attached": self.attached, "inline": self.inline, "groups": self.groups,
                                "members": self.members, "group_attached": self.group_attached, "group_inline": self.group_inline, "logins": self.logins},
                               option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as fh:
                fh.write(doc)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
        except (OSError, TypeError, ValueError) as exc:
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)
            self._rollback()
            reason = f"[Errno {exc.errno}] {exc.strerror}" if isinstance(exc, OSError) and exc.strerror else f"{type(exc).__name__}: {exc}"
            log.error("IAM: %s could not be saved (%s); the change was not made", self.path, reason)
            raise AwsError(
                "ServiceFailure",
                f"The request processing has failed because of an unknown error, exception or failure. (The emulator could not save {self.path.name}: {reason})",
                500,
            ) from None
        self._mtime_ns = self._stat()
        self._sets.clear()
        self.version += 1

    def _rollback(self) -> None:
        """Back to the state last saved (iam.json's; none: empty), after a save failed."""
        try:
            if self._stat():
                self._load()
                return
        except (OSError, ValueError):
            log.exception("IAM: %s cannot be read back after a failed save; the state in memory may hold the change", self.path)
            return
        self.users, self.policies, self.attached, self.inline = {}, {}, {}, {}
        self.groups, self.members, self.group_attached, self.group_inline, self.logins = {}, {}, {}, {}, {}
        self._mtime_ns = 0
        self._sets.clear()
        self.version += 1

    def clear(self, keys: KeyStore) -> None:
        """Forget every user (with its keys in ``keys``), policy, attachment and inline policy:
        the IAM of a new account (``POST /_emulator/reset``)."""
        with self._lock:
            self._sync()  # users another process (``emulator iam create-user``) added go too
            keys.delete_users_keys(set(self.users))  # never "root": create_user refuses the name
            if self.users or self.policies or self.attached or self.inline or self.groups or self.logins:
                # New dicts rather than clear(): a reader iterating the old ones is not disturbed.
                self.users, self.policies, self.attached, self.inline = {}, {}, {}, {}
                self.groups, self.members, self.group_attached, self.group_inline, self.logins = {}, {}, {}, {}, {}
                self._save()  # also drops the compiled PolicySets and bumps version (the authorizer's cache key)

    # ------------------------------------------------------------------ users
    def user_arn(self, name: str, path: str = "/") -> str:
        return f"arn:aws:iam::{self.account_id}:user{path}{name}"

    def create_user(self, name: str, path: str = "/", tags: list[dict[str, str]] | None = None, boundary: str | None = None) -> dict[str, Any]:
        """CreateUser; ``boundary``: its PermissionsBoundary (a managed policy's ARN: NoSuchEntity
        if there is none, as PutUserPermissionsBoundary answers; botocore's IAM model lists
        NoSuchEntity for CreateUser)."""
        with self._lock:
            self._sync()
            if name in self.users or name == "root":
                raise AwsError("EntityAlreadyExists", f"User with name {name} already exists.", 409)
            if boundary and self._policy(boundary) is None:
                raise no_such_entity(f"Policy {boundary} does not exist or is not attachable.")
            user = {"UserName": name, "UserId": new_id("AIDA"), "Arn": self.user_arn(name, path), "Path": path, "CreateDate": time.time(), "Tags": list(tags or [])}
            if boundary:
                user["PermissionsBoundary"] = {"PermissionsBoundaryType": "PermissionsBoundaryPolicy", "PermissionsBoundaryArn": boundary}
            self.users[name] = user
            self._save()
            return copy.deepcopy(user)

    def get_user(self, name: str) -> dict[str, Any]:
        user = self.users.get(name)
        if user is None:
            raise no_such_entity(f"The user with name {name} cannot be found.")
        return copy.deepcopy(user)

    def update_user(self, name: str, new_name: str | None, new_path: str | None, keys: KeyStore) -> None:
        """UpdateUser: a new path (the ARN follows) and/or a new name, under which the user's
        access keys, attached and inline policies go too."""
        renamed: tuple[str, str] | None = None
        with self._lock:
            self._sync()
            user = self.users.get(name)
            if user is None:
                raise no_such_entity(f"The user with name {name} cannot be found.")
            if new_name and new_name != name:
                if new_name in self.users or new_name == "root":
                    raise AwsError("EntityAlreadyExists", f"User with name {new_name} already exists.", 409)
                keys.rename_user(name, new_name)
                renamed = (new_name, name)
                self.users[new_name] = self.users.pop(name)
                user["UserName"] = new_name
                if name in self.attached:
                    self.attached[new_name] = self.attached.pop(name)
                if name in self.inline:
                    self.inline[new_name] = self.inline.pop(name)
                if name in self.logins:
                    self.logins[new_name] = self.logins.pop(name)
                for members in self.members.values():
                    if name in members:
                        members[members.index(name)] = new_name
                name = new_name
            if new_path:
                user["Path"] = new_path
            user["Arn"] = self.user_arn(name, user["Path"])
            try:
                self._save()
            except AwsError:  # not saved (rolled back): the keys go back to their user
                if renamed is not None:
                    with contextlib.suppress(Exception):
                        keys.rename_user(*renamed)
                raise

    def has_user(self, name: str) -> bool:
        return name in self.users

    def list_users(self, path_prefix: str = "/") -> list[dict[str, Any]]:
        return [copy.deepcopy(u) for u in sorted(self.users.values(), key=lambda u: u["UserName"].lower()) if u["Path"].startswith(path_prefix)]

    def delete_user(self, name: str, has_keys: bool) -> None:
        with self._lock:
            self._sync()
            self.get_user(name)
            if has_keys:
                raise AwsError("DeleteConflict", "Cannot delete entity, must delete access keys first.", 409)
            if self.attached.get(name):
                raise AwsError("DeleteConflict", "Cannot delete entity, must detach all policies first.", 409)
            if self.inline.get(name):
                raise AwsError("DeleteConflict", "Cannot delete entity, must delete policies first.", 409)
            # DeleteUser: "remove ... Password (DeleteLoginProfile) ... Group memberships (RemoveUserFromGroup)"
            # (IAM API reference); the wording is ours, after the two above.
            if name in self.logins:
                raise AwsError("DeleteConflict", "Cannot delete entity, must delete login profile first.", 409)
            if self.groups_of(name):
                raise AwsError("DeleteConflict", "Cannot delete entity, must remove user from all groups first.", 409)
            del self.users[name]
            self.attached.pop(name, None)
            self.inline.pop(name, None)
            self._save()

    # --------------------------------------------------------------- policies
    def policy_arn(self, name: str, path: str = "/") -> str:
        return f"arn:aws:iam::{self.account_id}:policy{path}{name}"

    def create_policy(self, name: str, document: str, path: str = "/", description: str | None = None, tags: list[dict[str, str]] | None = None) -> dict[str, Any]:
        parse_document(document)
        with self._lock:
            self._sync()
            arn = self.policy_arn(name, path)
            if arn in self.policies or any(p["PolicyName"] == name for p in self.policies.values()):
                raise AwsError("EntityAlreadyExists", f"A policy called {name} already exists. Duplicate names are not allowed.", 409)
            now = time.time()
            policy = {
                "PolicyName": name,
                "PolicyId": new_id("ANPA"),
                "Arn": arn,
                "Path": path,
                "Description": description,
                "CreateDate": now,
                "UpdateDate": now,
                "DefaultVersionId": "v1",
                "Versions": {"v1": {"Document": document, "CreateDate": now}},
                "IsAttachable": True,
                "Tags": list(tags or []),
            }
            self.policies[arn] = policy
            self._save()
            return self.describe_policy(arn)

    def _policy(self, arn: str) -> dict[str, Any] | None:
        policy = self.policies.get(arn)
        if policy is None and arn.startswith(AWS_POLICY_PREFIX):
            return aws_managed_policies().get(arn)
        return policy

    def attachment_count(self, arn: str) -> int:
        """Users and groups the policy is attached to (roles are moto's: the handler adds them)."""
        return sum(1 for arns in self.attached.values() if arn in arns) + sum(1 for arns in self.group_attached.values() if arn in arns)

    def boundary_count(self, arn: str) -> int:
        return sum(1 for u in self.users.values() if (u.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn") == arn)

    def describe_policy(self, arn: str) -> dict[str, Any]:
        policy = self._policy(arn)
        if policy is None:
            raise no_such_entity(f"Policy {arn} was not found.")
        out = {k: v for k, v in policy.items() if k != "Versions" and v is not None}
        out["AttachmentCount"] = self.attachment_count(arn)
        out["PermissionsBoundaryUsageCount"] = self.boundary_count(arn)
        return out

    def policy_version(self, arn: str, version_id: str) -> dict[str, Any]:
        policy = self._policy(arn)
        if policy is None:
            raise no_such_entity(f"Policy {arn} was not found.")
        version = policy["Versions"].get(version_id)
        if version is None:
            raise no_such_entity(f"Policy {arn} version {version_id} does not exist or is not attachable.")
        return {"Document": version["Document"], "VersionId": version_id, "IsDefaultVersion": version_id == policy["DefaultVersionId"], "CreateDate": version["CreateDate"]}

    def list_policies(self, scope: str = "All", only_attached: bool = False, path_prefix: str = "/") -> list[dict[str, Any]]:
        arns: list[str] = []
        if scope in ("All", "AWS"):
            arns.extend(aws_managed_policies())
        if scope in ("All", "Local"):
            arns.extend(self.policies)
        out = []
        for arn in arns:
            info = self.describe_policy(arn)
            if only_attached and not info["AttachmentCount"]:
                continue
            if not info["Path"].startswith(path_prefix):
                continue
            out.append(info)
        return sorted(out, key=lambda p: p["PolicyName"].lower())

    def _own_policy(self, arn: str) -> dict[str, Any]:
        """A customer managed policy, to change (under the lock): AWS managed ones cannot be."""
        policy = self.policies.get(arn)
        if policy is None:
            if self._policy(arn) is not None:
                raise AwsError("AccessDenied", "AWS managed policies cannot be modified.", 403)
            raise no_such_entity(f"Policy {arn} was not found.")
        return policy

    def list_policy_versions(self, arn: str) -> list[dict[str, Any]]:
        """Every version of a policy, newest first (as IAM lists them), without documents."""
        policy = self._policy(arn)
        if policy is None:
            raise no_such_entity(f"Policy {arn} was not found.")
        ids = sorted(policy["Versions"], key=lambda v: int(v[1:]), reverse=True)
        return [{k: v for k, v in self.policy_version(arn, vid).items() if k != "Document"} for vid in ids]

    def create_policy_version(self, arn: str, document: str, set_as_default: bool) -> dict[str, Any]:
        parse_document(document)
        with self._lock:
            self._sync()
            policy = self._own_policy(arn)
            versions = policy["Versions"]
            if len(versions) >= 5:
                raise AwsError("LimitExceeded", "A managed policy can have up to 5 versions. Before you create a new version, you must delete an existing version.", 409)
            now = time.time()
            version_id = f"v{max(int(v[1:]) for v in versions) + 1}"
            versions[version_id] = {"Document": document, "CreateDate": now}
            if set_as_default:
                policy["DefaultVersionId"] = version_id
                policy["UpdateDate"] = now
            self._save()  # drops the compiled PolicySets: the new default applies at once
            return self.policy_version(arn, version_id)

    def set_default_policy_version(self, arn: str, version_id: str) -> None:
        with self._lock:
            self._sync()
            policy = self._own_policy(arn)
            if version_id not in policy["Versions"]:
                raise no_such_entity(f"Policy {arn} version {version_id} does not exist or is not attachable.")
            policy["DefaultVersionId"] = version_id
            policy["UpdateDate"] = time.time()
            self._save()

    def delete_policy_version(self, arn: str, version_id: str) -> None:
        with self._lock:
            self._sync()
            policy = self._own_policy(arn)
            if version_id not in policy["Versions"]:
                raise no_such_entity(f"Policy {arn} version {version_id} does not exist or is not attachable.")
            if version_id == policy["DefaultVersionId"]:
                raise AwsError("DeleteConflict", "Cannot delete the default version of a policy.", 409)
            del policy["Versions"][version_id]
            self._save()

    def tag_policy(self, arn: str, add: list[dict[str, str]], remove: list[str]) -> None:
        with self._lock:
            self._sync()
            policy = self._own_policy(arn)
            tags = {t["Key"]: t["Value"] for t in policy.get("Tags") or []}
            tags.update({t["Key"]: t.get("Value", "") for t in add})
            for key in remove:
                tags.pop(key, None)
            if len(tags) > 50:
                raise AwsError("LimitExceeded", "Cannot exceed quota for TagsPerPolicy: 50", 409)
            policy["Tags"] = [{"Key": k, "Value": v} for k, v in tags.items()]
            self._save()

    def delete_policy(self, arn: str) -> None:
        with self._lock:
            self._sync()
            if arn not in self.policies:
                if self._policy(arn) is not None:
                    raise AwsError("AccessDenied", "AWS managed policies cannot be deleted.", 403)
                raise no_such_entity(f"Policy {arn} was not found.")
            if self.attachment_count(arn) or self.boundary_count(arn):
                # A boundary counts as an attachment here (ours: AWS's DeletePolicy asks to detach
                # the policy first; its wording for a boundary use is not documented).
                raise AwsError("DeleteConflict", "Cannot delete a policy attached to entities.", 409)
            del self.policies[arn]
            self._save()

    def attach_user_policy(self, user: str, arn: str) -> None:
        with self._lock:
            self._sync()
            self.get_user(user)
            if self._policy(arn) is None:
                raise no_such_entity(f"Policy {arn} does not exist or is not attachable.")
            arns = self.attached.setdefault(user, [])
            if arn not in arns:
                if len(arns) >= 20:
                    raise AwsError("LimitExceeded", "Cannot exceed quota for PoliciesPerUser: 20", 409)
                arns.append(arn)
                self._save()

    def detach_user_policy(self, user: str, arn: str) -> None:
        with self._lock:
            self._sync()
            self.get_user(user)
            arns = self.attached.get(user, [])
            if arn not in arns:
                raise no_such_entity(f"Policy {arn} was not found.")
            arns.remove(arn)
            self._save()

    def attached_user_policies(self, user: str) -> list[dict[str, str]]:
        self.get_user(user)
        return [{"PolicyName": arn.rsplit("/", 1)[-1], "PolicyArn": arn} for arn in self.attached.get(user, [])]

    # ------------------------------------------------------- inline policies
    def put_user_policy(self, user: str, name: str, document: str) -> None:
        parse_document(document)
        with self._lock:
            self._sync()
            self.get_user(user)
            self.inline.setdefault(user, {})[name] = document
            self._save()

    def get_user_policy(self, user: str, name: str) -> str:
        self.get_user(user)
        doc = self.inline.get(user, {}).get(name)
        if doc is None:
            raise no_such_entity(f"The user policy with name {name} cannot be found.")
        return doc

    def delete_user_policy(self, user: str, name: str) -> None:
        with self._lock:
            self._sync()
            self.get_user(user)
            if name not in self.inline.get(user, {}):
                raise no_such_entity(f"The user policy with name {name} cannot be found.")
            del self.inline[user][name]
            self._save()

    def user_policy_names(self, user: str) -> list[str]:
        self.get_user(user)
        return sorted(self.inline.get(user, {}))

    def _group_documents(self, group: str) -> list[tuple[str, str, str]]:
        out: list[tuple[str, str, str]] = []
        for arn in self.group_attached.get(group, []):
            policy = self._policy(arn)
            if policy is not None:
                kind = "aws-managed" if arn.startswith(AWS_POLICY_PREFIX) else "user-managed"
                out.append((policy["PolicyName"], kind, policy["Versions"][policy["DefaultVersionId"]]["Document"]))
        out.extend((name, "group", doc) for name, doc in self.group_inline.get(group, {}).items())
        return out

    def group_policy_documents(self, group: str) -> list[tuple[str, str, str]]:
        """(name, PolicySourceType, document) of each policy of ``group`` (NoSuchEntity if none)."""
        self.get_group(group)
        return self._group_documents(group)

    def user_policy_documents(self, user: str) -> list[tuple[str, str, str]]:
        """(name, PolicySourceType, document) of each policy of ``user``, as the authorizer
        evaluates them: the attached ones ("aws-managed"/"user-managed"), the inline ones
        ("user"), then those of its groups ("group" for their inline ones). Unknown user: NoSuchEntity."""
        self.get_user(user)
        return self._user_documents(user)

    def _user_documents(self, user: str) -> list[tuple[str, str, str]]:
        out: list[tuple[str, str, str]] = []
        for arn in self.attached.get(user, []):
            policy = self._policy(arn)
            if policy is not None:
                kind = "aws-managed" if arn.startswith(AWS_POLICY_PREFIX) else "user-managed"
                out.append((policy["PolicyName"], kind, policy["Versions"][policy["DefaultVersionId"]]["Document"]))
        out.extend((name, "user", doc) for name, doc in self.inline.get(user, {}).items())
        for group in self.groups_of(user):
            out.extend(self._group_documents(group))
        return out

    def boundary_document(self, user: str) -> str | None:
        """The default version of the user's permissions boundary policy, or None."""
        arn = (self.users.get(user, {}).get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn")
        return self.policy_document(arn) if arn else None

    def policy_document(self, arn: str) -> str | None:
        """The default version's document of the managed policy ``arn`` (customer managed or
        AWS managed), or None if there is no such policy."""
        policy = self._policy(arn)
        if policy is None:
            return None
        return str(policy["Versions"][policy["DefaultVersionId"]]["Document"])

    # ------------------------------------------------------------ evaluation
    def policy_set(self, user: str) -> PolicySet:
        """Every statement that applies to ``user`` (its attached and inline policies and its
        groups'), within its permissions boundary if it has one; compiled and cached."""
        self.maybe_reload()
        found = self._sets.get(user)
        if found is None:
            # Not only IAM users: a key made by ``emulator keys create --user NAME`` has no policies.
            docs = [doc for _, _, doc in self._user_documents(user)]
            boundary = self.boundary_document(user) if user in self.users else None
            if boundary is None:
                found = PolicySet.from_documents(docs)
            else:
                found = BoundedPolicySet.bounded(docs, boundary)
            self._sets[user] = found
        return found

    # ------------------------------------------------ boundaries, login profiles
    def set_boundary(self, user: str, arn: str | None) -> None:
        """PutUserPermissionsBoundary (``arn``) / DeleteUserPermissionsBoundary (None)."""
        with self._lock:
            self._sync()
            record = self.users.get(user)
            if record is None:
                raise no_such_entity(f"The user with name {user} cannot be found.")
            if arn is None:
                record.pop("PermissionsBoundary", None)
            else:
                if self._policy(arn) is None:
                    raise no_such_entity(f"Policy {arn} does not exist or is not attachable.")
                # permissionsBoundaryAttachmentType's one value (botocore's IAM model).
                record["PermissionsBoundary"] = {"PermissionsBoundaryType": "PermissionsBoundaryPolicy", "PermissionsBoundaryArn": arn}
            self._save()

    def login_profile(self, user: str) -> dict[str, Any]:
        self.get_user(user)
        found = self.logins.get(user)
        if found is None:
            raise no_such_entity(f"Login Profile for User {user} cannot be found.")
        return {"UserName": user, "CreateDate": found["CreateDate"], "PasswordResetRequired": bool(found["PasswordResetRequired"])}

    def put_login_profile(self, user: str, password_hash: str | None, reset_required: bool | None, create: bool) -> dict[str, Any]:
        """CreateLoginProfile (``create``: EntityAlreadyExists if there is one) or
        UpdateLoginProfile (NoSuchEntity if there is none). Only the password's hash is kept
        (``hash_password``)."""
        with self._lock:
            self._sync()
            self.get_user(user)
            found = self.logins.get(user)
            if create and found is not None:
                raise AwsError("EntityAlreadyExists", f"Login Profile for user {user} already exists.", 409)
            if not create and found is None:
                raise no_such_entity(f"Login Profile for User {user} cannot be found.")
            record = found or {"CreateDate": time.time(), "PasswordResetRequired": False}
            if password_hash is not None:
                record["Password"] = password_hash
            if reset_required is not None:
                record["PasswordResetRequired"] = bool(reset_required)
            self.logins[user] = record
            self._save()
            return self.login_profile(user)

    def delete_login_profile(self, user: str) -> None:
        with self._lock:
            self._sync()
            self.login_profile(user)
            del self.logins[user]
            self._save()


# A boundary naming a policy that is not there (moto's CreateRole takes any policy ARN) allows
# nothing: the role's sessions may do nothing rather than everything (ours).
_NO_POLICY = '{"Version": "2012-10-17", "Statement": []}'


def role_boundary_document(store: IamStore, role: Any) -> str | None:
    """The default document of the permissions boundary of one of moto's roles (the policies,
    customer or AWS managed, are the store's), or None when the role has no boundary."""
    arn = getattr(role, "permissions_boundary_arn", None)
    if not isinstance(arn, str) or not arn:
        return None
    found = store.policy_document(arn)
    if found is not None:
        return found
    return _NO_POLICY


def bounded(policies: PolicySet, boundary: str | None) -> PolicySet:
    """``policies`` within the boundary document (unchanged without one)."""
    if boundary is None:
        return policies
    return BoundedPolicySet(policies.statements, boundary=PolicySet.from_documents([boundary]))


def hash_password(password: str) -> str:
    """scrypt with a random salt: ``scrypt$<salt b64>$<hash b64>`` (tens of milliseconds: off the event loop)."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1)
    return "scrypt$" + base64.b64encode(salt).decode() + "$" + base64.b64encode(digest).decode()


@dataclass
class BoundedPolicySet(PolicySet):
    """A user's policies within its permissions boundary (IAM User Guide, "Permissions
    boundaries for IAM entities": the effective permissions are those both the identity-based
    policies and the boundary allow; an explicit deny in either wins). A refusal by the
    boundary carries ``source="boundary"`` for the access-denied message."""

    boundary: PolicySet = field(default_factory=PolicySet)

    @classmethod
    def bounded(cls, documents: list[str], boundary: str) -> BoundedPolicySet:
        return cls(PolicySet.from_documents(documents).statements, boundary=PolicySet.from_documents([boundary]))

    @property
    def uses_variables(self) -> bool:
        return super().uses_variables or self.boundary.uses_variables

    @property
    def variable_keys(self) -> frozenset[str]:
        return super().variable_keys | self.boundary.variable_keys

    def condition_keys(self, action: str) -> tuple[str, ...]:
        return tuple(sorted(set(super().condition_keys(action)) | set(self.boundary.condition_keys(action))))

    def _evaluate(self, action: str, resources: str | list[str], context: dict[str, Any] | None, variables: dict[str, Any] | None) -> Decision:
        mine = super()._evaluate(action, resources, context, variables)
        if mine.decision == EXPLICIT_DENY:
            return mine
        theirs = self.boundary._evaluate(action, resources, context, variables)
        if theirs.decision == EXPLICIT_DENY:
            return Decision(EXPLICIT_DENY, action, theirs.resource, theirs.statement, source="boundary")
        if not mine.allowed:
            return mine
        if not theirs.allowed:
            return Decision(IMPLICIT_DENY, action, theirs.resource, source="boundary")
        return mine


def encode_document(document: str) -> str:
    """IAM returns policy documents URL-encoded (RFC 3986) in its XML responses."""
    from urllib.parse import quote

    return quote(document, safe="")


def decode_document(document: str) -> str:
    """Accept documents sent URL-encoded as well as plain JSON."""
    text = document.strip()
    if text.startswith(("%7B", "%7b")):
        return unquote(text)
    return document
