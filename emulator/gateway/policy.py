"""IAM policy documents: parsing, compilation and evaluation.

Evaluation follows IAM's identity-based policy logic
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html):
an explicit ``Deny`` in any statement wins, otherwise any matching ``Allow``
allows, otherwise the request is implicitly denied.

Supported: ``Version``, ``Statement`` (object or list), ``Sid``, ``Effect``,
``Action``/``NotAction`` and ``Resource``/``NotResource`` with ``*``/``?``
wildcards, policy variables (``${aws:username}``, any single-valued key the
request has, defaults ``${key, 'value'}``, ``${*}``/``${?}``/``${$}``; in
``2012-10-17`` documents only, as on AWS), and a ``Condition`` subset:
String{Equals,NotEquals,EqualsIgnoreCase,NotEqualsIgnoreCase,Like,NotLike},
Arn{Equals,Like,NotEquals,NotLike}, IpAddress/NotIpAddress,
Date{Equals,NotEquals,LessThan,LessThanEquals,GreaterThan,GreaterThanEquals},
Numeric*, Bool, BinaryEquals, Null, the ``...IfExists`` suffix and the
``ForAllValues:``/``ForAnyValue:`` set prefixes.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import orjson

from emulator.errors import AwsError

ALLOW = "Allow"
DENY = "Deny"
# Decisions returned by ``evaluate``.
ALLOWED = "allow"
EXPLICIT_DENY = "explicit_deny"
IMPLICIT_DENY = "implicit_deny"

_VERSIONS = ("2012-10-17", "2008-10-17")
# Policy variables exist only in documents of this version; in others ``${...}`` is literal text.
_VARIABLES_VERSION = "2012-10-17"
# What ``${*}`` and ``${?}`` become in a pattern that is matched as a glob: a literal ``*``/``?``.
_LITERAL_STAR = "\x01"
_LITERAL_QMARK = "\x02"


def malformed(message: str) -> AwsError:
    return AwsError("MalformedPolicyDocument", message, 400)


@lru_cache(maxsize=4096)
def _glob(pattern: str, ignore_case: bool) -> _Wildcard:
    """IAM wildcard: ``*`` any run of characters, ``?`` exactly one; everything else literal.

    Matched in linear time whatever the pattern: policies are written by users, and a regex of
    several ``.*`` (``*a*a*a*a*b``) backtracks exponentially on a long ARN (10 s measured),
    holding every request. Up to one ``*`` a regex is safe and fast; with more, the pattern is
    cut at its stars into fixed-length pieces: the first must start the text, the last end
    it, and each one between is found leftmost after the one before (greedy leftmost is
    optimal when only ``*`` separates the pieces)."""
    flags = re.DOTALL | (re.IGNORECASE if ignore_case else 0)
    pieces = pattern.split("*")
    if len(pieces) <= 2:
        return _Wildcard(re.compile(".*".join(_piece(p) for p in pieces) + r"\Z", flags), None, 0)
    # Every character of a piece (a "?", a literal marker) matches exactly one of the text.
    return _Wildcard(None, tuple(re.compile(_piece(p), flags) for p in pieces), len(pieces[-1]))


def _piece(text: str) -> str:
    """A run without ``*``: ``?`` one character, our literal markers their characters."""
    out = []
    for ch in text:
        if ch == "?":
            out.append(".")
        elif ch == _LITERAL_STAR:
            out.append(r"\*")
        elif ch == _LITERAL_QMARK:
            out.append(r"\?")
        else:
            out.append(re.escape(ch))
    return "".join(out)


class _Wildcard:
    __slots__ = ("pieces", "regex", "tail_width")

    def __init__(self, regex: re.Pattern[str] | None, pieces: tuple[re.Pattern[str], ...] | None, tail_width: int) -> None:
        self.regex = regex
        self.pieces = pieces
        self.tail_width = tail_width

    def match(self, text: str) -> bool | None:
        """True, or None when ``text`` does not match (``re.match``'s way of saying no)."""
        if self.regex is not None:
            return True if self.regex.match(text) is not None else None
        assert self.pieces is not None
        head, *middle, tail = self.pieces
        first = head.match(text)
        if first is None:
            return None
        start = first.end()
        # The tail: a fixed-length piece ending the text, after the head.
        end = len(text) - self.tail_width
        if end < start or tail.fullmatch(text, end) is None:
            return None
        for piece in middle:
            found = piece.search(text, start, end)
            if found is None:
                return None
            start = found.end()
        return True


def wildcard_matches(pattern: str, text: str, ignore_case: bool = False) -> bool:
    """``*``/``?`` wildcard matching of the whole ``text``, in linear time (``_glob``)."""
    return _glob(pattern, ignore_case).match(text) is not None


def action_matches(pattern: str, action: str) -> bool:
    """Actions are case-insensitive ("dynamodb:getitem" == "dynamodb:GetItem")."""
    if pattern == "*":
        return True
    return _glob(pattern, True).match(action) is not None


def resource_matches(pattern: str, resource: str) -> bool:
    """ARN matching: the first five ARN segments are matched one by one (a ``*``
    never spans a colon there); the resource part is matched as a whole, so
    ``log-group:app:*`` covers ``log-group:app:log-stream:s``."""
    if pattern == "*":
        return True
    if "*" not in pattern and "?" not in pattern:
        return pattern == resource
    return _arn_match(pattern, resource)


def _substituted_matches(pattern: str, resource: str) -> bool:
    """``resource_matches`` for a pattern out of ``substitute(..., glob=True)``, whose
    ``${*}``/``${?}`` stand for a literal ``*``/``?`` (the glob keeps them literal)."""
    if _LITERAL_STAR in pattern or _LITERAL_QMARK in pattern:
        return _arn_match(pattern, resource)
    return resource_matches(pattern, resource)


def _arn_match(pattern: str, resource: str) -> bool:
    if pattern.startswith("arn:") and resource.startswith("arn:"):
        pp = pattern.split(":", 5)
        rp = resource.split(":", 5)
        if len(pp) != 6 or len(rp) != 6:
            return False  # not a well-formed ARN pattern: a star never stands for segments
        for p, r in zip(pp, rp):
            if p == "*" or p == r:
                continue
            if _glob(p, False).match(r) is None:
                return False
        return True
    return _glob(pattern, False).match(resource) is not None


def _as_list(value: Any, what: str) -> list[Any]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    raise malformed(f"Syntax errors in policy. {what} must be a string or a list of strings.")


# ${name} or ${name, 'default'} (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html).
_VAR_RE = re.compile(r"\$\{\s*([^},']+?)\s*(?:,\s*'([^']*)'\s*)?\}")


def variable_names(text: str) -> list[str]:
    """The (lower-cased) keys that the policy variables in ``text`` read."""
    if "${" not in text:
        return []
    return [m.group(1).lower() for m in _VAR_RE.finditer(text) if m.group(1) not in ("*", "?", "$")]


def substitute(text: str, variables: dict[str, Any], glob: bool = False) -> str:
    """Policy variables (``${aws:username}``, ``${aws:username, 'default'}``); keys are
    case-insensitive (``variables`` holds them lower-cased). A variable without a value
    and without a default leaves the text unmatched. ``${*}``, ``${?}`` and ``${$}`` are
    the literal characters: with ``glob`` (the text is matched as a wildcard pattern)
    ``*`` and ``?`` become markers that ``_glob`` matches literally."""
    if "${" not in text:
        return text

    def repl(m: re.Match[str]) -> str:
        name = m.group(1)
        if name in ("*", "?", "$"):
            if glob and name != "$":
                return _LITERAL_STAR if name == "*" else _LITERAL_QMARK
            return name
        value = variables.get(name.lower())
        if value is None or isinstance(value, list | tuple):
            value = m.group(2)
        return "\x00" if value is None else str(value)

    return _VAR_RE.sub(repl, text)


# ------------------------------------------------------------------ conditions
def _parse_date(value: Any) -> dt.datetime | None:
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    if isinstance(value, int | float):
        return dt.datetime.fromtimestamp(value, tz=dt.UTC)
    if not isinstance(value, str):
        return None
    text = value.strip()
    try:
        return dt.datetime.fromtimestamp(float(text), tz=dt.UTC)
    except ValueError:
        pass
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _num(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _ip_match(value: Any, pattern: str) -> bool:
    try:
        net = ipaddress.ip_network(pattern.strip(), strict=False)
        addr = ipaddress.ip_address(str(value).strip())
    except ValueError:
        return False
    return addr.version == net.version and addr in net


def _bool_str(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v).lower()


# Base operator -> (match one request value against one policy value, negated?)
_MATCHERS: dict[str, tuple[Callable[[Any, str], bool], bool]] = {
    "StringEquals": (lambda v, p: str(v) == p, False),
    "StringNotEquals": (lambda v, p: str(v) == p, True),
    "StringEqualsIgnoreCase": (lambda v, p: str(v).lower() == p.lower(), False),
    "StringNotEqualsIgnoreCase": (lambda v, p: str(v).lower() == p.lower(), True),
    "StringLike": (lambda v, p: _glob(p, False).match(str(v)) is not None, False),
    "StringNotLike": (lambda v, p: _glob(p, False).match(str(v)) is not None, True),
    "ArnEquals": (lambda v, p: resource_matches(p, str(v)), False),
    "ArnLike": (lambda v, p: resource_matches(p, str(v)), False),
    "ArnNotEquals": (lambda v, p: resource_matches(p, str(v)), True),
    "ArnNotLike": (lambda v, p: resource_matches(p, str(v)), True),
    "IpAddress": (_ip_match, False),
    "NotIpAddress": (_ip_match, True),
    "Bool": (lambda v, p: _bool_str(v) == p.lower(), False),
    # Binary values are compared as their base-64 text, as policies and contexts hold them.
    "BinaryEquals": (lambda v, p: str(v) == p, False),
    "NumericEquals": (lambda v, p: _cmp_num(v, p, lambda a, b: a == b), False),
    "NumericNotEquals": (lambda v, p: _cmp_num(v, p, lambda a, b: a == b), True),
    "NumericLessThan": (lambda v, p: _cmp_num(v, p, lambda a, b: a < b), False),
    "NumericLessThanEquals": (lambda v, p: _cmp_num(v, p, lambda a, b: a <= b), False),
    "NumericGreaterThan": (lambda v, p: _cmp_num(v, p, lambda a, b: a > b), False),
    "NumericGreaterThanEquals": (lambda v, p: _cmp_num(v, p, lambda a, b: a >= b), False),
    "DateEquals": (lambda v, p: _cmp_date(v, p, lambda a, b: a == b), False),
    "DateNotEquals": (lambda v, p: _cmp_date(v, p, lambda a, b: a == b), True),
    "DateLessThan": (lambda v, p: _cmp_date(v, p, lambda a, b: a < b), False),
    "DateLessThanEquals": (lambda v, p: _cmp_date(v, p, lambda a, b: a <= b), False),
    "DateGreaterThan": (lambda v, p: _cmp_date(v, p, lambda a, b: a > b), False),
    "DateGreaterThanEquals": (lambda v, p: _cmp_date(v, p, lambda a, b: a >= b), False),
}


def _cmp_num(v: Any, p: str, op: Callable[[float, float], bool]) -> bool:
    a, b = _num(v), _num(p)
    return a is not None and b is not None and op(a, b)


def _cmp_date(v: Any, p: str, op: Callable[[dt.datetime, dt.datetime], bool]) -> bool:
    a, b = _parse_date(v), _parse_date(p)
    return a is not None and b is not None and op(a, b)


_GLOB_OPERATORS = frozenset({"StringLike", "StringNotLike", "ArnEquals", "ArnLike", "ArnNotEquals", "ArnNotLike"})


@dataclass(frozen=True)
class Condition:
    operator: str  # as written, e.g. "ForAllValues:StringEquals"
    key: str  # lower-cased condition key (keys are case-insensitive)
    values: tuple[str, ...]
    base: str
    qualifier: str  # "", "ForAllValues", "ForAnyValue"
    if_exists: bool
    name: str = ""  # the key as written (for the policy simulator's MissingContextValues)

    @property
    def globs(self) -> bool:
        """Whether the operator matches its values as wildcard patterns."""
        return self.base in _GLOB_OPERATORS

    def evaluate(self, context: dict[str, Any], variables: dict[str, Any]) -> bool:
        present = self.key in context and context[self.key] is not None
        if self.base == "Null":
            want = self.values[0].lower() == "true" if self.values else True
            return (not present) == want
        match, negated = _MATCHERS[self.base]
        values = [substitute(v, variables, self.base in _GLOB_OPERATORS) for v in self.values] if variables else self.values
        if not present:
            if self.if_exists:
                return True
            if self.qualifier == "ForAllValues":
                return True  # vacuously true, as IAM documents
            if self.qualifier == "ForAnyValue":
                return False
            return negated
        raw = context[self.key]
        request_values = list(raw) if isinstance(raw, list | tuple | set | frozenset) else [raw]
        if self.qualifier == "ForAllValues":
            if negated:
                return all(not any(match(v, p) for p in values) for v in request_values)
            return all(any(match(v, p) for p in values) for v in request_values)
        if self.qualifier == "ForAnyValue":
            if negated:
                return any(not any(match(v, p) for p in values) for v in request_values)
            return any(any(match(v, p) for p in values) for v in request_values)
        # A single-valued key: the policy's values are ORed (negated: none may match).
        hit = any(match(v, p) for v in request_values for p in values)
        return not hit if negated else hit


def _parse_conditions(block: Any) -> tuple[Condition, ...]:
    if block is None:
        return ()
    if not isinstance(block, dict):
        raise malformed("Syntax errors in policy. Condition must be an object.")
    out = []
    for operator, keys in block.items():
        qualifier, _, rest = operator.rpartition(":")
        if qualifier and qualifier not in ("ForAllValues", "ForAnyValue"):
            raise malformed(f"Syntax errors in policy. Unknown condition qualifier {qualifier}.")
        base = rest
        if_exists = base.endswith("IfExists")
        if if_exists:
            base = base[: -len("IfExists")]
        if base not in _MATCHERS and base != "Null":
            raise malformed(f"Syntax errors in policy. Unsupported condition operator {operator}.")
        if not isinstance(keys, dict):
            raise malformed(f"Syntax errors in policy. Condition operator {operator} must map condition keys to values.")
        for key, values in keys.items():
            vals = values if isinstance(values, list) else [values]
            strs = tuple(_bool_str(v) if isinstance(v, bool) else str(v) for v in vals)
            out.append(Condition(operator, key.lower(), strs, base, qualifier, if_exists, key))
    return tuple(out)


# ------------------------------------------------------------------ statements
@dataclass(frozen=True)
class Statement:
    effect: str
    actions: tuple[str, ...]
    not_actions: bool
    resources: tuple[str, ...]
    not_resources: bool
    conditions: tuple[Condition, ...]
    sid: str | None = None
    variables: bool = True  # the document's Version has policy variables (2012-10-17)

    def matches_action(self, action: str) -> bool:
        hit = any(action_matches(p, action) for p in self.actions)
        return not hit if self.not_actions else hit

    def matches_resource(self, resource: str, variables: dict[str, Any]) -> bool:
        if variables and self.variables:
            hit = any(_substituted_matches(substitute(p, variables, True), resource) for p in self.resources)
        else:
            hit = any(resource_matches(p, resource) for p in self.resources)
        return not hit if self.not_resources else hit

    def matches_conditions(self, context: dict[str, Any], variables: dict[str, Any]) -> bool:
        if not self.variables:
            variables = {}
        return all(c.evaluate(context, variables) for c in self.conditions)

    def variable_names(self) -> list[str]:
        """The keys read by the policy variables of this statement (none before 2012-10-17)."""
        if not self.variables:
            return []
        return [n for text in (*self.resources, *(v for c in self.conditions for v in c.values)) for n in variable_names(text)]


def parse_document(document: str | dict[str, Any]) -> list[Statement]:
    """Parse and check a policy document; raise MalformedPolicyDocument as IAM does."""
    if isinstance(document, str):
        try:
            data = orjson.loads(document)
        except orjson.JSONDecodeError as exc:
            raise malformed("Syntax errors in policy.") from exc
    else:
        data = document
    if not isinstance(data, dict):
        raise malformed("Syntax errors in policy.")
    version = data.get("Version")
    if version is not None and version not in _VERSIONS:
        raise malformed("The policy failed legacy parsing")
    raw = data.get("Statement")
    if raw is None:
        raise malformed("Syntax errors in policy. Policy document must contain a Statement.")
    stmts = raw if isinstance(raw, list) else [raw]
    out = []
    for s in stmts:
        if not isinstance(s, dict):
            raise malformed("Syntax errors in policy.")
        effect = s.get("Effect")
        if effect not in (ALLOW, DENY):
            raise malformed("Syntax errors in policy. Effect must be Allow or Deny.")
        if ("Action" in s) == ("NotAction" in s):
            raise malformed("Policy statement must contain actions." if "Action" not in s else "Syntax errors in policy.")
        if ("Resource" in s) == ("NotResource" in s):
            raise malformed("Policy statement must contain resources." if "Resource" not in s else "Syntax errors in policy.")
        actions = _as_list(s.get("Action", s.get("NotAction")), "Action")
        for a in actions:
            if a != "*" and ":" not in a:
                raise malformed("Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.")
        resources = _as_list(s.get("Resource", s.get("NotResource")), "Resource")
        for r in resources:
            if r != "*" and not r.startswith("arn:"):
                raise malformed(f"Resource {r} must be in ARN format or \"*\".")
        out.append(
            Statement(
                effect=effect,
                actions=tuple(actions),
                not_actions="NotAction" in s,
                resources=tuple(resources),
                not_resources="NotResource" in s,
                conditions=_parse_conditions(s.get("Condition")),
                sid=s.get("Sid"),
                variables=version == _VARIABLES_VERSION,
            )
        )
    return out


def _hashable(value: Any) -> Any:
    if isinstance(value, str):
        return value
    if isinstance(value, list | tuple | set | frozenset):
        return tuple(_hashable(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, _hashable(v)) for k, v in value.items()))
    return value


@dataclass
class Decision:
    decision: str  # ALLOWED | EXPLICIT_DENY | IMPLICIT_DENY
    action: str
    resource: str
    statement: Statement | None = None
    # Which policy decided: "identity" (the caller's) or "resource" (the resource's own policy,
    # emulator/gateway/resource_policy.py): the access-denied message tells them apart.
    source: str = "identity"

    @property
    def allowed(self) -> bool:
        return self.decision == ALLOWED


@dataclass
class PolicySet:
    """All the statements that apply to one principal, compiled once.

    Statements are indexed per action (cached), so evaluating a request costs
    a resource and condition check for only the statements naming its action.
    """

    statements: list[Statement] = field(default_factory=list)
    _by_action: dict[str, tuple[Statement, ...]] = field(default_factory=dict)
    _keys: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # (action, resource, relevant context, variables) -> Decision; bounded, per principal.
    _decisions: dict[tuple[Any, ...], Decision] = field(default_factory=dict)

    @property
    def uses_variables(self) -> bool:
        """Whether any resource or condition value holds a ``${...}`` policy variable."""
        found = self.__dict__.get("_uses_variables")
        if found is None:
            found = any(s.variables and (any("${" in r for r in s.resources) or any("${" in v for c in s.conditions for v in c.values)) for s in self.statements)
            self.__dict__["_uses_variables"] = found
        return found

    @property
    def variable_keys(self) -> frozenset[str]:
        """The (lower-cased) keys that the policy variables of these statements read."""
        found = self.__dict__.get("_variable_keys")
        if found is None:
            found = frozenset(n for s in self.statements for n in s.variable_names())
            self.__dict__["_variable_keys"] = found
        return found

    @classmethod
    def from_documents(cls, documents: Iterable[str | dict[str, Any]]) -> PolicySet:
        stmts: list[Statement] = []
        for doc in documents:
            stmts.extend(parse_document(doc))
        return cls(stmts)

    def _for_action(self, action: str) -> tuple[Statement, ...]:
        key = action.lower()
        found = self._by_action.get(key)
        if found is None:
            # Denies first, so an explicit deny short-circuits.
            found = tuple(sorted((s for s in self.statements if s.matches_action(action)), key=lambda s: s.effect != DENY))
            if len(self._by_action) < 10000:
                self._by_action[key] = found
        return found

    def condition_keys(self, action: str) -> tuple[str, ...]:
        """The condition keys read by the statements that name ``action`` (sorted, unique)."""
        key = action.lower()
        found = self._keys.get(key)
        if found is None:
            found = tuple(sorted({c.key for s in self._for_action(action) for c in s.conditions}))
            if len(self._keys) < 10000:
                self._keys[key] = found
        return found

    def evaluate(self, action: str, resources: str | list[str], context: dict[str, Any] | None = None, variables: dict[str, Any] | None = None) -> Decision:
        """Decide one action on one or more resources: every resource must be allowed.

        Decisions are cached on what they depend on: the action, the resources, the
        values of the condition keys the candidate statements read, and the variables."""
        keys = self.condition_keys(action)
        ctx_part = tuple([_hashable(context.get(k)) for k in keys]) if keys and context else ()
        cache_key = (action.lower(), resources if isinstance(resources, str) else tuple(resources), ctx_part, tuple(sorted(variables.items())) if variables else ())
        cached = self._decisions.get(cache_key)
        if cached is not None:
            return cached
        decision = self._evaluate(action, resources, context, variables)
        if len(self._decisions) >= 20000:
            self._decisions.clear()
        self._decisions[cache_key] = decision
        return decision

    def _evaluate(self, action: str, resources: str | list[str], context: dict[str, Any] | None, variables: dict[str, Any] | None) -> Decision:
        ctx = context or {}
        var = variables or {}
        res_list = [resources] if isinstance(resources, str) else resources
        candidates = self._for_action(action)
        verdict: Decision | None = None
        for resource in res_list:
            allowed_by: Statement | None = None
            for s in candidates:
                if not s.matches_resource(resource, var) or not s.matches_conditions(ctx, var):
                    continue
                if s.effect == DENY:
                    return Decision(EXPLICIT_DENY, action, resource, s)
                if allowed_by is None:
                    allowed_by = s
            if allowed_by is None:
                if verdict is None or verdict.allowed:
                    verdict = Decision(IMPLICIT_DENY, action, resource)
            elif verdict is None:
                verdict = Decision(ALLOWED, action, resource, allowed_by)
        if verdict is None:
            return Decision(IMPLICIT_DENY, action, res_list[0] if res_list else "*")
        return verdict
