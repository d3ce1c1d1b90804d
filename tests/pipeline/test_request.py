"""What a request may be (a prompt, a conversation, files), and the clear errors when it is not."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from escalade.exceptions import ConfigError
from escalade.ladder import EscalationConfig, Ladder, Tier
from escalade.pipeline import MAX_REQUEST_FILE_BYTES, Escalade, as_messages, split_prompt
from escalade.providers import FunctionProvider, Message, ScriptedProvider, ToolCall
from escalade.routing import Router


def _one_tier() -> EscalationConfig:
    return EscalationConfig(tiers=Ladder([Tier(name="cheap", rank=0, models=("m",), threshold=0)]))


def test_a_conversation_splits_into_history_and_prompt() -> None:
    """The last user turn is the prompt; a conversation ending with a tool result has no prompt."""
    turns = [{"role": "system", "content": "s"}, {"role": "user", "content": "q"}]
    assert split_prompt(turns) == ("q", (Message(role="system", content="s"),))
    calls = [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]
    tool_turns: list[dict[str, object]] = [
        {"role": "user", "content": "q"},
        {"role": "assistant", "content": None, "tool_calls": calls},
        {"role": "tool", "content": "1", "tool_call_id": "c1"},
    ]
    prompt, history = split_prompt(tool_turns)
    assert prompt == ""
    assert history[1].tool_calls == (ToolCall(id="c1", name="f", arguments="{}"),)


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        ("  ", "the prompt is empty"),
        ([], "the conversation is empty"),
        ([{"content": "x"}], "message 1 must be"),
        ([{"role": "robot", "content": "x"}], "message 1: message role must be one of"),
        (
            [{"role": "user", "content": "q"}, {"role": "assistant", "tool_calls": [{"id": "c"}]}],
            "message 2: a tool call",
        ),
        ([{"role": "assistant", "tool_calls": [5]}], "message 1: a tool call needs id"),
    ],
)
def test_bad_requests_are_clear_errors(request_: object, message: str) -> None:
    """An empty prompt, an empty conversation or a turn without a role are ConfigErrors saying which."""
    with pytest.raises(ConfigError, match=message):
        split_prompt(request_)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=message):
        Escalade(config=_one_tier(), provider=ScriptedProvider({"m": ["x"]})).generate(request_)  # type: ignore[arg-type]


def test_as_messages_keeps_messages() -> None:
    """Message objects pass through unchanged."""
    turn = Message(role="user", content="hi")
    assert as_messages([turn]) == (turn,)


def test_files_are_shown_to_the_model_and_a_missing_one_is_named(tmp_path: Path) -> None:
    """Files go before the prompt as one user turn, under their paths; an unreadable file is named."""
    note = tmp_path / "note.txt"
    note.write_text("remember the milk", encoding="utf-8")
    provider = FunctionProvider(lambda request: "ok")
    ai = Escalade(config=_one_tier(), provider=provider, estimator=ScriptedProvider({}))
    ai.generate("What should I remember?", files=[note])
    sent = provider.requests[0]
    assert sent.messages[-1].content is not None
    assert "remember the milk" in sent.messages[-1].content
    assert str(note) in sent.messages[-1].content
    with pytest.raises(ConfigError, match="file not found") as missing:
        ai.generate("x", files=[tmp_path / "missing.txt"])
    assert missing.value.source == str(tmp_path / "missing.txt")
    huge = tmp_path / "huge.txt"
    huge.write_bytes(b"x" * (MAX_REQUEST_FILE_BYTES + 1))
    with pytest.raises(ConfigError, match="over the limit"):
        ai.generate("x", files=[huge])
    binary = tmp_path / "image.bin"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(ConfigError, match="UTF-8"):
        ai.generate("x", files=[binary])
    ai.close()


def test_generate_inside_an_event_loop_says_to_await() -> None:
    """The blocking form refuses to run inside a running loop, naming agenerate."""
    ai = Escalade(config=_one_tier(), provider=ScriptedProvider({"m": ["x"]}))

    async def inside() -> None:
        with pytest.raises(ConfigError, match="agenerate"):
            ai.generate("hi")

    asyncio.run(inside())


def test_a_router_on_another_ladder_is_a_clear_error() -> None:
    """A Router built for another ladder is refused."""
    with pytest.raises(ConfigError, match="router's ladder"):
        Escalade(config=_one_tier(), provider=ScriptedProvider({}), router=Router(Ladder.default()))


def test_a_conversation_reaches_every_attempt() -> None:
    """The conversation and options go with each call, and the result keeps the finish reason."""
    provider = FunctionProvider(lambda request: "4")
    ai = Escalade(config=_one_tier(), provider=provider, estimator=ScriptedProvider({}))
    turns = [
        Message(role="user", content="2 + 2?"),
        Message(role="assistant", content="4"),
        Message(role="user", content="And 3 + 1?"),
    ]
    result = ai.generate(turns, stop=["\n"], temperature=0.0)
    sent = provider.requests[0]
    assert (sent.prompt, len(sent.messages), sent.stop, sent.temperature) == ("And 3 + 1?", 2, ("\n",), 0.0)
    assert result.text == "4"
    ai.close()
