"""The DynamoDB engine: document logic over a Storage.

Other services reach it as ``runtime.components["dynamodb"]`` and call the
same methods the handler does (``put_item({...})`` with boto3-shaped params).
Stream/TTL features register ``write_hooks``: they are called inside the write
transaction with ``(table, old_item, new_item)``, so what they record commits
or rolls back with the item change.
"""

from __future__ import annotations

from typing import Any

from emulator.dynamodb.batch import BatchOps
from emulator.dynamodb.control import ControlPlane
from emulator.dynamodb.storage.base import Storage


class DynamoDBEngine(BatchOps, ControlPlane):
    def __init__(self, storage: Storage, region: str = "us-east-1", account_id: str = "000000000000") -> None:
        super().__init__(storage, region, account_id)
        self._tokens: dict[str, tuple[float, str, dict[str, Any]]] = {}
