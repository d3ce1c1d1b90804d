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

import json
from collections.abc import Mapping
from types import ModuleType
from typing import Any, ClassVar, Literal

import anthropic
from anthropic import AsyncStream
from anthropic.types import Message, RawMessageStreamEvent

from escalade.exceptions import ConfigError
from escalade.providers._adapter import ErrorSigns, SdkAdapter, SdkAnswer, sdk_settings, upper_bound_usage
from escalade.providers._base import CompletionRequest, Usage, unhonoured_option
from escalade.providers._messages import Message as Turn
from escalade.providers._messages import ToolCall
from escalade.providers._registry import ProviderOptions
from escalade.providers._sdk_errors import error_type
from escalade.providers._secrets import SecretKey
from escalade.providers.pricing._genai import PriceBook

__all__ = ["AnthropicProvider"]

_COUNTS = ("input_tokens", "cache_read_input_tokens", "cache_creation_input_tokens", "output_tokens")
_TRANSIENT_TYPES = {"overloaded_error", "api_error", "timeout_error"}


def _counts(raw: object) -> dict[str, int]:
    """The usage counts ``raw`` holds (a ``message_delta`` leaves out those it does not repeat)."""
    return {name: int(value) for name in _COUNTS if (value := getattr(raw, name, None)) is not None}


class AnthropicProvider(SdkAdapter[AsyncStream[RawMessageStreamEvent]]):
    """Claude models through the Messages API; ``stream=True`` streams the answer."""

    sdk: ClassVar[ModuleType] = anthropic
    stream_end = "message_stop"
    #: Current models genai-prices knows the price of (so every bill is known). There is one current
    #: Haiku: a lone cheap answer is corroborated by the capable tier, if at all.
    #: The Messages API has no sampling seed.
    unsupported_options: ClassVar[frozenset[str]] = frozenset({"seed"})
    default_models: ClassVar[Mapping[str, tuple[str, ...]]] = {
        "cheap": ("claude-haiku-4-5",),
        "capable": ("claude-sonnet-4-6",),
        "premium": ("claude-opus-4-6",),
    }

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
        super().__init__(
            api_key, provider_id="anthropic", price_book=price_book, stream=stream, unknown_costs=unknown_costs
        )
        #: Whether each prompt ends with a cache breakpoint, so that a later prompt sharing its prefix
        #: reads it from Anthropic's cache (writes cost 1.25× input; prompts below the model's
        #: minimum cacheable length are not cached).
        self.cache_prompts = cache_prompts
        self._client = anthropic.AsyncAnthropic(
            api_key=self._key.value, base_url=base_url, max_retries=0, timeout=timeout_s
        )

    @classmethod
    def from_options(cls, key: SecretKey, options: ProviderOptions) -> AnthropicProvider:
        """The adapter as the ``anthropic`` entry point builds it."""
        return cls(key, cache_prompts=options.cache_prompts, **sdk_settings(options))

    async def _single(self, request: CompletionRequest) -> SdkAnswer:
        message: Message = await self._client.messages.create(**self._params(request))
        text = "".join(block.text for block in message.content if block.type == "text")
        calls = tuple(
            ToolCall(id=block.id, name=block.name, arguments=json.dumps(block.input))
            for block in message.content
            if block.type == "tool_use"
        )
        return _answer(request, text, _counts(message.usage), message.stop_reason, calls)

    async def _open_stream(self, request: CompletionRequest) -> AsyncStream[RawMessageStreamEvent]:
        stream: AsyncStream[RawMessageStreamEvent] = await self._client.messages.create(
            **self._params(request), stream=True
        )
        return stream

    async def _read_stream(
        self, stream: AsyncStream[RawMessageStreamEvent], request: CompletionRequest
    ) -> SdkAnswer | None:
        parts: list[str] = []
        calls: dict[int, dict[str, str]] = {}  # tool_use blocks by index: id, name, input JSON so far
        counts: dict[str, int] = {}
        stop: str | None = None
        finished = False
        async for event in stream:
            if event.type == "message_start":
                counts.update(_counts(getattr(event.message, "usage", None)))
            elif event.type == "content_block_start" and event.content_block.type == "tool_use":
                block = event.content_block
                calls[event.index] = {"id": block.id, "name": block.name, "arguments": ""}
            elif event.type == "content_block_delta" and event.delta.type == "text_delta":
                parts.append(event.delta.text)
            elif event.type == "content_block_delta" and event.delta.type == "input_json_delta":
                calls.setdefault(event.index, {"id": "", "name": "", "arguments": ""})
                calls[event.index]["arguments"] += event.delta.partial_json
            elif event.type == "message_delta":
                stop = event.delta.stop_reason or stop
                counts.update(_counts(event.usage))
            elif event.type == "message_stop":
                finished = True
        if not finished:
            return None
        tool_calls = tuple(
            ToolCall(id=c["id"], name=c["name"], arguments=c["arguments"] or "{}") for _, c in sorted(calls.items())
        )
        return _answer(request, "".join(parts), counts, stop, tool_calls)

    def _params(self, request: CompletionRequest) -> dict[str, Any]:
        """Arguments of ``messages.create`` (untyped there, so the call sites annotate what it returns).

        System turns go to ``system``; the other turns alternate user/assistant, tool results being
        ``tool_result`` blocks of a user turn and tool calls ``tool_use`` blocks of an assistant turn.
        Anthropic has no ``response_format``: a JSON format is asked for in the system text.
        """
        turns = request.conversation()
        system = [t.content for t in turns if t.role == "system" and t.content]
        if (fmt := _format_instruction(request.response_format)) is not None:
            system.append(fmt)
        messages = _turns([t for t in turns if t.role != "system"])
        if self.cache_prompts and messages and messages[-1]["role"] == "user":
            messages[-1]["content"][-1]["cache_control"] = {"type": "ephemeral"}
        for message in messages:  # a turn of plain text goes as a string, as before conversations
            if len(blocks := message["content"]) == 1 and blocks[0].keys() == {"type", "text"}:
                message["content"] = blocks[0]["text"]
        params: dict[str, Any] = {"model": request.model, "max_tokens": request.max_output_tokens, "messages": messages}
        if system:
            params["system"] = "\n\n".join(system)
        if request.tools:
            params["tools"] = [
                {"name": t.name, "description": t.description, "input_schema": dict(t.parameters)}
                for t in request.tools
            ]
        if request.tool_choice is not None:
            params["tool_choice"] = _TOOL_CHOICES.get(request.tool_choice) or {
                "type": "tool",
                "name": request.tool_choice,
            }
        if request.temperature is not None:
            params["temperature"] = request.temperature
        if request.stop:
            params["stop_sequences"] = list(request.stop)
        if request.user is not None:
            params["metadata"] = {"user_id": request.user}
        if (name := unhonoured_option(self, request)) is not None:
            raise ConfigError(f"Anthropic's Messages API cannot honour {name!r}", field=name)
        return params

    def _signs(self, exc: anthropic.APIError, *, in_stream: bool) -> ErrorSigns:
        lowered = exc.message.lower()
        kind = error_type(exc.body)
        too_long = isinstance(exc, anthropic.RequestTooLargeError) or (
            (isinstance(exc, anthropic.BadRequestError) or kind == "invalid_request_error")
            and ("too long" in lowered or "context" in lowered)
        )
        return ErrorSigns(
            context_window=too_long, rate_limited=kind == "rate_limit_error", transient=kind in _TRANSIENT_TYPES
        )


_TOOL_CHOICES = {"auto": {"type": "auto"}, "required": {"type": "any"}, "none": {"type": "none"}}


def _format_instruction(response_format: Mapping[str, Any] | None) -> str | None:
    """The system text that asks for ``response_format`` (OpenAI's form), which Anthropic has no field for."""
    if response_format is None or response_format.get("type") == "text":
        return None
    schema = response_format.get("json_schema")
    if isinstance(schema, Mapping) and "schema" in schema:
        return f"Answer with one JSON value only, matching this JSON schema: {json.dumps(schema['schema'])}"
    return "Answer with one JSON value only."


def _turns(turns: list[Turn]) -> list[dict[str, Any]]:
    """Non-system turns as Anthropic messages: content blocks, consecutive turns of one side merged."""
    messages: list[dict[str, Any]] = []
    for turn in turns:
        role = "assistant" if turn.role == "assistant" else "user"
        blocks: list[dict[str, Any]] = []
        if turn.role == "tool":
            blocks.append({"type": "tool_result", "tool_use_id": turn.tool_call_id, "content": turn.content or ""})
        elif turn.content:
            blocks.append({"type": "text", "text": turn.content})
        blocks.extend(
            {"type": "tool_use", "id": c.id, "name": c.name, "input": c.parsed_arguments()} for c in turn.tool_calls
        )
        if messages and messages[-1]["role"] == role:
            messages[-1]["content"].extend(blocks)
        else:
            messages.append({"role": role, "content": blocks})
    return messages


def _answer(
    request: CompletionRequest,
    text: str,
    counts: dict[str, int],
    stop: str | None,
    tool_calls: tuple[ToolCall, ...] = (),
) -> SdkAnswer:
    """The answer with its usage; a ``refusal`` stop is answered (and billed) with a refusal."""
    refusal = f"{request.model} refused the request" if stop == "refusal" else None
    billed_text = "".join([text, *(c.arguments for c in tool_calls)])
    return SdkAnswer(
        text=text,
        usage=_usage(counts, billed_text, request),
        refusal=refusal,
        tool_calls=tool_calls,
        finish_reason=stop,
    )


def _usage(counts: dict[str, int], text: str, request: CompletionRequest) -> Usage:
    """Anthropic's usage, one to one (its ``input_tokens`` already exclude cached tokens)."""
    if "input_tokens" not in counts:  # a server that sent no usage: bill an upper bound, never zero
        return upper_bound_usage(request, text, output_tokens=counts.get("output_tokens"))
    return Usage(
        input_tokens=counts["input_tokens"],
        cached_input_tokens=counts.get("cache_read_input_tokens", 0),
        cache_write_tokens=counts.get("cache_creation_input_tokens", 0),
        output_tokens=counts.get("output_tokens", 0),
    )
