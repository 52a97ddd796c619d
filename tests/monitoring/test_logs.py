"""CloudWatch Logs through the wire with boto3 (awsJson 1.1)."""

from __future__ import annotations

import datetime as dt
import time
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError

from .conftest import wait_for


def _code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


def _group(logs: Any, **kw: Any) -> str:
    name = f"/test/{uuid.uuid4().hex[:8]}"
    logs.create_log_group(logGroupName=name, **kw)
    return name


def _now_ms() -> int:
    return int(time.time() * 1000)


def test_groups_streams_retention_and_tags(logs: Any) -> None:
    name = _group(logs, tags={"team": "a"})
    with pytest.raises(ClientError) as err:
        logs.create_log_group(logGroupName=name)
    assert _code(err) == "ResourceAlreadyExistsException"
    with pytest.raises(ClientError) as err:
        logs.create_log_group(logGroupName="bad name!")
    # the gateway's model validator may answer before the handler does
    assert _code(err) in ("InvalidParameterException", "ValidationException")
    [group] = logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"]
    assert group["logGroupName"] == name and group["arn"].endswith(f":log-group:{name}:*") and "retentionInDays" not in group
    logs.put_retention_policy(logGroupName=name, retentionInDays=7)
    assert logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"][0]["retentionInDays"] == 7
    with pytest.raises(ClientError) as err:
        logs.put_retention_policy(logGroupName=name, retentionInDays=8)
    assert _code(err) == "InvalidParameterException"
    logs.delete_retention_policy(logGroupName=name)
    assert "retentionInDays" not in logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"][0]
    # tags, the old and the new API
    logs.tag_log_group(logGroupName=name, tags={"env": "dev"})
    assert logs.list_tags_log_group(logGroupName=name)["tags"] == {"team": "a", "env": "dev"}
    logs.untag_log_group(logGroupName=name, tags=["team"])
    arn = group["logGroupArn"]
    logs.tag_resource(resourceArn=arn, tags={"owner": "me"})
    assert logs.list_tags_for_resource(resourceArn=arn)["tags"] == {"env": "dev", "owner": "me"}
    logs.untag_resource(resourceArn=arn, tagKeys=["env"])
    assert logs.list_tags_log_group(logGroupName=name)["tags"] == {"owner": "me"}
    # streams
    for s in ("b", "a", "c"):
        logs.create_log_stream(logGroupName=name, logStreamName=s)
    with pytest.raises(ClientError) as err:
        logs.create_log_stream(logGroupName=name, logStreamName="a")
    assert _code(err) == "ResourceAlreadyExistsException"
    logs.put_log_events(logGroupName=name, logStreamName="b", logEvents=[{"timestamp": _now_ms(), "message": "x"}])
    names = [s["logStreamName"] for s in logs.describe_log_streams(logGroupName=name)["logStreams"]]
    assert names == ["a", "b", "c"]
    page = logs.describe_log_streams(logGroupName=name, limit=2)
    assert len(page["logStreams"]) == 2 and page["nextToken"]
    assert [s["logStreamName"] for s in logs.describe_log_streams(logGroupName=name, nextToken=page["nextToken"])["logStreams"]] == ["c"]
    latest = logs.describe_log_streams(logGroupName=name, orderBy="LastEventTime", descending=True)["logStreams"][0]
    assert latest["logStreamName"] == "b" and latest["lastEventTimestamp"] > 0
    with pytest.raises(ClientError) as err:
        logs.describe_log_streams(logGroupName=name, orderBy="LastEventTime", logStreamNamePrefix="a")
    assert _code(err) == "InvalidParameterException"
    logs.delete_log_stream(logGroupName=name, logStreamName="c")
    with pytest.raises(ClientError) as err:
        logs.delete_log_stream(logGroupName=name, logStreamName="c")
    assert _code(err) == "ResourceNotFoundException"
    logs.delete_log_group(logGroupName=name)
    with pytest.raises(ClientError) as err:
        logs.delete_log_group(logGroupName=name)
    assert _code(err) == "ResourceNotFoundException"
    assert logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"] == []


def test_put_log_events_rules(logs: Any) -> None:
    name = _group(logs)
    logs.create_log_stream(logGroupName=name, logStreamName="s")
    now = _now_ms()
    with pytest.raises(ClientError) as err:
        logs.put_log_events(logGroupName=name, logStreamName="s", logEvents=[{"timestamp": now, "message": "b"}, {"timestamp": now - 1, "message": "a"}])
    assert _code(err) == "InvalidParameterException" and "chronological" in str(err.value)
    with pytest.raises(ClientError) as err:
        logs.put_log_events(logGroupName=name, logStreamName="s", logEvents=[{"timestamp": now - 25 * 3600 * 1000, "message": "a"}, {"timestamp": now, "message": "b"}])
    assert _code(err) == "InvalidParameterException" and "24 hours" in str(err.value)
    with pytest.raises(ClientError) as err:
        logs.put_log_events(logGroupName=name, logStreamName="s", logEvents=[{"timestamp": now, "message": "x" * 300_000}] * 4)
    assert _code(err) == "InvalidParameterException"
    with pytest.raises(ClientError) as err:
        logs.put_log_events(logGroupName=name, logStreamName="nope", logEvents=[{"timestamp": now, "message": "a"}])
    assert _code(err) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as err:
        logs.put_log_events(logGroupName=name + "x", logStreamName="s", logEvents=[{"timestamp": now, "message": "a"}])
    assert _code(err) == "ResourceNotFoundException"
    old = now - 15 * 86400 * 1000
    out = logs.put_log_events(logGroupName=name, logStreamName="s", logEvents=[{"timestamp": old, "message": "too old"}, {"timestamp": old + 1, "message": "too old too"}])
    assert out["rejectedLogEventsInfo"] == {"tooOldLogEventEndIndex": 2}
    future = now + 3 * 3600 * 1000
    out = logs.put_log_events(logGroupName=name, logStreamName="s", logEvents=[{"timestamp": now, "message": "ok"}, {"timestamp": future, "message": "too new"}])
    assert out["rejectedLogEventsInfo"] == {"tooNewLogEventStartIndex": 1}
    assert [e["message"] for e in logs.get_log_events(logGroupName=name, logStreamName="s")["events"]] == ["ok"]
    # a batch of 10,000 events is the maximum
    many = [{"timestamp": now, "message": str(i)} for i in range(10_000)]
    logs.put_log_events(logGroupName=name, logStreamName="s", logEvents=many)
    with pytest.raises(ClientError) as err:
        logs.put_log_events(logGroupName=name, logStreamName="s", logEvents=[*many, {"timestamp": now, "message": "x"}])
    assert _code(err) in ("InvalidParameterException", "ValidationException")


def test_retention_is_enforced(logs: Any) -> None:
    name = _group(logs)
    logs.create_log_stream(logGroupName=name, logStreamName="s")
    now = _now_ms()
    logs.put_log_events(logGroupName=name, logStreamName="s", logEvents=[{"timestamp": now - 3 * 86400 * 1000, "message": "old"}])
    logs.put_log_events(logGroupName=name, logStreamName="s", logEvents=[{"timestamp": now, "message": "new"}])
    assert len(logs.get_log_events(logGroupName=name, logStreamName="s")["events"]) == 2
    logs.put_retention_policy(logGroupName=name, retentionInDays=1)
    assert [e["message"] for e in logs.get_log_events(logGroupName=name, logStreamName="s")["events"]] == ["new"]
    assert [e["message"] for e in logs.filter_log_events(logGroupName=name)["events"]] == ["new"]
    out = logs.put_log_events(logGroupName=name, logStreamName="s", logEvents=[{"timestamp": now - 2 * 86400 * 1000, "message": "older than retention"}])
    assert out["rejectedLogEventsInfo"] == {"expiredLogEventEndIndex": 1}  # past the retention, within 14 days: expired, not too old


def test_get_log_events_tokens(logs: Any) -> None:
    name = _group(logs)
    logs.create_log_stream(logGroupName=name, logStreamName="s")
    base = _now_ms() - 100_000
    logs.put_log_events(logGroupName=name, logStreamName="s", logEvents=[{"timestamp": base + i, "message": f"m{i}"} for i in range(10)])
    tail = logs.get_log_events(logGroupName=name, logStreamName="s", limit=3)
    assert [e["message"] for e in tail["events"]] == ["m7", "m8", "m9"]
    back = logs.get_log_events(logGroupName=name, logStreamName="s", limit=3, nextToken=tail["nextBackwardToken"])
    assert [e["message"] for e in back["events"]] == ["m4", "m5", "m6"]
    head = logs.get_log_events(logGroupName=name, logStreamName="s", limit=4, startFromHead=True)
    assert [e["message"] for e in head["events"]] == ["m0", "m1", "m2", "m3"]
    fwd = logs.get_log_events(logGroupName=name, logStreamName="s", limit=4, nextToken=head["nextForwardToken"])
    assert [e["message"] for e in fwd["events"]] == ["m4", "m5", "m6", "m7"]
    end = logs.get_log_events(logGroupName=name, logStreamName="s", nextToken=tail["nextForwardToken"])
    assert end["events"] == [] and end["nextForwardToken"] == tail["nextForwardToken"]  # the end: same token back
    ranged = logs.get_log_events(logGroupName=name, logStreamName="s", startTime=base + 2, endTime=base + 5, startFromHead=True)
    assert [e["message"] for e in ranged["events"]] == ["m2", "m3", "m4"]
    with pytest.raises(ClientError) as err:
        logs.get_log_events(logGroupName=name, logStreamName="s", nextToken="zzz")
    assert _code(err) == "InvalidParameterException"


def test_filter_log_events(logs: Any) -> None:
    name = _group(logs)
    now = _now_ms()
    lines = {
        "web-1": ['127.0.0.1 - - [x] "GET / HTTP/1.1" 200 512', '10.0.0.9 - - [x] "GET /admin HTTP/1.1" 403 12', "ERROR upstream timed out"],
        "web-2": ['{"level": "error", "latency": 900, "path": "/api"}', '{"level": "info", "latency": 12, "path": "/api"}', "WARN slow response"],
        "db": ["ERROR deadlock detected", "INFO checkpoint"],
    }
    for i, (stream, messages) in enumerate(lines.items()):
        logs.create_log_stream(logGroupName=name, logStreamName=stream)
        logs.put_log_events(logGroupName=name, logStreamName=stream, logEvents=[{"timestamp": now - 1000 + 10 * i + j, "message": m} for j, m in enumerate(messages)])

    def messages(**kw: Any) -> list[str]:
        return [e["message"] for e in logs.filter_log_events(logGroupName=name, **kw)["events"]]

    assert len(messages()) == 8
    assert messages(filterPattern="ERROR") == ["ERROR upstream timed out", "ERROR deadlock detected"]
    assert messages(filterPattern="?ERROR ?WARN") == ["ERROR upstream timed out", "WARN slow response", "ERROR deadlock detected"]
    assert messages(filterPattern="ERROR -deadlock") == ["ERROR upstream timed out"]
    assert messages(filterPattern='"timed out"') == ["ERROR upstream timed out"]
    assert messages(filterPattern='{ $.level = "error" && $.latency > 500 }') == ['{"level": "error", "latency": 900, "path": "/api"}']
    assert messages(filterPattern="[ip, id, user, ts, request, status = 4*, size]") == ['10.0.0.9 - - [x] "GET /admin HTTP/1.1" 403 12']
    assert messages(filterPattern="ERROR", logStreamNames=["db"]) == ["ERROR deadlock detected"]
    assert messages(logStreamNamePrefix="web-2") == [m for m in lines["web-2"]]
    assert messages(startTime=now - 1000 + 20, endTime=now - 1000 + 20) == ["ERROR deadlock detected"]  # both ends inclusive
    events = logs.filter_log_events(logGroupName=name, filterPattern="ERROR")["events"]
    assert {e["logStreamName"] for e in events} == {"web-1", "db"} and all(e["eventId"] for e in events)
    page = logs.filter_log_events(logGroupName=name, limit=3)
    assert len(page["events"]) == 3 and page["nextToken"]
    every = logs.get_paginator("filter_log_events").paginate(logGroupName=name, PaginationConfig={"PageSize": 3}).build_full_result()["events"]
    assert len(every) == 8
    with pytest.raises(ClientError) as err:
        logs.filter_log_events(logGroupName=name, filterPattern="{ $.x = ")
    assert _code(err) == "InvalidParameterException"


def test_insights_queries(logs: Any) -> None:
    name = _group(logs)
    logs.create_log_stream(logGroupName=name, logStreamName="app")
    base = (_now_ms() // 300_000) * 300_000 - 600_000  # two full 5-minute bins ago
    events = [{"timestamp": base + i * 30_000, "message": f"GET /item/{i % 3} status={500 if i % 5 == 0 else 200} ms={i * 10}"} for i in range(20)]
    logs.put_log_events(logGroupName=name, logStreamName="app", logEvents=events)
    start, end = base // 1000 - 60, base // 1000 + 1200

    def run(query: str) -> dict[str, Any]:
        qid = logs.start_query(logGroupName=name, startTime=start, endTime=end, queryString=query)["queryId"]
        result = wait_for(lambda: (r := logs.get_query_results(queryId=qid))["status"] in ("Complete", "Failed") and r)
        assert result["status"] == "Complete", result
        return result

    def rows(result: dict[str, Any]) -> list[dict[str, str]]:
        return [{c["field"]: c["value"] for c in row if c["field"] != "@ptr"} for row in result["results"]]

    r = run("fields @timestamp, @message | filter @message like /status=500/ | sort @timestamp asc | limit 3")
    assert [x["@message"] for x in rows(r)] == [events[0]["message"], events[5]["message"], events[10]["message"]]
    assert r["statistics"]["recordsScanned"] == 20.0
    ptr = next(c["value"] for c in r["results"][0] if c["field"] == "@ptr")
    record = logs.get_log_record(logRecordPointer=ptr)["logRecord"]
    assert record["@message"] == events[0]["message"] and record["@logStream"] == "app" and record["@timestamp"] == str(events[0]["timestamp"])
    with pytest.raises(ClientError) as err:
        logs.get_log_record(logRecordPointer="nonsense")
    assert _code(err) == "InvalidParameterException"
    r = run('parse @message "GET * status=* ms=*" as path, status, ms | stats count(*) as n, sum(ms) as total by status | sort status')
    assert rows(r) == [{"status": "200", "n": "16", "total": "1600"}, {"status": "500", "n": "4", "total": "300"}]
    r = run("stats count(*) as n by bin(5m) as t | sort t")
    assert [x["n"] for x in rows(r)] == ["10", "10"]
    r = run("filter @message like /item\\/1/ | stats max(@timestamp) as last, count(*) as c")
    assert rows(r)[0]["c"] == "7"
    with pytest.raises(ClientError) as err:
        logs.start_query(logGroupName=name, startTime=start, endTime=end, queryString="nonsense here")
    assert _code(err) == "MalformedQueryException"
    with pytest.raises(ClientError) as err:
        logs.start_query(logGroupName=name + "x", startTime=start, endTime=end, queryString="fields @message")
    assert _code(err) == "ResourceNotFoundException"
    qid = logs.start_query(logGroupNames=[name], startTime=start, endTime=end, queryString="fields @message")["queryId"]
    wait_for(lambda: logs.get_query_results(queryId=qid)["status"] == "Complete")
    assert logs.stop_query(queryId=qid)["success"] is False  # already complete
    with pytest.raises(ClientError) as err:
        logs.get_query_results(queryId="00000000-0000-0000-0000-000000000000")
    assert _code(err) == "ResourceNotFoundException"
    assert any(q["queryId"] == qid for q in logs.describe_queries(logGroupName=name)["queries"])
    json_group = _group(logs)
    logs.create_log_stream(logGroupName=json_group, logStreamName="s")
    logs.put_log_events(logGroupName=json_group, logStreamName="s", logEvents=[{"timestamp": _now_ms(), "message": '{"level": "info", "req": {"id": 1}}'}, {"timestamp": _now_ms(), "message": "plain"}])
    fields = {f["name"]: f["percent"] for f in logs.get_log_group_fields(logGroupName=json_group)["logGroupFields"]}
    assert fields["@message"] == 100 and fields["level"] == 50 and fields["req.id"] == 50


def test_metric_filters_publish_metrics(logs: Any, cw: Any) -> None:
    name = _group(logs)
    logs.create_log_stream(logGroupName=name, logStreamName="s")
    ns = f"LogMetrics/{uuid.uuid4().hex[:6]}"
    logs.put_metric_filter(
        logGroupName=name, filterName="errors", filterPattern="ERROR",
        metricTransformations=[{"metricName": "ErrorCount", "metricNamespace": ns, "metricValue": "1", "defaultValue": 0.0}],
    )
    logs.put_metric_filter(
        logGroupName=name, filterName="latency", filterPattern='{ $.latency > 0 }',
        metricTransformations=[{"metricName": "Latency", "metricNamespace": ns, "metricValue": "$.latency", "unit": "Milliseconds", "dimensions": {"Path": "$.path"}}],
    )
    logs.put_metric_filter(
        logGroupName=name, filterName="bytes", filterPattern="[ip, user, status = 2*, size]",
        metricTransformations=[{"metricName": "Bytes", "metricNamespace": ns, "metricValue": "$size"}],
    )
    described = logs.describe_metric_filters(logGroupName=name)["metricFilters"]
    assert [f["filterName"] for f in described] == ["bytes", "errors", "latency"]
    assert logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"][0]["metricFilterCount"] == 3
    assert [f["filterName"] for f in logs.describe_metric_filters(metricName="Latency", metricNamespace=ns)["metricFilters"]] == ["latency"]
    now = _now_ms()
    messages = ["ERROR one", "fine", '{"latency": 120, "path": "/a"}', '{"latency": 80, "path": "/a"}', "1.2.3.4 bob 200 1500", "1.2.3.4 bob 500 99", "ERROR two"]
    logs.put_log_events(logGroupName=name, logStreamName="s", logEvents=[{"timestamp": now + i, "message": m} for i, m in enumerate(messages)])
    t0 = dt.datetime.fromtimestamp(now / 1000, dt.UTC)

    def stats(metric: str, dims: list[dict[str, str]] | None = None) -> dict[str, float]:
        points = cw.get_metric_statistics(
            Namespace=ns, MetricName=metric, Dimensions=dims or [], StartTime=t0 - dt.timedelta(minutes=2), EndTime=t0 + dt.timedelta(minutes=2), Period=300,
            Statistics=["Sum", "SampleCount", "Maximum"],
        )["Datapoints"]
        return {k: points[0][k] for k in ("Sum", "SampleCount", "Maximum")} if points else {}

    assert stats("ErrorCount") == {"Sum": 2.0, "SampleCount": 7.0, "Maximum": 1.0}  # defaultValue 0 for the 5 others
    assert stats("Latency", [{"Name": "Path", "Value": "/a"}]) == {"Sum": 200.0, "SampleCount": 2.0, "Maximum": 120.0}
    assert stats("Bytes") == {"Sum": 1500.0, "SampleCount": 1.0, "Maximum": 1500.0}
    tested = logs.test_metric_filter(filterPattern="[ip, user, status = 5*, size]", logEventMessages=messages)["matches"]
    assert tested == [{"eventNumber": 6, "eventMessage": "1.2.3.4 bob 500 99", "extractedValues": {"$ip": "1.2.3.4", "$user": "bob", "$status": "500", "$size": "99"}}]
    with pytest.raises(ClientError) as err:
        logs.put_metric_filter(logGroupName=name, filterName="bad", filterPattern="{ $.x = ", metricTransformations=[{"metricName": "m", "metricNamespace": ns, "metricValue": "1"}])
    assert _code(err) == "InvalidParameterException"
    logs.delete_metric_filter(logGroupName=name, filterName="bytes")
    with pytest.raises(ClientError) as err:
        logs.delete_metric_filter(logGroupName=name, filterName="bytes")
    assert _code(err) == "ResourceNotFoundException"
    assert len(logs.describe_metric_filters(logGroupName=name)["metricFilters"]) == 2


def test_put_log_events_span_counts_the_valid_events_only(logs: Any) -> None:
    # PutLogEvents: "For valid events (within 14 days in the past to 2 hours in future), the time span in a single batch cannot exceed 24 hours."
    name = _group(logs)
    logs.create_log_stream(logGroupName=name, logStreamName="s")
    now = _now_ms()
    events = [{"timestamp": now - 15 * 86400 * 1000, "message": "too old"}, {"timestamp": now, "message": "ok"}, {"timestamp": now + 3 * 3600 * 1000, "message": "too new"}]
    out = logs.put_log_events(logGroupName=name, logStreamName="s", logEvents=events)
    assert out["rejectedLogEventsInfo"] == {"tooOldLogEventEndIndex": 1, "tooNewLogEventStartIndex": 2}
    assert [e["message"] for e in logs.get_log_events(logGroupName=name, logStreamName="s")["events"]] == ["ok"]


def test_get_log_events_forward_token_of_an_empty_read_sees_later_events(logs: Any) -> None:
    # a tail polls with nextForwardToken: events put after an empty answer come with the next call
    name = _group(logs)
    logs.create_log_stream(logGroupName=name, logStreamName="s")
    now = _now_ms()
    head = logs.get_log_events(logGroupName=name, logStreamName="s", startFromHead=True)
    tail = logs.get_log_events(logGroupName=name, logStreamName="s")
    assert head["events"] == [] and tail["events"] == []
    later = logs.get_log_events(logGroupName=name, logStreamName="s", startTime=now + 60_000, startFromHead=True)
    logs.put_log_events(logGroupName=name, logStreamName="s", logEvents=[{"timestamp": now, "message": "first"}, {"timestamp": now + 120_000, "message": "second"}])
    assert [e["message"] for e in logs.get_log_events(logGroupName=name, logStreamName="s", nextToken=head["nextForwardToken"])["events"]] == ["first", "second"]
    assert [e["message"] for e in logs.get_log_events(logGroupName=name, logStreamName="s", nextToken=tail["nextForwardToken"])["events"]] == ["first", "second"]
    # from a startTime: only what is at or after it
    assert [e["message"] for e in logs.get_log_events(logGroupName=name, logStreamName="s", nextToken=later["nextForwardToken"])["events"]] == ["second"]


def test_filter_patterns_with_regular_expressions_in_values(logs: Any) -> None:
    # User Guide, "Using regular expressions in filter patterns": %regex% in JSON property and space-delimited field values
    messages = ['{"level": "WARN", "code": 503}', '{"level": "INFO", "code": 200}', "10.0.0.1 GET /index.html 404", "10.0.0.2 POST /api 200"]

    def matches(pattern: str) -> list[int]:
        return [m["eventNumber"] for m in logs.test_metric_filter(filterPattern=pattern, logEventMessages=messages)["matches"]]

    assert matches("{ $.level = %ERROR|WARN% }") == [1]
    assert matches("{ $.level != %ERROR|WARN% }") == [2]
    assert matches("{ $.code = %^5% }") == [1]
    assert matches("[ip, method, path = %index%, status]") == [3]
    assert matches("[ip, method = %GET|PUT%, path, status != %^2%]") == [3]
    for bad in ("{ $.level = %[% }", "[ip, method = %(%, path, status]"):
        with pytest.raises(ClientError) as err:
            logs.test_metric_filter(filterPattern=bad, logEventMessages=messages)
        assert _code(err) == "InvalidParameterException", bad
    name = _group(logs)
    logs.create_log_stream(logGroupName=name, logStreamName="s")
    now = _now_ms()
    logs.put_log_events(logGroupName=name, logStreamName="s", logEvents=[{"timestamp": now + i, "message": m} for i, m in enumerate(messages)])
    assert [e["message"] for e in logs.filter_log_events(logGroupName=name, filterPattern="{ $.level = %ERROR|WARN% }")["events"]] == [messages[0]]
