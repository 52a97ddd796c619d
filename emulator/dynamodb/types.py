"""DynamoDB's value types: validation, numbers, comparison, equality and item size.

Items are DynamoDB JSON as on the wire: ``dict[str, AttributeValue]`` where an
AttributeValue is a one-key dict such as ``{"S": "x"}`` or ``{"N": "1.5"}``
(blobs are already ``bytes``; the json protocol decodes base64).

Numbers are never floats: DynamoDB numbers are decimals with up to 38
significant digits and magnitudes between 1E-130 and 9.99...E+125
(https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/HowItWorks.NamingRulesDataTypes.html#HowItWorks.DataTypes.Number).
"""

from __future__ import annotations

import base64
import decimal
import re
from decimal import Decimal
from typing import Any

from emulator.errors import AwsError

AttributeValue = dict[str, Any]
Item = dict[str, AttributeValue]

SCALAR_TYPES = frozenset({"S", "N", "B"})
SET_TYPES = frozenset({"SS", "NS", "BS"})
ALL_TYPES = frozenset({"S", "N", "B", "BOOL", "NULL", "M", "L", "SS", "NS", "BS"})
# The element type of each set type.
SET_ELEMENT = {"SS": "S", "NS": "N", "BS": "B"}

MAX_DIGITS = 38
MAX_EXPONENT = 125  # largest adjusted exponent: 9.99..E+125
MIN_EXPONENT = -130  # smallest adjusted exponent: 1E-130
# "DynamoDB supports nested attributes up to 32 levels deep."
MAX_NESTING = 32

# Wide enough to normalize any accepted literal exactly.
_WIDE = decimal.Context(prec=100_000, Emax=decimal.MAX_EMAX, Emin=decimal.MIN_EMIN)

# Java's BigDecimal grammar (what DynamoDB accepts): optional sign, digits with an
# optional point, optional exponent. No whitespace, no Infinity/NaN.
_NUMBER_RE = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


# Plain integers already in canonical form ("0", "-12", "1200"; at most 38 digits): most
# numbers on the wire. They are valid and their own normalized text, so the Decimal
# round trip (the bulk of an item's validation cost) is skipped for them.
_CANONICAL_INT_RE = re.compile(r"0|-?[1-9]\d{0,37}")
# Plain decimals without exponent: significant digits can be counted on the text.
_PLAIN_NUMBER_RE = re.compile(r"-?\d+(?:\.\d+)?")
# A plain decimal already in the canonical form DynamoDB answers (no exponent, no leading
# or trailing zeros): what SDKs send for floats (embeddings are lists of hundreds of them).
_CANONICAL_DEC_RE = re.compile(r"-?(?:0|[1-9]\d*)\.\d*[1-9]")


def _invalid(message: str) -> AwsError:
    return AwsError("ValidationException", message, 400)


def type_of(av: AttributeValue) -> str:
    """The type tag of an AttributeValue ("S", "N", ...)."""
    for key in av:
        return key
    raise _invalid("Supplied AttributeValue is empty, must contain exactly one of the supported datatypes")


def as_bytes(value: Any) -> bytes:
    """Blob payloads are bytes from the json protocol; tolerate base64 text from direct callers."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, bytearray | memoryview):
        return bytes(value)
    if isinstance(value, str):
        try:
            return base64.b64decode(value, validate=True)
        except ValueError:
            return value.encode()
    raise _invalid("Supplied AttributeValue has an invalid binary value")


# --------------------------------------------------------------------------- numbers


def _parse_number(text: Any) -> Decimal:
    if not isinstance(text, str) or not _NUMBER_RE.fullmatch(text):
        raise _invalid("A value provided cannot be converted into a number")
    return Decimal(text)


def _canonical_decimal(text: str) -> bool:
    """Whether ``text`` is a canonical plain decimal within DynamoDB's limits, so that the
    Decimal path (parse, limits, normalize, format) would give it back unchanged.
    At most 40 characters keeps the exponent far inside its range (+125 / -130)."""
    if len(text) > 40 or not _CANONICAL_DEC_RE.fullmatch(text):
        return False
    whole, _, fraction = text.lstrip("-").partition(".")
    significant = len(whole) + len(fraction) if whole != "0" else len(fraction.lstrip("0"))
    return significant <= MAX_DIGITS


def check_number(value: Decimal) -> Decimal:
    """Apply DynamoDB's precision and range limits to an (exact) decimal; returns it normalized."""
    if value.is_zero():
        return Decimal(0)
    # Count significant digits on the exact digit tuple (normalizing first could round).
    digits = "".join(map(str, value.as_tuple().digits)).strip("0")
    if value.adjusted() > MAX_EXPONENT:
        raise _invalid("Number overflow. Attempting to store a number with magnitude larger than supported range")
    if value.adjusted() < MIN_EXPONENT:
        raise _invalid("Number underflow. Attempting to store a number with magnitude smaller than supported range")
    if len(digits) > MAX_DIGITS:
        raise _invalid("Attempting to store more than 38 significant digits in a Number")
    return value.normalize(_WIDE)


def to_decimal(text: str) -> Decimal:
    """The exact value of a DynamoDB number string (validated); never a float."""
    return check_number(_parse_number(text))


def format_decimal(value: Decimal) -> str:
    """The canonical text DynamoDB returns for a number: no exponent, no trailing zeros."""
    if value.is_zero():
        return "0"
    text = format(value.normalize(_WIDE), "f")
    return text


def normalize_number(text: str) -> str:
    """Canonical form of a number string: "1.50" -> "1.5", "-0" -> "0", "1e2" -> "100"."""
    if type(text) is str and (_CANONICAL_INT_RE.fullmatch(text) or _canonical_decimal(text)):
        return text
    return format_decimal(to_decimal(text))


def number_result(value: Decimal) -> str:
    """Validate the result of arithmetic and return its canonical text."""
    return format_decimal(check_number(value))


def add_numbers(a: str, b: str, subtract: bool = False) -> str:
    """``a + b`` (or ``a - b``) with DynamoDB's 38-digit precision."""
    x, y = to_decimal(a), to_decimal(b)
    # The explicit wide context keeps the result exact (the thread's default context rounds to 28 digits).
    exact = _WIDE.subtract(x, y) if subtract else _WIDE.add(x, y)
    # DynamoDB refuses (rather than rounds) results that need more than 38 digits.
    return number_result(exact)


# --------------------------------------------------------------------------- validation


def _empty_set_message(kind: str) -> str:
    # AWS's wording, including the double space and the grammar.
    if kind == "SS":
        return "One or more parameter values were invalid: An string set  may not be empty"
    if kind == "NS":
        return "One or more parameter values were invalid: An number set  may not be empty"
    return "One or more parameter values were invalid: Binary sets should not be empty"


def _duplicates_message(kind: str, values: list[Any]) -> str:
    # AWS words each set type differently (dynalite copied the three), the missing space
    # before "of type BS" included.
    if kind == "NS":
        return "Input collection contains duplicates"
    if kind == "BS":
        return f"One or more parameter values were invalid: Input collection {_set_repr(kind, values)}of type BS contains duplicates."
    return f"One or more parameter values were invalid: Input collection {_set_repr(kind, values)} contains duplicates."


def _set_repr(kind: str, values: list[Any]) -> str:
    if kind == "BS":
        shown = [base64.b64encode(as_bytes(v)).decode() for v in values]
    else:
        shown = [str(v) for v in values]
    return "[" + ", ".join(shown) + "]"


def validate_value(av: Any, *, depth: int = 0) -> None:
    """AWS's checks of one AttributeValue (recursively), raising ValidationException."""
    if not isinstance(av, dict) or not av:
        raise _invalid("Supplied AttributeValue is empty, must contain exactly one of the supported datatypes")
    present = [k for k, v in av.items() if v is not None]
    if len(present) > 1:
        raise _invalid("Supplied AttributeValue has more than one datatypes set, must contain exactly one of the supported datatypes")
    if not present or present[0] not in ALL_TYPES:
        raise _invalid("Supplied AttributeValue is empty, must contain exactly one of the supported datatypes")
    if len(present) != len(av):
        # A JSON null member is an unset one ({"S": "x", "SS": null} is {"S": "x"}): dropped
        # here, so that everything after validation sees one member (type_of takes the first).
        for unset in [name for name, member in av.items() if member is None]:
            del av[unset]
    kind = present[0]
    value = av[kind]
    if kind == "S":
        if not isinstance(value, str):
            raise _invalid("Supplied AttributeValue has an invalid string value")
    elif kind == "N":
        if type(value) is not str or not (_CANONICAL_INT_RE.fullmatch(value) or _canonical_decimal(value)):
            to_decimal(value)
    elif kind == "B":
        as_bytes(value)
    elif kind == "BOOL":
        if not isinstance(value, bool):
            raise _invalid("Supplied AttributeValue has an invalid boolean value")
    elif kind == "NULL":
        if value is not True:
            raise _invalid("One or more parameter values were invalid: Null attribute value types must have the value of true")
    elif kind in SET_TYPES:
        if not isinstance(value, list):
            raise _invalid("Supplied AttributeValue has an invalid set value")
        if not value:
            raise _invalid(_empty_set_message(kind))
        keys: set[Any] = set()
        for element in value:
            if kind == "SS":
                if not isinstance(element, str):
                    raise _invalid("Supplied AttributeValue has an invalid string value")
                key: Any = element
            elif kind == "NS":
                key = to_decimal(element)
            else:
                key = as_bytes(element)
            keys.add(key)
        if len(keys) != len(value):
            raise _invalid(_duplicates_message(kind, value))
    elif kind in ("M", "L"):
        if depth + 1 > MAX_NESTING:
            raise _invalid("Nesting Levels have exceeded supported limits")
        if kind == "M":
            if not isinstance(value, dict):
                raise _invalid("Supplied AttributeValue has an invalid map value")
            for child in value.values():
                validate_value(child, depth=depth + 1)
        else:
            if not isinstance(value, list):
                raise _invalid("Supplied AttributeValue has an invalid list value")
            for child in value:
                validate_value(child, depth=depth + 1)


def nesting_depth(av: AttributeValue) -> int:
    """Levels of maps/lists in a value: 0 for scalars and sets, 1 for a flat map or list."""
    kind = type_of(av)
    if kind == "M":
        return 1 + max((nesting_depth(v) for v in av["M"].values()), default=0)
    if kind == "L":
        return 1 + max((nesting_depth(v) for v in av["L"]), default=0)
    return 0


def validate_item(item: Any, *, where: str = "Item") -> None:
    """Validate every attribute of an item; ``where`` names the parameter in messages."""
    if not isinstance(item, dict):
        raise _invalid(f"One or more parameter values were invalid: {where} must be a map")
    for name, av in item.items():
        if not isinstance(name, str) or name == "":
            raise _invalid("One or more parameter values were invalid: An AttributeValue may not contain an empty string as attribute name")
        validate_value(av)


def normalize_value(av: AttributeValue) -> AttributeValue:
    """A copy with numbers in canonical form (what DynamoDB stores and returns)."""
    kind = type_of(av)
    value = av[kind]
    if kind == "N":
        return {"N": normalize_number(value)}
    if kind == "NS":
        return {"NS": [normalize_number(v) for v in value]}
    if kind == "M":
        return {"M": {k: normalize_value(v) for k, v in value.items()}}
    if kind == "L":
        return {"L": [normalize_value(v) for v in value]}
    if kind in ("SS", "BS"):
        return {kind: list(value)}
    return {kind: value}


def copy_value(av: AttributeValue) -> AttributeValue:
    """A deep copy of a value; much cheaper than copy.deepcopy since scalars are immutable."""
    for kind, value in av.items():
        if kind == "M":
            return {"M": {k: copy_value(v) for k, v in value.items()}}
        if kind == "L":
            return {"L": [copy_value(v) for v in value]}
        if kind in SET_TYPES:
            return {kind: list(value)}
        return {kind: value}
    return {}


def copy_item(item: Item) -> Item:
    return {name: copy_value(av) for name, av in item.items()}


def normalize_item(item: Item) -> Item:
    return {name: normalize_value(av) for name, av in item.items()}


# --------------------------------------------------------------------------- ordering and equality


def compare(a: AttributeValue, b: AttributeValue) -> int | None:
    """-1/0/1 for two scalars (S, N, B) of the same type; None when types differ or aren't ordered.

    Strings order by their UTF-8 bytes, numbers numerically, binary bytewise
    (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.OperatorsAndFunctions.html#Expressions.OperatorsAndFunctions.Comparators).
    """
    ta, tb = type_of(a), type_of(b)
    if ta != tb or ta not in SCALAR_TYPES:
        return None
    x: Any
    y: Any
    if ta == "S":
        x, y = a["S"].encode("utf-8"), b["S"].encode("utf-8")
    elif ta == "N":
        x, y = _parse_number(a["N"]), _parse_number(b["N"])
    else:
        x, y = as_bytes(a["B"]), as_bytes(b["B"])
    return (x > y) - (x < y)


def _set_key(kind: str, element: Any) -> Any:
    if kind == "NS":
        return _parse_number(element).normalize(_WIDE)
    if kind == "BS":
        return as_bytes(element)
    return element


def set_keys(av: AttributeValue) -> set[Any]:
    """The elements of a set value as hashable, comparable Python values."""
    kind = type_of(av)
    return {_set_key(kind, e) for e in av[kind]}


def equals(a: AttributeValue, b: AttributeValue) -> bool:
    """Deep equality: sets as sets, numbers numerically, maps and lists element-wise."""
    ta, tb = type_of(a), type_of(b)
    if ta != tb:
        return False
    x, y = a[ta], b[tb]
    if ta == "N":
        return bool(_parse_number(x) == _parse_number(y))
    if ta == "B":
        return as_bytes(x) == as_bytes(y)
    if ta in SET_TYPES:
        return set_keys(a) == set_keys(b)
    if ta == "L":
        return len(x) == len(y) and all(equals(p, q) for p, q in zip(x, y, strict=True))
    if ta == "M":
        return x.keys() == y.keys() and all(equals(v, y[k]) for k, v in x.items())
    return bool(x == y)


# --------------------------------------------------------------------------- sizes


def _centesimal_size(digits: int, exponent: int, negative: bool) -> int:
    """Bytes of a nonzero number: its significant digits in base-100 pairs aligned on the
    decimal point (an even count starting at an even power of ten takes one pair more),
    one byte of exponent, and one more for negatives; what AWS meters (dynalite, whose
    tests run against AWS, measures the same)."""
    return 1 + (digits + 1) // 2 + (1 if digits % 2 == 0 and exponent % 2 == 0 else 0) + (1 if negative else 0)


def _number_size(text: str) -> int:
    if _PLAIN_NUMBER_RE.fullmatch(text):
        # On the plain text: significant digits without sign, point, leading or trailing
        # zeros (what Decimal.normalize() keeps), and the power of ten of the first one.
        whole, _, fraction = text.lstrip("-").partition(".")
        whole = whole.lstrip("0")
        if whole:
            return _centesimal_size(len((whole + fraction).rstrip("0")), len(whole) - 1, text[0] == "-")
        stripped = fraction.lstrip("0")
        if not stripped:
            return 1  # zero
        return _centesimal_size(len(stripped.rstrip("0")), len(stripped) - len(fraction) - 1, text[0] == "-")
    value = _parse_number(text)
    if value.is_zero():
        return 1
    return _centesimal_size(len(value.normalize(_WIDE).as_tuple().digits), value.adjusted(), value < 0)


def value_size(av: AttributeValue) -> int:
    """Bytes of one value as DynamoDB counts them
    (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html)."""
    kind = type_of(av)
    value = av[kind]
    if kind == "S":
        return len(value) if value.isascii() else len(value.encode("utf-8"))
    if kind == "N":
        return _number_size(value)
    if kind == "B":
        return len(as_bytes(value))
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(v.encode("utf-8")) for v in value)
    if kind == "NS":
        return sum(_number_size(v) for v in value)
    if kind == "BS":
        return sum(len(as_bytes(v)) for v in value)
    if kind == "M":
        # 3 bytes of overhead, plus each element's name, value and 1 byte.
        return 3 + sum(len(k.encode("utf-8")) + value_size(v) + 1 for k, v in value.items())
    # L
    return 3 + sum(value_size(v) + 1 for v in value)


def item_size(item: Item) -> int:
    """Bytes of an item: the UTF-8 length of each attribute name plus its value's size."""
    return sum(len(name.encode("utf-8")) + value_size(av) for name, av in item.items())


def normalized_sized_value(av: AttributeValue) -> tuple[AttributeValue, int]:
    """``(normalize_value(av), value_size(that))`` in one walk of a validated value."""
    kind = type_of(av)
    value = av[kind]
    if kind == "S":
        return {"S": value}, len(value) if value.isascii() else len(value.encode("utf-8"))
    if kind == "N":
        text = normalize_number(value)
        return {"N": text}, _number_size(text)
    if kind == "M":
        out: dict[str, AttributeValue] = {}
        size = 3
        for k, v in value.items():
            nv, vs = normalized_sized_value(v)
            out[k] = nv
            size += len(k.encode("utf-8")) + vs + 1
        return {"M": out}, size
    if kind == "L":
        items: list[AttributeValue] = []
        size = 3
        for v in value:
            nv, vs = normalized_sized_value(v)
            items.append(nv)
            size += vs + 1
        return {"L": items}, size
    normalized = normalize_value(av)
    return normalized, value_size(normalized)


def normalized_sized_item(item: Item) -> tuple[Item, int]:
    """``(normalize_item(item), item_size(that))`` in one walk of a validated item: a
    PutItem's item is walked once for both instead of twice."""
    out: Item = {}
    size = 0
    for name, av in item.items():
        nv, vs = normalized_sized_value(av)
        out[name] = nv
        size += (len(name) if name.isascii() else len(name.encode("utf-8"))) + vs
    return out, size


# --------------------------------------------------------------------------- one walk


def prepared_item(item: Any) -> tuple[Item, int] | None:
    """``normalized_sized_item(item)`` for an item that passes every check made of it before
    (wire.py's JSON types, then ``validate_item``), found in one walk instead of three;
    None when anything in it is wrong or unusual.

    None promises nothing: the caller then runs the separate checks, which word each error
    and pick the one that wins exactly as before. A result promises that those checks pass
    and gives exactly what they then give, so only plain, valid values are taken here (a
    dict subclass, a string that is not UTF-8 or an invalid number goes the long way)."""
    if type(item) is not dict:
        return None
    out: Item = {}
    size = 0
    for name, av in item.items():
        if type(name) is not str or not name:
            return None
        if type(av) is dict and len(av) == 1 and type(text := av.get("S")) is str and text.isascii():
            # The commonest value, without a call: an ASCII string.
            out[name] = {"S": text}
            value_size = len(text)
        else:
            got = _prepared_value(av, 0)
            if got is None:
                return None
            out[name], value_size = got
        if name.isascii():
            size += len(name) + value_size
        else:
            try:
                size += len(name.encode("utf-8")) + value_size
            except UnicodeEncodeError:
                return None
    return out, size


def _prepared_value(av: Any, depth: int) -> tuple[AttributeValue, int] | None:
    """One value of ``prepared_item``: (normalized copy, size) or None."""
    if type(av) is not dict or len(av) != 1:
        return None
    [(kind, value)] = av.items()
    if kind == "S":
        if type(value) is not str:
            return None
        if value.isascii():
            return {"S": value}, len(value)
        try:
            return {"S": value}, len(value.encode("utf-8"))
        except UnicodeEncodeError:
            return None
    if kind == "N":
        if type(value) is not str:
            return None
        if _CANONICAL_INT_RE.fullmatch(value):
            # _number_size of a canonical integer, on its text: significant digits are
            # those before the trailing zeros, the first at 10**(length - 1).
            if value == "0":
                return {"N": value}, 1
            negative = 1 if value[0] == "-" else 0
            digits = len(value.rstrip("0")) - negative
            # One pair more for an even count of digits from an even power of ten
            # (10**(length - 1): an odd length).
            extra = 1 if digits % 2 == 0 and (len(value) - negative) % 2 == 1 else 0
            return {"N": value}, (digits + 1) // 2 + extra + 1 + negative
        try:
            text = normalize_number(value)
        except (AwsError, ArithmeticError, ValueError, TypeError):  # the separate checks word it
            return None
        return {"N": text}, _number_size(text)
    if kind == "M":
        if type(value) is not dict or depth >= MAX_NESTING:
            return None
        members: dict[str, AttributeValue] = {}
        size = 3
        for k, v in value.items():
            if type(k) is not str:
                return None
            got = _prepared_value(v, depth + 1)
            if got is None:
                return None
            members[k] = got[0]
            if k.isascii():
                size += len(k) + got[1] + 1
            else:
                try:
                    size += len(k.encode("utf-8")) + got[1] + 1
                except UnicodeEncodeError:
                    return None
        return {"M": members}, size
    if kind == "L":
        if type(value) is not list or depth >= MAX_NESTING:
            return None
        elements: list[AttributeValue] = []
        size = 3
        for v in value:
            got = _prepared_value(v, depth + 1)
            if got is None:
                return None
            elements.append(got[0])
            size += got[1] + 1
        return {"L": elements}, size
    if kind == "BOOL":
        return ({"BOOL": value}, 1) if type(value) is bool else None
    if kind == "NULL":
        return ({"NULL": True}, 1) if value is True else None
    if kind == "B":
        return ({"B": value}, len(value)) if type(value) is bytes else None
    if kind in SET_TYPES:
        # Rare enough to take the separate walks, here on one value: wire.py's JSON
        # types of a set (a list; strings in SS and NS), then DynamoDB's rules.
        if type(value) is not list:
            return None
        if kind != "BS":
            for element in value:
                if type(element) is not str:
                    return None
        try:
            validate_value(av, depth=depth)
            return normalized_sized_value(av)
        except (AwsError, ArithmeticError, ValueError, TypeError):  # the separate checks word it
            return None
    return None
