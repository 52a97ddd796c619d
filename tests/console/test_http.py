"""The console over plain HTTP: sign-in, session cookie, CSRF, degradation, SSE."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest
import requests

from emulator.testing.server import EmulatorServer

from .conftest import BASE, csrf_of, sign_in

PAGES = {
    "/": None,
    "/dynamodb": "dynamodb",
    "/s3": "s3",
    "/sqs": "sqs",
    "/compute": "ec2",
    "/playground": "bedrock-runtime",
    "/cloudwatch": "cloudwatch",
    "/logs": "logs",
    "/keys": "iam",
    "/api": None,
}


def test_unauthenticated_pages_redirect_to_sign_in(console_url: str) -> None:
    resp = requests.get(console_url + "/dynamodb?x=1", allow_redirects=False)
    assert resp.status_code == 303
    assert resp.headers["location"] == BASE + "/signin?next=%2Fdynamodb%3Fx%3D1"
    api = requests.get(console_url + "/api/stats")
    assert api.status_code == 401 and api.json() == {"error": "not signed in"}
    bare = requests.get(console_url, allow_redirects=False)
    assert bare.status_code == 308 and bare.headers["location"] == BASE + "/"


def test_session_cookie_flags_and_rotation(emulator: EmulatorServer, console_url: str) -> None:
    anon = requests.Session()
    page = anon.get(console_url + "/signin")
    cookie = page.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and f"Path={BASE}/" in cookie
    before = anon.cookies.get("emulator_console")
    assert before and len(before) >= 40
    resp = anon.post(console_url + "/signin", data={"_csrf": csrf_of(page.text), "access_key_id": emulator.access_key, "secret_access_key": emulator.secret_key})
    assert resp.status_code == 200 and resp.url.endswith(BASE + "/")
    after = anon.cookies.get("emulator_console")
    assert after and after != before  # a new session id on sign-in (no fixation)
    # The pre-sign-in id is not a signed-in session.
    stale = requests.get(console_url + "/api/stats", cookies={"emulator_console": before})
    assert stale.status_code == 401
    assert requests.get(console_url + "/api/stats", cookies={"emulator_console": after}).status_code == 200
    # A made-up session id is just no session.
    assert requests.get(console_url + "/api/stats", cookies={"emulator_console": "forged"}).status_code == 401


def test_wrong_secret_and_unknown_key_are_refused(emulator: EmulatorServer, console_url: str) -> None:
    s = requests.Session()
    token = csrf_of(s.get(console_url + "/signin").text)
    for key, secret in ((emulator.access_key, "wrong"), ("AKIANOSUCHKEY0000000", emulator.secret_key), (emulator.access_key, "")):
        resp = s.post(console_url + "/signin", data={"_csrf": token, "access_key_id": key, "secret_access_key": secret})
        assert resp.status_code == 401
        assert "wrong" in resp.text
    assert s.get(console_url + "/api/stats").status_code == 401


def test_sign_in_needs_csrf_token(emulator: EmulatorServer, console_url: str) -> None:
    s = requests.Session()
    s.get(console_url + "/signin")
    resp = s.post(console_url + "/signin", data={"access_key_id": emulator.access_key, "secret_access_key": emulator.secret_key})
    assert resp.status_code == 403
    assert s.get(console_url + "/api/stats").status_code == 401


def test_state_changing_requests_need_the_session_csrf_token(emulator: EmulatorServer, web: requests.Session, console_url: str) -> None:
    token = csrf_of(web.get(console_url + "/").text)
    other = sign_in(emulator)
    other_token = csrf_of(other.get(console_url + "/").text)
    assert token != other_token
    for data in ({}, {"_csrf": ""}, {"_csrf": other_token}, {"_csrf": token + "x"}):
        resp = web.post(console_url + "/dynamodb/create", data={**data, "name": "csrf-victim", "pk": "pk"}, allow_redirects=False)
        assert resp.status_code == 403, data
    # JSON endpoints take the token in a header.
    assert web.post(console_url + "/api/chat", json={"modelId": "x"}).status_code == 403
    assert web.post(console_url + "/api/chat", json={"modelId": "x"}, headers={"x-csrf-token": other_token}).status_code == 403
    # A cross-site Origin is refused even with the right token.
    resp = web.post(console_url + "/signout", data={"_csrf": token}, headers={"origin": "http://evil.example"}, allow_redirects=False)
    assert resp.status_code == 403
    assert web.get(console_url + "/api/stats").status_code == 200
    # With the token: signing out works and ends the session server-side.
    old = web.cookies.get("emulator_console")
    resp = web.post(console_url + "/signout", data={"_csrf": token}, allow_redirects=False)
    assert resp.status_code == 303 and resp.headers["location"] == BASE + "/signin"
    assert requests.get(console_url + "/api/stats", cookies={"emulator_console": old}).status_code == 401


def test_next_parameter_cannot_leave_the_console(emulator: EmulatorServer, console_url: str) -> None:
    s = requests.Session()
    token = csrf_of(s.get(console_url + "/signin").text)
    resp = s.post(
        console_url + "/signin",
        data={"_csrf": token, "access_key_id": emulator.access_key, "secret_access_key": emulator.secret_key, "next": "//evil.example/x"},
        allow_redirects=False,
    )
    assert resp.status_code == 303 and resp.headers["location"] == BASE + "/"


def test_security_headers_and_static_files(web: requests.Session, console_url: str) -> None:
    page = web.get(console_url + "/")
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["cache-control"] == "no-store"
    css = requests.get(console_url + "/static/console.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    for name in ("chart.js", "console.js", "playground.js", "overview.js", "logs.js", "compute.js"):
        js = requests.get(console_url + "/static/" + name)
        assert js.status_code == 200 and "javascript" in js.headers["content-type"], name
    for bad in ("../core.py", "..%2Fcore.py", "%2e%2e/core.py", "nope.js", ""):
        resp = requests.get(console_url + "/static/" + bad, allow_redirects=False)
        assert resp.status_code in (303, 404) and "import" not in resp.text, bad


def test_every_page_renders_or_says_unavailable(web: requests.Session, console_url: str, health: Callable[[], dict[str, Any]]) -> None:
    info = health()
    services, moto = info["services"], set(info["fallback"]["services"])
    for path, service in PAGES.items():
        resp = web.get(console_url + path)
        assert resp.status_code == 200, (path, resp.text[:300])
        assert "<nav" in resp.text and 'rel="stylesheet"' in resp.text
        if service is not None and service not in moto and (service not in services or services[service].get("state") == "failed"):
            assert "Service not available" in resp.text, path
        else:
            assert "Service not available" not in resp.text, path
    assert web.get(console_url + "/costs").status_code == 200
    assert web.get(console_url + "/no-such-page").status_code == 404


def test_stats_api(web: requests.Session, console_url: str) -> None:
    for _ in range(3):
        web.get(console_url + "/api/health")
    stats = web.get(console_url + "/api/stats").json()
    assert 0 <= stats["cpu_percent"] <= 100
    assert stats["cpu_count"] >= 1
    assert 0 < stats["ram_used"] < stats["ram_total"]
    assert stats["requests_per_second"] > 0
    assert isinstance(stats["gpus"], list)


def test_dynamodb_forms_round_trip(web: requests.Session, console_url: str, emulator: EmulatorServer, need_service: Callable[[str], None]) -> None:
    need_service("dynamodb")
    token = csrf_of(web.get(console_url + "/dynamodb").text)
    name = f"http-{int(time.time() * 1000)}"
    resp = web.post(console_url + "/dynamodb/create", data={"_csrf": token, "name": name, "pk": "id", "pk_type": "N"})
    assert resp.status_code == 200 and f"Table {name} created." in resp.text
    item = {"id": {"N": "7"}, "blob": {"B": "aGVsbG8="}, "nested": {"M": {"l": {"L": [{"S": "<script>x</script>"}]}}}}
    resp = web.post(console_url + "/dynamodb/put-item", data={"_csrf": token, "name": name, "item": json.dumps(item)})
    assert "Item saved." in resp.text
    assert "<script>x</script>" not in resp.text and "&lt;script&gt;" in resp.text  # escaped
    got = emulator.client("dynamodb").get_item(TableName=name, Key={"id": {"N": "7"}})["Item"]
    assert got["blob"] == {"B": b"hello"}
    resp = web.get(console_url + "/dynamodb/table", params={"name": name, "mode": "query", "pk": "7"})
    assert "aGVsbG8=" in resp.text
    resp = web.post(console_url + "/dynamodb/put-item", data={"_csrf": token, "name": name, "item": '{"id": {"Q": "1"}}'})
    assert "unknown attribute type" in resp.text
    resp = web.post(console_url + "/dynamodb/delete-item", data={"_csrf": token, "name": name, "key": '{"id": {"N": "7"}}'})
    assert "Item deleted." in resp.text
    assert "Item" not in emulator.client("dynamodb").get_item(TableName=name, Key={"id": {"N": "7"}})


def test_chat_streams_server_sent_events(web: requests.Session, console_url: str, emulator: EmulatorServer, need_service: Callable[[str], None]) -> None:
    need_service("bedrock-runtime")
    token = csrf_of(web.get(console_url + "/playground").text)
    bad = web.post(console_url + "/api/chat", json={"modelId": "", "messages": []}, headers={"x-csrf-token": token})
    assert bad.status_code == 400 and bad.json()["code"] == "ValidationException"
    unknown = web.post(console_url + "/api/chat", json={"modelId": "no-such-model", "messages": [{"role": "user", "content": "hi"}]}, headers={"x-csrf-token": token})
    assert unknown.status_code in (400, 404) and unknown.json()["code"] in ("ResourceNotFoundException", "ValidationException")
    images = emulator.client("ec2").describe_images()["Images"]
    if not images:
        pytest.fail("no model image installed")
    body = {"modelId": images[0]["ImageId"], "messages": [{"role": "user", "content": "Count from one to five."}], "maxTokens": 16, "temperature": 0}
    with web.post(console_url + "/api/chat", json=body, headers={"x-csrf-token": token}, stream=True, timeout=300) as resp:
        assert resp.status_code == 200, resp.text[:500]
        assert resp.headers["content-type"].startswith("text/event-stream")
        events = []
        reads = 0
        buffer = b""
        for chunk in resp.iter_content(chunk_size=None):
            reads += 1
            buffer += chunk
            while b"\n\n" in buffer:
                frame, buffer = buffer.split(b"\n\n", 1)
                lines = dict(line.split(": ", 1) for line in frame.decode().split("\n"))
                events.append((lines["event"], json.loads(lines["data"])))
    names = [e for e, _ in events]
    assert names.count("token") >= 2
    assert names[-1] == "done" and "stop" in names
    assert reads >= 2  # the answer came in pieces, not as one body
    text = "".join(d["text"] for e, d in events if e == "token")
    assert text.strip()


def _iam_user_with_key(emulator: EmulatorServer, prefix: str) -> tuple[str, str, str]:
    iam = emulator.client("iam")
    user = f"{prefix}-{int(time.time() * 1000)}"
    iam.create_user(UserName=user)
    key = iam.create_access_key(UserName=user)["AccessKey"]
    return user, key["AccessKeyId"], key["SecretAccessKey"]


def test_console_applies_the_same_policies_as_the_api(emulator: EmulatorServer, console_url: str, need_service: Callable[[str], None]) -> None:
    need_service("iam")
    need_service("dynamodb")
    _, key_id, secret = _iam_user_with_key(emulator, "console-nopolicy")
    web = None
    for _ in range(20):  # a new key may take a moment to reach the key store
        try:
            web = sign_in(emulator, key_id, secret)
            break
        except AssertionError:
            time.sleep(0.1)
    assert web is not None, "could not sign in with a new IAM key"
    from botocore.exceptions import ClientError

    try:
        emulator.client("dynamodb", aws_access_key_id=key_id, aws_secret_access_key=secret).list_tables()
        api_denied = False
    except ClientError as err:
        api_denied = err.response["Error"]["Code"] in ("AccessDeniedException", "AccessDenied")
    page = web.get(console_url + "/dynamodb").text
    assert ("AccessDenied" in page) == api_denied, page[-1500:]
    assert f"({key_id})" in page  # the page shows who is signed in


def test_deactivated_key_is_signed_out_at_once(emulator: EmulatorServer, console_url: str, need_service: Callable[[str], None]) -> None:
    need_service("iam")
    user, key_id, secret = _iam_user_with_key(emulator, "console-deactivate")
    web = sign_in(emulator, key_id, secret)
    assert web.get(console_url + "/api/stats").status_code == 200
    emulator.client("iam").update_access_key(UserName=user, AccessKeyId=key_id, Status="Inactive")
    assert web.get(console_url + "/api/stats").status_code == 401
    s = requests.Session()
    token = csrf_of(s.get(console_url + "/signin").text)
    assert s.post(console_url + "/signin", data={"_csrf": token, "access_key_id": key_id, "secret_access_key": secret}).status_code == 401


def test_other_methods_are_refused(web: requests.Session, console_url: str) -> None:
    for method in ("PUT", "DELETE", "PATCH"):
        assert web.request(method, console_url + "/dynamodb").status_code == 405
    head = web.head(console_url + "/")
    assert head.status_code == 200


def test_item_browser_pages_through_a_scan(web: requests.Session, console_url: str, emulator: EmulatorServer, need_service: Callable[[str], None]) -> None:
    need_service("dynamodb")
    ddb = emulator.client("dynamodb")
    name = f"paging-{int(time.time() * 1000)}"
    ddb.create_table(TableName=name, AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}], BillingMode="PAY_PER_REQUEST")
    for i in range(30):
        ddb.put_item(TableName=name, Item={"pk": {"S": f"item-{i:02d}"}, "n": {"N": str(i)}})
    import re

    first = web.get(console_url + "/dynamodb/table", params={"name": name}).text
    seen = set(re.findall(r"item-\d\d", first))
    assert len(seen) == 25 and "25 item(s) on this page." in first
    nxt = re.search(r'href="([^"]+)" class="button">Next page', first)
    assert nxt, "no next-page link"
    second = web.get(emulator.endpoint + nxt.group(1).replace("&amp;", "&")).text
    rest = set(re.findall(r"item-\d\d", second))
    assert "5 item(s) on this page." in second and not (rest & seen) and len(seen | rest) == 30
    bad = web.get(console_url + "/dynamodb/table", params={"name": name, "start": "!!!"}).text
    assert "ValidationException" in bad


def test_item_browser_queries_an_index(web: requests.Session, console_url: str, emulator: EmulatorServer, need_service: Callable[[str], None]) -> None:
    need_service("dynamodb")
    ddb = emulator.client("dynamodb")
    name = f"gsi-{int(time.time() * 1000)}"
    ddb.create_table(
        TableName=name,
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "email", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        GlobalSecondaryIndexes=[{"IndexName": "by-email", "KeySchema": [{"AttributeName": "email", "KeyType": "HASH"}], "Projection": {"ProjectionType": "ALL"}}],
        BillingMode="PAY_PER_REQUEST",
    )
    ddb.put_item(TableName=name, Item={"pk": {"S": "u1"}, "email": {"S": "ada@example.com"}})
    ddb.put_item(TableName=name, Item={"pk": {"S": "u2"}, "email": {"S": "bob@example.com"}})
    page = web.get(console_url + "/dynamodb/table", params={"name": name, "mode": "query", "index": "by-email", "pk": "bob@example.com"}).text
    assert "1 item(s) on this page." in page and "u2" in page
    assert 'option value="by-email" selected' in page and "email (S)" in page


def test_repeated_wrong_secrets_are_throttled_per_key(emulator: EmulatorServer, console_url: str) -> None:
    s = requests.Session()
    token = csrf_of(s.get(console_url + "/signin").text)
    victim = f"AKIAGUESS{int(time.time() * 1000) % 10**11:011d}"
    codes = [s.post(console_url + "/signin", data={"_csrf": token, "access_key_id": victim, "secret_access_key": f"guess-{i}"}).status_code for i in range(12)]
    assert codes[:10] == [401] * 10 and codes[10:] == [429, 429]
    # Other keys from the same client are unaffected.
    ok = s.post(console_url + "/signin", data={"_csrf": token, "access_key_id": emulator.access_key, "secret_access_key": emulator.secret_key})
    assert ok.status_code == 200 and ok.url.endswith(BASE + "/")


def test_region_switch(emulator: EmulatorServer, console_url: str, need_service: Callable[[str], None]) -> None:
    """The console shows and acts in one region at a time, the session's choice (resources are
    regional): a table made in eu-west-1 through the API appears there, not in the default region."""
    need_service("dynamodb")
    web = sign_in(emulator)  # its own session: the region is per session
    name = f"region-{int(time.time() * 1000)}"
    west = emulator.client("dynamodb", region_name="eu-west-1")
    west.create_table(TableName=name, KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                      AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
    try:
        page = web.get(console_url + "/dynamodb")
        assert 'name="region"' in page.text and '<option value="us-east-1" selected>' in page.text
        assert name not in page.text
        token = csrf_of(page.text)
        resp = web.post(console_url + "/region", data={"_csrf": token, "region": "eu-west-1", "next": "/dynamodb"})
        assert resp.status_code == 200 and resp.url.endswith(BASE + "/dynamodb")
        assert '<option value="eu-west-1" selected>' in resp.text and name in resp.text
        # Acting in that region: an item put through the console lands in eu-west-1's table.
        resp = web.post(console_url + "/dynamodb/put-item", data={"_csrf": token, "name": name, "item": '{"id": {"S": "x"}}'})
        assert "Item saved." in resp.text
        assert west.get_item(TableName=name, Key={"id": {"S": "x"}})["Item"] == {"id": {"S": "x"}}
        # A malformed name changes nothing; the next path cannot leave the console; no token, no switch.
        resp = web.post(console_url + "/region", data={"_csrf": token, "region": "not a region", "next": "//evil.example/"})
        assert resp.url.endswith(BASE + "/") and "Invalid region name" in resp.text and '<option value="eu-west-1" selected>' in resp.text
        assert web.post(console_url + "/region", data={"region": "us-east-1"}).status_code == 403
        assert name not in sign_in(emulator).get(console_url + "/dynamodb").text  # another session: the default region
    finally:
        west.delete_table(TableName=name)
