"""Secrets Manager: new secrets' names checked as Secrets Manager checks them, before moto sees
them (emulator/gateway/fallback_checks_services.py has the checks of values, replica regions and
resource policies). moto created secrets whose names have spaces and other characters that
Secrets Manager refuses.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from emulator.errors import AwsError
from emulator.gateway.fallback_checks import _on

if TYPE_CHECKING:
    from emulator.context import RequestContext

# A secret's name: letters, digits and /_+=.@-! (CreateSecret's Name: "The secret name can
# contain ASCII letters, numbers, and the following characters: /_+=.@-").
_NAME = re.compile(r"[A-Za-z0-9/_+=.@!-]+")


@_on("secretsmanager", "CreateSecret")
def _secretsmanager_name(ctx: RequestContext) -> None:
    name = ctx.params.get("Name")
    if isinstance(name, str) and name and _NAME.fullmatch(name) is None:
        raise AwsError(
            "ValidationException",
            "Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: -/_+=.@!",
            400,
        )
