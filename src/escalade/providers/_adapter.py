"""The flow every adapter over an official SDK shares, written once: :class:`SdkAdapter`.

An adapter (OpenAI, Anthropic) implements only what differs between the SDKs: sending a request and
reading the answer (:meth:`~SdkAdapter._single`, or :meth:`~SdkAdapter._open_stream` and
:meth:`~SdkAdapter._read_stream` when streaming), and what an SDK error means
(:meth:`~SdkAdapter._signs`). The base does the rest, the same way for each:

- the worst-case estimate and the context window come from the
  :class:`~escalade.providers.pricing._genai.PriceBook`, and so does the bill of each answer;
- an answer without usage is billed from an upper bound (:func:`upper_bound_usage`, from
  :func:`~escalade.providers.pricing.max_prompt_tokens`), marked ``estimated``, never as zero;
- an SDK error maps to the typed tree (:func:`~escalade.providers._sdk_errors.typed_error`), with
  the key redacted from its message; an error inside an open stream, a stream that breaks off or
  one that ends before the answer finished is transient and possibly billed;
- a refusal (content filter, ``refusal`` stop) raises :class:`ContentPolicyError` carrying its bill.
"""

from __future__ import annotations

import abc
import logging
import time
from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from types import ModuleType
from typing import Any, ClassVar, Generic, Literal, TypedDict, TypeVar

from escalade.exceptions import ContentPolicyError, ProviderError, TransientProviderError
from escalade.providers._base import Completion, CompletionRequest, CostEstimate, Provider, Usage
from escalade.providers._messages import ToolCall
from escalade.providers._registry import ProviderOptions
from escalade.providers._sdk_errors import STREAM_BREAKS, typed_error
from escalade.providers._secrets import SecretKey, redact
from escalade.providers.pricing import max_prompt_tokens
from escalade.providers.pricing._genai import PriceBook, PriceBookEstimator

logger = logging.getLogger(__name__)

__all__ = ["ErrorSigns", "SdkAdapter", "SdkAnswer", "SdkSettings", "sdk_settings", "upper_bound_usage"]

StreamT = TypeVar("StreamT", bound=AbstractAsyncContextManager[Any])


@dataclass(frozen=True, kw_only=True)
class SdkAnswer:
    """What one call returned, streamed or not, before it is billed."""

    #: The answer text (``None`` when the server sent no choice).
    text: str | None
    #: Normalised usage (an upper bound marked ``estimated`` when the server sent none).
    usage: Usage
    #: Why the answer counts as a refusal (content filter, ``refusal`` stop), or ``None``.
    refusal: str | None = None
    #: Tools the model asked to call.
    tool_calls: tuple[ToolCall, ...] = ()
    #: Why the model stopped, in the provider's words.
    finish_reason: str | None = None


@dataclass(frozen=True, kw_only=True)
class ErrorSigns:
    """What only the adapter can tell about an SDK error (the rest is read from its class)."""

    #: The request does not fit the model's context window.
    context_window: bool = False
    #: The request was refused by the provider's content policy.
    content_policy: bool = False
    #: A rate limit the SDK did not raise as ``RateLimitError`` (one sent inside a stream).
    rate_limited: bool = False
    #: Worth a retry: the server is overloaded or failed (an error sent inside a stream, say).
    transient: bool = False


class SdkSettings(TypedDict):
    """The :class:`ProviderOptions` every SDK adapter's constructor takes, as keyword arguments."""

    base_url: str | None
    stream: bool
    timeout_s: float
    unknown_costs: Literal["fail", "allow"]


def sdk_settings(options: ProviderOptions) -> SdkSettings:
    """What of ``options`` every SDK adapter takes (so ``from_options`` is ``cls(key, **sdk_settings(options))``)."""
    return SdkSettings(
        base_url=options.base_url,
        stream=options.stream,
        timeout_s=options.timeout_s,
        unknown_costs=options.unknown_costs,
    )


def upper_bound_usage(request: CompletionRequest, text: str | None, *, output_tokens: int | None = None) -> Usage:
    """Usage for an answer the server sent no usage for: never less than was used.

    The prompt counts one token per UTF-8 byte plus the chat format's overhead; the output is
    ``output_tokens`` when the server sent that count, else one token per byte of ``text``, at most
    the output cap.

    >>> upper_bound_usage(CompletionRequest(item_id="1", model="m", prompt="hi", max_output_tokens=3), "hello")
    Usage(input_tokens=34, cached_input_tokens=0, cache_write_tokens=0, output_tokens=3, estimated=True)
    """
    if output_tokens is None:
        output_tokens = min(request.max_output_tokens, len((text or "").encode("utf-8")))
    return Usage(input_tokens=max_prompt_tokens(request), output_tokens=output_tokens, estimated=True)


class SdkAdapter(Provider, Generic[StreamT]):
    """A provider over an official SDK: one :meth:`complete` and :meth:`estimate` for every adapter.

    ``StreamT`` is the SDK's stream of events, which :meth:`_read_stream` reads.
    """

    #: The SDK module; its exception classes (``APIError``, ``RateLimitError``, ...) map onto the typed tree.
    sdk: ClassVar[ModuleType]
    #: What a stream that ends too soon ended before, for the error message.
    stream_end: ClassVar[str] = "the answer finished"
    #: Models per tier name (``cheap``, ``capable``, ``premium``) used when the configuration names none.
    default_models: ClassVar[Mapping[str, tuple[str, ...]]] = {}

    def __init__(
        self,
        api_key: SecretKey | str,
        *,
        provider_id: str,
        price_book: PriceBook | None,
        stream: bool,
        unknown_costs: Literal["fail", "allow"],
    ) -> None:
        self._key = api_key if isinstance(api_key, SecretKey) else SecretKey(api_key, source="argument")
        #: Names the provider in error messages and in the price data.
        self.provider_id = provider_id
        self.price_book = price_book or PriceBook(provider=provider_id)
        #: Whether answers are streamed.
        self.stream = stream
        #: ``fail``: a model with no known price cannot be guarded, so the budget stops before calling it;
        #: ``allow``: it is called and its unknown bills count as $0 (self-hosted models, say), with a warning.
        self._estimator = PriceBookEstimator(self.price_book, unknown_costs=unknown_costs)

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
        except self.sdk.APIError as exc:
            raise self._typed(exc, request.model) from None
        except STREAM_BREAKS as exc:
            message = redact(f"{self.provider_id} {request.model}: the stream broke off: {exc!r}", [self._key])
            logger.debug("%s %s: the stream broke off (%s)", self.provider_id, request.model, type(exc).__name__)
            raise TransientProviderError(message, model=request.model, maybe_billed=True) from exc
        bill = self.price_book.cost(answer.usage, request.model)
        elapsed = time.perf_counter() - started
        logger.debug(
            "%s %s answered in %.2f s: %s, bill $%s", self.provider_id, request.model, elapsed, answer.usage, bill.usd
        )
        if answer.refusal is not None:  # generated, so billed
            raise ContentPolicyError(
                answer.refusal, model=request.model, billed_usd=bill.usd, maybe_billed=bill.usd is None
            )
        return Completion(
            text=answer.text,
            model=request.model,
            usage=answer.usage,
            cost_usd=bill.usd,
            latency_s=time.perf_counter() - started,
            price_data_version=bill.price_data_version,
            tool_calls=answer.tool_calls,
            finish_reason=answer.finish_reason,
        )

    async def _streamed(self, request: CompletionRequest) -> SdkAnswer:
        stream = await self._open_stream(request)
        try:
            async with stream:
                answer = await self._read_stream(stream, request)
        except self.sdk.APIError as exc:  # sent inside the open stream: the request had been accepted
            raise self._typed(exc, request.model, in_stream=True) from None
        if answer is None:
            message = f"{self.provider_id} {request.model}: the stream ended before {self.stream_end}"
            raise TransientProviderError(message, model=request.model, maybe_billed=True)
        return answer

    def _typed(self, exc: Any, model: str, *, in_stream: bool = False) -> ProviderError:
        """The typed error for the SDK's ``exc`` (an ``APIError``), its message redacted."""
        signs = self._signs(exc, in_stream=in_stream)
        return typed_error(
            exc,
            self.sdk,
            message=redact(f"{self.provider_id} {model}: {exc.message}", [self._key]),
            model=model,
            context_window=signs.context_window,
            content_policy=signs.content_policy,
            rate_limited=signs.rate_limited,
            transient=signs.transient,
            in_stream=in_stream,
        )

    @abc.abstractmethod
    async def _single(self, request: CompletionRequest) -> SdkAnswer:
        """Send ``request`` without streaming and read the answer."""

    @abc.abstractmethod
    async def _open_stream(self, request: CompletionRequest) -> StreamT:
        """Send ``request`` asking for a streamed answer; the open stream."""

    @abc.abstractmethod
    async def _read_stream(self, stream: StreamT, request: CompletionRequest) -> SdkAnswer | None:
        """The answer read from the open ``stream`` (``None``: it ended before the answer finished)."""

    @abc.abstractmethod
    def _signs(self, exc: Any, *, in_stream: bool) -> ErrorSigns:
        """What the SDK's ``exc`` (an ``APIError``) means beyond its class."""
