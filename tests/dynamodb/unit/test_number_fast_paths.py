"""The text fast paths for numbers agree with the Decimal path they skip."""

from __future__ import annotations

import random

import pytest

from emulator.dynamodb import types as t
from emulator.errors import AwsError


def _slow_size(text: str) -> int:
    value = t._parse_number(text)
    if value.is_zero():
        return 1
    # Base-100 pairs aligned on the decimal point, one byte of exponent, one for the sign.
    digits = len(value.normalize(t._WIDE).as_tuple().digits)
    pairs = (digits + 1) // 2 + (1 if digits % 2 == 0 and value.adjusted() % 2 == 0 else 0)
    return pairs + 1 + (1 if value < 0 else 0)


def _numbers() -> list[str]:
    fixed = ["0", "-0", "00", "0.0", "1", "-1", "10", "1200", "-1200", "0.05", "10.50", "100.001", "007", "1.000", "9" * 38, "9" * 39, "-" + "1" * 38, "1e5", "+3", "0001200.0100", ".5", "5.", "1E-130", "abc", ""]
    rnd = random.Random(7)
    for _ in range(3000):
        ip = "".join(rnd.choice("0123456789") for _ in range(rnd.randint(1, 42)))
        fp = "" if rnd.random() < 0.5 else "." + "".join(rnd.choice("0123456789") for _ in range(rnd.randint(1, 20)))
        fixed.append(rnd.choice(["", "-"]) + ip + fp)
    # What SDKs send for floats (embeddings): repr of doubles, tiny ones with exponents, and
    # canonical decimals at the limits (38 significant digits, 40 characters).
    for _ in range(2000):
        fixed.append(repr(rnd.uniform(-1, 1) * 10 ** rnd.randint(-12, 12)))
    fixed += ["0." + "1" * 38, "0." + "1" * 39, "0.0" + "1" * 38, "1." + "1" * 37, "1." + "1" * 38, "-0.5", "0.50", "-0.0", "0.000000000000000000000000000000000000001"]
    return fixed


def _outcome(fn: object, text: str) -> object:
    try:
        return fn(text)  # type: ignore[operator]
    except AwsError as err:
        return ("error", err.message)


@pytest.mark.parametrize("text", _numbers()[:25])
def test_fixed_cases(text: str) -> None:
    assert _outcome(t._number_size, text) == _outcome(_slow_size, text)
    assert _outcome(t.normalize_number, text) == _outcome(lambda s: t.format_decimal(t.to_decimal(s)), text)


def test_random_numbers() -> None:
    for text in _numbers():
        assert _outcome(t._number_size, text) == _outcome(_slow_size, text), text
        assert _outcome(t.normalize_number, text) == _outcome(lambda s: t.format_decimal(t.to_decimal(s)), text), text
        ok_fast = _outcome(lambda s: t.validate_value({"N": s}), text)
        ok_slow = _outcome(t.to_decimal, text)
        assert (ok_fast is None) == (not isinstance(ok_slow, tuple)), text
