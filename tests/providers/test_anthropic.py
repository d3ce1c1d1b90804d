"""The Anthropic adapter against a local server speaking the Messages wire format."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from escalade.exceptions import (
    ContentPolicyError,
    ContextWindowError,
    ProviderAuthError,
    ProviderError,
    ProviderServerError,
    RateLimitedError,
    TransientProviderError,
)
from escalade.providers import AnthropicProvider, Completion, CompletionRequest
from tests.providers.wire import Body, Cut, Sse, replying, serve

KEY = "sk-ant-test-abcdefghijklmnop"
MODEL = "claude-haiku-4-5"
USAGE = {"input_tokens": 400, "cache_creation_input_tokens": 100, "cache_read_input_tokens": 500, "output_tokens": 10}


def _error(kind: str, message: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": kind, "message": message}}


def _event(kind: str, **fields: Any) -> Sse:
    return Sse({"type": kind, **fields}, event=kind)


def _start(usage: dict[str, Any] | None) -> Sse:
    """``message_start``: the message so far, with its usage unless ``usage`` is None."""
    message: dict[str, Any] = {"id": "msg_1", "type": "message", "role": "assistant", "model": MODEL}
    message |= {"content": [], "stop_reason": None, "stop_sequence": None}
    return _event("message_start", message=message | ({"usage": usage} if usage is not None else {}))


def _text(text: str) -> Sse:
    return _event("content_block_delta", index=0, delta={"type": "text_delta", "text": text})


def _stream(stop: str, *, start_usage: dict[str, Any] | None) -> list[Sse | Cut]:
    """``hello`` in two deltas between the message events, with a ping."""
    return [
        _start(start_usage),
        _event("content_block_start", index=0, content_block={"type": "text", "text": ""}),
        _event("ping"),
        _text("hel"),
        _text("lo"),
        _event("content_block_stop", index=0),
        _event("message_delta", delta={"stop_reason": stop, "stop_sequence": None}, usage={"output_tokens": 10}),
        _event("message_stop"),
    ]


def _messages(path: str, headers: dict[str, str], body: dict[str, Any]) -> tuple[int, dict[str, str], Body]:
    model = body["model"]
    if model == "rate-limited":
        return 429, {"retry-after": "3"}, _error("rate_limit_error", "Number of requests has exceeded your rate limit")
    if model == "too-long":
        return 400, {}, _error("invalid_request_error", "prompt is too long: 210000 tokens > 200000 maximum")
    if model == "bad-key":
        return 401, {}, _error("authentication_error", f"invalid x-api-key {KEY}")
    if model == "overloaded":
        return 529, {}, _error("overloaded_error", "Overloaded")
    stop = "refusal" if model == "refuses" else "end_turn"
    if body.get("stream"):
        return 200, {}, _stream(stop, start_usage=USAGE | {"output_tokens": 1})
    return (
        200,
        {},
        {
            "id": "msg_1",
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": [{"type": "text", "text": "hello"}],
            "stop_reason": stop,
            "stop_sequence": None,
            "usage": USAGE,
        },
    )


def _ask(base_url: str, model: str, *, stream: bool = False) -> Completion:
    provider = AnthropicProvider(KEY, base_url=base_url.removesuffix("/v1"), stream=stream)
    request = CompletionRequest(item_id="1", model=model, prompt="hi", system="be brief", max_output_tokens=50)
    return asyncio.run(provider.complete(request))


@pytest.mark.parametrize("stream", [False, True])
def test_message_usage_with_cache_reads_and_writes(stream: bool) -> None:
    """Cache reads and writes are kept apart and billed at their own prices, streamed or not."""
    with serve(_messages) as (url, seen):
        completion = _ask(url, MODEL, stream=stream)
    assert completion.text == "hello"
    usage = completion.usage
    assert (usage.input_tokens, usage.cached_input_tokens, usage.cache_write_tokens) == (400, 500, 100)
    assert usage.output_tokens == 10  # the stream's last message_delta count, not message_start's
    assert not usage.estimated
    # Claude Haiku 4.5: $1 input, $0.10 cache read, $1.25 cache write, $5 output per MTok
    assert completion.cost_usd == pytest.approx((400 * 1 + 500 * 0.10 + 100 * 1.25 + 10 * 5) / 1e6)
    request = seen[0]
    assert request["path"] == "/v1/messages"
    assert request["headers"]["x-api-key"] == KEY
    assert request["body"]["system"] == "be brief"
    assert request["body"]["max_tokens"] == 50
    assert request["body"].get("stream", False) is stream


def test_stream_message_delta_usage_wins() -> None:
    """Input and cache counts repeated in the last message_delta replace those of message_start."""
    events = _stream("end_turn", start_usage=USAGE | {"output_tokens": 1})
    final = {
        "input_tokens": 410,
        "cache_creation_input_tokens": 90,
        "cache_read_input_tokens": 500,
        "output_tokens": 12,
    }
    events[-2] = _event("message_delta", delta={"stop_reason": "end_turn", "stop_sequence": None}, usage=final)
    with serve(replying(events)) as (url, _):
        usage = _ask(url, MODEL, stream=True).usage
    assert (usage.input_tokens, usage.cached_input_tokens, usage.cache_write_tokens, usage.output_tokens) == (
        410,
        500,
        90,
        12,
    )


def test_stream_without_usage_is_estimated() -> None:
    """A stream with no input usage is billed on an upper bound of the prompt's tokens, marked estimated."""
    with serve(replying(_stream("end_turn", start_usage=None))) as (url, _):
        completion = _ask(url, MODEL, stream=True)
    usage = completion.usage
    assert usage.estimated
    # a token per byte: "be brief" 8 + "hi" 2 + 48 of chat overhead; the output count the stream did send
    assert (usage.input_tokens, usage.cached_input_tokens, usage.output_tokens) == (58, 0, 10)
    assert completion.cost_usd == pytest.approx((58 * 1 + 10 * 5) / 1e6)


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize(
    ("model", "error"),
    [
        ("rate-limited", RateLimitedError),
        ("too-long", ContextWindowError),
        ("bad-key", ProviderAuthError),
        ("overloaded", ProviderServerError),
        ("refuses", ContentPolicyError),
    ],
)
def test_errors_are_typed(model: str, error: type[ProviderError], stream: bool) -> None:
    """429, prompt too long, 401, overloaded and refusals map to the typed tree, streamed or not; no key shows."""
    with serve(_messages) as (url, seen), pytest.raises(error) as info:
        _ask(url, model, stream=stream)
    assert info.value.model == model
    assert len(seen) == 1
    assert seen[0]["body"].get("stream", False) is stream
    assert KEY not in str(info.value)
    if isinstance(info.value, RateLimitedError):
        assert info.value.retry_after_s == 3.0
    # an HTTP error status (529 overloaded included) bills nothing; a refusal was answered
    assert info.value.maybe_billed is (model == "refuses")


def test_refusal_carries_its_bill() -> None:
    """A refusal from a priced model carries the bill of its usage."""

    def refusing(path: str, headers: dict[str, str], body: dict[str, Any]) -> tuple[int, dict[str, str], Body]:
        status, extra, payload = _messages(path, headers, body)
        assert isinstance(payload, dict)
        return status, extra, payload | {"stop_reason": "refusal"}

    with serve(refusing) as (url, _), pytest.raises(ContentPolicyError) as info:
        _ask(url, MODEL)
    assert info.value.billed_usd == pytest.approx((400 * 1 + 500 * 0.10 + 100 * 1.25 + 10 * 5) / 1e6)


@pytest.mark.parametrize(
    ("tail", "error"),
    [
        pytest.param(
            [_event("error", error={"type": "overloaded_error", "message": "Overloaded"})],
            ProviderServerError,
            id="overloaded",
        ),
        pytest.param(
            [_event("error", error={"type": "api_error", "message": f"failed for {KEY}"})],
            ProviderServerError,
            id="api-error",
        ),
        pytest.param(
            [_event("error", error={"type": "rate_limit_error", "message": "slow down"})],
            RateLimitedError,
            id="rate-limit",
        ),
        pytest.param([Cut.HANG_UP], TransientProviderError, id="hang-up"),
        pytest.param([Sse("{not json", event="content_block_delta")], TransientProviderError, id="invalid-data"),
        pytest.param([], TransientProviderError, id="no-message-stop"),
    ],
)
def test_broken_stream_is_typed(tail: list[Sse | Cut], error: type[ProviderError]) -> None:
    """An error event, a dropped connection, bad data or a missing message_stop mid-stream are typed errors."""
    events = [_start(USAGE), _text("hel"), *tail]
    with serve(replying(events)) as (url, _), pytest.raises(error) as info:
        _ask(url, MODEL, stream=True)
    assert info.value.model == MODEL
    assert KEY not in str(info.value)
    assert info.value.maybe_billed  # the stream had begun: the provider may bill it


@pytest.mark.parametrize("cache_prompts", [False, True])
def test_cache_breakpoint_on_the_prompt(cache_prompts: bool) -> None:
    """With cache_prompts, the prompt ends with an ephemeral cache breakpoint; without, it is plain text."""
    with serve(_messages) as (url, seen):
        provider = AnthropicProvider(KEY, base_url=url.removesuffix("/v1"), cache_prompts=cache_prompts)
        asyncio.run(provider.complete(CompletionRequest(item_id="1", model=MODEL, prompt="long shared context")))
    content = seen[0]["body"]["messages"][0]["content"]
    if cache_prompts:
        assert content == [{"type": "text", "text": "long shared context", "cache_control": {"type": "ephemeral"}}]
    else:
        assert content == "long shared context"


def test_context_window_from_the_price_data() -> None:
    """The adapter knows each model's context window from the price data, and None for an unknown model."""
    provider = AnthropicProvider(KEY, base_url="http://127.0.0.1:9")
    assert provider.context_window("claude-sonnet-4-0") == 200_000
    assert provider.context_window("no-such-model") is None
