"""application/vnd.amazon.eventstream: the binary framing of AWS event streams.

A message is (https://docs.aws.amazon.com/transcribe/latest/dg/streaming-setting-up.html,
and botocore.eventstream which decodes it):

    prelude   total length (uint32) | headers length (uint32) | prelude CRC32
    headers   name length (uint8) | name | type (uint8) | value
    payload
    CRC32 of everything before it

Event frames carry ``:message-type: event``, ``:event-type`` and
``:content-type``; modeled exceptions ``:message-type: exception`` and
``:exception-type``; anything else ``:message-type: error`` with
``:error-code``/``:error-message``.
"""

from __future__ import annotations

import datetime as dt
import logging
import struct
import uuid
import zlib
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable
from typing import Any

from botocore.model import Shape

from emulator.errors import AwsError

log = logging.getLogger("emulator")

_BOOL_TRUE, _BOOL_FALSE, _BYTE, _SHORT, _INT, _LONG, _BYTES, _STRING, _TIMESTAMP, _UUID = range(10)

# Header values are typed; a plain ``str`` is type 7.
HeaderValue = str | bytes | bool | int | dt.datetime | uuid.UUID


class Int8(int):
    """Marks a header value as a byte (type 2)."""


class Int16(int):
    """Marks a header value as a short (type 3)."""


class Int32(int):
    """Marks a header value as an int32 (type 4); plain ints are int64 (type 5)."""


def encode_header(name: str, value: HeaderValue) -> bytes:
    raw_name = name.encode("utf-8")
    if len(raw_name) > 255:
        raise ValueError(f"event stream header name too long: {name[:40]}")
    head = struct.pack("!B", len(raw_name)) + raw_name
    if isinstance(value, bool):
        return head + struct.pack("!B", _BOOL_TRUE if value else _BOOL_FALSE)
    if isinstance(value, Int8):
        return head + struct.pack("!Bb", _BYTE, value)
    if isinstance(value, Int16):
        return head + struct.pack("!Bh", _SHORT, value)
    if isinstance(value, Int32):
        return head + struct.pack("!Bi", _INT, value)
    if isinstance(value, int):
        return head + struct.pack("!Bq", _LONG, value)
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return head + struct.pack("!Bq", _TIMESTAMP, int(value.timestamp() * 1000))
    if isinstance(value, uuid.UUID):
        return head + struct.pack("!B", _UUID) + value.bytes
    if isinstance(value, bytes | bytearray):
        return head + struct.pack("!BH", _BYTES, len(value)) + bytes(value)
    data = str(value).encode("utf-8")
    if len(data) > 0xFFFF:
        data = data[:0xFFFF]
    return head + struct.pack("!BH", _STRING, len(data)) + data


def encode_message(headers: dict[str, HeaderValue], payload: bytes = b"") -> bytes:
    """One complete event stream message."""
    raw_headers = b"".join(encode_header(k, v) for k, v in headers.items())
    total = 12 + len(raw_headers) + len(payload) + 4
    prelude = struct.pack("!II", total, len(raw_headers))
    prelude += struct.pack("!I", zlib.crc32(prelude) & 0xFFFFFFFF)
    message = prelude + raw_headers + payload
    return message + struct.pack("!I", zlib.crc32(message) & 0xFFFFFFFF)


def event_frame(event_type: str, payload: bytes, content_type: str = "application/json", extra: dict[str, HeaderValue] | None = None) -> bytes:
    headers: dict[str, HeaderValue] = {":event-type": event_type, ":content-type": content_type, ":message-type": "event"}
    if extra:
        headers.update(extra)
    return encode_message(headers, payload)


def exception_frame(exception_type: str, payload: bytes, content_type: str = "application/json") -> bytes:
    return encode_message({":exception-type": exception_type, ":content-type": content_type, ":message-type": "exception"}, payload)


def error_frame(code: str, message: str) -> bytes:
    return encode_message({":error-code": code, ":error-message": message, ":message-type": "error"})


# ------------------------------------------------------------------ decoding
class EventStreamDecodeError(AwsError):
    def __init__(self, message: str) -> None:
        super().__init__("SerializationException", message, 400)


def decode_messages(data: bytes) -> list[tuple[dict[str, Any], bytes]]:
    """Split a buffer of complete messages into (headers, payload); checks both CRCs."""
    out: list[tuple[dict[str, Any], bytes]] = []
    pos = 0
    while pos < len(data):
        if len(data) - pos < 16:
            raise EventStreamDecodeError("Truncated event stream message")
        total, headers_len, prelude_crc = struct.unpack_from("!III", data, pos)
        if zlib.crc32(data[pos : pos + 8]) & 0xFFFFFFFF != prelude_crc:
            raise EventStreamDecodeError("Event stream prelude checksum mismatch")
        if total < 16 or headers_len > total - 16 or pos + total > len(data):
            raise EventStreamDecodeError("Invalid event stream message length")
        end = pos + total
        (message_crc,) = struct.unpack_from("!I", data, end - 4)
        if zlib.crc32(data[pos : end - 4]) & 0xFFFFFFFF != message_crc:
            raise EventStreamDecodeError("Event stream message checksum mismatch")
        headers = _decode_headers(data[pos + 12 : pos + 12 + headers_len])
        out.append((headers, bytes(data[pos + 12 + headers_len : end - 4])))
        pos = end
    return out


def _decode_headers(raw: bytes) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    i = 0
    try:
        while i < len(raw):
            n = raw[i]
            name = raw[i + 1 : i + 1 + n].decode("utf-8")
            i += 1 + n
            t = raw[i]
            i += 1
            value: Any
            if t in (_BOOL_TRUE, _BOOL_FALSE):
                value = t == _BOOL_TRUE
            elif t == _BYTE:
                (value,) = struct.unpack_from("!b", raw, i)
                i += 1
            elif t == _SHORT:
                (value,) = struct.unpack_from("!h", raw, i)
                i += 2
            elif t == _INT:
                (value,) = struct.unpack_from("!i", raw, i)
                i += 4
            elif t in (_LONG, _TIMESTAMP):
                (value,) = struct.unpack_from("!q", raw, i)
                i += 8
            elif t in (_BYTES, _STRING):
                (length,) = struct.unpack_from("!H", raw, i)
                value = raw[i + 2 : i + 2 + length]
                if len(value) != length:
                    raise EventStreamDecodeError("Truncated event stream header")
                value = value.decode("utf-8") if t == _STRING else bytes(value)
                i += 2 + length
            elif t == _UUID:
                value = uuid.UUID(bytes=bytes(raw[i : i + 16]))
                i += 16
            else:
                raise EventStreamDecodeError(f"Unknown event stream header type {t}")
            headers[name] = value
    except (IndexError, struct.error, UnicodeDecodeError, ValueError) as exc:
        raise EventStreamDecodeError("Malformed event stream headers") from exc
    return headers


# ------------------------------------------------------------------ shaped events
def _header_value(shape: Shape, value: Any) -> HeaderValue:
    t = shape.type_name
    if t == "boolean":
        return bool(value)
    if t == "byte":
        return Int8(value)
    if t == "short":
        return Int16(value)
    if t == "integer":
        return Int32(value)
    if t == "long":
        return int(value)
    if t == "blob":
        return bytes(value)
    if t == "timestamp":
        return value if isinstance(value, dt.datetime) else dt.datetime.fromtimestamp(float(value), tz=dt.UTC)
    return str(value)


EncodeBody = Callable[[Shape, dict[str, Any]], bytes]


def shaped_event(stream_shape: Shape, event: dict[str, Any], encode_body: EncodeBody, content_type: str) -> bytes:
    """A frame for ``{"eventName": {...members...}}`` of an event-stream union shape."""
    if not isinstance(event, dict) or len(event) != 1:
        raise TypeError(f"an event must be a dict with one key naming the event, got {event!r:.200}")
    ((name, value),) = event.items()
    member = stream_shape.members.get(name)
    if member is None:
        raise TypeError(f"{name!r} is not an event of {stream_shape.name}")
    value = value or {}
    extra: dict[str, HeaderValue] = {}
    body_members: dict[str, Any] = {}
    payload: bytes | None = None
    payload_type = content_type
    for key, v in value.items():
        m = member.members.get(key)
        if m is None or v is None:
            continue
        if m.serialization.get("eventheader"):
            extra[key] = _header_value(m, v)
        elif m.serialization.get("eventpayload"):
            if m.type_name == "blob":
                payload, payload_type = bytes(v), "application/octet-stream"
            elif m.type_name == "string":
                payload, payload_type = str(v).encode("utf-8"), "text/plain"
            else:
                payload = encode_body(m, v)
        else:
            body_members[key] = v
    if payload is None:
        payload = encode_body(member, body_members)
    return event_frame(name, payload, payload_type, extra)


def exception_member(stream_shape: Shape, code: str) -> str | None:
    """The member of the stream union modeling the error ``code`` (by member or shape name)."""
    for name, member in stream_shape.members.items():
        if member.metadata.get("exception") and (name == code or member.name == code or name.lower() == code.lower()):
            return name
    return None


DecodeBody = Callable[[Shape, bytes], dict[str, Any]]


def decode_events(stream_shape: Shape, data: bytes, decode_body: DecodeBody) -> list[dict[str, Any]]:
    """A request body of event frames as ``[{"eventName": {...}}, ...]`` (input event streams)."""
    events: list[dict[str, Any]] = []
    for headers, payload in decode_messages(data):
        if headers.get(":message-type", "event") != "event":
            continue
        name = headers.get(":event-type")
        member = stream_shape.members.get(name) if isinstance(name, str) else None
        if member is None or not isinstance(name, str):
            raise EventStreamDecodeError(f"Unknown event type {name!r} for {stream_shape.name}")
        value: dict[str, Any] = {}
        payload_member = next((k for k, m in member.members.items() if m.serialization.get("eventpayload")), None)
        if payload_member is not None:
            m = member.members[payload_member]
            if m.type_name == "blob":
                value[payload_member] = payload
            elif m.type_name == "string":
                value[payload_member] = payload.decode("utf-8", "replace")
            elif payload:
                value[payload_member] = decode_body(m, payload)
        elif payload:
            value.update(decode_body(member, payload))
        for key, m in member.members.items():
            if m.serialization.get("eventheader") and key in headers:
                value[key] = headers[key]
        events.append({name: value})
    return events


async def frames(
    stream_shape: Shape,
    events: AsyncIterable[dict[str, Any]] | Iterable[dict[str, Any]],
    encode_body: EncodeBody,
    content_type: str = "application/json",
) -> AsyncIterator[bytes]:
    """Encode a handler's events; an error mid-stream becomes the closing exception frame."""
    try:
        if isinstance(events, AsyncIterable):
            async for event in events:
                yield shaped_event(stream_shape, event, encode_body, content_type)
        else:
            for event in events:
                yield shaped_event(stream_shape, event, encode_body, content_type)
    except AwsError as err:
        name = exception_member(stream_shape, err.code)
        if name is not None:
            body = {"message": err.message, "Message": err.message, **err.extra}
            yield exception_frame(name, encode_body(stream_shape.members[name], body), content_type)
        else:
            yield error_frame(err.code, err.message)
    except Exception:
        log.exception("event stream failed")
        yield error_frame("InternalFailure", "The request processing has failed because of an unknown error, exception or failure.")
    finally:
        aclose = getattr(events, "aclose", None)
        if aclose is not None:
            await aclose()


def json_body(shape: Shape, value: dict[str, Any]) -> bytes:
    """An awsJson event's payload: the event's members only (an exception event's body is
    built with both "message" and "Message", see frames(), and the model names one)."""
    import orjson  # here: the rest of this module is protocol-neutral

    from emulator.protocols.shapes import json_default

    opts = orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME
    return orjson.dumps({k: v for k, v in value.items() if k in shape.members}, default=json_default, option=opts)


async def rpc_output(shape: Shape, output: dict[str, Any], encode_body: EncodeBody = json_body, content_type: str = "application/json") -> AsyncIterator[bytes]:
    """An RPC protocol's output event stream (awsJson, e.g. CloudWatch Logs StartLiveTail):
    an ``initial-response`` event carrying the other output members, then the events,
    as botocore's ``JSONParser._handle_event_stream`` reads it."""
    name = shape.event_stream_name
    initial = {k: v for k, v in output.items() if k != name}
    yield event_frame("initial-response", encode_body(shape, initial), content_type)
    async for frame in frames(shape.members[name], output.get(name) or [], encode_body, content_type):
        yield frame
