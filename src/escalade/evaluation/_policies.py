"""Policies evaluated side by side: each decides, per row, whose answer is final.

A policy sees only a :class:`~escalade.replay._outcomes.RuntimeView`: prompts, prices, and the
answers it pays for. Policies with a threshold are run once per threshold to draw a cost–quality
curve. The oracle is the one exception: it reads grades by construction, is labelled ``oracle``,
and only marks the ceiling.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol, runtime_checkable

import numpy as np

from escalade.cascade import ProgressiveExecutor, WorkItem
from escalade.exceptions import MissingOutcomeError
from escalade.ladder import EscalationConfig, Ladder
from escalade.providers import Completion, CompletionRequest, CostEstimate, Provider
from escalade.quality import ConsensusScorer
from escalade.replay import Outcomes, RuntimeView, price_ladder

__all__ = ["CascadePolicy", "OraclePolicy", "Policy", "RandomMixPolicy", "SingleModelPolicy", "ViewProvider"]


@runtime_checkable
class Policy(Protocol):
    """Chooses the final model of every row of a view (``None``: could not answer)."""

    #: Display name, unique in a report.
    name: str
    #: ``single``, ``random``, ``oracle``, ``cascade`` or ``router``.
    kind: str
    #: Threshold values to sweep for a curve (empty: one operating point).
    thresholds: Sequence[float]

    def decide(self, view: RuntimeView, threshold: float | None) -> list[str | None]:
        """Final model per row; every answer used must have been paid for through ``view``."""
        ...


@dataclass
class SingleModelPolicy:
    """Every row to one model."""

    model: str
    kind: str = "single"
    thresholds: Sequence[float] = ()
    name: str = ""

    def __post_init__(self) -> None:
        self.name = self.name or self.model

    def decide(self, view: RuntimeView, threshold: float | None) -> list[str | None]:
        return [self.model if view.pay(row, self.model) is not None else None for row in range(len(view))]


@dataclass
class RandomMixPolicy:
    """Each row to the premium model with probability ``threshold`` (the premium share), else the cheapest."""

    cheap: str
    premium: str
    seed: int = 0
    kind: str = "random"
    name: str = "random-mix"
    thresholds: Sequence[float] = field(default_factory=lambda: [i / 10 for i in range(11)])

    def decide(self, view: RuntimeView, threshold: float | None) -> list[str | None]:
        share = 0.5 if threshold is None else threshold
        rng = np.random.default_rng(self.seed)
        picks = rng.random(len(view)) < share
        chosen: list[str | None] = []
        for row, strong in enumerate(picks):
            model = self.premium if strong else self.cheap
            chosen.append(model if view.pay(row, model) is not None else None)
        return chosen


@dataclass
class OraclePolicy:
    """OFFLINE ORACLE: per row, the cheapest model whose recorded answer is right (the ceiling).

    It reads grades by construction; when no model is right it takes the cheapest answering model.
    """

    outcomes: Outcomes
    kind: str = "oracle"
    name: str = "oracle"
    thresholds: Sequence[float] = ()

    def decide(self, view: RuntimeView, threshold: float | None) -> list[str | None]:
        chosen: list[str | None] = []
        for row in range(len(view)):
            scores = self.outcomes.scores[row]
            answering = [j for j in range(len(self.outcomes.models)) if not np.isnan(scores[j])]
            if not answering:
                chosen.append(None)
                continue
            best = max(scores[j] for j in answering)
            model = self.outcomes.models[next(j for j in answering if scores[j] == best)]
            view.pay(row, model)
            chosen.append(model)
        return chosen


class ViewProvider(Provider):
    """A provider answering from a run-time view; ``item_id`` is the row number."""

    def __init__(self, view: RuntimeView) -> None:
        self._view = view
        self._asked: set[tuple[str, str]] = set()

    def estimate(self, request: CompletionRequest) -> CostEstimate:
        """No budget cap applies in evaluation; the bound is never used to stop."""
        return CostEstimate(expected_usd=0.0, max_usd=0.0)

    async def complete(self, request: CompletionRequest) -> Completion:
        key = (request.item_id, request.model)
        paid = None if key in self._asked else self._view.pay(int(request.item_id), request.model)
        self._asked.add(key)
        if paid is None:  # no outcome, or a second sample the recording does not have
            raise MissingOutcomeError(item_id=request.item_id, model=request.model)
        return Completion(text=paid.text, model=request.model, cost_usd=paid.cost_usd)


@dataclass
class CascadePolicy:
    """The core progressive cascade with its run-time scorer, on the price-derived ladder."""

    config: EscalationConfig = field(default_factory=lambda: EscalationConfig(max_cost=None, auto_approve_under=None))
    kind: str = "cascade"
    name: str = "cascade-consensus"
    thresholds: Sequence[float] = ()

    def decide(self, view: RuntimeView, threshold: float | None) -> list[str | None]:
        ladder = self.config.tiers
        if not any(t.models for t in ladder):
            ladder = price_ladder(list(view.models), Ladder.default())
        # recorded outcomes are single answers: teams of one
        config = self.config.replace(tiers=Ladder(replace(t, team_size=1) for t in ladder))
        executor = ProgressiveExecutor(config, ViewProvider(view), scorer=ConsensusScorer(), workflow="eval")
        items = [WorkItem(id=str(row), prompt=view.prompts[row], task_kind=view.task_kind) for row in range(len(view))]
        result = asyncio.run(executor.run(items))
        return [item.final_model for item in result.items]
