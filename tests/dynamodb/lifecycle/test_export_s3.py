"""ExportTableToPointInTime into a bucket of this endpoint's S3: the export's objects are
listed and read with the S3 client, in DynamoDB's export layout, and ImportTable reads them back."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest


@pytest.fixture(scope="module")
def s3(aws_client: Callable[..., Any]) -> Any:
    return aws_client("s3")


def wait(fn: Callable[[], dict[str, Any]], key: str) -> dict[str, Any]:
    deadline = time.time() + 30
    while True:
        out = fn()
        if out[key] != "IN_PROGRESS" or time.time() > deadline:
            return out
        time.sleep(0.1)


def scan(ddb: Any, name: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"TableName": name}
    while True:
        page = ddb.scan(**kwargs)
        items.extend(page["Items"])
        if "LastEvaluatedKey" not in page:
            return sorted(items, key=lambda i: (i["pk"]["S"], i["sk"]["N"]))
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def test_export_to_s3_bucket_lists_reads_and_imports(ddb: Any, s3: Any, make_table: Callable[..., str], new_name: Callable[..., str]) -> None:
    name = make_table(range=("sk", "N"))
    arn = ddb.describe_table(TableName=name)["Table"]["TableArn"]
    ddb.update_continuous_backups(TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True})
    for i in range(75):
        ddb.put_item(TableName=name, Item={"pk": {"S": f"p{i % 4}"}, "sk": {"N": str(i)}, "b": {"B": bytes([i, 0, 255])}, "l": {"L": [{"N": "1.5"}, {"NULL": True}]}})
    original = scan(ddb, name)
    bucket = f"exp-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)

    out = ddb.export_table_to_point_in_time(TableArn=arn, S3Bucket=bucket, S3Prefix="runs/one")["ExportDescription"]
    ddb.put_item(TableName=name, Item={"pk": {"S": "after"}, "sk": {"N": "0"}})  # after ExportTime: not exported
    desc = wait(lambda: ddb.describe_export(ExportArn=out["ExportArn"])["ExportDescription"], "ExportStatus")
    assert desc["ExportStatus"] == "COMPLETED", desc
    export_id = out["ExportArn"].rsplit("/", 1)[1]
    base = f"runs/one/AWSDynamoDB/{export_id}"
    assert desc["ExportManifest"] == f"{base}/manifest-summary.json" and desc["ItemCount"] == 75

    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="runs/one/")["Contents"]]
    data_keys = [k for k in keys if k.startswith(f"{base}/data/")]
    assert sorted(set(keys) - set(data_keys)) == [f"{base}/manifest-files.json", f"{base}/manifest-summary.json"]
    assert data_keys and all(k.endswith(".json.gz") for k in data_keys)

    summary = json.loads(s3.get_object(Bucket=bucket, Key=f"{base}/manifest-summary.json")["Body"].read())
    assert summary["exportArn"] == out["ExportArn"] and summary["s3Bucket"] == bucket and summary["itemCount"] == 75
    assert summary["manifestFilesS3Key"] == f"{base}/manifest-files.json" and summary["outputFormat"] == "DYNAMODB_JSON"
    files = [json.loads(line) for line in s3.get_object(Bucket=bucket, Key=f"{base}/manifest-files.json")["Body"].read().splitlines()]
    assert sorted(f["dataFileS3Key"] for f in files) == sorted(data_keys)
    lines: list[dict[str, Any]] = []
    for f in files:
        body = s3.get_object(Bucket=bucket, Key=f["dataFileS3Key"])["Body"].read()
        assert base64.b64decode(f["md5Checksum"]) == hashlib.md5(body).digest()
        part = [json.loads(line) for line in gzip.decompress(body).splitlines()]
        assert len(part) == f["itemCount"]
        lines += part
    assert len(lines) == 75 and all(set(line) == {"Item"} for line in lines)
    assert {line["Item"]["pk"]["S"] for line in lines} == {"p0", "p1", "p2", "p3"}

    target = new_name("imported")
    imp = ddb.import_table(
        S3BucketSource={"S3Bucket": bucket, "S3KeyPrefix": f"{base}/"},
        InputFormat="DYNAMODB_JSON",
        InputCompressionType="GZIP",
        TableCreationParameters={
            "TableName": target,
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "N"}],
            "BillingMode": "PAY_PER_REQUEST",
        },
    )["ImportTableDescription"]
    try:
        done = wait(lambda: ddb.describe_import(ImportArn=imp["ImportArn"])["ImportTableDescription"], "ImportStatus")
        # The manifests under the prefix are not data: only the 75 items are read.
        assert done["ImportStatus"] == "COMPLETED", done
        assert done["ImportedItemCount"] == 75 and done["ErrorCount"] == 0
        assert scan(ddb, target) == original
    finally:
        ddb.delete_table(TableName=target)


def test_export_sse_kms_reaches_the_objects(ddb: Any, s3: Any, make_table: Callable[..., str]) -> None:
    name = make_table()
    arn = ddb.describe_table(TableName=name)["Table"]["TableArn"]
    ddb.update_continuous_backups(TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True})
    ddb.put_item(TableName=name, Item={"pk": {"S": "a"}})
    bucket = f"exp-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    key_arn = "arn:aws:kms:us-east-1:000000000000:key/11111111-2222-3333-4444-555555555555"
    out = ddb.export_table_to_point_in_time(TableArn=arn, S3Bucket=bucket, S3SseAlgorithm="KMS", S3SseKmsKeyId=key_arn)["ExportDescription"]
    assert out["S3SseAlgorithm"] == "KMS" and out["S3SseKmsKeyId"] == key_arn
    desc = wait(lambda: ddb.describe_export(ExportArn=out["ExportArn"])["ExportDescription"], "ExportStatus")
    assert desc["ExportStatus"] == "COMPLETED", desc
    head = s3.head_object(Bucket=bucket, Key=desc["ExportManifest"])
    assert head["ServerSideEncryption"] == "aws:kms" and head["SSEKMSKeyId"] == key_arn
    summary = json.loads(s3.get_object(Bucket=bucket, Key=desc["ExportManifest"])["Body"].read())
    assert summary["s3SseAlgorithm"] == "KMS" and summary["s3SseKmsKeyId"] == key_arn and summary["itemCount"] == 1
