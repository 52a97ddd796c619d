"""S3 browser-based uploads: ``POST /bucket`` with a signed POST policy in the form fields.

boto3's ``generate_presigned_post`` (and every SDK's equivalent) hands out a URL and form
fields; the upload is a ``multipart/form-data`` POST with no Authorization header, whose
credential is in the form: ``policy`` (base64 JSON: ``expiration`` and ``conditions``)
signed either with Signature Version 4 (``x-amz-algorithm``, ``x-amz-credential``,
``x-amz-date``, ``x-amz-signature``: HMAC-SHA256 of the base64 policy with the day's
signing key) or Version 2 (``AWSAccessKeyId``, ``signature``: base64 HMAC-SHA1 of the
base64 policy). S3 then checks the policy: not expired, every condition met, every form
field covered by a condition. References:
https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-HTTPPOSTConstructPolicy.html
https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-authentication-HTTPPOST.html
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import time
from calendar import timegm
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any
from urllib.parse import quote, unquote

import orjson

from emulator.errors import AwsError
from emulator.gateway.keys import AccessKey, KeyStore
from emulator.gateway.sigv4 import signing_key
from emulator.protocols.base import Request

# Form fields that no condition needs to cover (S3: "except x-amz-signature, file, policy,
# and field names that have an x-ignore- prefix"; the V2 credential fields alike).
_UNCHECKED = frozenset({"x-amz-signature", "file", "policy", "awsaccesskeyid", "signature"})


@dataclass
class PostForm:
    fields: dict[str, str] = field(default_factory=dict)  # lower-cased names, as S3 compares them
    filename: str = ""
    file_size: int = 0


def is_post_upload(request: Request) -> bool:
    """An S3 POST-policy upload: a multipart POST that carries no other signature."""
    return (
        request.method == "POST"
        and request.content_type == "multipart/form-data"
        and "authorization" not in request.headers
        and "X-Amz-Algorithm=" not in request.query_string
    )


def _invalid(message: str) -> AwsError:
    return AwsError("InvalidArgument", message, 400)


def malformed() -> AwsError:
    return AwsError("MalformedPOSTRequest", "The body of your POST request is not well-formed multipart/form-data.", 400)


def no_file() -> AwsError:
    return _invalid("POST requires exactly one file upload per request.")


def parse_form(request: Request) -> PostForm:
    """The form fields (text) and the file's name and size, from the multipart body."""
    head = f"Content-Type: {request.headers.get('content-type', '')}\r\n\r\n".encode("latin-1")
    message = BytesParser(policy=HTTP).parsebytes(head + request.body)
    if not message.is_multipart():
        raise malformed()
    form = PostForm()
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        if name.lower() == "file":
            filename = part.get_param("filename", header="content-disposition")
            form.filename = filename if isinstance(filename, str) else ""
            form.file_size = len(data)
            break  # S3 ignores the fields after the file
        form.fields[name.lower()] = data.decode("utf-8", "replace")
    else:
        raise no_file()
    return form


def verify(request: Request, bucket: str, keys: KeyStore, now: float | None = None) -> tuple[AccessKey, PostForm]:
    """Verify the POST policy's signature and conditions; the key that signed it and the form."""
    return verify_form(parse_form(request), bucket, keys, now)


def verify_form(form: PostForm, bucket: str, keys: KeyStore, now: float | None = None) -> tuple[AccessKey, PostForm]:
    """``verify`` from a parsed form (the fields before the file, the file's name and size):
    a small upload's (parse_form) or a large one's, parsed as it came (gateway/post_stream.py).
    ``content-length-range`` is checked against the file's size."""
    fields = form.fields
    policy_b64 = fields.get("policy")
    if not policy_b64:
        raise AwsError("AccessDenied", "Access Denied", 403)
    if fields.get("x-amz-algorithm") is not None or fields.get("x-amz-signature") is not None:
        key = _verify_v4(fields, policy_b64, keys)
    elif fields.get("awsaccesskeyid") is not None:
        key = _verify_v2(fields, policy_b64, keys)
    else:
        raise _invalid("Bucket POST must contain a field named 'AWSAccessKeyId' or 'X-Amz-Credential'.")
    if "key" not in fields:
        raise _invalid("Bucket POST must contain a field named 'key'.  If it is specified, please check the order of the fields.")
    fields["key"] = fields["key"].replace("${filename}", form.filename)
    _check_policy(policy_b64, fields, bucket, form.file_size, time.time() if now is None else now)
    return key, form


def _lookup(keys: KeyStore, access_key_id: str) -> AccessKey:
    key = keys.get(access_key_id)
    if key is None or key.status != "Active":
        raise AwsError("InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.", 403)
    return key


def _mismatch() -> AwsError:
    return AwsError("SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided. Check your key and signing method.", 403)


def _verify_v4(fields: dict[str, str], policy_b64: str, keys: KeyStore) -> AccessKey:
    if fields.get("x-amz-algorithm") != "AWS4-HMAC-SHA256":
        raise _invalid("Unsupported value for x-amz-algorithm; only AWS4-HMAC-SHA256 is supported.")
    for name in ("x-amz-credential", "x-amz-date", "x-amz-signature"):
        if not fields.get(name):
            raise _invalid(f"Bucket POST must contain a field named '{name}'.  If it is specified, please check the order of the fields.")
    scope = fields["x-amz-credential"].split("/")
    if len(scope) != 5 or scope[4] != "aws4_request":
        raise _invalid(f"Invalid credential: {fields['x-amz-credential']}")
    key = _lookup(keys, scope[0])
    expected = hmac.new(signing_key(key.secret_access_key, scope[1], scope[2], scope[3]), policy_b64.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, fields["x-amz-signature"]):
        raise _mismatch()
    return key


def _verify_v2(fields: dict[str, str], policy_b64: str, keys: KeyStore) -> AccessKey:
    key = _lookup(keys, fields["awsaccesskeyid"])
    expected = base64.b64encode(hmac.new(key.secret_access_key.encode(), policy_b64.encode(), hashlib.sha1).digest()).decode()
    if not hmac.compare_digest(expected, fields.get("signature", "")):
        raise _mismatch()
    return key


def _policy_error(message: str) -> AwsError:
    return AwsError("AccessDenied", f"Invalid according to Policy: {message}", 403)


def _expiration(value: Any) -> float:
    m = re.fullmatch(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.\d+)?Z", value) if isinstance(value, str) else None
    if m is None:
        raise _invalid(f"Invalid Policy: Invalid 'expiration' value: '{value}'")
    return float(timegm((*(int(g) for g in m.groups()), 0, 0, 0)))


def _check_policy(policy_b64: str, fields: dict[str, str], bucket: str, size: int, now: float) -> None:
    try:
        policy = orjson.loads(base64.b64decode(policy_b64, validate=True))
    except (binascii.Error, ValueError) as exc:
        raise _invalid("Invalid Policy: Invalid JSON.") from exc
    if not isinstance(policy, dict) or not isinstance(policy.get("conditions"), list):
        raise _invalid("Invalid Policy: Invalid JSON.")
    if now > _expiration(policy.get("expiration")):
        raise _policy_error("Policy expired.")
    values = {**fields, "bucket": bucket}
    covered: set[str] = set()
    for cond in policy["conditions"]:
        if isinstance(cond, dict) and len(cond) == 1:
            ((name, expected),) = cond.items()
            op, name = "eq", name.lower()
        elif isinstance(cond, list) and len(cond) == 3 and isinstance(cond[0], str) and cond[0].lower() == "content-length-range":
            low, high = cond[1], cond[2]
            if not isinstance(low, int) or not isinstance(high, int):
                raise _invalid(f"Invalid Policy: Invalid 'content-length-range' condition: {orjson.dumps(cond).decode()}")
            if size < low:
                raise AwsError("EntityTooSmall", "Your proposed upload is smaller than the minimum allowed size", 400)
            if size > high:
                raise AwsError("EntityTooLarge", "Your proposed upload exceeds the maximum allowed size", 400)
            continue
        elif isinstance(cond, list) and len(cond) == 3 and isinstance(cond[1], str) and cond[1].startswith("$") and str(cond[0]).lower() in ("eq", "starts-with"):
            op, name, expected = str(cond[0]).lower(), cond[1][1:].lower(), cond[2]
        else:
            raise _invalid(f"Invalid Policy: Invalid Condition: {orjson.dumps(cond).decode()}")
        covered.add(name)
        actual = values.get(name, "")
        ok = actual == expected if op == "eq" else isinstance(expected, str) and actual.startswith(expected)
        if not ok:
            raise _policy_error(f'Policy Condition failed: ["{op}", "${name}", {orjson.dumps(expected).decode()}]')
    extra = [name for name in fields if name not in covered and name not in _UNCHECKED and not name.startswith("x-ignore-")]
    if extra:
        raise _policy_error("Extra input fields: " + ", ".join(extra))


def authenticate(request: Request, keys: KeyStore, now: float | None = None) -> AccessKey:
    """The gateway's step for a POST upload to ``/bucket`` (path- or virtual-hosted style):
    verify it, then point the request at the object it writes (``route_path``, which the
    authorizer reads Bucket and Key from) with S3's ``${filename}`` substitution done."""
    path = request.raw_path if request.route_path is None else request.route_path
    bucket = unquote(path.strip("/"))
    from emulator.gateway.post_stream import PostSpool

    spool = request.body_file  # a body past the gateway's limit, parsed as it came (post_stream.py)
    large = isinstance(spool, PostSpool)
    key, form = verify_form(spool.form() if large else parse_form(request), bucket, keys, now)
    request.route_path = f"/{quote(bucket)}/{quote(form.fields['key'], safe='/~')}"
    request.post_fields = form.fields
    if not large:  # the large one's key is substituted in the form moto gets (PostSpool.body)
        _substitute_filename(request, form)
    return key


def _substitute_filename(request: Request, form: PostForm) -> None:
    """Write the ``key`` field with ``${filename}`` replaced into the body, as S3 stores it
    (the moto fallback that serves the upload would keep the placeholder)."""
    body = request.body
    m = re.search(rb'name="key"\r\n(?:[^\r\n]+\r\n)*\r\n([^\r]*?\$\{filename\}[^\r]*)\r\n', body, re.IGNORECASE)
    if m is not None:
        request.body = body[: m.start(1)] + form.fields["key"].encode("utf-8") + body[m.end(1) :]
