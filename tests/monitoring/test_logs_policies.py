"""CloudWatch Logs resource policies, query definitions and ListLogGroups through the wire."""

from __future__ import annotations

import json
import uuid

import pytest
from botocore.exceptions import ClientError

from emulator.testing.server import EmulatorServer


def _code(err: pytest.ExceptionInfo[ClientError]) -> str:
    return str(err.value.response["Error"]["Code"])


POLICY = json.dumps({
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "es.amazonaws.com"}, "Action": ["logs:PutLogEvents", "logs:CreateLogStream"], "Resource": "*"}],
})


def test_resource_policies(mon: EmulatorServer) -> None:
    # a region of its own: the limit counts every policy of the region
    logs = mon.client("logs", region_name="ca-central-1")
    out = logs.put_resource_policy(policyName="es", policyDocument=POLICY)
    rp = out["resourcePolicy"]
    assert rp["policyName"] == "es" and json.loads(rp["policyDocument"]) == json.loads(POLICY) and rp["lastUpdatedTime"] > 0 and rp["policyScope"] == "ACCOUNT"
    assert out["revisionId"] == rp["revisionId"]
    # an update replaces the document
    doc2 = json.dumps({"Version": "2012-10-17", "Statement": []})
    logs.put_resource_policy(policyName="es", policyDocument=doc2)
    [got] = logs.describe_resource_policies()["resourcePolicies"]
    assert got["policyDocument"] == doc2
    with pytest.raises(ClientError) as err:
        logs.put_resource_policy(policyName="bad", policyDocument="{not json")
    assert _code(err) == "InvalidParameterException"
    # ten per region
    for i in range(9):
        logs.put_resource_policy(policyName=f"p{i}", policyDocument=POLICY)
    with pytest.raises(ClientError) as err:
        logs.put_resource_policy(policyName="eleventh", policyDocument=POLICY)
    assert _code(err) == "LimitExceededException"
    names = [p["policyName"] for p in logs.describe_resource_policies()["resourcePolicies"]]
    assert len(names) == 10 and names == sorted(names)
    page = logs.describe_resource_policies(limit=4)
    assert len(page["resourcePolicies"]) == 4 and page["nextToken"]
    rest = logs.describe_resource_policies(limit=50, nextToken=page["nextToken"])["resourcePolicies"]
    assert [p["policyName"] for p in page["resourcePolicies"] + rest] == names
    # regional
    assert mon.client("logs", region_name="eu-north-1").describe_resource_policies()["resourcePolicies"] == []
    logs.delete_resource_policy(policyName="es")
    with pytest.raises(ClientError) as err:
        logs.delete_resource_policy(policyName="es")
    assert _code(err) == "ResourceNotFoundException"
    assert len(logs.describe_resource_policies()["resourcePolicies"]) == 9


def test_query_definitions(mon: EmulatorServer) -> None:
    logs = mon.client("logs", region_name="sa-east-1")
    qid = logs.put_query_definition(name="errors/recent", queryString="fields @message | filter @message like /ERROR/", logGroupNames=["/a", "/b"])["queryDefinitionId"]
    other = logs.put_query_definition(name="latency", queryString="stats avg(latency)")["queryDefinitionId"]
    assert qid != other
    defs = logs.describe_query_definitions()["queryDefinitions"]
    assert [d["name"] for d in defs] == ["errors/recent", "latency"]
    assert defs[0]["queryDefinitionId"] == qid and defs[0]["logGroupNames"] == ["/a", "/b"] and defs[0]["lastModified"] > 0 and defs[0]["queryLanguage"] == "CWLI"
    # update by id
    same = logs.put_query_definition(queryDefinitionId=qid, name="errors/all", queryString="fields @message")["queryDefinitionId"]
    assert same == qid
    [d] = logs.describe_query_definitions(queryDefinitionNamePrefix="errors")["queryDefinitions"]
    assert d["name"] == "errors/all" and d["queryString"] == "fields @message"
    with pytest.raises(ClientError) as err:
        logs.put_query_definition(queryDefinitionId=str(uuid.uuid4()), name="x", queryString="fields @message")
    assert _code(err) == "ResourceNotFoundException"
    page = logs.describe_query_definitions(maxResults=1)
    assert len(page["queryDefinitions"]) == 1 and page["nextToken"]
    assert len(logs.describe_query_definitions(maxResults=1, nextToken=page["nextToken"])["queryDefinitions"]) == 1
    assert mon.client("logs", region_name="eu-north-1").describe_query_definitions()["queryDefinitions"] == []
    assert logs.delete_query_definition(queryDefinitionId=qid)["success"] is True
    with pytest.raises(ClientError) as err:
        logs.delete_query_definition(queryDefinitionId=qid)
    assert _code(err) == "ResourceNotFoundException"
    assert [d["name"] for d in logs.describe_query_definitions()["queryDefinitions"]] == ["latency"]


def test_list_log_groups(mon: EmulatorServer) -> None:
    # A region of its own: the server is shared by the module's tests and others make groups
    # of other classes too.
    logs = mon.client("logs", region_name="eu-south-1")
    tag = uuid.uuid4().hex[:6]
    names = [f"/aws/lambda/{tag}-a", f"/aws/lambda/{tag}-b", f"/app/{tag}/api", f"/app/{tag}/Discovery"]
    for n in names:
        logs.create_log_group(logGroupName=n, tags={"team": "x" if "lambda" in n else "y"})
    logs.create_log_group(logGroupName=f"/cold/{tag}", logGroupClass="INFREQUENT_ACCESS")
    got = logs.list_log_groups(logGroupNamePattern=f"^/aws/lambda/{tag}"[:25])["logGroups"]
    assert [g["logGroupName"] for g in got] == names[:2]
    assert got[0]["logGroupArn"].endswith(f":log-group:{names[0]}") and got[0]["logGroupClass"] == "STANDARD"
    # alternatives, substrings, case-sensitive
    got = logs.list_log_groups(logGroupNamePattern=f"{tag}-a|Discovery")["logGroups"]
    assert sorted(g["logGroupName"] for g in got) == sorted([names[0], names[3]])
    assert logs.list_log_groups(logGroupNamePattern="discovery")["logGroups"] == []
    assert [g["logGroupName"] for g in logs.list_log_groups(logGroupClass="INFREQUENT_ACCESS")["logGroups"]] == [f"/cold/{tag}"]
    tagged = [g["logGroupName"] for g in logs.list_log_groups(logGroupTags=[{"key": "team", "values": ["y"]}], logGroupNamePattern=tag)["logGroups"]]
    assert sorted(tagged) == sorted(names[2:])
    # paging
    everything = [g["logGroupName"] for g in logs.list_log_groups(logGroupNamePattern=tag, includeLinkedAccounts=True)["logGroups"]]
    assert len(everything) == 5 and everything == sorted(everything)
    page = logs.list_log_groups(logGroupNamePattern=tag, limit=2)
    seen = [g["logGroupName"] for g in page["logGroups"]]
    while page.get("nextToken"):
        page = logs.list_log_groups(logGroupNamePattern=tag, limit=2, nextToken=page["nextToken"])
        seen += [g["logGroupName"] for g in page["logGroups"]]
    assert seen == everything
    with pytest.raises(ClientError) as err:
        logs.list_log_groups(logGroupNamePattern="a|b")
    assert _code(err) in ("InvalidParameterException", "ValidationException")
    with pytest.raises(ClientError) as err:
        logs.list_log_groups(limit=1001)
    assert _code(err) in ("InvalidParameterException", "ValidationException")
    # regional
    assert mon.client("logs", region_name="eu-north-1").list_log_groups(logGroupNamePattern=tag)["logGroups"] == []


def test_policies_and_definitions_survive_a_restart() -> None:
    with EmulatorServer() as server:
        logs = server.client("logs")
        logs.put_resource_policy(policyName="keep", policyDocument=POLICY)
        qid = logs.put_query_definition(name="keep", queryString="fields @message")["queryDefinitionId"]
        server.stop()
        server.start()
        logs = server.client("logs")
        assert [p["policyName"] for p in logs.describe_resource_policies()["resourcePolicies"]] == ["keep"]
        assert [d["queryDefinitionId"] for d in logs.describe_query_definitions()["queryDefinitions"]] == [qid]
