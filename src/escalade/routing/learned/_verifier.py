"""A learned verifier of one model's answers: P(answer right) from the prompt, the answer and its checks.

:func:`fit_verifier` fits a logistic regression on labelled rows (TF-IDF of the prompt, TF-IDF of the
answer, the :data:`~escalade.routing.learned.ANSWER_FEATURES` checks) and compiles it to plain
numbers, so one answer is judged with a dict lookup per token, and the verifier saves to and loads
from an ``escalade-verifier/1`` JSON artifact (:mod:`escalade.routing.learned._verifier_artifact`).

:class:`VerifierScorer` is the verifier as a run-time scorer: it accepts an answer of the verifier's
model when P(right) reaches the threshold and escalates it otherwise.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray
from sklearn.feature_extraction.text import TfidfVectorizer

from escalade.exceptions import ConfigError
from escalade.quality import FailureAnalysis, ScorerBase, ScoringContext, inspect_answer
from escalade.replay import Outcomes
from escalade.routing.learned._classifiers import Probability, TextEncoder
from escalade.routing.learned._features import ANSWER_FEATURES, answer_features, feature_matrix
from escalade.routing.learned._gain import ANALYZER_KEYS, text_analyzer

__all__ = ["CompiledVerifier", "TextTerms", "VerifierScorer", "fit_verifier"]

#: Settings of a word analyzer a verifier tokenises with (scikit-learn's names).


class TextTerms:
    """One TF-IDF vocabulary as plain numbers: ``term -> (idf, weight)``, sublinear tf, l2-normalised."""

    def __init__(self, analyzer: Mapping[str, Any], terms: dict[str, tuple[float, float]]) -> None:
        self.analyzer, self._analyze = text_analyzer(analyzer)
        #: ``term -> (idf, weight)``.
        self.terms = terms

    @classmethod
    def from_vectorizer(cls, vectorizer: TfidfVectorizer | None, weights: NDArray[np.float64]) -> TextTerms:
        """The vocabulary of a fitted vectorizer with the classifier's weights over its columns."""
        if vectorizer is None:
            settings = TfidfVectorizer().get_params()
            return cls({key: settings[key] for key in ANALYZER_KEYS}, {})
        settings = vectorizer.get_params()
        idf = vectorizer.idf_
        terms = {term: (float(idf[i]), float(weights[i])) for term, i in vectorizer.vocabulary_.items()}
        return cls({key: settings[key] for key in ANALYZER_KEYS}, terms)

    def score(self, text: str) -> float:
        """The weighted, normalised TF-IDF sum of ``text``."""
        counts = Counter(term for term in self._analyze(text) if term in self.terms)
        norm = total = 0.0
        for term, count in counts.items():
            idf, weight = self.terms[term]
            value = (1.0 + math.log(count)) * idf
            norm += value * value
            total += value * weight
        return total / math.sqrt(norm) if norm > 0 else 0.0


class CompiledVerifier:
    """P(``model``'s answer is right) = sigmoid(intercept + prompt terms + answer terms + feature weights)."""

    def __init__(
        self,
        *,
        model: str,
        task_kind: str,
        prompt_terms: TextTerms,
        answer_terms: TextTerms | None,
        feature_weights: Sequence[float],
        intercept: float,
    ) -> None:
        if len(feature_weights) != len(ANSWER_FEATURES):
            raise ConfigError(f"expected {len(ANSWER_FEATURES)} feature weights", field="features")
        self.model, self.task_kind = model, task_kind
        self.prompt_terms, self.answer_terms = prompt_terms, answer_terms
        self.feature_weights = tuple(float(w) for w in feature_weights)
        self.intercept = float(intercept)

    def probability(self, prompt: str, answer: str | None) -> float:
        """P(``answer`` to ``prompt`` is right)."""
        z = self.intercept + self.prompt_terms.score(prompt)
        if self.answer_terms is not None:
            z += self.answer_terms.score(answer or "")
        features = answer_features(answer, self.task_kind, prompt=prompt, earlier=())
        z += sum(w * f for w, f in zip(self.feature_weights, features, strict=True))
        return 1.0 / (1.0 + math.exp(-z)) if z >= 0 else math.exp(z) / (1.0 + math.exp(z))


def _fit_rows(train: Outcomes, model: str) -> NDArray[np.int64]:
    rows: NDArray[np.int64] = np.flatnonzero(~np.isnan(train.scores[:, train.column(model)]))
    return rows


def fit_verifier(train: Outcomes, model: str, *, seed: int = 0) -> CompiledVerifier:
    """Fit the verifier of ``model``'s answers on the training rows where it has an outcome."""
    if model not in train.models:
        raise ConfigError(
            f"no model {model!r} in the training rows; they have {', '.join(train.models)}", field="model"
        )
    rows = _fit_rows(train, model)
    if len(rows) == 0:
        raise ConfigError(f"no training row has an outcome of {model!r}", field="train")
    col = train.column(model)
    prompts = [train.prompts[r] for r in rows]
    answers = [train.responses[r][col] for r in rows]
    encoder = TextEncoder(prompts, answers)
    x = encoder.training_answered(feature_matrix(answers, prompts, train.task_kind))
    fitted = Probability.fit(x, train.right(rows, model).astype(np.int64), seed=seed)
    width_p = len(encoder.prompt_vec.vocabulary_) if encoder.prompt_vec is not None else 0
    width_a = len(encoder.answer_vec.vocabulary_) if encoder.answer_vec is not None else 0
    if fitted.model is None:
        rate = min(max(fitted.rate, 1e-9), 1 - 1e-9)
        weights, intercept = np.zeros(width_p + width_a + len(ANSWER_FEATURES)), math.log(rate / (1 - rate))
    else:
        weights, intercept = np.asarray(fitted.model.coef_[0], dtype=float), float(fitted.model.intercept_[0])
    return CompiledVerifier(
        model=model,
        task_kind=train.task_kind,
        prompt_terms=TextTerms.from_vectorizer(encoder.prompt_vec, weights[:width_p]),
        answer_terms=(
            TextTerms.from_vectorizer(encoder.answer_vec, weights[width_p : width_p + width_a])
            if encoder.answer_vec is not None
            else None
        ),
        feature_weights=weights[width_p + width_a :].tolist(),
        intercept=intercept,
    )


@dataclass(frozen=True)
class VerifierScorer(ScorerBase):
    """Run-time scorer: accepts an answer of the verifier's model when P(right) ≥ ``threshold``.

    Signals: ``verified`` [1.0] is 1 when P(right) reaches the threshold, else 0 (so the CQS is 100
    or 0 and any tier threshold above 0 accepts exactly the verified answers); ``verifier_p`` [0]
    is P(right) itself, for the record. Answers of other models are judged by their format alone
    (``answer_format`` [1.0]): the verifier knows nothing of them.
    """

    verifier: CompiledVerifier
    #: Accept when P(right) reaches this.
    threshold: float
    weights: ClassVar[Mapping[str, float]] = {"verified": 1.0, "verifier_p": 0.0}

    def probability(self, context: ScoringContext) -> float:
        """P(the context's answer is right)."""
        return self.verifier.probability(context.prompt, context.completion.text)

    def score(self, context: ScoringContext) -> FailureAnalysis:
        if context.completion.model != self.verifier.model:
            found = inspect_answer(context.completion.text, context.task_kind).answer is not None
            note = f"not {self.verifier.model}'s answer: judged by format only"
            return FailureAnalysis(
                signals={"answer_format": float(found)}, weights={"answer_format": 1.0}, notes=(note,)
            )
        p = self.probability(context)
        verdict = ">=" if p >= self.threshold else "<"
        return FailureAnalysis(
            signals={"verified": float(p >= self.threshold), "verifier_p": p},
            weights=dict(self.weights),
            notes=(f"verifier: P(right) {p:.3f} {verdict} threshold {self.threshold:.3f}",),
        )
