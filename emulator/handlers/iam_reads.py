"""IAM's account-wide reads, served natively: they merge the native users, groups, keys and
policies (emulator/gateway/iam_store.py, the key store) with what moto holds (roles, instance
profiles, providers), as ``IamHandler.before_fallback`` and the policy copies join the two.

- ListEntitiesForPolicy, GetAccountAuthorizationDetails, GetAccountSummary;
- GetAccessKeyLastUsed: from the request recorder's batches (emulator/gateway/key_usage.py);
- GenerateCredentialReport / GetCredentialReport: the CSV of the IAM User Guide, "Getting
  credential reports for your AWS account" (a <root_account> line, then one per user).
"""

from __future__ import annotations

import csv
import io
import time
from typing import Any

from emulator.context import RequestContext
from emulator.errors import AwsError
from emulator.gateway.iam_store import AWS_POLICY_PREFIX, encode_document
from emulator.gateway.key_usage import KeyUsage
from emulator.handlers.base import operation
from emulator.handlers.iam_base import IamBase, paginate_mixed, policy_out, ts

# GetAccountSummary's quotas: AWS's defaults (IAM User Guide, "IAM and AWS STS quotas", as moto's
# AccountSummary has them), but for the ones this emulator enforces with another value.
_QUOTAS = {
    "GroupPolicySizeQuota": 5120, "InstanceProfilesQuota": 1000, "GroupsPerUserQuota": 10, "PoliciesQuota": 1500,
    "AccessKeysPerUserQuota": 2, "AssumeRolePolicySizeQuota": 2048, "PolicyVersionsInUseQuota": 10000, "VersionsPerPolicyQuota": 5,
    "AttachedPoliciesPerGroupQuota": 10, "PolicySizeQuota": 6144, "UsersQuota": 5000, "ServerCertificatesQuota": 20,
    "UserPolicySizeQuota": 2048, "RolesQuota": 1000, "SigningCertificatesPerUserQuota": 2, "RolePolicySizeQuota": 10240,
    "AttachedPoliciesPerRoleQuota": 10, "GroupsQuota": 300, "GlobalEndpointTokenVersion": 1,
    # AWS's default is 10 (raisable to 20); iam_store.attach_user_policy allows 20.
    "AttachedPoliciesPerUserQuota": 20,
}

# The credential report's columns, in AWS's order (IAM User Guide, "Credential report format").
_REPORT_COLUMNS = [
    "user", "arn", "user_creation_time", "password_enabled", "password_last_used", "password_last_changed", "password_next_rotation", "mfa_active",
    "access_key_1_active", "access_key_1_last_rotated", "access_key_1_last_used_date", "access_key_1_last_used_region", "access_key_1_last_used_service",
    "access_key_2_active", "access_key_2_last_rotated", "access_key_2_last_used_date", "access_key_2_last_used_region", "access_key_2_last_used_service",
    "cert_1_active", "cert_1_last_rotated", "cert_2_active", "cert_2_last_rotated",
]
# "When you generate a report, IAM first checks whether a report has been generated within the
# past four hours. If so, the most recent report is downloaded." (same page)
_REPORT_TTL = 4 * 3600.0


def _iso(epoch: float) -> str:
    return ts(epoch).replace(microsecond=0).isoformat()


def _attached(arns: list[str]) -> list[dict[str, str]]:
    return [{"PolicyName": arn.rsplit("/", 1)[-1], "PolicyArn": arn} for arn in arns]


def _inline(policies: dict[str, str]) -> list[dict[str, str]]:
    return [{"PolicyName": name, "PolicyDocument": encode_document(doc)} for name, doc in policies.items()]


def _role_base(role: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"Path": role.path, "RoleName": role.name, "RoleId": role.id, "Arn": role.arn, "CreateDate": role.create_date}
    if role.assume_role_policy_document:
        out["AssumeRolePolicyDocument"] = encode_document(str(role.assume_role_policy_document))
    return out


def _role_detail(role: Any) -> dict[str, Any]:
    """RoleDetail (GetAccountAuthorizationDetails) of one of moto's roles."""
    out = _role_base(role)
    out["InstanceProfileList"] = [
        {"Path": p.path, "InstanceProfileName": p.name, "InstanceProfileId": p.id, "Arn": p.arn, "CreateDate": p.create_date, "Roles": [_role_base(r) for r in p.roles]}
        for p in role.instance_profile_list
    ]
    out["RolePolicyList"] = _inline(dict(role.policies))
    out["AttachedManagedPolicies"] = _attached(list(role.managed_policies))
    if role.permissions_boundary_arn:
        out["PermissionsBoundary"] = {"PermissionsBoundaryType": "PermissionsBoundaryPolicy", "PermissionsBoundaryArn": role.permissions_boundary_arn}
    if role.tags:
        out["Tags"] = list(role.tags.values()) if isinstance(role.tags, dict) else list(role.tags)
    out["RoleLastUsed"] = {"LastUsedDate": role.last_used, "Region": role.last_used_region} if role.last_used else {}
    return out


class IamReads(IamBase):
    _report: tuple[float, bytes] | None = None

    @property
    def key_usage(self) -> KeyUsage:
        usage: KeyUsage = self.runtime.components["key_usage"]
        return usage

    # ------------------------------------------------------------ policies
    def _policy_exists(self, arn: str) -> dict[str, Any]:
        return self.store.describe_policy(arn)  # NoSuchEntity: "Policy <arn> was not found."

    def full_policy(self, arn: str) -> dict[str, Any]:
        """describe_policy, with the attachments to moto's roles counted too."""
        info = self.store.describe_policy(arn)
        info["AttachmentCount"] += self.role_attachments(arn)
        info["PermissionsBoundaryUsageCount"] += sum(1 for r in self.moto_roles() if r.permissions_boundary_arn == arn)
        return info

    @operation("ListEntitiesForPolicy")
    def list_entities_for_policy(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        arn = params["PolicyArn"]
        self._policy_exists(arn)
        kinds = {params["EntityFilter"]} if params.get("EntityFilter") in ("User", "Role", "Group") else {"User", "Role", "Group"}
        usage = params.get("PolicyUsageFilter")
        as_policy, as_boundary = usage in (None, "PermissionsPolicy"), usage in (None, "PermissionsBoundary")
        prefix = params.get("PathPrefix") or "/"
        store = self.store
        items: list[tuple[str, Any]] = []
        if "Group" in kinds and as_policy:
            items.extend(("PolicyGroups", {"GroupName": g["GroupName"], "GroupId": g["GroupId"]})
                         for g in store.list_groups(prefix) if arn in store.group_attached.get(g["GroupName"], []))
        if "User" in kinds:
            for u in store.list_users(prefix):
                boundary = (u.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn")
                if (as_policy and arn in store.attached.get(u["UserName"], [])) or (as_boundary and boundary == arn):
                    items.append(("PolicyUsers", {"UserName": u["UserName"], "UserId": u["UserId"]}))
        if "Role" in kinds:
            for r in self.moto_roles():
                if r.path.startswith(prefix) and ((as_policy and arn in r.managed_policies) or (as_boundary and r.permissions_boundary_arn == arn)):
                    items.append(("PolicyRoles", {"RoleName": r.name, "RoleId": r.id}))
        return paginate_mixed(items, params, ["PolicyGroups", "PolicyUsers", "PolicyRoles"])

    # ------------------------------------------------- authorization details
    def _user_detail(self, user: dict[str, Any]) -> dict[str, Any]:
        name = user["UserName"]
        out = {k: user[k] for k in ("Path", "UserName", "UserId", "Arn")} | {"CreateDate": ts(user["CreateDate"])}
        out["UserPolicyList"] = _inline(self.store.inline.get(name, {}))
        out["GroupList"] = sorted(self.store.groups_of(name), key=str.lower)
        out["AttachedManagedPolicies"] = _attached(self.store.attached.get(name, []))
        if user.get("PermissionsBoundary"):
            out["PermissionsBoundary"] = user["PermissionsBoundary"]
        if user.get("Tags"):
            out["Tags"] = user["Tags"]
        return out

    def _group_detail(self, group: dict[str, Any]) -> dict[str, Any]:
        name = group["GroupName"]
        out = {k: group[k] for k in ("Path", "GroupName", "GroupId", "Arn")} | {"CreateDate": ts(group["CreateDate"])}
        out["GroupPolicyList"] = _inline(self.store.group_inline.get(name, {}))
        out["AttachedManagedPolicies"] = _attached(self.store.group_attached.get(name, []))
        return out

    def _policy_detail(self, arn: str) -> dict[str, Any]:
        out = policy_out(self.full_policy(arn))
        out.pop("Tags", None)  # ManagedPolicyDetail has no tags
        versions = []
        for v in self.store.list_policy_versions(arn):
            version = self.store.policy_version(arn, v["VersionId"])
            versions.append(version | {"Document": encode_document(version["Document"]), "CreateDate": ts(version["CreateDate"])})
        out["PolicyVersionList"] = versions
        return out

    @operation("GetAccountAuthorizationDetails")
    def get_account_authorization_details(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        wanted = set(params.get("Filter") or ["User", "Role", "Group", "LocalManagedPolicy", "AWSManagedPolicy"])
        store = self.store
        items: list[tuple[str, Any]] = []
        if "User" in wanted:
            items.extend(("UserDetailList", self._user_detail(u)) for u in store.list_users())
        if "Group" in wanted:
            items.extend(("GroupDetailList", self._group_detail(g)) for g in store.list_groups())
        roles = self.moto_roles()
        if "Role" in wanted:
            items.extend(("RoleDetailList", _role_detail(r)) for r in roles)
        arns: list[str] = []
        if "LocalManagedPolicy" in wanted:
            arns.extend(sorted(store.policies, key=str.lower))
        if "AWSManagedPolicy" in wanted:
            # AWS managed policies in use only: the account's snapshot, not AWS's whole catalog.
            used = {a for table in (store.attached, store.group_attached) for arns_ in table.values() for a in arns_}
            used.update(a for r in roles for a in r.managed_policies)
            used.update(b["PermissionsBoundaryArn"] for u in store.users.values() if (b := u.get("PermissionsBoundary")))
            arns.extend(sorted(a for a in used if a.startswith(AWS_POLICY_PREFIX)))
        items.extend(("Policies", self._policy_detail(a)) for a in arns if store._policy(a) is not None)
        return paginate_mixed(items, params, ["UserDetailList", "GroupDetailList", "RoleDetailList", "Policies"])

    # ---------------------------------------------------------------- summary
    @operation("GetAccountSummary")
    def get_account_summary(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        store = self.store
        backend = self.moto_iam()
        moto_map: dict[str, Any] = backend.get_account_summary().summary_map if backend is not None else {}
        summary = dict(_QUOTAS)
        for key in ("Roles", "InstanceProfiles", "Providers", "ServerCertificates", "MFADevices", "MFADevicesInUse", "AccountMFAEnabled",
                    "AccountSigningCertificatesPresent"):
            summary[key] = int(moto_map.get(key, 0))
        attachments = sum(len(a) for a in store.attached.values()) + sum(len(a) for a in store.group_attached.values())
        summary.update({
            "Users": len(store.users),
            "Groups": len(store.groups),
            "Policies": len(store.policies),
            # Attachments of managed policies: the native users' and groups', and moto's roles'.
            "PolicyVersionsInUse": attachments + int(moto_map.get("PolicyVersionsInUse", 0)),
            "AccountAccessKeysPresent": int(any(k.is_root for k in self.runtime.keys.list())),
        })
        return {"SummaryMap": summary}

    # ---------------------------------------------------------- key last used
    @operation("GetAccessKeyLastUsed")
    def get_access_key_last_used(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        key = self.runtime.keys.get(params["AccessKeyId"])
        if key is None:
            raise AwsError("AccessDenied", "The specified access key does not exist or is not owned by the account.", 403)
        self.runtime.recorder.flush()  # the calls answered so far, still waiting for their batch
        last = self.key_usage.get(key.access_key_id)
        if last is None:
            # Never used: AWS answers N/A for the service and region, and no date (API reference).
            return {"UserName": key.user_name, "AccessKeyLastUsed": {"ServiceName": "N/A", "Region": "N/A"}}
        return {"UserName": key.user_name, "AccessKeyLastUsed": {"LastUsedDate": ts(last[0]), "ServiceName": last[1], "Region": last[2]}}

    # ------------------------------------------------------- credential report
    @operation("GenerateCredentialReport")
    def generate_credential_report(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        report = self._report
        if report is not None and time.time() - report[0] < _REPORT_TTL:
            return {"State": "COMPLETE"}
        self.runtime.recorder.flush()
        self._report = (time.time(), self._credential_report())
        # AWS's words for a first generation (AWS CLI reference, generate-credential-report); this
        # one is ready at once.
        return {"State": "STARTED", "Description": "No report exists. Starting a new report generation task"}

    @operation("GetCredentialReport")
    def get_credential_report(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        report = self._report
        if report is None:
            raise AwsError("ReportNotPresent", "Credential report not present.", 410)  # code and status: botocore's model; text ours
        if time.time() - report[0] >= _REPORT_TTL:
            raise AwsError("ReportExpired", "Credential report expired.", 410)
        return {"Content": report[1], "ReportFormat": "text/csv", "GeneratedTime": ts(int(report[0]))}

    def _key_columns(self, keys: list[Any]) -> list[str]:
        out: list[str] = []
        for i in range(2):
            key = keys[i] if i < len(keys) else None
            if key is None:
                out += ["false", "N/A", "N/A", "N/A", "N/A"]
                continue
            last = self.key_usage.get(key.access_key_id)
            out += ["true" if key.status == "Active" else "false", _iso(key.created)]
            out += [_iso(last[0]), last[2], last[1]] if last is not None else ["N/A", "N/A", "N/A"]
        return out

    def _password_columns(self, name: str) -> list[str]:
        login = self.store.logins.get(name)
        if login is None:
            return ["false", "N/A", "N/A", "N/A"]
        backend = self.moto_iam()
        policy = getattr(backend, "account_password_policy", None)
        max_age = int(getattr(policy, "max_password_age", 0) or 0)
        rotation = _iso(login["CreateDate"] + max_age * 86400) if max_age else "N/A"
        # password_last_used: "no_information" for a password never used to sign in (none is, here).
        return ["true", "no_information", _iso(login["CreateDate"]), rotation]

    def _credential_report(self) -> bytes:
        account = self.runtime.settings.account_id
        keys = self.runtime.keys.list()
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(_REPORT_COLUMNS)
        root_keys = [k for k in keys if k.is_root]
        created = self.runtime.root_key.created or self.runtime.started_at
        # The root user: password columns "not_supported" (same page: "for the AWS account root user").
        writer.writerow(["<root_account>", f"arn:aws:iam::{account}:root", _iso(created), "not_supported", "no_information", "not_supported", "not_supported", "false",
                         *self._key_columns(root_keys), "false", "N/A", "false", "N/A"])
        for user in self.store.list_users():
            name = user["UserName"]
            writer.writerow([name, user["Arn"], _iso(user["CreateDate"]), *self._password_columns(name), "false",
                             *self._key_columns([k for k in keys if k.user_name == name]), "false", "N/A", "false", "N/A"])
        return buf.getvalue().encode()
