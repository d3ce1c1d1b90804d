"""The bodies of ``/v1/chat/completions`` and ``/v1/models`` in OpenAI's shapes, and the request read as escalade's.

The request lists every field of OpenAI's chat API and forbids any other, so that a typo or a field
this server does not know is a 400 naming it (the official SDKs send only the fields their caller
set). A field the server knows but cannot honour (``n`` above 1, ``logprobs``, ``logit_bias``, the
penalties, ``top_p``, audio...) is a 400 naming it too when it is set to anything but its default:
nothing is dropped silently. Only text reaches the model: a content part of another kind is a 400
naming the part.

>>> body = ChatRequest.model_validate({"model": "escalade/auto", "messages": [
...     {"role": "developer", "content": "Be brief."}, {"role": "user", "content": [{"type": "text", "text": "Hi"}]}]})
>>> [(m.role, m.content) for m in body.conversation()]
[('system', 'Be brief.'), ('user', 'Hi')]
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from escalade.providers import Message, Tool, ToolCall
from escalade.service._errors import ApiError

__all__ = [
    "ChatCompletion",
    "ChatRequest",
    "ChatUsage",
    "EscaladeTrace",
    "ModelCard",
    "ModelList",
]

#: Most turns, tools, content parts of a turn and stop sequences a request may carry (OpenAI allows 4 stops).
MAX_MESSAGES = 2048
MAX_TOOLS = 128
MAX_PARTS = 256


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ContentPart(BaseModel):
    """One part of a message's content; only ``text`` parts can be sent (the others are refused by name)."""

    model_config = ConfigDict(extra="allow")  # an image or audio part's own fields; refused by its type

    type: str
    text: str | None = None


class FunctionCall(_Strict):
    name: str
    #: The arguments as JSON text, as the model wrote them.
    arguments: str = "{}"


class ToolCallIn(_Strict):
    """A tool call of an earlier assistant turn."""

    id: str
    type: Literal["function"] = "function"
    function: FunctionCall


class ChatMessage(_Strict):
    """One turn: ``system``, ``developer`` (read as system), ``user``, ``assistant`` or ``tool``."""

    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | Annotated[list[ContentPart], Field(max_length=MAX_PARTS)] | None = None
    name: str | None = None
    tool_calls: list[ToolCallIn] | None = None
    tool_call_id: str | None = None
    refusal: str | None = None


class FunctionDef(_Strict):
    name: str = Field(min_length=1, max_length=64)
    description: str = ""
    parameters: dict[str, Any] | None = None
    strict: bool | None = None


class ToolDef(_Strict):
    """A tool the model may call."""

    type: Literal["function"] = "function"
    function: FunctionDef


class NamedFunction(_Strict):
    name: str


class NamedToolChoice(_Strict):
    """``{"type": "function", "function": {"name": ...}}``: call this tool."""

    type: Literal["function"] = "function"
    function: NamedFunction


class ResponseFormat(_Strict):
    """``text``, ``json_object`` or ``json_schema`` (with its ``json_schema``), as OpenAI's API takes it."""

    type: Literal["text", "json_object", "json_schema"]
    json_schema: dict[str, Any] | None = None


class StreamOptions(_Strict):
    #: Send a last chunk with the usage.
    include_usage: bool = False
    include_obfuscation: bool | None = None


#: Known fields the server cannot honour, each with the value that changes nothing (so it may be sent).
_UNHONOURED: dict[str, tuple[object, ...]] = {
    "n": (None, 1),
    "logprobs": (None, False),
    "top_logprobs": (None, 0),
    "logit_bias": (None, {}),
    "presence_penalty": (None, 0, 0.0),
    "frequency_penalty": (None, 0, 0.0),
    "top_p": (None, 1, 1.0),
    "parallel_tool_calls": (None, True),
    "audio": (None,),
    "modalities": (None, ["text"]),
    "prediction": (None,),
    "service_tier": (None, "auto", "default"),
    "store": (None, False),
    "metadata": (None, {}),
    "reasoning_effort": (None,),
    "verbosity": (None,),
    "web_search_options": (None,),
    "functions": (None, []),
    "function_call": (None,),
    "prompt_cache_key": (None,),
    "safety_identifier": (None,),
}


def invalid(param: str, message: str) -> ApiError:
    """400 about the request's ``param``."""
    return ApiError(400, message, type="invalid_request_error", param=param)


class ChatRequest(_Strict):
    """A ``POST /v1/chat/completions`` body (see the module docstring)."""

    model: str
    messages: list[ChatMessage] = Field(min_length=1, max_length=MAX_MESSAGES)
    stream: bool = False
    stream_options: StreamOptions | None = None
    tools: list[ToolDef] | None = Field(default=None, max_length=MAX_TOOLS)
    tool_choice: Literal["auto", "none", "required"] | NamedToolChoice | None = None
    response_format: ResponseFormat | None = None
    temperature: float | None = Field(default=None, ge=0, le=2)
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    stop: (
        Annotated[str, Field(max_length=256)]
        | Annotated[list[Annotated[str, Field(max_length=256)]], Field(max_length=4)]
        | None
    ) = None
    seed: int | None = None
    user: str | None = Field(default=None, max_length=256)
    # Known, and refused unless left at their default (see _UNHONOURED).
    n: int | None = None
    logprobs: bool | None = None
    top_logprobs: int | None = None
    logit_bias: dict[str, float] | None = None
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    top_p: float | None = None
    parallel_tool_calls: bool | None = None
    audio: dict[str, Any] | None = None
    modalities: list[str] | None = None
    prediction: dict[str, Any] | None = None
    service_tier: str | None = None
    store: bool | None = None
    metadata: dict[str, str] | None = None
    reasoning_effort: str | None = None
    verbosity: str | None = None
    web_search_options: dict[str, Any] | None = None
    functions: list[dict[str, Any]] | None = None
    function_call: str | dict[str, Any] | None = None
    prompt_cache_key: str | None = None
    safety_identifier: str | None = None

    def check_honoured(self) -> None:
        """400 naming the first field set to a value the server cannot honour."""
        for name, harmless in _UNHONOURED.items():
            if getattr(self, name) not in harmless:
                raise invalid(name, f"{name!r} is not supported by escalade's chat endpoint; leave it out")
        for number, tool in enumerate(self.tools or ()):
            if tool.function.strict:
                raise invalid(f"tools[{number}].function.strict", "strict function schemas are not supported")
        if self.stream_options is not None and not self.stream:
            raise invalid("stream_options", "stream_options needs stream: true")
        both = (self.max_tokens, self.max_completion_tokens)
        if None not in both and both[0] != both[1]:
            raise invalid("max_completion_tokens", "max_tokens and max_completion_tokens disagree; send one")

    def conversation(self) -> tuple[Message, ...]:
        """The messages as escalade's (``developer`` read as ``system``); 400 naming what cannot be sent."""
        return tuple(_turn(m, number) for number, m in enumerate(self.messages))

    def generate_options(self) -> dict[str, Any]:
        """Keyword arguments of :meth:`~escalade.pipeline.Escalade.agenerate` beyond the conversation."""
        choice = self.tool_choice
        stop = [self.stop] if isinstance(self.stop, str) else list(self.stop or ())
        return {
            "tools": [
                Tool(
                    name=t.function.name,
                    description=t.function.description,
                    parameters=t.function.parameters or {"type": "object", "properties": {}},
                )
                for t in self.tools or ()
            ],
            "tool_choice": choice.function.name if isinstance(choice, NamedToolChoice) else choice,
            "response_format": self.response_format.model_dump(exclude_none=True) if self.response_format else None,
            "temperature": self.temperature,
            "max_tokens": self.max_completion_tokens or self.max_tokens,
            "stop": stop,
            "seed": self.seed,
            "user": self.user,
        }


def _text(message: ChatMessage, number: int) -> str | None:
    """The message's content as one text; 400 naming a part that is not text."""
    content = message.content
    if content is None or isinstance(content, str):
        return content
    texts = []
    for index, part in enumerate(content):
        if part.type != "text" or part.text is None:
            where = f"messages[{number}].content[{index}]"
            raise invalid(where, f"only text content parts can be sent, not {part.type[:40]!r} ({where})")
        texts.append(part.text)
    return "\n".join(texts)


def _turn(message: ChatMessage, number: int) -> Message:
    """One turn as escalade's :class:`Message`; 400 naming what it cannot carry."""
    where = f"messages[{number}]"
    if message.name is not None:
        raise invalid(f"{where}.name", "a message's 'name' is not supported; leave it out")
    if message.tool_calls and message.role != "assistant":
        raise invalid(f"{where}.tool_calls", "only assistant messages have tool_calls")
    if message.role == "tool" and not message.tool_call_id:
        raise invalid(f"{where}.tool_call_id", "a tool message needs the tool_call_id it answers")
    calls = tuple(
        ToolCall(id=c.id, name=c.function.name, arguments=c.function.arguments) for c in message.tool_calls or ()
    )
    role = "system" if message.role == "developer" else message.role
    return Message(role=role, content=_text(message, number), tool_calls=calls, tool_call_id=message.tool_call_id)


# -- responses ----------------------------------------------------------------------------------------
class ChatUsage(BaseModel):
    """Tokens of every attempt the request made, summed."""

    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class FunctionCallOut(BaseModel):
    name: str
    arguments: str


class ToolCallOut(BaseModel):
    id: str
    type: Literal["function"] = "function"
    function: FunctionCallOut


class AssistantMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str | None
    tool_calls: list[ToolCallOut] | None = None
    refusal: str | None = None


class Choice(BaseModel):
    index: int = 0
    message: AssistantMessage
    finish_reason: str
    logprobs: None = None


class EscalationOut(BaseModel):
    from_tier: str
    to_tier: str
    reason: str


class EscaladeTrace(BaseModel):
    """How escalade answered: where the request started and ended, who was asked, what it cost, why."""

    status: str
    tier_started: str
    tier_ended: str | None
    #: The model whose answer this is (``model`` above is the one the client asked for).
    model: str | None
    models_tried: list[str]
    cost_usd: float
    reasons: list[str]
    escalations: list[EscalationOut]
    run_id: str


class ChatCompletion(BaseModel):
    """OpenAI's ``chat.completion``, plus the ``escalade`` trace."""

    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    #: The model name the client asked for (``escalade/auto``...); the answering model is in the trace.
    model: str
    choices: list[Choice]
    usage: ChatUsage
    system_fingerprint: str | None = None
    escalade: EscaladeTrace


class ModelCard(BaseModel):
    """One model name a client may ask for: a policy (``escalade/auto``) or a pinned tier."""

    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str = "escalade"


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]
