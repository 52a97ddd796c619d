"""What popular client libraries send, on the wire with plain boto3.

boto3's resource API (``Table``, ``batch_writer``, ``boto3.dynamodb.conditions``,
``TypeSerializer``/``TypeDeserializer``), botocore's paginators and waiters, and the
requests PynamoDB builds (captured from PynamoDB 6.1: its expressions put a space between
a function's name and its parenthesis and wrap key conditions in parentheses; version
attributes become ``attribute_not_exists``/``=`` conditions). The suite does not depend on
those libraries: each request is reproduced here as the library sent it.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from boto3.dynamodb.conditions import Attr, Key
from boto3.dynamodb.types import Binary, TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError, WaiterError

FAST = {"Delay": 1, "MaxAttempts": 10}


def _err(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    return exc.value.response["Error"]["Code"], exc.value.response["Error"]["Message"]


# ----------------------------------------------------------------- boto3 resource API


@pytest.fixture
def people(aws_resource: Any, make_table: Any) -> Any:
    """A resource Table (pk S, sk N) holding pk "a" with sk 1..9 and a few shapes of values."""
    table = aws_resource("dynamodb").Table(make_table(range=("sk", "N")))
    with table.batch_writer() as writer:
        for i in range(1, 10):
            writer.put_item(
                Item={
                    "pk": "a",
                    "sk": i,
                    "v": i,
                    "lo": i - 1,
                    "hi": i + 1,
                    "s": f"str{i}",
                    "pre": "str",
                    "l": [i, "x", [i * 10]],
                    "m": {"n": i, "nest": {"deep": f"d{i}"}},
                    "ss": {f"t{i}", "common"},
                    "ns": {i, 100},
                    "b": Binary(bytes([i, 0xFF])),
                    **({"odd": True} if i % 2 else {}),
                }
            )
    return table


def _sks(table: Any, condition: Any) -> list[int]:
    items = table.query(KeyConditionExpression=Key("pk").eq("a"), FilterExpression=condition)["Items"]
    return [int(i["sk"]) for i in items]


def test_condition_builder_key_operators(people: Any) -> None:
    def sks(cond: Any, **kw: Any) -> list[int]:
        return [int(i["sk"]) for i in people.query(KeyConditionExpression=cond, **kw)["Items"]]

    a = Key("pk").eq("a")
    assert sks(a & Key("sk").lt(3)) == [1, 2]
    assert sks(a & Key("sk").lte(3)) == [1, 2, 3]
    assert sks(a & Key("sk").gt(7)) == [8, 9]
    assert sks(a & Key("sk").gte(7)) == [7, 8, 9]
    assert sks(a & Key("sk").between(4, 6)) == [4, 5, 6]
    assert sks(a & Key("sk").between(4, 6), ScanIndexForward=False) == [6, 5, 4]
    assert sks(a & Key("sk").eq(5)) == [5]
    assert sks(Key("pk").eq("none")) == []


def test_condition_builder_attr_operators(people: Any) -> None:
    assert _sks(people, Attr("v").eq(5)) == [5]
    assert _sks(people, Attr("v").ne(5)) == [1, 2, 3, 4, 6, 7, 8, 9]
    assert _sks(people, Attr("v").lt(2) | Attr("v").gte(9)) == [1, 9]
    assert _sks(people, Attr("v").lte(3) & Attr("v").gt(1)) == [2, 3]
    assert _sks(people, Attr("v").between(3, 5)) == [3, 4, 5]
    assert _sks(people, Attr("v").is_in([2, 4, 99])) == [2, 4]
    assert _sks(people, Attr("s").begins_with("str1")) == [1]
    assert _sks(people, Attr("b").begins_with(Binary(bytes([3])))) == [3]
    assert _sks(people, Attr("odd").exists()) == [1, 3, 5, 7, 9]
    assert _sks(people, Attr("odd").not_exists()) == [2, 4, 6, 8]
    assert _sks(people, ~Attr("odd").exists()) == [2, 4, 6, 8]
    assert _sks(people, Attr("s").contains("r7")) == [7]
    assert _sks(people, Attr("ss").contains("t4")) == [4]
    assert _sks(people, Attr("ns").contains(6)) == [6]
    assert _sks(people, Attr("l").contains("x")) == list(range(1, 10))
    assert _sks(people, Attr("b").contains(Binary(bytes([8])))) == [8]
    assert _sks(people, Attr("s").size().eq(4)) == list(range(1, 10))
    assert _sks(people, Attr("ss").size().gt(2)) == []
    assert _sks(people, Attr("m").attribute_type("M") & Attr("ns").attribute_type("NS") & Attr("v").eq(2)) == [2]
    assert _sks(people, Attr("v").attribute_type("S")) == []
    # Paths: boto3 splits on dots and keeps list indexes ("#n0.#n1.#n2", "#n0[2][0]").
    assert _sks(people, Attr("m.nest.deep").eq("d6")) == [6]
    assert _sks(people, Attr("l[2][0]").eq(30)) == [3]
    assert _sks(people, (Attr("v").lt(3) | Attr("v").gt(8)) & ~Attr("v").eq(1)) == [2, 9]
    # An Attr as the value compares with another attribute of the same item.
    assert _sks(people, Attr("v").gt(Attr("lo")) & Attr("v").lt(Attr("hi"))) == list(range(1, 10))
    assert _sks(people, Attr("v").between(Attr("lo"), Attr("hi")) & Attr("v").eq(4)) == [4]
    assert _sks(people, Attr("s").begins_with(Attr("pre")) & Attr("v").eq(8)) == [8]
    assert _sks(people, Attr("m.n").eq(Attr("v"))) == list(range(1, 10))
    assert _sks(people, Attr("l").size().eq(Attr("v"))) == [3]
    # Comparing values of different types is false, not an error.
    assert _sks(people, Attr("s").lt(5)) == []
    assert _sks(people, Attr("v").contains(1)) == []


def test_resource_updates_conditions_and_return_values(people: Any) -> None:
    key = {"pk": "a", "sk": 1}
    out = people.update_item(
        Key=key,
        UpdateExpression="SET v = v + :one, m.n = :half, l[3] = :x, newl = list_append(if_not_exists(newl, :empty), :q) REMOVE s ADD ns :n DELETE ss :c",
        ExpressionAttributeValues={":one": 1, ":half": Decimal("0.5"), ":x": "y", ":empty": [], ":q": ["q"], ":n": {7}, ":c": {"common"}},
        ConditionExpression=Attr("v").eq(1) & Attr("pk").exists(),
        ReturnValues="ALL_NEW",
    )["Attributes"]
    assert out["v"] == 2 and out["m"]["n"] == Decimal("0.5") and out["l"] == [1, "x", [10], "y"]
    assert out["newl"] == ["q"] and "s" not in out and out["ns"] == {1, 7, 100} and out["ss"] == {"t1"}
    with pytest.raises(ClientError) as exc:
        people.delete_item(Key=key, ConditionExpression=Attr("v").eq(99), ReturnValuesOnConditionCheckFailure="ALL_OLD")
    assert _err(exc) == ("ConditionalCheckFailedException", "The conditional request failed")
    assert exc.value.response["Item"]["v"] == {"N": "2"}  # low-level form: the resource does not convert errors
    assert people.delete_item(Key={"pk": "a", "sk": 2}, ReturnValues="ALL_OLD")["Attributes"]["v"] == 2
    got = people.get_item(Key={"pk": "a", "sk": 3}, ProjectionExpression="#v, m.nest", ExpressionAttributeNames={"#v": "v"})["Item"]
    assert got == {"v": 3, "m": {"nest": {"deep": "d3"}}}


def test_batch_writer_overwrite_by_pkeys(aws_resource: Any, make_table: Any) -> None:
    resource = aws_resource("dynamodb")
    table = resource.Table(make_table(range=("sk", "N")))
    with table.batch_writer(overwrite_by_pkeys=["pk", "sk"]) as writer:
        for i in range(30):
            writer.put_item(Item={"pk": "p", "sk": i, "v": i})
        writer.put_item(Item={"pk": "p", "sk": 1, "v": "replaced"})
        writer.delete_item(Key={"pk": "p", "sk": 2})
    assert table.get_item(Key={"pk": "p", "sk": 1})["Item"]["v"] == "replaced"
    assert "Item" not in table.get_item(Key={"pk": "p", "sk": 2})
    assert table.query(KeyConditionExpression=Key("pk").eq("p"), Select="COUNT")["Count"] == 29
    # Without overwrite_by_pkeys the same key twice reaches the service in one request.
    with pytest.raises(ClientError) as exc, table.batch_writer() as writer:
        writer.put_item(Item={"pk": "d", "sk": 1})
        writer.put_item(Item={"pk": "d", "sk": 1})
    assert _err(exc) == ("ValidationException", "Provided list of item keys contains duplicates")
    got = resource.batch_get_item(RequestItems={table.name: {"Keys": [{"pk": "p", "sk": i} for i in (1, 3, 99)], "ProjectionExpression": "sk"}})
    assert sorted(int(i["sk"]) for i in got["Responses"][table.name]) == [1, 3]
    assert got["UnprocessedKeys"] == {}


def test_type_serializer_round_trip(ddb: Any, make_table: Any) -> None:
    name = make_table()
    values: dict[str, Any] = {
        "pk": "ser",
        "d38": Decimal("1.2345678901234567890123456789012345678"),
        "tiny": Decimal("-1E-130"),
        "int": 12345678901234567890123456789012345678,
        "bin": Binary(b"\xff\x00"),
        "ss": {"a", "b"},
        "ns": {Decimal("1.5"), 2},
        "bs": {Binary(b"a"), Binary(b"b")},
        "nul": None,
        "yes": True,
        "no": False,
        "l": [1, "a", None, {"x": [False, Binary(b"z")]}],
        "m": {"deep": {"deeper": {"deepest": Decimal(0)}}},
        "empty_s": "",
        "empty_b": Binary(b""),
        "empty_l": [],
        "empty_m": {},
    }
    ser, de = TypeSerializer(), TypeDeserializer()
    ddb.put_item(TableName=name, Item={k: ser.serialize(v) for k, v in values.items()})
    raw = ddb.get_item(TableName=name, Key={"pk": {"S": "ser"}})["Item"]
    assert {k: de.deserialize(v) for k, v in raw.items()} == values
    assert raw["tiny"] == {"N": "-0." + "0" * 129 + "1"}
    # Numbers come back canonical: no exponent, no leading or trailing zeros, no "-0".
    forms = {"a": "1.500", "b": "0.0", "c": "-0", "d": "1E+2", "e": "00012.00", "f": "-.5", "g": "5e-3"}
    ddb.put_item(TableName=name, Item={"pk": {"S": "num"}, **{k: {"N": v} for k, v in forms.items()}})
    raw = ddb.get_item(TableName=name, Key={"pk": {"S": "num"}})["Item"]
    assert {k: raw[k]["N"] for k in forms} == {"a": "1.5", "b": "0", "c": "0", "d": "100", "e": "12", "f": "-0.5", "g": "0.005"}


def test_resource_table_attributes_and_arn_names(aws_resource: Any, make_table: Any) -> None:
    resource = aws_resource("dynamodb")
    name = make_table(range=("sk", "N"), BillingMode="PROVISIONED", ProvisionedThroughput={"ReadCapacityUnits": 3, "WriteCapacityUnits": 4})
    table = resource.Table(name)
    table.wait_until_exists()
    assert (table.table_status, table.item_count, table.table_size_bytes) == ("ACTIVE", 0, 0)
    assert table.provisioned_throughput["ReadCapacityUnits"] == 3
    assert [k["AttributeName"] for k in table.key_schema] == ["pk", "sk"]
    # A table's ARN names it wherever a TableName goes, and keys BatchGetItem's answer.
    by_arn = resource.Table(table.table_arn)
    assert (by_arn.table_arn, by_arn.table_status) == (table.table_arn, "ACTIVE")
    by_arn.put_item(Item={"pk": "x", "sk": 1})
    with by_arn.batch_writer() as writer:
        writer.put_item(Item={"pk": "x", "sk": 2})
    assert by_arn.query(KeyConditionExpression=Key("pk").eq("x"), Select="COUNT")["Count"] == 2
    got = resource.batch_get_item(RequestItems={table.table_arn: {"Keys": [{"pk": "x", "sk": 1}]}})
    assert got["Responses"] == {table.table_arn: [{"pk": "x", "sk": 1}]}


# ------------------------------------------------------------ paginators and waiters


def test_query_paginator_max_items_resumes_mid_page(ddb: Any, make_table: Any) -> None:
    # Binary keys: botocore encodes bytes in its NextToken ("boto_encoded_keys").
    name = make_table(hash=("pk", "B"), range=("sk", "S"))
    for i in range(20):
        ddb.put_item(TableName=name, Item={"pk": {"B": b"\x01\xff"}, "sk": {"S": f"{i:02}"}, "v": {"N": str(i)}})
    paginator = ddb.get_paginator("query")
    kw = {"TableName": name, "KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"B": b"\x01\xff"}}}
    first = paginator.paginate(**kw, PaginationConfig={"MaxItems": 7, "PageSize": 3}).build_full_result()
    assert [i["sk"]["S"] for i in first["Items"]] == [f"{i:02}" for i in range(7)]
    assert "NextToken" in first  # (botocore sums Count over whole pages: not truncated)
    rest = paginator.paginate(**kw, PaginationConfig={"StartingToken": first["NextToken"], "PageSize": 4}).build_full_result()
    assert [i["sk"]["S"] for i in rest["Items"]] == [f"{i:02}" for i in range(7, 20)]
    assert "NextToken" not in rest
    pages = list(paginator.paginate(**kw, ScanIndexForward=False, PaginationConfig={"PageSize": 6}))
    assert [p["Count"] for p in pages] == [6, 6, 6, 2]
    assert pages[0]["Items"][0]["sk"] == {"S": "19"}


def test_scan_paginator_counts_filters_and_segments(ddb: Any, make_table: Any) -> None:
    name = make_table(range=("sk", "N"))
    for i in range(40):
        ddb.put_item(TableName=name, Item={"pk": {"S": f"p{i % 4}"}, "sk": {"N": str(i)}, "even": {"BOOL": i % 2 == 0}})
    paginator = ddb.get_paginator("scan")
    pages = list(paginator.paginate(TableName=name, Select="COUNT", FilterExpression="even = :t", ExpressionAttributeValues={":t": {"BOOL": True}}, PaginationConfig={"PageSize": 7}))
    assert sum(p["Count"] for p in pages) == 20
    assert sum(p["ScannedCount"] for p in pages) == 40
    assert all("Items" not in p for p in pages)
    first = paginator.paginate(TableName=name, PaginationConfig={"MaxItems": 15, "PageSize": 7}).build_full_result()
    rest = paginator.paginate(TableName=name, PaginationConfig={"StartingToken": first["NextToken"], "PageSize": 7}).build_full_result()
    keys = [i["sk"]["N"] for i in first["Items"] + rest["Items"]]
    assert len(first["Items"]) == 15 and sorted(keys, key=int) == [str(i) for i in range(40)]
    seen = [i["sk"]["N"] for s in range(3) for p in paginator.paginate(TableName=name, Segment=s, TotalSegments=3, PaginationConfig={"PageSize": 4}) for i in p["Items"]]
    assert sorted(seen, key=int) == [str(i) for i in range(40)]


def test_list_tables_paginator(ddb: Any, new_name: Any, make_table: Any) -> None:
    prefix = new_name("pgl")
    mine = [make_table(TableName=f"{prefix}-{i}") for i in (2, 0, 1)]
    paginator = ddb.get_paginator("list_tables")
    everything = paginator.paginate(PaginationConfig={"PageSize": 2}).build_full_result()["TableNames"]
    assert everything == sorted(everything)
    assert [n for n in everything if n.startswith(prefix)] == sorted(mine)
    first = paginator.paginate(PaginationConfig={"MaxItems": 2, "PageSize": 1}).build_full_result()
    rest = paginator.paginate(PaginationConfig={"StartingToken": first["NextToken"], "PageSize": 2}).build_full_result()
    assert len(first["TableNames"]) == 2
    # (Compared on this test's tables: another test's table may still be going away.)
    resumed = first["TableNames"] + rest["TableNames"]
    assert resumed == sorted(set(resumed))
    assert [n for n in resumed if n.startswith(prefix)] == sorted(mine)


def test_list_tags_of_resource_paginator(ddb: Any, make_table: Any) -> None:
    arn = ddb.describe_table(TableName=make_table())["Table"]["TableArn"]
    ddb.tag_resource(ResourceArn=arn, Tags=[{"Key": f"k{i:02}", "Value": str(i)} for i in range(25)])
    paginator = ddb.get_paginator("list_tags_of_resource")
    tags = paginator.paginate(ResourceArn=arn).build_full_result()["Tags"]
    assert sorted(t["Key"] for t in tags) == [f"k{i:02}" for i in range(25)]
    first = paginator.paginate(ResourceArn=arn, PaginationConfig={"MaxItems": 5}).build_full_result()
    assert len(first["Tags"]) == 5 and "NextToken" in first
    rest = paginator.paginate(ResourceArn=arn, PaginationConfig={"StartingToken": first["NextToken"]}).build_full_result()
    assert sorted(t["Key"] for t in first["Tags"] + rest["Tags"]) == [f"k{i:02}" for i in range(25)]


def test_list_backups_paginator(ddb: Any, make_table: Any) -> None:
    name = make_table()
    arns = [ddb.create_backup(TableName=name, BackupName=f"bak{i}")["BackupDetails"]["BackupArn"] for i in range(4)]
    paginator = ddb.get_paginator("list_backups")
    pages = list(paginator.paginate(TableName=name, PaginationConfig={"PageSize": 1}))
    assert sorted(b["BackupArn"] for p in pages for b in p["BackupSummaries"]) == sorted(arns)
    first = paginator.paginate(TableName=name, PaginationConfig={"MaxItems": 3, "PageSize": 2}).build_full_result()
    rest = paginator.paginate(TableName=name, PaginationConfig={"StartingToken": first["NextToken"]}).build_full_result()
    assert len(first["BackupSummaries"]) == 3
    assert sorted(b["BackupArn"] for b in first["BackupSummaries"] + rest["BackupSummaries"]) == sorted(arns)
    for arn in arns:
        ddb.delete_backup(BackupArn=arn)


def test_table_waiters_and_resource_waiters(ddb: Any, aws_resource: Any, new_name: Any) -> None:
    # table_exists retries on ResourceNotFoundException until it gives up.
    with pytest.raises(WaiterError) as exc:
        ddb.get_waiter("table_exists").wait(TableName=new_name("never"), WaiterConfig={"Delay": 1, "MaxAttempts": 2})
    assert "Max attempts exceeded" in str(exc.value)
    resource = aws_resource("dynamodb")
    table = resource.create_table(
        TableName=new_name("wait"),
        KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    table.wait_until_exists()
    table.reload()
    assert table.table_status == "ACTIVE"
    ddb.update_contributor_insights(TableName=table.name, ContributorInsightsAction="ENABLE")
    ddb.get_waiter("contributor_insights_enabled").wait(TableName=table.name, WaiterConfig=FAST)
    assert ddb.describe_contributor_insights(TableName=table.name)["ContributorInsightsStatus"] == "ENABLED"
    table.delete()
    table.wait_until_not_exists()
    ddb.get_waiter("table_not_exists").wait(TableName=table.name, WaiterConfig=FAST)


# ------------------------------------------------------------- PynamoDB's requests


@pytest.fixture
def users(ddb: Any, new_name: Any) -> Any:
    """The table PynamoDB's ``Model.create_table()`` makes for a provisioned model with a GSI
    (INCLUDE projection), a second GSI and an LSI: its CreateTable as PynamoDB sent it."""
    name = new_name("pyn")
    ddb.create_table(
        TableName=name,
        ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 5},
        AttributeDefinitions=[
            {"AttributeName": "item", "AttributeType": "S"},
            {"AttributeName": "user", "AttributeType": "S"},
            {"AttributeName": "age", "AttributeType": "N"},
            {"AttributeName": "team", "AttributeType": "S"},
            {"AttributeName": "email", "AttributeType": "S"},
            {"AttributeName": "score", "AttributeType": "N"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by-age",
                "KeySchema": [{"AttributeName": "team", "KeyType": "HASH"}, {"AttributeName": "age", "KeyType": "RANGE"}],
                "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["name"]},
                "ProvisionedThroughput": {"ReadCapacityUnits": 2, "WriteCapacityUnits": 2},
            },
            {
                "IndexName": "by-email",
                "KeySchema": [{"AttributeName": "email", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"},
                "ProvisionedThroughput": {"ReadCapacityUnits": 1, "WriteCapacityUnits": 1},
            },
        ],
        KeySchema=[{"AttributeName": "user", "KeyType": "HASH"}, {"AttributeName": "item", "KeyType": "RANGE"}],
        LocalSecondaryIndexes=[
            {
                "IndexName": "by-score",
                "KeySchema": [{"AttributeName": "user", "KeyType": "HASH"}, {"AttributeName": "score", "KeyType": "RANGE"}],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            }
        ],
    )
    ddb.get_waiter("table_exists").wait(TableName=name, WaiterConfig=FAST)
    # create_table then enables TTL on the model's TTLAttribute.
    ddb.update_time_to_live(TableName=name, TimeToLiveSpecification={"AttributeName": "expires", "Enabled": True})
    for i in range(10):
        ddb.put_item(
            TableName=name,
            Item={
                "user": {"S": "u"},
                "item": {"S": f"it{i:02}"},
                "team": {"S": "blue" if i % 2 else "green"},
                "age": {"N": str(i)},
                "score": {"N": str(i * 2)},
                "name": {"S": f"n{i}"},
                "email": {"S": f"e{i}@x"},
                "tags": {"SS": ["t", f"t{i}"]},
                "things": {"L": [{"N": str(i)}, {"M": {"x": {"N": str(i)}}}]},
                "version": {"N": "1"},
            },
            ConditionExpression="attribute_not_exists (#0)",
            ExpressionAttributeNames={"#0": "version"},
            ReturnConsumedCapacity="TOTAL",
        )
    yield name
    ddb.delete_table(TableName=name)


def test_pynamodb_table_description(ddb: Any, users: str) -> None:
    desc = ddb.describe_table(TableName=users)["Table"]
    assert sorted(g["IndexName"] for g in desc["GlobalSecondaryIndexes"]) == ["by-age", "by-email"]
    by_age = next(g for g in desc["GlobalSecondaryIndexes"] if g["IndexName"] == "by-age")
    assert by_age["Projection"] == {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["name"]}
    assert by_age["ProvisionedThroughput"]["ReadCapacityUnits"] == 2
    assert desc["LocalSecondaryIndexes"][0]["IndexName"] == "by-score"
    assert ddb.describe_time_to_live(TableName=users)["TimeToLiveDescription"] == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expires"}
    # Model.update_ttl() on a table whose TTL is on already: AWS refuses it.
    with pytest.raises(ClientError) as exc:
        ddb.update_time_to_live(TableName=users, TimeToLiveSpecification={"AttributeName": "expires", "Enabled": True})
    assert _err(exc) == ("ValidationException", "TimeToLive is already enabled")


def _pq(ddb: Any, table: str, key: str, names: dict[str, str], values: dict[str, Any], **kw: Any) -> list[str]:
    out = ddb.query(TableName=table, KeyConditionExpression=key, ExpressionAttributeNames=names, ExpressionAttributeValues=values, ReturnConsumedCapacity="TOTAL", **kw)
    assert out["ConsumedCapacity"]["CapacityUnits"] > 0  # PynamoDB's rate limiter reads it
    return [i["item"]["S"] for i in out.get("Items", [])]


def test_pynamodb_query_and_filter_expressions(ddb: Any, users: str) -> None:
    """Model.query/count/Index.query: parenthesized key conditions, "fn (" spacing."""
    u = {":0": {"S": "u"}}
    names = {"#0": "user", "#1": "item"}
    assert _pq(ddb, users, "(#0 = :0 AND begins_with (#1, :1))", names, {**u, ":1": {"S": "it0"}}) == [f"it{i:02}" for i in range(10)]
    assert _pq(ddb, users, "(#0 = :0 AND #1 BETWEEN :1 AND :2)", names, {**u, ":1": {"S": "it03"}, ":2": {"S": "it05"}}, ScanIndexForward=False) == ["it05", "it04", "it03"]
    assert _pq(ddb, users, "(#0 = :0 AND #1 >= :1)", names, {**u, ":1": {"S": "it08"}}) == ["it08", "it09"]
    fnames = {"#0": "user", "#1": "name", "#2": "age"}
    got = _pq(
        ddb,
        users,
        "#0 = :0",
        fnames,
        {**u, ":1": {"S": "n"}, ":2": {"N": "1"}, ":3": {"N": "2"}, ":4": {"N": "3"}, ":5": {"N": "2"}, ":6": {"N": "2"}},
        FilterExpression="((begins_with (#1, :1) AND #2 IN (:2, :3, :4)) AND (NOT #2 BETWEEN :5 AND :6))",
    )
    assert got == ["it01", "it03"]
    for flt, values, expected in [
        ("attribute_exists (#1)", {}, 10),
        ("attribute_not_exists (#1)", {}, 0),
        ("attribute_type (#1, :1)", {":1": {"S": "SS"}}, 10),
        ("contains (#1, :1)", {":1": {"S": "t4"}}, 1),
        ("size (#1) = :1", {":1": {"N": "2"}}, 10),
        ("#1[0] = :1", {":1": {"S": "t"}}, 0),
    ]:
        out = ddb.query(
            TableName=users,
            KeyConditionExpression="#0 = :0",
            FilterExpression=flt,
            ExpressionAttributeNames={"#0": "user", "#1": "tags"},
            ExpressionAttributeValues={**u, **values},
            Select="COUNT",
        )
        assert (flt, out["Count"]) == (flt, expected)
    nested = {"#0": "user", "#1": "things", "#2": "x"}
    assert _pq(ddb, users, "#0 = :0", nested, {**u, ":1": {"N": "7"}}, FilterExpression="#1[1].#2 > :1") == ["it08", "it09"]
    # Index queries: the GSI with an INCLUDE projection, the KEYS_ONLY LSI.
    out = ddb.query(
        TableName=users,
        IndexName="by-age",
        KeyConditionExpression="(#0 = :0 AND #1 < :1)",
        ExpressionAttributeNames={"#0": "team", "#1": "age"},
        ExpressionAttributeValues={":0": {"S": "blue"}, ":1": {"N": "4"}},
    )
    assert [sorted(i) for i in out["Items"]] == [["age", "item", "name", "team", "user"]] * 2
    out = ddb.query(
        TableName=users,
        IndexName="by-score",
        KeyConditionExpression="(#0 = :0 AND #1 >= :1)",
        ExpressionAttributeNames={"#0": "user", "#1": "score"},
        ExpressionAttributeValues={**u, ":1": {"N": "14"}},
    )
    assert [(i["item"]["S"], sorted(i)) for i in out["Items"]] == [(f"it0{n}", ["item", "score", "user"]) for n in (7, 8, 9)]


def test_pynamodb_versioned_update(ddb: Any, users: str) -> None:
    """Model.update(actions=[...]) on a model with a VersionAttribute."""
    key = {"user": {"S": "u"}, "item": {"S": "it01"}}
    out = ddb.update_item(
        TableName=users,
        Key=key,
        ConditionExpression="#0 = :0",
        ReturnValues="ALL_NEW",
        UpdateExpression="SET #1 = #1 + :1, #2 = list_append (#2, :2), #3 = if_not_exists (#3, :3), #4 = if_not_exists (#4, :4) REMOVE #5 ADD #6 :5, #0 :6 DELETE #7 :7",
        ExpressionAttributeNames={"#0": "version", "#1": "score", "#2": "things", "#3": "email", "#4": "nick", "#5": "name", "#6": "age", "#7": "tags"},
        ExpressionAttributeValues={
            ":0": {"N": "1"},
            ":1": {"N": "5"},
            ":2": {"L": [{"N": "5"}]},
            ":3": {"S": "fallback"},
            ":4": {"S": "nick"},
            ":5": {"N": "1"},
            ":6": {"N": "1"},
            ":7": {"SS": ["t"]},
        },
        ReturnConsumedCapacity="TOTAL",
    )["Attributes"]
    assert out["version"] == {"N": "2"} and out["score"] == {"N": "7"} and out["age"] == {"N": "2"}
    assert out["things"]["L"][-1] == {"N": "5"} and out["email"] == {"S": "e1@x"} and out["nick"] == {"S": "nick"}
    assert "name" not in out and out["tags"] == {"SS": ["t1"]}
    # A stale version: PutError / UpdateError with ConditionalCheckFailedException.
    with pytest.raises(ClientError) as exc:
        ddb.update_item(
            TableName=users,
            Key=key,
            ConditionExpression="(#0 > :0 AND #1 = :1)",
            UpdateExpression="SET #0 = :2 ADD #1 :3",
            ExpressionAttributeNames={"#0": "age", "#1": "version"},
            ExpressionAttributeValues={":0": {"N": "0"}, ":1": {"N": "1"}, ":2": {"N": "0"}, ":3": {"N": "1"}},
        )
    assert _err(exc) == ("ConditionalCheckFailedException", "The conditional request failed")
    # list prepend, then removing an index (two requests: in one they overlap).
    ddb.update_item(
        TableName=users,
        Key=key,
        ConditionExpression="#0 = :0",
        UpdateExpression="SET #1 = list_append (:1, #1) ADD #0 :2",
        ExpressionAttributeNames={"#0": "version", "#1": "things"},
        ExpressionAttributeValues={":0": {"N": "2"}, ":1": {"L": [{"S": "zero"}]}, ":2": {"N": "1"}},
    )
    out = ddb.update_item(
        TableName=users,
        Key=key,
        ConditionExpression="#0 = :0",
        ReturnValues="ALL_NEW",
        UpdateExpression="REMOVE #1[1] ADD #0 :1",
        ExpressionAttributeNames={"#0": "version", "#1": "things"},
        ExpressionAttributeValues={":0": {"N": "3"}, ":1": {"N": "1"}},
    )["Attributes"]
    assert out["things"]["L"][:2] == [{"S": "zero"}, {"M": {"x": {"N": "1"}}}] and out["version"] == {"N": "4"}


def test_pynamodb_transact_write(ddb: Any, users: str, new_name: Any) -> None:
    """TransactWrite: condition_check, delete/save/update of versioned models."""
    put = {
        "TableName": users,
        "Item": {"user": {"S": "tx"}, "item": {"S": "new"}, "active": {"BOOL": True}, "score": {"N": "0"}, "version": {"N": "1"}},
        "ConditionExpression": "attribute_not_exists (#0)",
        "ExpressionAttributeNames": {"#0": "version"},
    }
    out = ddb.transact_write_items(
        ClientRequestToken=new_name("tok"),
        TransactItems=[
            {
                "ConditionCheck": {
                    "TableName": users,
                    "Key": {"user": {"S": "u"}, "item": {"S": "it04"}},
                    "ConditionExpression": "#0 = :0",
                    "ExpressionAttributeNames": {"#0": "age"},
                    "ExpressionAttributeValues": {":0": {"N": "4"}},
                }
            },
            {
                "Delete": {
                    "TableName": users,
                    "Key": {"user": {"S": "u"}, "item": {"S": "it02"}},
                    "ConditionExpression": "#0 = :0",
                    "ExpressionAttributeNames": {"#0": "version"},
                    "ExpressionAttributeValues": {":0": {"N": "1"}},
                }
            },
            {"Put": put},
            {
                "Update": {
                    "TableName": users,
                    "Key": {"user": {"S": "u"}, "item": {"S": "it03"}},
                    "ConditionExpression": "#0 = :0",
                    "UpdateExpression": "SET #0 = :1 ADD #1 :2",
                    "ExpressionAttributeNames": {"#0": "version", "#1": "score"},
                    "ExpressionAttributeValues": {":0": {"N": "1"}, ":1": {"N": "2"}, ":2": {"N": "1000"}},
                }
            },
        ],
        ReturnConsumedCapacity="TOTAL",
    )
    assert [c["TableName"] for c in out["ConsumedCapacity"]] == [users]
    got = ddb.transact_get_items(
        TransactItems=[
            {"Get": {"TableName": users, "Key": {"user": {"S": "u"}, "item": {"S": "it03"}}}},
            {"Get": {"TableName": users, "Key": {"user": {"S": "u"}, "item": {"S": "it02"}}}},
            {"Get": {"TableName": users, "Key": {"user": {"S": "tx"}, "item": {"S": "new"}}}},
        ],
        ReturnConsumedCapacity="TOTAL",
    )["Responses"]
    assert got[0]["Item"]["score"] == {"N": "1006"} and got[0]["Item"]["version"] == {"N": "2"}
    assert got[1] == {} and got[2]["Item"]["version"] == {"N": "1"}
    # The same save again: cancelled, reasons one-to-one with the items ("None" where fine).
    with pytest.raises(ClientError) as exc:
        ddb.transact_write_items(
            TransactItems=[
                {"Put": put},
                {
                    "Update": {
                        "TableName": users,
                        "Key": {"user": {"S": "u"}, "item": {"S": "it07"}},
                        "ConditionExpression": "#0 = :0",
                        "UpdateExpression": "SET #1 = :1, #0 = :2",
                        "ExpressionAttributeNames": {"#0": "version", "#1": "score"},
                        "ExpressionAttributeValues": {":0": {"N": "1"}, ":1": {"N": "0"}, ":2": {"N": "2"}},
                    }
                },
            ],
            ReturnConsumedCapacity="TOTAL",
        )
    assert _err(exc) == (
        "TransactionCanceledException",
        "Transaction cancelled, please refer cancellation reasons for specific reasons [ConditionalCheckFailed, None]",
    )
    reasons = exc.value.response["CancellationReasons"]
    assert [r["Code"] for r in reasons] == ["ConditionalCheckFailed", "None"]
    assert reasons[0]["Message"] == "The conditional request failed"
    # Two operations on one item (a model updated and deleted in one TransactWrite).
    item = {"user": {"S": "u"}, "item": {"S": "it06"}}
    with pytest.raises(ClientError) as exc:
        ddb.transact_write_items(
            TransactItems=[
                {"Update": {"TableName": users, "Key": item, "UpdateExpression": "SET #0 = :0", "ExpressionAttributeNames": {"#0": "score"}, "ExpressionAttributeValues": {":0": {"N": "0"}}}},
                {"Delete": {"TableName": users, "Key": item}},
            ]
        )
    assert _err(exc) == ("ValidationException", "Transaction request cannot include multiple operations on one item")


def test_pynamodb_batch_requests(ddb: Any, users: str) -> None:
    """Model.batch_write() (deletes first, then puts) and Model.batch_get(attributes_to_get=...)."""
    out = ddb.batch_write_item(
        RequestItems={
            users: [{"DeleteRequest": {"Key": {"user": {"S": "u"}, "item": {"S": "it00"}}}}]
            + [{"PutRequest": {"Item": {"user": {"S": "b"}, "item": {"S": f"{i:02}"}, "version": {"N": "1"}}}} for i in range(20)]
        },
        ReturnConsumedCapacity="TOTAL",
    )
    assert out["UnprocessedItems"] == {} and out["ConsumedCapacity"][0]["TableName"] == users
    out = ddb.batch_get_item(
        RequestItems={
            users: {
                "ProjectionExpression": "#0, #1, #2",
                "ExpressionAttributeNames": {"#0": "user", "#1": "item", "#2": "name"},
                "Keys": [{"user": {"S": "u"}, "item": {"S": f"it{i:02}"}} for i in range(4)],
            }
        },
        ReturnConsumedCapacity="TOTAL",
    )
    got = sorted(out["Responses"][users], key=lambda i: i["item"]["S"])
    assert [i["name"]["S"] for i in got] == ["n1", "n2", "n3"] and all(sorted(i) == ["item", "name", "user"] for i in got)
    assert out["UnprocessedKeys"] == {}
    # Model.count(): Select COUNT, with a filter.
    out = ddb.query(
        TableName=users,
        KeyConditionExpression="#0 = :0",
        FilterExpression="#1 > :1",
        ExpressionAttributeNames={"#0": "user", "#1": "age"},
        ExpressionAttributeValues={":0": {"S": "u"}, ":1": {"N": "5"}},
        Select="COUNT",
        ReturnConsumedCapacity="TOTAL",
    )
    assert (out["Count"], out["ScannedCount"]) == (4, 9) and "Items" not in out
