"""The SQL store: runs and attempts as they happen, summaries, interrupted runs, retention cleanup."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from escalade.cascade import ProgressiveExecutor, WorkItem
from escalade.exceptions import (
    DatabaseError,
    ListenerError,
    ProviderAuthError,
    ProviderConnectionError,
    RunNotFoundError,
    StoreError,
)
from escalade.ladder import EscalationConfig
from escalade.providers import Completion, CompletionRequest, FunctionProvider, ScriptedProvider
from escalade.quality import FailureAnalysis, ScoringContext
from escalade.store import AttemptRow, RunRow, SqlStore, TelemetryEventRow, resolve_database_url
from tests.conftest import ladder


def by_text(ctx: ScoringContext) -> FailureAnalysis:
    return FailureAnalysis(test_pass_rate=float(ctx.completion.text or 0), weights={"test_pass_rate": 1.0})


def _config() -> EscalationConfig:
    return EscalationConfig(
        tiers=ladder(("cheap", ("a",), 50.0, 1), ("premium", ("p",), 90.0, 1)), max_cost=None, auto_approve_under=None
    )


def _run(store: SqlStore, n: int = 3) -> str:
    provider = ScriptedProvider({"a": ["0.9", "0.1"], "p": ["1"]}, cost_per_call={"a": 0.01, "p": 0.1})
    ex = ProgressiveExecutor(
        _config().replace(max_concurrency=1), provider, scorer=by_text, listeners=[store], baseline=lambda i: 0.1
    )
    return ex.run_sync([WorkItem(id=f"i{k}", prompt="secret prompt") for k in range(n)]).run_id


def test_run_is_stored_and_summarised(db_url: str, store: SqlStore) -> None:
    """A finished run's status, costs, baseline, rates and per-tier figures are read back."""
    run_id = _run(store)
    summary = store.get_run(run_id)
    assert summary.status == "completed"
    assert (summary.items_total, summary.items_worked) == (3, 3)
    # i0 passes cheap (0.9); i1 and i2 get 0.1 at cheap and climb to premium
    assert summary.total_cost == pytest.approx(3 * 0.01 + 2 * 0.1)
    assert summary.premium_baseline_cost == pytest.approx(0.3)
    assert summary.escalation_rate == pytest.approx(2 / 3)
    assert summary.tiers["cheap"]["escalated"] == 2
    assert summary.tiers["premium"]["final_items"] == 2
    assert summary.to_dict()["cost_savings"] == pytest.approx(0.3 - 0.23)
    assert [r.run_id for r in store.list_runs()] == [run_id]


def test_unanswered_items_are_stored_with_their_causes(db_url: str, store: SqlStore) -> None:
    """A run with an unanswered item is stored partial, its errors by cause, its savings over answered items."""

    def handler(request: CompletionRequest) -> Completion:
        if request.model == "a":
            raise ProviderConnectionError("connection refused", model="a")
        if request.item_id == "i1":
            raise ProviderAuthError("401", model="p")
        return Completion(text="1", model="p", cost_usd=0.08)

    cfg = _config().replace(max_retries=0)
    ex = ProgressiveExecutor(
        cfg, FunctionProvider(handler), scorer=by_text, listeners=[store], baseline=lambda i: 0.1,
        estimator=ScriptedProvider({}, cost_per_call=0.1),
    )  # fmt: skip
    run_id = ex.run_sync([WorkItem(id=f"i{k}", prompt="p") for k in range(2)]).run_id
    summary = store.get_run(run_id)
    assert summary.status == "partial"
    assert summary.error_counts == {"connection": 2, "authentication": 1}
    assert (summary.items_worked, summary.items_answered) == (2, 1)
    assert summary.premium_baseline_cost == pytest.approx(0.1)
    assert summary.answered_cost == pytest.approx(0.08)
    assert summary.cost_savings == pytest.approx(0.02)
    assert summary.to_dict()["errors"] == {"connection": 2, "authentication": 1}


def test_stored_run_reports_its_result_under_the_same_keys(store: SqlStore) -> None:
    """A stored run's summary has the fresh result's keys and figures: one key per figure (no items_done)."""
    provider = ScriptedProvider({"a": ["0.9", "0.1"], "p": ["1"]}, cost_per_call={"a": 0.01, "p": 0.1})
    ex = ProgressiveExecutor(
        _config().replace(max_concurrency=1), provider, scorer=by_text, listeners=[store], baseline=lambda i: 0.1
    )
    fresh = ex.run_sync([WorkItem(id=f"i{k}", prompt="p") for k in range(3)]).to_dict(include_items=False)
    stored = store.get_run(str(fresh["run_id"])).to_dict()
    assert set(stored) - set(fresh) == {"config"}
    assert set(fresh) - set(stored) == {"item_statuses"}
    for key in set(fresh) & set(stored) - {"started_at", "finished_at", "tiers"}:
        same = pytest.approx(fresh[key]) if isinstance(fresh[key], float) else fresh[key]
        assert stored[key] == same, key
    assert stored["items_worked"] == 3


def test_unknown_run(db_url: str) -> None:
    """Asking for a run that is not stored raises RunNotFoundError."""
    with pytest.raises(RunNotFoundError, match="no stored run with id 'nope'"), SqlStore(db_url) as store:
        store.get_run("nope")


def test_bad_database_url() -> None:
    """A malformed URL or unknown driver is a StoreError, not a traceback."""
    with pytest.raises(StoreError, match="not a database URL"):
        SqlStore("://nowhere")
    with pytest.raises(StoreError, match="cannot open database"):
        SqlStore("nosuchdb://x/y")
    with pytest.raises(StoreError, match="cannot open database"):
        SqlStore("postgresql+nodriver://x/y")


def test_path_and_env_resolve_to_urls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A plain path means a SQLite file; ESCALADE_DATABASE_URL is the fallback; the data dir the default."""
    assert resolve_database_url(str(tmp_path / "x.db")) == f"sqlite:///{tmp_path / 'x.db'}"
    monkeypatch.setenv("ESCALADE_DATABASE_URL", "sqlite:///env.db")
    assert resolve_database_url(None) == "sqlite:///env.db"
    monkeypatch.delenv("ESCALADE_DATABASE_URL")
    monkeypatch.setenv("ESCALADE_DATA_DIR", str(tmp_path / "data"))
    assert resolve_database_url(None) == f"sqlite:///{tmp_path / 'data' / 'escalade.db'}"


def test_cleanup_by_age_with_dry_run(db_url: str, store: SqlStore) -> None:
    """Cleanup removes runs and telemetry older than the retention; a dry run only counts."""
    old, new = _run(store), _run(store)
    with store.session() as s:
        s.execute(update(RunRow).where(RunRow.id == old).values(started_at=datetime.now(UTC) - timedelta(days=40)))
        s.add(
            TelemetryEventRow(
                created_at=datetime.now(UTC) - timedelta(days=40), event="x", workflow="w", user_hash="h", data={}
            )
        )
    dry = store.cleanup(30, dry_run=True)
    assert (dry.runs, dry.run_ids, dry.telemetry_events) == (1, [old], 1)
    assert dry.attempts == 5
    assert {r.run_id for r in store.list_runs()} == {old, new}
    done = store.cleanup(30)
    assert done.runs == 1
    assert [r.run_id for r in store.list_runs()] == [new]
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(AttemptRow).where(AttemptRow.run_id == old)) == 0
    with pytest.raises(StoreError, match="retention days must be >= 0"):
        store.cleanup(-1)


SLOW_RUN = textwrap.dedent(
    """
    import sys
    from escalade.cascade import ProgressiveExecutor, WorkItem
    from escalade.ladder import EscalationConfig
    from escalade.providers import ScriptedProvider
    from escalade.quality import FailureAnalysis
    from escalade.store import SqlStore
    from escalade.ladder import Ladder, Tier

    store = SqlStore(sys.argv[1])
    cfg = EscalationConfig(
        tiers=Ladder([Tier(name="cheap", rank=0, models=("a",), threshold=0)]),
        max_cost=None, auto_approve_under=None, max_concurrency=1,
    )
    provider = ScriptedProvider({"a": ["ok"]}, cost_per_call=0.01, delay_s=0.05)
    ex = ProgressiveExecutor(cfg, provider, scorer=lambda c: FailureAnalysis(test_pass_rate=1.0), listeners=[store])
    ex.run_sync([WorkItem(id=f"i{k}", prompt="p") for k in range(10_000)], run_id="slow")
    """
)


def _count_attempts(store: SqlStore) -> int:
    with store.session() as s:
        return s.scalar(select(func.count()).select_from(AttemptRow)) or 0


@pytest.mark.slow
def test_killed_run_keeps_finished_attempts(tmp_path: Path, db_url: str, store: SqlStore) -> None:
    """A process killed outright (SIGKILL) mid-run leaves every finished attempt in the database."""
    script = tmp_path / "slow.py"
    script.write_text(SLOW_RUN)
    proc = subprocess.Popen([sys.executable, str(script), db_url], env={**os.environ})
    deadline = time.monotonic() + 60
    while _count_attempts(store) < 5 and time.monotonic() < deadline:
        assert proc.poll() is None, "the run ended early"
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    kept = _count_attempts(store)
    assert kept >= 5
    summary = store.get_run("slow")
    assert summary.status == "running"  # never finished; nothing marked it
    assert summary.tiers["cheap"]["attempts"] == kept
    assert summary.total_cost == pytest.approx(0.01 * kept)


def _passes(ctx: ScoringContext) -> FailureAnalysis:
    return FailureAnalysis(test_pass_rate=1.0, weights={"test_pass_rate": 1.0})


SURROGATE = "bad \ud800 text"  # a lone surrogate: neither SQLite nor PostgreSQL can store it


@pytest.mark.parametrize("where", ["prompt", "answer"])
def test_a_row_the_database_refuses_marks_the_run_failed(store: SqlStore, where: str) -> None:
    """A row the database refuses stops the run; it is stored as failed, naming the database, run and item."""
    provider = ScriptedProvider(
        {"a": ["ok", SURROGATE if where == "answer" else "ok", "ok"]}, cost_per_call={"a": 0.01}
    )
    items = [WorkItem(id=f"i{k}", prompt=SURROGATE if (k, where) == (1, "prompt") else "fine") for k in range(3)]
    ex = ProgressiveExecutor(_config().replace(max_concurrency=1), provider, scorer=_passes, listeners=[store])
    with pytest.raises(ListenerError) as stopped:
        ex.run_sync(items, run_id="run-1")
    database = store.engine.url.render_as_string(hide_password=True)
    assert f"database {database}, run run-1, item 'i1': " in str(stopped.value)
    summary = store.get_run("run-1")
    assert summary.status == "failed"
    assert any("item 'i1'" in warning and "surrogate" in warning for warning in summary.warnings)
    assert summary.items_worked >= 1  # i0, finished before, is kept


def test_nul_characters_on_each_database(store: SqlStore) -> None:
    """SQLite keeps a NUL character; PostgreSQL refuses it, and the run is then failed, not left running."""
    provider = ScriptedProvider({"a": ["a\x00b"]}, cost_per_call={"a": 0.01})
    ex = ProgressiveExecutor(_config(), provider, scorer=_passes, listeners=[store])
    if store.engine.dialect.name == "sqlite":
        ex.run_sync([WorkItem(id="i0", prompt="p")], run_id="run-1")
        assert store.get_run("run-1").status == "completed"
        assert store.logged_items()[0].tiers["cheap"].answer == "a\x00b"
        return
    with pytest.raises(ListenerError, match=r"run run-1, item 'i0': .*NUL"):
        ex.run_sync([WorkItem(id="i0", prompt="p")], run_id="run-1")
    assert store.get_run("run-1").status == "failed"


def test_database_errors_name_the_database_with_password_masked(monkeypatch: pytest.MonkeyPatch) -> None:
    """A database that cannot be reached is named in the error, its password masked."""
    url = "postgresql+psycopg://escalade:s3cret@127.0.0.1:1/nowhere"
    with pytest.raises(DatabaseError) as info:
        SqlStore(url)
    assert "s3cret" not in str(info.value)
    assert "database postgresql+psycopg://escalade:***@127.0.0.1:1/nowhere" in str(info.value)
    assert info.value.database == "postgresql+psycopg://escalade:***@127.0.0.1:1/nowhere"


def test_store_errors_name_the_run(store: SqlStore) -> None:
    """A write the database refuses says which database and which run (here: a run id stored twice)."""
    run_id = _run(store)
    with pytest.raises(DatabaseError, match=rf"^database {re.escape(store.database)}, run {run_id}: ") as info:
        store.on_run_started(run_id, "replay", _config(), 1)
    assert info.value.run_id == run_id


def test_sqlite_uri_creates_no_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A SQLite URI ('file:...?mode=ro&uri=true') names an existing file: no folder is made from its text."""
    path = tmp_path / "runs.db"
    SqlStore(str(path)).close()
    here = tmp_path / "cwd"
    here.mkdir()
    monkeypatch.chdir(here)
    with SqlStore(f"sqlite:///file:{path}?mode=ro&uri=true") as store:
        assert store.list_runs() == []
    assert list(here.iterdir()) == []
