"""CloudWatch metric streams through the wire: Put/Get/List/Delete/Start/StopMetricStreams,
tags, and real delivery into a Kinesis Data Firehose delivery stream (moto) whose S3
destination receives the JSON lines AWS documents. Deliveries run when a test asks
(POST /_emulator/monitoring/streams)."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from emulator.testing.server import EmulatorServer

from .conftest import control, cw_client

ROLE = "arn:aws:iam::{account}:role/metric-stream-role"


def _code(err: pytest.ExceptionInfo[ClientError]) -> str:
    return str(err.value.response["Error"]["Code"])


def _account(server: EmulatorServer) -> str:
    return str(server.client("sts").get_caller_identity()["Account"])


def _firehose(server: EmulatorServer, region: str = "us-east-1") -> tuple[str, str]:
    """A delivery stream writing to a new bucket: (its ARN, the bucket)."""
    s3 = server.client("s3")
    bucket = f"streams-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=bucket)
    firehose = server.client("firehose", region_name=region)
    name = f"cw-{uuid.uuid4().hex[:8]}"
    arn = firehose.create_delivery_stream(
        DeliveryStreamName=name,
        DeliveryStreamType="DirectPut",
        ExtendedS3DestinationConfiguration={"RoleARN": ROLE.format(account=_account(server)), "BucketARN": f"arn:aws:s3:::{bucket}", "Prefix": "metrics/"},
    )["DeliveryStreamARN"]
    return arn, bucket


def _lines(server: EmulatorServer, bucket: str, seen: set[str] | None = None) -> list[dict[str, Any]]:
    """The JSON lines of the bucket's objects (only of those not in ``seen``, which gets them)."""
    s3 = server.client("s3")
    out = []
    for obj in sorted(s3.list_objects_v2(Bucket=bucket).get("Contents", []), key=lambda o: o["Key"]):
        if seen is not None:
            if obj["Key"] in seen:
                continue
            seen.add(obj["Key"])
        body = s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read().decode()
        assert body.endswith("\n")
        out.extend(json.loads(line) for line in body.splitlines())
    return out


def _put(cw: Any, ns: str, name: str, values: list[float], host: str = "a", unit: str = "Milliseconds") -> None:
    cw.put_metric_data(Namespace=ns, MetricData=[{"MetricName": name, "Dimensions": [{"Name": "Host", "Value": host}], "Value": v, "Unit": unit} for v in values])


def test_stream_lifecycle_and_delivery(mon: EmulatorServer, cw: Any) -> None:
    account = _account(mon)
    arn, bucket = _firehose(mon)
    ns, other_ns = f"Streams/{uuid.uuid4().hex[:6]}", f"Other/{uuid.uuid4().hex[:6]}"
    name = f"stream-{uuid.uuid4().hex[:6]}"
    out = cw.put_metric_stream(
        Name=name, FirehoseArn=arn, RoleArn=ROLE.format(account=account), OutputFormat="json",
        IncludeFilters=[{"Namespace": ns}],
        StatisticsConfigurations=[{"IncludeMetrics": [{"Namespace": ns, "MetricName": "Latency"}], "AdditionalStatistics": ["p90", "TM(10%:90%)"]}],
        Tags=[{"Key": "env", "Value": "test"}],
    )
    assert out["Arn"] == f"arn:aws:cloudwatch:us-east-1:{account}:metric-stream/{name}"
    got = cw.get_metric_stream(Name=name)
    assert got["State"] == "running" and got["OutputFormat"] == "json" and got["FirehoseArn"] == arn and got["IncludeFilters"] == [{"Namespace": ns}]
    assert got["ExcludeFilters"] == [] and got["StatisticsConfigurations"][0]["AdditionalStatistics"] == ["p90", "TM(10%:90%)"]
    assert got["CreationDate"] == got["LastUpdateDate"] and got["IncludeLinkedAccountsMetrics"] is False
    entries = [e for e in cw.list_metric_streams()["Entries"] if e["Name"] == name]
    assert entries and entries[0]["Arn"] == out["Arn"] and entries[0]["State"] == "running"
    assert cw.list_tags_for_resource(ResourceARN=out["Arn"])["Tags"] == [{"Key": "env", "Value": "test"}]

    _put(cw, ns, "Latency", [10.0, 20.0, 30.0, 40.0])
    _put(cw, ns, "Errors", [1.0], unit="Count")
    _put(cw, other_ns, "Latency", [99.0])  # not in the include filter
    control(mon, "streams")
    seen: set[str] = set()
    lines = _lines(mon, bucket, seen)
    by_name = {line["metric_name"]: line for line in lines}
    assert sorted(by_name) == ["Errors", "Latency"] and len(lines) == 2
    latency = by_name["Latency"]
    assert latency["metric_stream_name"] == name and latency["account_id"] == account and latency["region"] == "us-east-1"
    assert latency["namespace"] == ns and latency["dimensions"] == {"Host": "a"} and latency["unit"] == "Milliseconds"
    assert latency["timestamp"] % 60000 == 0 and abs(latency["timestamp"] / 1000 - time.time()) < 180
    assert latency["value"]["max"] == 40.0 and latency["value"]["min"] == 10.0 and latency["value"]["sum"] == 100.0 and latency["value"]["count"] == 4.0
    assert "p90" in latency["value"] and "TM(10%:90%)" in latency["value"]
    assert set(by_name["Errors"]["value"]) == {"max", "min", "sum", "count"} and by_name["Errors"]["unit"] == "Count"

    # nothing new: nothing sent
    control(mon, "streams")
    assert len(_lines(mon, bucket)) == 2

    # stopped, a stream sends nothing, and does not catch up when started again
    cw.stop_metric_streams(Names=[name])
    assert cw.get_metric_stream(Name=name)["State"] == "stopped"
    _put(cw, ns, "Latency", [500.0])
    control(mon, "streams")
    assert len(_lines(mon, bucket)) == 2
    cw.start_metric_streams(Names=[name])
    _put(cw, ns, "Latency", [7.0], host="b")
    control(mon, "streams")
    lines = _lines(mon, bucket, seen)
    assert len(lines) == 1 and lines[0]["dimensions"] == {"Host": "b"} and lines[0]["value"]["sum"] == 7.0

    # an update: exclude filters instead, the state and tags kept
    cw.put_metric_stream(Name=name, FirehoseArn=arn, RoleArn=ROLE.format(account=account), OutputFormat="json",
                         ExcludeFilters=[{"Namespace": ns, "MetricNames": ["Latency"]}], Tags=[{"Key": "ignored", "Value": "x"}])
    updated = cw.get_metric_stream(Name=name)
    assert updated["IncludeFilters"] == [] and updated["ExcludeFilters"] == [{"Namespace": ns, "MetricNames": ["Latency"]}]
    assert updated["LastUpdateDate"] >= updated["CreationDate"] and updated["State"] == "running"
    assert cw.list_tags_for_resource(ResourceARN=out["Arn"])["Tags"] == [{"Key": "env", "Value": "test"}]
    _put(cw, ns, "Latency", [1.0])
    _put(cw, ns, "Errors", [2.0], unit="Count")
    control(mon, "streams")
    new = [line for line in _lines(mon, bucket, seen) if line["namespace"] == ns]
    assert [(line["metric_name"], line["value"]["sum"]) for line in new] == [("Errors", 2.0)]

    cw.tag_resource(ResourceARN=out["Arn"], Tags=[{"Key": "team", "Value": "obs"}])
    cw.untag_resource(ResourceARN=out["Arn"], TagKeys=["env"])
    assert cw.list_tags_for_resource(ResourceARN=out["Arn"])["Tags"] == [{"Key": "team", "Value": "obs"}]

    cw.delete_metric_stream(Name=name)
    cw.delete_metric_stream(Name=name)  # deleting a missing stream succeeds
    with pytest.raises(ClientError) as err:
        cw.get_metric_stream(Name=name)
    assert _code(err) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as err:
        cw.list_tags_for_resource(ResourceARN=out["Arn"])
    assert _code(err) == "ResourceNotFoundException"


def test_stream_validation(mon: EmulatorServer, cw: Any) -> None:
    account = _account(mon)
    arn, _ = _firehose(mon)
    role = ROLE.format(account=account)
    base = {"Name": f"bad-{uuid.uuid4().hex[:6]}", "FirehoseArn": arn, "RoleArn": role, "OutputFormat": "json"}
    cases: list[tuple[dict[str, Any], str]] = [
        # the OpenTelemetry formats are not built: refused, not accepted silently
        ({"OutputFormat": "opentelemetry1.0"}, "InvalidParameterValue"),
        ({"OutputFormat": "opentelemetry0.7"}, "InvalidParameterValue"),
        ({"Name": "has space"}, "InvalidParameterValue"),
        ({"FirehoseArn": "not-an-arn"}, "InvalidParameterValue"),
        ({"FirehoseArn": arn.rsplit("/", 1)[0] + "/does-not-exist"}, "InvalidParameterValue"),
        ({"FirehoseArn": arn.replace(account, "999999999999")}, "InvalidParameterValue"),
        ({"RoleArn": "arn:aws:iam::999999999999:role/x"}, "InvalidParameterValue"),
        ({"IncludeFilters": [{"Namespace": "A"}], "ExcludeFilters": [{"Namespace": "B"}]}, "InvalidParameterCombination"),
        ({"StatisticsConfigurations": [{"IncludeMetrics": [{"Namespace": "A", "MetricName": "M"}], "AdditionalStatistics": ["bogus"]}]}, "InvalidParameterValue"),
        ({"Tags": [{"Key": f"k{i}", "Value": "v"} for i in range(51)]}, "InvalidParameterValue"),
    ]
    for params, code in cases:
        with pytest.raises(ClientError) as err:
            cw.put_metric_stream(**{**base, **params})
        assert _code(err) == code, params
    assert all(e["Name"] != base["Name"] for e in cw.list_metric_streams()["Entries"])
    with pytest.raises(ClientError) as err:
        cw.start_metric_streams(Names=["no-such-stream"])
    assert _code(err) == "InvalidParameterValue"
    with pytest.raises(ClientError) as err:
        cw.list_metric_streams(NextToken="%%%")
    assert _code(err) == "InvalidNextToken"


def test_list_pages(mon: EmulatorServer) -> None:
    cw = cw_client(mon)
    client = mon.client("cloudwatch", region_name="ap-south-1")  # a region of its own: only these streams
    arn, _ = _firehose(mon, "ap-south-1")
    role = ROLE.format(account=_account(mon))
    names = sorted(f"page-{i}-{uuid.uuid4().hex[:4]}" for i in range(3))
    for n in names:
        client.put_metric_stream(Name=n, FirehoseArn=arn, RoleArn=role, OutputFormat="json")
    first = client.list_metric_streams(MaxResults=2)
    second = client.list_metric_streams(MaxResults=2, NextToken=first["NextToken"])
    assert [e["Name"] for e in first["Entries"] + second["Entries"]] == names and "NextToken" not in second
    assert all(e["Arn"].startswith("arn:aws:cloudwatch:ap-south-1:") for e in first["Entries"])
    # regional: us-east-1 does not see them
    assert not {e["Name"] for e in cw.list_metric_streams()["Entries"]} & set(names)
    for n in names:
        client.delete_metric_stream(Name=n)


def test_streams_survive_restart(tmp_path: Path) -> None:
    env = {"EMULATOR_METRIC_STREAM_INTERVAL": "100000", "EMULATOR_ALARM_INTERVAL": "100000", "EMULATOR_TELEMETRY_INTERVAL": "100000"}
    server = EmulatorServer(data_dir=tmp_path / "data", env=env)
    server.start()
    try:
        cw = cw_client(server)
        arn, bucket = _firehose(server)
        ns = f"Durable/{uuid.uuid4().hex[:6]}"
        cw.put_metric_stream(Name="durable", FirehoseArn=arn, RoleArn=ROLE.format(account=_account(server)), OutputFormat="json",
                             IncludeFilters=[{"Namespace": ns}])
        _put(cw, ns, "Latency", [5.0])
        control(server, "streams")
        assert len(_lines(server, bucket)) == 1
        cw.stop_metric_streams(Names=["durable"])
        server.kill()
        server.start()
        cw = cw_client(server)
        got = cw.get_metric_stream(Name="durable")
        assert got["State"] == "stopped" and got["IncludeFilters"] == [{"Namespace": ns}]
        cw.start_metric_streams(Names=["durable"])
        _put(cw, ns, "Latency", [6.0])
        control(server, "streams")
        # what was delivered before the restart is not sent again
        assert [line["value"]["sum"] for line in _lines(server, bucket)] == [5.0, 6.0]
    finally:
        server.cleanup()
