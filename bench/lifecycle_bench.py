"""DynamoDB data-lifecycle benchmark: stream lag under a steady write load, and
the time to back up / restore a large table and to restore it to a point in time.

    python -m bench.lifecycle_bench [--items 100000] [--rate 200] [--seconds 10]

Stream lag = (time a consumer polling GetRecords sees the record) - (time the
PutItem was sent; and, separately, time its answer arrived), for every write of
a steady load of ``--rate`` writes/s from 4 client threads. The consumer polls
in a loop, sleeping 5 ms after an empty page.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from emulator.testing.server import EmulatorServer


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def create(ddb: Any, name: str, **kwargs: Any) -> None:
    ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        **kwargs,
    )


def stream_lag(server: EmulatorServer, rate: float, seconds: float) -> dict[str, Any]:
    ddb = server.client("dynamodb")
    streams = server.client("dynamodbstreams")
    create(ddb, "lag", StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"})
    arn = ddb.describe_table(TableName="lag")["Table"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="LATEST")["ShardIterator"]
    sent: dict[str, float] = {}
    seen: dict[str, float] = {}
    done = threading.Event()

    def consumer() -> None:
        nonlocal it
        polls = 0
        while not (done.is_set() and len(seen) >= len(sent)):
            page = streams.get_records(ShardIterator=it)
            now = time.time()
            polls += 1
            for rec in page["Records"]:
                seen[rec["dynamodb"]["Keys"]["pk"]["S"]] = now
            it = page["NextShardIterator"]
            if not page["Records"]:
                time.sleep(0.005)

    t = threading.Thread(target=consumer)
    t.start()
    acked: dict[str, float] = {}
    writers = 4
    interval = writers / rate
    start = time.time()

    def writer(w: int) -> None:
        client = server.client("dynamodb")
        i = 0
        while time.time() - start < seconds:
            delay = start + i * interval + w * interval / writers - time.time()
            if delay > 0:
                time.sleep(delay)
            key = f"w{w}-{i}"
            sent[key] = time.time()
            client.put_item(TableName="lag", Item={"pk": {"S": key}, "v": {"N": str(i)}})
            acked[key] = time.time()
            i += 1

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(writers)]
    for w in threads:
        w.start()
    for w in threads:
        w.join()
    achieved = len(sent) / (time.time() - start)
    done.set()
    t.join(60)
    lags = [(seen[k] - sent[k]) * 1000 for k in sent if k in seen]
    after_ack = [(seen[k] - acked[k]) * 1000 for k in acked if k in seen]
    return {
        "writes": len(sent),
        "rate": achieved,
        "recorded": len(lags),
        "p50": pct(lags, 50),
        "p99": pct(lags, 99),
        "mean": statistics.fmean(lags) if lags else float("nan"),
        "ack_p50": pct(after_ack, 50),
        "ack_p99": pct(after_ack, 99),
        "put_p50": pct([(acked[k] - sent[k]) * 1000 for k in acked], 50),
    }


def load(server: EmulatorServer, name: str, items: int) -> float:
    start = time.time()

    def batch(lo: int) -> None:
        client = server.client("dynamodb")
        for base in range(lo, min(lo + 2500, items), 25):
            reqs = [{"PutRequest": {"Item": {"pk": {"S": f"item{n:07d}"}, "v": {"N": str(n)}, "pad": {"S": "x" * 100}}}} for n in range(base, min(base + 25, items))]
            pending: dict[str, Any] = {name: reqs}
            while pending:
                pending = client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(batch, range(0, items, 2500)))
    return time.time() - start


def restore_times(server: EmulatorServer, items: int) -> dict[str, Any]:
    from botocore.config import Config

    ddb = server.client("dynamodb", config=Config(read_timeout=900, retries={"max_attempts": 1}))
    create(ddb, "big")
    ddb.update_continuous_backups(TableName="big", PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True})
    load_s = load(server, "big", items)
    t0 = time.time()
    backup_arn = ddb.create_backup(TableName="big", BackupName="bench")["BackupDetails"]["BackupArn"]
    backup_s = time.time() - t0
    t0 = time.time()
    ddb.restore_table_from_backup(TargetTableName="big-from-backup", BackupArn=backup_arn)
    restore_backup_s = time.time() - t0
    t0 = time.time()
    ddb.restore_table_to_point_in_time(SourceTableName="big", TargetTableName="big-pitr", UseLatestRestorableTime=True)
    restore_pitr_s = time.time() - t0
    counts = {n: ddb.describe_table(TableName=n)["Table"]["ItemCount"] for n in ("big", "big-from-backup", "big-pitr")}
    return {"items": items, "load_s": load_s, "backup_s": backup_s, "restore_backup_s": restore_backup_s, "restore_pitr_s": restore_pitr_s, "counts": counts}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    print(f"python {platform.python_version()}, {platform.machine()}")
    with EmulatorServer() as server:
        lag = stream_lag(server, args.rate, args.seconds)
        print(
            f"stream lag: {lag['writes']} writes at {lag['rate']:.0f}/s, {lag['recorded']} records seen; "
            f"send->seen p50 {lag['p50']:.1f} ms, p99 {lag['p99']:.1f} ms, mean {lag['mean']:.1f} ms; "
            f"ack->seen p50 {lag['ack_p50']:.1f} ms, p99 {lag['ack_p99']:.1f} ms; PutItem p50 {lag['put_p50']:.1f} ms"
        )
        r = restore_times(server, args.items)
        print(f"loaded {r['items']} items in {r['load_s']:.1f} s (BatchWriteItem, 4 clients)")
        print(f"CreateBackup: {r['backup_s']:.2f} s")
        print(f"RestoreTableFromBackup: {r['restore_backup_s']:.2f} s")
        print(f"RestoreTableToPointInTime (latest): {r['restore_pitr_s']:.2f} s")
        print(f"item counts: {r['counts']}")


if __name__ == "__main__":
    main()
