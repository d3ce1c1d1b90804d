"""A request as the caller writes it (a prompt or a conversation, files) turned into one work item."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from escalade.exceptions import ConfigError
from escalade.providers import Message, ToolCall
from escalade.untrusted import read_text

__all__ = ["MAX_REQUEST_FILE_BYTES", "PromptOrMessages", "as_messages", "files_message", "read_files", "split_prompt"]

#: Largest file a request shows the model (each file is read whole into the prompt).
MAX_REQUEST_FILE_BYTES = 1 << 20

#: A plain prompt, or a conversation of :class:`Message` objects or OpenAI-style dicts.
PromptOrMessages = str | Sequence[Message | Mapping[str, Any]]


def as_messages(conversation: Sequence[Message | Mapping[str, Any]]) -> tuple[Message, ...]:
    """``conversation`` as messages; a dict is read in OpenAI's chat form (``role``, ``content``, ``tool_calls``...)."""
    messages: list[Message] = []
    for number, turn in enumerate(conversation, start=1):
        if isinstance(turn, Message):
            messages.append(turn)
            continue
        if not isinstance(turn, Mapping) or "role" not in turn:
            raise ConfigError(f"message {number} must be a Message or a dict with a 'role'", field="messages")
        messages.append(_message(turn, number))
    if not messages:
        raise ConfigError("the conversation is empty: give a prompt or at least one message", field="messages")
    return tuple(messages)


def _message(turn: Mapping[str, Any], number: int) -> Message:
    """One OpenAI-style dict as a message; a malformed one is a :class:`ConfigError` naming the turn."""
    try:
        calls = tuple(
            ToolCall(id=c["id"], name=c["function"]["name"], arguments=c["function"].get("arguments") or "{}")
            for c in turn.get("tool_calls") or ()
        )
        return Message(
            role=turn["role"], content=turn.get("content"), tool_calls=calls, tool_call_id=turn.get("tool_call_id")
        )
    except ConfigError as exc:
        raise ConfigError(f"message {number}: {exc.message}", field=exc.field or "messages") from exc
    except (KeyError, TypeError, AttributeError) as exc:
        detail = f"missing {exc}" if isinstance(exc, KeyError) else str(exc)
        message = f"message {number}: a tool call needs id, function.name and function.arguments ({detail})"
        raise ConfigError(message, field="messages") from exc


def split_prompt(request: PromptOrMessages) -> tuple[str, tuple[Message, ...]]:
    """The prompt (the last user turn, ``""`` when the conversation ends otherwise) and the turns before it."""
    if isinstance(request, str):
        if not request.strip():
            raise ConfigError("the prompt is empty", field="prompt")
        return request, ()
    messages = as_messages(request)
    last = messages[-1]
    if last.role == "user" and last.content:
        return last.content, messages[:-1]
    return "", messages


def read_files(files: Sequence[str | Path]) -> dict[str, str]:
    """The contents of ``files`` by path, each a UTF-8 file of at most :data:`MAX_REQUEST_FILE_BYTES`.

    A file that cannot be read, is not UTF-8 or is too large is a :class:`ConfigError` naming it.
    """
    contents: dict[str, str] = {}
    for name in files:
        path = Path(name)
        contents[str(path)] = read_text(path, what="file", error=ConfigError, limit=MAX_REQUEST_FILE_BYTES)
    return contents


def files_message(contents: Mapping[str, str]) -> Message:
    """One user turn that shows the model the files, each in a fenced block under its path."""
    blocks = [f"File {path}:\n```\n{text}\n```" for path, text in contents.items()]
    return Message(role="user", content="\n\n".join(blocks))
