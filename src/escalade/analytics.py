"""Analytics over stored runs: cost, savings, escalation and success rates, per workflow."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from escalade.store.base import RunSummary

__all__ = ["CostAnalytics", "WorkflowStats", "generate_cost_analytics"]


@dataclass(frozen=True, kw_only=True)
class WorkflowStats:
    """Aggregates of one workflow's runs."""

    runs: int
    total_cost: float
    avg_cost: float
    total_savings: float
    avg_savings_percent: float | None
    success_rate: float
    escalation_rate: float


@dataclass(frozen=True, kw_only=True)
class CostAnalytics:
    """Aggregates over all stored runs (items weighted equally for the rates)."""

    total_runs: int
    total_items: int
    total_cost: float
    total_baseline_cost: float
    total_savings: float
    avg_savings_percent: float | None
    escalation_rate: float
    success_rate: float
    workflow_stats: dict[str, WorkflowStats] = field(default_factory=dict)

    def __getitem__(self, key: str) -> Any:
        return getattr(self, key)

    def to_dict(self) -> dict[str, Any]:
        return {
            "total_runs": self.total_runs,
            "total_items": self.total_items,
            "total_cost": self.total_cost,
            "total_baseline_cost": self.total_baseline_cost,
            "total_savings": self.total_savings,
            "avg_savings_percent": self.avg_savings_percent,
            "escalation_rate": self.escalation_rate,
            "success_rate": self.success_rate,
            "workflow_stats": {name: vars(stats) for name, stats in self.workflow_stats.items()},
        }


def _rates(runs: list[RunSummary]) -> tuple[int, float, float]:
    items = sum(r.items_done for r in runs)
    if not items:
        return 0, 0.0, 0.0
    escalated = sum(r.escalation_rate * r.items_done for r in runs)
    accepted = sum(r.success_rate * r.items_done for r in runs)
    return items, escalated / items, accepted / items


def _mean_savings(runs: list[RunSummary]) -> float | None:
    """Mean savings percent over the runs that have a baseline to compare with."""
    known = [r.cost_savings_percent for r in runs if r.cost_savings_percent is not None]
    return sum(known) / len(known) if known else None


def generate_cost_analytics(runs: list[RunSummary]) -> CostAnalytics:
    """Aggregate ``runs`` (e.g. ``store.list_runs()``)."""
    total_items, escalation_rate, success_rate = _rates(runs)
    by_workflow: dict[str, list[RunSummary]] = {}
    for run in runs:
        by_workflow.setdefault(run.workflow, []).append(run)
    stats = {}
    for name, group in sorted(by_workflow.items()):
        _, esc, ok = _rates(group)
        cost = sum(r.total_cost for r in group)
        stats[name] = WorkflowStats(
            runs=len(group),
            total_cost=cost,
            avg_cost=cost / len(group),
            total_savings=sum(r.cost_savings for r in group),
            avg_savings_percent=_mean_savings(group),
            success_rate=ok,
            escalation_rate=esc,
        )
    total_cost = sum(r.total_cost for r in runs)
    baseline = sum(r.premium_baseline_cost for r in runs)
    return CostAnalytics(
        total_runs=len(runs),
        total_items=total_items,
        total_cost=total_cost,
        total_baseline_cost=baseline,
        total_savings=baseline - total_cost,
        avg_savings_percent=_mean_savings(runs),
        escalation_rate=escalation_rate,
        success_rate=success_rate,
        workflow_stats=stats,
    )
