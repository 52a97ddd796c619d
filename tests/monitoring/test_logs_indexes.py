"""CloudWatch Logs field index policies (a group's own, and the account's FIELD_INDEX_POLICY
inherited), DescribeFieldIndexes from the stored events, filterIndex in Insights, and log
group deletion protection, through the wire.

Tests that put account policies work in a region of their own: an account policy applies to
every group of its region, and the package's server is shared."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError

from emulator.testing.server import EmulatorServer

from .conftest import wait_for


def _code(err: pytest.ExceptionInfo[ClientError]) -> str:
    return str(err.value.response["Error"]["Code"])


def _group(logs: Any, prefix: str = "/idx/", cls: str | None = None) -> str:
    name = f"{prefix}{uuid.uuid4().hex[:10]}"
    logs.create_log_group(logGroupName=name, **({"logGroupClass": cls} if cls else {}))
    return name


def _put(logs: Any, group: str, messages: list[tuple[int, str]], stream: str = "s") -> None:
    if not logs.describe_log_streams(logGroupName=group, logStreamNamePrefix=stream)["logStreams"]:
        logs.create_log_stream(logGroupName=group, logStreamName=stream)
    logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=[{"timestamp": ts, "message": m} for ts, m in messages])


def _doc(*fields: str, **v2: str) -> str:
    doc: dict[str, Any] = {"Fields": list(fields)}
    if v2:
        doc["FieldsV2"] = {k: {"type": t} for k, t in v2.items()}
    return json.dumps(doc)


def _indexes(logs: Any, group: str, **kw: Any) -> dict[str, dict[str, Any]]:
    return {i["fieldIndexName"]: i for i in logs.describe_field_indexes(logGroupIdentifiers=[group], **kw)["fieldIndexes"]}


def test_index_policy_crud(logs: Any) -> None:
    group = _group(logs)
    arn = logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"][0]["logGroupArn"]
    out = logs.put_index_policy(logGroupIdentifier=group, policyDocument=_doc("requestId"))["indexPolicy"]
    assert out["source"] == "LOG_GROUP" and out["logGroupIdentifier"] == arn and "policyName" not in out
    assert json.loads(out["policyDocument"]) == {"Fields": ["requestId"]} and out["lastUpdateTime"] > 0
    logs.put_index_policy(logGroupIdentifier=arn, policyDocument=_doc("requestId", userId="FACET"))
    got = logs.describe_index_policies(logGroupIdentifiers=[group])["indexPolicies"]
    assert len(got) == 1 and got[0]["source"] == "LOG_GROUP" and json.loads(got[0]["policyDocument"])["FieldsV2"] == {"userId": {"type": "FACET"}}
    logs.delete_index_policy(logGroupIdentifier=group)
    assert logs.describe_index_policies(logGroupIdentifiers=[group])["indexPolicies"] == []
    with pytest.raises(ClientError) as err:
        logs.delete_index_policy(logGroupIdentifier=group)
    assert _code(err) == "ResourceNotFoundException"
    for call in (lambda: logs.put_index_policy(logGroupIdentifier=group + "-no", policyDocument=_doc("a")),
                 lambda: logs.describe_index_policies(logGroupIdentifiers=[group + "-no"]),
                 lambda: logs.describe_field_indexes(logGroupIdentifiers=[group + "-no"])):
        with pytest.raises(ClientError) as err:
            call()
        assert _code(err) == "ResourceNotFoundException"


@pytest.mark.parametrize("document", [
    json.dumps({"Fields": [f"f{i}" for i in range(21)]}),  # more than 20 fields
    json.dumps({"Fields": []}),  # no field at all
    "not json",
    json.dumps({"Fields": ["a"], "FieldsV2": {"a": {"type": "FACET"}}}),  # Fields and FieldsV2 overlap
    json.dumps({"Fields": ["x" * 101]}),
    json.dumps({"FieldsV2": {"a": {"type": "OTHER"}}}),
    json.dumps({"Fields": "requestId"}),
    json.dumps(["requestId"]),
])
def test_invalid_documents_are_refused(logs: Any, document: str) -> None:
    group = _group(logs)
    with pytest.raises(ClientError) as err:
        logs.put_index_policy(logGroupIdentifier=group, policyDocument=document)
    assert _code(err) == "InvalidParameterException"
    assert logs.describe_index_policies(logGroupIdentifiers=[group])["indexPolicies"] == []


def test_twenty_fields_and_standard_class_only(logs: Any) -> None:
    group = _group(logs)
    logs.put_index_policy(logGroupIdentifier=group, policyDocument=json.dumps({"Fields": [f"f{i}" for i in range(10)], "FieldsV2": {f"g{i}": {"type": "FIELD_INDEX"} for i in range(10)}}))
    ia = _group(logs, cls="INFREQUENT_ACCESS")
    with pytest.raises(ClientError) as err:
        logs.put_index_policy(logGroupIdentifier=ia, policyDocument=_doc("a"))
    assert _code(err) == "InvalidParameterException"


def test_account_policy_is_inherited(mon: EmulatorServer) -> None:
    logs = mon.client("logs", region_name="eu-south-2")
    matching, other, own = _group(logs, "/app/"), _group(logs, "/other/"), _group(logs, "/app/")
    logs.put_account_policy(policyName="app-index", policyType="FIELD_INDEX_POLICY", policyDocument=_doc("traceparent"),
                            selectionCriteria='LogGroupNamePrefix IN ["/app/"]')
    logs.put_index_policy(logGroupIdentifier=own, policyDocument=_doc("mine"))
    got = logs.describe_index_policies(logGroupIdentifiers=[matching])["indexPolicies"]
    assert [(g["source"], g["policyName"]) for g in got] == [("ACCOUNT", "app-index")]
    assert logs.describe_index_policies(logGroupIdentifiers=[other])["indexPolicies"] == []
    assert [g["source"] for g in logs.describe_index_policies(logGroupIdentifiers=[own])["indexPolicies"]] == ["LOG_GROUP"]
    # a policy without selection criteria applies to the rest; the longer prefix wins where both match
    logs.put_account_policy(policyName="all-index", policyType="FIELD_INDEX_POLICY", policyDocument=_doc("everywhere"))
    assert logs.describe_index_policies(logGroupIdentifiers=[other])["indexPolicies"][0]["policyName"] == "all-index"
    assert logs.describe_index_policies(logGroupIdentifiers=[matching])["indexPolicies"][0]["policyName"] == "app-index"
    # deleting the group's own policy falls back to the account's
    logs.delete_index_policy(logGroupIdentifier=own)
    assert logs.describe_index_policies(logGroupIdentifiers=[own])["indexPolicies"][0]["source"] == "ACCOUNT"
    now = int(time.time() * 1000)
    _put(logs, matching, [(now - 50, json.dumps({"traceparent": "t1"})), (now - 10, "plain")])
    idx = _indexes(logs, matching)
    assert idx["traceparent"]["indexCategory"] == "CUSTOM" and idx["traceparent"]["firstEventTime"] == now - 50 == idx["traceparent"]["lastEventTime"]
    with pytest.raises(ClientError) as err:
        logs.delete_index_policy(logGroupIdentifier=matching)  # an account policy is deleted with DeleteAccountPolicy
    assert _code(err) == "ResourceNotFoundException"
    for name in ("app-index", "all-index"):
        logs.delete_account_policy(policyName=name, policyType="FIELD_INDEX_POLICY")
    assert logs.describe_index_policies(logGroupIdentifiers=[matching])["indexPolicies"] == []


def test_field_indexes_come_from_the_stored_events(logs: Any) -> None:
    group = _group(logs)
    logs.put_index_policy(logGroupIdentifier=group, policyDocument=_doc("requestId", "req.user", status="FACET", absent="FIELD_INDEX"))
    base = int(time.time() * 1000) - 60_000
    _put(logs, group, [
        (base + 1000, json.dumps({"requestId": "r1", "status": 200})),
        (base + 2000, json.dumps({"req": {"user": "ann"}})),
        (base + 3000, "requestId r9 as plain text"),
        (base + 4000, json.dumps({"requestId": "r2", "req": {"user": "bob"}, "traceId": "abc"})),
        (base + 5000, json.dumps({"status": 500})),
    ])
    idx = _indexes(logs, group)
    assert (idx["requestId"]["firstEventTime"], idx["requestId"]["lastEventTime"]) == (base + 1000, base + 4000)
    assert (idx["req.user"]["firstEventTime"], idx["req.user"]["lastEventTime"]) == (base + 2000, base + 4000)
    assert (idx["status"]["firstEventTime"], idx["status"]["lastEventTime"], idx["status"]["type"]) == (base + 1000, base + 5000, "FACET")
    assert "firstEventTime" not in idx["absent"] and idx["absent"]["indexCategory"] == "CUSTOM"
    assert {k: v["indexCategory"] for k, v in idx.items() if v["indexCategory"] == "DEFAULT"} == {"@logStream": "DEFAULT", "traceId": "DEFAULT"}
    assert idx["@logStream"]["firstEventTime"] == base + 1000 and idx["@logStream"]["lastEventTime"] == base + 5000
    assert all(v["lastScanTime"] >= base for v in idx.values())
    assert all(v["logGroupIdentifier"].endswith(":log-group:" + group) for v in idx.values())
    # new events move lastEventTime on
    _put(logs, group, [(base + 9000, json.dumps({"requestId": "r3"}))])
    assert _indexes(logs, group)["requestId"]["lastEventTime"] == base + 9000
    # a field the policy no longer names is INACTIVE; categories filter
    logs.put_index_policy(logGroupIdentifier=group, policyDocument=_doc("status"))
    idx = _indexes(logs, group)
    assert idx["requestId"]["indexCategory"] == "INACTIVE" and idx["status"]["indexCategory"] == "CUSTOM"
    assert set(_indexes(logs, group, indexCategories=["CUSTOM"])) == {"status"}
    assert _indexes(logs, group, indexCategories=["AUTO"]) == {}
    with pytest.raises(ClientError) as err:
        logs.describe_field_indexes(logGroupIdentifiers=[group], indexCategories=["NOPE"])
    assert _code(err) == "ValidationException"  # the gateway checks the model's enum first


def test_events_before_the_policy_are_not_indexed(logs: Any) -> None:
    group = _group(logs)
    now = int(time.time() * 1000)
    _put(logs, group, [(now - 5000, json.dumps({"orderId": "o1"}))])
    logs.put_index_policy(logGroupIdentifier=group, policyDocument=_doc("orderId"))
    assert "firstEventTime" not in _indexes(logs, group)["orderId"]
    _put(logs, group, [(now - 1000, json.dumps({"orderId": "o2"}))])
    idx = _indexes(logs, group)["orderId"]
    assert (idx["firstEventTime"], idx["lastEventTime"]) == (now - 1000, now - 1000)


def test_filter_index_in_insights(logs: Any) -> None:
    group = _group(logs)
    logs.put_index_policy(logGroupIdentifier=group, policyDocument=_doc("requestId"))
    now = int(time.time() * 1000)
    _put(logs, group, [
        (now - 4000, json.dumps({"requestId": "a", "n": 1})),
        (now - 3000, json.dumps({"requestId": "b", "n": 2})),
        (now - 2000, json.dumps({"requestId": "a", "n": 3})),
        (now - 1000, json.dumps({"other": "a", "n": 4})),
    ])

    def run(query: str) -> list[str]:
        qid = logs.start_query(logGroupName=group, startTime=now // 1000 - 60, endTime=now // 1000 + 60, queryString=query)["queryId"]
        result = wait_for(lambda: (r := logs.get_query_results(queryId=qid))["status"] in ("Complete", "Failed") and r)
        assert result["status"] == "Complete", result
        return [c["value"] for row in result["results"] for c in row if c["field"] == "n"]

    assert run('filterIndex requestId = "a" | fields n | sort n asc') == ["1", "3"]
    assert run('filterIndex requestId IN ["a", "b"] | fields n | sort n asc') == ["1", "2", "3"]
    assert run('filterIndex requestId = "zzz" | fields n') == []
    for bad in ("filterIndex requestId", 'filterIndex requestId like "a"', 'filterIndex = "a"'):
        with pytest.raises(ClientError) as err:
            logs.start_query(logGroupName=group, startTime=now // 1000 - 60, endTime=now // 1000, queryString=bad)
        assert _code(err) == "MalformedQueryException"


def test_deletion_protection(logs: Any) -> None:
    group = _group(logs)

    def flag() -> bool:
        return bool(logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"][0]["deletionProtectionEnabled"])

    assert flag() is False
    logs.put_log_group_deletion_protection(logGroupIdentifier=group, deletionProtectionEnabled=True)
    assert flag() is True
    with pytest.raises(ClientError) as err:
        logs.delete_log_group(logGroupName=group)
    assert _code(err) == "ValidationException"
    assert logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]  # still there
    logs.put_log_group_deletion_protection(logGroupIdentifier=group, deletionProtectionEnabled=False)
    logs.delete_log_group(logGroupName=group)
    assert logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"] == []
    with pytest.raises(ClientError) as err:
        logs.put_log_group_deletion_protection(logGroupIdentifier=group, deletionProtectionEnabled=True)
    assert _code(err) == "ResourceNotFoundException"


def test_a_group_created_again_has_no_index_policy(logs: Any) -> None:
    group = _group(logs)
    logs.put_index_policy(logGroupIdentifier=group, policyDocument=_doc("requestId"))
    logs.delete_log_group(logGroupName=group)
    time.sleep(0.01)  # a new creation time
    logs.create_log_group(logGroupName=group)
    assert logs.describe_index_policies(logGroupIdentifiers=[group])["indexPolicies"] == []
    assert "requestId" not in _indexes(logs, group)


def test_policies_and_protection_survive_a_restart_and_reset_clears_them() -> None:
    with EmulatorServer() as server:
        logs = server.client("logs")
        group = _group(logs)
        logs.put_index_policy(logGroupIdentifier=group, policyDocument=_doc("requestId"))
        now = int(time.time() * 1000)
        _put(logs, group, [(now, json.dumps({"requestId": "r"}))])
        assert _indexes(logs, group)["requestId"]["lastEventTime"] == now
        logs.put_log_group_deletion_protection(logGroupIdentifier=group, deletionProtectionEnabled=True)
        server.stop()
        server.start()
        logs = server.client("logs")
        assert logs.describe_index_policies(logGroupIdentifiers=[group])["indexPolicies"][0]["source"] == "LOG_GROUP"
        assert _indexes(logs, group)["requestId"]["lastEventTime"] == now
        with pytest.raises(ClientError) as err:
            logs.delete_log_group(logGroupName=group)
        assert _code(err) == "ValidationException"
        server.reset(["logs"])
        group2 = _group(logs)
        assert logs.describe_index_policies(logGroupIdentifiers=[group2])["indexPolicies"] == []
        assert "requestId" not in _indexes(logs, group2)


def test_deletion_protection_given_at_creation(mon: Any) -> None:
    logs = mon.client("logs")
    name = f"/protected-at-birth/{uuid.uuid4().hex[:8]}"
    logs.create_log_group(logGroupName=name, deletionProtectionEnabled=True)
    group = logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"][0]
    assert group["deletionProtectionEnabled"] is True
    with pytest.raises(ClientError) as err:
        logs.delete_log_group(logGroupName=name)
    assert err.value.response["Error"]["Code"] == "ValidationException"
    logs.put_log_group_deletion_protection(logGroupIdentifier=name, deletionProtectionEnabled=False)
    logs.delete_log_group(logGroupName=name)
