"""The event stream encoder against botocore's decoder, and our decoder against botocore's frames."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from typing import Any

import orjson
import pytest
from botocore.eventstream import EventStreamBuffer
from protocol_shapegen import SESSION

from emulator.errors import AwsError
from emulator.protocols import eventstream as es


def _decode(data: bytes) -> list[Any]:
    buf = EventStreamBuffer()
    buf.add_data(data)
    return list(buf)


def test_encoder_frames_decode_with_botocore() -> None:
    ts = dt.datetime(2024, 1, 2, 3, 4, 5, 678000, tzinfo=dt.UTC)
    u = uuid.UUID("12345678-1234-5678-1234-567812345678")
    headers: dict[str, es.HeaderValue] = {
        ":event-type": "chunk",
        "yes": True,
        "no": False,
        "b": es.Int8(-3),
        "s": es.Int16(1234),
        "i": es.Int32(-70000),
        "l": 2**40,
        "bytes": b"\x00\x01",
        "ts": ts,
        "id": u,
    }
    frame = es.encode_message(headers, b'{"a":1}')
    (msg,) = _decode(frame * 1)
    assert msg.payload == b'{"a":1}'
    assert msg.headers[":event-type"] == "chunk"
    assert msg.headers["yes"] is True and msg.headers["no"] is False
    assert (msg.headers["b"], msg.headers["s"], msg.headers["i"], msg.headers["l"]) == (-3, 1234, -70000, 2**40)
    assert msg.headers["bytes"] == b"\x00\x01"
    assert msg.headers["ts"] == int(ts.timestamp() * 1000)
    assert msg.headers["id"] == u.bytes
    # our own decoder agrees with botocore's
    ((ours, payload),) = es.decode_messages(frame)
    assert payload == b'{"a":1}' and ours["i"] == -70000 and ours["id"] == u


def test_many_frames_split_anywhere() -> None:
    frames = b"".join(es.event_frame("e", orjson.dumps({"n": i})) for i in range(20))
    buf = EventStreamBuffer()
    got: list[int] = []
    for i in range(0, len(frames), 7):
        buf.add_data(frames[i : i + 7])
        got.extend(orjson.loads(m.payload)["n"] for m in buf)
    assert got == list(range(20))


def test_corrupt_frames_are_rejected() -> None:
    frame = bytearray(es.event_frame("e", b"{}"))
    frame[-1] ^= 0xFF
    with pytest.raises(AwsError):
        es.decode_messages(bytes(frame))
    with pytest.raises(AwsError):
        es.decode_messages(b"\x00\x00\x00\x05")


def test_error_frames_map_to_botocore_errors() -> None:
    op = SESSION.get_service_model("bedrock-runtime").operation_model("ConverseStream")
    stream_shape = op.output_shape.members["stream"]

    async def events() -> Any:
        yield {"messageStart": {"role": "assistant"}}
        raise AwsError("ThrottlingException", "Too many tokens", 429)

    async def collect(gen: Any) -> bytes:
        return b"".join([f async for f in gen])

    data = asyncio.run(collect(es.frames(stream_shape, events(), lambda s, v: orjson.dumps(v))))
    first, exc = _decode(data)
    assert first.headers[":message-type"] == "event"
    assert exc.headers[":message-type"] == "exception"
    assert exc.headers[":exception-type"] == "throttlingException"
    assert orjson.loads(exc.payload)["message"] == "Too many tokens"

    async def unmodeled() -> Any:
        raise AwsError("SomethingElse", "boom", 400)
        yield {}

    (err,) = _decode(asyncio.run(collect(es.frames(stream_shape, unmodeled(), lambda s, v: orjson.dumps(v)))))
    assert err.headers[":message-type"] == "error"
    assert err.headers[":error-code"] == "SomethingElse" and err.headers[":error-message"] == "boom"


def test_decode_events_for_input_streams() -> None:
    op = SESSION.get_service_model("bedrock-runtime").operation_model("InvokeModelWithBidirectionalStream")
    shape = op.input_shape.members["body"]
    body = es.event_frame("chunk", orjson.dumps({"bytes": "aGk="})) * 2
    from emulator.protocols.restjson import JsonCodec

    codec = JsonCodec()
    events = es.decode_events(shape, body, lambda s, b: codec.decode(s, orjson.loads(b)))
    assert events == [{"chunk": {"bytes": b"hi"}}, {"chunk": {"bytes": b"hi"}}]
    with pytest.raises(AwsError):
        es.decode_events(shape, es.event_frame("nope", b"{}"), lambda s, b: {})
