"""Learned policies, fitted on labelled rows they are never scored on.

Training rows come from the dataset's train split, or, for datasets with a single split, from k-fold
cross-fitting: each fold's rows are decided by models fitted on the other folds only.

- :class:`PreRouterPolicy`: predicts from the prompt alone whether the cheap model will be right
  (TF-IDF + logistic regression, the RouteLLM-style baseline) and sends the least promising share of
  rows straight to the premium model.
- :class:`VerifierCascadePolicy`: always asks the cheap model, then predicts from prompt and answer
  whether that answer is right, and escalates the least promising share.
- :class:`ChainCascadePolicy` (datasets with more than two models): a cascade along the models that
  are cost-efficient on the training rows; at each rung a verifier (prompt, answer, and agreement
  with the answers already paid for) accepts the answer when its predicted correctness reaches the
  threshold.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray
from scipy.sparse import csr_matrix, hstack
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold

from escalade.evaluation.outcomes import Outcomes, RuntimeView
from escalade.quality.answers import inspect_answer

__all__ = [
    "ChainCascadePolicy",
    "Fold",
    "PreRouterPolicy",
    "VerifierCascadePolicy",
    "efficient_chain",
    "fold_plan",
    "pick_cheap",
]

SHARES = [i / 20 for i in range(21)]


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


def _labels(train: Outcomes, model: str) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Rows where ``model`` has an outcome, and whether it was right there."""
    scores = train.scores[:, train.column(model)]
    rows = np.flatnonzero(~np.isnan(scores))
    return rows, (scores[rows] >= 0.5).astype(int)


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


class _TextClassifier:
    """TF-IDF of prompt (and optionally answer), plus answer features, into a logistic regression.

    A text part with no usable vocabulary (tiny training sets, single-letter answers, no recorded
    text) is left out; with nothing left, the classifier predicts the training rate.
    """

    def __init__(self, *, with_answer: bool, seed: int) -> None:
        self.with_answer = with_answer
        self.prompt_vec: TfidfVectorizer | None = TfidfVectorizer(
            ngram_range=(1, 2), min_df=2, max_features=50_000, sublinear_tf=True
        )
        # answers may be a single letter: count one-character tokens too
        self.answer_vec: TfidfVectorizer | None = TfidfVectorizer(
            ngram_range=(1, 2), min_df=2, max_features=20_000, sublinear_tf=True, token_pattern=r"(?u)\b\w+\b"
        )
        self.model = LogisticRegression(C=1.0, max_iter=2000, random_state=seed)
        self.constant: float | None = None

    @staticmethod
    def _fit_part(
        vec: TfidfVectorizer | None, texts: Sequence[str]
    ) -> tuple[TfidfVectorizer | None, csr_matrix | None]:
        if vec is None:
            return None, None
        try:
            return vec, vec.fit_transform(texts)
        except ValueError:  # empty vocabulary after pruning
            return None, None

    def fit(
        self, prompts: Sequence[str], answers: Sequence[str], extra: NDArray[np.float64], y: NDArray[np.int64]
    ) -> None:
        self.prompt_vec, prompt_x = self._fit_part(self.prompt_vec, prompts)
        parts = [prompt_x] if prompt_x is not None else []
        if self.with_answer:
            self.answer_vec, answer_x = self._fit_part(self.answer_vec, answers)
            parts += [answer_x] if answer_x is not None else []
            parts.append(csr_matrix(extra))
        if len(set(y.tolist())) < 2 or not parts or hstack(parts).shape[1] == 0:
            self.constant = float(y.mean()) if len(y) else 0.5
            return
        self.model.fit(hstack(parts).tocsr(), y)

    def predict(
        self, prompts: Sequence[str], answers: Sequence[str], extra: NDArray[np.float64]
    ) -> NDArray[np.float64]:
        if self.constant is not None:
            return np.full(len(prompts), self.constant)
        parts = [self.prompt_vec.transform(prompts)] if self.prompt_vec is not None else []
        if self.with_answer:
            parts += [self.answer_vec.transform(answers)] if self.answer_vec is not None else []
            parts.append(csr_matrix(extra))
        return np.asarray(self.model.predict_proba(hstack(parts).tocsr())[:, 1])


def _answer_features(text: str | None, task_kind: str, others: Sequence[str | None]) -> list[float]:
    """Format validity, length, and agreement with earlier paid answers."""
    mine = inspect_answer(text, task_kind).answer
    theirs = [inspect_answer(t, task_kind).answer for t in others]
    agree = [1.0 for a in theirs if a is not None and a == mine] if mine is not None else []
    return [
        1.0 if mine is not None else 0.0,
        min(len(text or ""), 4000) / 4000,
        float(len(agree)),
        len(agree) / len(theirs) if theirs else 0.0,
        1.0 if not theirs else 0.0,
    ]


def _lowest_share(p: NDArray[np.float64], share: float) -> NDArray[np.bool_]:
    """Mask of the ``share`` of rows with the lowest predicted correctness (ties broken by row order)."""
    count = round(share * len(p))
    mask = np.zeros(len(p), dtype=bool)
    mask[np.argsort(p, kind="stable")[:count]] = True
    return mask


def _pay_first(view: RuntimeView, row: int, models: Sequence[str]) -> str | None:
    for model in models:
        if view.pay(row, model) is not None:
            return model
    return None


@dataclass
class PreRouterPolicy:
    """Prompt-only router between ``cheap`` and ``premium``; the threshold is the premium share."""

    folds: list[Fold]
    cheap: str
    premium: str
    seed: int = 0
    kind: str = "router"
    name: str = "prerouter-tfidf-lr"
    thresholds: Sequence[float] = field(default_factory=lambda: list(SHARES))
    _cache: dict[int, NDArray[np.float64]] = field(default_factory=dict, repr=False)

    def _predict(self, view: RuntimeView) -> NDArray[np.float64]:
        key = id(view.prompts)
        if key not in self._cache:
            p = np.zeros(len(view))
            for fold in self.folds:
                rows, y = _labels(fold.train, self.cheap)
                clf = _TextClassifier(with_answer=False, seed=self.seed)
                clf.fit([fold.train.prompts[r] for r in rows], [], np.zeros((len(rows), 0)), y)
                prompts = [view.prompts[r] for r in fold.rows]
                p[fold.rows] = clf.predict(prompts, [], np.zeros((len(prompts), 0)))
            self._cache[key] = p
        return self._cache[key]

    def decide(self, view: RuntimeView, threshold: float | None) -> list[str | None]:
        strong = _lowest_share(self._predict(view), 0.5 if threshold is None else threshold)
        order = ([self.premium, self.cheap], [self.cheap, self.premium])
        return [_pay_first(view, row, order[0] if strong[row] else order[1]) for row in range(len(view))]


@dataclass
class VerifierCascadePolicy:
    """Cheap answer first; a learned verifier escalates the least promising share to premium."""

    folds: list[Fold]
    cheap: str
    premium: str
    seed: int = 0
    kind: str = "cascade"
    name: str = "cascade-verifier-tfidf-lr"
    thresholds: Sequence[float] = field(default_factory=lambda: list(SHARES))
    _cache: dict[int, NDArray[np.float64]] = field(default_factory=dict, repr=False)

    def decide(self, view: RuntimeView, threshold: float | None) -> list[str | None]:
        answers: list[str | None] = [None] * len(view)
        answered = np.zeros(len(view), dtype=bool)
        for row in range(len(view)):
            paid = view.pay(row, self.cheap)
            answered[row] = paid is not None
            answers[row] = paid.text if paid is not None else None
        key = id(view.prompts)
        if key not in self._cache:  # the same paid answers give the same predictions at every threshold
            self._cache[key] = self._predict(view, answers)
        p = self._cache[key].copy()
        p[~answered] = -1.0  # no cheap answer: escalate first
        escalate = _lowest_share(p, 0.5 if threshold is None else threshold) | ~answered
        finals: list[str | None] = []
        for row in range(len(view)):
            if escalate[row] and view.pay(row, self.premium) is not None:
                finals.append(self.premium)
            else:
                finals.append(self.cheap if answered[row] else None)
        return finals

    def _predict(self, view: RuntimeView, answers: list[str | None]) -> NDArray[np.float64]:
        p = np.zeros(len(view))
        for fold in self.folds:
            rows, y = _labels(fold.train, self.cheap)
            col = fold.train.column(self.cheap)
            clf = _TextClassifier(with_answer=True, seed=self.seed)
            texts = [fold.train.responses[r][col] for r in rows]
            extra = np.array([_answer_features(t, view.task_kind, []) for t in texts]).reshape(len(rows), -1)
            clf.fit([fold.train.prompts[r] for r in rows], [t or "" for t in texts], extra, y)
            mine = [answers[r] for r in fold.rows]
            feats = np.array([_answer_features(t, view.task_kind, []) for t in mine]).reshape(len(mine), -1)
            p[fold.rows] = clf.predict([view.prompts[r] for r in fold.rows], [t or "" for t in mine], feats)
        return p


@dataclass
class ChainCascadePolicy:
    """A cascade along ``chain`` (cheapest first); each rung's verifier accepts at ``threshold``."""

    folds: list[Fold]
    chain: list[str]
    seed: int = 0
    kind: str = "cascade"
    name: str = "cascade-chain-verifier"
    thresholds: Sequence[float] = field(default_factory=lambda: [i / 20 for i in range(21)])
    _fitted: dict[tuple[int, str], _TextClassifier] = field(default_factory=dict, repr=False)

    def _verifier(self, fold_index: int, model: str, task_kind: str) -> _TextClassifier:
        key = (fold_index, model)
        if key not in self._fitted:
            train = self.folds[fold_index].train
            rows, y = _labels(train, model)
            rung = self.chain.index(model)
            col = train.column(model)
            earlier = [train.column(m) for m in self.chain[:rung]]
            texts = [train.responses[r][col] for r in rows]
            extra = np.array(
                [
                    _answer_features(train.responses[r][col], task_kind, [train.responses[r][c] for c in earlier])
                    for r in rows
                ]
            ).reshape(len(rows), -1)
            clf = _TextClassifier(with_answer=True, seed=self.seed)
            clf.fit([train.prompts[r] for r in rows], [t or "" for t in texts], extra, y)
            self._fitted[key] = clf
        return self._fitted[key]

    def decide(self, view: RuntimeView, threshold: float | None) -> list[str | None]:
        tau = 0.5 if threshold is None else threshold
        finals: list[str | None] = [None] * len(view)
        for index, fold in enumerate(self.folds):
            pending = list(fold.rows)
            history: dict[int, list[str | None]] = {row: [] for row in pending}
            for rung, model in enumerate(self.chain):
                last = rung == len(self.chain) - 1
                paid_rows, texts = [], []
                for row in pending:
                    paid = view.pay(row, model)
                    if paid is not None:
                        paid_rows.append(row)
                        texts.append(paid.text)
                        finals[row] = model
                if last or not paid_rows:
                    pending = [r for r in pending if r not in set(paid_rows)] if not last else []
                    continue
                feats = np.array(
                    [_answer_features(t, view.task_kind, history[r]) for r, t in zip(paid_rows, texts, strict=True)]
                ).reshape(len(paid_rows), -1)
                p = self._verifier(index, model, view.task_kind).predict(
                    [view.prompts[r] for r in paid_rows], [t or "" for t in texts], feats
                )
                accepted = {r for r, prob in zip(paid_rows, p, strict=True) if prob >= tau}
                for r, t in zip(paid_rows, texts, strict=True):
                    history[r].append(t)
                pending = [r for r in pending if r not in accepted]
        return finals
