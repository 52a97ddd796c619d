"""BatchGetItem, BatchWriteItem, TransactGetItems, TransactWriteItems."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError


def _err(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    return exc.value.response["Error"]["Code"], exc.value.response["Error"]["Message"]


def _k(i: int | str) -> dict[str, Any]:
    return {"pk": {"S": str(i)}}


def test_batch_write_and_get(ddb: Any, make_table: Any) -> None:
    a, b = make_table(), make_table()
    out = ddb.batch_write_item(
        RequestItems={
            a: [{"PutRequest": {"Item": {**_k(i), "v": {"N": str(i)}}}} for i in range(20)],
            b: [{"PutRequest": {"Item": _k("x")}}],
        },
        ReturnConsumedCapacity="TOTAL",
    )
    assert out["UnprocessedItems"] == {}
    assert sorted(c["TableName"] for c in out["ConsumedCapacity"]) == sorted([a, b])
    got = ddb.batch_get_item(RequestItems={a: {"Keys": [_k(1), _k(2), _k(99)], "ProjectionExpression": "v"}, b: {"Keys": [_k("x")], "ConsistentRead": True}})
    assert sorted(i["v"]["N"] for i in got["Responses"][a]) == ["1", "2"]
    assert got["Responses"][b] == [_k("x")]
    assert got["UnprocessedKeys"] == {}
    ddb.batch_write_item(RequestItems={a: [{"DeleteRequest": {"Key": _k(i)}} for i in range(10)]})
    assert ddb.scan(TableName=a, Select="COUNT")["Count"] == 10


def test_batch_limits_and_duplicates(ddb: Any, make_table: Any) -> None:
    a = make_table()
    with pytest.raises(ClientError) as exc:
        ddb.batch_write_item(RequestItems={a: [{"PutRequest": {"Item": _k(i)}} for i in range(26)]})
    # A table's list past 25 (or empty) is worded at the map, as AWS's front end words a map value.
    code, message = _err(exc)
    assert code == "ValidationException" and message.startswith(f"1 validation error detected: Value '{{{a}=[{{PutRequest={{Item={{pk={{S=0}}}}}}}}, "), message
    assert message.endswith("' at 'requestItems' failed to satisfy constraint: Map value must satisfy constraint: "
                            "[Member must have length less than or equal to 25, Member must have length greater than or equal to 1]"), message
    with pytest.raises(ClientError) as exc:
        ddb.batch_write_item(RequestItems={a: [{"PutRequest": {"Item": _k(1)}}, {"DeleteRequest": {"Key": _k(1)}}]})
    assert _err(exc) == ("ValidationException", "Provided list of item keys contains duplicates")
    with pytest.raises(ClientError) as exc:
        ddb.batch_get_item(RequestItems={a: {"Keys": [_k(i) for i in range(51)]}, make_table(): {"Keys": [_k(i) for i in range(50)]}})
    assert _err(exc) == ("ValidationException", "Too many items requested for the BatchGetItem call")
    with pytest.raises(ClientError) as exc:
        ddb.batch_get_item(RequestItems={a: {"Keys": [_k(1), _k(1)]}})
    assert _err(exc) == ("ValidationException", "Provided list of item keys contains duplicates")
    # A bad item anywhere in the batch fails the whole batch; nothing is written. A PutRequest's
    # key problems read as a key's, not as PutItem's "Type mismatch for key ..." or "Missing the key ...".
    with pytest.raises(ClientError) as exc:
        ddb.batch_write_item(RequestItems={a: [{"PutRequest": {"Item": _k("ok")}}, {"PutRequest": {"Item": {"pk": {"N": "1"}}}}]})
    assert _err(exc) == ("ValidationException", "The provided key element does not match the schema")
    with pytest.raises(ClientError) as exc:
        ddb.batch_write_item(RequestItems={a: [{"PutRequest": {"Item": _k("ok")}}, {"PutRequest": {"Item": {"v": {"S": "1"}}}}]})
    assert _err(exc) == ("ValidationException", "The provided key element does not match the schema")
    assert "Item" not in ddb.get_item(TableName=a, Key=_k("ok"))
    # Other problems of the item keep PutItem's words.
    with pytest.raises(ClientError) as exc:
        ddb.batch_write_item(RequestItems={a: [{"PutRequest": {"Item": {"pk": {"S": ""}}}}]})
    assert _err(exc) == ("ValidationException", "One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty string value. Key: pk")
    # At most 25 requests in all, whatever the tables.
    b = make_table()
    with pytest.raises(ClientError) as exc:
        ddb.batch_write_item(RequestItems={a: [{"PutRequest": {"Item": _k(i)}} for i in range(20)], b: [{"PutRequest": {"Item": _k(i)}} for i in range(6)]})
    assert _err(exc) == ("ValidationException", "Too many items requested for the BatchWriteItem call")
    assert ddb.scan(TableName=b, Select="COUNT")["Count"] == 0


def test_transact_write_all_or_nothing(ddb: Any, make_table: Any) -> None:
    a, b = make_table(), make_table()
    ddb.put_item(TableName=a, Item={**_k("acct"), "balance": {"N": "100"}})
    ddb.put_item(TableName=a, Item=_k("limits"))
    items = [
        {"Update": {"TableName": a, "Key": _k("acct"), "UpdateExpression": "SET balance = balance - :amt", "ConditionExpression": "balance >= :amt", "ExpressionAttributeValues": {":amt": {"N": "30"}}}},
        {"Put": {"TableName": b, "Item": {**_k("order1"), "amount": {"N": "30"}}, "ConditionExpression": "attribute_not_exists(pk)"}},
        {"ConditionCheck": {"TableName": a, "Key": _k("limits"), "ConditionExpression": "attribute_exists(pk)"}},
    ]
    ddb.transact_write_items(TransactItems=items)
    assert ddb.get_item(TableName=a, Key=_k("acct"))["Item"]["balance"] == {"N": "70"}
    # Second time the Put's condition fails: nothing changes, reasons line up with the items.
    with pytest.raises(ClientError) as exc:
        ddb.transact_write_items(TransactItems=items)
    assert _err(exc) == ("TransactionCanceledException", "Transaction cancelled, please refer cancellation reasons for specific reasons [None, ConditionalCheckFailed, None]")
    reasons = exc.value.response["CancellationReasons"]
    assert [r["Code"] for r in reasons] == ["None", "ConditionalCheckFailed", "None"]
    assert ddb.get_item(TableName=a, Key=_k("acct"))["Item"]["balance"] == {"N": "70"}
    # ReturnValuesOnConditionCheckFailure puts the item in the reason.
    with pytest.raises(ClientError) as exc:
        ddb.transact_write_items(
            TransactItems=[{"Delete": {"TableName": b, "Key": _k("order1"), "ConditionExpression": "amount > :x", "ExpressionAttributeValues": {":x": {"N": "50"}}, "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}}]
        )
    assert exc.value.response["CancellationReasons"][0]["Item"]["amount"] == {"N": "30"}


def test_transact_write_validation(ddb: Any, make_table: Any) -> None:
    a = make_table()
    with pytest.raises(ClientError) as exc:
        ddb.transact_write_items(TransactItems=[{"Put": {"TableName": a, "Item": _k(1)}}, {"Delete": {"TableName": a, "Key": _k(1)}}])
    assert _err(exc) == ("ValidationException", "Transaction request cannot include multiple operations on one item")
    with pytest.raises(ClientError) as exc:
        ddb.transact_write_items(TransactItems=[{"Put": {"TableName": a, "Item": _k(1)}}, {"Put": {"TableName": "missing-table", "Item": _k(2)}}])
    assert _err(exc)[0] == "ResourceNotFoundException"
    assert "Item" not in ddb.get_item(TableName=a, Key=_k(1))


def test_transact_idempotency_token(ddb: Any, make_table: Any) -> None:
    a = make_table()
    ddb.put_item(TableName=a, Item={**_k("c"), "n": {"N": "0"}})
    token = str(uuid.uuid4())
    inc = [{"Update": {"TableName": a, "Key": _k("c"), "UpdateExpression": "ADD n :one", "ExpressionAttributeValues": {":one": {"N": "1"}}}}]
    ddb.transact_write_items(TransactItems=inc, ClientRequestToken=token)
    ddb.transact_write_items(TransactItems=inc, ClientRequestToken=token)
    assert ddb.get_item(TableName=a, Key=_k("c"))["Item"]["n"] == {"N": "1"}
    other = [{"Update": {**inc[0]["Update"], "ExpressionAttributeValues": {":one": {"N": "2"}}}}]
    with pytest.raises(ClientError) as exc:
        ddb.transact_write_items(TransactItems=other, ClientRequestToken=token)
    assert _err(exc)[0] == "IdempotentParameterMismatchException"


def test_transact_get(ddb: Any, make_table: Any) -> None:
    a = make_table()
    ddb.put_item(TableName=a, Item={**_k(1), "v": {"S": "one"}, "w": {"S": "x"}})
    out = ddb.transact_get_items(
        TransactItems=[{"Get": {"TableName": a, "Key": _k(1), "ProjectionExpression": "v"}}, {"Get": {"TableName": a, "Key": _k(2)}}],
        ReturnConsumedCapacity="TOTAL",
    )
    assert out["Responses"] == [{"Item": {"v": {"S": "one"}}}, {}]
    assert out["ConsumedCapacity"][0]["CapacityUnits"] == 4.0


def test_batch_get_returns_unprocessed_keys_past_16_mb(ddb: Any, make_table: Any) -> None:
    a = make_table()
    blob = "x" * (390 * 1024)
    for start in (0, 15, 30):
        ddb.batch_write_item(RequestItems={a: [{"PutRequest": {"Item": {**_k(i), "d": {"S": blob}}}} for i in range(start, start + 15)]})
    keys = [_k(i) for i in range(45)]
    out = ddb.batch_get_item(RequestItems={a: {"Keys": keys, "ProjectionExpression": "pk, d"}})
    got = len(out["Responses"][a])
    assert 0 < got < 45
    left = out["UnprocessedKeys"][a]
    assert len(left["Keys"]) == 45 - got
    assert left["ProjectionExpression"] == "pk, d"
    rest = ddb.batch_get_item(RequestItems=out["UnprocessedKeys"])
    assert got + len(rest["Responses"][a]) == 45


def test_transact_idempotency_token_with_blobs(ddb: Any, make_table: Any) -> None:
    """The token's fingerprint tells blobs apart (and from strings) and ignores ReturnConsumedCapacity."""
    a = make_table()
    token = str(uuid.uuid4())
    put = [{"Put": {"TableName": a, "Item": {**_k("b"), "blob": {"B": b"\x00\x01raw"}, "set": {"BS": [b"x", b"y"]}}}}]
    ddb.transact_write_items(TransactItems=put, ClientRequestToken=token)
    ddb.delete_item(TableName=a, Key=_k("b"))
    # A retry within the window is answered from the first answer: nothing is written again.
    ddb.transact_write_items(TransactItems=put, ClientRequestToken=token, ReturnConsumedCapacity="TOTAL")
    assert "Item" not in ddb.get_item(TableName=a, Key=_k("b"))
    for changed in ({"B": b"\x00\x01raX"}, {"S": "AAFyYXc="}):  # another blob; the first blob's base64 as a string
        other = [{"Put": {"TableName": a, "Item": {**put[0]["Put"]["Item"], "blob": changed}}}]
        with pytest.raises(ClientError) as exc:
            ddb.transact_write_items(TransactItems=other, ClientRequestToken=token)
        assert _err(exc)[0] == "IdempotentParameterMismatchException"


def test_batch_and_transact_writes_meter_old_and_new_sizes(ddb: Any, make_table: Any) -> None:
    """Write units come from the larger of the old and the new item (1 KB each), doubled in a transaction."""
    a = make_table()
    big, small = "x" * 3000, "y"
    ddb.batch_write_item(RequestItems={a: [{"PutRequest": {"Item": {**_k(i), "d": {"S": big}}}} for i in range(2)]})
    out = ddb.batch_write_item(RequestItems={a: [{"PutRequest": {"Item": {**_k(i), "d": {"S": small}}}} for i in range(2)]}, ReturnConsumedCapacity="TOTAL")
    assert out["ConsumedCapacity"][0]["CapacityUnits"] == 6.0  # 2 x 3 units: the old 3 KB items
    out = ddb.batch_write_item(RequestItems={a: [{"PutRequest": {"Item": {**_k(i), "d": {"S": small}}}} for i in range(2)]}, ReturnConsumedCapacity="TOTAL")
    assert out["ConsumedCapacity"][0]["CapacityUnits"] == 2.0
    out = ddb.transact_write_items(
        TransactItems=[{"Put": {"TableName": a, "Item": {**_k(0), "d": {"S": big}}}}, {"Delete": {"TableName": a, "Key": _k(1)}}, {"ConditionCheck": {"TableName": a, "Key": _k(9), "ConditionExpression": "attribute_not_exists(pk)"}}],
        ReturnConsumedCapacity="TOTAL",
    )
    assert out["ConsumedCapacity"][0]["CapacityUnits"] == 2 * 3.0 + 2 * 1.0 + 2.0  # put, delete, check of a missing item
    out = ddb.transact_write_items(TransactItems=[{"Put": {"TableName": a, "Item": {**_k(0), "d": {"S": small}}}}], ReturnConsumedCapacity="TOTAL")
    assert out["ConsumedCapacity"][0]["CapacityUnits"] == 2 * 3.0  # the old 3 KB item
    got = ddb.transact_get_items(TransactItems=[{"Get": {"TableName": a, "Key": _k(0)}}], ReturnConsumedCapacity="TOTAL")
    assert got["ConsumedCapacity"][0]["CapacityUnits"] == 2.0
