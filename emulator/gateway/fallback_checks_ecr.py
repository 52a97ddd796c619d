"""ECR: list operations' pagination tokens refused as ECR refuses a token it did not hand out,
before moto sees them. moto's DescribeRepositories, DescribeImages and ListImages do not
paginate (they answer every item at once and never return a nextToken), so no token is one
they handed out: moto ignored any token given and answered the first page again, which a
client would take for more results.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from emulator.errors import AwsError
from emulator.gateway.fallback_checks import _on

if TYPE_CHECKING:
    from emulator.context import RequestContext


@_on("ecr", "DescribeRepositories", "DescribeImages", "ListImages")
def _ecr_next_token(ctx: RequestContext) -> None:
    """``InvalidParameterException`` (the operations' documented error for bad parameters)."""
    token = ctx.params.get("nextToken")
    if isinstance(token, str) and token:
        raise AwsError("InvalidParameterException", "Invalid parameter at 'nextToken' failed to satisfy constraint: 'Invalid pagination token'", 400)
