"""CloudWatch Logs StartLiveTail through the wire: boto3 reads the response event stream.

StartLiveTail's endpoint has the host prefix ``stream-``, which botocore prepends to any
endpoint_url's host (stream-127.0.0.1 resolves nowhere): the clients here turn host
prefix injection off, as the README tells users to.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, EndpointConnectionError, EventStreamError

from emulator.testing.server import EmulatorServer

from .conftest import wait_for

ACCOUNT = "000000000000"


def _client(server: EmulatorServer, **config: Any) -> Any:
    cfg = Config(retries={"max_attempts": 1, "mode": "standard"}, inject_host_prefix=False, max_pool_connections=32, **config)
    return server.client("logs", config=cfg)


@pytest.fixture(scope="module")
def tail(mon: EmulatorServer) -> Any:
    return _client(mon)


def _group(logs: Any, *streams: str) -> str:
    name = f"/tail/{uuid.uuid4().hex[:8]}"
    logs.create_log_group(logGroupName=name)
    for s in streams:
        logs.create_log_stream(logGroupName=name, logStreamName=s)
    return name


def _put(logs: Any, group: str, stream: str, *messages: str) -> None:
    now = int(time.time() * 1000)
    logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=[{"timestamp": now, "message": m} for m in messages])


def _live_tail(server: EmulatorServer) -> dict[str, Any]:
    with urllib.request.urlopen(f"{server.endpoint}/_emulator/health", timeout=10) as resp:
        return dict(json.load(resp)["services"]["logs"]["live_tail"])


def _updates(events: Iterator[dict[str, Any]], want: int, timeout: float = 10.0) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(sessionUpdate events, their results) until ``want`` results came, then one update more
    (so that a result that should not have come has had its chance)."""
    updates: list[dict[str, Any]] = []
    results: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    extra = 0
    while time.monotonic() < deadline:
        event = next(events)
        assert set(event) == {"sessionUpdate"}, event
        updates.append(event["sessionUpdate"])
        results.extend(event["sessionUpdate"]["sessionResults"])
        if len(results) >= want:
            extra += 1
            if extra > 1:
                break
    return updates, results


def test_session_start_then_filtered_updates(tail: Any) -> None:
    group = _group(tail, "app-1", "app-2", "other")
    other = _group(tail, "app-1")
    _put(tail, group, "app-1", "ERROR before the session")
    arn = tail.describe_log_groups(logGroupNamePrefix=group)["logGroups"][0]["logGroupArn"]
    out = tail.start_live_tail(logGroupIdentifiers=[arn], logStreamNamePrefixes=["app-"], logEventFilterPattern="ERROR")
    assert out["ResponseMetadata"]["HTTPHeaders"]["content-type"] == "application/vnd.amazon.eventstream"
    stream = out["responseStream"]
    try:
        events = iter(stream)
        start = next(events)["sessionStart"]
        assert start["logGroupIdentifiers"] == [arn]
        assert start["logStreamNamePrefixes"] == ["app-"] and "logStreamNames" not in start
        assert start["logEventFilterPattern"] == "ERROR"
        assert start["requestId"] == out["ResponseMetadata"]["RequestId"]
        uuid.UUID(start["sessionId"])
        _put(tail, group, "app-1", "ERROR one", "INFO two")
        _put(tail, group, "app-2", "ERROR three")
        _put(tail, group, "other", "ERROR not this stream")
        _put(tail, other, "app-1", "ERROR not this group")
        t0 = time.monotonic()
        updates, results = _updates(events, 2)
        assert sorted(r["message"] for r in results) == ["ERROR one", "ERROR three"]
        assert all(u["sessionMetadata"] == {"sampled": False} for u in updates)
        one = next(r for r in results if r["message"] == "ERROR one")
        assert one["logStreamName"] == "app-1" and one["logGroupIdentifier"] == f"{ACCOUNT}:{group}"
        assert abs(one["timestamp"] - time.time() * 1000) < 60_000 and one["ingestionTime"] >= one["timestamp"]
        # the update after the results is empty, about a second later (AWS: every second)
        assert updates[-1]["sessionResults"] == [] and time.monotonic() - t0 >= 0.5
    finally:
        stream.close()


def test_stream_names_several_groups_and_no_pattern(tail: Any) -> None:
    a = _group(tail, "s1", "s2")
    b = _group(tail, "s1")
    stream = tail.start_live_tail(logGroupIdentifiers=[a], logStreamNames=["s2", "later"])["responseStream"]
    try:
        events = iter(stream)
        assert next(events)["sessionStart"]["logStreamNames"] == ["s2", "later"]
        _put(tail, a, "s1", "not s1")
        _put(tail, a, "s2", "from s2")
        tail.create_log_stream(logGroupName=a, logStreamName="later")  # a stream created after the start
        _put(tail, a, "later", "from later")
        _, results = _updates(events, 2)
        assert sorted((r["logStreamName"], r["message"]) for r in results) == [("later", "from later"), ("s2", "from s2")]
    finally:
        stream.close()
    # two groups, by name: every stream, every event
    stream = tail.start_live_tail(logGroupIdentifiers=[a, b])["responseStream"]
    try:
        events = iter(stream)
        assert next(events)["sessionStart"]["logGroupIdentifiers"] == [a, b]
        _put(tail, a, "s1", "in a")
        _put(tail, b, "s1", "in b", "again b")
        _, results = _updates(events, 3)
        assert sorted((r["logGroupIdentifier"], r["message"]) for r in results) == sorted([(f"{ACCOUNT}:{a}", "in a"), (f"{ACCOUNT}:{b}", "in b"), (f"{ACCOUNT}:{b}", "again b")])
    finally:
        stream.close()


def test_json_pattern_and_sampling_beyond_500(tail: Any) -> None:
    group = _group(tail, "s")
    stream = tail.start_live_tail(logGroupIdentifiers=[group], logEventFilterPattern="{ $.level = \"error\" }")["responseStream"]
    try:
        events = iter(stream)
        next(events)
        messages = [json.dumps({"level": "error" if i % 4 else "info", "n": i}) for i in range(800)]
        _put(tail, group, "s", *messages)  # 600 match, in one batch: one poll sees them all
        updates, results = _updates(events, 500)
        assert len(results) == 500
        sampled = [u for u in updates if u["sessionResults"]]
        assert len(sampled) == 1 and sampled[0]["sessionMetadata"] == {"sampled": True}
        ns = [json.loads(r["message"])["n"] for r in results]
        assert all(n % 4 for n in ns) and ns == sorted(ns) and len(set(ns)) == 500  # a sample of the matches, in order
        _put(tail, group, "s", '{"level": "error", "n": -1}')
        updates, results = _updates(events, 1)
        assert [r["message"] for r in results] == ['{"level": "error", "n": -1}']
        assert all(u["sessionMetadata"] == {"sampled": False} for u in updates)
    finally:
        stream.close()


def test_closing_the_stream_ends_the_session(tail: Any, mon: EmulatorServer) -> None:
    # an earlier test's closed stream ends at its session's next poll (within a second)
    assert wait_for(lambda: _live_tail(mon)["sessions"] == 0), "sessions of earlier tests still open"
    group = _group(tail, "s")
    stream = tail.start_live_tail(logGroupIdentifiers=[group])["responseStream"]
    try:
        events = iter(stream)
        next(events)
        next(events)  # a first poll
        assert _live_tail(mon)["sessions"] == 1
    finally:
        stream.close()
    assert wait_for(lambda: _live_tail(mon)["sessions"] == 0, timeout=10), _live_tail(mon)
    polls = _live_tail(mon)["polls"]
    time.sleep(2.5)
    assert _live_tail(mon)["polls"] == polls  # the server stopped polling for it


def _code(err: pytest.ExceptionInfo[ClientError]) -> str:
    return str(err.value.response["Error"]["Code"])


def test_errors(tail: Any, mon: EmulatorServer) -> None:
    group = _group(tail, "s")
    arn = f"arn:aws:logs:{mon.region}:{ACCOUNT}:log-group:{group}"
    cases: list[tuple[dict[str, Any], tuple[str, ...]]] = [
        ({"logGroupIdentifiers": [f"/tail/missing-{uuid.uuid4().hex[:6]}"]}, ("ResourceNotFoundException",)),
        ({"logGroupIdentifiers": [group, "/tail/missing-x"]}, ("ResourceNotFoundException",)),
        ({"logGroupIdentifiers": [f"arn:aws:logs:eu-west-3:{ACCOUNT}:log-group:{group}"]}, ("ResourceNotFoundException",)),
        ({"logGroupIdentifiers": [group], "logStreamNames": ["s"], "logStreamNamePrefixes": ["s"]}, ("InvalidParameterException",)),
        ({"logGroupIdentifiers": [group, arn], "logStreamNamePrefixes": ["s"]}, ("InvalidParameterException",)),
        ({"logGroupIdentifiers": [group], "logEventFilterPattern": "{ $.a = }"}, ("InvalidParameterException",)),
        # the model's constraints: the gateway's validator may answer before the handler does
        ({"logGroupIdentifiers": [group] * 11}, ("InvalidParameterException", "ValidationException")),
        ({"logGroupIdentifiers": []}, ("InvalidParameterException", "ValidationException")),
        ({"logGroupIdentifiers": [arn + ":*"]}, ("InvalidParameterException", "ValidationException")),  # "*" is outside the pattern
    ]
    assert wait_for(lambda: _live_tail(mon)["sessions"] == 0), "sessions of earlier tests still open"
    unchecked = _client(mon, parameter_validation=False)  # what botocore would refuse goes to the server
    for params, codes in cases:
        with pytest.raises(ClientError) as err:
            unchecked.start_live_tail(**params)
        assert _code(err) in codes, (params, err.value.response["Error"])
    assert _live_tail(mon)["sessions"] == 0  # a refused request holds no session


def test_at_most_15_sessions(tail: Any, mon: EmulatorServer) -> None:
    assert wait_for(lambda: _live_tail(mon)["sessions"] == 0), "sessions of earlier tests still open"
    group = _group(tail, "s")
    streams = []
    try:
        for _ in range(15):
            out = tail.start_live_tail(logGroupIdentifiers=[group])
            streams.append(out["responseStream"])
            next(iter(out["responseStream"]))
        with pytest.raises(ClientError) as err:
            tail.start_live_tail(logGroupIdentifiers=[group])
        assert _code(err) == "LimitExceededException"
        streams.pop().close()
        assert wait_for(lambda: _live_tail(mon)["sessions"] == 14, timeout=10)
        out = tail.start_live_tail(logGroupIdentifiers=[group])  # the slot is free again
        streams.append(out["responseStream"])
        assert "sessionStart" in next(iter(out["responseStream"]))
    finally:
        for s in streams:
            s.close()
    assert wait_for(lambda: _live_tail(mon)["sessions"] == 0, timeout=10)


def test_host_prefix_injection(mon: EmulatorServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """botocore sends StartLiveTail to stream-HOST, for an IP endpoint too; the documented
    way out is the environment variable (or the config setting)."""
    monkeypatch.delenv("AWS_DISABLE_HOST_PREFIX_INJECTION", raising=False)
    plain = mon.client("logs", config=Config(retries={"max_attempts": 1, "mode": "standard"}, connect_timeout=5))
    seen: list[str] = []
    plain.meta.events.register("before-send.logs.StartLiveTail", lambda request, **_: seen.append(request.url))
    with pytest.raises(EndpointConnectionError):
        plain.start_live_tail(logGroupIdentifiers=["x"])
    assert seen and seen[0].startswith("http://stream-127.0.0.1:")
    monkeypatch.setenv("AWS_DISABLE_HOST_PREFIX_INJECTION", "true")
    logs = mon.client("logs")
    group = _group(logs, "s")
    stream = logs.start_live_tail(logGroupIdentifiers=[group])["responseStream"]
    try:
        assert "sessionStart" in next(iter(stream))
    finally:
        stream.close()


@pytest.mark.skipif(not (Path(sys.executable).parent / "aws").exists() and shutil.which("aws") is None, reason="no AWS CLI")
def test_aws_cli_start_live_tail(tail: Any, mon: EmulatorServer) -> None:
    aws = str(Path(sys.executable).parent / "aws") if (Path(sys.executable).parent / "aws").exists() else str(shutil.which("aws"))
    probe = subprocess.run([aws, "logs", "start-live-tail", "help"], check=False, capture_output=True, timeout=60, env={**os.environ, "PAGER": "cat"})
    if probe.returncode != 0:
        pytest.skip("this AWS CLI has no logs start-live-tail")
    group = _group(tail, "s")
    env = {**os.environ, **mon.environment(), "AWS_DISABLE_HOST_PREFIX_INJECTION": "true"}
    assert wait_for(lambda: _live_tail(mon)["sessions"] == 0), "sessions of earlier tests still open"
    proc = subprocess.Popen(
        [aws, "logs", "start-live-tail", "--log-group-identifiers", group, "--log-event-filter-pattern", "hello", "--endpoint-url", mon.endpoint],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    try:
        assert wait_for(lambda: _live_tail(mon)["sessions"] == 1 or proc.poll() is not None, timeout=30), "the CLI started no session"
        assert proc.poll() is None, proc.communicate()
        _put(tail, group, "s", "hello from the cli test", "skipped")
        time.sleep(2.5)
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=30)
    assert out.decode().splitlines() == ["hello from the cli test"], (out, err)


def test_timeout_and_reset_end_sessions() -> None:
    env = {"EMULATOR_LOGS_LIVE_TAIL_TIMEOUT": "1.5", "EMULATOR_LOGS_LIVE_TAIL_INTERVAL": "0.25"}
    with EmulatorServer(env=env) as server:
        logs = _client(server)
        group = _group(logs, "s")
        events = iter(logs.start_live_tail(logGroupIdentifiers=[group])["responseStream"])
        next(events)
        t0 = time.monotonic()
        with pytest.raises(EventStreamError) as err:
            for event in events:
                assert set(event) == {"sessionUpdate"}
        assert err.value.response["Error"]["Code"] == "SessionTimeoutException"
        assert 1.0 <= time.monotonic() - t0 < 5
        assert wait_for(lambda: _live_tail(server)["sessions"] == 0)
        # a reset ends the open sessions: the stream ends
        events = iter(logs.start_live_tail(logGroupIdentifiers=[group])["responseStream"])
        next(events)
        t0 = time.monotonic()
        server.reset(["logs"])
        rest = list(events)  # ends, before the session would time out (an EventStreamError)
        assert all(set(e) == {"sessionUpdate"} for e in rest) and time.monotonic() - t0 < 1.5
        assert _live_tail(server)["sessions"] == 0


def test_server_shutdown_ends_open_sessions() -> None:
    """uvicorn's graceful shutdown waits for open responses: an open session must not hold it
    (EmulatorServer.stop kills the server after 20 s)."""
    server = EmulatorServer().start()
    try:
        logs = _client(server)
        group = _group(logs, "s")
        events = iter(logs.start_live_tail(logGroupIdentifiers=[group])["responseStream"])
        next(events)
        t0 = time.monotonic()
        server.stop(timeout=60)
        assert time.monotonic() - t0 < 10
        assert all(set(e) == {"sessionUpdate"} for e in events)  # the stream ends
    finally:
        server.cleanup()
