"""CloudWatch Logs transformers: PutTransformer/GetTransformer/DeleteTransformer/TestTransformer
through the wire, their enforcement on PutLogEvents, persistence and reset; and the
processors themselves (emulator.monitoring.logs_transform_processors) in process."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError

from emulator.errors import AwsError
from emulator.monitoring.logs_transform_processors import compile_transformer
from emulator.testing.server import EmulatorServer


def _code(err: pytest.ExceptionInfo[ClientError]) -> str:
    return str(err.value.response["Error"]["Code"])


def _now_ms() -> int:
    return int(time.time() * 1000)


def _group(logs: Any, stream: str | None = "s") -> str:
    name = f"/tr/{uuid.uuid4().hex[:10]}"
    logs.create_log_group(logGroupName=name)
    if stream:
        logs.create_log_stream(logGroupName=name, logStreamName=stream)
    return name


def _apply(config: list[dict[str, Any]], message: str, meta: dict[str, str] | None = None) -> Any:
    out = compile_transformer(config).apply(message, meta)
    return None if out is None else json.loads(out)


def _refused(config: Any) -> str:
    with pytest.raises(AwsError) as err:
        compile_transformer(config)
    assert err.value.code == "InvalidParameterException"
    return err.value.message


# ------------------------------------------------------------ processors, in process
def test_parsers() -> None:
    assert _apply([{"parseJSON": {}}], '{"a": {"b": 1}, "s": "x"}') == {"a": {"b": 1}, "s": "x"}
    assert _apply([{"parseJSON": {"destination": "body"}}], '{"a": 1}') == {"body": {"a": 1}}
    assert _apply([{"parseJSON": {}}], "not json") is None  # the event is ingested unchanged
    assert _apply(
        [{"parseKeyValue": {"destination": "new_key", "fieldDelimiter": "!", "keyValueDelimiter": ":", "nonMatchValue": "defaultValue", "keyPrefix": "parsed_"}}],
        "key1:value1!key2:value2!key3:value3!key4",
    ) == {"new_key": {"parsed_key1": "value1", "parsed_key2": "value2", "parsed_key3": "value3", "parsed_key4": "defaultValue"}}
    assert _apply([{"parseKeyValue": {}}], "a=1&b=2&c") == {"a": "1", "b": "2"}
    assert _apply([{"csv": {"quoteCharacter": "'", "columns": ["name", "age", "location"]}}], "'Akua Mansa',28,'New York, USA'") == {
        "name": "Akua Mansa", "age": "28", "location": "New York, USA",
    }
    assert _apply([{"csv": {"delimiter": "\\t"}}], "a\tb") == {"column_1": "a", "column_2": "b"}
    grok = {"grok": {"match": '%{NUMBER:version} %{HOSTNAME:hostname} %{NOTSPACE:status} \\"%{DATA:logMsg}\\"'}}
    assert _apply([grok], '293750 server-01.internal-network.local OK "[Thread-000] token generated"') == {
        "version": "293750", "hostname": "server-01.internal-network.local", "status": "OK", "logMsg": "[Thread-000] token generated",
    }
    assert _apply([grok], "no match here") is None
    assert _apply([{"grok": {"match": "(?<user>\\w+) logged in from %{IP:ip}"}}], "alice logged in from 10.0.0.1") == {"user": "alice", "ip": "10.0.0.1"}
    apache = _apply([{"grok": {"match": "%{COMMONAPACHELOG}"}}], '127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /a.gif HTTP/1.0" 200 2326')
    assert apache["verb"] == "GET" and apache["response"] == "200" and apache["timestamp"] == "10/Oct/2000:13:55:36 -0700"


def test_vended_parsers() -> None:
    vpc = _apply([{"parseVPC": {}}], "2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK")
    assert vpc["account_id"] == "123456789010" and vpc["dstport"] == 22 and vpc["action"] == "ACCEPT" and vpc["log_status"] == "OK"
    r53 = _apply([{"parseRoute53": {}}], "1.0 2017-12-13T08:15:50.235Z Z123412341234 example.com A NOERROR UDP FRA6 192.168.1.1 -")
    assert r53["queryName"] == "example.com" and r53["responseCode"] == "NOERROR" and r53["hostZoneId"] == "Z123412341234"
    pg = _apply([{"parsePostgres": {}}], '2019-03-10 03:54:59 UTC:10.0.0.123(52834):postgres@logtestdb:[20175]:ERROR: column "x" does not exist')
    assert pg == {"logTime": "2019-03-10 03:54:59 UTC", "srcIp": "10.0.0.123(52834)", "userName": "postgres", "dbName": "logtestdb", "processId": "20175", "logLevel": "ERROR"}
    waf = _apply([{"parseWAF": {}}], json.dumps({"action": "BLOCK", "httpRequest": {"headers": [{"name": "Host", "value": "example.com"}]}}))
    assert waf["httpRequest"]["headers"] == {"Host": "example.com"}
    cf = _apply([{"parseCloudfront": {}}], "2019-12-04\t21:02:31\tLAX1\t392\t192.0.2.100\tGET\td1.cloudfront.net\t/index.html\t200\t-\tMozilla/5.0%20(X11)\t-")
    assert cf["sc-status"] == 200 and cf["cs(User-Agent)"] == "Mozilla/5.0 (X11)" and cf["x-edge-location"] == "LAX1"


def test_mutators() -> None:
    message = json.dumps({"a": {"p": "123-456-789"}, "n": "42", "b": "TRUE", "d": "1.5", "s": 7, "l": "x,y", "u": "abc", "low": "ABC", "w": "  hi ", "zz": 1, "keep": "v"})
    out = _apply(
        [
            {"parseJSON": {}},
            {"substituteString": {"entries": [{"source": "a.p", "from": "[0-9]{3}-([0-9]{3})", "to": "xxx-$1"}]}},
            {"typeConverter": {"entries": [{"key": "n", "type": "integer"}, {"key": "b", "type": "boolean"}, {"key": "d", "type": "double"}, {"key": "s", "type": "string"}, {"key": "u", "type": "integer"}]}},
            {"copyValue": {"entries": [{"source": "@logGroupName", "target": "meta.group"}, {"source": "keep", "target": "copied"}]}},
            {"splitString": {"entries": [{"source": "l", "delimiter": ","}]}},
            {"upperCaseString": {"withKeys": ["u"]}},
            {"lowerCaseString": {"withKeys": ["low"]}},
            {"trimString": {"withKeys": ["w"]}},
            {"renameKeys": {"entries": [{"key": "a.p", "renameTo": "phone"}]}},
            {"moveKeys": {"entries": [{"source": "w", "target": "x.w"}, {"source": "missing", "target": "y"}]}},
            {"deleteKeys": {"withKeys": ["zz"]}},
            {"addKeys": {"entries": [{"key": "env", "value": "prod"}, {"key": "keep", "value": "no"}, {"key": "n", "value": "over", "overwriteIfExists": True}]}},
        ],
        message,
        {"@logGroupName": "/g"},
    )
    assert out == {
        "a": {"phone": "xxx-456-789"}, "n": "over", "b": True, "d": 1.5, "s": "7", "l": ["x", "y"], "u": "ABC", "low": "abc",
        "keep": "v", "meta": {"group": "/g"}, "copied": "v", "x": {"w": "hi"}, "env": "prod",
    }


def test_list_to_map_and_dates() -> None:
    src = {"outer_key": [{"inner_key": "a", "inner_value": "val-a"}, {"inner_key": "b", "inner_value": "val-b1"}, {"inner_key": "b", "inner_value": "val-b2"}]}
    flat = _apply([{"parseJSON": {}}, {"listToMap": {"source": "outer_key", "key": "inner_key", "valueKey": "inner_value", "flatten": True, "flattenedElement": "last"}}], json.dumps(src))
    assert flat == {**src, "a": "val-a", "b": "val-b2"}
    lists = _apply([{"parseJSON": {}}, {"listToMap": {"source": "outer_key", "key": "inner_key", "valueKey": "inner_value", "target": "m"}}], json.dumps(src))
    assert lists["m"] == {"a": ["val-a"], "b": ["val-b1", "val-b2"]}
    _refused([{"parseJSON": {}}, {"listToMap": {"source": "outer_key", "key": "k", "flatten": True}}])
    conv = {"dateTimeConverter": {"source": "t", "target": "t2", "matchPatterns": ["yyyy-MM-dd HH:mm:ss", "dd/MMM/yyyy:HH:mm:ss Z"], "sourceTimezone": "Europe/Berlin"}}
    assert _apply([{"parseJSON": {}}, conv], '{"t": "1998-12-05 11:00:00"}')["t2"] == "1998-12-05T10:00:00.000Z"
    assert _apply([{"parseJSON": {}}, conv], '{"t": "10/Oct/2000:13:55:36 -0700"}')["t2"] == "2000-10-10T20:55:36.000Z"
    ny = {"dateTimeConverter": {"source": "t", "target": "t", "matchPatterns": ["yyyy-MM-dd'T'HH:mm:ssX"], "targetTimezone": "America/New_York", "targetFormat": "yyyy-MM-dd HH:mm:ss XXX"}}
    assert _apply([{"parseJSON": {}}, ny], '{"t": "2024-07-01T12:00:00Z"}')["t"] == "2024-07-01 08:00:00 -04:00"
    assert _apply([{"parseJSON": {}}, ny], '{"t": "yesterday"}') == {"t": "yesterday"}  # no pattern matches: left as it is


def test_validation() -> None:
    assert "first processor" in _refused([{"addKeys": {"entries": [{"key": "a", "value": "b"}]}}])
    assert "must be the first" in _refused([{"parseJSON": {}}, {"parseVPC": {}}])
    assert "exactly one" in _refused([{"parseJSON": {}, "csv": {}}])
    assert "at most 5 grok" in _refused([{"grok": {"match": "%{WORD:a}"}}] * 6)
    assert "20" in _refused([{"parseJSON": {}}] * 21)
    assert "unknown grok pattern" in _refused([{"grok": {"match": "%{NOPE:x}"}}])
    assert "type conversions" in _refused([{"grok": {"match": "%{NUMBER:x:int}"}}])
    assert "at most 5 times" in _refused([{"grok": {"match": " ".join(["%{DATA:a}"] * 6)}}])
    assert "3 levels" in _refused([{"parseJSON": {"source": "a.b.c.d"}}])
    assert "regular expression" in _refused([{"parseJSON": {}}, {"substituteString": {"entries": [{"source": "a", "from": "(", "to": "x"}]}}])
    assert "parseToOCSF" in _refused([{"parseToOCSF": {"eventSource": "VPCFlow", "ocsfVersion": "V1.1"}}])
    assert "English" in _refused([{"parseJSON": {}}, {"dateTimeConverter": {"source": "t", "target": "t", "matchPatterns": ["dd MMMM yyyy"], "locale": "de"}}])
    assert "time zone" in _refused([{"parseJSON": {}}, {"dateTimeConverter": {"source": "t", "target": "t", "matchPatterns": ["yyyy"], "sourceTimezone": "Mars/Base"}}])


# ------------------------------------------------------------ through the wire
CONFIG = [
    {"parseJSON": {}},
    {"typeConverter": {"entries": [{"key": "status", "type": "integer"}]}},
    {"addKeys": {"entries": [{"key": "env", "value": "prod"}]}},
    {"copyValue": {"entries": [{"source": "@logGroupStream", "target": "stream"}]}},
]


def test_crud(mon: EmulatorServer, logs: Any) -> None:
    name = _group(logs, None)
    with pytest.raises(ClientError) as err:
        logs.get_transformer(logGroupIdentifier=name)
    assert _code(err) == "ResourceNotFoundException"
    logs.put_transformer(logGroupIdentifier=name, transformerConfig=CONFIG)
    got = logs.get_transformer(logGroupIdentifier=name)
    assert got["transformerConfig"] == CONFIG and got["logGroupIdentifier"] == name
    assert got["creationTime"] == got["lastModifiedTime"] > 0
    time.sleep(0.01)
    logs.put_transformer(logGroupIdentifier=name, transformerConfig=CONFIG[:1])
    again = logs.get_transformer(logGroupIdentifier=name)
    assert again["transformerConfig"] == CONFIG[:1] and again["creationTime"] == got["creationTime"] and again["lastModifiedTime"] > got["lastModifiedTime"]
    # by ARN as well
    arn = logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"][0]["logGroupArn"]
    assert logs.get_transformer(logGroupIdentifier=arn)["transformerConfig"] == CONFIG[:1]
    logs.delete_transformer(logGroupIdentifier=arn)
    for call in (logs.get_transformer, logs.delete_transformer):
        with pytest.raises(ClientError) as err:
            call(logGroupIdentifier=name)
        assert _code(err) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as err:
        logs.put_transformer(logGroupIdentifier="/tr/none", transformerConfig=CONFIG)
    assert _code(err) == "ResourceNotFoundException"
    # regional: another region's endpoint does not know the group
    logs.put_transformer(logGroupIdentifier=name, transformerConfig=CONFIG)
    with pytest.raises(ClientError) as err:
        mon.client("logs", region_name="eu-west-3").get_transformer(logGroupIdentifier=name)
    assert _code(err) == "ResourceNotFoundException"
    # a deleted group takes its transformer along
    logs.put_transformer(logGroupIdentifier=name, transformerConfig=CONFIG)
    logs.delete_log_group(logGroupName=name)
    logs.create_log_group(logGroupName=name)
    with pytest.raises(ClientError) as err:
        logs.get_transformer(logGroupIdentifier=name)
    assert _code(err) == "ResourceNotFoundException"


def test_put_validation(logs: Any) -> None:
    name = _group(logs, None)
    bad: list[Any] = [
        [{"addKeys": {"entries": [{"key": "a", "value": "b"}]}}],  # the first is not a parser
        [{"parseJSON": {}}, {"parseVPC": {}}],
        [{"grok": {"match": "%{NOPE:x}"}}],
        [{"parseJSON": {}}] * 21,  # the model's limit: the gateway refuses it
    ]
    for config in bad:
        with pytest.raises(ClientError) as err:
            logs.put_transformer(logGroupIdentifier=name, transformerConfig=config)
        assert _code(err) in ("InvalidParameterException", "ValidationException"), config
    with pytest.raises(ClientError) as err:
        logs.get_transformer(logGroupIdentifier=name)
    assert _code(err) == "ResourceNotFoundException"
    ia = f"/tr/ia-{uuid.uuid4().hex[:8]}"
    logs.create_log_group(logGroupName=ia, logGroupClass="INFREQUENT_ACCESS")
    with pytest.raises(ClientError) as err:
        logs.put_transformer(logGroupIdentifier=ia, transformerConfig=CONFIG)
    assert _code(err) == "InvalidParameterException" and "Standard" in err.value.response["Error"]["Message"]


def test_test_transformer(logs: Any) -> None:
    cases: list[tuple[list[dict[str, Any]], str, Any]] = [
        ([{"parseJSON": {}}], '{"a": 1}', {"a": 1}),
        ([{"parseKeyValue": {}}], "a=1&b=2", {"a": "1", "b": "2"}),
        ([{"csv": {"columns": ["x", "y"]}}], "1,2", {"x": "1", "y": "2"}),
        ([{"grok": {"match": "%{WORD:level} %{GREEDYDATA:msg}"}}], "ERROR disk full", {"level": "ERROR", "msg": "disk full"}),
        ([{"parseVPC": {}}], "2 1 eni-1 10.0.0.1 10.0.0.2 1 2 6 1 1 1 2 REJECT OK", None),
        ([{"parseRoute53": {}}], "1.0 2017-12-13T08:15:50.235Z Z1 example.com A NOERROR UDP FRA6 192.168.1.1 -", None),
        ([{"parsePostgres": {}}], "2019-03-10 03:54:59 UTC:10.0.0.1(1):u@d:[2]:LOG: x", None),
        ([{"parseWAF": {}}], '{"action": "ALLOW"}', {"action": "ALLOW"}),
        ([{"parseCloudfront": {}}], "2019-12-04\t21:02:31\tLAX1\t1\t192.0.2.1\tGET\th\t/\t200\t-\tUA\t-", None),
        ([{"parseJSON": {}}, {"addKeys": {"entries": [{"key": "k", "value": "v"}]}}], "{}", {"k": "v"}),
        ([{"parseJSON": {}}, {"deleteKeys": {"withKeys": ["a"]}}], '{"a": 1, "b": 2}', {"b": 2}),
        ([{"parseJSON": {}}, {"copyValue": {"entries": [{"source": "a", "target": "b"}]}}], '{"a": 1}', {"a": 1, "b": 1}),
        ([{"parseJSON": {}}, {"moveKeys": {"entries": [{"source": "a", "target": "c.d"}]}}], '{"a": 1}', {"c": {"d": 1}}),
        ([{"parseJSON": {}}, {"renameKeys": {"entries": [{"key": "a", "renameTo": "z"}]}}], '{"a": 1}', {"z": 1}),
        ([{"parseJSON": {}}, {"listToMap": {"source": "l", "key": "k", "valueKey": "v", "flatten": True, "flattenedElement": "first"}}], '{"l": [{"k": "x", "v": 1}]}', {"l": [{"k": "x", "v": 1}], "x": 1}),
        ([{"parseJSON": {}}, {"lowerCaseString": {"withKeys": ["a"]}}], '{"a": "ABC"}', {"a": "abc"}),
        ([{"parseJSON": {}}, {"upperCaseString": {"withKeys": ["a"]}}], '{"a": "abc"}', {"a": "ABC"}),
        ([{"parseJSON": {}}, {"trimString": {"withKeys": ["a"]}}], '{"a": " x "}', {"a": "x"}),
        ([{"parseJSON": {}}, {"splitString": {"entries": [{"source": "a", "delimiter": "|"}]}}], '{"a": "x|y"}', {"a": ["x", "y"]}),
        ([{"parseJSON": {}}, {"substituteString": {"entries": [{"source": "a", "from": "\\d", "to": "#"}]}}], '{"a": "a1b2"}', {"a": "a#b#"}),
        ([{"parseJSON": {}}, {"typeConverter": {"entries": [{"key": "a", "type": "double"}]}}], '{"a": "2.5"}', {"a": 2.5}),
        ([{"parseJSON": {}}, {"dateTimeConverter": {"source": "t", "target": "u", "matchPatterns": ["yyyy-MM-dd"]}}], '{"t": "2024-01-02"}', {"t": "2024-01-02", "u": "2024-01-02T00:00:00.000Z"}),
    ]
    for config, message, expected in cases:
        [row] = logs.test_transformer(transformerConfig=config, logEventMessages=[message])["transformedLogs"]
        assert row["eventNumber"] == 1 and row["eventMessage"] == message, config
        transformed = json.loads(row["transformedEventMessage"])
        if expected is not None:
            assert transformed == expected, (config, transformed)
        else:
            assert isinstance(transformed, dict) and len(transformed) > 3, (config, transformed)
    rows = logs.test_transformer(transformerConfig=[{"parseJSON": {}}], logEventMessages=['{"a": 1}', "plain text"])["transformedLogs"]
    assert [r["eventNumber"] for r in rows] == [1, 2]
    assert rows[1]["transformedEventMessage"] == "plain text"  # a failed parse leaves the event as it was
    with pytest.raises(ClientError) as err:
        logs.test_transformer(transformerConfig=[{"trimString": {"withKeys": ["a"]}}], logEventMessages=["x"])
    assert _code(err) == "InvalidParameterException"
    with pytest.raises(ClientError) as err:
        logs.test_transformer(transformerConfig=[{"parseJSON": {}}], logEventMessages=["x"] * 51)
    assert _code(err) in ("InvalidParameterException", "ValidationException")


def test_ingestion_is_transformed(logs: Any) -> None:
    name = _group(logs, "app")
    plain = _group(logs, "app")
    logs.put_transformer(logGroupIdentifier=name, transformerConfig=CONFIG)
    now = _now_ms()
    events = [
        {"timestamp": now, "message": '{"status": "200", "path": "/a"}'},
        {"timestamp": now + 1, "message": '{"status": "500", "path": "/b"}'},
        {"timestamp": now + 2, "message": "not json at all"},
    ]
    logs.put_log_events(logGroupName=name, logStreamName="app", logEvents=events)
    logs.put_log_events(logGroupName=plain, logStreamName="app", logEvents=events)
    got = [json.loads(e["message"]) if e["message"].startswith("{") else e["message"] for e in logs.get_log_events(logGroupName=name, logStreamName="app", startFromHead=True)["events"]]
    assert got == [
        {"status": 200, "path": "/a", "env": "prod", "stream": "app"},
        {"status": 500, "path": "/b", "env": "prod", "stream": "app"},
        "not json at all",  # a processor failed on it: stored as it came
    ]
    # the new fields, with their converted type, are what a JSON filter pattern matches
    matched = logs.filter_log_events(logGroupName=name, filterPattern="{ $.status = 500 && $.env = \"prod\" }")["events"]
    assert [json.loads(e["message"])["path"] for e in matched] == ["/b"]
    assert logs.filter_log_events(logGroupName=plain, filterPattern="{ $.env = \"prod\" }")["events"] == []
    # a group without a transformer keeps its events as they came
    assert [e["message"] for e in logs.get_log_events(logGroupName=plain, logStreamName="app", startFromHead=True)["events"]] == [e["message"] for e in events]
    # after DeleteTransformer, new events are stored as they come
    logs.delete_transformer(logGroupIdentifier=name)
    logs.put_log_events(logGroupName=name, logStreamName="app", logEvents=[{"timestamp": now + 3, "message": '{"status": "201"}'}])
    last = logs.get_log_events(logGroupName=name, logStreamName="app", startFromHead=True)["events"][-1]
    assert last["message"] == '{"status": "201"}'


def test_metric_filter_counts_transformed_fields(mon: EmulatorServer, logs: Any) -> None:
    name = _group(logs, "s")
    logs.put_transformer(logGroupIdentifier=name, transformerConfig=[{"parseKeyValue": {"fieldDelimiter": " "}}])
    ns = f"TR{uuid.uuid4().hex[:8]}"
    logs.put_metric_filter(
        logGroupName=name, filterName="errors", filterPattern='{ $.level = "error" }',
        metricTransformations=[{"metricName": "Errors", "metricNamespace": ns, "metricValue": "1"}],
    )
    now = _now_ms()
    logs.put_log_events(logGroupName=name, logStreamName="s", logEvents=[{"timestamp": now, "message": "level=error code=1"}, {"timestamp": now + 1, "message": "level=info"}])
    cw = mon.client("cloudwatch")
    deadline = time.time() + 15
    total = 0.0
    while time.time() < deadline:
        stats = cw.get_metric_statistics(Namespace=ns, MetricName="Errors", StartTime=now / 1000 - 600, EndTime=now / 1000 + 600, Period=60, Statistics=["Sum"])
        total = sum(d["Sum"] for d in stats["Datapoints"])
        if total:
            break
        time.sleep(0.2)
    assert total == 1.0


def test_persistence_and_reset() -> None:
    with EmulatorServer() as server:
        logs = server.client("logs")
        logs.create_log_group(logGroupName="/tr/keep")
        logs.create_log_stream(logGroupName="/tr/keep", logStreamName="s")
        logs.put_transformer(logGroupIdentifier="/tr/keep", transformerConfig=CONFIG)
        before = logs.get_transformer(logGroupIdentifier="/tr/keep")
        before.pop("ResponseMetadata")
        server.stop()
        server.start()
        logs = server.client("logs")
        after = logs.get_transformer(logGroupIdentifier="/tr/keep")
        after.pop("ResponseMetadata")
        assert after == before
        # and it is still enforced after the restart
        logs.put_log_events(logGroupName="/tr/keep", logStreamName="s", logEvents=[{"timestamp": _now_ms(), "message": '{"status": "404"}'}])
        [event] = logs.get_log_events(logGroupName="/tr/keep", logStreamName="s")["events"]
        assert json.loads(event["message"])["status"] == 404
        server.reset(["logs"])
        logs.create_log_group(logGroupName="/tr/keep")
        logs.create_log_stream(logGroupName="/tr/keep", logStreamName="s")
        with pytest.raises(ClientError) as err:
            logs.get_transformer(logGroupIdentifier="/tr/keep")
        assert _code(err) == "ResourceNotFoundException"
        logs.put_log_events(logGroupName="/tr/keep", logStreamName="s", logEvents=[{"timestamp": _now_ms(), "message": '{"status": "404"}'}])
        [event] = logs.get_log_events(logGroupName="/tr/keep", logStreamName="s")["events"]
        assert event["message"] == '{"status": "404"}'


def test_java_regex_syntax() -> None:
    """substituteString's from and to are Java's: (?<name>...), $1, ${name}, \\$."""
    sub = {"substituteString": {"entries": [{"source": "a", "from": "(?<n>[0-9]+)x", "to": "<${n}|$1|\\$>"}]}}
    assert _apply([{"parseJSON": {}}, sub], '{"a": "1x 2x"}') == {"a": "<1|1|$> <2|2|$>"}
