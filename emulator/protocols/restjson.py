"""restJson1: HTTP bindings (see rest.py) plus JSON bodies.

Body members use their ``locationName`` as the JSON key; blobs are base64,
timestamps epoch seconds unless the shape says otherwise. Errors are
``{"message": ...}`` with ``x-amzn-ErrorType: Code`` (botocore's
``RestJSONParser._inject_error_code`` reads the header first). Event-stream
payloads are framed by eventstream.py.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import math
from collections.abc import AsyncIterator
from typing import Any

import orjson
from botocore.model import ServiceModel, Shape

from emulator.errors import AwsError
from emulator.protocols import eventstream
from emulator.protocols.base import Request, Response
from emulator.protocols.rest import RestProtocol
from emulator.protocols.shapes import json_default, parse_timestamp
from emulator.protocols.xml import format_timestamp

_OPTS = orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME  # datetimes go through json_default -> epoch seconds


class JsonCodec:
    """Shape-walking JSON (de)coder honoring ``locationName`` (botocore's BaseJSON rules)."""

    def __init__(self, error_code: str = "SerializationException") -> None:
        self.error_code = error_code

    # ---------------------------------------------------------------- decode
    def decode(self, shape: Shape, value: Any) -> Any:
        if value is None:
            return None
        t = shape.type_name
        if t == "structure":
            if shape.is_document_type:
                return value
            if not isinstance(value, dict):
                raise AwsError(self.error_code, f"Expected an object for {shape.name}", 400)
            return self.decode_members(shape, value, False)
        if t == "list":
            if not isinstance(value, list):
                raise AwsError(self.error_code, f"Expected a list for {shape.name}", 400)
            return [self.decode(shape.member, v) for v in value]
        if t == "map":
            if not isinstance(value, dict):
                raise AwsError(self.error_code, f"Expected a map for {shape.name}", 400)
            return {k: self.decode(shape.value, v) for k, v in value.items()}
        if t == "blob":
            if not isinstance(value, str):
                raise AwsError(self.error_code, f"Expected a base64 string for {shape.name}", 400)
            try:
                return base64.b64decode(value, validate=True)
            except (binascii.Error, ValueError) as exc:
                raise AwsError(self.error_code, f"Base64 encoded value is invalid for {shape.name}", 400) from exc
        if t == "timestamp":
            try:
                return parse_timestamp(value)
            except AwsError as exc:
                raise AwsError(self.error_code, exc.message, 400) from exc
        if t == "boolean":
            if not isinstance(value, bool):
                raise AwsError(self.error_code, f"Expected a boolean for {shape.name}", 400)
            return value
        if t in ("integer", "long", "short", "byte"):
            if isinstance(value, bool) or not isinstance(value, int | float) or (isinstance(value, float) and not value.is_integer()):
                raise AwsError(self.error_code, f"Expected an integer for {shape.name}", 400)
            return int(value)
        if t in ("float", "double"):
            if isinstance(value, str) and value in ("NaN", "Infinity", "-Infinity"):
                return float(value)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise AwsError(self.error_code, f"Expected a number for {shape.name}", 400)
            return float(value)
        if not isinstance(value, str):
            raise AwsError(self.error_code, f"Expected a string for {shape.name}", 400)
        return value

    def decode_members(self, shape: Shape, value: dict[str, Any], body_only: bool) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, member in shape.members.items():
            if body_only and "location" in member.serialization:
                continue
            raw = value.get(member.serialization.get("name", key))
            if raw is not None:
                out[key] = self.decode(member, raw)
        return out

    # ---------------------------------------------------------------- encode
    def encode(self, shape: Shape, value: Any) -> Any:
        if value is None:
            return None
        t = shape.type_name
        if t == "structure":
            if shape.is_document_type:
                return value
            return self.encode_members(shape, value, False)
        if t == "list":
            return [self.encode(shape.member, v) for v in value]
        if t == "map":
            return {k: self.encode(shape.value, v) for k, v in value.items()}
        if t == "timestamp":
            fmt = shape.serialization.get("timestampFormat")
            if fmt and fmt != "unixTimestamp":
                return format_timestamp(value, fmt)
            if not isinstance(value, dt.datetime):
                value = parse_timestamp(value)
            return json_default(value)
        if t == "blob":
            if isinstance(value, str):
                value = value.encode("utf-8")
            return base64.b64encode(bytes(value)).decode("ascii")
        if t in ("float", "double") and isinstance(value, float) and not math.isfinite(value):
            return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
        return value

    def encode_members(self, shape: Shape, value: dict[str, Any], body_only: bool) -> dict[str, Any]:
        out: dict[str, Any] = {}
        members = shape.members
        for key, v in value.items():
            member = members.get(key)
            if member is None or v is None:
                continue
            if body_only and "location" in member.serialization:
                continue
            out[member.serialization.get("name", key)] = self.encode(member, v)
        return out

    def dumps(self, value: Any) -> bytes:
        return orjson.dumps(value, default=json_default, option=_OPTS)

    def loads(self, body: bytes) -> Any:
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise AwsError(self.error_code, f"Unable to parse the request body as JSON: {exc.msg}", 400) from exc


class RestJsonProtocol(RestProtocol):
    name = "rest-json"
    content_type_header = "application/json"

    def __init__(self) -> None:
        self.codec = JsonCodec(self.body_error_code)

    def decode_body(self, shape: Shape, body: bytes, members_only: bool) -> dict[str, Any]:
        data = self.codec.loads(body)
        if shape.type_name == "structure" and shape.is_document_type:
            return data  # type: ignore[no-any-return]
        if not isinstance(data, dict):
            raise AwsError(self.body_error_code, "Start of list found where not expected" if isinstance(data, list) else "Expected a JSON object as the request body", 400)
        if members_only:
            return self.codec.decode_members(shape, data, True)
        result: dict[str, Any] = self.codec.decode(shape, data)
        return result

    def encode_body(self, shape: Shape, value: dict[str, Any], members_only: bool) -> bytes:
        if members_only:
            return self.codec.dumps(self.codec.encode_members(shape, value, True))
        return self.codec.dumps(self.codec.encode(shape, value))

    def _event_body(self, shape: Shape, value: dict[str, Any]) -> bytes:
        return self.codec.dumps(self.codec.encode(shape, value))

    def event_stream(self, shape: Shape, events: Any) -> AsyncIterator[bytes]:
        return eventstream.frames(shape, events, self._event_body, "application/json")

    def serialize_error(self, error: AwsError, service: ServiceModel | None, request: Request | None, request_id: str) -> Response:
        body: dict[str, Any] = {"message": error.message}
        body.update(error.extra)
        headers = {"content-type": "application/json", "x-amzn-errortype": error.code, **error.headers}
        return Response(error.status, headers, orjson.dumps(body, default=json_default, option=_OPTS))
