"""AWS Signature Version 4 verification (Authorization header and presigned URLs).

Mirrors botocore's signer (botocore/auth.py, SigV4Auth): the canonical URI is the
path as sent, normalized and percent-encoded once more (safe '/~'); the canonical
query string is the sorted, re-encoded pairs; header values are trimmed with
inner whitespace collapsed. Reference:
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html
"""

from __future__ import annotations

import hashlib
import hmac
import time
from calendar import timegm
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import quote, unquote

from emulator.errors import AwsError

try:  # CPython's own SHA-256: quicker to copy than OpenSSL's; for one block or less, quicker overall
    from _sha256 import sha256 as _sha256  # type: ignore[import-not-found]  # Python 3.11
except ImportError:  # pragma: no cover - 3.12+ renamed it; any sha256 constructor works
    try:
        from _sha2 import sha256 as _sha256  # type: ignore[import-not-found,no-redef]
    except ImportError:
        _sha256 = hashlib.sha256
from emulator.gateway.keys import AccessKey, KeyStore
from emulator.protocols.base import Request

ALGORITHM = "AWS4-HMAC-SHA256"
MAX_SKEW_SECONDS = 15 * 60
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
# aws-chunked S3 uploads: the seed signature signs this value as the payload hash (the
# chunks' own signatures, chained on it, are checked by gateway/s3_payload.py). "...-PAYLOAD-TRAILER":
# signed chunks and a checksum trailer, what the AWS SDK for Java v2 sends over plain HTTP.
STREAMING_PAYLOADS = ("STREAMING-AWS4-HMAC-SHA256-PAYLOAD", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER", "STREAMING-UNSIGNED-PAYLOAD-TRAILER")

# Error codes differ by protocol family, as AWS answers them. Kinds: "missing" (no
# signature), "unknown_key", "signature" (a malformed or refused signature), and three
# that only S3 tells apart from "signature": "mismatch", "skew" (the clock), "expired"
# (a presigned URL past X-Amz-Expires).
_CODES = {
    "missing": {"query": "MissingAuthenticationToken", "ec2": "AuthFailure"},
    "unknown_key": {"query": "InvalidClientTokenId", "ec2": "AuthFailure"},
    "signature": {"query": "SignatureDoesNotMatch", "ec2": "AuthFailure"},
}
_DEFAULT = {
    "missing": "MissingAuthenticationTokenException",
    "unknown_key": "UnrecognizedClientException",
    "signature": "InvalidSignatureException",
}
# The family "s3" (services.signs_like_s3): S3's own codes and texts, all 403 (None: the
# message as raised). https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html
_S3: dict[str, tuple[str, str | None]] = {
    "missing": ("AccessDenied", "Access Denied"),
    "unknown_key": ("InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records."),
    "signature": ("AccessDenied", None),
    "mismatch": ("SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided. Check your key and signing method."),
    "skew": ("RequestTimeTooSkewed", "The difference between the request time and the current time is too large."),
    "expired": ("AccessDenied", "Request has expired"),
}


def _code(kind: str, protocol: str | None) -> str:
    kind = kind if kind in _DEFAULT else "signature"
    return _CODES[kind].get(protocol or "", _DEFAULT[kind])


def _refusal(kind: str, protocol: str | None, message: str, status: int) -> AwsError:
    if protocol == "s3":
        code, text = _S3[kind]
        return AwsError(code, text or message, 403)
    return AwsError(_code(kind, protocol), message, status)


def invalid_token(protocol: str | None) -> AwsError:
    """A session key (STS) whose token is missing or not its own: AWS's refusal of an unknown key."""
    return _refusal("unknown_key", protocol, "The security token included in the request is invalid.", 400 if protocol not in ("query", "ec2") else 403)


def invalid_region(protocol: str | None) -> AwsError:
    """A credential scoped to a region that is none (a well-formed but made-up name, for a
    service that exists only in AWS's regions)."""
    return _refusal("signature", protocol, "Credential should be scoped to a valid region.", 403)


def expired_token(protocol: str | None) -> AwsError:
    """A session key (STS) past its expiration. SDKs refresh assumed-role credentials on this code."""
    if protocol == "s3":
        return AwsError("ExpiredToken", "The provided token has expired.", 400)
    if protocol in ("query", "ec2"):
        return AwsError("ExpiredToken", "The security token included in the request is expired", 403)
    return AwsError("ExpiredTokenException", "The security token included in the request is expired", 400)


@dataclass
class ParsedAuth:
    access_key_id: str
    date: str
    region: str
    service: str
    signed_headers: list[str]
    signature: str
    amz_date: str
    presigned: bool
    expires: int | None = None
    # The signed header names joined with ';' as they appear in the canonical request, when
    # known already (the cached Authorization prefix); "" otherwise.
    signed_text: str = ""


def _parse(request: Request, protocol: str | None) -> ParsedAuth:
    auth = request.headers.get("authorization")
    if auth:
        if not auth.startswith(_PREFIX):
            raise _refusal("signature", protocol, f"Unsupported authorization type: {auth.split(' ', 1)[0]}", 400)
        # Fast path: every SDK sends "..., Signature=<hex>" last. What precedes the signature
        # is the same for every request of one key, day, region, service and header set, so
        # it is parsed once (cached); only the signature is new each time.
        head, sep, sig = auth.rpartition("Signature=")
        if sep and "," not in sig:
            cached = _auth_head(head)
            if cached is not None:
                amz_date = request.headers.get("x-amz-date") or ""
                if amz_date:
                    parts, names, joined = cached
                    return ParsedAuth(parts[0], parts[1], parts[2], parts[3], names, sig.strip(), amz_date, False, None, joined)
        fields: dict[str, str] = {}
        for part in auth[len(ALGORITHM) + 1 :].split(","):
            name, _, value = part.strip().partition("=")
            fields[name] = value
        try:
            cred = fields["Credential"].split("/")
            signed = fields["SignedHeaders"].split(";")
            sig = fields["Signature"]
        except KeyError as exc:
            raise AwsError(
                "IncompleteSignatureException",
                f"Authorization header requires '{exc.args[0]}' parameter. Authorization={auth}",
                400,
            ) from exc
        if len(cred) != 5 or cred[4] != "aws4_request":
            raise AwsError("IncompleteSignatureException", f"Credential should be scoped to a valid region. Credential={fields['Credential']}", 400)
        amz_date = request.headers.get("x-amz-date") or ""
        if not amz_date:
            date_header = request.headers.get("date")
            if date_header:
                amz_date = _http_date_to_amz(date_header)
        if not amz_date:
            raise AwsError(
                "IncompleteSignatureException",
                "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.",
                400,
            )
        return ParsedAuth(cred[0], cred[1], cred[2], cred[3], signed, sig, amz_date, False)
    if request.query_one("X-Amz-Algorithm") is not None:
        q = request.query
        try:
            cred = q["X-Amz-Credential"][0].split("/")
            signed = q["X-Amz-SignedHeaders"][0].split(";")
            sig = q["X-Amz-Signature"][0]
            amz_date = q["X-Amz-Date"][0]
        except KeyError as exc:
            raise AwsError("AuthorizationQueryParametersError", f"Query-string authentication requires the {exc.args[0]} parameter", 400) from exc
        if len(cred) != 5:
            raise AwsError("AuthorizationQueryParametersError", "X-Amz-Credential is malformed", 400)
        raw_expires = q.get("X-Amz-Expires", [None])[0]
        expires: int | None = None
        if raw_expires:
            # https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html:
            # X-Amz-Expires is 1..604800 seconds.
            try:
                expires = int(raw_expires)
            except ValueError as exc:
                raise AwsError("AuthorizationQueryParametersError", "X-Amz-Expires should be a number", 400) from exc
            if expires < 0:
                raise AwsError("AuthorizationQueryParametersError", "X-Amz-Expires must be non-negative", 400)
            if expires > 604800:
                raise AwsError("AuthorizationQueryParametersError", "X-Amz-Expires must be less than a week (in seconds) that is 604800", 400)
        return ParsedAuth(cred[0], cred[1], cred[2], cred[3], signed, sig, amz_date, True, expires)
    raise _refusal("missing", protocol, "Request is missing Authentication Token", 403)


_PREFIX = ALGORITHM + " "


@lru_cache(maxsize=1024)
def _auth_head(head: str) -> tuple[tuple[str, ...], list[str], str] | None:
    """(credential parts, signed header names, their ';' join) of an Authorization header's
    part before ``Signature=``; None when it is not complete and well formed (the generic
    parse then raises AWS's error). The list is shared: never mutated by callers."""
    fields: dict[str, str] = {}
    for part in head[len(_PREFIX) :].split(","):
        name, _, value = part.strip().partition("=")
        if name:
            fields[name] = value
    if set(fields) != {"Credential", "SignedHeaders"}:
        return None
    cred = tuple(fields["Credential"].split("/"))
    if len(cred) != 5 or cred[4] != "aws4_request":
        return None
    signed = fields["SignedHeaders"].split(";")
    return cred, signed, ";".join(signed)


def _http_date_to_amz(value: str) -> str:
    from email.utils import parsedate_to_datetime

    try:
        return parsedate_to_datetime(value).strftime("%Y%m%dT%H%M%SZ")
    except (TypeError, ValueError):
        return ""


@lru_cache(maxsize=256)
def _amz_to_epoch(amz: str) -> float:
    # Hand-parsed and cached (requests signed in the same second share it): time.strptime
    # cost more than the rest of the signature check.
    if len(amz) == 16 and amz[8] == "T" and amz[15] == "Z" and amz[:8].isdigit() and amz[9:15].isdigit():
        fields = (int(amz[0:4]), int(amz[4:6]), int(amz[6:8]), int(amz[9:11]), int(amz[11:13]), int(amz[13:15]))
        if 1 <= fields[1] <= 12 and 1 <= fields[2] <= 31 and fields[3] <= 23 and fields[4] <= 59 and fields[5] <= 60:
            return float(timegm((*fields, 0, 0, 0)))
    raise AwsError("IncompleteSignatureException", f"Date must be in ISO-8601 'basic format'. Got '{amz}'.", 400)


def _remove_dot_segments(path: str) -> str:
    """RFC 3986 section 5.2.4, plus collapsing empty segments ('//'), as botocore does
    (botocore.utils.remove_dot_segments). ``posixpath.normpath`` differs: it keeps a
    leading '//' and so disagrees with every SDK on such paths."""
    out: list[str] = []
    for segment in path.split("/"):
        if segment and segment != ".":
            if segment == "..":
                if out:
                    out.pop()
            else:
                out.append(segment)
    first = "/" if path.startswith("/") else ""
    last = "/" if path.endswith("/") and out else ""
    return first + "/".join(out) + last


@lru_cache(maxsize=4096)
def canonical_uri(raw_path: str, service: str = "") -> str:
    """The canonical URI: normalized and URI-encoded once more, except for S3, which
    signs the path exactly as sent (botocore S3SigV4Auth._normalize_url_path)."""
    if service == "s3":
        return raw_path or "/"
    if not raw_path:
        return "/"
    return quote(_remove_dot_segments(raw_path), safe="/~")


def canonical_query(query_string: str, presigned: bool) -> str:
    if not query_string:
        return ""
    pairs = []
    if query_string:
        for pair in query_string.split("&"):
            if not pair:
                continue
            key, _, value = pair.partition("=")
            key = unquote(key.replace("+", " "))
            if presigned and key == "X-Amz-Signature":
                continue
            value = unquote(value.replace("+", " "))
            pairs.append((quote(key, safe="-_.~"), quote(value, safe="-_.~")))
    pairs.sort()
    return "&".join(f"{k}={v}" for k, v in pairs)


# (signed header names, their values) -> the canonical header block (bounded). A client
# signs the same values request after request (host, content type, target; the date for a
# second): one tuple and one dict lookup instead of a split, a join and a format per header.
_BLOCKS: dict[tuple[str | None, ...], str] = {}


def _canonical_headers(request: Request, signed: list[str], joined: str = "") -> str:
    # One flat tuple, (names joined, value, value, ...): a nested one, or tuple() of a bare
    # iterator (sized by guess, then shrunk), allocates more per request.
    values = map(request.headers.get, signed)
    if signed and signed[0] == ":authority":  # an HTTP/2 client signs :authority (sorted first) for host
        values = (request.headers.get("host"), *map(request.headers.get, signed[1:]))  # type: ignore[assignment]
    key = (joined or ";".join(signed), *values)
    block = _BLOCKS.get(key)
    if block is None:
        # Trimall: strip, and collapse inner runs of blanks to one space (a missing header: empty).
        block = "".join([f"{name}:{' '.join(value.split()) if value else ''}\n" for name, value in zip(signed, key[1:])])
        if len(_BLOCKS) >= 1024:
            _BLOCKS.clear()
        _BLOCKS[key] = block
    return block


@lru_cache(maxsize=256)
def signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    k = hmac.new(("AWS4" + secret).encode(), date.encode(), hashlib.sha256).digest()
    k = hmac.new(k, region.encode(), hashlib.sha256).digest()
    k = hmac.new(k, service.encode(), hashlib.sha256).digest()
    return hmac.new(k, b"aws4_request", hashlib.sha256).digest()


@lru_cache(maxsize=256)
def _key_and_scope(secret: str, date: str, region: str, service: str) -> tuple[Any, Any, str]:
    """HMAC-SHA256 keyed with the day's signing key, as its two hash states after the padded
    key (RFC 2104), and the credential scope. Copying those states is cheaper per request
    than ``hmac.digest``, which (OpenSSL 3) sets up a keyed context for every call.
    The inner state hashes the string to sign (~140 bytes, three blocks): OpenSSL's, whose
    SHA-256 uses the CPU's SHA instructions, quicker for three blocks than CPython's own; the
    outer hashes 32 bytes, where CPython's own object, cheaper to copy, wins (the chain's cost
    as a whole: bench/RESULTS.md, gateway twelfth round)."""
    key = signing_key(secret, date, region, service).ljust(64, b"\0")
    inner = hashlib.sha256(bytes(b ^ 0x36 for b in key))
    outer = _sha256(bytes(b ^ 0x5C for b in key))
    return inner, outer, f"{date}/{region}/{service}/aws4_request"


def _signature(request: Request, parsed: ParsedAuth, secret: str, payload_hash: str) -> str:
    query = request.query_string
    signed = parsed.signed_text or ";".join(parsed.signed_headers)
    creq = (
        f"{request.method.upper()}\n{canonical_uri(request.raw_path, parsed.service)}\n"
        f"{canonical_query(query, parsed.presigned) if query else ''}\n"
        f"{_canonical_headers(request, parsed.signed_headers, signed)}\n{signed}\n{payload_hash}"
    )
    inner, outer, scope = _key_and_scope(secret, parsed.date, parsed.region, parsed.service)
    sts = f"{ALGORITHM}\n{parsed.amz_date}\n{scope}\n{hashlib.sha256(creq.encode('utf-8')).hexdigest()}"
    h = inner.copy()
    h.update(sts.encode("utf-8"))
    mac = outer.copy()
    mac.update(h.digest())
    return str(mac.hexdigest())


def _fmt(epoch: float) -> str:
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(epoch))


def verify(request: Request, keys: KeyStore, protocol: str | None = None, now: float | None = None) -> tuple[AccessKey, ParsedAuth]:
    """Verify the request's signature; return the key that signed it or raise AwsError."""
    parsed = _parse(request, protocol)
    key = keys.get(parsed.access_key_id)
    if key is None or key.status != "Active":
        raise _refusal("unknown_key", protocol, "The security token included in the request is invalid.", 400 if protocol not in ("query", "ec2") else 403)

    now = time.time() if now is None else now
    signed_at = _amz_to_epoch(parsed.amz_date)
    if parsed.presigned and parsed.expires is not None and now > signed_at + parsed.expires:
        raise _refusal("expired", protocol, f"Signature expired: {parsed.amz_date} is now earlier than {_fmt(now - parsed.expires)} ({_fmt(now)} - {parsed.expires} sec.)", 403)
    if signed_at < now - MAX_SKEW_SECONDS and not parsed.presigned:
        raise _refusal(
            "skew",
            protocol,
            f"Signature expired: {parsed.amz_date} is now earlier than {_fmt(now - MAX_SKEW_SECONDS)} ({_fmt(now)} - 15 min.)",
            403,
        )
    if signed_at > now + MAX_SKEW_SECONDS:
        raise _refusal(
            "skew",
            protocol,
            f"Signature not yet current: {parsed.amz_date} is still later than {_fmt(now + MAX_SKEW_SECONDS)} ({_fmt(now)} + 15 min.)",
            403,
        )
    if parsed.date != parsed.amz_date[:8]:
        raise _refusal("signature", protocol, f"Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '{parsed.date}' != '{parsed.amz_date[:8]}', from '{parsed.amz_date}'.", 403)
    if "host" not in parsed.signed_headers and ":authority" not in parsed.signed_headers:
        raise _refusal("signature", protocol, "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.", 403)

    declared = request.headers.get("x-amz-content-sha256")
    spool = request.body_file  # a large S3 upload: hashed as it came (gateway/s3_stream.py)
    body_hash = spool.sha256_hex if spool is not None else hashlib.sha256(request.body if request.wire_body is None else request.wire_body).hexdigest()
    if declared and declared not in (UNSIGNED_PAYLOAD, *STREAMING_PAYLOADS) and declared != body_hash:
        raise AwsError("XAmzContentSHA256Mismatch", "The provided 'x-amz-content-sha256' header does not match what was computed.", 400)
    candidates = [declared] if declared else [body_hash]
    if parsed.presigned and not declared:
        candidates.append(UNSIGNED_PAYLOAD)
    for payload_hash in candidates:
        if hmac.compare_digest(_signature(request, parsed, key.secret_access_key, payload_hash), parsed.signature):
            return key, parsed
    raise _refusal(
        "mismatch",
        protocol,
        "The request signature we calculated does not match the signature you provided. "
        "Check your AWS Secret Access Key and signing method. Consult the service documentation for details.",
        403,
    )
