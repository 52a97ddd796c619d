"""A sweep of the services moto serves (emulator/gateway/fallback.py) with bad input: requests
that botocore's client-side validation lets through (so they reach the server) but whose
content is wrong (policies that are not JSON, ARNs and ids of the wrong form, numbers out of
range, unknown enum-like strings, missing resources, empty strings). AWS answers each with a
4xx; none may become a ``500 InternalFailure`` ("unhandled error in <service>.<Operation>" in
the server's log).

Used by tests/gateway/test_fallback_input.py (the whole sweep, then the server log must have no
unhandled error); run by hand to see every answer::

    .venv/bin/python -m tests.gateway.fallback_probe [service ...]

Placeholders (``$BUCKET``, ``$QUEUE``, ...) in the cases' parameters are the resources that
``make_resources`` creates first.
"""

from __future__ import annotations

import io
import json
import re
import sys
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

from botocore.config import Config
from botocore.exceptions import ClientError, ParamValidationError

from emulator.testing.server import EmulatorServer

ACCOUNT = "000000000000"
# One attempt: a retried 500 would be sent twice (and moto may have stored half of it).
ONE_TRY = Config(retries={"total_max_attempts": 1, "mode": "standard"})


def client(server: EmulatorServer, service: str) -> Any:
    """A boto3 client of ``server`` that does not retry."""
    return server.client(service, config=ONE_TRY)
TRUST = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
SFN_TRUST = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "states.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
PASS_MACHINE = json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})
TEMPLATE = json.dumps({"Resources": {"Q": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "probe-cfn-queue"}}}})
MISSING_ARN = f"arn:aws:sns:us-east-1:{ACCOUNT}:probe-missing"


def lambda_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("index.py", "def handler(event, context):\n    return event\n")
    return buf.getvalue()


@dataclass(frozen=True)
class Case:
    service: str
    operation: str  # boto3's method name
    params: dict[str, Any]
    note: str = ""
    # The error code AWS answers, where the emulator gives it too (checked by
    # tests/gateway/test_fallback_input.py): a case fixed stays fixed.
    expected: str = ""
    # AWS accepts this input too (a 2xx answer is right, not bad input silently accepted).
    valid: bool = False

    @property
    def label(self) -> str:
        return f"{self.service}.{self.operation}" + (f" [{self.note}]" if self.note else "")

    def expect(self, code: str) -> Case:
        return replace(self, expected=code)

    def accepted_by_aws(self) -> Case:
        return replace(self, valid=True)


@dataclass
class Outcome:
    case: Case
    status: int
    code: str
    message: str

    @property
    def accepted(self) -> bool:
        """Bad input answered with a 2xx (``Case.valid``: AWS accepts it too)."""
        return 0 < self.status < 300 and not self.case.valid

    @property
    def missed(self) -> bool:
        """AWS's error code, known for this case (``Case.expected``), was not the answer."""
        return bool(self.case.expected) and self.code != self.case.expected


def C(service: str, operation: str, note: str = "", **params: Any) -> Case:
    return Case(service, operation, params, note)


def _policy(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


S3_STATEMENT = {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::$BUCKET/*"}

CASES: list[Case] = [
    # ------------------------------------------------------------------ S3 (rest-xml)
    C("s3", "put_bucket_policy", "not json", Bucket="$BUCKET", Policy="not json"),
    C("s3", "put_bucket_policy", "empty object", Bucket="$BUCKET", Policy="{}"),
    C("s3", "put_bucket_policy", "json array", Bucket="$BUCKET", Policy="[1]"),
    C("s3", "put_bucket_policy", "no principal", Bucket="$BUCKET", Policy=_policy({k: v for k, v in S3_STATEMENT.items() if k != "Principal"})),
    C("s3", "put_bucket_policy", "resource outside bucket", Bucket="$BUCKET", Policy=_policy({**S3_STATEMENT, "Resource": "arn:aws:s3:::another-bucket/*"})),
    C("s3", "put_bucket_policy", "bad action", Bucket="$BUCKET", Policy=_policy({**S3_STATEMENT, "Action": "s3:Bogus"})),
    C("s3", "put_bucket_policy", "bad effect", Bucket="$BUCKET", Policy=_policy({**S3_STATEMENT, "Effect": "Maybe"})),
    C("s3", "put_bucket_policy", "bad version", Bucket="$BUCKET", Policy=json.dumps({"Version": "2020-01-01", "Statement": [S3_STATEMENT]})),
    C("s3", "put_bucket_policy", "missing bucket", Bucket="probe-no-such-bucket", Policy=_policy(S3_STATEMENT)),
    C("s3", "put_bucket_lifecycle_configuration", "negative days", Bucket="$BUCKET", LifecycleConfiguration={"Rules": [{"ID": "r", "Status": "Enabled", "Filter": {"Prefix": ""}, "Expiration": {"Days": -1}}]}).expect("InvalidArgument"),
    C("s3", "put_bucket_lifecycle_configuration", "bad status", Bucket="$BUCKET", LifecycleConfiguration={"Rules": [{"ID": "r", "Status": "Maybe", "Filter": {"Prefix": ""}, "Expiration": {"Days": 1}}]}).expect("MalformedXML"),
    C("s3", "put_bucket_lifecycle_configuration", "no action", Bucket="$BUCKET", LifecycleConfiguration={"Rules": [{"ID": "r", "Status": "Enabled", "Filter": {"Prefix": ""}}]}).expect("InvalidRequest"),
    C("s3", "put_bucket_lifecycle_configuration", "zero days", Bucket="$BUCKET", LifecycleConfiguration={"Rules": [{"ID": "r", "Status": "Enabled", "Filter": {"Prefix": ""}, "Expiration": {"Days": 0}}]}).expect("InvalidArgument"),
    C("s3", "put_bucket_lifecycle_configuration", "date and days", Bucket="$BUCKET", LifecycleConfiguration={"Rules": [{"ID": "r", "Status": "Enabled", "Filter": {"Prefix": ""}, "Expiration": {"Days": 1, "Date": "2030-01-01T00:00:00Z"}}]}).expect("MalformedXML"),
    C("s3", "put_bucket_lifecycle_configuration", "date not midnight", Bucket="$BUCKET", LifecycleConfiguration={"Rules": [{"ID": "r", "Status": "Enabled", "Filter": {"Prefix": ""}, "Expiration": {"Date": "2030-01-01T12:00:00Z"}}]}).expect("InvalidArgument"),
    C("s3", "put_bucket_lifecycle_configuration", "duplicate ids", Bucket="$BUCKET", LifecycleConfiguration={"Rules": [{"ID": "r", "Status": "Enabled", "Filter": {"Prefix": ""}, "Expiration": {"Days": 1}}] * 2}).expect("InvalidArgument"),
    C("s3", "put_bucket_lifecycle_configuration", "1001 rules", Bucket="$BUCKET", LifecycleConfiguration={"Rules": [{"ID": f"r{i}", "Status": "Enabled", "Filter": {"Prefix": ""}, "Expiration": {"Days": 1}} for i in range(1001)]}).expect("MalformedXML"),
    C("s3", "put_bucket_lifecycle_configuration", "noncurrent zero", Bucket="$BUCKET", LifecycleConfiguration={"Rules": [{"ID": "r", "Status": "Enabled", "Filter": {"Prefix": ""}, "NoncurrentVersionExpiration": {"NoncurrentDays": 0}}]}).expect("InvalidArgument"),
    C("s3", "put_bucket_lifecycle_configuration", "abort zero", Bucket="$BUCKET", LifecycleConfiguration={"Rules": [{"ID": "r", "Status": "Enabled", "Filter": {"Prefix": ""}, "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 0}}]}).expect("InvalidArgument"),
    C("s3", "put_bucket_lifecycle_configuration", "bad storage class", Bucket="$BUCKET", LifecycleConfiguration={"Rules": [{"ID": "r", "Status": "Enabled", "Filter": {"Prefix": ""}, "Transitions": [{"Days": 30, "StorageClass": "BOGUS"}]}]}).expect("MalformedXML"),
    C("s3", "put_bucket_cors", "bad method", Bucket="$BUCKET", CORSConfiguration={"CORSRules": [{"AllowedMethods": ["FOO"], "AllowedOrigins": ["*"]}]}).expect("InvalidRequest"),
    C("s3", "put_bucket_cors", "no rules", Bucket="$BUCKET", CORSConfiguration={"CORSRules": []}).expect("MalformedXML"),
    C("s3", "put_bucket_cors", "two wildcards", Bucket="$BUCKET", CORSConfiguration={"CORSRules": [{"AllowedMethods": ["GET"], "AllowedOrigins": ["https://*.*.example.com"]}]}).expect("InvalidRequest"),
    C("s3", "put_bucket_tagging", "duplicate keys", Bucket="$BUCKET", Tagging={"TagSet": [{"Key": "a", "Value": "1"}, {"Key": "a", "Value": "2"}]}).expect("InvalidTag"),
    C("s3", "put_bucket_tagging", "empty key", Bucket="$BUCKET", Tagging={"TagSet": [{"Key": "", "Value": "1"}]}),
    C("s3", "put_bucket_tagging", "51 tags", Bucket="$BUCKET", Tagging={"TagSet": [{"Key": f"k{i}", "Value": "v"} for i in range(51)]}).expect("InvalidTag"),
    C("s3", "put_bucket_tagging", "long value", Bucket="$BUCKET", Tagging={"TagSet": [{"Key": "k", "Value": "v" * 257}]}).expect("InvalidTag"),
    C("s3", "put_bucket_versioning", "bad status", Bucket="$BUCKET", VersioningConfiguration={"Status": "Bogus"}).expect("MalformedXML"),
    C("s3", "put_bucket_versioning", "bad mfa delete", Bucket="$BUCKET", VersioningConfiguration={"Status": "Enabled", "MFADelete": "Bogus"}).expect("MalformedXML"),
    C("s3", "put_object", "bad storage class", Bucket="$BUCKET", Key="k", Body=b"x", StorageClass="BOGUS"),
    C("s3", "put_object", "bad acl", Bucket="$BUCKET", Key="k", Body=b"x", ACL="bogus"),
    C("s3", "put_object", "bad sse", Bucket="$BUCKET", Key="k", Body=b"x", ServerSideEncryption="bogus").expect("InvalidArgument"),
    C("s3", "put_object", "bad kms key", Bucket="$BUCKET", Key="k", Body=b"x", ServerSideEncryption="aws:kms", SSEKMSKeyId="not-a-key"),
    C("s3", "put_object", "bad tagging", Bucket="$BUCKET", Key="k", Body=b"x", Tagging="a=1&a=2").expect("InvalidTag"),
    C("s3", "put_object", "bad lock mode", Bucket="$BUCKET", Key="k", Body=b"x", ObjectLockMode="BOGUS"),
    C("s3", "put_object_acl", "bad acl", Bucket="$BUCKET", Key="$OBJECT", ACL="bogus"),
    C("s3", "put_bucket_acl", "bad acl", Bucket="$BUCKET", ACL="bogus"),
    C("s3", "put_bucket_acl", "bad grantee", Bucket="$BUCKET", GrantRead="bogus=x").expect("InvalidArgument"),
    C("s3", "get_object", "bad range", Bucket="$BUCKET", Key="$OBJECT", Range="bytes=abc").accepted_by_aws(),
    C("s3", "get_object", "range past end", Bucket="$BUCKET", Key="$OBJECT", Range="bytes=1000-2000"),
    C("s3", "get_object", "part 0", Bucket="$BUCKET", Key="$OBJECT", PartNumber=0).expect("InvalidArgument"),
    C("s3", "get_object", "bad version", Bucket="$BUCKET", Key="$OBJECT", VersionId="bogus"),
    C("s3", "get_object", "missing key", Bucket="$BUCKET", Key="probe-missing"),
    C("s3", "head_object", "part 99", Bucket="$BUCKET", Key="$OBJECT", PartNumber=99),
    C("s3", "list_objects_v2", "negative max keys", Bucket="$BUCKET", MaxKeys=-1),
    C("s3", "list_objects_v2", "bad token", Bucket="$BUCKET", ContinuationToken="garbage"),
    C("s3", "list_objects_v2", "bad encoding", Bucket="$BUCKET", EncodingType="bogus").expect("InvalidArgument"),
    C("s3", "list_objects", "negative max keys", Bucket="$BUCKET", MaxKeys=-5),
    C("s3", "list_object_versions", "negative max keys", Bucket="$BUCKET", MaxKeys=-5),
    C("s3", "list_multipart_uploads", "negative max", Bucket="$BUCKET", MaxUploads=-1),
    C("s3", "put_bucket_notification_configuration", "unknown queue", Bucket="$BUCKET", NotificationConfiguration={"QueueConfigurations": [{"QueueArn": f"arn:aws:sqs:us-east-1:{ACCOUNT}:missing", "Events": ["s3:ObjectCreated:*"]}]}).expect("InvalidArgument"),
    C("s3", "put_bucket_notification_configuration", "unknown topic", Bucket="$BUCKET", NotificationConfiguration={"TopicConfigurations": [{"TopicArn": MISSING_ARN, "Events": ["s3:ObjectCreated:*"]}]}).expect("InvalidArgument"),
    C("s3", "put_bucket_notification_configuration", "unknown function", Bucket="$BUCKET", NotificationConfiguration={"LambdaFunctionConfigurations": [{"LambdaFunctionArn": f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:probe-missing", "Events": ["s3:ObjectCreated:*"]}]}).expect("InvalidArgument"),
    C("s3", "put_bucket_notification_configuration", "bad event", Bucket="$BUCKET", NotificationConfiguration={"QueueConfigurations": [{"QueueArn": "$QUEUE_ARN", "Events": ["s3:Bogus"]}]}),
    C("s3", "put_bucket_notification_configuration", "bad arn", Bucket="$BUCKET", NotificationConfiguration={"TopicConfigurations": [{"TopicArn": "garbage", "Events": ["s3:ObjectCreated:*"]}]}),
    C("s3", "put_bucket_notification_configuration", "bad filter", Bucket="$BUCKET", NotificationConfiguration={"QueueConfigurations": [{"QueueArn": "$QUEUE_ARN", "Events": ["s3:ObjectCreated:*"], "Filter": {"Key": {"FilterRules": [{"Name": "bogus", "Value": "x"}]}}}]}),
    C("s3", "put_bucket_encryption", "bad algorithm", Bucket="$BUCKET", ServerSideEncryptionConfiguration={"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "bogus"}}]}).expect("MalformedXML"),
    C("s3", "put_bucket_encryption", "no rules", Bucket="$BUCKET", ServerSideEncryptionConfiguration={"Rules": []}),
    C("s3", "put_bucket_website", "no index", Bucket="$BUCKET", WebsiteConfiguration={"ErrorDocument": {"Key": "e.html"}}).expect("InvalidArgument"),
    C("s3", "put_bucket_website", "bad redirect protocol", Bucket="$BUCKET", WebsiteConfiguration={"RedirectAllRequestsTo": {"HostName": "example.com", "Protocol": "gopher"}}).expect("MalformedXML"),
    C("s3", "put_bucket_ownership_controls", "bad ownership", Bucket="$BUCKET", OwnershipControls={"Rules": [{"ObjectOwnership": "Bogus"}]}).expect("MalformedXML"),
    C("s3", "put_object_lock_configuration", "bucket without lock", Bucket="$BUCKET", ObjectLockConfiguration={"ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 1}}}),
    C("s3", "put_object_lock_configuration", "bad mode", Bucket="$BUCKET", ObjectLockConfiguration={"ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": "BOGUS", "Days": 1}}}),
    C("s3", "put_object_retention", "bucket without lock", Bucket="$BUCKET", Key="$OBJECT", Retention={"Mode": "GOVERNANCE"}),
    C("s3", "put_object_legal_hold", "bad status", Bucket="$BUCKET", Key="$OBJECT", LegalHold={"Status": "BOGUS"}),
    C("s3", "create_bucket", "bad name", Bucket="Probe_Bad_Name").expect("InvalidBucketName"),
    C("s3", "create_bucket", "short name", Bucket="ab"),
    C("s3", "create_bucket", "ip name", Bucket="192.168.1.1").expect("InvalidBucketName"),
    C("s3", "create_bucket", "bad location", Bucket="probe-loc-bucket", CreateBucketConfiguration={"LocationConstraint": "bogus-region-1"}).expect("InvalidLocationConstraint"),
    C("s3", "copy_object", "bad source", Bucket="$BUCKET", Key="copy", CopySource="no-slash"),
    C("s3", "copy_object", "missing source", Bucket="$BUCKET", Key="copy", CopySource="$BUCKET/probe-missing"),
    C("s3", "copy_object", "bad directive", Bucket="$BUCKET", Key="copy", CopySource="$BUCKET/$OBJECT", MetadataDirective="BOGUS").expect("InvalidArgument"),
    C("s3", "copy_object", "onto itself", Bucket="$BUCKET", Key="$OBJECT", CopySource="$BUCKET/$OBJECT").expect("InvalidRequest"),
    C("s3", "put_bucket_logging", "missing target", Bucket="$BUCKET", BucketLoggingStatus={"LoggingEnabled": {"TargetBucket": "probe-no-such-bucket", "TargetPrefix": "l/"}}),
    C("s3", "delete_objects", "no objects", Bucket="$BUCKET", Delete={"Objects": []}),
    C("s3", "upload_part", "part 0", Bucket="$BUCKET", Key="mp", UploadId="$UPLOAD", PartNumber=0, Body=b"x"),
    C("s3", "upload_part", "part 10001", Bucket="$BUCKET", Key="mp", UploadId="$UPLOAD", PartNumber=10001, Body=b"x"),
    C("s3", "upload_part", "unknown upload", Bucket="$BUCKET", Key="mp", UploadId="garbage", PartNumber=1, Body=b"x"),
    C("s3", "complete_multipart_upload", "unknown upload", Bucket="$BUCKET", Key="mp", UploadId="garbage", MultipartUpload={"Parts": [{"ETag": "x", "PartNumber": 1}]}),
    C("s3", "complete_multipart_upload", "no parts", Bucket="$BUCKET", Key="mp", UploadId="$UPLOAD", MultipartUpload={"Parts": []}),
    C("s3", "complete_multipart_upload", "wrong etag", Bucket="$BUCKET", Key="mp", UploadId="$UPLOAD", MultipartUpload={"Parts": [{"ETag": "bogus", "PartNumber": 1}]}),
    C("s3", "list_parts", "negative max", Bucket="$BUCKET", Key="mp", UploadId="$UPLOAD", MaxParts=-1),
    C("s3", "put_public_access_block", "empty", Bucket="$BUCKET", PublicAccessBlockConfiguration={}),
    C("s3", "put_bucket_replication", "bad role", Bucket="$BUCKET", ReplicationConfiguration={"Role": "garbage", "Rules": [{"Status": "Enabled", "Destination": {"Bucket": "arn:aws:s3:::probe-no-such-bucket"}}]}),
    C("s3", "put_bucket_accelerate_configuration", "bad status", Bucket="$BUCKET", AccelerateConfiguration={"Status": "Bogus"}),
    C("s3", "put_bucket_request_payment", "bad payer", Bucket="$BUCKET", RequestPaymentConfiguration={"Payer": "Bogus"}).expect("MalformedXML"),
    C("s3", "put_object_tagging", "too many tags", Bucket="$BUCKET", Key="$OBJECT", Tagging={"TagSet": [{"Key": f"k{i}", "Value": "v"} for i in range(11)]}).expect("BadRequest"),
    C("s3", "put_object_tagging", "duplicate keys", Bucket="$BUCKET", Key="$OBJECT", Tagging={"TagSet": [{"Key": "a", "Value": "1"}, {"Key": "a", "Value": "2"}]}).expect("InvalidTag"),
    C("s3", "get_bucket_policy", "none set", Bucket="$BUCKET2"),
    C("s3", "restore_object", "not archived", Bucket="$BUCKET", Key="$OBJECT", RestoreRequest={"Days": 1}),
    C("s3", "get_object_attributes", "bad attribute", Bucket="$BUCKET", Key="$OBJECT", ObjectAttributes=["Bogus"]).expect("InvalidArgument"),
    C("s3", "put_bucket_inventory_configuration", "bad format", Bucket="$BUCKET", Id="inv", InventoryConfiguration={"Id": "inv", "IsEnabled": True, "IncludedObjectVersions": "All", "Schedule": {"Frequency": "Daily"}, "Destination": {"S3BucketDestination": {"Bucket": "garbage", "Format": "CSV"}}}),
    C("s3", "put_bucket_metrics_configuration", "id mismatch", Bucket="$BUCKET", Id="a", MetricsConfiguration={"Id": "b"}),
    # ------------------------------------------------------------------ SQS (json, query-compatible)
    C("sqs", "set_queue_attributes", "policy not json", QueueUrl="$QUEUE", Attributes={"Policy": "not json"}),
    C("sqs", "set_queue_attributes", "policy json array", QueueUrl="$QUEUE", Attributes={"Policy": "[1]"}),
    C("sqs", "set_queue_attributes", "redrive not json", QueueUrl="$QUEUE", Attributes={"RedrivePolicy": "not json"}),
    C("sqs", "set_queue_attributes", "redrive bad content", QueueUrl="$QUEUE", Attributes={"RedrivePolicy": json.dumps({"deadLetterTargetArn": "garbage", "maxReceiveCount": "x"})}),
    C("sqs", "set_queue_attributes", "redrive missing count", QueueUrl="$QUEUE", Attributes={"RedrivePolicy": json.dumps({"deadLetterTargetArn": "$QUEUE2_ARN"})}),
    C("sqs", "set_queue_attributes", "redrive unknown dlq", QueueUrl="$QUEUE", Attributes={"RedrivePolicy": json.dumps({"deadLetterTargetArn": f"arn:aws:sqs:us-east-1:{ACCOUNT}:missing", "maxReceiveCount": 3})}),
    C("sqs", "set_queue_attributes", "redrive allow not json", QueueUrl="$QUEUE", Attributes={"RedriveAllowPolicy": "not json"}),
    C("sqs", "set_queue_attributes", "redrive allow bad permission", QueueUrl="$QUEUE", Attributes={"RedriveAllowPolicy": json.dumps({"redrivePermission": "bogus"})}),
    C("sqs", "set_queue_attributes", "visibility not a number", QueueUrl="$QUEUE", Attributes={"VisibilityTimeout": "abc"}),
    C("sqs", "set_queue_attributes", "visibility negative", QueueUrl="$QUEUE", Attributes={"VisibilityTimeout": "-1"}),
    C("sqs", "set_queue_attributes", "visibility too big", QueueUrl="$QUEUE", Attributes={"VisibilityTimeout": "99999"}),
    C("sqs", "set_queue_attributes", "retention not a number", QueueUrl="$QUEUE", Attributes={"MessageRetentionPeriod": "x"}),
    C("sqs", "set_queue_attributes", "retention too small", QueueUrl="$QUEUE", Attributes={"MessageRetentionPeriod": "5"}),
    C("sqs", "set_queue_attributes", "delay too big", QueueUrl="$QUEUE", Attributes={"DelaySeconds": "1000"}),
    C("sqs", "set_queue_attributes", "max size not a number", QueueUrl="$QUEUE", Attributes={"MaximumMessageSize": "abc"}),
    C("sqs", "set_queue_attributes", "max size too small", QueueUrl="$QUEUE", Attributes={"MaximumMessageSize": "10"}),
    C("sqs", "set_queue_attributes", "wait too long", QueueUrl="$QUEUE", Attributes={"ReceiveMessageWaitTimeSeconds": "30"}),
    C("sqs", "set_queue_attributes", "unknown attribute", QueueUrl="$QUEUE", Attributes={"Bogus": "1"}),
    C("sqs", "set_queue_attributes", "fifo on standard", QueueUrl="$QUEUE", Attributes={"FifoQueue": "true"}),
    C("sqs", "set_queue_attributes", "dedup on standard", QueueUrl="$QUEUE", Attributes={"ContentBasedDeduplication": "true"}),
    C("sqs", "set_queue_attributes", "kms reuse not a number", QueueUrl="$QUEUE", Attributes={"KmsDataKeyReusePeriodSeconds": "abc"}),
    C("sqs", "set_queue_attributes", "sse not a bool", QueueUrl="$QUEUE", Attributes={"SqsManagedSseEnabled": "maybe"}),
    C("sqs", "set_queue_attributes", "bad queue url", QueueUrl="not-a-url", Attributes={"DelaySeconds": "1"}),
    C("sqs", "set_queue_attributes", "missing queue", QueueUrl=f"http://localhost/{ACCOUNT}/probe-missing", Attributes={"DelaySeconds": "1"}),
    C("sqs", "create_queue", "policy not json", QueueName="probe-q-policy", Attributes={"Policy": "not json"}),
    C("sqs", "create_queue", "redrive not json", QueueName="probe-q-redrive", Attributes={"RedrivePolicy": "not json"}),
    C("sqs", "create_queue", "visibility not a number", QueueName="probe-q-vis", Attributes={"VisibilityTimeout": "abc"}),
    C("sqs", "create_queue", "bad name", QueueName="probe q!"),
    C("sqs", "create_queue", "long name", QueueName="q" * 81),
    C("sqs", "create_queue", "empty name", QueueName=""),
    C("sqs", "create_queue", "fifo maybe", QueueName="probe-q-fifo.fifo", Attributes={"FifoQueue": "maybe"}),
    C("sqs", "create_queue", "fifo without suffix", QueueName="probe-q-nofifo", Attributes={"FifoQueue": "true"}),
    C("sqs", "create_queue", "unknown attribute", QueueName="probe-q-unknown", Attributes={"Bogus": "1"}),
    C("sqs", "create_queue", "bad tags", QueueName="probe-q-tags", tags={"": "v"}),
    C("sqs", "send_message", "delay too big", QueueUrl="$QUEUE", MessageBody="x", DelaySeconds=1000),
    C("sqs", "send_message", "empty body", QueueUrl="$QUEUE", MessageBody="").expect("MissingParameter"),
    C("sqs", "send_message", "bad attribute type", QueueUrl="$QUEUE", MessageBody="x", MessageAttributes={"a": {"DataType": "Bogus", "StringValue": "v"}}),
    C("sqs", "send_message", "attribute without value", QueueUrl="$QUEUE", MessageBody="x", MessageAttributes={"a": {"DataType": "String"}}).expect("InvalidParameterValue"),
    C("sqs", "send_message", "number attribute not a number", QueueUrl="$QUEUE", MessageBody="x", MessageAttributes={"a": {"DataType": "Number", "StringValue": "abc"}}).expect("InvalidParameterValue"),
    C("sqs", "send_message", "group on standard", QueueUrl="$QUEUE", MessageBody="x", MessageGroupId="g").accepted_by_aws(),
    C("sqs", "send_message", "fifo without group", QueueUrl="$FIFO", MessageBody="x"),
    C("sqs", "send_message", "bad system attribute", QueueUrl="$QUEUE", MessageBody="x", MessageSystemAttributes={"Bogus": {"DataType": "String", "StringValue": "v"}}),
    C("sqs", "send_message", "missing queue", QueueUrl=f"http://localhost/{ACCOUNT}/probe-missing", MessageBody="x"),
    C("sqs", "receive_message", "max 0", QueueUrl="$QUEUE", MaxNumberOfMessages=0),
    C("sqs", "receive_message", "max 11", QueueUrl="$QUEUE", MaxNumberOfMessages=11),
    C("sqs", "receive_message", "visibility negative", QueueUrl="$QUEUE", VisibilityTimeout=-1).expect("InvalidParameterValue"),
    C("sqs", "receive_message", "wait 21", QueueUrl="$QUEUE", WaitTimeSeconds=21),
    C("sqs", "receive_message", "bad attribute names", QueueUrl="$QUEUE", AttributeNames=["Bogus"]),
    C("sqs", "change_message_visibility", "garbage handle", QueueUrl="$QUEUE", ReceiptHandle="garbage", VisibilityTimeout=10),
    C("sqs", "change_message_visibility", "negative", QueueUrl="$QUEUE", ReceiptHandle="$RECEIPT", VisibilityTimeout=-5).expect("InvalidParameterValue"),
    C("sqs", "change_message_visibility", "too big", QueueUrl="$QUEUE", ReceiptHandle="$RECEIPT", VisibilityTimeout=50000),
    C("sqs", "delete_message", "garbage handle", QueueUrl="$QUEUE", ReceiptHandle="garbage"),
    C("sqs", "delete_message", "empty handle", QueueUrl="$QUEUE", ReceiptHandle=""),
    C("sqs", "send_message_batch", "no entries", QueueUrl="$QUEUE", Entries=[]),
    C("sqs", "send_message_batch", "duplicate ids", QueueUrl="$QUEUE", Entries=[{"Id": "a", "MessageBody": "x"}, {"Id": "a", "MessageBody": "y"}]),
    C("sqs", "send_message_batch", "bad id", QueueUrl="$QUEUE", Entries=[{"Id": "a b!", "MessageBody": "x"}]),
    C("sqs", "send_message_batch", "11 entries", QueueUrl="$QUEUE", Entries=[{"Id": f"m{i}", "MessageBody": "x"} for i in range(11)]),
    C("sqs", "delete_message_batch", "garbage handles", QueueUrl="$QUEUE", Entries=[{"Id": "a", "ReceiptHandle": "garbage"}]).accepted_by_aws(),
    C("sqs", "change_message_visibility_batch", "garbage handles", QueueUrl="$QUEUE", Entries=[{"Id": "a", "ReceiptHandle": "garbage", "VisibilityTimeout": 5}]).accepted_by_aws(),
    C("sqs", "get_queue_url", "missing", QueueName="probe-missing"),
    C("sqs", "get_queue_url", "empty", QueueName=""),
    C("sqs", "get_queue_attributes", "bad names", QueueUrl="$QUEUE", AttributeNames=["Bogus"]),
    C("sqs", "add_permission", "bad action", QueueUrl="$QUEUE", Label="l", AWSAccountIds=[ACCOUNT], Actions=["Bogus"]),
    C("sqs", "add_permission", "bad account", QueueUrl="$QUEUE", Label="l2", AWSAccountIds=["abc"], Actions=["SendMessage"]),
    C("sqs", "remove_permission", "missing label", QueueUrl="$QUEUE", Label="probe-missing"),
    C("sqs", "tag_queue", "no tags", QueueUrl="$QUEUE", Tags={}),
    C("sqs", "untag_queue", "no keys", QueueUrl="$QUEUE", TagKeys=[]),
    C("sqs", "purge_queue", "missing queue", QueueUrl=f"http://localhost/{ACCOUNT}/probe-missing"),
    C("sqs", "list_queues", "max 0", MaxResults=0).expect("InvalidParameterValue"),
    C("sqs", "list_queues", "bad token", MaxResults=5, NextToken="garbage"),
    C("sqs", "list_dead_letter_source_queues", "missing queue", QueueUrl=f"http://localhost/{ACCOUNT}/probe-missing"),
    C("sqs", "start_message_move_task", "bad arn", SourceArn="garbage"),
    C("sqs", "start_message_move_task", "not a dlq", SourceArn="$QUEUE_ARN"),
    C("sqs", "list_message_move_tasks", "bad arn", SourceArn="garbage"),
    C("sqs", "cancel_message_move_task", "bad handle", TaskHandle="garbage"),
    # ------------------------------------------------------------------ SNS (query)
    C("sns", "create_topic", "policy not json", Name="probe-t-policy", Attributes={"Policy": "not json"}),
    C("sns", "create_topic", "delivery not json", Name="probe-t-delivery", Attributes={"DeliveryPolicy": "not json"}).expect("InvalidParameter"),
    C("sns", "create_topic", "bad name", Name="probe topic!"),
    C("sns", "create_topic", "empty name", Name=""),
    C("sns", "create_topic", "long name", Name="t" * 257),
    C("sns", "create_topic", "unknown attribute", Name="probe-t-unknown", Attributes={"Bogus": "1"}).expect("InvalidParameter"),
    C("sns", "create_topic", "fifo maybe", Name="probe-t.fifo", Attributes={"FifoTopic": "maybe"}),
    C("sns", "create_topic", "bad tags", Name="probe-t-tags", Tags=[{"Key": "", "Value": "v"}]),
    C("sns", "set_topic_attributes", "policy not json", TopicArn="$TOPIC", AttributeName="Policy", AttributeValue="not json"),
    C("sns", "set_topic_attributes", "delivery not json", TopicArn="$TOPIC", AttributeName="DeliveryPolicy", AttributeValue="not json").expect("InvalidParameter"),
    C("sns", "set_topic_attributes", "unknown attribute", TopicArn="$TOPIC", AttributeName="Bogus", AttributeValue="x").expect("InvalidParameter"),
    C("sns", "set_topic_attributes", "bad arn", TopicArn="garbage", AttributeName="DisplayName", AttributeValue="x"),
    C("sns", "set_topic_attributes", "missing topic", TopicArn=MISSING_ARN, AttributeName="DisplayName", AttributeValue="x"),
    C("sns", "get_topic_attributes", "bad arn", TopicArn="garbage"),
    C("sns", "get_topic_attributes", "missing topic", TopicArn=MISSING_ARN),
    C("sns", "delete_topic", "bad arn", TopicArn="garbage"),
    C("sns", "subscribe", "bad protocol", TopicArn="$TOPIC", Protocol="bogus", Endpoint="x"),
    C("sns", "subscribe", "bad sqs endpoint", TopicArn="$TOPIC", Protocol="sqs", Endpoint="garbage"),
    C("sns", "subscribe", "bad http endpoint", TopicArn="$TOPIC", Protocol="http", Endpoint="not a url"),
    C("sns", "subscribe", "bad email", TopicArn="$TOPIC", Protocol="email", Endpoint="not-an-email"),
    C("sns", "subscribe", "bad sms", TopicArn="$TOPIC", Protocol="sms", Endpoint="abc"),
    C("sns", "subscribe", "bad lambda", TopicArn="$TOPIC", Protocol="lambda", Endpoint="garbage"),
    C("sns", "subscribe", "bad topic arn", TopicArn="garbage", Protocol="sqs", Endpoint="$QUEUE_ARN"),
    C("sns", "subscribe", "filter not json", TopicArn="$TOPIC", Protocol="sqs", Endpoint="$QUEUE_ARN", Attributes={"FilterPolicy": "not json"}),
    C("sns", "subscribe", "filter bad shape", TopicArn="$TOPIC", Protocol="sqs", Endpoint="$QUEUE_ARN", Attributes={"FilterPolicy": json.dumps({"a": "b"})}),
    C("sns", "subscribe", "filter scope bogus", TopicArn="$TOPIC", Protocol="sqs", Endpoint="$QUEUE_ARN", Attributes={"FilterPolicyScope": "Bogus"}).expect("InvalidParameter"),
    C("sns", "subscribe", "raw maybe", TopicArn="$TOPIC", Protocol="sqs", Endpoint="$QUEUE_ARN", Attributes={"RawMessageDelivery": "maybe"}).expect("InvalidParameter"),
    C("sns", "subscribe", "redrive not json", TopicArn="$TOPIC", Protocol="sqs", Endpoint="$QUEUE_ARN", Attributes={"RedrivePolicy": "not json"}).expect("InvalidParameter"),
    C("sns", "subscribe", "unknown attribute", TopicArn="$TOPIC", Protocol="sqs", Endpoint="$QUEUE_ARN", Attributes={"Bogus": "1"}),
    C("sns", "set_subscription_attributes", "filter not json", SubscriptionArn="$SUB", AttributeName="FilterPolicy", AttributeValue="not json"),
    C("sns", "set_subscription_attributes", "filter bad shape", SubscriptionArn="$SUB", AttributeName="FilterPolicy", AttributeValue="[1]"),
    C("sns", "set_subscription_attributes", "filter deep", SubscriptionArn="$SUB", AttributeName="FilterPolicy", AttributeValue=json.dumps({"a": [{"numeric": ["<", "x"]}]})),
    C("sns", "set_subscription_attributes", "raw maybe", SubscriptionArn="$SUB", AttributeName="RawMessageDelivery", AttributeValue="maybe").expect("InvalidParameter"),
    C("sns", "set_subscription_attributes", "redrive not json", SubscriptionArn="$SUB", AttributeName="RedrivePolicy", AttributeValue="not json").expect("InvalidParameter"),
    C("sns", "set_subscription_attributes", "delivery not json", SubscriptionArn="$SUB", AttributeName="DeliveryPolicy", AttributeValue="not json").expect("InvalidParameter"),
    C("sns", "set_subscription_attributes", "unknown attribute", SubscriptionArn="$SUB", AttributeName="Bogus", AttributeValue="x"),
    C("sns", "set_subscription_attributes", "bad arn", SubscriptionArn="garbage", AttributeName="RawMessageDelivery", AttributeValue="true"),
    C("sns", "get_subscription_attributes", "bad arn", SubscriptionArn="garbage"),
    C("sns", "unsubscribe", "bad arn", SubscriptionArn="garbage").expect("InvalidParameter"),
    C("sns", "publish", "empty message", TopicArn="$TOPIC", Message="").expect("InvalidParameter"),
    C("sns", "publish", "json structure not json", TopicArn="$TOPIC", Message="not json", MessageStructure="json"),
    C("sns", "publish", "json structure no default", TopicArn="$TOPIC", Message=json.dumps({"sqs": "x"}), MessageStructure="json").expect("InvalidParameter"),
    C("sns", "publish", "bad structure", TopicArn="$TOPIC", Message="x", MessageStructure="bogus"),
    C("sns", "publish", "bad attribute type", TopicArn="$TOPIC", Message="x", MessageAttributes={"a": {"DataType": "Bogus", "StringValue": "v"}}),
    C("sns", "publish", "number attribute not a number", TopicArn="$TOPIC", Message="x", MessageAttributes={"a": {"DataType": "Number", "StringValue": "abc"}}),
    C("sns", "publish", "attribute without value", TopicArn="$TOPIC", Message="x", MessageAttributes={"a": {"DataType": "String"}}).expect("ParameterValueInvalid"),
    C("sns", "publish", "bad target", TargetArn="garbage", Message="x"),
    C("sns", "publish", "bad phone", PhoneNumber="abc", Message="x"),
    C("sns", "publish", "nothing to publish to", Message="x"),
    C("sns", "publish", "missing topic", TopicArn=MISSING_ARN, Message="x"),
    C("sns", "publish", "group on standard", TopicArn="$TOPIC", Message="x", MessageGroupId="g").accepted_by_aws(),
    C("sns", "publish", "long subject", TopicArn="$TOPIC", Message="x", Subject="s" * 200),
    C("sns", "publish_batch", "no entries", TopicArn="$TOPIC", PublishBatchRequestEntries=[]).expect("EmptyBatchRequest"),
    C("sns", "publish_batch", "duplicate ids", TopicArn="$TOPIC", PublishBatchRequestEntries=[{"Id": "a", "Message": "x"}, {"Id": "a", "Message": "y"}]),
    C("sns", "publish_batch", "11 entries", TopicArn="$TOPIC", PublishBatchRequestEntries=[{"Id": f"m{i}", "Message": "x"} for i in range(11)]),
    C("sns", "create_platform_application", "bad platform", Name="probe-app", Platform="bogus", Attributes={}),
    C("sns", "create_platform_endpoint", "bad app arn", PlatformApplicationArn="garbage", Token="t"),
    C("sns", "tag_resource", "missing topic", ResourceArn=MISSING_ARN, Tags=[{"Key": "a", "Value": "b"}]),
    C("sns", "tag_resource", "bad arn", ResourceArn="garbage", Tags=[{"Key": "a", "Value": "b"}]),
    C("sns", "list_tags_for_resource", "bad arn", ResourceArn="garbage"),
    C("sns", "confirm_subscription", "bad token", TopicArn="$TOPIC", Token="garbage"),
    C("sns", "list_subscriptions_by_topic", "bad token", TopicArn="$TOPIC", NextToken="garbage"),
    C("sns", "list_topics", "bad token", NextToken="garbage"),
    C("sns", "add_permission", "bad action", TopicArn="$TOPIC", Label="l", AWSAccountId=[ACCOUNT], ActionName=["Bogus"]),
    C("sns", "remove_permission", "missing label", TopicArn="$TOPIC", Label="probe-missing"),
    C("sns", "set_sms_attributes", "bad type", attributes={"DefaultSMSType": "Bogus"}).expect("InvalidParameter"),
    C("sns", "check_if_phone_number_is_opted_out", "bad phone", phoneNumber="abc"),
    C("sns", "get_data_protection_policy", "bad arn", ResourceArn="garbage"),
    C("sns", "put_data_protection_policy", "not json", ResourceArn="$TOPIC", DataProtectionPolicy="not json"),
    # ------------------------------------------------------------------ SSM (json)
    C("ssm", "put_parameter", "empty value", Name="probe-p-empty", Value="", Type="String"),
    C("ssm", "put_parameter", "bad name", Name="probe p!", Value="v", Type="String").expect("ValidationException"),
    C("ssm", "put_parameter", "slash name", Name="/", Value="v", Type="String").expect("ValidationException"),
    C("ssm", "put_parameter", "aws prefix", Name="aws-probe", Value="v", Type="String"),
    C("ssm", "put_parameter", "bad pattern", Name="probe-p-pattern", Value="v", Type="String", AllowedPattern="[").expect("InvalidAllowedPatternException"),
    C("ssm", "put_parameter", "value fails pattern", Name="probe-p-pattern2", Value="v", Type="String", AllowedPattern="^\\d+$").expect("ParameterPatternMismatchException"),
    C("ssm", "put_parameter", "policies not json", Name="probe-p-policies", Value="v", Type="String", Tier="Advanced", Policies="not json"),
    C("ssm", "put_parameter", "policies bad shape", Name="probe-p-policies2", Value="v", Type="String", Tier="Advanced", Policies="[{\"Type\":\"Bogus\"}]"),
    C("ssm", "put_parameter", "policies on standard", Name="probe-p-policies3", Value="v", Type="String", Policies=json.dumps([{"Type": "Expiration", "Version": "1.0", "Attributes": {"Timestamp": "2099-01-01T00:00:00.000Z"}}])),
    C("ssm", "put_parameter", "bad data type", Name="probe-p-dt", Value="v", Type="String", DataType="bogus"),
    # PutParameter's DataType: an aws:ec2:image value is validated asynchronously; "If you submit
    # an invalid AMI value, the PutParameter operation will return success".
    C("ssm", "put_parameter", "bad image id", Name="probe-p-ami", Value="not-an-ami", Type="String", DataType="aws:ec2:image").accepted_by_aws(),
    C("ssm", "put_parameter", "too long for standard", Name="probe-p-long", Value="v" * 4097, Type="String"),
    C("ssm", "put_parameter", "bad key", Name="probe-p-key", Value="v", Type="SecureString", KeyId="garbage"),
    C("ssm", "put_parameter", "exists", Name="$PARAM", Value="v", Type="String"),
    C("ssm", "put_parameter", "deep path", Name="/a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p", Value="v", Type="String").expect("HierarchyLevelLimitExceededException"),
    C("ssm", "put_parameter", "overwrite with tags", Name="$PARAM", Value="v", Type="String", Overwrite=True, Tags=[{"Key": "a", "Value": "b"}]),
    C("ssm", "get_parameter", "missing", Name="probe-missing"),
    C("ssm", "get_parameter", "bad selector", Name="$PARAM:abc"),
    C("ssm", "get_parameter", "missing version", Name="$PARAM:99"),
    C("ssm", "get_parameter", "missing label", Name="$PARAM:nolabel"),
    C("ssm", "get_parameter", "double selector", Name="$PARAM:1:2"),
    C("ssm", "get_parameter", "empty selector", Name="$PARAM:"),
    C("ssm", "get_parameters", "bad selector", Names=["$PARAM:abc", "probe-missing"]).accepted_by_aws(),
    C("ssm", "get_parameters_by_path", "no slash", Path="noslash").expect("ValidationException"),
    C("ssm", "get_parameters_by_path", "bad filter", Path="/", ParameterFilters=[{"Key": "Bogus", "Values": ["x"]}]),
    C("ssm", "get_parameters_by_path", "bad token", Path="/", NextToken="garbage"),
    C("ssm", "get_parameter_history", "missing", Name="probe-missing"),
    C("ssm", "get_parameter_history", "bad token", Name="$PARAM", NextToken="garbage"),
    C("ssm", "describe_parameters", "bad filter key", ParameterFilters=[{"Key": "Bogus", "Values": ["x"]}]),
    C("ssm", "describe_parameters", "bad filter option", ParameterFilters=[{"Key": "Name", "Option": "Bogus", "Values": ["x"]}]),
    C("ssm", "describe_parameters", "bad tier value", ParameterFilters=[{"Key": "Tier", "Values": ["Bogus"]}]),
    C("ssm", "describe_parameters", "bad token", NextToken="garbage"),
    C("ssm", "describe_parameters", "old filter bad", Filters=[{"Key": "Name", "Values": []}]),
    C("ssm", "label_parameter_version", "missing version", Name="$PARAM", ParameterVersion=99, Labels=["l"]),
    C("ssm", "label_parameter_version", "bad label", Name="$PARAM", Labels=["aws-label"]).accepted_by_aws(),
    C("ssm", "label_parameter_version", "numeric label", Name="$PARAM", Labels=["123"]).accepted_by_aws(),
    C("ssm", "unlabel_parameter_version", "missing version", Name="$PARAM", ParameterVersion=99, Labels=["l"]),
    C("ssm", "delete_parameter", "missing", Name="probe-missing"),
    C("ssm", "delete_parameters", "missing", Names=["probe-missing"]).accepted_by_aws(),
    C("ssm", "add_tags_to_resource", "missing resource", ResourceType="Parameter", ResourceId="probe-missing", Tags=[{"Key": "a", "Value": "b"}]),
    C("ssm", "add_tags_to_resource", "bad resource id", ResourceType="ManagedInstance", ResourceId="garbage", Tags=[{"Key": "a", "Value": "b"}]),
    C("ssm", "add_tags_to_resource", "document missing", ResourceType="Document", ResourceId="probe-missing", Tags=[{"Key": "a", "Value": "b"}]),
    C("ssm", "list_tags_for_resource", "missing resource", ResourceType="Parameter", ResourceId="probe-missing"),
    C("ssm", "create_document", "content not json", Name="probe-doc", Content="not json: [", DocumentType="Command"),
    C("ssm", "create_document", "content wrong json", Name="probe-doc2", Content="{}", DocumentType="Command"),
    C("ssm", "create_document", "content array", Name="probe-doc3", Content="[1]", DocumentType="Command"),
    C("ssm", "create_document", "bad format", Name="probe-doc4", Content="{}", DocumentFormat="YAML"),
    C("ssm", "create_document", "yaml not yaml", Name="probe-doc5", Content="a: [", DocumentFormat="YAML"),
    C("ssm", "create_document", "bad schema", Name="probe-doc6", Content=json.dumps({"schemaVersion": "bogus", "mainSteps": []})),
    C("ssm", "create_document", "no schema", Name="probe-doc7", Content=json.dumps({"mainSteps": []})),
    C("ssm", "get_document", "missing", Name="probe-missing"),
    C("ssm", "get_document", "bad version", Name="probe-missing", DocumentVersion="abc"),
    C("ssm", "update_document", "missing", Name="probe-missing", Content="{}"),
    C("ssm", "describe_document", "missing", Name="probe-missing"),
    C("ssm", "delete_document", "missing", Name="probe-missing"),
    C("ssm", "send_command", "missing document", DocumentName="probe-missing", InstanceIds=["i-0123456789abcdef0"]).expect("InvalidDocument"),
    C("ssm", "send_command", "bad instance id", DocumentName="AWS-RunShellScript", InstanceIds=["garbage"], Parameters={"commands": ["ls"]}),
    C("ssm", "get_command_invocation", "bad ids", CommandId="garbage", InstanceId="garbage"),
    C("ssm", "list_commands", "bad id", CommandId="garbage"),
    C("ssm", "put_compliance_items", "bad type", ResourceId="i-0123456789abcdef0", ResourceType="ManagedInstance", ComplianceType="Bogus", ExecutionSummary={"ExecutionTime": 0}, Items=[]),
    C("ssm", "create_maintenance_window", "bad schedule", Name="probe-mw", Schedule="garbage", Duration=2, Cutoff=1, AllowUnassociatedTargets=True),
    C("ssm", "create_maintenance_window", "cutoff over duration", Name="probe-mw2", Schedule="rate(1 day)", Duration=2, Cutoff=3, AllowUnassociatedTargets=True),
    C("ssm", "get_maintenance_window", "bad id", WindowId="mw-0123456789abcdef0"),
    C("ssm", "create_association", "missing document", Name="probe-missing", InstanceId="i-0123456789abcdef0"),
    C("ssm", "describe_association", "missing", AssociationId="00000000-0000-0000-0000-000000000000"),
    C("ssm", "create_patch_baseline", "bad filter", Name="probe-pb", ApprovalRules={"PatchRules": [{"PatchFilterGroup": {"PatchFilters": [{"Key": "PRODUCT", "Values": ["x"]}]}, "ApproveAfterDays": 500}]}),
    C("ssm", "get_patch_baseline", "bad id", BaselineId="pb-0123456789abcdef0"),
    C("ssm", "put_resource_policy", "not json", ResourceArn=f"arn:aws:ssm:us-east-1:{ACCOUNT}:parameter/$PARAM", Policy="not json"),
    # ------------------------------------------------------------------ Secrets Manager (json)
    C("secretsmanager", "create_secret", "bad name", Name="probe secret!", SecretString="s").expect("ValidationException"),
    C("secretsmanager", "create_secret", "both values", Name="probe-s-both", SecretString="s", SecretBinary=b"b").expect("InvalidParameterException"),
    C("secretsmanager", "create_secret", "bad kms", Name="probe-s-kms", SecretString="s", KmsKeyId="garbage"),
    C("secretsmanager", "create_secret", "bad replica region", Name="probe-s-rep", SecretString="s", AddReplicaRegions=[{"Region": "bogus-1"}]),
    C("secretsmanager", "create_secret", "exists", Name="$SECRET", SecretString="s"),
    C("secretsmanager", "create_secret", "bad tags", Name="probe-s-tags", SecretString="s", Tags=[{"Key": "aws:x", "Value": "v"}]),
    C("secretsmanager", "create_secret", "bad token", Name="probe-s-token", SecretString="s", ClientRequestToken="short"),
    C("secretsmanager", "put_resource_policy", "not json", SecretId="$SECRET", ResourcePolicy="not json").expect("MalformedPolicyDocumentException"),
    C("secretsmanager", "put_resource_policy", "json array", SecretId="$SECRET", ResourcePolicy="[1]").expect("MalformedPolicyDocumentException"),
    C("secretsmanager", "put_resource_policy", "no statement", SecretId="$SECRET", ResourcePolicy="{}").expect("MalformedPolicyDocumentException"),
    C("secretsmanager", "put_resource_policy", "public", SecretId="$SECRET", ResourcePolicy=_policy({"Effect": "Allow", "Principal": "*", "Action": "secretsmanager:GetSecretValue", "Resource": "*"})).accepted_by_aws(),
    C("secretsmanager", "put_resource_policy", "no principal", SecretId="$SECRET", ResourcePolicy=_policy({"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": "*"})).expect("MalformedPolicyDocumentException"),
    C("secretsmanager", "validate_resource_policy", "not json", ResourcePolicy="not json"),
    C("secretsmanager", "validate_resource_policy", "json array", ResourcePolicy="[1]"),
    C("secretsmanager", "rotate_secret", "bad lambda arn", SecretId="$SECRET", RotationLambdaARN="garbage"),
    C("secretsmanager", "rotate_secret", "bad schedule", SecretId="$SECRET", RotationRules={"ScheduleExpression": "garbage"}),
    C("secretsmanager", "rotate_secret", "bad window", SecretId="$SECRET", RotationRules={"AutomaticallyAfterDays": 1, "Duration": "garbage"}),
    C("secretsmanager", "get_secret_value", "bad stage", SecretId="$SECRET", VersionStage="bogus"),
    C("secretsmanager", "get_secret_value", "bad version id", SecretId="$SECRET", VersionId="garbage-but-long-enough-for-the-model-0000"),
    C("secretsmanager", "get_secret_value", "missing", SecretId="probe-missing"),
    C("secretsmanager", "get_secret_value", "bad arn", SecretId=f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:probe-missing-AbCdEf"),
    C("secretsmanager", "get_secret_value", "malformed arn", SecretId="arn:aws:secretsmanager:garbage"),
    C("secretsmanager", "describe_secret", "malformed arn", SecretId="arn:aws:secretsmanager:garbage"),
    C("secretsmanager", "put_secret_value", "no value", SecretId="$SECRET"),
    C("secretsmanager", "put_secret_value", "both values", SecretId="$SECRET", SecretString="a", SecretBinary=b"b").expect("InvalidParameterException"),
    C("secretsmanager", "put_secret_value", "bad stages", SecretId="$SECRET", SecretString="a", VersionStages=[]),
    C("secretsmanager", "update_secret", "bad kms", SecretId="$SECRET", KmsKeyId="garbage"),
    C("secretsmanager", "update_secret_version_stage", "missing version", SecretId="$SECRET", VersionStage="AWSCURRENT", MoveToVersionId="garbage-but-long-enough-for-the-model-0000"),
    C("secretsmanager", "update_secret_version_stage", "nothing to do", SecretId="$SECRET", VersionStage="custom"),
    C("secretsmanager", "update_secret_version_stage", "remove from wrong", SecretId="$SECRET", VersionStage="AWSCURRENT", RemoveFromVersionId="garbage-but-long-enough-for-the-model-0000"),
    C("secretsmanager", "get_random_password", "exclude everything", PasswordLength=8, ExcludeNumbers=True, ExcludePunctuation=True, ExcludeUppercase=True, ExcludeLowercase=True),
    C("secretsmanager", "get_random_password", "short and require each", PasswordLength=2, RequireEachIncludedType=True),
    C("secretsmanager", "list_secrets", "bad filter key", Filters=[{"Key": "bogus", "Values": ["x"]}]),  # type: ignore[list-item]
    C("secretsmanager", "list_secrets", "bad token", NextToken="garbage"),
    C("secretsmanager", "list_secrets", "bad sort", SortOrder="bogus"),
    C("secretsmanager", "tag_resource", "missing", SecretId="probe-missing", Tags=[{"Key": "a", "Value": "b"}]),
    C("secretsmanager", "untag_resource", "missing", SecretId="probe-missing", TagKeys=["a"]),
    C("secretsmanager", "replicate_secret_to_regions", "bad region", SecretId="$SECRET", AddReplicaRegions=[{"Region": "bogus-1"}]),
    C("secretsmanager", "remove_regions_from_replication", "not replicated", SecretId="$SECRET", RemoveReplicaRegions=["eu-west-1"]),
    C("secretsmanager", "restore_secret", "not deleted", SecretId="$SECRET"),
    C("secretsmanager", "delete_secret", "window 3", SecretId="$SECRET", RecoveryWindowInDays=3),
    C("secretsmanager", "delete_secret", "window and force", SecretId="$SECRET", RecoveryWindowInDays=7, ForceDeleteWithoutRecovery=True),
    C("secretsmanager", "cancel_rotate_secret", "not rotating", SecretId="$SECRET"),
    C("secretsmanager", "batch_get_secret_value", "both filters and ids", SecretIdList=["$SECRET"], Filters=[{"Key": "name", "Values": ["x"]}]),
    C("secretsmanager", "batch_get_secret_value", "bad filter", Filters=[{"Key": "bogus", "Values": ["x"]}]),  # type: ignore[list-item]
    C("secretsmanager", "stop_replication_to_replica", "not a replica", SecretId="$SECRET"),
    # ------------------------------------------------------------------ KMS (json)
    C("kms", "create_key", "policy not json", Policy="not json").expect("MalformedPolicyDocumentException"),
    C("kms", "create_key", "policy json array", Policy="[1]").expect("MalformedPolicyDocumentException"),
    C("kms", "create_key", "policy no statement", Policy="{}").expect("MalformedPolicyDocumentException"),
    C("kms", "create_key", "hmac for encryption", KeySpec="HMAC_256", KeyUsage="ENCRYPT_DECRYPT").expect("ValidationException"),
    C("kms", "create_key", "rsa for mac", KeySpec="RSA_2048", KeyUsage="GENERATE_VERIFY_MAC").expect("ValidationException"),
    C("kms", "create_key", "symmetric for signing", KeySpec="SYMMETRIC_DEFAULT", KeyUsage="SIGN_VERIFY").expect("ValidationException"),
    C("kms", "create_key", "external with spec", Origin="EXTERNAL", KeySpec="RSA_2048").accepted_by_aws(),
    C("kms", "create_key", "custom store missing", Origin="AWS_CLOUDHSM", CustomKeyStoreId="cks-1234567890abcdef0"),
    C("kms", "create_key", "bad tags", Tags=[{"TagKey": "aws:x", "TagValue": "v"}]).expect("TagException"),
    C("kms", "put_key_policy", "not json", KeyId="$KEY", PolicyName="default", Policy="not json").expect("MalformedPolicyDocumentException"),
    C("kms", "put_key_policy", "json array", KeyId="$KEY", PolicyName="default", Policy="[1]").expect("MalformedPolicyDocumentException"),
    C("kms", "put_key_policy", "no principal", KeyId="$KEY", PolicyName="default", Policy=_policy({"Effect": "Allow", "Action": "kms:*", "Resource": "*"})).expect("MalformedPolicyDocumentException"),
    C("kms", "put_key_policy", "bad name", KeyId="$KEY", PolicyName="bogus", Policy=_policy({"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "kms:*", "Resource": "*"})),
    C("kms", "get_key_policy", "bad name", KeyId="$KEY", PolicyName="bogus"),
    C("kms", "encrypt", "garbage key", KeyId="garbage", Plaintext=b"x"),
    C("kms", "encrypt", "missing alias", KeyId="alias/probe-missing", Plaintext=b"x"),
    C("kms", "encrypt", "malformed arn", KeyId="arn:aws:kms:garbage", Plaintext=b"x"),
    C("kms", "encrypt", "missing key arn", KeyId=f"arn:aws:kms:us-east-1:{ACCOUNT}:key/00000000-0000-0000-0000-000000000000", Plaintext=b"x"),
    C("kms", "encrypt", "asymmetric bad algorithm", KeyId="$RSA", Plaintext=b"x", EncryptionAlgorithm="SYMMETRIC_DEFAULT"),
    C("kms", "encrypt", "symmetric with rsa algorithm", KeyId="$KEY", Plaintext=b"x", EncryptionAlgorithm="RSAES_OAEP_SHA_256"),
    C("kms", "encrypt", "sign key", KeyId="$SIGN", Plaintext=b"x").expect("InvalidKeyUsageException"),
    C("kms", "encrypt", "disabled key", KeyId="$DISABLED", Plaintext=b"x").expect("DisabledException"),
    C("kms", "decrypt", "garbage blob", CiphertextBlob=b"garbage"),
    C("kms", "decrypt", "garbage blob with key", CiphertextBlob=b"garbage", KeyId="$KEY"),
    C("kms", "decrypt", "long garbage blob", CiphertextBlob=b"g" * 200),
    C("kms", "decrypt", "wrong key", CiphertextBlob="$CIPHERTEXT", KeyId="$RSA"),
    C("kms", "decrypt", "wrong context", CiphertextBlob="$CIPHERTEXT", EncryptionContext={"a": "b"}),
    C("kms", "re_encrypt", "garbage blob", CiphertextBlob=b"garbage", DestinationKeyId="$KEY"),
    C("kms", "re_encrypt", "bad destination", CiphertextBlob="$CIPHERTEXT", DestinationKeyId="garbage"),
    C("kms", "create_alias", "no prefix", AliasName="noprefix", TargetKeyId="$KEY"),
    C("kms", "create_alias", "aws prefix", AliasName="alias/aws/probe", TargetKeyId="$KEY"),
    C("kms", "create_alias", "bad chars", AliasName="alias/a b!", TargetKeyId="$KEY"),
    C("kms", "create_alias", "missing key", AliasName="alias/probe-new", TargetKeyId="00000000-0000-0000-0000-000000000000"),
    C("kms", "create_alias", "alias as target", AliasName="alias/probe-new2", TargetKeyId="alias/probe-alias"),
    C("kms", "create_alias", "exists", AliasName="alias/probe-alias", TargetKeyId="$KEY"),
    C("kms", "update_alias", "missing key", AliasName="alias/probe-alias", TargetKeyId="00000000-0000-0000-0000-000000000000"),
    C("kms", "update_alias", "missing alias", AliasName="alias/probe-missing", TargetKeyId="$KEY"),
    C("kms", "delete_alias", "missing", AliasName="alias/probe-missing"),
    C("kms", "delete_alias", "no prefix", AliasName="noprefix"),
    C("kms", "generate_data_key", "no size", KeyId="$KEY"),
    C("kms", "generate_data_key", "both sizes", KeyId="$KEY", KeySpec="AES_256", NumberOfBytes=32),
    C("kms", "generate_data_key", "asymmetric key", KeyId="$RSA", KeySpec="AES_256").expect("InvalidKeyUsageException"),
    C("kms", "generate_data_key_pair", "symmetric key", KeyId="$KEY", KeyPairSpec="RSA_2048"),
    C("kms", "generate_mac", "symmetric key", KeyId="$KEY", Message=b"x", MacAlgorithm="HMAC_SHA_256"),
    C("kms", "verify_mac", "symmetric key", KeyId="$KEY", Message=b"x", MacAlgorithm="HMAC_SHA_256", Mac=b"x"),
    C("kms", "sign", "symmetric key", KeyId="$KEY", Message=b"x", SigningAlgorithm="RSASSA_PSS_SHA_256"),
    C("kms", "sign", "wrong algorithm", KeyId="$SIGN", Message=b"x", SigningAlgorithm="ECDSA_SHA_256"),
    C("kms", "sign", "digest wrong size", KeyId="$SIGN", Message=b"x", MessageType="DIGEST", SigningAlgorithm="RSASSA_PSS_SHA_256"),
    C("kms", "verify", "garbage signature", KeyId="$SIGN", Message=b"x", Signature=b"garbage", SigningAlgorithm="RSASSA_PSS_SHA_256"),
    C("kms", "verify", "symmetric key", KeyId="$KEY", Message=b"x", Signature=b"garbage", SigningAlgorithm="RSASSA_PSS_SHA_256"),
    C("kms", "get_public_key", "symmetric key", KeyId="$KEY").expect("UnsupportedOperationException"),
    C("kms", "enable_key_rotation", "asymmetric key", KeyId="$RSA").expect("UnsupportedOperationException"),
    C("kms", "enable_key_rotation", "period too short", KeyId="$KEY", RotationPeriodInDays=10),
    C("kms", "enable_key_rotation", "garbage key", KeyId="garbage"),
    C("kms", "get_key_rotation_status", "garbage key", KeyId="garbage"),
    C("kms", "schedule_key_deletion", "window 1", KeyId="$KEY", PendingWindowInDays=1).expect("ValidationException"),
    C("kms", "schedule_key_deletion", "window 40", KeyId="$KEY", PendingWindowInDays=40).expect("ValidationException"),
    C("kms", "cancel_key_deletion", "not pending", KeyId="$KEY").expect("KMSInvalidStateException"),
    C("kms", "create_grant", "garbage grantee", KeyId="$KEY", GranteePrincipal="garbage", Operations=["Encrypt"]),
    C("kms", "create_grant", "garbage key", KeyId="garbage", GranteePrincipal=f"arn:aws:iam::{ACCOUNT}:root", Operations=["Encrypt"]),
    C("kms", "revoke_grant", "missing grant", KeyId="$KEY", GrantId="garbage"),
    C("kms", "retire_grant", "garbage token", GrantToken="garbage"),
    C("kms", "list_grants", "garbage key", KeyId="garbage"),
    C("kms", "tag_resource", "aws tag", KeyId="$KEY", Tags=[{"TagKey": "aws:x", "TagValue": "v"}]).expect("TagException"),
    C("kms", "tag_resource", "garbage key", KeyId="garbage", Tags=[{"TagKey": "a", "TagValue": "v"}]),
    C("kms", "untag_resource", "garbage key", KeyId="garbage", TagKeys=["a"]),
    C("kms", "describe_key", "garbage arn", KeyId=f"arn:aws:kms:us-east-1:{ACCOUNT}:key/bad"),
    C("kms", "describe_key", "alias arn missing", KeyId=f"arn:aws:kms:us-east-1:{ACCOUNT}:alias/probe-missing"),
    C("kms", "list_key_policies", "missing key", KeyId="00000000-0000-0000-0000-000000000000"),
    C("kms", "list_resource_tags", "garbage key", KeyId="garbage"),
    C("kms", "list_aliases", "garbage key", KeyId="garbage"),
    C("kms", "list_keys", "bad marker", Marker="garbage"),
    C("kms", "disable_key", "garbage key", KeyId="garbage"),
    C("kms", "update_key_description", "garbage key", KeyId="garbage", Description="d"),
    C("kms", "get_parameters_for_import", "not external", KeyId="$KEY", WrappingAlgorithm="RSAES_OAEP_SHA_256", WrappingKeySpec="RSA_2048"),
    C("kms", "import_key_material", "not external", KeyId="$KEY", ImportToken=b"t", EncryptedKeyMaterial=b"m", ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE"),
    C("kms", "replicate_key", "not multi-region", KeyId="$KEY", ReplicaRegion="us-west-2"),
    C("kms", "generate_random", "zero bytes", NumberOfBytes=0),
    # ------------------------------------------------------------------ EventBridge (json)
    C("events", "put_rule", "pattern not json", Name="probe-r-1", EventPattern="not json"),
    C("events", "put_rule", "pattern array", Name="probe-r-2", EventPattern="[1]"),
    C("events", "put_rule", "pattern bad leaf", Name="probe-r-3", EventPattern=json.dumps({"source": "aws.ec2"})),
    C("events", "put_rule", "pattern bad operator", Name="probe-r-4", EventPattern=json.dumps({"source": [{"bogus": 1}]})).expect("InvalidEventPatternException"),
    C("events", "put_rule", "pattern bad numeric", Name="probe-r-5", EventPattern=json.dumps({"detail": {"n": [{"numeric": [">", "x"]}]}})).expect("InvalidEventPatternException"),
    C("events", "put_rule", "pattern empty object", Name="probe-r-6", EventPattern="{}"),
    C("events", "put_rule", "schedule garbage", Name="probe-r-7", ScheduleExpression="garbage"),
    C("events", "put_rule", "schedule bad rate", Name="probe-r-8", ScheduleExpression="rate(bogus)"),
    C("events", "put_rule", "schedule bad cron", Name="probe-r-9", ScheduleExpression="cron(1 2 3)").expect("ValidationException"),
    C("events", "put_rule", "neither", Name="probe-r-10"),
    C("events", "put_rule", "bad state", Name="probe-r-11", ScheduleExpression="rate(1 minute)", State="BOGUS"),
    C("events", "put_rule", "missing bus", Name="probe-r-12", ScheduleExpression="rate(1 minute)", EventBusName="probe-missing"),
    C("events", "put_rule", "bad role", Name="probe-r-13", ScheduleExpression="rate(1 minute)", RoleArn="garbage").expect("ValidationException"),
    C("events", "put_targets", "bad arn", Rule="$RULE", Targets=[{"Id": "t1", "Arn": "garbage"}]),
    C("events", "put_targets", "input not json", Rule="$RULE", Targets=[{"Id": "t2", "Arn": "$QUEUE_ARN", "Input": "not json"}]),
    C("events", "put_targets", "bad input path", Rule="$RULE", Targets=[{"Id": "t3", "Arn": "$QUEUE_ARN", "InputPath": "garbage"}]),
    C("events", "put_targets", "input and path", Rule="$RULE", Targets=[{"Id": "t4", "Arn": "$QUEUE_ARN", "Input": "{}", "InputPath": "$.detail"}]),
    C("events", "put_targets", "bad transformer", Rule="$RULE", Targets=[{"Id": "t5", "Arn": "$QUEUE_ARN", "InputTransformer": {"InputPathsMap": {"a": "garbage"}, "InputTemplate": "<a>"}}]),
    C("events", "put_targets", "missing rule", Rule="probe-missing", Targets=[{"Id": "t6", "Arn": "$QUEUE_ARN"}]),
    C("events", "put_targets", "bad retry", Rule="$RULE", Targets=[{"Id": "t7", "Arn": "$QUEUE_ARN", "RetryPolicy": {"MaximumRetryAttempts": 1000}}]),
    C("events", "put_targets", "bad dlq", Rule="$RULE", Targets=[{"Id": "t8", "Arn": "$QUEUE_ARN", "DeadLetterConfig": {"Arn": "garbage"}}]).expect("ValidationException"),
    # A standard queue ($QUEUE_ARN) takes a MessageGroupId too (SQS's fair queues): EventBridge passes it on.
    C("events", "put_targets", "sqs params on fifo", Rule="$RULE", Targets=[{"Id": "t9", "Arn": "$QUEUE_ARN", "SqsParameters": {"MessageGroupId": "g"}}]).accepted_by_aws(),
    C("events", "remove_targets", "missing rule", Rule="probe-missing", Ids=["t1"]),
    C("events", "remove_targets", "missing target", Rule="$RULE", Ids=["probe-missing"]),
    C("events", "put_events", "detail not json", Entries=[{"Source": "probe", "DetailType": "d", "Detail": "not json"}]).accepted_by_aws(),
    C("events", "put_events", "detail array", Entries=[{"Source": "probe", "DetailType": "d", "Detail": "[1]"}]),
    C("events", "put_events", "empty source", Entries=[{"Source": "", "DetailType": "d", "Detail": "{}"}]).accepted_by_aws(),
    C("events", "put_events", "no detail type", Entries=[{"Source": "probe", "Detail": "{}"}]).accepted_by_aws(),
    C("events", "put_events", "missing bus", Entries=[{"Source": "probe", "DetailType": "d", "Detail": "{}", "EventBusName": "probe-missing"}]),
    C("events", "put_events", "bad resources", Entries=[{"Source": "probe", "DetailType": "d", "Detail": "{}", "Resources": ["garbage"]}]),
    C("events", "put_events", "11 entries", Entries=[{"Source": "probe", "DetailType": "d", "Detail": "{}"}] * 11),
    C("events", "test_event_pattern", "pattern not json", EventPattern="not json", Event=json.dumps({"source": "x"})).expect("InvalidEventPatternException"),
    C("events", "test_event_pattern", "event not json", EventPattern=json.dumps({"source": ["x"]}), Event="not json").expect("ValidationException"),
    C("events", "test_event_pattern", "event missing fields", EventPattern=json.dumps({"source": ["x"]}), Event=json.dumps({"source": "x"})).expect("ValidationException"),
    C("events", "test_event_pattern", "event array", EventPattern=json.dumps({"source": ["x"]}), Event="[1]").expect("ValidationException"),
    C("events", "put_permission", "policy not json", Policy="not json").expect("ValidationException"),
    C("events", "put_permission", "policy array", Policy="[1]").expect("ValidationException"),
    C("events", "put_permission", "policy no statement", Policy="{}").expect("ValidationException"),
    C("events", "put_permission", "statement without sid", Policy=_policy({"Effect": "Allow", "Principal": {"AWS": ACCOUNT}, "Action": "events:PutEvents", "Resource": "$BUS_ARN"})).expect("ValidationException"),
    C("events", "put_permission", "bad action", Action="bogus", Principal="*", StatementId="s1"),
    C("events", "put_permission", "bad principal", Action="events:PutEvents", Principal="garbage", StatementId="s2"),
    C("events", "put_permission", "missing bus", EventBusName="probe-missing", Action="events:PutEvents", Principal=ACCOUNT, StatementId="s3"),
    C("events", "remove_permission", "missing statement", StatementId="probe-missing"),
    C("events", "create_event_bus", "bad source", Name="aws.partner/probe", EventSourceName="garbage"),
    C("events", "create_event_bus", "default", Name="default"),
    C("events", "create_event_bus", "policy not json", Name="probe-bus-policy", Policy="not json"),
    C("events", "create_event_bus", "bad kms", Name="probe-bus-kms", KmsKeyIdentifier="garbage"),
    C("events", "describe_event_bus", "missing", Name="probe-missing"),
    C("events", "delete_event_bus", "default", Name="default"),
    C("events", "create_archive", "pattern not json", ArchiveName="probe-archive", EventSourceArn="$BUS_ARN", EventPattern="not json"),
    C("events", "create_archive", "missing bus", ArchiveName="probe-archive2", EventSourceArn=f"arn:aws:events:us-east-1:{ACCOUNT}:event-bus/probe-missing"),
    C("events", "create_archive", "bad source arn", ArchiveName="probe-archive3", EventSourceArn="garbage"),
    C("events", "create_archive", "negative retention", ArchiveName="probe-archive4", EventSourceArn="$BUS_ARN", RetentionDays=-1),
    C("events", "describe_archive", "missing", ArchiveName="probe-missing"),
    C("events", "start_replay", "bad times", ReplayName="probe-replay", EventSourceArn="garbage", EventStartTime=2000000000, EventEndTime=1000000000, Destination={"Arn": "garbage"}),
    C("events", "create_connection", "bad auth type", Name="probe-conn", AuthorizationType="BOGUS", AuthParameters={}),
    C("events", "create_connection", "missing auth params", Name="probe-conn2", AuthorizationType="API_KEY", AuthParameters={}),
    C("events", "create_api_destination", "bad method", Name="probe-api", ConnectionArn="garbage", InvocationEndpoint="https://example.com", HttpMethod="BOGUS"),
    C("events", "create_api_destination", "missing connection", Name="probe-api2", ConnectionArn=f"arn:aws:events:us-east-1:{ACCOUNT}:connection/probe-missing/00000000-0000-0000-0000-000000000000", InvocationEndpoint="https://example.com", HttpMethod="GET"),
    C("events", "describe_rule", "missing", Name="probe-missing"),
    C("events", "describe_rule", "missing bus", Name="$RULE", EventBusName="probe-missing"),
    C("events", "enable_rule", "missing", Name="probe-missing"),
    C("events", "delete_rule", "has targets", Name="$RULE"),
    C("events", "list_targets_by_rule", "missing", Rule="probe-missing"),
    C("events", "list_rules", "bad token", NextToken="garbage"),
    C("events", "list_rule_names_by_target", "bad arn", TargetArn="garbage"),
    C("events", "tag_resource", "bad arn", ResourceARN="garbage", Tags=[{"Key": "a", "Value": "b"}]),
    C("events", "tag_resource", "missing rule", ResourceARN=f"arn:aws:events:us-east-1:{ACCOUNT}:rule/probe-missing", Tags=[{"Key": "a", "Value": "b"}]),
    C("events", "list_tags_for_resource", "bad arn", ResourceARN="garbage"),
    C("events", "create_partner_event_source", "bad name", Name="garbage", Account=ACCOUNT),
    # ------------------------------------------------------------------ Kinesis (json)
    C("kinesis", "create_stream", "bad name", StreamName="probe stream!", ShardCount=1),
    C("kinesis", "create_stream", "on demand with shards", StreamName="probe-s-od", ShardCount=1, StreamModeDetails={"StreamMode": "ON_DEMAND"}),
    C("kinesis", "create_stream", "exists", StreamName="$STREAM", ShardCount=1),
    C("kinesis", "create_stream", "no shards", StreamName="probe-s-none"),
    C("kinesis", "put_record", "empty partition key", StreamName="$STREAM", Data=b"x", PartitionKey=""),
    C("kinesis", "put_record", "bad hash key", StreamName="$STREAM", Data=b"x", PartitionKey="p", ExplicitHashKey="abc"),
    C("kinesis", "put_record", "hash key out of range", StreamName="$STREAM", Data=b"x", PartitionKey="p", ExplicitHashKey=str(2**128 + 5)),
    C("kinesis", "put_record", "bad sequence", StreamName="$STREAM", Data=b"x", PartitionKey="p", SequenceNumberForOrdering="abc"),
    C("kinesis", "put_record", "missing stream", StreamName="probe-missing", Data=b"x", PartitionKey="p"),
    C("kinesis", "put_record", "malformed arn", StreamARN="arn:aws:kinesis:garbage", Data=b"x", PartitionKey="p"),
    C("kinesis", "put_record", "no stream", Data=b"x", PartitionKey="p"),
    C("kinesis", "put_records", "bad hash key", StreamName="$STREAM", Records=[{"Data": b"x", "PartitionKey": "p", "ExplicitHashKey": "abc"}]),
    C("kinesis", "put_records", "empty partition key", StreamName="$STREAM", Records=[{"Data": b"x", "PartitionKey": ""}]),
    C("kinesis", "get_shard_iterator", "sequence without number", StreamName="$STREAM", ShardId="shardId-000000000000", ShardIteratorType="AT_SEQUENCE_NUMBER"),
    C("kinesis", "get_shard_iterator", "bad sequence", StreamName="$STREAM", ShardId="shardId-000000000000", ShardIteratorType="AT_SEQUENCE_NUMBER", StartingSequenceNumber="abc"),
    C("kinesis", "get_shard_iterator", "timestamp without time", StreamName="$STREAM", ShardId="shardId-000000000000", ShardIteratorType="AT_TIMESTAMP"),
    C("kinesis", "get_shard_iterator", "missing shard", StreamName="$STREAM", ShardId="shardId-000000000099", ShardIteratorType="TRIM_HORIZON"),
    C("kinesis", "get_shard_iterator", "garbage shard", StreamName="$STREAM", ShardId="garbage", ShardIteratorType="TRIM_HORIZON"),
    C("kinesis", "get_shard_iterator", "future sequence", StreamName="$STREAM", ShardId="shardId-000000000000", ShardIteratorType="AT_SEQUENCE_NUMBER", StartingSequenceNumber="9" * 56).expect("InvalidArgumentException"),
    C("kinesis", "get_records", "garbage iterator", ShardIterator="garbage"),
    C("kinesis", "get_records", "base64 garbage iterator", ShardIterator="Z2FyYmFnZQ=="),
    C("kinesis", "get_records", "limit 0", ShardIterator="$ITERATOR", Limit=0),
    C("kinesis", "get_records", "limit huge", ShardIterator="$ITERATOR", Limit=100000),
    C("kinesis", "merge_shards", "not adjacent", StreamName="$STREAM2", ShardToMerge="shardId-000000000000", AdjacentShardToMerge="shardId-000000000002"),
    C("kinesis", "merge_shards", "missing shard", StreamName="$STREAM2", ShardToMerge="shardId-000000000000", AdjacentShardToMerge="shardId-000000000099"),
    C("kinesis", "merge_shards", "same shard", StreamName="$STREAM2", ShardToMerge="shardId-000000000000", AdjacentShardToMerge="shardId-000000000000"),
    C("kinesis", "split_shard", "bad hash key", StreamName="$STREAM", ShardToSplit="shardId-000000000000", NewStartingHashKey="abc"),
    C("kinesis", "split_shard", "hash key out of shard", StreamName="$STREAM", ShardToSplit="shardId-000000000000", NewStartingHashKey="0"),
    C("kinesis", "split_shard", "missing shard", StreamName="$STREAM", ShardToSplit="shardId-000000000099", NewStartingHashKey="100"),
    C("kinesis", "update_shard_count", "huge", StreamName="$STREAM", TargetShardCount=100000, ScalingType="UNIFORM_SCALING"),
    C("kinesis", "update_shard_count", "more than double", StreamName="$STREAM", TargetShardCount=5, ScalingType="UNIFORM_SCALING"),
    C("kinesis", "increase_stream_retention_period", "below current", StreamName="$STREAM", RetentionPeriodHours=5),
    C("kinesis", "increase_stream_retention_period", "too big", StreamName="$STREAM", RetentionPeriodHours=9000),
    C("kinesis", "decrease_stream_retention_period", "above current", StreamName="$STREAM", RetentionPeriodHours=48),
    # AddTagsToStream takes up to 50 tags (botocore's model: "A set of up to 50 key-value pairs"; 10 was an older limit).
    C("kinesis", "add_tags_to_stream", "too many", StreamName="$STREAM", Tags={f"k{i}": "v" for i in range(11)}).accepted_by_aws(),
    C("kinesis", "add_tags_to_stream", "empty key", StreamName="$STREAM", Tags={"": "v"}),
    C("kinesis", "put_resource_policy", "not json", ResourceARN="$STREAM_ARN", Policy="not json"),
    C("kinesis", "put_resource_policy", "json array", ResourceARN="$STREAM_ARN", Policy="[1]"),
    C("kinesis", "put_resource_policy", "bad arn", ResourceARN="arn:aws:kinesis:garbage", Policy="{}"),
    C("kinesis", "get_resource_policy", "bad arn", ResourceARN="arn:aws:kinesis:garbage"),
    C("kinesis", "list_shards", "garbage token", NextToken="garbage"),
    C("kinesis", "list_shards", "token and name", StreamName="$STREAM", NextToken="garbage").expect("InvalidArgumentException"),
    C("kinesis", "list_shards", "bad filter", StreamName="$STREAM", ShardFilter={"Type": "AFTER_SHARD_ID"}).expect("InvalidArgumentException"),
    C("kinesis", "list_shards", "missing stream", StreamName="probe-missing"),
    C("kinesis", "describe_stream", "missing", StreamName="probe-missing"),
    C("kinesis", "describe_stream", "bad exclusive start", StreamName="$STREAM", ExclusiveStartShardId="garbage"),
    C("kinesis", "describe_stream_summary", "malformed arn", StreamARN="arn:aws:kinesis:garbage"),
    C("kinesis", "describe_stream_consumer", "missing", StreamARN="$STREAM_ARN", ConsumerName="probe-missing"),
    C("kinesis", "describe_stream_consumer", "garbage arn", ConsumerARN="arn:aws:kinesis:garbage"),
    C("kinesis", "describe_stream_consumer", "nothing", ConsumerName="x"),
    C("kinesis", "register_stream_consumer", "malformed arn", StreamARN="arn:aws:kinesis:garbage", ConsumerName="c"),
    C("kinesis", "deregister_stream_consumer", "nothing", StreamARN="$STREAM_ARN").expect("InvalidArgumentException"),
    C("kinesis", "list_stream_consumers", "malformed arn", StreamARN="arn:aws:kinesis:garbage"),
    C("kinesis", "start_stream_encryption", "bad key", StreamName="$STREAM", EncryptionType="KMS", KeyId="garbage"),
    C("kinesis", "stop_stream_encryption", "not encrypted", StreamName="$STREAM", EncryptionType="KMS", KeyId="$KEY"),
    C("kinesis", "enable_enhanced_monitoring", "bad metric", StreamName="$STREAM", ShardLevelMetrics=["Bogus"]),
    C("kinesis", "update_stream_mode", "malformed arn", StreamARN="arn:aws:kinesis:garbage", StreamModeDetails={"StreamMode": "ON_DEMAND"}),
    C("kinesis", "delete_stream", "missing", StreamName="probe-missing"),
    # ------------------------------------------------------------------ Lambda (rest-json; no code runs)
    C("lambda", "create_function", "bad runtime", FunctionName="probe-f-1", Runtime="bogus", Role="$ROLE", Handler="index.handler", Code={"ZipFile": "$ZIP"}),
    C("lambda", "create_function", "bad role", FunctionName="probe-f-2", Runtime="python3.12", Role="garbage", Handler="index.handler", Code={"ZipFile": "$ZIP"}),
    C("lambda", "create_function", "missing role", FunctionName="probe-f-3", Runtime="python3.12", Role=f"arn:aws:iam::{ACCOUNT}:role/probe-missing", Handler="index.handler", Code={"ZipFile": "$ZIP"}),
    C("lambda", "create_function", "empty handler", FunctionName="probe-f-4", Runtime="python3.12", Role="$ROLE", Handler="", Code={"ZipFile": "$ZIP"}),
    C("lambda", "create_function", "timeout 0", FunctionName="probe-f-5", Runtime="python3.12", Role="$ROLE", Handler="index.handler", Code={"ZipFile": "$ZIP"}, Timeout=0),
    C("lambda", "create_function", "timeout 1000", FunctionName="probe-f-6", Runtime="python3.12", Role="$ROLE", Handler="index.handler", Code={"ZipFile": "$ZIP"}, Timeout=1000).expect("ValidationException"),
    C("lambda", "create_function", "memory 1", FunctionName="probe-f-7", Runtime="python3.12", Role="$ROLE", Handler="index.handler", Code={"ZipFile": "$ZIP"}, MemorySize=1),
    C("lambda", "create_function", "memory huge", FunctionName="probe-f-8", Runtime="python3.12", Role="$ROLE", Handler="index.handler", Code={"ZipFile": "$ZIP"}, MemorySize=100000),
    C("lambda", "create_function", "bad name", FunctionName="probe f!", Runtime="python3.12", Role="$ROLE", Handler="index.handler", Code={"ZipFile": "$ZIP"}),
    C("lambda", "create_function", "long name", FunctionName="f" * 100, Runtime="python3.12", Role="$ROLE", Handler="index.handler", Code={"ZipFile": "$ZIP"}).expect("ValidationException"),
    C("lambda", "create_function", "not a zip", FunctionName="probe-f-9", Runtime="python3.12", Role="$ROLE", Handler="index.handler", Code={"ZipFile": b"not a zip"}).expect("InvalidParameterValueException"),
    C("lambda", "create_function", "no code", FunctionName="probe-f-10", Runtime="python3.12", Role="$ROLE", Handler="index.handler", Code={}),
    C("lambda", "create_function", "missing s3 code", FunctionName="probe-f-11", Runtime="python3.12", Role="$ROLE", Handler="index.handler", Code={"S3Bucket": "probe-no-such-bucket", "S3Key": "k.zip"}),
    C("lambda", "create_function", "bad architecture", FunctionName="probe-f-12", Runtime="python3.12", Role="$ROLE", Handler="index.handler", Code={"ZipFile": "$ZIP"}, Architectures=["bogus"]),
    C("lambda", "create_function", "bad package type", FunctionName="probe-f-13", Runtime="python3.12", Role="$ROLE", Handler="index.handler", Code={"ZipFile": "$ZIP"}, PackageType="Bogus"),
    C("lambda", "create_function", "image without uri", FunctionName="probe-f-14", Role="$ROLE", Code={"ZipFile": "$ZIP"}, PackageType="Image"),
    C("lambda", "create_function", "bad env key", FunctionName="probe-f-15", Runtime="python3.12", Role="$ROLE", Handler="index.handler", Code={"ZipFile": "$ZIP"}, Environment={"Variables": {"1bad": "v"}}),
    C("lambda", "create_function", "bad layer", FunctionName="probe-f-16", Runtime="python3.12", Role="$ROLE", Handler="index.handler", Code={"ZipFile": "$ZIP"}, Layers=["garbage"]),
    C("lambda", "create_function", "bad dlq", FunctionName="probe-f-17", Runtime="python3.12", Role="$ROLE", Handler="index.handler", Code={"ZipFile": "$ZIP"}, DeadLetterConfig={"TargetArn": "garbage"}),
    C("lambda", "create_function", "bad kms", FunctionName="probe-f-18", Runtime="python3.12", Role="$ROLE", Handler="index.handler", Code={"ZipFile": "$ZIP"}, KMSKeyArn="garbage"),
    C("lambda", "create_function", "bad tracing", FunctionName="probe-f-19", Runtime="python3.12", Role="$ROLE", Handler="index.handler", Code={"ZipFile": "$ZIP"}, TracingConfig={"Mode": "Bogus"}),
    C("lambda", "create_function", "ephemeral small", FunctionName="probe-f-20", Runtime="python3.12", Role="$ROLE", Handler="index.handler", Code={"ZipFile": "$ZIP"}, EphemeralStorage={"Size": 1}),
    C("lambda", "create_function", "bad vpc", FunctionName="probe-f-21", Runtime="python3.12", Role="$ROLE", Handler="index.handler", Code={"ZipFile": "$ZIP"}, VpcConfig={"SubnetIds": ["garbage"], "SecurityGroupIds": ["garbage"]}),
    C("lambda", "create_function", "exists", FunctionName="$FUNC", Runtime="python3.12", Role="$ROLE", Handler="index.handler", Code={"ZipFile": "$ZIP"}),
    C("lambda", "update_function_configuration", "timeout negative", FunctionName="$FUNC", Timeout=-1),
    C("lambda", "update_function_configuration", "bad runtime", FunctionName="$FUNC", Runtime="bogus"),
    C("lambda", "update_function_configuration", "bad role", FunctionName="$FUNC", Role="garbage"),
    C("lambda", "update_function_configuration", "missing", FunctionName="probe-missing", Timeout=3),
    C("lambda", "update_function_code", "not a zip", FunctionName="$FUNC", ZipFile=b"not a zip").expect("InvalidParameterValueException"),
    C("lambda", "update_function_code", "nothing", FunctionName="$FUNC"),
    C("lambda", "update_function_code", "missing s3", FunctionName="$FUNC", S3Bucket="probe-no-such-bucket", S3Key="k.zip"),
    C("lambda", "add_permission", "bad action", FunctionName="$FUNC", StatementId="s1", Action="bogus", Principal="s3.amazonaws.com"),
    C("lambda", "add_permission", "empty principal", FunctionName="$FUNC", StatementId="s2", Action="lambda:InvokeFunction", Principal=""),
    C("lambda", "add_permission", "bad source arn", FunctionName="$FUNC", StatementId="s3", Action="lambda:InvokeFunction", Principal="s3.amazonaws.com", SourceArn="garbage"),
    C("lambda", "add_permission", "duplicate", FunctionName="$FUNC", StatementId="$PERMISSION", Action="lambda:InvokeFunction", Principal="s3.amazonaws.com").expect("ResourceConflictException"),
    C("lambda", "add_permission", "bad statement id", FunctionName="$FUNC", StatementId="bad id!", Action="lambda:InvokeFunction", Principal="s3.amazonaws.com"),
    C("lambda", "add_permission", "missing function", FunctionName="probe-missing", StatementId="s4", Action="lambda:InvokeFunction", Principal="s3.amazonaws.com"),
    C("lambda", "add_permission", "bad qualifier", FunctionName="$FUNC", StatementId="s5", Action="lambda:InvokeFunction", Principal="s3.amazonaws.com", Qualifier="bogus"),
    C("lambda", "add_permission", "bad url auth", FunctionName="$FUNC", StatementId="s6", Action="lambda:InvokeFunctionUrl", Principal="*", FunctionUrlAuthType="BOGUS"),
    C("lambda", "add_permission", "bad principal", FunctionName="$FUNC", StatementId="s7", Action="lambda:InvokeFunction", Principal="garbage").expect("InvalidParameterValueException"),
    C("lambda", "remove_permission", "missing", FunctionName="$FUNC", StatementId="probe-missing"),
    C("lambda", "get_policy", "none", FunctionName="$FUNC2"),
    C("lambda", "get_function", "malformed arn", FunctionName="arn:aws:lambda:garbage"),
    C("lambda", "get_function", "missing", FunctionName="probe-missing"),
    C("lambda", "get_function", "missing arn", FunctionName=f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:probe-missing"),
    C("lambda", "get_function", "bad qualifier", FunctionName="$FUNC", Qualifier="bogus"),
    C("lambda", "get_function", "missing version", FunctionName="$FUNC", Qualifier="99"),
    C("lambda", "get_function_configuration", "bad qualifier", FunctionName="$FUNC", Qualifier="bad qualifier!"),
    C("lambda", "delete_function", "missing", FunctionName="probe-missing"),
    C("lambda", "delete_function", "missing version", FunctionName="$FUNC", Qualifier="99"),
    C("lambda", "invoke", "missing function", FunctionName="probe-missing", Payload=b"{}"),
    C("lambda", "invoke", "bad invocation type", FunctionName="probe-missing", InvocationType="Bogus", Payload=b"{}"),
    C("lambda", "create_event_source_mapping", "bad arn", FunctionName="$FUNC", EventSourceArn="garbage"),
    C("lambda", "create_event_source_mapping", "batch 0", FunctionName="$FUNC", EventSourceArn="$QUEUE_ARN", BatchSize=0),
    C("lambda", "create_event_source_mapping", "batch huge", FunctionName="$FUNC", EventSourceArn="$QUEUE_ARN", BatchSize=100000),
    C("lambda", "create_event_source_mapping", "bad position", FunctionName="$FUNC", EventSourceArn="$STREAM_ARN", StartingPosition="BOGUS"),
    C("lambda", "create_event_source_mapping", "stream without position", FunctionName="$FUNC", EventSourceArn="$STREAM_ARN"),
    C("lambda", "create_event_source_mapping", "missing queue", FunctionName="$FUNC", EventSourceArn=f"arn:aws:sqs:us-east-1:{ACCOUNT}:probe-missing"),
    C("lambda", "create_event_source_mapping", "missing function", FunctionName="probe-missing", EventSourceArn="$QUEUE_ARN"),
    C("lambda", "create_event_source_mapping", "filter not json", FunctionName="$FUNC", EventSourceArn="$QUEUE_ARN", FilterCriteria={"Filters": [{"Pattern": "not json"}]}).expect("InvalidParameterValueException"),
    C("lambda", "get_event_source_mapping", "garbage uuid", UUID="garbage"),
    C("lambda", "update_event_source_mapping", "garbage uuid", UUID="garbage", BatchSize=5),
    C("lambda", "delete_event_source_mapping", "garbage uuid", UUID="garbage"),
    C("lambda", "list_event_source_mappings", "bad arn", EventSourceArn="garbage"),
    C("lambda", "put_function_concurrency", "negative", FunctionName="$FUNC", ReservedConcurrentExecutions=-1),
    C("lambda", "put_function_concurrency", "huge", FunctionName="$FUNC", ReservedConcurrentExecutions=1000000).expect("InvalidParameterValueException"),
    C("lambda", "put_provisioned_concurrency_config", "on latest", FunctionName="$FUNC", Qualifier="$LATEST", ProvisionedConcurrentExecutions=1),
    C("lambda", "create_alias", "bad version", FunctionName="$FUNC", Name="probe-alias", FunctionVersion="bogus"),
    C("lambda", "create_alias", "missing version", FunctionName="$FUNC", Name="probe-alias2", FunctionVersion="99"),
    C("lambda", "create_alias", "bad weights", FunctionName="$FUNC", Name="probe-alias3", FunctionVersion="1", RoutingConfig={"AdditionalVersionWeights": {"2": 5.0}}),
    C("lambda", "create_alias", "numeric name", FunctionName="$FUNC", Name="123", FunctionVersion="1"),
    C("lambda", "create_alias", "exists", FunctionName="$FUNC", Name="$ALIAS", FunctionVersion="1"),
    C("lambda", "get_alias", "missing", FunctionName="$FUNC", Name="probe-missing"),
    C("lambda", "update_alias", "missing", FunctionName="$FUNC", Name="probe-missing", FunctionVersion="1"),
    C("lambda", "delete_alias", "missing", FunctionName="$FUNC", Name="probe-missing"),
    C("lambda", "publish_version", "bad sha", FunctionName="$FUNC", CodeSha256="garbage").expect("InvalidParameterValueException"),
    C("lambda", "publish_version", "bad revision", FunctionName="$FUNC", RevisionId="garbage"),
    C("lambda", "publish_layer_version", "not a zip", LayerName="probe-layer", Content={"ZipFile": b"not a zip"}).expect("InvalidParameterValueException"),
    C("lambda", "publish_layer_version", "no content", LayerName="probe-layer2", Content={}),
    C("lambda", "publish_layer_version", "bad runtime", LayerName="probe-layer3", Content={"ZipFile": "$ZIP"}, CompatibleRuntimes=["bogus"]),
    C("lambda", "get_layer_version", "missing", LayerName="probe-missing", VersionNumber=1),
    C("lambda", "get_layer_version_by_arn", "garbage arn", Arn="arn:aws:lambda:us-east-1:000000000000:layer:garbage:1"),
    C("lambda", "delete_layer_version", "missing", LayerName="probe-missing", VersionNumber=1),
    C("lambda", "tag_resource", "bad arn", Resource="garbage", Tags={"a": "b"}),
    C("lambda", "tag_resource", "missing function", Resource=f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:probe-missing", Tags={"a": "b"}),
    C("lambda", "list_tags", "bad arn", Resource="garbage"),
    C("lambda", "untag_resource", "bad arn", Resource="garbage", TagKeys=["a"]),
    C("lambda", "put_function_event_invoke_config", "retries 5", FunctionName="$FUNC", MaximumRetryAttempts=5),
    C("lambda", "put_function_event_invoke_config", "bad destination", FunctionName="$FUNC", DestinationConfig={"OnFailure": {"Destination": "garbage"}}),
    C("lambda", "get_function_event_invoke_config", "none", FunctionName="$FUNC2"),
    C("lambda", "create_function_url_config", "bad auth", FunctionName="$FUNC", AuthType="BOGUS"),
    C("lambda", "create_function_url_config", "bad cors", FunctionName="$FUNC", AuthType="NONE", Cors={"AllowMethods": ["BOGUS"], "MaxAge": -1}),
    C("lambda", "create_function_url_config", "bad qualifier", FunctionName="$FUNC", AuthType="NONE", Qualifier="99"),
    C("lambda", "get_function_url_config", "none", FunctionName="$FUNC2"),
    C("lambda", "list_functions", "max 0", MaxItems=0),
    C("lambda", "list_functions", "bad marker", Marker="garbage").expect("InvalidParameterValueException"),
    C("lambda", "list_functions", "bad version", FunctionVersion="BOGUS"),
    C("lambda", "list_versions_by_function", "missing", FunctionName="probe-missing").expect("ResourceNotFoundException"),
    C("lambda", "list_aliases", "missing", FunctionName="probe-missing"),
    C("lambda", "get_account_settings", "none"),
    C("lambda", "put_function_code_signing_config", "bad arn", FunctionName="$FUNC", CodeSigningConfigArn="garbage"),
    C("lambda", "get_function_concurrency", "missing", FunctionName="probe-missing"),
    # ------------------------------------------------------------------ Step Functions (json)
    C("stepfunctions", "create_state_machine", "definition not json", name="probe-sm-1", definition="not json", roleArn="$SFN_ROLE").expect("InvalidDefinition"),
    C("stepfunctions", "create_state_machine", "definition empty object", name="probe-sm-2", definition="{}", roleArn="$SFN_ROLE").expect("InvalidDefinition"),
    C("stepfunctions", "create_state_machine", "definition array", name="probe-sm-3", definition="[1]", roleArn="$SFN_ROLE").expect("InvalidDefinition"),
    C("stepfunctions", "create_state_machine", "missing start state", name="probe-sm-4", definition=json.dumps({"StartAt": "X", "States": {"P": {"Type": "Pass", "End": True}}}), roleArn="$SFN_ROLE").expect("InvalidDefinition"),
    C("stepfunctions", "create_state_machine", "bad state type", name="probe-sm-5", definition=json.dumps({"StartAt": "P", "States": {"P": {"Type": "Bogus", "End": True}}}), roleArn="$SFN_ROLE").expect("InvalidDefinition"),
    C("stepfunctions", "create_state_machine", "bad role", name="probe-sm-6", definition=PASS_MACHINE, roleArn="garbage"),
    C("stepfunctions", "create_state_machine", "bad name", name="probe sm!", definition=PASS_MACHINE, roleArn="$SFN_ROLE"),
    C("stepfunctions", "create_state_machine", "exists other definition", name="$SM_NAME", definition=json.dumps({"StartAt": "Q", "States": {"Q": {"Type": "Pass", "End": True}}}), roleArn="$SFN_ROLE").expect("StateMachineAlreadyExists"),
    C("stepfunctions", "create_state_machine", "bad logging", name="probe-sm-7", definition=PASS_MACHINE, roleArn="$SFN_ROLE", loggingConfiguration={"level": "ALL", "destinations": [{"cloudWatchLogsLogGroup": {"logGroupArn": "garbage"}}]}).expect("InvalidLoggingConfiguration"),
    C("stepfunctions", "create_state_machine", "bad tags", name="probe-sm-8", definition=PASS_MACHINE, roleArn="$SFN_ROLE", tags=[{"key": "", "value": "v"}]),
    C("stepfunctions", "create_state_machine", "next names no state", name="probe-sm-9", definition=json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "Next": "Nowhere"}}}), roleArn="$SFN_ROLE").expect("InvalidDefinition"),
    C("stepfunctions", "create_state_machine", "task without resource", name="probe-sm-10", definition=json.dumps({"StartAt": "T", "States": {"T": {"Type": "Task", "End": True}}}), roleArn="$SFN_ROLE").expect("InvalidDefinition"),
    C("stepfunctions", "create_state_machine", "choice without choices", name="probe-sm-11", definition=json.dumps({"StartAt": "C", "States": {"C": {"Type": "Choice", "Default": "E"}, "E": {"Type": "Succeed"}}}), roleArn="$SFN_ROLE").expect("InvalidDefinition"),
    C("stepfunctions", "create_state_machine", "unreachable state", name="probe-sm-12", definition=json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}, "Q": {"Type": "Pass", "End": True}}}), roleArn="$SFN_ROLE").expect("InvalidDefinition"),
    C("stepfunctions", "create_state_machine", "no transition", name="probe-sm-13", definition=json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass"}}}), roleArn="$SFN_ROLE").expect("InvalidDefinition"),
    C("stepfunctions", "create_state_machine", "no terminal state", name="probe-sm-14", definition=json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "Next": "Q"}, "Q": {"Type": "Pass", "Next": "P"}}}), roleArn="$SFN_ROLE").expect("InvalidDefinition"),
    C("stepfunctions", "create_state_machine", "bad branch", name="probe-sm-15", definition=json.dumps({"StartAt": "P", "States": {"P": {"Type": "Parallel", "Branches": [{"StartAt": "X", "States": {}}], "End": True}}}), roleArn="$SFN_ROLE").expect("InvalidDefinition"),
    C("stepfunctions", "start_execution", "bad arn", stateMachineArn="garbage"),
    C("stepfunctions", "start_execution", "missing machine", stateMachineArn=f"arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:probe-missing"),
    C("stepfunctions", "start_execution", "input not json", stateMachineArn="$SM", input="not json"),
    C("stepfunctions", "start_execution", "input array", stateMachineArn="$SM", input="[1]").accepted_by_aws(),
    C("stepfunctions", "start_execution", "bad name", stateMachineArn="$SM", name="bad name!"),
    C("stepfunctions", "start_execution", "duplicate name", stateMachineArn="$SM", name="$EXECUTION_NAME", input='{"other": 1}'),
    C("stepfunctions", "start_sync_execution", "bad arn", stateMachineArn="garbage"),
    C("stepfunctions", "describe_execution", "bad arn", executionArn="garbage"),
    C("stepfunctions", "describe_execution", "missing", executionArn=f"arn:aws:states:us-east-1:{ACCOUNT}:execution:probe-missing:x"),
    C("stepfunctions", "describe_state_machine", "bad arn", stateMachineArn="garbage"),
    C("stepfunctions", "describe_state_machine", "missing", stateMachineArn=f"arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:probe-missing"),
    C("stepfunctions", "describe_state_machine_for_execution", "bad arn", executionArn="garbage"),
    C("stepfunctions", "update_state_machine", "definition not json", stateMachineArn="$SM", definition="not json").expect("InvalidDefinition"),
    C("stepfunctions", "update_state_machine", "definition bad", stateMachineArn="$SM", definition="{}").expect("InvalidDefinition"),
    C("stepfunctions", "update_state_machine", "bad role", stateMachineArn="$SM", roleArn="garbage").expect("InvalidArn"),
    C("stepfunctions", "update_state_machine", "nothing", stateMachineArn="$SM").expect("MissingRequiredParameter"),
    C("stepfunctions", "update_state_machine", "bad arn", stateMachineArn="garbage", definition=PASS_MACHINE),
    C("stepfunctions", "delete_state_machine", "bad arn", stateMachineArn="garbage"),
    C("stepfunctions", "send_task_success", "garbage token", taskToken="garbage", output="{}"),
    C("stepfunctions", "send_task_success", "output not json", taskToken="garbage", output="not json"),
    C("stepfunctions", "send_task_failure", "garbage token", taskToken="garbage"),
    C("stepfunctions", "send_task_heartbeat", "garbage token", taskToken="garbage"),
    C("stepfunctions", "stop_execution", "missing", executionArn=f"arn:aws:states:us-east-1:{ACCOUNT}:execution:probe-missing:x"),
    C("stepfunctions", "stop_execution", "bad arn", executionArn="garbage"),
    C("stepfunctions", "get_execution_history", "bad arn", executionArn="garbage"),
    C("stepfunctions", "get_execution_history", "bad token", executionArn="$EXECUTION", nextToken="garbage"),
    C("stepfunctions", "list_executions", "bad arn", stateMachineArn="garbage"),
    C("stepfunctions", "list_executions", "bad token", stateMachineArn="$SM", nextToken="garbage"),
    C("stepfunctions", "list_state_machines", "bad token", nextToken="garbage"),
    C("stepfunctions", "tag_resource", "bad arn", resourceArn="garbage", tags=[{"key": "a", "value": "b"}]).expect("InvalidArn"),
    C("stepfunctions", "tag_resource", "missing", resourceArn=f"arn:aws:states:us-east-1:{ACCOUNT}:stateMachine:probe-missing", tags=[{"key": "a", "value": "b"}]),
    C("stepfunctions", "list_tags_for_resource", "bad arn", resourceArn="garbage").expect("InvalidArn"),
    C("stepfunctions", "untag_resource", "bad arn", resourceArn="garbage", tagKeys=["a"]).expect("InvalidArn"),
    C("stepfunctions", "create_activity", "bad name", name="bad name!"),
    C("stepfunctions", "describe_activity", "bad arn", activityArn="garbage"),
    C("stepfunctions", "describe_activity", "missing", activityArn=f"arn:aws:states:us-east-1:{ACCOUNT}:activity:probe-missing"),
    C("stepfunctions", "get_activity_task", "bad arn", activityArn="garbage"),
    C("stepfunctions", "delete_activity", "bad arn", activityArn="garbage"),
    C("stepfunctions", "validate_state_machine_definition", "not json", definition="not json").accepted_by_aws(),
    C("stepfunctions", "validate_state_machine_definition", "bad type", definition=PASS_MACHINE, type="BOGUS").expect("ValidationException"),
    C("stepfunctions", "publish_state_machine_version", "bad arn", stateMachineArn="garbage"),
    C("stepfunctions", "create_state_machine_alias", "bad routing", name="probe-sm-alias", routingConfiguration=[{"stateMachineVersionArn": "garbage", "weight": 100}]),
    C("stepfunctions", "describe_state_machine_alias", "bad arn", stateMachineAliasArn="garbage"),
    C("stepfunctions", "describe_map_run", "bad arn", mapRunArn="garbage").expect("InvalidArn"),
    C("stepfunctions", "redrive_execution", "bad arn", executionArn="garbage"),
    # ------------------------------------------------------------------ Route 53 (rest-xml)
    C("route53", "create_hosted_zone", "empty name", Name="", CallerReference="probe-ref-1"),
    C("route53", "create_hosted_zone", "bad name", Name="bad..name", CallerReference="probe-ref-2"),
    C("route53", "create_hosted_zone", "reused reference", Name="probe-other.example.", CallerReference="$ZONE_REF"),
    C("route53", "create_hosted_zone", "bad vpc", Name="probe-private.example.", CallerReference="probe-ref-3", VPC={"VPCRegion": "us-east-1", "VPCId": "garbage"}),
    C("route53", "create_hosted_zone", "bad vpc region", Name="probe-private2.example.", CallerReference="probe-ref-4", VPC={"VPCRegion": "bogus-1", "VPCId": "vpc-12345678"}),
    C("route53", "create_hosted_zone", "bad delegation set", Name="probe-ds.example.", CallerReference="probe-ref-5", DelegationSetId="garbage"),
    C("route53", "change_resource_record_sets", "bad action", HostedZoneId="$ZONE", ChangeBatch={"Changes": [{"Action": "BOGUS", "ResourceRecordSet": {"Name": "a.$ZONE_NAME", "Type": "A", "TTL": 60, "ResourceRecords": [{"Value": "1.2.3.4"}]}}]}),
    C("route53", "change_resource_record_sets", "bad type", HostedZoneId="$ZONE", ChangeBatch={"Changes": [{"Action": "CREATE", "ResourceRecordSet": {"Name": "a.$ZONE_NAME", "Type": "BOGUS", "TTL": 60, "ResourceRecords": [{"Value": "1.2.3.4"}]}}]}).expect("InvalidInput"),
    C("route53", "change_resource_record_sets", "negative ttl", HostedZoneId="$ZONE", ChangeBatch={"Changes": [{"Action": "CREATE", "ResourceRecordSet": {"Name": "b.$ZONE_NAME", "Type": "A", "TTL": -1, "ResourceRecords": [{"Value": "1.2.3.4"}]}}]}),
    C("route53", "change_resource_record_sets", "no records", HostedZoneId="$ZONE", ChangeBatch={"Changes": [{"Action": "CREATE", "ResourceRecordSet": {"Name": "c.$ZONE_NAME", "Type": "A", "TTL": 60, "ResourceRecords": []}}]}),
    C("route53", "change_resource_record_sets", "no ttl", HostedZoneId="$ZONE", ChangeBatch={"Changes": [{"Action": "CREATE", "ResourceRecordSet": {"Name": "c2.$ZONE_NAME", "Type": "A", "ResourceRecords": [{"Value": "1.2.3.4"}]}}]}).expect("InvalidInput"),
    C("route53", "change_resource_record_sets", "outside zone", HostedZoneId="$ZONE", ChangeBatch={"Changes": [{"Action": "CREATE", "ResourceRecordSet": {"Name": "elsewhere.example.org.", "Type": "A", "TTL": 60, "ResourceRecords": [{"Value": "1.2.3.4"}]}}]}),
    C("route53", "change_resource_record_sets", "cname at apex", HostedZoneId="$ZONE", ChangeBatch={"Changes": [{"Action": "CREATE", "ResourceRecordSet": {"Name": "$ZONE_NAME", "Type": "CNAME", "TTL": 60, "ResourceRecords": [{"Value": "x.example.org."}]}}]}).expect("InvalidChangeBatch"),
    C("route53", "change_resource_record_sets", "bad ip", HostedZoneId="$ZONE", ChangeBatch={"Changes": [{"Action": "CREATE", "ResourceRecordSet": {"Name": "d.$ZONE_NAME", "Type": "A", "TTL": 60, "ResourceRecords": [{"Value": "not-an-ip"}]}}]}).expect("InvalidChangeBatch"),
    C("route53", "change_resource_record_sets", "bad ipv6", HostedZoneId="$ZONE", ChangeBatch={"Changes": [{"Action": "CREATE", "ResourceRecordSet": {"Name": "d6.$ZONE_NAME", "Type": "AAAA", "TTL": 60, "ResourceRecords": [{"Value": "1.2.3.4"}]}}]}).expect("InvalidChangeBatch"),
    C("route53", "change_resource_record_sets", "bad mx", HostedZoneId="$ZONE", ChangeBatch={"Changes": [{"Action": "CREATE", "ResourceRecordSet": {"Name": "e.$ZONE_NAME", "Type": "MX", "TTL": 60, "ResourceRecords": [{"Value": "garbage"}]}}]}).expect("InvalidChangeBatch"),
    C("route53", "change_resource_record_sets", "delete missing", HostedZoneId="$ZONE", ChangeBatch={"Changes": [{"Action": "DELETE", "ResourceRecordSet": {"Name": "missing.$ZONE_NAME", "Type": "A", "TTL": 60, "ResourceRecords": [{"Value": "1.2.3.4"}]}}]}),
    C("route53", "change_resource_record_sets", "create existing", HostedZoneId="$ZONE", ChangeBatch={"Changes": [{"Action": "CREATE", "ResourceRecordSet": {"Name": "www.$ZONE_NAME", "Type": "A", "TTL": 60, "ResourceRecords": [{"Value": "1.2.3.4"}]}}]}),
    C("route53", "change_resource_record_sets", "alias to missing", HostedZoneId="$ZONE", ChangeBatch={"Changes": [{"Action": "CREATE", "ResourceRecordSet": {"Name": "f.$ZONE_NAME", "Type": "A", "AliasTarget": {"HostedZoneId": "Z000000000000", "DNSName": "x.example.org.", "EvaluateTargetHealth": False}}}]}),
    C("route53", "change_resource_record_sets", "alias and records", HostedZoneId="$ZONE", ChangeBatch={"Changes": [{"Action": "CREATE", "ResourceRecordSet": {"Name": "g.$ZONE_NAME", "Type": "A", "TTL": 60, "ResourceRecords": [{"Value": "1.2.3.4"}], "AliasTarget": {"HostedZoneId": "$ZONE", "DNSName": "www.$ZONE_NAME", "EvaluateTargetHealth": False}}}]}).expect("InvalidInput"),
    C("route53", "change_resource_record_sets", "weight without id", HostedZoneId="$ZONE", ChangeBatch={"Changes": [{"Action": "CREATE", "ResourceRecordSet": {"Name": "h.$ZONE_NAME", "Type": "A", "TTL": 60, "Weight": 10, "ResourceRecords": [{"Value": "1.2.3.4"}]}}]}).expect("InvalidInput"),
    C("route53", "change_resource_record_sets", "bad failover", HostedZoneId="$ZONE", ChangeBatch={"Changes": [{"Action": "CREATE", "ResourceRecordSet": {"Name": "i.$ZONE_NAME", "Type": "A", "TTL": 60, "SetIdentifier": "x", "Failover": "BOGUS", "ResourceRecords": [{"Value": "1.2.3.4"}]}}]}).expect("InvalidInput"),
    C("route53", "change_resource_record_sets", "no changes", HostedZoneId="$ZONE", ChangeBatch={"Changes": []}),
    C("route53", "change_resource_record_sets", "missing zone", HostedZoneId="Z0000000000000PROBE", ChangeBatch={"Changes": [{"Action": "CREATE", "ResourceRecordSet": {"Name": "a.example.", "Type": "A", "TTL": 60, "ResourceRecords": [{"Value": "1.2.3.4"}]}}]}),
    C("route53", "change_resource_record_sets", "long zone id", HostedZoneId="Z" * 40, ChangeBatch={"Changes": [{"Action": "CREATE", "ResourceRecordSet": {"Name": "a.example.", "Type": "A", "TTL": 60, "ResourceRecords": [{"Value": "1.2.3.4"}]}}]}),
    C("route53", "get_hosted_zone", "garbage id", Id="garbage"),
    C("route53", "get_hosted_zone", "long id", Id="Z" * 40),
    C("route53", "delete_hosted_zone", "garbage id", Id="garbage"),
    C("route53", "delete_hosted_zone", "not empty", Id="$ZONE"),
    C("route53", "list_resource_record_sets", "bad start type", HostedZoneId="$ZONE", StartRecordName="a.$ZONE_NAME", StartRecordType="BOGUS").expect("InvalidInput"),
    C("route53", "list_resource_record_sets", "type without name", HostedZoneId="$ZONE", StartRecordType="A"),
    C("route53", "list_resource_record_sets", "max items not a number", HostedZoneId="$ZONE", MaxItems="abc"),
    C("route53", "list_resource_record_sets", "missing zone", HostedZoneId="Z0000000000000PROBE"),
    C("route53", "list_hosted_zones", "bad marker", Marker="garbage"),
    C("route53", "list_hosted_zones", "max items not a number", MaxItems="abc"),
    C("route53", "list_hosted_zones", "max items zero", MaxItems="0"),
    C("route53", "list_hosted_zones_by_name", "bad name", DNSName="bad..name"),
    C("route53", "list_hosted_zones_by_name", "zone id without name", HostedZoneId="$ZONE").expect("InvalidInput"),
    C("route53", "create_health_check", "bad type", CallerReference="probe-hc-1", HealthCheckConfig={"Type": "BOGUS", "IPAddress": "1.2.3.4", "Port": 80}).expect("InvalidInput"),
    C("route53", "create_health_check", "port 0", CallerReference="probe-hc-2", HealthCheckConfig={"Type": "HTTP", "IPAddress": "1.2.3.4", "Port": 0}),
    C("route53", "create_health_check", "threshold 100", CallerReference="probe-hc-3", HealthCheckConfig={"Type": "HTTP", "IPAddress": "1.2.3.4", "Port": 80, "FailureThreshold": 100}).expect("InvalidInput"),
    C("route53", "create_health_check", "bad ip", CallerReference="probe-hc-4", HealthCheckConfig={"Type": "HTTP", "IPAddress": "garbage", "Port": 80}),
    C("route53", "create_health_check", "interval 5", CallerReference="probe-hc-5", HealthCheckConfig={"Type": "HTTP", "IPAddress": "1.2.3.4", "Port": 80, "RequestInterval": 5}),
    C("route53", "create_health_check", "no target", CallerReference="probe-hc-6", HealthCheckConfig={"Type": "HTTP"}).expect("InvalidInput"),
    C("route53", "get_health_check", "garbage id", HealthCheckId="garbage"),
    C("route53", "delete_health_check", "garbage id", HealthCheckId="garbage"),
    C("route53", "update_health_check", "garbage id", HealthCheckId="garbage", Port=80),
    C("route53", "change_tags_for_resource", "bad type", ResourceType="bogus", ResourceId="$ZONE_ID", AddTags=[{"Key": "a", "Value": "b"}]),
    C("route53", "change_tags_for_resource", "missing zone", ResourceType="hostedzone", ResourceId="Z0000000000000PROBE", AddTags=[{"Key": "a", "Value": "b"}]),
    C("route53", "list_tags_for_resource", "bad type", ResourceType="bogus", ResourceId="$ZONE_ID"),
    C("route53", "list_tags_for_resource", "missing zone", ResourceType="hostedzone", ResourceId="Z0000000000000PROBE"),
    C("route53", "list_tags_for_resources", "bad type", ResourceType="bogus", ResourceIds=["$ZONE_ID"]),
    C("route53", "get_change", "garbage id", Id="garbage").expect("NoSuchChange"),
    C("route53", "associate_vpc_with_hosted_zone", "bad vpc", HostedZoneId="$ZONE", VPC={"VPCRegion": "us-east-1", "VPCId": "garbage"}),
    C("route53", "disassociate_vpc_from_hosted_zone", "public zone", HostedZoneId="$ZONE", VPC={"VPCRegion": "us-east-1", "VPCId": "vpc-12345678"}),
    C("route53", "create_query_logging_config", "bad arn", HostedZoneId="$ZONE", CloudWatchLogsLogGroupArn="garbage"),
    C("route53", "create_query_logging_config", "missing zone", HostedZoneId="Z0000000000000PROBE", CloudWatchLogsLogGroupArn=f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/aws/route53/x:*"),
    C("route53", "get_query_logging_config", "garbage id", Id="garbage"),
    C("route53", "delete_query_logging_config", "garbage id", Id="garbage"),
    C("route53", "create_reusable_delegation_set", "missing zone", CallerReference="probe-ds-1", HostedZoneId="Z0000000000000PROBE"),
    C("route53", "get_reusable_delegation_set", "garbage id", Id="garbage"),
    C("route53", "update_hosted_zone_comment", "missing zone", Id="Z0000000000000PROBE", Comment="c"),
    C("route53", "get_dnssec", "missing zone", HostedZoneId="Z0000000000000PROBE"),
    C("route53", "test_dns_answer", "bad type", HostedZoneId="$ZONE", RecordName="www.$ZONE_NAME", RecordType="BOGUS"),
    C("route53", "get_hosted_zone_count", "none").accepted_by_aws(),
    # ------------------------------------------------------------------ ECR (json)
    C("ecr", "create_repository", "bad mutability", repositoryName="probe-r-1", imageTagMutability="BOGUS"),
    C("ecr", "create_repository", "bad encryption", repositoryName="probe-r-2", encryptionConfiguration={"encryptionType": "KMS", "kmsKey": "garbage"}),
    C("ecr", "create_repository", "exists", repositoryName="$REPO"),
    C("ecr", "create_repository", "bad registry", repositoryName="probe-r-3", registryId="123"),
    C("ecr", "set_repository_policy", "not json", repositoryName="$REPO", policyText="not json"),
    C("ecr", "set_repository_policy", "json array", repositoryName="$REPO", policyText="[1]"),
    C("ecr", "set_repository_policy", "no statement", repositoryName="$REPO", policyText="{}"),
    C("ecr", "set_repository_policy", "missing repo", repositoryName="probe-missing", policyText=_policy({"Effect": "Allow", "Principal": "*", "Action": "ecr:*"})),
    C("ecr", "get_repository_policy", "none", repositoryName="$REPO2"),
    C("ecr", "put_lifecycle_policy", "not json", repositoryName="$REPO", lifecyclePolicyText="not json"),
    C("ecr", "put_lifecycle_policy", "empty object", repositoryName="$REPO", lifecyclePolicyText="{}"),
    C("ecr", "put_lifecycle_policy", "bad rule", repositoryName="$REPO", lifecyclePolicyText=json.dumps({"rules": [{"rulePriority": 0, "selection": {"tagStatus": "bogus"}, "action": {"type": "bogus"}}]})),
    C("ecr", "put_lifecycle_policy", "rules not list", repositoryName="$REPO", lifecyclePolicyText=json.dumps({"rules": "x"})),
    C("ecr", "put_lifecycle_policy", "rule not object", repositoryName="$REPO", lifecyclePolicyText=json.dumps({"rules": [1]})),
    C("ecr", "start_lifecycle_policy_preview", "not json", repositoryName="$REPO", lifecyclePolicyText="not json"),
    C("ecr", "put_image", "manifest not json", repositoryName="$REPO", imageManifest="not json", imageTag="t1"),
    C("ecr", "put_image", "manifest empty object", repositoryName="$REPO", imageManifest="{}", imageTag="t2"),
    C("ecr", "put_image", "manifest array", repositoryName="$REPO", imageManifest="[1]", imageTag="t3"),
    C("ecr", "put_image", "bad media type", repositoryName="$REPO", imageManifest=json.dumps({"schemaVersion": 2, "mediaType": "bogus", "config": {}, "layers": []}), imageManifestMediaType="bogus", imageTag="t4"),
    C("ecr", "put_image", "bad digest", repositoryName="$REPO", imageManifest=json.dumps({"schemaVersion": 2, "config": {}, "layers": []}), imageDigest="garbage"),
    C("ecr", "put_image", "missing repo", repositoryName="probe-missing", imageManifest="{}", imageTag="t"),
    C("ecr", "batch_get_image", "garbage digest", repositoryName="$REPO", imageIds=[{"imageDigest": "garbage"}]).accepted_by_aws(),
    C("ecr", "batch_get_image", "empty id", repositoryName="$REPO", imageIds=[{}]).accepted_by_aws(),
    C("ecr", "batch_get_image", "bad media type", repositoryName="$REPO", imageIds=[{"imageTag": "latest"}], acceptedMediaTypes=["bogus"]),
    C("ecr", "batch_delete_image", "garbage digest", repositoryName="$REPO", imageIds=[{"imageDigest": "garbage"}]).accepted_by_aws(),
    C("ecr", "batch_delete_image", "empty id", repositoryName="$REPO", imageIds=[{}]).accepted_by_aws(),
    C("ecr", "describe_images", "garbage digest", repositoryName="$REPO", imageIds=[{"imageDigest": "garbage"}]),
    C("ecr", "describe_images", "bad filter", repositoryName="$REPO", filter={"tagStatus": "BOGUS"}),
    C("ecr", "describe_images", "missing repo", repositoryName="probe-missing"),
    C("ecr", "describe_images", "bad token", repositoryName="$REPO", nextToken="garbage"),
    C("ecr", "describe_repositories", "bad registry", registryId="123"),
    C("ecr", "describe_repositories", "missing", repositoryNames=["probe-missing"]),
    C("ecr", "describe_repositories", "bad token", nextToken="garbage"),
    C("ecr", "list_images", "bad token", repositoryName="$REPO", nextToken="garbage"),
    C("ecr", "list_images", "bad filter", repositoryName="$REPO", filter={"tagStatus": "BOGUS"}),
    C("ecr", "get_authorization_token", "bad registry", registryIds=["123"]),
    C("ecr", "put_image_scanning_configuration", "missing repo", repositoryName="probe-missing", imageScanningConfiguration={"scanOnPush": True}),
    C("ecr", "put_image_tag_mutability", "bad value", repositoryName="$REPO", imageTagMutability="BOGUS"),
    C("ecr", "start_image_scan", "missing image", repositoryName="$REPO", imageId={"imageTag": "probe-missing"}),
    C("ecr", "start_image_scan", "garbage digest", repositoryName="$REPO", imageId={"imageDigest": "garbage"}),
    C("ecr", "describe_image_scan_findings", "missing image", repositoryName="$REPO", imageId={"imageTag": "probe-missing"}),
    C("ecr", "put_registry_policy", "not json", policyText="not json"),
    C("ecr", "put_registry_policy", "json array", policyText="[1]"),
    C("ecr", "put_registry_policy", "no statement", policyText="{}"),
    C("ecr", "put_replication_configuration", "bad region", replicationConfiguration={"rules": [{"destinations": [{"region": "bogus-1", "registryId": ACCOUNT}]}]}),
    C("ecr", "put_replication_configuration", "no destinations", replicationConfiguration={"rules": [{"destinations": []}]}),
    C("ecr", "put_registry_scanning_configuration", "bad type", scanType="BOGUS"),
    C("ecr", "put_registry_scanning_configuration", "bad rule", scanType="BASIC", rules=[{"scanFrequency": "BOGUS", "repositoryFilters": [{"filter": "*", "filterType": "WILDCARD"}]}]),
    C("ecr", "tag_resource", "bad arn", resourceArn="garbage", tags=[{"Key": "a", "Value": "b"}]),
    C("ecr", "tag_resource", "missing repo", resourceArn=f"arn:aws:ecr:us-east-1:{ACCOUNT}:repository/probe-missing", tags=[{"Key": "a", "Value": "b"}]),
    C("ecr", "list_tags_for_resource", "bad arn", resourceArn="garbage"),
    C("ecr", "untag_resource", "bad arn", resourceArn="garbage", tagKeys=["a"]),
    C("ecr", "delete_repository", "not empty", repositoryName="$REPO"),
    C("ecr", "delete_repository", "missing", repositoryName="probe-missing"),
    C("ecr", "delete_lifecycle_policy", "none", repositoryName="$REPO2"),
    C("ecr", "get_lifecycle_policy", "none", repositoryName="$REPO2"),
    C("ecr", "delete_repository_policy", "none", repositoryName="$REPO2"),
    C("ecr", "batch_get_repository_scanning_configuration", "missing", repositoryNames=["probe-missing"]).accepted_by_aws(),
    C("ecr", "get_download_url_for_layer", "garbage digest", repositoryName="$REPO", layerDigest="garbage"),
    C("ecr", "batch_check_layer_availability", "garbage digest", repositoryName="$REPO", layerDigests=["garbage"]).accepted_by_aws(),
    C("ecr", "initiate_layer_upload", "missing repo", repositoryName="probe-missing"),
    C("ecr", "upload_layer_part", "garbage upload", repositoryName="$REPO", uploadId="garbage", partFirstByte=0, partLastByte=0, layerPartBlob=b"x"),
    C("ecr", "complete_layer_upload", "garbage upload", repositoryName="$REPO", uploadId="garbage", layerDigests=["sha256:" + "0" * 64]),
    C("ecr", "create_pull_through_cache_rule", "bad upstream", ecrRepositoryPrefix="probe", upstreamRegistryUrl="garbage"),
    C("ecr", "create_repository_creation_template", "bad prefix", prefix="bad prefix!", appliedFor=["REPLICATION"]),
    # ------------------------------------------------------------------ CloudFormation (query)
    C("cloudformation", "validate_template", "not json or yaml", TemplateBody="not: [valid"),
    C("cloudformation", "validate_template", "plain string", TemplateBody="just a string"),
    C("cloudformation", "validate_template", "empty object", TemplateBody="{}"),
    C("cloudformation", "validate_template", "json array", TemplateBody="[1]"),
    C("cloudformation", "validate_template", "resources not object", TemplateBody=json.dumps({"Resources": 1})),
    C("cloudformation", "validate_template", "resource without type", TemplateBody=json.dumps({"Resources": {"A": {}}})),
    C("cloudformation", "validate_template", "resource not object", TemplateBody=json.dumps({"Resources": {"A": 1}})),
    C("cloudformation", "validate_template", "bad parameters", TemplateBody=json.dumps({"Parameters": [1], "Resources": {"Q": {"Type": "AWS::SQS::Queue"}}})),
    C("cloudformation", "validate_template", "bad outputs", TemplateBody=json.dumps({"Resources": {"Q": {"Type": "AWS::SQS::Queue"}}, "Outputs": {"O": 1}})),
    C("cloudformation", "validate_template", "bad version", TemplateBody=json.dumps({"AWSTemplateFormatVersion": "bogus", "Resources": {"Q": {"Type": "AWS::SQS::Queue"}}})),
    C("cloudformation", "validate_template", "yaml bad tag", TemplateBody="Resources:\n  Q:\n    Type: !Bogus x\n"),
    C("cloudformation", "validate_template", "bad url", TemplateURL="garbage"),
    C("cloudformation", "validate_template", "missing s3 url", TemplateURL="https://probe-no-such-bucket.s3.amazonaws.com/t.json"),
    C("cloudformation", "validate_template", "nothing"),
    C("cloudformation", "validate_template", "both", TemplateBody=TEMPLATE, TemplateURL="https://example.com/t.json"),
    C("cloudformation", "create_stack", "template garbage", StackName="probe-st-1", TemplateBody="not: [valid"),
    C("cloudformation", "create_stack", "template empty", StackName="probe-st-2", TemplateBody="{}"),
    C("cloudformation", "create_stack", "template array", StackName="probe-st-3", TemplateBody="[1]"),
    C("cloudformation", "create_stack", "resource without type", StackName="probe-st-4", TemplateBody=json.dumps({"Resources": {"A": {}}})),
    C("cloudformation", "create_stack", "unknown resource type", StackName="probe-st-5", TemplateBody=json.dumps({"Resources": {"A": {"Type": "AWS::Bogus::Thing"}}})),
    C("cloudformation", "create_stack", "bad name", StackName="1bad name", TemplateBody=TEMPLATE).expect("ValidationError"),
    C("cloudformation", "create_stack", "long name", StackName="s" * 200, TemplateBody=TEMPLATE).expect("ValidationError"),
    C("cloudformation", "create_stack", "underscore name", StackName="probe_stack", TemplateBody=TEMPLATE).expect("ValidationError"),
    C("cloudformation", "create_stack", "unknown parameter", StackName="probe-st-6", TemplateBody=TEMPLATE, Parameters=[{"ParameterKey": "Bogus", "ParameterValue": "x"}]),
    C("cloudformation", "create_stack", "missing parameter", StackName="probe-st-7", TemplateBody=json.dumps({"Parameters": {"P": {"Type": "String"}}, "Resources": {"Q": {"Type": "AWS::SQS::Queue"}}})),
    C("cloudformation", "create_stack", "bad parameter type", StackName="probe-st-8", TemplateBody=json.dumps({"Parameters": {"P": {"Type": "Number"}}, "Resources": {"Q": {"Type": "AWS::SQS::Queue"}}}), Parameters=[{"ParameterKey": "P", "ParameterValue": "abc"}]),
    C("cloudformation", "create_stack", "bad ref", StackName="probe-st-9", TemplateBody=json.dumps({"Resources": {"Q": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": {"Ref": "Nothing"}}}}})),
    C("cloudformation", "create_stack", "bad getatt", StackName="probe-st-10", TemplateBody=json.dumps({"Resources": {"Q": {"Type": "AWS::SQS::Queue"}}, "Outputs": {"O": {"Value": {"Fn::GetAtt": ["Nothing", "Arn"]}}}})),
    C("cloudformation", "create_stack", "bad capability", StackName="probe-st-11", TemplateBody=TEMPLATE, Capabilities=["BOGUS"]),
    C("cloudformation", "create_stack", "bad on failure", StackName="probe-st-12", TemplateBody=TEMPLATE, OnFailure="BOGUS"),
    C("cloudformation", "create_stack", "bad policy", StackName="probe-st-13", TemplateBody=TEMPLATE, StackPolicyBody="not json"),
    C("cloudformation", "create_stack", "bad role", StackName="probe-st-14", TemplateBody=TEMPLATE, RoleARN="garbage"),
    C("cloudformation", "create_stack", "bad notification", StackName="probe-st-15", TemplateBody=TEMPLATE, NotificationARNs=["garbage"]),
    C("cloudformation", "create_stack", "timeout 0", StackName="probe-st-16", TemplateBody=TEMPLATE, TimeoutInMinutes=0),
    C("cloudformation", "create_stack", "exists", StackName="$STACK", TemplateBody=TEMPLATE),
    C("cloudformation", "create_stack", "bad condition", StackName="probe-st-17", TemplateBody=json.dumps({"Conditions": {"C": {"Fn::Equals": [1]}}, "Resources": {"Q": {"Type": "AWS::SQS::Queue", "Condition": "C"}}})),
    C("cloudformation", "create_stack", "bad mapping", StackName="probe-st-18", TemplateBody=json.dumps({"Resources": {"Q": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": {"Fn::FindInMap": ["M", "a", "b"]}}}}})),
    C("cloudformation", "create_stack", "bad sub", StackName="probe-st-19", TemplateBody=json.dumps({"Resources": {"Q": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": {"Fn::Sub": "${Nothing}"}}}}})),
    C("cloudformation", "create_stack", "bad join", StackName="probe-st-20", TemplateBody=json.dumps({"Resources": {"Q": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": {"Fn::Join": "x"}}}}})),
    C("cloudformation", "create_stack", "bad property type", StackName="probe-st-21", TemplateBody=json.dumps({"Resources": {"Q": {"Type": "AWS::SQS::Queue", "Properties": {"VisibilityTimeout": "abc"}}}})).accepted_by_aws(),
    C("cloudformation", "create_stack", "properties not object", StackName="probe-st-22", TemplateBody=json.dumps({"Resources": {"Q": {"Type": "AWS::SQS::Queue", "Properties": 1}}})),
    C("cloudformation", "create_stack", "depends on missing", StackName="probe-st-23", TemplateBody=json.dumps({"Resources": {"Q": {"Type": "AWS::SQS::Queue", "DependsOn": "Nothing"}}})),
    C("cloudformation", "create_stack", "bad tags", StackName="probe-st-24", TemplateBody=TEMPLATE, Tags=[{"Key": "aws:x", "Value": "v"}]),
    C("cloudformation", "update_stack", "no change", StackName="$STACK", TemplateBody=TEMPLATE),
    C("cloudformation", "update_stack", "template garbage", StackName="$STACK", TemplateBody="not: [valid"),
    C("cloudformation", "update_stack", "missing", StackName="probe-missing", TemplateBody=TEMPLATE),
    C("cloudformation", "update_stack", "previous and body", StackName="$STACK", TemplateBody=TEMPLATE, UsePreviousTemplate=True),
    C("cloudformation", "describe_stacks", "missing", StackName="probe-missing"),
    C("cloudformation", "describe_stacks", "bad arn", StackName="arn:aws:cloudformation:garbage"),
    C("cloudformation", "describe_stacks", "bad token", NextToken="garbage"),
    C("cloudformation", "describe_stack_resources", "missing", StackName="probe-missing"),
    C("cloudformation", "describe_stack_resources", "nothing"),
    C("cloudformation", "describe_stack_resource", "missing resource", StackName="$STACK", LogicalResourceId="Nothing"),
    C("cloudformation", "describe_stack_events", "missing", StackName="probe-missing"),
    C("cloudformation", "get_template", "missing", StackName="probe-missing"),
    C("cloudformation", "get_template", "bad stage", StackName="$STACK", TemplateStage="Bogus"),
    C("cloudformation", "get_template", "missing change set", StackName="$STACK", ChangeSetName="probe-missing").expect("ChangeSetNotFound"),
    C("cloudformation", "get_template_summary", "template garbage", TemplateBody="not: [valid"),
    C("cloudformation", "get_template_summary", "template array", TemplateBody="[1]"),
    C("cloudformation", "get_template_summary", "missing stack", StackName="probe-missing"),
    C("cloudformation", "list_stack_resources", "missing", StackName="probe-missing"),
    C("cloudformation", "list_stacks", "bad filter", StackStatusFilter=["BOGUS"]),
    C("cloudformation", "delete_stack", "missing", StackName="probe-missing").accepted_by_aws(),
    C("cloudformation", "delete_stack", "bad retain", StackName="$STACK2", RetainResources=["Nothing"]),
    C("cloudformation", "create_change_set", "bad type", StackName="probe-cs-st", ChangeSetName="cs1", TemplateBody=TEMPLATE, ChangeSetType="BOGUS"),
    C("cloudformation", "create_change_set", "template garbage", StackName="probe-cs-st2", ChangeSetName="cs2", TemplateBody="not: [valid", ChangeSetType="CREATE"),
    C("cloudformation", "create_change_set", "update missing stack", StackName="probe-missing", ChangeSetName="cs3", TemplateBody=TEMPLATE, ChangeSetType="UPDATE"),
    C("cloudformation", "create_change_set", "bad name", StackName="$STACK", ChangeSetName="1 bad!", TemplateBody=TEMPLATE),
    C("cloudformation", "describe_change_set", "missing", ChangeSetName="probe-missing", StackName="$STACK"),
    C("cloudformation", "describe_change_set", "bad arn", ChangeSetName="arn:aws:cloudformation:garbage"),
    C("cloudformation", "execute_change_set", "missing", ChangeSetName="probe-missing", StackName="$STACK"),
    C("cloudformation", "delete_change_set", "missing", ChangeSetName="probe-missing", StackName="$STACK"),
    C("cloudformation", "list_change_sets", "missing stack", StackName="probe-missing"),
    C("cloudformation", "set_stack_policy", "not json", StackName="$STACK", StackPolicyBody="not json"),
    C("cloudformation", "set_stack_policy", "missing stack", StackName="probe-missing", StackPolicyBody="{}"),
    C("cloudformation", "get_stack_policy", "missing stack", StackName="probe-missing"),
    C("cloudformation", "list_exports", "bad token", NextToken="garbage"),
    C("cloudformation", "list_imports", "missing export", ExportName="probe-missing"),
    C("cloudformation", "describe_stack_set", "missing", StackSetName="probe-missing"),
    C("cloudformation", "create_stack_set", "template garbage", StackSetName="probe-ss", TemplateBody="not: [valid"),
    C("cloudformation", "create_stack_instances", "missing set", StackSetName="probe-missing", Accounts=[ACCOUNT], Regions=["us-east-1"]),
    C("cloudformation", "update_termination_protection", "missing", StackName="probe-missing", EnableTerminationProtection=True),
    C("cloudformation", "signal_resource", "missing", StackName="probe-missing", LogicalResourceId="Q", UniqueId="u", Status="SUCCESS"),
    C("cloudformation", "detect_stack_drift", "missing", StackName="probe-missing"),
    C("cloudformation", "cancel_update_stack", "not updating", StackName="$STACK"),
    C("cloudformation", "continue_update_rollback", "not failed", StackName="$STACK"),
    C("cloudformation", "describe_type", "bad type", Type="RESOURCE", TypeName="AWS::Bogus::Thing"),
    C("cloudformation", "estimate_template_cost", "garbage", TemplateBody="not: [valid"),
    # ------------------------------------------------------------------ Organizations (json)
    C("organizations", "describe_organization", "none yet").accepted_by_aws(),
    C("organizations", "create_policy", "content not json", Content="not json", Description="d", Name="probe-pol-1", Type="SERVICE_CONTROL_POLICY").expect("MalformedPolicyDocumentException"),
    C("organizations", "create_policy", "content array", Content="[1]", Description="d", Name="probe-pol-2", Type="SERVICE_CONTROL_POLICY").expect("MalformedPolicyDocumentException"),
    C("organizations", "create_policy", "content no statement", Content="{}", Description="d", Name="probe-pol-3", Type="SERVICE_CONTROL_POLICY").expect("MalformedPolicyDocumentException"),
    C("organizations", "create_policy", "tag policy not json", Content="not json", Description="d", Name="probe-pol-4", Type="TAG_POLICY").expect("MalformedPolicyDocumentException"),
    C("organizations", "create_policy", "type not enabled", Content=json.dumps({"tags": {}}), Description="d", Name="probe-pol-5", Type="TAG_POLICY").accepted_by_aws(),
    C("organizations", "update_policy", "content not json", PolicyId="$ORG_POLICY", Content="not json").expect("MalformedPolicyDocumentException"),
    C("organizations", "update_policy", "content array", PolicyId="$ORG_POLICY", Content="[1]").expect("MalformedPolicyDocumentException"),
    C("organizations", "update_policy", "missing", PolicyId="p-0000probe", Content="{}"),
    C("organizations", "describe_policy", "missing", PolicyId="p-0000probe"),
    C("organizations", "attach_policy", "missing target", PolicyId="$ORG_POLICY", TargetId="ou-0000-00000000"),
    C("organizations", "attach_policy", "missing policy", PolicyId="p-0000probe", TargetId="$ORG_ROOT"),
    C("organizations", "detach_policy", "not attached", PolicyId="$ORG_POLICY", TargetId="$ORG_ROOT"),
    C("organizations", "delete_policy", "missing", PolicyId="p-0000probe"),
    C("organizations", "create_organizational_unit", "missing parent", ParentId="ou-0000-00000000", Name="probe-ou").expect("ParentNotFoundException"),
    C("organizations", "create_organizational_unit", "duplicate", ParentId="$ORG_ROOT", Name="$ORG_OU_NAME").expect("DuplicateOrganizationalUnitException"),
    C("organizations", "describe_organizational_unit", "missing", OrganizationalUnitId="ou-0000-00000000"),
    C("organizations", "update_organizational_unit", "missing", OrganizationalUnitId="ou-0000-00000000", Name="x"),
    C("organizations", "delete_organizational_unit", "missing", OrganizationalUnitId="ou-0000-00000000"),
    C("organizations", "list_children", "missing parent", ParentId="ou-0000-00000000", ChildType="ACCOUNT"),
    C("organizations", "list_parents", "missing child", ChildId="ou-0000-00000000"),
    C("organizations", "list_accounts_for_parent", "missing parent", ParentId="ou-0000-00000000"),
    C("organizations", "list_organizational_units_for_parent", "missing parent", ParentId="ou-0000-00000000"),
    C("organizations", "list_policies_for_target", "missing target", TargetId="ou-0000-00000000", Filter="SERVICE_CONTROL_POLICY"),
    C("organizations", "list_targets_for_policy", "missing policy", PolicyId="p-0000probe"),
    C("organizations", "describe_account", "missing", AccountId="111111111111"),
    C("organizations", "move_account", "missing account", AccountId="111111111111", SourceParentId="$ORG_ROOT", DestinationParentId="$ORG_OU"),
    C("organizations", "move_account", "missing destination", AccountId=ACCOUNT, SourceParentId="$ORG_ROOT", DestinationParentId="ou-0000-00000000"),
    C("organizations", "remove_account_from_organization", "master", AccountId=ACCOUNT),
    C("organizations", "create_account", "bad email", Email="not-an-email", AccountName="probe"),
    C("organizations", "describe_create_account_status", "missing", CreateAccountRequestId="car-00000000000000000000000000000000"),
    C("organizations", "tag_resource", "missing", ResourceId="ou-0000-00000000", Tags=[{"Key": "a", "Value": "b"}]),
    C("organizations", "tag_resource", "bad tag", ResourceId="$ORG_OU", Tags=[{"Key": "aws:x", "Value": "b"}]),
    C("organizations", "list_tags_for_resource", "missing", ResourceId="ou-0000-00000000"),
    C("organizations", "enable_policy_type", "missing root", RootId="r-0000", PolicyType="TAG_POLICY"),
    C("organizations", "enable_policy_type", "already", RootId="$ORG_ROOT", PolicyType="SERVICE_CONTROL_POLICY"),
    C("organizations", "disable_policy_type", "not enabled", RootId="$ORG_ROOT", PolicyType="BACKUP_POLICY"),
    C("organizations", "enable_aws_service_access", "bad principal", ServicePrincipal="garbage"),
    C("organizations", "register_delegated_administrator", "missing account", AccountId="111111111111", ServicePrincipal="ssm.amazonaws.com"),
    C("organizations", "list_delegated_services_for_account", "missing account", AccountId="111111111111"),
    C("organizations", "deregister_delegated_administrator", "not registered", AccountId=ACCOUNT, ServicePrincipal="ssm.amazonaws.com"),
    C("organizations", "create_organization", "exists", FeatureSet="ALL"),
    C("organizations", "list_handshakes_for_account", "bad filter", Filter={"ActionType": "INVITE"}),
    C("organizations", "invite_account_to_organization", "bad target", Target={"Id": "garbage", "Type": "ACCOUNT"}),
    C("organizations", "put_resource_policy", "not json", Content="not json"),
    C("organizations", "close_account", "missing", AccountId="111111111111"),
]


# ------------------------------------------------------------------ the resources the cases name
def make_resources(server: EmulatorServer, services: set[str] | None = None) -> dict[str, Any]:
    """Create the resources the cases name; returns the placeholder values."""
    want = (lambda name: services is None or name in services)
    r: dict[str, Any] = {"$ZIP": lambda_zip()}
    sqs = server.client("sqs")
    r["$QUEUE"] = sqs.create_queue(QueueName="probe-queue")["QueueUrl"]
    r["$QUEUE_ARN"] = sqs.get_queue_attributes(QueueUrl=r["$QUEUE"], AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    q2 = sqs.create_queue(QueueName="probe-queue-2")["QueueUrl"]
    r["$QUEUE2_ARN"] = sqs.get_queue_attributes(QueueUrl=q2, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    r["$FIFO"] = sqs.create_queue(QueueName="probe-queue.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    sqs.send_message(QueueUrl=r["$QUEUE"], MessageBody="probe")
    got = sqs.receive_message(QueueUrl=r["$QUEUE"], VisibilityTimeout=0).get("Messages") or [{}]
    r["$RECEIPT"] = got[0].get("ReceiptHandle", "none")
    if want("s3"):
        s3 = server.client("s3")
        s3.create_bucket(Bucket="probe-bucket")
        s3.create_bucket(Bucket="probe-bucket-2")
        s3.put_object(Bucket="probe-bucket", Key="object.txt", Body=b"hello")
        r.update({"$BUCKET": "probe-bucket", "$BUCKET2": "probe-bucket-2", "$OBJECT": "object.txt"})
        r["$UPLOAD"] = s3.create_multipart_upload(Bucket="probe-bucket", Key="mp")["UploadId"]
        s3.upload_part(Bucket="probe-bucket", Key="mp", UploadId=r["$UPLOAD"], PartNumber=1, Body=b"part")
    if want("sns"):
        sns = server.client("sns")
        r["$TOPIC"] = sns.create_topic(Name="probe-topic")["TopicArn"]
        r["$SUB"] = sns.subscribe(TopicArn=r["$TOPIC"], Protocol="sqs", Endpoint=r["$QUEUE_ARN"])["SubscriptionArn"]
    if want("ssm"):
        ssm = server.client("ssm")
        ssm.put_parameter(Name="probe-param", Value="v", Type="String")
        r["$PARAM"] = "probe-param"
    if want("secretsmanager"):
        r["$SECRET"] = server.client("secretsmanager").create_secret(Name="probe-secret", SecretString="s")["Name"]
    kms = server.client("kms")
    r["$KEY"] = kms.create_key()["KeyMetadata"]["KeyId"]
    if want("kms"):
        r["$RSA"] = kms.create_key(KeySpec="RSA_2048", KeyUsage="ENCRYPT_DECRYPT")["KeyMetadata"]["KeyId"]
        r["$SIGN"] = kms.create_key(KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
        r["$DISABLED"] = kms.create_key()["KeyMetadata"]["KeyId"]
        kms.disable_key(KeyId=r["$DISABLED"])
        r["$CIPHERTEXT"] = kms.encrypt(KeyId=r["$KEY"], Plaintext=b"secret")["CiphertextBlob"]
        kms.create_alias(AliasName="alias/probe-alias", TargetKeyId=r["$KEY"])
    if want("events"):
        events = server.client("events")
        events.put_rule(Name="probe-rule", ScheduleExpression="rate(1 hour)")
        events.put_targets(Rule="probe-rule", Targets=[{"Id": "q", "Arn": r["$QUEUE_ARN"]}])
        r["$RULE"] = "probe-rule"
        r["$BUS_ARN"] = events.describe_event_bus()["Arn"]
    if want("kinesis") or want("lambda"):
        kinesis = server.client("kinesis")
        kinesis.create_stream(StreamName="probe-stream", ShardCount=1)
        kinesis.create_stream(StreamName="probe-stream-2", ShardCount=3)
        r.update({"$STREAM": "probe-stream", "$STREAM2": "probe-stream-2"})
        r["$STREAM_ARN"] = kinesis.describe_stream_summary(StreamName="probe-stream")["StreamDescriptionSummary"]["StreamARN"]
        r["$ITERATOR"] = kinesis.get_shard_iterator(StreamName="probe-stream", ShardId="shardId-000000000000", ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    iam = server.client("iam")
    if want("lambda"):
        r["$ROLE"] = iam.create_role(RoleName="probe-lambda-role", AssumeRolePolicyDocument=TRUST)["Role"]["Arn"]
        lam = server.client("lambda")
        common = {"Runtime": "python3.12", "Role": r["$ROLE"], "Handler": "index.handler", "Code": {"ZipFile": r["$ZIP"]}}
        lam.create_function(FunctionName="probe-function", Publish=True, **common)
        lam.create_function(FunctionName="probe-function-2", **common)
        lam.add_permission(FunctionName="probe-function", StatementId="probe-perm", Action="lambda:InvokeFunction", Principal="s3.amazonaws.com")
        lam.create_alias(FunctionName="probe-function", Name="probe-live", FunctionVersion="1")
        r.update({"$FUNC": "probe-function", "$FUNC2": "probe-function-2", "$PERMISSION": "probe-perm", "$ALIAS": "probe-live"})
    if want("stepfunctions"):
        r["$SFN_ROLE"] = iam.create_role(RoleName="probe-sfn-role", AssumeRolePolicyDocument=SFN_TRUST)["Role"]["Arn"]
        sfn = server.client("stepfunctions")
        r["$SM"] = sfn.create_state_machine(name="probe-machine", definition=PASS_MACHINE, roleArn=r["$SFN_ROLE"])["stateMachineArn"]
        r["$SM_NAME"] = "probe-machine"
        r["$EXECUTION"] = sfn.start_execution(stateMachineArn=r["$SM"], name="probe-execution")["executionArn"]
        r["$EXECUTION_NAME"] = "probe-execution"
    if want("route53"):
        r53 = server.client("route53")
        zone = r53.create_hosted_zone(Name="probe.example.", CallerReference="probe-zone-ref")["HostedZone"]
        r["$ZONE"] = zone["Id"]
        r["$ZONE_ID"] = zone["Id"].rsplit("/", 1)[-1]
        r["$ZONE_NAME"] = "probe.example."
        r["$ZONE_REF"] = "probe-zone-ref"
        r53.change_resource_record_sets(HostedZoneId=zone["Id"], ChangeBatch={"Changes": [{"Action": "CREATE", "ResourceRecordSet": {
            "Name": "www.probe.example.", "Type": "A", "TTL": 60, "ResourceRecords": [{"Value": "1.2.3.4"}]}}]})
    if want("ecr"):
        ecr = server.client("ecr")
        ecr.create_repository(repositoryName="probe-repo")
        ecr.create_repository(repositoryName="probe-repo-2")
        manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                               "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 1, "digest": "sha256:" + "1" * 64},
                               "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": 1, "digest": "sha256:" + "2" * 64}]})
        ecr.put_image(repositoryName="probe-repo", imageManifest=manifest, imageTag="latest")
        r.update({"$REPO": "probe-repo", "$REPO2": "probe-repo-2"})
    if want("cloudformation"):
        cfn = server.client("cloudformation")
        cfn.create_stack(StackName="probe-stack", TemplateBody=TEMPLATE)
        cfn.create_stack(StackName="probe-stack-2", TemplateBody=json.dumps({"Resources": {"T": {"Type": "AWS::SNS::Topic"}}}))
        r.update({"$STACK": "probe-stack", "$STACK2": "probe-stack-2"})
    if want("organizations"):
        org = server.client("organizations")
        org.create_organization(FeatureSet="ALL")
        root = org.list_roots()["Roots"][0]["Id"]
        org.enable_policy_type(RootId=root, PolicyType="SERVICE_CONTROL_POLICY")
        ou = org.create_organizational_unit(ParentId=root, Name="probe-ou")["OrganizationalUnit"]["Id"]
        policy = org.create_policy(Content=_policy({"Effect": "Allow", "Action": "*", "Resource": "*"}), Description="d", Name="probe-policy", Type="SERVICE_CONTROL_POLICY")
        r.update({"$ORG_ROOT": root, "$ORG_OU": ou, "$ORG_OU_NAME": "probe-ou", "$ORG_POLICY": policy["Policy"]["PolicySummary"]["Id"]})
    return r


_PLACEHOLDER = re.compile(r"\$[A-Z][A-Z0-9_]*")


def fill(value: Any, resources: dict[str, Any]) -> Any:
    if isinstance(value, str):
        if value in resources:
            return resources[value]
        return _PLACEHOLDER.sub(lambda m: str(resources.get(m.group(0), m.group(0))), value)
    if isinstance(value, dict):
        return {fill(k, resources): fill(v, resources) for k, v in value.items()}
    if isinstance(value, list):
        return [fill(v, resources) for v in value]
    return value


def run_case(server: EmulatorServer, case: Case, resources: dict[str, Any], clients: dict[str, Any]) -> Outcome:
    client = clients.get(case.service)
    if client is None:
        # No host prefix (StartSyncExecution's "sync-"): the server is 127.0.0.1.
        config = Config(retries={"total_max_attempts": 1, "mode": "standard"}, inject_host_prefix=False)
        client = clients[case.service] = server.client(case.service, config=config)
    params = fill(case.params, resources)
    try:
        response = getattr(client, case.operation)(**params)
    except ParamValidationError as exc:  # botocore refused it (min lengths): it never left the client
        return Outcome(case, 0, "ParamValidationError", str(exc).replace("\n", " "))
    except ClientError as exc:
        error = exc.response.get("Error", {})
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))
        return Outcome(case, status, str(error.get("Code", "")), str(error.get("Message", "")))
    body = response.get("Body") if isinstance(response, dict) else None
    if body is not None and hasattr(body, "read"):
        body.read()
    return Outcome(case, int(response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)), "", "")


def run(server: EmulatorServer, services: set[str] | None = None) -> Iterator[Outcome]:
    resources = make_resources(server, services)
    clients: dict[str, Any] = {}
    for case in CASES:
        if services is None or case.service in services:
            yield run_case(server, case, resources, clients)


def unhandled(server: EmulatorServer) -> list[str]:
    """The server log's "unhandled error" lines (each names the service and operation)."""
    text = server.log_path.read_text(errors="replace") if server.log_path.exists() else ""
    return [line for line in text.splitlines() if "unhandled error in" in line]


def unhandled_errors(server: EmulatorServer) -> list[tuple[str, str]]:
    """(service.Operation, the exception's last line) of each unhandled error in the log."""
    text = server.log_path.read_text(errors="replace") if server.log_path.exists() else ""
    out: list[tuple[str, str]] = []
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if "unhandled error in " not in line:
            continue
        where = line.split("unhandled error in ", 1)[1].strip()
        error = ""
        for follow in lines[i + 1 : i + 400]:
            if follow.startswith(("Traceback", " ", "During handling", "The above exception")) or not follow.strip():
                continue
            error = follow.strip()
            if not follow.startswith(("  ",)):
                break
        if (where, error) not in out:
            out.append((where, error[:300]))
    return out


def main(argv: list[str]) -> int:
    services = set(argv) or None
    with EmulatorServer() as server:
        failures = accepted = missed = 0
        for outcome in run(server, services):
            # 500!: a server error; BAD!: not AWS's known error; acc: bad input accepted; ok: accepted,
            # as AWS accepts it; cli: refused by botocore before it was sent; blank: refused.
            mark = ("500!" if outcome.status >= 500 else "BAD!" if outcome.missed else "acc " if outcome.accepted
                    else "ok  " if 0 < outcome.status < 300 else "cli " if not outcome.status else "    ")
            failures += outcome.status >= 500
            accepted += outcome.accepted
            missed += outcome.missed
            expected = f" (AWS: {outcome.case.expected})" if outcome.missed else ""
            print(f"{mark} {outcome.status} {outcome.case.label}: {outcome.code} {outcome.message[:160]}{expected}")
        lines = unhandled(server)
        print(f"\n{failures} answers >= 500; {len(lines)} unhandled errors in the server log; "
              f"{missed} answers other than AWS's known error; {accepted} bad inputs accepted")
        for where, error in unhandled_errors(server):
            print(f"- {where}: {error}")
        return 1 if failures or lines or missed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

