"""The console in a real browser (headless Chromium driven by Playwright).

Each page's test skips only when /_emulator/health shows its service missing,
so it starts running as soon as the service lands. Screenshots go to
tests/artifacts/console/.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from emulator.testing.server import EmulatorServer

BASE = "/_emulator/console"
pytestmark = pytest.mark.timeout(300)
Shot = Callable[[Any, str], None]


def test_sign_in_and_overview_gauges(page: Any, emulator: EmulatorServer, shot: Shot) -> None:
    # Signed in by the fixture through the form: the overview shows services and live gauges.
    assert page.locator("h1").inner_text() == "Overview"
    page.wait_for_function("document.getElementById('gauges').dataset.updated !== undefined")
    cpu = page.locator("#g-cpu").inner_text()
    assert re.match(r"\d+% of \d+", cpu), cpu
    assert "GiB" in page.locator("#g-ram").inner_text()
    assert page.locator("#g-rps").inner_text() != "–"
    services = page.locator("table.services").inner_text()
    for name in ("dynamodb", "ec2", "bedrock-runtime", "cloudwatch", "logs", "iam"):
        assert name in services
    # A second sample draws the sparklines.
    page.wait_for_function("document.querySelectorAll('#s-cpu svg path').length > 0", timeout=10_000)
    shot(page, "overview")


def test_wrong_secret_is_refused(browser: Any, emulator: EmulatorServer, shot: Shot) -> None:
    context = browser.new_context()
    pg = context.new_page()
    pg.goto(emulator.endpoint + BASE + "/dynamodb")
    assert "/signin" in pg.url
    pg.fill("input[name=access_key_id]", emulator.access_key)
    pg.fill("input[name=secret_access_key]", "not-the-secret")
    pg.click("#signin-form button[type=submit]")
    assert "wrong" in pg.locator(".flash.error").inner_text()
    cookies = {c["name"]: c for c in context.cookies()}
    cookie = cookies["emulator_console"]
    assert cookie["httpOnly"] is True and cookie["sameSite"] == "Strict"
    shot(pg, "signin-refused")
    context.close()


def test_dynamodb_create_table_and_item(page: Any, emulator: EmulatorServer, need_service: Callable[[str], None], shot: Shot) -> None:
    need_service("dynamodb")
    name = f"console-{int(time.time() * 1000)}"
    page.click("nav a[data-nav=dynamodb]")
    page.fill("#create-table input[name=name]", name)
    page.fill("#create-table input[name=pk]", "pk")
    page.fill("#create-table input[name=sk]", "sk")
    page.click("#create-table button[type=submit]")
    page.wait_for_url(re.compile(r"/dynamodb/table\?name="))
    assert f"Table {name} created." in page.locator(".flash.ok").inner_text()
    # A new table may be CREATING for a moment: wait for ACTIVE as a user would (reload).
    for _ in range(50):
        if "ACTIVE" in page.locator("table.kv").inner_text():
            break
        time.sleep(0.2)
        page.reload()
    item = {"pk": {"S": "user#1"}, "sk": {"S": "profile"}, "name": {"S": "Ada Lovelace"}, "age": {"N": "36"}, "tags": {"SS": ["math", "poetry"]}}
    page.fill("#item-json", json.dumps(item))
    page.click("#item-editor button[type=submit]")
    assert "Item saved." in page.locator(".flash.ok").inner_text()
    rows = page.locator("table.items tbody")
    assert "Ada Lovelace" in rows.inner_text() and "user#1" in rows.inner_text()
    # Query by partition key finds it; a query for another key does not.
    page.select_option("#query-form select[name=mode]", "query")
    page.fill("#query-form input[name=pk]", "user#1")
    page.click("#query-form button[type=submit]")
    assert "Ada Lovelace" in page.locator("table.items tbody").inner_text()
    page.fill("#query-form input[name=pk]", "user#2")
    page.click("#query-form button[type=submit]")
    assert "No items." in page.locator("table.items tbody").inner_text()
    # The table is real: boto3 sees the item the browser wrote.
    got = emulator.client("dynamodb").get_item(TableName=name, Key={"pk": {"S": "user#1"}, "sk": {"S": "profile"}})
    assert got["Item"]["name"] == {"S": "Ada Lovelace"}
    page.select_option("#query-form select[name=mode]", "scan")
    page.click("#query-form button[type=submit]")
    page.click("table.items .edit-item")
    assert "Ada Lovelace" in page.input_value("#item-json")
    shot(page, "dynamodb-table")
    page.on("dialog", lambda d: d.accept())
    page.click("table.items form.inline button.danger")
    assert "Item deleted." in page.locator(".flash.ok").inner_text()
    assert "No items." in page.locator("table.items tbody").inner_text()
    page.goto(emulator.endpoint + BASE + "/dynamodb")
    assert name in page.locator("table.tables").inner_text()
    shot(page, "dynamodb-tables")


def test_dynamodb_bad_item_json_shows_error(page: Any, emulator: EmulatorServer, need_service: Callable[[str], None]) -> None:
    need_service("dynamodb")
    name = f"console-bad-{int(time.time() * 1000)}"
    emulator.client("dynamodb").create_table(
        TableName=name, AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}], KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}], BillingMode="PAY_PER_REQUEST"
    )
    page.goto(emulator.endpoint + BASE + "/dynamodb/table?name=" + name)
    page.fill("#item-json", '{"pk": {"S": "a"}, "broken": ')
    page.click("#item-editor button[type=submit]")
    assert "not valid JSON" in page.locator(".flash.error").inner_text()
    page.fill("#item-json", '{"other": {"S": "a"}}')
    page.click("#item-editor button[type=submit]")
    assert "ValidationException" in page.locator(".flash.error").inner_text()


def _wait_state(page: Any, instance_id: str, state: str, timeout: float = 120.0) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        # Wait out the navigation the last click started: reloading in the middle of it can
        # find the page swapped ("Not attached to an active page").
        page.wait_for_load_state()
        page.reload()
        badge = page.locator(f'[data-instance-state="{instance_id}"] .badge').first.inner_text()
        if badge == state:
            return
        if badge in ("terminated",) and state != "terminated":
            raise AssertionError(f"{instance_id} is {badge}: {page.locator('table.kv').inner_text()}")
        time.sleep(0.5)
    raise AssertionError(f"{instance_id} did not reach {state}")


def test_compute_launch_stop_start_instance(page: Any, emulator: EmulatorServer, need_service: Callable[[str], None], health: Callable[[], dict[str, Any]], shot: Shot) -> None:
    need_service("ec2")
    page.click("nav a[data-nav=compute]")
    images = page.locator("#launch-form select[name=image] option")
    if images.count() == 0:
        pytest.fail("DescribeImages lists no image: `emulator models install-default` should have installed SmolLM2")
    page.fill("#launch-form input[name=tag_name]", "console-test")
    page.click("#launch-form button[type=submit]")
    flash = page.locator(".flash").first.inner_text()
    assert flash.startswith("Launched i-"), flash
    instance_id = flash.split()[1].rstrip(".")
    try:
        page.click(f"a:text('{instance_id}')")
        page.wait_for_url(re.compile(r"/compute/instance\?id="))
        _wait_state(page, instance_id, "running")
        assert "console-test" in page.locator("table.kv").inner_text()
        shot(page, "compute-instance")
        page.click(".actions form:has(input[value=stop]) button")
        assert "StopInstances" in page.locator(".flash").first.inner_text()
        _wait_state(page, instance_id, "stopped")
        page.click(".actions form:has(input[value=start]) button")
        _wait_state(page, instance_id, "running")
        if "bedrock-runtime" in health().get("services", {}):
            # A generation on this instance shows up as its live tokens/s.
            emulator.client("bedrock-runtime").converse(
                modelId=instance_id, messages=[{"role": "user", "content": [{"text": "Say hi."}]}], inferenceConfig={"maxTokens": 8, "temperature": 0}
            )
        page.goto(emulator.endpoint + BASE + "/compute")
        assert instance_id in page.locator("table.instances").inner_text()
        if "bedrock-runtime" in health().get("services", {}):
            assert float(page.locator(f'[data-instance-tps="{instance_id}"]').inner_text()) > 0
        assert page.locator("table.images tbody tr").count() >= 1
        shot(page, "compute")
    finally:
        # Free the ledger for the rest of the suite whatever happened.
        emulator.client("ec2").terminate_instances(InstanceIds=[instance_id])


def test_playground_streams_answer(page: Any, emulator: EmulatorServer, need_service: Callable[[str], None], shot: Shot) -> None:
    need_service("bedrock-runtime")
    page.click("nav a[data-nav=playground]")
    page.fill("#max-tokens", "24")
    page.fill("#temperature", "0")
    # Count separate DOM updates of the answer: more than one proves tokens arrived as they came.
    page.evaluate(
        """() => {
        window.__updates = 0;
        new MutationObserver(() => { window.__updates += 1; }).observe(document.getElementById('chat-log'), {subtree: true, characterData: true, childList: true});
    }"""
    )
    page.fill("#prompt", "Name three colors.")
    page.click("#send")
    answer = page.locator(".chat-log > div").nth(1)
    page.wait_for_function("() => { const d = document.querySelectorAll('.chat-log > div')[1]; return d && d.dataset.state && d.dataset.state !== 'streaming'; }", timeout=180_000)
    state = answer.get_attribute("data-state")
    assert state == "done", answer.inner_text()
    assert answer.inner_text().strip(), "the model answered nothing"
    assert int(answer.get_attribute("data-chunks") or 0) >= 2
    assert page.evaluate("window.__updates") >= 3  # user bubble + >= 2 separate token updates
    assert "tokens/s" in page.locator("#chat-stats").inner_text()
    shot(page, "playground")


def test_cloudwatch_metric_graph_and_dashboard(page: Any, emulator: EmulatorServer, need_service: Callable[[str], None], shot: Shot) -> None:
    need_service("cloudwatch")
    cw = emulator.client("cloudwatch")
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    ns = "Console/Test"
    data = [
        {"MetricName": "QueueDepth", "Dimensions": [{"Name": "Queue", "Value": "jobs"}], "Timestamp": now - timedelta(minutes=m), "Value": float(10 + (m % 7) * 3), "Unit": "Count"}
        for m in range(1, 41)
    ]
    for i in range(0, len(data), 20):
        cw.put_metric_data(Namespace=ns, MetricData=data[i : i + 20])
    page.click("nav a[data-nav=cloudwatch]")
    page.select_option("select[name=namespace]", ns)
    page.click("form.row button[type=submit]")
    page.click("a.metric-link:text('QueueDepth')")
    chart = page.locator("[data-chart]")
    page.wait_for_selector("[data-chart][data-state=ready]")
    points = int(chart.get_attribute("data-points") or 0)
    assert points >= 30, points
    assert page.locator("[data-chart] circle.point").count() == points
    assert "Queue=jobs" in page.locator("main").inner_text()
    shot(page, "cloudwatch-graph")
    page.click("#ranges a:text('15m')")
    page.wait_for_selector("[data-chart][data-state=ready]")
    assert 0 < int(chart.get_attribute("data-points") or 0) < points

    body = {
        "widgets": [
            {"type": "metric", "x": 0, "y": 0, "width": 12, "height": 6, "properties": {"title": "Queue depth", "region": "us-east-1", "stat": "Maximum", "period": 60, "metrics": [[ns, "QueueDepth", "Queue", "jobs"]]}},
            {"type": "text", "x": 12, "y": 0, "width": 12, "height": 6, "properties": {"markdown": "# Console test dashboard"}},
        ]
    }
    cw.put_dashboard(DashboardName="console-test", DashboardBody=json.dumps(body))
    page.goto(emulator.endpoint + BASE + "/cloudwatch")
    page.click("table.dashboards a:text('console-test')")
    page.wait_for_selector(".widget [data-chart][data-state=ready]")
    assert int(page.locator(".widget [data-chart]").get_attribute("data-points") or 0) >= 30
    assert "Console test dashboard" in page.locator(".text-widget").inner_text()
    shot(page, "cloudwatch-dashboard")


def test_cloudwatch_alarm_state_and_history(page: Any, emulator: EmulatorServer, need_service: Callable[[str], None], shot: Shot) -> None:
    need_service("cloudwatch")
    cw = emulator.client("cloudwatch")
    cw.put_metric_alarm(
        AlarmName="console-queue-high", Namespace="Console/Test", MetricName="QueueDepth", Dimensions=[{"Name": "Queue", "Value": "jobs"}],
        Statistic="Average", Period=60, EvaluationPeriods=1, Threshold=5.0, ComparisonOperator="GreaterThanThreshold",
    )
    cw.set_alarm_state(AlarmName="console-queue-high", StateValue="ALARM", StateReason="set by the console test")
    page.click("nav a[data-nav=cloudwatch]")
    row = page.locator("table.alarms tr:has-text('console-queue-high')")
    assert "ALARM" in row.inner_text()
    row.locator("a").click()
    assert "set by the console test" in page.locator("main").inner_text()
    assert "StateUpdate" in page.locator("table.history").inner_text()
    shot(page, "cloudwatch-alarm")


def test_logs_filter_and_live_tail(page: Any, emulator: EmulatorServer, need_service: Callable[[str], None], shot: Shot) -> None:
    need_service("logs")
    logs = emulator.client("logs")
    group = f"/console/test-{int(time.time() * 1000)}"
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName="app")
    now = int(time.time() * 1000)
    logs.put_log_events(
        logGroupName=group, logStreamName="app",
        logEvents=[{"timestamp": now - 3000 + i, "message": msg} for i, msg in enumerate(["INFO started", "ERROR disk full", "INFO request ok", "ERROR timeout"])],
    )
    page.click("nav a[data-nav=logs]")
    page.click(f"table.log-groups a:text('{group}')")
    view = page.locator("#log-view")
    assert view.locator(".log-line").count() == 4
    page.fill("#pattern", "ERROR")
    page.click("#filter-form button[type=submit]")
    assert view.locator(".log-line").count() == 2
    assert "disk full" in view.inner_text() and "request ok" not in view.inner_text()
    page.fill("#stream", "nope")
    page.click("#filter-form button[type=submit]")
    assert view.locator(".log-line").count() == 0
    page.fill("#stream", "ap")
    page.click("#filter-form button[type=submit]")
    assert view.locator(".log-line").count() == 2
    page.click("#tail-toggle")
    page.wait_for_function("document.getElementById('tail-status').textContent.includes('Live tail on')")
    logs.put_log_events(logGroupName=group, logStreamName="app", logEvents=[{"timestamp": int(time.time() * 1000), "message": "ERROR live event"}])
    logs.put_log_events(logGroupName=group, logStreamName="app", logEvents=[{"timestamp": int(time.time() * 1000) + 1, "message": "INFO filtered out"}])
    page.wait_for_selector(".log-line.new:has-text('ERROR live event')", timeout=15_000)
    assert "filtered out" not in view.inner_text()
    shot(page, "logs-tail")
    page.click("#tail-toggle")


def test_costs_page(page: Any, emulator: EmulatorServer, health: Callable[[], dict[str, Any]], shot: Shot) -> None:
    import requests

    has_usage = requests.get(emulator.endpoint + "/_emulator/usage", timeout=30).status_code != 404
    if has_usage and "dynamodb" in health().get("services", {}):
        for _ in range(3):
            emulator.client("dynamodb").list_tables()
        # Telemetry reaches the usage ledger in batches: ask the monitoring service to flush now.
        requests.post(emulator.endpoint + "/_emulator/monitoring/flush", timeout=30)
    page.click("nav a[data-nav=costs]")
    assert page.locator("h1").inner_text() == "Costs"
    text = page.locator("main").inner_text()
    if not has_usage:
        assert "Service not available" in text
        shot(page, "costs")
        return
    assert "Service not available" not in text
    assert page.locator("#usage-report").count() == 1, text
    assert page.locator("[data-cost=aws_cost_usd]").inner_text().startswith("$")
    if "dynamodb" in health().get("services", {}):
        assert "dynamodb" in page.locator("table.usage-items").inner_text()
        assert emulator.access_key in page.locator("table.usage-keys").inner_text()
        assert page.locator(".bars .bar-row").count() >= 1
    shot(page, "costs")


def test_keys_page_creates_user_and_key(page: Any, emulator: EmulatorServer, need_service: Callable[[str], None], shot: Shot) -> None:
    page.click("nav a[data-nav=keys]")
    assert emulator.access_key in page.locator("main").inner_text()
    need_service("iam")
    user = f"console-user-{int(time.time() * 1000)}"
    page.fill("#create-user input[name=user]", user)
    page.click("#create-user button[type=submit]")
    assert f"User {user} created." in page.locator(".flash.ok").inner_text()
    page.click(f"table.users tr:has-text('{user}') button:text('Create access key')")
    secret = page.locator("#new-secret").inner_text()
    assert len(secret) >= 20
    shot(page, "keys-new-secret")
    page.click("a:text('Back to keys')")
    assert secret not in page.content()  # shown once only
    row = page.locator(f"table.users tr:has-text('{user}')")
    assert "Active" in row.inner_text()
    shot(page, "keys")


def test_s3_upload_through_the_page(page: Any, emulator: EmulatorServer, shot: Shot, tmp_path: Any) -> None:
    bucket = f"console-b-{int(time.time() * 1000)}"
    page.click("nav a[data-nav=s3]")
    page.fill("#create-bucket input[name=name]", bucket)
    page.click("#create-bucket button[type=submit]")
    page.wait_for_url(re.compile(r"/s3/bucket\?name="))
    assert f"Bucket {bucket} created." in page.locator(".flash.ok").inner_text()
    file = tmp_path / "notes <1>.txt"
    file.write_text("uploaded from the browser\n")
    page.fill("#prefix-form input[name=prefix]", "docs/")
    page.click("#prefix-form button[type=submit]")
    page.set_input_files("#upload-form input[name=file]", str(file))
    page.click("#upload-form button[type=submit]")
    assert "Uploaded docs/notes <1>.txt (26 bytes)." in page.locator(".flash.ok").inner_text()
    assert "notes <1>.txt" in page.locator("table.objects tbody").inner_text()
    got = emulator.client("s3").get_object(Bucket=bucket, Key="docs/notes <1>.txt")
    assert got["Body"].read() == b"uploaded from the browser\n" and got["ContentType"] == "text/plain"
    shot(page, "s3-bucket")
    page.click("table.objects a:text('notes <1>.txt')")
    assert "text/plain" in page.locator("table.kv").inner_text()
    with page.expect_download() as info:
        page.click("main a.button:text('Download')")
    # Chromium makes the name safe for a file system ("<" and ">" become "_").
    assert info.value.suggested_filename in ("notes <1>.txt", "notes _1_.txt")
    with open(info.value.path(), "rb") as downloaded:
        assert downloaded.read() == b"uploaded from the browser\n"
    shot(page, "s3-object")
