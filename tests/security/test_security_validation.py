"""Unit tests of request validation (emulator/gateway/validation.py), worded as AWS words it."""

from __future__ import annotations

import pytest

from emulator import services
from emulator.errors import AwsError
from emulator.gateway.validation import validate


def error_for(service: str, op: str, params: dict, protocol: str = "json") -> AwsError:
    with pytest.raises(AwsError) as info:
        validate(services.operation_model(service, op), params, protocol)
    return info.value


def test_valid_put_item_passes_without_descending_into_attribute_values() -> None:
    item = {"pk": {"S": "a"}, "n": {"N": "1"}, "m": {"M": {"x": {"L": [{"NULL": True}, {"B": b"\x00"}]}}}, "ss": {"SS": ["a", "b"]}}
    validate(services.operation_model("dynamodb", "PutItem"), {"TableName": "orders", "Item": item}, "json")


def test_table_name_too_short() -> None:
    err = error_for("dynamodb", "PutItem", {"TableName": "x", "Item": {}})
    assert err.code == "ValidationException"
    assert err.message == "1 validation error detected: Value 'x' at 'tableName' failed to satisfy constraint: Member must have length greater than or equal to 3"


def test_missing_required_member() -> None:
    err = error_for("dynamodb", "GetItem", {"TableName": "orders"})
    assert err.message == "1 validation error detected: Value null at 'key' failed to satisfy constraint: Member must not be null"


def test_several_errors_are_counted_and_joined() -> None:
    err = error_for("dynamodb", "CreateTable", {"TableName": "a!", "KeySchema": [{"AttributeName": "pk", "KeyType": "FOO"}], "AttributeDefinitions": [], "BillingMode": "X"})
    assert err.message == (
        "4 validation errors detected: "
        "Value 'a!' at 'tableName' failed to satisfy constraint: Member must have length greater than or equal to 3; "
        "Value 'a!' at 'tableName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+; "
        "Value 'FOO' at 'keySchema.1.member.keyType' failed to satisfy constraint: Member must satisfy enum value set: [HASH, RANGE]; "
        "Value 'X' at 'billingMode' failed to satisfy constraint: Member must satisfy enum value set: [PROVISIONED, PAY_PER_REQUEST]"
    )


def test_numeric_range() -> None:
    err = error_for("dynamodb", "Query", {"TableName": "orders", "Limit": 0})
    assert err.message == "1 validation error detected: Value '0' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1"


def test_list_size() -> None:
    err = error_for("dynamodb", "TransactWriteItems", {"TransactItems": []})
    assert "Member must have length greater than or equal to 1" in err.message
    assert "at 'transactItems'" in err.message


def test_table_arn_is_accepted_as_table_name() -> None:
    validate(services.operation_model("dynamodb", "GetItem"), {"TableName": "arn:aws:dynamodb:us-east-1:000000000000:table/orders", "Key": {"pk": {"S": "a"}}}, "json")


def test_wrong_json_type_is_a_serialization_error() -> None:
    err = error_for("dynamodb", "Query", {"TableName": "orders", "Limit": "ten"})
    assert err.code == "SerializationException"


def test_query_protocol_uses_validation_error() -> None:
    err = error_for("iam", "CreateUser", {"UserName": ""}, "query")
    assert err.code == "ValidationError"
    assert err.message == (
        "2 validation errors detected: Value '' at 'userName' failed to satisfy constraint: Member must have length greater than or equal to 1; "
        "Value '' at 'userName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+"
    )


def test_ec2_missing_parameter() -> None:
    err = error_for("ec2", "RunInstances", {"MinCount": 1}, "ec2")
    assert err.code == "MissingParameter"
    assert err.message == "The request must contain the parameter MaxCount"


def test_cloudwatch_missing_parameter() -> None:
    err = error_for("cloudwatch", "PutMetricData", {"MetricData": []}, "query")
    assert err.code == "MissingParameter"
    assert err.message == "The parameter Namespace is required."


def test_logs_length_and_pattern() -> None:
    err = error_for("logs", "CreateLogGroup", {"logGroupName": "bad name!"})
    assert err.code == "ValidationException"
    assert "at 'logGroupName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_/#A-Za-z0-9]+" in err.message


def test_bedrock_model_id_required() -> None:
    err = error_for("bedrock-runtime", "Converse", {"messages": []}, "rest-json")
    assert err.code == "ValidationException"
    assert "Value null at 'modelId' failed to satisfy constraint: Member must not be null" in err.message


def test_unparseable_java_patterns_are_skipped() -> None:
    # Every operation of every native service compiles (Java-only patterns are skipped, not fatal).
    from emulator.gateway.validation import checker_for

    for name in ("dynamodb", "ec2", "bedrock-runtime", "cloudwatch", "logs", "iam"):
        model = services.service_model(name)
        for op in model.operation_names:
            checker_for(model.operation_model(op))
