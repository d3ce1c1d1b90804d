"""Webhooks in ``escalade serve``: settings, answers told, batches due sent once, the loop's life."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from escalade.exceptions import ConfigError
from escalade.service import ServiceSettings
from escalade.service._inbox_dispatch import dispatch_once
from escalade.service._settings import WEBHOOK_SECRET_ENV
from tests.inbox.receiver import Receiver
from tests.service.conftest import MakeClient, workspace_key

DEPLOY = {"description": "Deploy v2.3 to production", "environment": "production"}


def test_webhook_settings_are_parsed_and_checked() -> None:
    settings = ServiceSettings(webhooks="http://127.0.0.1:9/a slack=https://hooks.example/b")
    hooks = settings.webhook_list({WEBHOOK_SECRET_ENV: "s"})
    assert [(h.url, h.kind, h.secret) for h in hooks] == [
        ("http://127.0.0.1:9/a", "json", "s"),
        ("https://hooks.example/b", "slack", "s"),
    ]
    assert ServiceSettings.from_env(settings.to_env()) == settings
    with pytest.raises(ConfigError, match="webhook URL"):
        ServiceSettings(webhooks="slack=ftp://x")
    with pytest.raises(ConfigError, match="inbox_dispatch_s"):
        ServiceSettings(inbox_dispatch_s=-1)


def _bodies(receiver: Receiver, count: int) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 10
    while len(receiver.received) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    return [json.loads(body) for _, body in receiver.received]


def test_answers_and_batches_reach_the_webhook(make_client: MakeClient) -> None:
    """A batch due is sent once (a second look sends nothing) and told; an answer is told."""
    with Receiver() as receiver:
        client = make_client(webhooks=receiver.url, inbox_dispatch_s=0)
        key = workspace_key(client, "team-a")
        client.post("/v1/decisions", json={**DEPLOY, "id": "d1"}, headers=key)  # high priority: due at once
        state = client.app.state.service  # type: ignore[attr-defined]
        assert dispatch_once(state) == 1
        assert dispatch_once(state) == 0
        client.post("/v1/inbox/d1/answer", json={"action": "approve", "by": "ana"}, headers=key)
        sent, answered = _bodies(receiver, 2)
    assert sent["event"] == "inbox.sent"
    assert sent["workspace"] == "team-a"
    assert [i["decision_id"] for i in sent["items"]] == ["d1"]
    assert answered["event"] == "inbox.answered"
    assert answered["items"][0]["answered_by"] == "ana"


def test_the_dispatch_loop_runs_in_the_lifespan(make_client: MakeClient) -> None:
    """With webhooks and a period, the service sends due batches on its own."""
    with Receiver() as receiver:
        client = make_client(webhooks=f"slack={receiver.url}", inbox_dispatch_s=0.1)
        key = workspace_key(client, "team-a")
        client.post("/v1/decisions", json={**DEPLOY, "id": "d1"}, headers=key)
        (body,) = _bodies(receiver, 1)
    assert body["text"] == "1 decision waiting for you in team-a"


def test_dispatch_reads_each_workspace_once_and_serves_every_assignee(make_client: MakeClient) -> None:
    """Items delegated to many people go out in one batch each, from one read of the open items."""
    client = make_client()
    key = workspace_key(client, "team-a")
    for i in range(30):
        client.post("/v1/decisions", json={**DEPLOY, "id": f"d{i}"}, headers=key)
        client.post(f"/v1/inbox/d{i}/answer", json={"action": "delegate", "by": "ana", "to": f"p{i}"}, headers=key)
    state = client.app.state.service  # type: ignore[attr-defined]
    reads = 0
    items = state.store.inbox.items

    def counted(*args: Any, **kwargs: Any) -> Any:
        nonlocal reads
        reads += 1
        return items(*args, **kwargs)

    state.store.inbox.items = counted
    assert dispatch_once(state) == 30
    assert reads == 2  # one per workspace (default, team-a), none per assignee
