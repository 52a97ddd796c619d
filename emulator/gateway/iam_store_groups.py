"""IAM groups of the native IAM store (emulator/gateway/iam_store.py): membership, attached and
inline group policies. A mixin of ``IamStore``, whose state (``groups``, ``members``,
``group_attached``, ``group_inline``) and persistence (``_sync``, ``_save`` under ``_lock``) it
uses; split from it by concern (the store passed 800 lines)."""

from __future__ import annotations

import copy
import secrets
import string
import time
from typing import TYPE_CHECKING, Any

from emulator.errors import AwsError
from emulator.gateway.policy import parse_document

_ID_ALPHABET = string.ascii_uppercase + string.digits


def new_id(prefix: str) -> str:
    return prefix + "".join(secrets.choice(_ID_ALPHABET) for _ in range(17))


def no_such_entity(message: str) -> AwsError:
    return AwsError("NoSuchEntity", message, 404)


class GroupMethods:
    if TYPE_CHECKING:  # IamStore's
        account_id: str
        _lock: Any  # IamStore's _StoreLock (a re-entrant lock)
        users: dict[str, dict[str, Any]]
        groups: dict[str, dict[str, Any]]
        members: dict[str, list[str]]
        group_attached: dict[str, list[str]]
        group_inline: dict[str, dict[str, str]]

        def _sync(self) -> None: ...
        def _save(self) -> None: ...
        def _policy(self, arn: str) -> dict[str, Any] | None: ...
        def get_user(self, name: str) -> dict[str, Any]: ...

    # ------------------------------------------------------------------ groups
    def group_arn(self, name: str, path: str = "/") -> str:
        return f"arn:aws:iam::{self.account_id}:group{path}{name}"

    def _group(self, name: str) -> dict[str, Any]:
        group = self.groups.get(name)
        if group is None:
            raise no_such_entity(f"The group with name {name} cannot be found.")
        return group

    def get_group(self, name: str) -> dict[str, Any]:
        return copy.deepcopy(self._group(name))

    def create_group(self, name: str, path: str = "/") -> dict[str, Any]:
        with self._lock:
            self._sync()
            if name in self.groups:
                raise AwsError("EntityAlreadyExists", f"Group with name {name} already exists.", 409)
            group = {"GroupName": name, "GroupId": new_id("AGPA"), "Arn": self.group_arn(name, path), "Path": path, "CreateDate": time.time()}
            self.groups[name] = group
            self._save()
            return copy.deepcopy(group)

    def list_groups(self, path_prefix: str = "/") -> list[dict[str, Any]]:
        return [copy.deepcopy(g) for g in sorted(self.groups.values(), key=lambda g: g["GroupName"].lower()) if g["Path"].startswith(path_prefix)]

    def update_group(self, name: str, new_name: str | None, new_path: str | None) -> None:
        """UpdateGroup: a new path (the ARN follows) and/or a new name; members and policies follow."""
        with self._lock:
            self._sync()
            group = self._group(name)
            if new_name and new_name != name:
                if new_name in self.groups:
                    raise AwsError("EntityAlreadyExists", f"Group with name {new_name} already exists.", 409)
                self.groups[new_name] = self.groups.pop(name)
                group["GroupName"] = new_name
                if name in self.members:
                    self.members[new_name] = self.members.pop(name)
                if name in self.group_attached:
                    self.group_attached[new_name] = self.group_attached.pop(name)
                if name in self.group_inline:
                    self.group_inline[new_name] = self.group_inline.pop(name)
                name = new_name
            if new_path:
                group["Path"] = new_path
            group["Arn"] = self.group_arn(name, group["Path"])
            self._save()

    def delete_group(self, name: str) -> None:
        """DeleteGroup: "The group must not contain any users or have any attached policies"
        (IAM API reference); the messages are ours, worded as DeleteUser's."""
        with self._lock:
            self._sync()
            self._group(name)
            if self.members.get(name):
                raise AwsError("DeleteConflict", "Cannot delete entity, must remove users from group first.", 409)
            if self.group_attached.get(name):
                raise AwsError("DeleteConflict", "Cannot delete entity, must detach all policies first.", 409)
            if self.group_inline.get(name):
                raise AwsError("DeleteConflict", "Cannot delete entity, must delete policies first.", 409)
            del self.groups[name]
            self.members.pop(name, None)
            self.group_attached.pop(name, None)
            self.group_inline.pop(name, None)
            self._save()

    def members_of(self, group: str) -> list[dict[str, Any]]:
        self._group(group)
        return [self.get_user(u) for u in self.members.get(group, []) if u in self.users]

    def groups_of(self, user: str) -> list[str]:
        return [g for g, users in self.members.items() if user in users and g in self.groups]

    def add_member(self, group: str, user: str) -> None:
        with self._lock:
            self._sync()
            self._group(group)
            self.get_user(user)
            users = self.members.setdefault(group, [])
            if user in users:
                return  # AWS answers success when the user is already a member
            if len(self.groups_of(user)) >= 10:
                raise AwsError("LimitExceeded", "Cannot exceed quota for GroupsPerUser: 10", 409)
            users.append(user)
            self._save()

    def remove_member(self, group: str, user: str) -> None:
        with self._lock:
            self._sync()
            self._group(group)
            self.get_user(user)
            users = self.members.get(group, [])
            if user not in users:
                raise no_such_entity(f"User {user} is not in group {group}.")
            users.remove(user)
            self._save()

    def attach_group_policy(self, group: str, arn: str) -> None:
        with self._lock:
            self._sync()
            self._group(group)
            if self._policy(arn) is None:
                raise no_such_entity(f"Policy {arn} does not exist or is not attachable.")
            arns = self.group_attached.setdefault(group, [])
            if arn not in arns:
                if len(arns) >= 10:
                    raise AwsError("LimitExceeded", "Cannot exceed quota for PoliciesPerGroup: 10", 409)
                arns.append(arn)
                self._save()

    def detach_group_policy(self, group: str, arn: str) -> None:
        with self._lock:
            self._sync()
            self._group(group)
            arns = self.group_attached.get(group, [])
            if arn not in arns:
                raise no_such_entity(f"Policy {arn} was not found.")
            arns.remove(arn)
            self._save()

    def attached_group_policies(self, group: str) -> list[dict[str, str]]:
        self._group(group)
        return [{"PolicyName": arn.rsplit("/", 1)[-1], "PolicyArn": arn} for arn in self.group_attached.get(group, [])]

    def put_group_policy(self, group: str, name: str, document: str) -> None:
        parse_document(document)
        with self._lock:
            self._sync()
            self._group(group)
            self.group_inline.setdefault(group, {})[name] = document
            self._save()

    def get_group_policy(self, group: str, name: str) -> str:
        self._group(group)
        doc = self.group_inline.get(group, {}).get(name)
        if doc is None:
            raise no_such_entity(f"The group policy with name {name} cannot be found.")
        return doc

    def delete_group_policy(self, group: str, name: str) -> None:
        with self._lock:
            self._sync()
            self._group(group)
            if name not in self.group_inline.get(group, {}):
                raise no_such_entity(f"The group policy with name {name} cannot be found.")
            del self.group_inline[group][name]
            self._save()

    def group_policy_names(self, group: str) -> list[str]:
        self._group(group)
        return sorted(self.group_inline.get(group, {}))

