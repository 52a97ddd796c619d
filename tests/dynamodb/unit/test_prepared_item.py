"""PutItem's one walk of an item (``types.prepared_item``) agrees with the separate walks it
replaces: wire.py's JSON types (SerializationException), ``validate_item``
(ValidationException), then ``normalized_sized_item``. Whenever it answers, the separate
walks pass and give the same item and size; when it does not, they run and word the error.
The wire tests pin which error wins when a PutItem has several problems."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emulator.dynamodb import types
from emulator.dynamodb.core import dumps
from emulator.dynamodb.wire import check_attribute_value
from emulator.errors import AwsError

# --------------------------------------------------------------------------- the old path


def separate(item: Any) -> tuple[str, Any]:
    """What the separate walks give: ("ok", (item, size)) or ("error", (code, message))."""
    try:
        if isinstance(item, dict):  # the wire checker skips anything else
            for av in item.values():
                check_attribute_value(av)
        types.validate_item(item)
        return "ok", types.normalized_sized_item(item)
    except AwsError as exc:
        return "error", (exc.code, exc.message)


def check_agrees(item: Any) -> tuple[types.Item, int] | None:
    prepared = types.prepared_item(item)
    outcome, result = separate(item)
    if prepared is not None:
        assert outcome == "ok", (item, result)
        assert prepared == result
        # Same member order too: the stored JSON is the same bytes.
        assert dumps(prepared[0]) == dumps(result[0])
        assert prepared[1] == types.item_size(result[0])
    return prepared


# --------------------------------------------------------------------------- strategies

names = st.text(min_size=0, max_size=6)
plain_numbers = st.one_of(
    st.integers(min_value=-(10**40), max_value=10**40).map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.decimals(allow_nan=False, allow_infinity=False).map(str),
    st.sampled_from(["0", "-0", "1.50", "1e2", "1E-130", "1e-131", "9.9e125", "1e126", "007", ".5", "5.", "+3", "1" * 39, "0." + "1" * 38]),
)
odd_numbers = st.one_of(plain_numbers, st.sampled_from(["", "abc", " 1", "1 ", "NaN", "Infinity", "0x10", "1e", "--1"]))
# Everything JSON can carry, where an AttributeValue's payload is expected.
json_scalars = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=4))


def valid_values() -> st.SearchStrategy[dict[str, Any]]:
    scalars = st.one_of(
        st.text(max_size=8).map(lambda s: {"S": s}),
        plain_numbers.filter(valid_number).map(lambda n: {"N": n}),
        st.binary(max_size=6).map(lambda b: {"B": b}),
        st.booleans().map(lambda b: {"BOOL": b}),
        st.just({"NULL": True}),
        st.lists(st.text(max_size=4), min_size=1, max_size=4, unique=True).map(lambda v: {"SS": v}),
        st.lists(st.integers(-1000, 1000), min_size=1, max_size=4, unique=True).map(lambda v: {"NS": [str(x) for x in v]}),
        st.lists(st.binary(max_size=3), min_size=1, max_size=4, unique=True).map(lambda v: {"BS": v}),
    )
    return st.recursive(
        scalars,
        lambda inner: st.one_of(st.dictionaries(names, inner, max_size=4).map(lambda m: {"M": m}), st.lists(inner, max_size=4).map(lambda v: {"L": v})),
        max_leaves=12,
    )


def valid_number(text: str) -> bool:
    try:
        types.to_decimal(text)
    except AwsError:
        return False
    return True


def any_values(depth: int = 3) -> st.SearchStrategy[Any]:
    """Valid values, and values wrong in every way the checks know, mostly near the leaves."""
    kinds = st.sampled_from(["S", "N", "B", "BOOL", "NULL", "M", "L", "SS", "NS", "BS", "X", ""])
    leaves = [
        valid_values(),
        valid_values(),
        odd_numbers.map(lambda n: {"N": n}),
        st.tuples(kinds, json_scalars).map(lambda kv: {kv[0]: kv[1]}),
        st.tuples(kinds, json_scalars).map(lambda kv: {kv[0]: kv[1]}),
        st.tuples(kinds, st.lists(json_scalars, max_size=3)).map(lambda kv: {kv[0]: kv[1]}),
        st.tuples(st.sampled_from(["SS", "NS", "BS"]), st.lists(st.sampled_from(["1", "1.0", "a", "01", "AAE="]), max_size=3)).map(lambda kv: {kv[0]: kv[1]}),
        st.sampled_from([{}, {"S": "a", "N": "1"}, {"S": "a", "N": None}, {"S": None}, {"BS": ["AAE=", "not base64!"]}, {"NULL": False}]),
        json_scalars,
        st.lists(json_scalars, max_size=2),
    ]
    if depth == 0:
        return st.one_of(leaves)
    inner = any_values(depth - 1)
    containers = [
        st.dictionaries(names, inner, max_size=3).map(lambda m: {"M": m}),
        st.lists(inner, max_size=3).map(lambda v: {"L": v}),
        st.lists(inner, max_size=2).map(lambda v: {"M": v}),
        st.dictionaries(names, inner, max_size=2).map(lambda m: {"L": m}),
    ]
    return st.one_of(leaves + containers)


@settings(max_examples=600, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(names.filter(bool), valid_values(), max_size=6))
def test_valid_items_take_the_one_walk(item: dict[str, Any]) -> None:
    assert check_agrees(item) is not None


@settings(max_examples=1500, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(
        st.dictionaries(names, any_values(), min_size=1, max_size=5),
        # One suspect among valid values: only it decides.
        st.tuples(st.dictionaries(names, valid_values(), max_size=3), names, any_values()).map(lambda t: {**t[0], t[1]: t[2]}),
        json_scalars,
    )
)
def test_any_item_agrees_or_goes_the_long_way(item: Any) -> None:
    check_agrees(item)


def nested(depth: int) -> dict[str, Any]:
    av: dict[str, Any] = {"S": "leaf"}
    for i in range(depth):
        av = {"M": {"m": av}} if i % 2 else {"L": [av]}
    return av


@pytest.mark.parametrize(
    "item",
    [
        {"pk": {"S": "a"}, "n": {"N": "1.50"}, "f": {"N": "1e2"}, "z": {"N": "-0"}, "d": {"N": "0.1"}},
        {"pk": {"S": "ü€𝄞"}, "名前": {"M": {"ключ": {"S": "значение"}}}},
        {"pk": {"S": "a"}, "s": {"SS": ["b", "a"]}, "ns": {"NS": ["1", "2.50"]}, "bs": {"BS": [b"\x00", b"\x01"]}},
        {"pk": {"S": "a"}, "deep": nested(types.MAX_NESTING)},
        {"pk": {"S": "a"}, "empty": {"M": {"": {"L": []}}}, "b": {"B": b""}},
    ],
)
def test_unusual_valid_items(item: dict[str, Any]) -> None:
    assert check_agrees(item) is not None


@pytest.mark.parametrize(
    "item",
    [
        None,
        "not-a-map",
        [],
        {"": {"S": "a"}},
        {"pk": {"S": 5}},
        {"pk": {"S": "a"}, "b": {"BOOL": "yes"}},
        {"pk": {"S": "a"}, "m": {"M": {"x": {"L": {}}}}},
        {"pk": {"S": "a"}, "n": {"N": "not-a-number"}},
        {"pk": {"S": "a"}, "n": {"N": "1" * 39}},
        {"pk": {"S": "a"}, "n": {"N": "1e126"}},
        {"pk": {"S": "a"}, "n": {"N": 5}},
        {"pk": {"S": "a"}, "x": {}},
        {"pk": {"S": "a"}, "x": {"S": "a", "N": "1"}},
        {"pk": {"S": "a"}, "x": {"S": None}},
        {"pk": {"S": "a"}, "x": {"NULL": False}},
        {"pk": {"S": "a"}, "x": {"SS": []}},
        {"pk": {"S": "a"}, "x": {"NS": ["1", "1.0"]}},
        {"pk": {"S": "a"}, "x": {"SS": ["a", 1]}},
        {"pk": {"S": "a"}, "x": {"XX": "a"}},
        {"pk": {"S": "a"}, "deep": nested(types.MAX_NESTING + 1)},
        {"pk": {"S": "\ud800"}},
        # Several problems: the separate walks pick the one that wins.
        {"pk": {"N": "x"}, "b": {"BOOL": "yes"}},
        {"a": {"SS": []}, "b": {"S": 1}},
    ],
)
def test_bad_items_go_the_long_way(item: Any) -> None:
    assert types.prepared_item(item) is None
    if item is not None and not (isinstance(item, dict) and any(isinstance(av, dict) and av.get("S") == "\ud800" for av in item.values())):
        assert separate(item)[0] == "error"


# --------------------------------------------------------------------------- on the wire


@pytest.fixture
def put(emulator: Any) -> Any:
    import requests
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    def send(params: dict[str, Any]) -> tuple[int, str, str]:
        body = json.dumps(params).encode()
        headers = {"X-Amz-Target": "DynamoDB_20120810.PutItem", "Content-Type": "application/x-amz-json-1.0"}
        req = AWSRequest(method="POST", url=emulator.endpoint + "/", data=body, headers=headers)
        SigV4Auth(Credentials(emulator.access_key, emulator.secret_key), "dynamodb", "us-east-1").add_auth(req)
        resp = requests.post(req.url, data=body, headers=dict(req.headers), timeout=10)
        out = resp.json()
        return resp.status_code, out.get("__type", "").rpartition("#")[2], out.get("message", out.get("Message", ""))

    return send


def test_put_item_errors_and_which_wins(ddb: Any, table: str, put: Any) -> None:
    good = {"pk": {"S": "a"}, "sk": {"S": "1"}, "n": {"N": "1.50"}, "b": {"B": base64.b64encode(b"\x00").decode()}, "m": {"M": {"l": {"L": [{"NULL": True}]}}}}
    assert put({"TableName": table, "Item": good})[0] == 200
    stored = ddb.get_item(TableName=table, Key={"pk": {"S": "a"}, "sk": {"S": "1"}})["Item"]
    assert stored == {"pk": {"S": "a"}, "sk": {"S": "1"}, "n": {"N": "1.5"}, "b": {"B": b"\x00"}, "m": {"M": {"l": {"L": [{"NULL": True}]}}}}
    out = ddb.put_item(TableName=table, Item={"pk": {"S": "a"}, "sk": {"S": "1"}}, ReturnValues="ALL_OLD", ReturnConsumedCapacity="TOTAL")
    assert out["Attributes"] == stored
    assert out["ConsumedCapacity"]["CapacityUnits"] == 1.0

    # A wrong JSON type is found while deserializing: before the table is looked up.
    code, message = put({"TableName": "no-such-table", "Item": {"pk": {"S": 5}}})[1:]
    assert (code, message) == ("SerializationException", "NUMBER_VALUE cannot be converted to String")
    # ... even when it is in Expected and the item is fine.
    code, _ = put({"TableName": table, "Item": good, "Expected": {"x": {"Value": {"BOOL": "yes"}}}})[1:]
    assert code == "SerializationException"
    # DynamoDB's rules are checked after the table and ReturnValues.
    assert put({"TableName": "no-such-table", "Item": {"pk": {"S": "a"}, "n": {"N": "x"}}})[1] == "ResourceNotFoundException"
    code, message = put({"TableName": table, "Item": {"pk": {"S": "a"}, "n": {"N": "x"}}, "ReturnValues": "ALL_NEW"})[1:]
    assert (code, message) == ("ValidationException", "Return values set to invalid value")
    code, message = put({"TableName": table, "Item": {"pk": {"S": "a"}, "sk": {"S": "1"}, "n": {"N": "x"}}})[1:]
    assert (code, message) == ("ValidationException", "A value provided cannot be converted into a number")
    code, message = put({"TableName": table, "Item": {"pk": {"S": "a"}, "sk": {"S": "1"}, "s": {"SS": []}}})[1:]
    assert (code, message) == ("ValidationException", "One or more parameter values were invalid: An string set  may not be empty")
    # Item checks come before key checks.
    code, message = put({"TableName": table, "Item": {"pk": {"S": "a"}, "n": {"N": "1e126"}}})[1:]
    assert code == "ValidationException" and message.startswith("Number overflow")
    code, message = put({"TableName": table, "Item": {"pk": {"S": "a"}, "n": {"N": "1"}}})[1:]
    assert (code, message) == ("ValidationException", "One or more parameter values were invalid: Missing the key sk in the item")
    # A condition on the common item still applies.
    code, _ = put({"TableName": table, "Item": good, "ConditionExpression": "attribute_not_exists(pk)"})[1:]
    assert code == "ConditionalCheckFailedException"


# --------------------------------------------------------------------------- the gateway's checks of attribute maps

LONG = "k" * 65536
TOO_LONG = f"Value '{LONG}' at 'item.key' failed to satisfy constraint: Member must have length less than or equal to 65535"


@pytest.mark.parametrize(
    ("operation", "params", "expected"),
    [
        ("PutItem", {"TableName": "tbl", "Item": {"a": {"S": "b"}, "b": None}}, None),
        ("PutItem", {"TableName": "tbl", "Item": {LONG: {"S": "a"}, "b": {"S": "c"}}}, ("ValidationException", f"1 validation error detected: {TOO_LONG}")),
        ("PutItem", {"TableName": "tbl", "Item": {"a": "x"}}, ("SerializationException", "Unexpected value type for 'item.a.member': expected dict")),
        # A bad name is a problem; a value of the wrong type then ends the checks.
        ("PutItem", {"TableName": "tbl", "Item": {LONG: []}}, ("SerializationException", f"Unexpected value type for 'item.{LONG}.member': expected dict")),
        (
            "PutItem",
            {"TableName": "tbl", "Item": {LONG: {"S": "a"}}, "ReturnValues": "SOME"},
            (
                "ValidationException",
                (
                    f"2 validation errors detected: {TOO_LONG}; Value 'SOME' at 'returnValues' failed to satisfy constraint: "
                    "Member must satisfy enum value set: [NONE, ALL_OLD, UPDATED_OLD, ALL_NEW, UPDATED_NEW]"
                ),
            ),
        ),
        (
            "PutItem",
            {"TableName": "tbl", "Item": {"a": {"S": "b"}}, "ExpressionAttributeValues": {":v": [1]}},
            ("SerializationException", "Unexpected value type for 'expressionAttributeValues.:v.member': expected dict"),
        ),
        ("GetItem", {"TableName": "tbl", "Key": {"a": {"S": "b"}, LONG: {"S": "c"}}}, ("ValidationException", f"1 validation error detected: {TOO_LONG.replace('item.', 'key.')}")),
    ],
)
def test_gateway_attribute_maps(operation: str, params: dict[str, Any], expected: tuple[str, str] | None) -> None:
    import botocore.session

    from emulator.gateway.validation import validate

    model = botocore.session.get_session().get_service_model("dynamodb").operation_model(operation)
    if expected is None:
        validate(model, params, "json")
        return
    with pytest.raises(AwsError) as info:
        validate(model, params, "json")
    assert (info.value.code, info.value.message) == expected


# --------------------------------------------------------------------------- batches and transactions


@pytest.fixture
def send(emulator: Any) -> Any:
    """send(operation, params) -> (status, error code, message): raw JSON, as a client would send it."""
    import requests
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    def call(operation: str, params: dict[str, Any]) -> tuple[int, str, str]:
        body = json.dumps(params).encode()
        headers = {"X-Amz-Target": f"DynamoDB_20120810.{operation}", "Content-Type": "application/x-amz-json-1.0"}
        req = AWSRequest(method="POST", url=emulator.endpoint + "/", data=body, headers=headers)
        SigV4Auth(Credentials(emulator.access_key, emulator.secret_key), "dynamodb", "us-east-1").add_auth(req)
        resp = requests.post(req.url, data=body, headers=dict(req.headers), timeout=10)
        out = resp.json()
        return resp.status_code, out.get("__type", "").rpartition("#")[2], out.get("message", out.get("Message", ""))

    return call


BAD_NUMBER = ("ValidationException", "A value provided cannot be converted into a number")
NOT_SCHEMA = ("ValidationException", "The provided key element does not match the schema")
MISSING_SK = ("ValidationException", "One or more parameter values were invalid: Missing the key sk in the item")
WIRE = ("SerializationException", "NUMBER_VALUE cannot be converted to String")
EMPTY_SET = ("ValidationException", "One or more parameter values were invalid: An string set  may not be empty")


def test_batch_and_transact_put_errors_and_which_wins(ddb: Any, table: str, send: Any) -> None:
    """BatchWriteItem's and TransactWriteItems' Puts take the one walk too: the same items
    stored, the same errors, the first bad Put's (in request order) winning, and a wrong JSON
    type anywhere in the request before them all."""
    good = {"pk": {"S": "a"}, "sk": {"S": "1"}, "n": {"N": "1.50"}, "b": {"B": base64.b64encode(b"\x00").decode()}, "m": {"M": {"l": {"L": [{"NULL": True}]}}}}
    stored = {"pk": {"S": "a"}, "sk": {"S": "1"}, "n": {"N": "1.5"}, "b": {"B": b"\x00"}, "m": {"M": {"l": {"L": [{"NULL": True}]}}}}
    bad_number = {"pk": {"S": "b"}, "sk": {"S": "1"}, "n": {"N": "x"}}
    no_sk = {"pk": {"S": "c"}, "n": {"N": "1"}}
    empty_set = {"pk": {"S": "d"}, "sk": {"S": "1"}, "s": {"SS": []}}
    wire = {"pk": {"S": "e"}, "sk": {"S": 5}}

    def batch(*items: dict[str, Any]) -> tuple[str, str] | None:
        status, code, message = send("BatchWriteItem", {"RequestItems": {table: [{"PutRequest": {"Item": it}} for it in items]}})
        return None if status == 200 else (code, message)

    def transact(*items: dict[str, Any]) -> tuple[str, str] | None:
        status, code, message = send("TransactWriteItems", {"TransactItems": [{"Put": {"TableName": table, "Item": it}} for it in items]})
        return None if status == 200 else (code, message)

    key = {"pk": {"S": "a"}, "sk": {"S": "1"}}
    for write in (batch, transact):
        ddb.delete_item(TableName=table, Key=key)
        assert write(good) is None
        assert ddb.get_item(TableName=table, Key=key)["Item"] == stored
        assert write(good, bad_number) == BAD_NUMBER
        assert write(bad_number, empty_set) == BAD_NUMBER
        assert write(empty_set, bad_number) == EMPTY_SET
        assert write(bad_number, wire) == WIRE
        assert write(good, {**good, "pk": {"S": "z"}, "x": {"S": 1}}) == WIRE
    # A Put's key problems read differently in a batch.
    assert batch(good, no_sk) == NOT_SCHEMA
    assert batch(no_sk, bad_number) == NOT_SCHEMA
    assert batch(bad_number, no_sk) == BAD_NUMBER
    assert transact(good, no_sk) == MISSING_SK
    assert transact(bad_number, no_sk) == BAD_NUMBER
