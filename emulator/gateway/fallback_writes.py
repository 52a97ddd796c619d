"""Which moto calls may change state, and which packages' state a write may reach.

FallbackState (emulator/gateway/fallback_state.py) snapshots a package after each request that
may have changed it: ``is_write`` tells those requests from reads, ``FAN_OUT`` and
``EVERYTHING`` name the other packages a write reaches inside moto (its deliveries), which are
locked with it and snapshotted after it (fallback_locking.py), ``LONG_POLLS`` the calls that
run unlocked. Apart from the snapshots because it is knowledge of moto's services, not of the
files: a new fan-out or read-only operation is an edit here alone.
"""

from __future__ import annotations

import sys

# Operation names that only read. Everything else may write (SQS ReceiveMessage too: it hides
# the messages it returns and counts their receives).
READ_PREFIXES = ("Get", "List", "Describe", "Head", "Lookup", "Search", "Simulate", "Check", "Validate", "Estimate", "Preview", "Test")

# Operations that may block inside moto for long: SQS's long polling (WaitTimeSeconds, or the
# queue's ReceiveMessageWaitTimeSeconds, up to 20 s). They run without the package's shared lock
# (see FallbackState.shared).
LONG_POLLS = frozenset({("sqs", "ReceiveMessage")})

# Packages whose writes change other packages' state too (moto delivers in-process): SNS
# publishes to SQS queues, S3 notifies SQS/SNS/EventBridge/Lambda (only when a bucket has a
# notification configuration), EventBridge sends to its targets, Firehose writes to S3, ...
# EventBridge's CreateConnection keeps its auth parameters as a Secrets Manager secret; Kinesis's
# PutRecord(s) writes CloudWatch metrics; Lambda's CreateEventSourceMapping registers the mapping
# on the Kinesis stream (or DynamoDB table) too; Secrets Manager's rotation invokes Lambda.
FAN_OUT: dict[str, tuple[str, ...]] = {
    "sns": ("sqs", "awslambda"),
    "s3": ("sqs", "sns", "events", "awslambda"),
    "events": ("sqs", "sns", "logs", "stepfunctions", "awslambda", "kinesis", "firehose", "secretsmanager"),
    "firehose": ("s3",),
    "ses": ("sns", "s3"),
    "awslambda": ("sqs", "sns", "logs", "kinesis", "dynamodb"),
    "kinesis": ("cloudwatch", "awslambda"),
    "secretsmanager": ("awslambda",),
}
# Packages that create or tag resources of any other: their writes dirty every instantiated package.
EVERYTHING = frozenset({"cloudformation", "resourcegroupstaggingapi"})


def is_write(method: str, query_string: str, operation: str | None) -> bool:
    """Whether a request may change state: by its operation's name, or (unknown operation) by
    its HTTP method, GET and HEAD reading except a query-protocol ``?Action=`` call."""
    if operation:
        return not operation.startswith(READ_PREFIXES)
    if method in ("GET", "HEAD"):
        return "Action=" in query_string
    return True


def _any_bucket(attribute: str) -> bool:
    """Whether any of moto's S3 buckets has a non-empty ``attribute``."""
    models = sys.modules.get("moto.s3.models")
    if models is None:
        return False
    for account_backends in list(dict.values(models.s3_backends)):
        for backend in list(dict.values(account_backends)):
            if any(getattr(bucket, attribute) for bucket in list(backend.buckets.values())):
                return True
    return False


def s3_logs_reads() -> bool:
    """Whether any S3 bucket has server access logging on: moto then writes a log object for
    every call, reads included, so an S3 read is a write to save."""
    return _any_bucket("logging")


def s3_notifies() -> bool:
    """Whether any S3 bucket has a notification configuration (its writes reach other packages)."""
    return _any_bucket("notification_configuration")
