"""CloudFormation: requests naming a change set that does not exist, refused as CloudFormation
refuses them, before moto sees them (emulator/gateway/fallback_checks_services.py has the template
checks; ExecuteChangeSet and DeleteChangeSet: fallback_patches.py). moto's GetTemplate ignored
a ChangeSetName it did not know and returned the stack's template.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from emulator.errors import AwsError
from emulator.gateway.fallback_checks import _on, moto_backend

if TYPE_CHECKING:
    from emulator.context import RequestContext


@_on("cloudformation", "GetTemplate")
def _cfn_template_change_set(ctx: RequestContext) -> None:
    """CloudFormation: ``404 ChangeSetNotFound: ChangeSet [name] does not exist``."""
    name = ctx.params.get("ChangeSetName")
    backend = moto_backend(ctx, "cloudformation")
    change_sets = getattr(backend, "change_sets", None)
    if not isinstance(name, str) or not name or not isinstance(change_sets, dict):
        return
    if name not in change_sets and all(getattr(c, "change_set_name", None) != name for c in list(change_sets.values())):
        raise AwsError("ChangeSetNotFound", f"ChangeSet [{name}] does not exist", 404)
