"""The key encoding's order property: bytes order == DynamoDB's value order."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from emulator.dynamodb import keys

# DynamoDB numbers: up to 38 significant digits, magnitudes 1E-130 .. 9.99E+125.
numbers = st.builds(
    lambda sign, digits, exp: Decimal(f"{'-' if sign else ''}{digits}E{exp}"),
    st.booleans(),
    st.integers(min_value=0, max_value=10**38 - 1),
    st.integers(min_value=-130, max_value=88),
)


def _sign(x: int) -> int:
    return (x > 0) - (x < 0)


def _cmp(a: bytes, b: bytes) -> int:
    return (a > b) - (a < b)


@settings(max_examples=400, deadline=None)
@given(numbers, numbers)
def test_number_order(a: Decimal, b: Decimal) -> None:
    ea, eb = keys.encode_number(a), keys.encode_number(b)
    assert _cmp(ea, eb) == _sign((a > b) - (a < b))
    assert (ea == eb) == (a == b)


@settings(max_examples=400, deadline=None)
@given(st.text(), st.text())
def test_string_order(a: str, b: str) -> None:
    ea, eb = keys.encode_key_value({"S": a}), keys.encode_key_value({"S": b})
    ua, ub = a.encode(), b.encode()
    assert _cmp(ea, eb) == _cmp(ua, ub)


@settings(max_examples=300, deadline=None)
@given(st.binary(), st.binary(), st.binary(), st.binary())
def test_binary_order_and_concatenation(a: bytes, b: bytes, sa: bytes, sb: bytes) -> None:
    # Encodings are prefix free, so composite keys (index sort key + table key) order lexicographically.
    ea, eb = keys.encode_key_value({"B": a}), keys.encode_key_value({"B": b})
    assert _cmp(ea, eb) == _cmp(a, b)
    if a != b:
        assert _cmp(ea + keys.encode_bytes(sa), eb + keys.encode_bytes(sb)) == _cmp(a, b)


@settings(max_examples=300, deadline=None)
@given(st.binary(), st.binary())
def test_begins_with_prefix_range(value: bytes, prefix: bytes) -> None:
    enc = keys.encode_key_value({"B": value})
    p = keys.encode_prefix({"B": prefix})
    hi = keys.successor(p)
    inside = enc >= p and (hi is None or enc < hi)
    assert inside == value.startswith(prefix)


def test_equal_numbers_encode_equal() -> None:
    assert keys.encode_number("1") == keys.encode_number("1.0") == keys.encode_number("10E-1")
    assert keys.encode_number("0") == keys.encode_number("-0.000")
    assert keys.encode_number("-1") < keys.encode_number("-0.5") < keys.encode_number("0") < keys.encode_number("1E-130")
