"""The store interface the CLI and analytics rely on."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from escalade.cascade import run_summary_dict, savings_percent

__all__ = ["CleanupReport", "LoggedItem", "LoggedTier", "RunStore", "RunSummary"]


@dataclass(frozen=True, kw_only=True)
class RunSummary:
    """A stored run, aggregated from its rows (works for unfinished runs too)."""

    run_id: str
    workflow: str
    status: str
    started_at: datetime
    finished_at: datetime | None
    items_total: int
    #: Items the run got to (the denominator of the rates).
    items_worked: int
    #: Items that ended with an answer (the items savings are counted over).
    items_answered: int
    #: Everything spent, unfinished and unanswered items included.
    total_cost: float
    #: Spent on the answered items (what the baseline is compared with).
    answered_cost: float
    #: Premium-only cost of the answered items.
    premium_baseline_cost: float
    escalation_rate: float
    success_rate: float
    tiers: dict[str, dict[str, Any]]
    metrics: dict[str, Any]
    warnings: list[str]
    notes: list[str]
    config: dict[str, Any]
    #: Failed attempts by cause, most frequent first.
    error_counts: dict[str, int] = field(default_factory=dict)

    @property
    def cost_savings(self) -> float:
        """Savings on answered items (an unanswered or unfinished item is no saving)."""
        return self.premium_baseline_cost - self.answered_cost

    @property
    def cost_savings_percent(self) -> float | None:
        return savings_percent(self.answered_cost, self.premium_baseline_cost)

    def to_dict(self) -> dict[str, Any]:
        return run_summary_dict(
            self,
            items_total=self.items_total,
            tiers=self.tiers,
            config=self.config,
        )


@dataclass(frozen=True, kw_only=True)
class CleanupReport:
    """What a retention cleanup removed (or would remove, on a dry run)."""

    cutoff: datetime
    dry_run: bool
    runs: int
    attempts: int
    telemetry_events: int
    run_ids: list[str]
    #: Finished budget holds (settled, released, reclaimed) past the retention period.
    budget_holds: int = 0


@dataclass(frozen=True)
class LoggedTier:
    """What one tier did for a logged item."""

    #: Whether any attempt on the tier met its bar.
    passed: bool
    cost_usd: float
    #: The tier's last answer.
    answer: str | None


@dataclass(frozen=True)
class LoggedItem:
    """A finished item of a stored run, with its prompt and each tier's outcome."""

    run_id: str
    item_id: str
    prompt: str
    #: The run's ladder, cheapest first.
    tier_names: tuple[str, ...]
    tiers: dict[str, LoggedTier]


class RunStore(Protocol):
    """Where runs are kept and read back (implementations also act as a ``RunListener``)."""

    def list_runs(self, *, limit: int | None = None) -> list[RunSummary]: ...
    def get_run(self, run_id: str) -> RunSummary: ...
    def mark_interrupted(self, run_id: str) -> None: ...
    def cleanup(self, retention_days: int, *, dry_run: bool = False) -> CleanupReport: ...
