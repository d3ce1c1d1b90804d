"""Conversations, tools and options carried to both adapters' wire formats unchanged, and tool calls read back."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from typing import Any

import pytest

from escalade.exceptions import ConfigError
from escalade.providers import AnthropicProvider, CompletionRequest, Message, OpenAICompatibleProvider, Tool, ToolCall
from tests.providers.wire import Body, Sse, serve

KEY = "sk-test-abcdefghijklmnop"
ADD = Tool(
    name="add",
    description="Add two integers.",
    parameters={"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}}},
)
CONVERSATION = (
    Message(role="system", content="Use the tools."),
    Message(role="user", content="What is 2 + 3?"),
    Message(role="assistant", tool_calls=(ToolCall(id="c1", name="add", arguments='{"a": 2, "b": 3}'),)),
    Message(role="tool", content="5", tool_call_id="c1"),
)
ARGS = '{"a": 4, "b": 5}'


def _request(model: str, *, tool_choice: str = "auto", response_format: Any = None) -> CompletionRequest:
    return CompletionRequest(
        item_id="1",
        model=model,
        prompt="And 4 + 5?",
        messages=CONVERSATION,
        tools=(ADD,),
        tool_choice=tool_choice,
        response_format=response_format,
        temperature=0.2,
        stop=("\n\n",),
        max_output_tokens=64,
    )


# -- OpenAI -------------------------------------------------------------------------------------------
def _openai_chunk(delta: dict[str, Any] | None, finish: str | None = None) -> Sse:
    choices = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}]
    usage = {"prompt_tokens": 50, "completion_tokens": 9, "total_tokens": 59} if delta is None else None
    body = {"id": "c", "object": "chat.completion.chunk", "created": 0, "model": "gpt-4o-mini", "choices": choices}
    return Sse(body | ({"usage": usage} if usage else {}))


def _openai(path: str, headers: dict[str, str], body: dict[str, Any]) -> tuple[int, dict[str, str], Body]:
    call = {"id": "c2", "type": "function", "function": {"name": "add", "arguments": ARGS}}
    if body.get("stream"):
        return 200, {}, [
            _openai_chunk({"role": "assistant", "content": None}),
            _openai_chunk({"tool_calls": [{"index": 0, "id": "c2", "type": "function",
                                           "function": {"name": "add", "arguments": '{"a": 4, '}}]}),
            _openai_chunk({"tool_calls": [{"index": 0, "function": {"arguments": '"b": 5}'}}]}),
            _openai_chunk({}, "tool_calls"),
            _openai_chunk(None),
            Sse("[DONE]"),
        ]  # fmt: skip
    message = {"role": "assistant", "content": None, "tool_calls": [call]}
    return 200, {}, {
        "id": "c", "object": "chat.completion", "created": 0, "model": body["model"],
        "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls"}],
        "usage": {"prompt_tokens": 50, "completion_tokens": 9, "total_tokens": 59},
    }  # fmt: skip


@pytest.mark.parametrize("stream", [False, True])
def test_openai_carries_the_conversation_and_reads_tool_calls(stream: bool) -> None:
    """Messages, tools, tool_choice, response_format, temperature and stop reach the wire; tool calls come back."""
    with serve(_openai) as (url, seen):
        provider = OpenAICompatibleProvider(KEY, base_url=url, stream=stream)
        fmt = {"type": "json_object"}
        completion = asyncio.run(provider.complete(_request("gpt-4o-mini", response_format=fmt)))
    assert completion.tool_calls == (ToolCall(id="c2", name="add", arguments=ARGS),)
    assert completion.finish_reason == "tool_calls"
    assert completion.text is None
    sent = seen[0]["body"]
    assert sent["messages"] == [
        {"role": "system", "content": "Use the tools."},
        {"role": "user", "content": "What is 2 + 3?"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "add", "arguments": '{"a": 2, "b": 3}'}}]},
        {"role": "tool", "tool_call_id": "c1", "content": "5"},
        {"role": "user", "content": "And 4 + 5?"},
    ]  # fmt: skip
    assert sent["tools"] == [
        {"type": "function", "function": {"name": "add", "description": ADD.description, "parameters": ADD.parameters}}
    ]
    assert (sent["tool_choice"], sent["temperature"], sent["stop"]) == ("auto", 0.2, ["\n\n"])
    assert sent["response_format"] == {"type": "json_object"}
    assert sent["max_tokens"] == 64


def test_openai_names_one_tool_to_call() -> None:
    """A tool_choice naming a tool becomes OpenAI's function choice."""
    with serve(_openai) as (url, seen):
        provider = OpenAICompatibleProvider(KEY, base_url=url)
        asyncio.run(provider.complete(_request("gpt-4o-mini", tool_choice="add")))
    assert seen[0]["body"]["tool_choice"] == {"type": "function", "function": {"name": "add"}}


def test_openai_plain_prompt_sends_no_options() -> None:
    """A plain prompt sends just the messages and the cap, as before conversations existed."""
    with serve(_openai) as (url, seen):
        provider = OpenAICompatibleProvider(KEY, base_url=url)
        asyncio.run(provider.complete(CompletionRequest(item_id="1", model="gpt-4o-mini", prompt="hi")))
    assert set(seen[0]["body"]) == {"model", "messages", "max_tokens"}


# -- Anthropic ----------------------------------------------------------------------------------------
def _event(kind: str, **fields: Any) -> Sse:
    return Sse({"type": kind, **fields}, event=kind)


def _anthropic(path: str, headers: dict[str, str], body: dict[str, Any]) -> tuple[int, dict[str, str], Body]:
    usage = {"input_tokens": 50, "output_tokens": 9}
    if body.get("stream"):
        message = {
            "id": "m",
            "type": "message",
            "role": "assistant",
            "model": body["model"],
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": usage,
        }
        block = {"type": "tool_use", "id": "toolu_2", "name": "add", "input": {}}
        return 200, {}, [
            _event("message_start", message=message),
            _event("content_block_start", index=0, content_block={"type": "text", "text": ""}),
            _event("content_block_delta", index=0, delta={"type": "text_delta", "text": "Adding."}),
            _event("content_block_stop", index=0),
            _event("content_block_start", index=1, content_block=block),
            _event("content_block_delta", index=1, delta={"type": "input_json_delta", "partial_json": '{"a": 4, '}),
            _event("content_block_delta", index=1, delta={"type": "input_json_delta", "partial_json": '"b": 5}'}),
            _event("content_block_stop", index=1),
            _event("message_delta", delta={"stop_reason": "tool_use"}, usage={"output_tokens": 9}),
            _event("message_stop"),
        ]  # fmt: skip
    content = [
        {"type": "text", "text": "Adding."},
        {"type": "tool_use", "id": "toolu_2", "name": "add", "input": {"a": 4, "b": 5}},
    ]
    return 200, {}, {
        "id": "m", "type": "message", "role": "assistant", "model": body["model"], "content": content,
        "stop_reason": "tool_use", "stop_sequence": None, "usage": usage,
    }  # fmt: skip


@pytest.mark.parametrize("stream", [False, True])
def test_anthropic_carries_the_conversation_and_reads_tool_calls(stream: bool) -> None:
    """System split out, tool_use/tool_result blocks, tools, tool_choice, stop_sequences; tool calls come back."""
    with serve(_anthropic) as (url, seen):
        provider = AnthropicProvider(KEY, base_url=url.removesuffix("/v1"), stream=stream)
        completion = asyncio.run(provider.complete(_request("claude-haiku-4-5", tool_choice="required")))
    assert completion.text == "Adding."
    assert completion.tool_calls == (ToolCall(id="toolu_2", name="add", arguments=ARGS),)
    assert completion.finish_reason == "tool_use"
    sent = seen[0]["body"]
    assert sent["system"] == "Use the tools."
    assert sent["messages"] == [
        {"role": "user", "content": "What is 2 + 3?"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "c1", "name": "add", "input": {"a": 2, "b": 3}}]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "c1", "content": "5"},
            {"type": "text", "text": "And 4 + 5?"},
        ]},
    ]  # fmt: skip
    assert sent["tools"] == [{"name": "add", "description": ADD.description, "input_schema": ADD.parameters}]
    assert sent["tool_choice"] == {"type": "any"}
    assert (sent["temperature"], sent["stop_sequences"], sent["max_tokens"]) == (0.2, ["\n\n"], 64)


@pytest.mark.parametrize(
    ("choice", "wire"),
    [("auto", {"type": "auto"}), ("none", {"type": "none"}), ("add", {"type": "tool", "name": "add"})],
)
def test_anthropic_tool_choices(choice: str, wire: dict[str, str]) -> None:
    """Each tool_choice maps to Anthropic's form."""
    with serve(_anthropic) as (url, seen):
        provider = AnthropicProvider(KEY, base_url=url.removesuffix("/v1"))
        asyncio.run(provider.complete(_request("claude-haiku-4-5", tool_choice=choice)))
    assert seen[0]["body"]["tool_choice"] == wire


def test_anthropic_asks_for_a_json_format_in_the_system_text() -> None:
    """Anthropic has no response_format: a JSON schema is asked for in the system text."""
    schema = {"type": "object", "properties": {"sum": {"type": "integer"}}}
    fmt = {"type": "json_schema", "json_schema": {"name": "sum", "schema": schema}}
    with serve(_anthropic) as (url, seen):
        provider = AnthropicProvider(KEY, base_url=url.removesuffix("/v1"))
        asyncio.run(provider.complete(_request("claude-haiku-4-5", response_format=fmt)))
    assert seen[0]["body"]["system"].endswith(f"matching this JSON schema: {json.dumps(schema)}")


def test_a_tool_message_needs_its_call_id() -> None:
    """A tool turn that names no call is a clear ConfigError."""
    with pytest.raises(ConfigError, match="tool_call_id"):
        Message(role="tool", content="5")


def test_only_assistants_call_tools_and_roles_are_checked() -> None:
    """Tool calls on a user turn, or an unknown role, are clear errors."""
    with pytest.raises(ConfigError, match="only assistant"):
        Message(role="user", content="x", tool_calls=(ToolCall(id="c", name="t"),))
    with pytest.raises(ConfigError, match="role must be"):
        Message(role="robot", content="x")  # type: ignore[arg-type]


def test_tool_arguments_that_are_not_json() -> None:
    """Arguments that are not JSON name the call."""
    with pytest.raises(ConfigError, match="'c9'"):
        ToolCall(id="c9", name="add", arguments="{oops").parsed_arguments()


def test_the_request_counts_every_text() -> None:
    """Token estimates read the whole conversation and the tool definitions."""
    request = _request("m")
    assert "What is 2 + 3?" in request.texts()
    assert ADD.text() in request.texts()
    assert [m.role for m in request.conversation()] == ["system", "user", "assistant", "tool", "user"]


def test_seed_and_user_reach_the_wire() -> None:
    """OpenAI gets ``seed`` and ``user``; Anthropic gets ``user`` as ``metadata.user_id`` and refuses ``seed``."""
    with serve(_openai) as (url, seen):
        provider = OpenAICompatibleProvider(KEY, base_url=url)
        asyncio.run(provider.complete(replace(_request("gpt-4o-mini"), seed=7, user="alice")))
    assert (seen[0]["body"]["seed"], seen[0]["body"]["user"]) == (7, "alice")
    with serve(_anthropic) as (url, seen):
        claude = AnthropicProvider(KEY, base_url=url.removesuffix("/v1"))
        asyncio.run(claude.complete(replace(_request("claude-haiku-4-5"), user="alice")))
        with pytest.raises(ConfigError) as refused:
            asyncio.run(claude.complete(replace(_request("claude-haiku-4-5"), seed=7)))
    assert seen[0]["body"]["metadata"] == {"user_id": "alice"}
    assert refused.value.field == "seed"
    assert len(seen) == 1
