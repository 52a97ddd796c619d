"""CloudWatch Logs filter pattern syntax (User Guide, "Filter pattern syntax for
metric filters, subscription filters, filter log events, and Live Tail").

- terms: ``ERROR Exception`` (all), ``"quoted phrase"``, ``-term`` (exclude), ``?A ?B`` (any)
- regular expressions: ``%ERROR|WARN%``
- JSON: ``{ $.level = "error" && ($.latency > 100 || $.user.id NOT EXISTS) }``
- space-delimited: ``[ip, user, ..., status = 4*, size > 1000]``
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Callable
from typing import Any

from emulator import user_regex
from emulator.errors import AwsError

Matcher = Callable[[str], bool]
# what a matching event yields for metric filters: the JSON document, or the named fields; None: no match
Extractor = Callable[[str], "Extracted | None"]


class Extracted:
    """The values a metric filter may use: ``$.a.b`` (JSON events) or ``$name`` (space-delimited fields)."""

    __slots__ = ("doc", "fields")

    def __init__(self, doc: Any = None, fields: dict[str, str] | None = None) -> None:
        self.doc = doc
        self.fields = fields or {}

    def resolve(self, ref: str) -> Any:
        if ref.startswith("$.") and self.doc is not None:
            value = _select(self.doc, ref)
            return None if value is _MISSING else value
        if ref.startswith("$") and not ref.startswith("$."):
            return self.fields.get(ref[1:])
        return None


def _invalid(pattern: str) -> AwsError:
    return AwsError("InvalidParameterException", f"Invalid filter pattern: {pattern}", 400)


def compile_pattern(pattern: str | None, background: bool = False) -> Matcher:
    extract = compile_extractor(pattern, background)
    return lambda message: extract(message) is not None


_EMPTY = Extracted()


def compile_extractor(pattern: str | None, background: bool = False) -> Extractor:
    """The pattern's extractor. Its ``%regex%`` parts run under user_regex's budget: a match
    that runs out of it is, for a request's own evaluation (FilterLogEvents, TestMetricFilter),
    an InvalidParameterException; in ``background`` (metric and subscription filters at
    ingest, live tail), no match, with a warning logged once per pattern."""
    extract = _compile_extractor(pattern)
    if "%" not in (pattern or ""):
        return extract

    def budgeted(message: str) -> Extracted | None:
        try:
            return extract(message)
        except user_regex.RegexTimeout as exc:
            if background:
                user_regex.warn_once(exc, f"filter pattern {pattern}")
                return None
            raise AwsError("InvalidParameterException", f"Invalid filter pattern: {exc}.", 400) from None  # our text after the colon

    return budgeted


def _compile_extractor(pattern: str | None) -> Extractor:
    text = (pattern or "").strip()
    if not text or text == '""':
        return lambda _m: _EMPTY
    try:
        if text.startswith("{"):
            if not text.endswith("}"):
                raise ValueError("unterminated")
            return _compile_json(text[1:-1])
        if text.startswith("["):
            if not text.endswith("]"):
                raise ValueError("unterminated")
            return _compile_space(text[1:-1])
        if len(text) >= 2 and text.startswith("%") and text.endswith("%"):
            rx = user_regex.compile(text[1:-1])
            return lambda m: _EMPTY if rx.search(m) is not None else None
        terms = _compile_terms(text)
        return lambda m: _EMPTY if terms(m) else None
    except (ValueError, re.error, user_regex.error, IndexError, RecursionError) as exc:
        raise _invalid(pattern or "") from exc


# ------------------------------------------------------------------ terms
_TERM_RE = re.compile(r'\s*([-?]?)(?:"((?:[^"\\]|\\.)*)"|(\S+))')


def _compile_terms(text: str) -> Matcher:
    required: list[str] = []
    optional: list[str] = []
    excluded: list[str] = []
    pos = 0
    while pos < len(text):
        m = _TERM_RE.match(text, pos)
        if not m or m.end() == pos:
            if text[pos:].strip() == "":
                break
            raise ValueError("bad term")
        pos = m.end()
        prefix, quoted, bare = m.group(1), m.group(2), m.group(3)
        term = quoted.replace('\\"', '"') if quoted is not None else bare
        {"-": excluded, "?": optional}.get(prefix, required).append(term)

    def match(message: str) -> bool:
        if any(t in message for t in excluded):
            return False
        if not all(t in message for t in required):
            return False
        return not optional or any(t in message for t in optional)

    return match


# ------------------------------------------------------------------ JSON
_JSON_TOKEN = re.compile(
    r'\s*(?:(?P<sel>\$(?:\.[A-Za-z0-9_\-@*]+|\[\d+\]|\[\*\])*)|(?P<op>&&|\|\||!=|<=|>=|=|<|>|\(|\))'
    r'|(?P<kw>IS\s+NULL|IS\s+TRUE|IS\s+FALSE|NOT\s+EXISTS)\b|(?P<str>"(?:[^"\\]|\\.)*")|(?P<rx>%(?:[^%\\]|\\.)+%)|(?P<num>-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)(?![^\s)&|])'
    r"|(?P<bare>[^\s()&|=!<>\"]+))"
)

_MISSING = object()


def _select(doc: Any, selector: str) -> Any:
    cur = doc
    for part in re.findall(r"\.([A-Za-z0-9_\-@*]+)|\[(\d+|\*)\]", selector):
        key, index = part
        if key:
            if not isinstance(cur, dict) or key not in cur:
                return _MISSING
            cur = cur[key]
        else:
            if not isinstance(cur, list):
                return _MISSING
            if index == "*":
                return cur
            i = int(index)
            if i >= len(cur):
                return _MISSING
            cur = cur[i]
    return cur


def _compare(actual: Any, op: str, value: Any, is_string: bool) -> bool:
    if actual is _MISSING:
        return False
    if isinstance(actual, list):
        return any(_compare(a, op, value, is_string) for a in actual)
    if isinstance(value, user_regex.UserPattern):  # { $.level = %ERROR|WARN% }
        if not isinstance(actual, str | int | float) or isinstance(actual, bool):
            return False
        found = value.search(str(actual)) is not None
        return found if op == "=" else not found
    if op in ("=", "!="):
        if isinstance(value, float) and not is_string:
            if isinstance(actual, bool) or not isinstance(actual, int | float):
                result = False
            else:
                result = float(actual) == value
        else:
            text = actual if isinstance(actual, str) else json.dumps(actual) if not isinstance(actual, str) else actual
            if isinstance(actual, bool):
                text = "true" if actual else "false"
            result = fnmatch.fnmatchcase(text, str(value)) if "*" in str(value) else text == str(value)
        return result if op == "=" else not result
    if isinstance(actual, bool) or not isinstance(actual, int | float) or not isinstance(value, float):
        return False
    return {"<": actual < value, ">": actual > value, "<=": actual <= value, ">=": actual >= value}[op]


def _or(a: Callable[[Any], bool], b: Callable[[Any], bool]) -> Callable[[Any], bool]:
    return lambda d: a(d) or b(d)


def _and(a: Callable[[Any], bool], b: Callable[[Any], bool]) -> Callable[[Any], bool]:
    return lambda d: a(d) and b(d)


def _compile_json(body: str) -> Extractor:
    tokens: list[tuple[str, str]] = []
    pos = 0
    body = body.strip()
    while pos < len(body):
        m = _JSON_TOKEN.match(body, pos)
        if not m or m.end() == pos:
            if body[pos:].strip() == "":
                break
            raise ValueError("bad token")
        pos = m.end()
        kind = m.lastgroup or ""
        tokens.append((kind, m.group(kind)))
    i = 0

    def peek() -> tuple[str, str] | None:
        return tokens[i] if i < len(tokens) else None

    def take() -> tuple[str, str]:
        nonlocal i
        if i >= len(tokens):
            raise ValueError("unexpected end")
        i += 1
        return tokens[i - 1]

    def disj() -> Callable[[Any], bool]:
        left = conj()
        while peek() == ("op", "||"):
            take()
            right = conj()
            left = _or(left, right)
        return left

    def conj() -> Callable[[Any], bool]:
        left = atom()
        while peek() == ("op", "&&"):
            take()
            right = atom()
            left = _and(left, right)
        return left

    def atom() -> Callable[[Any], bool]:
        kind, value = take()
        if (kind, value) == ("op", "("):
            inner = disj()
            if take() != ("op", ")"):
                raise ValueError("missing )")
            return inner
        if kind != "sel":
            raise ValueError("expected a selector")
        selector = value
        nxt = take()
        if nxt[0] == "kw":
            kw = " ".join(nxt[1].split())
            if kw == "IS NULL":
                return lambda d: _select(d, selector) is None
            if kw == "IS TRUE":
                return lambda d: _select(d, selector) is True
            if kw == "IS FALSE":
                return lambda d: _select(d, selector) is False
            return lambda d: _select(d, selector) is _MISSING
        if nxt[0] != "op" or nxt[1] not in ("=", "!=", "<", ">", "<=", ">="):
            raise ValueError("expected an operator")
        op = nxt[1]
        vkind, vtext = take()
        is_string = vkind in ("str", "bare")
        if vkind == "str":
            val: Any = vtext[1:-1].replace('\\"', '"')
        elif vkind == "num":
            val = float(vtext)
        elif vkind == "bare":
            val = vtext
        elif vkind == "rx" and op in ("=", "!="):
            val = user_regex.compile(vtext[1:-1])
        else:
            raise ValueError("expected a value")
        if op in ("<", ">", "<=", ">=") and not isinstance(val, float):
            raise ValueError("numeric operator needs a number")
        return lambda d: _compare(_select(d, selector), op, val, is_string)

    expr = disj()
    if i != len(tokens):
        raise ValueError("trailing tokens")

    def match(message: str) -> Extracted | None:
        text = message.strip()
        if not text.startswith("{"):
            return None
        try:
            doc = json.loads(text)
        except (ValueError, RecursionError):
            return None
        return Extracted(doc) if expr(doc) else None

    return match


# ------------------------------------------------------------------ space-delimited
_FIELD_SPLIT = re.compile(r'"([^"]*)"|\[([^\]]*)\]|(\S+)')
_COND_RE = re.compile(r'^\s*([A-Za-z0-9_\-]+)\s*(!=|<=|>=|=|<|>)\s*(".*"|\S+)\s*$')


def split_fields(message: str) -> list[str]:
    out = []
    for m in _FIELD_SPLIT.finditer(message):
        quoted, bracketed, word = m.groups()
        out.append(quoted if quoted is not None else bracketed if bracketed is not None else word)
    return out


def _split_top(text: str, sep: str) -> list[str]:
    parts, depth, cur, quote = [], 0, "", False
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == '"':
            quote = not quote
        if not quote:
            if ch == "(":
                depth += 1
            elif ch == ")":
                depth -= 1
            if depth == 0 and text.startswith(sep, i):
                parts.append(cur)
                cur = ""
                i += len(sep)
                continue
        cur += ch
        i += 1
    parts.append(cur)
    return parts


def _field_matcher(spec: str) -> tuple[str, Callable[[str], bool] | None]:
    spec = spec.strip()
    if spec == "...":
        return "...", None
    alternatives = []
    name = None
    for alt in _split_top(spec, "||"):
        conds = []
        for part in _split_top(alt, "&&"):
            part = part.strip().strip("()").strip()
            if not part:
                continue
            m = _COND_RE.match(part)
            if not m:
                if re.match(r"^[A-Za-z0-9_\-]+$", part):
                    name = name or part
                    continue
                raise ValueError(f"bad field {part}")
            name = name or m.group(1)
            raw = m.group(3)
            if len(raw) > 2 and raw.startswith("%") and raw.endswith("%"):
                user_regex.compile(raw[1:-1])  # a bad expression is an invalid pattern, not a failure when matching
            conds.append((m.group(2), raw))
        alternatives.append(conds)
    if name is None:
        raise ValueError("field needs a name")

    def check(value: str) -> bool:
        for conds in alternatives:
            if all(_cmp_field(value, op, raw) for op, raw in conds):
                return True
        return False

    has_conditions = any(alternatives)
    return name, check if has_conditions else None


def _cmp_field(value: str, op: str, raw: str) -> bool:
    quoted = raw.startswith('"') and raw.endswith('"') and len(raw) >= 2
    target = raw[1:-1] if quoted else raw
    if not quoted and len(raw) > 2 and raw.startswith("%") and raw.endswith("%"):  # [ip, method = %GET|PUT%, ...]
        if op not in ("=", "!="):
            return False
        found = user_regex.compile(raw[1:-1]).search(value) is not None
        return found if op == "=" else not found
    number: float | None = None
    if not quoted:
        try:
            number = float(target)
        except ValueError:
            number = None
    if op in ("=", "!="):
        if number is not None:
            try:
                eq = float(value) == number
            except ValueError:
                eq = False
        else:
            eq = fnmatch.fnmatchcase(value, target) if "*" in target else value == target
        return eq if op == "=" else not eq
    if number is None:
        return False
    try:
        v = float(value)
    except ValueError:
        return False
    return {"<": v < number, ">": v > number, "<=": v <= number, ">=": v >= number}[op]


def _compile_space(body: str) -> Extractor:
    specs = [_field_matcher(s) for s in _split_top(body, ",")] if body.strip() else []

    def match_from(fields: list[str], fi: int, si: int, named: dict[str, str]) -> dict[str, str] | None:
        if si == len(specs):
            return named if fi == len(fields) else None
        name, check = specs[si]
        if name == "...":
            for k in range(fi, len(fields) + 1):
                found = match_from(fields, k, si + 1, named)
                if found is not None:
                    return found
            return None
        if fi >= len(fields):
            return None
        if check is not None and not check(fields[fi]):
            return None
        return match_from(fields, fi + 1, si + 1, {**named, name: fields[fi], f"{si + 1}": fields[fi]})

    def match(message: str) -> Extracted | None:
        named = match_from(split_fields(message), 0, 0, {})
        return Extracted(fields=named) if named is not None else None

    return match
