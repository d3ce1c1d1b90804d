"""A learned two-model router that ranks tasks by expected quality gained per extra dollar.

:class:`GainRouter` is fitted on labelled history (a train split, or logged outcomes): two
classifiers predict from the prompt (and, for a cascade, the cheap model's answer) whether the cheap
and the premium model will be right, and two cost models predict what each call will cost from the
prompt's length. A task's *priority* for the premium model is::

    (P(premium right) - P(cheap right)) / extra_cost ** beta

the greedy answer to "which tasks buy the most quality for the money". ``beta`` (0, 0.5 or 1) is
chosen on out-of-fold predictions over the training rows, so history whose costs are hard to
predict falls back to ranking by gain alone.

:class:`CompiledGainRouter` is the same prompt-only router as a single-prompt fast path: one dict
lookup per token instead of sparse-matrix machinery, for deciding one request at a time.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.sparse import csr_matrix
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.model_selection import KFold

from escalade.exceptions import ConfigError
from escalade.replay import Outcomes
from escalade.routing.learned._classifiers import Probability, TextEncoder
from escalade.routing.learned._embeddings import Embedder
from escalade.routing.learned._features import CostModel, feature_matrix

__all__ = ["CompiledGainRouter", "GainRouter", "curve_area"]

_BETAS = (0.0, 0.5, 1.0)
_INNER_FOLDS = 3
_MIN_ROWS_FOR_BETA = 60
_EPSILON = 1e-12


def curve_area(
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


def _right(train: Outcomes, rows: NDArray[np.int64], model: str) -> NDArray[np.int64]:
    right: NDArray[np.int64] = train.right(rows, model).astype(np.int64)
    return right


def _answer_matrix(
    encoder: TextEncoder, prompt_x: csr_matrix, prompts: Sequence[str], answers: Sequence[str | None], task_kind: str
) -> csr_matrix:
    return encoder.answered(prompt_x, answers, feature_matrix(answers, prompts, task_kind))


@dataclass(frozen=True)
class GainRouter:
    """Fitted router between ``cheap`` and ``premium``; see the module docstring."""

    cheap: str
    premium: str
    task_kind: str
    #: Whether the cheap classifier reads the cheap answer (a cascade verifier) or the prompt alone.
    reads_answer: bool
    encoder: TextEncoder
    weak: Probability
    strong: Probability
    weak_cost: CostModel
    strong_cost: CostModel
    beta: float

    @classmethod
    def fit(
        cls,
        train: Outcomes,
        *,
        cheap: str,
        premium: str,
        reads_answer: bool = False,
        partial: bool = False,
        embedder: Embedder | None = None,
        seed: int = 0,
    ) -> GainRouter:
        """Fit on the training rows where both models have an outcome.

        With ``partial``, each classifier learns from every row where its own model has an outcome
        (logged cascades know the premium outcome only of the items that climbed); ``beta`` is still
        chosen on rows with both. An ``embedder`` adds sentence embeddings to the prompt features.
        """
        weak_col, strong_col = train.column(cheap), train.column(premium)
        weak_known, strong_known = ~np.isnan(train.scores[:, weak_col]), ~np.isnan(train.scores[:, strong_col])
        both = np.flatnonzero(weak_known & strong_known)
        weak_rows = np.flatnonzero(weak_known) if partial else both
        strong_rows = np.flatnonzero(strong_known) if partial else both
        if len(weak_rows) == 0 or len(strong_rows) == 0:
            what = "outcomes of" if partial else "outcomes of both"
            raise ConfigError(f"no training rows with {what} {cheap!r} and {premium!r}", field="train")
        rows = np.union1d(weak_rows, strong_rows)
        at = {int(r): i for i, r in enumerate(rows)}
        prompts = [train.prompts[r] for r in rows]
        answers = [train.responses[r][weak_col] for r in rows]
        encoder = TextEncoder(prompts, answers if reads_answer else None, embedder=embedder)
        prompt_x = encoder.training_prompts
        weak_all = (
            encoder.training_answered(feature_matrix(answers, prompts, train.task_kind)) if reads_answer else prompt_x
        )
        weak_x, strong_x = weak_all[[at[int(r)] for r in weak_rows]], prompt_x[[at[int(r)] for r in strong_rows]]
        router = cls(
            cheap=cheap,
            premium=premium,
            task_kind=train.task_kind,
            reads_answer=reads_answer,
            encoder=encoder,
            weak=Probability.fit(weak_x, _right(train, weak_rows, cheap), seed=seed),
            strong=Probability.fit(strong_x, _right(train, strong_rows, premium), seed=seed),
            weak_cost=CostModel.fit(train.prompts, train.costs[:, weak_col]),
            strong_cost=CostModel.fit(train.prompts, train.costs[:, strong_col]),
            beta=0.0,
        )
        if len(both) < _MIN_ROWS_FOR_BETA:
            return router
        index = [at[int(r)] for r in both]
        beta = router._choose_beta(train, both, weak_all[index], prompt_x[index], seed)
        return replace(router, beta=beta)

    def _choose_beta(
        self, train: Outcomes, both: NDArray[np.int64], weak_x: csr_matrix, strong_x: csr_matrix, seed: int
    ) -> float:
        """The cost exponent whose ranking gives the largest area under the training rows' own curve."""
        y_weak, y_strong = _right(train, both, self.cheap), _right(train, both, self.premium)
        gain = np.zeros(len(both))
        for fit, held in KFold(n_splits=_INNER_FOLDS, shuffle=True, random_state=seed).split(both):
            weak = Probability.fit(weak_x[fit], y_weak[fit], seed=seed)
            strong = Probability.fit(strong_x[fit], y_strong[fit], seed=seed)
            gain[held] = strong.predict(strong_x[held]) - weak.predict(weak_x[held])
        weak_paid = train.costs[both, train.column(self.cheap)]
        strong_paid = train.costs[both, train.column(self.premium)]
        step = strong_paid - (0.0 if self.reads_answer else weak_paid)
        extra = self.extra_cost([train.prompts[r] for r in both])
        areas = {b: curve_area(gain / extra**b, y_weak, y_strong, float(weak_paid.sum()), step) for b in _BETAS}
        return max(_BETAS, key=lambda b: (areas[b], -b))

    def extra_cost(self, prompts: Sequence[str]) -> NDArray[np.float64]:
        """Expected extra dollars of the premium model per prompt (a cascade has paid for cheap already)."""
        strong = self.strong_cost.predict(prompts)
        if self.reads_answer:
            return np.maximum(strong, _EPSILON)
        return np.maximum(strong - self.weak_cost.predict(prompts), _EPSILON)

    def priority(self, prompts: Sequence[str], answers: Sequence[str | None] | None = None) -> NDArray[np.float64]:
        """Premium priority per prompt; a cascade router needs the cheap ``answers`` too."""
        if self.reads_answer and answers is None:
            raise ConfigError("this router reads the cheap model's answers: pass answers", field="answers")
        if not prompts:
            return np.zeros(0)
        prompt_x = self.encoder.prompts(prompts)
        weak_x = (
            _answer_matrix(self.encoder, prompt_x, prompts, answers, self.task_kind)
            if self.reads_answer and answers is not None
            else prompt_x
        )
        gain = self.strong.predict(prompt_x) - self.weak.predict(weak_x)
        priority: NDArray[np.float64] = gain / self.extra_cost(prompts) ** self.beta
        return priority

    def compile(self) -> CompiledGainRouter:
        """The single-prompt fast path (prompt-only routers)."""
        return CompiledGainRouter.from_router(self)


def _coefficients(probability: Probability, width: int) -> tuple[NDArray[np.float64], float]:
    """Linear weights over the first ``width`` columns and the intercept, in log-odds."""
    if probability.model is None:
        rate = min(max(probability.rate, 1e-9), 1 - 1e-9)
        return np.zeros(width), math.log(rate / (1 - rate))
    return np.asarray(probability.model.coef_[0][:width], dtype=float), float(probability.model.intercept_[0])


#: Settings of the word analyzer that the compiled router tokenises with (scikit-learn's defaults).
ANALYZER_KEYS = ("ngram_range", "token_pattern", "lowercase")


def text_analyzer(settings: Mapping[str, Any]) -> tuple[dict[str, Any], Callable[[str], list[str]]]:
    """The analyzer settings a compiled artifact keeps, and scikit-learn's tokenizer built from them."""
    kept = {key: settings[key] for key in ANALYZER_KEYS}
    vectorizer = TfidfVectorizer(
        ngram_range=tuple(kept["ngram_range"]), token_pattern=kept["token_pattern"], lowercase=kept["lowercase"]
    )
    return kept, vectorizer.build_analyzer()


class CompiledGainRouter:
    """One prompt at a time: the same priority as :meth:`GainRouter.priority`, without sparse matrices.

    Holds plain numbers only (per-term idf and weights, intercepts, cost lines, ``beta``), so it
    saves to and loads from a JSON artifact (:mod:`escalade.routing.learned._artifact`).
    """

    def __init__(
        self,
        *,
        cheap: str,
        premium: str,
        analyzer: dict[str, Any],
        terms: dict[str, tuple[float, float, float]],
        strong_intercept: float,
        weak_intercept: float,
        strong_cost: CostModel,
        weak_cost: CostModel,
        beta: float,
    ) -> None:
        self.cheap, self.premium = cheap, premium
        self.analyzer, self._analyze = text_analyzer(analyzer)
        #: ``term -> (idf, premium weight, cheap weight)``.
        self.terms = terms
        self.strong_intercept, self.weak_intercept = strong_intercept, weak_intercept
        self.strong_cost, self.weak_cost = strong_cost, weak_cost
        self.beta = beta

    @classmethod
    def from_router(cls, router: GainRouter) -> CompiledGainRouter:
        """Compile a fitted prompt-only router."""
        if router.reads_answer:
            raise ConfigError("only prompt-only routers compile to the fast path", field="reads_answer")
        if router.encoder.embedder is not None:
            raise ConfigError("routers with sentence embeddings have no compiled fast path", field="embedder")
        vectorizer = router.encoder.prompt_vec
        width = len(vectorizer.vocabulary_) if vectorizer is not None else 0
        strong_w, strong_b = _coefficients(router.strong, width)
        weak_w, weak_b = _coefficients(router.weak, width)
        idf = vectorizer.idf_ if vectorizer is not None else np.zeros(0)
        vocabulary = vectorizer.vocabulary_ if vectorizer is not None else {}
        settings = TfidfVectorizer().get_params() if vectorizer is None else vectorizer.get_params()
        return cls(
            cheap=router.cheap,
            premium=router.premium,
            analyzer={key: settings[key] for key in ANALYZER_KEYS},
            terms={term: (float(idf[i]), float(strong_w[i]), float(weak_w[i])) for term, i in vocabulary.items()},
            strong_intercept=strong_b,
            weak_intercept=weak_b,
            strong_cost=router.strong_cost,
            weak_cost=router.weak_cost,
            beta=router.beta,
        )

    def priority(self, prompt: str) -> float:
        """Premium priority of ``prompt``."""
        counts = Counter(term for term in self._analyze(prompt) if term in self.terms)
        norm = strong = weak = 0.0
        for term, count in counts.items():
            idf, strong_w, weak_w = self.terms[term]
            value = (1.0 + math.log(count)) * idf  # sublinear tf times idf
            norm += value * value
            strong += value * strong_w
            weak += value * weak_w
        scale = 1.0 / math.sqrt(norm) if norm > 0 else 0.0
        gain = _sigmoid(strong * scale + self.strong_intercept) - _sigmoid(weak * scale + self.weak_intercept)
        length = len(prompt)
        extra = _linear(self.strong_cost, length) - _linear(self.weak_cost, length)
        return gain / float(max(extra, _EPSILON) ** self.beta)

    def route(self, prompt: str, cutoff: float) -> str:
        """``premium`` when the priority reaches ``cutoff``, else ``cheap``."""
        return self.premium if self.priority(prompt) >= cutoff else self.cheap

    def leaning_terms(self, count: int = 10) -> tuple[list[str], list[str]]:
        """Terms that most raise the premium priority, and those that most lower it (weight × idf)."""
        lean = sorted(self.terms, key=lambda t: (self.terms[t][1] - self.terms[t][2]) * self.terms[t][0])
        return lean[::-1][:count], lean[:count]


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z))


def _linear(model: CostModel, length: int) -> float:
    return float(max(model.slope * length + model.intercept, model.floor))
