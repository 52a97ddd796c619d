"""Least-privilege policies on the services moto serves: each call is authorized on the resource
ARNs the Service Authorization Reference lists (emulator/gateway/authorize_services.py), so an
Allow or an explicit Deny on a queue, topic, secret, key, function, parameter, stream, rule or
state machine applies, on the wire, through boto3."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

from security_helpers import Users, error_code, error_of

from emulator.testing.server import EmulatorServer

ACCOUNT = "000000000000"
REGION = "us-east-1"
DENIED = {"AccessDeniedException", "AccessDenied"}


def _allow(actions: str | list[str], resource: str | list[str]) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": actions, "Resource": resource}


def _deny(actions: str | list[str], resource: str | list[str]) -> dict[str, Any]:
    return {"Effect": "Deny", "Action": actions, "Resource": resource}


def _refused(call: Any, action: str, resource: str) -> str:
    """The call is refused for ``action`` on ``resource`` (named in AWS's message)."""
    error = error_of(call)
    assert error["Code"] in DENIED, error
    assert f"{action} on resource: {resource}" in error["Message"], error["Message"]
    return str(error["Message"])


# ------------------------------------------------------------------ SQS
def test_sqs_queue_scoped_policy(sec_server: EmulatorServer, users: Users) -> None:
    root = sec_server.client("sqs")
    mine = root.create_queue(QueueName="svc-res-mine")["QueueUrl"]
    other = root.create_queue(QueueName="svc-res-other")["QueueUrl"]
    arn = f"arn:aws:sqs:{REGION}:{ACCOUNT}:svc-res-mine"
    users.create("svc-sqs", _allow(["sqs:SendMessage", "sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueUrl"], arn))
    sqs = users.client("svc-sqs", "sqs")
    assert sqs.get_queue_url(QueueName="svc-res-mine")["QueueUrl"] == mine
    sqs.send_message(QueueUrl=mine, MessageBody="one")
    # SendMessageBatch is authorized as sqs:SendMessage (SQS Developer Guide).
    sqs.send_message_batch(QueueUrl=mine, Entries=[{"Id": "a", "MessageBody": "two"}])
    messages = sqs.receive_message(QueueUrl=mine, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
    assert messages
    sqs.delete_message_batch(QueueUrl=mine, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)])
    _refused(lambda: sqs.send_message(QueueUrl=other, MessageBody="x"), "sqs:SendMessage", f"arn:aws:sqs:{REGION}:{ACCOUNT}:svc-res-other")
    _refused(lambda: sqs.get_queue_url(QueueName="svc-res-other"), "sqs:GetQueueUrl", f"arn:aws:sqs:{REGION}:{ACCOUNT}:svc-res-other")
    _refused(lambda: sqs.list_queues(), "sqs:ListQueues", "*")
    _refused(lambda: sqs.delete_queue(QueueUrl=mine), "sqs:DeleteQueue", arn)
    # A queue that does not exist is still moto's error for a caller allowed on it.
    users.create("svc-sqs-all", _allow("sqs:*", f"arn:aws:sqs:{REGION}:{ACCOUNT}:svc-res-*"))
    missing = mine.rsplit("/", 1)[0] + "/svc-res-missing"
    assert error_code(lambda: users.client("svc-sqs-all", "sqs").send_message(QueueUrl=missing, MessageBody="x")) == "AWS.SimpleQueueService.NonExistentQueue"


def test_explicit_deny_on_a_queue_and_a_secret(sec_server: EmulatorServer, users: Users) -> None:
    """The QA repro: Allow sqs:* and secretsmanager:* on *, Deny DeleteQueue on one queue's ARN
    and GetSecretValue on a secret's (``secret:NAME-*``, its suffix): both Denies apply."""
    prod = sec_server.client("sqs").create_queue(QueueName="svc-res-prod")["QueueUrl"]
    sm = sec_server.client("secretsmanager")
    secret = sm.create_secret(Name="svc-res-prod-secret", SecretString="topsecret")["ARN"]
    sm.create_secret(Name="svc-res-dev-secret", SecretString="dev")
    users.create(
        "svc-denyer",
        _allow(["sqs:*", "secretsmanager:*"], "*"),
        _deny("sqs:DeleteQueue", f"arn:aws:sqs:{REGION}:{ACCOUNT}:svc-res-prod"),
        _deny("secretsmanager:GetSecretValue", f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:svc-res-prod-secret-??????"),
    )
    denyer_sm = users.client("svc-denyer", "secretsmanager")
    partial = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:svc-res-prod-secret"
    for secret_id in ("svc-res-prod-secret", partial, secret):  # a name, a partial ARN, the full ARN
        message = _refused(lambda secret_id=secret_id: denyer_sm.get_secret_value(SecretId=secret_id), "secretsmanager:GetSecretValue", secret)
        assert message.endswith("with an explicit deny in an identity-based policy")
    assert denyer_sm.get_secret_value(SecretId="svc-res-dev-secret")["SecretString"] == "dev"
    assert denyer_sm.describe_secret(SecretId="svc-res-prod-secret")["ARN"] == secret
    assert error_code(lambda: denyer_sm.get_secret_value(SecretId="svc-res-missing")) == "ResourceNotFoundException"
    _refused(lambda: users.client("svc-denyer", "sqs").delete_queue(QueueUrl=prod), "sqs:DeleteQueue", f"arn:aws:sqs:{REGION}:{ACCOUNT}:svc-res-prod")
    assert sec_server.client("sqs").get_queue_url(QueueName="svc-res-prod")["QueueUrl"] == prod


def test_secret_scoped_policy_and_batch(sec_server: EmulatorServer, users: Users) -> None:
    sm = sec_server.client("secretsmanager")
    app = sm.create_secret(Name="svc-res-app/db", SecretString="db")["ARN"]
    sm.create_secret(Name="svc-res-other/db", SecretString="other")
    users.create("svc-secrets", _allow(["secretsmanager:GetSecretValue", "secretsmanager:CreateSecret"], f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:svc-res-app/*"),
                 _allow("secretsmanager:BatchGetSecretValue", "*"))
    client = users.client("svc-secrets", "secretsmanager")
    assert client.get_secret_value(SecretId="svc-res-app/db")["SecretString"] == "db"
    _refused(lambda: client.get_secret_value(SecretId="svc-res-other/db"), "secretsmanager:GetSecretValue", f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:svc-res-other/db-")
    # BatchGetSecretValue needs GetSecretValue on each secret too (its API reference).
    assert [v["ARN"] for v in client.batch_get_secret_value(SecretIdList=["svc-res-app/db"])["SecretValues"]] == [app]
    _refused(lambda: client.batch_get_secret_value(SecretIdList=["svc-res-app/db", "svc-res-other/db"]), "secretsmanager:GetSecretValue",
             f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:svc-res-other/db-")
    # CreateSecret: the new secret's ARN without its suffix.
    client.create_secret(Name="svc-res-app/new", SecretString="n")
    _refused(lambda: client.create_secret(Name="svc-res-other/new", SecretString="n"), "secretsmanager:CreateSecret",
             f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:svc-res-other/new ")


# ------------------------------------------------------------------ SNS
def test_sns_topic_scoped_policy(sec_server: EmulatorServer, users: Users) -> None:
    sns = sec_server.client("sns")
    topic = sns.create_topic(Name="svc-res-topic")["TopicArn"]
    other = sns.create_topic(Name="svc-res-topic2")["TopicArn"]
    subscription = sns.subscribe(TopicArn=other, Protocol="sqs", Endpoint=f"arn:aws:sqs:{REGION}:{ACCOUNT}:svc-res-mine")["SubscriptionArn"]
    users.create("svc-sns", _allow(["sns:Publish", "sns:GetTopicAttributes", "sns:CreateTopic"], f"arn:aws:sns:{REGION}:{ACCOUNT}:svc-res-topic"))
    client = users.client("svc-sns", "sns")
    client.publish(TopicArn=topic, Message="m")
    assert client.get_topic_attributes(TopicArn=topic)["Attributes"]["TopicArn"] == topic
    assert client.create_topic(Name="svc-res-topic")["TopicArn"] == topic
    _refused(lambda: client.publish(TopicArn=other, Message="m"), "sns:Publish", other)
    _refused(lambda: client.create_topic(Name="svc-res-topic3"), "sns:CreateTopic", f"arn:aws:sns:{REGION}:{ACCOUNT}:svc-res-topic3")
    # A subscription's operations act on its topic.
    _refused(lambda: client.unsubscribe(SubscriptionArn=subscription), "sns:Unsubscribe", other)
    assert error_code(lambda: client.list_topics()) in DENIED


# ------------------------------------------------------------------ KMS
def test_kms_key_scoped_policy_through_aliases(sec_server: EmulatorServer, users: Users) -> None:
    kms = sec_server.client("kms")
    key = kms.create_key()["KeyMetadata"]
    other = kms.create_key()["KeyMetadata"]
    kms.create_alias(AliasName="alias/svc-res-key", TargetKeyId=key["KeyId"])
    kms.create_alias(AliasName="alias/svc-res-other", TargetKeyId=other["KeyId"])
    users.create("svc-kms", _allow(["kms:Encrypt", "kms:Decrypt", "kms:DescribeKey"], key["Arn"]))
    client = users.client("svc-kms", "kms")
    for key_id in (key["KeyId"], key["Arn"], "alias/svc-res-key", f"arn:aws:kms:{REGION}:{ACCOUNT}:alias/svc-res-key"):
        blob = client.encrypt(KeyId=key_id, Plaintext=b"secret")["CiphertextBlob"]
    # Decrypt without KeyId: the key the ciphertext was made under.
    assert client.decrypt(CiphertextBlob=blob)["Plaintext"] == b"secret"
    assert client.describe_key(KeyId="alias/svc-res-key")["KeyMetadata"]["Arn"] == key["Arn"]
    _refused(lambda: client.encrypt(KeyId="alias/svc-res-other", Plaintext=b"x"), "kms:Encrypt", other["Arn"])
    _refused(lambda: client.describe_key(KeyId=other["KeyId"]), "kms:DescribeKey", other["Arn"])
    other_blob = kms.encrypt(KeyId=other["KeyId"], Plaintext=b"x")["CiphertextBlob"]
    _refused(lambda: client.decrypt(CiphertextBlob=other_blob), "kms:Decrypt", other["Arn"])
    # An alias moved to another key is that key's from then on.
    kms.update_alias(AliasName="alias/svc-res-other", TargetKeyId=key["KeyId"])
    client.encrypt(KeyId="alias/svc-res-other", Plaintext=b"x")
    # ReEncrypt is kms:ReEncryptFrom on its source and kms:ReEncryptTo on its destination.
    _refused(lambda: client.re_encrypt(CiphertextBlob=blob, DestinationKeyId=key["KeyId"]), "kms:ReEncryptFrom", key["Arn"])
    users.create("svc-kms-all", _allow("kms:*", f"arn:aws:kms:{REGION}:{ACCOUNT}:key/*"))
    assert error_code(lambda: users.client("svc-kms-all", "kms").describe_key(KeyId="11111111-2222-3333-4444-555555555555")) == "NotFoundException"


# ------------------------------------------------------------------ Lambda
def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("index.py", "def handler(event, context):\n    return event\n")
    return buffer.getvalue()


def test_lambda_function_scoped_policy(sec_server: EmulatorServer, users: Users) -> None:
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
    role = sec_server.client("iam").create_role(RoleName="svc-res-fn-role", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    lam = sec_server.client("lambda")
    for name in ("svc-res-fn", "svc-res-fn2"):
        lam.create_function(FunctionName=name, Runtime="python3.12", Role=role, Handler="index.handler", Code={"ZipFile": _zip()})
    arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:svc-res-fn"
    users.create("svc-lambda", _allow(["lambda:GetFunction", "lambda:GetFunctionConfiguration"], [arn, f"{arn}:*"]))
    client = users.client("svc-lambda", "lambda")
    assert client.get_function(FunctionName="svc-res-fn")["Configuration"]["FunctionArn"].startswith(arn)
    client.get_function_configuration(FunctionName=arn)
    _refused(lambda: client.get_function(FunctionName="svc-res-fn2"), "lambda:GetFunction", f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:svc-res-fn2")
    # Invoke is lambda:InvokeFunction, on the qualified ARN when a qualifier is given.
    _refused(lambda: client.invoke(FunctionName="svc-res-fn", Qualifier="$LATEST"), "lambda:InvokeFunction", f"{arn}:$LATEST")
    _refused(lambda: client.list_functions(), "lambda:ListFunctions", "*")


# ------------------------------------------------------------------ SSM, Kinesis, EventBridge, Step Functions
def test_ssm_parameter_scoped_policy(sec_server: EmulatorServer, users: Users) -> None:
    ssm = sec_server.client("ssm")
    ssm.put_parameter(Name="/svc-res/app/db", Value="a", Type="String")
    ssm.put_parameter(Name="/svc-res/other/db", Value="b", Type="String")
    ssm.put_parameter(Name="svc-res-plain", Value="c", Type="String")
    users.create("svc-ssm", _allow(["ssm:GetParameter", "ssm:GetParameters", "ssm:GetParametersByPath"],
                                   [f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/svc-res/app/*", f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/svc-res/app",
                                    f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/svc-res-plain"]))
    client = users.client("svc-ssm", "ssm")
    assert client.get_parameter(Name="/svc-res/app/db")["Parameter"]["Value"] == "a"
    assert client.get_parameter(Name="svc-res-plain")["Parameter"]["Value"] == "c"
    assert client.get_parameters(Names=["/svc-res/app/db"])["Parameters"][0]["Value"] == "a"
    assert [p["Name"] for p in client.get_parameters_by_path(Path="/svc-res/app")["Parameters"]] == ["/svc-res/app/db"]
    _refused(lambda: client.get_parameter(Name="/svc-res/other/db"), "ssm:GetParameter", f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/svc-res/other/db")
    _refused(lambda: client.get_parameters(Names=["/svc-res/app/db", "/svc-res/other/db"]), "ssm:GetParameters",
             f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/svc-res/other/db")
    assert error_code(lambda: client.get_parameter(Name="/svc-res/app/missing")) == "ParameterNotFound"


def test_kinesis_stream_scoped_policy(sec_server: EmulatorServer, users: Users) -> None:
    kinesis = sec_server.client("kinesis")
    for name in ("svc-res-stream", "svc-res-stream2"):
        kinesis.create_stream(StreamName=name, ShardCount=1)
    arn = f"arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/svc-res-stream"
    users.create("svc-kinesis", _allow(["kinesis:PutRecord", "kinesis:DescribeStreamSummary", "kinesis:ListShards", "kinesis:GetShardIterator", "kinesis:GetRecords"], arn))
    client = users.client("svc-kinesis", "kinesis")
    client.put_record(StreamName="svc-res-stream", Data=b"x", PartitionKey="k")
    client.put_record(StreamARN=arn, Data=b"x", PartitionKey="k")
    shard = client.list_shards(StreamName="svc-res-stream")["Shards"][0]["ShardId"]
    iterator = client.get_shard_iterator(StreamName="svc-res-stream", ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    assert len(client.get_records(ShardIterator=iterator)["Records"]) == 2  # on the stream its iterator is for
    assert client.describe_stream_summary(StreamName="svc-res-stream")["StreamDescriptionSummary"]["StreamARN"] == arn
    _refused(lambda: client.put_record(StreamName="svc-res-stream2", Data=b"x", PartitionKey="k"), "kinesis:PutRecord",
             f"arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/svc-res-stream2")
    _refused(lambda: client.list_streams(), "kinesis:ListStreams", "*")


def test_eventbridge_bus_and_rule_scoped_policy(sec_server: EmulatorServer, users: Users) -> None:
    events = sec_server.client("events")
    bus = events.create_event_bus(Name="svc-res-bus")["EventBusArn"]
    users.create("svc-events", _allow("events:PutEvents", bus), _allow(["events:PutRule", "events:PutTargets", "events:DescribeRule"],
                                                                       f"arn:aws:events:{REGION}:{ACCOUNT}:rule/svc-res-bus/*"))
    client = users.client("svc-events", "events")
    entry = {"Source": "svc.res", "DetailType": "t", "Detail": "{}"}
    assert client.put_events(Entries=[{**entry, "EventBusName": "svc-res-bus"}])["FailedEntryCount"] == 0
    _refused(lambda: client.put_events(Entries=[entry]), "events:PutEvents", f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/default")
    client.put_rule(Name="svc-res-rule", EventBusName="svc-res-bus", EventPattern=json.dumps({"source": ["svc.res"]}))
    assert client.describe_rule(Name="svc-res-rule", EventBusName=bus)["Arn"] == f"arn:aws:events:{REGION}:{ACCOUNT}:rule/svc-res-bus/svc-res-rule"
    _refused(lambda: client.put_rule(Name="svc-res-rule", EventPattern=json.dumps({"source": ["svc.res"]})), "events:PutRule",
             f"arn:aws:events:{REGION}:{ACCOUNT}:rule/svc-res-rule")


def test_step_functions_state_machine_scoped_policy(sec_server: EmulatorServer, users: Users) -> None:
    sfn = sec_server.client("stepfunctions")
    definition = json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}})
    role = f"arn:aws:iam::{ACCOUNT}:role/svc-res-sfn"
    machine = sfn.create_state_machine(name="svc-res-machine", definition=definition, roleArn=role)["stateMachineArn"]
    other = sfn.create_state_machine(name="svc-res-machine2", definition=definition, roleArn=role)["stateMachineArn"]
    users.create("svc-sfn", _allow(["states:DescribeStateMachine", "states:StartExecution"], machine),
                 _allow("states:DescribeExecution", f"arn:aws:states:{REGION}:{ACCOUNT}:execution:svc-res-machine:*"))
    client = users.client("svc-sfn", "stepfunctions")
    assert client.describe_state_machine(stateMachineArn=machine)["name"] == "svc-res-machine"
    execution = client.start_execution(stateMachineArn=machine)["executionArn"]
    assert client.describe_execution(executionArn=execution)["stateMachineArn"] == machine
    _refused(lambda: client.start_execution(stateMachineArn=other), "states:StartExecution", other)
    _refused(lambda: client.create_state_machine(name="svc-res-new", definition=definition, roleArn=role), "states:CreateStateMachine",
             f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:svc-res-new")


# ------------------------------------------------------------------ as before
def _as_before(client: Any, suffix: str) -> None:
    url = client("sqs").create_queue(QueueName=f"svc-res-as-before-{suffix}")["QueueUrl"]
    client("sqs").send_message(QueueUrl=url, MessageBody="x")
    missing = url.rsplit("/", 1)[0] + "/svc-res-nope"
    assert error_code(lambda: client("sqs").send_message(QueueUrl=missing, MessageBody="x")) == "AWS.SimpleQueueService.NonExistentQueue"
    assert client("sqs").list_queues(QueueNamePrefix=f"svc-res-as-before-{suffix}")["QueueUrls"] == [url]
    secret = client("secretsmanager").create_secret(Name=f"svc-res-as-before-{suffix}", SecretString="s")["ARN"]
    assert client("secretsmanager").get_secret_value(SecretId=secret)["SecretString"] == "s"
    assert error_code(lambda: client("secretsmanager").get_secret_value(SecretId="svc-res-nope")) == "ResourceNotFoundException"
    key = client("kms").create_key()["KeyMetadata"]["KeyId"]
    blob = client("kms").encrypt(KeyId=key, Plaintext=b"p")["CiphertextBlob"]
    assert client("kms").decrypt(CiphertextBlob=blob)["Plaintext"] == b"p"
    assert error_code(lambda: client("kms").encrypt(KeyId="alias/svc-res-nope", Plaintext=b"p")) == "NotFoundException"
    assert error_code(lambda: client("ssm").get_parameter(Name="/svc-res/nope")) == "ParameterNotFound"
    assert error_code(lambda: client("lambda").get_function(FunctionName="svc-res-nope")) == "ResourceNotFoundException"
    assert error_code(lambda: client("kinesis").describe_stream_summary(StreamName="svc-res-nope")) == "ResourceNotFoundException"
    assert error_code(lambda: client("events").describe_rule(Name="svc-res-nope")) == "ResourceNotFoundException"


def test_root_and_allow_all_unchanged(sec_server: EmulatorServer, users: Users) -> None:
    """The root key and a user allowed everything on ``*`` do what they did; a missing resource
    is the service's own error."""
    _as_before(sec_server.client, "root")
    users.create("svc-admin", _allow("*", "*"))
    _as_before(lambda service: users.client("svc-admin", service), "admin")
