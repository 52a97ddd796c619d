"""Console pages, one module per area; each has ``register(console)``."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from emulator.console.core import Console


def register(console: Console) -> None:
    from emulator.console.pages import (
        api,
        auth,
        bedrock,
        cloudwatch,
        compute,
        costs,
        dynamodb,
        keys,
        logs,
        overview,
        playground,
        s3,
        sqs,
    )

    for module in (auth, overview, dynamodb, s3, sqs, compute, playground, bedrock, cloudwatch, logs, costs, keys, api):
        module.register(console)
