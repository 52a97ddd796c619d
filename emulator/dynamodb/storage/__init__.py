"""Storage engines for native DynamoDB, behind one narrow interface."""

from __future__ import annotations

from pathlib import Path

from emulator.dynamodb.storage.base import PolicyRow, Row, Storage, TableRow

__all__ = ["PolicyRow", "Row", "Storage", "TableRow", "open_storage"]


def open_storage(spec: str, data_dir: Path, synchronous: str = "FULL") -> Storage:
    """Build (not yet open) the storage named by settings.storage."""
    if spec in ("", "sqlite"):
        from emulator.dynamodb.storage.sqlite import SqliteStorage

        return SqliteStorage(Path(data_dir) / "dynamodb.sqlite3", synchronous)
    if spec.startswith("sqlite:"):
        from emulator.dynamodb.storage.sqlite import SqliteStorage

        return SqliteStorage(spec.split(":", 1)[1], synchronous)
    if spec.startswith(("postgresql://", "postgres://")):
        from emulator.dynamodb.storage.postgres import PostgresStorage

        return PostgresStorage(spec)
    raise ValueError(f"unsupported DynamoDB storage: {spec!r} (supported: sqlite, postgresql://...)")
