"""Each workspace's spend this month, read from the ledger (what ``/metrics`` reports at each scrape)."""

from __future__ import annotations

from datetime import UTC, datetime

from escalade.budget import WorkspaceBudget
from escalade.store import SqlStore

__all__ = ["month_spend"]


def month_spend(store: SqlStore) -> list[tuple[str, float, float | None]]:
    """``(workspace, spent_usd, monthly cap or None)`` for every workspace the store knows, this month.

    A workspace that has spent nothing this month has no month line yet: it reports 0.
    """
    ledger = store.ledger()
    now = datetime.now(UTC)
    found = []
    for workspace in store.workspaces():
        budget = store.workspace_budget(workspace) or WorkspaceBudget(workspace=workspace)
        key = budget.month_line(now)
        line = next((line for line in ledger.lines(key) if line.key == key), None)  # none yet: nothing spent
        found.append((workspace, line.spent_usd if line else 0.0, budget.monthly_limit_usd))
    return found
