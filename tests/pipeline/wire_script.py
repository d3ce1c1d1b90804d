"""A local server speaking OpenAI's or Anthropic's wire format, answering each model from a script."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

from escalade.ladder import EscalationConfig, Ladder, Tier
from escalade.providers import AnthropicProvider, OpenAICompatibleProvider, Provider
from escalade.quality import FailureAnalysis, ScoringContext
from tests.providers.wire import Body, serve

KEY = "sk-test-abcdefghijklmnop"
Wire = Literal["openai", "anthropic"]

#: Priced models per tier: two cheap ones, so a rate-limited cheap model hands over to the other first.
MODELS: dict[Wire, dict[str, tuple[str, ...]]] = {
    "openai": {"cheap": ("gpt-4.1-nano", "gpt-4o-mini"), "capable": ("gpt-4.1-mini",), "premium": ("gpt-4.1",)},
    "anthropic": {
        "cheap": ("claude-haiku-4-5", "claude-sonnet-4-5"),
        "capable": ("claude-sonnet-4-6",),
        "premium": ("claude-opus-4-6",),
    },
}

#: A reply: an answer text, or an HTTP error (``429``, ``500``, ``"context"``).
Reply = str | int


def config(wire: Wire, **changes: Any) -> EscalationConfig:
    """Three tiers of one attempt each (thresholds 60), quick retries, no run cap."""
    tiers = Ladder(
        Tier(name=name, rank=rank, models=MODELS[wire][name], threshold=60.0, min_attempts=1, team_size=1)
        for rank, name in enumerate(("cheap", "capable", "premium"))
    )
    settings: dict[str, Any] = {"max_cost": None, "auto_approve_under": None, "retry_backoff_s": 0.0}
    return EscalationConfig(tiers=tiers, **(settings | changes))


def good_or_bad(context: ScoringContext) -> FailureAnalysis:
    """An answer containing ``good`` passes (CQS 100), any other fails (CQS 0)."""
    text = context.completion.text or ""
    return FailureAnalysis(signals={"good": 1.0 if "good" in text else 0.0}, weights={"good": 1.0})


def _error(wire: Wire, status: Reply) -> tuple[int, dict[str, str], Body]:
    if wire == "openai":
        code, message = {429: ("rate_limit_exceeded", "Rate limit reached"), 500: ("server_error", "boom")}.get(
            status if isinstance(status, int) else 0,
            ("context_length_exceeded", "This model's maximum context length is 8192 tokens."),
        )
        body: dict[str, Any] = {"error": {"message": message, "type": "x", "code": code, "param": None}}
    else:
        kind, message = {429: ("rate_limit_error", "rate limited"), 500: ("api_error", "boom")}.get(
            status if isinstance(status, int) else 0, ("invalid_request_error", "prompt is too long: 300000 tokens")
        )
        body = {"type": "error", "error": {"type": kind, "message": message}}
    http = status if isinstance(status, int) else 400
    return http, {"retry-after": "0"} if http == 429 else {}, body


def _answer(wire: Wire, model: str, text: str) -> Body:
    if wire == "openai":
        return {
            "id": "c",
            "object": "chat.completion",
            "created": 0,
            "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 20, "completion_tokens": 5, "total_tokens": 25},
        }
    return {
        "id": "m",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [{"type": "text", "text": text}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": 20, "output_tokens": 5},
    }


@dataclass
class Server:
    """The running server: its provider, and the models asked, in order."""

    provider: Provider
    seen: list[dict[str, Any]]

    @property
    def asked(self) -> list[str]:
        return [str(request["body"]["model"]) for request in self.seen]


@contextmanager
def scripted(wire: Wire, script: dict[str, list[Reply]]) -> Iterator[Server]:
    """A server answering each model with its script in turn (the last reply repeats; unscripted: ``good``)."""
    turns: dict[str, int] = {}

    def handler(path: str, headers: dict[str, str], body: dict[str, Any]) -> tuple[int, dict[str, str], Body]:
        model = str(body["model"])
        replies = script.get(model) or ["good answer"]
        reply = replies[min(turns.get(model, 0), len(replies) - 1)]
        turns[model] = turns.get(model, 0) + 1
        if isinstance(reply, str) and reply != "context":
            return 200, {}, _answer(wire, model, reply)
        return _error(wire, reply)

    with serve(handler) as (url, seen):
        provider: Provider = (
            OpenAICompatibleProvider(KEY, base_url=url)
            if wire == "openai"
            else AnthropicProvider(KEY, base_url=url.removesuffix("/v1"))
        )
        yield Server(provider, seen)
