"""json_decoder (compiled, copy-on-write) must answer exactly as decode_json_value does."""

from __future__ import annotations

import base64
import copy
import random
from typing import Any

import pytest
from botocore.model import Shape

from emulator import services
from emulator.errors import AwsError
from emulator.protocols.shapes import decode_json_value, json_decoder


def _gen(rnd: random.Random, shape: Shape, depth: int = 0) -> Any:
    if rnd.random() < 0.03:  # a value of the wrong JSON type anywhere
        return rnd.choice([None, 5, "x", [], {}, True])
    t = shape.type_name
    if t == "structure":
        out = {k: _gen(rnd, m, depth + 1) for k, m in shape.members.items() if depth < 5 and rnd.random() < (0.5 if depth else 0.8)}
        if rnd.random() < 0.1:
            out["NotAMember"] = 1
        return out
    if t == "list":
        return [_gen(rnd, shape.member, depth + 1) for _ in range(rnd.randint(0, 3))] if depth < 6 else []
    if t == "map":
        return {f"k{i}": _gen(rnd, shape.value, depth + 1) for i in range(rnd.randint(0, 3))} if depth < 6 else {}
    if t == "blob":
        return rnd.choice([base64.b64encode(b"abc").decode(), "!!not base64", ""])
    if t == "timestamp":
        return rnd.choice([1700000000, "2024-01-01T00:00:00Z", "junk", 1.5])
    return rnd.choice(["s", 3, True, "NaN", "-Infinity"])


def _outcome(fn: Any, value: Any) -> tuple[Any, ...]:
    try:
        return ("ok", fn(value))
    except AwsError as err:
        return ("error", err.code, err.message)


@pytest.mark.parametrize(
    ("service", "operation"),
    [
        ("dynamodb", "PutItem"),
        ("dynamodb", "Query"),
        ("dynamodb", "BatchWriteItem"),
        ("dynamodb", "TransactWriteItems"),
        ("dynamodb", "UpdateItem"),
        ("cloudwatch", "PutMetricData"),
        ("logs", "PutLogEvents"),
        ("kinesis", "PutRecords"),
        ("bedrock-runtime", "Converse"),
    ],
)
def test_same_values_and_errors_as_the_generic_walk(service: str, operation: str) -> None:
    op = services.operation_model(service, operation)
    assert op is not None and op.input_shape is not None
    shape = op.input_shape
    decoder = json_decoder(shape)
    rnd = random.Random(f"{service}.{operation}")
    errors = 0
    for _ in range(400):
        value = _gen(rnd, shape)
        expected = _outcome(lambda v: decode_json_value(shape, v), copy.deepcopy(value))
        got = _outcome(lambda v: decoder(v) if decoder is not None else v, copy.deepcopy(value))
        assert repr(got) == repr(expected), value  # repr: a decoded "NaN" is nan, never == itself
        errors += expected[0] == "error"
    assert errors  # the generator does reach the error paths


def test_unchanged_documents_are_not_copied() -> None:
    op = services.operation_model("dynamodb", "PutItem")
    assert op is not None and op.input_shape is not None
    decoder = json_decoder(op.input_shape)
    assert decoder is not None
    plain = {"TableName": "t", "Item": {"pk": {"S": "a"}, "m": {"M": {"n": {"N": "1"}}}}}
    assert decoder(plain) is plain
    with_blob: dict[str, Any] = {"TableName": "t", "Item": {"pk": {"S": "a"}, "b": {"B": base64.b64encode(b"\x00\x01").decode()}}}
    out = decoder(with_blob)
    assert out["Item"]["b"] == {"B": b"\x00\x01"}
    assert out["Item"]["pk"] is with_blob["Item"]["pk"]
    assert with_blob["Item"]["b"]["B"] == "AAE="  # the input is left as it was


@pytest.mark.parametrize(
    ("service", "operation", "value"),
    [
        # Expression holds And/Or/Not of Expressions; SearchExpression holds SubExpressions.
        ("ce", "GetCostAndUsage", {"Filter": {"And": [{"Not": {"Dimensions": {"Key": "SERVICE", "Values": ["x"]}}}]}}),
        ("sagemaker", "Search", {"SearchExpression": {"SubExpressions": [{"Filters": [{"Name": "a"}]}]}}),
    ],
)
def test_recursive_shapes_compile(service: str, operation: str, value: dict[str, Any]) -> None:
    """Botocore builds new Shape objects on each read of ``members``: a recursive shape must be
    known by its name, or walking it never ends (a 500 on every such call, and a half-built
    decoder left behind for the next one)."""
    shape = services.operation_model(service, operation).input_shape
    for _ in range(2):
        decoder = json_decoder(shape)
        assert decoder is not None
        assert decoder(copy.deepcopy(value)) == value
    assert decode_json_value(shape, copy.deepcopy(value)) == value
