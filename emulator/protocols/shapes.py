"""Shape-driven value conversion shared by the protocols.

Parsers hand handlers the same Python values a boto3 caller passes in: ``bytes``
for blobs, ``datetime`` for timestamps, ``int``/``float`` for numbers. Only shapes
that contain a blob or a timestamp somewhere below them are walked; the answer
is cached per shape, so plain string/number documents cost nothing extra.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from collections.abc import Callable
from typing import Any, cast

from botocore.model import Shape

from emulator.errors import AwsError

_NEEDS: dict[tuple[Any, str], bool] = {}


def _key(shape: Shape) -> tuple[Any, str]:
    """A shape's identity: its model's resolver and its name. Not ``id(shape)``: botocore
    builds new Shape objects each time ``members``/``member`` is read (a recursive shape
    never meets itself by id, and a freed shape's id can be reused by another one)."""
    return (getattr(shape, "_shape_resolver", None), shape.name)


# Scalars whose JSON form is not the Python value: base64 blobs, timestamps, and the doubles
# the JSON protocols send as strings ("NaN", "Infinity", "-Infinity": awsJson1_0/1_1, as the
# SDKs serialize a non-finite double).
_CONVERTED = frozenset({"blob", "timestamp", "float", "double"})
_NON_FINITE = frozenset({"NaN", "Infinity", "-Infinity"})


def needs_conversion(shape: Shape, _seen: set[tuple[Any, str]] | None = None) -> bool:
    key = _key(shape)
    cached = _NEEDS.get(key)
    if cached is not None:
        return cached
    seen = _seen if _seen is not None else set()
    if key in seen:
        return False  # recursion: decided by the other members of the cycle
    seen.add(key)
    t = shape.type_name
    if t in _CONVERTED:
        result = True
    elif t == "structure":
        result = any(needs_conversion(m, seen) for m in shape.members.values())
    elif t == "list":
        result = needs_conversion(shape.member, seen)
    elif t == "map":
        result = needs_conversion(shape.key, seen) or needs_conversion(shape.value, seen)
    else:
        result = False
    if _seen is None or t in _CONVERTED or result:
        _NEEDS[key] = result
    return result


def parse_timestamp(value: Any) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return dt.datetime.fromtimestamp(value, tz=dt.UTC)
    if isinstance(value, str):
        text = value.strip()
        try:
            return dt.datetime.fromtimestamp(float(text), tz=dt.UTC)
        except ValueError:
            pass
        try:
            parsed = dt.datetime.fromisoformat(text)
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
        except ValueError:
            pass
        try:
            from email.utils import parsedate_to_datetime

            return parsedate_to_datetime(text)
        except (TypeError, ValueError):
            pass
    raise AwsError("SerializationException", f"Unable to parse timestamp value: {value!r}", 400)


def decode_json_value(shape: Shape, value: Any) -> Any:
    """Convert a JSON-decoded value to the Python type botocore callers use."""
    if value is None:
        return None
    t = shape.type_name
    if t == "structure":
        if not isinstance(value, dict):
            raise AwsError("SerializationException", f"Expected an object for {shape.name}", 400)
        if not needs_conversion(shape):
            return value
        members = shape.members
        out = {}
        for k, v in value.items():
            m = members.get(k)
            out[k] = decode_json_value(m, v) if m is not None else v
        return out
    if t == "list":
        if not isinstance(value, list):
            raise AwsError("SerializationException", f"Expected a list for {shape.name}", 400)
        if not needs_conversion(shape.member):
            return value
        return [decode_json_value(shape.member, v) for v in value]
    if t == "map":
        if not isinstance(value, dict):
            raise AwsError("SerializationException", f"Expected a map for {shape.name}", 400)
        if not needs_conversion(shape.value):
            return value
        return {k: decode_json_value(shape.value, v) for k, v in value.items()}
    if t == "blob":
        if not isinstance(value, str):
            raise AwsError("SerializationException", f"Expected a base64 string for {shape.name}", 400)
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise AwsError("SerializationException", f"Base64 encoded value is invalid for {shape.name}", 400) from exc
    if t == "timestamp":
        return parse_timestamp(value)
    if t in ("float", "double") and type(value) is str and value in _NON_FINITE:
        return float(value)  # the service then judges it (CloudWatch refuses it), as AWS's do
    return value


Decoder = Callable[[Any], Any]
# Compiled decoders, keyed by (the service's shape resolver, shape name).
_DECODERS: dict[tuple[Any, str], Decoder | None] = {}


def json_decoder(shape: Shape) -> Decoder | None:
    """``decode_json_value`` for one shape, compiled once: the same results and errors,
    but each level knows which members can need work, and containers are copied only
    when something in them changed (a DynamoDB item without blobs is returned as parsed).
    None: values of this shape pass through unchanged (strings, numbers, booleans)."""
    key = _key(shape)
    if key in _DECODERS:
        return _DECODERS[key]
    if shape.type_name not in ("structure", "list", "map") and shape.type_name not in _CONVERTED:
        _DECODERS[key] = None
        return None
    cell: list[Decoder] = []

    def forward(value: Any) -> Any:  # stands in for the decoder while a recursive shape compiles
        return cell[0](value)

    _DECODERS[key] = forward
    try:
        decoder = _compile(shape)
    except BaseException:
        del _DECODERS[key]  # a placeholder left behind would fail every later request
        raise
    cell.append(decoder)
    _DECODERS[key] = decoder
    return decoder


def _compile(shape: Shape) -> Decoder:
    t = shape.type_name
    name = shape.name
    if t == "structure":
        if not needs_conversion(shape):

            def check_structure(value: Any) -> Any:
                if value is not None and not isinstance(value, dict):
                    raise AwsError("SerializationException", f"Expected an object for {name}", 400)
                return value

            return check_structure
        members = {k: d for k, m in shape.members.items() if (d := json_decoder(m)) is not None}
        names = frozenset(members)

        def structure(value: Any) -> Any:
            if value is None:
                return None
            if not isinstance(value, dict):
                raise AwsError("SerializationException", f"Expected an object for {name}", 400)
            if names.isdisjoint(value):
                # No member that can need work (a DynamoDB {"S": ...}): one C-level test
                # of the value's few keys instead of a loop over them.
                return value
            out = None
            for k, v in value.items():
                d = members.get(k)
                if d is not None:
                    new = d(v)
                    if new is not v:
                        if out is None:
                            out = dict(value)
                        out[k] = new
            return value if out is None else out

        return structure
    if t in ("list", "map"):
        is_list = t == "list"
        inner_shape = shape.member if is_list else shape.value
        inner = json_decoder(inner_shape) if needs_conversion(inner_shape) else None
        kind, what = (list, "a list") if is_list else (dict, "a map")

        def container(value: Any) -> Any:
            if value is None:
                return None
            if not isinstance(value, kind):
                raise AwsError("SerializationException", f"Expected {what} for {name}", 400)
            if inner is None:
                return value
            out = None
            items: Any = enumerate(value) if is_list else cast("dict[Any, Any]", value).items()
            for k, v in items:
                new = inner(v)
                if new is not v:
                    if out is None:
                        out = list(value) if is_list else dict(value)
                    out[k] = new
            return value if out is None else out

        return container
    if t in ("float", "double"):

        def number(value: Any) -> Any:
            return float(value) if type(value) is str and value in _NON_FINITE else value

        return number
    return lambda value: decode_json_value(shape, value)  # blob, timestamp


def json_default(value: Any) -> Any:
    """``default=`` for JSON encoders: how output values reach the wire."""
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value.timestamp()
    if isinstance(value, dt.date):
        return value.isoformat()
    from decimal import Decimal

    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    raise TypeError(f"not JSON serializable: {type(value).__name__}")
