"""The store's repositories: each works on its own over one Database, and SqlStore's facade shares that Database."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from escalade.budget import WorkspaceBudget
from escalade.cascade import ProgressiveExecutor, WorkItem
from escalade.exceptions import ListenerError
from escalade.ladder import EscalationConfig
from escalade.providers import ScriptedProvider
from escalade.quality import FailureAnalysis, ScoringContext
from escalade.routing import TriggerCategory, TriggerOutcome
from escalade.store import (
    BudgetRepository,
    Database,
    ProviderKeyRepository,
    RetentionRepository,
    RunRepository,
    SqlLedger,
    SqlStore,
    TelemetryRepository,
    TriggerRepository,
)
from tests.conftest import ladder


@pytest.fixture
def database(db_url: str) -> Iterator[Database]:
    """The fresh database opened (and migrated) without a store around it, closed after the test."""
    opened = Database(db_url)
    yield opened
    opened.close()


def _passes(ctx: ScoringContext) -> FailureAnalysis:
    return FailureAnalysis(test_pass_rate=1.0, weights={"test_pass_rate": 1.0})


def _run(listener: RunRepository, answers: list[str], *, run_id: str) -> None:
    config = EscalationConfig(tiers=ladder(("cheap", ("a",), 50.0, 1)), max_cost=None, auto_approve_under=None)
    provider = ScriptedProvider({"a": answers}, cost_per_call={"a": 0.01})
    ex = ProgressiveExecutor(config.replace(max_concurrency=1), provider, scorer=_passes, listeners=[listener])
    ex.run_sync([WorkItem(id=f"i{k}", prompt="p") for k in range(len(answers))], run_id=run_id)


def test_run_repository_alone_is_a_run_listener(db_url: str, database: Database) -> None:
    """A RunRepository records a run by itself; a SqlStore on the same database reads the same summary."""
    runs = RunRepository(database)
    _run(runs, ["ok", "ok"], run_id="run-1")
    summary = runs.get_run("run-1")
    assert (summary.status, summary.items_worked) == ("completed", 2)
    assert summary.total_cost == pytest.approx(0.02)
    with SqlStore(db_url) as store:
        assert store.get_run("run-1") == summary
        assert [r.run_id for r in store.list_runs()] == ["run-1"]


def test_run_repository_alone_marks_a_refused_run_failed(database: Database) -> None:
    """The Database keeps a run's first failed write, so a RunRepository alone stores that run as failed."""
    runs = RunRepository(database)
    with pytest.raises(ListenerError, match=r"run run-1, item 'i1': "):
        _run(runs, ["ok", "bad \ud800 text", "ok"], run_id="run-1")
    summary = runs.get_run("run-1")
    assert summary.status == "failed"
    assert any("item 'i1'" in warning for warning in summary.warnings)
    assert database.pop_failure("run-1") is None  # handed over when the run finished


def test_each_repository_works_on_its_own(db_url: str, database: Database) -> None:
    """Triggers, telemetry, budgets, provider keys and retention each work over a bare Database."""
    triggers = TriggerRepository(database)
    triggers.record_trigger_outcome(TriggerOutcome("t", TriggerCategory.BUSINESS_IMPACT, 0.9, True, False, "h"))
    telemetry = TelemetryRepository(database)
    telemetry.add_event(created_at=datetime.now(UTC), event="x", workflow="w", user_hash="h", data={})
    budgets = BudgetRepository(database)
    budgets.put_workspace_budget(WorkspaceBudget(workspace="acme", monthly_limit_usd=5.0))
    keys = ProviderKeyRepository(database)
    keys.put_provider_key("acme", "openai", "ciphertext")
    assert RetentionRepository(database).cleanup(1).telemetry_events == 0  # the event is newer than a day
    with SqlStore(db_url) as store:
        assert store.trigger_stats()["t"].false_positives == 1
        assert [e.event for e in store.events()] == ["x"]
        assert store.workspace_budget("acme") == WorkspaceBudget(workspace="acme", monthly_limit_usd=5.0)
        assert store.provider_key("acme", "openai") == "ciphertext"
        assert store.cleanup(0).telemetry_events == 1
    assert telemetry.events() == []
    assert keys.delete_provider_key("acme", "openai")
    assert keys.provider_key_names("acme") == []


def test_the_store_and_its_stores_share_one_database(store: SqlStore) -> None:
    """Every repository, the ledger and the autonomy store of a SqlStore work over its one engine."""
    repositories = (store.runs, store.triggers, store.telemetry, store.budgets, store.provider_keys, store.retention)
    assert all(repository.db is store.db for repository in repositories)
    assert store.engine is store.db.engine
    assert store.ledger().engine is store.engine
    assert SqlLedger(store.db).engine is store.engine
    assert store.autonomy(key=b"k").engine is store.engine
    ledger = store.budgets.ledger()
    ledger.open("run:x", 1.0)
    assert store.ledger().line("run:x").cap == ledger.line("run:x").cap


def test_trigger_outcomes_are_kept_and_counted_per_workspace(store: SqlStore) -> None:
    """The same task in two workspaces is evidence for each; within one it counts once; no workspace: totals only."""

    def outcome(workspace: str | None, *, needed: bool) -> TriggerOutcome:
        return TriggerOutcome(
            trigger="t",
            category=TriggerCategory.SECURITY,
            confidence=0.9,
            escalated=True,
            needed=needed,
            task_hash="h" * 64,
            workspace=workspace,
        )

    assert store.record_trigger_outcome_once(outcome("a", needed=True))
    assert not store.record_trigger_outcome_once(outcome("a", needed=False))
    assert store.record_trigger_outcome_once(outcome("b", needed=False))
    assert store.record_trigger_outcome_once(outcome(None, needed=True))
    assert store.trigger_stats(workspace="a")["t"].true_positives == 1
    assert store.trigger_stats(workspace="b")["t"].false_positives == 1
    assert store.trigger_stats(workspace="c") == {}
    everything = store.trigger_stats()["t"]
    assert (everything.true_positives, everything.false_positives) == (2, 1)


def test_a_new_monthly_cap_applies_to_the_open_month_line_at_once(store: SqlStore) -> None:
    """A line opens with its first call's cap and keeps it; changing the workspace's budget changes it too."""
    budget = WorkspaceBudget(workspace="acme")
    key = budget.month_line(datetime.now(UTC))
    ledger = store.ledger()
    ledger.open(key, None)
    store.put_workspace_budget(WorkspaceBudget(workspace="acme", monthly_limit_usd=2.5))
    assert ledger.line(key).cap_usd == 2.5
    store.put_workspace_budget(WorkspaceBudget(workspace="acme"))
    assert ledger.line(key).cap_usd is None
    fresh = WorkspaceBudget(workspace="fresh", monthly_limit_usd=1.0)
    store.put_workspace_budget(fresh)  # no line yet: it is opened with the cap, before anyone opens it with an old one
    assert ledger.line(fresh.month_line(datetime.now(UTC))).cap_usd == 1.0
    ledger.open(fresh.month_line(datetime.now(UTC)), None)  # a process with the old (no) cap opens it later
    assert ledger.line(fresh.month_line(datetime.now(UTC))).cap_usd == 1.0
