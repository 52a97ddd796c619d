"""Request validation before dispatch, compiled from botocore's input shapes.

Checks what AWS's front ends check: required members, types, string/blob
lengths, patterns, enums, numeric ranges and list/map sizes, and words the
result as AWS does::

    1 validation error detected: Value 'x' at 'tableName' failed to satisfy
    constraint: Member must have length greater than or equal to 3

Member paths are lowerCamelCase, lists are 1-based with ``.member``
(``keySchema.1.member.attributeName``), as AWS's Coral front ends print them.

One checker is compiled per operation and cached, so the hot path (DynamoDB
GetItem/PutItem) is a handful of dict lookups. DynamoDB's ``AttributeValue``
(a union) is not descended into: the DynamoDB engine validates items itself.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from botocore.model import OperationModel, Shape

from emulator.errors import AwsError

log = logging.getLogger("emulator.validation")

# (kind, value, path, constraint) ; kind "null" for a missing required member.
Problem = tuple[str, Any, str, str]
Checker = Callable[[Any, str, list[Problem]], None]

# Structures that are unions of typed values; their content is the engine's business.
_OPAQUE_SHAPES = {"AttributeValue"}
_MISSING = object()


def lower_camel(name: str) -> str:
    return name[:1].lower() + name[1:] if name else name


def _java_str(value: Any) -> str:
    """Value as AWS's (Java) front end prints it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, bytes | bytearray):
        return f"java.nio.HeapByteBuffer[pos=0 lim={len(value)} cap={len(value)}]"
    if isinstance(value, list):
        return "[" + ", ".join(_java_str(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={_java_str(v)}" for k, v in value.items()) + "}"
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return str(value)


_PATTERNS: dict[str, re.Pattern[str] | None] = {}


def _compile_pattern(pattern: str) -> re.Pattern[str] | None:
    """botocore's patterns are Java regexes: compile what Python understands, skip the rest."""
    if pattern in _PATTERNS:
        return _PATTERNS[pattern]
    compiled: re.Pattern[str] | None
    try:
        if "\\p{" in pattern or "\\P{" in pattern or "(?<" in pattern and "(?<=" not in pattern and "(?<!" not in pattern:
            raise re.error("java-only construct")
        compiled = re.compile(pattern, re.DOTALL)
    except (re.error, RecursionError, OverflowError):
        log.debug("skipping pattern Python cannot compile: %r", pattern)
        compiled = None
    _PATTERNS[pattern] = compiled
    return compiled


def _num_str(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _check_length(n: int, lo: int | None, hi: int | None, value: Any, path: str, problems: list[Problem]) -> None:
    """AWS's length constraint wording, shared by strings, blobs, lists and maps."""
    if lo is not None and n < lo:
        problems.append(("value", value, path, f"Member must have length greater than or equal to {lo}"))
    if hi is not None and n > hi:
        problems.append(("value", value, path, f"Member must have length less than or equal to {hi}"))


# What some compiled checkers check, so that a map of them can make the same checks
# inline on the common, valid entry: strings with only a length limit (lo, hi), and
# values only checked for their type (DynamoDB's AttributeValue).
_PLAIN_STRINGS: dict[Checker, tuple[int | None, int | None]] = {}
_TYPE_ONLY: dict[Checker, type] = {}


class _Compiler:
    def __init__(self, service: str) -> None:
        self.service = service
        self.cache: dict[str, Checker | None] = {}
        self.in_progress: set[str] = set()

    def compile(self, shape: Shape) -> Checker | None:
        key = shape.name
        if key in self.cache:
            return self.cache[key]
        if key in self.in_progress:
            # Recursive shape: resolve lazily once compiled.
            def deferred(value: Any, path: str, problems: list[Problem], _k: str = key) -> None:
                fn = self.cache.get(_k)
                if fn is not None:
                    fn(value, path, problems)

            return deferred
        self.in_progress.add(key)
        try:
            checker = self._build(shape)
        finally:
            self.in_progress.discard(key)
        self.cache[key] = checker
        return checker

    def _build(self, shape: Shape) -> Checker | None:
        t = shape.type_name
        meta = shape.metadata
        if t == "structure":
            return self._structure(shape)
        if t == "list":
            return self._list(shape, meta)
        if t == "map":
            return self._map(shape, meta)
        if t == "string":
            return self._string(shape, meta)
        if t in ("integer", "long", "float", "double", "bigdecimal", "biginteger"):
            return self._number(t, meta)
        if t == "boolean":
            return _typed(bool, None)
        if t == "blob":
            return self._blob(meta)
        if t == "timestamp":
            return _typed(dt.datetime, None)
        return None

    def _structure(self, shape: Shape) -> Checker | None:
        if shape.name in _OPAQUE_SHAPES:
            opaque = _typed(dict, None)
            _TYPE_ONLY[opaque] = dict
            return opaque
        if shape.metadata.get("document"):
            return None
        required = tuple((name, lower_camel(name)) for name in shape.required_members)
        members: dict[str, tuple[str, Checker]] = {}
        for name, member in shape.members.items():
            fn = self.compile(member)
            fn = _override(self.service, name, fn)
            if fn is not None:
                members[name] = (lower_camel(name), fn)

        def check(value: Any, path: str, problems: list[Problem]) -> None:
            if not isinstance(value, dict):
                raise _type_error(value, path, "structure")
            for name, camel in required:
                if value.get(name) is None:
                    problems.append(("null", None, f"{path}.{camel}" if path else camel, "Member must not be null"))
            for name, item in value.items():
                entry = members.get(name)
                if entry is not None and item is not None:
                    entry[1](item, f"{path}.{entry[0]}" if path else entry[0], problems)

        return check

    def _list(self, shape: Shape, meta: dict[str, Any]) -> Checker:
        inner = self.compile(shape.member)
        lo, hi = meta.get("min"), meta.get("max")

        def check(value: Any, path: str, problems: list[Problem]) -> None:
            if not isinstance(value, list | tuple):
                raise _type_error(value, path, "list")
            _check_length(len(value), lo, hi, value, path, problems)
            if inner is not None:
                for i, item in enumerate(value, 1):
                    if item is not None:
                        inner(item, f"{path}.{i}.member", problems)

        return check

    def _map(self, shape: Shape, meta: dict[str, Any]) -> Checker:
        key_fn = self.compile(shape.key)
        value_fn = self.compile(shape.value)
        lo, hi = meta.get("min"), meta.get("max")
        vmeta = shape.value.metadata
        value_rule, v_lo, v_hi = "", None, None
        if shape.value.type_name == "list" and ("min" in vmeta or "max" in vmeta):
            # A list value's own length limits are worded at the map, for each entry out of them:
            # "Value '{T=[...]}' at 'requestItems' failed to satisfy constraint: Map value must
            # satisfy constraint: [Member must have length less than or equal to 25, Member must
            # have length greater than or equal to 1]" (DynamoDB's BatchWriteItem, as dynalite's
            # validations have AWS's answer); the entries' members are checked as before.
            v_lo, v_hi = vmeta.get("min"), vmeta.get("max")
            value_fn = self._list(shape.value, {})
            value_rule = "Map value must satisfy constraint: [" + ", ".join(
                [f"Member must have length less than or equal to {v_hi}"] * (v_hi is not None)
                + [f"Member must have length greater than or equal to {v_lo}"] * (v_lo is not None)
            ) + "]"

        plain_key = _PLAIN_STRINGS.get(key_fn) if key_fn is not None else None
        value_type = _TYPE_ONLY.get(value_fn) if value_fn is not None else None
        if key_fn is not None and plain_key is not None and value_fn is not None and value_type is not None:
            # DynamoDB's attribute maps (Item, Key, ExpressionAttributeValues): names with
            # a length limit, values only checked to be objects. Paths are built, and the
            # general checkers called, only for an entry that fails, which they then word.
            key_lo, key_hi = plain_key

            def check_entries(value: Any, path: str, problems: list[Problem]) -> None:
                if not isinstance(value, dict):
                    raise _type_error(value, path, "map")
                n = len(value)
                if (lo is not None and n < lo) or (hi is not None and n > hi):
                    _check_length(n, lo, hi, value, path, problems)
                for k, v in value.items():
                    if not isinstance(k, str) or (key_lo is not None and len(k) < key_lo) or (key_hi is not None and len(k) > key_hi):
                        key_fn(k, f"{path}.key", problems)
                    if v is not None and not isinstance(v, value_type):
                        value_fn(v, f"{path}.{k}.member", problems)

            return check_entries

        def check(value: Any, path: str, problems: list[Problem]) -> None:
            if not isinstance(value, dict):
                raise _type_error(value, path, "map")
            _check_length(len(value), lo, hi, value, path, problems)
            if value_rule:
                for v in value.values():
                    if isinstance(v, list | tuple) and ((v_lo is not None and len(v) < v_lo) or (v_hi is not None and len(v) > v_hi)):
                        problems.append(("value", value, path, value_rule))
            if key_fn is not None or value_fn is not None:
                key_path = f"{path}.key"
                for k, v in value.items():
                    if key_fn is not None:
                        key_fn(k, key_path, problems)
                    if value_fn is not None and v is not None:
                        value_fn(v, f"{path}.{k}.member", problems)

        return check

    def _string(self, shape: Shape, meta: dict[str, Any]) -> Checker:
        lo, hi = meta.get("min"), meta.get("max")
        enum = shape.enum or None
        enum_set = frozenset(enum) if enum else None
        enum_text = "[" + ", ".join(enum) + "]" if enum else ""
        pattern = meta.get("pattern")
        regex = _compile_pattern(pattern) if pattern else None

        def check(value: Any, path: str, problems: list[Problem]) -> None:
            if not isinstance(value, str):
                raise _type_error(value, path, "string")
            n = len(value)
            if (lo is not None and n < lo) or (hi is not None and n > hi):
                _check_length(n, lo, hi, value, path, problems)
            if regex is not None and regex.fullmatch(value) is None:
                problems.append(("value", value, path, f"Member must satisfy regular expression pattern: {pattern}"))
            if enum_set is not None and value not in enum_set:
                problems.append(("value", value, path, f"Member must satisfy enum value set: {enum_text}"))

        if regex is None and enum_set is None and not pattern:
            _PLAIN_STRINGS[check] = (lo, hi)
        return check

    def _number(self, t: str, meta: dict[str, Any]) -> Checker:
        lo, hi = meta.get("min"), meta.get("max")
        integral = t in ("integer", "long", "biginteger")

        def check(value: Any, path: str, problems: list[Problem]) -> None:
            if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
                raise _type_error(value, path, "number")
            if integral and isinstance(value, float) and not value.is_integer():
                raise _type_error(value, path, "integer")
            nan = isinstance(value, float) and math.isnan(value)  # a JSON "NaN", CBOR's: never in a range
            if lo is not None and (nan or value < lo):
                problems.append(("value", value, path, f"Member must have value greater than or equal to {_num_str(lo)}"))
            if hi is not None and (value > hi or (nan and lo is None)):
                problems.append(("value", value, path, f"Member must have value less than or equal to {_num_str(hi)}"))

        return check

    def _blob(self, meta: dict[str, Any]) -> Checker:
        lo, hi = meta.get("min"), meta.get("max")

        def check(value: Any, path: str, problems: list[Problem]) -> None:
            if not isinstance(value, bytes | bytearray | memoryview):
                if isinstance(value, str):
                    value = value.encode()
                else:
                    raise _type_error(value, path, "blob")
            _check_length(len(value), lo, hi, value, path, problems)

        return check


def _typed(typ: type | tuple[type, ...], _unused: None) -> Checker:
    def check(value: Any, path: str, problems: list[Problem]) -> None:
        if not isinstance(value, typ):
            raise _type_error(value, path, getattr(typ, "__name__", "value"))

    return check


class _TypeMismatch(Exception):
    def __init__(self, value: Any, path: str, expected: str) -> None:
        super().__init__(path)
        self.value = value
        self.path = path
        self.expected = expected


def _type_error(value: Any, path: str, expected: str) -> _TypeMismatch:
    return _TypeMismatch(value, path, expected)


# DynamoDB's table and index names: botocore models TableName as "name or ARN"
# (min 1, max 1024), but a plain name must still be 3-255 of [a-zA-Z0-9_.-]
# (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/HowItWorks.NamingRulesDataTypes.html).
_DDB_NAME = re.compile(r"[a-zA-Z0-9_.\-]+")


def _ddb_name_checker(hi: int) -> Checker:
    def check(value: Any, path: str, problems: list[Problem]) -> None:
        if not isinstance(value, str):
            raise _type_error(value, path, "string")
        if value.startswith("arn:"):
            if len(value) > 1024:
                problems.append(("value", value, path, "Member must have length less than or equal to 1024"))
            return
        n = len(value)
        if n < 3:
            problems.append(("value", value, path, "Member must have length greater than or equal to 3"))
        if n > hi:
            problems.append(("value", value, path, f"Member must have length less than or equal to {hi}"))
        if _DDB_NAME.fullmatch(value) is None:
            problems.append(("value", value, path, "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+"))

    return check


_DDB_TABLE = _ddb_name_checker(1024)
_DDB_INDEX = _ddb_name_checker(255)


def _override(service: str, member: str, fn: Checker | None) -> Checker | None:
    if service in ("dynamodb", "dynamodbstreams"):
        if member == "TableName":
            return _DDB_TABLE
        if member == "IndexName":
            return _DDB_INDEX
    return fn


# ------------------------------------------------------------------ messages
def format_problems(problems: list[Problem]) -> str:
    n = len(problems)
    parts = []
    for kind, value, path, constraint in problems:
        shown = "null" if kind == "null" else f"'{_java_str(value)}'"
        parts.append(f"Value {shown} at '{path}' failed to satisfy constraint: {constraint}")
    return f"{n} validation error{'s' if n != 1 else ''} detected: " + "; ".join(parts)


def _upper_path(path: str) -> str:
    """EC2/CloudWatch name parameters as sent: ``ImageId``, ``Filter.1.Name``."""
    return ".".join(p[:1].upper() + p[1:] if not p.isdigit() else p for p in path.split(".") if p != "member")


def to_error(problems: list[Problem], protocol: str | None, query_compatible: bool) -> AwsError:
    if protocol == "ec2" or query_compatible:
        kind, value, path, constraint = problems[0]
        if kind == "null":
            name = _upper_path(path)
            if protocol == "ec2":
                return AwsError("MissingParameter", f"The request must contain the parameter {name}", 400)
            return AwsError("MissingParameter", f"The parameter {name} is required.", 400)
        if protocol == "ec2":
            return AwsError("InvalidParameterValue", f"Value ({_java_str(value)}) for parameter {_upper_path(path)} is invalid. {constraint}", 400)
        return AwsError("InvalidParameterValue", format_problems(problems), 400)
    code = "ValidationError" if protocol == "query" else "ValidationException"
    return AwsError(code, format_problems(problems), 400)


def _type_mismatch_error(exc: _TypeMismatch, protocol: str | None) -> AwsError:
    if protocol in ("query", "ec2"):
        return AwsError("InvalidParameterValue" if protocol == "ec2" else "ValidationError", f"Value '{_java_str(exc.value)}' at '{exc.path}' failed to satisfy constraint: Member must be a {exc.expected}", 400)
    # Coral's JSON front ends reject wrong JSON types while deserializing.
    return AwsError("SerializationException", f"Unexpected value type for '{exc.path}': expected {exc.expected}", 400)


# ------------------------------------------------------------------ entry points
_COMPILERS: dict[str, _Compiler] = {}
_OPERATIONS: dict[tuple[str, str], Checker | None] = {}


def checker_for(operation: OperationModel) -> Checker | None:
    # By model object first (the chain's models are cached, one per operation): skips
    # botocore's service_name property and the tuple key on every request.
    try:
        return _BY_MODEL[operation]
    except KeyError:
        pass
    fn = _checker_for(operation)
    if len(_BY_MODEL) >= 4096:
        _BY_MODEL.clear()
    _BY_MODEL[operation] = fn
    return fn


_BY_MODEL: dict[OperationModel, Checker | None] = {}


def _checker_for(operation: OperationModel) -> Checker | None:
    service = operation.service_model.service_name
    key = (service, operation.name)
    if key in _OPERATIONS:
        return _OPERATIONS[key]
    compiler = _COMPILERS.get(service)
    if compiler is None:
        compiler = _COMPILERS[service] = _Compiler(service)
    shape = operation.input_shape
    fn = compiler.compile(shape) if shape is not None else None
    _OPERATIONS[key] = fn
    return fn


def validate(operation: OperationModel, params: dict[str, Any], protocol: str | None = None) -> None:
    """Raise the AWS validation error for ``params`` against the operation's input shape."""
    fn = checker_for(operation)
    if fn is None:
        return
    problems: list[Problem] = []
    try:
        fn(params, "", problems)
    except _TypeMismatch as exc:
        raise _type_mismatch_error(exc, protocol) from None
    if problems:
        raise to_error(problems, protocol, "awsQueryCompatible" in operation.service_model.metadata)


def check_api_version(ctx: Any) -> None:
    """Query services name their API version in every call; an unknown one is AWS's InvalidAction."""
    if ctx.protocol not in ("query", "ec2") or ctx.service is None:
        return
    request = ctx.request
    version = request.form.get("Version") if request.method == "POST" else request.query_one("Version")
    if version is None:
        return  # AWS defaults to the latest version when none is sent
    if version != ctx.service.api_version:
        raise AwsError("InvalidAction", f"Could not find operation {ctx.operation_name} for version {version}", 400)


def make_validator() -> Callable[[Any], None]:
    """The ``runtime.components["validator"]`` hook: ``validator(ctx)``."""

    def validator(ctx: Any) -> None:
        if ctx.operation is None:
            return
        check_api_version(ctx)
        validate(ctx.operation, ctx.params, ctx.protocol)

    return validator
