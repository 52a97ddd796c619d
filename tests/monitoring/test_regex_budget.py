"""User-supplied regular expressions run under emulator.user_regex's budget, through the wire:
a catastrophic pattern (``(a|a)+$`` on 26 a's and a "!": ~30 s of backtracking on ``re``)
answers the operation's validation error quickly when the request evaluates it itself, is no
match at ingest, and a concurrent request (DynamoDB ListTables) is answered meanwhile.
The bounds are generous (a loaded CI machine): without the budget each call takes ~30 s."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from emulator.testing.server import EmulatorServer

from .conftest import wait_for
from .test_logs_data_protection import policy

CATASTROPHIC = "(a|a)+$"
EVIL = "a" * 26 + "!"
QUICK = 5.0  # seconds: far above the 0.1 s budget, far below the ~30 s without it
TOO_LONG = f"The regular expression {CATASTROPHIC} took too long to evaluate"


def _error(err: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    return str(err.value.response["Error"]["Code"]), str(err.value.response["Error"]["Message"])


def _while_busy(server: EmulatorServer, call: Callable[[], Any]) -> tuple[Any, float, float]:
    """(call's result or exception, its seconds, a concurrent ListTables' seconds)."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        started = time.monotonic()
        try:
            outcome["result"] = call()
        except Exception as exc:  # noqa: BLE001 - handed back to the test
            outcome["result"] = exc
        outcome["seconds"] = time.monotonic() - started

    dynamodb = server.client("dynamodb")
    dynamodb.list_tables()  # the client is warm: its first call's set-up is not timed
    worker = threading.Thread(target=run)
    worker.start()
    time.sleep(0.05)
    started = time.monotonic()
    dynamodb.list_tables()
    concurrent = time.monotonic() - started
    worker.join(120)
    return outcome.get("result"), outcome.get("seconds", float("inf")), concurrent


def _group(logs: Any, messages: list[str]) -> str:
    name = f"/redos/{uuid.uuid4().hex[:8]}"
    logs.create_log_group(logGroupName=name)
    logs.create_log_stream(logGroupName=name, logStreamName="s")
    if messages:
        now = int(time.time() * 1000)
        logs.put_log_events(logGroupName=name, logStreamName="s", logEvents=[{"timestamp": now + i, "message": m} for i, m in enumerate(messages)])
    return name


def test_apply_guardrail_answers_a_validation_error(mon: EmulatorServer) -> None:
    control, runtime = mon.client("bedrock"), mon.client("bedrock-runtime")
    made = control.create_guardrail(
        name=f"redos-{uuid.uuid4().hex[:8]}", blockedInputMessaging="no", blockedOutputsMessaging="no",
        sensitiveInformationPolicyConfig={"regexesConfig": [{"name": "cat", "pattern": CATASTROPHIC, "action": "BLOCK"}]})
    try:
        def apply(text: str) -> Any:
            return runtime.apply_guardrail(guardrailIdentifier=made["guardrailId"], guardrailVersion="DRAFT", source="INPUT", content=[{"text": {"text": text}}])

        result, seconds, concurrent = _while_busy(mon, lambda: apply(EVIL))
        assert isinstance(result, ClientError), result
        code, message = result.response["Error"]["Code"], result.response["Error"]["Message"]
        assert code == "ValidationException" and TOO_LONG in message and "cat" in message
        assert seconds < QUICK and concurrent < QUICK
        assert apply("baaaa")["action"] == "GUARDRAIL_INTERVENED"  # the pattern still works where it is quick
    finally:
        control.delete_guardrail(guardrailIdentifier=made["guardrailId"])


@pytest.mark.parametrize("pattern", [f"%{CATASTROPHIC}%", f"{{ $.msg = %{CATASTROPHIC}% }}", f"[w = %{CATASTROPHIC}%]"])
def test_filter_log_events_and_test_metric_filter(mon: EmulatorServer, logs: Any, pattern: str) -> None:
    group = _group(logs, [EVIL, json.dumps({"msg": EVIL}), "baaa"])
    result, seconds, concurrent = _while_busy(mon, lambda: logs.filter_log_events(logGroupName=group, filterPattern=pattern))
    assert isinstance(result, ClientError), result
    code, message = result.response["Error"]["Code"], result.response["Error"]["Message"]
    assert code == "InvalidParameterException" and TOO_LONG in message
    assert seconds < QUICK and concurrent < QUICK
    with pytest.raises(ClientError) as err:
        logs.test_metric_filter(filterPattern=pattern, logEventMessages=[EVIL, json.dumps({"msg": EVIL})])
    assert _error(err)[0] == "InvalidParameterException" and TOO_LONG in _error(err)[1]


def test_insights_query_fails(mon: EmulatorServer, logs: Any) -> None:
    group = _group(logs, [EVIL])
    now = int(time.time())

    def query() -> str:
        qid = logs.start_query(logGroupName=group, startTime=now - 600, endTime=now + 60, queryString=f"filter @message like /{CATASTROPHIC}/")["queryId"]
        done = wait_for(lambda: logs.get_query_results(queryId=qid)["status"] in ("Complete", "Failed"), timeout=60)
        assert done
        return str(logs.get_query_results(queryId=qid)["status"])

    status, seconds, concurrent = _while_busy(mon, query)
    assert status == "Failed" and seconds < QUICK and concurrent < QUICK


def test_transformers(mon: EmulatorServer, logs: Any) -> None:
    config = [{"grok": {"match": f"(?<x>{CATASTROPHIC})"}}]
    result, seconds, concurrent = _while_busy(mon, lambda: logs.test_transformer(transformerConfig=config, logEventMessages=[EVIL]))
    assert isinstance(result, ClientError), result
    # the error names the grok match as written
    assert result.response["Error"]["Code"] == "InvalidParameterException"
    assert f"The regular expression (?<x>{CATASTROPHIC}) took too long to evaluate" in result.response["Error"]["Message"]
    assert seconds < QUICK and concurrent < QUICK
    # at ingest the event is kept as it came (as when a processor fails on it)
    group = _group(logs, [])
    logs.put_transformer(logGroupIdentifier=group, transformerConfig=config)
    _, seconds, concurrent = _while_busy(mon, lambda: logs.put_log_events(
        logGroupName=group, logStreamName="s", logEvents=[{"timestamp": int(time.time() * 1000), "message": EVIL}]))
    assert seconds < QUICK and concurrent < QUICK
    events = logs.get_log_events(logGroupName=group, logStreamName="s", startFromHead=True)["events"]
    assert [e["message"] for e in events] == [EVIL]


def test_ingest_treats_a_timeout_as_no_match(mon: EmulatorServer, logs: Any) -> None:
    """Metric filters and a custom data protection identifier on PutLogEvents and reads."""
    group = _group(logs, [])
    logs.put_metric_filter(logGroupName=group, filterName="cat", filterPattern=f"%{CATASTROPHIC}%",
                           metricTransformations=[{"metricName": "Cat", "metricNamespace": f"Redos/{uuid.uuid4().hex[:6]}", "metricValue": "1"}])
    doc = policy(["Cat"], Configuration={"CustomDataIdentifier": [{"Name": "Cat", "Regex": CATASTROPHIC}]})
    logs.put_data_protection_policy(logGroupIdentifier=group, policyDocument=doc)
    now = int(time.time() * 1000)
    _, seconds, concurrent = _while_busy(mon, lambda: logs.put_log_events(
        logGroupName=group, logStreamName="s", logEvents=[{"timestamp": now, "message": EVIL}, {"timestamp": now + 1, "message": "baaa"}]))
    assert seconds < QUICK and concurrent < QUICK
    started = time.monotonic()
    events = logs.get_log_events(logGroupName=group, logStreamName="s", startFromHead=True)["events"]
    assert time.monotonic() - started < QUICK
    assert [e["message"] for e in events] == [EVIL, "b***"]  # out of budget: not masked; the quick one is
