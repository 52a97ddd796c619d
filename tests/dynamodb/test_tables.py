"""Control plane through boto3: tables, indexes, tags, TTL, limits, endpoints."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError


def _code(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    err = exc.value.response["Error"]
    return err["Code"], err["Message"]


def test_create_describe_delete(ddb: Any, new_name: Any) -> None:
    name = new_name()
    out = ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "N"}],
        ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 7},
    )["TableDescription"]
    assert out["TableName"] == name
    assert out["TableArn"] == f"arn:aws:dynamodb:us-east-1:000000000000:table/{name}"
    ddb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 5})
    desc = ddb.describe_table(TableName=name)["Table"]
    assert desc["TableStatus"] == "ACTIVE"
    assert desc["ProvisionedThroughput"]["ReadCapacityUnits"] == 5
    assert desc["ProvisionedThroughput"]["WriteCapacityUnits"] == 7
    assert desc["KeySchema"][1] == {"AttributeName": "sk", "KeyType": "RANGE"}
    assert desc["ItemCount"] == 0
    ddb.put_item(TableName=name, Item={"pk": {"S": "a"}, "sk": {"N": "1"}})
    assert ddb.describe_table(TableName=name)["Table"]["ItemCount"] == 1
    with pytest.raises(ClientError) as exc:
        ddb.create_table(
            TableName=name,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
    assert _code(exc) == ("ResourceInUseException", f"Table already exists: {name}")
    assert ddb.delete_table(TableName=name)["TableDescription"]["TableStatus"] == "DELETING"
    ddb.get_waiter("table_not_exists").wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 5})
    with pytest.raises(ClientError) as exc:
        ddb.describe_table(TableName=name)
    assert _code(exc)[0] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as exc:
        ddb.get_item(TableName=name, Key={"pk": {"S": "a"}, "sk": {"N": "1"}})
    assert _code(exc) == ("ResourceNotFoundException", "Requested resource not found")


def test_list_tables_pages_in_name_order(ddb: Any, new_name: Any, make_table: Any) -> None:
    prefix = new_name("list")
    names = [make_table(TableName=f"{prefix}-{i}") for i in (3, 1, 2)]
    seen: list[str] = []
    start: dict[str, Any] = {}
    while True:
        page = ddb.list_tables(Limit=2, **start)
        seen.extend(page["TableNames"])
        assert len(page["TableNames"]) <= 2
        if "LastEvaluatedTableName" not in page:
            break
        start = {"ExclusiveStartTableName": page["LastEvaluatedTableName"]}
    ours = [n for n in seen if n.startswith(prefix)]
    assert ours == sorted(names)
    assert seen == sorted(seen)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}], "AttributeDefinitions": [{"AttributeName": "x", "AttributeType": "S"}]},
            "One or more parameter values were invalid: Some index key attributes are not defined in AttributeDefinitions. Keys: [pk], AttributeDefinitions: [x]",
        ),
        (
            {
                "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
                "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "x", "AttributeType": "S"}],
            },
            "One or more parameter values were invalid: Number of attributes in KeySchema does not exactly match number of attributes defined in AttributeDefinitions",
        ),
    ],
)
def test_create_table_validation(ddb: Any, new_name: Any, kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ClientError) as exc:
        ddb.create_table(TableName=new_name(), BillingMode="PAY_PER_REQUEST", **kwargs)
    assert _code(exc) == ("ValidationException", message)


def test_create_table_throughput_rules(ddb: Any, new_name: Any) -> None:
    base = {
        "TableName": new_name(),
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
    }
    with pytest.raises(ClientError) as exc:
        ddb.create_table(**base)
    assert "ReadCapacityUnits and WriteCapacityUnits must both be specified" in _code(exc)[1]
    with pytest.raises(ClientError) as exc:
        ddb.create_table(**base, BillingMode="PAY_PER_REQUEST", ProvisionedThroughput={"ReadCapacityUnits": 1, "WriteCapacityUnits": 1})
    assert "Neither ReadCapacityUnits nor WriteCapacityUnits can be specified when BillingMode is PAY_PER_REQUEST" in _code(exc)[1]


def test_index_limits(ddb: Any, new_name: Any) -> None:
    attrs = [{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "S"}]
    gsis = [
        {"IndexName": f"gsi{i}", "KeySchema": [{"AttributeName": "sk", "KeyType": "HASH"}], "Projection": {"ProjectionType": "KEYS_ONLY"}} for i in range(21)
    ]
    with pytest.raises(ClientError) as exc:
        ddb.create_table(
            TableName=new_name(),
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=attrs,
            BillingMode="PAY_PER_REQUEST",
            GlobalSecondaryIndexes=gsis,
        )
    assert _code(exc)[0] == "ValidationException"
    assert "20" in _code(exc)[1]
    lsis = [
        {
            "IndexName": f"lsi{i}",
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            "Projection": {"ProjectionType": "KEYS_ONLY"},
        }
        for i in range(6)
    ]
    with pytest.raises(ClientError) as exc:
        ddb.create_table(
            TableName=new_name(),
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "x", "KeyType": "RANGE"}],
            AttributeDefinitions=[*attrs, {"AttributeName": "x", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
            LocalSecondaryIndexes=lsis,
        )
    assert _code(exc) == ("ValidationException", "One or more parameter values were invalid: Number of LocalSecondaryIndexes exceeds per-table limit of 5")


def test_update_table_billing_throughput_and_gsi_backfill(ddb: Any, make_table: Any) -> None:
    name = make_table(range=("sk", "S"), BillingMode="PROVISIONED", ProvisionedThroughput={"ReadCapacityUnits": 1, "WriteCapacityUnits": 1})
    for i in range(5):
        item = {"pk": {"S": f"p{i}"}, "sk": {"S": "x"}, "color": {"S": "red" if i % 2 else "blue"}}
        if i == 4:
            del item["color"]  # sparse: not in the index
        ddb.put_item(TableName=name, Item=item)
    desc = ddb.update_table(TableName=name, ProvisionedThroughput={"ReadCapacityUnits": 3, "WriteCapacityUnits": 4})["TableDescription"]
    assert desc["ProvisionedThroughput"]["ReadCapacityUnits"] == 3
    desc = ddb.update_table(
        TableName=name,
        AttributeDefinitions=[{"AttributeName": "color", "AttributeType": "S"}],
        GlobalSecondaryIndexUpdates=[
            {
                "Create": {
                    "IndexName": "by-color",
                    "KeySchema": [{"AttributeName": "color", "KeyType": "HASH"}],
                    "Projection": {"ProjectionType": "ALL"},
                    "ProvisionedThroughput": {"ReadCapacityUnits": 1, "WriteCapacityUnits": 1},
                }
            }
        ],
    )["TableDescription"]
    assert [g["IndexName"] for g in desc["GlobalSecondaryIndexes"]] == ["by-color"]
    red = ddb.query(TableName=name, IndexName="by-color", KeyConditionExpression="color = :c", ExpressionAttributeValues={":c": {"S": "red"}})
    assert sorted(i["pk"]["S"] for i in red["Items"]) == ["p1", "p3"]
    assert ddb.scan(TableName=name, IndexName="by-color")["Count"] == 4
    desc = ddb.update_table(TableName=name, BillingMode="PAY_PER_REQUEST")["TableDescription"]
    assert desc["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    desc = ddb.update_table(TableName=name, GlobalSecondaryIndexUpdates=[{"Delete": {"IndexName": "by-color"}}])["TableDescription"]
    assert [(g["IndexName"], g["IndexStatus"]) for g in desc["GlobalSecondaryIndexes"]] == [("by-color", "DELETING")]
    assert "GlobalSecondaryIndexes" not in ddb.describe_table(TableName=name)["Table"]
    with pytest.raises(ClientError) as exc:
        ddb.query(TableName=name, IndexName="by-color", KeyConditionExpression="color = :c", ExpressionAttributeValues={":c": {"S": "red"}})
    assert _code(exc) == ("ValidationException", "The table does not have the specified index: by-color")
    desc = ddb.update_table(TableName=name, StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})["TableDescription"]
    assert desc["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    assert desc["LatestStreamArn"].startswith(desc["TableArn"] + "/stream/")


def test_update_table_answer_shows_the_change_in_progress(ddb: Any, make_table: Any) -> None:
    """UpdateTable answers as AWS does (table UPDATING, a new index CREATING and not yet
    backfilled); DescribeTable shows the finished state at once."""
    name = make_table()
    ddb.put_item(TableName=name, Item={"pk": {"S": "a"}, "color": {"S": "red"}})
    desc = ddb.update_table(
        TableName=name,
        AttributeDefinitions=[{"AttributeName": "color", "AttributeType": "S"}],
        GlobalSecondaryIndexUpdates=[
            {"Create": {"IndexName": "by-color", "KeySchema": [{"AttributeName": "color", "KeyType": "HASH"}], "Projection": {"ProjectionType": "ALL"}}}
        ],
    )["TableDescription"]
    assert desc["TableStatus"] == "UPDATING"
    (gsi,) = desc["GlobalSecondaryIndexes"]
    assert (gsi["IndexStatus"], gsi["Backfilling"], gsi["ItemCount"], gsi["IndexSizeBytes"]) == ("CREATING", False, 0, 0)
    table = ddb.describe_table(TableName=name)["Table"]
    assert table["TableStatus"] == "ACTIVE"
    assert [(g["IndexStatus"], g["ItemCount"]) for g in table["GlobalSecondaryIndexes"]] == [("ACTIVE", 1)]
    assert "Backfilling" not in table["GlobalSecondaryIndexes"][0]
    ddb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 3})
    units = {"ReadCapacityUnits": 1, "WriteCapacityUnits": 1}
    desc = ddb.update_table(
        TableName=name,
        BillingMode="PROVISIONED",
        ProvisionedThroughput=units,
        GlobalSecondaryIndexUpdates=[{"Update": {"IndexName": "by-color", "ProvisionedThroughput": units}}],
    )["TableDescription"]
    assert desc["TableStatus"] == "UPDATING"
    assert ddb.describe_table(TableName=name)["Table"]["TableStatus"] == "ACTIVE"
    # Only deletion protection: nothing to wait for.
    assert ddb.update_table(TableName=name, DeletionProtectionEnabled=False)["TableDescription"]["TableStatus"] == "ACTIVE"


def test_terraform_lifecycle(ddb: Any, new_name: Any) -> None:
    """The calls Terraform's aws_dynamodb_table makes to create, read, update and delete a table."""
    name = new_name("tf")
    ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        Tags=[{"Key": "env", "Value": "test"}],
    )
    desc = ddb.describe_table(TableName=name)["Table"]
    assert desc["TableStatus"] == "ACTIVE"
    arn = desc["TableArn"]
    backups = ddb.describe_continuous_backups(TableName=name)["ContinuousBackupsDescription"]
    assert backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "DISABLED"
    assert ddb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]["TimeToLiveStatus"] == "DISABLED"
    assert ddb.list_tags_of_resource(ResourceArn=arn)["Tags"] == [{"Key": "env", "Value": "test"}]
    ddb.update_table(TableName=name, BillingMode="PROVISIONED", ProvisionedThroughput={"ReadCapacityUnits": 2, "WriteCapacityUnits": 2})
    ddb.tag_resource(ResourceArn=arn, Tags=[{"Key": "team", "Value": "x"}])
    ddb.untag_resource(ResourceArn=arn, TagKeys=["env"])
    assert ddb.list_tags_of_resource(ResourceArn=arn)["Tags"] == [{"Key": "team", "Value": "x"}]
    spec = ddb.update_time_to_live(TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires"})
    assert spec["TimeToLiveSpecification"] == {"Enabled": True, "AttributeName": "expires"}
    assert ddb.describe_time_to_live(TableName=name)["TimeToLiveDescription"] == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expires"}
    with pytest.raises(ClientError) as exc:
        ddb.update_time_to_live(TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires"})
    assert _code(exc) == ("ValidationException", "TimeToLive is already enabled")
    ddb.describe_table(TableName=name)
    ddb.delete_table(TableName=name)
    with pytest.raises(ClientError) as exc:
        ddb.describe_table(TableName=name)
    assert _code(exc)[0] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as exc:
        ddb.describe_continuous_backups(TableName=name)
    assert _code(exc)[0] == "TableNotFoundException"


def test_tags_on_missing_table(ddb: Any) -> None:
    with pytest.raises(ClientError) as exc:
        ddb.list_tags_of_resource(ResourceArn="arn:aws:dynamodb:us-east-1:000000000000:table/nope-nope")
    assert _code(exc)[0] == "ResourceNotFoundException"


def test_limits_and_endpoints(ddb: Any) -> None:
    limits = ddb.describe_limits()
    assert limits["TableMaxReadCapacityUnits"] == 40000
    endpoints = ddb.describe_endpoints()["Endpoints"]
    assert endpoints[0]["Address"].startswith("127.0.0.1:")
    assert endpoints[0]["CachePeriodInMinutes"] == 1440


def test_deletion_protection(ddb: Any, make_table: Any) -> None:
    name = make_table(DeletionProtectionEnabled=True)
    with pytest.raises(ClientError) as exc:
        ddb.delete_table(TableName=name)
    assert _code(exc)[0] == "ValidationException"
    ddb.update_table(TableName=name, DeletionProtectionEnabled=False)
    ddb.delete_table(TableName=name)


def test_unsupported_operation_is_an_error(ddb: Any) -> None:
    """An operation the native service lacks is AWS's error, never an empty success."""
    from botocore import xform_name

    from emulator.handlers.dynamodb import DynamoDBHandler

    served = {getattr(m, "__aws_operation__", None) for m in vars(DynamoDBHandler).values()}
    for base in DynamoDBHandler.__mro__[1:]:
        served |= {getattr(m, "__aws_operation__", None) for m in vars(base).values()}
    missing = [op for op in ("DescribeContributorInsights", "ListImports", "DescribeGlobalTableSettings", "ExecuteStatement") if op not in served]
    if not missing:
        pytest.skip("every candidate operation is served natively")
    method = getattr(ddb, xform_name(missing[0]))
    kwargs: dict[str, Any] = {
        "DescribeContributorInsights": {"TableName": "x-table"},
        "ListImports": {},
        "DescribeGlobalTableSettings": {"GlobalTableName": "x-table"},
        "ExecuteStatement": {"Statement": "SELECT * FROM x"},
    }[missing[0]]
    with pytest.raises(ClientError) as exc:
        method(**kwargs)
    assert _code(exc)[0] == "UnknownOperationException"
