"""The console's API explorer over plain HTTP: any operation of any service the server runs,
called as the signed-in key, with its output or AWS's error on the page."""

from __future__ import annotations

import base64
import json
import re
import uuid
from collections.abc import Callable
from html import unescape
from typing import Any

import pytest
import requests

from emulator.testing.server import EmulatorServer

from .conftest import csrf_of, sign_in, sign_in_new_user


def _textarea(page: str) -> str:
    match = re.search(r'<textarea name="params"[^>]*>(.*?)</textarea>', page, re.DOTALL)
    assert match, "page has no input textarea"
    return unescape(match.group(1))


def _output(page: str) -> Any:
    match = re.search(r'<section class="card" id="call-output">.*?<pre class="json">(.*?)</pre>', page, re.DOTALL)
    assert match, page[:2000]
    return json.loads(unescape(match.group(1)))


def _call(web: requests.Session, console_url: str, service: str, operation: str, params: Any, token: str | None = None) -> requests.Response:
    if token is None:
        token = csrf_of(web.get(console_url + "/api").text)
    text = params if isinstance(params, str) else json.dumps(params)
    return web.post(console_url + "/api/call", data={"_csrf": token, "service": service, "operation": operation, "params": text})


def _options(page: str) -> set[str]:
    select = re.search(r'<select name="service".*?</select>', page, re.DOTALL)
    assert select
    return set(re.findall(r'<option value="([^"]+)"', select.group(0)))


def test_the_page_lists_native_and_moto_services(web: requests.Session, console_url: str, health: Callable[[], dict[str, Any]]) -> None:
    info = health()
    page = web.get(console_url + "/api")
    assert page.status_code == 200 and 'data-nav="api"' in page.text and re.search(r'class="active" data-nav="api"', page.text)
    listed = _options(page.text)
    native = {name for name, s in info["services"].items() if s.get("state") != "failed"}
    moto = set(info["fallback"]["services"])
    assert native and moto and {"s3", "sqs"} <= moto
    assert native | moto == listed
    native_group = re.search(r'<optgroup label="Native">(.*?)</optgroup>', page.text, re.DOTALL)
    assert native_group and set(re.findall(r'value="([^"]+)"', native_group.group(1))) == native
    assert "operation-form" not in page.text and "call-form" not in page.text

    ops = web.get(console_url + "/api", params={"service": "sqs"})
    assert ops.status_code == 200 and 'id="operation-form"' in ops.text
    assert '<option value="CreateQueue">CreateQueue</option>' in ops.text and '<option value="sqs" selected>' in ops.text
    assert "call-form" not in ops.text


def test_unknown_service_or_operation_says_so(web: requests.Session, console_url: str) -> None:
    resp = web.get(console_url + "/api", params={"service": "no-such-service"})
    assert resp.status_code == 400 and "The service no-such-service is not available on this server." in resp.text
    resp = web.get(console_url + "/api", params={"service": "dynamodb", "operation": "<b>Nope</b>"})
    assert resp.status_code == 400 and "dynamodb has no operation &lt;b&gt;Nope&lt;/b&gt;." in resp.text and "<b>Nope" not in resp.text
    resp = _call(web, console_url, "dynamodb", "Nope", {})
    assert resp.status_code == 400 and "dynamodb has no operation Nope." in resp.text and "call-output" not in resp.text
    resp = _call(web, console_url, "", "", {})
    assert resp.status_code == 400 and "Choose a service." in resp.text
    # The region switch returns to the page it was on: after a call, the explorer.
    back = web.get(console_url + "/api/call", allow_redirects=False)
    assert back.status_code == 303 and back.headers["location"] == "/_emulator/console/api"


def test_the_skeleton_documentation_and_members(web: requests.Session, console_url: str) -> None:
    page = web.get(console_url + "/api", params={"service": "dynamodb", "operation": "PutItem"})
    assert page.status_code == 200 and 'id="call-form"' in page.text
    assert json.loads(_textarea(page.text)) == {"TableName": "", "Item": {}}
    assert '<p id="op-summary">Creates a new item, or replaces an old item with a new item.</p>' in page.text
    members = re.search(r'<table class="grid members">.*?</table>', page.text, re.DOTALL)
    assert members
    rows = re.findall(r"<tr><td>([^<]*)</td><td>([^<]*)</td><td>([^<]*)</td><td>([^<]*)</td></tr>", members.group(0))
    by_name = {name: (kind, req) for name, kind, req, _doc in rows}
    assert by_name["TableName"] == ("string", "required")
    assert by_name["Item"] == ("map of string to structure AttributeValue", "required")
    assert by_name["ConditionExpression"] == ("string", "optional")
    assert by_name["ReturnValues"][0].startswith("string, one of: NONE, ALL_OLD")
    # Required structures are expanded; lists, numbers and booleans get their JSON type.
    tagging = web.get(console_url + "/api", params={"service": "s3", "operation": "PutBucketTagging"})
    assert json.loads(_textarea(tagging.text)) == {"Bucket": "", "Tagging": {"TagSet": []}}
    receive = web.get(console_url + "/api", params={"service": "sqs", "operation": "ChangeMessageVisibility"})
    assert json.loads(_textarea(receive.text)) == {"QueueUrl": "", "ReceiptHandle": "", "VisibilityTimeout": 0}
    assert json.loads(_textarea(web.get(console_url + "/api", params={"service": "s3", "operation": "ListBuckets"}).text)) == {}


def test_calls_show_their_output(web: requests.Session, console_url: str, emulator: EmulatorServer, need_service: Callable[[str], None]) -> None:
    need_service("dynamodb")
    table = f"api-{uuid.uuid4().hex[:10]}"
    emulator.client("dynamodb").create_table(TableName=table, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                                             AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
    token = csrf_of(web.get(console_url + "/api").text)
    resp = _call(web, console_url, "dynamodb", "ListTables", {"Limit": 100}, token)
    assert resp.status_code == 200 and "The call succeeded." in resp.text
    assert table in _output(resp.text)["TableNames"] or "LastEvaluatedTableName" in _output(resp.text)
    assert json.loads(_textarea(resp.text)) == {"Limit": 100}  # the request is kept

    bucket = f"api-{uuid.uuid4().hex[:12]}"
    emulator.client("s3").create_bucket(Bucket=bucket)
    out = _output(_call(web, console_url, "s3", "ListBuckets", "", token).text)
    mine = next(b for b in out["Buckets"] if b["Name"] == bucket)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?\+00:00", mine["CreationDate"])  # ISO 8601

    queue = f"api-q-{uuid.uuid4().hex[:8]}"
    created = _output(_call(web, console_url, "sqs", "CreateQueue", {"QueueName": queue, "Attributes": {"DelaySeconds": "5"}}, token).text)
    assert created["QueueUrl"].endswith("/" + queue)
    got = emulator.client("sqs").get_queue_attributes(QueueUrl=created["QueueUrl"], AttributeNames=["DelaySeconds"])
    assert got["Attributes"]["DelaySeconds"] == "5"
    listed = _output(_call(web, console_url, "sqs", "ListQueues", {"QueueNamePrefix": queue}, token).text)
    assert listed["QueueUrls"] == [created["QueueUrl"]]


def test_streaming_bodies_and_blobs(web: requests.Session, console_url: str, emulator: EmulatorServer, need_service: Callable[[str], None]) -> None:
    bucket = f"api-{uuid.uuid4().hex[:12]}"
    s3 = emulator.client("s3")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="t.txt", Body="héllo <world>".encode())
    s3.put_object(Bucket=bucket, Key="b.bin", Body=b"\xff\x00\xfe")
    token = csrf_of(web.get(console_url + "/api").text)
    resp = _call(web, console_url, "s3", "GetObject", {"Bucket": bucket, "Key": "t.txt"}, token)
    assert _output(resp.text)["Body"] == "héllo <world>" and "<world>" not in resp.text
    assert "Body: a streaming body, shown as UTF-8 text." in resp.text
    resp = _call(web, console_url, "s3", "GetObject", {"Bucket": bucket, "Key": "b.bin"}, token)
    assert _output(resp.text)["Body"] == base64.b64encode(b"\xff\x00\xfe").decode()
    assert "Body: a streaming body, not UTF-8, shown base64-encoded." in resp.text
    # Over 1 MiB: the first MiB, less the half of a character the cut splits.
    s3.put_object(Bucket=bucket, Key="big.txt", Body=("a" + "é" * 600_000).encode())
    resp = _call(web, console_url, "s3", "GetObject", {"Bucket": bucket, "Key": "big.txt"}, token)
    assert _output(resp.text)["Body"] == "a" + "é" * (1024 * 1024 // 2 - 1)
    assert "Body: a streaming body, shown as UTF-8 text (the first 1048576 bytes only)." in resp.text
    # A blob member is given as base64 and comes back as base64, with a note.
    resp = _call(web, console_url, "s3", "PutObject", {"Bucket": bucket, "Key": "up.txt", "Body": base64.b64encode(b"sent").decode()}, token)
    assert "ETag" in _output(resp.text)
    assert s3.get_object(Bucket=bucket, Key="up.txt")["Body"].read() == b"sent"
    resp = _call(web, console_url, "s3", "PutObject", {"Bucket": bucket, "Key": "bad", "Body": "not base64!"}, token)
    assert "SerializationException" in resp.text and "call-output" not in resp.text

    need_service("dynamodb")
    table = f"api-b-{uuid.uuid4().hex[:8]}"
    emulator.client("dynamodb").create_table(TableName=table, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                                             AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
    emulator.client("dynamodb").put_item(TableName=table, Item={"pk": {"S": "k"}, "raw": {"B": b"\x01\x02"}})
    resp = _call(web, console_url, "dynamodb", "GetItem", {"TableName": table, "Key": {"pk": {"S": "k"}}}, token)
    assert _output(resp.text)["Item"]["raw"] == {"B": base64.b64encode(b"\x01\x02").decode()}
    assert "Item.raw.B: bytes, shown base64-encoded." in resp.text
    item = {"pk": {"S": "k2"}, "raw": {"B": base64.b64encode(b"\x00\xff").decode()}}
    assert "The call succeeded." in _call(web, console_url, "dynamodb", "PutItem", {"TableName": table, "Item": item}, token).text
    assert emulator.client("dynamodb").get_item(TableName=table, Key={"pk": {"S": "k2"}})["Item"]["raw"] == {"B": b"\x00\xff"}


def test_an_aws_error_is_shown_with_the_request_kept(web: requests.Session, console_url: str, need_service: Callable[[str], None]) -> None:
    need_service("dynamodb")
    request = '{"TableName": "api-missing-table"}'
    resp = _call(web, console_url, "dynamodb", "DescribeTable", request)
    assert resp.status_code == 200 and 'id="call-error"' in resp.text and "call-output" not in resp.text
    assert "<th>Code</th><td>ResourceNotFoundException</td>" in resp.text
    assert "<th>HTTP status</th><td>400</td>" in resp.text and "api-missing-table" in resp.text
    assert _textarea(resp.text) == request
    # Shape validation runs as on the wire.
    resp = _call(web, console_url, "dynamodb", "DescribeTable", {})
    assert "<th>Code</th><td>ValidationException</td>" in resp.text


def test_invalid_json_is_refused_and_calls_nothing(web: requests.Session, console_url: str, emulator: EmulatorServer) -> None:
    queue = f"api-nojson-{uuid.uuid4().hex[:8]}"
    token = csrf_of(web.get(console_url + "/api").text)
    broken = '{"QueueName": "' + queue + '",'
    resp = _call(web, console_url, "sqs", "CreateQueue", broken, token)
    assert resp.status_code == 400 and "The input is not valid JSON: " in resp.text and "call-output" not in resp.text
    assert _textarea(resp.text) == broken
    for text, kind in (('["QueueName"]', "an array"), ('"x"', "a string"), ("null", "null"), ("3", "a number")):
        resp = _call(web, console_url, "sqs", "CreateQueue", text, token)
        assert resp.status_code == 400 and f"The input must be a JSON object ({{...}}), not {kind}." in resp.text, text
    assert "QueueUrls" not in emulator.client("sqs").list_queues(QueueNamePrefix=queue)


def test_the_call_needs_the_csrf_token(web: requests.Session, console_url: str, emulator: EmulatorServer) -> None:
    queue = f"api-csrf-{uuid.uuid4().hex[:8]}"
    other = csrf_of(sign_in(emulator).get(console_url + "/").text)
    fields = {"service": "sqs", "operation": "CreateQueue", "params": json.dumps({"QueueName": queue})}
    for extra in ({}, {"_csrf": ""}, {"_csrf": other}):
        resp = web.post(console_url + "/api/call", data={**fields, **extra}, allow_redirects=False)
        assert resp.status_code == 403, extra
    assert "QueueUrls" not in emulator.client("sqs").list_queues(QueueNamePrefix=queue)
    assert requests.post(console_url + "/api/call", data=fields).status_code == 403  # no session, so no token


def test_a_user_without_permissions_gets_access_denied(emulator: EmulatorServer, console_url: str) -> None:
    web, user, key = sign_in_new_user(emulator, "api-noperm")
    page = web.get(console_url + "/api", params={"service": "sqs", "operation": "CreateQueue"})
    assert f"Runs as {user} ({key['AccessKeyId']})" in page.text
    resp = _call(web, console_url, "s3", "ListBuckets", {})
    assert "<th>Code</th><td>AccessDenied</td>" in resp.text and "<th>HTTP status</th><td>403</td>" in resp.text
    queue = f"api-denied-{uuid.uuid4().hex[:8]}"
    resp = _call(web, console_url, "sqs", "CreateQueue", {"QueueName": queue})
    assert 'id="call-error"' in resp.text and "AccessDenied" in resp.text
    assert "QueueUrls" not in emulator.client("sqs").list_queues(QueueNamePrefix=queue)


@pytest.mark.parametrize(("service", "operation"), [("logs", "StartLiveTail"), ("bedrock-runtime", "ConverseStream")])
def test_event_stream_operations_are_refused(web: requests.Session, console_url: str, service: str, operation: str,
                                             need_service: Callable[[str], None]) -> None:
    need_service(service)
    page = web.get(console_url + "/api", params={"service": service, "operation": operation})
    assert page.status_code == 200 and "call-form" not in page.text
    refusal = f"{service} {operation} has an event-stream output, which the API explorer does not support"
    assert refusal in page.text
    resp = _call(web, console_url, service, operation, {})
    assert resp.status_code == 400 and refusal in resp.text and "call-output" not in resp.text and "call-error" not in resp.text


def test_html_in_values_is_escaped(web: requests.Session, console_url: str, emulator: EmulatorServer, need_service: Callable[[str], None]) -> None:
    need_service("dynamodb")
    table = f"api-x-{uuid.uuid4().hex[:8]}"
    emulator.client("dynamodb").create_table(TableName=table, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                                             AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
    evil = "<script>alert(1)</script>"
    token = csrf_of(web.get(console_url + "/api").text)
    item = {"pk": {"S": "k"}, "note": {"S": evil}}
    put = _call(web, console_url, "dynamodb", "PutItem", {"TableName": table, "Item": item}, token)
    assert "The call succeeded." in put.text and evil not in put.text and "&lt;script&gt;" in put.text
    got = _call(web, console_url, "dynamodb", "GetItem", {"TableName": table, "Key": {"pk": {"S": "k"}}}, token)
    assert _output(got.text)["Item"] == item and evil not in got.text
    bad = _call(web, console_url, "dynamodb", "DescribeTable", '{"TableName": "' + evil + '"', token)
    assert bad.status_code == 400 and evil not in bad.text and "&lt;/script&gt;" in bad.text
    err = _call(web, console_url, "sqs", "GetQueueUrl", {"QueueName": "a<b>"}, token)
    assert 'id="call-error"' in err.text and "<b>" not in err.text
