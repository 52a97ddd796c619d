"""CloudWatch Logs limits through the wire: FilterLogEvents' 1 MB pages, PutLogEvents'
expired (past the retention) versus too old (past 14 days) events, and @ptr in Insights rows."""

from __future__ import annotations

import time
import uuid
from typing import Any

from .conftest import wait_for

DAY_MS = 86_400_000


def _group(logs: Any, stream: str = "s") -> str:
    name = f"/test/limits/{uuid.uuid4().hex[:8]}"
    logs.create_log_group(logGroupName=name)
    logs.create_log_stream(logGroupName=name, logStreamName=stream)
    return name


def _now_ms() -> int:
    return int(time.time() * 1000)


def test_filter_log_events_pages_hold_at_most_one_megabyte(logs: Any) -> None:
    name = _group(logs)
    base = _now_ms() - 60_000
    # 24 events of 100,000 bytes (100,026 each as AWS counts: message + 26): 10 fit in 1,048,576 bytes
    messages = [f"{i:02d}" + "x" * 99_998 for i in range(24)]
    for first in range(0, 24, 8):  # PutLogEvents takes 1 MB a batch
        logs.put_log_events(logGroupName=name, logStreamName="s", logEvents=[{"timestamp": base + i, "message": messages[i]} for i in range(first, first + 8)])
    pages: list[list[str]] = []
    kw: dict[str, Any] = {}
    while True:
        out = logs.filter_log_events(logGroupName=name, **kw)
        pages.append([e["message"] for e in out["events"]])
        assert sum(len(m.encode()) + 26 for m in pages[-1]) <= 1_048_576
        if "nextToken" not in out:
            break
        kw = {"nextToken": out["nextToken"]}
        assert len(pages) < 10
    assert [len(p) for p in pages] == [10, 10, 4]
    assert [m for p in pages for m in p] == messages  # nothing lost, nothing twice, in time order
    # the smaller of the two caps applies: limit first, then the bytes
    assert len(logs.filter_log_events(logGroupName=name, limit=3)["events"]) == 3
    assert len(logs.filter_log_events(logGroupName=name, limit=15)["events"]) == 10
    every = logs.get_paginator("filter_log_events").paginate(logGroupName=name).build_full_result()["events"]
    assert [e["message"] for e in every] == messages
    # small events are not held back by the byte cap
    small = _group(logs)
    logs.put_log_events(logGroupName=small, logStreamName="s", logEvents=[{"timestamp": base + i, "message": f"m{i}"} for i in range(50)])
    out = logs.filter_log_events(logGroupName=small)
    assert len(out["events"]) == 50 and "nextToken" not in out


def test_put_log_events_reports_events_past_the_retention_as_expired(logs: Any) -> None:
    name = _group(logs)
    logs.put_retention_policy(logGroupName=name, retentionInDays=1)
    now = _now_ms()
    batch = [
        {"timestamp": now - 15 * DAY_MS, "message": "past 14 days and the retention"},
        {"timestamp": now - 3 * DAY_MS, "message": "past the retention"},
        {"timestamp": now - 2 * DAY_MS, "message": "past the retention too"},
        {"timestamp": now, "message": "kept"},
    ]
    out = logs.put_log_events(logGroupName=name, logStreamName="s", logEvents=batch)
    assert out["rejectedLogEventsInfo"] == {"tooOldLogEventEndIndex": 1, "expiredLogEventEndIndex": 3}
    out = logs.put_log_events(logGroupName=name, logStreamName="s", logEvents=batch[1:])
    assert out["rejectedLogEventsInfo"] == {"expiredLogEventEndIndex": 2}
    assert [e["message"] for e in logs.get_log_events(logGroupName=name, logStreamName="s", startFromHead=True)["events"]] == ["kept", "kept"]
    # without a retention policy only the 14-day limit rejects
    plain = _group(logs)
    out = logs.put_log_events(logGroupName=plain, logStreamName="s", logEvents=[batch[0], {"timestamp": now - 2 * DAY_MS, "message": "kept"}])
    assert out["rejectedLogEventsInfo"] == {"tooOldLogEventEndIndex": 1}
    assert [e["message"] for e in logs.get_log_events(logGroupName=plain, logStreamName="s")["events"]] == ["kept"]


def test_insights_rows_hold_ptr_once(logs: Any) -> None:
    name = _group(logs)
    now = _now_ms()
    logs.put_log_events(logGroupName=name, logStreamName="s", logEvents=[{"timestamp": now - 1000 + i, "message": f"line {i}"} for i in range(3)])

    def run(query: str) -> list[list[dict[str, str]]]:
        qid = logs.start_query(logGroupName=name, startTime=now // 1000 - 60, endTime=now // 1000 + 60, queryString=query)["queryId"]
        result = wait_for(lambda: (r := logs.get_query_results(queryId=qid))["status"] in ("Complete", "Failed") and r)
        assert result["status"] == "Complete", result
        return list(result["results"])

    rows = run("fields @ptr, @message | limit 1")
    assert len(rows) == 1
    assert [c["field"] for c in rows[0]] == ["@ptr", "@message"]
    record = logs.get_log_record(logRecordPointer=rows[0][0]["value"])["logRecord"]
    assert record["@message"] == rows[0][1]["value"]
    # not asked for, @ptr still comes once, after the fields asked for
    rows = run("fields @message | sort @timestamp asc")
    assert [[c["field"] for c in row] for row in rows] == [["@message", "@ptr"]] * 3
