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
from emulator.dynamodb.legacy_global import LegacyGlobalTables
from emulator.dynamodb.policies import PolicyOperations, ResourcePolicies
from emulator.dynamodb.storage.base import Storage, TableCache


class DynamoDBEngine(BatchOps, ControlPlane, LegacyGlobalTables, PolicyOperations):
    def __init__(self, storage: Storage, region: str = "us-east-1", account_id: str = "000000000000") -> None:
        super().__init__(storage, region, account_id)
        # Resource-based policies by ARN, parsed: read by the gateway's authorizer.
        self.resource_policies = ResourcePolicies(storage)
        # ClientRequestTokens of TransactWriteItems and ExecuteTransaction (prefixed), as
        # this process knows them; the storage keeps them all (batch.BatchOps.with_token).
        self._tokens: dict[str, tuple[float, bytes, dict[str, Any]]] = {}
        # Bumped by every reset: work that awaits between reading a table and writing it
        # (restores, backups) compares it to know its table went away with the account.
        self.generation = 0

    def reset(self) -> None:
        """Forget every table, item, index, stream record, snapshot and idempotency
        token (POST /_emulator/reset). Run it in a group (begin_group) and await
        ``durable()`` before answering, as any write. Callable any number of times."""
        self.storage.reset()
        self.resource_policies.clear()
        self._tokens.clear()
        self._token_horizon = 0.0
        self.generation += 1
        if isinstance(self.tables, TableCache):
            self.tables.reload()  # empty now; for a shared storage, also in step with its catalog
        else:
            self.tables.clear()  # not yet opened

    def open(self) -> None:
        super().open()
        self.resource_policies.load()
        self.load_token_horizon()
