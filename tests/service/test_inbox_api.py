"""The inbox over HTTP: waiting for an answer (long poll and events), reading items, answering them."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest
from fastapi.testclient import TestClient

from escalade.autonomy import DecisionContext, parse_decision
from escalade.service import _inbox_wait
from escalade.service._inbox import inbox_of
from tests.service.conftest import workspace_key

DEPLOY = {"id": "d1", "description": "Deploy v2.3 to production", "environment": "production"}


@pytest.fixture
def key(client: TestClient) -> dict[str, str]:
    return workspace_key(client, "team-a")


def _escalate(client: TestClient, key: dict[str, str], decision_id: str = "d1", **extra: Any) -> str:
    body = client.post("/v1/decisions", json={**DEPLOY, "id": decision_id, **extra}, headers=key).json()
    assert body["escalate"], body
    inbox_id: str = body["inbox_id"]
    return inbox_id


def _answer_later(client: TestClient, key: dict[str, str], ref: str, delay_s: float = 0.3) -> threading.Thread:
    def answer() -> None:
        time.sleep(delay_s)
        client.post(f"/v1/inbox/{ref}/answer", json={"action": "approve", "by": "ana"}, headers=key)

    thread = threading.Thread(target=answer)
    thread.start()
    return thread


def test_long_poll_returns_the_answer_once_given(client: TestClient, key: dict[str, str]) -> None:
    """The agent waits on the decision's own id; a person's answer ends the wait with it."""
    _escalate(client, key)
    thread = _answer_later(client, key, "d1")
    started = time.monotonic()
    body = client.get("/v1/decisions/d1/wait?timeout=20", headers=key).json()
    thread.join()
    assert time.monotonic() - started < 10
    assert (body["state"], body["done"], body["answered_by"]) == ("answered", True, "ana")
    assert body["answer"]["action"] == "approve"


def test_long_poll_times_out_with_the_state(client: TestClient, key: dict[str, str]) -> None:
    inbox_id = _escalate(client, key)
    body = client.get(f"/v1/decisions/{inbox_id}/wait?timeout=0.2", headers=key).json()
    assert (body["id"], body["state"], body["done"], body["answer"]) == (inbox_id, "pending", False, None)


def test_a_decision_that_proceeded_is_done_at_once(client: TestClient, key: dict[str, str]) -> None:
    client.post("/v1/decisions", json={"id": "typo", "description": "Fix a typo in the README"}, headers=key)
    body = client.get("/v1/decisions/typo/wait?timeout=60", headers=key).json()
    assert (body["state"], body["done"]) == ("proceeded", True)


@pytest.mark.parametrize(
    ("path", "status", "match"),
    [
        ("/v1/decisions/nope/wait", 404, "no inbox item or decision 'nope'"),
        ("/v1/decisions/d1/wait?timeout=301", 400, "a long poll waits at most 300"),
        ("/v1/decisions/d1/wait?timeout=-1", 400, "timeout"),
        ("/v1/inbox/nope", 404, "no inbox item"),
    ],
)
def test_wait_and_read_errors(client: TestClient, key: dict[str, str], path: str, status: int, match: str) -> None:
    _escalate(client, key)
    answer = client.get(path, headers=key)
    assert answer.status_code == status
    assert match in answer.json()["error"]["message"] + str(answer.json()["error"].get("param"))


def test_waiting_is_per_workspace(client: TestClient, key: dict[str, str]) -> None:
    """Another workspace's key cannot wait on, read or answer the item."""
    inbox_id = _escalate(client, key)
    other = workspace_key(client, "team-b")
    assert client.get("/v1/decisions/d1/wait?timeout=0", headers=other).status_code == 404
    assert client.get(f"/v1/inbox/{inbox_id}", headers=other).status_code == 404
    refused = client.post(f"/v1/inbox/{inbox_id}/answer", json={"action": "approve", "by": "eve"}, headers=other)
    assert refused.status_code == 404
    assert client.get(f"/v1/inbox/{inbox_id}", headers=key).json()["state"] == "pending"


def _events(text: str) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for block in text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines() if not line.startswith(":"))
        if lines:
            found.append((lines["event"], json.loads(lines["data"])))
    return found


def test_event_stream_sends_each_state_then_done(client: TestClient, key: dict[str, str]) -> None:
    """With Accept: text/event-stream, the state now, each change, then ``done`` with the answer."""
    _escalate(client, key)
    thread = _answer_later(client, key, "d1")
    with client.stream("GET", "/v1/decisions/d1/wait?timeout=20", headers={**key, "Accept": "text/event-stream"}) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        text = "".join(r.iter_text())
    thread.join()
    events = _events(text)
    assert [e for e, _ in events] == ["state", "state", "done"]
    assert events[0][1]["state"] == "pending"
    assert events[-1][1]["answered_by"] == "ana"


def test_event_stream_ends_with_timeout(client: TestClient, key: dict[str, str], monkeypatch: Any) -> None:
    monkeypatch.setattr(_inbox_wait, "KEEPALIVE_S", 0.0)
    _escalate(client, key)
    with client.stream("GET", "/v1/decisions/d1/wait?timeout=0.6", headers={**key, "Accept": "text/event-stream"}) as r:
        text = "".join(r.iter_text())
    assert ": keep-alive" in text
    assert [e for e, _ in _events(text)] == ["state", "timeout"]


def test_waits_past_the_bound_get_429(client: TestClient, key: dict[str, str], monkeypatch: Any) -> None:
    """A replica serves at most MAX_WAITERS waits; the slot is given back when a wait ends."""
    monkeypatch.setattr(_inbox_wait, "MAX_WAITERS", 0)
    _escalate(client, key)
    refused = client.get("/v1/decisions/d1/wait?timeout=0", headers=key)
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "1"
    monkeypatch.setattr(_inbox_wait, "MAX_WAITERS", 1)
    for _ in range(3):
        assert client.get("/v1/decisions/d1/wait?timeout=0", headers=key).status_code == 200
    stream = {**key, "Accept": "text/event-stream"}
    for _ in range(3):  # a stream gives its slot back too
        assert client.get("/v1/decisions/d1/wait?timeout=0", headers=stream).status_code == 200
    assert client.get("/v1/decisions/d1/wait?timeout=301", headers=key).status_code == 400  # and a refused poll


def test_one_workspace_cannot_take_every_wait(client: TestClient, key: dict[str, str], monkeypatch: Any) -> None:
    """A workspace holding its share of waits gets 429; another workspace still waits."""
    monkeypatch.setattr(_inbox_wait, "MAX_WAITERS_PER_WORKSPACE", 1)
    _escalate(client, key)
    other = workspace_key(client, "team-b")
    _escalate(client, other)
    held = _inbox_wait.take_slot(client.app.state.service, "team-a")  # type: ignore[attr-defined]
    assert client.get("/v1/decisions/d1/wait?timeout=0", headers=key).status_code == 429
    assert client.get("/v1/decisions/d1/wait?timeout=0", headers=other).status_code == 200
    held()
    held()  # giving back twice frees one slot only
    assert client.get("/v1/decisions/d1/wait?timeout=0", headers=key).status_code == 200


def test_items_are_listed_and_rendered(client: TestClient, key: dict[str, str]) -> None:
    """Open items as JSON or LangGraph interrupts; one item as JSON or rendered by its template."""
    inbox_id = _escalate(client, key)
    listed = client.get("/v1/inbox", headers=key).json()
    assert listed["count"] == 1
    assert listed["items"][0]["id"] == inbox_id
    interrupts = client.get("/v1/inbox?format=langgraph", headers=key).json()["items"]
    assert set(interrupts[0]) == {"action_request", "config", "description", "id", "decision_id"}
    html = client.get(f"/v1/inbox/{inbox_id}?format=html", headers=key)
    assert html.headers["content-type"].startswith("text/html")
    assert "Deploy v2.3 to production" in html.text
    assert client.get("/v1/inbox/d1?format=markdown", headers=key).headers["content-type"].startswith("text/markdown")
    assert client.get("/v1/inbox?person=bob", headers=key).json()["count"] == 1  # unassigned: anyone's


def test_answers_over_http_and_their_errors(client: TestClient, key: dict[str, str]) -> None:
    """An answer is applied once: a second is a 409, a malformed one a 400 naming its field."""
    _escalate(client, key)
    bad = client.post("/v1/inbox/d1/answer", json={"action": "modify", "by": "ana"}, headers=key)
    assert bad.status_code == 400
    assert "'modify' needs 'parameters'" in bad.json()["error"]["message"]
    ok = client.post("/v1/inbox/d1/answer", json={"action": "reject", "by": "ana", "feedback": "not now"}, headers=key)
    assert ok.status_code == 200
    assert ok.json()["response"]["feedback"] == "not now"
    again = client.post("/v1/inbox/d1/answer", json={"action": "approve", "by": "bob"}, headers=key)
    assert again.status_code == 409
    assert "answered already, by 'ana'" in again.json()["error"]["message"]


def test_langgraph_responses_answer_items(client: TestClient, key: dict[str, str]) -> None:
    """A HumanResponse list answers the item as the documented mapping says."""
    _escalate(client, key)
    edit = {"type": "edit", "args": {"action": "Deploy v2.3 to staging", "args": {}}}
    refused = client.post("/v1/inbox/d1/langgraph?by=ana", json=[edit], headers=key)
    assert refused.status_code == 400
    args = client.get("/v1/inbox/d1?format=langgraph", headers=key).json()["action_request"]["args"]
    edit["args"]["args"] = {**args, "environment": "staging"}  # type: ignore[index]
    answered = client.post("/v1/inbox/d1/langgraph?by=ana", json=[edit], headers=key).json()
    assert answered["response"]["action"] == "modify"
    assert answered["response"]["parameters"]["environment"] == "staging"
    assert client.post("/v1/inbox/d1/langgraph", json=[edit], headers=key).status_code == 400  # by is needed


def test_batch_answers_with_exceptions(client: TestClient, key: dict[str, str]) -> None:
    ids = [_escalate(client, key, f"d{i}") for i in range(3)]
    batch = {
        "items": [*ids, "unknown"],
        "answer": {"action": "approve", "by": "ana"},
        "exceptions": {ids[2]: {"action": "reject", "by": "ana", "feedback": "this one waits"}},
    }
    body = client.post("/v1/inbox/answers", json=batch, headers=key).json()
    assert [i["response"]["action"] for i in body["answered"]] == ["approve", "approve", "reject"]
    assert [r["id"] for r in body["refused"]] == ["unknown"]
    malformed = client.post("/v1/inbox/answers", json={"items": [], "answer": {}}, headers=key)
    assert malformed.status_code == 400
    assert malformed.json()["error"]["param"] == "items"


def test_an_item_for_someone_else_is_a_403(client: TestClient, key: dict[str, str]) -> None:
    """An item assigned to ana cannot be answered by bob; ana's list has it, bob's does not."""
    state = client.app.state.service  # type: ignore[attr-defined]
    inbox = inbox_of(state)
    assert inbox.engine is not None
    decision = parse_decision({"id": "mine", "description": "Rotate the JWT signing key"})
    inbox.escalated(
        inbox.engine.evaluate(decision, DecisionContext(workspace="team-a")),
        decision,
        workspace="team-a",
        assignees=["ana"],
    )
    refused = client.post("/v1/inbox/mine/answer", json={"action": "approve", "by": "bob"}, headers=key)
    assert refused.status_code == 403
    assert client.get("/v1/inbox/mine", headers=key).json()["state"] == "pending"
    assert client.get("/v1/inbox?person=bob", headers=key).json()["count"] == 0
    assert client.get("/v1/inbox?person=ana", headers=key).json()["count"] == 1
    assert client.post("/v1/inbox/mine/answer", json={"action": "approve", "by": "ana"}, headers=key).status_code == 200


def test_stats_over_http(client: TestClient, key: dict[str, str]) -> None:
    _escalate(client, key)
    client.post("/v1/inbox/d1/answer", json={"action": "approve", "by": "ana"}, headers=key)
    stats = client.get("/v1/inbox/stats", headers=key).json()
    assert (stats["answered"], stats["by_action"]) == (1, {"approve": 1})
    other = client.get("/v1/inbox/stats", headers=workspace_key(client, "team-b")).json()
    assert other["items"] == 0


def test_a_batch_with_a_malformed_answer_changes_nothing(client: TestClient, key: dict[str, str]) -> None:
    """Every answer of a batch is checked before any is applied: too deep parameters are a 400."""
    ids = [_escalate(client, key, f"d{i}") for i in range(2)]
    deep: dict[str, Any] = {}
    for _ in range(400):
        deep = {"k": deep}
    batch = {
        "items": ids,
        "answer": {"action": "approve", "by": "ana"},
        "exceptions": {ids[1]: {"action": "modify", "by": "ana", "parameters": deep}},
    }
    refused = client.post("/v1/inbox/answers", json=batch, headers=key)
    assert refused.status_code == 400
    assert [client.get(f"/v1/inbox/{i}", headers=key).json()["state"] for i in ids] == ["pending", "pending"]
    one = client.post("/v1/inbox/d0/answer", json={"action": "modify", "by": "ana", "parameters": deep}, headers=key)
    assert one.status_code == 400
    assert client.get("/v1/inbox?role=" + "x" * 101, headers=key).status_code == 400


def test_a_person_token_answers_only_as_its_person(client: TestClient, key: dict[str, str]) -> None:
    """With ana's token (role sre): answering as bo is a 403; as ana it works, her role counts."""
    state = client.app.state.service  # type: ignore[attr-defined]
    inbox = inbox_of(state)
    assert inbox.engine is not None
    decision = parse_decision({"id": "sre-only", "description": "Rotate the JWT signing key"})
    result = inbox.engine.evaluate(decision, DecisionContext(workspace="team-a"))
    inbox.escalated(result, decision, workspace="team-a", assignees=["role:sre"])
    made = state.store.api_keys.create("team-a", person="ana", roles=("sre",))
    ana = {"Authorization": f"Bearer {made.key}"}
    as_bo = client.post("/v1/inbox/sre-only/answer", json={"action": "approve", "by": "bo"}, headers=ana)
    assert as_bo.status_code == 403
    assert "answers as 'ana'" in as_bo.json()["error"]["message"]
    batch = {"items": ["sre-only"], "answer": {"action": "approve", "by": "bo"}}
    assert client.post("/v1/inbox/answers", json=batch, headers=ana).status_code == 403
    anyone = client.post("/v1/inbox/sre-only/answer", json={"action": "approve", "by": "ana"}, headers=key)
    assert anyone.status_code == 403  # the workspace key carries no role
    done = client.post("/v1/inbox/sre-only/answer", json={"action": "approve", "by": "ana"}, headers=ana)
    assert done.status_code == 200
    assert done.json()["answered_by"] == "ana"
