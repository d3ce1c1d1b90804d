"""Durable workflows: a restarted server resumes what a dead process left, fails what died too often,
reclaims expired budget holds; the same on PostgreSQL with procrastinate's queue."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from escalade.store import SqlStore, WorkflowRepository
from tests.service.conftest import MakeClient, workspace_key
from tests.service.test_escalation import SECURE, submit, wait_for
from tests.service.upstream import FAKE_OPENAI_KEY, SlowUpstream, slow_openai
from tests.store.conftest import POSTGRES_ADMIN_URL, fresh_postgres


@pytest.fixture
def upstream(monkeypatch: pytest.MonkeyPatch) -> Iterator[SlowUpstream]:
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_OPENAI_KEY)
    with slow_openai() as running:
        yield running


def _left_by_dead_owners(url: str, *, starts: int, queued: int = 0) -> list[str]:
    """Workflows of ``acme`` that ``starts`` dead processes each claimed an hour ago (and ``queued`` never claimed)."""
    at = [datetime.now(UTC) - timedelta(hours=1)]
    with SqlStore(url) as store:
        past = WorkflowRepository(store.db, clock=lambda: at[0])
        ids = []
        made = past.submit("acme", {"task_description": SECURE, "files_to_modify": [], "files": {}})
        for n in range(starts):
            assert past.claim(made.id, owner=f"dead-{n}", lease_s=30) is not None
            at[0] += timedelta(minutes=1)
        ids.append(made.id)
        ids += [past.submit("acme", {"task_description": "Fix a typo"}).id for _ in range(queued)]
        return ids


def test_a_restarted_server_resumes_what_a_dead_process_left(
    make_client: MakeClient, tmp_path: Path, upstream: SlowUpstream
) -> None:
    """A workflow left running by a dead owner (expired lease) and a queued one both complete after a start."""
    url = f"sqlite:///{tmp_path / 'service.db'}"
    running, queued = _left_by_dead_owners(url, starts=1, queued=1)
    client = make_client(database_url=url, env_keys=True, base_url=upstream.url, workflow_lease_s=2.0)
    headers = workspace_key(client, "acme")
    resumed = wait_for(client, running, headers, "completed", "failed")
    assert (resumed["state"], resumed["attempts"], resumed["should_escalate"]) == ("completed", 2, True)
    assert wait_for(client, queued, headers, "completed", "failed")["state"] == "completed"


def test_a_workflow_whose_processes_keep_dying_fails_visibly(
    make_client: MakeClient, tmp_path: Path, upstream: SlowUpstream
) -> None:
    """Started as many times as allowed, each time by a process that died: it fails, saying so."""
    url = f"sqlite:///{tmp_path / 'service.db'}"
    (workflow_id,) = _left_by_dead_owners(url, starts=3)
    client = make_client(
        database_url=url, env_keys=True, base_url=upstream.url, workflow_lease_s=2.0, workflow_max_attempts=3
    )
    status = wait_for(client, workflow_id, workspace_key(client, "acme"), "completed", "failed")
    assert (status["state"], status["attempts"]) == ("failed", 3)
    assert "stopped 3 times" in status["error"]


def test_the_sweep_reclaims_expired_budget_holds(
    make_client: MakeClient, tmp_path: Path, upstream: SlowUpstream
) -> None:
    """A hold a killed process left is given back by the sweep, with no refusal needed to trigger it."""
    url = f"sqlite:///{tmp_path / 'service.db'}"
    with SqlStore(url) as store:
        ledger = store.ledger(clock=lambda: time.time() - 3600)
        ledger.open("run:dead", 1.0)
        ledger.reserve(["run:dead"], 0.5, ttl_s=60, owner="dead")
    client = make_client(database_url=url, env_keys=True, base_url=upstream.url, workflow_lease_s=2.0)
    ledger = client.app.state.service.store.ledger()  # type: ignore[attr-defined]
    deadline = time.monotonic() + 10
    while ledger.holds(status="held"):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert ledger.line("run:dead").reserved == 0


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database (the store tests' server); the test fails when it cannot be reached.

    Ask for it before ``make_client``, so that the apps stop before it is dropped.
    """
    with fresh_postgres() as url:
        yield url


def test_procrastinate_runs_workflows_on_postgresql(
    postgres_url: str, make_client: MakeClient, upstream: SlowUpstream
) -> None:
    """On PostgreSQL the workflow is a procrastinate job; its schema is applied once, by the first start."""
    client = make_client(database_url=postgres_url, env_keys=True, base_url=upstream.url, workflow_lease_s=2.0)
    headers = workspace_key(client, "acme")
    assert type(client.app.state.service.parts["workflows"]).__name__ == "ProcrastinateQueue"  # type: ignore[attr-defined]
    workflow_id = submit(client, headers)
    assert wait_for(client, workflow_id, headers, "completed", "failed")["state"] == "completed"
    again = make_client(database_url=postgres_url, env_keys=True, base_url=upstream.url, workflow_lease_s=2.0)
    second = submit(again, headers, task_description="Fix a typo", generate=True)
    assert wait_for(client, second, headers, "completed", "failed")["result"] == "good answer"


def test_inprocess_jobs_on_postgresql(postgres_url: str, make_client: MakeClient, upstream: SlowUpstream) -> None:
    """``jobs="inprocess"`` runs them as tasks of the process even on PostgreSQL."""
    client = make_client(database_url=postgres_url, env_keys=True, base_url=upstream.url, jobs="inprocess")
    headers = workspace_key(client, "acme")
    assert type(client.app.state.service.parts["workflows"]).__name__ == "InProcessQueue"  # type: ignore[attr-defined]
    assert wait_for(client, submit(client, headers), headers, "completed")["tier"] == "premium"


def test_a_client_may_run_many_workflows_at_once(make_client: MakeClient, upstream: SlowUpstream) -> None:
    """Ten workflows submitted together all complete, each once."""
    client: TestClient = make_client(env_keys=True, base_url=upstream.url)
    headers = workspace_key(client, "acme")
    ids = [submit(client, headers, task_description=f"Fix typo {n}", generate=True) for n in range(10)]
    states = [wait_for(client, i, headers, "completed", "failed") for i in ids]
    assert {s["state"] for s in states} == {"completed"}
    assert {s["attempts"] for s in states} == {1}
    asked = Counter(str(r["body"]["messages"][-1]["content"]) for r in upstream.seen)
    assert len(asked) == 10
    assert len(set(asked.values())) == 1  # each workflow made the same calls: none ran twice


def _postgres_away_for_a_moment(url: str, away_s: float = 1.5) -> None:
    """As a PostgreSQL restart does: every connection to the database cut, and none accepted for ``away_s``."""
    name = make_url(url).database
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")  # another database: this one refuses
    try:
        with admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false'))
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = :name AND pid <> pg_backend_pid()"
                ),
                {"name": name},
            )
            time.sleep(away_s)
            conn.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))
    finally:
        admin.dispose()


def test_the_job_queue_listens_again_after_postgresql_was_away(
    postgres_url: str, make_client: MakeClient, upstream: SlowUpstream
) -> None:
    """PostgreSQL gone for a moment (a restart, a failover): once it is back, a submitted workflow starts at once
    again, on the queue's notification, rather than at the worker's next poll (every 10 s with the default lease)."""
    client = make_client(database_url=postgres_url, env_keys=True, base_url=upstream.url)
    headers = workspace_key(client, "acme")
    assert wait_for(client, submit(client, headers), headers, "completed")["state"] == "completed"
    _postgres_away_for_a_moment(postgres_url)
    deadline = time.monotonic() + 10
    while client.get("/v1/escalation/health").status_code != 200:  # the pools find their connections cut
        assert time.monotonic() < deadline
        time.sleep(0.1)
    time.sleep(2.0)  # the listener's next attempt, once connections are accepted again
    for _ in range(3):
        started = time.monotonic()
        wait_for(client, submit(client, headers), headers, "completed")
        assert time.monotonic() - started < 3.0
