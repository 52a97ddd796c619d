"""Tags, ARNs and page sizes of CloudWatch's regional resources kept in ``monitoring.db``
(alarm mute rules, metric data query definitions, Contributor Insights rules).

Each resource keeps its tags as a JSON object in a ``tags`` column of its table, keyed by
(region, name or id); TagResource, UntagResource and ListTagsForResource find the resource
from its ARN. One set of rules serves them all, so the three answer alike: the same
validation of a request's Tags, the same ResourceNotFoundException for an ARN of their kind
that names nothing, the same check of MaxResults/MaxRecords, the same InvalidParameterValue
and MissingParameter errors.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from emulator.errors import AwsError
from emulator.monitoring.statedb import StateDB

MAX_TAGS = 50  # "You can associate as many as 50 tags with a CloudWatch resource" (TagResource)


def invalid(message: str) -> AwsError:
    return AwsError("InvalidParameterValue", message, 400)


def missing(message: str) -> AwsError:
    return AwsError("MissingParameter", message, 400)


def check_count(tags: dict[str, str], limit: int | None = MAX_TAGS) -> None:
    """InvalidParameterValue when ``tags`` are more than ``limit`` (None: no limit checked here)."""
    if limit is not None and len(tags) > limit:
        raise invalid(f"A resource can have at most {limit} tags.")


def parse_tags(raw: Any, limit: int | None = MAX_TAGS) -> dict[str, str]:
    """A request's Tags (a list of {Key, Value}) as a dict: each needs both, and there may be
    ``limit`` at most (None: no limit checked here)."""
    tags: dict[str, str] = {}
    for t in raw or []:
        key, value = t.get("Key"), t.get("Value")
        if not key or value is None:
            raise invalid("Each tag must have a Key and a Value.")
        tags[key] = value
    check_count(tags, limit)
    return tags


def key_from_arn(arn: str, marker: str, arn_of: Callable[[str], str], exists: Callable[[str], bool]) -> str | None:
    """The name or id an ARN of this kind names: the part after ``marker`` (``:insight-rule/``,
    ...). None when ``arn`` is no CloudWatch ARN of this kind (another resource's: the caller
    tries the next kind); ResourceNotFoundException when it is one but not this account's
    and region's (``arn_of`` builds theirs) or names no resource (``exists``)."""
    if not arn.startswith("arn:aws:cloudwatch:") or marker not in arn:
        return None
    key = arn.split(marker, 1)[1]
    if arn != arn_of(key) or not exists(key):
        raise AwsError("ResourceNotFoundException", f"Resource {arn} does not exist.", 404)
    return key


def read_tags(db: StateDB, table: str, column: str, region: str, key: str) -> dict[str, str]:
    """The tags of the row of ``table`` whose ``column`` is ``key`` in ``region`` ({} when none)."""
    rows = db.query(f"SELECT tags FROM {table} WHERE region=? AND {column}=?", (region, key))
    return dict(json.loads(rows[0][0])) if rows else {}


def write_tags(db: StateDB, table: str, column: str, region: str, key: str, tags: dict[str, str], limit: int | None = MAX_TAGS) -> None:
    """Replace the tags of that row, ``limit`` at most (None: no limit checked here)."""
    check_count(tags, limit)
    db.execute(f"UPDATE {table} SET tags=? WHERE region=? AND {column}=?", (json.dumps(tags), region, key))


def page_size(p: dict[str, Any], param: str, most: int) -> int | None:
    """The request's ``param`` (MaxResults, MaxRecords): None when absent, else a whole number
    from 1 to ``most`` (InvalidParameterValue otherwise)."""
    limit = p.get(param)
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= most):
        raise invalid(f"The value {limit} for parameter {param} is invalid.")
    return limit
