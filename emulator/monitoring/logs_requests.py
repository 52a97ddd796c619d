"""Request checks shared by CloudWatch Logs' resource modules (destinations, resource
policies, query definitions, export tasks, data protection and index policies): the paging of
a Describe* call and a JSON policy document, so that each answers a bad request with the same
AWS wording."""

from __future__ import annotations

from typing import Any

import orjson

from emulator.errors import AwsError
from emulator.monitoring.logstore import invalid
from emulator.monitoring.query import token_int


def page(p: dict[str, Any], param: str, most: int, default: int) -> tuple[int, int]:
    """(limit, offset) of a Describe* request: ``param`` (limit, maxResults) from 1 to ``most``,
    ``default`` when absent, and where the request's nextToken resumes (0 without one)."""
    limit = int(p.get(param) or default)
    if not 1 <= limit <= most:
        raise invalid(f"1 validation error detected: Value '{limit}' at '{param}' failed to satisfy constraint: Member must have value between 1 and {most}")
    try:
        offset = token_int(p["nextToken"], "o") if p.get("nextToken") else 0
    except AwsError as exc:
        raise invalid("The specified nextToken is invalid.") from exc
    return limit, offset


def json_document(document: Any, param: str, most: int, what: str, in_bytes: bool = False) -> dict[str, Any]:
    """The JSON object a document parameter holds (a policy; ``what`` names it in messages):
    required, ``most`` long at most (its UTF-8 bytes when ``in_bytes``, else its characters,
    as each operation's reference counts them)."""
    if not isinstance(document, str) or not document:
        raise invalid(f"1 validation error detected: Value null at '{param}' failed to satisfy constraint: Member must not be null")
    if len(document.encode() if in_bytes else document) > most:
        raise invalid(f"1 validation error detected: Value at '{param}' failed to satisfy constraint: Member must have length less than or equal to {most}")
    try:
        parsed = orjson.loads(document)
    except orjson.JSONDecodeError as exc:
        raise invalid(f"Invalid {what}: the document is not valid JSON.") from exc
    if not isinstance(parsed, dict):
        raise invalid(f"Invalid {what}: the document must be a JSON object.")
    return parsed


def policy_document(p: dict[str, Any], param: str, most: int, in_bytes: bool) -> str:
    """The access policy ``param`` of a request: required, ``most`` long at most (its UTF-8
    bytes when ``in_bytes``, else its characters, as each operation's reference counts them),
    a JSON object with a Statement. Only its shape is checked: policies are stored, not enforced."""
    document = p.get(param)
    if "Statement" not in json_document(document, param, most, "policy document", in_bytes):
        raise invalid("Invalid policy document: a policy must have a Statement.")
    return str(document)
