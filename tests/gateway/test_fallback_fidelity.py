"""moto's answers as AWS gives them where an SDK sees the difference
(emulator/gateway/fallback_patches_services.py): EventBridge targets' Input and InputPath,
events' ``account``, PutEvents entries naming a missing bus; Lambda Invoke without Docker, of
InvocationType Event and DryRun; KMS's IncorrectKeyException, EncryptionAlgorithm and
ScheduleKeyDeletion's answer; Secrets Manager's error messages. Through the wire with boto3."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError
from fallback_probe import ACCOUNT, TRUST, client, lambda_zip

from emulator.testing.server import EmulatorServer

pytestmark = pytest.mark.usefixtures("no_unhandled_errors")


def _queue(server: EmulatorServer, name: str) -> tuple[str, str]:
    sqs = client(server, "sqs")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    return url, sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def _bodies(server: EmulatorServer, url: str) -> list[str]:
    return [m["Body"] for m in client(server, "sqs").receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])]


# ------------------------------------------------------------------ EventBridge
def test_event_targets_receive_input_input_path_or_the_whole_event(server: EmulatorServer) -> None:
    events, s = client(server, "events"), uuid.uuid4().hex[:8]
    (u_path, a_path), (u_const, a_const), (u_tr, a_tr), (u_all, a_all) = (_queue(server, f"fid-{k}-{s}") for k in ("path", "const", "tr", "all"))
    events.put_rule(Name=f"r-{s}", EventPattern=json.dumps({"source": [f"fid.{s}"]}))
    events.put_targets(Rule=f"r-{s}", Targets=[
        {"Id": "path", "Arn": a_path, "InputPath": "$.detail"},
        {"Id": "const", "Arn": a_const, "Input": '{"fixed":true}'},
        {"Id": "tr", "Arn": a_tr, "InputTransformer": {"InputPathsMap": {"amt": "$.detail.amount"}, "InputTemplate": '{"total": <amt>}'}},
        {"Id": "all", "Arn": a_all}])
    out = events.put_events(Entries=[{"Source": f"fid.{s}", "DetailType": "T", "Detail": json.dumps({"amount": 7})}])
    assert out["FailedEntryCount"] == 0
    assert [json.loads(b) for b in _bodies(server, u_path)] == [{"amount": 7}]
    assert _bodies(server, u_const) == ['{"fixed":true}']  # the constant, as given
    assert [json.loads(b) for b in _bodies(server, u_tr)] == [{"total": 7}]
    [whole] = [json.loads(b) for b in _bodies(server, u_all)]
    assert whole["account"] == ACCOUNT and whole["source"] == f"fid.{s}" and whole["detail"] == {"amount": 7}
    assert list(whole) == ["version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail"]
    assert whole["id"] == out["Entries"][0]["EventId"]


def test_put_events_entry_of_a_missing_bus_fails_alone(server: EmulatorServer) -> None:
    events, s = client(server, "events"), uuid.uuid4().hex[:8]
    url, arn = _queue(server, f"fid-bus-{s}")
    events.put_rule(Name=f"rb-{s}", EventPattern=json.dumps({"source": [f"bus.{s}"]}))
    events.put_targets(Rule=f"rb-{s}", Targets=[{"Id": "q", "Arn": arn}])
    out = events.put_events(Entries=[
        {"Source": f"bus.{s}", "DetailType": "x", "Detail": "{}"},
        {"EventBusName": f"nope-{s}", "Source": f"bus.{s}", "DetailType": "x", "Detail": "{}"},
        {"Source": f"bus.{s}", "DetailType": "y", "Detail": "{}"}])
    assert out["FailedEntryCount"] == 1
    assert "EventId" in out["Entries"][0] and "EventId" in out["Entries"][2]
    assert out["Entries"][1] == {"ErrorCode": "ResourceNotFoundException", "ErrorMessage": f"Event bus nope-{s} does not exist."}
    assert sorted(json.loads(b)["detail-type"] for b in _bodies(server, url)) == ["x", "y"]


# ------------------------------------------------------------------ Lambda
def test_lambda_invoke_without_docker(server: EmulatorServer) -> None:
    iam, lam = client(server, "iam"), client(server, "lambda")
    name = f"fid-{uuid.uuid4().hex[:8]}"
    role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=TRUST)["Role"]["Arn"]
    lam.create_function(FunctionName=name, Runtime="python3.11", Role=role, Handler="index.handler", Code={"ZipFile": lambda_zip()})
    answer = lam.invoke(FunctionName=name, Payload=b"{}")
    assert answer["StatusCode"] == 200
    payload = answer["Payload"].read()
    if answer.get("FunctionError"):  # no Docker here (else the function ran and answered its event)
        assert answer["FunctionError"] == "Unhandled"
        error = json.loads(payload)
        assert error["errorType"] == "Runtime.DockerUnavailable" and "Docker" in error["errorMessage"], error
    event = lam.invoke(FunctionName=name, InvocationType="Event", Payload=b"{}")
    assert event["StatusCode"] == 202 and "FunctionError" not in event and event["Payload"].read() == b""
    dry = lam.invoke(FunctionName=name, InvocationType="DryRun", Payload=b"{}")
    assert dry["StatusCode"] == 204 and "FunctionError" not in dry and dry["Payload"].read() == b""
    with pytest.raises(ClientError) as caught:
        lam.invoke(FunctionName=f"{name}-missing", InvocationType="DryRun")
    assert caught.value.response["Error"]["Code"] == "ResourceNotFoundException"


# ------------------------------------------------------------------ KMS
def test_kms_answers(server: EmulatorServer) -> None:
    kms = client(server, "kms")
    key, other = (kms.create_key()["KeyMetadata"] for _ in range(2))
    encrypted = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"x")
    assert encrypted["EncryptionAlgorithm"] == "SYMMETRIC_DEFAULT" and encrypted["KeyId"] == key["Arn"]
    decrypted = kms.decrypt(CiphertextBlob=encrypted["CiphertextBlob"], KeyId=key["Arn"])
    assert decrypted["Plaintext"] == b"x" and decrypted["EncryptionAlgorithm"] == "SYMMETRIC_DEFAULT"
    again = kms.re_encrypt(CiphertextBlob=encrypted["CiphertextBlob"], DestinationKeyId=other["KeyId"])
    assert again["SourceEncryptionAlgorithm"] == again["DestinationEncryptionAlgorithm"] == "SYMMETRIC_DEFAULT"
    with pytest.raises(ClientError) as caught:
        kms.decrypt(CiphertextBlob=encrypted["CiphertextBlob"], KeyId=other["KeyId"])
    error = caught.value.response["Error"]
    assert error["Code"] == "IncorrectKeyException"
    assert error["Message"] == "The key ID in the request does not identify a CMK that can perform this operation."
    scheduled = kms.schedule_key_deletion(KeyId=other["KeyId"], PendingWindowInDays=7)
    assert scheduled["KeyId"] == other["Arn"] and scheduled["KeyState"] == "PendingDeletion" and scheduled["PendingWindowInDays"] == 7
    assert kms.cancel_key_deletion(KeyId=other["KeyId"])["KeyId"] == other["Arn"]
    assert kms.schedule_key_deletion(KeyId=other["KeyId"])["PendingWindowInDays"] == 30


# ------------------------------------------------------------------ Secrets Manager
def _message(call: Any) -> tuple[str, str]:
    with pytest.raises(ClientError) as caught:
        call()
    return caught.value.response["Error"]["Code"], caught.value.response["Error"]["Message"]


def test_secretsmanager_messages_are_the_services(server: EmulatorServer) -> None:
    sm, name = client(server, "secretsmanager"), f"fid/{uuid.uuid4().hex[:8]}"
    sm.create_secret(Name=name, SecretString="v")
    assert _message(lambda: sm.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True, RecoveryWindowInDays=7)) == (
        "InvalidParameterException", "You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays.")
    sm.delete_secret(SecretId=name, RecoveryWindowInDays=7)
    # GetSecretValue words it as Terraform's provider matches it ("because it was marked for deletion").
    assert _message(lambda: sm.get_secret_value(SecretId=name)) == (
        "InvalidRequestException", "You can't perform this operation on the secret because it was marked for deletion.")
    assert _message(lambda: sm.delete_secret(SecretId=name)) == (
        "InvalidRequestException", "You tried to perform the operation on a secret that's currently marked deleted.")


# ------------------------------------------------------------------ regions
def test_a_made_up_region_is_refused_not_a_500(server: EmulatorServer) -> None:
    """A well-formed name that is no AWS region: moto serves its services only in AWS's regions;
    the credential's scope is refused (before, moto's backend lookup failed: 500, retried)."""
    one_try = client(server, "sqs").meta.config
    for service, call, code in (("sqs", "list_queues", "InvalidSignatureException"), ("sns", "list_topics", "SignatureDoesNotMatch"),
                                ("ec2", "describe_vpcs", "AuthFailure")):
        with pytest.raises(ClientError) as exc:
            getattr(server.client(service, region_name="xx-fake-1", config=one_try), call)()
        assert exc.value.response["Error"] == {**exc.value.response["Error"], "Code": code, "Message": "Credential should be scoped to a valid region."}
        assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    # A real region that is newer than most lists still works; native services take any well-formed name.
    sqs = client_in(server, "sqs", "mx-central-1")
    url = sqs.create_queue(QueueName="region-probe")["QueueUrl"]
    assert url in sqs.list_queues(QueueNamePrefix="region-probe")["QueueUrls"]
    assert server.client("dynamodb", region_name="xx-fake-1").list_tables()["TableNames"] == []


def client_in(server: EmulatorServer, service: str, region: str) -> Any:
    return server.client(service, region_name=region, config=client(server, service).meta.config)


# ------------------------------------------------------------------ SQS's query protocol
def test_sqs_takes_the_query_protocol_of_older_sdks(server: EmulatorServer) -> None:
    """SQS moved to JSON (botocore's model names only it, with awsQueryCompatible); SDKs older
    than the move (boto3 before 1.34, the Java SDK v1) send Action/Version forms, which SQS
    still takes and answers in XML. They were refused as InvalidAction."""
    import re

    from emulator.testing.raw import FORM, form, signed

    def call(action: str, **params: str) -> Any:
        return signed(server, "POST", "/", service="sqs", headers=FORM, body=form(Action=action, Version="2012-11-05", **params))

    created = call("CreateQueue", QueueName="legacy-query", **{"Attribute.1.Name": "VisibilityTimeout", "Attribute.1.Value": "45"})
    assert created.status == 200, created.body
    found = re.search(rb"<QueueUrl>(.*?)</QueueUrl>", created.body)
    assert found is not None
    url = found.group(1).decode()
    sent = call("SendMessage", QueueUrl=url, MessageBody="hello", **{"MessageAttribute.1.Name": "k", "MessageAttribute.1.Value.DataType": "String",
                                                                     "MessageAttribute.1.Value.StringValue": "v"})
    assert sent.status == 200 and b"<MD5OfMessageAttributes>" in sent.body, sent.body
    # The same queue through today's JSON protocol.
    got = client(server, "sqs").receive_message(QueueUrl=url, MessageAttributeNames=["All"])["Messages"][0]
    assert got["Body"] == "hello" and got["MessageAttributes"]["k"]["StringValue"] == "v"
    attrs = call("GetQueueAttributes", QueueUrl=url, **{"AttributeName.1": "VisibilityTimeout"})
    assert b"<Name>VisibilityTimeout</Name><Value>45</Value>" in attrs.body, attrs.body
    unknown = call("NoSuchAction")
    assert unknown.status == 400 and b"<Code>InvalidAction</Code>" in unknown.body
