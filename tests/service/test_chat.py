"""``/v1/chat/completions`` and ``/v1/models`` through the test client, on a fake upstream."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from escalade.budget import WorkspaceBudget
from tests.service.chat_setup import ChatApp, chat_app, keyed_workspace, vault_env
from tests.service.conftest import store_of, workspace_key
from tests.service.upstream import MODELS, TOOL, WEATHER

__all__ = ["chat_app", "vault_env"]  # the fixtures these tests use

HELLO = [{"role": "user", "content": "Say hello"}]
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


def _post(client: TestClient, headers: dict[str, str], **body: Any) -> Any:
    body.setdefault("model", "escalade/auto")
    body.setdefault("messages", HELLO)
    return client.post("/v1/chat/completions", json=body, headers=headers)


def _events(text: str) -> list[Any]:
    """The ``data:`` payloads of an event stream, ``[DONE]`` as a string."""
    found: list[Any] = []
    for block in text.split("\n\n"):
        if block.startswith("data: "):
            data = block.removeprefix("data: ")
            found.append(data if data == "[DONE]" else json.loads(data))
    return found


def test_models_lists_auto_and_every_tier(chat_app: ChatApp) -> None:
    """``/v1/models`` is OpenAI's list: ``escalade/auto`` and one pinned name per tier; it needs a key."""
    client, _ = chat_app()
    listed = client.get("/v1/models", headers=keyed_workspace(client, "acme"))
    assert listed.status_code == 200
    body = listed.json()
    assert body["object"] == "list"
    assert [m["id"] for m in body["data"]] == [
        "escalade/auto",
        "escalade/cheap",
        "escalade/capable",
        "escalade/premium",
    ]
    assert {m["object"] for m in body["data"]} == {"model"}
    assert client.get("/v1/models").status_code == 401


def test_a_chat_answer_is_openais_shape_with_the_trace(chat_app: ChatApp) -> None:
    """A non-streamed answer: chat.completion with the asked model, usage, the trace in a field and headers."""
    client, up = chat_app()
    answer = _post(client, keyed_workspace(client, "acme"))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["object"] == "chat.completion"
    assert body["id"].startswith("chatcmpl-")
    assert body["model"] == "escalade/auto"
    assert body["choices"][0]["message"]["content"] == "good answer"
    assert body["choices"][0]["finish_reason"] == "stop"
    assert body["usage"] == {"prompt_tokens": 20, "completion_tokens": 5, "total_tokens": 25}
    trace = body["escalade"]
    cheap = MODELS["openai"]["cheap"]
    assert (trace["status"], trace["tier_started"], trace["tier_ended"], trace["model"]) == (
        "accepted",
        "cheap",
        "cheap",
        cheap,
    )
    assert trace["models_tried"] == [cheap]
    assert trace["cost_usd"] > 0
    assert trace["reasons"]
    assert answer.headers["x-escalade-tier"] == "cheap"
    assert answer.headers["x-escalade-model"] == cheap
    assert answer.headers["x-escalade-models-tried"] == cheap
    assert float(answer.headers["x-escalade-cost-usd"]) == pytest.approx(trace["cost_usd"])
    assert up.bodies[0]["messages"] == HELLO


def test_the_whole_request_reaches_the_upstream(chat_app: ChatApp) -> None:
    """Every role and option is carried: developer as system, tool turns, tools, format, sampling, seed, user."""
    client, up = chat_app()
    messages = [
        {"role": "developer", "content": "Be brief."},
        {"role": "user", "content": [{"type": "text", "text": "Weather"}, {"type": "text", "text": "in Paris?"}]},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_9", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "call_9", "content": "sunny"},
        {"role": "user", "content": "Thanks, and tomorrow?"},
    ]  # fmt: skip
    options = {
        "tools": [WEATHER_TOOL],
        "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
        "response_format": {"type": "json_object"},
        "temperature": 0.2,
        "max_completion_tokens": 50,
        "stop": "END",
        "seed": 7,
        "user": "alice",
    }
    answer = _post(client, keyed_workspace(client, "acme"), messages=messages, **options)
    assert answer.status_code == 200, answer.text
    sent = up.bodies[0]
    assert [m["role"] for m in sent["messages"]] == ["system", "user", "assistant", "tool", "user"]
    assert sent["messages"][1]["content"] == "Weather\nin Paris?"
    assert sent["messages"][2]["tool_calls"][0]["id"] == "call_9"
    assert sent["messages"][3] == {"role": "tool", "tool_call_id": "call_9", "content": "sunny"}
    assert sent["tools"][0]["function"]["name"] == "get_weather"
    assert sent["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}
    assert (sent["response_format"], sent["temperature"], sent["max_tokens"]) == ({"type": "json_object"}, 0.2, 50)
    assert (sent["stop"], sent["seed"], sent["user"]) == (["END"], 7, "alice")


def test_tool_calls_come_back_with_their_finish_reason(chat_app: ChatApp) -> None:
    """A model that calls a tool answers with tool_calls and finish_reason ``tool_calls``."""
    client, _ = chat_app()
    body = _post(client, keyed_workspace(client, "acme"), tools=[WEATHER_TOOL]).json()
    choice = body["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    call = choice["message"]["tool_calls"][0]
    assert (call["id"], call["type"], call["function"]["name"]) == ("call_1", "function", "get_weather")
    assert json.loads(call["function"]["arguments"]) == WEATHER


def test_a_streamed_answer_is_openais_chunks(chat_app: ChatApp) -> None:
    """``stream: true``: role chunk, text, finish chunk with the trace, the usage chunk, then ``[DONE]``."""
    client, _ = chat_app()
    answer = _post(client, keyed_workspace(client, "acme"), stream=True, stream_options={"include_usage": True})
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/event-stream")
    assert answer.headers["x-escalade-tier"] == "cheap"
    events = _events(answer.text)
    assert events[-1] == "[DONE]"
    chunks = events[:-1]
    assert {c["object"] for c in chunks} == {"chat.completion.chunk"}
    assert len({c["id"] for c in chunks}) == 1
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"])
    assert text == "good answer"
    finish = chunks[-2]
    assert finish["choices"][0]["finish_reason"] == "stop"
    assert finish["escalade"]["tier_ended"] == "cheap"
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"]["total_tokens"] == 25


def test_streamed_tool_calls_use_the_delta_shape(chat_app: ChatApp) -> None:
    """A streamed tool call: index, id, type and function name and arguments in a delta; no usage unasked."""
    client, _ = chat_app()
    answer = _post(client, keyed_workspace(client, "acme"), stream=True, tools=[WEATHER_TOOL])
    chunks = _events(answer.text)[:-1]
    calls = [d for c in chunks for d in c["choices"][0]["delta"].get("tool_calls", [])]
    function = {"name": "get_weather", "arguments": json.dumps(WEATHER)}
    assert calls == [{"index": 0, "id": "call_1", "type": "function", "function": function}]
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"
    assert all("usage" not in c for c in chunks)


def test_auto_climbs_and_a_pinned_tier_does_not(chat_app: ChatApp) -> None:
    """A failing cheap model: ``escalade/auto`` climbs to capable; ``escalade/cheap`` answers 502 and never climbs."""
    cheap, capable = MODELS["openai"]["cheap"], MODELS["openai"]["capable"]
    client, up = chat_app(script={cheap: [500]})
    headers = keyed_workspace(client, "acme")
    auto = _post(client, headers)
    assert auto.status_code == 200
    assert auto.json()["escalade"]["models_tried"] == [cheap, capable]
    assert auto.json()["escalade"]["escalations"][0]["from_tier"] == "cheap"
    assert auto.headers["x-escalade-tier"] == "capable"
    up.seen.clear()
    pinned = _post(client, headers, model="escalade/cheap")
    assert pinned.status_code == 502
    assert pinned.json()["error"]["type"] == "upstream_error"
    assert up.asked == [cheap]


def test_a_pinned_tier_starts_there(chat_app: ChatApp) -> None:
    """``escalade/premium`` asks the premium model first."""
    client, up = chat_app()
    answer = _post(client, keyed_workspace(client, "acme"), model="escalade/premium")
    assert answer.json()["escalade"]["tier_started"] == "premium"
    assert up.asked == [MODELS["openai"]["premium"]]


@pytest.mark.parametrize(("status", "kind"), [(429, "rate_limit_error"), (500, "upstream_error")])
def test_upstream_failures_map_to_their_status(chat_app: ChatApp, status: int, kind: str) -> None:
    """Every model failing: the last failure's status (429 rate limit, 502 upstream error)."""
    client, _ = chat_app(script={model: [status] for model in MODELS["openai"].values()})
    answer = _post(client, keyed_workspace(client, "acme"))
    assert answer.status_code == (429 if status == 429 else 502)
    assert answer.json()["error"]["type"] == kind
    # a rate limit's text helps the client; a server error's stays in the server's log
    assert ("upstream said" in answer.json()["error"]["message"]) is (status == 429)


def test_an_upstream_refusing_the_key_is_502_without_its_words(chat_app: ChatApp) -> None:
    """A 401 from the upstream: the client learns the key was refused, not what the upstream said about it."""
    client, _ = chat_app(script={model: [401] for model in MODELS["openai"].values()})
    answer = _post(client, keyed_workspace(client, "acme"))
    assert answer.status_code == 502
    error = answer.json()["error"]
    assert error["code"] == "authentication"
    assert "refused the workspace's upstream key" in error["message"]
    assert "upstream said" not in error["message"]


@pytest.mark.parametrize(
    ("change", "status", "param"),
    [
        ({"model": "gpt-4o"}, 404, "model"),
        ({"model": "escalade/turbo"}, 404, "model"),
        ({"temprature": 0.5}, 400, "temprature"),
        ({"temperature": "hot"}, 400, "temperature"),
        ({"temperature": 3}, 400, "temperature"),
        ({"messages": []}, 400, "messages"),
        ({"messages": [{"role": "robot", "content": "x"}]}, 400, "messages[0].role"),
        (
            {"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "http://x"}}]}]},
            400,
            "messages[0].content[0]",
        ),
        ({"messages": [{"role": "user", "content": "x", "name": "bob"}]}, 400, "messages[0].name"),
        ({"n": 2}, 400, "n"),
        ({"logprobs": True}, 400, "logprobs"),
        ({"presence_penalty": 0.5}, 400, "presence_penalty"),
        ({"top_p": 0.5}, 400, "top_p"),
        ({"stream_options": {"include_usage": True}}, 400, "stream_options"),
        ({"max_tokens": 0}, 400, "max_tokens"),
    ],
)
def test_bad_requests_name_the_field(chat_app: ChatApp, change: dict[str, Any], status: int, param: str) -> None:
    """Unknown model, unknown field, wrong type, non-text part, unhonourable option: a 4xx naming it."""
    client, up = chat_app()
    answer = _post(client, keyed_workspace(client, "acme"), **change)
    assert answer.status_code == status, answer.text
    assert answer.json()["error"]["param"] == param
    assert up.seen == []


def test_harmless_defaults_of_unhonoured_fields_pass(chat_app: ChatApp) -> None:
    """``n: 1``, ``top_p: 1``, ``logprobs: false`` change nothing, so they are accepted."""
    client, _ = chat_app()
    assert _post(client, keyed_workspace(client, "acme"), n=1, top_p=1, logprobs=False).status_code == 200


def test_a_workspace_without_an_upstream_key(chat_app: ChatApp) -> None:
    """No stored key and none in the environment: 400 naming the key."""
    client, up = chat_app()
    answer = _post(client, workspace_key(client, "keyless"))
    assert answer.status_code == 400
    assert answer.json()["error"]["param"] == "api_key"
    assert "keys set openai" in answer.json()["error"]["message"]
    assert up.seen == []


def test_a_budget_refusal_is_402_with_its_line(chat_app: ChatApp) -> None:
    """A workspace whose monthly cap is spent: 402 naming the refusing line; nothing is sent upstream."""
    client, up = chat_app()
    headers = keyed_workspace(client, "acme")
    store_of(client).put_workspace_budget(WorkspaceBudget(workspace="acme", monthly_limit_usd=1e-9))
    answer = _post(client, headers)
    assert answer.status_code == 402, answer.text
    error = answer.json()["error"]
    assert error["type"] == "budget_exceeded"
    assert error["line"].startswith("workspace:acme:month:")
    assert up.seen == []


def test_spend_lands_on_the_callers_workspace_only(chat_app: ChatApp) -> None:
    """Workspace A's key spends A's month line, never B's (B's cap being spent does not stop A)."""
    client, _ = chat_app()
    a = keyed_workspace(client, "team-a")
    keyed_workspace(client, "team-b")
    store_of(client).put_workspace_budget(WorkspaceBudget(workspace="team-b", monthly_limit_usd=1e-9))
    assert _post(client, a).status_code == 200
    ledger, now = store_of(client).ledger(), datetime.now(UTC)
    assert ledger.line(WorkspaceBudget(workspace="team-a").month_line(now)).spent_usd > 0
    b_line = ledger.line(WorkspaceBudget(workspace="team-b").month_line(now))  # opened by its budget, unspent
    assert (b_line.spent_usd, b_line.cap_usd) == (0.0, 1e-9)


def test_chat_metrics_count_tiers(chat_app: ChatApp, admin_headers: dict[str, str]) -> None:
    """An answered request is counted by its tiers in ``/metrics``."""
    client, _ = chat_app()
    _post(client, keyed_workspace(client, "acme"))
    scraped = client.get("/metrics", headers=admin_headers).text
    assert 'escalade_tier_decisions_total{end="cheap",start="cheap"} 1.0' in scraped


def test_anthropic_upstream_gets_translated_messages_and_tools(chat_app: ChatApp) -> None:
    """On an Anthropic upstream: system apart, tool_use read back as tool calls, input_schema, user as metadata."""
    client, up = chat_app("anthropic", script={MODELS["anthropic"]["cheap"]: [TOOL]})
    headers = keyed_workspace(client, "acme", "anthropic")
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Weather in Paris?"}]
    answer = _post(client, headers, messages=messages, tools=[WEATHER_TOOL], user="alice")
    assert answer.status_code == 200, answer.text
    call = answer.json()["choices"][0]["message"]["tool_calls"][0]
    assert (call["id"], call["function"]["name"], json.loads(call["function"]["arguments"])) == (
        "toolu_1",
        "get_weather",
        WEATHER,
    )
    assert answer.json()["choices"][0]["finish_reason"] == "tool_calls"
    sent = up.bodies[0]
    assert sent["system"] == "Be brief."
    assert sent["messages"] == [{"role": "user", "content": "Weather in Paris?"}]
    assert sent["tools"][0]["name"] == "get_weather"
    assert "input_schema" in sent["tools"][0]
    assert sent["metadata"] == {"user_id": "alice"}


def test_seed_on_anthropic_is_refused_by_name(chat_app: ChatApp) -> None:
    """Anthropic has no seed: 400 naming ``seed``, nothing sent."""
    client, up = chat_app("anthropic")
    answer = _post(client, keyed_workspace(client, "acme", "anthropic"), seed=3)
    assert answer.status_code == 400
    assert answer.json()["error"]["param"] == "seed"
    assert up.seen == []
