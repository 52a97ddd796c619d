"""The floor: the least any server on this stack does for a signed DynamoDB call.

    python -m bench.floor_app --port N --data-dir DIR   (root key from EMULATOR_ROOT_*)

What the speed targets are measured against, beside the peers: how fast a server could be
that keeps only what no server built as the foundation issue asks (Python, one ASGI app
under uvicorn with uvloop and httptools) can leave out, each step done at its leanest:

* uvicorn's httptools protocol with the emulator's one-write response writer
  (emulator/uvicorn_send.py), as ``emulator serve`` runs;
* the SigV4 signature verified by emulator/gateway/sigv4.py (the server's own code);
* the JSON body parsed and the answer written with orjson, ``x-amz-crc32`` and a request id;
* GetItem: one SQLite ``SELECT`` by primary key returning the stored JSON as it is;
  PutItem and BatchWriteItem: one ``INSERT OR REPLACE`` each and a commit, in WAL mode with
  ``synchronous=NORMAL`` (no fsync per commit: weaker than the emulator's default ``FULL``);
* one access-log line per request, written to a file in batches of 256.

Everything else is left out: service detection from botocore's models, authorization,
validation, audit, telemetry, rate limits and capacity, expressions, conditions, indexes,
streams, error answers, durability. DescribeTable and Query answer just enough for
bench/dynamodb_bench.py's set-up checks. Not a server to use: a lower bound to measure.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import time
import zlib
from pathlib import Path
from typing import Any

import orjson

LIMITS = {"AccountMaxReadCapacityUnits": 80000, "AccountMaxWriteCapacityUnits": 80000, "TableMaxReadCapacityUnits": 40000, "TableMaxWriteCapacityUnits": 40000}
HEALTH = b'{"status":"ok","services":{"dynamodb":"native"}}'


def make_app(data_dir: Path) -> Any:
    from emulator.gateway import sigv4
    from emulator.gateway.access_log import new_request_id
    from emulator.gateway.keys import AccessKey
    from emulator.protocols.base import Request
    from emulator.uvicorn_send import send_whole

    key = AccessKey(os.environ["EMULATOR_ROOT_ACCESS_KEY_ID"], os.environ["EMULATOR_ROOT_SECRET_ACCESS_KEY"])
    keys = {key.access_key_id: key}
    data_dir.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(data_dir / "floor.db")
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("CREATE TABLE IF NOT EXISTS kv (pk TEXT, sk TEXT, doc BLOB, PRIMARY KEY (pk, sk)) WITHOUT ROWID")
    log: list[tuple[str, float, str, int, float]] = []
    log_file = open(data_dir / "access.log", "ab")  # noqa: SIM115 -- open for the server's life

    def put(item: dict[str, Any]) -> None:
        db.execute("INSERT OR REPLACE INTO kv VALUES (?, ?, ?)", (item["pk"]["S"], item["sk"]["S"], orjson.dumps(item)))

    def answer(op: str, params: dict[str, Any]) -> bytes:
        if op == "GetItem":
            k = params["Key"]
            row = db.execute("SELECT doc FROM kv WHERE pk = ? AND sk = ?", (k["pk"]["S"], k["sk"]["S"])).fetchone()
            return b'{"Item":' + row[0] + b"}" if row else b"{}"
        if op == "PutItem":
            put(params["Item"])
            db.commit()
            return b"{}"
        if op == "BatchWriteItem":
            for requests in params["RequestItems"].values():
                for r in requests:
                    put(r["PutRequest"]["Item"])
            db.commit()
            return b"{}"
        if op == "DescribeTable":
            return orjson.dumps({"Table": {"TableName": params["TableName"], "TableStatus": "ACTIVE", "KeySchema": [], "AttributeDefinitions": []}})
        if op == "Query":  # only what dynamodb_bench's set-up checks; the floor has no queries
            return orjson.dumps({"Count": 20, "ScannedCount": 20, "Items": [{}] * 20, "LastEvaluatedKey": {"pk": {"S": "-"}}})
        if op == "DescribeLimits":
            return orjson.dumps(LIMITS)
        return b"{}"

    async def reply(send: Any, headers: dict[str, str], body: bytes) -> None:
        if not send_whole(send, 200, headers, body):  # what the emulator does when the writer declines
            await send({"type": "http.response.start", "status": 200, "headers": [(k.encode(), v.encode()) for k, v in headers.items()] + [(b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        started = time.perf_counter()
        request_id = new_request_id()
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        message = await receive()
        if scope["path"] == "/_emulator/health":
            await reply(send, {"content-type": "application/json"}, HEALTH)
            return
        request = Request(
            method=scope["method"], path=scope["path"], raw_path=scope["path"], query_string="", headers=headers,
            body=message.get("body", b""), client_ip=scope["client"][0], scheme="http", request_id=request_id,
        )
        op = headers.get("x-amz-target", "").rpartition(".")[2]
        params = orjson.loads(request.body)
        sigv4.verify(request, keys, "json")
        out = answer(op, params)
        await reply(send, {"content-type": "application/x-amz-json-1.0", "x-amz-crc32": str(zlib.crc32(out)), "x-amzn-requestid": request_id}, out)
        log.append((request_id, started, op, 200, time.perf_counter() - started))
        if len(log) >= 256:
            log_file.write(b"".join(orjson.dumps({"id": r[0], "t": r[1], "op": r[2], "status": r[3], "s": r[4]}) + b"\n" for r in log))
            log_file.flush()
            log.clear()

    return app


def main() -> None:
    import uvicorn

    from emulator.uvicorn_send import HTTP_PROTOCOL

    p = argparse.ArgumentParser(description="the floor: the least a server on this stack does for a signed DynamoDB call")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--data-dir", type=Path, required=True)
    args = p.parse_args()
    uvicorn.run(make_app(args.data_dir), host="127.0.0.1", port=args.port, loop="uvloop", http=HTTP_PROTOCOL, log_level="warning", access_log=False, lifespan="off", timeout_keep_alive=75)


if __name__ == "__main__":
    main()
