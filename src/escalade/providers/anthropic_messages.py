"""Anthropic's Messages API through the official ``anthropic`` SDK.

Usage maps one to one: Anthropic's ``input_tokens`` already excludes cached tokens, so
``cache_read_input_tokens`` are cache reads and ``cache_creation_input_tokens`` are cache writes.
Bills come from the :class:`~escalade.providers.prices.PriceBook`. Errors map to the typed tree, as
in the OpenAI adapter: 429 (with ``retry-after``), a prompt that is too long, 401/403 with the key
redacted, overloaded/5xx/timeouts as transient, and a ``refusal`` stop as a content-policy error.
The SDK's own retries are off.
"""

from __future__ import annotations

import time
from typing import Any

import anthropic

from escalade.exceptions import ContentPolicyError, ProviderError
from escalade.keys import SecretKey, redact
from escalade.providers.base import Completion, CompletionRequest, CostEstimate, Provider, Usage
from escalade.providers.prices import PriceBook, PriceBookEstimator
from escalade.providers.sdk_errors import typed_error

__all__ = ["AnthropicProvider"]


class AnthropicProvider(Provider):
    """Claude models through the Messages API."""

    def __init__(
        self,
        api_key: SecretKey | str,
        *,
        base_url: str | None = None,
        price_book: PriceBook | None = None,
        timeout_s: float = 60.0,
    ) -> None:
        self._key = api_key if isinstance(api_key, SecretKey) else SecretKey(api_key, source="argument")
        self.price_book = price_book or PriceBook(provider="anthropic")
        self._estimator = PriceBookEstimator(self.price_book)
        self._client = anthropic.AsyncAnthropic(
            api_key=self._key.value, base_url=base_url, max_retries=0, timeout=timeout_s
        )

    def estimate(self, request: CompletionRequest) -> CostEstimate:
        """Worst case from the price book (infinite for unknown models: the budget fails closed)."""
        return self._estimator.estimate(request)

    async def complete(self, request: CompletionRequest) -> Completion:
        started = time.perf_counter()
        extra: dict[str, Any] = {"system": request.system} if request.system else {}
        try:
            message = await self._client.messages.create(
                model=request.model,
                max_tokens=request.max_output_tokens,
                messages=[{"role": "user", "content": request.prompt}],
                **extra,
            )
        except anthropic.APIError as exc:
            raise self._typed(exc, request.model) from None
        if message.stop_reason == "refusal":
            raise ContentPolicyError(f"{request.model} refused the request", model=request.model)
        text = "".join(block.text for block in message.content if getattr(block, "type", "") == "text")
        raw = message.usage
        usage = Usage(
            input_tokens=int(raw.input_tokens or 0),
            cached_input_tokens=int(getattr(raw, "cache_read_input_tokens", 0) or 0),
            cache_write_tokens=int(getattr(raw, "cache_creation_input_tokens", 0) or 0),
            output_tokens=int(raw.output_tokens or 0),
        )
        bill = self.price_book.cost(usage, request.model)
        return Completion(
            text=text,
            model=request.model,
            usage=usage,
            cost_usd=bill.usd,
            latency_s=time.perf_counter() - started,
            price_data_version=bill.price_data_version,
        )

    def _typed(self, exc: anthropic.APIError, model: str) -> ProviderError:
        lowered = exc.message.lower()
        too_long = isinstance(exc, anthropic.RequestTooLargeError) or (
            isinstance(exc, anthropic.BadRequestError) and ("too long" in lowered or "context" in lowered)
        )
        return typed_error(
            exc,
            anthropic,
            message=redact(f"anthropic {model}: {exc.message}", [self._key]),
            model=model,
            context_window=too_long,
        )
