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
from scipy.sparse import csr_matrix
from sklearn.model_selection import KFold

from escalade.evaluation.classifiers import Probability, TextEncoder
from escalade.evaluation.features import ANSWER_FEATURES, CostModel, answer_features
from escalade.evaluation.outcomes import Outcomes, RuntimeView

__all__ = [
    "ChainCascadePolicy",
    "Fold",
    "PreRouterPolicy",
    "VerifierCascadePolicy",
    "efficient_chain",
    "fold_plan",
    "pick_cheap",
]

SHARES = [i / 40 for i in range(41)]
_BETAS = (0.0, 0.5, 1.0)
_INNER_FOLDS = 3
_MIN_ROWS_FOR_BETA = 60
_EPSILON = 1e-12


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


def _pay_first(view: RuntimeView, row: int, models: Sequence[str]) -> str | None:
    for model in models:
        if view.pay(row, model) is not None:
            return model
    return None


def _features(
    texts: Sequence[str | None], prompts: Sequence[str], task_kind: str, earlier: Sequence[Sequence[str | None]] | None
) -> NDArray[np.float64]:
    before = earlier if earlier is not None else [()] * len(texts)
    rows = [answer_features(t, task_kind, prompt=p, earlier=e) for t, p, e in zip(texts, prompts, before, strict=True)]
    return np.array(rows, dtype=float).reshape(len(rows), len(ANSWER_FEATURES))


def _both_rows(train: Outcomes, cheap: str, premium: str) -> NDArray[np.int64]:
    known = ~np.isnan(train.scores[:, train.column(cheap)]) & ~np.isnan(train.scores[:, train.column(premium)])
    return np.flatnonzero(known)


def _right(train: Outcomes, rows: NDArray[np.int64], model: str) -> NDArray[np.int64]:
    right: NDArray[np.int64] = (train.scores[rows, train.column(model)] >= 0.5).astype(np.int64)
    return right


def _curve_area(
    priority: NDArray[np.float64],
    y_weak: NDArray[np.int64],
    y_strong: NDArray[np.int64],
    base_cost: float,
    step_cost: NDArray[np.float64],
) -> float:
    """Area under quality-vs-cost when rows go to premium in ``priority`` order, over the cost range."""
    order = np.argsort(-priority, kind="stable")
    quality = (y_weak.sum() + np.concatenate([[0.0], np.cumsum((y_strong - y_weak)[order])])) / len(order)
    cost = base_cost + np.concatenate([[0.0], np.cumsum(step_cost[order])])
    span = cost[-1] - cost[0]
    if span <= 0:
        return float(quality.mean())
    return float(np.sum((quality[1:] + quality[:-1]) / 2 * np.diff(cost)) / span)


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
    _cache: dict[int, NDArray[np.float64]] = field(default_factory=dict, repr=False)

    #: Whether the weak classifier reads the cheap model's answer (a cascade) or the prompt alone.
    reads_answer = False

    def _weak_x(
        self,
        encoder: TextEncoder,
        prompt_x: csr_matrix,
        prompts: Sequence[str],
        answers: Sequence[str | None],
        task_kind: str,
    ) -> csr_matrix:
        if not self.reads_answer:
            return prompt_x
        return encoder.answered(prompt_x, answers, _features(answers, prompts, task_kind, None))

    def _extra_cost(self, train: Outcomes, prompts: Sequence[str]) -> NDArray[np.float64]:
        strong = CostModel.fit(train.prompts, train.costs[:, train.column(self.premium)]).predict(prompts)
        if self.reads_answer:  # a cascade has paid for the cheap answer already
            return np.maximum(strong, _EPSILON)
        weak = CostModel.fit(train.prompts, train.costs[:, train.column(self.cheap)]).predict(prompts)
        return np.maximum(strong - weak, _EPSILON)

    def _priority(
        self, fold: Fold, prompts: Sequence[str], answers: Sequence[str | None], task_kind: str
    ) -> NDArray[np.float64]:
        """Premium priority of the fold's rows, from models fitted on its training rows only."""
        train = fold.train
        both = _both_rows(train, self.cheap, self.premium)
        if len(both) == 0:
            return np.zeros(len(prompts))
        train_prompts = [train.prompts[r] for r in both]
        train_answers = [train.responses[r][train.column(self.cheap)] for r in both]
        encoder = TextEncoder(train_prompts, train_answers if self.reads_answer else None)
        strong_x = encoder.prompts(train_prompts)
        weak_x = self._weak_x(encoder, strong_x, train_prompts, train_answers, task_kind)
        y_weak, y_strong = _right(train, both, self.cheap), _right(train, both, self.premium)
        beta = self._choose_beta(train, both, weak_x, strong_x, train_prompts)
        weak = Probability.fit(weak_x, y_weak, seed=self.seed)
        strong = Probability.fit(strong_x, y_strong, seed=self.seed)
        prompt_x = encoder.prompts(prompts)
        gain = strong.predict(prompt_x) - weak.predict(self._weak_x(encoder, prompt_x, prompts, answers, task_kind))
        return gain / self._extra_cost(train, prompts) ** beta

    def _choose_beta(
        self,
        train: Outcomes,
        both: NDArray[np.int64],
        weak_x: csr_matrix,
        strong_x: csr_matrix,
        prompts: Sequence[str],
    ) -> float:
        """The cost exponent whose ranking gives the largest area under the training rows' curve."""
        if len(both) < _MIN_ROWS_FOR_BETA:
            return 0.0
        y_weak, y_strong = _right(train, both, self.cheap), _right(train, both, self.premium)
        gain = np.zeros(len(both))
        splitter = KFold(n_splits=_INNER_FOLDS, shuffle=True, random_state=self.seed)
        for fit, held in splitter.split(both):
            weak = Probability.fit(weak_x[fit], y_weak[fit], seed=self.seed)
            strong = Probability.fit(strong_x[fit], y_strong[fit], seed=self.seed)
            gain[held] = strong.predict(strong_x[held]) - weak.predict(weak_x[held])
        costs = train.costs[both]
        weak_cost, strong_cost = costs[:, train.column(self.cheap)], costs[:, train.column(self.premium)]
        step_cost = strong_cost - (0.0 if self.reads_answer else weak_cost)
        extra = self._extra_cost(train, prompts)
        areas = {b: _curve_area(gain / extra**b, y_weak, y_strong, float(weak_cost.sum()), step_cost) for b in _BETAS}
        return max(_BETAS, key=lambda b: (areas[b], -b))


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
                priority[fold.rows] = self._priority(fold, prompts, [None] * len(prompts), view.task_kind)
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
        answers: list[str | None] = [None] * len(view)
        answered = np.zeros(len(view), dtype=bool)
        for row in range(len(view)):
            paid = view.pay(row, self.cheap)
            answered[row] = paid is not None
            answers[row] = paid.text if paid is not None else None
        key = id(view.prompts)
        if key not in self._cache:  # the same paid answers give the same predictions at every threshold
            priority = np.zeros(len(view))
            for fold in self.folds:
                prompts = [view.prompts[r] for r in fold.rows]
                priority[fold.rows] = self._priority(fold, prompts, [answers[r] for r in fold.rows], view.task_kind)
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
            x = encoder.answered(encoder.prompts(prompts), texts, _features(texts, prompts, task_kind, history))
            self._fitted[key] = (encoder, Probability.fit(x, _right(train, rows, model), seed=self.seed))
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
                    extra = _features(texts, prompts, view.task_kind, before)
                    x = encoder.answered(encoder.prompts(prompts), texts, extra)
                    accepted = {r for r, p in zip(paid_rows, verifier.predict(x), strict=True) if p >= tau}
                for r, t in zip(paid_rows, texts, strict=True):
                    history[r].append(t)
                pending = [r for r in pending if r not in accepted]
        return finals
