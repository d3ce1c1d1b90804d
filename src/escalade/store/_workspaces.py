"""Workspace preferences in the store's database: one row per workspace, the defaults when there is none.

A workspace's budgets are not kept here: its monthly and per-request caps stay on
``workspace_budgets`` and the budget ledger (:class:`~escalade.store.BudgetRepository`), their one home.

>>> from escalade.store import Database
>>> from escalade.routing import WorkspacePreferences
>>> repo = WorkspaceRepository(Database("sqlite://"))
>>> repo.get("acme") == WorkspacePreferences()
True
>>> repo.set("acme", WorkspacePreferences(default_tier="capable"))
>>> repo.get("acme").default_tier, repo.names()
('capable', ['acme'])
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from sqlalchemy import delete, select

from escalade.exceptions import ConfigError
from escalade.routing import QualityPolicy, WorkspacePreferences
from escalade.store._engine import Database
from escalade.store._models import WorkspacePreferencesRow
from escalade.untrusted import unstorable

__all__ = ["MAX_WORKSPACE_CHARS", "WorkspaceRepository", "check_workspace_name"]

logger = logging.getLogger(__name__)

#: Longest workspace name (``workspace`` columns are VARCHAR(100)).
MAX_WORKSPACE_CHARS = 100


def check_workspace_name(name: str) -> str:
    """``name`` if the store can keep it as a workspace name, else a :class:`ConfigError` on field ``workspace``.

    A name is 1 to 100 characters of valid Unicode with no control character (NUL included) and
    no leading or trailing whitespace.

    >>> check_workspace_name("team-a")
    'team-a'
    """
    if not isinstance(name, str) or not name:
        raise ConfigError(f"a workspace needs a non-empty name, got {name!r}", field="workspace")
    problem = unstorable(name, max_chars=MAX_WORKSPACE_CHARS)
    if problem is None and any(ord(c) < 32 or ord(c) == 127 for c in name):
        problem = "contains a control character"
    if problem is None and name != name.strip():
        problem = "has leading or trailing whitespace"
    if problem is not None:
        raise ConfigError(f"workspace name {name[:60]!r} {problem}", field="workspace")
    return name


class WorkspaceRepository:
    """Each workspace's :class:`~escalade.routing.WorkspacePreferences`, validated on the way in and out."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def get(self, workspace: str) -> WorkspacePreferences:
        """The workspace's stored preferences, or the defaults (``WorkspacePreferences()``) when none are stored."""
        stored = self.stored(workspace)
        return WorkspacePreferences() if stored is None else stored

    def stored(self, workspace: str) -> WorkspacePreferences | None:
        """The workspace's stored preferences, or ``None``."""
        check_workspace_name(workspace)
        with self.db.session() as s:
            row = s.get(WorkspacePreferencesRow, workspace)
            return None if row is None else _from_row(row)

    def set(self, workspace: str, preferences: WorkspacePreferences) -> None:
        """Insert or replace the workspace's preferences (all fields: build partial updates with ``replace``)."""
        check_workspace_name(workspace)
        if not isinstance(preferences, WorkspacePreferences):
            raise ConfigError("must be a WorkspacePreferences", field="preferences")
        with self.db.session() as s:
            row = s.get(WorkspacePreferencesRow, workspace)
            if row is None:
                row = WorkspacePreferencesRow(workspace=workspace)
                s.add(row)
            row.min_tier, row.max_tier = preferences.min_tier, preferences.max_tier
            row.default_tier = preferences.default_tier
            row.preferred_providers = list(preferences.preferred_providers)
            row.preferred_models = {tier: list(models) for tier, models in preferences.preferred_models.items()}
            row.auto_escalation = preferences.auto_escalation
            policy = preferences.quality_policy
            row.quality_scorer = None if policy is None else policy.scorer
            row.quality_threshold = None if policy is None else policy.threshold
            row.updated_at = datetime.now(UTC)
        logger.debug("workspace preferences stored for %r", workspace)

    def names(self) -> list[str]:
        """Workspaces with stored preferences, sorted."""
        with self.db.session() as s:
            return sorted(s.scalars(select(WorkspacePreferencesRow.workspace)))

    def delete(self, workspace: str) -> bool:
        """Forget the workspace's preferences (it routes with the defaults again); whether there were any."""
        check_workspace_name(workspace)
        with self.db.session() as s:
            deleted = s.execute(delete(WorkspacePreferencesRow).where(WorkspacePreferencesRow.workspace == workspace))
            return bool(deleted.rowcount)  # type: ignore[attr-defined]


def _from_row(row: WorkspacePreferencesRow) -> WorkspacePreferences:
    """The row as preferences; a row edited into something invalid is a ConfigError naming the workspace."""
    try:
        policy = (
            None
            if row.quality_scorer is None
            else QualityPolicy(scorer=row.quality_scorer, threshold=row.quality_threshold)
        )
        return WorkspacePreferences(
            min_tier=row.min_tier,
            max_tier=row.max_tier,
            default_tier=row.default_tier,
            preferred_providers=row.preferred_providers,  # type: ignore[arg-type]  # validated and frozen on construction
            preferred_models=row.preferred_models,  # type: ignore[arg-type]  # the same
            auto_escalation=bool(row.auto_escalation),
            quality_policy=policy,
        )
    except (ConfigError, TypeError) as exc:
        message = exc.message if isinstance(exc, ConfigError) else str(exc)
        field = exc.field if isinstance(exc, ConfigError) else None
        raise ConfigError(
            f"stored preferences of workspace {row.workspace!r} are invalid: {message}", field=field
        ) from None
