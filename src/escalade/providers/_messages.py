"""Chat requests: messages, tool definitions and tool calls, carried to the wire unchanged.

A :class:`~escalade.providers._base.CompletionRequest` is a plain prompt (``prompt``, ``system``)
or a conversation: ``messages`` (system, user, assistant and tool turns), with ``tools`` the model
may call. Adapters translate these small frozen values into each SDK's format and read the
model's :class:`ToolCall` objects back.

>>> call = ToolCall(id="c1", name="add", arguments='{"a": 1, "b": 2}')
>>> call.parsed_arguments()
{'a': 1, 'b': 2}
>>> Message(role="tool", content="3", tool_call_id="c1").role
'tool'
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from escalade.exceptions import ConfigError

__all__ = ["Message", "RequestOptions", "Role", "Tool", "ToolCall"]

#: Who speaks a message.
Role = Literal["system", "user", "assistant", "tool"]
_ROLES = ("system", "user", "assistant", "tool")


@dataclass(frozen=True, kw_only=True)
class ToolCall:
    """A call of one tool the model asked for."""

    #: The provider's id of the call; a tool result answers it by this id.
    id: str
    #: Name of the tool.
    name: str
    #: The arguments as the model wrote them: JSON text (not checked, the model may be wrong).
    arguments: str = "{}"

    def parsed_arguments(self) -> Any:
        """The arguments decoded from JSON (``ConfigError`` naming the call when they are not JSON)."""
        try:
            return json.loads(self.arguments or "{}")
        except json.JSONDecodeError as exc:
            raise ConfigError(f"tool call {self.id!r} ({self.name}): arguments are not JSON: {exc}") from exc


@dataclass(frozen=True, kw_only=True)
class Message:
    """One turn of a conversation."""

    #: ``system``, ``user``, ``assistant`` or ``tool``.
    role: Role
    #: The text of the turn (``None`` for an assistant turn that only calls tools).
    content: str | None = None
    #: Tools an assistant turn called.
    tool_calls: tuple[ToolCall, ...] = ()
    #: The call a ``tool`` turn answers.
    tool_call_id: str | None = None

    def __post_init__(self) -> None:
        if self.role not in _ROLES:
            raise ConfigError(f"message role must be one of {', '.join(_ROLES)}, got {self.role!r}", field="role")
        if self.role == "tool" and not self.tool_call_id:
            raise ConfigError("a tool message needs the tool_call_id of the call it answers", field="tool_call_id")
        if self.tool_calls and self.role != "assistant":
            raise ConfigError(f"only assistant messages call tools, not {self.role!r}", field="tool_calls")
        object.__setattr__(self, "tool_calls", tuple(self.tool_calls))

    def texts(self) -> tuple[str, ...]:
        """The text this turn sends: its content and its calls' names and arguments."""
        calls = tuple(f"{c.name}({c.arguments})" for c in self.tool_calls)
        return ((self.content,) if self.content else ()) + calls


@dataclass(frozen=True, kw_only=True)
class Tool:
    """A tool the model may call, described by a JSON schema of its parameters."""

    #: Name the model calls it by.
    name: str
    #: What it does, for the model.
    description: str = ""
    #: JSON schema of its arguments (an object schema).
    parameters: Mapping[str, Any] = field(default_factory=lambda: {"type": "object", "properties": {}})

    def __post_init__(self) -> None:
        if not self.name:
            raise ConfigError("a tool needs a name", field="name")

    def text(self) -> str:
        """The definition as the model reads it (for token estimates)."""
        return json.dumps({"name": self.name, "description": self.description, "parameters": dict(self.parameters)})


@dataclass(frozen=True, kw_only=True)
class RequestOptions:
    """What a request carries beyond its prompt, kept by a work item for every call it makes.

    Each field means what the :class:`~escalade.providers._base.CompletionRequest` field of the
    same name means; ``max_output_tokens`` replaces the configuration's cap when set.
    """

    #: The conversation before the prompt.
    messages: tuple[Message, ...] = ()
    #: Tools the model may call.
    tools: tuple[Tool, ...] = ()
    #: ``auto``, ``none``, ``required`` or a tool's name.
    tool_choice: str | None = None
    #: The answer's format, in OpenAI's form.
    response_format: Mapping[str, Any] | None = None
    #: Sampling temperature.
    temperature: float | None = None
    #: Sequences that end the answer.
    stop: tuple[str, ...] = ()
    #: Cap on generated tokens (``None``: the configuration's ``max_output_tokens``).
    max_output_tokens: int | None = None
    #: Sampling seed, for reproducible answers where the backend supports it.
    seed: int | None = None
    #: The end user the request serves, as the caller names them (for the provider's abuse checks).
    user: str | None = None

    def __post_init__(self) -> None:
        for name in ("messages", "tools", "stop"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        if self.max_output_tokens is not None and self.max_output_tokens < 1:
            raise ConfigError(f"must be at least 1, got {self.max_output_tokens}", field="max_output_tokens")
        if self.temperature is not None and not 0 <= self.temperature <= 2:
            raise ConfigError(f"must be in [0, 2], got {self.temperature}", field="temperature")
