"""The gateway's security on the inference paths: IAM actions and token quotas.

Bedrock Runtime and the OpenAI API share one accounting. Tokens per minute and
per day are counted as Bedrock documents it ("How tokens are counted in Amazon
Bedrock", https://docs.aws.amazon.com/bedrock/latest/userguide/quotas-token-burndown.html):
when a request starts, the quota is reduced by its input tokens plus
``max_tokens``; when it ends, the reservation is replaced by the tokens really
used (input + output). The reservation is taken atomically by the quota store
(``emulator.gateway.ratelimit.TokenQuotas`` or the Redis one), so concurrent
requests together can never reserve more than the limit.

The prompt is counted with the model's own tokenizer only when the caller's key
has a token quota, so requests without quotas pay nothing for this.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any

from emulator.compute.inference import Generation, count_tokens
from emulator.context import Principal
from emulator.gateway import security

if TYPE_CHECKING:
    from emulator.compute.service import ComputeService
    from emulator.gateway.ratelimit import Reservation


def model_arn(model_id: str, region: str) -> str:
    """The resource of bedrock:InvokeModel*, as the authorizer builds it for Bedrock Runtime
    (``emulator.gateway.authorize.bedrock_requirements``)."""
    if model_id.startswith("arn:"):
        return model_id
    return f"arn:aws:bedrock:{region}::foundation-model/{model_id}"


def quota_key(principal: Principal | None) -> str:
    return principal.access_key_id if principal is not None else "anonymous"


class TokenMeter:
    """One request's token reservation; ``settle`` it exactly once with the real usage."""

    def __init__(self, runtime: Any, reservation: Reservation | None = None, prompt_tokens: int = 0) -> None:
        self.runtime = runtime
        self.reservation = reservation
        self.prompt_tokens = prompt_tokens

    @property
    def active(self) -> bool:
        return self.reservation is not None and not self.reservation.settled

    def used(self, gen: Generation | None) -> int:
        if gen is None:
            return 0  # refused before generating: nothing was consumed
        if gen.prompt_tokens or gen.completion_tokens:
            return gen.prompt_tokens + gen.completion_tokens
        # Stopped before the final usage chunk (client gone, timeout): the prompt was
        # processed and every streamed piece is one generated token.
        return self.prompt_tokens + gen.pieces

    def settle(self, gen: Generation | None) -> None:
        reservation = self.reservation
        if reservation is None or reservation.settled:
            return
        try:
            security.settle(reservation, self.used(gen), runtime=self.runtime)
        except Exception:  # noqa: BLE001 - settling never fails the caller's request; the entry leaves the window in 60 s
            reservation.settled = True


async def meter(runtime: Any, compute: ComputeService, key: str, model_id: str, prompt: str | None,
                messages: list[dict[str, Any]] | None, max_tokens: int, *, protocol: str | None = "rest-json",
                service: str | None = "bedrock-runtime") -> TokenMeter:
    """Reserve the prompt's tokens plus ``max_tokens`` against ``key``'s quotas.

    Raises the throttling error (429 + Retry-After) when over a quota, ValidationException
    when the request alone exceeds the per-minute limit, and the inference errors of
    ``count_tokens`` (unknown model, ...)."""
    quotas = runtime.components.get("token_quotas")
    if quotas is None:
        return TokenMeter(runtime)
    limits = quotas.limits(key)
    if limits.tokens_per_minute is None and limits.tokens_per_day is None:
        return TokenMeter(runtime)
    prompt_tokens = int(await count_tokens(compute, model_id, prompt, messages))
    reservation = security.reserve(key, prompt_tokens + max(int(max_tokens), 0), runtime=runtime, protocol=protocol, service=service)
    return TokenMeter(runtime, reservation, prompt_tokens)


class SettlingStream:
    """Wraps a response's event generator so that the reservation is settled when the
    stream ends, fails or is closed (client disconnect), even if it never started.

    ``gen`` is looked up when settling: the generation whose usage is charged."""

    def __init__(self, inner: AsyncIterator[Any], meter: TokenMeter, gen: Callable[[], Generation | None]) -> None:
        self._inner = inner
        self._meter = meter
        self._gen = gen

    def __aiter__(self) -> SettlingStream:
        return self

    async def __anext__(self) -> Any:
        try:
            return await self._inner.__anext__()
        except BaseException:
            self._meter.settle(self._gen())
            raise

    async def aclose(self) -> None:
        try:
            aclose = getattr(self._inner, "aclose", None)
            if aclose is not None:
                await aclose()
        finally:
            self._meter.settle(self._gen())
