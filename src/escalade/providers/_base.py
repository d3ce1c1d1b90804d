"""The provider interface: one async method, ``complete(request) -> Completion``.

Everything a tier sends to a model goes through a :class:`Provider`; fakes, the replay provider
and (later) OpenAI/Anthropic adapters all implement it. Cost estimation before a call is a
separate one-method strategy, :class:`CostEstimator`, so the budget guard can bound spend without
knowing which backend answers.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol, runtime_checkable

from escalade.providers._messages import Message, Tool, ToolCall

__all__ = [
    "Completion",
    "CompletionRequest",
    "CostEstimate",
    "CostEstimator",
    "Provider",
    "Usage",
    "unhonoured_option",
]


@dataclass(frozen=True, kw_only=True)
class Usage:
    """Token usage normalised across providers."""

    #: Prompt tokens billed at the full input price.
    input_tokens: int = 0
    #: Prompt tokens served from the provider's prompt cache (billed at the cache-read price).
    cached_input_tokens: int = 0
    #: Prompt tokens written to the provider's prompt cache (billed at the cache-write price).
    cache_write_tokens: int = 0
    #: Generated tokens.
    output_tokens: int = 0
    #: True when the counts are estimates (e.g. replayed outcomes that recorded only a cost).
    estimated: bool = False

    @property
    def total_tokens(self) -> int:
        """All tokens, cached ones included."""
        return self.input_tokens + self.cached_input_tokens + self.cache_write_tokens + self.output_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            input_tokens=self.input_tokens + other.input_tokens,
            cached_input_tokens=self.cached_input_tokens + other.cached_input_tokens,
            cache_write_tokens=self.cache_write_tokens + other.cache_write_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            estimated=self.estimated or other.estimated,
        )


@dataclass(frozen=True, kw_only=True)
class CompletionRequest:
    """What one agent asks one model: a prompt, or a conversation with tools.

    The model reads :meth:`conversation`: ``system`` (if any), then ``messages``, then ``prompt`` as a
    last user turn (when not empty). Adapters carry ``tools``, ``tool_choice``, ``response_format``,
    ``temperature``, ``stop``, ``seed`` and ``user`` to the wire unchanged.

    >>> request = CompletionRequest(item_id="1", model="m", prompt="And 3 x 3?", system="Be brief.",
    ...     messages=(Message(role="user", content="2 x 2?"), Message(role="assistant", content="4")))
    >>> [m.role for m in request.conversation()]
    ['system', 'user', 'assistant', 'user']
    """

    #: Id of the work item the request serves (replay looks the recorded answer up by it).
    item_id: str
    #: Model to ask.
    model: str
    #: The user-facing prompt: the last user turn (empty when ``messages`` already end the conversation).
    prompt: str = ""
    #: Optional system instructions (team roles put their brief here).
    system: str | None = None
    #: Team role of the asking agent (``agent``, ``planner``, ``executor``, ``architect``, ``reviewer``).
    role: str = "agent"
    #: Cap on generated tokens.
    max_output_tokens: int = 1024
    #: Free-form extras for providers (never logged by escalade).
    metadata: Mapping[str, Any] = field(default_factory=dict)
    #: The conversation before ``prompt`` (system, user, assistant and tool turns).
    messages: tuple[Message, ...] = ()
    #: Tools the model may call.
    tools: tuple[Tool, ...] = ()
    #: ``auto``, ``none``, ``required`` or the name of one tool to call (``None``: the provider's default).
    tool_choice: str | None = None
    #: The answer's format, in OpenAI's form: ``{"type": "json_object"}`` or ``{"type": "json_schema", ...}``.
    response_format: Mapping[str, Any] | None = None
    #: Sampling temperature (``None``: the provider's default).
    temperature: float | None = None
    #: Sequences that end the answer.
    stop: tuple[str, ...] = ()
    #: Sampling seed (``None``: none); a backend that cannot honour it lists it in ``unsupported_options``.
    seed: int | None = None
    #: The end user the request serves (OpenAI's ``user``, Anthropic's ``metadata.user_id``).
    user: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "messages", tuple(self.messages))
        object.__setattr__(self, "tools", tuple(self.tools))
        object.__setattr__(self, "stop", tuple(self.stop))

    def conversation(self) -> tuple[Message, ...]:
        """Every turn the model reads, in order: ``system``, ``messages``, then ``prompt`` as a user turn."""
        head = (Message(role="system", content=self.system),) if self.system else ()
        tail = (Message(role="user", content=self.prompt),) if self.prompt else ()
        return head + self.messages + tail

    def texts(self) -> tuple[str, ...]:
        """Every text the request sends (turns, tool calls, tool definitions), for token estimates."""
        turns = tuple(text for message in self.conversation() for text in message.texts())
        return turns + tuple(tool.text() for tool in self.tools)


@dataclass(frozen=True, kw_only=True)
class Completion:
    """A model's answer with what it cost."""

    #: The answer text (``None`` when the backend recorded no text, e.g. correctness-only replays).
    text: str | None
    #: The model that answered.
    model: str
    #: Normalised usage.
    usage: Usage = field(default_factory=Usage)
    #: Cost in USD, or ``None`` when it is unknown (never silently zero).
    cost_usd: float | None = 0.0
    #: Model's self-reported confidence in [0, 1], when it gave one.
    confidence: float | None = None
    #: Wall time of the call in seconds.
    latency_s: float = 0.0
    #: Which price data the cost was computed from (e.g. ``genai-prices 0.2.3, data ...``), if any.
    price_data_version: str | None = None
    #: Tools the model asked to call (the answer then often has no text).
    tool_calls: tuple[ToolCall, ...] = ()
    #: Why the model stopped, as the provider says it (``stop``, ``length``, ``tool_calls``, ``end_turn``...).
    finish_reason: str | None = None


@dataclass(frozen=True, kw_only=True)
class CostEstimate:
    """Cost of a request before it is sent."""

    #: Best guess in USD.
    expected_usd: float
    #: Bound the budget guard reserves; the real bill must not exceed it.
    max_usd: float


@runtime_checkable
class CostEstimator(Protocol):
    """Estimates a request's cost before it is sent."""

    def estimate(self, request: CompletionRequest) -> CostEstimate:
        """Expected and worst-case cost of ``request`` in USD."""
        ...


class Provider(abc.ABC):
    """A model backend. Subclasses implement :meth:`complete` and nothing else.

    Errors a caller can act on are raised as :class:`~escalade.exceptions.ProviderError`
    subclasses; the cascade then tries the next model or tier.
    """

    #: Longest a call can take, in seconds, when the provider itself guarantees it (``None``: no
    #: promise, so the cascade puts its own timer on each call; in-memory providers promise 0).
    max_call_s: float | None = None
    #: Request options (:class:`CompletionRequest` field names) this backend cannot honour: a request
    #: that sets one is refused naming it (:func:`unhonoured_option`), never sent without it.
    unsupported_options: ClassVar[frozenset[str]] = frozenset()

    @abc.abstractmethod
    async def complete(self, request: CompletionRequest) -> Completion:
        """Answer ``request``."""


def unhonoured_option(provider: object, options: object) -> str | None:
    """The first option ``options`` sets (a request or its options) that ``provider`` cannot honour, else ``None``.

    >>> class NoSeed(Provider):
    ...     unsupported_options = frozenset({"seed"})
    ...     async def complete(self, request): ...
    >>> unhonoured_option(NoSeed(), CompletionRequest(item_id="1", model="m", seed=7))
    'seed'
    """
    names: frozenset[str] = getattr(provider, "unsupported_options", frozenset())
    return next((name for name in sorted(names) if getattr(options, name, None) not in (None, (), "")), None)
