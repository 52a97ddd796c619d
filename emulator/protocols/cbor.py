"""Smithy RPC v2 CBOR: ``POST /service/<Service>/operation/<Op>``, CBOR bodies.

https://smithy.io/2.0/additional-specs/protocols/smithy-rpc-v2.html
Requests carry ``smithy-protocol: rpc-v2-cbor``; responses echo it. Timestamps
are CBOR tag 1 (epoch seconds), blobs are byte strings. Errors are
``{"__type": Code, "message": ...}``; services with ``awsQueryCompatible``
(CloudWatch) add ``x-amzn-query-error: Code;Sender`` so botocore reports the
query-era error code. Output event streams start with an ``initial-response``
event, as botocore's ``BaseRpcV2Parser._handle_event_stream`` expects.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import cbor2
from botocore.model import OperationModel, ServiceModel, Shape

from emulator.errors import AwsError
from emulator.protocols import eventstream
from emulator.protocols.base import Protocol, Request, Response
from emulator.protocols.restjson import JsonCodec
from emulator.protocols.shapes import parse_timestamp

CONTENT_TYPE = "application/cbor"


def _cbor_default(encoder: Any, value: Any) -> None:
    if isinstance(value, Decimal):
        encoder.encode(float(value))
    elif isinstance(value, set | frozenset | tuple):
        encoder.encode(list(value))
    elif isinstance(value, memoryview | bytearray):
        encoder.encode(bytes(value))
    else:
        raise cbor2.CBOREncodeTypeError(f"cannot CBOR-encode {type(value).__name__}")


def _epoch(value: dt.datetime) -> int | float:
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    ts = value.timestamp()
    return int(ts) if ts == int(ts) else ts


class CborCodec(JsonCodec):
    """The JSON codec's shape walk, with CBOR's native blobs and tagged timestamps."""

    def decode(self, shape: Shape, value: Any) -> Any:
        if value is None or isinstance(value, cbor2.undefined.__class__):
            return None
        t = shape.type_name
        if t == "blob":
            if isinstance(value, bytes | bytearray):
                return bytes(value)
            raise AwsError(self.error_code, f"Expected a byte string for {shape.name}", 400)
        if t == "timestamp":
            if isinstance(value, cbor2.CBORTag):
                value = value.value
            if isinstance(value, bool) or not isinstance(value, int | float | dt.datetime):
                raise AwsError(self.error_code, f"Expected an epoch timestamp for {shape.name}", 400)
            if isinstance(value, float) and not math.isfinite(value):
                raise AwsError(self.error_code, f"Invalid timestamp for {shape.name}", 400)
            try:
                return parse_timestamp(value)
            except (OverflowError, OSError, ValueError) as exc:
                raise AwsError(self.error_code, f"Timestamp out of range for {shape.name}", 400) from exc
        if t in ("float", "double") and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        if t == "map" and isinstance(value, dict) and not all(isinstance(k, str) for k in value):
            raise AwsError(self.error_code, f"Map keys of {shape.name} must be strings", 400)
        return super().decode(shape, value)

    def decode_members(self, shape: Shape, value: dict[str, Any], body_only: bool) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, member in shape.members.items():
            raw = value.get(key)
            if raw is None:
                name = member.serialization.get("name")
                raw = value.get(name) if name else None
            if raw is not None and not isinstance(raw, cbor2.undefined.__class__):
                decoded = self.decode(member, raw)
                if decoded is not None:
                    out[key] = decoded
        return out

    def encode(self, shape: Shape, value: Any) -> Any:
        if value is None:
            return None
        t = shape.type_name
        if t == "timestamp":
            if not isinstance(value, dt.datetime):
                value = parse_timestamp(value)
            return cbor2.CBORTag(1, _epoch(value))
        if t == "blob":
            return value.encode("utf-8") if isinstance(value, str) else bytes(value)
        if t in ("float", "double"):
            return float(value)
        if t == "structure" and not shape.is_document_type:
            # botocore's CBOR parser reads members by member name (not locationName).
            members = shape.members
            return {k: self.encode(members[k], v) for k, v in value.items() if v is not None and k in members}
        return super().encode(shape, value)

    def dumps(self, value: Any) -> bytes:
        return cbor2.dumps(value, default=_cbor_default)

    def loads(self, body: bytes) -> Any:
        try:
            return cbor2.loads(body)
        except RecursionError as exc:
            raise AwsError(self.error_code, "CBOR body is nested too deeply", 400) from exc
        except (cbor2.CBORDecodeError, ValueError, TypeError, OverflowError, LookupError, MemoryError) as exc:
            raise AwsError(self.error_code, f"Unable to parse the request body as CBOR: {exc}", 400) from exc


class CborProtocol(Protocol):
    name = "smithy-rpc-v2-cbor"

    def __init__(self) -> None:
        self.codec = CborCodec("SerializationException")

    def parse(self, request: Request, operation: OperationModel) -> dict[str, Any]:
        ctype = request.content_type
        if request.body and ctype not in (CONTENT_TYPE, ""):
            raise AwsError("UnsupportedMediaTypeException", f"Unsupported content type {ctype!r}; expected {CONTENT_TYPE}", 415)
        shape = operation.input_shape
        if not request.body:
            return {}
        data = self.codec.loads(request.body)
        if data is None or isinstance(data, cbor2.undefined.__class__):
            return {}
        if not isinstance(data, dict):
            raise AwsError("SerializationException", "Expected a CBOR map as the request body", 400)
        if shape is None:
            return {}
        return self.codec.decode_members(shape, data, False)

    def _headers(self) -> dict[str, str]:
        return {"content-type": CONTENT_TYPE, "smithy-protocol": "rpc-v2-cbor"}

    def serialize(self, operation: OperationModel, output: dict[str, Any], request: Request) -> Response:
        shape = operation.output_shape
        if shape is None:
            return Response(200, self._headers(), self.codec.dumps({}))
        output = output or {}
        stream_name = shape.event_stream_name
        if stream_name:
            rest = {k: v for k, v in output.items() if k != stream_name}
            headers = {"content-type": "application/vnd.amazon.eventstream", "smithy-protocol": "rpc-v2-cbor"}
            return Response(200, headers, b"", stream=self._stream(shape, rest, output.get(stream_name) or []))
        return Response(200, self._headers(), self.codec.dumps(self.codec.encode(shape, output)))

    def _event_body(self, shape: Shape, value: dict[str, Any]) -> bytes:
        return self.codec.dumps(self.codec.encode(shape, value))

    async def _stream(self, shape: Shape, initial: dict[str, Any], events: Any) -> AsyncIterator[bytes]:
        yield eventstream.event_frame("initial-response", self._event_body(shape, initial), CONTENT_TYPE)
        stream_shape = shape.members[shape.event_stream_name]
        async for frame in eventstream.frames(stream_shape, events, self._event_body, CONTENT_TYPE):
            yield frame

    def serialize_error(self, error: AwsError, service: ServiceModel | None, request: Request | None, request_id: str) -> Response:
        body: dict[str, Any] = {"__type": error.code, "message": error.message}
        body.update(error.extra)
        headers = {**self._headers(), **error.headers}
        if service is not None and "awsQueryCompatible" in service.metadata:
            headers["x-amzn-query-error"] = f"{error.code};{'Sender' if error.sender_fault else 'Receiver'}"
        return Response(error.status, headers, cbor2.dumps(body, default=_cbor_default))
