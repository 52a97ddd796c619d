"""Fixtures for DynamoDB's wire tests: one shared server, a unique table per test."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest


@pytest.fixture(scope="session")
def ddb(aws_client: Callable[..., Any]) -> Any:
    return aws_client("dynamodb")


def unique(prefix: str = "t") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def make_table(ddb: Any) -> Iterator[Callable[..., str]]:
    """make_table(hash=("pk", "S"), range=("sk", "S"), **create_table_kwargs) -> table name."""
    created: list[str] = []

    def make(hash: tuple[str, str] = ("pk", "S"), range: tuple[str, str] | None = None, **kwargs: Any) -> str:
        name = kwargs.pop("TableName", None) or unique()
        attrs = {hash[0]: hash[1]}
        schema = [{"AttributeName": hash[0], "KeyType": "HASH"}]
        if range:
            attrs[range[0]] = range[1]
            schema.append({"AttributeName": range[0], "KeyType": "RANGE"})
        for extra in kwargs.pop("extra_attrs", {}).items():
            attrs[extra[0]] = extra[1]
        kwargs.setdefault("BillingMode", "PAY_PER_REQUEST")
        ddb.create_table(
            TableName=name,
            KeySchema=schema,
            AttributeDefinitions=[{"AttributeName": n, "AttributeType": t} for n, t in attrs.items()],
            **kwargs,
        )
        created.append(name)
        return name

    yield make
    for name in created:
        try:
            ddb.delete_table(TableName=name)
        except ddb.exceptions.ResourceNotFoundException:
            pass


@pytest.fixture
def table(make_table: Callable[..., str]) -> str:
    """A pay-per-request table with pk (S) and sk (S)."""
    return make_table(range=("sk", "S"))


@pytest.fixture(scope="session")
def new_name() -> Callable[..., str]:
    """new_name(prefix="t") -> a table name no other test uses."""
    return unique
