"""Console pages over plain HTTP: the log group's newest events, every alarm, the costs page's
permission, pages of services moto stands in for, the favicon; and the audit record of every
call the console makes (``EmulatorApp.invoke``)."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from html import unescape
from types import SimpleNamespace
from typing import Any

import pytest
import requests

from emulator.testing.server import EmulatorServer

from .conftest import BASE, csrf_of, sign_in, sign_in_new_user


def _messages(html: str) -> list[str]:
    return [unescape(m) for m in re.findall(r'<span class="msg">([^<]*)</span>', html)]


def _older_link(html: str) -> str | None:
    match = re.search(r'<a href="([^"]*)" class="older-link">', html)
    return unescape(match.group(1)) if match else None


def _audit_lines(emulator: EmulatorServer) -> list[dict[str, Any]]:
    path = emulator.data_dir / "audit.log"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.exists() else []


def test_log_group_page_shows_the_newest_events_and_links_older_ones(web: requests.Session, console_url: str, emulator: EmulatorServer,
                                                                     need_service: Callable[[str], None]) -> None:
    need_service("logs")
    logs = emulator.client("logs")
    group = f"/console/newest-{int(time.time() * 1000)}"
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName="s")
    now = int(time.time() * 1000)
    logs.put_log_events(logGroupName=group, logStreamName="s",
                        logEvents=[{"timestamp": now - 2000 + j, "message": f"event {j} {'odd' if j % 2 else 'even'}"} for j in range(1200)])
    page = web.get(console_url + "/logs/group", params={"name": group, "range": "5m"}).text
    shown = _messages(page)
    assert shown == [f"event {j} {'odd' if j % 2 else 'even'}" for j in range(700, 1200)]
    assert 'id="tail-toggle"' in page and "older ones exist" in page
    # The "older" link: the 500 before those, then the rest, and no link after the oldest.
    older = _older_link(page)
    assert older is not None and older.startswith(BASE + "/logs/group?")
    page = web.get(emulator.endpoint + older).text
    assert [m.split()[1] for m in _messages(page)] == [str(j) for j in range(200, 700)]
    assert 'id="tail-toggle"' not in page and "Newest events" in page  # no live tail on an older page
    older = _older_link(page)
    assert older is not None
    page = web.get(emulator.endpoint + older).text
    assert [m.split()[1] for m in _messages(page)] == [str(j) for j in range(200)]
    assert _older_link(page) is None
    # With a filter pattern: the newest 500 matches.
    page = web.get(console_url + "/logs/group", params={"name": group, "range": "5m", "pattern": "odd"}).text
    assert [int(m.split()[1]) for m in _messages(page)] == list(range(201, 1200, 2))
    assert _older_link(page) is not None
    # Fewer than 500 in the range: all of them, no note.
    page = web.get(console_url + "/logs/group", params={"name": group, "range": "5m", "pattern": "\"event 11\""}).text
    assert len(_messages(page)) == 111 and _older_link(page) is None


def test_log_group_page_finds_events_spread_over_days(web: requests.Session, console_url: str, emulator: EmulatorServer,
                                                      need_service: Callable[[str], None]) -> None:
    need_service("logs")
    logs = emulator.client("logs")
    group = f"/console/spread-{int(time.time() * 1000)}"
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName="s")
    now = int(time.time() * 1000)
    stamps = [now - 5 * 86_400_000, now - 5 * 86_400_000 + 1, now - 2 * 3_600_000, now - 1000]
    for batch in (stamps[:2], stamps[2:]):  # a batch may not span more than 24 hours
        logs.put_log_events(logGroupName=group, logStreamName="s", logEvents=[{"timestamp": t, "message": f"at {t}"} for t in batch])
    page = web.get(console_url + "/logs/group", params={"name": group, "range": "1w"}).text
    assert _messages(page) == [f"at {t}" for t in stamps] and _older_link(page) is None
    page = web.get(console_url + "/logs/group", params={"name": group, "range": "1d"}).text
    assert _messages(page) == [f"at {t}" for t in stamps[2:]]


def test_cloudwatch_page_lists_every_alarm(web: requests.Session, console_url: str, emulator: EmulatorServer, need_service: Callable[[str], None]) -> None:
    need_service("cloudwatch")
    cw = emulator.client("cloudwatch")
    prefix = f"many-{int(time.time() * 1000)}"
    for i in range(120):  # DescribeAlarms answers at most 100 a page
        cw.put_metric_alarm(AlarmName=f"{prefix}-{i:03d}", MetricName="m", Namespace="Console/Many", Statistic="Sum", Period=60,
                            EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanThreshold")
    page = web.get(console_url + "/cloudwatch").text
    assert len(set(re.findall(re.escape(prefix) + r"-\d{3}", page))) == 120


def test_alarm_page_shows_description_and_dimensions(web: requests.Session, console_url: str, emulator: EmulatorServer,
                                                     need_service: Callable[[str], None]) -> None:
    need_service("cloudwatch")
    name = f"described-{int(time.time() * 1000)}"
    emulator.client("cloudwatch").put_metric_alarm(
        AlarmName=name, AlarmDescription="Queue <backlog> too deep", MetricName="Depth", Namespace="Console/Alarm", Statistic="Maximum", Period=60,
        EvaluationPeriods=1, Threshold=10, ComparisonOperator="GreaterThanThreshold", Dimensions=[{"Name": "Queue", "Value": "jobs"}])
    page = web.get(console_url + "/cloudwatch/alarm", params={"name": name}).text
    assert "Queue &lt;backlog&gt; too deep" in page and "Queue=jobs" in page


def test_costs_page_needs_ce_get_cost_and_usage(emulator: EmulatorServer, console_url: str, need_service: Callable[[str], None]) -> None:
    need_service("iam")
    if requests.get(emulator.endpoint + "/_emulator/usage", timeout=30).status_code == 404:
        pytest.skip("no usage report on this server")
    web, user, _ = sign_in_new_user(emulator, "console-costs")
    page = web.get(console_url + "/costs").text
    assert "AccessDeniedException" in page and "ce:GetCostAndUsage" in page
    assert "By access key" not in page and emulator.access_key not in page
    emulator.client("iam").put_user_policy(UserName=user, PolicyName="costs", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ce:GetCostAndUsage", "Resource": "*"}]}))
    for _ in range(50):  # a new policy may take a moment to apply
        page = web.get(console_url + "/costs").text
        if "AccessDenied" not in page:
            break
        time.sleep(0.1)
    assert "AccessDenied" not in page and "By access key" in page
    root = sign_in(emulator).get(console_url + "/costs").text
    assert "AccessDenied" not in root and "By access key" in root


def test_negative_amounts_read_as_such() -> None:
    from emulator.console.pages.costs import render_report, usd

    assert usd(-0.000108) == "-$0.000108" and usd(-12.5) == "-$12.50" and usd(0.5) == "$0.50"
    html = render_report({"month": "2026-12", "aws_cost_usd": 0.0, "local_cost_usd": 0.000108, "savings_usd": -0.000108, "by_service": {}})
    assert 'data-cost="savings_usd">-$0.000108<' in html and "$-" not in html


def test_favicon(web: requests.Session, console_url: str) -> None:
    page = web.get(console_url + "/").text
    assert f'<link rel="icon" href="{BASE}/static/favicon.svg"' in page
    for path in ("/static/favicon.svg", "/favicon.ico"):
        resp = requests.get(console_url + path)
        assert resp.status_code == 200 and resp.headers["content-type"] == "image/svg+xml" and b"<svg" in resp.content


def test_every_console_call_is_audited(web: requests.Session, console_url: str, emulator: EmulatorServer, need_service: Callable[[str], None]) -> None:
    need_service("dynamodb")
    need_service("iam")
    missing = f"audit-missing-{int(time.time() * 1000)}"
    # Allowed (root), native; failed (no such table); and a service moto serves.
    web.get(console_url + "/dynamodb")
    web.get(console_url + "/dynamodb/table", params={"name": missing})
    web.get(console_url + "/sqs")
    # Denied: a user without any policy.
    denied_web, user, key = sign_in_new_user(emulator, "console-audit")
    denied_web.get(console_url + "/dynamodb")
    lines = _audit_lines(emulator)
    mine = [line for line in lines if line["access_key_id"] == emulator.access_key]
    assert any(line["operation"] == "ListTables" and line["decision"] == "allow" and line["status"] == 200 for line in mine)
    failed = [line for line in mine if line["operation"] == "DescribeTable" and (line["resource"] or "").endswith("/" + missing)]
    assert len(failed) == 1 and failed[0]["status"] == 400 and failed[0]["decision"] == "allow" and failed[0]["service"] == "dynamodb"
    assert any(line["service"] == "sqs" and line["operation"] == "ListQueues" and line["action"] == "sqs:ListQueues" for line in mine)
    refused = [line for line in lines if line["access_key_id"] == key["AccessKeyId"] and line["operation"] == "ListTables"]
    assert len(refused) == 1
    assert refused[0]["decision"] != "allow" and refused[0]["status"] in (400, 403) and refused[0]["user"] == user
    assert refused[0]["action"] == "dynamodb:ListTables" and refused[0]["principal_arn"].endswith(":user/" + user)


def test_native_tells_moto_stand_ins_apart() -> None:
    from emulator.console.core import Console

    def console(handlers: dict[str, Any], errors: dict[str, str], forwarded: tuple[str, ...] = ()) -> Any:
        runtime = SimpleNamespace(app=object(), handlers=handlers, handler_errors=errors)
        return SimpleNamespace(runtime=runtime, _forwarded=lambda service: service in forwarded)

    assert Console.native(console({"ec2": object()}, {}), "ec2")
    assert not Console.native(console({}, {}), "ec2")  # moto's EC2 (stock AMIs) is no compute service
    assert not Console.native(console({"ec2": object()}, {"ec2": "failed to start"}), "ec2")
    assert Console.native(console({}, {}, ("bedrock-runtime",)), "bedrock-runtime")  # a cluster role serves it


def test_pages_of_services_moto_stands_in_for_say_unavailable() -> None:
    with EmulatorServer(extra_args=["--services", "dynamodb"]) as server:
        web = sign_in(server)
        url = server.endpoint + BASE
        for path in ("/compute", "/playground", "/bedrock"):
            page = web.get(url + path).text
            assert "Service not available" in page, (path, page[-800:])
            assert "<option" not in page.split("<main>", 1)[1]  # no stock AMIs offered as models
        chat = web.post(url + "/api/chat", json={"modelId": "ami-123", "messages": [{"role": "user", "content": "hi"}]},
                        headers={"x-csrf-token": csrf_of(web.get(url + "/").text)})
        assert chat.status_code == 503 and chat.json()["code"] == "ServiceUnavailable"
        assert "No tables" in web.get(url + "/dynamodb").text
