"""DynamoDB's error codes and texts for bad input, through the wire.

The texts are DynamoDB's as dynalite (bench/peers) copied them from the service; each
case was compared with dynalite's answer to the same request. Where this emulator keeps
a newer AWS text on purpose (numbers, empty key strings, ReturnValues), other tests pin it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

PT = {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5}
Tables = dict[str, str]
Case = Callable[[Tables], tuple[str, dict[str, Any]]]


@pytest.fixture(scope="module")
def raw(aws_client: Callable[..., Any]) -> Any:
    """A client that sends what it is given: botocore's own checks off."""
    return aws_client("dynamodb", config=Config(parameter_validation=False, retries={"max_attempts": 1, "mode": "standard"}))


@pytest.fixture(scope="module")
def tables(raw: Any) -> Iterator[Tables]:
    """h: pk (S), on demand; r: pk (S) + sk (N) with GSI gsi (g) and LSI lsi (l);
    p: pk (S), provisioned 5/5."""
    suffix = uuid.uuid4().hex[:10]
    names = {"h": f"err-h-{suffix}", "r": f"err-r-{suffix}", "p": f"err-p-{suffix}"}
    key = [{"AttributeName": "pk", "KeyType": "HASH"}]
    pk = [{"AttributeName": "pk", "AttributeType": "S"}]
    raw.create_table(TableName=names["h"], KeySchema=key, AttributeDefinitions=pk, BillingMode="PAY_PER_REQUEST")
    raw.create_table(TableName=names["p"], KeySchema=key, AttributeDefinitions=pk, ProvisionedThroughput=PT)
    raw.create_table(
        TableName=names["r"],
        KeySchema=[*key, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[*pk, *({"AttributeName": n, "AttributeType": t} for n, t in (("sk", "N"), ("g", "S"), ("l", "S")))],
        BillingMode="PAY_PER_REQUEST",
        GlobalSecondaryIndexes=[{"IndexName": "gsi", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}], "Projection": {"ProjectionType": "ALL"}}],
        LocalSecondaryIndexes=[
            {"IndexName": "lsi", "KeySchema": [*key, {"AttributeName": "l", "KeyType": "RANGE"}], "Projection": {"ProjectionType": "KEYS_ONLY"}}
        ],
    )
    names["arn"] = raw.describe_table(TableName=names["h"])["Table"]["TableArn"]
    yield names
    for which in ("h", "r", "p"):
        try:
            raw.delete_table(TableName=names[which])
        except ClientError:
            pass


def _error(raw: Any, op: str, params: dict[str, Any]) -> tuple[str, str, int]:
    with pytest.raises(ClientError) as exc:
        getattr(raw, op)(**params)
    response = exc.value.response
    return response["Error"]["Code"], response["Error"]["Message"], response["ResponseMetadata"]["HTTPStatusCode"]


P = {":p": {"S": "a"}}
EQ_A = {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "a"}]}
INVALID = "One or more parameter values were invalid: "

# (id, request, message): every one a ValidationException (HTTP 400).
VALIDATION_CASES: list[tuple[str, Case, str]] = [
    # ------------------------------------------------------------- update expressions with several mistakes
    # One is reported, by kind: reserved word, unknown function, repeated clause, undefined name,
    # undefined value, overlapping paths, conflicting paths, ADD/DELETE operand, function operand;
    # the first of its kind in textual order, whatever the clause.
    (
        "upd-reserved-before-repeated-clause",
        lambda t: ("update_item", {"TableName": t["h"], "Key": {"pk": P[":p"]}, "UpdateExpression": "SET a = :p SET b = :p REMOVE values", "ExpressionAttributeValues": P}),
        "Invalid UpdateExpression: Attribute name is a reserved keyword; reserved keyword: values",
    ),
    (
        "upd-unknown-function-before-repeated-clause",
        lambda t: ("update_item", {"TableName": t["h"], "Key": {"pk": P[":p"]}, "UpdateExpression": "SET a = :p SET b = foo(a)", "ExpressionAttributeValues": P}),
        "Invalid UpdateExpression: Invalid function name; function: foo",
    ),
    (
        "upd-undefined-name-before-undefined-value",
        lambda t: ("update_item", {"TableName": t["h"], "Key": {"pk": P[":p"]}, "UpdateExpression": "SET a = :p, b = :nope REMOVE #nope", "ExpressionAttributeValues": P}),
        "Invalid UpdateExpression: An expression attribute name used in the document path is not defined; attribute name: #nope",
    ),
    (
        "upd-undefined-value-before-add-operand",
        lambda t: ("update_item", {"TableName": t["h"], "Key": {"pk": P[":p"]}, "UpdateExpression": "ADD m :p DELETE w :nope", "ExpressionAttributeValues": P}),
        "Invalid UpdateExpression: An expression attribute value used in expression is not defined; attribute value: :nope",
    ),
    (
        "upd-overlap-across-clauses-before-add-operand",
        lambda t: ("update_item", {"TableName": t["h"], "Key": {"pk": P[":p"]}, "UpdateExpression": "ADD z :p REMOVE a SET a = :p", "ExpressionAttributeValues": P}),
        "Invalid UpdateExpression: Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [a], path two: [a]",
    ),
    (
        "upd-overlap-before-conflict",
        lambda t: ("update_item", {"TableName": t["h"], "Key": {"pk": P[":p"]}, "UpdateExpression": "SET b[0] = :p REMOVE b.c, b", "ExpressionAttributeValues": P}),
        "Invalid UpdateExpression: Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [b, [0]], path two: [b]",
    ),
    (
        "upd-last-conflict",
        lambda t: ("update_item", {"TableName": t["h"], "Key": {"pk": P[":p"]}, "UpdateExpression": "SET b.c = :p, b.d = :p, b[0] = :p", "ExpressionAttributeValues": P}),
        "Invalid UpdateExpression: Two document paths conflict with each other; must remove or rewrite one of these paths; path one: [b, d], path two: [b, [0]]",
    ),
    (
        "upd-add-operand-before-arithmetic-operand",
        lambda t: ("update_item", {"TableName": t["h"], "Key": {"pk": P[":p"]}, "UpdateExpression": "SET q = :p + :n ADD a :p", "ExpressionAttributeValues": {**P, ":n": {"N": "1"}}}),
        "Invalid UpdateExpression: Incorrect operand type for operator or function; operator: ADD, operand type: STRING",
    ),
    (
        "upd-first-function-mistake-in-text",
        lambda t: ("update_item", {"TableName": t["h"], "Key": {"pk": P[":p"]}, "UpdateExpression": "SET q = list_append(:p, l), r = if_not_exists(:p, a)", "ExpressionAttributeValues": P}),
        "Invalid UpdateExpression: Incorrect operand type for operator or function; operator or function: list_append, operand type: S",
    ),
    # ------------------------------------------------------------- key conditions
    (
        "kce-size",
        lambda t: ("query", {"TableName": t["r"], "KeyConditionExpression": "pk = :p AND size(sk) > :n", "ExpressionAttributeValues": {**P, ":n": {"N": "1"}}}),
        "KeyConditionExpressions cannot contain nested operations",
    ),
    (
        "kce-no-key",
        lambda t: ("query", {"TableName": t["r"], "KeyConditionExpression": ":p = :p", "ExpressionAttributeValues": P}),
        "Invalid condition in KeyConditionExpression: No key attribute specified",
    ),
    (
        "kce-two-keys",
        lambda t: ("query", {"TableName": t["r"], "KeyConditionExpression": "pk = sk"}),
        "Invalid condition in KeyConditionExpression: Multiple attribute names used in one condition",
    ),
    (
        "kce-between-value-first",
        lambda t: ("query", {"TableName": t["r"], "KeyConditionExpression": "pk = :p AND :n BETWEEN sk AND :n", "ExpressionAttributeValues": {**P, ":n": {"N": "1"}}}),
        "Invalid condition in KeyConditionExpression: BETWEEN operator must have the key attribute as its first operand",
    ),
    (
        "kce-begins-with-value-first",
        lambda t: ("query", {"TableName": t["r"], "KeyConditionExpression": "pk = :p AND begins_with(:p, sk)", "ExpressionAttributeValues": P}),
        "Invalid condition in KeyConditionExpression: begins_with operator must have the key attribute as its first operand",
    ),
    (
        "keyconditions-ne-on-hash",
        lambda t: ("query", {"TableName": t["r"], "KeyConditions": {"pk": {"ComparisonOperator": "NE", "AttributeValueList": [{"S": "a"}]}}}),
        "Attempted conditional constraint is not an indexable operation",
    ),
    (
        "keyconditions-null-on-hash",
        lambda t: ("query", {"TableName": t["r"], "KeyConditions": {"pk": {"ComparisonOperator": "NULL"}}}),
        "Attempted conditional constraint is not an indexable operation",
    ),
    # ------------------------------------------------------------- legacy conditions
    (
        "expected-value-and-list",
        lambda t: ("put_item", {"TableName": t["h"], "Item": {"pk": {"S": "a"}}, "Expected": {"x": {"ComparisonOperator": "EQ", "Value": {"N": "1"}, "AttributeValueList": [{"N": "1"}]}}}),
        INVALID + "Value and AttributeValueList cannot be used together for Attribute: x",
    ),
    (
        "expected-exists-and-operator",
        lambda t: ("put_item", {"TableName": t["h"], "Item": {"pk": {"S": "a"}}, "Expected": {"x": {"ComparisonOperator": "NULL", "Exists": True}}}),
        INVALID + "Exists and ComparisonOperator cannot be used together for Attribute: x",
    ),
    (
        "expected-operator-without-value",
        lambda t: ("put_item", {"TableName": t["h"], "Item": {"pk": {"S": "a"}}, "Expected": {"x": {"ComparisonOperator": "EQ"}}}),
        INVALID + "Value or AttributeValueList must be used with ComparisonOperator: EQ for Attribute: x",
    ),
    (
        "scanfilter-mixed-types",
        lambda t: ("scan", {"TableName": t["h"], "ScanFilter": {"a": {"ComparisonOperator": "IN", "AttributeValueList": [{"S": "a"}, {"N": "1"}]}}}),
        INVALID + "AttributeValues inside AttributeValueList must be of same type",
    ),
    # ------------------------------------------------------------- values and keys
    (
        "duplicate-numbers",
        lambda t: ("put_item", {"TableName": t["h"], "Item": {"pk": {"S": "a"}, "x": {"NS": ["1", "1.0"]}}}),
        "Input collection contains duplicates",
    ),
    (
        "duplicate-binaries",
        lambda t: ("put_item", {"TableName": t["h"], "Item": {"pk": {"S": "a"}, "x": {"BS": [b"a", b"a"]}}}),
        INVALID + "Input collection [YQ==, YQ==]of type BS contains duplicates.",
    ),
    (
        "key-39-digits",
        lambda t: ("get_item", {"TableName": t["r"], "Key": {"pk": {"S": "a"}, "sk": {"N": "1" * 39}}}),
        "Attempting to store more than 38 significant digits in a Number",
    ),
    (
        "key-not-a-number",
        lambda t: ("get_item", {"TableName": t["r"], "Key": {"pk": {"S": "a"}, "sk": {"N": "abc"}}}),
        "A value provided cannot be converted into a number",
    ),
    (
        "extra-key-not-a-number",
        lambda t: ("delete_item", {"TableName": t["h"], "Key": {"pk": {"S": "a"}, "x": {"N": "abc"}}}),
        "A value provided cannot be converted into a number",
    ),
    # ------------------------------------------------------------- ExclusiveStartKey
    (
        "query-start-key-missing-range",
        lambda t: ("query", {"TableName": t["r"], "KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": P, "ExclusiveStartKey": {"pk": {"S": "a"}}}),
        "The provided starting key is invalid",
    ),
    (
        "query-start-key-wrong-type",
        lambda t: (
            "query",
            {"TableName": t["r"], "KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": P, "ExclusiveStartKey": {"pk": {"S": "a"}, "sk": {"S": "1"}}},
        ),
        "The provided key element does not match the schema",
    ),
    (
        "query-start-key-empty-value",
        lambda t: ("query", {"TableName": t["r"], "KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": P, "ExclusiveStartKey": {"pk": {}}}),
        "The provided starting key is invalid: Supplied AttributeValue is empty, must contain exactly one of the supported datatypes",
    ),
    (
        "query-start-key-not-a-number",
        lambda t: (
            "query",
            {"TableName": t["r"], "KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": P, "ExclusiveStartKey": {"pk": {"S": "a"}, "sk": {"N": "x"}}},
        ),
        "A value provided cannot be converted into a number",
    ),
    (
        "query-start-key-empty-string",
        lambda t: (
            "query",
            {"TableName": t["r"], "KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": P, "ExclusiveStartKey": {"pk": {"S": ""}, "sk": {"N": "1"}}},
        ),
        "One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty string value. Key: pk",
    ),
    (
        "scan-start-key-missing-range",
        lambda t: ("scan", {"TableName": t["r"], "ExclusiveStartKey": {"pk": {"S": "a"}}}),
        "The provided starting key is invalid: The provided key element does not match the schema",
    ),
    (
        "scan-index-start-key-missing-index-key",
        lambda t: ("scan", {"TableName": t["r"], "IndexName": "gsi", "ExclusiveStartKey": {"pk": {"S": "a"}, "sk": {"N": "1"}}}),
        "The provided starting key is invalid",
    ),
    (
        "scan-index-start-key-missing-table-key",
        lambda t: ("scan", {"TableName": t["r"], "IndexName": "gsi", "ExclusiveStartKey": {"pk": {"S": "a"}, "g": {"S": "1"}, "x": {"S": "1"}}}),
        "The provided starting key is invalid: The provided key element does not match the schema",
    ),
    # ------------------------------------------------------------- tables
    (
        "create-read-units-out-of-bounds",
        lambda t: (
            "create_table",
            {
                "TableName": f"{t['h']}-new",
                "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
                "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
                "ProvisionedThroughput": {"ReadCapacityUnits": 1000000000001, "WriteCapacityUnits": 5},
            },
        ),
        "Given value 1000000000001 for ReadCapacityUnits is out of bounds",
    ),
    (
        "update-write-units-out-of-bounds",
        lambda t: ("update_table", {"TableName": t["p"], "ProvisionedThroughput": {"ReadCapacityUnits": 5, "WriteCapacityUnits": 1000000000001}}),
        "Given value 1000000000001 for WriteCapacityUnits is out of bounds",
    ),
    (
        "create-more-keys-than-definitions",
        lambda t: (
            "create_table",
            {
                "TableName": f"{t['h']}-new",
                "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
                "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
                "BillingMode": "PAY_PER_REQUEST",
            },
        ),
        "Invalid KeySchema: Some index key attribute have no definition",
    ),
    (
        "update-empty-index-update",
        lambda t: ("update_table", {"TableName": t["r"], "GlobalSecondaryIndexUpdates": [{}]}),
        INVALID + "One of GlobalSecondaryIndexUpdate.Update, GlobalSecondaryIndexUpdate.Create, GlobalSecondaryIndexUpdate.Delete must not be null",
    ),
    (
        "update-same-index-twice",
        lambda t: ("update_table", {"TableName": t["r"], "GlobalSecondaryIndexUpdates": [{"Delete": {"IndexName": "gsi"}}, {"Delete": {"IndexName": "gsi"}}]}),
        INVALID + "Only one global secondary index update per index is allowed simultaneously. Index: gsi",
    ),
    (
        "update-provisioned-without-throughput",
        lambda t: ("update_table", {"TableName": t["h"], "BillingMode": "PROVISIONED"}),
        INVALID + "ProvisionedThroughput must be specified when BillingMode is PROVISIONED",
    ),
    (
        "update-same-throughput",
        lambda t: ("update_table", {"TableName": t["p"], "ProvisionedThroughput": PT}),
        (
            "The provisioned throughput for the table will not change. The requested value equals the current value. "
            "Current ReadCapacityUnits provisioned for the table: 5. Requested ReadCapacityUnits: 5. "
            "Current WriteCapacityUnits provisioned for the table: 5. Requested WriteCapacityUnits: 5. "
            "Refer to the Amazon DynamoDB Developer Guide for current limits and how to request higher limits."
        ),
    ),
    # ------------------------------------------------------------- batches and tags
    (
        "batch-write-empty-request",
        lambda t: ("batch_write_item", {"RequestItems": {t["h"]: [{}]}}),
        "Supplied AttributeValue has more than one datatypes set, must contain exactly one of the supported datatypes",
    ),
    (
        "tag-no-tags",
        lambda t: ("tag_resource", {"ResourceArn": t["arn"], "Tags": []}),
        "Atleast one Tag needs to be provided as Input.",
    ),
    (
        "tag-no-tags-before-lookup",
        lambda t: ("tag_resource", {"ResourceArn": t["arn"] + "-missing", "Tags": []}),
        "Atleast one Tag needs to be provided as Input.",
    ),
    (
        "untag-no-keys",
        lambda t: ("untag_resource", {"ResourceArn": t["arn"], "TagKeys": []}),
        "Atleast one Tag Key needs to be provided as Input.",
    ),
]


@pytest.mark.parametrize(("request_of", "message"), [pytest.param(req, msg, id=name) for name, req, msg in VALIDATION_CASES])
def test_validation_texts(raw: Any, tables: Tables, request_of: Case, message: str) -> None:
    op, params = request_of(tables)
    assert _error(raw, op, params) == ("ValidationException", message, 400)


def test_update_item_size_limit_names_the_update(raw: Any, tables: Tables) -> None:
    key = {"pk": {"S": "big"}}
    raw.put_item(TableName=tables["h"], Item={**key, "d": {"S": "x" * (400 * 1024 - 20)}})
    params = {"TableName": tables["h"], "Key": key, "UpdateExpression": "SET e = :e", "ExpressionAttributeValues": {":e": {"S": "y" * 100}}}
    assert _error(raw, "update_item", params) == ("ValidationException", "Item size to update has exceeded the maximum allowed size", 400)
    # PutItem keeps its own wording.
    params = {"TableName": tables["h"], "Item": {**key, "d": {"S": "x" * (400 * 1024)}}}
    assert _error(raw, "put_item", params) == ("ValidationException", "Item size has exceeded the maximum allowed size", 400)


def test_expected_value_beside_operator_is_one_operand(raw: Any, tables: Tables) -> None:
    """A Value beside a ComparisonOperator stands for a one-element AttributeValueList."""
    item = {"pk": {"S": "expected"}, "n": {"N": "1"}}
    raw.put_item(TableName=tables["h"], Item=item)
    raw.put_item(TableName=tables["h"], Item=item, Expected={"n": {"ComparisonOperator": "EQ", "Value": {"N": "1"}}})
    code = _error(raw, "put_item", {"TableName": tables["h"], "Item": item, "Expected": {"n": {"ComparisonOperator": "GT", "Value": {"N": "1"}}}})
    assert code == ("ConditionalCheckFailedException", "The conditional request failed", 400)


def test_scan_start_key_of_another_segment(raw: Any, tables: Tables) -> None:
    for i in range(20):
        raw.put_item(TableName=tables["h"], Item={"pk": {"S": f"seg-{i}"}})
    page = raw.scan(TableName=tables["h"], Segment=0, TotalSegments=2, Limit=1)
    start = page["LastEvaluatedKey"]
    # The key is good for its own segment ...
    raw.scan(TableName=tables["h"], Segment=0, TotalSegments=2, ExclusiveStartKey=start)
    # ... and refused by the other one.
    assert _error(raw, "scan", {"TableName": tables["h"], "Segment": 1, "TotalSegments": 2, "ExclusiveStartKey": start}) == (
        "ValidationException",
        "The provided starting key is invalid: Invalid ExclusiveStartKey. Please use ExclusiveStartKey with correct Segment. TotalSegments: 2 Segment: 1",
        400,
    )
