"""Metric data query definitions through the wire (boto3): create, update (the path,
expression and type are replaced, the creation time kept), get, list with paging, delete,
the errors (unknown Id, a path in use, invalid paths, the quota), tags, a restart and a reset."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError

from emulator.testing.server import EmulatorServer

from .conftest import cw_client


def code(err: pytest.ExceptionInfo[ClientError]) -> str:
    return str(err.value.response["Error"]["Code"])


def folder() -> str:
    return f"t-{uuid.uuid4().hex[:8]}"


def test_create_update_get_delete(cw: Any) -> None:
    path = f"{folder()}/web/latency"
    created = cw.put_metric_data_query_definition(
        Path=path, Expression="SELECT AVG(CPUUtilization) FROM SCHEMA(\"AWS/EC2\")", Type="SQL", Tags=[{"Key": "team", "Value": "web"}]
    )
    definition_id = created["Id"]
    assert created["Arn"].startswith("arn:aws:cloudwatch:us-east-1:") and created["Arn"].endswith(f":metric-query-definition/{definition_id}")
    assert created["Path"] == path and created["Type"] == "SQL" and created["CreatedAt"] == created["UpdatedAt"]
    assert abs((created["CreatedAt"] - dt.datetime.now(dt.UTC)).total_seconds()) < 60
    got = cw.get_metric_data_query_definition(Id=definition_id)
    assert {k: got[k] for k in ("Id", "Arn", "Path", "Expression", "Type")} == {k: created[k] for k in ("Id", "Arn", "Path", "Expression", "Type")}

    # an update replaces path, expression and type, keeps the creation time; its Tags are ignored
    updated = cw.put_metric_data_query_definition(Id=definition_id, Path=path + "-p99", Expression="m1 * 2", Type="METRIC_MATH", Tags=[{"Key": "x", "Value": "y"}])
    assert updated["Id"] == definition_id and updated["Path"] == path + "-p99" and updated["Expression"] == "m1 * 2" and updated["Type"] == "METRIC_MATH"
    assert updated["CreatedAt"] == created["CreatedAt"] and updated["UpdatedAt"] >= created["UpdatedAt"]
    assert cw.list_tags_for_resource(ResourceARN=created["Arn"])["Tags"] == [{"Key": "team", "Value": "web"}]
    cw.tag_resource(ResourceARN=created["Arn"], Tags=[{"Key": "env", "Value": "prod"}])
    cw.untag_resource(ResourceARN=created["Arn"], TagKeys=["team"])
    assert cw.list_tags_for_resource(ResourceARN=created["Arn"])["Tags"] == [{"Key": "env", "Value": "prod"}]
    # the old path is free again
    cw.delete_metric_data_query_definition(Id=cw.put_metric_data_query_definition(Path=path, Expression="x", Type="PROMQL")["Id"])

    cw.delete_metric_data_query_definition(Id=definition_id)
    cw.delete_metric_data_query_definition(Id=definition_id)  # idempotent
    with pytest.raises(ClientError) as err:
        cw.get_metric_data_query_definition(Id=definition_id)
    assert code(err) == "ResourceNotFoundException" and err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    with pytest.raises(ClientError) as err:
        cw.list_tags_for_resource(ResourceARN=created["Arn"])
    assert code(err) == "ResourceNotFoundException"


def test_errors(cw: Any) -> None:
    path = f"{folder()}/taken"
    first = cw.put_metric_data_query_definition(Path=path, Expression="up", Type="PROMQL")
    with pytest.raises(ClientError) as err:
        cw.put_metric_data_query_definition(Path=path, Expression="up", Type="PROMQL")
    assert code(err) == "ConflictException" and err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 409
    other = cw.put_metric_data_query_definition(Path=path + "2", Expression="up", Type="PROMQL")
    with pytest.raises(ClientError) as err:  # an update onto another definition's path
        cw.put_metric_data_query_definition(Id=other["Id"], Path=path, Expression="up", Type="PROMQL")
    assert code(err) == "ConflictException"
    with pytest.raises(ClientError) as err:
        cw.put_metric_data_query_definition(Id="0a1b2c3d-no-such-definition", Path=folder(), Expression="up", Type="PROMQL")
    assert code(err) == "ResourceNotFoundException"
    for bad in ("/lead", "trail/", "a//b", "é" * 600):
        with pytest.raises(ClientError) as err:
            cw.put_metric_data_query_definition(Path=bad, Expression="up", Type="PROMQL")
        assert code(err) == "InvalidParameterValue", bad
    with pytest.raises(ClientError) as err:
        cw.put_metric_data_query_definition(Path=folder(), Expression="up", Type="LOGS")
    assert code(err) == "InvalidParameterValue"
    with pytest.raises(ClientError) as err:
        cw.get_metric_data_query_definition(Id="bad_id!")
    assert code(err) == "InvalidParameterValue"
    with pytest.raises(ClientError) as err:
        cw.list_metric_data_query_definitions(NextToken="zzzz")
    assert code(err) == "InvalidNextToken"
    for d in (first, other):
        cw.delete_metric_data_query_definition(Id=d["Id"])


@pytest.mark.parametrize("protocol", ["query", "smithy-rpc-v2-cbor"])
def test_other_protocols(mon: EmulatorServer, protocol: str) -> None:
    cw = cw_client(mon, protocol)
    created = cw.put_metric_data_query_definition(Path=f"{folder()}/q", Expression="SEARCH('{AWS/EC2} CPU', 'Average')", Type="METRIC_MATH")
    got = cw.get_metric_data_query_definition(Id=created["Id"])
    assert got["Expression"] == "SEARCH('{AWS/EC2} CPU', 'Average')" and got["CreatedAt"] == created["CreatedAt"]
    cw.delete_metric_data_query_definition(Id=created["Id"])


def listed(cw: Any, **kwargs: Any) -> tuple[list[dict[str, Any]], int]:
    items: list[dict[str, Any]] = []
    pages = 0
    while True:
        page = cw.list_metric_data_query_definitions(**kwargs)
        pages += 1
        items += page["Items"]
        if "NextToken" not in page:
            return items, pages
        kwargs["NextToken"] = page["NextToken"]


def test_list_paging(cw: Any) -> None:
    base = folder()
    ids = [cw.put_metric_data_query_definition(Path=f"{base}/{i:02d}", Expression="up", Type="PROMQL")["Id"] for i in range(7)]
    items, pages = listed(cw, MaxResults=3)
    mine = [i for i in items if i["Path"].startswith(base + "/")]
    assert [i["Path"] for i in mine] == [f"{base}/{i:02d}" for i in range(7)]  # by path
    assert [i["Id"] for i in mine] == ids and all(set(i) == {"Id", "Path", "Type", "UpdatedAt"} for i in mine)  # no expression
    assert pages == -(-len(items) // 3)
    for definition_id in ids:
        cw.delete_metric_data_query_definition(Id=definition_id)


def test_quota_restart_and_reset() -> None:
    server = EmulatorServer(env={"EMULATOR_ALARM_INTERVAL": "100000", "EMULATOR_TELEMETRY_INTERVAL": "100000"})
    server.start()
    try:
        cw = server.client("cloudwatch")
        for i in range(1000):
            cw.put_metric_data_query_definition(Path=f"q/{i:04d}", Expression="up", Type="PROMQL")
        with pytest.raises(ClientError) as err:
            cw.put_metric_data_query_definition(Path="q/one-too-many", Expression="up", Type="PROMQL")
        assert code(err) == "LimitExceededException"
        # the quota is per Region
        assert server.client("cloudwatch", region_name="eu-west-1").put_metric_data_query_definition(Path="q/0000", Expression="up", Type="SQL")["Id"]
        server.kill()  # no clean shutdown: the definitions are on disk already
        again = EmulatorServer(data_dir=server.data_dir, env=server.env)
        again.start()
        try:
            cw = again.client("cloudwatch")
            items, _ = listed(cw)
            assert len(items) == 1000 and items[0]["Path"] == "q/0000"
            assert cw.get_metric_data_query_definition(Id=items[0]["Id"])["Expression"] == "up"
            assert [i["Type"] for i in again.client("cloudwatch", region_name="eu-west-1").list_metric_data_query_definitions()["Items"]] == ["SQL"]
            again.reset(["cloudwatch"])
            assert cw.list_metric_data_query_definitions()["Items"] == []
            assert again.client("cloudwatch", region_name="eu-west-1").list_metric_data_query_definitions()["Items"] == []
        finally:
            again.stop()
    finally:
        server.cleanup()
