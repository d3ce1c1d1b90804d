"""A fake upstream for the chat endpoint's tests: a local server speaking OpenAI's or Anthropic's wire format.

Each model answers from a script (the last reply repeats): a text, an HTTP error status, or
:data:`TOOL`, a call of ``get_weather``. Unscripted, a model answers ``"good answer"``, calls
``get_weather`` when the request offers tools and its last turn is not a tool result, and, after a
tool result, answers with that result.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from tests.providers.wire import Body, serve

Wire = Literal["openai", "anthropic"]
#: A model's reply: a text, an HTTP status, or :data:`TOOL`.
Reply = str | int
TOOL = "<tool call>"
WEATHER = {"city": "Paris"}

#: One priced model per tier, per wire.
MODELS: dict[Wire, dict[str, str]] = {
    "openai": {"cheap": "gpt-4.1-nano", "capable": "gpt-4.1-mini", "premium": "gpt-4.1"},
    "anthropic": {"cheap": "claude-haiku-4-5", "capable": "claude-sonnet-4-6", "premium": "claude-opus-4-6"},
}


def ladder_toml(wire: Wire) -> str:
    """A ladder of one model per tier that accepts any answer, never waits, never retries a model."""
    head = "max_cost = 5.0\nauto_approve_under = 5.0\nretry_backoff_s = 0.0\nmax_retries = 0\n"
    tiers = "".join(
        f'\n[[tiers]]\nname = "{tier}"\nmodels = ["{model}"]\nthreshold = 0\nmin_attempts = 1\nteam_size = 1\n'
        for tier, model in MODELS[wire].items()
    )
    return head + tiers


def write_ladder(folder: Path, wire: Wire) -> Path:
    """The ladder of :func:`ladder_toml` in a file of ``folder``."""
    path = folder / f"ladder-{wire}.toml"
    path.write_text(ladder_toml(wire), encoding="utf-8")
    return path


def _last_is_tool(wire: Wire, body: dict[str, Any]) -> str | None:
    """The text of the request's last turn when it is a tool result."""
    last = body["messages"][-1]
    if wire == "openai":
        return str(last["content"]) if last["role"] == "tool" else None
    blocks = last["content"] if isinstance(last["content"], list) else []
    results = [b for b in blocks if b.get("type") == "tool_result"]
    return str(results[-1]["content"]) if results else None


def _openai(model: str, text: str | None, call: bool) -> Body:
    message: dict[str, Any] = {"role": "assistant", "content": text}
    if call:
        function = {"name": "get_weather", "arguments": json.dumps(WEATHER)}
        message["tool_calls"] = [{"id": "call_1", "type": "function", "function": function}]
    choice = {"index": 0, "message": message, "finish_reason": "tool_calls" if call else "stop"}
    usage = {"prompt_tokens": 20, "completion_tokens": 5, "total_tokens": 25}
    return {"id": "c", "object": "chat.completion", "created": 0, "model": model, "choices": [choice], "usage": usage}


def _anthropic(model: str, text: str | None, call: bool) -> Body:
    content: list[dict[str, Any]] = [{"type": "text", "text": text}] if text else []
    if call:
        content.append({"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": WEATHER})
    return {
        "id": "m",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": "tool_use" if call else "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": 20, "output_tokens": 5},
    }


def _error(wire: Wire, status: int) -> tuple[int, dict[str, str], Body]:
    if wire == "openai":
        code = "rate_limit_exceeded" if status == 429 else "server_error"
        body: Body = {"error": {"message": f"upstream said {status}", "type": "x", "code": code, "param": None}}
    else:
        kind = "rate_limit_error" if status == 429 else "api_error"
        body = {"type": "error", "error": {"type": kind, "message": f"upstream said {status}"}}
    return status, {"retry-after": "0"} if status == 429 else {}, body


@dataclass
class Upstream:
    """The running fake: its base URL (as the adapter takes it) and the requests it received."""

    url: str
    seen: list[dict[str, Any]] = field(default_factory=list)

    @property
    def bodies(self) -> list[dict[str, Any]]:
        return [request["body"] for request in self.seen]

    @property
    def asked(self) -> list[str]:
        return [str(body["model"]) for body in self.bodies]


@contextmanager
def upstream(wire: Wire = "openai", script: dict[str, list[Reply]] | None = None) -> Iterator[Upstream]:
    """Run the fake (see the module docstring) on 127.0.0.1."""
    turns: dict[str, int] = {}
    answer = _openai if wire == "openai" else _anthropic

    def handler(path: str, headers: dict[str, str], body: dict[str, Any]) -> tuple[int, dict[str, str], Body]:
        model = str(body["model"])
        replies = (script or {}).get(model)
        if replies:
            reply = replies[min(turns.get(model, 0), len(replies) - 1)]
            turns[model] = turns.get(model, 0) + 1
            if isinstance(reply, int):
                return _error(wire, reply)
            return 200, {}, answer(model, None if reply == TOOL else reply, reply == TOOL)
        result = _last_is_tool(wire, body)
        if result is not None:
            return 200, {}, answer(model, f"good answer: {result}", False)
        return 200, {}, answer(model, None if body.get("tools") else "good answer", bool(body.get("tools")))

    with serve(handler) as (url, seen):
        yield Upstream(url if wire == "openai" else url.removesuffix("/v1"), seen)
