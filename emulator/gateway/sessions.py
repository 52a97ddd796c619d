"""Temporary credentials: STS AssumeRole and GetSessionToken, served by the gateway.

moto would mint credentials that the gateway has never seen, so every call signed with them
was refused (UnrecognizedClientException). The gateway mints them here instead: an ``ASIA``
key id, a secret, a session token and an expiry. A request signed with them must carry the
token (``X-Amz-Security-Token``, a header or a presigned URL's query parameter).

* AssumeRole: the role is one of moto's (roles are served by the fallback,
  emulator/handlers/iam.py); root may not assume roles. The role's trust policy is a
  resource-based policy (IAM User Guide, "Policy evaluation logic"), evaluated by the same
  engine as every policy (emulator/gateway/resource_policy.py, policy.py): Principal /
  NotPrincipal, Action / NotAction, Condition, with the request's keys (``request_keys``:
  sts:ExternalId, sts:RoleSessionName, sts:SourceIdentity, sts:TransitiveTagKeys,
  aws:RequestTag/*, aws:TagKeys, aws:MultiFactorAuthPresent) and the global and principal
  ones. An explicit Deny of either policy wins. The trust policy must allow (a role trust
  policy is an exception to "either policy allows in the same account": it "must explicitly
  allow access for principals"); a trust policy naming the caller itself (its ARN, its role's
  for a session, or ``*``) is enough on its own, as for any resource-based policy in the same
  account; one naming the account delegates to the caller's identity policies, which must
  then allow ``sts:AssumeRole`` on the role. The authorizer (emulator/gateway/authorize.py)
  joins the identity policies with the statements naming the caller (``governing``); here
  the trust policy is checked with the account named too (``_check_trust``). Passing ``Tags``
  needs ``sts:TagSession`` and ``SourceIdentity`` ``sts:SetSourceIdentity``, both allowed the
  same way (IAM User Guide, "Passing session tags in AWS STS", "Monitor and control actions
  taken with assumed roles"). The session is authorized with the role's policies (inline and
  attached, read from moto when a request is authorized); its tags are its principal tags.
* AssumeRoleWithWebIdentity: an OpenID Connect token (emulator/gateway/web_identity.py; the
  signature is not verified) for a role whose trust policy allows
  ``sts:AssumeRoleWithWebIdentity`` to ``{"Federated": <provider ARN>}``.
* GetSessionToken: a session of the caller itself, with its own policies.

Session policies (``Policy``, ``PolicyArns``), MFA (``SerialNumber``, ``TokenCode``: the
gateway knows no MFA device) and ``ProvidedContexts`` are refused with a ValidationError
rather than ignored. Without MFA, aws:MultiFactorAuthPresent is absent for a long-term key
and "false" for session credentials (IAM User Guide, "AWS global condition context keys").

Sessions outlive a restart, as AWS's last until they expire: each new one is appended (and
fsynced before the credentials are answered) to ``<data_dir>/sessions.jsonl``, its secret and
token encrypted with the key store's master key (emulator/gateway/keys.py, SecretBox). Another
gateway process on the same data dir finds a session it does not know in that file too.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import os
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from emulator.context import Principal
from emulator.errors import AwsError
from emulator.gateway import web_identity
from emulator.gateway.keys import AccessKey, SecretBox
from emulator.gateway.policy import ALLOWED, IMPLICIT_DENY, Decision, PolicySet
from emulator.gateway.resource_policy import (
    Caller,
    InvalidPolicy,
    ResourcePolicy,
    caller_of,
    parse_resource_policy,
)

_SESSION_NAME = re.compile(r"^[\w+=,.@-]{2,64}$")
_UNSUPPORTED = ("Policy", "PolicyArns", "SerialNumber", "TokenCode", "ProvidedContexts")
_UNSUPPORTED_TOKEN = ("Policy", "PolicyArns", "SerialNumber", "TokenCode", "Tags", "TransitiveTagKeys", "SourceIdentity", "ProvidedContexts")
_UNSUPPORTED_WEB = ("Policy", "PolicyArns", "ProviderId")
MAX_SESSIONS = 10_000
log = logging.getLogger("emulator.sessions")
KEPT_EXPIRED = 86_400.0  # seconds an expired session still answers ExpiredToken


@dataclass
class Session:
    key: AccessKey  # the ASIA... key; user_name is the base user ("root" for root's own sessions)
    token: str
    expires: float
    arn: str
    user_id: str
    role_arn: str | None = None
    tags: dict[str, str] = field(default_factory=dict)  # session tags: the session's principal tags
    transitive: tuple[str, ...] = ()  # the keys of ``tags`` that a role chained from it keeps
    source_identity: str | None = None


def _id(prefix: str, n: int = 16) -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
    return prefix + "".join(secrets.choice(alphabet) for _ in range(n))


def _validation(message: str) -> AwsError:
    return AwsError("ValidationError", message, 400)


def _denied(caller: Principal, role_arn: str, action: str = "sts:AssumeRole") -> AwsError:
    return AwsError("AccessDenied", f"User: {caller.arn} is not authorized to perform: {action} on resource: {role_arn}", 403)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


# ------------------------------------------------------------ trust policies
@functools.lru_cache(maxsize=512)
def _trust_policy(document: str, account: str) -> ResourcePolicy | None:
    """A role's trust policy as a resource-based policy of the role (its statements name no
    Resource: the role is theirs, so they get ``"Resource": "*"``); None when it cannot be
    read (IAM refuses such a document at CreateRole: it trusts no one)."""
    try:
        data = orjson.loads(document)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(data, dict):
        return None
    statements = [dict(st, Resource="*") if isinstance(st, dict) and "Resource" not in st and "NotResource" not in st else st
                  for st in _as_list(data.get("Statement"))]
    try:
        policy, _ = parse_resource_policy(orjson.dumps({**data, "Statement": statements}).decode(), account)
    except (InvalidPolicy, AwsError):  # a principal ARN with a wildcard, a malformed statement...
        return None
    return policy


def trust_policy_of(role: Any, account: str) -> ResourcePolicy | None:
    document = getattr(role, "assume_role_policy_document", None)
    if isinstance(document, dict):
        document = orjson.dumps(document).decode()
    return _trust_policy(document, account) if isinstance(document, str) else None


def trust_decision(policy: ResourcePolicy | None, caller: Caller, action: str, role_arn: str, context: dict[str, Any]) -> Decision:
    """The trust policy's decision on ``action`` for ``caller`` (the policy engine's, with the
    request's ``context`` keys, policy variables included)."""
    if policy is None:
        return Decision(IMPLICIT_DENY, action, role_arn, source="resource")
    statements = policy.for_caller(caller)
    variables = {k: v for k, v in context.items() if isinstance(v, str)} if statements.uses_variables else None
    found = statements.evaluate(action, role_arn, context, variables)  # cached by the PolicySet: not changed
    return Decision(found.decision, action, role_arn, found.statement, source="resource")


def request_keys(params: dict[str, Any], principal: Principal | None) -> dict[str, Any]:
    """The condition keys of an STS request (IAM User Guide, "Actions, resources, and condition
    keys for AWS STS" and "AWS global condition context keys"), lower-cased."""
    out: dict[str, Any] = {}
    for name, key in (("ExternalId", "sts:externalid"), ("RoleSessionName", "sts:rolesessionname"), ("SourceIdentity", "sts:sourceidentity")):
        if isinstance(params.get(name), str):
            out[key] = params[name]
    tags = _tags(params)
    for key, value in tags.items():
        out[f"aws:requesttag/{key.lower()}"] = value
    if tags:
        out["aws:tagkeys"] = list(tags)
    if params.get("TransitiveTagKeys"):
        out["sts:transitivetagkeys"] = [str(k) for k in params["TransitiveTagKeys"]]
    if principal is not None and principal.access_key_id.startswith("ASIA"):
        out["aws:multifactorauthpresent"] = "false"  # no session is made with MFA here
    return out


def _tags(params: dict[str, Any]) -> dict[str, str]:
    tags = params.get("Tags") or []
    return {str(t.get("Key")): str(t.get("Value", "")) for t in tags if isinstance(t, dict)}


def governing(iam_backend: Any, ctx_params: dict[str, Any], account: str, reqs: list[tuple[str, str]]) -> list[tuple[str, ResourcePolicy] | None] | None:
    """For the authorizer: the role's trust policy for the requirements on the role of an
    AssumeRole (None: no role, or no readable trust policy)."""
    role_arn = ctx_params.get("RoleArn")
    if not isinstance(role_arn, str):
        return None
    try:
        role = iam_backend.get_role_by_arn(role_arn)
    except Exception:  # noqa: BLE001 - no such role: AssumeRole refuses it (assume_role)
        return None
    policy = trust_policy_of(role, account)
    if policy is None:
        return None
    return [(role_arn, policy) if resource == role_arn else None for _, resource in reqs]


def _duration(params: dict[str, Any], lo: int, hi: int, default: int) -> int:
    seconds = params.get("DurationSeconds")
    if seconds is None:
        return default
    if not lo <= int(seconds) <= hi:
        raise _validation(f"1 validation error detected: Value '{seconds}' at 'durationSeconds' failed to satisfy constraint: "
                          f"Member must have value {'greater than or equal to ' + str(lo) if int(seconds) < lo else 'less than or equal to ' + str(hi)}")
    return int(seconds)


class _Journal:
    """``sessions.jsonl``: one line per session issued, appended and fsynced; a line ``{}``
    after a reset forgets every line before it. Rewritten without the long-expired ones when
    they are most of it."""

    def __init__(self, data_dir: Path) -> None:
        self.path = Path(data_dir) / "sessions.jsonl"
        self._box = SecretBox(Path(data_dir) / "master.key")
        self.offset = 0  # bytes of the file read so far

    def read_new(self) -> list[Session | None]:
        """Sessions in lines appended since the last read (None: forget the ones before)."""
        try:
            size = os.stat(self.path).st_size
        except FileNotFoundError:
            size = 0
        if size == self.offset:
            return []  # the usual case for an unknown key: one stat
        out: list[Session | None] = []
        if size < self.offset:  # rewritten by a reset or a compaction: read it again from the start
            self.offset = 0
            out.append(None)
        try:
            with open(self.path, "rb") as fh:
                fh.seek(self.offset)
                data = fh.read()
        except FileNotFoundError:
            return out
        end = data.rfind(b"\n") + 1  # a line still being written by another process waits
        self.offset += end
        for line in data[:end].splitlines():
            try:
                item = orjson.loads(line)
                if not item:
                    out.append(None)
                    continue
                key = AccessKey(item["id"], self._box.decrypt(item["secret"]), item["user"], "Active", item["created"])
                out.append(Session(key, self._box.decrypt(item["token"]), item["expires"], item["arn"], item["user_id"], item.get("role_arn"),
                                   dict(item.get("tags") or {}), tuple(item.get("transitive") or ()), item.get("source_identity")))
            except Exception as exc:  # noqa: BLE001 - a torn or foreign line: skip it, keep the rest
                log.warning("sessions.jsonl: skipped an unreadable line (%s)", type(exc).__name__)
        return out

    def _line(self, session: Session | None) -> bytes:
        if session is None:
            return b"{}\n"
        key = session.key
        return orjson.dumps({"id": key.access_key_id, "secret": self._box.encrypt(key.secret_access_key), "user": key.user_name,
                             "created": key.created, "token": self._box.encrypt(session.token), "expires": session.expires,
                             "arn": session.arn, "user_id": session.user_id, "role_arn": session.role_arn, "tags": session.tags,
                             "transitive": list(session.transitive), "source_identity": session.source_identity}) + b"\n"

    def append(self, session: Session | None) -> None:
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            os.write(fd, self._line(session))
            os.fsync(fd)
        finally:
            os.close(fd)

    def rewrite(self, sessions: list[Session]) -> None:
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(b"".join(self._line(s) for s in sessions))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path)
        self.offset = self.path.stat().st_size


class Sessions:
    def __init__(self, account_id: str, clock: Any = time.time, data_dir: Path | None = None) -> None:
        self.account_id = account_id
        self.clock = clock
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()
        self._journal = _Journal(data_dir) if data_dir is not None else None
        if self._journal is not None:
            with self._lock:
                self._catch_up()
                live = [s for s in self._sessions.values() if s.expires > self.clock() - KEPT_EXPIRED]
                if self._journal.offset and len(live) < len(self._sessions) // 2 + 1:
                    self._sessions = {s.key.access_key_id: s for s in live}
                    self._journal.rewrite(live)

    def _catch_up(self) -> None:
        """Sessions other processes (or this one, before a restart) wrote. Under the lock."""
        assert self._journal is not None
        for session in self._journal.read_new():
            if session is None:
                self._sessions.clear()
            else:
                self._sessions[session.key.access_key_id] = session

    def get(self, access_key_id: str, expired: bool = False) -> Session | None:
        """The live session of a key; with ``expired``, also one that has expired (kept a day,
        so that its requests get ExpiredToken rather than an unknown key)."""
        session = self._sessions.get(access_key_id)
        if session is None and self._journal is not None:
            with self._lock:  # an unknown ASIA key: perhaps another gateway's new session
                self._catch_up()
            session = self._sessions.get(access_key_id)
        if session is None:
            return None
        now = self.clock()
        if session.expires <= now:
            if now - session.expires > KEPT_EXPIRED:
                with self._lock:
                    self._sessions.pop(access_key_id, None)
                return None
            return session if expired else None
        return session

    def reset(self) -> None:
        """Forget every session (``POST /_emulator/reset``): their keys become unknown, so a
        request signed with one gets the error for a key that never existed
        (InvalidClientTokenId, UnrecognizedClientException), not ExpiredToken, which SDKs
        would answer by refreshing the credentials of a role that is gone too."""
        with self._lock:
            self._sessions.clear()
            if self._journal is not None:
                self._journal.rewrite([])

    def _issue(self, session: Session) -> dict[str, Any]:
        """Keep a new session; its STS ``Credentials``."""
        key = session.key
        with self._lock:
            now = self.clock()
            if len(self._sessions) >= MAX_SESSIONS:  # long-expired ones first, then the oldest
                for kid in [k for k, s in self._sessions.items() if s.expires <= now - KEPT_EXPIRED] or list(self._sessions)[: MAX_SESSIONS // 10]:
                    del self._sessions[kid]
            self._sessions[key.access_key_id] = session
            if self._journal is not None:
                # On disk before the credentials are answered: they sign requests after a restart.
                self._journal.append(session)
        return {"AccessKeyId": key.access_key_id, "SecretAccessKey": key.secret_access_key, "SessionToken": session.token,
                "Expiration": dt.datetime.fromtimestamp(session.expires, dt.UTC)}

    def _new(self, user_name: str, seconds: int, arn: str, user_id: str, role_arn: str | None) -> Session:
        key = AccessKey(_id("ASIA"), secrets.token_urlsafe(30)[:40], user_name, "Active", self.clock())
        return Session(key, secrets.token_urlsafe(96), self.clock() + seconds, arn, user_id, role_arn)

    def _role_session(self, role: Any, session_name: str, params: dict[str, Any]) -> Session:
        seconds = _duration(params, 900, 43200, 3600)
        if seconds > int(getattr(role, "max_session_duration", 3600) or 3600):
            raise _validation("The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
        arn = f"arn:aws:sts::{self.account_id}:assumed-role/{role.name}/{session_name}"
        return self._new(f"assumed-role/{role.name}/{session_name}", seconds, arn, f"{role.id}:{session_name}", role.arn)

    # ------------------------------------------------------------ STS operations
    def assume_role(self, caller: Principal, params: dict[str, Any], iam_backend: Any, context: dict[str, Any] | None = None,
                    identity: dict[str, str] | None = None) -> dict[str, Any]:
        """AssumeRole; ``context``: the request's condition keys (global, principal and
        ``request_keys``), ``identity``: the caller's principal keys (Authorizer.identity)."""
        for name in _UNSUPPORTED:
            if params.get(name):
                raise _validation(f"{name} is not supported by this emulator's AssumeRole.")
        role_arn = str(params.get("RoleArn") or "")
        session_name = str(params.get("RoleSessionName") or "")
        if not _SESSION_NAME.match(session_name):
            raise _validation(f"1 validation error detected: Value '{session_name}' at 'roleSessionName' failed to satisfy constraint: "
                              "Member must satisfy regular expression pattern: [\\w+=,.@-]*")
        if caller.is_root:
            raise AwsError("AccessDenied", "Roles may not be assumed by root accounts.", 403)
        try:
            role = iam_backend.get_role_by_arn(role_arn)
        except Exception:  # noqa: BLE001 - moto's NotFound (and a malformed ARN): AWS answers both as a refusal
            raise _denied(caller, role_arn) from None
        context = dict(context) if context is not None else {**request_keys(params, caller), "aws:principalarn": caller.arn}
        self._check_trust(caller, role, params, context, identity)
        session = self._role_session(role, session_name, params)
        self._inherit(session, self.get(caller.access_key_id) if caller.access_key_id.startswith("ASIA") else None, params)
        answer: dict[str, Any] = {"Credentials": self._issue(session), "AssumedRoleUser": {"AssumedRoleId": session.user_id, "Arn": session.arn},
                                  "PackedPolicySize": 0}
        if session.source_identity:
            answer["SourceIdentity"] = session.source_identity
        return answer

    def _check_trust(self, caller: Principal, role: Any, params: dict[str, Any], context: dict[str, Any], identity: dict[str, str] | None) -> None:
        """The role's trust policy must allow each action of the request, for the caller as
        it names it directly or through its account (whose identity policies the authorizer
        asked already)."""
        account_root = f"arn:aws:iam::{caller.account_id}:root"
        named = caller_of(caller.arn, caller.account_id, False, identity)
        trusted = Caller(named.arns | {account_root}, caller.account_id, False, identity)
        policy = trust_policy_of(role, self.account_id)
        actions = ["sts:AssumeRole"]
        if params.get("Tags") or params.get("TransitiveTagKeys"):
            actions.append("sts:TagSession")
        if params.get("SourceIdentity"):
            actions.append("sts:SetSourceIdentity")
        for action in actions:
            if trust_decision(policy, trusted, action, role.arn, context).decision != ALLOWED:
                raise _denied(caller, str(params.get("RoleArn") or role.arn), action)

    @staticmethod
    def _inherit(session: Session, chained_from: Session | None, params: dict[str, Any]) -> None:
        """Session tags and source identity: the request's, and in role chaining the previous
        session's transitive tags and source identity, which may not be changed (IAM User Guide,
        "Chaining roles with session tags"; "sts:SourceIdentity")."""
        tags = _tags(params)
        transitive = [str(k) for k in params.get("TransitiveTagKeys") or []]
        lowered = {k.lower() for k in tags}
        if any(k.lower() not in lowered for k in transitive):
            raise _validation("TransitiveTagKeys must be keys of the Tags of the request.")  # ours
        kept: dict[str, str] = {}
        if chained_from is not None:
            kept = {k: v for k, v in chained_from.tags.items() if k in chained_from.transitive}
            for key, value in tags.items():
                if any(k.lower() == key.lower() and v != value for k, v in kept.items()):
                    raise _validation(f"The transitive session tag {key} cannot be changed in role chaining.")  # ours
            wanted = params.get("SourceIdentity")
            if chained_from.source_identity and wanted and wanted != chained_from.source_identity:
                raise _validation("The source identity of a role chain cannot be changed.")  # ours
            session.source_identity = chained_from.source_identity
        session.tags = {**kept, **tags}
        session.transitive = tuple(dict.fromkeys([*kept, *transitive]))
        session.source_identity = session.source_identity or params.get("SourceIdentity") or None

    def assume_role_with_web_identity(self, params: dict[str, Any], iam_backend: Any, context: dict[str, Any]) -> dict[str, Any]:
        """AssumeRoleWithWebIdentity: the token (web_identity.verify) and the role's trust
        policy, for the provider's Federated principal and the token's condition keys."""
        for name in _UNSUPPORTED_WEB:
            if params.get(name):
                raise _validation(f"{name} is not supported by this emulator's AssumeRoleWithWebIdentity.")
        session_name = str(params.get("RoleSessionName") or "")
        if not _SESSION_NAME.match(session_name):
            raise _validation(f"1 validation error detected: Value '{session_name}' at 'roleSessionName' failed to satisfy constraint: "
                              "Member must satisfy regular expression pattern: [\\w+=,.@-]*")
        who = web_identity.verify(str(params.get("WebIdentityToken") or ""), iam_backend, self.clock())
        # AWS's text, for a role that is not there as for one whose trust policy refuses.
        refused = AwsError("AccessDenied", "Not authorized to perform sts:AssumeRoleWithWebIdentity", 403)
        role_arn = str(params.get("RoleArn") or "")
        try:
            role = iam_backend.get_role_by_arn(role_arn)
        except Exception:  # noqa: BLE001 - no such role
            raise refused from None
        caller = Caller(frozenset({f"Federated:{who.provider_arn}"}), self.account_id)
        keys = {**context, **who.context(), "sts:rolesessionname": session_name}
        if trust_decision(trust_policy_of(role, self.account_id), caller, "sts:AssumeRoleWithWebIdentity", role.arn, keys).decision != ALLOWED:
            raise refused
        session = self._role_session(role, session_name, params)
        return {"Credentials": self._issue(session), "SubjectFromWebIdentityToken": who.subject,
                "AssumedRoleUser": {"AssumedRoleId": session.user_id, "Arn": session.arn}, "PackedPolicySize": 0,
                "Provider": who.issuer, "Audience": who.audience}

    def session_token(self, caller: Principal, params: dict[str, Any], user_id: str) -> dict[str, Any]:
        for name in _UNSUPPORTED_TOKEN:
            if params.get(name):
                raise _validation(f"{name} is not supported by this emulator's GetSessionToken.")
        if caller.user_name.startswith("assumed-role/"):
            raise AwsError("AccessDenied", "Cannot call GetSessionToken with session credentials", 403)
        seconds = _duration(params, 900, 3600 if caller.is_root else 129600, 3600 if caller.is_root else 43200)
        return {"Credentials": self._issue(self._new(caller.user_name, seconds, caller.arn, user_id, None))}

    # ------------------------------------------------------------ authorization
    def role_policies(self, session: Session, iam_backend: Any) -> PolicySet:
        """The role's inline and attached policies, as moto holds them now."""
        try:
            role = iam_backend.get_role_by_arn(session.role_arn)
        except Exception:  # noqa: BLE001 - the role was deleted: the session may do nothing
            return PolicySet.from_documents([])
        docs = [doc if isinstance(doc, str) else orjson.dumps(doc).decode() for doc in role.policies.values()]
        for policy in role.managed_policies.values():
            # moto keeps a managed policy's documents in its versions (ManagedPolicy has no .document).
            doc = next((v.document for v in policy.versions if v.version_id == policy.default_version_id), None)
            if doc is not None:
                docs.append(doc if isinstance(doc, str) else orjson.dumps(doc).decode())
        return PolicySet.from_documents(docs)


class SessionKeys:
    """The key store as signature checks see it: the session keys first (``ASIA...``)."""

    def __init__(self, keys: Any, sessions: Sessions) -> None:
        self.keys = keys
        self.sessions = sessions

    def get(self, access_key_id: str) -> AccessKey | None:
        if access_key_id.startswith("ASIA"):
            # An expired session's key still verifies its signature; the gateway then answers
            # ExpiredToken (emulator.app), which SDKs take as "refresh the credentials".
            session = self.sessions.get(access_key_id, expired=True)
            return session.key if session is not None else None
        key: AccessKey | None = self.keys.get(access_key_id)
        return key
