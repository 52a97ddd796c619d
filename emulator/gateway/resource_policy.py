"""Resource-based policies: the ``Principal`` element, and how a resource's policy combines
with the caller's identity-based policies
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html).

A resource-based policy is an identity-style document whose statements also name who they
apply to (``Principal`` / ``NotPrincipal``). For one caller, the statements naming it form
an ordinary ``PolicySet``, evaluated by emulator.gateway.policy (actions, resources,
conditions, policy variables); ``combine`` then joins that decision with the identity-based
one:

* an explicit ``Deny`` in either policy wins;
* a caller of the resource's own account is allowed when either policy allows;
* a caller of another account needs both (its identity policy and the resource policy);
* the root user needs no ``Allow`` in its own account, but a ``Deny`` of the resource policy
  that names it (``*``, the account, or its ARN) applies to it too.

Principals: ``"*"``, ``{"AWS": ...}`` (``*``, a 12-digit account id, ``arn:aws:iam::<id>:root``,
a user, a role, an assumed-role session, a federated user), ``{"Service": ...}`` and
``{"Federated": ...}`` (only a web-identity caller of STS is one: its provider's ARN). An
account named in an ``Allow`` statement delegates to the account: it allows its root user, and its IAM users and
roles as far as their identity policies allow; in a ``Deny`` it denies everyone of the account.
The emulator has one account, so every caller is of the resource's (``combine`` also knows
the other case).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import orjson

from emulator.errors import AwsError
from emulator.gateway.policy import (
    ALLOWED,
    DENY,
    EXPLICIT_DENY,
    IMPLICIT_DENY,
    Decision,
    PolicySet,
    Statement,
    parse_document,
)

_PRINCIPAL_KINDS = ("AWS", "Service", "Federated")
_STATEMENT_KEYS = frozenset({"Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction", "Resource", "NotResource", "Condition"})
_ACCOUNT = re.compile(r"^\d{12}$")
_AWS_PRINCIPAL = re.compile(r"^arn:aws[a-z-]*:(?:iam::\d{12}:(?:root|user/.+|role/.+|federated-user/.+)|sts::\d{12}:assumed-role/[^/]+/.+)$")


class InvalidPolicy(ValueError):
    """A resource-based policy that cannot be attached; the message says why (the caller
    turns it into its service's error)."""


@dataclass(frozen=True)
class Principals:
    """The principals one statement names."""

    anyone: bool = False
    aws: frozenset[str] = frozenset()  # normalized: an account id becomes arn:aws:iam::<id>:root
    others: frozenset[str] = frozenset()  # service and federated principals


@dataclass(frozen=True)
class Caller:
    """Who asks, as resource-based policies name it."""

    arns: frozenset[str]  # its own ARNs: the user's (with and without its path), an assumed-role session's and its role's
    account: str
    is_root: bool = False
    identity: dict[str, str] | None = field(default=None, compare=False, hash=False)  # what it was made from

    @property
    def account_root(self) -> str:
        return f"arn:aws:iam::{self.account}:root"


def caller_of(principal_arn: str, account: str, is_root: bool, identity: dict[str, str] | None = None) -> Caller:
    """The Caller of a request: ``identity`` is the principal's global condition keys
    (``aws:principalarn`` holds a user's ARN with its path, an assumed role's role ARN)."""
    arns = {principal_arn}
    if identity is not None and identity.get("aws:principalarn"):
        arns.add(identity["aws:principalarn"])
    if is_root:
        arns.add(f"arn:aws:iam::{account}:root")
    return Caller(frozenset(arns), account, is_root, identity)


def principals_of(value: Any, where: str, kinds: tuple[str, ...] = _PRINCIPAL_KINDS) -> Principals:
    """The principals a ``Principal``/``NotPrincipal`` element names (``kinds``: the principal
    types the service accepts; S3 also has ``CanonicalUser``). Raises InvalidPolicy."""
    if value == "*":
        return Principals(anyone=True)
    if not isinstance(value, dict) or not value:
        raise InvalidPolicy(f"Invalid principal in policy: {where} must be \"*\" or an object")
    anyone = False
    aws: set[str] = set()
    others: set[str] = set()
    for kind, names in value.items():
        if kind not in kinds:
            raise InvalidPolicy(f"Invalid principal in policy: unsupported principal type {kind}")
        listed = names if isinstance(names, list) else [names]
        if not listed or not all(isinstance(n, str) and n for n in listed):
            raise InvalidPolicy(f"Invalid principal in policy: {kind} must be a string or a list of strings")
        for name in listed:
            if kind != "AWS":
                if "*" in name and name != "*":
                    raise InvalidPolicy(f"Invalid principal in policy: {kind}: {name}")
                others.add(f"{kind}:{name}")
            elif name == "*":
                anyone = True
            elif _ACCOUNT.match(name):
                aws.add(f"arn:aws:iam::{name}:root")
            elif _AWS_PRINCIPAL.match(name) and "*" not in name and "?" not in name:
                aws.add(name)
            else:
                raise InvalidPolicy(f"Invalid principal in policy: \"AWS\" : \"{name}\"")
    return Principals(anyone, frozenset(aws), frozenset(others))


def _names(p: Principals, caller: Caller, deny: bool, owner: str | None) -> bool:
    """Whether the principals of one statement include the caller (see the module docstring
    for what an account means in an Allow and in a Deny)."""
    if p.anyone or not caller.arns.isdisjoint(p.aws):
        return True
    if p.others and not caller.arns.isdisjoint(p.others):
        return True  # a web-identity caller names itself "Federated:<provider ARN>" (gateway/sessions.py)
    if caller.account_root not in p.aws:
        return False
    # A Deny for an account denies everyone in it. An Allow delegates to the account: its root
    # user; for another account's users and roles, their own identity policies then decide
    # (combine() asks both); for the owner's, the identity policies alone decide anyway.
    return deny or caller.is_root or (owner is not None and caller.account != owner)


@dataclass
class ResourcePolicy:
    """A resource-based policy document, parsed; ``for_caller`` gives the statements that
    apply to one caller, compiled as a PolicySet (cached)."""

    text: str
    statements: list[tuple[Principals, bool, Statement]]  # (principals, NotPrincipal?, statement)
    owner: str | None = None  # the account of the resource (None: the caller's own)
    _sets: dict[tuple[frozenset[str], str, bool], PolicySet] = field(default_factory=dict)

    def for_caller(self, caller: Caller) -> PolicySet:
        key = (caller.arns, caller.account, caller.is_root)
        found = self._sets.get(key)
        if found is None:
            chosen = []
            for principals, negated, stmt in self.statements:
                named = _names(principals, caller, stmt.effect == DENY, self.owner)
                if named != negated:
                    chosen.append(stmt)
            found = PolicySet(chosen)
            if len(self._sets) >= 1024:
                self._sets.clear()
            self._sets[key] = found
        return found


def parse_resource_policy(text: Any, owner: str | None = None) -> tuple[ResourcePolicy, dict[str, Any]]:
    """Parse a resource-based policy of a resource of account ``owner``; returns it and the
    decoded document (for the service's own checks). Raises InvalidPolicy."""
    if not isinstance(text, str) or not text.strip():
        raise InvalidPolicy("Policy document must not be empty")
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise InvalidPolicy("Policy document is not valid JSON") from exc
    if not isinstance(data, dict):
        raise InvalidPolicy("Policy document must be a JSON object")
    for key in data:
        if key not in ("Version", "Id", "Statement"):
            raise InvalidPolicy(f"Policy document contains an unknown element: {key}")
    version = data.get("Version")
    if version is not None and version not in ("2012-10-17", "2008-10-17"):
        raise InvalidPolicy(f"Policy document has an invalid Version: {version}; use 2012-10-17")
    raw = data.get("Statement")
    stmts = raw if isinstance(raw, list) else [raw] if isinstance(raw, dict) else None
    if not stmts:
        raise InvalidPolicy("Policy document must contain at least one Statement")
    sids: set[str] = set()
    out: list[tuple[Principals, bool, Statement]] = []
    for s in stmts:
        if not isinstance(s, dict):
            raise InvalidPolicy("Each Statement must be a JSON object")
        unknown = [k for k in s if k not in _STATEMENT_KEYS]
        if unknown:
            raise InvalidPolicy(f"Statement contains an unknown element: {unknown[0]}")
        sid = s.get("Sid")
        if sid is not None:
            if not isinstance(sid, str) or not re.fullmatch(r"[A-Za-z0-9 ]*", sid):
                raise InvalidPolicy(f"Statement IDs (SID) must be alphanumeric: {sid}")
            if sid and sid in sids:
                raise InvalidPolicy(f"Statement IDs (SID) in a single policy must be unique: {sid}")
            sids.add(sid)
        if ("Principal" in s) == ("NotPrincipal" in s):
            raise InvalidPolicy("Missing required field Principal" if "Principal" not in s else "A Statement must not contain both Principal and NotPrincipal")
        negated = "NotPrincipal" in s
        principals = principals_of(s["NotPrincipal" if negated else "Principal"], "NotPrincipal" if negated else "Principal")
        doc = {"Version": version or "2008-10-17", "Statement": [{k: v for k, v in s.items() if k not in ("Principal", "NotPrincipal")}]}
        try:
            parsed = parse_document(doc)
        except AwsError as exc:  # MalformedPolicyDocument: its message tells why
            raise InvalidPolicy(exc.message) from exc
        out.append((principals, negated, parsed[0]))
    return ResourcePolicy(text, out, owner), data


def combine(action: str, resource: str, identity: Decision, resource_decision: Decision | None, same_account: bool) -> Decision:
    """Join the identity-based decision with the resource-based policy's (None: the resource
    has no policy). The result's ``source`` tells which policy decided a refusal."""
    if identity.decision == EXPLICIT_DENY:
        return identity
    if resource_decision is not None and resource_decision.decision == EXPLICIT_DENY:
        return Decision(EXPLICIT_DENY, action, resource, resource_decision.statement, source="resource")
    rp_allows = resource_decision is not None and resource_decision.allowed
    if same_account:
        if identity.allowed:
            return identity
        if rp_allows:
            assert resource_decision is not None
            return Decision(ALLOWED, action, resource, resource_decision.statement, source="resource")
        return Decision(IMPLICIT_DENY, action, resource)
    # Another account's caller: both must allow.
    if not identity.allowed:
        return Decision(IMPLICIT_DENY, action, resource)
    if not rp_allows:
        return Decision(IMPLICIT_DENY, action, resource, source="resource")
    return identity
