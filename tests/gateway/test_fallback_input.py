"""Bad input to the services moto serves gets AWS's error (code, status, message), never a 500,
and the refused call changes nothing (emulator/gateway/fallback_checks.py, fallback_patches.py,
cfn_template.py; S3 bucket policies: s3_policy.check_bucket_policy). Through the wire with
boto3, against real servers; the server log must show no "unhandled error" at all.

``test_the_whole_probe`` runs tests/gateway/fallback_probe.py (some 980 requests of bad input
over S3, SQS, SNS, SSM, Secrets Manager, KMS, EventBridge, Kinesis, Lambda, Step Functions,
Route 53, ECR, CloudFormation, Organizations) against a server of its own; the cases whose AWS
error is known must get it. Definitions, policies and bucket configurations that AWS refuses:
tests/gateway/test_fallback_documents.py."""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable
from typing import Any

import fallback_probe
import pytest
from botocore.exceptions import ClientError
from fallback_probe import ACCOUNT, SFN_TRUST, TRUST, client, lambda_zip

from emulator.testing.server import EmulatorServer

pytestmark = pytest.mark.usefixtures("no_unhandled_errors")




def refused(call: Callable[[], Any], code: str, status: int | None = 400) -> str:
    """Run ``call``: it must fail with ``code`` and ``status`` (None: moto's, not checked here);
    returns the message."""
    with pytest.raises(ClientError) as caught:
        call()
    response = caught.value.response
    assert response["Error"]["Code"] == code, response
    assert status is None or response["ResponseMetadata"]["HTTPStatusCode"] == status, response
    return str(response["Error"].get("Message", ""))


# ------------------------------------------------------------------ the whole sweep
def test_the_whole_probe() -> None:
    with EmulatorServer() as probe_server:
        outcomes = list(fallback_probe.run(probe_server))
        assert len(outcomes) == len(fallback_probe.CASES)
        errors = [f"{o.case.label}: {o.status} {o.code}" for o in outcomes if o.status >= 500]
        assert errors == []
        assert fallback_probe.unhandled(probe_server) == []
        # The cases whose AWS error is known get it (fixed ones stay fixed).
        missed = [f"{o.case.label}: {o.code or o.status}, AWS: {o.case.expected}" for o in outcomes if o.missed]
        assert missed == []


# ------------------------------------------------------------------ S3
POLICY_STATEMENT = {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::{b}/*"}


def _policy(bucket: str, *statements: dict[str, Any], version: str = "2012-10-17") -> str:
    return json.dumps({"Version": version, "Statement": [json.loads(json.dumps(s).replace("{b}", bucket)) for s in statements]})


@pytest.mark.parametrize(("policy", "message"), [
    ("not json", "Policies must be valid JSON and the first byte must be '{'"),
    ("[1]", "Policies must be valid JSON and the first byte must be '{'"),
    ('{"Version": "2012-10-17"}', "Missing required field Statement"),
    ('{"Statement": []}', "Could not parse the policy: Statement is empty!"),
    ({k: v for k, v in POLICY_STATEMENT.items() if k != "Principal"}, "Missing required field Principal"),
    ({**POLICY_STATEMENT, "Resource": "arn:aws:s3:::another-bucket/*"}, "Policy has invalid resource"),
    ({**POLICY_STATEMENT, "Resource": "arn:aws:sqs:us-east-1:000000000000:q"}, "Policy has invalid resource"),
    ({**POLICY_STATEMENT, "Effect": "Maybe"}, "Invalid effect: Maybe"),
    ({**POLICY_STATEMENT, "Action": "sqs:SendMessage"}, "Policy has invalid action"),
    ({**POLICY_STATEMENT, "Principal": {"AWS": "not-a-principal"}}, "Invalid principal in policy"),
    ({**POLICY_STATEMENT, "Principal": {"Bogus": "x"}}, "Invalid principal in policy"),
    ({k: v for k, v in POLICY_STATEMENT.items() if k != "Action"}, "Missing required field Action"),
    ({k: v for k, v in POLICY_STATEMENT.items() if k != "Resource"}, "Missing required field Resource"),
])
def test_put_bucket_policy_refuses_what_s3_refuses(server: EmulatorServer, policy: Any, message: str) -> None:
    s3 = client(server, "s3")
    bucket = "bp-refused"
    s3.create_bucket(Bucket=bucket)
    kept = _policy(bucket, POLICY_STATEMENT)
    s3.put_bucket_policy(Bucket=bucket, Policy=kept)
    text = policy if isinstance(policy, str) else _policy(bucket, policy)
    assert refused(lambda: s3.put_bucket_policy(Bucket=bucket, Policy=text), "MalformedPolicy") == message
    assert s3.get_bucket_policy(Bucket=bucket)["Policy"] == kept  # the refused one changed nothing


def test_put_bucket_policy_stores_nothing_when_refused(server: EmulatorServer) -> None:
    s3 = client(server, "s3")
    s3.create_bucket(Bucket="bp-none")
    refused(lambda: s3.put_bucket_policy(Bucket="bp-none", Policy="not json"), "MalformedPolicy")
    refused(lambda: s3.get_bucket_policy(Bucket="bp-none"), "NoSuchBucketPolicy", 404)
    # A bucket that does not exist is S3's NoSuchBucket first, whatever the policy.
    refused(lambda: s3.put_bucket_policy(Bucket="bp-no-such-bucket", Policy="not json"), "NoSuchBucket", 404)


def test_put_bucket_policy_accepts_what_s3_accepts(server: EmulatorServer) -> None:
    s3 = client(server, "s3")
    bucket = "bp-accepted"
    s3.create_bucket(Bucket=bucket)
    valid = [
        _policy(bucket, POLICY_STATEMENT),
        _policy(bucket, POLICY_STATEMENT, version="2008-10-17"),
        _policy(bucket, {"Sid": "OAI", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::cloudfront:user/CloudFront Origin Access Identity E2QWRUHAPOMQZL"},
                         "Action": ["s3:GetObject"], "Resource": ["arn:aws:s3:::{b}/*"]}),
        _policy(bucket, {"Effect": "Allow", "Principal": {"Service": "logging.s3.amazonaws.com"}, "Action": "s3:PutObject", "Resource": "arn:aws:s3:::{b}/logs/*",
                         "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}, "ArnLike": {"aws:SourceArn": "arn:aws:s3:::*"}}}),
        _policy(bucket, {"Effect": "Deny", "NotPrincipal": {"AWS": [ACCOUNT, f"arn:aws:iam::{ACCOUNT}:root"]}, "NotAction": "s3:Get*",
                         "Resource": ["arn:aws:s3:::{b}", "arn:aws:s3:::{b}/*"]}),
        _policy(bucket, {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "arn:aws:s3:::bp-*/*",
                         "Condition": {"Bool": {"aws:SecureTransport": "false"}}}),
        _policy(bucket, {"Effect": "Allow", "Principal": {"CanonicalUser": "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"},
                         "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::{b}"}),
    ]
    for text in valid:
        s3.put_bucket_policy(Bucket=bucket, Policy=text)
        assert s3.get_bucket_policy(Bucket=bucket)["Policy"] == text


def test_s3_invalid_canned_acl(server: EmulatorServer) -> None:
    s3 = client(server, "s3")
    s3.create_bucket(Bucket="acl-bucket")
    refused(lambda: s3.put_object(Bucket="acl-bucket", Key="k", Body=b"x", ACL="bogus"), "InvalidArgument")  # type: ignore[arg-type]
    refused(lambda: s3.head_object(Bucket="acl-bucket", Key="k"), "404", 404)  # not stored
    s3.put_object(Bucket="acl-bucket", Key="k", Body=b"x", ACL="public-read")
    refused(lambda: s3.put_object_acl(Bucket="acl-bucket", Key="k", ACL="bogus"), "InvalidArgument")  # type: ignore[arg-type]
    refused(lambda: s3.put_bucket_acl(Bucket="acl-bucket", ACL="bogus"), "InvalidArgument")  # type: ignore[arg-type]
    grants = s3.get_object_acl(Bucket="acl-bucket", Key="k")["Grants"]
    assert any(g["Grantee"].get("URI", "").endswith("/AllUsers") for g in grants)  # public-read kept


def test_s3_listings_and_copies(server: EmulatorServer) -> None:
    s3 = client(server, "s3")
    s3.create_bucket(Bucket="list-bucket")
    for key in ("a", "b", "c"):
        s3.put_object(Bucket="list-bucket", Key=key, Body=b"x")
    assert refused(lambda: s3.list_objects_v2(Bucket="list-bucket", MaxKeys=-1), "InvalidArgument") == "Provided max-keys not an integer or within integer range"
    refused(lambda: s3.list_objects(Bucket="list-bucket", MaxKeys=-5), "InvalidArgument")
    assert refused(lambda: s3.list_objects_v2(Bucket="list-bucket", ContinuationToken="garbage"), "InvalidArgument") == "The continuation token provided is incorrect"
    page = s3.list_objects_v2(Bucket="list-bucket", MaxKeys=2)  # a token it handed out still works
    assert [o["Key"] for o in s3.list_objects_v2(Bucket="list-bucket", ContinuationToken=page["NextContinuationToken"])["Contents"]] == ["c"]
    assert refused(lambda: s3.copy_object(Bucket="list-bucket", Key="copy", CopySource="no-slash"), "InvalidArgument") == "Invalid copy source object key"
    assert sorted(o["Key"] for o in s3.list_objects_v2(Bucket="list-bucket")["Contents"]) == ["a", "b", "c"]


def test_s3_multipart_upload_that_does_not_exist(server: EmulatorServer) -> None:
    s3 = client(server, "s3")
    s3.create_bucket(Bucket="mp-bucket")
    refused(lambda: s3.upload_part(Bucket="mp-bucket", Key="k", UploadId="garbage", PartNumber=1, Body=b"x"), "NoSuchUpload", 404)
    refused(lambda: s3.complete_multipart_upload(Bucket="mp-bucket", Key="k", UploadId="garbage",
                                                 MultipartUpload={"Parts": [{"ETag": "x", "PartNumber": 1}]}), "NoSuchUpload", 404)
    assert "Contents" not in s3.list_objects_v2(Bucket="mp-bucket")


def test_s3_notification_filter_rule_name(server: EmulatorServer) -> None:
    s3, sqs = client(server, "s3"), client(server, "sqs")
    s3.create_bucket(Bucket="notify-bucket")
    queue = sqs.create_queue(QueueName="notify-queue")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    config = {"QueueConfigurations": [{"QueueArn": arn, "Events": ["s3:ObjectCreated:*"], "Filter": {"Key": {"FilterRules": [{"Name": "bogus", "Value": "x"}]}}}]}
    message = refused(lambda: s3.put_bucket_notification_configuration(Bucket="notify-bucket", NotificationConfiguration=config), "InvalidArgument")
    assert message == "filter rule name must be either prefix or suffix"
    assert "QueueConfigurations" not in s3.get_bucket_notification_configuration(Bucket="notify-bucket")


# ------------------------------------------------------------------ SQS
def test_sqs_attributes(server: EmulatorServer) -> None:
    sqs = client(server, "sqs")
    queue = sqs.create_queue(QueueName="attr-queue", Attributes={"VisibilityTimeout": "45"})["QueueUrl"]

    def attributes() -> dict[str, str]:
        return dict(sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["All"])["Attributes"])

    before = attributes()
    for name, value in [("Policy", "not json"), ("Policy", "[1]"), ("VisibilityTimeout", "abc"), ("VisibilityTimeout", "43201"),
                        ("MessageRetentionPeriod", "x"), ("MaximumMessageSize", "10"), ("DelaySeconds", "901"),
                        ("ReceiveMessageWaitTimeSeconds", "21"), ("KmsDataKeyReusePeriodSeconds", "abc"), ("SqsManagedSseEnabled", "maybe")]:
        message = refused(functools.partial(sqs.set_queue_attributes, QueueUrl=queue, Attributes={name: value}), "InvalidAttributeValue")
        assert message == f"Invalid value for the parameter {name}."
    message = refused(lambda: sqs.set_queue_attributes(QueueUrl=queue, Attributes={"RedrivePolicy": "not json"}), "InvalidParameterValue")
    assert message == "Value not json for parameter RedrivePolicy is invalid. Reason: Redrive policy is not a valid JSON map."
    redrive = json.dumps({"deadLetterTargetArn": f"arn:aws:sqs:us-east-1:{ACCOUNT}:attr-queue", "maxReceiveCount": "x"})
    assert "Invalid value for maxReceiveCount: x" in refused(lambda: sqs.set_queue_attributes(QueueUrl=queue, Attributes={"RedrivePolicy": redrive}), "InvalidParameterValue")
    refused(lambda: sqs.set_queue_attributes(QueueUrl=queue, Attributes={"RedriveAllowPolicy": "not json"}), "InvalidParameterValue")
    # A queue's type is fixed at creation.
    assert refused(lambda: sqs.set_queue_attributes(QueueUrl=queue, Attributes={"FifoQueue": "true"}), "InvalidAttributeName") == "Unknown Attribute FifoQueue."
    refused(lambda: sqs.set_queue_attributes(QueueUrl=queue, Attributes={"ContentBasedDeduplication": "true"}), "InvalidAttributeName")
    assert attributes() == before
    sqs.send_message(QueueUrl=queue, MessageBody="still standard", DelaySeconds=0)
    # Valid values pass.
    sqs.set_queue_attributes(QueueUrl=queue, Attributes={"VisibilityTimeout": "0", "MaximumMessageSize": "1048576", "Policy": "", "RedrivePolicy": ""})
    assert attributes()["VisibilityTimeout"] == "0"


def test_sqs_create_queue_refused_creates_nothing(server: EmulatorServer) -> None:
    sqs = client(server, "sqs")
    refused(lambda: sqs.create_queue(QueueName="never-queue", Attributes={"Policy": "not json"}), "InvalidAttributeValue")
    refused(lambda: sqs.create_queue(QueueName="never-queue", Attributes={"VisibilityTimeout": "abc"}), "InvalidAttributeValue")
    refused(lambda: sqs.create_queue(QueueName="never-queue.fifo", Attributes={"FifoQueue": "maybe"}), "InvalidAttributeValue")
    refused(lambda: sqs.get_queue_url(QueueName="never-queue"), "AWS.SimpleQueueService.NonExistentQueue")


def test_sqs_receive_message_system_attribute_names(server: EmulatorServer) -> None:
    """ReceiveMessage's AttributeNames takes the message system attributes (SentTimestamp,
    MessageGroupId...), as SQS's documentation and the AWS CLI's `--attribute-names` use it,
    though botocore types it QueueAttributeName; a name that is neither is still refused."""
    sqs = client(server, "sqs")
    queue = sqs.create_queue(QueueName="sysattr-queue.fifo", Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"})["QueueUrl"]
    sqs.send_message(QueueUrl=queue, MessageBody="m", MessageGroupId="g1")
    received = sqs.receive_message(QueueUrl=queue, AttributeNames=["SentTimestamp", "MessageGroupId"], WaitTimeSeconds=1)["Messages"]
    assert set(received[0]["Attributes"]) == {"SentTimestamp", "MessageGroupId"}
    assert received[0]["Attributes"]["MessageGroupId"] == "g1"
    message = refused(lambda: sqs.receive_message(QueueUrl=queue, AttributeNames=["Bogus"]), "InvalidParameterValue")
    assert "Value 'Bogus' at 'attributeNames.1.member' failed to satisfy constraint" in message
    message = refused(lambda: sqs.change_message_visibility_batch(QueueUrl=queue, Entries=[]), "AWS.SimpleQueueService.EmptyBatchRequest")
    assert message == "There should be at least one ChangeMessageVisibilityBatchRequestEntry in the request."


# ------------------------------------------------------------------ SNS
def test_sns(server: EmulatorServer) -> None:
    sns, sqs = client(server, "sns"), client(server, "sqs")
    assert refused(lambda: sns.create_topic(Name="never-topic", Attributes={"Policy": "not json"}), "InvalidParameter").startswith("Invalid parameter: Policy Error")
    assert all(not t["TopicArn"].endswith(":never-topic") for t in sns.list_topics()["Topics"])
    topic = sns.create_topic(Name="sns-topic")["TopicArn"]
    policy = sns.get_topic_attributes(TopicArn=topic)["Attributes"]["Policy"]
    refused(lambda: sns.set_topic_attributes(TopicArn=topic, AttributeName="Policy", AttributeValue="not json"), "InvalidParameter")
    assert sns.get_topic_attributes(TopicArn=topic)["Attributes"]["Policy"] == policy
    for call in (lambda: sns.get_topic_attributes(TopicArn="garbage"), lambda: sns.delete_topic(TopicArn="garbage"),
                 lambda: sns.set_topic_attributes(TopicArn="garbage", AttributeName="DisplayName", AttributeValue="x")):
        assert refused(call, "InvalidParameter") == "Invalid parameter: TopicArn"
    queue = sqs.create_queue(QueueName="sns-queue")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    refused(lambda: sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn, Attributes={"FilterPolicy": "not json"}), "InvalidParameter")
    refused(lambda: sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn, Attributes={"FilterPolicy": '{"a": "b"}'}), "InvalidParameter")
    refused(lambda: sns.subscribe(TopicArn=topic, Protocol="bogus", Endpoint="x"), "InvalidParameter")
    refused(lambda: sns.subscribe(TopicArn=topic, Protocol="http", Endpoint="not a url"), "InvalidParameter")
    assert sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"] == []  # none half-made
    subscription = sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn, Attributes={"FilterPolicy": '{"a": ["b"]}'})["SubscriptionArn"]
    refused(lambda: sns.set_subscription_attributes(SubscriptionArn=subscription, AttributeName="FilterPolicy", AttributeValue="[1]"), "InvalidParameter")
    assert sns.get_subscription_attributes(SubscriptionArn=subscription)["Attributes"]["FilterPolicy"] == '{"a": ["b"]}'
    message = refused(lambda: sns.publish(Message="x"), "InvalidParameter")
    assert message == "Invalid parameter: TopicArn or TargetArn Reason: no value for required parameter"
    refused(lambda: sns.publish(TargetArn="garbage", Message="x"), "InvalidParameter")
    assert refused(lambda: sns.list_topics(NextToken="garbage"), "InvalidParameter") == "Invalid parameter: NextToken"
    sns.publish(TopicArn=topic, Message="x", MessageAttributes={"a": {"DataType": "String", "StringValue": "b"}})
    # DefaultSMSType is Promotional or Transactional; a refused one leaves the attributes as they were.
    sns.set_sms_attributes(attributes={"DefaultSMSType": "Transactional"})
    refused(lambda: sns.set_sms_attributes(attributes={"DefaultSMSType": "Bogus"}), "InvalidParameter")
    assert sns.get_sms_attributes(attributes=["DefaultSMSType"])["attributes"]["DefaultSMSType"] == "Transactional"


# ------------------------------------------------------------------ SSM, Secrets Manager, KMS
def test_ssm(server: EmulatorServer) -> None:
    ssm = client(server, "ssm")
    for call in (lambda: ssm.describe_parameters(NextToken="garbage"), lambda: ssm.get_parameters_by_path(Path="/", NextToken="garbage")):
        assert refused(call, "InvalidNextToken") == "The specified token is not valid."
    refused(lambda: ssm.create_document(Name="never-doc", Content="[1]", DocumentType="Command"), "InvalidDocumentContent")
    refused(lambda: ssm.describe_document(Name="never-doc"), "InvalidDocument")


def test_secretsmanager(server: EmulatorServer) -> None:
    sm = client(server, "secretsmanager")
    refused(lambda: sm.create_secret(Name="never-secret", SecretString="s", AddReplicaRegions=[{"Region": "bogus-1"}]), "InvalidParameterException")
    refused(lambda: sm.describe_secret(SecretId="never-secret"), "ResourceNotFoundException", None)
    refused(lambda: sm.get_random_password(ExcludeNumbers=True, ExcludePunctuation=True, ExcludeUppercase=True, ExcludeLowercase=True), "InvalidParameterException")
    # Valid: every digit excluded by name (moto picked a required digit from nothing).
    password = sm.get_random_password(PasswordLength=30, ExcludeCharacters="0123456789")["RandomPassword"]
    assert len(password) == 30 and not any(c.isdigit() for c in password)
    refused(lambda: sm.list_secrets(NextToken="garbage"), "InvalidNextTokenException")


def test_kms(server: EmulatorServer) -> None:
    kms = client(server, "kms")
    key = kms.create_key()["KeyMetadata"]
    assert refused(lambda: kms.create_grant(KeyId="garbage", GranteePrincipal=f"arn:aws:iam::{ACCOUNT}:root", Operations=["Encrypt"]), "NotFoundException") == "Invalid keyId garbage"
    refused(lambda: kms.list_grants(KeyId="garbage"), "NotFoundException")
    kms.create_grant(KeyId=key["Arn"], GranteePrincipal=f"arn:aws:iam::{ACCOUNT}:root", Operations=["Encrypt"])
    assert kms.list_grants(KeyId=key["KeyId"])["Grants"][0]["Operations"] == ["Encrypt"]
    refused(lambda: kms.replicate_key(KeyId=key["KeyId"], ReplicaRegion="us-west-2"), "UnsupportedOperationException")
    # Valid: a multi-Region key named by its ARN (moto looked the ARN up as a key id).
    mrk = kms.create_key(MultiRegion=True)["KeyMetadata"]
    replica = kms.replicate_key(KeyId=mrk["Arn"], ReplicaRegion="us-west-2")["ReplicaKeyMetadata"]
    assert replica["KeyId"] == mrk["KeyId"] and ":us-west-2:" in replica["Arn"]


# ------------------------------------------------------------------ EventBridge
def test_events(server: EmulatorServer) -> None:
    events, sqs = client(server, "events"), client(server, "sqs")
    message = refused(lambda: events.put_rule(Name="never-rule", EventPattern="[1]"), "InvalidEventPatternException")
    assert message == "Event pattern is not valid. Reason: Filter is not an object"
    refused(lambda: events.describe_rule(Name="never-rule"), "ResourceNotFoundException")
    events.put_rule(Name="ev-rule", EventPattern=json.dumps({"source": ["probe"]}))
    queue = sqs.create_queue(QueueName="ev-queue")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    for target in ({"Input": "not json"}, {"InputPath": "garbage"}, {"Input": "{}", "InputPath": "$.detail"},
                   {"InputTransformer": {"InputPathsMap": {"a": "garbage"}, "InputTemplate": "<a>"}}):
        refused(functools.partial(events.put_targets, Rule="ev-rule", Targets=[{"Id": "t", "Arn": queue_arn, **target}]), "ValidationException")
    assert events.list_targets_by_rule(Rule="ev-rule")["Targets"] == []
    # Valid: a text template (moto parsed every template as JSON), and MessageGroupId for a standard queue.
    events.put_targets(Rule="ev-rule", Targets=[
        {"Id": "text", "Arn": queue_arn, "InputTransformer": {"InputPathsMap": {"v": "$.detail.v"}, "InputTemplate": "value is <v>"}},
        {"Id": "group", "Arn": queue_arn, "SqsParameters": {"MessageGroupId": "g"}},
    ])
    assert events.put_events(Entries=[{"Source": "probe", "DetailType": "d", "Detail": json.dumps({"v": "seven"})}])["FailedEntryCount"] == 0
    bodies = sorted(m["Body"] for m in sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", []))
    assert "value is seven" in bodies and len(bodies) == 2


# ------------------------------------------------------------------ Kinesis
def test_kinesis(server: EmulatorServer) -> None:
    kinesis = client(server, "kinesis")
    refused(lambda: kinesis.create_stream(StreamName="never-stream"), "ValidationException")
    refused(lambda: kinesis.describe_stream_summary(StreamName="never-stream"), "ResourceNotFoundException")
    kinesis.create_stream(StreamName="kin-stream", ShardCount=1)
    message = refused(lambda: kinesis.get_shard_iterator(StreamName="kin-stream", ShardId="shardId-000000000000", ShardIteratorType="AT_SEQUENCE_NUMBER"),
                      "InvalidArgumentException")
    assert message.endswith("Request specified AT_SEQUENCE_NUMBER and no StartingSequenceNumber.")
    assert refused(lambda: kinesis.get_records(ShardIterator="garbage"), "InvalidArgumentException") == "Invalid ShardIterator."
    kinesis.put_record(StreamName="kin-stream", Data=b"one", PartitionKey="p")
    iterator = kinesis.get_shard_iterator(StreamName="kin-stream", ShardId="shardId-000000000000", ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    assert [r["Data"] for r in kinesis.get_records(ShardIterator=iterator)["Records"]] == [b"one"]
    # By the stream's ARN (newer SDKs, the CLI): the iterator must name the stream for GetRecords.
    arn = kinesis.describe_stream_summary(StreamName="kin-stream")["StreamDescriptionSummary"]["StreamARN"]
    iterator = kinesis.get_shard_iterator(StreamARN=arn, ShardId="shardId-000000000000", ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    assert [r["Data"] for r in kinesis.get_records(ShardIterator=iterator, StreamARN=arn)["Records"]] == [b"one"]
    assert [r["Data"] for r in kinesis.get_records(ShardIterator=iterator)["Records"]] == [b"one"]


def test_kinesis_shard_listings_consumers_and_sequence_numbers(server: EmulatorServer) -> None:
    kinesis = client(server, "kinesis")
    kinesis.create_stream(StreamName="kin-list", ShardCount=2)
    arn = kinesis.describe_stream_summary(StreamName="kin-list")["StreamDescriptionSummary"]["StreamARN"]
    # ListShards: a NextToken names its stream; AFTER_SHARD_ID names its shard.
    message = refused(lambda: kinesis.list_shards(StreamName="kin-list", NextToken="garbage"), "InvalidArgumentException")
    assert message == "NextToken and StreamName cannot be provided together."
    refused(lambda: kinesis.list_shards(StreamName="kin-list", ShardFilter={"Type": "AFTER_SHARD_ID"}), "InvalidArgumentException")
    refused(lambda: kinesis.list_shards(StreamName="kin-list", ShardFilter={"Type": "AT_TIMESTAMP"}), "InvalidArgumentException")
    assert len(kinesis.list_shards(StreamName="kin-list", ShardFilter={"Type": "AT_LATEST"})["Shards"]) == 2
    # DeregisterStreamConsumer: the stream's ARN alone names no consumer (moto deregistered them all).
    kinesis.register_stream_consumer(StreamARN=arn, ConsumerName="kin-consumer")
    refused(lambda: kinesis.deregister_stream_consumer(StreamARN=arn), "InvalidArgumentException")
    assert [c["ConsumerName"] for c in kinesis.list_stream_consumers(StreamARN=arn)["Consumers"]] == ["kin-consumer"]
    # By the stream's ARN and a name: that consumer goes, the others stay (moto kept only it).
    kinesis.register_stream_consumer(StreamARN=arn, ConsumerName="kin-other")
    kinesis.deregister_stream_consumer(StreamARN=arn, ConsumerName="kin-consumer")
    assert [c["ConsumerName"] for c in kinesis.list_stream_consumers(StreamARN=arn)["Consumers"]] == ["kin-other"]
    # GetShardIterator: a sequence number the shard never handed out.
    sequence = kinesis.put_record(StreamName="kin-list", Data=b"one", PartitionKey="p", ExplicitHashKey="0")["SequenceNumber"]
    shard = "shardId-000000000000"
    future = str(int(sequence) + 1)
    message = refused(lambda: kinesis.get_shard_iterator(StreamName="kin-list", ShardId=shard, ShardIteratorType="AT_SEQUENCE_NUMBER", StartingSequenceNumber=future),
                      "InvalidArgumentException")
    assert message == (f"StartingSequenceNumber {future} used in GetShardIterator on shard {shard} in stream kin-list under account {ACCOUNT} "
                       "is invalid because it did not come from this stream.")
    iterator = kinesis.get_shard_iterator(StreamARN=arn, ShardId=shard, ShardIteratorType="AT_SEQUENCE_NUMBER", StartingSequenceNumber=sequence)["ShardIterator"]
    assert [r["Data"] for r in kinesis.get_records(ShardIterator=iterator)["Records"]] == [b"one"]
    kinesis.get_shard_iterator(StreamName="kin-list", ShardId=shard, ShardIteratorType="AFTER_SEQUENCE_NUMBER", StartingSequenceNumber=sequence)


# ------------------------------------------------------------------ Lambda (REST-JSON: shapes checked now)
def test_lambda(server: EmulatorServer) -> None:
    iam, lam, s3 = client(server, "iam"), client(server, "lambda"), client(server, "s3")
    role = iam.create_role(RoleName="lam-role", AssumeRolePolicyDocument=TRUST)["Role"]["Arn"]
    common = {"Runtime": "python3.12", "Role": role, "Handler": "index.handler"}
    refused(lambda: lam.create_function(FunctionName="never-fn", Code={}, **common), "InvalidParameterValueException")
    refused(lambda: lam.create_function(FunctionName="never-fn", Code={"ZipFile": lambda_zip()}, Layers=["garbage"], **common), "ValidationException")
    message = refused(lambda: lam.create_function(FunctionName="never-fn", Code={"ZipFile": lambda_zip()}, **{**common, "Runtime": "bogus"}), "ValidationException")
    assert message.startswith("1 validation error detected: Value 'bogus' at 'runtime' failed to satisfy constraint: Member must satisfy enum value set:")
    refused(lambda: lam.get_function(FunctionName="never-fn"), "ResourceNotFoundException", 404)
    lam.create_function(FunctionName="lam-fn", Code={"ZipFile": lambda_zip()}, **common)
    assert [f["FunctionName"] for f in lam.list_functions()["Functions"]] == ["lam-fn"]  # no half-made function breaks the listing
    # A marker that no listing handed out (moto's hands out none): not the first page again.
    refused(lambda: lam.list_functions(Marker="garbage"), "InvalidParameterValueException")
    assert "NextMarker" not in lam.list_functions(MaxItems=1)
    message = refused(lambda: lam.update_function_code(FunctionName="lam-fn", S3Bucket="no-such-bucket-lam", S3Key="k.zip"), "InvalidParameterValueException")
    assert "NoSuchBucket" in message
    s3.create_bucket(Bucket="lam-code")
    sqs = client(server, "sqs")
    queue = sqs.create_queue(QueueName="lam-queue")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    refused(lambda: lam.create_event_source_mapping(FunctionName="lam-fn", EventSourceArn=queue_arn, BatchSize=100000), "ValidationException")
    assert lam.list_event_source_mappings(FunctionName="lam-fn")["EventSourceMappings"] == []


# ------------------------------------------------------------------ Step Functions, Route 53, ECR
def test_stepfunctions_route53_ecr(server: EmulatorServer) -> None:
    sfn, r53, ecr = client(server, "stepfunctions"), client(server, "route53"), client(server, "ecr")
    refused(lambda: sfn.describe_state_machine_alias(stateMachineAliasArn="garbage"), "InvalidArn")
    zones = r53.list_hosted_zones()["HostedZones"]
    refused(lambda: r53.create_hosted_zone(Name="", CallerReference="r53-empty"), "InvalidDomainName")
    refused(lambda: r53.create_hosted_zone(Name="bad..name", CallerReference="r53-bad"), "InvalidDomainName")
    assert r53.list_hosted_zones()["HostedZones"] == zones
    refused(lambda: r53.list_hosted_zones(MaxItems="abc"), "InvalidInput")
    ecr.create_repository(repositoryName="ecr-repo")
    refused(lambda: ecr.put_image(repositoryName="ecr-repo", imageManifest="not json", imageTag="t"), "InvalidParameterException")
    refused(lambda: ecr.put_image(repositoryName="never-repo", imageManifest="{}", imageTag="t"), "RepositoryNotFoundException")
    assert ecr.list_images(repositoryName="ecr-repo")["imageIds"] == []
    sfn_role = client(server, "iam").create_role(RoleName="sfn-role", AssumeRolePolicyDocument=SFN_TRUST)["Role"]["Arn"]
    sfn.create_state_machine(name="sfn-ok", definition=json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}), roleArn=sfn_role)


# ------------------------------------------------------------------ CloudFormation (query: shapes checked now)
QUEUE_TEMPLATE = json.dumps({"Resources": {"Q": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "cfn-ok-queue"}}}})


@pytest.mark.parametrize(("template", "message"), [
    ("not: [valid", "Template format error: YAML not well-formed. (line 1, column 12)"),
    ('{"Resources": ', "Template format error: JSON not well-formed. (line 1, column 15)"),
    ("[1]", "Template format error: unsupported structure."),
    ("{}", "Template format error: At least one Resources member must be defined."),
    (json.dumps({"Resources": {"A": {}}}), "Template format error: [/Resources/A] Every Resources object must contain a Type member."),
    (json.dumps({"Resources": {"Q": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": {"Ref": "Nothing"}}}}}),
     "Template format error: Unresolved resource dependencies [Nothing] in the Resources block of the template"),
    (json.dumps({"Resources": {"Q": {"Type": "AWS::SQS::Queue"}}, "Outputs": {"O": {"Value": {"Fn::GetAtt": ["Nothing", "Arn"]}}}}),
     "Template error: instance of Fn::GetAtt references undefined resource Nothing"),
    (json.dumps({"Conditions": {"C": {"Fn::Equals": [1]}}, "Resources": {"Q": {"Type": "AWS::SQS::Queue", "Condition": "C"}}}),
     "Template error: every Fn::Equals object requires a list of 2 string parameters."),
    (json.dumps({"Resources": {"Q": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": {"Fn::FindInMap": ["M", "a", "b"]}}}}}),
     "Template error: Unable to get mapping for M::a::b"),
])
def test_cloudformation_template_errors(server: EmulatorServer, template: str, message: str) -> None:
    cfn = client(server, "cloudformation")
    assert refused(lambda: cfn.create_stack(StackName="cfn-never", TemplateBody=template), "ValidationError") == message
    refused(lambda: cfn.describe_stacks(StackName="cfn-never"), "ValidationError")  # no stack was stored
    refused(lambda: cfn.create_change_set(StackName="cfn-never", ChangeSetName="cs", TemplateBody=template, ChangeSetType="CREATE"), "ValidationError")


def test_cloudformation(server: EmulatorServer) -> None:
    cfn, sqs = client(server, "cloudformation"), client(server, "sqs")
    number = json.dumps({"Parameters": {"P": {"Type": "Number"}}, "Resources": {"Q": {"Type": "AWS::SQS::Queue"}}})
    assert refused(lambda: cfn.create_stack(StackName="cfn-p", TemplateBody=number, Parameters=[{"ParameterKey": "P", "ParameterValue": "abc"}]),
                   "ValidationError") == "Parameter 'P' must be a number."
    refused(lambda: cfn.create_stack(StackName="cfn-n", TemplateBody=QUEUE_TEMPLATE, NotificationARNs=["garbage"]), "ValidationError")
    message = refused(lambda: cfn.create_stack(StackName="cfn-e", TemplateBody=QUEUE_TEMPLATE, OnFailure="BOGUS"), "ValidationError")  # type: ignore[arg-type]
    assert message.startswith("1 validation error detected: Value 'BOGUS' at 'onFailure' failed to satisfy constraint: Member must satisfy enum value set:")
    assert all(s["StackName"] not in ("cfn-p", "cfn-n", "cfn-e") for s in cfn.describe_stacks()["Stacks"])
    cfn.create_stack(StackName="cfn-ok", TemplateBody=QUEUE_TEMPLATE)
    refused(lambda: cfn.update_stack(StackName="cfn-ok", TemplateBody=QUEUE_TEMPLATE, UsePreviousTemplate=True), "ValidationError")
    refused(lambda: cfn.describe_stacks(NextToken="garbage"), "ValidationError")
    refused(lambda: cfn.list_exports(NextToken="garbage"), "ValidationError")
    assert refused(lambda: cfn.execute_change_set(ChangeSetName="cfn-missing", StackName="cfn-ok"), "ChangeSetNotFound", 404) == "ChangeSet [cfn-missing] does not exist"
    refused(lambda: cfn.delete_change_set(ChangeSetName="cfn-missing", StackName="cfn-ok"), "ChangeSetNotFound", 404)
    # A resource that cannot be created fails the stack (rolled back), not the call.
    bad = json.dumps({"Resources": {"Q": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "cfn-bad-queue", "VisibilityTimeout": "abc"}}}})
    cfn.create_stack(StackName="cfn-bad", TemplateBody=bad)
    assert cfn.describe_stacks(StackName="cfn-bad")["Stacks"][0]["StackStatus"] in ("ROLLBACK_COMPLETE", "ROLLBACK_FAILED")
    reasons = [e.get("ResourceStatusReason", "") for e in cfn.describe_stack_events(StackName="cfn-bad")["StackEvents"] if e["ResourceStatus"] == "CREATE_FAILED"]
    assert reasons and "ValueError" in reasons[0]
    refused(lambda: sqs.get_queue_url(QueueName="cfn-bad-queue"), "AWS.SimpleQueueService.NonExistentQueue")


# ------------------------------------------------------------------ refused as AWS refuses; what AWS accepts still passes
def test_checks_that_read_moto_state_and_requests(server: EmulatorServer) -> None:
    """The checks of fallback_checks_<service>.py: AWS's error for the wrong input, and the
    right input next to it still served."""
    s3, kms, ssm, events = client(server, "s3"), client(server, "kms"), client(server, "ssm"), client(server, "events")
    s3.create_bucket(Bucket="chk-bucket")
    s3.put_object(Bucket="chk-bucket", Key="k", Body=b"x")
    message = refused(lambda: s3.copy_object(Bucket="chk-bucket", Key="k", CopySource="chk-bucket/k"), "InvalidRequest")
    assert message.startswith("This copy request is illegal because it is trying to copy an object to itself")
    s3.copy_object(Bucket="chk-bucket", Key="k", CopySource="chk-bucket/k", MetadataDirective="REPLACE", Metadata={"a": "b"})
    assert s3.head_object(Bucket="chk-bucket", Key="k")["Metadata"] == {"a": "b"}
    refused(lambda: s3.put_object(Bucket="chk-bucket", Key="k2", Body=b"x", ServerSideEncryption="bogus"), "InvalidArgument")  # type: ignore[arg-type]
    s3.put_object(Bucket="chk-bucket", Key="k2", Body=b"x", ServerSideEncryption="AES256")
    refused(lambda: s3.get_object(Bucket="chk-bucket", Key="k2", PartNumber=0), "InvalidArgument")
    assert s3.get_object(Bucket="chk-bucket", Key="k2", Range="bytes=abc")["Body"].read() == b"x"  # an unreadable range is ignored
    s3.put_bucket_acl(Bucket="chk-bucket", GrantRead='uri="http://acs.amazonaws.com/groups/global/AllUsers"')
    refused(lambda: s3.put_bucket_acl(Bucket="chk-bucket", GrantRead="bogus=x"), "InvalidArgument")

    key = kms.create_key()["KeyMetadata"]
    kms.encrypt(KeyId=key["KeyId"], Plaintext=b"x")
    kms.disable_key(KeyId=key["KeyId"])
    assert refused(lambda: kms.encrypt(KeyId=key["Arn"], Plaintext=b"x"), "DisabledException") == f"{key['Arn']} is disabled."
    assert refused(lambda: kms.cancel_key_deletion(KeyId=key["KeyId"]), "KMSInvalidStateException") == f"{key['Arn']} is not pending deletion."
    signing = kms.create_key(KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
    refused(lambda: kms.encrypt(KeyId=signing, Plaintext=b"x"), "InvalidKeyUsageException")
    kms.get_public_key(KeyId=signing)

    ssm.put_parameter(Name="/chk/a.b-c_d", Value="42", Type="String", AllowedPattern=r"^\d+$")
    refused(lambda: ssm.put_parameter(Name="/chk/x", Value="abc", Type="String", AllowedPattern=r"^\d+$"), "ParameterPatternMismatchException")
    # A catastrophic pattern is stopped by the match budget (emulator/user_regex.py) instead of
    # holding the server (on ``re`` this value takes minutes).
    started = time.monotonic()
    refused(lambda: ssm.put_parameter(Name="/chk/redos", Value="a" * 40 + "!", Type="String", AllowedPattern=r"^(a|aa)+$"), "ValidationException")
    assert time.monotonic() - started < 10
    refused(lambda: ssm.put_parameter(Name="chk bad", Value="v", Type="String"), "ValidationException")
    refused(lambda: ssm.get_parameter(Name="/chk/x"), "ParameterNotFound")

    valid = json.dumps({"source": ["a"], "detail": {"n": [{"numeric": [">", 0, "<=", 5]}], "s": [{"prefix": "x"}, {"anything-but": ["y"]}]}})
    events.put_rule(Name="chk-rule", EventPattern=valid)
    message = refused(lambda: events.put_rule(Name="chk-rule", EventPattern=json.dumps({"source": [{"bogus": 1}]})), "InvalidEventPatternException")
    assert message == "Event pattern is not valid. Reason: Unrecognized match type bogus"
    assert json.loads(events.describe_rule(Name="chk-rule")["EventPattern"]) == json.loads(valid)  # the refused one changed nothing
    events.put_rule(Name="chk-cron", ScheduleExpression="cron(0 12 * * ? *)")
    refused(lambda: events.put_rule(Name="chk-cron", ScheduleExpression="cron(0 12 * *)"), "ValidationException")


# ------------------------------------------------------------------ what moto accepted silently; each next to what AWS accepts
def test_kms_algorithms_signatures_and_references(server: EmulatorServer) -> None:
    kms = client(server, "kms")
    symmetric = kms.create_key()["KeyMetadata"]["KeyId"]
    rsa = kms.create_key(KeySpec="RSA_2048", KeyUsage="ENCRYPT_DECRYPT")["KeyMetadata"]["KeyId"]
    message = refused(lambda: kms.encrypt(KeyId=rsa, Plaintext=b"x", EncryptionAlgorithm="SYMMETRIC_DEFAULT"), "InvalidKeyUsageException")
    assert message == "Algorithm SYMMETRIC_DEFAULT is incompatible with key spec RSA_2048."
    refused(lambda: kms.encrypt(KeyId=symmetric, Plaintext=b"x", EncryptionAlgorithm="RSAES_OAEP_SHA_256"), "InvalidKeyUsageException")
    blob = kms.encrypt(KeyId=rsa, Plaintext=b"x", EncryptionAlgorithm="RSAES_OAEP_SHA_256")["CiphertextBlob"]
    assert kms.decrypt(KeyId=rsa, CiphertextBlob=blob, EncryptionAlgorithm="RSAES_OAEP_SHA_256")["Plaintext"] == b"x"

    signing = kms.create_key(KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
    algorithm = "RSASSA_PSS_SHA_256"
    message = refused(lambda: kms.sign(KeyId=signing, Message=b"x", MessageType="DIGEST", SigningAlgorithm=algorithm), "ValidationException")
    assert message == "Digest is invalid length for algorithm RSASSA_PSS_SHA_256."
    kms.sign(KeyId=signing, Message=b"d" * 32, MessageType="DIGEST", SigningAlgorithm=algorithm)
    signature = kms.sign(KeyId=signing, Message=b"x", SigningAlgorithm=algorithm)["Signature"]
    assert kms.verify(KeyId=signing, Message=b"x", Signature=signature, SigningAlgorithm=algorithm)["SignatureValid"] is True
    refused(lambda: kms.verify(KeyId=signing, Message=b"y", Signature=signature, SigningAlgorithm=algorithm), "KMSInvalidSignatureException")

    refused(lambda: kms.create_key(Origin="AWS_CLOUDHSM", CustomKeyStoreId="cks-1234567890abcdef0"), "CustomKeyStoreNotFoundException")
    refused(lambda: kms.create_alias(AliasName="alias/aws/mine", TargetKeyId=symmetric), "NotAuthorizedException")
    kms.create_alias(AliasName="alias/aws-like-but-mine", TargetKeyId=symmetric)
    refused(lambda: kms.list_keys(Marker="garbage"), "InvalidMarkerException")
    assert symmetric in [k["KeyId"] for k in kms.list_keys()["Keys"]]
    refused(lambda: kms.retire_grant(GrantToken="garbage"), "InvalidGrantTokenException")
    token = kms.create_grant(KeyId=symmetric, GranteePrincipal=f"arn:aws:iam::{ACCOUNT}:root", Operations=["Encrypt"])["GrantToken"]
    kms.retire_grant(GrantToken=token)
    assert kms.list_grants(KeyId=symmetric)["Grants"] == []


def test_stepfunctions_tokens_and_tagged_resources(server: EmulatorServer) -> None:
    sfn = client(server, "stepfunctions")
    for call in (lambda: sfn.send_task_success(taskToken="garbage", output="{}"), lambda: sfn.send_task_failure(taskToken="garbage"),
                 lambda: sfn.send_task_heartbeat(taskToken="garbage")):
        assert refused(call, "InvalidToken") == "Invalid Token: 'Invalid token'"
    role = client(server, "iam").create_role(RoleName="sfn-tok-role", AssumeRolePolicyDocument=SFN_TRUST)["Role"]["Arn"]
    machine = sfn.create_state_machine(name="sfn-tok", definition=json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}),
                                       roleArn=role)["stateMachineArn"]
    execution = sfn.start_execution(stateMachineArn=machine)["executionArn"]
    refused(lambda: sfn.get_execution_history(executionArn=execution, nextToken="garbage"), "InvalidToken")
    assert sfn.get_execution_history(executionArn=execution)["events"]
    missing = machine.replace("sfn-tok", "sfn-tok-missing")
    assert refused(lambda: sfn.tag_resource(resourceArn=missing, tags=[{"key": "a", "value": "b"}]), "ResourceNotFound") == f"Resource not found: '{missing}'"
    sfn.tag_resource(resourceArn=machine, tags=[{"key": "a", "value": "b"}])
    assert sfn.list_tags_for_resource(resourceArn=machine)["tags"] == [{"key": "a", "value": "b"}]


def test_lambda_sqs_sns_references(server: EmulatorServer) -> None:
    iam, lam = client(server, "iam"), client(server, "lambda")
    role = iam.create_role(RoleName="ref-role", AssumeRolePolicyDocument=TRUST)["Role"]["Arn"]
    lam.create_function(FunctionName="ref-fn", Runtime="python3.12", Role=role, Handler="index.handler", Code={"ZipFile": lambda_zip()})
    refused(lambda: lam.publish_version(FunctionName="ref-fn", RevisionId="garbage"), "PreconditionFailedException", 412)
    assert refused(lambda: lam.update_function_code(FunctionName="ref-fn"), "InvalidParameterValueException") == "Please provide a source for function code."
    lam.update_function_code(FunctionName="ref-fn", ZipFile=lambda_zip())
    assert lam.publish_version(FunctionName="ref-fn")["Version"] == "1"

    sqs = client(server, "sqs")
    refused(lambda: sqs.create_queue(QueueName="ref-tags", tags={"": "v"}), "InvalidParameterValue")
    refused(lambda: sqs.get_queue_url(QueueName="ref-tags"), "AWS.SimpleQueueService.NonExistentQueue")
    queue = sqs.create_queue(QueueName="ref-queue", tags={"team": "a"})["QueueUrl"]
    message = refused(lambda: sqs.add_permission(QueueUrl=queue, Label="l", AWSAccountIds=["abc"], Actions=["SendMessage"]), "InvalidParameterValue")
    assert message == "Value [abc] for parameter PrincipalId is invalid. Reason: Unable to verify."
    sqs.add_permission(QueueUrl=queue, Label="l", AWSAccountIds=["111122223333"], Actions=["SendMessage"])

    sns = client(server, "sns")
    topic = sns.create_topic(Name="ref-topic")["TopicArn"]
    assert refused(lambda: sns.confirm_subscription(TopicArn=topic, Token="garbage"), "InvalidParameter") == "Invalid token"
    refused(lambda: sns.confirm_subscription(TopicArn=topic.replace("ref-topic", "ref-missing"), Token="garbage"), "NotFound", 404)


def test_ssm_s3_events_kinesis_limits(server: EmulatorServer) -> None:
    ssm = client(server, "ssm")
    long_value = "v" * 4097
    message = refused(lambda: ssm.put_parameter(Name="/lim/long", Value=long_value, Type="String"), "ValidationException")
    assert message.startswith("Standard tier parameters support a maximum parameter value of 4096 characters.")
    ssm.put_parameter(Name="/lim/long", Value=long_value, Type="String", Tier="Advanced")
    ssm.put_parameter(Name="/lim/long", Value=long_value + "w", Type="String", Overwrite=True)  # an Advanced parameter stays Advanced
    policy = {"Type": "Expiration", "Version": "1.0", "Attributes": {"Timestamp": "2099-01-01T00:00:00.000Z"}}
    refused(lambda: ssm.put_parameter(Name="/lim/p", Value="v", Type="String", Tier="Advanced", Policies=json.dumps([{**policy, "Type": "Bogus"}])),
            "InvalidPolicyTypeException")
    ssm.put_parameter(Name="/lim/p", Value="v", Type="String", Tier="Advanced", Policies=json.dumps([policy]))
    assert refused(lambda: ssm.put_parameter(Name="/lim/s", Value="v", Type="SecureString", KeyId="garbage"), "InvalidKeyId") == "The query key ID isn't valid."
    ssm.put_parameter(Name="/lim/s", Value="v", Type="SecureString", KeyId="alias/aws/ssm")

    s3, kms = client(server, "s3"), client(server, "kms")
    s3.create_bucket(Bucket="lim-bucket")
    refused(lambda: s3.put_object(Bucket="lim-bucket", Key="k", Body=b"x", ServerSideEncryption="aws:kms", SSEKMSKeyId="not-a-key"), "KMS.NotFoundException")
    refused(lambda: s3.head_object(Bucket="lim-bucket", Key="k"), "404", 404)
    key = kms.create_key()["KeyMetadata"]
    for key_id in (key["KeyId"], key["Arn"]):
        s3.put_object(Bucket="lim-bucket", Key="k", Body=b"x", ServerSideEncryption="aws:kms", SSEKMSKeyId=key_id)

    events = client(server, "events")
    connection = events.create_connection(Name="lim-conn", AuthorizationType="API_KEY",
                                          AuthParameters={"ApiKeyAuthParameters": {"ApiKeyName": "k", "ApiKeyValue": "v"}})["ConnectionArn"]
    missing = connection.replace("connection/lim-conn/", "connection/lim-missing/")
    assert refused(lambda: events.create_api_destination(Name="lim-api", ConnectionArn=missing, InvocationEndpoint="https://example.com", HttpMethod="GET"),
                   "ResourceNotFoundException") == "Connection 'lim-missing' does not exist."
    events.create_api_destination(Name="lim-api", ConnectionArn=connection, InvocationEndpoint="https://example.com", HttpMethod="GET")
    refused(lambda: events.list_rule_names_by_target(TargetArn="garbage"), "ValidationException")

    kinesis = client(server, "kinesis")
    kinesis.create_stream(StreamName="lim-stream", ShardCount=1)
    message = refused(lambda: kinesis.update_shard_count(StreamName="lim-stream", TargetShardCount=5, ScalingType="UNIFORM_SCALING"), "InvalidArgumentException")
    assert message.endswith("Current open shard count: 1 Target shard count: 5")
    kinesis.update_shard_count(StreamName="lim-stream", TargetShardCount=2, ScalingType="UNIFORM_SCALING")


def test_route53_references(server: EmulatorServer) -> None:
    r53 = client(server, "route53")
    r53.create_hosted_zone(Name="ref.example.", CallerReference="ref-1")
    zones = r53.list_hosted_zones()["HostedZones"]
    refused(lambda: r53.create_hosted_zone(Name="other.example.", CallerReference="ref-1"), "HostedZoneAlreadyExists", 409)
    vpc = {"VPCRegion": "us-east-1", "VPCId": "garbage"}
    refused(lambda: r53.create_hosted_zone(Name="p.example.", CallerReference="ref-2", VPC=vpc), "InvalidVPCId")  # type: ignore[arg-type]
    refused(lambda: r53.create_hosted_zone(Name="p.example.", CallerReference="ref-3", VPC={**vpc, "VPCId": "vpc-12345678", "VPCRegion": "bogus-1"}),  # type: ignore[arg-type]
            "InvalidInput")
    refused(lambda: r53.create_hosted_zone(Name="p.example.", CallerReference="ref-4", DelegationSetId="garbage"), "NoSuchDelegationSet")
    refused(lambda: r53.get_reusable_delegation_set(Id="garbage"), "NoSuchDelegationSet")
    assert r53.list_hosted_zones()["HostedZones"] == zones
    delegation = r53.create_reusable_delegation_set(CallerReference="ref-ds")["DelegationSet"]["Id"]
    r53.create_hosted_zone(Name="ds.example.", CallerReference="ref-5", DelegationSetId=delegation)
    refused(lambda: r53.list_tags_for_resource(ResourceType="hostedzone", ResourceId="Z0000000000000REF"), "NoSuchHostedZone", 404)
    zone = zones[0]["Id"].split("/")[-1]
    assert r53.list_tags_for_resource(ResourceType="hostedzone", ResourceId=zone)["ResourceTagSet"]["Tags"] == []
    refused(lambda: r53.list_hosted_zones_by_name(DNSName="bad..name"), "InvalidDomainName")
    assert r53.list_hosted_zones_by_name(DNSName="ref.example")["HostedZones"][0]["Name"] == "ref.example."
    refused(lambda: r53.delete_health_check(HealthCheckId="garbage"), "NoSuchHealthCheck", 404)
    message = refused(lambda: r53.create_health_check(CallerReference="ref-hc-bad", HealthCheckConfig={"Type": "HTTP", "IPAddress": "garbage", "Port": 80}),
                      "InvalidInput")
    assert message.startswith("Invalid XML ; cvc-pattern-valid: Value 'garbage' is not facet-valid with respect to pattern")
    r53.create_health_check(CallerReference="ref-hc-v6", HealthCheckConfig={"Type": "HTTP", "IPAddress": "2001:db8::1", "Port": 80})
    check = r53.create_health_check(CallerReference="ref-hc", HealthCheckConfig={"Type": "HTTP", "IPAddress": "192.0.2.1", "Port": 80})["HealthCheck"]["Id"]
    r53.delete_health_check(HealthCheckId=check)


def test_route53_mx_records_listings_health_checks_and_changes(server: EmulatorServer) -> None:
    r53 = client(server, "route53")
    zone = r53.create_hosted_zone(Name="mx.example.", CallerReference="mx-1")["HostedZone"]["Id"]

    def mx(value: str) -> dict[str, Any]:
        return {"Changes": [{"Action": "CREATE", "ResourceRecordSet": {"Name": "mail.mx.example.", "Type": "MX", "TTL": 60, "ResourceRecords": [{"Value": value}]}}]}

    message = refused(lambda: r53.change_resource_record_sets(HostedZoneId=zone, ChangeBatch=mx("garbage")), "InvalidChangeBatch")
    assert message == "[Invalid Resource Record: 'FATAL problem: MXRRDATANotTwoFields (MX record doesn't have 2 fields) encountered with 'garbage'']"
    assert [r["Type"] for r in r53.list_resource_record_sets(HostedZoneId=zone)["ResourceRecordSets"]] == ["NS", "SOA"]  # nothing stored
    change = r53.change_resource_record_sets(HostedZoneId=zone, ChangeBatch=mx("10 mail.example.org."))["ChangeInfo"]["Id"]
    assert r53.get_change(Id=change)["ChangeInfo"]["Status"] in ("PENDING", "INSYNC")
    assert refused(lambda: r53.get_change(Id="garbage"), "NoSuchChange", 404) == "A change with the specified change ID does not exist."
    # ListHostedZonesByName continues from a zone named by both dnsname and hostedzoneid.
    refused(lambda: r53.list_hosted_zones_by_name(HostedZoneId=zone), "InvalidInput")
    assert r53.list_hosted_zones_by_name(DNSName="mx.example.", HostedZoneId=zone)["HostedZones"][0]["Name"] == "mx.example."
    # A health check of an endpoint names it.
    checks = r53.list_health_checks()["HealthChecks"]
    refused(lambda: r53.create_health_check(CallerReference="mx-hc-1", HealthCheckConfig={"Type": "HTTPS"}), "InvalidInput")
    assert r53.list_health_checks()["HealthChecks"] == checks
    r53.create_health_check(CallerReference="mx-hc-2", HealthCheckConfig={"Type": "HTTPS", "FullyQualifiedDomainName": "mail.example.org"})


def test_cloudformation_no_updates_and_organizations_detach(server: EmulatorServer) -> None:
    cfn = client(server, "cloudformation")
    template = json.dumps({"Resources": {"Q": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "noupd-queue"}}}})
    cfn.create_stack(StackName="noupd", TemplateBody=template)
    assert refused(lambda: cfn.update_stack(StackName="noupd", TemplateBody=template), "ValidationError") == "No updates are to be performed."
    refused(lambda: cfn.update_stack(StackName="noupd", UsePreviousTemplate=True), "ValidationError")
    changed = template.replace("noupd-queue", "noupd-queue-2")
    cfn.update_stack(StackName="noupd", TemplateBody=changed)
    cfn.update_stack(StackName="noupd", TemplateBody=changed, Tags=[{"Key": "a", "Value": "b"}])  # a new tag is a change

    org = client(server, "organizations")
    org.create_organization(FeatureSet="ALL")
    root = org.list_roots()["Roots"][0]["Id"]
    org.enable_policy_type(RootId=root, PolicyType="SERVICE_CONTROL_POLICY")
    content = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})
    policy = org.create_policy(Name="detach-p", Description="d", Type="SERVICE_CONTROL_POLICY", Content=content)["Policy"]["PolicySummary"]["Id"]
    refused(lambda: org.detach_policy(PolicyId=policy, TargetId=root), "PolicyNotAttachedException")
    org.attach_policy(PolicyId=policy, TargetId=root)
    org.detach_policy(PolicyId=policy, TargetId=root)
    assert policy not in [p["Id"] for p in org.list_policies_for_target(TargetId=root, Filter="SERVICE_CONTROL_POLICY")["Policies"]]


def _organization_root(org: Any) -> str:
    """The root of the server's organization (made here unless an earlier test made it)."""
    try:
        org.create_organization(FeatureSet="ALL")
    except ClientError as exc:
        assert exc.response["Error"]["Code"] == "AlreadyInOrganizationException"
    return str(org.list_roots()["Roots"][0]["Id"])


def test_reserved_tags_policies_and_references(server: EmulatorServer) -> None:
    """Each refused input next to the valid one beside it, which still works."""
    # Tag keys prefixed with aws: are AWS's (Organizations: INVALID_SYSTEM_TAGS_PARAMETER).
    org = client(server, "organizations")
    unit = org.create_organizational_unit(ParentId=_organization_root(org), Name="tags-ou")["OrganizationalUnit"]["Id"]
    with pytest.raises(ClientError) as caught:
        org.tag_resource(ResourceId=unit, Tags=[{"Key": "aws:x", "Value": "v"}])
    assert caught.value.response["Error"]["Code"] == "InvalidInputException"
    assert caught.value.response.get("Reason") == "INVALID_SYSTEM_TAGS_PARAMETER"
    org.tag_resource(ResourceId=unit, Tags=[{"Key": "awsx:y", "Value": "v"}])
    assert org.list_tags_for_resource(ResourceId=unit)["Tags"] == [{"Key": "awsx:y", "Value": "v"}]
    cfn = client(server, "cloudformation")
    template = json.dumps({"Resources": {"Q": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "tags-queue"}}}})
    refused(lambda: cfn.create_stack(StackName="tags-stack", TemplateBody=template, Tags=[{"Key": "aws:x", "Value": "v"}]), "ValidationError")
    refused(lambda: cfn.describe_stacks(StackName="tags-stack"), "ValidationError")  # nothing created
    cfn.create_stack(StackName="tags-stack", TemplateBody=template, Tags=[{"Key": "team", "Value": "aws:x"}])
    assert cfn.describe_stacks(StackName="tags-stack")["Stacks"][0]["Tags"] == [{"Key": "team", "Value": "aws:x"}]

    # SSM: policies are a JSON array, and only Advanced parameters have them.
    ssm = client(server, "ssm")
    expiration = json.dumps([{"Type": "Expiration", "Version": "1.0", "Attributes": {"Timestamp": "2099-01-01T00:00:00.000Z"}}])
    refused(lambda: ssm.put_parameter(Name="pol-p", Value="v", Type="String", Tier="Advanced", Policies="not json"), "ValidationException")
    refused(lambda: ssm.put_parameter(Name="pol-p", Value="v", Type="String", Policies=expiration), "ValidationException")
    refused(lambda: ssm.put_parameter(Name="pol-p", Value="v", Type="String", Tier="Standard", Policies=expiration), "ValidationException")
    refused(lambda: ssm.get_parameter(Name="pol-p"), "ParameterNotFound")
    ssm.put_parameter(Name="pol-p", Value="v", Type="String", Tier="Advanced", Policies=expiration)
    described = ssm.describe_parameters(ParameterFilters=[{"Key": "Name", "Values": ["pol-p"]}])["Parameters"][0]
    assert described["Tier"] == "Advanced" and len(described["Policies"]) == 1
    ssm.put_parameter(Name="pol-std", Value="v", Type="String", Policies="[]")  # no policies: Standard is fine

    # Kinesis: a resource policy is a JSON object.
    kinesis = client(server, "kinesis")
    kinesis.create_stream(StreamName="pol-stream", ShardCount=1)
    stream = kinesis.describe_stream_summary(StreamName="pol-stream")["StreamDescriptionSummary"]["StreamARN"]
    refused(lambda: kinesis.put_resource_policy(ResourceARN=stream, Policy="not json"), "ValidationException")
    refused(lambda: kinesis.put_resource_policy(ResourceARN=stream, Policy="[1]"), "ValidationException")
    policy = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "kinesis:GetRecords", "Resource": stream}]})
    kinesis.put_resource_policy(ResourceARN=stream, Policy=policy)
    assert json.loads(kinesis.get_resource_policy(ResourceARN=stream)["Policy"]) == json.loads(policy)

    # ECR: moto's listings hand out no nextToken, so none given is one of theirs.
    ecr = client(server, "ecr")
    ecr.create_repository(repositoryName="tok-repo")
    for call in (lambda: ecr.describe_repositories(nextToken="garbage"), lambda: ecr.describe_images(repositoryName="tok-repo", nextToken="garbage"),
                 lambda: ecr.list_images(repositoryName="tok-repo", nextToken="garbage")):
        refused(call, "InvalidParameterException")
    assert "tok-repo" in [r["repositoryName"] for r in ecr.describe_repositories()["repositories"]]
    assert "nextToken" not in ecr.list_images(repositoryName="tok-repo", maxResults=1)

    # Lambda: an Image function names its image; a stream mapping its starting position; a
    # deleted alias exists.
    iam, lam = client(server, "iam"), client(server, "lambda")
    role = iam.create_role(RoleName="round2-role", AssumeRolePolicyDocument=TRUST)["Role"]["Arn"]
    refused(lambda: lam.create_function(FunctionName="round2-image", Role=role, Code={"ZipFile": lambda_zip()}, PackageType="Image"), "InvalidParameterValueException")
    refused(lambda: lam.get_function(FunctionName="round2-image"), "ResourceNotFoundException", 404)
    image = f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/tok-repo:latest"
    assert lam.create_function(FunctionName="round2-image", Role=role, Code={"ImageUri": image}, PackageType="Image")["PackageType"] == "Image"
    function = lam.create_function(FunctionName="round2-fn", Runtime="python3.12", Role=role, Handler="index.handler", Code={"ZipFile": lambda_zip()}, Publish=True)
    refused(lambda: lam.create_event_source_mapping(FunctionName="round2-fn", EventSourceArn=stream), "InvalidParameterValueException")
    assert lam.list_event_source_mappings(FunctionName="round2-fn")["EventSourceMappings"] == []
    lam.create_event_source_mapping(FunctionName="round2-fn", EventSourceArn=stream, StartingPosition="TRIM_HORIZON")
    message = refused(lambda: lam.delete_alias(FunctionName="round2-fn", Name="missing"), "ResourceNotFoundException", 404)
    assert message == f"Cannot find alias arn: arn:aws:lambda:us-east-1:{ACCOUNT}:function:round2-fn:missing"
    lam.create_alias(FunctionName="round2-fn", Name="live", FunctionVersion=function["Version"])
    lam.delete_alias(FunctionName=function["FunctionArn"], Name="live")
    refused(lambda: lam.get_alias(FunctionName="round2-fn", Name="live"), "ResourceNotFoundException", 404)


# ------------------------------------------------------------------ recursive input shapes
def test_recursive_input_shapes(server: EmulatorServer) -> None:
    """Cost Explorer's Expression (And/Or/Not of Expressions) and SageMaker's SearchExpression
    are recursive: the gateway's input decoding must end, on the first call and the next."""
    ce = client(server, "ce")
    search = client(server, "sagemaker")
    for _ in range(2):
        answer = ce.get_cost_and_usage(
            TimePeriod={"Start": "2026-12-01", "End": "2026-12-06"}, Granularity="DAILY", Metrics=["UnblendedCost"],
            Filter={"Not": {"Dimensions": {"Key": "SERVICE", "Values": ["Amazon EC2"]}}},
        )
        assert answer["ResponseMetadata"]["HTTPStatusCode"] == 200 and "ResultsByTime" in answer
        assert search.search(Resource="TrainingJob")["Results"] == []


# ------------------------------------------------------------------ Lambda function names
def test_lambda_function_name_formats(server: EmulatorServer) -> None:
    """FunctionName as Lambda takes it (the API reference's name formats): a name, name:qualifier
    ($LATEST, a version, an alias), a partial ARN ACCOUNT:function:NAME[:QUALIFIER], an ARN.
    moto answered a 404 HTML page for $LATEST and a 500 for a partial ARN."""
    iam, lam = client(server, "iam"), client(server, "lambda")
    role = iam.create_role(RoleName="names-role", AssumeRolePolicyDocument=TRUST)["Role"]["Arn"]
    lam.create_function(FunctionName="names", Runtime="python3.12", Role=role, Handler="f.h", Code={"ZipFile": lambda_zip()})
    lam.publish_version(FunctionName="names")
    lam.create_alias(FunctionName="names", Name="live", FunctionVersion="1")
    arn = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:names"
    for name in ("names", "names:$LATEST", f"{ACCOUNT}:function:names", f"{ACCOUNT}:function:names:$LATEST", arn, f"{arn}:$LATEST"):
        assert lam.get_function(FunctionName=name)["Configuration"]["FunctionName"] == "names", name
    for name in ("names:1", "names:live", f"{ACCOUNT}:function:names:live"):
        assert lam.get_function(FunctionName=name)["Configuration"]["Version"] == "1", name
    assert lam.get_function_configuration(FunctionName=f"{ACCOUNT}:function:names")["FunctionArn"] == arn
    message = refused(lambda: lam.get_function(FunctionName="123456789012:function:names"), "ResourceNotFoundException", 404)
    assert message == "Function not found: arn:aws:lambda:us-east-1:123456789012:function:names"
