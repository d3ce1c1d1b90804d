"""Analytics over stored runs: cost, savings, escalation and success rates, per kind of run and per workflow.

Runs are of three kinds, never added together:

- ``routing``: the ladder on real work (live calls, replays with a run-time scorer, workflows of your
  own). The headline totals are these runs alone.
- ``test-generation``: ``escalade testgen`` runs, whose items are functions to test, not tasks.
- ``offline``: runs scored by an offline scorer (the oracle reads recorded grades): a ceiling that no
  real policy reaches, so their "savings" are never mixed with real ones.

Savings count answered items only (see :class:`~escalade.store._base.RunSummary`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from escalade.cascade import TESTGEN_WORKFLOW, savings_percent
from escalade.replay import OFFLINE_WORKFLOW
from escalade.store import RunSummary

__all__ = ["KINDS", "CostAnalytics", "RunGroupStats", "WorkflowStats", "generate_cost_analytics", "run_kind"]

#: Kinds of run, the headline one first.
KINDS = ("routing", "test-generation", "offline")


def run_kind(run: RunSummary) -> str:
    """``offline`` (an offline scorer read grades), ``test-generation``, or ``routing`` (everything else)."""
    if run.workflow == OFFLINE_WORKFLOW or run.metrics.get("offline_scorer") is True:
        return "offline"
    if run.workflow == TESTGEN_WORKFLOW:
        return "test-generation"
    return "routing"


@dataclass(frozen=True, kw_only=True)
class RunGroupStats:
    """Aggregates over a group of runs (items weighted equally for the rates; savings over answered items)."""

    runs: int
    #: Items the runs worked, and those that ended with an answer.
    items_worked: int
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

    def __getitem__(self, key: str) -> Any:
        """A figure by name, as seed 000 reads per-workflow stats (``stats['avg_cost']`` is ``stats.avg_cost``)."""
        return self.to_dict()[key]


@dataclass(frozen=True, kw_only=True)
class WorkflowStats(RunGroupStats):
    """Aggregates of one workflow's runs (of one kind), with their mean cost per run."""

    kind: str

    @property
    def avg_cost(self) -> float:
        return self.total_cost / self.runs if self.runs else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "avg_cost": self.avg_cost}


@dataclass(frozen=True, kw_only=True)
class CostAnalytics:
    """The headline totals (the routing runs), each kind of run apart, and each workflow.

    The ``total_*`` figures and the rates are those of ``groups[includes]``.
    """

    #: The kind of run the ``total_*`` figures and rates cover.
    includes: str
    #: Every kind that has runs (the headline kind always), by :data:`KINDS`.
    groups: dict[str, RunGroupStats] = field(default_factory=dict)
    workflow_stats: dict[str, WorkflowStats] = field(default_factory=dict)

    @property
    def headline(self) -> RunGroupStats:
        """The group the totals cover."""
        return self.groups[self.includes]

    @property
    def total_runs(self) -> int:
        return self.headline.runs

    @property
    def total_items_worked(self) -> int:
        return self.headline.items_worked

    @property
    def total_items_answered(self) -> int:
        return self.headline.items_answered

    @property
    def total_cost(self) -> float:
        return self.headline.total_cost

    @property
    def total_answered_cost(self) -> float:
        return self.headline.answered_cost

    @property
    def total_baseline_cost(self) -> float:
        return self.headline.baseline_cost

    @property
    def total_savings(self) -> float:
        return self.headline.total_savings

    @property
    def savings_percent(self) -> float | None:
        return self.headline.savings_percent

    @property
    def avg_savings_percent(self) -> float | None:
        return self.headline.avg_savings_percent

    @property
    def escalation_rate(self) -> float:
        return self.headline.escalation_rate

    @property
    def success_rate(self) -> float:
        return self.headline.success_rate

    def __getitem__(self, key: str) -> Any:
        return getattr(self, key)

    def to_dict(self) -> dict[str, Any]:
        return {
            "includes": self.includes,
            **{name: getattr(self, name) for name in _TOTALS},
            "groups": {kind: stats.to_dict() for kind, stats in self.groups.items()},
            "workflow_stats": {name: stats.to_dict() for name, stats in self.workflow_stats.items()},
        }


#: The headline figures :meth:`CostAnalytics.to_dict` reports beside the groups.
_TOTALS = (
    "total_runs", "total_items_worked", "total_items_answered", "total_cost", "total_answered_cost",
    "total_baseline_cost", "total_savings", "savings_percent", "avg_savings_percent", "escalation_rate",
    "success_rate",
)  # fmt: skip


def _figures(runs: Sequence[RunSummary]) -> dict[str, Any]:
    """The fields of :class:`RunGroupStats` over ``runs``."""
    items = sum(r.items_worked for r in runs)
    baseline = sum(r.premium_baseline_cost for r in runs)
    answered_cost = sum(r.answered_cost for r in runs)
    known = [r.cost_savings_percent for r in runs if r.cost_savings_percent is not None]
    return {
        "runs": len(runs),
        "items_worked": items,
        "items_answered": sum(r.items_answered for r in runs),
        "total_cost": sum(r.total_cost for r in runs),
        "answered_cost": answered_cost,
        "baseline_cost": baseline,
        "total_savings": baseline - answered_cost,
        "savings_percent": savings_percent(answered_cost, baseline),
        "avg_savings_percent": sum(known) / len(known) if known else None,
        "escalation_rate": sum(r.escalation_rate * r.items_worked for r in runs) / items if items else 0.0,
        "success_rate": sum(r.success_rate * r.items_worked for r in runs) / items if items else 0.0,
    }


def generate_cost_analytics(runs: list[RunSummary] | None = None) -> CostAnalytics:
    """Aggregate ``runs`` (e.g. ``store.list_runs()``): routing runs in the totals, the other kinds apart.

    Without ``runs`` (seed 000's call), every run in the default store: ``SqlStore().list_runs()``,
    the store ``escalade analytics`` reads without ``--db``. A workflow whose runs are of more than
    one kind (a library replay with and without an offline scorer) gets one row per kind, named
    ``workflow (kind)``.
    """
    if runs is None:
        from escalade.store import SqlStore  # noqa: PLC0415  (SQLAlchemy, only to read the default store)

        with SqlStore() as store:
            runs = store.list_runs()
    by_kind: dict[str, list[RunSummary]] = {kind: [] for kind in KINDS}
    by_workflow: dict[tuple[str, str], list[RunSummary]] = {}
    for run in runs:
        by_kind[kind := run_kind(run)].append(run)
        by_workflow.setdefault((run.workflow, kind), []).append(run)
    kinds_of = Counter(workflow for workflow, _ in by_workflow)
    return CostAnalytics(
        includes=KINDS[0],
        groups={kind: RunGroupStats(**_figures(group)) for kind, group in by_kind.items() if group or kind == KINDS[0]},
        workflow_stats={
            workflow if kinds_of[workflow] == 1 else f"{workflow} ({kind})": WorkflowStats(kind=kind, **_figures(group))
            for (workflow, kind), group in sorted(by_workflow.items())
        },
    )
