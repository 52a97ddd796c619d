"""IAM (query protocol), served natively: users, access keys, managed and inline policies;
groups (iam_groups.py), permissions boundaries and login profiles (iam_access.py), and the
account-wide reads that must see all of them (iam_reads.py).

Keys live in the same KeyStore the SigV4 verifier reads, so a key created here
signs requests at once and a deactivated or deleted one is refused at once.
Policies are evaluated by the gateway's authorizer (emulator/gateway/authorize.py).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import unquote

from emulator.context import RequestContext
from emulator.errors import AwsError
from emulator.gateway.iam_store import (
    decode_document,
    encode_document,
    no_such_entity,
    role_boundary_document,
)
from emulator.gateway.key_usage import KeyUsage
from emulator.gateway.simulate import (
    Source,
    context_from_entries,
    context_keys,
    invalid_input,
    load_source,
    simulate,
)
from emulator.handlers.base import operation
from emulator.handlers.iam_access import IamAccess
from emulator.handlers.iam_base import paginate as _paginate
from emulator.handlers.iam_base import policy_out as _policy_out
from emulator.handlers.iam_base import ts as _ts
from emulator.handlers.iam_base import user_out as _user_out
from emulator.handlers.iam_groups import IamGroups
from emulator.handlers.iam_reads import IamReads

_MAX_KEYS_PER_USER = 2


class IamHandler(IamGroups, IamAccess, IamReads):
    service = "iam"
    # Users, their access keys, groups and policies are native (the gateway authenticates and
    # authorizes with them). Roles, instance profiles and the rest are moto's, so that services
    # of the fallback find the roles they are given (Lambda's CreateFunction checks its role).
    owned_members = frozenset({"UserName", "AccessKeyId", "GroupName"})

    def __init__(self, runtime: Any) -> None:
        super().__init__(runtime)
        # When each access key last signed a call: fed by the request recorder's batches.
        if "key_usage" not in runtime.components:
            usage = KeyUsage(runtime.settings.data_dir)
            runtime.components["key_usage"] = usage
            runtime.recorder.consumers.append(usage)

    def before_fallback(self, ctx: RequestContext, params: dict[str, Any]) -> None:
        """A customer-managed policy attached to one of moto's roles or groups: moto gets a copy
        (same ARN and document) first, or it would answer that the policy does not exist. A
        role's permissions boundary: ``_role_boundary``."""
        if ctx.operation_name in ("PutRolePermissionsBoundary", "DeleteRolePermissionsBoundary"):
            self._role_boundary(ctx.operation_name, params)
        if ctx.operation_name in ("CreateRole", "UpdateAssumeRolePolicy"):
            self._trusted_principals_exist(params.get("AssumeRolePolicyDocument") or params.get("PolicyDocument"))
        arn = params.get("PolicyArn")
        fallback = self.runtime.fallback
        if not isinstance(arn, str) or fallback is None:
            return
        if not arn.startswith(f"arn:aws:iam::{self.runtime.settings.account_id}:policy/"):
            return  # AWS-managed policies: moto has its own copies
        backend = fallback.backend("iam", "aws")
        if arn in backend.managed_policies:
            return
        try:
            policy = self.store.describe_policy(arn)
        except AwsError:
            return  # not ours either: moto answers NoSuchEntity
        document = self.store.policy_version(arn, policy["DefaultVersionId"])["Document"]
        # Same ARN: moto builds it as we do, arn:aws:iam::<account>:policy<path><name>.
        backend.create_policy(description=policy.get("Description") or "", path=policy["Path"], policy_document=document,
                              policy_name=policy["PolicyName"], tags=[])

    def _trusted_principals_exist(self, document: Any) -> None:
        """A trust policy naming a user or role of this account that does not exist is refused,
        as IAM refuses it (``MalformedPolicyDocument: Invalid principal in policy:
        "AWS":"arn:aws:iam::111122223333:role/missing"``): IAM resolves a principal to its
        unique id when the policy is saved. Accounts' roots, other accounts, services and
        federated principals are taken as they are; a document that does not parse is moto's
        to refuse."""
        try:
            parsed = json.loads(unquote(document) if isinstance(document, str) and document.lstrip().startswith("%") else document)
        except (TypeError, ValueError):
            return
        statements = parsed.get("Statement") if isinstance(parsed, dict) else None
        prefix = f"arn:aws:iam::{self.runtime.settings.account_id}:"
        fallback = self.runtime.fallback
        for statement in statements if isinstance(statements, list) else [statements]:
            principal = statement.get("Principal") if isinstance(statement, dict) else None
            names = principal.get("AWS") if isinstance(principal, dict) else None
            for name in names if isinstance(names, list) else [names]:
                if not isinstance(name, str) or not name.startswith(prefix):
                    continue
                kind, _, rest = name[len(prefix):].partition("/")
                entity = rest.rsplit("/", 1)[-1]
                if kind == "user":
                    exists = self.store.users.get(entity) is not None or entity == "root"
                elif kind == "role" and fallback is not None:  # roles are moto's
                    exists = any(role.name == entity for role in fallback.backend("iam", "aws").roles.values())
                else:
                    continue
                if not exists:
                    raise AwsError("MalformedPolicyDocument", f'Invalid principal in policy: "AWS":"{name}"', 400)

    def _role_boundary(self, operation: str, params: dict[str, Any]) -> None:
        """PutRolePermissionsBoundary names a managed policy that exists (moto only checks the
        ARN's form): NoSuchEntity otherwise, worded as PutUserPermissionsBoundary's (botocore's
        IAM model lists NoSuchEntity for it). The change is made on moto's role here, before moto
        makes it again, and the authorizer forgets the roles' policies it read: the next request
        of a session of the role is authorized with the new boundary."""
        fallback = self.runtime.fallback
        name = params.get("RoleName")
        if fallback is None or not isinstance(name, str):
            return
        backend = fallback.backend("iam", "aws")
        boundary = params.get("PermissionsBoundary") if operation == "PutRolePermissionsBoundary" else None
        if (isinstance(boundary, str) and backend.policy_arn_regex.match(boundary) and self.store.policy_document(boundary) is None
                and boundary not in backend.managed_policies):
            raise no_such_entity(f"Policy {boundary} does not exist or is not attachable.")
        try:
            role = backend.get_role(name)
        except Exception:  # noqa: BLE001 - no such role: moto answers NoSuchEntity
            return
        role.permissions_boundary_arn = boundary or None
        authorizer = self.runtime.components.get("authorizer")
        if authorizer is not None:
            authorizer.forget_roles()

    async def reset(self) -> None:
        """Forget the account's IAM (``POST /_emulator/reset``): users with their access keys,
        tags, attached and inline policies, boundaries and login profiles, groups with their
        policies, customer managed policies with their versions, the keys' last use and the
        credential report; and moto's roles and instance profiles.

        Keys that stay: root keys (user "root": the runtime's root key, which the reset itself is
        signed with, and others made by ``emulator keys create``), and keys that
        ``emulator keys create --user NAME`` made for a NAME that is no IAM user. Those are the
        operator's, made outside the account's IAM API, like the root key, and the key store
        cannot tell a root key made by the CLI from one made by CreateAccessKey as root.
        Every key of an IAM user goes with the user, whoever made it."""
        self.store.clear(self.runtime.keys)
        self.key_usage.forget({k.access_key_id for k in self.runtime.keys.list()})
        self._report = None
        # Roles and instance profiles: Runtime.reset hands "iam" to moto's reset too.
        authorizer = self.runtime.components.get("authorizer")
        if authorizer is not None:
            authorizer.forget_roles()

    # ------------------------------------------------------------------ users
    @operation("CreateUser")
    def create_user(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        user = self.store.create_user(params["UserName"], params.get("Path") or "/", params.get("Tags"), params.get("PermissionsBoundary") or None)
        return {"User": _user_out(user)}

    @operation("GetUser")
    def get_user(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        name = self._target_user(ctx, params)
        if name == "root" and not params.get("UserName"):
            account = ctx.principal.account_id if ctx.principal else ctx.account_id
            return {"User": {"UserId": account, "Arn": f"arn:aws:iam::{account}:root", "Path": "/", "UserName": "root", "CreateDate": _ts(self.runtime.root_key.created or self.runtime.started_at)}}
        return {"User": _user_out(self.store.get_user(name))}

    @operation("ListUsers")
    def list_users(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        users = [_user_out(u) for u in self.store.list_users(params.get("PathPrefix") or "/")]
        for u in users:
            # "This operation does not return the following attributes ...: PermissionsBoundary, Tags" (API reference)
            u.pop("Tags", None)
            u.pop("PermissionsBoundary", None)
        return _paginate(users, params, "Users")

    @operation("DeleteUser")
    def delete_user(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        name = params["UserName"]
        has_keys = any(k.user_name == name for k in self.runtime.keys.list())
        self.store.delete_user(name, has_keys)
        return {}

    @operation("UpdateUser")
    def update_user(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        """A new path (the ARN follows) and/or a new name: keys and policies move with the user."""
        self.store.update_user(params["UserName"], params.get("NewUserName"), params.get("NewPath"), self.runtime.keys)
        return {}

    # Credentials other than access keys and passwords: this emulator has none of them, so every
    # user has none. Terraform's aws_iam_user (force_destroy) lists and deletes them before DeleteUser.
    def _no_credentials(self, ctx: RequestContext, params: dict[str, Any], key: str, paged: bool = True) -> dict[str, Any]:
        self._require_user(self._target_user(ctx, params))
        return {key: [], "IsTruncated": False} if paged else {key: []}

    @operation("ListSSHPublicKeys")
    def list_ssh_public_keys(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self._no_credentials(ctx, params, "SSHPublicKeys")

    @operation("ListMFADevices")
    def list_mfa_devices(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self._no_credentials(ctx, params, "MFADevices")

    @operation("ListSigningCertificates")
    def list_signing_certificates(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self._no_credentials(ctx, params, "Certificates")

    @operation("ListServiceSpecificCredentials")
    def list_service_specific_credentials(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self._no_credentials(ctx, params, "ServiceSpecificCredentials", paged=False)

    @operation("TagUser")
    def tag_user(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        with self._stored_user(params["UserName"]) as user:
            tags = {t["Key"]: t["Value"] for t in user.get("Tags", [])}
            tags.update({t["Key"]: t.get("Value", "") for t in params.get("Tags") or []})
            if len(tags) > 50:
                raise AwsError("LimitExceeded", "Cannot exceed quota for TagsPerUser: 50", 409)
            user["Tags"] = [{"Key": k, "Value": v} for k, v in tags.items()]
        return {}

    @operation("UntagUser")
    def untag_user(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        with self._stored_user(params["UserName"]) as user:
            drop = set(params.get("TagKeys") or [])
            user["Tags"] = [t for t in user.get("Tags", []) if t["Key"] not in drop]
        return {}

    @contextmanager
    def _stored_user(self, name: str) -> Iterator[dict[str, Any]]:
        """The stored record of user ``name``, to edit in place: saved when the block
        ends without an error, under the store's lock throughout."""
        store = self.store
        with store._lock:
            store._sync()
            user = store.users.get(name)
            if user is None:
                raise no_such_entity(f"The user with name {name} cannot be found.")
            yield user
            store._save()

    @operation("ListUserTags")
    def list_user_tags(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        user = self.store.get_user(params["UserName"])
        return _paginate(user.get("Tags", []), params, "Tags")

    # ------------------------------------------------------------- access keys
    @operation("CreateAccessKey")
    def create_access_key(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        user = self._target_user(ctx, params)
        self._require_user(user)
        existing = [k for k in self.runtime.keys.list() if k.user_name == user]
        if len(existing) >= _MAX_KEYS_PER_USER and user != "root":
            raise AwsError("LimitExceeded", f"Cannot exceed quota for AccessKeysPerUser: {_MAX_KEYS_PER_USER}", 409)
        key = self.runtime.keys.create(user)
        # The secret is returned once, here, and never again.
        return {"AccessKey": {"UserName": user, "AccessKeyId": key.access_key_id, "Status": key.status, "SecretAccessKey": key.secret_access_key, "CreateDate": _ts(key.created)}}

    @operation("ListAccessKeys")
    def list_access_keys(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        user = self._target_user(ctx, params)
        self._require_user(user)
        keys = [{"UserName": user, "AccessKeyId": k.access_key_id, "Status": k.status, "CreateDate": _ts(k.created)} for k in self.runtime.keys.list() if k.user_name == user]
        return _paginate(keys, params, "AccessKeyMetadata")

    @operation("UpdateAccessKey")
    def update_access_key(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        user = self._target_user(ctx, params)
        self._require_user(user)
        key = self._key_of(user, params["AccessKeyId"])
        if key.is_root and key.access_key_id == self.runtime.root_key.access_key_id and params["Status"] != "Active":
            raise AwsError("ValidationError", "The emulator's root access key cannot be deactivated.", 400)
        self.runtime.keys.set_status(key.access_key_id, params["Status"])
        return {}

    @operation("DeleteAccessKey")
    def delete_access_key(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        user = self._target_user(ctx, params)
        self._require_user(user)
        key = self._key_of(user, params["AccessKeyId"])
        if key.access_key_id == self.runtime.root_key.access_key_id:
            raise AwsError("ValidationError", "The emulator's root access key cannot be deleted.", 400)
        self.runtime.keys.delete(key.access_key_id)
        return {}

    # ---------------------------------------------------------------- policies
    @operation("CreatePolicy")
    def create_policy(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        policy = self.store.create_policy(
            params["PolicyName"], decode_document(params["PolicyDocument"]), params.get("Path") or "/", params.get("Description"), params.get("Tags")
        )
        return {"Policy": _policy_out(policy)}

    @operation("GetPolicy")
    def get_policy(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return {"Policy": _policy_out(self.full_policy(params["PolicyArn"]))}

    @operation("GetPolicyVersion")
    def get_policy_version(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        version = self.store.policy_version(params["PolicyArn"], params["VersionId"])
        version["Document"] = encode_document(version["Document"])
        version["CreateDate"] = _ts(version["CreateDate"])
        return {"PolicyVersion": version}

    def _sync_fallback_copy(self, arn: str) -> None:
        """moto's copy of a customer managed policy (made when it was attached to one of moto's
        roles: ``before_fallback``) takes the policy's default document, which is what sessions
        of those roles are authorized with."""
        fallback = self.runtime.fallback
        if fallback is None:
            return
        copy = fallback.backend("iam", "aws").managed_policies.get(arn)
        if copy is None:
            return
        from moto.iam.models import PolicyVersion

        info = self.store.describe_policy(arn)
        version = self.store.policy_version(arn, info["DefaultVersionId"])
        copy.versions = [PolicyVersion(arn, version["Document"], True, version["VersionId"])]
        copy.default_version_id = version["VersionId"]
        authorizer = self.runtime.components.get("authorizer")
        if authorizer is not None:
            authorizer.forget_roles()

    @operation("ListPolicyVersions")
    def list_policy_versions(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        versions = self.store.list_policy_versions(params["PolicyArn"])
        for version in versions:
            version["CreateDate"] = _ts(version["CreateDate"])
        return _paginate(versions, params, "Versions")

    @operation("CreatePolicyVersion")
    def create_policy_version(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        version = self.store.create_policy_version(params["PolicyArn"], decode_document(params["PolicyDocument"]), bool(params.get("SetAsDefault")))
        self._sync_fallback_copy(params["PolicyArn"])
        version.pop("Document")
        version["CreateDate"] = _ts(version["CreateDate"])
        return {"PolicyVersion": version}

    @operation("SetDefaultPolicyVersion")
    def set_default_policy_version(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        self.store.set_default_policy_version(params["PolicyArn"], params["VersionId"])
        self._sync_fallback_copy(params["PolicyArn"])
        return {}

    @operation("DeletePolicyVersion")
    def delete_policy_version(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        self.store.delete_policy_version(params["PolicyArn"], params["VersionId"])
        return {}

    @operation("TagPolicy")
    def tag_policy(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        self.store.tag_policy(params["PolicyArn"], params.get("Tags") or [], [])
        return {}

    @operation("UntagPolicy")
    def untag_policy(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        self.store.tag_policy(params["PolicyArn"], [], params.get("TagKeys") or [])
        return {}

    @operation("ListPolicyTags")
    def list_policy_tags(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return _paginate(self.store.describe_policy(params["PolicyArn"]).get("Tags") or [], params, "Tags")

    @operation("ListPolicies")
    def list_policies(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        policies = self.store.list_policies(params.get("Scope") or "All", bool(params.get("OnlyAttached")), params.get("PathPrefix") or "/")
        out = []
        for p in policies:
            item = _policy_out(p)
            item.pop("Description", None)  # ListPolicies omits descriptions and tags
            item.pop("Tags", None)
            out.append(item)
        return _paginate(out, params, "Policies")

    @operation("DeletePolicy")
    def delete_policy(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        arn = params["PolicyArn"]
        if arn in self.store.policies and self.role_attachments(arn):  # attached to one of moto's roles
            raise AwsError("DeleteConflict", "Cannot delete a policy attached to entities.", 409)
        self.store.delete_policy(arn)
        return {}

    @operation("AttachUserPolicy")
    def attach_user_policy(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        self.store.attach_user_policy(params["UserName"], params["PolicyArn"])
        return {}

    @operation("DetachUserPolicy")
    def detach_user_policy(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        self.store.detach_user_policy(params["UserName"], params["PolicyArn"])
        return {}

    @operation("ListAttachedUserPolicies")
    def list_attached_user_policies(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return _paginate(self.store.attached_user_policies(params["UserName"]), params, "AttachedPolicies")

    # ---------------------------------------------------------- inline policies
    @operation("PutUserPolicy")
    def put_user_policy(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        self.store.put_user_policy(params["UserName"], params["PolicyName"], decode_document(params["PolicyDocument"]))
        return {}

    @operation("GetUserPolicy")
    def get_user_policy(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        doc = self.store.get_user_policy(params["UserName"], params["PolicyName"])
        return {"UserName": params["UserName"], "PolicyName": params["PolicyName"], "PolicyDocument": encode_document(doc)}

    @operation("DeleteUserPolicy")
    def delete_user_policy(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        self.store.delete_user_policy(params["UserName"], params["PolicyName"])
        return {}

    @operation("ListUserPolicies")
    def list_user_policies(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return _paginate(self.store.user_policy_names(params["UserName"]), params, "PolicyNames")

    # -------------------------------------------------------- policy simulator
    @operation("SimulatePrincipalPolicy")
    def simulate_principal_policy(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        """The policies of a user (with its groups' and within its boundary), of a group, or of one
        of moto's roles, plus PolicyInputList, evaluated by the gateway's own engine
        (emulator/gateway/simulate.py)."""
        sources = self._principal_sources(params["PolicySourceArn"])
        sources.extend(self._input_sources(params.get("PolicyInputList"), "PolicyInputList"))
        arn = params["PolicySourceArn"]
        if not params.get("PermissionsBoundaryPolicyInputList"):
            # The user's or role's own boundary, unless the request passes another ("if a
            # permissions boundary is attached to an entity and you pass in a different permissions
            # boundary policy using this parameter, then the new permissions boundary policy is
            # used": API reference).
            boundary = self._own_boundary(arn)
            if boundary is not None:
                return self._simulate(sources, params, [load_source("PermissionsBoundary", "user-managed", boundary)])
        return self._simulate(sources, params)

    def _own_boundary(self, arn: str) -> str | None:
        """The boundary document of the user or role ``arn`` names (which _principal_sources found)."""
        name = arn.rsplit("/", 1)[-1]
        if ":user/" in arn:
            return self.store.boundary_document(name)
        fallback = self.runtime.fallback
        if ":role/" not in arn or fallback is None:
            return None
        try:
            role = fallback.backend("iam", "aws").get_role_by_arn(arn)
        except Exception:  # noqa: BLE001 - _principal_sources answered NoSuchEntity already
            return None
        return role_boundary_document(self.store, role)

    @operation("SimulateCustomPolicy")
    def simulate_custom_policy(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return self._simulate(self._input_sources(params["PolicyInputList"], "PolicyInputList"), params)

    @operation("GetContextKeysForPrincipalPolicy")
    def get_context_keys_for_principal_policy(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        sources = self._principal_sources(params["PolicySourceArn"])
        sources.extend(self._input_sources(params.get("PolicyInputList"), "PolicyInputList"))
        return {"ContextKeyNames": context_keys(sources)}

    @operation("GetContextKeysForCustomPolicy")
    def get_context_keys_for_custom_policy(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return {"ContextKeyNames": context_keys(self._input_sources(params["PolicyInputList"], "PolicyInputList"))}

    def _simulate(self, sources: list[Source], params: dict[str, Any], own_boundary: list[Source] | None = None) -> dict[str, Any]:
        if not params.get("ActionNames"):
            raise invalid_input("ActionNames must contain at least one action.")
        boundary = own_boundary
        if params.get("PermissionsBoundaryPolicyInputList"):
            boundary = self._input_sources(params["PermissionsBoundaryPolicyInputList"], "PermissionsBoundaryPolicyInputList")
        context = context_from_entries(params.get("ContextEntries"))
        results = simulate(sources, list(params["ActionNames"]), list(params.get("ResourceArns") or []), context, boundary)
        return _paginate(results, params, "EvaluationResults")

    def _input_sources(self, documents: list[str] | None, what: str) -> list[Source]:
        return [load_source(f"{what}.{i}", None, decode_document(doc)) for i, doc in enumerate(documents or [], start=1)]

    def _principal_sources(self, arn: str) -> list[Source]:
        """The policies of the user, role or group ``arn`` names (NoSuchEntity if there is none)."""
        parts = arn.split(":", 5)
        if len(parts) != 6 or parts[0] != "arn" or parts[2] != "iam" or "/" not in parts[5]:
            raise invalid_input(f"Invalid ARN: {arn}")
        kind, _, rest = parts[5].partition("/")
        name = rest.rsplit("/", 1)[-1]
        account = self.runtime.settings.account_id
        if kind == "user":
            if parts[4] != account or not self.store.has_user(name) or self.store.get_user(name)["Arn"] != arn:
                raise no_such_entity(f"The user with name {name} cannot be found.")
            return [load_source(pname, ptype, decode_document(doc)) for pname, ptype, doc in self.store.user_policy_documents(name)]
        if kind == "group":
            if parts[4] != account or name not in self.store.groups or self.store.groups[name]["Arn"] != arn:
                raise no_such_entity(f"The group with name {name} cannot be found.")
            return [load_source(pname, ptype, decode_document(doc)) for pname, ptype, doc in self.store.group_policy_documents(name)]
        fallback = self.runtime.fallback
        if kind != "role" or fallback is None or parts[4] != account:
            raise no_such_entity(f"The {kind} with name {name} cannot be found.")
        backend = fallback.backend("iam", "aws")
        try:
            entity = backend.get_role_by_arn(arn)
        except Exception as exc:
            raise no_such_entity(f"The {kind} with name {name} cannot be found.") from exc
        sources = []
        for policy_arn, policy in entity.managed_policies.items():
            doc = policy.document if isinstance(policy.document, str) else json.dumps(policy.document)
            sources.append(load_source(policy.name, "aws-managed" if policy_arn.startswith("arn:aws:iam::aws:policy/") else "user-managed", decode_document(doc)))
        for pname, doc in entity.policies.items():
            sources.append(load_source(pname, kind, decode_document(doc if isinstance(doc, str) else json.dumps(doc))))
        return sources

    def health(self) -> dict[str, Any]:
        store = self.store
        return {"state": "running", "users": len(store.users), "groups": len(store.groups), "policies": len(store.policies)}
