"""CORS through the wire (emulator/gateway/cors.py): what browsers (the JS SDK v3 in a web page,
fetch() of S3 objects and presigned URLs, browser OpenAI clients) need from the emulator.

S3 follows each bucket's CORS configuration as S3 evaluates it (first matching rule, one
``*`` wildcard in origins and headers, headers case-insensitive); the other services answer
preflights permissively, as AWS's API front ends do, within the ``cors_origins`` setting.
Preflights carry no credentials and are answered before authentication."""

from __future__ import annotations

import json
import re
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from http.client import HTTPConnection
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from emulator.testing.raw import FORM, form, signed
from emulator.testing.server import EmulatorServer

ORIGIN = "https://app.example.com"
S3_VARY = "Origin, Access-Control-Request-Headers, Access-Control-Request-Method"
NOT_ALLOWED = (
    "CORSResponse: This CORS request is not allowed. This is usually because the evalution of Origin, request method / "
    "Access-Control-Request-Method or Access-Control-Request-Headers are not whitelisted by the resource's CORS spec."
)
# The response headers the JS SDK v3's browser build reads (beyond those browsers expose anyway):
# request ids ($metadata), the error type, the query-compatible error code, retry hints, Date for
# clock-skew correction. Checked against the SDK's sources below when node_modules is there.
JS_SDK_READS = ("x-amzn-requestid", "x-amz-request-id", "x-amz-id-2", "x-amzn-errortype", "x-amzn-query-error", "x-amz-retry-after", "date")
# What the DynamoDB client of the JS SDK sends (browser build): a preflight names them all.
DDB_REQUEST_HEADERS = "amz-sdk-invocation-id,amz-sdk-request,authorization,content-type,x-amz-content-sha256,x-amz-date,x-amz-target,x-amz-user-agent"


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    with EmulatorServer() as srv:
        yield srv


@pytest.fixture(scope="module")
def s3(server: EmulatorServer) -> Any:
    return server.client("s3")


def new_bucket(s3: Any, rules: list[dict[str, Any]] | None = None) -> str:
    name = f"cors-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    if rules is not None:
        s3.put_bucket_cors(Bucket=name, CORSConfiguration={"CORSRules": rules})
    return name


def http(server: EmulatorServer, method: str, path: str, headers: dict[str, str] | None = None, body: bytes | None = None) -> tuple[int, dict[str, str], bytes]:
    """A request with no credentials (what a browser's preflight is)."""
    conn = HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def preflight(server: EmulatorServer, path: str, method: str, request_headers: str | None = None, origin: str | None = ORIGIN, host: str | None = None) -> tuple[int, dict[str, str], bytes]:
    headers = {}
    if origin is not None:
        headers["Origin"] = origin
    if method:
        headers["Access-Control-Request-Method"] = method
    if request_headers is not None:
        headers["Access-Control-Request-Headers"] = request_headers
    if host is not None:
        headers["Host"] = host
    return http(server, "OPTIONS", path, headers)


def cors_headers(headers: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in headers.items() if k.startswith("access-control-")}


def assert_s3_error(status: int, headers: dict[str, str], body: bytes, want: int, code: str, message: str, method: str | None = None, resource: str | None = None) -> None:
    assert status == want, body
    assert headers["content-type"] == "application/xml"
    assert not cors_headers(headers)
    root = ET.fromstring(body)
    assert root.tag == "Error"
    assert root.findtext("Code") == code
    assert root.findtext("Message") == message
    assert root.findtext("Method") == method
    assert root.findtext("ResourceType") == resource
    assert root.findtext("RequestId") == headers["x-amz-request-id"]


RULES: list[dict[str, Any]] = [
    {
        "AllowedOrigins": ["https://*.example.com"],
        "AllowedMethods": ["GET", "PUT"],
        "AllowedHeaders": ["Content-Type", "x-amz-*"],
        "ExposeHeaders": ["ETag", "x-amz-version-id"],
        "MaxAgeSeconds": 3000,
    },
    {"AllowedOrigins": ["https://*.example.com"], "AllowedMethods": ["DELETE"], "MaxAgeSeconds": 10},
    {"AllowedOrigins": ["*"], "AllowedMethods": ["GET", "HEAD"]},
]


# ------------------------------------------------------------------ S3 preflights
def test_s3_preflight_allowed_by_the_first_matching_rule(server: EmulatorServer, s3: Any) -> None:
    bucket = new_bucket(s3, RULES)
    status, headers, body = preflight(server, f"/{bucket}/some/key.txt", "PUT", "content-type,x-amz-meta-owner,X-Amz-Date")
    assert status == 200, body
    assert body == b""
    assert cors_headers(headers) == {
        "access-control-allow-origin": ORIGIN,
        "access-control-allow-credentials": "true",
        "access-control-allow-methods": "GET, PUT",
        "access-control-allow-headers": "content-type, x-amz-meta-owner, X-Amz-Date",
        "access-control-expose-headers": "ETag, x-amz-version-id",
        "access-control-max-age": "3000",
    }
    assert headers["vary"] == S3_VARY
    assert headers["x-amz-request-id"]

    # DELETE: not in the first rule; the second allows it (and has no AllowedHeader).
    status, headers, _ = preflight(server, f"/{bucket}/k", "DELETE")
    assert status == 200
    assert headers["access-control-allow-methods"] == "DELETE"
    assert headers["access-control-max-age"] == "10"
    assert "access-control-allow-headers" not in headers and "access-control-expose-headers" not in headers

    # Any other origin: the third rule, "*": Access-Control-Allow-Origin: *, no credentials.
    status, headers, _ = preflight(server, f"/{bucket}/k", "HEAD", origin="http://localhost:3000")
    assert status == 200
    assert headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in headers
    assert headers["access-control-allow-methods"] == "GET, HEAD"


@pytest.mark.parametrize(
    ("origin", "method", "request_headers"),
    [
        ("https://example.com.evil.test", "PUT", None),  # the wildcard is anchored: no prefix match
        ("https://app.example.com.evil.test", "PUT", None),
        ("http://app.example.com", "PUT", None),  # scheme differs
        (ORIGIN, "POST", None),  # no rule allows POST
        (ORIGIN, "PUT", "content-type,authorization"),  # authorization: no AllowedHeader matches
        (ORIGIN, "DELETE", "x-amz-date"),  # the DELETE rule allows no header
    ],
)
def test_s3_preflight_refused(server: EmulatorServer, s3: Any, origin: str, method: str, request_headers: str | None) -> None:
    bucket = new_bucket(s3, RULES[:2])
    status, headers, body = preflight(server, f"/{bucket}/k", method, request_headers, origin=origin)
    assert_s3_error(status, headers, body, 403, "AccessForbidden", NOT_ALLOWED, method, "OBJECT")


def test_s3_preflight_without_configuration_or_bucket(server: EmulatorServer, s3: Any) -> None:
    bucket = new_bucket(s3)
    status, headers, body = preflight(server, f"/{bucket}", "GET")
    assert_s3_error(status, headers, body, 403, "AccessForbidden", "CORSResponse: CORS is not enabled for this bucket.", "GET", "BUCKET")
    status, headers, body = preflight(server, f"/{bucket}/a/key", "PUT")
    assert_s3_error(status, headers, body, 403, "AccessForbidden", "CORSResponse: CORS is not enabled for this bucket.", "PUT", "OBJECT")
    # DeleteBucketCors: not enabled again.
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": RULES})
    assert preflight(server, f"/{bucket}/k", "GET")[0] == 200
    s3.delete_bucket_cors(Bucket=bucket)
    status, headers, body = preflight(server, f"/{bucket}/k", "GET")
    assert_s3_error(status, headers, body, 403, "AccessForbidden", "CORSResponse: CORS is not enabled for this bucket.", "GET", "OBJECT")


def test_s3_preflight_missing_headers(server: EmulatorServer, s3: Any) -> None:
    bucket = new_bucket(s3, RULES)
    status, headers, body = preflight(server, f"/{bucket}/k", "GET", origin=None)
    assert_s3_error(status, headers, body, 400, "BadRequest", "Insufficient information. Origin request header needed.")
    status, headers, body = preflight(server, f"/{bucket}/k", "")
    assert_s3_error(status, headers, body, 400, "BadRequest", "Invalid Access-Control-Request-Method: null")


def test_s3_preflight_virtual_hosted_style(server: EmulatorServer, s3: Any) -> None:
    bucket = new_bucket(s3, RULES)
    status, headers, body = preflight(server, "/photos/cat.jpg", "GET", host=f"{bucket}.localhost:{server.port}")
    assert status == 200, body
    assert headers["access-control-allow-origin"] == ORIGIN
    status, headers, body = preflight(server, "/photos/cat.jpg", "POST", host=f"{bucket}.localhost:{server.port}")
    assert_s3_error(status, headers, body, 403, "AccessForbidden", NOT_ALLOWED, "POST", "OBJECT")


def test_s3_preflight_needs_no_credentials(server: EmulatorServer, s3: Any) -> None:
    """A preflight is never authenticated, even with a broken Authorization header."""
    bucket = new_bucket(s3, RULES)
    status, headers, _ = http(server, "OPTIONS", f"/{bucket}/k", {"Origin": ORIGIN, "Access-Control-Request-Method": "GET", "Authorization": "AWS4-HMAC-SHA256 garbage"})
    assert status == 200
    assert headers["access-control-allow-origin"] == ORIGIN


# ------------------------------------------------------------------ S3 actual requests
def test_s3_signed_get_with_origin(server: EmulatorServer, s3: Any) -> None:
    bucket = new_bucket(s3, RULES)
    s3.put_object(Bucket=bucket, Key="k", Body=b"hello")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "k"})
    response = requests.get(url, headers={"Origin": ORIGIN}, timeout=30)
    assert response.status_code == 200 and response.content == b"hello"
    assert cors_headers({k.lower(): v for k, v in response.headers.items()}) == {
        "access-control-allow-origin": ORIGIN,
        "access-control-allow-credentials": "true",
        "access-control-allow-methods": "GET, PUT",  # no Allow-Headers on actual requests
        "access-control-expose-headers": "ETag, x-amz-version-id",
        "access-control-max-age": "3000",
    }
    assert response.headers["Vary"] == S3_VARY

    # Header-signed (SigV4), HEAD (the third rule: any origin, GET and HEAD).
    result = signed(server, "HEAD", f"/{bucket}/k", service="s3", headers={"Origin": "http://localhost:5173", "x-amz-content-sha256": "UNSIGNED-PAYLOAD"})
    assert result.status == 200
    assert result.headers["access-control-allow-origin"] == "*"
    assert result.headers["access-control-allow-methods"] == "GET, HEAD"
    assert "access-control-allow-credentials" not in result.headers

    # An error answer carries them too (the browser reads the error).
    result = signed(server, "GET", f"/{bucket}/missing", service="s3", headers={"Origin": ORIGIN, "x-amz-content-sha256": "UNSIGNED-PAYLOAD"})
    assert result.status == 404
    assert result.headers["access-control-allow-origin"] == ORIGIN

    # Without Origin, or from an origin/method no rule allows: no CORS headers (moto's removed).
    for headers, method in (({}, "GET"), ({"Origin": "https://evil.test"}, "PUT"), ({"Origin": "https://evil.test"}, "DELETE")):
        result = signed(server, method, f"/{bucket}/k", service="s3", headers={**headers, "x-amz-content-sha256": "UNSIGNED-PAYLOAD"})
        assert result.status < 300
        assert not cors_headers(result.headers), (method, result.headers)
        assert "vary" not in result.headers
        if method == "DELETE":
            s3.put_object(Bucket=bucket, Key="k", Body=b"hello")


def test_s3_bucket_without_configuration_sends_no_cors_headers(server: EmulatorServer, s3: Any) -> None:
    bucket = new_bucket(s3)
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    result = signed(server, "GET", f"/{bucket}/k", service="s3", headers={"Origin": ORIGIN, "x-amz-content-sha256": "UNSIGNED-PAYLOAD"})
    assert result.status == 200
    assert not cors_headers(result.headers)
    assert "vary" not in result.headers


def test_s3_anonymous_get_with_origin(server: EmulatorServer, s3: Any) -> None:
    bucket = new_bucket(s3, [{"AllowedOrigins": ["*"], "AllowedMethods": ["GET"]}])
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/*"}],
    }))
    s3.put_object(Bucket=bucket, Key="public.txt", Body=b"public")
    status, headers, body = http(server, "GET", f"/{bucket}/public.txt", {"Origin": ORIGIN})
    assert status == 200 and body == b"public"
    assert headers["access-control-allow-origin"] == "*"
    assert headers["vary"] == S3_VARY


def test_s3_presigned_put_like_a_browser_upload(server: EmulatorServer, s3: Any) -> None:
    bucket = new_bucket(s3, [{
        "AllowedOrigins": [ORIGIN],
        "AllowedMethods": ["PUT", "GET"],
        "AllowedHeaders": ["*"],
        "ExposeHeaders": ["ETag"],
    }])
    url = s3.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "uploads/photo.png", "ContentType": "image/png"}, ExpiresIn=300)
    parts = urlsplit(url)
    target = f"{parts.path}?{parts.query}"
    # 1. The browser's preflight: the presigned URL, no credentials beyond the query it carries.
    status, headers, body = preflight(server, target, "PUT", "content-type")
    assert status == 200, body
    assert headers["access-control-allow-origin"] == ORIGIN
    assert headers["access-control-allow-methods"] == "PUT, GET"
    assert headers["access-control-allow-headers"] == "content-type"
    assert headers["access-control-expose-headers"] == "ETag"
    # 2. The upload itself.
    status, headers, body = http(server, "PUT", target, {"Origin": ORIGIN, "Content-Type": "image/png"}, b"\x89PNG...")
    assert status == 200, body
    assert headers["access-control-allow-origin"] == ORIGIN
    assert headers["access-control-expose-headers"] == "ETag"
    assert headers["etag"]
    assert s3.get_object(Bucket=bucket, Key="uploads/photo.png")["Body"].read() == b"\x89PNG..."
    # Another origin: the upload's preflight is refused.
    status, headers, body = preflight(server, target, "PUT", "content-type", origin="https://other.example.com")
    assert_s3_error(status, headers, body, 403, "AccessForbidden", NOT_ALLOWED, "PUT", "OBJECT")


# ------------------------------------------------------------------ the other services
def test_dynamodb_preflight_and_actual(server: EmulatorServer) -> None:
    status, headers, body = preflight(server, "/", "POST", DDB_REQUEST_HEADERS)
    assert status == 200, body
    assert headers["access-control-allow-origin"] == "*"
    assert "POST" in headers["access-control-allow-methods"].split(",")
    assert headers["access-control-allow-headers"] == DDB_REQUEST_HEADERS
    assert int(headers["access-control-max-age"]) > 0
    exposed = {h.strip().lower() for h in headers["access-control-expose-headers"].split(",")}
    assert set(JS_SDK_READS) <= exposed
    assert "x-amz-crc32" in exposed

    target = {"content-type": "application/x-amz-json-1.0", "Origin": ORIGIN}
    ok = signed(server, "POST", "/", service="dynamodb", headers={**target, "x-amz-target": "DynamoDB_20120810.ListTables"}, body=b"{}")
    assert ok.status == 200
    assert ok.headers["access-control-allow-origin"] == "*"
    exposed = {h.strip().lower() for h in ok.headers["access-control-expose-headers"].split(",")}
    assert set(JS_SDK_READS) <= exposed
    # Errors too: the SDK reads x-amzn-ErrorType from them.
    err = signed(server, "POST", "/", service="dynamodb", headers={**target, "x-amz-target": "DynamoDB_20120810.DescribeTable"}, body=b'{"TableName":"nope"}')
    assert err.status == 400
    assert err.headers["access-control-allow-origin"] == "*"
    assert "x-amzn-errortype" in err.headers["access-control-expose-headers"].lower()
    # A preflight is never authenticated (nor rate-limited, nor audited): a bad signature is ignored.
    status, headers, _ = http(server, "OPTIONS", "/", {"Origin": ORIGIN, "Access-Control-Request-Method": "POST", "Authorization": "AWS4-HMAC-SHA256 Credential=AKIANOPE/x"})
    assert status == 200 and headers["access-control-allow-origin"] == "*"
    # Without Origin: nothing added.
    plain = signed(server, "POST", "/", service="dynamodb", headers={"content-type": "application/x-amz-json-1.0", "x-amz-target": "DynamoDB_20120810.ListTables"}, body=b"{}")
    assert not cors_headers(plain.headers)


def test_sts_preflight_and_actual(server: EmulatorServer) -> None:
    status, headers, _ = preflight(server, "/", "POST", "authorization,content-type,x-amz-date")
    assert status == 200
    assert headers["access-control-allow-headers"] == "authorization,content-type,x-amz-date"
    result = signed(server, "POST", "/", service="sts", headers={**FORM, "Origin": ORIGIN}, body=form(Action="GetCallerIdentity", Version="2011-06-15"))
    assert result.status == 200
    assert result.headers["access-control-allow-origin"] == "*"
    assert "x-amzn-requestid" in result.headers["access-control-expose-headers"].lower()
    # A moto-served service: one answer, the gateway's (no second Allow-Origin from moto).
    result = signed(server, "POST", "/", service="sns", headers={**FORM, "Origin": ORIGIN}, body=form(Action="ListTopics", Version="2010-03-31"))
    assert result.status == 200
    assert result.headers["access-control-allow-origin"] == "*"
    # moto's global flask-cors wildcard is off: no CORS headers without an Origin.
    result = signed(server, "POST", "/", service="sns", headers=FORM, body=form(Action="ListTopics", Version="2010-03-31"))
    assert result.status == 200
    assert not cors_headers(result.headers)


def test_openai_preflight_and_actual(server: EmulatorServer) -> None:
    asked = "authorization,content-type,x-stainless-os,openai-organization"
    status, headers, _ = preflight(server, "/v1/chat/completions", "POST", asked)
    assert status == 200
    assert headers["access-control-allow-origin"] == "*"
    assert headers["access-control-allow-headers"] == asked
    # Bedrock Runtime's REST paths: the same answer.
    status, headers, _ = preflight(server, "/model/anthropic.claude-3-haiku/invoke", "POST", "authorization,content-type,accept")
    assert status == 200
    assert headers["access-control-allow-headers"] == "authorization,content-type,accept"
    # An answer without credentials (401) is readable by the page.
    status, headers, body = http(server, "GET", "/v1/models", {"Origin": ORIGIN})
    assert status == 401, body
    assert headers["access-control-allow-origin"] == "*"


def test_preflights_stay_out_of_metrics(server: EmulatorServer) -> None:
    def requests_total() -> float:
        status, _, body = http(server, "GET", "/metrics")
        assert status == 200
        return sum(float(line.rsplit(" ", 1)[1]) for line in body.decode().splitlines() if line.startswith("emulator_requests_total{"))

    before = requests_total()
    for path in ("/", "/v1/embeddings", "/no-such-bucket/k"):
        assert preflight(server, path, "POST", "content-type")[0] == 200
    assert requests_total() == before
    log = Path(server.data_dir / "access.log").read_text().splitlines()
    lines = [json.loads(line) for line in log if '"OPTIONS"' in line]
    assert lines and all(line["service"] is None and line["access_key_id"] is None for line in lines)


def test_js_sdk_reads_the_exposed_headers() -> None:
    """The names in JS_SDK_READS are those the installed JS SDK reads (when it is installed)."""
    root = Path(__file__).resolve().parents[2] / "node_modules"
    sources = [
        root / "@smithy/core/dist-cjs/submodules/protocols/index.js",
        root / "@smithy/core/dist-cjs/submodules/retry/index.browser.js",
        root / "@aws-sdk/core/dist-cjs/submodules/protocols/index.js",
        root / "@aws-sdk/core/dist-cjs/submodules/httpAuthSchemes/index.js",
    ]
    if not all(p.exists() for p in sources):
        pytest.skip("the AWS SDK for JavaScript v3 is not installed")
    text = "\n".join(p.read_text() for p in sources).lower()
    for name in JS_SDK_READS:
        assert re.search(rf"[\"'.]{re.escape(name)}\b", text), name


# ------------------------------------------------------------------ cors_origins
@pytest.fixture(scope="module")
def restricted() -> Iterator[EmulatorServer]:
    with EmulatorServer(extra_args=["--services", "dynamodb", "--cors-origin", "https://*.allowed.test", "--cors-origin", "http://localhost:3000"]) as srv:
        yield srv


def test_cors_origins_restrict_the_services_but_s3(restricted: EmulatorServer) -> None:
    status, headers, _ = preflight(restricted, "/", "POST", "content-type", origin="https://ui.allowed.test")
    assert status == 200
    assert headers["access-control-allow-origin"] == "https://ui.allowed.test"
    assert headers["vary"] == "Origin"
    status, headers, _ = preflight(restricted, "/", "POST", "content-type", origin="https://evil.test")
    assert status == 403
    assert not cors_headers(headers)

    body = form(Action="GetCallerIdentity", Version="2011-06-15")
    ok = signed(restricted, "POST", "/", service="sts", headers={**FORM, "Origin": "http://localhost:3000"}, body=body)
    assert ok.headers["access-control-allow-origin"] == "http://localhost:3000"
    assert "origin" in ok.headers["vary"].lower()
    refused = signed(restricted, "POST", "/", service="sts", headers={**FORM, "Origin": "https://evil.test"}, body=body)
    assert refused.status == 200  # CORS is the browser's to enforce
    assert not cors_headers(refused.headers)

    # S3 follows the bucket's configuration, not the setting.
    s3 = restricted.client("s3")
    bucket = new_bucket(s3, [{"AllowedOrigins": ["https://evil.test"], "AllowedMethods": ["GET"]}])
    status, headers, _ = preflight(restricted, f"/{bucket}/k", "GET", origin="https://evil.test")
    assert status == 200
    assert headers["access-control-allow-origin"] == "https://evil.test"
