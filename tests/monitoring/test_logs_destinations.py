"""CloudWatch Logs destinations through the wire: PutDestination, PutDestinationPolicy,
DescribeDestinations, DeleteDestination, their tags, and a subscription filter naming a
destination, whose events land in the destination's Kinesis stream."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError

from emulator.testing.server import EmulatorServer

from .conftest import wait_for
from .test_logs_subscriptions import _account, _data, _kinesis, _kinesis_messages

POLICY = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "111122223333"},
                                                             "Action": "logs:PutSubscriptionFilter", "Resource": "*"}]})


def _code(err: pytest.ExceptionInfo[ClientError]) -> str:
    return str(err.value.response["Error"]["Code"])


def _role(server: EmulatorServer) -> str:
    return f"arn:aws:iam::{_account(server)}:role/cwl-destination"


def test_destination_crud(mon: EmulatorServer, logs: Any) -> None:
    account = _account(mon)
    role = _role(mon)
    target = f"arn:aws:kinesis:us-east-1:{account}:stream/dest-target"
    base = f"d{uuid.uuid4().hex[:6]}"
    names = [f"{base}-b", f"{base}-a", f"{base}-c"]
    created = {}
    for name in names:
        dest = logs.put_destination(destinationName=name, targetArn=target, roleArn=role, tags={"team": "logs"})["destination"]
        assert dest["destinationName"] == name and dest["targetArn"] == target and dest["roleArn"] == role
        assert dest["arn"] == f"arn:aws:logs:us-east-1:{account}:destination:{name}" and dest["creationTime"] > 0
        assert "accessPolicy" not in dest
        created[name] = dest
    # ASCII order, prefix and paging
    listed = logs.describe_destinations(DestinationNamePrefix=base)["destinations"]
    assert [d["destinationName"] for d in listed] == sorted(names)
    page = logs.describe_destinations(DestinationNamePrefix=base, limit=2)
    assert [d["destinationName"] for d in page["destinations"]] == [f"{base}-a", f"{base}-b"] and page["nextToken"]
    rest = logs.describe_destinations(DestinationNamePrefix=base, limit=2, nextToken=page["nextToken"])
    assert [d["destinationName"] for d in rest["destinations"]] == [f"{base}-c"] and "nextToken" not in rest
    # the policy, and an update that keeps it and the creation time
    logs.put_destination_policy(destinationName=f"{base}-a", accessPolicy=POLICY)
    other = f"arn:aws:firehose:us-east-1:{account}:deliverystream/elsewhere"
    updated = logs.put_destination(destinationName=f"{base}-a", targetArn=other, roleArn=role)["destination"]
    assert updated["targetArn"] == other and updated["accessPolicy"] == POLICY and updated["creationTime"] == created[f"{base}-a"]["creationTime"]
    [desc] = logs.describe_destinations(DestinationNamePrefix=f"{base}-a")["destinations"]
    assert desc == updated
    # tags, by the destination's ARN
    arn = created[f"{base}-b"]["arn"]
    assert logs.list_tags_for_resource(resourceArn=arn)["tags"] == {"team": "logs"}
    logs.tag_resource(resourceArn=arn, tags={"env": "test"})
    logs.untag_resource(resourceArn=arn, tagKeys=["team"])
    assert logs.list_tags_for_resource(resourceArn=arn)["tags"] == {"env": "test"}
    # delete
    logs.delete_destination(destinationName=f"{base}-b")
    assert [d["destinationName"] for d in logs.describe_destinations(DestinationNamePrefix=base)["destinations"]] == [f"{base}-a", f"{base}-c"]
    with pytest.raises(ClientError) as err:
        logs.delete_destination(destinationName=f"{base}-b")
    assert _code(err) == "ResourceNotFoundException" and err.value.response["Error"]["Message"] == "The specified destination does not exist."
    with pytest.raises(ClientError) as err:
        logs.put_destination_policy(destinationName=f"{base}-b", accessPolicy=POLICY)
    assert _code(err) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as err:
        logs.list_tags_for_resource(resourceArn=arn)
    assert _code(err) == "ResourceNotFoundException"
    # destinations are regional
    assert mon.client("logs", region_name="eu-west-1").describe_destinations(DestinationNamePrefix=base)["destinations"] == []


def test_destination_validation(mon: EmulatorServer, logs: Any) -> None:
    role = _role(mon)
    with pytest.raises(ClientError) as err:
        logs.put_destination(destinationName="bad-target", targetArn="arn:aws:sqs:us-east-1:000000000000:q", roleArn=role)
    assert _code(err) == "InvalidParameterException"
    with pytest.raises(ClientError) as err:
        logs.put_destination(destinationName="bad-role", targetArn=_kinesis(mon), roleArn="not-a-role")
    assert _code(err) == "InvalidParameterException"
    name = f"d{uuid.uuid4().hex[:6]}"
    logs.put_destination(destinationName=name, targetArn=_kinesis(mon), roleArn=role)
    with pytest.raises(ClientError) as err:
        logs.put_destination_policy(destinationName=name, accessPolicy="{not json")
    assert _code(err) == "InvalidParameterException"
    with pytest.raises(ClientError) as err:
        logs.describe_destinations(nextToken="garbage")
    assert _code(err) == "InvalidParameterException"


def test_subscription_through_a_destination(mon: EmulatorServer, logs: Any) -> None:
    account = _account(mon)
    target = _kinesis(mon)
    name = f"d{uuid.uuid4().hex[:6]}"
    dest = logs.put_destination(destinationName=name, targetArn=target, roleArn=_role(mon))["destination"]["arn"]
    group = f"/dest/{uuid.uuid4().hex[:8]}"
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName="s1")
    # no roleArn: a destination carries its own
    logs.put_subscription_filter(logGroupName=group, filterName="via-dest", filterPattern="ERROR", destinationArn=dest)
    [control] = _kinesis_messages(mon, target)  # AWS's test record reaches the destination's stream
    assert control["messageType"] == "CONTROL_MESSAGE"
    [desc] = logs.describe_subscription_filters(logGroupName=group)["subscriptionFilters"]
    assert desc["destinationArn"] == dest and "roleArn" not in desc
    now = int(time.time() * 1000)
    logs.put_log_events(logGroupName=group, logStreamName="s1", logEvents=[{"timestamp": now, "message": "ERROR one"}, {"timestamp": now + 1, "message": "INFO two"}])
    got = wait_for(lambda: _data(_kinesis_messages(mon, target)))
    assert got and len(got) == 1, got
    assert got[0]["owner"] == account and got[0]["logGroup"] == group and got[0]["subscriptionFilters"] == ["via-dest"]
    assert [e["message"] for e in got[0]["logEvents"]] == ["ERROR one"]
    # the destination pointed at another stream: the next events go there
    second = _kinesis(mon)
    logs.put_destination(destinationName=name, targetArn=second, roleArn=_role(mon))
    logs.put_log_events(logGroupName=group, logStreamName="s1", logEvents=[{"timestamp": int(time.time() * 1000), "message": "ERROR three"}])
    got2 = wait_for(lambda: _data(_kinesis_messages(mon, second)))
    assert got2 and [e["message"] for e in got2[0]["logEvents"]] == ["ERROR three"]
    # deleted: its filter delivers nothing more, ingestion is unaffected
    logs.delete_destination(destinationName=name)
    out = logs.put_log_events(logGroupName=group, logStreamName="s1", logEvents=[{"timestamp": int(time.time() * 1000), "message": "ERROR four"}])
    assert "rejectedLogEventsInfo" not in out
    time.sleep(2.5)  # past the worker's gathering second
    assert len(_data(_kinesis_messages(mon, second))) == 1 and len(_data(_kinesis_messages(mon, target))) == 1
    # a filter naming a destination that does not exist (or of another region) is refused
    with pytest.raises(ClientError) as err:
        logs.put_subscription_filter(logGroupName=group, filterName="gone", filterPattern="", destinationArn=dest)
    assert _code(err) == "InvalidParameterException" and "Could not deliver test message" in err.value.response["Error"]["Message"]
    logs.put_destination(destinationName=name, targetArn=target, roleArn=_role(mon))
    with pytest.raises(ClientError) as err:
        logs.put_subscription_filter(logGroupName=group, filterName="far", filterPattern="", destinationArn=dest.replace(":us-east-1:", ":eu-west-1:"))
    assert _code(err) == "InvalidParameterException"
