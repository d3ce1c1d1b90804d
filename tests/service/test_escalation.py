"""Seed 001's escalation API: submit, status, cancel, analyze and statistics, with their errors and isolation."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from escalade.service._escalation_models import MAX_FILES
from tests.service.conftest import MakeClient, store_of, workspace_key
from tests.service.upstream import FAKE_OPENAI_KEY, SlowUpstream, slow_openai

SECURE = "Implement JWT authentication with OAuth2 integration and encryption of the session tokens"
COMPLEX = "\n".join(["def f(x):"] + [f"    if x == {n}:\n        return {n}" for n in range(30)] + ["    return -1"])


@pytest.fixture
def upstream() -> Iterator[SlowUpstream]:
    with slow_openai() as running:
        yield running


@pytest.fixture
def served(make_client: MakeClient, upstream: SlowUpstream, monkeypatch: pytest.MonkeyPatch) -> TestClient:
    """A started app whose default upstream is the fake OpenAI server."""
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_OPENAI_KEY)
    return make_client(env_keys=True, base_url=upstream.url, workflow_lease_s=3.0)


@pytest.fixture
def acme(served: TestClient) -> dict[str, str]:
    return workspace_key(served, "acme")


def wait_for(client: TestClient, workflow_id: str, headers: dict[str, str], *states: str) -> dict[str, Any]:
    """The workflow's status once it is in one of ``states`` (10 s at most)."""
    deadline = time.monotonic() + 10
    while True:
        body: dict[str, Any] = client.get(f"/v1/escalation/status/{workflow_id}", headers=headers).json()
        if body.get("state") in states:
            return body
        assert time.monotonic() < deadline, body
        time.sleep(0.05)


def submit(client: TestClient, headers: dict[str, str], **body: Any) -> str:
    response = client.post("/v1/escalation/submit", json={"task_description": SECURE} | body, headers=headers)
    assert response.status_code == 202, response.text
    assert response.json()["state"] == "queued"
    workflow_id: str = response.json()["workflow_id"]
    return workflow_id


def test_a_security_task_is_routed_to_escalate(served: TestClient, acme: dict[str, str]) -> None:
    """The seed's JWT example completes with should_escalate, the top tier, its model, reasons and triggers."""
    workflow_id = submit(
        served,
        acme,
        files_to_modify=["services/orchestrator/auth.py", "services/orchestrator/security/middleware.py"],
        task_type="implementation",
        requester="developer",
        priority="high",
    )
    status = wait_for(served, workflow_id, acme, "completed")
    assert status["should_escalate"] is True
    assert status["tier"] == "premium"
    assert status["recommended_model"]
    assert status["reasons"]
    assert any(t["category"] == "security" for t in status["triggers"])
    assert (status["cost"], status["result"], status["attempts"]) == (0.0, None, 1)
    assert (status["priority"], status["requester"]) == ("high", "developer")
    assert status["started_at"]
    assert status["finished_at"]


def test_a_simple_task_stays_cheap(served: TestClient, acme: dict[str, str]) -> None:
    """A typo fix is not escalated."""
    workflow_id = submit(served, acme, task_description="Fix a typo in the README", task_type="docs")
    status = wait_for(served, workflow_id, acme, "completed")
    assert (status["should_escalate"], status["tier"]) == (False, "cheap")


def test_generate_answers_through_the_pipeline(
    served: TestClient, acme: dict[str, str], upstream: SlowUpstream
) -> None:
    """With a prompt the workflow answers: the text, the models asked and the cost, on the workspace's upstream."""
    workflow_id = submit(served, acme, task_description="Fix a typo in the README", prompt="Say hello")
    status = wait_for(served, workflow_id, acme, "completed", "failed")
    assert status["state"] == "completed", status
    assert status["result"] == "good answer"
    assert status["models_tried"]
    assert status["cost"] > 0
    assert upstream.seen
    assert upstream.seen[-1]["body"]["messages"][-1]["content"] == "Say hello"


def test_generate_shows_the_inline_files(served: TestClient, acme: dict[str, str], upstream: SlowUpstream) -> None:
    """Inline files are shown to the model before the task."""
    workflow_id = submit(
        served, acme, task_description="Rename f", files={"m.py": "def f():\n    return 1\n"}, generate=True
    )
    assert wait_for(served, workflow_id, acme, "completed", "failed")["state"] == "completed"
    shown = " ".join(str(m["content"]) for m in upstream.seen[-1]["body"]["messages"])
    assert "def f():" in shown


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"task_description": "x", "surprise": 1}, "surprise"),
        ({}, "task_description"),
        ({"task_description": ""}, "task_description"),
        ({"task_description": "x" * 20_001}, "task_description"),
        ({"task_description": "x", "files_to_modify": [f"f{n}.py" for n in range(MAX_FILES + 1)]}, "files_to_modify"),
        ({"task_description": "x", "priority": "urgent"}, "priority"),
        ({"task_description": "x", "generate": "maybe"}, "generate"),
        ({"task_description": "x", "files_to_modify": ["/etc/passwd"]}, "files_to_modify[0]"),
        ({"task_description": "x", "files_to_modify": ["a.py", "../../secret.py"]}, "files_to_modify[1]"),
        ({"task_description": "x", "files": {"../up.py": "x = 1"}}, "files"),
    ],
)
def test_submit_refuses_bad_bodies(served: TestClient, acme: dict[str, str], body: dict[str, Any], param: str) -> None:
    """Each malformed submission is a 400 naming the field; nothing is stored."""
    response = served.post("/v1/escalation/submit", json=body, headers=acme)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["param"] == param
    assert store_of(served).workflows.counts("acme") == {}


def test_every_route_needs_a_key(served: TestClient) -> None:
    """No key: 401 on every escalation route but health."""
    assert served.post("/v1/escalation/submit", json={"task_description": "x"}).status_code == 401
    assert served.get("/v1/escalation/status/x").status_code == 401
    assert served.post("/v1/escalation/status/x/cancel").status_code == 401
    assert served.post("/v1/escalation/analyze", json={"task_description": "x"}).status_code == 401
    assert served.get("/v1/escalation/statistics").status_code == 401


def test_unknown_and_foreign_workflows_are_not_found(served: TestClient, acme: dict[str, str]) -> None:
    """Another workspace's workflow is a 404 naming workflow_id, exactly as an unknown one; it cannot cancel it."""
    workflow_id = submit(served, acme, task_description="Fix a typo in the README")
    wait_for(served, workflow_id, acme, "completed")
    other = workspace_key(served, "other")
    for path in (f"/v1/escalation/status/{workflow_id}", "/v1/escalation/status/no-such-id"):
        response = served.get(path, headers=other)
        assert response.status_code == 404
        assert response.json()["error"]["param"] == "workflow_id"
    assert served.post(f"/v1/escalation/status/{workflow_id}/cancel", headers=other).status_code == 404
    assert served.post("/v1/escalation/status/nope/cancel", headers=acme).status_code == 404
    assert served.get(f"/v1/escalation/status/{workflow_id}", headers=acme).json()["state"] == "completed"


def test_a_workspace_with_too_many_open_workflows_gets_429(make_client: MakeClient) -> None:
    """Past ``max_open_workflows`` queued or running, a submission is refused and nothing is stored; others go on."""
    quiet = make_client(workflow_lease_s=600.0, max_open_workflows=2)
    acme = workspace_key(quiet, "acme")
    store = store_of(quiet)
    for _ in range(2):  # running on another replica under a live lease: no sweep hands them out here
        made = store.workflows.submit("acme", {"task_description": "x"})
        assert store.workflows.claim(made.id, owner="elsewhere", lease_s=600.0) is not None
    response = quiet.post("/v1/escalation/submit", json={"task_description": "one more"}, headers=acme)
    assert response.status_code == 429, response.text
    assert response.json()["error"]["code"] == "too_many_workflows"
    assert sum(store.workflows.counts("acme").values()) == 2  # nothing stored
    other = quiet.post("/v1/escalation/submit", json={"task_description": "x"}, headers=workspace_key(quiet, "b"))
    assert other.status_code == 202


def test_cancel_a_queued_workflow(make_client: MakeClient) -> None:
    """A workflow no process has started is cancelled at once (if the start-up sweep took it first, it stops)."""
    quiet = make_client(workflow_lease_s=600.0)  # its next sweep, which would start the workflow, is minutes away
    acme = workspace_key(quiet, "acme")
    queued = store_of(quiet).workflows.submit("acme", {"task_description": "x"})
    response = quiet.post(f"/v1/escalation/status/{queued.id}/cancel", headers=acme)
    assert response.status_code == 200
    assert response.json()["cancel_requested"] is True
    if response.json()["state"] != "cancelled":  # the sweep at start-up had already claimed it
        assert response.json()["state"] in ("running", "completed")
    else:
        assert wait_for(quiet, queued.id, acme, "cancelled")["state"] == "cancelled"


def test_cancel_a_running_workflow_then_a_finished_one(
    make_client: MakeClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A running workflow stops at its next lease renewal and ends cancelled; cancelling it again is a 409."""
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_OPENAI_KEY)
    with slow_openai(gated=True) as upstream:
        client = make_client(env_keys=True, base_url=upstream.url, workflow_lease_s=1.5)
        headers = workspace_key(client, "acme")
        workflow_id = submit(client, headers, task_description="Fix a typo", generate=True)
        deadline = time.monotonic() + 10
        while not upstream.seen:  # the generation is waiting on the upstream
            assert time.monotonic() < deadline
            time.sleep(0.05)
        response = client.post(f"/v1/escalation/status/{workflow_id}/cancel", headers=headers)
        assert response.status_code == 200
        assert response.json()["state"] == "running"
        assert response.json()["cancel_requested"]
        status = wait_for(client, workflow_id, headers, "cancelled", "completed", "failed")
        assert status["state"] == "cancelled"
        again = client.post(f"/v1/escalation/status/{workflow_id}/cancel", headers=headers)
        assert again.status_code == 409
        assert again.json()["error"]["code"] == "workflow_finished"


def test_analyze_inline_files(served: TestClient, acme: dict[str, str]) -> None:
    """Seed 001's analyze: the three levels with their scores, the triggers, the files analysed."""
    response = served.post(
        "/v1/escalation/analyze",
        json={
            "task_description": "Migrate user database schema",
            "files_to_modify": ["models.py", "migrations/001_users.py"],
            "task_type": "implementation",
            "files": {"models.py": COMPLEX},
        },
        headers=acme,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["complexity_level"] in {"medium", "high", "critical"}
    assert body["complexity_score"] >= 2
    assert body["basis"]["complexity"]["max_cyclomatic_complexity"] > 20
    assert body["business_impact"] in {"low", "medium", "high", "critical"}
    assert isinstance(body["risk_score"], float)
    assert body["risk_level"]
    assert body["files_analyzed"] == ["models.py"]
    assert "not read" in body["unparseable"]["migrations/001_users.py"]  # no files root on this server
    assert body["triggers"]


@pytest.fixture
def rooted(make_client: MakeClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[TestClient, Path]:
    """An app with a files root whose folder of workspace acme holds ``pkg/m.py``, a big file, and a
    symlink pointing out of it."""
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_OPENAI_KEY)
    root = tmp_path / "root"
    mine = root / "acme"
    (mine / "pkg").mkdir(parents=True)
    (mine / "pkg" / "m.py").write_text(COMPLEX)
    (mine / "big.py").write_text("x = 1\n" * 100_000)
    outside = tmp_path / "secret.py"
    outside.write_text("password = 'hunter2'\n")
    (mine / "link.py").symlink_to(outside)
    return make_client(files_root=root, env_keys=True), root


def _analyze(client: TestClient, headers: dict[str, str], *paths: str) -> Any:
    return client.post(
        "/v1/escalation/analyze", json={"task_description": "Refactor", "files_to_modify": list(paths)}, headers=headers
    )


def test_analyze_reads_under_the_files_root(rooted: tuple[TestClient, Path]) -> None:
    """A path under the root is read and analysed."""
    client, _ = rooted
    response = _analyze(client, workspace_key(client, "acme"), "pkg/m.py")
    assert response.status_code == 200, response.text
    assert response.json()["files_analyzed"] == ["pkg/m.py"]
    assert response.json()["basis"]["complexity"]["max_cyclomatic_complexity"] > 20


def test_a_workspace_reads_only_its_own_folder_of_the_root(rooted: tuple[TestClient, Path]) -> None:
    """Files are read under ``files_root/<workspace>``: another workspace cannot name acme's files."""
    client, _ = rooted
    response = _analyze(client, workspace_key(client, "other"), "pkg/m.py")
    assert response.status_code == 400
    assert "not found" in response.json()["error"]["message"]
    assert _analyze(client, workspace_key(client, "other"), "../acme/pkg/m.py").status_code == 400


@pytest.mark.parametrize(
    ("path", "words"),
    [
        ("../secret.py", "'..'"),
        ("pkg/../../secret.py", "'..'"),
        ("/etc/passwd.py", "absolute"),
        ("link.py", "outside the server's files root"),
        ("missing.py", "not found"),
        ("big.py", "over the limit"),
    ],
)
def test_analyze_refuses_paths_out_of_the_root(rooted: tuple[TestClient, Path], path: str, words: str) -> None:
    """Traversal, absolute paths, symlinks out, missing and oversize files: 400 naming the field, nothing read."""
    client, _ = rooted
    response = _analyze(client, workspace_key(client, "acme"), "pkg/m.py", path)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["param"] == "files_to_modify[1]"
    assert words in error["message"]
    assert "hunter2" not in response.text


def test_submit_reads_files_under_the_root_when_submitted(rooted: tuple[TestClient, Path]) -> None:
    """A submitted task's files are read at submission: a path out of the root is refused there."""
    client, _ = rooted
    headers = workspace_key(client, "acme")
    response = client.post(
        "/v1/escalation/submit", json={"task_description": "x", "files_to_modify": ["link.py"]}, headers=headers
    )
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "files_to_modify[0]"


def test_statistics_are_per_workspace(served: TestClient, acme: dict[str, str]) -> None:
    """Rates, cost and confidence count only the caller's workflows; another workspace sees none of them."""
    ids = [submit(served, acme), submit(served, acme, task_description="Fix a typo in the README")]
    for workflow_id in ids:
        wait_for(served, workflow_id, acme, "completed")
    body = served.get("/v1/escalation/statistics", headers=acme).json()
    assert body["workspace"] == "acme"
    assert body["workflows"] == {"completed": 2}
    assert (body["escalation_rate"], body["success_rate"], body["sample"]) == (0.5, 1.0, 2)
    assert body["cost_efficiency"]["total_cost_usd"] == 0.0
    assert 0 < body["validation_confidence"] <= 1
    assert "this workspace's own requests" in body["trigger_scope"]
    other_key = workspace_key(served, "other")
    other = served.get("/v1/escalation/statistics", headers=other_key).json()
    assert other["workflows"] == {}
    assert other["escalation_rate"] is None
    assert other["triggers"] == []
    # a generated answer records trigger outcomes, for its own workspace only
    task = "Fix a typo in the README, then say done"
    wait_for(served, submit(served, acme, task_description=task, generate=True), acme, "completed")
    mine = served.get("/v1/escalation/statistics", headers=acme).json()["triggers"]
    assert sum(_observations(t) for t in mine) > 0
    assert served.get("/v1/escalation/statistics", headers=other_key).json()["triggers"] == []
    # the same task in the other workspace counts there too; sent twice, it is the same evidence: once
    for _ in range(2):
        wait_for(served, submit(served, other_key, task_description=task, generate=True), other_key, "completed")
    theirs = served.get("/v1/escalation/statistics", headers=other_key).json()["triggers"]
    assert theirs == mine


def _observations(trigger: dict[str, int]) -> int:
    kinds = ("true_positives", "false_positives", "false_negatives", "true_negatives")
    return sum(trigger[k] for k in kinds)


def test_routing_alone_needs_no_upstream_key(make_client: MakeClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """A workspace with no upstream key still gets its task routed and analysed; only generation needs a key."""
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    client = make_client()
    headers = workspace_key(client, "nokey")
    workflow_id = submit(client, headers, task_description="Implement JWT authentication with OAuth2")
    done = wait_for(client, workflow_id, headers, "completed")
    assert done["tier"] is not None
    analysed = client.post(
        "/v1/escalation/analyze", json={"task_description": "Migrate the users table"}, headers=headers
    )
    assert analysed.status_code == 200
    generated = submit(client, headers, task_description="Fix a typo", generate=True)
    failed = wait_for(client, generated, headers, "failed")
    assert "no API key" in failed["error"]
