"""The official ``openai`` SDK as the client of ``escalade serve`` on a real uvicorn server (loopback only)."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest
import uvicorn
from openai.types.chat import ChatCompletionMessageParam, ChatCompletionToolParam

from escalade.service import ServiceSettings, create_app
from escalade.store import KeyVault, SqlStore
from tests.service.chat_setup import UPSTREAM_KEY, vault_env
from tests.service.upstream import MODELS, WEATHER, Upstream, upstream, write_ladder

__all__ = ["vault_env"]  # the fixture these tests use

TOOLS: list[ChatCompletionToolParam] = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "The weather in a city",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
        },
    }
]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def served(tmp_path: Path, vault_env: None) -> Iterator[tuple[openai.OpenAI, Upstream]]:
    """An SDK client of a uvicorn server on 127.0.0.1, whose workspace's upstream is the fake."""
    store = SqlStore(f"sqlite:///{tmp_path / 'sdk.db'}")
    KeyVault(store).set("openai", UPSTREAM_KEY, workspace="acme")
    key = store.api_keys.create("acme").key
    with upstream() as up:
        settings = ServiceSettings(provider="openai", base_url=up.url, config=write_ladder(tmp_path, "openai"))
        port = _free_port()
        server = uvicorn.Server(uvicorn.Config(create_app(settings, store=store), port=port, log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 10
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.01)
        assert server.started
        client = openai.OpenAI(api_key=key, base_url=f"http://127.0.0.1:{port}/v1", max_retries=0)
        try:
            yield client, up
        finally:
            client.close()
            server.should_exit = True
            thread.join(timeout=10)
            store.close()


def test_the_sdk_lists_models_and_gets_an_answer(served: tuple[openai.OpenAI, Upstream]) -> None:
    """``models.list`` and ``chat.completions.create`` parse; the trace is in the extension field and headers."""
    client, _ = served
    assert [m.id for m in client.models.list()][:2] == ["escalade/auto", "escalade/cheap"]
    raw = client.chat.completions.with_raw_response.create(
        model="escalade/auto", messages=[{"role": "user", "content": "Say hello"}]
    )
    answer = raw.parse()
    assert answer.choices[0].message.content == "good answer"
    assert answer.model == "escalade/auto"
    assert answer.usage is not None
    assert answer.usage.total_tokens == 25
    trace = (answer.model_extra or {})["escalade"]
    assert trace["tier_ended"] == "cheap"
    assert trace["models_tried"] == [MODELS["openai"]["cheap"]]
    assert raw.headers["x-escalade-model"] == MODELS["openai"]["cheap"]


def test_a_tool_calling_round_trip(served: tuple[openai.OpenAI, Upstream]) -> None:
    """The model asks for a tool, the client sends its result, the model answers from it."""
    client, up = served
    messages: list[ChatCompletionMessageParam] = [{"role": "user", "content": "Weather in Paris?"}]
    first = client.chat.completions.create(model="escalade/auto", messages=messages, tools=TOOLS)
    assert first.choices[0].finish_reason == "tool_calls"
    call = (first.choices[0].message.tool_calls or [])[0]
    assert call.type == "function"
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == WEATHER
    messages.append(first.choices[0].message.model_dump(exclude_none=True))  # type: ignore[arg-type]  # SDK's own shape
    messages.append({"role": "tool", "tool_call_id": call.id, "content": "sunny, 21 °C"})
    second = client.chat.completions.create(model="escalade/auto", messages=messages, tools=TOOLS)
    assert second.choices[0].message.content == "good answer: sunny, 21 °C"
    assert second.choices[0].finish_reason == "stop"
    sent = up.bodies[-1]["messages"]
    assert [m["role"] for m in sent] == ["user", "assistant", "tool"]
    assert sent[1]["tool_calls"][0]["id"] == call.id


def test_the_sdk_streams_text_tool_calls_and_usage(served: tuple[openai.OpenAI, Upstream]) -> None:
    """A streamed answer reads with the SDK: text deltas, then a tool call's delta, then the usage chunk."""
    client, _ = served
    stream = client.chat.completions.create(
        model="escalade/auto",
        messages=[{"role": "user", "content": "Say hello"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "good answer"
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.total_tokens == 25
    tools = client.chat.completions.create(
        model="escalade/cheap", messages=[{"role": "user", "content": "Weather?"}], tools=TOOLS, stream=True
    )
    deltas = [d for c in tools for d in (c.choices[0].delta.tool_calls or []) if c.choices]
    assert [(d.index, d.id, d.function.name if d.function else None) for d in deltas] == [(0, "call_1", "get_weather")]


def test_sdk_errors_are_typed(served: tuple[openai.OpenAI, Upstream]) -> None:
    """An unknown model is the SDK's NotFoundError, an unhonoured option its BadRequestError, naming the field."""
    client, _ = served
    with pytest.raises(openai.NotFoundError) as missing:
        client.chat.completions.create(model="gpt-9", messages=[{"role": "user", "content": "x"}])
    assert missing.value.param == "model"
    with pytest.raises(openai.BadRequestError) as refused:
        client.chat.completions.create(model="escalade/auto", messages=[{"role": "user", "content": "x"}], n=2)
    assert refused.value.param == "n"
