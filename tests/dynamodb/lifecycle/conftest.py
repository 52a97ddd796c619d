"""Fixtures for the lifecycle tests: a streams client and stream-reading helpers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest


@pytest.fixture(scope="session")
def streams(aws_client: Callable[..., Any]) -> Any:
    return aws_client("dynamodbstreams")


def read_all(streams: Any, arn: str, kind: str = "TRIM_HORIZON", **kwargs: Any) -> list[dict[str, Any]]:
    """Every record currently in the stream's (single) shard."""
    shards = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]
    out: list[dict[str, Any]] = []
    for shard in shards:
        it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType=kind, **kwargs)["ShardIterator"]
        while it:
            page = streams.get_records(ShardIterator=it)
            out.extend(page["Records"])
            if not page["Records"]:
                break
            it = page.get("NextShardIterator")
    return out
