"""Order-preserving, prefix-free binary encoding of DynamoDB key values.

Storage engines keep items in a B-tree ordered by ``(table, index, pk, sk)``
bytes, so a Query on one partition with a sort-key condition becomes a range
scan in key order. For that the byte order of an encoded value must equal
DynamoDB's order of the values:

* S: UTF-8 bytes compared bytewise (DynamoDB compares strings by their UTF-8
  encoding), B: unsigned bytes compared bytewise.
* N: numeric order over decimals of up to 38 significant digits with an
  exponent range of -130..+125.

Encodings are *prefix free* (no encoding is a prefix of another), so encoded
values concatenate into composite keys (index sort key + table key) whose byte
order is the lexicographic order of the parts.

S/B: ``0x00`` is escaped as ``0x00 0xFF`` and the value ends with ``0x00 0x00``.
N:   one sign byte (0x01 negative, 0x02 zero, 0x03 positive); then for non-zero
     values a 2-byte biased exponent and base-100 mantissa digits (1..100) ended
     by 0x00; negative numbers have exponent and mantissa bytes inverted, so the
     larger magnitude sorts first.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

_TERM = b"\x00\x00"
_EXP_BIAS = 0x8000


def escape_bytes(raw: bytes) -> bytes:
    """The escaped body of an S/B value, without terminator (used for begins_with prefixes)."""
    if b"\x00" in raw:
        return raw.replace(b"\x00", b"\x00\xff")
    return raw


def encode_bytes(raw: bytes) -> bytes:
    return escape_bytes(raw) + _TERM


def encode_number(text: str | Decimal) -> bytes:
    try:
        value = text if isinstance(text, Decimal) else Decimal(text)
    except InvalidOperation as exc:
        raise ValueError(f"not a number: {text!r}") from exc
    if not value.is_finite():
        raise ValueError(f"not a finite number: {text!r}")
    if value.is_zero():
        return b"\x02"
    sign, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)
    # Strip trailing zeros so equal numbers (1, 1.0, 10E-1) encode identically.
    ds = list(digits)
    while ds and ds[-1] == 0:
        ds.pop()
        exponent += 1
    # value = 0.d1d2d3... * 10**adjusted
    adjusted = exponent + len(ds)
    # Base 100 digits need an even exponent: shift one decimal digit when odd.
    if adjusted % 2:
        ds.insert(0, 0)
        adjusted += 1
    if len(ds) % 2:
        ds.append(0)
    pairs = bytes(ds[i] * 10 + ds[i + 1] + 1 for i in range(0, len(ds), 2))
    exp = (adjusted // 2) + _EXP_BIAS
    body = exp.to_bytes(2, "big") + pairs + b"\x00"
    if sign:
        return b"\x01" + bytes(255 - b for b in body)
    return b"\x03" + body


def encode_key_value(av: dict[str, Any]) -> bytes:
    """Encode one key AttributeValue (``{"S": ...}``, ``{"N": ...}`` or ``{"B": ...}``)."""
    if "S" in av:
        return encode_bytes(av["S"].encode("utf-8"))
    if "N" in av:
        return encode_number(av["N"])
    if "B" in av:
        value = av["B"]
        return encode_bytes(bytes(value) if not isinstance(value, str) else value.encode("utf-8"))
    raise ValueError(f"not a key attribute value: {sorted(av)}")


def encode_prefix(av: dict[str, Any]) -> bytes:
    """The byte prefix shared by every encoded S/B value that begins with ``av``."""
    if "S" in av:
        return escape_bytes(av["S"].encode("utf-8"))
    value = av["B"]
    return escape_bytes(bytes(value))


def successor(prefix: bytes) -> bytes | None:
    """The smallest byte string greater than every string that starts with ``prefix``.

    None when there is none (the prefix is all 0xFF): the range is then unbounded.
    """
    p = bytearray(prefix)
    while p and p[-1] == 0xFF:
        p.pop()
    if not p:
        return None
    p[-1] += 1
    return bytes(p)
