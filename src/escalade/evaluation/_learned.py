"""Learned policies, fitted on labelled rows they are never scored on.

Training rows come from the dataset's train split, or, for datasets with a single split, from k-fold
cross-fitting: each fold's rows are decided by models fitted on the other folds only.

- :class:`PreRouterPolicy`: from the prompt alone (TF-IDF + logistic regression, the RouteLLM-style
  baseline), predicts whether the cheap and the premium model will be right, and sends the rows with
  the most expected quality gained per extra dollar straight to the premium model.
- :class:`VerifierCascadePolicy`: always asks the cheap model, then predicts from prompt, answer and
  answer checks (format, arithmetic that does not add up, syntax errors) whether that answer is
  right, and escalates the rows with the most expected gain per dollar.
- :class:`ChainCascadePolicy` (datasets with more than two models): a cascade along the models that
  are cost-efficient on the training rows; at each rung a verifier (prompt, answer, answer checks and
  agreement with the answers already paid for) accepts the answer when its predicted correctness
  reaches the threshold.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray
from sklearn.model_selection import KFold

from escalade.exceptions import ConfigError
from escalade.replay import Outcomes, RuntimeView
from escalade.routing.learned import Embedder, GainRouter, Probability, TextEncoder, feature_matrix

__all__ = [
    "ChainCascadePolicy",
    "Fold",
    "PreRouterPolicy",
    "VerifierCascadePolicy",
    "efficient_chain",
    "fold_plan",
    "pay_all",
    "pick_cheap",
]

SHARES = [i / 40 for i in range(41)]


@dataclass(frozen=True)
class Fold:
    """Labelled training rows, and the rows of the evaluated set that models fitted on them decide."""

    train: Outcomes
    rows: NDArray[np.int64]


def fold_plan(evaluated: Outcomes, train: Outcomes | None, *, k: int = 5, seed: int = 0) -> list[Fold]:
    """One fold on a train split; otherwise ``k`` cross-fitting folds over the evaluated rows."""
    everything = np.arange(len(evaluated))
    if train is not None:
        return [Fold(train, everything)]
    splitter = KFold(n_splits=min(k, len(evaluated)), shuffle=True, random_state=seed)
    return [Fold(evaluated.subset(fit), held) for fit, held in splitter.split(everything)]


def pick_cheap(train: Outcomes, *, budget: float = 0.15) -> str:
    """The most accurate model costing at most ``budget`` of the premium model on the training rows."""
    premium_cost = np.nanmean(train.costs[:, train.column(train.premium)])
    candidates = [m for m in train.models[:-1] if np.nanmean(train.costs[:, train.column(m)]) <= budget * premium_cost]
    pool = candidates or [train.models[0]]
    return max(pool, key=lambda m: (np.nanmean(train.scores[:, train.column(m)]), -train.column(m)))


def efficient_chain(train: Outcomes, *, longest: int = 4) -> list[str]:
    """Models on the training rows' cost–accuracy frontier, cheapest first, ending with premium."""
    stats = [
        (float(np.nanmean(train.costs[:, j])), float(np.nanmean(train.scores[:, j])), m)
        for j, m in enumerate(train.models)
    ]
    frontier: list[str] = []
    best = -1.0
    for _, accuracy, model in sorted(stats):
        if accuracy > best and model != train.premium:
            frontier.append(model)
            best = accuracy
    premium_accuracy = np.nanmean(train.scores[:, train.column(train.premium)])
    frontier = [m for m in frontier if np.nanmean(train.scores[:, train.column(m)]) < premium_accuracy] or frontier
    keep = frontier[-(longest - 1) :] if len(frontier) >= longest else frontier
    if len(frontier) >= longest:  # keep the cheapest rung and the strongest ones
        keep = [frontier[0], *frontier[-(longest - 2) :]]
    return [*keep, train.premium]


def _lowest_share(p: NDArray[np.float64], share: float) -> NDArray[np.bool_]:
    """Mask of the ``share`` of rows with the lowest ``p`` (ties broken by row order)."""
    count = round(share * len(p))
    mask = np.zeros(len(p), dtype=bool)
    mask[np.argsort(p, kind="stable")[:count]] = True
    return mask


def pay_all(view: RuntimeView, model: str) -> tuple[list[str | None], NDArray[np.bool_]]:
    """Pay for ``model``'s answer on every row: the texts, and which rows had one."""
    answers: list[str | None] = [None] * len(view)
    answered = np.zeros(len(view), dtype=bool)
    for row in range(len(view)):
        paid = view.pay(row, model)
        answered[row] = paid is not None
        answers[row] = paid.text if paid is not None else None
    return answers, answered


def _pay_first(view: RuntimeView, row: int, models: Sequence[str]) -> str | None:
    for model in models:
        if view.pay(row, model) is not None:
            return model
    return None


@dataclass
class _GainPolicy:
    """Shared machinery of the two-model learned policies.

    Rows are ranked for the premium model by expected quality gained per dollar,
    ``(P(premium right) - P(cheap right)) / extra_cost ** beta``: the greedy answer to "which rows buy
    the most quality for the money". ``extra_cost`` is estimated from the prompt's length, and
    ``beta`` (0, 0.5 or 1) is chosen on out-of-fold predictions over the *training* rows, so a
    dataset whose costs are hard to predict falls back to ranking by gain alone. The threshold is the
    share of rows sent to premium.
    """

    folds: list[Fold]
    cheap: str
    premium: str
    seed: int = 0
    kind: str = "router"
    name: str = ""
    thresholds: Sequence[float] = field(default_factory=lambda: list(SHARES))
    #: Optional sentence embeddings added to the prompt features (the ``embeddings`` extra).
    embedder: Embedder | None = None
    _cache: dict[int, NDArray[np.float64]] = field(default_factory=dict, repr=False)

    #: Whether the weak classifier reads the cheap model's answer (a cascade) or the prompt alone.
    reads_answer = False

    def _priority(self, fold: Fold, prompts: Sequence[str], answers: Sequence[str | None]) -> NDArray[np.float64]:
        """Premium priority of the fold's rows, from a router fitted on its training rows only."""
        try:
            router = GainRouter.fit(
                fold.train,
                cheap=self.cheap,
                premium=self.premium,
                reads_answer=self.reads_answer,
                embedder=self.embedder,
                seed=self.seed,
            )
        except ConfigError:  # no training row has both outcomes: no preference
            return np.zeros(len(prompts))
        return router.priority(prompts, answers if self.reads_answer else None)


@dataclass
class PreRouterPolicy(_GainPolicy):
    """Prompt-only router between ``cheap`` and ``premium`` (TF-IDF + logistic regression)."""

    name: str = "prerouter-tfidf-lr"

    def _predict(self, view: RuntimeView) -> NDArray[np.float64]:
        key = id(view.prompts)
        if key not in self._cache:
            priority = np.zeros(len(view))
            for fold in self.folds:
                prompts = [view.prompts[r] for r in fold.rows]
                priority[fold.rows] = self._priority(fold, prompts, [None] * len(prompts))
            self._cache[key] = priority
        return self._cache[key]

    def decide(self, view: RuntimeView, threshold: float | None) -> list[str | None]:
        strong = _lowest_share(-self._predict(view), 0.5 if threshold is None else threshold)
        order = ([self.premium, self.cheap], [self.cheap, self.premium])
        return [_pay_first(view, row, order[0] if strong[row] else order[1]) for row in range(len(view))]


@dataclass
class VerifierCascadePolicy(_GainPolicy):
    """Cheap answer first; a learned verifier (prompt, answer, answer checks) sends rows on to premium."""

    kind: str = "cascade"
    name: str = "cascade-verifier-tfidf-lr"
    reads_answer = True

    def decide(self, view: RuntimeView, threshold: float | None) -> list[str | None]:
        answers, answered = pay_all(view, self.cheap)
        key = id(view.prompts)
        if key not in self._cache:  # the same paid answers give the same predictions at every threshold
            priority = np.zeros(len(view))
            for fold in self.folds:
                prompts = [view.prompts[r] for r in fold.rows]
                priority[fold.rows] = self._priority(fold, prompts, [answers[r] for r in fold.rows])
            self._cache[key] = priority
        priority = self._cache[key].copy()
        priority[~answered] = np.inf  # no cheap answer: escalate first
        escalate = _lowest_share(-priority, 0.5 if threshold is None else threshold) | ~answered
        finals: list[str | None] = []
        for row in range(len(view)):
            if escalate[row] and view.pay(row, self.premium) is not None:
                finals.append(self.premium)
            else:
                finals.append(self.cheap if answered[row] else None)
        return finals


@dataclass
class ChainCascadePolicy:
    """A cascade along ``chain`` (cheapest first); each rung's verifier accepts at ``threshold``."""

    folds: list[Fold]
    chain: list[str]
    seed: int = 0
    kind: str = "cascade"
    name: str = "cascade-chain-verifier"
    thresholds: Sequence[float] = field(default_factory=lambda: list(SHARES))
    _fitted: dict[tuple[int, str], tuple[TextEncoder, Probability]] = field(default_factory=dict, repr=False)

    def _verifier(self, fold_index: int, model: str, task_kind: str) -> tuple[TextEncoder, Probability]:
        key = (fold_index, model)
        if key not in self._fitted:
            train = self.folds[fold_index].train
            col = train.column(model)
            rows = np.flatnonzero(~np.isnan(train.scores[:, col]))
            earlier = [train.column(m) for m in self.chain[: self.chain.index(model)]]
            prompts = [train.prompts[r] for r in rows]
            texts = [train.responses[r][col] for r in rows]
            history = [[train.responses[r][c] for c in earlier] for r in rows]
            encoder = TextEncoder(prompts, texts)
            x = encoder.training_answered(feature_matrix(texts, prompts, task_kind, history))
            self._fitted[key] = (encoder, Probability.fit(x, train.right(rows, model).astype(np.int64), seed=self.seed))
        return self._fitted[key]

    def decide(self, view: RuntimeView, threshold: float | None) -> list[str | None]:
        tau = 0.5 if threshold is None else threshold
        finals: list[str | None] = [None] * len(view)
        for index, fold in enumerate(self.folds):
            pending = [int(r) for r in fold.rows]
            history: dict[int, list[str | None]] = {row: [] for row in pending}
            for rung, model in enumerate(self.chain):
                paid_rows, texts = [], []
                for row in pending:
                    paid = view.pay(row, model)
                    if paid is not None:
                        paid_rows.append(row)
                        texts.append(paid.text)
                        finals[row] = model
                if rung == len(self.chain) - 1:
                    break
                accepted: set[int] = set()
                if paid_rows:
                    prompts = [view.prompts[r] for r in paid_rows]
                    encoder, verifier = self._verifier(index, model, view.task_kind)
                    before = [history[r] for r in paid_rows]
                    extra = feature_matrix(texts, prompts, view.task_kind, before)
                    x = encoder.answered(encoder.prompts(prompts), texts, extra)
                    accepted = {r for r, p in zip(paid_rows, verifier.predict(x), strict=True) if p >= tau}
                for r, t in zip(paid_rows, texts, strict=True):
                    history[r].append(t)
                pending = [r for r in pending if r not in accepted]
        return finals
