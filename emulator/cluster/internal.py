"""The internal credential: how the gateway (and role processes) prove to each other
that a request already passed the gateway's authentication and authorization.

Every internal request carries

    x-emulator-internal-time: <unix seconds>
    x-emulator-principal:     <base64url JSON of the caller's Principal>
    x-emulator-internal:      hex HMAC-SHA256(cluster secret, time \\n method \\n path?query \\n principal \\n sha256(body))

The principal header may also carry what the gateway's authorization rested on
(``authz``: for DynamoDB, the version of the resource-based policies it decided with;
emulator/cluster/policies.py), covered by the same HMAC.

Role processes accept nothing else (only ``/_emulator/health`` is open, for Docker's
HEALTHCHECK and the gateway's health checks); the principal header is trusted only
when the HMAC is valid, so a client cannot claim to be someone else. Like SigV4 the
signature covers the body and a time window (``MAX_SKEW``) limits replays.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import time
from pathlib import Path
from typing import Any

import orjson

from emulator.context import Principal

HEADER = "x-emulator-internal"
TIME_HEADER = "x-emulator-internal-time"
PRINCIPAL_HEADER = "x-emulator-principal"
INTERNAL_HEADERS = (HEADER, TIME_HEADER, PRINCIPAL_HEADER)
# The dynamodb role's answer to a request the gateway authorized with other resource-based
# policies than the role's (emulator/cluster/policies.py); never passed on to a client.
STALE_STATUS = 409
STALE_HEADER = "x-emulator-policies-stale"
# The gateway's question "are these still your policies?" (204: yes; else STALE_STATUS).
POLICIES_PATH = "/_emulator/cluster/policies"
MAX_SKEW = 300.0  # seconds, as SigV4's 15-minute window but tighter: the clocks are one host's or one cluster's


class InternalAuthError(Exception):
    pass


def load_secret(configured: str | None, data_dir: Path) -> bytes:
    """The shared cluster secret: the setting (EMULATOR_CLUSTER_SECRET) or ``<data_dir>/cluster.key``.

    Every process of a cluster must share it; generating one per data dir only makes
    sense for a single host where all roles share the data dir."""
    if configured:
        return configured.encode()
    path = Path(data_dir) / "cluster.key"
    try:
        return path.read_bytes().strip()
    except FileNotFoundError:
        value = secrets.token_hex(32).encode()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(value)
        return value


def encode_principal(principal: Principal | None, client_ip: str = "", authz: dict[str, Any] | None = None) -> str:
    """The caller (and the original client address, for loopback-only surfaces) as one header value;
    ``authz``: what the gateway's decision rested on, for the role to check (see decode_authz)."""
    doc: dict[str, Any] = {"ip": client_ip}
    if principal is not None:
        doc.update(k=principal.access_key_id, u=principal.user_name, a=principal.arn, c=principal.account_id, r=principal.is_root)
    if authz:
        doc["z"] = authz
    return base64.urlsafe_b64encode(orjson.dumps(doc)).decode().rstrip("=")


def decode_principal(value: str) -> tuple[Principal | None, str]:
    if not value:
        return None, ""
    try:
        doc: Any = orjson.loads(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)))
        ip = str(doc.get("ip") or "")
        if "k" not in doc:
            return None, ip
        return Principal(str(doc["k"]), str(doc["u"]), str(doc["a"]), str(doc["c"]), bool(doc["r"])), ip
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise InternalAuthError("malformed principal header") from exc


def decode_authz(value: str) -> dict[str, Any] | None:
    """The ``authz`` of a principal header (None: none was sent). Trust it only once ``verify``
    accepted the request: the header is covered by the HMAC."""
    if not value:
        return None
    try:
        doc: Any = orjson.loads(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)))
    except ValueError as exc:
        raise InternalAuthError("malformed principal header") from exc
    found = doc.get("z") if isinstance(doc, dict) else None
    return found if isinstance(found, dict) else None


def _mac(secret: bytes, ts: str, method: str, target: str, principal: str, body: bytes) -> str:
    msg = "\n".join((ts, method.upper(), target, principal, hashlib.sha256(body).hexdigest())).encode()
    return hmac.new(secret, msg, hashlib.sha256).hexdigest()


def sign(secret: bytes, method: str, path: str, query: str, body: bytes, principal: Principal | None, client_ip: str = "",
         authz: dict[str, Any] | None = None) -> dict[str, str]:
    """Headers to add to an internal request (``path`` is the raw path as sent)."""
    ts = str(int(time.time()))
    encoded = encode_principal(principal, client_ip, authz)
    target = path + ("?" + query if query else "")
    return {TIME_HEADER: ts, PRINCIPAL_HEADER: encoded, HEADER: _mac(secret, ts, method, target, encoded, body)}


def verify(secret: bytes, method: str, path: str, query: str, body: bytes, headers: dict[str, str]) -> tuple[Principal | None, str]:
    """Check an internal request; returns the forwarded principal (None: none was sent) and client address."""
    mac = headers.get(HEADER)
    ts = headers.get(TIME_HEADER, "")
    if not mac:
        raise InternalAuthError("missing internal credential")
    try:
        skew = abs(time.time() - int(ts))
    except ValueError as exc:
        raise InternalAuthError("malformed internal credential time") from exc
    if skew > MAX_SKEW:
        raise InternalAuthError("internal credential expired")
    encoded = headers.get(PRINCIPAL_HEADER, "")
    target = path + ("?" + query if query else "")
    if not hmac.compare_digest(mac, _mac(secret, ts, method, target, encoded, body)):
        raise InternalAuthError("internal credential does not match")
    return decode_principal(encoded)
