"""CloudFormation: requests naming a change set that does not exist, refused as CloudFormation
refuses them, before moto sees them (emulator/gateway/fallback_checks_services.py has the template
checks; ExecuteChangeSet and DeleteChangeSet: fallback_patches.py). moto's GetTemplate ignored
a ChangeSetName it did not know and returned the stack's template, and "updated" a stack
with its own template; it stored stack tags whose keys have AWS's reserved prefix aws:.
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


# What UpdateStack may change besides the template and its parameters: a request that names
# any of them is left to moto (whether it changes something is not compared here).
_OTHER_CHANGES = ("Tags", "NotificationARNs", "RoleARN", "StackPolicyBody", "StackPolicyURL", "StackPolicyDuringUpdateBody",
                  "StackPolicyDuringUpdateURL", "RollbackConfiguration", "TemplateURL", "ResourceTypes", "DisableRollback")
_UPDATABLE = ("CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE", "IMPORT_COMPLETE", "IMPORT_ROLLBACK_COMPLETE")


@_on("cloudformation", "UpdateStack")
def _cfn_no_updates(ctx: RequestContext) -> None:
    """An update that changes nothing (the same template, a stack without parameters, nothing
    else named) is CloudFormation's ``ValidationError: No updates are to be performed.``; moto
    "updated" the stack. Only that sure case is refused: parameters (whose omitted values may
    revert to defaults) and the other members are not compared."""
    p = ctx.params
    name, body = p.get("StackName"), p.get("TemplateBody")
    if not isinstance(name, str) or p.get("Parameters") or any(p.get(member) is not None for member in _OTHER_CHANGES):
        return
    if not isinstance(body, str) and not p.get("UsePreviousTemplate"):
        return
    stacks = getattr(moto_backend(ctx, "cloudformation"), "stacks", None)
    if not isinstance(stacks, dict):
        return
    stack = stacks.get(name) or next((s for s in list(stacks.values()) if getattr(s, "name", None) == name), None)
    if stack is None or getattr(stack, "status", None) not in _UPDATABLE or getattr(stack, "parameters", None):
        return
    template = getattr(stack, "template_dict", None)
    if not isinstance(template, dict) or template.get("Parameters"):
        return
    import yaml
    from moto.core.exceptions import ServiceException

    try:
        same = True if not isinstance(body, str) else bool(stack.has_template(body))
    except (ServiceException, yaml.YAMLError, ValueError, TypeError, AttributeError):  # a template moto cannot read: the template checks answer
        return
    if same:
        raise AwsError("ValidationError", "No updates are to be performed.", 400)


@_on("cloudformation", "CreateStack", "UpdateStack", "CreateChangeSet", "CreateStackSet", "UpdateStackSet")
def _cfn_reserved_tags(ctx: RequestContext) -> None:
    """Tag keys beginning with ``aws:`` are AWS's ("Tags owned by Amazon Web Services have the
    reserved prefix: aws:", botocore's Tag.Key; CloudFormation adds aws:cloudformation:* to
    what a stack creates): ``ValidationError``. moto stored them."""
    for tag in ctx.params.get("Tags") or []:
        key = tag.get("Key") if isinstance(tag, dict) else None
        if isinstance(key, str) and key.lower().startswith("aws:"):
            raise AwsError("ValidationError", f"Invalid tag key: {key}. Tag keys with the prefix aws: are reserved for use by AWS.", 400)
