"""Budgets in the store's database: each workspace's standing budget, and the shared budget ledger."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import select

from escalade.budget import WorkspaceBudget
from escalade.store._engine import Database
from escalade.store._ledger import SqlLedger
from escalade.store._models import WorkspaceBudgetRow

__all__ = ["BudgetRepository"]


class BudgetRepository:
    """Workspace budgets, and the :class:`~escalade.store.SqlLedger` their spending is counted in."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def ledger(self, *, clock: Callable[[], float] = time.time) -> SqlLedger:
        """The budget ledger kept in this database (shared by every process that opens it)."""
        return SqlLedger(self.db, clock=clock)

    def put_workspace_budget(self, budget: WorkspaceBudget) -> None:
        """Insert or replace a workspace's standing budget."""
        with self.db.session() as s:
            row = s.get(WorkspaceBudgetRow, budget.workspace)
            if row is None:
                row = WorkspaceBudgetRow(workspace=budget.workspace)
                s.add(row)
            row.monthly_limit_usd = budget.monthly_limit_usd
            row.per_request_limit_usd = budget.per_request_limit_usd
            row.timezone = budget.timezone
            row.updated_at = datetime.now(UTC)

    def workspace_budget(self, workspace: str) -> WorkspaceBudget | None:
        """A workspace's standing budget, or ``None`` when it has none."""
        with self.db.session() as s:
            row = s.get(WorkspaceBudgetRow, workspace)
            if row is None:
                return None
            return WorkspaceBudget(
                workspace=row.workspace,
                monthly_limit_usd=row.monthly_limit_usd,
                per_request_limit_usd=row.per_request_limit_usd,
                timezone=row.timezone,
            )

    def workspaces(self) -> list[str]:
        """Workspaces with a standing budget, sorted."""
        with self.db.session() as s:
            return sorted(s.scalars(select(WorkspaceBudgetRow.workspace)))
