"""The console's request plumbing: routing, sign-in, sessions, CSRF, static files.

The console is a non-AWS route (``/_emulator/console/``). It never imports other
services: every AWS action goes through ``runtime.app.invoke`` with the signed-in
principal, so access policies apply to the console exactly as to the API.
"""

from __future__ import annotations

import hmac
import io
import logging
import mimetypes
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from http.cookies import CookieError, SimpleCookie
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from emulator import services
from emulator.console import html as h
from emulator.console.sessions import COOKIE_NAME, Session, SessionStore, SignInLimiter
from emulator.context import Principal, RequestContext
from emulator.errors import AwsError
from emulator.protocols.base import Request, Response
from emulator.regions import REGIONS

if TYPE_CHECKING:
    from emulator.runtime import Runtime

log = logging.getLogger("emulator.console")

STATIC_DIR = Path(__file__).parent / "static"
SECURITY_HEADERS = {
    # The console loads nothing from elsewhere (works offline): lock it down.
    "content-security-policy": "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; form-action 'self'",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
    "cache-control": "no-store",
}


@dataclass
class Upload:
    """A file of a multipart form post."""

    filename: str
    content_type: str
    data: bytes


def parse_multipart(request: Request) -> tuple[dict[str, str], dict[str, Upload]]:
    """The fields (last value wins) and files of a multipart/form-data body, with werkzeug's
    parser (installed with moto's server); the body is in memory already (max_body_bytes)."""
    from werkzeug.exceptions import HTTPException
    from werkzeug.formparser import parse_form_data

    environ = {"REQUEST_METHOD": "POST", "CONTENT_TYPE": request.headers.get("content-type", ""), "CONTENT_LENGTH": str(len(request.body)),
               "wsgi.input": io.BytesIO(request.body)}
    try:
        _, form, files = parse_form_data(environ, silent=False)
    except (ValueError, HTTPException) as exc:  # a malformed body
        raise AwsError("MalformedForm", f"The form could not be read: {exc}", 400) from exc
    fields = {name: form.getlist(name)[-1] for name in form}
    uploads = {name: Upload(f.filename or "", f.mimetype or "", f.read()) for name, f in files.items()}
    return fields, uploads


@dataclass
class Call:
    """One console request as the page functions see it."""

    request: Request
    ctx: RequestContext
    session: Session
    path: str  # below the console prefix, starting with "/"
    _multipart: tuple[dict[str, str], dict[str, Upload]] | None = None

    @property
    def principal(self) -> Principal:
        assert self.session.principal is not None
        return self.session.principal

    @property
    def csrf(self) -> str:
        return self.session.csrf

    def q(self, name: str, default: str = "") -> str:
        value = self.request.query_one(name)
        return default if value is None else value

    def f(self, name: str, default: str = "") -> str:
        if self.request.content_type == "multipart/form-data":
            return self.multipart()[0].get(name, default)
        return self.request.form.get(name, default)

    def multipart(self) -> tuple[dict[str, str], dict[str, Upload]]:
        """The fields and files of a multipart/form-data post (a file upload), read once."""
        if self._multipart is None:
            self._multipart = parse_multipart(self.request)
        return self._multipart


PageFn = Callable[["Console", Call], Awaitable[Response]]


class RequestCounter:
    """A request-recorder consumer: requests over the last minute (the requests/s gauge) and, from the
    telemetry inference handlers leave in ``ctx.telemetry``, recent decode speed per instance."""

    def __init__(self) -> None:
        self.times: deque[float] = deque(maxlen=100_000)
        self.total = 0
        # (monotonic time, instance id, output tokens, decode seconds)
        self.generations: deque[tuple[float, str, int, float]] = deque(maxlen=10_000)
        # The request recorder's flush: readers first take the requests answered so far.
        self.drain: Callable[[], Any] | None = None

    def consume(self, records: list[Any]) -> None:
        """A batch from the request recorder: (ctx, response, seconds, epoch)."""
        # Monotonic time of each answer, from its epoch time and this batch's offset.
        offset = time.monotonic() - time.time()
        self.times.extend([epoch + offset for _ctx, _response, _seconds, epoch in records])
        self.total += len(records)
        for ctx, _response, seconds, epoch in records:
            tel = ctx.telemetry
            if tel:
                self._generation(tel, seconds, epoch + offset)

    def _generation(self, tel: dict[str, Any], elapsed: float, now: float) -> None:
        instance, tokens = tel.get("instance_id"), tel.get("output_tokens")
        if instance and isinstance(tokens, int) and tokens > 0:
            latency = float(tel.get("latency_ms") or elapsed * 1000)
            first = float(tel.get("first_byte_ms") or 0)
            seconds = max((latency - first) / 1000, 1e-3)
            self.generations.append((now, str(instance), tokens, seconds))

    def tokens_per_second(self, instance_id: str, window: float = 60.0) -> float | None:
        """Decode speed of the instance's generations that finished in the last ``window`` seconds."""
        if self.drain is not None:
            self.drain()
        now = time.monotonic()
        recent = [(t, s) for when, iid, t, s in self.generations if iid == instance_id and now - when <= window]
        if not recent:
            return None
        return sum(t for t, _ in recent) / sum(s for _, s in recent)

    def rate(self, window: float = 5.0) -> float:
        if self.drain is not None:
            self.drain()
        now = time.monotonic()
        while self.times and now - self.times[0] > 60.0:
            self.times.popleft()
        recent = sum(1 for t in self.times if now - t <= window)
        return recent / window


class Console:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.sessions = SessionStore()
        self.signin_limiter = SignInLimiter()
        self.counter = RequestCounter()
        runtime.recorder.consumers.append(self.counter)
        self.counter.drain = runtime.recorder.flush
        self.pages: dict[tuple[str, str], PageFn] = {}
        self.prefix_pages: list[tuple[str, str, PageFn]] = []
        from emulator.console import pages

        pages.register(self)

    # --------------------------------------------------------------- registry
    def page(self, method: str, path: str) -> Callable[[PageFn], PageFn]:
        def mark(fn: PageFn) -> PageFn:
            self.pages[(method, path)] = fn
            return fn

        return mark

    # ------------------------------------------------------------ AWS calls
    def _forwarded(self, service: str) -> bool:
        # In gateway role the service runs in another process; app.invoke forwards to it.
        forwarder = self.runtime.components.get("forwarder")
        return forwarder is not None and bool(forwarder.serves(service))

    def _moto(self, service: str) -> bool:
        # Served in-process by moto (S3, SQS...): app.invoke sends it the request an SDK would.
        fallback = self.runtime.fallback
        return service not in self.runtime.handlers and fallback is not None and bool(fallback.supports(service))

    def available(self, service: str) -> bool:
        if self.runtime.app is None:
            return False
        if self._forwarded(service) or self._moto(service):
            return True
        return service in self.runtime.handlers and service not in self.runtime.handler_errors

    def native(self, service: str) -> bool:
        """Served by the emulator's own handler (here or, in a cluster, by a role), not by moto:
        the pages built on the emulator's own behaviour (compute as LLM inference, Bedrock on it)
        have nothing to show for moto's stand-ins (its stock AMIs are no models)."""
        if self.runtime.app is None:
            return False
        if self._forwarded(service):
            return True
        return service in self.runtime.handlers and service not in self.runtime.handler_errors

    def has_op(self, service: str, operation: str) -> bool:
        handler = self.runtime.handlers.get(service)
        if handler is None:
            return (self._forwarded(service) or self._moto(service)) and operation in services.service_model(service).operation_names
        return operation in handler.operations

    async def invoke(self, call: Call, service: str, operation: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        if not self.available(service):
            raise AwsError("ServiceUnavailable", f"The {service} service is not available.", 503)
        return await self.runtime.app.invoke(service, operation, params or {}, call.principal, region=self.region_of(call))

    def region_of(self, call: Call) -> str:
        """The region the console shows and acts in: the session's choice, else the server's."""
        return call.session.region or self.runtime.settings.region

    def regions(self, call: Call) -> list[str]:
        return sorted({*REGIONS, self.runtime.settings.region, self.region_of(call)})

    async def perform(self, call: Call, service: str, operation: str, params: dict[str, Any], success: str) -> dict[str, Any] | None:
        """One action of a form post: its result, with ``success`` flashed; None, with the
        AWS error flashed, when it fails (the page redirects either way)."""
        try:
            out = await self.invoke(call, service, operation, params)
        except AwsError as err:
            call.session.flash("error", f"{err.code}: {err.message}")
            return None
        call.session.flash("ok", success)
        return out

    # ------------------------------------------------------------ responses
    def html(self, call: Call, title: str, body: Any, active: str = "", status: int = 200, scripts: tuple[str, ...] = ()) -> Response:
        user = call.session.principal
        who = f"{user.user_name} ({user.access_key_id})" if user else ""
        here = call.path + ("?" + call.request.query_string if call.request.query_string else "")
        doc = h.layout(title, body, active=active, user=who, csrf=call.csrf, flashes=call.session.pop_flashes(), scripts=scripts,
                       region=self.region_of(call), regions=self.regions(call), here=here)
        return Response(status, {"content-type": "text/html; charset=utf-8", **SECURITY_HEADERS}, doc.encode("utf-8"))

    @staticmethod
    def json(data: Any, status: int = 200) -> Response:
        return Response(status, {"content-type": "application/json", **SECURITY_HEADERS}, orjson.dumps(data, default=str))

    @staticmethod
    def redirect(location: str, status: int = 303) -> Response:
        # Never let a CR/LF from a form field reach a header.
        safe = location.replace("\r", "").replace("\n", "")
        return Response(status, {"location": safe, **SECURITY_HEADERS}, b"")

    # --------------------------------------------------------------- entry
    async def __call__(self, request: Request, ctx: RequestContext) -> Response:
        path = request.path[len(h.BASE):]
        if path == "":
            return self.redirect(h.BASE + "/", 308)
        if not path.startswith("/"):
            return self._plain(404, "Not Found")
        if path.startswith("/static/"):
            return self._static(path[len("/static/"):])
        if path == "/favicon.ico":  # what a browser asks for where a page links no icon
            return self._static("favicon.svg")
        session, fresh = self._session(request)
        call = Call(request, ctx, session, path)
        try:
            response = await self._dispatch(call)
        except AwsError as err:
            response = self._plain(err.status, f"{err.code}: {err.message}")
        except Exception:
            log.exception("console error on %s %s", request.method, request.path)
            response = self._plain(500, "The console hit an internal error; see the server log.")
        if fresh or call.session is not session:
            response.headers["set-cookie"] = self._cookie(request, call.session.sid)
        return response

    async def _dispatch(self, call: Call) -> Response:
        request, session, path = call.request, call.session, call.path
        method = "GET" if request.method == "HEAD" else request.method
        if method not in ("GET", "POST"):
            return self._plain(405, "Method Not Allowed")
        if method == "POST":
            # Per-session token on every state-changing request; plus an Origin check
            # where the browser sends one (belt and braces with SameSite=Strict).
            token = request.headers.get("x-csrf-token") or (
                call.f("_csrf") or None if request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data") else None
            )
            origin = request.headers.get("origin")
            host = request.headers.get("host", "")
            if not session.check_csrf(token) or (origin and origin != "null" and origin.split("://", 1)[-1] != host):
                return self._plain(403, "Forbidden: missing or invalid CSRF token. Reload the page and try again.")
        if path in ("/signin", "/signout"):
            fn = self.pages.get((method, path))
            if fn is None:
                return self._plain(405, "Method Not Allowed")
            return await fn(self, call)
        if not self._signed_in(session):
            if path.startswith("/api/"):
                return self.json({"error": "not signed in"}, 401)
            return self.redirect(h.url("/signin", next=path + ("?" + request.query_string if request.query_string else "")), 303)
        fn = self.pages.get((method, path))
        if fn is None:
            return self.html(call, "Not found", h.error_box(f"No console page at {path}"), status=404)
        return await fn(self, call)

    def _signed_in(self, session: Session) -> bool:
        principal = session.principal
        if principal is None:
            return False
        # Keys are looked up on every request so a disabled or deleted key signs out at once.
        key = self.runtime.keys.get(principal.access_key_id)
        if key is None or key.status != "Active":
            session.principal = None
            return False
        return True

    def sign_in(self, call: Call, access_key_id: str, secret: str) -> bool:
        key = self.runtime.keys.get(access_key_id.strip())
        if key is None or key.status != "Active" or not hmac.compare_digest(key.secret_access_key.encode(), secret.strip().encode()):
            return False
        account = self.runtime.settings.account_id
        arn = f"arn:aws:iam::{account}:root" if key.is_root else f"arn:aws:iam::{account}:user/{key.user_name}"
        principal = Principal(key.access_key_id, key.user_name, arn, account, key.is_root)
        # A new session id on sign-in: a session id fixed by someone else beforehand is worthless.
        self.sessions.delete(call.session.sid)
        call.session = self.sessions.new(principal)
        return True

    def sign_out(self, call: Call) -> None:
        self.sessions.delete(call.session.sid)
        call.session = self.sessions.new()

    def _session(self, request: Request) -> tuple[Session, bool]:
        cookie = SimpleCookie()
        try:
            cookie.load(request.headers.get("cookie", ""))
        except CookieError:  # a malformed cookie header is just no cookie
            cookie = SimpleCookie()
        morsel = cookie.get(COOKIE_NAME)
        session = self.sessions.get(morsel.value if morsel else None)
        if session is not None:
            return session, False
        return self.sessions.new(), True

    def _cookie(self, request: Request, sid: str) -> str:
        parts = [f"{COOKIE_NAME}={sid}", f"Path={h.BASE}/", "HttpOnly", "SameSite=Strict"]
        if request.scheme == "https":
            parts.append("Secure")
        return "; ".join(parts)

    @staticmethod
    def _plain(status: int, text: str) -> Response:
        return Response(status, {"content-type": "text/plain; charset=utf-8", **SECURITY_HEADERS}, text.encode())

    def _static(self, name: str) -> Response:
        if "/" in name or name.startswith(".") or not name:
            return self._plain(404, "Not Found")
        file = STATIC_DIR / name
        if not file.is_file():
            return self._plain(404, "Not Found")
        ctype = mimetypes.guess_type(name)[0] or "application/octet-stream"
        if ctype.startswith("text/") or ctype in ("application/javascript",):
            ctype += "; charset=utf-8"
        headers = {**SECURITY_HEADERS, "content-type": ctype, "cache-control": "public, max-age=300"}
        return Response(200, headers, file.read_bytes())

