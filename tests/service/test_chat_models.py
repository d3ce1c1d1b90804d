"""The chat request's bounds: turns, tools, content parts and stop sequences."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from escalade.service._chat_models import MAX_MESSAGES, MAX_TOOLS, ChatRequest

TURN = {"role": "user", "content": "hi"}
TOOL = {"type": "function", "function": {"name": "f", "parameters": {"type": "object", "properties": {}}}}


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"stop": ["a", "b", "c", "d", "e"]}, "stop"),
        ({"stop": "x" * 257}, "stop"),
        ({"tools": [TOOL] * (MAX_TOOLS + 1)}, "tools"),
        ({"messages": [TURN] * (MAX_MESSAGES + 1)}, "messages"),
        ({"messages": [{"role": "user", "content": [{"type": "text", "text": "a"}] * 257}]}, "messages"),
    ],
)
def test_oversized_lists_are_refused(extra: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as info:
        ChatRequest.model_validate({"model": "escalade/auto", "messages": [TURN], **extra})
    assert info.value.errors()[0]["loc"][0] == field


def test_requests_within_the_bounds_pass() -> None:
    body = {"model": "escalade/auto", "messages": [TURN] * 10, "stop": ["a", "b", "c", "d"], "tools": [TOOL] * 3}
    assert len(ChatRequest.model_validate(body).messages) == 10
