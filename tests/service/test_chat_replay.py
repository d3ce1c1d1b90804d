"""The replay upstream behind the chat endpoint: recorded prompts answered from their rows, no key, no network."""

from __future__ import annotations

from typing import Any

from tests.conftest import MakeDataset
from tests.service.conftest import MakeClient, workspace_key


def _ask(client: Any, headers: dict[str, str], prompt: str, model: str = "escalade/auto") -> Any:
    body = {
        "model": model,
        "messages": [{"role": "system", "content": "Answer A-D."}, {"role": "user", "content": prompt}],
    }
    return client.post("/v1/chat/completions", json=body, headers=headers)


def test_a_recorded_prompt_is_answered_from_its_row(make_client: MakeClient, make_dataset: MakeDataset) -> None:
    """``Q1?`` is answered with the cheapest model's recorded answer, billed its recorded cost."""
    client = make_client(provider="replay", dataset=make_dataset())
    headers = workspace_key(client, "acme")
    answer = _ask(client, headers, "Q1?")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["choices"][0]["message"]["content"] == "A"
    assert body["escalade"]["tier_started"] == "cheap"
    assert body["escalade"]["models_tried"][0] == "small-a"
    assert body["escalade"]["cost_usd"] > 0


def test_the_replay_ladder_is_the_datasets(make_client: MakeClient, make_dataset: MakeDataset) -> None:
    """``/v1/models`` lists the tiers of the ladder built from the dataset's models."""
    client = make_client(provider="replay", dataset=make_dataset())
    listed = client.get("/v1/models", headers=workspace_key(client, "acme")).json()
    assert [m["id"] for m in listed["data"]] == [
        "escalade/auto",
        "escalade/cheap",
        "escalade/capable",
        "escalade/premium",
    ]


def test_an_unrecorded_prompt_is_refused_naming_messages(make_client: MakeClient, make_dataset: MakeDataset) -> None:
    """A prompt the dataset does not hold: 400 naming ``messages``."""
    client = make_client(provider="replay", dataset=make_dataset())
    answer = _ask(client, workspace_key(client, "acme"), "What is the capital of France?")
    assert answer.status_code == 400
    assert answer.json()["error"]["param"] == "messages"
