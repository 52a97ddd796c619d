"""STS AssumeRoleWithWebIdentity's token: an OpenID Connect ID token (a JWT) read as STS reads it
(https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRoleWithWebIdentity.html and
IAM User Guide, "Create a role for OpenID Connect federation" / "Available keys for AWS OIDC
federation").

* ``iss`` must be the URL of an OpenID Connect provider registered in IAM
  (CreateOpenIDConnectProvider; the providers live in moto's IAM backend,
  ``open_id_providers``, keyed by ARN, their ``url`` stored as host and path);
* ``aud`` (a string or a list; or ``azp``) must be one of the provider's ClientIDList;
* ``exp`` must be in the future, ``nbf`` (if any) in the past; ``sub`` must be there.

The signature is NOT verified: STS fetches the issuer's keys (its JWKS) over the network, which
a local emulator cannot reach, and it knows no keys of its own for any provider. Any ``alg``
is therefore accepted (``none``, ``HS256``, ``RS256``...): a token is only decoded and its
claims checked. Local development only: whoever can reach the emulator can mint a token.

The condition keys a role's trust policy can read are ``<provider url>:aud`` (``azp`` when the
token has one, else the audience that matched), ``<provider url>:oaud`` (the ``aud`` claim when
``azp`` took its place) and ``<provider url>:sub``, as the IAM User Guide lists them.
"""

from __future__ import annotations

import base64
import datetime as dt
import time
from dataclasses import dataclass
from typing import Any

import orjson

from emulator.errors import AwsError


@dataclass(frozen=True)
class WebIdentity:
    """A token whose claims passed: who it names and for which provider."""

    provider_arn: str
    provider_url: str  # as IAM keys it: host and path, no scheme
    issuer: str  # the ``iss`` claim as written (the answer's Provider)
    subject: str
    audience: str  # the client id that matched: ``azp`` when the token has one, else an ``aud``
    original_audience: str | None  # the ``aud`` claim when ``azp`` took its place

    def context(self) -> dict[str, Any]:
        """The token's condition keys, lower-cased as the policy engine compares them."""
        url = self.provider_url.lower()
        keys: dict[str, Any] = {f"{url}:sub": self.subject, f"{url}:aud": self.audience}
        if self.original_audience:
            keys[f"{url}:oaud"] = self.original_audience
        return keys


def invalid_token(message: str) -> AwsError:
    """botocore's InvalidIdentityTokenException (code InvalidIdentityToken, 400)."""
    return AwsError("InvalidIdentityToken", message, 400)


def _segment(part: str) -> dict[str, Any]:
    try:
        value = orjson.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    except (ValueError, orjson.JSONDecodeError):
        value = None
    if not isinstance(value, dict):
        # Our wording: AWS's text for a token that is not a JWT is not documented.
        raise invalid_token("Couldn't parse the web identity token: it is not a JSON Web Token.")
    return value


def decode(token: str) -> dict[str, Any]:
    """The claims of a JWT (header.payload.signature); the header must be JSON with an ``alg``.
    The signature is not checked (see the module docstring)."""
    parts = token.split(".")
    if len(parts) != 3:
        raise invalid_token("Couldn't parse the web identity token: it is not a JSON Web Token.")
    header = _segment(parts[0])
    if not isinstance(header.get("alg"), str):
        raise invalid_token("Couldn't parse the web identity token: its header has no alg.")  # ours
    return _segment(parts[1])


def _url(value: str) -> str:
    """An issuer or provider URL as IAM compares them: no scheme, no trailing slash."""
    return value.removeprefix("https://").rstrip("/")


def _provider(iam_backend: Any, issuer: str) -> Any:
    wanted = _url(issuer)
    for provider in list(getattr(iam_backend, "open_id_providers", {}).values()):
        if _url(str(provider.url)) == wanted:
            return provider
    # AWS's text for an issuer with no provider registered in the account.
    raise invalid_token(f"No OpenIDConnect provider found in your account for {issuer}")


def _time(claims: dict[str, Any], name: str) -> float | None:
    value = claims.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise invalid_token(f"The web identity token's {name} claim is not a number.")  # ours
    return float(value)


def _iso(seconds: float) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.UTC).strftime("%a %b %d %H:%M:%S UTC %Y")


def _check_times(claims: dict[str, Any], now: float) -> None:
    expires = _time(claims, "exp")
    if expires is None:
        raise invalid_token("The web identity token has no exp claim.")  # ours: OIDC requires exp
    if expires <= now:
        # botocore: ExpiredTokenException ("The web identity token that was passed is expired");
        # the text as AWS answers it (epoch seconds; seen in answers, not documented).
        raise AwsError("ExpiredTokenException", f"Token expired: current date/time {int(now)} must be before the expiration date/time {int(expires)}", 400)
    not_before = _time(claims, "nbf")
    if not_before is not None and not_before > now:
        raise invalid_token(f"The web identity token is not valid before {_iso(not_before)}.")  # ours


def _audience(claims: dict[str, Any], client_ids: list[str]) -> tuple[str, str | None]:
    """(the client id that matched, the ``aud`` claim when ``azp`` matched): ``aud`` may be a
    string or a list; ``azp``, when the token has one, is the client id (OpenID Connect Core
    1.0, 2: ID Token)."""
    aud = claims.get("aud")
    audiences = [a for a in (aud if isinstance(aud, list) else [aud]) if isinstance(a, str)]
    azp = claims.get("azp") if isinstance(claims.get("azp"), str) else None
    for candidate in ([azp] if azp else []) + audiences:
        if candidate in client_ids:
            return candidate, (audiences[0] if candidate == azp and audiences else None)
    raise invalid_token("Incorrect token audience")  # AWS's text


def verify(token: str, iam_backend: Any, now: float | None = None) -> WebIdentity:
    """The token's identity, or the error STS answers for it (InvalidIdentityToken,
    ExpiredTokenException)."""
    claims = decode(token)
    issuer = claims.get("iss")
    if not isinstance(issuer, str) or not issuer:
        raise invalid_token("The web identity token has no iss claim.")  # ours
    provider = _provider(iam_backend, issuer)
    _check_times(claims, time.time() if now is None else now)
    audience, original = _audience(claims, [str(c) for c in provider.client_id_list or []])
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject:
        raise invalid_token("The web identity token has no sub claim.")  # ours
    return WebIdentity(str(provider.arn), _url(str(provider.url)), issuer, subject, audience, original)
