"""Property tests: whatever botocore signs, emulator.gateway.sigv4.verify accepts,
and any change to a signed part of the request makes it reject.

The requests are signed by botocore's own SigV4Auth (the signer every boto3 and
aws-cli call uses) and handed to ``verify`` as the ASGI layer would build them:
raw path, raw query string, lower-cased headers.
"""

from __future__ import annotations

import calendar
import dataclasses
import hashlib
import string
import time
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emulator.errors import AwsError
from emulator.gateway import sigv4
from emulator.gateway.keys import KeyStore
from emulator.protocols.base import Request

ACCESS = "AKIAPROPERTYTEST0001"
SECRET = "property-secret-key-000000000000000000000"
HOST = "127.0.0.1:4566"


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> KeyStore:
    store = KeyStore(Path(tmp_path_factory.mktemp("keys")))
    store.ensure_root(ACCESS, SECRET)
    return store


# Path segments: anything, percent-encoded as an SDK would, plus the dot segments
# and empty segments ('//') that normalization must treat as botocore does.
_segment = st.one_of(
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=8).map(lambda s: quote(s, safe="-_.~")),
    st.sampled_from(["", ".", "..", "a", "%2F", "a%20b", "~x"]),
)
_path = st.lists(_segment, min_size=0, max_size=5).map(lambda segs: "/" + "/".join(segs))
_query_text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=0, max_size=10)
_params = st.dictionaries(_query_text.filter(bool), _query_text, max_size=4)
_header_name = st.text(alphabet=string.ascii_lowercase + string.digits + "-", min_size=1, max_size=12).map(lambda s: "x-test-" + s)
# Header values as an HTTP server hands them over: printable, no leading/trailing blanks.
_header_value = st.text(alphabet=string.ascii_letters + string.digits + " !#$%&'*+-.^_`|~:/=,;", min_size=1, max_size=20).map(str.strip).filter(bool)
_headers = st.dictionaries(_header_name, _header_value, max_size=4)
_method = st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD"])
_body = st.binary(max_size=256)
_service = st.sampled_from(["dynamodb", "sts", "monitoring", "bedrock", "execute-api"])


@dataclasses.dataclass
class Signed:
    request: Request
    service: str


def sign(method: str, path: str, params: dict[str, str], headers: dict[str, str], body: bytes, service: str = "dynamodb", region: str = "us-east-1") -> Signed:
    aws = AWSRequest(method=method, url=f"http://{HOST}{path}", headers=dict(headers), data=body, params=dict(params))
    SigV4Auth(Credentials(ACCESS, SECRET), service, region).add_auth(aws)
    prepared = aws.prepare()
    url = urlsplit(prepared.url)
    hdrs = {k.lower(): v for k, v in prepared.headers.items()}
    hdrs["host"] = HOST  # set by the HTTP client, signed by botocore from the URL
    request = Request(
        method=method,
        path=unquote(url.path),
        raw_path=url.path,
        query_string=url.query,
        headers=hdrs,
        body=prepared.body or b"",
    )
    return Signed(request, service)


def assert_rejected(keys: KeyStore, request: Request) -> None:
    with pytest.raises(AwsError) as info:
        sigv4.verify(request, keys)
    assert info.value.status in (400, 403)
    assert info.value.code in ("InvalidSignatureException", "IncompleteSignatureException", "XAmzContentSHA256Mismatch")


_SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@_SETTINGS
@given(method=_method, path=_path, params=_params, headers=_headers, body=_body, service=_service)
def test_botocore_signed_requests_verify(keys: KeyStore, method: str, path: str, params: dict[str, str], headers: dict[str, str], body: bytes, service: str) -> None:
    signed = sign(method, path, params, headers, body, service)
    key, parsed = sigv4.verify(signed.request, keys)
    assert key.access_key_id == ACCESS
    assert parsed.service == service
    assert parsed.region == "us-east-1"
    assert not parsed.presigned


@_SETTINGS
@given(
    method=_method,
    path=_path,
    params=_params,
    headers=_headers,
    body=_body,
    change=st.sampled_from(["method", "path", "query", "header", "body", "date", "secret"]),
    data=st.data(),
)
def test_any_change_to_a_signed_part_fails(
    keys: KeyStore, method: str, path: str, params: dict[str, str], headers: dict[str, str], body: bytes, change: str, data: st.DataObject
) -> None:
    signed = sign(method, path, params, headers, body)
    req = signed.request
    if change == "method":
        other = data.draw(_method.filter(lambda m: m != method))
        req = dataclasses.replace(req, method=other)
    elif change == "path":
        # A different canonical path: append a segment that normalization cannot remove.
        suffix = data.draw(st.text(alphabet=string.ascii_letters, min_size=1, max_size=5))
        raw = req.raw_path.rstrip("/") + "/" + suffix
        req = dataclasses.replace(req, raw_path=raw, path=unquote(raw))
    elif change == "query":
        name = data.draw(st.text(alphabet=string.ascii_letters, min_size=1, max_size=5).filter(lambda n: n not in params))
        qs = req.query_string + ("&" if req.query_string else "") + f"{name}=1"
        req = dataclasses.replace(req, query_string=qs)
    elif change == "header":
        signed_names = [h for h in sigv4._parse(req, None).signed_headers if h != "host"]
        name = data.draw(st.sampled_from(signed_names))
        hdrs = dict(req.headers)
        hdrs[name] = hdrs[name] + "x"
        req = dataclasses.replace(req, headers=hdrs)
    elif change == "body":
        new_body = data.draw(st.binary(max_size=256).filter(lambda b: b != body))
        req = dataclasses.replace(req, body=new_body)
    elif change == "date":
        # One second later: still within the allowed skew, so only the signature can reject it.
        amz = req.headers["x-amz-date"]
        later = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(calendar.timegm(time.strptime(amz, "%Y%m%dT%H%M%SZ")) + 1))
        hdrs = dict(req.headers)
        hdrs["x-amz-date"] = later
        req = dataclasses.replace(req, headers=hdrs)
    elif change == "secret":
        store = KeyStore(keys.path.parent / "other")
        store.ensure_root(ACCESS, SECRET + "x")
        assert_rejected(store, req)
        return
    assert_rejected(keys, req)


def test_unsigned_payload_header_accepts_any_body(keys: KeyStore) -> None:
    signed = sign("POST", "/", {}, {"x-amz-content-sha256": "UNSIGNED-PAYLOAD"}, b"original")
    # The payload hash is not part of the signature, so a different body still verifies...
    sigv4.verify(dataclasses.replace(signed.request, body=b"something else"), keys)
    # ...but the header itself is signed.
    hdrs = dict(signed.request.headers)
    hdrs["x-amz-content-sha256"] = hashlib.sha256(b"original").hexdigest()
    assert_rejected(keys, dataclasses.replace(signed.request, headers=hdrs))


def test_declared_payload_hash_must_match_body(keys: KeyStore) -> None:
    signed = sign("POST", "/", {}, {"x-amz-content-sha256": hashlib.sha256(b"abc").hexdigest()}, b"abc")
    sigv4.verify(signed.request, keys)
    with pytest.raises(AwsError) as info:
        sigv4.verify(dataclasses.replace(signed.request, body=b"abd"), keys)
    assert info.value.code == "XAmzContentSHA256Mismatch"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("", "/"),
        ("/", "/"),
        ("//", "/"),
        ("//a//b/", "/a/b/"),
        ("/a/./b/../c", "/a/c"),
        ("/..", "/"),
        ("/a%20b", "/a%2520b"),
        ("/~x", "/~x"),
    ],
)
def test_canonical_uri_matches_botocore(raw: str, expected: str) -> None:
    assert sigv4.canonical_uri(raw) == expected
    assert SigV4Auth(Credentials(ACCESS, SECRET), "x", "us-east-1")._normalize_url_path(raw or "/") == expected


def test_s3_paths_are_signed_as_sent() -> None:
    assert sigv4.canonical_uri("/bucket//a%20b/../k", "s3") == "/bucket//a%20b/../k"


def test_skew_boundaries(keys: KeyStore) -> None:
    signed = sign("POST", "/", {}, {}, b"{}")
    signed_at = calendar.timegm(time.strptime(signed.request.headers["x-amz-date"], "%Y%m%dT%H%M%SZ"))
    sigv4.verify(signed.request, keys, now=signed_at + 15 * 60 - 1)
    sigv4.verify(signed.request, keys, now=signed_at - 15 * 60 + 1)
    with pytest.raises(AwsError, match="Signature expired"):
        sigv4.verify(signed.request, keys, now=signed_at + 15 * 60 + 1)
    with pytest.raises(AwsError, match="Signature not yet current"):
        sigv4.verify(signed.request, keys, now=signed_at - 15 * 60 - 1)


def test_malformed_authorization_headers_are_4xx(keys: KeyStore) -> None:
    base = sign("POST", "/", {}, {}, b"{}").request
    cases = [
        "Basic dXNlcjpwYXNz",
        "AWS4-HMAC-SHA256 Credential=AKIA/20240101/us-east-1/dynamodb/aws4_request",
        "AWS4-HMAC-SHA256 Credential=AKIA/x, SignedHeaders=host, Signature=00",
        "AWS4-HMAC-SHA256 garbage",
        "AWS4-HMAC-SHA256 ",
    ]
    for value in cases:
        hdrs = dict(base.headers, authorization=value)
        with pytest.raises(AwsError) as info:
            sigv4.verify(dataclasses.replace(base, headers=hdrs), keys)
        assert 400 <= info.value.status < 500, value
    hdrs = dict(base.headers, **{"x-amz-date": "yesterday"})
    with pytest.raises(AwsError) as info:
        sigv4.verify(dataclasses.replace(base, headers=hdrs), keys)
    assert 400 <= info.value.status < 500


def presign(expires: int = 300, params: dict[str, str] | None = None) -> Request:
    from botocore.auth import SigV4QueryAuth

    aws = AWSRequest(method="GET", url=f"http://{HOST}/", params=dict(params or {"Action": "GetCallerIdentity", "Version": "2011-06-15"}))
    SigV4QueryAuth(Credentials(ACCESS, SECRET), "sts", "us-east-1", expires=expires).add_auth(aws)
    url = urlsplit(aws.url)
    return Request(method="GET", path=url.path, raw_path=url.path, query_string=url.query, headers={"host": HOST}, body=b"")


def test_presigned_query_auth(keys: KeyStore) -> None:
    req = presign()
    key, parsed = sigv4.verify(req, keys)
    assert parsed.presigned and parsed.expires == 300 and key.access_key_id == ACCESS
    signed_at = calendar.timegm(time.strptime(parsed.amz_date, "%Y%m%dT%H%M%SZ"))
    with pytest.raises(AwsError, match="Signature expired"):
        sigv4.verify(req, keys, now=signed_at + 301)
    # Any change to the query string breaks the signature.
    assert_rejected(keys, dataclasses.replace(req, query_string=req.query_string.replace("GetCallerIdentity", "GetSessionToken")))


@pytest.mark.parametrize(("value", "message"), [("abc", "should be a number"), ("604801", "less than a week"), ("-1", "non-negative")])
def test_presigned_expires_is_checked(keys: KeyStore, value: str, message: str) -> None:
    req = presign()
    qs = "&".join(f"X-Amz-Expires={value}" if p.startswith("X-Amz-Expires=") else p for p in req.query_string.split("&"))
    with pytest.raises(AwsError, match=message) as info:
        sigv4.verify(dataclasses.replace(req, query_string=qs), keys)
    assert info.value.code == "AuthorizationQueryParametersError"
