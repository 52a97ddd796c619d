"""Temporary credentials: STS AssumeRole and GetSessionToken, served by the gateway.

moto would mint credentials that the gateway has never seen, so every call signed with them
was refused (UnrecognizedClientException). The gateway mints them here instead: an ``ASIA``
key id, a secret, a session token and an expiry. A request signed with them must carry the
token (``X-Amz-Security-Token``, a header or a presigned URL's query parameter).

* AssumeRole: the role is one of moto's (roles are served by the fallback,
  emulator/handlers/iam.py). As AWS does, the caller must be allowed ``sts:AssumeRole`` on
  the role (the gateway's authorizer checks that before) and by the role's trust policy;
  root may not assume roles. The session is authorized with the role's policies (inline and
  attached, read from moto when a request is authorized).
* GetSessionToken: a session of the caller itself, with its own policies.

Session policies (``Policy``, ``PolicyArns``), MFA and tags on sessions are refused with a
ValidationError rather than ignored.

Sessions outlive a restart, as AWS's last until they expire: each new one is appended (and
fsynced before the credentials are answered) to ``<data_dir>/sessions.jsonl``, its secret and
token encrypted with the key store's master key (emulator/gateway/keys.py, SecretBox). Another
gateway process on the same data dir finds a session it does not know in that file too.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import secrets
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from emulator.context import Principal
from emulator.errors import AwsError
from emulator.gateway.keys import AccessKey, SecretBox
from emulator.gateway.policy import PolicySet

_SESSION_NAME = re.compile(r"^[\w+=,.@-]{2,64}$")
_UNSUPPORTED = ("Policy", "PolicyArns", "SerialNumber", "TokenCode", "Tags", "TransitiveTagKeys", "SourceIdentity", "ProvidedContexts")
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


def _id(prefix: str, n: int = 16) -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
    return prefix + "".join(secrets.choice(alphabet) for _ in range(n))


def _validation(message: str) -> AwsError:
    return AwsError("ValidationError", message, 400)


def _denied(caller: Principal, role_arn: str) -> AwsError:
    return AwsError("AccessDenied", f"User: {caller.arn} is not authorized to perform: sts:AssumeRole on resource: {role_arn}", 403)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _trusts(document: str, caller: Principal) -> bool:
    """Whether a role's trust policy lets ``caller`` assume it: an Allow statement for
    sts:AssumeRole naming the caller (its ARN, its account, the account's root, or "*") and
    no such Deny."""
    try:
        doc = orjson.loads(document)
    except orjson.JSONDecodeError:
        return False
    names = {caller.arn, caller.account_id, f"arn:aws:iam::{caller.account_id}:root", "*"}
    allowed = False
    for stmt in _as_list(doc.get("Statement") if isinstance(doc, dict) else None):
        if not isinstance(stmt, dict):
            continue
        actions = [str(a).lower() for a in _as_list(stmt.get("Action") or [])]
        if not any(a in ("sts:assumerole", "sts:*", "*") for a in actions):
            continue
        principal = stmt.get("Principal")
        if principal == "*":
            matched = True
        elif isinstance(principal, dict):
            matched = any(str(p) in names for p in _as_list(principal.get("AWS") or []))
        else:
            matched = False
        if not matched:
            continue
        if stmt.get("Effect") == "Deny":
            return False
        if stmt.get("Effect") == "Allow":
            allowed = True
    return allowed


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
                out.append(Session(key, self._box.decrypt(item["token"]), item["expires"], item["arn"], item["user_id"], item.get("role_arn")))
            except Exception as exc:  # noqa: BLE001 - a torn or foreign line: skip it, keep the rest
                log.warning("sessions.jsonl: skipped an unreadable line (%s)", type(exc).__name__)
        return out

    def _line(self, session: Session | None) -> bytes:
        if session is None:
            return b"{}\n"
        key = session.key
        return orjson.dumps({"id": key.access_key_id, "secret": self._box.encrypt(key.secret_access_key), "user": key.user_name,
                             "created": key.created, "token": self._box.encrypt(session.token), "expires": session.expires,
                             "arn": session.arn, "user_id": session.user_id, "role_arn": session.role_arn}) + b"\n"

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

    def _issue(self, user_name: str, seconds: int, arn: str, user_id: str, role_arn: str | None) -> dict[str, Any]:
        """A new session's key; its STS ``Credentials``."""
        key = AccessKey(_id("ASIA"), secrets.token_urlsafe(30)[:40], user_name, "Active", self.clock())
        session = Session(key, secrets.token_urlsafe(96), self.clock() + seconds, arn, user_id, role_arn)
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

    # ------------------------------------------------------------ STS operations
    def assume_role(self, caller: Principal, params: dict[str, Any], iam_backend: Any) -> dict[str, Any]:
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
        if not _trusts(role.assume_role_policy_document, caller):
            raise _denied(caller, role_arn)
        seconds = _duration(params, 900, 43200, 3600)
        if seconds > int(getattr(role, "max_session_duration", 3600) or 3600):
            raise _validation("The requested DurationSeconds exceeds the MaxSessionDuration set for this role.")
        arn = f"arn:aws:sts::{self.account_id}:assumed-role/{role.name}/{session_name}"
        user_id = f"{role.id}:{session_name}"
        credentials = self._issue(f"assumed-role/{role.name}/{session_name}", seconds, arn, user_id, role.arn)
        return {"Credentials": credentials, "AssumedRoleUser": {"AssumedRoleId": user_id, "Arn": arn}, "PackedPolicySize": 0}

    def session_token(self, caller: Principal, params: dict[str, Any], user_id: str) -> dict[str, Any]:
        for name in _UNSUPPORTED:
            if params.get(name):
                raise _validation(f"{name} is not supported by this emulator's GetSessionToken.")
        if caller.user_name.startswith("assumed-role/"):
            raise AwsError("AccessDenied", "Cannot call GetSessionToken with session credentials", 403)
        seconds = _duration(params, 900, 3600 if caller.is_root else 129600, 3600 if caller.is_root else 43200)
        credentials = self._issue(caller.user_name, seconds, caller.arn, user_id, None)
        return {"Credentials": credentials}

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
