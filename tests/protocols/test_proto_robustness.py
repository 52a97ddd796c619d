"""Malformed input at every protocol entry point: AWS's 4xx, never a 5xx, server stays up."""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator
from typing import Any

import cbor2
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from protocol_server import ProtocolServer

from emulator.testing.raw import RawResponse, signed

FORM = "application/x-www-form-urlencoded; charset=utf-8"
CW_PATH = "/service/GraniteServiceVersion20100801/operation/PutMetricData"
CONVERSE = "/model/meta.llama3-8b-instruct-v1%3A0/converse"


@pytest.fixture(scope="module")
def server() -> Iterator[ProtocolServer]:
    srv = ProtocolServer(("sts", "ec2", "bedrock-runtime", "cloudwatch", "dynamodb", "route53")).start()
    for name, handler in srv.handlers.items():
        for op in handler.operations:
            srv.script(name, op, {})
    try:
        yield srv
    finally:
        srv.stop()


def _send(server: ProtocolServer, method: str, path: str, service: str, headers: dict[str, str], body: bytes) -> RawResponse:
    return signed(server, method, path, service=service, headers=headers, body=body)  # type: ignore[arg-type]


def _healthy(server: ProtocolServer) -> bool:
    with urllib.request.urlopen(server.endpoint + "/_emulator/health", timeout=5) as resp:
        return bool(resp.status == 200)


# (name, method, path, signing service, base headers, body prefix)
ENTRY_POINTS: list[tuple[str, str, str, str, dict[str, str], bytes]] = [
    ("json", "POST", "/", "dynamodb", {"x-amz-target": "DynamoDB_20120810.PutItem", "content-type": "application/x-amz-json-1.0"}, b""),
    ("query", "POST", "/", "sts", {"content-type": FORM}, b"Action=AssumeRole&Version=2011-06-15&"),
    ("ec2", "POST", "/", "ec2", {"content-type": FORM}, b"Action=RunInstances&Version=2016-11-15&"),
    ("rest-json", "POST", CONVERSE, "bedrock", {"content-type": "application/json"}, b""),
    ("cbor", "POST", CW_PATH, "monitoring", {"content-type": "application/cbor", "smithy-protocol": "rpc-v2-cbor"}, b""),
    ("json-query-mode", "POST", "/", "monitoring", {"x-amz-target": "GraniteServiceVersion20100801.PutMetricData", "content-type": "application/x-amz-json-1.0", "x-amzn-query-mode": "true"}, b""),
    ("rest-xml", "POST", "/2013-04-01/hostedzone", "route53", {"content-type": "application/xml"}, b'<?xml version="1.0"?>'),
]


@pytest.mark.parametrize(
    ("entry", "body", "code"),
    [
        ("json", b"{bad json", "SerializationException"),
        ("json", b"[1, 2]", "SerializationException"),
        ("json", b'{"TableName": 5, "Item": {}}', None),
        ("query", b"\xff\xfe", "MalformedQueryString"),
        ("query", b"DurationSeconds=abc&RoleArn=arn:aws:iam::000000000000:role/r&RoleSessionName=s", "InvalidParameterValue"),
        ("query", b"PolicyArns.member.99999999999.arn=x&RoleArn=arn:aws:iam::000000000000:role/r&RoleSessionName=s", "MalformedQueryString"),
        ("ec2", b"ImageId=ami-1&MinCount=one&MaxCount=1", "InvalidParameterValue"),
        ("ec2", b"ImageId=ami-1&MinCount=1&MaxCount=1&EbsOptimized=maybe", "InvalidParameterValue"),
        ("rest-json", b"{bad", "SerializationException"),
        ("rest-json", b'{"messages": "not a list"}', "SerializationException"),
        ("rest-json", b'{"messages": [], "inferenceConfig": {"maxTokens": 1.5}}', "SerializationException"),
        ("cbor", b"\xff\x00garbage", "SerializationException"),
        ("rest-xml", b"<CreateHostedZoneRequest><Name>x", "MalformedXML"),
        ("rest-xml", b"<!DOCTYPE x [<!ENTITY a 'b'>]><CreateHostedZoneRequest/>", "MalformedXML"),
        ("json-query-mode", b"{", "SerializationException"),
        ("cbor", cbor2.dumps([1, 2]), "SerializationException"),
        ("cbor", cbor2.dumps({"Namespace": "n", "MetricData": [{"MetricName": "m", "Timestamp": "yesterday"}]}), "SerializationException"),
    ],
)
def test_malformed_body_is_a_4xx(server: ProtocolServer, entry: str, body: bytes, code: str | None) -> None:
    _, method, path, service, headers, prefix = next(e for e in ENTRY_POINTS if e[0] == entry)
    resp = _send(server, method, path, service, headers, prefix + body)
    assert 400 <= resp.status < 500, resp.body[:300]
    if code is not None:
        assert code.encode() in resp.body or resp.headers.get("x-amzn-errortype", "").startswith(code), (resp.headers, resp.body[:300])


def test_cbor_error_carries_query_compat_header(server: ProtocolServer) -> None:
    resp = _send(server, "POST", CW_PATH, "monitoring", ENTRY_POINTS[4][4], b"\xff")
    assert resp.status == 400
    assert resp.headers["x-amzn-query-error"] == "SerializationException;Sender"
    assert cbor2.loads(resp.body)["__type"] == "SerializationException"


def test_unknown_content_type_for_cbor(server: ProtocolServer) -> None:
    resp = _send(server, "POST", CW_PATH, "monitoring", {"content-type": "text/plain", "smithy-protocol": "rpc-v2-cbor"}, b"hello")
    assert 400 <= resp.status < 500


def test_json_query_mode_error_header(server: ProtocolServer) -> None:
    entry = next(e for e in ENTRY_POINTS if e[0] == "json-query-mode")
    resp = _send(server, "POST", "/", "monitoring", entry[4], b"[]")
    assert resp.status == 400
    assert resp.headers["x-amzn-query-error"] == "SerializationException;Sender"


def test_json_error_shape(server: ProtocolServer) -> None:
    resp = _send(server, "POST", "/", "dynamodb", ENTRY_POINTS[0][4], b"{bad")
    assert resp.status == 400
    assert orjson.loads(resp.body)["__type"].endswith("SerializationException")


_HEADER_NAMES = st.sampled_from(["content-type", "x-amz-target", "smithy-protocol", "content-encoding", "x-amz-date-x", "accept", "x-amzn-query-mode"])
_HEADER_VALUES = st.one_of(
    st.sampled_from(["application/json", "application/cbor", FORM, "text/xml", "gzip", "deflate", "rpc-v2-cbor", "", "true"]),
    st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=30),
)
_BODIES = st.one_of(
    st.binary(max_size=200),
    st.text(max_size=200).map(lambda s: s.encode("utf-8")),
    st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10), lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=8), c, max_size=3), max_leaves=10).map(orjson.dumps),
    st.dictionaries(st.sampled_from(["RoleArn", "DurationSeconds", "PolicyArns.member.1.arn", "Tags.member.2.Key", "MinCount", "TagSpecification.1.Tag.1.Key", "Filter.1.Value.x"]), st.text(max_size=10), max_size=5).map(
        lambda d: "&".join(f"{k}={v}" for k, v in d.items()).encode("utf-8")
    ),
    st.recursive(st.none() | st.booleans() | st.integers() | st.binary(max_size=5) | st.text(max_size=5), lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=8), c, max_size=3), max_leaves=10).map(cbor2.dumps),
)


@pytest.mark.parametrize("entry", ENTRY_POINTS, ids=[e[0] for e in ENTRY_POINTS])
def test_fuzz_never_5xx(server: ProtocolServer, entry: tuple[str, str, str, str, dict[str, str], bytes]) -> None:
    _, method, path, service, base_headers, prefix = entry

    @settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
    @given(body=_BODIES, extra=st.dictionaries(_HEADER_NAMES, _HEADER_VALUES, max_size=3), keep_prefix=st.booleans())
    def run(body: bytes, extra: dict[str, Any], keep_prefix: bool) -> None:
        headers = {**base_headers, **extra}
        resp = _send(server, method, path, service, headers, (prefix if keep_prefix else b"") + body)
        assert resp.status < 500, (resp.status, headers, body[:200], resp.body[:500])

    run()
    assert _healthy(server)
