"""Durability: acknowledged writes survive kill -9; transactions are never half
applied; concurrent conditional increments lose no update."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from emulator.testing import EmulatorServer
from emulator.testing.plugin import storage_args

NO_RETRY = Config(retries={"max_attempts": 1, "mode": "standard"}, connect_timeout=2, read_timeout=5)


def _create(ddb: Any, name: str) -> None:
    ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )


def test_acknowledged_writes_survive_kill_9(tmp_path: Path) -> None:
    server = EmulatorServer(data_dir=tmp_path).start()
    acked: list[str] = []
    acked_tx: list[int] = []
    stop = threading.Event()
    try:
        ddb = server.client("dynamodb", config=NO_RETRY)
        _create(ddb, "durable")
        arn = ddb.create_table(
            TableName="schema",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in ("pk", "sk", "g")],
            BillingMode="PAY_PER_REQUEST",
            GlobalSecondaryIndexes=[{"IndexName": "gsi", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}], "Projection": {"ProjectionType": "ALL"}}],
            Tags=[{"Key": "k", "Value": "v"}],
        )["TableDescription"]["TableArn"]
        ddb.update_time_to_live(TableName="schema", TimeToLiveSpecification={"Enabled": True, "AttributeName": "exp"})
        ddb.put_item(TableName="schema", Item={"pk": {"S": "a"}, "sk": {"S": "1"}, "g": {"S": "x"}})

        def writer() -> None:
            client = server.client("dynamodb", config=NO_RETRY)
            i = 0
            while not stop.is_set() and i < 5000:
                try:
                    if i % 3 == 0:
                        client.transact_write_items(
                            TransactItems=[
                                {"Put": {"TableName": "durable", "Item": {"pk": {"S": f"tx{i}-a"}}}},
                                {"Put": {"TableName": "durable", "Item": {"pk": {"S": f"tx{i}-b"}}}},
                            ]
                        )
                        acked_tx.append(i)
                    else:
                        client.put_item(TableName="durable", Item={"pk": {"S": f"item{i}"}, "n": {"N": str(i)}})
                        acked.append(f"item{i}")
                except (BotoCoreError, ClientError):
                    return  # the server died under us
                i += 1

        thread = threading.Thread(target=writer)
        thread.start()
        deadline = time.time() + 20
        while len(acked) < 150 and time.time() < deadline and thread.is_alive():
            time.sleep(0.02)
        server.kill()
        stop.set()
        thread.join(10)
        assert len(acked) >= 150
    finally:
        server.stop()
    server = EmulatorServer(data_dir=tmp_path).start()
    try:
        ddb = server.client("dynamodb")
        present: set[str] = set()
        start: dict[str, Any] = {}
        while True:
            page = ddb.scan(TableName="durable", **start)
            present.update(i["pk"]["S"] for i in page["Items"])
            if "LastEvaluatedKey" not in page:
                break
            start = {"ExclusiveStartKey": page["LastEvaluatedKey"]}
        missing = [k for k in acked if k not in present]
        assert missing == []
        # Table metadata (indexes, tags, TTL) and index rows survive too.
        assert ddb.list_tags_of_resource(ResourceArn=arn)["Tags"] == [{"Key": "k", "Value": "v"}]
        assert ddb.describe_time_to_live(TableName="schema")["TimeToLiveDescription"]["TimeToLiveStatus"] == "ENABLED"
        out = ddb.query(TableName="schema", IndexName="gsi", KeyConditionExpression="g = :g", ExpressionAttributeValues={":g": {"S": "x"}})
        assert out["Count"] == 1
        for i in acked_tx:
            assert f"tx{i}-a" in present and f"tx{i}-b" in present
        # No transaction is half applied, acknowledged or not.
        tx_ids = {k.split("-")[0] for k in present if k.startswith("tx")}
        for tx in tx_ids:
            assert f"{tx}-a" in present and f"{tx}-b" in present
    finally:
        server.cleanup()


def test_parallel_conditional_increments_lose_nothing(ddb: Any, make_table: Any, emulator: Any) -> None:
    name = make_table()
    ddb.put_item(TableName=name, Item={"pk": {"S": "counter"}, "n": {"N": "0"}})
    threads, per_thread = 4, 15
    errors: list[Exception] = []

    def worker() -> None:
        client = emulator.client("dynamodb")
        try:
            done = 0
            while done < per_thread:
                current = client.get_item(TableName=name, Key={"pk": {"S": "counter"}}, ConsistentRead=True)["Item"]["n"]["N"]
                try:
                    client.update_item(
                        TableName=name,
                        Key={"pk": {"S": "counter"}},
                        UpdateExpression="SET n = n + :one",
                        ConditionExpression="n = :seen",
                        ExpressionAttributeValues={":one": {"N": "1"}, ":seen": {"N": current}},
                    )
                    done += 1
                except ClientError as exc:
                    if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                        raise
        except Exception as exc:  # noqa: BLE001 - surfaced by the assertion below
            errors.append(exc)

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(60)
    assert errors == []
    final = ddb.get_item(TableName=name, Key={"pk": {"S": "counter"}}, ConsistentRead=True)["Item"]["n"]["N"]
    assert final == str(threads * per_thread)


def test_a_client_request_token_outlives_a_restart(tmp_path: Path) -> None:
    """A transaction whose answer was lost (the server died) is retried with the same
    ClientRequestToken: it must not apply twice, across kill -9 and a clean stop alike."""
    deposit = [{"Update": {"TableName": "tokens", "Key": {"pk": {"S": "acct"}}, "UpdateExpression": "ADD balance :a", "ExpressionAttributeValues": {":a": {"N": "100"}}}}]
    other = [{"Update": {"TableName": "tokens", "Key": {"pk": {"S": "acct"}}, "UpdateExpression": "ADD balance :a", "ExpressionAttributeValues": {":a": {"N": "5"}}}}]
    bump = [{"Statement": "UPDATE \"tokens\" SET n = n + 1 WHERE pk = 'acct'"}]
    reset = [{"Statement": "UPDATE \"tokens\" SET n = 0 WHERE pk = 'acct'"}]

    def state(ddb: Any) -> tuple[str, str]:
        item = ddb.get_item(TableName="tokens", Key={"pk": {"S": "acct"}}, ConsistentRead=True)["Item"]
        return item["balance"]["N"], item["n"]["N"]

    def code(call: Any, **kwargs: Any) -> str:
        try:
            call(**kwargs)
        except ClientError as err:
            return str(err.response["Error"]["Code"])
        return "OK"

    with storage_args() as args:
        server = EmulatorServer(data_dir=tmp_path, extra_args=args).start()
        try:
            ddb = server.client("dynamodb")
            _create(ddb, "tokens")
            ddb.put_item(TableName="tokens", Item={"pk": {"S": "acct"}, "n": {"N": "0"}})
            first = ddb.transact_write_items(TransactItems=deposit, ClientRequestToken="deposit-42", ReturnConsumedCapacity="TOTAL")
            pq_first = ddb.execute_transaction(TransactStatements=bump, ClientRequestToken="bump-7", ReturnConsumedCapacity="TOTAL")
            assert state(ddb) == ("100", "1")
            for how in ("kill", "stop"):  # kill -9, then SIGTERM
                getattr(server, how)()
                server = EmulatorServer(data_dir=tmp_path, extra_args=args).start()
                ddb = server.client("dynamodb")
                again = ddb.transact_write_items(TransactItems=deposit, ClientRequestToken="deposit-42", ReturnConsumedCapacity="TOTAL")
                assert again["ConsumedCapacity"] == first["ConsumedCapacity"]
                pq_again = ddb.execute_transaction(TransactStatements=bump, ClientRequestToken="bump-7", ReturnConsumedCapacity="TOTAL")
                assert pq_again["ConsumedCapacity"] == pq_first["ConsumedCapacity"]
                assert state(ddb) == ("100", "1")
                # Another request under a used token is refused, as before the restart.
                assert code(ddb.transact_write_items, TransactItems=other, ClientRequestToken="deposit-42") == "IdempotentParameterMismatchException"
                assert code(ddb.execute_transaction, TransactStatements=reset, ClientRequestToken="bump-7") == "IdempotentParameterMismatchException"
                assert state(ddb) == ("100", "1")
        finally:
            server.cleanup()
