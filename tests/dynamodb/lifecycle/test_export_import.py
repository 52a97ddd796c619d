"""Export to the local "S3" folder and import back: layout, manifests, round trip."""

from __future__ import annotations

import gzip
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from emulator.testing.server import EmulatorServer


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    with EmulatorServer() as srv:
        yield srv


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


def make(ddb: Any, name: str) -> str:
    ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "N"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return str(ddb.describe_table(TableName=name)["Table"]["TableArn"])


def test_export_layout_and_round_trip(server: EmulatorServer) -> None:
    ddb = server.client("dynamodb")
    arn = make(ddb, "exp-src")
    ddb.update_continuous_backups(TableName="exp-src", PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True})
    for i in range(120):
        ddb.put_item(
            TableName="exp-src",
            Item={
                "pk": {"S": f"p{i % 7}"},
                "sk": {"N": str(i)},
                "b": {"B": bytes([i % 256, 0, 255])},
                "ss": {"SS": ["x", f"y{i}"]},
                "m": {"M": {"l": {"L": [{"N": "1.5"}, {"BOOL": True}, {"NULL": True}, {"BS": [b"\x01", b"\x02"]}]}}},
            },
        )
    original = scan(ddb, "exp-src")
    out = ddb.export_table_to_point_in_time(TableArn=arn, S3Bucket="my-bucket", S3Prefix="exports/run1", ExportFormat="DYNAMODB_JSON")
    export_arn = out["ExportDescription"]["ExportArn"]
    assert out["ExportDescription"]["ExportStatus"] in ("IN_PROGRESS", "COMPLETED")
    ddb.put_item(TableName="exp-src", Item={"pk": {"S": "after"}, "sk": {"N": "0"}})  # after ExportTime: not exported
    desc = wait(lambda: ddb.describe_export(ExportArn=export_arn)["ExportDescription"], "ExportStatus")
    assert desc["ExportStatus"] == "COMPLETED", desc
    assert desc["ItemCount"] == 120
    export_id = export_arn.rsplit("/", 1)[1]
    root = Path(server.data_dir) / "s3" / "my-bucket" / "exports" / "run1" / "AWSDynamoDB" / export_id
    assert desc["ExportManifest"] == f"exports/run1/AWSDynamoDB/{export_id}/manifest-summary.json"
    summary = json.loads((root / "manifest-summary.json").read_text())
    assert summary["itemCount"] == 120 and summary["outputFormat"] == "DYNAMODB_JSON" and summary["exportArn"] == export_arn
    files = [json.loads(line) for line in (root / "manifest-files.json").read_text().splitlines()]
    assert sum(f["itemCount"] for f in files) == 120
    lines = []
    for f in files:
        assert f["dataFileS3Key"].startswith(f"exports/run1/AWSDynamoDB/{export_id}/data/") and f["dataFileS3Key"].endswith(".json.gz")
        lines += gzip.decompress((Path(server.data_dir) / "s3" / "my-bucket" / f["dataFileS3Key"]).read_bytes()).decode().splitlines()
    assert len(lines) == 120 and all(set(json.loads(line)) == {"Item"} for line in lines)
    assert [e["ExportArn"] for e in ddb.list_exports(TableArn=arn)["ExportSummaries"]] == [export_arn]

    imp = ddb.import_table(
        S3BucketSource={"S3Bucket": "my-bucket", "S3KeyPrefix": f"exports/run1/AWSDynamoDB/{export_id}/data/"},
        InputFormat="DYNAMODB_JSON",
        InputCompressionType="GZIP",
        TableCreationParameters={
            "TableName": "exp-dst",
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "N"}],
            "BillingMode": "PAY_PER_REQUEST",
        },
    )["ImportTableDescription"]
    done = wait(lambda: ddb.describe_import(ImportArn=imp["ImportArn"])["ImportTableDescription"], "ImportStatus")
    assert done["ImportStatus"] == "COMPLETED", done
    assert done["ImportedItemCount"] == 120 and done["ErrorCount"] == 0
    assert scan(ddb, "exp-dst") == original
    assert [i["ImportArn"] for i in ddb.list_imports()["ImportSummaryList"]] == [imp["ImportArn"]]
    with pytest.raises(ClientError) as err:
        ddb.import_table(
            S3BucketSource={"S3Bucket": "my-bucket", "S3KeyPrefix": "x"},
            InputFormat="DYNAMODB_JSON",
            TableCreationParameters={"TableName": "exp-dst", "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}], "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}], "BillingMode": "PAY_PER_REQUEST"},
        )
    assert err.value.response["Error"]["Code"] == "ResourceInUseException"


def test_import_csv_and_bad_lines(server: EmulatorServer) -> None:
    ddb = server.client("dynamodb")
    folder = Path(server.data_dir) / "s3" / "csv-bucket" / "in"
    folder.mkdir(parents=True)
    (folder / "a.csv").write_text("pk,sk,name\nx,1,alpha\ny,2,beta\n")
    imp = ddb.import_table(
        S3BucketSource={"S3Bucket": "csv-bucket", "S3KeyPrefix": "in/"},
        InputFormat="CSV",
        TableCreationParameters={
            "TableName": "csv-dst",
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "N"}],
            "BillingMode": "PAY_PER_REQUEST",
        },
    )["ImportTableDescription"]
    done = wait(lambda: ddb.describe_import(ImportArn=imp["ImportArn"])["ImportTableDescription"], "ImportStatus")
    assert done["ImportStatus"] == "COMPLETED" and done["ImportedItemCount"] == 2
    assert scan(ddb, "csv-dst")[0] == {"pk": {"S": "x"}, "sk": {"N": "1"}, "name": {"S": "alpha"}}
    (folder / "b.json").write_text('{"Item": {"pk": {"S": "ok"}, "sk": {"N": "1"}}}\nnot json\n{"Item": {"pk": {"N": "1"}, "sk": {"N": "1"}}}\n')
    imp = ddb.import_table(
        S3BucketSource={"S3Bucket": "csv-bucket", "S3KeyPrefix": "in/b"},
        InputFormat="DYNAMODB_JSON",
        TableCreationParameters={
            "TableName": "json-dst",
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "N"}],
            "BillingMode": "PAY_PER_REQUEST",
        },
    )["ImportTableDescription"]
    done = wait(lambda: ddb.describe_import(ImportArn=imp["ImportArn"])["ImportTableDescription"], "ImportStatus")
    assert done["ImportStatus"] == "COMPLETED" and done["ImportedItemCount"] == 1 and done["ErrorCount"] == 2


def test_export_errors(server: EmulatorServer) -> None:
    ddb = server.client("dynamodb")
    arn = make(ddb, "exp-nopitr")
    with pytest.raises(ClientError) as err:
        ddb.export_table_to_point_in_time(TableArn=arn, S3Bucket="my-bucket")
    assert err.value.response["Error"]["Code"] == "PointInTimeRecoveryUnavailableException"
    with pytest.raises(ClientError) as err:
        ddb.export_table_to_point_in_time(TableArn=arn.replace("exp-nopitr", "exp-missing"), S3Bucket="my-bucket")
    assert err.value.response["Error"]["Code"] == "TableNotFoundException"
    with pytest.raises(ClientError) as err:
        ddb.describe_export(ExportArn=arn + "/export/01234567890123-abcdef12")
    assert err.value.response["Error"]["Code"] == "ExportNotFoundException"
    with pytest.raises(ClientError) as err:
        ddb.describe_import(ImportArn=arn + "/import/01234567890123-abcdef12")
    assert err.value.response["Error"]["Code"] == "ImportNotFoundException"
