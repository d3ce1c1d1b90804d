"""The OpenAI-compatible adapter against a local server speaking the chat-completions wire format."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from escalade.exceptions import (
    ContentPolicyError,
    ContextWindowError,
    ProviderAuthError,
    ProviderConnectionError,
    ProviderError,
    ProviderServerError,
    RateLimitedError,
    TransientProviderError,
)
from escalade.providers import Completion, CompletionRequest, OpenAICompatibleProvider
from escalade.providers.pricing import price_data_version
from tests.providers.wire import Body, Cut, Sse, replying, serve

KEY = "sk-test-abcdefghijklmnop"
USAGE = {
    "prompt_tokens": 1200,
    "completion_tokens": 30,
    "total_tokens": 1230,
    "prompt_tokens_details": {"cached_tokens": 1000},
}
DONE = Sse("[DONE]")


def _error(message: str, code: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": "invalid_request_error", "code": code, "param": None}}


def _chunk(delta: dict[str, Any] | None, finish: str | None = None, usage: dict[str, Any] | None = None) -> Sse:
    """A stream chunk; ``delta=None`` gives the final usage chunk, which has no choices."""
    choices = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}]
    return Sse(
        {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 0, "model": "m", "choices": choices}
        | ({"usage": usage} if usage is not None else {})
    )


def _stream(finish: str, *, usage: dict[str, Any] | None = USAGE) -> list[Sse | Cut]:
    """``hello`` in two deltas, the finish reason, then the usage chunk when there is one."""
    events: list[Sse | Cut] = [
        _chunk({"role": "assistant", "content": ""}),
        _chunk({"content": "hel"}),
        _chunk({"content": "lo"}),
        _chunk({}, finish),
    ]
    return [*events, _chunk(None, usage=usage), DONE] if usage is not None else [*events, DONE]


def _chat(path: str, headers: dict[str, str], body: dict[str, Any]) -> tuple[int, dict[str, str], Body]:
    model = body["model"]
    if model == "rate-limited":
        return 429, {"retry-after": "7"}, _error("Rate limit reached", "rate_limit_exceeded")
    if model == "too-long":
        return 400, {}, _error("This model's maximum context length is 8192 tokens.", "context_length_exceeded")
    if model == "bad-key":
        return 401, {}, _error(f"Incorrect API key provided: {KEY}.", "invalid_api_key")
    if model == "boom":
        return 500, {}, _error("internal error", "server_error")
    finish = "content_filter" if model == "filtered" else "stop"
    if body.get("stream"):
        return 200, {}, _stream(finish)
    return (
        200,
        {},
        {
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "created": 0,
            "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "hello"}, "finish_reason": finish}],
            "usage": USAGE,
        },
    )


def _ask(base_url: str, model: str, *, stream: bool = False) -> Completion:
    provider = OpenAICompatibleProvider(KEY, base_url=base_url, stream=stream)
    request = CompletionRequest(item_id="1", model=model, prompt="hi", system="be brief", max_output_tokens=50)
    return asyncio.run(provider.complete(request))


@pytest.mark.parametrize("stream", [False, True])
def test_completion_usage_and_cost(stream: bool) -> None:
    """Cached prompt tokens are cache reads, the rest plain input; the bill uses real prices, streamed or not."""
    with serve(_chat) as (url, seen):
        completion = _ask(url, "gpt-4o-mini", stream=stream)
    assert completion.text == "hello"
    assert (completion.usage.input_tokens, completion.usage.cached_input_tokens) == (200, 1000)
    assert completion.usage.output_tokens == 30
    assert not completion.usage.estimated
    # gpt-4o-mini: $0.15 input, $0.075 cached input, $0.60 output per MTok
    assert completion.cost_usd == pytest.approx((200 * 0.15 + 1000 * 0.075 + 30 * 0.60) / 1e6)
    assert completion.price_data_version == price_data_version()
    request = seen[0]
    assert request["path"] == "/v1/chat/completions"
    assert request["headers"]["authorization"] == f"Bearer {KEY}"
    assert request["body"]["messages"][0] == {"role": "system", "content": "be brief"}
    assert request["body"]["max_tokens"] == 50
    if stream:
        assert request["body"]["stream"] is True
        assert request["body"]["stream_options"] == {"include_usage": True}
    else:
        assert "stream" not in request["body"]
        assert "stream_options" not in request["body"]


def test_stream_without_usage_is_estimated() -> None:
    """A stream with no usage chunk is billed on an upper bound of its tokens, marked estimated, never less."""
    with serve(replying(_stream("stop", usage=None))) as (url, _):
        completion = _ask(url, "gpt-4o-mini", stream=True)
    assert completion.text == "hello"
    usage = completion.usage
    assert usage.estimated
    # a token per byte: "be brief" 8 + "hi" 2 + 16 per message and reply (48) input tokens; "hello" 5 output
    assert (usage.input_tokens, usage.cached_input_tokens, usage.output_tokens) == (58, 0, 5)
    assert completion.cost_usd == pytest.approx((58 * 0.15 + 5 * 0.60) / 1e6)


def test_unknown_model_cost_is_unknown() -> None:
    """A model with no known price returns its answer with cost None, never zero."""
    with serve(_chat) as (url, _):
        assert _ask(url, "my-local-llama").cost_usd is None


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize(
    ("model", "error"),
    [
        ("rate-limited", RateLimitedError),
        ("too-long", ContextWindowError),
        ("bad-key", ProviderAuthError),
        ("boom", ProviderServerError),
        ("filtered", ContentPolicyError),
    ],
)
def test_errors_are_typed(model: str, error: type[ProviderError], stream: bool) -> None:
    """429, context length, 401, 5xx and content filters map to the typed error tree, streamed or not."""
    with serve(_chat) as (url, seen), pytest.raises(error) as info:
        _ask(url, model, stream=stream)
    assert info.value.model == model
    assert len(seen) == 1  # the SDK's own retries are off
    assert seen[0]["body"].get("stream", False) is stream
    assert KEY not in str(info.value)
    # an HTTP error status bills nothing; a filtered answer was generated (its price is unknown here)
    assert info.value.maybe_billed is (model == "filtered")


def test_content_filter_carries_its_bill() -> None:
    """An answer stopped by the content filter was generated, so the error carries its bill."""

    def filtered(path: str, headers: dict[str, str], body: dict[str, Any]) -> tuple[int, dict[str, str], Body]:
        status, extra, payload = _chat(path, headers, body)
        assert isinstance(payload, dict)
        payload["choices"][0]["finish_reason"] = "content_filter"
        return status, extra, payload

    with serve(filtered) as (url, _), pytest.raises(ContentPolicyError) as info:
        _ask(url, "gpt-4o-mini")
    assert info.value.billed_usd == pytest.approx((200 * 0.15 + 1000 * 0.075 + 30 * 0.60) / 1e6)


@pytest.mark.parametrize("stream", [False, True])
def test_rate_limit_carries_retry_after(stream: bool) -> None:
    """The retry-after header is kept on the error, also when opening a stream."""
    with serve(_chat) as (url, _), pytest.raises(RateLimitedError) as info:
        _ask(url, "rate-limited", stream=stream)
    assert info.value.retry_after_s == 7.0


@pytest.mark.parametrize(
    "tail",
    [
        pytest.param([Cut.HANG_UP], id="hang-up"),
        pytest.param([Sse("{not json")], id="invalid-data"),
        pytest.param([Sse({"error": {"message": f"server error for {KEY}", "type": "server_error"}})], id="error"),
        pytest.param([DONE], id="no-finish-reason"),
    ],
)
def test_broken_stream_is_transient(tail: list[Sse | Cut]) -> None:
    """A stream that drops, sends bad data or an error, or ends unfinished is transient; the key never shows."""
    with (
        serve(replying([_chunk({"content": "hel"}), *tail])) as (url, _),
        pytest.raises(TransientProviderError) as info,
    ):
        _ask(url, "gpt-4o-mini", stream=True)
    assert info.value.model == "gpt-4o-mini"
    assert KEY not in str(info.value)
    assert info.value.maybe_billed  # the request had been accepted and was being answered


def test_unreachable_server_is_transient() -> None:
    """A refused connection is a transient connection error."""
    with serve(_chat) as (url, _):
        closed = url
    with pytest.raises(ProviderConnectionError) as info:
        _ask(closed, "gpt-4o-mini")
    assert not info.value.maybe_billed  # nothing reached the provider
