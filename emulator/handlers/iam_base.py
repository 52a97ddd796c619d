"""What the IAM handler's modules share: output helpers and the base class that reaches the
native store (users, groups, policies), the key store, and moto's IAM (roles)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from emulator.context import RequestContext
from emulator.errors import AwsError
from emulator.gateway.iam_store import IamStore, no_such_entity
from emulator.handlers.base import ServiceHandler


def ts(epoch: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(epoch, tz=dt.UTC)


def start_and_limit(params: dict[str, Any]) -> tuple[int, int]:
    start = 0
    marker = params.get("Marker")
    if marker:
        try:
            start = int(marker)
        except ValueError as exc:
            raise AwsError("ValidationError", "Invalid Marker.", 400) from exc
    return start, int(params.get("MaxItems") or 100)


def paginate(items: list[Any], params: dict[str, Any], key: str) -> dict[str, Any]:
    start, limit = start_and_limit(params)
    page = items[start : start + limit]
    out: dict[str, Any] = {key: page, "IsTruncated": start + limit < len(items)}
    if out["IsTruncated"]:
        out["Marker"] = str(start + limit)
    return out


def paginate_mixed(items: list[tuple[str, Any]], params: dict[str, Any], keys: list[str]) -> dict[str, Any]:
    """One page over several lists (``(list key, item)`` pairs in order), as IAM pages
    ListEntitiesForPolicy and GetAccountAuthorizationDetails: one Marker for all of them."""
    start, limit = start_and_limit(params)
    out: dict[str, Any] = {key: [] for key in keys}
    for key, item in items[start : start + limit]:
        out[key].append(item)
    out["IsTruncated"] = start + limit < len(items)
    if out["IsTruncated"]:
        out["Marker"] = str(start + limit)
    return out


def user_out(user: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in user.items() if k != "Tags" or v}
    out["CreateDate"] = ts(user["CreateDate"])
    return out


def group_out(group: dict[str, Any]) -> dict[str, Any]:
    return dict(group) | {"CreateDate": ts(group["CreateDate"])}


def policy_out(policy: dict[str, Any]) -> dict[str, Any]:
    out = dict(policy)
    for k in ("CreateDate", "UpdateDate"):
        if k in out:
            out[k] = ts(out[k])
    if not out.get("Tags"):
        out.pop("Tags", None)
    return out


class IamBase(ServiceHandler):
    """The state every IAM operation module reads (abstract: IamHandler is the service)."""

    @property
    def store(self) -> IamStore:
        store: IamStore = self.runtime.components["iam_store"]
        return store

    def moto_iam(self) -> Any | None:
        """moto's IAM backend (roles, instance profiles, the password policy), or None without the fallback."""
        fallback = self.runtime.fallback
        return fallback.backend("iam", "aws") if fallback is not None else None

    def moto_roles(self) -> list[Any]:
        backend = self.moto_iam()
        return sorted(backend.roles.values(), key=lambda r: r.name.lower()) if backend is not None else []

    def role_attachments(self, arn: str) -> int:
        """How many of moto's roles the managed policy ``arn`` is attached to."""
        return sum(1 for role in self.moto_roles() if arn in role.managed_policies)

    def _caller(self, ctx: RequestContext) -> str:
        principal = ctx.principal
        return principal.user_name if principal is not None else "root"

    def _target_user(self, ctx: RequestContext, params: dict[str, Any]) -> str:
        """UserName, defaulting to the caller (as IAM does for keys and GetUser)."""
        name = params.get("UserName")
        if name:
            return str(name)
        return self._caller(ctx)

    def _require_user(self, name: str) -> None:
        if name != "root":
            self.store.get_user(name)

    def _key_of(self, user: str, access_key_id: str) -> Any:
        key = self.runtime.keys.get(access_key_id)
        if key is None or key.user_name != user:
            raise no_such_entity(f"The Access Key with id {access_key_id} cannot be found.")
        return key
