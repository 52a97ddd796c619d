"""Successful answers as DynamoDB gives them: numbers, capacity, paging and index reads
(checked against a second implementation, dynalite, and the developer guide's rules)."""

from __future__ import annotations

from typing import Any


def S(value: str) -> dict[str, str]:
    return {"S": value}


def N(value: str) -> dict[str, str]:
    return {"N": value}


def _lsi_table(make_table: Any) -> str:
    """pk/sk with a KEYS_ONLY and an INCLUDE (a) local secondary index on l."""
    return make_table(
        range=("sk", "S"),
        extra_attrs={"l": "S"},
        LocalSecondaryIndexes=[
            {"IndexName": "keys", "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "l", "KeyType": "RANGE"}], "Projection": {"ProjectionType": "KEYS_ONLY"}},
            {
                "IndexName": "inc",
                "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "l", "KeyType": "RANGE"}],
                "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["a"]},
            },
        ],
    )


def _fill_lsi(ddb: Any, name: str) -> None:
    # Six items of about 2.1 KB (b is not projected into either index): 12.7 KB in all.
    for i in range(6):
        ddb.put_item(TableName=name, Item={"pk": S("h"), "sk": S(f"s{i}"), "l": S(f"l{5 - i}"), "a": S("a"), "b": S("b" * 2100), "c": N(str(i))})


def _query(ddb: Any, name: str, index: str, **kwargs: Any) -> dict[str, Any]:
    values = {":p": S("h"), **kwargs.pop("values", {})}
    out: dict[str, Any] = ddb.query(
        TableName=name, IndexName=index, KeyConditionExpression="pk = :p", ExpressionAttributeValues=values, ReturnConsumedCapacity="INDEXES", **kwargs
    )
    return out


def test_lsi_fetches_are_charged_to_the_table(ddb: Any, make_table: Any) -> None:
    """Reading attributes an LSI does not project fetches each whole item from the table, and
    "you are charged for read capacity units for every base table item fetched" besides the
    index's read (developer guide, LSI.html, provisioned throughput considerations)."""
    name = _lsi_table(make_table)
    _fill_lsi(ddb, name)
    out = _query(ddb, name, "keys", Select="ALL_ATTRIBUTES")
    assert len(out["Items"]) == 6 and all("b" in item for item in out["Items"])
    cc = out["ConsumedCapacity"]
    # The index entries (keys only, tiny): 1 unit halved; the six items (~12.7 KB): 4 units halved.
    assert cc["LocalSecondaryIndexes"] == {"keys": {"CapacityUnits": 0.5, "ReadCapacityUnits": 0.5}}
    assert cc["Table"] == {"CapacityUnits": 2.0, "ReadCapacityUnits": 2.0}
    assert cc["CapacityUnits"] == 2.5 and cc["ReadCapacityUnits"] == 2.5
    # Strongly consistent: the same, not halved.
    strong = _query(ddb, name, "keys", Select="ALL_ATTRIBUTES", ConsistentRead=True)["ConsumedCapacity"]
    assert (strong["Table"]["CapacityUnits"], strong["CapacityUnits"]) == (4.0, 5.0)
    # A projection naming a non-projected attribute fetches too.
    out = _query(ddb, name, "inc", ProjectionExpression="sk, c", Limit=3)
    assert [item["c"] for item in out["Items"]] == [N("5"), N("4"), N("3")]
    assert out["ConsumedCapacity"]["Table"]["CapacityUnits"] == 1.0  # three items, ~6.4 KB: 2 units halved


def test_lsi_reads_within_the_projection_fetch_nothing(ddb: Any, make_table: Any) -> None:
    name = _lsi_table(make_table)
    _fill_lsi(ddb, name)
    for kwargs in (
        {},
        {"ProjectionExpression": "sk, a"},
        # A filter on a projected attribute is evaluated on the index entry.
        {"FilterExpression": "a = :a", "values": {":a": S("a")}},
    ):
        out = _query(ddb, name, "inc", **kwargs)
        assert out["Count"] == 6, kwargs
        assert all("b" not in item for item in out["Items"]), kwargs
        cc = out["ConsumedCapacity"]
        assert "Table" not in cc or cc["Table"]["CapacityUnits"] == 0.0, (kwargs, cc)
        assert cc["CapacityUnits"] == cc["LocalSecondaryIndexes"]["inc"]["CapacityUnits"] == 0.5, (kwargs, cc)


def test_lsi_filter_on_a_non_projected_attribute_reads_the_items(ddb: Any, make_table: Any) -> None:
    name = _lsi_table(make_table)
    _fill_lsi(ddb, name)
    out = _query(ddb, name, "keys", FilterExpression="c >= :c", values={":c": N("3")})
    # Matched on the fetched items; returned as the index projects them.
    assert [item["sk"] for item in out["Items"]] == [S("s5"), S("s4"), S("s3")]
    assert all(set(item) == {"pk", "sk", "l"} for item in out["Items"])
    assert (out["Count"], out["ScannedCount"]) == (3, 6)
    assert out["ConsumedCapacity"]["Table"]["CapacityUnits"] == 2.0
    # The same through the legacy QueryFilter.
    legacy = ddb.query(
        TableName=name,
        IndexName="keys",
        KeyConditions={"pk": {"ComparisonOperator": "EQ", "AttributeValueList": [S("h")]}},
        QueryFilter={"c": {"ComparisonOperator": "GE", "AttributeValueList": [N("3")]}},
        ReturnConsumedCapacity="INDEXES",
    )
    assert legacy["Items"] == out["Items"] and legacy["ConsumedCapacity"] == out["ConsumedCapacity"]


def test_numbers_come_back_normalized(ddb: Any, make_table: Any) -> None:
    name = make_table()
    cases = {
        "1.0": "1",
        "-0": "0",
        "0.00012300": "0.000123",
        "1e2": "100",
        "100E-2": "1",
        "00012": "12",
        "-.5e1": "-5",
        "1E-130": "0." + "0" * 129 + "1",
        "12345678901234567890123456789012345678": "12345678901234567890123456789012345678",
        "1234567890123456789012345678901234567800000": "1234567890123456789012345678901234567800000",
    }
    for i, (sent, back) in enumerate(cases.items()):
        ddb.put_item(TableName=name, Item={"pk": S(f"n{i}"), "v": N(sent), "l": {"L": [N(sent)]}, "m": {"M": {"x": N(sent)}}})
        item = ddb.get_item(TableName=name, Key={"pk": S(f"n{i}")})["Item"]
        assert (item["v"], item["l"]["L"][0], item["m"]["M"]["x"]) == (N(back), N(back), N(back)), sent
    out = ddb.update_item(
        TableName=name,
        Key={"pk": S("n0")},
        UpdateExpression="SET v = v + :a, w = :b - :c",
        ExpressionAttributeValues={":a": N("0.50"), ":b": N("1E2"), ":c": N("100.0")},
        ReturnValues="UPDATED_NEW",
    )
    assert out["Attributes"] == {"v": N("1.5"), "w": N("0")}


def test_remove_of_several_list_elements_uses_the_original_indexes(ddb: Any, make_table: Any) -> None:
    name = make_table()
    ddb.put_item(TableName=name, Item={"pk": S("r"), "l": {"L": [N("0"), N("1"), N("2"), N("3")]}})
    out = ddb.update_item(TableName=name, Key={"pk": S("r")}, UpdateExpression="REMOVE l[0], l[1]", ReturnValues="ALL_NEW")
    assert out["Attributes"]["l"] == {"L": [N("2"), N("3")]}


def test_empty_reads_still_cost_the_minimum(ddb: Any, make_table: Any) -> None:
    name = make_table(range=("sk", "S"))
    out = ddb.query(TableName=name, KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": S("none")}, ReturnConsumedCapacity="TOTAL")
    assert (out["Count"], out["ConsumedCapacity"]["CapacityUnits"]) == (0, 0.5)
    out = ddb.delete_item(TableName=name, Key={"pk": S("none"), "sk": S("x")}, ReturnValues="ALL_OLD", ReturnConsumedCapacity="TOTAL")
    assert "Attributes" not in out and out["ConsumedCapacity"]["CapacityUnits"] == 1.0


def test_index_last_evaluated_key_has_table_and_index_keys(ddb: Any, make_table: Any) -> None:
    name = make_table(
        range=("sk", "S"),
        extra_attrs={"g": "S"},
        GlobalSecondaryIndexes=[{"IndexName": "by-g", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}], "Projection": {"ProjectionType": "KEYS_ONLY"}}],
    )
    for i in range(5):
        ddb.put_item(TableName=name, Item={"pk": S("h"), "sk": S(f"s{i}"), "g": S("G"), "x": N(str(i))})
    seen: list[str] = []
    start: dict[str, Any] | None = None
    while True:
        kwargs: dict[str, Any] = {"ExclusiveStartKey": start} if start else {}
        out = ddb.query(TableName=name, IndexName="by-g", KeyConditionExpression="g = :g", ExpressionAttributeValues={":g": S("G")}, Limit=2, **kwargs)
        seen += [item["sk"]["S"] for item in out["Items"]]
        start = out.get("LastEvaluatedKey")
        if start is None:
            break
        assert set(start) == {"pk", "sk", "g"}
    assert sorted(seen) == [f"s{i}" for i in range(5)]


def test_answers_carry_their_crc32(ddb: Any, table: str, aws_client: Any) -> None:
    """DynamoDB sends ``x-amz-crc32``, the CRC32 of the body, on every answer; botocore's
    retry configuration checks it (``crc32body`` in _retry.json) and retries a mismatch. The
    answers of a service whose configuration has no such check (CloudWatch Logs) carry none."""
    import zlib

    seen: list[Any] = []

    def keep(http_response: Any, **_: Any) -> None:
        seen.append(http_response)

    ddb.meta.events.register("after-call.dynamodb", keep)
    try:
        ddb.put_item(TableName=table, Item={"pk": S("crc"), "sk": S("s"), "v": S("x" * 300)})
        ddb.get_item(TableName=table, Key={"pk": S("crc"), "sk": S("s")})
        # Past 1 KB the checksum is computed another way (anycrc): the same CRC-32.
        ddb.put_item(TableName=table, Item={"pk": S("crc"), "sk": S("big"), "v": S("y" * 5000)})
        ddb.get_item(TableName=table, Key={"pk": S("crc"), "sk": S("big")})
        try:
            ddb.describe_table(TableName="no-such-table-crc")
        except ddb.exceptions.ResourceNotFoundException:
            pass
        else:
            raise AssertionError("DescribeTable of a missing table answered")
    finally:
        ddb.meta.events.unregister("after-call.dynamodb", keep)
    assert [r.status_code for r in seen] == [200, 200, 200, 200, 400]
    for response in seen:
        assert response.headers["x-amz-crc32"] == str(zlib.crc32(response.content))
    assert b"x" * 300 in seen[1].content and b"y" * 5000 in seen[3].content  # the checksum covers the item's bytes

    logs = aws_client("logs")
    other: list[Any] = []
    logs.meta.events.register("after-call.logs", lambda http_response, **_: other.append(http_response))
    logs.describe_log_groups(limit=1)
    assert other and "x-amz-crc32" not in other[0].headers
