"""ClientRequestToken fingerprints (emulator/dynamodb/batch.py): what a token keeps for its
10 minutes is a digest of the request, not the request (boto3 gives every TransactWriteItems a
token, so steady traffic would otherwise hold every transaction's items in memory)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from emulator.dynamodb.batch import TOKEN_TTL, idempotent
from emulator.dynamodb.core import dumps
from emulator.dynamodb.engine import DynamoDBEngine
from emulator.dynamodb.storage import open_storage
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


# ------------------------------------------------ tokens kept in the storage
def _engine(path: Path) -> DynamoDBEngine:
    engine = DynamoDBEngine(open_storage("sqlite", path, "NORMAL"))
    engine.open()
    return engine


def _deposit(amount: str = "100") -> dict[str, Any]:
    update = {"TableName": "acct", "Key": {"pk": {"S": "a"}}, "UpdateExpression": "ADD balance :a", "ExpressionAttributeValues": {":a": {"N": amount}}}
    return {"TransactItems": [{"Update": update}], "ClientRequestToken": "deposit-42", "ReturnConsumedCapacity": "TOTAL"}


def _balance(engine: DynamoDBEngine) -> str:
    return str(engine.get_item({"TableName": "acct", "Key": {"pk": {"S": "a"}}})["Item"]["balance"]["N"])


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[DynamoDBEngine]:
    e = _engine(tmp_path)
    e.create_table({"TableName": "acct", "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
                    "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}], "BillingMode": "PAY_PER_REQUEST"})
    yield e
    e.close()


def test_a_token_outlives_the_process_and_expires_after_ten_minutes(engine: DynamoDBEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = engine.transact_write_items(_deposit())
    assert engine.transact_write_items(_deposit()) == first and _balance(engine) == "100"
    engine.close()
    # A new process on the same data: the token is read back from the storage.
    again = _engine(tmp_path)
    try:
        assert again.transact_write_items(_deposit()) == first and _balance(again) == "100"
        with pytest.raises(AwsError) as info:
            again.transact_write_items(_deposit("5"))
        assert info.value.code == "IdempotentParameterMismatchException"
        # Ten minutes after the first request the token is forgotten: the same request is new.
        start = time.time()
        monkeypatch.setattr(again, "_now", lambda: start + TOKEN_TTL + 1)
        assert again.purge_tokens() == 1 and again.storage.token_horizon() is None and again._tokens == {}
        again.transact_write_items(_deposit())
        assert _balance(again) == "200"
    finally:
        again.close()


def test_a_token_is_kept_in_the_transaction_it_answers_for(engine: DynamoDBEngine) -> None:
    """No token without its writes: a cancelled transaction keeps none, so its retry runs."""
    cond = _deposit()
    cond["TransactItems"][0]["Update"]["ConditionExpression"] = "attribute_exists(pk)"
    with pytest.raises(AwsError) as info:
        engine.transact_write_items(cond)
    assert info.value.code == "TransactionCanceledException"
    assert engine.storage.token_get("deposit-42", time.time()) is None
    engine.transact_write_items(_deposit())
    assert engine.storage.token_get("deposit-42", time.time()) is not None
    # Nothing kept for a transaction without a token.
    plain = {k: v for k, v in _deposit().items() if k != "ClientRequestToken"}
    engine.transact_write_items(plain)
    assert engine.storage.token_purge(time.time() + 10_000, 100) == 1


def test_a_token_another_process_kept_first_is_answered_from_the_storage(engine: DynamoDBEngine) -> None:
    """A token this process never saw but the storage keeps (another process sharing it,
    or a restart within the horizon): the writes roll back and the kept answer is given."""
    answer = {"ConsumedCapacity": [{"TableName": "acct", "CapacityUnits": 2.0}]}
    fingerprint, _ = idempotent(lambda _: None, "deposit-42", _deposit())
    now = time.time()
    assert engine.storage.token_put("deposit-42", fingerprint, dumps(answer), now + 600, now)
    assert engine._token_horizon < now  # opened before: memory alone would not know it
    assert engine.transact_write_items(_deposit()) == answer
    assert "Item" not in engine.get_item({"TableName": "acct", "Key": {"pk": {"S": "a"}}})


def test_the_housekeeping_pass_forgets_expired_tokens_in_batches(engine: DynamoDBEngine, monkeypatch: pytest.MonkeyPatch) -> None:
    from emulator.dynamodb.lifecycle.ttl import TtlSweeper

    now = time.time()
    for i in range(1201):  # more than two batches
        assert engine.storage.token_put(f"t{i}", b"fp", b"{}", now - 1, now - 601)
    engine.transact_write_items(_deposit())  # valid: stays
    sweeper = TtlSweeper(SimpleNamespace(engine=engine))  # type: ignore[arg-type]
    assert asyncio.run(sweeper.purge_tokens()) == 1201
    assert engine.storage.token_get("deposit-42", now) is not None and engine._tokens
    monkeypatch.setattr(engine, "_now", lambda: now + TOKEN_TTL + 1)
    assert asyncio.run(sweeper.purge_tokens()) == 1 and engine._tokens == {}


def test_a_token_let_go_from_memory_is_still_answered(engine: DynamoDBEngine, monkeypatch: pytest.MonkeyPatch) -> None:
    """Memory keeps only the latest tokens; one let go is read back from the storage before
    the request runs (a retry whose condition now fails still gets its first answer)."""
    from emulator.dynamodb import batch

    monkeypatch.setattr(batch, "TOKENS_IN_MEMORY", 2)
    put = {"Put": {"TableName": "acct", "Item": {"pk": {"S": "new"}}, "ConditionExpression": "attribute_not_exists(pk)"}}
    first = engine.transact_write_items({"TransactItems": [put], "ClientRequestToken": "create-1"})
    for i in range(3):
        engine.transact_write_items({**_deposit(), "ClientRequestToken": f"other-{i}"})
    assert "create-1" not in engine._tokens and len(engine._tokens) == 2
    assert engine.transact_write_items({"TransactItems": [put], "ClientRequestToken": "create-1"}) == first
