"""Kinesis: requests refused as Kinesis Data Streams refuses them, before moto sees them
(emulator/gateway/fallback_checks_services.py has the checks of new streams, shard iterators and
GetRecords). moto rescaled a stream to any number of shards; Kinesis scales a stream up to
double its open shards and down to half of them at most (UpdateShardCount's default limits).
The stream is read from moto's state (``moto_backend``); one that cannot be found is left to
moto (ResourceNotFoundException). moto also stored resource policies that are not JSON objects.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from emulator.errors import AwsError
from emulator.gateway.fallback_checks import _json, _on, moto_backend

if TYPE_CHECKING:
    from emulator.context import RequestContext


def _open_shards(ctx: RequestContext) -> int | None:
    """The number of open shards of the stream that StreamName or StreamARN names, None if
    moto has no such stream."""
    name, arn = ctx.params.get("StreamName"), ctx.params.get("StreamARN")
    streams = getattr(moto_backend(ctx, "kinesis"), "streams", None)
    if not isinstance(streams, dict):
        return None
    stream = streams.get(name) if isinstance(name, str) else next((s for s in streams.values() if getattr(s, "arn", None) == arn), None)
    shards = getattr(stream, "shards", None)
    if not isinstance(shards, dict):
        return None
    return sum(1 for shard in shards.values() if getattr(shard, "is_open", True))


@_on("kinesis", "UpdateShardCount")
def _kinesis_shard_count(ctx: RequestContext) -> None:
    """A target of at most double the open shards and at least half of them
    (``InvalidArgumentException``, naming both counts)."""
    target = ctx.params.get("TargetShardCount")
    if not isinstance(target, int) or isinstance(target, bool):
        return
    current = _open_shards(ctx)
    if not current:
        return
    if target > 2 * current:
        raise AwsError(
            "InvalidArgumentException",
            f"UpdateShardCount cannot scale up over double your current open shard count. Current open shard count: {current} Target shard count: {target}",
            400,
        )
    if 2 * target < current:
        raise AwsError(
            "InvalidArgumentException",
            f"UpdateShardCount cannot scale down below half your current open shard count. Current open shard count: {current} Target shard count: {target}",
            400,
        )


@_on("kinesis", "PutResourcePolicy")
def _kinesis_resource_policy(ctx: RequestContext) -> None:
    """A resource policy is a JSON object ("This is formatted as a JSON string"; it names
    principals and actions): ``ValidationException``. moto stored any text."""
    ok, document = _json(ctx.params.get("Policy"))
    if not ok or not isinstance(document, dict):
        raise AwsError("ValidationException", "Invalid policy document: the policy must be a JSON object.", 400)
