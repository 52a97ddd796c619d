"""Sign-in with an access key id and secret, sign-out."""

from __future__ import annotations

from typing import TYPE_CHECKING

from emulator.console import html as h
from emulator.protocols.base import Response
from emulator.regions import REGION_RE

if TYPE_CHECKING:
    from emulator.console.core import Call, Console


def _safe_next(target: str) -> str:
    # Only paths inside the console: no open redirect to another site.
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def _form(call: Call, next_path: str, error: str = "", key_id: str = "") -> h.Markup:
    err = h.error_box(error) if error else ""
    return h.Markup(
        f'<div class="signin card">{err}<p>Sign in with an access key of this emulator (the root key is printed when '
        f'<code>emulator serve</code> starts; <code>emulator keys create --user NAME</code> makes more).</p>'
        f'<form method="post" action="{h.esc(h.BASE)}/signin" id="signin-form">{h.csrf_field(call.csrf)}'
        f'<input type="hidden" name="next" value="{h.esc(next_path)}">'
        f'<label>Access key ID<input name="access_key_id" autocomplete="username" required autofocus value="{h.esc(key_id)}"></label>'
        '<label>Secret access key<input name="secret_access_key" type="password" autocomplete="current-password" required></label>'
        '<button type="submit" class="primary">Sign in</button></form></div>'
    )


def register(console: Console) -> None:
    @console.page("GET", "/signin")
    async def signin_form(c: Console, call: Call) -> Response:
        if call.session.principal is not None and c._signed_in(call.session):
            return c.redirect(h.BASE + _safe_next(call.q("next", "/")))
        return c.html(call, "Sign in", _form(call, _safe_next(call.q("next", "/"))))

    @console.page("POST", "/signin")
    async def signin(c: Console, call: Call) -> Response:
        next_path = _safe_next(call.f("next", "/"))
        key_id = call.f("access_key_id").strip()[:128]
        client = call.request.client_ip
        if c.signin_limiter.blocked(client, key_id):
            return c.html(call, "Sign in", _form(call, next_path, "Too many failed sign-in attempts for this access key. Try again in a few minutes.", key_id), status=429)
        if not c.sign_in(call, key_id, call.f("secret_access_key")):
            c.signin_limiter.failed(client, key_id)
            return c.html(call, "Sign in", _form(call, next_path, "The access key ID or secret is wrong, or the key is inactive.", key_id), status=401)
        c.signin_limiter.succeeded(client, key_id)
        return c.redirect(h.BASE + next_path)

    @console.page("POST", "/region")
    async def switch_region(c: Console, call: Call) -> Response:
        """The region the console works in from now on, for this session."""
        region = call.f("region").strip()
        if not REGION_RE.match(region):
            call.session.flash("error", f"Invalid region name: {region[:64]}")
        else:
            call.session.region = region
        return c.redirect(h.BASE + _safe_next(call.f("next", "/")))

    @console.page("POST", "/signout")
    async def signout(c: Console, call: Call) -> Response:
        c.sign_out(call)
        return c.redirect(h.url("/signin"))
