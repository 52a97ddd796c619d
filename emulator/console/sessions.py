"""Server-side console sessions: a random id in an HttpOnly cookie, state kept here.

Every session (signed in or not) carries its own CSRF token; state-changing
requests must echo it (form field ``_csrf`` or header ``X-CSRF-Token``). Signing
in issues a fresh session id, so a session id planted before sign-in is useless.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from dataclasses import dataclass, field

from emulator.context import Principal

COOKIE_NAME = "emulator_console"
IDLE_TIMEOUT = 12 * 3600.0  # seconds a session lives without a request
MAX_SESSIONS = 2000


@dataclass
class Session:
    sid: str
    csrf: str
    principal: Principal | None = None
    created: float = field(default_factory=time.time)
    last_seen: float = field(default_factory=time.time)
    flashes: list[tuple[str, str]] = field(default_factory=list)  # (kind, message) shown once
    region: str = ""  # the region the console works in ("": the server's own, setting ``region``)

    def check_csrf(self, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(self.csrf, token or "")

    def flash(self, kind: str, message: str) -> None:
        # Some AWS messages list every enum value: keep the banner readable.
        self.flashes.append((kind, message if len(message) <= 600 else message[:600] + "…"))

    def pop_flashes(self) -> list[tuple[str, str]]:
        out, self.flashes = self.flashes, []
        return out


class SessionStore:
    def __init__(self, idle_timeout: float = IDLE_TIMEOUT, max_sessions: int = MAX_SESSIONS) -> None:
        self.idle_timeout = idle_timeout
        self.max_sessions = max_sessions
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    def new(self, principal: Principal | None = None) -> Session:
        session = Session(sid=secrets.token_urlsafe(32), csrf=secrets.token_urlsafe(32), principal=principal)
        with self._lock:
            self._expire()
            if len(self._sessions) >= self.max_sessions:
                # Drop the least recently used anonymous sessions first, then any.
                victims = sorted(self._sessions.values(), key=lambda s: (s.principal is not None, s.last_seen))
                for victim in victims[: len(self._sessions) - self.max_sessions + 1]:
                    del self._sessions[victim.sid]
            self._sessions[session.sid] = session
        return session

    def get(self, sid: str | None) -> Session | None:
        if not sid:
            return None
        with self._lock:
            session = self._sessions.get(sid)
            if session is None:
                return None
            now = time.time()
            if now - session.last_seen > self.idle_timeout:
                del self._sessions[sid]
                return None
            session.last_seen = now
            return session

    def delete(self, sid: str) -> None:
        with self._lock:
            self._sessions.pop(sid, None)

    def drop_key(self, access_key_id: str) -> None:
        """Sign out every session of a key (used when the key is deleted or disabled)."""
        with self._lock:
            for sid in [s.sid for s in self._sessions.values() if s.principal and s.principal.access_key_id == access_key_id]:
                del self._sessions[sid]

    def _expire(self) -> None:
        now = time.time()
        for sid in [s.sid for s in self._sessions.values() if now - s.last_seen > self.idle_timeout]:
            del self._sessions[sid]

    def __len__(self) -> int:
        return len(self._sessions)


class SignInLimiter:
    """Refuses sign-in for a (client, access key id) after too many wrong secrets in a window:
    online guessing of one key's secret gets nowhere, other keys and clients are unaffected."""

    def __init__(self, max_failures: int = 10, window: float = 300.0) -> None:
        self.max_failures = max_failures
        self.window = window
        self._failures: dict[tuple[str, str], list[float]] = {}
        self._lock = threading.Lock()

    def blocked(self, client: str, key_id: str) -> bool:
        now = time.time()
        with self._lock:
            times = [t for t in self._failures.get((client, key_id), []) if now - t < self.window]
            if times:
                self._failures[(client, key_id)] = times
            else:
                self._failures.pop((client, key_id), None)
            return len(times) >= self.max_failures

    def failed(self, client: str, key_id: str) -> None:
        with self._lock:
            if len(self._failures) > 10_000:  # bounded memory under a flood of made-up ids
                self._failures.clear()
            self._failures.setdefault((client, key_id), []).append(time.time())

    def succeeded(self, client: str, key_id: str) -> None:
        with self._lock:
            self._failures.pop((client, key_id), None)
