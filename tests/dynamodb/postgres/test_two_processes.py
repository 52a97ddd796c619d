"""Two emulator processes on one PostgreSQL database: conditional writes, read-modify-
write updates and transactions stay atomic across them, and tables made through one
are usable through the other."""

from __future__ import annotations

import json
import time
import urllib.request
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from botocore.exceptions import ClientError

from emulator.testing.server import EmulatorServer

Servers = tuple[EmulatorServer, EmulatorServer]


def _health(server: EmulatorServer) -> dict[str, Any]:
    with urllib.request.urlopen(server.endpoint + "/_emulator/health", timeout=5) as resp:
        return dict(json.loads(resp.read()))


def _code(err: ClientError) -> str:
    return str(err.response["Error"]["Code"])


def _make_table(client: Any, name: str | None = None, range_key: bool = False) -> str:
    name = name or f"pg-{uuid.uuid4().hex[:10]}"
    schema = [{"AttributeName": "pk", "KeyType": "HASH"}]
    attrs = [{"AttributeName": "pk", "AttributeType": "S"}]
    if range_key:
        schema.append({"AttributeName": "sk", "KeyType": "RANGE"})
        attrs.append({"AttributeName": "sk", "AttributeType": "S"})
    client.create_table(TableName=name, KeySchema=schema, AttributeDefinitions=attrs, BillingMode="PAY_PER_REQUEST")
    return name


def _clients(servers: Servers, n: int) -> list[Any]:
    """n clients, alternating between the two processes (made up front: creating
    boto3 clients is not thread-safe)."""
    return [servers[i % 2].client("dynamodb") for i in range(n)]


def _parallel(fn: Callable[[int], Any], n: int) -> list[Any]:
    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(fn, range(n)))


def test_both_processes_run_on_postgresql(pg_servers: Servers, emulator: EmulatorServer) -> None:
    for server in (*pg_servers, emulator):
        assert _health(server)["services"]["dynamodb"]["storage"] == "postgresql"


def test_table_created_through_one_is_usable_through_the_other(pg_servers: Servers) -> None:
    a, b = (s.client("dynamodb") for s in pg_servers)
    name = _make_table(a, range_key=True)
    # B never saw the CreateTable: its cache misses and re-reads the catalog.
    assert b.describe_table(TableName=name)["Table"]["TableStatus"] == "ACTIVE"
    b.put_item(TableName=name, Item={"pk": {"S": "x"}, "sk": {"S": "1"}, "v": {"N": "1"}})
    assert a.get_item(TableName=name, Key={"pk": {"S": "x"}, "sk": {"S": "1"}}, ConsistentRead=True)["Item"]["v"] == {"N": "1"}
    assert name in b.list_tables(Limit=100)["TableNames"] or name in _all_tables(b)
    q = b.query(TableName=name, KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "x"}})
    assert q["Count"] == 1
    # Creating the same name through the other process is refused.
    with pytest.raises(ClientError) as exc:
        _make_table(b, name, range_key=True)
    assert _code(exc.value) == "ResourceInUseException"

    # Deleted through A: B refuses writes at once (the table is gone under its lock) and
    # forgets the table as soon as it hears of the change.
    a.delete_table(TableName=name)
    with pytest.raises(ClientError) as exc:
        b.put_item(TableName=name, Item={"pk": {"S": "y"}, "sk": {"S": "1"}})
    assert _code(exc.value) == "ResourceNotFoundException"
    deadline = time.monotonic() + 10
    while True:
        try:
            b.describe_table(TableName=name)
        except ClientError as err:
            assert _code(err) == "ResourceNotFoundException"
            break
        assert time.monotonic() < deadline, "process B still describes a table deleted through A"
        time.sleep(0.02)
    assert name not in _all_tables(b)


def _all_tables(client: Any) -> list[str]:
    names: list[str] = []
    for page in client.get_paginator("list_tables").paginate():
        names += page["TableNames"]
    return names


def test_update_table_through_one_is_seen_by_the_other(pg_servers: Servers) -> None:
    a, b = (s.client("dynamodb") for s in pg_servers)
    name = _make_table(a)
    b.describe_table(TableName=name)  # B caches the table
    arn = a.describe_table(TableName=name)["Table"]["TableArn"]
    a.tag_resource(ResourceArn=arn, Tags=[{"Key": "team", "Value": "db"}])
    deadline = time.monotonic() + 10
    while b.list_tags_of_resource(ResourceArn=arn)["Tags"] != [{"Key": "team", "Value": "db"}]:
        assert time.monotonic() < deadline, "process B never saw the tag set through A"
        time.sleep(0.02)
    a.delete_table(TableName=name)


def test_parallel_increments_lose_no_update_and_never_double_apply(pg_servers: Servers) -> None:
    """UpdateItem is read-modify-write inside the engine: without cross-process locking
    two processes would both read n and both write n + 1."""
    setup = pg_servers[0].client("dynamodb")
    name = _make_table(setup)
    threads, each = 8, 25
    clients = _clients(pg_servers, threads)

    def work(i: int) -> list[int]:
        seen = []
        for _ in range(each):
            out = clients[i].update_item(
                TableName=name, Key={"pk": {"S": "counter"}}, UpdateExpression="ADD n :one", ExpressionAttributeValues={":one": {"N": "1"}}, ReturnValues="UPDATED_NEW"
            )
            seen.append(int(out["Attributes"]["n"]["N"]))
        return seen

    results = [v for vs in _parallel(work, threads) for v in vs]
    total = threads * each
    assert sorted(results) == list(range(1, total + 1))  # every value handed out exactly once
    final = setup.get_item(TableName=name, Key={"pk": {"S": "counter"}}, ConsistentRead=True)["Item"]["n"]["N"]
    assert int(final) == total
    setup.delete_table(TableName=name)


def test_optimistic_locking_across_processes(pg_servers: Servers) -> None:
    """The version-attribute pattern (read, then write with a condition on the version read)."""
    setup = pg_servers[0].client("dynamodb")
    name = _make_table(setup)
    setup.put_item(TableName=name, Item={"pk": {"S": "doc"}, "version": {"N": "0"}, "log": {"L": []}})
    threads, each = 4, 8
    clients = _clients(pg_servers, threads)
    key = {"pk": {"S": "doc"}}

    def work(i: int) -> int:
        c = clients[i]
        done = failures = 0
        while done < each:
            version = int(c.get_item(TableName=name, Key=key, ConsistentRead=True)["Item"]["version"]["N"])
            try:
                c.update_item(
                    TableName=name,
                    Key=key,
                    UpdateExpression="SET version = :new, #l = list_append(#l, :me)",
                    ConditionExpression="version = :old",
                    ExpressionAttributeNames={"#l": "log"},
                    ExpressionAttributeValues={":new": {"N": str(version + 1)}, ":old": {"N": str(version)}, ":me": {"L": [{"N": str(version + 1)}]}},
                )
                done += 1
            except ClientError as err:
                assert _code(err) == "ConditionalCheckFailedException"
                failures += 1
        return failures

    _parallel(work, threads)
    item = setup.get_item(TableName=name, Key=key, ConsistentRead=True)["Item"]
    total = threads * each
    assert int(item["version"]["N"]) == total
    # Each successful write appended the version it installed: no two passed the same condition.
    assert [int(v["N"]) for v in item["log"]["L"]] == list(range(1, total + 1))
    setup.delete_table(TableName=name)


def test_put_if_absent_has_exactly_one_winner_per_key(pg_servers: Servers) -> None:
    setup = pg_servers[0].client("dynamodb")
    name = _make_table(setup)
    threads, keys = 8, 15
    clients = _clients(pg_servers, threads)

    def work(i: int) -> list[str]:
        won = []
        for k in range(keys):
            try:
                clients[i].put_item(TableName=name, Item={"pk": {"S": f"k{k}"}, "owner": {"N": str(i)}}, ConditionExpression="attribute_not_exists(pk)")
                won.append(f"k{k}")
            except ClientError as err:
                assert _code(err) == "ConditionalCheckFailedException"
        return won

    winners = [k for ks in _parallel(work, threads) for k in ks]
    assert sorted(winners) == sorted(f"k{k}" for k in range(keys))
    setup.delete_table(TableName=name)


def test_transactions_are_atomic_across_processes(pg_servers: Servers) -> None:
    """Concurrent TransactWriteItems transfers through both processes: money is
    conserved and no balance goes negative (the condition and both writes are one unit)."""
    setup = pg_servers[0].client("dynamodb")
    name = _make_table(setup)
    accounts = 4
    for i in range(accounts):
        setup.put_item(TableName=name, Item={"pk": {"S": f"acct{i}"}, "balance": {"N": "10"}})
    threads, each = 6, 12
    clients = _clients(pg_servers, threads)

    def transfer(c: Any, src: int, dst: int) -> bool:
        items = [
            {
                "Update": {
                    "TableName": name,
                    "Key": {"pk": {"S": f"acct{src}"}},
                    "UpdateExpression": "SET balance = balance - :amt",
                    "ConditionExpression": "balance >= :amt",
                    "ExpressionAttributeValues": {":amt": {"N": "3"}},
                }
            },
            {"Update": {"TableName": name, "Key": {"pk": {"S": f"acct{dst}"}}, "UpdateExpression": "SET balance = balance + :amt", "ExpressionAttributeValues": {":amt": {"N": "3"}}}},
        ]
        # Items in key order, as a careful client does: no lock-order deadlocks.
        if dst < src:
            items.reverse()
        try:
            c.transact_write_items(TransactItems=items)
            return True
        except ClientError as err:
            assert _code(err) in ("TransactionCanceledException", "TransactionConflictException")
            return False

    def work(i: int) -> int:
        ok = 0
        for j in range(each):
            src = (i + j) % accounts
            dst = (src + 1 + j % (accounts - 1)) % accounts
            ok += transfer(clients[i], src, dst)
        return ok

    committed = sum(_parallel(work, threads))
    balances = [int(setup.get_item(TableName=name, Key={"pk": {"S": f"acct{i}"}}, ConsistentRead=True)["Item"]["balance"]["N"]) for i in range(accounts)]
    assert sum(balances) == 10 * accounts
    assert min(balances) >= 0
    assert committed > 0
    setup.delete_table(TableName=name)


def test_transaction_rolls_back_everything_on_a_failed_condition(pg_servers: Servers) -> None:
    a, b = (s.client("dynamodb") for s in pg_servers)
    name = _make_table(a)
    b.put_item(TableName=name, Item={"pk": {"S": "guard"}, "state": {"S": "closed"}})
    with pytest.raises(ClientError) as exc:
        a.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": name, "Item": {"pk": {"S": "new"}}}},
                {"ConditionCheck": {"TableName": name, "Key": {"pk": {"S": "guard"}}, "ConditionExpression": "#s = :open", "ExpressionAttributeNames": {"#s": "state"}, "ExpressionAttributeValues": {":open": {"S": "open"}}}},
            ]
        )
    assert _code(exc.value) == "TransactionCanceledException"
    assert "Item" not in b.get_item(TableName=name, Key={"pk": {"S": "new"}}, ConsistentRead=True)
    a.delete_table(TableName=name)


def test_a_client_request_token_holds_across_processes(pg_servers: Servers) -> None:
    """A TransactWriteItems retried on the other process with the same ClientRequestToken
    (a load balancer in front of both) applies once; racing retries too."""
    a, b = (s.client("dynamodb") for s in pg_servers)
    name = _make_table(a)
    deposit = [{"Update": {"TableName": name, "Key": {"pk": {"S": "acct"}}, "UpdateExpression": "ADD balance :a", "ExpressionAttributeValues": {":a": {"N": "100"}}}}]
    first = a.transact_write_items(TransactItems=deposit, ClientRequestToken="deposit-1", ReturnConsumedCapacity="TOTAL")
    again = b.transact_write_items(TransactItems=deposit, ClientRequestToken="deposit-1", ReturnConsumedCapacity="TOTAL")
    assert again["ConsumedCapacity"] == first["ConsumedCapacity"]
    other = [{"Update": {**deposit[0]["Update"], "ExpressionAttributeValues": {":a": {"N": "1"}}}}]
    with pytest.raises(ClientError) as err:
        b.transact_write_items(TransactItems=other, ClientRequestToken="deposit-1")
    assert _code(err.value) == "IdempotentParameterMismatchException"
    # Eight clients on both processes send the same new token at once: one deposit.
    clients = _clients(pg_servers, 8)

    def send(i: int) -> str:
        try:
            clients[i].transact_write_items(TransactItems=deposit, ClientRequestToken="deposit-2")
        except ClientError as exc:
            return _code(exc)  # a conflict on the item is a refusal, never a second deposit
        return "OK"

    codes = _parallel(send, 8)
    assert "OK" in codes and set(codes) <= {"OK", "TransactionConflictException", "TransactionInProgressException"}, codes
    balance = a.get_item(TableName=name, Key={"pk": {"S": "acct"}}, ConsistentRead=True)["Item"]["balance"]["N"]
    assert balance == "200"
    a.delete_table(TableName=name)
