"""``ProgressiveWorkflow``: the base to build a workflow of your own on the ladder.

A workflow says three things, and the cascade does the rest (only failed items climb, budgets,
retries, the store):

- :meth:`~ProgressiveWorkflow._execute_tier_impl`: how a tier works one item. By default the
  tier's team answers it (one agent, planner + executor, or architect + executor + reviewer);
  every call goes through ``context.call``, so the budget guards it.
- :meth:`~ProgressiveWorkflow._analyze_quality`: the quality signals of an answer, as a
  :class:`~escalade.quality._analysis.FailureAnalysis`. It may be ``async`` (to run something).
- :meth:`~ProgressiveWorkflow._should_escalate_custom` (optional): a further reason to climb; it
  can only add reasons, the tier's CQS threshold always applies.

>>> from escalade import FailureAnalysis, Ladder, ScriptedProvider, Tier, WorkItem
>>> class LengthCheck(ProgressiveWorkflow):
...     workflow_name = "length-check"
...
...     def _analyze_quality(self, context):
...         long_enough = len(context.completion.text or "") >= 10
...         return FailureAnalysis(test_pass_rate=float(long_enough), weights={"test_pass_rate": 1.0})
...
...     def _should_escalate_custom(self, context):
...         return context.analysis.test_pass_rate < 1.0, "answer too short"
>>> ladder = Ladder([Tier(name="cheap", rank=0, models=("s",), threshold=50),
...                  Tier(name="premium", rank=1, models=("l",), threshold=50)])
>>> provider = ScriptedProvider({"s": ["short"], "l": ["a long enough answer"]}, cost_per_call=0.001)
>>> result = LengthCheck(EscalationConfig(tiers=ladder), provider).execute([WorkItem(id="q", prompt="?")])
>>> result.items[0].final_tier, result.tier_results[0].escalation_reason
('premium', 'low CQS (0.0 < 50); answer too short')
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from typing import Any, ClassVar

from escalade.budget import ApprovalCallback, BudgetLedger, WorkspaceBudget
from escalade.cascade._calls import CallObserver
from escalade.cascade._events import RunListener
from escalade.cascade._executor import ModelOrder, ProgressiveExecutor
from escalade.cascade._items import WorkItem
from escalade.cascade._results import ProgressiveWorkflowResult
from escalade.cascade._teams import TeamContext, TeamOutcome, default_team
from escalade.exceptions import ConfigError
from escalade.ladder import EscalationConfig, Tier
from escalade.providers import CostEstimator, Provider
from escalade.quality import PredicateContext, ScoreResult, ScoringContext

__all__ = ["TESTGEN_WORKFLOW", "ProgressiveWorkflow"]

#: The workflow ``escalade testgen`` runs are stored under (:class:`~escalade.testgen.ProgressiveTestGenWorkflow`).
TESTGEN_WORKFLOW = "test-gen"


class _TierWork:
    """The team strategy the cascade calls: the workflow's own tier implementation."""

    def __init__(self, workflow: ProgressiveWorkflow, tier: Tier) -> None:
        self._workflow, self._tier = workflow, tier
        self.size = tier.team_size

    async def run(self, context: TeamContext) -> TeamOutcome:
        return await self._workflow._execute_tier_impl(self._tier, context)


class ProgressiveWorkflow:
    """Items climb the ladder; subclasses say how a tier works an item and how good its answer is."""

    #: Stored with every run (``escalade list`` shows it).
    workflow_name: ClassVar[str] = "progressive"

    def __init__(
        self,
        config: EscalationConfig | None = None,
        provider: Provider | None = None,
        *,
        estimator: CostEstimator | None = None,
        approval: ApprovalCallback | None = None,
        listeners: Iterable[RunListener] = (),
        ledger: BudgetLedger | None = None,
        workspace_budget: WorkspaceBudget | None = None,
        model_order: ModelOrder | None = None,
        call_observer: CallObserver | None = None,
    ) -> None:
        self.config = config or EscalationConfig()
        self.provider = provider
        self.estimator = estimator
        self.approval = approval
        self.listeners: Sequence[RunListener] = tuple(listeners)
        self.ledger = ledger
        self.workspace_budget = workspace_budget
        self.model_order = model_order
        self.call_observer = call_observer

    # -- what a subclass implements -----------------------------------------------------------------
    async def _execute_tier_impl(self, tier: Tier, context: TeamContext) -> TeamOutcome:
        """How ``tier`` works one item (default: the tier's team answers it)."""
        return await default_team(tier.team_size).run(context)

    def _analyze_quality(self, context: ScoringContext) -> ScoreResult:
        """The quality signals of one attempt's answer (may return an awaitable)."""
        raise NotImplementedError(f"{type(self).__name__} must implement _analyze_quality")

    def _should_escalate_custom(self, context: PredicateContext) -> tuple[bool, str | None]:
        """A further reason to climb, besides the tier's threshold (default: none)."""
        return False, None

    # -- running --------------------------------------------------------------------------------------
    def executor(self) -> ProgressiveExecutor:
        """The cascade that runs this workflow's items."""
        if self.provider is None:
            raise ConfigError(f"{type(self).__name__} needs a provider to answer its items", field="provider")
        return ProgressiveExecutor(
            self.config,
            self.provider,
            scorer=self._analyze_quality,
            predicates=[self._should_escalate_custom],
            estimator=self.estimator,
            approval=self.approval,
            listeners=self.listeners,
            teams=lambda tier: _TierWork(self, tier),
            workflow=self.workflow_name,
            ledger=self.ledger,
            workspace_budget=self.workspace_budget,
            model_order=self.model_order,
            call_observer=self.call_observer,
        )

    def execute(self, items: Iterable[WorkItem] | None = None, **inputs: Any) -> ProgressiveWorkflowResult:
        """Run ``items`` (or the items the workflow builds from ``inputs``) up the ladder."""
        return asyncio.run(self.execute_async(items, **inputs))

    async def execute_async(
        self, items: Iterable[WorkItem] | None = None, *, run_id: str | None = None, **inputs: Any
    ) -> ProgressiveWorkflowResult:
        """:meth:`execute` in a running event loop (``run_id``: the id to store the run under)."""
        if items is None or inputs:
            raise ConfigError(f"{type(self).__name__}.execute takes items=[WorkItem(...), ...]", field="items")
        return await self.executor().run(items, run_id=run_id)
