"""IAM groups, served natively (emulator/gateway/iam_store.py keeps them): their members are
the native users, and the authorizer counts a group's inline and attached policies for each
of its members from the next request on (IAM User Guide, "Policy evaluation logic")."""

from __future__ import annotations

from typing import Any

from emulator.context import RequestContext
from emulator.gateway.iam_store import decode_document, encode_document
from emulator.handlers.base import operation
from emulator.handlers.iam_base import IamBase, group_out, paginate, user_out


class IamGroups(IamBase):
    @operation("CreateGroup")
    def create_group(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return {"Group": group_out(self.store.create_group(params["GroupName"], params.get("Path") or "/"))}

    @operation("GetGroup")
    def get_group(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        group = group_out(self.store.get_group(params["GroupName"]))
        users = [user_out(u) for u in self.store.members_of(params["GroupName"])]
        for u in users:
            u.pop("Tags", None)  # GetGroup lists users as ListUsers does
            u.pop("PermissionsBoundary", None)
        return {"Group": group} | paginate(users, params, "Users")

    @operation("ListGroups")
    def list_groups(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        groups = [group_out(g) for g in self.store.list_groups(params.get("PathPrefix") or "/")]
        return paginate(groups, params, "Groups")

    @operation("UpdateGroup")
    def update_group(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        self.store.update_group(params["GroupName"], params.get("NewGroupName"), params.get("NewPath"))
        return {}

    @operation("DeleteGroup")
    def delete_group(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        self.store.delete_group(params["GroupName"])
        return {}

    @operation("AddUserToGroup")
    def add_user_to_group(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        self.store.add_member(params["GroupName"], params["UserName"])
        return {}

    @operation("RemoveUserFromGroup")
    def remove_user_from_group(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        self.store.remove_member(params["GroupName"], params["UserName"])
        return {}

    @operation("ListGroupsForUser")
    def list_groups_for_user(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        name = params["UserName"]
        self.store.get_user(name)
        groups = [group_out(self.store.get_group(g)) for g in sorted(self.store.groups_of(name), key=str.lower)]
        return paginate(groups, params, "Groups")

    # ---------------------------------------------------------------- policies
    @operation("AttachGroupPolicy")
    def attach_group_policy(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        self.store.attach_group_policy(params["GroupName"], params["PolicyArn"])
        return {}

    @operation("DetachGroupPolicy")
    def detach_group_policy(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        self.store.detach_group_policy(params["GroupName"], params["PolicyArn"])
        return {}

    @operation("ListAttachedGroupPolicies")
    def list_attached_group_policies(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        prefix = params.get("PathPrefix") or "/"
        attached = [p for p in self.store.attached_group_policies(params["GroupName"]) if self.store.describe_policy(p["PolicyArn"])["Path"].startswith(prefix)]
        return paginate(attached, params, "AttachedPolicies")

    @operation("PutGroupPolicy")
    def put_group_policy(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        self.store.put_group_policy(params["GroupName"], params["PolicyName"], decode_document(params["PolicyDocument"]))
        return {}

    @operation("GetGroupPolicy")
    def get_group_policy(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        doc = self.store.get_group_policy(params["GroupName"], params["PolicyName"])
        return {"GroupName": params["GroupName"], "PolicyName": params["PolicyName"], "PolicyDocument": encode_document(doc)}

    @operation("DeleteGroupPolicy")
    def delete_group_policy(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        self.store.delete_group_policy(params["GroupName"], params["PolicyName"])
        return {}

    @operation("ListGroupPolicies")
    def list_group_policies(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return paginate(self.store.group_policy_names(params["GroupName"]), params, "PolicyNames")
