"""Workflows in the store: claims, leases, finishing, cancelling and expiry, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from escalade.exceptions import ConfigError, StoreError
from escalade.store import SqlStore, WorkflowRepository

START = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


class Clock:
    """A clock the test moves."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def repo(store: SqlStore, clock: Clock) -> WorkflowRepository:
    """The store's workflows on the test's clock."""
    return WorkflowRepository(store.db, clock=clock)


def test_submit_and_get_only_in_its_workspace(repo: WorkflowRepository) -> None:
    """A submitted workflow is queued, with its request, and only its workspace sees it."""
    made = repo.submit("acme", {"task_description": "fix it", "files_to_modify": ["a.py"]})
    found = repo.get(made.id, workspace="acme")
    assert found is not None
    assert (found.state, found.attempts, found.request["files_to_modify"]) == ("queued", 0, ["a.py"])
    assert found.created_at == START
    assert repo.get(made.id, workspace="other") is None
    assert repo.get("no-such-id", workspace="acme") is None
    assert repo.get(made.id, workspace=None) == found


def test_submit_checks_the_workspace(repo: WorkflowRepository) -> None:
    """A workspace name the store cannot keep is a ConfigError naming the field."""
    with pytest.raises(ConfigError) as caught:
        repo.submit(" bad", {})
    assert caught.value.field == "workspace"


def test_only_one_claim_wins(repo: WorkflowRepository) -> None:
    """The first claim runs it; a second one, while the lease holds, gets nothing."""
    made = repo.submit("acme", {})
    first = repo.claim(made.id, owner="r1", lease_s=30)
    assert first is not None
    assert (first.state, first.owner, first.attempts, first.started_at) == ("running", "r1", 1, START)
    assert first.lease_until == START + timedelta(seconds=30)
    assert repo.claim(made.id, owner="r2", lease_s=30) is None
    assert repo.claim("no-such-id", owner="r2", lease_s=30) is None


def test_an_expired_lease_is_claimed_again(repo: WorkflowRepository, clock: Clock) -> None:
    """When its owner stopped renewing, another process claims it (attempts + 1) and the old owner lost it."""
    made = repo.submit("acme", {})
    repo.claim(made.id, owner="dead", lease_s=10)
    clock.advance(11)
    assert repo.resumable() == [made.id]
    again = repo.claim(made.id, owner="r2", lease_s=10)
    assert again is not None
    assert (again.owner, again.attempts, again.started_at) == ("r2", 2, START)
    assert repo.renew(made.id, owner="dead", lease_s=10) is None
    assert not repo.finish(made.id, owner="dead", state="completed", result={})
    assert repo.finish(made.id, owner="r2", state="completed", result={"tier": "cheap"})
    done = repo.get(made.id, workspace="acme")
    assert done is not None
    assert (done.state, done.result, done.lease_until) == ("completed", {"tier": "cheap"}, None)
    assert done.finished
    assert repo.claim(made.id, owner="r3", lease_s=10) is None


def test_renew_extends_the_lease_and_reports_a_cancel(repo: WorkflowRepository, clock: Clock) -> None:
    """The owner's renewal keeps others off; it reports a cancel asked for meanwhile."""
    made = repo.submit("acme", {})
    repo.claim(made.id, owner="r1", lease_s=10)
    clock.advance(8)
    assert repo.renew(made.id, owner="r1", lease_s=10) is False
    clock.advance(8)
    assert repo.claim(made.id, owner="r2", lease_s=10) is None
    assert repo.resumable() == []
    assert repo.cancel(made.id, workspace="acme") is not None
    assert repo.renew(made.id, owner="r1", lease_s=10) is True


def test_cancel_in_each_state(repo: WorkflowRepository) -> None:
    """Queued: cancelled at once; running: cancel requested; finished: unchanged; other workspace: not found."""
    queued = repo.submit("acme", {})
    found = repo.cancel(queued.id, workspace="acme")
    assert found is not None
    assert found[0].state == "cancelled"
    assert found[1]
    assert repo.claim(queued.id, owner="r1", lease_s=10) is None
    running = repo.submit("acme", {})
    repo.claim(running.id, owner="r1", lease_s=10)
    found = repo.cancel(running.id, workspace="acme")
    assert found is not None
    assert (found[0].state, found[0].cancel_requested, found[1]) == ("running", True, True)
    assert repo.finish(running.id, owner="r1", state="cancelled")
    found = repo.cancel(running.id, workspace="acme")
    assert found is not None
    assert (found[0].state, found[1]) == ("cancelled", False)
    assert repo.cancel(running.id, workspace="other") is None


def test_a_workflow_whose_owners_keep_dying_fails_visibly(repo: WorkflowRepository, clock: Clock) -> None:
    """After max_attempts starts that all stopped, expire fails it, saying why."""
    made = repo.submit("acme", {})
    for n in range(3):
        assert repo.claim(made.id, owner=f"dead{n}", lease_s=10, max_attempts=3) is not None
        clock.advance(11)
    assert repo.claim(made.id, owner="r9", lease_s=10, max_attempts=3) is None
    assert repo.expire(max_attempts=3) == 1
    failed = repo.get(made.id, workspace="acme")
    assert failed is not None
    assert failed.state == "failed"
    assert failed.attempts == 3
    assert "stopped 3 times" in (failed.error or "")
    assert repo.resumable() == []


def test_a_cancel_whose_owner_died_ends_cancelled(repo: WorkflowRepository, clock: Clock) -> None:
    """A cancel asked of a workflow whose owner then died ends it cancelled, never run again."""
    made = repo.submit("acme", {})
    repo.claim(made.id, owner="dead", lease_s=10)
    repo.cancel(made.id, workspace="acme")
    clock.advance(11)
    assert repo.claim(made.id, owner="r2", lease_s=10) is None
    assert repo.expire() == 1
    found = repo.get(made.id, workspace="acme")
    assert found is not None
    assert found.state == "cancelled"


def test_finish_needs_a_final_state(repo: WorkflowRepository) -> None:
    """Finishing in a state that is not final is a StoreError."""
    made = repo.submit("acme", {})
    repo.claim(made.id, owner="r1", lease_s=10)
    with pytest.raises(StoreError):
        repo.finish(made.id, owner="r1", state="queued")


def test_counts_and_results_per_workspace(repo: WorkflowRepository) -> None:
    """Counts and results are those of the workspace asked about."""
    for workspace, tier in (("acme", "cheap"), ("acme", "premium"), ("other", "cheap")):
        made = repo.submit(workspace, {})
        repo.claim(made.id, owner="r1", lease_s=10)
        repo.finish(made.id, owner="r1", state="completed", result={"tier": tier})
    repo.submit("acme", {})
    assert repo.counts("acme") == {"completed": 2, "queued": 1}
    assert sorted(r["tier"] for r in repo.results("acme")) == ["cheap", "premium"]
    assert repo.counts("nobody") == {}


def test_a_workspace_at_its_bound_of_open_workflows_gets_none_stored(repo: WorkflowRepository) -> None:
    """Queued and running count against ``max_open``; finished ones and other workspaces' do not."""
    first = repo.submit("acme", {}, max_open=2)
    second = repo.submit("acme", {}, max_open=2)
    assert first is not None
    assert second is not None
    assert repo.claim(first.id, owner="r1", lease_s=10) is not None
    assert repo.submit("acme", {}, max_open=2) is None
    assert repo.counts("acme") == {"queued": 1, "running": 1}
    assert repo.submit("other", {}, max_open=2) is not None
    repo.cancel(second.id, workspace="acme")
    assert repo.submit("acme", {}, max_open=2) is not None


def test_submissions_arriving_together_never_pass_the_bound(repo: WorkflowRepository) -> None:
    """Eight threads submit at once against a bound of three: exactly three are stored (both databases)."""
    start = threading.Barrier(8)
    made: list[object] = []

    def submit() -> None:
        start.wait()
        made.append(repo.submit("acme", {}, max_open=3))

    threads = [threading.Thread(target=submit) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sum(m is not None for m in made) == 3
    assert repo.counts("acme") == {"queued": 3}


def test_the_store_exposes_its_workflows(store: SqlStore) -> None:
    """``store.workflows`` is the repository, on the store's database."""
    made = store.workflows.submit("acme", {"x": 1})
    assert store.workflows.get(made.id, workspace="acme") == made


def test_release_gives_it_back_uncounted(repo: WorkflowRepository) -> None:
    """A workflow its owner gives back is queued again with the start uncounted; a cancelled one ends cancelled."""
    made = repo.submit("acme", {})
    repo.claim(made.id, owner="r1", lease_s=10)
    assert not repo.release(made.id, owner="r2")
    assert repo.release(made.id, owner="r1")
    found = repo.get(made.id, workspace="acme")
    assert found is not None
    assert (found.state, found.attempts, found.owner) == ("queued", 0, None)
    repo.claim(made.id, owner="r1", lease_s=10)
    repo.cancel(made.id, workspace="acme")
    assert repo.release(made.id, owner="r1")
    found = repo.get(made.id, workspace="acme")
    assert found is not None
    assert found.state == "cancelled"
