"""DynamoDB Streams (service ``dynamodbstreams``): ListStreams, DescribeStream,
GetShardIterator, GetRecords over the records kept by emulator.dynamodb.lifecycle."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from emulator.context import RequestContext
from emulator.dynamodb.core import REGION
from emulator.errors import AwsError
from emulator.handlers.base import ServiceHandler, operation


class DynamoDBStreamsHandler(ServiceHandler):
    service = "dynamodbstreams"

    def _streams(self) -> Any:
        lc = self.runtime.components.get("dynamodb_lifecycle")
        if lc is None:
            # Streams live in the native DynamoDB engine; without it there are none.
            raise AwsError("InternalServerError", "DynamoDB Streams requires the native dynamodb service", 500)
        return lc

    async def _call(self, ctx: RequestContext, fn: Callable[[Any], Callable[[dict[str, Any]], dict[str, Any]]], params: dict[str, Any]) -> dict[str, Any]:
        lc = self._streams()
        # Streams are regional, as their tables: the request's region is the one listed and read.
        token = REGION.set(ctx.region)
        try:
            out = fn(lc.streams)(params)
        finally:
            REGION.reset(token)
        await lc.engine.durable()
        return out

    async def reset(self) -> None:
        # The streams live in the DynamoDB engine; resetting dynamodb resets them too (this
        # then finds nothing left). Alone, this drops every stream record, not the tables.
        lc = self.runtime.components.get("dynamodb_lifecycle")
        if lc is None:
            return  # no native DynamoDB: no streams
        lc.engine.begin_group()
        try:
            lc.streams.reset()
        finally:
            await lc.engine.durable()

    @operation("ListStreams")
    async def list_streams(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return await self._call(ctx, lambda s: s.list_streams, params)

    @operation("DescribeStream")
    async def describe_stream(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return await self._call(ctx, lambda s: s.describe_stream, params)

    @operation("GetShardIterator")
    async def get_shard_iterator(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return await self._call(ctx, lambda s: s.get_shard_iterator, params)

    @operation("GetRecords")
    async def get_records(self, ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
        return await self._call(ctx, lambda s: s.get_records, params)
