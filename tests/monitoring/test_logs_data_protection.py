"""CloudWatch Logs data protection policies (log group and account level), masking on reads,
audit findings, and account policies, through the wire.

Each test works in a region of its own: an account-level policy masks every group of its
region, and the package's server is shared."""

from __future__ import annotations

import gzip
import json
import time
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError

from emulator.testing.server import EmulatorServer

from .conftest import wait_for

ARN = "arn:aws:dataprotection::aws:data-identifier/"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
MESSAGES = [
    "login bob@example.com from 10.1.2.3",
    f"aws_secret_access_key={SECRET}",
    "paid with 4111 1111 1111 1111 and cvv: 123",
    "nothing to hide here",
]


def _code(err: pytest.ExceptionInfo[ClientError]) -> str:
    return str(err.value.response["Error"]["Code"])


def policy(names: list[str], findings: str | None = None, deidentify: list[str] | None = None, **extra: Any) -> str:
    dest: dict[str, Any] = {"CloudWatchLogs": {"LogGroup": findings}} if findings else {}
    return json.dumps({
        "Name": "data-protection",
        "Version": "2021-06-01",
        "Statement": [
            {"Sid": "audit", "DataIdentifier": names, "Operation": {"Audit": {"FindingsDestination": dest}}},
            {"Sid": "redact", "DataIdentifier": deidentify if deidentify is not None else names, "Operation": {"Deidentify": {"MaskConfig": {}}}},
        ],
        **extra,
    })


def _group(logs: Any, events: list[str] | None = None) -> str:
    name = f"/dp/{uuid.uuid4().hex[:8]}"
    logs.create_log_group(logGroupName=name)
    logs.create_log_stream(logGroupName=name, logStreamName="s")
    if events:
        now = int(time.time() * 1000)
        logs.put_log_events(logGroupName=name, logStreamName="s", logEvents=[{"timestamp": now, "message": m} for m in events])
    return name


def _read(logs: Any, group: str, **kw: Any) -> list[str]:
    return [e["message"] for e in logs.get_log_events(logGroupName=group, logStreamName="s", startFromHead=True, **kw)["events"]]


def _filtered(logs: Any, group: str, **kw: Any) -> list[str]:
    return [e["message"] for e in logs.filter_log_events(logGroupName=group, **kw)["events"]]


IDENTS = [ARN + "EmailAddress", ARN + "AwsSecretKey", ARN + "CreditCardNumber", ARN + "CreditCardSecurityCode"]


def test_policy_crud_and_masking(mon: EmulatorServer) -> None:
    logs = mon.client("logs", region_name="ap-south-2")
    group = _group(logs, ["before the policy: carol@example.com"])
    doc = policy(IDENTS)
    out = logs.put_data_protection_policy(logGroupIdentifier=group, policyDocument=doc)
    assert out["logGroupIdentifier"] == group and json.loads(out["policyDocument"]) == json.loads(doc) and out["lastUpdatedTime"] > 0
    got = logs.get_data_protection_policy(logGroupIdentifier=group)
    assert json.loads(got["policyDocument"]) == json.loads(doc)
    [described] = logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]
    assert described["dataProtectionStatus"] == "ACTIVATED"
    logs.put_log_events(logGroupName=group, logStreamName="s", logEvents=[{"timestamp": int(time.time() * 1000), "message": m} for m in MESSAGES])

    masked = _read(logs, group)
    # events ingested before the policy are not masked (the guide); those after are
    assert masked[0] == "before the policy: carol@example.com"
    assert masked[1] == "login *************** from 10.1.2.3"  # IpAddress is not in the policy
    assert masked[2] == "aws_secret_access_key=" + "*" * 40
    assert masked[3] == "paid with ******************* and cvv: ***"
    assert masked[4] == "nothing to hide here"
    assert _read(logs, group, unmask=True) == ["before the policy: carol@example.com", *MESSAGES]
    assert _filtered(logs, group) == masked
    assert _filtered(logs, group, unmask=True) == _read(logs, group, unmask=True)
    # a filter pattern sees the masked text: searching for the secret finds nothing unless unmasked
    assert _filtered(logs, group, filterPattern='"bob@example.com"') == []
    assert _filtered(logs, group, filterPattern='"bob@example.com"', unmask=True) == [MESSAGES[0]]
    # by ARN too
    arn = described["logGroupArn"]
    assert logs.get_data_protection_policy(logGroupIdentifier=arn)["policyDocument"]

    logs.delete_data_protection_policy(logGroupIdentifier=group)
    assert "policyDocument" not in logs.get_data_protection_policy(logGroupIdentifier=group)
    assert _read(logs, group) == ["before the policy: carol@example.com", *MESSAGES]
    with pytest.raises(ClientError) as err:
        logs.delete_data_protection_policy(logGroupIdentifier=group)
    assert _code(err) == "ResourceNotFoundException"
    with pytest.raises(ClientError) as err:
        logs.put_data_protection_policy(logGroupIdentifier="/dp/missing", policyDocument=doc)
    assert _code(err) == "ResourceNotFoundException"


def test_insights_results_are_masked(mon: EmulatorServer) -> None:
    logs = mon.client("logs", region_name="ap-south-2")
    group = _group(logs)
    logs.put_data_protection_policy(logGroupIdentifier=group, policyDocument=policy([ARN + "EmailAddress", ARN + "Ssn-US"]))
    now = int(time.time() * 1000)
    logs.put_log_events(logGroupName=group, logStreamName="s", logEvents=[{"timestamp": now, "message": "user eve@example.org ssn 123-45-6789"}])
    qid = logs.start_query(logGroupName=group, startTime=now // 1000 - 60, endTime=now // 1000 + 60, queryString="fields @message")["queryId"]
    res = wait_for(lambda: (r := logs.get_query_results(queryId=qid))["status"] == "Complete" and r)
    assert res, "query did not complete"
    [row] = res["results"]
    fields = {f["field"]: f["value"] for f in row}
    assert fields["@message"] == "user *************** ssn ***********"
    qid = logs.start_query(logGroupName=group, startTime=now // 1000 - 60, endTime=now // 1000 + 60, queryString="fields @message, unmask(@message) as original")["queryId"]
    res = wait_for(lambda: (r := logs.get_query_results(queryId=qid))["status"] == "Complete" and r)
    [row] = res["results"]
    got = {f["field"]: f["value"] for f in row}
    assert got["@message"] == "user *************** ssn ***********" and got["original"] == "user eve@example.org ssn 123-45-6789"
    # GetLogRecord masks too, and shows the original with unmask
    assert logs.get_log_record(logRecordPointer=fields["@ptr"])["logRecord"]["@message"] == "user *************** ssn ***********"
    assert logs.get_log_record(logRecordPointer=fields["@ptr"], unmask=True)["logRecord"]["@message"] == "user eve@example.org ssn 123-45-6789"


def test_custom_identifiers_and_other_managed_ones(mon: EmulatorServer) -> None:
    logs = mon.client("logs", region_name="ap-south-2")
    group = _group(logs)
    names = ["EmployeeId", ARN + "IpAddress", ARN + "PhoneNumber-US", ARN + "OpenSshPrivateKey"]
    doc = policy(names, Configuration={"CustomDataIdentifier": [{"Name": "EmployeeId", "Regex": "EmployeeId-\\d{9}"}]})
    logs.put_data_protection_policy(logGroupIdentifier=group, policyDocument=doc)
    key = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----"
    msgs = ["EmployeeId-123456789 called (206) 555-0100 from 192.168.0.7", key, "EmployeeId-12 is too short"]
    logs.put_log_events(logGroupName=group, logStreamName="s", logEvents=[{"timestamp": int(time.time() * 1000), "message": m} for m in msgs])
    got = _read(logs, group)
    assert got[0] == "*" * 20 + " called " + "*" * 14 + " from " + "*" * 11
    assert got[1] == "*" * len(key)
    assert got[2] == msgs[2]


@pytest.mark.parametrize(
    ("doc", "fragment"),
    [
        ("{not json", "not valid JSON"),
        (json.dumps({"Statement": []}), "exactly two statements"),
        (json.dumps({"Statement": [{"DataIdentifier": [ARN + "EmailAddress"], "Operation": {"Audit": {"FindingsDestination": {}}}}] * 2}), "exactly one statement with an Audit"),
        (policy([ARN + "EmailAddress"], deidentify=[ARN + "IpAddress"]), "must match exactly"),
        (policy([ARN + "Nope"]), "unknown data identifier"),
        (policy(["EmployeeId"]), "unknown data identifier"),
        (policy([ARN + "EmailAddress"], Version="2012-10-17"), "Version"),
        (policy([ARN + "EmailAddress"], findings="/dp/no-such-group"), "does not exist"),
        (policy([ARN + "EmailAddress"], Configuration={"CustomDataIdentifier": [{"Name": "Bad", "Regex": "("}]}), "Regex"),
    ],
)
def test_invalid_policies(mon: EmulatorServer, doc: str, fragment: str) -> None:
    logs = mon.client("logs", region_name="ap-south-2")
    group = _group(logs)
    with pytest.raises(ClientError) as err:
        logs.put_data_protection_policy(logGroupIdentifier=group, policyDocument=doc)
    assert _code(err) == "InvalidParameterException"
    assert fragment in err.value.response["Error"]["Message"]
    assert "policyDocument" not in logs.get_data_protection_policy(logGroupIdentifier=group)


def test_deidentify_must_be_an_empty_mask_config_and_firehose_is_refused(mon: EmulatorServer) -> None:
    logs = mon.client("logs", region_name="ap-south-2")
    group = _group(logs)
    doc = json.loads(policy([ARN + "EmailAddress"]))
    doc["Statement"][1]["Operation"]["Deidentify"]["MaskConfig"] = {"x": 1}
    with pytest.raises(ClientError) as err:
        logs.put_data_protection_policy(logGroupIdentifier=group, policyDocument=json.dumps(doc))
    assert _code(err) == "InvalidParameterException" and "MaskConfig" in err.value.response["Error"]["Message"]
    doc = json.loads(policy([ARN + "EmailAddress"]))
    doc["Statement"][0]["Operation"]["Audit"]["FindingsDestination"] = {"Firehose": {"DeliveryStream": "x"}}
    with pytest.raises(ClientError) as err:
        logs.put_data_protection_policy(logGroupIdentifier=group, policyDocument=json.dumps(doc))
    assert _code(err) == "InvalidParameterException" and "Firehose" in err.value.response["Error"]["Message"]


def test_account_policy_applies_to_every_group_and_sends_findings(mon: EmulatorServer) -> None:
    logs = mon.client("logs", region_name="me-central-1")
    findings = _group(logs)
    doc = policy([ARN + "EmailAddress", ARN + "Ssn-US"], findings=findings)
    out = logs.put_account_policy(policyName="acct-dp", policyDocument=doc, policyType="DATA_PROTECTION_POLICY", scope="ALL")
    assert out["accountPolicy"]["policyName"] == "acct-dp" and out["accountPolicy"]["policyType"] == "DATA_PROTECTION_POLICY" and out["accountPolicy"]["scope"] == "ALL"
    try:
        [listed] = logs.describe_account_policies(policyType="DATA_PROTECTION_POLICY")["accountPolicies"]
        assert listed["policyName"] == "acct-dp" and json.loads(listed["policyDocument"]) == json.loads(doc) and listed["accountId"]
        with pytest.raises(ClientError) as err:  # one account-level data protection policy per region
            logs.put_account_policy(policyName="second", policyDocument=doc, policyType="DATA_PROTECTION_POLICY")
        assert _code(err) == "LimitExceededException"
        with pytest.raises(ClientError) as err:
            logs.put_account_policy(policyName="acct-dp", policyDocument=doc, policyType="DATA_PROTECTION_POLICY", selectionCriteria="LogGroupName NOT IN []")
        assert _code(err) == "InvalidParameterException"

        # a group created after the policy, without one of its own
        group = _group(logs, ["mail dan@example.net ssn 123-45-6789"])
        assert _read(logs, group) == ["mail *************** ssn ***********"]
        assert _read(logs, group, unmask=True) == ["mail dan@example.net ssn 123-45-6789"]
        [described] = logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]
        assert described["inheritedProperties"] == ["ACCOUNT_DATA_PROTECTION"]
        # cumulative with the group's own policy
        logs.put_data_protection_policy(logGroupIdentifier=group, policyDocument=policy([ARN + "IpAddress"]))
        logs.put_log_events(logGroupName=group, logStreamName="s", logEvents=[{"timestamp": int(time.time() * 1000), "message": "a@b.io at 10.0.0.1"}])
        assert _read(logs, group)[-1] == "****** at ********"
        # another region is untouched
        other = mon.client("logs", region_name="ap-south-2")
        assert other.describe_account_policies(policyType="DATA_PROTECTION_POLICY")["accountPolicies"] == []

        # findings: one per event with sensitive data, in a stream named after the source group
        def found() -> list[dict[str, Any]]:
            try:
                events = logs.get_log_events(logGroupName=findings, logStreamName=group, startFromHead=True)["events"]
            except ClientError:
                return []
            return [json.loads(e["message"]) for e in events]

        got = wait_for(lambda: len(found()) >= 2 and found(), timeout=15)
        assert got, "no audit findings arrived"
        first = got[0]
        assert first["resourceArn"] == described["logGroupArn"] and first["auditTimestamp"].endswith("Z")
        by_name = {d["name"]: d for d in first["dataIdentifiers"]}
        assert by_name["EmailAddress"]["count"] == 1 and by_name["EmailAddress"]["detections"] == [{"start": 5, "end": 20}]
        assert by_name["Ssn-US"]["detections"] == [{"start": 25, "end": 36}]
        assert [d["name"] for d in got[1]["dataIdentifiers"]] == ["EmailAddress"]  # the IP is the group policy's, which audits nowhere
    finally:
        logs.delete_account_policy(policyName="acct-dp", policyType="DATA_PROTECTION_POLICY")
    assert logs.describe_account_policies(policyType="DATA_PROTECTION_POLICY")["accountPolicies"] == []
    with pytest.raises(ClientError) as err:
        logs.delete_account_policy(policyName="acct-dp", policyType="DATA_PROTECTION_POLICY")
    assert _code(err) == "ResourceNotFoundException"
    assert _read(logs, group) == ["mail dan@example.net ssn 123-45-6789", "a@b.io at ********"]


def test_other_account_policy_types_are_stored(mon: EmulatorServer) -> None:
    logs = mon.client("logs", region_name="il-central-1")
    sub = json.dumps({"DestinationArn": "arn:aws:lambda:il-central-1:123456789012:function:f", "FilterPattern": ""})
    out = logs.put_account_policy(policyName="subs", policyDocument=sub, policyType="SUBSCRIPTION_FILTER_POLICY", selectionCriteria='LogGroupName NOT IN ["/x"]')
    assert out["accountPolicy"]["selectionCriteria"] == 'LogGroupName NOT IN ["/x"]'
    with pytest.raises(ClientError) as err:
        logs.put_account_policy(policyName="subs", policyDocument=json.dumps({"FilterPattern": ""}), policyType="SUBSCRIPTION_FILTER_POLICY")
    assert _code(err) == "InvalidParameterException"
    logs.put_account_policy(policyName="idx", policyDocument=json.dumps({"Fields": ["requestId"]}), policyType="FIELD_INDEX_POLICY")
    assert [p["policyName"] for p in logs.describe_account_policies(policyType="SUBSCRIPTION_FILTER_POLICY")["accountPolicies"]] == ["subs"]
    assert [p["policyName"] for p in logs.describe_account_policies(policyType="FIELD_INDEX_POLICY", policyName="idx")["accountPolicies"]] == ["idx"]
    assert logs.describe_account_policies(policyType="TRANSFORMER_POLICY")["accountPolicies"] == []
    logs.delete_account_policy(policyName="subs", policyType="SUBSCRIPTION_FILTER_POLICY")
    logs.delete_account_policy(policyName="idx", policyType="FIELD_INDEX_POLICY")
    assert logs.describe_account_policies(policyType="FIELD_INDEX_POLICY")["accountPolicies"] == []


def test_policies_survive_a_restart_and_reset_clears_them() -> None:
    with EmulatorServer() as server:
        logs = server.client("logs")
        group = _group(logs)
        logs.put_data_protection_policy(logGroupIdentifier=group, policyDocument=policy([ARN + "EmailAddress"]))
        logs.put_account_policy(policyName="acct", policyDocument=policy([ARN + "Ssn-US"]), policyType="DATA_PROTECTION_POLICY")
        logs.put_log_events(logGroupName=group, logStreamName="s", logEvents=[{"timestamp": int(time.time() * 1000), "message": "x@y.com 123-45-6789"}])
        server.stop()
        server.start()
        logs = server.client("logs")
        assert _read(logs, group) == ["******* ***********"]
        assert "policyDocument" in logs.get_data_protection_policy(logGroupIdentifier=group)
        assert len(logs.describe_account_policies(policyType="DATA_PROTECTION_POLICY")["accountPolicies"]) == 1
        server.reset(["logs"])
        assert logs.describe_account_policies(policyType="DATA_PROTECTION_POLICY")["accountPolicies"] == []
        group2 = _group(logs, ["x@y.com 123-45-6789"])
        assert _read(logs, group2) == ["x@y.com 123-45-6789"]
        assert "policyDocument" not in logs.get_data_protection_policy(logGroupIdentifier=group2)


def test_a_group_created_again_has_no_policy(mon: EmulatorServer) -> None:
    logs = mon.client("logs", region_name="ap-south-2")
    group = _group(logs)
    logs.put_data_protection_policy(logGroupIdentifier=group, policyDocument=policy([ARN + "EmailAddress"]))
    logs.delete_log_group(logGroupName=group)
    time.sleep(0.01)  # a new creation time
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName="s")
    logs.put_log_events(logGroupName=group, logStreamName="s", logEvents=[{"timestamp": int(time.time() * 1000), "message": "z@z.com"}])
    assert _read(logs, group) == ["z@z.com"]
    assert "policyDocument" not in logs.get_data_protection_policy(logGroupIdentifier=group)


def test_unmask_needs_the_unmask_permission(mon: EmulatorServer) -> None:
    logs = mon.client("logs", region_name="ap-south-2")
    group = _group(logs)
    logs.put_data_protection_policy(logGroupIdentifier=group, policyDocument=policy([ARN + "EmailAddress"]))
    logs.put_log_events(logGroupName=group, logStreamName="s", logEvents=[{"timestamp": int(time.time() * 1000), "message": "to ann@example.com"}])
    iam = mon.client("iam")
    user = f"dp-reader-{uuid.uuid4().hex[:6]}"
    iam.create_user(UserName=user)
    read = ["logs:GetLogEvents", "logs:FilterLogEvents", "logs:StartQuery"]
    iam.put_user_policy(UserName=user, PolicyName="read", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": read, "Resource": "*"}]}))
    key = iam.create_access_key(UserName=user)["AccessKey"]
    reader = mon.client("logs", region_name="ap-south-2", aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])
    assert _read(reader, group) == ["to ***************"]
    for call in (lambda: _read(reader, group, unmask=True), lambda: _filtered(reader, group, unmask=True)):
        with pytest.raises(ClientError) as err:
            call()
        assert _code(err) == "AccessDeniedException" and "logs:Unmask" in err.value.response["Error"]["Message"]
    reader.start_query(logGroupName=group, startTime=0, endTime=int(time.time()), queryString="fields @message")
    with pytest.raises(ClientError) as err:
        reader.start_query(logGroupName=group, startTime=0, endTime=int(time.time()), queryString="fields unmask(@message)")
    assert "logs:Unmask" in err.value.response["Error"]["Message"]
    iam.put_user_policy(UserName=user, PolicyName="read", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": [*read, "logs:Unmask"], "Resource": "*"}]}))
    assert _read(reader, group, unmask=True) == ["to ann@example.com"]
    assert reader.start_query(logGroupName=group, startTime=0, endTime=int(time.time()), queryString="fields unmask(@message)")["queryId"]


def test_live_tail_and_exports_show_masked_events(mon: EmulatorServer) -> None:
    # What GetLogEvents masks, the other ways out of the group mask too: a Live Tail session
    # (whose pattern sees the masked text) and an export task's objects.
    from botocore.config import Config

    logs = mon.client("logs", config=Config(retries={"max_attempts": 1, "mode": "standard"}, inject_host_prefix=False))
    group = _group(logs)
    logs.put_data_protection_policy(logGroupIdentifier=group, policyDocument=policy([ARN + "EmailAddress"]))
    stream = logs.start_live_tail(logGroupIdentifiers=[group])["responseStream"]
    try:
        assert "sessionStart" in next(iter(stream))
        now = int(time.time() * 1000)
        logs.put_log_events(logGroupName=group, logStreamName="s", logEvents=[{"timestamp": now, "message": "signup dave@example.com"}])
        results: list[dict[str, Any]] = []
        deadline = time.monotonic() + 10
        for event in stream:
            results.extend(event["sessionUpdate"]["sessionResults"])
            if results or time.monotonic() > deadline:
                break
    finally:
        stream.close()
    assert [r["message"] for r in results] == ["signup " + "*" * len("dave@example.com")]

    s3 = mon.client("s3")
    bucket = f"dp-export-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    task = logs.create_export_task(logGroupName=group, fromTime=now - 1000, to=now + 1000, destination=bucket)["taskId"]
    for _ in range(100):
        status = logs.describe_export_tasks(taskId=task)["exportTasks"][0]["status"]["code"]
        if status == "COMPLETED":
            break
        time.sleep(0.1)
    assert status == "COMPLETED"
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"] if o["Key"].endswith(".gz")]
    text = b"".join(gzip.decompress(s3.get_object(Bucket=bucket, Key=k)["Body"].read()) for k in keys).decode()
    assert "dave@example.com" not in text and "signup " + "*" * len("dave@example.com") in text
