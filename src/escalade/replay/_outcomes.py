"""Recorded outcomes as matrices, and the run-time view a policy is allowed to see.

:class:`Outcomes` holds everything offline: grades and costs of every model on every row. Only the
evaluator (and policies fitted on a *training* split) touch it. A policy being scored receives a
:class:`RuntimeView`, which has no grades at all: it shows the prompts and model prices, and hands
out a model's answer only through :meth:`RuntimeView.pay`, which records the bill. The evaluator
charges a policy from that ledger, so reading an answer without paying for it is impossible.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from escalade.providers.pricing import ModelPrice
from escalade.replay._datasets import BenchmarkDataset, BenchmarkRow

__all__ = ["Outcomes", "Paid", "RuntimeView"]


@dataclass(frozen=True)
class Outcomes:
    """Grades and costs of ``models`` (cheapest first) on ``keys``; NaN where a model has no outcome."""

    keys: tuple[str, ...]
    prompts: tuple[str, ...]
    task_kind: str
    models: tuple[str, ...]
    prices: Mapping[str, ModelPrice]
    scores: NDArray[np.float64]
    costs: NDArray[np.float64]
    responses: tuple[tuple[str | None, ...], ...]

    @classmethod
    def from_rows(cls, dataset: BenchmarkDataset, rows: Sequence[BenchmarkRow]) -> Outcomes:
        """Matrices of ``rows`` with the dataset's models ordered by list price."""
        models = tuple(dataset.models_by_price())
        scores = np.full((len(rows), len(models)), np.nan)
        costs = np.full((len(rows), len(models)), np.nan)
        responses: list[tuple[str | None, ...]] = []
        for i, row in enumerate(rows):
            texts: list[str | None] = []
            for j, model in enumerate(models):
                outcome = row.outputs.get(model)
                if outcome is not None:
                    scores[i, j] = outcome.score
                    costs[i, j] = outcome.cost_usd
                texts.append(outcome.response if outcome is not None else None)
            responses.append(tuple(texts))
        return cls(
            keys=tuple(r.key for r in rows),
            prompts=tuple(r.prompt for r in rows),
            task_kind=dataset.task_kind,
            models=models,
            prices=dict(dataset.models),
            scores=scores,
            costs=costs,
            responses=tuple(responses),
        )

    def __len__(self) -> int:
        return len(self.keys)

    def subset(self, index: Sequence[int] | NDArray[np.int64]) -> Outcomes:
        """The rows at ``index`` (for splits and cross-fitting folds)."""
        idx = np.asarray(index, dtype=int)
        return Outcomes(
            keys=tuple(self.keys[i] for i in idx),
            prompts=tuple(self.prompts[i] for i in idx),
            task_kind=self.task_kind,
            models=self.models,
            prices=self.prices,
            scores=self.scores[idx],
            costs=self.costs[idx],
            responses=tuple(self.responses[i] for i in idx),
        )

    def column(self, model: str) -> int:
        """Column of ``model``."""
        return self.models.index(model)

    def right(self, rows: NDArray[np.int64], model: str) -> NDArray[np.bool_]:
        """Whether ``model``'s recorded answer on each of ``rows`` counts as right (score ≥ 0.5)."""
        right: NDArray[np.bool_] = self.scores[rows, self.column(model)] >= 0.5
        return right

    @property
    def premium(self) -> str:
        """The most expensive model: the premium-only baseline."""
        return self.models[-1]

    def view(self) -> RuntimeView:
        """A fresh run-time view with an empty ledger."""
        return RuntimeView(self)


@dataclass(frozen=True, slots=True)
class Paid:
    """An answer a policy paid for."""

    text: str | None
    cost_usd: float


class RuntimeView:
    """What a policy may know at run time: prompts, prices, and the answers it pays for."""

    __slots__ = ("_costs", "_ledger", "_responses", "models", "prices", "prompts", "task_kind")

    def __init__(self, outcomes: Outcomes) -> None:
        #: The tasks, in row order.
        self.prompts = outcomes.prompts
        #: Kind of task.
        self.task_kind = outcomes.task_kind
        #: Models, cheapest list price first.
        self.models = outcomes.models
        #: List prices per model.
        self.prices = outcomes.prices
        self._responses = outcomes.responses
        self._costs = outcomes.costs
        self._ledger: dict[int, dict[int, float]] = {}

    def __len__(self) -> int:
        return len(self.prompts)

    def pay(self, row: int, model: str) -> Paid | None:
        """``model``'s answer to ``row``, charged to the ledger; ``None`` (free) when it has no outcome.

        Paying twice for the same answer charges once: a policy may re-read what it bought.
        """
        col = self.models.index(model)
        cost = float(self._costs[row, col])
        if np.isnan(cost):
            return None
        self._ledger.setdefault(row, {})[col] = cost
        return Paid(self._responses[row][col], cost)

    def spent(self) -> NDArray[np.float64]:
        """Per-row spend so far."""
        per_row = np.zeros(len(self.prompts))
        for row, bills in self._ledger.items():
            per_row[row] = sum(bills.values())
        return per_row

    def paid_models(self, row: int) -> list[str]:
        """Models paid for on ``row``."""
        return [self.models[col] for col in self._ledger.get(row, {})]
