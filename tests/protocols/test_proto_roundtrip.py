"""Round trips through botocore for every protocol, over many operations of real models.

Input: botocore's own serializer writes the request, our ``parse`` must give back
the same params. Output: our ``serialize`` writes the response, botocore's parser
must give back the same dict. Values are drawn from the shapes by hypothesis.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from protocol_shapegen import (
    Ctx,
    botocore_parse,
    build_request,
    input_values,
    operations,
    output_values,
    pick_operation,
    prune,
)

from emulator.protocols import get_protocol

# (service, wire protocol): botocore clients send each of these today.
CASES = [
    ("dynamodb", "json"),
    ("logs", "json"),
    ("cloudwatch", "json"),
    ("sts", "query"),
    ("iam", "query"),
    ("sns", "query"),
    ("cloudwatch", "query"),
    ("ec2", "ec2"),
    ("bedrock-runtime", "rest-json"),
    ("lambda", "rest-json"),
    ("cloudwatch", "smithy-rpc-v2-cbor"),
    ("sdb", "query"),
    ("rds", "query"),
    ("s3", "rest-xml"),
    ("route53", "rest-xml"),
    ("cloudfront", "rest-xml"),
    ("kinesis", "json"),
    ("apigateway", "rest-json"),
    ("glacier", "rest-json"),
]

_SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)


def _ctx(protocol: str) -> Ctx:
    return Ctx(xml=protocol in ("query", "ec2", "rest-xml"), float32=protocol == "smithy-rpc-v2-cbor")


def _strip(parsed: dict[str, Any]) -> dict[str, Any]:
    parsed.pop("ResponseMetadata", None)
    return prune(parsed)


# Models where two members share one XML element name (S3's deprecated TopicConfiguration has
# both ``Event`` and a flattened ``Events`` list of ``<Event>``): no wire format can round-trip them.
_AMBIGUOUS = {"GetBucketNotification", "PutBucketNotification"}


def _usable(op: Any) -> bool:
    # Host-prefix labels ({RequestRoute}.) go into the host name, not into anything we parse.
    return op.name not in _AMBIGUOUS and "{" not in (op.endpoint or {}).get("hostPrefix", "")


_TRANSPORT = {"content-length", "content-type", "content-md5", "expect"}


def _transport_members(op: Any) -> list[str]:
    """Header members HTTP fills in by itself (Content-Length of the body, ...)."""
    if op.input_shape is None:
        return []
    return [k for k, m in op.input_shape.members.items() if m.serialization.get("location") == "header" and m.serialization.get("name", "").lower() in _TRANSPORT]


@pytest.mark.parametrize(("service", "protocol"), CASES, ids=[f"{s}-{p}" for s, p in CASES])
def test_request_round_trip(service: str, protocol: str) -> None:
    ops = [op for op in operations(service) if not op.has_event_stream_input and _usable(op)]
    pick_ops = pick_operation(ops, output=False)
    ctx = _ctx(protocol)
    proto = get_protocol(protocol)

    @_SETTINGS
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        op = data.draw(pick_ops, label="operation")
        params = data.draw(input_values(op, ctx), label="params")
        request = build_request(op, params, protocol)
        parsed = proto.parse(request, op)
        for key in _transport_members(op):
            if key not in params:
                parsed.pop(key, None)
        assert prune(parsed) == prune(params)

    run()


@pytest.mark.parametrize(("service", "protocol"), CASES, ids=[f"{s}-{p}" for s, p in CASES])
def test_response_round_trip(service: str, protocol: str) -> None:
    ops = [op for op in operations(service) if not op.has_event_stream_output and _usable(op)]
    pick_ops = pick_operation(ops, output=True)
    ctx = _ctx(protocol)
    proto = get_protocol(protocol)

    @_SETTINGS
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        op = data.draw(pick_ops, label="operation")
        output = data.draw(output_values(op, ctx), label="output")
        request = build_request(op, {}, protocol) if not op.input_shape or not any(
            m.serialization.get("location") == "uri" for m in op.input_shape.members.values()
        ) else None
        response = proto.serialize(op, output, request)  # type: ignore[arg-type]
        assert response.status < 300
        parsed = botocore_parse(protocol, op, response)
        if protocol in ("query", "ec2"):
            assert parsed["ResponseMetadata"]["RequestId"] == ("req-0001" if request is not None else parsed["ResponseMetadata"]["RequestId"])
        got = _strip(parsed)
        for key, member in (op.output_shape.members.items() if op.output_shape is not None else []):
            # Always on the wire even when the handler leaves them out.
            location = member.serialization.get("location")
            if key not in output and (location == "statusCode" or (location == "header" and member.serialization.get("name", "").lower() == "content-type")):
                got.pop(key, None)
        want = prune(output)
        payload = op.output_shape.serialization.get("payload") if op.output_shape is not None else None
        if payload and payload in got and hasattr(got[payload], "read"):
            got[payload] = got[payload].read()
        if payload and isinstance(want.get(payload), str) and isinstance(got.get(payload), bytes):
            got[payload] = got[payload].decode()
        if payload and got.get(payload) in ("", b"") and payload not in want:
            got.pop(payload)
        assert prune(got) == want

    run()
