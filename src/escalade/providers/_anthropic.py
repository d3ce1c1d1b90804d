"""Anthropic's Messages API through the official ``anthropic`` SDK.

Usage maps one to one: Anthropic's ``input_tokens`` already excludes cached tokens, so
``cache_read_input_tokens`` are cache reads and ``cache_creation_input_tokens`` are cache writes.
Bills come from the :class:`~escalade.providers.pricing._genai.PriceBook`. Errors map to the typed tree, as
in the OpenAI adapter: 429 (with ``retry-after``), a prompt that is too long, 401/403 with the key
redacted, overloaded/5xx/timeouts as transient, and a ``refusal`` stop as a content-policy error.
The SDK's own retries are off.

With ``stream=True`` the answer is streamed as server-sent events: the text is the concatenated
``text_delta`` blocks, and the usage is the ``message_start`` usage updated by the last
``message_delta`` usage (its ``output_tokens`` are cumulative; newer APIs repeat the input and cache
counts there, and those then win). Once the stream is open, an ``error`` event maps like the same
error would before it (``overloaded_error`` and ``api_error`` are transient), and a dropped
connection, data that is not JSON or a stream that ends before ``message_stop`` are transient too.
Errors after the stream opened are marked as possibly billed; an HTTP error status (529 overloaded
included) bills nothing. A refusal raises :class:`ContentPolicyError` carrying its bill.
A server that sends no input usage (an Anthropic-compatible proxy, say) still gets a bill, from an
upper bound of the prompt's tokens (one per UTF-8 byte plus overhead); the usage is marked
``estimated=True``, never billed as zero nor as less than was used.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any, Literal

import anthropic
from anthropic import AsyncStream
from anthropic.types import Message, RawMessageStreamEvent

from escalade.exceptions import ContentPolicyError, ProviderError, TransientProviderError
from escalade.providers._base import Completion, CompletionRequest, CostEstimate, Provider, Usage
from escalade.providers._sdk_errors import STREAM_BREAKS, error_type, typed_error
from escalade.providers.pricing._genai import PriceBook, PriceBookEstimator
from escalade.providers.pricing._tables import max_prompt_tokens
from escalade.store import SecretKey, redact

__all__ = ["AnthropicProvider"]

_COUNTS = ("input_tokens", "cache_read_input_tokens", "cache_creation_input_tokens", "output_tokens")
_TRANSIENT_TYPES = {"overloaded_error", "api_error", "timeout_error"}


logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Answer:
    """What one call returned, streamed or not, before it is billed."""

    text: str
    #: Anthropic's usage fields, as named on the wire.
    counts: dict[str, int]
    stop_reason: str | None


def _counts(raw: object) -> dict[str, int]:
    """The usage counts ``raw`` holds (a ``message_delta`` leaves out those it does not repeat)."""
    return {name: int(value) for name in _COUNTS if (value := getattr(raw, name, None)) is not None}


class AnthropicProvider(Provider):
    """Claude models through the Messages API; ``stream=True`` streams the answer."""

    def __init__(
        self,
        api_key: SecretKey | str,
        *,
        base_url: str | None = None,
        price_book: PriceBook | None = None,
        timeout_s: float = 60.0,
        stream: bool = False,
        unknown_costs: Literal["fail", "allow"] = "fail",
        cache_prompts: bool = False,
    ) -> None:
        self._key = api_key if isinstance(api_key, SecretKey) else SecretKey(api_key, source="argument")
        self.price_book = price_book or PriceBook(provider="anthropic")
        #: Whether answers are streamed (usage then comes from the stream's message events).
        self.stream = stream
        #: Whether each prompt ends with a cache breakpoint, so that a later prompt sharing its prefix
        #: reads it from Anthropic's cache (writes cost 1.25× input; prompts below the model's
        #: minimum cacheable length are not cached).
        self.cache_prompts = cache_prompts
        #: ``fail``: a model with no known price cannot be guarded, so the budget stops before calling it;
        #: ``allow``: it is called and its unknown bills count as $0 (self-hosted models, say), with a warning.
        self._estimator = PriceBookEstimator(self.price_book, unknown_costs=unknown_costs)
        self._client = anthropic.AsyncAnthropic(
            api_key=self._key.value, base_url=base_url, max_retries=0, timeout=timeout_s
        )

    def estimate(self, request: CompletionRequest) -> CostEstimate:
        """Worst case from the price book (infinite for unknown models: the budget fails closed)."""
        return self._estimator.estimate(request)

    def context_window(self, model: str) -> int | None:
        """The model's context window from the price data (``None``: unknown, not checked before sending)."""
        return self.price_book.context_window(model)

    async def complete(self, request: CompletionRequest) -> Completion:
        started = time.perf_counter()
        logger.debug("anthropic request: model %s, stream %s", request.model, self.stream)
        try:
            answer = await (self._streamed(request) if self.stream else self._single(request))
        except anthropic.APIError as exc:
            raise self._typed(exc, request.model) from None
        except STREAM_BREAKS as exc:
            message = redact(f"anthropic {request.model}: the stream broke off: {exc!r}", [self._key])
            logger.debug("anthropic %s: the stream broke off (%s)", request.model, type(exc).__name__)
            raise TransientProviderError(message, model=request.model, maybe_billed=True) from exc
        usage = self._usage(answer, request)
        bill = self.price_book.cost(usage, request.model)
        elapsed = time.perf_counter() - started
        logger.debug("anthropic %s answered in %.2f s: %s, bill $%s", request.model, elapsed, usage, bill.usd)
        if answer.stop_reason == "refusal":  # answered (and billed) with a refusal
            raise ContentPolicyError(
                f"{request.model} refused the request",
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
        message: Message = await self._client.messages.create(**self._params(request))
        text = "".join(block.text for block in message.content if block.type == "text")
        return _Answer(text, _counts(message.usage), message.stop_reason)

    async def _streamed(self, request: CompletionRequest) -> _Answer:
        stream: AsyncStream[RawMessageStreamEvent] = await self._client.messages.create(
            **self._params(request), stream=True
        )
        parts: list[str] = []
        counts: dict[str, int] = {}
        stop: str | None = None
        finished = False
        try:
            async with stream:
                async for event in stream:
                    if event.type == "message_start":
                        counts.update(_counts(getattr(event.message, "usage", None)))
                    elif event.type == "content_block_delta" and event.delta.type == "text_delta":
                        parts.append(event.delta.text)
                    elif event.type == "message_delta":
                        stop = event.delta.stop_reason or stop
                        counts.update(_counts(event.usage))
                    elif event.type == "message_stop":
                        finished = True
        except anthropic.APIError as exc:  # an error event inside the open stream: the request had been accepted
            raise self._typed(exc, request.model, in_stream=True) from None
        if not finished:
            message = f"anthropic {request.model}: the stream ended before message_stop"
            raise TransientProviderError(message, model=request.model, maybe_billed=True)
        return _Answer("".join(parts), counts, stop)

    @staticmethod
    def _usage(answer: _Answer, request: CompletionRequest) -> Usage:
        counts = answer.counts
        if "input_tokens" not in counts:  # a server that sent no usage: bill an upper bound, never zero
            return Usage(
                input_tokens=max_prompt_tokens(request),
                output_tokens=counts.get(
                    "output_tokens", min(request.max_output_tokens, len(answer.text.encode("utf-8")))
                ),
                estimated=True,
            )
        return Usage(
            input_tokens=counts["input_tokens"],
            cached_input_tokens=counts.get("cache_read_input_tokens", 0),
            cache_write_tokens=counts.get("cache_creation_input_tokens", 0),
            output_tokens=counts.get("output_tokens", 0),
        )

    def _params(self, request: CompletionRequest) -> dict[str, Any]:
        """Arguments of ``messages.create`` (untyped there, so the call sites annotate what it returns)."""
        content: str | list[dict[str, Any]] = request.prompt
        if self.cache_prompts:
            content = [{"type": "text", "text": request.prompt, "cache_control": {"type": "ephemeral"}}]
        params: dict[str, Any] = {
            "model": request.model,
            "max_tokens": request.max_output_tokens,
            "messages": [{"role": "user", "content": content}],
        }
        if request.system:
            params["system"] = request.system
        return params

    def _typed(self, exc: anthropic.APIError, model: str, *, in_stream: bool = False) -> ProviderError:
        lowered = exc.message.lower()
        kind = error_type(exc.body)
        too_long = isinstance(exc, anthropic.RequestTooLargeError) or (
            (isinstance(exc, anthropic.BadRequestError) or kind == "invalid_request_error")
            and ("too long" in lowered or "context" in lowered)
        )
        return typed_error(
            exc,
            anthropic,
            message=redact(f"anthropic {model}: {exc.message}", [self._key]),
            model=model,
            context_window=too_long,
            rate_limited=kind == "rate_limit_error",
            transient=kind in _TRANSIENT_TYPES,
            in_stream=in_stream,
        )
