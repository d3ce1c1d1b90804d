"""The OpenAI-compatible adapter against a local server speaking the chat-completions wire format."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from escalade.exceptions import (
    ContentPolicyError,
    ContextWindowError,
    ProviderAuthError,
    ProviderError,
    RateLimitedError,
    TransientProviderError,
)
from escalade.providers.base import CompletionRequest
from escalade.providers.openai_compat import OpenAICompatibleProvider
from escalade.providers.prices import price_data_version
from tests.providers.wire import serve

KEY = "sk-test-abcdefghijklmnop"


def _error(message: str, code: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": "invalid_request_error", "code": code, "param": None}}


def _chat(path: str, headers: dict[str, str], body: dict[str, Any]) -> tuple[int, dict[str, str], dict[str, Any]]:
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
    return (
        200,
        {},
        {
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "created": 0,
            "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "hello"}, "finish_reason": finish}],
            "usage": {
                "prompt_tokens": 1200,
                "completion_tokens": 30,
                "total_tokens": 1230,
                "prompt_tokens_details": {"cached_tokens": 1000},
            },
        },
    )


def _ask(base_url: str, model: str) -> Any:
    provider = OpenAICompatibleProvider(KEY, base_url=base_url)
    request = CompletionRequest(item_id="1", model=model, prompt="hi", system="be brief", max_output_tokens=50)
    return asyncio.run(provider.complete(request))


def test_completion_usage_and_cost() -> None:
    """Cached prompt tokens are cache reads, the rest plain input; the bill uses real prices."""
    with serve(_chat) as (url, seen):
        completion = _ask(url, "gpt-4o-mini")
    assert completion.text == "hello"
    assert (completion.usage.input_tokens, completion.usage.cached_input_tokens) == (200, 1000)
    assert completion.usage.output_tokens == 30
    # gpt-4o-mini: $0.15 input, $0.075 cached input, $0.60 output per MTok
    assert completion.cost_usd == pytest.approx((200 * 0.15 + 1000 * 0.075 + 30 * 0.60) / 1e6)
    assert completion.price_data_version == price_data_version()
    request = seen[0]
    assert request["path"] == "/v1/chat/completions"
    assert request["headers"]["authorization"] == f"Bearer {KEY}"
    assert request["body"]["messages"][0] == {"role": "system", "content": "be brief"}
    assert request["body"]["max_tokens"] == 50


def test_unknown_model_cost_is_unknown() -> None:
    """A model with no known price returns its answer with cost None, never zero."""
    with serve(_chat) as (url, _):
        assert _ask(url, "my-local-llama").cost_usd is None


@pytest.mark.parametrize(
    ("model", "error"),
    [
        ("rate-limited", RateLimitedError),
        ("too-long", ContextWindowError),
        ("bad-key", ProviderAuthError),
        ("boom", TransientProviderError),
        ("filtered", ContentPolicyError),
    ],
)
def test_errors_are_typed(model: str, error: type[ProviderError]) -> None:
    """429, context length, 401, 5xx and content filters map to the typed error tree."""
    with serve(_chat) as (url, seen), pytest.raises(error) as info:
        _ask(url, model)
    assert info.value.model == model
    assert len(seen) == 1  # the SDK's own retries are off
    assert KEY not in str(info.value)


def test_rate_limit_carries_retry_after() -> None:
    """The retry-after header is kept on the error."""
    with serve(_chat) as (url, _), pytest.raises(RateLimitedError) as info:
        _ask(url, "rate-limited")
    assert info.value.retry_after_s == 7.0


def test_unreachable_server_is_transient() -> None:
    """A refused connection is a transient error."""
    with serve(_chat) as (url, _):
        closed = url
    with pytest.raises(TransientProviderError):
        _ask(closed, "gpt-4o-mini")
