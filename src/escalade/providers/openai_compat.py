"""OpenAI and OpenAI-compatible endpoints (vLLM, Ollama, OpenRouter, Gemini's compatible API).

The adapter goes through the official ``openai`` SDK, behind the core :class:`Provider` interface:

- usage is normalised: ``prompt_tokens`` minus ``prompt_tokens_details.cached_tokens`` is plain
  input, the cached tokens are cache reads, ``completion_tokens`` is output;
- the bill comes from the :class:`~escalade.providers.prices.PriceBook` (``None`` when the model
  has no known price), with the price data version;
- SDK errors map to the typed tree. 429 becomes :class:`RateLimitedError` with the ``retry-after``
  the server sent. A 400 about the context length becomes :class:`ContextWindowError`, and a
  refusal becomes :class:`ContentPolicyError`. 401/403 become :class:`ProviderAuthError`, with the
  key redacted. Timeouts, connection errors and 5xx become :class:`TransientProviderError`.

The SDK's own retries are off (``max_retries=0``): retrying is the caller's policy, so that one
ceiling can bound the paid attempts of a request.
"""

from __future__ import annotations

import time
from typing import Any

import openai

from escalade.exceptions import ContentPolicyError, ProviderError
from escalade.keys import SecretKey, redact
from escalade.providers.base import Completion, CompletionRequest, CostEstimate, Provider, Usage
from escalade.providers.prices import PriceBook, PriceBookEstimator
from escalade.providers.sdk_errors import typed_error

__all__ = ["OpenAICompatibleProvider"]

_CONTEXT_CODES = {"context_length_exceeded", "string_above_max_length"}


class OpenAICompatibleProvider(Provider):
    """Chat completions on OpenAI or any compatible ``base_url``."""

    def __init__(
        self,
        api_key: SecretKey | str,
        *,
        base_url: str | None = None,
        provider_id: str = "openai",
        price_book: PriceBook | None = None,
        timeout_s: float = 60.0,
    ) -> None:
        self._key = api_key if isinstance(api_key, SecretKey) else SecretKey(api_key, source="argument")
        self.provider_id = provider_id
        self.price_book = price_book or PriceBook(provider=provider_id)
        self._estimator = PriceBookEstimator(self.price_book)
        self._client = openai.AsyncOpenAI(api_key=self._key.value, base_url=base_url, max_retries=0, timeout=timeout_s)

    def estimate(self, request: CompletionRequest) -> CostEstimate:
        """Worst case from the price book (infinite for unknown models: the budget fails closed)."""
        return self._estimator.estimate(request)

    async def complete(self, request: CompletionRequest) -> Completion:
        messages: list[dict[str, str]] = []
        if request.system:
            messages.append({"role": "system", "content": request.system})
        messages.append({"role": "user", "content": request.prompt})
        started = time.perf_counter()
        try:
            response = await self._client.chat.completions.create(
                model=request.model,
                messages=messages,  # type: ignore[arg-type]
                max_tokens=request.max_output_tokens,
            )
        except openai.APIError as exc:
            raise self._typed(exc, request.model) from None
        choice = response.choices[0] if response.choices else None
        if choice is not None and choice.finish_reason == "content_filter":
            raise ContentPolicyError(f"{request.model} stopped on its content filter", model=request.model)
        usage = self._usage(response.usage)
        bill = self.price_book.cost(usage, request.model)
        return Completion(
            text=choice.message.content if choice is not None else None,
            model=request.model,
            usage=usage,
            cost_usd=bill.usd,
            latency_s=time.perf_counter() - started,
            price_data_version=bill.price_data_version,
        )

    @staticmethod
    def _usage(raw: Any) -> Usage:
        if raw is None:
            return Usage(estimated=True)
        details = getattr(raw, "prompt_tokens_details", None)
        cached = int(getattr(details, "cached_tokens", 0) or 0) if details is not None else 0
        return Usage(
            input_tokens=max(int(raw.prompt_tokens or 0) - cached, 0),
            cached_input_tokens=cached,
            output_tokens=int(raw.completion_tokens or 0),
        )

    def _typed(self, exc: openai.APIError, model: str) -> ProviderError:
        code = getattr(exc, "code", None)
        bad_request = isinstance(exc, openai.BadRequestError)
        return typed_error(
            exc,
            openai,
            message=redact(f"{self.provider_id} {model}: {exc.message}", [self._key]),
            model=model,
            context_window=bad_request and (code in _CONTEXT_CODES or "context length" in exc.message.lower()),
            content_policy=bad_request and code == "content_policy_violation",
        )
