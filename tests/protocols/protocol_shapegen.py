"""Hypothesis strategies generated from botocore shapes, and wire helpers for protocol tests.

``values(shape, ctx)`` draws boto3-style Python values for any shape; ``build_request``
lets botocore itself serialize a request into our ``Request`` type; ``botocore_parse``
runs botocore's response parser over our ``Response``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

import botocore.session
from botocore.awsrequest import create_request_object, prepare_request_dict
from botocore.model import OperationModel, Shape
from botocore.parsers import create_parser
from botocore.response import StreamingBody
from botocore.serialize import create_serializer
from hypothesis import strategies as st
from urllib3 import HTTPHeaderDict

from emulator.protocols.base import Request, Response

SESSION = botocore.session.get_session()


@dataclass(frozen=True)
class Ctx:
    """What the wire can carry: XML cannot carry control characters; headers only printable ASCII."""

    xml: bool = False
    float32: bool = False  # CBOR sends ``float`` shapes as float32
    max_depth: int = 4


_NO_CONTROL: Any = ("Cs", "Cc")
_NO_SURROGATE: Any = ("Cs",)
_XML_TEXT = st.text(st.characters(blacklist_categories=_NO_CONTROL, blacklist_characters="\ufffe\uffff"), max_size=12)
_ANY_TEXT = st.text(st.characters(blacklist_categories=_NO_SURROGATE), max_size=12)
_HEADER_TEXT = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=12)
_LABEL_TEXT = st.text(st.characters(blacklist_categories=_NO_CONTROL), min_size=1, max_size=12)
_TIMESTAMPS = st.integers(0, 4_000_000_000).map(lambda s: dt.datetime.fromtimestamp(s, tz=dt.UTC))
_SKIP = object()


def skippable(shape: Shape) -> bool:
    """Shapes a generic strategy leaves out: documents, event streams, streaming blobs."""
    return bool(
        (shape.type_name == "structure" and shape.is_document_type)
        or shape.serialization.get("eventstream")
        or shape.serialization.get("streaming")
    )


def scalar(shape: Shape, ctx: Ctx, location: str | None = None) -> st.SearchStrategy[Any]:
    t = shape.type_name
    if t == "string":
        if shape.enum:
            return st.sampled_from(shape.enum)
        if location in ("header", "headers"):
            return _HEADER_TEXT
        if location == "uri":
            return _LABEL_TEXT
        return _XML_TEXT if ctx.xml else _ANY_TEXT
    if t in ("integer", "short", "byte"):
        return st.integers(-(2**31), 2**31 - 1)
    if t == "long":
        return st.integers(-(2**53), 2**53)
    if t == "float" and ctx.float32:
        return st.floats(allow_nan=False, allow_infinity=False, width=32)
    if t in ("float", "double"):
        return st.floats(allow_nan=False, allow_infinity=False)
    if t == "boolean":
        return st.booleans()
    if t == "blob":
        return st.binary(max_size=16)
    if t == "timestamp":
        return _TIMESTAMPS
    raise ValueError(t)


def _tagged(key: str, strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    return strategy.map(lambda v: {key: v})


def _later(shape: Shape, ctx: Ctx, depth: int) -> st.SearchStrategy[Any]:
    return st.deferred(lambda: values(shape, ctx, depth))


def values(shape: Shape, ctx: Ctx, depth: int = 0, location: str | None = None) -> st.SearchStrategy[Any]:
    t = shape.type_name
    if t == "structure":
        if depth >= ctx.max_depth:
            if shape.is_tagged_union:  # exactly one member, so only a scalar one this deep
                flat = [_tagged(k, values(m, ctx, depth + 1)) for k, m in shape.members.items() if m.type_name not in ("structure", "list", "map")]
                return st.one_of(*flat) if flat else st.nothing()
            return st.just({})
        members = {k: m for k, m in shape.members.items() if not skippable(m) and not (m.type_name in ("structure", "list", "map") and depth + 1 >= ctx.max_depth)}
        if shape.is_tagged_union:
            if not members:
                return st.nothing()
            return st.one_of(*[_tagged(k, values(m, ctx, depth + 1)) for k, m in members.items()])
        return st.fixed_dictionaries({}, optional={k: _later(m, ctx, depth + 1) for k, m in members.items()})
    if t == "list":
        if location == "header":
            return st.lists(scalar(shape.member, ctx, "header"), min_size=1, max_size=3)
        return st.lists(values(shape.member, ctx, depth + 1), max_size=3)
    if t == "map":
        key = scalar(shape.key, ctx) if shape.key.type_name == "string" else st.text(max_size=5)
        if location in ("headers", "querystring"):
            key = st.text(st.characters(min_codepoint=ord("a"), max_codepoint=ord("z")), min_size=1, max_size=8)
            if location == "headers":
                return st.dictionaries(key, _HEADER_TEXT, max_size=3)
            if shape.value.type_name == "list":
                return st.dictionaries(key.map(lambda k: "qm" + k), st.lists(_ANY_TEXT, min_size=1, max_size=2), max_size=3)
            return st.dictionaries(key.map(lambda k: "qm" + k), _ANY_TEXT, max_size=3)
        return st.dictionaries(key, values(shape.value, ctx, depth + 1), max_size=3)
    return scalar(shape, ctx, location)


def input_values(operation: OperationModel, ctx: Ctx) -> st.SearchStrategy[dict[str, Any]]:
    shape = operation.input_shape
    if shape is None:
        return st.just({})
    members: dict[str, st.SearchStrategy[Any]] = {}
    required: dict[str, st.SearchStrategy[Any]] = {}
    for key, member in shape.members.items():
        if skippable(member) and not (member.type_name == "blob" and key == shape.serialization.get("payload")):
            continue
        location = member.serialization.get("location")
        if location == "uri":
            required[key] = scalar(member, ctx, "uri") if member.type_name == "string" else scalar(member, ctx)
        elif location == "header" and member.type_name == "string" and member.serialization.get("jsonvalue"):
            members[key] = st.dictionaries(st.text(max_size=5), st.integers(0, 9) | st.text(max_size=5), max_size=3)
        elif location in ("header", "headers", "querystring"):
            if member.type_name == "timestamp":
                members[key] = _TIMESTAMPS
            else:
                members[key] = values(member, ctx, 1, location)
        else:
            members[key] = values(member, ctx, 1)
    return st.fixed_dictionaries(required, optional=members)


def output_values(operation: OperationModel, ctx: Ctx) -> st.SearchStrategy[dict[str, Any]]:
    shape = operation.output_shape
    if shape is None:
        return st.just({})
    members: dict[str, st.SearchStrategy[Any]] = {}
    for key, member in shape.members.items():
        location = member.serialization.get("location")
        if skippable(member) or location == "statusCode":
            continue
        if location == "header" and member.type_name == "string" and member.serialization.get("jsonvalue"):
            members[key] = st.dictionaries(st.text(max_size=5), st.integers(0, 9), max_size=3)
        elif location in ("header", "headers"):
            members[key] = _TIMESTAMPS if member.type_name == "timestamp" else values(member, ctx, 1, location)
        elif location is None and shape.serialization.get("payload") == key and member.type_name in ("blob", "string"):
            members[key] = st.binary(max_size=16) if member.type_name == "blob" else _ANY_TEXT
        else:
            members[key] = values(member, ctx, 1)
    return st.fixed_dictionaries({}, optional=members)


def prune(value: Any) -> Any:
    """Drop empty containers and None: several wire formats cannot tell them from absent."""
    if isinstance(value, dict):
        out = {k: prune(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v is not None and v != {} and v != [] and v != b""}
    if isinstance(value, list):
        items = [prune(v) for v in value]
        return [v for v in items if v is not None and v != {} and v != [] and v != b""]
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC)
    return value


_RARE = ("float", "double", "blob", "timestamp", "map", "long", "boolean")


def type_names(shape: Shape | None, seen: set[str] | None = None) -> set[str]:
    """Every type name reachable from ``shape`` (scalars only matter)."""
    if shape is None:
        return set()
    seen = set() if seen is None else seen
    if shape.name in seen:
        return set()
    seen.add(shape.name)
    out = {shape.type_name}
    if shape.type_name == "structure":
        for m in shape.members.values():
            out |= type_names(m, seen)
    elif shape.type_name == "list":
        out |= type_names(shape.member, seen)
    elif shape.type_name == "map":
        out |= type_names(shape.key, seen) | type_names(shape.value, seen)
    return out


def pick_operation(ops: list[OperationModel], output: bool) -> st.SearchStrategy[OperationModel]:
    """Any operation, or (as often) one whose shapes reach a rarely drawn type, one rare type at a time."""
    by_type: dict[str, list[OperationModel]] = {}
    for op in ops:
        names = type_names(op.output_shape if output else op.input_shape)
        for t in _RARE:
            if t in names:
                by_type.setdefault(t, []).append(op)
    rare = [st.sampled_from(v) for _, v in sorted(by_type.items())]
    return st.one_of(st.sampled_from(ops), *rare) if rare else st.sampled_from(ops)


def operations(service: str) -> list[OperationModel]:
    model = SESSION.get_service_model(service)
    return [model.operation_model(name) for name in model.operation_names]


def build_request(operation: OperationModel, params: dict[str, Any], protocol: str | None = None) -> Request:
    """Let botocore serialize ``params`` exactly as a client would send them."""
    proto = protocol or operation.service_model.metadata["protocol"]
    serializer = create_serializer(proto, include_validation=False)
    raw = serializer.serialize_to_request(params, operation)
    prepare_request_dict(raw, "http://localhost:1")
    prepared = create_request_object(raw).prepare()
    url = urlsplit(prepared.url)
    body = prepared.body or b""
    if isinstance(body, str):
        body = body.encode("utf-8")
    elif not isinstance(body, bytes):
        body = body.read()
    headers = {k.lower(): v.decode("latin-1") if isinstance(v, bytes) else str(v) for k, v in prepared.headers.items()}
    return Request(prepared.method, unquote(url.path), url.path, url.query, headers, body, request_id="req-0001")


class _RawStream:
    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def stream(self, amt: int | None = None) -> Iterator[bytes]:
        while chunk := self._data.read(97):
            yield chunk


def collect(response: Response) -> bytes:
    async def run() -> bytes:
        assert response.stream is not None
        return b"".join([chunk async for chunk in response.stream])

    return asyncio.run(run())


def botocore_parse(protocol: str, operation: OperationModel | None, response: Response) -> dict[str, Any]:
    """What a boto3 caller sees for our response (errors included)."""
    shape = operation.output_shape if operation is not None and response.status < 300 else None
    body: Any = response.body
    if response.stream is not None:
        body = _RawStream(collect(response))
    elif operation is not None and operation.has_streaming_output and response.status < 300:
        body = StreamingBody(io.BytesIO(response.body), len(response.body))
    raw = {
        "body": body,
        "headers": HTTPHeaderDict({k.lower(): v for k, v in response.headers.items()}),
        "status_code": response.status,
        "context": {"operation_name": operation.name if operation is not None else ""},
    }
    parsed: dict[str, Any] = create_parser(protocol).parse(raw, shape)
    return parsed
