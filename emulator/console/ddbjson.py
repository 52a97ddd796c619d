"""DynamoDB JSON (as the wire and the AWS console show it) <-> the handler's values.

Handlers get boto3-style values: blobs (``B``/``BS``) are ``bytes``; on the wire
and in the editor they are base64 text.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from emulator.errors import AwsError

_TYPES = {"S", "N", "B", "BOOL", "NULL", "M", "L", "SS", "NS", "BS"}


def _bad(message: str) -> AwsError:
    return AwsError("ValidationException", message, 400)


def to_value(av: Any, path: str = "item") -> dict[str, Any]:
    if not isinstance(av, dict) or len(av) != 1:
        raise _bad(f"{path}: an attribute value is an object with exactly one type key (S, N, B, BOOL, NULL, M, L, SS, NS, BS)")
    (kind, value), = av.items()
    if kind not in _TYPES:
        raise _bad(f"{path}: unknown attribute type {kind!r}")
    if kind == "B":
        return {"B": _b64(value, path)}
    if kind == "BS":
        if not isinstance(value, list):
            raise _bad(f"{path}: BS is a list of base64 strings")
        return {"BS": [_b64(v, path) for v in value]}
    if kind == "M":
        if not isinstance(value, dict):
            raise _bad(f"{path}: M is an object")
        return {"M": {k: to_value(v, f"{path}.{k}") for k, v in value.items()}}
    if kind == "L":
        if not isinstance(value, list):
            raise _bad(f"{path}: L is a list")
        return {"L": [to_value(v, f"{path}[{i}]") for i, v in enumerate(value)]}
    return {kind: value}


def _b64(value: Any, path: str) -> bytes:
    if not isinstance(value, str):
        raise _bad(f"{path}: binary values are base64 strings")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise _bad(f"{path}: {value!r} is not valid base64") from exc


def parse_item(text: str, what: str = "item") -> dict[str, dict[str, Any]]:
    """Parse the editor's DynamoDB JSON text into a PutItem/Key value."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _bad(f"The {what} is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})") from exc
    if not isinstance(data, dict) or not data:
        raise _bad(f"The {what} must be a JSON object of attribute names to DynamoDB JSON values, e.g. {{\"pk\": {{\"S\": \"a\"}}}}")
    return {k: to_value(v, k) for k, v in data.items()}


def to_json(value: Any) -> Any:
    """Handler output (bytes for blobs) -> JSON-safe DynamoDB JSON."""
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(bytes(value)).decode()
    if isinstance(value, dict):
        return {k: to_json(v) for k, v in value.items()}
    if isinstance(value, list | set | tuple):
        return [to_json(v) for v in value]
    return value


def dumps(value: Any, indent: int | None = None) -> str:
    return json.dumps(to_json(value), indent=indent, ensure_ascii=False, default=str)


def short(av: Any, limit: int = 80) -> str:
    """A compact one-cell rendering of an attribute value."""
    if isinstance(av, dict) and len(av) == 1:
        (kind, value), = av.items()
        if kind in ("S", "N"):
            text = str(value)
        elif kind == "BOOL":
            text = "true" if value else "false"
        elif kind == "NULL":
            text = "null"
        else:
            text = dumps(av)
    else:
        text = dumps(av)
    return text if len(text) <= limit else text[: limit - 1] + "…"
