"""What Terraform's AWS provider reads back from services moto serves, as AWS answers it: SQS's
RedriveAllowPolicy, Lambda's LoggingConfig and RevisionId, KMS GetKeyRotationStatus's fields,
S3's request payment configuration, Secrets Manager's errors for a secret scheduled for
deletion (emulator/gateway/fallback_patches_messaging.py, fallback_patches_lambda.py,
fallback_patches_services.py, s3_request_payment.py). Through the wire with boto3."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from pathlib import Path
from typing import Any
from unittest.mock import ANY

import pytest
from botocore.exceptions import ClientError
from fallback_probe import TRUST, client, lambda_zip

from emulator.testing.server import EmulatorServer

pytestmark = pytest.mark.usefixtures("no_unhandled_errors")

ALLOW_ALL = json.dumps({"redrivePermission": "allowAll"})


def _error(call: Any) -> tuple[str, str, int]:
    with pytest.raises(ClientError) as caught:
        call()
    response = caught.value.response
    return response["Error"]["Code"], response["Error"].get("Message", ""), response["ResponseMetadata"]["HTTPStatusCode"]


# ------------------------------------------------------------------ SQS
def test_sqs_redrive_allow_policy_is_read_back(server: EmulatorServer) -> None:
    sqs, s = client(server, "sqs"), uuid.uuid4().hex[:8]
    plain = sqs.create_queue(QueueName=f"tf-plain-{s}")["QueueUrl"]
    assert "RedriveAllowPolicy" not in sqs.get_queue_attributes(QueueUrl=plain, AttributeNames=["All"])["Attributes"]
    assert "Attributes" not in sqs.get_queue_attributes(QueueUrl=plain, AttributeNames=["RedriveAllowPolicy"])

    # aws_sqs_queue_redrive_allow_policy: SetQueueAttributes, then GetQueueAttributes by name.
    sqs.set_queue_attributes(QueueUrl=plain, Attributes={"RedriveAllowPolicy": ALLOW_ALL})
    assert sqs.get_queue_attributes(QueueUrl=plain, AttributeNames=["RedriveAllowPolicy"])["Attributes"] == {"RedriveAllowPolicy": ALLOW_ALL}
    both = sqs.get_queue_attributes(QueueUrl=plain, AttributeNames=["RedriveAllowPolicy", "VisibilityTimeout"])["Attributes"]
    assert both == {"RedriveAllowPolicy": ALLOW_ALL, "VisibilityTimeout": "30"}
    assert sqs.get_queue_attributes(QueueUrl=plain, AttributeNames=["All"])["Attributes"]["RedriveAllowPolicy"] == ALLOW_ALL

    deny = json.dumps({"redrivePermission": "denyAll"})
    created = sqs.create_queue(QueueName=f"tf-created-{s}", Attributes={"RedriveAllowPolicy": deny})["QueueUrl"]
    assert sqs.get_queue_attributes(QueueUrl=created, AttributeNames=["All"])["Attributes"]["RedriveAllowPolicy"] == deny
    # The same CreateQueue again is no change; another policy under the name is refused.
    assert sqs.create_queue(QueueName=f"tf-created-{s}", Attributes={"RedriveAllowPolicy": deny})["QueueUrl"] == created
    assert _error(lambda: sqs.create_queue(QueueName=f"tf-created-{s}", Attributes={"RedriveAllowPolicy": ALLOW_ALL}))[0] == "QueueAlreadyExists"

    sqs.set_queue_attributes(QueueUrl=plain, Attributes={"RedriveAllowPolicy": ""})  # removed
    assert "RedriveAllowPolicy" not in sqs.get_queue_attributes(QueueUrl=plain, AttributeNames=["All"])["Attributes"]
    sqs.delete_queue(QueueUrl=plain)
    assert _error(lambda: sqs.get_queue_attributes(QueueUrl=plain, AttributeNames=["RedriveAllowPolicy"]))[0] == "AWS.SimpleQueueService.NonExistentQueue"


# ------------------------------------------------------------------ Lambda
def _function(server: EmulatorServer, **extra: Any) -> tuple[str, dict[str, Any]]:
    name = f"tf-{uuid.uuid4().hex[:8]}"
    role = client(server, "iam").create_role(RoleName=name, AssumeRolePolicyDocument=TRUST)["Role"]["Arn"]
    created = client(server, "lambda").create_function(FunctionName=name, Runtime="python3.11", Role=role, Handler="index.handler",
                                                       Code={"ZipFile": lambda_zip()}, **extra)
    return name, created


def test_lambda_logging_config_and_revision_id(server: EmulatorServer) -> None:
    lam = client(server, "lambda")
    name, created = _function(server)
    default = {"LogFormat": "Text", "LogGroup": f"/aws/lambda/{name}"}
    assert created["LoggingConfig"] == default
    revision = created["RevisionId"]
    assert str(uuid.UUID(revision)) == revision
    got = lam.get_function(FunctionName=name)["Configuration"]
    assert got["LoggingConfig"] == default and got["RevisionId"] == revision
    assert lam.get_function_configuration(FunctionName=name)["RevisionId"] == revision  # unchanged by reads

    updated = lam.update_function_configuration(FunctionName=name, Timeout=10)
    assert updated["RevisionId"] not in (None, revision) and updated["LoggingConfig"] == default
    after_config = lam.get_function_configuration(FunctionName=name)
    assert after_config["RevisionId"] == updated["RevisionId"] and after_config["Timeout"] == 10

    code = lam.update_function_code(FunctionName=name, ZipFile=lambda_zip())
    assert code["RevisionId"] not in (revision, updated["RevisionId"])
    assert lam.get_function(FunctionName=name)["Configuration"]["RevisionId"] == code["RevisionId"]
    listed = [f for f in lam.list_functions()["Functions"] if f["FunctionName"] == name]
    assert listed[0]["RevisionId"] == code["RevisionId"] and listed[0]["LoggingConfig"] == default

    # RevisionId given to an update: the function's, else Lambda's 412 and nothing changed.
    stale = _error(lambda: lam.update_function_configuration(FunctionName=name, Timeout=20, RevisionId=revision))
    assert stale[0] == "PreconditionFailedException" and stale[2] == 412
    assert _error(lambda: lam.update_function_code(FunctionName=name, ZipFile=lambda_zip(), RevisionId=revision))[0] == "PreconditionFailedException"
    assert _error(lambda: lam.publish_version(FunctionName=name, RevisionId=revision))[0] == "PreconditionFailedException"
    assert lam.get_function_configuration(FunctionName=name)["Timeout"] == 10
    current = lam.update_function_configuration(FunctionName=name, Timeout=12, RevisionId=code["RevisionId"])
    assert current["Timeout"] == 12 and current["RevisionId"] != code["RevisionId"]

    json_logs = lam.update_function_configuration(FunctionName=name, LoggingConfig={
        "LogFormat": "JSON", "ApplicationLogLevel": "DEBUG", "SystemLogLevel": "WARN", "LogGroup": "/tf/custom"})
    wanted = {"LogFormat": "JSON", "ApplicationLogLevel": "DEBUG", "SystemLogLevel": "WARN", "LogGroup": "/tf/custom"}
    assert json_logs["LoggingConfig"] == wanted
    assert lam.get_function(FunctionName=name)["Configuration"]["LoggingConfig"] == wanted
    # Back to Text: the levels are the JSON format's only.
    text = lam.update_function_configuration(FunctionName=name, LoggingConfig={"LogFormat": "Text"})["LoggingConfig"]
    assert text == {"LogFormat": "Text", "LogGroup": "/tf/custom"}


def test_lambda_logging_config_given_at_creation(server: EmulatorServer) -> None:
    lam = client(server, "lambda")
    name, created = _function(server, LoggingConfig={"LogFormat": "JSON", "ApplicationLogLevel": "ERROR", "SystemLogLevel": "DEBUG",
                                                     "LogGroup": "/tf/created"})
    wanted = {"LogFormat": "JSON", "ApplicationLogLevel": "ERROR", "SystemLogLevel": "DEBUG", "LogGroup": "/tf/created"}
    assert created["LoggingConfig"] == wanted
    assert lam.get_function_configuration(FunctionName=name)["LoggingConfig"] == wanted


# ------------------------------------------------------------------ KMS
def test_kms_key_rotation_status_fields(server: EmulatorServer) -> None:
    kms = client(server, "kms")
    key = kms.create_key()["KeyMetadata"]
    off = kms.get_key_rotation_status(KeyId=key["KeyId"])
    assert off["KeyRotationEnabled"] is False and off["KeyId"] == key["Arn"]
    assert "RotationPeriodInDays" not in off and "NextRotationDate" not in off

    kms.enable_key_rotation(KeyId=key["KeyId"])
    now = dt.datetime.now(dt.UTC)
    on = kms.get_key_rotation_status(KeyId=key["Arn"])
    assert on["KeyRotationEnabled"] is True and on["KeyId"] == key["Arn"] and on["RotationPeriodInDays"] == 365
    assert abs((on["NextRotationDate"] - now) - dt.timedelta(days=365)) < dt.timedelta(minutes=5)

    kms.enable_key_rotation(KeyId=key["KeyId"], RotationPeriodInDays=90)
    custom = kms.get_key_rotation_status(KeyId=key["KeyId"])
    assert custom["RotationPeriodInDays"] == 90
    assert abs((custom["NextRotationDate"] - now) - dt.timedelta(days=90)) < dt.timedelta(minutes=5)

    kms.disable_key_rotation(KeyId=key["KeyId"])
    disabled = kms.get_key_rotation_status(KeyId=key["KeyId"])
    assert disabled["KeyRotationEnabled"] is False and "NextRotationDate" not in disabled


# ------------------------------------------------------------------ S3
def test_s3_request_payment_is_kept(server: EmulatorServer) -> None:
    s3, bucket = client(server, "s3"), f"tf-pay-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    assert s3.get_bucket_request_payment(Bucket=bucket)["Payer"] == "BucketOwner"
    s3.put_bucket_request_payment(Bucket=bucket, RequestPaymentConfiguration={"Payer": "Requester"})
    assert s3.get_bucket_request_payment(Bucket=bucket)["Payer"] == "Requester"
    s3.put_bucket_request_payment(Bucket=bucket, RequestPaymentConfiguration={"Payer": "BucketOwner"})
    assert s3.get_bucket_request_payment(Bucket=bucket)["Payer"] == "BucketOwner"
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0  # the bucket's other reads are moto's still

    missing = f"tf-missing-{uuid.uuid4().hex[:8]}"
    assert _error(lambda: s3.put_bucket_request_payment(Bucket=missing, RequestPaymentConfiguration={"Payer": "Requester"}))[0] == "NoSuchBucket"
    assert _error(lambda: s3.get_bucket_request_payment(Bucket=missing))[0] == "NoSuchBucket"
    assert missing not in [b["Name"] for b in s3.list_buckets()["Buckets"]]  # (moto created it)


def test_what_is_kept_survives_a_restart(tmp_path: Path) -> None:
    """The request payment, a function's LoggingConfig and RevisionId and a key's rotation period
    are moto's state (attributes of its objects): saved with it."""
    with EmulatorServer(data_dir=tmp_path / "d", extra_args=["--services", "dynamodb"]) as restarted:
        s3 = restarted.client("s3")
        s3.create_bucket(Bucket="tf-pay-kept")
        s3.put_bucket_request_payment(Bucket="tf-pay-kept", RequestPaymentConfiguration={"Payer": "Requester"})
        name, created = _function(restarted, LoggingConfig={"LogFormat": "JSON", "LogGroup": "/tf/kept"})
        kms = restarted.client("kms")
        key = kms.create_key()["KeyMetadata"]["KeyId"]
        kms.enable_key_rotation(KeyId=key, RotationPeriodInDays=180)
        before = kms.get_key_rotation_status(KeyId=key)
        restarted.kill()
        restarted.start()
        assert restarted.client("s3").get_bucket_request_payment(Bucket="tf-pay-kept")["Payer"] == "Requester"
        config = restarted.client("lambda").get_function_configuration(FunctionName=name)
        assert config["RevisionId"] == created["RevisionId"] and config["LoggingConfig"] == created["LoggingConfig"]
        assert restarted.client("kms").get_key_rotation_status(KeyId=key) == {**before, "ResponseMetadata": ANY}


# ------------------------------------------------------------------ Secrets Manager
def test_secret_scheduled_for_deletion(server: EmulatorServer) -> None:
    sm, name = client(server, "secretsmanager"), f"tf/{uuid.uuid4().hex[:8]}"
    sm.create_secret(Name=name, SecretString="v")
    sm.delete_secret(SecretId=name, RecoveryWindowInDays=7)
    assert _error(lambda: sm.get_secret_value(SecretId=name)) == (
        "InvalidRequestException", "You can't perform this operation on the secret because it was marked for deletion.", 400)
    assert _error(lambda: sm.create_secret(Name=name, SecretString="w")) == (
        "InvalidRequestException", "You can't create this secret because a secret with this name is already scheduled for deletion.", 400)
    sm.restore_secret(SecretId=name)
    assert sm.get_secret_value(SecretId=name)["SecretString"] == "v"
    assert _error(lambda: sm.create_secret(Name=name, SecretString="w"))[0] == "ResourceExistsException"
