"""The SQL store: one facade over the repositories that share one database.

SQLite file by default, any SQLAlchemy URL otherwise (see :class:`~escalade.store._engine.Database`).
Each concept has its repository, reachable as an attribute: ``store.runs`` (runs, attempts, items;
the :class:`~escalade.cascade.RunListener`), ``store.triggers``, ``store.telemetry``,
``store.budgets``, ``store.provider_keys``, ``store.retention``, ``store.preferences`` (workspace
preferences), ``store.api_keys`` (the service's keys) and ``store.workflows``
(submitted workflows). :class:`SqlStore` keeps every
method of theirs under its old name and hands each call on, so it is a ``RunListener`` and a
:class:`~escalade.store.RunStore` as before.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from escalade.budget import WorkspaceBudget
from escalade.cascade import AttemptRecord, ItemResult, ProgressiveWorkflowResult, RunListener
from escalade.ladder import EscalationConfig, Ladder
from escalade.routing import TriggerOutcome, TriggerStats, WorkspacePreferences
from escalade.store._api_keys import ApiKeyRepository
from escalade.store._autonomy import SqlAutonomyStore
from escalade.store._base import CleanupReport, LoggedItem, RunSummary
from escalade.store._budgets import BudgetRepository
from escalade.store._engine import Database
from escalade.store._inbox import SqlInboxStore
from escalade.store._ledger import SqlLedger
from escalade.store._models import TelemetryEventRow
from escalade.store._provider_keys import ProviderKeyRepository
from escalade.store._retention import RetentionRepository
from escalade.store._runs import RunRepository
from escalade.store._telemetry import TelemetryRepository
from escalade.store._triggers import TriggerRepository
from escalade.store._urls import default_database_url, resolve_database_url
from escalade.store._workflows import WorkflowRepository
from escalade.store._workspaces import WorkspaceRepository

__all__ = ["SqlStore", "default_database_url", "resolve_database_url"]


class SqlStore(RunListener):
    """Runs, attempts, escalations and telemetry in one SQL database (see the module docstring)."""

    def __init__(self, url: str | None = None, *, migrate: bool = True) -> None:
        #: The database every repository below works in.
        self.db = Database(url, migrate=migrate)
        self.url = self.db.url
        #: The database's URL with any password masked, as errors name it.
        self.database = self.db.database
        self.engine: Engine = self.db.engine
        self.runs = RunRepository(self.db)
        self.triggers = TriggerRepository(self.db)
        self.telemetry = TelemetryRepository(self.db)
        self.budgets = BudgetRepository(self.db)
        self.provider_keys = ProviderKeyRepository(self.db)
        self.retention = RetentionRepository(self.db)
        self.preferences = WorkspaceRepository(self.db)
        #: The service's API keys (hashes only) and the workspaces an administrator created.
        self.api_keys = ApiKeyRepository(self.db)
        #: Submitted escalation workflows (``escalade serve``) and their leases.
        self.workflows = WorkflowRepository(self.db)
        #: Escalated decisions waiting for people (:class:`~escalade.inbox.Inbox` keeps them here).
        self.inbox = SqlInboxStore(self.db)

    def close(self) -> None:
        """Release the connection pool."""
        self.db.close()

    def __enter__(self) -> SqlStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def session(self, *, run_id: str | None = None) -> AbstractContextManager[Session]:
        """A session committed on success, rolled back on error (which names ``run_id``, if given)."""
        return self.db.session(run_id=run_id)

    def autonomy(self, *, key: bytes | None = None) -> SqlAutonomyStore:
        """The escalation engine's store in this database (``key``: the audit trail's HMAC key)."""
        return SqlAutonomyStore(self.db, key=key)

    # -- runs (RunListener, RunStore) ----------------------------------------------------------------
    def on_run_started(self, run_id: str, workflow: str, config: EscalationConfig, items: int) -> None:
        self.runs.on_run_started(run_id, workflow, config, items)

    def on_attempt(self, run_id: str, record: AttemptRecord) -> None:
        self.runs.on_attempt(run_id, record)

    def on_escalation(self, run_id: str, item_id: str, from_tier: str, to_tier: str, reason: str) -> None:
        self.runs.on_escalation(run_id, item_id, from_tier, to_tier, reason)

    def on_item_finished(self, run_id: str, item: ItemResult) -> None:
        self.runs.on_item_finished(run_id, item)

    def on_run_finished(self, result: ProgressiveWorkflowResult) -> None:
        """Store the items not stored yet and the run's end; a run a write failed for ends ``failed``."""
        self.runs.on_run_finished(result)

    def save_result(self, result: ProgressiveWorkflowResult) -> str:
        """Store a run that was not recorded as it ran (``result.save_to_disk()``); return its run id."""
        return self.runs.save_result(result)

    def set_metrics(self, run_id: str, metrics: dict[str, Any], *, notes: Iterable[str] = ()) -> None:
        """Attach reported figures (e.g. replay accuracy) and set-up notes to a run."""
        self.runs.set_metrics(run_id, metrics, notes=notes)

    def mark_interrupted(self, run_id: str) -> None:
        """Mark a run that was stopped midway; its finished attempts stay."""
        self.runs.mark_interrupted(run_id)

    def list_runs(self, *, limit: int | None = None) -> list[RunSummary]:
        """Stored runs, newest first (at most ``limit``, which must be >= 1)."""
        return self.runs.list_runs(limit=limit)

    def get_run(self, run_id: str) -> RunSummary:
        """One stored run; raises ``RunNotFoundError``."""
        return self.runs.get_run(run_id)

    def logged_items(self, *, workflow: str | None = None) -> list[LoggedItem]:
        """Finished items that kept their prompt, with each tier's outcome, oldest run first."""
        return self.runs.logged_items(workflow=workflow)

    # -- provider keys (ciphertext only: escalade.store._keys encrypts and decrypts) -----------------
    def put_provider_key(self, workspace: str, provider: str, ciphertext: str) -> None:
        """Insert or replace a workspace's encrypted key for ``provider``."""
        self.provider_keys.put_provider_key(workspace, provider, ciphertext)

    def provider_key(self, workspace: str, provider: str) -> str | None:
        """The encrypted key, or ``None``."""
        return self.provider_keys.provider_key(workspace, provider)

    def delete_provider_key(self, workspace: str, provider: str) -> bool:
        """Remove a key; whether there was one."""
        return self.provider_keys.delete_provider_key(workspace, provider)

    def provider_key_ciphertexts(self) -> list[tuple[str, str, str]]:
        """Every stored key as ``(workspace, provider, ciphertext)``, so a master key can be checked against all."""
        return self.provider_keys.provider_key_ciphertexts()

    def provider_key_names(self, workspace: str) -> list[str]:
        """Providers with a stored key in ``workspace`` (never the keys)."""
        return self.provider_keys.provider_key_names(workspace)

    # -- budgets -------------------------------------------------------------------------------------
    def ledger(self, *, clock: Callable[[], float] = time.time) -> SqlLedger:
        """The budget ledger kept in this database (shared by every process that opens it)."""
        return self.budgets.ledger(clock=clock)

    def put_workspace_budget(self, budget: WorkspaceBudget) -> None:
        """Insert or replace a workspace's standing budget; this month's ledger line takes the new monthly
        cap at once, opened now if it was not (a line keeps the cap it opened with, so a process still
        holding the old budget must not be the one to open it)."""
        self.budgets.put_workspace_budget(budget)
        self.ledger().set_cap(budget.month_line(datetime.now(UTC)), budget.monthly_limit_usd)

    def workspace_budget(self, workspace: str) -> WorkspaceBudget | None:
        """A workspace's standing budget, or ``None`` when it has none."""
        return self.budgets.workspace_budget(workspace)

    # -- workspaces ----------------------------------------------------------------------------------
    def workspace_preferences(self, workspace: str) -> WorkspacePreferences:
        """The workspace's routing preferences; the defaults (``WorkspacePreferences()``) when none are stored."""
        return self.preferences.get(workspace)

    def stored_workspace_preferences(self, workspace: str) -> WorkspacePreferences | None:
        """The workspace's stored preferences, or ``None`` when it has none."""
        return self.preferences.stored(workspace)

    def set_workspace_preferences(
        self, workspace: str, preferences: WorkspacePreferences, *, ladder: Ladder | None = None
    ) -> None:
        """Insert or replace the workspace's preferences, checked against ``ladder`` first when given."""
        if ladder is not None:
            preferences.check(ladder)
        self.preferences.set(workspace, preferences)

    def delete_workspace_preferences(self, workspace: str) -> bool:
        """Forget the workspace's preferences (its budget stays); whether there were any."""
        return self.preferences.delete(workspace)

    def workspaces(self) -> list[str]:
        """Workspaces with stored preferences, a standing budget or created by an administrator, sorted."""
        names = set(self.preferences.names()) | set(self.budgets.workspaces()) | set(self.api_keys.workspace_names())
        return sorted(names)

    # -- trigger history (a TriggerHistory) ----------------------------------------------------------
    def record_trigger_outcome(self, outcome: TriggerOutcome) -> None:
        """Keep one trigger outcome (the task as a hash only)."""
        self.triggers.record_trigger_outcome(outcome)

    def record_trigger_outcome_once(self, outcome: TriggerOutcome) -> bool:
        """Keep ``outcome`` unless this trigger already has one for the same task and workspace; whether it was kept."""
        return self.triggers.record_trigger_outcome_once(outcome)

    def trigger_stats(self, *, workspace: str | None = None) -> dict[str, TriggerStats]:
        """True and false positives and negatives per trigger, counted in the database (``workspace``:
        only its requests')."""
        return self.triggers.trigger_stats(workspace=workspace)

    # -- telemetry and retention ---------------------------------------------------------------------
    def add_event(self, **values: Any) -> None:
        """Append one telemetry event (columns of ``TelemetryEventRow``)."""
        self.telemetry.add_event(**values)

    def events(self) -> list[TelemetryEventRow]:
        """All telemetry events, oldest first."""
        return self.telemetry.events()

    def cleanup(self, retention_days: int, *, dry_run: bool = False) -> CleanupReport:
        """Delete runs (with their rows and budget lines), telemetry and finished budget holds older than
        ``retention_days``. Workspace month lines and holds still holding money are kept."""
        return self.retention.cleanup(retention_days, dry_run=dry_run)
