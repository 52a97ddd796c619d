"""PartiQL through the wire: ExecuteStatement, BatchExecuteStatement, ExecuteTransaction."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError


def code(fn: Callable[[], Any]) -> str:
    with pytest.raises(ClientError) as err:
        fn()
    return str(err.value.response["Error"]["Code"])


@pytest.fixture
def pq(ddb: Any, make_table: Callable[..., str]) -> str:
    name = make_table(range=("sk", "N"))
    for p in ("a", "b"):
        for i in range(5):
            ddb.put_item(TableName=name, Item={"pk": {"S": p}, "sk": {"N": str(i)}, "v": {"S": f"{p}{i}"}, "n": {"N": str(i * 10)}})
    return name


def test_select_with_key_and_filter(ddb: Any, pq: str) -> None:
    out = ddb.execute_statement(Statement=f'SELECT * FROM "{pq}" WHERE pk = ? AND sk >= 2', Parameters=[{"S": "a"}])
    assert [i["sk"]["N"] for i in out["Items"]] == ["2", "3", "4"]
    out = ddb.execute_statement(Statement=f"SELECT v, n FROM \"{pq}\" WHERE pk = 'b' AND n BETWEEN 10 AND 30")
    assert out["Items"] == [{"v": {"S": "b1"}, "n": {"N": "10"}}, {"v": {"S": "b2"}, "n": {"N": "20"}}, {"v": {"S": "b3"}, "n": {"N": "30"}}]
    # A full scan with a filter is allowed.
    out = ddb.execute_statement(Statement=f"SELECT * FROM \"{pq}\" WHERE begins_with(v, 'b') AND n IN [0, 40]")
    assert sorted(i["v"]["S"] for i in out["Items"]) == ["b0", "b4"]
    out = ddb.execute_statement(Statement=f'SELECT * FROM "{pq}" WHERE missing_attr IS MISSING')
    assert len(out["Items"]) == 10


def test_select_paging(ddb: Any, pq: str) -> None:
    seen: list[str] = []
    kwargs: dict[str, Any] = {"Statement": f'SELECT * FROM "{pq}"', "Limit": 3}
    pages = 0
    while True:
        out = ddb.execute_statement(**kwargs)
        pages += 1
        seen.extend(i["v"]["S"] for i in out["Items"])
        if "NextToken" not in out:
            break
        kwargs["NextToken"] = out["NextToken"]
    assert sorted(seen) == sorted(f"{p}{i}" for p in "ab" for i in range(5))
    assert pages >= 4


def test_select_order_by_sort_key(ddb: Any, pq: str) -> None:
    """ORDER BY on the key attributes, within the partition the WHERE clause names."""
    out = ddb.execute_statement(Statement=f"SELECT sk FROM \"{pq}\" WHERE pk = 'a' ORDER BY sk DESC")
    assert [i["sk"]["N"] for i in out["Items"]] == ["4", "3", "2", "1", "0"]
    out = ddb.execute_statement(Statement=f'SELECT sk FROM "{pq}" WHERE pk = ? AND sk < 3 ORDER BY pk, sk ASC', Parameters=[{"S": "b"}])
    assert [i["sk"]["N"] for i in out["Items"]] == ["0", "1", "2"]
    # Paging keeps the order.
    seen: list[str] = []
    kwargs: dict[str, Any] = {"Statement": f"SELECT sk FROM \"{pq}\" WHERE pk = 'a' ORDER BY sk DESC", "Limit": 2}
    while True:
        out = ddb.execute_statement(**kwargs)
        seen.extend(i["sk"]["N"] for i in out["Items"])
        if "NextToken" not in out:
            break
        kwargs["NextToken"] = out["NextToken"]
    assert seen == ["4", "3", "2", "1", "0"]
    with pytest.raises(ClientError) as err:
        ddb.execute_statement(Statement=f'SELECT * FROM "{pq}" ORDER BY sk DESC')
    assert err.value.response["Error"]["Message"] == "Must have WHERE clause in the statement when using ORDER BY clause."
    assert code(lambda: ddb.execute_statement(Statement=f"SELECT * FROM \"{pq}\" WHERE pk = 'a' ORDER BY v")) == "ValidationException"


def test_insert_update_delete(ddb: Any, pq: str) -> None:
    ddb.execute_statement(Statement=f"INSERT INTO \"{pq}\" VALUE {{'pk': 'c', 'sk': 1, 'tags': <<'x', 'y'>>, 'doc': {{'k': [1, true, null]}}}}")
    item = ddb.get_item(TableName=pq, Key={"pk": {"S": "c"}, "sk": {"N": "1"}})["Item"]
    assert item["tags"] == {"SS": ["x", "y"]}
    assert item["doc"] == {"M": {"k": {"L": [{"N": "1"}, {"BOOL": True}, {"NULL": True}]}}}
    assert code(lambda: ddb.execute_statement(Statement=f"INSERT INTO \"{pq}\" VALUE {{'pk': 'c', 'sk': 1}}")) == "DuplicateItemException"
    out = ddb.execute_statement(Statement=f"UPDATE \"{pq}\" SET v = ? REMOVE doc WHERE pk = 'c' AND sk = 1 RETURNING ALL NEW *", Parameters=[{"S": "new"}])
    assert out["Items"][0]["v"] == {"S": "new"} and "doc" not in out["Items"][0]
    # n is missing on c: n + 5 fails as in an UpdateExpression.
    assert code(lambda: ddb.execute_statement(Statement=f"UPDATE \"{pq}\" SET n = n + 5 WHERE pk = 'c' AND sk = 1")) == "ValidationException"
    ddb.execute_statement(Statement=f"UPDATE \"{pq}\" SET n = n + 5 WHERE pk = 'a' AND sk = 1")
    assert ddb.get_item(TableName=pq, Key={"pk": {"S": "a"}, "sk": {"N": "1"}})["Item"]["n"] == {"N": "15"}
    # Conditions beyond the key.
    assert code(lambda: ddb.execute_statement(Statement=f"UPDATE \"{pq}\" SET v = 'z' WHERE pk = 'a' AND sk = 1 AND n = 999")) == "ConditionalCheckFailedException"
    assert code(lambda: ddb.execute_statement(Statement=f"UPDATE \"{pq}\" SET v = 'z' WHERE pk = 'zz' AND sk = 1")) == "ConditionalCheckFailedException"
    ddb.execute_statement(Statement=f"DELETE FROM \"{pq}\" WHERE pk = 'a' AND sk = 0")
    assert "Item" not in ddb.get_item(TableName=pq, Key={"pk": {"S": "a"}, "sk": {"N": "0"}})


def test_key_equality_is_mandatory_for_writes(ddb: Any, pq: str) -> None:
    for stmt in (f"UPDATE \"{pq}\" SET v = 'x' WHERE pk = 'a'", f"DELETE FROM \"{pq}\" WHERE pk = 'a' AND sk > 1", f"DELETE FROM \"{pq}\" WHERE v = 'a1'"):
        with pytest.raises(ClientError) as err:
            ddb.execute_statement(Statement=stmt)
        assert err.value.response["Error"]["Code"] == "ValidationException"
        assert "Where clause does not contain a mandatory equality on all key attributes" in err.value.response["Error"]["Message"]
    assert code(lambda: ddb.execute_statement(Statement=f"UPDATE \"{pq}\" SET pk = 'x' WHERE pk = 'a' AND sk = 1")) == "ValidationException"
    assert code(lambda: ddb.execute_statement(Statement="SELEKT * FROM foo")) == "ValidationException"
    assert code(lambda: ddb.execute_statement(Statement='SELECT * FROM "no-such-table-pq"')) == "ResourceNotFoundException"
    assert code(lambda: ddb.execute_statement(Statement=f'SELECT * FROM "{pq}" WHERE pk = ?')) == "ValidationException"


def test_batch_execute(ddb: Any, pq: str) -> None:
    out = ddb.batch_execute_statement(
        Statements=[
            {"Statement": f"INSERT INTO \"{pq}\" VALUE {{'pk': 'd', 'sk': 1}}"},
            {"Statement": f"INSERT INTO \"{pq}\" VALUE {{'pk': 'a', 'sk': 1}}"},
            {"Statement": f"UPDATE \"{pq}\" SET v = 'q' WHERE pk = 'b' AND sk = 1"},
        ]
    )["Responses"]
    assert "Error" not in out[0] and out[1]["Error"]["Code"] == "DuplicateItem" and "Error" not in out[2]
    reads = ddb.batch_execute_statement(
        Statements=[
            {"Statement": f'SELECT * FROM "{pq}" WHERE pk = ? AND sk = ?', "Parameters": [{"S": "b"}, {"N": "1"}]},
            {"Statement": f"SELECT * FROM \"{pq}\" WHERE pk = 'nope' AND sk = 1"},
        ]
    )["Responses"]
    assert reads[0]["Item"]["v"] == {"S": "q"} and "Item" not in reads[1]


def test_execute_transaction(ddb: Any, pq: str) -> None:
    ddb.execute_transaction(
        TransactStatements=[
            {"Statement": f"INSERT INTO \"{pq}\" VALUE {{'pk': 't', 'sk': 1}}"},
            {"Statement": f"UPDATE \"{pq}\" SET v = 'tx' WHERE pk = 'a' AND sk = 2"},
        ]
    )
    with pytest.raises(ClientError) as err:
        ddb.execute_transaction(
            TransactStatements=[
                {"Statement": f"INSERT INTO \"{pq}\" VALUE {{'pk': 't', 'sk': 2}}"},
                {"Statement": f"UPDATE \"{pq}\" SET v = 'no' WHERE pk = 'a' AND sk = 3 AND v = 'wrong'"},
            ]
        )
    assert err.value.response["Error"]["Code"] == "TransactionCanceledException"
    assert [r["Code"] for r in err.value.response["CancellationReasons"]] == ["None", "ConditionalCheckFailed"]
    assert "Item" not in ddb.get_item(TableName=pq, Key={"pk": {"S": "t"}, "sk": {"N": "2"}})  # rolled back
    reads = ddb.execute_transaction(
        TransactStatements=[{"Statement": f"SELECT * FROM \"{pq}\" WHERE pk = 'a' AND sk = 2"}, {"Statement": f"SELECT * FROM \"{pq}\" WHERE pk = 't' AND sk = 1"}]
    )["Responses"]
    assert reads[0]["Item"]["v"] == {"S": "tx"} and reads[1]["Item"]["pk"] == {"S": "t"}


def test_execute_transaction_exists_condition(ddb: Any, pq: str) -> None:
    """EXISTS(SELECT ...) is ExecuteTransaction's condition check."""
    ddb.execute_transaction(
        TransactStatements=[
            {"Statement": f"EXISTS(SELECT * FROM \"{pq}\" WHERE pk = 'a' AND sk = 1 AND v = 'a1')"},
            {"Statement": f"UPDATE \"{pq}\" SET v = 'checked' WHERE pk = 'b' AND sk = 1"},
        ]
    )
    assert ddb.get_item(TableName=pq, Key={"pk": {"S": "b"}, "sk": {"N": "1"}})["Item"]["v"] == {"S": "checked"}
    for check in ("pk = 'a' AND sk = 1 AND v = 'other'", "pk = 'nobody' AND sk = 1"):
        with pytest.raises(ClientError) as err:
            ddb.execute_transaction(
                TransactStatements=[
                    {"Statement": f'EXISTS(SELECT * FROM "{pq}" WHERE {check})'},
                    {"Statement": f"UPDATE \"{pq}\" SET v = 'no' WHERE pk = 'b' AND sk = 2"},
                ]
            )
        assert err.value.response["Error"]["Code"] == "TransactionCanceledException"
        assert [r["Code"] for r in err.value.response["CancellationReasons"]] == ["ConditionalCheckFailed", "None"]
    assert ddb.get_item(TableName=pq, Key={"pk": {"S": "b"}, "sk": {"N": "2"}})["Item"]["v"] == {"S": "b2"}
    assert code(lambda: ddb.execute_statement(Statement=f"EXISTS(SELECT * FROM \"{pq}\" WHERE pk = 'a' AND sk = 1)")) == "ValidationException"


def test_execute_transaction_client_request_token(ddb: Any, pq: str) -> None:
    statements = [{"Statement": f"UPDATE \"{pq}\" SET n = n + 1 WHERE pk = 'a' AND sk = 1"}]
    ddb.execute_transaction(TransactStatements=statements, ClientRequestToken="pq-token-1")
    ddb.execute_transaction(TransactStatements=statements, ClientRequestToken="pq-token-1")  # a retry: not run twice
    assert ddb.get_item(TableName=pq, Key={"pk": {"S": "a"}, "sk": {"N": "1"}})["Item"]["n"] == {"N": "11"}
    with pytest.raises(ClientError) as err:
        ddb.execute_transaction(TransactStatements=[{"Statement": f"UPDATE \"{pq}\" SET n = 0 WHERE pk = 'a' AND sk = 1"}], ClientRequestToken="pq-token-1")
    assert err.value.response["Error"]["Code"] == "IdempotentParameterMismatchException"


def test_execute_transaction_write_that_cannot_be_made_cancels(ddb: Any, pq: str) -> None:
    with pytest.raises(ClientError) as err:
        ddb.execute_transaction(
            TransactStatements=[
                {"Statement": f"INSERT INTO \"{pq}\" VALUE {{'pk': 'new', 'sk': 1}}"},
                {"Statement": f"UPDATE \"{pq}\" SET v = v + 1 WHERE pk = 'a' AND sk = 1"},  # v is a string
            ]
        )
    assert err.value.response["Error"]["Code"] == "TransactionCanceledException"
    assert err.value.response["CancellationReasons"] == [
        {"Code": "None"},
        {"Code": "ValidationError", "Message": "An operand in the update expression has an incorrect data type"},
    ]
    assert "Item" not in ddb.get_item(TableName=pq, Key={"pk": {"S": "new"}, "sk": {"N": "1"}})


def test_select_from_index(ddb: Any, make_table: Callable[..., str]) -> None:
    name = make_table(
        extra_attrs={"g": "S"},
        GlobalSecondaryIndexes=[{"IndexName": "by-g", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}], "Projection": {"ProjectionType": "KEYS_ONLY"}}],
    )
    for i in range(6):
        ddb.put_item(TableName=name, Item={"pk": {"S": f"k{i}"}, "g": {"S": "even" if i % 2 == 0 else "odd"}, "other": {"N": str(i)}})
    out = ddb.execute_statement(Statement=f"SELECT * FROM \"{name}\".\"by-g\" WHERE g = 'odd'")
    assert sorted(i["pk"]["S"] for i in out["Items"]) == ["k1", "k3", "k5"]
    assert all("other" not in i for i in out["Items"])  # KEYS_ONLY projection
    assert code(lambda: ddb.execute_statement(Statement=f"SELECT * FROM \"{name}\".\"by-g\" WHERE g = 'odd'", ConsistentRead=True)) == "ValidationException"
    assert code(lambda: ddb.execute_statement(Statement=f"SELECT * FROM \"{name}\".\"nope\"")) == "ValidationException"


def test_execute_statement_consumed_capacity(ddb: Any, pq: str) -> None:
    """Each statement consumes what the equivalent GetItem, Query, Scan, PutItem,
    UpdateItem or DeleteItem does, reported as they report it."""
    key = {"pk": {"S": "a"}, "sk": {"N": "1"}}
    one = f"SELECT * FROM \"{pq}\" WHERE pk = 'a' AND sk = 1"
    for consistent in (False, True):
        got = ddb.execute_statement(Statement=one, ConsistentRead=consistent, ReturnConsumedCapacity="TOTAL")
        assert got["Items"] == [ddb.get_item(TableName=pq, Key=key)["Item"]]
        expected = ddb.get_item(TableName=pq, Key=key, ConsistentRead=consistent, ReturnConsumedCapacity="TOTAL")["ConsumedCapacity"]
        assert got["ConsumedCapacity"] == expected == {"TableName": pq, "CapacityUnits": 1.0 if consistent else 0.5, "ReadCapacityUnits": 1.0 if consistent else 0.5}
    missing = ddb.execute_statement(Statement=f"SELECT * FROM \"{pq}\" WHERE pk = 'zz' AND sk = 1", ReturnConsumedCapacity="INDEXES")
    assert missing["Items"] == [] and missing["ConsumedCapacity"] == {"TableName": pq, "CapacityUnits": 0.5, "ReadCapacityUnits": 0.5, "Table": {"CapacityUnits": 0.5, "ReadCapacityUnits": 0.5}}
    for mode in ("NONE", None):
        kwargs = {"ReturnConsumedCapacity": mode} if mode else {}
        assert "ConsumedCapacity" not in ddb.execute_statement(Statement=one, **kwargs)
        assert "ConsumedCapacity" not in ddb.execute_statement(Statement=f"UPDATE \"{pq}\" SET x = 1 WHERE pk = 'a' AND sk = 1", **kwargs)
    # A partition read is a Query, the rest a Scan: the bytes read, per 4 KB.
    for i in range(5):
        ddb.put_item(TableName=pq, Item={"pk": {"S": "big"}, "sk": {"N": str(i)}, "d": {"S": "x" * 3000}})
    query = ddb.execute_statement(Statement=f"SELECT * FROM \"{pq}\" WHERE pk = 'big'", ConsistentRead=True, ReturnConsumedCapacity="TOTAL")
    expected = ddb.query(TableName=pq, KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "big"}}, ConsistentRead=True, ReturnConsumedCapacity="TOTAL")
    assert query["ConsumedCapacity"] == expected["ConsumedCapacity"] and query["ConsumedCapacity"]["CapacityUnits"] == 4.0  # ~15 KB
    scan = ddb.execute_statement(Statement=f'SELECT * FROM "{pq}"', ReturnConsumedCapacity="TOTAL")
    assert scan["ConsumedCapacity"] == ddb.scan(TableName=pq, ReturnConsumedCapacity="TOTAL")["ConsumedCapacity"]
    # Writes: by the larger of the old and new item, per 1 KB.
    out = ddb.execute_statement(Statement=f"INSERT INTO \"{pq}\" VALUE {{'pk': 'w', 'sk': 1, 'd': '{'y' * 1500}'}}", ReturnConsumedCapacity="TOTAL")
    assert out["ConsumedCapacity"] == {"TableName": pq, "CapacityUnits": 2.0, "WriteCapacityUnits": 2.0}
    out = ddb.execute_statement(Statement=f"UPDATE \"{pq}\" SET d = 'short' WHERE pk = 'w' AND sk = 1", ReturnConsumedCapacity="TOTAL")
    assert out["ConsumedCapacity"]["CapacityUnits"] == 2.0
    out = ddb.execute_statement(Statement=f"UPDATE \"{pq}\" SET e = 'f' WHERE pk = 'w' AND sk = 1", ReturnConsumedCapacity="TOTAL")
    assert out["ConsumedCapacity"]["CapacityUnits"] == 1.0
    out = ddb.execute_statement(Statement=f"DELETE FROM \"{pq}\" WHERE pk = 'big' AND sk = 0", ReturnConsumedCapacity="TOTAL")
    assert out["ConsumedCapacity"] == {"TableName": pq, "CapacityUnits": 3.0, "WriteCapacityUnits": 3.0}
    out = ddb.execute_statement(Statement=f"DELETE FROM \"{pq}\" WHERE pk = 'big' AND sk = 0", ReturnConsumedCapacity="TOTAL")
    assert out["ConsumedCapacity"]["CapacityUnits"] == 1.0  # nothing to delete: still one unit
    assert code(lambda: ddb.execute_statement(Statement=one, ReturnConsumedCapacity="SOME")) == "ValidationException"


def test_consumed_capacity_of_indexes(ddb: Any, make_table: Callable[..., str]) -> None:
    name = make_table(
        extra_attrs={"g": "S"},
        GlobalSecondaryIndexes=[{"IndexName": "by-g", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}], "Projection": {"ProjectionType": "ALL"}}],
    )
    out = ddb.execute_statement(Statement=f"INSERT INTO \"{name}\" VALUE {{'pk': 'a', 'g': 'x'}}", ReturnConsumedCapacity="INDEXES")
    assert out["ConsumedCapacity"] == {
        "TableName": name,
        "CapacityUnits": 2.0,
        "WriteCapacityUnits": 2.0,
        "Table": {"CapacityUnits": 1.0, "WriteCapacityUnits": 1.0},
        "GlobalSecondaryIndexes": {"by-g": {"CapacityUnits": 1.0, "WriteCapacityUnits": 1.0}},
    }
    out = ddb.execute_statement(Statement=f"SELECT * FROM \"{name}\".\"by-g\" WHERE g = 'x'", ReturnConsumedCapacity="INDEXES")
    expected = ddb.query(TableName=name, IndexName="by-g", KeyConditionExpression="g = :g", ExpressionAttributeValues={":g": {"S": "x"}}, ReturnConsumedCapacity="INDEXES")
    assert out["ConsumedCapacity"] == expected["ConsumedCapacity"]
    assert out["ConsumedCapacity"]["GlobalSecondaryIndexes"] == {"by-g": {"CapacityUnits": 0.5, "ReadCapacityUnits": 0.5}}
    out = ddb.execute_transaction(TransactStatements=[{"Statement": f"UPDATE \"{name}\" SET g = 'y' WHERE pk = 'a'"}], ReturnConsumedCapacity="INDEXES")
    # Doubled, as TransactWriteItems is: the table's write, the index's delete and put.
    assert out["ConsumedCapacity"] == [
        {
            "TableName": name,
            "CapacityUnits": 6.0,
            "WriteCapacityUnits": 6.0,
            "Table": {"CapacityUnits": 2.0, "WriteCapacityUnits": 2.0},
            "GlobalSecondaryIndexes": {"by-g": {"CapacityUnits": 4.0, "WriteCapacityUnits": 4.0}},
        }
    ]


def test_batch_and_transaction_consumed_capacity(ddb: Any, pq: str, make_table: Callable[..., str]) -> None:
    """A list with one entry per table, in the order of the statements; a transaction's units doubled."""
    other = make_table()
    ddb.put_item(TableName=other, Item={"pk": {"S": "o"}, "d": {"S": "z" * 5000}})
    reads = [
        {"Statement": f"SELECT * FROM \"{other}\" WHERE pk = 'o'", "ConsistentRead": True},
        {"Statement": f"SELECT * FROM \"{pq}\" WHERE pk = 'a' AND sk = 1"},
        {"Statement": f"SELECT * FROM \"{pq}\" WHERE pk = 'nobody' AND sk = 1"},
    ]
    out = ddb.batch_execute_statement(Statements=reads, ReturnConsumedCapacity="TOTAL")
    assert out["ConsumedCapacity"] == [
        {"TableName": other, "CapacityUnits": 2.0, "ReadCapacityUnits": 2.0},  # 5 KB, strongly consistent
        {"TableName": pq, "CapacityUnits": 1.0, "ReadCapacityUnits": 1.0},  # two GetItems, eventually consistent
    ]
    assert "ConsumedCapacity" not in ddb.batch_execute_statement(Statements=reads)
    assert "ConsumedCapacity" not in ddb.batch_execute_statement(Statements=reads, ReturnConsumedCapacity="NONE")
    writes = [
        {"Statement": f"INSERT INTO \"{pq}\" VALUE {{'pk': 'n', 'sk': 1}}"},
        {"Statement": f"UPDATE \"{other}\" SET x = 1 WHERE pk = 'o'"},
        {"Statement": f"DELETE FROM \"{pq}\" WHERE pk = 'a' AND sk = 2"},
    ]
    out = ddb.batch_execute_statement(Statements=writes, ReturnConsumedCapacity="TOTAL")
    assert out["ConsumedCapacity"] == [
        {"TableName": pq, "CapacityUnits": 2.0, "WriteCapacityUnits": 2.0},
        {"TableName": other, "CapacityUnits": 5.0, "WriteCapacityUnits": 5.0},
    ]
    out = ddb.execute_transaction(TransactStatements=reads[1:], ReturnConsumedCapacity="TOTAL")
    assert out["ConsumedCapacity"] == [{"TableName": pq, "CapacityUnits": 4.0, "ReadCapacityUnits": 4.0}]
    tx = [
        {"Statement": f"EXISTS(SELECT * FROM \"{other}\" WHERE pk = 'o')"},
        {"Statement": f"UPDATE \"{pq}\" SET v = 't' WHERE pk = 'a' AND sk = 3"},
        {"Statement": f"INSERT INTO \"{pq}\" VALUE {{'pk': 'n', 'sk': 2}}"},
    ]
    out = ddb.execute_transaction(TransactStatements=tx, ReturnConsumedCapacity="TOTAL")
    assert out["ConsumedCapacity"] == [
        {"TableName": other, "CapacityUnits": 4.0, "ReadCapacityUnits": 4.0},  # a condition check of a 5 KB item
        {"TableName": pq, "CapacityUnits": 4.0, "WriteCapacityUnits": 4.0},
    ]
    tx = [{"Statement": f"UPDATE \"{pq}\" SET v = 'u' WHERE pk = 'a' AND sk = 3"}]
    assert "ConsumedCapacity" not in ddb.execute_transaction(TransactStatements=tx)
    # The same as TransactWriteItems for the same writes.
    twi = ddb.transact_write_items(
        TransactItems=[{"Update": {"TableName": pq, "Key": {"pk": {"S": "a"}, "sk": {"N": "3"}}, "UpdateExpression": "SET v = :v", "ExpressionAttributeValues": {":v": {"S": "w"}}}}],
        ReturnConsumedCapacity="TOTAL",
    )
    assert ddb.execute_transaction(TransactStatements=tx, ReturnConsumedCapacity="TOTAL")["ConsumedCapacity"] == twi["ConsumedCapacity"]


def test_select_limit_returns_last_evaluated_key(ddb: Any, pq: str, make_table: Callable[..., str]) -> None:
    """A page that stops early names the last item read in LastEvaluatedKey, besides NextToken."""
    out = ddb.execute_statement(Statement=f"SELECT * FROM \"{pq}\" WHERE pk = 'a'", Limit=2)
    assert [i["sk"]["N"] for i in out["Items"]] == ["0", "1"]
    assert out["LastEvaluatedKey"] == {"pk": {"S": "a"}, "sk": {"N": "1"}} and "NextToken" in out
    # A filtered page: the key of the last item read, even though it did not match.
    out = ddb.execute_statement(Statement=f"SELECT * FROM \"{pq}\" WHERE pk = 'a' AND v = 'a0'", Limit=2)
    assert [i["v"]["S"] for i in out["Items"]] == ["a0"] and out["LastEvaluatedKey"] == {"pk": {"S": "a"}, "sk": {"N": "1"}}
    out = ddb.execute_statement(Statement=f"SELECT * FROM \"{pq}\" WHERE pk = 'a'", Limit=2, NextToken=out["NextToken"])
    assert [i["sk"]["N"] for i in out["Items"]] == ["2", "3"] and out["LastEvaluatedKey"] == {"pk": {"S": "a"}, "sk": {"N": "3"}}
    last = ddb.execute_statement(Statement=f"SELECT * FROM \"{pq}\" WHERE pk = 'a'", Limit=2, NextToken=out["NextToken"])
    assert [i["sk"]["N"] for i in last["Items"]] == ["4"] and "LastEvaluatedKey" not in last and "NextToken" not in last
    scan = ddb.execute_statement(Statement=f'SELECT v FROM "{pq}"', Limit=3)
    assert set(scan["LastEvaluatedKey"]) == {"pk", "sk"} and len(scan["Items"]) == 3
    assert "LastEvaluatedKey" not in ddb.execute_statement(Statement=f'SELECT * FROM "{pq}"')
    # On an index: the table's key and the index's, as a Query of the index gives it.
    name = make_table(
        extra_attrs={"g": "S", "r": "N"},
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by-g",
                "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}, {"AttributeName": "r", "KeyType": "RANGE"}],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            }
        ],
    )
    for i in range(4):
        ddb.put_item(TableName=name, Item={"pk": {"S": f"k{i}"}, "g": {"S": "G"}, "r": {"N": str(i)}, "other": {"S": "o"}})
    out = ddb.execute_statement(Statement=f"SELECT * FROM \"{name}\".\"by-g\" WHERE g = 'G'", Limit=2)
    expected = ddb.query(TableName=name, IndexName="by-g", KeyConditionExpression="g = :g", ExpressionAttributeValues={":g": {"S": "G"}}, Limit=2)
    assert out["LastEvaluatedKey"] == expected["LastEvaluatedKey"] == {"pk": {"S": "k1"}, "g": {"S": "G"}, "r": {"N": "1"}}


def _message(fn: Callable[[], Any]) -> str:
    with pytest.raises(ClientError) as err:
        fn()
    assert err.value.response["Error"]["Code"] == "ValidationException"
    return str(err.value.response["Error"]["Message"])


def test_written_values_pass_put_item_checks(ddb: Any, make_table: Callable[..., str]) -> None:
    """INSERT and UPDATE values (literals and parameters) are checked as PutItem/UpdateItem
    check theirs: nothing invalid is stored."""
    name = make_table(hash=("id", "S"))
    dup_ss = "One or more parameter values were invalid: Input collection [a, a] contains duplicates."
    assert _message(lambda: ddb.execute_statement(Statement=f"INSERT INTO \"{name}\" VALUE {{'id': 'sd', 's': <<'a', 'a'>>}}")) == dup_ss
    assert _message(lambda: ddb.put_item(TableName=name, Item={"id": {"S": "sd"}, "s": {"SS": ["a", "a"]}})) == dup_ss
    assert "Item" not in ddb.get_item(TableName=name, Key={"id": {"S": "sd"}})
    deep: dict[str, Any] = {"S": "x"}
    for _ in range(40):
        deep = {"M": {"a": deep}}
    nesting = "Nesting Levels have exceeded supported limits"
    assert _message(lambda: ddb.execute_statement(Statement=f"INSERT INTO \"{name}\" VALUE {{'id': 'deep', 'm': ?}}", Parameters=[deep])) == nesting
    literal = "{'a': " * 40 + "1" + "}" * 40
    assert _message(lambda: ddb.execute_statement(Statement=f"INSERT INTO \"{name}\" VALUE {{'id': 'deep', 'm': {literal}}}")) == nesting
    assert "Item" not in ddb.get_item(TableName=name, Key={"id": {"S": "deep"}})
    empty_name = "One or more parameter values were invalid: An AttributeValue may not contain an empty string as attribute name"
    assert _message(lambda: ddb.execute_statement(Statement=f"INSERT INTO \"{name}\" VALUE {{'id': 'x', '': 1}}")) == empty_name
    assert "Item" not in ddb.get_item(TableName=name, Key={"id": {"S": "x"}})
    ddb.put_item(TableName=name, Item={"id": {"S": "q1"}})
    dup_ns = "Input collection contains duplicates"
    assert _message(lambda: ddb.execute_statement(Statement=f"UPDATE \"{name}\" SET s2 = <<1, 1.0, 2>> WHERE id = 'q1'")) == dup_ns
    assert _message(lambda: ddb.execute_statement(Statement=f"UPDATE \"{name}\" SET s2 = ? WHERE id = 'q1'", Parameters=[{"NS": ["1", "1.0"]}])) == dup_ns
    assert _message(lambda: ddb.execute_statement(Statement=f"UPDATE \"{name}\" SET m = ? WHERE id = 'q1'", Parameters=[deep])) == nesting
    assert _message(lambda: ddb.execute_statement(Statement=f"UPDATE \"{name}\" SET s2 = set_add(s2, <<'b', 'b'>>) WHERE id = 'q1'")).endswith("[b, b] contains duplicates.")
    assert ddb.get_item(TableName=name, Key={"id": {"S": "q1"}})["Item"] == {"id": {"S": "q1"}}
    # In a batch, the statement fails alone.
    out = ddb.batch_execute_statement(Statements=[{"Statement": f"INSERT INTO \"{name}\" VALUE {{'id': 'b1', 's': <<'a', 'a'>>}}"}])
    assert out["Responses"][0]["Error"]["Code"] == "ValidationError"


def test_select_sort_key_conditions_bound_the_read(ddb: Any, pq: str, make_table: Callable[..., str]) -> None:
    """A SELECT with the partition key's equality reads as a Query: sort-key comparisons
    ANDed with it are its key condition, so Limit and capacity count only items within them."""
    out = ddb.execute_statement(Statement=f"SELECT pk, sk FROM \"{pq}\" WHERE pk = 'a' AND sk > 3", Limit=2)
    assert out["Items"] == [{"pk": {"S": "a"}, "sk": {"N": "4"}}] and "NextToken" not in out and "LastEvaluatedKey" not in out
    out = ddb.execute_statement(Statement=f"SELECT sk FROM \"{pq}\" WHERE pk = 'a' AND ? <= sk AND sk < 4", Parameters=[{"N": "1"}], Limit=2)
    assert [i["sk"]["N"] for i in out["Items"]] == ["1", "2"] and out["LastEvaluatedKey"] == {"pk": {"S": "a"}, "sk": {"N": "2"}}
    out = ddb.execute_statement(Statement=f"SELECT sk FROM \"{pq}\" WHERE pk = 'a' AND sk BETWEEN 1 AND 3", Limit=2, NextToken=out["NextToken"])
    assert [i["sk"]["N"] for i in out["Items"]] == ["3"] and "NextToken" not in out
    out = ddb.execute_statement(Statement=f"SELECT sk FROM \"{pq}\" WHERE pk = 'b' AND sk >= 2 ORDER BY sk DESC", Limit=5)
    assert [i["sk"]["N"] for i in out["Items"]] == ["4", "3", "2"] and "NextToken" not in out
    # Capacity: the items within the key range only (five items of this size would be more).
    small = ddb.execute_statement(Statement=f"SELECT * FROM \"{pq}\" WHERE pk = 'a' AND sk > 3", ReturnConsumedCapacity="TOTAL")
    query = ddb.query(
        TableName=pq, KeyConditionExpression="pk = :p AND sk > :v", ExpressionAttributeValues={":p": {"S": "a"}, ":v": {"N": "3"}}, ReturnConsumedCapacity="TOTAL"
    )
    assert small["ConsumedCapacity"] == query["ConsumedCapacity"]
    # Anything else (an OR, another attribute) still filters a partition read.
    out = ddb.execute_statement(Statement=f"SELECT sk FROM \"{pq}\" WHERE pk = 'a' AND (sk = 0 OR sk = 4)", Limit=2)
    assert [i["sk"]["N"] for i in out["Items"]] == ["0"] and out["LastEvaluatedKey"] == {"pk": {"S": "a"}, "sk": {"N": "1"}}
    # On an index: the index's sort key, begins_with included.
    name = make_table(
        extra_attrs={"g": "S", "r": "S"},
        GlobalSecondaryIndexes=[
            {
                "IndexName": "by-g",
                "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}, {"AttributeName": "r", "KeyType": "RANGE"}],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    )
    for r in ("a1", "a2", "b1", "b2", "c1"):
        ddb.put_item(TableName=name, Item={"pk": {"S": f"k{r}"}, "g": {"S": "G"}, "r": {"S": r}})
    out = ddb.execute_statement(Statement=f"SELECT r FROM \"{name}\".\"by-g\" WHERE g = 'G' AND begins_with(r, 'b')", Limit=2)
    assert [i["r"]["S"] for i in out["Items"]] == ["b1", "b2"]
    out = ddb.execute_statement(Statement=f"SELECT r FROM \"{name}\".\"by-g\" WHERE g = 'G' AND r > 'b1'", Limit=1)
    assert [i["r"]["S"] for i in out["Items"]] == ["b2"]
