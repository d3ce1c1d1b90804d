"""A chat answer as OpenAI's server-sent events: ``chat.completion.chunk`` objects, then ``data: [DONE]``.

The cascade judges an answer before accepting it (and may climb to a stronger model), so nothing
can be sent before the pipeline has decided: the stream starts once the answer is final, and an
error (a budget refusal, an upstream failure) is still an HTTP status, not a broken stream. What
the stream then carries is OpenAI's sequence: a first chunk with the assistant's role, the text,
the tool calls (each with its ``index``, ``id``, ``type`` and ``function`` name and arguments), a
last chunk with the ``finish_reason`` and the ``escalade`` trace, and, with
``stream_options.include_usage``, a usage chunk with no choices.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

from escalade.pipeline import GenerateResult
from escalade.service._chat_answer import completion_id, finish_reason, trace_of, usage_of

__all__ = ["chat_events"]

#: Characters of text per chunk (a long answer comes in several, as clients expect of a stream).
CHUNK_CHARS = 512


def _event(data: dict[str, Any]) -> bytes:
    return f"data: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


def chat_events(result: GenerateResult, *, model: str, include_usage: bool) -> Iterator[bytes]:
    """The events of ``result``'s answer (see the module docstring); ``model`` is the name asked for."""
    head = {"id": completion_id(), "object": "chat.completion.chunk", "created": int(time.time()), "model": model}

    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> bytes:
        choice = {"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}
        return _event({**head, "choices": [choice], **extra})

    yield chunk({"role": "assistant", "content": ""})
    text = result.text or ""
    for start in range(0, len(text), CHUNK_CHARS):
        yield chunk({"content": text[start : start + CHUNK_CHARS]})
    for index, call in enumerate(result.tool_calls):
        function = {"name": call.name, "arguments": call.arguments}
        yield chunk({"tool_calls": [{"index": index, "id": call.id, "type": "function", "function": function}]})
    yield chunk({}, finish_reason(result), escalade=trace_of(result).model_dump())
    if include_usage:
        yield _event({**head, "choices": [], "usage": usage_of(result).model_dump()})
    yield b"data: [DONE]\n\n"
