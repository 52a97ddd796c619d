"""Organizations: new organizational units checked against the organization, as Organizations
checks them, before moto sees them (emulator/gateway/fallback_checks_services.py has the checks of
policy documents). moto created an OU under a parent that does not exist, and a second OU of
the same name under the same parent. The organization is read from moto's state
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
