"""ClientRequestToken fingerprints (emulator/dynamodb/batch.py): what a token keeps for its
10 minutes is a digest of the request, not the request (boto3 gives every TransactWriteItems a
token, so steady traffic would otherwise hold every transaction's items in memory)."""

from __future__ import annotations

from typing import Any

import pytest

from emulator.dynamodb.batch import idempotent
from emulator.errors import AwsError


def _request(value: str, blob: bytes = b"\x00\x01") -> dict[str, Any]:
    item = {"pk": {"S": "k"}, "v": {"S": value}, "b": {"B": blob}}
    return {"TransactItems": [{"Put": {"TableName": "t", "Item": item}}] * 25, "ClientRequestToken": "tok", "ReturnConsumedCapacity": "TOTAL"}


def test_the_token_keeps_a_small_digest() -> None:
    big = _request("x" * 100_000)
    fingerprint, replay = idempotent(lambda _: None, "tok", big)
    assert replay is None
    assert len(fingerprint) == 16  # not the ~2.5 MB of items
    same, _ = idempotent(lambda _: None, "tok", {**big, "ReturnConsumedCapacity": "NONE"})
    assert same == fingerprint  # the token and ReturnConsumedCapacity do not count
    assert idempotent(lambda _: None, "tok", _request("x" * 100_000, b"\x00\x02"))[0] != fingerprint


def test_reuse_with_another_request_is_refused_and_with_the_same_replayed() -> None:
    fingerprint, _ = idempotent(lambda _: None, "tok", _request("a"))
    stored = {"tok": (0.0, fingerprint, {"ConsumedCapacity": []})}
    assert idempotent(stored.get, "tok", _request("a"))[1] == {"ConsumedCapacity": []}
    with pytest.raises(AwsError) as info:
        idempotent(stored.get, "tok", _request("b"))
    assert info.value.code == "IdempotentParameterMismatchException"
