"""Bedrock Guardrails' control plane: CreateGuardrail, GetGuardrail, ListGuardrails,
UpdateGuardrail, CreateGuardrailVersion, DeleteGuardrail, and the tags of guardrails
(BedrockHandler's TagResource / UntagResource / ListTagsForResource).

The guardrails live in ``emulator.compute.guardrails``' store, which Bedrock Runtime reads
(ApplyGuardrail, and the guardrails of Converse and InvokeModel). Only the policies that
store enforces are accepted: the others are refused with a ValidationException.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from emulator.compute.guardrails import (
    DRAFT,
    GuardrailStore,
    UnsupportedPolicy,
    guardrail_store,
    policies,
)
from emulator.context import RequestContext
from emulator.errors import AwsError
from emulator.handlers.base import operation
from emulator.handlers.bedrock_catalog import decode_token, encode_token

if TYPE_CHECKING:
    from emulator.compute.service import ComputeService
    from emulator.runtime import Runtime


def _invalid(message: str) -> AwsError:
    return AwsError("ValidationException", message, 400)


def _missing(ident: str, version: str | None = None) -> AwsError:
    # The operations' error for a guardrail that is not there (botocore's model); the text is ours.
    if version is not None:
        return AwsError("ResourceNotFoundException", f"The guardrail {ident} has no version {version}.", 404)
    return AwsError("ResourceNotFoundException", f"The guardrail {ident} was not found.", 404)


def _time(seconds: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, dt.UTC)


def _config(params: dict[str, Any]) -> dict[str, Any]:
    """A version's configuration from CreateGuardrail / UpdateGuardrail's members."""
    try:
        found = policies(params)
    except UnsupportedPolicy as exc:
        raise _invalid(str(exc)) from None
    config = {"name": params["name"], "blockedInputMessaging": params["blockedInputMessaging"],
              "blockedOutputsMessaging": params["blockedOutputsMessaging"], **found}
    if params.get("description"):
        config["description"] = params["description"]
    return config


def _details(record: dict[str, Any], version: str) -> dict[str, Any]:
    """GetGuardrail's answer for one version."""
    config = record["versions"][version]
    out: dict[str, Any] = {"name": config["name"], "guardrailId": record["id"], "guardrailArn": record["arn"], "version": version,
                           "status": "READY", "createdAt": _time(config["createdAt"]), "updatedAt": _time(config["updatedAt"]),
                           "blockedInputMessaging": config["blockedInputMessaging"],
                           "blockedOutputsMessaging": config["blockedOutputsMessaging"]}
    for key in ("description", "wordPolicy", "sensitiveInformationPolicy"):
        if config.get(key):
            out[key] = config[key]
    return out


def _summary(record: dict[str, Any], version: str) -> dict[str, Any]:
    config = record["versions"][version]
    out = {"id": record["id"], "arn": record["arn"], "status": "READY", "name": config["name"], "version": version,
           "createdAt": _time(config["createdAt"]), "updatedAt": _time(config["updatedAt"])}
    if config.get("description"):
        out["description"] = config["description"]
    return out


def _versions(record: dict[str, Any]) -> list[str]:
    """DRAFT first, then the numbered versions in order."""
    return sorted(record["versions"], key=lambda v: -1 if v == DRAFT else int(v))


class GuardrailOperations:
    compute: ComputeService
    runtime: Runtime

    @property
    def guardrails(self) -> GuardrailStore:
        return guardrail_store(self.runtime)

    def _guardrail(self, ctx: RequestContext, ident: str) -> dict[str, Any]:
        record = self.guardrails.find(ctx.account_id, ctx.region, ident)
        if record is None:
            raise _missing(ident)
        return record

    def guardrail_tags(self, ctx: RequestContext, arn: str) -> tuple[list[dict[str, str]], Callable[[list[dict[str, str]]], None]] | None:
        """(the tags, a function that stores new ones) of the guardrail an ARN names; None for
        an ARN of another kind of resource."""
        if ":guardrail/" not in arn:
            return None
        record = self._guardrail(ctx, arn)

        def store(tags: list[dict[str, str]]) -> None:
            record["tags"] = tags
            self.guardrails.save()

        return list(record.get("tags") or []), store

    async def reset_guardrails(self) -> None:
        """Forget every guardrail (POST /_emulator/reset)."""
        self.guardrails.clear()

    @operation("CreateGuardrail")
    def create_guardrail(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        mine = self.guardrails.of(ctx.account_id, ctx.region)
        token = params.get("clientRequestToken")
        repeated = next((g for g in mine if token and g.get("token") == token), None)
        if repeated is None:
            name = params["name"]
            if any(g["versions"][DRAFT]["name"] == name for g in mine):
                raise AwsError("ConflictException", f"A guardrail with the name {name} already exists.", 400)  # our text
            repeated = self.guardrails.create(ctx.account_id, ctx.region, _config(params), params.get("tags") or [], token)
        # botocore's documentation of clientRequestToken: a repeated token is ignored without an error.
        return {"guardrailId": repeated["id"], "guardrailArn": repeated["arn"], "version": DRAFT,
                "createdAt": _time(repeated["versions"][DRAFT]["createdAt"])}

    @operation("GetGuardrail")
    def get_guardrail(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        ident = params["guardrailIdentifier"]
        version = params.get("guardrailVersion") or DRAFT
        record = self._guardrail(ctx, ident)
        if version not in record["versions"]:
            raise _missing(ident, version)
        return _details(record, version)

    @operation("ListGuardrails")
    def list_guardrails(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        """Without guardrailIdentifier: every guardrail's DRAFT; with it: its versions."""
        ident = params.get("guardrailIdentifier")
        if ident:
            record = self._guardrail(ctx, ident)
            items = [_summary(record, v) for v in _versions(record)]
        else:
            items = [_summary(g, DRAFT) for g in self.guardrails.of(ctx.account_id, ctx.region)]
        start = decode_token(params["nextToken"]) if params.get("nextToken") else 0
        if start > len(items):
            raise _invalid("The provided nextToken is invalid.")  # our text
        limit = params.get("maxResults") or len(items)
        out: dict[str, Any] = {"guardrails": items[start : start + limit]}
        if start + limit < len(items):
            out["nextToken"] = encode_token(start + limit)
        return out

    @operation("UpdateGuardrail")
    def update_guardrail(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        """Replaces the DRAFT's configuration (the numbered versions are snapshots)."""
        record = self._guardrail(ctx, params["guardrailIdentifier"])
        name = params["name"]
        if any(g["versions"][DRAFT]["name"] == name and g is not record for g in self.guardrails.of(ctx.account_id, ctx.region)):
            raise AwsError("ConflictException", f"A guardrail with the name {name} already exists.", 400)  # our text
        draft = record["versions"][DRAFT]
        now = time.time()
        record["versions"][DRAFT] = {**_config(params), "createdAt": draft["createdAt"], "updatedAt": now}
        self.guardrails.save()
        return {"guardrailId": record["id"], "guardrailArn": record["arn"], "version": DRAFT, "updatedAt": _time(now)}

    @operation("CreateGuardrailVersion")
    def create_guardrail_version(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        """A numbered snapshot of the DRAFT: 1, 2, ... (a deleted version's number is not reused)."""
        record = self._guardrail(ctx, params["guardrailIdentifier"])
        token = params.get("clientRequestToken")
        tokens: dict[str, str] = record.setdefault("tokens", {})
        if token and token in tokens and tokens[token] in record["versions"]:
            return {"guardrailId": record["id"], "version": tokens[token]}
        version = str(record["nextVersion"])
        now = time.time()
        snapshot = {**record["versions"][DRAFT], "createdAt": now, "updatedAt": now}
        if params.get("description"):
            snapshot["description"] = params["description"]
        record["versions"][version] = snapshot
        record["nextVersion"] += 1
        if token:
            tokens[token] = version
        self.guardrails.save()
        return {"guardrailId": record["id"], "version": version}

    @operation("DeleteGuardrail")
    def delete_guardrail(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        """The whole guardrail (every version), or one numbered version (botocore's documentation)."""
        ident = params["guardrailIdentifier"]
        record = self._guardrail(ctx, ident)
        version = params.get("guardrailVersion")
        if version is None:
            self.guardrails.save([g for g in self.guardrails.items() if g is not record])
            return {}
        if version not in record["versions"] or version == DRAFT:
            raise _missing(ident, version)
        del record["versions"][version]
        self.guardrails.save()
        return {}
