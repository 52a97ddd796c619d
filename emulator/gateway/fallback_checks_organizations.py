"""Organizations: new organizational units checked against the organization, as Organizations
checks them, before moto sees them (emulator/gateway/fallback_checks_services.py has the checks of
policy documents). moto created an OU under a parent that does not exist, and a second OU of
the same name under the same parent, "detached" policies that were not attached, and stored
system tags (keys prefixed with aws:). The organization is read from moto's state
(``moto_backend``; Organizations is global: moto keys it by partition).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from emulator.errors import AwsError
from emulator.gateway.fallback_checks import _on, moto_backend

if TYPE_CHECKING:
    from emulator.context import RequestContext


@_on("organizations", "CreateOrganizationalUnit")
def _organizations_new_ou(ctx: RequestContext) -> None:
    """``ParentNotFoundException`` for a parent that is neither the root nor an OU;
    ``DuplicateOrganizationalUnitException`` for a name its parent already has."""
    parent, name = ctx.params.get("ParentId"), ctx.params.get("Name")
    backend = moto_backend(ctx, "organizations", "aws")
    units = getattr(backend, "ou", None)
    if getattr(backend, "org", None) is None or not isinstance(units, list) or not isinstance(parent, str):
        return  # no organization: moto answers AWSOrganizationsNotInUseException
    units = list(units)
    if all(getattr(unit, "id", None) != parent for unit in units):
        raise AwsError("ParentNotFoundException", "We can't find a root or OU with the ParentId that you specified.", 400)
    if any(getattr(unit, "parent_id", None) == parent and getattr(unit, "name", None) == name for unit in units):
        raise AwsError("DuplicateOrganizationalUnitException", "An OU with the same name already exists.", 400)


@_on("organizations", "DetachPolicy")
def _organizations_detach(ctx: RequestContext) -> None:
    """A policy is detached from a root, OU or account it is attached to:
    ``PolicyNotAttachedException`` (moto detached nothing and answered 200). A policy or a
    target that does not exist is left to moto (PolicyNotFoundException, ...)."""
    policy_id, target = ctx.params.get("PolicyId"), ctx.params.get("TargetId")
    backend = moto_backend(ctx, "organizations", "aws")
    policies = getattr(backend, "policies", None)
    if getattr(backend, "org", None) is None or not isinstance(policies, list) or not isinstance(target, str):
        return
    policy = next((p for p in list(policies) if getattr(p, "id", None) == policy_id), None)
    targets = [t for t in list(getattr(backend, "ou", None) or []) + list(getattr(backend, "accounts", None) or []) if getattr(t, "id", None) == target]
    if policy is None or not targets:
        return
    if all(getattr(t, "id", None) != target for t in list(getattr(policy, "attachments", None) or [])):
        raise AwsError("PolicyNotAttachedException", "The policy isn't attached to the specified target in the specified root.", 400)


@_on("organizations", "TagResource", "CreateOrganizationalUnit", "CreatePolicy", "CreateAccount", "CreateGovCloudAccount")
def _organizations_system_tags(ctx: RequestContext) -> None:
    """Tag keys beginning with ``aws:`` are system tags, AWS's: ``InvalidInputException``
    (reason INVALID_SYSTEM_TAGS_PARAMETER, its documented wording). moto stored them."""
    for tag in ctx.params.get("Tags") or []:
        key = tag.get("Key") if isinstance(tag, dict) else None
        if isinstance(key, str) and key.lower().startswith("aws:"):
            raise AwsError(
                "InvalidInputException",
                "You specified a tag key that is a system tag. You can’t add, edit, or delete system tag keys because they're reserved for Amazon Web Services use. "
                "System tags don’t count against your tags per resource limit.",
                400,
                extra={"Reason": "INVALID_SYSTEM_TAGS_PARAMETER"},
            )
