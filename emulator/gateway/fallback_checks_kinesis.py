"""Kinesis: requests refused as Kinesis Data Streams refuses them, before moto sees them
(emulator/gateway/fallback_checks_services.py has the checks of new streams, shard iterators and
GetRecords). moto rescaled a stream to any number of shards; Kinesis scales a stream up to
double its open shards and down to half of them at most (UpdateShardCount's default limits).
The stream is read from moto's state (``moto_backend``); one that cannot be found is left to
moto (ResourceNotFoundException). moto also stored resource policies that are not JSON objects,
listed every shard whatever the NextToken or ShardFilter, deregistered every consumer of a stream
named without a consumer, and handed out iterators from sequence numbers no record had.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from emulator.errors import AwsError
from emulator.gateway.fallback_checks import _json, _on, moto_backend

if TYPE_CHECKING:
    from emulator.context import RequestContext


def _open_shards(ctx: RequestContext) -> int | None:
    """The number of open shards of the stream that StreamName or StreamARN names, None if
    moto has no such stream."""
    shards = getattr(_stream(ctx), "shards", None)
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


@_on("kinesis", "ListShards")
def _kinesis_list_shards(ctx: RequestContext) -> None:
    """A NextToken names its stream, so StreamName is not given with it (ListShards' StreamName:
    "You cannot specify this parameter if you specify the NextToken parameter"); a ShardFilter
    of type AFTER_SHARD_ID names its ShardId, and one of AT_TIMESTAMP or FROM_TIMESTAMP its
    Timestamp ("you must also provide the value for the optional ShardId property"):
    ``InvalidArgumentException``. moto ignored both and listed every shard."""
    p = ctx.params
    if p.get("NextToken") is not None and p.get("StreamName") is not None:
        raise AwsError("InvalidArgumentException", "NextToken and StreamName cannot be provided together.", 400)
    shard_filter = p.get("ShardFilter")
    if not isinstance(shard_filter, dict):
        return
    kind = shard_filter.get("Type")
    if kind == "AFTER_SHARD_ID" and shard_filter.get("ShardId") is None:
        raise AwsError("InvalidArgumentException", "Must specify ShardId in ShardFilter when the ShardFilter type is AFTER_SHARD_ID.", 400)
    if kind in ("AT_TIMESTAMP", "FROM_TIMESTAMP") and shard_filter.get("Timestamp") is None:
        raise AwsError("InvalidArgumentException", f"Must specify Timestamp in ShardFilter when the ShardFilter type is {kind}.", 400)


@_on("kinesis", "DeregisterStreamConsumer")
def _kinesis_deregister_consumer(ctx: RequestContext) -> None:
    """The consumer is named by its ARN, or by the stream's ARN and its name ("To deregister a
    consumer, provide its ARN. Alternatively, you can provide the ARN of the data stream and the
    name you gave the consumer"): ``InvalidArgumentException``. moto, given the stream's ARN
    alone, deregistered every consumer of the stream."""
    p = ctx.params
    if p.get("ConsumerARN") is None and (p.get("StreamARN") is None or p.get("ConsumerName") is None):
        raise AwsError("InvalidArgumentException", "Must specify either ConsumerARN, or both StreamARN and ConsumerName.", 400)


def _stream(ctx: RequestContext) -> Any:
    """moto's stream that StreamName or StreamARN names, None if it has none."""
    name, arn = ctx.params.get("StreamName"), ctx.params.get("StreamARN")
    streams = getattr(moto_backend(ctx, "kinesis"), "streams", None)
    if not isinstance(streams, dict):
        return None
    if isinstance(name, str):
        return streams.get(name)
    return next((s for s in streams.values() if getattr(s, "arn", None) == arn), None)


@_on("kinesis", "GetShardIterator")
def _kinesis_issued_sequence(ctx: RequestContext) -> None:
    """A StartingSequenceNumber is one the shard handed out (moto numbers a shard's records 1,
    2, 3...): Kinesis refuses any other with ``InvalidArgumentException`` (moto made an
    iterator past the shard's end, which read nothing ever)."""
    p = ctx.params
    number, shard_id = p.get("StartingSequenceNumber"), p.get("ShardId")
    if p.get("ShardIteratorType") not in ("AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER") or not isinstance(number, str) or not number.isdigit():
        return
    stream = _stream(ctx)
    shards = getattr(stream, "shards", None)
    shard = shards.get(shard_id) if isinstance(shards, dict) and isinstance(shard_id, str) else None
    records = getattr(shard, "records", None)
    if not isinstance(records, dict):
        return
    last = max((n for n in records if isinstance(n, int)), default=0)
    if int(number) > last:
        account = getattr(stream, "account_id", None) or ctx.account_id
        raise AwsError(
            "InvalidArgumentException",
            f"StartingSequenceNumber {number} used in GetShardIterator on shard {shard_id} in stream {stream.stream_name} "
            f"under account {account} is invalid because it did not come from this stream.",
            400,
        )
