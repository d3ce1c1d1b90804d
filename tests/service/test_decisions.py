"""``/v1/decisions`` and ``/v1/outcomes``: the CLI's answers and errors over HTTP, batches, workspaces apart."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from escalade.service._decision_models import MAX_BATCH
from escalade.store import SqlAutonomyStore
from tests.cli.helpers import invoke
from tests.inbox.items import STAGING, answered
from tests.service.conftest import MakeClient, store_of, workspace_key

DEPLOY = {"id": "d1", "description": "Deploy v2.3 to production", "environment": "production"}
TYPO = {"id": 7, "description": "Fix a typo in the README"}


@pytest.fixture
def key_a(client: TestClient) -> dict[str, str]:
    return workspace_key(client, "team-a")


@pytest.fixture
def key_b(client: TestClient) -> dict[str, str]:
    return workspace_key(client, "team-b")


def _history(client: TestClient, workspace: str) -> list[str]:
    return [r.decision_id for r in SqlAutonomyStore(store_of(client).engine).decisions(workspace)]


def test_one_decision_is_answered_like_the_cli_line(client: TestClient, key_a: dict[str, str]) -> None:
    """The answer has the CLI line's fields, the id echoed as given; it is stored in the key's workspace."""
    answer = client.post("/v1/decisions", json=DEPLOY, headers=key_a)
    assert answer.status_code == 200
    body = answer.json()
    assert set(body) == {"id", "escalate", "confidence", "priority", "type", "reasons", "rule_hits", "inbox_id"}
    assert body["id"] == "d1"
    assert body["escalate"] is True
    assert "production_deployment" in body["rule_hits"]
    typo = client.post("/v1/decisions", json=TYPO, headers=key_a).json()
    assert typo["id"] == 7
    assert typo["escalate"] is False
    assert sorted(_history(client, "team-a")) == ["7", "d1"]


def test_the_http_answer_equals_the_cli_answer(client: TestClient, key_a: dict[str, str], tmp_path: Path) -> None:
    """The same decision in a fresh workspace gets the same line from ``escalade decide`` and the service."""
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    code, out, _ = invoke("decide", "--workspace", "w", "--db", db, stdin=json.dumps(DEPLOY) + "\n")
    assert code == 0
    served, cli = client.post("/v1/decisions", json=DEPLOY, headers=key_a).json(), json.loads(out)
    assert len(served.pop("inbox_id")) == len(cli.pop("inbox_id")) == 16  # each in its own database's inbox
    assert served == cli


def test_details_answer_with_everything(client: TestClient, key_a: dict[str, str]) -> None:
    """``details=true`` is ``--details``: factors, threshold and classification too."""
    body = client.post("/v1/decisions?details=true&profile=cautious&agent=bot", json=DEPLOY, headers=key_a).json()
    assert body["profile"] == "cautious"
    assert {"factors", "threshold", "classification", "audit_seq"} <= set(body)
    record = SqlAutonomyStore(store_of(client).engine).get_decision("team-a", "d1")
    assert record is not None
    assert record.agent == "bot"


def test_a_batch_answers_every_item_and_reports_the_bad_ones(client: TestClient, key_a: dict[str, str]) -> None:
    """A bad item gets its own error entry (position from 1, id as given); the good ones are answered and stored."""
    batch = {"decisions": [DEPLOY, {"id": "x"}, 5, TYPO, {"id": "d1", "description": "again"}]}
    body = client.post("/v1/decisions", json=batch, headers=key_a).json()
    assert (body["answered"], body["failed"]) == (2, 3)
    first, missing, number, typo, duplicate = body["answers"]
    assert first["id"] == "d1"
    assert "escalate" in first
    assert missing == {"id": "x", "line": 2, "error": "decision 'x', field 'description': is required"}
    assert number == {"id": None, "line": 3, "error": "a decision must be a JSON object, got int"}
    assert typo["id"] == 7
    assert duplicate["line"] == 5
    assert "already decided" in duplicate["error"]
    assert sorted(_history(client, "team-a")) == ["7", "d1"]


@pytest.mark.parametrize(
    ("url", "body", "param"),
    [
        ("/v1/decisions", {"id": "x"}, "description"),
        ("/v1/decisions", {"description": "a", "colour": "red"}, "colour"),
        ("/v1/decisions", {"description": "a", "workspace": "team-b"}, "workspace"),
        ("/v1/decisions", {"description": "a", "record_count": "many"}, "record_count"),
        ("/v1/decisions", {"decisions": []}, "decisions"),
        ("/v1/decisions", {"decisions": "all"}, "decisions"),
        ("/v1/decisions", {"decisions": [DEPLOY] * (MAX_BATCH + 1)}, "decisions"),
        ("/v1/decisions", {"decisions": [DEPLOY], "workspace": "team-b"}, "workspace"),
        ("/v1/decisions", [DEPLOY], "body"),
        ("/v1/decisions?profile=reckless", DEPLOY, "profile"),
        ("/v1/decisions?agent=", DEPLOY, "agent"),
        ("/v1/decisions?details=maybe", DEPLOY, "details"),
        ("/v1/outcomes", {"id": "nope", "success": True}, "id"),
        ("/v1/outcomes", {"id": "d1"}, "outcome"),
        ("/v1/outcomes", {"id": "d1", "success": "yes"}, "success"),
        ("/v1/outcomes", {"outcomes": {}}, "outcomes"),
        ("/v1/outcomes", "text", "body"),
    ],
)
def test_a_malformed_body_is_a_400_naming_the_field(
    client: TestClient, key_a: dict[str, str], url: str, body: Any, param: str
) -> None:
    """Every malformed body, option or item is a 400 whose ``param`` names what was wrong; nothing is stored."""
    refused = client.post(url, json=body, headers=key_a)
    assert refused.status_code == 400, refused.text
    error = refused.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["param"] == param
    assert _history(client, "team-a") == []


def test_invalid_json_is_a_400(client: TestClient, key_a: dict[str, str]) -> None:
    """A body that is not JSON at all names the body."""
    headers = {**key_a, "Content-Type": "application/json"}
    refused = client.post("/v1/decisions", content=b'{"description": ', headers=headers)
    assert refused.status_code == 400
    assert refused.json()["error"]["param"] == "body"


def test_outcomes_are_recorded_like_the_cli(client: TestClient, key_a: dict[str, str]) -> None:
    """One outcome or a batch: verdict, label and learned offset, an unknown id as its own error entry."""
    client.post("/v1/decisions", json={"decisions": [DEPLOY, TYPO]}, headers=key_a)
    one = client.post("/v1/outcomes", json={"id": "d1", "response": "approve"}, headers=key_a)
    assert one.status_code == 200
    assert set(one.json()) == {"id", "verdict", "label", "learned_offset"}
    batch = {"outcomes": [{"id": 7, "success": True}, {"id": "ghost", "success": False}]}
    body = client.post("/v1/outcomes", json=batch, headers=key_a).json()
    assert (body["answered"], body["failed"]) == (1, 1)
    assert body["answers"][0]["id"] == 7
    assert body["answers"][0]["label"] is False
    assert body["answers"][1]["line"] == 2
    assert "no decision with this id in workspace 'team-a'" in body["answers"][1]["error"]


def test_an_outcome_naming_another_workspace_is_refused(
    client: TestClient, key_a: dict[str, str], key_b: dict[str, str]
) -> None:
    """An outcome is recorded in the key's workspace only: naming another is refused, naming its own is fine."""
    client.post("/v1/decisions", json=DEPLOY, headers=key_b)
    other = client.post("/v1/outcomes", json={"id": "d1", "workspace": "team-b", "success": True}, headers=key_a)
    assert other.status_code == 400
    assert other.json()["error"]["param"] == "workspace"
    record = SqlAutonomyStore(store_of(client).engine).get_decision("team-b", "d1")
    assert record is not None
    assert record.outcome is None
    own = client.post("/v1/outcomes", json={"id": "d1", "workspace": "team-b", "success": True}, headers=key_b)
    assert own.status_code == 200


def test_workspaces_never_touch_each_others_history(
    client: TestClient, key_a: dict[str, str], key_b: dict[str, str]
) -> None:
    """A's decisions and outcomes stay in A: B may reuse the ids, and B's outcome cannot reach A's decision."""
    assert client.post("/v1/decisions", json=DEPLOY, headers=key_a).status_code == 200
    assert client.post("/v1/decisions", json=DEPLOY, headers=key_b).status_code == 200  # the same id, another history
    assert _history(client, "team-a") == ["d1"]
    assert _history(client, "team-b") == ["d1"]
    client.post("/v1/outcomes", json={"id": "d1", "success": False}, headers=key_b)
    store = SqlAutonomyStore(store_of(client).engine)
    a_record, b_record = store.get_decision("team-a", "d1"), store.get_decision("team-b", "d1")
    assert a_record is not None
    assert a_record.outcome is None
    assert b_record is not None
    assert b_record.outcome is not None
    only_a = client.post("/v1/decisions", json={"id": "a-only", "description": "Fix a typo"}, headers=key_a)
    assert only_a.status_code == 200
    unknown = client.post("/v1/outcomes", json={"id": "a-only", "success": True}, headers=key_b)
    assert unknown.status_code == 400
    assert "team-b" in unknown.json()["error"]["message"]


def test_decisions_are_counted_in_the_metrics(
    client: TestClient, key_a: dict[str, str], admin_headers: dict[str, str]
) -> None:
    """``escalade_decisions_total`` counts answered decisions by recommendation, and no decision text."""
    client.post("/v1/decisions", json={"decisions": [DEPLOY, TYPO, {"id": "bad"}]}, headers=key_a)
    text = client.get("/metrics", headers=admin_headers).text
    assert 'escalade_decisions_total{recommendation="escalate"} 1.0' in text
    assert 'escalade_decisions_total{recommendation="proceed"} 1.0' in text
    assert "README" not in text


def test_the_audit_trail_is_sealed_with_the_servers_audit_key(
    make_client: MakeClient, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """``ESCALADE_AUDIT_KEY`` seals what the service writes, as for the CLI: ``escalade audit verify`` checks it."""
    audit_key = "audit-key-for-tests-0123456789"
    monkeypatch.setenv("ESCALADE_AUDIT_KEY", audit_key)
    db = f"sqlite:///{tmp_path / 'audited.db'}"
    client = make_client(database_url=db)
    headers = workspace_key(client, "acme")
    assert client.post("/v1/decisions", json=DEPLOY, headers=headers).status_code == 200
    assert client.post("/v1/outcomes", json={"id": "d1", "success": True}, headers=headers).status_code == 200
    code, out, err = invoke("audit", "verify", "--db", db, env={"ESCALADE_AUDIT_KEY": audit_key})
    assert code == 0, out + err
    wrong, _, _ = invoke("audit", "verify", "--db", db, env={"ESCALADE_AUDIT_KEY": "another-key-entirely-0123"})
    assert wrong != 0


def test_a_persons_learned_preference_approves_over_http(client: TestClient, key_a: dict[str, str]) -> None:
    """``?person=ana``: her approvals in the key's workspace let an escalation proceed (``auto_approved_by``);
    without them it waits for her; a name that cannot be a person's is a 400 naming ``person``."""
    staging = {"description": STAGING, "affected_systems": ["search"]}
    asked = client.post("/v1/decisions?person=ana&profile=supervised", json={"id": "s0", **staging}, headers=key_a)
    assert asked.json()["escalate"] is True
    item = store_of(client).inbox.get_item("team-a", asked.json()["inbox_id"])
    assert item is not None
    assert item.assignees == ("ana",)
    now = datetime.now(UTC)
    for i in range(80):
        store_of(client).inbox.add_item(answered(age_days=1 + i / 24, now=now, workspace="team-a"))
    body = client.post(
        "/v1/decisions?person=ana&profile=supervised", json={"id": "s1", **staging}, headers=key_a
    ).json()
    assert (body["escalate"], body["auto_approved_by"]) == (False, "ana")
    assert body["reasons"][-1].startswith("auto-approved on ana's learned preference")
    bad = client.post("/v1/decisions?person=%09", json={"id": "s2", **staging}, headers=key_a)
    assert bad.status_code == 400
    assert bad.json()["error"]["param"] == "person"
