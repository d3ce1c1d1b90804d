"""Analytics over stored runs: cost, savings, escalation and success rates, per kind of run and per workflow.

Runs are of three kinds, never added together:

- ``routing``: the ladder on real work (live calls, replays with a run-time scorer, workflows of your
  own). The headline totals are these runs alone.
- ``test-generation``: ``escalade testgen`` runs, whose items are functions to test, not tasks.
- ``offline``: runs scored by an offline scorer (the oracle reads recorded grades): a ceiling that no
  real policy reaches, so their "savings" are never mixed with real ones.

Savings count answered items only (see :class:`~escalade.store.base.RunSummary`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from escalade.replay import OFFLINE_WORKFLOW
from escalade.results import savings_percent
from escalade.store.base import RunSummary
from escalade.testgen.workflow import ProgressiveTestGenWorkflow

__all__ = ["KINDS", "CostAnalytics", "RunGroupStats", "WorkflowStats", "generate_cost_analytics", "run_kind"]

#: Kinds of run, the headline one first.
KINDS = ("routing", "test-generation", "offline")


def run_kind(run: RunSummary) -> str:
    """``offline`` (an offline scorer read grades), ``test-generation``, or ``routing`` (everything else)."""
    if run.workflow == OFFLINE_WORKFLOW or run.metrics.get("offline_scorer") is True:
        return "offline"
    if run.workflow == ProgressiveTestGenWorkflow.workflow_name:
        return "test-generation"
    return "routing"


@dataclass(frozen=True, kw_only=True)
class RunGroupStats:
    """Aggregates over a group of runs (items weighted equally for the rates; savings over answered items)."""

    runs: int
    #: Items the runs worked, and those that ended with an answer.
    items: int
    items_answered: int
    #: Everything spent, and what the answered items cost.
    total_cost: float
    answered_cost: float
    #: Premium-only cost of the answered items, and what the ladder saved against it.
    baseline_cost: float
    total_savings: float
    #: Savings over the pooled baseline, and the mean of the runs' own savings percentages.
    savings_percent: float | None
    avg_savings_percent: float | None
    escalation_rate: float
    success_rate: float

    def to_dict(self) -> dict[str, Any]:
        return dict(vars(self))


@dataclass(frozen=True, kw_only=True)
class WorkflowStats:
    """Aggregates of one workflow's runs."""

    kind: str
    runs: int
    total_cost: float
    avg_cost: float
    total_savings: float
    avg_savings_percent: float | None
    success_rate: float
    escalation_rate: float


@dataclass(frozen=True, kw_only=True)
class CostAnalytics:
    """The headline totals over the routing runs, each kind of run apart, and each workflow."""

    #: The kind of run the ``total_*`` figures and rates cover.
    includes: str
    total_runs: int
    total_items: int
    total_answered: int
    total_cost: float
    total_answered_cost: float
    total_baseline_cost: float
    total_savings: float
    savings_percent: float | None
    avg_savings_percent: float | None
    escalation_rate: float
    success_rate: float
    #: Every kind that has runs (the headline kind always), by :data:`KINDS`.
    groups: dict[str, RunGroupStats] = field(default_factory=dict)
    workflow_stats: dict[str, WorkflowStats] = field(default_factory=dict)

    def __getitem__(self, key: str) -> Any:
        return getattr(self, key)

    def to_dict(self) -> dict[str, Any]:
        return {
            **{name: value for name, value in vars(self).items() if name not in ("groups", "workflow_stats")},
            "groups": {kind: stats.to_dict() for kind, stats in self.groups.items()},
            "workflow_stats": {name: vars(stats) for name, stats in self.workflow_stats.items()},
        }


def _group(runs: Sequence[RunSummary]) -> RunGroupStats:
    items = sum(r.items_done for r in runs)
    baseline = sum(r.premium_baseline_cost for r in runs)
    answered_cost = sum(r.answered_cost for r in runs)
    known = [r.cost_savings_percent for r in runs if r.cost_savings_percent is not None]
    return RunGroupStats(
        runs=len(runs),
        items=items,
        items_answered=sum(r.items_answered for r in runs),
        total_cost=sum(r.total_cost for r in runs),
        answered_cost=answered_cost,
        baseline_cost=baseline,
        total_savings=baseline - answered_cost,
        savings_percent=savings_percent(answered_cost, baseline),
        avg_savings_percent=sum(known) / len(known) if known else None,
        escalation_rate=sum(r.escalation_rate * r.items_done for r in runs) / items if items else 0.0,
        success_rate=sum(r.success_rate * r.items_done for r in runs) / items if items else 0.0,
    )


def _workflow(kind: str, runs: Sequence[RunSummary]) -> WorkflowStats:
    group = _group(runs)
    return WorkflowStats(
        kind=kind,
        runs=group.runs,
        total_cost=group.total_cost,
        avg_cost=group.total_cost / group.runs,
        total_savings=group.total_savings,
        avg_savings_percent=group.avg_savings_percent,
        success_rate=group.success_rate,
        escalation_rate=group.escalation_rate,
    )


def generate_cost_analytics(runs: list[RunSummary]) -> CostAnalytics:
    """Aggregate ``runs`` (e.g. ``store.list_runs()``): routing runs in the totals, the other kinds apart."""
    by_kind: dict[str, list[RunSummary]] = {kind: [] for kind in KINDS}
    by_workflow: dict[tuple[str, str], list[RunSummary]] = {}
    for run in runs:
        by_kind[kind := run_kind(run)].append(run)
        by_workflow.setdefault((run.workflow, kind), []).append(run)
    kinds_of: dict[str, int] = {}
    for workflow, _ in by_workflow:
        kinds_of[workflow] = kinds_of.get(workflow, 0) + 1
    groups = {kind: _group(group) for kind, group in by_kind.items() if group or kind == KINDS[0]}
    head = groups[KINDS[0]]
    return CostAnalytics(
        includes=KINDS[0],
        total_runs=head.runs,
        total_items=head.items,
        total_answered=head.items_answered,
        total_cost=head.total_cost,
        total_answered_cost=head.answered_cost,
        total_baseline_cost=head.baseline_cost,
        total_savings=head.total_savings,
        savings_percent=head.savings_percent,
        avg_savings_percent=head.avg_savings_percent,
        escalation_rate=head.escalation_rate,
        success_rate=head.success_rate,
        groups=groups,
        workflow_stats={
            workflow if kinds_of[workflow] == 1 else f"{workflow} ({kind})": _workflow(kind, group)
            for (workflow, kind), group in sorted(by_workflow.items())
        },
    )
