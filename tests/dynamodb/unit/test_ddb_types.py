"""Unit tests of emulator.dynamodb.types: validation, numbers, ordering, equality, sizes."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from emulator.dynamodb import types
from emulator.errors import AwsError


def message(fn, *args, **kwargs) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(AwsError) as info:
        fn(*args, **kwargs)
    assert info.value.code == "ValidationException"
    assert info.value.status == 400
    return info.value.message


# --------------------------------------------------------------------------- validate_value


@pytest.mark.parametrize(
    "av",
    [
        {"S": "x"},
        {"S": ""},
        {"N": "1"},
        {"N": "-1.5e10"},
        {"B": b"\x00\x01"},
        {"BOOL": False},
        {"NULL": True},
        {"M": {"a": {"S": "b"}, "": {"N": "1"}}},
        {"L": [{"S": "a"}, {"L": []}, {"M": {}}]},
        {"SS": ["a", "b"]},
        {"NS": ["1", "2.5"]},
        {"BS": [b"a", b"b"]},
    ],
)
def test_valid_values(av: dict) -> None:
    types.validate_value(av)


def test_empty_attribute_value() -> None:
    assert message(types.validate_value, {}) == "Supplied AttributeValue is empty, must contain exactly one of the supported datatypes"


def test_two_datatypes() -> None:
    assert message(types.validate_value, {"S": "a", "N": "1"}) == (
        "Supplied AttributeValue has more than one datatypes set, must contain exactly one of the supported datatypes"
    )


@pytest.mark.parametrize(
    ("av", "expected"),
    [
        ({"SS": []}, "One or more parameter values were invalid: An string set  may not be empty"),
        ({"NS": []}, "One or more parameter values were invalid: An number set  may not be empty"),
        ({"BS": []}, "One or more parameter values were invalid: Binary sets should not be empty"),
    ],
)
def test_empty_sets(av: dict, expected: str) -> None:
    assert message(types.validate_value, av) == expected


def test_duplicates_in_sets() -> None:
    assert "Input collection [a, a] contains duplicates." in message(types.validate_value, {"SS": ["a", "a"]})
    # Numerically equal numbers are duplicates too.
    assert "contains duplicates" in message(types.validate_value, {"NS": ["1", "1.0"]})
    assert "contains duplicates" in message(types.validate_value, {"BS": [b"x", b"x"]})


def test_duplicates_nested_in_map() -> None:
    assert "contains duplicates" in message(types.validate_value, {"M": {"a": {"L": [{"SS": ["z", "z"]}]}}})


def test_null_must_be_true() -> None:
    assert "Null attribute value types must have the value of true" in message(types.validate_value, {"NULL": False})


@pytest.mark.parametrize("text", ["abc", "", "1..2", "1e", " 1", "1 ", "NaN", "Infinity", "0x10", "--1", "1e1.5"])
def test_invalid_numbers(text: str) -> None:
    assert message(types.validate_value, {"N": text}) == "A value provided cannot be converted into a number"


def test_number_limits() -> None:
    types.validate_value({"N": "9.9999999999999999999999999999999999999E+125"})
    types.validate_value({"N": "-9.9999999999999999999999999999999999999E+125"})
    types.validate_value({"N": "1E-130"})
    types.validate_value({"N": "1" * 38})
    # Trailing and leading zeros aren't significant.
    types.validate_value({"N": "000" + "1" * 38 + "000000"})
    assert message(types.validate_value, {"N": "1E+126"}) == "Number overflow. Attempting to store a number with magnitude larger than supported range"
    assert message(types.validate_value, {"N": "1E-131"}) == "Number underflow. Attempting to store a number with magnitude smaller than supported range"
    assert message(types.validate_value, {"N": "1" * 39}) == "Attempting to store more than 38 significant digits in a Number"
    assert "Number overflow" in message(types.validate_value, {"NS": ["1", "1e999999999999"]})
    # Digits are counted exactly, even where rounding to a wide precision would hide them.
    assert "38 significant digits" in message(types.validate_value, {"N": "0." + "9" * 200_001})
    assert "38 significant digits" in message(types.validate_value, {"N": "1" + "0" * 50 + "1"})


def test_nesting_depth() -> None:
    av: dict = {"S": "leaf"}
    for _ in range(32):
        av = {"M": {"a": av}}
    types.validate_value(av)
    assert message(types.validate_value, {"L": [av]}) == "Nesting Levels have exceeded supported limits"


def test_validate_item() -> None:
    types.validate_item({"a": {"S": "x"}, "b": {"N": "2"}})
    assert "more than one datatypes" in message(types.validate_item, {"a": {"S": "x", "BOOL": True}})


# --------------------------------------------------------------------------- numbers


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("1.50", "1.5"),
        ("-0", "0"),
        ("0.000", "0"),
        ("1e2", "100"),
        ("1E+2", "100"),
        ("+7", "7"),
        ("007", "7"),
        (".5", "0.5"),
        ("5.", "5"),
        ("-12.3400", "-12.34"),
        ("1.5e-3", "0.0015"),
        ("123456789012345678901234567890.12345678", "123456789012345678901234567890.12345678"),
    ],
)
def test_normalize_number(text: str, canonical: str) -> None:
    assert types.normalize_number(text) == canonical


def test_to_decimal_is_exact() -> None:
    value = types.to_decimal("0.1")
    assert isinstance(value, Decimal)
    assert value + types.to_decimal("0.2") == Decimal("0.3")
    assert types.to_decimal("12345678901234567890123456789012345678") == Decimal(12345678901234567890123456789012345678)


def test_add_numbers() -> None:
    assert types.add_numbers("0.1", "0.2") == "0.3"
    assert types.add_numbers("5", "7", subtract=True) == "-2"
    assert types.add_numbers("1.5", "-1.5") == "0"
    assert "38 significant digits" in message(types.add_numbers, "1" * 38, "0.1")
    assert "Number overflow" in message(types.add_numbers, "9.9999999999999999999999999999999999999E+125", "1E+125")


@given(st.decimals(allow_nan=False, allow_infinity=False, places=None).filter(lambda d: d.is_zero() or -130 <= d.adjusted() <= 125))
def test_normalize_number_roundtrip(value: Decimal) -> None:
    text = str(value)
    digits = len(value.normalize(types._WIDE).as_tuple().digits)
    if digits > 38:
        assert "38 significant digits" in message(types.normalize_number, text)
        return
    canonical = types.normalize_number(text)
    assert Decimal(canonical) == value
    # Canonical form is a fixed point and has no exponent or trailing zeros after the point.
    assert types.normalize_number(canonical) == canonical
    assert "E" not in canonical and "e" not in canonical
    if "." in canonical:
        assert not canonical.endswith("0")
    assert canonical != "-0"


# --------------------------------------------------------------------------- compare / equals


def test_compare_strings_by_utf8_bytes() -> None:
    assert types.compare({"S": "a"}, {"S": "b"}) == -1
    assert types.compare({"S": "b"}, {"S": "a"}) == 1
    assert types.compare({"S": "a"}, {"S": "a"}) == 0
    # U+FF5E (3 bytes in UTF-8) sorts after U+1F600 (4 bytes) in UTF-16, but before it in UTF-8.
    assert types.compare({"S": "\uff5e"}, {"S": "\U0001f600"}) == -1
    assert types.compare({"S": "Z"}, {"S": "a"}) == -1


def test_compare_numbers_numerically() -> None:
    assert types.compare({"N": "10"}, {"N": "9"}) == 1
    assert types.compare({"N": "1.0"}, {"N": "1"}) == 0
    assert types.compare({"N": "-5"}, {"N": "1e-100"}) == -1


def test_compare_binary_bytewise() -> None:
    assert types.compare({"B": b"\x01"}, {"B": b"\xff"}) == -1
    assert types.compare({"B": b"\x01\x00"}, {"B": b"\x01"}) == 1


def test_compare_types_differ_or_unordered() -> None:
    assert types.compare({"S": "1"}, {"N": "1"}) is None
    assert types.compare({"BOOL": True}, {"BOOL": True}) is None
    assert types.compare({"SS": ["a"]}, {"SS": ["a"]}) is None


def test_equals() -> None:
    assert types.equals({"N": "1.0"}, {"N": "1"})
    assert types.equals({"SS": ["a", "b"]}, {"SS": ["b", "a"]})
    assert types.equals({"NS": ["1", "2"]}, {"NS": ["2.0", "1"]})
    assert not types.equals({"SS": ["a"]}, {"SS": ["a", "b"]})
    assert types.equals({"M": {"a": {"L": [{"N": "1"}]}}}, {"M": {"a": {"L": [{"N": "1.00"}]}}})
    assert not types.equals({"L": [{"N": "1"}, {"N": "2"}]}, {"L": [{"N": "2"}, {"N": "1"}]})
    assert not types.equals({"M": {"a": {"S": "x"}}}, {"M": {"a": {"S": "x"}, "b": {"S": "y"}}})
    assert not types.equals({"S": "1"}, {"N": "1"})
    assert types.equals({"NULL": True}, {"NULL": True})
    assert not types.equals({"BOOL": True}, {"BOOL": False})
    assert types.equals({"B": b"ab"}, {"B": b"ab"})


def test_type_of() -> None:
    assert types.type_of({"SS": ["a"]}) == "SS"
    assert types.type_of({"NULL": True}) == "NULL"


# --------------------------------------------------------------------------- sizes


def test_item_size() -> None:
    assert types.item_size({"a": {"S": "hello"}}) == 1 + 5
    assert types.item_size({"名": {"S": "é"}}) == 3 + 2
    assert types.item_size({"b": {"B": b"\x00" * 10}}) == 1 + 10
    assert types.item_size({"t": {"BOOL": True}, "n": {"NULL": True}}) == 2 + 2
    assert types.item_size({"n": {"N": "12345"}}) == 1 + 4  # 5 digits -> 3 bytes + 1
    assert types.item_size({"s": {"SS": ["ab", "c"]}}) == 1 + 3
    # Maps and lists: 3 bytes + per element (name +) value + 1 byte.
    assert types.item_size({"m": {"M": {"k": {"S": "vv"}}}}) == 1 + 3 + (1 + 2 + 1)
    assert types.item_size({"l": {"L": [{"S": "x"}, {"S": "yy"}]}}) == 1 + 3 + (1 + 1) + (2 + 1)
    assert types.item_size({}) == 0


def test_normalize_item() -> None:
    item: dict = {"n": {"N": "1.50"}, "ns": {"NS": ["1e1"]}, "m": {"M": {"x": {"L": [{"N": "-0"}]}}}}
    assert types.normalize_item(item) == {"n": {"N": "1.5"}, "ns": {"NS": ["10"]}, "m": {"M": {"x": {"L": [{"N": "0"}]}}}}


# --------------------------------------------------------------------------- one walk for both

_numbers = st.sampled_from(["0", "-0", "1", "10", "1.50", "-12.5e3", "0.000100", "1E+5", "99999999999999999999999999999999999999", "-1e-130"])
_names = st.text(min_size=1, max_size=4)
_scalar = st.one_of(
    st.text(max_size=6).map(lambda s: {"S": s}),
    _numbers.map(lambda n: {"N": n}),
    st.binary(max_size=4).map(lambda b: {"B": b}),
    st.booleans().map(lambda b: {"BOOL": b}),
    st.just({"NULL": True}),
    st.lists(st.text(max_size=4), min_size=1, max_size=3, unique=True).map(lambda v: {"SS": v}),
    st.lists(st.sampled_from(["1", "2.5", "-3", "4e2"]), min_size=1, max_size=3, unique=True).map(lambda v: {"NS": v}),
    st.lists(st.binary(min_size=1, max_size=3), min_size=1, max_size=3, unique=True).map(lambda v: {"BS": v}),
)
_value = st.recursive(
    _scalar,
    lambda inner: st.one_of(st.lists(inner, max_size=3).map(lambda v: {"L": v}), st.dictionaries(_names, inner, max_size=3).map(lambda v: {"M": v})),
    max_leaves=12,
)


@given(st.dictionaries(_names, _value, min_size=1, max_size=5))
def test_normalized_sized_item_is_normalize_then_size(item: dict) -> None:  # type: ignore[type-arg]
    types.validate_item(item)
    normalized, size = types.normalized_sized_item(item)
    assert normalized == types.normalize_item(item)
    assert size == types.item_size(types.normalize_item(item))
