"""CloudWatch Logs AssociateKmsKey, DisassociateKmsKey and ListLogGroupsForQuery through the
wire: a log group's key (by name or ARN) as DescribeLogGroups shows it, the account's query
results key, the parameter errors, IAM, Terraform's key change on an existing group across a
restart, and the log groups an Insights query analyzed."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from emulator.testing.server import EmulatorServer

from .conftest import wait_for

KEY_A = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
KEY_B = "arn:aws:kms:us-east-1:123456789012:key/mrk-0123456789abcdef0123456789abcdef"


def _code(err: pytest.ExceptionInfo[ClientError]) -> str:
    return str(err.value.response["Error"]["Code"])


def _group(logs: Any, **kw: Any) -> str:
    name = f"/kms/{uuid.uuid4().hex[:10]}"
    logs.create_log_group(logGroupName=name, **kw)
    return name


def _described(logs: Any, name: str) -> dict[str, Any]:
    groups = [g for g in logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"] if g["logGroupName"] == name]
    assert len(groups) == 1, groups
    return dict(groups[0])


def _arn(logs: Any, name: str) -> str:
    return str(_described(logs, name)["logGroupArn"])


def _unvalidated(server: EmulatorServer, **kw: Any) -> Any:
    """A client that sends what botocore's parameter validation would refuse (the server's checks are tested)."""
    return server.client("logs", config=Config(parameter_validation=False, retries={"max_attempts": 1, "mode": "standard"}), **kw)


def test_associate_and_disassociate_by_name_and_by_arn(logs: Any) -> None:
    name = _group(logs)
    assert "kmsKeyId" not in _described(logs, name)
    logs.associate_kms_key(logGroupName=name, kmsKeyId=KEY_A)
    assert _described(logs, name)["kmsKeyId"] == KEY_A
    arn = _arn(logs, name)
    logs.associate_kms_key(resourceIdentifier=arn, kmsKeyId=KEY_B)  # a new key replaces the old one
    assert _described(logs, name)["kmsKeyId"] == KEY_B
    logs.disassociate_kms_key(resourceIdentifier=arn)
    assert "kmsKeyId" not in _described(logs, name)
    logs.associate_kms_key(logGroupName=name, kmsKeyId=KEY_A)
    logs.disassociate_kms_key(logGroupName=name)
    assert "kmsKeyId" not in _described(logs, name)
    other = _group(logs, kmsKeyId=KEY_A)  # only the named group changes
    logs.associate_kms_key(resourceIdentifier=_arn(logs, name) + ":*", kmsKeyId=KEY_B)
    assert _described(logs, name)["kmsKeyId"] == KEY_B and _described(logs, other)["kmsKeyId"] == KEY_A


@pytest.mark.parametrize("op", ["associate_kms_key", "disassociate_kms_key"])
def test_target_errors(mon: EmulatorServer, logs: Any, op: str) -> None:
    name = _group(logs)
    arn = _arn(logs, name)
    call = getattr(logs, op)
    key = {"kmsKeyId": KEY_A} if op == "associate_kms_key" else {}
    parts = arn.split(":")
    elsewhere = ":".join([*parts[:3], "eu-west-1" if parts[3] != "eu-west-1" else "eu-west-2", *parts[4:]])  # the same group in another region
    base, base_elsewhere = arn.split(":log-group:")[0], elsewhere.split(":log-group:")[0]
    cases: list[tuple[dict[str, Any], str]] = [
        ({"logGroupName": name + "-missing"}, "ResourceNotFoundException"),
        ({"resourceIdentifier": arn + "-missing"}, "ResourceNotFoundException"),
        ({"resourceIdentifier": elsewhere}, "ResourceNotFoundException"),
        ({"logGroupName": name, "resourceIdentifier": arn}, "InvalidParameterException"),
        ({}, "InvalidParameterException"),
        ({"resourceIdentifier": name}, "InvalidParameterException"),  # a name is not an identifier
        ({"resourceIdentifier": arn.replace(":log-group:", ":destination:")}, "InvalidParameterException"),
        ({"resourceIdentifier": base + ":query-result:abc"}, "InvalidParameterException"),
        ({"resourceIdentifier": base_elsewhere + ":query-result:*"}, "ResourceNotFoundException"),
    ]
    for params, code in cases:
        with pytest.raises(ClientError) as err:
            call(**params, **key)
        assert _code(err) == code, params
    assert "kmsKeyId" not in _described(logs, name)


def test_key_must_be_a_kms_key_arn(mon: EmulatorServer, logs: Any) -> None:
    name = _group(logs)
    region, account = _arn(logs, name).split(":")[3:5]
    for bad in (
        "11111111-2222-3333-4444-555555555555",  # a key id
        "alias/logs",
        "arn:aws:kms:us-east-1:123456789012:alias/logs",
        "arn:aws:s3:::bucket",
        "arn:aws:kms:us-east-1:123456789012:key/",
    ):
        with pytest.raises(ClientError) as err:
            logs.associate_kms_key(logGroupName=name, kmsKeyId=bad)
        assert _code(err) == "InvalidParameterException", bad
        with pytest.raises(ClientError) as err:
            logs.associate_kms_key(resourceIdentifier=f"arn:aws:logs:{region}:{account}:query-result:*", kmsKeyId=bad)
        assert _code(err) == "InvalidParameterException", bad
        with pytest.raises(ClientError) as err:
            logs.create_log_group(logGroupName=name + "-new", kmsKeyId=bad)  # CreateLogGroup's kmsKeyId has the same rule
        assert _code(err) == "InvalidParameterException", bad
    assert "kmsKeyId" not in _described(logs, name)
    assert all(g["logGroupName"] != name + "-new" for g in logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"])


def test_query_results_key(mon: EmulatorServer) -> None:
    # No operation returns the query results' key (GetQueryResults answers in plain text, as
    # documented in the AssociateKmsKey API reference): associating it changes no log group.
    logs = mon.client("logs", region_name="eu-south-1")
    name = _group(logs, kmsKeyId=KEY_A)
    account = _arn(logs, name).split(":")[4]
    target = f"arn:aws:logs:eu-south-1:{account}:query-result:*"
    logs.associate_kms_key(resourceIdentifier=target, kmsKeyId=KEY_B)
    logs.associate_kms_key(resourceIdentifier=target, kmsKeyId=KEY_A)  # replaces it
    assert _described(logs, name)["kmsKeyId"] == KEY_A
    logs.disassociate_kms_key(resourceIdentifier=target)
    logs.disassociate_kms_key(resourceIdentifier=target)
    assert _described(logs, name)["kmsKeyId"] == KEY_A
    with pytest.raises(ClientError) as err:  # the query results of another account
        logs.associate_kms_key(resourceIdentifier="arn:aws:logs:eu-south-1:999999999999:query-result:*", kmsKeyId=KEY_B)
    assert _code(err) == "ResourceNotFoundException"


def test_iam_decides_on_the_group_arn(mon: EmulatorServer) -> None:
    logs = mon.client("logs", region_name="ap-southeast-4")
    allowed, denied = _group(logs), _group(logs)
    iam = mon.client("iam")
    user = f"kms-assoc-{uuid.uuid4().hex[:6]}"
    iam.create_user(UserName=user)
    statement = {"Effect": "Allow", "Action": ["logs:AssociateKmsKey", "logs:DisassociateKmsKey"], "Resource": _arn(logs, allowed)}
    iam.put_user_policy(UserName=user, PolicyName="kms", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [statement]}))
    key = iam.create_access_key(UserName=user)["AccessKey"]
    limited = mon.client("logs", region_name="ap-southeast-4", aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])
    limited.associate_kms_key(logGroupName=allowed, kmsKeyId=KEY_A)
    limited.disassociate_kms_key(resourceIdentifier=_arn(logs, allowed))
    for call in (
        lambda: limited.associate_kms_key(logGroupName=denied, kmsKeyId=KEY_A),
        lambda: limited.disassociate_kms_key(resourceIdentifier=_arn(logs, denied)),
        lambda: limited.list_log_groups_for_query(queryId=str(uuid.uuid4())),
    ):
        with pytest.raises(ClientError) as err:
            call()
        assert _code(err) == "AccessDeniedException"
    assert "kmsKeyId" not in _described(logs, allowed) and "kmsKeyId" not in _described(logs, denied)


def test_terraform_key_change_survives_a_restart() -> None:
    """aws_cloudwatch_log_group: kms_key_id changed on an existing group (AssociateKmsKey), then removed (DisassociateKmsKey)."""
    with EmulatorServer() as server:
        kms = server.client("kms")
        key_a, key_b = (kms.create_key(Description=d)["KeyMetadata"]["Arn"] for d in ("a", "b"))
        logs = server.client("logs")
        name = _group(logs, kmsKeyId=key_a)
        assert _described(logs, name)["kmsKeyId"] == key_a
        logs.associate_kms_key(logGroupName=name, kmsKeyId=key_b)
        assert _described(logs, name)["kmsKeyId"] == key_b
        server.stop()
        server.start()
        logs = server.client("logs")
        assert _described(logs, name)["kmsKeyId"] == key_b
        logs.disassociate_kms_key(logGroupName=name)
        assert "kmsKeyId" not in _described(logs, name)
        server.stop()
        server.start()
        logs = server.client("logs")
        assert "kmsKeyId" not in _described(logs, name)


def _query(logs: Any, **target: Any) -> str:
    now = int(time.time())
    qid = str(logs.start_query(startTime=now - 600, endTime=now, queryString="fields @message", **target)["queryId"])
    wait_for(lambda: logs.get_query_results(queryId=qid)["status"] == "Complete")
    return qid


def test_list_log_groups_for_query(mon: EmulatorServer, logs: Any) -> None:
    a, b, c = _group(logs), _group(logs), _group(logs)
    arn_a, arn_b, arn_c = _arn(logs, a), _arn(logs, b), _arn(logs, c)
    assert logs.list_log_groups_for_query(queryId=_query(logs, logGroupName=a))["logGroupIdentifiers"] == [arn_a]
    assert logs.list_log_groups_for_query(queryId=_query(logs, logGroupNames=[b, a]))["logGroupIdentifiers"] == [arn_b, arn_a]
    out = logs.list_log_groups_for_query(queryId=_query(logs, logGroupIdentifiers=[arn_c, b, arn_a]), maxResults=50)
    assert out["logGroupIdentifiers"] == [arn_c, arn_b, arn_a] and "nextToken" not in out
    # A query started while its groups are listed still reports them: they are the groups it reads.
    qid = logs.start_query(logGroupName=c, startTime=0, endTime=int(time.time()), queryString="fields @message")["queryId"]
    assert logs.list_log_groups_for_query(queryId=qid)["logGroupIdentifiers"] == [arn_c]
    with pytest.raises(ClientError) as err:
        logs.list_log_groups_for_query(queryId=str(uuid.uuid4()))
    assert _code(err) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as err:  # a query of another region is unknown here
        mon.client("logs", region_name="eu-west-1" if _arn(logs, c).split(":")[3] != "eu-west-1" else "eu-west-2").list_log_groups_for_query(queryId=qid)
    assert _code(err) == "ResourceNotFoundException"
    raw = _unvalidated(mon)
    for bad in (49, 501):
        with pytest.raises(ClientError) as err:
            raw.list_log_groups_for_query(queryId=qid, maxResults=bad)
        assert _code(err) == "ValidationException", bad  # the model's range, checked by the gateway
    with pytest.raises(ClientError) as err:
        logs.list_log_groups_for_query(queryId=qid, nextToken="not-a-token")
    assert _code(err) == "InvalidParameterException"


def test_list_log_groups_for_query_at_the_limit(logs: Any) -> None:
    # StartQuery takes up to 50 log groups (its API reference), and maxResults is at least 50:
    # a query's groups always fit one page.
    names = [_group(logs) for _ in range(51)]
    with pytest.raises(ClientError) as err:
        _query(logs, logGroupNames=names)
    assert _code(err) == "InvalidParameterException" and "up to 50 log groups" in err.value.response["Error"]["Message"]
    qid = _query(logs, logGroupNames=names[:50])
    page = logs.list_log_groups_for_query(queryId=qid, maxResults=50)
    assert page["logGroupIdentifiers"] == [_arn(logs, n) for n in names[:50]] and "nextToken" not in page
    paged = [arn for each in logs.get_paginator("list_log_groups_for_query").paginate(queryId=qid) for arn in each["logGroupIdentifiers"]]
    assert paged == page["logGroupIdentifiers"]
