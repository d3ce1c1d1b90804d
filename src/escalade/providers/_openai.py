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
overhead, see :func:`~escalade.providers.pricing.max_prompt_tokens`) and of the answer, at most the
output cap. The usage is marked ``estimated=True``. A missing usage is never billed as zero, nor as
less than was used.

The SDK's own retries are off (``max_retries=0``): retrying is the caller's policy, so that one
ceiling can bound the paid attempts of a request.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import ModuleType
from typing import Any, ClassVar, Literal

import openai
from openai import AsyncStream
from openai.types import CompletionUsage
from openai.types.chat import ChatCompletionChunk

from escalade.providers._adapter import ErrorSigns, SdkAdapter, SdkAnswer, sdk_settings, upper_bound_usage
from escalade.providers._base import CompletionRequest, Usage
from escalade.providers._messages import Message, ToolCall
from escalade.providers._registry import ProviderOptions
from escalade.providers._sdk_errors import error_type
from escalade.providers._secrets import SecretKey
from escalade.providers.pricing._genai import PriceBook

__all__ = ["OpenAICompatibleProvider"]

_CONTEXT_CODES = {"context_length_exceeded", "string_above_max_length"}
_RATE_LIMIT_CODES = {"rate_limit_exceeded", "rate_limit_error"}


class OpenAICompatibleProvider(SdkAdapter[AsyncStream[ChatCompletionChunk]]):
    """Chat completions on OpenAI or any compatible ``base_url``; ``stream=True`` streams the answer."""

    sdk: ClassVar[ModuleType] = openai
    #: Current models genai-prices knows the price of (so every bill is known); two cheap ones, so that
    #: the cheap tier's two attempts are independent opinions.
    default_models: ClassVar[Mapping[str, tuple[str, ...]]] = {
        "cheap": ("gpt-4.1-nano", "gpt-4o-mini"),
        "capable": ("gpt-4.1-mini",),
        "premium": ("gpt-4.1",),
    }

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
        super().__init__(
            api_key, provider_id=provider_id, price_book=price_book, stream=stream, unknown_costs=unknown_costs
        )
        self._client = openai.AsyncOpenAI(api_key=self._key.value, base_url=base_url, max_retries=0, timeout=timeout_s)

    @classmethod
    def from_options(cls, key: SecretKey, options: ProviderOptions) -> OpenAICompatibleProvider:
        """The adapter as the ``openai`` entry point builds it (``options.cache_prompts`` does not apply)."""
        return cls(key, **sdk_settings(options))

    async def _single(self, request: CompletionRequest) -> SdkAnswer:
        response = await self._client.chat.completions.create(**_params(request))
        choice = response.choices[0] if response.choices else None
        if choice is None:
            return self._answer(request, None, response.usage, None)
        calls = tuple(
            ToolCall(id=call.id, name=call.function.name, arguments=call.function.arguments or "{}")
            for call in choice.message.tool_calls or ()
            if call.type == "function"
        )
        return self._answer(request, choice.message.content, response.usage, choice.finish_reason, calls)

    async def _open_stream(self, request: CompletionRequest) -> AsyncStream[ChatCompletionChunk]:
        stream: AsyncStream[ChatCompletionChunk] = await self._client.chat.completions.create(
            **_params(request), stream=True, stream_options={"include_usage": True}
        )
        return stream

    async def _read_stream(
        self, stream: AsyncStream[ChatCompletionChunk], request: CompletionRequest
    ) -> SdkAnswer | None:
        parts: list[str] = []
        calls: dict[int, dict[str, str]] = {}  # by the delta's index: id, name, arguments so far
        usage: CompletionUsage | None = None
        finish: str | None = None
        async for chunk in stream:
            usage = chunk.usage or usage
            for choice in chunk.choices[:1]:
                if choice.delta is not None and choice.delta.content:
                    parts.append(choice.delta.content)
                for delta in (choice.delta.tool_calls if choice.delta is not None else None) or ():
                    call = calls.setdefault(delta.index, {"id": "", "name": "", "arguments": ""})
                    call["id"] = delta.id or call["id"]
                    if delta.function is not None:
                        call["name"] += delta.function.name or ""
                        call["arguments"] += delta.function.arguments or ""
                finish = choice.finish_reason or finish
            if finish == "content_filter":
                break
        if finish is None:
            return None
        tool_calls = tuple(ToolCall(**calls[index]) for index in sorted(calls))
        return self._answer(request, "".join(parts) if parts or not tool_calls else None, usage, finish, tool_calls)

    @staticmethod
    def _answer(
        request: CompletionRequest,
        text: str | None,
        raw: CompletionUsage | None,
        finish: str | None,
        tool_calls: tuple[ToolCall, ...] = (),
    ) -> SdkAnswer:
        refusal = f"{request.model} stopped on its content filter" if finish == "content_filter" else None
        billed_text = "".join([text or "", *(c.arguments for c in tool_calls)])
        return SdkAnswer(
            text=text,
            usage=_usage(raw, billed_text, request),
            refusal=refusal,
            tool_calls=tool_calls,
            finish_reason=finish,
        )

    def _signs(self, exc: openai.APIError, *, in_stream: bool) -> ErrorSigns:
        code = getattr(exc, "code", None)
        bad_request = isinstance(exc, openai.BadRequestError)
        return ErrorSigns(
            context_window=bad_request and (code in _CONTEXT_CODES or "context length" in exc.message.lower()),
            content_policy=bad_request and code == "content_policy_violation",
            rate_limited=in_stream and (code in _RATE_LIMIT_CODES or error_type(exc.body) in _RATE_LIMIT_CODES),
            transient=in_stream,
        )


def _params(request: CompletionRequest) -> dict[str, Any]:
    """Arguments of ``chat.completions.create``: the conversation and every option the request sets."""
    params: dict[str, Any] = {
        "model": request.model,
        "messages": [_message(m) for m in request.conversation()],
        "max_tokens": request.max_output_tokens,
    }
    if request.tools:
        params["tools"] = [
            {
                "type": "function",
                "function": {"name": t.name, "description": t.description, "parameters": dict(t.parameters)},
            }
            for t in request.tools
        ]
    if request.tool_choice is not None:
        choice = request.tool_choice
        named = choice not in ("auto", "none", "required")
        params["tool_choice"] = {"type": "function", "function": {"name": choice}} if named else choice
    if request.response_format is not None:
        params["response_format"] = dict(request.response_format)
    if request.temperature is not None:
        params["temperature"] = request.temperature
    if request.stop:
        params["stop"] = list(request.stop)
    if request.seed is not None:
        params["seed"] = request.seed
    if request.user is not None:
        params["user"] = request.user
    return params


def _message(message: Message) -> dict[str, Any]:
    """One turn in OpenAI's chat format."""
    if message.role == "tool":
        return {"role": "tool", "tool_call_id": message.tool_call_id, "content": message.content or ""}
    wire: dict[str, Any] = {"role": message.role, "content": message.content}
    if message.tool_calls:
        wire["tool_calls"] = [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
            for c in message.tool_calls
        ]
    elif message.content is None:
        wire["content"] = ""
    return wire


def _usage(raw: CompletionUsage | None, text: str | None, request: CompletionRequest) -> Usage:
    """OpenAI's usage, normalised: cached prompt tokens are cache reads, the rest plain input."""
    if raw is None:  # a server that sent no usage: bill an upper bound, never less than was used
        return upper_bound_usage(request, text)
    details = raw.prompt_tokens_details
    cached = int(details.cached_tokens or 0) if details is not None else 0
    return Usage(
        input_tokens=max(int(raw.prompt_tokens or 0) - cached, 0),
        cached_input_tokens=cached,
        output_tokens=int(raw.completion_tokens or 0),
    )
