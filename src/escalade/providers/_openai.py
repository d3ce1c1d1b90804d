"""OpenAI and OpenAI-compatible endpoints (vLLM, Ollama, OpenRouter, Gemini's compatible API).

The adapter goes through the official ``openai`` SDK, behind the core :class:`Provider` interface:

- usage is normalised: ``prompt_tokens`` minus ``prompt_tokens_details.cached_tokens`` is plain
  input, the cached tokens are cache reads, ``completion_tokens`` is output;
- the bill comes from the :class:`~escalade.providers.pricing._genai.PriceBook` (``None`` when the model
  has no known price), with the price data version;
- SDK errors map to the typed tree. 429 becomes :class:`RateLimitedError` with the ``retry-after``
  the server sent. A 400 about the context length becomes :class:`ContextWindowError`, and a
  refusal becomes :class:`ContentPolicyError`. 401/403 become :class:`ProviderAuthError`, with the
  key redacted. Timeouts, connection errors and 5xx become :class:`TransientProviderError`.

With ``stream=True`` the adapter asks for a streamed answer with
``stream_options={"include_usage": True}``: the text is the concatenated deltas and the usage comes
from the final chunk, which has no choices. The same error mapping holds, and more can go wrong
once the stream is open: an error the server sends inside the stream, a dropped connection, data
that is not JSON, or a stream that ends before any choice gave its finish reason. All of these
become :class:`TransientProviderError`, marked as possibly billed (the request had been accepted);
an HTTP error status or a refused connection bills nothing. An answer stopped by the content filter
raises :class:`ContentPolicyError` carrying its bill.

A server that sends no usage at all (some compatible servers ignore ``include_usage``) still gets a
bill, from an upper bound of the tokens: one per UTF-8 byte of the prompt (plus the chat format's
overhead, see :func:`~escalade.providers.pricing._tables.max_prompt_tokens`) and of the answer, at most the
output cap. The usage is marked ``estimated=True``. A missing usage is never billed as zero, nor as
less than was used.

The SDK's own retries are off (``max_retries=0``): retrying is the caller's policy, so that one
ceiling can bound the paid attempts of a request.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Literal

import openai
from openai.types import CompletionUsage
from openai.types.chat import ChatCompletionMessageParam

from escalade.exceptions import ContentPolicyError, ProviderError, TransientProviderError
from escalade.providers._base import Completion, CompletionRequest, CostEstimate, Provider, Usage
from escalade.providers._sdk_errors import STREAM_BREAKS, error_type, typed_error
from escalade.providers.pricing._genai import PriceBook, PriceBookEstimator
from escalade.providers.pricing._tables import max_prompt_tokens
from escalade.store import SecretKey, redact

__all__ = ["OpenAICompatibleProvider"]

_CONTEXT_CODES = {"context_length_exceeded", "string_above_max_length"}
_RATE_LIMIT_CODES = {"rate_limit_exceeded", "rate_limit_error"}


logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Answer:
    """What one call returned, streamed or not, before it is billed."""

    text: str | None
    #: ``None`` when the server sent no usage.
    usage: CompletionUsage | None
    finish_reason: str | None


class OpenAICompatibleProvider(Provider):
    """Chat completions on OpenAI or any compatible ``base_url``; ``stream=True`` streams the answer."""

    def __init__(
        self,
        api_key: SecretKey | str,
        *,
        base_url: str | None = None,
        provider_id: str = "openai",
        price_book: PriceBook | None = None,
        timeout_s: float = 60.0,
        stream: bool = False,
        unknown_costs: Literal["fail", "allow"] = "fail",
    ) -> None:
        self._key = api_key if isinstance(api_key, SecretKey) else SecretKey(api_key, source="argument")
        self.provider_id = provider_id
        self.price_book = price_book or PriceBook(provider=provider_id)
        #: Whether answers are streamed (usage then comes from the stream's final chunk).
        self.stream = stream
        #: ``fail``: a model with no known price cannot be guarded, so the budget stops before calling it;
        #: ``allow``: it is called and its unknown bills count as $0 (self-hosted models, say), with a warning.
        self._estimator = PriceBookEstimator(self.price_book, unknown_costs=unknown_costs)
        self._client = openai.AsyncOpenAI(api_key=self._key.value, base_url=base_url, max_retries=0, timeout=timeout_s)

    def estimate(self, request: CompletionRequest) -> CostEstimate:
        """Worst case from the price book (infinite for unknown models: the budget fails closed)."""
        return self._estimator.estimate(request)

    def context_window(self, model: str) -> int | None:
        """The model's context window from the price data (``None``: unknown, not checked before sending)."""
        return self.price_book.context_window(model)

    async def complete(self, request: CompletionRequest) -> Completion:
        started = time.perf_counter()
        logger.debug("%s request: model %s, stream %s", self.provider_id, request.model, self.stream)
        try:
            answer = await (self._streamed(request) if self.stream else self._single(request))
        except openai.APIError as exc:
            raise self._typed(exc, request.model) from None
        except STREAM_BREAKS as exc:
            message = redact(f"{self.provider_id} {request.model}: the stream broke off: {exc!r}", [self._key])
            logger.debug("%s %s: the stream broke off (%s)", self.provider_id, request.model, type(exc).__name__)
            raise TransientProviderError(message, model=request.model, maybe_billed=True) from exc
        usage = self._usage(answer, request)
        bill = self.price_book.cost(usage, request.model)
        elapsed = time.perf_counter() - started
        logger.debug(
            "%s %s answered in %.2f s: %s, bill $%s", self.provider_id, request.model, elapsed, usage, bill.usd
        )
        if answer.finish_reason == "content_filter":  # generated, so billed
            raise ContentPolicyError(
                f"{request.model} stopped on its content filter",
                model=request.model,
                billed_usd=bill.usd,
                maybe_billed=bill.usd is None,
            )
        return Completion(
            text=answer.text,
            model=request.model,
            usage=usage,
            cost_usd=bill.usd,
            latency_s=time.perf_counter() - started,
            price_data_version=bill.price_data_version,
        )

    async def _single(self, request: CompletionRequest) -> _Answer:
        response = await self._client.chat.completions.create(
            model=request.model, messages=self._messages(request), max_tokens=request.max_output_tokens
        )
        choice = response.choices[0] if response.choices else None
        if choice is None:
            return _Answer(None, response.usage, None)
        return _Answer(choice.message.content, response.usage, choice.finish_reason)

    async def _streamed(self, request: CompletionRequest) -> _Answer:
        stream = await self._client.chat.completions.create(
            model=request.model,
            messages=self._messages(request),
            max_tokens=request.max_output_tokens,
            stream=True,
            stream_options={"include_usage": True},
        )
        parts: list[str] = []
        usage: CompletionUsage | None = None
        finish: str | None = None
        try:
            async with stream:
                async for chunk in stream:
                    usage = chunk.usage or usage
                    for choice in chunk.choices[:1]:
                        if choice.delta is not None and choice.delta.content:
                            parts.append(choice.delta.content)
                        finish = choice.finish_reason or finish
                    if finish == "content_filter":
                        break
        except openai.APIError as exc:  # sent inside the open stream: the request had been accepted
            raise self._typed(exc, request.model, in_stream=True) from None
        if finish is None:
            message = f"{self.provider_id} {request.model}: the stream ended before the answer finished"
            raise TransientProviderError(message, model=request.model, maybe_billed=True)
        return _Answer("".join(parts), usage, finish)

    @staticmethod
    def _messages(request: CompletionRequest) -> list[ChatCompletionMessageParam]:
        messages: list[ChatCompletionMessageParam] = []
        if request.system:
            messages.append({"role": "system", "content": request.system})
        messages.append({"role": "user", "content": request.prompt})
        return messages

    @staticmethod
    def _usage(answer: _Answer, request: CompletionRequest) -> Usage:
        raw = answer.usage
        if raw is None:  # a server that sent no usage: bill an upper bound, never less than was used
            return Usage(
                input_tokens=max_prompt_tokens(request),
                output_tokens=min(request.max_output_tokens, len((answer.text or "").encode("utf-8"))),
                estimated=True,
            )
        details = raw.prompt_tokens_details
        cached = int(details.cached_tokens or 0) if details is not None else 0
        return Usage(
            input_tokens=max(int(raw.prompt_tokens or 0) - cached, 0),
            cached_input_tokens=cached,
            output_tokens=int(raw.completion_tokens or 0),
        )

    def _typed(self, exc: openai.APIError, model: str, *, in_stream: bool = False) -> ProviderError:
        code = getattr(exc, "code", None)
        bad_request = isinstance(exc, openai.BadRequestError)
        return typed_error(
            exc,
            openai,
            message=redact(f"{self.provider_id} {model}: {exc.message}", [self._key]),
            model=model,
            context_window=bad_request and (code in _CONTEXT_CODES or "context length" in exc.message.lower()),
            content_policy=bad_request and code == "content_policy_violation",
            rate_limited=in_stream and (code in _RATE_LIMIT_CODES or error_type(exc.body) in _RATE_LIMIT_CODES),
            transient=in_stream,
            in_stream=in_stream,
        )
