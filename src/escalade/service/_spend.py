"""Each workspace's spend this month, read from the ledger (``/metrics`` at each scrape, the admin's budget)."""

from __future__ import annotations

from datetime import UTC, datetime

from escalade.budget import WorkspaceBudget
from escalade.store import SqlStore

__all__ = ["month_spend", "spent_this_month"]


def spent_this_month(store: SqlStore, budget: WorkspaceBudget, now: datetime | None = None) -> float:
    """USD the workspace spent in the month ``now`` falls in (0 while its month line is not open yet)."""
    key = budget.month_line(now or datetime.now(UTC))
    return sum(line.spent_usd for line in store.ledger().lines(key) if line.key == key)


def month_spend(store: SqlStore) -> list[tuple[str, float, float | None]]:
    """``(workspace, spent_usd, monthly cap or None)`` for every workspace the store knows, this month."""
    now = datetime.now(UTC)
    found = []
    for workspace in store.workspaces():
        budget = store.workspace_budget(workspace) or WorkspaceBudget(workspace=workspace)
        found.append((workspace, spent_this_month(store, budget, now), budget.monthly_limit_usd))
    return found
