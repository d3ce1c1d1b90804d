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
    RateLimitedError,
    TransientProviderError,
)
from escalade.providers.anthropic_messages import AnthropicProvider
from escalade.providers.base import CompletionRequest
from tests.providers.wire import serve

KEY = "sk-ant-test-abcdefghijklmnop"
MODEL = "claude-haiku-4-5"


def _error(kind: str, message: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": kind, "message": message}}


def _messages(path: str, headers: dict[str, str], body: dict[str, Any]) -> tuple[int, dict[str, str], dict[str, Any]]:
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
            "usage": {
                "input_tokens": 400,
                "cache_creation_input_tokens": 100,
                "cache_read_input_tokens": 500,
                "output_tokens": 10,
            },
        },
    )


def _ask(base_url: str, model: str) -> Any:
    provider = AnthropicProvider(KEY, base_url=base_url)
    request = CompletionRequest(item_id="1", model=model, prompt="hi", system="be brief", max_output_tokens=50)
    return asyncio.run(provider.complete(request))


def test_message_usage_with_cache_reads_and_writes() -> None:
    """Cache reads and writes are kept apart and billed at their own prices."""
    with serve(_messages) as (url, seen):
        completion = _ask(url.removesuffix("/v1"), MODEL)
    assert completion.text == "hello"
    usage = completion.usage
    assert (usage.input_tokens, usage.cached_input_tokens, usage.cache_write_tokens) == (400, 500, 100)
    # Claude Haiku 4.5: $1 input, $0.10 cache read, $1.25 cache write, $5 output per MTok
    assert completion.cost_usd == pytest.approx((400 * 1 + 500 * 0.10 + 100 * 1.25 + 10 * 5) / 1e6)
    request = seen[0]
    assert request["path"] == "/v1/messages"
    assert request["headers"]["x-api-key"] == KEY
    assert request["body"]["system"] == "be brief"
    assert request["body"]["max_tokens"] == 50


@pytest.mark.parametrize(
    ("model", "error"),
    [
        ("rate-limited", RateLimitedError),
        ("too-long", ContextWindowError),
        ("bad-key", ProviderAuthError),
        ("overloaded", TransientProviderError),
        ("refuses", ContentPolicyError),
    ],
)
def test_errors_are_typed(model: str, error: type[ProviderError]) -> None:
    """429, prompt too long, 401, overloaded and refusals map to the typed tree; the key never shows."""
    with serve(_messages) as (url, seen), pytest.raises(error) as info:
        _ask(url.removesuffix("/v1"), model)
    assert len(seen) == 1
    assert KEY not in str(info.value)
    if isinstance(info.value, RateLimitedError):
        assert info.value.retry_after_s == 3.0
